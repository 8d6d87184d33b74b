/*
 * http/tools — tool definitions into prompts, tool calls out of model
 * text; see tools.h for the formats. The prompt wording is ours; the
 * markers and JSON shapes are the ones each family's models emit.
 */
#include "http/tools.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MAX_CALLS 64

static const char *const markers[] = { "<|tool_call|>", "<tool_call>", "[TOOL_CALLS]",
				       "<|python_tag|>" };

static bool is_mistral(enum hrt_chat_family f)
{
	return f == HRT_CHAT_MISTRAL_V1 || f == HRT_CHAT_MISTRAL_V3 ||
	       f == HRT_CHAT_MISTRAL_V3_TEKKEN || f == HRT_CHAT_MISTRAL_V7 ||
	       f == HRT_CHAT_MISTRAL_V7_TEKKEN;
}

int hrt_tools_validate(const cJSON *tools, struct hrt_err *err)
{
	if (!cJSON_IsArray(tools))
		return HRT_ERR(err, HRT_EINVAL, "\"tools\" must be an array");
	int i = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *ty = cJSON_GetObjectItemCaseSensitive(t, "type");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
		if (!cJSON_IsObject(t) || !cJSON_IsObject(fn) ||
		    (ty && !cJSON_IsNull(ty) && (!cJSON_IsString(ty) || strcmp(ty->valuestring, "function"))))
			return HRT_ERR(err, HRT_EINVAL,
				       "tools[%d] must be {\"type\": \"function\", \"function\": {...}}", i);
		if (!cJSON_IsString(nm) || !*nm->valuestring || strlen(nm->valuestring) > 256)
			return HRT_ERR(err, HRT_EINVAL, "tools[%d].function.name must be a non-empty string", i);
		i++;
	}
	return HRT_OK;
}

/* one line of JSON per tool: its "function" object */
static void put_tool_lines(const cJSON *tools, struct hrt_hbuf *out, bool wrap)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		if (wrap)
			hrt_hbuf_json(out, t);
		else
			hrt_hbuf_json(out, fn);
		hrt_hbuf_puts(out, "\n");
	}
}

void hrt_tools_prompt(enum hrt_chat_family f, const cJSON *tools,
		      struct hrt_hbuf *out)
{
	if (f == HRT_CHAT_GRANITE) {
		hrt_hbuf_puts(out,
			"You are a helpful assistant with access to the tools listed below. "
			"When a tool is needed to answer the user, reply only with <|tool_call|> "
			"followed by a JSON list of calls, each {\"name\": <tool name>, \"arguments\": "
			"{<argument>: <value>}}. If no listed tool fits, say so and answer normally.\n\n"
			"Tools:\n");
		put_tool_lines(tools, out, true);
	} else if (f == HRT_CHAT_LLAMA3) {
		hrt_hbuf_puts(out,
			"You can call the functions listed below. To call one, reply only with a JSON "
			"object {\"name\": <function name>, \"parameters\": {<argument>: <value>}} and "
			"nothing else. Use literal values, not variables. If no function fits, answer "
			"normally.\n\nFunctions:\n");
		put_tool_lines(tools, out, true);
	} else if (is_mistral(f)) {
		hrt_hbuf_puts(out, "Available tools:\n");
		put_tool_lines(tools, out, true);
		hrt_hbuf_puts(out,
			"\nTo call tools, reply only with [TOOL_CALLS] followed by a JSON list of calls, "
			"each {\"name\": <tool name>, \"arguments\": {<argument>: <value>}}.");
	} else {
		hrt_hbuf_puts(out,
			"# Tools\n\nYou may call one or more of the functions whose signatures are given "
			"inside <tools></tools>:\n<tools>\n");
		put_tool_lines(tools, out, true);
		hrt_hbuf_puts(out,
			"</tools>\n\nFor each call, reply with a JSON object holding the function name "
			"and its arguments inside <tool_call></tool_call> tags:\n<tool_call>\n"
			"{\"name\": <function name>, \"arguments\": <arguments as a JSON object>}\n"
			"</tool_call>");
	}
}

/* name + arguments text of one request-side call (OpenAI or Ollama) */
static int call_parts(const cJSON *c, const char **name, char **args, int i,
		      struct hrt_err *err)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(fn, "name");
	if (!cJSON_IsObject(fn) || !cJSON_IsString(nm))
		return HRT_ERR(err, HRT_EINVAL, "tool_calls[%d] must have function.name", i);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
	*name = nm->valuestring;
	if (!a || cJSON_IsNull(a))
		*args = hrt_strdup("{}");
	else if (cJSON_IsString(a))
		*args = hrt_strdup(a->valuestring);
	else if (cJSON_IsObject(a))
		*args = cJSON_PrintUnformatted(a);
	else
		return HRT_ERR(err, HRT_EINVAL, "tool_calls[%d].function.arguments must be an object or a string", i);
	if (!*args)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	return HRT_OK;
}

