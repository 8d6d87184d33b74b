/*
 * cli/cmd_bench — `hearth bench MODEL [-p 512] [-n 128] [-d 0] [-t THREADS]
 * [-r REPS] [--json] [--bound] [--bw GB/S] [--no-warmup]`.
 *
 * Measures like the peer's llama-bench so numbers can be compared:
 *   pp: evaluate a prompt of p random tokens in one go (batches of up to
 *       512, llama-bench's default micro-batch) from an empty cache;
 *   tg: generate n tokens one at a time, also from an empty cache, each
 *       step computing the logits of its token;
 *   with -d D (llama-bench's depth), both start from a cache that already
 *       holds D tokens (evaluated once, untimed) instead of an empty one,
 *       so attention reads D more positions per token;
 *   with --seqs K, also tg of K sequences at once: each step one token of
 *       each (its own KV cache, its own logits) in one batch, as the
 *       server's continuous batching runs K streams; aggregate tokens/s
 *       and its ratio to tg, in the same process.
 * One warm-up run of each, then r repetitions; prints the median tokens/s
 * and the standard deviation, the speed of the median token over all tg
 * repetitions (1 / its seconds: robust to the moments neighbours on a
 * shared machine take, as bench/bw's median read is), peak RSS
 * (getrusage) against model file + KV cache, and with --bound the decode
 * limit set by memory bandwidth:
 * bytes read per token (the weights; for an untied model the embedding
 * table is not read, only one row of it) / read bandwidth, measured here
 * with the same thread count by the kernel table's reader (read_sum: its
 * loads and its prefetch), or given with --bw, e.g. from bench/bw; and
 * the same bound for the model's own pages, read in place by that reader.
 * No timing is ever asserted: this only reports.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/hugemap.h"
#include "core/util.h"
#include "kern/kern.h"
#include "kern/types.h"
#include "model/tools.h"

struct bench_args {
	const char *model;
	int p, n, depth, reps, threads, seqs;
	bool json, bound, no_warmup;
	double bw_gbs; /* given bandwidth, 0: measure when --bound */
};

struct stats {
	double median, mean, sd;
};

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stats stats_of(double *v, int n)
{
	struct stats s = { 0 };
	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	for (int i = 0; i < n; i++)
		s.mean += v[i] / n;
	for (int i = 0; n > 1 && i < n; i++)
		s.sd += (v[i] - s.mean) * (v[i] - s.mean) / (n - 1);
	s.sd = sqrt(s.sd);
	return s;
}

/* ---------------------------------------------------------- bandwidth */

struct bw_job {
	const uint64_t *buf;
	size_t n;        /* words */
	uint64_t sum[256];
};

static void bw_read(void *ctx, int ith, int nth)
{
	struct bw_job *j = ctx;
	long b, e;
	hrt_split((long)(j->n / 8), ith, nth, &b, &e);
	/* the kernel table's own reader: its loads and its prefetch (a plain
	 * C loop, built for the baseline ISA, read 21 GB/s where bench/bw
	 * read 33-36 on a 2-core Xeon) */
	j->sum[ith & 255] = hrt_kern()->read_sum(j->buf + b * 8, (size_t)(e - b) * 8);
}

/* median read bandwidth in GB/s of reading bytes at buf 7 times */
static double read_rate(struct hrt_pool *pool, const void *buf, size_t bytes)
{
	struct bw_job j = { .buf = buf, .n = bytes / 8 };
	double v[7];
	hrt_pool_run(pool, bw_read, &j); /* warm */
	for (int r = 0; r < 7; r++) {
		uint64_t t0 = hrt_now_ns();
		hrt_pool_run(pool, bw_read, &j);
		v[r] = (double)(j.n * 8) / (double)(hrt_now_ns() - t0);
	}
	return stats_of(v, 7).median;
}

/* over a 512 MiB anonymous buffer */
static double measure_bw(struct hrt_pool *pool)
{
	size_t bytes = (size_t)512 << 20;
	uint64_t *buf = hrt_malloc_huge(bytes); /* pages as the model's mapping */
	if (!buf)
		return 0;
	for (size_t i = 0; i < bytes / 8; i++)
		buf[i] = i;
	double r = read_rate(pool, buf, bytes);
	hrt_free_aligned(buf);
	return r;
}

