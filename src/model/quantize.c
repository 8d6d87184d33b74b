/*
 * model/quantize — the quantize engine and `hrt_quantize_file`.
 *
 * Type rules: the peer's llama_tensor_get_type (llama.cpp
 * src/llama-quant.cpp), restricted to the types hearth can produce:
 * only 2-D+ tensors named *weight (not norms, not MoE routers) are
 * converted; output.weight (and token_embd.weight when the output is tied)
 * gets Q6_K unless the mix is Q8_0; attn_v and ffn_down get more bits on the
 * "use_more_bits" layers for the _M mixes; a row length the type's block does
 * not divide falls back (Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1,
 * Q6_K -> Q8_0, then F16). One deliberate difference: where the peer aborts
 * (a 32-element type on rows not a multiple of 32) we write F16.
 * Tensors are processed in the peer's order (non-layer tensors, then by
 * layer number, each by name), which also drives the layer counters of
 * those rules.
 *
 * File layout: GGUF v3. The metadata section is serialized by the GGUF
 * writer (gguf/gguf_write.c) into memory; tensor infos and data are written
 * here, one tensor at a time, so that the model never has to be held in
 * memory. (A streaming tensor API in gguf/ would replace write_header.)
 */
#include "model/tools.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/util.h"
#include "kern/pool.h"
#include "kern/types.h"

/* ------------------------------------------------------------------ specs */

static const struct hrt_quant_spec specs[] = {
	{ "F32", HRT_FTYPE_ALL_F32, HRT_F32 },
	{ "F16", HRT_FTYPE_F16, HRT_F16 },
	{ "BF16", HRT_FTYPE_BF16, HRT_BF16 },
	{ "Q4_0", HRT_FTYPE_Q4_0, HRT_Q4_0 },
	{ "Q4_1", HRT_FTYPE_Q4_1, HRT_Q4_1 },
	{ "Q5_0", HRT_FTYPE_Q5_0, HRT_Q5_0 },
	{ "Q5_1", HRT_FTYPE_Q5_1, HRT_Q5_1 },
	{ "Q8_0", HRT_FTYPE_Q8_0, HRT_Q8_0 },
	{ "Q2_K", HRT_FTYPE_Q2_K, HRT_Q2_K },
	{ "Q3_K_S", HRT_FTYPE_Q3_K_S, HRT_Q3_K },
	{ "Q3_K_M", HRT_FTYPE_Q3_K_M, HRT_Q3_K },
	{ "Q3_K_L", HRT_FTYPE_Q3_K_L, HRT_Q3_K },
	{ "Q4_K_S", HRT_FTYPE_Q4_K_S, HRT_Q4_K },
	{ "Q4_K_M", HRT_FTYPE_Q4_K_M, HRT_Q4_K },
	{ "Q5_K_S", HRT_FTYPE_Q5_K_S, HRT_Q5_K },
	{ "Q5_K_M", HRT_FTYPE_Q5_K_M, HRT_Q5_K },
	{ "Q6_K", HRT_FTYPE_Q6_K, HRT_Q6_K },
};

/* the peer's llama-quantize aliases */
static const struct { const char *alias, *name; } aliases[] = {
	{ "Q3_K", "Q3_K_M" },
	{ "Q4_K", "Q4_K_M" },
	{ "Q5_K", "Q5_K_M" },
};

/* mixes the peer knows that hearth cannot produce */
static const char *const refused[] = {
	"Q2_K_S", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M",
	"IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS", "TQ1_0",
	"TQ2_0", "MXFP4_MOE", "MXFP4", "Q1_0", "Q2_0", "NVFP4",
};

static bool name_eq(const char *a, const char *b)
{
	while (*a && *b && toupper((unsigned char)*a) == toupper((unsigned char)*b)) {
		a++;
		b++;
	}
	return !*a && !*b;
}

const char *const *hrt_quant_spec_names(void)
{
	static const char *names[HRT_ARRAY_LEN(specs) + HRT_ARRAY_LEN(aliases) + 1];
	size_t k = 0;
	for (size_t i = 0; i < HRT_ARRAY_LEN(specs); i++)
		names[k++] = specs[i].name;
	for (size_t i = 0; i < HRT_ARRAY_LEN(aliases); i++)
		names[k++] = aliases[i].alias;
	names[k] = NULL;
	return names;
}

