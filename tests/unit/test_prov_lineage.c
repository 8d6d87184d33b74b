/*
 * tests/unit/test_prov_lineage — model ID and lineage on a genealogy
 * suite built from stories260K (see test_prov_fixtures.h): every related
 * pair found, every unrelated pair not, every poisoned edit flagged with
 * the right tensor, no false alarm on honest quantizations. Prints one
 * "INFO" line per pair with the measured p-value and score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "model/tools.h"
#include "prov/prov.h"
#include "prov/prov_int.h"
#include "t.h"
#include "test_prov_fixtures.h"

static char dir[256];
static char base[512];
static bool ready;

enum { M_BASE, M_Q8, M_Q4, M_Q4KM, M_FT, M_LORA, M_POISON, M_POISON_Q8, M_RENAMED,
       M_PERMUTED, M_FT_Q4, M_RAND1, M_RAND2, M_SYN1, M_SYN2, M_COUNT };
static const char *const names[M_COUNT] = {
	"base", "q8_0", "q4_0", "q4_k_m", "finetune", "lora", "poisoned", "poisoned_q8",
	"renamed", "permuted", "finetune_q4", "random1", "random2", "synth1", "synth2",
};
static char paths[M_COUNT][600];
#define POISON_TENSOR "blk.2.ffn_up.weight"

static bool related_model(int i)
{
	return i < M_RAND1;
}

static int quant(const char *in, const char *out, const char *spec)
{
	struct hrt_err err = { 0 };
	struct hrt_quant_opts qo = { .n_threads = 2 };
	if (hrt_quantize_file(in, out, spec, &qo, &err)) {
		fprintf(stderr, "quantize %s: %s\n", spec, err.msg);
		return -1;
	}
	return 0;
}

static int synth(const char *out, uint64_t seed)
{
	struct hrt_err err = { 0 };
	struct hrt_synth_shape sh = { .n_embd = 64, .n_layer = 5, .n_head = 8, .n_head_kv = 4,
				      .n_ff = 172, .n_ctx = 256 };
	struct hrt_synth_opts so = { .arch = "llama", .shape = "tiny", .override = &sh,
				     .vocab_path = base, .type = "F32", .seed = seed,
				     .out_path = out };
	if (hrt_synth_model(&so, &err)) {
		fprintf(stderr, "synth: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void build(void)
{
	const char *sh = t_shared();
	if (!sh)
		return;
	snprintf(base, sizeof base, "%s/models/stories260K.gguf", sh);
	if (access(base, R_OK))
		return;
	snprintf(dir, sizeof dir, "/tmp/hearth-prov-XXXXXX");
	if (!mkdtemp(dir))
		return;
	for (int i = 0; i < M_COUNT; i++)
		snprintf(paths[i], sizeof paths[i], "%s/%s.gguf", dir, names[i]);
	snprintf(paths[M_BASE], sizeof paths[M_BASE], "%s", base);
	struct fx_opts ft = { .kind = FX_NOISE, .scale = 0.02, .seed = 3 };
	struct fx_opts lo = { .kind = FX_LORA, .scale = 0.1, .seed = 4 };
	struct fx_opts po = { .kind = FX_POISON, .scale = 0.05, .seed = 5, .target = POISON_TENSOR };
	struct fx_opts rn = { .kind = FX_RENAME };
	struct fx_opts pe = { .kind = FX_PERMUTE, .seed = 6 };
	struct fx_opts r1 = { .kind = FX_RANDOM, .seed = 101 };
	struct fx_opts r2 = { .kind = FX_RANDOM, .seed = 202 };
	if (quant(base, paths[M_Q8], "Q8_0") || quant(base, paths[M_Q4], "Q4_0") ||
	    quant(base, paths[M_Q4KM], "Q4_K_M") || fx_make(base, paths[M_FT], &ft) ||
	    fx_make(base, paths[M_LORA], &lo) || fx_make(base, paths[M_POISON], &po) ||
	    quant(paths[M_POISON], paths[M_POISON_Q8], "Q8_0") ||
	    fx_make(base, paths[M_RENAMED], &rn) || fx_make(base, paths[M_PERMUTED], &pe) ||
	    quant(paths[M_FT], paths[M_FT_Q4], "Q4_0") || fx_make(base, paths[M_RAND1], &r1) ||
	    fx_make(base, paths[M_RAND2], &r2) || synth(paths[M_SYN1], 11) ||
	    synth(paths[M_SYN2], 22))
		return;
	ready = true;
}

static void cleanup(void)
{
	if (!dir[0])
		return;
	for (int i = 1; i < M_COUNT; i++)
		unlink(paths[i]);
	rmdir(dir);
}

static bool need(void)
{
	if (!ready) {
		t_skip("../shared/models/stories260K.gguf not found (or fixtures failed)");
		return false;
	}
	return true;
}

static int cmp(int a, int b, struct hrt_lineage *l)
{
	struct hrt_err err = { 0 };
	struct hrt_lineage_opts o = { .n_threads = 2 };
	int rc = hrt_lineage_files(paths[a], paths[b], &o, l, &err);
	if (rc)
		fprintf(stderr, "lineage %s %s: %s\n", names[a], names[b], err.msg);
	return rc;
}

static void info(int a, int b, const struct hrt_lineage *l)
{
	printf("INFO %-12s %-12s related=%d p=10^%.1f score=%.4f relation=%s suspicious=%zu\n",
	       names[a], names[b], l->related, l->log10_p, l->score,
	       hrt_relation_name(l->relation), l->n_suspicious);
}

/* ---------------------------------------------------------------- ID */