/* ---------------------------------------------------------- runs */

/* the runs below start from the first `depth` tokens of the session's
 * cache (hrt_session_truncate keeps them) and evaluate toks after them */
static int run_pp(struct hrt_session *s, int depth, const int32_t *toks, int p,
		  double *tps, struct hrt_err *err)
{
	hrt_session_truncate(s, (size_t)depth);
	uint64_t t0 = hrt_now_ns();
	int rc = hrt_session_eval(s, toks, (size_t)p, NULL, err);
	*tps = p / ((double)(hrt_now_ns() - t0) / 1e9);
	return rc;
}

/* k sequences decoding together: per step one token of each, its own
 * cache and logits row, one batch (as sched/ builds them) */
static int run_tg_seqs(struct hrt_llm *l, struct hrt_kv *const *kv, int k,
		       const int32_t *toks, int ntoks, int n, float *logits,
		       double *tps, struct hrt_err *err)
{
	int32_t *tok = malloc((size_t)k * sizeof(*tok)), *pos = malloc((size_t)k * sizeof(*pos));
	bool *want = malloc((size_t)k * sizeof(*want));
	int rc = HRT_OK;
	if (!tok || !pos || !want) {
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory");
		goto out;
	}
	uint64_t t0 = hrt_now_ns();
	for (int i = 0; i < n && !rc; i++) {
		for (int j = 0; j < k; j++) {
			tok[j] = toks[((size_t)i + (size_t)j * 7) % (size_t)ntoks];
			pos[j] = i;
			want[j] = true;
		}
		struct hrt_batch b = { k, tok, pos, kv, want };
		hrt_llm_lock(l);
		rc = hrt_forward(hrt_llm_compute(l), &b, logits, err);
		hrt_llm_unlock(l);
	}
	*tps = (double)k * n / ((double)(hrt_now_ns() - t0) / 1e9);
out:
	free(tok);
	free(pos);
	free(want);
	return rc;
}

/* tg of n tokens; each token's seconds into tok_s (NULL: not kept) */
static int run_tg(struct hrt_session *s, int depth, const int32_t *toks, int n,
		  double *tps, double *tok_s, struct hrt_err *err)
{
	hrt_session_truncate(s, (size_t)depth);
	uint64_t t0 = hrt_now_ns(), tp = t0;
	for (int i = 0; i < n; i++) {
		int rc = hrt_session_eval(s, &toks[i], 1, NULL, err);
		if (rc)
			return rc;
		uint64_t t = hrt_now_ns();
		if (tok_s)
			tok_s[i] = (double)(t - tp) / 1e9;
		tp = t;
	}
	*tps = n / ((double)(tp - t0) / 1e9);
	return HRT_OK;
}

/* ---------------------------------------------------------- report */

static const char *type_name(const struct hrt_model *m, char *buf, size_t cap)
{
	uint32_t ft;
	const struct hrt_gguf *g = hrt_model_gguf(m);
	if (!hrt_gguf_get_u32(g, "general.file_type", &ft, NULL) && hrt_ftype_name(ft))
		return hrt_ftype_name(ft);
	/* the type holding most bytes */
	uint64_t by[HRT_TYPE_COUNT] = { 0 };
	uint32_t best = 0;
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		by[t->type] += t->nbytes;
		if (by[t->type] > by[best])
			best = t->type;
	}
	snprintf(buf, cap, "%s", hrt_type_name(best) ? hrt_type_name(best) : "?");
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth bench MODEL [-p 512] [-n 128] [-d 0] [-t THREADS] [-r 5]\n"
		   "                    [--seqs K] [--json] [--bound] [--bw GB/S] [--no-warmup]\n"
		   "  -p N       prompt tokens evaluated in one go (pp), 0 to skip\n"
		   "  -n N       tokens generated one at a time (tg), 0 to skip\n"
		   "  -d N       depth: pp and tg start with N tokens already in the\n"
		   "             context (evaluated once, not timed)\n"
		   "  -r N       repetitions (median reported)\n"
		   "  --seqs K   also decode K sequences at once, one batch per step\n"
		   "             (aggregate tokens/s, and its ratio to tg)\n"
		   "  --bound    also print the decode limit set by memory bandwidth\n"
		   "  --bw X     read bandwidth in GB/s for --bound instead of measuring\n");
}

