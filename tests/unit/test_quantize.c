/*
 * tests/unit/test_quantize — model/quantize and model/synth: spec names,
 * the peer's per-tensor type rules (mixes, use_more_bits layers, tied
 * output, shape fallbacks), metadata copying, logits of every type against
 * the F32 original (nrmse bounds measured on this model, with margin),
 * determinism of mkmodel, and hostile cases (unknown type, missing input,
 * missing output folder, NaN weights, a file-size limit mid-write).
 * No timing is asserted.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/types.h"
#include "model/model.h"
#include "model/tools.h"
#include "t.h"

static char dir[256];  /* a fresh temporary folder */
static char f32_path[320], f16_path[320];

static const char *path_in(const char *name)
{
	static char buf[4][320];
	static int k;
	char *b = buf[k++ & 3];
	snprintf(b, 320, "%s/%s", dir, name);
	return b;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* no OUT.tmp.* left behind in dir */
static int leftovers(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".tmp."))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* the small model every test starts from: 8 layers so that the layer
 * rules have something to choose, rows of 256 so no fallback applies */
static int make_base(void)
{
	struct hrt_synth_shape ov = { .n_layer = 8 };
	struct hrt_synth_opts o = { .shape = "tiny", .override = &ov, .type = "F32",
				    .seed = 42, .out_path = f32_path };
	struct hrt_err err = { 0 };
	if (hrt_synth_model(&o, &err)) {
		fprintf(stderr, "make_base: %s\n", err.msg);
		return -1;
	}
	o.type = "F16";
	o.out_path = f16_path;
	return hrt_synth_model(&o, &err) ? -1 : 0;
}

static uint32_t type_of(const struct hrt_gguf *g, const char *name)
{
	const struct hrt_gguf_tensor *t = hrt_gguf_find_tensor(g, name);
	return t ? t->type : 9999;
}

/* ------------------------------------------------------------ logits */

static const int32_t prompt[] = { 1, 72, 104, 111, 32, 119, 200, 7, 45, 90 };
#define N_PROMPT ((int)(sizeof prompt / sizeof prompt[0]))

