/*
 * kern/avx2_int — inline helpers shared by the AVX2 kernel files
 * (kern_avx2.c and its AVX-VNNI twin kern_vnni_avx2.c: quantizers,
 * vec_dot, decode and prompt gemm; att_avx2.c: attention). Include only
 * from files compiled with the AVX2 flags (see the Makefile).
 */
#ifndef HRT_KERN_AVX2_INT_H
#define HRT_KERN_AVX2_INT_H

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#include "kern/kern.h"
#include "kern/quant_blocks.h"

void hrt_kern_fill_avx2(struct hrt_kern_isa *t);
void hrt_kern_fill_avx2vnni(struct hrt_kern_isa *t);
/* the attention kernels (att_avx2.c), in both AVX2 tables */
void hrt_kern_fill_avx2_att(struct hrt_kern_isa *t);
/* products of F16, BF16 and F32 weights (float_avx2.c), likewise */
void hrt_kern_fill_avx2_float(struct hrt_kern_isa *t);

/* glibc's vector expf (libmvec, part of libm; documented vector ABI) */
__m256 _ZGVdN8v_expf(__m256 x);

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* fp16 -> fp32 by one load (hrt_f16_tab) */
ALWAYS_INLINE float f16(uint16_t h)
{
	return hrt_f16_tab[h];
}

ALWAYS_INLINE float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

ALWAYS_INLINE int32_t hsum_i32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
	return _mm_cvtsi128_si32(s);
}

ALWAYS_INLINE float hmax_ps(__m256 v)
{
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

ALWAYS_INLINE __m256 abs_ps(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

ALWAYS_INLINE __m256i ld(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

#endif
