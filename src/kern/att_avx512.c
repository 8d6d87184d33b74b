/*
 * kern/att_avx512 — AVX-512 attention kernels: scores against the F16
 * cache's key blocks and against Q8_0 key rows, weighted sums of F16 value
 * channels and of Q8_0 value rows, softmax, and rounding to f16. The
 * entries of struct hrt_kern_isa that forward.c's attention calls (kern.h
 * says what each computes); the cache layout itself is forward.c's.
 * Numerics: products in float (F16) or exact integers (Q8_0, scaled per
 * block in float), sums in another order than the portable kernels (~1e-6
 * relative).
 */
#include <math.h>

#include "kern/avx512_int.h"
#include "kern/prefetch.h"

static void round_f16(float *x, int64_t n)
{
	int64_t i = 0;
	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(x + i, _mm512_cvtph_ps(_mm512_cvtps_ph(
			_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(_mm512_cvtps_ph(
			_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
	}
}

/* ------------------------------------------------------ attention scores */

/* lane k of the result = the sum of the lanes of v[k] (16 vectors) */
ALWAYS_INLINE __m512 hsum16(const __m512 v[16])
{
	__m512 t[8], u[4], w[2];
	_Pragma("GCC unroll 8")
	for (int m = 0; m < 8; m++) /* per 128-bit lane: v2m, v2m+1 interleaved */
		t[m] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * m], v[2 * m + 1]),
				     _mm512_unpackhi_ps(v[2 * m], v[2 * m + 1]));
	_Pragma("GCC unroll 4")
	for (int m = 0; m < 4; m++) { /* per 128-bit lane: v4m .. v4m+3 */
		__m512d a = _mm512_castps_pd(t[2 * m]), b = _mm512_castps_pd(t[2 * m + 1]);
		u[m] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
				     _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
	}
	_Pragma("GCC unroll 2")
	for (int m = 0; m < 2; m++)
		w[m] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
				     _mm512_shuffle_f32x4(u[2 * m], u[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
	return _mm512_add_ps(_mm512_shuffle_f32x4(w[0], w[1], _MM_SHUFFLE(2, 0, 2, 0)),
			     _mm512_shuffle_f32x4(w[0], w[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* 4 rows x up to 4 vectors per step: each row chunk is converted once for
 * all vectors (the probabilities of the query heads sharing a KV head,
 * against the rows of values), and the 16 dot products are summed across
 * lanes together (hsum16) rather than one by one. The last chunk of a
 * length that is not a multiple of 16 is read with a mask, in a step of
 * its own: unmasked, the loads fold into the conversions. The vectors are
 * floats (already rounded to f16 by the caller). The next 4 rows are
 * prefetched meanwhile, a line of each every 32 elements: a row of values
 * is a short stream (2 KiB at 1024 positions) that the hardware prefetcher
 * barely starts on before it ends. Decode at depth 1024, 1B Q4_0 bench
 * model, 2 threads, 5 alternating pairs of tg64 x 2: median token
 * 44.47-45.77 -> 45.90-46.78 tok/s (each pair's prefetched run faster).
 * Rows of QK_ROW_MIN elements and more are long streams of their own, and
 * the next rows, a whole row ahead, came too far ahead for L1 (4 rows of 8
 * KiB at 4096 positions): each row's line QK_ROW_L1 elements on goes into
 * L1 and its line QK_ROW_L2 on into L2 (both running on into the same row
 * of the next 4). At depth 4096 (1B Q4_0 bench model, 2 threads, rdtsc
 * around each head's values) a head's values (512 KiB) took 40.0-41.6 us
 * -> 39.1-39.2, read at 13.4 GB/s against 16.5 for one core's plain read;
 * with the keys' farther prefetch (sc_blocks) tg32 @ d4096 36.5 -> 37.9
 * tok/s, @ d1024 43.8 -> 44.5 (medians of 3 alternating rounds). */
#define QK_ROW_L1 512
#define QK_ROW_L2 2048
#define QK_ROW_MIN (2 * QK_ROW_L1)

/* element e of the stream that runs from row kr (hd elements) on into row
 * nx (e < 2 * hd) */
ALWAYS_INLINE const uint16_t *qk_ahead(const uint16_t *kr, const uint16_t *nx, int64_t e,
				       int64_t hd)
{
	return e < hd ? kr + e : nx + (e - hd);
}
ALWAYS_INLINE void qk_rows(const int nq, int64_t hd, int64_t np, const uint16_t *k, size_t ks,
			   const float *q, size_t qs, float *out, size_t os)
{
	const float *qr[4];
	for (int i = 0; i < nq; i++)
		qr[i] = q + (size_t)i * qs;
	/* long rows; the L2 distance stays inside the next row */
	const bool lng = hd >= QK_ROW_MIN;
	const int64_t l2 = hd > QK_ROW_L2 ? QK_ROW_L2 : hd / 2 & ~(int64_t)31;
	for (int64_t p0 = 0; p0 < np; p0 += 4) {
		const uint16_t *kr[4], *nx[4];
		for (int pp = 0; pp < 4; pp++) {
			kr[pp] = k + (size_t)(p0 + pp < np ? p0 + pp : np - 1) * ks;
			nx[pp] = k + (size_t)(p0 + 4 + pp < np ? p0 + 4 + pp : np - 1) * ks;
		}
		__m512 acc[16]; /* [vector i][row pp] at 4i + pp; i >= nq stay 0 */
		_Pragma("GCC unroll 16")
		for (int x = 0; x < 16; x++)
			acc[x] = _mm512_setzero_ps();
		int64_t d = 0;
		for (; d + 16 <= hd; d += 16) {
			if (!(d & 31)) /* a line of each row every 32 elements */
				_Pragma("GCC unroll 4")
				for (int pp = 0; pp < 4; pp++) {
					if (!lng) {
						_mm_prefetch((const char *)(nx[pp] + d), _MM_HINT_T0);
						continue;
					}
					_mm_prefetch((const char *)qk_ahead(kr[pp], nx[pp], d + QK_ROW_L1, hd),
						     _MM_HINT_T0);
					_mm_prefetch((const char *)qk_ahead(kr[pp], nx[pp], d + l2, hd),
						     _MM_HINT_T2);
				}
			__m512 kv[4];
			_Pragma("GCC unroll 4")
			for (int pp = 0; pp < 4; pp++)
				kv[pp] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kr[pp] + d)));
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				__m512 qv = _mm512_loadu_ps(qr[i] + d);
				_Pragma("GCC unroll 4")
				for (int pp = 0; pp < 4; pp++)
					acc[4 * i + pp] = _mm512_fmadd_ps(kv[pp], qv, acc[4 * i + pp]);
			}
		}
		if (d < hd) {
			const __mmask16 m = (__mmask16)((1u << (hd - d)) - 1);
			__m512 kv[4];
			_Pragma("GCC unroll 4")
			for (int pp = 0; pp < 4; pp++)
				kv[pp] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, kr[pp] + d));
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				__m512 qv = _mm512_maskz_loadu_ps(m, qr[i] + d);
				_Pragma("GCC unroll 4")
				for (int pp = 0; pp < 4; pp++)
					acc[4 * i + pp] = _mm512_fmadd_ps(kv[pp], qv, acc[4 * i + pp]);
			}
		}
		__m512 s = hsum16(acc);
		int pn = np - p0 < 4 ? (int)(np - p0) : 4;
		float tmp[16] __attribute__((aligned(64)));
		_mm512_store_ps(tmp, s);
		/* a masked store per vector: GCC made the copy of pn floats a
		 * call to memmove (perf: 1.1 % of decode at depth 4096, 2.1 %
		 * of pp at depth 2048). pp256 and tg32 @ d1024, 3 alternating
		 * runs: 200.6-211.5 -> 207.0-214.1 and 36.8-38.0 -> 37.7-38.5
		 * tok/s; tg32 @ d4096 the same within the noise */
		const __mmask8 pm = (__mmask8)((1u << pn) - 1);
		for (int i = 0; i < nq; i++)
			_mm_mask_storeu_ps(out + (size_t)i * os + (size_t)p0, pm, _mm_load_ps(tmp + 4 * i));
	}
}

/* the number of vectors as a constant, so none is computed for nothing */
static void qk_f16(int64_t np, int64_t nr, const uint16_t *k, size_t ks, const float *q,
		   int nq, size_t qs, float *out, size_t os)
{
	switch (nq) {
	case 1: qk_rows(1, np, nr, k, ks, q, qs, out, os); break;
	case 2: qk_rows(2, np, nr, k, ks, q, qs, out, os); break;
	case 3: qk_rows(3, np, nr, k, ks, q, qs, out, os); break;
	case 4: qk_rows(4, np, nr, k, ks, q, qs, out, os); break;
	default: break;
	}
}

/*
 * Scores against keys in blocks of 16 positions (kern.h): per element d,
 * the 16 keys of a block are one load and one conversion, and each query
 * meets them with one fma reading its element d broadcast from memory;
 * the 16 lanes are 16 positions, so the scores come out in order with no
 * sum across lanes. NB blocks per step keep nq * NB fmas in flight. Keys
 * are prefetched QK_PF_AHEAD bytes ahead (one head's blocks lie one after
 * another; the hardware did not run ahead of the rows of the layout
 * before, and the same prefetch there took decode at depth 4096, 1B Q4_0
 * bench model, 2 threads, from 28.3-29.8 to 31.1-32.5 tok/s) into L1, and
 * QK_PF_FAR bytes further into L2, as the decode kernels read weights
 * (kern/prefetch.h): at depth 4096 a head's scores (512 KiB of keys) took
 * 44.6-45.2 us -> 37.3-38.0, rdtsc around each.
 */
#define QK_PF_AHEAD 4096
#define QK_PF_FAR 8192
static const struct hrt_pf qk_pf = { QK_PF_AHEAD, QK_PF_AHEAD + QK_PF_FAR };
_Static_assert(HRT_KV_BLK == 16, "a block of keys is one vector");
ALWAYS_INLINE void sc_blocks(const int nq, const int NB, int64_t hd, int64_t nb, const uint16_t *k,
			     const float *q, size_t qs, float *out, size_t os, int64_t np)
{
	const size_t bs = (size_t)HRT_KV_BLK * (size_t)hd; /* u16 per block */
	for (int64_t b = 0; b + NB <= nb; b += NB) {
		const uint16_t *kb = k + (size_t)b * bs;
		__m512 acc[8][4];
		_Pragma("GCC unroll 8")
		for (int i = 0; i < nq; i++)
			_Pragma("GCC unroll 4")
			for (int j = 0; j < NB; j++)
				acc[i][j] = _mm512_setzero_ps();
		for (int64_t d = 0; d < hd; d++) {
			/* NB blocks of hd lines of 32 bytes: NB / 2 lines per d */
			hrt_pf_lines(qk_pf, (const char *)kb + (size_t)d * ((NB + 1) / 2) * 64,
				     (NB + 1) / 2);
			__m512 x[4];
			_Pragma("GCC unroll 4")
			for (int j = 0; j < NB; j++)
				x[j] = _mm512_cvtph_ps(_mm256_loadu_si256(
					(const __m256i *)(kb + (size_t)j * bs + (size_t)d * HRT_KV_BLK)));
			_Pragma("GCC unroll 8")
			for (int i = 0; i < nq; i++) {
				const __m512 qv = _mm512_set1_ps(q[(size_t)i * qs + (size_t)d]);
				_Pragma("GCC unroll 4")
				for (int j = 0; j < NB; j++)
					acc[i][j] = _mm512_fmadd_ps(x[j], qv, acc[i][j]);
			}
		}
		_Pragma("GCC unroll 4")
		for (int j = 0; j < NB; j++) {
			const int64_t p = (b + j) * HRT_KV_BLK;
			const __mmask16 m = np - p >= 16 ? (__mmask16)0xffff
							 : (__mmask16)((1u << (np - p)) - 1);
			_Pragma("GCC unroll 8")
			for (int i = 0; i < nq; i++)
				_mm512_mask_storeu_ps(out + (size_t)i * os + (size_t)p, m, acc[i][j]);
		}
	}
}

/* up to 8 queries at a time; 2 blocks per step (4 for one or two
 * queries), then the blocks left one at a time */
ALWAYS_INLINE void sc_queries(const int nq, int64_t hd, int64_t np, const uint16_t *k,
			      const float *q, size_t qs, float *out, size_t os)
{
	const int NB = nq <= 2 ? 4 : 2;
	const int64_t nb = (np + HRT_KV_BLK - 1) / HRT_KV_BLK, nf = nb / NB * NB;
	sc_blocks(nq, NB, hd, nf, k, q, qs, out, os, np);
	const size_t bs = (size_t)HRT_KV_BLK * (size_t)hd;
	if (nf < nb)
		sc_blocks(nq, 1, hd, nb - nf, k + (size_t)nf * bs, q, qs,
			  out + (size_t)nf * HRT_KV_BLK, os, np - nf * HRT_KV_BLK);
}

static void att_scores(int64_t hd, int64_t np, const uint16_t *k, const float *q, int nq,
		       size_t qs, float *out, size_t os)
{
	for (; nq > 0; nq -= 8, q += 8 * qs, out += 8 * os) {
		switch (nq < 8 ? nq : 8) {
		case 1: sc_queries(1, hd, np, k, q, qs, out, os); break;
		case 2: sc_queries(2, hd, np, k, q, qs, out, os); break;
		case 3: sc_queries(3, hd, np, k, q, qs, out, os); break;
		case 4: sc_queries(4, hd, np, k, q, qs, out, os); break;
		case 5: sc_queries(5, hd, np, k, q, qs, out, os); break;
		case 6: sc_queries(6, hd, np, k, q, qs, out, os); break;
		case 7: sc_queries(7, hd, np, k, q, qs, out, os); break;
		default: sc_queries(8, hd, np, k, q, qs, out, os); break;
		}
	}
}

/*
 * Scores against a Q8_0 cache (kern.h), 4 queries x 4 keys per step as
 * qk_rows: the codes of two blocks are one vector, the keys' made unsigned
 * (+128, one xor shared by the queries) for vpdpbusd against the query's
 * signed codes, which starts from -128 times the sum of the query's four
 * codes in each lane, so each lane's integer is exact; each lane then
 * takes its block's two scales in float and the 16 dot products are summed
 * across lanes together (hsum16). Queries of up to SQ_PAIRS pairs of
 * blocks (head size 512); longer ones take the portable kernel. The keys
 * (one head's positions lie one after another) are prefetched as sc_blocks
 * prefetches F16 keys; so are the values (vq_cols). Without it, at depth
 * 4096 (1B Q4_0 bench model, 2 threads, rdtsc around each head) a head's
 * scores took 52.8-53.1 us and its values 45.4-45.9 for 278 KB each,
 * with it 41.9-42.5 and 25.8-26.6; tg32 36.1-36.2 -> 38.8 tok/s.
 */
#define SQ_PAIRS 8
struct sq_query {
	__m512i c[SQ_PAIRS], nc[SQ_PAIRS]; /* codes; -128 x sums of 4 */
	__m512 d[SQ_PAIRS];                /* the blocks' d in their lanes */
};

/* the codes of blocks b and b + 1 (zeros for a missing second) and their
 * d over lanes 0-7 and 8-15 */
ALWAYS_INLINE __m512i sq_codes(const struct hrt_blk_q8_0 *b, bool two)
{
	const __m256i lo = _mm256_loadu_si256((const __m256i *)b[0].qs);
	return cat256(lo, two ? _mm256_loadu_si256((const __m256i *)b[1].qs) : _mm256_setzero_si256());
}

ALWAYS_INLINE __m512 sq_scales(const struct hrt_blk_q8_0 *b, bool two)
{
	return _mm512_mask_blend_ps((__mmask16)0xff00, _mm512_set1_ps(hrt_f16_tab[b[0].d]),
				    _mm512_set1_ps(two ? hrt_f16_tab[b[1].d] : 0.0f));
}

ALWAYS_INLINE void sq_rows(const int nq, int64_t hd, int64_t np, const uint8_t *k, size_t ks,
			   const struct sq_query *Q, float scale, float *out, size_t os)
{
	const int nb = (int)(hd / HRT_QK), npair = (nb + 1) / 2;
	const __m512i flip = _mm512_set1_epi8(-128);
	for (int64_t p0 = 0; p0 < np; p0 += 4) {
		const struct hrt_blk_q8_0 *kr[4];
		for (int pp = 0; pp < 4; pp++)
			kr[pp] = (const void *)(k + (size_t)(p0 + pp < np ? p0 + pp : np - 1) * ks);
		/* the 4 rows' bytes, QK_PF_AHEAD on into L1 and QK_PF_FAR
		 * further into L2 (a line is sometimes fetched twice) */
		for (size_t o = 0; o < 4 * ks; o += 64)
			hrt_pf_lines(qk_pf, k + (size_t)p0 * ks + o, 1);
		__m512 acc[16];
		_Pragma("GCC unroll 16")
		for (int x = 0; x < 16; x++)
			acc[x] = _mm512_setzero_ps();
		for (int b = 0; b < npair; b++) {
			const bool two = 2 * b + 1 < nb;
			__m512i kx[4];
			__m512 kd[4];
			_Pragma("GCC unroll 4")
			for (int pp = 0; pp < 4; pp++) {
				kx[pp] = _mm512_xor_si512(sq_codes(kr[pp] + 2 * b, two), flip);
				kd[pp] = sq_scales(kr[pp] + 2 * b, two);
			}
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++)
				_Pragma("GCC unroll 4")
				for (int pp = 0; pp < 4; pp++) {
					const __m512i t = _mm512_dpbusd_epi32(Q[i].nc[b], kx[pp], Q[i].c[b]);
					acc[4 * i + pp] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t),
									  _mm512_mul_ps(kd[pp], Q[i].d[b]),
									  acc[4 * i + pp]);
				}
		}
		float tmp[16] __attribute__((aligned(64)));
		_mm512_store_ps(tmp, _mm512_mul_ps(hsum16(acc), _mm512_set1_ps(scale)));
		const int pn = np - p0 < 4 ? (int)(np - p0) : 4;
		const __mmask8 pm = (__mmask8)((1u << pn) - 1);
		for (int i = 0; i < nq; i++)
			_mm_mask_storeu_ps(out + (size_t)i * os + (size_t)p0, pm, _mm_load_ps(tmp + 4 * i));
	}
}

