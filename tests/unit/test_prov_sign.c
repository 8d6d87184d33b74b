/*
 * tests/unit/test_prov_sign — keys, DSSE, statements, OMS bundles,
 * records and verification: tampered weights, tampered metadata, a
 * tampered record, the wrong key, an untrusted key, an expired key and an
 * expired record are each refused with the right reason; a signed chain
 * (parent signed, child signed with --parent) passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "prov/prov.h"
#include "prov/prov_int.h"
#include "t.h"
#include "test_prov_fixtures.h"

static char dir[256];
static char base[512];
static bool ready;
static struct hrt_prov_key alice, bob;

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

static void rm_rf(const char *p)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
	if (system(cmd)) {
	}
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
	snprintf(dir, sizeof dir, "/tmp/hearth-prov-sign-XXXXXX");
	if (!mkdtemp(dir))
		return;
	ready = true;
}

static bool need(void)
{
	if (!ready) {
		t_skip("../shared/models/stories260K.gguf not found");
		return false;
	}
	return true;
}

/* a fresh signed copy of the base at dir/name */
static int signed_copy(const char *name, const struct hrt_prov_key *k, int64_t expires,
		       char *out, size_t cap)
{
	struct hrt_err err = { 0 };
	snprintf(out, cap, "%s/%s", dir, name);
	char rd[700];
	snprintf(rd, sizeof rd, "%s.hearth-prov", out);
	rm_rf(rd);
	if (copy_file(base, out))
		return -1;
	struct hrt_prov_sign_opts o = { .key = k, .license = "MIT", .expires = expires,
					.n_threads = 2 };
	if (hrt_prov_sign(out, &o, NULL, &err)) {
		fprintf(stderr, "sign: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static enum hrt_prov_reason verify_with(const char *path, const struct hrt_prov_key *k,
					bool explicit_key, bool *ok)
{
	struct hrt_prov_trust t = { 0 };
	struct hrt_err err = { 0 };
	struct hrt_prov_report rep;
	struct hrt_prov_verified v;
	hrt_prov_trust_add(&t, k, &err);
	struct hrt_prov_verify_opts o = { .trust = &t, .explicit_key = explicit_key };
	hrt_prov_report_init(&rep);
	int rc = hrt_prov_verify(path, &o, &v, &rep, &err);
	*ok = !rc && v.ok;
	enum hrt_prov_reason r = rc ? HRT_PR_BAD_FILE : rep.reason;
	if (getenv("HEARTH_TEST_VERBOSE"))
		hrt_prov_report_print(stdout, &rep);
	hrt_prov_verified_free(&v);
	hrt_prov_report_free(&rep);
	hrt_prov_trust_free(&t);
	return r;
}

/* ------------------------------------------------------------ tests */

static void test_pae_vector(void)
{
	/* the example of the DSSE protocol document */
	uint8_t *p = NULL;
	size_t n = 0;
	CHECK(!hrt_dsse_pae("http://example.com/HelloWorld", (const uint8_t *)"hello world", 11,
			    &p, &n, NULL));
	const char *want = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	CHECK(n == strlen(want) && !memcmp(p, want, n));
	free(p);
}

/* the bulk SHA-256 (OpenSSL when loadable) agrees with libsodium's */
static void test_sha_backends(void)
{
	size_t n = 3 * 1000 * 1000 + 7;
	uint8_t *b = malloc(n);
	if (!b)
		return;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 9));
	static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 65, 1000, 3000007 };
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		uint8_t x[32], y[32];
		prov_sha256(b, lens[k], x);
		crypto_hash_sha256(y, b, lens[k]);
		CHECKF(!memcmp(x, y, 32), "length %zu differs (%s)", lens[k], prov_sha_backend());
		struct prov_sha st;
		prov_sha_init(&st);
		for (size_t o = 0; o < lens[k]; o += 4099)
			prov_sha_update(&st, b + o, lens[k] - o < 4099 ? lens[k] - o : 4099);
		prov_sha_final(&st, x);
		CHECK(!memcmp(x, y, 32));
	}
	printf("INFO bulk SHA-256 backend: %s\n", prov_sha_backend());
	free(b);
}

