/*
 * kern/quant_ref — portable reference kernels: dequantize, quantize and dot
 * product for F32, F16, BF16, Q4_0..Q8_1 and the k-quants Q2_K..Q8_K.
 * This file is the oracle every SIMD kernel is tested against; it is written
 * for clarity first and takes no ISA flags.
 *
 * The formats are ggml's (ggml/src/ggml-quants.c, ggml-common.h); block
 * structs are in kern/quant_blocks.h. fp16 fields are IEEE half, little-endian.
 * In the k-quants a 256-element super-block splits into sub-blocks of 16 or
 * 32; for element e (0..255) of a super-block:
 *
 *   Q4_0  y = d * (q - 8);   q = qs[e % 16] >> (4 * (e / 16)) & 15
 *   Q4_1  y = d * q + m;     q as Q4_0
 *   Q5_0  y = d * (q - 16);  q = Q4_0's nibble | bit e of qh (uint32 LE) << 4
 *   Q5_1  y = d * q + m;     q as Q5_0
 *   Q8_0  y = d * qs[e];     Q8_1 also keeps s = d * sum(qs) in fp16
 *   Q2_K  y = d * (sc & 15) * q - dmin * (sc >> 4);  sc = scales[e / 16],
 *         q = qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32)) & 3
 *   Q3_K  y = d * (s6 - 32) * (q - (hbit ? 0 : 4));  q as Q2_K's,
 *         hbit = hmask[e % 32] >> (e / 32) & 1, s6 = the 6-bit scale e / 16:
 *         low 4 bits in scales[0..7] (lo nibble for 0..7, hi for 8..15),
 *         high 2 bits in scales[8 + j % 4] >> (2 * (j / 4))
 *   Q4_K  y = d * sc * q - dmin * m;  sc, m = 6-bit scale and min of
 *         sub-block j = e / 32: j < 4: scales[j] & 63, scales[j + 4] & 63;
 *         j >= 4: low nibbles in scales[j + 4] (sc lo, m hi), top 2 bits in
 *         scales[j - 4] >> 6 (sc) and scales[j] >> 6 (m);
 *         q = qs[32 * (e / 64) + e % 32] >> (4 * (e % 64 / 32)) & 15
 *   Q5_K  as Q4_K with q += 16 * (qh[e % 32] >> (e / 32) & 1)
 *   Q6_K  y = d * scales[e / 16] * (q - 32);  with h = e / 128, k = e % 128
 *         / 32, l = e % 32: q = ql[64h + 32(k & 1) + l] >> (4 * (k >> 1)) & 15
 *         | (qh[32h + l] >> 2k & 3) << 4
 *   Q8_K  y = d * qs[e];  d is an f32, bsums[g] = sum of qs[16g .. 16g + 15]
 *
 * Dequantization and the dot products follow ggml's scalar code operation
 * for operation (same integer sums, same float products in the same order),
 * so results are bit-identical to ggml's dequantize_row_* and
 * ggml_vec_dot_*_generic. Activation quantizers (Q8_0, Q8_1, Q8_K) match
 * ggml's quantize_row_*_ref. Weight quantizers implement the same search
 * (weighted least squares over candidate scales, then 6/8-bit super-block
 * scales) as ggml's reference quantizers without an importance matrix.
 * Inputs must be finite for meaningful output; NaN or inf give garbage
 * values but never undefined behaviour or out-of-range codes.
 */
#include "kern/quant_ref.h"

#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <string.h>

#include "core/fp16.h"
#include "kern/quant_blocks.h"

/* a*b + c must round twice, as in the peer's scalar code and our tests */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define H2F(h) hrt_fp16_to_f32(h)
#define F2H(f) hrt_f32_to_fp16(f)

#define GROUP_EPS 1e-15f /* below this a group is all zero */

/* ------------------------------------------------------------------ helpers */

/* round to nearest, ties to even (the 1.5 * 2^23 trick ggml's nearest_int
 * uses), saturating beyond +-2^22; NaN gives 0 */
