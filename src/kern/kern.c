/*
 * kern/kern — table selection and the matrix product driver. See kern.h.
 * ISA tables live in kern_<isa>.c; each fills only what it speeds up and the
 * rest comes from the reference table built here.
 */
#include "kern/kern.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "core/util.h"
#include "kern/quant_blocks.h"

/* provided by the ISA files compiled into this build (weak: absent ones) */
extern void hrt_kern_fill_avx2(struct hrt_kern_isa *t) __attribute__((weak));
extern void hrt_kern_fill_avx2vnni(struct hrt_kern_isa *t) __attribute__((weak));
extern void hrt_kern_fill_avx512(struct hrt_kern_isa *t) __attribute__((weak));
extern void hrt_kern_fill_neon(struct hrt_kern_isa *t) __attribute__((weak));

float hrt_f16_tab[1 << 16];

/* the decode kernels' software prefetch (kern/prefetch.h): the defaults,
 * then by CPU vendor in init() */
uint32_t hrt_pf_ahead = 4608, hrt_pf_every = 2048, hrt_pf_far = 0;

static struct hrt_kern_isa tab_ref, tab_avx2, tab_avx2vnni, tab_avx512, tab_neon;
static const struct hrt_kern_isa *current;
static const char *avail[6];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void swiglu_ref(float *h, const float *g, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		h[i] = h[i] / (1.0f + expf(-h[i])) * g[i];
}

static void softmax_ref(float *x, int64_t n)
{
	float mx = -INFINITY;
	for (int64_t i = 0; i < n; i++)
		if (x[i] > mx)
			mx = x[i];
	double sum = 0;
	for (int64_t i = 0; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	float inv = (float)(1.0 / sum);
	for (int64_t i = 0; i < n; i++)
		x[i] *= inv;
}

/* one query at a time, one block of keys at a time, the lanes in order */
static void att_scores_ref(int64_t hd, int64_t np, const uint16_t *k, const float *q, int nq,
			   size_t qs, float *out, size_t os)
{
	for (int64_t b = 0; b * HRT_KV_BLK < np; b++) {
		const uint16_t *kb = k + (size_t)b * HRT_KV_BLK * (size_t)hd;
		int64_t nl = HRT_MIN(np - b * HRT_KV_BLK, (int64_t)HRT_KV_BLK);
		for (int i = 0; i < nq; i++) {
			const float *qi = q + (size_t)i * qs;
			float acc[HRT_KV_BLK] = { 0 };
			for (int64_t d = 0; d < hd; d++)
				for (int j = 0; j < HRT_KV_BLK; j++)
					acc[j] += qi[d] * hrt_f16_tab[kb[d * HRT_KV_BLK + j]];
			memcpy(out + (size_t)i * os + (size_t)b * HRT_KV_BLK, acc,
			       (size_t)nl * sizeof(float));
		}
	}
}

/* a Q8_0 dot product per query and key, by the selected table's vec_dot */
void hrt_att_scores_q8_0_dots(int64_t hd, int64_t np, const void *k, size_t ks, const void *q,
			      int nq, size_t qs, float scale, float *out, size_t os)
{
	const hrt_vec_dot_fn dot = hrt_kern()->vec_dot[HRT_Q8_0];
	for (int64_t p = 0; p < np; p++)
		for (int i = 0; i < nq; i++) {
			float s;
			dot(hd, &s, (const uint8_t *)k + (size_t)p * ks, (const uint8_t *)q + (size_t)i * qs);
			out[(size_t)i * os + (size_t)p] = s * scale;
		}
}

void hrt_kern_act_bf16(const float *x, void *y, int64_t n)
{
	float *o = y;
	for (int64_t i = 0; i < n; i++)
		o[i] = hrt_bf16_to_f32(hrt_f32_to_bf16(x[i]));
}

void hrt_kern_act_f32(const float *x, void *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof(float));
}

/* a row at a time, summed in double as the reference f16 dot product */
static void qk_f16_ref(int64_t np, int64_t nr, const uint16_t *k, size_t ks, const float *q,
		       int nq, size_t qs, float *out, size_t os)
{
	for (int i = 0; i < nq; i++)
		for (int64_t r = 0; r < nr; r++) {
			double sum = 0;
			for (int64_t p = 0; p < np; p++)
				sum += (double)(q[(size_t)i * qs + (size_t)p] *
						hrt_f16_tab[k[(size_t)r * ks + (size_t)p]]);
			out[(size_t)i * os + (size_t)r] = (float)sum;
		}
}

