/*
 * The model layer without fixtures: tiny random llama and granite models
 * written with the GGUF writer, run through hrt_forward and compared with
 * an independent float64 implementation written here from the
 * architecture's definition (RMSNorm, RoPE, GQA attention, SwiGLU, granite
 * scales, rope_freqs, linear rope scaling, biases, tied output). Also: the
 * KV cache (one batch == token by token == mixed batches of several
 * sequences) and hostile hyperparameters/shapes.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf.h"
#include "kern/kern.h"
#include "model/model.h"
#include "t.h"

struct cfg {
	const char *arch;
	int E, L, H, KV, F, V, rot;
	float base, lin_factor;
	bool tied, bias, freqs;
	float es, rs, as, ls; /* granite scales (0 = key absent) */
	uint32_t wtype;       /* type of the 2-D weights */
};

/* the weights, kept in float64 for the reference */
struct weights {
	struct cfg c;
	double *embd, *out, *onorm, *freqs;
	struct {
		double *an, *q, *k, *v, *o, *fn, *g, *u, *d, *bq, *bk, *bv;
	} l[4];
};

static uint64_t rng = 88172645463325252ull;
static double rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static double *mk(size_t n, double scale, double offset)
{
	double *p = malloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++)
		p[i] = offset + scale * rnd();
	return p;
}

static void free_weights(struct weights *w)
{
	free(w->embd);
	free(w->out);
	free(w->onorm);
	free(w->freqs);
	for (int i = 0; i < w->c.L; i++) {
		double **ps[] = { &w->l[i].an, &w->l[i].q, &w->l[i].k, &w->l[i].v, &w->l[i].o,
				  &w->l[i].fn, &w->l[i].g, &w->l[i].u, &w->l[i].d, &w->l[i].bq,
				  &w->l[i].bk, &w->l[i].bv };
		for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
			free(*ps[k]);
	}
}

/* Matrix entries are uniform in [-0.15, 0.15]: larger ones make the random
 * network ill-conditioned (attention near one-hot, activations with huge
 * outliers), so that one 8-bit activation rounding decision or the
 * summation order of an F16 dot product moves the logits by percents and
 * kernels that are each correct disagree (seen at 0.3). */
static void gen_weights(struct weights *w, const struct cfg *c)
{
	memset(w, 0, sizeof(*w));
	w->c = *c;
	int hd = c->E / c->H, qd = c->H * hd, kvd = c->KV * hd;
	w->embd = mk((size_t)c->V * c->E, 1.0, 0);
	w->out = c->tied ? NULL : mk((size_t)c->V * c->E, 0.15, 0);
	w->onorm = mk((size_t)c->E, 0.2, 1.0);
	w->freqs = c->freqs ? mk((size_t)c->rot / 2, 0.5, 2.0) : NULL;
	for (int i = 0; i < c->L; i++) {
		w->l[i].an = mk((size_t)c->E, 0.2, 1.0);
		w->l[i].q = mk((size_t)qd * c->E, 0.15, 0);
		w->l[i].k = mk((size_t)kvd * c->E, 0.15, 0);
		w->l[i].v = mk((size_t)kvd * c->E, 0.15, 0);
		w->l[i].o = mk((size_t)c->E * qd, 0.15, 0);
		w->l[i].fn = mk((size_t)c->E, 0.2, 1.0);
		w->l[i].g = mk((size_t)c->F * c->E, 0.15, 0);
		w->l[i].u = mk((size_t)c->F * c->E, 0.15, 0);
		w->l[i].d = mk((size_t)c->E * c->F, 0.15, 0);
		if (c->bias) {
			w->l[i].bq = mk((size_t)qd, 0.2, 0);
			w->l[i].bk = mk((size_t)kvd, 0.2, 0);
			w->l[i].bv = mk((size_t)kvd, 0.2, 0);
		}
	}
}

/* write the model; 2-D weights quantized to c.wtype, the reference then
 * uses the dequantized values so only compute differs */