static void list_names(char *buf, size_t cap)
{
	size_t k = 0;
	buf[0] = 0;
	for (const char *const *n = hrt_quant_spec_names(); *n && k < cap; n++)
		k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? " " : "", *n);
}

int hrt_quant_spec_parse(const char *name, struct hrt_quant_spec *out,
			 struct hrt_err *err)
{
	char list[256];
	if (!name || !*name)
		return HRT_ERR(err, HRT_EINVAL, "no target type given");
	for (size_t i = 0; i < HRT_ARRAY_LEN(aliases); i++)
		if (name_eq(name, aliases[i].alias))
			name = aliases[i].name;
	for (size_t i = 0; i < HRT_ARRAY_LEN(specs); i++)
		if (name_eq(name, specs[i].name)) {
			*out = specs[i];
			return HRT_OK;
		}
	list_names(list, sizeof list);
	for (size_t i = 0; i < HRT_ARRAY_LEN(refused); i++)
		if (name_eq(name, refused[i]))
			return HRT_ERR(err, HRT_ENOTSUP,
				       "hearth cannot produce %s (it needs IQ types or an importance matrix); use one of: %s",
				       refused[i], list);
	return HRT_ERR(err, HRT_EINVAL, "unknown type '%.40s'; use one of: %s",
		       name, list);
}

const char *hrt_ftype_name(uint32_t ftype)
{
	for (size_t i = 0; i < HRT_ARRAY_LEN(specs); i++)
		if ((uint32_t)specs[i].ftype == ftype)
			return specs[i].name;
	return NULL;
}

/* ------------------------------------------------------------ type rules */

enum cat {
	CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_QKV, CAT_ATTN_KV_B,
	CAT_ATTN_V, CAT_ATTN_K, CAT_ATTN_Q, CAT_ATTN_OUT, CAT_FFN_UP,
	CAT_FFN_GATE, CAT_FFN_DOWN
};

static enum cat category(const char *name)
{
	if (!strcmp(name, "output.weight"))
		return CAT_OUTPUT;
	if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight"))
		return CAT_TOKEN_EMBD;
	static const struct { const char *s; enum cat c; } sub[] = {
		{ "attn_qkv.weight", CAT_ATTN_QKV }, { "attn_kv_b.weight", CAT_ATTN_KV_B },
		{ "attn_v.weight", CAT_ATTN_V }, { "attn_k.weight", CAT_ATTN_K },
		{ "attn_q.weight", CAT_ATTN_Q }, { "attn_output.weight", CAT_ATTN_OUT },
		{ "ffn_up", CAT_FFN_UP }, { "ffn_gate", CAT_FFN_GATE },
		{ "ffn_down", CAT_FFN_DOWN },
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(sub); i++)
		if (strstr(name, sub[i].s))
			return sub[i].c;
	return CAT_OTHER;
}

static bool is_attn_v(enum cat c)
{
	return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B;
}

/* 2-D+ tensors named *weight, except norms, routers and small special
 * tensors the peer leaves alone */
static bool quantizable(const struct hrt_qsrc *t)
{
	size_t n = strlen(t->name);
	uint32_t dims = 1; /* as ggml_n_dims: trailing dimensions of 1 do not count */
	for (uint32_t d = 1; d < t->n_dims; d++)
		if (t->ne[d] > 1)
			dims = d + 1;
	if (dims < 2 || n < 6 || strcmp(t->name + n - 6, "weight"))
		return false;
	static const char *const keep[] = {
		"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight",
		"altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
		"shortconv.conv.weight", "indexer.k_proj.weight",
		"indexer.q_proj.weight", "time_mix_first.weight",
		"time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
		"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
		"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
		"time_mix_g1.weight", "time_mix_g2.weight",
		"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
		"time_mix_lerp_fused.weight", "attn_rel_b.weight",
		".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
		".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
		"mm.a.code_embd",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(keep); i++)
		if (strstr(t->name, keep[i]))
			return false;
	if (!strcmp(t->name, "position_embd.weight") || !strcmp(t->name, "token_types.weight"))
		return false;
	return true;
}

struct rules {
	const struct hrt_quant_info *mi;
	enum hrt_ftype ft;
	bool tied, falcon, is_70b;
	int n_attn_v, i_attn_v, i_ffn_down;
	int n_fallback;
};