/* each row dequantized once for all nq probability rows */
static void att_values_q8_0_ref(int64_t hd, int64_t np, const void *v, size_t vs, const float *pr,
				int nq, size_t ps, float *out, size_t os)
{
	float row[HRT_QK];
	for (int i = 0; i < nq; i++)
		memset(out + (size_t)i * os, 0, (size_t)hd * sizeof(float));
	for (int64_t p = 0; p < np; p++) {
		const struct hrt_blk_q8_0 *b = (const void *)((const uint8_t *)v + (size_t)p * vs);
		for (int64_t k = 0; k < hd / HRT_QK; k++) {
			const float d = hrt_f16_tab[b[k].d];
			for (int e = 0; e < HRT_QK; e++)
				row[e] = d * (float)b[k].qs[e];
			for (int i = 0; i < nq; i++) {
				const float a = pr[(size_t)i * ps + (size_t)p];
				float *o = out + (size_t)i * os + (size_t)k * HRT_QK;
				for (int e = 0; e < HRT_QK; e++)
					o[e] += a * row[e];
			}
		}
	}
}

static void round_f16_ref(float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = hrt_fp16_to_f32(hrt_f32_to_fp16(x[i]));
}

static uint64_t read_sum_ref(const uint64_t *p, size_t n)
{
	uint64_t a[8] = { 0 };
	for (size_t i = 0; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			a[k] += p[i + k];
	return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

static void fill_ref(struct hrt_kern_isa *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	for (uint32_t i = 0; i < HRT_TYPE_COUNT; i++) {
		const struct hrt_type_traits *tt = hrt_type_get(i);
		if (!tt)
			continue;
		t->vec_dot[i] = tt->vec_dot;
		t->quantize[i] = tt->from_float;
	}
	t->swiglu = swiglu_ref;
	t->softmax = softmax_ref;
	t->att_scores = att_scores_ref;
	t->qk_f16 = qk_f16_ref;
	t->round_f16 = round_f16_ref;
	t->att_values_q8_0 = att_values_q8_0_ref;
	t->att_scores_q8_0 = hrt_att_scores_q8_0_dots;
	t->read_sum = read_sum_ref;
}

static int env_int(const char *name, int dflt)
{
	const char *e = getenv(name);
	return e && *e ? atoi(e) : dflt;
}

/* a panel (tile) layout is only usable when every weight type whose
 * activations use it has a gemm (tile) that reads it: otherwise drop it */
static void check_panels(struct hrt_kern_isa *t)
{
	for (uint32_t w = 0; w < HRT_TYPE_COUNT; w++) {
		const struct hrt_type_traits *tt = hrt_type_get(w);
		if (!tt || !t->vec_dot[w])
			continue;
		uint32_t at = t->act_type[w] ? t->act_type[w] : tt->dot_type;
		if (t->panel[at] && (!t->gemm[w] || t->panel_n < 1 ||
				     !t->panel_blk_bytes[at]))
			t->panel[at] = NULL;
		if (t->tile_n[at] && (!t->tile[w] ||
				      (t->tile_quantize[at] && !t->tile_blk_bytes[at])))
			t->tile_n[at] = 0;
	}
	int tn = env_int("HEARTH_TILE_N", -1);
	for (uint32_t at = 0; at < HRT_TYPE_COUNT && tn >= 0; at++)
		if (t->tile_n[at])
			t->tile_n[at] = tn;
}

#if defined(__x86_64__)
#include <cpuid.h>

/* cpuid leaf/subleaf register r (0 eax, 1 ebx, 2 ecx, 3 edx); 0 if absent */
static uint32_t cpuid_reg(unsigned leaf, unsigned sub, int r)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(leaf, sub, &a, &b, &c, &d))
		return 0;
	return r == 0 ? a : r == 1 ? b : r == 2 ? c : d;
}

/* register state the OS saves on context switch (XCR0) */
static uint64_t xcr0(void)
{
	if (!(cpuid_reg(1, 0, 2) & (1u << 27))) /* OSXSAVE */
		return 0;
	uint32_t lo, hi;
	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}
