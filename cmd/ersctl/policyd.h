/* ersctl policyd's socket and pid file (policyd_listen.c), apart from the
 * protocol and the threads (policyd.c). */
#ifndef ERSCTL_POLICYD_H
#define ERSCTL_POLICYD_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <ers/ers.h>

struct listen_addr {
	bool is_unix;
	struct sockaddr_storage ss;
	socklen_t len;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

/* --listen: unix:/PATH, or a loopback address with a port: 127.0.0.1:PORT
 * (any 127.x), localhost:PORT, [::1]:PORT; anything else is refused. */
int policyd_parse_listen(const char *value, struct listen_addr *a, struct ers_error *err);
/* Binds and listens; a unix socket gets mode 0660 and, with `group`, that
 * group.  Returns the socket, or -1. */
int policyd_open_listener(const struct listen_addr *a, const char *text, const char *group,
			  struct ers_error *err);
int policyd_write_pidfile(const char *path, struct ers_error *err);
/* Removes the pid file if it still names this process. */
void policyd_remove_pidfile(const char *path);

#endif
