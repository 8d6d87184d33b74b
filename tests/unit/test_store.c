/*
 * tests/unit/test_store — the store's parsers and its on-disk rules:
 * digests, names, PARAMETER values, Modelfiles, manifests/index/config/
 * hearth.json (hostile ones included), archive member names, auth
 * challenges; then a real store in a temp folder: blob writer and stage
 * (resume, too many bytes, bad digest), import of a synthetic GGUF and of
 * a non-GGUF, lookup, copy, delete with garbage collection, create from a
 * Modelfile, fsck finding damage; provenance layers (import, add, read,
 * create FROM, the pull admission hook, an oversized record layer).
 * Registries and archives are tested end to end in tests/e2e/store.sh,
 * the policy over them in tests/e2e/policy_integration.sh.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/tools.h"
#include "prov/prov.h"
#include "store/store_int.h"
#include "t.h"

static char tmp[256];

static int parse_digest(const char *s)
{
	struct hrt_digest d;
	return hrt_digest_parse(s, strlen(s), &d, NULL);
}

static void test_digest(void)
{
	const char *ok = "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
	struct hrt_digest d;
	struct hrt_err err = { 0 };
	CHECK(hrt_digest_parse(ok, strlen(ok), &d, &err) == HRT_OK);
	CHECK(!strcmp(d.hex, ok + 7));
	char back[80];
	hrt_digest_str(&d, back, sizeof back);
	CHECK(!strcmp(back, ok));
	CHECK(parse_digest("sha256:../../../../etc/passwd") == HRT_EFORMAT);
	CHECK(parse_digest("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256") ==
	      HRT_EFORMAT); /* 63 */
	CHECK(parse_digest("sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d0") ==
	      HRT_EFORMAT); /* 65 */
	CHECK(parse_digest("sha256:270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D") ==
	      HRT_EFORMAT);
	CHECK(parse_digest("sha512:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d") ==
	      HRT_EFORMAT);
	CHECK(parse_digest("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d") ==
	      HRT_EFORMAT);
	CHECK(parse_digest("") == HRT_EFORMAT);
	CHECK(parse_digest("sha256:..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fx") ==
	      HRT_EFORMAT);
	/* a NUL inside the announced length */
	char withnul[72];
	memcpy(withnul, ok, 71);
	withnul[40] = 0;
	CHECK(hrt_digest_parse(withnul, 71, &d, NULL) == HRT_EFORMAT);
	CHECK(hrt_digest_parse(NULL, 0, &d, &err) == HRT_EFORMAT);
	/* the message names the problem */
	hrt_digest_parse("sha256:ABC", 10, &d, &err);
	CHECK(strstr(err.msg, "64") != NULL);
}

static void test_names(void)
{
	struct hrt_name n;
	char s[700];
	CHECK(hrt_name_parse("granite3.3:2b", &n, NULL) == HRT_OK);
	CHECK(!strcmp(n.host, HRT_NAME_DEFAULT_HOST) && !strcmp(n.ns, "library") &&
	      !strcmp(n.model, "granite3.3") && !strcmp(n.tag, "2b"));
	hrt_name_str(&n, s, sizeof s);
	CHECK(!strcmp(s, "granite3.3:2b"));
	CHECK(hrt_name_parse("llama", &n, NULL) == HRT_OK && !strcmp(n.tag, "latest"));
	CHECK(hrt_name_parse("team/llama:Q4_K_M", &n, NULL) == HRT_OK && !strcmp(n.ns, "team") &&
	      !strcmp(n.tag, "Q4_K_M"));
	hrt_name_str(&n, s, sizeof s);
	CHECK(!strcmp(s, "team/llama:Q4_K_M"));
	CHECK(hrt_name_parse("localhost:5000/ns/m:t", &n, NULL) == HRT_OK &&
	      !strcmp(n.host, "localhost:5000") && hrt_name_is_remote(&n));
	hrt_name_full(&n, s, sizeof s);
	CHECK(!strcmp(s, "localhost:5000/ns/m:t"));
	CHECK(hrt_name_parse("registry.example.com/a-b/c__d.e", &n, NULL) == HRT_OK);
	CHECK(hrt_name_parse("a--b", &n, NULL) == HRT_OK);
	static const char *const bad[] = {
		"", "..", "a/../b", "../a", "A", "Llama", "a//b", "/a", "a/", "a/b/c/d", "a:", ":t",
		"a:.t", "a:-t", "a@sha256:00", "a..b", "a._b", "-a", "a-", "a b", "a/b:c/d",
		"Host.com/ns/m", "h:0/ns/m", "h:99999/ns/m", "ex-.com/ns/m", "a\n", "a\\b",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		NULL
	};
	for (int i = 0; bad[i]; i++)
		CHECKF(hrt_name_parse(bad[i], &n, NULL) != HRT_OK, "accepted '%s'", bad[i]);
	struct hrt_name a, b;
	hrt_name_parse("m", &a, NULL);
	hrt_name_parse(HRT_NAME_DEFAULT_HOST "/library/m:latest", &b, NULL);
	CHECK(hrt_name_eq(&a, &b) && !hrt_name_is_remote(&a));
}

static void test_params(void)
{
	struct hrt_store_params p = { 0 };
	struct hrt_err err = { 0 };
	CHECK(hrt_store_param_set(&p, "temperature", "0.7", &err) == HRT_OK);
	CHECK(hrt_store_param_set(&p, "top_k", "40", &err) == HRT_OK && p.top_k == 40);
	CHECK(hrt_store_param_set(&p, "seed", "-1", &err) == HRT_OK && p.seed == -1);
	CHECK(hrt_store_param_set(&p, "num_predict", "-2", &err) == HRT_OK);
	CHECK(hrt_store_param_set(&p, "stop", "<|im_end|>", &err) == HRT_OK && p.n_stop == 1);
	CHECK(p.set & (1u << HRT_P_TEMPERATURE));
	CHECK(hrt_store_param_set(&p, "mirostat", "1", &err) == HRT_EINVAL);
	CHECK(strstr(err.msg, "mirostat") && strstr(err.msg, "temperature"));
	CHECK(hrt_store_param_set(&p, "temperature", "-1", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "temperature", "nan", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "top_k", "1.5", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "top_p", "2", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "num_ctx", "0", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "num_ctx", "abc", &err) == HRT_ERANGE);
	CHECK(hrt_store_param_set(&p, "stop", "", &err) == HRT_ERANGE);
	for (int i = 1; i < HRT_STORE_MAX_STOPS; i++)
		CHECK(hrt_store_param_set(&p, "stop", "x", &err) == HRT_OK);
	CHECK(hrt_store_param_set(&p, "stop", "one too many", &err) == HRT_ERANGE);
	struct hrt_store_params q;
	CHECK(hrt_store_params_copy(&q, &p) == HRT_OK && q.n_stop == p.n_stop && q.stop[0] != p.stop[0]);
	hrt_store_params_free(&q);
	hrt_store_params_free(&p);
	hrt_store_params_free(NULL);
}