static void test_keys(void)
{
	struct hrt_err err = { 0 };
	char kd[300];
	if (!need())
		return;
	snprintf(kd, sizeof kd, "%s/keys", dir);
	CHECK(!hrt_prov_key_save(&alice, kd, &err));
	CHECK(hrt_prov_key_save(&alice, kd, &err) != 0); /* never overwrites a secret */
	char p[400];
	struct hrt_prov_key k;
	snprintf(p, sizeof p, "%s/alice.key", kd);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0077) == 0);
	CHECK(!hrt_prov_key_load(p, &k, &err) && k.has_secret && !strcmp(k.keyid, alice.keyid));
	snprintf(p, sizeof p, "%s/alice.pub", kd);
	CHECK(!hrt_prov_key_load(p, &k, &err) && !k.has_secret && !strcmp(k.keyid, alice.keyid));
	snprintf(p, sizeof p, "%s/alice.pub.pem", kd);
	CHECK(!hrt_prov_key_load(p, &k, &err) && !memcmp(k.pk, alice.pk, 32));
	/* keyid = SHA-256 of the public key */
	uint8_t h[32];
	char hex[65];
	crypto_hash_sha256(h, alice.pk, 32);
	hrt_prov_hex(h, 32, hex);
	CHECK(!strcmp(hex, alice.keyid));
	/* a key file whose keyid lies, and junk, are refused */
	const char *bad = "{\"type\":\"hearth-ed25519-public-v1\",\"keyid\":\"00\",\"public\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
	CHECK(hrt_prov_key_parse(bad, strlen(bad), &k, &err) != 0);
	CHECK(hrt_prov_key_parse("{}", 2, &k, &err) != 0);
	CHECK(hrt_prov_key_parse("[", 1, &k, &err) != 0);
	struct hrt_prov_trust t = { 0 };
	CHECK(!hrt_prov_trust_add_dir(&t, kd, &err) && t.n == 1 && !t.keys[0].has_secret);
	hrt_prov_trust_free(&t);
}

static void test_dsse_roundtrip(void)
{
	struct hrt_err err = { 0 };
	const char *msg = "{\"x\":1}";
	char *env = NULL;
	CHECK(!hrt_dsse_sign(HRT_INTOTO_PAYLOAD, (const uint8_t *)msg, strlen(msg), &alice, &env,
			     &err));
	struct hrt_dsse e;
	CHECK(env && !hrt_dsse_parse(env, strlen(env), &e, &err));
	CHECK(e.payload_len == strlen(msg) && !memcmp(e.payload, msg, e.payload_len));
	CHECK(hrt_dsse_verify(&e, &alice) == 0);
	CHECK(hrt_dsse_verify(&e, &bob) < 0);
	e.payload[2] ^= 1;
	CHECK(hrt_dsse_verify(&e, &alice) < 0);
	hrt_dsse_free(&e);
	/* strictness */
	static const char *const bad[] = {
		"{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[]}",
		"{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"}],\"x\":1}",
		"{\"payload\":\"!!\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		"{\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"}]} x",
		"{\"payload\":\"e30=\",\"payload\":\"e30=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECKF(hrt_dsse_parse(bad[i], strlen(bad[i]), &e, &err) != 0, "accepted bad[%zu]", i);
	free(env);
}

