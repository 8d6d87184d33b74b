/*
 * kern/kern_avx512 — AVX-512 (F, BW, VL, DQ, VNNI, BF16) kernels: activation
 * quantizers, dot products for every computable weight type (decode, one
 * token: memory bound), and gemm on token panels for prompt processing
 * (the tiles and decode layouts are in tile_avx512.c, attention in
 * att_avx512.c).
 * Not a model of anything: only the functions of struct hrt_kern_isa.
 *
 * Numerics: integer sums are exact and equal to the reference's
 * (kern/quant_ref.c); float scaling is done per block in a different order,
 * so results agree with the reference to ~1e-6 relative. The quantizers give
 * the reference's bytes exactly for finite input.
 *
 * Gemm ("lane = token"): activations of 16 tokens are interleaved into a
 * panel, 4 bytes per token per step, stored as a + 128 (unsigned), so one
 * zmm holds one 4-element step of 16 tokens and vpdpbusd takes the weights
 * as signed bytes broadcast from memory ({1to16}). The +128 is removed with
 * 128 * (sum of the weights), computed once when the weights are unpacked.
 * Weights are unpacked to signed int8 rows (a thread-local buffer) once per
 * call and chunk of columns and reused for every panel; per block a row
 * costs 8 vpdpbusd and 3-4 float ops for 16 tokens.
 */
#include <math.h>

#include "kern/avx512_int.h"

/* ------------------------------------------------------------ quantizers */

static void quantize_q8_0(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_0 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		uint16_t d;
		float df;
		q8_0_block(x, &d, &df, b->qs);
		b->d = d;
	}
}

static void quantize_q8_1(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_1 *b = y;
	for (int64_t i = 0; i < n / HRT_QK; i++, b++, x += HRT_QK) {
		uint16_t d;
		float df;
		int sum = q8_0_block(x, &d, &df, b->qs);
		b->d = d;
		/* the reference multiplies by the d before fp16 rounding */
		b->s = _cvtss_sh((float)sum * df, _MM_FROUND_TO_NEAREST_INT);
	}
}

/* F16 (the KV cache and the attention's queries): vcvtps2ph rounds to
 * nearest even like hrt_f32_to_fp16, so finite values give its bytes */
static void quantize_f16(const float *x, void *y, int64_t n)
{
	uint16_t *h = y;
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(h + i),
				    _mm512_cvtps_ph(_mm512_loadu_ps(x + i),
						    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm256_mask_storeu_epi16(h + i, m,
					 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
							 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
}

static void quantize_q8_k(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_k *b = y;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K)
		q8_k_block(x, b);
}

/* ----------------------------------------------------- float dot products */

static void vec_dot_f32(int64_t n, float *s, const void *x, const void *y)
{
	const float *a = x, *b = y;
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16),
				       _mm512_loadu_ps(b + i + 16), acc1);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
		acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
				       _mm512_maskz_loadu_ps(m, b + i), acc0);
	}
	*s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

static void vec_dot_f16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i))),
				       _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i))), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i + 16))),
				       _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i + 16))), acc1);
	}
	for (; i < n; i += 16) {
		__mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
		acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i)),
				       _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, b + i)), acc0);
	}
	*s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* vdpbf16ps: pairs of bf16 products added into f32 lanes */
static void vec_dot_bf16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	int64_t i = 0;
	for (; i + 64 <= n; i += 64) {
		acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_loadu_si512(a + i),
					(__m512bh)_mm512_loadu_si512(b + i));
		acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)_mm512_loadu_si512(a + i + 32),
					(__m512bh)_mm512_loadu_si512(b + i + 32));
	}
	for (; i < n; i += 32) {
		__mmask32 m = n - i >= 32 ? 0xffffffffu : (__mmask32)((1u << (n - i)) - 1);
		acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)_mm512_maskz_loadu_epi16(m, a + i),
					(__m512bh)_mm512_maskz_loadu_epi16(m, b + i));
	}
	*s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* -------------------------------------------- 32-element block formats */

/* sum(u * a) - off * sum(a) for unsigned u, signed a: exact */
ALWAYS_INLINE __m256i dot_u8_off(__m256i u, __m256i a, int off)
{
	__m256i z = _mm256_setzero_si256();
	__m256i d = _mm256_dpbusd_epi32(z, u, a);
	if (off)
		d = _mm256_sub_epi32(d, _mm256_dpbusd_epi32(z, _mm256_set1_epi8((char)off), a));
	return d;
}

static void vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q8_0 *a = x, *b = y;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t nb = n / HRT_QK, i = 0;
	const __m256i flip = _mm256_set1_epi8(-128);
	for (; i < nb; i++) {
		__m256i u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)a[i].qs), flip);
		__m256i d = dot_u8_off(u, _mm256_loadu_si256((const __m256i *)b[i].qs), 128);
		__m256 sc = _mm256_set1_ps(f16(a[i].d) * f16(b[i].d));
		if (i & 1)
			acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), sc, acc1);
		else
			acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), sc, acc0);
	}
	*s = hsum256(_mm256_add_ps(acc0, acc1));
}

/* d of 4 weight blocks times d of 4 activation blocks (fp16 fields at
 * byte strides sw, sa), in one conversion */
