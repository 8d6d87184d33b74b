/*
 * tests/unit/test_http — the server's parsers and security pieces without a
 * socket: the JSON depth pre-scan (100k brackets), body parsing, typed
 * getters and request options with hostile values, keep_alive durations,
 * chat messages, API key hashing and the keys file, roles and model
 * patterns, the rate limiter, and the audit chain (edited, removed,
 * reordered and cut-off lines are all detected).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "http/audit.h"
#include "http/auth.h"
#include "http/http_int.h"
#include "http/json.h"
#include "t.h"

static char tmpdir[256];

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/hearth-test-http-XXXXXX");
	if (!mkdtemp(tmpdir))
		tmpdir[0] = 0;
}

static void rm_tmp(void)
{
	char cmd[512];
	if (tmpdir[0] && snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir) < (int)sizeof cmd)
		if (system(cmd)) { /* best effort */ }
}

/* ---------------- JSON ---------------- */

static void test_depth_100k(void)
{
	size_t n = 100000;
	char *b = malloc(2 * n + 1);
	memset(b, '[', n);
	memset(b + n, ']', n);
	b[2 * n] = 0;
	struct hrt_err e;
	CHECK(hrt_http_json_depth(b, 2 * n, 64, &e) == HRT_EFORMAT);
	CHECK(strstr(e.msg, "deeper than 64") != NULL);
	cJSON *j = NULL;
	CHECK(hrt_http_json_parse(b, 2 * n, 64, &j, &e) == HRT_EFORMAT && !j);
	/* objects too, and mixed */
	for (size_t i = 0; i < n; i++)
		b[i] = i % 2 ? '{' : '[';
	CHECK(hrt_http_json_depth(b, n, 64, &e) == HRT_EFORMAT);
	free(b);
}

static void test_depth_strings(void)
{
	struct hrt_err e;
	/* brackets inside strings do not nest */
	const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
	CHECK(hrt_http_json_depth(s, strlen(s), 4, &e) == HRT_OK);
	/* an escaped quote does not end the string */
	const char *t = "{\"a\":\"\\\"[[[[[[[[[[\"}";
	CHECK(hrt_http_json_depth(t, strlen(t), 2, &e) == HRT_OK);
	/* just at the limit, and one over */
	CHECK(hrt_http_json_depth("[[[]]]", 6, 3, &e) == HRT_OK);
	CHECK(hrt_http_json_depth("[[[[]]]]", 8, 3, &e) == HRT_EFORMAT);
	/* unbalanced closers do not underflow */
	CHECK(hrt_http_json_depth("]]]]][[", 7, 2, &e) == HRT_OK);
}

static void test_parse_body(void)
{
	struct hrt_err e;
	cJSON *j = NULL;
	CHECK(hrt_http_json_parse("", 0, 64, &j, &e) == HRT_EFORMAT);
	CHECK(hrt_http_json_parse("[1,2]", 5, 64, &j, &e) == HRT_EFORMAT);
	CHECK(hrt_http_json_parse("{\"a\":1} x", 9, 64, &j, &e) == HRT_EFORMAT);
	CHECK(hrt_http_json_parse("{\"a\":", 5, 64, &j, &e) == HRT_EFORMAT);
	CHECK(hrt_http_json_parse("\x01\x02\xff", 3, 64, &j, &e) == HRT_EFORMAT);
	/* NUL inside the length is not a terminator to trust */
	CHECK(hrt_http_json_parse("{\"a\":1}\0{", 9, 64, &j, &e) == HRT_EFORMAT);
	CHECK(hrt_http_json_parse(" {\"a\": 1}\n", 10, 64, &j, &e) == HRT_OK && j);
	cJSON_Delete(j);
}

