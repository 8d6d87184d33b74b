/*
 * store/create — making models: `hearth import FILE NAME` and `hearth
 * create NAME -f Modelfile`. A GGUF is copied into the blob folder while
 * it is hashed, validated by the GGUF reader and the model loader before
 * it gets its name, and described in a ModelPack config (architecture,
 * parameter count, precision, quantization) plus hearth.json (template,
 * system prompt, parameters, type mix). The manifest is written last.
 * Not here: the JSON forms (manifest.c), the Modelfile syntax
 * (modelfile.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/types.h"
#include "model/model.h"
#include "model/tools.h"
#include "store/store_int.h"
#include "tok/chat.h"

static void meta_str(const struct hrt_gguf *g, const char *key, char *out, size_t cap)
{
	struct hrt_str v;
	out[0] = 0;
	if (hrt_gguf_get_str(g, key, &v, NULL) == HRT_OK)
		st_printable(v.ptr, (size_t)v.len, out, cap);
}

static bool spdx_like(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '+'))
			return false;
	return true;
}

/* messages from the readers start with the (temp) path: drop it */
static void drop_path(struct hrt_err *err, const char *path)
{
	size_t k = strlen(path);
	if (err && !strncmp(err->msg, path, k) && err->msg[k] == ':' && err->msg[k + 1] == ' ')
		memmove(err->msg, err->msg + k + 2, strlen(err->msg + k + 2) + 1);
}

