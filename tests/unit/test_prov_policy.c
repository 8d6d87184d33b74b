/*
 * tests/unit/test_prov_policy — SPDX license expressions (a real parser:
 * AND/OR/WITH/+, parentheses, references, errors), policy files, and
 * enforcement: required signatures (checked before the GGUF parser sees
 * the file), allowed licenses of the model and its datasets, ancestry to a
 * trusted root through signed records, claimed parents checked against
 * the weights (unrelated and poisoned children refused); SBOM exports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prov/prov.h"
#include "prov/prov_int.h"
#include "t.h"
#include "test_prov_fixtures.h"

static char dir[256];
static char base[512];
static bool ready;
static struct hrt_prov_key alice, bob;
static char base_id[HRT_PROV_ID_STRLEN + 1];
static char m_base[600], m_child[600], m_poison[600], m_rand[600], m_unsigned[600];

static int copy_file(const char *from, const char *to)
{
	size_t n = 0;
	char *b = t_slurp(from, &n);
	if (!b)
		return -1;
	FILE *f = fopen(to, "wb");
	int rc = f && fwrite(b, 1, n, f) == n ? 0 : -1;
	if (f)
		fclose(f);
	free(b);
	return rc;
}

static int sign(const char *path, const struct hrt_prov_key *k, const char *lic,
		const char *parent_path, const char *parent_id, const char *rel,
		const char *ds_license)
{
	struct hrt_err err = { 0 };
	static struct hrt_prov_sign_opts o;
	memset(&o, 0, sizeof o);
	o.key = k;
	o.license = lic;
	o.n_threads = 2;
	if (parent_path || parent_id) {
		o.n_parents = 1;
		o.parent_paths[0] = parent_path;
		if (parent_id)
			snprintf(o.parents[0].id, sizeof o.parents[0].id, "%s", parent_id);
		if (rel)
			snprintf(o.parents[0].relation, sizeof o.parents[0].relation, "%s", rel);
	}
	if (ds_license) {
		o.n_datasets = 1;
		snprintf(o.datasets[0].uri, sizeof o.datasets[0].uri, "https://example.org/data");
		snprintf(o.datasets[0].license, sizeof o.datasets[0].license, "%s", ds_license);
	}
	if (hrt_prov_sign(path, &o, NULL, &err)) {
		fprintf(stderr, "sign %s: %s\n", path, err.msg);
		return -1;
	}
	return 0;
}

static void setup(void)
{
	struct hrt_err err = { 0 };
	if (hrt_prov_keygen(&alice, "alice", 0, &err) || hrt_prov_keygen(&bob, "bob", 0, &err))
		return;
	const char *sh = t_shared();
	if (!sh)
		return;
	snprintf(base, sizeof base, "%s/models/stories260K.gguf", sh);
	if (access(base, R_OK))
		return;
	snprintf(dir, sizeof dir, "/tmp/hearth-prov-policy-XXXXXX");
	if (!mkdtemp(dir))
		return;
	snprintf(m_base, sizeof m_base, "%s/base.gguf", dir);
	snprintf(m_child, sizeof m_child, "%s/child.gguf", dir);
	snprintf(m_poison, sizeof m_poison, "%s/poisoned.gguf", dir);
	snprintf(m_rand, sizeof m_rand, "%s/random.gguf", dir);
	snprintf(m_unsigned, sizeof m_unsigned, "%s/unsigned.gguf", dir);
	struct fx_opts ft = { .kind = FX_NOISE, .scale = 0.01, .seed = 5 };
	struct fx_opts po = { .kind = FX_POISON, .scale = 0.05, .seed = 6,
			      .target = "blk.3.ffn_down.weight" };
	struct fx_opts rn = { .kind = FX_RANDOM, .seed = 99 };
	struct hrt_prov_id id;
	if (copy_file(base, m_base) || copy_file(base, m_unsigned) ||
	    fx_make(base, m_child, &ft) || fx_make(base, m_poison, &po) ||
	    fx_make(base, m_rand, &rn) || hrt_prov_id_file(base, NULL, &id, &err))
		return;
	memcpy(base_id, id.id, sizeof base_id);
	hrt_prov_id_free(&id);
	/* base by alice; the fine-tune by bob, parent given as a file (the
	 * weights are checked and alice's record travels along); the
	 * poisoned and the unrelated ones claim the base by its ID only */
	if (sign(m_base, &alice, "MIT", NULL, NULL, NULL, "CC-BY-4.0") ||
	    sign(m_child, &bob, "MIT", m_base, NULL, NULL, NULL) ||
	    sign(m_poison, &bob, "MIT", NULL, base_id, "finetune", NULL) ||
	    sign(m_rand, &bob, "MIT", NULL, base_id, "finetune", NULL))
		return;
	ready = true;
}

