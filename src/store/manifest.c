/*
 * store/manifest — the JSON documents of the store, parsed strictly and
 * written deterministically (cJSON does the JSON; this file decides what
 * is acceptable):
 *   - OCI image manifests (ModelPack artifacts; Ollama's Docker v2 ones for
 *     the Ollama import), image-spec manifest.md + model-spec docs/spec.md;
 *   - index.json of an OCI image layout, image-spec image-layout.md;
 *   - the ModelPack config blob, model-spec docs/config.md;
 *   - hearth.json, hearth's settings layer (template, system, parameters).
 * Every digest goes through hrt_digest_parse, every size is an integer
 * within HRT_STORE_BLOB_MAX, duplicate keys are refused, strings are
 * bounded. Not here: fetching or storing the bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/util.h"
#include "kern/types.h"
#include "store/store_int.h"
#include "tok/chat.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OLLAMA_MODEL "application/vnd.ollama.image.model"
#define MAX_TEXT ((size_t)8 << 20)  /* template / system prompt */

static cJSON *parse_json(const char *buf, size_t len, const char *what,
			 struct hrt_err *err)
{
	const char *end = NULL;
	if (len == 0) {
		HRT_ERR(err, HRT_EFORMAT, "%s is empty", what);
		return NULL;
	}
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!j) {
		/* on failure the end pointer marks the error (no global state) */
		const char *at = end;
		size_t off = at && at >= buf && at <= buf + len ? (size_t)(at - buf) : 0;
		HRT_ERR(err, HRT_EFORMAT, "%s is not valid JSON (near byte %zu)", what, off);
		return NULL;
	}
	for (; end && end < buf + len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			cJSON_Delete(j);
			HRT_ERR(err, HRT_EFORMAT, "%s has bytes after its JSON value (byte %zu)", what,
				(size_t)(end - buf));
			return NULL;
		}
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		HRT_ERR(err, HRT_EFORMAT, "%s is not a JSON object", what);
		return NULL;
	}
	return j;
}

static int no_dupes(const cJSON *o, const char *what, struct hrt_err *err)
{
	size_t n = 0;
	for (const cJSON *a = o->child; a; a = a->next) {
		if (++n > 4096)
			return HRT_ERR(err, HRT_EFORMAT, "%s has too many keys", what);
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return HRT_ERR(err, HRT_EFORMAT, "%s has the key \"%.64s\" twice", what,
					       a->string);
	}
	return HRT_OK;
}

/* an optional string field (*out "" when absent); printable ASCII only
 * when ascii, else any UTF-8 up to cap - 1 bytes */
static int get_str(const cJSON *o, const char *key, bool required, bool ascii,
		   char *out, size_t cap, const char *what, struct hrt_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	out[0] = 0;
	if (!v) {
		if (required)
			return HRT_ERR(err, HRT_EFORMAT, "%s has no \"%s\"", what, key);
		return HRT_OK;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" is not a string", what, key);
	size_t n = strlen(v->valuestring);
	if (n >= cap)
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" is longer than %zu bytes", what, key,
			       cap - 1);
	if (ascii)
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)v->valuestring[i] < 0x20 ||
			    (unsigned char)v->valuestring[i] >= 0x7f)
				return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" has a character that is not printable ASCII",
					       what, key);
	memcpy(out, v->valuestring, n + 1);
	return HRT_OK;
}

static int get_u64(const cJSON *o, const char *key, uint64_t max, uint64_t *out,
		   const char *what, struct hrt_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return HRT_ERR(err, HRT_EFORMAT, "%s has no \"%s\"", what, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (!cJSON_IsNumber(v) || !isfinite(d) || d < 0 || d != floor(d) || d > (double)max)
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" is not an integer from 0 to %llu", what,
			       key, (unsigned long long)max);
	*out = (uint64_t)d;
	return HRT_OK;
}

