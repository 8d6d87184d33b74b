/*
 * kern/kern_avx2 — AVX2 + FMA + F16C kernels: activation quantizers and the
 * dot products of every computable weight type (decode; Q4_0 over an
 * activation layout of its own, dec_q4_0). Any x86-64 with AVX2 runs them;
 * the AVX-512 table supersedes this one where available.
 * Prompt processing: a gemm over panels of 8 tokens for the 32-element
 * formats and the k-quants.
 *
 * kern_vnni_avx2.c builds the same kernels with AVX-VNNI as the avx2vnni
 * table (HRT_AVX2_VNNI: vpdpbusd for the byte products; in the prompt
 * gemm +13-63 % GOPS by type, bench/README).
 *
 * Integer sums are exact: vpmaddubsw (unsigned x signed byte pairs into
 * saturating int16) is only given codes small enough never to saturate
 * (<= 63 against |a| <= 127; Q8_0 uses |w| against a with w's sign, and
 * activations never hold -128: our quantizers map amax to +-127). Float
 * scaling per block; results agree with kern/quant_ref.c to ~1e-6 relative.
 */
#include <math.h>

#include "kern/avx2_int.h"
#include "kern/prefetch.h"

#ifdef HRT_AVX2_VNNI /* kern_vnni_avx2.c: its own table (see above) */
#define FILL_AVX2 hrt_kern_fill_avx2vnni
#else
#define FILL_AVX2 hrt_kern_fill_avx2
#endif
#ifdef HRT_AVX2_VNNI
#define VNNI true
#else
#define VNNI false
#endif

/* Decode runs these dot products over weight rows one after another, the
 * rows of a thread's share contiguous: the bytes hrt_pf_ahead past the block
 * at p (sz bytes, a step) are prefetched, so the weights arrive as one
 * stream instead of a miss at every line (AVX2 decode of the 1B bench
 * models, 2 threads, medians of 5 alternating runs: Q4_0 45.3 -> 47.7
 * tok/s, Q8_0 33.3 -> 37.0, Q4_K_M 56.2 -> 58.9; the AVX-512 row kernels
 * prefetch the same distance). ahead_all prefetches every line; ahead one
 * per 2 KiB (hrt_pf_sparse, as the AVX-512 decode kernels), which leaves the stream
 * to the hardware prefetcher: medians of 6 alternating runs, every line
 * -> one per 2 KiB, Q8_0 36.2 -> 42.4 tok/s, Q4_K_M 59.5 -> 61.2, but Q4_0
 * 50.0 -> 44.5, whose arithmetic (not the memory) bounds it here: the
 * legacy formats keep ahead_all. */
ALWAYS_INLINE void ahead_all(const bool pl, const struct hrt_pf pf, const void *p, size_t sz)
{
	if (pl) { /* the every-line mode (kern/prefetch.h) */
		hrt_pf_lines(pf, p, (int)((sz + 63) / 64));
		return;
	}
	_Pragma("GCC unroll 4")
	for (size_t o = 0; o < sz; o += 64)
		hrt_pf_line((uintptr_t)p + hrt_pf_ahead + o);
}

ALWAYS_INLINE void ahead(const void *p, size_t sz)
{
	hrt_pf_sparse(p, sz);
}

/* NAME(n, s, x, y) calling NAME_pf with the prefetch mode as a constant */
#define PF_MODES(NAME)                                                                   \
	static void NAME(int64_t n, float *s, const void *x, const void *y)              \
	{                                                                                \
		HRT_PF_MODES(NAME##_pf, hrt_pf_get(), n, s, x, y);                       \
	}

/* pairs of unsigned u x signed a into int16, then into int32 lanes */
ALWAYS_INLINE __m256i dot_us(__m256i u, __m256i a)
{
#ifdef HRT_AVX2_VNNI
	return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, a);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, a), _mm256_set1_epi16(1));
#endif
}

/* acc + dot_us(u, a) */
ALWAYS_INLINE __m256i dot_us_acc(__m256i acc, __m256i u, __m256i a)
{
#ifdef HRT_AVX2_VNNI
	return _mm256_dpbusd_avx_epi32(acc, u, a);
#else
	return _mm256_add_epi32(acc, dot_us(u, a));
#endif
}

/* 32 int32 -> 32 int8 with saturation, in order */
ALWAYS_INLINE __m256i pack_i8(__m256i q0, __m256i q1, __m256i q2, __m256i q3)
{
	__m256i a = _mm256_packs_epi32(q0, q1), b = _mm256_packs_epi32(q2, q3);
	__m256i c = _mm256_packs_epi16(a, b);
	/* undo the per-lane interleave of the packs */
	return _mm256_permutevar8x32_epi32(c, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* ------------------------------------------------------------ quantizers */

/* roundf: half away from zero */
ALWAYS_INLINE __m256 round_away(__m256 v)
{
	__m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	__m256 f = abs_ps(_mm256_sub_ps(v, t));
	__m256 m = _mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	__m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
	return _mm256_add_ps(t, _mm256_and_ps(m, one));
}

/* one Q8_0 block; *df = d before fp16 rounding; returns the sum of codes */
ALWAYS_INLINE int q8_0_block(const float *x, uint16_t *dout, float *df, int8_t *qs)
{
	__m256 v[4];
	__m256 am = _mm256_setzero_ps();
	for (int i = 0; i < 4; i++) {
		v[i] = _mm256_loadu_ps(x + 8 * i);
		am = _mm256_max_ps(am, abs_ps(v[i]));
	}
	float amax = hmax_ps(am);
	float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
	*dout = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
	*df = d;
	__m256 vid = _mm256_set1_ps(id);
	__m256i q[4];
	for (int i = 0; i < 4; i++)
		q[i] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[i], vid)));
	__m256i p = pack_i8(q[0], q[1], q[2], q[3]);
	_mm256_storeu_si256((__m256i *)qs, p);
	/* sum of the saturated codes */
	__m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), p);
	return hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
}

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
		b->s = _cvtss_sh((float)sum * df, _MM_FROUND_TO_NEAREST_INT);
	}
}

static void quantize_q8_k(const float *x, void *y, int64_t n)
{
	struct hrt_blk_q8_k *b = y;
	for (int64_t i = 0; i < n / HRT_QK_K; i++, b++, x += HRT_QK_K) {
		__m256 am = _mm256_setzero_ps();
		for (int k = 0; k < 32; k++)
			am = _mm256_max_ps(am, abs_ps(_mm256_loadu_ps(x + 8 * k)));
		float amax = hmax_ps(am);
		if (!(amax > 0)) {
			memset(b, 0, sizeof *b);
			continue;
		}
		float max = 0;
		for (int k = 0; k < 32; k++) {
			int m = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + 8 * k)),
								 _mm256_set1_ps(amax), _CMP_EQ_OQ));
			if (m) {
				max = x[8 * k + __builtin_ctz((unsigned)m)];
				break;
			}
		}
		float is = -127.f / max;
		__m256 vis = _mm256_set1_ps(is);
		for (int k = 0; k < 8; k++) {
			__m256i q[4];
			for (int j = 0; j < 4; j++)
				q[j] = _mm256_cvtps_epi32(_mm256_round_ps(
					_mm256_mul_ps(vis, _mm256_loadu_ps(x + 32 * k + 8 * j)),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
			__m256i p = pack_i8(q[0], q[1], q[2], q[3]);
			_mm256_storeu_si256((__m256i *)(b->qs + 32 * k), p);
			__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p),
						      _mm256_set1_epi16(1));
			/* int32 lanes 0..3 hold group 2k, 4..7 group 2k + 1 */
			__m128i lo = _mm256_castsi256_si128(s), hi = _mm256_extracti128_si256(s, 1);
			__m128i h = _mm_hadd_epi32(lo, hi);
			h = _mm_hadd_epi32(h, h);
			b->bsums[2 * k] = (int16_t)_mm_cvtsi128_si32(h);
			b->bsums[2 * k + 1] = (int16_t)_mm_extract_epi32(h, 1);
		}
		b->d = is != 0 ? 1 / is : 0.0f;
	}
}