#endif

/* cpuid directly (not __builtin_cpu_supports: clang 14 lacks some of the
 * feature names), plus the OS's consent to save the wide registers */
static bool cpu_has_avx2(void)
{
#if defined(__x86_64__)
	uint32_t c1 = cpuid_reg(1, 0, 2), b7 = cpuid_reg(7, 0, 1);
	return (xcr0() & 0x6) == 0x6 && (c1 & (1u << 12)) /* fma */ &&
	       (c1 & (1u << 29)) /* f16c */ && (b7 & (1u << 5)) /* avx2 */;
#else
	return false;
#endif
}

static bool cpu_is_intel(void)
{
#if defined(__x86_64__)
	/* "GenuineIntel" in ebx, edx, ecx of leaf 0 */
	return cpuid_reg(0, 0, 1) == 0x756e6547u && cpuid_reg(0, 0, 3) == 0x49656e69u &&
	       cpuid_reg(0, 0, 2) == 0x6c65746eu;
#else
	return false;
#endif
}

/* the prefetch spacing for this CPU (kern/prefetch.h says why), or the
 * environment's: HEARTH_PF_AHEAD bytes (0..1 MiB), HEARTH_PF_EVERY (a
 * power of two, 64..1 MiB), HEARTH_PF_FAR bytes past the first prefetch
 * for a second one into L2 (0..1 MiB, 0 none) */
static void pf_init(void)
{
	if (cpu_is_intel()) {
		hrt_pf_ahead = 4096;
		hrt_pf_every = 64;
		hrt_pf_far = 4096;
	}
	int a = env_int("HEARTH_PF_AHEAD", -1), e = env_int("HEARTH_PF_EVERY", -1);
	int f = env_int("HEARTH_PF_FAR", -1);
	if (a >= 0 && a <= (1 << 20))
		hrt_pf_ahead = (uint32_t)a;
	if (f >= 0 && f <= (1 << 20))
		hrt_pf_far = (uint32_t)f;
	if (e >= 64 && e <= (1 << 20) && !(e & (e - 1)))
		hrt_pf_every = (uint32_t)e;
}

/* AVX-VNNI (vpdpbusd on ymm, VEX encoded): cpuid 7.1 eax bit 4 */
static bool cpu_has_avx2vnni(void)
{
#if defined(__x86_64__)
	return cpu_has_avx2() && (cpuid_reg(7, 1, 0) & (1u << 4));
#else
	return false;
#endif
}

static bool cpu_has_avx512(void)
{
#if defined(__x86_64__)
	uint32_t b7 = cpuid_reg(7, 0, 1), c7 = cpuid_reg(7, 0, 2);
	uint32_t a71 = cpuid_reg(7, 1, 0);
	return cpu_has_avx2() && (xcr0() & 0xe6) == 0xe6 &&
	       (b7 & (1u << 16)) /* avx512f */ && (b7 & (1u << 17)) /* dq */ &&
	       (b7 & (1u << 30)) /* bw */ && (b7 & (1u << 31)) /* vl */ &&
	       (c7 & (1u << 11)) /* vnni */ && (a71 & (1u << 5)) /* bf16 */;
#else
	return false;
#endif
}

/* every table, for lookups by name (a table not filled has no name) */
static struct hrt_kern_isa *const tables[] = { &tab_ref, &tab_avx2, &tab_avx2vnni, &tab_avx512,
					       &tab_neon };

static struct hrt_kern_isa *find_table(const char *name)
{
	for (size_t k = 0; k < HRT_ARRAY_LEN(tables); k++)
		if (tables[k]->name && !strcmp(tables[k]->name, name))
			return tables[k];
	return NULL;
}

/* the reference, then fill's kernels over it; it becomes the one in use
 * (tables are added from the least to the most capable) */
static void add_table(struct hrt_kern_isa *t, const char *name,
		      void (*fill)(struct hrt_kern_isa *), int *na)
{
	fill_ref(t, name);
	if (fill) {
		fill(t);
		check_panels(t);
		if (!env_int("HEARTH_DEC", 1))
			memset(t->dec, 0, sizeof(t->dec));
	}
	avail[(*na)++] = name;
	current = t;
}

