/*
 * http/auth — API keys, roles, model patterns, rate limits; see auth.h for
 * the file format and why a fast hash is the right one here.
 */
#include "http/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"

#define KEYS_FILE_MAX ((size_t)4 << 20)
#define MAX_KEYS 10000
static const unsigned char hash_ctx[16] = "hearth api key 1";

struct entry {
	struct hrt_auth_ident id;
	unsigned char hash[32];
};

struct bucket {
	char name[HRT_AUTH_NAME_MAX + 1];
	double tokens;
	uint64_t last_ns;
};

struct hrt_auth {
	char *path;
	pthread_mutex_t mu;
	struct entry *keys;
	size_t n_keys;
	struct stat st;      /* of the file as last read */
	bool have_st;
	struct bucket *buckets;
	size_t n_buckets;
};

/* ---------------- small pieces ---------------- */

bool hrt_auth_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > HRT_AUTH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '@'))
			return false;
	}
	return true;
}

static bool models_ok(const char *m)
{
	size_t n = m ? strlen(m) : 0;
	if (n == 0 || n > HRT_AUTH_MODELS_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)m[i] <= ' ' || m[i] == 0x7f)
			return false;
	return true;
}

bool hrt_auth_role_parse(const char *s, enum hrt_role *out)
{
	if (s && !strcmp(s, "user"))
		*out = HRT_ROLE_USER;
	else if (s && !strcmp(s, "admin"))
		*out = HRT_ROLE_ADMIN;
	else
		return false;
	return true;
}

const char *hrt_auth_role_name(enum hrt_role r)
{
	return r == HRT_ROLE_ADMIN ? "admin" : r == HRT_ROLE_USER ? "user" : "none";
}

void hrt_auth_hash(const char *key, size_t len, char out[68])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)key, len, hash_ctx, sizeof hash_ctx);
	memcpy(out, "b2:", 3);
	sodium_bin2hex(out + 3, 65, h, sizeof h);
	sodium_memzero(h, sizeof h);
}

int hrt_auth_new_key(char out[HRT_AUTH_KEY_LEN + 1], struct hrt_err *err)
{
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");
	unsigned char r[32];
	randombytes_buf(r, sizeof r);
	memcpy(out, "hk_", 3);
	sodium_bin2hex(out + 3, 65, r, sizeof r);
	sodium_memzero(r, sizeof r);
	return HRT_OK;
}

/* ---------------- the file ---------------- */

static int read_all(const char *path, char **buf, size_t *len, struct stat *st,
		    struct hrt_err *err)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			memset(st, 0, sizeof(*st));
			return HRT_ENOTFOUND;
		}
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	}
	int rc = HRT_OK;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		rc = HRT_ERR(err, HRT_EIO, "%s: not a regular file", path);
		goto out_close;
	}
	if ((size_t)st->st_size > KEYS_FILE_MAX) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s: larger than %zu bytes", path, KEYS_FILE_MAX);
		goto out_close;
	}
	size_t n = (size_t)st->st_size;
	char *b = malloc(n + 1);
	if (!b) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_close;
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
	b[got] = 0;
	*buf = b;
	*len = got;
out_close:
	close(fd);
	return rc;
}

/* Parse the file text into entries. Lines are split in place. */
static int parse(char *text, size_t len, const char *path, struct entry **out,
		 size_t *n_out, struct hrt_err *err)
{
	*out = NULL;
	*n_out = 0;
	struct entry *v = NULL;
	size_t n = 0;
	int lineno = 0;
	char *p = text, *end = text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p;
		if (nl)
			*nl = 0;
		p = nl ? nl + 1 : end;
		lineno++;
		if (!*line || *line == '#')
			continue;
		char *f[5];
		int nf = 0;
		char *s = line;
		while (nf < 5) {
			f[nf++] = s;
			char *t = strchr(s, '\t');
			if (!t)
				break;
			*t = 0;
			s = t + 1;
		}
		struct entry e;
		memset(&e, 0, sizeof e);
		char *endp;
		long rpm = nf == 5 ? strtol(f[2], &endp, 10) : -1;
		if (nf != 5 || strchr(f[4], '\t') || !hrt_auth_name_ok(f[0]) ||
		    !hrt_auth_role_parse(f[1], &e.id.role) || !*f[2] || *endp ||
		    rpm < 0 || rpm > 1000000 || !models_ok(f[3]) ||
		    strncmp(f[4], "b2:", 3) || strlen(f[4]) != 67 ||
		    sodium_hex2bin(e.hash, sizeof e.hash, f[4] + 3, 64, NULL, NULL, NULL)) {
			free(v);
			return HRT_ERR(err, HRT_EFORMAT, "%s:%d: malformed key line", path, lineno);
		}
		if (n >= MAX_KEYS) {
			free(v);
			return HRT_ERR(err, HRT_EFORMAT, "%s: more than %d keys", path, MAX_KEYS);
		}
		snprintf(e.id.name, sizeof e.id.name, "%s", f[0]);
		snprintf(e.id.models, sizeof e.id.models, "%s", f[3]);
		e.id.rpm = (int)rpm;
		struct entry *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		}
		v = nv;
		v[n++] = e;
	}
	*out = v;
	*n_out = n;
	return HRT_OK;
}

