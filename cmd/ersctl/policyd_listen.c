/* ersctl policyd: where it listens -- the --listen address, the unix
 * socket with its mode and group, a stale socket replaced -- and its pid
 * file. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "policyd.h"

int policyd_parse_listen(const char *value, struct listen_addr *a, struct ers_error *err)
{
	memset(a, 0, sizeof *a);
	if (!strncmp(value, "unix:", 5)) {
		const char *path = value + 5;
		if (path[0] != '/' || strlen(path) >= sizeof a->path) {
			ers_error_set(err, ERS_E_INVALID, "--listen unix:PATH needs an absolute path of at most %zu bytes, got \"%.200s\"",
				      sizeof a->path - 1, path);
			return -1;
		}
		struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof un->sun_path, "%s", path);
		snprintf(a->path, sizeof a->path, "%s", path);
		a->is_unix = true;
		a->len = sizeof *un;
		return 0;
	}
	const char *colon = strrchr(value, ':');
	char host[64] = "";
	int port = 0;
	struct ers_error ignored;
	if (colon && (size_t)(colon - value) < sizeof host && ers_port_parse(colon + 1, "port", &port, &ignored) == 0) {
		snprintf(host, sizeof host, "%.*s", (int)(colon - value), value);
		if (!strcmp(host, "localhost"))
			snprintf(host, sizeof host, "127.0.0.1");
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	size_t hl = strlen(host);
	if (port && inet_pton(AF_INET, host, &in4->sin_addr) == 1 && (ntohl(in4->sin_addr.s_addr) >> 24) == 127) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		a->len = sizeof *in4;
		return 0;
	}
	if (port && hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			a->len = sizeof *in6;
			return 0;
		}
	}
	memset(a, 0, sizeof *a);
	ers_error_set(err, ERS_E_INVALID,
		      "--listen must be unix:/PATH or a loopback address with a port (127.0.0.1:10040, [::1]:10040), got \"%.200s\"",
		      value);
	return -1;
}

/* A socket file left by a policyd that died is replaced; one that a live
 * process answers on, or a file of another kind, is not. */
static int clear_stale_socket(const char *path, struct ers_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (ers_error_set(err, ERS_E_UNAVAILABLE, "cannot use %s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		ers_error_set(err, ERS_E_CONFLICT, "%s exists and is not a socket: remove it or choose another path", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
	bool live = fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof un) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		ers_error_set(err, ERS_E_CONFLICT, "another process is listening on %s", path);
		return -1;
	}
	if (unlink(path) < 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "cannot remove the stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* --socket-group: the group that may connect to the unix socket (Postfix's
 * smtpd runs as user postfix). */
static int give_socket_to_group(const char *path, const char *group, struct ers_error *err)
{
	struct group gbuf, *g = NULL;
	char names[4096];
	if (getgrnam_r(group, &gbuf, names, sizeof names, &g) != 0 || !g) {
		ers_error_set(err, ERS_E_INVALID, "--socket-group: no group \"%.100s\" on this system", group);
		return -1;
	}
	if (chown(path, (uid_t)-1, g->gr_gid) < 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE,
			      "cannot give %s to group %s: %s (policyd must run as root or as a member of that group)",
			      path, group, strerror(errno));
		return -1;
	}
	return 0;
}

int policyd_open_listener(const struct listen_addr *a, const char *text, const char *group,
			 struct ers_error *err)
{
	if (a->is_unix && clear_stale_socket(a->path, err) < 0)
		return -1;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "cannot listen on %s: socket: %s", text, strerror(errno));
		return -1;
	}
	int one = 1;
	if (!a->is_unix)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* A unix socket is rw for owner and group only: Postfix reaches it
	 * through the group (--socket-group, see ersctl-policyd(1)). */
	mode_t old = a->is_unix ? umask(0117) : 0;
	int rc = bind(fd, (const struct sockaddr *)&a->ss, a->len);
	int bind_errno = errno;
	if (a->is_unix)
		umask(old);
	if (rc < 0 || listen(fd, 128) < 0) {
		int e = rc < 0 ? bind_errno : errno;
		ers_error_set(err, e == EADDRINUSE ? ERS_E_CONFLICT : ERS_E_UNAVAILABLE, "cannot listen on %s: %s%s", text,
			      strerror(e), e == EADDRINUSE ? " (another process has it)" : "");
		close(fd);
		return -1;
	}
	if (a->is_unix && group && give_socket_to_group(a->path, group, err) < 0) {
		close(fd);
		unlink(a->path);
		return -1;
	}
	return fd;
}

int policyd_write_pidfile(const char *path, struct ers_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	char text[32];
	int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (fd < 0 || write(fd, text, (size_t)n) != n) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "cannot write the pid file %s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	close(fd);
	return 0;
}

void policyd_remove_pidfile(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid == (long)getpid())
		unlink(path);
}
