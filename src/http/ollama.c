/*
 * http/ollama — the Ollama API routes: /api/generate (with suffix fill-in-
 * the-middle, raw, system, template mapped to a family, never executed),
 * /api/chat (tools), /api/tags, /api/show, /api/ps, /api/embed,
 * /api/embeddings, /api/version. Shapes follow Ollama's docs/api.md:
 * NDJSON chunks, durations in nanoseconds, {"error": ...} on failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "http/fim.h"
#include "http/http_int.h"
#include "model/tools.h"

/* ---------------- chunks ---------------- */

static void put_created(cJSON *j)
{
	char t[64];
	hrt_http_time_rfc3339(t, sizeof t, hrt_http_unix_ns());
	cJSON_AddStringToObject(j, "created_at", t);
}

static cJSON *head(struct hrt_gen *g)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "model", g->model);
	put_created(j);
	return j;
}

static void put_stats(struct hrt_gen *g, cJSON *j)
{
	const char *reason = hrt_gen_reason(g);
	cJSON_AddStringToObject(j, "done_reason", strcmp(reason, "tool_calls") ? reason : "stop");
	cJSON_AddNumberToObject(j, "total_duration", (double)(hrt_now_ns() - g->t_start));
	cJSON_AddNumberToObject(j, "load_duration", (double)g->load_ns);
	cJSON_AddNumberToObject(j, "prompt_eval_count", (double)g->res.n_prompt);
	cJSON_AddNumberToObject(j, "prompt_eval_duration", (double)g->res.prompt_ns);
	cJSON_AddNumberToObject(j, "eval_count", (double)g->res.n_gen);
	cJSON_AddNumberToObject(j, "eval_duration", (double)g->res.gen_ns);
}

static void emit(struct hrt_hbuf *out, cJSON *j)
{
	hrt_hbuf_json(out, j);
	hrt_hbuf_puts(out, "\n");
	cJSON_Delete(j);
}

static void add_str_n(cJSON *j, const char *key, const char *s, size_t n)
{
	char *c = hrt_strndup(s, n);
	cJSON_AddStringToObject(j, key, c ? c : "");
	free(c);
}

static void gen_chunk(struct hrt_gen *g, const char *text, size_t len, struct hrt_hbuf *out)
{
	cJSON *j = head(g);
	add_str_n(j, "response", text, len);
	cJSON_AddFalseToObject(j, "done");
	emit(out, j);
}

static void gen_finish(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g);
	cJSON_AddStringToObject(j, "response", "");
	cJSON_AddTrueToObject(j, "done");
	put_stats(g, j);
	emit(out, j);
}

static void gen_whole(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g);
	size_t n;
	const char *c = hrt_gen_content(g, &n);
	add_str_n(j, "response", c, n);
	cJSON_AddTrueToObject(j, "done");
	put_stats(g, j);
	hrt_hbuf_json(out, j);
	cJSON_Delete(j);
}

static void any_fail(struct hrt_gen *g, const char *msg, struct hrt_hbuf *out)
{
	(void)g;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	emit(out, j);
}

static const struct hrt_gen_fmt generate_fmt = { gen_chunk, gen_finish, gen_whole, any_fail };

static cJSON *message(const char *text, size_t len)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "assistant");
	add_str_n(m, "content", text, len);
	return m;
}

static void put_calls(struct hrt_gen *g, cJSON *msg)
{
	if (!g->n_calls)
		return;
	cJSON *arr = cJSON_AddArrayToObject(msg, "tool_calls");
	for (size_t i = 0; i < g->n_calls; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON *f = cJSON_AddObjectToObject(c, "function");
		cJSON_AddStringToObject(f, "name", g->calls[i].name);
		cJSON *a = cJSON_Parse(g->calls[i].arguments);
		if (!a || !cJSON_IsObject(a)) {
			cJSON_Delete(a);
			a = cJSON_CreateObject();
		}
		cJSON_AddItemToObject(f, "arguments", a);
		cJSON_AddItemToArray(arr, c);
	}
}

static void chat_chunk(struct hrt_gen *g, const char *text, size_t len, struct hrt_hbuf *out)
{
	cJSON *j = head(g);
	cJSON_AddItemToObject(j, "message", message(text, len));
	cJSON_AddFalseToObject(j, "done");
	emit(out, j);
}

