/*
 * kern/kern_neon — AArch64 NEON dot products for the common weight types
 * (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) and the Q8_0 / Q8_K activation quantizers
 * (same bytes as the reference: vrndaq rounds half away like roundf,
 * vrndnq to even like ggml's nearest_int). With the dot-product extension
 * (compiled with __ARM_FEATURE_DOTPROD, e.g. -march=armv8.2-a+dotprod) the
 * dots use vdotq_s32; otherwise widening multiplies (vmull_s8 +
 * vpadalq_s16), which every AArch64 CPU has. Other types stay on the
 * reference kernels. Integer sums are exact; each 16-byte product vector is
 * summed across lanes before its group scale is applied, so both paths give
 * the same integers as kern/quant_ref.c.
 */
#include <arm_neon.h>
#include <string.h>

#include "kern/kern.h"
#include "kern/quant_blocks.h"

void hrt_kern_fill_neon(struct hrt_kern_isa *t);
/* products of F16, BF16 and F32 weights (float_neon.c) */
void hrt_kern_fill_neon_float(struct hrt_kern_isa *t);

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE float f16(uint16_t h)
{
	__fp16 v;
	memcpy(&v, &h, 2);
	return (float)v;
}

/* acc + the dot of 16 signed bytes, in some grouping of 4 lanes */
ALWAYS_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
#ifdef __ARM_FEATURE_DOTPROD
	return vdotq_s32(acc, a, b);
#else
	acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
	return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

/* sum over 16 byte products */
ALWAYS_INLINE int32_t sdot16(int8x16_t a, int8x16_t b)
{
	return vaddvq_s32(dot16(vdupq_n_s32(0), a, b));
}

/* ------------------------------------------------------------ quantizers */

static void quantize_q8_0(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_0 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float32x4_t v[8];
		float32x4_t am = vdupq_n_f32(0);
		for (int k = 0; k < 8; k++) {
			v[k] = vld1q_f32(x + 4 * k);
			am = vmaxq_f32(am, vabsq_f32(v[k]));
		}
		float amax = vmaxvq_f32(am);
		float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
		__fp16 hd = (__fp16)d;
		memcpy(&b->d, &hd, 2);
		for (int k = 0; k < 8; k += 2) {
			int32x4_t q0 = vcvtq_s32_f32(vrndaq_f32(vmulq_n_f32(v[k], id)));
			int32x4_t q1 = vcvtq_s32_f32(vrndaq_f32(vmulq_n_f32(v[k + 1], id)));
			int16x8_t h = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
			vst1_s8(b->qs + 4 * k, vqmovn_s16(h));
		}
	}
}

static void quantize_q8_k(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_k *b = y;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		float32x4_t am = vdupq_n_f32(0);
		for (int k = 0; k < 64; k++)
			am = vmaxq_f32(am, vabsq_f32(vld1q_f32(x + 4 * k)));
		float amax = vmaxvq_f32(am);
		if (!(amax > 0)) {
			memset(b, 0, sizeof *b);
			continue;
		}
		float max = 0;
		for (int e = 0; e < HRT_QK_K; e++)
			if (x[e] == amax || x[e] == -amax) {
				max = x[e];
				break;
			}
		float is = -127.f / max;
		for (int g = 0; g < 16; g++) {
			int16x8_t h[2];
			for (int k = 0; k < 2; k++) {
				const float *p = x + 16 * g + 8 * k;
				int32x4_t q0 = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(vld1q_f32(p), is)));
				int32x4_t q1 = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(vld1q_f32(p + 4), is)));
				h[k] = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
			}
			int8x16_t q = vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1]));
			vst1q_s8(b->qs + 16 * g, q);
			b->bsums[g] = (int16_t)vaddlvq_s8(q);
		}
		b->d = is != 0 ? 1 / is : 0.0f;
	}
}

/* ---------------------------------------------------------- dot products */

static void vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q8_0 *a = x, *b = y;
	float32x4_t acc = vdupq_n_f32(0);
	for (int64_t i = 0; i < n / HRT_QK; i++) {
		int32x4_t d = dot16(vdupq_n_s32(0), vld1q_s8(a[i].qs), vld1q_s8(b[i].qs));
		d = dot16(d, vld1q_s8(a[i].qs + 16), vld1q_s8(b[i].qs + 16));
		acc = vmlaq_n_f32(acc, vcvtq_f32_s32(d), f16(a[i].d) * f16(b[i].d));
	}
	*s = vaddvq_f32(acc);
}

