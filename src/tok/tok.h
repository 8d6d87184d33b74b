/*
 * tok — tokenizers built from GGUF metadata alone: SentencePiece-style BPE
 * ("llama": score-driven merges, byte fallback) and byte-level BPE ("gpt2":
 * GPT-2 byte mapping, regex-style pre-tokenizers, ranked merges).
 *
 * The ids match llama.cpp (src/llama-vocab.cpp, src/unicode.cpp) token for
 * token, including its defaults for absent keys and its special-token
 * handling; tests/unit/test_tok.c checks that against ../shared/vocab.
 * Where we chose differently the comment says so (invalid UTF-8 input).
 *
 * Not here: chat templates (tok/chat), model weights (model/), sampling.
 *
 * Threading: a loaded vocab is read-only; any number of threads may encode
 * and decode with it at once.
 */
#ifndef HRT_TOK_H
#define HRT_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gguf/gguf.h"
#include "tok/span.h" /* struct hrt_span: a byte range of the text */

/* Longest text hrt_tok_encode accepts; longer is HRT_ERANGE. Encoding needs
 * scratch memory of a few tens of bytes per input byte. */
#define HRT_TOK_MAX_INPUT ((size_t)16 << 20)

struct hrt_vocab;

enum hrt_tok_kind {
	HRT_TOK_SPM = 1, /* tokenizer.ggml.model "llama" */
	HRT_TOK_BPE = 2  /* tokenizer.ggml.model "gpt2" */
};

/* fill-in-the-middle roles, for hrt_vocab_fim */
enum hrt_fim {
	HRT_FIM_PRE = 0,
	HRT_FIM_SUF,
	HRT_FIM_MID,
	HRT_FIM_PAD,
	HRT_FIM_REP,
	HRT_FIM_SEP,
	HRT_FIM_COUNT
};

/* Build a vocabulary from the tokenizer.* keys of g. Everything is copied:
 * g may be closed afterwards. On success *out owns the vocab (free with
 * hrt_vocab_free). Errors: HRT_ENOTSUP for a tokenizer model or
 * pre-tokenizer we do not implement, HRT_EFORMAT (naming the key) for
 * missing or inconsistent metadata, HRT_ENOMEM. *out is NULL on failure. */
int hrt_vocab_load(struct hrt_vocab **out, const struct hrt_gguf *g,
		   struct hrt_err *err);
void hrt_vocab_free(struct hrt_vocab *v);

int32_t hrt_vocab_n(const struct hrt_vocab *v);
enum hrt_tok_kind hrt_vocab_kind(const struct hrt_vocab *v);
/* tokenizer.ggml.pre as given ("default" when absent); never NULL */
const char *hrt_vocab_pre(const struct hrt_vocab *v);

/* special ids; -1 when the vocab has none */
int32_t hrt_vocab_bos(const struct hrt_vocab *v);
int32_t hrt_vocab_eos(const struct hrt_vocab *v);
int32_t hrt_vocab_eot(const struct hrt_vocab *v);
int32_t hrt_vocab_eom(const struct hrt_vocab *v);
int32_t hrt_vocab_unk(const struct hrt_vocab *v);
int32_t hrt_vocab_pad(const struct hrt_vocab *v);
int32_t hrt_vocab_sep(const struct hrt_vocab *v);
/* which: enum hrt_fim; -1 when none (or which out of range) */
int32_t hrt_vocab_fim(const struct hrt_vocab *v, int which);

/* whether encoding with add_special prepends BOS / appends EOS */
bool hrt_vocab_add_bos(const struct hrt_vocab *v);
bool hrt_vocab_add_eos(const struct hrt_vocab *v);

/* end of generation: eos, eot, eom, fim pad/rep/sep and the tokens the
 * peer recognises by text (<|im_end|>, <end_of_turn>, ...). false for any
 * id out of range. */
bool hrt_vocab_is_eog(const struct hrt_vocab *v, int32_t id);
/* control (or unknown-type) token: renders as nothing unless asked */
bool hrt_vocab_is_control(const struct hrt_vocab *v, int32_t id);