static void chat_finish(struct hrt_gen *g, struct hrt_hbuf *out)
{
	if (g->n_calls) {
		cJSON *j = head(g);
		cJSON *m = message("", 0);
		put_calls(g, m);
		cJSON_AddItemToObject(j, "message", m);
		cJSON_AddFalseToObject(j, "done");
		emit(out, j);
	}
	cJSON *j = head(g);
	cJSON_AddItemToObject(j, "message", message("", 0));
	cJSON_AddTrueToObject(j, "done");
	put_stats(g, j);
	emit(out, j);
}

static void chat_whole(struct hrt_gen *g, struct hrt_hbuf *out)
{
	cJSON *j = head(g);
	size_t n;
	const char *c = hrt_gen_content(g, &n);
	cJSON *m = message(c, n);
	put_calls(g, m);
	cJSON_AddItemToObject(j, "message", m);
	cJSON_AddTrueToObject(j, "done");
	put_stats(g, j);
	hrt_hbuf_json(out, j);
	cJSON_Delete(j);
}

const struct hrt_gen_fmt hrt_ollama_chat_fmt = { chat_chunk, chat_finish, chat_whole, any_fail };

/* ---------------- shared request parts ---------------- */

/* model, access, keep_alive, stream; false when a reply was sent */
static bool common(struct hrt_http_req *r, cJSON *body, const char **model,
		   int64_t *keep, bool *stream)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	bool found;
	*keep = HRT_KEEP_DEFAULT;
	*stream = true;
	if (hrt_req_model(body, model, &e) ||
	    hrt_req_keep_alive(cJSON_GetObjectItemCaseSensitive(body, "keep_alive"), keep, &e) ||
	    hrt_http_json_bool(body, "stream", stream, &found, &e)) {
		hrt_http_error_err(r, &e);
		return false;
	}
	return hrt_http_model_allowed(r, *model);
}

/* model defaults (from its configuration), then the request's options */
static int options(struct hrt_http_req *r, struct hrt_gen *g, const cJSON *opts,
		   struct hrt_err *e)
{
	const char *dp = hrt_loaded_params(g->lm);
	if (dp) {
		cJSON *d = cJSON_Parse(dp);
		int rc = d ? hrt_req_ollama_options(d, &r->srv->o, &g->opts, e) : HRT_OK;
		cJSON_Delete(d);
		if (rc)
			return rc;
	}
	return hrt_req_ollama_options(opts, &r->srv->o, &g->opts, e);
}

static int format(const cJSON *body, struct hrt_gen_opts *o, struct hrt_err *e)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "format");
	if (!f || cJSON_IsNull(f))
		return HRT_OK;
	if (cJSON_IsString(f) && !*f->valuestring)
		return HRT_OK;
	if ((cJSON_IsString(f) && !strcmp(f->valuestring, "json")) || cJSON_IsObject(f)) {
		o->json = true; /* a schema object is held to JSON, not to the schema */
		return HRT_OK;
	}
	return HRT_ERR(e, HRT_EINVAL, "\"format\" must be \"json\" or a JSON schema object");
}

static void audit_prompt(struct hrt_http_req *r, const cJSON *v)
{
	if (!r->srv->o.audit_prompts || !v)
		return;
	free(r->audit_prompt);
	r->audit_prompt = cJSON_IsString(v) ? hrt_strdup(v->valuestring) : cJSON_PrintUnformatted(v);
}

/* an empty request loads (or with keep_alive 0 unloads) the model */
static void load_only(struct hrt_http_req *r, const char *model, int64_t keep, bool chat)
{
	uint64_t load_ns;
	struct hrt_loaded *lm = hrt_http_acquire(r, model, keep, &load_ns);
	if (!lm)
		return;
	hrt_models_release(r->srv->models, lm);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "model", model);
	put_created(j);
	if (chat)
		cJSON_AddItemToObject(j, "message", message("", 0));
	else
		cJSON_AddStringToObject(j, "response", "");
	cJSON_AddTrueToObject(j, "done");
	cJSON_AddStringToObject(j, "done_reason", keep == 0 ? "unload" : "load");
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

/* ---------------- /api/generate ---------------- */

