/*
 * tests/unit/test_tok.c — the tokenizers against llama.cpp's own test data
 * (../shared/vocab/ggml-vocab-*.gguf with .inp/.out: one RUN per vocab),
 * the golden prompts of the shared models, special-token rules, hostile
 * metadata, invalid UTF-8, pathological inputs and the streaming
 * detokenizer. Tests needing ../shared skip with a message without it.
 */
#include <dirent.h>
#include <stdint.h>

#include "t.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "tok/tok.h"
#include "tok/tok_int.h"
#include "tok/unicode.h"

/* ------------------------------------------------------------ helpers */

struct loaded {
	struct hrt_gguf *g;
	struct hrt_vocab *v;
};

static bool load_path(const char *path, struct loaded *l)
{
	struct hrt_err err = { 0 };
	l->g = NULL;
	l->v = NULL;
	if (hrt_gguf_open(&l->g, path, &err)) {
		t_failf(__FILE__, __LINE__, "open %s: %s", path, err.msg);
		return false;
	}
	if (hrt_vocab_load(&l->v, l->g, &err)) {
		t_failf(__FILE__, __LINE__, "load %s: %s", path, err.msg);
		hrt_gguf_close(l->g);
		l->g = NULL;
		return false;
	}
	hrt_gguf_close(l->g); /* the vocab must not need the file any more */
	l->g = NULL;
	return true;
}

/* a shared file by relative path; false (and SKIP) when absent */
static bool shared_file(const char *rel, char *out, size_t cap)
{
	const char *sh = t_shared();
	if (!sh) {
		t_skip("../shared not found (set HEARTH_SHARED)");
		return false;
	}
	snprintf(out, cap, "%s/%s", sh, rel);
	FILE *f = fopen(out, "rb");
	if (!f) {
		t_skip("%s not found", out);
		return false;
	}
	fclose(f);
	return true;
}

static bool load_shared(const char *rel, struct loaded *l)
{
	char path[4096];
	if (!shared_file(rel, path, sizeof path))
		return false;
	return load_path(path, l);
}

static void unload(struct loaded *l)
{
	hrt_vocab_free(l->v);
	l->v = NULL;
}

static int32_t *enc(const struct hrt_vocab *v, const char *s, size_t n,
		    bool add_special, bool parse_special, size_t *nid)
{
	struct hrt_err err = { 0 };
	int32_t *ids = NULL;
	int rc = hrt_tok_encode(v, s, n, add_special, parse_special, &ids, nid, &err);
	if (rc) {
		t_failf(__FILE__, __LINE__, "encode: %s", err.msg);
		*nid = 0;
	}
	return ids;
}

static void fmt_ids(char *buf, size_t cap, const int32_t *a, size_t n)
{
	size_t k = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && k + 16 < cap; i++)
		k += (size_t)snprintf(buf + k, cap - k, " %d", a[i]);
	if (k + 16 >= cap)
		snprintf(buf + k, cap - k, " ...");
}

static void fmt_text(char *buf, size_t cap, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7F && c != '\\')
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
	}
	buf[k] = 0;
}

static bool ids_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

#define CHECK_IDS(got, ngot, ...) \
	do { \
		const int32_t want_[] = { __VA_ARGS__ }; \
		size_t nw_ = sizeof want_ / sizeof want_[0]; \
		if (!ids_eq(got, ngot, want_, nw_)) { \
			char a_[512], b_[512]; \
			fmt_ids(a_, sizeof a_, want_, nw_); \
			fmt_ids(b_, sizeof b_, got, ngot); \
			t_failf(__FILE__, __LINE__, "want [%s] got [%s]", a_, b_); \
		} \
	} while (0)

/* can the vocab give byte b back through encode + decode? */
static bool byte_ok(const struct hrt_vocab *v, unsigned b)
{
	char t[8], p[8];
	int32_t id;
	if (hrt_vocab_kind(v) == HRT_TOK_SPM) {
		snprintf(t, sizeof t, "<0x%02X>", b);
		id = hrt_vocab_find(v, t, 6);
	} else {
		size_t k = hrt_utf8_put(hrt_bytemap_cp((uint8_t)b), t);
		id = hrt_vocab_find(v, t, k);
	}
	return id >= 0 && hrt_tok_piece(v, id, true, p, sizeof p) == 1 &&
	       (unsigned char)p[0] == b;
}

static bool bytes_ok(const struct hrt_vocab *v, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!byte_ok(v, (unsigned char)s[i]))
			return false;
	return true;
}

/* ------------------------------------------------------- vocab fixtures */

struct cases {
	char *inp, *out;
	char **text;
	size_t *tlen;
	char **ids; /* line of .out */
	size_t n;
};

static void cases_free(struct cases *c)
{
	free(c->inp);
	free(c->out);
	free(c->text);
	free(c->tlen);
	free(c->ids);
}

/* .inp: cases each followed by "\n__ggml_vocab_test__\n"; .out: one line
 * of ids per case */
