/*
 * store/names — the strict parsers every outside string goes through
 * before the store uses it: digests ("sha256:" + 64 lower-case hex), model
 * names (host/ns/model:tag, the OCI distribution rules for repository
 * path components and tags), and PARAMETER keys and values.
 * Pure functions: no I/O, no allocation except the stop strings.
 * References: OCI distribution-spec "Pulling manifests" (name and tag
 * grammar), image-spec descriptor.md (digests).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"
#include "store/store_int.h"

/* Copy len bytes of untrusted text for an error message: printable ASCII
 * kept, the rest as '?', cut at cap - 4 with "...". */
void st_printable(const char *s, size_t len, char *out, size_t cap)
{
	size_t k = 0;
	if (cap == 0)
		return;
	for (size_t i = 0; i < len && k + 1 < cap; i++) {
		if (k + 4 >= cap && i + 1 < len) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
		unsigned char c = (unsigned char)s[i];
		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[k] = 0;
}

/* ---- digests ---- */

int hrt_digest_parse(const char *s, size_t len, struct hrt_digest *out,
		     struct hrt_err *err)
{
	char shown[96];
	if (!s)
		return HRT_ERR(err, HRT_EFORMAT, "missing digest");
	st_printable(s, len, shown, sizeof shown);
	if (len < 7 || memcmp(s, "sha256:", 7) != 0)
		return HRT_ERR(err, HRT_EFORMAT,
			       "digest '%s' is not of the form sha256:<64 hex digits>", shown);
	if (len != 7 + 64)
		return HRT_ERR(err, HRT_EFORMAT,
			       "digest '%s' has %zu characters after 'sha256:', not 64", shown,
			       len - 7);
	for (size_t i = 7; i < len; i++) {
		char c = s[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
			continue;
		if (c >= 'A' && c <= 'F')
			return HRT_ERR(err, HRT_EFORMAT,
				       "digest '%s' has upper-case hex; digests are lower case", shown);
		return HRT_ERR(err, HRT_EFORMAT,
			       "digest '%s' has a character that is not a hex digit at position %zu",
			       shown, i);
	}
	memcpy(out->hex, s + 7, 64);
	out->hex[64] = 0;
	return HRT_OK;
}

void hrt_digest_str(const struct hrt_digest *d, char *out, size_t cap)
{
	snprintf(out, cap, "sha256:%s", d->hex);
}

void hrt_digest_of(const void *buf, size_t len, struct hrt_digest *out)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, buf, len);
	sodium_bin2hex(out->hex, sizeof out->hex, h, sizeof h);
}

