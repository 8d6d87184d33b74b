/*
 * prov/attest — the statements hearth signs and reads: in-toto
 * Statement v1 with hearth's provenance predicate, and the OpenSSF Model
 * Signing (OMS) v1.0 statement inside a Sigstore bundle.
 *
 * hearth statement (payload of a DSSE envelope, application/vnd.in-toto+json):
 *   {"_type": "https://in-toto.io/Statement/v1",
 *    "subject": [{"name": FILE, "digest": {"sha256": HEX}},
 *                {"name": "model-id", "digest": {"hearthmid1": HEX}}],
 *    "predicateType": "https://hearth.dev/provenance/v1",
 *    "predicate": {"modelId": "hmid1:HEX",
 *                  "file": {"name": s, "size": n, "sha256": HEX},
 *                  "name": s, "architecture": s, "license": SPDX,
 *                  "fingerprint": "hfp1:HEX",
 *                  "parents": [{"modelId", "relation", "name"}],
 *                  "datasets": [{"uri", "sha256", "license"}],
 *                  "created": time, "expires": time}}
 * Unknown keys are refused; both subjects must agree with the predicate.
 *
 * OMS v1.0 ("files" method): subject = the model name and the SHA-256 of the
 * concatenated raw digests of the resources in order; predicate =
 * {"serialization": {...}, "resources": [{"algorithm", "digest", "name"}]}
 * (sigstore/model-transparency, src/model_signing/_signing/signing.py).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"
#include "prov/prov_int.h"

#define SUBJ_FILE_ALG "sha256"
#define SUBJ_ID_ALG "hearthmid1"
#define SUBJ_ID_NAME "model-id"

/* ---------------------------------------------------------- build */

int hrt_prov_statement_build(const struct hrt_prov_claim *c, char **out,
			     struct hrt_err *err)
{
	*out = NULL;
	if (!hrt_prov_id_valid(c->model_id) || !prov_is_hex(c->file_sha256, 64))
		return HRT_ERR(err, HRT_EINVAL, "statement: bad model ID or file digest");
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	char t[21];
	cJSON_AddStringToObject(j, "_type", HRT_INTOTO_STATEMENT);
	cJSON *subj = cJSON_AddArrayToObject(j, "subject");
	cJSON *s1 = cJSON_CreateObject(), *s2 = cJSON_CreateObject();
	cJSON_AddItemToArray(subj, s1);
	cJSON_AddItemToArray(subj, s2);
	cJSON_AddStringToObject(s1, "name", c->file_name[0] ? c->file_name : "model.gguf");
	cJSON *d1 = cJSON_AddObjectToObject(s1, "digest");
	cJSON_AddStringToObject(d1, SUBJ_FILE_ALG, c->file_sha256);
	cJSON_AddStringToObject(s2, "name", SUBJ_ID_NAME);
	cJSON *d2 = cJSON_AddObjectToObject(s2, "digest");
	cJSON_AddStringToObject(d2, SUBJ_ID_ALG, c->model_id + 6);
	cJSON_AddStringToObject(j, "predicateType", HRT_PROV_PREDICATE);
	cJSON *p = cJSON_AddObjectToObject(j, "predicate");
	cJSON_AddStringToObject(p, "modelId", c->model_id);
	cJSON *f = cJSON_AddObjectToObject(p, "file");
	cJSON_AddStringToObject(f, "name", c->file_name);
	cJSON_AddNumberToObject(f, "size", (double)c->file_size);
	cJSON_AddStringToObject(f, "sha256", c->file_sha256);
	if (c->name[0])
		cJSON_AddStringToObject(p, "name", c->name);
	if (c->arch[0])
		cJSON_AddStringToObject(p, "architecture", c->arch);
	if (c->license[0])
		cJSON_AddStringToObject(p, "license", c->license);
	if (c->fingerprint[0])
		cJSON_AddStringToObject(p, "fingerprint", c->fingerprint);
	cJSON *pa = cJSON_AddArrayToObject(p, "parents");
	for (size_t i = 0; i < c->n_parents && i < HRT_PROV_MAX_PARENTS; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddItemToArray(pa, e);
		cJSON_AddStringToObject(e, "modelId", c->parents[i].id);
		cJSON_AddStringToObject(e, "relation", c->parents[i].relation);
		if (c->parents[i].name[0])
			cJSON_AddStringToObject(e, "name", c->parents[i].name);
	}
	cJSON *da = cJSON_AddArrayToObject(p, "datasets");
	for (size_t i = 0; i < c->n_datasets && i < HRT_PROV_MAX_DATASETS; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddItemToArray(da, e);
		cJSON_AddStringToObject(e, "uri", c->datasets[i].uri);
		if (c->datasets[i].sha256[0])
			cJSON_AddStringToObject(e, "sha256", c->datasets[i].sha256);
		if (c->datasets[i].license[0])
			cJSON_AddStringToObject(e, "license", c->datasets[i].license);
	}
	hrt_prov_format_time(c->created, t);
	cJSON_AddStringToObject(p, "created", t);
	if (c->expires) {
		hrt_prov_format_time(c->expires, t);
		cJSON_AddStringToObject(p, "expires", t);
	}
	*out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!*out)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	return HRT_OK;
}

