/*
 * prov/sbom — a model's lineage and datasets as an SBOM: SPDX 3.0.1
 * JSON-LD (AI and Dataset profiles: ai_AIPackage, dataset_DatasetPackage,
 * ancestorOf / trainedOn / hasDeclaredLicense relationships) or CycloneDX
 * 1.6 (a machine-learning-model component with modelCard and pedigree,
 * data components for the datasets).
 *
 * Sources, each marked for what it is: the file itself (SHA-256, model ID,
 * fingerprint — computed here), its signed hearth records (parents by
 * model ID, datasets with digests and licenses; "verified" when a trusted
 * key signed them), and the GGUF's own general.base_model.* and
 * general.dataset.* keys (self-declared names, no digests).
 * Not here: checking anything against a policy (policy.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "prov/prov_int.h"

#define META_MAX 32

struct meta_ref {
	char name[256];
	char url[512];
};

struct sbom_in {
	struct hrt_prov_id id;
	char name[256], license[256], arch[64], version[64];
	struct meta_ref bases[META_MAX], dsets[META_MAX];
	size_t n_bases, n_dsets;
	struct hrt_prov_claim claim;    /* the record for this file, if any */
	bool have_claim, verified;
	char signer[64];
};

static void gstr(const struct hrt_gguf *g, const char *key, char *out, size_t cap)
{
	struct hrt_str s;
	out[0] = 0;
	if (hrt_gguf_get_str(g, key, &s, NULL))
		return;
	size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
	memcpy(out, s.ptr, n);
	out[n] = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
}

static void refs(const struct hrt_gguf *g, const char *prefix, struct meta_ref *r, size_t *n)
{
	char key[128];
	uint32_t count = 0;
	snprintf(key, sizeof key, "%s.count", prefix);
	if (hrt_gguf_get_u32(g, key, &count, NULL))
		return;
	for (uint32_t i = 0; i < count && *n < META_MAX; i++) {
		struct meta_ref *m = &r[*n];
		snprintf(key, sizeof key, "%s.%u.name", prefix, i);
		gstr(g, key, m->name, sizeof m->name);
		snprintf(key, sizeof key, "%s.%u.repo_url", prefix, i);
		gstr(g, key, m->url, sizeof m->url);
		if (!m->url[0]) {
			snprintf(key, sizeof key, "%s.%u.url", prefix, i);
			gstr(g, key, m->url, sizeof m->url);
		}
		if (m->name[0] || m->url[0])
			(*n)++;
	}
}

static int gather(const char *path, const struct hrt_prov_trust *trust, int64_t now,
		  struct sbom_in *in, struct hrt_err *err)
{
	struct hrt_gguf *g = NULL;
	int rc = hrt_gguf_open(&g, path, err);
	if (rc)
		return rc;
	struct hrt_prov_id_opts io = { .file_sha256 = true, .fingerprint = true };
	if ((rc = hrt_prov_id_gguf(g, &io, &in->id, err))) {
		hrt_gguf_close(g);
		return rc;
	}
	gstr(g, "general.name", in->name, sizeof in->name);
	gstr(g, "general.license", in->license, sizeof in->license);
	gstr(g, "general.architecture", in->arch, sizeof in->arch);
	gstr(g, "general.version", in->version, sizeof in->version);
	refs(g, "general.base_model", in->bases, &in->n_bases);
	refs(g, "general.dataset", in->dsets, &in->n_dsets);
	hrt_gguf_close(g);
	/* records: a verified one for these bytes first, else any that parses */
	if (trust && trust->n) {
		struct hrt_prov_verified v;
		struct hrt_prov_report rep;
		struct hrt_prov_verify_opts vo = { .trust = trust, .now = now,
						   .known_sha256 = in->id.file_sha256 };
		hrt_prov_report_init(&rep);
		if (!hrt_prov_verify(path, &vo, &v, &rep, NULL) && v.ok && v.claim.model_id[0]) {
			in->claim = v.claim;
			in->have_claim = in->verified = true;
			snprintf(in->signer, sizeof in->signer, "%s", v.key_name);
		}
		hrt_prov_verified_free(&v);
		hrt_prov_report_free(&rep);
	}
	if (!in->have_claim) {
		struct hrt_prov_records rs = { 0 };
		char dir[4096];
		if (!hrt_prov_records_dir(path, dir, sizeof dir, NULL) &&
		    !hrt_prov_records_load(&rs, dir, NULL))
			for (size_t i = 0; i < rs.n && !in->have_claim; i++) {
				struct hrt_dsse env;
				if (rs.r[i].oms ||
				    hrt_dsse_parse((const char *)rs.r[i].bytes, rs.r[i].len, &env, NULL))
					continue;
				if (!hrt_prov_statement_parse(env.payload, env.payload_len, &in->claim,
							      NULL) &&
				    !strcmp(in->claim.file_sha256, in->id.file_sha256_hex))
					in->have_claim = true;
				hrt_dsse_free(&env);
			}
		hrt_prov_records_free(&rs);
	}
	if (in->have_claim) {
		if (in->claim.name[0])
			snprintf(in->name, sizeof in->name, "%s", in->claim.name);
		if (in->claim.license[0] || in->verified)
			snprintf(in->license, sizeof in->license, "%s", in->claim.license);
	}
	if (!in->name[0]) {
		const char *b = strrchr(path, '/');
		snprintf(in->name, sizeof in->name, "%s", b ? b + 1 : path);
	}
	return HRT_OK;
}

