/*
 * prov/verify — signing a model's provenance and checking it.
 *
 * Signing hashes the file (SHA-256 of the bytes and the model ID of the
 * weights, in one pass over all threads), builds the hearth statement
 * (attest.c), signs it into a DSSE envelope with Ed25519, and stores it
 * with the OMS bundle in the records folder (records.c). A parent given as
 * a file is checked against the weights first (hearth refuses to sign a
 * parent the weights do not support) and its records are copied along, so
 * the child's folder carries the whole signed chain.
 *
 * Verification runs before any parser sees the model: the SHA-256 of the
 * file's bytes (or the digest a store already verified), then the
 * envelopes, their signatures and the keys' trust and expiry. Only when no
 * valid record matches the bytes is the GGUF parsed, to name what changed:
 * the weights (model ID differs) or only the metadata (same model ID).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "prov/prov_int.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void short_id(const char *id, char out[24])
{
	snprintf(out, 24, "%.22s", id);
}

/* ------------------------------------------------------------- sign */

static int meta_str(const struct hrt_gguf *g, const char *key, char *out, size_t cap)
{
	struct hrt_str s;
	out[0] = 0;
	if (hrt_gguf_get_str(g, key, &s, NULL))
		return 0;
	size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
	memcpy(out, s.ptr, n);
	out[n] = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	return 1;
}

/* copy the hearth envelopes beside parent_path into dir */
static int copy_records(const char *parent_path, const char *dir, struct hrt_err *err)
{
	struct hrt_prov_records rs = { 0 };
	char pdir[4096];
	int rc = hrt_prov_records_dir(parent_path, pdir, sizeof pdir, err);
	if (!rc)
		rc = hrt_prov_records_load(&rs, pdir, err);
	for (size_t i = 0; !rc && i < rs.n; i++)
		if (!rs.r[i].oms)
			rc = hrt_prov_records_save(dir, rs.r[i].bytes, rs.r[i].len, false, NULL, err);
	hrt_prov_records_free(&rs);
	return rc;
}