static void att_scores_q8_0(int64_t hd, int64_t np, const void *k, size_t ks, const void *q,
			    int nq, size_t qs, float scale, float *out, size_t os)
{
	const int nb = (int)(hd / HRT_QK), npair = (nb + 1) / 2;
	if (npair > SQ_PAIRS) {
		hrt_att_scores_q8_0_dots(hd, np, k, ks, q, nq, qs, scale, out, os);
		return;
	}
	const __m512i u128 = _mm512_set1_epi8(-128);
	for (; nq > 0; nq -= 4, q = (const uint8_t *)q + 4 * qs, out += 4 * os) {
		const int n4 = nq < 4 ? nq : 4;
		struct sq_query Q[4];
		for (int i = 0; i < n4; i++) {
			const struct hrt_blk_q8_0 *b = (const void *)((const uint8_t *)q + (size_t)i * qs);
			for (int j = 0; j < npair; j++) {
				const bool two = 2 * j + 1 < nb;
				Q[i].c[j] = sq_codes(b + 2 * j, two);
				Q[i].nc[j] = _mm512_sub_epi32(_mm512_setzero_si512(),
							      _mm512_dpbusd_epi32(_mm512_setzero_si512(),
										  u128, Q[i].c[j]));
				Q[i].d[j] = sq_scales(b + 2 * j, two);
			}
		}
		switch (n4) {
		case 1: sq_rows(1, hd, np, k, ks, Q, scale, out, os); break;
		case 2: sq_rows(2, hd, np, k, ks, Q, scale, out, os); break;
		case 3: sq_rows(3, hd, np, k, ks, Q, scale, out, os); break;
		default: sq_rows(4, hd, np, k, ks, Q, scale, out, os); break;
		}
	}
}

