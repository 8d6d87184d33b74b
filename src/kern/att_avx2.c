/*
 * kern/att_avx2 — AVX2 (+ FMA, F16C) attention kernels, in both AVX2
 * tables (kern_avx2.c and its AVX-VNNI twin): softmax, scores against the
 * F16 cache's key blocks and against Q8_0 key rows, weighted sums of F16
 * value channels and of Q8_0 value rows, and rounding to f16. The entries
 * of struct hrt_kern_isa that forward.c's attention calls (kern.h says
 * what each computes); the cache layout itself is forward.c's. Numerics:
 * products in float (F16) or exact integers (Q8_0, scaled per block in
 * float), sums in another order than the portable kernels (~1e-6
 * relative).
 */
#include <math.h>

#include "kern/avx2_int.h"
#include "kern/prefetch.h"

/* softmax: vector max, libmvec exp, sums in 8 float lanes */
static void softmax(float *x, int64_t n)
{
	float mx = -INFINITY;
	int64_t i = 0;
	if (n >= 8) {
		__m256 vm = _mm256_loadu_ps(x);
		for (i = 8; i + 8 <= n; i += 8)
			vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
		float t[8];
		_mm256_storeu_ps(t, vm);
		for (int k = 0; k < 8; k++)
			mx = t[k] > mx ? t[k] : mx;
	}
	for (; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	const __m256 vmx = _mm256_set1_ps(mx);
	__m256 vs = _mm256_setzero_ps();
	for (i = 0; i + 8 <= n; i += 8) {
		__m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
		_mm256_storeu_ps(x + i, e);
		vs = _mm256_add_ps(vs, e);
	}
	float t[8], sum = 0;
	_mm256_storeu_ps(t, vs);
	for (int k = 0; k < 8; k++)
		sum += t[k];
	for (; i < n; i++) {
		x[i] = expf(x[i] - mx);
		sum += x[i];
	}
	const float inv = 1.0f / sum;
	const __m256 vi = _mm256_set1_ps(inv);
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vi));
	for (; i < n; i++)
		x[i] *= inv;
}

/*
 * Attention scores against keys in blocks of HRT_KV_BLK positions (kern.h),
 * as in att_avx512.c: per element d, a block's 16 keys are two loads and
 * two conversions, and each query meets them with two fmas reading its
 * element d broadcast; up to 4 queries a pass (16 registers), two blocks
 * per step for one or two queries to keep enough fmas in flight. Keys are
 * prefetched SC_PF_AHEAD bytes ahead into L1 and SC_PF_FAR further into
 * L2, as the AVX-512 kernels prefetch them; so are the Q8_0 cache's keys
 * (sq_rows) and values (vq_block). 1B Q4_0 bench model, HEARTH_ISA=avx2,
 * tg32 @ d4096, medians of alternating rounds: F16 cache 30.4 -> 32.1
 * tok/s, Q8_0 cache 29.5 -> 31.8.
 */
