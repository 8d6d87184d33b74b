/*
 * tests/unit/test_kern — every ISA table this CPU can run (hrt_kern_available)
 * against the reference kernels of kern/quant_ref: activation quantizers
 * (exact bytes), vec_dot for every computable weight type and several row
 * lengths, gemm tiles (panel layouts included) against vec_dot for awkward
 * shapes, tile kernels against vec_dot, and the whole hrt_matmul driver against a naive float product of
 * the dequantized operands with 1 and 2 threads. No timing here.
 *
 * Tolerance: integer parts are exact by construction, float scaling differs
 * in order only, so |got - want| <= 1e-5 * sum_k |w_k * a_k| (dequantized).
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/fp16.h"
#include "core/util.h"
#include "kern/kern.h"
#include "kern/pool.h"
#include "kern/quant_blocks.h"
#include "kern/quant_ref.h"
#include "kern/types.h"
#include "t.h"

#define REL_TOL 1e-5

/* ------------------------------------------------------------ utilities */

/* gaussian values with a per-32 magnitude that varies over 4 decades, a
 * few outliers, and now and then a block of exact ties (x.5 after scaling) */
static void fill_x(float *x, int64_t n, uint64_t seed)
{
	for (int64_t i = 0; i < n; i += 32) {
		float mag = powf(10.f, 2.f * rng_unif(&seed) - 2.f);
		int kind = (int)(rng_u64(&seed) % 8);
		for (int64_t j = i; j < i + 32 && j < n; j++) {
			if (kind == 0)
				/* amax 127 gives d = 1: every x.5 is a tie */
				x[j] = (float)((int)(rng_u64(&seed) % 255) - 127) + 0.5f;
			else
				x[j] = rng_gauss(&seed) * mag;
		}
		if (kind == 0)
			x[i] = -127.0f;
		if (kind == 1) {
			int64_t j = i + (int64_t)(rng_u64(&seed) % 32);
			if (j < n) /* n need not be a multiple of 32 (float rows) */
				x[j] *= 20.f;
		}
	}
}

static void *xmalloc(size_t n)
{
	void *p = hrt_malloc_aligned(n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static size_t row_bytes(uint32_t type, int64_t n)
{
	uint64_t b = 0;
	if (!hrt_type_row_bytes(type, (uint64_t)n, &b))
		return 0;
	return (size_t)b;
}

/* random bytes for n elements of a type, every scale field a finite fp16
 * of magnitude in [2^-14, 2) (random elsewhere: every code pattern occurs) */
static void fill_blocks(uint32_t type, void *dst, int64_t n, uint64_t seed)
{
	const struct hrt_type_traits *t = hrt_type_get(type);
	if (!t->quantized) {
		float *x = malloc((size_t)n * sizeof(float));
		fill_x(x, n, seed);
		t->from_float(x, dst, n);
		free(x);
		return;
	}
	size_t nb = (size_t)(n / t->blck);
	uint8_t *p = dst;
	for (size_t i = 0; i < nb * t->size; i++)
		p[i] = (uint8_t)rng_u64(&seed);
	for (size_t i = 0; i < nb; i++, p += t->size) {
		size_t off[2] = { 0, 0 };
		int nf = 0;
		switch (type) {
		case HRT_Q4_0: case HRT_Q5_0: case HRT_Q8_0:
			nf = 1;
			break;
		case HRT_Q4_1: case HRT_Q5_1:
		case HRT_Q4_K: case HRT_Q5_K:
			off[1] = 2;
			nf = 2;
			break;
		case HRT_Q2_K:
			off[0] = offsetof(struct hrt_blk_q2_k, d);
			off[1] = offsetof(struct hrt_blk_q2_k, dmin);
			nf = 2;
			break;
		case HRT_Q3_K:
			off[0] = offsetof(struct hrt_blk_q3_k, d);
			nf = 1;
			break;
		case HRT_Q6_K:
			off[0] = offsetof(struct hrt_blk_q6_k, d);
			nf = 1;
			break;
		default:
			break;
		}
		for (int f = 0; f < nf; f++) {
			uint16_t h = (uint16_t)(rng_u64(&seed) & 0xbfff);
			if (!(h & 0x7c00))
				h |= 0x0400;
			memcpy(p + off[f], &h, 2);
		}
	}
}

/* the weight types with a vec_dot, and the activation types */
static const uint32_t w_types[] = {
	HRT_Q4_0, HRT_Q4_1, HRT_Q5_0, HRT_Q5_1, HRT_Q8_0, HRT_Q2_K, HRT_Q3_K,
	HRT_Q4_K, HRT_Q5_K, HRT_Q6_K, HRT_F32, HRT_F16, HRT_BF16,
};
static const uint32_t a_types[] = {
	HRT_Q8_0, HRT_Q8_1, HRT_Q8_K, HRT_F32, HRT_F16, HRT_BF16,
};

/* row lengths: 1 block, odd counts (3: below a 4-block step; 7: a step and
 * a tail), 4096, 11008 (a partial chunk of columns in the AVX-512 gemm, 43
 * super-blocks) */
#define NLEN 5
static int lengths(uint32_t type, int64_t out[NLEN])
{
	int64_t b = hrt_type_get(type)->blck;
	if (b == 1)
		b = 32;
	out[0] = b;
	out[1] = 3 * b;
	out[2] = 7 * b;
	out[3] = 4096;
	out[4] = 11008;
	return NLEN;
}

/* sum |w_k a_k| of the dequantized operands (the scale of the error) */
static double abs_dot(uint32_t wt, const void *w, uint32_t at, const void *a,
		      int64_t n, float *tw, float *ta)
{
	hrt_type_get(wt)->to_float(w, tw, n);
	hrt_type_get(at)->to_float(a, ta, n);
	double s = 0;
	for (int64_t k = 0; k < n; k++)
		s += fabs((double)tw[k] * (double)ta[k]);
	return s;
}

static bool close_to(double got, double want, double scale)
{
	return fabs(got - want) <= REL_TOL * scale + 1e-30;
}

/* run fn once per available table (named in failure messages) */
static const char *cur_isa;
static void each_isa(void (*fn)(void))
{
	const char *const *av = hrt_kern_available();
	for (int i = 0; av[i]; i++) {
		cur_isa = av[i];
		CHECK(hrt_kern_select(av[i]) == 0);
		CHECK(!strcmp(hrt_kern()->name, av[i]));
		fn();
	}
	hrt_kern_select(av[0]);
	/* the default table is the best one: select it back */
	for (int i = 0; av[i]; i++)
		hrt_kern_select(av[i]);
}

/* ----------------------------------------------------------------- tests */

static void test_tables(void)
{
	const char *const *av = hrt_kern_available();
	CHECK(av[0] && !strcmp(av[0], "ref"));
	CHECK(hrt_kern_select("no-such-isa") == -1);
	const char *e = getenv("HEARTH_ISA");
	if (e && *e) {
		bool have = false;
		for (int i = 0; av[i]; i++)
			have |= !strcmp(av[i], e);
		/* hrt_kern() was initialised with the override */
		CHECKF(!have || !strcmp(hrt_kern()->name, e), "HEARTH_ISA=%s gave %s",
		       e, hrt_kern()->name);
	}
	for (int i = 0; av[i]; i++) {
		printf("# table %s\n", av[i]);
		hrt_kern_select(av[i]);
		const struct hrt_kern_isa *k = hrt_kern();
		for (size_t j = 0; j < HRT_ARRAY_LEN(w_types); j++) {
			uint32_t w = w_types[j];
			CHECKF(k->vec_dot[w] != NULL, "%s: no vec_dot for %s", av[i],
			       hrt_type_name(w));
			uint32_t at = hrt_kern_act_type(w);
			CHECKF(k->quantize[at] != NULL, "%s: no quantize for %s", av[i],
			       hrt_type_name(at));
			if (k->panel[at])
				CHECKF(k->gemm[w] != NULL, "%s: panel without gemm for %s",
				       av[i], hrt_type_name(w));
		}
	}
}

static void quantize_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	for (size_t i = 0; i < HRT_ARRAY_LEN(a_types); i++) {
		uint32_t at = a_types[i];
		int64_t ns[NLEN];
		lengths(at, ns);
		for (int li = 0; li < NLEN; li++) {
			int64_t n = ns[li];
			if (n % hrt_type_get(at)->blck)
				continue;
			size_t rb = row_bytes(at, n);
			float *x = xmalloc((size_t)n * sizeof(float));
			uint8_t *got = xmalloc(rb), *want = xmalloc(rb);
			for (int rep = 0; rep < 4; rep++) {
				fill_x(x, n, 1000 + (uint64_t)rep * 7 + (uint64_t)n);
				if (rep == 3) /* an all-zero row */
					memset(x, 0, (size_t)n * sizeof(float));
				memset(got, 0x5a, rb);
				k->quantize[at](x, got, n);
				hrt_type_get(at)->from_float(x, want, n);
				size_t b = 0;
				while (b < rb && got[b] == want[b])
					b++;
				CHECKF(b == rb, "%s quantize %s n=%lld rep %d: byte %zu is %02x, ref %02x",
				       cur_isa, hrt_type_name(at), (long long)n, rep, b,
				       b < rb ? got[b] : 0, b < rb ? want[b] : 0);
			}
			hrt_free_aligned(x);
			hrt_free_aligned(got);
			hrt_free_aligned(want);
		}
	}
}

/* F16 and BF16 rows at the edges of the half formats: subnormal halves,
 * ties to even, the overflow threshold (65520 rounds to inf, 65519 not),
 * signed zeros, huge values; every table's bytes equal the reference's */
static void quantize_edges_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	float x[37];
	const float v[] = { 0.0f, -0.0f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-26f, 3e-6f, -6.1e-5f,
			    0x1.ffcp-15f, 1.0f + 0x1p-11f, 1.0f + 0x1.8p-11f, 1.0f + 0x1p-10f + 0x1p-11f,
			    65504.0f, 65519.0f, 65520.0f, -65520.0f, 1e9f, -3.4e38f, 0.1f, -2.5f };
	for (size_t i = 0; i < 37; i++)
		x[i] = v[i % HRT_ARRAY_LEN(v)] * (i >= HRT_ARRAY_LEN(v) ? -1.0f : 1.0f);
	const uint32_t ts[] = { HRT_F16, HRT_BF16 };
	for (size_t t = 0; t < 2; t++) {
		uint16_t got[37], want[37];
		for (int64_t n = 1; n <= 37; n += 12) {
			memset(got, 0x5a, sizeof got);
			memset(want, 0x5a, sizeof want);
			k->quantize[ts[t]](x, got, n);
			hrt_type_get(ts[t])->from_float(x, want, n);
			for (int64_t i = 0; i < 37; i++)
				if (got[i] != want[i]) {
					CHECKF(0, "%s quantize %s n=%lld: x[%lld] = %a gives %04x, ref %04x",
					       cur_isa, hrt_type_name(ts[t]), (long long)n, (long long)i,
					       (double)x[i], got[i], want[i]);
					break;
				}
		}
	}
}