/*
 * Weighted values of a Q8_0 cache (kern.h): per position, each block's 32
 * codes widen to two float vectors times the block's d (exact), shared by
 * up to 4 probability rows, each adding its probability times them (one
 * fma per 16 values); 64 columns (4 vectors per row) per pass.
 */
ALWAYS_INLINE void vq_cols(const int nq, const int nc, int64_t np, const uint8_t *v, size_t vs,
			   const float *pr, size_t ps, float *out, size_t os)
{
	__m512 acc[4][4];
	_Pragma("GCC unroll 4")
	for (int i = 0; i < nq; i++)
		_Pragma("GCC unroll 4")
		for (int c = 0; c < nc; c++)
			acc[i][c] = _mm512_setzero_ps();
	for (int64_t p = 0; p < np; p++, v += vs) {
		const struct hrt_blk_q8_0 *b = (const void *)v;
		hrt_pf_lines(qk_pf, v, 1);
		__m512 x[4];
		_Pragma("GCC unroll 4")
		for (int c = 0; c < nc; c++)
			x[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
						     (const __m128i *)(b[c / 2].qs + 16 * (c % 2))))),
					     _mm512_set1_ps(hrt_f16_tab[b[c / 2].d]));
		_Pragma("GCC unroll 4")
		for (int i = 0; i < nq; i++) {
			const __m512 a = _mm512_set1_ps(pr[(size_t)i * ps + (size_t)p]);
			_Pragma("GCC unroll 4")
			for (int c = 0; c < nc; c++)
				acc[i][c] = _mm512_fmadd_ps(a, x[c], acc[i][c]);
		}
	}
	_Pragma("GCC unroll 4")
	for (int i = 0; i < nq; i++)
		_Pragma("GCC unroll 4")
		for (int c = 0; c < nc; c++)
			_mm512_storeu_ps(out + (size_t)i * os + 16 * c, acc[i][c]);
}

