/*
 * tok/detok — token ids back to text: one token's bytes (hrt_tok_piece, the
 * peer's token_to_piece without its lstrip option), a whole sequence
 * (hrt_tok_decode), and the streaming detokenizer that only ever hands out
 * whole UTF-8 characters.
 *
 * Pieces are rendered once at load (vocab.c, build_pieces): SPM turns U+2581
 * into ' ' and <0xXX> into its byte; BPE undoes the GPT-2 byte mapping;
 * control, unknown and user-defined tokens keep their text. Control and
 * unknown tokens render as nothing unless the caller asks for them.
 */
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

static const char *piece(const struct hrt_vocab *v, int32_t id, bool special,
			 size_t *n)
{
	if (!special && (v->attr[id] & HRT_TA_GUARDED)) {
		*n = 0;
		return "";
	}
	*n = v->plen[id];
	return v->piece + v->poff[id];
}

int hrt_tok_piece(const struct hrt_vocab *v, int32_t id, bool special,
		  char *buf, size_t cap)
{
	if (!v || id < 0 || id >= v->n)
		return -1;
	size_t n;
	const char *p = piece(v, id, special, &n);
	if (n <= cap && n)
		memcpy(buf, p, n);
	return (int)n;
}

int hrt_tok_decode(const struct hrt_vocab *v, const int32_t *ids, size_t n,
		   bool special, char **out, size_t *out_len,
		   struct hrt_err *err)
{
	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!v || (!ids && n))
		return HRT_ERR(err, HRT_EINVAL, "no vocabulary or ids");
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= v->n)
			return HRT_ERR(err, HRT_ERANGE, "token %zu: id %d is outside "
				       "the vocabulary (%d tokens)", i, ids[i], v->n);
		size_t k;
		piece(v, ids[i], special, &k);
		total += k;
	}
	char *s = malloc(total + 1);
	if (!s)
		return HRT_ERR(err, HRT_ENOMEM, "decoding %zu tokens", n);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		const char *p = piece(v, ids[i], special, &k);
		memcpy(s + pos, p, k);
		pos += k;
	}
	s[pos] = 0;
	*out = s;
	if (out_len)
		*out_len = pos;
	return HRT_OK;
}

/* ------------------------------------------------------------- streaming */

void hrt_detok_init(struct hrt_detok *d, bool special)
{
	memset(d, 0, sizeof *d);
	d->special = special;
}

/* expected length of a character starting with byte c; 0 if c cannot
 * start one */
static size_t lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* could s[0..n) (n < its expected length) still become a valid character? */
static bool valid_prefix(const unsigned char *s, size_t n)
{
	size_t need = lead_len(s[0]);
	if (need == 0 || n >= need)
		return false;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return false;
		if (i == 1) { /* the second byte's range depends on the lead */
			if (s[0] == 0xE0 && s[1] < 0xA0)
				return false;
			if (s[0] == 0xED && s[1] > 0x9F)
				return false;
			if (s[0] == 0xF0 && s[1] < 0x90)
				return false;
			if (s[0] == 0xF4 && s[1] > 0x8F)
				return false;
		}
	}
	return true;
}

struct sink {
	char *out;
	size_t cap, k;
	bool full; /* the caller gave too little room: cut here */
};

static void put(struct sink *o, const void *p, size_t n)
{
	if (o->full || o->k + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->out + o->k, p, n);
	o->k += n;
}

/* Move whole characters from the pending bytes + s[0..n) to o; keep an
 * incomplete tail in d. A byte that cannot start or continue a character
 * becomes U+FFFD. */
static void feed(struct hrt_detok *d, struct sink *o, const unsigned char *s,
		 size_t n)
{
	size_t j = 0; /* next byte of s */
	if (d->npend > 0) {
		/* the pending bytes plus enough of s to complete any character */
		unsigned char tmp[8];
		size_t np = (size_t)d->npend, take = n < 4 ? n : 4;
		memcpy(tmp, d->pend, np);
		memcpy(tmp + np, s, take);
		size_t tn = np + take, i = 0;
		d->npend = 0;
		while (i < np) {
			uint32_t cp;
			size_t l = hrt_utf8_next(tmp + i, tn - i, &cp);
			if (cp != HRT_UTF8_BAD) {
				put(o, tmp + i, l);
				i += l;
			} else if (take == n && valid_prefix(tmp + i, tn - i)) {
				memcpy(d->pend, tmp + i, tn - i);
				d->npend = (int)(tn - i);
				return;
			} else {
				put(o, "\xEF\xBF\xBD", 3);
				i++;
			}
		}
		j = i - np;
	}
	while (j < n) {
		uint32_t cp;
		size_t l = hrt_utf8_next(s + j, n - j, &cp);
		if (cp != HRT_UTF8_BAD) {
			put(o, s + j, l);
			j += l;
		} else if (valid_prefix(s + j, n - j)) {
			memcpy(d->pend, s + j, n - j); /* < 4 bytes */
			d->npend = (int)(n - j);
			return;
		} else {
			put(o, "\xEF\xBF\xBD", 3);
			j++;
		}
	}
}

size_t hrt_detok_push(struct hrt_detok *d, const struct hrt_vocab *v,
		      int32_t id, char *out, size_t cap)
{
	if (!v || id < 0 || id >= v->n)
		return 0;
	size_t n;
	const char *p = piece(v, id, d->special, &n);
	struct sink o = { out, cap, 0, false };
	feed(d, &o, (const unsigned char *)p, n);
	return o.k;
}

size_t hrt_detok_flush(struct hrt_detok *d, char *out, size_t cap)
{
	struct sink o = { out, cap, 0, false };
	if (d->npend > 0)
		put(&o, "\xEF\xBF\xBD", 3); /* one incomplete character */
	d->npend = 0;
	return o.k;
}
