/*
 * kern/tile_avx512 — AVX-512 VNNI tile kernels for decode and small
 * batches: TR weight rows x up to TT tokens per inner call. A tile's weights
 * are loaded and unpacked in registers once and multiplied with every
 * token's activations; nothing is unpacked to memory (the panel gemm of
 * kern_avx512.c unpacks every weight once per call, a second pass over the
 * model that dominates below ~16 tokens). Q4_0 and Q8_0 from 3 tokens on
 * take the row-lane kernels further down (16 rows in the lanes of a
 * vector, transposed in registers); one token against Q4_0 rows of whole
 * kilo-columns, the chunk kernel dec_q4_0 (Q8_0 likewise, dec_q8_0), and
 * against Q4_K and Q5_K rows, dec_q4_k and dec_q5_k, and Q6_K rows,
 * dec_q6_k (activation layouts of their own). Not a model of anything: the tile,
 * tile_quantize, dec and dec_quantize entries of struct hrt_kern_isa.
 *
 * Legacy formats (Q4_0, Q5_0, Q8_0, Q4_1, Q5_1) step over two blocks (64
 * weights, one zmm, element order). The weights enter vpdpbusd as unsigned
 * codes (value + offset: 8, 16, 128; none for the formats with a minimum);
 * the offset is taken back by starting each sum at -offset * (sum of the
 * activations of its lane), precomputed per token in the tile layout of the
 * activations, so it costs one shift per token and step. Per row, token and
 * step: vpdpbusd, a conversion, a multiply by the activation scales and an
 * fma with the weight scales (per row and step: two broadcasts from
 * hrt_f16_tab, which are loads, and a blend).
 *
 * K-quants (Q2_K..Q6_K) read plain Q8_K rows. Per super-block and row the
 * codes (unsigned) and the group scales as int16 words are unpacked once;
 * per token, four vpmaddubsw (pairs of products, int16: codes <= 63 and
 * |a| <= 128 cannot saturate) and four vpdpwssd apply the group scales,
 * then the offset (Q3_K, Q6_K: vpdpwssd of the group sums) or the mins
 * (vpmaddwd of the group sums) and the float scaling.
 *
 * Integer sums are exact; float scaling is per block (legacy) or
 * super-block, in another order than kern/quant_ref.c: ~1e-6 relative.
 */

#include "kern/avx512_int.h"
#include "kern/dec_period.h"
#include "kern/prefetch.h"

#define TR 4 /* rows per tile */
#define TT 4 /* tokens per tile, at most */

/* the weight scales of the legacy formats come from hrt_f16_tab by
 * broadcast loads, which keeps their conversion off the vector ALUs */
static const float f16_zero = 0;

/* ---------------------------------------- tile layout of Q8_0 / Q8_1 rows */

/*
 * Per step of two 32-element blocks (2s, 2s + 1), TS bytes:
 *   [0, 64)    the 64 codes, element order (zeros past the row)
 *   [64, 128)  Q8_0: int32 lanes, minus the sum of each lane's 4 codes;
 *              Q8_1: float lanes, the block's s (lanes 0-7: block 2s)
 *   [128, 192) float lanes, the block's d (lanes 0-7: block 2s)
 *   [192, 200) int32, minus the sum of the codes of block 2s, of 2s + 1
 *              (the row-lane kernels); [200, 256) zero
 * The codes, d and s are the bytes and values of the Q8_0 / Q8_1 row
 * quantizers.
 */
#define TS 256
#define TS_BLK (TS / 2) /* tile_blk_bytes: per block, blocks padded to even */

ALWAYS_INLINE __m512 lanes2(float a, float b)
{
	return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

ALWAYS_INLINE void tile_q8(const float *x, uint8_t *y, int64_t n, bool q81)
{
	int64_t nb = n / HRT_QK;
	for (int64_t b = 0; b < nb; b += 2, y += TS) {
		int8_t qs[64] __attribute__((aligned(64))) = { 0 };
		float d[2] = { 0, 0 }, s[2] = { 0, 0 };
		int32_t ns[16] = { 0 };
		for (int k = 0; k < 2 && b + k < nb; k++) {
			uint16_t h;
			float df;
			int sum = q8_0_block(x + HRT_QK * (b + k), &h, &df, qs + 32 * k);
			ns[k] = -sum;
			d[k] = f16(h);
			/* as the Q8_1 quantizer: s from the d before fp16 rounding */
			s[k] = f16(_cvtss_sh((float)sum * df, _MM_FROUND_TO_NEAREST_INT));
		}
		__m512i a = _mm512_load_si512(qs);
		_mm512_storeu_si512(y, a);
		if (q81)
			_mm512_storeu_ps(y + 64, lanes2(s[0], s[1]));
		else
			_mm512_storeu_si512(y + 64, _mm512_sub_epi32(_mm512_setzero_si512(),
				_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), a)));
		_mm512_storeu_ps(y + 128, lanes2(d[0], d[1]));
		_mm512_storeu_si512(y + 192, _mm512_loadu_si512(ns));
	}
}

static void tile_quantize_q8_0(const float *x, void *y, int64_t n)
{
	tile_q8(x, y, n, false);
}

static void tile_quantize_q8_1(const float *x, void *y, int64_t n)
{
	tile_q8(x, y, n, true);
}

/* a tile's accumulators: cleared, and summed into out[token][row] */
ALWAYS_INLINE void tile_zero(const int T, __m512 f[TR][TT])
{
	_Pragma("GCC unroll 8")
	for (int r = 0; r < TR; r++)
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++)
			f[r][j] = _mm512_setzero_ps();
}

ALWAYS_INLINE void tile_out(const int T, __m512 f[TR][TT], float out[TT][TR])
{
	_Pragma("GCC unroll 8")
	for (int r = 0; r < TR; r++)
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++)
			out[j][r] = _mm512_reduce_add_ps(f[r][j]);
}

/* ------------------------------------------------------- legacy formats */

enum lg { LG_Q4_0, LG_Q5_0, LG_Q8_0, LG_Q4_1, LG_Q5_1 };

ALWAYS_INLINE size_t lg_bs(enum lg t) /* bytes per block */
{
	return t == LG_Q4_0 ? 18 : t == LG_Q5_0 ? 22 : t == LG_Q8_0 ? 34 : t == LG_Q4_1 ? 20 : 24;
}

/* log2 of the code offset; 0: none (the formats with a minimum) */
ALWAYS_INLINE int lg_sh(enum lg t)
{
	return t == LG_Q4_0 ? 3 : t == LG_Q5_0 ? 4 : t == LG_Q8_0 ? 7 : 0;
}

ALWAYS_INLINE bool lg_min(enum lg t)
{
	return t == LG_Q4_1 || t == LG_Q5_1;
}

/* the 64 unsigned codes of blocks b and b + 1 (one: b only, the rest 0)
 * of a row, element order; p: block b */
ALWAYS_INLINE __m512i lg_codes(enum lg t, const uint8_t *p, bool one)
{
	const size_t bs = lg_bs(t);
	if (t == LG_Q8_0) {
		__m256i c0 = _mm256_loadu_si256((const __m256i *)(p + 2));
		__m256i c1 = one ? _mm256_setzero_si256()
				 : _mm256_loadu_si256((const __m256i *)(p + bs + 2));
		/* past the row: 128 against activations 0 */
		return _mm512_xor_si512(cat256(c0, c1), _mm512_set1_epi8(-128));
	}
	const size_t qo = t == LG_Q4_0 ? 2 : t == LG_Q5_0 ? 6 : t == LG_Q4_1 ? 4 : 8;
	__m128i q0 = _mm_loadu_si128((const __m128i *)(p + qo));
	__m256i q = one ? _mm256_zextsi128_si256(q0)
			: _mm256_inserti128_si256(_mm256_castsi128_si256(q0),
						  _mm_loadu_si128((const __m128i *)(p + bs + qo)), 1);
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256i lo = _mm256_and_si256(q, m4);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
	/* [b0 0..15 | b1 0..15], [b0 16..31 | b1 16..31] -> element order */
	__m512i u = _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo),
					      _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11),
					      _mm512_castsi256_si512(hi));
	if (t == LG_Q5_0 || t == LG_Q5_1) {
		const size_t ho = t == LG_Q5_0 ? 2 : 4;
		uint64_t m = (uint32_t)load_i32(p + ho);
		if (!one)
			m |= (uint64_t)(uint32_t)load_i32(p + bs + ho) << 32;
		u = _mm512_mask_add_epi8(u, (__mmask64)m, u, _mm512_set1_epi8(16));
	}
	return u;
}

/* fp16 fields at p + off of blocks b and b + 1 as lanes 0-7 / 8-15
 * (one: 0 for b + 1); keep: lanes kept (others 0) */
ALWAYS_INLINE __m512 lg_f16x2(const uint8_t *p, size_t bs, size_t off, bool one,
			      __mmask16 keep)
{
	uint32_t h = load_u16(p + off);
	if (!one)
		h |= load_u16(p + bs + off) << 16;
	__m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)h));
	return _mm512_maskz_permutexvar_ps(keep, _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
								   1, 1, 1, 1, 1, 1),
					   _mm512_castps128_ps512(f));
}

/* one step (blocks b, b + 1) of R rows x T tokens; pf: prefetch distance
 * (0: none) */
ALWAYS_INLINE void lg_step(const enum lg t, const int R, const int T, const uint8_t *const *w,
			   const uint8_t *const *a, int64_t b, bool one, __m512 f[][TT],
			   size_t pf)
{
	const size_t bs = lg_bs(t);
	const int sh = lg_sh(t);
	const size_t ao = (size_t)(b / 2) * TS;
	__m512i A[TT], N[TT];
	__m512 X[TT], D[TT];
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++) {
		A[j] = ldz(a[j] + ao);
		if (sh)
			N[j] = _mm512_slli_epi32(ldz(a[j] + ao + 64), (unsigned)sh);
		else
			X[j] = _mm512_loadu_ps(a[j] + ao + 64);
		D[j] = _mm512_loadu_ps(a[j] + ao + 128);
	}
	_Pragma("GCC unroll 8")
	for (int r = 0; r < R; r++) {
		const uint8_t *p = w[r] + (size_t)b * bs;
		if (pf) {
			_mm_prefetch((const char *)p + pf, _MM_HINT_T0);
			if (2 * bs > 64)
				_mm_prefetch((const char *)p + pf + 64, _MM_HINT_T0);
		}
		__m512i u = lg_codes(t, p, one);
		const float *d0 = &hrt_f16_tab[load_u16(p)];
		const float *d1 = one ? &f16_zero : &hrt_f16_tab[load_u16(p + bs)];
		/* two broadcasts from memory (load ports) and a blend */
		const __m512 dw = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(*d0),
						       _mm512_set1_ps(*d1));
		__m512 mw = _mm512_setzero_ps();
		if (lg_min(t)) /* one lane per block: m * s once */
			mw = lg_f16x2(p, bs, 2, one, 0x0101);
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++) {
			__m512i acc = _mm512_dpbusd_epi32(sh ? N[j] : _mm512_setzero_si512(), u, A[j]);
			/* lanes 8-15 of a lone last block are 0 (D is 0 there) */
			__m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), D[j]);
			f[r][j] = _mm512_fmadd_ps(x, dw, f[r][j]);
			if (lg_min(t))
				f[r][j] = _mm512_fmadd_ps(mw, X[j], f[r][j]);
		}
	}
}

