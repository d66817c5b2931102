/* The clamd client: INSTREAM, PING and VERSION over a unix or TCP socket,
 * with one deadline for the whole exchange.  clamd's null-terminated
 * commands ("z...") are used so that an answer ends at a NUL. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "ers/scan.h"
#include "scan/internal.h"

#define CHUNK (1024 * 1024) /* clamd reads a chunk whole: fewer, larger ones stream faster */

long ers_scan_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct conn {
	int fd;
	long deadline; /* ers_scan_now_ms() value */
};

static int left_ms(const struct conn *c)
{
	long l = c->deadline - ers_scan_now_ms();
	return l > 0 ? (int)l : 0;
}

static int wait_fd(struct conn *c, short events)
{
	struct pollfd p = { c->fd, events, 0 };
	for (;;) {
		int ms = left_ms(c);
		if (ms == 0)
			return -2;
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -2;
		if (errno != EINTR)
			return -1;
	}
}

/* Connects to unix:/PATH or tcp:HOST:PORT; -1 with `why` set. */
static int open_conn(const char *target, int timeout_s, struct conn *c, char *why, size_t cap)
{
	c->fd = -1;
	c->deadline = ers_scan_now_ms() + (timeout_s > 0 ? timeout_s : 30) * 1000L;
	if (!target || !*target) {
		snprintf(why, cap, "no scanner target is set (scan.target)");
		return -1;
	}
	if (!strncmp(target, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(target + 5) >= sizeof sa.sun_path) {
			snprintf(why, cap, "the socket path of %s is too long", target);
			return -1;
		}
		strcpy(sa.sun_path, target + 5);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS &&
				  errno != EAGAIN)) {
			snprintf(why, cap, "cannot connect to clamd at %s: %s", target, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (strncmp(target, "tcp:", 4)) {
		snprintf(why, cap, "scanner target %s is neither unix:/PATH nor tcp:HOST:PORT", target);
		return -1;
	}
	char host[256];
	const char *colon = strrchr(target + 4, ':');
	size_t hl = colon ? (size_t)(colon - (target + 4)) : 0;
	if (!colon || hl == 0 || hl >= sizeof host) {
		snprintf(why, cap, "scanner target %s is not tcp:HOST:PORT", target);
		return -1;
	}
	memcpy(host, target + 4, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int gai = getaddrinfo(host, colon + 1, &hints, &ai);
	if (gai) {
		snprintf(why, cap, "cannot resolve clamd's host in %s: %s", target, gai_strerror(gai));
		return -1;
	}
	int rc = -1;
	for (struct addrinfo *a = ai; a && rc < 0; a = a->ai_next) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0)
			continue;
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0) {
			rc = 0;
			break;
		}
		if (errno != EINPROGRESS)
			continue;
		int w = wait_fd(c, POLLOUT);
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (w == 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			rc = 0;
		else
			errno = w == -2 ? ETIMEDOUT : soerr ? soerr : errno;
	}
	freeaddrinfo(ai);
	if (rc < 0)
		snprintf(why, cap, "cannot connect to clamd at %s: %s", target, strerror(errno));
	return rc;
}

/* Writes all of `data`; -1 with errno (ETIMEDOUT at the deadline). */
static int send_all(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		int w = wait_fd(c, POLLOUT);
		if (w < 0) {
			errno = w == -2 ? ETIMEDOUT : errno;
			return -1;
		}
	}
	return 0;
}

/* Reads the answer up to its NUL (or the end); -1 with errno. */
static int read_reply(struct conn *c, char *dst, size_t cap)
{
	size_t got = 0;
	dst[0] = '\0';
	for (;;) {
		if (got + 1 >= cap)
			break;
		ssize_t n = recv(c->fd, dst + got, cap - 1 - got, 0);
		if (n > 0) {
			got += (size_t)n;
			dst[got] = '\0';
			if (memchr(dst, '\0', got))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		int w = wait_fd(c, POLLIN);
		if (w < 0) {
			errno = w == -2 ? ETIMEDOUT : errno;
			return -1;
		}
	}
	dst[got] = '\0';
	/* The answer, without its trailing NUL or line end, printable. */
	size_t k = strlen(dst);
	while (k && (dst[k - 1] == '\n' || dst[k - 1] == '\r'))
		dst[--k] = '\0';
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)dst[i] < 0x20)
			dst[i] = ' ';
	return got ? 0 : (errno = ECONNRESET, -1);
}

