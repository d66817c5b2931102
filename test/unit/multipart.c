/* web/multipart.c: the compose form's multipart/form-data parser --
 * boundaries (quoted, with preamble and padding), quoted names, file names
 * with paths and line breaks, a missing end boundary, the size and part
 * caps, many parts.  The parser is compiled in here: it is the CGI's, not
 * libers' (so no extra build rule). */
#define _GNU_SOURCE
#include "../../web/multipart.c"
#include <stdlib.h>
#include "tap.h"

#define CT "multipart/form-data; boundary=XyZ"

struct parsed {
	int rc;
	struct ers_error err;
	struct web_param *fields;
	size_t nfields;
	struct web_upload *files;
	size_t nfiles;
};

static void parse(const char *ct, const char *body, size_t len, struct parsed *p)
{
	memset(p, 0, sizeof *p);
	p->rc = web_multipart_parse(ct, body, len, &p->fields, &p->nfields, &p->files, &p->nfiles, &p->err);
}

static void parsed_free(struct parsed *p)
{
	fields_free(p->fields, p->nfields);
	web_uploads_free(p->files, p->nfiles);
}

static const char *field(const struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->nfields; i++)
		if (!strcmp(p->fields[i].name, name))
			return p->fields[i].value;
	return NULL;
}

static void boundaries(void)
{
	struct ers_buf b = ERS_BUF_INIT;
	ok(web_multipart_boundary(CT, &b) && !strcmp(b.data, "XyZ"), "boundary=XyZ");
	ok(web_multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"", &b) && !strcmp(b.data, "a b:c"),
	   "a quoted boundary with a space, after another parameter, type in any case");
	ok(web_multipart_boundary("multipart/form-data;boundary=----WebKitFormBoundaryQ9x", &b) &&
	   !strcmp(b.data, "----WebKitFormBoundaryQ9x"), "a browser's boundary, no space after ';'");
	ok(!web_multipart_boundary("multipart/form-data", &b), "no boundary: refused");
	ok(!web_multipart_boundary("multipart/form-data; boundary=", &b), "an empty boundary: refused");
	ok(!web_multipart_boundary("multipart/form-data; boundary=\"abc", &b), "an unterminated quoted boundary: refused");
	ok(!web_multipart_boundary("multipart/mixed; boundary=x", &b), "multipart/mixed: refused");
	ok(!web_multipart_boundary("multipart/form-dataX; boundary=x", &b), "a longer type name: refused");
	char longb[100];
	memset(longb, 'a', 71);
	longb[71] = '\0';
	struct ers_buf ct = ERS_BUF_INIT;
	ers_buf_addf(&ct, "multipart/form-data; boundary=%s", longb);
	ok(!web_multipart_boundary(ct.data, &b), "a boundary of 71 characters: refused");
	ct.data[ct.len - 1] = '\0';
	ok(web_multipart_boundary(ct.data, &b) && b.len == 70, "... of 70: fine");
	ers_buf_free(&ct);
	ok(!web_multipart_boundary("multipart/form-data; boundary=a\x01z", &b), "a control character in it: refused");
	ers_buf_free(&b);
}