static void test_getters(void)
{
	struct hrt_err e;
	cJSON *j = cJSON_Parse("{\"i\":5,\"f\":1.5,\"s\":\"x\",\"b\":true,\"n\":null,\"big\":1e300,"
			       "\"neg\":-3,\"huge\":1e999}");
	int64_t v = 0;
	bool found;
	CHECK(hrt_http_json_int(j, "i", 0, 10, &v, &found, &e) == HRT_OK && v == 5 && found);
	CHECK(hrt_http_json_int(j, "f", 0, 10, &v, &found, &e) == HRT_EINVAL);
	CHECK(hrt_http_json_int(j, "s", 0, 10, &v, &found, &e) == HRT_EINVAL);
	CHECK(strstr(e.msg, "\"s\"") != NULL);
	CHECK(hrt_http_json_int(j, "big", 0, 10, &v, &found, &e) == HRT_EINVAL);
	CHECK(hrt_http_json_int(j, "neg", 0, 10, &v, &found, &e) == HRT_EINVAL);
	CHECK(hrt_http_json_int(j, "huge", 0, 10, &v, &found, &e) == HRT_EINVAL);
	v = 7;
	CHECK(hrt_http_json_int(j, "n", 0, 10, &v, &found, &e) == HRT_OK && !found && v == 7);
	CHECK(hrt_http_json_int(j, "missing", 0, 10, &v, &found, &e) == HRT_OK && !found);
	double d;
	CHECK(hrt_http_json_num(j, "huge", -1e9, 1e9, &d, &found, &e) == HRT_EINVAL);
	bool b;
	CHECK(hrt_http_json_bool(j, "i", &b, &found, &e) == HRT_EINVAL);
	CHECK(hrt_http_json_bool(j, "b", &b, &found, &e) == HRT_OK && b);
	const char *s;
	CHECK(hrt_http_json_str(j, "s", 0, &s, &found, &e) == HRT_EINVAL); /* too long */
	CHECK(hrt_http_json_str(j, "i", 10, &s, &found, &e) == HRT_EINVAL);
	cJSON_Delete(j);
}

static struct hrt_srv_opts lim(void)
{
	struct hrt_srv_opts o = { 0 };
	o.max_ctx = 1 << 20;
	return o;
}

static int opts_of(const char *json, struct hrt_gen_opts *o, struct hrt_err *e)
{
	cJSON *j = cJSON_Parse(json);
	struct hrt_srv_opts l = lim();
	hrt_gen_opts_init(o);
	int rc = hrt_req_ollama_options(j, &l, o, e);
	cJSON_Delete(j);
	return rc;
}

static void test_ollama_options(void)
{
	struct hrt_gen_opts o;
	struct hrt_err e;
	CHECK(opts_of("{\"temperature\":0.2,\"top_k\":5,\"num_predict\":7,\"num_ctx\":128,"
		      "\"stop\":[\"a\",\"b\"],\"seed\":42}", &o, &e) == HRT_OK);
	CHECK(o.sample.temperature > 0.19f && o.sample.temperature < 0.21f);
	CHECK(o.sample.top_k == 5 && o.num_predict == 7 && o.num_ctx == 128 && o.n_stops == 2);
	CHECK(o.sample.seed == 42);
	hrt_gen_opts_free(&o);
	static const char *const bad[] = {
		"{\"num_ctx\":-1}", "{\"num_ctx\":0}", "{\"num_ctx\":99999999999}",
		"{\"num_predict\":-5}", "{\"num_predict\":1e12}", "{\"temperature\":-1}",
		"{\"temperature\":\"hot\"}", "{\"top_p\":2}", "{\"top_k\":-3}",
		"{\"repeat_last_n\":-2}", "{\"stop\":5}", "{\"stop\":[1]}",
		"{\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
		"{\"seed\":1.5}", "[]",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++) {
		int rc = opts_of(bad[i], &o, &e);
		CHECKF(rc != HRT_OK, "accepted %s", bad[i]);
		hrt_gen_opts_free(&o);
	}
	/* -1 and -2: until the context ends */
	CHECK(opts_of("{\"num_predict\":-2}", &o, &e) == HRT_OK && o.num_predict == -1);
	hrt_gen_opts_free(&o);
	/* a server cap on num_predict */
	struct hrt_srv_opts l = lim();
	l.max_predict = 100;
	cJSON *j = cJSON_Parse("{\"num_predict\":101}");
	hrt_gen_opts_init(&o);
	CHECK(hrt_req_ollama_options(j, &l, &o, &e) == HRT_EINVAL);
	cJSON_Delete(j);
	hrt_gen_opts_free(&o);
}

