/* What the users type for an archive: format, cutoff, folder names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

int ers_archive_check_format(const char *format, struct ers_error *err)
{
	if (strcmp(format, "mbox") && strcmp(format, "mbox-folders") && strcmp(format, "zip")) {
		ers_error_set(err, ERS_E_INVALID, "archive format must be mbox, mbox-folders (one .mbox per folder, in a zip) "
			      "or zip (.eml files), got \"%.60s\"", format);
		return -1;
	}
	return 0;
}

int ers_archive_check_days(int days, struct ers_error *err)
{
	if (days < 0 || days > ERS_ARCHIVE_MAX_DAYS) {
		ers_error_set(err, ERS_E_INVALID, "the cutoff (--older-than) must be 0..%d days, got %d", ERS_ARCHIVE_MAX_DAYS,
			      days);
		return -1;
	}
	return 0;
}

/* A folder name as the user typed it: the server's name for it, no
 * control characters, no ".." part, not absolute. */
int ers_archive_check_folder(const char *f, struct ers_error *err)
{
	size_t len = strlen(f);
	if (len == 0 || len > 500) {
		ers_error_set(err, ERS_E_INVALID, "a folder name must be 1..500 bytes, got %zu", len);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)f; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			ers_error_set(err, ERS_E_INVALID, "folder name holds a control character (0x%02x): not a folder of "
				      "any mailbox", *p);
			return -1;
		}
	if (f[0] == '/' || strstr(f, "..")) {
		ers_error_set(err, ERS_E_INVALID, "folder name \"%s\" holds \"..\" or starts with '/': folders are named as "
			      "the mailbox lists them (INBOX, Sent, Archive/2024)", f);
		return -1;
	}
	return 0;
}
