/*
 * http/fim — fill-in-the-middle prompts for code models: a request with a
 * `suffix` becomes  [BOS] PRE prefix SUF suffix MID  (the prefix-suffix-
 * middle order every supported family was trained with), using the ids the
 * vocabulary names for the three roles (tok/: GGUF fim keys, else the
 * StarCoder/Granite, Qwen, CodeLlama and DeepSeek token texts). The user's
 * prefix and suffix are tokenized as plain text: FIM or control token text
 * inside them never becomes a control token.
 *
 * Also the Ollama-style template text /api/show reports for such a model,
 * which contains ".Suffix" (how editors decide a model can fill in).
 */
#ifndef HRT_HTTP_FIM_H
#define HRT_HTTP_FIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tok/tok.h"

/* The vocabulary has prefix, suffix and middle tokens. */
bool hrt_fim_supported(const struct hrt_vocab *v);

/* Tokens of a fill-in-the-middle prompt; *ids malloc'd (caller frees).
 * HRT_ENOTSUP when the vocabulary has no FIM tokens. */
int hrt_fim_tokens(const struct hrt_vocab *v, const char *prefix, size_t pn,
		   const char *suffix, size_t sn, int32_t **ids, size_t *n,
		   struct hrt_err *err);

/* Template text for /api/show into buf (NUL-terminated, cut to cap). With
 * FIM tokens: a Go-template-like text with .Prompt and .Suffix around the
 * model's FIM token texts; without: "{{ .Prompt }}". Never executed by us. */
void hrt_fim_template(const struct hrt_vocab *v, char *buf, size_t cap);

#endif