static void vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	const uint8x16_t m4 = vdupq_n_u8(15);
	const int8x16_t k8 = vdupq_n_s8(8);
	float32x4_t acc = vdupq_n_f32(0);
	for (int64_t i = 0; i < n / HRT_QK; i++) {
		uint8x16_t q = vld1q_u8(a[i].qs);
		int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), k8);
		int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), k8);
		int32x4_t d = dot16(vdupq_n_s32(0), lo, vld1q_s8(b[i].qs));
		d = dot16(d, hi, vld1q_s8(b[i].qs + 16));
		acc = vmlaq_n_f32(acc, vcvtq_f32_s32(d), f16(a[i].d) * f16(b[i].d));
	}
	*s = vaddvq_f32(acc);
}

/* Q4_K / Q5_K: 6-bit scales and mins of the 8 sub-blocks */
ALWAYS_INLINE void k4_scales(const uint8_t *s, int32_t sc[8], int32_t m[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		m[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 15) | (s[j] >> 6) << 4;
		m[j + 4] = (s[j + 8] >> 4) | (s[j + 4] >> 6) << 4;
	}
}

ALWAYS_INLINE float q45k_block(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
			       uint16_t d, uint16_t dmin, const struct hrt_blk_q8_k *b)
{
	int32_t sc[8], m[8];
	k4_scales(scales, sc, m);
	const uint8x16_t m4 = vdupq_n_u8(15);
	uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
	if (qh) {
		h0 = vld1q_u8(qh);
		h1 = vld1q_u8(qh + 16);
	}
	int32_t isum = 0;
	for (int c = 0; c < 4; c++) {
		uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
		uint8x16_t l0 = vandq_u8(q0, m4), l1 = vandq_u8(q1, m4);
		uint8x16_t u0 = vshrq_n_u8(q0, 4), u1 = vshrq_n_u8(q1, 4);
		if (qh) {
			/* bit 2c (low nibbles) and 2c + 1 (high) of qh[l] -> + 16 */
			const uint8x16_t one = vdupq_n_u8(1);
			l0 = vorrq_u8(l0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, vdupq_n_s8((int8_t)(-2 * c))), one), 4));
			l1 = vorrq_u8(l1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, vdupq_n_s8((int8_t)(-2 * c))), one), 4));
			u0 = vorrq_u8(u0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, vdupq_n_s8((int8_t)(-2 * c - 1))), one), 4));
			u1 = vorrq_u8(u1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, vdupq_n_s8((int8_t)(-2 * c - 1))), one), 4));
		}
		const int8_t *a = b->qs + 64 * c;
		int32x4_t dl = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(l0), vld1q_s8(a));
		dl = dot16(dl, vreinterpretq_s8_u8(l1), vld1q_s8(a + 16));
		int32x4_t dh = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(u0), vld1q_s8(a + 32));
		dh = dot16(dh, vreinterpretq_s8_u8(u1), vld1q_s8(a + 48));
		isum += sc[2 * c] * vaddvq_s32(dl) + sc[2 * c + 1] * vaddvq_s32(dh);
	}
	int32_t summ = 0;
	for (int g = 0; g < 16; g++)
		summ += b->bsums[g] * m[g / 2];
	return f16(d) * b->d * (float)isum - f16(dmin) * b->d * (float)summ;
}

static void vec_dot_q4_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK_K; i++)
		sum += q45k_block(a[i].qs, NULL, a[i].scales, a[i].d, a[i].dmin, &b[i]);
	*s = sum;
}

static void vec_dot_q5_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q5_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK_K; i++)
		sum += q45k_block(a[i].qs, a[i].qh, a[i].scales, a[i].d, a[i].dmin, &b[i]);
	*s = sum;
}

/* element 128h + 32k + 16j + l (l < 16): low 4 bits in
 * ql[64h + 32(k & 1) + 16j + l] >> 4(k >> 1), high 2 in qh[32h + 16j + l]
 * >> 2k; group (of 16) 8h + 2k + j */
static void vec_dot_q6_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q6_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	const uint8x16_t m4 = vdupq_n_u8(15), m3 = vdupq_n_u8(3);
	const int8x16_t k32 = vdupq_n_s8(32);
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		int32_t isum = 0;
		for (int h = 0; h < 2; h++)
			for (int j = 0; j < 2; j++) {
				uint8x16_t qh = vld1q_u8(a[i].qh + 32 * h + 16 * j);
				uint8x16_t ql0 = vld1q_u8(a[i].ql + 64 * h + 16 * j);
				uint8x16_t ql1 = vld1q_u8(a[i].ql + 64 * h + 32 + 16 * j);
				uint8x16_t lo[4] = { vandq_u8(ql0, m4), vandq_u8(ql1, m4),
						     vshrq_n_u8(ql0, 4), vshrq_n_u8(ql1, 4) };
				uint8x16_t hb[4] = { vandq_u8(qh, m3), vandq_u8(vshrq_n_u8(qh, 2), m3),
						     vandq_u8(vshrq_n_u8(qh, 4), m3), vshrq_n_u8(qh, 6) };
				for (int k = 0; k < 4; k++) {
					int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(
						vorrq_u8(lo[k], vshlq_n_u8(hb[k], 4))), k32);
					const int8_t *av = b[i].qs + 128 * h + 32 * k + 16 * j;
					isum += a[i].scales[8 * h + 2 * k + j] * sdot16(q, vld1q_s8(av));
				}
			}
		sum += f16(a[i].d) * b[i].d * (float)isum;
	}
	*s = sum;
}

