/*
 * bench/kern_bench — times hrt_matmul on Llama-3.2-1B-shaped matrices for
 * decode (n = 1: GB/s of weights streamed, each repetition on another copy
 * so the weights come from memory, not cache) and prompt processing (n =
 * 128, 512: GOPS = 2 * rows * cols * n / s), per weight type and per ISA
 * table, with the ratio to the `ref` table. Medians of several runs. Also
 * prints a whole-model estimate (16 layers + output) in tokens per second,
 * to compare with llama-bench pp128 / tg figures.
 *
 * usage: kern_bench [-t threads] [-i isa,isa] [-w type,type] [-n 1,128,512]
 *                   [-r reps] [-m] (model estimate only) [-M] (no model
 *                   estimate) [-c] [-H] [-C]
 * -c: time with the process CPU clock divided by the threads instead of the
 * wall clock: on a machine shared with other jobs this leaves out the time
 * the threads were preempted (pool threads spin, so an idle machine gives
 * about the wall time).
 * -H: decode from one copy of the weights (hot in the caches when they fit):
 * the kernels' arithmetic throughput without the memory behind it.
 * -C: every n from the copies (weights from memory), as in a model, where
 * each matrix is read once per step; without it n > 1 reuses one copy.
 * build: see bench/kern_bench.sh
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "kern/kern.h"
#include "kern/types.h"

struct shape {
	const char *name;
	int64_t rows, cols;
};

/* one transformer layer of Llama-3.2-1B (dim 2048, 8 KV heads of 64, FFN
 * 8192) and the output matrix */