int hrt_prov_sign(const char *model_path, const struct hrt_prov_sign_opts *o,
		  struct hrt_prov_claim *out_claim, struct hrt_err *err)
{
	if (!o || !o->key || !o->key->has_secret)
		return HRT_ERR(err, HRT_EINVAL, "signing needs a secret key (--key NAME.key)");
	if (o->n_parents > HRT_PROV_MAX_PARENTS || o->n_datasets > HRT_PROV_MAX_DATASETS)
		return HRT_ERR(err, HRT_EINVAL, "too many parents or datasets");
	struct hrt_prov_claim *c = calloc(1, sizeof *c);
	struct hrt_gguf *g = NULL;
	char *st = NULL, *env = NULL, *bundle = NULL;
	char dir[4096];
	int rc;
	if (!c)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	if ((rc = hrt_gguf_open(&g, model_path, err)))
		goto out_free;
	struct hrt_prov_id id;
	struct hrt_prov_id_opts io = { .n_threads = o->n_threads, .file_sha256 = true,
				       .fingerprint = true };
	if ((rc = hrt_prov_id_gguf(g, &io, &id, err)))
		goto out_free;
	memcpy(c->model_id, id.id, sizeof c->model_id);
	memcpy(c->file_sha256, id.file_sha256_hex, 65);
	memcpy(c->fingerprint, id.fingerprint, sizeof c->fingerprint);
	c->file_size = id.file_size;
	hrt_prov_id_free(&id);
	snprintf(c->file_name, sizeof c->file_name, "%s",
		 o->file_name && *o->file_name ? o->file_name : base_name(model_path));
	if (o->name)
		snprintf(c->name, sizeof c->name, "%s", o->name);
	else
		meta_str(g, "general.name", c->name, sizeof c->name);
	if (o->license)
		snprintf(c->license, sizeof c->license, "%s", o->license);
	else
		meta_str(g, "general.license", c->license, sizeof c->license);
	meta_str(g, "general.architecture", c->arch, sizeof c->arch);
	if (c->license[0]) {
		struct hrt_spdx *e = NULL;
		if ((rc = hrt_spdx_parse(c->license, &e, err)))
			goto out_free;
		hrt_spdx_free(e);
	}
	for (size_t i = 0; i < o->n_datasets; i++) {
		c->datasets[i] = o->datasets[i];
		if (c->datasets[i].license[0]) {
			struct hrt_spdx *e = NULL;
			if ((rc = hrt_spdx_parse(c->datasets[i].license, &e, err)))
				goto out_free;
			hrt_spdx_free(e);
		}
	}
	c->n_datasets = o->n_datasets;
	c->created = (int64_t)time(NULL);
	c->expires = o->expires;
	if (o->records_dir)
		snprintf(dir, sizeof dir, "%s", o->records_dir);
	else if ((rc = hrt_prov_records_dir(model_path, dir, sizeof dir, err)))
		goto out_free;
	for (size_t i = 0; i < o->n_parents; i++) {
		struct hrt_prov_parent *p = &c->parents[i];
		*p = o->parents[i];
		const char *pp = o->parent_paths[i];
		if (!pp) {
			if (!hrt_prov_id_valid(p->id)) {
				rc = HRT_ERR(err, HRT_EINVAL, "parent '%s' is neither a model ID nor a file",
					     p->id);
				goto out_free;
			}
			if (hrt_relation_from_name(p->relation) <= HRT_REL_UNRELATED) {
				rc = HRT_ERR(err, HRT_EINVAL, "parent %s: give --relation (finetune, adapter, quantized, merge, identical)",
					     p->id);
				goto out_free;
			}
			continue;
		}
		struct hrt_prov_id pid;
		if ((rc = hrt_prov_id_file(pp, &(struct hrt_prov_id_opts){ .n_threads = o->n_threads },
					   &pid, err)))
			goto out_free;
		memcpy(p->id, pid.id, sizeof p->id);
		hrt_prov_id_free(&pid);
		if (!p->name[0])
			snprintf(p->name, sizeof p->name, "%s", base_name(pp));
		/* never sign a parent the weights contradict */
		struct hrt_lineage l;
		struct hrt_lineage_opts lo = { .n_threads = o->n_threads };
		if ((rc = hrt_lineage_files(pp, model_path, &lo, &l, err)))
			goto out_free;
		bool related = l.related;
		enum hrt_relation measured = l.relation;
		hrt_lineage_free(&l);
		if (!related) {
			rc = HRT_ERR(err, HRT_EINVAL,
				     "the weights show no relation to parent %s (p = 10^%.1f); not signing that claim",
				     pp, l.log10_p);
			goto out_free;
		}
		if (!p->relation[0])
			snprintf(p->relation, sizeof p->relation, "%s", hrt_relation_name(measured));
		if (hrt_relation_from_name(p->relation) <= HRT_REL_UNRELATED) {
			rc = HRT_ERR(err, HRT_EINVAL, "unknown relation '%s'", p->relation);
			goto out_free;
		}
		if ((rc = copy_records(pp, dir, err)))
			goto out_free;
	}
	c->n_parents = o->n_parents;
	if ((rc = hrt_prov_statement_build(c, &st, err)) ||
	    (rc = hrt_dsse_sign(HRT_INTOTO_PAYLOAD, (const uint8_t *)st, strlen(st), o->key, &env,
				err)) ||
	    (rc = hrt_prov_records_save(dir, env, strlen(env), false, NULL, err)))
		goto out_free;
	if (!o->no_oms) {
		uint8_t sha[32];
		prov_unhex(c->file_sha256, sha, 32);
		if ((rc = hrt_oms_bundle(c->file_name, sha, o->key, &bundle, err)) ||
		    (rc = hrt_prov_records_save(dir, bundle, strlen(bundle), true, NULL, err)))
			goto out_free;
	}
	if (out_claim)
		*out_claim = *c;
out_free:
	hrt_gguf_close(g);
	free(st);
	free(env);
	free(bundle);
	free(c);
	return rc;
}

/* ----------------------------------------------------------- verify */

struct rec_eval {
	bool parsed;              /* statement parsed (signature aside) */
	enum hrt_prov_reason why; /* HRT_PR_NONE: valid */
	struct hrt_prov_claim claim;
	const struct hrt_prov_key *key;
	char signer[65];          /* keyid of the first signature */
};

