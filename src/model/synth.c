/*
 * model/synth — synthetic models for tests and benchmarks: the shape of a
 * real architecture (llama, granite), a real vocabulary copied from a GGUF
 * (or a built-in byte-level one), and random weights from a fixed seed,
 * quantized by the quantize engine (model/quantize.c) so that they go
 * through the same code path as `hearth quantize`.
 *
 * Values: weight matrices are approximately N(0, 0.02) (a sum of four
 * uniforms), norms are 1. Every value is a pure function of (seed, tensor
 * name, row, column), so the bytes do not depend on the thread count.
 * Not here: anything that makes the model say something sensible.
 */
#include "model/tools.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "kern/types.h"

/* ------------------------------------------------------------ shapes */

struct named_shape {
	const char *name;
	const char *arch; /* default architecture */
	struct hrt_synth_shape s;
};

/* Published configurations (config.json of each model). */
static const struct named_shape shapes[] = {
	{ "tiny", "llama", { .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
			     .n_ff = 512, .n_ctx = 2048, .rope_base = 10000.0f,
			     .norm_eps = 1e-5f, .tied_output = true } },
	{ "llama-3.2-1b", "llama", { .n_embd = 2048, .n_layer = 16, .n_head = 32,
				     .n_head_kv = 8, .n_ff = 8192, .n_ctx = 131072,
				     .rope_base = 500000.0f, .norm_eps = 1e-5f,
				     .tied_output = true } },
	{ "llama-3.2-3b", "llama", { .n_embd = 3072, .n_layer = 28, .n_head = 24,
				     .n_head_kv = 8, .n_ff = 8192, .n_ctx = 131072,
				     .rope_base = 500000.0f, .norm_eps = 1e-5f,
				     .tied_output = true } },
	{ "llama-3.1-8b", "llama", { .n_embd = 4096, .n_layer = 32, .n_head = 32,
				     .n_head_kv = 8, .n_ff = 14336, .n_ctx = 131072,
				     .rope_base = 500000.0f, .norm_eps = 1e-5f } },
	{ "granite-3-2b", "granite", { .n_embd = 2048, .n_layer = 40, .n_head = 32,
				       .n_head_kv = 8, .n_ff = 8192, .n_ctx = 4096,
				       .rope_base = 10000.0f, .norm_eps = 1e-5f,
				       .tied_output = true, .embd_scale = 12.0f,
				       .residual_scale = 0.22f, .attn_scale = 0.015625f,
				       .logit_scale = 8.0f } },
	{ "granite-3-8b", "granite", { .n_embd = 4096, .n_layer = 40, .n_head = 32,
				       .n_head_kv = 8, .n_ff = 12800, .n_ctx = 4096,
				       .rope_base = 10000.0f, .norm_eps = 1e-5f,
				       .tied_output = true, .embd_scale = 12.0f,
				       .residual_scale = 0.22f, .attn_scale = 0.0078125f,
				       .logit_scale = 16.0f } },
};

const char *const *hrt_synth_shapes(void)
{
	static const char *names[HRT_ARRAY_LEN(shapes) + 1];
	for (size_t i = 0; i < HRT_ARRAY_LEN(shapes); i++)
		names[i] = shapes[i].name;
	return names;
}

static const struct named_shape *find_shape(const char *name)
{
	for (size_t i = 0; i < HRT_ARRAY_LEN(shapes); i++)
		if (!strcmp(shapes[i].name, name))
			return &shapes[i];
	return NULL;
}

#define MAX_DIM (1u << 16)

