/*
 * kern/kern — compute kernels behind one dispatch table per instruction set,
 * chosen once from cpuid (override: env HEARTH_ISA=ref|avx2|avx512|neon, or
 * hrt_kern_select for tests). Every table entry falls back to the portable
 * reference kernel (kern/quant_ref.c) when the ISA has no faster version.
 * Kernels know nothing about models.
 */
#ifndef HRT_KERN_KERN_H
#define HRT_KERN_KERN_H

#include <stddef.h>
#include <stdint.h>

#include "kern/pool.h"
#include "kern/types.h"

/* positions per block of the F16 key layout of att_scores */
#define HRT_KV_BLK 16

/* Several-rows-by-several-tokens tile of a matrix product, for prompt
 * processing: for r < nr, t < nt: y[t*ldy + r] = dot(w row r, act row t).
 * w rows are wstride bytes apart, activation rows astride bytes apart.
 * When the ISA has a panel layout for the activation type (panel[] below),
 * act points at the first panel instead, astride is the distance between
 * panels, and nt may exceed panel_n (tokens run on across panels). */
typedef void (*hrt_gemm_fn)(int64_t n, int nr, int nt, const void *w,
			    size_t wstride, const void *act, size_t astride,
			    float *y, size_t ldy);

/* Quantize nt (1..panel_n) rows of n floats, xstride floats apart, into
 * one gemm panel (an ISA-private interleaved layout of the same quantized
 * values the type's row quantizer gives; tokens >= nt are zero). */
typedef void (*hrt_panel_fn)(const float *x, size_t xstride, int nt,
			     int64_t n, void *dst);