static uint8_t *build(struct weights *w, size_t *len, bool dequant_back)
{
	const struct cfg *c = &w->c;
	struct hrt_gguf_writer *wr;
	struct hrt_err err;
	hrt_gguf_writer_new(&wr, &err);
	char k[128];
	hrt_gguf_w_str(wr, "general.architecture", c->arch);
#define KEY(s) (snprintf(k, sizeof k, "%s." s, c->arch), k)
	hrt_gguf_w_u32(wr, KEY("context_length"), 256);
	hrt_gguf_w_u32(wr, KEY("embedding_length"), (uint32_t)c->E);
	hrt_gguf_w_u32(wr, KEY("block_count"), (uint32_t)c->L);
	hrt_gguf_w_u32(wr, KEY("feed_forward_length"), (uint32_t)c->F);
	hrt_gguf_w_u32(wr, KEY("attention.head_count"), (uint32_t)c->H);
	hrt_gguf_w_u32(wr, KEY("attention.head_count_kv"), (uint32_t)c->KV);
	hrt_gguf_w_f32(wr, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
	hrt_gguf_w_f32(wr, KEY("rope.freq_base"), c->base);
	hrt_gguf_w_u32(wr, KEY("rope.dimension_count"), (uint32_t)c->rot);
	if (c->lin_factor > 0) {
		hrt_gguf_w_str(wr, KEY("rope.scaling.type"), "linear");
		hrt_gguf_w_f32(wr, KEY("rope.scaling.factor"), c->lin_factor);
	}
	if (c->es) hrt_gguf_w_f32(wr, KEY("embedding_scale"), c->es);
	if (c->rs) hrt_gguf_w_f32(wr, KEY("residual_scale"), c->rs);
	if (c->as) hrt_gguf_w_f32(wr, KEY("attention.scale"), c->as);
	if (c->ls) hrt_gguf_w_f32(wr, KEY("logit_scale"), c->ls);
#undef KEY
	/* tensor data must live until the write: collect buffers */
	void *bufs[128];
	int nb = 0;
	int hd = c->E / c->H, qd = c->H * hd, kvd = c->KV * hd;
	const struct hrt_type_traits *tt = hrt_type_get(c->wtype);
	(void)tt;
#define VEC(name, p, n) do { \
		float *f = malloc((size_t)(n) * 4); \
		for (int i_ = 0; i_ < (n); i_++) f[i_] = (float)(p)[i_]; \
		uint64_t ne_[1] = { (uint64_t)(n) }; \
		hrt_gguf_w_tensor(wr, name, HRT_F32, 1, ne_, f, (uint64_t)(n) * 4, &err); \
		bufs[nb++] = f; \
	} while (0)
#define MAT(name, p, cols, rows) do { \
		size_t n_ = (size_t)(cols) * (rows); \
		float *f = malloc(n_ * 4); \
		for (size_t i_ = 0; i_ < n_; i_++) f[i_] = (float)(p)[i_]; \
		uint64_t rb_; hrt_type_row_bytes(c->wtype, (uint64_t)(cols), &rb_); \
		uint8_t *q = malloc(rb_ * (rows)); \
		for (int r_ = 0; r_ < (rows); r_++) \
			hrt_type_get(c->wtype)->from_float(f + (size_t)r_ * (cols), q + rb_ * r_, cols); \
		if (dequant_back) \
			for (int r_ = 0; r_ < (rows); r_++) { \
				hrt_type_get(c->wtype)->to_float(q + rb_ * r_, f + (size_t)r_ * (cols), cols); \
				for (int i_ = 0; i_ < (cols); i_++) (p)[(size_t)r_ * (cols) + i_] = f[(size_t)r_ * (cols) + i_]; \
			} \
		uint64_t ne_[2] = { (uint64_t)(cols), (uint64_t)(rows) }; \
		hrt_gguf_w_tensor(wr, name, c->wtype, 2, ne_, q, rb_ * (rows), &err); \
		bufs[nb++] = f; bufs[nb++] = q; \
	} while (0)
	MAT("token_embd.weight", w->embd, c->E, c->V);
	VEC("output_norm.weight", w->onorm, c->E);
	if (!c->tied)
		MAT("output.weight", w->out, c->E, c->V);
	if (c->freqs)
		VEC("rope_freqs.weight", w->freqs, c->rot / 2);
	char nm[64];
	for (int i = 0; i < c->L; i++) {
#define N(s) (snprintf(nm, sizeof nm, "blk.%d." s, i), nm)
		VEC(N("attn_norm.weight"), w->l[i].an, c->E);
		MAT(N("attn_q.weight"), w->l[i].q, c->E, qd);
		MAT(N("attn_k.weight"), w->l[i].k, c->E, kvd);
		MAT(N("attn_v.weight"), w->l[i].v, c->E, kvd);
		if (c->bias) {
			VEC(N("attn_q.bias"), w->l[i].bq, qd);
			VEC(N("attn_k.bias"), w->l[i].bk, kvd);
			VEC(N("attn_v.bias"), w->l[i].bv, kvd);
		}
		MAT(N("attn_output.weight"), w->l[i].o, qd, c->E);
		VEC(N("ffn_norm.weight"), w->l[i].fn, c->E);
		MAT(N("ffn_gate.weight"), w->l[i].g, c->E, c->F);
		MAT(N("ffn_up.weight"), w->l[i].u, c->E, c->F);
		MAT(N("ffn_down.weight"), w->l[i].d, c->F, c->E);
#undef N
	}