static void claim_line(struct hrt_prov_report *rep, const struct rec_eval *e,
		       const char *origin)
{
	const struct hrt_prov_claim *c = &e->claim;
	char id[24], buf[300], short_key[24];
	snprintf(short_key, sizeof short_key, "%.16s…", e->signer);
	size_t k = 0;
	short_id(c->model_id, id);
	buf[0] = 0;
	for (size_t i = 0; i < c->n_parents && k < sizeof buf; i++) {
		char pid[24];
		short_id(c->parents[i].id, pid);
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s %s…", i ? ", " : "",
				      c->parents[i].relation, pid);
	}
	hrt_prov_report_add(rep, HRT_PL_CLAIM, HRT_PR_NONE,
			    "%s (%s): model %s…, license %s, parents [%s], %zu dataset%s, signed by %s%s",
			    c->file_name, base_name(origin), id, c->license[0] ? c->license : "none",
			    buf, c->n_datasets, c->n_datasets == 1 ? "" : "s",
			    e->key ? e->key->name : "key ", e->key ? "" : short_key);
	for (size_t i = 0; i < c->n_datasets; i++)
		hrt_prov_report_add(rep, HRT_PL_CLAIM, HRT_PR_NONE, "  dataset %s%s%s%s%s",
				    c->datasets[i].uri, c->datasets[i].sha256[0] ? " sha256:" : "",
				    c->datasets[i].sha256, c->datasets[i].license[0] ? " license " : "",
				    c->datasets[i].license);
}

static void eval_record(const struct hrt_prov_record *r, const struct hrt_prov_verify_opts *o,
			int64_t now, struct rec_eval *e, struct hrt_prov_report *rep)
{
	struct hrt_dsse env;
	struct hrt_err err = { 0 };
	memset(e, 0, sizeof *e);
	if (hrt_dsse_parse((const char *)r->bytes, r->len, &env, &err)) {
		e->why = HRT_PR_BAD_RECORD;
		hrt_prov_report_add(rep, HRT_PL_INFO, HRT_PR_BAD_RECORD, "%s: unreadable: %s",
				    base_name(r->origin), err.msg);
		return;
	}
	snprintf(e->signer, sizeof e->signer, "%s", env.n_sigs ? env.sigs[0].keyid : "");
	/* the signature first: it covers the payload whatever it says */
	const struct hrt_prov_trust *t = o->trust;
	for (size_t i = 0; t && i < t->n && !e->key; i++)
		if (hrt_dsse_verify(&env, &t->keys[i]) >= 0)
			e->key = &t->keys[i];
	if (!e->key) {
		bool trusted_id = false;
		for (size_t s = 0; s < env.n_sigs; s++)
			if (env.sigs[s].keyid[0] && hrt_prov_trust_find(t, env.sigs[s].keyid))
				trusted_id = true;
		e->why = trusted_id ? HRT_PR_BAD_SIGNATURE
				    : o->explicit_key ? HRT_PR_WRONG_KEY : HRT_PR_UNTRUSTED_KEY;
	}
	if (strcmp(env.payload_type, HRT_INTOTO_PAYLOAD) ||
	    hrt_prov_statement_parse(env.payload, env.payload_len, &e->claim, &err)) {
		if (e->why == HRT_PR_NONE)
			e->why = HRT_PR_BAD_RECORD;
		hrt_prov_report_add(rep, HRT_PL_INFO, e->why, "%s: not a hearth statement: %s",
				    base_name(r->origin), err.msg[0] ? err.msg : env.payload_type);
		hrt_dsse_free(&env);
		return;
	}
	e->parsed = true;
	if (e->why == HRT_PR_NONE && e->key->expires && now > e->key->expires)
		e->why = HRT_PR_KEY_EXPIRED;
	else if (e->why == HRT_PR_NONE && e->claim.expires && now > e->claim.expires)
		e->why = HRT_PR_RECORD_EXPIRED;
	hrt_dsse_free(&env);
}