/* ----------------------------------------------------- float dot products */

static void vec_dot_f32(int64_t n, float *s, const void *x, const void *y)
{
	const float *a = x, *b = y;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
	}
	float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += a[i] * b[i];
	*s = sum;
}

static void vec_dot_f16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))),
				       _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i))), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8))),
				       _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + 8))), acc1);
	}
	float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += f16(a[i]) * f16(b[i]);
	*s = sum;
}

ALWAYS_INLINE __m256 bf16x8(const uint16_t *p)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(
		_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static void vec_dot_bf16(int64_t n, float *s, const void *x, const void *y)
{
	const uint16_t *a = x, *b = y;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		acc0 = _mm256_fmadd_ps(bf16x8(a + i), bf16x8(b + i), acc0);
		acc1 = _mm256_fmadd_ps(bf16x8(a + i + 8), bf16x8(b + i + 8), acc1);
	}
	float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++) {
		uint32_t ua = (uint32_t)a[i] << 16, ub = (uint32_t)b[i] << 16;
		float fa, fb;
		memcpy(&fa, &ua, 4);
		memcpy(&fb, &ub, 4);
		sum += fa * fb;
	}
	*s = sum;
}

/* -------------------------------------------- 32-element block formats */

ALWAYS_INLINE __m256i nibbles_32(const uint8_t *qs)
{
	__m128i q = _mm_loadu_si128((const __m128i *)qs);
	__m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
	return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

/* bit j of the 32-bit qh -> 16 added to byte j */
ALWAYS_INLINE __m256i q5_bits(__m256i u, const uint8_t *qh)
{
	const __m256i shuf = _mm256_setr_epi64x(0, 0x0101010101010101ll,
						0x0202020202020202ll, 0x0303030303030303ll);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	__m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(load_i32(qh)), shuf);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_add_epi8(u, _mm256_and_si256(v, _mm256_set1_epi8(16)));
}

/* sum(u a) - off * sum(a), int32 lanes; pairs stay within int16 */
ALWAYS_INLINE __m256i dot_off(__m256i u, __m256i a, int off)
{
#ifdef HRT_AVX2_VNNI
	__m256i d = dot_us(u, a);
	return off ? _mm256_sub_epi32(d, dot_us(_mm256_set1_epi8((char)off), a)) : d;
#else
	__m256i p = _mm256_maddubs_epi16(u, a);
	if (off)
		p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(_mm256_set1_epi8((char)off), a));
	return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

/* block k into acc */
#define LEGACY_STEP(codes, off, has_min, acc) \
	do { \
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_off(codes, ld(b[k].qs), off)), \
				      _mm256_set1_ps(f16(a[k].d) * f16(b[k].d)), acc); \
		if (has_min) \
			ms += MIN_TERM(a[k], b[k]); \
	} while (0)

/* blocks in pairs, even ones into acc0 and odd ones into acc1: two
 * chains for the fma latency and no branch per block; codes reads block
 * k */
#define LEGACY_DOT(name, wblk, ablk, codes, off, has_min) \
	ALWAYS_INLINE void name##_pf(const bool pl, const struct hrt_pf pf, int64_t n, float *s, \
				     const void *x, const void *y) \
	{ \
		const struct wblk *a = x; \
		const struct ablk *b = y; \
		__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(); \
		float ms = 0; \
		const int64_t nb = n / HRT_QK; \
		int64_t k = 0; \
		while (k + 2 <= nb) { \
			ahead_all(pl, pf, &a[k], 2 * sizeof(*a)); \
			LEGACY_STEP(codes, off, has_min, acc0); \
			k++; \
			LEGACY_STEP(codes, off, has_min, acc1); \
			k++; \
		} \
		if (k < nb) \
			LEGACY_STEP(codes, off, has_min, acc0); \
		*s = hsum_ps(_mm256_add_ps(acc0, acc1)) + ms; \
	} \
	PF_MODES(name)

#define MIN_TERM(wa, wb) 0
LEGACY_DOT(vec_dot_q4_0, hrt_blk_q4_0, hrt_blk_q8_0, nibbles_32(a[k].qs), 8, 0)
LEGACY_DOT(vec_dot_q5_0, hrt_blk_q5_0, hrt_blk_q8_0, q5_bits(nibbles_32(a[k].qs), a[k].qh), 16, 0)
#undef MIN_TERM
#define MIN_TERM(wa, wb) (f16((wa).m) * f16((wb).s))
LEGACY_DOT(vec_dot_q4_1, hrt_blk_q4_1, hrt_blk_q8_1, nibbles_32(a[k].qs), 0, 1)
LEGACY_DOT(vec_dot_q5_1, hrt_blk_q5_1, hrt_blk_q8_1, q5_bits(nibbles_32(a[k].qs), a[k].qh), 0, 1)
#undef MIN_TERM

/*
 * Q4_0 decode (one token) over an activation layout of its own, built once
 * per product (dec_quantize_q4_0): per block the 32 codes of the Q8_0 row
 * quantizer in element order, beside them the offset of the weight codes
 * already applied to the activations (without VNNI: 8 times each pair's
 * sum, as int16 words to take from vpmaddubsw's; with it: -8 times each
 * lane's sum, int32, where vpdpbusd starts) and, after all the blocks,
 * their scales as floats. vec_dot_q4_0 spends per block a vpmaddubsw and a
 * subtraction on the offset, a shift and an insert on the high nibbles
 * (here one variable shift of the weights loaded to both halves) and two
 * scalar conversions and a broadcast on the scales (here a multiply of two
 * broadcast loads). Same integer sums; float sums in another order.
 * Single-thread from L2, 512 x 2048 (best of 7, noisy minutes): AVX2
 * 12.9-17.6 -> 15.7-21.2 GB/s, AVX-VNNI 12.4-17.7 -> 16.5-21.7. 2-thread
 * decode of the 1B Q4_0 bench model, medians of 6 / 5 alternating runs:
 * AVX2 40.9 -> 44.9 tok/s, AVX-VNNI 42.1 -> 47.9; with the sparse prefetch
 * instead of ahead_all 37.5 (the step is still arithmetic-bound here).
 */
#define DA_BLK 64 /* codes and offsets per block; then nb floats */

/*
 * Whole periods of 32 blocks (1024 columns, 576 bytes: 18 chunks of 32)
 * go by 32-byte chunks of the row as it lies, as the AVX-512 decode does
 * (tile_avx512.c): no dword lane (nor word) of a chunk holds codes of two
 * blocks, so a chunk is two products of its low and high nibbles against
 * activations laid out to match, one conversion and one fma with its
 * lanes' block scales: the 32 weight scales of a period come by word
 * inserts and 4 conversions, times the activations' once, and a chunk's
 * lanes take theirs by one permute (two and a blend in chunks 4 and 13,
 * whose lanes 4-7 fall in the next group of 8 blocks). Per 64 bytes about 16 vector uops with AVX-VNNI
 * and 22 without, where the step per block spent 25 and 32 (a
 * conversion, a broadcast, a multiply and an fma per 18 bytes). The
 * blocks after the last whole period take the step per block.
 *
 * The activations: per period, per chunk DP_CHUNK bytes (lo and hi: int8
 * activations of the codes each byte holds, 0 against the scales; the
 * offset of the codes' 8: with VNNI -8 times each dword lane's sum,
 * int32, where vpdpbusd starts; without, 8 times each word's, int16, to
 * take from the vpmaddubsw sums), then the 32 activation scales (float);
 * after the periods the per-block layout (DA_BLK) of the rest.
 */
#define DP_CHUNK 96
#define DP_PBYTES (18 * DP_CHUNK + 128)

#include "kern/dec_period.h" /* uses q8_0_block, above */