/* ---------------------------------------------------------- parse */

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int time_field(const cJSON *o, const char *key, int64_t *out, const char *what,
		      struct hrt_err *err)
{
	char b[40];
	int rc = prov_json_str(o, key, false, b, sizeof b, what, err);
	if (rc)
		return rc;
	*out = 0;
	if (b[0] && hrt_prov_parse_time(b, out))
		return HRT_ERR(err, HRT_EFORMAT, "%s: \"%s\" is not a UTC time", what, key);
	return HRT_OK;
}

static int parse_subjects(const cJSON *subj, struct hrt_prov_claim *c, char *id_hex,
			  struct hrt_err *err)
{
	static const char *const skeys[] = { "name", "digest", NULL };
	if (!cJSON_IsArray(subj) || cJSON_GetArraySize(subj) != 2)
		return HRT_ERR(err, HRT_EFORMAT, "statement: \"subject\" must hold 2 entries");
	const cJSON *s;
	bool have_file = false, have_id = false;
	cJSON_ArrayForEach(s, subj)
	{
		char name[256];
		int rc;
		if ((rc = prov_json_keys(s, skeys, "statement subject", err)) ||
		    (rc = prov_json_str(s, "name", true, name, sizeof name, "statement subject", err)))
			return rc;
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "digest");
		if (!cJSON_IsObject(d) || !d->child || d->child->next || !d->child->string ||
		    !cJSON_IsString(d->child) || !d->child->valuestring)
			return HRT_ERR(err, HRT_EFORMAT,
				       "statement subject: \"digest\" must hold one algorithm");
		const char *alg = d->child->string, *v = d->child->valuestring;
		if (!strcmp(alg, SUBJ_FILE_ALG) && !have_file) {
			if (!lower_hex(v, 64))
				return HRT_ERR(err, HRT_EFORMAT, "statement subject: bad sha256");
			memcpy(c->file_sha256, v, 65);
			have_file = true;
		} else if (!strcmp(alg, SUBJ_ID_ALG) && !have_id) {
			if (!lower_hex(v, 64))
				return HRT_ERR(err, HRT_EFORMAT, "statement subject: bad model ID");
			memcpy(id_hex, v, 65);
			have_id = true;
		} else {
			return HRT_ERR(err, HRT_EFORMAT, "statement subject: unexpected digest \"%.32s\"",
				       alg);
		}
	}
	if (!have_file || !have_id)
		return HRT_ERR(err, HRT_EFORMAT, "statement: needs a sha256 and a model ID subject");
	return HRT_OK;
}

