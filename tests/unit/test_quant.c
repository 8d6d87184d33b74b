/*
 * tests/unit/test_quant — the reference kernels of kern/quant_ref: layouts
 * pinned by hand-built blocks, bit-exactness with ggml pinned by golden
 * hashes, quantization error bounds, dot products against dequantized
 * floats, and the fp16/bf16 conversions.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "core/util.h"
#include "kern/quant_blocks.h"
#include "kern/quant_ref.h"
#include "kern/types.h"
#include "t.h"

/* the golden inputs are computed with a * b + c: keep them rounded twice */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ------------------------------------------------------------ utilities */

static void fill_gauss(float *x, int64_t n, uint64_t seed)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = rng_gauss(&seed);
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static size_t row_bytes(int type, int64_t n)
{
	uint64_t b = 0;
	if (!hrt_type_row_bytes((uint32_t)type, (uint64_t)n, &b))
		return 0;
	return (size_t)b;
}

/* random bytes for n elements of a type, with every scale field set to a
 * finite value (random bytes elsewhere: every code pattern occurs) */
static void fill_blocks(int type, void *dst, int64_t n, uint64_t seed)
{
	const struct hrt_type_traits *t = hrt_type_get((uint32_t)type);
	size_t nb = (size_t)(n / t->blck);
	uint8_t *p = dst;
	for (size_t i = 0; i < nb * t->size; i++)
		p[i] = (uint8_t)rng_u64(&seed);
	for (size_t i = 0; i < nb; i++, p += t->size) {
		size_t off[2] = { 0, 0 };
		int nf = 0;
		switch (type) {
		case HRT_Q4_0: case HRT_Q5_0: case HRT_Q8_0:
			nf = 1;
			break;
		case HRT_Q4_1: case HRT_Q5_1: case HRT_Q8_1:
		case HRT_Q4_K: case HRT_Q5_K:
			off[1] = 2;
			nf = 2;
			break;
		case HRT_Q2_K:
			off[0] = offsetof(struct hrt_blk_q2_k, d);
			off[1] = offsetof(struct hrt_blk_q2_k, dmin);
			nf = 2;
			break;
		case HRT_Q3_K:
			off[0] = offsetof(struct hrt_blk_q3_k, d);
			nf = 1;
			break;
		case HRT_Q6_K:
			off[0] = offsetof(struct hrt_blk_q6_k, d);
			nf = 1;
			break;
		case HRT_Q8_K: {
			float d = rng_gauss(&seed) * 0.01f;
			memcpy(p, &d, 4);
			break;
		}
		default:
			break;
		}
		for (int f = 0; f < nf; f++) {
			/* |v| in [2^-14, 2): clear the top exponent bit */
			uint16_t h = (uint16_t)(rng_u64(&seed) & 0xbfff);
			if (!(h & 0x7c00))
				h |= 0x0400;
			memcpy(p + off[f], &h, 2);
		}
	}
}

static float *xmalloc_f(int64_t n)
{
	float *p = malloc((size_t)n * sizeof(float));
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* all the computable types, weight types first */
static const int k_types[] = {
	HRT_Q4_0, HRT_Q4_1, HRT_Q5_0, HRT_Q5_1, HRT_Q8_0, HRT_Q2_K, HRT_Q3_K,
	HRT_Q4_K, HRT_Q5_K, HRT_Q6_K, HRT_F32, HRT_F16, HRT_BF16, HRT_Q8_1,
	HRT_Q8_K,
};

static int check_floats(const float *got, const float *want, int n,
			const char *what)
{
	for (int i = 0; i < n; i++)
		if (got[i] != want[i]) {
			CHECKF(0, "%s: element %d is %g, expected %g", what, i,
			       (double)got[i], (double)want[i]);
			return 0;
		}
	return 1;
}

/* ------------------------------------------------- known-answer blocks */

static void test_kat_q4_0(void)
{
	struct hrt_blk_q4_0 b;
	float y[32], want[32];
	b.d = 0x3c00; /* 1.0 */
	for (int j = 0; j < 16; j++) {
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)(j - 8);       /* low nibbles: elements 0..15 */
		want[j + 16] = (float)(7 - j);  /* high nibbles: 16..31 */
	}
	hrt_ref_q4_0_to_float(&b, y, 32);
	check_floats(y, want, 32, "q4_0");
	/* quantize: the element of largest magnitude is -8, so d = 1 */
	float x[32];
	for (int j = 0; j < 32; j++)
		x[j] = (float)(j % 16 - 8);
	hrt_ref_q4_0_from_float(x, &b, 32);
	CHECK(b.d == 0x3c00);
	CHECK(b.qs[0] == 0x00 && b.qs[5] == 0x55 && b.qs[15] == 0xff);
}

static void test_kat_q4_1(void)
{
	struct hrt_blk_q4_1 b;
	float y[32], want[32];
	b.d = 0x3800;  /* 0.5 */
	b.m = 0xbc00;  /* -1.0 */
	for (int j = 0; j < 16; j++) {
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = 0.5f * (float)j - 1;
		want[j + 16] = 0.5f * (float)(15 - j) - 1;
	}
	hrt_ref_q4_1_to_float(&b, y, 32);
	check_floats(y, want, 32, "q4_1");
}