static bool need(void)
{
	if (!ready) {
		t_skip("../shared/models/stories260K.gguf not found (or setup failed)");
		return false;
	}
	return true;
}

static struct hrt_policy *policy(const char *json)
{
	struct hrt_policy *p = NULL;
	struct hrt_err err = { 0 };
	if (hrt_policy_parse(json, strlen(json), dir, &p, &err))
		fprintf(stderr, "policy: %s\n", err.msg);
	return p;
}

/* a policy text with alice and bob trusted plus extra members */
static char *with_keys(const char *extra)
{
	char *pa = prov_b64_encode(alice.pk, 32), *pb = prov_b64_encode(bob.pk, 32);
	size_t n = strlen(extra) + 600;
	char *s = malloc(n);
	snprintf(s, n,
		 "{\"version\":1,\"trusted_keys\":[{\"keyid\":\"%s\",\"public\":\"%s\",\"name\":\"alice\"},"
		 "{\"public\":\"%s\",\"name\":\"bob\"}]%s%s}",
		 alice.keyid, pa, pb, extra[0] ? "," : "", extra);
	free(pa);
	free(pb);
	return s;
}

static enum hrt_prov_reason enforce(const char *model, const char *extra, bool *allowed)
{
	char *js = with_keys(extra);
	struct hrt_policy *p = policy(js);
	free(js);
	if (!p) {
		*allowed = false;
		return HRT_PR_BAD_RECORD;
	}
	struct hrt_prov_report rep;
	struct hrt_err err = { 0 };
	int rc = hrt_policy_enforce(model, p, &rep, &err);
	*allowed = rc == HRT_OK && rep.allowed;
	enum hrt_prov_reason r = rep.reason;
	if (getenv("HEARTH_TEST_VERBOSE"))
		hrt_prov_report_print(stdout, &rep);
	if (rc && rep.allowed)
		r = HRT_PR_BAD_FILE;
	hrt_prov_report_free(&rep);
	hrt_policy_free(p);
	return r;
}

/* ------------------------------------------------------------ SPDX */

static bool lic_ok(const char *expr, const char *const *allowed, size_t n)
{
	struct hrt_spdx *e = NULL;
	if (hrt_spdx_parse(expr, &e, NULL))
		return false;
	bool r = hrt_spdx_allowed(e, allowed, n);
	hrt_spdx_free(e);
	return r;
}