ALWAYS_INLINE void lg_tile(const enum lg t, const int T, int64_t nb, const uint8_t *const *w,
			   const uint8_t *const *a, float out[TT][TR], size_t pf)
{
	__m512 f[TR][TT];
	tile_zero(T, f);
	int64_t b = 0;
	for (; b + 2 <= nb; b += 2)
		lg_step(t, TR, T, w, a, b, false, f, pf);
	if (b < nb)
		lg_step(t, TR, T, w, a, b, true, f, pf);
	tile_out(T, f, out);
}

/* ------------------------------------------------------------- k-quants */

enum kq { KQ_Q4_K, KQ_Q5_K, KQ_Q6_K, KQ_Q3_K, KQ_Q2_K };

ALWAYS_INLINE size_t kq_bs(enum kq t)
{
	return t == KQ_Q4_K ? 144 : t == KQ_Q5_K ? 176 : t == KQ_Q6_K ? 210 : t == KQ_Q3_K ? 110 : 84;
}

/* formats with a minimum (the others: codes = value + offset) */
ALWAYS_INLINE bool kq_min(enum kq t)
{
	return t == KQ_Q4_K || t == KQ_Q5_K || t == KQ_Q2_K;
}

/* byte shuffles making int16 words of the group scales from their 8 bytes
 * in every 64-bit lane: chunk c of 64 elements = int16 words 0..31 of
 * vpmaddubsw; groups of 32: word i -> group 2c + i / 16; and of the mins
 * (likewise) per group of 16 bsums (words 0..15: g / 2) */
static const int8_t g32_shuf[4][64] __attribute__((aligned(64))) = {
#define W2(x) x, -128, x, -128
#define G8(x) W2(x), W2(x), W2(x), W2(x)
	{ G8(0), G8(0), G8(1), G8(1) },
	{ G8(2), G8(2), G8(3), G8(3) },
	{ G8(4), G8(4), G8(5), G8(5) },
	{ G8(6), G8(6), G8(7), G8(7) },
};
static const int8_t mins_shuf[64] __attribute__((aligned(64))) = {
	W2(0), W2(1), W2(2), W2(3), W2(4), W2(5), W2(6), W2(7),
	G8(-128), G8(-128),
#undef G8
#undef W2
};
/* int16 word permutation for groups of 16: word i -> group 4c + i / 8 */
static const int16_t g16_perm[4][32] __attribute__((aligned(64))) = {
#define G8(x) x, x, x, x, x, x, x, x
	{ G8(0), G8(1), G8(2), G8(3) },
	{ G8(4), G8(5), G8(6), G8(7) },
	{ G8(8), G8(9), G8(10), G8(11) },
	{ G8(12), G8(13), G8(14), G8(15) },
#undef G8
};

/* a super-block of one row, unpacked: codes, the group scales per word of
 * vpmaddubsw, x (minimum formats: the mins per group-of-16 sum; offset
 * formats: -offset * the scale of each group), d and dmin */
struct krow {
	__m512i u[4], sv[4], x;
	__m512 d, dm;
};

ALWAYS_INLINE void kq_row(const enum kq t, const uint8_t *p, struct krow *k)
{
	if (t == KQ_Q4_K || t == KQ_Q5_K) {
		const struct hrt_blk_q4_k *b4 = (const void *)p;
		const struct hrt_blk_q5_k *b5 = (const void *)p;
		if (t == KQ_Q4_K)
			q45k_codes(b4->qs, NULL, k->u);
		else
			q45k_codes(b5->qs, b5->qh, k->u);
		/* scales and mins broadcast from general registers: fewer
		 * vector operations than one 16-byte vector of both (4 %
		 * faster single-thread with Q4_K rows in L2) */
		uint64_t sc64, mn64;
		k4_scale_u64(b4->scales, &sc64, &mn64);
		__m512i sb = _mm512_set1_epi64((long long)sc64);
		/* left as a loop, GCC -O2 keeps k in memory and the products
		 * read their scales back from the stack: a third slower */
		_Pragma("GCC unroll 4")
		for (int c = 0; c < 4; c++)
			k->sv[c] = _mm512_shuffle_epi8(sb, ldz(g32_shuf[c]));
		k->x = _mm512_shuffle_epi8(_mm512_set1_epi64((long long)mn64), ldz(mins_shuf));
		k->d = _mm512_set1_ps(hrt_f16_tab[b4->d]);
		k->dm = _mm512_set1_ps(hrt_f16_tab[b4->dmin]);
		return;
	}
	__m256i s16;
	if (t == KQ_Q6_K) {
		const struct hrt_blk_q6_k *b = (const void *)p;
		q6k_codes(b, k->u);
		s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
		k->d = _mm512_set1_ps(hrt_f16_tab[b->d]);
	} else if (t == KQ_Q3_K) {
		const struct hrt_blk_q3_k *b = (const void *)p;
		q3k_codes(b, k->u);
		s16 = _mm256_cvtepi8_epi16(q3k_scale_bytes(b->scales));
		k->d = _mm512_set1_ps(hrt_f16_tab[b->d]);
	} else {
		const struct hrt_blk_q2_k *b = (const void *)p;
		q2bit_codes(b->qs, k->u);
		__m256i sm = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
		s16 = _mm256_and_si256(sm, _mm256_set1_epi16(15));
		k->x = _mm512_zextsi256_si512(_mm256_srli_epi16(sm, 4));
		k->d = _mm512_set1_ps(hrt_f16_tab[b->d]);
		k->dm = _mm512_set1_ps(hrt_f16_tab[b->dmin]);
	}
	__m512i sz = _mm512_zextsi256_si512(s16);
	_Pragma("GCC unroll 4")
	for (int c = 0; c < 4; c++)
		k->sv[c] = _mm512_permutexvar_epi16(ldz(g16_perm[c]), sz);
	if (t == KQ_Q6_K) /* codes q + 32 */
		k->x = _mm512_zextsi256_si512(_mm256_mullo_epi16(s16, _mm256_set1_epi16(-32)));
	else if (t == KQ_Q3_K) /* codes q + 4 */
		k->x = _mm512_zextsi256_si512(_mm256_mullo_epi16(s16, _mm256_set1_epi16(-4)));
}

ALWAYS_INLINE void kq_step(const enum kq t, const int R, const int T, const uint8_t *const *w,
			   const uint8_t *const *a, int64_t s, __m512 f[][TT], size_t pf)
{
	const size_t bs = kq_bs(t);
	const size_t ao = (size_t)s * sizeof(struct hrt_blk_q8_k);
	_Pragma("GCC unroll 8")
	for (int r = 0; r < R; r++) {
		const uint8_t *p = w[r] + (size_t)s * bs;
		if (pf)
			_Pragma("GCC unroll 4")
			for (size_t o = 0; o < bs; o += 64)
				_mm_prefetch((const char *)p + pf + o, _MM_HINT_T0);
		struct krow k;
		kq_row(t, p, &k);
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++) {
			const struct hrt_blk_q8_k *q = (const void *)(a[j] + ao);
			/* two chains of two products (4 % faster decode than one
			 * chain of four, bench/kern_bench -H) */
			__m512i t0 = _mm512_madd_epi16(_mm512_maddubs_epi16(k.u[0], ldz(q->qs)), k.sv[0]);
			__m512i t1 = _mm512_madd_epi16(_mm512_maddubs_epi16(k.u[2], ldz(q->qs + 128)),
						       k.sv[2]);
			t0 = _mm512_dpwssd_epi32(t0, _mm512_maddubs_epi16(k.u[1], ldz(q->qs + 64)), k.sv[1]);
			t1 = _mm512_dpwssd_epi32(t1, _mm512_maddubs_epi16(k.u[3], ldz(q->qs + 192)),
						 k.sv[3]);
			__m512i tot = _mm512_add_epi32(t0, t1);
			__m512i bsum = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)q->bsums));
			__m512 da = _mm512_set1_ps(load_f32(&q->d));
			if (kq_min(t)) {
				__m512i mn = _mm512_madd_epi16(bsum, k.x);
				__m512 x = _mm512_fmsub_ps(_mm512_cvtepi32_ps(tot), k.d,
							   _mm512_mul_ps(_mm512_cvtepi32_ps(mn), k.dm));
				f[r][j] = _mm512_fmadd_ps(x, da, f[r][j]);
			} else {
				tot = _mm512_dpwssd_epi32(tot, bsum, k.x);
				f[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_mul_ps(k.d, da),
							  f[r][j]);
			}
		}
	}
}

ALWAYS_INLINE void kq_tile(const enum kq t, const int T, int64_t ns, const uint8_t *const *w,
			   const uint8_t *const *a, float out[TT][TR], size_t pf)
{
	__m512 f[TR][TT];
	tile_zero(T, f);
	for (int64_t s = 0; s < ns; s++)
		kq_step(t, TR, T, w, a, s, f, pf);
	tile_out(T, f, out);
}

/*
 * Decode (one token) reads each row to its end before the next: the
 * weights then arrive as one sequential stream per thread, prefetched
 * 4.5 KiB ahead, two accumulators per row (even and odd steps) for
 * the adds' latency. The tiles' four interleaved row streams (activations
 * loaded once per four rows) ran at 36 GB/s on 2 threads where one stream
 * of the same loads reached 50 (a streaming read test); in the 2-thread
 * decode of the 1B bench models, tok/s in alternating runs, tiles vs one
 * row: Q4_0 47.5-50.5 vs 52.7-57.9, Q8_0 27.9-30.7 vs 30.8-32.8, Q4_K_M
 * 50.6-52.9 vs 51.6-54.7. Two rows interleaved were slower than either
 * (Q4_0 42-44); so was one row against two tokens (the tiles keep n = 2);
 * prefetching 2.25 or 9 KiB ahead was no better.
 */

/*
 * The decode kernels prefetch sparsely (hrt_pf_sparse: one line per 2
 * KiB, 4.5 KiB ahead). bench/ceiling, 2 threads, the Q4_0 chunk kernel:
 * products 38-44 GB/s (0.82-0.93 of the stream) with a prefetch of every
 * line -> 46-51 (0.94-1.00) with one per 1 or 2 KiB, 3 alternating
 * rounds. 2-thread decode of the 1B bench models, medians of 4 alternating
 * runs, every line -> one per 1, 2, 4 KiB: Q4_0 67.7 -> 81.1, 84.2, 74.1
 * tok/s; Q8_0 38.4 -> 40.7, 43.1, 42.7; Q4_K_M 64.3 -> 67.2, 72.1, 69.5.
 */

/*
 * Q4_0, blocks 2s and 2s + 1 of one row against one token, from two loads
 * of the row (p: block 2s): the 32 bytes at p (d0, q0, d1 and 12 bytes of
 * q1) and the 16 at p + 20 (q1). lg_step reads the codes with two loads
 * too and spends four more on the scales (two words, two table reads),
 * and the load ports were what bound this step: in a 2-thread decode of
 * the 1B Q4_0 bench model, medians of 6 alternating runs, 54.8 -> 60.3
 * tok/s; the file's products back to back (2 threads, 601 MB) 37 -> 41-44
 * GB/s. Same integer sums and the same float operations in the same order
 * as lg_step.
 */
static const int16_t q40_words[32] __attribute__((aligned(64))) = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, /* q0 from p */
	32, 33, 34, 35, 36, 37, 38, 39, 32, 33, 34, 35, 36, 37, 38, 39, /* q1 */
};