static bool cases_read(const char *gguf, struct cases *c)
{
	char p[4200];
	size_t ni = 0, no = 0;
	memset(c, 0, sizeof *c);
	snprintf(p, sizeof p, "%s.inp", gguf);
	c->inp = t_slurp(p, &ni);
	snprintf(p, sizeof p, "%s.out", gguf);
	c->out = t_slurp(p, &no);
	if (!c->inp || !c->out)
		return false;
	static const char sep[] = "\n__ggml_vocab_test__\n";
	size_t cap = 16;
	c->text = malloc(cap * sizeof *c->text);
	c->tlen = malloc(cap * sizeof *c->tlen);
	char *s = c->inp, *end = c->inp + ni;
	while (s < end) {
		char *m = NULL;
		for (char *q = s; q + sizeof sep - 1 <= end; q++)
			if (memcmp(q, sep, sizeof sep - 1) == 0) {
				m = q;
				break;
			}
		if (!m)
			break;
		if (c->n == cap) {
			cap *= 2;
			c->text = realloc(c->text, cap * sizeof *c->text);
			c->tlen = realloc(c->tlen, cap * sizeof *c->tlen);
		}
		c->text[c->n] = s;
		c->tlen[c->n] = (size_t)(m - s);
		c->n++;
		s = m + sizeof sep - 1;
	}
	c->ids = calloc(c->n ? c->n : 1, sizeof *c->ids);
	char *line = c->out;
	for (size_t i = 0; i < c->n && line; i++) {
		c->ids[i] = line;
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = 0;
			line = nl + 1;
		} else {
			line = NULL;
		}
	}
	return true;
}

static size_t parse_ids(const char *line, int32_t *out, size_t cap)
{
	size_t n = 0;
	while (line && *line && n < cap) {
		char *e;
		long x = strtol(line, &e, 10);
		if (e == line)
			break;
		out[n++] = (int32_t)x;
		line = e;
	}
	return n;
}

static char cur_vocab[4096];

static void test_vocab_file(void)
{
	struct loaded l;
	struct cases c;
	if (!load_path(cur_vocab, &l))
		return;
	if (!cases_read(cur_vocab, &c) || c.n == 0) {
		t_skip("%s: no .inp/.out cases", cur_vocab);
		cases_free(&c);
		unload(&l);
		return;
	}
	static int32_t want[8192];
	for (size_t i = 0; i < c.n; i++) {
		size_t nw = parse_ids(c.ids[i], want, 8192), ng;
		int32_t *got = enc(l.v, c.text[i], c.tlen[i], false, false, &ng);
		if (!ids_eq(got, ng, want, nw)) {
			char in[256], a[1024], b[1024];
			fmt_text(in, sizeof in, c.text[i], c.tlen[i]);
			fmt_ids(a, sizeof a, want, nw);
			fmt_ids(b, sizeof b, got, ng);
			t_failf(__FILE__, __LINE__, "case %zu \"%s\": want [%s] got [%s]",
				i, in, a, b);
			free(got);
			break;
		}
		free(got);
	}
	cases_free(&c);
	unload(&l);
}

/* decode(encode(s)) == s (SPM: after the added leading space) */
static void test_roundtrip_file(void)
{
	struct loaded l;
	struct cases c;
	if (!load_path(cur_vocab, &l))
		return;
	if (!cases_read(cur_vocab, &c)) {
		t_skip("%s: no .inp", cur_vocab);
		cases_free(&c);
		unload(&l);
		return;
	}
	bool spm = hrt_vocab_kind(l.v) == HRT_TOK_SPM;
	for (size_t i = 0; i < c.n; i++) {
		size_t ng, dl;
		int32_t *ids = enc(l.v, c.text[i], c.tlen[i], false, false, &ng);
		char *dec = NULL;
		struct hrt_err err = { 0 };
		CHECK(hrt_tok_decode(l.v, ids, ng, true, &dec, &dl, &err) == HRT_OK);
		const char *d = dec;
		if (spm && c.tlen[i] && dl && d[0] == ' ') {
			d++;
			dl--;
		}
		if (!dec || dl != c.tlen[i] || memcmp(d, c.text[i], dl) != 0) {
			char in[256], out[256];
			fmt_text(in, sizeof in, c.text[i], c.tlen[i]);
			fmt_text(out, sizeof out, d ? d : "", d ? dl : 0);
			t_failf(__FILE__, __LINE__, "case %zu: \"%s\" came back \"%s\"",
				i, in, out);
		}
		/* the streaming detokenizer gives the same bytes (valid input) */
		struct hrt_detok st;
		hrt_detok_init(&st, true);
		size_t cap = HRT_DETOK_CAP(l.v), k = 0;
		char *buf = malloc(cap), *all = malloc(dl + 4 + (size_t)(d - dec) + 8);
		for (size_t j = 0; j < ng; j++) {
			size_t w = hrt_detok_push(&st, l.v, ids[j], buf, cap);
			memcpy(all + k, buf, w);
			k += w;
		}
		k += hrt_detok_flush(&st, all + k, 8);
		CHECKF(k == dl + (size_t)(d - dec) && memcmp(all, dec, k) == 0,
		       "case %zu: streaming output differs", i);
		free(buf);
		free(all);
		free(dec);
		free(ids);
	}
	cases_free(&c);
	unload(&l);
}