static bool more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int layer_of(const struct rules *r, int counter, const char *name)
{
	int l = counter;
	if (r->mi->n_expert > 1 && sscanf(name, "blk.%d.", &l) != 1)
		l = counter;
	return l;
}

/* the mix rules for one quantizable tensor (llama_tensor_get_type_impl) */
static uint32_t mix_type(struct rules *r, const struct hrt_qsrc *t, uint32_t ty)
{
	enum cat c = category(t->name);
	enum hrt_ftype ft = r->ft;
	int n_layer = (int)r->mi->n_layer;
	uint32_t gqa = r->mi->n_head_kv ? r->mi->n_head / r->mi->n_head_kv : 0;
	bool e8 = r->mi->n_expert == 8;

	if (c == CAT_OUTPUT || (r->tied && c == CAT_TOKEN_EMBD)) {
		if (r->falcon || t->ne[0] % hrt_type_get(ty)->blck)
			return HRT_Q8_0;
		return ty != HRT_Q8_0 ? HRT_Q6_K : ty;
	}
	if (c == CAT_TOKEN_EMBD)
		return ty;
	if (is_attn_v(c)) {
		if (ft == HRT_FTYPE_Q2_K)
			ty = gqa >= 4 ? HRT_Q4_K : HRT_Q3_K;
		else if (ft == HRT_FTYPE_Q3_K_M)
			ty = r->i_attn_v < 2 ? HRT_Q5_K : HRT_Q4_K;
		else if (ft == HRT_FTYPE_Q3_K_L)
			ty = HRT_Q5_K;
		else if ((ft == HRT_FTYPE_Q4_K_M || ft == HRT_FTYPE_Q5_K_M) &&
			 more_bits(r->i_attn_v, r->n_attn_v))
			ty = HRT_Q6_K;
		else if (ft == HRT_FTYPE_Q4_K_S && r->i_attn_v < 4)
			ty = HRT_Q5_K;
		if (r->is_70b && (ty == HRT_Q3_K || ty == HRT_Q4_K))
			ty = HRT_Q5_K;
		if (e8)
			ty = HRT_Q8_0;
		r->i_attn_v++;
		return ty;
	}
	if (c == CAT_ATTN_K)
		return e8 ? HRT_Q8_0 : ty;
	if (c == CAT_FFN_DOWN) {
		int i = layer_of(r, r->i_ffn_down, t->name), n = n_layer;
		r->i_ffn_down++;
		if (ft == HRT_FTYPE_Q2_K)
			return HRT_Q3_K;
		if (ft == HRT_FTYPE_Q3_K_M)
			return i < n / 16 ? HRT_Q5_K :
			       !r->falcon || more_bits(i, n) ? HRT_Q4_K : HRT_Q3_K;
		if (ft == HRT_FTYPE_Q3_K_L)
			return r->falcon ? HRT_Q4_K : HRT_Q5_K;
		if (ft == HRT_FTYPE_Q4_K_M) {
			if (r->falcon)
				return i < n / 16 ? HRT_Q6_K : more_bits(i, n) ? HRT_Q5_K : HRT_Q4_K;
			return more_bits(i, n) ? HRT_Q6_K : ty;
		}
		if (ft == HRT_FTYPE_Q5_K_M && more_bits(i, n))
			return HRT_Q6_K;
		if (ft == HRT_FTYPE_Q4_K_S && !r->falcon && i < n / 8)
			return HRT_Q5_K;
		return ty;
	}
	if (c == CAT_ATTN_OUT) {
		if (r->falcon)
			return ft == HRT_FTYPE_Q3_K_L ? HRT_Q4_K : ty;
		if (e8)
			return ft == HRT_FTYPE_Q2_K || ft == HRT_FTYPE_Q3_K_S ||
			       ft == HRT_FTYPE_Q3_K_M || ft == HRT_FTYPE_Q4_K_S ||
			       ft == HRT_FTYPE_Q4_K_M ? HRT_Q5_K : ty;
		if (ft == HRT_FTYPE_Q2_K)
			return HRT_Q3_K;
		if (ft == HRT_FTYPE_Q3_K_M)
			return HRT_Q4_K;
		if (ft == HRT_FTYPE_Q3_K_L)
			return HRT_Q5_K;
	}
	return ty;
}