static void test_statement(void)
{
	struct hrt_err err = { 0 };
	struct hrt_prov_claim *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
	snprintf(c->model_id, sizeof c->model_id, "hmid1:%064d", 0);
	memset(c->model_id + 6, 'a', 64);
	memset(c->file_sha256, 'b', 64);
	snprintf(c->file_name, sizeof c->file_name, "m.gguf");
	snprintf(c->license, sizeof c->license, "Apache-2.0 OR MIT");
	c->n_parents = 1;
	memcpy(c->parents[0].id, c->model_id, sizeof c->model_id);
	c->parents[0].id[10] = 'c';
	snprintf(c->parents[0].relation, sizeof c->parents[0].relation, "finetune");
	c->n_datasets = 1;
	snprintf(c->datasets[0].uri, sizeof c->datasets[0].uri, "https://example.org/d");
	c->created = 1700000000;
	char *s = NULL;
	CHECK(!hrt_prov_statement_build(c, &s, &err));
	CHECK(s && !hrt_prov_statement_parse((const uint8_t *)s, strlen(s), d, &err));
	CHECK(!strcmp(d->model_id, c->model_id) && !strcmp(d->license, c->license));
	CHECK(d->n_parents == 1 && !strcmp(d->parents[0].relation, "finetune"));
	CHECK(d->created == c->created);
	/* subject and predicate must agree; unknown keys refused */
	char *t = strdup(s);
	char *pos = strstr(t, "\"hearthmid1\":\"a");
	if (pos)
		pos[14] = 'f';
	CHECK(hrt_prov_statement_parse((const uint8_t *)t, strlen(t), d, &err) != 0);
	free(t);
	size_t n = strlen(s);
	t = malloc(n + 16);
	memcpy(t, s, n - 1);
	memcpy(t + n - 1, ",\"extra\":1}", 12);
	CHECK(hrt_prov_statement_parse((const uint8_t *)t, strlen(t), d, &err) != 0);
	free(t);
	free(s);
	free(c);
	free(d);
}

static void test_oms_bundle(void)
{
	struct hrt_err err = { 0 };
	uint8_t sha[32];
	for (int i = 0; i < 32; i++)
		sha[i] = (uint8_t)i;
	char *b = NULL;
	CHECK(!hrt_oms_bundle("model.gguf", sha, &alice, &b, &err));
	struct hrt_dsse e;
	struct hrt_oms_manifest *m = calloc(1, sizeof *m);
	CHECK(b && !hrt_oms_parse(b, strlen(b), &e, m, &err));
	CHECK(m->n == 1 && !strcmp(m->res[0].name, "model.gguf"));
	char hex[65];
	hrt_prov_hex(sha, 32, hex);
	CHECK(!strcmp(m->res[0].sha256, hex));
	CHECK(strstr((const char *)e.payload, HRT_OMS_PREDICATE) != NULL);
	CHECK(hrt_dsse_verify(&e, &alice) >= 0 && hrt_dsse_verify(&e, &bob) < 0);
	hrt_dsse_free(&e);
	free(m);
	free(b);
}

static void test_verify_ok_and_store_records(void)
{
	char p[600];
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("ok.gguf", &alice, 0, p, sizeof p));
	CHECK(verify_with(p, &alice, true, &ok) == HRT_PR_NONE && ok);
	/* a store hands records in from memory, with a digest it verified */
	struct hrt_prov_records rs = { 0 }, mine = { 0 };
	struct hrt_err err = { 0 };
	char rd[700];
	snprintf(rd, sizeof rd, "%s.hearth-prov", p);
	CHECK(!hrt_prov_records_load(&mine, rd, &err) && mine.n == 2);
	for (size_t i = 0; i < mine.n; i++)
		CHECK(!hrt_prov_records_add(&rs, mine.r[i].bytes, mine.r[i].len, mine.r[i].oms,
					    "store blob", &err));
	rm_rf(rd);
	struct hrt_prov_trust t = { 0 };
	hrt_prov_trust_add(&t, &alice, &err);
	uint8_t sha[32];
	CHECK(!hrt_prov_sha256_file(p, sha, NULL, &err));
	struct hrt_prov_verify_opts o = { .trust = &t, .records = &rs, .known_sha256 = sha };
	struct hrt_prov_report rep;
	struct hrt_prov_verified v;
	hrt_prov_report_init(&rep);
	CHECK(!hrt_prov_verify(p, &o, &v, &rep, &err) && v.ok);
	hrt_prov_verified_free(&v);
	hrt_prov_report_free(&rep);
	/* no records at all */
	CHECK(verify_with(p, &alice, true, &ok) == HRT_PR_NO_RECORD && !ok);
	hrt_prov_trust_free(&t);
	hrt_prov_records_free(&rs);
	hrt_prov_records_free(&mine);
}