static void test_modelfile(void)
{
	static const char text[] =
		"# a comment\n"
		"from ./model.gguf\n"
		"PARAMETER temperature 0.2\n"
		"parameter STOP \"<|im_end|>\"\n"
		"PARAMETER stop \"say \\\"bye\\\"\"\n"
		"  TEMPLATE \"\"\"{{ .System }}\n"
		"<|im_start|>user\n"
		"{{ .Prompt }}\"\"\"\n"
		"SYSTEM You are kind.   \n"
		"LICENSE \"\"\"MIT\"\"\"\n"
		"LICENSE Apache-2.0\n"
		"ADAPTER ./lora.gguf\n"
		"\n";
	struct hrt_modelfile mf;
	struct hrt_err err = { 0 };
	CHECKF(hrt_modelfile_parse(text, strlen(text), &mf, &err) == HRT_OK, "%s", err.msg);
	CHECK(mf.from && !strcmp(mf.from, "./model.gguf"));
	CHECK(mf.template_text && !strcmp(mf.template_text, "{{ .System }}\n<|im_start|>user\n{{ .Prompt }}"));
	CHECK(mf.system && !strcmp(mf.system, "You are kind."));
	CHECK(mf.n_licenses == 2 && !strcmp(mf.licenses[0], "MIT"));
	CHECK(mf.n_adapters == 1 && !strcmp(mf.adapters[0], "./lora.gguf"));
	CHECK(mf.params.n_stop == 2 && !strcmp(mf.params.stop[1], "say \"bye\""));
	CHECK(mf.params.temperature > 0.19f && mf.params.temperature < 0.21f);
	hrt_modelfile_free(&mf);

	static const struct {
		const char *text;
		int rc;
		const char *needle;
	} bad[] = {
		{ "PARAMETER temperature 1\n", HRT_EFORMAT, "FROM" },
		{ "FROM a\nFROB x\n", HRT_EFORMAT, "line 2" },
		{ "FROM a\nMESSAGE user hi\n", HRT_ENOTSUP, "MESSAGE" },
		{ "FROM a\nSYSTEM \"\"\"never closed\n", HRT_EFORMAT, "never closed" },
		{ "FROM a\nSYSTEM \"x\" trailing\n", HRT_EFORMAT, "after the closing" },
		{ "FROM a\nSYSTEM \"open\n", HRT_EFORMAT, "not closed" },
		{ "FROM a\nFROM b\n", HRT_EFORMAT, "second FROM" },
		{ "FROM a\n\nPARAMETER top_q 1\n", HRT_EINVAL, "line 3" },
		{ "FROM a\nPARAMETER temperature 900\n", HRT_ERANGE, "temperature" },
		{ "FROM a\nPARAMETER\n", HRT_EFORMAT, "PARAMETER" },
		{ "FROM\n", HRT_EFORMAT, "value" },
		{ "FROM a\nSYSTEM\n", HRT_EFORMAT, "value" },
		{ "FR0M a\n", HRT_EFORMAT, "unknown" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = hrt_modelfile_parse(bad[i].text, strlen(bad[i].text), &mf, &err);
		CHECKF(rc == bad[i].rc && strstr(err.msg, bad[i].needle), "case %zu: rc %d '%s'", i, rc,
		       err.msg);
		CHECK(mf.from == NULL);
	}
	CHECK(hrt_modelfile_parse("FROM a\0b\n", 9, &mf, &err) == HRT_EFORMAT);
}

#define DG "sha256:270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
#define DG2 "sha256:74be4c09fc035a0faddd73cbaf326378fa7870e548c5715e2a3ee884b1399bef"
#define LAYER(d, size) "{\"mediaType\":\"" HRT_MT_MODEL_WEIGHT "\",\"digest\":\"" d "\",\"size\":" size "}"
#define CFG "{\"mediaType\":\"" HRT_MT_MODEL_CONFIG "\",\"digest\":\"" DG2 "\",\"size\":10}"
#define MANI(layers) "{\"schemaVersion\":2,\"mediaType\":\"" HRT_MT_OCI_MANIFEST "\",\"config\":" CFG ",\"layers\":[" layers "]}"

static int parse_m(const char *s)
{
	struct st_manifest *m = malloc(sizeof *m);
	struct hrt_err err = { 0 };
	int rc = st_manifest_parse(s, strlen(s), ST_OCI, m, &err);
	free(m);
	return rc;
}

static void test_manifest(void)
{
	struct st_manifest *m = malloc(sizeof *m);
	struct hrt_err err = { 0 };
	const char *good = MANI(LAYER(DG, "1185376"));
	CHECKF(st_manifest_parse(good, strlen(good), ST_OCI, m, &err) == HRT_OK, "%s", err.msg);
	CHECK(m->n_layers == 1 && m->weights == 0 && m->settings == -1 && m->layers[0].size == 1185376);
	CHECK(st_manifest_total(m) == 1185386);
	/* round trip of what we write */
	char *out;
	size_t len;
	m->layers[0].filepath[0] = 0;
	snprintf(m->layers[0].filepath, sizeof m->layers[0].filepath, "x.gguf");
	CHECK(st_manifest_build(m, &out, &len, &err) == HRT_OK);
	struct st_manifest *m2 = malloc(sizeof *m2);
	CHECK(st_manifest_parse(out, len, ST_OCI, m2, &err) == HRT_OK);
	CHECK(!strcmp(m2->layers[0].filepath, "x.gguf") && !strcmp(m2->artifact_type, HRT_MT_MODEL_ARTIFACT));
	free(out);
	free(m2);
	free(m);
	/* hostile manifests */
	CHECK(parse_m(MANI(LAYER("sha256:../../../../etc/passwd", "1"))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER("sha256:270CBA1BD5109F42D03350F60406024560464DB173C0E387D91F0426D3BD256D", "1"))) ==
	      HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER("sha256:270cba", "1"))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "-1"))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "1.5"))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "1e300"))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "\"12\""))) == HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "4398046511105"))) == HRT_EFORMAT); /* 4 TiB + 1 */
	CHECK(parse_m(MANI("")) == HRT_EFORMAT);
	CHECK(parse_m("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\"" DG "\",\"size\":1}]}") ==
	      HRT_EFORMAT); /* no weights */
	CHECK(parse_m("{\"schemaVersion\":1,\"config\":" CFG ",\"layers\":[" LAYER(DG, "1") "]}") == HRT_EFORMAT);
	CHECK(parse_m("{\"schemaVersion\":2,\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[" LAYER(DG, "1") "]}") ==
	      HRT_EFORMAT);
	CHECK(parse_m(MANI(LAYER(DG, "1")) "x") == HRT_EFORMAT);
	CHECK(parse_m("[1,2]") == HRT_EFORMAT);
	CHECK(parse_m("{\"schemaVersion\":2,\"mediaType\":\"" HRT_MT_OCI_INDEX "\",\"manifests\":[]}") == HRT_ENOTSUP);
	CHECK(parse_m("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DG "\",\"size\":999999999},\"layers\":[" LAYER(DG, "1") "]}") ==
	      HRT_ERANGE); /* a config too big to be one */
	CHECK(parse_m("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[{\"mediaType\":\"" HRT_MT_MODEL_WEIGHT "\",\"digest\":\"" DG "\",\"size\":1,\"annotations\":{\"a\":1}}]}") ==
	      HRT_EFORMAT);
	/* too many layers */
	char *big = malloc(200000);
	strcpy(big, "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[");
	for (int i = 0; i <= HRT_STORE_MAX_LAYERS; i++) {
		strcat(big, i ? "," : "");
		strcat(big, LAYER(DG, "1"));
	}
	strcat(big, "]}");
	CHECK(parse_m(big) == HRT_EFORMAT);
	/* deep nesting does not crash */
	size_t k = 0;
	k += (size_t)sprintf(big + k, "{\"schemaVersion\":2,\"x\":");
	for (int i = 0; i < 5000; i++)
		big[k++] = '[';
	big[k] = 0;
	CHECK(parse_m(big) == HRT_EFORMAT);
	free(big);
	/* an Ollama manifest */
	const char *ol = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
			 "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" DG2 "\",\"size\":5},"
			 "\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"" DG "\",\"size\":7}]}";
	m = malloc(sizeof *m);
	CHECK(st_manifest_parse(ol, strlen(ol), ST_OLLAMA, m, &err) == HRT_OK && m->weights == 0);
	CHECK(st_manifest_parse(ol, strlen(ol), ST_OCI, m, &err) != HRT_OK);
	free(m);
}

