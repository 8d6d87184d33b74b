/*
 * kern/float_avx512 — AVX-512 products of float weight rows (F16, BF16,
 * F32 models): decode and short batches as tiles (struct hrt_kern_isa
 * tile[], tile_quantize[]), prompts over panels of 16 tokens (gemm[],
 * panel[]). The activations keep the peer's rounding (F16 and BF16
 * weights meet activations rounded to F16 and BF16, as their vec_dot
 * types say) but are stored as floats, converted once per product instead
 * of once per row and token; a weight is converted to float once per tile
 * or pass of rows and tokens.
 *
 * Numerics: every product is exact in float (the rounded activation times
 * a weight of at most 11 significant bits, or the F32 product as vec_dot
 * takes it), sums in float in another order than vec_dot (~1e-6
 * relative).
 */
#include "core/fp16.h"
#include "kern/avx512_int.h"
#include "kern/prefetch.h"

/* the weight formats, by their type ids */
enum fw { FW_F16 = HRT_F16, FW_BF16 = HRT_BF16, FW_F32 = HRT_F32 };

ALWAYS_INLINE size_t fw_size(enum fw f)
{
	return f == FW_F32 ? 4 : 2;
}

/* the 16 weights at p as floats; lanes outside m read nothing and are 0 */
ALWAYS_INLINE __m512 fw_load(const enum fw f, const uint8_t *p, bool full, __mmask16 m)
{
	if (f == FW_F32)
		return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
	const __m256i h = full ? _mm256_loadu_si256((const __m256i *)p)
			       : _mm256_maskz_loadu_epi16(m, p);
	if (f == FW_F16)
		return _mm512_cvtph_ps(h);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

ALWAYS_INLINE __mmask16 tail_mask(int64_t left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/*
 * One token (decode): each row read to its end before the next, one
 * stream per thread with the decode kernels' prefetch (kern/prefetch.h),
 * 64 columns a step in four accumulators. vec_dot_f16 converted the
 * activations again for every row and left the stream to the hardware
 * prefetcher: 2-thread decode of a 1B F16 model read 14 GB/s there.
 */
ALWAYS_INLINE float fw_row(const enum fw f, const bool pl, struct hrt_pf pf, int64_t n,
			   const uint8_t *w, const float *a)
{
	const size_t es = fw_size(f);
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	__m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
	int64_t k = 0;
	for (; k + 64 <= n; k += 64) {
		const uint8_t *p = w + (size_t)k * es;
		if (pl)
			hrt_pf_lines(pf, p, (int)(64 * es / 64));
		else
			hrt_pf_sparse(p, 64 * es);
		s0 = _mm512_fmadd_ps(fw_load(f, p, true, 0), _mm512_loadu_ps(a + k), s0);
		s1 = _mm512_fmadd_ps(fw_load(f, p + 16 * es, true, 0), _mm512_loadu_ps(a + k + 16), s1);
		s2 = _mm512_fmadd_ps(fw_load(f, p + 32 * es, true, 0), _mm512_loadu_ps(a + k + 32), s2);
		s3 = _mm512_fmadd_ps(fw_load(f, p + 48 * es, true, 0), _mm512_loadu_ps(a + k + 48), s3);
	}
	for (; k < n; k += 16) {
		const __mmask16 m = tail_mask(n - k);
		s0 = _mm512_fmadd_ps(fw_load(f, w + (size_t)k * es, false, m),
				     _mm512_maskz_loadu_ps(m, a + k), s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* one token against nr rows, the prefetch mode pl a constant */
ALWAYS_INLINE void fw_rows(const bool pl, const enum fw f, int64_t n, int nr, const uint8_t *W,
			   size_t ws, const float *a, float *y)
{
	const struct hrt_pf pf = hrt_pf_get();
	for (int r = 0; r < nr; r++)
		y[r] = fw_row(f, pl, pf, n, W + (size_t)r * ws, a);
}

/*
 * Several tokens: FR rows x T tokens (T <= FT) per tile, 16 columns a
 * step: each row's 16 weights converted once for the T tokens, each
 * token's 16 activations loaded once for the FR rows, FR x T fmas (24 of
 * the 32 registers). Rows past nr repeat the last row and are not stored.
 */
#define FR 4
#define FT 6
/* tiles below this many tokens, panels from there: 1B F16 model, 2
 * threads, pp tok/s tiles / panels at n=16 76.2 / 70.4, 24 88.6 / 74.9,
 * 28 86.8 / 87.5, 32 90.3 / 98.0, 48 95.1 / 106.6 */
#ifndef TILE_N_FLOAT
#define TILE_N_FLOAT 28
#endif

ALWAYS_INLINE void fw_tile(const enum fw f, const int T, int64_t n, const uint8_t *const *w,
			   const float *const *a, float *y, size_t ldy, int nr)
{
	const size_t es = fw_size(f);
	__m512 acc[FR][FT];
	_Pragma("GCC unroll 4")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm512_setzero_ps();
	for (int64_t k = 0; k < n; k += 16) {
		const bool full = n - k >= 16;
		const __mmask16 m = tail_mask(n - k);
		__m512 x[FR];
		_Pragma("GCC unroll 4")
		for (int r = 0; r < FR; r++)
			x[r] = fw_load(f, w[r] + (size_t)k * es, full, m);
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++) {
			const __m512 av = full ? _mm512_loadu_ps(a[t] + k) : _mm512_maskz_loadu_ps(m, a[t] + k);
			_Pragma("GCC unroll 4")
			for (int r = 0; r < FR; r++)
				acc[r][t] = _mm512_fmadd_ps(x[r], av, acc[r][t]);
		}
	}
	/* constant indices only: a loop to nr kept acc in memory, stored and
	 * reloaded at every step */
	_Pragma("GCC unroll 4")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++)
			if (r < nr)
				y[(size_t)t * ldy + (size_t)r] = _mm512_reduce_add_ps(acc[r][t]);
}

/* the hrt_gemm_fn of tile[]: nr rows of n weights against nt activation
 * rows (floats, as bytes apart) */
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
			case 4: fw_tile(f, 4, n, wr, ar, yt, ldy, rn); break;
			case 5: fw_tile(f, 5, n, wr, ar, yt, ldy, rn); break;
			default: fw_tile(f, 6, n, wr, ar, yt, ldy, rn); break;
			}
		}
	}
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