ALWAYS_INLINE __m128 scales4(const uint8_t *wd, size_t sw, const uint8_t *ad, size_t sa)
{
	__m128i h = _mm_cvtsi32_si128(*(const uint16_t *)wd);
	h = _mm_insert_epi16(h, *(const uint16_t *)(wd + sw), 1);
	h = _mm_insert_epi16(h, *(const uint16_t *)(wd + 2 * sw), 2);
	h = _mm_insert_epi16(h, *(const uint16_t *)(wd + 3 * sw), 3);
	h = _mm_insert_epi16(h, *(const uint16_t *)ad, 4);
	h = _mm_insert_epi16(h, *(const uint16_t *)(ad + sa), 5);
	h = _mm_insert_epi16(h, *(const uint16_t *)(ad + 2 * sa), 6);
	h = _mm_insert_epi16(h, *(const uint16_t *)(ad + 3 * sa), 7);
	__m256 f = _mm256_cvtph_ps(h);
	return _mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1));
}

/* 64 weights of two Q4_0 blocks in element order, as unsigned 0..15 */
ALWAYS_INLINE __m512i q4_0_pair(const struct hrt_blk_q4_0 *a)
{
	__m256i q = _mm256_loadu2_m128i((const __m128i *)a[1].qs, (const __m128i *)a[0].qs);
	const __m256i m4 = _mm256_set1_epi8(15);
	__m512i v = cat256(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
	/* [lo0 lo1 hi0 hi1] -> [lo0 hi0 lo1 hi1] */
	return _mm512_shuffle_i64x2(v, v, 0xd8);
}

ALWAYS_INLINE __m512i q8_0_pair(const struct hrt_blk_q8_0 *b)
{
	return cat256(_mm256_loadu_si256((const __m256i *)b[0].qs),
		      _mm256_loadu_si256((const __m256i *)b[1].qs));
}

/* four blocks per step: two zmm dot products, one scale conversion */
static void vec_dot_q4_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	const __m512i k8 = _mm512_set1_epi8(8);
	const __m512i lo_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
	const __m512i hi_idx = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	int64_t nb = n / HRT_QK, i = 0;
	for (; i + 4 <= nb; i += 4) {
		__m512 sc = _mm512_castps128_ps512(scales4((const uint8_t *)&a[i].d, sizeof *a,
							   (const uint8_t *)&b[i].d, sizeof *b));
		__m512i a0 = q8_0_pair(b + i), a1 = q8_0_pair(b + i + 2);
		__m512i z = _mm512_setzero_si512();
		__m512i d0 = _mm512_sub_epi32(_mm512_dpbusd_epi32(z, q4_0_pair(a + i), a0),
					      _mm512_dpbusd_epi32(z, k8, a0));
		__m512i d1 = _mm512_sub_epi32(_mm512_dpbusd_epi32(z, q4_0_pair(a + i + 2), a1),
					      _mm512_dpbusd_epi32(z, k8, a1));
		acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(lo_idx, sc), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(hi_idx, sc), acc1);
	}
	__m256 acc = _mm256_add_ps(_mm512_castps512_ps256(acc0), _mm512_extractf32x8_ps(acc0, 1));
	acc = _mm256_add_ps(acc, _mm256_add_ps(_mm512_castps512_ps256(acc1),
					       _mm512_extractf32x8_ps(acc1, 1)));
	for (; i < nb; i++) {
		__m256i d = dot_u8_off(nibbles_32(a[i].qs),
				       _mm256_loadu_si256((const __m256i *)b[i].qs), 8);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d),
				      _mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), acc);
	}
	*s = hsum256(acc);
}

static void vec_dot_q5_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q5_0 *a = x;
	const struct hrt_blk_q8_0 *b = y;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK; i++) {
		__m256i u = q5_bits(nibbles_32(a[i].qs), a[i].qh);
		__m256i d = dot_u8_off(u, _mm256_loadu_si256((const __m256i *)b[i].qs), 16);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d),
				      _mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), acc);
	}
	*s = hsum256(acc);
}

static void vec_dot_q4_1(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_1 *a = x;
	const struct hrt_blk_q8_1 *b = y;
	__m256 acc = _mm256_setzero_ps();
	float ms = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++) {
		__m256i d = dot_u8_off(nibbles_32(a[i].qs),
				       _mm256_loadu_si256((const __m256i *)b[i].qs), 0);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d),
				      _mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), acc);
		ms += f16(a[i].m) * f16(b[i].s);
	}
	*s = hsum256(acc) + ms;
}

static void vec_dot_q5_1(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q5_1 *a = x;
	const struct hrt_blk_q8_1 *b = y;
	__m256 acc = _mm256_setzero_ps();
	float ms = 0;
	for (int64_t i = 0; i < n / HRT_QK; i++) {
		__m256i u = q5_bits(nibbles_32(a[i].qs), a[i].qh);
		__m256i d = dot_u8_off(u, _mm256_loadu_si256((const __m256i *)b[i].qs), 0);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d),
				      _mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), acc);
		ms += f16(a[i].m) * f16(b[i].s);
	}
	*s = hsum256(acc) + ms;
}

/* --------------------------------------------------------------- k-quants */

/* Q4_K / Q5_K 6-bit scales and mins of the 8 sub-blocks */
ALWAYS_INLINE void k4_scales(const uint8_t *s, int32_t sc[8], int32_t m[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		m[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 15) | (s[j] >> 6) << 4;
		m[j + 4] = (s[j + 8] >> 4) | (s[j + 4] >> 6) << 4;
	}
}

