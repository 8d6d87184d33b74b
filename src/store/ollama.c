/*
 * store/ollama — adopting the models of an existing Ollama store
 * (`hearth import --from-ollama [DIR]`, DIR by default $OLLAMA_MODELS or
 * ~/.ollama/models). Its layout, as found on disk:
 *   manifests/<host>/<namespace>/<model>/<tag>   Docker v2 manifest JSON
 *   blobs/sha256-<hex>                            content by digest
 * with layer media types application/vnd.ollama.image.{model, template,
 * system, params, license, adapter, projector, messages}. The GGUF (and
 * any adapter) is hard-linked into our blob folder when the file system
 * allows, copied otherwise, and verified either way; template, system,
 * params and license become hearth settings. registry.ollama.ai/library/M
 * becomes M, other namespaces keep theirs, other hosts keep host/ns/M.
 * Ollama itself is never run or contacted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "store/store_int.h"

#define OL "application/vnd.ollama.image."

static int note(struct hrt_store_opts *o, struct hrt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int note(struct hrt_store_opts *o, struct hrt_err *err, const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return st_progress(o, msg, NULL, 0, 0, err);
}

static int blob_file(const char *dir, const struct hrt_digest *d, char *out, size_t cap,
		     struct hrt_err *err)
{
	return st_pathf(out, cap, err, "%s/blobs/sha256-%s", dir, d->hex);
}

/* a small layer's text, verified */
static int small_text(const char *dir, const struct st_desc *l, char **out, size_t *len,
		      struct hrt_err *err)
{
	char p[ST_PATH];
	int rc = blob_file(dir, &l->digest, p, sizeof p, err);
	if (rc || (rc = st_read_file(p, 1 << 20, true, out, len, err)))
		return rc;
	struct hrt_digest got;
	hrt_digest_of(*out, *len, &got);
	if (*len != l->size || strcmp(got.hex, l->digest.hex) != 0) {
		free(*out);
		*out = NULL;
		return HRT_ERR(err, HRT_EFORMAT, "%s does not match its digest", p);
	}
	return HRT_OK;
}

static int adopt(struct hrt_store *s, const char *dir, const struct st_desc *l,
		 struct st_stage *st, bool *linked, struct hrt_store_opts *o, struct hrt_err *err)
{
	char p[ST_PATH];
	int fd, rc;
	uint64_t size;
	if ((rc = blob_file(dir, &l->digest, p, sizeof p, err)) ||
	    (rc = st_open_regular(p, &fd, &size, err)))
		return rc;
	if (size != l->size) {
		close(fd);
		return HRT_ERR(err, HRT_EFORMAT, "%s has %llu bytes, its manifest says %llu", p,
			       (unsigned long long)size, (unsigned long long)l->size);
	}
	rc = st_stage_from_fd(s, fd, p, &l->digest, size, true, linked, st, o, err);
	close(fd);
	return rc;
}

static int import_one(struct hrt_store *s, const char *dir, const char *mpath,
		      const struct hrt_name *dst, struct hrt_store_opts *o, bool *linked_out,
		      struct hrt_err *err)
{
	char *buf = NULL, *txt = NULL, p[ST_PATH];
	size_t len, tl;
	struct st_manifest *m = calloc(1, sizeof *m);
	struct st_recipe *r = calloc(1, sizeof *r);
	struct st_stage *stages = calloc(HRT_STORE_MAX_LAYERS, sizeof *stages);
	size_t ns = 0;
	int rc, lk = -1;
	bool linked = false;
	if (!m || !r || !stages) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = st_read_file(mpath, HRT_STORE_MANIFEST_MAX, true, &buf, &len, err)) ||
	    (rc = st_manifest_parse(buf, len, ST_OLLAMA, m, err)) ||
	    (rc = st_lock(s, false, o, &lk, err)))
		goto out;
	/* the weights first: adopted and checked before anything else */
	const struct st_desc *w = &m->layers[m->weights];
	rc = adopt(s, dir, w, &stages[0], &linked, o, err);
	ns = 1;
	if (rc)
		goto out;
	if (stages[0].done)
		rc = st_blob_path(s, &w->digest, p, sizeof p, err);
	else
		rc = st_pathf(p, sizeof p, err, "%s", stages[0].pub);
	if (rc || (rc = st_inspect(p, &r->info, o, err)))
		goto out;
	r->weights = w->digest;
	r->weights_size = w->size;
	snprintf(r->weights_file, sizeof r->weights_file, "%s.gguf", dst->model);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct st_desc *l = &m->layers[i];
		const char *mt = l->media_type;
		if ((int)i == m->weights)
			continue;
		if (strncmp(mt, OL, sizeof OL - 1) != 0) {
			if ((rc = note(o, err, "skipping a layer of media type %s", mt)))
				goto out;
			continue;
		}
		const char *kind = mt + sizeof OL - 1;
		if (!strcmp(kind, "template") || !strcmp(kind, "system") || !strcmp(kind, "license") ||
		    !strcmp(kind, "params")) {
			if ((rc = small_text(dir, l, &txt, &tl, err)))
				goto out;
			if (memchr(txt, 0, tl)) {
				rc = HRT_ERR(err, HRT_EFORMAT, "the %s layer holds a NUL byte", kind);
				goto out;
			}
			if (!strcmp(kind, "template")) {
				rc = st_recipe_template(r, txt, o, err);
			} else if (!strcmp(kind, "system")) {
				free(r->settings.system);
				r->settings.system = txt;
				txt = NULL;
			} else if (!strcmp(kind, "license")) {
				size_t old = r->license ? strlen(r->license) : 0;
				char *nl = realloc(r->license, old + tl + 3);
				if (!nl) {
					rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
					goto out;
				}
				if (old)
					memcpy(nl + old, "\n\n", 2), old += 2;
				memcpy(nl + old, txt, tl + 1);
				r->license = nl;
			} else {
				cJSON *j = cJSON_ParseWithLength(txt, tl);
				size_t skipped = 0;
				if (!j)
					rc = HRT_ERR(err, HRT_EFORMAT, "the params layer is not JSON");
				else
					rc = st_params_from_json(j, true, &r->settings.params, &skipped, err);
				cJSON_Delete(j);
				if (!rc && skipped)
					rc = note(o, err, "%zu parameter%s hearth does not know were left out",
						  skipped, skipped == 1 ? "" : "s");
			}
			free(txt);
			txt = NULL;
			if (rc)
				goto out;
		} else if (!strcmp(kind, "adapter")) {
			if (r->n_adapters >= HRT_STORE_MAX_LAYERS / 2 || ns >= HRT_STORE_MAX_LAYERS) {
				rc = HRT_ERR(err, HRT_ERANGE, "too many adapters");
				goto out;
			}
			rc = adopt(s, dir, l, &stages[ns], NULL, o, err);
			ns++;
			if (rc)
				goto out;
			r->adapters[r->n_adapters] = l->digest;
			r->adapter_sizes[r->n_adapters++] = l->size;
			if ((rc = note(o, err, "the LoRA adapter is stored; hearth does not apply adapters yet")))
				goto out;
		} else {
			if ((rc = note(o, err, "skipping the %s layer (not used by hearth)", kind)))
				goto out;
		}
	}
	for (size_t i = 0; i < ns; i++)
		if ((rc = st_stage_publish(s, &stages[i], err)))
			goto out;
	rc = st_recipe_commit(s, dst, r, NULL, err);
