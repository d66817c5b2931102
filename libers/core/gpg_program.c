/* Where gpg is: the program gpgme found for OpenPGP.  The archives and the
 * backups run it themselves on their data streams (gpgme's data callbacks
 * cost more CPU than the encryption; libers/archive/gpg.c, backup/crypt.c). */
#include <gpgme.h>
#include "core/internal.h"

const char *ers_gpg_program(void)
{
	gpgme_engine_info_t info = NULL;
	if (gpgme_get_engine_info(&info) == 0)
		for (; info; info = info->next)
			if (info->protocol == GPGME_PROTOCOL_OpenPGP && info->file_name)
				return info->file_name;
	return "/usr/bin/gpg";
}
