/*
 * http/req — request fields shared by the Ollama and OpenAI routes:
 * sampling options with their ranges, stop strings, keep_alive durations,
 * model names, and chat messages (text parts joined, earlier tool calls
 * written out, tool definitions put into the system message). Every check
 * names the field, and its error becomes a 400.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "http/http_int.h"

#define MAX_MESSAGES 10000
#define PREDICT_HARD_MAX ((int64_t)1 << 24)

void hrt_gen_opts_init(struct hrt_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	hrt_sample_defaults(&o->sample);
	o->num_predict = -1;
}

void hrt_gen_opts_free(struct hrt_gen_opts *o)
{
	for (size_t i = 0; i < o->n_stops; i++)
		free(o->stops[i]);
	o->n_stops = 0;
}

int hrt_gen_opts_stop(struct hrt_gen_opts *o, const char *s, struct hrt_err *err)
{
	if (!s || !*s)
		return HRT_OK;
	for (size_t i = 0; i < o->n_stops; i++)
		if (!strcmp(o->stops[i], s))
			return HRT_OK;
	if (o->n_stops >= HRT_ARRAY_LEN(o->stops))
		return HRT_ERR(err, HRT_EINVAL, "too many stop strings (at most %d)", HRT_REQ_MAX_STOPS);
	if (!(o->stops[o->n_stops] = hrt_strdup(s)))
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	o->n_stops++;
	return HRT_OK;
}

int hrt_req_stops(const cJSON *stop, struct hrt_gen_opts *o, struct hrt_err *err)
{
	if (!stop || cJSON_IsNull(stop))
		return HRT_OK;
	if (cJSON_IsString(stop)) {
		if (strlen(stop->valuestring) > HRT_REQ_STOP_MAX_LEN)
			return HRT_ERR(err, HRT_EINVAL, "a stop string is longer than %d bytes", HRT_REQ_STOP_MAX_LEN);
		return hrt_gen_opts_stop(o, stop->valuestring, err);
	}
	if (!cJSON_IsArray(stop))
		return HRT_ERR(err, HRT_EINVAL, "\"stop\" must be a string or an array of strings");
	if (cJSON_GetArraySize(stop) > HRT_REQ_MAX_STOPS)
		return HRT_ERR(err, HRT_EINVAL, "\"stop\" has more than %d strings", HRT_REQ_MAX_STOPS);
	const cJSON *s;
	cJSON_ArrayForEach(s, stop) {
		if (!cJSON_IsString(s))
			return HRT_ERR(err, HRT_EINVAL, "\"stop\" must be a string or an array of strings");
		if (strlen(s->valuestring) > HRT_REQ_STOP_MAX_LEN)
			return HRT_ERR(err, HRT_EINVAL, "a stop string is longer than %d bytes", HRT_REQ_STOP_MAX_LEN);
		int rc = hrt_gen_opts_stop(o, s->valuestring, err);
		if (rc)
			return rc;
	}
	return HRT_OK;
}

static int predict(const cJSON *o, const char *key, const struct hrt_srv_opts *lim,
		   int64_t min, struct hrt_gen_opts *g, struct hrt_err *err)
{
	int64_t v;
	bool found;
	int64_t max = lim->max_predict > 0 ? lim->max_predict : PREDICT_HARD_MAX;
	int rc = hrt_http_json_int(o, key, min, max, &v, &found, err);
	if (rc || !found)
		return rc;
	g->num_predict = v < 0 ? -1 : v;
	return HRT_OK;
}

static int sample_seed(const cJSON *o, struct hrt_gen_opts *g, struct hrt_err *err)
{
	int64_t v;
	bool found;
	int rc = hrt_http_json_int(o, "seed", -((int64_t)1 << 53), (int64_t)1 << 53, &v, &found, err);
	if (!rc && found && v >= 0)
		g->sample.seed = (uint64_t)v;
	return rc;
}

#define NUM(obj, key, lo, hi, field) \
	do { \
		double v_; \
		bool f_; \
		if ((rc = hrt_http_json_num(obj, key, lo, hi, &v_, &f_, err))) \
			return rc; \
		if (f_) \
			field = (float)v_; \
	} while (0)

int hrt_req_ollama_options(const cJSON *opts, const struct hrt_srv_opts *lim,
			   struct hrt_gen_opts *o, struct hrt_err *err)
{
	if (!opts || cJSON_IsNull(opts))
		return HRT_OK;
	if (!cJSON_IsObject(opts))
		return HRT_ERR(err, HRT_EINVAL, "\"options\" must be an object");
	int rc;
	int64_t v;
	bool found;
	NUM(opts, "temperature", 0, 100, o->sample.temperature);
	NUM(opts, "top_p", 0, 1, o->sample.top_p);
	NUM(opts, "min_p", 0, 1, o->sample.min_p);
	NUM(opts, "repeat_penalty", 0, 100, o->sample.repeat_penalty);
	NUM(opts, "presence_penalty", -100, 100, o->sample.presence_penalty);
	NUM(opts, "frequency_penalty", -100, 100, o->sample.frequency_penalty);
	if ((rc = hrt_http_json_int(opts, "top_k", 0, 1 << 24, &v, &found, err)))
		return rc;
	if (found)
		o->sample.top_k = (int32_t)v;
	if ((rc = hrt_http_json_int(opts, "repeat_last_n", -1, lim->max_ctx, &v, &found, err)))
		return rc;
	if (found)
		o->sample.repeat_last_n = (int32_t)v;
	if ((rc = sample_seed(opts, o, err)))
		return rc;
	if ((rc = predict(opts, "num_predict", lim, -2, o, err)))
		return rc;
	if ((rc = hrt_http_json_int(opts, "num_ctx", 1, lim->max_ctx, &v, &found, err)))
		return rc;
	if (found)
		o->num_ctx = v;
	if ((rc = hrt_req_stops(cJSON_GetObjectItemCaseSensitive(opts, "stop"), o, err)))
		return rc;
	return hrt_sample_validate(&o->sample, err);
}

int hrt_req_openai_options(const cJSON *body, const struct hrt_srv_opts *lim,
			   struct hrt_gen_opts *o, struct hrt_err *err)
{
	int rc;
	int64_t v;
	bool found;
	NUM(body, "temperature", 0, 2, o->sample.temperature);
	NUM(body, "top_p", 0, 1, o->sample.top_p);
	NUM(body, "min_p", 0, 1, o->sample.min_p);
	NUM(body, "presence_penalty", -2, 2, o->sample.presence_penalty);
	NUM(body, "frequency_penalty", -2, 2, o->sample.frequency_penalty);
	NUM(body, "repeat_penalty", 0, 100, o->sample.repeat_penalty);
	if ((rc = hrt_http_json_int(body, "top_k", 0, 1 << 24, &v, &found, err)))
		return rc;
	if (found)
		o->sample.top_k = (int32_t)v;
	if ((rc = sample_seed(body, o, err)))
		return rc;
	if ((rc = predict(body, "max_tokens", lim, 0, o, err)) ||
	    (rc = predict(body, "max_completion_tokens", lim, 0, o, err)))
		return rc;
	if ((rc = hrt_http_json_int(body, "n", 1, 1, &v, &found, err)))
		return HRT_ERR(err, HRT_EINVAL, "\"n\" must be 1: one choice per request");
	if ((rc = hrt_req_stops(cJSON_GetObjectItemCaseSensitive(body, "stop"), o, err)))
		return rc;
	const cJSON *rf = cJSON_GetObjectItemCaseSensitive(body, "response_format");
	if (rf && !cJSON_IsNull(rf)) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
		if (!cJSON_IsObject(rf) || !cJSON_IsString(t))
			return HRT_ERR(err, HRT_EINVAL, "\"response_format\" must be {\"type\": ...}");
		if (!strcmp(t->valuestring, "json_object") || !strcmp(t->valuestring, "json_schema"))
			o->json = true;
		else if (strcmp(t->valuestring, "text"))
			return HRT_ERR(err, HRT_EINVAL, "response_format type '%.40s' is not supported",
				       t->valuestring);
	}
	const cJSON *lp = cJSON_GetObjectItemCaseSensitive(body, "logprobs");
	if (lp && cJSON_IsTrue(lp))
		return HRT_ERR(err, HRT_ENOTSUP, "logprobs are not supported");
	return hrt_sample_validate(&o->sample, err);
}

/* Go-style duration ("1h30m", "300ms", "-1s") into ns; false on garbage */
static bool parse_duration(const char *s, int64_t *ns)
{
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s)
		return false;
	double total = 0;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s || !isfinite(v) || v < 0)
			return false;
		s = end;
		double unit;
		if (!strncmp(s, "ns", 2)) unit = 1, s += 2;
		else if (!strncmp(s, "us", 2)) unit = 1e3, s += 2;
		else if (!strncmp(s, "\xc2\xb5s", 3)) unit = 1e3, s += 3;
		else if (!strncmp(s, "ms", 2)) unit = 1e6, s += 2;
		else if (*s == 's') unit = 1e9, s += 1;
		else if (*s == 'm') unit = 60e9, s += 1;
		else if (*s == 'h') unit = 3600e9, s += 1;
		else if (!*s) unit = 1e9; /* a bare number: seconds */
		else return false;
		total += v * unit;
		if (total > 3.2e17) /* ten years: as good as forever */
			total = 3.2e17;
	}
	*ns = neg ? -1 : (int64_t)total;
	return true;
}