static int round_ne(float f)
{
	if (!(fabsf(f) <= 4194303.f))
		return f > 0 ? 4194303 : f < 0 ? -4194303 : 0;
	float v = f + 12582912.f;
	int32_t i;
	memcpy(&i, &v, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* (int)v truncated, kept in 0..hi (NaN gives 0) */
static int trunc_to(float v, int hi)
{
	if (!(v > 0))
		return 0;
	if (v >= (float)hi)
		return hi;
	return (int)v;
}

/* 1 / v, 0 for 0 (reached only from non-finite input) */
static float inv_or_0(float v)
{
	return v != 0 ? 1 / v : 0.0f;
}

/* the element of largest magnitude (first one on ties), and that magnitude */
static float signed_absmax(const float *x, int n, float *amax)
{
	float m = 0, am = 0;
	for (int i = 0; i < n; i++) {
		float a = fabsf(x[i]);
		if (a > am) {
			am = a;
			m = x[i];
		}
	}
	*amax = am;
	return m;
}

static uint32_t le32(const uint8_t b[4])
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t b[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* Q4_K / Q5_K: 6-bit scale and min of sub-block j (0..7) */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
		*m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
	}
}

/* inverse of k4_scale_min; s must start zeroed */
static void k4_put_scale_min(uint8_t *s, int j, int sc, int m)
{
	if (j < 4) {
		s[j] |= (uint8_t)sc;
		s[j + 4] |= (uint8_t)m;
	} else {
		s[j + 4] = (uint8_t)((sc & 15) | (m & 15) << 4);
		s[j - 4] |= (uint8_t)((sc >> 4) << 6);
		s[j] |= (uint8_t)((m >> 4) << 6);
	}
}

/* Q3_K: 6-bit scale j (0..15), unsigned 0..63 (stored value + 32) */
static int q3k_scale(const uint8_t *s, int j)
{
	int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
	int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
	return lo | hi << 4;
}

static void q3k_put_scale(uint8_t *s, int j, int v)
{
	if (j < 8)
		s[j] |= (uint8_t)(v & 15);
	else
		s[j - 8] |= (uint8_t)((v & 15) << 4);
	s[8 + j % 4] |= (uint8_t)((v >> 4) << (2 * (j / 4)));
}

/* -------------------------------------------- unpack k-quant super-blocks */

/* 2-bit fields shared by Q2_K and Q3_K: q[e] = low 2 bits of element e */
static void unpack_2bit(const uint8_t *qs, uint8_t q[HRT_QK_K])
{
	for (int e = 0; e < HRT_QK_K; e++)
		q[e] = (uint8_t)(qs[32 * (e / 128) + e % 32] >>
				 (2 * (e % 128 / 32)) & 3);
}

static void pack_2bit(const uint8_t L[HRT_QK_K], uint8_t *qs)
{
	for (int h = 0; h < 2; h++)
		for (int l = 0; l < 32; l++) {
			const uint8_t *p = L + 128 * h + l;
			qs[32 * h + l] = (uint8_t)(p[0] | p[32] << 2 |
						   p[64] << 4 | p[96] << 6);
		}
}

/* Q3_K quants, signed -4..3 */
static void unpack_q3k(const struct hrt_blk_q3_k *b, int8_t q[HRT_QK_K])
{
	uint8_t lo[HRT_QK_K];
	unpack_2bit(b->qs, lo);
	for (int e = 0; e < HRT_QK_K; e++) {
		int hbit = b->hmask[e % 32] >> (e / 32) & 1;
		q[e] = (int8_t)(lo[e] - (hbit ? 0 : 4));
	}
}

/* Q4_K (qh NULL) and Q5_K quants, 0..15 / 0..31 */
static void unpack_q45k(const uint8_t *qs, const uint8_t *qh,
			int8_t q[HRT_QK_K])
{
	for (int e = 0; e < HRT_QK_K; e++) {
		int v = qs[32 * (e / 64) + e % 32] >> (4 * (e % 64 / 32)) & 15;
		if (qh)
			v += 16 * (qh[e % 32] >> (e / 32) & 1);
		q[e] = (int8_t)v;
	}
}

/* Q6_K quants, signed -32..31 */
static void unpack_q6k(const struct hrt_blk_q6_k *b, int8_t q[HRT_QK_K])
{
	for (int e = 0; e < HRT_QK_K; e++) {
		int h = e / 128, k = e % 128 / 32, l = e % 32;
		int lo = b->ql[64 * h + 32 * (k & 1) + l] >> (4 * (k >> 1)) & 15;
		int hi = b->qh[32 * h + l] >> (2 * k) & 3;
		q[e] = (int8_t)((lo | hi << 4) - 32);
	}
}

/* ------------------------------------------------------------ float types */

void hrt_ref_f32_to_float(const void *x, float *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof(float));
}

void hrt_ref_f32_from_float(const float *x, void *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof(float));
}

void hrt_ref_f16_to_float(const void *x, float *y, int64_t n)
{
	const uint16_t *h = x;
	for (int64_t i = 0; i < n; i++)
		y[i] = H2F(h[i]);
}

void hrt_ref_f16_from_float(const float *x, void *y, int64_t n)
{
	uint16_t *h = y;
	for (int64_t i = 0; i < n; i++)
		h[i] = F2H(x[i]);
}

void hrt_ref_bf16_to_float(const void *x, float *y, int64_t n)
{
	const uint16_t *h = x;
	for (int64_t i = 0; i < n; i++)
		y[i] = hrt_bf16_to_f32(h[i]);
}

void hrt_ref_bf16_from_float(const float *x, void *y, int64_t n)
{
	uint16_t *h = y;
	for (int64_t i = 0; i < n; i++)
		h[i] = hrt_f32_to_bf16(x[i]);
}

/* float products, summed in double (ggml's scalar ggml_vec_dot_f32/f16/bf16) */
void hrt_ref_vec_dot_f32(int64_t n, float *s, const void *x, const void *y)
{
	const float *a = x, *b = y;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(a[i] * b[i]);
	*s = (float)sum;
}

void hrt_ref_vec_dot_f16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(H2F(a[i]) * H2F(b[i]));
	*s = (float)sum;
}

void hrt_ref_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += (double)(hrt_bf16_to_f32(a[i]) * hrt_bf16_to_f32(b[i]));
	*s = (float)sum;
}