/*
 * Prompts: activations in panels of FP tokens (hrt_panel_fn, the table's
 * panel_n), per column the FP tokens' floats side by side (one vector).
 * A step meets column k of PR rows with up to PG panels: each row's weight
 * broadcast (from a block of PR x 16 weights converted to float once per
 * step of 16 columns) times each panel's vector, PR x PG fmas into
 * accumulators that hold PG x 16 tokens of a row each, with no sums across
 * lanes. The tiles above spend a conversion per row and 16 columns beside
 * their fmas, load each token's activations once per 4 rows and sum
 * lanes per row and token at the end.
 * For BF16 weights, vdpbf16ps (two products per lane, a pair of weights
 * broadcast as one dword, panels of BF16 activations in pairs of columns)
 * was slower than these fmas on the 2-core Xeon (family 6 model 207): 1B
 * BF16 model, 2 threads, pp512 71.1-74.1 against 111.9-115.5 tok/s.
 */
#define FP 16 /* tokens per panel */
#define PR 8  /* rows per pass */
#define PG 3  /* panels per pass */

/* columns [k0, k1) of PR rows against G panels, into the sums at part */
ALWAYS_INLINE void fp_pass(const enum fw f, const int G, int64_t k0, int64_t k1,
			   const uint8_t *const *w, const float *const *pa, __m512 part[PR][PG])
{
	const size_t es = fw_size(f);
	__m512 acc[PR][PG];
	_Pragma("GCC unroll 8")
	for (int r = 0; r < PR; r++)
		_Pragma("GCC unroll 3")
		for (int g = 0; g < G; g++)
			acc[r][g] = part[r][g];
	float wf[PR][16] __attribute__((aligned(64)));
	for (int64_t kb = k0; kb < k1; kb += 16) {
		const int kn = k1 - kb < 16 ? (int)(k1 - kb) : 16;
		const __mmask16 m = tail_mask(k1 - kb);
		_Pragma("GCC unroll 8")
		for (int r = 0; r < PR; r++)
			_mm512_store_ps(wf[r], fw_load(f, w[r] + (size_t)kb * es, kn == 16, m));
		for (int kk = 0; kk < kn; kk++) {
			const size_t o = (size_t)(kb + kk) * FP;
			__m512 av[PG];
			_Pragma("GCC unroll 3")
			for (int g = 0; g < G; g++)
				av[g] = _mm512_load_ps(pa[g] + o);
			_Pragma("GCC unroll 8")
			for (int r = 0; r < PR; r++) {
				const __m512 b = _mm512_set1_ps(wf[r][kk]);
				_Pragma("GCC unroll 3")
				for (int g = 0; g < G; g++)
					acc[r][g] = _mm512_fmadd_ps(b, av[g], acc[r][g]);
			}
		}
	}
	_Pragma("GCC unroll 8")
	for (int r = 0; r < PR; r++)
		_Pragma("GCC unroll 3")
		for (int g = 0; g < G; g++)
			part[r][g] = acc[r][g];
}