static int parse_desc(const cJSON *o, struct st_desc *d, const char *what,
		      struct hrt_err *err)
{
	memset(d, 0, sizeof *d);
	if (!cJSON_IsObject(o))
		return HRT_ERR(err, HRT_EFORMAT, "%s is not a JSON object", what);
	int rc;
	if ((rc = no_dupes(o, what, err)) ||
	    (rc = get_str(o, "mediaType", true, true, d->media_type, sizeof d->media_type, what, err)) ||
	    (rc = get_u64(o, "size", HRT_STORE_BLOB_MAX, &d->size, what, err)) ||
	    (rc = get_str(o, "artifactType", false, true, d->artifact_type, sizeof d->artifact_type,
			  what, err)))
		return rc;
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(o, "digest");
	if (!cJSON_IsString(dg) || !dg->valuestring)
		return HRT_ERR(err, HRT_EFORMAT, "%s has no \"digest\" string", what);
	if ((rc = hrt_digest_parse(dg->valuestring, strlen(dg->valuestring), &d->digest, err))) {
		st_err_prefix(err, "%s", what);
		return rc;
	}
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(o, "annotations");
	if (an) {
		char aw[96];
		snprintf(aw, sizeof aw, "%s annotations", what);
		if (!cJSON_IsObject(an))
			return HRT_ERR(err, HRT_EFORMAT, "%s is not an object", aw);
		if ((rc = no_dupes(an, aw, err)))
			return rc;
		for (const cJSON *a = an->child; a; a = a->next)
			if (!cJSON_IsString(a))
				return HRT_ERR(err, HRT_EFORMAT, "%s: \"%.64s\" is not a string", aw,
					       a->string ? a->string : "");
		if ((rc = get_str(an, HRT_ANN_FILEPATH, false, false, d->filepath, sizeof d->filepath,
				  aw, err)) ||
		    (rc = get_str(an, HRT_ANN_ROLE, false, true, d->role, sizeof d->role, aw, err)) ||
		    (rc = get_str(an, HRT_ANN_REF_NAME, false, true, d->ref_name, sizeof d->ref_name,
				  aw, err)))
			return rc;
	}
	return HRT_OK;
}

int st_manifest_parse(const char *buf, size_t len, enum st_flavor flavor,
		      struct st_manifest *m, struct hrt_err *err)
{
	memset(m, 0, sizeof *m);
	m->weights = m->settings = -1;
	if (len > HRT_STORE_MANIFEST_MAX)
		return HRT_ERR(err, HRT_ERANGE, "manifest of %zu bytes is over the %zu-byte limit", len,
			       HRT_STORE_MANIFEST_MAX);
	cJSON *j = parse_json(buf, len, "manifest", err);
	if (!j)
		return HRT_EFORMAT;
	int rc = no_dupes(j, "manifest", err);
	if (rc)
		goto out;
	const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "schemaVersion");
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		rc = HRT_ERR(err, HRT_EFORMAT, "manifest: schemaVersion is not 2");
		goto out;
	}
	if ((rc = get_str(j, "mediaType", false, true, m->media_type, sizeof m->media_type,
			  "manifest", err)) ||
	    (rc = get_str(j, "artifactType", false, true, m->artifact_type,
			  sizeof m->artifact_type, "manifest", err)))
		goto out;
	if (!strcmp(m->media_type, HRT_MT_OCI_INDEX) ||
	    cJSON_GetObjectItemCaseSensitive(j, "manifests")) {
		rc = HRT_ERR(err, HRT_ENOTSUP,
			     "this is an image index (a list of manifests), not one model manifest");
		goto out;
	}
	if (m->media_type[0] && strcmp(m->media_type, HRT_MT_OCI_MANIFEST) != 0 &&
	    !(flavor == ST_OLLAMA && !strcmp(m->media_type, MT_DOCKER_MANIFEST))) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "manifest media type '%s' is not %s", m->media_type,
			     HRT_MT_OCI_MANIFEST);
		goto out;
	}
	if ((rc = parse_desc(cJSON_GetObjectItemCaseSensitive(j, "config"), &m->config,
			     "manifest config", err)))
		goto out;
	if (m->config.size > HRT_STORE_SMALL_MAX) {
		rc = HRT_ERR(err, HRT_ERANGE, "manifest config: %llu bytes is over the %llu-byte limit",
			     (unsigned long long)m->config.size,
			     (unsigned long long)HRT_STORE_SMALL_MAX);
		goto out;
	}
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "layers");
	if (!cJSON_IsArray(ls)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "manifest has no \"layers\" array");
		goto out;
	}
	int nl = cJSON_GetArraySize(ls);
	if (nl < 1 || nl > HRT_STORE_MAX_LAYERS) {
		rc = HRT_ERR(err, HRT_EFORMAT, "manifest has %d layers (1 to %d accepted)", nl,
			     HRT_STORE_MAX_LAYERS);
		goto out;
	}
	const cJSON *l;
	cJSON_ArrayForEach(l, ls) {
		char what[32];
		snprintf(what, sizeof what, "manifest layer %zu", m->n_layers);
		struct st_desc *d = &m->layers[m->n_layers];
		if ((rc = parse_desc(l, d, what, err)))
			goto out;
		bool weight = flavor == ST_OLLAMA ? !strcmp(d->media_type, MT_OLLAMA_MODEL)
						  : !strcmp(d->media_type, HRT_MT_MODEL_WEIGHT) &&
							    strcmp(d->role, "adapter") != 0;
		if (weight && m->weights < 0)
			m->weights = (int)m->n_layers;
		if (flavor == ST_OCI && !strcmp(d->role, "settings") &&
		    !strcmp(d->media_type, HRT_MT_MODEL_WEIGHT_CONFIG) && m->settings < 0) {
			m->settings = (int)m->n_layers;
			if (d->size > HRT_STORE_SMALL_MAX) {
				rc = HRT_ERR(err, HRT_ERANGE, "manifest: hearth.json layer of %llu bytes is over the limit",
					     (unsigned long long)d->size);
				goto out;
			}
		}
		m->n_layers++;
	}
	if (m->weights < 0)
		rc = HRT_ERR(err, HRT_EFORMAT,
			     "manifest has no model weights layer (media type %s)",
			     flavor == ST_OLLAMA ? MT_OLLAMA_MODEL : HRT_MT_MODEL_WEIGHT);