static void init(void)
{
	for (uint32_t h = 0; h < (1u << 16); h++)
		hrt_f16_tab[h] = hrt_fp16_to_f32((uint16_t)h);
	pf_init();
	int na = 0;
	add_table(&tab_ref, "ref", NULL, &na);
	if (hrt_kern_fill_avx2 && cpu_has_avx2())
		add_table(&tab_avx2, "avx2", hrt_kern_fill_avx2, &na);
	if (hrt_kern_fill_avx2vnni && cpu_has_avx2vnni())
		add_table(&tab_avx2vnni, "avx2vnni", hrt_kern_fill_avx2vnni, &na);
	if (hrt_kern_fill_avx512 && cpu_has_avx512())
		add_table(&tab_avx512, "avx512", hrt_kern_fill_avx512, &na);
	if (hrt_kern_fill_neon)
		add_table(&tab_neon, "neon", hrt_kern_fill_neon, &na);
	avail[na] = NULL;
	const char *e = getenv("HEARTH_ISA");
	const struct hrt_kern_isa *forced = e && *e ? find_table(e) : NULL;
	if (forced)
		current = forced;
}

const struct hrt_kern_isa *hrt_kern(void)
{
	pthread_once(&once, init);
	return current;
}

int hrt_kern_select(const char *name)
{
	pthread_once(&once, init);
	const struct hrt_kern_isa *t = find_table(name);
	if (!t)
		return -1;
	current = t;
	return 0;
}

const char *const *hrt_kern_available(void)
{
	pthread_once(&once, init);
	return avail;
}

uint32_t hrt_kern_act_type(uint32_t wtype)
{
	const struct hrt_kern_isa *k = hrt_kern();
	if (k->act_type[wtype])
		return k->act_type[wtype];
	return hrt_type_get(wtype)->dot_type;
}

/* Panels (several tokens interleaved, see kern.h) are used from this many
 * tokens on where the table has no tiles for them (tile_n): vec_dot over
 * row blocks runs every token over every weight, and a panel of 2 real
 * tokens out of 16 already beat it (AVX-512, Q4_0 + Q4_K over the bench
 * shapes, 2 threads, cpu clock, medians of 3: n=2 18.4 vs 20.4 ms, n=8
 * 19.1 vs 37.9; bench/kern_bench -n 2|8 built with -DPANEL_MIN_N=2|16). */
#ifndef PANEL_MIN_N
#define PANEL_MIN_N 2
#endif

/* how a product of n tokens runs: vec_dot over activation rows, tiles
 * over rows in the tile layout, or the gemm over panels. A function of the
 * activation type (not the weight type), so matrices sharing activations
 * (hrt_matmul_pre) agree; the decode layouts of dec_on below are keyed
 * apart (hrt_kern_act_key). */
enum mm_mode { MODE_ROWS, MODE_TILE, MODE_PANEL };

static int panel_min_n(void)
{
	static int v = -1;
	if (v < 0)
		v = HRT_MAX(1, env_int("HEARTH_PANEL_N", PANEL_MIN_N));
	return v;
}

static enum mm_mode mm_mode(const struct hrt_kern_isa *k, uint32_t at, int n)
{
	if (n < k->tile_n[at])
		return MODE_TILE;
	if (n >= panel_min_n() && k->panel[at])
		return MODE_PANEL;
	return MODE_ROWS;
}

/* decode of wtype in its own layout (dec[]): one token, whole columns */
static bool dec_on(const struct hrt_kern_isa *k, uint32_t wtype, int64_t ncols, int n)
{
	return n == 1 && k->dec[wtype] && ncols % k->dec_cols[wtype] == 0;
}

static size_t dec_bytes(const struct hrt_kern_isa *k, uint32_t wtype, int64_t ncols)
{
	const uint64_t b = (uint64_t)ncols / k->dec_cols[wtype] * k->dec_act_bytes[wtype];
	return (size_t)((b + 63) & ~(uint64_t)63);
}

uint32_t hrt_kern_act_key(uint32_t wtype, int64_t ncols, int n)
{
	const struct hrt_kern_isa *k = hrt_kern();
	return dec_on(k, wtype, ncols, n) ? HRT_TYPE_COUNT + wtype : hrt_kern_act_type(wtype);
}

