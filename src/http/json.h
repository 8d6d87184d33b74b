/*
 * http/json — the one place request bodies become JSON: a depth pre-scan
 * over the raw bytes (cJSON recurses once per nesting level, so a body of
 * 100k brackets must be refused before it reaches the parser), parsing with
 * the size cap, typed field getters that check type and range and name the
 * field in their error, and a capped output buffer for response bodies.
 *
 * Not here: what the fields mean (http/ollama, http/openai, http/req).
 */
#ifndef HRT_HTTP_JSON_H
#define HRT_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/err.h"

/* Nesting deeper than this in a request is refused by default. */
#define HRT_HTTP_JSON_DEPTH 64

/* Scan buf[0..len) (any bytes) and fail with HRT_EFORMAT, naming the byte
 * offset, when arrays/objects nest deeper than max_depth. Brackets inside
 * strings (escapes included) do not count. Linear time, no allocation.
 * Malformed JSON that stays within the depth passes: the parser judges it. */
int hrt_http_json_depth(const char *buf, size_t len, int max_depth,
			struct hrt_err *err);

/* Pre-scan, then parse. The whole buffer must be one JSON object (only
 * whitespace after it). On success *out is owned by the caller
 * (cJSON_Delete). Errors: HRT_EFORMAT (not JSON, not an object, too deep;
 * the message names the offset). */
int hrt_http_json_parse(const char *buf, size_t len, int max_depth,
			cJSON **out, struct hrt_err *err);

/* Typed getters on an object's field. A missing field or JSON null leaves
 * *out untouched and returns HRT_OK with *found (may be NULL) false; a wrong
 * type or a value outside [min, max] is HRT_EINVAL naming the field. */
int hrt_http_json_int(const cJSON *o, const char *key, int64_t min, int64_t max,
		      int64_t *out, bool *found, struct hrt_err *err);
int hrt_http_json_num(const cJSON *o, const char *key, double min, double max,
		      double *out, bool *found, struct hrt_err *err);
int hrt_http_json_bool(const cJSON *o, const char *key, bool *out,
		       bool *found, struct hrt_err *err);
/* *out points into the cJSON tree (valid while it lives); max_len caps the
 * byte length */
int hrt_http_json_str(const cJSON *o, const char *key, size_t max_len,
		      const char **out, bool *found, struct hrt_err *err);

/* --- response buffer: grows up to a cap, then stays failed --- */
struct hrt_hbuf {
	char *p;
	size_t len, cap, max;
	bool oom;   /* an append failed or hit max: the content is incomplete */
};

void hrt_hbuf_init(struct hrt_hbuf *b, size_t max);
void hrt_hbuf_free(struct hrt_hbuf *b);
void hrt_hbuf_put(struct hrt_hbuf *b, const char *s, size_t n);
void hrt_hbuf_puts(struct hrt_hbuf *b, const char *s);
void hrt_hbuf_printf(struct hrt_hbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* append cJSON_PrintUnformatted(j) (j is not freed) */
void hrt_hbuf_json(struct hrt_hbuf *b, const cJSON *j);
/* append s as a JSON string literal, quotes included */
void hrt_hbuf_json_str(struct hrt_hbuf *b, const char *s, size_t n);
/* drop the first n bytes */
void hrt_hbuf_consume(struct hrt_hbuf *b, size_t n);

/* Valid UTF-8 check (no overlongs, surrogates or > U+10FFFF). */
bool hrt_http_utf8_ok(const char *s, size_t n);

#endif
