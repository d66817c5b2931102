#define _GNU_SOURCE /* pipe2 */
/* Runs Dovecot's doveadm for the migration worker: fork and execvp with an
 * argv (no shell), standard output read through a pipe, standard error
 * into an unlinked temporary file, no core dump (doveadm 2.3.19
 * panics after a failed imapc login). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "migrate/internal.h"

/* The last line of `text` holding "Error: ", after that marker. */
static void last_error_line(const char *text, struct ers_buf *why)
{
	const char *best = NULL;
	for (const char *p = text; (p = strstr(p, "Error: ")); p += 7)
		best = p + 7;
	if (!best)
		return;
	size_t n = strcspn(best, "\n");
	ers_buf_reset(why);
	ers_buf_add(why, best, n > 400 ? 400 : n);
}

int mg_doveadm(const char *conf, const char *const *args, struct ers_buf *out, struct ers_buf *why)
{
	return mg_doveadm_input(conf, args, NULL, out, why);
}

int mg_doveadm_input(const char *conf, const char *const *args, const struct ers_buf *in, struct ers_buf *out,
		     struct ers_buf *why)
{
	const char *argv[32] = { "doveadm", "-c", conf };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	/* Standard error into an unnamed file: nothing left behind. */
	char errpath[] = "/tmp/ers-doveadm.XXXXXX";
	int errfd = mkostemp(errpath, O_CLOEXEC);
	if (errfd >= 0)
		unlink(errpath);
	int fds[2], ins[2] = { -1, -1 };
	if (errfd < 0 || pipe2(fds, O_CLOEXEC) < 0) {
		if (errfd >= 0)
			close(errfd);
		return -1;
	}
	/* Input goes through a pipe written before anything is read: callers
	 * keep it under the pipe's 64 KiB. */
	if (in && (in->len > 60000 || pipe2(ins, O_CLOEXEC) < 0)) {
		close(errfd), close(fds[0]), close(fds[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(errfd), close(fds[0]), close(fds[1]);
		if (in)
			close(ins[0]), close(ins[1]);
		return -1;
	}
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);
		int stdin_fd = in ? ins[0] : open("/dev/null", O_RDONLY);
		if (stdin_fd < 0 || dup2(stdin_fd, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execvp("doveadm", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (in) {
		close(ins[0]);
		if (write(ins[1], in->data, in->len) != (ssize_t)in->len) {
			/* doveadm then sees a short message and fails: its error says so. */
		}
		close(ins[1]);
	}
	char chunk[65536];
	ssize_t got;
	while ((got = read(fds[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR))
		if (got > 0 && out)
			ers_buf_add(out, chunk, (size_t)got);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(errfd);
			return -1;
		}
	if (why) {
		struct ers_buf e = ERS_BUF_INIT;
		lseek(errfd, 0, SEEK_SET);
		while ((got = read(errfd, chunk, sizeof chunk)) > 0 && e.len < (1u << 20))
			ers_buf_add(&e, chunk, (size_t)got);
		last_error_line(e.data, why);
		ers_buf_free(&e);
	}
	close(errfd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