out:
	cJSON_Delete(j);
	return rc;
}

uint64_t st_manifest_total(const struct st_manifest *m)
{
	uint64_t t = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		t += m->layers[i].size; /* each <= 2^42, at most 65 of them */
	return t;
}

static cJSON *desc_json(const struct st_desc *d, bool with_artifact)
{
	char dg[80];
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	hrt_digest_str(&d->digest, dg, sizeof dg);
	cJSON_AddStringToObject(o, "mediaType", d->media_type);
	if (with_artifact && d->artifact_type[0])
		cJSON_AddStringToObject(o, "artifactType", d->artifact_type);
	cJSON_AddStringToObject(o, "digest", dg);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	if (d->filepath[0] || d->role[0] || d->ref_name[0]) {
		cJSON *a = cJSON_AddObjectToObject(o, "annotations");
		if (!a) {
			cJSON_Delete(o);
			return NULL;
		}
		if (d->ref_name[0])
			cJSON_AddStringToObject(a, HRT_ANN_REF_NAME, d->ref_name);
		if (d->filepath[0])
			cJSON_AddStringToObject(a, HRT_ANN_FILEPATH, d->filepath);
		if (d->role[0])
			cJSON_AddStringToObject(a, HRT_ANN_ROLE, d->role);
	}
	return o;
}

static int print_json(cJSON *j, char **out, size_t *len, struct hrt_err *err)
{
	char *p = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!p)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for JSON");
	*out = p;
	*len = strlen(p);
	return HRT_OK;
}

int st_manifest_build(const struct st_manifest *m, char **out, size_t *len,
		      struct hrt_err *err)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	cJSON_AddNumberToObject(j, "schemaVersion", 2);
	cJSON_AddStringToObject(j, "mediaType", HRT_MT_OCI_MANIFEST);
	cJSON_AddStringToObject(j, "artifactType", HRT_MT_MODEL_ARTIFACT);
	cJSON *c = desc_json(&m->config, false);
	cJSON *ls = cJSON_CreateArray();
	if (!c || !ls) {
		cJSON_Delete(c);
		cJSON_Delete(ls);
		cJSON_Delete(j);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	cJSON_AddItemToObject(j, "config", c);
	cJSON_AddItemToObject(j, "layers", ls);
	for (size_t i = 0; i < m->n_layers; i++) {
		cJSON *d = desc_json(&m->layers[i], false);
		if (!d) {
			cJSON_Delete(j);
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		}
		cJSON_AddItemToArray(ls, d);
	}
	return print_json(j, out, len, err);
}

/* ---- index.json ---- */

