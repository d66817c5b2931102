/* OpenPGP for archives through gpgme, each use in a GnuPG home of its own
 * made for the call and removed after it, its gpg-agent ended: the keys
 * live sealed in the database, never in a keyring on disk. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <gpgme.h>
#include "archive/internal.h"

extern char **environ;

struct ers_gpg {
	char home[256];
	gpgme_ctx_t ctx;
	const char *passphrase; /* for the loopback pinentry, while set */
};

static int gpg_fail(struct ers_error *err, const char *what, gpgme_error_t e)
{
	ers_error_set(err, ERS_E_INTERNAL, "OpenPGP %s: %s (%s)", what, gpgme_strerror(e), gpgme_strsource(e));
	return -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

/* Ends the home's gpg-agent (gpgconf --kill all), quietly. */
static void kill_agent(const char *home)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = { "gpgconf", "--homedir", (char *)home, "--kill", "all", NULL };
	pid_t pid;
	if (posix_spawnp(&pid, "gpgconf", &fa, NULL, argv, environ) == 0) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	posix_spawn_file_actions_destroy(&fa);
}

static gpgme_error_t on_passphrase(void *hook, const char *uid_hint, const char *info, int prev_bad, int fd)
{
	(void)uid_hint; (void)info;
	struct ers_gpg *g = hook;
	if (prev_bad || !g->passphrase)
		return gpgme_error(GPG_ERR_CANCELED);
	size_t n = strlen(g->passphrase);
	if (gpgme_io_writen(fd, g->passphrase, n) < 0 || gpgme_io_writen(fd, "\n", 1) < 0)
		return gpgme_error(GPG_ERR_CANCELED);
	return 0;
}

