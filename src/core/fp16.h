/*
 * core/fp16 — IEEE half and bfloat16 conversions (scalar, exact, portable).
 * SIMD code converts with F16C/AVX-512 instructions; these are the reference.
 */
#ifndef HRT_CORE_FP16_H
#define HRT_CORE_FP16_H

#include <stdint.h>
#include <string.h>

static inline float hrt_bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}
static inline uint32_t hrt_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float hrt_fp16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;
	if (exp == 0) {
		/* zero or subnormal: value = man * 2^-24 */
		float v = (float)man * 5.9604644775390625e-08f;
		return sign ? -v : v;
	}
	if (exp == 31)
		return hrt_bits_f32(sign | 0x7f800000u | (man << 13));
	return hrt_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* round to nearest even, like the hardware conversion */
static inline uint16_t hrt_f32_to_fp16(float f)
{
	uint32_t x = hrt_f32_bits(f);
	uint32_t sign = (x >> 16) & 0x8000;
	uint32_t ax = x & 0x7fffffff;
	if (ax >= 0x7f800000) /* inf or nan */
		return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0));
	if (ax >= 0x477ff000) /* rounds to >= 65520: overflow to inf */
		return (uint16_t)(sign | 0x7c00);
	if (ax < 0x38800000) { /* below the smallest normal half: subnormal */
		/* scale into the subnormal range and round with the FPU */
		float v = hrt_bits_f32(ax) * 16777216.0f; /* * 2^24 */
		uint32_t m = (uint32_t)v;
		float rem = v - (float)m;
		if (rem > 0.5f || (rem == 0.5f && (m & 1)))
			m++;
		return (uint16_t)(sign | m);
	}
	uint32_t e = (ax >> 23) - 112;
	uint32_t m = ax & 0x7fffff;
	uint32_t h = (e << 10) | (m >> 13);
	uint32_t rest = m & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++;
	return (uint16_t)(sign | h);
}

static inline float hrt_bf16_to_f32(uint16_t b)
{
	return hrt_bits_f32((uint32_t)b << 16);
}

static inline uint16_t hrt_f32_to_bf16(float f)
{
	uint32_t x = hrt_f32_bits(f);
	if ((x & 0x7fffffff) > 0x7f800000) /* nan: keep it quiet */
		return (uint16_t)((x >> 16) | 64);
	return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

#endif
