/*
 * cli/cmd_tok — the machine-readable commands that tests and outside
 * checkers rely on; their output formats are fixed:
 *   hearth tokenize MODEL [--no-bos] [--special] (-p TEXT | -f FILE)
 *       -> [id, ...]
 *   hearth logits MODEL [--no-bos] (-p TEXT | -f FILE)
 *       -> {"tokens":[...],"logits":[[n_vocab floats], ...]}
 *   hearth generate MODEL [--no-bos] (-p TEXT | -f FILE) -n N
 *       [--temperature T] [--seed S] --json
 *       -> {"tokens":[generated ids],"text":"..."}
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/types.h"

#define MAX_PROMPT_BYTES (64u << 20)

struct tok_args {
	const char *model;
	const char *text;   /* -p */
	const char *file;   /* -f */
	bool no_bos, special, json;
	uint32_t kv_type;
	struct hrt_gen_params gp;
	uint32_t n_ctx;
	int n_threads;
};

/* returns 0 ok, 2 usage error (printed) */
static int parse(int argc, char **argv, struct tok_args *a, bool gen,
		 const char *usage)
{
	memset(a, 0, sizeof(*a));
	hrt_sample_defaults(&a->gp.sample);
	a->gp.max_tokens = 128;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--no-bos")) {
			a->no_bos = true;
		} else if (!strcmp(s, "--special")) {
			a->special = true;
		} else if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strcmp(s, "--kv-type") && i + 1 < argc) {
			int t = hrt_type_from_name(argv[++i]);
			if (t != HRT_F16 && t != HRT_Q8_0) {
				cli_fail("--kv-type: f16 or q8_0, not '%s'", argv[i]);
				return 2;
			}
			a->kv_type = (uint32_t)t;
		} else if ((!strcmp(s, "-p") || !strcmp(s, "-f")) && i + 1 < argc) {
			if (a->text || a->file) {
				cli_fail("give the text once: -p TEXT or -f FILE");
				return 2;
			}
			if (s[1] == 'p')
				a->text = argv[++i];
			else
				a->file = argv[++i];
		} else if (s[0] == '-' && (gen || !strcmp(s, "--ctx") || !strcmp(s, "-t") ||
					   !strcmp(s, "--threads"))) {
			int r = cli_sample_flag(argc, argv, &i, &a->gp, &a->n_ctx, &a->n_threads);
			if (r < 0)
				return 2;
			if (r == 0)
				goto unknown;
		} else if (s[0] == '-' && s[1]) {
			goto unknown;
		} else if (!a->model) {
			a->model = s;
		} else {
			goto unknown;
		}
		continue;
unknown:
		cli_fail("unexpected argument '%s'\nusage: %s", s, usage);
		return 2;
	}
	if (!a->model || (!a->text && !a->file)) {
		cli_fail("usage: %s", usage);
		return 2;
	}
	return 0;
}

static int get_text(const struct tok_args *a, char **buf, size_t *len,
		    struct hrt_err *err)
{
	if (a->text) {
		*len = strlen(a->text);
		*buf = hrt_strndup(a->text, *len);
		return *buf ? HRT_OK : HRT_ENOMEM;
	}
	return cli_read_file(a->file, MAX_PROMPT_BYTES, buf, len, err);
}

static int print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return cli_fail("no memory for the output");
	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
	return fflush(stdout) ? cli_fail("write error") : 0;
}

static cJSON *int_array(const int32_t *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
	return a;
}

