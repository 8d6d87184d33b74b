/*
 * sched — continuous batching of many generation requests over one loaded
 * model.
 *
 * A scheduler owns a worker thread and n_slots sequence slots, each with its
 * own KV cache. Every step it builds one batch through the weights: one
 * token for each slot that is generating, plus a chunk of prompt tokens for
 * slots still reading their prompt (so a long prompt is eaten in pieces and
 * never freezes the others). An idle slot keeps its tokens and cache: a new
 * request goes to the idle slot sharing the longest prefix with its prompt
 * and only the rest is evaluated (an editor re-sends nearly the same prefix
 * on every keystroke). Requests beyond the slots wait in a bounded queue;
 * when that is full, submit fails with HRT_ERANGE (the server answers 503).
 *
 * Callbacks run on the worker thread and must return quickly (copy the text
 * into the caller's own queue). Not here: HTTP, templates, tokenization of
 * requests (the caller passes token ids).
 */
#ifndef HRT_SCHED_H
#define HRT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "infer/session.h"

struct hrt_sched_opts {
	int n_slots;      /* parallel sequences; <= 0: 4 */
	uint32_t n_ctx;   /* context per slot; 0: the llm's default */
	int queue_max;    /* waiting requests beyond the slots; <= 0: 64 */
};

struct hrt_sched;

/* Start a scheduler over l (not owned; must outlive the scheduler). */
int hrt_sched_new(struct hrt_sched **out, struct hrt_llm *l,
		  const struct hrt_sched_opts *o, struct hrt_err *err);
/* Stop the worker; requests still running or queued end with
 * HRT_STOP_CANCEL (their on_done is called) before this returns. */
void hrt_sched_free(struct hrt_sched *s);

struct hrt_req_result {
	int status;               /* HRT_OK, or an error code (then errmsg) */
	char errmsg[256];
	enum hrt_stop_reason reason;
	size_t n_prompt;          /* prompt tokens */
	size_t n_cached;          /* of which reused from the slot's cache */
	size_t n_gen;             /* generated tokens (the end token excluded) */
	uint64_t queue_ns;        /* submit -> slot */
	uint64_t prompt_ns;       /* slot -> first generated token sampled */
	uint64_t gen_ns;          /* first token -> done */
};

struct hrt_req_params {
	const int32_t *prompt;    /* copied by submit */
	size_t n_prompt;
	struct hrt_gen_params gen;/* stop strings are copied; cancel unused */
	/* called with each piece of output text (whole UTF-8 characters, stop
	 * strings held back and removed); return non-zero to cancel */
	int (*on_text)(void *ctx, const char *text, size_t len);
	/* called exactly once, last, from the worker thread (or from submit's
	 * caller never: submit failures are returned, not called back) */
	void (*on_done)(void *ctx, const struct hrt_req_result *r);
	/* optional constraint (e.g. JSON output): before each token is
	 * sampled, constrain may set logits (n_vocab) of tokens the output
	 * must not continue with to -INFINITY (leaving at least one); accept
	 * is then told the token chosen (end-of-generation included) */
	void (*constrain)(void *ctx, float *logits, int32_t n_vocab);
	void (*accept)(void *ctx, int32_t tok);
	void *ctx;
};

/* Queue a request. On success *id identifies it (for hrt_sched_cancel) and
 * on_done will be called exactly once. Fails, calling nothing, with
 * HRT_ERANGE when the queue is full or the prompt cannot fit the slot
 * context, HRT_EINVAL on a bad token id or parameter. */
int hrt_sched_submit(struct hrt_sched *s, const struct hrt_req_params *p,
		     uint64_t *id, struct hrt_err *err);
/* Ask a request to stop (client gone). Safe for finished or unknown ids. */
void hrt_sched_cancel(struct hrt_sched *s, uint64_t id);

/* Mean-pooled, normalised embedding of a token sequence (n_embd floats),
 * computed on the worker thread between batches. Blocks the caller. */
int hrt_sched_embed(struct hrt_sched *s, const int32_t *toks, size_t n,
		    float *out, struct hrt_err *err);

struct hrt_sched_stats {
	int n_slots;
	int active;               /* slots with a request */
	int queued;               /* requests waiting for a slot */
	uint64_t requests;        /* finished requests */
	uint64_t prompt_tokens;   /* evaluated prompt tokens */
	uint64_t cached_tokens;   /* prompt tokens reused from a cache */
	uint64_t gen_tokens;      /* generated tokens */
	uint64_t steps;           /* batches run */
	uint64_t busy_ns;         /* time spent in batches */
};
void hrt_sched_get_stats(struct hrt_sched *s, struct hrt_sched_stats *out);

uint32_t hrt_sched_n_ctx(const struct hrt_sched *s);
struct hrt_llm *hrt_sched_llm(const struct hrt_sched *s);

#endif