static void no_fixtures(void)
{
	t_skip("no ../shared/vocab/ggml-vocab-*.gguf (set HEARTH_SHARED)");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_vocab_dir(void)
{
	const char *sh = t_shared();
	char dir[4096];
	if (!sh) {
		t_run("vocab_fixtures", no_fixtures);
		return;
	}
	snprintf(dir, sizeof dir, "%s/vocab", sh);
	DIR *d = opendir(dir);
	if (!d) {
		t_run("vocab_fixtures", no_fixtures);
		return;
	}
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 256) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, "ggml-vocab-", 11) == 0 && l > 5 &&
		    strcmp(e->d_name + l - 5, ".gguf") == 0)
			names[n++] = hrt_strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char tn[300];
		snprintf(cur_vocab, sizeof cur_vocab, "%s/%s", dir, names[i]);
		size_t l = strlen(names[i]);
		snprintf(tn, sizeof tn, "vocab_%.*s", (int)(l - 16), names[i] + 11);
		t_run(tn, test_vocab_file);
		snprintf(tn, sizeof tn, "roundtrip_%.*s", (int)(l - 16), names[i] + 11);
		t_run(tn, test_roundtrip_file);
		free(names[i]);
	}
	if (n == 0)
		t_run("vocab_fixtures", no_fixtures);
}

/* ------------------------------------------------------- shared models */

static void test_stories260k(void)
{
	struct loaded l;
	if (!load_shared("models/stories260K.gguf", &l))
		return;
	CHECK(hrt_vocab_kind(l.v) == HRT_TOK_SPM);
	CHECK(hrt_vocab_add_bos(l.v));
	CHECK(hrt_vocab_bos(l.v) == 1 && hrt_vocab_eos(l.v) == 2);
	CHECK(hrt_vocab_pad(l.v) == -1 && hrt_vocab_sep(l.v) == -1);
	CHECK(hrt_vocab_is_eog(l.v, 2));
	size_t n;
	int32_t *ids = enc(l.v, "Once upon a time", 16, true, false, &n);
	CHECK_IDS(ids, n, 1, 403, 407, 261, 378);
	free(ids);
	const char *park = "Lily and Ben went to the park. They saw a big dog.";
	ids = enc(l.v, park, strlen(park), true, false, &n);
	CHECK_IDS(ids, n, 1, 317, 269, 368, 302, 263, 377, 267, 265, 282, 295,
		  433, 426, 342, 394, 261, 370, 400, 428, 426);
	free(ids);
	unload(&l);
}

static void test_granite(void)
{
	struct loaded l;
	if (!load_shared("models/syn-granite-256-F16.gguf", &l))
		return;
	CHECK(hrt_vocab_kind(l.v) == HRT_TOK_BPE);
	CHECK(strcmp(hrt_vocab_pre(l.v), "refact") == 0);
	CHECK(!hrt_vocab_add_bos(l.v)); /* BPE default; no add_bos_token key */
	const char *fib = "int fibonacci(int n) {\n    if (n < 2) return n;";
	size_t n;
	int32_t *ids = enc(l.v, fib, strlen(fib), true, false, &n);
	CHECK_IDS(ids, n, 410, 28176, 34682, 26, 410, 310, 27, 301, 284, 415,
		  308, 96, 333, 225, 36, 27, 442, 310, 45);
	free(ids);
	/* granite/starcoder FIM tokens, found by their underscore text */
	CHECK(hrt_vocab_fim(l.v, HRT_FIM_PRE) == 1);
	CHECK(hrt_vocab_fim(l.v, HRT_FIM_MID) == 2);
	CHECK(hrt_vocab_fim(l.v, HRT_FIM_SUF) == 3);
	CHECK(hrt_vocab_fim(l.v, HRT_FIM_PAD) == 4);
	CHECK(hrt_vocab_fim(l.v, HRT_FIM_REP) == 18); /* <reponame> */
	CHECK(hrt_vocab_is_eog(l.v, 0) && hrt_vocab_is_eog(l.v, 4) &&
	      hrt_vocab_is_eog(l.v, 18));
	CHECK(!hrt_vocab_is_eog(l.v, 1));
	CHECK(hrt_vocab_eot(l.v) == 0); /* <|endoftext|> */
	unload(&l);
}

/* ------------------------------------------------------ special tokens */