int hrt_req_keep_alive(const cJSON *v, int64_t *ns, struct hrt_err *err)
{
	if (!v || cJSON_IsNull(v))
		return HRT_OK;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!isfinite(d))
			return HRT_ERR(err, HRT_EINVAL, "\"keep_alive\" must be a finite number of seconds");
		*ns = d < 0 ? -1 : (int64_t)(HRT_MIN(d, 3.2e8) * 1e9);
		return HRT_OK;
	}
	if (cJSON_IsString(v) && strlen(v->valuestring) < 64 && parse_duration(v->valuestring, ns))
		return HRT_OK;
	return HRT_ERR(err, HRT_EINVAL,
		       "\"keep_alive\" must be seconds or a duration such as \"5m\" (negative: keep loaded)");
}

int hrt_req_model(const cJSON *body, const char **model, struct hrt_err *err)
{
	const char *m = NULL;
	bool found;
	int rc = hrt_http_json_str(body, "model", HRT_REQ_NAME_MAX, &m, &found, err);
	if (rc)
		return rc;
	if (!found) /* older Ollama clients send "name" */
		if ((rc = hrt_http_json_str(body, "name", HRT_REQ_NAME_MAX, &m, &found, err)))
			return rc;
	if (!m || !*m)
		return HRT_ERR(err, HRT_EINVAL, "\"model\" is required");
	for (const char *p = m; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return HRT_ERR(err, HRT_EINVAL, "\"model\" contains a character not allowed in model names");
	*model = m;
	return HRT_OK;
}

/* ---------------- messages ---------------- */

void hrt_req_messages_free(struct hrt_req_msg *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		free(m[i].content);
	free(m);
}

static const char *norm_role(const char *r)
{
	static const char *const ok[] = { "system", "user", "assistant", "tool" };
	for (size_t i = 0; i < HRT_ARRAY_LEN(ok); i++)
		if (!strcmp(r, ok[i]))
			return ok[i];
	if (!strcmp(r, "developer"))
		return "system";
	if (!strcmp(r, "function"))
		return "tool";
	return NULL;
}

/* the text of "content": a string, null, or an array of parts */
static int content_text(const cJSON *c, int i, struct hrt_hbuf *b, struct hrt_err *err)
{
	if (!c || cJSON_IsNull(c))
		return HRT_OK;
	if (cJSON_IsString(c)) {
		hrt_hbuf_puts(b, c->valuestring);
		return HRT_OK;
	}
	if (!cJSON_IsArray(c))
		return HRT_ERR(err, HRT_EINVAL, "messages[%d].content must be a string or an array of parts", i);
	const cJSON *p;
	bool first = true;
	cJSON_ArrayForEach(p, c) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
		const cJSON *tx = cJSON_GetObjectItemCaseSensitive(p, "text");
		if (cJSON_IsString(p)) {
			tx = p;
		} else if (!cJSON_IsObject(p) || !cJSON_IsString(t)) {
			return HRT_ERR(err, HRT_EINVAL, "messages[%d].content parts must be {\"type\": ...}", i);
		} else if (strcmp(t->valuestring, "text") && strcmp(t->valuestring, "input_text")) {
			return HRT_ERR(err, HRT_ENOTSUP,
				       "messages[%d]: content of type '%.40s' is not supported (hearth serves text models)",
				       i, t->valuestring);
		}
		if (!cJSON_IsString(tx))
			return HRT_ERR(err, HRT_EINVAL, "messages[%d].content text parts need \"text\"", i);
		if (!first)
			hrt_hbuf_puts(b, "\n");
		hrt_hbuf_puts(b, tx->valuestring);
		first = false;
	}
	return HRT_OK;
}