static void test_quantize(void)
{
	each_isa(quantize_one);
	each_isa(quantize_edges_one);
}

static void vec_dot_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	for (size_t i = 0; i < HRT_ARRAY_LEN(w_types); i++) {
		uint32_t wt = w_types[i];
		uint32_t at = hrt_kern_act_type(wt);
		const struct hrt_type_traits *tt = hrt_type_get(wt);
		int64_t ns[NLEN];
		lengths(wt, ns);
		for (int li = 0; li < NLEN; li++) {
			int64_t n = ns[li];
			uint8_t *w = xmalloc(row_bytes(wt, n));
			uint8_t *a = xmalloc(row_bytes(at, n));
			uint8_t *aref = xmalloc(row_bytes(tt->dot_type, n));
			float *x = xmalloc((size_t)n * sizeof(float));
			float *tw = xmalloc((size_t)n * sizeof(float));
			float *ta = xmalloc((size_t)n * sizeof(float));
			for (int rep = 0; rep < 3; rep++) {
				uint64_t seed = 77 + (uint64_t)rep * 1000 + (uint64_t)n + wt;
				fill_blocks(wt, w, n, seed);
				fill_x(x, n, seed ^ 0xabcdef);
				k->quantize[at](x, a, n);
				hrt_type_get(tt->dot_type)->from_float(x, aref, n);
				float got = NAN, want = NAN;
				k->vec_dot[wt](n, &got, w, a);
				tt->vec_dot(n, &want, w, aref);
				/* same activation type: same bytes (checked above) */
				double sc = abs_dot(wt, w, at, a, n, tw, ta);
				if (at != tt->dot_type) {
					/* own activation format: vs the float dot */
					double s = 0;
					for (int64_t e = 0; e < n; e++)
						s += (double)tw[e] * ta[e];
					want = (float)s;
				}
				CHECKF(close_to(got, want, sc),
				       "%s vec_dot %s n=%lld rep %d: %.9g, ref %.9g (scale %.3g)",
				       cur_isa, tt->name, (long long)n, rep, (double)got,
				       (double)want, sc);
			}
			hrt_free_aligned(w);
			hrt_free_aligned(a);
			hrt_free_aligned(aref);
			hrt_free_aligned(x);
			hrt_free_aligned(tw);
			hrt_free_aligned(ta);
		}
	}
}

static void test_vec_dot(void)
{
	each_isa(vec_dot_one);
}

/*
 * gemm tiles, called directly, against vec_dot of the same quantized values:
 * row counts below, at and past the tile and unpack sizes, token counts
 * below, at and past a panel.
 */
static void gemm_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int nrs[] = { 1, 3, 8, 13, 33, 64 };
	static const int nts[] = { 1, 2, 5, 16, 17, 35 };
	for (size_t i = 0; i < HRT_ARRAY_LEN(w_types); i++) {
		uint32_t wt = w_types[i];
		if (!k->gemm[wt])
			continue;
		uint32_t at = hrt_kern_act_type(wt);
		const struct hrt_type_traits *tt = hrt_type_get(wt);
		int64_t ns[NLEN];
		lengths(wt, ns);
		for (int li = 0; li < NLEN; li++) {
			int64_t n = ns[li];
			/* fewer combinations for the long rows (sanitizer time) */
			int maxr = n >= 4096 ? 33 : 64, maxt = n >= 4096 ? 17 : 35;
			size_t wrb = row_bytes(wt, n), arb = row_bytes(at, n);
			size_t arbp = (arb + 63) & ~(size_t)63;
			uint8_t *w = xmalloc(wrb * 64);
			fill_blocks(wt, w, n * 64, 5 + (uint64_t)n + wt);
			float *x = xmalloc((size_t)n * 35 * sizeof(float));
			fill_x(x, n * 35, 99 + (uint64_t)n);
			uint8_t *rows = xmalloc(arbp * 35);
			for (int t = 0; t < 35; t++)
				k->quantize[at](x + (size_t)t * n, rows + (size_t)t * arbp, n);
			/* the panels of all 35 tokens, or the rows */
			size_t pstride = 0;
			uint8_t *pan = NULL;
			if (k->panel[at]) {
				uint64_t nb = (uint64_t)n / hrt_type_get(at)->blck;
				pstride = (size_t)((nb * k->panel_blk_bytes[at] + 63) & ~63ull);
				pan = xmalloc(pstride * (size_t)((35 + k->panel_n - 1) / k->panel_n));
			}
			float *y = xmalloc(67 * 35 * sizeof(float));
			/* expected values and error scales, once */
			float *want = xmalloc((size_t)(maxr * maxt) * sizeof(float));
			double *scale = xmalloc((size_t)(maxr * maxt) * sizeof(double));
			float *dw = xmalloc((size_t)(n * maxr) * sizeof(float));
			float *da = xmalloc((size_t)(n * maxt) * sizeof(float));
			for (int r = 0; r < maxr; r++)
				tt->to_float(w + (size_t)r * wrb, dw + (size_t)r * n, n);
			for (int t = 0; t < maxt; t++)
				hrt_type_get(at)->to_float(rows + (size_t)t * arbp,
							   da + (size_t)t * n, n);
			for (int t = 0; t < maxt; t++)
				for (int r = 0; r < maxr; r++) {
					k->vec_dot[wt](n, &want[t * maxr + r], w + (size_t)r * wrb,
						       rows + (size_t)t * arbp);
					double sc = 0;
					for (int64_t e = 0; e < n; e++)
						sc += fabs((double)dw[(size_t)r * n + e] *
							   da[(size_t)t * n + e]);
					scale[t * maxr + r] = sc;
				}
			for (size_t ri = 0; ri < HRT_ARRAY_LEN(nrs); ri++)
				for (size_t ti = 0; ti < HRT_ARRAY_LEN(nts); ti++) {
					int nr = nrs[ri], nt = nts[ti];
					if (nr > maxr || nt > maxt)
						continue;
					size_t ldy = (size_t)nr + 3;
					const void *act = rows;
					size_t as = arbp;
					if (pan) {
						int P = k->panel_n;
						for (int p = 0; p * P < nt; p++)
							k->panel[at](x + (size_t)p * P * n, (size_t)n,
								     HRT_MIN(P, nt - p * P), n,
								     pan + (size_t)p * pstride);
						act = pan;
						as = pstride;
					}
					for (size_t e = 0; e < 67 * 35; e++)
						y[e] = NAN;
					k->gemm[wt](n, nr, nt, w, wrb, act, as, y, ldy);
					int bad = 0;
					for (int t = 0; t < nt && !bad; t++)
						for (int r = 0; r < nr && !bad; r++) {
							float got = y[(size_t)t * ldy + (size_t)r];
							float wv = want[t * maxr + r];
							if (!close_to(got, wv, scale[t * maxr + r])) {
								CHECKF(0, "%s gemm %s n=%lld nr=%d nt=%d: y[%d][%d] %.9g, vec_dot %.9g",
								       cur_isa, tt->name, (long long)n, nr, nt,
								       t, r, (double)got, (double)wv);
								bad = 1;
							}
						}
					/* nothing written outside the tile */
					for (int t = 0; t < nt && !bad; t++)
						for (size_t r = (size_t)nr; r < ldy; r++)
							if (!isnan(y[(size_t)t * ldy + r])) {
								CHECKF(0, "%s gemm %s wrote past row %d",
								       cur_isa, tt->name, nr);
								bad = 1;
								break;
							}
				}
			hrt_free_aligned(w);
			hrt_free_aligned(x);
			hrt_free_aligned(rows);
			hrt_free_aligned(pan);
			hrt_free_aligned(y);
			hrt_free_aligned(want);
			hrt_free_aligned(scale);
			hrt_free_aligned(dw);
			hrt_free_aligned(da);
		}
	}
}

