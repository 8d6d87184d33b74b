/*
 * Golden tests against the established runtime (../shared/golden, format in
 * ../shared/README.md): exact prompt tokens, logits within tolerance at
 * every position, greedy continuation identical up to the first near-tie.
 * Every file is checked with every kernel table this CPU can run and with
 * one and two threads. Skips with a message when ../shared is absent.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer/session.h"
#include "kern/kern.h"
#include "t.h"

static int n_checked;

/* a JSON array of numbers as doubles (cJSON arrays are linked lists:
 * indexing them in a loop would be quadratic) */
static double *row_values(cJSON *row, size_t *n)
{
	size_t k = (size_t)cJSON_GetArraySize(row), i = 0;
	double *v = malloc((k ? k : 1) * sizeof(double));
	cJSON *e;
	cJSON_ArrayForEach(e, row) v[i++] = e->valuedouble;
	*n = k;
	return v;
}

/* is any weight of the model quantized? (tolerance 0.02 vs 0.003) */
static bool quantized_model(const struct hrt_llm *l)
{
	const struct hrt_gguf *g = hrt_model_gguf(hrt_llm_model(l));
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_type_traits *t = hrt_type_get(hrt_gguf_tensor(g, i)->type);
		if (t && t->quantized)
			return true;
	}
	return false;
}

static void check_file(const char *dir, const char *name, const char *isa,
		       int threads)
{
	char path[4096], mpath[4096];
	snprintf(path, sizeof path, "%s/golden/%s", dir, name);
	char *js = t_slurp(path, NULL);
	cJSON *j = js ? cJSON_Parse(js) : NULL;
	free(js);
	if (!j) {
		t_failf(__FILE__, __LINE__, "%s: cannot read or parse", path);
		return;
	}
	const char *model = cJSON_GetStringValue(cJSON_GetObjectItem(j, "model"));
	const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(j, "prompt"));
	int add_bos = cJSON_GetObjectItem(j, "add_bos")->valueint;
	snprintf(mpath, sizeof mpath, "%s/models/%s", dir, model);

	struct hrt_err err = { 0 };
	struct hrt_llm *l = NULL;
	struct hrt_session *s = NULL;
	int32_t *ids = NULL;
	float *lg = NULL;
	size_t n = 0;
	struct hrt_llm_opts o = { .n_threads = threads, .n_ctx = 512 };
	if (hrt_llm_open(&l, mpath, &o, &err) || hrt_session_new(&s, l, 0, &err) ||
	    hrt_tok_encode(hrt_llm_vocab(l), prompt, strlen(prompt), add_bos, false,
			   &ids, &n, &err)) {
		t_failf(__FILE__, __LINE__, "%s: %s", name, err.msg);
		goto out;
	}
	/* tokens: exact */
	cJSON *jt = cJSON_GetObjectItem(j, "tokens");
	size_t nt = (size_t)cJSON_GetArraySize(jt);
	bool same = nt == n;
	for (size_t i = 0; same && i < n; i++)
		same = ids[i] == cJSON_GetArrayItem(jt, (int)i)->valueint;
	if (!same) {
		t_failf(__FILE__, __LINE__, "%s: tokens differ (%zu vs %zu expected)", name, n, nt);
		goto out;
	}
	/* logits at every position, from one batch */
	size_t V = (size_t)cJSON_GetObjectItem(j, "n_vocab")->valueint;
	CHECK(V == hrt_model_hparams(hrt_llm_model(l))->n_vocab);
	lg = malloc(n * V * sizeof(float));
	if (!lg || hrt_session_eval(s, ids, n, lg, &err)) {
		t_failf(__FILE__, __LINE__, "%s: eval: %s", name, err.msg);
		goto out;
	}
	double tol = quantized_model(l) ? 0.02 : 0.003;
	cJSON *jl = cJSON_GetObjectItem(j, "logits");
	/* std of the reference's last position, for the top-16 rows */
	size_t nl;
	double *last = row_values(cJSON_GetArrayItem(jl, (int)n - 1), &nl);
	double mu = 0, sd = 0;
	for (size_t i = 0; i < nl; i++)
		mu += last[i];
	mu /= (double)nl;
	for (size_t i = 0; i < nl; i++)
		sd += (last[i] - mu) * (last[i] - mu);
	double last_std = sqrt(sd / (double)nl);
	free(last);
	CHECKF(nl == V, "%s: the last position is not a full vector", name);
	double worst = 0;
	size_t t = 0;
	cJSON *row;
	cJSON_ArrayForEach(row, jl) {
		const float *ours = lg + t * V;
		if ((size_t)cJSON_GetArraySize(row) == V) {
			size_t k;
			double *r = row_values(row, &k);
			double m2 = 0, se = 0, var = 0;
			for (size_t i = 0; i < V; i++)
				m2 += r[i];
			m2 /= (double)V;
			for (size_t i = 0; i < V; i++) {
				se += (ours[i] - r[i]) * (ours[i] - r[i]);
				var += (r[i] - m2) * (r[i] - m2);
			}
			free(r);
			double nrmse = sqrt(se / (double)V) / sqrt(var / (double)V);
			if (nrmse > worst)
				worst = nrmse;
			if (nrmse > tol) {
				t_failf(__FILE__, __LINE__, "%s [%s, %d threads]: position %zu nrmse %.5f > %.3f",
					name, isa, threads, t, nrmse, tol);
				goto out;
			}
		} else {
			cJSON *pair;
			cJSON_ArrayForEach(pair, row) {
				int id = cJSON_GetArrayItem(pair, 0)->valueint;
				double r = cJSON_GetArrayItem(pair, 1)->valuedouble;
				if (fabs(ours[id] - r) > 0.08 * last_std) {
					t_failf(__FILE__, __LINE__, "%s [%s]: position %zu token %d: %.4f vs %.4f",
						name, isa, t, id, ours[id], r);
					goto out;
				}
			}
		}
		t++;
	}
	/* greedy continuation through the KV cache */
	cJSON *jg = cJSON_GetObjectItem(j, "greedy");
	cJSON *jm = cJSON_GetObjectItem(j, "greedy_margin");
	if (jg && jm) {
		struct hrt_gen_params gp = { 0 };
		hrt_sample_defaults(&gp.sample);
		gp.sample.temperature = 0;
		gp.sample.repeat_penalty = 1.0f;
		gp.max_tokens = cJSON_GetArraySize(jg);
		struct hrt_gen_result res;
		hrt_session_truncate(s, 0);
		if (hrt_session_generate(s, ids, n, &gp, NULL, NULL, &res, &err)) {
			t_failf(__FILE__, __LINE__, "%s: generate: %s", name, err.msg);
			goto out;
		}
		size_t ng = res.n_gen + (res.end_token >= 0);
		if (res.end_token >= 0)
			res.tokens[res.n_gen] = res.end_token;
		for (int i = 0; i < cJSON_GetArraySize(jg); i++) {
			if (cJSON_GetArrayItem(jm, i)->valuedouble < 0.05)
				break; /* a near-tie: either choice is right */
			int want = cJSON_GetArrayItem(jg, i)->valueint;
			if ((size_t)i >= ng || res.tokens[i] != want) {
				t_failf(__FILE__, __LINE__, "%s [%s]: greedy step %d: got %d, want %d",
					name, isa, i, (size_t)i < ng ? res.tokens[i] : -1, want);
				break;
			}
		}
		free(res.tokens);
	}
	n_checked++;
	printf("  %s [%s, %d thread%s]: worst nrmse %.5f (tolerance %.3f)\n", name, isa,
	       threads, threads > 1 ? "s" : "", worst, tol);
