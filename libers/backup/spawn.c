/* pg_dump and pg_restore as children: fork/exec with argv, never a shell;
 * one end of their standard input or output on a pipe, their standard
 * error in an unlinked temporary file read back when they fail. */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backup/internal.h"

extern char **environ;

void bk_hex(const unsigned char *md, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void conn_add(struct ers_buf *out, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	ers_buf_addf(out, "%s%s='", out->len ? " " : "", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			ers_buf_addch(out, '\\');
		ers_buf_addch(out, *p);
	}
	ers_buf_addch(out, '\'');
}

void bk_conninfo(const struct ers_config *cfg, struct ers_buf *out)
{
	char port[16], timeout[16];
	snprintf(port, sizeof port, "%d", cfg->database.port);
	snprintf(timeout, sizeof timeout, "%d", cfg->database.connect_timeout);
	conn_add(out, "host", cfg->database.host);
	conn_add(out, "port", port);
	conn_add(out, "dbname", cfg->database.name);
	conn_add(out, "user", cfg->database.user);
	conn_add(out, "connect_timeout", timeout);
	conn_add(out, "sslmode", cfg->database.sslmode);
	conn_add(out, "application_name", "ers-backup");
}

int bk_spawn(const char *const *argv, enum bk_pipe which, const char *const *env_add, struct bk_child *c,
	     struct ers_error *err)
{
	memset(c, 0, sizeof *c);
	c->fd = c->errfd = c->out_fd = -1;
	snprintf(c->what, sizeof c->what, "%s", argv[0]);
	char tmpl[] = "/tmp/ers-backup-stderr.XXXXXX";
	int errfd = mkostemp(tmpl, O_CLOEXEC);
	if (errfd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot create a temporary file in /tmp: %s", strerror(errno));
		return -1;
	}
	unlink(tmpl);
	int p[2], q[2] = { -1, -1 };
	if (which == BK_CHILD_BOTH && pipe2(q, O_CLOEXEC) < 0) {
		ers_error_set(err, ERS_E_IO, "pipe: %s", strerror(errno));
		close(errfd);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		ers_error_set(err, ERS_E_IO, "pipe: %s", strerror(errno));
		close(errfd);
		return -1;
	}
	/* The environment is built before fork: only async-signal-safe calls after. */
	size_t n = 0;
	while (environ[n])
		n++;
	size_t extra = 0;
	while (env_add && env_add[extra])
		extra++;
	char **envp = ers_xcalloc(n + extra + 1, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11))
			envp[k++] = environ[i];
	for (size_t i = 0; i < extra; i++)
		envp[k++] = (char *)env_add[i];
	pid_t pid = fork();
	if (pid < 0) {
		ers_error_set(err, ERS_E_IO, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(errfd);
		free(envp);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (which == BK_CHILD_STDOUT) {
			dup2(null, 0);
			dup2(p[1], 1);
		} else {
			dup2(p[0], 0);
			dup2(which == BK_CHILD_BOTH ? q[1] : null, 1);
		}
		dup2(errfd, 2);
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	free(envp);
	if (which == BK_CHILD_STDOUT) {
		close(p[1]);
		c->fd = p[0];
	} else {
		close(p[0]);
		c->fd = p[1];
	}
	if (which == BK_CHILD_BOTH) {
		close(q[1]);
		c->out_fd = q[0];
	}
	c->pid = pid;
	c->errfd = errfd;
	return 0;
}

int bk_wait(struct bk_child *c, struct ers_error *err)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
	if (c->pid <= 0)
		return 0;
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	char msg[600] = "";
	if (c->errfd >= 0) {
		ssize_t r = pread(c->errfd, msg, sizeof msg - 1, 0);
		msg[r > 0 ? r : 0] = '\0';
		close(c->errfd);
		c->errfd = -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* The first line that says something: pg tools begin with their name. */
	char *line = msg;
	line[strcspn(line, "\n")] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*line)
		ers_error_set(err, ERS_E_UNAVAILABLE, "%s could not be run (not installed? run 'make deps')", c->what);
	else if (WIFEXITED(status))
		ers_error_set(err, ERS_E_UNAVAILABLE, "%s failed (exit %d): %s", c->what, WEXITSTATUS(status),
			      *line ? line : "no message");
	else
		ers_error_set(err, ERS_E_UNAVAILABLE, "%s was killed by signal %d", c->what, WTERMSIG(status));
	return -1;
}