static void test_kat_q5_0(void)
{
	struct hrt_blk_q5_0 b;
	float y[32], want[32];
	b.d = 0x3c00;
	for (int j = 0; j < 16; j++) {
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)(j - 16);
		want[j + 16] = (float)(15 - j - 16);
	}
	/* qh is a little-endian uint32, bit e = 5th bit of element e:
	 * set bits 0, 16 and 31 */
	b.qh[0] = 0x01;
	b.qh[1] = 0x00;
	b.qh[2] = 0x01;
	b.qh[3] = 0x80;
	want[0] = 0;   /* 0 | 16 */
	want[16] = 15; /* 15 | 16 */
	want[31] = 0;  /* 0 | 16 */
	hrt_ref_q5_0_to_float(&b, y, 32);
	check_floats(y, want, 32, "q5_0");
}

static void test_kat_q5_1(void)
{
	struct hrt_blk_q5_1 b;
	float y[32], want[32];
	b.d = 0x3c00;
	b.m = 0x3400; /* 0.25 */
	for (int j = 0; j < 16; j++) {
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)j + 0.25f;
		want[j + 16] = (float)(15 - j) + 0.25f;
	}
	memcpy(b.qh, "\x01\x00\x01\x80", 4);
	want[0] = 16.25f;
	want[16] = 31.25f;
	want[31] = 16.25f;
	hrt_ref_q5_1_to_float(&b, y, 32);
	check_floats(y, want, 32, "q5_1");
}

static void test_kat_q8_0(void)
{
	struct hrt_blk_q8_0 b;
	float y[32], want[32];
	b.d = 0x3400; /* 0.25 */
	for (int j = 0; j < 32; j++) {
		b.qs[j] = (int8_t)(j - 16);
		want[j] = (float)(j - 16) / 4;
	}
	b.qs[0] = -128;
	want[0] = -32;
	hrt_ref_q8_0_to_float(&b, y, 32);
	check_floats(y, want, 32, "q8_0");
	/* quantize: d = amax / 127, ties round away from zero */
	float x[32] = { 0 };
	x[0] = 127;
	x[1] = -2.5f;
	x[2] = 2.5f;
	x[3] = -127;
	hrt_ref_q8_0_from_float(x, &b, 32);
	CHECK(b.d == 0x3c00);
	CHECK(b.qs[0] == 127 && b.qs[1] == -3 && b.qs[2] == 3 &&
	      b.qs[3] == -127 && b.qs[4] == 0);
}

static void test_kat_q8_1(void)
{
	struct hrt_blk_q8_1 b;
	float y[32], want[32];
	b.d = 0x3800; /* 0.5 */
	b.s = 0;
	for (int j = 0; j < 32; j++) {
		b.qs[j] = (int8_t)(3 - j);
		want[j] = (float)(3 - j) / 2;
	}
	hrt_ref_q8_1_to_float(&b, y, 32);
	check_floats(y, want, 32, "q8_1");
	/* s = d * sum(qs) */
	float x[32];
	for (int j = 0; j < 32; j++)
		x[j] = j == 0 ? 127.f : 1.f;
	hrt_ref_q8_1_from_float(x, &b, 32);
	CHECK(b.d == 0x3c00);
	CHECK(hrt_fp16_to_f32(b.s) == 127.f + 31.f);
}

static void test_kat_q2_k(void)
{
	struct hrt_blk_q2_k b;
	float y[256], want[256];
	memset(&b, 0, sizeof b);
	b.d = 0x3c00;    /* 1.0 */
	b.dmin = 0x3800; /* 0.5 */
	/* qs[33] -> elements 128 + 32k + 1 for the 2-bit fields k = 0..3 */
	b.qs[33] = 0xe4; /* codes 0, 1, 2, 3 */
	/* scale (low nibble) and min (high nibble) of groups of 16 */
	b.scales[8] = 0x21;  /* e 128..143: sc 1, m 2 */
	b.scales[10] = 0x32; /* e 160..175: sc 2, m 3 */
	b.scales[12] = 0x03; /* e 192..207: sc 3, m 0 */
	b.scales[14] = 0x14; /* e 224..239: sc 4, m 1 */
	for (int e = 0; e < 256; e++)
		want[e] = 0;
	for (int e = 128; e < 144; e++)
		want[e] = -1.0f;
	for (int e = 160; e < 176; e++)
		want[e] = -1.5f;
	for (int e = 224; e < 240; e++)
		want[e] = -0.5f;
	want[129] = 1 * 0 - 1.0f;
	want[161] = 2 * 1 - 1.5f;
	want[193] = 3 * 2;
	want[225] = 4 * 3 - 0.5f;
	hrt_ref_q2_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q2_k");
}

static void test_kat_q3_k(void)
{
	struct hrt_blk_q3_k b;
	float y[256], want[256];
	memset(&b, 0, sizeof b);
	b.d = 0x3c00;
	memset(b.hmask, 0xff, sizeof b.hmask); /* no -4 anywhere ... */
	/* 6-bit scales, value - 32: all 32 (so 0) to start: low nibbles 0,
	 * each 2-bit high field 2 */
	memset(b.scales + 8, 0xaa, 4);
	b.scales[1] = 0xf3;  /* group 1 low nibble 3, group 9 low nibble 15 */
	/* scales[9]: bits 2-3 group 5 (= 1), bits 4-5 group 9 (= 1),
	 * bits 0-1 group 1 and 6-7 group 13 (= 2) */
	b.scales[9] = 0x96;
	b.scales[6] = 0xf0;  /* group 14 low nibble 15 */
	b.scales[10] = 0xea; /* bits 6-7 group 14 = 3 */
	/* group 1 scale 35 - 32 = 3; group 5: 16 - 32 = -16;
	 * group 9: 31 - 32 = -1; group 14: 63 - 32 = 31 */
	b.qs[17] = 0x03;            /* e 17: code 3 */
	b.qs[16] = 0x10;            /* e 80 (k = 2, l = 16): code 1 */
	b.qs[54] = 0x01;            /* e 150 (h 1, k 0, l 22): code 1 */
	b.hmask[22] &= (uint8_t)~0x10; /* ... except e 150: -4 */
	b.qs[38] = 0x80;            /* e 230 (h 1, k 3, l 6): code 2 */
	b.hmask[6] &= (uint8_t)~0x80;  /* and e 230: -4 */
	for (int e = 0; e < 256; e++)
		want[e] = 0;
	want[17] = 3 * 3;
	want[80] = -16 * 1;
	want[150] = -1 * (1 - 4);
	want[230] = 31 * (2 - 4);
	hrt_ref_q3_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q3_k");
}