static void test_index_config_settings(void)
{
	struct st_index ix;
	struct hrt_err err = { 0 };
	const char *good = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" HRT_MT_OCI_MANIFEST "\",\"digest\":\"" DG "\",\"size\":3,"
			   "\"annotations\":{\"org.opencontainers.image.ref.name\":\"m:t\"}}]}";
	CHECK(st_index_parse(good, strlen(good), &ix, &err) == HRT_OK && ix.n == 1 &&
	      !strcmp(ix.m[0].ref_name, "m:t"));
	char *out;
	size_t len;
	CHECK(st_index_build(&ix, &out, &len, &err) == HRT_OK && strstr(out, "m:t"));
	free(out);
	st_index_free(&ix);
	const char *bad = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:../x\",\"size\":3}]}";
	CHECK(st_index_parse(bad, strlen(bad), &ix, &err) == HRT_EFORMAT && ix.m == NULL);
	CHECK(st_index_parse("{}", 2, &ix, &err) == HRT_EFORMAT);

	struct st_config c;
	const char *cfg = "{\"descriptor\":{},\"config\":{\"architecture\":\"llama\",\"paramSize\":\"8B\",\"format\":7},\"modelfs\":{}}";
	CHECK(st_config_parse(cfg, strlen(cfg), &c, &err) == HRT_OK && !strcmp(c.architecture, "llama") &&
	      !strcmp(c.param_size, "8B") && c.format[0] == 0);
	CHECK(st_config_parse("nope", 4, &c, &err) == HRT_EFORMAT);
	char ps[32];
	st_param_size(2530000000ull, ps, sizeof ps);
	CHECK(!strcmp(ps, "2.5B"));
	st_param_size(8000000000ull, ps, sizeof ps);
	CHECK(!strcmp(ps, "8B"));
	st_param_size(292800, ps, sizeof ps);
	CHECK(!strcmp(ps, "292.8K"));

	struct st_settings st;
	const char *s1 = "{\"schemaVersion\":1,\"template\":\"t\",\"template_family\":\"chatml\",\"system\":\"s\","
			 "\"parameters\":{\"temperature\":0.5,\"stop\":[\"a\",\"b\"],\"future_key\":1},\"n_params\":7}";
	CHECK(st_settings_parse(s1, strlen(s1), &st, &err) == HRT_OK);
	CHECK(!strcmp(st.template_text, "t") && !strcmp(st.system, "s") && st.params.n_stop == 2 &&
	      st.n_params == 7 && !strcmp(st.template_family, "chatml"));
	CHECK(st_settings_build(&st, NULL, &out, &len, &err) == HRT_OK && strstr(out, "\"temperature\":0.5"));
	free(out);
	st_settings_free(&st);
	const char *s2 = "{\"parameters\":{\"temperature\":1000}}";
	CHECK(st_settings_parse(s2, strlen(s2), &st, &err) == HRT_ERANGE);
	const char *s3 = "{\"system\":5}";
	CHECK(st_settings_parse(s3, strlen(s3), &st, &err) == HRT_EFORMAT);
}

