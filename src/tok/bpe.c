/*
 * tok/bpe — byte-level BPE of "gpt2" vocabularies, as llama.cpp runs it
 * (llm_tokenizer_bpe_session): pre-tokenize (pretok.c), then within each
 * word start from one symbol per byte and apply the best-ranked merge rule
 * among adjacent pairs (ties: leftmost) until none applies. A priority
 * queue keeps it O(n log n) per word.
 *
 * The vocab stores token and merge texts in the GPT-2 byte mapping
 * (U+0120 for a space, ...); vocab.c decodes them once, so the work here is
 * on raw bytes. Pre-type llama3 and friends first look the whole word up
 * ("ignore_merges"). A final symbol that is no token falls back the way the
 * peer's does: each byte of its mapped text that is a one-byte token.
 */
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

#define DEAD (-2)

struct bpe {
	const struct hrt_vocab *v;
	const char *t;              /* the fragment */
	struct hrt_tok_scratch *sc;
	struct hrt_ivec *out;
	const char *w;              /* current word */
	size_t n;
};

static inline size_t sym_end(const struct bpe *b, int32_t i)
{
	int32_t nx = b->sc->next[i];
	return nx < 0 ? b->n : (size_t)nx;
}

static int try_pair(const struct bpe *b, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return HRT_OK;
	size_t e = sym_end(b, r);
	int32_t rank = hrt_vocab_merge_rank(b->v, b->w + l, e - (size_t)l,
					    (size_t)(r - l));
	if (rank < 0)
		return HRT_OK;
	uint64_t key = ((uint64_t)(uint32_t)rank << 32) | (uint32_t)l;
	return hrt_heap_push(&b->sc->heap,
			     (struct hrt_cand){ key, (uint32_t)l, (uint32_t)(e - (size_t)l) });
}

static int emit_symbol(const struct bpe *b, const char *s, size_t n)
{
	int32_t id = hrt_vocab_find_bpe(b->v, s, n);
	if (id >= 0)
		return hrt_ivec_push(b->out, id);
	for (size_t i = 0; i < n; i++) {
		char u[4];
		size_t k = hrt_utf8_put(hrt_bytemap_cp((uint8_t)s[i]), u);
		for (size_t j = 0; j < k; j++) {
			int32_t one = b->v->bpe_byte1[(unsigned char)u[j]];
			if (one >= 0 && hrt_ivec_push(b->out, one))
				return HRT_ENOMEM;
		}
	}
	return HRT_OK;
}

static int word(void *ctx, size_t off, size_t len)
{
	struct bpe *b = ctx;
	struct hrt_tok_scratch *sc = b->sc;
	b->w = b->t + off;
	b->n = len;
	if (b->v->ignore_merges || len == 1) {
		int32_t id = hrt_vocab_find_bpe(b->v, b->w, len);
		if (id >= 0)
			return hrt_ivec_push(b->out, id);
		if (len == 1)
			return emit_symbol(b, b->w, 1);
	}
	if (len > INT32_MAX || hrt_tok_scratch_syms(sc, len))
		return HRT_ENOMEM;
	int32_t n = (int32_t)len;
	for (int32_t i = 0; i < n; i++) {
		sc->prev[i] = i - 1;
		sc->next[i] = i + 1;
	}
	sc->next[n - 1] = -1;
	sc->heap.n = 0;
	for (int32_t i = 1; i < n; i++)
		if (try_pair(b, i - 1, i))
			return HRT_ENOMEM;
	while (sc->heap.n) {
		struct hrt_cand c = hrt_heap_pop(&sc->heap);
		int32_t l = (int32_t)c.left;
		if (sc->next[l] == DEAD || sc->next[l] < 0)
			continue;
		int32_t r = sc->next[l];
		if (sym_end(b, r) - (size_t)l != c.size)
			continue; /* one side grew since this was queued */
		int32_t nr = sc->next[r];
		sc->next[l] = nr;
		if (nr >= 0)
			sc->prev[nr] = l;
		sc->next[r] = DEAD;
		if (try_pair(b, sc->prev[l], l) || try_pair(b, l, sc->next[l]))
			return HRT_ENOMEM;
	}
	for (int32_t i = 0; i >= 0; i = sc->next[i]) {
		size_t e = sym_end(b, i);
		int rc = emit_symbol(b, b->w + i, e - (size_t)i);
		if (rc)
			return rc;
	}
	return HRT_OK;
}

int hrt_bpe_encode(const struct hrt_vocab *v, const char *s, size_t n,
		   struct hrt_tok_scratch *sc, struct hrt_ivec *out)
{
	struct bpe b = { v, s, sc, out, NULL, 0 };
	return hrt_pretok_run(v->pre, (const unsigned char *)s, n, word, &b);
}
