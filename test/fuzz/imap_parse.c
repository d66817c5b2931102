/* libFuzzer target for the IMAP response parser: any bytes a server could
 * send are either parsed or refused with an error -- never a crash, a
 * leak or a read past the end. */
#include <stdint.h>
#include <string.h>
#include "ers/imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ers_imap_result r;
	struct ers_error err;
	memset(&r, 0, sizeof r);
	ers_imap_parse((const char *)data, size, &r, &err);
	ers_imap_result_free(&r);
	return 0;
}