static void dec_quantize_q4_0(const float *x, void *y, int64_t n)
{
	const int64_t np = n / 1024;
	uint8_t *Y = y;
	for (int64_t p = 0; p < np; p++, x += 1024) {
		int8_t lo[576], hi[576];
		float d[32];
		dec_period_split(x, 18, true, lo, hi, d);
		for (int c = 0; c < 18; c++, Y += DP_CHUNK) {
			const int8_t *l = lo + 32 * c, *u = hi + 32 * c;
			memcpy(Y, l, 32);
			memcpy(Y + 32, u, 32);
#ifdef HRT_AVX2_VNNI
			int32_t o[8];
			for (int k = 0; k < 8; k++)
				o[k] = -8 * (l[4 * k] + l[4 * k + 1] + l[4 * k + 2] + l[4 * k + 3] +
					     u[4 * k] + u[4 * k + 1] + u[4 * k + 2] + u[4 * k + 3]);
#else
			int16_t o[16];
			for (int k = 0; k < 16; k++)
				o[k] = (int16_t)(8 * (l[2 * k] + l[2 * k + 1] + u[2 * k] + u[2 * k + 1]));
#endif
			memcpy(Y + 64, o, 32);
		}
		memcpy(Y, d, sizeof d);
		Y += sizeof d;
	}
	const int64_t nb = n / HRT_QK - 32 * np;
	float *d = (float *)(Y + nb * DA_BLK);
	for (int64_t b = 0; b < nb; b++, x += HRT_QK, Y += DA_BLK) {
		int8_t qs[32];
		uint16_t h;
		float df;
		q8_0_block(x, &h, &df, qs);
		memcpy(Y, qs, 32);
#ifdef HRT_AVX2_VNNI
		int32_t o[8];
		for (int l = 0; l < 8; l++)
			o[l] = -8 * (qs[4 * l] + qs[4 * l + 1] + qs[4 * l + 2] + qs[4 * l + 3]);
#else
		int16_t o[16];
		for (int w = 0; w < 16; w++)
			o[w] = (int16_t)(8 * (qs[2 * w] + qs[2 * w + 1]));
#endif
		memcpy(Y + 32, o, 32);
		d[b] = f16(h);
	}
}

/* the block of dword lane L of chunk c (of a period's 18): (32c + 4L) / 18 */
static const int32_t dp_owner[18][8] __attribute__((aligned(32))) = {
	{ 0, 0, 0, 0, 0, 1, 1, 1 }, { 1, 2, 2, 2, 2, 2, 3, 3 }, { 3, 3, 4, 4, 4, 4, 4, 5 },
	{ 5, 5, 5, 6, 6, 6, 6, 6 }, { 7, 7, 7, 7, 8, 8, 8, 8 }, { 8, 9, 9, 9, 9, 10, 10, 10 },
	{ 10, 10, 11, 11, 11, 11, 12, 12 }, { 12, 12, 12, 13, 13, 13, 13, 14 },
	{ 14, 14, 14, 14, 15, 15, 15, 15 }, { 16, 16, 16, 16, 16, 17, 17, 17 },
	{ 17, 18, 18, 18, 18, 18, 19, 19 }, { 19, 19, 20, 20, 20, 20, 20, 21 },
	{ 21, 21, 21, 22, 22, 22, 22, 22 }, { 23, 23, 23, 23, 24, 24, 24, 24 },
	{ 24, 25, 25, 25, 25, 26, 26, 26 }, { 26, 26, 27, 27, 27, 27, 28, 28 },
	{ 28, 28, 28, 29, 29, 29, 29, 30 }, { 30, 30, 30, 30, 31, 31, 31, 31 },
};

/* one period of a row (576 bytes at p) against its activations a */
ALWAYS_INLINE void dp_period(const uint8_t *p, const uint8_t *a, __m256 *f0, __m256 *f1)
{
	/* the weight scales: words 0, 9, .., 279 of the period, by word
	 * inserts (a vpgatherdd per 8 made the kernel no faster than the step
	 * per block: gathers are slow where microcode guards them) */
	__m256 dd[4];
	const float *da = (const float *)(a + 18 * DP_CHUNK);
	_Pragma("GCC unroll 4")
	for (int g = 0; g < 4; g++) {
		const uint8_t *pg = p + 144 * g;
		__m128i h = _mm_cvtsi32_si128((int)load_u16(pg));
		h = _mm_insert_epi16(h, (int)load_u16(pg + 18), 1);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 36), 2);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 54), 3);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 72), 4);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 90), 5);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 108), 6);
		h = _mm_insert_epi16(h, (int)load_u16(pg + 126), 7);
		dd[g] = _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_loadu_ps(da + 8 * g));
	}
	const __m256i m4 = _mm256_set1_epi8(15);
	_Pragma("GCC unroll 18")
	for (int c = 0; c < 18; c++) {
		const uint8_t *ac = a + c * DP_CHUNK;
		const __m256i z = _mm256_loadu_si256((const __m256i *)(p + 32 * c));
		const __m256i l = _mm256_and_si256(z, m4), u = _mm256_and_si256(_mm256_srli_epi16(z, 4), m4);
#ifdef HRT_AVX2_VNNI
		__m256i s = _mm256_dpbusd_avx_epi32(ld(ac + 64), l, ld(ac));
		s = _mm256_dpbusd_avx_epi32(s, u, ld(ac + 32));
#else
		const __m256i w16 = _mm256_sub_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(l, ld(ac)),
								      _mm256_maddubs_epi16(u, ld(ac + 32))),
						     ld(ac + 64));
		const __m256i s = _mm256_madd_epi16(w16, _mm256_set1_epi16(1));
#endif
		/* the lanes' blocks are in group g, or (chunks 4 and 13) g and g + 1 */
		const int g = dp_owner[c][0] / 8;
		const __m256i ix = ld(dp_owner[c]);
		__m256 sc = _mm256_permutevar8x32_ps(dd[g], ix);
		if (dp_owner[c][7] / 8 != g)
			sc = _mm256_blend_ps(sc, _mm256_permutevar8x32_ps(dd[g + 1], ix), 0xf0);
		if (c & 1)
			*f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), sc, *f1);
		else
			*f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), sc, *f0);
	}
}

/* block at p against its codes and offsets at a, activation scale at ad */
ALWAYS_INLINE __m256 da_blk(const uint8_t *p, const uint8_t *a, const float *ad, __m256 acc)
{
	/* the 16 code bytes in both halves, the high nibbles in the upper */
	const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p + 2)));
	const __m256i u = _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)),
					   _mm256_set1_epi8(15));
#ifdef HRT_AVX2_VNNI
	const __m256i s = _mm256_dpbusd_avx_epi32(ld(a + 32), u, ld(a));
#else
	const __m256i s = _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(u, ld(a)), ld(a + 32)),
					    _mm256_set1_epi16(1));
#endif
	uint16_t dw;
	memcpy(&dw, p, 2);
	const __m256 sc = _mm256_mul_ps(_mm256_set1_ps(f16(dw)), _mm256_broadcast_ss(ad));
	return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), sc, acc);
}

ALWAYS_INLINE void dp_rows(const bool pl, int64_t n, int nr, const void *w, size_t ws,
			   const void *act, float *y)
{
	const struct hrt_pf pf = hrt_pf_get();
	const int64_t np = n / 1024, nb = n / HRT_QK - 32 * np;
	const uint8_t *ap = act, *a = ap + np * DP_PBYTES;
	const float *d = (const float *)(a + nb * DA_BLK);
	for (int r = 0; r < nr; r++) {
		const uint8_t *p = (const uint8_t *)w + (size_t)r * ws;
		__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
		for (int64_t q = 0; q < np; q++) {
			const uint8_t *pq = p + 576 * (size_t)q;
			if (pl)
				hrt_pf_lines(pf, pq, 576 / 64);
			else
				hrt_pf_sparse(pq, 576);
			dp_period(pq, ap + DP_PBYTES * (size_t)q, &acc0, &acc1);
		}
		p += 576 * (size_t)np;
		int64_t k = 0;
		for (; k + 2 <= nb; k += 2) {
			const uint8_t *q = p + 18 * (size_t)k;
			ahead_all(pl, pf, q, 36);
			acc0 = da_blk(q, a + DA_BLK * (size_t)k, d + k, acc0);
			acc1 = da_blk(q + 18, a + DA_BLK * (size_t)(k + 1), d + k + 1, acc1);
		}
		if (k < nb)
			acc0 = da_blk(p + 18 * (size_t)k, a + DA_BLK * (size_t)k, d + k, acc0);
		y[r] = hsum_ps(_mm256_add_ps(acc0, acc1));
	}
}

