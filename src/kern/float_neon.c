/*
 * kern/float_neon — AArch64 NEON products of float weight rows (F16, BF16,
 * F32 models), as float_avx2.c does them on x86: activations rounded as the
 * weight type's vec_dot rounds them (F16, BF16) and stored as floats once
 * per product (struct hrt_kern_isa tile_quantize[]); one token reads each
 * row to its end, 16 columns a step in four accumulators; more tokens run
 * in tiles of 4 rows x up to 6 tokens (24 of the 32 registers), each row's
 * 4 weights converted once for the tile's tokens. Before, the NEON table
 * had no float kernel at all: the portable vec_dot, a table lookup per
 * f16 weight and a double sum, per row and token.
 *
 * Numerics: every product exact in float, sums in float in another order
 * than vec_dot (~1e-6 relative). Correct under qemu (tests/e2e/neon.sh);
 * not timed: this project has no AArch64 machine.
 */
#include <arm_neon.h>
#include <limits.h>
#include <string.h>

#include "core/fp16.h"
#include "kern/kern.h"

void hrt_kern_fill_neon_float(struct hrt_kern_isa *t);

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* the weight formats, by their type ids */
enum fw { FW_F16 = HRT_F16, FW_BF16 = HRT_BF16, FW_F32 = HRT_F32 };

ALWAYS_INLINE size_t fw_size(enum fw f)
{
	return f == FW_F32 ? 4 : 2;
}

/* the 4 weights at p as floats */
ALWAYS_INLINE float32x4_t fw_load4(const enum fw f, const uint8_t *p)
{
	if (f == FW_F32)
		return vld1q_f32((const float *)p);
	const uint16x4_t h = vld1_u16((const uint16_t *)p);
	if (f == FW_F16)
		return vcvt_f32_f16(vreinterpret_f16_u16(h));
	return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

/* weight k of the row at p, one at a time (the tails), by the type's own
 * converter */
ALWAYS_INLINE float fw_one(const enum fw f, const uint8_t *p, int64_t k)
{
	float x;
	hrt_type_get((uint32_t)f)->to_float(p + (size_t)k * fw_size(f), &x, 1);
	return x;
}

/* one token: a row at a time, 16 columns a step in four accumulators */
ALWAYS_INLINE float fw_row(const enum fw f, int64_t n, const uint8_t *w, const float *a)
{
	const size_t es = fw_size(f);
	float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0), s2 = vdupq_n_f32(0),
		    s3 = vdupq_n_f32(0);
	int64_t k = 0;
	for (; k + 16 <= n; k += 16) {
		const uint8_t *p = w + (size_t)k * es;
		s0 = vfmaq_f32(s0, fw_load4(f, p), vld1q_f32(a + k));
		s1 = vfmaq_f32(s1, fw_load4(f, p + 4 * es), vld1q_f32(a + k + 4));
		s2 = vfmaq_f32(s2, fw_load4(f, p + 8 * es), vld1q_f32(a + k + 8));
		s3 = vfmaq_f32(s3, fw_load4(f, p + 12 * es), vld1q_f32(a + k + 12));
	}
	for (; k + 4 <= n; k += 4)
		s0 = vfmaq_f32(s0, fw_load4(f, w + (size_t)k * es), vld1q_f32(a + k));
	float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
	for (; k < n; k++)
		s += fw_one(f, w, k) * a[k];
	return s;
}

/* FR rows x T (<= FT) tokens, 4 columns a step; rows past nr repeat the
 * last row and are not stored */
#define FR 4
#define FT 6

ALWAYS_INLINE void fw_tile(const enum fw f, const int T, int64_t n, const uint8_t *const *w,
			   const float *const *a, float *y, size_t ldy, int nr)
{
	const size_t es = fw_size(f);
	float32x4_t acc[FR][FT];
	_Pragma("GCC unroll 4")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++)
			acc[r][t] = vdupq_n_f32(0);
	int64_t k = 0;
	for (; k + 4 <= n; k += 4) {
		float32x4_t x[FR];
		_Pragma("GCC unroll 4")
		for (int r = 0; r < FR; r++)
			x[r] = fw_load4(f, w[r] + (size_t)k * es);
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++) {
			const float32x4_t av = vld1q_f32(a[t] + k);
			_Pragma("GCC unroll 4")
			for (int r = 0; r < FR; r++)
				acc[r][t] = vfmaq_f32(acc[r][t], x[r], av);
		}
	}
	/* constant indices only (float_avx512.c's fw_tile says why) */
	_Pragma("GCC unroll 4")
	for (int r = 0; r < FR; r++)
		_Pragma("GCC unroll 6")
		for (int t = 0; t < T; t++) {
			if (r >= nr)
				continue;
			float s = vaddvq_f32(acc[r][t]);
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
		for (int r = 0; r < nr; r++)
			y[r] = fw_row(f, n, W + (size_t)r * ws, (const float *)A);
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

/* activation rows: floats rounded as the weight type's vec_dot rounds them
 * (vcvt: round to nearest even, as hrt_f32_to_fp16) */
static void act_f16(const float *x, void *y, int64_t n)
{
	float *o = y;
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(o + i, vcvt_f32_f16(vcvt_f16_f32(vld1q_f32(x + i))));
	for (; i < n; i++)
		o[i] = hrt_fp16_to_f32(hrt_f32_to_fp16(x[i]));
}


void hrt_kern_fill_neon_float(struct hrt_kern_isa *t)
{
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
		 * token count (this table has no panels) */
		const uint32_t w = f[i].w;
		t->tile[w] = f[i].tile;
		t->tile_quantize[w] = f[i].q;
		t->tile_blk_bytes[w] = sizeof(float);
		t->tile_n[w] = INT_MAX;
	}
}