/* Q3_K: 16 signed 6-bit scales */
ALWAYS_INLINE void q3k_scales(const uint8_t *s, int32_t sc[16])
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
		int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
		sc[j] = (lo | hi << 4) - 32;
	}
}

/* lanes of a 64-element dpbusd result -> their group of 16 (4 lanes each)
 * or of 32 (8 lanes each); c = which 64 elements of the super-block */
static const int32_t g16_idx[4][16] = {
	{ 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 },
	{ 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7 },
	{ 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11 },
	{ 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15 },
};
static const int32_t g32_idx[4][16] = {
	{ 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 },
	{ 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5 },
	{ 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7 },
};

/* sum_e u[e] * a[e] * scale(group of e), lanes of int32; scv: the 16 (G =
 * 16) or first 8 (G = 32) group scales as int32 lanes */
ALWAYS_INLINE __m512i scaled_dot(const __m512i u[4], const int8_t *a, __m512i scv, int G)
{
	__m512i tot = _mm512_setzero_si512();
	for (int c = 0; c < 4; c++) {
		__m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[c], ldz(a + 64 * c));
		__m512i idx = ldz(G == 16 ? g16_idx[c] : g32_idx[c]);
		tot = _mm512_add_epi32(tot, _mm512_mullo_epi32(d, _mm512_permutexvar_epi32(idx, scv)));
	}
	return tot;
}

/* lanes g: bsums[g] * c[g] (sum over lanes: the dot with the group sums) */
ALWAYS_INLINE __m512i bsum_mul(const int16_t *bsums, __m512i c)
{
	return _mm512_mullo_epi32(_mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)bsums)), c);
}

/* lanes g (0..15) = lane 8 + g / 2: the mins of Q4_K/Q5_K per group of 16 */
static const int32_t mins16_idx[16] = { 8, 8, 9, 9, 10, 10, 11, 11,
					12, 12, 13, 13, 14, 14, 15, 15 };

ALWAYS_INLINE void q45k_dot(const uint8_t *scales, const uint16_t *dd, const __m512i u[4],
			    const struct hrt_blk_q8_k *b, __m512 *acc, __m512 *accm)
{
	__m512i sm = k4_scales_v(scales);
	__m512i tot = scaled_dot(u, b->qs, sm, 32);
	*acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_set1_ps(f16(dd[0]) * b->d), *acc);
	__m512i mn = bsum_mul(b->bsums, _mm512_permutexvar_epi32(ldz(mins16_idx), sm));
	*accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mn), _mm512_set1_ps(f16(dd[1]) * b->d), *accm);
}

static void vec_dot_q4_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m512 acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		__m512i u[4];
		q45k_codes(a[i].qs, NULL, u);
		const uint16_t dd[2] = { a[i].d, a[i].dmin };
		q45k_dot(a[i].scales, dd, u, &b[i], &acc, &accm);
	}
	*s = _mm512_reduce_add_ps(_mm512_sub_ps(acc, accm));
}

static void vec_dot_q5_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q5_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m512 acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		__m512i u[4];
		q45k_codes(a[i].qs, a[i].qh, u);
		const uint16_t dd[2] = { a[i].d, a[i].dmin };
		q45k_dot(a[i].scales, dd, u, &b[i], &acc, &accm);
	}
	*s = _mm512_reduce_add_ps(_mm512_sub_ps(acc, accm));
}

/* symmetric k-quants (Q3_K, Q6_K): codes u = q + off (off = 1 << sh), so
 * sum sc * q * a = sum sc * u * a - off * sum_g sc_g * bsum_g, lane-wise */
ALWAYS_INLINE __m512i sym_dot(const __m512i u[4], const struct hrt_blk_q8_k *b, __m512i scv,
			      int sh)
{
	__m512i tot = scaled_dot(u, b->qs, scv, 16);
	return _mm512_sub_epi32(tot, _mm512_slli_epi32(bsum_mul(b->bsums, scv), (unsigned)sh));
}

static void vec_dot_q6_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q6_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m512 acc = _mm512_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		__m512i scv = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)a[i].scales));
		__m512i u[4];
		q6k_codes(&a[i], u);
		__m512i tot = sym_dot(u, &b[i], scv, 5);
		acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot),
				      _mm512_set1_ps(f16(a[i].d) * b[i].d), acc);
	}
	*s = _mm512_reduce_add_ps(acc);
}

static void vec_dot_q3_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q3_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m512 acc = _mm512_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		__m512i scv = q3k_scales_v(a[i].scales);
		__m512i u[4];
		q3k_codes(&a[i], u);
		__m512i tot = sym_dot(u, &b[i], scv, 2);
		acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot),
				      _mm512_set1_ps(f16(a[i].d) * b[i].d), acc);
	}
	*s = _mm512_reduce_add_ps(acc);
}

static void vec_dot_q2_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q2_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m512 acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		__m512i sb = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)a[i].scales));
		__m512i u[4];
		q2bit_codes(a[i].qs, u);
		__m512i tot = scaled_dot(u, b[i].qs, _mm512_and_si512(sb, _mm512_set1_epi32(15)), 16);
		acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot),
				      _mm512_set1_ps(f16(a[i].d) * b[i].d), acc);
		__m512i mn = bsum_mul(b[i].bsums, _mm512_srli_epi32(sb, 4));
		accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mn),
				       _mm512_set1_ps(f16(a[i].dmin) * b[i].d), accm);
	}
	*s = _mm512_reduce_add_ps(_mm512_sub_ps(acc, accm));
}

