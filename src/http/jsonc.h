/*
 * http/jsonc — constrained sampling for format:"json": a byte-level
 * pushdown recogniser of JSON prefixes (RFC 8259, top-level value an
 * object, nesting capped, whitespace runs capped so a model cannot pad
 * forever), and a token mask built on it: before each token is sampled,
 * every token whose text cannot continue the output as valid JSON gets
 * -INFINITY; end-of-generation tokens are allowed only once the object is
 * complete, and then only they are. Near the end of the token budget only
 * tokens that shorten the way to a closed object remain, so an answer cut
 * by num_predict is still a complete object.
 *
 * The mask and the state update run on the scheduler thread through the
 * request's constrain and accept hooks (sched.h).
 */
#ifndef HRT_HTTP_JSONC_H
#define HRT_HTTP_JSONC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tok/tok.h"

#define HRT_JSONC_DEPTH 32
#define HRT_JSONC_MAX_WS 16

/* recogniser state: a plain value, copied freely */
struct hrt_jsonc {
	uint8_t mode;
	uint8_t sub;          /* position inside a literal, \u digits, number part */
	uint8_t depth;
	uint8_t ws;           /* whitespace bytes in a row */
	uint8_t lit;          /* which literal */
	uint8_t utf8_left;    /* continuation bytes still expected in a string */
	char stack[HRT_JSONC_DEPTH]; /* '{' or '[' */
};

void hrt_jsonc_init(struct hrt_jsonc *j);
/* Feed bytes; false (state unspecified) when they cannot continue JSON. */
bool hrt_jsonc_feed(struct hrt_jsonc *j, const char *s, size_t n);
/* a whole top-level object has been read */
bool hrt_jsonc_complete(const struct hrt_jsonc *j);

/* token-level mask over a vocabulary */
struct hrt_jsonc_state;
int hrt_jsonc_state_new(struct hrt_jsonc_state **out, const struct hrt_vocab *v,
			struct hrt_err *err);
void hrt_jsonc_free(struct hrt_jsonc_state *st);
/* forbid in logits (n_vocab) every token that cannot come next (at least
 * one token is always left) */
void hrt_jsonc_mask(struct hrt_jsonc_state *st, float *logits, int32_t n_vocab);
/* the token chosen: advance the state */
void hrt_jsonc_accept(struct hrt_jsonc_state *st, int32_t tok);
/* the request may generate at most max_tokens (< 0: no limit): once the
 * rest of the budget is what closing the object takes, only tokens that
 * bring its end closer are allowed, so a cut-short answer is still JSON */
void hrt_jsonc_set_budget(struct hrt_jsonc_state *st, int64_t max_tokens);
/* bytes still needed to complete the object from j */
int hrt_jsonc_close_cost(const struct hrt_jsonc *j);
/* a complete object has been generated */
bool hrt_jsonc_done(const struct hrt_jsonc_state *st);

struct hrt_gen;
struct hrt_req_params;
/* set up g's constraint and hook it into the scheduler parameters */
int hrt_jsonc_attach(struct hrt_gen *g, struct hrt_req_params *p,
		     struct hrt_err *err);

#endif