#undef VEC
#undef MAT
	uint8_t *buf = NULL;
	hrt_gguf_w_to_mem(wr, &buf, len, &err);
	hrt_gguf_writer_free(wr);
	for (int i = 0; i < nb; i++)
		free(bufs[i]);
	return buf;
}

/* ---- the float64 reference ---- */

static void ref_rms(double *y, const double *x, const double *w, int n)
{
	double ss = 0;
	for (int i = 0; i < n; i++)
		ss += x[i] * x[i];
	double s = 1.0 / sqrt(ss / n + 1e-5);
	for (int i = 0; i < n; i++)
		y[i] = x[i] * s * w[i];
}

static void ref_mv(double *y, const double *W, const double *x, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		double s = 0;
		for (int k = 0; k < cols; k++)
			s += W[(size_t)r * cols + k] * x[k];
		y[r] = s;
	}
}

static void ref_rope(double *v, int heads, int hd, int rot, int pos,
		     const struct weights *w)
{
	for (int h = 0; h < heads; h++)
		for (int i = 0; i < rot / 2; i++) {
			double th = pos * pow(w->c.base, -2.0 * i / rot);
			if (w->freqs)
				th /= w->freqs[i];
			if (w->c.lin_factor > 0)
				th /= w->c.lin_factor;
			double *a = &v[h * hd + 2 * i], x0 = a[0], x1 = a[1];
			a[0] = x0 * cos(th) - x1 * sin(th);
			a[1] = x0 * sin(th) + x1 * cos(th);
		}
}