ALWAYS_INLINE void vq_rows(const int nq, int64_t hd, int64_t np, const uint8_t *v, size_t vs,
			   const float *pr, size_t ps, float *out, size_t os)
{
	const size_t cb = 2 * sizeof(struct hrt_blk_q8_0); /* bytes of 64 columns */
	int64_t c = 0;
	for (; c + 64 <= hd; c += 64)
		vq_cols(nq, 4, np, v + (size_t)c / 64 * cb, vs, pr, ps, out + c, os);
	if (c < hd) /* 32 columns: one block */
		vq_cols(nq, 2, np, v + (size_t)c / 64 * cb, vs, pr, ps, out + c, os);
}

static void att_values_q8_0(int64_t hd, int64_t np, const void *v, size_t vs, const float *pr,
			    int nq, size_t ps, float *out, size_t os)
{
	for (; nq > 0; nq -= 4, pr += 4 * ps, out += 4 * os) {
		switch (nq < 4 ? nq : 4) {
		case 1: vq_rows(1, hd, np, v, vs, pr, ps, out, os); break;
		case 2: vq_rows(2, hd, np, v, vs, pr, ps, out, os); break;
		case 3: vq_rows(3, hd, np, v, vs, pr, ps, out, os); break;
		default: vq_rows(4, hd, np, v, vs, pr, ps, out, os); break;
		}
	}
}