int st_index_parse(const char *buf, size_t len, struct st_index *ix,
		   struct hrt_err *err)
{
	memset(ix, 0, sizeof *ix);
	if (len > HRT_STORE_MANIFEST_MAX)
		return HRT_ERR(err, HRT_ERANGE, "index.json is over the %zu-byte limit",
			       HRT_STORE_MANIFEST_MAX);
	cJSON *j = parse_json(buf, len, "index.json", err);
	if (!j)
		return HRT_EFORMAT;
	int rc = no_dupes(j, "index.json", err);
	char mt[128];
	if (rc)
		goto out;
	const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "schemaVersion");
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		rc = HRT_ERR(err, HRT_EFORMAT, "index.json: schemaVersion is not 2");
		goto out;
	}
	if ((rc = get_str(j, "mediaType", false, true, mt, sizeof mt, "index.json", err)))
		goto out;
	if (mt[0] && strcmp(mt, HRT_MT_OCI_INDEX) != 0) {
		rc = HRT_ERR(err, HRT_EFORMAT, "index.json: media type '%s' is not %s", mt,
			     HRT_MT_OCI_INDEX);
		goto out;
	}
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "manifests");
	if (!cJSON_IsArray(ms)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "index.json has no \"manifests\" array");
		goto out;
	}
	int n = cJSON_GetArraySize(ms);
	if (n > 4096) {
		rc = HRT_ERR(err, HRT_EFORMAT, "index.json lists %d manifests (at most 4096)", n);
		goto out;
	}
	ix->m = calloc(n ? (size_t)n : 1, sizeof *ix->m);
	if (!ix->m) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, ms) {
		char what[48];
		snprintf(what, sizeof what, "index.json manifest %zu", ix->n);
		if ((rc = parse_desc(e, &ix->m[ix->n], what, err)))
			goto out;
		ix->n++;
	}
out:
	cJSON_Delete(j);
	if (rc)
		st_index_free(ix);
	return rc;
}

int st_index_build(const struct st_index *ix, char **out, size_t *len,
		   struct hrt_err *err)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *ms = cJSON_CreateArray();
	if (!j || !ms) {
		cJSON_Delete(j);
		cJSON_Delete(ms);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	cJSON_AddNumberToObject(j, "schemaVersion", 2);
	cJSON_AddStringToObject(j, "mediaType", HRT_MT_OCI_INDEX);
	cJSON_AddItemToObject(j, "manifests", ms);
	for (size_t i = 0; i < ix->n; i++) {
		cJSON *d = desc_json(&ix->m[i], true);
		if (!d) {
			cJSON_Delete(j);
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		}
		cJSON_AddItemToArray(ms, d);
	}
	return print_json(j, out, len, err);
}

void st_index_free(struct st_index *ix)
{
	free(ix->m);
	ix->m = NULL;
	ix->n = 0;
}

/* ---- the ModelPack config ---- */

void st_param_size(uint64_t n, char *out, size_t cap)
{
	static const char pre[] = "KMBTQ";
	double v = (double)n / 1e3;
	int i = 0;
	while (v >= 999.95 && i < 4) {
		v /= 1e3;
		i++;
	}
	snprintf(out, cap, "%.1f%c", v, pre[i]);
	size_t k = strlen(out);
	if (k > 3 && !strncmp(out + k - 3, ".0", 2)) /* "8.0B" -> "8B" */
		memmove(out + k - 3, out + k - 1, 2);
}

int st_config_build(const struct st_info *info, const struct st_manifest *m,
		    char **out, size_t *len, struct hrt_err *err)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	cJSON *d = cJSON_AddObjectToObject(j, "descriptor");
	cJSON *c = cJSON_AddObjectToObject(j, "config");
	cJSON *fs = cJSON_AddObjectToObject(j, "modelfs");
	if (fs)
		cJSON_AddStringToObject(fs, "type", "layers");
	cJSON *ids = fs ? cJSON_AddArrayToObject(fs, "diffIds") : NULL;
	if (!d || !c || !ids) {
		cJSON_Delete(j);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	if (info->name[0])
		cJSON_AddStringToObject(d, "name", info->name);
	if (info->basename[0])
		cJSON_AddStringToObject(d, "family", info->basename);
	if (info->license[0]) {
		cJSON *l = cJSON_AddArrayToObject(d, "licenses");
		if (l)
			cJSON_AddItemToArray(l, cJSON_CreateString(info->license));
	}
	char ps[32];
	if (info->architecture[0])
		cJSON_AddStringToObject(c, "architecture", info->architecture);
	cJSON_AddStringToObject(c, "format", "gguf");
	if (info->n_params) {
		st_param_size(info->n_params, ps, sizeof ps);
		cJSON_AddStringToObject(c, "paramSize", ps);
	}
	if (info->precision[0])
		cJSON_AddStringToObject(c, "precision", info->precision);
	if (info->file_type[0])
		cJSON_AddStringToObject(c, "quantization", info->file_type);
	for (size_t i = 0; i < m->n_layers; i++) {
		char dg[80];
		if (st_is_doc(&m->layers[i]))
			continue; /* statements about the model, not part of it */
		hrt_digest_str(&m->layers[i].digest, dg, sizeof dg);
		cJSON_AddItemToArray(ids, cJSON_CreateString(dg));
	}
	return print_json(j, out, len, err);
}