int cmd_tokenize(int argc, char **argv)
{
	struct tok_args a;
	int rc = parse(argc, argv, &a, false,
		       "hearth tokenize MODEL [--no-bos] [--special] (-p TEXT | -f FILE)");
	if (rc)
		return rc;
	struct hrt_err err = { 0 };
	char *path = NULL, *text = NULL;
	struct hrt_gguf *g = NULL;
	struct hrt_vocab *v = NULL;
	int32_t *ids = NULL;
	size_t n = 0, len = 0;
	int status = 1;
	if (cli_resolve_model(a.model, false, &path, &err) ||
	    get_text(&a, &text, &len, &err) ||
	    hrt_gguf_open(&g, path, &err) || hrt_vocab_load(&v, g, &err) ||
	    hrt_tok_encode(v, text, len, !a.no_bos, a.special, &ids, &n, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	/* one line, ids separated by ", " */
	fputc('[', stdout);
	for (size_t i = 0; i < n; i++)
		printf(i ? ", %d" : "%d", ids[i]);
	fputs("]\n", stdout);
	status = fflush(stdout) ? cli_fail("write error") : 0;
out:
	free(ids);
	hrt_vocab_free(v);
	hrt_gguf_close(g);
	free(text);
	free(path);
	return status;
}

/* open the model and tokenize the prompt; n_ctx grows to fit the prompt
 * (up to the trained context) unless --ctx was given */
static int open_and_tokenize(struct tok_args *a, struct hrt_llm **l,
			     int32_t **ids, size_t *n, struct hrt_err *err)
{
	char *path = NULL, *text = NULL;
	size_t len;
	struct hrt_gguf *g = NULL;
	struct hrt_vocab *v = NULL;
	struct cli_model cm = { 0 };
	int rc;
	/* the load-time policy applies: these commands run the model */
	if ((rc = cli_model_open(a->model, false, &cm, err)))
		return rc;
	path = cm.path;
	cm.path = NULL;
	cli_model_free(&cm);
	if ((rc = get_text(a, &text, &len, err)) ||
	    (rc = hrt_gguf_open(&g, path, err)) ||
	    (rc = hrt_vocab_load(&v, g, err)) ||
	    (rc = hrt_tok_encode(v, text, len, !a->no_bos, false, ids, n, err)))
		goto out;
	struct hrt_llm_opts o = { .n_threads = a->n_threads, .n_ctx = a->n_ctx,
				  .kv_type = a->kv_type };
	if (!o.n_ctx) {
		uint32_t want = (uint32_t)HRT_MIN(*n + (size_t)HRT_MAX(a->gp.max_tokens, 0), (size_t)1 << 24);
		o.n_ctx = HRT_MAX(want, 512u);
	}
	rc = hrt_llm_open(l, path, &o, err);
out:
	hrt_vocab_free(v);
	hrt_gguf_close(g);
	free(text);
	free(path);
	return rc;
}

int cmd_logits(int argc, char **argv)
{
	struct tok_args a;
	int rc = parse(argc, argv, &a, false,
		       "hearth logits MODEL [--no-bos] (-p TEXT | -f FILE)");
	if (rc)
		return rc;
	a.gp.max_tokens = 0;
	struct hrt_err err = { 0 };
	struct hrt_llm *l = NULL;
	struct hrt_session *s = NULL;
	int32_t *ids = NULL;
	float *lg = NULL;
	size_t n = 0;
	int status = 1;
	if (open_and_tokenize(&a, &l, &ids, &n, &err) ||
	    hrt_session_new(&s, l, 0, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	if (n == 0) {
		cli_fail("the prompt has no tokens");
		goto out;
	}
	size_t V = hrt_model_hparams(hrt_llm_model(l))->n_vocab;
	lg = hrt_calloc(n * V, sizeof(float));
	if (!lg) {
		cli_fail("no memory for %zu x %zu logits", n, V);
		goto out;
	}
	if (hrt_session_eval(s, ids, n, lg, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "tokens", int_array(ids, n));
	cJSON *rows = cJSON_AddArrayToObject(o, "logits");
	for (size_t t = 0; t < n; t++)
		cJSON_AddItemToArray(rows, cJSON_CreateFloatArray(lg + t * V, (int)V));
	status = print_json(o);
out:
	free(lg);
	free(ids);
	hrt_session_free(s);
	hrt_llm_close(l);
	return status;
}

struct text_acc {
	char *b;
	size_t len, cap;
	bool json;
};

/* generation callback of cmd_generate: accumulate, and stream when not json */
static int collect(void *ctx, const char *t, size_t k, int32_t tok)
{
	struct text_acc *acc = ctx;
	(void)tok;
	if (!acc->json) {
		fwrite(t, 1, k, stdout);
		fflush(stdout);
	}
	if (acc->len + k + 1 > acc->cap) {
		size_t nc = HRT_MAX(acc->cap * 2, acc->len + k + 256);
		char *nb = realloc(acc->b, nc);
		if (!nb)
			return 1;
		acc->b = nb;
		acc->cap = nc;
	}
	memcpy(acc->b + acc->len, t, k);
	acc->len += k;
	acc->b[acc->len] = 0;
	return 0;
}

int cmd_generate(int argc, char **argv)
{
	struct tok_args a;
	int rc = parse(argc, argv, &a, true,
		       "hearth generate MODEL [--no-bos] (-p TEXT | -f FILE) -n N [--temperature T] [--seed S] --json");
	if (rc)
		return rc;
	struct hrt_err err = { 0 };
	struct hrt_llm *l = NULL;
	struct hrt_session *s = NULL;
	int32_t *ids = NULL;
	size_t n = 0;
	int status = 1;
	struct hrt_gen_result res = { 0 };
	char *text = NULL;
	if (open_and_tokenize(&a, &l, &ids, &n, &err) ||
	    hrt_session_new(&s, l, 0, &err)) {
		cli_fail_err(&err);
		goto out;
	}
	/* collect the text; print it at the end (json) or as it comes */
	struct text_acc acc = { .json = a.json };
	if (hrt_session_generate(s, ids, n, &a.gp, collect, &acc, &res, &err)) {
		free(acc.b);
		cli_fail_err(&err);
		goto out;
	}
	text = acc.b;
	if (!a.json) {
		fputc('\n', stdout);
		status = fflush(stdout) ? 1 : 0;
		goto out;
	}
	size_t nt = res.n_gen;
	if (res.end_token >= 0)
		res.tokens[nt++] = res.end_token; /* the end id is part of the continuation */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "tokens", int_array(res.tokens, nt));
	cJSON_AddStringToObject(o, "text", text ? text : "");
	status = print_json(o);
out:
	free(text);
	free(res.tokens);
	free(ids);
	free((void *)a.gp.stop);
	hrt_session_free(s);
	hrt_llm_close(l);
	return status;
}