static const char *prov_note(const struct sbom_in *in)
{
	if (in->verified)
		return "signed record, verified with a trusted key";
	if (in->have_claim)
		return "signed record, signature not verified";
	return "self-declared in the GGUF metadata";
}

/* ------------------------------------------------------------- SPDX */

static cJSON *spdx_el(cJSON *graph, const char *type, const char *id)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddItemToArray(graph, e);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "spdxId", id);
	cJSON_AddStringToObject(e, "creationInfo", "_:creationinfo");
	return e;
}

static void spdx_rel(cJSON *graph, const char *ns, int *nrel, const char *from,
		     const char *to, const char *type, const char *comment)
{
	char id[600];
	snprintf(id, sizeof id, "%s#relationship-%d", ns, (*nrel)++);
	cJSON *r = spdx_el(graph, "Relationship", id);
	cJSON_AddStringToObject(r, "from", from);
	cJSON *t = cJSON_AddArrayToObject(r, "to");
	cJSON_AddItemToArray(t, cJSON_CreateString(to));
	cJSON_AddStringToObject(r, "relationshipType", type);
	if (comment)
		cJSON_AddStringToObject(r, "comment", comment);
}

static void spdx_hash(cJSON *e, const char *sha)
{
	cJSON *v = cJSON_AddArrayToObject(e, "verifiedUsing");
	cJSON *h = cJSON_CreateObject();
	cJSON_AddItemToArray(v, h);
	cJSON_AddStringToObject(h, "type", "Hash");
	cJSON_AddStringToObject(h, "algorithm", "sha256");
	cJSON_AddStringToObject(h, "hashValue", sha);
}

static void spdx_mid(cJSON *e, const char *mid)
{
	cJSON *x = cJSON_AddArrayToObject(e, "externalIdentifier");
	cJSON *i = cJSON_CreateObject();
	cJSON_AddItemToArray(x, i);
	cJSON_AddStringToObject(i, "type", "ExternalIdentifier");
	cJSON_AddStringToObject(i, "externalIdentifierType", "other");
	cJSON_AddStringToObject(i, "identifier", mid);
	cJSON_AddStringToObject(i, "comment", "hearth model ID: Merkle root of the tensors' SHA-256 (weights only)");
}

static void spdx_license(cJSON *graph, const char *ns, int *nrel, int *nlic, const char *from,
			 const char *lic)
{
	char id[600];
	snprintf(id, sizeof id, "%s#license-%d", ns, (*nlic)++);
	cJSON *l = spdx_el(graph, "simplelicensing_LicenseExpression", id);
	cJSON_AddStringToObject(l, "simplelicensing_licenseExpression", lic);
	spdx_rel(graph, ns, nrel, from, id, "hasDeclaredLicense", NULL);
	spdx_rel(graph, ns, nrel, from, id, "hasConcludedLicense", NULL);
}