/* the hrt_gemm_fn of dec[HRT_Q4_0]: nt is 1 */
static void dec_q4_0(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	HRT_PF_MODES(dp_rows, n, nr, w, ws, act, y);
}

ALWAYS_INLINE __m256 q8_0_step(const struct hrt_blk_q8_0 *a, const struct hrt_blk_q8_0 *b,
			       __m256 acc)
{
	__m256i w = ld(a->qs), av = ld(b->qs);
	__m256i d = dot_us(_mm256_sign_epi8(w, w), _mm256_sign_epi8(av, w));
	return _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(f16(a->d) * f16(b->d)), acc);
}

static void vec_dot_q8_0(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q8_0 *a = x, *b = y;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	const int64_t nb = n / HRT_QK;
	int64_t i = 0;
	for (; i + 2 <= nb; i += 2) {
		ahead(&a[i], 2 * sizeof(*a));
		acc0 = q8_0_step(&a[i], &b[i], acc0);
		acc1 = q8_0_step(&a[i + 1], &b[i + 1], acc1);
	}
	if (i < nb)
		acc0 = q8_0_step(&a[i], &b[i], acc0);
	*s = hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* --------------------------------------------------------------- k-quants */

/* The fixed loops over a super-block's parts are unrolled by pragma: at
 * -O2 GCC kept them as loops and built the shuffle controls of the
 * scales at run time in each pass; unrolled, the controls are constants
 * and AVX2 decode of the 1B Q4_K_M bench model went from 34-42 to 51-59
 * tok/s (2 threads, alternating runs; the AVX2-built peer 44-50). */

/* Q4_K / Q5_K scales: 16 int16 lanes, 0..7 the scales, 8..15 the mins */
ALWAYS_INLINE __m256i k4_scales16(const uint8_t *s)
{
	uint32_t s0 = (uint32_t)load_i32(s), s1 = (uint32_t)load_i32(s + 4),
		 s2 = (uint32_t)load_i32(s + 8);
	uint32_t sc_lo = s0 & 0x3f3f3f3f, m_lo = s1 & 0x3f3f3f3f;
	uint32_t sc_hi = (s2 & 0x0f0f0f0f) | ((s0 >> 6) & 0x03030303) << 4;
	uint32_t m_hi = ((s2 >> 4) & 0x0f0f0f0f) | ((s1 >> 6) & 0x03030303) << 4;
	return _mm256_cvtepu8_epi16(_mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)m_lo, (int)m_hi));
}

/* int16 lane j of v (j < 8, from the low 128 bits) in every lane */
ALWAYS_INLINE __m256i bcast16(__m256i lowdup, int j)
{
	return _mm256_shuffle_epi8(lowdup, _mm256_set1_epi16((short)(2 * j | (2 * j + 1) << 8)));
}

/* int16 lanes: [v_j x 8, v_j+1 x 8] for j even (groups of 16), one
 * in-lane shuffle (lowdup holds the same 128 bits in both lanes) */
ALWAYS_INLINE __m256i pair16(__m256i lowdup, int j)
{
	return _mm256_shuffle_epi8(lowdup,
				   _mm256_set_m128i(_mm_set1_epi16((short)((2 * j + 2) | (2 * j + 3) << 8)),
						    _mm_set1_epi16((short)(2 * j | (2 * j + 1) << 8))));
}

/* the 256 codes of a Q4_K (qh NULL) or Q5_K super-block in element
 * order, 32 per vector */
ALWAYS_INLINE void q45k_codes(const uint8_t *qs, const uint8_t *qh, __m256i u[8])
{
	const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
	__m256i h = qh ? ld(qh) : _mm256_setzero_si256();
	_Pragma("GCC unroll 8")
	for (int c = 0; c < 4; c++) {
		__m256i q = ld(qs + 32 * c);
		u[2 * c] = _mm256_and_si256(q, m4);
		u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
		if (qh) {
			u[2 * c] = _mm256_add_epi8(u[2 * c], _mm256_slli_epi16(
				_mm256_and_si256(_mm256_srli_epi16(h, 2 * c), one), 4));
			u[2 * c + 1] = _mm256_add_epi8(u[2 * c + 1], _mm256_slli_epi16(
				_mm256_and_si256(_mm256_srli_epi16(h, 2 * c + 1), one), 4));
		}
	}
}

ALWAYS_INLINE void q45k_dot(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
			    const uint16_t *dd, const struct hrt_blk_q8_k *b, __m256 *acc,
			    __m256 *accm)
{
	__m256i sm = k4_scales16(scales);
	__m256i sc = _mm256_permute2x128_si256(sm, sm, 0x00); /* scales both halves */
	__m256i mn = _mm256_permute2x128_si256(sm, sm, 0x11); /* mins both halves */
	__m256i u[8];
	q45k_codes(qs, qh, u);
	__m256i tot = _mm256_setzero_si256();
	_Pragma("GCC unroll 8")
	for (int c = 0; c < 4; c++) {
		__m256i plo = _mm256_maddubs_epi16(u[2 * c], ld(b->qs + 64 * c));
		__m256i phi = _mm256_maddubs_epi16(u[2 * c + 1], ld(b->qs + 64 * c + 32));
		tot = _mm256_add_epi32(tot, _mm256_madd_epi16(plo, bcast16(sc, 2 * c)));
		tot = _mm256_add_epi32(tot, _mm256_madd_epi16(phi, bcast16(sc, 2 * c + 1)));
	}
	*acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_set1_ps(f16(dd[0]) * b->d), *acc);
	/* mins: bsums g against m[g / 2] */
	__m256i m16 = _mm256_shuffle_epi8(mn, _mm256_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5,
								 6, 7, 6, 7, 8, 9, 8, 9, 10, 11,
								 10, 11, 12, 13, 12, 13, 14, 15,
								 14, 15));
	__m256i pm = _mm256_madd_epi16(ld(b->bsums), m16);
	*accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_set1_ps(f16(dd[1]) * b->d), *accm);
}

#ifdef HRT_AVX2_VNNI
/*
 * Q4_K with AVX-VNNI: a vpdpbusd per 32 codes (one group of 32; every
 * lane's |sum| <= 4 * 15 * 128 fits an int16), the two groups of a 32-byte
 * load packed into one word vector (vpackssdw) and their scales applied by
 * one vpdpwssd, as the AVX-512 decode does (tile_avx512.c, dk_sb): per
 * 32 bytes of codes 8 vector ops where q45k_dot spends 11 (two vpmaddubsw,
 * two scale broadcasts, two vpmaddwd and two adds after the nibbles). The
 * same integer sums. Q5_K too (its codes from q45k_codes with qh;
 * |sum| <= 4 * 31 * 128): one thread, rows hot in L2
 * or L3, 13.7-14.0 -> 15.2-15.7 GB/s; 2-thread decode of a 1B Q5_K_M with
 * HEARTH_ISA=avx2vnni on the 2-core Xeon, tg64 in 3 alternating rounds,
 * medians 32.0 -> 33.6 tok/s.
 */
