/*
 * prov/common — small pieces every prov file uses: libsodium start-up,
 * hex and base64 (libsodium's codecs), strict JSON access over cJSON,
 * crash-safe file writes, UTC time text, and the readable report.
 * Not here: anything about a particular format.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "prov/prov_int.h"

/* ------------------------------------------------------------ sodium */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ok;

static void sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

bool prov_sodium_ready(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_ok;
}

/* --------------------------------------------------------------- hex */

void hrt_prov_hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool prov_is_hex(const char *s, size_t n_chars)
{
	if (!s || strlen(s) != n_chars)
		return false;
	for (size_t i = 0; i < n_chars; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

bool prov_unhex(const char *s, uint8_t *out, size_t n)
{
	if (!prov_is_hex(s, 2 * n))
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	return true;
}

bool hrt_prov_id_valid(const char *s)
{
	if (!s || strncmp(s, HRT_PROV_ID_PREFIX, 6))
		return false;
	for (const char *p = s + 6; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return strlen(s) == HRT_PROV_ID_STRLEN;
}

/* ------------------------------------------------------------ base64 */

int prov_b64_decode(const char *s, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!prov_sodium_ready())
		return HRT_ENOMEM;
	size_t n = strlen(s);
	size_t cap = n / 4 * 3 + 3;
	uint8_t *b = malloc(cap ? cap : 1);
	if (!b)
		return HRT_ENOMEM;
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	for (size_t v = 0; v < HRT_ARRAY_LEN(variants); v++) {
		size_t got = 0;
		const char *end = NULL;
		if (sodium_base642bin(b, cap, s, n, NULL, &got, &end, variants[v]) == 0 &&
		    end == s + n) {
			*out = b;
			*len = got;
			return HRT_OK;
		}
	}
	free(b);
	return HRT_EFORMAT;
}

char *prov_b64_encode(const uint8_t *b, size_t n)
{
	if (!prov_sodium_ready())
		return NULL;
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* -------------------------------------------------------------- JSON */

static int json_depth(const cJSON *j, int d)
{
	if (d > PROV_JSON_MAX_DEPTH)
		return d;
	int m = d;
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		int k = json_depth(c, d + 1);
		if (k > m)
			m = k;
		if (m > PROV_JSON_MAX_DEPTH)
			break;
	}
	return m;
}

/* nesting depth by scanning the text, before cJSON recurses into it */
static bool text_too_deep(const char *b, size_t n)
{
	int d = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++d > PROV_JSON_MAX_DEPTH)
				return true;
		} else if (c == '}' || c == ']') {
			d--;
		}
	}
	return false;
}

cJSON *prov_json_parse(const char *buf, size_t len, const char *what,
		       struct hrt_err *err)
{
	if (!buf || len == 0) {
		HRT_ERR(err, HRT_EFORMAT, "%s: empty", what);
		return NULL;
	}
	if (len > HRT_PROV_MAX_POLICY + HRT_PROV_MAX_RECORD) {
		HRT_ERR(err, HRT_EFORMAT, "%s: larger than the cap", what);
		return NULL;
	}
	if (memchr(buf, 0, len)) {
		HRT_ERR(err, HRT_EFORMAT, "%s: contains a NUL byte", what);
		return NULL;
	}
	if (text_too_deep(buf, len)) {
		HRT_ERR(err, HRT_EFORMAT, "%s: nested deeper than %d", what,
			PROV_JSON_MAX_DEPTH);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!j) {
		size_t off = end && end >= buf ? (size_t)(end - buf) : 0;
		HRT_ERR(err, HRT_EFORMAT, "%s: not valid JSON (near byte %zu)", what, off);
		return NULL;
	}
	size_t off = end ? (size_t)(end - buf) : len;
	for (; off < len; off++) {
		char c = buf[off];
		if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			cJSON_Delete(j);
			HRT_ERR(err, HRT_EFORMAT, "%s: trailing bytes at %zu", what, off);
			return NULL;
		}
	}
	if (json_depth(j, 0) > PROV_JSON_MAX_DEPTH) {
		cJSON_Delete(j);
		HRT_ERR(err, HRT_EFORMAT, "%s: nested too deep", what);
		return NULL;
	}
	return j;
}