static const char *why_text(const struct rec_eval *e, char *buf, size_t cap)
{
	char t[21];
	switch (e->why) {
	case HRT_PR_BAD_SIGNATURE:
		snprintf(buf, cap, "the signature does not verify: the record was altered after signing");
		break;
	case HRT_PR_WRONG_KEY:
		snprintf(buf, cap, "signed by key %.16s…, not by the key given", e->signer);
		break;
	case HRT_PR_UNTRUSTED_KEY:
		snprintf(buf, cap, "signed by key %.16s…, which is not trusted", e->signer);
		break;
	case HRT_PR_KEY_EXPIRED:
		hrt_prov_format_time(e->key ? e->key->expires : 0, t);
		snprintf(buf, cap, "signed by %s, a key that expired %s", e->key ? e->key->name : "?", t);
		break;
	case HRT_PR_RECORD_EXPIRED:
		hrt_prov_format_time(e->claim.expires, t);
		snprintf(buf, cap, "the record expired %s", t);
		break;
	default:
		snprintf(buf, cap, "%s", hrt_prov_reason_name(e->why));
	}
	return buf;
}

/* the trusted key whose PEM text hashes to hint, or NULL */
static const struct hrt_prov_key *key_by_hint(const struct hrt_prov_trust *t, const char *hint)
{
	for (size_t i = 0; t && hint[0] && i < t->n; i++) {
		char *pem = hrt_prov_key_pem(&t->keys[i]);
		uint8_t h[32];
		char hex[65];
		if (!pem)
			continue;
		crypto_hash_sha256(h, (const uint8_t *)pem, strlen(pem));
		free(pem);
		hrt_prov_hex(h, 32, hex);
		if (!strcmp(hex, hint))
			return &t->keys[i];
	}
	return NULL;
}

/* the OMS bundle beside the file: OK / WARN lines (FAIL when a trusted
 * key's bundle was altered); true when it verifies */
static bool check_oms(const struct hrt_prov_record *r, const char *model_path,
		      const uint8_t sha[32], const struct hrt_prov_trust *t,
		      struct hrt_prov_report *rep)
{
	struct hrt_dsse env;
	struct hrt_oms_manifest *m = calloc(1, sizeof *m);
	struct hrt_err err = { 0 };
	bool ok = false;
	if (!m)
		return false;
	if (hrt_oms_parse((const char *)r->bytes, r->len, &env, m, &err)) {
		hrt_prov_report_add(rep, HRT_PL_WARN, HRT_PR_BAD_RECORD, "OMS bundle %s: %s",
				    base_name(r->origin), err.msg);
		free(m);
		return false;
	}
	const struct hrt_prov_key *k = NULL;
	for (size_t i = 0; t && i < t->n && !k; i++)
		if (hrt_dsse_verify(&env, &t->keys[i]) >= 0)
			k = &t->keys[i];
	char hex[65];
	hrt_prov_hex(sha, 32, hex);
	const char *want = NULL;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->res[i].name, base_name(model_path)) || m->n == 1)
			want = m->res[i].sha256;
	const struct hrt_prov_key *hk = k ? NULL : key_by_hint(t, m->key_hint);
	if (hk)
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_BAD_SIGNATURE,
				    "OMS manifest (model_signing v1.0) names %s's key but its signature does not verify: the bundle was altered",
				    hk->name);
	else if (!k)
		hrt_prov_report_add(rep, HRT_PL_WARN, HRT_PR_UNTRUSTED_KEY,
				    "OMS manifest (model_signing v1.0): not signed by a trusted key");
	else if (!want || strcasecmp(want, hex))
		hrt_prov_report_add(rep, HRT_PL_WARN, HRT_PR_WEIGHTS_CHANGED,
				    "OMS manifest (model_signing v1.0) signed by %s: the file's digest differs from it",
				    k->name);
	else {
		hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE,
				    "OMS manifest (model_signing v1.0) signed by %s lists this file's SHA-256",
				    k->name);
		ok = true;
	}
	hrt_dsse_free(&env);
	free(m);
	return ok;
}

