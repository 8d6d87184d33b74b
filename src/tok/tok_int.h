/*
 * tok/tok_int — the vocabulary layout and helpers shared by the tokenizer's
 * own files (vocab.c, encode.c, spm.c, bpe.c, pretok.c, detok.c) and its
 * unit tests. Not a public interface: include tok/tok.h instead.
 */
#ifndef HRT_TOK_INT_H
#define HRT_TOK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tok/tok.h"

/* Token attributes, in llama.cpp's llama_token_attr bit layout; EOG is ours. */
#define HRT_TA_UNKNOWN 0x0001
#define HRT_TA_UNUSED  0x0002
#define HRT_TA_NORMAL  0x0004
#define HRT_TA_CONTROL 0x0008
#define HRT_TA_USER    0x0010
#define HRT_TA_BYTE    0x0020
#define HRT_TA_LSTRIP  0x0080
#define HRT_TA_RSTRIP  0x0100
#define HRT_TA_EOG     0x8000
/* matched in text before the tokenizer runs (llama.cpp's special cache) */
#define HRT_TA_SPECIAL (HRT_TA_CONTROL | HRT_TA_USER | HRT_TA_UNKNOWN)
/* needs the caller's permission to be matched, and renders only on request */
#define HRT_TA_GUARDED (HRT_TA_CONTROL | HRT_TA_UNKNOWN)

/* Pre-tokenizer families: each is a fixed list of split stages (pretok.c). */
enum hrt_pre {
	HRT_PRE_NONE = 0,      /* SPM: no pre-tokenizer */
	HRT_PRE_DEFAULT,       /* BPE without tokenizer.ggml.pre */
	HRT_PRE_GPT2,          /* gpt-2, mpt, olmo, jais, phi-2, ... */
	HRT_PRE_LLAMA3,        /* llama-bpe, dbrx, smaug-bpe, chatglm-bpe */
	HRT_PRE_STARCODER,     /* starcoder, refact, command-r, smollm, ... */
	HRT_PRE_FALCON,
	HRT_PRE_DEEPSEEK_LLM,
	HRT_PRE_DEEPSEEK_CODER,
	HRT_PRE_QWEN2,         /* qwen2, stablelm2, hunyuan, grok-2, bailingmoe */
	HRT_PRE_QWEN35,
	HRT_PRE_SEED_CODER,
	HRT_PRE_UFAKZEKA,
	HRT_PRE_MINICPM5,
	HRT_PRE_BLOOM,         /* bloom, poro-chat, gpt3-finnish */
	HRT_PRE_VIKING,
	HRT_PRE_COUNT
};

/* string -> token id, open addressing; slot holds id + 1, 0 = empty */
struct hrt_strtab {
	uint32_t *slot;
	uint64_t mask;
};

/* a BPE merge rule in byte space: text[off..off+len) split at split */
struct hrt_merge {
	size_t off;
	uint32_t len, split;
	int32_t rank;
};

/* special tokens of one text length, for the partition pass (encode.c) */
struct hrt_spec_group {
	uint32_t len;     /* text length of every member */
	uint32_t first;   /* members are spec[first .. first + count) */
	uint32_t count;
	bool any_free;    /* some member needs no permission (user-defined) */
	uint64_t bpow;    /* hash base ^ (len - 1) */
	uint64_t *hash;   /* rolling hash of each member's text */
	uint32_t *slot;   /* member index + 1, open addressing by hash */
	uint64_t mask;
};

struct hrt_vocab {
	enum hrt_tok_kind kind;
	enum hrt_pre pre;
	char *pre_name;         /* tokenizer.ggml.pre, or "default" */
	int32_t n;

	/* token texts as stored (NUL-terminated each) */
	char *text;
	size_t *off;            /* (n) start of token i in text */
	uint32_t *len;          /* (n) */
	float *score;           /* (n) */
	uint16_t *attr;         /* (n) HRT_TA_* */
	struct hrt_strtab raw;  /* exact text -> id */

	/* rendered pieces with special = true (llama.cpp's piece cache) */
	char *piece;
	size_t *poff;           /* (n) */
	uint32_t *plen;         /* (n) */
	size_t max_piece;

	int32_t bos, eos, eot, eom, unk, pad, sep, mask;
	int32_t fim[HRT_FIM_COUNT];
	bool add_bos, add_eos, add_space_prefix, ignore_merges;

	/* SPM byte fallback: <0xXX> token, else the one-byte token, else -1 */
	int32_t spm_byte[256];
	/* SPM: code points that some token has right before U+2581 (sorted);
	 * anywhere else a U+2581 starts a run no merge crosses */
	uint32_t *spm_cross;
	uint32_t n_cross;

