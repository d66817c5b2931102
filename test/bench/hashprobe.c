/* The hashing part of the import's floor, measured on this machine: how long
 * yescrypt (libxcrypt's default cost, as libers/accounts/password.c and import.c use
 * it) takes per hash, on one thread or on several at once.
 *
 *   hashprobe THREADS COUNT   prints the wall-clock ms per hash -- COUNT hashes
 *                             spread over THREADS threads, each with its own
 *                             crypt_data, divided by COUNT -- and the CPU ms
 *                             (user + system, all threads) per hash
 *   hashprobe hash PASSWORD   prints one yescrypt hash of PASSWORD */
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static int per_thread;

static int hash_one(const char *password, struct crypt_data *cd, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
		return -1;
	const char *h = crypt_rn(password, salt, cd, sizeof *cd);
	if (!h || h[0] == '*')
		return -1;
	snprintf(out, cap, "%s", h);
	return 0;
}

static void *worker(void *arg)
{
	(void)arg;
	struct crypt_data *cd = calloc(1, sizeof *cd);
	char h[CRYPT_OUTPUT_SIZE];
	for (int i = 0; cd && i < per_thread; i++)
		if (hash_one("correct horse battery staple", cd, h, sizeof h) < 0)
			exit(1);
	free(cd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "hash")) {
		struct crypt_data *cd = calloc(1, sizeof *cd);
		char h[CRYPT_OUTPUT_SIZE];
		if (!cd || hash_one(argv[2], cd, h, sizeof h) < 0)
			return 1;
		puts(h);
		free(cd);
		return 0;
	}
	int threads = argc == 3 ? atoi(argv[1]) : 0, count = argc == 3 ? atoi(argv[2]) : 0;
	if (threads < 1 || threads > 1024 || count < threads) {
		fprintf(stderr, "usage: hashprobe THREADS COUNT | hashprobe hash PASSWORD\n");
		return 2;
	}
	per_thread = count / threads;
	pthread_t t[1024];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	printf("%.3f %.3f\n", ms / (per_thread * threads), cpu / (per_thread * threads));
	return 0;
}