static void test_special_gpt2(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-gpt-2.gguf", &l))
		return;
	const struct hrt_vocab *v = l.v;
	const char *s = "<|endoftext|>";
	size_t n;
	int32_t *ids = enc(v, s, strlen(s), false, false, &n);
	CHECK(n > 1);
	for (size_t i = 0; i < n; i++)
		CHECK(ids[i] != 50256);
	free(ids);
	ids = enc(v, s, strlen(s), false, true, &n);
	CHECK_IDS(ids, n, 50256);
	free(ids);
	CHECK(hrt_vocab_is_control(v, 50256) && hrt_vocab_is_eog(v, 50256));
	CHECK(!hrt_vocab_add_bos(v));
	CHECK(hrt_vocab_find(v, s, strlen(s)) == 50256);

	/* permission only inside the given spans */
	const char *t = "a<|endoftext|>b<|endoftext|>";
	struct hrt_span sp[] = { { 1, 13 } };
	struct hrt_err err = { 0 };
	size_t m;
	int32_t *a = NULL;
	CHECK(hrt_tok_encode_spans(v, t, strlen(t), false, sp, 1, &a, &m, &err) == HRT_OK);
	size_t hits = 0;
	for (size_t i = 0; i < m; i++)
		hits += a[i] == 50256;
	CHECK(hits == 1 && m > 2 && a[1] == 50256);
	free(a);
	/* a span that holds only part of the token does not count */
	struct hrt_span part[] = { { 1, 12 }, { 15, 3 } };
	CHECK(hrt_tok_encode_spans(v, t, strlen(t), false, part, 2, &a, &m, &err) == HRT_OK);
	for (size_t i = 0; i < m; i++)
		CHECK(a[i] != 50256);
	free(a);
	/* spans covering everything == parse_special */
	struct hrt_span all[] = { { 0, strlen(t) } };
	CHECK(hrt_tok_encode_spans(v, t, strlen(t), false, all, 1, &a, &m, &err) == HRT_OK);
	ids = enc(v, t, strlen(t), false, true, &n);
	CHECK(ids_eq(a, m, ids, n));
	free(a);
	free(ids);
	/* bad span lists are refused */
	struct hrt_span bad[] = { { 5, 3 }, { 4, 1 } };
	CHECK(hrt_tok_encode_spans(v, t, strlen(t), false, bad, 2, &a, &m, &err) == HRT_EINVAL);
	struct hrt_span out_of[] = { { 20, 100 } };
	CHECK(hrt_tok_encode_spans(v, t, strlen(t), false, out_of, 1, &a, &m, &err) == HRT_EINVAL);

	/* pieces: control renders only on request; snprintf-like size */
	char buf[32];
	CHECK(hrt_tok_piece(v, 50256, false, buf, sizeof buf) == 0);
	CHECK(hrt_tok_piece(v, 50256, true, buf, sizeof buf) == 13);
	CHECK(memcmp(buf, s, 13) == 0);
	CHECK(hrt_tok_piece(v, 50256, true, buf, 4) == 13);
	CHECK(hrt_tok_piece(v, 220, false, buf, sizeof buf) == 1 && buf[0] == ' ');
	CHECK(hrt_tok_piece(v, -1, true, buf, sizeof buf) < 0);
	CHECK(hrt_tok_piece(v, 50257, true, buf, sizeof buf) < 0);
	unload(&l);
}

/* user-defined tokens are matched even without parse_special */
static void test_special_user_defined(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-mpt.gguf", &l))
		return;
	size_t n;
	int32_t *ids = enc(l.v, "a   b", 5, false, false, &n);
	/* the three spaces are user-defined token 50275 */
	CHECK_IDS(ids, n, 66, 50275, 67);
	free(ids);
	unload(&l);

	if (!load_shared("vocab/ggml-vocab-deepseek-coder.gguf", &l))
		return;
	const struct hrt_vocab *v = l.v;
	/* "õ" is user-defined (32000): split out always */
	ids = enc(v, "\xC3\xB5", 2, false, false, &n);
	CHECK_IDS(ids, n, 32000);
	free(ids);
	/* <｜fim▁begin｜> is user-defined in the file, but the peer makes the
	 * FIM tokens it finds by text control: plain text without permission */
	const char *fb = "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>";
	CHECK(hrt_vocab_fim(v, HRT_FIM_PRE) == 32016);
	CHECK(hrt_vocab_fim(v, HRT_FIM_SUF) == 32015);
	CHECK(hrt_vocab_fim(v, HRT_FIM_MID) == 32017);
	CHECK(hrt_vocab_is_control(v, 32016));
	ids = enc(v, fb, strlen(fb), false, false, &n);
	CHECK(n > 1);
	free(ids);
	ids = enc(v, fb, strlen(fb), false, true, &n);
	CHECK_IDS(ids, n, 32016);
	free(ids);
	CHECK(hrt_vocab_add_bos(v) && hrt_vocab_bos(v) == 32013);
	ids = enc(v, "x", 1, true, false, &n);
	CHECK(n == 2 && ids[0] == 32013);
	free(ids);
	unload(&l);
}

/* phi-3: every special token strips the whitespace to its right */
static void test_special_phi3(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-phi-3.gguf", &l))
		return;
	const struct hrt_vocab *v = l.v;
	CHECK(hrt_vocab_kind(v) == HRT_TOK_SPM);
	CHECK(hrt_vocab_eos(v) == 32000);
	CHECK(hrt_vocab_is_eog(v, 32007));       /* <|end|> */
	CHECK(hrt_vocab_eot(v) == 32007);
	CHECK(hrt_vocab_is_control(v, 2));       /* </s>: user-defined + EOG */
	size_t n1, n2;
	int32_t *a = enc(v, "<|user|>  hi", 12, false, true, &n1);
	int32_t *b = enc(v, "<|user|>hi", 10, false, true, &n2);
	CHECK(n1 >= 2 && a[0] == 32010);
	CHECK(ids_eq(a, n1, b, n2));
	free(a);
	free(b);
	/* without permission, the text stays text */
	a = enc(v, "<|user|>", 8, false, false, &n1);
	CHECK(n1 > 1);
	for (size_t i = 0; i < n1; i++)
		CHECK(a[i] != 32010);
	free(a);
	unload(&l);
}