static int parse_predicate(const cJSON *p, struct hrt_prov_claim *c, struct hrt_err *err)
{
	static const char *const keys[] = { "modelId", "file", "name", "architecture", "license",
					    "fingerprint", "parents", "datasets", "created",
					    "expires", NULL };
	static const char *const fkeys[] = { "name", "size", "sha256", NULL };
	static const char *const pkeys[] = { "modelId", "relation", "name", NULL };
	static const char *const dkeys[] = { "uri", "sha256", "license", NULL };
	const char *w = "statement predicate";
	int rc;
	if ((rc = prov_json_keys(p, keys, w, err)) ||
	    (rc = prov_json_str(p, "modelId", true, c->model_id, sizeof c->model_id, w, err)) ||
	    (rc = prov_json_str(p, "name", false, c->name, sizeof c->name, w, err)) ||
	    (rc = prov_json_str(p, "architecture", false, c->arch, sizeof c->arch, w, err)) ||
	    (rc = prov_json_str(p, "license", false, c->license, sizeof c->license, w, err)) ||
	    (rc = prov_json_str(p, "fingerprint", false, c->fingerprint, sizeof c->fingerprint, w,
				err)) ||
	    (rc = time_field(p, "created", &c->created, w, err)) ||
	    (rc = time_field(p, "expires", &c->expires, w, err)))
		return rc;
	if (!hrt_prov_id_valid(c->model_id))
		return HRT_ERR(err, HRT_EFORMAT, "statement predicate: bad modelId");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "file");
	char fsha[80];
	if (!f)
		return HRT_ERR(err, HRT_EFORMAT, "statement predicate: \"file\" is missing");
	if ((rc = prov_json_keys(f, fkeys, "statement file", err)) ||
	    (rc = prov_json_str(f, "name", true, c->file_name, sizeof c->file_name,
				"statement file", err)) ||
	    (rc = prov_json_str(f, "sha256", true, fsha, sizeof fsha, "statement file", err)))
		return rc;
	if (strcmp(fsha, c->file_sha256))
		return HRT_ERR(err, HRT_EFORMAT, "statement: file digest and subject disagree");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "size");
	if (!cJSON_IsNumber(sz) || !(sz->valuedouble >= 0) || sz->valuedouble > 9007199254740992.0 ||
	    floor(sz->valuedouble) != sz->valuedouble)
		return HRT_ERR(err, HRT_EFORMAT, "statement file: bad \"size\"");
	c->file_size = (uint64_t)sz->valuedouble;
	const cJSON *pa = cJSON_GetObjectItemCaseSensitive(p, "parents");
	if (pa) {
		if (!cJSON_IsArray(pa) || cJSON_GetArraySize(pa) > HRT_PROV_MAX_PARENTS)
			return HRT_ERR(err, HRT_EFORMAT, "statement: \"parents\" must be an array of at most %d",
				       HRT_PROV_MAX_PARENTS);
		const cJSON *e;
		cJSON_ArrayForEach(e, pa)
		{
			struct hrt_prov_parent *pp = &c->parents[c->n_parents];
			if ((rc = prov_json_keys(e, pkeys, "statement parent", err)) ||
			    (rc = prov_json_str(e, "modelId", true, pp->id, sizeof pp->id,
						"statement parent", err)) ||
			    (rc = prov_json_str(e, "relation", true, pp->relation, sizeof pp->relation,
						"statement parent", err)) ||
			    (rc = prov_json_str(e, "name", false, pp->name, sizeof pp->name,
						"statement parent", err)))
				return rc;
			if (!hrt_prov_id_valid(pp->id))
				return HRT_ERR(err, HRT_EFORMAT, "statement parent: bad modelId");
			if (hrt_relation_from_name(pp->relation) <= HRT_REL_UNRELATED)
				return HRT_ERR(err, HRT_EFORMAT, "statement parent: unknown relation \"%s\"",
					       pp->relation);
			c->n_parents++;
		}
	}
	const cJSON *da = cJSON_GetObjectItemCaseSensitive(p, "datasets");
	if (da) {
		if (!cJSON_IsArray(da) || cJSON_GetArraySize(da) > HRT_PROV_MAX_DATASETS)
			return HRT_ERR(err, HRT_EFORMAT, "statement: \"datasets\" must be an array of at most %d",
				       HRT_PROV_MAX_DATASETS);
		const cJSON *e;
		cJSON_ArrayForEach(e, da)
		{
			struct hrt_prov_dataset *d = &c->datasets[c->n_datasets];
			if ((rc = prov_json_keys(e, dkeys, "statement dataset", err)) ||
			    (rc = prov_json_str(e, "uri", true, d->uri, sizeof d->uri,
						"statement dataset", err)) ||
			    (rc = prov_json_str(e, "sha256", false, d->sha256, sizeof d->sha256,
						"statement dataset", err)) ||
			    (rc = prov_json_str(e, "license", false, d->license, sizeof d->license,
						"statement dataset", err)))
				return rc;
			if (d->sha256[0] && !lower_hex(d->sha256, 64))
				return HRT_ERR(err, HRT_EFORMAT, "statement dataset: bad sha256");
			c->n_datasets++;
		}
	}
	return HRT_OK;
}

