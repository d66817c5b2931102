/* The webmail's sign-in as the CGI will call it, for test/integration/
 * session.sh and mfa.sh: each command one call of libers' public API
 * (session.h, mfa.h) against $ERS_CONFIG's database.  Built by those tests
 * into their scratch directory (as test/bench builds its helpers); not
 * installed, and not an ersctl command -- only the webmail logs users in.
 *
 *   webauth login EMAIL PASSWORD-FILE IP [USER-AGENT]  -> "session TOKEN" | "pending TOKEN"
 *   webauth code TOKEN CODE IP                          -> "session TOKEN"
 *   webauth check TOKEN IP                              -> "user ADDRESS ROLE", "expires TIME"
 *   webauth logout TOKEN
 *   webauth csrf TOKEN IP [GIVEN]                       -> the CSRF token, or check GIVEN (exit 0/1)
 *   webauth cookie TOKEN IP | cookie-clear | cookie-token HEADER
 *   webauth setup TOKEN IP [SVG-FILE]                   -> "secret S", "uri U", "svg-bytes N"; the QR code to SVG-FILE
 *   webauth enable TOKEN IP CODE
 *   webauth passwd TOKEN IP CURRENT-FILE NEW-FILE CONFIRM-FILE
 *   webauth race CODE IP TOKEN...                       -> ers_login_mfa for every TOKEN at once,
 *                                                          each in its own process: "succeeded K of N"
 *
 * Errors: "webauth: CODE-NAME: message" on stderr, exit as ersctl's
 * (77 permission, 69 unavailable, 65 invalid, 73 conflict, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ers/ers.h>

static struct ers_config *cfg;
static struct ers_ctx *ctx;
static struct ers_error err;

static int fail(void)
{
	fprintf(stderr, "webauth: %s: %s\n", ers_error_code_name(err.code), err.message);
	switch (err.code) {
	case ERS_E_PERMISSION: return 77;
	case ERS_E_UNAVAILABLE: return 69;
	case ERS_E_INVALID: return 65;
	case ERS_E_NOTFOUND: return 66;
	case ERS_E_CONFLICT: return 73;
	case ERS_E_CONFIG: return 78;
	default: return 70;
	}
}

static void open_db(void)
{
	if (ers_config_load(NULL, &cfg, &err) < 0 || ers_ctx_open(cfg, 0, &ctx, &err) < 0)
		exit(fail());
}

/* A password file's first line. */
static char *read_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0)
		return strdup("");
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static int print_session(const struct ers_session *s)
{
	printf("%s %s\n", s->mfa_pending ? "pending" : "session", s->token);
	printf("user %s %s\n", s->actor.name, ers_role_name(s->actor.role));
	printf("expires %s\n", s->expires_at);
	return 0;
}

static int race(int n, char **tokens, const char *code, const char *ip)
{
	int ready[2], go[2];
	if (pipe(ready) < 0 || pipe(go) < 0)
		return 2;
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(ready[0]);
			close(go[1]);
			open_db(); /* connected before the start, so that the calls overlap */
			char c = 'r', g;
			if (write(ready[1], &c, 1) != 1 || read(go[0], &g, 1) != 0)
				_exit(2);
			struct ers_session s;
			if (ers_login_mfa(ctx, tokens[i], code, ip, &s, &err) < 0)
				_exit(fail());
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	char c;
	for (int i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			return 2;
	close(go[1]); /* everyone goes */
	int succeeded = 0, other = 0;
	for (int i = 0; i < n; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			succeeded++;
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 77)
			other++;
	}
	free(pids);
	printf("succeeded %d of %d\n", succeeded, n);
	if (other)
		printf("unexpected failures %d\n", other);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: webauth COMMAND ARGS... (see the comment at the top of webauth.c)\n");
		return 64;
	}
	const char *cmd = argv[1];
	struct ers_session s;
	struct ers_buf b = ERS_BUF_INIT;
	if (!strcmp(cmd, "cookie-clear")) {
		ers_session_cookie_clear(&b);
		puts(b.data);
		return 0;
	}
	if (!strcmp(cmd, "cookie-token") && argc == 3) {
		char token[ERS_SESSION_TOKEN_SIZE];
		ers_session_cookie_token(argv[2], token);
		printf("[%s]\n", token);
		return 0;
	}
	if (!strcmp(cmd, "race") && argc >= 5) {
		return race(argc - 4, argv + 4, argv[2], argv[3]);
	}
	open_db();
	if (!strcmp(cmd, "login") && (argc == 5 || argc == 6)) {
		char *pw = read_line(argv[3]);
		int rc = ers_login_password(ctx, argv[2], pw, argv[4], argc == 6 ? argv[5] : NULL, &s, &err);
		free(pw);
		return rc < 0 ? fail() : print_session(&s);
	}
	if (!strcmp(cmd, "code") && argc == 5)
		return ers_login_mfa(ctx, argv[2], argv[3], argv[4], &s, &err) < 0 ? fail() : print_session(&s);
	if (!strcmp(cmd, "logout") && argc == 3)
		return ers_session_logout(ctx, argv[2], &err) < 0 ? fail() : 0;
	if (argc < 4)
		return 64;
	if (ers_session_check(ctx, argv[2], argv[3], &s, &err) < 0)
		return fail();
	if (!strcmp(cmd, "check") && argc == 4) {
		printf("user %s %s\n", s.actor.name, ers_role_name(s.actor.role));
		printf("created %s\nlast_seen %s\nexpires %s\n", s.created_at, s.last_seen, s.expires_at);
		return 0;
	}
	if (!strcmp(cmd, "csrf") && (argc == 4 || argc == 5)) {
		char csrf[ERS_CSRF_TOKEN_SIZE];
		ers_session_csrf_token(&s, csrf);
		if (argc == 4) {
			puts(csrf);
			return 0;
		}
		return ers_session_csrf_check(&s, argv[4]) ? 0 : 1;
	}
	if (!strcmp(cmd, "cookie") && argc == 4) {
		ers_session_cookie(&s, &b);
		puts(b.data);
		return 0;
	}
	if (!strcmp(cmd, "setup") && (argc == 4 || argc == 5)) {
		struct ers_mfa_setup *m;
		if (ers_mfa_setup_begin(ctx, &s.actor, s.actor.name, &m, &err) < 0)
			return fail();
		printf("secret %s\nuri %s\nsvg-bytes %zu\n", m->secret, m->uri, strlen(m->svg));
		FILE *svg = argc == 5 ? fopen(argv[4], "w") : NULL;
		if (svg) {
			fputs(m->svg, svg);
			fclose(svg);
		}
		ers_mfa_setup_free(m);
		return 0;
	}
	if (!strcmp(cmd, "enable") && argc == 5)
		return ers_mfa_setup_verify(ctx, &s.actor, s.actor.name, argv[4], &err) < 0 ? fail() : 0;
	if (!strcmp(cmd, "passwd") && argc == 7) {
		char *cur = read_line(argv[4]), *new = read_line(argv[5]), *confirm = read_line(argv[6]);
		int rc = ers_session_passwd(ctx, &s, cur, new, confirm, argv[3], &err);
		free(cur);
		free(new);
		free(confirm);
		return rc < 0 ? fail() : 0;
	}
	fprintf(stderr, "webauth: unknown command or wrong arguments: %s\n", cmd);
	return 64;
}
