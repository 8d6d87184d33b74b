/*
 * model — a decoder-only transformer loaded from a GGUF file: hyperparameters,
 * zero-copy weight views, per-sequence KV caches and the batched forward pass.
 *
 * One hrt_model is shared read-only by every sequence; each sequence owns an
 * hrt_kv; an hrt_compute holds the activation arena for one batch at a time
 * (owned by whoever schedules batches). Architectures are one small file each
 * (model/arch_*.c) registered in model.c. Not here: tokenizers (tok/),
 * sampling and sessions (infer/).
 */
#ifndef HRT_MODEL_H
#define HRT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "gguf/gguf.h"
#include "kern/pool.h"

enum hrt_rope_type { HRT_ROPE_NORM = 0, HRT_ROPE_NEOX = 2 };

struct hrt_hparams {
	char arch[32];
	uint32_t n_vocab;
	uint32_t n_ctx_train;
	uint32_t n_embd;
	uint32_t n_layer;
	uint32_t n_head;
	uint32_t n_head_kv;
	uint32_t n_ff;
	uint32_t head_dim;   /* per-head size of q/k/v */
	uint32_t n_rot;      /* rotary dims per head (<= head_dim) */
	float norm_eps;
	float rope_base;
	float rope_freq_scale; /* 1 / linear scaling factor */
	enum hrt_rope_type rope_type;
	float embd_scale;      /* multiply embeddings (granite), 1 = none */
	float residual_scale;  /* multiply block outputs (granite), 1 = none */
	float attn_scale;      /* softmax scale; 0 = 1/sqrt(head_dim) */
	float logit_scale;     /* divide logits (granite), 1 = none */
	bool tied_output;      /* output matrix is token_embd */
};

struct hrt_model;

/* Open a GGUF model file: map it, validate, bind the architecture.
 * Free with hrt_model_close. */
int hrt_model_open(struct hrt_model **out, const char *path,
		   struct hrt_err *err);
/* Same over an already-open reader; the model takes ownership of g (closed
 * with the model, even on failure). */
int hrt_model_open_gguf(struct hrt_model **out, struct hrt_gguf *g,
			struct hrt_err *err);
void hrt_model_close(struct hrt_model *m);

const struct hrt_hparams *hrt_model_hparams(const struct hrt_model *m);
const struct hrt_gguf *hrt_model_gguf(const struct hrt_model *m);
/* total parameter count and weight bytes */
uint64_t hrt_model_n_params(const struct hrt_model *m);
uint64_t hrt_model_weight_bytes(const struct hrt_model *m);
/* names of supported architectures, NULL-terminated */
const char *const *hrt_model_archs(void);

/* --- KV cache of one sequence --- */
struct hrt_kv;
/* an F16 cache */
int hrt_kv_new(struct hrt_kv **out, const struct hrt_model *m, uint32_t n_ctx,
	       struct hrt_err *err);
/* type: HRT_F16 or HRT_Q8_0 (half the memory; head size a multiple of 32) */
int hrt_kv_new_typed(struct hrt_kv **out, const struct hrt_model *m,
		     uint32_t n_ctx, uint32_t type, struct hrt_err *err);
uint32_t hrt_kv_type(const struct hrt_kv *kv);
void hrt_kv_free(struct hrt_kv *kv);
uint32_t hrt_kv_n_ctx(const struct hrt_kv *kv);
/* bytes the cache holds (F16 keys: n_ctx rounded up to a block) */
uint64_t hrt_kv_bytes(const struct hrt_kv *kv);
/* bytes of one position's keys and values over all layers */
uint64_t hrt_kv_pos_bytes(const struct hrt_kv *kv);

/* --- batched forward --- */
struct hrt_batch {
	int n;                    /* tokens in the batch */
	const int32_t *tok;       /* (n) token ids */
	const int32_t *pos;       /* (n) position of each token in its sequence */
	struct hrt_kv *const *kv; /* (n) cache of each token's sequence */
	const bool *logits;       /* (n) which rows want logits; NULL = last */
};

struct hrt_compute;
/* An arena for batches of up to n_batch tokens attending to up to n_ctx
 * positions; pool (may be NULL) runs the kernels and is not owned. */
int hrt_compute_new(struct hrt_compute **out, const struct hrt_model *m,
		    int n_batch, uint32_t n_ctx, struct hrt_pool *pool,
		    struct hrt_err *err);
void hrt_compute_free(struct hrt_compute *c);
int hrt_compute_n_batch(const struct hrt_compute *c);

/* Run the batch: writes K/V of every token into its cache at its position,
 * then fills logits with one row of n_vocab floats per token that wants
 * logits, in batch order. Positions must be < the cache's n_ctx and each
 * sequence's earlier positions must already be in its cache.
 * Errors: HRT_EINVAL (bad token id, bad position) — nothing is computed. */
int hrt_forward(struct hrt_compute *c, const struct hrt_batch *b,
		float *logits, struct hrt_err *err);

/* Embedding of a batch: mean-pooled final hidden state (after the output
 * norm) over the n tokens of one sequence, L2-normalised into out
 * (n_embd floats). Uses (and overwrites) positions 0..n-1 of kv. */
int hrt_embed(struct hrt_compute *c, struct hrt_kv *kv, const int32_t *tok,
	      int n, float *out, struct hrt_err *err);

#endif