/* the Q4_K/Q5_K scale block used by both tests: sub-block 0: sc 1, m 0;
 * sub-block 1: sc 63, m 2; sub-block 5: sc 37, m 28 (6-bit values split
 * into a low nibble in bytes 8..11 and the top 2 bits of bytes 0..7) */
static void k4_scales(uint8_t s[12])
{
	memset(s, 0, 12);
	s[0] = 0x01;
	s[1] = 0x3f | 0x80; /* sc 63 for j=1; top bits of j=5's sc: 2 */
	s[5] = 0x02 | 0x40; /* m 2 for j=1; top bits of j=5's m: 1 */
	s[9] = 0xc5;        /* j=5: sc low 5, m low 12 */
}

static void test_kat_q4_k(void)
{
	struct hrt_blk_q4_k b;
	float y[256], want[256];
	memset(&b, 0, sizeof b);
	b.d = 0x3c00;
	b.dmin = 0x3800;
	k4_scales(b.scales);
	b.qs[3] = 0x7a;  /* e 3 (low nibble): 10; e 35 (high): 7 */
	b.qs[70] = 0xf0; /* e 134 (low): 0; e 166 (high): 15 */
	for (int e = 0; e < 256; e++)
		want[e] = 0;
	for (int e = 32; e < 64; e++)
		want[e] = -1;
	for (int e = 160; e < 192; e++)
		want[e] = -14;
	want[3] = 10;
	want[35] = 63 * 7 - 1;
	want[166] = 37 * 15 - 14;
	hrt_ref_q4_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q4_k");
}

static void test_kat_q5_k(void)
{
	struct hrt_blk_q5_k b;
	float y[256], want[256];
	memset(&b, 0, sizeof b);
	b.d = 0x3c00;
	b.dmin = 0x3800;
	k4_scales(b.scales);
	b.qs[3] = 0x7a;
	b.qs[70] = 0xf0;
	b.qh[3] = 0x02;  /* bit 1: e 35 */
	b.qh[6] = 0x20;  /* bit 5: e 166 */
	b.qh[10] = 0x01; /* bit 0: e 10 */
	for (int e = 0; e < 256; e++)
		want[e] = 0;
	for (int e = 32; e < 64; e++)
		want[e] = -1;
	for (int e = 160; e < 192; e++)
		want[e] = -14;
	want[3] = 10;
	want[10] = 16;
	want[35] = 63 * 23 - 1;
	want[166] = 37 * 31 - 14;
	hrt_ref_q5_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q5_k");
}

static void test_kat_q6_k(void)
{
	struct hrt_blk_q6_k b;
	float y[256], want[256];
	memset(&b, 0, sizeof b); /* every code 0, i.e. -32 */
	b.d = 0x3800;            /* 0.5 */
	b.scales[0] = 2;
	b.scales[5] = -3;
	b.scales[10] = 1;
	b.scales[15] = 127;
	b.ql[1] = 0x05;   /* e 1: low 4 bits 5 ... */
	b.qh[1] = 0x02;   /* ... high bits 2 -> 37 */
	b.ql[17] = 0xf0;  /* e 81 (k 2, l 17): high nibble 15 ... */
	b.qh[17] = 0x30;  /* ... qh bits 4-5: 3 -> 63 */
	b.ql[97] = 0x0c;  /* e 161 (h 1, k 1, l 1): 12 ... */
	b.qh[33] = 0x0c;  /* ... qh bits 2-3: 3 -> 60 */
	b.ql[122] = 0x30; /* e 250 (h 1, k 3, l 26): high nibble 3 ... */
	b.qh[58] = 0x40;  /* ... qh bits 6-7: 1 -> 19 */
	for (int e = 0; e < 256; e++)
		want[e] = 0;
	for (int e = 0; e < 16; e++)
		want[e] = 0.5f * 2 * -32;
	for (int e = 80; e < 96; e++)
		want[e] = 0.5f * -3 * -32;
	for (int e = 160; e < 176; e++)
		want[e] = 0.5f * 1 * -32;
	for (int e = 240; e < 256; e++)
		want[e] = 0.5f * 127 * -32;
	want[1] = 0.5f * 2 * 5;
	want[81] = 0.5f * -3 * 31;
	want[161] = 0.5f * 1 * 28;
	want[250] = 0.5f * 127 * -13;
	hrt_ref_q6_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q6_k");
}