/* ---- names ---- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* OCI path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *p, size_t n)
{
	size_t i = 0;
	if (n == 0 || n > 128)
		return false;
	for (;;) {
		if (i >= n || !is_lower_alnum(p[i]))
			return false;
		while (i < n && is_lower_alnum(p[i]))
			i++;
		if (i == n)
			return true;
		if (p[i] == '.') {
			i++;
		} else if (p[i] == '_') {
			i++;
			if (i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return false;
		}
	}
}

/* lower-case DNS labels separated by dots, optional :port */
static bool host_ok(const char *p, size_t n)
{
	size_t end = n;
	const char *colon = memchr(p, ':', n);
	if (colon) {
		end = (size_t)(colon - p);
		size_t pl = n - end - 1;
		if (pl == 0 || pl > 5)
			return false;
		unsigned port = 0;
		for (size_t i = end + 1; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return false;
			port = port * 10 + (unsigned)(p[i] - '0');
		}
		if (port == 0 || port > 65535)
			return false;
	}
	if (end == 0 || end > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < end; i++) {
		char c = p[i];
		if (c == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_lower_alnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && p[end - 1] != '-';
}

static bool tag_ok(const char *p, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_';
		if (!word && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

static bool has_upper(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return true;
	return false;
}

int hrt_name_parse(const char *s, struct hrt_name *out, struct hrt_err *err)
{
	char shown[160];
	if (!s || !*s)
		return HRT_ERR(err, HRT_EINVAL, "empty model name");
	size_t len = strlen(s);
	st_printable(s, len, shown, sizeof shown);
	if (len > 600)
		return HRT_ERR(err, HRT_EINVAL, "model name '%s' is too long", shown);
	if (memchr(s, '@', len))
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s': references by digest (name@sha256:...) are not supported; use a tag",
			       shown);
	memset(out, 0, sizeof *out);
	const char *slash = strrchr(s, '/');
	const char *colon = strrchr(slash ? slash : s, ':');
	size_t plen = colon ? (size_t)(colon - s) : len;
	if (colon) {
		size_t tl = len - plen - 1;
		if (!tag_ok(colon + 1, tl))
			return HRT_ERR(err, HRT_EINVAL,
				       "'%s': bad tag (letters, digits, '_', '.', '-'; up to 128, not starting with '.' or '-')",
				       shown);
		memcpy(out->tag, colon + 1, tl);
	} else {
		strcpy(out->tag, "latest");
	}
	const char *part[4];
	size_t plens[4];
	size_t np = 0;
	const char *p = s, *end = s + plen;
	while (np < 4) {
		const char *q = memchr(p, '/', (size_t)(end - p));
		if (!q)
			q = end;
		part[np] = p;
		plens[np] = (size_t)(q - p);
		np++;
		if (q == end)
			break;
		p = q + 1;
	}
	if (np > 3 || (np == 4))
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s': a name has at most three parts, host/namespace/model", shown);
	const char *host = NULL, *ns = NULL, *model = part[np - 1];
	size_t hl = 0, nl = 0, ml = plens[np - 1];
	if (np == 3) {
		host = part[0];
		hl = plens[0];
		ns = part[1];
		nl = plens[1];
	} else if (np == 2) {
		ns = part[0];
		nl = plens[0];
	}
	if (host && !host_ok(host, hl))
		return HRT_ERR(err, HRT_EINVAL, "'%s': bad registry host%s", shown,
			       has_upper(host, hl) ? " (host names are lower case)" : "");
	if (ns && !component_ok(ns, nl))
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s': bad namespace (lower-case letters and digits, separated by '.', '_' or '-'; up to 128)%s",
			       shown, has_upper(ns, nl) ? "; names are lower case" : "");
	if (!component_ok(model, ml))
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s': bad model name (lower-case letters and digits, separated by '.', '_' or '-'; up to 128)%s",
			       shown, has_upper(model, ml) ? "; names are lower case" : "");
	if (host)
		memcpy(out->host, host, hl);
	else
		strcpy(out->host, HRT_NAME_DEFAULT_HOST);
	if (ns)
		memcpy(out->ns, ns, nl);
	else
		strcpy(out->ns, "library");
	memcpy(out->model, model, ml);
	return HRT_OK;
}

void hrt_name_str(const struct hrt_name *n, char *out, size_t cap)
{
	if (strcmp(n->host, HRT_NAME_DEFAULT_HOST) != 0)
		snprintf(out, cap, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
	else if (strcmp(n->ns, "library") != 0)
		snprintf(out, cap, "%s/%s:%s", n->ns, n->model, n->tag);
	else
		snprintf(out, cap, "%s:%s", n->model, n->tag);
}

void hrt_name_full(const struct hrt_name *n, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
}

bool hrt_name_eq(const struct hrt_name *a, const struct hrt_name *b)
{
	return !strcmp(a->host, b->host) && !strcmp(a->ns, b->ns) &&
	       !strcmp(a->model, b->model) && !strcmp(a->tag, b->tag);
}

bool hrt_name_is_remote(const struct hrt_name *n)
{
	return strcmp(n->host, HRT_NAME_DEFAULT_HOST) != 0;
}

/* ---- PARAMETER keys and values ---- */

enum pkind { P_FLOAT, P_INT, P_STR };
static const struct {
	const char *name;
	enum pkind kind;
	double lo, hi;
} ptab[HRT_P_COUNT] = {
	[HRT_P_TEMPERATURE] = { "temperature", P_FLOAT, 0, 100 },
	[HRT_P_TOP_K] = { "top_k", P_INT, 0, 1 << 30 },
	[HRT_P_TOP_P] = { "top_p", P_FLOAT, 0, 1 },
	[HRT_P_MIN_P] = { "min_p", P_FLOAT, 0, 1 },
	[HRT_P_REPEAT_PENALTY] = { "repeat_penalty", P_FLOAT, 0, 100 },
	[HRT_P_REPEAT_LAST_N] = { "repeat_last_n", P_INT, -1, 1 << 30 },
	[HRT_P_PRESENCE_PENALTY] = { "presence_penalty", P_FLOAT, -100, 100 },
	[HRT_P_FREQUENCY_PENALTY] = { "frequency_penalty", P_FLOAT, -100, 100 },
	[HRT_P_SEED] = { "seed", P_INT, -1, 9007199254740992.0 },
	[HRT_P_STOP] = { "stop", P_STR, 1, 255 },
	[HRT_P_NUM_CTX] = { "num_ctx", P_INT, 1, 1 << 24 },
	[HRT_P_NUM_PREDICT] = { "num_predict", P_INT, -2, 1 << 30 },
};

const char *hrt_store_param_name(enum hrt_store_param p)
{
	return (unsigned)p < HRT_P_COUNT ? ptab[p].name : NULL;
}

static int param_find(const char *key)
{
	for (int i = 0; i < HRT_P_COUNT; i++)
		if (!strcmp(ptab[i].name, key))
			return i;
	return -1;
}

static int unknown_key(const char *key, struct hrt_err *err)
{
	char shown[64];
	st_printable(key, strlen(key), shown, sizeof shown);
	return HRT_ERR(err, HRT_EINVAL,
		       "unknown PARAMETER '%s' (known: temperature, top_k, top_p, min_p, repeat_penalty, "
		       "repeat_last_n, presence_penalty, frequency_penalty, seed, stop, num_ctx, num_predict)",
		       shown);
}

int st_param_set_num(struct hrt_store_params *p, int i, double v,
		     struct hrt_err *err)
{
	if (!isfinite(v) || v < ptab[i].lo || v > ptab[i].hi ||
	    (ptab[i].kind == P_INT && v != floor(v)))
		return HRT_ERR(err, HRT_ERANGE, "PARAMETER %s: %g is out of range (%s %.0f..%.0f)",
			       ptab[i].name, v, ptab[i].kind == P_INT ? "an integer" : "a number",
			       ptab[i].lo, ptab[i].hi);
	switch (i) {
	case HRT_P_TEMPERATURE: p->temperature = (float)v; break;
	case HRT_P_TOP_K: p->top_k = (int32_t)v; break;
	case HRT_P_TOP_P: p->top_p = (float)v; break;
	case HRT_P_MIN_P: p->min_p = (float)v; break;
	case HRT_P_REPEAT_PENALTY: p->repeat_penalty = (float)v; break;
	case HRT_P_REPEAT_LAST_N: p->repeat_last_n = (int32_t)v; break;
	case HRT_P_PRESENCE_PENALTY: p->presence_penalty = (float)v; break;
	case HRT_P_FREQUENCY_PENALTY: p->frequency_penalty = (float)v; break;
	case HRT_P_SEED: p->seed = (int64_t)v; break;
	case HRT_P_NUM_CTX: p->num_ctx = (int32_t)v; break;
	case HRT_P_NUM_PREDICT: p->num_predict = (int32_t)v; break;
	default: return HRT_ERR(err, HRT_EINVAL, "PARAMETER %s is not a number", ptab[i].name);
	}
	p->set |= 1u << i;
	return HRT_OK;
}

int st_param_add_stop(struct hrt_store_params *p, const char *v, size_t n,
		      struct hrt_err *err)
{
	if (n == 0 || n > 255 || memchr(v, 0, n))
		return HRT_ERR(err, HRT_ERANGE, "PARAMETER stop: a stop text has 1 to 255 bytes");
	if (p->n_stop >= HRT_STORE_MAX_STOPS)
		return HRT_ERR(err, HRT_ERANGE, "PARAMETER stop: at most %d stop texts",
			       HRT_STORE_MAX_STOPS);
	char *c = hrt_strndup(v, n);
	if (!c)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	p->stop[p->n_stop++] = c;
	p->set |= 1u << HRT_P_STOP;
	return HRT_OK;
}

int hrt_store_param_set(struct hrt_store_params *p, const char *key,
			const char *value, struct hrt_err *err)
{
	int i = param_find(key);
	if (i < 0)
		return unknown_key(key, err);
	if (ptab[i].kind == P_STR)
		return st_param_add_stop(p, value, strlen(value), err);
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	while (end && (*end == ' ' || *end == '\t'))
		end++;
	if (errno || end == value || *end) {
		char shown[64];
		st_printable(value, strlen(value), shown, sizeof shown);
		return HRT_ERR(err, HRT_ERANGE, "PARAMETER %s: '%s' is not a number", key, shown);
	}
	return st_param_set_num(p, i, v, err);
}

int hrt_store_params_copy(struct hrt_store_params *dst,
			  const struct hrt_store_params *src)
{
	*dst = *src;
	for (size_t i = 0; i < src->n_stop; i++) {
		dst->stop[i] = hrt_strdup(src->stop[i]);
		if (!dst->stop[i]) {
			dst->n_stop = i;
			hrt_store_params_free(dst);
			return HRT_ENOMEM;
		}
	}
	return HRT_OK;
}

void hrt_store_params_free(struct hrt_store_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_stop; i++)
		free(p->stop[i]);
	memset(p, 0, sizeof *p);
}