/* logits (n x V) of tokens at positions 0..n-1 */
static void ref_forward(const struct weights *w, const int32_t *tok, int n, double *logits)
{
	const struct cfg *c = &w->c;
	int E = c->E, hd = E / c->H, qd = c->H * hd, kvd = c->KV * hd;
	double *x = calloc((size_t)n * E, 8), *xb = malloc((size_t)E * 8);
	double *K = malloc((size_t)c->L * n * kvd * 8), *Vc = malloc((size_t)c->L * n * kvd * 8);
	double *q = malloc((size_t)qd * 8), *att = malloc((size_t)qd * 8), *o = malloc((size_t)E * 8);
	double *g = malloc((size_t)c->F * 8), *u = malloc((size_t)c->F * 8), *sc = malloc((size_t)n * 8);
	double es = c->es ? c->es : 1, rs = c->rs ? c->rs : 1, ls = c->ls ? c->ls : 1;
	double as = c->as ? c->as : 1.0 / sqrt(hd);
	for (int t = 0; t < n; t++)
		for (int i = 0; i < E; i++)
			x[(size_t)t * E + i] = w->embd[(size_t)tok[t] * E + i] * es;
	for (int t = 0; t < n; t++) {
		double *xt = x + (size_t)t * E;
		for (int l = 0; l < c->L; l++) {
			double *Kl = K + (size_t)l * n * kvd, *Vl = Vc + (size_t)l * n * kvd;
			ref_rms(xb, xt, w->l[l].an, E);
			ref_mv(q, w->l[l].q, xb, qd, E);
			ref_mv(Kl + (size_t)t * kvd, w->l[l].k, xb, kvd, E);
			ref_mv(Vl + (size_t)t * kvd, w->l[l].v, xb, kvd, E);
			if (c->bias)
				for (int i = 0; i < qd; i++) {
					q[i] += w->l[l].bq[i];
					if (i < kvd) {
						Kl[(size_t)t * kvd + i] += w->l[l].bk[i];
						Vl[(size_t)t * kvd + i] += w->l[l].bv[i];
					}
				}
			ref_rope(q, c->H, hd, c->rot, t, w);
			ref_rope(Kl + (size_t)t * kvd, c->KV, hd, c->rot, t, w);
			for (int h = 0; h < c->H; h++) {
				int kh = h / (c->H / c->KV);
				double mx = -1e300, sum = 0;
				for (int p = 0; p <= t; p++) {
					double s = 0;
					for (int d = 0; d < hd; d++)
						s += q[h * hd + d] * Kl[(size_t)p * kvd + kh * hd + d];
					sc[p] = s * as;
					if (sc[p] > mx)
						mx = sc[p];
				}
				for (int p = 0; p <= t; p++)
					sum += (sc[p] = exp(sc[p] - mx));
				for (int d = 0; d < hd; d++) {
					double a = 0;
					for (int p = 0; p <= t; p++)
						a += sc[p] / sum * Vl[(size_t)p * kvd + kh * hd + d];
					att[h * hd + d] = a;
				}
			}
			ref_mv(o, w->l[l].o, att, E, qd);
			for (int i = 0; i < E; i++)
				xt[i] += o[i] * rs;
			ref_rms(xb, xt, w->l[l].fn, E);
			ref_mv(g, w->l[l].g, xb, c->F, E);
			ref_mv(u, w->l[l].u, xb, c->F, E);
			for (int i = 0; i < c->F; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_mv(o, w->l[l].d, g, E, c->F);
			for (int i = 0; i < E; i++)
				xt[i] += o[i] * rs;
		}
		ref_rms(xb, xt, w->onorm, E);
		ref_mv(logits + (size_t)t * c->V, c->tied ? w->embd : w->out, xb, c->V, E);
		for (int i = 0; i < c->V; i++)
			logits[(size_t)t * c->V + i] /= ls;
	}
	free(x); free(xb); free(K); free(Vc); free(q); free(att); free(o); free(g); free(u); free(sc);
}

static double nrmse(const float *a, const double *r, int n)
{
	double se = 0, mu = 0, var = 0;
	for (int i = 0; i < n; i++)
		mu += r[i];
	mu /= n;
	for (int i = 0; i < n; i++) {
		se += (a[i] - r[i]) * (a[i] - r[i]);
		var += (r[i] - mu) * (r[i] - mu);
	}
	return sqrt(se / n) / sqrt(var / n);
}

/* KV cache type for check_cfg */
static uint32_t kv_type = HRT_F16;

/* compare hrt_forward (one batch, all logits) with the reference */
static void check_cfg(const struct cfg *c, double tol)
{
	struct weights w;
	gen_weights(&w, c);
	size_t len;
	uint8_t *buf = build(&w, &len, true);
	struct hrt_gguf *g;
	struct hrt_model *m;
	struct hrt_err err = { 0 };
	if (hrt_gguf_open_mem(&g, buf, len, &err) || hrt_model_open_gguf(&m, g, &err)) {
		t_failf(__FILE__, __LINE__, "%s: %s", c->arch, err.msg);
		free(buf);
		free_weights(&w);
		return;
	}
	enum { N = 12 };
	int32_t tok[N], pos[N];
	struct hrt_kv *kv, *kvs[N];
	bool want[N];
	hrt_kv_new_typed(&kv, m, 64, kv_type, &err);
	for (int i = 0; i < N; i++) {
		tok[i] = (int32_t)((i * 37 + 5) % c->V);
		pos[i] = i;
		kvs[i] = kv;
		want[i] = true;
	}
	struct hrt_compute *cp;
	struct hrt_pool *pool = hrt_pool_new(2);
	hrt_compute_new(&cp, m, 16, 64, pool, &err);
	float *lg = malloc(sizeof(float) * N * c->V);
	double *ref = malloc(sizeof(double) * N * c->V);
	struct hrt_batch b = { N, tok, pos, kvs, want };
	CHECKF(hrt_forward(cp, &b, lg, &err) == HRT_OK, "%s", err.msg);
	ref_forward(&w, tok, N, ref);
	double worst = 0;
	for (int t = 0; t < N; t++) {
		double e = nrmse(lg + t * c->V, ref + t * c->V, c->V);
		if (e > worst)
			worst = e;
	}
	CHECKF(worst < tol, "%s %s: worst nrmse %.5f >= %.4f", c->arch,
	       hrt_type_name(c->wtype), worst, tol);
	printf("  %s %s%s%s%s, %s KV: worst nrmse vs float64 %.6f\n", c->arch,
	       hrt_type_name(c->wtype), c->tied ? " tied" : "", c->bias ? " bias" : "",
	       c->freqs ? " rope_freqs" : "", hrt_type_name(kv_type), worst);

	/* the same positions token by token through the cache */
	struct hrt_kv *kv2;
	hrt_kv_new_typed(&kv2, m, 64, kv_type, &err);
	/* (single-token and batched products may use different kernels —
	 * vec_dot vs a gemm tile — so they agree to rounding, not bits; a
	 * cache bug would be off by O(1)) */
	float *one = malloc(sizeof(float) * c->V);
	double *dref = malloc(sizeof(double) * c->V);
	double worst_inc = 0;
	for (int t = 0; t < N; t++) {
		struct hrt_batch b1 = { 1, &tok[t], &pos[t], &kv2, NULL };
		hrt_forward(cp, &b1, one, &err);
		for (int i = 0; i < c->V; i++)
			dref[i] = lg[t * c->V + i];
		double e = nrmse(one, dref, c->V);
		if (e > worst_inc)
			worst_inc = e;
	}
	free(dref);
	/* Other kernels give other roundings, and with 8-bit activations one
	 * rounding that flips moves the logits by about the activation
	 * quantization error (nrmse ~1e-2 in the 2-layer quantized models);
	 * a cache mix-up moves them by O(1). Half the tolerance against
	 * float64, never below 1e-3. */
	const double path_tol = tol / 2 > 1e-3 ? tol / 2 : 1e-3;
	CHECKF(worst_inc < path_tol, "incremental decode differs from the batch: nrmse %g", worst_inc);
	/* two sequences interleaved in one batch give the same rows */
	struct hrt_kv *ka, *kb;
	hrt_kv_new_typed(&ka, m, 64, kv_type, &err);
	hrt_kv_new_typed(&kb, m, 64, kv_type, &err);
	int32_t t2[2 * N], p2[2 * N];
	struct hrt_kv *k2[2 * N];
	bool w2[2 * N];
	for (int i = 0; i < N; i++) {
		t2[2 * i] = tok[i];
		p2[2 * i] = i;
		k2[2 * i] = ka;
		t2[2 * i + 1] = tok[N - 1 - i];
		p2[2 * i + 1] = i;
		k2[2 * i + 1] = kb;
		w2[2 * i] = w2[2 * i + 1] = true;
	}
	float *lg2 = malloc(sizeof(float) * 2 * N * c->V);
	struct hrt_compute *cp2;
	hrt_compute_new(&cp2, m, 2 * N, 64, pool, &err);
	struct hrt_batch bm = { 2 * N, t2, p2, k2, w2 };
	CHECK(hrt_forward(cp2, &bm, lg2, &err) == HRT_OK);
	/* the batch of 2N tokens may run other kernels than that of N (tiles
	 * below a token count, panels above): path_tol again */
	double worst_mix = 0;
	dref = malloc(sizeof(double) * c->V);
	for (int t = 0; t < N; t++) {
		for (int i = 0; i < c->V; i++)
			dref[i] = lg[t * c->V + i];
		double e = nrmse(lg2 + (size_t)(2 * t) * c->V, dref, c->V);
		if (e > worst_mix)
			worst_mix = e;
	}
	free(dref);
	CHECKF(worst_mix < path_tol, "mixed-sequence batch differs: nrmse %g", worst_mix);
	/* invalid batches are refused before anything runs */
	int32_t badtok = c->V, badpos = 64;
	struct hrt_batch bb = { 1, &badtok, &pos[0], &kv, NULL };
	CHECK(hrt_forward(cp, &bb, one, &err) == HRT_EINVAL);
	struct hrt_batch bp = { 1, &tok[0], &badpos, &kv, NULL };
	CHECK(hrt_forward(cp, &bp, one, &err) == HRT_ERANGE);
	free(lg2);
	hrt_compute_free(cp2);
	hrt_kv_free(ka);
	hrt_kv_free(kb);
	free(one);
	hrt_kv_free(kv2);
	free(lg);
	free(ref);
	hrt_compute_free(cp);
	hrt_pool_free(pool);
	hrt_kv_free(kv);
	hrt_model_close(m);
	free(buf);
	free_weights(&w);
}

static void llama_f32(void)
{
	struct cfg c = { "llama", 64, 2, 8, 4, 96, 300, 8, 10000, 0, false, false, false, 0, 0, 0, 0, HRT_F32 };
	check_cfg(&c, 0.002);
}

static void llama_tied_bias_freqs(void)
{
	struct cfg c = { "llama", 64, 2, 4, 2, 128, 200, 16, 500000, 0, true, true, true, 0, 0, 0, 0, HRT_F16 };
	check_cfg(&c, 0.003);
}

static void llama_linear_rope(void)
{
	struct cfg c = { "llama", 64, 1, 4, 4, 64, 100, 16, 10000, 4.0f, false, false, false, 0, 0, 0, 0, HRT_F32 };
	check_cfg(&c, 0.002);
}

static void granite_scales(void)
{
	struct cfg c = { "granite", 64, 2, 4, 2, 128, 256, 16, 10000, 0, true, false, false, 12.0f, 0.22f, 0.0156f, 8.0f, HRT_F32 };
	check_cfg(&c, 0.002);
}

/* quantized weights: the reference uses the dequantized values, so the
 * only differences are the 8-bit (or bf16) activations the dot products
 * use and summation order. On these small random networks that costs
 * about 0.004-0.012 nrmse (measured); a wiring or layout bug costs > 0.3. The
 * kernels themselves are checked bit for bit in test_quant/test_kern. */
static void quantized_types(void)
{
	uint32_t types[] = { HRT_Q8_0, HRT_Q4_0, HRT_Q4_1, HRT_Q5_0, HRT_Q5_1, HRT_BF16 };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct cfg c = { "llama", 64, 2, 4, 2, 96, 128, 16, 10000, 0, false, false, false, 0, 0, 0, 0, types[i] };
		check_cfg(&c, 0.03);
	}
}

