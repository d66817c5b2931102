/* OpenPGP symmetric encryption and decryption of a stream, by gpg itself.
 *
 * gpg runs with a fixed argv (execve, no shell) and its standard input and
 * output on our descriptors: encrypting, it reads the tar stream from a
 * socket libarchive writes into and writes the backup file; decrypting,
 * it reads the file and writes the plaintext into a socket libarchive
 * reads.  (A socket, not a pipe: a side that stops early makes the other's
 * send() fail with EPIPE instead of killing the process with SIGPIPE.)
 * Not through gpgme's data callbacks: gpgme 1.18 formats a hex dump of
 * every byte it moves for a trace it then drops, which cost more CPU than
 * the encryption (the archives found it first; bench sections 8 and 9).
 * gpgme still finds gpg and checks that it is usable.
 *
 * Each operation gets a throwaway GnuPG home (mode 0700) whose gpg.conf
 * asks for AES-256 and no compression and whose agent caches no symmetric
 * passphrase; the passphrase reaches gpg over a pipe (--passphrase-fd, in
 * loopback pinentry mode) -- never argv, the environment or a file.  gpg's
 * status lines (--status-fd) say what it decrypted and why it failed.  The
 * agent is stopped and the home removed afterwards.
 *
 * A process killed with -9 cannot clean up, so a guard process, forked
 * when the home is made, waits on a pipe from us: a byte means we cleaned
 * up ourselves; end of file means we died, and the guard stops the agent
 * and removes the home (and the unfinished output file it was given). */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <gpgme.h>
#include "backup/internal.h"

struct bk_crypt {
	bool decrypt;
	char home[64];
	pid_t gpg;            /* 0: not started */
	int status_fd;        /* our ends of gpg's --status-fd and stderr */
	int stderr_fd;
	char *leftover;       /* removed by the guard if we die (create's .part) */
	pid_t guard;
	int guard_fd;         /* our end of the guard's pipe */
};

extern char **environ;

static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;
static void gpgme_init(void)
{
	gpgme_check_version(NULL);
}

