/*
 * prov/license — SPDX license expressions (SPDX 2.3 Annex D / SPDX 3
 * SimpleLicensing): a recursive-descent parser and the "can this be used
 * with only the allowed licenses" evaluation a policy needs.
 *
 *   expr    := and ( OR and )*
 *   and     := with ( AND with )*
 *   with    := primary [ WITH exception-id ]
 *   primary := "(" expr ")" | license-id [ "+" ]
 *   ids     := [A-Za-z0-9.-]+, optionally "DocumentRef-x:" before
 *              "LicenseRef-y"; operators in upper or lower case
 * Precedence WITH > AND > OR, as the spec orders them. Inputs are capped
 * (1024 bytes, nesting 32). Not here: the SPDX license list itself (any
 * well-formed id is accepted; the policy decides what is allowed).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "prov/prov_int.h"

#define EXPR_MAX 1024
#define DEPTH_MAX 32

enum node_kind { N_ID, N_AND, N_OR };

struct hrt_spdx {
	enum node_kind kind;
	char *id;          /* N_ID: license id */
	bool plus;         /* "or later" */
	char *exception;   /* N_ID: WITH exception, or NULL */
	struct hrt_spdx *l, *r;
};

struct lex {
	const char *s;
	size_t pos, n;
	struct hrt_err *err;
	int depth;
};

void hrt_spdx_free(struct hrt_spdx *e)
{
	if (!e)
		return;
	hrt_spdx_free(e->l);
	hrt_spdx_free(e->r);
	free(e->id);
	free(e->exception);
	free(e);
}

static void skip_ws(struct lex *x)
{
	while (x->pos < x->n && (x->s[x->pos] == ' ' || x->s[x->pos] == '\t'))
		x->pos++;
}

static bool idchar(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

/* the next word (an id or operator) without consuming it; length or 0 */
static size_t peek_word(struct lex *x)
{
	skip_ws(x);
	size_t k = x->pos;
	while (k < x->n && (idchar(x->s[k]) || x->s[k] == ':'))
		k++;
	return k - x->pos;
}

static bool is_op(struct lex *x, size_t len, const char *op)
{
	size_t ol = strlen(op);
	if (len != ol)
		return false;
	const char *w = x->s + x->pos;
	bool upper = !strncmp(w, op, ol);
	bool lower = true;
	for (size_t i = 0; i < ol; i++)
		if (w[i] != tolower((unsigned char)op[i]))
			lower = false;
	return upper || lower;
}

static bool keyword(const char *w, size_t len)
{
	static const char *const kw[] = { "AND", "OR", "WITH", "and", "or", "with" };
	for (size_t i = 0; i < HRT_ARRAY_LEN(kw); i++)
		if (strlen(kw[i]) == len && !strncmp(w, kw[i], len))
			return true;
	return false;
}

/* a license or exception id at the cursor */
static int read_id(struct lex *x, char **out, const char *what)
{
	size_t len = peek_word(x);
	const char *w = x->s + x->pos;
	if (len == 0)
		return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": %s expected at byte %zu",
			       x->s, what, x->pos);
	if (keyword(w, len))
		return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": %s expected at byte %zu, got %.*s",
			       x->s, what, x->pos, (int)len, w);
	/* ':' only as DocumentRef-x:LicenseRef-y */
	const char *colon = memchr(w, ':', len);
	if (colon) {
		if (strncmp(w, "DocumentRef-", 12) || colon == w + 12 ||
		    strncmp(colon + 1, "LicenseRef-", 11) ||
		    (size_t)(colon + 12 - w) >= len || memchr(colon + 1, ':', len - (size_t)(colon + 1 - w)))
			return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": bad reference at byte %zu",
				       x->s, x->pos);
	}
	if ((!strncmp(w, "LicenseRef-", 11) && len == 11) ||
	    (!strncmp(w, "DocumentRef-", 12) && !colon))
		return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": incomplete reference at byte %zu",
			       x->s, x->pos);
	*out = hrt_strndup(w, len);
	if (!*out)
		return HRT_ERR(x->err, HRT_ENOMEM, "out of memory");
	x->pos += len;
	return HRT_OK;
}