#define SC_PF_AHEAD 4096
#define SC_PF_FAR 8192
static const struct hrt_pf sc_pf = { SC_PF_AHEAD, SC_PF_AHEAD + SC_PF_FAR };
ALWAYS_INLINE void sc_blocks(const int nq, const int NB, int64_t hd, int64_t nb, const uint16_t *k,
			     const float *q, size_t qs, float *out, size_t os, int64_t np)
{
	const size_t bs = (size_t)HRT_KV_BLK * (size_t)hd; /* u16 per block */
	for (int64_t b = 0; b + NB <= nb; b += NB) {
		const uint16_t *kb = k + (size_t)b * bs;
		__m256 acc[4][4];
		_Pragma("GCC unroll 4")
		for (int i = 0; i < nq; i++)
			_Pragma("GCC unroll 4")
			for (int j = 0; j < 2 * NB; j++)
				acc[i][j] = _mm256_setzero_ps();
		for (int64_t d = 0; d < hd; d++) {
			hrt_pf_lines(sc_pf, (const char *)kb + (size_t)d * 64, 1);
			__m256 x[4];
			_Pragma("GCC unroll 4")
			for (int j = 0; j < 2 * NB; j++)
				x[j] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(
					kb + (size_t)(j / 2) * bs + (size_t)d * HRT_KV_BLK + 8 * (j % 2))));
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				const __m256 qv = _mm256_broadcast_ss(q + (size_t)i * qs + (size_t)d);
				_Pragma("GCC unroll 4")
				for (int j = 0; j < 2 * NB; j++)
					acc[i][j] = _mm256_fmadd_ps(x[j], qv, acc[i][j]);
			}
		}
		_Pragma("GCC unroll 2")
		for (int j = 0; j < NB; j++) {
			const int64_t p = (b + j) * HRT_KV_BLK;
			const int64_t n = np - p < HRT_KV_BLK ? np - p : HRT_KV_BLK;
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				float *o = out + (size_t)i * os + (size_t)p;
				if (n == HRT_KV_BLK) {
					_mm256_storeu_ps(o, acc[i][2 * j]);
					_mm256_storeu_ps(o + 8, acc[i][2 * j + 1]);
				} else {
					float tmp[HRT_KV_BLK];
					_mm256_storeu_ps(tmp, acc[i][2 * j]);
					_mm256_storeu_ps(tmp + 8, acc[i][2 * j + 1]);
					memcpy(o, tmp, (size_t)n * sizeof(float));
				}
			}
		}
	}
}

ALWAYS_INLINE void sc_queries(const int nq, int64_t hd, int64_t np, const uint16_t *k,
			      const float *q, size_t qs, float *out, size_t os)
{
	const int NB = nq <= 2 ? 2 : 1;
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
	for (; nq > 0; nq -= 4, q += 4 * qs, out += 4 * os) {
		switch (nq < 4 ? nq : 4) {
		case 1: sc_queries(1, hd, np, k, q, qs, out, os); break;
		case 2: sc_queries(2, hd, np, k, q, qs, out, os); break;
		case 3: sc_queries(3, hd, np, k, q, qs, out, os); break;
		default: sc_queries(4, hd, np, k, q, qs, out, os); break;
		}
	}
}

static void round_f16(float *x, int64_t n)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(
			_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
	for (; i < n; i++)
		x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/*
 * Weighted values of an F16 cache (kern.h qk_f16): 2 value rows against up
 * to 4 probability rows per step (8 accumulators of the 16 registers), 8
 * positions a step: each row's 8 f16 are one conversion shared by the
 * probability rows, each probability load shared by the two value rows;
 * the last positions one at a time, then a sum across lanes per pair. The
 * next pair of rows is prefetched meanwhile (as the AVX-512 qk_rows).
 */
ALWAYS_INLINE void vf_rows(const int nq, int64_t np, int64_t nr, const uint16_t *k, size_t ks,
			   const float *q, size_t qs, float *out, size_t os)
{
	for (int64_t r0 = 0; r0 < nr; r0 += 2) {
		const uint16_t *kr[2], *nx[2];
		for (int rr = 0; rr < 2; rr++) {
			kr[rr] = k + (size_t)(r0 + rr < nr ? r0 + rr : nr - 1) * ks;
			nx[rr] = k + (size_t)(r0 + 2 + rr < nr ? r0 + 2 + rr : nr - 1) * ks;
		}
		__m256 acc[4][2];
		_Pragma("GCC unroll 4")
		for (int i = 0; i < nq; i++)
			_Pragma("GCC unroll 2")
			for (int rr = 0; rr < 2; rr++)
				acc[i][rr] = _mm256_setzero_ps();
		int64_t p = 0;
		for (; p + 8 <= np; p += 8) {
			if (!(p & 31)) /* the next step's rows, a line each 32 positions */
				_Pragma("GCC unroll 2")
				for (int rr = 0; rr < 2; rr++)
					_mm_prefetch((const char *)(nx[rr] + p), _MM_HINT_T0);
			__m256 x[2];
			_Pragma("GCC unroll 2")
			for (int rr = 0; rr < 2; rr++)
				x[rr] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kr[rr] + p)));
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				const __m256 a = _mm256_loadu_ps(q + (size_t)i * qs + (size_t)p);
				_Pragma("GCC unroll 2")
				for (int rr = 0; rr < 2; rr++)
					acc[i][rr] = _mm256_fmadd_ps(a, x[rr], acc[i][rr]);
			}
		}
		const int rn = nr - r0 < 2 ? (int)(nr - r0) : 2;
		for (int i = 0; i < nq; i++)
			for (int rr = 0; rr < rn; rr++) {
				float sum = hsum_ps(acc[i][rr]);
				for (int64_t t = p; t < np; t++)
					sum += q[(size_t)i * qs + (size_t)t] * f16(kr[rr][t]);
				out[(size_t)i * os + (size_t)(r0 + rr)] = sum;
			}
	}
}

