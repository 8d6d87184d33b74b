/*
 * infer/session — what a user of the engine holds.
 *
 * An hrt_llm is a loaded model: weights (model/), vocabulary (tok/), chat
 * format family (tok/chat), a thread pool and one compute arena; it is
 * shared by all its sessions, which take turns on the arena.
 * An hrt_session is one conversation: its KV cache, the tokens already in
 * it, and the logits after the last one. Generation streams text through a
 * callback, whole UTF-8 characters only, holding back text that might be
 * the start of a stop string. Not here: HTTP, scheduling many sessions.
 */
#ifndef HRT_INFER_SESSION_H
#define HRT_INFER_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "infer/sample.h"
#include "model/model.h"
#include "tok/chat.h"
#include "tok/tok.h"

struct hrt_llm_opts {
	int n_threads;  /* <= 0: all online CPUs */
	int n_batch;    /* tokens per forward call for prompts; <= 0: 512 */
	uint32_t n_ctx; /* default context per session; 0: min(trained, 4096) */
	uint32_t kv_type; /* KV cache: HRT_F16 or HRT_Q8_0; 0: $HEARTH_KV_TYPE
			   * ("f16" or "q8_0") or F16 */
};

struct hrt_llm;

int hrt_llm_open(struct hrt_llm **out, const char *path,
		 const struct hrt_llm_opts *opts, struct hrt_err *err);
void hrt_llm_close(struct hrt_llm *l);

const struct hrt_model *hrt_llm_model(const struct hrt_llm *l);
const struct hrt_vocab *hrt_llm_vocab(const struct hrt_llm *l);
enum hrt_chat_family hrt_llm_chat(const struct hrt_llm *l);
/* override the chat family found in the file (a Modelfile TEMPLATE) */
void hrt_llm_set_chat(struct hrt_llm *l, enum hrt_chat_family f);
uint32_t hrt_llm_n_ctx(const struct hrt_llm *l);
int hrt_llm_n_threads(const struct hrt_llm *l);
int hrt_llm_n_batch(const struct hrt_llm *l);
/* how the weights were brought in at open (core/hugemap) */
struct hrt_hugemap_report;
const struct hrt_hugemap_report *hrt_llm_hugemap(const struct hrt_llm *l);
uint32_t hrt_llm_kv_type(const struct hrt_llm *l);
/* The shared compute arena and pool, for a scheduler that builds its own
 * batches (sched/). Hold hrt_llm_lock while using the arena. */
struct hrt_compute *hrt_llm_compute(struct hrt_llm *l);
struct hrt_pool *hrt_llm_pool(struct hrt_llm *l);
void hrt_llm_lock(struct hrt_llm *l);
void hrt_llm_unlock(struct hrt_llm *l);

/* Render a conversation with the model's template and tokenize it: control
 * tokens only where the template wrote them. *ids is malloc'd. */
int hrt_llm_chat_tokens(const struct hrt_llm *l, const struct hrt_chat_msg *msgs,
			size_t n, bool add_generation_prompt, int32_t **ids,
			size_t *n_ids, struct hrt_err *err);

struct hrt_session;

/* n_ctx 0: the llm's default */
int hrt_session_new(struct hrt_session **out, struct hrt_llm *l, uint32_t n_ctx,
		    struct hrt_err *err);
void hrt_session_free(struct hrt_session *s);
uint32_t hrt_session_n_ctx(const struct hrt_session *s);
size_t hrt_session_n_past(const struct hrt_session *s);
const int32_t *hrt_session_tokens(const struct hrt_session *s);
/* keep only the first n tokens (n <= n_past); the logits become stale
 * until the next eval */
void hrt_session_truncate(struct hrt_session *s, size_t n);
/* number of leading tokens of toks already in the session */
size_t hrt_session_common_prefix(const struct hrt_session *s,
				 const int32_t *toks, size_t n);

/* Append n tokens and evaluate them in batches. If all_logits is not NULL it
 * receives n rows of n_vocab floats. Fails with HRT_ERANGE, evaluating
 * nothing, when they do not fit in the context. */
int hrt_session_eval(struct hrt_session *s, const int32_t *toks, size_t n,
		     float *all_logits, struct hrt_err *err);
/* logits after the last evaluated token (n_vocab floats); NULL if none */
const float *hrt_session_logits(const struct hrt_session *s);

enum hrt_stop_reason {
	HRT_STOP_NONE = 0,
	HRT_STOP_EOG,     /* the model ended its turn */
	HRT_STOP_LENGTH,  /* max_tokens reached */
	HRT_STOP_STRING,  /* a stop string appeared */
	HRT_STOP_CONTEXT, /* the context is full */
	HRT_STOP_CANCEL,  /* cancel flag or the callback asked to stop */
};
const char *hrt_stop_reason_name(enum hrt_stop_reason r);

struct hrt_gen_params {
	struct hrt_sample_params sample;
	int32_t max_tokens;       /* < 0: until the context is full */
	const char *const *stop;  /* stop strings (not emitted) */
	size_t n_stop;
	bool ignore_eog;          /* keep going past end-of-generation tokens */
	bool special;             /* render control tokens as text */
	atomic_int *cancel;       /* checked between tokens; may be NULL */
};

/* text: the next piece of output (complete UTF-8); tok: the token that
 * completed it (-1 when flushing held-back text). Return non-zero to stop. */
typedef int (*hrt_gen_cb)(void *ctx, const char *text, size_t len, int32_t tok);

struct hrt_gen_result {
	size_t n_prompt;      /* tokens evaluated for the prompt */
	size_t n_gen;         /* tokens generated */
	enum hrt_stop_reason reason;
	uint64_t prompt_ns, gen_ns;
	int32_t *tokens;      /* the generated ids (malloc'd; caller frees) */
	int32_t end_token;    /* the end-of-generation id when reason is EOG, else -1 */
};

/* Evaluate prompt (appended to what the session holds; may be empty when
 * the session already ends with the prompt), then sample until a stop.
 * The generated tokens stay in the session (a chat continues from them). */
int hrt_session_generate(struct hrt_session *s, const int32_t *prompt,
			 size_t n_prompt, const struct hrt_gen_params *gp,
			 hrt_gen_cb cb, void *cb_ctx, struct hrt_gen_result *res,
			 struct hrt_err *err);

#endif
