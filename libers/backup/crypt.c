/* OpenPGP symmetric encryption and decryption of a stream with gpgme.
 *
 * gpgme pulls its input and pushes its output, and so does libarchive: the
 * two meet over a socket pair, gpgme in a thread of its own.  (A socket,
 * not a pipe: a side that stops early makes the other's send() fail with
 * EPIPE instead of killing the process with SIGPIPE.)
 *
 * Each operation gets a throwaway GnuPG home (mode 0700) whose gpg.conf
 * asks for AES-256 and no compression and whose agent caches no symmetric
 * passphrase; the passphrase reaches gpg through gpgme's callback in
 * loopback pinentry mode, over a pipe -- never argv, the environment or a
 * file.  The agent is stopped and the home removed afterwards.
 *
 * A process killed with -9 cannot clean up, so a guard process, forked
 * when the home is made, waits on a pipe from us: a byte means we cleaned
 * up ourselves; end of file means we died, and the guard stops the agent
 * and removes the home (and the unfinished output file it was given). */
#define _GNU_SOURCE /* scandirat, mkostemps, nftw, pipe2, execvpe */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
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
	char *passphrase;
	int in_fd, out_fd;    /* the thread's: decrypt reads in_fd (the file), writes out_fd (socket) */
	char home[64];
	pthread_t thread;
	bool started;
	gpgme_error_t gerr;
	bool nomdc;           /* an old message without integrity protection */
	char symkey[32];      /* "cipher.mode" of what was decrypted */
	char *leftover;       /* removed by the guard if we die (create's .part) */
	pid_t guard;
	int guard_fd;         /* our end of the guard's pipe */
};

static pthread_once_t gpgme_once = PTHREAD_ONCE_INIT;
static void gpgme_init(void)
{
	gpgme_check_version(NULL);
}

static gpgme_error_t passphrase_cb(void *hook, const char *uid_hint, const char *info, int prev_was_bad, int fd)
{
	struct bk_crypt *c = hook;
	if (prev_was_bad)
		return gpg_error(GPG_ERR_BAD_PASSPHRASE);
	size_t n = strlen(c->passphrase);
	if (gpgme_io_writen(fd, c->passphrase, n) < 0 || gpgme_io_writen(fd, "\n", 1) < 0)
		return gpg_error_from_syserror();
	return 0;
}

/* Callback data over a socket: send() with MSG_NOSIGNAL. */
static ssize_t sock_read(void *hook, void *buf, size_t n)
{
	int fd = *(int *)hook;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}
