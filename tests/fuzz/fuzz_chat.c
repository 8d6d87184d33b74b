/*
 * tests/fuzz/fuzz_chat — libFuzzer target for tok/chat.
 *
 * Input layout (all optional; short input means fewer parts):
 *   byte 0      flags: bit0 add_generation_prompt, bit1 the first two
 *               messages' contents are BOS/EOS text instead of messages
 *   byte 1      a family to render in besides the detected one
 *   bytes 2-3   template length L (little endian), then L template bytes
 *               (NULs allowed: detection reads exactly L bytes)
 *   the rest    messages separated by NUL bytes: first byte picks the role
 *               (system, user, assistant, tool, "System", or the message's
 *               own bytes as role), the others are the content
 *
 * Checks: detection returns a family; rendering fails only with EINVAL and
 * only for a bad role; spans are sorted, merged, in range; and an exact
 * differential oracle: rendering again with each content replaced by a
 * one-byte marker (or "" for an empty one) must give the same template
 * bytes in the same places, so the first rendering is predicted byte for
 * byte and span for span. That proves no message byte lies in a span and no
 * template byte outside one.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -std=c11 -Isrc
 *        tests/fuzz/fuzz_chat.c src/tok/chat.c src/core/err.c
 * Without libFuzzer: add -DHRT_FUZZ_STANDALONE and pass input files.
 */
#include "tok/chat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSGS 26 /* one marker letter each */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_chat: %s\n", what);
	abort();
}

static void check_spans(const struct hrt_chat_out *o)
{
	if (!o->text || o->text[o->len] != 0 || strlen(o->text) != o->len)
		fail("text not a C string of len bytes");
	if (o->n_tmpl && !o->tmpl)
		fail("spans missing");
	size_t end = 0;
	for (size_t i = 0; i < o->n_tmpl; i++) {
		const struct hrt_span *s = &o->tmpl[i];
		if (s->len == 0 || s->off > o->len || s->len > o->len - s->off)
			fail("span out of range or empty");
		if (i && s->off <= end)
			fail("spans overlap, touch or are unsorted");
		end = s->off + s->len;
	}
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
		c == '\r';
}

/* is byte p inside a span? (spans sorted; linear is fine at fuzz sizes) */
static bool in_span(const struct hrt_chat_out *o, size_t p)
{
	for (size_t i = 0; i < o->n_tmpl; i++)
		if (p >= o->tmpl[i].off && p < o->tmpl[i].off + o->tmpl[i].len)
			return true;
	return false;
}

