/* multipart/form-data (RFC 7578), bounded: see multipart.h.  Browsers
 * percent-encode '"', CR and LF in names and file names (HTML's form
 * encoding), curl backslash-escapes '"' and '\\'; both are read.  Whatever
 * comes, a file name leaves here without directories or control
 * characters. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "multipart.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Reads the parameters after a header's first value: `s` (n bytes) from
 * just after that value.  The value of parameter `want` goes to `out`
 * (found set).  -1 on an unterminated quoted string. */
static int header_param(const char *s, size_t n, const char *want, struct ers_buf *out, bool *found)
{
	*found = false;
	size_t i = 0;
	while (i < n) {
		while (i < n && (is_ws(s[i]) || s[i] == ';'))
			i++;
		size_t ns = i;
		while (i < n && s[i] != '=' && s[i] != ';' && !is_ws(s[i]))
			i++;
		size_t nl = i - ns;
		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n || s[i] != '=')
			continue; /* a bare word: nothing to take */
		i++;
		while (i < n && is_ws(s[i]))
			i++;
		bool match = nl == strlen(want) && !strncasecmp(s + ns, want, nl) && !*found;
		if (match) {
			ers_buf_reset(out);
			*found = true;
		}
		if (i < n && s[i] == '"') {
			i++;
			bool closed = false;
			while (i < n) {
				char c = s[i++];
				if (c == '"') {
					closed = true;
					break;
				}
				if (c == '\\' && i < n && (s[i] == '"' || s[i] == '\\'))
					c = s[i++];
				if (match)
					ers_buf_addch(out, c);
			}
			if (!closed)
				return -1;
		} else {
			size_t vs = i;
			while (i < n && s[i] != ';' && !is_ws(s[i]))
				i++;
			if (match)
				ers_buf_add(out, s + vs, i - vs);
		}
	}
	return 0;
}

bool web_multipart_boundary(const char *content_type, struct ers_buf *out)
{
	static const char type[] = "multipart/form-data";
	if (!content_type || strncasecmp(content_type, type, sizeof type - 1))
		return false;
	const char *rest = content_type + sizeof type - 1;
	if (*rest && *rest != ';' && !is_ws(*rest))
		return false;
	bool found;
	if (header_param(rest, strlen(rest), "boundary", out, &found) < 0 || !found)
		return false;
	if (out->len < 1 || out->len > 70 || out->data[out->len - 1] == ' ')
		return false;
	for (size_t i = 0; i < out->len; i++)
		if ((unsigned char)out->data[i] < 0x20 || (unsigned char)out->data[i] > 0x7e)
			return false;
	return true;
}

/* A header line "Name: value" of a part: the value if the name is `name`. */
static bool header_is(const char *line, size_t n, const char *name, const char **value_r, size_t *vlen_r)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return false;
	size_t i = k + 1;
	while (i < n && is_ws(line[i]))
		i++;
	*value_r = line + i;
	*vlen_r = n - i;
	return true;
}

static bool token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$&-^_.+", c);
}

/* "type/subtype" in lower case, parameters dropped; NULL when not one. */
static char *clean_type(const char *v, size_t n)
{
	size_t end = 0;
	while (end < n && v[end] != ';' && !is_ws(v[end]))
		end++;
	const char *slash = memchr(v, '/', end);
	if (!slash || slash == v || slash + 1 == v + end || end > 127)
		return NULL;
	for (size_t i = 0; i < end; i++)
		if (v + i != slash && !token_char(v[i]))
			return NULL;
	char *t = ers_xmalloc(end + 1);
	for (size_t i = 0; i < end; i++)
		t[i] = (char)tolower((unsigned char)v[i]);
	t[end] = '\0';
	return t;
}

/* The last component of a path a browser may send ("C:\\x\\a.txt"), made
 * safe by ers_attachment_name_safe. */
static char *safe_filename(const char *name)
{
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	struct ers_buf out = ERS_BUF_INIT;
	ers_attachment_name_safe(base, &out);
	return ers_buf_detach(&out);
}

struct part_head {
	struct ers_buf name, filename, type;
	bool has_filename, has_type;
};