static void fields_and_files(void)
{
	static const char body[] =
		"preamble, ignored\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"to\"\r\n\r\n"
		"b@example.org\r\n"
		"--XyZ \t\r\n" /* transport padding */
		"content-disposition: form-data; name=\"body\"\r\n\r\n"
		"line 1\r\n--XyZnot a boundary\r\nline 3\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"q\\\"uote\\\\d\"; x=\"y;z\"\r\n\r\n"
		"v\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"attachments\"; filename=\"notes.txt\"\r\n"
		"Content-Type: Text/Plain; charset=utf-8\r\n\r\n"
		"bytes\0with NUL\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"attachments\"; filename=\"C:\\\\Users\\\\ann\\\\report.pdf\"\r\n"
		"Content-Type: application/pdf\r\n\r\n"
		"%PDF\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"attachments\"; filename=\"../../etc/passwd\"\r\n"
		"Content-Type: bad type\r\n\r\n"
		"\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"attachments\"; filename=\"\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n"
		"\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
		"\r\n"
		"--XyZ--\r\nepilogue, ignored";
	struct parsed p;
	parse(CT, body, sizeof body - 1, &p);
	if (!ok(p.rc == 0, "a form with fields and files"))
		diag("%s", p.err.message);
	is_int(p.nfields, 4, "... four fields");
	is_str(field(&p, "to"), "b@example.org", "... a field's value");
	is_str(field(&p, "body"), "line 1\r\n--XyZnot a boundary\r\nline 3", "... the boundary's text inside a line is data");
	is_str(field(&p, "q\"uote\\d"), "v", "... a quoted name with \\\" and \\\\ escapes; a ';' inside quotes");
	is_str(field(&p, "empty"), "", "... an empty value");
	is_int(p.nfiles, 3, "three files (the empty file input left out)");
	if (p.nfiles == 3) {
		is_str(p.files[0].field, "attachments", "... the field's name");
		is_str(p.files[0].filename, "notes.txt", "... a file name");
		is_str(p.files[0].content_type, "text/plain", "... its type lower case, parameters dropped");
		ok(p.files[0].len == 14 && !memcmp(p.files[0].data, "bytes\0with NUL", 14), "... its bytes, NUL and all");
		is_str(p.files[1].filename, "report.pdf", "a Windows path: only the name is kept");
		is_str(p.files[1].content_type, "application/pdf", "... its type");
		is_str(p.files[2].filename, "passwd", "a ../ path: only the name");
		is_str(p.files[2].content_type, "application/octet-stream", "... a bad type is application/octet-stream");
		is_int(p.files[2].len, 0, "... an empty file with a name is kept");
	}
	parsed_free(&p);
}

static void names(void)
{
	/* A bare CR or LF inside the quotes (browsers would send %0D%0A). */
	static const char body[] = "--XyZ\r\n"
				   "Content-Disposition: form-data; name=\"f\"; filename=\"evil\rname\nBcc: x.txt\"\r\n\r\n"
				   "x\r\n--XyZ\r\n"
				   "Content-Disposition: form-data; name=\"g\"; filename=\".hidden\x01\"\r\n\r\n"
				   "y\r\n--XyZ\r\n"
				   "Content-Disposition: form-data; name=\"h\"; filename=\"dir/\"\r\n\r\n"
				   "z\r\n--XyZ--";
	struct parsed p;
	parse(CT, body, sizeof body - 1, &p);
	ok(p.rc == 0 && p.nfiles == 3, "file names with control characters");
	if (p.nfiles == 3) {
		ok(!strpbrk(p.files[0].filename, "\r\n"), "... CR and LF never reach the name (%s)", p.files[0].filename);
		like_str(p.files[0].filename, "Bcc", "... which keeps the rest");
		ok(p.files[1].filename[0] != '.' && !strchr(p.files[1].filename, '\x01'),
		   "... a leading dot and a control character replaced (%s)", p.files[1].filename);
		is_str(p.files[2].filename, "attachment", "a name that is only a directory: \"attachment\"");
	}
	parsed_free(&p);

	/* CR LF in a quoted name ends the header line: the quote never closes. */
	static const char crlf[] = "--XyZ\r\n"
				   "Content-Disposition: form-data; name=\"f\"; filename=\"a\r\nBcc: x.txt\"\r\n\r\n"
				   "x\r\n--XyZ--";
	parse(CT, crlf, sizeof crlf - 1, &p);
	ok(p.rc < 0 && p.err.code == ERS_E_INVALID, "CR LF inside a quoted file name: refused");
	like_str(p.err.message, "without its closing quote", "... saying so");
	ok(!p.fields && !p.files && !p.nfields && !p.nfiles, "... and nothing returned");
	parsed_free(&p);
}

struct refusal {
	const char *body, *why;
};