int hrt_prov_statement_parse(const uint8_t *json, size_t len, struct hrt_prov_claim *c,
			     struct hrt_err *err)
{
	static const char *const keys[] = { "_type", "subject", "predicateType", "predicate",
					    NULL };
	memset(c, 0, sizeof *c);
	cJSON *j = prov_json_parse((const char *)json, len, "statement", err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	char type[64], ptype[128], id_hex[65] = { 0 };
	int rc;
	if ((rc = prov_json_keys(j, keys, "statement", err)) ||
	    (rc = prov_json_str(j, "_type", true, type, sizeof type, "statement", err)) ||
	    (rc = prov_json_str(j, "predicateType", true, ptype, sizeof ptype, "statement", err)))
		goto out;
	if (strcmp(type, HRT_INTOTO_STATEMENT)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "statement: _type is not in-toto Statement v1");
		goto out;
	}
	if (strcmp(ptype, HRT_PROV_PREDICATE)) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "statement: predicate type \"%.80s\" is not hearth's",
			     ptype);
		goto out;
	}
	if ((rc = parse_subjects(cJSON_GetObjectItemCaseSensitive(j, "subject"), c, id_hex, err)))
		goto out;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "predicate");
	if (!cJSON_IsObject(p)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "statement: \"predicate\" must be an object");
		goto out;
	}
	if ((rc = parse_predicate(p, c, err)))
		goto out;
	if (strcmp(c->model_id + 6, id_hex)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "statement: modelId and subject disagree");
		goto out;
	}
out:
	cJSON_Delete(j);
	if (rc)
		memset(c, 0, sizeof *c);
	return rc;
}

/* -------------------------------------------------------------- OMS */

int hrt_oms_statement(const char *file_name, const uint8_t sha256[32], char **out,
		      struct hrt_err *err)
{
	*out = NULL;
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	char hex[65], root_hex[65];
	uint8_t root[32];
	hrt_prov_hex(sha256, 32, hex);
	/* subject digest: SHA-256 over the resource digests, in order */
	crypto_hash_sha256(root, sha256, 32);
	hrt_prov_hex(root, 32, root_hex);
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	cJSON_AddStringToObject(j, "_type", HRT_INTOTO_STATEMENT);
	cJSON *subj = cJSON_AddArrayToObject(j, "subject");
	cJSON *s = cJSON_CreateObject();
	cJSON_AddItemToArray(subj, s);
	cJSON_AddStringToObject(s, "name", file_name);
	cJSON *d = cJSON_AddObjectToObject(s, "digest");
	cJSON_AddStringToObject(d, "sha256", root_hex);
	cJSON_AddStringToObject(j, "predicateType", HRT_OMS_PREDICATE);
	cJSON *p = cJSON_AddObjectToObject(j, "predicate");
	cJSON *ser = cJSON_AddObjectToObject(p, "serialization");
	cJSON_AddStringToObject(ser, "method", "files");
	cJSON_AddStringToObject(ser, "hash_type", "sha256");
	cJSON_AddBoolToObject(ser, "allow_symlinks", false);
	cJSON_AddArrayToObject(ser, "ignore_paths");
	cJSON *res = cJSON_AddArrayToObject(p, "resources");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddItemToArray(res, r);
	cJSON_AddStringToObject(r, "algorithm", "sha256");
	cJSON_AddStringToObject(r, "digest", hex);
	cJSON_AddStringToObject(r, "name", file_name);
	*out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return *out ? HRT_OK : HRT_ERR(err, HRT_ENOMEM, "out of memory");
}

