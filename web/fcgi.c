/* ers-webmail-fcgi: the webmail as a FastCGI server (issue 22).
 *
 * The CGI (ers-webmail.cgi) is a new process per request: it loads the
 * module's ~60 shared libraries, reads ers.yaml, connects to PostgreSQL and
 * logs in to Dovecot every time.  This server does each once: its workers
 * keep the configuration, a database connection and -- per webmail session
 * and mailbox -- the IMAP connection (web/imapkeep.c) between requests, and
 * answer every request with the same code as the CGI (web_handle).
 *
 *   ers-webmail-fcgi --socket PATH [--socket-mode MODE] [--workers N] [--pid-file FILE]
 *
 * It listens on the unix socket PATH (or, without --socket, on the socket
 * it was given as standard input: systemd's or the web server's spawning).
 * ERS_CONFIG names ers.yaml as for the CGI.  SIGTERM ends it: the workers
 * log their kept IMAP connections out and exit. */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "web.h"

#define SWEEP_SECONDS 1

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static FCGX_Request *current;

static ssize_t read_in(void *buf, size_t n)
{
	int got = FCGX_GetStr(buf, n > 1 << 30 ? 1 << 30 : (int)n, current->in);
	return got < 0 ? -1 : got;
}

static ssize_t write_out(void *cookie, const char *buf, size_t n)
{
	FCGX_Request *req = cookie;
	return FCGX_PutStr(buf, n > 1 << 30 ? 1 << 30 : (int)n, req->out) < 0 ? -1 : (ssize_t)n;
}

/* The worker: one request at a time; between them, at least every
 * SWEEP_SECONDS, the kept IMAP connections of ended sessions are closed. */
static int worker(int sock, const struct ers_config *cfg)
{
	FCGX_Request req;
	if (FCGX_InitRequest(&req, sock, 0) != 0)
		return 1;
	struct ers_ctx *ctx = NULL;
	time_t swept = time(NULL);
	web_imap_keep(true);
	while (!stopping) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int ready = poll(&p, 1, SWEEP_SECONDS * 1000);
		if (ready < 0 && errno != EINTR)
			break;
		if (ready > 0 && !stopping) {
			if (FCGX_Accept_r(&req) < 0) {
				if (stopping || errno == EINTR)
					break;
				continue;
			}
			current = &req;
			FILE *out = fopencookie(&req, "w", (cookie_io_functions_t){ .write = write_out });
			if (out) {
				setvbuf(out, NULL, _IOFBF, 1 << 16);
				web_io_set(req.envp, out, read_in);
				web_handle(cfg, &ctx);
				fclose(out);
				web_io_set(NULL, NULL, NULL);
			}
			FCGX_Finish_r(&req);
			current = NULL;
		}
		if (time(NULL) - swept >= SWEEP_SECONDS) {
			struct ers_error err;
			if (!ctx && ers_ctx_open(cfg, 0, &ctx, &err) < 0)
				ctx = NULL; /* the sweep then closes rather than keeps */
			web_imap_sweep(ctx);
			swept = time(NULL);
		}
	}
	web_imap_close_all(); /* everything kept, logged out */
	ers_ctx_free(ctx);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ers-webmail-fcgi --socket PATH [--socket-mode MODE] [--workers N] [--pid-file FILE]\n"
			"  (without --socket: the listening socket is standard input)\n");
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *pid_file = NULL;
	long workers = 1;
	mode_t socket_mode = 0660;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(argv[i], "--socket") && v) {
			socket_path = v;
		} else if (!strcmp(argv[i], "--pid-file") && v) {
			pid_file = v;
		} else if (!strcmp(argv[i], "--workers") && v) {
			workers = strtol(v, &end, 10);
			if (*end || workers < 1 || workers > 64) {
				fprintf(stderr, "ers-webmail-fcgi: --workers must be 1..64, got %s\n", v);
				return 64;
			}
		} else if (!strcmp(argv[i], "--socket-mode") && v) {
			long m = strtol(v, &end, 8);
			if (*end || m < 0 || m > 0777) {
				fprintf(stderr, "ers-webmail-fcgi: --socket-mode must be octal like 0660, got %s\n", v);
				return 64;
			}
			socket_mode = (mode_t)m;
		} else {
			usage();
			return 64;
		}
		i++;
	}
	struct ers_config *cfg = NULL;
	struct ers_error err;
	if (ers_config_load(NULL, &cfg, &err) < 0) {
		fprintf(stderr, "ers-webmail-fcgi: %s\n", err.message);
		return 78;
	}
	ers_imap_global_init();
	if (FCGX_Init() != 0) {
		fprintf(stderr, "ers-webmail-fcgi: FastCGI could not start\n");
		return 70;
	}
	int sock = 0;
	if (socket_path) {
		unlink(socket_path);
		sock = FCGX_OpenSocket(socket_path, 128);
		if (sock < 0 || chmod(socket_path, socket_mode) < 0) {
			fprintf(stderr, "ers-webmail-fcgi: cannot listen on %s: %s\n", socket_path, strerror(errno));
			return 71;
		}
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pid_file) {
		FILE *f = fopen(pid_file, "w");
		if (!f) {
			fprintf(stderr, "ers-webmail-fcgi: cannot write %s: %s\n", pid_file, strerror(errno));
			return 73;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	int rc = 0;
	if (workers == 1) {
		rc = worker(sock, cfg);
	} else {
		/* Each worker its own process: its own database connection, its
		 * own sessions' IMAP connections, nothing shared between them. */
		pid_t *pids = calloc((size_t)workers, sizeof *pids);
		for (long i = 0; i < workers; i++) {
			pids[i] = fork();
			if (pids[i] == 0)
				_exit(worker(sock, cfg));
		}
		while (!stopping)
			pause();
		for (long i = 0; i < workers; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGTERM);
		for (long i = 0; i < workers; i++)
			if (pids[i] > 0)
				waitpid(pids[i], NULL, 0);
		free(pids);
	}
	if (socket_path)
		unlink(socket_path);
	if (pid_file)
		unlink(pid_file);
	ers_config_free(cfg);
	return rc;
}