/* ---------------------------------------------------- hostile metadata */

struct wtok {
	const char *model, *pre;
	const char *const *toks;
	size_t n;
	const int32_t *types;
	size_t ntypes;
	const float *scores;
	size_t nscores;
	const char *const *merges;
	size_t nmerges;
	int64_t bos; /* -2: key absent */
};

static int build_mem(const struct wtok *w, uint8_t **buf, size_t *len)
{
	struct hrt_gguf_writer *wr;
	struct hrt_err err = { 0 };
	if (hrt_gguf_writer_new(&wr, &err))
		return -1;
	if (w->model)
		hrt_gguf_w_str(wr, "tokenizer.ggml.model", w->model);
	if (w->pre)
		hrt_gguf_w_str(wr, "tokenizer.ggml.pre", w->pre);
	if (w->toks)
		hrt_gguf_w_arr_str(wr, "tokenizer.ggml.tokens", w->toks, NULL, w->n);
	if (w->types)
		hrt_gguf_w_arr(wr, "tokenizer.ggml.token_type", HRT_GGUF_I32,
			       w->types, w->ntypes);
	if (w->scores)
		hrt_gguf_w_arr(wr, "tokenizer.ggml.scores", HRT_GGUF_F32,
			       w->scores, w->nscores);
	if (w->merges)
		hrt_gguf_w_arr_str(wr, "tokenizer.ggml.merges", w->merges, NULL,
				   w->nmerges);
	if (w->bos != -2)
		hrt_gguf_w_u32(wr, "tokenizer.ggml.bos_token_id", (uint32_t)w->bos);
	int rc = hrt_gguf_w_to_mem(wr, buf, len, &err);
	hrt_gguf_writer_free(wr);
	return rc;
}

/* load status of w; msg gets the error text */
static int try_load(const struct wtok *w, char *msg, size_t cap,
		    struct hrt_vocab **keep)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (build_mem(w, &buf, &len)) {
		snprintf(msg, cap, "writer failed");
		return -1;
	}
	struct hrt_gguf *g = NULL;
	struct hrt_err err = { 0 };
	int rc = hrt_gguf_open_mem(&g, buf, len, &err);
	if (rc == HRT_OK) {
		struct hrt_vocab *v = NULL;
		rc = hrt_vocab_load(&v, g, &err);
		if (keep && rc == HRT_OK)
			*keep = v;
		else
			hrt_vocab_free(v);
		hrt_gguf_close(g);
	}
	snprintf(msg, cap, "%s", err.msg);
	free(buf);
	return rc;
}

static const char *const tiny_toks[] = { "<unk>", "<s>", "</s>", "a", "b", "ab" };
static const int32_t tiny_types[] = { 2, 3, 3, 1, 1, 1 };
static const float tiny_scores[] = { 0, 0, 0, -1, -2, -0.5f };

static void test_hostile_metadata(void)
{
	char msg[512];
	struct wtok ok = { "llama", NULL, tiny_toks, 6, tiny_types, 6,
			   tiny_scores, 6, NULL, 0, -2 };
	struct hrt_vocab *v = NULL;
	CHECKF(try_load(&ok, msg, sizeof msg, &v) == HRT_OK, "%s", msg);
	if (v) {
		size_t n;
		int32_t *ids = enc(v, "ab", 2, true, false, &n);
		/* "▁ab": no ▁ token and no byte tokens -> one <unk>, then "ab" */
		CHECK_IDS(ids, n, 1, 0, 5);
		free(ids);
		hrt_vocab_free(v);
	}

	struct wtok w = ok;
	w.nscores = 5;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.scores"));
	w = ok;
	w.ntypes = 7;
	static const int32_t types7[] = { 2, 3, 3, 1, 1, 1, 1 };
	w.types = types7;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.token_type"));
	w = ok;
	w.bos = 6;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "bos_token_id"));
	w.bos = 0xFFFFFFFF; /* "none": keeps the default, like the peer */
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_OK);
	w = ok;
	w.n = 0;
	w.ntypes = w.nscores = 0;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.tokens"));
	w = ok;
	w.toks = NULL;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.tokens"));
	w = ok;
	w.model = "bert";
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_ENOTSUP &&
	      strstr(msg, "bert"));
	w = ok;
	w.model = NULL;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.model"));
	static const char *const dup[] = { "<unk>", "<s>", "</s>", "a", "b", "a" };
	w = ok;
	w.toks = dup;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "duplicate"));

	/* BPE */
	static const char *const btoks[] = { "a", "b", "ab", "\xC4\xA0", "<|endoftext|>" };
	static const char *const bmerges[] = { "a b" };
	static const char *const badmerges[] = { "a b", "ab" };
	struct wtok b = { "gpt2", "gpt-2", btoks, 5, NULL, 0, NULL, 0,
			  bmerges, 1, -2 };
	v = NULL;
	CHECKF(try_load(&b, msg, sizeof msg, &v) == HRT_OK, "%s", msg);
	if (v) {
		size_t n;
		int32_t *ids = enc(v, "ab a", 4, true, false, &n);
		/* no BOS (BPE default); " a" has no merge: Ġ then a */
		CHECK_IDS(ids, n, 2, 3, 0);
		free(ids);
		CHECK(hrt_vocab_eot(v) == 4 && hrt_vocab_is_eog(v, 4));
		CHECK(hrt_vocab_bos(v) == -1 && hrt_vocab_eos(v) == -1);
		hrt_vocab_free(v);
	}
	w = b;
	w.merges = badmerges;
	w.nmerges = 2;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.merges"));
	w = b;
	w.merges = NULL;
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "tokenizer.ggml.merges"));
	w = b;
	w.pre = "no-such-pre";
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_ENOTSUP &&
	      strstr(msg, "no-such-pre"));
	w = b;
	w.pre = "llama-bpe"; /* sets add_bos, but the vocab has no BOS id */
	CHECK(try_load(&w, msg, sizeof msg, NULL) == HRT_EFORMAT &&
	      strstr(msg, "add_bos"));

	/* truncated files never crash */
	uint8_t *buf = NULL;
	size_t len = 0;
	if (build_mem(&b, &buf, &len) == 0) {
		for (size_t cut = 0; cut < len; cut += 7) {
			struct hrt_gguf *g = NULL;
			struct hrt_err err = { 0 };
			uint8_t *c = malloc(cut ? cut : 1);
			memcpy(c, buf, cut);
			if (hrt_gguf_open_mem(&g, c, cut, &err) == HRT_OK) {
				struct hrt_vocab *vv = NULL;
				if (hrt_vocab_load(&vv, g, &err) == HRT_OK)
					hrt_vocab_free(vv);
				hrt_gguf_close(g);
			}
			free(c);
		}
	}
	free(buf);
}