int hrt_synth_shape_get(const char *name, const struct hrt_synth_shape *ov,
			struct hrt_synth_shape *out, struct hrt_err *err)
{
	const struct named_shape *ns = find_shape(name ? name : "tiny");
	if (!ns) {
		char list[256];
		size_t k = 0;
		for (size_t i = 0; i < HRT_ARRAY_LEN(shapes); i++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%s",
					      i ? " " : "", shapes[i].name);
		return HRT_ERR(err, HRT_EINVAL, "unknown shape '%.40s'; known: %s", name, list);
	}
	*out = ns->s;
	if (ov) {
#define OV(f) if (ov->f) out->f = ov->f
		OV(n_embd); OV(n_layer); OV(n_head); OV(n_head_kv); OV(n_ff);
		OV(n_ctx); OV(rope_base); OV(norm_eps); OV(embd_scale);
		OV(residual_scale); OV(attn_scale); OV(logit_scale);
#undef OV
		if (ov->tied_output)
			out->tied_output = true;
	}
	if (!out->n_embd || out->n_embd > MAX_DIM || !out->n_layer || out->n_layer > 1024 ||
	    !out->n_head || !out->n_head_kv || out->n_head % out->n_head_kv ||
	    out->n_embd % out->n_head || (out->n_embd / out->n_head) % 2 ||
	    !out->n_ff || out->n_ff > 4 * MAX_DIM || !out->n_ctx)
		return HRT_ERR(err, HRT_EINVAL,
			       "inconsistent shape: embedding %u, layers %u, heads %u, kv heads %u, ffn %u, context %u",
			       out->n_embd, out->n_layer, out->n_head, out->n_head_kv,
			       out->n_ff, out->n_ctx);
	return HRT_OK;
}

/* ------------------------------------------------------------ values */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

struct gen {
	uint64_t seed;  /* per tensor */
	uint64_t ne0;
	float sigma;    /* 0: all ones */
};

/* approximately N(0, sigma): the sum of four 16-bit uniforms, centred and
 * scaled to unit variance; integer arithmetic, so the same everywhere */
static void gen_rows(const void *ctx, uint64_t row0, uint64_t nrows, float *dst)
{
	const struct gen *g = ctx;
	const float scale = g->sigma / 37837.23f; /* sd of the sum: 65536/sqrt(3) */
	for (uint64_t r = 0; r < nrows; r++) {
		float *y = dst + r * g->ne0;
		if (g->sigma == 0) {
			for (uint64_t i = 0; i < g->ne0; i++)
				y[i] = 1.0f;
			continue;
		}
		uint64_t s = g->seed ^ ((row0 + r) * 0xD1B54A32D192ED03ull);
		splitmix(&s);
		for (uint64_t i = 0; i < g->ne0; i++) {
			uint64_t v = splitmix(&s);
			int32_t sum = (int32_t)(v & 0xffff) + (int32_t)((v >> 16) & 0xffff) +
				      (int32_t)((v >> 32) & 0xffff) + (int32_t)(v >> 48);
			y[i] = (float)(sum - 131070) * scale;
		}
	}
}

/* ------------------------------------------------------------ vocab */

/* A byte-level SentencePiece vocabulary: <unk>, <s>, </s> and the 256
 * byte tokens; every text encodes (as bytes), in hearth and in the peer. */
#define BUILTIN_VOCAB (3 + 256)

static int builtin_vocab(struct hrt_gguf_writer *w)
{
	char texts[BUILTIN_VOCAB][8];
	const char *strs[BUILTIN_VOCAB];
	float scores[BUILTIN_VOCAB];
	int32_t types[BUILTIN_VOCAB];
	static const char *const special[3] = { "<unk>", "<s>", "</s>" };
	for (int i = 0; i < BUILTIN_VOCAB; i++) {
		if (i < 3)
			snprintf(texts[i], sizeof texts[i], "%s", special[i]);
		else
			snprintf(texts[i], sizeof texts[i], "<0x%02X>", i - 3);
		strs[i] = texts[i];
		scores[i] = 0;
		types[i] = i == 0 ? 2 : i < 3 ? 3 : 6; /* unknown, control, byte */
	}
	int rc = 0;
	rc |= hrt_gguf_w_str(w, "tokenizer.ggml.model", "llama");
	rc |= hrt_gguf_w_str(w, "tokenizer.ggml.pre", "default");
	rc |= hrt_gguf_w_arr_str(w, "tokenizer.ggml.tokens", strs, NULL, BUILTIN_VOCAB);
	rc |= hrt_gguf_w_arr(w, "tokenizer.ggml.scores", HRT_GGUF_F32, scores, BUILTIN_VOCAB);
	rc |= hrt_gguf_w_arr(w, "tokenizer.ggml.token_type", HRT_GGUF_I32, types, BUILTIN_VOCAB);
	rc |= hrt_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
	rc |= hrt_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
	rc |= hrt_gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	rc |= hrt_gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true);
	rc |= hrt_gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false);
	return rc ? HRT_ENOMEM : HRT_OK;
}