static void test_gemm(void)
{
	each_isa(gemm_one);
}

/*
 * tile kernels (decode and small batches), called directly, against vec_dot
 * of plain activation rows: the tile layout (tile_quantize) holds the same
 * quantized values. Row counts below, at and past a tile, token counts
 * below, at and past a tile's token group, nothing written outside.
 */
static void tile_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	/* 16 and 33: the AVX-512 row-lane kernels (16 rows, up to 8 tokens a
	 * pass, the rows past a multiple of 16 on the tiles) */
	static const int nrs[] = { 1, 3, 4, 5, 16, 17, 33 };
	static const int nts[] = { 1, 2, 3, 4, 5, 8, 9, 10 };
	enum { MR = 33, MT = 10 };
	for (size_t i = 0; i < HRT_ARRAY_LEN(w_types); i++) {
		uint32_t wt = w_types[i];
		uint32_t at = hrt_kern_act_type(wt);
		if (!k->tile[wt] || !k->tile_n[at])
			continue;
		const struct hrt_type_traits *tt = hrt_type_get(wt);
		int64_t ns[NLEN];
		lengths(wt, ns);
		for (int li = 0; li < NLEN; li++) {
			int64_t n = ns[li];
			size_t wrb = row_bytes(wt, n), arb = row_bytes(at, n);
			size_t arbp = (arb + 63) & ~(size_t)63;
			size_t tstride = arbp;
			if (k->tile_quantize[at]) {
				uint64_t nb = (uint64_t)n / hrt_type_get(at)->blck;
				tstride = (size_t)(((nb + 1) / 2 * 2 * k->tile_blk_bytes[at] + 63) &
						   ~63ull);
			}
			uint8_t *w = xmalloc(wrb * MR);
			fill_blocks(wt, w, n * MR, 11 + (uint64_t)n + wt);
			float *x = xmalloc((size_t)n * MT * sizeof(float));
			fill_x(x, n * MT, 7 + (uint64_t)n);
			uint8_t *rows = xmalloc(arbp * MT), *tl = xmalloc(tstride * MT);
			for (int t = 0; t < MT; t++) {
				k->quantize[at](x + (size_t)t * n, rows + (size_t)t * arbp, n);
				if (k->tile_quantize[at])
					k->tile_quantize[at](x + (size_t)t * n, tl + (size_t)t * tstride, n);
				else
					memcpy(tl + (size_t)t * tstride, rows + (size_t)t * arbp, arb);
			}
			float *dw = xmalloc((size_t)n * sizeof(float));
			float *da = xmalloc((size_t)n * sizeof(float));
			float *y = xmalloc((MR + 3) * MT * sizeof(float));
			for (size_t ri = 0; ri < HRT_ARRAY_LEN(nrs); ri++)
				for (size_t ti = 0; ti < HRT_ARRAY_LEN(nts); ti++) {
					int nr = nrs[ri], nt = nts[ti], bad = 0;
					size_t ldy = (size_t)nr + 3;
					for (size_t e = 0; e < (MR + 3) * MT; e++)
						y[e] = NAN;
					k->tile[wt](n, nr, nt, w, wrb, tl, tstride, y, ldy);
					for (int t = 0; t < nt && !bad; t++) {
						hrt_type_get(at)->to_float(rows + (size_t)t * arbp, da, n);
						for (int r = 0; r < nr && !bad; r++) {
							float want, got = y[(size_t)t * ldy + (size_t)r];
							k->vec_dot[wt](n, &want, w + (size_t)r * wrb,
								       rows + (size_t)t * arbp);
							tt->to_float(w + (size_t)r * wrb, dw, n);
							double sc = 0;
							for (int64_t e = 0; e < n; e++)
								sc += fabs((double)dw[e] * da[e]);
							if (!close_to(got, want, sc)) {
								CHECKF(0, "%s tile %s n=%lld nr=%d nt=%d: y[%d][%d] %.9g, vec_dot %.9g",
								       cur_isa, tt->name, (long long)n, nr, nt,
								       t, r, (double)got, (double)want);
								bad = 1;
							}
						}
						for (size_t r = (size_t)nr; r < ldy && !bad; r++)
							if (!isnan(y[(size_t)t * ldy + r])) {
								CHECKF(0, "%s tile %s wrote past row %d",
								       cur_isa, tt->name, nr);
								bad = 1;
							}
					}
				}
			hrt_free_aligned(w);
			hrt_free_aligned(x);
			hrt_free_aligned(rows);
			hrt_free_aligned(tl);
			hrt_free_aligned(dw);
			hrt_free_aligned(da);
			hrt_free_aligned(y);
		}
	}
}

static void test_tile(void)
{
	each_isa(tile_one);
}

/*
 * The driver: Y = X W^T for n tokens against a naive double product of the
 * dequantized weights and the dequantized activations (quantized with the
 * reference quantizer of the activation type: same values), with 1 and 2
 * threads, for decode (n = 1) and prompt shapes.
 */
static struct hrt_pool *pools[2];

/* sum over the blocks of a Q4_1/Q5_1 row (bs bytes per block: d, m, ...)
 * of |m| * |sum of the block's activations| */
static double min_term(const uint8_t *row, size_t bs, const float *a, int64_t n)
{
	double s = 0;
	for (int64_t b = 0; b < n / 32; b++, row += bs) {
		uint16_t m;
		memcpy(&m, row + 2, 2);
		double as = 0;
		for (int k = 0; k < 32; k++)
			as += a[32 * b + k];
		s += fabs((double)hrt_fp16_to_f32(m)) * fabs(as);
	}
	return s;
}

/* Y = X W^T of nrows x ncols weights of type wt against each token count
 * in toks (1 and 2 threads) against the naive product; the weight rows
 * start misalign bytes past a 64-byte boundary */
static void matmul_case(uint32_t wt, int64_t ncols, int64_t nrows, const int *toks, int ntoks,
			size_t misalign)
{
	uint32_t at = hrt_kern_act_type(wt);
	int nmax = 1;
	for (int i = 0; i < ntoks; i++)
		nmax = HRT_MAX(nmax, toks[i]);
	struct hrt_wt W = { wt, ncols, nrows, row_bytes(wt, ncols), NULL };
	uint8_t *wbuf = xmalloc(W.row_bytes * (size_t)nrows + misalign), *wd = wbuf + misalign;
	fill_blocks(wt, wd, ncols * nrows, 31 + (uint64_t)nrows + wt);
	W.data = wd;
	float *deq = xmalloc((size_t)(ncols * nrows) * sizeof(float));
	for (int64_t r = 0; r < nrows; r++)
		hrt_wt_row(&W, r, deq + r * ncols);
	float *X = xmalloc((size_t)(ncols * nmax) * sizeof(float));
	fill_x(X, ncols * nmax, 8 + (uint64_t)nrows);
	float *Xq = xmalloc((size_t)(ncols * nmax) * sizeof(float));
	uint8_t *tmp = xmalloc(row_bytes(at, ncols));
	for (int t = 0; t < nmax; t++) {
		hrt_type_get(at)->from_float(X + t * ncols, tmp, ncols);
		hrt_type_get(at)->to_float(tmp, Xq + t * ncols, ncols);
	}
	float *Y = xmalloc((size_t)(nrows * nmax) * sizeof(float));
	for (int ti = 0; ti < ntoks; ti++)
		for (int th = 0; th < 2; th++) {
			int n = toks[ti];
			void *scr = xmalloc(hrt_matmul_scratch(wt, ncols, n));
			hrt_matmul(pools[th], &W, X, n, Y, scr);
			int bad = 0;
			for (int t = 0; t < n && !bad; t++)
				for (int64_t r = 0; r < nrows && !bad; r++) {
					double s = 0, sc = 0;
					for (int64_t e = 0; e < ncols; e++) {
						double p = (double)deq[r * ncols + e] * Xq[t * ncols + e];
						s += p;
						sc += fabs(p);
					}
					/* Q4_1/Q5_1 take the block sums of the
					 * activations as fp16 (Q8_1's s, as ggml):
					 * m * s is off by up to 2^-10 relative: d and s
					 * both rounded to fp16 */
					if (at == HRT_Q8_1)
						sc += min_term(wd + (size_t)r * W.row_bytes,
							       hrt_type_get(wt)->size, Xq + t * ncols,
							       ncols) * 0x1p-10 / REL_TOL;
					float got = Y[(size_t)t * (size_t)nrows + (size_t)r];
					if (!close_to(got, s, sc)) {
						CHECKF(0, "%s matmul %s %lldx%lld+%zu n=%d threads=%d: Y[%d][%lld] %.9g, naive %.9g",
						       cur_isa, hrt_type_name(wt), (long long)nrows,
						       (long long)ncols, misalign, n, th + 1, t, (long long)r,
						       (double)got, s);
						bad = 1;
					}
				}
			hrt_free_aligned(scr);
		}
	hrt_free_aligned(wbuf);
	hrt_free_aligned(deq);
	hrt_free_aligned(X);
	hrt_free_aligned(Xq);
	hrt_free_aligned(tmp);
	hrt_free_aligned(Y);
}