static int parse_or(struct lex *x, struct hrt_spdx **out);

static int parse_primary(struct lex *x, struct hrt_spdx **out)
{
	*out = NULL;
	skip_ws(x);
	if (x->pos < x->n && x->s[x->pos] == '(') {
		if (++x->depth > DEPTH_MAX)
			return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": nested too deep", x->s);
		x->pos++;
		int rc = parse_or(x, out);
		if (rc)
			return rc;
		skip_ws(x);
		if (x->pos >= x->n || x->s[x->pos] != ')') {
			hrt_spdx_free(*out);
			*out = NULL;
			return HRT_ERR(x->err, HRT_EFORMAT, "license \"%.80s\": ')' expected at byte %zu",
				       x->s, x->pos);
		}
		x->pos++;
		x->depth--;
		return HRT_OK;
	}
	struct hrt_spdx *e = calloc(1, sizeof *e);
	if (!e)
		return HRT_ERR(x->err, HRT_ENOMEM, "out of memory");
	e->kind = N_ID;
	int rc = read_id(x, &e->id, "a license id");
	if (rc) {
		hrt_spdx_free(e);
		return rc;
	}
	if (x->pos < x->n && x->s[x->pos] == '+') {
		e->plus = true;
		x->pos++;
	}
	*out = e;
	return HRT_OK;
}

static int parse_with(struct lex *x, struct hrt_spdx **out)
{
	skip_ws(x);
	bool paren = x->pos < x->n && x->s[x->pos] == '(';
	int rc = parse_primary(x, out);
	if (rc)
		return rc;
	size_t len = peek_word(x);
	if (is_op(x, len, "WITH")) {
		/* only "license-id WITH exception-id", never "( ... ) WITH" */
		if (paren || (*out)->kind != N_ID || (*out)->exception) {
			hrt_spdx_free(*out);
			*out = NULL;
			return HRT_ERR(x->err, HRT_EFORMAT,
				       "license \"%.80s\": WITH must follow a single license id (byte %zu)",
				       x->s, x->pos);
		}
		x->pos += len;
		if ((rc = read_id(x, &(*out)->exception, "an exception id"))) {
			hrt_spdx_free(*out);
			*out = NULL;
			return rc;
		}
	}
	return HRT_OK;
}

static int parse_bin(struct lex *x, struct hrt_spdx **out, const char *op, enum node_kind k,
		     int (*sub)(struct lex *, struct hrt_spdx **))
{
	int rc = sub(x, out);
	if (rc)
		return rc;
	for (;;) {
		size_t len = peek_word(x);
		if (!is_op(x, len, op))
			return HRT_OK;
		x->pos += len;
		struct hrt_spdx *r = NULL, *n = calloc(1, sizeof *n);
		if (!n || (rc = sub(x, &r))) {
			free(n);
			hrt_spdx_free(*out);
			*out = NULL;
			return n ? rc : HRT_ERR(x->err, HRT_ENOMEM, "out of memory");
		}
		n->kind = k;
		n->l = *out;
		n->r = r;
		*out = n;
	}
}

static int parse_and(struct lex *x, struct hrt_spdx **out)
{
	return parse_bin(x, out, "AND", N_AND, parse_with);
}

static int parse_or(struct lex *x, struct hrt_spdx **out)
{
	return parse_bin(x, out, "OR", N_OR, parse_and);
}