/* ---------------------------------------------------------- robustness */

static const struct {
	const char *s;
	size_t n;
} bad_utf8[] = {
	{ "\x80", 1 },                       /* lone continuation */
	{ "a\xBF" "b", 3 },
	{ "\xE2\x82", 2 },                   /* truncated */
	{ "x\xE2\x82" "y", 4 },
	{ "\xF0\x9F\xA6", 3 },
	{ "\xC0\x80", 2 },                   /* overlong NUL */
	{ "\xE0\x80\xAF", 3 },               /* overlong '/' */
	{ "\xED\xA0\x80", 3 },               /* surrogate */
	{ "\xF4\x90\x80\x80", 4 },           /* > U+10FFFF */
	{ "\xFF\xFE\xFD", 3 },
	{ "ok \xFF ok", 7 },
	{ " \xC3", 2 },
	{ "\xC3 \xA9", 3 },
	{ "12\xE4\xB8" "34", 6 },
};

static void check_invalid(const char *rel)
{
	struct loaded l;
	if (!load_shared(rel, &l))
		return;
	bool spm = hrt_vocab_kind(l.v) == HRT_TOK_SPM;
	for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
		for (int ps = 0; ps < 2; ps++) {
			size_t n, dl;
			int32_t *ids = enc(l.v, bad_utf8[i].s, bad_utf8[i].n, true,
					   ps, &n);
			char *dec = NULL;
			struct hrt_err err = { 0 };
			CHECK(hrt_tok_decode(l.v, ids, n, false, &dec, &dl, &err) == HRT_OK);
			const char *d = dec;
			if (spm && dl && d[0] == ' ') {
				d++;
				dl--;
			}
			bool ok = bytes_ok(l.v, bad_utf8[i].s, bad_utf8[i].n);
			if (ok && (!dec || dl != bad_utf8[i].n ||
				   memcmp(d, bad_utf8[i].s, dl))) {
				char a[64], b[64];
				fmt_text(a, sizeof a, bad_utf8[i].s, bad_utf8[i].n);
				fmt_text(b, sizeof b, d ? d : "", d ? dl : 0);
				t_failf(__FILE__, __LINE__, "%s: \"%s\" came back \"%s\"",
					rel, a, b);
			}
			/* the stream is valid UTF-8 */
			struct hrt_detok st;
			hrt_detok_init(&st, false);
			size_t cap = HRT_DETOK_CAP(l.v);
			char *buf = malloc(cap);
			for (size_t j = 0; j < n; j++) {
				size_t w = hrt_detok_push(&st, l.v, ids[j], buf, cap);
				for (size_t p = 0; p < w;) {
					uint32_t cp;
					p += hrt_utf8_next((unsigned char *)buf + p, w - p, &cp);
					CHECK(cp != HRT_UTF8_BAD);
				}
			}
			CHECK(hrt_detok_flush(&st, buf, 8) <= 3);
			free(buf);
			free(dec);
			free(ids);
		}
	}
	unload(&l);
}

static void test_invalid_utf8_gpt2(void) { check_invalid("vocab/ggml-vocab-gpt-2.gguf"); }
static void test_invalid_utf8_spm(void) { check_invalid("vocab/ggml-vocab-llama-spm.gguf"); }
static void test_invalid_utf8_dsllm(void) { check_invalid("vocab/ggml-vocab-deepseek-llm.gguf"); }
static void test_invalid_utf8_dscoder(void) { check_invalid("vocab/ggml-vocab-deepseek-coder.gguf"); }