static void matmul_one(void)
{
	static const int toks[] = { 1, 2, 7, 16, 37 };
	static const int64_t rows_n[] = { 1, 19, 100 };
	for (size_t i = 0; i < HRT_ARRAY_LEN(w_types); i++) {
		uint32_t wt = w_types[i];
		int64_t ncols = hrt_type_get(wt)->blck == 256 ? 768 : 96;
		for (size_t ri = 0; ri < HRT_ARRAY_LEN(rows_n); ri++)
			matmul_case(wt, ncols, rows_n[ri], toks, (int)HRT_ARRAY_LEN(toks), 0);
		/* float rows of any length: tails of every float kernel's steps
		 * (16 columns; 64 in decode) */
		if (hrt_type_get(wt)->blck == 1)
			for (size_t ri = 0; ri < HRT_ARRAY_LEN(rows_n); ri++)
				matmul_case(wt, 101, rows_n[ri], toks, (int)HRT_ARRAY_LEN(toks), 0);
	}
}

/* fn on every table with pools of 1 and 2 threads */
static void each_isa_pools(void (*fn)(void))
{
	pools[0] = hrt_pool_new(1);
	pools[1] = hrt_pool_new(2);
	CHECK(pools[0] && pools[1]);
	if (pools[0] && pools[1])
		each_isa(fn);
	hrt_pool_free(pools[0]);
	hrt_pool_free(pools[1]);
}

static void test_matmul(void)
{
	each_isa_pools(matmul_one);
}

/*
 * Decode layouts (dec[] of the table: Q4_0, Q8_0, Q4_K, Q5_K and Q6_K
 * on AVX-512, Q4_0 on AVX2): one token against rows of 1024 and 3072 columns (one and three
 * periods of the AVX-512 Q4_0 chunk pattern), rows on and off 64-byte
 * boundaries (quantized types), and 1088, 2016 and 896 (a period and 2
 * or 31 blocks, or 28 blocks alone: the chunk decodes take blocks after
 * the last whole period one by one), every weight type (the others take
 * their usual path at these shapes); and the layout is in use where the table
 * has it, at its multiple of columns only (the key of one token differs
 * from two tokens').
 */
static void matmul_dec_one(void)
{
	static const int toks[] = { 1, 2 };
	static const int64_t cols_n[] = { 1024, 3072, 1088, 2016, 896 };
	static const int64_t rows_n[] = { 1, 19, 100 };
	static const size_t mis[] = { 0, 2, 36 };
	const struct hrt_kern_isa *k = hrt_kern();
	for (size_t i = 0; i < HRT_ARRAY_LEN(w_types); i++) {
		uint32_t wt = w_types[i];
		if (k->dec[wt]) {
			/* in use at its multiple of columns, and only there
			 * (where that multiple is more than one block) */
			const int64_t dc = k->dec_cols[wt], blck = hrt_type_get(wt)->blck;
			CHECKF(hrt_kern_act_key(wt, dc, 1) != hrt_kern_act_key(wt, dc, 2) &&
				       (dc == blck || hrt_kern_act_key(wt, dc + blck, 1) ==
							      hrt_kern_act_key(wt, dc + blck, 2)),
			       "%s %s: decode layout at %lld columns only", cur_isa, hrt_type_name(wt),
			       (long long)dc);
		} else
			CHECK(hrt_kern_act_key(wt, 1024, 1) == hrt_kern_act_type(wt));
		for (size_t ci = 0; ci < HRT_ARRAY_LEN(cols_n); ci++)
			for (size_t ri = 0; ri < HRT_ARRAY_LEN(rows_n); ri++)
				for (size_t mi = 0; mi < HRT_ARRAY_LEN(mis); mi++)
					/* a file's float rows are aligned; blocks, 2 bytes;
					 * 1088 columns are no k-quant row */
					if ((!mis[mi] || hrt_type_get(wt)->blck > 1) &&
					    cols_n[ci] % hrt_type_get(wt)->blck == 0)
						matmul_case(wt, cols_n[ci], rows_n[ri], toks,
							    (int)HRT_ARRAY_LEN(toks), mis[mi]);
	}
}

static void test_matmul_dec(void)
{
	each_isa_pools(matmul_dec_one);
}

/* read_sum of every table: the exact sum mod 2^64 of words that carry
 * into the top bit, over lengths of one line, odd numbers of lines and a
 * few thousand, from an offset past a line boundary too */
static void read_sum_one(void)
{
	static const size_t lens[] = { 8, 16, 24, 56, 1000, 4104 };
	uint64_t *w = xmalloc((4104 + 8) * sizeof(uint64_t));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < 4104 + 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		w[i] = x;
	}
	for (size_t li = 0; li < HRT_ARRAY_LEN(lens); li++)
		for (size_t off = 0; off < 8; off += 5) {
			uint64_t want = 0;
			for (size_t i = 0; i < lens[li]; i++)
				want += w[off + i];
			CHECKF(hrt_kern()->read_sum(w + off, lens[li]) == want,
			       "%s read_sum of %zu words from %zu", cur_isa, lens[li], off);
		}
	hrt_free_aligned(w);
}

static void test_read_sum(void)
{
	each_isa(read_sum_one);
}

/*
 * The decode kernels' two instantiations, one per prefetch mode (kern/
 * prefetch.h: every line, specialised, or the sparse walk; the CPU's
 * vendor picks one, the environment may pick another): the products and
 * decode layouts of every table again in each mode, which differ only in
 * their prefetches, so every result must be the oracle's as before.
 */
extern uint32_t hrt_pf_ahead, hrt_pf_every, hrt_pf_far; /* kern/kern.c */

static void test_prefetch_modes(void)
{
#if defined(__x86_64__)
	static const uint32_t modes[][3] = { { 4096, 64, 4096 }, { 4608, 2048, 0 } };
	const uint32_t a = hrt_pf_ahead, e = hrt_pf_every, f = hrt_pf_far;
	for (size_t i = 0; i < HRT_ARRAY_LEN(modes); i++) {
		hrt_pf_ahead = modes[i][0];
		hrt_pf_every = modes[i][1];
		hrt_pf_far = modes[i][2];
		printf("# prefetch %u ahead, every %u, far %u\n", hrt_pf_ahead, hrt_pf_every,
		       hrt_pf_far);
		test_vec_dot();
		test_matmul_dec();
		test_read_sum();
	}
	hrt_pf_ahead = a;
	hrt_pf_every = e;
	hrt_pf_far = f;
#else
	printf("# skip: the prefetch modes are the x86 kernels'\n");
#endif
}

/* shared activations (hrt_matmul_quantize once, hrt_matmul_pre for two
 * matrices of types with the same activation key), larger shapes: a
 * batch, and one token (2048 columns: a decode layout where the table has
 * one, then not shared between Q4_0 and Q8_0) */
static void matmul_pre_one(void)
{
	static const uint32_t pairs[][2] = { { HRT_Q4_K, HRT_Q6_K }, { HRT_Q4_0, HRT_Q8_0 } };
	static const int64_t shapes[][2] = { { 2304, 21 }, { 2048, 1 } };
	struct hrt_pool *pool = hrt_pool_new(2);
	for (size_t pi = 0; pi < 2 * HRT_ARRAY_LEN(pairs); pi++) {
		const uint32_t *pr = pairs[pi % HRT_ARRAY_LEN(pairs)];
		int64_t ncols = shapes[pi / HRT_ARRAY_LEN(pairs)][0], nrows = 80;
		int n = (int)shapes[pi / HRT_ARRAY_LEN(pairs)][1];
		if (hrt_kern_act_key(pr[0], ncols, n) != hrt_kern_act_key(pr[1], ncols, n))
			continue;
		float *X = xmalloc((size_t)(ncols * n) * sizeof(float));
		fill_x(X, ncols * n, 4242);
		size_t need = HRT_MAX(hrt_matmul_scratch(pr[0], ncols, n),
				      hrt_matmul_scratch(pr[1], ncols, n));
		void *act = xmalloc(need);
		size_t st = hrt_matmul_quantize(pool, pr[0], ncols, X, n, act);
		for (int m = 0; m < 2; m++) {
			uint32_t wt = pr[m];
			struct hrt_wt W = { wt, ncols, nrows, row_bytes(wt, ncols), NULL };
			uint8_t *wd = xmalloc(W.row_bytes * (size_t)nrows);
			fill_blocks(wt, wd, ncols * nrows, 555 + (uint64_t)m);
			W.data = wd;
			float *Y = xmalloc((size_t)(nrows * n) * sizeof(float));
			float *Y2 = xmalloc((size_t)(nrows * n) * sizeof(float));
			void *scr = xmalloc(hrt_matmul_scratch(wt, ncols, n));
			hrt_matmul_pre(pool, &W, act, st, n, Y);
			hrt_matmul(NULL, &W, X, n, Y2, scr);
			for (size_t e = 0; e < (size_t)(nrows * n); e++)
				if (Y[e] != Y2[e]) {
					CHECKF(0, "%s matmul_pre %s: element %zu %.9g vs %.9g", cur_isa,
					       hrt_type_name(wt), e, (double)Y[e], (double)Y2[e]);
					break;
				}
			hrt_free_aligned(wd);
			hrt_free_aligned(Y);
			hrt_free_aligned(Y2);
			hrt_free_aligned(scr);
		}
		hrt_free_aligned(X);
		hrt_free_aligned(act);
	}
	hrt_pool_free(pool);
}