static void test_kat_q8_k(void)
{
	struct hrt_blk_q8_k b;
	float y[256], want[256];
	b.d = 0.5f;
	for (int e = 0; e < 256; e++) {
		b.qs[e] = (int8_t)(e - 128);
		want[e] = (float)(e - 128) * 0.5f;
	}
	hrt_ref_q8_k_to_float(&b, y, 256);
	check_floats(y, want, 256, "q8_k");
	/* quantize: d = max / -127 with the sign of the largest-magnitude
	 * element, which maps to -127 */
	float x[256] = { 0 };
	x[7] = 2.54f;
	x[9] = -1.27f;
	x[200] = 0.01f;
	hrt_ref_q8_k_from_float(x, &b, 256);
	CHECK(b.d == 1 / (-127.f / 2.54f));
	CHECK(b.qs[7] == -127 && b.qs[9] == 64 && b.qs[200] == -0);
	CHECK(b.bsums[0] == -63 && b.bsums[12] == 0);
}

static void test_kat_float(void)
{
	uint16_t h[4] = { 0x3c00, 0xc000, 0x7bff, 0x0001 };
	float y[4];
	hrt_ref_f16_to_float(h, y, 4);
	CHECK(y[0] == 1.f && y[1] == -2.f && y[2] == 65504.f &&
	      y[3] == 0x1p-24f);
	uint16_t b[3] = { 0x3f80, 0x4049, 0xbf00 };
	hrt_ref_bf16_to_float(b, y, 3);
	CHECK(y[0] == 1.f && y[1] == 3.140625f && y[2] == -0.5f);
	float x[3] = { 1.f, -0.f, 3.14159265f }, z[3];
	hrt_ref_f32_from_float(x, z, 3);
	hrt_ref_f32_to_float(z, y, 3);
	CHECK(memcmp(x, y, sizeof x) == 0);
	hrt_ref_f16_from_float(x, h, 3);
	CHECK(h[0] == 0x3c00 && h[1] == 0x8000 && h[2] == 0x4248);
	hrt_ref_bf16_from_float(x, b, 3);
	CHECK(b[0] == 0x3f80 && b[1] == 0x8000 && b[2] == 0x4049);
}

/* --------------------------------------------- golden hashes from ggml */

/*
 * For each type: the FNV-1a hash of (1) from_float of 1024 values of
 * golden_input (seed 1000 + type id), (2) to_float of 1024 elements of
 * random blocks (fill_blocks, seed 2000 + type id), and (3) the bits of
 * vec_dot of those random blocks with dot_type's from_float of fill_gauss
 * data (seed 3000 + type id). Computed by feeding the same inputs to
 * ggml's quantize_row_*_ref, dequantize_row_* and ggml_vec_dot_*_generic
 * (github.com/ggml-org/ggml at d99724f2, built with -std=c11, so without
 * FMA contraction); ggml has no dequantize_row_q8_1, so Q8_1's to_float
 * hash is ours. A mismatch means we no longer match the peer bit for bit.
 */
struct golden {
	int type;
	uint64_t quant, deq;
	uint32_t dot;
};

static const struct golden k_golden[] = {
	{ HRT_Q4_0, 0x1293bfa2516e0c51ull, 0x30970b3b2f28d410ull, 0x40433136 },
	{ HRT_Q4_1, 0xcca9d2a368cb61f7ull, 0xca5dcc89a99139bdull, 0xc3820c26 },
	{ HRT_Q5_0, 0xc8fe3618378ddb31ull, 0x5edee7d7eb39c50cull, 0xc273dbcd },
	{ HRT_Q5_1, 0xa4210be257fa322cull, 0x59b2aaab868f1afbull, 0x439622ce },
	{ HRT_Q8_0, 0xe536f9d00d8d49e3ull, 0x02fef99f919856d4ull, 0x43c19156 },
	{ HRT_Q8_1, 0xaede5e53277d6b1full, 0x3dc8ec32a04c632dull, 0x00000000 },
	{ HRT_Q2_K, 0x2e20ff750039ba54ull, 0x837cc9c2b66312e1ull, 0x42a2eb20 },
	{ HRT_Q3_K, 0x5f0d63d825366164ull, 0xfea14102a6dbc430ull, 0xc01d0ea0 },
	{ HRT_Q4_K, 0x319083b42a565be2ull, 0x9fc83b9d9316da6full, 0x44f298e7 },
	{ HRT_Q5_K, 0x6e9d452c93a2d645ull, 0x3b736deff377999bull, 0xc6257777 },
	{ HRT_Q6_K, 0x909882cefb2291fbull, 0x2d4d2369b525a7deull, 0xc264f69a },
	{ HRT_Q8_K, 0x62c1d7e1ca0006cdull, 0xcd58be8e9c752c90ull, 0x00000000 },
};

/* gaussian data with some structure: a zero run, a constant run, a run
 * with an offset (exercises the min of the affine formats), a tiny-scale run */
static void golden_input(float *x, int64_t n, uint64_t seed)
{
	fill_gauss(x, n, seed);
	for (int64_t i = 0; i < 48; i++)
		x[i] = 0;
	for (int64_t i = 256; i < 320; i++)
		x[i] = 0.75f;
	for (int64_t i = 512; i < 768; i++)
		x[i] = x[i] * 0.25f + 1.5f;
	for (int64_t i = 768; i < 832; i++)
		x[i] *= 1e-4f;
}