/* ------------------------------------------------------ 32-element blocks */

void hrt_ref_q4_0_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q4_0 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)((b->qs[j] & 15) - 8) * d;
			y[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
		}
	}
}

/* d = (element of largest magnitude) / -8, so that element maps to code 0
 * and the other side gets the 8th level */
void hrt_ref_q4_0_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q4_0 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float amax, max = signed_absmax(x, HRT_QK, &amax);
		float d = max / -8, id = d != 0 ? 1.0f / d : 0.0f;
		b->d = F2H(d);
		for (int j = 0; j < 16; j++) {
			int q0 = trunc_to(x[j] * id + 8.5f, 15);
			int q1 = trunc_to(x[j + 16] * id + 8.5f, 15);
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

void hrt_ref_q4_1_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q4_1 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d), m = H2F(b->m);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)(b->qs[j] & 15) * d + m;
			y[j + 16] = (float)(b->qs[j] >> 4) * d + m;
		}
	}
}

static void minmax(const float *x, int n, float *mn, float *mx)
{
	float lo = FLT_MAX, hi = -FLT_MAX;
	for (int i = 0; i < n; i++) {
		if (x[i] < lo)
			lo = x[i];
		if (x[i] > hi)
			hi = x[i];
	}
	*mn = lo;
	*mx = hi;
}

void hrt_ref_q4_1_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q4_1 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float mn, mx;
		minmax(x, HRT_QK, &mn, &mx);
		float d = (mx - mn) / 15, id = d != 0 ? 1.0f / d : 0.0f;
		b->d = F2H(d);
		b->m = F2H(mn);
		for (int j = 0; j < 16; j++) {
			int q0 = trunc_to((x[j] - mn) * id + 0.5f, 15);
			int q1 = trunc_to((x[j + 16] - mn) * id + 0.5f, 15);
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

void hrt_ref_q5_0_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q5_0 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d);
		uint32_t qh = le32(b->qh);
		for (int j = 0; j < 16; j++) {
			int q0 = (b->qs[j] & 15) | (int)(qh >> j & 1) << 4;
			int q1 = (b->qs[j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;
			y[j] = (float)(q0 - 16) * d;
			y[j + 16] = (float)(q1 - 16) * d;
		}
	}
}

void hrt_ref_q5_0_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q5_0 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float amax, max = signed_absmax(x, HRT_QK, &amax);
		float d = max / -16, id = d != 0 ? 1.0f / d : 0.0f;
		uint32_t qh = 0;
		b->d = F2H(d);
		for (int j = 0; j < 16; j++) {
			int q0 = trunc_to(x[j] * id + 16.5f, 31);
			int q1 = trunc_to(x[j + 16] * id + 16.5f, 31);
			b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
			qh |= (uint32_t)(q0 >> 4) << j;
			qh |= (uint32_t)(q1 >> 4) << (j + 16);
		}
		put_le32(b->qh, qh);
	}
}

void hrt_ref_q5_1_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q5_1 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d), m = H2F(b->m);
		uint32_t qh = le32(b->qh);
		for (int j = 0; j < 16; j++) {
			int q0 = (b->qs[j] & 15) | (int)(qh >> j & 1) << 4;
			int q1 = (b->qs[j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;
			y[j] = (float)q0 * d + m;
			y[j + 16] = (float)q1 * d + m;
		}
	}
}

void hrt_ref_q5_1_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q5_1 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float mn, mx;
		minmax(x, HRT_QK, &mn, &mx);
		float d = (mx - mn) / 31, id = d != 0 ? 1.0f / d : 0.0f;
		uint32_t qh = 0;
		b->d = F2H(d);
		b->m = F2H(mn);
		for (int j = 0; j < 16; j++) {
			int q0 = trunc_to((x[j] - mn) * id + 0.5f, 31);
			int q1 = trunc_to((x[j + 16] - mn) * id + 0.5f, 31);
			b->qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
			qh |= (uint32_t)(q0 >> 4) << j;
			qh |= (uint32_t)(q1 >> 4) << (j + 16);
		}
		put_le32(b->qh, qh);
	}
}

void hrt_ref_q8_0_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q8_0 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d);
		for (int j = 0; j < HRT_QK; j++)
			y[j] = (float)b->qs[j] * d;
	}
}

/* roundf (half away from zero) into int8, as ggml's q8 quantizers */
static int8_t round_i8(float v)
{
	float r = roundf(v);
	if (!(r >= -128.f))
		return r != r ? 0 : -128;
	return (int8_t)(r > 127.f ? 127 : r);
}

/* symmetric 8-bit, d = amax / 127 (the id used is that of the unrounded d) */
void hrt_ref_q8_0_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_0 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float amax;
		signed_absmax(x, HRT_QK, &amax);
		float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
		b->d = F2H(d);
		for (int j = 0; j < HRT_QK; j++)
			b->qs[j] = round_i8(x[j] * id);
	}
}

void hrt_ref_q8_1_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q8_1 *b = x;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, y += HRT_QK) {
		float d = H2F(b->d);
		for (int j = 0; j < HRT_QK; j++)
			y[j] = (float)b->qs[j] * d;
	}
}