/* a type whose block divides the row length (tensor_type_fallback) */
static uint32_t fallback(struct rules *r, const struct hrt_qsrc *t, uint32_t ty)
{
	if (t->ne[0] % hrt_type_get(ty)->blck == 0)
		return ty;
	r->n_fallback++;
	switch (ty) {
	case HRT_Q2_K:
	case HRT_Q3_K: ty = HRT_Q4_0; break;
	case HRT_Q4_K: ty = HRT_Q5_0; break;
	case HRT_Q5_K: ty = HRT_Q5_1; break;
	case HRT_Q6_K: ty = HRT_Q8_0; break;
	default: ty = HRT_F16; break;
	}
	return t->ne[0] % hrt_type_get(ty)->blck ? HRT_F16 : ty;
}

static uint32_t pick_type(struct rules *r, const struct hrt_qsrc *t,
			  const struct hrt_quant_spec *spec, bool pure)
{
	if (!quantizable(t))
		return t->type;
	uint32_t ty = spec->base;
	if (!hrt_type_get(ty)->quantized)
		return ty;
	if (!pure)
		ty = mix_type(r, t, ty);
	return fallback(r, t, ty);
}

/* ------------------------------------------------------------ ordering */

static int layer_num(const char *name)
{
	int l = -1;
	if (sscanf(name, "blk.%d.", &l) != 1)
		l = -1;
	return l;
}