static void test_tampered_weights(void)
{
	char p[600], tmp[700];
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("w.gguf", &alice, 0, p, sizeof p));
	snprintf(tmp, sizeof tmp, "%s.new", p);
	struct fx_opts o = { .kind = FX_TWEAK, .scale = 1e-3, .target = "blk.1.ffn_up.weight" };
	CHECK(!fx_make(base, tmp, &o) && !rename(tmp, p));
	enum hrt_prov_reason r = verify_with(p, &alice, false, &ok);
	CHECKF(r == HRT_PR_WEIGHTS_CHANGED && !ok, "reason %s", hrt_prov_reason_name(r));
}

static void test_tampered_metadata(void)
{
	char p[600], tmp[700];
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("m.gguf", &alice, 0, p, sizeof p));
	snprintf(tmp, sizeof tmp, "%s.new", p);
	struct fx_opts o = { .kind = FX_COPY };
	CHECK(!fx_make(base, tmp, &o) && !rename(tmp, p));
	enum hrt_prov_reason r = verify_with(p, &alice, false, &ok);
	CHECKF(r == HRT_PR_METADATA_CHANGED && !ok, "reason %s", hrt_prov_reason_name(r));
}

static void test_tampered_record(void)
{
	char p[600];
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("r.gguf", &alice, 0, p, sizeof p));
	/* re-encode the payload with another license, keep the signature */
	struct hrt_prov_records rs = { 0 };
	struct hrt_err err = { 0 };
	char rd[700];
	snprintf(rd, sizeof rd, "%s.hearth-prov", p);
	CHECK(!hrt_prov_records_load(&rs, rd, &err));
	for (size_t i = 0; i < rs.n; i++) {
		if (rs.r[i].oms)
			continue;
		cJSON *j = cJSON_ParseWithLength((const char *)rs.r[i].bytes, rs.r[i].len);
		cJSON *pl = cJSON_GetObjectItem(j, "payload");
		uint8_t *raw = NULL;
		size_t n = 0;
		CHECK(!prov_b64_decode(pl->valuestring, &raw, &n));
		char *s = calloc(1, n + 16);
		memcpy(s, raw, n);
		char *lic = strstr(s, "\"license\":\"MIT\"");
		CHECK(lic != NULL);
		if (lic)
			memcpy(lic, "\"license\":\"BSD\"", 15);
		char *enc = prov_b64_encode((const uint8_t *)s, n);
		cJSON_ReplaceItemInObject(j, "payload", cJSON_CreateString(enc));
		char *out = cJSON_Print(j);
		char path[800];
		snprintf(path, sizeof path, "%s", rs.r[i].origin);
		FILE *f = fopen(path, "w");
		fputs(out, f);
		fclose(f);
		free(out);
		free(enc);
		free(s);
		free(raw);
		cJSON_Delete(j);
	}
	/* refused although the OMS bundle still vouches for the bytes */
	enum hrt_prov_reason r = verify_with(p, &alice, false, &ok);
	CHECKF(r == HRT_PR_BAD_SIGNATURE && !ok, "reason %s", hrt_prov_reason_name(r));
	hrt_prov_records_free(&rs);
}

static void test_wrong_and_untrusted_key(void)
{
	char p[600];
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("k.gguf", &alice, 0, p, sizeof p));
	enum hrt_prov_reason r = verify_with(p, &bob, true, &ok);
	CHECKF(r == HRT_PR_WRONG_KEY && !ok, "reason %s", hrt_prov_reason_name(r));
	r = verify_with(p, &bob, false, &ok);
	CHECKF(r == HRT_PR_UNTRUSTED_KEY && !ok, "reason %s", hrt_prov_reason_name(r));
}

