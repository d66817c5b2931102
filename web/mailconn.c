/* The webmail's connections to this mail node: IMAP to Dovecot and SMTP
 * submission to Postfix, both logged in as USER*MASTER
 * (mailstack.master_user, WEBMAIL_MASTER_PASSWORD), so that the user's own
 * password is never kept.  Dovecot tells Postfix the login is USER, so
 * smtpd_sender_login_maps lets the user send as their own addresses only.
 * STARTTLS when the node has a certificate, verified against dns.ca_file
 * (unset: the system's CAs) -- except IMAP to a loopback address, which no
 * network carries: there the TLS handshake would only cost time (issue 22;
 * Dovecot counts a connection from its own address as secured, so the login
 * is allowed without TLS).  The master user's hash is a fast one for the
 * same reason (ers_password_hash_key): the webmail logs in on every page. */
#include <string.h>
#include "web.h"

static int master_login_as(struct web_req *r, const char *address, struct ers_buf *user, struct ers_error *err)
{
	const struct ers_config *cfg = r->cfg;
	if (!cfg->secrets.webmail_master_password) {
		ers_error_set(err, ERS_E_CONFIG, "the webmail cannot open mailboxes: WEBMAIL_MASTER_PASSWORD is not set "
			      "in the secrets file");
		return -1;
	}
	ers_buf_reset(user);
	ers_buf_addf(user, "%s*%s", address, cfg->mailstack.master_user);
	return 0;
}

static int master_login(struct web_req *r, struct ers_buf *user, struct ers_error *err)
{
	return master_login_as(r, r->session.actor.name, user, err);
}

/* Where this node's daemons listen. */
static const char *node_host(const struct ers_config *cfg)
{
	const char *listen = cfg->mailstack.listen;
	return listen && *listen && strcmp(listen, "*") ? listen : cfg->mailstack.hostname;
}

static bool node_tls(const struct ers_config *cfg)
{
	return cfg->mailstack.tls_cert && *cfg->mailstack.tls_cert;
}

int web_imap_open(struct web_req *r, struct ers_imap **im_r, struct ers_error *err)
{
	return web_imap_open_as(r, r->session.actor.name, im_r, err);
}

int web_imap_open_as(struct web_req *r, const char *address, struct ers_imap **im_r, struct ers_error *err)
{
	*im_r = web_imap_kept(r, address); /* a FastCGI worker's, from this session's last request */
	if (*im_r)
		return 0;
	if (web_imap_connect_as(r, address, im_r, err) < 0)
		return -1;
	web_imap_adopt(r, address, *im_r);
	return 0;
}

int web_imap_connect_as(struct web_req *r, const char *address, struct ers_imap **im_r, struct ers_error *err)
{
	*im_r = NULL;
	struct ers_buf user = ERS_BUF_INIT;
	if (master_login_as(r, address, &user, err) < 0) {
		ers_buf_free(&user);
		return -1;
	}
	struct ers_imap_params p;
	ers_imap_node_params(r->cfg, &p);
	p.timeout_s = 20;
	p.username = user.data;
	p.password = r->cfg->secrets.webmail_master_password;
	int rc = ers_imap_open(&p, im_r, err);
	ers_buf_free(&user);
	return rc;
}

int web_smtp_params(struct web_req *r, struct ers_smtp_params *p, struct ers_buf *user, struct ers_error *err)
{
	memset(p, 0, sizeof *p);
	if (master_login(r, user, err) < 0)
		return -1;
	p->host = node_host(r->cfg);
	p->port = r->cfg->mailstack.submission_port;
	p->tls = node_tls(r->cfg) ? ERS_SMTP_STARTTLS : ERS_SMTP_PLAIN;
	p->ca_file = r->cfg->dns.ca_file;
	p->username = user->data;
	p->password = r->cfg->secrets.webmail_master_password;
	p->timeout_s = 60;
	return 0;
}