ALWAYS_INLINE void q45k_dot_vnni(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
				 const uint16_t *dd, const struct hrt_blk_q8_k *b, __m256 *acc,
				 __m256 *accm)
{
	const __m256i sm = k4_scales16(scales);
	const __m256i sc = _mm256_permute2x128_si256(sm, sm, 0x00); /* scales both halves */
	const __m256i mn = _mm256_permute2x128_si256(sm, sm, 0x11); /* mins both halves */
	const __m256i z = _mm256_setzero_si256();
	__m256i u[8];
	q45k_codes(qs, qh, u);
	__m256i tot = z;
	_Pragma("GCC unroll 4")
	for (int c = 0; c < 4; c++) {
		const __m256i lo = _mm256_dpbusd_avx_epi32(z, u[2 * c], ld(b->qs + 64 * c));
		const __m256i hi = _mm256_dpbusd_avx_epi32(z, u[2 * c + 1], ld(b->qs + 64 * c + 32));
		/* words per 128-bit half: 4 of group 2c, then 4 of 2c + 1 */
		const __m256i w = _mm256_shuffle_epi8(
			sc, _mm256_setr_epi8(4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c,
					     4 * c + 1, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3,
					     4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c,
					     4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c,
					     4 * c + 1, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3,
					     4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3));
		tot = _mm256_dpwssd_avx_epi32(tot, _mm256_packs_epi32(lo, hi), w);
	}
	*acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_set1_ps(f16(dd[0]) * b->d), *acc);
	/* mins: bsums g against m[g / 2] */
	__m256i m16 = _mm256_shuffle_epi8(mn, _mm256_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5,
								 6, 7, 6, 7, 8, 9, 8, 9, 10, 11,
								 10, 11, 12, 13, 12, 13, 14, 15,
								 14, 15));
	__m256i pm = _mm256_madd_epi16(ld(b->bsums), m16);
	*accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_set1_ps(f16(dd[1]) * b->d), *accm);
}
#endif

static void vec_dot_q4_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q4_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		ahead(&a[i], sizeof(*a));
		const uint16_t dd[2] = { a[i].d, a[i].dmin };
#ifdef HRT_AVX2_VNNI
		q45k_dot_vnni(a[i].qs, NULL, a[i].scales, dd, &b[i], &acc, &accm);
#else
		q45k_dot(a[i].qs, NULL, a[i].scales, dd, &b[i], &acc, &accm);
#endif
	}
	*s = hsum_ps(_mm256_sub_ps(acc, accm));
}

static void vec_dot_q5_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q5_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		ahead(&a[i], sizeof(*a));
		const uint16_t dd[2] = { a[i].d, a[i].dmin };
#ifdef HRT_AVX2_VNNI
		q45k_dot_vnni(a[i].qs, a[i].qh, a[i].scales, dd, &b[i], &acc, &accm);
#else
		q45k_dot(a[i].qs, a[i].qh, a[i].scales, dd, &b[i], &acc, &accm);
#endif
	}
	*s = hsum_ps(_mm256_sub_ps(acc, accm));
}

/* the 16-group formats: codes u[8] of 32 (group 2k, 2k + 1 in vector k),
 * scales sc16 (int16, 16 lanes) */
ALWAYS_INLINE __m256i dot16(const __m256i u[8], const int8_t *a, __m256i sc16)
{
	__m256i lo = _mm256_permute2x128_si256(sc16, sc16, 0x00);
	__m256i hi = _mm256_permute2x128_si256(sc16, sc16, 0x11);
	__m256i tot = _mm256_setzero_si256();
	_Pragma("GCC unroll 8")
	for (int k = 0; k < 8; k++) {
		__m256i p = _mm256_maddubs_epi16(u[k], ld(a + 32 * k));
		__m256i sc = k < 4 ? pair16(lo, 2 * k) : pair16(hi, 2 * k - 8);
		tot = _mm256_add_epi32(tot, _mm256_madd_epi16(p, sc));
	}
	return tot;
}

/* Q6_K codes 0..63 (value + 32) in element order, 32 per vector */
ALWAYS_INLINE void q6k_codes(const struct hrt_blk_q6_k *b, __m256i u[8])
{
	const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
	_Pragma("GCC unroll 8")
	for (int h = 0; h < 2; h++) {
		__m256i l0 = ld(b->ql + 64 * h), l1 = ld(b->ql + 64 * h + 32);
		__m256i qh = ld(b->qh + 32 * h);
		u[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, m4),
					   _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
		u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
					       _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
		u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
					       _mm256_and_si256(qh, m30));
		u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
					       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
	}
}

/* low 2 bits of Q2_K / Q3_K */
ALWAYS_INLINE void q2bit_codes(const uint8_t *qs, __m256i u[8])
{
	const __m256i m3 = _mm256_set1_epi8(3);
	_Pragma("GCC unroll 8")
	for (int h = 0; h < 2; h++) {
		__m256i q = ld(qs + 32 * h);
		_Pragma("GCC unroll 8")
		for (int k = 0; k < 4; k++)
			u[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
	}
}

static void vec_dot_q6_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q6_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		ahead(&a[i], sizeof(*a));
		__m256i u[8];
		q6k_codes(&a[i], u);
		__m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales));
		__m256i tot = dot16(u, b[i].qs, sc16);
		tot = _mm256_sub_epi32(tot, _mm256_slli_epi32(_mm256_madd_epi16(ld(b[i].bsums), sc16), 5));
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_set1_ps(f16(a[i].d) * b[i].d), acc);
	}
	*s = hsum_ps(acc);
}

static void vec_dot_q3_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q3_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		ahead(&a[i], sizeof(*a));
		__m256i u[8];
		q2bit_codes(a[i].qs, u);
		__m256i hm = ld(a[i].hmask);
		_Pragma("GCC unroll 8")
		for (int k = 0; k < 8; k++) /* hmask bit k: + 4 */
			u[k] = _mm256_add_epi8(u[k], _mm256_slli_epi16(_mm256_and_si256(
				_mm256_srli_epi16(hm, k), _mm256_set1_epi8(1)), 2));
		const uint8_t *sp = a[i].scales;
		__m128i v = _mm_loadl_epi64((const __m128i *)sp);
		__m128i m4 = _mm_set1_epi8(15);
		__m128i lo = _mm_unpacklo_epi64(_mm_and_si128(v, m4),
						_mm_and_si128(_mm_srli_epi16(v, 4), m4));
		__m128i hi = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(load_i32(sp + 8)),
							  _mm_setr_epi32(0, 2, 4, 6)),
					   _mm_set1_epi8(3));
		__m128i sc8 = _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hi, 4)), _mm_set1_epi8(32));
		__m256i sc16 = _mm256_cvtepi8_epi16(sc8);
		__m256i tot = dot16(u, b[i].qs, sc16);
		tot = _mm256_sub_epi32(tot, _mm256_slli_epi32(_mm256_madd_epi16(ld(b[i].bsums), sc16), 2));
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_set1_ps(f16(a[i].d) * b[i].d), acc);
	}
	*s = hsum_ps(acc);
}

static void vec_dot_q2_k(int64_t n, float *s, const void *x, const void *y)
{
	const struct hrt_blk_q2_k *a = x;
	const struct hrt_blk_q8_k *b = y;
	__m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
	for (int64_t i = 0; i < n / HRT_QK_K; i++) {
		ahead(&a[i], sizeof(*a));
		__m256i u[8];
		q2bit_codes(a[i].qs, u);
		__m256i sb = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales));
		__m256i sc16 = _mm256_and_si256(sb, _mm256_set1_epi16(15));
		__m256i m16 = _mm256_srli_epi16(sb, 4);
		__m256i tot = dot16(u, b[i].qs, sc16);
		acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot), _mm256_set1_ps(f16(a[i].d) * b[i].d), acc);
		__m256i pm = _mm256_madd_epi16(ld(b[i].bsums), m16);
		accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pm), _mm256_set1_ps(f16(a[i].dmin) * b[i].d), accm);
	}
	*s = hsum_ps(_mm256_sub_ps(acc, accm));
}

/* ---------------------------------------------------------------- panels */