static void test_member_names(void)
{
	char out[300];
	CHECK(st_member_name("./blobs/sha256/ab", out, sizeof out, NULL) == HRT_OK &&
	      !strcmp(out, "blobs/sha256/ab"));
	CHECK(st_member_name("blobs/", out, sizeof out, NULL) == HRT_OK && !strcmp(out, "blobs"));
	static const char *const bad[] = { "../evil", "a/../../b", "/etc/passwd", "a//b", "a/./b", "",
					   "./", "a/..", "a\\b", "a\nb", "..", NULL };
	for (int i = 0; bad[i]; i++)
		CHECKF(st_member_name(bad[i], out, sizeof out, NULL) != HRT_OK, "accepted '%s'", bad[i]);
}

static void test_challenge(void)
{
	struct st_challenge c;
	CHECK(st_challenge_parse("Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull\"",
				 &c, NULL) == HRT_OK);
	CHECK(!strcmp(c.scheme, "Bearer") && !strcmp(c.realm, "https://auth.example/token") &&
	      !strcmp(c.service, "registry.example") && !strcmp(c.scope, "repository:a/b:pull"));
	CHECK(st_challenge_parse("Basic realm=\"Registry Realm\"", &c, NULL) == HRT_OK &&
	      !strcmp(c.scheme, "Basic"));
	CHECK(st_challenge_parse("Bearer realm=\"unclosed", &c, NULL) == HRT_EFORMAT);
	CHECK(st_challenge_parse("Bearer realm", &c, NULL) == HRT_EFORMAT);
	CHECK(st_challenge_parse("", &c, NULL) == HRT_EFORMAT);
}

static void test_url_name(void)
{
	struct hrt_name n;
	char s[600];
	CHECK(hrt_store_url_name("https://huggingface.co/ibm-granite/granite-3.3-2b-instruct-GGUF/resolve/main/granite-3.3-2b-instruct-Q4_K_M.gguf",
				 &n, NULL) == HRT_OK);
	hrt_name_str(&n, s, sizeof s);
	CHECK(!strcmp(s, "hf.co/ibm-granite/granite-3.3-2b-instruct-gguf:granite-3.3-2b-instruct-Q4_K_M"));
	CHECK(hrt_store_url_name("https://example.com:8443/files/My_Model.gguf?x=1", &n, NULL) == HRT_OK);
	hrt_name_str(&n, s, sizeof s);
	CHECKF(!strcmp(s, "example.com:8443/library/my_model:latest"), "%s", s);
	CHECK(hrt_store_url_name("not a url", &n, NULL) != HRT_OK);
}

/* ---- a real store ---- */

static char gguf[300], gguf2[300], home[300];

static bool make_models(void)
{
	struct hrt_synth_opts o = { .shape = "tiny", .type = "F16", .seed = 1 };
	struct hrt_synth_shape ov = { .n_layer = 1 };
	struct hrt_err err = { 0 };
	o.override = &ov;
	snprintf(gguf, sizeof gguf, "%s/a.gguf", tmp);
	o.out_path = gguf;
	if (hrt_synth_model(&o, &err))
		return false;
	snprintf(gguf2, sizeof gguf2, "%s/b.gguf", tmp);
	o.out_path = gguf2;
	o.seed = 2;
	return hrt_synth_model(&o, &err) == HRT_OK;
}