/* copy a string field if it is one; other types and absence leave "" */
static void soft_str(const cJSON *o, const char *key, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	out[0] = 0;
	if (cJSON_IsString(v) && v->valuestring)
		st_printable(v->valuestring, strlen(v->valuestring), out, cap);
}

int st_config_parse(const char *buf, size_t len, struct st_config *c,
		    struct hrt_err *err)
{
	memset(c, 0, sizeof *c);
	if (len > HRT_STORE_SMALL_MAX)
		return HRT_ERR(err, HRT_ERANGE, "config blob over the limit");
	cJSON *j = parse_json(buf, len, "model config", err);
	if (!j)
		return HRT_EFORMAT;
	const cJSON *cf = cJSON_GetObjectItemCaseSensitive(j, "config");
	if (cJSON_IsObject(cf)) {
		soft_str(cf, "architecture", c->architecture, sizeof c->architecture);
		soft_str(cf, "paramSize", c->param_size, sizeof c->param_size);
		soft_str(cf, "precision", c->precision, sizeof c->precision);
		soft_str(cf, "quantization", c->quantization, sizeof c->quantization);
		soft_str(cf, "format", c->format, sizeof c->format);
	}
	cJSON_Delete(j);
	return HRT_OK;
}

/* ---- parameters as JSON ---- */

static int param_id(const char *key)
{
	for (int i = 0; i < HRT_P_COUNT; i++)
		if (!strcmp(hrt_store_param_name((enum hrt_store_param)i), key))
			return i;
	return -1;
}

int st_params_from_json(const cJSON *obj, bool skip_unknown,
			struct hrt_store_params *p, size_t *n_skipped,
			struct hrt_err *err)
{
	if (n_skipped)
		*n_skipped = 0;
	if (!cJSON_IsObject(obj))
		return HRT_ERR(err, HRT_EFORMAT, "parameters are not a JSON object");
	int rc = no_dupes(obj, "parameters", err);
	if (rc)
		return rc;
	for (const cJSON *v = obj->child; v; v = v->next) {
		int i = v->string ? param_id(v->string) : -1;
		if (i < 0) {
			if (skip_unknown) {
				if (n_skipped)
					(*n_skipped)++;
				continue;
			}
			return hrt_store_param_set(p, v->string ? v->string : "", "", err);
		}
		if (i == HRT_P_STOP) {
			if (cJSON_IsString(v)) {
				rc = st_param_add_stop(p, v->valuestring, strlen(v->valuestring), err);
			} else if (cJSON_IsArray(v)) {
				const cJSON *e;
				cJSON_ArrayForEach(e, v) {
					if (!cJSON_IsString(e))
						return HRT_ERR(err, HRT_EFORMAT, "parameters: stop holds a non-string");
					if ((rc = st_param_add_stop(p, e->valuestring, strlen(e->valuestring),
								    err)))
						return rc;
				}
			} else {
				return HRT_ERR(err, HRT_EFORMAT, "parameters: stop is not text");
			}
		} else if (cJSON_IsNumber(v)) {
			rc = st_param_set_num(p, i, v->valuedouble, err);
		} else {
			return HRT_ERR(err, HRT_EFORMAT, "parameters: %s is not a number", v->string);
		}
		if (rc)
			return rc;
	}
	return HRT_OK;
}

/* 0.7f prints as 0.7, not 0.699999988 */
static double short_float(float f)
{
	char b[32];
	snprintf(b, sizeof b, "%.6g", (double)f);
	return strtod(b, NULL);
}

static cJSON *params_json(const struct hrt_store_params *p)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	for (int i = 0; i < HRT_P_COUNT; i++) {
		if (!(p->set & (1u << i)))
			continue;
		const char *k = hrt_store_param_name((enum hrt_store_param)i);
		double v = 0;
		switch (i) {
		case HRT_P_TEMPERATURE: v = short_float(p->temperature); break;
		case HRT_P_TOP_K: v = p->top_k; break;
		case HRT_P_TOP_P: v = short_float(p->top_p); break;
		case HRT_P_MIN_P: v = short_float(p->min_p); break;
		case HRT_P_REPEAT_PENALTY: v = short_float(p->repeat_penalty); break;
		case HRT_P_REPEAT_LAST_N: v = p->repeat_last_n; break;
		case HRT_P_PRESENCE_PENALTY: v = short_float(p->presence_penalty); break;
		case HRT_P_FREQUENCY_PENALTY: v = short_float(p->frequency_penalty); break;
		case HRT_P_SEED: v = (double)p->seed; break;
		case HRT_P_NUM_CTX: v = p->num_ctx; break;
		case HRT_P_NUM_PREDICT: v = p->num_predict; break;
		case HRT_P_STOP: {
			cJSON *a = cJSON_AddArrayToObject(o, k);
			for (size_t s = 0; a && s < p->n_stop; s++)
				cJSON_AddItemToArray(a, cJSON_CreateString(p->stop[s]));
			continue;
		}
		}
		cJSON_AddNumberToObject(o, k, v);
	}
	return o;
}