/* id of the token whose text is exactly text[0..len), or -1 */
int32_t hrt_vocab_find(const struct hrt_vocab *v, const char *text, size_t len);
/* raw token text as stored in the vocab (NUL-terminated; *len may be NULL);
 * NULL for an id out of range. Valid until hrt_vocab_free. */
const char *hrt_vocab_text(const struct hrt_vocab *v, int32_t id, size_t *len);
/* longest piece hrt_tok_piece can produce, in bytes */
size_t hrt_vocab_max_piece(const struct hrt_vocab *v);

/* Encode text[0..len). add_special: BOS/EOS as the vocab wants.
 * parse_special: control-token text anywhere in the input may become a
 * control token; when false, only user-defined tokens are matched (as the
 * peer does). On success *ids is malloc'd (the caller frees it; NULL when
 * *n_ids is 0). Errors: HRT_ERANGE over HRT_TOK_MAX_INPUT, HRT_ENOMEM.
 *
 * Invalid UTF-8 never fails: every byte that does not start a well-formed
 * sequence (overlong, surrogate, > U+10FFFF, truncated, stray continuation)
 * is a character of its own, classified like U+FFFD by the pre-tokenizers,
 * and encoded by its byte (BPE: the byte's mapped symbol; SPM: the <0xXX>
 * byte token). llama.cpp instead replaces such bytes with U+FFFD; ours keeps
 * the bytes, so decoding gives the input back. */
int hrt_tok_encode(const struct hrt_vocab *v, const char *text, size_t len,
		   bool add_special, bool parse_special, int32_t **ids,
		   size_t *n_ids, struct hrt_err *err);

/* Same, with control tokens recognised only where the whole token text lies
 * inside one of special_ok[0..n_spans) (byte ranges of text, sorted by off,
 * not overlapping). User-defined tokens are matched everywhere. For a chat
 * template: spans cover template-owned text, never user content. */
int hrt_tok_encode_spans(const struct hrt_vocab *v, const char *text,
			 size_t len, bool add_special,
			 const struct hrt_span *special_ok, size_t n_spans,
			 int32_t **ids, size_t *n_ids, struct hrt_err *err);

/* Bytes of one token into buf (not NUL-terminated). special: render
 * control/unknown tokens' text (else they are empty). Returns the byte
 * count; when that exceeds cap nothing is written and the needed size is
 * returned (like snprintf). Negative for an id out of range. */
int hrt_tok_piece(const struct hrt_vocab *v, int32_t id, bool special,
		  char *buf, size_t cap);

/* Decode a whole sequence into a malloc'd NUL-terminated string (*out; the
 * caller frees). The bytes are the concatenated pieces, unchanged. */
int hrt_tok_decode(const struct hrt_vocab *v, const int32_t *ids, size_t n,
		   bool special, char **out, size_t *out_len,
		   struct hrt_err *err);

/* Streaming detokenizer: text comes out in whole UTF-8 characters only.
 * A character split across tokens is held back until it completes; a byte
 * that can never complete one comes out as U+FFFD. Plain struct: no
 * allocation, no free. */
struct hrt_detok {
	unsigned char pend[8]; /* start of an incomplete character */
	int npend;
	bool special;          /* render control tokens' text */
};

void hrt_detok_init(struct hrt_detok *d, bool special);
/* Append the text of id to out; returns bytes written. out needs
 * HRT_DETOK_CAP(v) bytes; with less, the text is cut at a character
 * boundary. An id out of range adds nothing. */
size_t hrt_detok_push(struct hrt_detok *d, const struct hrt_vocab *v,
		      int32_t id, char *out, size_t cap);
/* End of stream: a held-back incomplete character becomes U+FFFD. Needs
 * cap >= 8. */
size_t hrt_detok_flush(struct hrt_detok *d, char *out, size_t cap);

/* room hrt_detok_push may need: every piece byte could become U+FFFD */
#define HRT_DETOK_CAP(v) (3 * hrt_vocab_max_piece(v) + 16)

#endif