static void test_spdx_parse(void)
{
	static const char *const good[] = {
		"MIT", "MIT OR Apache-2.0", "(MIT AND BSD-3-Clause) OR Apache-2.0",
		"GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0+", "LicenseRef-my-1",
		"DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "mit or apache-2.0",
		"((MIT))", "MIT AND (Apache-2.0 OR (BSD-2-Clause AND ISC))",
		"Apache-2.0 WITH LLVM-exception OR MIT",
	};
	static const char *const bad[] = {
		"", " ", "MIT OR", "AND MIT", "(MIT", "MIT)", "MIT WITH", "MIT WITH (X)",
		"MIT XOR BSD", "MIT@", "LicenseRef-", "MIT MIT", "()", "(MIT) WITH X",
		"DocumentRef-x", "a:b", "MIT OR AND BSD", "MIT WITH X WITH Y", "OR",
	};
	struct hrt_err err = { 0 };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct hrt_spdx *e = NULL;
		CHECKF(!hrt_spdx_parse(good[i], &e, &err), "\"%s\": %s", good[i], err.msg);
		char *t = hrt_spdx_text(e);
		struct hrt_spdx *e2 = NULL;
		CHECKF(t && !hrt_spdx_parse(t, &e2, &err), "reparse \"%s\"", t ? t : "");
		hrt_spdx_free(e);
		hrt_spdx_free(e2);
		free(t);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct hrt_spdx *e = NULL;
		CHECKF(hrt_spdx_parse(bad[i], &e, &err) != 0, "accepted \"%s\"", bad[i]);
		hrt_spdx_free(e);
	}
	char deep[200];
	memset(deep, '(', 40);
	snprintf(deep + 40, sizeof deep - 40, "MIT");
	memset(deep + 43, ')', 40);
	deep[83] = 0;
	struct hrt_spdx *e = NULL;
	CHECK(hrt_spdx_parse(deep, &e, &err) != 0);
	/* precedence: AND binds tighter than OR */
	CHECK(!hrt_spdx_parse("MIT OR BSD-3-Clause AND ISC", &e, &err));
	char *t = hrt_spdx_text(e);
	CHECK(t && !strcmp(t, "MIT OR BSD-3-Clause AND ISC"));
	free(t);
	hrt_spdx_free(e);
	CHECK(!hrt_spdx_parse("MIT AND (BSD-3-Clause OR ISC)", &e, &err));
	t = hrt_spdx_text(e);
	CHECK(t && !strcmp(t, "MIT AND (BSD-3-Clause OR ISC)"));
	free(t);
	hrt_spdx_free(e);
}

static void test_spdx_allowed(void)
{
	const char *const al[] = { "MIT", "Apache-2.0",
				   "GPL-2.0-only WITH Classpath-exception-2.0" };
	size_t n = 3;
	CHECK(lic_ok("MIT", al, n));
	CHECK(lic_ok("mit", al, n));
	CHECK(!lic_ok("GPL-3.0-only", al, n));
	CHECK(lic_ok("MIT OR GPL-3.0-only", al, n));
	CHECK(!lic_ok("MIT AND GPL-3.0-only", al, n));
	CHECK(lic_ok("(MIT AND Apache-2.0) OR GPL-3.0-only", al, n));
	CHECK(!lic_ok("MIT AND (GPL-3.0-only OR CC-BY-NC-4.0)", al, n));
	CHECK(lic_ok("GPL-2.0-only WITH Classpath-exception-2.0", al, n));
	CHECK(!lic_ok("GPL-2.0-only", al, n));
	CHECK(!lic_ok("GPL-2.0-only WITH GCC-exception-3.1", al, n));
	CHECK(lic_ok("Apache-2.0 WITH LLVM-exception", al, n));
	CHECK(lic_ok("MIT+", al, n));
	const char *const plus[] = { "GPL-2.0+" };
	CHECK(lic_ok("GPL-2.0+", plus, 1) && !lic_ok("GPL-2.0", plus, 1));
}

/* ---------------------------------------------------------- policy */

static void test_policy_parse(void)
{
	struct hrt_policy *p = NULL;
	struct hrt_err err = { 0 };
	static const char *const bad[] = {
		"{\"version\":2}",
		"{\"unknown\":true}",
		"{\"require_signature\":true}",
		"{\"trusted_roots\":[\"hmid1:xyz\"]}",
		"{\"allowed_licenses\":[\"MIT OR BSD-3-Clause\"]}",
		"{\"allowed_licenses\":\"MIT\"}",
		"{\"require_signature\":1}",
		"[]",
		"{\"trusted_keys\":[{\"public\":\"AAAA\"}]}",
		"{\"trusted_keys\":[42]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKF(hrt_policy_parse(bad[i], strlen(bad[i]), ".", &p, &err) != 0, "accepted %s",
		       bad[i]);
		hrt_policy_free(p);
		p = NULL;
	}
	const char *ok = "{\"version\":1,\"allowed_licenses\":[\"MIT\",\"Apache-2.0 WITH LLVM-exception\"],\"comment\":\"x\"}";
	CHECK(!hrt_policy_parse(ok, strlen(ok), ".", &p, &err));
	hrt_policy_free(p);
	/* no policy: everything allowed, the file is not even read */
	struct hrt_prov_report rep;
	CHECK(!hrt_policy_enforce("/nonexistent/model.gguf", NULL, &rep, &err) && rep.allowed);
	hrt_prov_report_free(&rep);
}