static void qk_f16(int64_t np, int64_t nr, const uint16_t *k, size_t ks, const float *q, int nq,
		   size_t qs, float *out, size_t os)
{
	switch (nq) {
	case 1: vf_rows(1, np, nr, k, ks, q, qs, out, os); break;
	case 2: vf_rows(2, np, nr, k, ks, q, qs, out, os); break;
	case 3: vf_rows(3, np, nr, k, ks, q, qs, out, os); break;
	case 4: vf_rows(4, np, nr, k, ks, q, qs, out, os); break;
	default: break;
	}
}

/*
 * Scores against a Q8_0 cache (kern.h), up to 4 queries x 2 keys per step,
 * a block (32 codes, one vector) at a time: vpmaddubsw wants one side
 * unsigned, so each key block goes as |k| (once, shared by the queries)
 * against each query's codes with the key's signs (vpsignb), pairs summed
 * into int32 lanes (vpmaddwd): exact, since |k| <= 128 against |q| <= 127
 * (our quantizer never writes -128) never saturates. Each lane then takes
 * its block's two scales in float; the lanes are summed per key and query
 * at the end. Before, each key and query took a call to vec_dot.
 */
ALWAYS_INLINE void sq_rows(const int nq, int64_t hd, int64_t np, const uint8_t *k, size_t ks,
			   const uint8_t *q, size_t qs, float scale, float *out, size_t os)
{
	const int64_t nb = hd / HRT_QK;
	const __m256i one = _mm256_set1_epi16(1);
	const struct hrt_blk_q8_0 *qr[4];
	for (int i = 0; i < nq; i++)
		qr[i] = (const void *)(q + (size_t)i * qs);
	for (int64_t p0 = 0; p0 < np; p0 += 2) {
		const struct hrt_blk_q8_0 *kr[2];
		for (int pp = 0; pp < 2; pp++)
			kr[pp] = (const void *)(k + (size_t)(p0 + pp < np ? p0 + pp : np - 1) * ks);
		for (size_t o = 0; o < 2 * ks; o += 64)
			hrt_pf_lines(sc_pf, k + (size_t)p0 * ks + o, 1);
		__m256 acc[4][2];
		_Pragma("GCC unroll 4")
		for (int i = 0; i < nq; i++)
			acc[i][0] = acc[i][1] = _mm256_setzero_ps();
		for (int64_t b = 0; b < nb; b++) {
			__m256i kv[2], ka[2];
			float dk[2];
			_Pragma("GCC unroll 2")
			for (int pp = 0; pp < 2; pp++) {
				kv[pp] = ld(kr[pp][b].qs);
				ka[pp] = _mm256_abs_epi8(kv[pp]);
				dk[pp] = f16(kr[pp][b].d);
			}
			_Pragma("GCC unroll 4")
			for (int i = 0; i < nq; i++) {
				const __m256i qv = ld(qr[i][b].qs);
				const float dq = f16(qr[i][b].d);
				_Pragma("GCC unroll 2")
				for (int pp = 0; pp < 2; pp++) {
					const __m256i t = _mm256_madd_epi16(
						_mm256_maddubs_epi16(ka[pp], _mm256_sign_epi8(qv, kv[pp])), one);
					acc[i][pp] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t),
								     _mm256_set1_ps(dk[pp] * dq), acc[i][pp]);
				}
			}
		}
		const int pn = np - p0 < 2 ? 1 : 2;
		_Pragma("GCC unroll 4")
		for (int i = 0; i < nq; i++) {
			/* lanes 0 and 1: the sums of acc[i][0] and acc[i][1] */
			__m256 h = _mm256_hadd_ps(acc[i][0], acc[i][1]);
			h = _mm256_hadd_ps(h, h);
			const __m128 s = _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h),
							       _mm256_extractf128_ps(h, 1)),
						    _mm_set1_ps(scale));
			float *o = out + (size_t)i * os + (size_t)p0;
			if (pn == 2)
				_mm_storel_pi((__m64 *)o, s);
			else
				_mm_store_ss(o, s);
		}
	}
}

