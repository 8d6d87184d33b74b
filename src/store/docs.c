/*
 * store/docs — provenance records carried by a model as layers of its
 * manifest: DSSE envelopes (hearth's signed in-toto statements) and a
 * Sigstore bundle (OpenSSF Model Signing), role "provenance". They are
 * statements about the weights blob, so they follow the weights: `import`
 * takes the records found beside the file (the caller reads them),
 * `create FROM model` keeps them, `sign NAME` adds them
 * (hrt_store_docs_add), and push, pull and export move them like any
 * layer. Each layer's filepath puts it where prov/ looks beside a file:
 * "<weights file>.hearth-prov/<sha256>.dsse.json" or ".../model.sig".
 * Not here: what a record says or whether it verifies (prov/), and the
 * decision to let a pulled model in (the caller's hrt_store_admit_fn).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define DOC_ROLE "provenance"
#define PROV_DIR ".hearth-prov"

bool st_is_doc(const struct st_desc *d)
{
	return !strcmp(d->media_type, HRT_MT_DSSE) || !strcmp(d->media_type, HRT_MT_SIGSTORE_BUNDLE);
}

static bool is_bundle(const struct st_desc *d)
{
	return !strcmp(d->media_type, HRT_MT_SIGSTORE_BUNDLE);
}

int st_docs_merge(struct st_desc *have, size_t *n, size_t cap, const struct st_desc *add,
		  struct hrt_err *err)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp(have[i].digest.hex, add->digest.hex))
			return HRT_OK;
		if (is_bundle(add) && is_bundle(&have[i])) {
			have[i] = *add;
			return HRT_OK;
		}
	}
	if (*n >= cap)
		return HRT_ERR(err, HRT_ERANGE, "more than %zu provenance records for one model", cap);
	have[(*n)++] = *add;
	return HRT_OK;
}

int st_docs_put(const struct hrt_store *s, const char *weights_file,
		const struct hrt_store_doc *docs, size_t n_docs, struct st_desc *have,
		size_t *n, size_t cap, struct hrt_err *err)
{
	/* the records' folder beside the weights file, as prov/ names it */
	const char *wf = weights_file && *weights_file ? weights_file : "model.gguf";
	if (strlen(wf) + sizeof PROV_DIR + 64 + sizeof ".dsse.json" > sizeof have[0].filepath)
		wf = "model.gguf";
	for (size_t i = 0; i < n_docs; i++) {
		const struct hrt_store_doc *d = &docs[i];
		if (!d->media_type ||
		    (strcmp(d->media_type, HRT_MT_DSSE) && strcmp(d->media_type, HRT_MT_SIGSTORE_BUNDLE)))
			return HRT_ERR(err, HRT_EINVAL, "provenance record %zu: media type is not %s or %s", i,
				       HRT_MT_DSSE, HRT_MT_SIGSTORE_BUNDLE);
		if (!d->bytes || d->len == 0 || d->len > HRT_STORE_DOC_MAX)
			return HRT_ERR(err, HRT_ERANGE, "provenance record %zu: %zu bytes (1 to %zu accepted)", i,
				       d->len, HRT_STORE_DOC_MAX);
		struct st_desc x;
		memset(&x, 0, sizeof x);
		snprintf(x.media_type, sizeof x.media_type, "%s", d->media_type);
		snprintf(x.role, sizeof x.role, "%s", DOC_ROLE);
		x.size = d->len;
		int rc = st_blob_put_mem(s, d->bytes, d->len, &x.digest, err);
		if (rc)
			return rc;
		if (is_bundle(&x))
			snprintf(x.filepath, sizeof x.filepath, "%s%s/model.sig", wf, PROV_DIR);
		else
			snprintf(x.filepath, sizeof x.filepath, "%s%s/%s.dsse.json", wf, PROV_DIR,
				 x.digest.hex);
		if ((rc = st_docs_merge(have, n, cap, &x, err)))
			return rc;
	}
	return HRT_OK;
}

