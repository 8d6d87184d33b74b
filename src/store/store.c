/*
 * store/store — the store as a whole: opening it, names on disk
 * (manifests/<host>/<ns>/<model>/<tag>, each holding its manifest
 * verbatim), listing, lookup of what a runtime needs, copy, delete with
 * garbage collection of unreferenced blobs, and fsck.
 * Not here: writing blobs (blob.c), building models (create.c), moving
 * them (pull.c, layout.c, ollama.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "store/store_int.h"

int hrt_store_open(struct hrt_store **out, const char *home, struct hrt_err *err)
{
	*out = NULL;
	if (!home || !*home)
		return HRT_ERR(err, HRT_EINVAL, "no home folder for the store");
	if (sodium_init() < 0)
		return HRT_ERR(err, HRT_EIO, "libsodium failed to initialise");
	struct hrt_store *s = calloc(1, sizeof *s);
	char b[ST_PATH];
	int rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (!s)
		return rc;
	if (!(s->home = hrt_strdup(home)))
		goto fail;
	if (st_pathf(b, sizeof b, err, "%s/store", home) || !(s->root = hrt_strdup(b)))
		goto fail;
	if (st_pathf(b, sizeof b, err, "%s/blobs/sha256", s->root) || !(s->blobs = hrt_strdup(b)))
		goto fail;
	if (st_pathf(b, sizeof b, err, "%s/manifests", s->root) || !(s->manifests = hrt_strdup(b)))
		goto fail;
	if (st_pathf(b, sizeof b, err, "%s/lock", s->root) || !(s->lockpath = hrt_strdup(b)))
		goto fail;
	if ((rc = st_mkdirs(s->blobs, err)) || (rc = st_mkdirs(s->manifests, err)))
		goto fail;
	*out = s;
	return HRT_OK;
fail:
	hrt_store_close(s);
	return rc ? rc : HRT_ENOMEM;
}

void hrt_store_close(struct hrt_store *s)
{
	if (!s)
		return;
	free(s->home);
	free(s->root);
	free(s->blobs);
	free(s->manifests);
	free(s->lockpath);
	free(s);
}

const char *hrt_store_root(const struct hrt_store *s)
{
	return s->root;
}

/* ---- names on disk ---- */

int st_tag_path(const struct hrt_store *s, const struct hrt_name *n, char *out,
		size_t cap, struct hrt_err *err)
{
	return st_pathf(out, cap, err, "%s/%s/%s/%s/%s", s->manifests, n->host, n->ns, n->model,
			n->tag);
}

int st_tag_read(const struct hrt_store *s, const struct hrt_name *n, char **out,
		size_t *len, struct hrt_err *err)
{
	char p[ST_PATH], shown[600];
	int rc = st_tag_path(s, n, p, sizeof p, err);
	if (rc)
		return rc;
	rc = st_read_file(p, HRT_STORE_MANIFEST_MAX, true, out, len, err);
	if (rc == HRT_ENOTFOUND) {
		hrt_name_str(n, shown, sizeof shown);
		return HRT_ERR(err, HRT_ENOTFOUND, "model '%s' is not in the store (hearth list shows what is)",
			       shown);
	}
	return rc;
}

int st_tag_write(const struct hrt_store *s, const struct hrt_name *n,
		 const char *buf, size_t len, struct hrt_err *err)
{
	char p[ST_PATH], dir[ST_PATH];
	int rc;
	if ((rc = st_tag_path(s, n, p, sizeof p, err)) ||
	    (rc = st_pathf(dir, sizeof dir, err, "%s/%s/%s/%s", s->manifests, n->host, n->ns,
			   n->model)) ||
	    (rc = st_mkdirs(dir, err)))
		return rc;
	return st_write_atomic(p, buf, len, err);
}

int hrt_store_manifest_read(struct hrt_store *s, const char *name, char **out,
			    size_t *len, struct hrt_err *err)
{
	struct hrt_name n;
	int rc = hrt_name_parse(name, &n, err);
	if (rc)
		return rc;
	return st_tag_read(s, &n, out, len, err);
}