void hrt_ref_q8_1_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_1 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		float amax;
		signed_absmax(x, HRT_QK, &amax);
		float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
		int sum = 0;
		b->d = F2H(d);
		for (int j = 0; j < HRT_QK; j++) {
			b->qs[j] = round_i8(x[j] * id);
			sum += b->qs[j];
		}
		b->s = F2H((float)sum * d);
	}
}

/* dot products of the 32-element formats: an exact int sum per block, then
 * one float multiply-add per block in ggml's order */

void hrt_ref_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q4_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++, a++, b++) {
		int si = 0;
		for (int j = 0; j < 16; j++) {
			si += ((a->qs[j] & 15) - 8) * b->qs[j];
			si += ((a->qs[j] >> 4) - 8) * b->qs[j + 16];
		}
		sum += (float)si * H2F(a->d) * H2F(b->d);
	}
	*s = sum;
}

void hrt_ref_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q4_1 *a = x;
	const struct hrt_blk_q8_1 *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++, a++, b++) {
		int si = 0;
		for (int j = 0; j < 16; j++) {
			si += (a->qs[j] & 15) * b->qs[j];
			si += (a->qs[j] >> 4) * b->qs[j + 16];
		}
		/* sum(d q + m)(dy qy) = d dy sum(q qy) + m * (dy sum(qy)) */
		sum += H2F(a->d) * H2F(b->d) * (float)si + H2F(a->m) * H2F(b->s);
	}
	*s = sum;
}

void hrt_ref_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q5_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++, a++, b++) {
		uint32_t qh = le32(a->qh);
		int si = 0;
		for (int j = 0; j < 16; j++) {
			int q0 = (a->qs[j] & 15) | (int)(qh >> j & 1) << 4;
			int q1 = (a->qs[j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;
			si += (q0 - 16) * b->qs[j];
			si += (q1 - 16) * b->qs[j + 16];
		}
		sum += H2F(a->d) * H2F(b->d) * (float)si;
	}
	*s = sum;
}

void hrt_ref_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q5_1 *a = x;
	const struct hrt_blk_q8_1 *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++, a++, b++) {
		uint32_t qh = le32(a->qh);
		int si = 0;
		for (int j = 0; j < 16; j++) {
			int q0 = (a->qs[j] & 15) | (int)(qh >> j & 1) << 4;
			int q1 = (a->qs[j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;
			si += q0 * b->qs[j];
			si += q1 * b->qs[j + 16];
		}
		sum += H2F(a->d) * H2F(b->d) * (float)si + H2F(a->m) * H2F(b->s);
	}
	*s = sum;
}

void hrt_ref_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q8_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++, a++, b++) {
		int si = 0;
		for (int j = 0; j < HRT_QK; j++)
			si += a->qs[j] * b->qs[j];
		sum += (float)si * (H2F(a->d) * H2F(b->d));
	}
	*s = sum;
}

/* ------------------------------------------- scale searches (k-quants) */

