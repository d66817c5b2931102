/* OpenPGP for archives through gpgme, each use in a GnuPG home of its own
 * made for the call and removed after it, its gpg-agent ended: the keys
 * live sealed in the database, never in a keyring on disk. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	const char *tmp = getenv("TMPDIR");
	/* gpg-agent's socket path must stay short. */
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(g->home, sizeof g->home, "%s/ers-gpg.XXXXXX", tmp);
	if (!mkdtemp(g->home)) {
		ers_error_set(err, ERS_E_IO, "OpenPGP: cannot make a GnuPG home in %s: %s", tmp, strerror(errno));
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
	kill_agent(g->home);
	nftw(g->home, remove_one, 16, FTW_DEPTH | FTW_PHYS);
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

static ssize_t cb_read(void *h, void *buf, size_t n)
{
	struct cb_pair *p = h;
	return p->rd(p->rd_arg, buf, n);
}

static ssize_t cb_write(void *h, const void *buf, size_t n)
{
	struct cb_pair *p = h;
	return p->wr(p->wr_arg, buf, n);
}

static int data_pair(struct cb_pair *p, gpgme_data_t *in, gpgme_data_t *out, struct gpgme_data_cbs *rcbs,
		     struct gpgme_data_cbs *wcbs, struct ers_error *err)
{
	memset(rcbs, 0, sizeof *rcbs);
	memset(wcbs, 0, sizeof *wcbs);
	rcbs->read = cb_read;
	wcbs->write = cb_write;
	gpgme_error_t e;
	*in = *out = NULL;
	if (p->rd && (e = gpgme_data_new_from_cbs(in, rcbs, p)))
		return gpg_fail(err, "stream", e);
	if ((e = gpgme_data_new_from_cbs(out, wcbs, p))) {
		gpgme_data_release(*in);
		return gpg_fail(err, "stream", e);
	}
	/* gpgme moves 4 KB at a time by default: a system call and a poll
	 * each, which halved the throughput of a large archive. */
	if (*in)
		gpgme_data_set_flag(*in, "io-buffer-size", "262144");
	gpgme_data_set_flag(*out, "io-buffer-size", "262144");
	return 0;
}

int ers_gpg_encrypt(struct ers_gpg *g, const char *fpr, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr,
		    void *wr_arg, struct ers_error *err)
{
	gpgme_key_t key = NULL;
	gpgme_error_t e = gpgme_get_key(g->ctx, fpr, &key, 0);
	if (e)
		return gpg_fail(err, "archive key", e);
	struct cb_pair p = { rd, rd_arg, wr, wr_arg };
	struct gpgme_data_cbs rc, wc;
	gpgme_data_t in, out;
	if (data_pair(&p, &in, &out, &rc, &wc, err) < 0) {
		gpgme_key_unref(key);
		return -1;
	}
	gpgme_key_t recp[] = { key, NULL };
	gpgme_set_armor(g->ctx, 0);
	e = gpgme_op_encrypt(g->ctx, recp, GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS, in, out);
	gpgme_data_release(in);
	gpgme_data_release(out);
	gpgme_key_unref(key);
	if (e)
		return gpg_fail(err, "encryption", e);
	return 0;
}

int ers_gpg_decrypt(struct ers_gpg *g, ers_gpg_read_fn *rd, void *rd_arg, ers_gpg_write_fn *wr, void *wr_arg,
		    struct ers_error *err)
{
	struct cb_pair p = { rd, rd_arg, wr, wr_arg };
	struct gpgme_data_cbs rc, wc;
	gpgme_data_t in, out;
	if (data_pair(&p, &in, &out, &rc, &wc, err) < 0)
		return -1;
	gpgme_error_t e = gpgme_op_decrypt(g->ctx, in, out);
	gpgme_data_release(in);
	gpgme_data_release(out);
	if (e)
		return gpg_fail(err, "decryption", e);
	return 0;
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