static void test_matmul_pre(void)
{
	each_isa(matmul_pre_one);
}

/* several matrices in one job (hrt_matmul_pre_n): each part's rows and
 * activations as alone, whatever its kind (a decode layout, tiles, rows,
 * panels: these run one job each), with row counts off the 16-row unit so
 * claimed units straddle parts, on 1, 2 and 3 threads; five parts make two
 * jobs */
static void matmul_pre_n_one(void)
{
	static const uint32_t types[] = { HRT_Q4_K, HRT_Q6_K, HRT_Q4_0, HRT_Q8_0, HRT_Q4_K };
	static const int64_t nrows[] = { 40, 23, 72, 9, 33 };
	static const int toks[] = { 1, 3, 21 };
	const int64_t ncols = 2048;
	enum { NP = 5 };
	for (int th = 1; th <= 3; th++) {
		struct hrt_pool *pool = hrt_pool_new(th);
		for (size_t ti = 0; ti < HRT_ARRAY_LEN(toks); ti++) {
			int n = toks[ti];
			float *X = xmalloc((size_t)(ncols * n) * sizeof(float));
			fill_x(X, ncols * n, 77 + (uint64_t)n);
			struct hrt_wt W[NP];
			struct hrt_mm_part parts[NP];
			float *Y2[NP];
			void *act[NP];
			for (int m = 0; m < NP; m++) {
				uint32_t wt = types[m];
				W[m] = (struct hrt_wt){ wt, ncols, nrows[m], row_bytes(wt, ncols), NULL };
				uint8_t *wd = xmalloc(W[m].row_bytes * (size_t)nrows[m]);
				fill_blocks(wt, wd, ncols * nrows[m], 900 + (uint64_t)m);
				W[m].data = wd;
				act[m] = xmalloc(hrt_matmul_scratch(wt, ncols, n));
				size_t st = hrt_matmul_quantize(pool, wt, ncols, X, n, act[m]);
				float *Y = xmalloc((size_t)(nrows[m] * n) * sizeof(float));
				for (size_t e = 0; e < (size_t)(nrows[m] * n); e++)
					Y[e] = NAN;
				parts[m] = (struct hrt_mm_part){ &W[m], act[m], st, Y };
				Y2[m] = xmalloc((size_t)(nrows[m] * n) * sizeof(float));
				void *scr = xmalloc(hrt_matmul_scratch(wt, ncols, n));
				hrt_matmul(NULL, &W[m], X, n, Y2[m], scr);
				hrt_free_aligned(scr);
			}
			hrt_matmul_pre_n(pool, parts, NP, n);
			for (int m = 0; m < NP; m++) {
				for (size_t e = 0; e < (size_t)(nrows[m] * n); e++)
					if (!(parts[m].Y[e] == Y2[m][e])) {
						CHECKF(0, "%s matmul_pre_n part %d (%s) n=%d th=%d: "
						       "element %zu %.9g vs %.9g", cur_isa, m,
						       hrt_type_name(types[m]), n, th, e,
						       (double)parts[m].Y[e], (double)Y2[m][e]);
						break;
					}
				hrt_free_aligned((void *)W[m].data);
				hrt_free_aligned(parts[m].Y);
				hrt_free_aligned(Y2[m]);
				hrt_free_aligned(act[m]);
			}
			hrt_free_aligned(X);
		}
		hrt_pool_free(pool);
	}
}

static void test_matmul_pre_n(void)
{
	each_isa(matmul_pre_n_one);
}

/*
 * The first job of a new pool runs on all its threads: each of two tasks
 * waits (bounded) until the other has started, which only two threads can
 * do. A worker that missed the first job left it to the caller alone.
 */
struct rendezvous {
	atomic_int started;
	atomic_int met;
};

static void meet(void *ctx, int ith, int nth)
{
	struct rendezvous *r = ctx;
	(void)ith;
	atomic_fetch_add(&r->started, 1);
	/* ~10 s at most, then give up (a failure, not a hang) */
	for (long i = 0; i < 100000000L && atomic_load(&r->started) < nth; i++)
		if (i % 1024 == 0)
			sched_yield();
	if (atomic_load(&r->started) >= nth)
		atomic_fetch_add(&r->met, 1);
}

static void test_pool_first_job(void)
{
	for (int round = 0; round < 20; round++) {
		struct hrt_pool *p = hrt_pool_new(2);
		CHECK(p != NULL);
		if (!p)
			return;
		struct rendezvous r;
		atomic_init(&r.started, 0);
		atomic_init(&r.met, 0);
		hrt_pool_run_n(p, meet, &r, 2);
		CHECKF(atomic_load(&r.met) == 2, "round %d: the two tasks of a new pool's first job "
		       "did not run at the same time", round);
		hrt_pool_free(p);
		if (atomic_load(&r.met) != 2)
			return;
	}
}

/*
 * Segments with stealing (pool.h): a scripted interleaving with known
 * claims, the empty and short cases, then every unit claimed exactly once
 * when 4 threads race owner and thief claims over small units.
 */
static void test_pool_segs(void)
{
	struct hrt_pool_seg s[4];
	long u0 = -1, u1 = -1;
	hrt_pool_segs_init(s, 3, 10); /* [0,4) [4,7) [7,10) */
	CHECK(hrt_pool_seg_claim(&s[0], true, 3, &u0, &u1) && u0 == 0 && u1 == 3);
	CHECK(hrt_pool_seg_claim(&s[0], true, 3, &u0, &u1) && u0 == 3 && u1 == 4);
	CHECK(!hrt_pool_seg_claim(&s[0], true, 3, &u0, &u1));
	CHECK(hrt_pool_segs_fullest(s, 3) == 1); /* 3 and 3 left: the first */
	CHECK(hrt_pool_seg_left(&s[0]) == 0 && hrt_pool_seg_left(&s[1]) == 3);
	CHECK(hrt_pool_seg_claim(&s[1], false, 1, &u0, &u1) && u0 == 6 && u1 == 7);
	CHECK(hrt_pool_segs_fullest(s, 3) == 2);
	CHECK(hrt_pool_seg_claim(&s[2], false, 5, &u0, &u1) && u0 == 7 && u1 == 10);
	CHECK(hrt_pool_seg_claim(&s[1], true, 4, &u0, &u1) && u0 == 4 && u1 == 6);
	CHECK(hrt_pool_segs_fullest(s, 3) == -1);
	CHECK(!hrt_pool_seg_claim(&s[1], false, 1, &u0, &u1));
	hrt_pool_segs_init(s, 4, 2); /* fewer units than segments */
	CHECK(hrt_pool_seg_claim(&s[0], true, 9, &u0, &u1) && u0 == 0 && u1 == 1);
	CHECK(hrt_pool_segs_fullest(s, 4) == 1);
	CHECK(!hrt_pool_seg_claim(&s[2], true, 1, &u0, &u1));
	hrt_pool_segs_init(s, 2, 0);
	CHECK(hrt_pool_segs_fullest(s, 2) == -1);
}

struct seg_race {
	struct hrt_pool_seg seg[4];
	atomic_int *hits;
	long k;
};

static void seg_race_task(void *ctx, int ith, int nth)
{
	struct seg_race *r = ctx;
	long u0, u1;
	int v;
	(void)nth;
	while (hrt_pool_seg_claim(&r->seg[ith], true, r->k, &u0, &u1))
		for (long u = u0; u < u1; u++)
			atomic_fetch_add_explicit(&r->hits[u], 1, memory_order_relaxed);
	while ((v = hrt_pool_segs_fullest(r->seg, 4)) >= 0)
		if (hrt_pool_seg_claim(&r->seg[v], false, 1, &u0, &u1))
			for (long u = u0; u < u1; u++)
				atomic_fetch_add_explicit(&r->hits[u], 1, memory_order_relaxed);
}

static void test_pool_segs_race(void)
{
	enum { N = 20011 };
	struct hrt_pool *p = hrt_pool_new(4);
	atomic_int *hits = xmalloc(N * sizeof(*hits));
	CHECK(p != NULL);
	for (int round = 0; p && round < 20; round++) {
		static struct seg_race r __attribute__((aligned(64)));
		for (long u = 0; u < N; u++)
			atomic_init(&hits[u], 0);
		r.hits = hits;
		r.k = 1 + round % 5;
		hrt_pool_segs_init(r.seg, 4, N);
		hrt_pool_run_n(p, seg_race_task, &r, 4);
		long bad = -1;
		for (long u = 0; u < N && bad < 0; u++)
			if (atomic_load(&hits[u]) != 1)
				bad = u;
		CHECKF(bad < 0, "round %d: unit %ld claimed %d times", round, bad,
		       bad < 0 ? 1 : atomic_load(&hits[bad]));
		if (bad >= 0)
			break;
	}
	hrt_free_aligned(hits);
	hrt_pool_free(p);
}

/*
 * hrt_pool_self: 0 on the caller and on a pool's own threads asked about
 * another pool, the worker's index on a worker (the two tasks of a job
 * meet, so both threads run one). hrt_pool_warm: a hint to memory that is
 * unmapped before the worker reads it does not fault (prefetches only),
 * nor does one longer than the pool or naming fewer threads.
 */
struct self_rec {
	struct rendezvous r;
	struct hrt_pool *p, *other;
	atomic_int seen[2], other_nonzero;
};