/* ---------------------------------------------------------------- panels */

/*
 * Panel of 16 tokens, per block of the activation type (bytes):
 *   Q8_0: [8 steps x 64: 4 codes + 128 per token][16 f32 d]          576
 *   Q8_1: as Q8_0, then [16 f32 s]                                   640
 *   Q8_K: [64 steps x 64][16 f32 d][8 x 64: bsums 2i, 2i+1 as int16
 *         pairs per token]                                          4672
 * Token t's 4 bytes of step j sit at 64 j + 4 t.
 */
#define PN 16
#define PB_Q8_0 576
#define PB_Q8_1 640
#define PB_Q8_K 4672
#define PK_D 4096 /* offsets inside a Q8_K panel block */
#define PK_B 4160

/* scatter 8 dwords (32 codes) to steps 0..7 of token t, adding 128 */
ALWAYS_INLINE void put_steps8(uint8_t *base, __m256i q)
{
	const __m256i idx = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
	_mm256_i32scatter_epi32(base, idx, _mm256_xor_si256(q, _mm256_set1_epi8(-128)), 4);
}

/* tokens nt..15 of a panel: code 128 (a = 0), scales and sums 0 */
static void panel_pad(uint8_t *p, int64_t nb, int pb, int steps, int nt)
{
	for (int64_t b = 0; b < nb; b++, p += pb)
		for (int t = nt; t < PN; t++) {
			for (int j = 0; j < steps; j++)
				memset(p + 64 * j + 4 * t, 0x80, 4);
			for (int o = 64 * steps; o < pb; o += 64)
				memset(p + o + 4 * t, 0, 4);
		}
}

static void panel_q8_0(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	uint8_t *p = dst;
	int64_t nb = n / HRT_QK;
	panel_pad(p, nb, PB_Q8_0, 8, nt);
	for (int t = 0; t < nt; t++) {
		const float *xt = x + (size_t)t * xs;
		for (int64_t b = 0; b < nb; b++) {
			uint8_t *pb = p + b * PB_Q8_0;
			int8_t qs[32];
			uint16_t d;
			float df;
			q8_0_block(xt + 32 * b, &d, &df, qs);
			put_steps8(pb + 4 * t, _mm256_loadu_si256((const __m256i *)qs));
			float fd = f16(d);
			memcpy(pb + 512 + 4 * t, &fd, 4);
		}
	}
}

static void panel_q8_1(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	uint8_t *p = dst;
	int64_t nb = n / HRT_QK;
	panel_pad(p, nb, PB_Q8_1, 8, nt);
	for (int t = 0; t < nt; t++) {
		const float *xt = x + (size_t)t * xs;
		for (int64_t b = 0; b < nb; b++) {
			uint8_t *pb = p + b * PB_Q8_1;
			int8_t qs[32];
			uint16_t d;
			float df;
			int sum = q8_0_block(xt + 32 * b, &d, &df, qs);
			put_steps8(pb + 4 * t, _mm256_loadu_si256((const __m256i *)qs));
			float fd = f16(d);
			float fs = f16(_cvtss_sh((float)sum * df, _MM_FROUND_TO_NEAREST_INT));
			memcpy(pb + 512 + 4 * t, &fd, 4);
			memcpy(pb + 576 + 4 * t, &fs, 4);
		}
	}
}

static void panel_q8_k(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	uint8_t *p = dst;
	int64_t nb = n / HRT_QK_K;
	panel_pad(p, nb, PB_Q8_K, 64, nt);
	const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8,
								 9, 10, 11, 12, 13, 14, 15),
					       _mm512_set1_epi32(16));
	for (int t = 0; t < nt; t++) {
		const float *xt = x + (size_t)t * xs;
		for (int64_t b = 0; b < nb; b++) {
			uint8_t *pb = p + b * PB_Q8_K + 4 * t;
			struct hrt_blk_q8_k q;
			q8_k_block(xt + 256 * b, &q);
			for (int c = 0; c < 4; c++)
				_mm512_i32scatter_epi32(pb + 1024 * c, idx,
							_mm512_xor_si512(ldz(q.qs + 64 * c),
									 _mm512_set1_epi8(-128)), 4);
			memcpy(pb + PK_D, &q.d, 4);
			_mm256_i32scatter_epi32(pb + PK_B, _mm512_castsi512_si256(idx),
						_mm256_loadu_si256((const __m256i *)q.bsums), 4);
		}
	}
}

/* ------------------------------------------------------ unpacked weights */

/*
 * Up to WR rows of one chunk of KC columns, as signed int8 values in column
 * order, with per block (32-element formats) or per super-block (k-quants):
 *   legacy: ds = d, dm = m (Q4_1/Q5_1), corr = -128 * sum(w)
 *   k-quant: ds = d, dm = dmin, sc = group scales, mp = mins as int16
 *   pairs over bsums (2i, 2i+1), corr = -128 * sum_g sc_g * sum_g(w)
 * Rows past the matrix are zero.
 */