ALWAYS_INLINE void q40_pair(const uint8_t *p, __m512i *u, __m512 *dw)
{
	__m256i y = _mm256_loadu_si256((const __m256i *)p);
	const __m128i x = _mm_loadu_si128((const __m128i *)(p + 20));
	/* y once, in a register: GCC would read it again for the vpermw */
	__asm__("" : "+v"(y));
	/* 128-bit lanes q0, q0, q1, q1; lanes 1 and 3 take the high nibbles:
	 * the codes in element order */
	__m512i z = _mm512_permutex2var_epi16(_mm512_castsi256_si512(y), ldz(q40_words),
					      _mm512_castsi128_si512(x));
	z = _mm512_mask_srli_epi16(z, 0xff00ff00u, z, 4);
	*u = _mm512_and_si512(z, _mm512_set1_epi8(15));
	/* the fp16 words 0 (d0) and 9 (d1) to lanes 0-7 and 8-15 */
	const __m256i iw = _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9);
	*dw = _mm512_cvtph_ps(_mm256_permutexvar_epi16(iw, y));
}

/* one token's share of a block pair, as lg_step computes it: codes u
 * (element order) and weight scales dw against the activation step at a */
ALWAYS_INLINE void seq_pair(const enum lg t, __m512i u, __m512 dw, const uint8_t *a, __m512 *f)
{
	const __m512i N = _mm512_slli_epi32(ldz(a + 64), (unsigned)lg_sh(t));
	const __m512i acc = _mm512_dpbusd_epi32(N, u, ldz(a));
	const __m512 xs = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(a + 128));
	*f = _mm512_fmadd_ps(xs, dw, *f);
}

/* step s of one row against one token: a legacy format (kq false: blocks
 * 2s and 2s + 1, or 2s alone when one) or a k-quant (kq true: super-block
 * s) */
ALWAYS_INLINE void seq_step(const bool kq, const int t, const uint8_t *const *row,
			    const uint8_t *const *a, int64_t s, bool one, __m512 f[1][TT])
{
	if (!kq && !one && (t == LG_Q4_0 || t == LG_Q8_0)) {
		const uint8_t *p = row[0] + (size_t)s * 2 * lg_bs((enum lg)t);
		__m512i u;
		__m512 dw;
		if (t == LG_Q4_0) {
			q40_pair(p, &u, &dw);
		} else {
			/* Q8_0: the codes as lg_step reads them, both scales by
			 * two word loads and one conversion instead of two
			 * words, two table reads and a blend (13-16 % faster
			 * single-thread with the rows in L2; a 2-thread decode
			 * of the 1B Q8_0 bench model, bound by the memory,
			 * measured the same) */
			u = lg_codes(LG_Q8_0, p, false);
			dw = lg_f16x2(p, lg_bs(LG_Q8_0), 0, false, 0xffff);
		}
		seq_pair((enum lg)t, u, dw, a[0] + (size_t)s * TS, &f[0][0]);
	} else if (kq) {
		kq_step((enum kq)t, 1, 1, row, a, s, f, 0);
	} else {
		lg_step((enum lg)t, 1, 1, row, a, 2 * s, one, f, 0);
	}
}

/* one row against one token, steps alternating between two accumulators;
 * nb blocks of the format */
ALWAYS_INLINE float seq_row(const bool kq, const int t, int64_t nb, const uint8_t *w,
			    const uint8_t *act)
{
	const size_t sb = kq ? kq_bs((enum kq)t) : 2 * lg_bs((enum lg)t); /* bytes per step */
	const int64_t nfull = kq ? nb : nb / 2; /* steps without a lone block */
	const uint8_t *row[1] = { w }, *a[1] = { act };
	__m512 f0[1][TT] = { { _mm512_setzero_ps() } }, f1[1][TT] = { { _mm512_setzero_ps() } };
	int64_t s = 0;
	for (; s + 2 <= nfull; s += 2) {
		hrt_pf_sparse(w + (size_t)s * sb, 2 * sb);
		seq_step(kq, t, row, a, s, false, f0);
		seq_step(kq, t, row, a, s + 1, false, f1);
	}
	if (s < nfull)
		seq_step(kq, t, row, a, s++, false, f0);
	if (!kq && (nb & 1))
		seq_step(kq, t, row, a, s, true, f1);
	return _mm512_reduce_add_ps(_mm512_add_ps(f0[0][0], f1[0][0]));
}

ALWAYS_INLINE float lg_seq_row(const enum lg t, int64_t nb, const uint8_t *w, const uint8_t *act)
{
	return seq_row(false, (int)t, nb, w, act);
}

ALWAYS_INLINE float kq_seq_row(const enum kq t, int64_t nb, const uint8_t *w, const uint8_t *act)
{
	return seq_row(true, (int)t, nb, w, act);
}

/* ---------------------------------------- Q4_0 decode in 64-byte chunks */

/*
 * One token against Q4_0 rows of a multiple of 1024 columns (rows of a
 * multiple of 576 bytes = 9 lines = 32 blocks, a period). The step above
 * unpacks each pair of blocks into element order (a word permute, a shift
 * and a mask per 36 bytes); here the row is read as it lies, one 64-byte
 * load per chunk, and the activations are laid out to match it instead
 * (dec_quantize_q4_0, once per product): byte j of the chunk meets the
 * activation of the element whose low nibble it holds (lo) and of the one
 * whose high nibble it holds (hi), 0 where the byte is a scale. A block is
 * 18 bytes, so every dword lane of a chunk holds codes of one block only
 * (an odd block's scale shares its dword with the end of the block
 * before, against activations 0).
 *
 * The scales go once per period: the 32 weight scales are the words 9b of
 * its 9 chunks, so one word index vector, 9b mod 64, picks them out of
 * each pair of chunks (5 masked word permutes, or'ed), one conversion per
 * 16, times the 32 activation scales; then each chunk's lanes take their
 * block's product by one permute of those two vectors. Per 64 bytes: 2
 * vpdpbusd, 3 vector ops for the nibbles, a conversion, that permute and
 * an fma, and a ninth of the period's scale work; about 10 vector uops,
 * where a word permute, a conversion and a multiply of the scales per
 * chunk took about 14. Same integer sums per block, split over lanes
 * differently; float sums in another order (~1e-6).
 *
 * Single-thread products with the rows in L2 or L3 (one matrix timed
 * repeatedly; 2048 columns and 64 to 8192 rows, 8192 and 16): 31-34 ->
 * 46-64 GB/s with the chunks (scales per chunk). From memory it needs the
 * sparse prefetch (hrt_pf_sparse): with a prefetch of every line it moved
 * nothing (2-thread decode of the 1B Q4_0 bench model 63.5 -> 64.6 tok/s,
 * medians of 8 alternating runs); with it, 65.7 -> 83.4 (medians of 5,
 * HEARTH_DEC=0 against 1, which turns it off to compare), where the pair
 * step gains nothing from it.
 */
#define DQ_PERIOD 9 /* chunks per 32 blocks */
#define DQ_CHUNK 192 /* activation bytes per 64 bytes of a row: lo, hi, nsum */
#define DQ_PBYTES (DQ_PERIOD * DQ_CHUNK + 128) /* and the period's 32 scales */

/* the block of dword lane L of chunk c (of the 9 in 32 blocks): the one
 * holding byte 64c + 4L, (64c + 4L) / 18 */
static const int32_t dq_owner[DQ_PERIOD][16] __attribute__((aligned(64))) = {
	{ 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3 },
	{ 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6 },
	{ 7, 7, 7, 7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10 },
	{ 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 12, 13, 13, 13, 13, 14 },
	{ 14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16, 17, 17, 17 },
	{ 17, 18, 18, 18, 18, 18, 19, 19, 19, 19, 20, 20, 20, 20, 20, 21 },
	{ 21, 21, 21, 22, 22, 22, 22, 22, 23, 23, 23, 23, 24, 24, 24, 24 },
	{ 24, 25, 25, 25, 25, 26, 26, 26, 26, 26, 27, 27, 27, 27, 28, 28 },
	{ 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 30, 31, 31, 31, 31 },
};

/* block b's scale is word 9b of the period: word 9b mod 64 of chunks
 * (2k, 2k + 1) for the blocks of dq_pair_mask[k] */
static const int16_t dq_scale_word[32] __attribute__((aligned(64))) = {
	0, 9, 18, 27, 36, 45, 54, 63, 8, 17, 26, 35, 44, 53, 62, 7,
	16, 25, 34, 43, 52, 61, 6, 15, 24, 33, 42, 51, 60, 5, 14, 23,
};
static const __mmask32 dq_pair_mask[5] = { 0xff, 0x7f00, 0x3f8000, 0x1fc00000, 0xe0000000 };

/* ---------------------------------------- Q8_0 decode in 64-byte chunks */

/*
 * The same for Q8_0 rows of a multiple of 1024 columns (32 blocks of 34
 * bytes, 17 chunks a period): no dword lane holds codes of two blocks
 * (the code bytes around a scale, 34b + 33 and 34b + 36, never share
 * one), so each chunk is one vpdpbusd of its bytes made unsigned (xor
 * 0x80, the offset of 128 in the accumulator's start) against activations
 * laid out to match, then the lanes' scales as for Q4_0: block b's scale
 * is word 17b of the period, picked out of each pair of chunks by one
 * index vector (17b mod 64). Per 64 bytes: an xor, a vpdpbusd, a
 * conversion, a permute and an fma, and a seventeenth of the period's
 * scale work; the pair step (seq_step) spends about 9 vector uops per
 * 64 bytes. Same integer sums per block; float sums in another order.
 */
#define D8_PERIOD 17 /* chunks per 32 blocks */
#define D8_CHUNK 128 /* activation bytes per 64 bytes of a row: codes, nsum */
#define D8_PBYTES (D8_PERIOD * D8_CHUNK + 128) /* and the period's 32 scales */

/* the block of dword lane L of chunk c: (64c + 4L) / 34 */
static const int32_t d8_owner[D8_PERIOD][16] __attribute__((aligned(64))) = {
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3 },
	{ 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5 },
	{ 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7 },
	{ 7, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9 },
	{ 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11 },
	{ 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 13 },
	{ 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14 },
	{ 15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16 },
	{ 16, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18 },
	{ 18, 18, 19, 19, 19, 19, 19, 19, 19, 19, 20, 20, 20, 20, 20, 20 },
	{ 20, 20, 20, 21, 21, 21, 21, 21, 21, 21, 21, 22, 22, 22, 22, 22 },
	{ 22, 22, 22, 22, 23, 23, 23, 23, 23, 23, 23, 23, 24, 24, 24, 24 },
	{ 24, 24, 24, 24, 24, 25, 25, 25, 25, 25, 25, 25, 25, 26, 26, 26 },
	{ 26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27, 28, 28 },
	{ 28, 28, 28, 28, 28, 28, 28, 29, 29, 29, 29, 29, 29, 29, 29, 30 },
	{ 30, 30, 30, 30, 30, 30, 30, 30, 31, 31, 31, 31, 31, 31, 31, 31 },
};

/* block b's scale: word 17b mod 64 of chunks (2k, 2k + 1) for the blocks
 * of d8_pair_mask[k] */
static const int16_t d8_scale_word[32] __attribute__((aligned(64))) = {
	0, 17, 34, 51, 4, 21, 38, 55, 8, 25, 42, 59, 12, 29, 46, 63,
	16, 33, 50, 3, 20, 37, 54, 7, 24, 41, 58, 11, 28, 45, 62, 15,
};
static const __mmask32 d8_pair_mask[9] = { 0xf, 0xf0, 0xf00, 0xf000, 0x70000, 0x780000,
					   0x7800000, 0x78000000, 0x80000000 };

