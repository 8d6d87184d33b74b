/*
 * http/openai — the OpenAI-compatible routes: /v1/chat/completions (tools,
 * stream_options.include_usage), /v1/completions (suffix: fill in the
 * middle), /v1/models, /v1/embeddings (float or base64). Streams are
 * server-sent events, "data: {...}" per chunk, ending with "data: [DONE]".
 * Shapes follow the OpenAI API reference; fields we cannot honour are
 * refused (n > 1, logprobs) rather than ignored.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"
#include "http/fim.h"
#include "http/http_int.h"

static cJSON *usage(const struct hrt_gen *g)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)g->res.n_prompt);
	cJSON_AddNumberToObject(u, "completion_tokens", (double)g->res.n_gen);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(g->res.n_prompt + g->res.n_gen));
	return u;
}

static cJSON *head(struct hrt_gen *g, const char *object)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", g->id);
	cJSON_AddStringToObject(j, "object", object);
	cJSON_AddNumberToObject(j, "created", (double)g->created_s);
	cJSON_AddStringToObject(j, "model", g->model);
	cJSON_AddStringToObject(j, "system_fingerprint", "hearth");
	return j;
}

static void sse(struct hrt_hbuf *out, cJSON *j)
{
	hrt_hbuf_puts(out, "data: ");
	hrt_hbuf_json(out, j);
	hrt_hbuf_puts(out, "\n\n");
	cJSON_Delete(j);
}

/* one streamed chunk: with stream_options.include_usage every chunk but
 * the last carries "usage": null */
static void sse_chunk(const struct hrt_gen *g, struct hrt_hbuf *out, cJSON *j)
{
	if (g->include_usage)
		cJSON_AddNullToObject(j, "usage");
	sse(out, j);
}

/* the end of a stream: the usage chunk (no choices) when asked, [DONE] */
static void sse_end(struct hrt_gen *g, struct hrt_hbuf *out, const char *object)
{
	if (g->include_usage) {
		cJSON *j = head(g, object);
		cJSON_AddArrayToObject(j, "choices");
		cJSON_AddItemToObject(j, "usage", usage(g));
		sse(out, j);
	}
	hrt_hbuf_puts(out, "data: [DONE]\n\n");
}

static void add_str_n(cJSON *j, const char *key, const char *s, size_t n)
{
	char *c = hrt_strndup(s, n);
	cJSON_AddStringToObject(j, key, c ? c : "");
	free(c);
}

static void fail(struct hrt_gen *g, const char *msg, struct hrt_hbuf *out)
{
	(void)g;
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", "server_error");
	sse(out, j);
	hrt_hbuf_puts(out, "data: [DONE]\n\n");
}

static cJSON *tool_calls(const struct hrt_gen *g, bool stream)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < g->n_calls; i++) {
		cJSON *c = cJSON_CreateObject();
		if (stream)
			cJSON_AddNumberToObject(c, "index", (double)i);
		char id[40];
		snprintf(id, sizeof id, "call_%.16s%zu", g->id + strlen(g->id) - 16, i);
		cJSON_AddStringToObject(c, "id", id);
		cJSON_AddStringToObject(c, "type", "function");
		cJSON *f = cJSON_AddObjectToObject(c, "function");
		cJSON_AddStringToObject(f, "name", g->calls[i].name);
		cJSON_AddStringToObject(f, "arguments", g->calls[i].arguments);
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

/* ---------------- chat ---------------- */

static cJSON *chat_choice(cJSON *j, cJSON *delta, const char *finish)
{
	cJSON *ch = cJSON_AddArrayToObject(j, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, "delta", delta);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	cJSON_AddItemToArray(ch, c);
	return c;
}

static void chat_chunk(struct hrt_gen *g, const char *text, size_t len, struct hrt_hbuf *out)
{
	cJSON *j = head(g, "chat.completion.chunk");
	cJSON *d = cJSON_CreateObject();
	if (!g->began)
		cJSON_AddStringToObject(d, "role", "assistant");
	g->began = true;
	add_str_n(d, "content", text, len);
	chat_choice(j, d, NULL);
	sse_chunk(g, out, j);
}

static void chat_finish(struct hrt_gen *g, struct hrt_hbuf *out)
{
	if (!g->began)
		chat_chunk(g, "", 0, out);
	if (g->n_calls) {
		cJSON *j = head(g, "chat.completion.chunk");
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "tool_calls", tool_calls(g, true));
		chat_choice(j, d, NULL);
		sse_chunk(g, out, j);
	}
	cJSON *j = head(g, "chat.completion.chunk");
	chat_choice(j, cJSON_CreateObject(), hrt_gen_reason(g));
	sse_chunk(g, out, j);
	sse_end(g, out, "chat.completion.chunk");
}