/* Blocking (bench/kern_bench -c -t 2 -n 128, Q4_0 + Q4_K + Q6_K over the
 * five shapes, total ms, medians of 5 interleaved runs on a shared machine,
 * +-15% noise): KC 2048: 113.7, KC 4096: 108.3, KC 8192 (WR 16): 100.9,
 * KC 1024: 130; WR 16: 121.6, 64: 131; MR 4: 114.9, 6: 111.6 (3 runs).
 * Chunks below 2048 columns lose; above, gains are within the noise. The
 * largest change measured was folding the weight broadcast into vpdpbusd
 * (dpbusd_b): 159 -> 424 GOPS per thread for Q4_0 (1 thread, n=128). */
#ifndef WR
#define WR 32   /* rows unpacked at once */
#endif
#ifndef KC
#define KC 4096 /* columns per chunk */
#endif
#ifndef MR
#define MR 8    /* rows per microkernel call */
#endif
_Static_assert(WR % MR == 0 && KC % 256 == 0, "blocking");

struct wpack {
	int8_t q[WR][KC];
	float ds[WR][KC / 32], dm[WR][KC / 32];
	int32_t corr[WR][KC / 32];
	int32_t sc[WR][KC / 256][16];
	int32_t mp[WR][KC / 256][8];
};

typedef void (*unpack_fn)(const void *row, int64_t b0, int nb, struct wpack *wp,
			  int r);

/* legacy: one block -> 32 signed values */
ALWAYS_INLINE void put_leg(struct wpack *wp, int r, int b, __m256i w, float d, float m)
{
	_mm256_storeu_si256((__m256i *)(wp->q[r] + 32 * b), w);
	wp->ds[r][b] = d;
	wp->dm[r][b] = m;
	wp->corr[r][b] = -128 * sum_s8_32(w);
}

static void unpack_q4_0(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q4_0 *a = (const struct hrt_blk_q4_0 *)row + b0;
	for (int b = 0; b < nb; b++)
		put_leg(wp, r, b, _mm256_sub_epi8(nibbles_32(a[b].qs), _mm256_set1_epi8(8)),
			f16(a[b].d), 0);
}

static void unpack_q5_0(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q5_0 *a = (const struct hrt_blk_q5_0 *)row + b0;
	for (int b = 0; b < nb; b++)
		put_leg(wp, r, b, _mm256_sub_epi8(q5_bits(nibbles_32(a[b].qs), a[b].qh),
						  _mm256_set1_epi8(16)),
			f16(a[b].d), 0);
}

static void unpack_q8_0(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q8_0 *a = (const struct hrt_blk_q8_0 *)row + b0;
	for (int b = 0; b < nb; b++)
		put_leg(wp, r, b, _mm256_loadu_si256((const __m256i *)a[b].qs), f16(a[b].d), 0);
}

static void unpack_q4_1(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q4_1 *a = (const struct hrt_blk_q4_1 *)row + b0;
	for (int b = 0; b < nb; b++)
		put_leg(wp, r, b, nibbles_32(a[b].qs), f16(a[b].d), f16(a[b].m));
}

static void unpack_q5_1(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q5_1 *a = (const struct hrt_blk_q5_1 *)row + b0;
	for (int b = 0; b < nb; b++)
		put_leg(wp, r, b, q5_bits(nibbles_32(a[b].qs), a[b].qh), f16(a[b].d),
			f16(a[b].m));
}

/* k-quants: store 256 values (codes minus off), group sums -> corr */
ALWAYS_INLINE void put_k(struct wpack *wp, int r, int s, const __m512i u[4], int off,
			 const int32_t *sc, int G, float d, float dmin)
{
	int8_t *q = wp->q[r] + 256 * s;
	int32_t corr = 0;
	for (int c = 0; c < 4; c++) {
		__m512i w = _mm512_sub_epi8(u[c], _mm512_set1_epi8((char)off));
		_mm512_storeu_si512(q + 64 * c, w);
		/* sums of 8 bytes (biased by 128 each) -> groups */
		__m512i sad = _mm512_sad_epu8(_mm512_xor_si512(w, _mm512_set1_epi8(-128)),
					      _mm512_setzero_si512());
		int64_t e[8];
		_mm512_storeu_si512(e, sad);
		if (G == 16)
			for (int g = 0; g < 4; g++)
				corr += sc[4 * c + g] * (int32_t)(e[2 * g] + e[2 * g + 1] - 2048);
		else
			for (int g = 0; g < 2; g++)
				corr += sc[2 * c + g] * (int32_t)(e[4 * g] + e[4 * g + 1] +
								  e[4 * g + 2] + e[4 * g + 3] - 4096);
	}
	wp->corr[r][s] = -128 * corr;
	for (int g = 0; g < G; g++)
		wp->sc[r][s][g] = sc[g];
	wp->ds[r][s] = d;
	wp->dm[r][s] = dmin;
}

static void unpack_q4_k(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q4_k *a = (const struct hrt_blk_q4_k *)row + b0;
	for (int s = 0; s < nb; s++) {
		int32_t sc[8], m[8];
		__m512i u[4];
		k4_scales(a[s].scales, sc, m);
		q45k_codes(a[s].qs, NULL, u);
		put_k(wp, r, s, u, 0, sc, 8, f16(a[s].d), f16(a[s].dmin));
		for (int i = 0; i < 8; i++)
			wp->mp[r][s][i] = m[i] | m[i] << 16;
	}
}