static char *spdx(const struct sbom_in *in, const char *created)
{
	char ns[256], model[300], agent[300], tmp[600];
	snprintf(ns, sizeof ns, "https://hearth.dev/spdxdocs/%s-%.16s", in->id.id + 6,
		 in->id.file_sha256_hex);
	snprintf(model, sizeof model, "%s#model", ns);
	snprintf(agent, sizeof agent, "%s#hearth", ns);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "@context", "https://spdx.org/rdf/3.0.1/spdx-context.jsonld");
	cJSON *graph = cJSON_AddArrayToObject(j, "@graph");
	cJSON *ci = cJSON_CreateObject();
	cJSON_AddItemToArray(graph, ci);
	cJSON_AddStringToObject(ci, "type", "CreationInfo");
	cJSON_AddStringToObject(ci, "@id", "_:creationinfo");
	cJSON_AddStringToObject(ci, "specVersion", "3.0.1");
	cJSON_AddStringToObject(ci, "created", created);
	cJSON *cb = cJSON_AddArrayToObject(ci, "createdBy");
	cJSON_AddItemToArray(cb, cJSON_CreateString(agent));
	cJSON *ag = spdx_el(graph, "SoftwareAgent", agent);
	cJSON_AddStringToObject(ag, "name", "hearth");
	cJSON *doc = spdx_el(graph, "SpdxDocument", ns);
	cJSON *pc = cJSON_AddArrayToObject(doc, "profileConformance");
	static const char *const profiles[] = { "core", "software", "ai", "dataset",
						"simpleLicensing" };
	for (size_t i = 0; i < HRT_ARRAY_LEN(profiles); i++)
		cJSON_AddItemToArray(pc, cJSON_CreateString(profiles[i]));
	cJSON *root = cJSON_AddArrayToObject(doc, "rootElement");
	cJSON_AddItemToArray(root, cJSON_CreateString(model));
	cJSON *m = spdx_el(graph, "ai_AIPackage", model);
	cJSON_AddStringToObject(m, "name", in->name);
	if (in->version[0])
		cJSON_AddStringToObject(m, "software_packageVersion", in->version);
	cJSON_AddStringToObject(m, "software_primaryPurpose", "model");
	cJSON_AddStringToObject(m, "software_downloadLocation", "NOASSERTION");
	spdx_hash(m, in->id.file_sha256_hex);
	spdx_mid(m, in->id.id);
	if (in->arch[0]) {
		cJSON *t = cJSON_AddArrayToObject(m, "ai_typeOfModel");
		cJSON_AddItemToArray(t, cJSON_CreateString(in->arch));
	}
	snprintf(tmp, sizeof tmp, "lineage and datasets: %s; fingerprint %s", prov_note(in),
		 in->id.fingerprint);
	cJSON_AddStringToObject(m, "comment", tmp);
	int nrel = 0, nlic = 0;
	if (in->license[0])
		spdx_license(graph, ns, &nrel, &nlic, model, in->license);
	size_t np = in->have_claim ? in->claim.n_parents : 0;
	for (size_t i = 0; i < np; i++) {
		const struct hrt_prov_parent *p = &in->claim.parents[i];
		char pid[400];
		snprintf(pid, sizeof pid, "%s#parent-%zu", ns, i);
		cJSON *e = spdx_el(graph, "ai_AIPackage", pid);
		cJSON_AddStringToObject(e, "name", p->name[0] ? p->name : p->id);
		cJSON_AddStringToObject(e, "software_primaryPurpose", "model");
		spdx_mid(e, p->id);
		snprintf(tmp, sizeof tmp, "relation: %s (%s)", p->relation, prov_note(in));
		spdx_rel(graph, ns, &nrel, pid, model, "ancestorOf", tmp);
	}
	for (size_t i = 0; i < in->n_bases; i++) {
		char pid[400];
		snprintf(pid, sizeof pid, "%s#declared-base-%zu", ns, i);
		cJSON *e = spdx_el(graph, "ai_AIPackage", pid);
		cJSON_AddStringToObject(e, "name", in->bases[i].name[0] ? in->bases[i].name
									: in->bases[i].url);
		cJSON_AddStringToObject(e, "software_primaryPurpose", "model");
		if (in->bases[i].url[0])
			cJSON_AddStringToObject(e, "software_downloadLocation", in->bases[i].url);
		spdx_rel(graph, ns, &nrel, pid, model, "ancestorOf",
			 "self-declared in the GGUF metadata (general.base_model), not verified");
	}
	size_t nd = in->have_claim ? in->claim.n_datasets : 0;
	for (size_t i = 0; i < nd + in->n_dsets; i++) {
		char did[400];
		snprintf(did, sizeof did, "%s#dataset-%zu", ns, i);
		cJSON *e = spdx_el(graph, "dataset_DatasetPackage", did);
		cJSON_AddStringToObject(e, "software_primaryPurpose", "data");
		cJSON *dt = cJSON_AddArrayToObject(e, "dataset_datasetType");
		cJSON_AddItemToArray(dt, cJSON_CreateString("text"));
		if (i < nd) {
			const struct hrt_prov_dataset *d = &in->claim.datasets[i];
			cJSON_AddStringToObject(e, "name", d->uri);
			cJSON_AddStringToObject(e, "software_downloadLocation", d->uri);
			if (d->sha256[0])
				spdx_hash(e, d->sha256);
			cJSON_AddStringToObject(e, "comment", prov_note(in));
			if (d->license[0])
				spdx_license(graph, ns, &nrel, &nlic, did, d->license);
		} else {
			const struct meta_ref *r = &in->dsets[i - nd];
			cJSON_AddStringToObject(e, "name", r->name[0] ? r->name : r->url);
			cJSON_AddStringToObject(e, "software_downloadLocation",
						r->url[0] ? r->url : "NOASSERTION");
			cJSON_AddStringToObject(e, "comment",
						"self-declared in the GGUF metadata (general.dataset)");
		}
		spdx_rel(graph, ns, &nrel, model, did, "trainedOn", NULL);
	}
	/* the document lists its elements */
	cJSON *el = cJSON_AddArrayToObject(doc, "element");
	const cJSON *it;
	cJSON_ArrayForEach(it, graph)
	{
		const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "spdxId");
		if (cJSON_IsString(sid) && strcmp(sid->valuestring, ns))
			cJSON_AddItemToArray(el, cJSON_CreateString(sid->valuestring));
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

