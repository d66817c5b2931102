/* Junk retention (ers/junk.h): one doveadm search and one doveadm expunge
 * per retention period in use, over a file of the mailboxes that have it
 * (doveadm -F), so that 100,000 mailboxes cost a few doveadm runs, not
 * 100,000.  "before Nd" is on the messages' received date (INTERNALDATE). */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "migrate/internal.h"
#include "ers/junk.h"

static long long lines_of(const struct ers_buf *b)
{
	long long n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

/* doveadm VERB -F USERS mailbox Junk before Nd; its output into `out`. */
static int junk_doveadm(struct ers_ctx *ctx, const char *verb, const char *users, int days, struct ers_buf *out,
			struct ers_error *err)
{
	char before[32];
	snprintf(before, sizeof before, "%dd", days);
	const char *args[] = { verb, "-F", users, "mailbox", "Junk", "before", before, NULL };
	struct ers_buf why = ERS_BUF_INIT;
	int rc = mg_doveadm(ctx->cfg->mailstack.dovecot_config, args, out, &why);
	if (rc != 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "doveadm %s of old Junk messages: %s", verb,
			      why.len ? why.data : rc < 0 ? "could not run doveadm" : "it failed");
		ers_buf_free(&why);
		return -1;
	}
	ers_buf_free(&why);
	return 0;
}

/* One retention period: the mailboxes [from, to) of `res` (column 1). */
static int expire_group(struct ers_ctx *ctx, PGresult *res, int from, int to, int days, long long *expunged,
			struct ers_error *err)
{
	char path[] = "/tmp/ers-junk-users.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot write the list of mailboxes for doveadm: %s", strerror(errno));
		return -1;
	}
	struct ers_buf users = ERS_BUF_INIT, out = ERS_BUF_INIT;
	for (int i = from; i < to; i++)
		ers_buf_addf(&users, "%s\n", ers_db_str(res, i, 1));
	int rc = -1;
	if (write(fd, users.data, users.len) != (ssize_t)users.len) {
		ers_error_set(err, ERS_E_IO, "cannot write the list of mailboxes for doveadm: %s", strerror(errno));
		goto out;
	}
	if (junk_doveadm(ctx, "search", path, days, &out, err) < 0)
		goto out;
	long long found = lines_of(&out);
	if (found && junk_doveadm(ctx, "expunge", path, days, NULL, err) < 0)
		goto out;
	*expunged += found;
	rc = 0;
out:
	close(fd);
	unlink(path);
	ers_buf_free(&users);
	ers_buf_free(&out);
	return rc;
}

int ers_junk_expire(struct ers_ctx *ctx, const struct ers_actor *actor, long long *expunged_r, struct ers_error *err)
{
	*expunged_r = 0;
	if (ers_authz_check(actor, ERS_ACT_SCHEMA_MIGRATE, NULL, err) < 0)
		return -1;
	struct stat st;
	const char *root = ctx->cfg->mailstack.mail_root;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode) || access(root, W_OK) < 0)
		return 0; /* not a mail node */
	PGresult *res = ers_db_exec(ctx,
		"SELECT t.junk_retention_days, m.address FROM ers.mailbox m JOIN ers.tenant t ON t.id = m.tenant_id"
		" WHERE t.junk_retention_days > 0 ORDER BY 1, 2", 0, NULL, err);
	if (!res)
		return -1;
	int n = PQntuples(res), rc = 0;
	long long expunged = 0;
	for (int i = 0; i < n && rc == 0;) {
		int days = (int)ers_db_ll(res, i, 0), j = i;
		while (j < n && ers_db_ll(res, j, 0) == days)
			j++;
		rc = expire_group(ctx, res, i, j, days, &expunged, err);
		i = j;
	}
	PQclear(res);
	if (rc < 0 || expunged == 0)
		return rc;
	char detail[160];
	snprintf(detail, sizeof detail, "%lld Junk messages older than their tenant's retention expunged (%d mailboxes looked at)",
		 expunged, n);
	if (ers_db_begin(ctx, err) < 0)
		return -1;
	if (ers_db_commit_audited(ctx, actor, "mailbox.junk_expire", "Junk", 0, NULL, detail, err) < 0)
		return -1;
	*expunged_r = expunged;
	return 0;
}