static size_t count_files(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	if (p) {
		if (fscanf(p, "%zu", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

static void test_blob_writer(void)
{
	struct hrt_store *s;
	struct hrt_err err = { 0 };
	CHECK(hrt_store_open(&s, home, &err) == HRT_OK);
	if (!s)
		return;
	size_t before = count_files(s->blobs);
	struct hrt_blob_writer *w;
	struct hrt_digest want, got;
	hrt_digest_of("hello", 5, &want);
	/* wrong bytes for the digest: refused, nothing left behind */
	CHECK(hrt_store_blob_begin(s, &want, 5, &w, &err) == HRT_OK);
	CHECK(hrt_store_blob_write(w, "hellO", 5, &err) == HRT_OK);
	CHECK(hrt_store_blob_commit(w, &got, &err) == HRT_EFORMAT);
	CHECK(!hrt_store_blob_exists(s, &want) && count_files(s->blobs) == before);
	/* more than announced */
	CHECK(hrt_store_blob_begin(s, &want, 5, &w, &err) == HRT_OK);
	CHECK(hrt_store_blob_write(w, "hello!", 6, &err) == HRT_ERANGE);
	hrt_store_blob_abort(w);
	CHECK(count_files(s->blobs) == before);
	/* the right bytes */
	CHECK(hrt_store_blob_begin(s, &want, 5, &w, &err) == HRT_OK);
	CHECK(hrt_store_blob_write(w, "hel", 3, &err) == HRT_OK && hrt_store_blob_write(w, "lo", 2, &err) == HRT_OK);
	CHECK(hrt_store_blob_commit(w, &got, &err) == HRT_OK && !strcmp(got.hex, want.hex));
	CHECK(hrt_store_blob_exists(s, &want));
	/* a stage: interrupted, resumed, verified, published */
	struct hrt_digest d;
	const char body[] = "0123456789abcdef";
	hrt_digest_of(body, 16, &d);
	struct st_stage st;
	CHECK(st_stage_open(s, &d, 16, &st, NULL, &err) == HRT_OK && !st.done && st.have == 0);
	CHECK(st_stage_write(&st, body, 7, &err) == HRT_OK);
	st_stage_close(&st, true);
	CHECK(st_stage_open(s, &d, 16, &st, NULL, &err) == HRT_OK && st.have == 7);
	CHECK(st_stage_write(&st, body + 7, 9, &err) == HRT_OK);
	CHECK(st_stage_write(&st, "x", 1, &err) == HRT_EFORMAT); /* one too many */
	CHECK(st_stage_verify(&st, &err) == HRT_OK);
	CHECK(st_stage_publish(s, &st, &err) == HRT_OK && st.done);
	st_stage_close(&st, true);
	CHECK(hrt_store_blob_exists(s, &d));
	CHECK(st_stage_open(s, &d, 16, &st, NULL, &err) == HRT_OK && st.done);
	st_stage_close(&st, true);
	/* a stage whose bytes are wrong is discarded */
	hrt_digest_of("abc", 3, &d);
	CHECK(st_stage_open(s, &d, 3, &st, NULL, &err) == HRT_OK);
	CHECK(st_stage_write(&st, "abd", 3, &err) == HRT_OK && st_stage_verify(&st, &err) == HRT_EFORMAT);
	st_stage_close(&st, true);
	char p[ST_PATH];
	snprintf(p, sizeof p, "%s/%s.partial", s->blobs, d.hex);
	CHECK(access(p, F_OK) != 0 && !hrt_store_blob_exists(s, &d));
	hrt_store_close(s);
}

struct notes {
	int n;
	char last[600];
};

static int on_prog(void *ctx, const struct hrt_store_progress *p)
{
	struct notes *n = ctx;
	n->n++;
	snprintf(n->last, sizeof n->last, "%s", p->status);
	return 0;
}

static void test_import_lookup(void)
{
	if (!make_models()) {
		t_skip("cannot write a synthetic model");
		return;
	}
	struct hrt_store *s;
	struct hrt_err err = { 0 };
	struct notes nt = { 0 };
	struct hrt_store_opts o = { .progress = on_prog, .progress_ctx = &nt };
	CHECK(hrt_store_open(&s, home, &err) == HRT_OK);
	if (!s)
		return;
	CHECKF(hrt_store_import(s, gguf, "tiny:a", &o, &err) == HRT_OK, "%s", err.msg);
	CHECK(!strcmp(nt.last, "success"));
	size_t nblobs = count_files(s->blobs);
	/* the same bytes again: nothing new */
	CHECK(hrt_store_import(s, gguf, "other/tiny:b", &o, &err) == HRT_OK);
	CHECK(count_files(s->blobs) == nblobs);
	/* not a GGUF: refused, store unchanged */
	char junk[300];
	snprintf(junk, sizeof junk, "%s/junk.gguf", tmp);
	FILE *f = fopen(junk, "wb");
	fputs("GGUF but not really a model file at all", f);
	fclose(f);
	int jrc = hrt_store_import(s, junk, "junk", &o, &err);
	CHECKF(jrc != HRT_OK && !strstr(err.msg, ".tmp-"), "%d %s", jrc, err.msg);
	CHECK(strstr(err.msg, "GGUF") != NULL);
	CHECK(count_files(s->blobs) == nblobs);
	CHECK(hrt_store_import(s, "/nonexistent.gguf", "x", &o, &err) == HRT_ENOTFOUND);
	CHECK(hrt_store_import(s, gguf, "../evil", &o, &err) == HRT_EINVAL);

	struct hrt_store_model *m;
	CHECKF(hrt_store_lookup(s, "tiny:a", &m, &err) == HRT_OK, "%s", err.msg);
	if (m) {
		CHECK(m->weights_path && access(m->weights_path, R_OK) == 0);
		CHECK(!strcmp(m->architecture, "llama") && m->n_params > 0 && m->param_size[0]);
		CHECK(!hrt_store_model_has_adapters(m) && m->template_text == NULL);
		hrt_store_model_free(m);
	}
	CHECK(hrt_store_lookup(s, "nope", &m, &err) == HRT_ENOTFOUND && m == NULL);

	/* list, copy */
	struct hrt_store_entry *e;
	size_t n;
	CHECK(hrt_store_copy(s, "tiny:a", "copy", &err) == HRT_OK);
	CHECK(hrt_store_copy(s, "absent", "copy2", &err) == HRT_ENOTFOUND);
	CHECK(hrt_store_list(s, &e, &n, &err) == HRT_OK && n == 3);
	if (n == 3) {
		CHECK(!strcmp(e[0].name.model, "copy") && !strcmp(e[0].id.hex, e[1].id.hex));
		CHECK(e[0].size > 1000 && e[0].modified > 0);
	}
	free(e);

	/* create from a Modelfile over the model */
	char mf[2048], adapter[300];
	snprintf(adapter, sizeof adapter, "%s", gguf2);
	snprintf(mf, sizeof mf,
		 "FROM tiny:a\nPARAMETER temperature 0.3\nPARAMETER stop END\nSYSTEM Be brief.\n"
		 "TEMPLATE \"\"\"<|im_start|>user\n{{ .Prompt }}<|im_end|>\"\"\"\nLICENSE MIT\nADAPTER %s\n",
		 adapter);
	CHECKF(hrt_store_create_text(s, "derived", mf, strlen(mf), tmp, &o, &err) == HRT_OK, "%s", err.msg);
	CHECK(hrt_store_lookup(s, "derived", &m, &err) == HRT_OK);
	if (m) {
		CHECK(m->system && !strcmp(m->system, "Be brief."));
		CHECK(!strcmp(m->template_family, "chatml"));
		CHECK(m->params.n_stop == 1 && (m->params.set & (1u << HRT_P_TEMPERATURE)));
		CHECK(m->license && !strcmp(m->license, "MIT"));
		CHECK(hrt_store_model_has_adapters(m) && m->n_adapters == 1);
		hrt_store_model_free(m);
	}
	/* derived again: inherits, overrides one parameter, keeps the rest */
	const char *mf2 = "FROM derived\nPARAMETER temperature 0.9\n";
	CHECK(hrt_store_create_text(s, "derived2", mf2, strlen(mf2), tmp, &o, &err) == HRT_OK);
	if (hrt_store_lookup(s, "derived2", &m, &err) == HRT_OK) {
		CHECK(m->params.temperature > 0.89f && m->params.n_stop == 1 && m->system && m->license &&
		      m->n_adapters == 1);
		hrt_store_model_free(m);
	}
	const char *mf3 = "FROM sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
	CHECK(hrt_store_create_text(s, "x", mf3, strlen(mf3), tmp, &o, &err) == HRT_ENOTFOUND);
	const char *mf4 = "FROM sha256:../../../etc/passwd\n";
	CHECK(hrt_store_create_text(s, "x", mf4, strlen(mf4), tmp, &o, &err) == HRT_EFORMAT);
	/* from the network: no file paths */
	struct hrt_store_opts net = { .no_paths = true };
	char mf6[600];
	snprintf(mf6, sizeof mf6, "FROM %s\n", gguf);
	CHECK(hrt_store_create_text(s, "x", mf6, strlen(mf6), tmp, &net, &err) == HRT_ENOTFOUND &&
	      strstr(err.msg, "files"));
	const char *mf7 = "FROM tiny:a\nADAPTER /etc/passwd\n";
	CHECK(hrt_store_create_text(s, "x", mf7, strlen(mf7), tmp, &net, &err) == HRT_EINVAL);
	const char *mf5 = "FROM no-such-model\n";
	CHECK(hrt_store_create_text(s, "x", mf5, strlen(mf5), tmp, &o, &err) == HRT_ENOTFOUND);

	/* delete: names go, shared blobs stay until the last user goes */
	CHECK(hrt_store_delete(s, "derived2", &err) == HRT_OK);
	CHECK(hrt_store_delete(s, "derived", &err) == HRT_OK);
	CHECK(count_files(s->blobs) == nblobs);
	CHECK(hrt_store_delete(s, "tiny:a", &err) == HRT_OK && hrt_store_delete(s, "other/tiny:b", &err) == HRT_OK);
	CHECK(count_files(s->blobs) == nblobs);
	CHECK(hrt_store_delete(s, "copy", &err) == HRT_OK);
	CHECK(count_files(s->blobs) == 2); /* the two blobs of the writer test */
	CHECK(hrt_store_delete(s, "copy", &err) == HRT_ENOTFOUND);
	size_t np = 5;
	CHECK(hrt_store_fsck(s, NULL, &np, &err) == HRT_OK && np == 0);
	hrt_store_close(s);
}

static void on_report(void *ctx, enum hrt_fsck_kind k, const char *msg)
{
	struct notes *n = ctx;
	if (k == HRT_FSCK_PROBLEM) {
		n->n++;
		snprintf(n->last, sizeof n->last, "%s", msg);
	}
}

static void test_fsck(void)
{
	struct hrt_store *s;
	struct hrt_err err = { 0 };
	if (!gguf[0] || access(gguf, R_OK) != 0) {
		t_skip("no synthetic model");
		return;
	}
	CHECK(hrt_store_open(&s, home, &err) == HRT_OK);
	if (!s)
		return;
	CHECK(hrt_store_import(s, gguf, "f", NULL, &err) == HRT_OK);
	struct hrt_store_model *m;
	CHECK(hrt_store_lookup(s, "f", &m, &err) == HRT_OK);
	if (!m) {
		hrt_store_close(s);
		return;
	}
	/* a temp file and a partial download are notes, not problems */
	char p[ST_PATH];
	snprintf(p, sizeof p, "%s/.tmp-abandoned", s->blobs);
	FILE *f = fopen(p, "wb");
	fclose(f);
	struct notes nt = { 0 };
	struct hrt_fsck_opts fo = { .report = on_report, .report_ctx = &nt };
	size_t np = 9;
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 0);
	/* a blob whose bytes changed under its name */
	chmod(m->weights_path, 0644);
	int fd = open(m->weights_path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "XXXX", 4, 100) == 4);
	close(fd);
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 1 && strstr(nt.last, "corrupt"));
	fo.quick = true; /* sizes only: the change is invisible */
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 0);
	fo.quick = false;
	fo.repair = true;
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 1);
	CHECK(access(m->weights_path, F_OK) != 0 && access(p, F_OK) != 0);
	/* now the manifest points at a missing blob */
	fo.repair = false;
	nt.n = 0;
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 1 && strstr(nt.last, "missing"));
	struct hrt_store_model *m2;
	CHECK(hrt_store_lookup(s, "f", &m2, &err) == HRT_ENOTFOUND && strstr(err.msg, "fsck"));
	/* a manifest that is not JSON */
	struct hrt_name n;
	hrt_name_parse("broken", &n, NULL);
	CHECK(st_tag_write(s, &n, "{nope", 5, &err) == HRT_OK);
	CHECK(hrt_store_fsck(s, &fo, &np, &err) == HRT_OK && np == 2);
	size_t nr;
	CHECK(hrt_store_gc(s, 0, &nr, NULL, &err) == HRT_EFORMAT); /* refuses while unreadable */
	CHECK(hrt_store_delete(s, "broken", &err) == HRT_OK && hrt_store_delete(s, "f", &err) == HRT_OK);
	CHECK(hrt_store_gc(s, 0, &nr, NULL, &err) == HRT_OK);
	hrt_store_model_free(m);
	hrt_store_close(s);
}

