/* A FastCGI worker's IMAP connections kept between requests (issue 22):
 * the login to Dovecot is paid once per session and mailbox, not once per
 * page.  A CGI keeps nothing (web_imap_keep is never turned on there).
 *
 * An entry is one webmail session's connection to one mailbox (a session
 * opens another user's mailbox only for an admin's Clear contents): its
 * key is the SHA-256 of the session's cookie token and the address, so a
 * connection is only ever handed back to the session -- and the mailbox --
 * it was opened for.  A page borrows it (web_imap_open) and gives it back
 * (web_imap_release); nothing of it outlives the request but the
 * connection itself.  It is closed -- logged out of Dovecot -- when
 *   - its session ended: logout, a password change, a disable, expiry
 *     (web_imap_sweep asks the database every second and at each request;
 *     the request that logs out or changes the password closes its own);
 *   - it was idle for WEB_IMAP_IDLE seconds;
 *   - the table is full (the least recently used goes).
 * A connection Dovecot closed meanwhile is logged in anew by ers_imap at
 * its next command; a borrowed one SELECTs its folder afresh. */
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "web.h"

#define WEB_IMAP_KEPT 32
#define WEB_IMAP_IDLE 120

struct kept {
	unsigned char key[SHA256_DIGEST_LENGTH];
	char token[ERS_SESSION_TOKEN_SIZE]; /* to ask whether the session stands; wiped on close */
	struct ers_imap *im;
	time_t used;
	bool lent;
	bool doomed; /* its session ended while a page had it: closed when given back */
};

static struct kept kept[WEB_IMAP_KEPT];
static bool keeping;

void web_imap_keep(bool on)
{
	keeping = on;
}

static void key_of(const char *token, const char *address, unsigned char out[SHA256_DIGEST_LENGTH])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, token, strlen(token) + 1);
	EVP_DigestUpdate(c, address, strlen(address));
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static void drop(struct kept *k)
{
	ers_imap_close(k->im);
	ers_wipe(k, sizeof *k);
}

struct ers_imap *web_imap_kept(struct web_req *r, const char *address)
{
	if (!keeping || !r->have_session)
		return NULL;
	unsigned char key[SHA256_DIGEST_LENGTH];
	key_of(r->session.token, address, key);
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
		if (kept[i].im && !kept[i].lent && !memcmp(kept[i].key, key, sizeof key)) {
			kept[i].lent = true;
			ers_imap_unselect(kept[i].im);
			return kept[i].im;
		}
	return NULL;
}

void web_imap_adopt(struct web_req *r, const char *address, struct ers_imap *im)
{
	if (!keeping || !r->have_session || !im)
		return;
	struct kept *slot = NULL;
	for (size_t i = 0; i < WEB_IMAP_KEPT && !slot; i++)
		if (!kept[i].im)
			slot = &kept[i];
	if (!slot) { /* full: the least recently used one not lent goes */
		for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
			if (!kept[i].lent && (!slot || kept[i].used < slot->used))
				slot = &kept[i];
		if (!slot)
			return; /* all lent: this one is closed after the request */
		drop(slot);
	}
	key_of(r->session.token, address, slot->key);
	memcpy(slot->token, r->session.token, sizeof slot->token);
	slot->im = im;
	slot->used = time(NULL);
	slot->lent = true;
}

void web_imap_release(struct web_req *r, struct ers_imap *im)
{
	(void)r;
	if (!im)
		return;
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
		if (kept[i].im == im) {
			kept[i].lent = false;
			kept[i].used = time(NULL);
			if (kept[i].doomed)
				drop(&kept[i]);
			return;
		}
	ers_imap_close(im);
}

void web_imap_release_all(struct web_req *r)
{
	(void)r;
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
		if (kept[i].im && kept[i].lent)
			web_imap_release(r, kept[i].im);
}

void web_imap_forget_session(const char *token)
{
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
		if (kept[i].im && !strcmp(kept[i].token, token)) {
			if (kept[i].lent)
				kept[i].doomed = true;
			else
				drop(&kept[i]);
		}
}

size_t web_imap_sweep(struct ers_ctx *ctx)
{
	time_t now = time(NULL);
	size_t left = 0;
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++) {
		struct kept *k = &kept[i];
		if (!k->im || k->lent)
			continue;
		struct ers_error err;
		int alive = now - k->used > WEB_IMAP_IDLE ? 0 : ctx ? ers_session_alive(ctx, k->token, &err) : 1;
		if (alive != 1) /* ended, idle, or the database cannot say: close rather than keep */
			drop(k);
		else
			left++;
	}
	return left;
}

void web_imap_close_all(void)
{
	for (size_t i = 0; i < WEB_IMAP_KEPT; i++)
		if (kept[i].im)
			drop(&kept[i]);
}