/* -------------------------------------------------------- CycloneDX */

static void cdx_prop(cJSON *props, const char *name, const char *value)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddItemToArray(props, p);
	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddStringToObject(p, "value", value);
}

static void cdx_hash(cJSON *c, const char *sha)
{
	cJSON *hs = cJSON_AddArrayToObject(c, "hashes");
	cJSON *h = cJSON_CreateObject();
	cJSON_AddItemToArray(hs, h);
	cJSON_AddStringToObject(h, "alg", "SHA-256");
	cJSON_AddStringToObject(h, "content", sha);
}

static void cdx_license(cJSON *c, const char *lic)
{
	cJSON *ls = cJSON_AddArrayToObject(c, "licenses");
	cJSON *l = cJSON_CreateObject();
	cJSON_AddItemToArray(ls, l);
	cJSON_AddStringToObject(l, "expression", lic);
}

static char *cyclonedx(const struct sbom_in *in, const char *created)
{
	uint8_t h[32];
	char hex[65], uuid[40];
	crypto_hash_sha256(h, (const uint8_t *)in->id.file_sha256_hex, 64);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50); /* name-based UUID */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	hrt_prov_hex(h, 16, hex);
	snprintf(uuid, sizeof uuid, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
	char serial[64];
	snprintf(serial, sizeof serial, "urn:uuid:%s", uuid);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "bomFormat", "CycloneDX");
	cJSON_AddStringToObject(j, "specVersion", "1.6");
	cJSON_AddStringToObject(j, "serialNumber", serial);
	cJSON_AddNumberToObject(j, "version", 1);
	cJSON *md = cJSON_AddObjectToObject(j, "metadata");
	cJSON_AddStringToObject(md, "timestamp", created);
	cJSON *tools = cJSON_AddObjectToObject(md, "tools");
	cJSON *tc = cJSON_AddArrayToObject(tools, "components");
	cJSON *tool = cJSON_CreateObject();
	cJSON_AddItemToArray(tc, tool);
	cJSON_AddStringToObject(tool, "type", "application");
	cJSON_AddStringToObject(tool, "name", "hearth");
	cJSON *m = cJSON_AddObjectToObject(md, "component");
	cJSON_AddStringToObject(m, "type", "machine-learning-model");
	cJSON_AddStringToObject(m, "bom-ref", "model");
	cJSON_AddStringToObject(m, "name", in->name);
	if (in->version[0])
		cJSON_AddStringToObject(m, "version", in->version);
	cdx_hash(m, in->id.file_sha256_hex);
	if (in->license[0])
		cdx_license(m, in->license);
	cJSON *props = cJSON_AddArrayToObject(m, "properties");
	cdx_prop(props, "hearth:model-id", in->id.id);
	cdx_prop(props, "hearth:fingerprint", in->id.fingerprint);
	cdx_prop(props, "hearth:provenance", prov_note(in));
	if (in->signer[0])
		cdx_prop(props, "hearth:signed-by", in->signer);
	cJSON *mc = cJSON_AddObjectToObject(m, "modelCard");
	cJSON *mp = cJSON_AddObjectToObject(mc, "modelParameters");
	if (in->arch[0])
		cJSON_AddStringToObject(mp, "architectureFamily", in->arch);
	cJSON *mds = cJSON_AddArrayToObject(mp, "datasets");
	cJSON *comps = cJSON_AddArrayToObject(j, "components");
	size_t nd = in->have_claim ? in->claim.n_datasets : 0;
	for (size_t i = 0; i < nd + in->n_dsets; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "dataset-%zu", i);
		cJSON *r = cJSON_CreateObject();
		cJSON_AddItemToArray(mds, r);
		cJSON_AddStringToObject(r, "ref", ref);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddItemToArray(comps, c);
		cJSON_AddStringToObject(c, "type", "data");
		cJSON_AddStringToObject(c, "bom-ref", ref);
		const char *name, *url;
		if (i < nd) {
			const struct hrt_prov_dataset *d = &in->claim.datasets[i];
			name = url = d->uri;
			if (d->sha256[0])
				cdx_hash(c, d->sha256);
			if (d->license[0])
				cdx_license(c, d->license);
		} else {
			name = in->dsets[i - nd].name[0] ? in->dsets[i - nd].name : in->dsets[i - nd].url;
			url = in->dsets[i - nd].url;
		}
		cJSON_AddStringToObject(c, "name", name);
		cJSON *data = cJSON_AddArrayToObject(c, "data");
		cJSON *dd = cJSON_CreateObject();
		cJSON_AddItemToArray(data, dd);
		cJSON_AddStringToObject(dd, "type", "dataset");
		cJSON_AddStringToObject(dd, "name", name);
		if (url[0]) {
			cJSON *ct = cJSON_AddObjectToObject(dd, "contents");
			cJSON_AddStringToObject(ct, "url", url);
		}
		cJSON *cp = cJSON_AddArrayToObject(c, "properties");
		cdx_prop(cp, "hearth:provenance",
			 i < nd ? prov_note(in) : "self-declared in the GGUF metadata");
	}
	size_t np = in->have_claim ? in->claim.n_parents : 0;
	if (np + in->n_bases) {
		cJSON *ped = cJSON_AddObjectToObject(m, "pedigree");
		cJSON *anc = cJSON_AddArrayToObject(ped, "ancestors");
		for (size_t i = 0; i < np + in->n_bases; i++) {
			cJSON *a = cJSON_CreateObject();
			cJSON_AddItemToArray(anc, a);
			char ref[32];
			snprintf(ref, sizeof ref, "parent-%zu", i);
			cJSON_AddStringToObject(a, "type", "machine-learning-model");
			cJSON_AddStringToObject(a, "bom-ref", ref);
			cJSON *ap = NULL;
			if (i < np) {
				const struct hrt_prov_parent *p = &in->claim.parents[i];
				cJSON_AddStringToObject(a, "name", p->name[0] ? p->name : p->id);
				ap = cJSON_AddArrayToObject(a, "properties");
				cdx_prop(ap, "hearth:model-id", p->id);
				cdx_prop(ap, "hearth:relation", p->relation);
				cdx_prop(ap, "hearth:provenance", prov_note(in));
			} else {
				const struct meta_ref *r = &in->bases[i - np];
				cJSON_AddStringToObject(a, "name", r->name[0] ? r->name : r->url);
				ap = cJSON_AddArrayToObject(a, "properties");
				cdx_prop(ap, "hearth:provenance",
					 "self-declared in the GGUF metadata (general.base_model)");
				if (r->url[0]) {
					cJSON *er = cJSON_AddArrayToObject(a, "externalReferences");
					cJSON *x = cJSON_CreateObject();
					cJSON_AddItemToArray(er, x);
					cJSON_AddStringToObject(x, "type", "distribution");
					cJSON_AddStringToObject(x, "url", r->url);
				}
			}
		}
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

int hrt_sbom_model(const char *model_path, enum hrt_sbom_format fmt,
		   const struct hrt_prov_trust *trust, int64_t now, char **out,
		   struct hrt_err *err)
{
	*out = NULL;
	struct sbom_in *in = calloc(1, sizeof *in);
	if (!in)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	int rc = gather(model_path, trust, now ? now : (int64_t)time(NULL), in, err);
	if (!rc) {
		char created[21];
		hrt_prov_format_time(now ? now : (int64_t)time(NULL), created);
		*out = fmt == HRT_SBOM_CYCLONEDX ? cyclonedx(in, created) : spdx(in, created);
		if (!*out)
			rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
	}
	hrt_prov_id_free(&in->id);
	free(in);
	return rc;
}