static void test_policy_signature(void)
{
	bool a;
	if (!need())
		return;
	CHECK(enforce(m_base, "\"require_signature\":true", &a) == HRT_PR_NONE && a);
	CHECK(enforce(m_unsigned, "\"require_signature\":true", &a) == HRT_PR_NO_RECORD && !a);
	/* not a GGUF at all: refused for the missing signature, before any
	 * parser could fail on it */
	char junk[700];
	snprintf(junk, sizeof junk, "%s/junk.gguf", dir);
	FILE *f = fopen(junk, "wb");
	fputs("GGUF\x03\0\0\0garbage", f);
	fclose(f);
	enum hrt_prov_reason r = enforce(junk, "\"require_signature\":true", &a);
	CHECKF(r == HRT_PR_NO_RECORD && !a, "junk: %s", hrt_prov_reason_name(r));
	/* without required signatures the junk is reported unreadable only
	 * when something needs to read it */
	r = enforce(junk, "\"allowed_licenses\":[\"MIT\"]", &a);
	CHECK(r == HRT_PR_BAD_FILE && !a);
	unlink(junk);
}

static void test_policy_license(void)
{
	bool a;
	if (!need())
		return;
	CHECK(enforce(m_base, "\"allowed_licenses\":[\"MIT\",\"CC-BY-4.0\"]", &a) == HRT_PR_NONE && a);
	CHECK(enforce(m_base, "\"allowed_licenses\":[\"Apache-2.0\",\"CC-BY-4.0\"]", &a) ==
		      HRT_PR_LICENSE && !a);
	/* the dataset's license counts too, unless told otherwise */
	CHECK(enforce(m_base, "\"allowed_licenses\":[\"MIT\"]", &a) == HRT_PR_LICENSE && !a);
	CHECK(enforce(m_base, "\"allowed_licenses\":[\"MIT\"],\"check_dataset_licenses\":false", &a) ==
		      HRT_PR_NONE && a);
	/* an unsigned file declaring nothing */
	CHECK(enforce(m_unsigned, "\"allowed_licenses\":[\"MIT\"]", &a) == HRT_PR_LICENSE && !a);
}

static void test_policy_ancestry(void)
{
	bool a;
	char extra[400];
	if (!need())
		return;
	snprintf(extra, sizeof extra, "\"trusted_roots\":[\"%s\"]", base_id);
	CHECK(enforce(m_base, extra, &a) == HRT_PR_NONE && a);   /* the root itself */
	enum hrt_prov_reason r = enforce(m_child, extra, &a);
	CHECKF(r == HRT_PR_NONE && a, "child: %s", hrt_prov_reason_name(r));
	CHECK(enforce(m_unsigned, extra, &a) == HRT_PR_NO_RECORD && !a);
	char other[HRT_PROV_ID_STRLEN + 1];
	snprintf(other, sizeof other, "%s", base_id);
	other[10] = other[10] == 'a' ? 'b' : 'a';
	snprintf(extra, sizeof extra, "\"trusted_roots\":[\"%s\"]", other);
	r = enforce(m_child, extra, &a);
	CHECKF(r == HRT_PR_ANCESTRY && !a, "wrong root: %s", hrt_prov_reason_name(r));
}

