/*
 * http/jsonc — JSON-constrained sampling; see jsonc.h. The recogniser
 * follows the grammar of RFC 8259 section 2-7 byte by byte.
 */
#include "http/jsonc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "http/http_int.h"
#include "sched/sched.h"

enum {
	M_START,      /* before the top-level object */
	M_VALUE,      /* a value must come */
	M_OBJ_FIRST,  /* after '{': key or '}' */
	M_OBJ_KEY,    /* after ',' in an object: key */
	M_COLON,      /* after a key */
	M_AFTER,      /* after a value in a container: ',' or the closer */
	M_ARR_FIRST,  /* after '[': value or ']' */
	M_STRING,
	M_NUMBER,
	M_LITERAL,
	M_DONE,
};

enum { S_PLAIN, S_ESC, S_U1, S_U2, S_U3, S_U4 };
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

static const char *const literals[] = { "true", "false", "null" };

void hrt_jsonc_init(struct hrt_jsonc *j)
{
	memset(j, 0, sizeof(*j));
	j->mode = M_START;
}

bool hrt_jsonc_complete(const struct hrt_jsonc *j)
{
	return j->mode == M_DONE;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void end_value(struct hrt_jsonc *j)
{
	j->mode = j->depth == 0 ? M_DONE : M_AFTER;
}

static bool push(struct hrt_jsonc *j, char c)
{
	if (j->depth >= HRT_JSONC_DEPTH)
		return false;
	j->stack[j->depth++] = c;
	j->mode = c == '{' ? M_OBJ_FIRST : M_ARR_FIRST;
	return true;
}

static bool pop(struct hrt_jsonc *j, char open)
{
	if (j->depth == 0 || j->stack[j->depth - 1] != open)
		return false;
	j->depth--;
	end_value(j);
	return true;
}

/* start of a value at c (mode M_VALUE or M_ARR_FIRST) */
static bool value_start(struct hrt_jsonc *j, unsigned char c)
{
	switch (c) {
	case '{': return push(j, '{');
	case '[': return push(j, '[');
	case '"':
		j->mode = M_STRING;
		j->sub = S_PLAIN;
		j->lit = 0; /* not a key */
		j->utf8_left = 0;
		return true;
	case '-':
		j->mode = M_NUMBER;
		j->sub = N_MINUS;
		return true;
	case 't': case 'f': case 'n':
		j->mode = M_LITERAL;
		j->lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
		j->sub = 1;
		return true;
	default:
		if (c >= '0' && c <= '9') {
			j->mode = M_NUMBER;
			j->sub = c == '0' ? N_ZERO : N_INT;
			return true;
		}
		return false;
	}
}

static bool step(struct hrt_jsonc *j, unsigned char c);

/* a byte inside a number; numbers end at the first byte not theirs */
static bool number(struct hrt_jsonc *j, unsigned char c)
{
	bool digit = c >= '0' && c <= '9';
	switch (j->sub) {
	case N_MINUS:
		if (!digit)
			return false;
		j->sub = c == '0' ? N_ZERO : N_INT;
		return true;
	case N_ZERO:
	case N_INT:
		if (digit && j->sub == N_INT)
			return true;
		if (c == '.') {
			j->sub = N_DOT;
			return true;
		}
		if (c == 'e' || c == 'E') {
			j->sub = N_E;
			return true;
		}
		break;
	case N_DOT:
		if (!digit)
			return false;
		j->sub = N_FRAC;
		return true;
	case N_FRAC:
		if (digit)
			return true;
		if (c == 'e' || c == 'E') {
			j->sub = N_E;
			return true;
		}
		break;
	case N_E:
		if (c == '+' || c == '-') {
			j->sub = N_ESIGN;
			return true;
		}
		if (!digit)
			return false;
		j->sub = N_EXP;
		return true;
	case N_ESIGN:
		if (!digit)
			return false;
		j->sub = N_EXP;
		return true;
	case N_EXP:
		if (digit)
			return true;
		break;
	default:
		return false;
	}
	/* the number is complete; c belongs to what follows */
	end_value(j);
	if (j->mode == M_DONE)
		return false; /* never: the top level is an object */
	return step(j, c);
}

static bool string_byte(struct hrt_jsonc *j, unsigned char c)
{
	if (j->utf8_left) {
		if ((c & 0xc0) != 0x80)
			return false;
		j->utf8_left--;
		return true;
	}
	switch (j->sub) {
	case S_PLAIN:
		if (c == '"') {
			if (j->lit) { /* a key: the colon comes next */
				j->mode = M_COLON;
			} else {
				end_value(j);
			}
			return true;
		}
		if (c == '\\') {
			j->sub = S_ESC;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			if (c >= 0xc2 && c <= 0xdf) j->utf8_left = 1;
			else if (c >= 0xe0 && c <= 0xef) j->utf8_left = 2;
			else if (c >= 0xf0 && c <= 0xf4) j->utf8_left = 3;
			else return false;
		}
		return true;
	case S_ESC:
		if (c == 'u') {
			j->sub = S_U1;
			return true;
		}
		if (!strchr("\"\\/bfnrt", c) || !c)
			return false;
		j->sub = S_PLAIN;
		return true;
	default: /* \u digits */
		if (!is_hex(c))
			return false;
		j->sub = j->sub == S_U4 ? S_PLAIN : (uint8_t)(j->sub + 1);
		return true;
	}
}

static bool step(struct hrt_jsonc *j, unsigned char c)
{
	switch (j->mode) {
	case M_STRING:
		return string_byte(j, c);
	case M_NUMBER:
		return number(j, c);
	case M_LITERAL: {
		const char *l = literals[j->lit];
		if ((unsigned char)l[j->sub] != c)
			return false;
		if (!l[++j->sub])
			end_value(j);
		return true;
	}
	case M_DONE: /* trailing whitespace only */
		return is_ws(c) && ++j->ws <= HRT_JSONC_MAX_WS;
	default:
		break;
	}
	if (is_ws(c)) {
		if (++j->ws > HRT_JSONC_MAX_WS)
			return false;
		return true;
	}
	j->ws = 0;
	switch (j->mode) {
	case M_START:
		return c == '{' && push(j, '{');
	case M_VALUE:
		return value_start(j, c);
	case M_ARR_FIRST:
		if (c == ']')
			return pop(j, '[');
		return value_start(j, c);
	case M_OBJ_FIRST:
		if (c == '}')
			return pop(j, '{');
		/* fall through */
	case M_OBJ_KEY:
		if (c != '"')
			return false;
		j->mode = M_STRING;
		j->sub = S_PLAIN;
		j->lit = 1; /* a key */
		j->utf8_left = 0;
		return true;
	case M_COLON:
		if (c != ':')
			return false;
		j->mode = M_VALUE;
		return true;
	case M_AFTER: {
		char top = j->stack[j->depth - 1];
		if (c == ',') {
			j->mode = top == '{' ? M_OBJ_KEY : M_VALUE;
			return true;
		}
		if (c == '}')
			return pop(j, '{');
		if (c == ']')
			return pop(j, '[');
		return false;
	}
	default:
		return false;
	}
}

bool hrt_jsonc_feed(struct hrt_jsonc *j, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!step(j, (unsigned char)s[i]))
			return false;
	return true;
}