static ssize_t sock_write(void *hook, const void *buf, size_t n)
{
	int fd = *(int *)hook;
	for (;;) {
		ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}
static struct gpgme_data_cbs sock_cbs = { sock_read, sock_write, NULL, NULL };

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

static void *crypt_thread(void *arg)
{
	struct bk_crypt *c = arg;
	gpgme_ctx_t g = NULL;
	gpgme_data_t in = NULL, out = NULL;
	gpgme_error_t e = gpgme_new(&g);
	if (!e)
		e = gpgme_ctx_set_engine_info(g, GPGME_PROTOCOL_OpenPGP, NULL, c->home);
	if (!e)
		e = gpgme_set_pinentry_mode(g, GPGME_PINENTRY_MODE_LOOPBACK);
	if (!e) {
		gpgme_set_armor(g, 0);
		gpgme_set_passphrase_cb(g, passphrase_cb, c);
		gpgme_set_ctx_flag(g, "no-symkey-cache", "1");
	}
	if (!e)
		e = c->decrypt ? gpgme_data_new_from_fd(&in, c->in_fd) : gpgme_data_new_from_cbs(&in, &sock_cbs, &c->in_fd);
	if (!e)
		e = c->decrypt ? gpgme_data_new_from_cbs(&out, &sock_cbs, &c->out_fd) : gpgme_data_new_from_fd(&out, c->out_fd);
	if (!e) {
		/* gpgme moves data 4 KB at a time by default: a round trip through
		 * its poll loop per 4 KB held create at half the floor's speed. */
		gpgme_data_set_flag(in, "io-buffer-size", "1048576");
		gpgme_data_set_flag(out, "io-buffer-size", "1048576");
		if (c->decrypt) {
			e = gpgme_op_decrypt(g, in, out);
			gpgme_decrypt_result_t r = gpgme_op_decrypt_result(g);
			if (r) {
				c->nomdc = r->legacy_cipher_nomdc;
				snprintf(c->symkey, sizeof c->symkey, "%s", r->symkey_algo ? r->symkey_algo : "");
			}
		} else {
			e = gpgme_op_encrypt(g, NULL, GPGME_ENCRYPT_SYMMETRIC | GPGME_ENCRYPT_NO_COMPRESS, in, out);
		}
	}
	gpgme_data_release(in);
	gpgme_data_release(out);
	gpgme_release(g);
	c->gerr = e;
	/* The reader of our output sees its end; the writer of our input its
	 * refusal. */
	if (c->decrypt) {
		close(c->out_fd);
		c->out_fd = -1;
	} else {
		close(c->in_fd);
		c->in_fd = -1;
	}
	return NULL;
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
	c->passphrase = ers_xstrdup(passphrase);
	c->in_fd = c->out_fd = -1;
	c->guard = c->guard_fd = -1;
	c->leftover = leftover ? ers_xstrdup(leftover) : NULL;
	if (home_make(c, err) < 0)
		goto fail;
	guard_start(c);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ers_error_set(err, ERS_E_IO, "socketpair: %s", strerror(errno));
		goto fail;
	}
	/* Large socket buffers: fewer round trips between the thread that
	 * writes the tar stream and gpgme's pump. */
	int big = 4 << 20;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	}
	if (decrypt) {
		c->in_fd = file_fd;
		c->out_fd = sv[1];
		*plain_fd_r = sv[0];
	} else {
		c->in_fd = sv[0];
		c->out_fd = file_fd;
		*plain_fd_r = sv[1];
	}
	if (pthread_create(&c->thread, NULL, crypt_thread, c) != 0) {
		ers_error_set(err, ERS_E_INTERNAL, "cannot start the encryption thread");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	c->started = true;
	*c_r = c;
	return 0;
fail:
	home_remove(c->home);
	guard_end(c);
	free(c->leftover);
	explicit_bzero(c->passphrase, strlen(c->passphrase));
	free(c->passphrase);
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

int bk_crypt_finish(struct bk_crypt *c, const char *file, struct ers_error *err)
{
	if (!c)
		return 0;
	if (c->started)
		pthread_join(c->thread, NULL);
	if (c->in_fd >= 0 && !c->decrypt)
		close(c->in_fd);
	if (c->out_fd >= 0 && c->decrypt)
		close(c->out_fd);
	home_remove(c->home);
	/* The caller removes or renames its unfinished file itself (after
	 * this, a kill leaves that file, never under the backup's name). */
	guard_end(c);
	free(c->leftover);
	explicit_bzero(c->passphrase, strlen(c->passphrase));
	free(c->passphrase);
	int rc = 0;
	if (c->gerr) {
		gpg_err_code_t code = gpgme_err_code(c->gerr);
		if (code == GPG_ERR_EPIPE || code == GPG_ERR_ECONNRESET)
			/* Our reader or writer stopped first: its error says why. */
			ers_error_set(err, ERS_E_IO, "%s: the %s stopped early", file, c->decrypt ? "reading" : "writing");
		else if (c->decrypt && (code == GPG_ERR_BAD_PASSPHRASE || code == GPG_ERR_DECRYPT_FAILED ||
				   code == GPG_ERR_NO_DATA || code == GPG_ERR_BAD_DATA || code == GPG_ERR_INV_PACKET ||
				   code == GPG_ERR_CHECKSUM || code == GPG_ERR_INV_KEYLEN || code == GPG_ERR_CANCELED))
			ers_error_set(err, ERS_E_INVALID,
				      "cannot decrypt %s: wrong passphrase, or the file is damaged, cut short or not an ERS backup (gpg: %s)",
				      file, gpgme_strerror(c->gerr));
		else
			ers_error_set(err, c->decrypt ? ERS_E_INVALID : ERS_E_IO, "%s %s: gpg: %s",
				      c->decrypt ? "cannot decrypt" : "cannot encrypt", file, gpgme_strerror(c->gerr));
		rc = -1;
	} else if (c->decrypt && c->nomdc) {
		ers_error_set(err, ERS_E_INVALID, "%s is not integrity-protected (no MDC): not an ERS backup, refused", file);
		rc = -1;
	}
	free(c);
	return rc;
}
