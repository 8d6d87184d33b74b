/*
 * model/model_int — layouts shared by the model's own files and its tests.
 */
#ifndef HRT_MODEL_INT_H
#define HRT_MODEL_INT_H

#include "kern/kern.h"
#include "model/model.h"

/* a norm weight or bias vector as f32 (points into the file when it is F32,
 * otherwise into m->owned) */
struct hrt_vec {
	const float *data;
	int64_t n;
};

struct hrt_layer {
	struct hrt_vec attn_norm;  /* (n_embd) */
	struct hrt_wt wq;          /* (n_head*head_dim rows, n_embd cols) */
	struct hrt_wt wk;          /* (n_head_kv*head_dim, n_embd) */
	struct hrt_wt wv;          /* (n_head_kv*head_dim, n_embd) */
	struct hrt_vec bq, bk, bv; /* optional biases (n = 0 when absent) */
	struct hrt_wt wo;          /* (n_embd, n_head*head_dim) */
	struct hrt_vec ffn_norm;   /* (n_embd) */
	struct hrt_wt w_gate;      /* (n_ff, n_embd) */
	struct hrt_wt w_up;        /* (n_ff, n_embd) */
	struct hrt_wt w_down;      /* (n_embd, n_ff) */
};

struct hrt_arch {
	const char *name;
	/* read hyperparameters and bind tensors into m */
	int (*load)(struct hrt_model *m, struct hrt_err *err);
};

struct hrt_model {
	struct hrt_gguf *g;
	const struct hrt_arch *arch;
	struct hrt_hparams hp;
	struct hrt_wt tok_embd;    /* (n_vocab rows, n_embd cols) */
	struct hrt_vec output_norm;
	struct hrt_wt output;      /* (n_vocab, n_embd); == tok_embd if tied */
	struct hrt_vec rope_freqs; /* optional (n_rot/2) frequency divisors */
	struct hrt_layer *layers;  /* (n_layer) */
	void **owned;              /* converted vectors we allocated */
	size_t n_owned;
	uint64_t n_params, weight_bytes;
};

/* --- helpers for arch files (model/load.c) --- */

/* hparam "<arch>.<suffix>" as u32; required ones fail with a clear error */
int hrt_hp_u32(struct hrt_model *m, const char *suffix, uint32_t *out,
	       bool required, struct hrt_err *err);
int hrt_hp_f32(struct hrt_model *m, const char *suffix, float *out,
	       bool required, struct hrt_err *err);
/* bind a 2-D weight named name (printf-style with layer index), checking its
 * dims are exactly (cols, rows) and its type computable */
int hrt_bind_wt(struct hrt_model *m, struct hrt_wt *w, int64_t cols,
		int64_t rows, bool required, struct hrt_err *err,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* bind a 1-D vector of n elements (converted to f32 if needed) */
int hrt_bind_vec(struct hrt_model *m, struct hrt_vec *v, int64_t n,
		 bool required, struct hrt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* the llama-family loader that llama, granite and relatives share:
 * reads the standard hparams under m->hp.arch and binds all tensors */
int hrt_arch_llama_like(struct hrt_model *m, struct hrt_err *err);

extern const struct hrt_arch hrt_arch_llama;
extern const struct hrt_arch hrt_arch_granite;

#endif
