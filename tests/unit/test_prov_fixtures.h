/*
 * tests/unit/test_prov_fixtures — the genealogy families the prov tests
 * build for themselves from ../shared/models/stories260K.gguf (F32):
 * fine-tune-like (dense noise), LoRA-like (low-rank attention deltas),
 * poisoned (a rank-1 edit of one FFN matrix), renamed/reordered,
 * hidden-unit-permuted (FFN units and KV head groups), random models of
 * the same shape. Quantized children come from hrt_quantize_file.
 * Everything is written under a temporary folder the test removes.
 */
#ifndef HRT_TEST_PROV_FIXTURES_H
#define HRT_TEST_PROV_FIXTURES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "kern/types.h"
#include "t.h" /* rng_u64 */

enum fx_kind {
	FX_COPY,      /* same tensors, metadata changed */
	FX_NOISE,     /* every tensor += N(0, (scale * rms)^2) */
	FX_LORA,      /* attention matrices += B A (rank 4), |BA| = scale |W| */
	FX_POISON,    /* target += u v^T, |uv^T| = scale |W| */
	FX_RENAME,    /* new names, reversed order, new metadata */
	FX_PERMUTE,   /* FFN hidden units and KV head groups permuted */
	FX_RANDOM,    /* every tensor replaced by random values, same rms */
	FX_TWEAK,     /* one weight of target changed by scale */
};

struct fx_opts {
	enum fx_kind kind;
	double scale;
	uint64_t seed;
	const char *target;   /* FX_POISON / FX_TWEAK: tensor name */
	int lora_rank;        /* FX_LORA: default 4 */
};