/*
 * The blocks after a row's last whole period (rows of any multiple of 32
 * columns: 1536, 4864, 8960 in some models) go block by block, against
 * DT_BLK bytes each after the periods: the 32 codes of the Q8_0 row
 * quantizer, the code offset applied to them (-off times each dword
 * lane's sum, int32, where vpdpbusd starts) and the block's scale.
 */
#define DT_BLK 68

static void dec_quantize_tail(const float *x, uint8_t *Y, int64_t nb, int off)
{
	for (int64_t b = 0; b < nb; b++, x += HRT_QK, Y += DT_BLK) {
		int8_t qs[32];
		uint16_t h;
		float df;
		q8_0_block(x, &h, &df, qs);
		int32_t o[8];
		for (int l = 0; l < 8; l++)
			o[l] = -off * (qs[4 * l] + qs[4 * l + 1] + qs[4 * l + 2] + qs[4 * l + 3]);
		const float d = f16(h);
		memcpy(Y, qs, 32);
		memcpy(Y + 32, o, 32);
		memcpy(Y + 64, &d, 4);
	}
}

/* block b of the tail: its unsigned codes u (element order) against the
 * activations at a */
ALWAYS_INLINE __m256 dec_tail_blk(__m256i u, float dw, const uint8_t *a, __m256 f)
{
	const __m256i s = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)(a + 32)), u,
					      _mm256_loadu_si256((const __m256i *)a));
	return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw * load_f32(a + 64)), f);
}

/* ------------------------------------- the two chunk decodes, one template */

/* t: LG_Q4_0 or LG_Q8_0 */
ALWAYS_INLINE int dc_period(enum lg t) /* chunks per 32 blocks */
{
	return t == LG_Q4_0 ? DQ_PERIOD : D8_PERIOD;
}

ALWAYS_INLINE size_t dc_chunk(enum lg t) /* activation bytes per chunk */
{
	return t == LG_Q4_0 ? DQ_CHUNK : D8_CHUNK;
}

ALWAYS_INLINE size_t dc_pbytes(enum lg t) /* activation bytes per period */
{
	return t == LG_Q4_0 ? DQ_PBYTES : D8_PBYTES;
}

ALWAYS_INLINE void dc_quantize(const enum lg t, const float *x, void *y, int64_t n)
{
	const bool q4 = t == LG_Q4_0;
	const int P = dc_period(t);
	const size_t bs = lg_bs(t);
	const __m512i one = _mm512_set1_epi8(1);
	uint8_t *Y = y;
	for (int64_t p = 0; p < n / (32 * HRT_QK); p++, x += 32 * HRT_QK) {
		/* the 32 blocks' bytes as the row lays them out: the codes'
		 * activations (Q4_0: lo for the low nibbles, hi for the high) */
		int8_t lo[D8_PERIOD * 64] __attribute__((aligned(64)));
		int8_t hi[DQ_PERIOD * 64] __attribute__((aligned(64)));
		float d[32] __attribute__((aligned(64)));
		dec_period_split(x, bs, q4, lo, hi, d);
		for (int c = 0; c < P; c++, Y += dc_chunk(t)) {
			const __m512i l = ldz(lo + 64 * c);
			__m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), one, l);
			_mm512_storeu_si512(Y, l);
			if (q4) {
				const __m512i u = ldz(hi + 64 * c);
				s = _mm512_dpbusd_epi32(s, one, u);
				_mm512_storeu_si512(Y + 64, u);
			}
			/* minus the codes' offset (8, 128) times the lane's sum */
			_mm512_storeu_si512(Y + (q4 ? 128 : 64),
					    _mm512_sub_epi32(_mm512_setzero_si512(),
							     _mm512_slli_epi32(s, q4 ? 3 : 7)));
		}
		memcpy(Y, d, sizeof d);
		Y += sizeof d;
	}
	dec_quantize_tail(x, Y, n / HRT_QK % 32, q4 ? 8 : 128);
}

/* nr rows of n columns (a multiple of 32) against one token */
ALWAYS_INLINE void dc_rows_pf(const bool pl, const enum lg t, int64_t n, int nr, const void *w,
			      size_t ws, const void *act, float *y)
{
	const struct hrt_pf pf = hrt_pf_get();
	const bool q4 = t == LG_Q4_0;
	const int P = dc_period(t);
	const size_t bs = lg_bs(t), pb = 32 * bs, R = (size_t)(n / 1024) * pb;
	const size_t ntl = (size_t)(n / HRT_QK % 32), ac = dc_chunk(t);
	const int32_t(*own)[16] = q4 ? dq_owner : d8_owner;
	const __mmask32 *pm = q4 ? dq_pair_mask : d8_pair_mask;
	const __m512i m4 = _mm512_set1_epi8(15), flip = _mm512_set1_epi8(-128);
	const __m512i sw = ldz(q4 ? dq_scale_word : d8_scale_word);
	for (int r = 0; r < nr; r++) {
		const uint8_t *p = (const uint8_t *)w + (size_t)r * ws, *a = act;
		__m512 f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps();
		for (size_t o = 0; o < R; o += pb, a += dc_pbytes(t)) {
			__m512i z[D8_PERIOD];
			_Pragma("GCC unroll 17")
			for (int c = 0; c < P; c++) {
				if (pl)
					hrt_pf_lines(pf, p + o + 64 * (size_t)c, 1);
				else
					hrt_pf_sparse(p + o + 64 * (size_t)c, 64);
				z[c] = ldz(p + o + 64 * (size_t)c);
				/* one load: GCC would read it again for each use */
				__asm__("" : "+v"(z[c]));
			}
			/* the 32 weight scales (pairs of chunks, then the odd last
			 * one), times the activations' */
			__m512i h = _mm512_maskz_permutexvar_epi16(pm[P / 2], sw, z[P - 1]);
			_Pragma("GCC unroll 8")
			for (int k = 0; k < P / 2; k++)
				h = _mm512_or_si512(h, _mm512_maskz_permutex2var_epi16(pm[k], z[2 * k], sw,
										   z[2 * k + 1]));
			const float *da = (const float *)(a + (size_t)P * ac);
			const __m512 s0 = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(h)),
							_mm512_loadu_ps(da));
			const __m512 s1 = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1)),
							_mm512_loadu_ps(da + 16));
			_Pragma("GCC unroll 17")
			for (int c = 0; c < P; c++) {
				const uint8_t *at = a + (size_t)c * ac;
				__m512i acc;
				if (q4) {
					acc = _mm512_dpbusd_epi32(ldz(at + 128), _mm512_and_si512(z[c], m4),
								  ldz(at));
					acc = _mm512_dpbusd_epi32(
						acc, _mm512_and_si512(_mm512_srli_epi16(z[c], 4), m4),
						ldz(at + 64));
				} else {
					acc = _mm512_dpbusd_epi32(ldz(at + 64), _mm512_xor_si512(z[c], flip),
								  ldz(at));
				}
				const __m512 sc = _mm512_permutex2var_ps(s0, ldz(own[c]), s1);
				if (c & 1)
					f1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), sc, f1);
				else
					f0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), sc, f0);
			}
		}
		__m256 ft = _mm256_setzero_ps();
		for (size_t b = 0; b < ntl; b++) { /* a is past the periods */
			const uint8_t *q = p + R + bs * b;
			__m256i u;
			if (q4) {
				const __m128i c = _mm_loadu_si128((const __m128i *)(q + 2));
				const __m128i m = _mm_set1_epi8(15);
				u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(c, 4), m),
						     _mm_and_si128(c, m));
			} else {
				u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(q + 2)),
						     _mm256_set1_epi8(-128));
			}
			hrt_pf_sparse(q, bs);
			ft = dec_tail_blk(u, f16(load_u16(q)), a + DT_BLK * b, ft);
		}
		/* the tail's lanes join the periods' before the one reduction */
		y[r] = _mm512_reduce_add_ps(
			_mm512_add_ps(_mm512_add_ps(f0, f1), _mm512_zextps256_ps512(ft)));
	}
}

/* with the prefetch mode as a constant (kern/prefetch.h) */
ALWAYS_INLINE void dc_rows(const enum lg t, int64_t n, int nr, const void *w, size_t ws,
			   const void *act, float *y)
{
	HRT_PF_MODES(dc_rows_pf, t, n, nr, w, ws, act, y);
}

/*
 * The activation row for dec_q4_0: per period of the weight row (32
 * blocks, 9 chunks of 64 bytes), for each chunk DQ_CHUNK bytes: lo and hi
 * (int8: the activations of the codes each byte holds, 0 against the
 * scales) and nsum (int32 lanes: -8 times the sum of the lane's lo and hi
 * bytes, the Q4_0 offset); then the 32 blocks' activation scales (float).
 * Codes and scales are those of the Q8_0 row quantizer.
 */
static void dec_quantize_q4_0(const float *x, void *y, int64_t n)
{
	dc_quantize(LG_Q4_0, x, y, n);
}

/*
 * The activation row for dec_q8_0: per period (32 blocks), for each of
 * its 17 chunks D8_CHUNK bytes: the activations (int8) of the codes in
 * the chunk's bytes, 0 against the scales, and nsum (int32 lanes: -128
 * times the sum of the lane's activations); then the 32 blocks'
 * activation scales (float). Codes and scales of the Q8_0 row quantizer.
 */
static void dec_quantize_q8_0(const float *x, void *y, int64_t n)
{
	dc_quantize(LG_Q8_0, x, y, n);
}

/* the hrt_gemm_fn of dec[HRT_Q4_0] and dec[HRT_Q8_0]: nt is 1, n a
 * multiple of 32 */
static void dec_q4_0(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	dc_rows(LG_Q4_0, n, nr, w, ws, act, y);
}

static void dec_q8_0(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	dc_rows(LG_Q8_0, n, nr, w, ws, act, y);
}

/* ---------------------------------------------- Q4_K decode as it lies */

/*
 * One token against Q4_K rows (whole super-blocks). kq_step puts each
 * super-block's codes in element order (a lane shuffle per 64 codes) and
 * applies the group scales to pairs of products (vpmaddubsw, then
 * vpmaddwd with a word vector per 64 codes). Here the 128 code bytes are
 * read as they lie, two 64-byte loads, against activations laid out to
 * match (dec_quantize_q4_k): the low nibbles of the first load meet
 * elements 0-31 and 64-95, its high nibbles 32-63 and 96-127; the second
 * load likewise 128-255. A vpdpbusd per 64 codes sums four products per
 * dword lane, every lane inside one group of 32 (|sum| <= 4 * 15 * 128,
 * an int16), so the four sums of a super-block pack exactly into two word
 * vectors (vpackssdw) and two vpdpwssd apply the group scales: two scale
 * vectors per super-block instead of four, no lane shuffles. The 6-bit
 * scales and mins come apart in two 64-bit words (k4_scale_halves); the mins
 * meet the activations' group sums, precomputed in the layout, by one
 * 128-bit vpmaddwd. Same integer sums per group as kq_step; float sums in
 * another order (~1e-6).
 *
 * Single-thread, one 128 x 8192 matrix timed repeatedly (L2/L3): kq_step
 * 32 GB/s; this layout 36-39; the scales unpacked in 64-bit words 42;
 * each 64-byte load read once (GCC read each again for its second use,
 * and three loads in four cross a line) 49-53. GFNI for the high nibbles
 * (one vgf2p8affineqb for a shift and a mask) gave 5 % more there and is
 * not used (it would need a second path where the CPU lacks it). 2-thread
 * decode of the 1B Q4_K_M bench model, kq_step -> this, alternating
 * rounds: 56.6-61.9 -> 65.2-76.0 tok/s (6, a noisy hour), 76.7-81.8 ->
 * 87.0-92.0 (5, medians 80.6 -> 90.2).
 *
 * The same for Q6_K (dec_q6_k below) was 20 % faster single-thread from
 * L2 on a Zen 5 (53 -> 64-66 GB/s) and no faster in decode there beyond
 * the noise (10 alternating rounds, medians 83.0 vs 84.2 tok/s; paired
 * 90.4 vs 87.4; bench/README 2026-11-27 06:20Z), so it waited until the
 * Xeon, where it pays (measurements there, below).
 */
