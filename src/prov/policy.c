/*
 * prov/policy — the load-time policy: which keys are trusted, whether a
 * signature is required, which licenses are allowed (SPDX expressions),
 * whether the model must descend from a trusted root through signed
 * records, and whether claimed parents are checked against the weights.
 *
 * Order of checks in hrt_policy_enforce: signatures first, on the file's
 * bytes (hash and envelopes, no GGUF parsing), and a refusal there ends
 * the check; then licenses, ancestry and parents, which may read the GGUF.
 * The format of the policy file is documented in prov.h. Not here: who
 * calls it (run, serve, pull) or where models are stored.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "prov/prov_int.h"

#define LIST_MAX 256
#define CANDIDATES_MAX 64
#define HASH_MAX 16
#define CHAIN_MAX 16

struct hrt_policy {
	char path[1024];
	char base_dir[1024];
	struct hrt_prov_trust trust;
	bool require_signature;
	char **allowed;
	size_t n_allowed;
	bool have_allowed;
	bool require_license;
	bool check_dataset_licenses;
	char (*roots)[HRT_PROV_ID_STRLEN + 1];
	size_t n_roots;
	bool require_ancestry;
	bool verify_parents;
	char **dirs;
	size_t n_dirs;
	bool refuse_suspicious;
};

void hrt_policy_free(struct hrt_policy *p)
{
	if (!p)
		return;
	hrt_prov_trust_free(&p->trust);
	for (size_t i = 0; i < p->n_allowed; i++)
		free(p->allowed[i]);
	free(p->allowed);
	free(p->roots);
	for (size_t i = 0; i < p->n_dirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	free(p);
}

const char *hrt_policy_path(const struct hrt_policy *p)
{
	return p ? p->path : "";
}

static char *resolve(const struct hrt_policy *p, const char *s)
{
	if (s[0] == '/' || !p->base_dir[0])
		return hrt_strdup(s);
	size_t n = strlen(p->base_dir) + strlen(s) + 2;
	char *o = malloc(n);
	if (o)
		snprintf(o, n, "%s/%s", p->base_dir, s);
	return o;
}

/* an array of strings: each goes through fn */
static int str_array(const cJSON *j, const char *key, size_t max,
		     int (*fn)(struct hrt_policy *, const char *, struct hrt_err *),
		     struct hrt_policy *p, struct hrt_err *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!a)
		return HRT_OK;
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > (int)max)
		return HRT_ERR(err, HRT_EFORMAT, "policy: \"%s\" must be an array of at most %zu",
			       key, max);
	const cJSON *e;
	cJSON_ArrayForEach(e, a)
	{
		if (!cJSON_IsString(e) || !e->valuestring || strlen(e->valuestring) > 1024)
			return HRT_ERR(err, HRT_EFORMAT, "policy: \"%s\" holds a non-string", key);
		int rc = fn(p, e->valuestring, err);
		if (rc)
			return rc;
	}
	return HRT_OK;
}

static int add_allowed(struct hrt_policy *p, const char *s, struct hrt_err *err)
{
	struct hrt_spdx *e = NULL;
	int rc = hrt_spdx_parse(s, &e, err);
	if (rc)
		return rc;
	bool simple = prov_spdx_is_single(e);
	hrt_spdx_free(e);
	if (!simple)
		return HRT_ERR(err, HRT_EFORMAT,
			       "policy: allowed_licenses entries are single ids (\"%s\" has AND/OR)", s);
	char **na = realloc(p->allowed, (p->n_allowed + 1) * sizeof *na);
	if (!na)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	p->allowed = na;
	if (!(p->allowed[p->n_allowed] = hrt_strdup(s)))
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	p->n_allowed++;
	return HRT_OK;
}

static int add_root(struct hrt_policy *p, const char *s, struct hrt_err *err)
{
	if (!hrt_prov_id_valid(s))
		return HRT_ERR(err, HRT_EFORMAT, "policy: trusted root \"%.80s\" is not a model ID", s);
	void *nr = realloc(p->roots, (p->n_roots + 1) * sizeof *p->roots);
	if (!nr)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	p->roots = nr;
	memcpy(p->roots[p->n_roots++], s, HRT_PROV_ID_STRLEN + 1);
	return HRT_OK;
}