/* codes for inverse scale iscale; sums of w x l and w l^2, w = x^2 */
static void symmetric_sums(int n, int nmax, const float *x, float iscale,
			   int8_t *L, float *sumlx, float *suml2)
{
	float slx = 0, sl2 = 0;
	for (int i = 0; i < n; i++) {
		int l = clampi(round_ne(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];
		if (L)
			L[i] = (int8_t)(l + nmax);
		slx += w * x[i] * (float)l;
		sl2 += w * (float)l * (float)l;
	}
	*sumlx = slx;
	*suml2 = sl2;
}

/*
 * Symmetric codes L[i] in 0..2*nmax-1 (value L - nmax) for x[0..n) and the
 * scale that fits them by least squares weighted by x^2. Candidate inverse
 * scales -(nmax + 0.1 k) / max for k = -9..9 are tried; the one with the
 * largest sum(wxl)^2 / sum(wl^2) (smallest weighted error) wins.
 * (ggml's make_qx_quants with rmse_type 1.)
 */
static float fit_symmetric(int n, int nmax, const float *x, int8_t *L)
{
	float amax, max = signed_absmax(x, n, &amax);
	if (amax < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	float sumlx, suml2;
	symmetric_sums(n, nmax, x, (float)-nmax / max, L, &sumlx, &suml2);
	float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
	float best = scale * sumlx;
	for (int step = -9; step <= 9; step++) {
		if (step == 0)
			continue;
		float iscale = -((float)nmax + 0.1f * (float)step) / max;
		symmetric_sums(n, nmax, x, iscale, NULL, &sumlx, &suml2);
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			symmetric_sums(n, nmax, x, iscale, L, &sumlx, &suml2);
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * Like fit_symmetric for the 3-bit case: start from max / -nmax, then move
 * single codes one at a time while that lowers the x^2-weighted error
 * (at most 5 passes). L gets codes 0..2*nmax-1. (ggml's make_q3_quants.)
 */
static float fit_symmetric_greedy(int n, int nmax, const float *x, int8_t *L)
{
	float amax, max = signed_absmax(x, n, &amax);
	if (amax < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	float iscale = (float)-nmax / max;
	float sumlx = 0, suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = clampi(round_ne(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];
		L[i] = (int8_t)l;
		sumlx += w * x[i] * (float)l;
		suml2 += w * (float)l * (float)l;
	}
	for (int pass = 0; pass < 5; pass++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i];
			float slx = sumlx - w * x[i] * (float)L[i];
			if (!(slx > 0))
				continue;
			float sl2 = suml2 - w * (float)L[i] * (float)L[i];
			int nl = clampi(round_ne(x[i] * sl2 / slx), -nmax,
					nmax - 1);
			if (nl == L[i])
				continue;
			slx += w * x[i] * (float)nl;
			sl2 += w * (float)nl * (float)nl;
			if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
				L[i] = (int8_t)nl;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return suml2 > 0 ? sumlx / suml2 : 0.0f;
}

/*
 * Affine codes L[i] in 0..nmax with x ~ scale * L - *neg_min, min <= 0.
 * Starts from the plain (max - min) / nmax fit, then for nstep + 1 candidate
 * inverse scales (rmin + rdelta k + nmax) / (max - min) solves the weighted
 * least squares for scale and min given the codes, keeping the candidate of
 * least weighted error (squared, or absolute when use_mad). Returns the
 * scale; *neg_min gets -min >= 0. (ggml's make_qkx2_quants.)
 */
static float fit_affine(int n, int nmax, const float *x, const float *w,
			uint8_t *L, float *neg_min, float rmin, float rdelta,
			int nstep, bool use_mad)
{
	uint8_t Laux[32];
	float min = x[0], max = x[0];
	float sum_w = w[0], sum_x = sum_w * x[0];
	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*neg_min = -min;
		return 0;
	}
	float iscale = (float)nmax / (max - min);
	if (!(iscale > 0)) { /* max - min is inf: give up on the group */
		memset(L, 0, (size_t)n);
		*neg_min = 0;
		return 0;
	}
	float scale = 1 / iscale;
	float best_err = 0;
	for (int i = 0; i < n; i++) {
		L[i] = (uint8_t)clampi(round_ne(iscale * (x[i] - min)), 0, nmax);
		float diff = scale * (float)L[i] + min - x[i];
		best_err += w[i] * (use_mad ? fabsf(diff) : diff * diff);
	}
	for (int k = 0; k <= nstep; k++) {
		iscale = (rmin + rdelta * (float)k + (float)nmax) / (max - min);
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		for (int i = 0; i < n; i++) {
			int l = clampi(round_ne(iscale * (x[i] - min)), 0, nmax);
			Laux[i] = (uint8_t)l;
			sum_l += w[i] * (float)l;
			sum_l2 += w[i] * (float)l * (float)l;
			sum_xl += w[i] * (float)l * x[i];
		}
		float D = sum_w * sum_l2 - sum_l * sum_l;
		if (!(D > 0))
			continue;
		float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		float err = 0;
		for (int i = 0; i < n; i++) {
			float diff = this_scale * (float)Laux[i] + this_min - x[i];
			err += w[i] * (use_mad ? fabsf(diff) : diff * diff);
		}
		if (err < best_err) {
			memcpy(L, Laux, (size_t)n);
			best_err = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*neg_min = -min;
	return scale;
}

/* ------------------------------------------------------------------ Q2_K */

void hrt_ref_q2_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q2_k *b = x;
	uint8_t q[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K) {
		float d = H2F(b->d), dmin = H2F(b->dmin);
		unpack_2bit(b->qs, q);
		for (int g = 0; g < 16; g++) {
			float dl = d * (float)(b->scales[g] & 15);
			float ml = dmin * (float)(b->scales[g] >> 4);
			for (int l = 0; l < 16; l++)
				y[16 * g + l] = dl * (float)q[16 * g + l] - ml;
		}
	}
}

/* 16 groups of 16: 2-bit codes with a 4-bit scale and 4-bit min each,
 * both relative to fp16 super-block d and dmin; error weighted by |x|,
 * absolute-error criterion (as ggml) */
void hrt_ref_q2_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q2_k *b = y;
	uint8_t L[HRT_QK_K];
	float w[16], scales[16], mins[16];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		float max_scale = 0, max_min = 0;
		for (int g = 0; g < 16; g++) {
			const float *xg = x + 16 * g;
			for (int l = 0; l < 16; l++)
				w[l] = fabsf(xg[l]);
			scales[g] = fit_affine(16, 3, xg, w, L + 16 * g,
					       &mins[g], -0.5f, 0.1f, 15, true);
			if (scales[g] > max_scale)
				max_scale = scales[g];
			if (mins[g] > max_min)
				max_min = mins[g];
		}
		memset(b->scales, 0, sizeof b->scales);
		b->d = F2H(0.f);
		b->dmin = F2H(0.f);
		if (max_scale > 0) {
			float is = 15.f / max_scale;
			for (int g = 0; g < 16; g++)
				b->scales[g] = (uint8_t)clampi(
					round_ne(is * scales[g]), 0, 15);
			b->d = F2H(max_scale / 15.f);
		}
		if (max_min > 0) {
			float is = 15.f / max_min;
			for (int g = 0; g < 16; g++)
				b->scales[g] |= (uint8_t)(clampi(
					round_ne(is * mins[g]), 0, 15) << 4);
			b->dmin = F2H(max_min / 15.f);
		}
		/* requantize against the scales as stored */
		for (int g = 0; g < 16; g++) {
			float d = H2F(b->d) * (float)(b->scales[g] & 15);
			if (d == 0)
				continue;
			float dm = H2F(b->dmin) * (float)(b->scales[g] >> 4);
			for (int l = 0; l < 16; l++)
				L[16 * g + l] = (uint8_t)clampi(
					round_ne((x[16 * g + l] + dm) / d), 0, 3);
		}
		pack_2bit(L, b->qs);
	}
}

/* isum = sum over groups of scale * (q . q8); the mins via the bsums */
void hrt_ref_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q2_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	uint8_t q[HRT_QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, a++, b++) {
		unpack_2bit(a->qs, q);
		int summs = 0, isum = 0;
		for (int g = 0; g < 16; g++) {
			summs += b->bsums[g] * (a->scales[g] >> 4);
			int gs = 0;
			for (int l = 0; l < 16; l++)
				gs += b->qs[16 * g + l] * q[16 * g + l];
			isum += (a->scales[g] & 15) * gs;
		}
		float dall = b->d * H2F(a->d);
		float dmin = b->d * H2F(a->dmin);
		sum += dall * (float)isum - dmin * (float)summs;
	}
	*s = sum;
}

/*
 * The k-quant dot products of ggml's scalar code keep 8 integer lanes per
 * super-block (lane = element index mod 8) and 8 float lane sums across
 * super-blocks, added up at the end; we do the same so the float rounding
 * matches. lanes[l] += scale(e) * q[e] * q8[e].
 */
static void lanes_add(int32_t lanes[8], const int8_t *q, const int8_t *q8,
		      const int *scale, int group)
{
	for (int e = 0; e < HRT_QK_K; e++)
		lanes[e % 8] += scale[e / group] * (q[e] * q8[e]);
}

/* ------------------------------------------------------------------ Q3_K */

void hrt_ref_q3_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q3_k *b = x;
	int8_t q[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K) {
		float d = H2F(b->d);
		unpack_q3k(b, q);
		for (int g = 0; g < 16; g++) {
			float dl = d * (float)(q3k_scale(b->scales, g) - 32);
			for (int l = 0; l < 16; l++)
				y[16 * g + l] = dl * (float)q[16 * g + l];
		}
	}
}

/* 16 groups of 16: 3-bit symmetric codes, 6-bit signed group scales
 * relative to an fp16 d whose sign makes the largest scale -32 */
void hrt_ref_q3_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q3_k *b = y;
	int8_t L[HRT_QK_K];
	float scales[16];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		float amax = 0, max_scale = 0;
		for (int g = 0; g < 16; g++) {
			scales[g] = fit_symmetric_greedy(16, 4, x + 16 * g,
							 L + 16 * g);
			if (fabsf(scales[g]) > amax) {
				amax = fabsf(scales[g]);
				max_scale = scales[g];
			}
		}
		memset(b->scales, 0, sizeof b->scales);
		if (max_scale != 0) {
			float is = -32.f / max_scale;
			for (int g = 0; g < 16; g++) {
				int l = clampi(round_ne(is * scales[g]), -32, 31);
				q3k_put_scale(b->scales, g, l + 32);
			}
			b->d = F2H(inv_or_0(is));
		} else {
			b->d = F2H(0.f);
		}
		for (int g = 0; g < 16; g++) {
			float d = H2F(b->d) * (float)(q3k_scale(b->scales, g) - 32);
			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * g + l] = (int8_t)(clampi(
					round_ne(x[16 * g + l] / d), -4, 3) + 4);
		}
		/* bit 2 of the code goes to hmask, the low 2 bits to qs */
		uint8_t lo[HRT_QK_K];
		memset(b->hmask, 0, sizeof b->hmask);
		for (int e = 0; e < HRT_QK_K; e++) {
			if (L[e] > 3)
				b->hmask[e % 32] |= (uint8_t)(1u << (e / 32));
			lo[e] = (uint8_t)(L[e] & 3);
		}
		pack_2bit(lo, b->qs);
	}
}