void hrt_ollama_generate(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model, *prompt = NULL, *suffix = NULL, *system = NULL, *tmpl = NULL;
	int64_t keep;
	bool stream, raw = false, found, has_suffix = false;
	if (!common(r, body, &model, &keep, &stream))
		return;
	const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(body, "images");
	if (imgs && cJSON_IsArray(imgs) && cJSON_GetArraySize(imgs) > 0) {
		hrt_http_error(r, 400, "images are not supported: hearth serves text models only");
		return;
	}
	size_t big = r->srv->o.max_body;
	if (hrt_http_json_str(body, "prompt", big, &prompt, &found, &e) ||
	    hrt_http_json_str(body, "suffix", big, &suffix, &has_suffix, &e) ||
	    hrt_http_json_str(body, "system", big, &system, &found, &e) ||
	    hrt_http_json_str(body, "template", big, &tmpl, &found, &e) ||
	    hrt_http_json_bool(body, "raw", &raw, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options");
	if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts)) {
		hrt_http_error(r, 400, "\"options\" must be an object");
		return;
	}
	if ((!prompt || !*prompt) && (!suffix || !*suffix)) {
		load_only(r, model, keep, false);
		return;
	}
	audit_prompt(r, cJSON_GetObjectItemCaseSensitive(body, "prompt"));
	struct hrt_gen *g;
	if (hrt_gen_new(r, HRT_GEN_OLLAMA_GENERATE, &generate_fmt, &g))
		return;
	g->stream = stream;
	snprintf(g->model, sizeof g->model, "%s", model);
	if (format(body, &g->opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!(g->lm = hrt_http_acquire(r, model, keep, &g->load_ns)))
		return;
	if (options(r, g, opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	g->fam = hrt_loaded_family(g->lm);
	if (tmpl && *tmpl) { /* a template is only ever a hint at the family */
		int f = hrt_chat_family_from_name(tmpl);
		enum hrt_chat_family d = hrt_chat_detect(tmpl, strlen(tmpl));
		if (f >= 0)
			g->fam = (enum hrt_chat_family)f;
		else if (d != HRT_CHAT_RAW)
			g->fam = d;
	}
	const struct hrt_vocab *v = hrt_llm_vocab(hrt_loaded_llm(g->lm));
	int rc;
	if (!prompt)
		prompt = "";
	if (has_suffix && (hrt_fim_supported(v) || *suffix)) {
		rc = hrt_gen_text_fits(g->lm, strlen(prompt) + strlen(suffix), &e);
		if (!rc)
			rc = hrt_fim_tokens(v, prompt, strlen(prompt), suffix, strlen(suffix), &g->prompt,
				    &g->n_prompt, &e);
		if (rc == HRT_ENOTSUP) {
			hrt_http_error(r, 400, "model '%s' does not support insert (no fill-in-the-middle tokens)",
				       model);
			return;
		}
	} else if (raw) {
		rc = hrt_gen_text_prompt(g, prompt, strlen(prompt), true, &e);
	} else if (g->fam == HRT_CHAT_RAW) {
		const char *sys = system ? system : hrt_loaded_system(g->lm);
		struct hrt_hbuf t;
		hrt_hbuf_init(&t, big * 2 + 16);
		if (sys && *sys) {
			hrt_hbuf_puts(&t, sys);
			hrt_hbuf_puts(&t, "\n\n");
		}
		hrt_hbuf_puts(&t, prompt);
		rc = t.oom ? HRT_ERR(&e, HRT_ENOMEM, "no memory")
			   : hrt_gen_text_prompt(g, t.p ? t.p : "", t.len, false, &e);
		hrt_hbuf_free(&t);
	} else {
		struct hrt_req_msg m[2];
		size_t n = 0;
		const char *sys = system ? system : hrt_loaded_system(g->lm);
		if (sys && *sys)
			m[n++] = (struct hrt_req_msg){ "system", (char *)(uintptr_t)sys };
		m[n++] = (struct hrt_req_msg){ "user", (char *)(uintptr_t)prompt };
		rc = hrt_gen_chat_prompt(g, m, n, &e);
	}
	if (rc || (rc = hrt_gen_fit(g, &e))) {
		hrt_http_error_err(r, &e);
		return;
	}
	hrt_gen_run(r, g);
}

/* ---------------- /api/chat ---------------- */

void hrt_ollama_chat(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model;
	int64_t keep;
	bool stream;
	if (!common(r, body, &model, &keep, &stream))
		return;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options");
	if (msgs && !cJSON_IsNull(msgs) && !cJSON_IsArray(msgs)) {
		hrt_http_error(r, 400, "\"messages\" must be an array");
		return;
	}
	if (tools && cJSON_IsNull(tools))
		tools = NULL;
	if (tools && hrt_tools_validate(tools, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts)) {
		hrt_http_error(r, 400, "\"options\" must be an object");
		return;
	}
	if (!msgs || cJSON_IsNull(msgs) || cJSON_GetArraySize(msgs) == 0) {
		load_only(r, model, keep, true);
		return;
	}
	audit_prompt(r, msgs);
	struct hrt_gen *g;
	if (hrt_gen_new(r, HRT_GEN_OLLAMA_CHAT, &hrt_ollama_chat_fmt, &g))
		return;
	g->stream = stream;
	g->tools = tools && cJSON_GetArraySize(tools) > 0;
	snprintf(g->model, sizeof g->model, "%s", model);
	if (format(body, &g->opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!(g->lm = hrt_http_acquire(r, model, keep, &g->load_ns)))
		return;
	if (options(r, g, opts, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
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

/* ---------------- model descriptions ---------------- */

static void param_size(uint64_t n, char *buf, size_t cap)
{
	if (n >= 1000000000ull)
		snprintf(buf, cap, "%.1fB", (double)n / 1e9);
	else if (n >= 1000000ull)
		snprintf(buf, cap, "%.1fM", (double)n / 1e6);
	else
		snprintf(buf, cap, "%.1fK", (double)n / 1e3);
}

static uint64_t count_params(const struct hrt_gguf *g)
{
	uint64_t total = 0;
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		uint64_t n = 1;
		for (uint32_t d = 0; d < t->n_dims; d++)
			n *= t->ne[d];
		total += n;
	}
	return total;
}

static void str_of(const struct hrt_gguf *g, const char *key, char *buf, size_t cap)
{
	struct hrt_str s = { 0 };
	buf[0] = 0;
	if (!hrt_gguf_get_str(g, key, &s, NULL))
		snprintf(buf, cap, "%.*s", (int)HRT_MIN(s.len, (uint64_t)cap - 1), s.ptr);
}

cJSON *hrt_ollama_details(const char *arch, const char *psize, const char *quant)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "parent_model", "");
	cJSON_AddStringToObject(d, "format", "gguf");
	cJSON_AddStringToObject(d, "family", arch ? arch : "");
	cJSON *fams = cJSON_AddArrayToObject(d, "families");
	if (arch && *arch)
		cJSON_AddItemToArray(fams, cJSON_CreateString(arch));
	cJSON_AddStringToObject(d, "parameter_size", psize ? psize : "");
	cJSON_AddStringToObject(d, "quantization_level", quant && *quant ? quant : "unknown");
	return d;
}

/* "details" of a model file; empty fields when it cannot be read */
static cJSON *details(const struct hrt_gguf *g)
{
	char arch[64] = "", ps[32] = "";
	if (g) {
		str_of(g, "general.architecture", arch, sizeof arch);
		param_size(count_params(g), ps, sizeof ps);
	}
	uint32_t ft = 0;
	const char *q = g && !hrt_gguf_get_u32(g, "general.file_type", &ft, NULL) ? hrt_ftype_name(ft) : NULL;
	return hrt_ollama_details(arch, ps, q);
}

static void rfc3339_of(time_t t, char *buf, size_t cap)
{
	hrt_http_time_rfc3339(buf, cap, (int64_t)t * 1000000000);
}

struct list_ctx {
	cJSON *arr;
	bool only_loaded;
	struct hrt_http_req *r;
};

static void list_one(void *ctx, const struct hrt_model_info *mi)
{
	struct list_ctx *c = ctx;
	if (c->only_loaded ? !mi->loaded : !mi->from_file)
		return; /* tags: store models come from the store's own list */
	if (c->r->id.role != HRT_ROLE_ADMIN && !hrt_auth_model_ok(&c->r->id, mi->name))
		return;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", mi->name);
	cJSON_AddStringToObject(m, "model", mi->name);
	char t[64];
	rfc3339_of(mi->modified, t, sizeof t);
	if (!c->only_loaded)
		cJSON_AddStringToObject(m, "modified_at", t);
	cJSON_AddNumberToObject(m, "_created", (double)mi->modified);
	cJSON_AddNumberToObject(m, "size", (double)mi->size);
	cJSON_AddStringToObject(m, "digest", !strncmp(mi->digest, "sha256:", 7) ? mi->digest + 7 : mi->digest);
	struct hrt_gguf *g = NULL;
	struct hrt_err e;
	hrt_gguf_open(&g, mi->path, &e);
	cJSON_AddItemToObject(m, "details", details(g));
	hrt_gguf_close(g);
	if (c->only_loaded) {
		if (mi->expires_ns == INT64_MAX)
			strcpy(t, "2318-11-26T00:00:00Z"); /* "forever", as far as clients care */
		else
			hrt_http_time_rfc3339(t, sizeof t, mi->expires_ns);
		cJSON_AddStringToObject(m, "expires_at", t);
		cJSON_AddNumberToObject(m, "size_vram", 0);
		cJSON_AddNumberToObject(m, "context_length", mi->n_ctx);
	}
	cJSON_AddItemToArray(c->arr, m);
}

cJSON *hrt_ollama_list(struct hrt_http_req *r)
{
	cJSON *arr = cJSON_CreateArray();
	struct list_ctx c = { arr, false, r };
	hrt_models_each(r->srv->models, list_one, &c);
	hrt_store_api_list(r, arr, hrt_ollama_details);
	return arr;
}

static void drop_created(cJSON *arr)
{
	cJSON *m;
	cJSON_ArrayForEach(m, arr)
		cJSON_DeleteItemFromObjectCaseSensitive(m, "_created");
}

void hrt_ollama_tags(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	cJSON *j = cJSON_CreateObject();
	cJSON *arr = hrt_ollama_list(r);
	drop_created(arr);
	cJSON_AddItemToObject(j, "models", arr);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

void hrt_ollama_ps(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	cJSON *j = cJSON_CreateObject();
	struct list_ctx c = { cJSON_AddArrayToObject(j, "models"), true, r };
	hrt_models_each(r->srv->models, list_one, &c);
	drop_created(c.arr);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

void hrt_ollama_version(struct hrt_http_req *r, cJSON *body)
{
	(void)body;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "version", HRT_HTTP_VERSION);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

/* metadata as "model_info": scalars and short strings; arrays as null */
static cJSON *model_info(const struct hrt_gguf *g)
{
	cJSON *mi = cJSON_CreateObject();
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g) && i < 4096; i++) {
		struct hrt_str k = hrt_gguf_kv_key(g, i);
		char key[256];
		if (k.len >= sizeof key)
			continue;
		memcpy(key, k.ptr, k.len);
		key[k.len] = 0;
		uint32_t t = hrt_gguf_kv_type(g, i);
		int64_t iv;
		uint64_t uv;
		double dv;
		struct hrt_str sv;
		if (t == HRT_GGUF_STRING && !hrt_gguf_kv_str(g, i, &sv)) {
			if (sv.len > 65536)
				continue;
			char *s = hrt_strndup(sv.ptr, (size_t)sv.len);
			if (s && hrt_http_utf8_ok(s, strlen(s)))
				cJSON_AddStringToObject(mi, key, s);
			free(s);
		} else if (t == HRT_GGUF_BOOL) {
			const uint8_t *raw = hrt_gguf_kv_raw(g, i);
			cJSON_AddBoolToObject(mi, key, raw && *raw);
		} else if ((t == HRT_GGUF_F32 || t == HRT_GGUF_F64) && !hrt_gguf_kv_f64(g, i, &dv)) {
			if (isfinite(dv))
				cJSON_AddNumberToObject(mi, key, dv);
		} else if (t == HRT_GGUF_U64 && !hrt_gguf_kv_u64(g, i, &uv)) {
			cJSON_AddNumberToObject(mi, key, (double)uv);
		} else if (t != HRT_GGUF_ARRAY && !hrt_gguf_kv_i64(g, i, &iv)) {
			cJSON_AddNumberToObject(mi, key, (double)iv);
		} else if (t == HRT_GGUF_ARRAY) {
			cJSON_AddNullToObject(mi, key);
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(mi, "general.parameter_count"))
		cJSON_AddNumberToObject(mi, "general.parameter_count", (double)count_params(g));
	return mi;
}

static void put_param_line(struct hrt_hbuf *b, const char *key, const char *val)
{
	hrt_hbuf_printf(b, "%-30s ", key);
	hrt_hbuf_json_str(b, val, strlen(val));
	hrt_hbuf_puts(b, "\n");
}

void hrt_ollama_show(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model;
	if (hrt_req_model(body, &model, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	if (!hrt_http_model_allowed(r, model))
		return;
	struct hrt_model_info mi;
	char path[4096];
	if (hrt_models_info(r->srv->models, model, &mi, path, sizeof path, &e)) {
		hrt_http_error(r, 404, "model '%s' not found", model);
		return;
	}
	snprintf(r->digest, sizeof r->digest, "%s", mi.digest);
	struct hrt_gguf *g = NULL;
	struct hrt_vocab *v = NULL;
	if (hrt_gguf_open(&g, path, &e) || hrt_vocab_load(&v, g, &e)) {
		hrt_gguf_close(g);
		hrt_http_error(r, 500, "cannot read model '%s': %s", model, e.msg);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	/* family: configured, else from the file's template */
	int fi = mi.family ? hrt_chat_family_from_name(mi.family) : -1;
	struct hrt_str tmpl = { 0 };
	hrt_gguf_get_str(g, "tokenizer.chat_template", &tmpl, NULL);
	enum hrt_chat_family fam = fi >= 0 ? (enum hrt_chat_family)fi
					   : hrt_chat_detect(tmpl.ptr, (size_t)tmpl.len);
	/* parameters: what editors read (num_ctx, stop) */
	struct hrt_hbuf p;
	hrt_hbuf_init(&p, 1 << 20);
	uint32_t train = 0;
	char arch[64], key[128];
	str_of(g, "general.architecture", arch, sizeof arch);
	snprintf(key, sizeof key, "%s.context_length", arch);
	hrt_gguf_get_u32(g, key, &train, NULL);
	uint32_t ctx = mi.loaded && mi.n_ctx ? mi.n_ctx : hrt_models_ctx_for(r->srv->models, train);
	hrt_hbuf_printf(&p, "%-30s %u\n", "num_ctx", ctx);
	for (const char *const *s = hrt_chat_stops(fam); *s; s++)
		put_param_line(&p, "stop", *s);
	bool fim = hrt_fim_supported(v);
	if (fim) { /* a completion ends at the end of the file or a new one */
		static const char *const fim_stops[] = { "<|endoftext|>", "<file_sep>", "<|file_sep|>",
							 "<fim_prefix>", "<|fim_prefix|>", NULL };
		for (const char *const *s = fim_stops; *s; s++)
			if (hrt_vocab_find(v, *s, strlen(*s)) >= 0)
				put_param_line(&p, "stop", *s);
	}
	cJSON_AddStringToObject(j, "parameters", p.p ? p.p : "");
	hrt_hbuf_free(&p);
	char t[1024];
	hrt_fim_template(v, t, sizeof t);
	struct hrt_hbuf tb;
	hrt_hbuf_init(&tb, 1 << 20);
	hrt_hbuf_puts(&tb, t);
	hrt_hbuf_printf(&tb, "\n{{/* chat format: %s (rendered by hearth; templates are never executed) */}}",
			hrt_chat_family_name(fam));
	cJSON_AddStringToObject(j, "template", tb.p ? tb.p : "");
	hrt_hbuf_free(&tb);
	if (mi.system)
		cJSON_AddStringToObject(j, "system", mi.system);
	char mf[4400];
	snprintf(mf, sizeof mf, "# served by hearth from a file\nFROM %s\n", path);
	cJSON_AddStringToObject(j, "modelfile", mf);
	cJSON_AddItemToObject(j, "details", details(g));
	cJSON_AddItemToObject(j, "model_info", model_info(g));
	cJSON *caps = cJSON_AddArrayToObject(j, "capabilities");
	cJSON_AddItemToArray(caps, cJSON_CreateString("completion"));
	if (fim)
		cJSON_AddItemToArray(caps, cJSON_CreateString("insert"));
	if (fam != HRT_CHAT_RAW)
		cJSON_AddItemToArray(caps, cJSON_CreateString("tools"));
	char mt[64];
	rfc3339_of(mi.modified, mt, sizeof mt);
	cJSON_AddStringToObject(j, "modified_at", mt);
	hrt_vocab_free(v);
	hrt_gguf_close(g);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

/* ---------------- embeddings ---------------- */

static cJSON *vec_json(const float *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(isfinite(v[i]) ? v[i] : 0));
	return a;
}

void hrt_ollama_embed(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model;
	int64_t keep;
	bool stream, truncate = false, found;
	if (!common(r, body, &model, &keep, &stream))
		return;
	if (hrt_http_json_bool(body, "truncate", &truncate, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
	int n_in = cJSON_IsArray(in) ? cJSON_GetArraySize(in) : 1;
	if (!in || (!cJSON_IsString(in) && !cJSON_IsArray(in))) {
		hrt_http_error(r, 400, "\"input\" must be a string or an array of strings");
		return;
	}
	if (n_in > 2048) {
		hrt_http_error(r, 400, "at most 2048 inputs per request");
		return;
	}
	const cJSON *it;
	if (cJSON_IsArray(in))
		cJSON_ArrayForEach(it, in) {
			if (!cJSON_IsString(it)) {
				hrt_http_error(r, 400, "\"input\" must be a string or an array of strings");
				return;
			}
		}
	uint64_t load_ns;
	struct hrt_loaded *lm = hrt_http_acquire(r, model, keep, &load_ns);
	if (!lm)
		return;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "model", model);
	cJSON *arr = cJSON_AddArrayToObject(j, "embeddings");
	size_t total = 0;
	int rc = HRT_OK;
	for (int i = 0; i < n_in && !rc; i++) {
		const cJSON *s = cJSON_IsArray(in) ? cJSON_GetArrayItem(in, i) : in;
		float *vec;
		size_t d, nt;
		rc = hrt_http_embed_text(r, lm, s->valuestring, truncate, &vec, &d, &nt, &e);
		if (!rc) {
			cJSON_AddItemToArray(arr, vec_json(vec, d));
			total += nt;
			free(vec);
		}
	}
	hrt_models_release(r->srv->models, lm);
	r->n_prompt = (int64_t)total;
	if (rc) {
		cJSON_Delete(j);
		hrt_http_error_err(r, &e);
		return;
	}
	cJSON_AddNumberToObject(j, "total_duration", (double)(hrt_now_ns() - r->t_start));
	cJSON_AddNumberToObject(j, "load_duration", (double)load_ns);
	cJSON_AddNumberToObject(j, "prompt_eval_count", (double)total);
	hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}

void hrt_ollama_embeddings(struct hrt_http_req *r, cJSON *body)
{
	struct hrt_err e;
	hrt_err_clear(&e);
	const char *model, *prompt = NULL;
	int64_t keep;
	bool stream, found;
	if (!common(r, body, &model, &keep, &stream))
		return;
	if (hrt_http_json_str(body, "prompt", r->srv->o.max_body, &prompt, &found, &e)) {
		hrt_http_error_err(r, &e);
		return;
	}
	uint64_t load_ns;
	struct hrt_loaded *lm = hrt_http_acquire(r, model, keep, &load_ns);
	if (!lm)
		return;
	cJSON *j = cJSON_CreateObject();
	int rc = HRT_OK;
	if (!prompt || !*prompt) { /* the legacy route answers an empty prompt with [] */
		cJSON_AddArrayToObject(j, "embedding");
	} else {
		float *vec;
		size_t d, nt;
		rc = hrt_http_embed_text(r, lm, prompt, true, &vec, &d, &nt, &e);
		if (!rc) {
			cJSON_AddItemToObject(j, "embedding", vec_json(vec, d));
			r->n_prompt = (int64_t)nt;
			free(vec);
		}
	}
	hrt_models_release(r->srv->models, lm);
	if (rc)
		hrt_http_error_err(r, &e);
	else
		hrt_http_reply_json(r, 200, j);
	cJSON_Delete(j);
}