static void test_openai_options(void)
{
	struct hrt_gen_opts o;
	struct hrt_err e;
	struct hrt_srv_opts l = lim();
	static const char *const bad[] = {
		"{\"temperature\":3}", "{\"n\":2}", "{\"max_tokens\":-1}", "{\"logprobs\":true}",
		"{\"response_format\":{\"type\":\"xml\"}}", "{\"response_format\":5}",
		"{\"presence_penalty\":9}",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++) {
		cJSON *j = cJSON_Parse(bad[i]);
		hrt_gen_opts_init(&o);
		CHECKF(hrt_req_openai_options(j, &l, &o, &e) != HRT_OK, "accepted %s", bad[i]);
		hrt_gen_opts_free(&o);
		cJSON_Delete(j);
	}
	cJSON *j = cJSON_Parse("{\"max_tokens\":9,\"stop\":\"x\",\"response_format\":{\"type\":\"json_object\"}}");
	hrt_gen_opts_init(&o);
	CHECK(hrt_req_openai_options(j, &l, &o, &e) == HRT_OK);
	CHECK(o.num_predict == 9 && o.n_stops == 1 && o.json);
	hrt_gen_opts_free(&o);
	cJSON_Delete(j);
}

static void test_keep_alive(void)
{
	struct hrt_err e;
	int64_t ns = 0;
	cJSON *j = cJSON_Parse("[\"5m\",\"1h30m\",\"300ms\",\"-1\",\"10\",60,-1,\"5x\",\"\",true,0]");
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 0), &ns, &e) == HRT_OK && ns == 300000000000LL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 1), &ns, &e) == HRT_OK && ns == 5400000000000LL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 2), &ns, &e) == HRT_OK && ns == 300000000LL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 3), &ns, &e) == HRT_OK && ns < 0);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 4), &ns, &e) == HRT_OK && ns == 10000000000LL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 5), &ns, &e) == HRT_OK && ns == 60000000000LL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 6), &ns, &e) == HRT_OK && ns < 0);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 7), &ns, &e) == HRT_EINVAL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 8), &ns, &e) == HRT_EINVAL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 9), &ns, &e) == HRT_EINVAL);
	CHECK(hrt_req_keep_alive(cJSON_GetArrayItem(j, 10), &ns, &e) == HRT_OK && ns == 0);
	cJSON_Delete(j);
}

static void test_model_name(void)
{
	struct hrt_err e;
	const char *m;
	cJSON *j = cJSON_Parse("{\"model\":\"granite:latest\"}");
	CHECK(hrt_req_model(j, &m, &e) == HRT_OK && !strcmp(m, "granite:latest"));
	cJSON_Delete(j);
	static const char *const bad[] = { "{}", "{\"model\":\"\"}", "{\"model\":5}",
					   "{\"model\":\"a\\nb\"}", "{\"model\":\"a\\\"b\"}" };
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++) {
		j = cJSON_Parse(bad[i]);
		CHECKF(hrt_req_model(j, &m, &e) != HRT_OK, "accepted %s", bad[i]);
		cJSON_Delete(j);
	}
	/* a 100 KB name */
	char *big = malloc(100050);
	strcpy(big, "{\"model\":\"");
	memset(big + 10, 'a', 100000);
	strcpy(big + 100010, "\"}");
	j = cJSON_Parse(big);
	CHECK(hrt_req_model(j, &m, &e) == HRT_EINVAL);
	cJSON_Delete(j);
	free(big);
}

static void test_messages(void)
{
	struct hrt_err e;
	struct hrt_req_msg *m;
	size_t n;
	cJSON *j = cJSON_Parse("[{\"role\":\"system\",\"content\":\"S\"},"
			       "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},"
			       "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
			       "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"x\\\":1}\"}}]},"
			       "{\"role\":\"tool\",\"content\":\"42\"}]");
	cJSON *tools = cJSON_Parse("[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"description\":\"d\"}}]");
	CHECK(hrt_req_messages(j, HRT_CHAT_GRANITE, tools, NULL, &m, &n, &e) == HRT_OK);
	CHECK(n == 4);
	if (n == 4) {
		CHECK(!strcmp(m[0].role, "system") && !strncmp(m[0].content, "S\n\n", 3));
		CHECK(strstr(m[0].content, "<|tool_call|>") && strstr(m[0].content, "\"get\""));
		CHECK(!strcmp(m[1].content, "a\nb"));
		CHECK(strstr(m[2].content, "<|tool_call|>[{\"name\": \"get\", \"arguments\": {\"x\":1}}]") != NULL);
		CHECK(!strcmp(m[3].role, "tool"));
	}
	hrt_req_messages_free(m, n);
	cJSON_Delete(j);
	/* no system message: the model's default and the tools make one */
	j = cJSON_Parse("[{\"role\":\"user\",\"content\":\"hi\"}]");
	CHECK(hrt_req_messages(j, HRT_CHAT_CHATML, tools, "DEF", &m, &n, &e) == HRT_OK && n == 2);
	if (n == 2)
		CHECK(!strncmp(m[0].content, "DEF\n\n# Tools", 12) && strstr(m[0].content, "<tool_call>"));
	hrt_req_messages_free(m, n);
	CHECK(hrt_req_messages(j, HRT_CHAT_CHATML, NULL, NULL, &m, &n, &e) == HRT_OK && n == 1);
	hrt_req_messages_free(m, n);
	cJSON_Delete(j);
	cJSON_Delete(tools);
	static const char *const bad[] = {
		"{}", "[5]", "[{\"role\":\"wizard\",\"content\":\"x\"}]", "[{\"content\":\"x\"}]",
		"[{\"role\":\"user\",\"content\":5}]",
		"[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]",
		"[{\"role\":\"user\",\"content\":\"x\",\"images\":[\"aGk=\"]}]",
		"[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{}}]}]",
	};
	for (size_t i = 0; i < HRT_ARRAY_LEN(bad); i++) {
		j = cJSON_Parse(bad[i]);
		CHECKF(hrt_req_messages(j, HRT_CHAT_RAW, NULL, NULL, &m, &n, &e) != HRT_OK, "accepted %s", bad[i]);
		cJSON_Delete(j);
	}
}