static int add_dir(struct hrt_policy *p, const char *s, struct hrt_err *err)
{
	char **nd = realloc(p->dirs, (p->n_dirs + 1) * sizeof *nd);
	if (!nd)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	p->dirs = nd;
	if (!(p->dirs[p->n_dirs] = resolve(p, s)))
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	p->n_dirs++;
	return HRT_OK;
}

static int add_key_dir(struct hrt_policy *p, const char *s, struct hrt_err *err)
{
	char *d = resolve(p, s);
	if (!d)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	int rc = hrt_prov_trust_add_dir(&p->trust, d, err);
	free(d);
	return rc;
}

static int add_key_entry(struct hrt_policy *p, const cJSON *e, struct hrt_err *err)
{
	struct hrt_prov_key k;
	int rc;
	if (cJSON_IsString(e) && e->valuestring) {
		char *path = resolve(p, e->valuestring);
		if (!path)
			return HRT_ERR(err, HRT_ENOMEM, "out of memory");
		rc = hrt_prov_key_load(path, &k, err);
		free(path);
		if (rc)
			return rc;
	} else if (cJSON_IsObject(e)) {
		/* the same fields as a .pub file */
		cJSON *c = cJSON_Duplicate(e, true);
		if (!c)
			return HRT_ERR(err, HRT_ENOMEM, "out of memory");
		if (!cJSON_GetObjectItemCaseSensitive(c, "type"))
			cJSON_AddStringToObject(c, "type", "hearth-ed25519-public-v1");
		char *s = cJSON_PrintUnformatted(c);
		cJSON_Delete(c);
		if (!s)
			return HRT_ERR(err, HRT_ENOMEM, "out of memory");
		rc = hrt_prov_key_parse(s, strlen(s), &k, err);
		free(s);
		if (rc)
			return rc;
		if (k.has_secret) {
			hrt_prov_key_wipe(&k);
			return HRT_ERR(err, HRT_EFORMAT, "policy: a trusted key holds a secret");
		}
	} else {
		return HRT_ERR(err, HRT_EFORMAT, "policy: trusted_keys entries are paths or objects");
	}
	rc = hrt_prov_trust_add(&p->trust, &k, err);
	hrt_prov_key_wipe(&k);
	return rc;
}

int hrt_policy_parse(const char *json, size_t len, const char *base_dir,
		     struct hrt_policy **out, struct hrt_err *err)
{
	static const char *const keys[] = {
		"version", "trusted_keys", "trusted_key_dirs", "require_signature",
		"allowed_licenses", "require_license", "check_dataset_licenses",
		"trusted_roots", "require_ancestry", "verify_parents", "model_dirs",
		"refuse_suspicious", "comment", NULL
	};
	*out = NULL;
	if (len > HRT_PROV_MAX_POLICY)
		return HRT_ERR(err, HRT_EFORMAT, "policy: larger than %u bytes", HRT_PROV_MAX_POLICY);
	cJSON *j = prov_json_parse(json, len, "policy", err);
	if (!j)
		return err ? err->code : HRT_EFORMAT;
	struct hrt_policy *p = calloc(1, sizeof *p);
	int rc;
	if (!p) {
		cJSON_Delete(j);
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	}
	snprintf(p->base_dir, sizeof p->base_dir, "%s", base_dir ? base_dir : "");
	p->check_dataset_licenses = true;
	p->refuse_suspicious = true;
	if ((rc = prov_json_keys(j, keys, "policy", err)))
		goto out;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1)) {
		rc = HRT_ERR(err, HRT_ENOTSUP, "policy: version must be 1");
		goto out;
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "comment");
	if (c && !cJSON_IsString(c)) {
		rc = HRT_ERR(err, HRT_EFORMAT, "policy: \"comment\" must be a string");
		goto out;
	}
	const cJSON *tk = cJSON_GetObjectItemCaseSensitive(j, "trusted_keys");
	if (tk) {
		if (!cJSON_IsArray(tk) || cJSON_GetArraySize(tk) > LIST_MAX) {
			rc = HRT_ERR(err, HRT_EFORMAT, "policy: \"trusted_keys\" must be an array");
			goto out;
		}
		const cJSON *e;
		cJSON_ArrayForEach(e, tk)
		if ((rc = add_key_entry(p, e, err)))
			goto out;
	}
	p->have_allowed = cJSON_GetObjectItemCaseSensitive(j, "allowed_licenses") != NULL;
	p->require_license = p->have_allowed;
	p->require_ancestry = cJSON_GetObjectItemCaseSensitive(j, "trusted_roots") != NULL;
	if ((rc = str_array(j, "trusted_key_dirs", 16, add_key_dir, p, err)) ||
	    (rc = str_array(j, "allowed_licenses", LIST_MAX, add_allowed, p, err)) ||
	    (rc = str_array(j, "trusted_roots", LIST_MAX, add_root, p, err)) ||
	    (rc = str_array(j, "model_dirs", 16, add_dir, p, err)) ||
	    (rc = prov_json_bool(j, "require_signature", &p->require_signature, "policy", err)) ||
	    (rc = prov_json_bool(j, "require_license", &p->require_license, "policy", err)) ||
	    (rc = prov_json_bool(j, "check_dataset_licenses", &p->check_dataset_licenses, "policy",
				 err)) ||
	    (rc = prov_json_bool(j, "require_ancestry", &p->require_ancestry, "policy", err)) ||
	    (rc = prov_json_bool(j, "verify_parents", &p->verify_parents, "policy", err)) ||
	    (rc = prov_json_bool(j, "refuse_suspicious", &p->refuse_suspicious, "policy", err)))
		goto out;
	if (p->require_ancestry && p->n_roots == 0) {
		rc = HRT_ERR(err, HRT_EINVAL, "policy: require_ancestry needs trusted_roots");
		goto out;
	}
	if ((p->require_signature || p->require_ancestry) && p->trust.n == 0) {
		rc = HRT_ERR(err, HRT_EINVAL,
			     "policy: signatures are required but no trusted key is listed");
		goto out;
	}
