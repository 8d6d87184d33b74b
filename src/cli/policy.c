/*
 * cli/policy — the load-time policy for commands that run or pull a model:
 * the default policy ($HEARTH_POLICY or $HEARTH_HOME/policy.json; none:
 * allow everything, read nothing) is loaded once, and a refused model gets
 * the readable report (claimed / verified / failed) on stderr before the
 * one-line error. The check runs before the GGUF parser sees the file.
 * A model in the store is checked against the records its manifest
 * carries and the weights digest the store verified (the blob is not
 * re-hashed); the same holds for a pull, through the store's admission
 * hook (cli_policy_admit), after every digest matched and before the name
 * is published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/util.h"
#include "http/models.h"
#include "prov/prov.h"
#include "store/store.h"

int cli_policy_get(const struct hrt_policy **out, struct hrt_err *err)
{
	static struct hrt_policy *pol;
	static bool loaded;
	*out = NULL;
	if (!loaded) {
		int rc = hrt_policy_load_default(&pol, err);
		if (rc)
			return rc;
		loaded = true;
	}
	*out = pol;
	return HRT_OK;
}

static void unhex32(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
		}
		out[i] = (uint8_t)v;
	}
}

/* run the policy; a refusal prints the report */
static int enforce(const struct hrt_policy *pol, const char *path, const char *label,
		   const struct hrt_prov_records *rs, const struct hrt_digest *known,
		   struct hrt_err *err)
{
	uint8_t sha[32];
	struct hrt_policy_ctx ctx = { .records = rs };
	if (known) {
		unhex32(known->hex, sha);
		ctx.known_sha256 = sha;
	}
	struct hrt_prov_report rep;
	int rc = hrt_policy_enforce_ex(path, pol, &ctx, &rep, err);
	if (label)
		snprintf(rep.model_path, sizeof rep.model_path, "%s", label);
	if (rc && !rep.allowed)
		hrt_prov_report_print(stderr, &rep);
	hrt_prov_report_free(&rep);
	return rc;
}

int cli_policy_check(const char *path, struct hrt_err *err)
{
	const struct hrt_policy *pol;
	int rc = cli_policy_get(&pol, err);
	if (rc || !pol)
		return rc;
	return enforce(pol, path, NULL, NULL, NULL, err);
}

int cli_policy_check_docs(const char *path, const char *label,
			  const struct hrt_store_docs *docs, const struct hrt_digest *weights,
			  struct hrt_err *err)
{
	const struct hrt_policy *pol;
	int rc = cli_policy_get(&pol, err);
	if (rc || !pol)
		return rc;
	struct hrt_prov_records rs;
	if ((rc = hrt_models_store_records(docs ? docs->v : NULL, docs ? docs->n : 0, &rs, err)))
		return rc;
	rc = enforce(pol, path, label, &rs, weights, err);
	hrt_prov_records_free(&rs);
	return rc;
}

int cli_policy_admit(void *ctx, const struct hrt_name *name, const char *weights_path,
		     const struct hrt_digest *weights, const struct hrt_store_doc *docs,
		     size_t n_docs, struct hrt_err *err)
{
	(void)ctx;
	const struct hrt_policy *pol;
	int rc = cli_policy_get(&pol, err);
	if (rc || !pol)
		return rc;
	struct hrt_prov_records rs;
	if ((rc = hrt_models_store_records(docs, n_docs, &rs, err)))
		return rc;
	char shown[600];
	hrt_name_str(name, shown, sizeof shown);
	fprintf(stderr, "hearth: checking %s against the policy (%zu provenance record%s)\n", shown,
		rs.n, rs.n == 1 ? "" : "s");
	rc = enforce(pol, weights_path, shown, &rs, weights, err);
	hrt_prov_records_free(&rs);
	if (rc == HRT_EINVAL)
		fprintf(stderr, "hearth: %s was not added to the store\n", shown);
	return rc;
}

void cli_prov_target_free(struct cli_prov_target *t)
{
	free(t->path);
	hrt_prov_records_free(&t->records);
	memset(t, 0, sizeof *t);
}

int cli_prov_target_open(const char *model, struct cli_prov_target *t, struct hrt_err *err)
{
	memset(t, 0, sizeof *t);
	struct stat st;
	struct hrt_name n;
	char root[4200];
	snprintf(root, sizeof root, "%s/store/manifests", cli_home());
	bool file = stat(model, &st) == 0 && S_ISREG(st.st_mode);
	if (!file && stat(root, &st) == 0 && hrt_name_parse(model, &n, NULL) == HRT_OK) {
		struct hrt_store *s;
		struct hrt_store_model *m = NULL;
		struct hrt_store_docs docs;
		int rc = hrt_store_open(&s, cli_home(), err);
		if (rc)
			return rc;
		char *mbuf = NULL;
		size_t mlen;
		rc = hrt_store_manifest_read(s, model, &mbuf, &mlen, err);
		free(mbuf);
		if (rc == HRT_ENOTFOUND) {
			/* not a store name after all: a catalog name or a path */
			hrt_store_close(s);
			goto not_store;
		}
		if (!rc)
			rc = hrt_store_lookup(s, model, &m, err);
		if (!rc)
			rc = hrt_store_docs_read(s, model, &docs, NULL, err);
		hrt_store_close(s);
		if (rc) {
			hrt_store_model_free(m);
			return rc;
		}
		t->store = true;
		t->weights = m->weights;
		hrt_name_str(&m->name, t->name, sizeof t->name);
		snprintf(t->file, sizeof t->file, "%s", m->weights_file);
		t->path = hrt_strdup(m->weights_path);
		hrt_store_model_free(m);
		rc = t->path ? hrt_models_store_records(docs.v, docs.n, &t->records, err)
			     : HRT_ERR(err, HRT_ENOMEM, "no memory");
		hrt_store_docs_free(&docs);
		if (!rc)
			unhex32(t->weights.hex, t->sha256);
		else
			cli_prov_target_free(t);
		return rc;
	}
not_store:
	return cli_resolve_model(model, false, &t->path, err);
}
