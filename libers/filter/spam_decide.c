/* The spam filter's decision for mail arriving on port 25 (ers/spam.h):
 * each recipient's settings from PostgreSQL at each message (so a change
 * counts at the next one, with no reload of anything), and rspamd's score
 * of the message, asked once over its HTTP protocol (POST /checkv2 to the
 * normal worker, mailstack.rspamd).  rspamd only scores: its own actions
 * are message-wide and GTUBE forces "reject" past every threshold, where
 * ERS needs a verdict per recipient from the recipient's threshold. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "filter/internal.h"
#include "ers/spam.h"

void ers_spam_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct rcpt_settings {
	bool known, filter, allowed, blocked;
	double threshold;
	enum ers_spam_action action;
	char mailbox[256];
};

/* One recipient's effective settings: those of the mailbox it is
 * delivered to -- itself, or the one an alias of it names -- and of that
 * mailbox's domain; an address not on one of our domains has none (known
 * false). */
static int settings_of(struct ers_ctx *ctx, const char *rcpt, const char *sender, struct rcpt_settings *s,
		       struct ers_error *err)
{
	memset(s, 0, sizeof *s);
	const char *at = strrchr(rcpt, '@');
	const char *sat = strrchr(sender, '@');
	/* $5, $6: ERS_SPAM_THRESHOLD_DEFAULT and ERS_SPAM_ACTION_DEFAULT */
	const char *params[] = { rcpt, at ? at + 1 : "", sender, sat ? sat + 1 : "", "5", "junk" };
	PGresult *res = ers_db_exec_prepared(ctx, "ers_spam_rcpt",
		"WITH r AS (SELECT coalesce((SELECT id FROM ers.mailbox WHERE address = lower($1)),"
		"                           (SELECT mailbox_id FROM ers.alias WHERE address = lower($1))) AS mid)"
		" SELECT coalesce(ds.filter, false) AND coalesce(ms.filter, true),"
		"  coalesce(ms.threshold, ds.threshold, $5::numeric), coalesce(ms.action, ds.action, $6),"
		"  EXISTS (SELECT 1 FROM ers.spam_allow a WHERE (a.domain_id = d.id OR a.mailbox_id = m.id)"
		"          AND a.entry IN (lower($3), lower($4))),"
		"  EXISTS (SELECT 1 FROM ers.spam_block b WHERE (b.domain_id = d.id OR b.mailbox_id = m.id)"
		"          AND b.entry IN (lower($3), lower($4))),"
		"  coalesce(m.address, '')"
		" FROM r LEFT JOIN ers.mailbox m ON m.id = r.mid"
		" JOIN ers.domain d ON d.name = coalesce(split_part(m.address, '@', 2), lower($2))"
		" LEFT JOIN ers.spam_setting ds ON ds.domain_id = d.id LEFT JOIN ers.spam_setting ms ON ms.mailbox_id = m.id",
		6, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		s->known = true;
		s->filter = ers_db_str(res, 0, 0)[0] == 't';
		s->threshold = strtod(ers_db_str(res, 0, 1), NULL);
		const char *a = ers_db_str(res, 0, 2);
		s->action = !strcmp(a, "mark") ? ERS_SPAM_MARK : !strcmp(a, "reject") ? ERS_SPAM_REJECT : ERS_SPAM_JUNK;
		s->allowed = *sender && ers_db_str(res, 0, 3)[0] == 't';
		s->blocked = *sender && ers_db_str(res, 0, 4)[0] == 't';
		snprintf(s->mailbox, sizeof s->mailbox, "%s", ers_db_str(res, 0, 5));
	}
	PQclear(res);
	return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *userp)
{
	ers_buf_add(userp, data, size * n);
	return size * n;
}

/* POSTs `msg` to `url` of rspamd (plain HTTP on a private address) with
 * `headers` (consumed); its answer in `body`, its HTTP status in *status_r
 * (0: none). */
static CURLcode rspamd_post(const char *url, struct curl_slist *headers, const char *msg, size_t len, long timeout_s,
			    struct ers_buf *body, long *status_r)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		ERS_BUG("curl_easy_init");
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, msg);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	CURLcode cc = curl_easy_perform(curl);
	*status_r = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_r);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return cc;
}

/* rspamd's score of the message: POST /checkv2 with the envelope as
 * headers, as its milter proxy would send it. */