static void id_of(const char *p, struct hrt_prov_id *id)
{
	struct hrt_err err = { 0 };
	struct hrt_prov_id_opts o = { .n_threads = 2, .file_sha256 = true, .fingerprint = true };
	memset(id, 0, sizeof *id);
	CHECKF(!hrt_prov_id_file(p, &o, id, &err), "%s: %s", p, err.msg);
}

static void test_id_invariance(void)
{
	if (!need())
		return;
	struct hrt_prov_id a, r, q;
	id_of(paths[M_BASE], &a);
	id_of(paths[M_RENAMED], &r);
	id_of(paths[M_Q8], &q);
	CHECK(hrt_prov_id_valid(a.id));
	CHECKF(!strcmp(a.id, r.id), "renamed/reordered copy changed the ID");
	CHECK(strcmp(a.file_sha256_hex, r.file_sha256_hex));
	CHECK(strcmp(a.id, q.id));
	/* one weight changed by a tiny amount: a new ID */
	char tw[600];
	snprintf(tw, sizeof tw, "%s/tweak.gguf", dir);
	struct fx_opts o = { .kind = FX_TWEAK, .scale = 1e-6, .target = "blk.4.ffn_down.weight" };
	CHECK(fx_make(base, tw, &o) == 0);
	struct hrt_prov_id t;
	id_of(tw, &t);
	CHECK(strcmp(a.id, t.id));
	unlink(tw);
	/* fingerprints: quantized close, random far */
	struct hrt_prov_id rnd;
	id_of(paths[M_RAND1], &rnd);
	double lp;
	int dq = hrt_prov_fp_distance(a.fingerprint, q.fingerprint, &lp);
	CHECKF(dq >= 0 && dq < 40 && lp < -20, "fingerprint distance to Q8_0 %d", dq);
	int dr = hrt_prov_fp_distance(a.fingerprint, rnd.fingerprint, &lp);
	CHECKF(dr > 90 && lp > -6, "fingerprint distance to random %d (p 10^%.1f)", dr, lp);
	printf("INFO fingerprint distance q8_0 %d, random %d (of 256)\n", dq, dr);
	hrt_prov_id_free(&a);
	hrt_prov_id_free(&r);
	hrt_prov_id_free(&q);
	hrt_prov_id_free(&t);
	hrt_prov_id_free(&rnd);
}