static void put_call(struct hrt_hbuf *out, const char *name, const char *args,
		     const char *args_key)
{
	hrt_hbuf_puts(out, "{\"name\": ");
	hrt_hbuf_json_str(out, name, strlen(name));
	hrt_hbuf_printf(out, ", \"%s\": %s}", args_key, *args ? args : "{}");
}

int hrt_tools_render_calls(enum hrt_chat_family f, const cJSON *calls,
			   struct hrt_hbuf *out, struct hrt_err *err)
{
	if (!cJSON_IsArray(calls))
		return HRT_ERR(err, HRT_EINVAL, "\"tool_calls\" must be an array");
	bool list = f == HRT_CHAT_GRANITE || is_mistral(f);
	if (f == HRT_CHAT_GRANITE)
		hrt_hbuf_puts(out, "<|tool_call|>[");
	else if (is_mistral(f))
		hrt_hbuf_puts(out, "[TOOL_CALLS][");
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, calls) {
		const char *name = NULL;
		char *args = NULL;
		int rc = call_parts(c, &name, &args, i, err);
		if (rc)
			return rc;
		if (list) {
			if (i)
				hrt_hbuf_puts(out, ", ");
			put_call(out, name, args, "arguments");
		} else if (f == HRT_CHAT_LLAMA3) {
			if (i)
				hrt_hbuf_puts(out, "; ");
			put_call(out, name, args, "parameters");
		} else {
			if (i)
				hrt_hbuf_puts(out, "\n");
			hrt_hbuf_puts(out, "<tool_call>\n");
			put_call(out, name, args, "arguments");
			hrt_hbuf_puts(out, "\n</tool_call>");
		}
		free(args);
		i++;
	}
	if (list)
		hrt_hbuf_puts(out, "]");
	return HRT_OK;
}

/* ---------------- extraction ---------------- */

struct vec {
	struct hrt_tool_call *v;
	size_t n;
	bool oom;
};

static void vec_add(struct vec *c, const char *name, size_t nlen, const cJSON *args)
{
	if (c->n >= MAX_CALLS || c->oom)
		return;
	struct hrt_tool_call *nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	if (!nv) {
		c->oom = true;
		return;
	}
	c->v = nv;
	char *nm = hrt_strndup(name, nlen);
	char *a;
	if (!args || cJSON_IsNull(args))
		a = hrt_strdup("{}");
	else if (cJSON_IsString(args))
		a = hrt_strdup(args->valuestring);
	else
		a = cJSON_PrintUnformatted(args);
	if (!nm || !a) {
		free(nm);
		if (a)
			cJSON_free(a);
		c->oom = true;
		return;
	}
	/* cJSON_free and free are the same allocator unless hooks are set;
	 * copy to keep one rule for the caller */
	char *ac = hrt_strdup(a);
	cJSON_free(a);
	if (!ac) {
		free(nm);
		c->oom = true;
		return;
	}
	c->v[c->n].name = nm;
	c->v[c->n].arguments = ac;
	c->n++;
}

/* one call object: {"name": …, "arguments"|"parameters": …} */
static bool add_obj(struct vec *c, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return false;
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "function");
	if (!cJSON_IsString(nm) && cJSON_IsObject(fn)) { /* {"function": {...}} */
		o = fn;
		nm = cJSON_GetObjectItemCaseSensitive(o, "name");
	}
	if (!cJSON_IsString(nm) || !*nm->valuestring)
		return false;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "arguments");
	if (!a)
		a = cJSON_GetObjectItemCaseSensitive(o, "parameters");
	if (a && !cJSON_IsObject(a) && !cJSON_IsString(a) && !cJSON_IsNull(a))
		return false;
	vec_add(c, nm->valuestring, strlen(nm->valuestring), a);
	return true;
}

/* Parse the JSON value at s (trailing text allowed); add its calls (an
 * object or an array of objects). Returns the bytes consumed, 0 when none. */
static size_t add_json(struct vec *c, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == n || (s[i] != '{' && s[i] != '['))
		return 0;
	if (hrt_http_json_depth(s + i, n - i, HRT_HTTP_JSON_DEPTH, NULL))
		return 0;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s + i, n - i, &end, false);
	if (!j)
		return 0;
	bool ok = true;
	size_t before = c->n;
	if (cJSON_IsArray(j)) {
		const cJSON *e;
		cJSON_ArrayForEach(e, j)
			ok = ok && add_obj(c, e);
	} else {
		ok = add_obj(c, j);
	}
	cJSON_Delete(j);
	if (!ok || c->n == before)
		return 0;
	return (size_t)(end - s);
}

static const char *find(const char *s, size_t n, const char *m)
{
	size_t ml = strlen(m);
	for (size_t i = 0; i + ml <= n; i++)
		if (s[i] == m[0] && !memcmp(s + i, m, ml))
			return s + i;
	return NULL;
}

