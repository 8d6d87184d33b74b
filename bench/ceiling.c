/*
 * bench/ceiling — how near decode's matrix products come to the memory,
 * and how near the memory comes to bench/bw. Over the matrices one decode
 * step reads (every layer's q, k, v, output, gate, up and down, then the
 * output matrix), in that order and on the same thread pool, repetitions
 * alternate three passes:
 *   products  each matrix times one activation row (hrt_matmul, as decode)
 *   stream    each matrix read by the pool's threads, no arithmetic
 *   anon      one anonymous buffer of the same size read the same way
 * (the last two each with plain loads and, as bench/bw, with a prefetch of
 * every line 4 KiB ahead: the faster way's median counts) and it prints
 * the median GB/s of each with their ratios. products/stream
 * is what the kernels lose to their own reads; stream/anon what the mapped
 * file and the per-matrix hand-offs lose to one plain read.
 *
 *   build/ceiling MODEL.gguf [-t THREADS] [-r REPS] [--json]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hugemap.h"
#include "core/util.h"
#include "kern/kern.h"
#include "kern/pool.h"
#include "model/model.h"
#include "model/model_int.h"

#define MAX_REPS 99

struct rd {
	const uint64_t *p;
	size_t n; /* words */
	size_t pf; /* prefetch distance in words, 0 none */
	uint64_t sum[64];
};

/* thread ith of nth sums its share of the words (8 accumulators), the
 * loop and the ways of bench/bw, so that stream and anon compare with it;
 * not the kernel table's read_sum (cmd_bench.c's --bound), which reads
 * with the decode kernels' own prefetch. A portable C build of this loop
 * read 37 GB/s where this file's -march=native build reads 62, as
 * bench/bw does */
