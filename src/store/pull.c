/*
 * store/pull — moving models over the network: pull and push through an
 * OCI registry, and pull of a plain https URL of a GGUF file (Hugging Face
 * resolve/ URLs announce the file's SHA-256 in X-Linked-Etag).
 * A pull downloads every blob into its .partial stage (resuming what an
 * interrupted run left), verifies each digest and size, checks the
 * documents and the GGUF, and only then names the blobs, and last the
 * manifest. Any bad input leaves the store as it was.
 * Not here: HTTP (http.c), the registry protocol (registry.c), OCI
 * layouts on disk (layout.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/util.h"
#include "store/store_int.h"

static int desc_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct st_desc *const *)a)->digest.hex,
		      (*(const struct st_desc *const *)b)->digest.hex);
}

/* the blobs of m, once each, in digest order (the order in which stages
 * are locked, so two pulls never wait for each other in a circle) */
static size_t unique_blobs(const struct st_manifest *m, const struct st_desc **out)
{
	size_t n = 0;
	out[n++] = &m->config;
	for (size_t i = 0; i < m->n_layers; i++)
		out[n++] = &m->layers[i];
	qsort(out, n, sizeof *out, desc_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(out[k - 1]->digest.hex, out[i]->digest.hex) != 0)
			out[k++] = out[i];
	return k;
}

/* read a small staged or published blob */
static int stage_read(const struct hrt_store *s, const struct st_stage *st, char **out,
		      size_t *len, struct hrt_err *err)
{
	char p[ST_PATH];
	if (st->done) {
		int rc = st_blob_path(s, &st->digest, p, sizeof p, err);
		return rc ? rc : st_read_file(p, HRT_STORE_SMALL_MAX, true, out, len, err);
	}
	return st_read_file(st->pub, HRT_STORE_SMALL_MAX, true, out, len, err);
}

/* Check what a manifest brought before anything is named: the config and
 * hearth.json parse, the weights are a GGUF model. */
int st_check_staged(const struct hrt_store *s, const struct st_manifest *m,
		    struct st_stage *stages, size_t n, struct hrt_store_opts *o,
		    struct hrt_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct st_stage *st = &stages[i];
		const char *hex = st->digest.hex;
		char *buf = NULL, p[ST_PATH];
		size_t len;
		int rc = HRT_OK;
		if (!strcmp(hex, m->config.digest.hex)) {
			struct st_config c;
			if (!(rc = stage_read(s, st, &buf, &len, err)))
				rc = st_config_parse(buf, len, &c, err);
		} else if (m->settings >= 0 && !strcmp(hex, m->layers[m->settings].digest.hex)) {
			struct st_settings se;
			if (!(rc = stage_read(s, st, &buf, &len, err)))
				rc = st_settings_parse(buf, len, &se, err);
			st_settings_free(&se);
		}
		free(buf);
		if (!rc && !strcmp(hex, m->layers[m->weights].digest.hex)) {
			struct st_info info;
			if (st->done)
				rc = st_blob_path(s, &st->digest, p, sizeof p, err);
			else
				rc = st_pathf(p, sizeof p, err, "%s", st->pub);
			if (!rc)
				rc = st_inspect(p, &info, o, err);
		}
		if (rc)
			return rc;
	}
	return HRT_OK;
}