/* Walk manifests/<host>/<ns>/<model>/<tag>. fn gets each tag file whose
 * parts form a valid name; odd gets everything else (may be NULL). */
typedef int (*tag_fn)(void *ctx, const struct hrt_name *n, const char *path);
typedef void (*odd_fn)(void *ctx, const char *path, bool temp);

static int walk(const char *dir, int depth, char parts[4][256], void *ctx,
		tag_fn fn, odd_fn odd, struct hrt_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? HRT_OK
				       : HRT_ERR(err, HRT_EIO, "%s: %s", dir, strerror(errno));
	int rc = HRT_OK;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[ST_PATH];
		if (st_pathf(p, sizeof p, NULL, "%s/%s", dir, e->d_name)) {
			if (odd)
				odd(ctx, dir, false);
			continue;
		}
		struct stat st;
		if (lstat(p, &st) != 0)
			continue;
		bool temp = !strncmp(e->d_name, ".tmp-", 5);
		if (strlen(e->d_name) >= 256 || temp) {
			if (odd)
				odd(ctx, p, temp);
			continue;
		}
		snprintf(parts[depth], 256, "%s", e->d_name);
		if (depth < 3) {
			if (S_ISDIR(st.st_mode))
				rc = walk(p, depth + 1, parts, ctx, fn, odd, err);
			else if (odd)
				odd(ctx, p, false);
			continue;
		}
		char full[1100];
		struct hrt_name n;
		snprintf(full, sizeof full, "%s/%s/%s:%s", parts[0], parts[1], parts[2], parts[3]);
		if (!S_ISREG(st.st_mode) || hrt_name_parse(full, &n, NULL) ||
		    strcmp(n.host, parts[0]) || strcmp(n.ns, parts[1]) || strcmp(n.model, parts[2]) ||
		    strcmp(n.tag, parts[3])) {
			if (odd)
				odd(ctx, p, false);
			continue;
		}
		rc = fn(ctx, &n, p);
	}
	closedir(d);
	return rc;
}

static int walk_tags(const struct hrt_store *s, void *ctx, tag_fn fn, odd_fn odd,
		     struct hrt_err *err)
{
	char parts[4][256];
	return walk(s->manifests, 0, parts, ctx, fn, odd, err);
}

/* ---- list ---- */

struct list_ctx {
	const struct hrt_store *s;
	struct hrt_store_entry *e;
	size_t n, cap;
	int rc;
	struct hrt_err *err;
};

static int list_one(void *ctx, const struct hrt_name *n, const char *path)
{
	struct list_ctx *c = ctx;
	char *buf;
	size_t len;
	struct stat st;
	if (st_read_file(path, HRT_STORE_MANIFEST_MAX, true, &buf, &len, NULL))
		return HRT_OK;
	struct st_manifest *m = malloc(sizeof *m);
	if (!m || st_manifest_parse(buf, len, ST_OCI, m, NULL) || lstat(path, &st) != 0) {
		free(m);
		free(buf);
		return HRT_OK;
	}
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct hrt_store_entry *ne = realloc(c->e, nc * sizeof *ne);
		if (!ne) {
			free(m);
			free(buf);
			return HRT_ERR(c->err, HRT_ENOMEM, "no memory");
		}
		c->e = ne;
		c->cap = nc;
	}
	struct hrt_store_entry *e = &c->e[c->n++];
	memset(e, 0, sizeof *e);
	e->name = *n;
	hrt_digest_of(buf, len, &e->id);
	e->size = st_manifest_total(m);
	e->modified = st.st_mtime;
	hrt_digest_str(&m->layers[m->weights].digest, e->weights, sizeof e->weights);
	free(m);
	free(buf);
	return HRT_OK;
}

static int entry_cmp(const void *a, const void *b)
{
	char x[600], y[600];
	hrt_name_str(&((const struct hrt_store_entry *)a)->name, x, sizeof x);
	hrt_name_str(&((const struct hrt_store_entry *)b)->name, y, sizeof y);
	return strcmp(x, y);
}

