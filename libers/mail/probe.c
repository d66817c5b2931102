/* A line-oriented client connection for health probes (the go-live check):
 * TCP with a timeout, TLS from the start or after STARTTLS, the server's
 * certificate verified against the system's CAs or a named bundle and the
 * host name.  Never carries a real password: probes log in as addresses
 * that cannot exist. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "ers/mem.h"
#include "mail/internal.h"

#define PROBE_TIMEOUT_MS 5000

struct ers_probe {
	int fd;
	SSL_CTX *tls_ctx;
	SSL *tls;
	char host[256];         /* the name the certificate must be valid for */
	bool partial_chain;     /* the CA file may hold the server's own certificate */
};

static int connect_with_timeout(const char *host, int port, char *why, size_t whylen)
{
	char service[12];
	snprintf(service, sizeof service, "%d", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int gai = getaddrinfo(host, service, &hints, &ai);
	if (gai) {
		snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	snprintf(why, whylen, "cannot connect to %s port %d", host, port);
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			snprintf(why, whylen, "cannot connect to %s port %d: %s", host, port, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (poll(&p, 1, PROBE_TIMEOUT_MS) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 ||
		    soerr) {
			snprintf(why, whylen, "cannot connect to %s port %d: %s", host, port,
				 soerr ? strerror(soerr) : "timed out");
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static bool unix_path_or_host(const char *host)
{
	return host[0] == '/';
}

static int connect_unix(const char *path, char *why, size_t whylen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(why, whylen, "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void ers_probe_verify_as(struct ers_probe *p, const char *name, bool partial_chain)
{
	snprintf(p->host, sizeof p->host, "%s", name);
	p->partial_chain = partial_chain;
}

int ers_probe_open(const char *host, int port, struct ers_probe **p_r, char *why, size_t whylen)
{
	int fd = unix_path_or_host(host) ? connect_unix(host, why, whylen) : connect_with_timeout(host, port, why, whylen);
	if (fd < 0)
		return -1;
	struct ers_probe *p = ers_xcalloc(1, sizeof *p);
	p->fd = fd;
	snprintf(p->host, sizeof p->host, "%s", host);
	*p_r = p;
	return 0;
}

/* Waits until the socket can be read or written, as OpenSSL asks. */
static bool wait_io(struct ers_probe *p, int ssl_rc)
{
	int e = SSL_get_error(p->tls, ssl_rc);
	short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (!events)
		return false;
	struct pollfd pfd = { .fd = p->fd, .events = events };
	return poll(&pfd, 1, PROBE_TIMEOUT_MS) > 0;
}

int ers_probe_start_tls(struct ers_probe *p, const char *ca_file, char *why, size_t whylen)
{
	p->tls_ctx = SSL_CTX_new(TLS_client_method());
	if (!p->tls_ctx) {
		snprintf(why, whylen, "TLS: cannot set up OpenSSL");
		return -1;
	}
	SSL_CTX_set_min_proto_version(p->tls_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(p->tls_ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file ? SSL_CTX_load_verify_locations(p->tls_ctx, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(p->tls_ctx) != 1) {
		snprintf(why, whylen, "TLS: cannot load the CA certificates%s%s", ca_file ? " from " : "",
			 ca_file ? ca_file : "");
		return -1;
	}
	if (p->partial_chain)
		X509_STORE_set_flags(SSL_CTX_get_cert_store(p->tls_ctx), X509_V_FLAG_PARTIAL_CHAIN);
	p->tls = SSL_new(p->tls_ctx);
	SSL_set_fd(p->tls, p->fd);
	SSL_set_tlsext_host_name(p->tls, p->host);
	SSL_set1_host(p->tls, p->host);
	int rc;
	while ((rc = SSL_connect(p->tls)) != 1) {
		if (wait_io(p, rc))
			continue;
		long v = SSL_get_verify_result(p->tls);
		if (v != X509_V_OK)
			snprintf(why, whylen, "TLS: the certificate of %s does not verify: %s", p->host,
				 X509_verify_cert_error_string(v));
		else
			snprintf(why, whylen, "TLS handshake with %s failed: %s", p->host,
				 ERR_reason_error_string(ERR_peek_last_error()) ? ERR_reason_error_string(ERR_peek_last_error())
										: "connection closed");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

bool ers_probe_say(struct ers_probe *p, const char *s)
{
	return ers_probe_write(p, s, strlen(s));
}

bool ers_probe_write(struct ers_probe *p, const void *data, size_t n)
{
	const char *s = data;
	size_t done = 0;
	while (done < n) {
		ssize_t w;
		if (p->tls) {
			int rc = SSL_write(p->tls, s + done, (int)(n - done));
			if (rc <= 0) {
				if (wait_io(p, rc))
					continue;
				return false;
			}
			w = rc;
		} else {
			struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
			if (poll(&pfd, 1, PROBE_TIMEOUT_MS) <= 0)
				return false;
			w = write(p->fd, s + done, n - done);
			if (w < 0 && errno == EAGAIN)
				continue;
			if (w <= 0)
				return false;
		}
		done += (size_t)w;
	}
	return true;
}

/* Reads more into buf (at offset *n); false on close, error or timeout. */
static bool read_some(struct ers_probe *p, char *buf, size_t cap, size_t *n)
{
	for (;;) {
		if (p->tls) {
			int rc = SSL_read(p->tls, buf + *n, (int)(cap - 1 - *n));
			if (rc > 0) {
				*n += (size_t)rc;
				return true;
			}
			if (!wait_io(p, rc))
				return false;
		} else {
			struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
			if (poll(&pfd, 1, PROBE_TIMEOUT_MS) <= 0)
				return false;
			ssize_t got = read(p->fd, buf + *n, cap - 1 - *n);
			if (got < 0 && errno == EAGAIN)
				continue;
			if (got <= 0)
				return false;
			*n += (size_t)got;
			return true;
		}
	}
}

/* True once the text holds a complete answer: with `tag` (IMAP) a line
 * starting with it, else (SMTP) a line whose code is followed by a space. */
static bool complete(const char *buf, const char *tag)
{
	for (const char *line = buf; *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			return false;
		if (tag ? !strncmp(line, tag, strlen(tag)) : (end - line >= 4 && line[3] == ' '))
			return true;
		line = end + 2;
	}
	return false;
}

bool ers_probe_read(struct ers_probe *p, void *buf, size_t cap, size_t *n)
{
	return cap > *n + 1 && read_some(p, buf, cap, n);
}

bool ers_probe_read_until(struct ers_probe *p, char *buf, size_t cap, const char *done)
{
	size_t n = 0;
	buf[0] = '\0';
	while (n + 1 < cap) {
		if (!read_some(p, buf, cap, &n))
			return false;
		buf[n] = '\0';
		if (strstr(buf, done))
			return true;
	}
	return false;
}

bool ers_probe_reply(struct ers_probe *p, const char *tag, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	while (n + 1 < cap) {
		if (!read_some(p, buf, cap, &n))
			return false;
		buf[n] = '\0';
		if (complete(buf, tag))
			return true;
	}
	return false;
}

void ers_probe_close(struct ers_probe *p)
{
	if (!p)
		return;
	if (p->tls) {
		SSL_shutdown(p->tls);
		SSL_free(p->tls);
	}
	SSL_CTX_free(p->tls_ctx);
	close(p->fd);
	free(p);
}
