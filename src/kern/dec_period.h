/*
 * kern/dec_period.h — the first step of the Q4_0 / Q8_0 decode activation
 * layouts (kern_avx2.c, tile_avx512.c): the 32 Q8_0 blocks of one
 * 1024-column period, laid out as a weight row of bs-byte blocks lays
 * them out. Included by an ISA's kernel file where its q8_0_block and f16
 * are defined (avx512_int.h; avx2_int.h and kern_avx2.c), which it uses:
 * each ISA quantizes with its own block quantizer, as its other layouts
 * do.
 */
#ifndef HRT_KERN_DEC_PERIOD_H
#define HRT_KERN_DEC_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* x: 1024 floats. lo (32 bs bytes): the codes' activations at each
 * block's code bytes, for Q4_0 those of the low nibbles, 0 against the
 * block's 2-byte scale; hi (q4 only, likewise): those of the high
 * nibbles; d: the 32 blocks' activation scales */
ALWAYS_INLINE void dec_period_split(const float *x, size_t bs, bool q4, int8_t *lo, int8_t *hi,
				    float *d)
{
	for (int b = 0; b < 32; b++) {
		int8_t qs[32];
		uint16_t h;
		float df;
		q8_0_block(x + 32 * b, &h, &df, qs);
		d[b] = f16(h);
		lo[bs * b] = lo[bs * b + 1] = 0;
		memcpy(lo + bs * b + 2, qs, q4 ? 16 : 32);
		if (q4) {
			hi[bs * b] = hi[bs * b + 1] = 0;
			memcpy(hi + bs * b + 2, qs + 16, 16);
		}
	}
}

#endif