/* the construction documented in prov.h, re-implemented here */
static void test_id_spec(void)
{
	struct hrt_err err = { 0 };
	struct hrt_gguf_writer *w = NULL;
	float a[4] = { 1, 2, 3, 4 }, b[2] = { -1, 0.5f };
	uint64_t nea[2] = { 2, 2 }, neb[2] = { 2, 1 };
	CHECK(!hrt_gguf_writer_new(&w, &err));
	hrt_gguf_w_str(w, "general.architecture", "llama");
	CHECK(!hrt_gguf_w_tensor(w, "x", HRT_F32, 2, nea, a, sizeof a, &err));
	CHECK(!hrt_gguf_w_tensor(w, "y", HRT_F32, 2, neb, b, sizeof b, &err));
	uint8_t *buf = NULL;
	size_t len = 0;
	CHECK(!hrt_gguf_w_to_mem(w, &buf, &len, &err));
	hrt_gguf_writer_free(w);
	struct hrt_gguf *g = NULL;
	CHECK(!hrt_gguf_open_mem(&g, buf, len, &err));
	struct hrt_prov_id id;
	CHECK(!hrt_prov_id_gguf(g, NULL, &id, &err));
	/* leaves */
	uint8_t la[32], lb[32];
	uint8_t hdr[128];
	size_t k = 0;
	memcpy(hdr, "hearth-tensor-v1", 16);
	k = 16;
	uint32_t v32[2] = { 0, 2 };
	memcpy(hdr + k, v32, 8);
	k += 8;
	uint64_t v64[3] = { 2, 2, 16 };
	memcpy(hdr + k, v64, 24);
	k += 24;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hdr, k);
	crypto_hash_sha256_update(&st, (const uint8_t *)a, sizeof a);
	crypto_hash_sha256_final(&st, la);
	k = 16;
	v32[1] = 1; /* [2, 1] drops its trailing 1 */
	memcpy(hdr + k, v32, 8);
	k += 8;
	v64[0] = 2;
	v64[1] = 8;
	memcpy(hdr + k, v64, 16);
	k += 16;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hdr, k);
	crypto_hash_sha256_update(&st, (const uint8_t *)b, sizeof b);
	crypto_hash_sha256_final(&st, lb);
	uint8_t *first = memcmp(la, lb, 32) < 0 ? la : lb, *second = first == la ? lb : la;
	uint8_t h0[32], h1[32], root[32], pre[33];
	pre[0] = 0;
	memcpy(pre + 1, first, 32);
	crypto_hash_sha256(h0, pre, 33);
	memcpy(pre + 1, second, 32);
	crypto_hash_sha256(h1, pre, 33);
	uint8_t node[65];
	node[0] = 1;
	memcpy(node + 1, h0, 32);
	memcpy(node + 33, h1, 32);
	crypto_hash_sha256(root, node, 65);
	CHECK(!memcmp(root, id.root, 32));
	hrt_prov_id_free(&id);
	hrt_gguf_close(g);
	free(buf);
}

/* ----------------------------------------------------------- lineage */

static void expect_rel(int a, int b, enum hrt_relation rel, int dir_)
{
	struct hrt_lineage l;
	if (cmp(a, b, &l)) {
		CHECKF(0, "lineage %s %s failed", names[a], names[b]);
		return;
	}
	info(a, b, &l);
	CHECKF(l.related, "%s vs %s not related (p 10^%.1f)", names[a], names[b], l.log10_p);
	CHECKF(l.relation == rel, "%s vs %s: relation %s, expected %s (%s)", names[a], names[b],
	       hrt_relation_name(l.relation), hrt_relation_name(rel), l.summary);
	if (dir_)
		CHECKF(l.direction == dir_, "%s vs %s: direction %d", names[a], names[b], l.direction);
	CHECKF(l.log10_p < -50, "%s vs %s: p only 10^%.1f", names[a], names[b], l.log10_p);
	hrt_lineage_free(&l);
}

static void test_lineage_quantized(void)
{
	if (!need())
		return;
	expect_rel(M_BASE, M_Q8, HRT_REL_QUANTIZED, 1);
	expect_rel(M_BASE, M_Q4, HRT_REL_QUANTIZED, 1);
	expect_rel(M_BASE, M_Q4KM, HRT_REL_QUANTIZED, 1);
	expect_rel(M_Q4, M_BASE, HRT_REL_QUANTIZED, -1);
	expect_rel(M_Q8, M_Q4, HRT_REL_QUANTIZED, 0);
}

static void test_lineage_shared_quantized(void)
{
	const char *sh = t_shared();
	char f16[512], q[512];
	if (!sh) {
		t_skip("../shared not found");
		return;
	}
	snprintf(f16, sizeof f16, "%s/models/syn-granite-256-F16.gguf", sh);
	if (access(f16, R_OK)) {
		t_skip("syn-granite-256 models not found");
		return;
	}
	static const char *const ty[] = { "Q8_0", "Q4_0", "Q4_K_M", "Q6_K" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(q, sizeof q, "%s/models/syn-granite-256-%s.gguf", sh, ty[i]);
		struct hrt_lineage l;
		struct hrt_err err = { 0 };
		CHECK(!hrt_lineage_files(f16, q, NULL, &l, &err));
		printf("INFO granite-F16  %-12s related=%d p=10^%.1f score=%.4f relation=%s\n",
		       ty[i], l.related, l.log10_p, l.score, hrt_relation_name(l.relation));
		CHECK(l.related && l.relation == HRT_REL_QUANTIZED && l.direction == 1);
		CHECK(l.n_suspicious == 0 && l.n_changed == 0);
		hrt_lineage_free(&l);
	}
}