int st_inspect(const char *path, struct st_info *info, struct hrt_store_opts *o,
	       struct hrt_err *err)
{
	memset(info, 0, sizeof *info);
	struct hrt_gguf *g;
	int rc = hrt_gguf_open(&g, path, err);
	if (rc) {
		drop_path(err, path);
		st_err_prefix(err, "not a valid GGUF model");
		return rc;
	}
	if (hrt_gguf_n_tensors(g) == 0) {
		hrt_gguf_close(g);
		return HRT_ERR(err, HRT_EFORMAT,
			       "the GGUF file has no tensors (a tokenizer-only file?), so it is not a model");
	}
	meta_str(g, "general.architecture", info->architecture, sizeof info->architecture);
	meta_str(g, "general.name", info->name, sizeof info->name);
	meta_str(g, "general.basename", info->basename, sizeof info->basename);
	meta_str(g, "general.license", info->license, sizeof info->license);
	if (!spdx_like(info->license))
		info->license[0] = 0;
	uint32_t ft;
	if (hrt_gguf_get_u32(g, "general.file_type", &ft, NULL) == HRT_OK && hrt_ftype_name(ft))
		snprintf(info->file_type, sizeof info->file_type, "%s", hrt_ftype_name(ft));
	int only = -1;
	bool mixed = false;
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		uint64_t n = 1;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (hrt_mul_ovf(n, t->ne[d], &n))
				n = UINT64_MAX;
		if (t->type < 64)
			info->type_params[t->type] += n;
		if (!hrt_add_ovf(info->n_params, n, &info->n_params) && t->n_dims >= 2) {
			if (only < 0)
				only = (int)t->type;
			else if (only != (int)t->type)
				mixed = true;
		}
	}
	if (mixed) {
		snprintf(info->precision, sizeof info->precision, "mixed");
	} else if (only >= 0 && hrt_type_name((uint32_t)only)) {
		snprintf(info->precision, sizeof info->precision, "%s", hrt_type_name((uint32_t)only));
		for (char *p = info->precision; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	if (!info->file_type[0] && only >= 0 && hrt_type_name((uint32_t)only))
		snprintf(info->file_type, sizeof info->file_type, "%s", hrt_type_name((uint32_t)only));
	/* the model loader has the last word (it takes g) */
	struct hrt_model *m;
	struct hrt_err me = { 0 };
	rc = hrt_model_open_gguf(&m, g, &me);
	if (rc == HRT_OK) {
		info->runnable = true;
		info->n_params = hrt_model_n_params(m);
		hrt_model_close(m);
		return HRT_OK;
	}
	if (rc == HRT_ENOTSUP) {
		char note[600];
		snprintf(note, sizeof note, "note: hearth cannot run this model yet (%s); stored anyway",
			 me.msg);
		return st_progress(o, note, NULL, 0, 0, err);
	}
	if (err)
		*err = me;
	drop_path(err, path);
	st_err_prefix(err, "not a model hearth accepts");
	return rc;
}

void st_recipe_free(struct st_recipe *r)
{
	st_settings_free(&r->settings);
	free(r->license);
	r->license = NULL;
}

int st_recipe_commit(const struct hrt_store *s, const struct hrt_name *name,
		     struct st_recipe *r, struct hrt_digest *id, struct hrt_err *err)
{
	char *js = NULL;
	size_t jl;
	int rc;
	struct st_manifest *m = calloc(1, sizeof *m);
	if (!m)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	struct st_desc *d = &m->layers[m->n_layers++];
	snprintf(d->media_type, sizeof d->media_type, "%s", HRT_MT_MODEL_WEIGHT);
	d->digest = r->weights;
	d->size = r->weights_size;
	snprintf(d->filepath, sizeof d->filepath, "%s", r->weights_file[0] ? r->weights_file : "model.gguf");
	/* hearth.json */
	if ((rc = st_settings_build(&r->settings, &r->info, &js, &jl, err)))
		goto out;
	d = &m->layers[m->n_layers++];
	snprintf(d->media_type, sizeof d->media_type, "%s", HRT_MT_MODEL_WEIGHT_CONFIG);
	snprintf(d->filepath, sizeof d->filepath, "hearth.json");
	snprintf(d->role, sizeof d->role, "settings");
	d->size = jl;
	if ((rc = st_blob_put_mem(s, js, jl, &d->digest, err)))
		goto out;
	free(js);
	js = NULL;
	if (r->license) {
		d = &m->layers[m->n_layers++];
		snprintf(d->media_type, sizeof d->media_type, "%s", HRT_MT_MODEL_DOC);
		snprintf(d->filepath, sizeof d->filepath, "LICENSE");
		snprintf(d->role, sizeof d->role, "license");
		d->size = strlen(r->license);
		if ((rc = st_blob_put_mem(s, r->license, (size_t)d->size, &d->digest, err)))
			goto out;
	}
	for (size_t i = 0; i < r->n_adapters; i++) {
		d = &m->layers[m->n_layers++];
		snprintf(d->media_type, sizeof d->media_type, "%s", HRT_MT_MODEL_WEIGHT);
		snprintf(d->filepath, sizeof d->filepath, "adapter-%zu.gguf", i);
		snprintf(d->role, sizeof d->role, "adapter");
		d->digest = r->adapters[i];
		d->size = r->adapter_sizes[i];
	}
	/* provenance records last (their blobs are written by st_docs_put) */
	if (m->n_layers + r->n_docs > HRT_STORE_MAX_LAYERS) {
		rc = HRT_ERR(err, HRT_ERANGE, "the model would have more than %d layers",
			     HRT_STORE_MAX_LAYERS);
		goto out;
	}
	for (size_t i = 0; i < r->n_docs; i++)
		m->layers[m->n_layers++] = r->docs[i];
	m->weights = 0;
	m->settings = 1;
	/* the ModelPack config names the layers, so it comes after them */
	if ((rc = st_config_build(&r->info, m, &js, &jl, err)))
		goto out;
	snprintf(m->config.media_type, sizeof m->config.media_type, "%s", HRT_MT_MODEL_CONFIG);
	m->config.size = jl;
	if ((rc = st_blob_put_mem(s, js, jl, &m->config.digest, err)))
		goto out;
	free(js);
	js = NULL;
	if ((rc = st_manifest_build(m, &js, &jl, err)))
		goto out;
	if ((rc = st_tag_write(s, name, js, jl, err)))
		goto out;
	if (id)
		hrt_digest_of(js, jl, id);
out:
	free(js);
	free(m);
	return rc;
}

/* Copy a GGUF file into the blob folder (hashing as it goes), validate it,
 * publish it. info (may be NULL) gets what st_inspect found. */
static int import_file(const struct hrt_store *s, const char *path, bool model,
		       struct hrt_store_opts *o, struct hrt_digest *d,
		       uint64_t *size, struct st_info *info, struct hrt_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s", path,
			       strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return HRT_ERR(err, HRT_EINVAL, "%s is not a regular file", path);
	}
	uint64_t total = (uint64_t)st.st_size;
	if (total + (64u << 20) > st_free_space(s->blobs) && st_free_space(s->blobs) != UINT64_MAX) {
		close(fd);
		return HRT_ERR(err, HRT_EIO, "not enough free space in %s for %s", s->blobs, path);
	}
	struct hrt_blob_writer *w;
	int rc = hrt_store_blob_begin((struct hrt_store *)s, NULL, total, &w, err);
	if (rc) {
		close(fd);
		return rc;
	}
	size_t cap = (size_t)1 << 20;
	char *buf = malloc(cap);
	uint64_t done = 0, next = 0;
	struct st_info tmp;
	if (!buf) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto fail;
	}
	for (;;) {
		ssize_t k = read(fd, buf, cap);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = HRT_ERR(err, HRT_EIO, "reading %s: %s", path, strerror(errno));
			goto fail;
		}
		if (k == 0)
			break;
		if ((rc = hrt_store_blob_write(w, buf, (size_t)k, err))) {
			st_err_prefix(err, "%s changed while it was read", path);
			goto fail;
		}
		done += (uint64_t)k;
		if (done >= next) {
			next = done + (total / 50 > cap ? total / 50 : cap);
			if ((rc = st_progress(o, "copying", NULL, total, done, err)))
				goto fail;
		}
	}
	if ((rc = st_writer_finish(w, d, size, err)))
		goto fail;
	if (model) {
		if ((rc = st_inspect(st_writer_path(w), info ? info : &tmp, o, err)))
			goto fail;
	} else {
		struct hrt_gguf *g;
		if ((rc = hrt_gguf_open(&g, st_writer_path(w), err))) {
			st_err_prefix(err, "%s is not a valid GGUF file", path);
			goto fail;
		}
		hrt_gguf_close(g);
	}
	bool was_new = false;
	rc = st_writer_publish(w, &was_new, err);
	w = NULL;
	if (!rc)
		rc = st_progress(o, was_new ? "stored" : "already in the store", d, total, total, err);