int hrt_oms_bundle(const char *file_name, const uint8_t sha256[32],
		   const struct hrt_prov_key *k, char **out, struct hrt_err *err)
{
	*out = NULL;
	char *st = NULL, *env = NULL, *pem = NULL;
	cJSON *b = NULL, *ej = NULL;
	int rc;
	if ((rc = hrt_oms_statement(file_name, sha256, &st, err)) ||
	    (rc = hrt_dsse_sign(HRT_INTOTO_PAYLOAD, (const uint8_t *)st, strlen(st), k, &env, err)))
		goto out_free;
	/* the OMS key signer leaves keyid empty and names the key by a hint:
	 * the SHA-256 of its PEM text */
	ej = cJSON_Parse(env);
	pem = hrt_prov_key_pem(k);
	b = cJSON_CreateObject();
	if (!ej || !pem || !b) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	cJSON *sigs = cJSON_GetObjectItemCaseSensitive(ej, "signatures");
	cJSON *s0 = cJSON_GetArrayItem(sigs, 0);
	cJSON_ReplaceItemInObjectCaseSensitive(s0, "keyid", cJSON_CreateString(""));
	uint8_t h[32];
	char hint[65];
	crypto_hash_sha256(h, (const uint8_t *)pem, strlen(pem));
	hrt_prov_hex(h, 32, hint);
	cJSON_AddStringToObject(b, "mediaType", HRT_PROV_MEDIA_OMS);
	cJSON *vm = cJSON_AddObjectToObject(b, "verificationMaterial");
	cJSON *pk = cJSON_AddObjectToObject(vm, "publicKey");
	cJSON_AddStringToObject(pk, "hint", hint);
	cJSON_AddArrayToObject(vm, "tlogEntries");
	cJSON_AddItemToObject(b, "dsseEnvelope", ej);
	ej = NULL;
	*out = cJSON_Print(b);
	if (!*out)
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
out_free:
	free(st);
	free(env);
	free(pem);
	cJSON_Delete(b);
	cJSON_Delete(ej);
	return rc;
}

static int oms_statement_parse(const uint8_t *json, size_t len, struct hrt_oms_manifest *m,
			       struct hrt_err *err)
{
	static const char *const keys[] = { "_type", "subject", "predicateType", "predicate",
					    NULL };
	static const char *const skeys[] = { "name", "digest", NULL };
	static const char *const pkeys[] = { "serialization", "resources", NULL };
	static const char *const sekeys[] = { "method", "hash_type", "allow_symlinks",
					      "ignore_paths", "shard_size", NULL };
	static const char *const rkeys[] = { "algorithm", "digest", "name", NULL };
	const char *w = "OMS statement";
	cJSON *j = prov_json_parse((const char *)json, len, w, err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	char type[64], ptype[128], method[32], ht[32];
	int rc;
	if ((rc = prov_json_keys(j, keys, w, err)) ||
	    (rc = prov_json_str(j, "_type", true, type, sizeof type, w, err)) ||
	    (rc = prov_json_str(j, "predicateType", true, ptype, sizeof ptype, w, err)))
		goto out;
	if (strcmp(type, HRT_INTOTO_STATEMENT) || strcmp(ptype, HRT_OMS_PREDICATE)) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "%s: not an OMS v1.0 in-toto statement", w);
		goto out;
	}
	const cJSON *subj = cJSON_GetObjectItemCaseSensitive(j, "subject");
	if (!cJSON_IsArray(subj) || cJSON_GetArraySize(subj) != 1) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s: expected one subject", w);
		goto out;
	}
	const cJSON *s = cJSON_GetArrayItem(subj, 0);
	if ((rc = prov_json_keys(s, skeys, w, err)) ||
	    (rc = prov_json_str(s, "name", true, m->model_name, sizeof m->model_name, w, err)))
		goto out;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "digest");
	static const char *const dkeys[] = { "sha256", NULL };
	if ((rc = prov_json_keys(d, dkeys, w, err)) ||
	    (rc = prov_json_str(d, "sha256", true, m->root_sha256, sizeof m->root_sha256, w, err)))
		goto out;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "predicate");
	if ((rc = prov_json_keys(p, pkeys, w, err)))
		goto out;
	const cJSON *se = cJSON_GetObjectItemCaseSensitive(p, "serialization");
	if ((rc = prov_json_keys(se, sekeys, w, err)) ||
	    (rc = prov_json_str(se, "method", true, method, sizeof method, w, err)) ||
	    (rc = prov_json_str(se, "hash_type", true, ht, sizeof ht, w, err)))
		goto out;
	if (strcmp(method, "files") || strcmp(ht, "sha256")) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "%s: only the \"files\" method with sha256 is supported",
			     w);
		goto out;
	}
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(p, "resources");
	int nr = cJSON_IsArray(res) ? cJSON_GetArraySize(res) : -1;
	if (nr < 1 || nr > (int)HRT_ARRAY_LEN(m->res)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s: 1..%zu resources expected", w,
			     HRT_ARRAY_LEN(m->res));
		goto out;
	}
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	const cJSON *r;
	cJSON_ArrayForEach(r, res)
	{
		char alg[16];
		uint8_t raw[32];
		if ((rc = prov_json_keys(r, rkeys, w, err)) ||
		    (rc = prov_json_str(r, "algorithm", true, alg, sizeof alg, w, err)) ||
		    (rc = prov_json_str(r, "digest", true, m->res[m->n].sha256,
					sizeof m->res[m->n].sha256, w, err)) ||
		    (rc = prov_json_str(r, "name", true, m->res[m->n].name, sizeof m->res[m->n].name,
					w, err)))
			goto out;
		if (strcmp(alg, "sha256") || !prov_unhex(m->res[m->n].sha256, raw, 32)) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s: resource digest is not sha256 hex", w);
			goto out;
		}
		crypto_hash_sha256_update(&st, raw, 32);
		m->n++;
	}
	uint8_t root[32], want[32];
	crypto_hash_sha256_final(&st, root);
	if (!prov_unhex(m->root_sha256, want, 32) || memcmp(root, want, 32)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "%s: subject digest does not cover the resources", w);
		goto out;
	}