static void test_hostport(void)
{
	struct hrt_err e;
	char h[300];
	int p = 1;
	CHECK(hrt_srv_parse_hostport("0.0.0.0:8080", h, sizeof h, &p, &e) == HRT_OK && !strcmp(h, "0.0.0.0") && p == 8080);
	CHECK(hrt_srv_parse_hostport("[::1]:99", h, sizeof h, &p, &e) == HRT_OK && !strcmp(h, "::1") && p == 99);
	CHECK(hrt_srv_parse_hostport("http://localhost:7", h, sizeof h, &p, &e) == HRT_OK && !strcmp(h, "localhost") && p == 7);
	p = 5;
	CHECK(hrt_srv_parse_hostport("example.org", h, sizeof h, &p, &e) == HRT_OK && p == 5);
	CHECK(hrt_srv_parse_hostport(":1234", h, sizeof h, &p, &e) == HRT_OK && !strcmp(h, "0.0.0.0") && p == 1234);
	CHECK(hrt_srv_parse_hostport("a:99999", h, sizeof h, &p, &e) == HRT_EINVAL);
	CHECK(hrt_srv_parse_hostport("a b", h, sizeof h, &p, &e) == HRT_EINVAL);
	CHECK(hrt_srv_parse_hostport("[::1", h, sizeof h, &p, &e) == HRT_EINVAL);
	CHECK(hrt_srv_is_loopback("127.0.0.1") && hrt_srv_is_loopback("127.9.9.9") &&
	      hrt_srv_is_loopback("::1") && hrt_srv_is_loopback("localhost"));
	CHECK(!hrt_srv_is_loopback("0.0.0.0") && !hrt_srv_is_loopback("10.0.0.1") &&
	      !hrt_srv_is_loopback("::"));
}

/* ---------------- auth ---------------- */

static void test_auth_hash(void)
{
	char k1[HRT_AUTH_KEY_LEN + 1], k2[HRT_AUTH_KEY_LEN + 1];
	struct hrt_err e;
	CHECK(hrt_auth_new_key(k1, &e) == HRT_OK && hrt_auth_new_key(k2, &e) == HRT_OK);
	CHECK(strlen(k1) == HRT_AUTH_KEY_LEN && !strncmp(k1, "hk_", 3) && strcmp(k1, k2));
	char h1[68], h2[68], h3[68];
	hrt_auth_hash(k1, strlen(k1), h1);
	hrt_auth_hash(k1, strlen(k1), h2);
	hrt_auth_hash(k2, strlen(k2), h3);
	CHECK(!strcmp(h1, h2) && strcmp(h1, h3) && !strncmp(h1, "b2:", 3) && strlen(h1) == 67);
	CHECK(!strstr(h1, k1 + 3)); /* the hash does not contain the key */
	CHECK(hrt_auth_name_ok("alice") && hrt_auth_name_ok("ci-bot_1.x@corp"));
	CHECK(!hrt_auth_name_ok("") && !hrt_auth_name_ok("a b") && !hrt_auth_name_ok("a\tb") &&
	      !hrt_auth_name_ok("../x"));
}

