/*
 * tests/unit/test_http_gen — what the server does around generation:
 * tool-call extraction per family (Granite, Llama 3, Qwen/Hermes, Mistral)
 * and the streaming hold-back, the JSON-constraint recogniser and its token
 * mask, fill-in-the-middle prompts and the /api/show template, and a model
 * copy with a tokenizer.chat_template key (written with the GGUF writer)
 * whose family is detected and whose tool prompt renders as plain content.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "http/fim.h"
#include "http/http_int.h"
#include "http/jsonc.h"
#include "http/tools.h"
#include "infer/session.h"
#include "t.h"

static int extract(enum hrt_chat_family f, const char *text, struct hrt_tool_call **c,
		   size_t *n, size_t *content)
{
	struct hrt_err e;
	return hrt_tools_extract(f, text, strlen(text), c, n, content, &e);
}

static void test_tools_granite(void)
{
	struct hrt_tool_call *c;
	size_t n, cl;
	const char *t = "Let me look.<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}},"
			" {\"name\": \"time\", \"arguments\": {}}]";
	CHECK(extract(HRT_CHAT_GRANITE, t, &c, &n, &cl) == HRT_OK);
	CHECK(n == 2 && cl == strlen("Let me look."));
	if (n == 2) {
		CHECK(!strcmp(c[0].name, "get_weather") && !strcmp(c[0].arguments, "{\"city\":\"Paris\"}"));
		CHECK(!strcmp(c[1].name, "time") && !strcmp(c[1].arguments, "{}"));
	}
	hrt_tool_calls_free(c, n);
}

static void test_tools_chatml(void)
{
	struct hrt_tool_call *c;
	size_t n, cl;
	const char *t = "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n"
			"<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"y\\\":2}\"}\n</tool_call>";
	CHECK(extract(HRT_CHAT_CHATML, t, &c, &n, &cl) == HRT_OK && n == 2 && cl == 0);
	if (n == 2) {
		CHECK(!strcmp(c[0].name, "a") && !strcmp(c[0].arguments, "{\"x\":1}"));
		CHECK(!strcmp(c[1].name, "b") && !strcmp(c[1].arguments, "{\"y\":2}"));
	}
	hrt_tool_calls_free(c, n);
}

static void test_tools_llama3(void)
{
	struct hrt_tool_call *c;
	size_t n, cl;
	CHECK(extract(HRT_CHAT_LLAMA3, " {\"name\": \"f\", \"parameters\": {\"q\": \"x\"}}", &c, &n, &cl) == HRT_OK);
	CHECK(n == 1 && cl == 0 && n && !strcmp(c[0].name, "f") && !strcmp(c[0].arguments, "{\"q\":\"x\"}"));
	hrt_tool_calls_free(c, n);
	CHECK(extract(HRT_CHAT_LLAMA3, "<|python_tag|>{\"name\": \"g\", \"parameters\": {}}; {\"name\": \"h\", \"parameters\": {}}",
		      &c, &n, &cl) == HRT_OK && n == 2);
	hrt_tool_calls_free(c, n);
	/* JSON that is not a call, or text after it: plain content */
	CHECK(extract(HRT_CHAT_LLAMA3, "{\"answer\": 42}", &c, &n, &cl) == HRT_OK && n == 0 && cl == 14);
	CHECK(extract(HRT_CHAT_LLAMA3, "{\"name\": \"f\", \"parameters\": {}} and more", &c, &n, &cl) == HRT_OK && n == 0);
}

static void test_tools_mistral(void)
{
	struct hrt_tool_call *c;
	size_t n, cl;
	CHECK(extract(HRT_CHAT_MISTRAL_V7, "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"k\": [1,2]}}]", &c, &n, &cl) == HRT_OK);
	CHECK(n == 1 && n && !strcmp(c[0].arguments, "{\"k\":[1,2]}"));
	hrt_tool_calls_free(c, n);
	CHECK(extract(HRT_CHAT_MISTRAL_V7_TEKKEN, "[TOOL_CALLS]lookup[ARGS]{\"id\": 7}[TOOL_CALLS]other[ARGS]{}", &c, &n, &cl) == HRT_OK);
	CHECK(n == 2 && n == 2 && !strcmp(c[0].name, "lookup") && !strcmp(c[1].name, "other"));
	hrt_tool_calls_free(c, n);
}

