/* The approved IMAP/SMTP hosts (manual 001: only the server operator
 * approves host names; tenants may only use approved ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accounts/internal.h"

const char *ers_host_kind_name(enum ers_host_kind kind)
{
	return kind == ERS_HOST_SMTP ? "smtp" : "imap";
}

int ers_host_kind_parse(const char *s, enum ers_host_kind *kind_r, struct ers_error *err)
{
	if (s && !strcmp(s, "imap")) {
		*kind_r = ERS_HOST_IMAP;
		return 0;
	}
	if (s && !strcmp(s, "smtp")) {
		*kind_r = ERS_HOST_SMTP;
		return 0;
	}
	ers_error_set(err, ERS_E_INVALID, "kind must be imap or smtp, got \"%.40s\"", s ? s : "");
	return -1;
}

const char *ers_tls_mode_name(enum ers_tls_mode tls)
{
	return tls == ERS_TLS_STARTTLS ? "starttls" : "implicit";
}

int ers_tls_mode_parse(const char *s, enum ers_tls_mode *tls_r, struct ers_error *err)
{
	if (s && !strcmp(s, "implicit")) {
		*tls_r = ERS_TLS_IMPLICIT;
		return 0;
	}
	if (s && !strcmp(s, "starttls")) {
		*tls_r = ERS_TLS_STARTTLS;
		return 0;
	}
	ers_error_set(err, ERS_E_INVALID, "TLS mode must be implicit or starttls, got \"%.40s\"", s ? s : "");
	return -1;
}

int ers_tls_mode_for_port(enum ers_host_kind kind, int port)
{
	if (kind == ERS_HOST_IMAP)
		return port == 993 ? ERS_TLS_IMPLICIT : port == 143 ? ERS_TLS_STARTTLS : -1;
	return port == 465 ? ERS_TLS_IMPLICIT : (port == 587 || port == 25) ? ERS_TLS_STARTTLS : -1;
}

static int kind_from_db(const char *s)
{
	return !strcmp(s, "smtp") ? ERS_HOST_SMTP : ERS_HOST_IMAP;
}

static struct ers_host_list *hosts_from_result(PGresult *res)
{
	struct ers_host_list *list = ers_xcalloc(1, sizeof *list);
	list->count = (size_t)PQntuples(res);
	list->items = ers_xcalloc(list->count, sizeof *list->items);
	for (int r = 0; r < (int)list->count; r++) {
		struct ers_host *h = &list->items[r];
		h->hostname = ers_xstrdup(ers_db_str(res, r, 0));
		h->kind = kind_from_db(ers_db_str(res, r, 1));
		h->port = (int)ers_db_ll(res, r, 2);
		h->tls = strcmp(ers_db_str(res, r, 3), "starttls") ? ERS_TLS_IMPLICIT : ERS_TLS_STARTTLS;
		ers_db_time(h->created_at, res, r, 4);
		h->tenants_using = (size_t)ers_db_ll(res, r, 5);
	}
	return list;
}

#define HOST_COLUMNS \
	"h.hostname, h.kind, h.port, h.tls, " ERS_SQL_TIME("h.created_at") "," \
	" (SELECT count(*) FROM ers.tenant t WHERE (h.kind = 'imap' AND t.imap_host = h.hostname AND t.imap_port = h.port)" \
	"   OR (h.kind = 'smtp' AND t.smtp_host = h.hostname AND t.smtp_port = h.port))"

int ers_host_add(struct ers_ctx *ctx, const struct ers_actor *actor, const char *hostname,
		 enum ers_host_kind kind, const int *ports, size_t nports, int tls,
		 struct ers_host_list **added_r, struct ers_error *err)
{
	static const int default_port[] = { [ERS_HOST_IMAP] = 993, [ERS_HOST_SMTP] = 587 };
	if (ers_authz_require(ctx, actor, ERS_ACT_HOST_MANAGE, NULL, hostname, err) < 0)
		return -1;
	struct ers_buf host = ERS_BUF_INIT, desc = ERS_BUF_INIT;
	if (ers_hostname_normalize(hostname, &host, err) < 0)
		goto fail;
	if (nports == 0) {
		ports = &default_port[kind];
		nports = 1;
	}
	for (size_t i = 0; i < nports; i++) {
		if (ports[i] < 1 || ports[i] > 65535) {
			ers_error_set(err, ERS_E_INVALID, "port must be 1..65535, got %d", ports[i]);
			goto fail;
		}
		if (tls < 0 && ers_tls_mode_for_port(kind, ports[i]) < 0) {
			ers_error_set(err, ERS_E_INVALID,
				      "%s port %d has no usual TLS mode: say --tls implicit or --tls starttls",
				      ers_host_kind_name(kind), ports[i]);
			goto fail;
		}
		for (size_t j = 0; j < i; j++) {
			if (ports[j] == ports[i]) {
				ers_error_set(err, ERS_E_INVALID, "port %d is given twice", ports[i]);
				goto fail;
			}
		}
	}
	if (ers_db_begin(ctx, err) < 0)
		goto fail;
	ers_buf_addf(&desc, "%s %s", ers_host_kind_name(kind), host.data);
	for (size_t i = 0; i < nports; i++) {
		struct ers_num port = ers_num(ports[i]);
		int mode = tls >= 0 ? tls : ers_tls_mode_for_port(kind, ports[i]);
		const char *params[] = { host.data, ers_host_kind_name(kind), port.s,
					 ers_tls_mode_name((enum ers_tls_mode)mode) };
		PGresult *res = ers_db_exec(ctx,
			"INSERT INTO ers.approved_host (hostname, kind, port, tls) VALUES ($1, $2, $3::int, $4)"
			" ON CONFLICT DO NOTHING RETURNING 1", 4, params, err);
		if (!res)
			goto rollback;
		bool inserted = PQntuples(res) == 1;
		PQclear(res);
		if (!inserted) {
			ers_error_set(err, ERS_E_CONFLICT, "%s is already approved for %s on port %d",
				      host.data, ers_host_kind_name(kind), ports[i]);
			goto rollback;
		}
		ers_buf_addf(&desc, "%s%d/%s", i ? "," : ":", ports[i], params[3]);
	}
	const char *params[] = { host.data, ers_host_kind_name(kind) };
	PGresult *res = ers_db_exec(ctx, "SELECT " HOST_COLUMNS " FROM ers.approved_host h"
				    " WHERE hostname = $1 AND kind = $2 AND created_at = now() ORDER BY port",
				    2, params, err);
	if (!res)
		goto rollback;
	if (ers_db_commit_audited(ctx, actor, "host.add", desc.data, 0, NULL, NULL, err) < 0) {
		PQclear(res);
		goto fail;
	}
	*added_r = hosts_from_result(res);
	PQclear(res);
	ers_buf_free(&host);
	ers_buf_free(&desc);
	return 0;
rollback:
	ers_db_rollback(ctx);
fail:
	ers_buf_free(&host);
	ers_buf_free(&desc);
	return -1;
}

int ers_host_list(struct ers_ctx *ctx, const struct ers_actor *actor, int kind,
		  struct ers_host_list **list_r, struct ers_error *err)
{
	if (ers_authz_require(ctx, actor, ERS_ACT_HOST_VIEW, NULL, "approved hosts", err) < 0)
		return -1;
	const char *params[] = { kind < 0 ? NULL : ers_host_kind_name((enum ers_host_kind)kind) };
	PGresult *res = ers_db_exec(ctx, "SELECT " HOST_COLUMNS " FROM ers.approved_host h"
				    " WHERE $1::text IS NULL OR kind = $1 ORDER BY hostname, kind, port",
				    1, params, err);
	if (!res)
		return -1;
	*list_r = hosts_from_result(res);
	PQclear(res);
	return 0;
}

int ers_host_remove(struct ers_ctx *ctx, const struct ers_actor *actor, const char *hostname,
		    int kind, int port, struct ers_host_list **removed_r, struct ers_error *err)
{
	if (ers_authz_require(ctx, actor, ERS_ACT_HOST_MANAGE, NULL, hostname, err) < 0)
		return -1;
	struct ers_buf host = ERS_BUF_INIT;
	if (ers_hostname_normalize(hostname, &host, err) < 0)
		goto fail;
	if (ers_db_begin(ctx, err) < 0)
		goto fail;
	struct ers_num portnum = ers_num(port);
	const char *params[] = { host.data, kind < 0 ? NULL : ers_host_kind_name((enum ers_host_kind)kind),
				 port > 0 ? portnum.s : NULL };
	/* FOR UPDATE: a tenant cannot take up the host between check and delete. */
	PGresult *res = ers_db_exec(ctx, "SELECT " HOST_COLUMNS " FROM ers.approved_host h"
				    " WHERE hostname = $1 AND ($2::text IS NULL OR kind = $2)"
				    " AND ($3::int IS NULL OR port = $3::int) ORDER BY kind, port FOR UPDATE",
				    3, params, err);
	if (!res)
		goto rollback;
	struct ers_host_list *list = hosts_from_result(res);
	PQclear(res);
	if (list->count == 0) {
		ers_error_set(err, ERS_E_NOTFOUND, "no approved host %s%s%s%s%s matches (see: ersctl server host list)",
			      host.data, kind >= 0 ? " for " : "", kind >= 0 ? params[1] : "",
			      port > 0 ? " on port " : "", port > 0 ? portnum.s : "");
		goto rollback_list;
	}
	res = ers_db_exec(ctx,
		"SELECT string_agg(DISTINCT t.name, ', ' ORDER BY t.name) FROM ers.tenant t, ers.approved_host h"
		" WHERE h.hostname = $1 AND ($2::text IS NULL OR h.kind = $2) AND ($3::int IS NULL OR h.port = $3::int)"
		" AND ((h.kind = 'imap' AND t.imap_host = h.hostname AND t.imap_port = h.port)"
		"   OR (h.kind = 'smtp' AND t.smtp_host = h.hostname AND t.smtp_port = h.port))",
		3, params, err);
	if (!res)
		goto rollback_list;
	if (!ers_db_isnull(res, 0, 0)) {
		ers_error_set(err, ERS_E_CONFLICT,
			      "%s is still used by tenant(s) %s: move them to another host first (ersctl tenant edit)",
			      host.data, ers_db_str(res, 0, 0));
		PQclear(res);
		goto rollback_list;
	}
	PQclear(res);
	if (ers_db_run(ctx, "DELETE FROM ers.approved_host WHERE hostname = $1 AND ($2::text IS NULL OR kind = $2)"
			    " AND ($3::int IS NULL OR port = $3::int)", 3, params, err) < 0)
		goto rollback_list;
	struct ers_buf desc = ERS_BUF_INIT;
	for (size_t i = 0; i < list->count; i++)
		ers_buf_addf(&desc, "%s%s %s:%d", i ? ", " : "", ers_host_kind_name(list->items[i].kind),
			     host.data, list->items[i].port);
	int rc = ers_db_commit_audited(ctx, actor, "host.remove", desc.data, 0, NULL, NULL, err);
	ers_buf_free(&desc);
	ers_buf_free(&host);
	if (rc < 0) {
		ers_host_list_free(list);
		return -1;
	}
	*removed_r = list;
	return 0;
rollback_list:
	ers_host_list_free(list);
rollback:
	ers_db_rollback(ctx);
fail:
	ers_buf_free(&host);
	return -1;
}

void ers_host_list_free(struct ers_host_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].hostname);
	free(list->items);
	free(list);
}
