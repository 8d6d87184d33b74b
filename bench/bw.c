/*
 * bench/bw — read bandwidth of this machine, the denominator of the decode
 * bound in bench/README.md: N threads each stream through their part of a
 * buffer much larger than the caches (default 1 GiB), summing 64-bit
 * words with independent accumulators, in three ways in turn: plain loads,
 * and the same with a software prefetch of every line 4 KiB or 8 KiB
 * ahead (which some CPUs need to reach their bandwidth: on a 2-core Xeon,
 * family 6 model 207, plain reads of a 600 MB file mapping ran at 22.8-23.3
 * GB/s where a prefetch 4-8 KiB ahead read 25.3-30.0). Reports the median
 * over the repetitions of each way, and as read_gbs the highest of the
 * three, in GB/s (1e9 bytes/s). The buffer asks for 2 MiB pages (on that
 * Xeon, 32.5 -> 34.5 GB/s, medians of 5 runs).
 *
 * Each round is timed by the readers' own clocks, from the first thread's
 * start to the last one's end. The main thread's clock, read after it had
 * released the readers, ran late on a machine with as many readers as
 * CPUs: the scheduler often ran a reader before it, so it read its clock a
 * few milliseconds into the read, and that round counted too few seconds.
 * On the 2-core Xeon, 2 threads over 256 MiB, rounds timed that way read
 * 31-105 GB/s (a late start, then a run of rounds falling back towards the
 * true rate) where the same rounds by the readers' clocks read 30-34.5.
 *
 * With -f FILE it reads the bytes of that file instead, through a
 * read-only mapping laid out as hearth maps a model (at a 2 MiB boundary,
 * asking for 2 MiB pages): the bandwidth of the memory the model itself
 * is in. Which physical pages a buffer gets moves its read rate: on the
 * 2-core Xeon, a 600 MB model's page-cache pages read at 30 GB/s where a
 * copy of the same bytes in a fresh anonymous buffer read 32.6-33; after
 * the file was read into other pages (its old ones held by another
 * process) it read 32.5-33 and an anonymous buffer that then got pages
 * freed around the old ones 30-31 (bench/README.md, 2026-11-28 01:25Z). The
 * report says how much of the file was mapped with 2 MiB pages
 * (mapped_2m_mib, from /proc/self/smaps; -1 where unknown).
 *
 *   make build/bw      (cc -std=c11 -O2 -march=native -pthread bench/bw.c)
 *   build/bw [-t THREADS] [-m MiB | -f FILE] [-r REPS] [--json]
 *
 * A stand-alone program: no hearth code, so it measures the memory and not
 * our kernels.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* prefetch distance in words of each way: none, 4 KiB, 8 KiB */
static const size_t ways[] = { 0, 4096 / 8, 8192 / 8 };
#define NWAYS 3
static const char *const way_name[NWAYS] = { "plain_gbs", "pf4k_gbs", "pf8k_gbs" };