static void refusals(void)
{
	static const struct refusal cases[] = {
		{ "", "boundary never occurs" },
		{ "no boundary at all", "boundary never occurs" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", "closing boundary (in part 1)" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ", "closing boundary (in part 1)" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ\r\n", "ends within its headers" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"", "ends within its headers" },
		{ "--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--", "no Content-Disposition" },
		{ "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--", "is not form-data" },
		{ "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--", "no field name" },
		{ "--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv\r\n--XyZ--", "no field name" },
		{ "--XyZ\r\n\r\nv\r\n--XyZ--", "no Content-Disposition" },
		{ "--XyZjunk\r\n", "boundary never occurs" },
		{ "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ-", "closing boundary (in part 1)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct parsed p;
		parse(CT, cases[i].body, strlen(cases[i].body), &p);
		ok(p.rc < 0 && p.err.code == ERS_E_INVALID && !p.fields && !p.files, "refused: %s", cases[i].why);
		like_str(p.err.message, cases[i].why, "... saying so");
		parsed_free(&p);
	}
	struct parsed p;
	parse("text/plain", "--XyZ--", 7, &p);
	ok(p.rc < 0, "not multipart/form-data: refused");
	like_str(p.err.message, "must be multipart/form-data", "... saying what it must be");
	parse(CT, "--XyZ--", 7, &p);
	ok(p.rc == 0 && !p.nfields && !p.nfiles, "a form with no parts is empty");
}

static void caps(void)
{
	/* The size cap: one byte over is refused before anything is read. */
	size_t len = WEB_UPLOAD_MAX + 1;
	char *big = calloc(1, len);
	struct parsed p;
	parse(CT, big, len, &p);
	ok(p.rc < 0, "%zu bytes: over the cap, refused", len);
	like_str(p.err.message, "at most 25 MB", "... saying the cap");
	/* At the cap: a real file of nearly 25 MB. */
	static const char head[] = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n\r\n";
	static const char tail[] = "\r\n--XyZ--\r\n";
	len = WEB_UPLOAD_MAX;
	memcpy(big, head, sizeof head - 1);
	memset(big + sizeof head - 1, 'x', len - (sizeof head - 1) - (sizeof tail - 1));
	memcpy(big + len - (sizeof tail - 1), tail, sizeof tail - 1);
	parse(CT, big, len, &p);
	ok(p.rc == 0 && p.nfiles == 1 && p.files[0].len == len - (sizeof head - 1) - (sizeof tail - 1),
	   "exactly %zu bytes with one file: read whole", len);
	parsed_free(&p);
	free(big);

	/* Many parts: WEB_MULTIPART_MAX_PARTS are fine, one more is not. */
	struct ers_buf b = ERS_BUF_INIT;
	for (int i = 0; i < WEB_MULTIPART_MAX_PARTS; i++)
		ers_buf_addf(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv%d\r\n", i, i);
	size_t at_cap = b.len;
	ers_buf_adds(&b, "--XyZ--");
	parse(CT, b.data, b.len, &p);
	ok(p.rc == 0 && p.nfields == WEB_MULTIPART_MAX_PARTS, "%d parts: fine", WEB_MULTIPART_MAX_PARTS);
	is_str(field(&p, "f199"), "v199", "... the last one read");
	parsed_free(&p);
	b.len = at_cap;
	b.data[b.len] = '\0';
	ers_buf_adds(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"one-more\"\r\n\r\nv\r\n--XyZ--");
	parse(CT, b.data, b.len, &p);
	ok(p.rc < 0, "%d parts: refused", WEB_MULTIPART_MAX_PARTS + 1);
	like_str(p.err.message, "more than 200 parts", "... saying the cap");

	/* A part's headers: at most WEB_MULTIPART_MAX_HEADER bytes. */
	ers_buf_reset(&b);
	ers_buf_adds(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ");
	for (int i = 0; i < WEB_MULTIPART_MAX_HEADER; i++)
		ers_buf_addch(&b, 'p');
	ers_buf_adds(&b, "\r\n\r\nv\r\n--XyZ--");
	parse(CT, b.data, b.len, &p);
	ok(p.rc < 0, "a part with more than %d bytes of headers: refused", WEB_MULTIPART_MAX_HEADER);
	like_str(p.err.message, "bytes of headers", "... saying so");
	ers_buf_free(&b);
}

int main(void)
{
	boundaries();
	fields_and_files();
	names();
	refusals();
	caps();
	return done_testing();
}