/* what the admission hook saw, and what it answers */
struct admit_log {
	int calls;
	int answer;
	size_t n_docs;
	size_t n_bundles;
	char weights[65];
	bool path_ok;
};

static int admit_cb(void *ctx, const struct hrt_name *name, const char *weights_path,
		    const struct hrt_digest *weights, const struct hrt_store_doc *docs, size_t n_docs,
		    struct hrt_err *err)
{
	struct admit_log *a = ctx;
	a->calls++;
	a->n_docs = n_docs;
	a->n_bundles = 0;
	for (size_t i = 0; i < n_docs; i++)
		a->n_bundles += !strcmp(docs[i].media_type, HRT_MT_SIGSTORE_BUNDLE);
	snprintf(a->weights, sizeof a->weights, "%s", weights->hex);
	/* the path holds the verified bytes */
	char *b = NULL;
	size_t len = 0;
	struct hrt_digest d;
	a->path_ok = st_read_file(weights_path, (size_t)64 << 20, true, &b, &len, NULL) == HRT_OK;
	if (a->path_ok) {
		hrt_digest_of(b, len, &d);
		a->path_ok = !strcmp(d.hex, weights->hex);
	}
	free(b);
	if (a->answer)
		return HRT_ERR(err, a->answer, "refused by the test (%s)", name->model);
	return HRT_OK;
}

static size_t count_partial(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls '%s' 2>/dev/null | grep -c partial", dir);
	FILE *f = popen(cmd, "r");
	int n = 0;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		pclose(f);
	}
	return (size_t)n;
}

/* a copy of the layout at src in dst with one more layer in its (only)
 * manifest: a DSSE record of `size` bytes */
