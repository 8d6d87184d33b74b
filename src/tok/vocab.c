/*
 * tok/vocab — build a struct hrt_vocab from the tokenizer.* keys of a GGUF
 * file, with llama.cpp's defaults and fix-ups (llama_vocab::impl::load in
 * src/llama-vocab.cpp): default special ids per model type, add_bos by
 * pre-tokenizer, end-of-generation and fill-in-the-middle tokens found by
 * their text, control attributes forced onto tokens that look like control
 * tokens, per-model strip flags. Every value from the file is checked before
 * use; a bad file gets HRT_EFORMAT naming the key.
 *
 * Also here: the lookup tables (text -> id, BPE merges) and the accessors.
 * Key names: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "tok/tok_int.h"
#include "tok/unicode.h"

#define K_MODEL  "tokenizer.ggml.model"
#define K_PRE    "tokenizer.ggml.pre"
#define K_TOKENS "tokenizer.ggml.tokens"
#define K_SCORES "tokenizer.ggml.scores"
#define K_TYPES  "tokenizer.ggml.token_type"
#define K_MERGES "tokenizer.ggml.merges"
#define K_ADD_BOS "tokenizer.ggml.add_bos_token"
#define K_ADD_EOS "tokenizer.ggml.add_eos_token"
#define K_ADD_PREFIX "tokenizer.ggml.add_space_prefix"
#define K_BOS "tokenizer.ggml.bos_token_id"
#define K_EOS "tokenizer.ggml.eos_token_id"

/* GGUF token types (llama.cpp's llama_token_type) */
enum {
	TT_UNDEFINED = 0, TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3,
	TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6
};

/* ---------------------------------------------------------------- hash */

uint64_t hrt_tok_hash(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		h = (h ^ (k * 0xBF58476D1CE4E5B9ull)) * 0x94D049BB133111EBull;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)p[i] << (8 * i);
	h = (h ^ (k * 0xBF58476D1CE4E5B9ull)) * 0x94D049BB133111EBull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return h;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t c = 16;
	while (c < n)
		c <<= 1;
	return c;
}

static int strtab_init(struct hrt_strtab *t, uint64_t n)
{
	uint64_t cap = pow2_at_least(2 * n + 1);
	t->slot = hrt_calloc(cap, sizeof *t->slot);
	t->mask = cap - 1;
	return t->slot ? HRT_OK : HRT_ENOMEM;
}

/* find s in a table whose entries are texts[off[id]], lens[id]; returns
 * the slot index holding it or the empty slot where it would go */
static uint64_t strtab_probe(const struct hrt_strtab *t, const char *texts,
			     const size_t *off, const uint32_t *lens,
			     const char *s, size_t n)
{
	uint64_t i = hrt_tok_hash(s, n) & t->mask;
	for (;;) {
		uint32_t e = t->slot[i];
		if (!e)
			return i;
		uint32_t id = e - 1;
		if (lens[id] == n && memcmp(texts + off[id], s, n) == 0)
			return i;
		i = (i + 1) & t->mask;
	}
}

int32_t hrt_vocab_find(const struct hrt_vocab *v, const char *text, size_t len)
{
	if (!v || (!text && len))
		return -1;
	uint32_t e = v->raw.slot[strtab_probe(&v->raw, v->text, v->off, v->len,
					      text, len)];
	return e ? (int32_t)(e - 1) : -1;
}

int32_t hrt_vocab_find_bpe(const struct hrt_vocab *v, const char *s, size_t n)
{
	uint32_t e = v->bpe.slot[strtab_probe(&v->bpe, v->btext, v->boff,
					      v->blen, s, n)];
	return e ? (int32_t)(e - 1) : -1;
}

static uint64_t merge_hash(const char *s, size_t n, size_t split)
{
	return hrt_tok_hash(s, n) ^ ((uint64_t)split * 0x9E3779B97F4A7C15ull);
}

int32_t hrt_vocab_merge_rank(const struct hrt_vocab *v, const char *s,
			     size_t n, size_t split)
{
	if (!v->n_merges)
		return -1;
	uint64_t i = merge_hash(s, n, split) & v->mmask;
	for (;;) {
		uint32_t e = v->mslot[i];
		if (!e)
			return -1;
		const struct hrt_merge *m = &v->merges[e - 1];
		if (m->len == n && m->split == split &&
		    memcmp(v->mtext + m->off, s, n) == 0)
			return m->rank;
		i = (i + 1) & v->mmask;
	}
}

/* ------------------------------------------------------------- helpers */

/* printable, bounded copy of file text for error messages */
static const char *shown(const char *s, size_t n, char *buf, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '\\')
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
	}
	buf[k] = 0;
	return buf;
}

static bool bytes_contain(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(s + i, needle, m) == 0)
			return true;
	return false;
}

static int32_t find_c(const struct hrt_vocab *v, const char *s)
{
	return hrt_vocab_find(v, s, strlen(s));
}

/* id from key, range-checked. Absent key: *id unchanged. The all-ones
 * "none" value (and negatives) also leave the default, as llama.cpp does;
 * any other value outside the vocab is a format error. */