int bk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);
		if (r < 0 && errno == ENOTSOCK) {
			/* A pipe (a child's stdin): its EPIPE without a SIGPIPE
			 * that would end the process. */
			sigset_t pipe_set, old;
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
			r = write(fd, p, len);
			if (r < 0 && errno == EPIPE) {
				int saved = errno;
				struct timespec zero = { 0, 0 };
				sigtimedwait(&pipe_set, NULL, &zero);
				errno = saved;
			}
			pthread_sigmask(SIG_SETMASK, &old, NULL);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Ends the agent of the throwaway home (it has no reason to stay) and
 * removes the home. */
static void home_remove(const char *home)
{
	if (!home[0])
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("gpgconf", "gpgconf", "--homedir", home, "--kill", "gpg-agent", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The guard (see the top): everything it runs is prepared before fork, so
 * that the child, forked from a threaded process, makes only
 * async-signal-safe calls. */
static void guard_start(struct bk_crypt *c)
{
	c->guard = -1;
	c->guard_fd = -1;
	const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
	if (!gpgconf)
		gpgconf = "/usr/bin/gpgconf";
	char *const kill_argv[] = { (char *)"gpgconf", (char *)"--homedir", c->home, (char *)"--kill",
				    (char *)"gpg-agent", NULL };
	char *const rm_argv[] = { (char *)"rm", (char *)"-rf", (char *)"--", c->home, c->leftover, NULL };
	char *const no_env[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		/* Ours to outlive: the terminal's ^C or a SIGTERM to the group. */
		struct sigaction ign = { .sa_handler = SIG_IGN };
		sigaction(SIGINT, &ign, NULL);
		sigaction(SIGTERM, &ign, NULL);
		sigaction(SIGHUP, &ign, NULL);
		sigaction(SIGPIPE, &ign, NULL);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		dup2(p[0], 3);
		close_range(4, ~0U, 0);
		char b;
		ssize_t n;
		while ((n = read(3, &b, 1)) < 0 && errno == EINTR)
			;
		if (n == 1)
			_exit(0); /* the parent cleaned up */
		pid_t k = fork();
		if (k == 0) {
			execve(gpgconf, kill_argv, no_env);
			_exit(127);
		}
		if (k > 0)
			while (waitpid(k, NULL, 0) < 0 && errno == EINTR)
				;
		execve("/bin/rm", rm_argv, no_env);
		_exit(127);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	c->guard = pid;
	c->guard_fd = p[1];
}

/* We cleaned up: the guard goes without doing anything. */
static void guard_end(struct bk_crypt *c)
{
	if (c->guard_fd >= 0) {
		(void)!write(c->guard_fd, "", 1);
		close(c->guard_fd);
		c->guard_fd = -1;
	}
	if (c->guard > 0)
		while (waitpid(c->guard, NULL, 0) < 0 && errno == EINTR)
			;
	c->guard = -1;
}

static int home_make(struct bk_crypt *c, struct ers_error *err)
{
	const char *tmp = getenv("TMPDIR");
	/* The agent's socket path must stay short (108 bytes). */
	if (!tmp || !*tmp || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(c->home, sizeof c->home, "%s/ers-backup-gpg.XXXXXX", tmp);
	if (!mkdtemp(c->home)) {
		ers_error_set(err, ERS_E_IO, "cannot create a GnuPG home in %s: %s", tmp, strerror(errno));
		c->home[0] = '\0';
		return -1;
	}
	char path[128];
	snprintf(path, sizeof path, "%s/gpg.conf", c->home);
	FILE *f = fopen(path, "we");
	if (!f) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fputs("s2k-cipher-algo AES256\ncipher-algo AES256\ns2k-digest-algo SHA512\ncompress-algo none\n"
	      "no-symkey-cache\nbatch\nno-greeting\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/gpg-agent.conf", c->home);
	f = fopen(path, "we");
	if (!f) {
		ers_error_set(err, ERS_E_IO, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fputs("allow-loopback-pinentry\ndefault-cache-ttl 0\nmax-cache-ttl 0\n", f);
	fclose(f);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A copy of `fd` at 10 or above, close-on-exec: the child's dup2 onto 0..4
 * cannot then overwrite a descriptor it has yet to take. */
static int high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/* Starts gpg with `stdin_fd` and `stdout_fd` as its input and output, the
 * passphrase on descriptor 3, its status lines on 4. */
static int spawn_gpg(struct bk_crypt *c, const char *passphrase, int stdin_fd, int stdout_fd, struct ers_error *err)
{
	int pass[2] = { -1, -1 }, status[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int in = -1, out = -1;
	int rc = -1;
	if (pipe2(pass, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ers_error_set(err, ERS_E_IO, "no pipe for gpg: %s", strerror(errno));
		goto out;
	}
	/* The passphrase fits the pipe's buffer: written now, gpg reads it
	 * when it starts. */
	if (bk_write_all(pass[1], passphrase, strlen(passphrase)) < 0 || bk_write_all(pass[1], "\n", 1) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot hand gpg the passphrase: %s", strerror(errno));
		goto out;
	}
	close_fd(&pass[1]);
	in = high(stdin_fd);
	out = high(stdout_fd);
	int p3 = high(pass[0]), p4 = high(status[1]), p2 = high(errp[1]);
	close_fd(&pass[0]);
	close_fd(&status[1]);
	close_fd(&errp[1]);
	pass[0] = p3, status[1] = p4, errp[1] = p2;
	if (in < 0 || out < 0 || p3 < 0 || p4 < 0 || p2 < 0) {
		ers_error_set(err, ERS_E_IO, "no descriptor for gpg: %s", strerror(errno));
		goto out;
	}
	char *const argv_decrypt[] = { "gpg", "--homedir", c->home, "--batch", "--no-tty", "--quiet",
				       "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--status-fd", "4",
				       "--decrypt", NULL };
	char *const argv_encrypt[] = { "gpg", "--homedir", c->home, "--batch", "--no-tty", "--quiet",
				       "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--status-fd", "4",
				       "--symmetric", "--output", "-", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, p2, 2);
	posix_spawn_file_actions_adddup2(&fa, p3, 3);
	posix_spawn_file_actions_adddup2(&fa, p4, 4);
	int sp = posix_spawn(&c->gpg, ers_gpg_program(), &fa, NULL, c->decrypt ? argv_decrypt : argv_encrypt, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (sp != 0) {
		c->gpg = 0;
		ers_error_set(err, ERS_E_UNAVAILABLE, "cannot run %s: %s (run 'make deps')", ers_gpg_program(), strerror(sp));
		goto out;
	}
	c->status_fd = status[0];
	c->stderr_fd = errp[0];
	status[0] = errp[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&pass[i]);
		close_fd(&status[i]);
		close_fd(&errp[i]);
	}
	close_fd(&in);
	close_fd(&out);
	return rc;
}

static int start(bool decrypt, const char *passphrase, int file_fd, const char *leftover, struct bk_crypt **c_r,
		 int *plain_fd_r, struct ers_error *err)
{
	pthread_once(&gpgme_once, gpgme_init);
	gpgme_error_t ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (ge) {
		ers_error_set(err, ERS_E_UNAVAILABLE, "GnuPG (gpg) is not usable: %s (run 'make deps')", gpgme_strerror(ge));
		return -1;
	}
	struct bk_crypt *c = ers_xcalloc(1, sizeof *c);
	c->decrypt = decrypt;
	c->status_fd = c->stderr_fd = -1;
	c->guard = c->guard_fd = -1;
	c->leftover = leftover ? ers_xstrdup(leftover) : NULL;
	int sv[2] = { -1, -1 };
	if (home_make(c, err) < 0)
		goto fail;
	guard_start(c);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ers_error_set(err, ERS_E_IO, "socketpair: %s", strerror(errno));
		goto fail;
	}
	/* Large socket buffers: fewer round trips between libarchive and gpg. */
	int big = 4 << 20;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	}
	if (spawn_gpg(c, passphrase, decrypt ? file_fd : sv[0], decrypt ? sv[1] : file_fd, err) < 0)
		goto fail;
	/* gpg holds its end now; ours is the other. */
	close_fd(decrypt ? &sv[1] : &sv[0]);
	*plain_fd_r = decrypt ? sv[0] : sv[1];
	*c_r = c;
	return 0;
fail:
	close_fd(&sv[0]);
	close_fd(&sv[1]);
	home_remove(c->home);
	guard_end(c);
	free(c->leftover);
	free(c);
	return -1;
}

int bk_encrypt_start(const char *passphrase, int out_fd, const char *out_path, struct bk_crypt **c_r,
		     int *plain_fd_r, struct ers_error *err)
{
	return start(false, passphrase, out_fd, out_path, c_r, plain_fd_r, err);
}

int bk_decrypt_start(const char *passphrase, int in_fd, struct bk_crypt **c_r, int *plain_fd_r,
		     struct ers_error *err)
{
	return start(true, passphrase, in_fd, NULL, c_r, plain_fd_r, err);
}

/* Everything left on `fd` (gpg's status or stderr, a few lines), up to
 * `cap` bytes kept. */
static void drain(int fd, struct ers_buf *out, size_t cap)
{
	char b[4096];
	for (;;) {
		ssize_t r = read(fd, b, sizeof b);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		if (out->len < cap)
			ers_buf_add(out, b, (size_t)r < cap - out->len ? (size_t)r : cap - out->len);
	}
}

/* Whether gpg's status lines hold `keyword` ("[GNUPG:] KEYWORD ..."). */
static bool status_has(const struct ers_buf *status, const char *keyword)
{
	size_t k = strlen(keyword);
	for (const char *p = status->data; p && *p;) {
		if (!strncmp(p, "[GNUPG:] ", 9) && !strncmp(p + 9, keyword, k) && (p[9 + k] == ' ' || p[9 + k] == '\n'))
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* gpg's last line on stderr, printable, without its "gpg: ". */
static void last_line(const struct ers_buf *e, char *dst, size_t cap)
{
	dst[0] = '\0';
	if (!e->len)
		return;
	size_t end = e->len;
	while (end && (e->data[end - 1] == '\n' || e->data[end - 1] == '\r'))
		end--;
	size_t begin = end;
	while (begin && e->data[begin - 1] != '\n')
		begin--;
	if (end - begin > 5 && !strncmp(e->data + begin, "gpg: ", 5))
		begin += 5;
	size_t n = end - begin < cap - 1 ? end - begin : cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)e->data[begin + i] < 0x20 ? ' ' : e->data[begin + i];
	dst[n] = '\0';
}

int bk_crypt_finish(struct bk_crypt *c, const char *file, struct ers_error *err)
{
	if (!c)
		return 0;
	/* The caller has closed its end: gpg sees the end of its input, or
	 * (reading stopped early) EPIPE on its output. */
	struct ers_buf status = ERS_BUF_INIT, errs = ERS_BUF_INIT;
	if (c->status_fd >= 0)
		drain(c->status_fd, &status, 16384);
	if (c->stderr_fd >= 0)
		drain(c->stderr_fd, &errs, 4096);
	close_fd(&c->status_fd);
	close_fd(&c->stderr_fd);
	int wstatus = 0;
	if (c->gpg > 0)
		while (waitpid(c->gpg, &wstatus, 0) < 0 && errno == EINTR)
			;
	bool ok = c->gpg > 0 && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
	char why[300];
	last_line(&errs, why, sizeof why);
	/* Our reader or writer stopped first (gpg's write to the socket
	 * failed, or SIGPIPE ended it): that side's own error says why. */
	bool stopped_early = !ok && ((WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGPIPE) ||
				     strstr(why, "Broken pipe") != NULL);
	home_remove(c->home);
	/* The caller removes or renames its unfinished file itself (after
	 * this, a kill leaves that file, never under the backup's name). */
	guard_end(c);
	free(c->leftover);
	int rc = 0;
	/* DECRYPTION_INFO's first field is the MDC method: 0, none. */
	bool nomdc = c->decrypt && (strstr(status.data ? status.data : "", "[GNUPG:] DECRYPTION_INFO 0 ") != NULL);
	if (c->decrypt && (status_has(&status, "BAD_PASSPHRASE") || status_has(&status, "DECRYPTION_FAILED") ||
			   status_has(&status, "NODATA") || status_has(&status, "NO_DATA") ||
			   (!ok && !stopped_early && !status_has(&status, "DECRYPTION_OKAY")))) {
		ers_error_set(err, ERS_E_INVALID,
			      "cannot decrypt %s: wrong passphrase, or the file is damaged, cut short or not an ERS backup (gpg: %s)",
			      file, why[0] ? why : "decryption failed");
		rc = -1;
	} else if (nomdc) {
		ers_error_set(err, ERS_E_INVALID, "%s is not integrity-protected (no MDC): not an ERS backup, refused", file);
		rc = -1;
	} else if (stopped_early) {
		ers_error_set(err, ERS_E_IO, "%s: the %s stopped early", file, c->decrypt ? "reading" : "writing");
		rc = -1;
	} else if (!ok) {
		ers_error_set(err, c->decrypt ? ERS_E_INVALID : ERS_E_IO, "%s %s: gpg: %s",
			      c->decrypt ? "cannot decrypt" : "cannot encrypt", file, why[0] ? why : "failed");
		rc = -1;
	}
	ers_buf_free(&status);
	ers_buf_free(&errs);
	free(c);
	return rc;
}
