/* Clearing a mailbox's messages with doveadm search / expunge (ers/clear.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "migrate/internal.h"
#include "ers/clear.h"
#include "ers/names.h"

struct target {
	struct ers_buf address;
	long long tenant_id;
	char *tenant_name;
};

/* The mailbox, after the policy allowed clearing it, and the input checked. */
static int resolve(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *s,
		   struct target *t, struct ers_error *err)
{
	t->address = (struct ers_buf)ERS_BUF_INIT;
	t->tenant_name = NULL;
	if (ers_address_normalize(s->address ? s->address : "", &t->address, err) < 0)
		return -1;
	const char *p[] = { t->address.data };
	PGresult *r = ers_db_exec(ctx, "SELECT m.id, m.tenant_id, m.role, t.name FROM ers.mailbox m "
				       "JOIN ers.tenant t ON t.id = m.tenant_id WHERE m.address = $1", 1, p, err);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		ers_error_set(err, ERS_E_NOTFOUND, "no user %s (see: ersctl user list)", t->address.data);
		long long dt = 0, did = 0;
		struct ers_error ignored;
		const char *at = strrchr(t->address.data, '@');
		if (at)
			ers_domain_lookup(ctx, at + 1, &dt, &did, &ignored);
		struct ers_authz_target where = { .tenant_id = dt, .is_user = true };
		return ers_authz_missing(ctx, actor, ERS_ACT_MAILBOX_CLEAR, &where, t->address.data, err);
	}
	struct ers_authz_target at = { .tenant_id = ers_db_ll(r, 0, 1), .user_id = ers_db_ll(r, 0, 0), .is_user = true,
				       .user_role = ers_role_from_db(ers_db_str(r, 0, 2)) };
	t->tenant_id = at.tenant_id;
	t->tenant_name = ers_xstrdup(ers_db_str(r, 0, 3));
	PQclear(r);
	if (ers_authz_require(ctx, actor, ERS_ACT_MAILBOX_CLEAR, &at, t->address.data, err) < 0)
		return -1;
	if (s->older_than_days != -1 && (s->older_than_days < 1 || s->older_than_days > 36500)) {
		ers_error_set(err, ERS_E_INVALID, "--older-than must be 1..36500 days, got %lld", s->older_than_days);
		return -1;
	}
	if (s->folder && (!*s->folder || strlen(s->folder) > 1000 || strpbrk(s->folder, "\r\n*%"))) {
		ers_error_set(err, ERS_E_INVALID, "the folder must be 1..1000 characters without line breaks, '*' or '%%'");
		return -1;
	}
	return 0;
}

static void target_free(struct target *t)
{
	ers_buf_free(&t->address);
	free(t->tenant_name);
}

/* doveadm VERB -u ADDRESS mailbox FOLDER|* [before Nd] all */
static int run(struct ers_ctx *ctx, const char *verb, const struct target *t, const struct ers_clear_spec *s,
	       struct ers_buf *out, struct ers_error *err)
{
	char days[32];
	snprintf(days, sizeof days, "%lldd", s->older_than_days);
	const char *args[16] = { verb, "-u", t->address.data, "mailbox", s->folder ? s->folder : "*" };
	size_t n = 5;
	if (s->older_than_days != -1)
		args[n++] = "before", args[n++] = days;
	args[n++] = "all";
	args[n] = NULL;
	struct ers_buf why = ERS_BUF_INIT;
	int rc = mg_doveadm(ctx->cfg->mailstack.dovecot_config, args, out, &why);
	if (rc != 0 || why.len) {
		ers_error_set(err, rc == 0 && s->folder ? ERS_E_NOTFOUND : ERS_E_UNAVAILABLE, "doveadm %s for %s: %s", verb,
			      t->address.data, why.len ? why.data : rc < 0 ? "could not run doveadm" : "it failed");
		ers_buf_free(&why);
		return -1;
	}
	ers_buf_free(&why);
	return 0;
}