static void test_golden_ggml(void)
{
	enum { N = 1024 };
	float *x = xmalloc_f(N), *y = xmalloc_f(N);
	uint8_t *q = xmalloc(N * 4), *qy = xmalloc(N * 4);
	for (size_t k = 0; k < HRT_ARRAY_LEN(k_golden); k++) {
		const struct golden *g = &k_golden[k];
		const struct hrt_type_traits *t = hrt_type_get((uint32_t)g->type);
		size_t rb = row_bytes(g->type, N);
		golden_input(x, N, 1000 + (uint64_t)g->type);
		memset(q, 0xa5, rb);
		t->from_float(x, q, N);
		uint64_t hq = fnv1a(q, rb);
		fill_blocks(g->type, q, N, 2000 + (uint64_t)g->type);
		t->to_float(q, y, N);
		uint64_t hd = fnv1a(y, N * sizeof(float));
		uint32_t dot = 0;
		if (t->vec_dot) {
			const struct hrt_type_traits *dt = hrt_type_get(t->dot_type);
			fill_gauss(x, N, 3000 + (uint64_t)g->type);
			dt->from_float(x, qy, N);
			float s;
			t->vec_dot(N, &s, q, qy);
			dot = hrt_f32_bits(s);
		}
		CHECKF(hq == g->quant, "%s from_float hash %016llx, ggml %016llx",
		       t->name, (unsigned long long)hq,
		       (unsigned long long)g->quant);
		CHECKF(hd == g->deq, "%s to_float hash %016llx, ggml %016llx",
		       t->name, (unsigned long long)hd,
		       (unsigned long long)g->deq);
		CHECKF(dot == g->dot, "%s vec_dot bits %08x, ggml %08x", t->name,
		       dot, g->dot);
	}
	free(x);
	free(y);
	free(q);
	free(qy);
}

/* ------------------------------------------------ quantization error */

/* relative RMSE of from_float -> to_float on n gaussian values */
static double roundtrip_rmse(int type, int64_t n, uint64_t seed)
{
	const struct hrt_type_traits *t = hrt_type_get((uint32_t)type);
	float *x = xmalloc_f(n), *y = xmalloc_f(n);
	void *q = xmalloc(row_bytes(type, n));
	fill_gauss(x, n, seed);
	t->from_float(x, q, n);
	t->to_float(q, y, n);
	double se = 0, sx = 0;
	for (int64_t i = 0; i < n; i++) {
		se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
		sx += (double)x[i] * x[i];
	}
	free(x);
	free(y);
	free(q);
	return sqrt(se / sx);
}

/*
 * Bounds: the relative RMSE measured on 64k values of fill_gauss (seed 7)
 * plus about 10%, so a change that makes a quantizer measurably worse
 * fails. Our quantizers are bit-identical to ggml's reference ones (see
 * test_golden_ggml), so these are ggml's figures too. Measured:
 *   F16 0.000208  BF16 0.00168  Q8_0 0.00527  Q8_1 0.00527  Q8_K 0.00674
 *   Q6_K 0.0175   Q5_K 0.0358   Q5_1 0.0376   Q5_0 0.0421
 *   Q4_K 0.0707   Q4_1 0.0774   Q4_0 0.0849   Q3_K 0.150   Q2_K 0.295
 * Running the test with HRT_TEST_VERBOSE=1 prints the current values.
 */
static void check_rmse(int type, double bound)
{
	double r = roundtrip_rmse(type, 65536, 7);
	if (getenv("HRT_TEST_VERBOSE"))
		fprintf(stderr, "%s %.6f\n", hrt_type_name((uint32_t)type), r);
	CHECKF(r <= bound, "%s relative rmse %.5f > %.5f",
	       hrt_type_name((uint32_t)type), r, bound);
	CHECKF(r > 0 || type == HRT_F32, "%s rmse 0: nothing quantized?",
	       hrt_type_name((uint32_t)type));
}

#define RMSE_TEST(t, bound) \
	static void test_rmse_##t(void) { check_rmse(HRT_##t, bound); }

RMSE_TEST(F32, 0.0)
RMSE_TEST(F16, 0.00023)
RMSE_TEST(BF16, 0.00185)
RMSE_TEST(Q4_0, 0.094)
RMSE_TEST(Q4_1, 0.086)
RMSE_TEST(Q5_0, 0.047)
RMSE_TEST(Q5_1, 0.042)
RMSE_TEST(Q8_0, 0.0058)
RMSE_TEST(Q8_1, 0.0058)
RMSE_TEST(Q2_K, 0.33)
RMSE_TEST(Q3_K, 0.165)
RMSE_TEST(Q4_K, 0.078)
RMSE_TEST(Q5_K, 0.040)
RMSE_TEST(Q6_K, 0.0193)
RMSE_TEST(Q8_K, 0.0075)

/* ------------------------------------------------------- dot products */

/*
 * vec_dot(x, y) against sum(dequant(x)[i] * dequant(y)[i]) in double.
 * Tolerance: 1e-5 of sum |products| for the float rounding of the
 * per-block products and the float accumulation; for Q8_1 activations
 * the min term uses s = fp16(d * sum(qs)), whose rounding (relative
 * 2^-11) is added per block as |m| * |s| * 2^-10.
 */