/*
 * Attention scores against keys in blocks of HRT_KV_BLK positions (kern.h),
 * as on x86: per element d, a block's 16 keys are two f16 loads widened to
 * four float vectors, and each query meets them with four fmas by its
 * element d; up to 4 queries a pass (16 accumulators of the 32 registers).
 */
ALWAYS_INLINE void sc_block(const int nq, int64_t hd, int64_t n, const uint16_t *kb,
			    const float *q, size_t qs, float *out, size_t os)
{
	float32x4_t acc[4][4];
	for (int i = 0; i < nq; i++)
		for (int j = 0; j < 4; j++)
			acc[i][j] = vdupq_n_f32(0.0f);
	for (int64_t d = 0; d < hd; d++) {
		const float16x8_t h0 = vreinterpretq_f16_u16(vld1q_u16(kb + d * HRT_KV_BLK));
		const float16x8_t h1 = vreinterpretq_f16_u16(vld1q_u16(kb + d * HRT_KV_BLK + 8));
		const float32x4_t x[4] = { vcvt_f32_f16(vget_low_f16(h0)), vcvt_high_f32_f16(h0),
					   vcvt_f32_f16(vget_low_f16(h1)), vcvt_high_f32_f16(h1) };
		for (int i = 0; i < nq; i++) {
			const float qv = q[(size_t)i * qs + (size_t)d];
			for (int j = 0; j < 4; j++)
				acc[i][j] = vfmaq_n_f32(acc[i][j], x[j], qv);
		}
	}
	for (int i = 0; i < nq; i++) {
		float tmp[HRT_KV_BLK];
		for (int j = 0; j < 4; j++)
			vst1q_f32(tmp + 4 * j, acc[i][j]);
		memcpy(out + (size_t)i * os, tmp, (size_t)n * sizeof(float));
	}
}

static void att_scores(int64_t hd, int64_t np, const uint16_t *k, const float *q, int nq,
		       size_t qs, float *out, size_t os)
{
	const size_t bs = (size_t)HRT_KV_BLK * (size_t)hd;
	for (; nq > 0; nq -= 4, q += 4 * qs, out += 4 * os)
		for (int64_t b = 0; b * HRT_KV_BLK < np; b++) {
			const int64_t p = b * HRT_KV_BLK;
			const int64_t n = np - p < HRT_KV_BLK ? np - p : HRT_KV_BLK;
			const uint16_t *kb = k + (size_t)b * bs;
			switch (nq < 4 ? nq : 4) {
			case 1: sc_block(1, hd, n, kb, q, qs, out + p, os); break;
			case 2: sc_block(2, hd, n, kb, q, qs, out + p, os); break;
			case 3: sc_block(3, hd, n, kb, q, qs, out + p, os); break;
			default: sc_block(4, hd, n, kb, q, qs, out + p, os); break;
			}
		}
}

/*
 * Weighted values of an F16 cache (kern.h qk_f16): up to 4 probability
 * rows against 4 value rows per step (16 accumulators), 8 positions a
 * step (each row's 8 f16 widened to two float vectors, shared by the
 * probability rows), the last positions one at a time; then a sum across
 * lanes per pair.
 */
ALWAYS_INLINE void vf_rows(const int nq, int64_t np, int64_t nr, const uint16_t *k, size_t ks,
			   const float *q, size_t qs, float *out, size_t os)
{
	for (int64_t r0 = 0; r0 < nr; r0 += 4) {
		const uint16_t *kr[4];
		for (int rr = 0; rr < 4; rr++)
			kr[rr] = k + (size_t)(r0 + rr < nr ? r0 + rr : nr - 1) * ks;
		float32x4_t acc[4][4];
		for (int i = 0; i < nq; i++)
			for (int rr = 0; rr < 4; rr++)
				acc[i][rr] = vdupq_n_f32(0.0f);
		int64_t p = 0;
		for (; p + 8 <= np; p += 8) {
			float32x4_t lo[4], hi[4];
			for (int rr = 0; rr < 4; rr++) {
				const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(kr[rr] + p));
				lo[rr] = vcvt_f32_f16(vget_low_f16(h));
				hi[rr] = vcvt_high_f32_f16(h);
			}
			for (int i = 0; i < nq; i++) {
				const float32x4_t a = vld1q_f32(q + (size_t)i * qs + (size_t)p);
				const float32x4_t b = vld1q_f32(q + (size_t)i * qs + (size_t)p + 4);
				for (int rr = 0; rr < 4; rr++)
					acc[i][rr] = vfmaq_f32(vfmaq_f32(acc[i][rr], a, lo[rr]), b, hi[rr]);
			}
		}
		const int rn = nr - r0 < 4 ? (int)(nr - r0) : 4;
		for (int i = 0; i < nq; i++)
			for (int rr = 0; rr < rn; rr++) {
				float s = vaddvq_f32(acc[i][rr]);
				for (int64_t t = p; t < np; t++)
					s += q[(size_t)i * qs + (size_t)t] * f16(kr[rr][t]);
				out[(size_t)i * os + (size_t)(r0 + rr)] = s;
			}
	}
}