int prov_json_keys(const cJSON *obj, const char *const *keys, const char *what,
		   struct hrt_err *err)
{
	if (!cJSON_IsObject(obj))
		return HRT_ERR(err, HRT_EFORMAT, "%s: not a JSON object", what);
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!c->string)
			return HRT_ERR(err, HRT_EFORMAT, "%s: member without a name", what);
		bool known = false;
		for (const char *const *k = keys; *k; k++)
			if (!strcmp(*k, c->string))
				known = true;
		if (!known)
			return HRT_ERR(err, HRT_EFORMAT, "%s: unknown key \"%.64s\"", what,
				       c->string);
		for (const cJSON *d = c->next; d; d = d->next)
			if (d->string && !strcmp(d->string, c->string))
				return HRT_ERR(err, HRT_EFORMAT, "%s: duplicate key \"%.64s\"",
					       what, c->string);
	}
	return HRT_OK;
}

int prov_json_str(const cJSON *obj, const char *key, bool required, char *out,
		  size_t cap, const char *what, struct hrt_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	out[0] = 0;
	if (!v) {
		if (required)
			return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" is missing", what, key);
		return HRT_OK;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" must be a string", what, key);
	size_t n = strlen(v->valuestring);
	if (n >= cap)
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" longer than %zu bytes", what,
			       key, cap - 1);
	memcpy(out, v->valuestring, n + 1);
	return HRT_OK;
}

int prov_json_bool(const cJSON *obj, const char *key, bool *out, const char *what,
		   struct hrt_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return HRT_OK;
	if (!cJSON_IsBool(v))
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" must be true or false", what,
			       key);
	*out = cJSON_IsTrue(v);
	return HRT_OK;
}

/* ------------------------------------------------------------- files */

int prov_write_file(const char *path, const void *buf, size_t len, int mode,
		    bool no_clobber, struct hrt_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return HRT_ERR(err, HRT_EINVAL, "%s: path too long", path);
	if (no_clobber && access(path, F_OK) == 0)
		return HRT_ERR(err, HRT_EINVAL, "%s exists; not overwriting it", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	const uint8_t *p = buf;
	size_t left = len;
	while (left) {
		ssize_t k = write(fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return HRT_ERR(err, HRT_EIO, "%s: %s", tmp,
				       e == ENOSPC ? "disk full" : strerror(e));
		}
		p += k;
		left -= (size_t)k;
	}
	if (fsync(fd) || close(fd)) {
		unlink(tmp);
		return HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	}
	if (no_clobber) {
		/* link fails if path appeared meanwhile */
		if (link(tmp, path)) {
			int e = errno;
			unlink(tmp);
			return HRT_ERR(err, e == EEXIST ? HRT_EINVAL : HRT_EIO, "%s: %s", path,
				       e == EEXIST ? "exists; not overwriting it" : strerror(e));
		}
		unlink(tmp);
		return HRT_OK;
	}
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(e));
	}
	return HRT_OK;
}

