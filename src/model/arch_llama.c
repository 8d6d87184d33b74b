/*
 * model/arch_llama — the `llama` architecture (Llama 1/2/3, TinyLlama,
 * Mistral-style dense models, CodeLlama, Granite Code, stories260K) and the
 * loader shared by its relatives: RMSNorm, RoPE (adjacent pairs), GQA,
 * SwiGLU, tied or separate output. Keys: <arch>.* as written by the GGUF
 * converters; tensor names blk.N.attn_q.weight etc.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/model_int.h"

/* caps that keep a hostile header from asking for absurd buffers */
#define MAX_LAYERS 4096
#define MAX_DIM (1u << 20)

int hrt_arch_llama_like(struct hrt_model *m, struct hrt_err *err)
{
	struct hrt_hparams *hp = &m->hp;
	int rc;
	uint32_t experts = 0;

	if ((rc = hrt_hp_u32(m, "expert_count", &experts, false, err)))
		return rc;
	if (experts > 0)
		return HRT_ERR(err, HRT_ENOTSUP,
			       "mixture-of-experts models (%s.expert_count = %u) are not supported yet",
			       hp->arch, experts);
	if ((rc = hrt_hp_u32(m, "context_length", &hp->n_ctx_train, true, err)) ||
	    (rc = hrt_hp_u32(m, "embedding_length", &hp->n_embd, true, err)) ||
	    (rc = hrt_hp_u32(m, "block_count", &hp->n_layer, true, err)) ||
	    (rc = hrt_hp_u32(m, "feed_forward_length", &hp->n_ff, true, err)) ||
	    (rc = hrt_hp_u32(m, "attention.head_count", &hp->n_head, true, err)))
		return rc;
	hp->n_head_kv = hp->n_head;
	if ((rc = hrt_hp_u32(m, "attention.head_count_kv", &hp->n_head_kv, false, err)))
		return rc;
	if (hp->n_embd == 0 || hp->n_embd > MAX_DIM || hp->n_layer == 0 ||
	    hp->n_layer > MAX_LAYERS || hp->n_ff == 0 || hp->n_ff > MAX_DIM ||
	    hp->n_head == 0 || hp->n_head > 4096 || hp->n_head_kv == 0 ||
	    hp->n_head % hp->n_head_kv)
		return HRT_ERR(err, HRT_EFORMAT,
			       "%s hyperparameters are inconsistent: embedding %u, layers %u, ffn %u, heads %u, kv heads %u",
			       hp->arch, hp->n_embd, hp->n_layer, hp->n_ff,
			       hp->n_head, hp->n_head_kv);
	hp->head_dim = hp->n_embd / hp->n_head;
	if ((rc = hrt_hp_u32(m, "attention.key_length", &hp->head_dim, false, err)))
		return rc;
	uint32_t vlen = hp->head_dim;
	if ((rc = hrt_hp_u32(m, "attention.value_length", &vlen, false, err)))
		return rc;
	if (hp->head_dim == 0 || hp->head_dim > 4096 || vlen != hp->head_dim)
		return HRT_ERR(err, HRT_EFORMAT,
			       "%s: head size %u (value size %u) is not supported",
			       hp->arch, hp->head_dim, vlen);
	hp->n_rot = hp->head_dim;
	if ((rc = hrt_hp_u32(m, "rope.dimension_count", &hp->n_rot, false, err)))
		return rc;
	if (hp->n_rot > hp->head_dim || hp->n_rot % 2)
		return HRT_ERR(err, HRT_EFORMAT,
			       "%s.rope.dimension_count = %u must be even and <= the head size %u",
			       hp->arch, hp->n_rot, hp->head_dim);
	hp->norm_eps = 1e-5f;
	hp->rope_base = 10000.0f;
	hp->rope_freq_scale = 1.0f;
	hp->rope_type = HRT_ROPE_NORM;
	hp->embd_scale = hp->residual_scale = hp->logit_scale = 1.0f;
	hp->attn_scale = 0;
	if ((rc = hrt_hp_f32(m, "attention.layer_norm_rms_epsilon", &hp->norm_eps, false, err)) ||
	    (rc = hrt_hp_f32(m, "rope.freq_base", &hp->rope_base, false, err)))
		return rc;
	if (!(hp->norm_eps >= 0 && hp->norm_eps < 1) || !(hp->rope_base > 0))
		return HRT_ERR(err, HRT_EFORMAT, "%s: rms epsilon %g or rope base %g out of range",
			       hp->arch, hp->norm_eps, hp->rope_base);

	/* rope scaling: linear is a position divisor; others are refused
	 * rather than silently computed wrong */
	char key[96];
	snprintf(key, sizeof key, "%s.rope.scaling.type", hp->arch);
	struct hrt_str st;
	rc = hrt_gguf_get_str(m->g, key, &st, err);
	if (rc && rc != HRT_ENOTFOUND)
		return rc;
	float factor = 0;
	if ((rc = hrt_hp_f32(m, "rope.scaling.factor", &factor, false, err)))
		return rc;
	if (hrt_gguf_find(m->g, key) >= 0 && !hrt_str_eq(st, "none")) {
		if (hrt_str_eq(st, "linear")) {
			if (factor > 0)
				hp->rope_freq_scale = 1.0f / factor;
		} else {
			return HRT_ERR(err, HRT_ENOTSUP, "%s = '%.*s' is not supported yet (linear and none are)",
				       key, (int)HRT_MIN(st.len, 32), st.ptr);
		}
	} else if (factor > 0 && factor != 1.0f) {
		/* older converters wrote only the factor, meaning linear */
		hp->rope_freq_scale = 1.0f / factor;
	}

	/* tensors */
	const struct hrt_gguf_tensor *te = hrt_gguf_find_tensor(m->g, "token_embd.weight");
	if (!te)
		return HRT_ERR(err, HRT_EFORMAT, "tensor 'token_embd.weight' is missing");
	if (te->n_dims != 2 || te->ne[1] == 0 || te->ne[1] > (1u << 24))
		return HRT_ERR(err, HRT_EFORMAT, "tensor 'token_embd.weight' has a bad shape");
	hp->n_vocab = (uint32_t)te->ne[1];
	int64_t E = hp->n_embd, V = hp->n_vocab;
	int64_t QD = (int64_t)hp->n_head * hp->head_dim;
	int64_t KVD = (int64_t)hp->n_head_kv * hp->head_dim;
	if ((rc = hrt_bind_wt(m, &m->tok_embd, E, V, true, err, "token_embd.weight")) ||
	    (rc = hrt_bind_vec(m, &m->output_norm, E, true, err, "output_norm.weight")) ||
	    (rc = hrt_bind_wt(m, &m->output, E, V, false, err, "output.weight")) ||
	    (rc = hrt_bind_vec(m, &m->rope_freqs, hp->n_rot / 2, false, err, "rope_freqs.weight")))
		return rc;
	if (!m->output.data) {
		m->output = m->tok_embd;
		hp->tied_output = true;
	}
	m->layers = hrt_calloc(hp->n_layer, sizeof(struct hrt_layer));
	if (!m->layers)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for %u layers", hp->n_layer);
	for (uint32_t i = 0; i < hp->n_layer; i++) {
		struct hrt_layer *L = &m->layers[i];
		int64_t F = hp->n_ff;
		if ((rc = hrt_bind_vec(m, &L->attn_norm, E, true, err, "blk.%u.attn_norm.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->wq, E, QD, true, err, "blk.%u.attn_q.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->wk, E, KVD, true, err, "blk.%u.attn_k.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->wv, E, KVD, true, err, "blk.%u.attn_v.weight", i)) ||
		    (rc = hrt_bind_vec(m, &L->bq, QD, false, err, "blk.%u.attn_q.bias", i)) ||
		    (rc = hrt_bind_vec(m, &L->bk, KVD, false, err, "blk.%u.attn_k.bias", i)) ||
		    (rc = hrt_bind_vec(m, &L->bv, KVD, false, err, "blk.%u.attn_v.bias", i)) ||
		    (rc = hrt_bind_wt(m, &L->wo, QD, E, true, err, "blk.%u.attn_output.weight", i)) ||
		    (rc = hrt_bind_vec(m, &L->ffn_norm, E, true, err, "blk.%u.ffn_norm.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->w_gate, E, F, true, err, "blk.%u.ffn_gate.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->w_up, E, F, true, err, "blk.%u.ffn_up.weight", i)) ||
		    (rc = hrt_bind_wt(m, &L->w_down, F, E, true, err, "blk.%u.ffn_down.weight", i)))
			return rc;
	}
	return HRT_OK;
}

static int llama_load(struct hrt_model *m, struct hrt_err *err)
{
	return hrt_arch_llama_like(m, err);
}

const struct hrt_arch hrt_arch_llama = { "llama", llama_load };
