/*
 * kern/quant_blocks — on-disk block layouts of the quantized GGUF types.
 * These are file formats: byte-exact with the ggml definitions, packed,
 * little-endian, fp16 fields stored as raw uint16_t.
 */
#ifndef HRT_KERN_QUANT_BLOCKS_H
#define HRT_KERN_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#include "kern/types.h"

/* unaligned reads of the blocks' fields (blocks of 18 or 34 bytes leave
 * them at any alignment); the u16 widened, so that it shifts safely */
static inline uint32_t load_u16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline int32_t load_i32(const void *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline float load_f32(const void *p)
{
	float v;
	memcpy(&v, p, 4);
	return v;
}

struct hrt_blk_q4_0 { uint16_t d; uint8_t qs[HRT_QK / 2]; };
struct hrt_blk_q4_1 { uint16_t d, m; uint8_t qs[HRT_QK / 2]; };
struct hrt_blk_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[HRT_QK / 2]; };
struct hrt_blk_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[HRT_QK / 2]; };
struct hrt_blk_q8_0 { uint16_t d; int8_t qs[HRT_QK]; };
/* s = d * sum(qs), used by the Q4_1/Q5_1 dot products */
struct hrt_blk_q8_1 { uint16_t d, s; int8_t qs[HRT_QK]; };

#define HRT_K_SCALE_SIZE 12
struct hrt_blk_q2_k {
	uint8_t scales[HRT_QK_K / 16]; /* 4-bit scale (low) and min (high) */
	uint8_t qs[HRT_QK_K / 4];      /* 2-bit quants */
	uint16_t d, dmin;
};
struct hrt_blk_q3_k {
	uint8_t hmask[HRT_QK_K / 8]; /* high bit of the 3-bit quants */
	uint8_t qs[HRT_QK_K / 4];    /* low 2 bits */
	uint8_t scales[12];          /* 16 6-bit scales */
	uint16_t d;
};
struct hrt_blk_q4_k {
	uint16_t d, dmin;
	uint8_t scales[HRT_K_SCALE_SIZE]; /* 8 6-bit scales + 8 6-bit mins */
	uint8_t qs[HRT_QK_K / 2];
};
struct hrt_blk_q5_k {
	uint16_t d, dmin;
	uint8_t scales[HRT_K_SCALE_SIZE];
	uint8_t qh[HRT_QK_K / 8];
	uint8_t qs[HRT_QK_K / 2];
};
struct hrt_blk_q6_k {
	uint8_t ql[HRT_QK_K / 2];     /* low 4 bits */
	uint8_t qh[HRT_QK_K / 4];     /* high 2 bits */
	int8_t scales[HRT_QK_K / 16]; /* 8-bit scales */
	uint16_t d;
};
/* activation format of the k-quant dot products */
struct hrt_blk_q8_k {
	float d;
	int8_t qs[HRT_QK_K];
	int16_t bsums[HRT_QK_K / 16]; /* sum of each group of 16 qs */
};

_Static_assert(sizeof(struct hrt_blk_q4_0) == 18, "q4_0");
_Static_assert(sizeof(struct hrt_blk_q4_1) == 20, "q4_1");
_Static_assert(sizeof(struct hrt_blk_q5_0) == 22, "q5_0");
_Static_assert(sizeof(struct hrt_blk_q5_1) == 24, "q5_1");
_Static_assert(sizeof(struct hrt_blk_q8_0) == 34, "q8_0");
_Static_assert(sizeof(struct hrt_blk_q8_1) == 36, "q8_1");
_Static_assert(sizeof(struct hrt_blk_q2_k) == 84, "q2_k");
_Static_assert(sizeof(struct hrt_blk_q3_k) == 110, "q3_k");
_Static_assert(sizeof(struct hrt_blk_q4_k) == 144, "q4_k");
_Static_assert(sizeof(struct hrt_blk_q5_k) == 176, "q5_k");
_Static_assert(sizeof(struct hrt_blk_q6_k) == 210, "q6_k");
_Static_assert(sizeof(struct hrt_blk_q8_k) == 292, "q8_k");

#endif