int prov_read_file(const char *path, size_t max, char **out, size_t *len,
		   struct hrt_err *err)
{
	*out = NULL;
	if (len)
		*len = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s",
			       path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return HRT_ERR(err, HRT_EIO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return HRT_ERR(err, HRT_ERANGE, "%s: larger than %zu bytes", path, max);
	}
	size_t n = (size_t)st.st_size;
	char *b = malloc(n + 1);
	if (!b) {
		close(fd);
		return HRT_ERR(err, HRT_ENOMEM, "%s: out of memory", path);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, b + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (got != n) {
		free(b);
		return HRT_ERR(err, HRT_EIO, "%s: short read", path);
	}
	b[n] = 0;
	*out = b;
	if (len)
		*len = n;
	return HRT_OK;
}

int prov_home(char *out, size_t cap)
{
	const char *h = getenv("HEARTH_HOME");
	int k;
	if (h && *h) {
		k = snprintf(out, cap, "%s", h);
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return HRT_ENOTFOUND;
		k = snprintf(out, cap, "%s/.local/share/hearth", home);
	}
	if (k < 0 || (size_t)k >= cap)
		return HRT_EINVAL;
	while (k > 1 && out[k - 1] == '/')
		out[--k] = 0;
	return HRT_OK;
}

/* -------------------------------------------------------------- time */

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

int hrt_prov_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	if (!s)
		return HRT_EINVAL;
	size_t n = strlen(s);
	if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return HRT_EFORMAT;
	const char *p = s + 10;
	if (*p) {
		if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 ||
		    !digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) ||
		    p[6] != ':' || !digits(p + 7, 2, &se))
			return HRT_EFORMAT;
		p += 9;
		if (*p == '.') {
			p++;
			int k = 0;
			while (*p >= '0' && *p <= '9' && k < 9) {
				p++;
				k++;
			}
			if (k == 0)
				return HRT_EFORMAT;
		}
		if ((*p != 'Z' && *p != 'z') || p[1])
			return HRT_EFORMAT;
	}
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 60)
		return HRT_EFORMAT;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return HRT_EFORMAT;
	/* days from civil (Howard Hinnant's algorithm) */
	int yy = y - (mo <= 2);
	int era = yy / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	*out = days * 86400 + h * 3600 + mi * 60 + (se > 59 ? 59 : se);
	return HRT_OK;
}

void hrt_prov_format_time(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		strcpy(out, "1970-01-01T00:00:00Z");
		return;
	}
	snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------- names */

static const char *const rel_names[] = {
	[HRT_REL_UNRELATED] = "unrelated", [HRT_REL_IDENTICAL] = "identical",
	[HRT_REL_QUANTIZED] = "quantized", [HRT_REL_FINETUNE] = "finetune",
	[HRT_REL_ADAPTER] = "adapter",     [HRT_REL_MERGE] = "merge",
};

const char *hrt_relation_name(enum hrt_relation r)
{
	if ((unsigned)r < HRT_ARRAY_LEN(rel_names))
		return rel_names[r];
	return "unknown";
}

int hrt_relation_from_name(const char *s)
{
	for (size_t i = 0; s && i < HRT_ARRAY_LEN(rel_names); i++)
		if (!strcmp(s, rel_names[i]))
			return (int)i;
	return -1;
}

const char *hrt_prov_reason_name(enum hrt_prov_reason r)
{
	switch (r) {
	case HRT_PR_NONE: return "ok";
	case HRT_PR_NO_RECORD: return "no signed record";
	case HRT_PR_BAD_RECORD: return "malformed record";
	case HRT_PR_BAD_SIGNATURE: return "bad signature (record tampered)";
	case HRT_PR_WRONG_KEY: return "signed by another key";
	case HRT_PR_UNTRUSTED_KEY: return "untrusted key";
	case HRT_PR_KEY_EXPIRED: return "key expired";
	case HRT_PR_RECORD_EXPIRED: return "record expired";
	case HRT_PR_WEIGHTS_CHANGED: return "weights changed";
	case HRT_PR_METADATA_CHANGED: return "metadata changed";
	case HRT_PR_LICENSE: return "license not allowed";
	case HRT_PR_ANCESTRY: return "no trusted ancestry";
	case HRT_PR_PARENT_MISMATCH: return "claimed parent not supported by the weights";
	case HRT_PR_SUSPICIOUS: return "suspicious edit";
	case HRT_PR_BAD_FILE: return "unreadable model file";
	}
	return "unknown";
}

/* ----------------------------------------------------------- reports */

void hrt_prov_report_init(struct hrt_prov_report *r)
{
	memset(r, 0, sizeof *r);
	r->allowed = true;
}

void hrt_prov_report_free(struct hrt_prov_report *r)
{
	if (!r)
		return;
	free(r->lines);
	r->lines = NULL;
	r->n = r->cap = 0;
}

void prov_report_set_path(struct hrt_prov_report *r, const char *path)
{
	snprintf(r->model_path, sizeof r->model_path, "%s", path ? path : "");
}

