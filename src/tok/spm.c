/*
 * tok/spm — the SentencePiece-style tokenizer of "llama" vocabularies, as
 * llama.cpp runs it (llm_tokenizer_spm_session): spaces become U+2581, the
 * text is cut into characters, and adjacent pieces whose concatenation is a
 * token are merged, highest token score first (ties: leftmost), until no
 * pair is a token. A piece left that is no token goes out as its bytes'
 * <0xXX> tokens (byte fallback), or as the unknown token when the vocab
 * lacks byte tokens for it. A priority queue keeps it O(n log n).
 *
 * Invalid UTF-8: each byte that does not start a well-formed sequence is a
 * piece of its own, so it falls back to its byte token.
 */
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

/* float score -> unsigned key with the same order */
static uint32_t score_order(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct spm {
	const struct hrt_vocab *v;
	const char *s;
	struct hrt_tok_scratch *sc;
};

/* queue the merge of symbols l and r if their text is a token */
static int try_pair(const struct spm *m, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return HRT_OK;
	struct hrt_tok_scratch *sc = m->sc;
	uint32_t n = sc->slen[l] + sc->slen[r];
	int32_t id = hrt_vocab_find(m->v, m->s + sc->soff[l], n);
	if (id < 0)
		return HRT_OK;
	/* best score first, then leftmost */
	uint64_t key = ((uint64_t)(~score_order(m->v->score[id])) << 32) |
		       (uint32_t)l;
	return hrt_heap_push(&sc->heap, (struct hrt_cand){ key, (uint32_t)l, n });
}

/* A piece that is no token: its bytes' tokens when the vocab has one for
 * every byte, else one unknown token for the piece (llama.cpp has no rule
 * for this case; it throws). */
static int emit_bytes(const struct hrt_vocab *v, const char *s, size_t n,
		      struct hrt_ivec *out)
{
	for (size_t i = 0; i < n; i++) {
		if (v->spm_byte[(unsigned char)s[i]] < 0)
			return v->unk >= 0 ? hrt_ivec_push(out, v->unk) : HRT_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (hrt_ivec_push(out, v->spm_byte[(unsigned char)s[i]]))
			return HRT_ENOMEM;
	return HRT_OK;
}

/* merge symbols [first, end) (linked, next of the last = -1) and emit */
static int merge_run(const struct spm *m, int32_t first, int32_t end,
		     struct hrt_ivec *out)
{
	struct hrt_tok_scratch *sc = m->sc;
	const struct hrt_vocab *v = m->v;
	sc->heap.n = 0;
	for (int32_t i = first + 1; i < end; i++)
		if (try_pair(m, i - 1, i))
			return HRT_ENOMEM;
	while (sc->heap.n) {
		struct hrt_cand c = hrt_heap_pop(&sc->heap);
		int32_t l = (int32_t)c.left, r = sc->next[l];
		if (sc->slen[l] == 0 || r < 0 || sc->slen[r] == 0 ||
		    sc->slen[l] + sc->slen[r] != c.size)
			continue; /* one side changed since this was queued */
		sc->slen[l] += sc->slen[r];
		sc->slen[r] = 0;
		sc->next[l] = sc->next[r];
		if (sc->next[r] >= 0)
			sc->prev[sc->next[r]] = l;
		if (try_pair(m, sc->prev[l], l) || try_pair(m, l, sc->next[l]))
			return HRT_ENOMEM;
	}
	for (int32_t i = first; i != -1; i = sc->next[i]) {
		const char *t = m->s + sc->soff[i];
		int32_t id = hrt_vocab_find(v, t, sc->slen[i]);
		int rc = id >= 0 ? hrt_ivec_push(out, id)
				 : emit_bytes(v, t, sc->slen[i], out);
		if (rc)
			return rc;
	}
	return HRT_OK;
}

int hrt_spm_encode(const struct hrt_vocab *v, const char *s, size_t n,
		   bool prefix_space, struct hrt_tok_scratch *sc,
		   struct hrt_ivec *out)
{
	/* escape: ' ' -> U+2581 (3 bytes) */
	size_t spaces = prefix_space ? 1 : 0;
	for (size_t i = 0; i < n; i++)
		spaces += s[i] == ' ';
	size_t len = n + 2 * spaces + (prefix_space ? 1 : 0);
	if (len == 0)
		return HRT_OK;
	if (len > sc->buf_cap) {
		char *b = realloc(sc->buf, len);
		if (!b)
			return HRT_ENOMEM;
		sc->buf = b;
		sc->buf_cap = len;
	}
	char *e = sc->buf;
	size_t k = 0;
	if (prefix_space) {
		memcpy(e, "\xE2\x96\x81", 3);
		k = 3;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			memcpy(e + k, "\xE2\x96\x81", 3);
			k += 3;
		} else {
			e[k++] = s[i];
		}
	}

	/* One symbol per character. Cut into runs that merge independently:
	 * before a U+2581 whose preceding character never precedes U+2581
	 * inside a token, no merge can cross, so the greedy order within each
	 * run is the same as over the whole text and the heap stays small. */
	if (hrt_tok_scratch_syms(sc, len))
		return HRT_ENOMEM;
	struct spm m = { v, e, sc };
	int32_t ns = 0, first = 0;
	uint32_t prev_cp = 0;
	for (size_t p = 0; p <= len;) {
		uint32_t cp = 0;
		size_t cl = 0;
		if (p < len)
			cl = hrt_utf8_next((const unsigned char *)e + p, len - p, &cp);
		bool cut = p == len ||
			   (ns > first && cp == 0x2581 && !hrt_spm_crosses(v, prev_cp));
		if (cut) {
			int rc = merge_run(&m, first, ns, out);
			if (rc || p == len)
				return rc;
			first = ns;
		}
		sc->soff[ns] = (uint32_t)p;
		sc->slen[ns] = (uint32_t)cl;
		sc->prev[ns] = ns > first ? ns - 1 : -1;
		sc->next[ns] = -1;
		if (ns > first)
			sc->next[ns - 1] = ns;
		ns++;
		p += cl;
		prev_cp = cp;
	}
	return HRT_OK;
}
