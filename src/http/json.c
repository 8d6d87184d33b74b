/*
 * http/json — request JSON with caps, and the response buffer; see json.h.
 * The parser is cJSON; this file only adds what it lacks for hostile input
 * (a depth limit, typed and ranged getters).
 */
#include "http/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hrt_http_json_depth(const char *buf, size_t len, int max_depth,
			struct hrt_err *err)
{
	int depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return HRT_ERR(err, HRT_EFORMAT,
					       "JSON nests deeper than %d levels (byte %zu)",
					       max_depth, i);
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		}
	}
	return HRT_OK;
}

int hrt_http_json_parse(const char *buf, size_t len, int max_depth,
			cJSON **out, struct hrt_err *err)
{
	*out = NULL;
	if (len == 0)
		return HRT_ERR(err, HRT_EFORMAT, "the request body is empty; a JSON object is expected");
	int rc = hrt_http_json_depth(buf, len, max_depth, err);
	if (rc)
		return rc;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!j) {
		size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
		return HRT_ERR(err, HRT_EFORMAT, "the request body is not valid JSON (byte %zu)", off);
	}
	/* only whitespace may follow the value */
	for (const char *p = end; p && p < buf + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(j);
			return HRT_ERR(err, HRT_EFORMAT,
				       "unexpected data after the JSON value (byte %zu)",
				       (size_t)(p - buf));
		}
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return HRT_ERR(err, HRT_EFORMAT, "the request body must be a JSON object");
	}
	*out = j;
	return HRT_OK;
}

static const cJSON *field(const cJSON *o, const char *key, bool *found)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	if (v && cJSON_IsNull(v))
		v = NULL;
	if (found)
		*found = v != NULL;
	return v;
}

int hrt_http_json_int(const cJSON *o, const char *key, int64_t min, int64_t max,
		      int64_t *out, bool *found, struct hrt_err *err)
{
	const cJSON *v = field(o, key, found);
	if (!v)
		return HRT_OK;
	if (!cJSON_IsNumber(v))
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" must be an integer", key);
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" must be an integer", key);
	if (d < (double)min || d > (double)max)
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" is %.0f; it must be between %lld and %lld",
			       key, d, (long long)min, (long long)max);
	*out = (int64_t)d;
	return HRT_OK;
}

int hrt_http_json_num(const cJSON *o, const char *key, double min, double max,
		      double *out, bool *found, struct hrt_err *err)
{
	const cJSON *v = field(o, key, found);
	if (!v)
		return HRT_OK;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" must be a number", key);
	if (v->valuedouble < min || v->valuedouble > max)
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" is %g; it must be between %g and %g",
			       key, v->valuedouble, min, max);
	*out = v->valuedouble;
	return HRT_OK;
}

int hrt_http_json_bool(const cJSON *o, const char *key, bool *out,
		       bool *found, struct hrt_err *err)
{
	const cJSON *v = field(o, key, found);
	if (!v)
		return HRT_OK;
	if (!cJSON_IsBool(v))
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" must be true or false", key);
	*out = cJSON_IsTrue(v);
	return HRT_OK;
}

int hrt_http_json_str(const cJSON *o, const char *key, size_t max_len,
		      const char **out, bool *found, struct hrt_err *err)
{
	const cJSON *v = field(o, key, found);
	if (!v)
		return HRT_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" must be a string", key);
	if (strlen(v->valuestring) > max_len)
		return HRT_ERR(err, HRT_EINVAL, "\"%s\" is longer than %zu bytes", key, max_len);
	*out = v->valuestring;
	return HRT_OK;
}

/* ---------------- response buffer ---------------- */

void hrt_hbuf_init(struct hrt_hbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void hrt_hbuf_free(struct hrt_hbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool reserve(struct hrt_hbuf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (extra > b->max || b->len > b->max - extra) {
		b->oom = true;
		return false;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void hrt_hbuf_put(struct hrt_hbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void hrt_hbuf_puts(struct hrt_hbuf *b, const char *s)
{
	hrt_hbuf_put(b, s, strlen(s));
}

void hrt_hbuf_printf(struct hrt_hbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void hrt_hbuf_json(struct hrt_hbuf *b, const cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	if (!s) {
		b->oom = true;
		return;
	}
	hrt_hbuf_puts(b, s);
	cJSON_free(s);
}

void hrt_hbuf_json_str(struct hrt_hbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	hrt_hbuf_put(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		hrt_hbuf_put(b, s + run, i - run);
		run = i + 1;
		char e[7] = { '\\', 0 };
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			hrt_hbuf_put(b, e, 6);
			continue;
		}
		hrt_hbuf_put(b, e, 2);
	}
	hrt_hbuf_put(b, s + run, n - run);
	hrt_hbuf_put(b, "\"", 1);
}

void hrt_hbuf_consume(struct hrt_hbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->p, b->p + n, b->len - n);
		b->len -= n;
	}
	if (b->p)
		b->p[b->len] = 0;
}

bool hrt_http_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		int k;
		unsigned cp, min;
		if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; min = 0x80; }
		else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; min = 0x800; }
		else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; min = 0x10000; }
		else return false;
		if (n - i <= (size_t)k)
			return false;
		for (int j = 1; j <= k; j++) {
			if ((p[i + (size_t)j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + (size_t)j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += (size_t)k + 1;
	}
	return true;
}