int hrt_store_list(struct hrt_store *s, struct hrt_store_entry **out, size_t *n,
		   struct hrt_err *err)
{
	struct list_ctx c = { .s = s, .err = err };
	int rc = walk_tags(s, &c, list_one, NULL, err);
	if (rc) {
		free(c.e);
		return rc;
	}
	if (c.n)
		qsort(c.e, c.n, sizeof *c.e, entry_cmp);
	*out = c.e;
	*n = c.n;
	return HRT_OK;
}

/* ---- lookup ---- */

void hrt_store_model_free(struct hrt_store_model *m)
{
	if (!m)
		return;
	free(m->weights_path);
	free(m->template_text);
	free(m->system);
	free(m->license);
	hrt_store_params_free(&m->params);
	for (size_t i = 0; i < m->n_adapters; i++)
		free(m->adapter_paths[i]);
	free(m->adapter_paths);
	free(m);
}

bool hrt_store_model_has_adapters(const struct hrt_store_model *m)
{
	return m && m->n_adapters > 0;
}

const char *hrt_store_adapter_note(void)
{
	return "this model has LoRA adapters (ADAPTER), which hearth does not apply yet: "
	       "the answers come from the base weights alone";
}

static int append_text(char **dst, const char *add, size_t len)
{
	size_t old = *dst ? strlen(*dst) : 0;
	char *n = realloc(*dst, old + (old ? 2 : 0) + len + 1);
	if (!n)
		return HRT_ENOMEM;
	if (old) {
		memcpy(n + old, "\n\n", 2);
		old += 2;
	}
	memcpy(n + old, add, len);
	n[old + len] = 0;
	*dst = n;
	return HRT_OK;
}

int hrt_store_lookup(struct hrt_store *s, const char *name,
		     struct hrt_store_model **out, struct hrt_err *err)
{
	*out = NULL;
	struct hrt_name n;
	char *buf = NULL, *b2 = NULL, path[ST_PATH], shown[600];
	size_t len, l2;
	int rc = hrt_name_parse(name, &n, err);
	if (rc)
		return rc;
	hrt_name_str(&n, shown, sizeof shown);
	if ((rc = st_tag_read(s, &n, &buf, &len, err)))
		return rc;
	struct st_manifest *m = malloc(sizeof *m);
	struct hrt_store_model *r = calloc(1, sizeof *r);
	if (!m || !r) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err))) {
		st_err_prefix(err, "model '%s'", shown);
		goto out;
	}
	r->name = n;
	hrt_digest_of(buf, len, &r->id);
	r->size = st_manifest_total(m);
	if (st_tag_path(s, &n, path, sizeof path, NULL) == 0) {
		struct stat st;
		if (stat(path, &st) == 0)
			r->modified = st.st_mtime;
	}
	const struct st_desc *w = &m->layers[m->weights];
	r->weights = w->digest;
	snprintf(r->weights_file, sizeof r->weights_file, "%s", w->filepath);
	for (size_t i = 0; i < m->n_layers; i++)
		r->n_docs += st_is_doc(&m->layers[i]);
	int have = st_blob_check(s, &w->digest, w->size, err);
	if (have <= 0) {
		rc = have < 0 ? -have
			      : HRT_ERR(err, HRT_ENOTFOUND,
					"model '%s': its weights blob sha256:%.12s is missing (run hearth fsck)",
					shown, w->digest.hex);
		goto out;
	}
	if ((rc = st_blob_path(s, &w->digest, path, sizeof path, err)))
		goto out;
	if (!(r->weights_path = hrt_strdup(path))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	/* the ModelPack config */
	struct st_config cf;
	if ((rc = st_blob_read(s, &m->config.digest, m->config.size, HRT_STORE_SMALL_MAX, &b2, &l2,
			       err)) ||
	    (rc = st_config_parse(b2, l2, &cf, err))) {
		st_err_prefix(err, "model '%s'", shown);
		goto out;
	}
	free(b2);
	b2 = NULL;
	snprintf(r->architecture, sizeof r->architecture, "%s", cf.architecture);
	snprintf(r->param_size, sizeof r->param_size, "%s", cf.param_size);
	snprintf(r->quantization, sizeof r->quantization, "%s", cf.quantization);
	snprintf(r->precision, sizeof r->precision, "%s", cf.precision);
	/* hearth.json */
	if (m->settings >= 0) {
		const struct st_desc *d = &m->layers[m->settings];
		struct st_settings st;
		if ((rc = st_blob_read(s, &d->digest, d->size, HRT_STORE_SMALL_MAX, &b2, &l2, err)) ||
		    (rc = st_settings_parse(b2, l2, &st, err))) {
			st_err_prefix(err, "model '%s'", shown);
			goto out;
		}
		free(b2);
		b2 = NULL;
		r->template_text = st.template_text;
		r->system = st.system;
		r->params = st.params;
		r->n_params = st.n_params;
		snprintf(r->template_family, sizeof r->template_family, "%s", st.template_family);
		if (!r->quantization[0])
			snprintf(r->quantization, sizeof r->quantization, "%s", st.file_type);
	}
	/* license texts and adapters */
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct st_desc *d = &m->layers[i];
		if (!strcmp(d->media_type, HRT_MT_MODEL_DOC) && !strcmp(d->role, "license")) {
			if ((rc = st_blob_read(s, &d->digest, d->size, HRT_STORE_SMALL_MAX, &b2, &l2,
					       err)))
				goto out;
			if (append_text(&r->license, b2, l2)) {
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out;
			}
			free(b2);
			b2 = NULL;
		} else if (!strcmp(d->role, "adapter")) {
			char **na = realloc(r->adapter_paths, (r->n_adapters + 1) * sizeof *na);
			if (!na || st_blob_path(s, &d->digest, path, sizeof path, err)) {
				if (na)
					r->adapter_paths = na;
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out;
			}
			r->adapter_paths = na;
			if (!(na[r->n_adapters] = hrt_strdup(path))) {
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out;
			}
			r->n_adapters++;
		}
	}
	*out = r;
	r = NULL;