out:
	cJSON_Delete(j);
	if (rc) {
		hrt_policy_free(p);
		return rc;
	}
	*out = p;
	return HRT_OK;
}

int hrt_policy_load(const char *path, struct hrt_policy **out, struct hrt_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = prov_read_file(path, HRT_PROV_MAX_POLICY, &buf, &len, err);
	if (rc)
		return rc;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	rc = hrt_policy_parse(buf, len, dir, out, err);
	free(buf);
	if (rc && err) {
		char m[sizeof err->msg];
		snprintf(m, sizeof m, "%s", err->msg);
		snprintf(err->msg, sizeof err->msg, "%s: %s", path, m);
	}
	if (!rc)
		snprintf((*out)->path, sizeof (*out)->path, "%s", path);
	return rc;
}

int hrt_policy_load_default(struct hrt_policy **out, struct hrt_err *err)
{
	*out = NULL;
	const char *env = getenv("HEARTH_POLICY");
	if (env && *env)
		return hrt_policy_load(env, out, err);
	char home[1024], path[1100];
	if (prov_home(home, sizeof home))
		return HRT_OK;
	snprintf(path, sizeof path, "%s/policy.json", home);
	if (access(path, F_OK))
		return HRT_OK;
	return hrt_policy_load(path, out, err);
}

/* ---------------------------------------------------------- enforce */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static bool is_root(const struct hrt_policy *p, const char *id)
{
	for (size_t i = 0; i < p->n_roots; i++)
		if (!strcmp(p->roots[i], id))
			return true;
	return false;
}

static void check_license(const struct hrt_policy *p, const char *lic, const char *what,
			  bool signed_, struct hrt_prov_report *rep)
{
	if (!lic[0]) {
		if (p->require_license)
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_LICENSE, "%s declares no license",
					    what);
		return;
	}
	struct hrt_spdx *e = NULL;
	struct hrt_err err = { 0 };
	if (hrt_spdx_parse(lic, &e, &err)) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_LICENSE, "%s license: %s", what, err.msg);
		return;
	}
	if (hrt_spdx_allowed(e, (const char *const *)p->allowed, p->n_allowed))
		hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE, "%s license %s is allowed (%s)", what,
				    lic, signed_ ? "signed" : "from the file's metadata, unsigned");
	else
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_LICENSE,
				    "%s license %s is not allowed by the policy", what, lic);
	hrt_spdx_free(e);
}