static int parse(int argc, char **argv, struct bench_args *a)
{
	memset(a, 0, sizeof(*a));
	a->p = 512;
	a->n = 128;
	a->reps = 5;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int *ip = !strcmp(s, "-p") ? &a->p : !strcmp(s, "-n") ? &a->n :
			  !strcmp(s, "-d") || !strcmp(s, "--n-depth") ? &a->depth :
			  !strcmp(s, "-r") ? &a->reps : !strcmp(s, "--seqs") ? &a->seqs :
			  !strcmp(s, "-t") || !strcmp(s, "--threads") ? &a->threads : NULL;
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			usage(stdout);
			return 1;
		} else if (ip) {
			char *end;
			long x = v ? strtol(v, &end, 10) : -1;
			if (!v || *end || x < 0 || x > 65536)
				return cli_fail("%s needs a number from 0 to 65536", s) + 1;
			*ip = (int)x;
			i++;
		} else if (!strcmp(s, "--bw")) {
			char *end;
			a->bw_gbs = v ? strtod(v, &end) : 0;
			if (!v || *end || !(a->bw_gbs > 0))
				return cli_fail("--bw needs a bandwidth in GB/s") + 1;
			a->bound = true;
			i++;
		} else if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strcmp(s, "--bound")) {
			a->bound = true;
		} else if (!strcmp(s, "--no-warmup")) {
			a->no_warmup = true;
		} else if (s[0] != '-' && !a->model) {
			a->model = s;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!a->model) {
		usage(stderr);
		return 2;
	}
	if (a->reps < 1)
		return cli_fail("-r must be at least 1") + 1;
	if (a->p + a->n == 0)
		return cli_fail("nothing to measure: -p and -n are both 0") + 1;
	/* every generated token's time is kept (and sorted, in an int count) */
	if ((long long)a->reps * a->n > (1 << 24))
		return cli_fail("-r times -n is at most %d tokens", 1 << 24) + 1;
	if (a->seqs > 512)
		return cli_fail("--seqs takes at most 512 sequences") + 1;
	if (a->seqs && !a->n)
		return cli_fail("--seqs needs tokens to generate (-n)") + 1;
	/* the K sequences each start from an empty cache of their own */
	if (a->seqs && a->depth)
		return cli_fail("--seqs and -d do not go together: the sequences start empty") + 1;
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a;
	int prc = parse(argc, argv, &a);
	if (prc)
		return prc == 1 ? 0 : 2;
	struct hrt_err err = { 0 };
	struct hrt_llm *l = NULL;
	struct hrt_session *s = NULL;
	char *path = NULL;
	int32_t *toks = NULL;
	double *pp = NULL, *tg = NULL, *tok_s = NULL;
	int ret = 1;
	uint32_t n_ctx = (uint32_t)(a.depth + a.p + a.n);
	struct hrt_llm_opts lo = { .n_threads = a.threads, .n_ctx = n_ctx,
				   .n_batch = HRT_MAX(HRT_MAX(1, a.seqs),
						      HRT_MIN(HRT_MAX(a.p, a.depth), 512)) };
	struct hrt_kv **kvs = NULL;
	float *lgk = NULL;
	double *tgk = NULL, *rk = NULL;
	if (cli_resolve_model(a.model, false, &path, &err) ||
	    hrt_llm_open(&l, path, &lo, &err) ||
	    hrt_session_new(&s, l, n_ctx, &err)) {
		cli_fail_err(&err);
		goto out_free;
	}
	const struct hrt_model *m = hrt_llm_model(l);
	const struct hrt_hparams *hp = hrt_model_hparams(m);
	/* the depth's tokens, then those of the runs */
	int nmax = a.depth + HRT_MAX(a.p, a.n);
	toks = malloc((size_t)nmax * sizeof(*toks));
	pp = calloc((size_t)a.reps, sizeof(double));
	tg = calloc((size_t)a.reps, sizeof(double));
	tok_s = calloc((size_t)a.reps * (size_t)HRT_MAX(a.n, 1), sizeof(double));
	tgk = calloc((size_t)a.reps, sizeof(double));
	rk = calloc((size_t)a.reps, sizeof(double));
	if (a.seqs) {
		kvs = calloc((size_t)a.seqs, sizeof(*kvs));
		lgk = malloc((size_t)a.seqs * hp->n_vocab * sizeof(float));
		for (int k = 0; kvs && k < a.seqs; k++)
			if (hrt_kv_new_typed(&kvs[k], m, n_ctx, hrt_llm_kv_type(l), &err)) {
				cli_fail_err(&err);
				goto out_free;
			}
	}
	if (!toks || !pp || !tg || !tok_s || !tgk || !rk || (a.seqs && (!kvs || !lgk))) {
		cli_fail("no memory");
		goto out_free;
	}
	/* random tokens (fixed seed), BOS first when the vocabulary adds one */
	uint64_t rng = 0x2545F4914F6CDD1Dull;
	for (int i = 0; i < nmax; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		toks[i] = (int32_t)(rng % hp->n_vocab);
	}
	int32_t bos = hrt_vocab_bos(hrt_llm_vocab(l));
	if (bos >= 0 && (uint32_t)bos < hp->n_vocab && hrt_vocab_add_bos(hrt_llm_vocab(l)))
		toks[0] = bos;

	double tmp;
	const int32_t *rt = toks + a.depth;
	if (a.depth && hrt_session_eval(s, toks, (size_t)a.depth, NULL, &err)) {
		cli_fail_err(&err);
		goto out_free;
	}
	if (!a.no_warmup && ((a.p && run_pp(s, a.depth, rt, a.p, &tmp, &err)) ||
			     (a.n && run_tg(s, a.depth, rt, 1, &tmp, NULL, &err)))) {
		cli_fail_err(&err);
		goto out_free;
	}
	for (int r = 0; r < a.reps; r++)
		if (a.p && run_pp(s, a.depth, rt, a.p, &pp[r], &err)) {
			cli_fail_err(&err);
			goto out_free;
		}
	/* tg and tg of K sequences alternate: both see the same minutes of
	 * a shared machine */
	if (a.seqs && !a.no_warmup &&
	    run_tg_seqs(l, kvs, a.seqs, toks, nmax, 1, lgk, &tmp, &err)) {
		cli_fail_err(&err);
		goto out_free;
	}
	for (int r = 0; r < a.reps; r++)
		if ((a.n && run_tg(s, a.depth, rt, a.n, &tg[r], tok_s + (size_t)r * a.n, &err)) ||
		    (a.seqs && run_tg_seqs(l, kvs, a.seqs, toks, nmax, a.n, lgk, &tgk[r], &err))) {
			cli_fail_err(&err);
			goto out_free;
		}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t peak_rss = (uint64_t)ru.ru_maxrss * 1024;
	/* the ratio of each alternating pair, before stats_of sorts them */
	for (int r = 0; a.seqs && r < a.reps; r++)
		rk[r] = tg[r] > 0 ? tgk[r] / tg[r] : 0;
	struct stats sp = stats_of(pp, a.reps), st = stats_of(tg, a.reps);
	struct stats sk = stats_of(tgk, a.reps), sr = stats_of(rk, a.reps);
	/* the median token: robust to the seconds a shared machine's
	 * neighbours take (as bench/bw's median sample is) */
	struct stats stok = stats_of(tok_s, a.reps * a.n);
	double tg_tok = stok.median > 0 ? 1.0 / stok.median : 0;

	/* sizes: file, KV cache (an unused cache of the same size: calloc'd
	 * and freed untouched, so it does not count in the RSS) */
	struct stat sb;
	uint64_t file_bytes = stat(path, &sb) ? 0 : (uint64_t)sb.st_size;
	uint64_t kv_bytes = 0, kv_pos = 0;
	struct hrt_kv *kv;
	if (!hrt_kv_new_typed(&kv, m, n_ctx, hrt_llm_kv_type(l), NULL)) {
		kv_bytes = hrt_kv_bytes(kv);
		kv_pos = hrt_kv_pos_bytes(kv);
		hrt_kv_free(kv);
	}
	/* bytes read per decoded token: the weights (an untied embedding
	 * table only one row), plus the KV cache of the positions before it:
	 * the depth and on average half of a run's own */
	uint64_t per_tok = hrt_model_weight_bytes(m);
	const struct hrt_gguf_tensor *te =
		hrt_gguf_find_tensor(hrt_model_gguf(m), "token_embd.weight");
	if (!hp->tied_output && te && te->nbytes <= per_tok)
		per_tok -= te->nbytes - te->nbytes / hp->n_vocab;
	double kv_per_tok = (double)kv_pos * (a.depth + (a.n > 1 ? (a.n - 1) / 2.0 : 0));
	double bw = a.bw_gbs, bw_model = 0;
	if (a.bound) {
		/* and the model's own pages, read where decode reads them: which
		 * physical pages hold a buffer moves its read rate by up to ~10 %
		 * on a virtual machine (bench/README.md, 2026-11-28 01:25Z) */
		struct hrt_pool *pool = hrt_pool_new(hrt_llm_n_threads(l));
		const struct hrt_gguf *g = hrt_model_gguf(m);
		if (pool && bw <= 0)
			bw = measure_bw(pool);
		if (pool)
			bw_model = read_rate(pool, hrt_gguf_base(g), (size_t)hrt_gguf_file_size(g));
		hrt_pool_free(pool);
	}
	double bytes_tok = (double)per_tok + kv_per_tok;
	double bound = a.bound && bw > 0 ? bw * 1e9 / bytes_tok : 0;
	double bound_model = bw_model > 0 ? bw_model * 1e9 / bytes_tok : 0;
	double mapped = hrt_hugemap_mapped_2m(hrt_gguf_base(hrt_model_gguf(m)));

	char tbuf[32];
	const char *tname = type_name(m, tbuf, sizeof tbuf);
	uint64_t params = hrt_model_n_params(m);
	int threads = hrt_llm_n_threads(l);
	if (a.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "model", path);
		cJSON_AddStringToObject(o, "arch", hp->arch);
		cJSON_AddStringToObject(o, "type", tname);
		cJSON_AddNumberToObject(o, "size", (double)hrt_model_weight_bytes(m));
		cJSON_AddNumberToObject(o, "params", (double)params);
		cJSON_AddNumberToObject(o, "threads", threads);
		cJSON_AddStringToObject(o, "kernels", hrt_kern()->name);
		cJSON_AddNumberToObject(o, "n_prompt", a.p);
		cJSON_AddNumberToObject(o, "n_gen", a.n);
		cJSON_AddNumberToObject(o, "n_depth", a.depth);
		cJSON_AddNumberToObject(o, "reps", a.reps);
		if (a.p) {
			cJSON_AddNumberToObject(o, "pp_tok_s", sp.median);
			cJSON_AddNumberToObject(o, "pp_stddev", sp.sd);
		}
		if (a.n) {
			cJSON_AddNumberToObject(o, "tg_tok_s", st.median);
			cJSON_AddNumberToObject(o, "tg_stddev", st.sd);
			cJSON_AddNumberToObject(o, "tg_median_token_tok_s", tg_tok);
		}
		if (a.seqs) {
			cJSON_AddNumberToObject(o, "seqs", a.seqs);
			cJSON_AddNumberToObject(o, "tg_seqs_tok_s", sk.median);
			cJSON_AddNumberToObject(o, "tg_seqs_stddev", sk.sd);
			cJSON_AddNumberToObject(o, "tg_seqs_ratio", sr.median);
		}
		cJSON_AddNumberToObject(o, "peak_rss", (double)peak_rss);
		cJSON_AddNumberToObject(o, "file_bytes", (double)file_bytes);
		cJSON_AddNumberToObject(o, "kv_bytes", (double)kv_bytes);
		cJSON_AddNumberToObject(o, "bytes_per_token", (double)per_tok + kv_per_tok);
		if (mapped >= 0)
			cJSON_AddNumberToObject(o, "mapped_2m_bytes", mapped);
		/* at open, before the cache was read again (core/hugemap) */
		const struct hrt_hugemap_report *hm = hrt_llm_hugemap(l);
		if (hm->before_2m >= 0)
			cJSON_AddNumberToObject(o, "mapped_2m_at_open_bytes", hm->before_2m);
		cJSON_AddBoolToObject(o, "huge_probe", hm->huge_ok);
		cJSON_AddBoolToObject(o, "recached", hm->recached);
		if (a.bound) {
			cJSON_AddNumberToObject(o, "bw_gbs", bw);
			cJSON_AddNumberToObject(o, "tg_bound_tok_s", bound);
			cJSON_AddNumberToObject(o, "bw_model_gbs", bw_model);
			cJSON_AddNumberToObject(o, "tg_bound_model_tok_s", bound_model);
		}
		char *j = cJSON_PrintUnformatted(o);
		if (j)
			printf("%s\n", j);
		free(j);
		cJSON_Delete(o);
	} else {
		char desc[96], size[32], np[32];
		snprintf(desc, sizeof desc, "%s %.1fB %s", hp->arch, (double)params / 1e9, tname);
		snprintf(size, sizeof size, "%.2f MiB", (double)hrt_model_weight_bytes(m) / 1048576.0);
		snprintf(np, sizeof np, "%.2f B", (double)params / 1e9);
		printf("| %-24s | %12s | %8s | %7s | %8s | %20s |\n", "model", "size", "params",
		       "threads", "test", "t/s");
		printf("| %.24s | %.12s | %.8s | %.7s | %.8s | %.20s |\n", "------------------------",
		       "------------", "--------", "-------", "--------", "--------------------");
		char test[32], ts[48], at[24] = "";
		if (a.depth) /* as llama-bench names them: tg128 @ d4096 */
			snprintf(at, sizeof at, " @ d%d", a.depth);
		if (a.p) {
			snprintf(test, sizeof test, "pp%d%s", a.p, at);
			snprintf(ts, sizeof ts, "%.2f ± %.2f", sp.median, sp.sd);
			printf("| %-24s | %12s | %8s | %7d | %8s | %20s |\n", desc, size, np, threads, test, ts);
		}
		if (a.n) {
			snprintf(test, sizeof test, "tg%d%s", a.n, at);
			snprintf(ts, sizeof ts, "%.2f ± %.2f", st.median, st.sd);
			printf("| %-24s | %12s | %8s | %7d | %8s | %20s |\n", desc, size, np, threads, test, ts);
		}
		if (a.seqs) {
			snprintf(test, sizeof test, "tg%dx%d", a.n, a.seqs);
			snprintf(ts, sizeof ts, "%.2f ± %.2f", sk.median, sk.sd);
			printf("| %-24s | %12s | %8s | %7d | %8s | %20s |\n", desc, size, np, threads, test, ts);
		}
		printf("\nkernels %s\n", hrt_kern()->name);
		printf("peak RSS %.1f MiB = %.3f x (model file %.1f MiB + KV cache %.1f MiB)\n",
		       (double)peak_rss / 1048576.0,
		       (double)peak_rss / (double)HRT_MAX(1, file_bytes + kv_bytes),
		       (double)file_bytes / 1048576.0, (double)kv_bytes / 1048576.0);
		if (mapped >= 0)
			printf("model mapped with 2 MiB pages: %.1f MiB of %.1f\n", mapped / 1048576.0,
			       (double)file_bytes / 1048576.0);
		if (a.n)
			printf("median token %.4g ms = %.2f tok/s\n", stok.median * 1e3, tg_tok);
		if (a.seqs)
			printf("%d sequences at once: %.2f x the tokens/s of one (median of %d pairs)\n",
			       a.seqs, sr.median, a.reps);
		if (a.bound) {
			printf("decode bound %.2f tok/s (%.1f MiB read per token at %.2f GB/s); tg = %.0f%% of it\n",
			       bound, bytes_tok / 1048576.0, bw,
			       bound > 0 ? 100.0 * st.median / bound : 0.0);
			printf("the model's own pages read at %.2f GB/s: bound %.2f tok/s, tg = %.0f%% of it\n",
			       bw_model, bound_model,
			       bound_model > 0 ? 100.0 * st.median / bound_model : 0.0);
		}
	}
	ret = 0;
out_free:
	free(toks);
	free(pp);
	free(tg);
	free(tok_s);
	free(tgk);
	free(rk);
	for (int k = 0; kvs && k < a.seqs; k++)
		hrt_kv_free(kvs[k]);
	free(kvs);
	free(lgk);
	hrt_session_free(s);
	hrt_llm_close(l);
	free(path);
	return ret;
}