out:
	hrt_store_model_free(r);
	free(m);
	free(buf);
	free(b2);
	return rc;
}

/* ---- copy ---- */

int hrt_store_copy(struct hrt_store *s, const char *src, const char *dst,
		   struct hrt_err *err)
{
	struct hrt_name a, b;
	char *buf;
	size_t len;
	int rc, lk;
	if ((rc = hrt_name_parse(src, &a, err)) || (rc = hrt_name_parse(dst, &b, err)))
		return rc;
	if ((rc = st_lock(s, false, NULL, &lk, err)))
		return rc;
	if ((rc = st_tag_read(s, &a, &buf, &len, err))) {
		st_unlock(lk);
		return rc;
	}
	struct st_manifest *m = malloc(sizeof *m);
	if (!m)
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
	else if (!(rc = st_manifest_parse(buf, len, ST_OCI, m, err)))
		rc = st_tag_write(s, &b, buf, len, err);
	free(m);
	free(buf);
	st_unlock(lk);
	return rc;
}

/* ---- references and garbage collection ---- */

struct refs {
	char (*hex)[65];
	size_t n, cap;
	bool broken;         /* some manifest could not be read */
	char broken_name[600];
};

static int refs_add(struct refs *r, const struct hrt_digest *d)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		char(*nh)[65] = realloc(r->hex, nc * sizeof *nh);
		if (!nh)
			return HRT_ENOMEM;
		r->hex = nh;
		r->cap = nc;
	}
	memcpy(r->hex[r->n++], d->hex, 65);
	return HRT_OK;
}

static int hex_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

static bool refs_has(const struct refs *r, const char *hex)
{
	return r->n && bsearch(hex, r->hex, r->n, sizeof *r->hex, hex_cmp) != NULL;
}

struct refs_ctx {
	struct refs *r;
	const struct hrt_name *skip;
};