/* The byte that gets j closest to a complete object: close what is open,
 * fill what must be filled with the shortest value. */
static unsigned char cheapest(const struct hrt_jsonc *j)
{
	char top = j->depth ? j->stack[j->depth - 1] : '{';
	switch (j->mode) {
	case M_START: return '{';
	case M_VALUE: return '0';
	case M_ARR_FIRST: return ']';
	case M_OBJ_FIRST: return '}';
	case M_OBJ_KEY: return '"';
	case M_COLON: return ':';
	case M_AFTER: return top == '{' ? '}' : ']';
	case M_LITERAL: return (unsigned char)literals[j->lit][j->sub];
	case M_STRING:
		if (j->utf8_left)
			return 0x80;
		return j->sub == S_PLAIN ? '"' : j->sub == S_ESC ? 'n' : '0';
	case M_NUMBER:
		if (j->sub == N_MINUS || j->sub == N_DOT || j->sub == N_E || j->sub == N_ESIGN)
			return '0';
		return top == '{' ? '}' : ']';
	default:
		return ' ';
	}
}

/* bytes still needed to complete the object (large when it cannot be) */
int hrt_jsonc_close_cost(const struct hrt_jsonc *j0)
{
	struct hrt_jsonc j = *j0;
	int n = 0;
	while (j.mode != M_DONE) {
		if (n > 4 * HRT_JSONC_DEPTH + 16 || !step(&j, cheapest(&j)))
			return 1 << 20;
		n++;
	}
	return n;
}

/* ---------------- token mask ---------------- */

struct hrt_jsonc_state {
	const struct hrt_vocab *v;
	int32_t n_vocab;
	uint32_t *off;      /* (n_vocab + 1) piece offsets into text */
	char *text;
	bool *eog;          /* (n_vocab) */
	bool *ok;           /* (n_vocab) scratch: allowed this step */
	struct hrt_jsonc j;
	bool broken;        /* the output left JSON: only the end is allowed */
	int64_t max_tokens; /* the request's budget; < 0: none */
	int64_t n_tokens;   /* accepted so far */
};