static void test_policy_parents(void)
{
	bool a;
	if (!need())
		return;
	const char *vp = "\"verify_parents\":true";
	enum hrt_prov_reason r = enforce(m_child, vp, &a);
	CHECKF(r == HRT_PR_NONE && a, "child: %s", hrt_prov_reason_name(r));
	r = enforce(m_poison, vp, &a);
	CHECKF(r == HRT_PR_SUSPICIOUS && !a, "poisoned: %s", hrt_prov_reason_name(r));
	r = enforce(m_rand, vp, &a);
	CHECKF(r == HRT_PR_PARENT_MISMATCH && !a, "unrelated: %s", hrt_prov_reason_name(r));
	/* the claim must not understate the change */
	char liar[700];
	snprintf(liar, sizeof liar, "%s/liar.gguf", dir);
	struct fx_opts ft = { .kind = FX_NOISE, .scale = 0.02, .seed = 8 };
	CHECK(!fx_make(base, liar, &ft) && !sign(liar, &bob, "MIT", NULL, base_id, "quantized", NULL));
	r = enforce(liar, vp, &a);
	CHECKF(r == HRT_PR_PARENT_MISMATCH && !a, "liar: %s", hrt_prov_reason_name(r));
}

static void test_policy_default_location(void)
{
	struct hrt_policy *p = NULL;
	struct hrt_err err = { 0 };
	char home[400], path[500];
	snprintf(home, sizeof home, "%s", dir[0] ? dir : "/tmp");
	setenv("HEARTH_HOME", home, 1);
	unsetenv("HEARTH_POLICY");
	snprintf(path, sizeof path, "%s/policy.json", home);
	unlink(path);
	CHECK(!hrt_policy_load_default(&p, &err) && p == NULL);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("{\"version\":1,\"allowed_licenses\":[\"MIT\"]}\n", f);
		fclose(f);
	}
	CHECK(!hrt_policy_load_default(&p, &err) && p && !strcmp(hrt_policy_path(p), path));
	hrt_policy_free(p);
	setenv("HEARTH_POLICY", "/nonexistent/policy.json", 1);
	CHECK(hrt_policy_load_default(&p, &err) != 0);
	unsetenv("HEARTH_POLICY");
	unlink(path);
}

static void test_sbom(void)
{
	struct hrt_err err = { 0 };
	struct hrt_prov_trust t = { 0 };
	char *s = NULL;
	if (!need())
		return;
	hrt_prov_trust_add(&t, &alice, &err);
	hrt_prov_trust_add(&t, &bob, &err);
	CHECK(!hrt_sbom_model(m_base, HRT_SBOM_SPDX3, &t, 1700000000, &s, &err));
	cJSON *j = s ? cJSON_Parse(s) : NULL;
	CHECK(j && strstr(s, "ai_AIPackage") && strstr(s, "dataset_DatasetPackage") &&
	      strstr(s, "trainedOn") && strstr(s, base_id) && strstr(s, "CC-BY-4.0") &&
	      strstr(s, "\"3.0.1\""));
	cJSON_Delete(j);
	free(s);
	CHECK(!hrt_sbom_model(m_child, HRT_SBOM_SPDX3, &t, 1700000000, &s, &err));
	CHECK(s && strstr(s, "ancestorOf") && strstr(s, base_id) && strstr(s, "finetune"));
	free(s);
	CHECK(!hrt_sbom_model(m_child, HRT_SBOM_CYCLONEDX, &t, 1700000000, &s, &err));
	j = s ? cJSON_Parse(s) : NULL;
	CHECK(j && strstr(s, "\"CycloneDX\"") && strstr(s, "\"1.6\"") &&
	      strstr(s, "machine-learning-model") && strstr(s, "pedigree") && strstr(s, base_id) &&
	      strstr(s, "verified with a trusted key"));
	cJSON_Delete(j);
	free(s);
	hrt_prov_trust_free(&t);
}

int main(void)
{
	setup();
	RUN(test_spdx_parse);
	RUN(test_spdx_allowed);
	RUN(test_policy_parse);
	RUN(test_policy_signature);
	RUN(test_policy_license);
	RUN(test_policy_ancestry);
	RUN(test_policy_parents);
	RUN(test_policy_default_location);
	RUN(test_sbom);
	if (dir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd)) {
		}
	}
	hrt_prov_key_wipe(&alice);
	hrt_prov_key_wipe(&bob);
	return t_done();
}