#define DK_SB 320 /* activation bytes per super-block */

/*
 * The activation row for dec_q4_k, per super-block (the Q8_K block q of
 * the row quantizer): [0, 64) q.qs 0-31, 64-95; [64, 128) 32-63, 96-127;
 * [128, 192) 128-159, 192-223; [192, 256) 160-191, 224-255; [256, 272) the
 * 8 group sums (int16, elements 32g..32g+31); [272, 276) q.d; then zeros.
 * With q6, dec_q6_k's (below), of as many bytes.
 */
ALWAYS_INLINE void dec_quantize_k(const bool q6, const float *x, void *y, int64_t n)
{
	uint8_t *Y = y;
	for (int64_t s = 0; s < n / HRT_QK_K; s++, x += HRT_QK_K, Y += DK_SB) {
		struct hrt_blk_q8_k q;
		q8_k_block(x, &q);
		int16_t g[16];
		const size_t gb = q6 ? 32 : 16; /* bytes of group sums */
		if (q6) {
			memcpy(Y, q.qs, 256);
			for (int k = 0; k < 16; k++)
				g[k] = (int16_t)(-8 * q.bsums[k]);
		} else {
			for (int h = 0; h < 4; h++) { /* h: lo 0, hi 0, lo 1, hi 1 */
				const int e = 128 * (h / 2) + 32 * (h % 2);
				memcpy(Y + 64 * h, q.qs + e, 32);
				memcpy(Y + 64 * h + 32, q.qs + e + 64, 32);
			}
			for (int k = 0; k < 8; k++)
				g[k] = (int16_t)(q.bsums[2 * k] + q.bsums[2 * k + 1]);
		}
		memcpy(Y + 256, g, gb);
		memcpy(Y + 256 + gb, &q.d, 4);
		memset(Y + 260 + gb, 0, DK_SB - 260 - gb);
	}
}

static void dec_quantize_q4_k(const float *x, void *y, int64_t n)
{
	dec_quantize_k(false, x, y, n);
}

/* k4_scale_halves as one vector: scales 0-3, mins 0-3, scales 4-7, mins 4-7 */
ALWAYS_INLINE __m128i k4_scale_x(const uint8_t *s)
{
	uint64_t lo, hi;
	k4_scale_halves(s, &lo, &hi);
	return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* the group scales as words, in the order of the packed sums: 128-bit
 * lane L of vpackssdw(lo, hi) holds dwords 4L..4L+3 of lo (groups 0, 0,
 * 2, 2 over the lanes) then of hi (1, 1, 3, 3); of the second pair of
 * loads, groups 4-7. Indices into k4_scale_x's bytes. */
static const int8_t dk_shuf[2][64] __attribute__((aligned(64))) = {
#define W4(x) x, -128, x, -128, x, -128, x, -128
	{ W4(0), W4(1), W4(0), W4(1), W4(2), W4(3), W4(2), W4(3) },
	{ W4(8), W4(9), W4(8), W4(9), W4(10), W4(11), W4(10), W4(11) },
#undef W4
};

/*
 * Q5_K (dec_q5_k) the same way: the same scales, mins and code bytes, and
 * the codes' fifth bits in qh, bit 2c of qh[j] for element 32c + j. Each
 * 64-byte code vector holds two groups of 32 in its halves, so per vector
 * one byte test of qh (both halves a copy of it) against the two groups'
 * bits, dk5_bits[v], and a masked add of 16 make the codes 5-bit: 8 vector
 * ops per super-block more than Q4_K. The sums of four products stay
 * within int16 (4 * 31 * 128) for the pack. Same integer sums per group as
 * kq_step; float sums in another order. Where Q5_K took kq_step (2-core
 * Xeon, family 6 model 207): one thread, rows hot in L2 or L3
 * (bench/kern_bench.sh -c -H -t 1) 14.1-17.2 -> 22.2-24.3 GB/s, below the
 * ~16 GB/s a core reads from memory before; 2-thread decode of a 1B
 * Q5_K_M (the F16 bench model quantized), tg64 in 4 alternating rounds,
 * medians 37.3 -> 40.4 tok/s; bench/ceiling products/stream 0.86-0.87 ->
 * 0.89-0.93.
 */
static const uint8_t dk5_bits[4][2] = { { 1, 4 }, { 2, 8 }, { 16, 64 }, { 32, 128 } };

/* super-block at p (Q4_K, or Q5_K where q5) against its activations a;
 * hb: the bytes of dk5_bits, each vector's two halves (q5 only) */
ALWAYS_INLINE void dk_sb(const bool q5, const uint8_t *p, const uint8_t *a, const __m512i *hb,
			 __m512 *f)
{
	const struct hrt_blk_q4_k *b = (const void *)p;
	const uint8_t *qs = q5 ? ((const struct hrt_blk_q5_k *)p)->qs : b->qs;
	const __m512i m4 = _mm512_set1_epi8(15), z = _mm512_setzero_si512();
	__m512i q0 = ldz(qs), q1 = ldz(qs + 64);
	/* one load each: GCC would read them again for the high nibbles */
	__asm__("" : "+v"(q0), "+v"(q1));
	__m512i u[4] = { _mm512_and_si512(q0, m4), _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4),
			 _mm512_and_si512(q1, m4), _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4) };
	if (q5) {
		const __m512i hh = _mm512_broadcast_i64x4(
			_mm256_loadu_si256((const __m256i *)((const struct hrt_blk_q5_k *)p)->qh));
		const __m512i sixteen = _mm512_set1_epi8(16);
		_Pragma("GCC unroll 4")
		for (int v = 0; v < 4; v++)
			u[v] = _mm512_mask_add_epi8(u[v], _mm512_test_epi8_mask(hh, hb[v]), u[v],
						    sixteen);
	}
	const __m512i c0 = _mm512_dpbusd_epi32(z, u[0], ldz(a));
	const __m512i c1 = _mm512_dpbusd_epi32(z, u[1], ldz(a + 64));
	const __m512i c2 = _mm512_dpbusd_epi32(z, u[2], ldz(a + 128));
	const __m512i c3 = _mm512_dpbusd_epi32(z, u[3], ldz(a + 192));
	const __m128i sx = k4_scale_x(b->scales);
	const __m512i sb = _mm512_broadcast_i32x4(sx);
	__m512i t = _mm512_madd_epi16(_mm512_packs_epi32(c0, c1),
				      _mm512_shuffle_epi8(sb, ldz(dk_shuf[0])));
	t = _mm512_dpwssd_epi32(t, _mm512_packs_epi32(c2, c3), _mm512_shuffle_epi8(sb, ldz(dk_shuf[1])));
	/* the mins as words against the group sums */
	const __m128i mi = _mm_setr_epi8(4, -128, 5, -128, 6, -128, 7, -128, 12, -128, 13, -128,
					 14, -128, 15, -128);
	const __m128i mn = _mm_madd_epi16(_mm_shuffle_epi8(sx, mi),
					  _mm_loadu_si128((const __m128i *)(a + 256)));
	const __m512 m = _mm512_zextps128_ps512(_mm_mul_ps(_mm_cvtepi32_ps(mn),
							   _mm_set1_ps(hrt_f16_tab[b->dmin])));
	const __m512 x = _mm512_fmsub_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(hrt_f16_tab[b->d]), m);
	*f = _mm512_fmadd_ps(x, _mm512_set1_ps(load_f32(a + 272)), *f);
}

/* ---------------------------------------------- Q6_K decode as it lies */

/*
 * One token against Q6_K rows (whole super-blocks), the codes read as they
 * lie. Per half h of a super-block, one 64-byte load of ql holds the low
 * 4 bits of elements 128h + [0, 64) in its low nibbles and of 128h + [64,
 * 128) in its high nibbles, each in element order, and qh[32h + l] the
 * high 2 bits of elements 128h + l, + 32, + 64, + 96 (bits 0-1, 2-3, 4-5,
 * 6-7). With qh's 32 bytes in both halves of a vector, one variable word
 * shift per 64 codes (left 4 and 2, right 0 and 2 for the two halves)
 * puts each code's two bits at bits 4-5, and a ternary op adds them to the
 * nibbles: 64 unsigned 6-bit codes (value + 32) against the activations in
 * element order (the row quantizer's Q8_K codes as they are). A vpdpbusd
 * per 64 codes sums four products per dword lane, every lane inside one
 * group of 16 (|sum| <= 4 * 63 * 128, an int16); the two sums of a half
 * pack into one word vector (vpackssdw) and one vpdpwssd applies the
 * group scales (int8, sign-extended from a byte shuffle). The codes'
 * offset of 32 comes off by one more vpdpwssd: 4 times the scales against
 * -8 times the activations' group sums, kept in the layout. Same integer
 * sums per group as kq_step; float sums in another order. Against
 * kq_step on the 2-core Xeon (family 6 model 207): one thread, rows hot
 * in L2 or L3 (bench/kern_bench.sh -c -H -t 1) 22.7-25.8 -> 24.8-26.9
 * GB/s; bench/ceiling products/stream, the 1B F16 bench model quantized
 * to Q6_K 0.93 -> 0.97-0.98, the Q4_K_M bench model 0.92-0.93 ->
 * 0.93-0.95; 2-thread decode, tg64 in alternating rounds, Q6_K 34.9 ->
 * 36.2 tok/s (3), Q4_K_M 46.1 -> 46.4 (4).
 */
/*
 * The activation row for dec_q6_k, per super-block (the Q8_K block q of
 * the row quantizer): [0, 256) q.qs; [256, 288) -8 times its 16 group
 * sums (int16, |8 * 16 * 128| < 2^15); [288, 292) q.d; then zeros.
 */
static void dec_quantize_q6_k(const float *x, void *y, int64_t n)
{
	dec_quantize_k(true, x, y, n);
}

/* word k of half h's scale vector: the scale of the group whose products
 * the packed sums hold there (128-bit lane L = k / 8: groups 8h + L, then
 * 8h + 4 + L, four words each) */
static const int8_t d6_shuf[2][32] __attribute__((aligned(32))) = {
#define L4(h, L) 8 * h + L, 8 * h + L, 8 * h + L, 8 * h + L, 8 * h + 4 + L, 8 * h + 4 + L, \
		 8 * h + 4 + L, 8 * h + 4 + L
	{ L4(0, 0), L4(0, 1), L4(0, 2), L4(0, 3) },
	{ L4(1, 0), L4(1, 1), L4(1, 2), L4(1, 3) },
#undef L4
};

/* super-block at p against its activations a; sl, sr: the word shifts of
 * qh for the low and the high nibbles' codes */
