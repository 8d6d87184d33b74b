/*
 * tests/fuzz/fuzz_tok.c — libFuzzer target for the tokenizer (src/tok).
 *
 * Loads one vocabulary once: the GGUF named by HEARTH_FUZZ_VOCAB, else
 * ../shared/vocab/ggml-vocab-gpt-2.gguf, else a tiny BPE vocab built in
 * memory. Each input is encoded without and with special parsing and with
 * special parsing limited to spans taken from the input's first bytes; the
 * ids are decoded whole and through the streaming detokenizer.
 *
 * Checks beyond "no crash, no sanitizer report": every id is in range;
 * decode(encode(x)) == x whenever every byte of x is one the vocab can give
 * back (SPM: after the leading space it adds, when no special token cut the
 * text); the stream is valid UTF-8.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_tok.c
 *        src/tok/[a-z]*.c src/gguf/[a-z]*.c src/core/[a-z]*.c src/kern/types.c
 *        src/kern/quant_ref.c -lm
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "tok/tok.h"
#include "tok/tok_int.h"
#include "tok/unicode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hrt_vocab *V;
static bool byte_ok[256];

static struct hrt_vocab *tiny_vocab(void)
{
	static const char *const toks[] = {
		"a", "b", "c", "ab", "abc", "\xC4\xA0", ("\xC4\xA0" "a"), "1", "12",
		"<|endoftext|>", "<|user|>", "   ", "\xC3\xB5",
	};
	static const int32_t types[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 4, 4 };
	static const char *const merges[] = {
		"a b", "ab c", "\xC4\xA0 a", "1 2",
	};
	struct hrt_gguf_writer *w;
	struct hrt_err err = { 0 };
	struct hrt_gguf *g = NULL;
	struct hrt_vocab *v = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (hrt_gguf_writer_new(&w, &err))
		return NULL;
	hrt_gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
	hrt_gguf_w_str(w, "tokenizer.ggml.pre", "qwen2");
	hrt_gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, NULL,
			   sizeof toks / sizeof toks[0]);
	hrt_gguf_w_arr(w, "tokenizer.ggml.token_type", HRT_GGUF_I32, types,
		       sizeof types / sizeof types[0]);
	hrt_gguf_w_arr_str(w, "tokenizer.ggml.merges", merges, NULL,
			   sizeof merges / sizeof merges[0]);
	if (hrt_gguf_w_to_mem(w, &buf, &len, &err) == HRT_OK &&
	    hrt_gguf_open_mem(&g, buf, len, &err) == HRT_OK) {
		if (hrt_vocab_load(&v, g, &err))
			fprintf(stderr, "fuzz_tok: tiny vocab: %s\n", err.msg);
		hrt_gguf_close(g);
	}
	hrt_gguf_writer_free(w);
	free(buf); /* the vocab copies what it keeps */
	return v;
}

static void init(void)
{
	const char *path = getenv("HEARTH_FUZZ_VOCAB");
	if (!path || !*path)
		path = "../shared/vocab/ggml-vocab-gpt-2.gguf";
	struct hrt_err err = { 0 };
	struct hrt_gguf *g = NULL;
	if (hrt_gguf_open(&g, path, &err) == HRT_OK) {
		if (hrt_vocab_load(&V, g, &err))
			fprintf(stderr, "fuzz_tok: %s: %s\n", path, err.msg);
		hrt_gguf_close(g);
	}
	if (!V)
		V = tiny_vocab();
	if (!V)
		abort();
	/* which bytes come back through encode + decode */
	for (unsigned b = 0; b < 256; b++) {
		char t[8], p[8];
		int32_t id;
		if (hrt_vocab_kind(V) == HRT_TOK_SPM) {
			snprintf(t, sizeof t, "<0x%02X>", b);
			id = hrt_vocab_find(V, t, 6);
		} else {
			size_t k = hrt_utf8_put(hrt_bytemap_cp((uint8_t)b), t);
			id = hrt_vocab_find(V, t, k);
		}
		byte_ok[b] = id >= 0 && hrt_tok_piece(V, id, true, p, sizeof p) == 1 &&
			     (unsigned char)p[0] == b;
	}
}

static void check_stream(const int32_t *ids, size_t n)
{
	struct hrt_detok d;
	hrt_detok_init(&d, (n & 1) != 0);
	size_t cap = HRT_DETOK_CAP(V);
	char *out = malloc(cap);
	if (!out)
		return;
	for (size_t i = 0; i <= n; i++) {
		size_t w = i < n ? hrt_detok_push(&d, V, ids[i], out, cap)
				 : hrt_detok_flush(&d, out, cap);
		if (w > cap)
			abort();
		for (size_t p = 0; p < w;) {
			uint32_t cp;
			p += hrt_utf8_next((const unsigned char *)out + p, w - p, &cp);
			if (cp == HRT_UTF8_BAD)
				abort(); /* the stream must be valid UTF-8 */
		}
	}
	free(out);
}

static void run(const char *text, size_t len, int mode,
		const struct hrt_span *sp, size_t nsp, bool roundtrip)
{
	int32_t *ids = NULL;
	size_t n = 0;
	struct hrt_err err = { 0 };
	int rc = mode == 2 ? hrt_tok_encode_spans(V, text, len, true, sp, nsp,
						  &ids, &n, &err)
			   : hrt_tok_encode(V, text, len, false, mode == 1, &ids,
					    &n, &err);
	if (rc)
		return;
	int32_t nv = hrt_vocab_n(V);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= nv)
			abort();
		/* SPM adds a space after a special token: no exact round trip */
		if (hrt_vocab_kind(V) == HRT_TOK_SPM && (V->attr[ids[i]] & HRT_TA_SPECIAL))
			roundtrip = false;
	}
	char *dec = NULL;
	size_t dl = 0;
	if (hrt_tok_decode(V, ids, n, true, &dec, &dl, &err) == HRT_OK) {
		const char *d = dec;
		if (hrt_vocab_kind(V) == HRT_TOK_SPM && len && dl && d[0] == ' ')
			d++, dl--;
		/* without special parsing, text comes back unless the vocab
		 * cannot represent one of its bytes */
		if (roundtrip && mode == 0 && (dl != len || memcmp(d, text, len)))
			abort();
		free(dec);
	}
	check_stream(ids, n);
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!V)
		init();
	const char *text = (const char *)data;
	bool roundtrip = true;
	for (size_t i = 0; i < size; i++) {
		if (!byte_ok[data[i]])
			roundtrip = false;
		/* SPM: a literal U+2581 is a space by design */
		if (hrt_vocab_kind(V) == HRT_TOK_SPM && i + 2 < size &&
		    memcmp(data + i, "\xE2\x96\x81", 3) == 0)
			roundtrip = false;
	}
	run(text, size, 0, NULL, 0, roundtrip);
	run(text, size, 1, NULL, 0, false);
	/* spans from the first bytes: (offset, length) pairs, kept valid */
	struct hrt_span sp[4];
	size_t nsp = 0, end = 0;
	for (size_t i = 0; i + 1 < size && i < 8 && nsp < 4; i += 2) {
		size_t off = end + data[i] % 16, l = data[i + 1] % 32;
		if (off > size)
			break;
		if (l > size - off)
			l = size - off;
		sp[nsp++] = (struct hrt_span){ off, l };
		end = off + l;
	}
	run(text, size, 2, sp, nsp, false);
	return 0;
}
