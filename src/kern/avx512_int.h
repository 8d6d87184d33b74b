/*
 * kern/avx512_int — inline helpers shared by the AVX-512 kernel files
 * (kern_avx512.c: quantizers, vec_dot, panel gemm; tile_avx512.c: tiles
 * on activation rows). Include only from files compiled with the AVX-512
 * flags (see the Makefile).
 */
#ifndef HRT_KERN_AVX512_INT_H
#define HRT_KERN_AVX512_INT_H

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "kern/kern.h"
#include "kern/quant_blocks.h"

void hrt_kern_fill_avx512(struct hrt_kern_isa *t);
/* the tile kernels (tile_avx512.c) */
void hrt_kern_fill_avx512_tile(struct hrt_kern_isa *t);
/* the attention kernels (att_avx512.c) */
void hrt_kern_fill_avx512_att(struct hrt_kern_isa *t);
/* products of F16, BF16 and F32 weights (float_avx512.c) */
void hrt_kern_fill_avx512_float(struct hrt_kern_isa *t);

/* glibc's vector expf (libmvec, part of libm; documented vector ABI) */
__m512 _ZGVeN16v_expf(__m512 x);

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------- helpers */

ALWAYS_INLINE float f16(uint16_t h)
{
	return _cvtsh_ss(h);
}

/* acc += dpbusd(a, 4 signed bytes at p broadcast to every lane), with the
 * broadcast folded into the instruction ({1to16}): GCC emits a separate
 * vpbroadcastd for the intrinsic, twice the instructions of the inner loop */
ALWAYS_INLINE __m512i dpbusd_b(__m512i acc, __m512i a, const void *p)
{
	__asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(a), "m"(*(const int32_t *)p));
	return acc;
}

ALWAYS_INLINE __m512i dpwssd_b(__m512i acc, __m512i a, const void *p)
{
	__asm__("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(a), "m"(*(const int32_t *)p));
	return acc;
}

ALWAYS_INLINE float hsum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

ALWAYS_INLINE __m256i nibbles_32(const uint8_t *qs) /* 16 bytes -> lo | hi */
{
	__m128i q = _mm_loadu_si128((const __m128i *)qs);
	__m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
	return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

/* sum over 32 bytes treated as signed */
ALWAYS_INLINE int32_t sum_s8_32(__m256i w)
{
	__m256i s = _mm256_sad_epu8(_mm256_xor_si256(w, _mm256_set1_epi8(-128)),
				    _mm256_setzero_si256());
	__m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
	h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
	return (int32_t)_mm_cvtsi128_si32(h) - 128 * 32;
}

ALWAYS_INLINE __m512i cat256(__m256i lo, __m256i hi)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

ALWAYS_INLINE __m512i ldz(const void *p)
{
	return _mm512_loadu_si512(p);
}

/* round half away from zero (roundf), exact for every float */
ALWAYS_INLINE __m512 round_away(__m512 v)
{
	__m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	__m512 f = _mm512_sub_ps(v, t);
	__mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(f), _mm512_set1_ps(0.5f),
					 _CMP_GE_OQ);
	__m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f),
				  _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
	return _mm512_mask_add_ps(t, m, t, one);
}

/* one Q8_K super-block (reference rule: the element of largest magnitude,
 * first on ties, maps to -127; round to nearest even) */