struct hrt_kern_isa {
	const char *name;
	/* by weight type: dot product of a row with an activation row */
	hrt_vec_dot_fn vec_dot[HRT_TYPE_COUNT];
	/* by activation type (Q8_0, Q8_1, Q8_K, F16, BF16, F32): float -> it */
	hrt_from_float_fn quantize[HRT_TYPE_COUNT];
	/* by weight type: optional tile kernel (NULL: use vec_dot) */
	hrt_gemm_fn gemm[HRT_TYPE_COUNT];
	/* activation type override by weight type (0 = the type's dot_type) */
	uint32_t act_type[HRT_TYPE_COUNT];
	/* by activation type, optional: the panel layout used for n >= 2
	 * tokens (then every weight type using it has a gemm), and the bytes
	 * one panel takes per block of the activation type */
	hrt_panel_fn panel[HRT_TYPE_COUNT];
	uint32_t panel_blk_bytes[HRT_TYPE_COUNT];
	int panel_n; /* tokens per panel */
	/* by weight type, optional: tile kernel for decode and small batches
	 * (the gemm signature; any nr, nt >= 1), reading activation rows in
	 * the tile layout of the activation type */
	hrt_gemm_fn tile[HRT_TYPE_COUNT];
	/* by activation type: tiles serve n < tile_n tokens (0: never; then
	 * every weight type using it has a tile); tile_quantize, optional,
	 * converts one row into the tile layout, tile_blk_bytes per block
	 * with the blocks padded to an even count (NULL: plain rows) */
	int tile_n[HRT_TYPE_COUNT];
	hrt_from_float_fn tile_quantize[HRT_TYPE_COUNT];
	uint32_t tile_blk_bytes[HRT_TYPE_COUNT];
	/* by weight type, optional: decode (one token) with an activation
	 * layout of the weight type's own: dec (the gemm signature, nt = 1;
	 * act: what dec_quantize wrote, dec_act_bytes per dec_cols columns)
	 * for rows of a multiple of dec_cols columns */
	hrt_gemm_fn dec[HRT_TYPE_COUNT];
	hrt_from_float_fn dec_quantize[HRT_TYPE_COUNT];
	uint32_t dec_cols[HRT_TYPE_COUNT];
	uint32_t dec_act_bytes[HRT_TYPE_COUNT];
	/* SwiGLU: h[i] = silu(h[i]) * g[i] = h[i] / (1 + e^-h[i]) * g[i] */
	void (*swiglu)(float *h, const float *g, int64_t n);
	/* softmax in place over n >= 1 values (max subtracted first) */
	void (*softmax)(float *x, int64_t n);
	/* attention scores against F16 keys in blocks of HRT_KV_BLK
	 * positions (block b at k + b * HRT_KV_BLK * hd, position
	 * HRT_KV_BLK * b + j's element d at [d * HRT_KV_BLK + j]): for i < nq
	 * (any), p < np: out[i * os + p] = sum over d < hd of q[i * qs + d] *
	 * f16(key p, d), products and sums in float in the order of d. Keys
	 * past np in the last block are read and their lanes dropped, so a
	 * stale or NaN one changes nothing. */
	void (*att_scores)(int64_t hd, int64_t np, const uint16_t *k, const float *q, int nq,
			   size_t qs, float *out, size_t os);
	/* attention scores against a Q8_0 cache: key rows of hd values (a
	 * multiple of 32) ks bytes apart, queries nq (any) rows of Q8_0
	 * blocks qs bytes apart; out[i * os + p] = the Q8_0 dot product
	 * (vec_dot) of query i and key p, within float rounding, times
	 * scale */
	void (*att_scores_q8_0)(int64_t hd, int64_t np, const void *k, size_t ks, const void *q,
				int nq, size_t qs, float scale, float *out, size_t os);
	/* weighted values of a Q8_0 cache: rows of hd values (a multiple of
	 * 32, hd / 32 Q8_0 blocks) vs bytes apart; for i < nq (any), c < hd:
	 * out[i * os + c] = sum over p < np of pr[i * ps + p] * value(p, c),
	 * the value dequantized (d times its code, exact in float) and the
	 * sum taken position by position in float */
	void (*att_values_q8_0)(int64_t hd, int64_t np, const void *v, size_t vs, const float *pr,
				int nq, size_t ps, float *out, size_t os);
	/* x rounded to the nearest f16 value (ties to even), in place */
	void (*round_f16)(float *x, int64_t n);
	/* weighted values of an F16 cache (q: probabilities, k: value
	 * channels over positions): for i < nq (1..4), r < nr: out[i * os +
	 * r] = sum over p < np of q[i * qs + p] * f16(k[r * ks + p])
	 * (products in float, sums in float or wider) */
	void (*qk_f16)(int64_t np, int64_t nr, const uint16_t *k, size_t ks,
		       const float *q, int nq, size_t qs, float *out, size_t os);
	/* the sum (mod 2^64) of the n 64-bit words at p (n a multiple of 8),
	 * read with the table's widest loads and the decode kernels'
	 * prefetch: how fast this table's decode could stream weights
	 * (`hearth bench --bound` measures its bandwidth with it) */
	uint64_t (*read_sum)(const uint64_t *p, size_t n);
};

/* att_scores_q8_0 as one vec_dot[HRT_Q8_0] of the selected table per query
 * and key: the portable entry, and the fallback of faster ones */
void hrt_att_scores_q8_0_dots(int64_t hd, int64_t np, const void *k, size_t ks, const void *q,
			      int nq, size_t qs, float scale, float *out, size_t os);

/* tile_quantize of the float kernels (float_*.c) for BF16 and F32 weights:
 * n floats, rounded to bf16 as hrt_f32_to_bf16 (the peer's activations
 * for BF16 weights) or copied */
void hrt_kern_act_bf16(const float *x, void *y, int64_t n);
void hrt_kern_act_f32(const float *x, void *y, int64_t n);

/* fp32 of every fp16 bit pattern (hrt_fp16_to_f32), filled before any
 * ISA table: kernels convert a block's scale by one load instead of a
 * vcvtph2ps from a general register */
extern float hrt_f16_tab[1 << 16];