fail:
	free(buf);
	close(fd);
	if (w)
		hrt_store_blob_abort(w);
	return rc;
}

/* "sha256:<hex>" or "@sha256:<hex>" of a blob already stored */
static int stored_blob(const struct hrt_store *s, const char *ref,
		       struct hrt_digest *d, uint64_t *size, struct hrt_err *err)
{
	if (*ref == '@')
		ref++;
	int rc = hrt_digest_parse(ref, strlen(ref), d, err);
	if (rc)
		return rc;
	char p[ST_PATH];
	struct stat st;
	if ((rc = st_blob_path(s, d, p, sizeof p, err)))
		return rc;
	if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
		return HRT_ERR(err, HRT_ENOTFOUND, "blob sha256:%s is not in the store (send it first)",
			       d->hex);
	*size = (uint64_t)st.st_size;
	return HRT_OK;
}

static bool is_digest_ref(const char *s)
{
	return !strncmp(s, "sha256:", 7) || !strncmp(s, "@sha256:", 8);
}

static int full_path(const char *base_dir, const char *p, char *out, size_t cap,
		     struct hrt_err *err)
{
	if (p[0] == '/' || !base_dir || !*base_dir)
		return st_pathf(out, cap, err, "%s", p);
	return st_pathf(out, cap, err, "%s/%s", base_dir, p);
}

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void base_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t k = 0;
	for (; *b && k + 1 < cap; b++) {
		char c = *b;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		out[k++] = ok ? c : '_';
	}
	out[k] = 0;
	if (k == 0 || out[0] == '.')
		snprintf(out, cap, "model.gguf");
}