static int load(const char *path, struct entry **keys, size_t *n, struct stat *st,
		struct hrt_err *err)
{
	char *buf;
	size_t len;
	int rc = read_all(path, &buf, &len, st, err);
	if (rc == HRT_ENOTFOUND) {
		*keys = NULL;
		*n = 0;
		return HRT_OK;
	}
	if (rc)
		return rc;
	rc = parse(buf, len, path, keys, n, err);
	free(buf);
	return rc;
}

int hrt_auth_open(struct hrt_auth **out, const char *path, struct hrt_err *err)
{
	*out = NULL;
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");
	struct hrt_auth *a = calloc(1, sizeof(*a));
	if (!a || !(a->path = hrt_strdup(path))) {
		free(a);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	pthread_mutex_init(&a->mu, NULL);
	int rc = load(path, &a->keys, &a->n_keys, &a->st, err);
	if (rc) {
		hrt_auth_free(a);
		return rc;
	}
	a->have_st = true;
	*out = a;
	return HRT_OK;
}

void hrt_auth_free(struct hrt_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	if (a->keys)
		sodium_memzero(a->keys, a->n_keys * sizeof(*a->keys));
	free(a->keys);
	free(a->buckets);
	free(a->path);
	free(a);
}

/* re-read the file if it changed; call with a->mu held */
static void refresh(struct hrt_auth *a)
{
	struct stat st;
	if (stat(a->path, &st))
		memset(&st, 0, sizeof st);
	if (a->have_st && st.st_ino == a->st.st_ino && st.st_size == a->st.st_size &&
	    st.st_mtim.tv_sec == a->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == a->st.st_mtim.tv_nsec)
		return;
	struct entry *keys;
	size_t n;
	struct stat st2;
	struct hrt_err e;
	if (load(a->path, &keys, &n, &st2, &e))
		return; /* keep the previous keys */
	free(a->keys);
	a->keys = keys;
	a->n_keys = n;
	a->st = st2;
	a->have_st = true;
}

size_t hrt_auth_count(struct hrt_auth *a)
{
	pthread_mutex_lock(&a->mu);
	refresh(a);
	size_t n = a->n_keys;
	pthread_mutex_unlock(&a->mu);
	return n;
}

int hrt_auth_check(struct hrt_auth *a, const char *key, struct hrt_auth_ident *id)
{
	size_t len = key ? strlen(key) : 0;
	if (len != HRT_AUTH_KEY_LEN)
		return HRT_ENOTFOUND;
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)key, len, hash_ctx, sizeof hash_ctx);
	int rc = HRT_ENOTFOUND;
	pthread_mutex_lock(&a->mu);
	refresh(a);
	for (size_t i = 0; i < a->n_keys; i++) {
		/* no early exit: the time does not depend on which key matched */
		if (sodium_memcmp(h, a->keys[i].hash, sizeof h) == 0 && rc) {
			*id = a->keys[i].id;
			rc = HRT_OK;
		}
	}
	pthread_mutex_unlock(&a->mu);
	sodium_memzero(h, sizeof h);
	return rc;
}

bool hrt_auth_model_ok(const struct hrt_auth_ident *id, const char *model)
{
	if (!model)
		return false;
	char base[512];
	snprintf(base, sizeof base, "%s", model);
	size_t bl = strlen(base);
	if (bl > 7 && !strcmp(base + bl - 7, ":latest"))
		base[bl - 7] = 0;
	char pats[HRT_AUTH_MODELS_MAX + 1];
	snprintf(pats, sizeof pats, "%s", id->models);
	char *save = NULL;
	for (char *p = strtok_r(pats, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (!fnmatch(p, model, 0) || !fnmatch(p, base, 0))
			return true;
	}
	return false;
}

int hrt_auth_rate_take(struct hrt_auth *a, const char *name, int rpm,
		       uint64_t now_ns)
{
	if (rpm <= 0)
		return 0;
	pthread_mutex_lock(&a->mu);
	struct bucket *b = NULL;
	for (size_t i = 0; i < a->n_buckets; i++)
		if (!strcmp(a->buckets[i].name, name))
			b = &a->buckets[i];
	if (!b) {
		if (a->n_buckets >= MAX_KEYS + 1) {
			pthread_mutex_unlock(&a->mu);
			return 60;
		}
		struct bucket *nb = realloc(a->buckets, (a->n_buckets + 1) * sizeof(*nb));
		if (!nb) {
			pthread_mutex_unlock(&a->mu);
			return 1;
		}
		a->buckets = nb;
		b = &a->buckets[a->n_buckets++];
		snprintf(b->name, sizeof b->name, "%s", name);
		b->tokens = rpm;
		b->last_ns = now_ns;
	}
	double refill = (double)(now_ns - b->last_ns) * 1e-9 * rpm / 60.0;
	b->tokens = HRT_MIN(b->tokens + refill, (double)rpm);
	b->last_ns = now_ns;
	int wait = 0;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
	} else {
		double need = (1.0 - b->tokens) * 60.0 / rpm;
		wait = (int)need + 1;
	}
	pthread_mutex_unlock(&a->mu);
	return wait;
}

