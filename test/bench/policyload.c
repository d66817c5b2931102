/* Load for the policy service (ersctl policyd): CONNS threads, each with one
 * persistent connection, send what Postfix sends for a message from an
 * authenticated mailbox to one recipient -- an RCPT request, then a DATA
 * request with recipient_count=1 -- as fast as the answers come, for
 * SECONDS seconds.  The pairs (sender, recipient) come from PAIRS, one
 * "sender recipient" per line, taken in turn from a random start.
 *
 *   policyload SOCKET CONNS SECONDS PAIRS
 *
 * prints "decisions N seconds S per_second R dunno D other O"; an answer
 * other than DUNNO is counted (and the first one shown on stderr). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct pair {
	char sender[128], recipient[128];
};

static struct pair *pairs;
static size_t npairs;
static const char *sock_path;
static double stop_at;
static atomic_long decisions, dunno, other;
static atomic_int shown;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends one request and reads its answer ("action=...\n\n"). */
static int ask(int fd, const char *req, size_t len, char *answer, size_t cap)
{
	if (write(fd, req, len) != (ssize_t)len)
		return -1;
	size_t got = 0;
	while (got < 2 || answer[got - 1] != '\n' || answer[got - 2] != '\n') {
		ssize_t r = read(fd, answer + got, cap - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		if (got == cap - 1)
			return -1;
	}
	answer[got] = '\0';
	return 0;
}

static void tally(const char *answer)
{
	atomic_fetch_add(&decisions, 1);
	if (!strcmp(answer, "action=DUNNO\n\n")) {
		atomic_fetch_add(&dunno, 1);
		return;
	}
	atomic_fetch_add(&other, 1);
	if (atomic_exchange(&shown, 1) == 0)
		fprintf(stderr, "policyload: an answer other than DUNNO: %s", answer);
}

static void *worker(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	snprintf(un.sun_path, sizeof un.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
		perror("policyload: connect");
		exit(1);
	}
	char req[1024], answer[1024];
	while (now() < stop_at) {
		const struct pair *p = &pairs[i++ % npairs];
		int n = snprintf(req, sizeof req,
				 "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
				 "client_address=127.0.0.1\nclient_name=localhost\nhelo_name=client.example\n"
				 "sender=%s\nrecipient=%s\nrecipient_count=0\nsasl_method=PLAIN\nsasl_username=%s\n"
				 "instance=%zx.1\n\n", p->sender, p->recipient, p->sender, i);
		if (ask(fd, req, (size_t)n, answer, sizeof answer) < 0)
			break;
		tally(answer);
		n = snprintf(req, sizeof req,
			     "request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\n"
			     "client_address=127.0.0.1\nclient_name=localhost\nhelo_name=client.example\n"
			     "sender=%s\nrecipient=\nrecipient_count=1\nsasl_method=PLAIN\nsasl_username=%s\n"
			     "instance=%zx.1\n\n", p->sender, p->sender, i);
		if (ask(fd, req, (size_t)n, answer, sizeof answer) < 0)
			break;
		tally(answer);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int conns = argc == 5 ? atoi(argv[2]) : 0;
	double seconds = argc == 5 ? atof(argv[3]) : 0;
	if (conns < 1 || conns > 512 || seconds <= 0) {
		fprintf(stderr, "usage: policyload SOCKET CONNS SECONDS PAIRS\n");
		return 2;
	}
	sock_path = argv[1];
	FILE *f = fopen(argv[4], "r");
	if (!f) {
		perror(argv[4]);
		return 1;
	}
	size_t cap = 0;
	struct pair p;
	while (fscanf(f, "%127s %127s", p.sender, p.recipient) == 2) {
		if (npairs == cap)
			pairs = realloc(pairs, (cap = cap ? 2 * cap : 1024) * sizeof *pairs);
		if (!pairs)
			return 1;
		pairs[npairs++] = p;
	}
	fclose(f);
	if (!npairs) {
		fprintf(stderr, "policyload: no pairs in %s\n", argv[4]);
		return 1;
	}
	srand((unsigned)time(NULL));
	pthread_t *t = calloc((size_t)conns, sizeof *t);
	double start = now();
	stop_at = start + seconds;
	for (int i = 0; i < conns; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)((size_t)rand() % npairs));
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	double took = now() - start;
	printf("decisions %ld seconds %.2f per_second %.0f dunno %ld other %ld\n", atomic_load(&decisions), took,
	       (double)atomic_load(&decisions) / took, atomic_load(&dunno), atomic_load(&other));
	free(t);
	free(pairs);
	return 0;
}