/* A GnuPG home of our own, 0700, in home[256]. */
static int make_home(char *home, size_t size, struct ers_error *err)
{
	const char *tmp = getenv("TMPDIR");
	/* gpg-agent's socket path must stay short. */
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(home, size, "%s/ers-gpg.XXXXXX", tmp);
	if (!mkdtemp(home)) {
		ers_error_set(err, ERS_E_IO, "OpenPGP: cannot make a GnuPG home in %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* The home removed, its agent ended first -- if one was started: asking
 * gpgconf costs more than the encryption of a small archive. */
static void remove_home(const char *home)
{
	char sock[300];
	struct stat st;
	snprintf(sock, sizeof sock, "%s/S.gpg-agent", home);
	if (lstat(sock, &st) == 0)
		kill_agent(home);
	nftw(home, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int ers_gpg_open(struct ers_gpg **g_r, struct ers_error *err)
{
	*g_r = NULL;
	static bool inited;
	if (!inited) {
		gpgme_check_version(NULL);
		inited = true;
	}
	gpgme_error_t e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	if (e)
		return gpg_fail(err, "engine (is gpg installed?)", e);
	struct ers_gpg *g = ers_xcalloc(1, sizeof *g);
	if (make_home(g->home, sizeof g->home, err) < 0) {
		free(g);
		return -1;
	}
	if ((e = gpgme_new(&g->ctx)) || (e = gpgme_ctx_set_engine_info(g->ctx, GPGME_PROTOCOL_OpenPGP, NULL, g->home)) ||
	    (e = gpgme_set_pinentry_mode(g->ctx, GPGME_PINENTRY_MODE_LOOPBACK))) {
		gpg_fail(err, "context", e);
		ers_gpg_close(g);
		return -1;
	}
	gpgme_set_passphrase_cb(g->ctx, on_passphrase, g);
	gpgme_set_offline(g->ctx, 1);
	*g_r = g;
	return 0;
}

void ers_gpg_close(struct ers_gpg *g)
{
	if (!g)
		return;
	if (g->ctx)
		gpgme_release(g->ctx);
	remove_home(g->home);
	free(g);
}

/* The whole of a memory data object, appended to `out`. */
static void take_data(gpgme_data_t d, struct ers_buf *out)
{
	size_t n = 0;
	char *p = gpgme_data_release_and_get_mem(d, &n);
	if (p) {
		ers_buf_add(out, p, n);
		ers_wipe(p, n);
		gpgme_free(p);
	}
}

static int export_key(struct ers_gpg *g, const char *fpr, bool secret, struct ers_buf *out, struct ers_error *err)
{
	gpgme_data_t d;
	gpgme_error_t e = gpgme_data_new(&d);
	if (e)
		return gpg_fail(err, "export", e);
	gpgme_set_armor(g->ctx, 1);
	e = gpgme_op_export(g->ctx, fpr, secret ? GPGME_EXPORT_MODE_SECRET : 0, d);
	gpgme_set_armor(g->ctx, 0);
	if (e) {
		gpgme_data_release(d);
		return gpg_fail(err, "export", e);
	}
	take_data(d, out);
	if (!out->len) {
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP export of %s gave nothing", fpr);
		return -1;
	}
	return 0;
}

int ers_gpg_generate(struct ers_gpg *g, const char *uid, struct ers_buf *fpr, struct ers_buf *pub,
		     struct ers_buf *secret, struct ers_error *err)
{
	gpgme_error_t e = gpgme_op_createkey(g->ctx, uid, "future-default", 0, 0, NULL,
					     GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE | GPGME_CREATE_FORCE);
	if (e)
		return gpg_fail(err, "key generation", e);
	gpgme_genkey_result_t r = gpgme_op_genkey_result(g->ctx);
	if (!r || !r->fpr) {
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP key generation gave no fingerprint");
		return -1;
	}
	ers_buf_adds(fpr, r->fpr);
	if (export_key(g, fpr->data, false, pub, err) < 0 || export_key(g, fpr->data, true, secret, err) < 0)
		return -1;
	return 0;
}

int ers_gpg_import(struct ers_gpg *g, const char *armored, struct ers_error *err)
{
	gpgme_data_t d;
	gpgme_error_t e = gpgme_data_new_from_mem(&d, armored, strlen(armored), 0);
	if (e)
		return gpg_fail(err, "import", e);
	e = gpgme_op_import(g->ctx, d);
	gpgme_data_release(d);
	if (e)
		return gpg_fail(err, "import", e);
	gpgme_import_result_t r = gpgme_op_import_result(g->ctx);
	if (!r || r->considered == 0 || r->not_imported > 0) {
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP import: the stored key was not taken");
		return -1;
	}
	return 0;
}

struct cb_pair {
	ers_gpg_read_fn *rd;
	void *rd_arg;
	ers_gpg_write_fn *wr;
	void *wr_arg;
};

static ssize_t cb_write(void *h, const void *buf, size_t n)
{
	struct cb_pair *p = h;
	return p->wr(p->wr_arg, buf, n);
}

/* The bulk -- an archive's plaintext in, its ciphertext out, and back for
 * a download -- goes through gpg itself, in the same home, with sockets of
 * our own: gpgme 1.18 formats a hex dump of every byte it moves for a
 * trace it then drops (its debug.h: "#define _gpgme_debug_trace() 1"),
 * which took more CPU than the encryption (bench section 8).  gpg runs
 * with execve and a fixed argv: nothing of the data reaches a shell.
 *
 * gpg reads and writes 8 KB at a time.  Through pipes, each of those woke
 * us (100,000 polls a GB); through Unix sockets, a thread of ours blocks
 * in send until gpg has drained most of a buffer of up to 4 MB (as
 * net.core.wmem_max allows), and our recv waits for 256 KB (SO_RCVLOWAT),
 * so that we wake a few thousand times a GB. */
enum { PUMP_CHUNK = 256 * 1024, PUMP_BUFFER = 4 << 20 };

struct feeder {
	int fd;                  /* gpg's standard input, our end */
	ers_gpg_read_fn *rd;
	void *rd_arg;
	bool failed;             /* rd failed: the reason is where the reader keeps it */
};

/* The feeding thread: the plaintext pulled from rd and sent to gpg until
 * its end, rd's failure, or gpg's going away (EPIPE). */
static void *feed(void *arg)
{
	struct feeder *f = arg;
	char *buf = ers_xmalloc(PUMP_CHUNK);
	for (;;) {
		ssize_t r = f->rd(f->rd_arg, buf, PUMP_CHUNK);
		if (r <= 0) {
			f->failed = r < 0;
			break;
		}
		size_t off = 0;
		while (off < (size_t)r) {
			ssize_t w = send(f->fd, buf + off, (size_t)r - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off < (size_t)r)
			break; /* gpg stopped reading: its exit says why */
	}
	ers_wipe(buf, PUMP_CHUNK);
	free(buf);
	close(f->fd); /* gpg sees the end */
	f->fd = -1;
	return NULL;
}

static int pump(const char *home, const char *what, char *const *args, ers_gpg_read_fn *rd, void *rd_arg,
		ers_gpg_write_fn *wr, void *wr_arg, struct ers_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int errfd = memfd_create("gpg-stderr", MFD_CLOEXEC);
	if (errfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) < 0) {
		ers_error_set(err, ERS_E_IO, "OpenPGP %s: no socket: %s", what, strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0) close(in[i]);
			if (out[i] >= 0) close(out[i]);
		}
		if (errfd >= 0)
			close(errfd);
		return -1;
	}
	int size = PUMP_BUFFER, lowat = PUMP_CHUNK;
	setsockopt(in[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	setsockopt(out[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size); /* gpg's end */
	setsockopt(out[1], SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
	char *argv[24];
	size_t n = 0;
	argv[n++] = "gpg";
	argv[n++] = "--homedir";
	argv[n++] = (char *)home;
	argv[n++] = "--batch";
	argv[n++] = "--no-tty";
	argv[n++] = "--quiet";
	argv[n++] = "--pinentry-mode";
	argv[n++] = "loopback";
	for (size_t i = 0; args[i] && n < 22; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[0], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	pid_t pid;
	int sp = posix_spawn(&pid, ers_gpg_program(), &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[0]);
	if (sp != 0) {
		close(in[1]);
		close(out[1]);
		close(errfd);
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP %s: cannot run %s: %s", what, ers_gpg_program(), strerror(sp));
		return -1;
	}
	struct feeder f = { .fd = in[1], .rd = rd, .rd_arg = rd_arg };
	pthread_t feeder;
	int te = pthread_create(&feeder, NULL, feed, &f);
	bool failed = te != 0;
	if (te) {
		close(in[1]);
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP %s: cannot start a thread: %s", what, strerror(te));
	}
	char *obuf = ers_xmalloc(PUMP_CHUNK);
	while (!failed) {
		ssize_t r = recv(out[1], obuf, PUMP_CHUNK, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (wr(wr_arg, obuf, (size_t)r) != r)
			failed = true;
	}
	if (failed)
		kill(pid, SIGTERM); /* the feeder's send then fails too */
	close(out[1]);
	if (te == 0) {
		pthread_join(feeder, NULL);
		failed = failed || f.failed;
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ers_wipe(obuf, PUMP_CHUNK);
	free(obuf);
	int rc = 0;
	if (failed) {
		rc = -1;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char msg[2000];
		ssize_t k = pread(errfd, msg, sizeof msg - 1, 0);
		size_t len = k > 0 ? (size_t)k : 0;
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
			len--;
		msg[len] = '\0';
		ers_error_set(err, ERS_E_INTERNAL, "OpenPGP %s: gpg failed (%s %d)%s%s", what,
			      WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			      len ? ": " : "", msg);
		rc = -1;
	}
	close(errfd);
	return rc;
}

int ers_gpg_encrypt_to(const char *public_key, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr,
		       void *wr_arg, struct ers_error *err)
{
	char home[256], keyfile[300];
	if (make_home(home, sizeof home, err) < 0)
		return -1;
	snprintf(keyfile, sizeof keyfile, "%s/recipient.asc", home);
	int rc = -1;
	FILE *f = fopen(keyfile, "wx");
	if (!f || fputs(public_key, f) < 0 || fclose(f) != 0) {
		ers_error_set(err, ERS_E_IO, "OpenPGP: cannot write the archive key into %s: %s", home, strerror(errno));
		if (f)
			fclose(f);
	} else {
		char *args[] = { "--compress-algo", "none", "--encrypt", "--recipient-file", keyfile, NULL };
		rc = pump(home, "encryption", args, rd, rd_arg, wr, wr_arg, err);
	}
	remove_home(home);
	return rc;
}

int ers_gpg_decrypt(struct ers_gpg *g, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr, void *wr_arg,
		    struct ers_error *err)
{
	char *args[] = { "--decrypt", NULL };
	return pump(g->home, "decryption", args, rd, rd_arg, wr, wr_arg, err);
}

int ers_gpg_encrypt_symmetric(struct ers_gpg *g, const char *passphrase, const void *plain, size_t len,
			      ers_gpg_write_fn *wr, void *wr_arg, struct ers_error *err)
{
	gpgme_data_t in, out;
	gpgme_error_t e = gpgme_data_new_from_mem(&in, plain, len, 0);
	if (e)
		return gpg_fail(err, "stream", e);
	struct cb_pair p = { NULL, NULL, wr, wr_arg };
	struct gpgme_data_cbs wc = { 0 };
	wc.write = cb_write;
	if ((e = gpgme_data_new_from_cbs(&out, &wc, &p))) {
		gpgme_data_release(in);
		return gpg_fail(err, "stream", e);
	}
	g->passphrase = passphrase;
	gpgme_set_armor(g->ctx, 1);
	e = gpgme_op_encrypt(g->ctx, NULL, GPGME_ENCRYPT_SYMMETRIC | GPGME_ENCRYPT_NO_COMPRESS, in, out);
	gpgme_set_armor(g->ctx, 0);
	g->passphrase = NULL;
	gpgme_data_release(in);
	gpgme_data_release(out);
	if (e)
		return gpg_fail(err, "passphrase encryption", e);
	return 0;
}