static void check_ancestry(const struct hrt_policy *p, const struct hrt_prov_verified *v,
			   const char *model_id, struct hrt_prov_report *rep)
{
	if (is_root(p, model_id)) {
		hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE, "the model is a trusted root");
		return;
	}
	if (!v->ok || !v->claim.model_id[0]) {
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_ANCESTRY,
				    "ancestry: no signed record says where this model comes from");
		return;
	}
	/* breadth-first over signed parent claims */
	const struct hrt_prov_claim *queue[CHAIN_MAX];
	size_t qh = 0, qt = 0;
	queue[qt++] = &v->claim;
	char stop[HRT_PROV_ID_STRLEN + 1] = "";
	while (qh < qt) {
		const struct hrt_prov_claim *c = queue[qh++];
		for (size_t i = 0; i < c->n_parents; i++) {
			const char *pid = c->parents[i].id;
			if (is_root(p, pid)) {
				hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE,
						    "ancestry: %s descends from trusted root %.22s… through %zu signed record%s",
						    base_name(rep->model_path), pid, qh, qh == 1 ? "" : "s");
				return;
			}
			const struct hrt_prov_claim *next = NULL;
			for (size_t k = 0; k < v->n_chain && !next; k++)
				if (!strcmp(v->chain[k].model_id, pid))
					next = &v->chain[k];
			if (next && qt < CHAIN_MAX)
				queue[qt++] = next;
			else if (!next)
				snprintf(stop, sizeof stop, "%s", pid);
		}
	}
	if (stop[0])
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_ANCESTRY,
				    "ancestry: no trusted root reached; parent %.22s… has no signed record from a trusted key",
				    stop);
	else
		hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_ANCESTRY,
				    "ancestry: the signed chain ends without reaching a trusted root");
}

/* find a file whose weights have model ID id: records beside candidates
 * first (cheap hints, then confirmed by hashing), then hashing */
static bool find_parent(const struct hrt_policy *p, const char *model_path, const char *id,
			char *out, size_t cap, int n_threads)
{
	char *cands[CANDIDATES_MAX];
	size_t nc = 0;
	char mdir[1024];
	snprintf(mdir, sizeof mdir, "%s", model_path);
	char *sl = strrchr(mdir, '/');
	if (sl)
		*sl = 0;
	else
		snprintf(mdir, sizeof mdir, ".");
	for (size_t d = 0; d <= p->n_dirs; d++) {
		const char *dir = d < p->n_dirs ? p->dirs[d] : mdir;
		DIR *dh = opendir(dir);
		if (!dh)
			continue;
		struct dirent *e;
		while ((e = readdir(dh)) && nc < CANDIDATES_MAX) {
			size_t l = strlen(e->d_name);
			if (l < 6 || strcmp(e->d_name + l - 5, ".gguf"))
				continue;
			size_t n = strlen(dir) + l + 2;
			char *path = malloc(n);
			if (!path)
				break;
			snprintf(path, n, "%s/%s", dir, e->d_name);
			if (!strcmp(base_name(path), base_name(model_path)) && !strcmp(dir, mdir)) {
				free(path);
				continue;
			}
			cands[nc++] = path;
		}
		closedir(dh);
	}
	bool found = false;
	int hashed = 0;
	for (int pass = 0; pass < 2 && !found; pass++)
		for (size_t i = 0; i < nc && !found && hashed < HASH_MAX; i++) {
			if (!cands[i])
				continue;
			if (pass == 0) {
				struct hrt_prov_records rs = { 0 };
				char rd[4096];
				bool hint = false;
				if (!hrt_prov_records_dir(cands[i], rd, sizeof rd, NULL) &&
				    !hrt_prov_records_load(&rs, rd, NULL))
					for (size_t r = 0; r < rs.n && !hint; r++) {
						struct hrt_dsse env;
						struct hrt_prov_claim *c = malloc(sizeof *c);
						if (c && !rs.r[r].oms &&
						    !hrt_dsse_parse((const char *)rs.r[r].bytes, rs.r[r].len,
								    &env, NULL)) {
							if (!hrt_prov_statement_parse(env.payload,
										      env.payload_len, c,
										      NULL))
								hint = !strcmp(c->model_id, id);
							hrt_dsse_free(&env);
						}
						free(c);
					}
				hrt_prov_records_free(&rs);
				if (!hint)
					continue;
			}
			struct hrt_prov_id pid;
			hashed++;
			if (hrt_prov_id_file(cands[i], &(struct hrt_prov_id_opts){ .n_threads = n_threads },
					     &pid, NULL))
				continue;
			if (!strcmp(pid.id, id)) {
				snprintf(out, cap, "%s", cands[i]);
				found = true;
			}
			hrt_prov_id_free(&pid);
			free(cands[i]);
			cands[i] = NULL;
		}
	for (size_t i = 0; i < nc; i++)
		free(cands[i]);
	return found;
}