static void self_task(void *ctx, int ith, int nth)
{
	struct self_rec *s = ctx;
	int i = hrt_pool_self(s->p);
	if (i >= 0 && i < 2)
		atomic_fetch_add(&s->seen[i], 1);
	if (hrt_pool_self(s->other))
		atomic_fetch_add(&s->other_nonzero, 1);
	meet(&s->r, ith, nth);
}

static void test_pool_self_warm(void)
{
	struct hrt_pool *p = hrt_pool_new(2), *q = hrt_pool_new(2);
	CHECK(p && q);
	if (!p || !q)
		goto out;
	CHECK(hrt_pool_self(p) == 0 && hrt_pool_self(NULL) == 0);
	struct self_rec s = { .p = p, .other = q };
	atomic_init(&s.r.started, 0);
	atomic_init(&s.r.met, 0);
	atomic_init(&s.seen[0], 0);
	atomic_init(&s.seen[1], 0);
	atomic_init(&s.other_nonzero, 0);
	hrt_pool_run_n(p, self_task, &s, 2);
	CHECKF(atomic_load(&s.r.met) == 2 && atomic_load(&s.seen[0]) == 1 &&
	       atomic_load(&s.seen[1]) == 1 && atomic_load(&s.other_nonzero) == 0,
	       "hrt_pool_self: caller %d, worker %d, another pool's index %d times",
	       atomic_load(&s.seen[0]), atomic_load(&s.seen[1]), atomic_load(&s.other_nonzero));

	size_t n = (size_t)4 << 20;
	char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		goto out;
	memset(m, 1, n);
	const void *at[4] = { m, m, m + n / 2, m };
	size_t len[4] = { n, n, n / 2, n };
	const struct timespec ms = { 0, 2000000 };
	hrt_pool_warm(p, at, len, 2);
	nanosleep(&ms, NULL);
	munmap(m, n); /* the hint now names unmapped memory */
	hrt_pool_warm(p, at, len, 2);
	nanosleep(&ms, NULL);
	hrt_pool_warm(p, at, len, 4); /* more entries than threads */
	nanosleep(&ms, NULL);
	hrt_pool_warm(p, at, len, 1); /* the caller's only: clears the hint */
	atomic_init(&s.r.started, 0);
	atomic_init(&s.r.met, 0);
	hrt_pool_run_n(p, meet, &s.r, 2);
	CHECK(atomic_load(&s.r.met) == 2);
out:
	hrt_pool_free(p);
	hrt_pool_free(q);
}

/*
 * The warm hint's ranges: each thread's segment of the job's row units,
 * from its first row to the end of the segment or of the matrix it starts
 * in; none for one thread.
 */
static void test_matmul_warm_ranges(void)
{
	const int64_t nc = 256;
	const size_t rb = row_bytes(HRT_Q8_0, nc);
	struct hrt_wt q = { HRT_Q8_0, nc, 2048, rb, (void *)0x100000 };
	struct hrt_wt k = { HRT_Q8_0, nc, 512, rb, (void *)0x900000 };
	struct hrt_wt v = { HRT_Q8_0, nc, 40, rb, (void *)0xa00000 };
	const struct hrt_wt *qkv[3] = { &q, &k, &v };
	const void *p[8];
	size_t len[8];
	/* 2048 rows: 128 units of 16, thread 1 from row 1024 */
	CHECK(hrt_matmul_warm_ranges(2, qkv, 1, 1, p, len) == 2);
	CHECK(p[0] == q.data && len[0] == 1024 * rb);
	CHECK(p[1] == (char *)q.data + 1024 * rb && len[1] == 1024 * rb);
	/* q, k, v: 128 + 32 + 3 units; thread 1 from unit 82 (q row 1312),
	 * its range ending with q */
	CHECK(hrt_matmul_warm_ranges(2, qkv, 3, 1, p, len) == 2);
	CHECK(p[0] == q.data && len[0] == 1312 * rb);
	CHECK(p[1] == (char *)q.data + 1312 * rb && len[1] == (2048 - 1312) * rb);
	/* v alone: 3 units (the last of 8 rows); 3 threads one each, the last
	 * stopping at the matrix's end */
	CHECK(hrt_matmul_warm_ranges(3, &qkv[2], 1, 1, p, len) == 3);
	CHECK(p[2] == (char *)v.data + 32 * rb && len[2] == 8 * rb);
	/* more threads than units: one segment per unit */
	CHECK(hrt_matmul_warm_ranges(7, &qkv[2], 1, 1, p, len) == 3);
	CHECK(hrt_matmul_warm_ranges(1, qkv, 3, 1, p, len) == 0);
}

/*
 * A product gives the same bits on 1, 2, 3 and 7 threads (the split moves
 * row units between threads, never changes how a row is computed), for
 * decode and small batches over 805 rows (50 units and a partial one).
 */
static void matmul_threads_one(void)
{
	static const uint32_t types[] = { HRT_Q4_0, HRT_Q8_0, HRT_Q4_K, HRT_Q6_K, HRT_F16 };
	static const int toks[] = { 1, 3, 8 };
	struct hrt_pool *pl[4] = { hrt_pool_new(1), hrt_pool_new(2), hrt_pool_new(3),
				   hrt_pool_new(7) };
	const int64_t nrows = 805, ncols = 512;
	float *X = xmalloc((size_t)(ncols * 8) * sizeof(float));
	float *Y0 = xmalloc((size_t)(nrows * 8) * sizeof(float));
	float *Y = xmalloc((size_t)(nrows * 8) * sizeof(float));
	fill_x(X, ncols * 8, 77);
	for (size_t i = 0; i < HRT_ARRAY_LEN(types) && pl[0] && pl[1] && pl[2] && pl[3]; i++) {
		uint32_t wt = types[i];
		struct hrt_wt W = { wt, ncols, nrows, row_bytes(wt, ncols), NULL };
		uint8_t *wd = xmalloc(W.row_bytes * (size_t)nrows);
		fill_blocks(wt, wd, ncols * nrows, 900 + wt);
		W.data = wd;
		for (size_t ti = 0; ti < HRT_ARRAY_LEN(toks); ti++) {
			int n = toks[ti];
			void *scr = xmalloc(hrt_matmul_scratch(wt, ncols, n));
			hrt_matmul(pl[0], &W, X, n, Y0, scr);
			for (int pi = 1; pi < 4; pi++)
				for (int rep = 0; rep < 5; rep++) {
					memset(Y, 0xff, (size_t)(nrows * n) * sizeof(float));
					const struct hrt_wt *wp = &W;
					if (rep % 2) /* a warm hint first, as decode gives */
						hrt_matmul_warm(pl[pi], &wp, 1, n);
					hrt_matmul(pl[pi], &W, X, n, Y, scr);
					CHECKF(!memcmp(Y, Y0, (size_t)(nrows * n) * sizeof(float)),
					       "%s matmul %s n=%d: %d threads differ from 1", cur_isa,
					       hrt_type_name(wt), n, hrt_pool_size(pl[pi]));
				}
			hrt_free_aligned(scr);
		}
		hrt_free_aligned(wd);
	}
	hrt_free_aligned(X);
	hrt_free_aligned(Y0);
	hrt_free_aligned(Y);
	for (int pi = 0; pi < 4; pi++)
		hrt_pool_free(pl[pi]);
}

static void test_matmul_threads(void)
{
	each_isa(matmul_threads_one);
}

/*
 * SwiGLU of every table against double precision: lengths around the
 * vector widths, values from -100 (e^100 overflows float) to 100, and the
 * element just past n untouched.
 */
static void swiglu_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t lens[] = { 1, 7, 8, 15, 16, 17, 33, 8192 };
	for (size_t li = 0; li < HRT_ARRAY_LEN(lens); li++) {
		int64_t n = lens[li];
		float *h = xmalloc((size_t)(n + 1) * sizeof(float));
		float *g = xmalloc((size_t)n * sizeof(float));
		double worst = 0;
		for (int64_t i = 0; i < n; i++) {
			h[i] = i % 9 == 0 ? (float)((i / 9) % 2 ? 100 : -100)
					  : (float)(((i * 37) % 201) - 100) / 10.0f;
			g[i] = (float)((i * 13) % 17) / 8.0f - 1.0f;
		}
		h[n] = 12345.0f;
		float *h0 = xmalloc((size_t)n * sizeof(float));
		memcpy(h0, h, (size_t)n * sizeof(float));
		k->swiglu(h, g, n);
		for (int64_t i = 0; i < n; i++) {
			double x = h0[i], want = x / (1.0 + exp(-x)) * g[i];
			double err = fabs(h[i] - want) / (fabs(want) + 1e-6);
			if (err > worst)
				worst = err;
		}
		CHECKF(worst < 1e-5, "%s swiglu n=%lld: worst relative error %g", cur_isa,
		       (long long)n, worst);
		CHECKF(h[n] == 12345.0f, "%s swiglu n=%lld wrote past the end", cur_isa,
		       (long long)n);
		hrt_free_aligned(h);
		hrt_free_aligned(g);
		hrt_free_aligned(h0);
	}
}

static void test_swiglu(void)
{
	each_isa(swiglu_one);
}

/*
 * softmax of every table against double precision: lengths around the
 * vector widths, scores spread over +-50 (so that some terms underflow),
 * sums to 1, nothing written past n.
 */