static int read_id(const struct hrt_gguf *g, const char *key, int32_t n,
		   int32_t *id, struct hrt_err *err)
{
	int64_t x;
	int rc = hrt_gguf_get_i64(g, key, &x, err);
	if (rc == HRT_ENOTFOUND)
		return HRT_OK;
	if (rc)
		return rc;
	if (x < 0 || x == 0xFFFFFFFFll)
		return HRT_OK;
	if (x >= n)
		return HRT_ERR(err, HRT_EFORMAT,
			       "%s = %lld is outside the vocabulary (%d tokens)",
			       key, (long long)x, n);
	*id = (int32_t)x;
	return HRT_OK;
}

static int read_bool(const struct hrt_gguf *g, const char *key, bool *b,
		     struct hrt_err *err)
{
	int rc = hrt_gguf_get_bool(g, key, b, err);
	return rc == HRT_ENOTFOUND ? HRT_OK : rc;
}

/* --------------------------------------------------------- token texts */

static int load_tokens(struct hrt_vocab *v, const struct hrt_gguf *g,
		       struct hrt_err *err)
{
	struct hrt_gguf_arr a;
	int rc = hrt_gguf_get_arr(g, K_TOKENS, &a, err);
	if (rc == HRT_ENOTFOUND)
		return HRT_ERR(err, HRT_EFORMAT, "missing %s", K_TOKENS);
	if (rc)
		return rc;
	if (a.type != HRT_GGUF_STRING)
		return HRT_ERR(err, HRT_EFORMAT, "%s is an array of %s, not strings",
			       K_TOKENS, hrt_gguf_vtype_name(a.type));
	if (a.n == 0)
		return HRT_ERR(err, HRT_EFORMAT, "%s is empty", K_TOKENS);
	if (a.n > (uint64_t)INT32_MAX / 2)
		return HRT_ERR(err, HRT_EFORMAT, "%s has %llu entries, too many",
			       K_TOKENS, (unsigned long long)a.n);
	int32_t n = (int32_t)a.n;
	v->n = n;

	uint64_t total = 0;
	for (int32_t i = 0; i < n; i++) {
		struct hrt_str s = hrt_gguf_arr_str(&a, (uint64_t)i);
		uint64_t l = s.len ? s.len : 24; /* "[EMPTY_i]" */
		if (s.len > UINT32_MAX - 1 || hrt_add_ovf(total, l + 1, &total))
			return HRT_ERR(err, HRT_EFORMAT, "%s[%d] is too long",
				       K_TOKENS, i);
	}
	if (total > SIZE_MAX / 2)
		return HRT_ERR(err, HRT_ENOMEM, "%s: texts too large", K_TOKENS);
	v->text = malloc((size_t)total);
	v->off = hrt_calloc((size_t)n, sizeof *v->off);
	v->len = hrt_calloc((size_t)n, sizeof *v->len);
	v->score = hrt_calloc((size_t)n, sizeof *v->score);
	v->attr = hrt_calloc((size_t)n, sizeof *v->attr);
	if (!v->text || !v->off || !v->len || !v->score || !v->attr)
		return HRT_ERR(err, HRT_ENOMEM, "vocabulary of %d tokens", n);
	if (strtab_init(&v->raw, (uint64_t)n))
		return HRT_ERR(err, HRT_ENOMEM, "vocabulary of %d tokens", n);

	size_t pos = 0;
	for (int32_t i = 0; i < n; i++) {
		struct hrt_str s = hrt_gguf_arr_str(&a, (uint64_t)i);
		v->off[i] = pos;
		if (s.len) {
			memcpy(v->text + pos, s.ptr, (size_t)s.len);
			v->len[i] = (uint32_t)s.len;
		} else {
			/* llama.cpp names empty tokens this way */
			int k = snprintf(v->text + pos, 24, "[EMPTY_%d]", i);
			v->len[i] = (uint32_t)k;
		}
		pos += v->len[i];
		v->text[pos++] = 0;
		uint64_t slot = strtab_probe(&v->raw, v->text, v->off, v->len,
					     v->text + v->off[i], v->len[i]);
		if (v->raw.slot[slot]) {
			char b[96];
			return HRT_ERR(err, HRT_EFORMAT,
				       "%s: token %d '%s' duplicates token %u",
				       K_TOKENS, i,
				       shown(v->text + v->off[i], v->len[i], b, sizeof b),
				       v->raw.slot[slot] - 1);
		}
		v->raw.slot[slot] = (uint32_t)i + 1;
	}

	rc = hrt_gguf_get_arr(g, K_SCORES, &a, err);
	if (rc == HRT_OK) {
		if (!hrt_gguf_vtype_size(a.type) || a.type == HRT_GGUF_BOOL)
			return HRT_ERR(err, HRT_EFORMAT, "%s is an array of %s, not numbers",
				       K_SCORES, hrt_gguf_vtype_name(a.type));
		if (a.n != (uint64_t)n)
			return HRT_ERR(err, HRT_EFORMAT, "%s has %llu entries, %s has %d",
				       K_SCORES, (unsigned long long)a.n, K_TOKENS, n);
		for (int32_t i = 0; i < n; i++) {
			float f = (float)hrt_gguf_arr_f64(&a, (uint64_t)i);
			v->score[i] = f == 0.0f ? 0.0f : f; /* no -0 */
		}
	} else if (rc != HRT_ENOTFOUND) {
		return rc;
	}