static void test_expired(void)
{
	char p[600];
	bool ok;
	if (!need())
		return;
	/* a record that expired */
	CHECK(!signed_copy("e1.gguf", &alice, 946684800 /* 2000-01-01 */, p, sizeof p));
	char rd[700];
	snprintf(rd, sizeof rd, "%s.hearth-prov/model.sig", p);
	unlink(rd);
	enum hrt_prov_reason r = verify_with(p, &alice, false, &ok);
	CHECKF(r == HRT_PR_RECORD_EXPIRED && !ok, "reason %s", hrt_prov_reason_name(r));
	/* a key that expired */
	struct hrt_prov_key old = alice;
	old.expires = 946684800;
	CHECK(!signed_copy("e2.gguf", &alice, 0, p, sizeof p));
	snprintf(rd, sizeof rd, "%s.hearth-prov/model.sig", p);
	unlink(rd);
	r = verify_with(p, &old, false, &ok);
	CHECKF(r == HRT_PR_KEY_EXPIRED && !ok, "reason %s", hrt_prov_reason_name(r));
	int64_t t;
	CHECK(!hrt_prov_parse_time("2000-01-01", &t) && t == 946684800);
	CHECK(!hrt_prov_parse_time("2024-02-29T12:00:00Z", &t));
	CHECK(hrt_prov_parse_time("2023-02-29", &t) != 0);
	CHECK(hrt_prov_parse_time("2024-13-01", &t) != 0);
	char s[21];
	hrt_prov_format_time(946684800, s);
	CHECK(!strcmp(s, "2000-01-01T00:00:00Z"));
}

static void test_chain(void)
{
	char parent[600], child[600], other[600];
	struct hrt_err err = { 0 };
	bool ok;
	if (!need())
		return;
	CHECK(!signed_copy("parent.gguf", &alice, 0, parent, sizeof parent));
	snprintf(child, sizeof child, "%s/child.gguf", dir);
	struct fx_opts fo = { .kind = FX_NOISE, .scale = 0.01, .seed = 9 };
	CHECK(!fx_make(base, child, &fo));
	struct hrt_prov_sign_opts o = { .key = &bob, .n_parents = 1, .n_threads = 2 };
	o.parent_paths[0] = parent;
	struct hrt_prov_claim *c = calloc(1, sizeof *c);
	CHECK(!hrt_prov_sign(child, &o, c, &err));
	CHECKF(c->n_parents == 1 && !strcmp(c->parents[0].relation, "finetune"),
	       "inferred relation %s", c->parents[0].relation);
	/* the child's folder carries the parent's record too */
	struct hrt_prov_records rs = { 0 };
	char rd[700];
	snprintf(rd, sizeof rd, "%s.hearth-prov", child);
	CHECK(!hrt_prov_records_load(&rs, rd, &err) && rs.n == 3);
	hrt_prov_records_free(&rs);
	struct hrt_prov_trust t = { 0 };
	hrt_prov_trust_add(&t, &alice, &err);
	hrt_prov_trust_add(&t, &bob, &err);
	struct hrt_prov_verify_opts vo = { .trust = &t };
	struct hrt_prov_report rep;
	struct hrt_prov_verified v;
	hrt_prov_report_init(&rep);
	CHECK(!hrt_prov_verify(child, &vo, &v, &rep, &err) && v.ok);
	CHECK(v.n_chain == 2);
	hrt_prov_verified_free(&v);
	hrt_prov_report_free(&rep);
	/* the weights must support a claimed parent */
	snprintf(other, sizeof other, "%s/other.gguf", dir);
	struct fx_opts ro = { .kind = FX_RANDOM, .seed = 77 };
	CHECK(!fx_make(base, other, &ro));
	o.parent_paths[0] = other;
	CHECK(hrt_prov_sign(child, &o, NULL, &err) != 0);
	CHECK(strstr(err.msg, "no relation") != NULL);
	(void)ok;
	hrt_prov_trust_free(&t);
	free(c);
}

int main(void)
{
	setup();
	RUN(test_pae_vector);
	RUN(test_sha_backends);
	RUN(test_keys);
	RUN(test_dsse_roundtrip);
	RUN(test_statement);
	RUN(test_oms_bundle);
	RUN(test_verify_ok_and_store_records);
	RUN(test_tampered_weights);
	RUN(test_tampered_metadata);
	RUN(test_tampered_record);
	RUN(test_wrong_and_untrusted_key);
	RUN(test_expired);
	RUN(test_chain);
	if (dir[0])
		rm_rf(dir);
	hrt_prov_key_wipe(&alice);
	hrt_prov_key_wipe(&bob);
	return t_done();
}