static void one_family(enum hrt_chat_family f, const struct hrt_chat_msg *m,
		const struct hrt_chat_msg *mark, size_t n, bool gen,
		const char *bos, const char *eos, bool roles_ok)
{
	struct hrt_chat_out o, k;
	struct hrt_err err;
	int rc = hrt_chat_render(f, m, n, gen, bos, eos, &o, &err);
	if (!roles_ok) {
		if (rc != HRT_EINVAL || o.text)
			fail("bad role not refused");
		return;
	}
	if (rc != HRT_OK)
		fail(err.msg);
	check_spans(&o);
	if (hrt_chat_render(f, mark, n, gen, bos, eos, &k, &err) != HRT_OK)
		fail("marker rendering failed");
	check_spans(&k);

	/* predict o from k: template bytes copied, each marker replaced by
	 * the content of the message it stands for */
	size_t pos = 0;
	for (size_t i = 0; i < k.len; i++) {
		if (in_span(&k, i)) {
			if (pos >= o.len || o.text[pos] != k.text[i] ||
					!in_span(&o, pos))
				fail("template bytes differ or lost their span");
			pos++;
			continue;
		}
		unsigned idx = (unsigned char)k.text[i] - 'A';
		if (idx >= n)
			fail("unexpected byte outside the spans");
		const char *c = m[idx].content;
		size_t cl = strlen(c);
		if (cl > o.len - pos || memcmp(o.text + pos, c, cl) != 0)
			fail("message content not where predicted");
		for (size_t j = 0; j < cl; j++)
			if (in_span(&o, pos + j))
				fail("message content inside a span");
		pos += cl;
	}
	if (pos != o.len)
		fail("rendering longer than predicted");
	/* same number of spans: adjacency is the same in both */
	if (o.n_tmpl != k.n_tmpl)
		fail("span count differs from the marker rendering");
	hrt_chat_out_free(&o);
	hrt_chat_out_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	uint8_t flags = size > 0 ? data[0] : 0;
	uint8_t pick = size > 1 ? data[1] : 0;
	size_t tl = size > 3 ? (size_t)data[2] | (size_t)data[3] << 8 : 0;
	size_t at = size > 3 ? 4 : size;
	if (tl > size - at)
		tl = size - at;
	const char *tmpl = (const char *)data + at;
	at += tl;

	enum hrt_chat_family det = hrt_chat_detect(tmpl, tl);
	if ((unsigned)det >= HRT_CHAT_FAMILY_COUNT)
		fail("detect out of range");
	if (hrt_chat_detect(NULL, tl) != HRT_CHAT_RAW)
		fail("NULL template not raw");

	/* split the rest on NUL; copy so each piece is a C string */
	size_t rest = size - at;
	char *buf = malloc(rest + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + at, rest);
	buf[rest] = 0;
	char *piece[MAX_MSGS + 2];
	size_t np = 0;
	for (char *p = buf; np < MAX_MSGS + 2 && p <= buf + rest;) {
		piece[np++] = p;
		p += strlen(p) + 1;
	}

	const char *bos = NULL, *eos = NULL;
	size_t first = 0;
	if ((flags & 2) && np >= 2) {
		bos = piece[0];
		eos = piece[1];
		first = 2;
	}
	static const char *const roles[] = { "system", "user", "assistant",
		"tool", "System" };
	struct hrt_chat_msg m[MAX_MSGS], mark[MAX_MSGS];
	static char letters[MAX_MSGS][2];
	size_t n = 0;
	bool roles_ok = true;
	for (size_t i = first; i < np && n < MAX_MSGS; i++) {
		char *p = piece[i];
		unsigned sel = (unsigned char)p[0];
		if (*p)
			p++;
		/* no space at either end, so trimming changes nothing and
		 * "empty once trimmed" is "empty" */
		while (is_space((unsigned char)*p))
			p++;
		size_t l = strlen(p);
		while (l && is_space((unsigned char)p[l - 1]))
			p[--l] = 0;
		const char *role = sel % 6 < 5 ? roles[sel % 6] : p;
		if (sel % 6 >= 4 && strcmp(role, "system") &&
				strcmp(role, "user") && strcmp(role, "assistant") &&
				strcmp(role, "tool"))
			roles_ok = false;
		letters[n][0] = (char)('A' + n);
		letters[n][1] = 0;
		m[n] = (struct hrt_chat_msg){ role, p };
		mark[n] = (struct hrt_chat_msg){ role, *p ? letters[n] : "" };
		n++;
	}

	bool gen = flags & 1;
	one_family(det, m, mark, n, gen, bos, eos, roles_ok);
	one_family((enum hrt_chat_family)(pick % HRT_CHAT_FAMILY_COUNT), m,
		mark, n, gen, bos, eos, roles_ok);

	/* names: never crash, round-trip when they match */
	char name[32];
	size_t nl = tl < sizeof name - 1 ? tl : sizeof name - 1;
	memcpy(name, tmpl, nl);
	name[nl] = 0;
	int f = hrt_chat_family_from_name(name);
	if (f >= HRT_CHAT_FAMILY_COUNT || f < -1)
		fail("from_name out of range");
	const char *const *st = hrt_chat_stops(det);
	while (*st)
		st++;
	free(buf);
	return 0;
}

#ifdef HRT_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp)
			continue;
		static uint8_t in[1 << 16];
		size_t n = fread(in, 1, sizeof in, fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(in, n);
	}
	return 0;
}
#endif