/*
 * Prompt processing: the gemm over panels of PN tokens. One panel block
 * (one 32-element block of the activation, Q8_0, for PN = 8 tokens):
 *   [8 steps x 32 bytes: token t's 4 codes of step j at 32 j + 4 t]
 *   [8 f32 d][8 int32 sums of the codes]                           320
 * Weights are unpacked once per chunk of WR rows x KC columns (codes in
 * memory, so the microkernel broadcasts 4 of them straight from memory)
 * and every panel runs over them MR rows at a time. Without VNNI a
 * product of 4 codes by 8 tokens is vpmaddubsw (unsigned codes x signed
 * activations into int16 pairs) and, every few steps, vpmaddwd into int32:
 * Q4_0 codes (0..15) take all 8 steps of a block in int16 (8 x 2 x 15 x
 * 127 < 32768), Q5_0 codes (0..31) 4; Q8_0 multiplies |w| by the
 * activations carrying w's sign, one vpmaddwd per step. The code offsets
 * (8, 16) come off as offset x the panel's sums. K-quants likewise per
 * group (32 or 16 elements), each group's int16 sums weighed by its scale
 * with one vpmaddwd; mins and code offsets from the panel's bsum pairs.
 * Same integers as vec_dot.
 */
#define PN 8
#define PB_Q8_0 320
#define PB_D 256
#define PB_S 288

/* q81: Q8_1 (for Q4_1, Q5_1), s = d x the code sum (rounded through fp16
 * as the row quantizer does) as a float in place of the integer sums */
ALWAYS_INLINE void panel_leg(const float *x, size_t xs, int nt, int64_t n, void *dst,
			     bool q81)
{
	uint8_t *p = dst;
	int64_t nb = n / HRT_QK;
	for (int64_t b = 0; b < nb; b++) {
		uint8_t *pb = p + b * PB_Q8_0;
		for (int t = 0; t < PN; t++) {
			int8_t qs[32];
			float fd = 0, fs = 0;
			int32_t sum = 0;
			if (t < nt) {
				uint16_t d;
				float df;
				sum = q8_0_block(x + (size_t)t * xs + 32 * b, &d, &df, qs);
				fd = f16(d);
				if (q81)
					fs = f16(_cvtss_sh((float)sum * df, _MM_FROUND_TO_NEAREST_INT));
			} else {
				memset(qs, 0, sizeof qs);
			}
			for (int j = 0; j < 8; j++)
				memcpy(pb + 32 * j + 4 * t, qs + 4 * j, 4);
			memcpy(pb + PB_D + 4 * t, &fd, 4);
			if (q81)
				memcpy(pb + PB_S + 4 * t, &fs, 4);
			else
				memcpy(pb + PB_S + 4 * t, &sum, 4);
		}
	}
}

static void panel_q8_0(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	panel_leg(x, xs, nt, n, dst, false);
}

static void panel_q8_1(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	panel_leg(x, xs, nt, n, dst, true);
}

/*
 * K-quant panel (one 256-element super-block of Q8_K for PN tokens):
 *   [64 steps x 32 bytes][8 f32 d][8 x 32: bsums 2i, 2i + 1 of each
 *   token as a pair of int16]                                     2336
 */
#define PB_Q8_K 2336
#define PK_D 2048
#define PK_B 2080

static void panel_q8_k(const float *x, size_t xs, int nt, int64_t n, void *dst)
{
	uint8_t *p = dst;
	for (int64_t s = 0; s < n / HRT_QK_K; s++) {
		uint8_t *pb = p + s * PB_Q8_K;
		for (int t = 0; t < PN; t++) {
			struct hrt_blk_q8_k q;
			if (t < nt)
				quantize_q8_k(x + (size_t)t * xs + HRT_QK_K * s, &q, HRT_QK_K);
			else
				memset(&q, 0, sizeof q);
			for (int j = 0; j < 64; j++)
				memcpy(pb + 32 * j + 4 * t, q.qs + 4 * j, 4);
			memcpy(pb + PK_D + 4 * t, &q.d, 4);
			for (int i = 0; i < 8; i++)
				memcpy(pb + PK_B + 32 * i + 4 * t, q.bsums + 2 * i, 4);
		}
	}
}

#ifndef WR
#define WR 16   /* rows unpacked at once */
#endif
#ifndef KC
#define KC 4096 /* columns per chunk */
#endif
#define MR 4    /* rows per microkernel call */
_Static_assert(WR % MR == 0 && KC % 256 == 0, "blocking");

/* Unpacked rows. u: unsigned codes in element order (Q8_0: |w|, and sg
 * w for its sign); ds: d per block (legacy) or super-block; k-quants also
 * dm (dmin), sc (group scales, as int16 pairs sc | sc << 16) and mp (the
 * pairs weighing bsums 2i, 2i + 1: mins, or the scales of the offset
 * formats) */
struct wpack {
	uint8_t u[WR][KC];
	int8_t sg[WR][KC];
	float ds[WR][KC / 32];
	float lm[WR][KC / 32]; /* Q4_1, Q5_1: m */
	float dm[WR][KC / 256];
	int32_t sc[WR][KC / 256][16];
	int32_t mp[WR][KC / 256][8];
};

enum fmt { F_Q4_0, F_Q5_0, F_Q8_0, F_Q4_1, F_Q5_1, F_Q2_K, F_Q3_K, F_Q4_K, F_Q5_K, F_Q6_K };

ALWAYS_INLINE bool is_k(enum fmt t)
{
	return t >= F_Q2_K;
}

/* k-quants: elements per group, steps (of 4 elements) summed in int16
 * before vpmaddwd (codes <= 15: 8, <= 31: 4, <= 63: 2), minimum or
 * log2 of the code offset */
ALWAYS_INLINE int k_group(enum fmt t)
{
	return t == F_Q4_K || t == F_Q5_K ? 32 : 16;
}

ALWAYS_INLINE int k_spm(enum fmt t)
{
	return t == F_Q4_K ? 8 : t == F_Q6_K ? 2 : 4;
}

ALWAYS_INLINE bool k_min(enum fmt t)
{
	return t == F_Q4_K || t == F_Q5_K || t == F_Q2_K;
}

ALWAYS_INLINE int k_offsh(enum fmt t)
{
	return t == F_Q6_K ? 5 : t == F_Q3_K ? 2 : 0;
}