void hrt_ref_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q3_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	int8_t q[HRT_QK_K];
	int sc[16];
	float sums[8] = { 0 };
	for (int64_t i = 0; i < n / HRT_QK_K; i++, a++, b++) {
		int32_t lanes[8] = { 0 };
		unpack_q3k(a, q);
		for (int g = 0; g < 16; g++)
			sc[g] = q3k_scale(a->scales, g) - 32;
		lanes_add(lanes, q, b->qs, sc, 16);
		float d = H2F(a->d) * b->d;
		for (int l = 0; l < 8; l++)
			sums[l] += d * (float)lanes[l];
	}
	float sum = 0;
	for (int l = 0; l < 8; l++)
		sum += sums[l];
	*s = sum;
}

/* ------------------------------------------------------------ Q4_K, Q5_K */

static void q45k_to_float(const uint16_t *dd, const uint8_t *scales,
			  const int8_t q[HRT_QK_K], float *y)
{
	float d = H2F(dd[0]), dmin = H2F(dd[1]);
	for (int j = 0; j < 8; j++) {
		int sc, m;
		k4_scale_min(scales, j, &sc, &m);
		float dl = d * (float)sc, ml = dmin * (float)m;
		for (int l = 0; l < 32; l++)
			y[32 * j + l] = dl * (float)q[32 * j + l] - ml;
	}
}