/* ---- hearth.json ---- */

void st_settings_free(struct st_settings *st)
{
	if (!st)
		return;
	free(st->template_text);
	free(st->system);
	hrt_store_params_free(&st->params);
	memset(st, 0, sizeof *st);
}

int st_settings_build(const struct st_settings *st, const struct st_info *info,
		      char **out, size_t *len, struct hrt_err *err)
{
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	cJSON_AddNumberToObject(j, "schemaVersion", 1);
	if (st->template_text)
		cJSON_AddStringToObject(j, "template", st->template_text);
	if (st->template_family[0])
		cJSON_AddStringToObject(j, "template_family", st->template_family);
	if (st->system)
		cJSON_AddStringToObject(j, "system", st->system);
	cJSON *p = params_json(&st->params);
	if (!p) {
		cJSON_Delete(j);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	cJSON_AddItemToObject(j, "parameters", p);
	uint64_t np = info ? info->n_params : st->n_params;
	if (np)
		cJSON_AddNumberToObject(j, "n_params", (double)np);
	const char *ft = info ? info->file_type : st->file_type;
	if (ft[0])
		cJSON_AddStringToObject(j, "file_type", ft);
	if (info) {
		cJSON *mix = cJSON_AddObjectToObject(j, "type_mix");
		for (uint32_t t = 0; mix && t < 64; t++) {
			const char *tn = hrt_type_name(t);
			if (info->type_params[t] && tn)
				cJSON_AddNumberToObject(mix, tn, (double)info->type_params[t]);
		}
	}
	return print_json(j, out, len, err);
}

static int dup_text(const cJSON *j, const char *key, char **out,
		    struct hrt_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return HRT_OK;
	if (!cJSON_IsString(v) || !v->valuestring)
		return HRT_ERR(err, HRT_EFORMAT, "hearth.json: \"%s\" is not a string", key);
	if (strlen(v->valuestring) > MAX_TEXT)
		return HRT_ERR(err, HRT_ERANGE, "hearth.json: \"%s\" is too long", key);
	*out = hrt_strdup(v->valuestring);
	return *out ? HRT_OK : HRT_ERR(err, HRT_ENOMEM, "no memory");
}

int st_settings_parse(const char *buf, size_t len, struct st_settings *st,
		      struct hrt_err *err)
{
	memset(st, 0, sizeof *st);
	if (len > HRT_STORE_SMALL_MAX)
		return HRT_ERR(err, HRT_ERANGE, "hearth.json over the limit");
	cJSON *j = parse_json(buf, len, "hearth.json", err);
	if (!j)
		return HRT_EFORMAT;
	int rc = no_dupes(j, "hearth.json", err);
	char fam[64];
	if (rc || (rc = dup_text(j, "template", &st->template_text, err)) ||
	    (rc = dup_text(j, "system", &st->system, err)) ||
	    (rc = get_str(j, "template_family", false, true, fam, sizeof fam, "hearth.json", err)) ||
	    (rc = get_str(j, "file_type", false, true, st->file_type, sizeof st->file_type,
			  "hearth.json", err)))
		goto out;
	if (fam[0] && hrt_chat_family_from_name(fam) >= 0)
		snprintf(st->template_family, sizeof st->template_family, "%s", fam);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	if (p && (rc = st_params_from_json(p, true, &st->params, NULL, err))) {
		st_err_prefix(err, "hearth.json");
		goto out;
	}
	const cJSON *np = cJSON_GetObjectItemCaseSensitive(j, "n_params");
	if (cJSON_IsNumber(np) && np->valuedouble >= 0 && np->valuedouble < 1e18)
		st->n_params = (uint64_t)np->valuedouble;
out:
	cJSON_Delete(j);
	if (rc)
		st_settings_free(st);
	return rc;
}