int hrt_req_messages(const cJSON *msgs, enum hrt_chat_family f,
		     const cJSON *tools, const char *default_system,
		     struct hrt_req_msg **out, size_t *n_out, struct hrt_err *err)
{
	*out = NULL;
	*n_out = 0;
	if (!cJSON_IsArray(msgs))
		return HRT_ERR(err, HRT_EINVAL, "\"messages\" must be an array");
	int count = cJSON_GetArraySize(msgs);
	if (count > MAX_MESSAGES)
		return HRT_ERR(err, HRT_EINVAL, "more than %d messages", MAX_MESSAGES);
	struct hrt_req_msg *m = calloc((size_t)count + 1, sizeof(*m));
	if (!m)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	size_t n = 0;
	int rc = HRT_OK;
	bool has_system = false;
	/* slot 0 is kept for a system message we may add */
	n = 1;
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, msgs) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");
		if (!cJSON_IsObject(e) || !cJSON_IsString(role)) {
			rc = HRT_ERR(err, HRT_EINVAL, "messages[%d] must be an object with a \"role\"", i);
			goto out_free;
		}
		const char *r = norm_role(role->valuestring);
		if (!r) {
			rc = HRT_ERR(err, HRT_EINVAL,
				     "messages[%d].role '%.40s' is not one of system, user, assistant, tool",
				     i, role->valuestring);
			goto out_free;
		}
		const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(e, "images");
		if (imgs && cJSON_IsArray(imgs) && cJSON_GetArraySize(imgs) > 0) {
			rc = HRT_ERR(err, HRT_ENOTSUP, "messages[%d] has images: hearth serves text models only", i);
			goto out_free;
		}
		struct hrt_hbuf b;
		hrt_hbuf_init(&b, (size_t)64 << 20);
		rc = content_text(cJSON_GetObjectItemCaseSensitive(e, "content"), i, &b, err);
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(e, "tool_calls");
		if (!rc && calls && !cJSON_IsNull(calls) && !strcmp(r, "assistant")) {
			if (b.len)
				hrt_hbuf_puts(&b, "\n");
			rc = hrt_tools_render_calls(f, calls, &b, err);
		}
		if (!rc && b.oom)
			rc = HRT_ERR(err, HRT_ENOMEM, "message too large");
		if (rc) {
			hrt_hbuf_free(&b);
			goto out_free;
		}
		if (!b.p) {
			b.p = hrt_strdup("");
			if (!b.p) {
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out_free;
			}
		}
		if (!strcmp(r, "system") && n == 1 && !has_system) {
			/* the first system message goes to slot 0 */
			m[0].role = r;
			m[0].content = b.p;
			has_system = true;
		} else {
			m[n].role = r;
			m[n].content = b.p;
			n++;
		}
		i++;
	}
	/* the system message: given, or the model's default, plus tools */
	struct hrt_hbuf sys;
	hrt_hbuf_init(&sys, (size_t)64 << 20);
	if (has_system)
		hrt_hbuf_puts(&sys, m[0].content);
	else if (default_system)
		hrt_hbuf_puts(&sys, default_system);
	bool want_tools = tools && cJSON_IsArray(tools) && cJSON_GetArraySize(tools) > 0;
	if (want_tools) {
		if (sys.len)
			hrt_hbuf_puts(&sys, "\n\n");
		hrt_tools_prompt(f, tools, &sys);
	}
	if (sys.oom) {
		hrt_hbuf_free(&sys);
		rc = HRT_ERR(err, HRT_ENOMEM, "system message too large");
		goto out_free;
	}
	if (sys.len) {
		free(m[0].content);
		m[0].role = "system";
		m[0].content = sys.p;
	} else {
		hrt_hbuf_free(&sys);
	}
	if (!m[0].role) { /* no system message: shift left */
		memmove(m, m + 1, (n - 1) * sizeof(*m));
		n--;
	}
	*out = m;
	*n_out = n;
	return HRT_OK;
out_free:
	hrt_req_messages_free(m, n);
	return rc;
}