static int cmp_src(const void *a, const void *b)
{
	const struct hrt_qsrc *x = *(const struct hrt_qsrc *const *)a;
	const struct hrt_qsrc *y = *(const struct hrt_qsrc *const *)b;
	int lx = layer_num(x->name), ly = layer_num(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* ------------------------------------------------------------ conversion */

/* rows per chunk so that a chunk is about 64K values */
#define CHUNK_VALUES 65536

struct job {
	const struct hrt_qsrc *t;
	uint32_t to;
	uint64_t ne0, nrows, in_row, out_row, chunk_rows;
	uint8_t *out;
	float **scratch;     /* (nth) chunk_rows * ne0 floats each */
	int64_t bad_row;     /* first row with a non-finite value, -1 none */
};

static void convert_rows(void *ctx, int ith, int nth)
{
	struct job *j = ctx;
	const struct hrt_type_traits *from = hrt_type_get(j->t->type);
	const struct hrt_type_traits *to = hrt_type_get(j->to);
	float *f = j->scratch[ith];
	long b, e;
	hrt_split((long)j->nrows, ith, nth, &b, &e);
	for (uint64_t r = (uint64_t)b; r < (uint64_t)e; r += j->chunk_rows) {
		uint64_t k = HRT_MIN(j->chunk_rows, (uint64_t)e - r);
		int64_t nv = (int64_t)(k * j->ne0);
		if (j->t->data)
			from->to_float((const uint8_t *)j->t->data + r * j->in_row, f, nv);
		else
			j->t->gen(j->t->gen_ctx, r, k, f);
		for (int64_t i = 0; i < nv; i++)
			if (f[i] - f[i] != 0.0f) { /* NaN or infinity */
				int64_t row = (int64_t)r + i / (int64_t)j->ne0;
				__atomic_store_n(&j->bad_row, row, __ATOMIC_RELAXED);
				return;
			}
		to->from_float(f, j->out + r * j->out_row, nv);
	}
}

/* ------------------------------------------------------------ output */

struct plan {
	const struct hrt_qsrc *t;
	uint32_t to;
	uint64_t nbytes;
};

static void default_opts(const struct hrt_quant_opts *in, struct hrt_quant_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (in)
		*o = *in;
}

/* check every source and choose its output type */
static int make_plan(const struct hrt_quant_info *info, const struct hrt_qsrc *const *s,
		     size_t n, const struct hrt_quant_spec *spec,
		     const struct hrt_quant_opts *o, struct plan *p,
		     uint64_t *max_out, uint64_t *max_ne0, struct hrt_err *err)
{
	struct rules r = { .mi = info, .ft = spec->ftype, .tied = true };
	r.falcon = !strcmp(info->arch, "falcon");
	r.is_70b = !strcmp(info->arch, "llama") && info->n_layer == 80;
	for (size_t i = 0; i < n; i++) {
		enum cat c = category(s[i]->name);
		if (is_attn_v(c))
			r.n_attn_v++;
		if (c == CAT_OUTPUT)
			r.tied = false;
		if (i && !strcmp(s[i]->name, s[i - 1]->name))
			return HRT_ERR(err, HRT_EINVAL, "tensor '%s' appears twice", s[i]->name);
	}
	*max_out = *max_ne0 = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hrt_qsrc *t = s[i];
		const struct hrt_type_traits *tt = hrt_type_get(t->type);
		uint64_t nel = 1, row;
		if (!tt)
			return HRT_ERR(err, HRT_ENOTSUP, "tensor '%s' has unknown type %u",
				       t->name, t->type);
		if (t->n_dims == 0 || t->n_dims > HRT_GGUF_MAX_DIMS)
			return HRT_ERR(err, HRT_EFORMAT, "tensor '%s' has %u dims", t->name, t->n_dims);
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (t->ne[d] == 0 || hrt_mul_ovf(nel, t->ne[d], &nel))
				return HRT_ERR(err, HRT_EFORMAT, "tensor '%s' has bad dims", t->name);
		uint32_t to = pick_type(&r, t, spec, o->pure);
		bool conv = to != t->type || !t->data;
		if (!t->data && (!t->gen || t->type != HRT_F32))
			return HRT_ERR(err, HRT_EINVAL, "tensor '%s' has no data", t->name);
		if (conv && t->data && !tt->to_float)
			return HRT_ERR(err, HRT_ENOTSUP,
				       "tensor '%s' is %s, which hearth cannot convert from",
				       t->name, tt->name);
		if (conv && !hrt_type_get(to)->from_float)
			return HRT_ERR(err, HRT_ENOTSUP, "hearth cannot write type %s",
				       hrt_type_name(to));
		if (!hrt_type_row_bytes(to, t->ne[0], &row) ||
		    hrt_mul_ovf(row, nel / t->ne[0], &p[i].nbytes) || p[i].nbytes > SIZE_MAX / 2)
			return HRT_ERR(err, HRT_EFORMAT, "tensor '%s': rows of %llu do not fit type %s",
				       t->name, (unsigned long long)t->ne[0], hrt_type_name(to));
		p[i].t = t;
		p[i].to = to;
		if (to != t->type || !t->data) {
			*max_out = HRT_MAX(*max_out, p[i].nbytes);
			*max_ne0 = HRT_MAX(*max_ne0, t->ne[0]);
		}
	}
	return HRT_OK;
}

static int convert(struct hrt_pool *pool, const struct plan *p, uint8_t *out,
		   float **scratch, uint64_t chunk_values, struct hrt_err *err)
{
	const struct hrt_qsrc *t = p->t;
	struct job j = { .t = t, .to = p->to, .ne0 = t->ne[0], .out = out,
			 .scratch = scratch, .bad_row = -1 };
	j.nrows = 1;
	for (uint32_t d = 1; d < t->n_dims; d++)
		j.nrows *= t->ne[d];
	hrt_type_row_bytes(p->to, t->ne[0], &j.out_row);
	if (t->data && !hrt_type_row_bytes(t->type, t->ne[0], &j.in_row))
		return HRT_ERR(err, HRT_EFORMAT, "tensor '%s': rows do not fit its type", t->name);
	j.chunk_rows = HRT_MAX(1, chunk_values / j.ne0);
	hrt_pool_run(pool, convert_rows, &j);
	if (j.bad_row >= 0)
		return HRT_ERR(err, HRT_EINVAL, "tensor '%s' has a NaN or infinite value in row %lld",
			       t->name, (long long)j.bad_row);
	return HRT_OK;
}

/* the writer asks for each tensor's bytes just before writing them: the
 * unchanged ones come straight from the source, the others are converted
 * into the writer's buffer; the tensor before is released then */
struct stream {
	const struct plan *p;
	size_t n;
	struct hrt_pool *pool;
	float **scratch;
	uint64_t chunk;
	const struct hrt_quant_opts *o;
	void (*release)(void *ctx, const struct hrt_qsrc *t);
	void *release_ctx;
	size_t done;              /* tensors written so far */
};

static void finish_prev(struct stream *st, size_t upto)
{
	for (; st->done < upto; st->done++) {
		const struct plan *q = &st->p[st->done];
		if (st->release && q->t->data)
			st->release(st->release_ctx, q->t);
		if (st->o->progress)
			st->o->progress(st->o->progress_ctx, st->done, st->n, q->t->name,
					q->t->type, q->to, q->nbytes);
	}
}

static int fill_tensor(void *ctx, uint64_t idx, void *buf, const void **data,
		       struct hrt_err *err)
{
	struct stream *st = ctx;
	const struct plan *q = &st->p[idx];
	finish_prev(st, (size_t)idx);
	if (q->to == q->t->type && q->t->data) {
		*data = q->t->data;
		return HRT_OK;
	}
	int rc = convert(st->pool, q, buf, st->scratch, st->chunk, err);
	*data = buf;
	return rc;
}

int hrt_quant_write(struct hrt_gguf_writer *kv, const struct hrt_quant_info *info,
		    const struct hrt_qsrc *src, size_t n,
		    const struct hrt_quant_spec *spec,
		    const struct hrt_quant_opts *opts, const char *out_path,
		    void (*release)(void *ctx, const struct hrt_qsrc *t),
		    void *release_ctx, struct hrt_err *err)
{
	struct hrt_quant_opts o;
	default_opts(opts, &o);
	uint32_t align = info->alignment ? info->alignment : HRT_GGUF_DEFAULT_ALIGNMENT;
	if (align & (align - 1))
		return HRT_ERR(err, HRT_EFORMAT, "alignment %u is not a power of two", align);
	const struct hrt_qsrc **s = hrt_calloc(n ? n : 1, sizeof(*s));
	struct plan *p = hrt_calloc(n ? n : 1, sizeof(*p));
	struct hrt_pool *pool = NULL;
	float **scratch = NULL;
	int rc = HRT_OK;
	if (!s || !p) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for %zu tensors", n);
		goto out_free;
	}
	for (size_t i = 0; i < n; i++)
		s[i] = &src[i];
	qsort(s, n, sizeof(*s), cmp_src);
	uint64_t max_out = 0, max_ne0 = 0;
	if ((rc = make_plan(info, s, n, spec, &o, p, &max_out, &max_ne0, err)))
		goto out_free;

	/* general.alignment is written only when it is not the default */
	hrt_gguf_w_del(kv, "general.alignment");
	if (hrt_gguf_w_u32(kv, "general.quantization_version", 2) ||
	    hrt_gguf_w_u32(kv, "general.file_type", (uint32_t)spec->ftype) ||
	    (align != HRT_GGUF_DEFAULT_ALIGNMENT && hrt_gguf_w_set_alignment(kv, align))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for metadata");
		goto out_free;
	}

	pool = hrt_pool_new(o.n_threads);
	int nth = hrt_pool_size(pool);
	uint64_t chunk = HRT_MAX((uint64_t)CHUNK_VALUES, max_ne0);
	scratch = hrt_calloc((size_t)nth, sizeof(float *));
	if (!pool || !scratch) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	for (int i = 0; max_out && i < nth; i++)
		if (!(scratch[i] = malloc((size_t)chunk * sizeof(float)))) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory for conversion buffers");
			goto out_free;
		}
	struct stream st = { p, n, pool, scratch, chunk, &o, release, release_ctx, 0 };
	for (size_t i = 0; i < n && !rc; i++)
		rc = hrt_gguf_w_tensor_cb(kv, p[i].t->name, p[i].to, p[i].t->n_dims,
					  p[i].t->ne, p[i].nbytes, fill_tensor, &st, err);
	if (!rc && (rc = hrt_gguf_w_write(kv, out_path, err)) == HRT_OK)
		finish_prev(&st, n);