/* start from an existing model: weights, settings, license, adapters */
static int inherit(const struct hrt_store *s, const struct hrt_name *n,
		   struct st_recipe *r, struct hrt_store_opts *o, struct hrt_err *err)
{
	char *buf = NULL, *b2 = NULL, p[ST_PATH];
	size_t len, l2;
	int rc = st_tag_read(s, n, &buf, &len, err);
	if (rc)
		return rc;
	struct st_manifest *m = malloc(sizeof *m);
	if (!m) {
		free(buf);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err)))
		goto out;
	const struct st_desc *w = &m->layers[m->weights];
	r->weights = w->digest;
	r->weights_size = w->size;
	snprintf(r->weights_file, sizeof r->weights_file, "%s", w->filepath);
	if ((rc = st_blob_path(s, &w->digest, p, sizeof p, err)) ||
	    (rc = st_inspect(p, &r->info, o, err)))
		goto out;
	if (m->settings >= 0) {
		const struct st_desc *d = &m->layers[m->settings];
		if ((rc = st_blob_read(s, &d->digest, d->size, HRT_STORE_SMALL_MAX, &b2, &l2, err)) ||
		    (rc = st_settings_parse(b2, l2, &r->settings, err)))
			goto out;
		free(b2);
		b2 = NULL;
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct st_desc *d = &m->layers[i];
		if (!strcmp(d->role, "license") && !strcmp(d->media_type, HRT_MT_MODEL_DOC)) {
			if ((rc = st_blob_read(s, &d->digest, d->size, HRT_STORE_SMALL_MAX, &b2, &l2, err)))
				goto out;
			size_t old = r->license ? strlen(r->license) : 0;
			char *nl = realloc(r->license, old + l2 + 3);
			if (!nl) {
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out;
			}
			if (old)
				memcpy(nl + old, "\n\n", 2), old += 2;
			memcpy(nl + old, b2, l2);
			nl[old + l2] = 0;
			r->license = nl;
			free(b2);
			b2 = NULL;
		} else if (!strcmp(d->role, "adapter") && r->n_adapters < HRT_STORE_MAX_LAYERS / 2) {
			r->adapters[r->n_adapters] = d->digest;
			r->adapter_sizes[r->n_adapters++] = d->size;
		} else if (st_is_doc(d)) {
			/* records are about the weights, which stay the same */
			if ((rc = st_docs_merge(r->docs, &r->n_docs, HRT_STORE_MAX_DOCS, d, err)))
				goto out;
		}
	}
out:
	free(m);
	free(buf);
	free(b2);
	return rc;
}

int st_recipe_template(struct st_recipe *r, const char *text,
		       struct hrt_store_opts *o, struct hrt_err *err)
{
	free(r->settings.template_text);
	r->settings.template_text = hrt_strdup(text);
	if (!r->settings.template_text)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	size_t n = strlen(text);
	int named = hrt_chat_family_from_name(text);
	enum hrt_chat_family f = named >= 0 ? (enum hrt_chat_family)named : hrt_chat_detect(text, n);
	r->settings.template_family[0] = 0;
	if (named < 0 && f == HRT_CHAT_RAW)
		return st_progress(o, "note: TEMPLATE matches no chat format hearth knows; the model's own template is used",
				   NULL, 0, 0, err);
	snprintf(r->settings.template_family, sizeof r->settings.template_family, "%s",
		 hrt_chat_family_name(f));
	return HRT_OK;
}