static void check_parents(const struct hrt_policy *p, const char *model_path,
			  const struct hrt_prov_claim *c, int n_threads,
			  struct hrt_prov_report *rep)
{
	if (c->n_parents == 0) {
		hrt_prov_report_add(rep, HRT_PL_INFO, HRT_PR_NONE, "no parents claimed: nothing to compare");
		return;
	}
	for (size_t i = 0; i < c->n_parents; i++) {
		const struct hrt_prov_parent *pa = &c->parents[i];
		char ppath[4096];
		if (!find_parent(p, model_path, pa->id, ppath, sizeof ppath, n_threads)) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_PARENT_MISMATCH,
					    "claimed parent %.22s… (%s): no file with that model ID in the model's folder or model_dirs",
					    pa->id, pa->relation);
			continue;
		}
		struct hrt_lineage l;
		struct hrt_err err = { 0 };
		struct hrt_lineage_opts lo = { .n_threads = n_threads };
		if (hrt_lineage_files(ppath, model_path, &lo, &l, &err)) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_PARENT_MISMATCH,
					    "claimed parent %s: cannot compare: %s", base_name(ppath), err.msg);
			continue;
		}
		int claimed = hrt_relation_from_name(pa->relation);
		if (!l.related) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_PARENT_MISMATCH,
					    "claimed parent %s (%s): the weights are unrelated (p = %.3g)",
					    base_name(ppath), pa->relation, l.p_value);
		} else if (l.n_suspicious && p->refuse_suspicious) {
			char names[256];
			size_t k = 0;
			names[0] = 0;
			for (size_t t = 0; t < l.n_tensors && k < sizeof names; t++)
				if (l.t[t].suspicious)
					k += (size_t)snprintf(names + k, sizeof names - k, "%s%s (rank %d)",
							      k ? ", " : "", l.t[t].name_b, l.t[t].eff_rank);
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_SUSPICIOUS,
					    "against parent %s: localized low-rank edit in %s; the rest is unchanged (the poisoning pattern)",
					    base_name(ppath), names);
		} else if ((claimed == HRT_REL_IDENTICAL || claimed == HRT_REL_QUANTIZED) &&
			   l.relation != HRT_REL_IDENTICAL && l.relation != HRT_REL_QUANTIZED) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_PARENT_MISMATCH,
					    "claimed %s of %s, but the weights changed beyond quantization (%s)",
					    pa->relation, base_name(ppath), l.summary);
		} else {
			hrt_prov_report_add(rep, HRT_PL_OK, HRT_PR_NONE,
					    "claimed parent %s (%s): the weights agree — %s (p = 10^%.0f)",
					    base_name(ppath), pa->relation, hrt_relation_name(l.relation),
					    l.log10_p);
		}
		hrt_lineage_free(&l);
	}
}