ALWAYS_INLINE void q8_k_block(const float *x, struct hrt_blk_q8_k *b)
{
	__m512 am = _mm512_setzero_ps();
	for (int i = 0; i < 16; i++)
		am = _mm512_max_ps(am, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)));
	float amax = _mm512_reduce_max_ps(am);
	if (!(amax > 0)) {
		memset(b, 0, sizeof *b);
		return;
	}
	float max = 0;
	for (int i = 0; i < 16; i++) {
		__mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)),
						 _mm512_set1_ps(amax), _CMP_EQ_OQ);
		if (m) {
			max = x[16 * i + __builtin_ctz(m)];
			break;
		}
	}
	float is = -127.f / max;
	__m512 vis = _mm512_set1_ps(is);
	__m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
	for (int i = 0; i < 16; i++) {
		__m512 v = _mm512_mul_ps(vis, _mm512_loadu_ps(x + 16 * i));
		__m512i q = _mm512_cvtps_epi32(_mm512_roundscale_ps(
			v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
		q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
		_mm_storeu_si128((__m128i *)(b->qs + 16 * i), _mm512_cvtepi32_epi8(q));
		b->bsums[i] = (int16_t)_mm512_reduce_add_epi32(q);
	}
	b->d = is != 0 ? 1 / is : 0.0f;
}

/* one Q8_0 block: fp16 d, codes; *df = d before rounding to fp16;
 * returns the sum of the codes */
ALWAYS_INLINE int q8_0_block(const float *x, uint16_t *dout, float *df,
			     int8_t *qs)
{
	__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
	float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0),
							_mm512_abs_ps(v1)));
	float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
	*dout = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
	*df = d;
	__m512 vid = _mm512_set1_ps(id);
	__m512i q0 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v0, vid)));
	__m512i q1 = _mm512_cvttps_epi32(round_away(_mm512_mul_ps(v1, vid)));
	_mm_storeu_si128((__m128i *)qs, _mm512_cvtsepi32_epi8(q0));
	_mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtsepi32_epi8(q1));
	__m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
	q0 = _mm512_min_epi32(_mm512_max_epi32(q0, lo), hi);
	q1 = _mm512_min_epi32(_mm512_max_epi32(q1, lo), hi);
	return _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

ALWAYS_INLINE __m256i q5_bits(__m256i u, const uint8_t *qh)
{
	return _mm256_mask_add_epi8(u, (__mmask32)load_i32(qh), u, _mm256_set1_epi8(16));
}

/* the 256 unsigned codes of a Q4_K / Q5_K super-block, 64 per vector */
ALWAYS_INLINE void q45k_codes(const uint8_t *qs, const uint8_t *qh, __m512i u[4])
{
	/* two chunks per 512-bit load: lo = [chunk 2i low nibbles | chunk
	 * 2i + 1 low nibbles], hi likewise, then each chunk's two halves are
	 * put together with one lane shuffle (half the ops of 256-bit steps) */
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512i hh = _mm512_setzero_si512();
	if (qh) {
		__m256i h = _mm256_loadu_si256((const __m256i *)qh);
		hh = cat256(h, h);
	}
	for (int i = 0; i < 2; i++) {
		__m512i q = _mm512_loadu_si512(qs + 64 * i);
		__m512i lo = _mm512_and_si512(q, m4);
		__m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
		if (qh) {
			/* chunk c: bit 2c of qh for its low half, 2c + 1 high */
			const __mmask64 up = 0xffffffff00000000ull;
			const __m512i sixteen = _mm512_set1_epi8(16);
			__m512i blo = _mm512_mask_blend_epi8(up, _mm512_set1_epi8((char)(1 << (4 * i))),
							     _mm512_set1_epi8((char)(1 << (4 * i + 2))));
			__m512i bhi = _mm512_mask_blend_epi8(up, _mm512_set1_epi8((char)(1 << (4 * i + 1))),
							     _mm512_set1_epi8((char)(1 << (4 * i + 3))));
			lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(hh, blo), lo, sixteen);
			hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(hh, bhi), hi, sixteen);
		}
		u[2 * i] = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));
		u[2 * i + 1] = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));
	}
}

/* Q6_K codes, unsigned 0..63 (value + 32), 64 per vector. Per 128
 * elements: 64 bytes of ql (low nibbles: elements 0-63, high: 64-127) and
 * 32 of qh (2 bits per element, bit pairs 0-3 for 0-63, 4-7 for 64-127),
 * the qh bytes broadcast to both halves and shifted per half with masks */
ALWAYS_INLINE void q6k_codes(const struct hrt_blk_q6_k *b, __m512i u[4])
{
	const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
	const __mmask32 lo16 = 0x0000ffffu, hi16 = 0xffff0000u;
	for (int h = 0; h < 2; h++) {
		__m512i l = _mm512_loadu_si512(b->ql + 64 * h);
		__m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
		/* elements 0-31: qh << 4, 32-63: qh << 2 */
		__m512i t0 = _mm512_mask_slli_epi16(_mm512_slli_epi16(qh, 2), lo16, qh, 4);
		/* elements 64-95: qh, 96-127: qh >> 2 */
		__m512i t1 = _mm512_mask_srli_epi16(qh, hi16, qh, 2);
		u[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(t0, m30));
		u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
					       _mm512_and_si512(t1, m30));
	}
}