ALWAYS_INLINE void d6_sb(const uint8_t *p, const uint8_t *a, __m512i sl, __m512i sr, __m512 *f)
{
	const struct hrt_blk_q6_k *b = (const void *)p;
	const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
	const __m512i z = _mm512_setzero_si512();
	const __m128i s8 = _mm_loadu_si128((const __m128i *)b->scales);
	const __m256i sc = _mm256_broadcastsi128_si256(s8);
	__m512i t = z;
	_Pragma("GCC unroll 2")
	for (int h = 0; h < 2; h++) {
		__m512i ql = ldz(b->ql + 64 * h);
		/* one load: GCC would read it again for the high nibbles */
		__asm__("" : "+v"(ql));
		const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
		const __m512i hh = _mm512_broadcast_i64x4(qh);
		/* A | (B & C) */
		const __m512i nlo = _mm512_and_si512(ql, m4);
		const __m512i ulo =
			_mm512_ternarylogic_epi32(nlo, _mm512_sllv_epi16(hh, sl), m30, 0xf8);
		const __m512i nhi = _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4);
		const __m512i uhi =
			_mm512_ternarylogic_epi32(nhi, _mm512_srlv_epi16(hh, sr), m30, 0xf8);
		const __m512i clo = _mm512_dpbusd_epi32(z, ulo, ldz(a + 128 * h));
		const __m512i chi = _mm512_dpbusd_epi32(z, uhi, ldz(a + 128 * h + 64));
		const __m512i sv = _mm512_cvtepi8_epi16(
			_mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)d6_shuf[h])));
		t = _mm512_dpwssd_epi32(t, _mm512_packs_epi32(clo, chi), sv);
	}
	/* the offset: 4 s_g against -8 times group g's activation sum */
	const __m256i s4 = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s8), 2);
	const __m256i gs = _mm256_loadu_si256((const __m256i *)(a + 256));
	t = _mm512_dpwssd_epi32(t, _mm512_zextsi256_si512(s4), _mm512_zextsi256_si512(gs));
	*f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t),
			     _mm512_set1_ps(hrt_f16_tab[b->d] * load_f32(a + 288)), *f);
}

/* the super-block kernels above, by weight type */
enum dk { DK_Q4_K, DK_Q5_K, DK_Q6_K };

/* what they take besides the data: Q5_K's bit tests, Q6_K's shifts */
struct dk_c {
	__m512i hb[4], sl, sr;
};

ALWAYS_INLINE void dk_step(const enum dk t, const uint8_t *q, const uint8_t *a,
			   const struct dk_c *c, __m512 *f)
{
	if (t == DK_Q6_K)
		d6_sb(q, a, c->sl, c->sr, f);
	else
		dk_sb(t == DK_Q5_K, q, a, c->hb, f);
}

ALWAYS_INLINE void dk_rows(const bool pl, const enum dk t, int64_t n, int nr, const void *w,
			   size_t ws, const void *act, float *y)
{
	const struct hrt_pf pf = hrt_pf_get();
	const int64_t ns = n / HRT_QK_K;
	const uint8_t *a = act;
	const size_t bs = t == DK_Q6_K	 ? sizeof(struct hrt_blk_q6_k)
			  : t == DK_Q5_K ? sizeof(struct hrt_blk_q5_k)
					 : sizeof(struct hrt_blk_q4_k);
	struct dk_c c;
	for (int v = 0; v < 4; v++)
		c.hb[v] = _mm512_mask_blend_epi8(0xffffffff00000000ull,
						 _mm512_set1_epi8((char)dk5_bits[v][0]),
						 _mm512_set1_epi8((char)dk5_bits[v][1]));
	/* words of the lower 256 bits, then of the upper */
	const __mmask32 up = 0xffff0000u;
	c.sl = _mm512_mask_blend_epi16(up, _mm512_set1_epi16(4), _mm512_set1_epi16(2));
	c.sr = _mm512_mask_blend_epi16(up, _mm512_setzero_si512(), _mm512_set1_epi16(2));
	for (int r = 0; r < nr; r++) {
		const uint8_t *p = (const uint8_t *)w + (size_t)r * ws;
		__m512 f0 = _mm512_setzero_ps(), f1 = _mm512_setzero_ps();
		int64_t s = 0;
		/* four super-blocks, 9 lines (Q5_K 11), a step in the
		 * every-line mode; Q6_K's 840 bytes are no whole lines, so it
		 * takes the walk (hrt_pf_sparse) */
		for (; pl && t != DK_Q6_K && s + 4 <= ns; s += 4) {
			const uint8_t *q = p + bs * (size_t)s, *aq = a + DK_SB * (size_t)s;
			hrt_pf_lines(pf, q, (int)(4 * bs / 64));
			dk_step(t, q, aq, &c, &f0);
			dk_step(t, q + bs, aq + DK_SB, &c, &f1);
			dk_step(t, q + 2 * bs, aq + 2 * DK_SB, &c, &f0);
			dk_step(t, q + 3 * bs, aq + 3 * DK_SB, &c, &f1);
		}
		for (; s + 2 <= ns; s += 2) {
			const uint8_t *q = p + bs * (size_t)s, *aq = a + DK_SB * (size_t)s;
			hrt_pf_sparse(q, 2 * bs);
			dk_step(t, q, aq, &c, &f0);
			dk_step(t, q + bs, aq + DK_SB, &c, &f1);
		}
		if (s < ns) {
			hrt_pf_sparse(p + bs * (size_t)s, bs);
			dk_step(t, p + bs * (size_t)s, a + DK_SB * (size_t)s, &c, &f0);
		}
		y[r] = _mm512_reduce_add_ps(_mm512_add_ps(f0, f1));
	}
}

/* the hrt_gemm_fn of dec[HRT_Q4_K], dec[HRT_Q5_K] and dec[HRT_Q6_K]: nt
 * is 1, n a multiple of 256 */
static void dec_q4_k(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	HRT_PF_MODES(dk_rows, DK_Q4_K, n, nr, w, ws, act, y);
}

static void dec_q5_k(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	HRT_PF_MODES(dk_rows, DK_Q5_K, n, nr, w, ws, act, y);
}

static void dec_q6_k(int64_t n, int nr, int nt, const void *w, size_t ws, const void *act,
		     size_t as, float *y, size_t ldy)
{
	(void)nt, (void)as, (void)ldy;
	HRT_PF_MODES(dk_rows, DK_Q6_K, n, nr, w, ws, act, y);
}

/* ------------------------------------------------------------ row lanes */

/*
 * Q4_0 and Q8_0 with 16 weight rows in the 16 lanes. Per block the codes
 * of 16 rows are transposed in registers (4 x 4 dword transposes inside
 * 128-bit lanes) into 8 vectors, vector g holding codes 4g..4g+3 of every
 * row; a vpdpbusd then multiplies them by 4 activations of one token
 * broadcast from memory, and after 8 of them one vector holds the block's
 * integer dot product for all 16 rows: converted and scaled once per
 * block and token. Per block of 16 rows about 32 instructions unpack
 * (Q4_0), then 12 per token; the tiles above spend about 5 per row and 2
 * per row and token on a block. The same unsigned codes, offsets (from the
 * block sums at [192, 200) of the activation tile layout) and integer sums
 * as the tiles. While the first pass over a group of rows runs, the next
 * 16 rows are prefetched at the same columns (without it, 16 rows read at
 * once from 4 KiB pages of the page cache made decoding 8 sequences slower
 * than the tiles; with it, 1.5x faster).
 * Used from a few tokens on (see RLTILES below).
 */
#define RL 16         /* rows per call, one per lane */
#define RT 8          /* tokens per pass */

/* acc += dpbusd(a, the 4 signed bytes at p in every lane), by intrinsics:
 * dpbusd_b's memory operand made GCC store every vector array it might
 * alias (the vector types may alias anything) before each product */
ALWAYS_INLINE __m512i dpbusd_m(__m512i acc, __m512i a, const void *p)
{
	return _mm512_dpbusd_epi32(acc, a, _mm512_set1_epi32(load_i32(p)));
}

/* dwords 0..3 of the 16 bytes at p + r * ws of 16 rows r, transposed:
 * o[g] lane r = dword g of row r */
ALWAYS_INLINE void rl_t4(const uint8_t *p, size_t ws, __m512i o[4])
{
	__m512i z[4]; /* z[x] lane L = row 4L + x */
	/* rows x + 4L at q + {0, w4, 2 w4, w12}: base + index * scale
	 * addressing. The empty asm hides p and ws from the loop optimizer,
	 * which otherwise made 16 row pointers into induction variables and
	 * kept them on the stack. */
	__asm__("" : "+r"(p), "+r"(ws));
	const size_t w4 = 4 * ws, w12 = 12 * ws;
	_Pragma("GCC unroll 4")
	for (int x = 0; x < 4; x++) {
		const uint8_t *q = p + (size_t)x * ws;
		__m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)q));
		v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q + w4)), 1);
		v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q + 2 * w4)), 2);
		z[x] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q + w12)), 3);
	}
	__m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
	__m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
	o[0] = _mm512_unpacklo_epi64(t0, t2);
	o[1] = _mm512_unpackhi_epi64(t0, t2);
	o[2] = _mm512_unpacklo_epi64(t1, t3);
	o[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* the dword at p + r * ws of each of 16 rows r (lane r), by one gather */
ALWAYS_INLINE __m512i rl_gather(const uint8_t *p, size_t ws)
{
	const __m512i r = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	return _mm512_i32gather_epi32(_mm512_mullo_epi32(r, _mm512_set1_epi32((int)ws)),
				      (const void *)p, 1);
}

/* the unsigned codes of one block of 16 rows (p: the block of row 0, rows
 * ws bytes apart): W[g] = elements 4g..4g+3 */
ALWAYS_INLINE void rl_codes(const enum lg t, const uint8_t *p, size_t ws, __m512i W[8])
{
	if (t == LG_Q8_0) {
		rl_t4(p + 2, ws, W);
		rl_t4(p + 18, ws, W + 4);
		_Pragma("GCC unroll 8")
		for (int g = 0; g < 8; g++)
			W[g] = _mm512_xor_si512(W[g], _mm512_set1_epi8(-128));
		return;
	}
	/* Q4_0: byte i holds element i (low nibble) and i + 16 (high) */
	__m512i o[4];
	rl_t4(p + 2, ws, o);
	const __m512i m4 = _mm512_set1_epi8(15);
	_Pragma("GCC unroll 4")
	for (int g = 0; g < 4; g++) {
		W[g] = _mm512_and_si512(o[g], m4);
		W[4 + g] = _mm512_and_si512(_mm512_srli_epi16(o[g], 4), m4);
	}
}

/* 16 rows (w, ws bytes apart) x T tokens over nb blocks; out[j] lane r =
 * row r, token j */
ALWAYS_INLINE void rl_tile(const enum lg t, const int T, int64_t nb, const uint8_t *w, size_t ws,
			   const uint8_t *const *a, float out[RT][RL], bool pf)
{
	const size_t bs = lg_bs(t);
	const int sh = lg_sh(t);
	/* one token: two chains of four products instead of one of eight */
	const int C = T == 1 ? 2 : 1;
	__m512 f[RT];
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		f[j] = _mm512_setzero_ps();
	for (int64_t B = 0; B < nb; B++) {
		const uint8_t *p = w + (size_t)B * bs;
		/* the next 16 rows, same columns: once per 64-byte line */
		if (pf && ((size_t)B * bs) / 64 != ((size_t)B * bs + bs) / 64)
			_Pragma("GCC unroll 16")
			for (int r = 0; r < RL; r++)
				_mm_prefetch((const char *)p + bs + (size_t)(RL + r) * ws, _MM_HINT_T0);
		__m512i W[8];
		rl_codes(t, p, ws, W);
		/* the weight scales, fp16 at the start of each row's block */
		const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(rl_gather(p, ws)));
		const size_t ao = (size_t)(B / 2) * TS + (size_t)(B & 1) * 32;
		const size_t so = (size_t)(B / 2) * TS + 192 + (size_t)(B & 1) * 4;
		const size_t dof = (size_t)(B / 2) * TS + 128 + (size_t)(B & 1) * 32;
		__m512i acc[RT], acc2[RT];
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++) {
			acc[j] = _mm512_slli_epi32(_mm512_set1_epi32(load_i32(a[j] + so)), (unsigned)sh);
			if (C == 2)
				acc2[j] = _mm512_setzero_si512();
		}
		_Pragma("GCC unroll 8")
		for (int g = 0; g < 8; g++)
			_Pragma("GCC unroll 8")
			for (int j = 0; j < T; j++) {
				if (C == 2 && g % 2)
					acc2[j] = dpbusd_m(acc2[j], W[g], a[j] + ao + 4 * g);
				else
					acc[j] = dpbusd_m(acc[j], W[g], a[j] + ao + 4 * g);
			}
		_Pragma("GCC unroll 8")
		for (int j = 0; j < T; j++) {
			__m512i v = C == 2 ? _mm512_add_epi32(acc[j], acc2[j]) : acc[j];
			f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v),
					       _mm512_mul_ps(dw, _mm512_set1_ps(load_f32(a[j] + dof))), f[j]);
		}
	}
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		_mm512_store_ps(out[j], f[j]);
}

