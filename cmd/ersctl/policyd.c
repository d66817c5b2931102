/* ersctl policyd: the Postfix policy service.  It speaks Postfix's policy
 * delegation protocol (SMTPD_POLICY_README): a request is lines
 * "name=value" ended by an empty line, the answer "action=..." and an empty
 * line, many requests per connection.  The decisions are libers's
 * (ers_policy_decide); this file reads, answers and stops, and
 * policyd_listen.c makes the socket and the pid file.
 *
 * One thread per connection, each with its own database connection, so that
 * a slow answer from PostgreSQL holds up only its own smtpd.  It runs in the
 * foreground; SIGTERM, SIGINT or SIGHUP stop it: no new connections, the
 * open ones end after their current request, the socket and the pid file
 * are removed. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "policyd.h"

enum {
	REQUEST_MAX = 64 * 1024,       /* Postfix's requests are well under 2 KB */
	ATTRS_MAX = 128,
	IDLE_TIMEOUT_MS = 600 * 1000,  /* above Postfix's smtpd_policy_service_max_idle (300 s) */
	PURGE_EVERY_S = 300,
	STOP_WAIT_S = 10,
	RECONNECT_EVERY_S = 1,
};

struct daemon {
	const struct ers_config *cfg;
	pthread_mutex_t lock;
	pthread_cond_t drained;   /* signalled whenever a connection ends */
	int *fds;                 /* the open connections, max of them */
	size_t max, active;
	int wake[2];              /* a byte when a connection ends: the accept loop may take another */
};

struct conn {
	struct daemon *d;
	int fd;
};

#define log_line(...) cli_log_line("ersctl policyd", __VA_ARGS__)

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* The end of the first complete request in buf[0..len) -- just past its
 * empty line -- or 0 while it is incomplete. */
static size_t request_end(const char *buf, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		size_t n = i - line;
		if (n == 0 || (n == 1 && buf[line] == '\r'))
			return i + 1;
		line = i + 1;
	}
	return 0;
}

/* Splits a request (NUL-terminated, lines "name=value") into attributes,
 * in place; lines without "=" are ignored, as are attributes past the
 * ATTRS_MAX-th. */
static size_t parse_request(char *req, struct ers_policy_attr *attrs)
{
	size_t n = 0;
	for (char *save, *line = strtok_r(req, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq || n == ATTRS_MAX)
			continue;
		*eq = '\0';
		attrs[n++] = (struct ers_policy_attr){ line, eq + 1 };
	}
	return n;
}

/* The database connection of a connection's thread: opened at the start,
 * and again (at most once a second) after it could not be. */
static struct ers_ctx *connect_db(const struct ers_config *cfg, time_t *last_try)
{
	time_t now = time(NULL);
	if (*last_try && now - *last_try < RECONNECT_EVERY_S)
		return NULL;
	*last_try = now;
	struct ers_ctx *ctx = NULL;
	struct ers_error err;
	if (ers_ctx_open(cfg, 0, &ctx, &err) < 0) {
		log_line("%s", err.message);
		return NULL;
	}
	return ctx;
}

static void serve(struct conn *cn)
{
	char *buf = ers_xmalloc(REQUEST_MAX + 1);
	size_t len = 0;
	time_t last_try = 0;
	struct ers_ctx *ctx = connect_db(cn->d->cfg, &last_try);
	struct ers_buf action = ERS_BUF_INIT, reply = ERS_BUF_INIT;
	struct ers_policy_attr attrs[ATTRS_MAX];
	for (;;) {
		size_t end;
		while ((end = request_end(buf, len)) > 0) {
			char saved = buf[end];
			buf[end] = '\0';
			size_t n = parse_request(buf, attrs);
			if (!ctx)
				ctx = connect_db(cn->d->cfg, &last_try);
			struct ers_error err;
			if (ers_policy_decide(ctx, attrs, n, &action, &err) < 0)
				log_line("%s: answered \"%s\"", err.message, action.data);
			ers_buf_reset(&reply);
			ers_buf_addf(&reply, "action=%s\n\n", action.data);
			buf[end] = saved;
			memmove(buf, buf + end, len - end);
			len -= end;
			if (!write_all(cn->fd, reply.data, reply.len))
				goto out;
		}
		if (len == REQUEST_MAX) {
			log_line("a request longer than %d bytes: closing the connection", REQUEST_MAX);
			goto out;
		}
		struct pollfd p = { .fd = cn->fd, .events = POLLIN };
		int r = poll(&p, 1, IDLE_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out; /* idle too long, or broken */
		ssize_t got = read(cn->fd, buf + len, REQUEST_MAX - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			goto out; /* the client closed, or policyd is stopping */
		len += (size_t)got;
	}
out:
	ers_buf_free(&action);
	ers_buf_free(&reply);
	ers_ctx_free(ctx);
	free(buf);
}

static void *conn_thread(void *arg)
{
	struct conn *cn = arg;
	struct daemon *d = cn->d;
	serve(cn);
	/* Everything about the daemon is done under the lock: once `active`
	 * drops, the stopping main thread may free it. */
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->max; i++)
		if (d->fds[i] == cn->fd)
			d->fds[i] = -1;
	close(cn->fd);
	char byte = 0;
	if (write(d->wake[1], &byte, 1) < 0) { /* full: the accept loop is awake anyway */
	}
	d->active--;
	pthread_cond_broadcast(&d->drained);
	pthread_mutex_unlock(&d->lock);
	free(cn);
	return NULL;
}

static void start_conn(struct daemon *d, int fd)
{
	struct conn *cn = ers_xcalloc(1, sizeof *cn);
	cn->d = d;
	cn->fd = fd;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->max; i++) {
		if (d->fds[i] < 0) {
			d->fds[i] = fd;
			break;
		}
	}
	d->active++;
	pthread_mutex_unlock(&d->lock);
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, conn_thread, cn);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_line("cannot start a thread for a connection: %s", strerror(rc));
		pthread_mutex_lock(&d->lock);
		for (size_t i = 0; i < d->max; i++)
			if (d->fds[i] == fd)
				d->fds[i] = -1;
		d->active--;
		pthread_mutex_unlock(&d->lock);
		close(fd);
		free(cn);
	}
}