static void test_input_cap(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-gpt-2.gguf", &l))
		return;
	char small[4] = "abc";
	int32_t *ids = NULL;
	size_t n = 0;
	struct hrt_err err = { 0 };
	/* the length is checked before the text is read */
	CHECK(hrt_tok_encode(l.v, small, HRT_TOK_MAX_INPUT + 1, false, false,
			     &ids, &n, &err) == HRT_ERANGE);
	CHECK(ids == NULL && n == 0);
	CHECK(hrt_tok_encode(l.v, "", 0, false, true, &ids, &n, &err) == HRT_OK);
	CHECK(n == 0);
	free(ids);
	unload(&l);
}

/* 1 MiB of one pathological pattern per tokenizer: must finish (no time
 * assertion; the '#' lines give the timings) and round-trip */
static void patho(const char *rel)
{
	struct loaded l;
	if (!load_shared(rel, &l))
		return;
	size_t n = (size_t)1 << 20;
	char *s = malloc(n);
	const char *what[] = { "spaces", "digits", "letter", "random", "newlines",
			       "special" };
	uint64_t x = 88172645463325252ull;
	bool ok[256];
	for (unsigned b = 0; b < 256; b++)
		ok[b] = byte_ok(l.v, b);
	for (int k = 0; k < 6; k++) {
		for (size_t i = 0; i < n; i++) {
			switch (k) {
			case 0: s[i] = ' '; break;
			case 1: s[i] = (char)('0' + i % 10); break;
			case 2: s[i] = 'a'; break;
			case 3: /* random bytes the vocab can represent */
				do {
					x ^= x << 13, x ^= x >> 7, x ^= x << 17;
					s[i] = (char)(x >> 24);
				} while (!ok[(unsigned char)s[i]]);
				break;
			case 4: s[i] = (i % 3) ? '\n' : ' '; break;
			default: s[i] = "<|endoftext|>"[i % 13]; break;
			}
		}
		for (int ps = 0; ps < (k == 5 ? 2 : 1); ps++) {
			uint64_t t0 = hrt_now_ns();
			size_t m, dl;
			int32_t *ids = enc(l.v, s, n, false, ps, &m);
			double ms = (double)(hrt_now_ns() - t0) / 1e6;
			printf("# %s %s parse=%d: %zu tokens in %.1f ms\n", rel,
			       what[k], ps, m, ms);
			char *dec = NULL;
			struct hrt_err err = { 0 };
			CHECK(hrt_tok_decode(l.v, ids, m, true, &dec, &dl, &err) == HRT_OK);
			const char *d = dec;
			if (hrt_vocab_kind(l.v) == HRT_TOK_SPM && dl && d[0] == ' ')
				d++, dl--;
			if (k < 5 || !ps) /* parse=1 only changes the special case */
				CHECKF(dec && dl == n && memcmp(d, s, n) == 0,
				       "%s: %s did not round-trip", rel, what[k]);
			free(dec);
			free(ids);
		}
	}
	free(s);
	unload(&l);
}

static void test_patho_spm(void) { patho("vocab/ggml-vocab-llama-spm.gguf"); }
static void test_patho_gpt2(void) { patho("vocab/ggml-vocab-gpt-2.gguf"); }
static void test_patho_mpt(void) { patho("vocab/ggml-vocab-mpt.gguf"); }
static void test_patho_dsllm(void) { patho("vocab/ggml-vocab-deepseek-llm.gguf"); }

/* ------------------------------------------------------------ streaming */

static void test_detok_stream(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-llama-spm.gguf", &l))
		return;
	const struct hrt_vocab *v = l.v;
	/* four byte tokens of U+1F999 */
	int32_t b[4];
	const unsigned char llama[4] = { 0xF0, 0x9F, 0xA6, 0x99 };
	for (int i = 0; i < 4; i++) {
		char t[8];
		snprintf(t, sizeof t, "<0x%02X>", llama[i]);
		b[i] = hrt_vocab_find(v, t, 6);
		CHECK(b[i] >= 0);
	}
	size_t cap = HRT_DETOK_CAP(v);
	char *out = malloc(cap);
	struct hrt_detok d;
	hrt_detok_init(&d, false);
	CHECK(hrt_detok_push(&d, v, b[0], out, cap) == 0);
	CHECK(hrt_detok_push(&d, v, b[1], out, cap) == 0);
	CHECK(hrt_detok_push(&d, v, b[2], out, cap) == 0);
	CHECK(hrt_detok_push(&d, v, b[3], out, cap) == 4 &&
	      memcmp(out, llama, 4) == 0);
	CHECK(hrt_detok_flush(&d, out, cap) == 0);
	/* cut short: the flush gives one U+FFFD */
	hrt_detok_init(&d, false);
	CHECK(hrt_detok_push(&d, v, b[0], out, cap) == 0);
	CHECK(hrt_detok_push(&d, v, b[1], out, cap) == 0);
	CHECK(hrt_detok_flush(&d, out, cap) == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0);
	/* an interrupted character: U+FFFD, then the next one whole */
	hrt_detok_init(&d, false);
	CHECK(hrt_detok_push(&d, v, b[0], out, cap) == 0);
	int32_t a = hrt_vocab_find(v, "<0x41>", 6);
	CHECK(hrt_detok_push(&d, v, a, out, cap) == 4 &&
	      memcmp(out, "\xEF\xBF\xBD" "A", 4) == 0);
	/* a lone continuation byte */
	int32_t c = hrt_vocab_find(v, "<0x80>", 6);
	CHECK(hrt_detok_push(&d, v, c, out, cap) == 3);
	/* control tokens: hidden unless asked */
	CHECK(hrt_detok_push(&d, v, 2, out, cap) == 0);
	hrt_detok_init(&d, true);
	CHECK(hrt_detok_push(&d, v, 2, out, cap) == 4 && memcmp(out, "</s>", 4) == 0);
	/* too little room: cut at a character boundary, never mid-character */
	hrt_detok_init(&d, false);
	int32_t w = hrt_vocab_find(v, "\xE2\x96\x81hello", 8);
	if (w >= 0)
		CHECK(hrt_detok_push(&d, v, w, out, 3) == 3 && memcmp(out, " he", 3) == 0);
	free(out);
	unload(&l);
}