/* k-quants (Q4_K, Q6_K) in row lanes over plain Q8_K activation rows: per
 * super-block of 16 rows the codes are transposed like the legacy ones,
 * the group scales become per-row int32 lanes (vpmulld of each group's dot
 * products, the Q6_K offset of 32 and the Q4_K mins through vpdpwssd of the
 * activations' group sums), d and dmin come from one gather */

/* 4 x 4 dword transpose of 16 rows held in registers (v[r]: 16 bytes of
 * row r): o[g] lane r = dword g of row r */
ALWAYS_INLINE void rl_t4r(const __m128i v[RL], __m512i o[4])
{
	__m512i z[4];
	_Pragma("GCC unroll 4")
	for (int x = 0; x < 4; x++) {
		__m512i u = _mm512_castsi128_si512(v[x]);
		u = _mm512_inserti32x4(u, v[4 + x], 1);
		u = _mm512_inserti32x4(u, v[8 + x], 2);
		z[x] = _mm512_inserti32x4(u, v[12 + x], 3);
	}
	__m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
	__m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
	o[0] = _mm512_unpacklo_epi64(t0, t2);
	o[1] = _mm512_unpackhi_epi64(t0, t2);
	o[2] = _mm512_unpacklo_epi64(t1, t3);
	o[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* byte i (0..3) of each dword lane, zero-extended / sign-extended */
ALWAYS_INLINE __m512i byte_u32(__m512i v, int i)
{
	return _mm512_and_si512(_mm512_srli_epi32(v, 8 * i), _mm512_set1_epi32(0xff));
}

ALWAYS_INLINE __m512i byte_s32(__m512i v, int i)
{
	return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * i), 24);
}

/* tot[j] += sc * (dot of the 4 code vectors W with token j's 16
 * activations at a[j] + ao) */
ALWAYS_INLINE void rlk_group4(const int T, const __m512i W[4], __m512i sc, const uint8_t *const *a,
			      size_t ao, __m512i tot[RT])
{
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++) {
		__m512i acc = _mm512_setzero_si512();
		_Pragma("GCC unroll 4")
		for (int q = 0; q < 4; q++)
			acc = dpbusd_b(acc, W[q], a[j] + ao + 4 * q);
		tot[j] = _mm512_add_epi32(tot[j], _mm512_mullo_epi32(acc, sc));
	}
}

ALWAYS_INLINE void rlk_q4_k(const int T, const uint8_t *p, size_t ws, const uint8_t *const *a,
			    size_t ao, __m512 f[RT])
{
	const __m512i m4 = _mm512_set1_epi8(15);
	/* scales and mins: o[0] bytes = scales 0-3, o[1] 4-7, o[2] mins 0-3, o[3] 4-7 */
	__m128i sv[RL];
	_Pragma("GCC unroll 16")
	for (int r = 0; r < RL; r++)
		sv[r] = k4_scale_bytes(p + (size_t)r * ws + 4);
	__m512i so[4];
	rl_t4r(sv, so);
	__m512i tot[RT];
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		tot[j] = _mm512_setzero_si512();
	/* chunk c: qs[32c..32c+31], low nibbles group 2c, high 2c + 1 */
	for (int c = 0; c < 4; c++) {
		_Pragma("GCC unroll 2")
		for (int k = 0; k < 2; k++) {
			__m512i o[4], W[4];
			rl_t4(p + 16 + 32 * c + 16 * k, ws, o);
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = _mm512_and_si512(o[q], m4);
			rlk_group4(T, W, byte_u32(so[(2 * c) / 4], (2 * c) % 4), a,
				   ao + 4 + 64 * c + 16 * k, tot);
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = _mm512_and_si512(_mm512_srli_epi16(o[q], 4), m4);
			rlk_group4(T, W, byte_u32(so[(2 * c + 1) / 4], (2 * c + 1) % 4), a,
				   ao + 4 + 64 * c + 32 + 16 * k, tot);
		}
	}
	/* mins: pairs (m_g, m_g) against the activations' bsums 2g, 2g + 1 */
	__m512i mp[8];
	_Pragma("GCC unroll 8")
	for (int g = 0; g < 8; g++) {
		__m512i m = byte_u32(so[2 + g / 4], g % 4);
		mp[g] = _mm512_or_si512(m, _mm512_slli_epi32(m, 16));
	}
	const __m512i dd = rl_gather(p, ws);
	const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd));
	const __m512 dm = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16)));
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++) {
		__m512i mn = _mm512_setzero_si512();
		_Pragma("GCC unroll 8")
		for (int g = 0; g < 8; g++)
			mn = dpwssd_b(mn, mp[g], a[j] + ao + 4 + 256 + 4 * g);
		__m512 x = _mm512_fmsub_ps(_mm512_cvtepi32_ps(tot[j]), d,
					   _mm512_mul_ps(_mm512_cvtepi32_ps(mn), dm));
		f[j] = _mm512_fmadd_ps(x, _mm512_set1_ps(load_f32(a[j] + ao)), f[j]);
	}
}

ALWAYS_INLINE void rlk_q6_k(const int T, const uint8_t *p, size_t ws, const uint8_t *const *a,
			    size_t ao, __m512 f[RT])
{
	const __m512i m4 = _mm512_set1_epi8(15);
	/* the 16 scales (signed bytes) at 192: so[q] bytes = scales 4q..4q+3 */
	__m512i so[4];
	rl_t4(p + 192, ws, so);
	__m512i tot[RT];
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		tot[j] = _mm512_setzero_si512();
	/* half h, 16 positions l = 16k..16k+15: ql[64h + l] (low nibble:
	 * element 128h + l, high: + 64), ql[64h + 32 + l] (elements + 32,
	 * + 96), qh[32h + l] (bit pairs 0-3 for + 0, + 32, + 64, + 96) */
	for (int h = 0; h < 2; h++) {
		_Pragma("GCC unroll 2")
		for (int k = 0; k < 2; k++) {
			/* A (with H) first, then B: fewer live vectors */
			__m512i A[4], H[4], W[4];
			rl_t4(p + 64 * h + 16 * k, ws, A);
			rl_t4(p + 128 + 32 * h + 16 * k, ws, H);
			/* (x & m4) | y: ternary logic 0xEA = (a & b) | c */
#define LOWOR(x, y) _mm512_ternarylogic_epi32((x), m4, (y), 0xEA)
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = LOWOR(A[q], _mm512_slli_epi16(_mm512_and_si512(H[q], _mm512_set1_epi8(3)), 4));
			int g = 8 * h + k; /* group of elements 128h + 16k .. */
			rlk_group4(T, W, byte_s32(so[g / 4], g % 4), a, ao + 4 + 16 * g, tot);
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = LOWOR(_mm512_srli_epi16(A[q], 4),
					     _mm512_and_si512(H[q], _mm512_set1_epi8(0x30)));
			g = 8 * h + 4 + k;
			rlk_group4(T, W, byte_s32(so[g / 4], g % 4), a, ao + 4 + 16 * g, tot);
			__m512i *B = A;
			rl_t4(p + 64 * h + 32 + 16 * k, ws, B);
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = LOWOR(B[q], _mm512_slli_epi16(_mm512_and_si512(H[q], _mm512_set1_epi8(12)), 2));
			g = 8 * h + 2 + k;
			rlk_group4(T, W, byte_s32(so[g / 4], g % 4), a, ao + 4 + 16 * g, tot);
			_Pragma("GCC unroll 4")
			for (int q = 0; q < 4; q++)
				W[q] = LOWOR(_mm512_srli_epi16(B[q], 4),
					     _mm512_srli_epi16(_mm512_and_si512(H[q], _mm512_set1_epi8((char)0xc0)), 2));
			g = 8 * h + 6 + k;
			rlk_group4(T, W, byte_s32(so[g / 4], g % 4), a, ao + 4 + 16 * g, tot);
#undef LOWOR
		}
	}
	/* codes are value + 32: minus 32 * sum_g scale_g * bsum_g, with the
	 * scales as int16 pairs (groups 2i, 2i + 1) times -32 */
	__m512i sp[8];
	_Pragma("GCC unroll 8")
	for (int i = 0; i < 8; i++) {
		__m512i v = _mm512_srli_epi32(so[i / 2], 16 * (i % 2));
		__m512i lo = _mm512_srai_epi16(_mm512_slli_epi16(v, 8), 8);
		__m512i hi = _mm512_srai_epi16(v, 8);
		__m512i pr = _mm512_mask_blend_epi16(0xaaaaaaaau, lo, _mm512_slli_epi32(hi, 16));
		sp[i] = _mm512_mullo_epi16(pr, _mm512_set1_epi16(-32));
	}
	/* d: the last two bytes of the 4 at 206 (never past the block) */
	const __m512i dd = rl_gather(p + 206, ws);
	const __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16)));
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++) {
		__m512i t = tot[j];
		_Pragma("GCC unroll 8")
		for (int i = 0; i < 8; i++)
			t = dpwssd_b(t, sp[i], a[j] + ao + 4 + 256 + 4 * i);
		f[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t),
				       _mm512_mul_ps(d, _mm512_set1_ps(load_f32(a[j] + ao))), f[j]);
	}
}