int hrt_spdx_parse(const char *s, struct hrt_spdx **out, struct hrt_err *err)
{
	*out = NULL;
	if (!s)
		return HRT_ERR(err, HRT_EINVAL, "license: none given");
	size_t n = strlen(s);
	if (n == 0 || n > EXPR_MAX)
		return HRT_ERR(err, HRT_EFORMAT, "license expression: empty or longer than %d bytes",
			       EXPR_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(idchar((char)c) || c == ':' || c == '+' || c == '(' || c == ')' || c == ' ' ||
		      c == '\t'))
			return HRT_ERR(err, HRT_EFORMAT, "license \"%.80s\": bad character at byte %zu",
				       s, i);
	}
	struct lex x = { .s = s, .n = n, .err = err };
	int rc = parse_or(&x, out);
	if (rc)
		return rc;
	skip_ws(&x);
	if (x.pos != n) {
		hrt_spdx_free(*out);
		*out = NULL;
		return HRT_ERR(err, HRT_EFORMAT, "license \"%.80s\": unexpected text at byte %zu", s,
			       x.pos);
	}
	return HRT_OK;
}

static bool in_list(const char *id, const char *suffix, const char *const *allowed,
		    size_t n)
{
	size_t il = strlen(id), sl = suffix ? strlen(suffix) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *a = allowed[i];
		if (strlen(a) == il + sl && !strncasecmp(a, id, il) &&
		    (!sl || !strcasecmp(a + il, suffix)))
			return true;
	}
	return false;
}

/* "X WITH E" in the allowed list, spaces normalized */
static bool with_listed(const struct hrt_spdx *e, const char *const *allowed, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hrt_spdx *a = NULL;
		if (hrt_spdx_parse(allowed[i], &a, NULL))
			continue;
		bool m = a->kind == N_ID && a->exception && a->plus == e->plus &&
			 !strcasecmp(a->id, e->id) && !strcasecmp(a->exception, e->exception);
		hrt_spdx_free(a);
		if (m)
			return true;
	}
	return false;
}

bool hrt_spdx_allowed(const struct hrt_spdx *e, const char *const *allowed, size_t n)
{
	if (!e)
		return false;
	switch (e->kind) {
	case N_AND:
		return hrt_spdx_allowed(e->l, allowed, n) && hrt_spdx_allowed(e->r, allowed, n);
	case N_OR:
		return hrt_spdx_allowed(e->l, allowed, n) || hrt_spdx_allowed(e->r, allowed, n);
	case N_ID:
		if (e->exception && with_listed(e, allowed, n))
			return true;
		if (e->plus && in_list(e->id, "+", allowed, n))
			return true;
		return in_list(e->id, NULL, allowed, n);
	}
	return false;
}

static void text(const struct hrt_spdx *e, char *b, size_t cap, size_t *k, int parent)
{
	if (*k >= cap)
		return;
	if (e->kind == N_ID) {
		*k += (size_t)snprintf(b + *k, cap - *k, "%s%s%s%s", e->id, e->plus ? "+" : "",
				       e->exception ? " WITH " : "", e->exception ? e->exception : "");
		return;
	}
	/* OR = 1 binds looser than AND = 2 */
	int me = e->kind == N_OR ? 1 : 2;
	bool paren = me < parent;
	if (paren && *k < cap)
		*k += (size_t)snprintf(b + *k, cap - *k, "(");
	text(e->l, b, cap, k, me);
	if (*k < cap)
		*k += (size_t)snprintf(b + *k, cap - *k, e->kind == N_OR ? " OR " : " AND ");
	text(e->r, b, cap, k, me + 1);
	if (paren && *k < cap)
		*k += (size_t)snprintf(b + *k, cap - *k, ")");
}

bool prov_spdx_is_single(const struct hrt_spdx *e)
{
	return e && e->kind == N_ID;
}

char *hrt_spdx_text(const struct hrt_spdx *e)
{
	size_t cap = 4 * EXPR_MAX;
	char *b = malloc(cap);
	if (!b)
		return NULL;
	size_t k = 0;
	b[0] = 0;
	if (e)
		text(e, b, cap, &k, 0);
	return b;
}
