/*
 * tok/encode — the encode entry points: split special-token text out of the
 * input first (llama.cpp: tokenizer_st_partition), then run SPM or BPE on
 * the text between, then add BOS/EOS.
 *
 * Special tokens are matched longest text first: every occurrence of the
 * longer ones is taken before shorter ones are looked for, leftmost first
 * among tokens of one length, never overlapping. Control and unknown-type
 * tokens need permission (parse_special, or a span of the caller's that
 * holds the whole match); user-defined tokens are always matched. Tokens
 * with the LSTRIP/RSTRIP attribute eat the ASCII whitespace beside them.
 * Each token length is one linear pass with a rolling hash, so the cost is
 * (number of distinct special-token lengths) x (input length).
 *
 * The peer processes equal-length tokens one at a time in an unspecified
 * order; when two equal-length tokens overlap in the text it may pick the
 * other one. We pick the leftmost.
 */
#include <string.h>

#include "tok/tok_int.h"

struct frag {
	size_t off, len;
	int32_t id; /* >= 0: a special token; -1: raw text */
};

struct fvec {
	struct frag *a;
	size_t n, cap;
};

static int fpush(struct fvec *f, size_t off, size_t len, int32_t id)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		struct frag *na = realloc(f->a, nc * sizeof *na);
		if (!na)
			return HRT_ENOMEM;
		f->a = na;
		f->cap = nc;
	}
	f->a[f->n++] = (struct frag){ off, len, id };
	return HRT_OK;
}

static bool ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* who may turn text into guarded (control/unknown) tokens */
struct perm {
	bool all;
	const struct hrt_span *sp;
	size_t n;
};