	rc = hrt_gguf_get_arr(g, K_TYPES, &a, err);
	if (rc == HRT_OK) {
		if (a.type == HRT_GGUF_STRING || a.type == HRT_GGUF_BOOL ||
		    a.type == HRT_GGUF_F32 || a.type == HRT_GGUF_F64 ||
		    !hrt_gguf_vtype_size(a.type))
			return HRT_ERR(err, HRT_EFORMAT, "%s is an array of %s, not integers",
				       K_TYPES, hrt_gguf_vtype_name(a.type));
		if (a.n != (uint64_t)n)
			return HRT_ERR(err, HRT_EFORMAT, "%s has %llu entries, %s has %d",
				       K_TYPES, (unsigned long long)a.n, K_TOKENS, n);
		for (int32_t i = 0; i < n; i++) {
			switch (hrt_gguf_arr_i64(&a, (uint64_t)i)) {
			case TT_NORMAL:  v->attr[i] = HRT_TA_NORMAL; break;
			case TT_UNKNOWN: v->attr[i] = HRT_TA_UNKNOWN; break;
			case TT_CONTROL: v->attr[i] = HRT_TA_CONTROL; break;
			case TT_USER:    v->attr[i] = HRT_TA_USER; break;
			case TT_UNUSED:  v->attr[i] = HRT_TA_UNUSED; break;
			case TT_BYTE:    v->attr[i] = HRT_TA_BYTE; break;
			default:         v->attr[i] = 0; break; /* undefined */
			}
		}
	} else if (rc == HRT_ENOTFOUND) {
		for (int32_t i = 0; i < n; i++)
			v->attr[i] = HRT_TA_NORMAL;
	} else {
		return rc;
	}
	return HRT_OK;
}

/* ------------------------------------------------------ special tokens */