static size_t act_row_bytes(const struct hrt_kern_isa *k, uint32_t at, int64_t ncols,
			    enum mm_mode mode)
{
	uint64_t b = 0;
	if (mode == MODE_TILE && k->tile_quantize[at]) {
		uint64_t nb = (uint64_t)ncols / hrt_type_get(at)->blck;
		b = (nb + 1) / 2 * 2 * k->tile_blk_bytes[at];
	} else {
		hrt_type_row_bytes(at, (uint64_t)ncols, &b);
	}
	return (size_t)((b + 63) & ~(uint64_t)63);
}

static size_t panel_bytes(const struct hrt_kern_isa *k, uint32_t at,
			  int64_t ncols)
{
	uint64_t nb = (uint64_t)ncols / hrt_type_get(at)->blck;
	return (size_t)((nb * k->panel_blk_bytes[at] + 63) & ~(uint64_t)63);
}

static int n_panels(const struct hrt_kern_isa *k, int n)
{
	return (n + k->panel_n - 1) / k->panel_n;
}

static size_t scratch_at(const struct hrt_kern_isa *k, uint32_t at, int64_t ncols, int n)
{
	enum mm_mode mode = mm_mode(k, at, n);
	if (mode == MODE_PANEL)
		return panel_bytes(k, at, ncols) * (size_t)n_panels(k, n);
	return act_row_bytes(k, at, ncols, mode) * (size_t)n;
}

/* enough for every token count up to n: callers size one buffer for their
 * largest batch and run smaller ones in it, and a tile row takes more bytes
 * than a panel's share of one */
size_t hrt_matmul_scratch(uint32_t wtype, int64_t ncols, int n)
{
	const struct hrt_kern_isa *k = hrt_kern();
	uint32_t at = hrt_kern_act_type(wtype);
	size_t need = scratch_at(k, at, ncols, n);
	int tn = k->tile_n[at];
	if (tn > 1 && n >= tn)
		need = HRT_MAX(need, scratch_at(k, at, ncols, tn - 1));
	if (n > 1)
		need = HRT_MAX(need, scratch_at(k, at, ncols, 1));
	if (dec_on(k, wtype, ncols, 1))
		need = HRT_MAX(need, dec_bytes(k, wtype, ncols));
	return need;
}

struct quant_job {
	const struct hrt_kern_isa *k;
	uint32_t at;
	const float *X;
	int64_t ncols;
	uint8_t *dst;
	size_t stride;
	int n;
	enum mm_mode mode;
};

static void quant_worker(void *ctx, int ith, int nth)
{
	struct quant_job *j = ctx;
	if (j->mode == MODE_PANEL) {
		int P = j->k->panel_n, np = n_panels(j->k, j->n);
		long b, e;
		hrt_split(np, ith, nth, &b, &e);
		for (long p = b; p < e; p++)
			j->k->panel[j->at](j->X + p * P * j->ncols, (size_t)j->ncols,
					   HRT_MIN(P, j->n - (int)p * P), j->ncols,
					   j->dst + (size_t)p * j->stride);
		return;
	}
	hrt_from_float_fn q = j->mode == MODE_TILE && j->k->tile_quantize[j->at]
				      ? j->k->tile_quantize[j->at] : j->k->quantize[j->at];
	long b, e;
	hrt_split(j->n, ith, nth, &b, &e);
	for (long t = b; t < e; t++)
		q(j->X + t * j->ncols, j->dst + (size_t)t * j->stride, j->ncols);
}

size_t hrt_matmul_quantize(struct hrt_pool *pool, uint32_t wtype,
			   int64_t ncols, const float *X, int n, void *dst)
{
	const struct hrt_kern_isa *k = hrt_kern();
	if (dec_on(k, wtype, ncols, n)) {
		k->dec_quantize[wtype](X, dst, ncols);
		return dec_bytes(k, wtype, ncols);
	}
	uint32_t at = hrt_kern_act_type(wtype);
	enum mm_mode mode = mm_mode(k, at, n);
	struct quant_job j = { k, at, X, ncols, dst,
			       mode == MODE_PANEL ? panel_bytes(k, at, ncols)
						  : act_row_bytes(k, at, ncols, mode),
			       n, mode };
	if (n < 4)
		quant_worker(&j, 0, 1);
	else
		hrt_pool_run(pool, quant_worker, &j);
	return j.stride;
}