/*
 * The hrt_gemm_fn of gemm[] over panels (act: the first, as apart). Per
 * block of up to FB_ROWS rows and PG panels, the columns in chunks of
 * FB_COLS: a chunk of the panels (24 KiB) stays in L1 while every row tile
 * of the block passes over it, the tiles' sums kept in memory between
 * chunks. Without the chunks each row tile read the panels whole from L2
 * (1.5 MiB at 8192 columns): ffn_down 2048x8192, 128 tokens, one thread,
 * 94 GOPS where 2048 columns ran at 120.
 */
#define FB_ROWS 64
#define FB_COLS 128

ALWAYS_INLINE void fp_gemm(const enum fw f, int64_t n, int nr, int nt, const void *w, size_t ws,
			   const void *act, size_t as, float *y, size_t ldy)
{
	const uint8_t *W = w, *A = act;
	__m512 part[FB_ROWS / PR][PR][PG];
	for (int b0 = 0; b0 < nr; b0 += FB_ROWS) {
		const int bn = nr - b0 < FB_ROWS ? nr - b0 : FB_ROWS;
		const int nrt = (bn + PR - 1) / PR;
		for (int t0 = 0; t0 < nt; t0 += PG * FP) {
			const int tn = nt - t0 < PG * FP ? nt - t0 : PG * FP;
			const int G = (tn + FP - 1) / FP;
			const float *pa[PG];
			for (int g = 0; g < G; g++)
				pa[g] = (const float *)(A + (size_t)(t0 / FP + g) * as);
			for (int rt = 0; rt < nrt; rt++)
				for (int r = 0; r < PR; r++)
					for (int g = 0; g < PG; g++)
						part[rt][r][g] = _mm512_setzero_ps();
			for (int64_t k0 = 0; k0 < n; k0 += FB_COLS) {
				const int64_t k1 = n - k0 < FB_COLS ? n : k0 + FB_COLS;
				for (int rt = 0; rt < nrt; rt++) {
					const int r0 = b0 + rt * PR;
					const int rn = nr - r0 < PR ? nr - r0 : PR;
					const uint8_t *wr[PR];
					for (int r = 0; r < PR; r++)
						wr[r] = W + (size_t)(r0 + (r < rn ? r : rn - 1)) * ws;
					switch (G) {
					case 1: fp_pass(f, 1, k0, k1, wr, pa, part[rt]); break;
					case 2: fp_pass(f, 2, k0, k1, wr, pa, part[rt]); break;
					default: fp_pass(f, 3, k0, k1, wr, pa, part[rt]); break;
					}
				}
			}
			/* lane t of part[rt][r][g]: token t0 + 16 g + t, row b0 + PR rt + r */
			for (int rt = 0; rt < nrt; rt++)
				for (int r = 0; r < PR && b0 + rt * PR + r < nr; r++) {
					float tmp[PG * FP] __attribute__((aligned(64)));
					for (int g = 0; g < G; g++)
						_mm512_store_ps(tmp + g * FP, part[rt][r][g]);
					for (int t = 0; t < tn; t++)
						y[(size_t)(t0 + t) * ldy + (size_t)(b0 + rt * PR + r)] = tmp[t];
				}
		}
	}
}