static void kquant_types(void)
{
	uint32_t types[] = { HRT_Q2_K, HRT_Q3_K, HRT_Q4_K, HRT_Q5_K, HRT_Q6_K };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct cfg c = { "granite", 256, 1, 4, 2, 256, 64, 64, 10000, 0, true, false, false, 2.0f, 0.5f, 0.09f, 4.0f, types[i] };
		check_cfg(&c, 0.03);
	}
}

/* the Q8_0 KV cache (head size 32): 8-bit keys and values cost accuracy
 * like 8-bit activations do; the F16 cache's results are the baseline */
static void kv_q8_0(void)
{
	kv_type = HRT_Q8_0;
	struct cfg a = { "llama", 128, 2, 4, 2, 128, 200, 32, 10000, 0, false, false, false, 0, 0, 0, 0, HRT_F32 };
	check_cfg(&a, 0.02);
	struct cfg b = { "granite", 256, 1, 4, 2, 256, 64, 64, 10000, 0, true, false, false, 2.0f, 0.5f, 0.09f, 4.0f, HRT_Q4_K };
	check_cfg(&b, 0.03);
	kv_type = HRT_F16;
	/* a head size that is not a multiple of 32 cannot use it */
	struct cfg c = { "llama", 64, 1, 4, 4, 64, 100, 16, 10000, 0, false, false, false, 0, 0, 0, 0, HRT_F32 };
	struct weights w;
	gen_weights(&w, &c);
	size_t len;
	uint8_t *buf = build(&w, &len, false);
	struct hrt_gguf *g;
	struct hrt_model *m;
	struct hrt_kv *kv = NULL;
	struct hrt_err err = { 0 };
	if (!hrt_gguf_open_mem(&g, buf, len, &err) && !hrt_model_open_gguf(&m, g, &err)) {
		CHECK(hrt_kv_new_typed(&kv, m, 16, HRT_Q8_0, &err) == HRT_EINVAL && !kv);
		CHECK(hrt_kv_new_typed(&kv, m, 16, HRT_Q4_0, &err) == HRT_EINVAL && !kv);
		hrt_model_close(m);
	}
	free(buf);
	free_weights(&w);
}