/* PARAMETER lines of a Modelfile over inherited values: a key given
 * replaces the old value; stop lines replace the old stop list. */
static int merge_params(struct hrt_store_params *dst, const struct hrt_store_params *add,
			struct hrt_err *err)
{
	for (int i = 0; i < HRT_P_COUNT; i++) {
		if (!(add->set & (1u << i)))
			continue;
		switch (i) {
		case HRT_P_TEMPERATURE: dst->temperature = add->temperature; break;
		case HRT_P_TOP_K: dst->top_k = add->top_k; break;
		case HRT_P_TOP_P: dst->top_p = add->top_p; break;
		case HRT_P_MIN_P: dst->min_p = add->min_p; break;
		case HRT_P_REPEAT_PENALTY: dst->repeat_penalty = add->repeat_penalty; break;
		case HRT_P_REPEAT_LAST_N: dst->repeat_last_n = add->repeat_last_n; break;
		case HRT_P_PRESENCE_PENALTY: dst->presence_penalty = add->presence_penalty; break;
		case HRT_P_FREQUENCY_PENALTY: dst->frequency_penalty = add->frequency_penalty; break;
		case HRT_P_SEED: dst->seed = add->seed; break;
		case HRT_P_NUM_CTX: dst->num_ctx = add->num_ctx; break;
		case HRT_P_NUM_PREDICT: dst->num_predict = add->num_predict; break;
		case HRT_P_STOP:
			for (size_t k = 0; k < dst->n_stop; k++)
				free(dst->stop[k]);
			dst->n_stop = 0;
			for (size_t k = 0; k < add->n_stop; k++) {
				if (!(dst->stop[k] = hrt_strdup(add->stop[k])))
					return HRT_ERR(err, HRT_ENOMEM, "no memory");
				dst->n_stop = k + 1;
			}
			break;
		}
		dst->set |= 1u << i;
	}
	return HRT_OK;
}