static int rspamd_score(const struct ers_config *cfg, const char *client_ip, const char *helo, const char *sender,
			const char *const *rcpts, size_t n, const char *msg, size_t len, double *score_r,
			struct ers_error *err)
{
	const char *where = cfg->mailstack.rspamd;
	if (!where) {
		ers_error_set(err, ERS_E_CONFIG, "%s: mailstack.rspamd is not set, so no spam filter can run", cfg->path);
		return -1;
	}
	struct ers_buf url = ERS_BUF_INIT, body = ERS_BUF_INIT, h = ERS_BUF_INIT;
	struct curl_slist *headers = NULL;
	ers_buf_addf(&url, "http://%s/checkv2", where);
	/* Header values: printable, one line (they come from the SMTP client). */
#define ADD_HEADER(name, value)                                                     \
	do {                                                                        \
		ers_buf_reset(&h);                                                  \
		ers_buf_addf(&h, "%s: %.400s", name, value);                        \
		for (char *p = h.data + strlen(name) + 2; *p; p++)                  \
			if ((unsigned char)*p < 0x20 || *p == 0x7f)                \
				*p = '?';                                           \
		headers = curl_slist_append(headers, h.data);                       \
	} while (0)
	if (client_ip && *client_ip)
		ADD_HEADER("IP", client_ip);
	if (helo && *helo)
		ADD_HEADER("Helo", helo);
	ADD_HEADER("From", *sender ? sender : "<>");
	for (size_t i = 0; i < n; i++)
		ADD_HEADER("Rcpt", rcpts[i]);
#undef ADD_HEADER
	long status;
	CURLcode cc = rspamd_post(url.data, headers, msg, len, 60, &body, &status);
	int rc = -1;
	if (cc != CURLE_OK || status != 200) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "rspamd at %s did not score the message: %s", where,
			      cc != CURLE_OK ? curl_easy_strerror(cc) : "an HTTP error");
		goto out;
	}
	json_t *j = json_loadb(body.data, body.len, 0, NULL);
	json_t *score = j ? json_object_get(j, "score") : NULL;
	if (!json_is_number(score)) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "rspamd at %s answered without a score", where);
	} else {
		*score_r = json_number_value(score);
		rc = 0;
	}
	json_decref(j);
out:
	ers_buf_free(&url);
	ers_buf_free(&body);
	ers_buf_free(&h);
	return rc;
}

int ers_spam_decide(struct ers_ctx *ctx, const char *client_ip, const char *helo, const char *sender,
		    const char *const *rcpts, size_t n, const char *msg, size_t len, struct ers_spam_verdict *verdicts,
		    double *score_r, struct ers_error *err)
{
	*score_r = NAN; /* rspamd's scores can be negative: NAN says "not asked" */
	struct rcpt_settings *s = ers_xcalloc(n ? n : 1, sizeof *s);
	bool need_score = false;
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (settings_of(ctx, rcpts[i], sender, &s[i], err) < 0)
			goto out;
		verdicts[i] = (struct ers_spam_verdict){ .filtered = s[i].filter };
		memcpy(verdicts[i].mailbox, s[i].mailbox, sizeof verdicts[i].mailbox);
		if (!s[i].filter)
			continue;
		verdicts[i].allowed = s[i].allowed;
		/* An allowed sender wins over a blocked one: the person said so
		 * for this very sender (manual 002: whitelisted mail is delivered). */
		verdicts[i].blocked = s[i].blocked && !s[i].allowed;
		need_score |= !s[i].allowed && !s[i].blocked;
	}
	if (need_score && rspamd_score(ctx->cfg, client_ip, helo, sender, rcpts, n, msg, len, score_r, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!s[i].filter || s[i].allowed)
			continue;
		if (s[i].blocked || *score_r >= s[i].threshold)
			verdicts[i].fate = s[i].action == ERS_SPAM_MARK   ? ERS_SPAM_MARKED
					   : s[i].action == ERS_SPAM_REJECT ? ERS_SPAM_REJECTED
									    : ERS_SPAM_JUNKED;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

/* POST /learnspam or /learnham to the controller.  rspamd answers 200 when
 * it learned, 204 or 208 when it had learned this message already (or
 * judged it needs no more): all of them mean the classifier knows it. */
int ers_rspamd_learn(const struct ers_config *cfg, bool spam, const char *msg, size_t len, struct ers_error *err)
{
	const char *where = cfg->mailstack.rspamd_controller;
	struct ers_buf url = ERS_BUF_INIT, body = ERS_BUF_INIT;
	ers_buf_addf(&url, "http://%s/%s", where, spam ? "learnspam" : "learnham");
	long status;
	CURLcode cc = rspamd_post(url.data, NULL, msg, len, 30, &body, &status);
	int rc = ERS_SPAM_LEARNED;
	if (cc != CURLE_OK) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "rspamd's controller at %s did not answer: %s", where,
			      curl_easy_strerror(cc));
		rc = -1;
	} else if (status == 204) {
		/* "No Content": learning skipped, its reason (e.g. "contains less
		 * tokens than required for bayes classifier") in the status line. */
		rc = ERS_SPAM_LEARN_SKIPPED;
	} else if (status != 200 && status != 208) { /* 208: learned already */
		json_t *j = json_loadb(body.data, body.len, 0, NULL);
		const char *why = json_string_value(j ? json_object_get(j, "error") : NULL);
		ers_error_set(err, status == 403 ? ERS_E_PERMISSION : ERS_E_UNAVAILABLE,
			      "rspamd's controller at %s refused to learn (HTTP %ld)%s%.200s%s", where, status,
			      why ? ": " : "", why ? why : "", status == 403 ? "; it must list this host in secure_ip" : "");
		json_decref(j);
		rc = -1;
	}
	ers_buf_free(&url);
	ers_buf_free(&body);
	return rc;
}