static int refs_one(void *ctx, const struct hrt_name *n, const char *path)
{
	struct refs_ctx *c = ctx;
	char *buf;
	size_t len;
	if (c->skip && hrt_name_eq(n, c->skip))
		return HRT_OK;
	struct st_manifest *m = malloc(sizeof *m);
	if (!m)
		return HRT_ENOMEM;
	if (st_read_file(path, HRT_STORE_MANIFEST_MAX, true, &buf, &len, NULL) ||
	    st_manifest_parse(buf, len, ST_OCI, m, NULL)) {
		c->r->broken = true;
		hrt_name_str(n, c->r->broken_name, sizeof c->r->broken_name);
	} else {
		int rc = refs_add(c->r, &m->config.digest);
		for (size_t i = 0; !rc && i < m->n_layers; i++)
			rc = refs_add(c->r, &m->layers[i].digest);
		if (rc) {
			free(m);
			free(buf);
			return rc;
		}
	}
	free(m);
	free(buf);
	return HRT_OK;
}

static int collect_refs(const struct hrt_store *s, const struct hrt_name *skip,
			struct refs *r, struct hrt_err *err)
{
	struct refs_ctx c = { r, skip };
	int rc = walk_tags(s, &c, refs_one, NULL, err);
	if (rc)
		return rc == HRT_ENOMEM ? HRT_ERR(err, HRT_ENOMEM, "no memory") : rc;
	if (r->n)
		qsort(r->hex, r->n, sizeof *r->hex, hex_cmp);
	return HRT_OK;
}

static void prune_dirs(const struct hrt_store *s, const struct hrt_name *n)
{
	char p[ST_PATH];
	if (!st_pathf(p, sizeof p, NULL, "%s/%s/%s/%s", s->manifests, n->host, n->ns, n->model))
		rmdir(p);
	if (!st_pathf(p, sizeof p, NULL, "%s/%s/%s", s->manifests, n->host, n->ns))
		rmdir(p);
	if (!st_pathf(p, sizeof p, NULL, "%s/%s", s->manifests, n->host))
		rmdir(p);
}

int hrt_store_delete(struct hrt_store *s, const char *name, struct hrt_err *err)
{
	struct hrt_name n;
	char *buf = NULL, path[ST_PATH];
	size_t len;
	int rc, lk;
	if ((rc = hrt_name_parse(name, &n, err)) || (rc = st_tag_path(s, &n, path, sizeof path, err)))
		return rc;
	if ((rc = st_lock(s, true, NULL, &lk, err)))
		return rc;
	if ((rc = st_tag_read(s, &n, &buf, &len, err)))
		goto out;
	struct st_manifest *m = malloc(sizeof *m);
	bool known = m && st_manifest_parse(buf, len, ST_OCI, m, NULL) == 0;
	if (unlink(path) != 0) {
		rc = HRT_ERR(err, HRT_EIO, "cannot remove %s: %s", path, strerror(errno));
		free(m);
		goto out;
	}
	st_fsync_parent(path, NULL);
	prune_dirs(s, &n);
	if (known) {
		struct refs r = { 0 };
		if (collect_refs(s, NULL, &r, NULL) == 0 && !r.broken) {
			struct st_desc *all[HRT_STORE_MAX_LAYERS + 1];
			size_t na = 0;
			all[na++] = &m->config;
			for (size_t i = 0; i < m->n_layers; i++)
				all[na++] = &m->layers[i];
			for (size_t i = 0; i < na; i++) {
				if (refs_has(&r, all[i]->digest.hex))
					continue;
				char bp[ST_PATH];
				if (!st_blob_path(s, &all[i]->digest, bp, sizeof bp, NULL))
					unlink(bp);
			}
			st_fsync_dir(s->blobs, NULL);
		}
		free(r.hex);
	}
	free(m);
out:
	free(buf);
	st_unlock(lk);
	return rc;
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int hrt_store_gc(struct hrt_store *s, long grace_s, size_t *n_removed,
		 uint64_t *bytes_removed, struct hrt_err *err)
{
	int lk, rc;
	size_t nr = 0;
	uint64_t br = 0;
	if ((rc = st_lock(s, true, NULL, &lk, err)))
		return rc;
	struct refs r = { 0 };
	if ((rc = collect_refs(s, NULL, &r, err)))
		goto out;
	if (r.broken) {
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "the manifest of '%s' cannot be read, so no blob is deleted (hearth fsck; hearth rm %s)",
			     r.broken_name, r.broken_name);
		goto out;
	}
	DIR *d = opendir(s->blobs);
	if (!d) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", s->blobs, strerror(errno));
		goto out;
	}
	struct dirent *e;
	time_t now = time(NULL);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		bool blob = l == 64 && is_hex64(e->d_name);
		bool temp = !strncmp(e->d_name, ".tmp-", 5);
		if (!blob && !temp)
			continue;
		if (blob && refs_has(&r, e->d_name))
			continue;
		char p[ST_PATH];
		struct stat st;
		if (st_pathf(p, sizeof p, NULL, "%s/%s", s->blobs, e->d_name) || lstat(p, &st) != 0)
			continue;
		if (blob && now - st.st_ctime < grace_s)
			continue;
		if (unlink(p) == 0) {
			nr++;
			br += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	st_fsync_dir(s->blobs, NULL);
out:
	free(r.hex);
	st_unlock(lk);
	if (n_removed)
		*n_removed = nr;
	if (bytes_removed)
		*bytes_removed = br;
	return rc;
}