/* ---------------- editing ---------------- */

static int write_file(const char *path, const struct entry *v, size_t n,
		      const char *const *hashes, struct hrt_err *err)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return HRT_ERR(err, HRT_EINVAL, "path too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	}
	fprintf(f, "# hearth API keys: NAME ROLE RPM MODELS HASH (edit with `hearth keys`)\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\t%s\t%d\t%s\t%s\n", v[i].id.name,
			hrt_auth_role_name(v[i].id.role), v[i].id.rpm, v[i].id.models,
			hashes[i]);
	int bad = fflush(f) != 0 || fsync(fd) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(e));
	}
	return HRT_OK;
}

static int rewrite(const char *path, const struct entry *v, size_t n,
		   struct hrt_err *err)
{
	char (*hex)[68] = calloc(n ? n : 1, sizeof(*hex));
	const char **hs = calloc(n ? n : 1, sizeof(*hs));
	int rc;
	if (!hex || !hs) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(hex[i], "b2:", 3);
		sodium_bin2hex(hex[i] + 3, 65, v[i].hash, 32);
		hs[i] = hex[i];
	}
	rc = write_file(path, v, n, hs, err);
out_free:
	free(hex);
	free(hs);
	return rc;
}

int hrt_auth_file_add(const char *path, const char *name, enum hrt_role role,
		      const char *models, int rpm,
		      char key_out[HRT_AUTH_KEY_LEN + 1], struct hrt_err *err)
{
	if (!hrt_auth_name_ok(name))
		return HRT_ERR(err, HRT_EINVAL,
			       "key name '%s' is not allowed: use 1 to %d letters, digits, '-', '_', '.', '@'",
			       name ? name : "", HRT_AUTH_NAME_MAX);
	if (!models)
		models = "*";
	if (!models_ok(models))
		return HRT_ERR(err, HRT_EINVAL,
			       "model pattern '%s' is not allowed: no spaces, at most %d bytes",
			       models, HRT_AUTH_MODELS_MAX);
	if (role != HRT_ROLE_USER && role != HRT_ROLE_ADMIN)
		return HRT_ERR(err, HRT_EINVAL, "role must be user or admin");
	if (rpm < 0 || rpm > 1000000)
		return HRT_ERR(err, HRT_EINVAL, "rate limit %d is out of range (0..1000000)", rpm);
	struct entry *v;
	size_t n;
	struct stat st;
	int rc = load(path, &v, &n, &st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].id.name, name)) {
			free(v);
			return HRT_ERR(err, HRT_EINVAL,
				       "a key named '%s' exists; remove it first (hearth keys rm %s)",
				       name, name);
		}
	}
	struct entry *nv = realloc(v, (n + 1) * sizeof(*v));
	if (!nv) {
		free(v);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	v = nv;
	struct entry *e = &v[n];
	memset(e, 0, sizeof(*e));
	snprintf(e->id.name, sizeof e->id.name, "%s", name);
	snprintf(e->id.models, sizeof e->id.models, "%s", models);
	e->id.role = role;
	e->id.rpm = rpm;
	if ((rc = hrt_auth_new_key(key_out, err)))
		goto out_free;
	crypto_generichash(e->hash, sizeof e->hash, (const unsigned char *)key_out,
			   HRT_AUTH_KEY_LEN, hash_ctx, sizeof hash_ctx);
	rc = rewrite(path, v, n + 1, err);
	if (rc)
		sodium_memzero(key_out, HRT_AUTH_KEY_LEN + 1);
out_free:
	free(v);
	return rc;
}

int hrt_auth_file_remove(const char *path, const char *name, struct hrt_err *err)
{
	struct entry *v;
	size_t n;
	struct stat st;
	int rc = load(path, &v, &n, &st, err);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].id.name, name))
			v[k++] = v[i];
	if (k == n)
		rc = HRT_ERR(err, HRT_ENOTFOUND, "no key named '%s'", name);
	else
		rc = rewrite(path, v, k, err);
	free(v);
	return rc;
}

int hrt_auth_file_list(const char *path,
		       void (*fn)(void *ctx, const struct hrt_auth_ident *id),
		       void *ctx, struct hrt_err *err)
{
	struct entry *v;
	size_t n;
	struct stat st;
	int rc = load(path, &v, &n, &st, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		fn(ctx, &v[i].id);
	free(v);
	return HRT_OK;
}