static long long count_lines(const struct ers_buf *b)
{
	long long n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static int count(struct ers_ctx *ctx, const struct target *t, const struct ers_clear_spec *s, long long *count_r,
		 struct ers_error *err)
{
	struct ers_buf out = ERS_BUF_INIT;
	int rc = run(ctx, "search", t, s, &out, err);
	*count_r = count_lines(&out);
	ers_buf_free(&out);
	return rc;
}

int ers_mailbox_clear_count(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
			    long long *count_r, struct ers_error *err)
{
	struct target t;
	int rc = resolve(ctx, actor, spec, &t, err) < 0 ? -1 : count(ctx, &t, spec, count_r, err);
	target_free(&t);
	return rc;
}

static void audit_detail(const struct ers_clear_spec *spec, long long removed, char *detail, size_t cap)
{
	snprintf(detail, cap, "%lld messages deleted (%s%.1000s%s, %s%lld%s)", removed,
		 spec->folder ? "folder " : "every folder", spec->folder ? spec->folder : "", "",
		 spec->older_than_days == -1 ? "any age" : "older than ",
		 spec->older_than_days == -1 ? 0 : spec->older_than_days, spec->older_than_days == -1 ? "" : " days");
}

int ers_mailbox_clear_imap(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
			   bool count_only, ers_clear_open_fn *open, void *arg, long long *n_r, struct ers_error *err)
{
	struct target t;
	struct ers_imap *im = NULL;
	struct ers_imap_result fl = { 0 };
	int rc = -1;
	*n_r = 0;
	if (resolve(ctx, actor, spec, &t, err) < 0 || open(arg, t.address.data, &im, err) < 0)
		goto out;
	/* BEFORE is a day: the received date's day before now minus the days. */
	char before[32] = "";
	if (spec->older_than_days != -1) {
		static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
		time_t when = time(NULL) - (time_t)spec->older_than_days * 86400;
		struct tm tm;
		gmtime_r(&when, &tm);
		snprintf(before, sizeof before, "%02d-%s-%04d", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900);
	}
	if (!spec->folder && ers_imap_folders(im, &fl, err) < 0)
		goto out;
	size_t nf = spec->folder ? 1 : fl.nfolders;
	for (size_t i = 0; i < nf; i++) {
		if (!spec->folder && fl.folders[i].noselect)
			continue;
		long long n = 0;
		if (ers_imap_clear_folder(im, spec->folder ? spec->folder : fl.folders[i].name, *before ? before : NULL,
					  count_only, &n, err) < 0)
			goto out;
		*n_r += n;
	}
	rc = 0;
	if (!count_only) {
		char detail[1200];
		audit_detail(spec, *n_r, detail, sizeof detail);
		rc = ers_db_begin(ctx, err) < 0 ? -1
			: ers_db_commit_audited(ctx, actor, "mailbox.clear", t.address.data, t.tenant_id, t.tenant_name, detail, err);
	}
out:
	ers_imap_result_free(&fl);
	ers_imap_close(im);
	target_free(&t);
	return rc;
}

int ers_mailbox_clear(struct ers_ctx *ctx, const struct ers_actor *actor, const struct ers_clear_spec *spec,
		      long long *removed_r, struct ers_error *err)
{
	struct target t;
	long long before, after;
	int rc = -1;
	if (resolve(ctx, actor, spec, &t, err) < 0 || count(ctx, &t, spec, &before, err) < 0 ||
	    run(ctx, "expunge", &t, spec, NULL, err) < 0 || count(ctx, &t, spec, &after, err) < 0)
		goto out;
	*removed_r = before > after ? before - after : 0;
	char detail[1200];
	audit_detail(spec, *removed_r, detail, sizeof detail);
	if (ers_db_begin(ctx, err) < 0)
		goto out;
	rc = ers_db_commit_audited(ctx, actor, "mailbox.clear", t.address.data, t.tenant_id, t.tenant_name, detail, err);
out:
	target_free(&t);
	return rc;
}