static void test_detok_stream_bpe(void)
{
	struct loaded l;
	if (!load_shared("vocab/ggml-vocab-gpt-2.gguf", &l))
		return;
	/* 🦙 in gpt-2 is several byte-level tokens; whole only at the end */
	const char *s = "x \xF0\x9F\xA6\x99 y";
	size_t n;
	int32_t *ids = enc(l.v, s, strlen(s), false, false, &n);
	CHECK(n >= 4);
	struct hrt_detok d;
	hrt_detok_init(&d, false);
	size_t cap = HRT_DETOK_CAP(l.v);
	char *out = malloc(cap), all[64];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = hrt_detok_push(&d, l.v, ids[i], out, cap);
		for (size_t p = 0; p < w;) {
			uint32_t cp;
			p += hrt_utf8_next((unsigned char *)out + p, w - p, &cp);
			CHECK(cp != HRT_UTF8_BAD);
		}
		memcpy(all + k, out, w);
		k += w;
	}
	k += hrt_detok_flush(&d, all + k, 8);
	CHECK(k == strlen(s) && memcmp(all, s, k) == 0);
	free(out);
	free(ids);
	unload(&l);
}

/* ------------------------------------------------------------- unicode */

static void test_unicode(void)
{
	CHECK(hrt_ucd_flags('a') & HRT_UCD_LETTER);
	CHECK(hrt_ucd_flags('7') & HRT_UCD_NUMBER);
	CHECK(hrt_ucd_flags('~') & HRT_UCD_SYMBOL);
	CHECK(hrt_ucd_flags(' ') & HRT_UCD_SPACE);
	CHECK(hrt_ucd_flags(0x3000) & HRT_UCD_SPACE);
	CHECK(hrt_ucd_flags(0x85) & HRT_UCD_SPACE);
	CHECK(!(hrt_ucd_flags(0x1C) & HRT_UCD_SPACE)); /* not White_Space */
	CHECK(hrt_ucd_flags(0x4E00) & HRT_UCD_LETTER);
	CHECK(hrt_ucd_flags(0x0301) & HRT_UCD_MARK);
	CHECK(hrt_ucd_flags(0xFFFD) & HRT_UCD_SYMBOL);
	CHECK(hrt_ucd_flags(0x0378) == HRT_UCD_UNDEF);
	CHECK(hrt_ucd_flags(0x110000) == HRT_UCD_UNDEF);
	CHECK(hrt_ucd_flags(0xE000) & HRT_UCD_CONTROL); /* private use */
	for (int b = 0; b < 256; b++)
		CHECK(hrt_bytemap_byte(hrt_bytemap_cp((uint8_t)b)) == b);
	CHECK(hrt_bytemap_cp(' ') == 0x120 && hrt_bytemap_cp('\n') == 0x10A);
	CHECK(hrt_bytemap_cp(0xAD) == 0x143);
	uint32_t cp;
	CHECK(hrt_utf8_next((const unsigned char *)"\xC3\xA9", 2, &cp) == 2 && cp == 0xE9);
	CHECK(hrt_utf8_next((const unsigned char *)"\xC3", 1, &cp) == 1 && cp == HRT_UTF8_BAD);
	CHECK(hrt_utf8_next((const unsigned char *)"\xED\xA0\x80", 3, &cp) == 1 &&
	      cp == HRT_UTF8_BAD);
	CHECK(hrt_utf8_next((const unsigned char *)"\xF4\x8F\xBF\xBF", 4, &cp) == 4 &&
	      cp == 0x10FFFF);
}

int main(void)
{
	RUN(test_unicode);
	run_vocab_dir();
	RUN(test_stories260k);
	RUN(test_granite);
	RUN(test_special_gpt2);
	RUN(test_special_user_defined);
	RUN(test_special_phi3);
	RUN(test_hostile_metadata);
	RUN(test_invalid_utf8_gpt2);
	RUN(test_invalid_utf8_spm);
	RUN(test_invalid_utf8_dsllm);
	RUN(test_invalid_utf8_dscoder);
	RUN(test_input_cap);
	RUN(test_detok_stream);
	RUN(test_detok_stream_bpe);
	RUN(test_patho_spm);
	RUN(test_patho_gpt2);
	RUN(test_patho_mpt);
	RUN(test_patho_dsllm);
	return t_done();
}