out:
	free(lg);
	free(ids);
	hrt_session_free(s);
	hrt_llm_close(l);
	cJSON_Delete(j);
}

static void run_all(const char *isa, int threads)
{
	const char *dir = t_shared();
	if (!dir) {
		t_skip("../shared is absent: no golden files to compare with");
		return;
	}
	if (hrt_kern_select(isa)) {
		t_skip("kernel table %s is not available on this CPU", isa);
		return;
	}
	char gd[4096];
	snprintf(gd, sizeof gd, "%s/golden", dir);
	DIR *d = opendir(gd);
	if (!d) {
		t_skip("%s is absent", gd);
		return;
	}
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		size_t k = strlen(e->d_name);
		if (k < 6 || strcmp(e->d_name + k - 5, ".json"))
			continue;
		check_file(dir, e->d_name, isa, threads);
		files++;
	}
	closedir(d);
	CHECKF(files > 0, "no golden files in %s", gd);
}

static void golden_ref_1t(void) { run_all("ref", 1); }
static void golden_avx2_2t(void) { run_all("avx2", 2); }
static void golden_avx2vnni_2t(void) { run_all("avx2vnni", 2); }
static void golden_avx512_1t(void) { run_all("avx512", 1); }
static void golden_avx512_2t(void) { run_all("avx512", 2); }
static void golden_neon_2t(void) { run_all("neon", 2); }

int main(void)
{
	RUN(golden_ref_1t);
	RUN(golden_avx2_2t);
	RUN(golden_avx2vnni_2t);
	RUN(golden_avx512_1t);
	RUN(golden_avx512_2t);
	RUN(golden_neon_2t);
	printf("  %d golden comparisons\n", n_checked);
	return t_done();
}