ALWAYS_INLINE int32_t pair(int16_t lo, int16_t hi)
{
	return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

ALWAYS_INLINE void unpack_k(enum fmt t, const void *row, int64_t s0, int ns,
			    struct wpack *wp, int r)
{
	for (int s = 0; s < ns; s++) {
		__m256i u[8];
		int16_t sc[16] = { 0 }, mn[16] = { 0 };
		uint16_t d, dmin = 0;
		if (t == F_Q4_K || t == F_Q5_K) {
			const struct hrt_blk_q4_k *a4 = (const struct hrt_blk_q4_k *)row + s0 + s;
			const struct hrt_blk_q5_k *a5 = (const struct hrt_blk_q5_k *)row + s0 + s;
			if (t == F_Q4_K)
				q45k_codes(a4->qs, NULL, u);
			else
				q45k_codes(a5->qs, a5->qh, u);
			int16_t v[16];
			_mm256_storeu_si256((__m256i *)v, k4_scales16(t == F_Q4_K ? a4->scales : a5->scales));
			for (int g = 0; g < 8; g++) {
				sc[g] = v[g];
				mn[2 * g] = mn[2 * g + 1] = v[8 + g];
			}
			d = t == F_Q4_K ? a4->d : a5->d;
			dmin = t == F_Q4_K ? a4->dmin : a5->dmin;
		} else if (t == F_Q6_K) {
			const struct hrt_blk_q6_k *a = (const struct hrt_blk_q6_k *)row + s0 + s;
			q6k_codes(a, u);
			for (int g = 0; g < 16; g++)
				sc[g] = mn[g] = a->scales[g];
			d = a->d;
		} else if (t == F_Q3_K) {
			const struct hrt_blk_q3_k *a = (const struct hrt_blk_q3_k *)row + s0 + s;
			q2bit_codes(a->qs, u);
			__m256i hm = ld(a->hmask);
			for (int k = 0; k < 8; k++) /* hmask bit k: + 4 */
				u[k] = _mm256_add_epi8(u[k], _mm256_slli_epi16(_mm256_and_si256(
					_mm256_srli_epi16(hm, k), _mm256_set1_epi8(1)), 2));
			for (int g = 0; g < 16; g++) {
				int lo = (a->scales[g % 8] >> (4 * (g / 8))) & 15;
				int hi = (a->scales[8 + g % 4] >> (2 * (g / 4))) & 3;
				sc[g] = mn[g] = (int16_t)((lo | hi << 4) - 32);
			}
			d = a->d;
		} else {
			const struct hrt_blk_q2_k *a = (const struct hrt_blk_q2_k *)row + s0 + s;
			q2bit_codes(a->qs, u);
			for (int g = 0; g < 16; g++) {
				sc[g] = a->scales[g] & 15;
				mn[g] = a->scales[g] >> 4;
			}
			d = a->d;
			dmin = a->dmin;
		}
		for (int k = 0; k < 8; k++)
			_mm256_storeu_si256((__m256i *)(wp->u[r] + 256 * s + 32 * k), u[k]);
		/* the pair for vpmaddwd, or the scale itself for vpmulld (VNNI) */
		for (int g = 0; g < 16; g++)
			wp->sc[r][s][g] = VNNI ? sc[g] : pair(sc[g], sc[g]);
		for (int i = 0; i < 8; i++)
			wp->mp[r][s][i] = pair(mn[2 * i], mn[2 * i + 1]);
		wp->ds[r][s] = f16(d);
		wp->dm[r][s] = f16(dmin);
	}
}

ALWAYS_INLINE void unpack_leg(enum fmt t, const void *row, int64_t b0, int nb,
			      struct wpack *wp, int r)
{
	for (int b = 0; b < nb; b++) {
		__m256i u;
		uint16_t d;
		if (t == F_Q4_0) {
			const struct hrt_blk_q4_0 *a = (const struct hrt_blk_q4_0 *)row + b0 + b;
			u = nibbles_32(a->qs);
			d = a->d;
		} else if (t == F_Q5_0) {
			const struct hrt_blk_q5_0 *a = (const struct hrt_blk_q5_0 *)row + b0 + b;
			u = q5_bits(nibbles_32(a->qs), a->qh);
			d = a->d;
		} else if (t == F_Q4_1) {
			const struct hrt_blk_q4_1 *a = (const struct hrt_blk_q4_1 *)row + b0 + b;
			u = nibbles_32(a->qs);
			d = a->d;
			wp->lm[r][b] = f16(a->m);
		} else if (t == F_Q5_1) {
			const struct hrt_blk_q5_1 *a = (const struct hrt_blk_q5_1 *)row + b0 + b;
			u = q5_bits(nibbles_32(a->qs), a->qh);
			d = a->d;
			wp->lm[r][b] = f16(a->m);
		} else {
			const struct hrt_blk_q8_0 *a = (const struct hrt_blk_q8_0 *)row + b0 + b;
			__m256i w = ld(a->qs);
			_mm256_storeu_si256((__m256i *)(wp->sg[r] + 32 * b), w);
			u = _mm256_abs_epi8(w);
			d = a->d;
		}
		_mm256_storeu_si256((__m256i *)(wp->u[r] + 32 * b), u);
		wp->ds[r][b] = f16(d);
	}
}

ALWAYS_INLINE __m256i bcast4(const void *p)
{
	return _mm256_set1_epi32(load_i32(p));
}

/* legacy: MR rows from r0 x the PN tokens of one panel, over nb blocks */
ALWAYS_INLINE void micro_leg(enum fmt t, const struct wpack *wp, int r0, int nb,
			     const uint8_t *pan, __m256 f[MR])
{
	const __m256i ones = _mm256_set1_epi16(1);
	_Pragma("GCC unroll 8")
	for (int r = 0; r < MR; r++)
		f[r] = _mm256_setzero_ps();
	for (int b = 0; b < nb; b++, pan += PB_Q8_0) {
		__m256i acc[MR], s16[MR];
		_Pragma("GCC unroll 8")
		for (int r = 0; r < MR; r++)
			acc[r] = s16[r] = _mm256_setzero_si256();
		_Pragma("GCC unroll 8")
		for (int j = 0; j < 8; j++) {
			__m256i A = _mm256_load_si256((const __m256i *)(pan + 32 * j));
			_Pragma("GCC unroll 8")
			for (int r = 0; r < MR; r++) {
				const size_t o = 32 * (size_t)b + 4 * (size_t)j;
				if (t == F_Q8_0) {
					acc[r] = dot_us_acc(acc[r], bcast4(wp->u[r0 + r] + o),
						_mm256_sign_epi8(A, bcast4(wp->sg[r0 + r] + o)));
				} else if (VNNI) {
					acc[r] = dot_us_acc(acc[r], bcast4(wp->u[r0 + r] + o), A);
				} else {
					__m256i p = _mm256_maddubs_epi16(bcast4(wp->u[r0 + r] + o), A);
					s16[r] = j == 0 ? p : _mm256_add_epi16(s16[r], p);
					if ((t == F_Q5_0 || t == F_Q5_1) && j == 3) {
						acc[r] = _mm256_madd_epi16(s16[r], ones);
						s16[r] = _mm256_setzero_si256();
					}
				}
			}
		}
		__m256 D = _mm256_load_ps((const float *)(pan + PB_D));
		const bool off = t == F_Q4_0 || t == F_Q5_0, min = t == F_Q4_1 || t == F_Q5_1;
		__m256i so = _mm256_setzero_si256();
		if (off)
			so = _mm256_slli_epi32(_mm256_load_si256((const __m256i *)(pan + PB_S)),
					       t == F_Q4_0 ? 3 : 4);
		_Pragma("GCC unroll 8")
		for (int r = 0; r < MR; r++) {
			if (t != F_Q8_0 && !VNNI)
				acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(s16[r], ones));
			if (t != F_Q8_0)
				acc[r] = _mm256_sub_epi32(acc[r], so);
			f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r]),
					       _mm256_mul_ps(D, _mm256_set1_ps(wp->ds[r0 + r][b])),
					       f[r]);
			if (min) /* m * s: the panel's s = d * sum of the codes */
				f[r] = _mm256_fmadd_ps(_mm256_load_ps((const float *)(pan + PB_S)),
						       _mm256_set1_ps(wp->lm[r0 + r][b]), f[r]);
		}
	}
}

/* k-quants: the same over ns super-blocks; the minimum (or offset) term
 * first, from the bsum pairs, then the groups */