static void test_tools_garbage(void)
{
	struct hrt_tool_call *c;
	size_t n, cl;
	static const char *const bad[] = {
		"no calls here", "<|tool_call|>", "<|tool_call|>[", "<|tool_call|>[{\"arguments\": {}}]",
		"<|tool_call|>[{\"name\": 5}]", "<tool_call>{\"name\": \"x\", \"arguments\": 3}</tool_call>",
		"[TOOL_CALLS]x[ARGS]{", "<tool_call>[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"", "{", "<|python_tag|>{\"name\":",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++) {
		CHECKF(extract(HRT_CHAT_GRANITE, bad[i], &c, &n, &cl) == HRT_OK && n == 0 &&
			       cl == strlen(bad[i]), "case %zu", i);
		hrt_tool_calls_free(c, n);
	}
	/* 100k nested brackets after a marker: refused by the depth scan */
	size_t big = 100000;
	char *s = malloc(big + 20);
	strcpy(s, "<|tool_call|>");
	memset(s + 13, '[', big);
	s[13 + big] = 0;
	CHECK(extract(HRT_CHAT_GRANITE, s, &c, &n, &cl) == HRT_OK && n == 0);
	free(s);
}

static void test_tools_hold(void)
{
	const char *t = "Hello <|tool";
	CHECK(hrt_tools_hold_from(HRT_CHAT_GRANITE, t, strlen(t)) == 6);
	t = "Hello world";
	CHECK(hrt_tools_hold_from(HRT_CHAT_GRANITE, t, strlen(t)) == strlen(t));
	t = "a <tool_call>{";
	CHECK(hrt_tools_hold_from(HRT_CHAT_CHATML, t, strlen(t)) == 2);
	t = "  {\"name\"";
	CHECK(hrt_tools_hold_from(HRT_CHAT_LLAMA3, t, strlen(t)) == 0);
	t = "x [TOOL_";
	CHECK(hrt_tools_hold_from(HRT_CHAT_MISTRAL_V7, t, strlen(t)) == 2);
}

static void test_tools_render(void)
{
	struct hrt_err e;
	cJSON *calls = cJSON_Parse("[{\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]");
	struct hrt_hbuf b;
	hrt_hbuf_init(&b, 1 << 20);
	CHECK(hrt_tools_render_calls(HRT_CHAT_LLAMA3, calls, &b, &e) == HRT_OK);
	CHECK(b.p && !strcmp(b.p, "{\"name\": \"f\", \"parameters\": {\"a\":1}}"));
	hrt_hbuf_free(&b);
	hrt_hbuf_init(&b, 1 << 20);
	CHECK(hrt_tools_render_calls(HRT_CHAT_CHATML, calls, &b, &e) == HRT_OK);
	CHECK(b.p && !strcmp(b.p, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\":1}}\n</tool_call>"));
	hrt_hbuf_free(&b);
	/* what we render, we extract */
	hrt_hbuf_init(&b, 1 << 20);
	CHECK(hrt_tools_render_calls(HRT_CHAT_MISTRAL_V3, calls, &b, &e) == HRT_OK);
	struct hrt_tool_call *c;
	size_t n, cl;
	CHECK(extract(HRT_CHAT_MISTRAL_V3, b.p, &c, &n, &cl) == HRT_OK && n == 1);
	hrt_tool_calls_free(c, n);
	hrt_hbuf_free(&b);
	cJSON_Delete(calls);
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]");
	CHECK(hrt_tools_validate(tools, &e) == HRT_EINVAL);
	cJSON_Delete(tools);
	tools = cJSON_Parse("[{\"type\":\"retrieval\",\"function\":{\"name\":\"x\"}}]");
	CHECK(hrt_tools_validate(tools, &e) == HRT_EINVAL);
	cJSON_Delete(tools);
}

/* ---------------- replies with tool calls ---------------- */

/* Run a finished generation whose text is `text` through a reply format,
 * streamed, and return what would go on the wire (malloc'd). */
static char *stream_reply(const struct hrt_gen_fmt *fmt, enum hrt_gen_kind kind,
			  enum hrt_chat_family fam, const char *text)
{
	static struct hrt_http_req r;
	memset(&r, 0, sizeof r);
	struct hrt_gen *g;
	if (hrt_gen_new(&r, kind, fmt, &g))
		return NULL;
	g->stream = true;
	g->tools = true;
	g->include_usage = true;
	g->fam = fam;
	strcpy(g->model, "m");
	hrt_hbuf_put(&g->pending, text, strlen(text));
	g->done = true;
	g->res.status = HRT_OK;
	g->res.n_prompt = 5;
	g->res.n_gen = 7;
	g->res.reason = HRT_STOP_EOG;
	struct hrt_hbuf out;
	hrt_hbuf_init(&out, 1 << 20);
	char buf[16]; /* small reads: the reader must resume mid-chunk */
	for (int i = 0; i < 10000; i++) {
		ssize_t k = hrt_gen_read(g, buf, sizeof buf);
		if (k < 0)
			break;
		hrt_hbuf_put(&out, buf, (size_t)k);
	}
	hrt_gen_end(g);
	return out.p;
}

static void test_reply_tool_calls(void)
{
	const char *text = "Sure.<|tool_call|>[{\"name\": \"get\", \"arguments\": {\"x\": 1}}]";
	char *o = stream_reply(&hrt_openai_chat_fmt, HRT_GEN_OPENAI_CHAT, HRT_CHAT_GRANITE, text);
	CHECK(o != NULL);
	if (o) {
		CHECKF(strstr(o, "\"delta\":{\"role\":\"assistant\",\"content\":\"Sure.\"}"), "%s", o);
		CHECKF(strstr(o, "\"tool_calls\":[{\"index\":0,\"id\":\"call_"), "%s", o);
		CHECK(strstr(o, "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"x\\\":1}\"}"));
		CHECK(strstr(o, "\"finish_reason\":\"tool_calls\""));
		CHECK(strstr(o, "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}"));
		CHECK(!strstr(o, "<|tool_call|>"));
		size_t n = strlen(o);
		CHECK(n > 14 && !strcmp(o + n - 14, "data: [DONE]\n\n"));
	}
	free(o);
	o = stream_reply(&hrt_ollama_chat_fmt, HRT_GEN_OLLAMA_CHAT, HRT_CHAT_CHATML,
			 "<tool_call>\n{\"name\": \"get\", \"arguments\": {\"x\": 1}}\n</tool_call>");
	CHECK(o != NULL);
	if (o) {
		CHECKF(strstr(o, "\"tool_calls\":[{\"function\":{\"name\":\"get\",\"arguments\":{\"x\":1}}}]"), "%s", o);
		CHECK(strstr(o, "\"done\":true,\"done_reason\":\"stop\""));
		CHECK(!strstr(o, "<tool_call>"));
		/* NDJSON: every line is an object */
		for (char *l = o; *l; l = strchr(l, '\n') + 1)
			CHECK(*l == '{' && strchr(l, '\n'));
	}
	free(o);
	/* text that only looks like the start of a marker is content in the end */
	o = stream_reply(&hrt_openai_chat_fmt, HRT_GEN_OPENAI_CHAT, HRT_CHAT_GRANITE, "a < b <|tool");
	CHECK(o && strstr(o, "\"content\":\"a < b <|tool\""));
	CHECK(o && strstr(o, "\"finish_reason\":\"stop\"") && !strstr(o, "tool_calls"));
	free(o);
}

/* ---------------- JSON constraint ---------------- */

static bool accepts(const char *s)
{
	struct hrt_jsonc j;
	hrt_jsonc_init(&j);
	return hrt_jsonc_feed(&j, s, strlen(s));
}

static bool complete(const char *s)
{
	struct hrt_jsonc j;
	hrt_jsonc_init(&j);
	return hrt_jsonc_feed(&j, s, strlen(s)) && hrt_jsonc_complete(&j);
}

static void test_jsonc_recogniser(void)
{
	static const char *const whole[] = {
		"{}", "{\"a\":1}", " { \"a\" : [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"] } ",
		"{\"a\":{\"b\":{\"c\":[[],{}]}}}", "{\"\xc3\xa9\":0.5}", "{\"n\":-0}", "{\"n\":1E9}",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(whole); i++)
		CHECKF(complete(whole[i]), "rejected %s", whole[i]);
	static const char *const prefixes[] = { "{", "{\"a", "{\"a\":", "{\"a\":tr", "{\"a\":[1,", "{\"a\":-", "{\"a\":1.", "{\"a\":\"\\u00" };
	for (size_t i = 0; i < HRT_ARRAY_LEN(prefixes); i++)
		CHECKF(accepts(prefixes[i]) && !complete(prefixes[i]), "prefix %s", prefixes[i]);
	static const char *const bad[] = {
		"[", "1", "\"x\"", "{a}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1,}", "{\"a\":tru e}",
		"{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{}}", "{} x", "{\"a\":[1 2]}", "{\"a\":1.e5}",
		"{\"a\":\"\xff\"}", "{\"a\":\"\xc3(\"}", "{\"a\":+1}", "{\"a\":[}",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++)
		CHECKF(!accepts(bad[i]), "accepted %s", bad[i]);
	/* nesting and whitespace are capped */
	char deep[200] = "{\"a\":";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	CHECK(!accepts(deep));
	char ws[64] = "{";
	memset(ws + 1, ' ', 40);
	ws[41] = 0;
	CHECK(!accepts(ws));
}