int hrt_jsonc_state_new(struct hrt_jsonc_state **out, const struct hrt_vocab *v,
			struct hrt_err *err)
{
	*out = NULL;
	struct hrt_jsonc_state *st = calloc(1, sizeof(*st));
	if (!st)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	st->v = v;
	st->n_vocab = hrt_vocab_n(v);
	size_t nv = (size_t)st->n_vocab;
	st->off = calloc(nv + 1, sizeof(uint32_t));
	st->eog = calloc(nv ? nv : 1, sizeof(bool));
	st->ok = calloc(nv ? nv : 1, sizeof(bool));
	size_t cap = nv * 8 + 64, len = 0;
	st->text = malloc(cap);
	if (!st->off || !st->eog || !st->ok || !st->text)
		goto out_oom;
	char buf[256];
	for (int32_t t = 0; t < st->n_vocab; t++) {
		st->eog[t] = hrt_vocab_is_eog(v, t);
		int k = hrt_tok_piece(v, t, false, buf, sizeof buf);
		if (k < 0 || (size_t)k > sizeof buf)
			k = 0; /* an over-long piece is never allowed (empty = forbidden) */
		if (len + (size_t)k > cap) {
			cap = (len + (size_t)k) * 2;
			char *nt = realloc(st->text, cap);
			if (!nt)
				goto out_oom;
			st->text = nt;
		}
		memcpy(st->text + len, buf, (size_t)k);
		len += (size_t)k;
		if (len > UINT32_MAX)
			goto out_oom;
		st->off[t + 1] = (uint32_t)len;
	}
	hrt_jsonc_init(&st->j);
	st->max_tokens = -1;
	*out = st;
	return HRT_OK;
out_oom:
	hrt_jsonc_free(st);
	return HRT_ERR(err, HRT_ENOMEM, "no memory");
}

void hrt_jsonc_free(struct hrt_jsonc_state *st)
{
	if (!st)
		return;
	free(st->off);
	free(st->text);
	free(st->eog);
	free(st->ok);
	free(st);
}

void hrt_jsonc_set_budget(struct hrt_jsonc_state *st, int64_t max_tokens)
{
	st->max_tokens = max_tokens;
}

void hrt_jsonc_accept(struct hrt_jsonc_state *st, int32_t t)
{
	st->n_tokens++;
	if (st->broken || t < 0 || t >= st->n_vocab || st->eog[t])
		return;
	if (!hrt_jsonc_feed(&st->j, st->text + st->off[t], st->off[t + 1] - st->off[t]))
		st->broken = true;
}

bool hrt_jsonc_done(const struct hrt_jsonc_state *st)
{
	return !st->broken && hrt_jsonc_complete(&st->j);
}

void hrt_jsonc_mask(struct hrt_jsonc_state *st, float *logits, int32_t n_vocab)
{
	bool done = st->broken || hrt_jsonc_complete(&st->j);
	int32_t nv = HRT_MIN(n_vocab, st->n_vocab);
	/* near the end of the budget, only tokens that bring the end closer */
	int cost = done ? 0 : hrt_jsonc_close_cost(&st->j);
	bool closing = !done && st->max_tokens >= 0 &&
		       st->max_tokens - st->n_tokens <= (int64_t)cost + 2;
	int allowed = 0, ends = 0;
	for (int pass = 0; pass < 2; pass++) {
		allowed = ends = 0;
		for (int32_t t = 0; t < nv; t++) {
			bool ok;
			if (st->eog[t]) {
				ok = done;
				ends++;
			} else if (done) {
				ok = false;
			} else {
				uint32_t a = st->off[t], b = st->off[t + 1];
				struct hrt_jsonc j = st->j;
				ok = b > a && hrt_jsonc_feed(&j, st->text + a, b - a);
				if (ok && closing)
					ok = hrt_jsonc_close_cost(&j) < cost;
			}
			st->ok[t] = ok;
			allowed += ok;
		}
		if (allowed || !closing)
			break;
		closing = false; /* no token closes anything: just stay valid */
	}
	if (!allowed && !ends)
		return; /* nothing fits and nothing can end it: leave it be */
	for (int32_t t = 0; t < nv; t++) {
		if (!allowed) /* nothing fits: let it end */
			st->ok[t] = st->eog[t];
		if (!st->ok[t])
			logits[t] = -INFINITY;
	}
	for (int32_t t = nv; t < n_vocab; t++)
		logits[t] = -INFINITY;
}

static void constrain_hook(void *ctx, float *logits, int32_t n_vocab)
{
	struct hrt_gen *g = ctx;
	hrt_jsonc_mask(g->jc, logits, n_vocab);
}

static void accept_hook(void *ctx, int32_t tok)
{
	struct hrt_gen *g = ctx;
	hrt_jsonc_accept(g->jc, tok);
}

int hrt_jsonc_attach(struct hrt_gen *g, struct hrt_req_params *p,
		     struct hrt_err *err)
{
	int rc = hrt_jsonc_state_new(&g->jc, hrt_llm_vocab(hrt_loaded_llm(g->lm)), err);
	if (rc)
		return rc;
	hrt_jsonc_set_budget(g->jc, g->opts.num_predict);
	p->constrain = constrain_hook;
	p->accept = accept_hook;
	return HRT_OK;
}