/* low 2 bits (Q2_K, Q3_K): 64 codes per vector */
ALWAYS_INLINE void q2bit_codes(const uint8_t *qs, __m512i u[4])
{
	const __m256i m3 = _mm256_set1_epi8(3);
	for (int h = 0; h < 2; h++) {
		__m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
		u[2 * h] = cat256(_mm256_and_si256(q, m3),
				  _mm256_and_si256(_mm256_srli_epi16(q, 2), m3));
		u[2 * h + 1] = cat256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m3),
				      _mm256_and_si256(_mm256_srli_epi16(q, 6), m3));
	}
}

/* Q3_K codes, unsigned 0..7 (value + 4) */
ALWAYS_INLINE void q3k_codes(const struct hrt_blk_q3_k *b, __m512i u[4])
{
	q2bit_codes(b->qs, u);
	__m512i hm = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)b->hmask));
	for (int c = 0; c < 4; c++) {
		/* vector c holds elements 64c..64c+63: hmask bits 2c, 2c+1 */
		__m512i bit = cat256(_mm256_set1_epi8((char)(1 << (2 * c))),
				     _mm256_set1_epi8((char)(1 << (2 * c + 1))));
		u[c] = _mm512_mask_add_epi8(u[c], _mm512_test_epi8_mask(hm, bit), u[c],
					    _mm512_set1_epi8(4));
	}
}

/* Q4_K / Q5_K scales and mins (12 bytes at s, 6 bits each) in two 64-bit
 * words, groups 0-3 in *lo and 4-7 in *hi: bytes 0-3 the scales, 4-7 the
 * mins */
ALWAYS_INLINE void k4_scale_halves(const uint8_t *s, uint64_t *lo, uint64_t *hi)
{
	uint64_t s01;
	memcpy(&s01, s, 8);
	const uint64_t s2 = (uint32_t)load_i32(s + 8);
	/* groups 0-3: the low 6 bits of bytes 0-7 */
	*lo = s01 & 0x3f3f3f3f3f3f3f3full;
	/* groups 4-7: the nibbles of bytes 8-11 (low: scales, high: mins)
	 * under the top 2 bits of bytes 0-7 */
	*hi = ((s2 | s2 << 28) & 0x0f0f0f0f0f0f0f0full) | ((s01 >> 2) & 0x3030303030303030ull);
}

/* the same as the 8 scales (*sc, byte i: group i) and the 8 mins (*mn) */
ALWAYS_INLINE void k4_scale_u64(const uint8_t *s, uint64_t *sc, uint64_t *mn)
{
	uint64_t lo, hi;
	k4_scale_halves(s, &lo, &hi);
	*sc = (lo & 0xffffffffull) | hi << 32;
	*mn = lo >> 32 | (hi & 0xffffffff00000000ull);
}

/* the same as one vector: bytes 0..7 the scales, 8..15 the mins */
ALWAYS_INLINE __m128i k4_scale_bytes(const uint8_t *s)
{
	uint64_t sc, mn;
	k4_scale_u64(s, &sc, &mn);
	return _mm_set_epi64x((long long)mn, (long long)sc);
}

/* the same as int32 lanes: 0..7 the scales, 8..15 the mins */
ALWAYS_INLINE __m512i k4_scales_v(const uint8_t *s)
{
	return _mm512_cvtepu8_epi32(k4_scale_bytes(s));
}

/* Q3_K scales: 16 signed bytes */
ALWAYS_INLINE __m128i q3k_scale_bytes(const uint8_t *s)
{
	__m128i v = _mm_loadl_epi64((const __m128i *)s);
	__m128i m4 = _mm_set1_epi8(15);
	__m128i lo = _mm_unpacklo_epi64(_mm_and_si128(v, m4),
					_mm_and_si128(_mm_srli_epi16(v, 4), m4));
	__m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(load_i32(s + 8)),
						  _mm_setr_epi32(0, 2, 4, 6)),
				   _mm_set1_epi8(3));
	return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
}

/* the same as int32 lanes */
ALWAYS_INLINE __m512i q3k_scales_v(const uint8_t *s)
{
	return _mm512_cvtepi8_epi32(q3k_scale_bytes(s));
}

#endif