static void gemm_f16(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		      size_t as, float *y, size_t ldy)
{
	fp_gemm(FW_F16, n, nr, nt, w, ws, act, as, y, ldy);
}

static void gemm_bf16(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		       size_t as, float *y, size_t ldy)
{
	fp_gemm(FW_BF16, n, nr, nt, w, ws, act, as, y, ldy);
}

static void gemm_f32(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		      size_t as, float *y, size_t ldy)
{
	fp_gemm(FW_F32, n, nr, nt, w, ws, act, as, y, ldy);
}

/* activation rows: floats rounded as the weight type's vec_dot rounds them */
static void act_f16(const float *x, void *y, int64_t n)
{
	float *o = y;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(o + i, _mm512_cvtph_ps(_mm512_cvtps_ph(
			_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
	for (; i < n; i++)
		o[i] = hrt_fp16_to_f32(hrt_f32_to_fp16(x[i]));
}


/* a panel of nt (<= FP) activation rows, rounded by q, tokens past nt 0 */
ALWAYS_INLINE void panel_of(hrt_from_float_fn q, const float *x, size_t xs, int nt, int64_t n,
			    void *dst)
{
	float *p = dst, row[256];
	memset(p, 0, (size_t)n * FP * sizeof(float));
	for (int t = 0; t < nt; t++)
		for (int64_t k0 = 0; k0 < n; k0 += 256) {
			const int64_t kn = n - k0 < 256 ? n - k0 : 256;
			q(x + (size_t)t * xs + (size_t)k0, row, kn);
			for (int64_t k = 0; k < kn; k++)
				p[(size_t)(k0 + k) * FP + (size_t)t] = row[k];
		}
}

static void panel_f16(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	panel_of(act_f16, x, xs, nt, n, dst);
}

static void panel_bf16(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	panel_of(hrt_kern_act_bf16, x, xs, nt, n, dst);
}

static void panel_f32(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	panel_of(hrt_kern_act_f32, x, xs, nt, n, dst);
}

/* read_sum: a line a step, with the decode kernels' prefetch */
ALWAYS_INLINE uint64_t rs_lines(const bool pl, const uint64_t *p, size_t n)
{
	const struct hrt_pf pf = hrt_pf_get();
	__m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		if (pl)
			hrt_pf_lines(pf, p + i, 2);
		else
			hrt_pf_sparse(p + i, 128);
		a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(p + i));
		a1 = _mm512_add_epi64(a1, _mm512_loadu_si512(p + i + 8));
	}
	if (i < n)
		a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(p + i));
	/* the lanes summed unsigned: the intrinsic reduction adds them as
	 * signed, which may overflow */
	uint64_t w[8], t = 0;
	_mm512_storeu_si512(w, _mm512_add_epi64(a0, a1));
	for (int k = 0; k < 8; k++)
		t += w[k];
	return t;
}

static uint64_t read_sum(const uint64_t *p, size_t n)
{
	return hrt_pf_every_line() ? rs_lines(true, p, n) : rs_lines(false, p, n);
}

void hrt_kern_fill_avx512_float(struct hrt_kern_isa *t)
{
	t->read_sum = read_sum;
	static const struct {
		uint32_t w;
		hrt_gemm_fn tile, gemm;
		hrt_from_float_fn q;
		hrt_panel_fn panel;
	} f[] = {
		{ HRT_F16, tile_f16, gemm_f16, act_f16, panel_f16 },
		{ HRT_BF16, tile_bf16, gemm_bf16, hrt_kern_act_bf16, panel_bf16 },
		{ HRT_F32, tile_f32, gemm_f32, hrt_kern_act_f32, panel_f32 },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		/* each float type is its own activation type */
		const uint32_t w = f[i].w;
		t->tile[w] = f[i].tile;
		t->tile_quantize[w] = f[i].q;
		t->tile_blk_bytes[w] = sizeof(float);
		t->tile_n[w] = TILE_N_FLOAT;
		if (t->panel_n == FP) {
			t->gemm[w] = f[i].gemm;
			t->panel[w] = f[i].panel;
			t->panel_blk_bytes[w] = FP * sizeof(float);
		}
	}
}