void hrt_ref_q4_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q4_k *b = x;
	int8_t q[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K) {
		const uint16_t dd[2] = { b->d, b->dmin };
		unpack_q45k(b->qs, NULL, q);
		q45k_to_float(dd, b->scales, q, y);
	}
}

void hrt_ref_q5_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q5_k *b = x;
	int8_t q[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K) {
		const uint16_t dd[2] = { b->d, b->dmin };
		unpack_q45k(b->qs, b->qh, q);
		q45k_to_float(dd, b->scales, q, y);
	}
}

/*
 * 8 groups of 32: affine codes 0..nmax with 6-bit scale and min per group
 * relative to fp16 super-block d and dmin. Weights |x| + rms(group)
 * (ggml's choice). Writes d, dmin, scales and the codes L; the caller packs.
 */
static void q45k_quantize(const float *x, int nmax, float rmin, int nstep,
			  uint16_t *d_out, uint16_t *dmin_out, uint8_t *packed,
			  uint8_t L[HRT_QK_K])
{
	float w[32], scales[8], mins[8];
	float max_scale = 0, max_min = 0;
	for (int j = 0; j < 8; j++) {
		const float *xj = x + 32 * j;
		float sum_x2 = 0;
		for (int l = 0; l < 32; l++)
			sum_x2 += xj[l] * xj[l];
		float av_x = sqrtf(sum_x2 / 32);
		for (int l = 0; l < 32; l++)
			w[l] = av_x + fabsf(xj[l]);
		scales[j] = fit_affine(32, nmax, xj, w, L + 32 * j, &mins[j],
				       rmin, 0.1f, nstep, false);
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}
	float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	memset(packed, 0, HRT_K_SCALE_SIZE);
	for (int j = 0; j < 8; j++)
		k4_put_scale_min(packed, j,
				 clampi(round_ne(inv_scale * scales[j]), 0, 63),
				 clampi(round_ne(inv_min * mins[j]), 0, 63));
	*d_out = F2H(max_scale / 63.f);
	*dmin_out = F2H(max_min / 63.f);
	/* requantize against the scales as stored */
	for (int j = 0; j < 8; j++) {
		int sc, m;
		k4_scale_min(packed, j, &sc, &m);
		float d = H2F(*d_out) * (float)sc;
		if (d == 0)
			continue;
		float dm = H2F(*dmin_out) * (float)m;
		for (int l = 0; l < 32; l++)
			L[32 * j + l] = (uint8_t)clampi(
				round_ne((x[32 * j + l] + dm) / d), 0, nmax);
	}
}

void hrt_ref_q4_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q4_k *b = y;
	uint8_t L[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		uint16_t d, dmin;
		q45k_quantize(x, 15, -1.f, 20, &d, &dmin, b->scales, L);
		b->d = d;
		b->dmin = dmin;
		for (int c = 0; c < 4; c++)
			for (int l = 0; l < 32; l++)
				b->qs[32 * c + l] = (uint8_t)(L[64 * c + l] |
							      L[64 * c + 32 + l] << 4);
	}
}

void hrt_ref_q5_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q5_k *b = y;
	uint8_t L[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		uint16_t d, dmin;
		q45k_quantize(x, 31, -0.5f, 15, &d, &dmin, b->scales, L);
		b->d = d;
		b->dmin = dmin;
		memset(b->qh, 0, sizeof b->qh);
		for (int e = 0; e < HRT_QK_K; e++)
			if (L[e] > 15)
				b->qh[e % 32] |= (uint8_t)(1u << (e / 32));
		for (int c = 0; c < 4; c++)
			for (int l = 0; l < 32; l++)
				b->qs[32 * c + l] = (uint8_t)(
					(L[64 * c + l] & 15) |
					(L[64 * c + 32 + l] & 15) << 4);
	}
}

/* the min term: sum over groups of 16 of bsum * min of their group of 32 */
static void q45k_dot(const uint16_t *dd, const uint8_t *scales,
		     const int8_t q[HRT_QK_K], const struct hrt_blk_q8_k *b,
		     float *sum, float sums[8])
{
	int sc[8], m[8];
	for (int j = 0; j < 8; j++)
		k4_scale_min(scales, j, &sc[j], &m[j]);
	int summ = 0;
	for (int g = 0; g < 16; g++)
		summ += b->bsums[g] * m[g / 2];
	int32_t lanes[8] = { 0 };
	lanes_add(lanes, q, b->qs, sc, 32);
	float d = H2F(dd[0]) * b->d;
	for (int l = 0; l < 8; l++)
		sums[l] += d * (float)lanes[l];
	float dmin = H2F(dd[1]) * b->d;
	*sum -= dmin * (float)summ;
}