/* after "[TOOL_CALLS]": a JSON list, or name[ARGS]{...} (newer Mistral) */
static void mistral_calls(struct vec *c, const char *s, size_t n)
{
	while (n > 0) {
		size_t k = add_json(c, s, n);
		if (k) {
			s += k;
			n -= k;
		} else {
			const char *args = find(s, n, "[ARGS]");
			if (!args)
				return;
			const char *nm = s;
			size_t nl = (size_t)(args - s);
			while (nl && (*nm == ' ' || *nm == '\n')) {
				nm++;
				nl--;
			}
			const char *a = args + 6;
			size_t an = n - (size_t)(a - s);
			const char *end = NULL;
			cJSON *j = cJSON_ParseWithLengthOpts(a, an, &end, false);
			if (!j || !nl || hrt_http_json_depth(a, (size_t)(end - a), HRT_HTTP_JSON_DEPTH, NULL)) {
				cJSON_Delete(j);
				return;
			}
			vec_add(c, nm, nl, j);
			cJSON_Delete(j);
			n -= (size_t)(end - s);
			s = end;
		}
		const char *next = find(s, n, "[TOOL_CALLS]");
		if (!next)
			return;
		n -= (size_t)(next + 12 - s);
		s = next + 12;
	}
}

int hrt_tools_extract(enum hrt_chat_family f, const char *text, size_t len,
		      struct hrt_tool_call **calls, size_t *n,
		      size_t *content_len, struct hrt_err *err)
{
	*calls = NULL;
	*n = 0;
	*content_len = len;
	struct vec c = { 0 };
	/* the earliest marker of any family */
	const char *first = NULL;
	int which = -1;
	for (int k = 0; k < (int)HRT_ARRAY_LEN(markers); k++) {
		const char *p = find(text, len, markers[k]);
		if (p && (!first || p < first)) {
			first = p;
			which = k;
		}
	}
	if (first) {
		const char *m = markers[which];
		size_t ml = strlen(m);
		const char *p = first;
		if (which == 1) { /* <tool_call> ... </tool_call>, repeated */
			while (p) {
				const char *body = p + ml;
				size_t rest = len - (size_t)(body - text);
				const char *close = find(body, rest, "</tool_call>");
				size_t bl = close ? (size_t)(close - body) : rest;
				add_json(&c, body, bl);
				if (!close)
					break;
				const char *after = close + 12;
				p = find(after, len - (size_t)(after - text), m);
			}
		} else if (which == 2) {
			mistral_calls(&c, first + ml, len - (size_t)(first + ml - text));
		} else { /* granite, python_tag: JSON after the marker, maybe repeated or ';'-joined */
			while (p) {
				const char *body = p + ml;
				size_t rest = len - (size_t)(body - text);
				for (;;) {
					size_t k = add_json(&c, body, rest);
					if (!k)
						break;
					body += k;
					rest -= k;
					while (rest && (*body == ' ' || *body == '\n'))
						body++, rest--;
					if (rest && *body == ';')
						body++, rest--;
					else if (!rest || (*body != '{' && *body != '['))
						break;
				}
				p = find(body, rest, m);
			}
		}
		if (c.n)
			*content_len = (size_t)(first - text);
	} else {
		/* a bare JSON call as the whole answer (Llama 3's own form;
		 * other small models fall into it too) */
		size_t i = 0;
		while (i < len && (text[i] == ' ' || text[i] == '\n'))
			i++;
		if (i < len && (text[i] == '{' || (text[i] == '[' && f == HRT_CHAT_LLAMA3))) {
			const char *s = text + i;
			size_t rest = len - i;
			for (;;) {
				size_t k = add_json(&c, s, rest);
				if (!k)
					break;
				s += k;
				rest -= k;
				while (rest && (*s == ' ' || *s == '\n' || *s == ';'))
					s++, rest--;
			}
			/* only when nothing but calls was written */
			if (c.n && rest == 0) {
				*content_len = 0;
			} else {
				hrt_tool_calls_free(c.v, c.n);
				c.v = NULL;
				c.n = 0;
			}
		}
	}
	if (c.oom) {
		hrt_tool_calls_free(c.v, c.n);
		*content_len = len;
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	if (!c.n)
		*content_len = len;
	*calls = c.v;
	*n = c.n;
	return HRT_OK;
}

void hrt_tool_calls_free(struct hrt_tool_call *calls, size_t n)
{
	for (size_t i = 0; i < n && calls; i++) {
		free(calls[i].name);
		free(calls[i].arguments);
	}
	free(calls);
}

size_t hrt_tools_hold_from(enum hrt_chat_family f, const char *text, size_t len)
{
	size_t hold = len;
	for (size_t k = 0; k < HRT_ARRAY_LEN(markers); k++) {
		const char *m = markers[k];
		size_t ml = strlen(m);
		const char *p = find(text, len, m);
		if (p) {
			hold = HRT_MIN(hold, (size_t)(p - text));
			continue;
		}
		/* a partial marker at the very end */
		for (size_t l = HRT_MIN(ml - 1, len); l > 0; l--) {
			if (!memcmp(text + len - l, m, l)) {
				hold = HRT_MIN(hold, len - l);
				break;
			}
		}
	}
	/* a bare JSON answer may be a call: hold it all */
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\n'))
		i++;
	if (i == len || text[i] == '{' || (f == HRT_CHAT_LLAMA3 && text[i] == '['))
		hold = 0;
	return hold;
}