struct worker {
	const uint64_t *p;
	size_t n;            /* words */
	uint64_t sum;
	double t0, t1; /* this round's read, by this thread's clock */
	pthread_barrier_t *start, *done;
	int reps;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sum_words(const uint64_t *p, size_t n, size_t pf)
{
	uint64_t a[8] = { 0 };
	if (!pf) {
		for (size_t i = 0; i + 8 <= n; i += 8)
			for (int k = 0; k < 8; k++)
				a[k] += p[i + k];
	} else {
		for (size_t i = 0; i + 8 <= n; i += 8) {
			__builtin_prefetch(p + i + pf); /* a hint: past the end is harmless */
			for (int k = 0; k < 8; k++)
				a[k] += p[i + k];
		}
	}
	return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static void *run(void *arg)
{
	struct worker *w = arg;
	for (int r = 0; r < w->reps; r++) {
		pthread_barrier_wait(w->start);
		w->t0 = now();
		w->sum += sum_words(w->p, w->n, ways[r % NWAYS]);
		w->t1 = now();
		pthread_barrier_wait(w->done);
	}
	return NULL;
}

#define HUGE ((size_t)2 << 20)

/* FILE mapped read-only at a 2 MiB boundary with 2 MiB pages asked for, as
 * hearth maps a model; *bytes: its size (what to unmap). NULL (and a
 * message) on failure or a file under 64 MiB. */
static uint64_t *map_file(const char *path, size_t *bytes)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (st.st_size < (off_t)64 << 20) {
		fprintf(stderr, "bw: %s: under 64 MiB\n", path);
		close(fd);
		return NULL;
	}
	size_t n = (size_t)st.st_size;
	/* reserve a span, then map the file over its first 2 MiB boundary */
	char *r = mmap(NULL, n + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		perror("bw: mmap");
		close(fd);
		return NULL;
	}
	char *a = (char *)(((uintptr_t)r + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	void *m = mmap(a, n, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("bw: mmap");
		munmap(r, n + HUGE);
		return NULL;
	}
	/* the reservation's unused head and tail */
	const long pg = sysconf(_SC_PAGESIZE);
	const size_t mapped = pg > 0 ? (n + (size_t)pg - 1) / (size_t)pg * (size_t)pg : n;
	if (a > r)
		munmap(r, (size_t)(a - r));
	if (r + n + HUGE > a + mapped)
		munmap(a + mapped, (size_t)(r + n + HUGE - (a + mapped)));
#ifdef MADV_HUGEPAGE
	(void)madvise(m, n, MADV_HUGEPAGE);
#endif
	*bytes = n;
	return m;
}

/* kB of the mapping at base mapped with 2 MiB pages (FilePmdMapped in
 * /proc/self/smaps), -1 where not found */
static long pmd_mapped_kib(const void *base)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	long kib = -1;
	int in = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char c;
		if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3) {
			in = lo == (uintptr_t)base;
			continue;
		}
		if (in && sscanf(line, "FilePmdMapped: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
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
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			nthreads = atol(argv[++i]);
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atol(argv[++i]);
		else if (!strcmp(argv[i], "-f") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else {
			fprintf(stderr, "usage: bw [-t THREADS] [-m MiB | -f FILE] [-r REPS] [--json]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256 || mib < 64 || reps < 1 || reps > 1000) {
		fprintf(stderr, "bw: bad arguments\n");
		return 2;
	}
	size_t bytes = (size_t)mib << 20, words;
	uint64_t *buf;
	long m2 = -1;
	if (file) {
		buf = map_file(file, &bytes);
		if (!buf)
			return 1;
		mib = (long)(bytes >> 20);
	} else {
		if (posix_memalign((void **)&buf, HUGE, bytes)) {
			fprintf(stderr, "bw: cannot allocate %ld MiB\n", mib);
			return 1;
		}
#ifdef MADV_HUGEPAGE
		/* 2 MiB pages where the kernel gives them, as hearth asks for
		 * its model mappings: fewer TLB misses, the higher (stricter)
		 * bound */
		(void)madvise(buf, bytes, MADV_HUGEPAGE);
#endif
		for (size_t i = 0; i < bytes / 8; i++)
			buf[i] = i;
	}
	words = bytes / 8;

	pthread_barrier_t start, done;
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
	struct worker *w = calloc((size_t)nthreads, sizeof(*w));
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	double *v = calloc((size_t)(reps + 1) * NWAYS, sizeof(*v));
	if (!w || !th || !v)
		return 1;
	size_t per = words / (size_t)nthreads / 8 * 8;
	for (long t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ .p = buf + (size_t)t * per, .n = per, .start = &start,
					.done = &done, .reps = (int)(reps + 1) * NWAYS };
		pthread_create(&th[t], NULL, run, &w[t]);
	}
	/* round 0 warms up; each round reads once in each way */
	for (long r = 0; r < (reps + 1) * NWAYS; r++) {
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&done);
		/* the barrier orders the readers' clocks before these reads */
		double t0 = w[0].t0, t1 = w[0].t1;
		for (long t = 1; t < nthreads; t++) {
			t0 = w[t].t0 < t0 ? w[t].t0 : t0;
			t1 = w[t].t1 > t1 ? w[t].t1 : t1;
		}
		v[r % NWAYS * (reps + 1) + r / NWAYS] =
			(double)(per * (size_t)nthreads * 8) / (t1 - t0) / 1e9;
	}
	uint64_t sum = 0;
	for (long t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		sum += w[t].sum;
	}
	if (file)
		m2 = pmd_mapped_kib(buf);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	double med[NWAYS];
	int best = 0;
	for (int k = 0; k < NWAYS; k++) {
		double *x = v + k * (reps + 1) + 1;
		qsort(x, (size_t)reps, sizeof(*x), cmp);
		med[k] = reps % 2 ? x[reps / 2] : (x[reps / 2 - 1] + x[reps / 2]) / 2;
		if (med[k] > med[best])
			best = k;
	}
	const double lo = v[best * (reps + 1) + 1], hi = v[best * (reps + 1) + reps];
	if (json) {
		printf("{\"threads\":%ld,\"mib\":%ld,\"reps\":%ld,\"read_gbs\":%.2f,\"min\":%.2f,"
		       "\"max\":%.2f", nthreads, mib, reps, med[best], lo, hi);
		if (file)
			printf(",\"file\":true,\"mapped_2m_mib\":%ld", m2 < 0 ? -1 : m2 >> 10);
		for (int k = 0; k < NWAYS; k++)
			printf(",\"%s\":%.2f", way_name[k], med[k]);
		printf(",\"check\":%llu}\n", (unsigned long long)(sum & 0xff));
	} else {
		printf("read bandwidth: %.2f GB/s median of the best way (%ld threads, %ld MiB, %ld "
		       "reps, min %.2f, max %.2f; plain %.2f, prefetch 4 KiB %.2f, 8 KiB %.2f)\n",
		       med[best], nthreads, mib, reps, lo, hi, med[0], med[1], med[2]);
		if (file)
			printf("read from %s, %ld MiB of it on 2 MiB pages\n", file,
			       m2 < 0 ? -1 : m2 >> 10);
	}
	free(v);
	free(w);
	free(th);
	if (file)
		munmap(buf, bytes);
	else
		free(buf);
	return 0;
}