/* Reads a part's header block (n bytes, lines ending CRLF, without the
 * blank line). */
static int read_head(const char *h, size_t n, size_t index, struct part_head *ph, struct ers_error *err)
{
	bool disposition = false;
	size_t i = 0;
	while (i < n) {
		const char *eol = memmem(h + i, n - i, "\r\n", 2);
		size_t ll = eol ? (size_t)(eol - (h + i)) : n - i;
		const char *line = h + i, *v;
		size_t vn;
		if (header_is(line, ll, "Content-Disposition", &v, &vn)) {
			static const char fd[] = "form-data";
			if (vn < sizeof fd - 1 || strncasecmp(v, fd, sizeof fd - 1) ||
			    (vn > sizeof fd - 1 && v[sizeof fd - 1] != ';' && !is_ws(v[sizeof fd - 1]))) {
				ers_error_set(err, ERS_E_INVALID, "part %zu of the form is not form-data", index);
				return -1;
			}
			bool found;
			if (header_param(v + sizeof fd - 1, vn - (sizeof fd - 1), "name", &ph->name, &found) < 0 ||
			    header_param(v + sizeof fd - 1, vn - (sizeof fd - 1), "filename", &ph->filename,
					 &ph->has_filename) < 0) {
				ers_error_set(err, ERS_E_INVALID, "part %zu of the form has a quoted name without its closing quote",
					      index);
				return -1;
			}
			if (!found) {
				ers_error_set(err, ERS_E_INVALID, "part %zu of the form has no field name", index);
				return -1;
			}
			disposition = true;
		} else if (header_is(line, ll, "Content-Type", &v, &vn)) {
			ers_buf_reset(&ph->type);
			ers_buf_add(&ph->type, v, vn);
			ph->has_type = true;
		}
		i += ll + 2;
	}
	if (!disposition) {
		ers_error_set(err, ERS_E_INVALID, "part %zu of the form has no Content-Disposition", index);
		return -1;
	}
	return 0;
}

/* Whether the delimiter ending at `p` is a real one: "--" (the close)
 * or padding and CRLF follow.  Else it is only text in the data. */
static bool delim_end_ok(const char *body, size_t len, size_t p)
{
	if (len - p >= 2 && body[p] == '-' && body[p + 1] == '-')
		return true;
	while (p < len && is_ws(body[p]))
		p++;
	return len - p >= 2 && body[p] == '\r' && body[p + 1] == '\n';
}

static const char *find_delim(const char *body, size_t len, size_t from, const struct ers_buf *delim)
{
	while (from < len) {
		const char *d = memmem(body + from, len - from, delim->data, delim->len);
		if (!d)
			return NULL;
		if (delim_end_ok(body, len, (size_t)(d - body) + delim->len))
			return d;
		from = (size_t)(d - body) + 1;
	}
	return NULL;
}

void web_uploads_free(struct web_upload *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(files[i].field);
		free(files[i].filename);
		free(files[i].content_type);
	}
	free(files);
}

static void fields_free(struct web_param *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		ers_free_secret(f[i].value);
	}
	free(f);
}