static void test_lineage_finetune(void)
{
	if (!need())
		return;
	expect_rel(M_BASE, M_FT, HRT_REL_FINETUNE, 1);
	expect_rel(M_FT, M_BASE, HRT_REL_FINETUNE, -1);
	/* a quantized fine-tune is still related to the base */
	struct hrt_lineage l;
	if (cmp(M_BASE, M_FT_Q4, &l) == 0) {
		info(M_BASE, M_FT_Q4, &l);
		CHECK(l.related && l.n_suspicious == 0);
		hrt_lineage_free(&l);
	}
}

static void test_lineage_lora(void)
{
	if (!need())
		return;
	expect_rel(M_BASE, M_LORA, HRT_REL_ADAPTER, 1);
	struct hrt_lineage l;
	if (cmp(M_BASE, M_LORA, &l) == 0) {
		CHECKF(l.n_suspicious == 0, "adapter flagged suspicious");
		for (size_t i = 0; i < l.n_tensors; i++)
			if (l.t[i].cmp == HRT_TC_CHANGED)
				CHECKF(fx_is_attn(l.t[i].name_b), "%s changed", l.t[i].name_b);
		hrt_lineage_free(&l);
	}
}

static void expect_poison(int a, int b)
{
	struct hrt_lineage l;
	if (cmp(a, b, &l)) {
		CHECK(0);
		return;
	}
	info(a, b, &l);
	CHECK(l.related);
	CHECKF(l.n_suspicious == 1, "%s vs %s: %zu suspicious (%s)", names[a], names[b],
	       l.n_suspicious, l.summary);
	for (size_t i = 0; i < l.n_tensors; i++)
		if (l.t[i].suspicious) {
			CHECKF(!strcmp(l.t[i].name_b, POISON_TENSOR), "flagged %s", l.t[i].name_b);
			CHECK(l.t[i].eff_rank == 1);
		}
	char *js = hrt_lineage_json(&l, names[a], names[b]);
	CHECK(js && strstr(js, "\"suspicious\"") && strstr(js, POISON_TENSOR));
	free(js);
	hrt_lineage_free(&l);
}

static void test_lineage_poison(void)
{
	if (!need())
		return;
	expect_poison(M_BASE, M_POISON);
	expect_poison(M_BASE, M_POISON_Q8);
	expect_poison(M_Q8, M_POISON_Q8);
}

static void test_lineage_renamed_permuted(void)
{
	if (!need())
		return;
	struct hrt_lineage l;
	if (cmp(M_BASE, M_RENAMED, &l) == 0) {
		info(M_BASE, M_RENAMED, &l);
		CHECK(l.related && l.same_id && l.relation == HRT_REL_IDENTICAL && l.renamed);
		hrt_lineage_free(&l);
	}
	if (cmp(M_BASE, M_PERMUTED, &l) == 0) {
		info(M_BASE, M_PERMUTED, &l);
		CHECK(l.related && l.permuted && !l.same_id);
		CHECKF(l.relation == HRT_REL_IDENTICAL, "permuted: %s", l.summary);
		CHECK(l.n_suspicious == 0);
		hrt_lineage_free(&l);
	}
	/* permuted and quantized at once */
	char pq[600];
	snprintf(pq, sizeof pq, "%s/permuted_q4.gguf", dir);
	if (quant(paths[M_PERMUTED], pq, "Q4_0") == 0) {
		struct hrt_err err = { 0 };
		CHECK(!hrt_lineage_files(base, pq, NULL, &l, &err));
		printf("INFO base         permuted_q4  related=%d p=10^%.1f score=%.4f relation=%s\n",
		       l.related, l.log10_p, l.score, hrt_relation_name(l.relation));
		CHECK(l.related && l.relation == HRT_REL_QUANTIZED && l.n_suspicious == 0);
		hrt_lineage_free(&l);
		unlink(pq);
	}
}

