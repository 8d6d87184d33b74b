/*
 * kern/float_avx2 — AVX2 (+ FMA, F16C) products of float weight rows (F16,
 * BF16, F32 models), in both AVX2 tables, as float_avx512.c in 8-float
 * vectors and 16 registers: activations rounded as the weight type's
 * vec_dot rounds them (F16, BF16) and stored as floats once per product;
 * one token streams each row with the decode prefetch; more run in tiles
 * of 3 rows x 4 tokens at every token count. Panels of 8 tokens against
 * broadcast weights (float_avx512.c's prompt kernel, 6 rows x 2 panels in
 * the 16 registers) were slower here at every count (1B F16 model, 2
 * threads, the AVX2 table on a 2-core Xeon, tok/s tiles vs panels: n=8
 * 38.4 / 25.9, 16 46.4 / 39.7, 64 50.6 / 42.9).
 *
 * Numerics: every product exact in float, sums in float in another order
 * than vec_dot (~1e-6 relative).
 */
#include <limits.h>

#include "core/fp16.h"
#include "kern/avx2_int.h"
#include "kern/prefetch.h"

/* the weight formats, by their type ids */
enum fw { FW_F16 = HRT_F16, FW_BF16 = HRT_BF16, FW_F32 = HRT_F32 };

ALWAYS_INLINE size_t fw_size(enum fw f)
{
	return f == FW_F32 ? 4 : 2;
}