static void unpack_q5_k(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q5_k *a = (const struct hrt_blk_q5_k *)row + b0;
	for (int s = 0; s < nb; s++) {
		int32_t sc[8], m[8];
		__m512i u[4];
		k4_scales(a[s].scales, sc, m);
		q45k_codes(a[s].qs, a[s].qh, u);
		put_k(wp, r, s, u, 0, sc, 8, f16(a[s].d), f16(a[s].dmin));
		for (int i = 0; i < 8; i++)
			wp->mp[r][s][i] = m[i] | m[i] << 16;
	}
}

static void unpack_q6_k(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q6_k *a = (const struct hrt_blk_q6_k *)row + b0;
	for (int s = 0; s < nb; s++) {
		int32_t sc[16];
		__m512i u[4];
		_mm512_storeu_si512(sc, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)a[s].scales)));
		q6k_codes(&a[s], u);
		put_k(wp, r, s, u, 32, sc, 16, f16(a[s].d), 0);
	}
}

static void unpack_q3_k(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q3_k *a = (const struct hrt_blk_q3_k *)row + b0;
	for (int s = 0; s < nb; s++) {
		int32_t sc[16];
		__m512i u[4];
		q3k_scales(a[s].scales, sc);
		q3k_codes(&a[s], u);
		put_k(wp, r, s, u, 4, sc, 16, f16(a[s].d), 0);
	}
}

static void unpack_q2_k(const void *row, int64_t b0, int nb, struct wpack *wp, int r)
{
	const struct hrt_blk_q2_k *a = (const struct hrt_blk_q2_k *)row + b0;
	for (int s = 0; s < nb; s++) {
		int32_t sc[16];
		__m512i u[4];
		__m512i sb = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)a[s].scales));
		_mm512_storeu_si512(sc, _mm512_and_si512(sb, _mm512_set1_epi32(15)));
		q2bit_codes(a[s].qs, u);
		put_k(wp, r, s, u, 0, sc, 16, f16(a[s].d), f16(a[s].dmin));
		for (int i = 0; i < 8; i++)
			wp->mp[r][s][i] = (a[s].scales[2 * i] >> 4) |
					  (a[s].scales[2 * i + 1] >> 4) << 16;
	}
}

static void zero_rows(struct wpack *wp, int r0, int r1)
{
	for (int r = r0; r < r1; r++) {
		memset(wp->q[r], 0, sizeof wp->q[r]);
		memset(wp->ds[r], 0, sizeof wp->ds[r]);
		memset(wp->dm[r], 0, sizeof wp->dm[r]);
		memset(wp->corr[r], 0, sizeof wp->corr[r]);
		memset(wp->sc[r], 0, sizeof wp->sc[r]);
		memset(wp->mp[r], 0, sizeof wp->mp[r]);
	}
}

/* ------------------------------------------------------------ microkernels */

/* Software prefetch of the next tile's weights, spread over the compute of
 * the current one: the unpack reads its rows from memory, and without this
 * the microkernels ran with the memory idle and the unpack stalled on it. */
struct pfc {
	const uint8_t *row; /* current row of the next tile */
	size_t ws;          /* bytes between rows */
	int rows;           /* rows left */
	int line, lines;    /* next line in the row, lines per row */
};

ALWAYS_INLINE void pf_some(struct pfc *p, int k)
{
	for (int i = 0; i < k && p->rows > 0; i++) {
		_mm_prefetch((const char *)p->row + 64 * p->line, _MM_HINT_T1);
		if (++p->line == p->lines) {
			p->line = 0;
			p->row += p->ws;
			p->rows--;
		}
	}
}

/* legacy formats: MR rows x 16 tokens over nb blocks of one chunk */
ALWAYS_INLINE void micro_leg(const struct wpack *wp, int r0, int nb,
			     const uint8_t *pan, int pb, bool has_min, __m512 f[MR],
			     struct pfc *pf, int pfk)
{
	_Pragma("GCC unroll 16")
	for (int r = 0; r < MR; r++)
		f[r] = _mm512_setzero_ps();
	for (int b = 0; b < nb; b++, pan += pb) {
		pf_some(pf, pfk);
		__m512i acc[MR];
		_Pragma("GCC unroll 16")
		for (int r = 0; r < MR; r++)
			acc[r] = _mm512_set1_epi32(wp->corr[r0 + r][b]);
		_Pragma("GCC unroll 16")
		for (int j = 0; j < 8; j++) {
			__m512i A = _mm512_load_si512(pan + 64 * j);
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				acc[r] = dpbusd_b(acc[r], A, wp->q[r0 + r] + 32 * b + 4 * j);
		}
		__m512 D = _mm512_load_ps(pan + 512);
		_Pragma("GCC unroll 16")
		for (int r = 0; r < MR; r++)
			f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r]),
					       _mm512_mul_ps(D, _mm512_set1_ps(wp->ds[r0 + r][b])), f[r]);
		if (has_min) {
			__m512 S = _mm512_load_ps(pan + 576);
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				f[r] = _mm512_fmadd_ps(S, _mm512_set1_ps(wp->dm[r0 + r][b]), f[r]);
		}
	}
}