static void check_dot(int type, int64_t n, int random_blocks, uint64_t seed)
{
	const struct hrt_type_traits *t = hrt_type_get((uint32_t)type);
	const struct hrt_type_traits *dt = hrt_type_get(t->dot_type);
	float *x = xmalloc_f(n), *fx = xmalloc_f(n), *fy = xmalloc_f(n);
	void *qx = xmalloc(row_bytes(type, n));
	void *qy = xmalloc(row_bytes((int)t->dot_type, n));
	if (random_blocks && t->quantized) {
		fill_blocks(type, qx, n, seed);
	} else {
		fill_gauss(x, n, seed);
		t->from_float(x, qx, n);
	}
	fill_gauss(x, n, seed + 1);
	dt->from_float(x, qy, n);
	t->to_float(qx, fx, n);
	dt->to_float(qy, fy, n);
	double want = 0, mag = 0;
	for (int64_t i = 0; i < n; i++) {
		want += (double)fx[i] * fy[i];
		mag += fabs((double)fx[i] * fy[i]);
	}
	double tol = 1e-5 * mag + 1e-30;
	if (t->dot_type == HRT_Q8_1) {
		const uint8_t *px = qx;
		const struct hrt_blk_q8_1 *py = qy;
		for (int64_t b = 0; b < n / 32; b++) {
			uint16_t m;
			memcpy(&m, px + (size_t)b * t->size + 2, 2);
			tol += fabs((double)hrt_fp16_to_f32(m) *
				    hrt_fp16_to_f32(py[b].s)) * 0x1p-10;
		}
	}
	float s = NAN;
	t->vec_dot(n, &s, qx, qy);
	CHECKF(fabs((double)s - want) <= tol,
	       "%s n=%lld%s: vec_dot %.9g, dequantized dot %.9g (tol %.3g)",
	       t->name, (long long)n, random_blocks ? " random blocks" : "",
	       (double)s, want, tol);
	free(x);
	free(fx);
	free(fy);
	free(qx);
	free(qy);
}

static void check_dots(int type)
{
	const struct hrt_type_traits *t = hrt_type_get((uint32_t)type);
	int64_t b = t->blck == 1 ? 1 : t->blck;
	const int64_t lens[] = { b, 2 * b, 7 * b, b == 256 ? 256 * 3 : 32 * 7,
				 b == 1 ? 1000 : 16 * b };
	for (size_t i = 0; i < HRT_ARRAY_LEN(lens); i++) {
		check_dot(type, lens[i], 0, 100 + i);
		if (t->quantized)
			check_dot(type, lens[i], 1, 200 + i);
	}
}

#define DOT_TEST(t) \
	static void test_dot_##t(void) { check_dots(HRT_##t); }

DOT_TEST(F32)
DOT_TEST(F16)
DOT_TEST(BF16)
DOT_TEST(Q4_0)
DOT_TEST(Q4_1)
DOT_TEST(Q5_0)
DOT_TEST(Q5_1)
DOT_TEST(Q8_0)
DOT_TEST(Q2_K)
DOT_TEST(Q3_K)
DOT_TEST(Q4_K)
DOT_TEST(Q5_K)
DOT_TEST(Q6_K)

/* -------------------------------------------------------- float rows */

/* rows of odd lengths: conversions element-exact, dots as in double */
static void test_float_rows(void)
{
	const int64_t lens[] = { 1, 7, 33, 1000 };
	for (size_t k = 0; k < HRT_ARRAY_LEN(lens); k++) {
		int64_t n = lens[k];
		float *x = xmalloc_f(n), *y = xmalloc_f(n), *z = xmalloc_f(n);
		uint16_t *h = xmalloc((size_t)n * 2), *h2 = xmalloc((size_t)n * 2);
		fill_gauss(x, n, 40 + k);
		fill_gauss(y, n, 50 + k);

		hrt_ref_f32_from_float(x, z, n);
		CHECK(memcmp(x, z, (size_t)n * 4) == 0);
		float s;
		double want = 0;
		for (int64_t i = 0; i < n; i++)
			want += (double)(x[i] * y[i]);
		hrt_ref_vec_dot_f32(n, &s, x, y);
		CHECKF(s == (float)want, "f32 dot n=%lld", (long long)n);

		hrt_ref_f16_from_float(x, h, n);
		hrt_ref_f16_from_float(y, h2, n);
		hrt_ref_f16_to_float(h, z, n);
		want = 0;
		for (int64_t i = 0; i < n; i++) {
			CHECK(h[i] == hrt_f32_to_fp16(x[i]));
			CHECK(z[i] == hrt_fp16_to_f32(h[i]));
			CHECK(fabsf(z[i] - x[i]) <= fabsf(x[i]) * 0x1p-11f + 0x1p-25f);
			want += (double)(z[i] * hrt_fp16_to_f32(h2[i]));
		}
		hrt_ref_vec_dot_f16(n, &s, h, h2);
		CHECKF(s == (float)want, "f16 dot n=%lld", (long long)n);

		hrt_ref_bf16_from_float(x, h, n);
		hrt_ref_bf16_from_float(y, h2, n);
		hrt_ref_bf16_to_float(h, z, n);
		want = 0;
		for (int64_t i = 0; i < n; i++) {
			CHECK(h[i] == hrt_f32_to_bf16(x[i]));
			CHECK(fabsf(z[i] - x[i]) <= fabsf(x[i]) * 0x1p-8f);
			want += (double)(z[i] * hrt_bf16_to_f32(h2[i]));
		}
		hrt_ref_vec_dot_bf16(n, &s, h, h2);
		CHECKF(s == (float)want, "bf16 dot n=%lld", (long long)n);
		free(x);
		free(y);
		free(z);
		free(h);
		free(h2);
	}
}

/* ----------------------------------------------- fp16 / bf16 edge cases */