/* a product on panels (prompt processing) runs in this many tasks per
 * thread, claimed as threads come free */
#ifndef MM_TASKS_PER_THREAD
#define MM_TASKS_PER_THREAD 4
#endif

/* Rows go in units of 16 (whole 64-byte lines of Y: no false sharing). */
#define ROW_UNIT 16
/* rows per gemm call on panels: the gemm unpacks its rows (in groups of
 * its own) once per chunk of columns and runs every panel of tokens over
 * them, so a call covers all n tokens */
#ifndef PANEL_ROWS
#define PANEL_ROWS 64
#endif
/* row units an owner claims at once in the stealing split (mm_steal);
 * thieves take one. 1, 2 and 4 measured alike (tok/s within noise); 8
 * with the taper below the same as 4 (2026-11-28, 6 pairs of tg64 x 2). */
#ifndef MM_CLAIM_UNITS
#define MM_CLAIM_UNITS 4
#endif
/* under this many units left in its segment an owner claims one at a
 * time: 1B Q4_0 decode, 2 threads, 4 alternating pairs of tg128 x 2, the
 * median token 47.99-50.18 -> 49.25-50.70 tok/s (taking 4 to the end, a
 * thread waited for up to 3 units of another's at each job's end) */
#define MM_TAPER_UNITS 32
#define MM_MAX_SEGS 256 /* the pool's most threads */

/* the row units of W */
static long wt_units(const struct hrt_wt *W)
{
	return (W->nrows + ROW_UNIT - 1) / ROW_UNIT;
}

/* one matrix of a product job: its rows, activations, output and kernel */
struct mm_part {
	const struct hrt_wt *W;
	const uint8_t *act;
	size_t astride;
	float *Y;
	hrt_vec_dot_fn dot;
	hrt_gemm_fn gemm;
	enum mm_mode mode;
	long u0; /* its first row unit in the job's numbering */
};

#define MM_MAX_PARTS 4

/* a product job: one or more matrices whose row units are numbered one
 * after another, so a single pool job (one wake-up, one wait) covers them */
struct mm_job {
	int n;
	int nparts;
	struct mm_part part[MM_MAX_PARTS];
	long nu; /* row units of all parts */
	int nseg;
	struct hrt_pool_seg *seg;
	const struct hrt_pool *pool;
};

static void mm_range(const struct mm_part *p, int n, long r0, long r1)
{
	const struct hrt_wt *W = p->W;
	const uint8_t *w = W->data;
	if (r1 <= r0)
		return;
	if (p->mode == MODE_TILE) {
		p->gemm(W->ncols, (int)(r1 - r0), n, w + (size_t)r0 * W->row_bytes,
			W->row_bytes, p->act, p->astride, p->Y + r0, (size_t)W->nrows);
		return;
	}
	if (p->mode == MODE_PANEL) {
		for (long r = r0; r < r1; r += PANEL_ROWS)
			p->gemm(W->ncols, (int)HRT_MIN(PANEL_ROWS, r1 - r),
				n, w + (size_t)r * W->row_bytes, W->row_bytes,
				p->act, p->astride, p->Y + r, (size_t)W->nrows);
		return;
	}
	if (p->gemm) {
		for (long r = r0; r < r1; r += 16) {
			int nr = (int)HRT_MIN(16, r1 - r);
			for (int t = 0; t < n; t += 4) {
				int nt = HRT_MIN(4, n - t);
				p->gemm(W->ncols, nr, nt, w + (size_t)r * W->row_bytes,
					W->row_bytes, p->act + (size_t)t * p->astride,
					p->astride, p->Y + (size_t)t * (size_t)W->nrows + r,
					(size_t)W->nrows);
			}
		}
		return;
	}
	/* a block of rows is reused for every token while still in cache */
	const long RB = 16;
	for (long rb = r0; rb < r1; rb += RB) {
		long re = HRT_MIN(rb + RB, r1);
		for (int t = 0; t < n; t++) {
			const uint8_t *a = p->act + (size_t)t * p->astride;
			float *y = p->Y + (size_t)t * (size_t)W->nrows;
			for (long r = rb; r < re; r++)
				p->dot(W->ncols, &y[r], w + (size_t)r * W->row_bytes, a);
		}
	}
}

