/* libFuzzer target for the message model: any bytes as a message source
 * are parsed (GMime, the body through the sanitiser) or refused with an
 * error; every attachment the parse lists can be extracted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ers/buf.h"
#include "ers/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ours[] = { "mailco.test" };
	struct ers_message_opts opts = { .internal_domains = ours, .ninternal = 1 };
	struct ers_message *m = NULL;
	struct ers_error err;
	if (ers_message_parse((const char *)data, size, &opts, &m, &err) == 0) {
		for (size_t i = 0; i < m->nattachments && i < 4; i++) {
			struct ers_buf b = ERS_BUF_INIT;
			char *name = NULL;
			if (ers_message_attachment((const char *)data, size, i, &b, &name, NULL, &err) < 0)
				abort(); /* listed, so it must be there */
			if (!name || !*name || strchr(name, '/') || strchr(name, '\\'))
				abort();
			free(name);
			ers_buf_free(&b);
		}
		ers_message_free(m);
	}
	return 0;
}