static const struct shape shapes[] = {
	{ "attn_q 2048x2048", 2048, 2048 },
	{ "attn_k 512x2048", 512, 2048 },
	{ "ffn_up 8192x2048", 8192, 2048 },
	{ "ffn_down 2048x8192", 2048, 8192 },
	{ "output 32000x2048", 32000, 2048 },
};

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *xalloc(size_t n)
{
	void *p = hrt_malloc_aligned(n);
	if (!p) {
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/* weights: quantize random floats once per row pattern, then copy */
static void fill_weights(uint32_t type, uint8_t *dst, int64_t rows, int64_t cols,
			 size_t rb)
{
	const struct hrt_type_traits *t = hrt_type_get(type);
	enum { PAT = 64 };
	float *x = xalloc((size_t)cols * sizeof(float));
	uint8_t *pat = xalloc(rb * PAT);
	uint64_t s = 1234 + type;
	for (int p = 0; p < PAT; p++) {
		for (int64_t k = 0; k < cols; k++)
			x[k] = ((float)(rng(&s) >> 40) * 0x1p-24f - 0.5f) * 0.1f;
		t->from_float(x, pat + (size_t)p * rb, cols);
	}
	for (int64_t r = 0; r < rows; r++)
		memcpy(dst + (size_t)r * rb, pat + (size_t)(r % PAT) * rb, rb);
	hrt_free_aligned(x);
	hrt_free_aligned(pat);
}

static int use_cpu_clock, hot, cold, n_threads = 2;

static uint64_t now_ns(void)
{
	if (!use_cpu_clock)
		return hrt_now_ns();
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) /
	       (uint64_t)n_threads;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct ctx {
	struct hrt_pool *pool;
	float *X, *Y;
	void *scratch;
	int reps;
};

/* median seconds of one matmul of W (copies: ncopy matrices rb*rows apart) */
static double time_mm(struct ctx *c, uint32_t type, const struct shape *sh,
		      const uint8_t *w, int ncopy, size_t msize, int n, int reps)
{
	struct hrt_wt W = { type, sh->cols, sh->rows, 0, NULL };
	uint64_t rb;
	hrt_type_row_bytes(type, (uint64_t)sh->cols, &rb);
	W.row_bytes = (size_t)rb;
	uint64_t ts[512];
	/* decode: every copy once per cycle, so the weights come from memory */
	if (ncopy > 1 && reps < ncopy)
		reps = ncopy;
	if (reps > 512)
		reps = 512;
	/* one warm-up, then reps timed runs */
	for (int i = -1; i < reps; i++) {
		W.data = w + (size_t)((i + 1) % ncopy) * msize;
		uint64_t t0 = now_ns();
		hrt_matmul(c->pool, &W, c->X, n, c->Y, c->scratch);
		uint64_t t1 = now_ns();
		if (i >= 0)
			ts[i] = t1 - t0;
	}
	qsort(ts, (size_t)reps, sizeof ts[0], cmp_u64);
	return (double)ts[reps / 2] * 1e-9;
}

static int split_list(char *s, char **out, int max)
{
	int n = 0;
	for (char *p = strtok(s, ","); p && n < max; p = strtok(NULL, ","))
		out[n++] = p;
	return n;
}

/* the layer mix of a file type: per layer matrix, its type */
struct mix {
	const char *name;
	uint32_t q, k, v, o, gate, up, down_even, down_odd, v_odd, out;
};

int main(int argc, char **argv)
{
	int nth = 2, reps = 7, model_only = 0, no_model = 0;
	char isa_buf[256] = "", wt_buf[256] = "Q4_0,Q8_0,Q4_K,Q6_K,Q5_K";
	char n_buf[64] = "1,128,512";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			nth = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-i") && i + 1 < argc)
			snprintf(isa_buf, sizeof isa_buf, "%s", argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			snprintf(wt_buf, sizeof wt_buf, "%s", argv[++i]);
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			snprintf(n_buf, sizeof n_buf, "%s", argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-m"))
			model_only = 1;
		else if (!strcmp(argv[i], "-M"))
			no_model = 1;
		else if (!strcmp(argv[i], "-c"))
			use_cpu_clock = 1;
		else if (!strcmp(argv[i], "-H"))
			hot = 1;
		else if (!strcmp(argv[i], "-C"))
			cold = 1;
		else {
			fprintf(stderr, "usage: %s [-t threads] [-i isa,..] [-w type,..] "
					"[-n 1,128,512] [-r reps] [-m] [-M] [-c] [-H] [-C]\n", argv[0]);
			return 2;
		}
	}
	const char *isas[8];
	int nisa = 0;
	if (isa_buf[0]) {
		nisa = split_list(isa_buf, (char **)isas, 8);
	} else {
		const char *const *av = hrt_kern_available();
		for (int i = 0; av[i] && nisa < 8; i++)
			isas[nisa++] = av[i];
	}
	char *wts[16], *ns_s[8];
	int nwt = split_list(wt_buf, wts, 16), nn = split_list(n_buf, ns_s, 8);
	int ns[8], nmax = 1;
	for (int i = 0; i < nn; i++) {
		ns[i] = atoi(ns_s[i]);
		nmax = HRT_MAX(nmax, ns[i]);
	}

	struct ctx c;
	n_threads = nth;
	c.pool = hrt_pool_new(nth);
	c.reps = reps;
	c.X = xalloc((size_t)nmax * 8192 * sizeof(float));
	c.Y = xalloc((size_t)nmax * 32000 * sizeof(float));
	uint64_t s = 99;
	for (size_t i = 0; i < (size_t)nmax * 8192; i++)
		c.X[i] = (float)(rng(&s) >> 40) * 0x1p-24f - 0.5f;
	size_t scr = 0;
	for (int i = 0; i < nwt; i++) {
		int ty = hrt_type_from_name(wts[i]);
		if (ty < 0) {
			fprintf(stderr, "unknown type %s\n", wts[i]);
			return 2;
		}
		for (int is = 0; is < nisa; is++) {
			if (hrt_kern_select(isas[is])) {
				fprintf(stderr, "table %s not available\n", isas[is]);
				return 2;
			}
			scr = HRT_MAX(scr, hrt_matmul_scratch((uint32_t)ty, 8192, nmax));
		}
	}
	c.scratch = xalloc(scr);
	printf("kern_bench: %d threads, %d reps (median), %s clock, tables:", nth, reps,
	       use_cpu_clock ? "cpu" : "wall");
	for (int i = 0; i < nisa; i++)
		printf(" %s", isas[i]);
	printf("\n");

	if (!model_only) {
		printf("%-6s %-20s %-7s %5s %10s %10s %8s\n", "type", "shape", "table", "n",
		       "ms", "GB/s|GOPS", "x ref");
		for (int wi = 0; wi < nwt; wi++) {
			uint32_t ty = (uint32_t)hrt_type_from_name(wts[wi]);
			for (size_t si = 0; si < HRT_ARRAY_LEN(shapes); si++) {
				const struct shape *sh = &shapes[si];
				uint64_t rb;
				hrt_type_row_bytes(ty, (uint64_t)sh->cols, &rb);
				size_t msize = ((size_t)rb * (size_t)sh->rows + 4095) & ~(size_t)4095;
				/* copies for decode: at least 256 MB streamed in a cycle */
				int ncopy = hot ? 1 : (int)HRT_MIN((size_t)512, (256u << 20) / msize + 1);
				uint8_t *w = xalloc(msize * (size_t)ncopy);
				fill_weights(ty, w, sh->rows, sh->cols, (size_t)rb);
				for (int k = 1; k < ncopy; k++)
					memcpy(w + (size_t)k * msize, w, msize);
				for (int ni = 0; ni < nn; ni++) {
					double ref_v = 0;
					for (int is = 0; is < nisa; is++) {
						hrt_kern_select(isas[is]);
						int n = ns[ni];
						bool isref = !strcmp(isas[is], "ref");
						/* the scalar reference is slow: fewer, smaller runs */
						int r = isref && n > 1 ? 1 : reps;
						double sec = time_mm(&c, ty, sh, w, n == 1 || cold ? ncopy : 1,
								     msize, n, r);
						double v = n == 1 ? (double)rb * (double)sh->rows / sec * 1e-9
								  : 2.0 * (double)sh->rows * (double)sh->cols *
									    n / sec * 1e-9;
						if (isref)
							ref_v = v;
						printf("%-6s %-20s %-7s %5d %10.3f %10.1f", hrt_type_name(ty),
						       sh->name, isas[is], n, sec * 1e3, v);
						if (ref_v > 0 && !isref)
							printf(" %8.2f", v / ref_v);
						printf("\n");
						fflush(stdout);
					}
				}
				hrt_free_aligned(w);
			}
		}
	}

	/* whole-model estimate: 16 layers of the 1B shape plus the output,
	 * for pure Q4_0, Q8_0 and the Q4_K_M mix (Q6_K for attn_v and ffn_down
	 * in 8 of 16 layers and for the output) */
	static const struct mix mixes[] = {
		{ "Q4_0", HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0,
		  HRT_Q4_0, HRT_Q4_0, HRT_Q6_K },
		{ "Q8_0", HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0,
		  HRT_Q8_0, HRT_Q8_0, HRT_Q8_0 },
		{ "Q4_K_M", HRT_Q4_K, HRT_Q4_K, HRT_Q4_K, HRT_Q4_K, HRT_Q4_K, HRT_Q4_K, HRT_Q4_K,
		  HRT_Q6_K, HRT_Q6_K, HRT_Q6_K },
	};
	if (no_model)
		goto out;
	printf("\nmodel estimate (Llama-3.2-1B shape, matmuls only, %d threads):\n", nth);
	printf("%-7s %-7s %12s %12s %12s\n", "mix", "table", "tg tok/s", "pp128 tok/s",
	       "pp512 tok/s");
	for (size_t mi = 0; mi < HRT_ARRAY_LEN(mixes); mi++) {
		const struct mix *m = &mixes[mi];
		for (int is = 0; is < nisa; is++) {
			if (!strcmp(isas[is], "ref"))
				continue;
			hrt_kern_select(isas[is]);
			double tps[3];
			static const int mn[3] = { 1, 128, 512 };
			for (int ni = 0; ni < 3; ni++) {
				int n = mn[ni];
				if (n > nmax) {
					tps[ni] = 0;
					continue;
				}
				struct { uint32_t t; int64_t r, c; double mult; } parts[] = {
					{ m->q, 2048, 2048, 16 }, { m->k, 512, 2048, 16 },
					{ m->v, 512, 2048, 8 }, { m->v_odd, 512, 2048, 8 },
					{ m->o, 2048, 2048, 16 }, { m->gate, 8192, 2048, 16 },
					{ m->up, 8192, 2048, 16 }, { m->down_even, 2048, 8192, 8 },
					{ m->down_odd, 2048, 8192, 8 }, { m->out, 32000, 2048, 1 },
				};
				double total = 0;
				for (size_t pi = 0; pi < HRT_ARRAY_LEN(parts); pi++) {
					struct shape sh = { "", parts[pi].r, parts[pi].c };
					uint64_t rb;
					hrt_type_row_bytes(parts[pi].t, (uint64_t)sh.cols, &rb);
					size_t msize = ((size_t)rb * (size_t)sh.rows + 4095) & ~(size_t)4095;
					int ncopy = n == 1 ? (int)HRT_MIN((size_t)512, (256u << 20) / msize + 1) : 1;
					uint8_t *w = xalloc(msize * (size_t)ncopy);
					fill_weights(parts[pi].t, w, sh.rows, sh.cols, (size_t)rb);
					for (int k = 1; k < ncopy; k++)
						memcpy(w + (size_t)k * msize, w, msize);
					total += parts[pi].mult *
						 time_mm(&c, parts[pi].t, &sh, w, ncopy, msize, n,
							 HRT_MAX(3, reps / 2));
					hrt_free_aligned(w);
				}
				tps[ni] = n / total;
			}
			printf("%-7s %-7s %12.1f %12.1f %12.1f\n", m->name, isas[is], tps[0], tps[1],
			       tps[2]);
			fflush(stdout);
		}
	}
out:
	hrt_free_aligned(c.X);
	hrt_free_aligned(c.Y);
	hrt_free_aligned(c.scratch);
	hrt_pool_free(c.pool);
	return 0;
}