/* copy every tokenizer.* key of path; *n_vocab = its token count */
static int copy_vocab(struct hrt_gguf_writer *w, const char *path,
		      uint32_t *n_vocab, struct hrt_err *err)
{
	struct hrt_gguf *g;
	struct hrt_gguf_arr a;
	int rc = hrt_gguf_open(&g, path, err);
	if (rc)
		return rc;
	rc = hrt_gguf_get_arr(g, "tokenizer.ggml.tokens", &a, err);
	if (rc == HRT_ENOTFOUND || (!rc && (a.type != HRT_GGUF_STRING || a.n == 0 ||
					    a.n > (1u << 24))))
		rc = HRT_ERR(err, HRT_EFORMAT, "%s has no usable tokenizer.ggml.tokens", path);
	if (rc)
		goto out_close;
	*n_vocab = (uint32_t)a.n;
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++) {
		struct hrt_str k = hrt_gguf_kv_key(g, i);
		if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10))
			continue;
		if (hrt_gguf_w_copy_kv(w, g, i)) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory for the vocabulary");
			goto out_close;
		}
	}
out_close:
	hrt_gguf_close(g);
	return rc;
}

/* ------------------------------------------------------------ model */

static int put_hparams(struct hrt_gguf_writer *w, const char *arch,
		       const char *shape, const struct hrt_synth_shape *s,
		       uint32_t n_vocab, uint64_t seed)
{
	char k[96], name[128];
	int rc = 0;
#define KEY(suffix) (snprintf(k, sizeof k, "%s." suffix, arch), k)
	snprintf(name, sizeof name, "synthetic %s (seed %llu)", shape,
		 (unsigned long long)seed);
	rc |= hrt_gguf_w_str(w, "general.architecture", arch);
	rc |= hrt_gguf_w_str(w, "general.name", name);
	rc |= hrt_gguf_w_u32(w, KEY("context_length"), s->n_ctx);
	rc |= hrt_gguf_w_u32(w, KEY("embedding_length"), s->n_embd);
	rc |= hrt_gguf_w_u32(w, KEY("block_count"), s->n_layer);
	rc |= hrt_gguf_w_u32(w, KEY("feed_forward_length"), s->n_ff);
	rc |= hrt_gguf_w_u32(w, KEY("attention.head_count"), s->n_head);
	rc |= hrt_gguf_w_u32(w, KEY("attention.head_count_kv"), s->n_head_kv);
	rc |= hrt_gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->norm_eps);
	rc |= hrt_gguf_w_f32(w, KEY("rope.freq_base"), s->rope_base);
	rc |= hrt_gguf_w_u32(w, KEY("rope.dimension_count"), s->n_embd / s->n_head);
	rc |= hrt_gguf_w_u32(w, KEY("vocab_size"), n_vocab);
	if (!strcmp(arch, "granite")) {
		float hd = (float)(s->n_embd / s->n_head);
		rc |= hrt_gguf_w_f32(w, KEY("embedding_scale"), s->embd_scale ? s->embd_scale : 12.0f);
		rc |= hrt_gguf_w_f32(w, KEY("residual_scale"), s->residual_scale ? s->residual_scale : 0.22f);
		rc |= hrt_gguf_w_f32(w, KEY("attention.scale"), s->attn_scale ? s->attn_scale : 1.0f / hd);
		rc |= hrt_gguf_w_f32(w, KEY("logit_scale"), s->logit_scale ? s->logit_scale : 8.0f);
	}
#undef KEY
	return rc ? HRT_ENOMEM : HRT_OK;
}

/* tensor i of the model: name, dims, generator parameters */
struct tensor_list {
	struct hrt_qsrc *src;
	struct gen *gen;
	char (*names)[64];
	size_t n, cap;
	uint64_t seed;
};