static bool permitted(const struct perm *pm, size_t off, size_t len)
{
	if (pm->all)
		return true;
	size_t lo = 0, hi = pm->n; /* last span starting at or before off */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (pm->sp[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct hrt_span *s = &pm->sp[lo - 1];
	return off - s->off <= s->len && len <= s->len - (off - s->off);
}

/* the member of gr whose text is t[p..p+len) and that may be used here */
static int32_t group_match(const struct hrt_vocab *v,
			   const struct hrt_spec_group *gr, const unsigned char *t,
			   size_t p, uint64_t h, const struct perm *pm)
{
	uint64_t at = (h ^ (h >> 29)) & gr->mask;
	for (;;) {
		uint32_t e = gr->slot[at];
		if (!e)
			return -1;
		if (gr->hash[e - 1] == h) {
			int32_t id = v->spec[gr->first + e - 1];
			if ((!(v->attr[id] & HRT_TA_GUARDED) || permitted(pm, p, gr->len)) &&
			    memcmp(v->text + v->off[id], t + p, gr->len) == 0)
				return id;
		}
		at = (at + 1) & gr->mask;
	}
}

static uint64_t window_hash(const struct hrt_vocab *v, const unsigned char *t,
			    size_t len)
{
	uint64_t h = 0;
	for (size_t i = 0; i < len; i++)
		h = h * v->hbase + t[i];
	return h;
}

/* split raw fragment [a, b) by the tokens of gr, appending to out */
static int split_group(const struct hrt_vocab *v,
		       const struct hrt_spec_group *gr, const unsigned char *t,
		       size_t a, size_t b, const struct perm *pm,
		       struct fvec *out)
{
	size_t L = gr->len, cur = a;
	if (b - a >= L) {
		size_t p = a;
		uint64_t h = window_hash(v, t + p, L);
		for (;;) {
			int32_t id = group_match(v, gr, t, p, h, pm);
			if (id >= 0) {
				size_t le = p;
				if (v->attr[id] & HRT_TA_LSTRIP)
					while (le > cur && ascii_space(t[le - 1]))
						le--;
				if (le > cur && fpush(out, cur, le - cur, -1))
					return HRT_ENOMEM;
				if (fpush(out, p, L, id))
					return HRT_ENOMEM;
				size_t np = p + L;
				if (v->attr[id] & HRT_TA_RSTRIP)
					while (np < b && ascii_space(t[np]))
						np++;
				cur = p = np;
				if (b - p < L)
					break;
				h = window_hash(v, t + p, L);
				continue;
			}
			if (p + L >= b)
				break;
			h = (h - t[p] * gr->bpow) * v->hbase + t[p + L];
			p++;
		}
	}
	if (cur < b && fpush(out, cur, b - cur, -1))
		return HRT_ENOMEM;
	return HRT_OK;
}

static int partition(const struct hrt_vocab *v, const unsigned char *t,
		     size_t n, const struct perm *pm, struct fvec *fv)
{
	struct fvec other = { 0 };
	int rc = HRT_OK;
	if (n && (rc = fpush(fv, 0, n, -1)))
		return rc;
	bool any_perm = pm->all || pm->n > 0;
	for (uint32_t g = 0; g < v->n_grp && fv->n; g++) {
		const struct hrt_spec_group *gr = &v->grp[g];
		if (!gr->any_free && !any_perm)
			continue;
		other.n = 0;
		for (size_t i = 0; i < fv->n && !rc; i++) {
			struct frag f = fv->a[i];
			if (f.id >= 0)
				rc = fpush(&other, f.off, f.len, f.id);
			else
				rc = split_group(v, gr, t, f.off, f.off + f.len, pm, &other);
		}
		if (rc)
			break;
		struct fvec tmp = *fv;
		*fv = other;
		other = tmp;
	}
	free(other.a);
	return rc;
}

void hrt_tok_scratch_free(struct hrt_tok_scratch *s)
{
	free(s->buf);
	free(s->prev);
	free(s->next);
	free(s->soff);
	free(s->slen);
	free(s->heap.a);
	memset(s, 0, sizeof *s);
}

int hrt_tok_scratch_syms(struct hrt_tok_scratch *s, size_t n)
{
	if (n <= s->sym_cap)
		return HRT_OK;
	size_t c = s->sym_cap ? s->sym_cap : 256;
	while (c < n)
		c *= 2;
	int32_t *p = realloc(s->prev, c * sizeof *p);
	if (!p)
		return HRT_ENOMEM;
	s->prev = p;
	p = realloc(s->next, c * sizeof *p);
	if (!p)
		return HRT_ENOMEM;
	s->next = p;
	uint32_t *q = realloc(s->soff, c * sizeof *q);
	if (!q)
		return HRT_ENOMEM;
	s->soff = q;
	q = realloc(s->slen, c * sizeof *q);
	if (!q)
		return HRT_ENOMEM;
	s->slen = q;
	s->sym_cap = c;
	return HRT_OK;
}

static int encode(const struct hrt_vocab *v, const char *text, size_t len,
		  bool add_special, const struct perm *pm, int32_t **ids,
		  size_t *n_ids, struct hrt_err *err)
{
	*ids = NULL;
	*n_ids = 0;
	if (!v)
		return HRT_ERR(err, HRT_EINVAL, "no vocabulary");
	if (!text && len)
		return HRT_ERR(err, HRT_EINVAL, "NULL text");
	if (len > HRT_TOK_MAX_INPUT)
		return HRT_ERR(err, HRT_ERANGE,
			       "text of %zu bytes is over the %zu-byte limit",
			       len, HRT_TOK_MAX_INPUT);
	const unsigned char *t = (const unsigned char *)text;
	struct fvec fv = { 0 };
	struct hrt_ivec out = { 0 };
	struct hrt_tok_scratch sc = { 0 };
	int rc = partition(v, t, len, pm, &fv);
	if (rc)
		goto out_free;

	if (add_special && v->add_bos && (rc = hrt_ivec_push(&out, v->bos)))
		goto out_free;
	bool prev_special = true; /* SPM: the first text gets the space prefix */
	for (size_t i = 0; i < fv.n && !rc; i++) {
		const struct frag *f = &fv.a[i];
		if (f->id >= 0) {
			rc = hrt_ivec_push(&out, f->id);
			prev_special = true;
		} else if (v->kind == HRT_TOK_SPM) {
			rc = hrt_spm_encode(v, text + f->off, f->len,
					    v->add_space_prefix && prev_special,
					    &sc, &out);
			prev_special = false;
		} else {
			rc = hrt_bpe_encode(v, text + f->off, f->len, &sc, &out);
		}
	}
	if (!rc && add_special && v->add_eos)
		rc = hrt_ivec_push(&out, v->eos);
	if (rc)
		goto out_free;
	free(fv.a);
	hrt_tok_scratch_free(&sc);
	*ids = out.v;
	*n_ids = out.n;
	return HRT_OK;

out_free:
	free(out.v);
	free(fv.a);
	hrt_tok_scratch_free(&sc);
	return HRT_ERR(err, rc, "tokenizing %zu bytes: out of memory", len);
}

int hrt_tok_encode(const struct hrt_vocab *v, const char *text, size_t len,
		   bool add_special, bool parse_special, int32_t **ids,
		   size_t *n_ids, struct hrt_err *err)
{
	struct perm pm = { parse_special, NULL, 0 };
	return encode(v, text, len, add_special, &pm, ids, n_ids, err);
}

int hrt_tok_encode_spans(const struct hrt_vocab *v, const char *text,
			 size_t len, bool add_special,
			 const struct hrt_span *special_ok, size_t n_spans,
			 int32_t **ids, size_t *n_ids, struct hrt_err *err)
{
	*ids = NULL;
	*n_ids = 0;
	if (n_spans && !special_ok)
		return HRT_ERR(err, HRT_EINVAL, "NULL span list");
	size_t end = 0;
	for (size_t i = 0; i < n_spans; i++) {
		const struct hrt_span *s = &special_ok[i];
		if (s->off < end || s->off > len || s->len > len - s->off)
			return HRT_ERR(err, HRT_EINVAL,
				       "span %zu (%zu+%zu) is unsorted, overlapping "
				       "or outside the %zu-byte text",
				       i, s->off, s->len, len);
		end = s->off + s->len;
	}
	struct perm pm = { false, special_ok, n_spans };
	return encode(v, text, len, add_special, &pm, ids, n_ids, err);
}