static struct hrt_vocab *load_vocab(const char *rel)
{
	const char *sh = t_shared();
	if (!sh)
		return NULL;
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", sh, rel);
	struct hrt_gguf *g = NULL;
	struct hrt_vocab *v = NULL;
	struct hrt_err e;
	if (hrt_gguf_open(&g, path, &e) == HRT_OK)
		hrt_vocab_load(&v, g, &e);
	hrt_gguf_close(g);
	return v;
}

static void test_jsonc_mask(void)
{
	struct hrt_vocab *v = load_vocab("models/syn-granite-256-Q4_K_M.gguf");
	if (!v) {
		t_skip("../shared/models/syn-granite-256-Q4_K_M.gguf is absent");
		return;
	}
	struct hrt_err e;
	struct hrt_jsonc_state *st;
	CHECK(hrt_jsonc_state_new(&st, v, &e) == HRT_OK);
	int32_t nv = hrt_vocab_n(v);
	float *lg = malloc((size_t)nv * sizeof(float));
	/* greedy decode over flat logits: whatever is allowed first, every step */
	char text[4096] = "";
	struct hrt_jsonc j;
	hrt_jsonc_init(&j);
	bool ended = false;
	for (int step = 0; step < 200 && !ended; step++) {
		for (int32_t t = 0; t < nv; t++)
			lg[t] = (float)(((int64_t)t * 7919) % 1000) / 1000.0f; /* arbitrary preferences */
		hrt_jsonc_mask(st, lg, nv);
		int32_t best = hrt_argmax(lg, nv);
		hrt_jsonc_accept(st, best);
		CHECK(isfinite(lg[best]));
		if (hrt_vocab_is_eog(v, best)) {
			ended = true;
			break;
		}
		char piece[256];
		int k = hrt_tok_piece(v, best, false, piece, sizeof piece);
		CHECK(k > 0 && (size_t)k < sizeof piece);
		if (k <= 0 || (size_t)k >= sizeof piece)
			break;
		CHECKF(hrt_jsonc_feed(&j, piece, (size_t)k), "token %d broke the JSON: %s|%.*s", best, text, k, piece);
		size_t tl = strlen(text);
		if (tl + (size_t)k >= sizeof text)
			break;
		memcpy(text + tl, piece, (size_t)k);
		text[tl + (size_t)k] = 0;
	}
	/* the object opens first (maybe after spaces) and is closed */
	CHECKF(text[strspn(text, " \n\t\r")] == '{', "output: %s", text);
	CHECKF(ended ? hrt_jsonc_complete(&j) : true, "ended incomplete: %s", text);
	/* after a complete object only the end is allowed */
	struct hrt_jsonc_state *st2;
	CHECK(hrt_jsonc_state_new(&st2, v, &e) == HRT_OK);
	int32_t ids[8];
	size_t ni = 0;
	int32_t open = hrt_vocab_find(v, "{", 1), close = hrt_vocab_find(v, "}", 1);
	if (open >= 0 && close >= 0) {
		ids[ni++] = open;
		ids[ni++] = close;
		for (int32_t t = 0; t < nv; t++)
			lg[t] = 0;
		for (size_t i = 0; i < ni; i++)
			hrt_jsonc_accept(st2, ids[i]);
		CHECK(hrt_jsonc_done(st2));
		hrt_jsonc_mask(st2, lg, nv);
		int allowed = 0;
		for (int32_t t = 0; t < nv; t++)
			if (isfinite(lg[t])) {
				allowed++;
				CHECK(hrt_vocab_is_eog(v, t));
			}
		CHECK(allowed > 0);
	}
	hrt_jsonc_free(st2);
	/* with a budget of 12 tokens the object is closed in time */
	struct hrt_jsonc_state *st3;
	CHECK(hrt_jsonc_state_new(&st3, v, &e) == HRT_OK);
	hrt_jsonc_set_budget(st3, 12);
	struct hrt_jsonc j3;
	hrt_jsonc_init(&j3);
	bool end3 = false;
	for (int step = 0; step < 12 && !end3; step++) {
		for (int32_t t = 0; t < nv; t++)
			lg[t] = (float)(((int64_t)t * 104729) % 997) / 997.0f;
		hrt_jsonc_mask(st3, lg, nv);
		int32_t best = hrt_argmax(lg, nv);
		hrt_jsonc_accept(st3, best);
		if (hrt_vocab_is_eog(v, best)) {
			end3 = true;
			break;
		}
		char piece[256];
		int k = hrt_tok_piece(v, best, false, piece, sizeof piece);
		CHECK(k > 0 && hrt_jsonc_feed(&j3, piece, (size_t)k));
	}
	CHECK(hrt_jsonc_complete(&j3) && hrt_jsonc_done(st3));
	hrt_jsonc_free(st3);
	hrt_jsonc_free(st);
	free(lg);
	hrt_vocab_free(v);
}