int st_admit_staged(const struct hrt_store *s, const struct st_manifest *m,
		    struct st_stage *stages, size_t n, const struct hrt_name *dst,
		    struct hrt_store_opts *o, struct hrt_err *err)
{
	if (!o || !o->admit)
		return HRT_OK;
	const struct st_desc *w = &m->layers[m->weights];
	struct hrt_store_doc docs[HRT_STORE_MAX_LAYERS];
	size_t nd = 0;
	char wpath[ST_PATH];
	bool have_w = false;
	int rc = HRT_OK;
	for (size_t i = 0; i < n && !rc; i++)
		if (!strcmp(stages[i].digest.hex, w->digest.hex)) {
			rc = stages[i].done ? st_blob_path(s, &stages[i].digest, wpath, sizeof wpath, err)
					    : st_pathf(wpath, sizeof wpath, err, "%s", stages[i].pub);
			have_w = true;
		}
	if (!rc && !have_w)
		rc = HRT_ERR(err, HRT_EFORMAT, "the weights blob sha256:%.12s was not staged", w->digest.hex);
	/* the provenance layers, read back from their verified stages */
	for (size_t i = 0; i < m->n_layers && !rc; i++) {
		const struct st_desc *d = &m->layers[i];
		if (!st_is_doc(d))
			continue;
		if (d->size == 0 || d->size > HRT_STORE_DOC_MAX) {
			rc = HRT_ERR(err, HRT_ERANGE, "provenance layer sha256:%.12s has %llu bytes (1 to %zu accepted)",
				     d->digest.hex, (unsigned long long)d->size, HRT_STORE_DOC_MAX);
			break;
		}
		for (size_t k = 0; k < n; k++) {
			if (strcmp(stages[k].digest.hex, d->digest.hex) != 0)
				continue;
			char *b = NULL;
			size_t bl = 0;
			if ((rc = stage_read(s, &stages[k], &b, &bl, err)))
				break;
			docs[nd].media_type = !strcmp(d->media_type, HRT_MT_DSSE) ? HRT_MT_DSSE
										    : HRT_MT_SIGSTORE_BUNDLE;
			docs[nd].bytes = b;
			docs[nd++].len = bl;
			break;
		}
	}
	if (!rc && (rc = st_progress(o, "checking provenance", NULL, 0, 0, err)) == HRT_OK) {
		hrt_err_clear(err);
		rc = o->admit(o->admit_ctx, dst, wpath, &w->digest, docs, nd, err);
		if (rc && err && !err->msg[0])
			HRT_ERR(err, rc, "the model was not admitted");
	}
	for (size_t i = 0; i < nd; i++)
		free((void *)docs[i].bytes);
	return rc;
}

static bool keep_after(int rc)
{
	return rc == HRT_EIO || rc == HRT_ECANCELED;
}

/* ---- registry pull ---- */