void hrt_store_docs_free(struct hrt_store_docs *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free((void *)d->v[i].bytes);
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

int hrt_store_docs_read(struct hrt_store *s, const char *name, struct hrt_store_docs *out,
			struct hrt_digest *weights, struct hrt_err *err)
{
	memset(out, 0, sizeof *out);
	struct hrt_name n;
	char *buf = NULL, shown[600];
	size_t len;
	int rc = hrt_name_parse(name, &n, err);
	if (rc)
		return rc;
	hrt_name_str(&n, shown, sizeof shown);
	if ((rc = st_tag_read(s, &n, &buf, &len, err)))
		return rc;
	struct st_manifest *m = malloc(sizeof *m);
	if (!m) {
		free(buf);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err))) {
		st_err_prefix(err, "model '%s'", shown);
		goto out;
	}
	if (weights)
		*weights = m->layers[m->weights].digest;
	size_t k = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		k += st_is_doc(&m->layers[i]);
	if (k && !(out->v = calloc(k, sizeof *out->v))) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct st_desc *d = &m->layers[i];
		if (!st_is_doc(d))
			continue;
		if (d->size == 0 || d->size > HRT_STORE_DOC_MAX) {
			rc = HRT_ERR(err, HRT_ERANGE,
				     "model '%s': provenance layer sha256:%.12s has %llu bytes (1 to %zu accepted)",
				     shown, d->digest.hex, (unsigned long long)d->size, HRT_STORE_DOC_MAX);
			goto out;
		}
		char *b = NULL;
		size_t bl = 0;
		if ((rc = st_blob_read(s, &d->digest, d->size, HRT_STORE_DOC_MAX, &b, &bl, err))) {
			st_err_prefix(err, "model '%s'", shown);
			goto out;
		}
		struct hrt_store_doc *o = &out->v[out->n++];
		o->media_type = is_bundle(d) ? HRT_MT_SIGSTORE_BUNDLE : HRT_MT_DSSE;
		o->bytes = b;
		o->len = bl;
	}
out:
	if (rc)
		hrt_store_docs_free(out);
	free(m);
	free(buf);
	return rc;
}

int hrt_store_docs_add(struct hrt_store *s, const char *name, const struct hrt_store_doc *docs,
		       size_t n, struct hrt_digest *id, struct hrt_err *err)
{
	struct hrt_name nm;
	char *buf = NULL, *nb = NULL, shown[600];
	size_t len, nl;
	int rc, lk = -1;
	struct st_manifest *m = malloc(sizeof *m);
	struct st_desc *have = calloc(HRT_STORE_MAX_DOCS, sizeof *have);
	if (!m || !have) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	if ((rc = hrt_name_parse(name, &nm, err)))
		goto out;
	hrt_name_str(&nm, shown, sizeof shown);
	if ((rc = st_lock(s, false, NULL, &lk, err)) || (rc = st_tag_read(s, &nm, &buf, &len, err)))
		goto out;
	if ((rc = st_manifest_parse(buf, len, ST_OCI, m, err))) {
		st_err_prefix(err, "model '%s'", shown);
		goto out;
	}
	/* the records already there, then the new ones, merged */
	size_t nh = 0, k = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if (st_is_doc(&m->layers[i]) &&
		    (rc = st_docs_merge(have, &nh, HRT_STORE_MAX_DOCS, &m->layers[i], err)))
			goto out;
	if ((rc = st_docs_put(s, m->layers[m->weights].filepath, docs, n, have, &nh,
			      HRT_STORE_MAX_DOCS, err)))
		goto out;
	/* the other layers keep their order; the weights index moves with
	 * them (records never come before it in a hearth manifest, but a
	 * foreign one may put them anywhere) */
	int w = -1, se = -1;
	for (size_t i = 0; i < m->n_layers; i++) {
		if (st_is_doc(&m->layers[i]))
			continue;
		if ((int)i == m->weights)
			w = (int)k;
		if ((int)i == m->settings)
			se = (int)k;
		m->layers[k++] = m->layers[i];
	}
	if (k + nh > HRT_STORE_MAX_LAYERS) {
		rc = HRT_ERR(err, HRT_ERANGE, "model '%s' would have more than %d layers", shown,
			     HRT_STORE_MAX_LAYERS);
		goto out;
	}
	for (size_t i = 0; i < nh; i++)
		m->layers[k++] = have[i];
	m->n_layers = k;
	m->weights = w;
	m->settings = se;
	if ((rc = st_manifest_build(m, &nb, &nl, err)) || (rc = st_tag_write(s, &nm, nb, nl, err)))
		goto out;
	if (id)
		hrt_digest_of(nb, nl, id);
out:
	st_unlock(lk);
	free(nb);
	free(buf);
	free(have);
	free(m);
	return rc;
}