out_free:
	for (int i = 0; scratch && i < hrt_pool_size(pool); i++)
		free(scratch[i]);
	free(scratch);
	hrt_pool_free(pool);
	free(p);
	free(s);
	return rc;
}

/* ------------------------------------------------------------ files */

/* gives the pages of a tensor we are done with back to the kernel, so the
 * resident size stays near one tensor (the mapping is read-only and
 * file-backed: the pages are re-read if touched again) */
static void release_pages(void *ctx, const struct hrt_qsrc *t)
{
	(void)ctx;
	long pg = sysconf(_SC_PAGESIZE);
	if (pg <= 0)
		return;
	uint64_t nel = 1, bytes = 0;
	for (uint32_t d = 1; d < t->n_dims; d++)
		nel *= t->ne[d];
	if (!hrt_type_row_bytes(t->type, t->ne[0], &bytes))
		return;
	bytes *= nel;
	uintptr_t b = (uintptr_t)t->data, e = b + (uintptr_t)bytes;
	b = (b + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1); /* whole pages only */
	e &= ~((uintptr_t)pg - 1);
	if (e > b)
		madvise((void *)b, (size_t)(e - b), MADV_DONTNEED);
}

static void read_info(const struct hrt_gguf *g, struct hrt_quant_info *mi)
{
	struct hrt_str a;
	char key[96];
	memset(mi, 0, sizeof(*mi));
	mi->alignment = (uint32_t)hrt_gguf_alignment(g);
	if (hrt_gguf_get_str(g, "general.architecture", &a, NULL) ||
	    a.len >= sizeof mi->arch || memchr(a.ptr, 0, a.len))
		return;
	memcpy(mi->arch, a.ptr, a.len);
	static const struct { const char *k; size_t off; } keys[] = {
		{ "block_count", offsetof(struct hrt_quant_info, n_layer) },
		{ "attention.head_count", offsetof(struct hrt_quant_info, n_head) },
		{ "attention.head_count_kv", offsetof(struct hrt_quant_info, n_head_kv) },
		{ "expert_count", offsetof(struct hrt_quant_info, n_expert) },
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(keys); i++) {
		snprintf(key, sizeof key, "%s.%s", mi->arch, keys[i].k);
		hrt_gguf_get_u32(g, key, (uint32_t *)((char *)mi + keys[i].off), NULL);
	}
	if (!mi->n_head_kv)
		mi->n_head_kv = mi->n_head;
}