static const char *io_why(void)
{
	return errno == ETIMEDOUT ? "no answer within scan.timeout" : strerror(errno);
}

void ers_clamd_scan(const char *target, int timeout_s, size_t max_bytes, const void *data, size_t len,
		    struct ers_clamd_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->result = ERS_SCAN_UNAVAILABLE;
	long t0 = ers_scan_now_ms();
	struct conn c;
	if (max_bytes && len > max_bytes) {
		snprintf(v->detail, sizeof v->detail, "%zu bytes is over the scanner's size limit (scan.max_size_mb, %zu MB)",
			 len, max_bytes / (1024 * 1024));
		goto out;
	}
	if (open_conn(target, timeout_s, &c, v->detail, sizeof v->detail) < 0)
		goto close;
	static const char cmd[] = "zINSTREAM";
	if (send_all(&c, cmd, sizeof cmd) < 0)
		goto io;
	const char *p = data;
	size_t rest = len;
	bool send_failed = false;
	while (rest) {
		size_t k = rest < CHUNK ? rest : CHUNK;
		uint32_t be = htonl((uint32_t)k);
		if (send_all(&c, &be, 4) < 0 || send_all(&c, p, k) < 0) {
			/* clamd may close early (StreamMaxLength): its answer says why. */
			send_failed = true;
			break;
		}
		p += k;
		rest -= k;
	}
	uint32_t end = 0;
	if (!send_failed && send_all(&c, &end, 4) < 0)
		send_failed = true;
	if (send_failed && errno == ETIMEDOUT)
		goto io;
	char reply[512];
	if (read_reply(&c, reply, sizeof reply) < 0)
		goto io;
	size_t rl = strlen(reply);
	if (!strcmp(reply, "stream: OK")) {
		v->result = send_failed ? ERS_SCAN_UNAVAILABLE : ERS_SCAN_CLEAN;
		if (send_failed)
			snprintf(v->detail, sizeof v->detail, "clamd closed the stream early");
	} else if (!strncmp(reply, "stream: ", 8) && rl > 14 && !strcmp(reply + rl - 6, " FOUND")) {
		v->result = ERS_SCAN_INFECTED;
		snprintf(v->signature, sizeof v->signature, "%.*s", (int)(rl - 14), reply + 8);
	} else {
		snprintf(v->detail, sizeof v->detail, "clamd answered \"%.200s\"", reply);
	}
	goto close;
io:
	snprintf(v->detail, sizeof v->detail, "clamd at %s: %s", target, io_why());
close:
	if (c.fd >= 0)
		close(c.fd);
out:
	v->duration_ms = ers_scan_now_ms() - t0;
}

static int command(const char *target, int timeout_s, const char *cmd, char *reply, size_t cap, struct ers_error *err)
{
	struct conn c;
	char why[300];
	if (open_conn(target, timeout_s, &c, why, sizeof why) < 0) {
		if (c.fd >= 0)
			close(c.fd);
		ers_error_set(err, ERS_E_UNAVAILABLE, "%s", why);
		return -1;
	}
	int rc = 0;
	if (send_all(&c, cmd, strlen(cmd) + 1) < 0 || read_reply(&c, reply, cap) < 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "clamd at %s: %s", target, io_why());
		rc = -1;
	}
	close(c.fd);
	return rc;
}

int ers_clamd_check(const char *target, int timeout_s, char *version, size_t cap, struct ers_error *err)
{
	char reply[300];
	version[0] = '\0';
	if (command(target, timeout_s, "zPING", reply, sizeof reply, err) < 0)
		return -1;
	if (strcmp(reply, "PONG")) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "clamd at %s answered PING with \"%.100s\", not PONG", target, reply);
		return -1;
	}
	if (command(target, timeout_s, "zVERSION", reply, sizeof reply, err) < 0)
		return -1;
	if (strncmp(reply, "ClamAV ", 7)) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "clamd at %s answered VERSION with \"%.100s\"", target, reply);
		return -1;
	}
	snprintf(version, cap, "%s", reply);
	return 0;
}

const char *ers_scan_result_name(enum ers_scan_result r)
{
	switch (r) {
	case ERS_SCAN_CLEAN: return "clean";
	case ERS_SCAN_INFECTED: return "infected";
	case ERS_SCAN_UNAVAILABLE: return "unavailable";
	}
	return "unavailable";
}