int hrt_store_create(struct hrt_store *s, const char *name,
		     const struct hrt_modelfile *mf, const char *base_dir,
		     struct hrt_store_opts *o, struct hrt_err *err)
{
	struct hrt_name n, from_name;
	struct st_recipe *r = calloc(1, sizeof *r);
	char p[ST_PATH];
	int rc, lk = -1;
	if (!r)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if ((rc = hrt_name_parse(name, &n, err)))
		goto out;
	if (!mf->from || !*mf->from) {
		rc = HRT_ERR(err, HRT_EINVAL, "FROM is missing");
		goto out;
	}
	if ((rc = st_lock(s, false, o, &lk, err)))
		goto out;
	/* FROM: a digest, a file, or a model in the store */
	if (is_digest_ref(mf->from)) {
		if ((rc = stored_blob(s, mf->from, &r->weights, &r->weights_size, err)) ||
		    (rc = st_blob_path(s, &r->weights, p, sizeof p, err)) ||
		    (rc = st_inspect(p, &r->info, o, err)))
			goto out;
	} else if (!(o && o->no_paths) &&
		   (rc = full_path(base_dir, mf->from, p, sizeof p, err)) == HRT_OK && file_exists(p)) {
		if ((rc = import_file(s, p, true, o, &r->weights, &r->weights_size, &r->info, err))) {
			st_err_prefix(err, "%s", p);
			goto out;
		}
		base_name(p, r->weights_file, sizeof r->weights_file);
	} else if (hrt_name_parse(mf->from, &from_name, NULL) == HRT_OK &&
		   st_tag_path(s, &from_name, p, sizeof p, NULL) == HRT_OK && file_exists(p)) {
		if ((rc = inherit(s, &from_name, r, o, err)))
			goto out;
	} else {
		char shown[200];
		st_printable(mf->from, strlen(mf->from), shown, sizeof shown);
		rc = HRT_ERR(err, HRT_ENOTFOUND, "FROM %s: %s", shown,
			     o && o->no_paths ? "no model of that name in the store (files cannot be named here)"
					      : "no such file, and no model of that name in the store");
		goto out;
	}
	/* records the caller found beside the weights file (or adds to those
	 * of the model FROM names) */
	if (o && o->n_docs &&
	    (rc = st_docs_put(s, r->weights_file, o->docs, o->n_docs, r->docs, &r->n_docs,
			      HRT_STORE_MAX_DOCS, err)))
		goto out;
	/* the directives over what FROM gave */
	if (mf->template_text && (rc = st_recipe_template(r, mf->template_text, o, err)))
		goto out;
	if (mf->system) {
		free(r->settings.system);
		if (!(r->settings.system = hrt_strdup(mf->system))) {
			rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
			goto out;
		}
	}
	if (mf->params.set && (rc = merge_params(&r->settings.params, &mf->params, err)))
		goto out;
	if (mf->n_licenses) {
		free(r->license);
		r->license = NULL;
		for (size_t i = 0; i < mf->n_licenses; i++) {
			size_t old = r->license ? strlen(r->license) : 0, add = strlen(mf->licenses[i]);
			char *nl = realloc(r->license, old + add + 3);
			if (!nl) {
				rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
				goto out;
			}
			if (old)
				memcpy(nl + old, "\n\n", 2), old += 2;
			memcpy(nl + old, mf->licenses[i], add + 1);
			r->license = nl;
		}
	}
	if (mf->n_adapters) {
		if (mf->n_adapters > HRT_STORE_MAX_LAYERS / 2) {
			rc = HRT_ERR(err, HRT_ERANGE, "too many ADAPTER lines");
			goto out;
		}
		r->n_adapters = 0;
		for (size_t i = 0; i < mf->n_adapters; i++) {
			const char *a = mf->adapters[i];
			struct hrt_digest *d = &r->adapters[r->n_adapters];
			uint64_t *sz = &r->adapter_sizes[r->n_adapters];
			if (is_digest_ref(a))
				rc = stored_blob(s, a, d, sz, err);
			else if (o && o->no_paths)
				rc = HRT_ERR(err, HRT_EINVAL, "only sha256:<hex> blobs may be named here, not files");
			else if (!(rc = full_path(base_dir, a, p, sizeof p, err)))
				rc = import_file(s, p, false, o, d, sz, NULL, err);
			if (rc) {
				st_err_prefix(err, "ADAPTER");
				goto out;
			}
			r->n_adapters++;
		}
		if ((rc = st_progress(o, "note: ADAPTER files are stored; hearth does not apply LoRA adapters yet",
				      NULL, 0, 0, err)))
			goto out;
	}
	if ((rc = st_progress(o, "writing manifest", NULL, 0, 0, err)) ||
	    (rc = st_recipe_commit(s, &n, r, NULL, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	st_unlock(lk);
	st_recipe_free(r);
	free(r);
	return rc;
}

int hrt_store_create_text(struct hrt_store *s, const char *name, const char *text,
			  size_t len, const char *base_dir, struct hrt_store_opts *o,
			  struct hrt_err *err)
{
	struct hrt_modelfile mf;
	int rc = hrt_modelfile_parse(text, len, &mf, err);
	if (rc)
		return rc;
	rc = hrt_store_create(s, name, &mf, base_dir, o, err);
	hrt_modelfile_free(&mf);
	return rc;
}

int hrt_store_import(struct hrt_store *s, const char *path, const char *name,
		     struct hrt_store_opts *o, struct hrt_err *err)
{
	if (!file_exists(path))
		return HRT_ERR(err, HRT_ENOTFOUND, "%s: no such file", path);
	struct hrt_name n;
	int rc = hrt_name_parse(name, &n, err);
	if (rc)
		return rc;
	struct hrt_modelfile mf = { 0 };
	mf.from = (char *)path;
	return hrt_store_create(s, name, &mf, NULL, o, err);
}