static void softmax_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t lens[] = { 1, 7, 8, 9, 15, 16, 17, 100, 1000 };
	uint64_t seed = 5;
	for (size_t li = 0; li < HRT_ARRAY_LEN(lens); li++) {
		int64_t n = lens[li];
		float *x = xmalloc((size_t)(n + 1) * sizeof(float));
		double *want = xmalloc((size_t)n * sizeof(double));
		double mx = -INFINITY, sum = 0;
		for (int64_t i = 0; i < n; i++) {
			x[i] = (rng_unif(&seed) - 0.5f) * (i % 5 == 0 ? 100.0f : 4.0f);
			mx = x[i] > mx ? x[i] : mx;
		}
		for (int64_t i = 0; i < n; i++)
			sum += want[i] = exp(x[i] - mx);
		x[n] = 12345.0f;
		k->softmax(x, n);
		double worst = 0, got_sum = 0;
		for (int64_t i = 0; i < n; i++) {
			double w = want[i] / sum, err = fabs(x[i] - w) / (w + 1e-7);
			worst = err > worst ? err : worst;
			got_sum += x[i];
		}
		CHECKF(worst < 1e-5, "%s softmax n=%lld: worst relative error %g", cur_isa,
		       (long long)n, worst);
		CHECKF(fabs(got_sum - 1.0) < 1e-5, "%s softmax n=%lld sums to %.9f", cur_isa,
		       (long long)n, got_sum);
		CHECKF(x[n] == 12345.0f, "%s softmax n=%lld wrote past the end", cur_isa,
		       (long long)n);
		hrt_free_aligned(x);
		hrt_free_aligned(want);
	}
}

static void test_softmax(void)
{
	each_isa(softmax_one);
}

/* element [i][j] of an attention kernel's output in double precision, and
 * the magnitude of its terms */
typedef void (*att_want_fn)(const void *ctx, int i, int64_t j, double *want, double *mag);

/*
 * out: rows of os floats, all NaN before the kernel ran. Rows < nq,
 * columns < nc must be their want within 1e-5 of the terms' magnitude
 * (NaN fails); every other float must still be NaN (nothing written past
 * nq or nc). One message on the first difference; 1 if there was one.
 */
static int att_check(const char *label, const float *out, size_t os, int rows, int nq,
		     int64_t nc, att_want_fn f, const void *ctx)
{
	for (int i = 0; i < rows; i++)
		for (int64_t j = 0; j < (int64_t)os; j++) {
			float got = out[(size_t)i * os + (size_t)j];
			if (i >= nq || j >= nc) {
				if (!isnan(got)) {
					CHECKF(0, "%s %s wrote [%d][%lld]", cur_isa, label, i, (long long)j);
					return 1;
				}
				continue;
			}
			double want, mag;
			f(ctx, i, j, &want, &mag);
			if (!(fabs(got - want) <= 1e-5 * mag + 1e-6)) {
				CHECKF(0, "%s %s: [%d][%lld] %.9g, want %.9g", cur_isa, label, i,
				       (long long)j, (double)got, want);
				return 1;
			}
		}
	return 0;
}

static float *nan_floats(size_t n)
{
	float *x = xmalloc(n * sizeof(float));
	for (size_t e = 0; e < n; e++)
		x[e] = NAN;
	return x;
}

struct qk_case {
	const uint16_t *k;
	const float *q;
	size_t ks, qs;
	int64_t n; /* length of the sums */
};

/* values: probabilities q[i] against value row j */
static void qk_want(const void *ctx, int i, int64_t j, double *want, double *mag)
{
	const struct qk_case *c = ctx;
	*want = *mag = 0;
	for (int64_t p = 0; p < c->n; p++) {
		double x = (double)c->q[(size_t)i * c->qs + (size_t)p] *
			   hrt_fp16_to_f32(c->k[(size_t)j * c->ks + (size_t)p]);
		*want += x;
		*mag += fabs(x);
	}
}

/*
 * weighted values against an F16 cache (every table): lengths
 * on and off the kernel's 16-wide steps (head sizes, and 1001 as for long
 * contexts), 1-4 vectors, row counts around its steps of 4, rows with a
 * stride, against double precision of the same values; nothing written
 * past nr or nq.
 */
static void qk_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t nps[] = { 16, 40, 64, 80, 128, 256, 1001 };
	static const int64_t nrs[] = { 1, 3, 4, 5, 9, 33 };
	uint64_t seed = 9;
	int bad = 0;
	for (size_t hi = 0; hi < HRT_ARRAY_LEN(nps) && !bad; hi++)
		for (size_t pi = 0; pi < HRT_ARRAY_LEN(nrs) && !bad; pi++)
			for (int nq = 1; nq <= 4 && !bad; nq++) {
				int64_t np = nps[hi], nr = nrs[pi];
				size_t ks = (size_t)np * 3, qs = (size_t)np + 8, os = (size_t)nr + 2;
				uint16_t *kc = xmalloc(ks * (size_t)nr * sizeof(uint16_t));
				float *q = xmalloc(qs * 4 * sizeof(float));
				float *out = nan_floats(os * 5);
				for (size_t e = 0; e < ks * (size_t)nr; e++)
					kc[e] = hrt_f32_to_fp16(rng_unif(&seed) * 2 - 1);
				for (size_t e = 0; e < qs * 4; e++)
					q[e] = (rng_unif(&seed) * 2 - 1) * 4;
				k->qk_f16(np, nr, kc, ks, q, nq, qs, out, os);
				char label[96];
				snprintf(label, sizeof label, "qk_f16 np=%lld nr=%lld nq=%d", (long long)np,
					 (long long)nr, nq);
				struct qk_case c = { kc, q, ks, qs, np };
				bad = att_check(label, out, os, 5, nq, nr, qk_want, &c);
				hrt_free_aligned(kc);
				hrt_free_aligned(q);
				hrt_free_aligned(out);
			}
}

/* scores: query i against the key of position j in its block */
static void sc_want(const void *ctx, int i, int64_t j, double *want, double *mag)
{
	const struct qk_case *c = ctx;
	const uint16_t *kp = c->k + (size_t)j / HRT_KV_BLK * HRT_KV_BLK * (size_t)c->n +
			     (size_t)j % HRT_KV_BLK;
	*want = *mag = 0;
	for (int64_t d = 0; d < c->n; d++) {
		double x = (double)c->q[(size_t)i * c->qs + (size_t)d] *
			   hrt_fp16_to_f32(kp[(size_t)d * HRT_KV_BLK]);
		*want += x;
		*mag += fabs(x);
	}
}

/*
 * attention scores against keys in blocks of HRT_KV_BLK positions (every
 * table): head sizes on and off 16, lengths around the block and the
 * kernels' steps of 1, 2 and 4 blocks, 1 to 11 queries (across a step of
 * 8), queries and outputs with strides, against double precision of the
 * same values. The key lanes past np hold NaN and must not reach any
 * score; nothing is written past np or nq.
 */
static void att_scores_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t hds[] = { 1, 16, 40, 64, 128 };
	static const int64_t nps[] = { 1, 15, 16, 17, 33, 48, 64, 65, 100, 130 };
	uint64_t seed = 11;
	int bad = 0;
	for (size_t hi = 0; hi < HRT_ARRAY_LEN(hds) && !bad; hi++)
		for (size_t pi = 0; pi < HRT_ARRAY_LEN(nps) && !bad; pi++)
			for (int nq = 1; nq <= 11 && !bad; nq++) {
				int64_t hd = hds[hi], np = nps[pi];
				size_t nb = (size_t)(np + HRT_KV_BLK - 1) / HRT_KV_BLK;
				size_t nk = nb * HRT_KV_BLK * (size_t)hd;
				size_t qs = (size_t)hd + 3, os = (size_t)np + 5;
				uint16_t *kb = xmalloc(nk * sizeof(uint16_t));
				float *q = xmalloc(qs * (size_t)(nq + 1) * sizeof(float));
				float *out = nan_floats(os * (size_t)(nq + 1));
				for (size_t e = 0; e < nk; e++) {
					size_t p = e / ((size_t)HRT_KV_BLK * (size_t)hd) * HRT_KV_BLK +
						   e % HRT_KV_BLK;
					kb[e] = p < (size_t)np ? hrt_f32_to_fp16(rng_unif(&seed) * 2 - 1)
							       : 0x7e00; /* NaN */
				}
				for (size_t e = 0; e < qs * (size_t)(nq + 1); e++)
					q[e] = (rng_unif(&seed) * 2 - 1) * 4;
				k->att_scores(hd, np, kb, q, nq, qs, out, os);
				char label[96];
				snprintf(label, sizeof label, "att_scores hd=%lld np=%lld nq=%d", (long long)hd,
					 (long long)np, nq);
				struct qk_case c = { kb, q, 0, qs, hd };
				bad = att_check(label, out, os, nq + 1, nq, np, sc_want, &c);
				hrt_free_aligned(kb);
				hrt_free_aligned(q);
				hrt_free_aligned(out);
			}
}

struct q8_case {
	const uint8_t *a, *b; /* rows of Q8_0 blocks */
	size_t as, bs;
	int64_t hd, np;
	const float *pr;      /* values: probabilities, ps apart */
	size_t ps;
	double scale;
};