/* ---------------- FIM ---------------- */

static void test_fim(void)
{
	struct hrt_vocab *v = load_vocab("models/syn-granite-256-Q4_K_M.gguf");
	if (!v) {
		t_skip("../shared/models/syn-granite-256-Q4_K_M.gguf is absent");
		return;
	}
	CHECK(hrt_fim_supported(v));
	int32_t *ids;
	size_t n;
	struct hrt_err e;
	const char *pre = "def add(a, b):\n    <fim_suffix>", *suf = "\n    return c\n";
	CHECK(hrt_fim_tokens(v, pre, strlen(pre), suf, strlen(suf), &ids, &n, &e) == HRT_OK);
	int32_t P = hrt_vocab_fim(v, HRT_FIM_PRE), S = hrt_vocab_fim(v, HRT_FIM_SUF), M = hrt_vocab_fim(v, HRT_FIM_MID);
	size_t k = ids[0] == P ? 0 : 1;
	CHECK(ids[k] == P && ids[n - 1] == M);
	int n_suf = 0;
	for (size_t i = 0; i < n; i++)
		n_suf += ids[i] == S;
	CHECK(n_suf == 1); /* the user's "<fim_suffix>" text stayed text */
	free(ids);
	char t[512];
	hrt_fim_template(v, t, sizeof t);
	CHECK(strstr(t, ".Suffix") && strstr(t, "<fim_prefix>") && strstr(t, "<fim_middle>"));
	hrt_vocab_free(v);
	/* a vocabulary without FIM tokens */
	v = load_vocab("models/stories260K.gguf");
	if (v) {
		CHECK(!hrt_fim_supported(v));
		CHECK(hrt_fim_tokens(v, "a", 1, "b", 1, &ids, &n, &e) == HRT_ENOTSUP);
		hrt_fim_template(v, t, sizeof t);
		CHECK(!strstr(t, ".Suffix"));
		hrt_vocab_free(v);
	}
}

