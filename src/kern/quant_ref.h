/*
 * kern/quant_ref — portable reference kernels for every computable type:
 * dequantize (to_float), quantize (from_float, same rounding as ggml's
 * reference quantizers so files we write load in the peer and round-trip),
 * and dot products against the activation format (dot_type in types.h).
 * These are the oracle: SIMD kernels are tested against them.
 * n is always a multiple of the type's block size (checked by callers).
 */
#ifndef HRT_KERN_QUANT_REF_H
#define HRT_KERN_QUANT_REF_H

#include <stdint.h>

#define HRT_REF_DECL(t) \
	void hrt_ref_##t##_to_float(const void *x, float *y, int64_t n); \
	void hrt_ref_##t##_from_float(const float *x, void *y, int64_t n);

HRT_REF_DECL(f32)
HRT_REF_DECL(f16)
HRT_REF_DECL(bf16)
HRT_REF_DECL(q4_0)
HRT_REF_DECL(q4_1)
HRT_REF_DECL(q5_0)
HRT_REF_DECL(q5_1)
HRT_REF_DECL(q8_0)
HRT_REF_DECL(q8_1)
HRT_REF_DECL(q2_k)
HRT_REF_DECL(q3_k)
HRT_REF_DECL(q4_k)
HRT_REF_DECL(q5_k)
HRT_REF_DECL(q6_k)
HRT_REF_DECL(q8_k)

#undef HRT_REF_DECL

void hrt_ref_vec_dot_f32(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_f16(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *x, const void *y);
void hrt_ref_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *x, const void *y);

#endif