static int load_special(struct hrt_vocab *v, const struct hrt_gguf *g,
			bool pre_no_bos, struct hrt_err *err)
{
	int32_t n = v->n;
	v->eot = v->eom = v->pad = v->sep = v->mask = -1;
	for (int i = 0; i < HRT_FIM_COUNT; i++)
		v->fim[i] = -1;
	if (v->kind == HRT_TOK_SPM) {
		v->bos = 1, v->eos = 2, v->unk = 0;
	} else {
		v->bos = 11, v->eos = 11, v->unk = -1;
		if (pre_no_bos)
			v->bos = -1;
	}
	/* defaults outside the vocab are dropped */
	int32_t *defs[] = { &v->bos, &v->eos, &v->unk };
	for (size_t i = 0; i < HRT_ARRAY_LEN(defs); i++)
		if (*defs[i] >= n)
			*defs[i] = -1;

	static const struct {
		const char *key;
		size_t off; /* field of struct hrt_vocab */
	} keys[] = {
		{ K_BOS, offsetof(struct hrt_vocab, bos) },
		{ K_EOS, offsetof(struct hrt_vocab, eos) },
		{ "tokenizer.ggml.eot_token_id", offsetof(struct hrt_vocab, eot) },
		{ "tokenizer.ggml.eom_token_id", offsetof(struct hrt_vocab, eom) },
		{ "tokenizer.ggml.unknown_token_id", offsetof(struct hrt_vocab, unk) },
		{ "tokenizer.ggml.seperator_token_id", offsetof(struct hrt_vocab, sep) },
		{ "tokenizer.ggml.padding_token_id", offsetof(struct hrt_vocab, pad) },
		{ "tokenizer.ggml.mask_token_id", offsetof(struct hrt_vocab, mask) },
		{ "tokenizer.ggml.fim_pre_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_PRE]) },
		{ "tokenizer.ggml.fim_suf_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_SUF]) },
		{ "tokenizer.ggml.fim_mid_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_MID]) },
		{ "tokenizer.ggml.fim_pad_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_PAD]) },
		{ "tokenizer.ggml.fim_rep_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_REP]) },
		{ "tokenizer.ggml.fim_sep_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_SEP]) },
		/* deprecated spellings, read last as llama.cpp does */
		{ "tokenizer.ggml.prefix_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_PRE]) },
		{ "tokenizer.ggml.suffix_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_SUF]) },
		{ "tokenizer.ggml.middle_token_id", offsetof(struct hrt_vocab, fim[HRT_FIM_MID]) },
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(keys); i++) {
		int32_t *id = (int32_t *)(void *)((char *)v + keys[i].off);
		int rc = read_id(g, keys[i].key, n, id, err);
		if (rc)
			return rc;
	}

	int rc = read_bool(g, K_ADD_BOS, &v->add_bos, err);
	if (!rc)
		rc = read_bool(g, K_ADD_EOS, &v->add_eos, err);
	if (rc)
		return rc;
	if (v->add_bos && v->bos < 0)
		return HRT_ERR(err, HRT_EFORMAT, "%s is true, but %s is not set",
			       K_ADD_BOS, K_BOS);
	if (v->add_eos && v->eos < 0)
		return HRT_ERR(err, HRT_EFORMAT, "%s is true, but %s is not set",
			       K_ADD_EOS, K_EOS);
	return HRT_OK;
}

/* first of texts (in this order) present in the vocab, marked control */
static void detect(struct hrt_vocab *v, int32_t *id, const char *const *texts)
{
	if (*id >= 0)
		return;
	for (size_t i = 0; texts[i]; i++) {
		int32_t t = find_c(v, texts[i]);
		if (t >= 0) {
			*id = t;
			v->attr[t] |= HRT_TA_CONTROL;
			return;
		}
	}
}

/* Tokens llama.cpp recognises by their text (its "auto-detect" pass). The
 * peer iterates a hash map and takes whichever match it meets first; we
 * prefer the earlier entry of each list, then the lower id. */
static const char *const eot_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
	"<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
	"<end_of_utterance>", NULL
};
static const char *const eom_texts[] = { "<|eom_id|>", NULL };
static const char *const fim_pre_texts[] = {
	"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
	"<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
	"<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL
};
static const char *const fim_suf_texts[] = {
	"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
	"<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
	"<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL
};
static const char *const fim_mid_texts[] = {
	"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
	"<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
	"<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL
};
static const char *const fim_pad_texts[] = {
	"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL
};
static const char *const fim_rep_texts[] = {
	"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
	NULL
};
static const char *const fim_sep_texts[] = { "<|file_sep|>", NULL };
/* every one of these present is end-of-generation (and control) */
static const char *const eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
	"<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
	"<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
	"<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
	"[e~[", NULL
};

static bool eog_has(const struct hrt_vocab *v, const char *text, int32_t *id)
{
	int32_t t = find_c(v, text);
	if (id)
		*id = t;
	return t >= 0 && (v->attr[t] & HRT_TA_EOG);
}

static void mark_eog(struct hrt_vocab *v)
{
	detect(v, &v->eot, eot_texts);
	detect(v, &v->eom, eom_texts);
	detect(v, &v->fim[HRT_FIM_PRE], fim_pre_texts);
	detect(v, &v->fim[HRT_FIM_SUF], fim_suf_texts);
	detect(v, &v->fim[HRT_FIM_MID], fim_mid_texts);
	detect(v, &v->fim[HRT_FIM_PAD], fim_pad_texts);
	detect(v, &v->fim[HRT_FIM_REP], fim_rep_texts);
	detect(v, &v->fim[HRT_FIM_SEP], fim_sep_texts);

	/* control tokens named "unused" are unused */
	for (int32_t i = 0; i < v->n; i++)
		if ((v->attr[i] & HRT_TA_CONTROL) &&
		    bytes_contain(v->text + v->off[i], v->len[i], "unused"))
			v->attr[i] |= HRT_TA_UNUSED;

	int32_t eogs[] = { v->fim[HRT_FIM_PAD], v->fim[HRT_FIM_REP],
			   v->fim[HRT_FIM_SEP] };
	for (size_t i = 0; i < HRT_ARRAY_LEN(eogs); i++)
		if (eogs[i] >= 0)
			v->attr[eogs[i]] |= HRT_TA_EOG;
	for (size_t i = 0; eog_texts[i]; i++) {
		int32_t t = find_c(v, eog_texts[i]);
		if (t >= 0)
			v->attr[t] |= HRT_TA_EOG | HRT_TA_CONTROL;
	}
	/* gpt-oss: these render always */
	static const char *const always[] = {
		"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(always); i++) {
		int32_t t = find_c(v, always[i]);
		if (t >= 0)
			v->attr[t] = HRT_TA_USER | (v->attr[t] & HRT_TA_EOG);
	}
	int32_t ids[] = { v->eos, v->eot, v->eom };
	for (size_t i = 0; i < HRT_ARRAY_LEN(ids); i++)
		if (ids[i] >= 0)
			v->attr[ids[i]] |= HRT_TA_EOG;

	/* o200k_harmony and solar-open: <|end|> ends a message, not the
	 * generation, when <|return|>/<|call|> (or <|calls|>/<|flush|>) exist */
	int32_t end_id;
	bool has_end = eog_has(v, "<|end|>", &end_id);
	bool has_call = eog_has(v, "<|call|>", NULL) || eog_has(v, "<|calls|>", NULL);
	bool has_return = eog_has(v, "<|return|>", NULL);
	bool has_flush = eog_has(v, "<|flush|>", NULL);
	if (has_end && has_call && (has_return || has_flush))
		v->attr[end_id] = HRT_TA_USER;
	/* gemma4: </s> is an ordinary token next to <|tool_response> */
	int32_t s_id;
	if (eog_has(v, "<|tool_response>", NULL) && eog_has(v, "</s>", &s_id))
		v->attr[s_id] = HRT_TA_NORMAL;
}

/* llama.cpp's per-model strip flags (set after its special cache) */
static int model_attrs(struct hrt_vocab *v, const struct hrt_gguf *g,
		       struct hrt_err *err)
{
	struct hrt_str name = { "", 0 }, arch = { "", 0 };
	int rc = hrt_gguf_get_str(g, "general.name", &name, err);
	if (rc && rc != HRT_ENOTFOUND)
		return rc;
	rc = hrt_gguf_get_str(g, "general.architecture", &arch, err);
	if (rc && rc != HRT_ENOTFOUND)
		return rc;
	char lname[256];
	size_t ln = name.len < sizeof lname - 1 ? (size_t)name.len : sizeof lname - 1;
	for (size_t i = 0; i < ln; i++) {
		char c = name.ptr[i];
		lname[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	lname[ln] = 0;
	const char *pre = v->pre_name;
	size_t pl = strlen(pre);
	int32_t t;
	if (bytes_contain(pre, pl, "jina-v2-de") || bytes_contain(pre, pl, "jina-v2-es") ||
	    bytes_contain(pre, pl, "jina-v2-code") ||
	    bytes_contain(arch.ptr, (size_t)arch.len, "nomic-bert-moe") ||
	    bytes_contain(arch.ptr, (size_t)arch.len, "jina-bert-v3")) {
		if ((t = find_c(v, "<mask>")) >= 0)
			v->attr[t] |= HRT_TA_LSTRIP;
	} else if (bytes_contain(lname, ln, "phi-3") || bytes_contain(lname, ln, "phi3")) {
		for (int32_t i = 0; i < v->n; i++)
			if (v->attr[i] & HRT_TA_SPECIAL)
				v->attr[i] |= HRT_TA_RSTRIP;
		if ((t = find_c(v, "</s>")) >= 0)
			v->attr[t] |= HRT_TA_RSTRIP;
		static const char *const no[] = { "<unk>", "<s>", "<|endoftext|>" };
		for (size_t i = 0; i < HRT_ARRAY_LEN(no); i++)
			if ((t = find_c(v, no[i])) >= 0)
				v->attr[t] &= (uint16_t)~HRT_TA_RSTRIP;
	} else if (bytes_contain(lname, ln, "modern-bert")) {
		if ((t = find_c(v, "[MASK]")) >= 0)
			v->attr[t] |= HRT_TA_LSTRIP;
	}
	return HRT_OK;
}

/* special tokens by length, each length with a rolling-hash index */

static bool spec_before(const struct hrt_vocab *v, int32_t x, int32_t y)
{
	return v->len[x] > v->len[y] || (v->len[x] == v->len[y] && x < y);
}

/* merge sort of ids: longest text first, then lower id */
static void sort_spec(const struct hrt_vocab *v, int32_t *a, int32_t *tmp,
		      uint32_t n)
{
	if (n < 2)
		return;
	uint32_t h = n / 2;
	sort_spec(v, a, tmp, h);
	sort_spec(v, a + h, tmp, n - h);
	uint32_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = spec_before(v, a[j], a[i]) ? a[j++] : a[i++];
	while (i < h)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, (size_t)n * sizeof *a);
}

static int build_special(struct hrt_vocab *v, struct hrt_err *err)
{
	uint32_t ns = 0;
	for (int32_t i = 0; i < v->n; i++)
		if (v->attr[i] & HRT_TA_SPECIAL)
			ns++;
	v->n_spec = ns;
	if (!ns)
		return HRT_OK;
	v->spec = hrt_calloc(ns, sizeof *v->spec);
	int32_t *tmp = hrt_calloc(ns, sizeof *tmp);
	if (!v->spec || !tmp) {
		free(tmp);
		return HRT_ERR(err, HRT_ENOMEM, "special token list");
	}
	ns = 0;
	for (int32_t i = 0; i < v->n; i++)
		if (v->attr[i] & HRT_TA_SPECIAL)
			v->spec[ns++] = i;
	sort_spec(v, v->spec, tmp, ns);
	free(tmp);
	uint32_t ng = 0;
	for (uint32_t i = 0; i < ns; i++)
		if (i == 0 || v->len[v->spec[i]] != v->len[v->spec[i - 1]])
			ng++;
	v->grp = hrt_calloc(ng, sizeof *v->grp);
	if (!v->grp)
		return HRT_ERR(err, HRT_ENOMEM, "special token groups");
	v->n_grp = ng;
	/* odd multiplier, different per load, so crafted input cannot aim at
	 * hash collisions (collisions cost time, never correctness) */
	uint64_t seed = hrt_now_ns() ^ (uint64_t)(uintptr_t)v;
	v->hbase = (hrt_tok_hash(&seed, sizeof seed) | 1) | (1ull << 40);
	uint32_t gi = 0;
	for (uint32_t i = 0; i < ns;) {
		uint32_t j = i;
		while (j < ns && v->len[v->spec[j]] == v->len[v->spec[i]])
			j++;
		struct hrt_spec_group *gr = &v->grp[gi++];
		gr->len = v->len[v->spec[i]];
		gr->first = i;
		gr->count = j - i;
		gr->bpow = 1;
		for (uint32_t k = 1; k < gr->len; k++)
			gr->bpow *= v->hbase;
		uint64_t cap = pow2_at_least(2 * (uint64_t)gr->count + 1);
		gr->hash = hrt_calloc(gr->count, sizeof *gr->hash);
		gr->slot = hrt_calloc(cap, sizeof *gr->slot);
		if (!gr->hash || !gr->slot)
			return HRT_ERR(err, HRT_ENOMEM, "special token index");
		gr->mask = cap - 1;
		for (uint32_t k = 0; k < gr->count; k++) {
			int32_t id = v->spec[i + k];
			const unsigned char *s = (const unsigned char *)v->text + v->off[id];
			uint64_t h = 0;
			for (uint32_t b = 0; b < gr->len; b++)
				h = h * v->hbase + s[b];
			gr->hash[k] = h;
			uint64_t at = (h ^ (h >> 29)) & gr->mask;
			while (gr->slot[at])
				at = (at + 1) & gr->mask;
			gr->slot[at] = k + 1;
			if (!(v->attr[id] & HRT_TA_GUARDED))
				gr->any_free = true;
		}
		i = j;
	}
	return HRT_OK;
}

/* ------------------------------------------------------ pieces, bytes */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* the byte of a "<0xXX>" token, or -1 */
static int byte_token_value(const char *s, size_t n)
{
	if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
		return -1;
	int hi = hexval(s[3]), lo = hexval(s[4]);
	return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

/* Render token i (special = true) into out (room for its text length);
 * returns the length. llama.cpp: token_to_piece. */
static size_t render(const struct hrt_vocab *v, int32_t i, char *out)
{
	const char *s = v->text + v->off[i];
	size_t n = v->len[i];
	uint16_t a = v->attr[i];
	if (a & (HRT_TA_SPECIAL)) {
		memcpy(out, s, n);
		return n;
	}
	if (a & HRT_TA_NORMAL) {
		size_t k = 0;
		if (v->kind == HRT_TOK_SPM) {
			for (size_t p = 0; p < n;) {
				if (p + 3 <= n && memcmp(s + p, "\xE2\x96\x81", 3) == 0) {
					out[k++] = ' ';
					p += 3;
				} else {
					out[k++] = s[p++];
				}
			}
			return k;
		}
		for (size_t p = 0; p < n;) {
			uint32_t cp;
			size_t l = hrt_utf8_next((const unsigned char *)s + p, n - p, &cp);
			int b = cp == HRT_UTF8_BAD ? -1 : hrt_bytemap_byte(cp);
			if (b >= 0) {
				out[k++] = (char)b;
			} else { /* not a mapped symbol: keep its bytes */
				memcpy(out + k, s + p, l);
				k += l;
			}
			p += l;
		}
		return k;
	}
	if (a & HRT_TA_BYTE) {
		int b = byte_token_value(s, n);
		if (b >= 0) {
			out[0] = (char)b;
			return 1;
		}
		memcpy(out, s, n);
		return n;
	}
	return 0; /* unused, undefined */
}

static int build_pieces(struct hrt_vocab *v, struct hrt_err *err)
{
	size_t total = 0;
	for (int32_t i = 0; i < v->n; i++)
		total += v->len[i] + 1;
	v->piece = malloc(total);
	v->poff = hrt_calloc((size_t)v->n, sizeof *v->poff);
	v->plen = hrt_calloc((size_t)v->n, sizeof *v->plen);
	if (!v->piece || !v->poff || !v->plen)
		return HRT_ERR(err, HRT_ENOMEM, "piece cache");
	size_t pos = 0;
	for (int32_t i = 0; i < v->n; i++) {
		/* a piece is never longer than its text: ▁ (3 bytes) becomes
		 * one, a mapped symbol (1-2 bytes) one byte, "<0xXX>" one */
		v->poff[i] = pos;
		size_t k = render(v, i, v->piece + pos);
		v->plen[i] = (uint32_t)k;
		pos += k;
		if (k > v->max_piece)
			v->max_piece = k;
	}
	return HRT_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* the characters that precede U+2581 inside some token (spm.c cuts the
 * text before every other U+2581). Invalid bytes count as HRT_UTF8_BAD. */
static int build_spm_cross(struct hrt_vocab *v, struct hrt_err *err)
{
	size_t cap = 0, n = 0;
	uint32_t *set = NULL;
	for (int32_t i = 0; i < v->n; i++) {
		const unsigned char *s = (const unsigned char *)v->text + v->off[i];
		size_t l = v->len[i];
		uint32_t prev = 0;
		bool have = false;
		for (size_t p = 0; p < l;) {
			uint32_t cp;
			p += hrt_utf8_next(s + p, l - p, &cp);
			if (have && cp == 0x2581) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					uint32_t *ns = realloc(set, cap * sizeof *ns);
					if (!ns) {
						free(set);
						return HRT_ERR(err, HRT_ENOMEM, "SPM tables");
					}
					set = ns;
				}
				set[n++] = prev;
			}
			prev = cp;
			have = true;
		}
	}
	if (n)
		qsort(set, n, sizeof *set, cmp_u32);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || set[k - 1] != set[i])
			set[k++] = set[i];
	v->spm_cross = set;
	v->n_cross = (uint32_t)k;
	return HRT_OK;
}

bool hrt_spm_crosses(const struct hrt_vocab *v, uint32_t cp)
{
	uint32_t lo = 0, hi = v->n_cross;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v->spm_cross[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n_cross && v->spm_cross[lo] == cp;
}

static void build_spm_bytes(struct hrt_vocab *v)
{
	for (int b = 0; b < 256; b++) {
		char buf[8];
		snprintf(buf, sizeof buf, "<0x%02X>", b);
		int32_t t = find_c(v, buf);
		if (t < 0) {
			char c = (char)b;
			t = hrt_vocab_find(v, &c, 1);
		}
		v->spm_byte[b] = t;
	}
}

/* byte-space copy of the vocab and the merges (BPE) */
static int build_bpe(struct hrt_vocab *v, const struct hrt_gguf *g,
		     struct hrt_err *err)
{
	int32_t n = v->n;
	size_t total = 0;
	for (int32_t i = 0; i < n; i++)
		total += v->len[i] + 1;
	v->btext = malloc(total);
	v->boff = hrt_calloc((size_t)n, sizeof *v->boff);
	v->blen = hrt_calloc((size_t)n, sizeof *v->blen);
	if (!v->btext || !v->boff || !v->blen || strtab_init(&v->bpe, (uint64_t)n))
		return HRT_ERR(err, HRT_ENOMEM, "BPE tables");
	size_t pos = 0;
	for (int32_t i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)v->text + v->off[i];
		size_t l = v->len[i], k = 0;
		bool ok = true;
		for (size_t p = 0; p < l && ok;) {
			uint32_t cp;
			p += hrt_utf8_next(s + p, l - p, &cp);
			int b = cp == HRT_UTF8_BAD ? -1 : hrt_bytemap_byte(cp);
			if (b < 0)
				ok = false;
			else
				v->btext[pos + k++] = (char)b;
		}
		v->boff[i] = pos;
		if (!ok) {
			v->blen[i] = UINT32_MAX;
			continue;
		}
		v->blen[i] = (uint32_t)k;
		pos += k;
		uint64_t slot = strtab_probe(&v->bpe, v->btext, v->boff, v->blen,
					     v->btext + v->boff[i], k);
		if (!v->bpe.slot[slot]) /* the mapping is 1:1; cannot collide */
			v->bpe.slot[slot] = (uint32_t)i + 1;
	}
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		v->bpe_byte1[b] = hrt_vocab_find(v, &c, 1);
	}

	struct hrt_gguf_arr a;
	int rc = hrt_gguf_get_arr(g, K_MERGES, &a, err);
	if (rc == HRT_ENOTFOUND)
		return HRT_ERR(err, HRT_EFORMAT, "missing %s (required by BPE)", K_MERGES);
	if (rc)
		return rc;
	if (a.type != HRT_GGUF_STRING)
		return HRT_ERR(err, HRT_EFORMAT, "%s is an array of %s, not strings",
			       K_MERGES, hrt_gguf_vtype_name(a.type));
	if (a.n > (uint64_t)INT32_MAX / 2)
		return HRT_ERR(err, HRT_EFORMAT, "%s has too many entries", K_MERGES);
	uint32_t nm = (uint32_t)a.n;
	total = 0;
	for (uint32_t i = 0; i < nm; i++) {
		struct hrt_str s = hrt_gguf_arr_str(&a, i);
		if (hrt_add_ovf(total, s.len, &total))
			return HRT_ERR(err, HRT_EFORMAT, "%s too large", K_MERGES);
	}
	if (total > SIZE_MAX / 2)
		return HRT_ERR(err, HRT_ENOMEM, "%s too large", K_MERGES);
	v->mtext = malloc((size_t)total + 1);
	v->merges = hrt_calloc(nm ? nm : 1, sizeof *v->merges);
	uint64_t cap = pow2_at_least(2 * (uint64_t)nm + 1);
	v->mslot = hrt_calloc(cap, sizeof *v->mslot);
	if (!v->mtext || !v->merges || !v->mslot)
		return HRT_ERR(err, HRT_ENOMEM, "%s", K_MERGES);
	v->mmask = cap - 1;
	pos = 0;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < nm; i++) {
		struct hrt_str s = hrt_gguf_arr_str(&a, i);
		const unsigned char *p = (const unsigned char *)s.ptr;
		size_t l = (size_t)s.len, sp = 0;
		/* llama.cpp splits at the first space after the first byte */
		for (size_t k = 1; k < l; k++)
			if (p[k] == ' ') {
				sp = k;
				break;
			}
		if (!sp) {
			char b[96];
			return HRT_ERR(err, HRT_EFORMAT,
				       "%s[%u] '%s' is not two symbols separated by a space",
				       K_MERGES, i, shown(s.ptr, l, b, sizeof b));
		}
		/* decode both halves into byte space; a half that is not made
		 * of mapped symbols can never match a BPE symbol: drop it */
		size_t k = 0, split = 0;
		bool ok = sp + 1 < l;
		for (size_t q = 0; q < l && ok;) {
			if (q == sp) {
				split = k;
				q++;
				continue;
			}
			uint32_t cp;
			size_t cl = hrt_utf8_next(p + q, (q < sp ? sp : l) - q, &cp);
			int b = cp == HRT_UTF8_BAD ? -1 : hrt_bytemap_byte(cp);
			if (b < 0)
				ok = false;
			else
				v->mtext[pos + k++] = (char)b;
			q += cl;
		}
		if (!ok)
			continue;
		uint64_t at = merge_hash(v->mtext + pos, k, split) & v->mmask;
		bool dup = false;
		while (v->mslot[at]) {
			const struct hrt_merge *m = &v->merges[v->mslot[at] - 1];
			if (m->len == k && m->split == split &&
			    memcmp(v->mtext + m->off, v->mtext + pos, k) == 0) {
				dup = true; /* the first (best) rank stays */
				break;
			}
			at = (at + 1) & v->mmask;
		}
		if (dup)
			continue;
		struct hrt_merge *m = &v->merges[kept];
		m->off = pos;
		m->len = (uint32_t)k;
		m->split = (uint32_t)split;
		m->rank = (int32_t)i;
		v->mslot[at] = ++kept;
		pos += k;
	}
	v->n_merges = kept;
	return HRT_OK;
}

/* ---------------------------------------------------------------- load */

static int load(struct hrt_vocab *v, const struct hrt_gguf *g,
		struct hrt_err *err)
{
	struct hrt_str model;
	char b[96];
	int rc = hrt_gguf_get_str(g, K_MODEL, &model, err);
	if (rc == HRT_ENOTFOUND)
		return HRT_ERR(err, HRT_EFORMAT, "missing %s", K_MODEL);
	if (rc)
		return rc;
	if (hrt_str_eq(model, "llama"))
		v->kind = HRT_TOK_SPM;
	else if (hrt_str_eq(model, "gpt2"))
		v->kind = HRT_TOK_BPE;
	else
		return HRT_ERR(err, HRT_ENOTSUP,
			       "%s '%s' is not supported (only 'llama' and 'gpt2')",
			       K_MODEL, shown(model.ptr, (size_t)model.len, b, sizeof b));

	struct hrt_str pre = { "", 0 };
	rc = hrt_gguf_get_str(g, K_PRE, &pre, err);
	if (rc && rc != HRT_ENOTFOUND)
		return rc;
	if (memchr(pre.ptr, 0, (size_t)pre.len) || pre.len > 200)
		return HRT_ERR(err, HRT_EFORMAT, "%s is not a name", K_PRE);
	v->pre_name = pre.len ? hrt_strndup(pre.ptr, (size_t)pre.len)
			      : hrt_strdup("default");
	if (!v->pre_name)
		return HRT_ERR(err, HRT_ENOMEM, "%s", K_PRE);

	bool pre_bos = false, pre_no_bos = false;
	if (v->kind == HRT_TOK_BPE) {
		v->pre = hrt_pretok_lookup(pre.len ? v->pre_name : NULL,
					   &v->ignore_merges, &pre_bos, &pre_no_bos);
		if (v->pre == HRT_PRE_COUNT)
			return HRT_ERR(err, HRT_ENOTSUP,
				       "%s '%s' is not a pre-tokenizer we implement",
				       K_PRE, shown(pre.ptr, (size_t)pre.len, b, sizeof b));
		v->add_space_prefix = false;
		v->add_bos = pre_bos;
		v->add_eos = false;
	} else {
		v->pre = HRT_PRE_NONE;
		v->add_space_prefix = true;
		v->add_bos = true;
		v->add_eos = false;
	}
	rc = read_bool(g, K_ADD_PREFIX, &v->add_space_prefix, err);
	if (rc)
		return rc;

	if ((rc = load_tokens(v, g, err)))
		return rc;
	if ((rc = load_special(v, g, pre_no_bos, err)))
		return rc;
	mark_eog(v);
	if ((rc = build_special(v, err)))
		return rc;
	if ((rc = model_attrs(v, g, err)))
		return rc;
	if ((rc = build_pieces(v, err)))
		return rc;
	if (v->kind == HRT_TOK_SPM) {
		build_spm_bytes(v);
		if ((rc = build_spm_cross(v, err)))
			return rc;
	} else if ((rc = build_bpe(v, g, err))) {
		return rc;
	}
	return HRT_OK;
}

int hrt_vocab_load(struct hrt_vocab **out, const struct hrt_gguf *g,
		   struct hrt_err *err)
{
	*out = NULL;
	if (!g)
		return HRT_ERR(err, HRT_EINVAL, "no GGUF file");
	struct hrt_vocab *v = calloc(1, sizeof *v);
	if (!v)
		return HRT_ERR(err, HRT_ENOMEM, "vocabulary");
	int rc = load(v, g, err);
	if (rc) {
		hrt_vocab_free(v);
		return rc;
	}
	*out = v;
	return HRT_OK;
}

void hrt_vocab_free(struct hrt_vocab *v)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < v->n_grp; i++) {
		free(v->grp[i].hash);
		free(v->grp[i].slot);
	}
	free(v->grp);
	free(v->spec);
	free(v->spm_cross);
	free(v->mslot);
	free(v->merges);
	free(v->mtext);
	free(v->bpe.slot);
	free(v->blen);
	free(v->boff);
	free(v->btext);
	free(v->plen);
	free(v->poff);
	free(v->piece);
	free(v->raw.slot);
	free(v->attr);
	free(v->score);
	free(v->len);
	free(v->off);
	free(v->text);
	free(v->pre_name);
	free(v);
}

/* ----------------------------------------------------------- accessors */

int32_t hrt_vocab_n(const struct hrt_vocab *v) { return v->n; }
enum hrt_tok_kind hrt_vocab_kind(const struct hrt_vocab *v) { return v->kind; }
const char *hrt_vocab_pre(const struct hrt_vocab *v) { return v->pre_name; }
int32_t hrt_vocab_bos(const struct hrt_vocab *v) { return v->bos; }
int32_t hrt_vocab_eos(const struct hrt_vocab *v) { return v->eos; }
int32_t hrt_vocab_eot(const struct hrt_vocab *v) { return v->eot; }
int32_t hrt_vocab_eom(const struct hrt_vocab *v) { return v->eom; }
int32_t hrt_vocab_unk(const struct hrt_vocab *v) { return v->unk; }
int32_t hrt_vocab_pad(const struct hrt_vocab *v) { return v->pad; }
int32_t hrt_vocab_sep(const struct hrt_vocab *v) { return v->sep; }
bool hrt_vocab_add_bos(const struct hrt_vocab *v) { return v->add_bos; }
bool hrt_vocab_add_eos(const struct hrt_vocab *v) { return v->add_eos; }
size_t hrt_vocab_max_piece(const struct hrt_vocab *v) { return v->max_piece; }

int32_t hrt_vocab_fim(const struct hrt_vocab *v, int which)
{
	if (which < 0 || which >= HRT_FIM_COUNT)
		return -1;
	return v->fim[which];
}

bool hrt_vocab_is_eog(const struct hrt_vocab *v, int32_t id)
{
	return id >= 0 && id < v->n && (v->attr[id] & HRT_TA_EOG);
}

bool hrt_vocab_is_control(const struct hrt_vocab *v, int32_t id)
{
	return id >= 0 && id < v->n && (v->attr[id] & HRT_TA_GUARDED);
}

const char *hrt_vocab_text(const struct hrt_vocab *v, int32_t id, size_t *len)
{
	if (id < 0 || id >= v->n)
		return NULL;
	if (len)
		*len = v->len[id];
	return v->text + v->off[id];
}