/* ---- fsck ---- */

struct fsck_ctx {
	const struct hrt_store *s;
	const struct hrt_fsck_opts *o;
	struct refs r;
	size_t problems;
};

static void report(struct fsck_ctx *c, enum hrt_fsck_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(struct fsck_ctx *c, enum hrt_fsck_kind k, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (k == HRT_FSCK_PROBLEM)
		c->problems++;
	if (c->o->report)
		c->o->report(c->o->report_ctx, k, msg);
}

static int fsck_tag(void *ctx, const struct hrt_name *n, const char *path)
{
	struct fsck_ctx *c = ctx;
	char shown[600], *buf;
	size_t len;
	struct hrt_err e = { 0 };
	hrt_name_str(n, shown, sizeof shown);
	struct st_manifest *m = malloc(sizeof *m);
	if (!m)
		return HRT_ENOMEM;
	if (st_read_file(path, HRT_STORE_MANIFEST_MAX, true, &buf, &len, &e) ||
	    st_manifest_parse(buf, len, ST_OCI, m, &e)) {
		report(c, HRT_FSCK_PROBLEM, "model %s: its manifest cannot be read: %s (hearth rm %s, then pull or import it again)",
		       shown, e.msg, shown);
		c->r.broken = true;
		free(m);
		free(buf);
		return HRT_OK;
	}
	free(buf);
	const struct st_desc *all[HRT_STORE_MAX_LAYERS + 1];
	size_t na = 0;
	all[na++] = &m->config;
	for (size_t i = 0; i < m->n_layers; i++)
		all[na++] = &m->layers[i];
	for (size_t i = 0; i < na; i++) {
		if (refs_add(&c->r, &all[i]->digest)) {
			free(m);
			return HRT_ENOMEM;
		}
		int have = st_blob_check(c->s, &all[i]->digest, all[i]->size, &e);
		if (have == 0)
			report(c, HRT_FSCK_PROBLEM, "model %s: its manifest points at blob sha256:%s (%s), which is missing",
			       shown, all[i]->digest.hex, i == 0 ? "config" : all[i]->media_type);
		else if (have < 0)
			report(c, HRT_FSCK_PROBLEM, "model %s: %s", shown, e.msg);
	}
	free(m);
	return HRT_OK;
}

static void fsck_odd(void *ctx, const char *path, bool temp)
{
	struct fsck_ctx *c = ctx;
	if (temp) {
		report(c, HRT_FSCK_NOTE, "%s: temporary file of an interrupted write%s", path,
		       c->o->repair ? " (removed)" : "");
		if (c->o->repair)
			unlink(path);
	} else {
		report(c, HRT_FSCK_NOTE, "%s: not a model name; ignored", path);
	}
}

static int hash_path(const char *path, char hex[65], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	crypto_hash_sha256_state sha;
	crypto_hash_sha256_init(&sha);
	unsigned char *buf = malloc(1 << 20);
	int rc = buf ? 0 : -1;
	*size = 0;
	while (!rc) {
		ssize_t k = read(fd, buf, 1 << 20);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = -1;
		if (k <= 0)
			break;
		crypto_hash_sha256_update(&sha, buf, (size_t)k);
		*size += (uint64_t)k;
	}
	free(buf);
	close(fd);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&sha, h);
	sodium_bin2hex(hex, 65, h, sizeof h);
	return rc;
}