void hrt_ref_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q4_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	int8_t q[HRT_QK_K];
	float sum = 0, sums[8] = { 0 };
	for (int64_t i = 0; i < n / HRT_QK_K; i++, a++, b++) {
		const uint16_t dd[2] = { a->d, a->dmin };
		unpack_q45k(a->qs, NULL, q);
		q45k_dot(dd, a->scales, q, b, &sum, sums);
	}
	for (int l = 0; l < 8; l++)
		sum += sums[l];
	*s = sum;
}

void hrt_ref_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q5_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	int8_t q[HRT_QK_K];
	float sum = 0, sums[8] = { 0 };
	for (int64_t i = 0; i < n / HRT_QK_K; i++, a++, b++) {
		const uint16_t dd[2] = { a->d, a->dmin };
		unpack_q45k(a->qs, a->qh, q);
		q45k_dot(dd, a->scales, q, b, &sum, sums);
	}
	for (int l = 0; l < 8; l++)
		sum += sums[l];
	*s = sum;
}

/* ------------------------------------------------------------------ Q6_K */

void hrt_ref_q6_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q6_k *b = x;
	int8_t q[HRT_QK_K];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K) {
		float d = H2F(b->d);
		unpack_q6k(b, q);
		for (int e = 0; e < HRT_QK_K; e++)
			y[e] = d * (float)b->scales[e / 16] * (float)q[e];
	}
}

/* 16 groups of 16: 6-bit symmetric codes, 8-bit signed group scales
 * relative to an fp16 d whose sign makes the largest scale -128 (stored
 * as 127 at most) */
void hrt_ref_q6_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q6_k *b = y;
	int8_t L[HRT_QK_K];
	float scales[16];
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		float amax = 0, max_scale = 0;
		for (int g = 0; g < 16; g++) {
			scales[g] = fit_symmetric(16, 32, x + 16 * g, L + 16 * g);
			if (fabsf(scales[g]) > amax) {
				amax = fabsf(scales[g]);
				max_scale = scales[g];
			}
		}
		if (amax < GROUP_EPS) {
			memset(b, 0, sizeof *b);
			continue;
		}
		float is = -128.f / max_scale;
		b->d = F2H(inv_or_0(is));
		for (int g = 0; g < 16; g++)
			b->scales[g] = (int8_t)clampi(round_ne(is * scales[g]),
						      -128, 127);
		for (int g = 0; g < 16; g++) {
			float d = H2F(b->d) * (float)b->scales[g];
			if (d == 0)
				continue;
			for (int l = 0; l < 16; l++)
				L[16 * g + l] = (int8_t)(clampi(
					round_ne(x[16 * g + l] / d), -32, 31) + 32);
		}
		/* low nibbles: elements h*128 + k*32 + l go to ql[64h + 32(k&1)
		 * + l], nibble k >> 1; high 2 bits to qh[32h + l] at bit 2k */
		memset(b->ql, 0, sizeof b->ql);
		memset(b->qh, 0, sizeof b->qh);
		for (int e = 0; e < HRT_QK_K; e++) {
			int h = e / 128, k = e % 128 / 32, l = e % 32;
			b->ql[64 * h + 32 * (k & 1) + l] |=
				(uint8_t)((L[e] & 15) << (4 * (k >> 1)));
			b->qh[32 * h + l] |= (uint8_t)((L[e] >> 4) << (2 * k));
		}
	}
}

void hrt_ref_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *x,
			       const void *y)
{
	const struct hrt_blk_q6_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	int8_t q[HRT_QK_K];
	int sc[16];
	float sums[8] = { 0 };
	for (int64_t i = 0; i < n / HRT_QK_K; i++, a++, b++) {
		int32_t lanes[8] = { 0 };
		unpack_q6k(a, q);
		for (int g = 0; g < 16; g++)
			sc[g] = a->scales[g];
		lanes_add(lanes, q, b->qs, sc, 16);
		float d = H2F(a->d) * b->d;
		for (int l = 0; l < 8; l++)
			sums[l] += d * (float)lanes[l];
	}
	float sum = 0;
	for (int l = 0; l < 8; l++)
		sum += sums[l];
	*s = sum;
}

/* ------------------------------------------------------------------ Q8_K */

void hrt_ref_q8_k_to_float(const void *x, float *y, int64_t n)
{
	const struct hrt_blk_q8_k *b = x;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, y += HRT_QK_K)
		for (int e = 0; e < HRT_QK_K; e++)
			y[e] = b->d * (float)b->qs[e];
}

/* d = (element of largest magnitude) / -127: that element gets -127 and
 * nothing reaches -128 (ggml's choice, for its IQ2 kernels); f32 d */
void hrt_ref_q8_k_from_float(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_k *b = y;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		float amax, max = signed_absmax(x, HRT_QK_K, &amax);
		if (amax == 0) {
			memset(b, 0, sizeof *b);
			continue;
		}
		float is = -127.f / max;
		for (int e = 0; e < HRT_QK_K; e++)
			b->qs[e] = (int8_t)clampi(round_ne(is * x[e]), -128, 127);
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += b->qs[16 * g + l];
			b->bsums[g] = (int16_t)sum;
		}
		b->d = inv_or_0(is);
	}
}