static void test_fp16_known_bits(void)
{
	/* half -> float */
	CHECK(hrt_fp16_to_f32(0x0000) == 0 && !signbit(hrt_fp16_to_f32(0x0000)));
	CHECK(hrt_fp16_to_f32(0x8000) == 0 && signbit(hrt_fp16_to_f32(0x8000)));
	CHECK(hrt_fp16_to_f32(0x0001) == 0x1p-24f);  /* smallest subnormal */
	CHECK(hrt_fp16_to_f32(0x03ff) == 0x3ffp-24f); /* largest subnormal */
	CHECK(hrt_fp16_to_f32(0x0400) == 0x1p-14f);  /* smallest normal */
	CHECK(hrt_fp16_to_f32(0x7bff) == 65504.f);
	CHECK(hrt_fp16_to_f32(0x7c00) == INFINITY);
	CHECK(hrt_fp16_to_f32(0xfc00) == -INFINITY);
	CHECK(isnan(hrt_fp16_to_f32(0x7e00)) && isnan(hrt_fp16_to_f32(0xfc01)));
	/* float -> half, round to nearest even */
	CHECK(hrt_f32_to_fp16(1.0f) == 0x3c00);
	CHECK(hrt_f32_to_fp16(-0.0f) == 0x8000);
	CHECK(hrt_f32_to_fp16(1 + 0x1p-11f) == 0x3c00);     /* tie -> even */
	CHECK(hrt_f32_to_fp16(1 + 3 * 0x1p-11f) == 0x3c02); /* tie -> even */
	CHECK(hrt_f32_to_fp16(1 + 0x1p-11f + 0x1p-20f) == 0x3c01);
	CHECK(hrt_f32_to_fp16(65504.f) == 0x7bff);
	CHECK(hrt_f32_to_fp16(65519.99f) == 0x7bff);
	CHECK(hrt_f32_to_fp16(65520.f) == 0x7c00);          /* rounds to inf */
	CHECK(hrt_f32_to_fp16(-1e10f) == 0xfc00);
	CHECK(hrt_f32_to_fp16(INFINITY) == 0x7c00);
	uint16_t hn = hrt_f32_to_fp16(NAN);
	CHECK((hn & 0x7c00) == 0x7c00 && (hn & 0x03ff) != 0);
	CHECK(hrt_f32_to_fp16(0x1p-24f) == 0x0001);
	CHECK(hrt_f32_to_fp16(0x1p-25f) == 0x0000);         /* tie -> 0 */
	CHECK(hrt_f32_to_fp16(0x1.000002p-25f) == 0x0001);
	CHECK(hrt_f32_to_fp16(3 * 0x1p-25f) == 0x0002);     /* tie -> even */
	CHECK(hrt_f32_to_fp16(5 * 0x1p-25f) == 0x0002);     /* tie -> even */
	CHECK(hrt_f32_to_fp16(0x3ffp-24f) == 0x03ff);
	CHECK(hrt_f32_to_fp16(0x7ffp-25f) == 0x0400);  /* subnormal rounds up */
	CHECK(hrt_f32_to_fp16(1e-10f) == 0x0000);
	CHECK(hrt_f32_to_fp16(-1e-10f) == 0x8000);
	/* bf16 */
	CHECK(hrt_f32_to_bf16(1.0f) == 0x3f80);
	CHECK(hrt_f32_to_bf16(hrt_bits_f32(0x3f808000)) == 0x3f80); /* tie */
	CHECK(hrt_f32_to_bf16(hrt_bits_f32(0x3f818000)) == 0x3f82); /* tie */
	CHECK(hrt_f32_to_bf16(hrt_bits_f32(0x3f808001)) == 0x3f81);
	CHECK(hrt_f32_to_bf16(INFINITY) == 0x7f80);
	CHECK(hrt_f32_to_bf16(hrt_bits_f32(0x7f7fffff)) == 0x7f80); /* -> inf */
	uint16_t bn = hrt_f32_to_bf16(hrt_bits_f32(0x7f800001)); /* snan */
	CHECK((bn & 0x7f80) == 0x7f80 && (bn & 0x7f) != 0);
	CHECK(hrt_bf16_to_f32(0xc049) == -3.140625f);
}

#if defined(__FLT16_MAX__)
/* every half against the compiler's _Float16, and float -> half on every
 * exponent with random mantissas plus the exact ties */
static void test_fp16_vs_float16(void)
{
	for (uint32_t i = 0; i < 65536; i++) {
		_Float16 h;
		uint16_t u = (uint16_t)i;
		memcpy(&h, &u, 2);
		float want = (float)h, got = hrt_fp16_to_f32(u);
		if (isnan(want)) {
			CHECKF(isnan(got), "half %04x", i);
			continue;
		}
		CHECKF(hrt_f32_bits(got) == hrt_f32_bits(want),
		       "half %04x -> %g, _Float16 says %g", i, (double)got,
		       (double)want);
	}
	uint64_t seed = 99;
	for (uint32_t e = 0; e < 255; e++)
		for (int k = 0; k < 400; k++) {
			uint32_t m = (uint32_t)rng_u64(&seed) & 0x7fffff;
			if (k < 8) /* exact ties at half a half-ulp */
				m = (m & ~0x1fffu) | 0x1000u;
			else if (k < 16) /* just below / above a tie */
				m = (m & ~0x1fffu) | (k & 1 ? 0x0fffu : 0x1001u);
			uint32_t bits = (k & 2 ? 0x80000000u : 0) | e << 23 | m;
			float f = hrt_bits_f32(bits);
			_Float16 h = (_Float16)f;
			uint16_t want;
			memcpy(&want, &h, 2);
			uint16_t got = hrt_f32_to_fp16(f);
			CHECKF(got == want, "float %08x -> %04x, _Float16 %04x",
			       bits, got, want);
			if (got != want)
				return;
		}
	/* subnormal-range ties: (2k+1) * 2^-25 */
	for (int k = 0; k < 2048; k++) {
		float f = (float)(2 * k + 1) * 0x1p-25f;
		_Float16 h = (_Float16)f;
		uint16_t want;
		memcpy(&want, &h, 2);
		CHECKF(hrt_f32_to_fp16(f) == want, "tie %d", k);
	}
}
#else
static void test_fp16_vs_float16(void)
{
	t_skip("compiler has no _Float16");
}
#endif