int hrt_policy_enforce_ex(const char *model_path, const struct hrt_policy *p,
			  const struct hrt_policy_ctx *ctx, struct hrt_prov_report *rep,
			  struct hrt_err *err)
{
	struct hrt_policy_ctx def = { 0 };
	if (!ctx)
		ctx = &def;
	hrt_prov_report_init(rep);
	prov_report_set_path(rep, model_path);
	if (!p)
		return HRT_OK;
	hrt_prov_report_add(rep, HRT_PL_INFO, HRT_PR_NONE, "policy %s",
			    p->path[0] ? p->path : "(given)");
	struct hrt_prov_verified v = { 0 };
	bool need_sig = p->require_signature || p->require_ancestry;
	int rc = HRT_OK;
	if (p->trust.n > 0) {
		struct hrt_prov_verify_opts vo = { .trust = &p->trust, .records = ctx->records,
						   .known_sha256 = ctx->known_sha256,
						   .now = ctx->now, .n_threads = ctx->n_threads };
		struct hrt_prov_report vr;
		hrt_prov_report_init(&vr);
		prov_report_set_path(&vr, model_path);
		if ((rc = hrt_prov_verify(model_path, &vo, &v, &vr, err))) {
			hrt_prov_report_free(&vr);
			goto out;
		}
		/* fold the verification in: failures count only if required */
		for (size_t i = 0; i < vr.n; i++) {
			enum hrt_prov_line k = vr.lines[i].kind;
			if (k == HRT_PL_FAIL && !need_sig)
				k = HRT_PL_WARN;
			hrt_prov_report_add(rep, k, vr.lines[i].reason, "%s", vr.lines[i].text);
		}
		memcpy(rep->file_sha256, vr.file_sha256, sizeof rep->file_sha256);
		memcpy(rep->model_id, vr.model_id, sizeof rep->model_id);
		hrt_prov_report_free(&vr);
		if (need_sig && !v.ok)
			goto out; /* refused before any parser saw the file */
	}
	/* what the file itself claims (unsigned), read only past this point */
	char gl[256] = "";
	struct hrt_gguf *g = NULL;
	struct hrt_err e2 = { 0 };
	bool need_file = (p->have_allowed && !(v.ok && v.claim.model_id[0])) ||
			 ((p->require_ancestry || p->verify_parents) && !v.claim.model_id[0]);
	if (need_file) {
		if (hrt_gguf_open(&g, model_path, &e2)) {
			hrt_prov_report_add(rep, HRT_PL_FAIL, HRT_PR_BAD_FILE, "%s", e2.msg);
			goto out;
		}
		struct hrt_str s;
		if (!hrt_gguf_get_str(g, "general.license", &s, NULL))
			snprintf(gl, sizeof gl, "%.*s", (int)(s.len < 255 ? s.len : 255), s.ptr);
		if (gl[0])
			hrt_prov_report_add(rep, HRT_PL_CLAIM, HRT_PR_NONE,
					    "file metadata (unsigned): license %s", gl);
		if (!rep->model_id[0] && (p->require_ancestry || p->verify_parents)) {
			struct hrt_prov_id id;
			if (!hrt_prov_id_gguf(g, &(struct hrt_prov_id_opts){ .n_threads = ctx->n_threads },
					      &id, &e2)) {
				memcpy(rep->model_id, id.id, sizeof rep->model_id);
				hrt_prov_id_free(&id);
			}
		}
		hrt_gguf_close(g);
	}
	if (p->have_allowed) {
		bool signed_ = v.ok && v.claim.model_id[0];
		check_license(p, signed_ ? v.claim.license : gl, "the model", signed_, rep);
		if (signed_ && p->check_dataset_licenses)
			for (size_t i = 0; i < v.claim.n_datasets; i++) {
				char what[600];
				snprintf(what, sizeof what, "dataset %s", v.claim.datasets[i].uri);
				check_license(p, v.claim.datasets[i].license, what, true, rep);
			}
	}
	if (p->require_ancestry)
		check_ancestry(p, &v, v.ok && v.claim.model_id[0] ? v.claim.model_id : rep->model_id,
			       rep);
	if (p->verify_parents) {
		if (v.ok && v.claim.model_id[0])
			check_parents(p, model_path, &v.claim, ctx->n_threads, rep);
		else
			hrt_prov_report_add(rep, p->require_ancestry ? HRT_PL_FAIL : HRT_PL_WARN,
					    HRT_PR_PARENT_MISMATCH,
					    "parents: no signed record claims any, nothing to compare");
	}
out:
	hrt_prov_verified_free(&v);
	if (rc)
		return rc;
	if (!rep->allowed) {
		const char *first = "";
		for (size_t i = 0; i < rep->n; i++)
			if (rep->lines[i].kind == HRT_PL_FAIL) {
				first = rep->lines[i].text;
				break;
			}
		return HRT_ERR(err, HRT_EINVAL, "refused by policy: %s (%s)",
			       hrt_prov_reason_name(rep->reason), first);
	}
	return HRT_OK;
}

int hrt_policy_enforce(const char *model_path, const struct hrt_policy *p,
		       struct hrt_prov_report *rep, struct hrt_err *err)
{
	return hrt_policy_enforce_ex(model_path, p, NULL, rep, err);
}