int web_multipart_parse(const char *content_type, const char *body, size_t len, struct web_param **fields_r,
			size_t *nfields_r, struct web_upload **files_r, size_t *nfiles_r, struct ers_error *err)
{
	*fields_r = NULL;
	*files_r = NULL;
	*nfields_r = *nfiles_r = 0;
	if (len > WEB_UPLOAD_MAX) {
		ers_error_set(err, ERS_E_INVALID, "the form is %zu bytes; at most %u MB are allowed with its attachments", len,
			      WEB_UPLOAD_MAX >> 20);
		return -1;
	}
	struct ers_buf delim = ERS_BUF_INIT, bnd = ERS_BUF_INIT;
	if (!web_multipart_boundary(content_type, &bnd)) {
		ers_error_set(err, ERS_E_INVALID,
			      "the form's Content-Type must be multipart/form-data with a boundary of 1..70 characters");
		ers_buf_free(&bnd);
		return -1;
	}
	/* Every delimiter but a first one at the very start follows a CRLF. */
	ers_buf_addf(&delim, "\r\n--%s", bnd.data);
	ers_buf_free(&bnd);
	struct web_param *fields = NULL;
	struct web_upload *files = NULL;
	size_t nfields = 0, nfiles = 0, nparts = 0;
	struct part_head ph = { ERS_BUF_INIT, ERS_BUF_INIT, ERS_BUF_INIT, false, false };
	int rc = -1;

	size_t pos;
	if (len >= delim.len - 2 && !memcmp(body, delim.data + 2, delim.len - 2) && delim_end_ok(body, len, delim.len - 2)) {
		pos = delim.len - 2;
	} else {
		const char *d = find_delim(body, len, 0, &delim);
		if (!d) {
			ers_error_set(err, ERS_E_INVALID, "the form has no part: its boundary never occurs");
			goto out;
		}
		pos = (size_t)(d - body) + delim.len;
	}
	for (;;) {
		/* Just after a delimiter: "--" closes, else padding and CRLF. */
		if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
			break;
		while (pos < len && is_ws(body[pos]))
			pos++;
		if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
			ers_error_set(err, ERS_E_INVALID, "the form ends before its closing boundary (after %zu part(s))", nparts);
			goto out;
		}
		pos += 2;
		if (++nparts > WEB_MULTIPART_MAX_PARTS) {
			ers_error_set(err, ERS_E_INVALID, "the form has more than %d parts", WEB_MULTIPART_MAX_PARTS);
			goto out;
		}
		size_t head_len;
		if (len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n') {
			head_len = 0;
		} else {
			size_t span = len - pos < WEB_MULTIPART_MAX_HEADER + 4 ? len - pos : WEB_MULTIPART_MAX_HEADER + 4;
			const char *e = memmem(body + pos, span, "\r\n\r\n", 4);
			if (!e) {
				ers_error_set(err, ERS_E_INVALID, span > WEB_MULTIPART_MAX_HEADER
					      ? "part %zu of the form has more than %d bytes of headers"
					      : "part %zu of the form ends within its headers", nparts, WEB_MULTIPART_MAX_HEADER);
				goto out;
			}
			head_len = (size_t)(e - (body + pos)) + 2; /* the last line's CRLF kept */
		}
		ers_buf_reset(&ph.name);
		ers_buf_reset(&ph.filename);
		ers_buf_reset(&ph.type);
		ph.has_filename = ph.has_type = false;
		if (read_head(body + pos, head_len, nparts, &ph, err) < 0)
			goto out;
		pos += head_len + 2;
		const char *end = find_delim(body, len, pos, &delim);
		if (!end) {
			ers_error_set(err, ERS_E_INVALID, "the form ends before its closing boundary (in part %zu)", nparts);
			goto out;
		}
		size_t dlen = (size_t)(end - (body + pos));
		if (ph.has_filename) {
			if (ph.filename.len || dlen) {
				files = ers_xrealloc(files, (nfiles + 1) * sizeof *files);
				struct web_upload *u = &files[nfiles++];
				u->field = ers_xstrdup(ph.name.data);
				u->filename = safe_filename(ph.filename.data);
				u->content_type = ph.has_type ? clean_type(ph.type.data, ph.type.len) : NULL;
				if (!u->content_type)
					u->content_type = ers_xstrdup("application/octet-stream");
				u->data = body + pos;
				u->len = dlen;
			}
		} else {
			fields = ers_xrealloc(fields, (nfields + 1) * sizeof *fields);
			fields[nfields].name = ers_xstrdup(ph.name.data);
			char *v = ers_xmalloc(dlen + 1);
			memcpy(v, body + pos, dlen);
			v[dlen] = '\0';
			fields[nfields++].value = v;
		}
		pos = (size_t)(end - body) + delim.len;
	}
	rc = 0;
out:
	ers_buf_free(&delim);
	ers_buf_free(&ph.name);
	ers_buf_free(&ph.filename);
	ers_buf_free(&ph.type);
	if (rc < 0) {
		fields_free(fields, nfields);
		web_uploads_free(files, nfiles);
		return -1;
	}
	*fields_r = fields;
	*nfields_r = nfields;
	*files_r = files;
	*nfiles_r = nfiles;
	return 0;
}