static void qk_f16(int64_t np, int64_t nr, const uint16_t *k, size_t ks, const float *q, int nq,
		   size_t qs, float *out, size_t os)
{
	switch (nq) {
	case 1: vf_rows(1, np, nr, k, ks, q, qs, out, os); break;
	case 2: vf_rows(2, np, nr, k, ks, q, qs, out, os); break;
	case 3: vf_rows(3, np, nr, k, ks, q, qs, out, os); break;
	case 4: vf_rows(4, np, nr, k, ks, q, qs, out, os); break;
	default: break;
	}
}

/*
 * Weighted values of a Q8_0 cache (kern.h): per position, a block's 32
 * codes widen to eight float vectors times its d (exact), shared by up to
 * 2 probability rows (16 accumulators); a block of columns per pass.
 */
ALWAYS_INLINE void vq_block(const int nq, int64_t np, const uint8_t *v, size_t vs, const float *pr,
			    size_t ps, float *out, size_t os)
{
	float32x4_t acc[2][8];
	for (int i = 0; i < nq; i++)
		for (int c = 0; c < 8; c++)
			acc[i][c] = vdupq_n_f32(0.0f);
	for (int64_t p = 0; p < np; p++, v += vs) {
		const struct hrt_blk_q8_0 *b = (const void *)v;
		const float d = f16(b->d);
		float32x4_t x[8];
		for (int h = 0; h < 2; h++) {
			const int8x16_t q = vld1q_s8(b->qs + 16 * h);
			const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
			x[4 * h + 0] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d);
			x[4 * h + 1] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), d);
			x[4 * h + 2] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d);
			x[4 * h + 3] = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), d);
		}
		for (int i = 0; i < nq; i++) {
			const float a = pr[(size_t)i * ps + (size_t)p];
			for (int c = 0; c < 8; c++)
				acc[i][c] = vfmaq_n_f32(acc[i][c], x[c], a);
		}
	}
	for (int i = 0; i < nq; i++)
		for (int c = 0; c < 8; c++)
			vst1q_f32(out + (size_t)i * os + 4 * c, acc[i][c]);
}

static void att_values_q8_0(int64_t hd, int64_t np, const void *v, size_t vs, const float *pr,
			    int nq, size_t ps, float *out, size_t os)
{
	for (; nq > 0; nq -= 2, pr += 2 * ps, out += 2 * os)
		for (int64_t k = 0; k < hd / HRT_QK; k++) {
			const uint8_t *vb = (const uint8_t *)v + (size_t)k * sizeof(struct hrt_blk_q8_0);
			if (nq >= 2)
				vq_block(2, np, vb, vs, pr, ps, out + k * HRT_QK, os);
			else
				vq_block(1, np, vb, vs, pr, ps, out + k * HRT_QK, os);
		}
}

/* to f16 and back, 4 at a time (round to nearest even, the default mode) */
static void round_f16(float *x, int64_t n)
{
	int64_t i = 0;
	for (; i + 4 <= n; i += 4)
		vst1q_f32(x + i, vcvt_f32_f16(vcvt_f16_f32(vld1q_f32(x + i))));
	for (; i < n; i++)
		x[i] = (float)(__fp16)x[i];
}

void hrt_kern_fill_neon(struct hrt_kern_isa *t)
{
	t->att_scores = att_scores;
	t->qk_f16 = qk_f16;
	t->round_f16 = round_f16;
	t->att_values_q8_0 = att_values_q8_0;
	t->quantize[HRT_Q8_0] = quantize_q8_0;
	t->quantize[HRT_Q8_K] = quantize_q8_k;
	t->vec_dot[HRT_Q4_0] = vec_dot_q4_0;
	t->vec_dot[HRT_Q8_0] = vec_dot_q8_0;
	t->vec_dot[HRT_Q4_K] = vec_dot_q4_k;
	t->vec_dot[HRT_Q5_K] = vec_dot_q5_k;
	t->vec_dot[HRT_Q6_K] = vec_dot_q6_k;
	hrt_kern_fill_neon_float(t);
}