static void add(struct tensor_list *l, uint64_t ne0, uint64_t ne1, float sigma,
		const char *fmt, int layer)
{
	size_t i = l->n++;
	assert(i < l->cap); /* sized exactly by the caller */
	snprintf(l->names[i], sizeof l->names[i], fmt, layer);
	struct hrt_qsrc *t = &l->src[i];
	t->name = l->names[i];
	t->n_dims = ne1 ? 2 : 1;
	t->ne[0] = ne0;
	t->ne[1] = ne1 ? ne1 : 1;
	t->ne[2] = t->ne[3] = 1;
	t->type = HRT_F32;
	t->gen = gen_rows;
	t->gen_ctx = &l->gen[i];
	uint64_t s = l->seed ^ fnv1a(l->names[i]);
	l->gen[i] = (struct gen){ splitmix(&s), ne0, sigma };
}

int hrt_synth_model(const struct hrt_synth_opts *o, struct hrt_err *err)
{
	struct hrt_synth_shape s;
	struct hrt_quant_spec spec;
	const char *shape = o->shape ? o->shape : "tiny";
	int rc;
	if ((rc = hrt_synth_shape_get(shape, o->override, &s, err)) ||
	    (rc = hrt_quant_spec_parse(o->type ? o->type : "F16", &spec, err)))
		return rc;
	const char *arch = o->arch ? o->arch : find_shape(shape)->arch;
	if (strcmp(arch, "llama") && strcmp(arch, "granite"))
		return HRT_ERR(err, HRT_EINVAL, "unknown architecture '%.40s' (llama, granite)", arch);
	if (!o->out_path || !*o->out_path)
		return HRT_ERR(err, HRT_EINVAL, "no output path");

	struct hrt_gguf_writer *w;
	if ((rc = hrt_gguf_writer_new(&w, err)))
		return rc;
	uint32_t n_vocab = BUILTIN_VOCAB;
	struct tensor_list l = { .seed = o->seed };
	if (o->vocab_path)
		rc = copy_vocab(w, o->vocab_path, &n_vocab, err);
	else if (builtin_vocab(w))
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for the vocabulary");
	if (rc)
		goto out_free;
	if (put_hparams(w, arch, shape, &s, n_vocab, o->seed)) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for metadata");
		goto out_free;
	}

	uint32_t E = s.n_embd, hd = s.n_embd / s.n_head;
	uint32_t QD = s.n_head * hd, KVD = s.n_head_kv * hd;
	l.cap = 3 + 9 * (size_t)s.n_layer;
	l.src = hrt_calloc(l.cap, sizeof(*l.src));
	l.gen = hrt_calloc(l.cap, sizeof(*l.gen));
	l.names = hrt_calloc(l.cap, sizeof(*l.names));
	if (!l.src || !l.gen || !l.names) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for %zu tensors", l.cap);
		goto out_free;
	}
	const float sd = 0.02f;
	add(&l, E, n_vocab, sd, "token_embd.weight", 0);
	add(&l, E, 0, 0, "output_norm.weight", 0);
	if (!s.tied_output)
		add(&l, E, n_vocab, sd, "output.weight", 0);
	for (uint32_t i = 0; i < s.n_layer; i++) {
		add(&l, E, 0, 0, "blk.%d.attn_norm.weight", (int)i);
		add(&l, E, QD, sd, "blk.%d.attn_q.weight", (int)i);
		add(&l, E, KVD, sd, "blk.%d.attn_k.weight", (int)i);
		add(&l, E, KVD, sd, "blk.%d.attn_v.weight", (int)i);
		add(&l, QD, E, sd, "blk.%d.attn_output.weight", (int)i);
		add(&l, E, 0, 0, "blk.%d.ffn_norm.weight", (int)i);
		add(&l, E, s.n_ff, sd, "blk.%d.ffn_gate.weight", (int)i);
		add(&l, E, s.n_ff, sd, "blk.%d.ffn_up.weight", (int)i);
		add(&l, s.n_ff, E, sd, "blk.%d.ffn_down.weight", (int)i);
	}
	struct hrt_quant_info mi = { .n_layer = s.n_layer, .n_head = s.n_head,
				     .n_head_kv = s.n_head_kv,
				     .alignment = HRT_GGUF_DEFAULT_ALIGNMENT };
	snprintf(mi.arch, sizeof mi.arch, "%s", arch);
	rc = hrt_quant_write(w, &mi, l.src, l.n, &spec, &o->q, o->out_path, NULL,
			     NULL, err);
out_free:
	free(l.src);
	free(l.gen);
	free(l.names);
	hrt_gguf_writer_free(w);
	return rc;
}