out:
	cJSON_Delete(j);
	return rc;
}

int hrt_oms_parse(const char *json, size_t len, struct hrt_dsse *env,
		  struct hrt_oms_manifest *m, struct hrt_err *err)
{
	static const char *const keys[] = { "mediaType", "verificationMaterial", "dsseEnvelope",
					    NULL };
	static const char *const vkeys[] = { "publicKey", "tlogEntries",
					     "timestampVerificationData", NULL };
	memset(env, 0, sizeof *env);
	memset(m, 0, sizeof *m);
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	if (len > HRT_PROV_MAX_RECORD)
		return HRT_ERR(err, HRT_EFORMAT, "OMS bundle: larger than %u bytes",
			       HRT_PROV_MAX_RECORD);
	cJSON *j = prov_json_parse(json, len, "OMS bundle", err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	char mt[96];
	int rc;
	if ((rc = prov_json_keys(j, keys, "OMS bundle", err)) ||
	    (rc = prov_json_str(j, "mediaType", true, mt, sizeof mt, "OMS bundle", err)))
		goto out;
	if (strncmp(mt, "application/vnd.dev.sigstore.bundle", 35)) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "OMS bundle: media type \"%.60s\"", mt);
		goto out;
	}
	const cJSON *vm = cJSON_GetObjectItemCaseSensitive(j, "verificationMaterial");
	if ((rc = prov_json_keys(vm, vkeys, "OMS verification material", err)))
		goto out;
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(vm, "publicKey");
	if (!pk) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "OMS bundle: only public-key bundles are supported");
		goto out;
	}
	static const char *const pkkeys[] = { "hint", NULL };
	char hint[80];
	if ((rc = prov_json_keys(pk, pkkeys, "OMS public key", err)) ||
	    (rc = prov_json_str(pk, "hint", false, hint, sizeof hint, "OMS public key", err)))
		goto out;
	if (prov_is_hex(hint, 64))
		memcpy(m->key_hint, hint, 65);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "dsseEnvelope");
	if (!cJSON_IsObject(e)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "OMS bundle: no dsseEnvelope");
		goto out;
	}
	if ((rc = prov_dsse_from_json(e, env, err)))
		goto out;
	if (strcmp(env->payload_type, HRT_INTOTO_PAYLOAD)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "OMS bundle: payload type is not in-toto");
		goto out;
	}
	rc = oms_statement_parse(env->payload, env->payload_len, m, err);
out:
	cJSON_Delete(j);
	if (rc)
		hrt_dsse_free(env);
	return rc;
}