/* the 8 weights at p as floats */
ALWAYS_INLINE __m256 fw_load(const enum fw f, const uint8_t *p)
{
	if (f == FW_F32)
		return _mm256_loadu_ps((const float *)p);
	const __m128i h = _mm_loadu_si128((const __m128i *)p);
	if (f == FW_F16)
		return _mm256_cvtph_ps(h);
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* weight k of the row at p, one at a time (the tails), by the type's own
 * converter */
ALWAYS_INLINE float fw_one(const enum fw f, const uint8_t *p, int64_t k)
{
	float x;
	hrt_type_get((uint32_t)f)->to_float(p + (size_t)k * fw_size(f), &x, 1);
	return x;
}

/* one token: a row at a time, 32 columns a step in four accumulators */
ALWAYS_INLINE float fw_row(const enum fw f, const bool pl, struct hrt_pf pf, int64_t n,
			   const uint8_t *w, const float *a)
{
	const size_t es = fw_size(f);
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	__m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
	int64_t k = 0;
	for (; k + 32 <= n; k += 32) {
		const uint8_t *p = w + (size_t)k * es;
		if (pl)
			hrt_pf_lines(pf, p, (int)((32 * es + 63) / 64));
		else
			hrt_pf_sparse(p, 32 * es);
		s0 = _mm256_fmadd_ps(fw_load(f, p), _mm256_loadu_ps(a + k), s0);
		s1 = _mm256_fmadd_ps(fw_load(f, p + 8 * es), _mm256_loadu_ps(a + k + 8), s1);
		s2 = _mm256_fmadd_ps(fw_load(f, p + 16 * es), _mm256_loadu_ps(a + k + 16), s2);
		s3 = _mm256_fmadd_ps(fw_load(f, p + 24 * es), _mm256_loadu_ps(a + k + 24), s3);
	}
	for (; k + 8 <= n; k += 8)
		s0 = _mm256_fmadd_ps(fw_load(f, w + (size_t)k * es), _mm256_loadu_ps(a + k), s0);
	float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
	for (; k < n; k++)
		s += fw_one(f, w, k) * a[k];
	return s;
}

/* one token against nr rows, the prefetch mode pl a constant */
ALWAYS_INLINE void fw_rows(const bool pl, const enum fw f, int64_t n, int nr, const uint8_t *W,
			   size_t ws, const float *a, float *y)
{
	const struct hrt_pf pf = hrt_pf_get();
	for (int r = 0; r < nr; r++)
		y[r] = fw_row(f, pl, pf, n, W + (size_t)r * ws, a);
}

/* a few tokens: FR rows x T (<= FT) tokens per tile, 8 columns a step;
 * rows past nr repeat the last row and are not stored */
#define FR 3
#define FT 4

ALWAYS_INLINE void fw_tile(const enum fw f, const int T, int64_t n, const uint8_t *const *w,
			   const float *const *a, float *y, size_t ldy, int nr)
{
	const size_t es = fw_size(f);
	__m256 acc[FR][FT];
	_Pragma("GCC unroll 3")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 4")
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	int64_t k = 0;
	for (; k + 8 <= n; k += 8) {
		__m256 x[FR];
		_Pragma("GCC unroll 3")
		for (int r = 0; r < FR; r++)
			x[r] = fw_load(f, w[r] + (size_t)k * es);
		_Pragma("GCC unroll 4")
		for (int t = 0; t < T; t++) {
			const __m256 av = _mm256_loadu_ps(a[t] + k);
			_Pragma("GCC unroll 3")
			for (int r = 0; r < FR; r++)
				acc[r][t] = _mm256_fmadd_ps(x[r], av, acc[r][t]);
		}
	}
	/* constant indices only (float_avx512.c's fw_tile says why) */
	_Pragma("GCC unroll 3")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 4")
		for (int t = 0; t < T; t++) {
			if (r >= nr)
				continue;
			float s = hsum_ps(acc[r][t]);
			for (int64_t j = k; j < n; j++)
				s += fw_one(f, w[r], j) * a[t][j];
			y[(size_t)t * ldy + (size_t)r] = s;
		}
}

/* the hrt_gemm_fn of tile[]: nr rows against nt activation rows (floats,
 * as bytes apart) */
ALWAYS_INLINE void fw_gemm(const enum fw f, int64_t n, int nr, int nt, const void *w, size_t ws,
			   const void *act, size_t as, float *y, size_t ldy)
{
	const uint8_t *W = w, *A = act;
	if (nt == 1) {
		HRT_PF_MODES(fw_rows, f, n, nr, W, ws, (const float *)A, y);
		return;
	}
	for (int r0 = 0; r0 < nr; r0 += FR) {
		const int rn = nr - r0 < FR ? nr - r0 : FR;
		const uint8_t *wr[FR];
		for (int r = 0; r < FR; r++)
			wr[r] = W + (size_t)(r0 + (r < rn ? r : rn - 1)) * ws;
		for (int t0 = 0; t0 < nt; t0 += FT) {
			const int tn = nt - t0 < FT ? nt - t0 : FT;
			const float *ar[FT];
			for (int t = 0; t < tn; t++)
				ar[t] = (const float *)(A + (size_t)(t0 + t) * as);
			float *yt = y + (size_t)t0 * ldy + (size_t)r0;
			switch (tn) {
			case 1: fw_tile(f, 1, n, wr, ar, yt, ldy, rn); break;
			case 2: fw_tile(f, 2, n, wr, ar, yt, ldy, rn); break;
			case 3: fw_tile(f, 3, n, wr, ar, yt, ldy, rn); break;
			default: fw_tile(f, 4, n, wr, ar, yt, ldy, rn); break;
			}
		}
	}
}

/* activation rows: floats rounded as the weight type's vec_dot rounds them */
static void act_f16(const float *x, void *y, int64_t n)
{
	float *o = y;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm256_cvtps_ph(
			_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
	for (; i < n; i++)
		o[i] = hrt_fp16_to_f32(hrt_f32_to_fp16(x[i]));
}


static void tile_f16(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	fw_gemm(FW_F16, n, nr, nt, w, ws, act, as, y, ldy);
}

static void tile_bf16(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		      size_t as, float *y, size_t ldy)
{
	fw_gemm(FW_BF16, n, nr, nt, w, ws, act, as, y, ldy);
}

static void tile_f32(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	fw_gemm(FW_F32, n, nr, nt, w, ws, act, as, y, ldy);
}

/* read_sum: a line a step, with the decode kernels' prefetch */
ALWAYS_INLINE uint64_t rs_lines(const bool pl, const uint64_t *p, size_t n)
{
	const struct hrt_pf pf = hrt_pf_get();
	__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
	for (size_t i = 0; i + 8 <= n; i += 8) {
		if (pl)
			hrt_pf_lines(pf, p + i, 1);
		else
			hrt_pf_sparse(p + i, 64);
		a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
		a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
	}
	uint64_t w[4];
	_mm256_storeu_si256((__m256i *)w, _mm256_add_epi64(a0, a1));
	return w[0] + w[1] + w[2] + w[3];
}

static uint64_t read_sum(const uint64_t *p, size_t n)
{
	return hrt_pf_every_line() ? rs_lines(true, p, n) : rs_lines(false, p, n);
}

void hrt_kern_fill_avx2_float(struct hrt_kern_isa *t)
{
	t->read_sum = read_sum;
	static const struct {
		uint32_t w;
		hrt_gemm_fn tile;
		hrt_from_float_fn q;
	} f[] = {
		{ HRT_F16, tile_f16, act_f16 },
		{ HRT_BF16, tile_bf16, hrt_kern_act_bf16 },
		{ HRT_F32, tile_f32, hrt_kern_act_f32 },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		/* each float type is its own activation type; tiles at every
		 * token count */
		const uint32_t w = f[i].w;
		t->tile[w] = f[i].tile;
		t->tile_quantize[w] = f[i].q;
		t->tile_blk_bytes[w] = sizeof(float);
		t->tile_n[w] = INT_MAX;
	}
}