/* hostile hyperparameters and shapes: refused with a clear error */
static void expect_refused(const struct cfg *c, const char *key, uint32_t val,
			   const char *want, int line)
{
	struct weights w;
	gen_weights(&w, c);
	size_t len;
	uint8_t *buf = build(&w, &len, false);
	struct hrt_gguf *g = NULL;
	struct hrt_err err = { 0 };
	if (key) {
		/* rewrite one u32 hyperparameter */
		hrt_gguf_open_mem(&g, buf, len, &err);
		struct hrt_gguf_writer *wr;
		hrt_gguf_writer_new(&wr, &err);
		for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++)
			hrt_gguf_w_copy_kv(wr, g, i);
		hrt_gguf_w_u32(wr, key, val);
		for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
			const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
			char nm[128];
			snprintf(nm, sizeof nm, "%.*s", (int)t->name.len, t->name.ptr);
			hrt_gguf_w_tensor(wr, nm, t->type, t->n_dims, t->ne, t->data, t->nbytes, &err);
		}
		uint8_t *b2;
		size_t l2;
		hrt_gguf_w_to_mem(wr, &b2, &l2, &err);
		hrt_gguf_writer_free(wr);
		hrt_gguf_close(g);
		free(buf);
		buf = b2;
		len = l2;
	}
	struct hrt_model *m = NULL;
	int rc = hrt_gguf_open_mem(&g, buf, len, &err);
	if (!rc)
		rc = hrt_model_open_gguf(&m, g, &err);
	if (rc == HRT_OK) {
		t_failf(__FILE__, line, "accepted (expected '%s')", want);
		hrt_model_close(m);
	} else if (!strstr(err.msg, want)) {
		t_failf(__FILE__, line, "'%s' does not mention '%s'", err.msg, want);
	}
	free(buf);
	free_weights(&w);
}