/* units [u0, u1) of the job, over whichever parts they fall in */
static void mm_units(const struct mm_job *j, long u0, long u1)
{
	for (int i = 0; i < j->nparts && u0 < u1; i++) {
		const struct mm_part *p = &j->part[i];
		long pe = i + 1 < j->nparts ? j->part[i + 1].u0 : j->nu;
		if (u0 >= pe)
			continue;
		long e = HRT_MIN(u1, pe);
		mm_range(p, j->n, HRT_MIN((u0 - p->u0) * ROW_UNIT, p->W->nrows),
			 HRT_MIN((e - p->u0) * ROW_UNIT, p->W->nrows));
		u0 = e;
	}
}

/*
 * Products over row units (decode and small batches: memory bound), one
 * task per thread: each walks its own contiguous segment of the rows from
 * the front (one memory stream), then takes units from the back of the
 * segment with the most left (hrt_pool_seg_*). With fixed tasks (2 per
 * thread) one thread waited for the other's last task for 14 % of each
 * product's time (1B Q4_0 decode, 2 threads, summed over 20000 products,
 * pool timestamps); stealing leaves 3-4 %, and tg64 rose 4-8 % in
 * alternating runs (57.5 -> 59.6, 48.4 -> 52.5 tok/s medians of 5).
 */
static void mm_steal(void *ctx, int ith, int nth)
{
	struct mm_job *j = ctx;
	(void)nth;
	long u0, u1;
	/* a thread's own segment is the one of its index in the pool, which
	 * the warm hint (hrt_matmul_warm) prefetched for it; a thread running
	 * a second task finds its segment empty and steals */
	int own = hrt_pool_self(j->pool);
	if (own >= j->nseg)
		own = ith;
	/* near the segment's end one unit at a time, as thieves take them:
	 * the last claim of a job is what another thread waits for */
	for (;;) {
		long k = hrt_pool_seg_left(&j->seg[own]) > MM_TAPER_UNITS ? MM_CLAIM_UNITS : 1;
		if (!hrt_pool_seg_claim(&j->seg[own], true, k, &u0, &u1))
			break;
		mm_units(j, u0, u1);
	}
	int v;
	while ((v = hrt_pool_segs_fullest(j->seg, j->nseg)) >= 0)
		if (hrt_pool_seg_claim(&j->seg[v], false, 1, &u0, &u1))
			mm_units(j, u0, u1);
}

/* panels: nth tasks, contiguous rows each (one part) */
static void mm_worker(void *ctx, int ith, int nth)
{
	struct mm_job *j = ctx;
	long b, e;
	hrt_split(j->nu, ith, nth, &b, &e);
	mm_units(j, b, e);
}

/* how W runs against n tokens of activations in act */
static struct mm_part mm_part_of(const struct hrt_kern_isa *k, const struct hrt_wt *W,
				 const void *act, size_t astride, int n, float *Y)
{
	uint32_t at = hrt_kern_act_type(W->type);
	enum mm_mode mode;
	hrt_gemm_fn g;
	if (dec_on(k, W->type, W->ncols, n)) { /* a tile over its own layout */
		mode = MODE_TILE;
		g = k->dec[W->type];
	} else {
		mode = mm_mode(k, at, n);
		/* a gemm reads plain rows only where the table has no panel layout */
		g = mode == MODE_TILE ? k->tile[W->type]
		    : mode == MODE_PANEL || (n > 1 && !k->panel[at]) ? k->gemm[W->type]
								     : NULL;
	}
	struct mm_part p = { W, act, astride, Y, k->vec_dot[W->type], g, mode, 0 };
	return p;
}

static void mm_run(struct hrt_pool *pool, struct mm_job *j)
{
	if (j->part[0].mode == MODE_PANEL) {
		hrt_pool_run_n(pool, mm_worker, j, hrt_pool_size(pool) * MM_TASKS_PER_THREAD);
		return;
	}
	struct hrt_pool_seg seg[MM_MAX_SEGS] __attribute__((aligned(64)));
	int ns = (int)HRT_MIN((long)HRT_MIN(hrt_pool_size(pool), MM_MAX_SEGS), j->nu);
	hrt_pool_segs_init(seg, ns, j->nu);
	j->nseg = ns;
	j->seg = seg;
	j->pool = pool;
	hrt_pool_run_n(pool, mm_steal, j, ns);
}