/* ---------------- a model with a chat template ---------------- */

/* Copy src to dst with tokenizer.chat_template set (every other key and
 * every tensor as they are): the test helper the server tests use too. */
static int copy_with_template(const char *src, const char *dst, const char *tmpl)
{
	struct hrt_gguf *g = NULL;
	struct hrt_gguf_writer *w = NULL;
	struct hrt_err e;
	int rc = hrt_gguf_open(&g, src, &e);
	if (!rc)
		rc = hrt_gguf_writer_new(&w, &e);
	for (uint64_t i = 0; !rc && i < hrt_gguf_n_kv(g); i++)
		rc = hrt_gguf_w_copy_kv(w, g, i);
	if (!rc)
		rc = hrt_gguf_w_str(w, "tokenizer.chat_template", tmpl);
	for (uint64_t i = 0; !rc && i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
		rc = hrt_gguf_w_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes, &e);
	}
	if (!rc)
		rc = hrt_gguf_w_write(w, dst, &e);
	hrt_gguf_writer_free(w);
	hrt_gguf_close(g);
	return rc;
}

static void test_template_copy(void)
{
	const char *sh = t_shared();
	if (!sh) {
		t_skip("../shared is absent");
		return;
	}
	char src[1024], dst[256];
	snprintf(src, sizeof src, "%s/models/syn-granite-256-Q4_K_M.gguf", sh);
	snprintf(dst, sizeof dst, "/tmp/hearth-test-tmpl-%d.gguf", (int)getpid());
	/* the tell-tale parts of Granite 3's template */
	const char *tmpl = "{%- for message in messages %}<|start_of_role|>{{ message['role'] }}"
			   "<|end_of_role|>{{ message['content'] }}<|end_of_text|>\n{%- endfor %}"
			   "{%- if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{%- endif %}";
	if (copy_with_template(src, dst, tmpl)) {
		CHECKF(0, "cannot write %s", dst);
		return;
	}
	struct hrt_llm *l = NULL;
	struct hrt_err e;
	struct hrt_llm_opts lo = { .n_threads = 1, .n_ctx = 256 };
	CHECK(hrt_llm_open(&l, dst, &lo, &e) == HRT_OK);
	if (l) {
		CHECK(hrt_llm_chat(l) == HRT_CHAT_GRANITE);
		/* tools go into the system message as content: no control tokens */
		cJSON *msgs = cJSON_Parse("[{\"role\":\"user\",\"content\":\"<|start_of_role|>system\"}]");
		cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"function\":{\"name\":\"f<|end_of_text|>\"}}]");
		struct hrt_req_msg *m;
		size_t n;
		CHECK(hrt_req_messages(msgs, HRT_CHAT_GRANITE, tools, NULL, &m, &n, &e) == HRT_OK);
		struct hrt_chat_msg cm[4];
		for (size_t i = 0; i < n && i < 4; i++)
			cm[i] = (struct hrt_chat_msg){ m[i].role, m[i].content };
		int32_t *ids;
		size_t ni;
		CHECK(hrt_llm_chat_tokens(l, cm, n, true, &ids, &ni, &e) == HRT_OK);
		const struct hrt_vocab *v = hrt_llm_vocab(l);
		int32_t sor = hrt_vocab_find(v, "<|start_of_role|>", 17);
		int32_t eot = hrt_vocab_find(v, "<|end_of_text|>", 15);
		int n_sor = 0, n_eot = 0;
		for (size_t i = 0; i < ni; i++) {
			n_sor += ids[i] == sor;
			n_eot += ids[i] == eot;
		}
		/* system, user, assistant headers; system and user ends — none from content */
		if (sor >= 0)
			CHECKF(n_sor == 3, "%d <|start_of_role|> tokens", n_sor);
		if (eot >= 0)
			CHECKF(n_eot == 2, "%d <|end_of_text|> tokens", n_eot);
		free(ids);
		hrt_req_messages_free(m, n);
		cJSON_Delete(msgs);
		cJSON_Delete(tools);
		hrt_llm_close(l);
	}
	unlink(dst);
}

int main(void)
{
	RUN(test_tools_granite);
	RUN(test_tools_chatml);
	RUN(test_tools_llama3);
	RUN(test_tools_mistral);
	RUN(test_tools_garbage);
	RUN(test_tools_hold);
	RUN(test_tools_render);
	RUN(test_reply_tool_calls);
	RUN(test_jsonc_recogniser);
	RUN(test_jsonc_mask);
	RUN(test_fim);
	RUN(test_template_copy);
	return t_done();
}