/* k-quants: G groups of 256 / G per super-block */
ALWAYS_INLINE void micro_k(const struct wpack *wp, int r0, int ns, const uint8_t *pan,
			   int G, bool has_min, __m512 f[MR], struct pfc *pf, int pfk)
{
	const int E = 256 / G;
	_Pragma("GCC unroll 16")
	for (int r = 0; r < MR; r++)
		f[r] = _mm512_setzero_ps();
	for (int s = 0; s < ns; s++, pan += PB_Q8_K) {
		pf_some(pf, pfk);
		__m512i tot[MR];
		_Pragma("GCC unroll 16")
		for (int r = 0; r < MR; r++)
			tot[r] = _mm512_set1_epi32(wp->corr[r0 + r][s]);
		for (int g = 0; g < G; g++) {
			__m512i acc[MR];
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				acc[r] = _mm512_setzero_si512();
			_Pragma("GCC unroll 16")
			for (int j = 0; j < E / 4; j++) {
				__m512i A = _mm512_load_si512(pan + 64 * (g * E / 4 + j));
				_Pragma("GCC unroll 16")
				for (int r = 0; r < MR; r++)
					acc[r] = dpbusd_b(acc[r], A, wp->q[r0 + r] + 256 * s + g * E + 4 * j);
			}
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				tot[r] = _mm512_add_epi32(tot[r], _mm512_mullo_epi32(acc[r],
					_mm512_set1_epi32(wp->sc[r0 + r][s][g])));
		}
		__m512 D = _mm512_load_ps(pan + PK_D);
		_Pragma("GCC unroll 16")
		for (int r = 0; r < MR; r++)
			f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot[r]),
					       _mm512_mul_ps(D, _mm512_set1_ps(wp->ds[r0 + r][s])), f[r]);
		if (has_min) {
			__m512i mn[MR];
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				mn[r] = _mm512_setzero_si512();
			_Pragma("GCC unroll 16")
			for (int i = 0; i < 8; i++) {
				__m512i B = _mm512_load_si512(pan + PK_B + 64 * i);
				_Pragma("GCC unroll 16")
				for (int r = 0; r < MR; r++)
					mn[r] = dpwssd_b(mn[r], B, &wp->mp[r0 + r][s][i]);
			}
			_Pragma("GCC unroll 16")
			for (int r = 0; r < MR; r++)
				f[r] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mn[r]),
							_mm512_mul_ps(D, _mm512_set1_ps(wp->dm[r0 + r][s])), f[r]);
		}
	}
}

/* write (first chunk) or add the MR x 16 results of one microkernel call */
ALWAYS_INLINE void store_tile(const __m512 f[MR], float *y, size_t ldy, int nr, int nt,
			      bool add)
{
	float tmp[MR][PN];
	_Pragma("GCC unroll 16")
	for (int r = 0; r < MR; r++)
		_mm512_storeu_ps(tmp[r], f[r]);
	for (int t = 0; t < nt; t++)
		for (int r = 0; r < nr; r++) {
			float *o = y + (size_t)t * ldy + r;
			*o = add ? *o + tmp[r][t] : tmp[r][t];
		}
}

enum fam { FAM_LEG, FAM_LEG_MIN, FAM_K8_MIN, FAM_K16, FAM_K16_MIN };

/*
 * The gemm on panels: rows in groups of WR, columns in chunks of KC; each
 * chunk of each group is unpacked once and every panel of tokens runs over
 * it MR rows at a time.
 */
ALWAYS_INLINE void gemm_panels(int64_t n, int nr, int nt, const uint8_t *w, size_t ws,
			       const uint8_t *act, size_t as, float *y, size_t ldy,
			       unpack_fn unpack, enum fam fam)
{
	/* ~225 KB: thread-local rather than on small thread stacks */
	static _Thread_local struct wpack tls_wp __attribute__((aligned(64)));
	struct wpack *const wpp = &tls_wp;
	const bool kq = fam >= FAM_K8_MIN;
	const int blk = kq ? 256 : 32;
	const int pb = kq ? PB_Q8_K : fam == FAM_LEG_MIN ? PB_Q8_1 : PB_Q8_0;
	for (int rg = 0; rg < nr; rg += WR) {
		int rn = nr - rg < WR ? nr - rg : WR;
		int rpad = (rn + MR - 1) / MR * MR;
		for (int64_t k0 = 0; k0 < n; k0 += KC) {
			int nb = (int)((n - k0 < KC ? n - k0 : KC) / blk);
			int64_t b0 = k0 / blk;
			for (int r = 0; r < rn; r++)
				unpack(w + (size_t)(rg + r) * ws, b0, nb, wpp, r);
			zero_rows(wpp, rn, rpad);
			/* the next tile: next chunk of these rows, or the first
			 * chunk of the next rows (past nr: the caller's next call) */
			struct pfc pf;
			int64_t nk0 = k0 + KC < n ? k0 + KC : 0;
			int nnb = (int)((n - nk0 < KC ? n - nk0 : KC) / blk);
			pf.row = w + (size_t)(nk0 ? rg : rg + WR) * ws + (size_t)(nk0 / blk) * (ws / (size_t)(n / blk));
			pf.ws = ws;
			pf.rows = WR;
			pf.line = 0;
			pf.lines = (int)(((size_t)nnb * (ws / (size_t)(n / blk)) + 63) / 64);
			int calls = (rpad / MR) * ((nt + PN - 1) / PN);
			int pfk = (WR * pf.lines + calls * nb - 1) / (calls * nb);
			for (int t0 = 0; t0 < nt; t0 += PN) {
				const uint8_t *pan = act + (size_t)(t0 / PN) * as + (size_t)b0 * (size_t)pb;
				int tn = nt - t0 < PN ? nt - t0 : PN;
				for (int r0 = 0; r0 < rn; r0 += MR) {
					__m512 f[MR];
					switch (fam) {
					case FAM_LEG:
						micro_leg(wpp, r0, nb, pan, pb, false, f, &pf, pfk);
						break;
					case FAM_LEG_MIN:
						micro_leg(wpp, r0, nb, pan, pb, true, f, &pf, pfk);
						break;
					case FAM_K8_MIN:
						micro_k(wpp, r0, nb, pan, 8, true, f, &pf, pfk);
						break;
					case FAM_K16:
						micro_k(wpp, r0, nb, pan, 16, false, f, &pf, pfk);
						break;
					case FAM_K16_MIN:
						micro_k(wpp, r0, nb, pan, 16, true, f, &pf, pfk);
						break;
					}
					store_tile(f, y + (size_t)t0 * ldy + rg + r0, ldy,
						   rn - r0 < MR ? rn - r0 : MR, tn, k0 > 0);
				}
			}
		}
	}
}

