/*
 * bench/bw — read bandwidth of this machine, the denominator of the decode
 * bound in bench/README.md: N threads each stream through their part of a
 * buffer much larger than the caches (default 1 GiB), summing 64-bit
 * words with independent accumulators; reports the median over the
 * repetitions in GB/s (1e9 bytes/s).
 *
 *   cc -std=c11 -O2 -march=native -pthread bench/bw.c -o bench/out/bw
 *   bench/out/bw [-t THREADS] [-m MiB] [-r REPS] [--json]
 *
 * A stand-alone program: no hearth code, so it measures the memory and not
 * our kernels.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
	const uint64_t *p;
	size_t n;            /* words */
	uint64_t sum;
	pthread_barrier_t *start, *done;
	int reps;
};

static uint64_t sum_words(const uint64_t *p, size_t n)
{
	uint64_t a[8] = { 0 };
	for (size_t i = 0; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			a[k] += p[i + k];
	return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static void *run(void *arg)
{
	struct worker *w = arg;
	for (int r = 0; r < w->reps; r++) {
		pthread_barrier_wait(w->start);
		w->sum += sum_words(w->p, w->n);
		pthread_barrier_wait(w->done);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long nthreads = sysconf(_SC_NPROCESSORS_ONLN), mib = 1024, reps = 10;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			nthreads = atol(argv[++i]);
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else {
			fprintf(stderr, "usage: bw [-t THREADS] [-m MiB] [-r REPS] [--json]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256 || mib < 64 || reps < 1 || reps > 1000) {
		fprintf(stderr, "bw: bad arguments\n");
		return 2;
	}
	size_t bytes = (size_t)mib << 20, words = bytes / 8;
	uint64_t *buf;
	if (posix_memalign((void **)&buf, 4096, bytes)) {
		fprintf(stderr, "bw: cannot allocate %ld MiB\n", mib);
		return 1;
	}
	for (size_t i = 0; i < words; i++)
		buf[i] = i;

	pthread_barrier_t start, done;
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
	struct worker *w = calloc((size_t)nthreads, sizeof(*w));
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	double *v = calloc((size_t)reps + 1, sizeof(*v));
	if (!w || !th || !v)
		return 1;
	size_t per = words / (size_t)nthreads / 8 * 8;
	for (long t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ buf + (size_t)t * per, per, 0, &start, &done, (int)reps + 1 };
		pthread_create(&th[t], NULL, run, &w[t]);
	}
	for (long r = 0; r <= reps; r++) { /* run 0 warms up */
		pthread_barrier_wait(&start);
		double t0 = now();
		pthread_barrier_wait(&done);
		v[r] = (double)(per * (size_t)nthreads * 8) / (now() - t0) / 1e9;
	}
	uint64_t sum = 0;
	for (long t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		sum += w[t].sum;
	}
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	qsort(v + 1, (size_t)reps, sizeof(*v), cmp);
	double med = reps % 2 ? v[1 + reps / 2] : (v[reps / 2] + v[1 + reps / 2]) / 2;
	if (json)
		printf("{\"threads\":%ld,\"mib\":%ld,\"reps\":%ld,\"read_gbs\":%.2f,\"min\":%.2f,\"max\":%.2f,\"check\":%llu}\n",
		       nthreads, mib, reps, med, v[1], v[reps], (unsigned long long)(sum & 0xff));
	else
		printf("read bandwidth: %.2f GB/s median (%ld threads, %ld MiB, %ld reps, min %.2f, max %.2f)\n",
		       med, nthreads, mib, reps, v[1], v[reps]);
	free(v);
	free(w);
	free(th);
	free(buf);
	return 0;
}