static void hostile_hparams(void)
{
	struct cfg c = { "llama", 64, 1, 4, 2, 64, 50, 16, 10000, 0, false, false, false, 0, 0, 0, 0, HRT_F32 };
	expect_refused(&c, "llama.attention.head_count", 0, "inconsistent", __LINE__);
	expect_refused(&c, "llama.attention.head_count_kv", 3, "inconsistent", __LINE__);
	expect_refused(&c, "llama.block_count", 1000000, "inconsistent", __LINE__);
	expect_refused(&c, "llama.block_count", 2, "blk.1.attn_norm.weight", __LINE__);
	expect_refused(&c, "llama.embedding_length", 65, "shape", __LINE__);
	expect_refused(&c, "llama.feed_forward_length", 63, "shape", __LINE__);
	expect_refused(&c, "llama.rope.dimension_count", 17, "rope.dimension_count", __LINE__);
	expect_refused(&c, "llama.expert_count", 8, "mixture-of-experts", __LINE__);
	struct cfg d = c;
	d.arch = "mamba";
	expect_refused(&d, NULL, 0, "not supported", __LINE__);
}

int main(void)
{
	RUN(llama_f32);
	RUN(llama_tied_bias_freqs);
	RUN(llama_linear_rope);
	RUN(granite_scales);
	RUN(quantized_types);
	RUN(kquant_types);
	RUN(kv_q8_0);
	RUN(hostile_hparams);
	return t_done();
}
