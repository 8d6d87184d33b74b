/*
 * kern/types — the facts about every tensor storage type GGUF files use:
 * name, block size, bytes per block, and the portable reference functions
 * (dequantize, quantize, dot product) that are the oracle for SIMD kernels.
 *
 * Type ids are the GGUF/ggml ids on disk; ids that GGUF has retired or never
 * assigned have no entry (hrt_type_get returns NULL). Block layouts follow the
 * ggml quantization formats (see kern/quant_ref.c for each layout).
 */
#ifndef HRT_KERN_TYPES_H
#define HRT_KERN_TYPES_H

#include <stdbool.h>
#include <stdint.h>

enum hrt_type {
	HRT_F32 = 0,
	HRT_F16 = 1,
	HRT_Q4_0 = 2,
	HRT_Q4_1 = 3,
	HRT_Q5_0 = 6,
	HRT_Q5_1 = 7,
	HRT_Q8_0 = 8,
	HRT_Q8_1 = 9,
	HRT_Q2_K = 10,
	HRT_Q3_K = 11,
	HRT_Q4_K = 12,
	HRT_Q5_K = 13,
	HRT_Q6_K = 14,
	HRT_Q8_K = 15,
	HRT_IQ2_XXS = 16,
	HRT_IQ2_XS = 17,
	HRT_IQ3_XXS = 18,
	HRT_IQ1_S = 19,
	HRT_IQ4_NL = 20,
	HRT_IQ3_S = 21,
	HRT_IQ2_S = 22,
	HRT_IQ4_XS = 23,
	HRT_I8 = 24,
	HRT_I16 = 25,
	HRT_I32 = 26,
	HRT_I64 = 27,
	HRT_F64 = 28,
	HRT_IQ1_M = 29,
	HRT_BF16 = 30,
	HRT_TQ1_0 = 34,
	HRT_TQ2_0 = 35,
	HRT_MXFP4 = 39,
	HRT_TYPE_COUNT = 40
};

#define HRT_QK 32   /* elements per block of the legacy formats */
#define HRT_QK_K 256 /* elements per super-block of the k-quants */

/* reference kernels; n is a multiple of the block size */
typedef void (*hrt_to_float_fn)(const void *x, float *y, int64_t n);
typedef void (*hrt_from_float_fn)(const float *x, void *y, int64_t n);
/* *s = sum_i x[i] * y[i]; x in the weight type, y in its dot_type */
typedef void (*hrt_vec_dot_fn)(int64_t n, float *s, const void *x,
			       const void *y);

struct hrt_type_traits {
	const char *name;     /* "Q4_K", as GGUF tools print it */
	uint32_t blck;        /* elements per block */
	uint32_t size;        /* bytes per block */
	bool quantized;
	hrt_to_float_fn to_float;     /* NULL: hearth cannot compute with it */
	hrt_from_float_fn from_float; /* NULL: hearth cannot produce it */
	enum hrt_type dot_type;       /* format of the activations for vec_dot */
	hrt_vec_dot_fn vec_dot;       /* reference dot product */
};

/* NULL for ids without an entry (unknown or retired). */
const struct hrt_type_traits *hrt_type_get(uint32_t type);

/* Name for printing; "type<N>" text for unknown ids is not produced here:
 * returns NULL when unknown. */
const char *hrt_type_name(uint32_t type);

/* Type id for a name ("q4_k" or "Q4_K"); -1 if none. */
int hrt_type_from_name(const char *name);

/* Bytes of a row of n elements; false if the type is unknown, n is not a
 * multiple of the block size, or the size overflows. */
bool hrt_type_row_bytes(uint32_t type, uint64_t n, uint64_t *bytes);

/* true when hearth has a to_float and vec_dot for the type */
bool hrt_type_computable(uint32_t type);

#endif
