/* Where gpg is: the program gpgme knows for OpenPGP.  The archives and the
 * backups run it themselves on their data streams (gpgme's data callbacks
 * cost more CPU than the encryption; libers/archive/gpg.c, backup/crypt.c).
 * gpgme_get_dirinfo asks gpgconf once; gpgme_get_engine_info would first
 * run every engine's --version (0.14 s, more than a small archive takes). */
#include <gpgme.h>
#include "core/internal.h"

const char *ers_gpg_program(void)
{
	gpgme_check_version(NULL);
	const char *name = gpgme_get_dirinfo("gpg-name");
	if (name && *name)
		return name;
	gpgme_engine_info_t info = NULL;
	if (gpgme_get_engine_info(&info) == 0)
		for (; info; info = info->next)
			if (info->protocol == GPGME_PROTOCOL_OpenPGP && info->file_name)
				return info->file_name;
	return "/usr/bin/gpg";
}