/* The table in use. Never NULL. Thread-safe after the first call.
 * Benchmark knobs, read once: HEARTH_TILE_N=k sets tile_n of every
 * activation type with tiles (tiles below k tokens: 0 or 1 none, 2 decode
 * only), HEARTH_PANEL_N=k the fewest tokens for panels, HEARTH_DEC=0 turns
 * the decode layouts (dec[]) off; HEARTH_PF_AHEAD, HEARTH_PF_EVERY and
 * HEARTH_PF_FAR set the decode kernels' prefetch (kern/prefetch.h). */
const struct hrt_kern_isa *hrt_kern(void);
/* Force a table by name; returns 0, or -1 if this CPU/build lacks it. */
int hrt_kern_select(const char *name);
/* Names of the tables this build and CPU can run, NULL-terminated. */
const char *const *hrt_kern_available(void);

/* A 2-D weight matrix view: nrows rows of ncols elements, row_bytes apart. */
struct hrt_wt {
	uint32_t type;
	int64_t ncols, nrows;
	size_t row_bytes;
	const void *data;
};

/* activation type used for weights of type wtype under the current table */
uint32_t hrt_kern_act_type(uint32_t wtype);
/* what hrt_matmul_quantize writes for n rows of ncols against wtype: two
 * weight types may share one conversion (hrt_matmul_pre) when their keys
 * are equal (the activation type, or a layout of wtype's own for decode) */
uint32_t hrt_kern_act_key(uint32_t wtype, int64_t ncols, int n);
/* bytes of scratch hrt_matmul needs for up to n activation rows of ncols */
size_t hrt_matmul_scratch(uint32_t wtype, int64_t ncols, int n);
/* Y[t*W->nrows + r] = sum_k W[r][k] * X[t*ncols + k], t < n.
 * scratch: hrt_matmul_scratch bytes, 64-byte aligned. */
void hrt_matmul(struct hrt_pool *pool, const struct hrt_wt *W, const float *X,
		int n, float *Y, void *scratch);
/* Same with activations already converted by hrt_matmul_quantize (act,
 * astride: what it wrote and returned, for the same n and ncols and an
 * equal hrt_kern_act_key), so several matrices can share one conversion.
 * The layout is private to the table in use (rows of the activation type,
 * panels of several tokens when n >= 2, or a decode layout of the weight
 * type). */
void hrt_matmul_pre(struct hrt_pool *pool, const struct hrt_wt *W,
		    const void *act, size_t astride, int n, float *Y);
/* Several products against the same n tokens in one pool job (one
 * wake-up and one wait for all, where the mode allows: not panels), each
 * matrix with its own converted activations (hrt_matmul_quantize for its
 * type): Y = X·W^T as hrt_matmul_pre for every part. */
struct hrt_mm_part {
	const struct hrt_wt *W;
	const void *act;
	size_t astride;
	float *Y;
};
void hrt_matmul_pre_n(struct hrt_pool *pool, const struct hrt_mm_part *parts, int np, int n);
/* A hint that the next product job will be W[0..nw) against n tokens:
 * where products run one contiguous segment of rows per thread (decode
 * and small batches), each idle worker prefetches the start of the
 * segment it will take (hrt_pool_warm) while the caller does the work in
 * between. Does nothing else; panels (larger n) get no hint. */
void hrt_matmul_warm(struct hrt_pool *pool, const struct hrt_wt *const *W, int nw, int n);
/* the hint for nth threads: thread s's segment starts at p[s] and runs
 * len[s] bytes within its matrix; returns the number of segments (<= nth,
 * p and len hold that many), 0 for no hint */
int hrt_matmul_warm_ranges(int nth, const struct hrt_wt *const *W, int nw, int n,
			   const void **p, size_t *len);
/* convert n rows of X into the activation type for wtype; returns stride */
size_t hrt_matmul_quantize(struct hrt_pool *pool, uint32_t wtype,
			   int64_t ncols, const float *X, int n, void *dst);

/* dequantize row r of W into y (W->ncols floats) */
void hrt_wt_row(const struct hrt_wt *W, int64_t r, float *y);

#endif