static void att_scores_q8_0(int64_t hd, int64_t np, const void *k, size_t ks, const void *q,
			    int nq, size_t qs, float scale, float *out, size_t os)
{
	const uint8_t *qb = q;
	for (; nq > 0; nq -= 4, qb += 4 * qs, out += 4 * os) {
		switch (nq < 4 ? nq : 4) {
		case 1: sq_rows(1, hd, np, k, ks, qb, qs, scale, out, os); break;
		case 2: sq_rows(2, hd, np, k, ks, qb, qs, scale, out, os); break;
		case 3: sq_rows(3, hd, np, k, ks, qb, qs, scale, out, os); break;
		default: sq_rows(4, hd, np, k, ks, qb, qs, scale, out, os); break;
		}
	}
}

/*
 * Weighted values of a Q8_0 cache (kern.h): per position, a block's 32
 * codes widen to four float vectors times its d (exact), shared by up to
 * 2 probability rows (16 registers), one fma per 8 values; a block of
 * columns per pass.
 */
ALWAYS_INLINE void vq_block(const int nq, int64_t np, const uint8_t *v, size_t vs, const float *pr,
			    size_t ps, float *out, size_t os)
{
	__m256 acc[2][4];
	_Pragma("GCC unroll 2")
	for (int i = 0; i < nq; i++)
		_Pragma("GCC unroll 4")
		for (int c = 0; c < 4; c++)
			acc[i][c] = _mm256_setzero_ps();
	for (int64_t p = 0; p < np; p++, v += vs) {
		const struct hrt_blk_q8_0 *b = (const void *)v;
		hrt_pf_lines(sc_pf, v, 1);
		const __m256 d = _mm256_set1_ps(hrt_f16_tab[b->d]);
		__m256 x[4];
		_Pragma("GCC unroll 4")
		for (int c = 0; c < 4; c++)
			x[c] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
						     _mm_loadl_epi64((const __m128i *)(b->qs + 8 * c)))), d);
		_Pragma("GCC unroll 2")
		for (int i = 0; i < nq; i++) {
			const __m256 a = _mm256_broadcast_ss(pr + (size_t)i * ps + (size_t)p);
			_Pragma("GCC unroll 4")
			for (int c = 0; c < 4; c++)
				acc[i][c] = _mm256_fmadd_ps(a, x[c], acc[i][c]);
		}
	}
	_Pragma("GCC unroll 2")
	for (int i = 0; i < nq; i++)
		_Pragma("GCC unroll 4")
		for (int c = 0; c < 4; c++)
			_mm256_storeu_ps(out + (size_t)i * os + 8 * c, acc[i][c]);
}

static void att_values_q8_0(int64_t hd, int64_t np, const void *v, size_t vs, const float *pr,
			    int nq, size_t ps, float *out, size_t os)
{
	for (; nq > 0; nq -= 2, pr += 2 * ps, out += 2 * os)
		for (int64_t k = 0; k < hd / HRT_QK; k++) {
			const uint8_t *vb = (const uint8_t *)v + (size_t)k * sizeof(struct hrt_blk_q8_0);
			if (nq >= 2)
				vq_block(2, np, vb, vs, pr, ps, out + k * HRT_QK, os);
			else
				vq_block(1, np, vb, vs, pr, ps, out + k * HRT_QK, os);
		}
}

void hrt_kern_fill_avx2_att(struct hrt_kern_isa *t)
{
	t->softmax = softmax;
	t->att_scores = att_scores;
	t->att_scores_q8_0 = att_scores_q8_0;
	t->round_f16 = round_f16;
	t->qk_f16 = qk_f16;
	t->att_values_q8_0 = att_values_q8_0;
}