	/* BPE, everything in byte space (GPT-2 mapping undone) */
	char *btext;            /* decoded texts; tokens that do not decode
				   have blen = UINT32_MAX */
	size_t *boff;           /* (n) */
	uint32_t *blen;         /* (n) */
	struct hrt_strtab bpe;  /* byte-space text -> id */
	int32_t bpe_byte1[256]; /* token whose stored text is this single byte */
	char *mtext;            /* merge texts (pairs concatenated) */
	struct hrt_merge *merges;
	uint32_t n_merges;
	uint32_t *mslot;        /* merge index + 1 */
	uint64_t mmask;

	/* special tokens, longest text first, grouped by length */
	int32_t *spec;
	uint32_t n_spec;
	struct hrt_spec_group *grp;
	uint32_t n_grp;
	uint64_t hbase;         /* odd multiplier of the rolling hash */
};

/* --- hashing and lookups (vocab.c) --- */
uint64_t hrt_tok_hash(const void *p, size_t n);
int32_t hrt_vocab_find_bpe(const struct hrt_vocab *v, const char *s, size_t n);
/* rank of merging s[0..split) with s[split..n), or -1 */
int32_t hrt_vocab_merge_rank(const struct hrt_vocab *v, const char *s,
			     size_t n, size_t split);

/* does some token contain cp followed by U+2581? (vocab.c) */
bool hrt_spm_crosses(const struct hrt_vocab *v, uint32_t cp);

/* --- growable id list --- */
struct hrt_ivec {
	int32_t *v;
	size_t n, cap;
};

static inline int hrt_ivec_push(struct hrt_ivec *a, int32_t id)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		int32_t *nv = realloc(a->v, nc * sizeof *nv);
		if (!nv)
			return HRT_ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = id;
	return HRT_OK;
}

/* --- min-heap of merge candidates (spm.c, bpe.c) ---
 * key orders candidates (best first, ties by leftmost symbol); size is the
 * byte length of the pair when it was queued, to detect stale entries.
 * 4-ary: the four children of a node share one cache line, and the tree is
 * half as deep; pops on million-entry heaps dominate pathological inputs. */
struct hrt_cand {
	uint64_t key;
	uint32_t left;
	uint32_t size;
};

struct hrt_heap {
	struct hrt_cand *a;
	size_t n, cap;
};

static inline int hrt_heap_push(struct hrt_heap *h, struct hrt_cand c)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 256;
		struct hrt_cand *na = realloc(h->a, nc * sizeof *na);
		if (!na)
			return HRT_ENOMEM;
		h->a = na;
		h->cap = nc;
	}
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 4;
		if (h->a[p].key <= c.key)
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = c;
	return HRT_OK;
}

static inline struct hrt_cand hrt_heap_pop(struct hrt_heap *h)
{
	struct hrt_cand top = h->a[0];
	struct hrt_cand last = h->a[--h->n];
	size_t i = 0, n = h->n;
	for (;;) {
		size_t c = 4 * i + 1;
		if (c >= n)
			break;
		size_t m = c, e = c + 4 < n ? c + 4 : n;
		for (size_t k = c + 1; k < e; k++)
			if (h->a[k].key < h->a[m].key)
				m = k;
		if (last.key <= h->a[m].key)
			break;
		h->a[i] = h->a[m];
		i = m;
	}
	if (n)
		h->a[i] = last;
	return top;
}

/* --- per-call scratch, grown on demand, freed by hrt_tok_scratch_free --- */
struct hrt_tok_scratch {
	char *buf;        /* SPM: escaped text */
	size_t buf_cap;
	int32_t *prev, *next;
	uint32_t *soff, *slen; /* SPM symbol byte range */
	size_t sym_cap;
	struct hrt_heap heap;
};

void hrt_tok_scratch_free(struct hrt_tok_scratch *s);
int hrt_tok_scratch_syms(struct hrt_tok_scratch *s, size_t n);

/* --- the tokenizers --- */
/* SPM on one raw fragment: s is the text before whitespace escaping;
 * prefix_space adds the leading ' ' (U+2581 after escaping). */
int hrt_spm_encode(const struct hrt_vocab *v, const char *s, size_t n,
		   bool prefix_space, struct hrt_tok_scratch *sc,
		   struct hrt_ivec *out);
/* BPE on one raw fragment: pre-tokenize, then merge each word */
int hrt_bpe_encode(const struct hrt_vocab *v, const char *s, size_t n,
		   struct hrt_tok_scratch *sc, struct hrt_ivec *out);

/* Pre-tokenizer: split t[0..n) into words, calling emit(ctx, off, len) for
 * each in order (off relative to t). Stops at the first non-zero return of
 * emit and returns it. */
typedef int (*hrt_pretok_emit)(void *ctx, size_t off, size_t len);
int hrt_pretok_run(enum hrt_pre pre, const unsigned char *t, size_t n,
		   hrt_pretok_emit emit, void *ctx);
/* family for a tokenizer.ggml.pre name (NULL/"" -> DEFAULT); HRT_PRE_COUNT
 * when unknown. The flags are the settings llama.cpp ties to the name. */
enum hrt_pre hrt_pretok_lookup(const char *name, bool *ignore_merges,
			       bool *add_bos, bool *no_bos);

#endif