static void read_part(void *ctx, int ith, int nth)
{
	struct rd *r = ctx;
	long w0, w1;
	hrt_split((long)(r->n / 8), ith, nth, &w0, &w1);
	uint64_t a[8] = { 0 };
	if (!r->pf) {
		for (size_t i = (size_t)w0 * 8; i < (size_t)w1 * 8; i += 8)
			for (int k = 0; k < 8; k++)
				a[k] += r->p[i + k];
	} else {
		for (size_t i = (size_t)w0 * 8; i < (size_t)w1 * 8; i += 8) {
			__builtin_prefetch(r->p + i + r->pf); /* a hint: past the end is harmless */
			for (int k = 0; k < 8; k++)
				a[k] += r->p[i + k];
		}
	}
	r->sum[ith & 63] += a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static size_t wt_bytes(const struct hrt_wt *w)
{
	return w->row_bytes * (size_t)w->nrows;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	long nth = 2, reps = 7;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			nth = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			nth = 0; /* unknown argument: usage */
	}
	if (!path || nth < 1 || nth > 64 || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: ceiling MODEL.gguf [-t THREADS (1-64)] [-r REPS (1-99)] [--json]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_model *m;
	if (hrt_model_open(&m, path, &err)) {
		fprintf(stderr, "ceiling: %s\n", err.msg);
		return 1;
	}
	/* read in as hrt_llm_open does: on 2 MiB pages, the cache read again
	 * where it holds small folios (core/hugemap) */
	const struct hrt_gguf *g = hrt_model_gguf(m);
	hrt_hugemap_settle(hrt_gguf_fd(g), hrt_gguf_base(g), (size_t)hrt_gguf_file_size(g),
			   hrt_hugemap_recache_share(), NULL);
	/* the matrices of one decode step, in its order */
	size_t nw = (size_t)m->hp.n_layer * 7 + 1, k = 0;
	struct hrt_wt *w = calloc(nw, sizeof(*w));
	if (!w)
		return 1;
	for (uint32_t l = 0; l < m->hp.n_layer; l++) {
		const struct hrt_layer *L = &m->layers[l];
		const struct hrt_wt *s[7] = { &L->wq, &L->wk, &L->wv, &L->wo,
					      &L->w_gate, &L->w_up, &L->w_down };
		for (int i = 0; i < 7; i++)
			w[k++] = *s[i];
	}
	w[k++] = m->output;
	double bytes = 0;
	int64_t maxcols = 0, maxrows = 0;
	size_t scratch = 0;
	for (size_t i = 0; i < nw; i++) {
		bytes += (double)wt_bytes(&w[i]);
		if (w[i].ncols > maxcols)
			maxcols = w[i].ncols;
		if (w[i].nrows > maxrows)
			maxrows = w[i].nrows;
		size_t s = hrt_matmul_scratch(w[i].type, w[i].ncols, 1);
		if (s > scratch)
			scratch = s;
	}
	size_t anon_words = (size_t)bytes / 8 / 8 * 8;
	/* 2 MiB pages, as bench/bw's buffer and the model's mapping */
	uint64_t *anon = hrt_malloc_huge(anon_words * 8);
	float *x = hrt_malloc_aligned((size_t)maxcols * sizeof(float));
	float *y = hrt_malloc_aligned((size_t)maxrows * sizeof(float));
	void *scr = hrt_malloc_aligned(scratch);
	struct hrt_pool *pool = hrt_pool_new((int)nth);
	if (!anon || !x || !y || !scr || !pool) {
		fprintf(stderr, "ceiling: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < anon_words; i++)
		anon[i] = i;
	uint64_t r = 88172645463325252ull; /* xorshift: activations in [-1, 1) */
	for (int64_t i = 0; i < maxcols; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		x[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2 - 1);
	}
	/* passes: products; stream plain, prefetched; anon plain, prefetched */
	static double gbs[5][MAX_REPS];
	struct rd rd = { 0 };
	for (long rep = -1; rep < reps; rep++) { /* rep -1 warms up */
		for (int v = 0; v < 5; v++) {
			uint64_t t0 = hrt_now_ns();
			rd.pf = v == 2 || v == 4 ? 4096 / 8 : 0;
			if (v == 0) {
				for (size_t i = 0; i < nw; i++)
					hrt_matmul(pool, &w[i], x, 1, y, scr);
			} else if (v <= 2) {
				for (size_t i = 0; i < nw; i++) {
					rd.p = w[i].data;
					rd.n = wt_bytes(&w[i]) / 8;
					hrt_pool_run(pool, read_part, &rd);
				}
			} else {
				rd.p = anon;
				rd.n = anon_words;
				hrt_pool_run(pool, read_part, &rd);
			}
			double t = (double)(hrt_now_ns() - t0) * 1e-9;
			if (rep >= 0)
				gbs[v][rep] = bytes / t / 1e9;
		}
	}
	double med[5];
	for (int v = 0; v < 5; v++)
		med[v] = median(gbs[v], (int)reps);
	double p = med[0], s = HRT_MAX(med[1], med[2]), a = HRT_MAX(med[3], med[4]);
	uint64_t check = 0;
	for (int i = 0; i < 64; i++)
		check += rd.sum[i];
	if (json)
		printf("{\"threads\":%ld,\"reps\":%ld,\"matrices\":%zu,\"mb\":%.1f,"
		       "\"products_gbs\":%.2f,\"stream_gbs\":%.2f,\"anon_gbs\":%.2f,"
		       "\"products_stream\":%.3f,\"stream_anon\":%.3f,\"products_anon\":%.3f,"
		       "\"check\":%llu}\n",
		       nth, reps, nw, bytes / 1e6, p, s, a, p / s, s / a, p / a,
		       (unsigned long long)(check & 0xff));
	else
		printf("%zu matrices, %.0f MB, %ld threads, medians of %ld: products %.1f GB/s, "
		       "stream %.1f, anon %.1f; products/stream %.2f, stream/anon %.2f\n",
		       nw, bytes / 1e6, nth, reps, p, s, a, p / s, s / a);
	hrt_pool_free(pool);
	hrt_free_aligned(scr);
	hrt_free_aligned(y);
	hrt_free_aligned(x);
	hrt_free_aligned(anon);
	free(w);
	hrt_model_close(m);
	return 0;
}
