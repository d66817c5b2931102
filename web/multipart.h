/* A bounded multipart/form-data parser (RFC 7578) for the compose form's
 * file uploads: at most WEB_UPLOAD_MAX bytes and WEB_MULTIPART_MAX_PARTS
 * parts, a part's headers at most WEB_MULTIPART_MAX_HEADER bytes. */
#ifndef ERS_WEB_MULTIPART_H
#define ERS_WEB_MULTIPART_H

#include <stddef.h>
#include "web.h"

#define WEB_MULTIPART_MAX_PARTS 200
#define WEB_MULTIPART_MAX_HEADER 8192

/* Parses `len` bytes of `body` sent with `content_type` (the request's
 * Content-Type, which names the boundary).  Parts without a filename
 * parameter become fields (NUL-terminated copies; a NUL in a value ends
 * it), parts with one become files whose data points into `body` (an
 * empty file input -- no name, no bytes -- is left out).  Malformed input
 * is ERS_E_INVALID saying what was wrong; nothing is returned then. */
int web_multipart_parse(const char *content_type, const char *body, size_t len, struct web_param **fields_r,
			size_t *nfields_r, struct web_upload **files_r, size_t *nfiles_r, struct ers_error *err);

/* The boundary of a multipart/form-data Content-Type into `out`; false
 * when it is not one or the boundary is missing or not 1..70 printable
 * characters. */
bool web_multipart_boundary(const char *content_type, struct ers_buf *out);

void web_uploads_free(struct web_upload *files, size_t n);

#endif