static void test_auth_file(void)
{
	if (!tmpdir[0]) {
		t_skip("no temp dir");
		return;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/keys", tmpdir);
	unlink(path);
	struct hrt_err e;
	char ka[HRT_AUTH_KEY_LEN + 1], kb[HRT_AUTH_KEY_LEN + 1];
	CHECK(hrt_auth_file_add(path, "alice", HRT_ROLE_USER, "granite*,llama3", 0, ka, &e) == HRT_OK);
	CHECK(hrt_auth_file_add(path, "root", HRT_ROLE_ADMIN, NULL, 5, kb, &e) == HRT_OK);
	CHECK(hrt_auth_file_add(path, "alice", HRT_ROLE_USER, NULL, 0, kb, &e) == HRT_EINVAL);
	CHECK(hrt_auth_file_add(path, "bad name", HRT_ROLE_USER, NULL, 0, kb, &e) == HRT_EINVAL);
	CHECK(hrt_auth_file_add(path, "x", HRT_ROLE_USER, "a b", 0, kb, &e) == HRT_EINVAL);
	/* the file holds hashes only */
	size_t len;
	char *txt = t_slurp(path, &len);
	CHECK(txt && !strstr(txt, ka) && !strstr(txt, kb) && strstr(txt, "alice\tuser\t0\tgranite*,llama3\tb2:"));
	free(txt);
	struct hrt_auth *a;
	CHECK(hrt_auth_open(&a, path, &e) == HRT_OK);
	CHECK(hrt_auth_count(a) == 2);
	struct hrt_auth_ident id;
	CHECK(hrt_auth_check(a, ka, &id) == HRT_OK && !strcmp(id.name, "alice") && id.role == HRT_ROLE_USER);
	CHECK(hrt_auth_check(a, kb, &id) == HRT_OK && id.role == HRT_ROLE_ADMIN && id.rpm == 5);
	char wrong[HRT_AUTH_KEY_LEN + 1];
	memcpy(wrong, ka, sizeof wrong);
	wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
	CHECK(hrt_auth_check(a, wrong, &id) == HRT_ENOTFOUND);
	CHECK(hrt_auth_check(a, "", &id) == HRT_ENOTFOUND);
	CHECK(hrt_auth_check(a, "hk_short", &id) == HRT_ENOTFOUND);
	/* patterns */
	CHECK(hrt_auth_check(a, ka, &id) == HRT_OK);
	CHECK(hrt_auth_model_ok(&id, "granite") && hrt_auth_model_ok(&id, "granite-code:8b") &&
	      hrt_auth_model_ok(&id, "llama3:latest") && !hrt_auth_model_ok(&id, "llama3:8b") &&
	      !hrt_auth_model_ok(&id, "mistral"));
	/* removing a key takes effect in the open handle (the file is re-read) */
	usleep(20000);
	CHECK(hrt_auth_file_remove(path, "alice", &e) == HRT_OK);
	CHECK(hrt_auth_file_remove(path, "alice", &e) == HRT_ENOTFOUND);
	CHECK(hrt_auth_count(a) == 1 && hrt_auth_check(a, ka, &id) == HRT_ENOTFOUND);
	hrt_auth_free(a);
	/* a malformed file is refused with its line */
	FILE *f = fopen(path, "a");
	fputs("mallory\tgod\t0\t*\tb2:00\n", f);
	fclose(f);
	CHECK(hrt_auth_open(&a, path, &e) == HRT_EFORMAT && strstr(e.msg, ":3:"));
}

static void test_rate_limit(void)
{
	struct hrt_auth *a;
	struct hrt_err e;
	CHECK(hrt_auth_open(&a, "/nonexistent/keys", &e) == HRT_OK);
	if (!a)
		return;
	uint64_t t = 1000000000ull;
	for (int i = 0; i < 3; i++)
		CHECK(hrt_auth_rate_take(a, "k", 3, t) == 0);
	int w = hrt_auth_rate_take(a, "k", 3, t);
	CHECK(w > 0 && w <= 21);
	CHECK(hrt_auth_rate_take(a, "other", 3, t) == 0); /* per key */
	CHECK(hrt_auth_rate_take(a, "k", 3, t + 20000000000ull) == 0); /* refilled */
	CHECK(hrt_auth_rate_take(a, "k", 0, t) == 0); /* off */
	hrt_auth_free(a);
}

/* ---------------- audit ---------------- */

static int write_log(const char *path, int n)
{
	struct hrt_audit *a;
	struct hrt_err e;
	if (hrt_audit_open(&a, path, true, &e))
		return -1;
	for (int i = 0; i < n; i++) {
		char model[32];
		snprintf(model, sizeof model, "m%d", i);
		struct hrt_audit_rec r = { .key = "alice", .method = "POST", .route = "/api/chat",
					   .model = model, .digest = "sha256:00", .prompt_tokens = i,
					   .gen_tokens = 2 * i, .status = 200, .duration_ns = 1000,
					   .remote = "127.0.0.1", .prompt = "say \"hi\"\n" };
		if (hrt_audit_write(a, &r, &e)) {
			hrt_audit_close(a);
			return -1;
		}
	}
	hrt_audit_close(a);
	return 0;
}

/* rewrite the log with line `drop` removed, or line `edit` changed */
static void mutate(const char *path, int drop, int edit, int swap)
{
	size_t len;
	char *t = t_slurp(path, &len);
	if (!t)
		return;
	char *lines[64];
	int n = 0;
	for (char *p = t; *p && n < 64;) {
		lines[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	if (swap >= 0 && swap + 1 < n) {
		char *x = lines[swap];
		lines[swap] = lines[swap + 1];
		lines[swap + 1] = x;
	}
	FILE *f = fopen(path, "w");
	for (int i = 0; i < n; i++) {
		if (i == drop)
			continue;
		if (i == edit) {
			char *p = strstr(lines[i], "\"status\":200");
			if (p)
				p[9] = '4'; /* 200 -> 400 */
		}
		fprintf(f, "%s\n", lines[i]);
	}
	fclose(f);
	free(t);
}

static void test_audit_chain(void)
{
	if (!tmpdir[0]) {
		t_skip("no temp dir");
		return;
	}
	char path[512], cmd[1200];
	snprintf(path, sizeof path, "%s/audit.jsonl", tmpdir);
	CHECK(write_log(path, 5) == 0);
	uint64_t n = 0;
	struct hrt_err e;
	CHECK(hrt_audit_verify(path, &n, &e) == HRT_OK && n == 5);
	/* reopening continues the chain */
	CHECK(write_log(path, 2) == 0);
	CHECK(hrt_audit_verify(path, &n, &e) == HRT_OK && n == 7);
	size_t len;
	char *t = t_slurp(path, &len);
	CHECK(t && strstr(t, "\"prompt\":\"say \\\"hi\\\"\\n\"") && strstr(t, "\"seq\":7,"));
	free(t);
	/* each kind of tampering, on a fresh copy */
	struct { int drop, edit, swap; const char *what; } cases[] = {
		{ 3, -1, -1, "removed" }, { -1, 2, -1, "edited" }, { 6, -1, -1, "removed at the end" },
		{ 0, -1, -1, "first removed" }, { -1, -1, 1, "reordered" },
	};
	char copy[600];
	snprintf(copy, sizeof copy, "%s/c.jsonl", tmpdir);
	for (size_t i = 0; i < HRT_ARRAY_LEN(cases); i++) {
		snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s.key' '%s.key' && cp '%s.head' '%s.head'",
			 path, copy, path, copy, path, copy);
		CHECK(system(cmd) == 0);
		mutate(copy, cases[i].drop, cases[i].edit, cases[i].swap);
		int rc = hrt_audit_verify(copy, &n, &e);
		CHECKF(rc == HRT_EFORMAT, "%s line not detected", cases[i].what);
	}
	/* without the key file nothing can be verified */
	snprintf(cmd, sizeof cmd, "rm -f '%s.key'", copy);
	CHECK(system(cmd) == 0);
	CHECK(hrt_audit_verify(copy, &n, &e) != HRT_OK);
}

int main(void)
{
	mk_tmp();
	RUN(test_depth_100k);
	RUN(test_depth_strings);
	RUN(test_parse_body);
	RUN(test_getters);
	RUN(test_ollama_options);
	RUN(test_openai_options);
	RUN(test_keep_alive);
	RUN(test_model_name);
	RUN(test_messages);
	RUN(test_hostport);
	RUN(test_auth_hash);
	RUN(test_auth_file);
	RUN(test_rate_limit);
	RUN(test_audit_chain);
	rm_tmp();
	return t_done();
}