static bool layout_with_big_record(const char *src, const char *dst, size_t size)
{
	char cmd[800], p[ST_PATH], *buf = NULL;
	size_t len;
	bool ok = false;
	struct st_index ix = { 0 };
	struct st_manifest *m = calloc(1, sizeof *m);
	char *big = calloc(1, size), *mb = NULL, *ib = NULL;
	size_t ml, il;
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dst, src, dst);
	if (!m || !big || system(cmd) != 0)
		goto out;
	snprintf(p, sizeof p, "%s/index.json", dst);
	if (st_read_file(p, 1 << 20, true, &buf, &len, NULL) || st_index_parse(buf, len, &ix, NULL) ||
	    ix.n != 1)
		goto out;
	free(buf);
	buf = NULL;
	snprintf(p, sizeof p, "%s/blobs/sha256/%s", dst, ix.m[0].digest.hex);
	if (st_read_file(p, 1 << 20, true, &buf, &len, NULL) ||
	    st_manifest_parse(buf, len, ST_OCI, m, NULL))
		goto out;
	memset(big, '{', size);
	struct st_desc *d = &m->layers[m->n_layers++];
	memset(d, 0, sizeof *d);
	snprintf(d->media_type, sizeof d->media_type, "%s", HRT_MT_DSSE);
	d->size = size;
	hrt_digest_of(big, size, &d->digest);
	snprintf(p, sizeof p, "%s/blobs/sha256/%s", dst, d->digest.hex);
	if (st_write_atomic(p, big, size, NULL) || st_manifest_build(m, &mb, &ml, NULL))
		goto out;
	hrt_digest_of(mb, ml, &ix.m[0].digest);
	ix.m[0].size = ml;
	snprintf(p, sizeof p, "%s/blobs/sha256/%s", dst, ix.m[0].digest.hex);
	if (st_write_atomic(p, mb, ml, NULL) || st_index_build(&ix, &ib, &il, NULL))
		goto out;
	snprintf(p, sizeof p, "%s/index.json", dst);
	ok = st_write_atomic(p, ib, il, NULL) == HRT_OK;
out:
	st_index_free(&ix);
	free(buf);
	free(big);
	free(mb);
	free(ib);
	free(m);
	return ok;
}