ALWAYS_INLINE void micro_k(enum fmt t, const struct wpack *wp, int r0, int ns,
			   const uint8_t *pan, __m256 f[MR])
{
	const int G = k_group(t), SG = G / 4, SPM = k_spm(t);
	_Pragma("GCC unroll 8")
	for (int r = 0; r < MR; r++)
		f[r] = _mm256_setzero_ps();
	for (int s = 0; s < ns; s++, pan += PB_Q8_K) {
		__m256 D = _mm256_load_ps((const float *)(pan + PK_D));
		/* s16: int16 step sums, or with VNNI the int32 sums of a group */
		__m256i tot[MR], s16[MR];
		{
			__m256i x[MR];
			_Pragma("GCC unroll 8")
			for (int r = 0; r < MR; r++)
				x[r] = _mm256_setzero_si256();
			_Pragma("GCC unroll 8")
			for (int i = 0; i < 8; i++) {
				__m256i B = _mm256_load_si256((const __m256i *)(pan + PK_B + 32 * i));
				_Pragma("GCC unroll 8")
				for (int r = 0; r < MR; r++)
					x[r] = _mm256_add_epi32(x[r], _mm256_madd_epi16(B,
						bcast4(&wp->mp[r0 + r][s][i])));
			}
			_Pragma("GCC unroll 8")
			for (int r = 0; r < MR; r++) {
				if (k_min(t)) {
					f[r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(x[r]),
						_mm256_mul_ps(D, _mm256_set1_ps(wp->dm[r0 + r][s])), f[r]);
					tot[r] = _mm256_setzero_si256();
				} else {
					tot[r] = _mm256_sub_epi32(_mm256_setzero_si256(),
								  _mm256_slli_epi32(x[r], k_offsh(t)));
				}
				s16[r] = _mm256_setzero_si256();
			}
		}
		for (int g = 0; g < 256 / G; g++) {
			_Pragma("GCC unroll 8")
			for (int jj = 0; jj < SG; jj++) {
				const int j = g * SG + jj;
				__m256i A = _mm256_load_si256((const __m256i *)(pan + 32 * j));
				_Pragma("GCC unroll 8")
				for (int r = 0; r < MR; r++) {
					const uint8_t *wu = wp->u[r0 + r] + 256 * (size_t)s + 4 * (size_t)j;
					if (VNNI) {
						/* int32 sums over the whole group, then its scale */
						s16[r] = dot_us_acc(jj == 0 ? _mm256_setzero_si256() : s16[r],
								    bcast4(wu), A);
						if (jj + 1 == SG)
							tot[r] = _mm256_add_epi32(tot[r], _mm256_mullo_epi32(s16[r],
								bcast4(&wp->sc[r0 + r][s][g])));
						continue;
					}
					__m256i p = _mm256_maddubs_epi16(bcast4(wu), A);
					s16[r] = jj % SPM == 0 ? p : _mm256_add_epi16(s16[r], p);
					if ((jj + 1) % SPM == 0)
						tot[r] = _mm256_add_epi32(tot[r], _mm256_madd_epi16(s16[r],
							bcast4(&wp->sc[r0 + r][s][g])));
				}
			}
		}
		_Pragma("GCC unroll 8")
		for (int r = 0; r < MR; r++)
			f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tot[r]),
					       _mm256_mul_ps(D, _mm256_set1_ps(wp->ds[r0 + r][s])), f[r]);
	}
}

ALWAYS_INLINE void gemm_any(enum fmt t, int64_t n, int nr, int nt, const uint8_t *w,
			    size_t ws, const uint8_t *act, size_t as, float *y, size_t ldy)
{
	/* ~200 KB: thread-local rather than on small thread stacks */
	static _Thread_local struct wpack tls_wp __attribute__((aligned(64)));
	struct wpack *const wp = &tls_wp;
	const int blk = is_k(t) ? HRT_QK_K : HRT_QK;
	const size_t pb = is_k(t) ? PB_Q8_K : PB_Q8_0;
	for (int rg = 0; rg < nr; rg += WR) {
		int rn = nr - rg < WR ? nr - rg : WR;
		int rpad = (rn + MR - 1) / MR * MR;
		for (int64_t k0 = 0; k0 < n; k0 += KC) {
			int nb = (int)((n - k0 < KC ? n - k0 : KC) / blk);
			int64_t b0 = k0 / blk;
			for (int r = 0; r < rn; r++) {
				if (is_k(t))
					unpack_k(t, w + (size_t)(rg + r) * ws, b0, nb, wp, r);
				else
					unpack_leg(t, w + (size_t)(rg + r) * ws, b0, nb, wp, r);
			}
			for (int r = rn; r < rpad; r++) { /* rows past the matrix: 0 */
				memset(wp->u[r], 0, (size_t)nb * (size_t)blk);
				memset(wp->sg[r], 0, (size_t)nb * (size_t)blk);
				memset(wp->ds[r], 0, sizeof wp->ds[r]);
				memset(wp->lm[r], 0, sizeof wp->lm[r]);
				memset(wp->dm[r], 0, sizeof wp->dm[r]);
				memset(wp->sc[r], 0, sizeof wp->sc[r]);
				memset(wp->mp[r], 0, sizeof wp->mp[r]);
			}
			for (int t0 = 0; t0 < nt; t0 += PN) {
				const uint8_t *pan = act + (size_t)(t0 / PN) * as + (size_t)b0 * pb;
				int tn = nt - t0 < PN ? nt - t0 : PN;
				for (int r0 = 0; r0 < rn; r0 += MR) {
					__m256 f[MR];
					if (is_k(t))
						micro_k(t, wp, r0, nb, pan, f);
					else
						micro_leg(t, wp, r0, nb, pan, f);
					float tmp[MR][PN];
					for (int r = 0; r < MR; r++)
						_mm256_storeu_ps(tmp[r], f[r]);
					int rr = rn - r0 < MR ? rn - r0 : MR;
					for (int tt = 0; tt < tn; tt++)
						for (int r = 0; r < rr; r++) {
							float *o = y + (size_t)(t0 + tt) * ldy +
								   (size_t)(rg + r0 + r);
							*o = k0 > 0 ? *o + tmp[r][tt] : tmp[r][tt];
						}
				}
			}
		}
	}
}

#define GEMM(name, t) \
	static void gemm_##name(int64_t n, int nr, int nt, const void *w, size_t ws, \
				const void *act, size_t as, float *y, size_t ldy) \
	{ \
		gemm_any(t, n, nr, nt, w, ws, act, as, y, ldy); \
	}

GEMM(q4_0, F_Q4_0)
GEMM(q5_0, F_Q5_0)
GEMM(q8_0, F_Q8_0)
GEMM(q4_1, F_Q4_1)
GEMM(q5_1, F_Q5_1)
GEMM(q2_k, F_Q2_K)
GEMM(q3_k, F_Q3_K)
GEMM(q4_k, F_Q4_K)
GEMM(q5_k, F_Q5_K)
GEMM(q6_k, F_Q6_K)

/* ------------------------------------------------------------ SwiGLU */

static void swiglu(float *h, const float *g, int64_t n)
{
	const __m256 one = _mm256_set1_ps(1.0f);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 x = _mm256_loadu_ps(h + i);
		__m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
		_mm256_storeu_ps(h + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)),
						 _mm256_loadu_ps(g + i)));
	}
	for (; i < n; i++)
		h[i] = h[i] / (1.0f + expf(-h[i])) * g[i];
}

/* ------------------------------------------------------------------ table */

void FILL_AVX2(struct hrt_kern_isa *t)
{
	t->swiglu = swiglu;
	hrt_kern_fill_avx2_att(t);
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

	t->dec[HRT_Q4_0] = dec_q4_0;
	t->dec_quantize[HRT_Q4_0] = dec_quantize_q4_0;
	t->dec_cols[HRT_Q4_0] = HRT_QK;
	t->dec_act_bytes[HRT_Q4_0] = DA_BLK + 4;
	t->gemm[HRT_Q4_0] = gemm_q4_0;
	t->gemm[HRT_Q5_0] = gemm_q5_0;
	t->gemm[HRT_Q8_0] = gemm_q8_0;
	t->gemm[HRT_Q2_K] = gemm_q2_k;
	t->gemm[HRT_Q3_K] = gemm_q3_k;
	t->gemm[HRT_Q4_K] = gemm_q4_k;
	t->gemm[HRT_Q5_K] = gemm_q5_k;
	t->gemm[HRT_Q6_K] = gemm_q6_k;
	t->panel_n = PN;
	t->panel[HRT_Q8_0] = panel_q8_0;
	t->panel_blk_bytes[HRT_Q8_0] = PB_Q8_0;
	t->gemm[HRT_Q4_1] = gemm_q4_1;
	t->gemm[HRT_Q5_1] = gemm_q5_1;
	t->panel[HRT_Q8_1] = panel_q8_1;
	t->panel_blk_bytes[HRT_Q8_1] = PB_Q8_0;
	t->panel[HRT_Q8_K] = panel_q8_k;
	t->panel_blk_bytes[HRT_Q8_K] = PB_Q8_K;
	hrt_kern_fill_avx2_float(t);
}