/* ------------------------------------------------------------- Q8_K */

static void test_q8_k_bsums(void)
{
	enum { N = 256 * 4 };
	float x[N];
	struct hrt_blk_q8_k b[4];
	fill_gauss(x, N, 5);
	for (int i = 512; i < 768; i++)
		x[i] = 0; /* an all-zero block */
	hrt_ref_q8_k_from_float(x, b, N);
	for (int i = 0; i < 4; i++) {
		int amax = 0;
		for (int g = 0; g < 16; g++) {
			int sum = 0;
			for (int l = 0; l < 16; l++)
				sum += b[i].qs[16 * g + l];
			CHECKF(b[i].bsums[g] == sum, "block %d group %d", i, g);
		}
		for (int e = 0; e < 256; e++) {
			int a = abs(b[i].qs[e]);
			amax = a > amax ? a : amax;
			CHECK(b[i].qs[e] >= -127);
		}
		CHECK(i == 2 ? amax == 0 && b[i].d == 0 : amax == 127);
	}
}

/* --------------------------------------------------- hostile inputs */

/* NaN and inf in the input of every quantizer: garbage out is fine, but
 * no undefined behaviour (run under UBSan) and every code in range */
static void test_nonfinite_input(void)
{
	enum { N = 512 };
	float x[N], y[N];
	uint8_t q[N * 4];
	for (size_t k = 0; k < HRT_ARRAY_LEN(k_types); k++) {
		const struct hrt_type_traits *t = hrt_type_get((uint32_t)k_types[k]);
		for (int v = 0; v < 3; v++) {
			fill_gauss(x, N, 9);
			float bad = v == 0 ? NAN : v == 1 ? INFINITY : -INFINITY;
			for (int i = 3; i < N; i += 37)
				x[i] = bad;
			if (v == 0) /* and a block of nothing but NaN */
				for (int i = 256; i < 512; i++)
					x[i] = NAN;
			t->from_float(x, q, N);
			t->to_float(q, y, N);
		}
		/* huge finite values: scales overflow fp16 */
		for (int i = 0; i < N; i++)
			x[i] = (i & 1 ? -3e38f : 3e38f) / (float)(i + 1);
		t->from_float(x, q, N);
		t->to_float(q, y, N);
	}
	CHECK(1);
}

/* all-zero and constant rows quantize to exact values */
static void test_zero_and_constant(void)
{
	enum { N = 512 };
	float x[N], y[N];
	uint8_t q[N * 4];
	for (size_t k = 0; k < HRT_ARRAY_LEN(k_types); k++) {
		int type = k_types[k];
		const struct hrt_type_traits *t = hrt_type_get((uint32_t)type);
		memset(x, 0, sizeof x);
		t->from_float(x, q, N);
		t->to_float(q, y, N);
		for (int i = 0; i < N; i++)
			CHECKF(y[i] == 0, "%s zero row: y[%d] = %g", t->name, i,
			       (double)y[i]);
		/* a constant maps to an end code of every format: within
		 * the fp16 rounding of the 6-bit k-quant super-block scales */
		for (int i = 0; i < N; i++)
			x[i] = 0.75f;
		t->from_float(x, q, N);
		t->to_float(q, y, N);
		for (int i = 0; i < N; i++)
			CHECKF(fabsf(y[i] - x[i]) <= 0.75f * 0.01f,
			       "%s constant row: y[%d] = %g", t->name, i,
			       (double)y[i]);
	}
}

int main(void)
{
	RUN(test_kat_q4_0);
	RUN(test_kat_q4_1);
	RUN(test_kat_q5_0);
	RUN(test_kat_q5_1);
	RUN(test_kat_q8_0);
	RUN(test_kat_q8_1);
	RUN(test_kat_q2_k);
	RUN(test_kat_q3_k);
	RUN(test_kat_q4_k);
	RUN(test_kat_q5_k);
	RUN(test_kat_q6_k);
	RUN(test_kat_q8_k);
	RUN(test_kat_float);
	RUN(test_golden_ggml);
	RUN(test_rmse_F32);
	RUN(test_rmse_F16);
	RUN(test_rmse_BF16);
	RUN(test_rmse_Q4_0);
	RUN(test_rmse_Q4_1);
	RUN(test_rmse_Q5_0);
	RUN(test_rmse_Q5_1);
	RUN(test_rmse_Q8_0);
	RUN(test_rmse_Q8_1);
	RUN(test_rmse_Q2_K);
	RUN(test_rmse_Q3_K);
	RUN(test_rmse_Q4_K);
	RUN(test_rmse_Q5_K);
	RUN(test_rmse_Q6_K);
	RUN(test_rmse_Q8_K);
	RUN(test_dot_F32);
	RUN(test_dot_F16);
	RUN(test_dot_BF16);
	RUN(test_dot_Q4_0);
	RUN(test_dot_Q4_1);
	RUN(test_dot_Q5_0);
	RUN(test_dot_Q5_1);
	RUN(test_dot_Q8_0);
	RUN(test_dot_Q2_K);
	RUN(test_dot_Q3_K);
	RUN(test_dot_Q4_K);
	RUN(test_dot_Q5_K);
	RUN(test_dot_Q6_K);
	RUN(test_float_rows);
	RUN(test_fp16_known_bits);
	RUN(test_fp16_vs_float16);
	RUN(test_q8_k_bsums);
	RUN(test_nonfinite_input);
	RUN(test_zero_and_constant);
	return t_done();
}