#define GEMM(name, unpack, fam) \
	static void gemm_##name(int64_t n, int nr, int nt, const void *w, size_t ws, \
				const void *act, size_t as, float *y, size_t ldy) \
	{ \
		gemm_panels(n, nr, nt, w, ws, act, as, y, ldy, unpack, fam); \
	}

GEMM(q4_0, unpack_q4_0, FAM_LEG)
GEMM(q5_0, unpack_q5_0, FAM_LEG)
GEMM(q8_0, unpack_q8_0, FAM_LEG)
GEMM(q4_1, unpack_q4_1, FAM_LEG_MIN)
GEMM(q5_1, unpack_q5_1, FAM_LEG_MIN)
GEMM(q4_k, unpack_q4_k, FAM_K8_MIN)
GEMM(q5_k, unpack_q5_k, FAM_K8_MIN)
GEMM(q6_k, unpack_q6_k, FAM_K16)
GEMM(q3_k, unpack_q3_k, FAM_K16)
GEMM(q2_k, unpack_q2_k, FAM_K16_MIN)

/* ------------------------------------------------------------ SwiGLU */

static void swiglu(float *h, const float *g, int64_t n)
{
	const __m512 one = _mm512_set1_ps(1.0f);
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m512 x = _mm512_loadu_ps(h + i);
		__m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_setzero_ps(), x));
		_mm512_storeu_ps(h + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)),
						 _mm512_loadu_ps(g + i)));
	}
	for (; i < n; i++)
		h[i] = h[i] / (1.0f + expf(-h[i])) * g[i];
}

/* ------------------------------------------------------------------ table */

void hrt_kern_fill_avx512(struct hrt_kern_isa *t)
{
	t->swiglu = swiglu;
	t->quantize[HRT_F16] = quantize_f16;
	t->quantize[HRT_Q8_0] = quantize_q8_0;
	t->quantize[HRT_Q8_1] = quantize_q8_1;
	t->quantize[HRT_Q8_K] = quantize_q8_k;

	t->vec_dot[HRT_F32] = vec_dot_f32;
	t->vec_dot[HRT_F16] = vec_dot_f16;
	t->vec_dot[HRT_BF16] = vec_dot_bf16;
	t->vec_dot[HRT_Q4_0] = vec_dot_q4_0;
	t->vec_dot[HRT_Q4_1] = vec_dot_q4_1;
	t->vec_dot[HRT_Q5_0] = vec_dot_q5_0;
	t->vec_dot[HRT_Q5_1] = vec_dot_q5_1;
	t->vec_dot[HRT_Q8_0] = vec_dot_q8_0;
	t->vec_dot[HRT_Q2_K] = vec_dot_q2_k;
	t->vec_dot[HRT_Q3_K] = vec_dot_q3_k;
	t->vec_dot[HRT_Q4_K] = vec_dot_q4_k;
	t->vec_dot[HRT_Q5_K] = vec_dot_q5_k;
	t->vec_dot[HRT_Q6_K] = vec_dot_q6_k;

	t->gemm[HRT_Q4_0] = gemm_q4_0;
	t->gemm[HRT_Q5_0] = gemm_q5_0;
	t->gemm[HRT_Q8_0] = gemm_q8_0;
	t->gemm[HRT_Q4_1] = gemm_q4_1;
	t->gemm[HRT_Q5_1] = gemm_q5_1;
	t->gemm[HRT_Q2_K] = gemm_q2_k;
	t->gemm[HRT_Q3_K] = gemm_q3_k;
	t->gemm[HRT_Q4_K] = gemm_q4_k;
	t->gemm[HRT_Q5_K] = gemm_q5_k;
	t->gemm[HRT_Q6_K] = gemm_q6_k;

	hrt_kern_fill_avx512_tile(t);
	hrt_kern_fill_avx512_att(t);

	t->panel_n = PN;
	t->panel[HRT_Q8_0] = panel_q8_0;
	t->panel_blk_bytes[HRT_Q8_0] = PB_Q8_0;
	t->panel[HRT_Q8_1] = panel_q8_1;
	t->panel_blk_bytes[HRT_Q8_1] = PB_Q8_1;
	t->panel[HRT_Q8_K] = panel_q8_k;
	t->panel_blk_bytes[HRT_Q8_K] = PB_Q8_K;
	hrt_kern_fill_avx512_float(t); /* after panel_n: its panels are 16 tokens */
}