/* 16 rows x T tokens over ns super-blocks of Q4_K or Q6_K */
ALWAYS_INLINE void rlk_tile(const enum kq t, const int T, int64_t ns, const uint8_t *w, size_t ws,
			    const uint8_t *const *a, float out[RT][RL], bool pf)
{
	const size_t bs = kq_bs(t);
	__m512 f[RT];
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		f[j] = _mm512_setzero_ps();
	for (int64_t s = 0; s < ns; s++) {
		const uint8_t *p = w + (size_t)s * bs;
		/* the next 16 rows, same super-block */
		if (pf)
			for (int r = 0; r < RL; r++)
				for (size_t o = 0; o < bs; o += 64)
					_mm_prefetch((const char *)p + o + (size_t)(RL + r) * ws, _MM_HINT_T0);
		const size_t ao = (size_t)s * sizeof(struct hrt_blk_q8_k);
		if (t == KQ_Q4_K)
			rlk_q4_k(T, p, ws, a, ao, f);
		else
			rlk_q6_k(T, p, ws, a, ao, f);
	}
	_Pragma("GCC unroll 8")
	for (int j = 0; j < T; j++)
		_mm512_store_ps(out[j], f[j]);
}

/* ------------------------------------------------------------- drivers */

/*
 * nr rows x nt tokens: one token row by row (lg_seq_row, kq_seq_row);
 * more in tiles of TR rows (the last one repeats its last row and drops
 * the copies) and up to TT tokens. The first token group of each
 * row tile prefetches the next row tile, TR rows ahead in the row stream:
 * the weights come from the page cache in 4 KiB pages, where the hardware
 * prefetchers stop at every page boundary.
 */
#define TILES(NAME, KIND, TYPE, BLK)                                                     \
	static void NAME(int64_t n, int nr, int nt, const void *w, size_t ws,            \
			 const void *act, size_t as, float *y, size_t ldy)               \
	{                                                                                \
		const int64_t nb = n / (BLK);                                            \
		if (nt == 1) {                                                           \
			for (int r = 0; r < nr; r++)                                     \
				y[r] = KIND##_seq_row(TYPE, nb, (const uint8_t *)w + (size_t)r * ws, \
						      act);                              \
			return;                                                          \
		}                                                                        \
		for (int r0 = 0; r0 < nr; r0 += TR) {                                    \
			const int rn = nr - r0 < TR ? nr - r0 : TR;                      \
			const uint8_t *wr[TR];                                           \
			for (int r = 0; r < TR; r++)                                     \
				wr[r] = (const uint8_t *)w +                             \
					(size_t)(r0 + (r < rn ? r : rn - 1)) * ws;       \
			for (int t0 = 0; t0 < nt; t0 += TT) {                            \
				const int tn = nt - t0 < TT ? nt - t0 : TT;              \
				const uint8_t *ar[TT];                                   \
				for (int j = 0; j < TT; j++)                             \
					ar[j] = (const uint8_t *)act +                   \
						(size_t)(t0 + (j < tn ? j : tn - 1)) * as; \
				float out[TT][TR];                                       \
				size_t pf = t0 == 0 ? TR * ws : 0;                       \
				switch (tn) {                                            \
				case 1: KIND##_tile(TYPE, 1, nb, wr, ar, out, pf); break; \
				case 2: KIND##_tile(TYPE, 2, nb, wr, ar, out, pf); break; \
				case 3: KIND##_tile(TYPE, 3, nb, wr, ar, out, pf); break; \
				default: KIND##_tile(TYPE, 4, nb, wr, ar, out, pf); break; \
				}                                                        \
				for (int j = 0; j < tn; j++)                             \
					for (int r = 0; r < rn; r++)                     \
						y[(size_t)(t0 + j) * ldy + (size_t)(r0 + r)] = \
							out[j][r];                       \
			}                                                                \
		}                                                                        \
	}

_Static_assert(TT == 4, "the switch in TILES");
_Static_assert(4 * sizeof(struct hrt_blk_q4_k) % 64 == 0, "dk_rows' step of whole lines");
_Static_assert(4 * sizeof(struct hrt_blk_q5_k) % 64 == 0, "dk_rows' step of whole lines");

TILES(tile_q4_0, lg, LG_Q4_0, HRT_QK)
TILES(tile_q5_0, lg, LG_Q5_0, HRT_QK)
TILES(tile_q8_0, lg, LG_Q8_0, HRT_QK)
TILES(tile_q4_1, lg, LG_Q4_1, HRT_QK)
TILES(tile_q5_1, lg, LG_Q5_1, HRT_QK)
TILES(tile_q4_k, kq, KQ_Q4_K, HRT_QK_K)
TILES(tile_q5_k, kq, KQ_Q5_K, HRT_QK_K)
TILES(tile_q6_k, kq, KQ_Q6_K, HRT_QK_K)
TILES(tile_q3_k, kq, KQ_Q3_K, HRT_QK_K)
TILES(tile_q2_k, kq, KQ_Q2_K, HRT_QK_K)


/* row lanes: nr rows in groups of RL, tokens RT at a time; the last
 * nr % RL rows go to the tiles (TILE_FN) */
#define RLTILES(NAME, KERN, TYPE, BLK, MIN_T, TILE_FN)                                                     \
	static void NAME(int64_t n, int nr, int nt, const void *w, size_t ws,            \
			 const void *act, size_t as, float *y, size_t ldy)               \
	{                                                                                \
		const int64_t nb = n / (BLK);                                                   \
		const int nr16 = nt < (MIN_T) ? 0 : nr / RL * RL;                        \
		for (int r0 = 0; r0 < nr16; r0 += RL) {                                  \
			const uint8_t *wr = (const uint8_t *)w + (size_t)r0 * ws;        \
			for (int t0 = 0; t0 < nt; t0 += RT) {                            \
				const int tn = nt - t0 < RT ? nt - t0 : RT;              \
				const uint8_t *ar[RT];                                   \
				for (int j = 0; j < RT; j++)                             \
					ar[j] = (const uint8_t *)act +                   \
						(size_t)(t0 + (j < tn ? j : tn - 1)) * as; \
				float out[RT][RL] __attribute__((aligned(64)));          \
				switch (tn) {                                            \
				case 1: KERN(TYPE, 1, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 2: KERN(TYPE, 2, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 3: KERN(TYPE, 3, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 4: KERN(TYPE, 4, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 5: KERN(TYPE, 5, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 6: KERN(TYPE, 6, nb, wr, ws, ar, out, t0 == 0); break;       \
				case 7: KERN(TYPE, 7, nb, wr, ws, ar, out, t0 == 0); break;       \
				default: KERN(TYPE, 8, nb, wr, ws, ar, out, t0 == 0); break;      \
				}                                                        \
				for (int j = 0; j < tn; j++)                             \
					memcpy(y + (size_t)(t0 + j) * ldy + r0, out[j],  \
					       sizeof out[j]);                           \
			}                                                                \
		}                                                                        \
		if (nr16 < nr)                                                           \
			TILE_FN(n, nr - nr16, nt, (const uint8_t *)w + (size_t)nr16 * ws, ws, \
				act, as, y + nr16, ldy);                                 \
	}

_Static_assert(RT == 8, "the switch in RLTILES");

/* from how many tokens on (fewer: the tiles), bench/kern_bench -H -t 1,
 * ffn_up, ms, tiles vs row lanes: Q4_0 n=2 0.42 vs 0.38, n=8 1.49 vs 0.79;
 * Q4_K n=3 0.57 vs 0.52, n=8 1.45 vs 0.88; Q6_K n=3 0.55 vs 0.64, n=8 1.33
 * vs 1.06 (its unpacking, three transposes per 16 codes of a row, costs
 * what 5 tokens do). In a 2-thread decode of Q4_0 1B with 1 and 2
 * sequences they measured the same: the tiles keep n < 3. */
RLTILES(rl_q4_0, rl_tile, LG_Q4_0, HRT_QK, 3, tile_q4_0)
RLTILES(rl_q8_0, rl_tile, LG_Q8_0, HRT_QK, 3, tile_q8_0)
RLTILES(rl_q4_k, rlk_tile, KQ_Q4_K, HRT_QK_K, 3, tile_q4_k)
RLTILES(rl_q6_k, rlk_tile, KQ_Q6_K, HRT_QK_K, 6, tile_q6_k)

/* ------------------------------------------------------------------ table */

/* Tiles below these token counts (decode included), the panel gemm from
 * there. Crossover measured on ffn_up 8192x2048 (bench/kern_bench -c -M,
 * 2 threads, medians of 5, ms, tiles vs panels): Q4_0 n=4 0.38 vs 0.84,
 * n=8 0.69 vs 0.89, n=12 1.04 vs 0.92, n=16 1.65 vs 0.87; Q4_K n=8 0.97
 * vs 1.28, n=12 1.44 vs 1.33; Q8_0 and Q6_K alike. */
#ifndef TILE_N_Q8_0
#define TILE_N_Q8_0 11
#endif
#ifndef TILE_N_Q8_K
#define TILE_N_Q8_K 11
#endif

void hrt_kern_fill_avx512_tile(struct hrt_kern_isa *t)
{
	t->tile[HRT_Q4_0] = rl_q4_0;
	t->tile[HRT_Q5_0] = tile_q5_0;
	t->tile[HRT_Q8_0] = rl_q8_0;
	t->tile[HRT_Q4_1] = tile_q4_1;
	t->tile[HRT_Q5_1] = tile_q5_1;
	t->tile[HRT_Q2_K] = tile_q2_k;
	t->tile[HRT_Q3_K] = tile_q3_k;
	t->tile[HRT_Q4_K] = rl_q4_k;
	t->tile[HRT_Q5_K] = tile_q5_k;
	t->tile[HRT_Q6_K] = rl_q6_k;

	t->tile_quantize[HRT_Q8_0] = tile_quantize_q8_0;
	t->tile_blk_bytes[HRT_Q8_0] = TS_BLK;
	t->tile_quantize[HRT_Q8_1] = tile_quantize_q8_1;
	t->tile_blk_bytes[HRT_Q8_1] = TS_BLK;
	t->tile_n[HRT_Q8_0] = TILE_N_Q8_0;
	t->tile_n[HRT_Q8_1] = TILE_N_Q8_0;
	t->tile_n[HRT_Q8_K] = TILE_N_Q8_K;

	t->dec[HRT_Q4_0] = dec_q4_0;
	t->dec_quantize[HRT_Q4_0] = dec_quantize_q4_0;
	t->dec_cols[HRT_Q4_0] = HRT_QK;
	t->dec_act_bytes[HRT_Q4_0] = DT_BLK; /* >= DQ_PBYTES / 32 */
	t->dec[HRT_Q8_0] = dec_q8_0;
	t->dec_quantize[HRT_Q8_0] = dec_quantize_q8_0;
	t->dec_cols[HRT_Q8_0] = HRT_QK;
	t->dec_act_bytes[HRT_Q8_0] = D8_PBYTES / 32; /* >= DT_BLK */
	t->dec[HRT_Q4_K] = dec_q4_k;
	t->dec_quantize[HRT_Q4_K] = dec_quantize_q4_k;
	t->dec_cols[HRT_Q4_K] = HRT_QK_K;
	t->dec_act_bytes[HRT_Q4_K] = DK_SB;
	t->dec[HRT_Q6_K] = dec_q6_k;
	t->dec_quantize[HRT_Q6_K] = dec_quantize_q6_k;
	t->dec_cols[HRT_Q6_K] = HRT_QK_K;
	t->dec_act_bytes[HRT_Q6_K] = DK_SB; /* as many bytes, its own layout */
	t->dec[HRT_Q5_K] = dec_q5_k;
	t->dec_quantize[HRT_Q5_K] = dec_quantize_q4_k; /* the same layout */
	t->dec_cols[HRT_Q5_K] = HRT_QK_K;
	t->dec_act_bytes[HRT_Q5_K] = DK_SB;
}