static int registry_pull(struct hrt_store *s, const struct hrt_name *src,
			 const struct hrt_name *dst, struct hrt_store_opts *o,
			 struct hrt_err *err)
{
	struct st_reg *r = NULL;
	struct st_manifest *m = calloc(1, sizeof *m);
	struct st_stage *stages = calloc(HRT_STORE_MAX_LAYERS + 1, sizeof *stages);
	const struct st_desc *blobs[HRT_STORE_MAX_LAYERS + 1];
	char *buf = NULL, shown[600];
	size_t len, nb = 0, opened = 0;
	int rc, lk = -1;
	hrt_name_str(src, shown, sizeof shown);
	if (!m || !stages) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	for (size_t i = 0; i <= HRT_STORE_MAX_LAYERS; i++)
		stages[i].fd = -1;
	if ((rc = st_progress(o, "pulling manifest", NULL, 0, 0, err)) ||
	    (rc = st_reg_open(&r, s, src, false, o, err)) ||
	    (rc = st_reg_get_manifest(r, src->tag, &buf, &len, err)))
		goto out;
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err))) {
		st_err_prefix(err, "%s", shown);
		goto out;
	}
	nb = unique_blobs(m, blobs);
	uint64_t need = 0;
	for (size_t i = 0; i < nb; i++)
		if (st_blob_check(s, &blobs[i]->digest, blobs[i]->size, NULL) != 1)
			need += blobs[i]->size;
	uint64_t free_b = st_free_space(s->blobs);
	if (free_b != UINT64_MAX && need > free_b) {
		char a[32], b[32];
		st_human_bytes(need, a, sizeof a);
		st_human_bytes(free_b, b, sizeof b);
		rc = HRT_ERR(err, HRT_ERANGE, "%s needs %s but only %s are free in %s", shown, a, b,
			     s->blobs);
		goto out;
	}
	if ((rc = st_lock(s, false, o, &lk, err)))
		goto out;
	for (size_t i = 0; i < nb; i++) {
		struct st_stage *st = &stages[i];
		if ((rc = st_stage_open(s, &blobs[i]->digest, blobs[i]->size, st, o, err)))
			goto out;
		opened = i + 1;
		if (st->done) {
			if ((rc = st_progress(o, "exists", &st->digest, st->size, st->size, err)))
				goto out;
			continue;
		}
		if (st->have && (rc = st_progress(o, "resuming", &st->digest, st->size, st->have, err)))
			goto out;
		if (st->have < st->size && (rc = st_reg_blob_get(r, st, err)))
			goto out;
		if ((rc = st_stage_verify(st, err)))
			goto out;
		if ((rc = st_progress(o, "verified", &st->digest, st->size, st->size, err)))
			goto out;
	}
	if ((rc = st_admit_staged(s, m, stages, nb, dst, o, err)))
		goto out;
	if ((rc = st_check_staged(s, m, stages, nb, o, err))) {
		st_err_prefix(err, "%s", shown);
		goto out;
	}
	for (size_t i = 0; i < nb; i++)
		if ((rc = st_stage_publish(s, &stages[i], err)))
			goto out;
	if ((rc = st_progress(o, "writing manifest", NULL, 0, 0, err)) ||
	    (rc = st_tag_write(s, dst, buf, len, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	for (size_t i = 0; i < opened; i++)
		st_stage_close(&stages[i], keep_after(rc));
	st_unlock(lk);
	st_reg_close(r);
	free(buf);
	free(stages);
	free(m);
	return rc;
}

/* ---- push ---- */

int hrt_store_push(struct hrt_store *s, const char *name, const char *dst,
		   struct hrt_store_opts *o, struct hrt_err *err)
{
	struct hrt_name n, d;
	char *buf = NULL, shown[600];
	size_t len;
	int rc, lk = -1;
	struct st_reg *r = NULL;
	struct st_manifest *m = NULL;
	if ((rc = hrt_name_parse(name, &n, err)) ||
	    (rc = hrt_name_parse(dst ? dst : name, &d, err)))
		return rc;
	hrt_name_str(&d, shown, sizeof shown);
	if (!hrt_name_is_remote(&d))
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s' names no registry: push to registry.example/namespace/model:tag",
			       shown);
	if ((rc = st_lock(s, false, o, &lk, err)) || (rc = st_tag_read(s, &n, &buf, &len, err)))
		goto out;
	if (!(m = malloc(sizeof *m))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err)) ||
	    (rc = st_reg_open(&r, s, &d, true, o, err)))
		goto out;
	const struct st_desc *blobs[HRT_STORE_MAX_LAYERS + 1];
	size_t nb = unique_blobs(m, blobs);
	for (size_t i = 0; i < nb; i++) {
		const struct st_desc *b = blobs[i];
		int have = st_reg_blob_exists(r, &b->digest, b->size, err);
		if (have < 0) {
			rc = -have;
			goto out;
		}
		if (have) {
			if ((rc = st_progress(o, "exists", &b->digest, b->size, b->size, err)))
				goto out;
			continue;
		}
		char p[ST_PATH];
		int fd;
		uint64_t size;
		if ((rc = st_blob_path(s, &b->digest, p, sizeof p, err)) ||
		    (rc = st_open_regular(p, &fd, &size, err)))
			goto out;
		if (size != b->size) {
			close(fd);
			rc = HRT_ERR(err, HRT_EFORMAT, "blob sha256:%s has %llu bytes, not %llu (run hearth fsck)",
				     b->digest.hex, (unsigned long long)size, (unsigned long long)b->size);
			goto out;
		}
		if ((rc = st_progress(o, "pushing", &b->digest, b->size, 0, err)) == HRT_OK)
			rc = st_reg_blob_put(r, fd, &b->digest, b->size, err);
		close(fd);
		if (rc || (rc = st_progress(o, "pushed", &b->digest, b->size, b->size, err)))
			goto out;
	}
	if ((rc = st_progress(o, "pushing manifest", NULL, 0, 0, err)) ||
	    (rc = st_reg_put_manifest(r, d.tag, buf, len, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	st_reg_close(r);
	st_unlock(lk);
	free(m);
	free(buf);
	return rc;
}

/* ---- plain URLs ---- */

/* lower-case, keep [a-z0-9._-], squeeze other runs into '-', trim */
static void name_part(const char *in, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	bool sep = false;
	for (size_t i = 0; i < n && k + 2 < cap; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		bool al = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (al) {
			out[k++] = c;
			sep = false;
		} else if (k && !sep) {
			out[k++] = c == '.' || c == '_' ? c : '-';
			sep = true;
		}
	}
	while (k && sep) {
		k--;
		sep = k && !((out[k - 1] >= 'a' && out[k - 1] <= 'z') ||
			     (out[k - 1] >= '0' && out[k - 1] <= '9'));
	}
	if (k > 128)
		k = 128;
	out[k] = 0;
}

static void tag_part(const char *in, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap && k < 128; i++) {
		char c = in[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || ((c == '.' || c == '-') && k > 0);
		if (ok)
			out[k++] = c;
		else if (k > 0)
			out[k++] = '-';
	}
	out[k] = 0;
}

int hrt_store_url_name(const char *url, struct hrt_name *out, struct hrt_err *err)
{
	char host[300], full[1200], a[140], b[140], t[140];
	int rc = st_url_origin(url, NULL, 0, host, sizeof host, err);
	if (rc)
		return rc;
	const char *path = strstr(url, "://");
	path = path ? strchr(path + 3, '/') : NULL;
	if (!path)
		return HRT_ERR(err, HRT_EINVAL, "cannot make a model name from %s; give one", url);
	size_t pl = strcspn(path, "?#");
	const char *file = path + pl;
	while (file > path && file[-1] != '/')
		file--;
	size_t fl = (size_t)(path + pl - file);
	if (fl > 5 && !strncmp(file + fl - 5, ".gguf", 5))
		fl -= 5;
	if (!strcmp(host, "huggingface.co") || !strcmp(host, "hf.co")) {
		/* /owner/repo/resolve/rev/file.gguf */
		const char *o1 = path + 1, *o2 = strchr(o1, '/');
		const char *r2 = o2 ? strchr(o2 + 1, '/') : NULL;
		if (!o2 || !r2 || r2 > path + pl)
			return HRT_ERR(err, HRT_EINVAL, "cannot make a model name from %s; give one", url);
		name_part(o1, (size_t)(o2 - o1), a, sizeof a);
		name_part(o2 + 1, (size_t)(r2 - o2 - 1), b, sizeof b);
		tag_part(file, fl, t, sizeof t);
		snprintf(full, sizeof full, "hf.co/%s/%s:%s", a, b, t);
	} else {
		name_part(file, fl, b, sizeof b);
		snprintf(full, sizeof full, "%s/library/%s:latest", host, b);
	}
	if (hrt_name_parse(full, out, NULL))
		return HRT_ERR(err, HRT_EINVAL, "cannot make a model name from %s; give one", url);
	return HRT_OK;
}

static int url_pull(struct hrt_store *s, const char *url, const struct hrt_name *dst,
		    struct hrt_store_opts *o, struct hrt_err *err)
{
	struct st_http *h = NULL;
	struct st_stage st = { .fd = -1 };
	struct st_recipe *r = calloc(1, sizeof *r);
	struct hrt_digest d;
	int rc, lk = -1;
	bool opened = false;
	if (!r)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if ((rc = st_http_new(&h, o, err)))
		goto out;
	/* what the server says about the file */
	struct st_req hq = { .method = "HEAD", .url = url, .follow = true };
	struct st_resp hr = { 0 };
	rc = st_http_do(h, &hq, &hr, err);
	st_resp_free(&hr);
	if (rc)
		goto out;
	uint64_t size = hr.linked_size != UINT64_MAX ? hr.linked_size
		      : hr.status == 200 ? hr.content_length : UINT64_MAX;
	/* a HEAD the far end of a redirect refuses is no reason to stop when
	 * the hub already named the digest; the GET will tell */
	if (hr.status >= 400 && !hr.linked_etag[0] && !(o && o->digest)) {
		rc = HRT_ERR(err, hr.status == 404 ? HRT_ENOTFOUND : HRT_EIO, "%s: HTTP %ld", url,
			     hr.status);
		goto out;
	}
	if (o && o->digest) {
		if ((rc = hrt_digest_parse(o->digest, strlen(o->digest), &d, err)))
			goto out;
	} else {
		char ds[80];
		snprintf(ds, sizeof ds, "sha256:%s", hr.linked_etag);
		if (strlen(hr.linked_etag) != 64 || hrt_digest_parse(ds, strlen(ds), &d, NULL)) {
			rc = HRT_ERR(err, HRT_EFORMAT,
				     "%s: the server announces no SHA-256 for this file, so it could not be checked; "
				     "give the publisher's checksum with --digest sha256:<hex>", url);
			goto out;
		}
	}
	if (size != UINT64_MAX && size > HRT_STORE_BLOB_MAX) {
		rc = HRT_ERR(err, HRT_ERANGE, "%s: %llu bytes is over the limit", url,
			     (unsigned long long)size);
		goto out;
	}
	uint64_t free_b = st_free_space(s->blobs);
	if (size != UINT64_MAX && free_b != UINT64_MAX && size > free_b) {
		rc = HRT_ERR(err, HRT_ERANGE, "%s needs %llu bytes; %llu are free in %s", url,
			     (unsigned long long)size, (unsigned long long)free_b, s->blobs);
		goto out;
	}
	if ((rc = st_lock(s, false, o, &lk, err)) ||
	    (rc = st_stage_open(s, &d, size, &st, o, err)))
		goto out;
	opened = true;
	if (!st.done) {
		if (st.have && (rc = st_progress(o, "resuming", &d, size, st.have, err)))
			goto out;
		struct st_sink sk = { .max_mem = 65536, .stage = &st };
		struct st_req gq = { .method = "GET", .url = url, .follow = true, .sink = &sk,
				     .progress_status = "pulling", .progress_digest = &d,
				     .progress_total = size == UINT64_MAX ? 0 : size };
		struct st_resp gr = { 0 };
		if ((rc = st_http_do(h, &gq, &gr, err))) {
			st_resp_free(&gr);
			goto out;
		}
		st_resp_free(&gr);
		if (gr.status == 416 && st.have == size) {
			/* the partial file was already whole */
		} else if (gr.status != 200 && gr.status != 206) {
			rc = HRT_ERR(err, gr.status == 404 ? HRT_ENOTFOUND : HRT_EIO, "%s: HTTP %ld", url,
				     gr.status);
			goto out;
		}
		if (size == UINT64_MAX)
			st.size = st.have;
		if ((rc = st_stage_verify(&st, err)))
			goto out;
		if ((rc = st_progress(o, "verified", &d, st.size, st.size, err)))
			goto out;
	}
	char p[ST_PATH];
	if (st.done)
		rc = st_blob_path(s, &d, p, sizeof p, err);
	else
		rc = st_pathf(p, sizeof p, err, "%s", st.pub);
	if (!rc && o && o->admit) {
		/* a plain file carries no provenance layers */
		if ((rc = st_progress(o, "checking provenance", NULL, 0, 0, err)) == HRT_OK) {
			hrt_err_clear(err);
			rc = o->admit(o->admit_ctx, dst, p, &d, NULL, 0, err);
			if (rc && err && !err->msg[0])
				HRT_ERR(err, rc, "the model was not admitted");
		}
	}
	if (rc || (rc = st_inspect(p, &r->info, o, err)) || (rc = st_stage_publish(s, &st, err)))
		goto out;
	struct stat sb;
	if ((rc = st_blob_path(s, &d, p, sizeof p, err)))
		goto out;
	if (stat(p, &sb) != 0) {
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", p, strerror(errno));
		goto out;
	}
	r->weights = d;
	r->weights_size = (uint64_t)sb.st_size;
	{
		const char *q = url + strcspn(url, "?#"), *f = q;
		while (f > url && f[-1] != '/')
			f--;
		size_t k = 0;
		for (; f < q && k + 1 < sizeof r->weights_file; f++)
			r->weights_file[k++] = (*f >= 0x20 && *f < 0x7f && *f != '/') ? *f : '_';
		r->weights_file[k] = 0;
	}
	if ((rc = st_progress(o, "writing manifest", NULL, 0, 0, err)) ||
	    (rc = st_recipe_commit(s, dst, r, NULL, err)))
		goto out;
	rc = st_progress(o, "success", NULL, 0, 0, err);
out:
	if (opened)
		st_stage_close(&st, keep_after(rc));
	st_unlock(lk);
	st_http_free(h);
	st_recipe_free(r);
	free(r);
	return rc;
}

int hrt_store_pull(struct hrt_store *s, const char *src, const char *name,
		   struct hrt_store_opts *o, struct hrt_err *err)
{
	struct hrt_name n, d;
	int rc;
	if (!strncmp(src, "oci:", 4))
		return st_layout_pull(s, src + 4, name, o, err);
	if (!strncmp(src, "https://", 8) || !strncmp(src, "http://", 7)) {
		if (!strncmp(src, "http://", 7) && !(o && o->insecure))
			return HRT_ERR(err, HRT_EINVAL, "%s is plain http: add --insecure if you mean it", src);
		if ((rc = name ? hrt_name_parse(name, &d, err) : hrt_store_url_name(src, &d, err)))
			return rc;
		return url_pull(s, src, &d, o, err);
	}
	if ((rc = hrt_name_parse(src, &n, err)))
		return rc;
	if (!hrt_name_is_remote(&n)) {
		char shown[600];
		hrt_name_str(&n, shown, sizeof shown);
		return HRT_ERR(err, HRT_EINVAL,
			       "'%s' names no registry: pull registry.example/namespace/model:tag, oci:PATH or an https URL",
			       shown);
	}
	if ((rc = name ? hrt_name_parse(name, &d, err) : (d = n, HRT_OK)))
		return rc;
	return registry_pull(s, &n, &d, o, err);
}