int hrt_quantize_file(const char *in_path, const char *out_path,
		      const char *spec_name, const struct hrt_quant_opts *opts,
		      struct hrt_err *err)
{
	struct hrt_quant_spec spec;
	struct hrt_gguf *g = NULL;
	struct hrt_gguf_writer *w = NULL;
	struct hrt_qsrc *src = NULL;
	char **names = NULL;
	int rc = hrt_quant_spec_parse(spec_name, &spec, err);
	if (rc)
		return rc;
	if (!strcmp(in_path, out_path))
		return HRT_ERR(err, HRT_EINVAL, "input and output are the same file: %s", in_path);
	if ((rc = hrt_gguf_open(&g, in_path, err)))
		return rc;
	uint64_t n = hrt_gguf_n_tensors(g);
	if (n == 0) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s has no tensors", in_path);
		goto out_close;
	}
	src = hrt_calloc((size_t)n, sizeof(*src));
	names = hrt_calloc((size_t)n, sizeof(*names));
	if (!src || !names || hrt_gguf_writer_new(&w, err)) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for %llu tensors", (unsigned long long)n);
		goto out_close;
	}
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++) {
		struct hrt_str k = hrt_gguf_kv_key(g, i);
		if ((k.len >= 6 && !memcmp(k.ptr, "split.", 6)) ||
		    hrt_str_eq(k, "general.alignment"))
			continue;
		if (hrt_gguf_w_copy_kv(w, g, i)) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory for metadata");
			goto out_close;
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		if (!(names[i] = hrt_strndup(t->name.ptr, t->name.len))) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
			goto out_close;
		}
		if (strlen(names[i]) != t->name.len) {
			rc = HRT_ERR(err, HRT_EFORMAT, "tensor %llu has a NUL in its name",
				     (unsigned long long)i);
			goto out_close;
		}
		src[i].name = names[i];
		src[i].n_dims = t->n_dims;
		memcpy(src[i].ne, t->ne, sizeof t->ne);
		src[i].type = t->type;
		src[i].data = t->data;
	}
	struct hrt_quant_info mi;
	read_info(g, &mi);
	rc = hrt_quant_write(w, &mi, src, (size_t)n, &spec, opts, out_path,
			     release_pages, NULL, err);
out_close:
	for (uint64_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(src);
	hrt_gguf_writer_free(w);
	hrt_gguf_close(g);
	return rc;
}