/* Ends the open connections after their current request and waits for
 * their threads, at most STOP_WAIT_S seconds. */
static void drain(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->max; i++)
		if (d->fds[i] >= 0)
			shutdown(d->fds[i], SHUT_RD);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	while (d->active > 0)
		if (pthread_cond_timedwait(&d->drained, &d->lock, &until) == ETIMEDOUT)
			break;
	if (d->active > 0)
		log_line("%zu connections still busy after %d s; stopping anyway", d->active, STOP_WAIT_S);
	pthread_mutex_unlock(&d->lock);
}

/* Accepts connections until a stop signal; purges old counters on the way. */
static void accept_loop(struct cli *c, struct daemon *d, int lfd, int sfd)
{
	time_t next_purge = 0;
	for (;;) {
		time_t now = time(NULL);
		if (now >= next_purge) {
			struct ers_error err;
			if (ers_policy_purge(c->ctx, &err) < 0)
				log_line("purging old send counters: %s", err.message);
			next_purge = now + PURGE_EVERY_S;
		}
		pthread_mutex_lock(&d->lock);
		bool room = d->active < d->max;
		pthread_mutex_unlock(&d->lock);
		struct pollfd p[3] = { { .fd = sfd, .events = POLLIN }, { .fd = d->wake[0], .events = POLLIN },
				       { .fd = room ? lfd : -1, .events = POLLIN } };
		int r = poll(p, 3, PURGE_EVERY_S * 1000);
		if (r < 0 && errno != EINTR) {
			log_line("poll: %s", strerror(errno));
			return;
		}
		if (r <= 0)
			continue;
		if (p[0].revents)
			return; /* SIGTERM, SIGINT or SIGHUP */
		if (p[1].revents) {
			char bytes[64];
			if (read(d->wake[0], bytes, sizeof bytes) < 0) { /* nothing to do: it only woke us */
			}
		}
		if (p[2].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				start_conn(d, fd);
			else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				log_line("accept: %s", strerror(errno));
		}
	}
}

int cmd_policyd(struct cli *c)
{
	struct listen_addr addr;
	const char *listen_text = cli_opt(c, "listen");
	const char *pidfile = cli_opt(c, "pidfile");
	const char *group = cli_opt(c, "socket-group");
	long long max = 100;
	if (c->as) {
		ers_error_set(&c->err, ERS_E_USAGE, "--as does not apply: the policy service decides for every mailbox");
		return -1;
	}
	if (policyd_parse_listen(listen_text, &addr, &c->err) < 0 ||
	    (cli_opt(c, "max-connections") && cli_opt_int(c, "max-connections", 1, 1000, &max) < 0))
		return -1;
	if (group && !addr.is_unix) {
		ers_error_set(&c->err, ERS_E_USAGE, "--socket-group applies only to --listen unix:/PATH");
		return -1;
	}
	if (pidfile && !*pidfile) {
		ers_error_set(&c->err, ERS_E_USAGE, "--pidfile needs a file name, got an empty one");
		return -1;
	}
	/* The stop signals are read from a signalfd by the accept loop; every
	 * thread inherits them blocked. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
		ers_error_set(&c->err, ERS_E_INTERNAL, "cannot block the stop signals");
		return -1;
	}
	int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	struct daemon d = { .cfg = c->cfg, .max = (size_t)max, .wake = { -1, -1 } };
	if (sfd < 0 || pipe2(d.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		ers_error_set(&c->err, ERS_E_INTERNAL, "cannot set up signal handling: %s", strerror(errno));
		if (sfd >= 0)
			close(sfd);
		return -1;
	}
	int lfd = policyd_open_listener(&addr, listen_text, group, &c->err);
	if (lfd < 0 || (pidfile && policyd_write_pidfile(pidfile, &c->err) < 0)) {
		if (lfd >= 0) {
			close(lfd);
			if (addr.is_unix)
				unlink(addr.path);
		}
		close(sfd);
		close(d.wake[0]);
		close(d.wake[1]);
		return -1;
	}
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.drained, NULL);
	d.fds = ers_xmalloc(d.max * sizeof *d.fds);
	for (size_t i = 0; i < d.max; i++)
		d.fds[i] = -1;
	if (c->json)
		out_json(c, json_pack("{s:s,s:i,s:i}", "listening", listen_text, "pid", (int)getpid(),
				      "max_connections", (int)max));
	else
		out_note(c, "ersctl policyd: listening on %s (pid %ld, at most %lld connections)", listen_text,
			 (long)getpid(), max);
	fflush(stdout);

	accept_loop(c, &d, lfd, sfd);

	close(lfd);
	if (addr.is_unix)
		unlink(addr.path);
	drain(&d);
	if (pidfile)
		policyd_remove_pidfile(pidfile);
	if (c->json)
		out_json(c, json_pack("{s:b}", "stopped", 1));
	else
		out_note(c, "ersctl policyd: stopped");
	pthread_mutex_lock(&d.lock);
	bool busy = d.active > 0;
	pthread_mutex_unlock(&d.lock);
	if (busy) { /* threads past STOP_WAIT_S still use `d` and the configuration: end them with the process */
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	free(d.fds);
	close(d.wake[0]);
	close(d.wake[1]);
	close(sfd);
	return 0;
}