int hrt_matmul_warm_ranges(int nth, const struct hrt_wt *const *W, int nw, int n,
			   const void **p, size_t *len)
{
	if (nth < 2 || nw < 1 || nth > MM_MAX_SEGS)
		return 0;
	const struct hrt_kern_isa *k = hrt_kern();
	long nu = 0, pu[MM_MAX_PARTS];
	for (int i = 0; i < nw; i++) {
		/* the parts of one job (hrt_matmul_pre_n): the hint stops at a
		 * part that would start another */
		if (i == MM_MAX_PARTS || mm_part_of(k, W[i], NULL, 0, n, NULL).mode == MODE_PANEL) {
			nw = i;
			break;
		}
		pu[i] = wt_units(W[i]);
		nu += pu[i];
	}
	if (nw < 1)
		return 0;
	int ns = (int)HRT_MIN((long)nth, nu);
	for (int s = 0; s < ns; s++) {
		long b, e, u0 = 0;
		hrt_split(nu, s, ns, &b, &e);
		p[s] = NULL;
		len[s] = 0;
		/* from the segment's first row to its end or its matrix's */
		for (int i = 0; i < nw; i++) {
			if (b < u0 + pu[i]) {
				long r0 = (b - u0) * ROW_UNIT;
				long r1 = HRT_MIN((HRT_MIN(e, u0 + pu[i]) - u0) * ROW_UNIT,
						  W[i]->nrows);
				p[s] = (const uint8_t *)W[i]->data + (size_t)r0 * W[i]->row_bytes;
				len[s] = (size_t)(r1 - r0) * W[i]->row_bytes;
				break;
			}
			u0 += pu[i];
		}
	}
	return ns;
}

void hrt_matmul_warm(struct hrt_pool *pool, const struct hrt_wt *const *W, int nw, int n)
{
	const void *p[MM_MAX_SEGS];
	size_t len[MM_MAX_SEGS];
	int ns = hrt_matmul_warm_ranges(hrt_pool_size(pool), W, nw, n, p, len);
	if (ns > 1)
		hrt_pool_warm(pool, p, len, ns);
}

void hrt_matmul_pre(struct hrt_pool *pool, const struct hrt_wt *W,
		    const void *act, size_t astride, int n, float *Y)
{
	struct hrt_mm_part p = { W, act, astride, Y };
	hrt_matmul_pre_n(pool, &p, 1, n);
}

void hrt_matmul_pre_n(struct hrt_pool *pool, const struct hrt_mm_part *parts, int np, int n)
{
	const struct hrt_kern_isa *k = hrt_kern();
	struct mm_job j = { .n = n };
	for (int i = 0; i < np; i++) {
		struct mm_part p = mm_part_of(k, parts[i].W, parts[i].act, parts[i].astride, n,
					      parts[i].Y);
		/* panels run one matrix per job (their tasks split one matrix's
		 * rows); a full job runs before the next part joins */
		if (j.nparts && (p.mode == MODE_PANEL || j.part[0].mode == MODE_PANEL ||
				 j.nparts == MM_MAX_PARTS)) {
			mm_run(pool, &j);
			j.nparts = 0;
			j.nu = 0;
		}
		p.u0 = j.nu;
		j.part[j.nparts++] = p;
		j.nu += wt_units(p.W);
	}
	if (j.nparts)
		mm_run(pool, &j);
}

void hrt_matmul(struct hrt_pool *pool, const struct hrt_wt *W, const float *X,
		int n, float *Y, void *scratch)
{
	size_t stride = hrt_matmul_quantize(pool, W->type, W->ncols, X, n, scratch);
	hrt_matmul_pre(pool, W, scratch, stride, n, Y);
}

void hrt_wt_row(const struct hrt_wt *W, int64_t r, float *y)
{
	hrt_type_get(W->type)->to_float((const uint8_t *)W->data +
						(size_t)r * W->row_bytes,
					y, W->ncols);
}