static void test_docs(void)
{
	/* the store's names for the media types are prov's */
	CHECK(!strcmp(HRT_MT_DSSE, HRT_PROV_MEDIA_DSSE));
	CHECK(!strcmp(HRT_MT_SIGSTORE_BUNDLE, HRT_PROV_MEDIA_OMS));
	if (!gguf[0] || access(gguf, R_OK) != 0) {
		t_skip("no synthetic model");
		return;
	}
	char h1[300], h2[300], lay[300], lay2[300];
	snprintf(h1, sizeof h1, "%s/docs-a", tmp);
	snprintf(h2, sizeof h2, "%s/docs-b", tmp);
	snprintf(lay, sizeof lay, "%s/docs-layout", tmp);
	snprintf(lay2, sizeof lay2, "%s/docs-layout-big", tmp);
	struct hrt_store *s, *s2;
	struct hrt_err err = { 0 };
	CHECK(hrt_store_open(&s, h1, &err) == HRT_OK && hrt_store_open(&s2, h2, &err) == HRT_OK);
	if (!s || !s2)
		return;
	static const char e1[] = "{\"payloadType\":\"one\"}", e2[] = "{\"payloadType\":\"two\"}";
	static const char b1[] = "{\"bundle\":1}", b2[] = "{\"bundle\":2}";
	struct hrt_store_doc docs[3] = {
		{ HRT_MT_DSSE, e1, sizeof e1 - 1 },
		{ HRT_MT_SIGSTORE_BUNDLE, b1, sizeof b1 - 1 },
		{ HRT_MT_DSSE, e1, sizeof e1 - 1 }, /* twice: kept once */
	};
	struct hrt_store_opts o = { .docs = docs, .n_docs = 3 };
	CHECKF(hrt_store_import(s, gguf, "signed", &o, &err) == HRT_OK, "%s", err.msg);
	struct hrt_store_docs got;
	struct hrt_digest w;
	CHECKF(hrt_store_docs_read(s, "signed", &got, &w, &err) == HRT_OK, "%s", err.msg);
	CHECK(got.n == 2);
	if (got.n == 2) {
		CHECK(got.v[0].len == sizeof e1 - 1 && !memcmp(got.v[0].bytes, e1, got.v[0].len) &&
		      !strcmp(got.v[0].media_type, HRT_MT_DSSE));
		CHECK(!strcmp(got.v[1].media_type, HRT_MT_SIGSTORE_BUNDLE));
	}
	hrt_store_docs_free(&got);
	/* layers: role and file path beside the weights; not in diffIds */
	char *mbuf = NULL, *cbuf = NULL;
	size_t ml, cl;
	struct st_manifest *m = calloc(1, sizeof *m);
	CHECK(hrt_store_manifest_read(s, "signed", &mbuf, &ml, &err) == HRT_OK);
	CHECK(m && mbuf && st_manifest_parse(mbuf, ml, ST_OCI, m, &err) == HRT_OK);
	if (m && mbuf) {
		size_t nd = 0;
		for (size_t i = 0; i < m->n_layers; i++) {
			if (!st_is_doc(&m->layers[i]))
				continue;
			nd++;
			CHECK(!strcmp(m->layers[i].role, "provenance"));
			CHECK(strstr(m->layers[i].filepath, ".gguf.hearth-prov/") != NULL);
		}
		CHECK(nd == 2 && !strcmp(m->layers[m->weights].digest.hex, w.hex));
		CHECK(st_blob_read(s, &m->config.digest, m->config.size, 1 << 20, &cbuf, &cl, &err) == HRT_OK);
		for (size_t i = 0; cbuf && i < m->n_layers; i++)
			CHECK(!strstr(cbuf, m->layers[i].digest.hex) == st_is_doc(&m->layers[i]));
	}
	free(cbuf);
	free(mbuf);
	/* without records: the same config as before this feature */
	CHECK(hrt_store_import(s, gguf, "plain", NULL, &err) == HRT_OK);
	struct hrt_store_model *sm = NULL;
	CHECK(hrt_store_lookup(s, "plain", &sm, &err) == HRT_OK && sm && sm->n_docs == 0);
	hrt_store_model_free(sm);
	CHECK(hrt_store_docs_read(s, "plain", &got, NULL, &err) == HRT_OK && got.n == 0);
	hrt_store_docs_free(&got);
	/* add: a known one changes nothing, a new envelope is added, a new
	 * bundle replaces the old; the ID changes */
	struct hrt_digest id0, id1;
	CHECK(hrt_store_docs_add(s, "signed", docs, 1, &id0, &err) == HRT_OK);
	struct hrt_store_doc more[2] = { { HRT_MT_DSSE, e2, sizeof e2 - 1 },
					 { HRT_MT_SIGSTORE_BUNDLE, b2, sizeof b2 - 1 } };
	CHECK(hrt_store_docs_add(s, "signed", more, 2, &id1, &err) == HRT_OK);
	CHECK(strcmp(id0.hex, id1.hex) != 0);
	CHECK(hrt_store_docs_read(s, "signed", &got, NULL, &err) == HRT_OK && got.n == 3);
	for (size_t i = 0; i < got.n; i++)
		if (!strcmp(got.v[i].media_type, HRT_MT_SIGSTORE_BUNDLE))
			CHECK(got.v[i].len == sizeof b2 - 1 && !memcmp(got.v[i].bytes, b2, got.v[i].len));
	hrt_store_docs_free(&got);
	CHECK(hrt_store_lookup(s, "signed", &sm, &err) == HRT_OK && sm && sm->n_docs == 3 &&
	      sm->weights_file[0]);
	hrt_store_model_free(sm);
	/* hostile records: refused, nothing changes */
	struct hrt_store_doc bad[3] = { { "text/plain", e1, sizeof e1 - 1 },
					{ HRT_MT_DSSE, e1, 0 },
					{ HRT_MT_DSSE, e1, HRT_STORE_DOC_MAX + 1 } };
	CHECK(hrt_store_docs_add(s, "signed", &bad[0], 1, NULL, &err) == HRT_EINVAL);
	CHECK(hrt_store_docs_add(s, "signed", &bad[1], 1, NULL, &err) == HRT_ERANGE);
	CHECK(hrt_store_docs_add(s, "signed", &bad[2], 1, NULL, &err) == HRT_ERANGE);
	CHECK(hrt_store_docs_add(s, "absent", more, 1, NULL, &err) == HRT_ENOTFOUND);
	struct hrt_store_opts ob = { .docs = &bad[0], .n_docs = 1 };
	CHECK(hrt_store_import(s, gguf, "bad", &ob, &err) == HRT_EINVAL);
	CHECK(hrt_store_lookup(s, "bad", &sm, &err) == HRT_ENOTFOUND);
	/* create FROM the model keeps its records (same weights) */
	const char *mf = "FROM signed\nPARAMETER temperature 0.5\n";
	CHECK(hrt_store_create_text(s, "derived", mf, strlen(mf), tmp, NULL, &err) == HRT_OK);
	CHECK(hrt_store_lookup(s, "derived", &sm, &err) == HRT_OK && sm && sm->n_docs == 3);
	hrt_store_model_free(sm);

	/* the admission hook of a pull: sees the weights and the records
	 * before anything is named; a refusal publishes nothing */
	CHECKF(hrt_store_export(s, "signed", lay, NULL, &err) == HRT_OK, "%s", err.msg);
	char src[400];
	snprintf(src, sizeof src, "oci:%s", lay);
	struct admit_log al = { .answer = HRT_EINVAL };
	struct hrt_store_opts oa = { .admit = admit_cb, .admit_ctx = &al };
	size_t nb = count_files(s2->blobs);
	CHECK(hrt_store_pull(s2, src, "pulled", &oa, &err) == HRT_EINVAL && strstr(err.msg, "by the test"));
	CHECK(al.calls == 1 && al.n_docs == 3 && al.n_bundles == 1 && !strcmp(al.weights, w.hex) &&
	      al.path_ok);
	CHECK(hrt_store_lookup(s2, "pulled", &sm, &err) == HRT_ENOTFOUND);
	CHECK(count_files(s2->blobs) == nb && count_partial(s2->blobs) == 0);
	al.answer = HRT_OK;
	CHECKF(hrt_store_pull(s2, src, "pulled", &oa, &err) == HRT_OK, "%s", err.msg);
	CHECK(al.calls == 2 && hrt_store_docs_read(s2, "pulled", &got, NULL, &err) == HRT_OK && got.n == 3);
	hrt_store_docs_free(&got);
	/* a record layer over the size cap: refused before the hook runs
	 * when there is one; carried as any layer when there is none */
	if (layout_with_big_record(lay, lay2, HRT_STORE_DOC_MAX + 1)) {
		snprintf(src, sizeof src, "oci:%s", lay2);
		CHECK(hrt_store_pull(s2, src, "big", &oa, &err) == HRT_ERANGE && al.calls == 2);
		CHECK(hrt_store_lookup(s2, "big", &sm, &err) == HRT_ENOTFOUND);
		CHECKF(hrt_store_pull(s2, src, "big", NULL, &err) == HRT_OK, "%s", err.msg);
		CHECK(hrt_store_docs_read(s2, "big", &got, NULL, &err) == HRT_ERANGE);
	} else {
		CHECKF(0, "could not build the layout with a big record");
	}
	size_t np = 9;
	CHECK(hrt_store_fsck(s2, NULL, &np, &err) == HRT_OK && np == 0);
	CHECK(hrt_store_fsck(s, NULL, &np, &err) == HRT_OK && np == 0);
	free(m);
	hrt_store_close(s2);
	hrt_store_close(s);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/hearth-test-store-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(home, sizeof home, "%s/home", tmp);
	RUN(test_digest);
	RUN(test_names);
	RUN(test_params);
	RUN(test_modelfile);
	RUN(test_manifest);
	RUN(test_index_config_settings);
	RUN(test_member_names);
	RUN(test_challenge);
	RUN(test_url_name);
	RUN(test_blob_writer);
	RUN(test_import_lookup);
	RUN(test_fsck);
	RUN(test_docs);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", tmp, tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return t_done();
}
