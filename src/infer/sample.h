/*
 * infer/sample — turning a row of logits into the next token: repetition
 * penalties over the recent history, then greedy (temperature <= 0) or
 * top-k -> top-p -> min-p -> temperature -> a seeded random draw.
 * Deterministic for a given seed. Not here: stop strings (infer/session).
 */
#ifndef HRT_INFER_SAMPLE_H
#define HRT_INFER_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct hrt_sample_params {
	float temperature;      /* <= 0: greedy */
	int32_t top_k;          /* <= 0: off */
	float top_p;            /* >= 1: off */
	float min_p;            /* <= 0: off */
	float repeat_penalty;   /* 1: off */
	int32_t repeat_last_n;  /* tokens of history the penalties look at; -1 = all */
	float presence_penalty; /* 0: off */
	float frequency_penalty;/* 0: off */
	uint64_t seed;
};

/* Ollama's defaults: temperature 0.8, top_k 40, top_p 0.9, min_p 0,
 * repeat_penalty 1.1 over the last 64 tokens; seed from the clock. */
void hrt_sample_defaults(struct hrt_sample_params *p);
/* check ranges (negative temperature is fine: greedy); HRT_EINVAL names
 * the bad field */
int hrt_sample_validate(const struct hrt_sample_params *p, struct hrt_err *err);

struct hrt_sampler;
int hrt_sampler_new(struct hrt_sampler **out, const struct hrt_sample_params *p,
		    int32_t n_vocab, struct hrt_err *err);
void hrt_sampler_free(struct hrt_sampler *s);
/* pick a token; logits (n_vocab) are modified; hist holds the tokens so far */
int32_t hrt_sampler_pick(struct hrt_sampler *s, float *logits,
			 const int32_t *hist, size_t n_hist);

/* argmax, lowest id on ties */
int32_t hrt_argmax(const float *x, int32_t n);

#endif