static void chat_whole(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g, "chat.completion");
	cJSON *ch = cJSON_AddArrayToObject(j, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON *m = cJSON_AddObjectToObject(c, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	size_t n;
	const char *txt = hrt_gen_content(g, &n);
	if (g->n_calls && n == 0)
		cJSON_AddNullToObject(m, "content");
	else
		add_str_n(m, "content", txt, n);
	if (g->n_calls)
		cJSON_AddItemToObject(m, "tool_calls", tool_calls(g, false));
	cJSON_AddNullToObject(c, "logprobs");
	cJSON_AddStringToObject(c, "finish_reason", hrt_gen_reason(g));
	cJSON_AddItemToArray(ch, c);
	cJSON_AddItemToObject(j, "usage", usage(g));
	hrt_hbuf_json(out, j);
	cJSON_Delete(j);
}

const struct hrt_gen_fmt hrt_openai_chat_fmt = { chat_chunk, chat_finish, chat_whole, fail };

/* model, access, stream and stream_options; false when a reply was sent */
static bool common(struct hrt_http_req *r, cJSON *body, const char **model,
		   bool *stream, bool *include_usage)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	bool found;
	*stream = false;
	*include_usage = false;
	if (hrt_req_model(body, model, &e) ||
	    hrt_http_json_bool(body, "stream", stream, &found, &e)) {
		hrt_http_error_err(r, &e);
		return false;
	}
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
	if (so && !cJSON_IsNull(so)) {
		if (!cJSON_IsObject(so) || hrt_http_json_bool(so, "include_usage", include_usage, &found, &e)) {
			hrt_http_error(r, 400, "\"stream_options\" must be {\"include_usage\": true|false}");
			return false;
		}
	}
	return hrt_http_model_allowed(r, *model);
}

static void audit_prompt(struct hrt_http_req *r, const cJSON *v)
{
	if (!r->srv->o.audit_prompts || !v)
		return;
	free(r->audit_prompt);
	r->audit_prompt = cJSON_IsString(v) ? hrt_strdup(v->valuestring) : cJSON_PrintUnformatted(v);
}

void hrt_openai_chat(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model;
	bool stream, usage_on;
	if (!common(r, body, &model, &stream, &usage_on))
		return;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
		hrt_http_error(r, 400, "\"messages\" must be a non-empty array");
		return;
	}
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
	if (tools && cJSON_IsNull(tools))
		tools = NULL;
	if (tools && hrt_tools_validate(tools, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");
	if (tc && cJSON_IsString(tc) && !strcmp(tc->valuestring, "none"))
		tools = NULL;
	audit_prompt(r, msgs);
	struct hrt_gen *g;
	if (hrt_gen_new(r, HRT_GEN_OPENAI_CHAT, &hrt_openai_chat_fmt, &g))
		return;
	g->stream = stream;
	g->include_usage = stream && usage_on;
	g->tools = tools && cJSON_GetArraySize(tools) > 0;
	snprintf(g->model, sizeof g->model, "%s", model);
	if (hrt_req_openai_options(body, &r->srv->o, &g->opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!(g->lm = hrt_http_acquire(r, model, HRT_KEEP_DEFAULT, &g->load_ns)))
		return;
	g->fam = hrt_loaded_family(g->lm);
	struct hrt_req_msg *m = NULL;
	size_t n = 0;
	int rc = hrt_req_messages(msgs, g->fam, g->tools ? tools : NULL,
				  hrt_loaded_system(g->lm), &m, &n, &e);
	if (!rc)
		rc = hrt_gen_chat_prompt(g, m, n, &e);
	hrt_req_messages_free(m, n);
	if (rc || (rc = hrt_gen_fit(g, &e))) {
		if (e.code == HRT_ENOTSUP)
			hrt_http_error(r, 400, "%s", e.msg);
		else
			hrt_http_error_err(r, &e);
		return;
	}
	hrt_gen_run(r, g);
}

/* ---------------- completions ---------------- */

static void cmpl_chunk(struct hrt_gen *g, const char *text, size_t len, struct hrt_hbuf *out)
{
	cJSON *j = head(g, "text_completion");
	cJSON *ch = cJSON_AddArrayToObject(j, "choices");
	cJSON *c = cJSON_CreateObject();
	add_str_n(c, "text", text, len);
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddNullToObject(c, "logprobs");
	cJSON_AddNullToObject(c, "finish_reason");
	cJSON_AddItemToArray(ch, c);
	sse_chunk(g, out, j);
}

static void cmpl_finish(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g, "text_completion");
	cJSON *ch = cJSON_AddArrayToObject(j, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "text", "");
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddNullToObject(c, "logprobs");
	cJSON_AddStringToObject(c, "finish_reason", hrt_gen_reason(g));
	cJSON_AddItemToArray(ch, c);
	sse_chunk(g, out, j);
	sse_end(g, out, "text_completion");
}

static void cmpl_whole(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g, "text_completion");
	cJSON *ch = cJSON_AddArrayToObject(j, "choices");
	cJSON *c = cJSON_CreateObject();
	size_t n;
	const char *txt = hrt_gen_content(g, &n);
	add_str_n(c, "text", txt, n);
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddNullToObject(c, "logprobs");
	cJSON_AddStringToObject(c, "finish_reason", hrt_gen_reason(g));
	cJSON_AddItemToArray(ch, c);
	cJSON_AddItemToObject(j, "usage", usage(g));
	hrt_hbuf_json(out, j);
	cJSON_Delete(j);
}