out:
	for (size_t i = 0; i < ns; i++)
		st_stage_close(&stages[i], false);
	st_unlock(lk);
	if (r)
		st_recipe_free(r);
	free(r);
	free(m);
	free(stages);
	free(buf);
	free(txt);
	if (linked_out)
		*linked_out = linked;
	return rc;
}

struct walk_ctx {
	struct hrt_store *s;
	const char *dir;
	struct hrt_store_opts *o;
	size_t ok, failed;
	struct hrt_err last;
};

static void one(struct walk_ctx *c, const char *path, const char *host, const char *ns,
		const char *model, const char *tag)
{
	char full[1200], shown[600];
	struct hrt_name n;
	struct hrt_err e = { 0 };
	if (!strcmp(host, "registry.ollama.ai") && !strcmp(ns, "library"))
		snprintf(full, sizeof full, "%s:%s", model, tag);
	else if (!strcmp(host, "registry.ollama.ai"))
		snprintf(full, sizeof full, "%s/%s:%s", ns, model, tag);
	else
		snprintf(full, sizeof full, "%s/%s/%s:%s", host, ns, model, tag);
	st_printable(full, strlen(full), shown, sizeof shown);
	int rc = hrt_name_parse(full, &n, &e);
	bool linked = false;
	if (!rc) {
		note(c->o, NULL, "importing %s", shown);
		rc = import_one(c->s, c->dir, path, &n, c->o, &linked, &e);
	}
	if (rc) {
		c->failed++;
		c->last = e;
		note(c->o, NULL, "skipped %s: %s", shown, e.msg);
	} else {
		c->ok++;
		note(c->o, NULL, "imported %s (%s)", shown,
		     linked ? "hard-linked, no bytes copied" : "copied or already stored");
	}
}

static void walk(struct walk_ctx *c, const char *dir, int depth, char parts[4][256])
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= 256)
			continue;
		char p[ST_PATH];
		struct stat st;
		if (st_pathf(p, sizeof p, NULL, "%s/%s", dir, e->d_name) || lstat(p, &st) != 0)
			continue;
		snprintf(parts[depth], 256, "%s", e->d_name);
		if (depth < 3 && S_ISDIR(st.st_mode))
			walk(c, p, depth + 1, parts);
		else if (depth == 3 && S_ISREG(st.st_mode))
			one(c, p, parts[0], parts[1], parts[2], parts[3]);
	}
	closedir(d);
}

int hrt_store_import_ollama(struct hrt_store *s, const char *dir, struct hrt_store_opts *o,
			    size_t *n_ok, size_t *n_failed, struct hrt_err *err)
{
	char def[ST_PATH], mdir[ST_PATH];
	if (!dir) {
		const char *env = getenv("OLLAMA_MODELS"), *home = getenv("HOME");
		if (env && *env)
			dir = env;
		else if (st_pathf(def, sizeof def, err, "%s/.ollama/models", home && *home ? home : "."))
			return HRT_ERANGE;
		else
			dir = def;
	}
	int rc = st_pathf(mdir, sizeof mdir, err, "%s/manifests", dir);
	if (rc)
		return rc;
	struct stat st;
	if (stat(mdir, &st) != 0 || !S_ISDIR(st.st_mode))
		return HRT_ERR(err, HRT_ENOTFOUND, "%s has no Ollama store (no manifests folder)", dir);
	struct walk_ctx c = { .s = s, .dir = dir, .o = o };
	char parts[4][256];
	walk(&c, mdir, 0, parts);
	if (n_ok)
		*n_ok = c.ok;
	if (n_failed)
		*n_failed = c.failed;
	if (c.ok == 0 && c.failed == 0)
		return HRT_ERR(err, HRT_ENOTFOUND, "no models found in %s", dir);
	if (c.ok == 0) {
		if (err)
			*err = c.last;
		return c.last.code ? c.last.code : HRT_EFORMAT;
	}
	return HRT_OK;
}