/* logits of the last prompt token; malloc'd, *n_vocab set */
static float *last_logits(const char *path, uint32_t *n_vocab)
{
	struct hrt_model *m = NULL;
	struct hrt_kv *kv = NULL;
	struct hrt_compute *c = NULL;
	struct hrt_err err = { 0 };
	float *out = NULL;
	if (hrt_model_open(&m, path, &err) || hrt_kv_new(&kv, m, 32, &err) ||
	    hrt_compute_new(&c, m, N_PROMPT, 32, NULL, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		goto out_free;
	}
	*n_vocab = hrt_model_hparams(m)->n_vocab;
	out = malloc(*n_vocab * sizeof(float));
	int32_t pos[N_PROMPT];
	struct hrt_kv *kvs[N_PROMPT];
	for (int i = 0; i < N_PROMPT; i++) {
		pos[i] = i;
		kvs[i] = kv;
	}
	struct hrt_batch b = { N_PROMPT, prompt, pos, kvs, NULL };
	if (out && hrt_forward(c, &b, out, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		free(out);
		out = NULL;
	}
out_free:
	hrt_compute_free(c);
	hrt_kv_free(kv);
	hrt_model_close(m);
	return out;
}

static double nrmse(const float *a, const float *ref, uint32_t n)
{
	double d = 0, r = 0;
	for (uint32_t i = 0; i < n; i++) {
		d += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
		r += (double)ref[i] * ref[i];
	}
	return r > 0 ? sqrt(d / r) : INFINITY;
}

/* ------------------------------------------------------------ tests */

static void test_spec_names(void)
{
	struct hrt_quant_spec s;
	struct hrt_err err = { 0 };
	CHECK(hrt_quant_spec_parse("q4_k_m", &s, &err) == HRT_OK);
	CHECK(s.ftype == HRT_FTYPE_Q4_K_M && s.base == HRT_Q4_K && !strcmp(s.name, "Q4_K_M"));
	CHECK(hrt_quant_spec_parse("Q4_K", &s, &err) == HRT_OK && s.ftype == 15);
	CHECK(hrt_quant_spec_parse("Q5_K", &s, &err) == HRT_OK && s.ftype == 17);
	CHECK(hrt_quant_spec_parse("Q8_0", &s, &err) == HRT_OK && s.ftype == 7);
	CHECK(hrt_quant_spec_parse("BF16", &s, &err) == HRT_OK && s.ftype == 32);
	CHECK(hrt_quant_spec_parse("Q6_K", &s, &err) == HRT_OK && s.ftype == 18);
	CHECK(hrt_quant_spec_parse("Q4_K_XL", &s, &err) == HRT_EINVAL);
	CHECK(strstr(err.msg, "Q4_K_M") != NULL); /* lists the valid names */
	CHECK(hrt_quant_spec_parse("IQ2_XS", &s, &err) == HRT_ENOTSUP);
	CHECK(hrt_quant_spec_parse("", &s, &err) == HRT_EINVAL);
	CHECK(hrt_quant_spec_parse(NULL, &s, &err) == HRT_EINVAL);
	CHECK(!strcmp(hrt_ftype_name(15), "Q4_K_M") && hrt_ftype_name(999) == NULL);
}

/* use_more_bits(i, 8): layers 0, 3, 6, 7 */
static bool more_bits8(int i)
{
	return i == 0 || i == 3 || i == 6 || i == 7;
}

static void test_rules_q4_k_m(void)
{
	struct hrt_err err = { 0 };
	const char *out = path_in("q4km.gguf");
	int rc = hrt_quantize_file(f32_path, out, "Q4_K_M", NULL, &err);
	CHECKF(rc == HRT_OK, "%s", err.msg);
	struct hrt_gguf *g;
	if (rc || hrt_gguf_open(&g, out, &err))
		return;
	uint32_t ft = 0, qv = 0;
	CHECK(!hrt_gguf_get_u32(g, "general.file_type", &ft, NULL) && ft == 15);
	CHECK(!hrt_gguf_get_u32(g, "general.quantization_version", &qv, NULL) && qv == 2);
	CHECK(type_of(g, "token_embd.weight") == HRT_Q6_K); /* tied: output rules */
	CHECK(type_of(g, "output_norm.weight") == HRT_F32);
	char name[64];
	for (int i = 0; i < 8; i++) {
		uint32_t want = more_bits8(i) ? HRT_Q6_K : HRT_Q4_K;
		snprintf(name, sizeof name, "blk.%d.attn_v.weight", i);
		CHECKF(type_of(g, name) == want, "%s is %u", name, type_of(g, name));
		snprintf(name, sizeof name, "blk.%d.ffn_down.weight", i);
		CHECKF(type_of(g, name) == want, "%s is %u", name, type_of(g, name));
		snprintf(name, sizeof name, "blk.%d.attn_q.weight", i);
		CHECK(type_of(g, name) == HRT_Q4_K);
		snprintf(name, sizeof name, "blk.%d.ffn_up.weight", i);
		CHECK(type_of(g, name) == HRT_Q4_K);
		snprintf(name, sizeof name, "blk.%d.attn_norm.weight", i);
		CHECK(type_of(g, name) == HRT_F32);
	}
	/* the peer's order: non-layer tensors by name, then layer by layer */
	CHECK(hrt_gguf_n_tensors(g) == 2 + 9 * 8);
	CHECK(hrt_str_eq(hrt_gguf_tensor(g, 0)->name, "output_norm.weight"));
	CHECK(hrt_str_eq(hrt_gguf_tensor(g, 1)->name, "token_embd.weight"));
	CHECK(hrt_str_eq(hrt_gguf_tensor(g, 2)->name, "blk.0.attn_k.weight"));
	CHECK(hrt_str_eq(hrt_gguf_tensor(g, 2 + 9 * 7)->name, "blk.7.attn_k.weight"));
	/* every input key is there */
	struct hrt_gguf *in;
	if (!hrt_gguf_open(&in, f32_path, &err)) {
		for (uint64_t i = 0; i < hrt_gguf_n_kv(in); i++) {
			struct hrt_str k = hrt_gguf_kv_key(in, i);
			char key[128];
			snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
			int64_t j = hrt_gguf_find(g, key);
			CHECKF(j >= 0, "key %s not copied", key);
			if (j >= 0 && strcmp(key, "general.file_type"))
				CHECKF(hrt_gguf_kv_type(g, (uint64_t)j) == hrt_gguf_kv_type(in, i),
				       "key %s changed type", key);
		}
		struct hrt_gguf_arr a, b;
		CHECK(!hrt_gguf_get_arr(in, "tokenizer.ggml.tokens", &a, NULL) &&
		      !hrt_gguf_get_arr(g, "tokenizer.ggml.tokens", &b, NULL) && a.n == b.n &&
		      hrt_str_eq(hrt_gguf_arr_str(&b, 100), "<0x61>"));
		hrt_gguf_close(in);
	}
	hrt_gguf_close(g);
}

static void test_rules_other_mixes(void)
{
	static const struct {
		const char *spec;
		uint32_t embd, v0, v1, down0, down1, q, out0; /* v1/down1: layer 1 */
	} cases[] = {
		/* spec     token_embd  attn_v.0  attn_v.1  ffn_down.0 ffn_down.1 attn_q  attn_output.0 */
		{ "Q8_0", HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0, HRT_Q8_0 },
		{ "Q4_0", HRT_Q6_K, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0, HRT_Q4_0 },
		{ "Q5_1", HRT_Q6_K, HRT_Q5_1, HRT_Q5_1, HRT_Q5_1, HRT_Q5_1, HRT_Q5_1, HRT_Q5_1 },
		{ "Q6_K", HRT_Q6_K, HRT_Q6_K, HRT_Q6_K, HRT_Q6_K, HRT_Q6_K, HRT_Q6_K, HRT_Q6_K },
		{ "Q5_K_M", HRT_Q6_K, HRT_Q6_K, HRT_Q5_K, HRT_Q6_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K },
		{ "Q5_K_S", HRT_Q6_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K },
		{ "Q4_K_S", HRT_Q6_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q4_K, HRT_Q4_K, HRT_Q4_K },
		{ "Q3_K_M", HRT_Q6_K, HRT_Q5_K, HRT_Q5_K, HRT_Q4_K, HRT_Q4_K, HRT_Q3_K, HRT_Q4_K },
		{ "Q3_K_L", HRT_Q6_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q5_K, HRT_Q3_K, HRT_Q5_K },
		{ "Q3_K_S", HRT_Q6_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K },
		/* gqa = 2 < 4: attn_v Q3_K */
		{ "Q2_K", HRT_Q6_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K, HRT_Q3_K, HRT_Q2_K, HRT_Q3_K },
		{ "F16", HRT_F16, HRT_F16, HRT_F16, HRT_F16, HRT_F16, HRT_F16, HRT_F16 },
		{ "BF16", HRT_BF16, HRT_BF16, HRT_BF16, HRT_BF16, HRT_BF16, HRT_BF16, HRT_BF16 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hrt_err err = { 0 };
		const char *out = path_in("mix.gguf");
		struct hrt_gguf *g;
		if (hrt_quantize_file(f16_path, out, cases[i].spec, NULL, &err) ||
		    hrt_gguf_open(&g, out, &err)) {
			CHECKF(0, "%s: %s", cases[i].spec, err.msg);
			continue;
		}
		uint32_t got[7] = {
			type_of(g, "token_embd.weight"), type_of(g, "blk.0.attn_v.weight"),
			type_of(g, "blk.1.attn_v.weight"), type_of(g, "blk.0.ffn_down.weight"),
			type_of(g, "blk.1.ffn_down.weight"), type_of(g, "blk.1.attn_q.weight"),
			type_of(g, "blk.0.attn_output.weight"),
		};
		const uint32_t *want = &cases[i].embd;
		for (int k = 0; k < 7; k++)
			CHECKF(got[k] == want[k], "%s: tensor %d is %s, want %s", cases[i].spec, k,
			       hrt_type_name(got[k]), hrt_type_name(want[k]));
		CHECK(type_of(g, "blk.3.ffn_norm.weight") == HRT_F32);
		hrt_gguf_close(g);
	}
}

static void test_pure(void)
{
	struct hrt_err err = { 0 };
	struct hrt_quant_opts o = { .pure = true, .n_threads = 1 };
	const char *out = path_in("pure.gguf");
	struct hrt_gguf *g;
	if (hrt_quantize_file(f32_path, out, "Q4_K_M", &o, &err) || hrt_gguf_open(&g, out, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	CHECK(type_of(g, "token_embd.weight") == HRT_Q4_K);
	CHECK(type_of(g, "blk.0.attn_v.weight") == HRT_Q4_K);
	CHECK(type_of(g, "blk.7.ffn_down.weight") == HRT_Q4_K);
	CHECK(type_of(g, "blk.7.ffn_norm.weight") == HRT_F32);
	hrt_gguf_close(g);
}

/* rows of 320 (not a multiple of 256) and an untied output */
static void test_fallback_and_untied(void)
{
	struct hrt_synth_shape ov = { .n_embd = 320, .n_head = 5, .n_head_kv = 5,
				      .n_ff = 640, .n_layer = 2 };
	const char *base = path_in("odd.gguf"), *out = path_in("odd-q.gguf");
	struct hrt_synth_opts so = { .shape = "llama-3.1-8b", .override = &ov,
				     .type = "F16", .out_path = base };
	struct hrt_err err = { 0 };
	struct hrt_gguf *g;
	if (hrt_synth_model(&so, &err) ||
	    hrt_quantize_file(base, out, "Q4_K_M", NULL, &err) || hrt_gguf_open(&g, out, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	CHECK(type_of(g, "output.weight") == HRT_Q8_0);     /* nx % 256: Q8_0 */
	CHECK(type_of(g, "token_embd.weight") == HRT_Q5_0); /* untied: Q4_K -> Q5_0 */
	CHECK(type_of(g, "blk.0.attn_q.weight") == HRT_Q5_0);
	CHECK(type_of(g, "blk.1.attn_v.weight") == HRT_Q8_0); /* Q6_K -> Q8_0 */
	CHECK(type_of(g, "blk.0.ffn_down.weight") == HRT_Q5_0);
	hrt_gguf_close(g);
	/* Q5_K falls back to Q5_1 */
	if (hrt_quantize_file(base, out, "Q5_K_S", NULL, &err) || hrt_gguf_open(&g, out, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	CHECK(type_of(g, "blk.0.attn_q.weight") == HRT_Q5_1);
	CHECK(type_of(g, "output.weight") == HRT_Q8_0);
	hrt_gguf_close(g);
	struct hrt_model *m;
	CHECKF(hrt_model_open(&m, out, &err) == HRT_OK, "%s", err.msg);
	if (!err.code)
		hrt_model_close(m);
}

static void test_logits_close(void)
{
	/* nrmse of the last-token logits against the F32 model, as measured
	 * on this model (seed 42, 8 layers; random weights amplify the error
	 * compared with a trained model); bounds are about 1.5x that:
	 * F16 0.0008, BF16 0.006, Q8_0 0.019, Q6_K 0.057, Q5_K_M 0.094,
	 * Q5_K_S 0.108, Q5_0 0.139, Q5_1 0.103, Q4_K_M 0.164, Q4_K_S 0.167,
	 * Q4_0 0.213, Q4_1 0.199, Q3_K_L 0.133, Q3_K_M 0.188, Q3_K_S 0.367,
	 * Q2_K 0.409 */
	static const struct { const char *spec; double bound; } cases[] = {
		{ "F16", 0.002 }, { "BF16", 0.01 }, { "Q8_0", 0.03 }, { "Q6_K", 0.09 },
		{ "Q5_K_M", 0.14 }, { "Q5_K_S", 0.16 }, { "Q5_0", 0.21 }, { "Q5_1", 0.16 },
		{ "Q4_K_M", 0.25 }, { "Q4_K_S", 0.25 }, { "Q4_0", 0.32 }, { "Q4_1", 0.30 },
		{ "Q3_K_L", 0.20 }, { "Q3_K_M", 0.28 }, { "Q3_K_S", 0.55 }, { "Q2_K", 0.62 },
	};
	uint32_t nv = 0, nq = 0;
	float *ref = last_logits(f32_path, &nv);
	CHECK(ref != NULL);
	for (size_t i = 0; ref && i < sizeof cases / sizeof cases[0]; i++) {
		struct hrt_err err = { 0 };
		const char *out = path_in("lg.gguf");
		if (hrt_quantize_file(f32_path, out, cases[i].spec, NULL, &err)) {
			CHECKF(0, "%s: %s", cases[i].spec, err.msg);
			continue;
		}
		float *q = last_logits(out, &nq);
		CHECKF(q && nq == nv, "%s does not load", cases[i].spec);
		if (!q)
			continue;
		double e = nrmse(q, ref, nv);
		printf("# nrmse %-7s %.4f (bound %.3f)\n", cases[i].spec, e, cases[i].bound);
		CHECKF(e < cases[i].bound, "%s: nrmse %.4f >= %.3f", cases[i].spec, e, cases[i].bound);
		free(q);
	}
	free(ref);
}

static void test_requantize(void)
{
	struct hrt_err err = { 0 };
	const char *q8 = path_in("rq8.gguf"), *q4 = path_in("rq4.gguf");
	CHECKF(hrt_quantize_file(f32_path, q8, "Q8_0", NULL, &err) == HRT_OK, "%s", err.msg);
	CHECKF(hrt_quantize_file(q8, q4, "Q4_K_M", NULL, &err) == HRT_OK, "%s", err.msg);
	/* same type: the bytes are copied */
	const char *q8b = path_in("rq8b.gguf");
	CHECKF(hrt_quantize_file(q8, q8b, "Q8_0", NULL, &err) == HRT_OK, "%s", err.msg);
	size_t la = 0, lb = 0;
	char *a = t_slurp(q8, &la), *b = t_slurp(q8b, &lb);
	CHECK(a && b && la == lb && !memcmp(a, b, la));
	free(a);
	free(b);
	uint32_t nv;
	float *l = last_logits(q4, &nv);
	CHECK(l != NULL);
	free(l);
}

static void test_threads_same_bytes(void)
{
	struct hrt_err err = { 0 };
	struct hrt_quant_opts o1 = { .n_threads = 1 }, o3 = { .n_threads = 3 };
	const char *a = path_in("t1.gguf"), *b = path_in("t3.gguf");
	CHECK(hrt_quantize_file(f16_path, a, "Q4_K_M", &o1, &err) == HRT_OK);
	CHECK(hrt_quantize_file(f16_path, b, "Q4_K_M", &o3, &err) == HRT_OK);
	size_t la = 0, lb = 0;
	char *x = t_slurp(a, &la), *y = t_slurp(b, &lb);
	CHECK(x && y && la == lb && !memcmp(x, y, la));
	free(x);
	free(y);
}

static void test_mkmodel_deterministic(void)
{
	struct hrt_err err = { 0 };
	const char *a = path_in("s1.gguf"), *b = path_in("s2.gguf"), *c = path_in("s3.gguf");
	struct hrt_synth_opts o = { .arch = "granite", .type = "Q4_0", .seed = 5, .out_path = a,
				    .q = { .n_threads = 1 } };
	CHECKF(hrt_synth_model(&o, &err) == HRT_OK, "%s", err.msg);
	o.out_path = b;
	o.q.n_threads = 2;
	CHECK(hrt_synth_model(&o, &err) == HRT_OK);
	o.out_path = c;
	o.seed = 6;
	CHECK(hrt_synth_model(&o, &err) == HRT_OK);
	size_t la = 0, lb = 0, lc = 0;
	char *x = t_slurp(a, &la), *y = t_slurp(b, &lb), *z = t_slurp(c, &lc);
	CHECK(x && y && z);
	CHECK(la == lb && !memcmp(x, y, la)); /* same seed, other thread count */
	CHECK(la == lc && memcmp(x, z, la));  /* other seed: same size, other bytes */
	free(x);
	free(y);
	free(z);
	/* granite keys and the shape are there, and it runs */
	struct hrt_model *m;
	if (hrt_model_open(&m, a, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	const struct hrt_hparams *hp = hrt_model_hparams(m);
	CHECK(!strcmp(hp->arch, "granite") && hp->n_embd == 256 && hp->n_layer == 2);
	CHECK(hp->embd_scale == 12.0f && hp->residual_scale == 0.22f && hp->logit_scale == 8.0f);
	CHECK(hp->n_vocab == 259 && hp->tied_output);
	hrt_model_close(m);
}

static void test_mkmodel_vocab(void)
{
	const char *sh = t_shared();
	char vp[512];
	if (!sh) {
		t_skip("../shared not found");
		return;
	}
	snprintf(vp, sizeof vp, "%s/vocab/ggml-vocab-llama-spm.gguf", sh);
	if (!exists(vp)) {
		t_skip("%s missing", vp);
		return;
	}
	struct hrt_err err = { 0 };
	const char *out = path_in("v.gguf");
	struct hrt_synth_opts o = { .vocab_path = vp, .type = "Q8_0", .out_path = out };
	CHECKF(hrt_synth_model(&o, &err) == HRT_OK, "%s", err.msg);
	struct hrt_model *m;
	if (hrt_model_open(&m, out, &err)) {
		CHECKF(0, "%s", err.msg);
		return;
	}
	CHECK(hrt_model_hparams(m)->n_vocab == 32000);
	struct hrt_str s;
	CHECK(!hrt_gguf_get_str(hrt_model_gguf(m), "tokenizer.ggml.model", &s, NULL) &&
	      hrt_str_eq(s, "llama"));
	hrt_model_close(m);
	/* a model file as the vocabulary source: its tokenizer.* keys */
	o.vocab_path = f32_path;
	o.out_path = path_in("v2.gguf");
	CHECK(hrt_synth_model(&o, &err) == HRT_OK);
	/* a GGUF without a vocabulary, and no file at all, are refused */
	struct hrt_gguf_writer *w;
	const char *novocab = path_in("novocab.gguf");
	if (!hrt_gguf_writer_new(&w, &err)) {
		hrt_gguf_w_str(w, "general.architecture", "llama");
		CHECK(hrt_gguf_w_write(w, novocab, &err) == HRT_OK);
		hrt_gguf_writer_free(w);
	}
	o.vocab_path = novocab;
	CHECK(hrt_synth_model(&o, &err) == HRT_EFORMAT && strstr(err.msg, "tokenizer"));
	o.vocab_path = path_in("nothing.gguf");
	CHECK(hrt_synth_model(&o, &err) == HRT_ENOTFOUND || err.code == HRT_EIO);
}

static void test_mkmodel_bad(void)
{
	struct hrt_err err = { 0 };
	struct hrt_synth_opts o = { .shape = "llama-9000", .out_path = path_in("x.gguf") };
	CHECK(hrt_synth_model(&o, &err) == HRT_EINVAL && strstr(err.msg, "llama-3.2-1b"));
	o.shape = "tiny";
	o.arch = "gpt-j";
	CHECK(hrt_synth_model(&o, &err) == HRT_EINVAL);
	o.arch = NULL;
	o.type = "Q9_9";
	CHECK(hrt_synth_model(&o, &err) == HRT_EINVAL);
	struct hrt_synth_shape ov = { .n_head = 3 }; /* 256 % 3 */
	o.type = NULL;
	o.override = &ov;
	CHECK(hrt_synth_model(&o, &err) == HRT_EINVAL);
	CHECK(!exists(path_in("x.gguf")));
}

static void test_hostile(void)
{
	struct hrt_err err = { 0 };
	const char *out = path_in("h.gguf");
	CHECK(hrt_quantize_file(f32_path, out, "Q4_X", NULL, &err) == HRT_EINVAL);
	CHECK(!exists(out));
	CHECK(hrt_quantize_file(path_in("missing.gguf"), out, "Q8_0", NULL, &err) == HRT_ENOTFOUND ||
	      err.code == HRT_EIO);
	CHECK(!exists(out));
	char nodir[400];
	snprintf(nodir, sizeof nodir, "%s/no/such/dir/out.gguf", dir);
	int rc = hrt_quantize_file(f32_path, nodir, "Q8_0", NULL, &err);
	CHECKF(rc == HRT_ENOTFOUND && strstr(err.msg, "no/such/dir"), "rc %d: %s", rc, err.msg);
	CHECK(hrt_quantize_file(f32_path, f32_path, "Q8_0", NULL, &err) == HRT_EINVAL);
	/* not a GGUF */
	const char *junk = path_in("junk.gguf");
	FILE *f = fopen(junk, "wb");
	if (f) {
		fputs("GGUF but not really", f);
		fclose(f);
	}
	rc = hrt_quantize_file(junk, out, "Q8_0", NULL, &err);
	CHECKF((rc == HRT_EFORMAT || rc == HRT_ENOTSUP) && err.msg[0], "rc %d", rc);
	CHECK(!exists(out) && leftovers() == 0);
}

/* a tensor holding a NaN is refused, naming the tensor */
static void test_nan(void)
{
	struct hrt_gguf_writer *w;
	struct hrt_err err = { 0 };
	float *data = calloc(256 * 4, sizeof(float));
	if (!data || hrt_gguf_writer_new(&w, &err)) {
		free(data);
		CHECK(0);
		return;
	}
	data[300] = NAN;
	uint64_t ne[2] = { 256, 4 };
	hrt_gguf_w_str(w, "general.architecture", "llama");
	hrt_gguf_w_tensor(w, "blk.0.attn_q.weight", HRT_F32, 2, ne, data,
			  256 * 4 * sizeof(float), &err);
	const char *in = path_in("nan.gguf"), *out = path_in("nan-q.gguf");
	CHECK(hrt_gguf_w_write(w, in, &err) == HRT_OK);
	hrt_gguf_writer_free(w);
	free(data);
	int rc = hrt_quantize_file(in, out, "Q8_0", NULL, &err);
	CHECKF(rc == HRT_EINVAL && strstr(err.msg, "blk.0.attn_q.weight") &&
	       strstr(err.msg, "row 1"), "rc %d: %s", rc, err.msg);
	CHECK(!exists(out) && leftovers() == 0);
}

/* the device fills up mid-write (a file-size limit stands in for it) */
static void test_write_fails(void)
{
	struct rlimit old, lim;
	struct hrt_err err = { 0 };
	if (getrlimit(RLIMIT_FSIZE, &old)) {
		t_skip("getrlimit");
		return;
	}
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	if (setrlimit(RLIMIT_FSIZE, &lim)) {
		signal(SIGXFSZ, prev);
		t_skip("setrlimit");
		return;
	}
	const char *out = path_in("big.gguf");
	int rc = hrt_quantize_file(f32_path, out, "Q8_0", NULL, &err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, prev);
	CHECKF(rc == HRT_EIO && strstr(err.msg, "big.gguf"), "rc %d: %s", rc, err.msg);
	CHECK(!exists(out) && leftovers() == 0);
}

static void rm_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/hearth-tq-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("FAIL setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(f32_path, sizeof f32_path, "%s/base-f32.gguf", dir);
	snprintf(f16_path, sizeof f16_path, "%s/base-f16.gguf", dir);
	if (make_base()) {
		printf("FAIL setup: cannot make the base model\n");
		rm_dir();
		return 1;
	}
	RUN(test_spec_names);
	RUN(test_rules_q4_k_m);
	RUN(test_rules_other_mixes);
	RUN(test_pure);
	RUN(test_fallback_and_untied);
	RUN(test_logits_close);
	RUN(test_requantize);
	RUN(test_threads_same_bytes);
	RUN(test_mkmodel_deterministic);
	RUN(test_mkmodel_vocab);
	RUN(test_mkmodel_bad);
	RUN(test_hostile);
	RUN(test_nan);
	RUN(test_write_fails);
	rm_dir();
	return t_done();
}