int hrt_oms_verify_file(const char *model_path, const struct hrt_prov_records *rs,
			const struct hrt_prov_trust *trust, const uint8_t *known_sha256,
			struct hrt_prov_report *rep, struct hrt_err *err)
{
	uint8_t sha[32];
	struct hrt_prov_records own;
	const struct hrt_prov_records *use;
	int rc;
	if (known_sha256)
		memcpy(sha, known_sha256, 32);
	else if ((rc = hrt_prov_sha256_file(model_path, sha, NULL, err)))
		return rc;
	if ((rc = prov_collect_records(model_path, rs, &own, &use, err)))
		return rc;
	bool any = false;
	for (size_t i = 0; i < use->n; i++)
		if (use->r[i].oms) {
			any = true;
			check_oms(&use->r[i], model_path, sha, trust, rep);
		}
	if (!any)
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_NO_RECORD, "no OMS bundle (model.sig)");
	hrt_prov_records_free(&own);
	return HRT_OK;
}

static int reason_rank(enum hrt_prov_reason r)
{
	switch (r) {
	case HRT_PR_BAD_SIGNATURE: return 6;
	case HRT_PR_KEY_EXPIRED: return 5;
	case HRT_PR_RECORD_EXPIRED: return 4;
	case HRT_PR_WRONG_KEY: return 3;
	case HRT_PR_UNTRUSTED_KEY: return 2;
	case HRT_PR_BAD_RECORD: return 1;
	default: return 0;
	}
}