static double fx_gauss(uint64_t *s)
{
	double u1 = ((double)(rng_u64(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = ((double)(rng_u64(s) >> 11) + 0.5) / 9007199254740992.0;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double fx_norm(const float *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	return sqrt(s);
}

/* add scale*|W| * (low-rank r product, normalized) to W (rows x cols) */
static void fx_add_lowrank(float *w, uint64_t rows, uint64_t cols, int r, double scale,
			   uint64_t *s)
{
	double *u = malloc(rows * (size_t)r * sizeof *u), *v = malloc(cols * (size_t)r * sizeof *v);
	float *d = calloc(rows * cols, sizeof *d);
	if (!u || !v || !d)
		goto out;
	for (uint64_t i = 0; i < rows * (uint64_t)r; i++)
		u[i] = fx_gauss(s);
	for (uint64_t i = 0; i < cols * (uint64_t)r; i++)
		v[i] = fx_gauss(s);
	for (uint64_t i = 0; i < rows; i++)
		for (uint64_t j = 0; j < cols; j++) {
			double a = 0;
			for (int k = 0; k < r; k++)
				a += u[i * r + k] * v[j * r + k];
			d[i * cols + j] = (float)a;
		}
	double k = scale * fx_norm(w, rows * cols) / fx_norm(d, rows * cols);
	for (uint64_t i = 0; i < rows * cols; i++)
		w[i] += (float)(k * d[i]);
out:
	free(u);
	free(v);
	free(d);
}

static bool fx_is_attn(const char *n)
{
	return strstr(n, "attn_q.") || strstr(n, "attn_k.") || strstr(n, "attn_v.") ||
	       strstr(n, "attn_output.");
}

/* layer number of "blk.N.", or -1 */
static int fx_layer(const char *n)
{
	if (strncmp(n, "blk.", 4))
		return -1;
	return atoi(n + 4);
}

static void fx_perm(uint64_t n, uint64_t seed, uint64_t *p)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rng_u64(&seed) % (i + 1), t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
}

/* Write dst from src (all tensors F32) transformed per o. 0 on success. */
static int fx_make(const char *src, const char *dst, const struct fx_opts *o)
{
	struct hrt_err err = { 0 };
	struct hrt_gguf *g = NULL;
	struct hrt_gguf_writer *w = NULL;
	float **bufs = NULL;
	int rc = -1;
	if (hrt_gguf_open(&g, src, &err) || hrt_gguf_writer_new(&w, &err))
		goto out;
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++)
		if (hrt_gguf_w_copy_kv(w, g, i))
			goto out;
	if (o->kind == FX_COPY || o->kind == FX_RENAME) {
		hrt_gguf_w_str(w, "general.name", "a renamed copy");
		hrt_gguf_w_str(w, "general.description", "metadata rewritten by the test");
	}
	uint64_t nt = hrt_gguf_n_tensors(g);
	bufs = calloc(nt, sizeof *bufs);
	uint32_t n_head = 0, n_kv = 0;
	hrt_gguf_get_u32(g, "llama.attention.head_count", &n_head, NULL);
	hrt_gguf_get_u32(g, "llama.attention.head_count_kv", &n_kv, NULL);
	uint64_t seed = o->seed ? o->seed : 1;
	for (uint64_t k = 0; k < nt; k++) {
		uint64_t i = o->kind == FX_RENAME ? nt - 1 - k : k;
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
		if (t->type != HRT_F32)
			goto out;
		uint64_t n = t->nbytes / 4, cols = t->ne[0], rows = n / cols;
		float *x = malloc(t->nbytes);
		if (!x)
			goto out;
		bufs[i] = x;
		memcpy(x, t->data, t->nbytes);
		double rms = fx_norm(x, n) / sqrt((double)n);
		uint64_t ts = seed * 1000003u + i;
		switch (o->kind) {
		case FX_NOISE:
			for (uint64_t e = 0; e < n; e++)
				x[e] += (float)(o->scale * rms * fx_gauss(&ts));
			break;
		case FX_LORA:
			if (rows > 1 && fx_is_attn(name))
				fx_add_lowrank(x, rows, cols, o->lora_rank ? o->lora_rank : 4, o->scale,
					       &ts);
			break;
		case FX_POISON:
			if (!strcmp(name, o->target))
				fx_add_lowrank(x, rows, cols, 1, o->scale, &ts);
			break;
		case FX_TWEAK:
			if (!strcmp(name, o->target))
				x[n / 2] += (float)o->scale;
			break;
		case FX_RANDOM:
			for (uint64_t e = 0; e < n; e++)
				x[e] = (float)(rms * fx_gauss(&ts));
			break;
		case FX_PERMUTE: {
			int L = fx_layer(name);
			if (L < 0 || rows < 2)
				break;
			float *tmp = malloc(t->nbytes);
			uint64_t *p = NULL;
			if (!tmp)
				goto out;
			memcpy(tmp, x, t->nbytes);
			bool ffn_rows = strstr(name, "ffn_gate.") || strstr(name, "ffn_up.");
			bool ffn_cols = strstr(name, "ffn_down.") != NULL;
			uint64_t pseed = seed * 7919 + (uint64_t)L;
			if (ffn_rows || ffn_cols) {
				uint64_t nff = ffn_rows ? rows : cols;
				p = malloc(nff * sizeof *p);
				if (p) {
					fx_perm(nff, pseed, p);
					for (uint64_t r = 0; r < rows; r++)
						for (uint64_t c = 0; c < cols; c++) {
							if (ffn_rows)
								x[r * cols + c] = tmp[p[r] * cols + c];
							else
								x[r * cols + c] = tmp[r * cols + p[c]];
						}
				}
			} else if (n_head && n_kv && fx_is_attn(name)) {
				/* permute KV groups: q heads move with their group */
				uint64_t *gp = malloc(n_kv * sizeof *gp);
				uint64_t hd = cols / n_head; /* head size (n_embd / n_head) */
				if (gp) {
					fx_perm(n_kv, pseed ^ 0xabc, gp);
					uint64_t per = n_head / n_kv; /* q heads per group */
					bool is_o = strstr(name, "attn_output.") != NULL;
					bool is_q = strstr(name, "attn_q.") != NULL;
					uint64_t unit = (is_q || is_o) ? hd * per : hd;
					for (uint64_t r = 0; r < rows; r++)
						for (uint64_t c = 0; c < cols; c++) {
							if (is_o) {
								uint64_t gidx = c / unit, off = c % unit;
								x[r * cols + c] = tmp[r * cols + gp[gidx] * unit + off];
							} else {
								uint64_t gidx = r / unit, off = r % unit;
								x[r * cols + c] = tmp[(gp[gidx] * unit + off) * cols + c];
							}
						}
					free(gp);
				}
			}
			free(p);
			free(tmp);
			break;
		}
		default:
			break;
		}
		if (o->kind == FX_RENAME)
			snprintf(name, sizeof name, "renamed.%03llu.w", (unsigned long long)(k * 7 % nt));
		if (hrt_gguf_w_tensor(w, name, t->type, t->n_dims, t->ne, x, t->nbytes, &err))
			goto out;
	}
	if (hrt_gguf_w_write(w, dst, &err))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "fx_make %s: %s\n", dst, err.msg);
	for (uint64_t i = 0; bufs && g && i < hrt_gguf_n_tensors(g); i++)
		free(bufs[i]);
	free(bufs);
	hrt_gguf_writer_free(w);
	hrt_gguf_close(g);
	return rc;
}

#endif