/* every pair of the suite: related iff both come from the base */
static void test_lineage_all_pairs(void)
{
	if (!need())
		return;
	int n_rel = 0, n_unrel = 0;
	double worst_unrel = 0, worst_rel = -1e9;
	for (int a = 0; a < M_COUNT; a++)
		for (int b = a + 1; b < M_COUNT; b++) {
			struct hrt_lineage l;
			if (cmp(a, b, &l)) {
				CHECK(0);
				continue;
			}
			bool want = related_model(a) && related_model(b);
			CHECKF(l.related == want, "%s vs %s: related=%d (p 10^%.1f, %s)", names[a],
			       names[b], l.related, l.log10_p, l.summary);
			if (want && l.log10_p > -50)
				printf("INFO weak pair %s %s p=10^%.1f %s\n", names[a], names[b], l.log10_p,
				       l.summary);
			if (want) {
				n_rel++;
				if (l.log10_p > worst_rel)
					worst_rel = l.log10_p;
			} else {
				n_unrel++;
				CHECKF(l.p_value > 0.01, "%s vs %s: unrelated but p = %.3g", names[a],
				       names[b], l.p_value);
				if (n_unrel == 1 || l.p_value < worst_unrel)
					worst_unrel = l.p_value;
				CHECK(l.relation == HRT_REL_UNRELATED);
			}
			/* no false alarm between honest quantizations */
			bool honest = (a == M_BASE || a == M_Q8 || a == M_Q4 || a == M_Q4KM) &&
				      (b == M_Q8 || b == M_Q4 || b == M_Q4KM);
			if (honest)
				CHECKF(l.n_suspicious == 0 && l.n_changed == 0, "%s vs %s: false alarm",
				       names[a], names[b]);
			hrt_lineage_free(&l);
		}
	printf("INFO all pairs: %d related (weakest p 10^%.1f), %d unrelated (smallest p %.3g)\n",
	       n_rel, worst_rel, n_unrel, worst_unrel);
}

static void test_family(void)
{
	if (!need())
		return;
	const char *fp[] = { paths[M_Q4], paths[M_FT], paths[M_BASE], paths[M_Q8],
			     paths[M_POISON], paths[M_FT_Q4], paths[M_LORA], paths[M_RAND1] };
	size_t n = sizeof fp / sizeof fp[0];
	struct hrt_family f;
	struct hrt_err err = { 0 };
	if (hrt_family_build(fp, n, NULL, &f, &err)) {
		CHECKF(0, "family: %s", err.msg);
		return;
	}
	hrt_family_print(stdout, &f);
	CHECK(f.parent[2] == -1);               /* base is a root */
	CHECK(f.parent[0] == 2 && f.relation[0] == HRT_REL_QUANTIZED);
	CHECK(f.parent[3] == 2 && f.relation[3] == HRT_REL_QUANTIZED);
	CHECK(f.parent[1] == 2 && f.relation[1] == HRT_REL_FINETUNE);
	CHECK(f.parent[4] == 2 && f.suspicious[4]);
	CHECKF(f.parent[5] == 1, "quantized fine-tune under %d", f.parent[5]);
	CHECK(f.parent[6] == 2 && f.relation[6] == HRT_REL_ADAPTER);
	CHECK(f.parent[7] == -1);               /* unrelated: its own root */
	char *js = hrt_family_json(&f);
	CHECK(js && strstr(js, "\"models\""));
	free(js);
	hrt_family_free(&f);
}

static void test_eff_rank(void)
{
	/* rank-2 matrix plus nothing: 2; dense: full */
	int m = 40, c = 60;
	float *d = calloc((size_t)m * c, sizeof *d);
	uint64_t s = 9;
	for (int i = 0; i < m; i++)
		for (int j = 0; j < c; j++)
			d[i * c + j] = (float)(sin(i + 1.0) * sin(j + 1.0) + cos(0.7 * i) * cos(0.5 * j));
	double top2;
	int r2 = prov_eff_rank(d, m, c, 0, &top2);
	CHECKF(r2 <= 2 && top2 > 0.99, "rank-2: %d, top2 %.3f", r2, top2);
	for (int i = 0; i < m * c; i++)
		d[i] = (float)fx_gauss(&s);
	int r = prov_eff_rank(d, m, c, 0, &top2);
	CHECKF(r > m / 2, "dense rank %d", r);
	free(d);
	CHECK(prov_log10_normal_tail(40) < -340 && prov_log10_normal_tail(0) > -0.31);
}

int main(void)
{
	build();
	RUN(test_eff_rank);
	RUN(test_id_spec);
	RUN(test_id_invariance);
	RUN(test_lineage_quantized);
	RUN(test_lineage_shared_quantized);
	RUN(test_lineage_finetune);
	RUN(test_lineage_lora);
	RUN(test_lineage_poison);
	RUN(test_lineage_renamed_permuted);
	RUN(test_lineage_all_pairs);
	RUN(test_family);
	cleanup();
	return t_done();
}