/* scores: the block dot products of key j (a) and query i (b), scaled */
static void sq_want(const void *ctx, int i, int64_t j, double *want, double *mag)
{
	const struct q8_case *c = ctx;
	const struct hrt_blk_q8_0 *x = (const void *)(c->a + (size_t)j * c->as);
	const struct hrt_blk_q8_0 *y = (const void *)(c->b + (size_t)i * c->bs);
	*want = *mag = 0;
	for (int64_t bl = 0; bl < c->hd / HRT_QK; bl++) {
		long isum = 0, iabs = 0;
		for (int e = 0; e < HRT_QK; e++) {
			isum += x[bl].qs[e] * y[bl].qs[e];
			iabs += labs((long)(x[bl].qs[e] * y[bl].qs[e]));
		}
		double sc = (double)hrt_fp16_to_f32(x[bl].d) * hrt_fp16_to_f32(y[bl].d) * c->scale;
		*want += sc * (double)isum;
		*mag += fabs(sc) * (double)iabs;
	}
}

/*
 * attention scores against a Q8_0 cache (every table): head sizes of 1 to
 * 5 blocks (pairs of blocks and the one left over) and 17 (past the
 * AVX-512 kernel's 8 pairs), lengths around its steps of 4, 1 to 9 queries
 * (across a pass of 4), rows with strides, codes of -127 and 127 among
 * them, against double precision of the block dot products times the
 * scale; nothing written past np or nq.
 */
static void scores_q8_0_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t hds[] = { 32, 64, 96, 128, 160, 544 };
	static const int64_t nps[] = { 1, 3, 4, 5, 9, 33 };
	uint64_t seed = 17;
	int bad = 0;
	for (size_t hi = 0; hi < HRT_ARRAY_LEN(hds) && !bad; hi++)
		for (size_t pi = 0; pi < HRT_ARRAY_LEN(nps) && !bad; pi++)
			for (int nq = 1; nq <= 9 && !bad; nq += (hds[hi] > 200 ? 4 : 1)) {
				int64_t hd = hds[hi], np = nps[pi];
				size_t row = (size_t)hd / HRT_QK * sizeof(struct hrt_blk_q8_0);
				size_t ks = row + 10, qs = row + 2, os = (size_t)np + 3;
				uint8_t *kc = xmalloc(ks * (size_t)np);
				uint8_t *q = xmalloc(qs * (size_t)nq);
				float *x = xmalloc((size_t)hd * sizeof(float));
				float *out = nan_floats(os * (size_t)(nq + 1));
				for (int64_t r = 0; r < np + nq; r++) {
					for (int64_t c = 0; c < hd; c++)
						x[c] = (rng_unif(&seed) * 2 - 1) * (float)(1 + r % 5);
					x[r % hd] = r & 1 ? -6.0f : 6.0f; /* a code of +-127 */
					uint8_t *dst = r < np ? kc + (size_t)r * ks : q + (size_t)(r - np) * qs;
					hrt_type_get(HRT_Q8_0)->from_float(x, dst, hd);
				}
				const float scale = 0.125f * (float)(1 + nq % 3);
				k->att_scores_q8_0(hd, np, kc, ks, q, nq, qs, scale, out, os);
				char label[96];
				snprintf(label, sizeof label, "att_scores_q8_0 hd=%lld np=%lld nq=%d",
					 (long long)hd, (long long)np, nq);
				struct q8_case c = { kc, q, ks, qs, hd, np, NULL, 0, scale };
				bad = att_check(label, out, os, nq + 1, nq, np, sq_want, &c);
				hrt_free_aligned(kc);
				hrt_free_aligned(q);
				hrt_free_aligned(x);
				hrt_free_aligned(out);
			}
}

/* values: probabilities i against column j of the value rows (a) */
static void vq_want(const void *ctx, int i, int64_t j, double *want, double *mag)
{
	const struct q8_case *c = ctx;
	*want = *mag = 0;
	for (int64_t p = 0; p < c->np; p++) {
		const struct hrt_blk_q8_0 *b = (const void *)(c->a + (size_t)p * c->as);
		double val = (double)hrt_fp16_to_f32(b[j / HRT_QK].d) * b[j / HRT_QK].qs[j % HRT_QK];
		double t = (double)c->pr[(size_t)i * c->ps + (size_t)p] * val;
		*want += t;
		*mag += fabs(t);
	}
}

/*
 * weighted values of a Q8_0 cache (every table): head sizes of 1 to 5
 * blocks (the kernels' 64-column passes and the block left over), 1 to 9
 * probability rows (across a pass of 4), lengths 1 to 70, rows, inputs
 * and outputs with strides, against double precision of the same values;
 * nothing written past hd or nq.
 */
static void values_q8_0_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const int64_t hds[] = { 32, 64, 96, 128, 160 };
	static const int64_t nps[] = { 1, 2, 7, 70 };
	uint64_t seed = 13;
	int bad = 0;
	for (size_t hi = 0; hi < HRT_ARRAY_LEN(hds) && !bad; hi++)
		for (size_t pi = 0; pi < HRT_ARRAY_LEN(nps) && !bad; pi++)
			for (int nq = 1; nq <= 9 && !bad; nq++) {
				int64_t hd = hds[hi], np = nps[pi];
				size_t row = (size_t)hd / HRT_QK * sizeof(struct hrt_blk_q8_0);
				size_t vs = row + 6, ps = (size_t)np + 3, os = (size_t)hd + 5;
				uint8_t *v = xmalloc(vs * (size_t)np);
				float *x = xmalloc((size_t)hd * sizeof(float));
				float *pr = xmalloc(ps * (size_t)nq * sizeof(float));
				float *out = nan_floats(os * (size_t)(nq + 1));
				for (int64_t p = 0; p < np; p++) {
					for (int64_t c = 0; c < hd; c++)
						x[c] = (rng_unif(&seed) * 2 - 1) * (float)(1 + p % 3);
					hrt_type_get(HRT_Q8_0)->from_float(x, v + (size_t)p * vs, hd);
				}
				for (size_t e = 0; e < ps * (size_t)nq; e++)
					pr[e] = rng_unif(&seed);
				k->att_values_q8_0(hd, np, v, vs, pr, nq, ps, out, os);
				char label[96];
				snprintf(label, sizeof label, "att_values_q8_0 hd=%lld np=%lld nq=%d",
					 (long long)hd, (long long)np, nq);
				struct q8_case c = { v, NULL, vs, 0, hd, np, pr, ps, 1.0 };
				bad = att_check(label, out, os, nq + 1, nq, hd, vq_want, &c);
				hrt_free_aligned(v);
				hrt_free_aligned(x);
				hrt_free_aligned(pr);
				hrt_free_aligned(out);
			}
}

/* every f16 value stays, halfway cases go to the even neighbour, the
 * rest to the nearest; lengths around the 16-wide step; nothing past n */
static void round_f16_one(void)
{
	const struct hrt_kern_isa *k = hrt_kern();
	static const float cases[] = { 1.0f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 1.0f + 0x1p-12f,
				       -2.5f, 65504.0f, 0x1p-24f, 0x1p-26f, 0.0f, -0.0f,
				       3.14159265f, 70000.0f, -1e-3f, 0.333333343f };
	for (int64_t n = 0; n <= 40; n++) {
		float *x = xmalloc(((size_t)n + 4) * sizeof(float));
		for (int64_t i = 0; i < n + 4; i++)
			x[i] = cases[i % (int64_t)HRT_ARRAY_LEN(cases)];
		k->round_f16(x, n);
		for (int64_t i = 0; i < n + 4; i++) {
			float in = cases[i % (int64_t)HRT_ARRAY_LEN(cases)];
			float want = i < n ? hrt_fp16_to_f32(hrt_f32_to_fp16(in)) : in;
			if (memcmp(&x[i], &want, sizeof want)) {
				CHECKF(0, "%s round_f16 n=%lld [%lld] %.9g: %.9g, want %.9g", cur_isa,
				       (long long)n, (long long)i, (double)in, (double)x[i], (double)want);
				break;
			}
		}
		hrt_free_aligned(x);
	}
}

static void test_att_scores(void)
{
	each_isa(att_scores_one);
}

static void test_round_f16(void)
{
	each_isa(round_f16_one);
}

static void test_qk_f16(void)
{
	each_isa(qk_one);
}

static void test_att_scores_q8_0(void)
{
	each_isa(scores_q8_0_one);
}

static void test_att_values_q8_0(void)
{
	each_isa(values_q8_0_one);
}

int main(void)
{
	RUN(test_tables);
	RUN(test_quantize);
	RUN(test_vec_dot);
	RUN(test_gemm);
	RUN(test_tile);
	RUN(test_matmul);
	RUN(test_matmul_dec);
	RUN(test_read_sum);
	RUN(test_prefetch_modes);
	RUN(test_matmul_pre);
	RUN(test_matmul_pre_n);
	RUN(test_pool_first_job);
	RUN(test_pool_segs);
	RUN(test_pool_segs_race);
	RUN(test_pool_self_warm);
	RUN(test_matmul_warm_ranges);
	RUN(test_matmul_threads);
	RUN(test_swiglu);
	RUN(test_softmax);
	RUN(test_qk_f16);
	RUN(test_att_scores);
	RUN(test_round_f16);
	RUN(test_att_values_q8_0);
	RUN(test_att_scores_q8_0);
	return t_done();
}