int hrt_store_fsck(struct hrt_store *s, const struct hrt_fsck_opts *o,
		   size_t *n_problems, struct hrt_err *err)
{
	struct hrt_fsck_opts none = { 0 };
	struct fsck_ctx c = { .s = s, .o = o ? o : &none };
	int lk, rc;
	*n_problems = 0;
	if ((rc = st_lock(s, true, NULL, &lk, err)))
		return rc;
	if ((rc = walk_tags(s, &c, fsck_tag, fsck_odd, err))) {
		if (rc == HRT_ENOMEM)
			HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if (c.r.n)
		qsort(c.r.hex, c.r.n, sizeof *c.r.hex, hex_cmp);
	DIR *d = opendir(s->blobs);
	if (!d) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", s->blobs, strerror(errno));
		goto out;
	}
	struct dirent *e;
	size_t n_unref = 0;
	uint64_t unref_bytes = 0;
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		size_t l = strlen(nm);
		char p[ST_PATH];
		struct stat st;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (st_pathf(p, sizeof p, NULL, "%s/%s", s->blobs, nm) || lstat(p, &st) != 0)
			continue;
		if (l == 64 && is_hex64(nm)) {
			if (!S_ISREG(st.st_mode)) {
				report(&c, HRT_FSCK_PROBLEM, "blob sha256:%s is not a regular file", nm);
				continue;
			}
			if (!c.o->quick) {
				char hex[65];
				uint64_t size;
				if (hash_path(p, hex, &size) != 0) {
					report(&c, HRT_FSCK_PROBLEM, "blob sha256:%s cannot be read", nm);
					continue;
				}
				if (strcmp(hex, nm) != 0) {
					report(&c, HRT_FSCK_PROBLEM,
					       "blob sha256:%s is corrupt or half-written: its %llu bytes hash to sha256:%s%s",
					       nm, (unsigned long long)size, hex,
					       c.o->repair ? " (removed; pull or import its model again)" : "");
					if (c.o->repair)
						unlink(p);
					continue;
				}
			}
			if (!refs_has(&c.r, nm)) {
				n_unref++;
				unref_bytes += (uint64_t)st.st_size;
				if (c.o->repair && !c.r.broken)
					unlink(p);
			}
		} else if (l == 64 + 8 && is_hex64(nm) && !strcmp(nm + 64, ".partial")) {
			char hb[32];
			st_human_bytes((uint64_t)st.st_size, hb, sizeof hb);
			report(&c, HRT_FSCK_NOTE, "partial download of sha256:%.12s (%s): the next pull resumes it%s",
			       nm, hb, c.o->repair ? " (removed)" : "");
			if (c.o->repair)
				unlink(p);
		} else if (!strncmp(nm, ".tmp-", 5)) {
			fsck_odd(&c, p, true);
		} else {
			report(&c, HRT_FSCK_NOTE, "%s: not a blob name; ignored", p);
		}
	}
	closedir(d);
	if (n_unref) {
		char hb[32];
		st_human_bytes(unref_bytes, hb, sizeof hb);
		report(&c, HRT_FSCK_NOTE, "%zu blob%s (%s) no model uses%s", n_unref,
		       n_unref == 1 ? "" : "s", hb,
		       c.o->repair && !c.r.broken ? " (removed)" : ": hearth fsck --repair removes them");
	}
	if (c.o->repair)
		st_fsync_dir(s->blobs, NULL);
out:
	free(c.r.hex);
	st_unlock(lk);
	*n_problems = c.problems;
	return rc;
}