/* softmax: vector max, libmvec exp, sums in 16 float lanes */
static void softmax(float *x, int64_t n)
{
	float mx = -INFINITY;
	int64_t i = 0;
	if (n >= 16) {
		__m512 vm = _mm512_loadu_ps(x);
		for (i = 16; i + 16 <= n; i += 16)
			vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
		float t[16];
		_mm512_storeu_ps(t, vm);
		for (int k = 0; k < 16; k++)
			mx = t[k] > mx ? t[k] : mx;
	}
	for (; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	const __m512 vmx = _mm512_set1_ps(mx);
	__m512 vs = _mm512_setzero_ps();
	for (i = 0; i + 16 <= n; i += 16) {
		__m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmx));
		_mm512_storeu_ps(x + i, e);
		vs = _mm512_add_ps(vs, e);
	}
	float t[16], sum = 0;
	_mm512_storeu_ps(t, vs);
	for (int k = 0; k < 16; k++)
		sum += t[k];
	for (; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	const float inv = 1.0f / sum;
	const __m512 vi = _mm512_set1_ps(inv);
	for (i = 0; i + 16 <= n; i += 16)
		_mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), vi));
	for (; i < n; i++)
		x[i] *= inv;
}

/* ------------------------------------------------------------------ table */

void hrt_kern_fill_avx512_att(struct hrt_kern_isa *t)
{
	t->softmax = softmax;
	t->qk_f16 = qk_f16;
	t->att_scores = att_scores;
	t->round_f16 = round_f16;
	t->att_values_q8_0 = att_values_q8_0;
	t->att_scores_q8_0 = att_scores_q8_0;
}