static const struct hrt_gen_fmt cmpl_fmt = { cmpl_chunk, cmpl_finish, cmpl_whole, fail };

void hrt_openai_completions(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model, *suffix = NULL;
	bool stream, usage_on, echo = false, has_suffix, found;
	if (!common(r, body, &model, &stream, &usage_on))
		return;
	const cJSON *pj = cJSON_GetObjectItemCaseSensitive(body, "prompt");
	if (cJSON_IsArray(pj) && cJSON_GetArraySize(pj) == 1)
		pj = cJSON_GetArrayItem(pj, 0);
	if (!cJSON_IsString(pj)) {
		hrt_http_error(r, 400, "\"prompt\" must be a string (or an array of one string)");
		return;
	}
	if (hrt_http_json_str(body, "suffix", r->srv->o.max_body, &suffix, &has_suffix, &e) ||
	    hrt_http_json_bool(body, "echo", &echo, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (echo) {
		hrt_http_error(r, 400, "\"echo\" is not supported");
		return;
	}
	audit_prompt(r, pj);
	struct hrt_gen *g;
	if (hrt_gen_new(r, HRT_GEN_OPENAI_COMPLETION, &cmpl_fmt, &g))
		return;
	g->stream = stream;
	g->include_usage = stream && usage_on;
	snprintf(g->model, sizeof g->model, "%s", model);
	if (hrt_req_openai_options(body, &r->srv->o, &g->opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!(g->lm = hrt_http_acquire(r, model, HRT_KEEP_DEFAULT, &g->load_ns)))
		return;
	g->fam = hrt_loaded_family(g->lm);
	const struct hrt_vocab *v = hrt_llm_vocab(hrt_loaded_llm(g->lm));
	const char *prompt = pj->valuestring;
	int rc;
	if (has_suffix && (hrt_fim_supported(v) || *suffix)) {
		rc = hrt_gen_text_fits(g->lm, strlen(prompt) + strlen(suffix), &e);
		if (!rc)
			rc = hrt_fim_tokens(v, prompt, strlen(prompt), suffix, strlen(suffix), &g->prompt,
				    &g->n_prompt, &e);
		if (rc == HRT_ENOTSUP) {
			hrt_http_error(r, 400, "model '%s' does not support \"suffix\" (no fill-in-the-middle tokens)",
				       model);
			return;
		}
	} else {
		rc = hrt_gen_text_prompt(g, prompt, strlen(prompt), false, &e);
	}
	if (rc || (rc = hrt_gen_fit(g, &e))) {
		hrt_http_error_err(r, &e);
		return;
	}
	hrt_gen_run(r, g);
}

/* ---------------- models ---------------- */

static cJSON *model_obj(const struct hrt_model_info *mi)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", mi->name);
	cJSON_AddStringToObject(m, "object", "model");
	cJSON_AddNumberToObject(m, "created", (double)mi->modified);
	cJSON_AddStringToObject(m, "owned_by", "hearth");
	return m;
}

void hrt_openai_models(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	/* the same list as /api/tags, in OpenAI's shape */
	cJSON *list = hrt_ollama_list(r);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "object", "list");
	cJSON *data = cJSON_AddArrayToObject(j, "data");
	const cJSON *m;
	cJSON_ArrayForEach(m, list) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");
		const cJSON *cr = cJSON_GetObjectItemCaseSensitive(m, "_created");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", cJSON_IsString(nm) ? nm->valuestring : "");
		cJSON_AddStringToObject(o, "object", "model");
		cJSON_AddNumberToObject(o, "created", cJSON_IsNumber(cr) ? cr->valuedouble : 0);
		cJSON_AddStringToObject(o, "owned_by", "hearth");
		cJSON_AddItemToArray(data, o);
	}
	cJSON_Delete(list);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

void hrt_openai_model(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	const char *name = r->url + strlen("/v1/models/");
	struct hrt_model_info mi;
	char path[4096];
	struct hrt_err e;
	if (!*name || strlen(name) > HRT_REQ_NAME_MAX ||
	    hrt_models_info(r->srv->models, name, &mi, path, sizeof path, &e)) {
		hrt_http_error(r, 404, "model '%.200s' not found", name);
		return;
	}
	if (!hrt_http_model_allowed(r, name))
		return;
	cJSON *j = model_obj(&mi);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

/* ---------------- embeddings ---------------- */

void hrt_openai_embeddings(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model, *enc = "float";
	bool found;
	if (hrt_req_model(body, &model, &e) ||
	    hrt_http_json_str(body, "encoding_format", 16, &enc, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (strcmp(enc, "float") && strcmp(enc, "base64")) {
		hrt_http_error(r, 400, "\"encoding_format\" must be \"float\" or \"base64\"");
		return;
	}
	bool b64 = !strcmp(enc, "base64");
	if (!hrt_http_model_allowed(r, model))
		return;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
	int n_in = cJSON_IsArray(in) ? cJSON_GetArraySize(in) : 1;
	bool ok = cJSON_IsString(in) || (cJSON_IsArray(in) && n_in > 0 && n_in <= 2048);
	const cJSON *it;
	if (ok && cJSON_IsArray(in))
		cJSON_ArrayForEach(it, in)
			ok = ok && cJSON_IsString(it);
	if (!ok) {
		hrt_http_error(r, 400, "\"input\" must be a string or an array of 1 to 2048 strings (token arrays are not supported)");
		return;
	}
	uint64_t load_ns;
	struct hrt_loaded *lm = hrt_http_acquire(r, model, HRT_KEEP_DEFAULT, &load_ns);
	if (!lm)
		return;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "object", "list");
	cJSON *data = cJSON_AddArrayToObject(j, "data");
	size_t total = 0;
	int rc = HRT_OK;
	for (int i = 0; i < n_in && !rc; i++) {
		const cJSON *s = cJSON_IsArray(in) ? cJSON_GetArrayItem(in, i) : in;
		float *vec;
		size_t d, nt;
		if ((rc = hrt_http_embed_text(r, lm, s->valuestring, false, &vec, &d, &nt, &e)))
			break;
		total += nt;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "object", "embedding");
		cJSON_AddNumberToObject(o, "index", i);
		if (b64) { /* little-endian float32, as the API defines */
			size_t bl = sodium_base64_ENCODED_LEN(d * 4, sodium_base64_VARIANT_ORIGINAL);
			char *b = malloc(bl);
			if (b) {
				sodium_bin2base64(b, bl, (const unsigned char *)vec, d * 4,
						  sodium_base64_VARIANT_ORIGINAL);
				cJSON_AddStringToObject(o, "embedding", b);
			}
			free(b);
		} else {
			cJSON *a = cJSON_AddArrayToObject(o, "embedding");
			for (size_t k = 0; k < d; k++)
				cJSON_AddItemToArray(a, cJSON_CreateNumber(isfinite(vec[k]) ? vec[k] : 0));
		}
		cJSON_AddItemToArray(data, o);
		free(vec);
	}
	hrt_models_release(r->srv->models, lm);
	r->n_prompt = (int64_t)total;
	if (rc) {
		cJSON_Delete(j);
		hrt_http_error_err(r, &e);
		return;
	}
	cJSON_AddStringToObject(j, "model", model);
	cJSON *u = cJSON_AddObjectToObject(j, "usage");
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)total);
	cJSON_AddNumberToObject(u, "total_tokens", (double)total);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}