int hrt_prov_verify(const char *model_path, const struct hrt_prov_verify_opts *o,
		    struct hrt_prov_verified *out, struct hrt_prov_report *rep,
		    struct hrt_err *err)
{
	struct hrt_prov_verify_opts def = { 0 };
	if (!o)
		o = &def;
	memset(out, 0, sizeof *out);
	prov_report_set_path(rep, model_path);
	int64_t now = o->now ? o->now : (int64_t)time(NULL);
	uint8_t sha[32];
	char hex[65];
	uint64_t size = 0;
	int rc;
	if (o->known_sha256) {
		memcpy(sha, o->known_sha256, 32);
		hrt_prov_hex(sha, 32, hex);
		hrt_prov_report_add(rep, HRT_PL_INFO, HRT_PR_NONE,
				    "file SHA-256 %s, as verified by the store", hex);
	} else {
		if ((rc = hrt_prov_sha256_file(model_path, sha, &size, err))) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_BAD_FILE, "%s", err ? err->msg : "");
			return rc;
		}
		hrt_prov_hex(sha, 32, hex);
		hrt_prov_report_add(rep, HRT_PL_INFO, HRT_PR_NONE,
				    "file SHA-256 %s (%llu bytes), hashed before parsing", hex,
				    (unsigned long long)size);
	}
	memcpy(rep->file_sha256, hex, 65);
	struct hrt_prov_records own;
	const struct hrt_prov_records *rs;
	if ((rc = prov_collect_records(model_path, o->records, &own, &rs, err)))
		return rc;
	struct rec_eval *ev = calloc(rs->n ? rs->n : 1, sizeof *ev);
	out->chain = calloc(rs->n ? rs->n : 1, sizeof *out->chain);
	if (!ev || !out->chain) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	int match = -1;
	size_t n_hearth = 0;
	bool oms_ok = false;
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].oms)
			continue;
		n_hearth++;
		eval_record(&rs->r[i], o, now, &ev[i], rep);
		if (ev[i].parsed && ev[i].why == HRT_PR_NONE) {
			out->chain[out->n_chain++] = ev[i].claim;
			if (match < 0 && !strcmp(ev[i].claim.file_sha256, hex))
				match = (int)i;
		}
	}
	/* what the matching record (or, failing that, every parsed one) says */
	for (size_t i = 0; i < rs->n; i++)
		if (ev[i].parsed && (match < 0 || (int)i == match))
			claim_line(rep, &ev[i], rs->r[i].origin);
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].oms)
			oms_ok |= check_oms(&rs->r[i], model_path, sha, o->trust, rep);
	/* a record carrying a trusted key's id whose signature no longer
	 * verifies is evidence of tampering (with this model's record or with
	 * its chain), whatever else verifies */
	char why[200];
	const struct rec_eval *best = NULL;
	for (size_t i = 0; i < rs->n; i++)
		if (!rs->r[i].oms && ev[i].why == HRT_PR_BAD_SIGNATURE) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_BAD_SIGNATURE, "%s (%s)",
					    why_text(&ev[i], why, sizeof why),
					    base_name(rs->r[i].origin));
			goto out_free;
		}
	if (match >= 0) {
		const struct rec_eval *e = &ev[match];
		out->ok = true;
		out->claim = e->claim;
		snprintf(out->keyid, sizeof out->keyid, "%s", e->key->keyid);
		snprintf(out->key_name, sizeof out->key_name, "%s", e->key->name);
		snprintf(rep->model_id, sizeof rep->model_id, "%s", e->claim.model_id);
		hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE,
				    "signature by %s (key %.16s…) verifies, and the file's SHA-256 is the signed one",
				    e->key->name, e->key->keyid);
		goto out_free;
	}
	/* nothing verifies: say why, records about these bytes first */
	for (size_t i = 0; i < rs->n; i++)
		if (ev[i].parsed && ev[i].why != HRT_PR_NONE &&
		    !strcmp(ev[i].claim.file_sha256, hex) &&
		    (!best || reason_rank(ev[i].why) > reason_rank(best->why)))
			best = &ev[i];
	if (best) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, best->why, "%s",
				    why_text(best, why, sizeof why));
		goto out_free;
	}
	if (oms_ok) {
		out->ok = true;
		memcpy(out->claim.file_sha256, hex, 65);
		hrt_prov_report_add(rep, HRT_PL_WARN, HRT_PR_NONE,
				    "no hearth provenance record for these bytes: identity only (no parents, license or datasets signed)");
		goto out_free;
	}
	if (n_hearth == 0) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_NO_RECORD,
				    "no signed provenance record for this file");
		goto out_free;
	}
	/* parse the file only now, to name what changed */
	struct hrt_prov_id id;
	struct hrt_err e2 = { 0 };
	if (hrt_prov_id_file(model_path, &(struct hrt_prov_id_opts){ .n_threads = o->n_threads },
			     &id, &e2)) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_BAD_FILE,
				    "the file matches no record and cannot be read: %s", e2.msg);
		goto out_free;
	}
	snprintf(rep->model_id, sizeof rep->model_id, "%s", id.id);
	hrt_prov_id_free(&id);
	for (size_t i = 0; i < out->n_chain; i++)
		if (!strcmp(out->chain[i].model_id, rep->model_id)) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_METADATA_CHANGED,
					    "the weights are the signed ones (model ID matches %s's record) but the file's bytes differ: metadata was changed after signing",
					    out->chain[i].file_name);
			goto out_free;
		}
	for (size_t i = 0; i < rs->n; i++)
		if (ev[i].parsed && ev[i].why != HRT_PR_NONE &&
		    !strcmp(ev[i].claim.model_id, rep->model_id) &&
		    (!best || reason_rank(ev[i].why) > reason_rank(best->why)))
			best = &ev[i];
	if (best) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, best->why, "%s",
				    why_text(best, why, sizeof why));
		goto out_free;
	}
	if (out->n_chain) {
		char sid[24];
		short_id(rep->model_id, sid);
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_WEIGHTS_CHANGED,
				    "the weights differ from every signed record (model ID %s… is not signed): weights were changed",
				    sid);
		goto out_free;
	}
	for (size_t i = 0; i < rs->n; i++)
		if (!rs->r[i].oms && ev[i].why != HRT_PR_NONE &&
		    (!best || reason_rank(ev[i].why) > reason_rank(best->why)))
			best = &ev[i];
	if (best)
		hrt_prov_report_add(rep, HRT_PL_FAIL, best->why, "%s", why_text(best, why, sizeof why));
	else
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_NO_RECORD,
				    "no signed provenance record for this file");
out_free:
	free(ev);
	hrt_prov_records_free(&own);
	if (rc) {
		hrt_prov_verified_free(out);
		return rc;
	}
	if (!out->ok && rep->allowed)
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_NO_RECORD, "not verified");
	if (out->ok && !rep->allowed)
		out->ok = false; /* a failure line was added: never both */
	return HRT_OK;
}

void hrt_prov_verified_free(struct hrt_prov_verified *v)
{
	if (!v)
		return;
	free(v->chain);
	v->chain = NULL;
	v->n_chain = 0;
}