void hrt_prov_report_add(struct hrt_prov_report *r, enum hrt_prov_line kind,
			 enum hrt_prov_reason reason, const char *fmt, ...)
{
	if (kind == HRT_PL_FAIL) {
		if (r->allowed || r->reason == HRT_PR_NONE)
			r->reason = reason;
		r->allowed = false;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		if (nc > 4096)
			return; /* a report this long is already unreadable */
		void *nl = realloc(r->lines, nc * sizeof *r->lines);
		if (!nl)
			return;
		r->lines = nl;
		r->cap = nc;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->lines[r->n].text, sizeof r->lines[r->n].text, fmt, ap);
	va_end(ap);
	r->lines[r->n].kind = kind;
	r->lines[r->n].reason = reason;
	r->n++;
}

void hrt_prov_report_print(FILE *f, const struct hrt_prov_report *r)
{
	static const struct {
		enum hrt_prov_line k;
		const char *title, *mark;
	} sec[] = {
		{ HRT_PL_CLAIM, "Claimed", "" },
		{ HRT_PL_OK, "Verified", "ok  " },
		{ HRT_PL_WARN, "Not verified", "??  " },
		{ HRT_PL_FAIL, "Failed", "NO  " },
		{ HRT_PL_INFO, "Notes", "" },
	};
	fprintf(f, "%s: %s\n", r->model_path[0] ? r->model_path : "model",
		r->allowed ? "allowed" : "REFUSED");
	if (r->model_id[0])
		fprintf(f, "  model id  %s\n", r->model_id);
	if (r->file_sha256[0])
		fprintf(f, "  sha256    %s\n", r->file_sha256);
	for (size_t s = 0; s < HRT_ARRAY_LEN(sec); s++) {
		bool any = false;
		for (size_t i = 0; i < r->n; i++) {
			if (r->lines[i].kind != sec[s].k)
				continue;
			if (!any)
				fprintf(f, "%s\n", sec[s].title);
			any = true;
			fprintf(f, "  %s%s\n", sec[s].mark, r->lines[i].text);
		}
	}
	if (!r->allowed)
		fprintf(f, "Reason: %s\n", hrt_prov_reason_name(r->reason));
}

char *hrt_prov_report_json(const struct hrt_prov_report *r)
{
	static const char *const kinds[] = { "claimed", "verified", "failed", "unverified",
					     "notes" };
	static const enum hrt_prov_line order[] = { HRT_PL_CLAIM, HRT_PL_OK, HRT_PL_FAIL,
						    HRT_PL_WARN, HRT_PL_INFO };
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "model", r->model_path);
	cJSON_AddBoolToObject(j, "allowed", r->allowed);
	cJSON_AddStringToObject(j, "reason", r->allowed ? "" : hrt_prov_reason_name(r->reason));
	if (r->model_id[0])
		cJSON_AddStringToObject(j, "model_id", r->model_id);
	if (r->file_sha256[0])
		cJSON_AddStringToObject(j, "sha256", r->file_sha256);
	for (size_t k = 0; k < HRT_ARRAY_LEN(order); k++) {
		cJSON *a = cJSON_AddArrayToObject(j, kinds[k]);
		for (size_t i = 0; a && i < r->n; i++)
			if (r->lines[i].kind == order[k])
				cJSON_AddItemToArray(a, cJSON_CreateString(r->lines[i].text));
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void prov_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int prov_dir_names(DIR *d, const char *dir, bool (*want)(const char *name), size_t max,
		   const char *what, char ***out, size_t *n_out, struct hrt_err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = HRT_OK;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!want(e->d_name))
			continue;
		if (n >= max) {
			rc = HRT_ERR(err, HRT_ERANGE, "%s: more than %zu %s", dir, max, what);
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nn = realloc(names, nc * sizeof *names);
			if (!nn) {
				rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
				break;
			}
			names = nn;
			cap = nc;
		}
		if (!(names[n] = hrt_strdup(e->d_name))) {
			rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		prov_names_free(names, n);
		*out = NULL;
		*n_out = 0;
		return rc;
	}
	qsort(names, n, sizeof *names, cmp_name);
	*out = names;
	*n_out = n;
	return HRT_OK;
}
