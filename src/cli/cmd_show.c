/*
 * cli/cmd_show — `hearth show MODEL`: architecture, parameters, type mix,
 * context, tokenizer, chat template family, license and every general.*
 * key. Works on tokenizer-only files too (then without the model part).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/types.h"

static void print_value(const struct hrt_gguf *g, uint64_t i)
{
	uint32_t t = hrt_gguf_kv_type(g, i);
	struct hrt_str s;
	int64_t iv;
	uint64_t uv;
	double fv;
	struct hrt_gguf_arr a;
	if (t == HRT_GGUF_STRING && !hrt_gguf_kv_str(g, i, &s)) {
		/* one line: stop at the first newline, cap the length */
		size_t n = 0;
		while (n < s.len && n < 200 && s.ptr[n] != '\n')
			n++;
		printf("%.*s%s", (int)n, s.ptr, n < s.len ? " ..." : "");
	} else if (t == HRT_GGUF_BOOL) {
		hrt_gguf_kv_u64(g, i, &uv);
		printf("%s", uv ? "true" : "false");
	} else if (t == HRT_GGUF_F32 || t == HRT_GGUF_F64) {
		hrt_gguf_kv_f64(g, i, &fv);
		printf("%g", fv);
	} else if (t == HRT_GGUF_ARRAY && !hrt_gguf_kv_arr(g, i, &a)) {
		printf("[%llu %s]", (unsigned long long)a.n, hrt_gguf_vtype_name(a.type));
	} else if (!hrt_gguf_kv_i64(g, i, &iv)) {
		printf("%lld", (long long)iv);
	} else if (!hrt_gguf_kv_u64(g, i, &uv)) {
		printf("%llu", (unsigned long long)uv);
	}
}

static void str_key(const struct hrt_gguf *g, const char *label, const char *key)
{
	struct hrt_str s;
	if (hrt_gguf_get_str(g, key, &s, NULL))
		return;
	size_t n = 0;
	while (n < s.len && n < 200 && s.ptr[n] != '\n')
		n++;
	printf("  %-16s %.*s\n", label, (int)n, s.ptr);
}

static void human_count(uint64_t n, char *b, size_t cap)
{
	if (n >= 1000000000ull)
		snprintf(b, cap, "%.2fB", (double)n / 1e9);
	else if (n >= 1000000ull)
		snprintf(b, cap, "%.1fM", (double)n / 1e6);
	else if (n >= 1000ull)
		snprintf(b, cap, "%.1fK", (double)n / 1e3);
	else
		snprintf(b, cap, "%llu", (unsigned long long)n);
}

int cmd_show(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: hearth show MODEL\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	char *path = NULL;
	struct hrt_gguf *g = NULL;
	struct hrt_model *m = NULL;
	struct hrt_vocab *v = NULL;
	if (cli_resolve_model(argv[1], false, &path, &err) ||
	    hrt_gguf_open(&g, path, &err)) {
		free(path);
		return cli_fail_err(&err);
	}
	printf("Model\n");
	printf("  %-16s %s\n", "file", path);
	str_key(g, "name", "general.name");
	struct hrt_str arch = { "", 0 };
	hrt_gguf_get_str(g, "general.architecture", &arch, NULL);
	printf("  %-16s %.*s\n", "architecture", (int)HRT_MIN(arch.len, 64), arch.ptr);
	printf("  %-16s GGUF v%u, %llu tensors, %llu metadata keys, %.1f MiB\n", "format",
	       hrt_gguf_version(g), (unsigned long long)hrt_gguf_n_tensors(g),
	       (unsigned long long)hrt_gguf_n_kv(g), (double)hrt_gguf_file_size(g) / 1048576.0);

	/* the model proper: opened on a second reader so g stays ours */
	struct hrt_gguf *g2 = NULL;
	struct hrt_err merr = { 0 };
	if (hrt_gguf_n_tensors(g) == 0) {
		printf("  %-16s none (tokenizer-only file)\n", "weights");
	} else if (hrt_gguf_open(&g2, path, &merr) || hrt_model_open_gguf(&m, g2, &merr)) {
		printf("  %-16s cannot run: %s\n", "status", merr.msg);
	} else {
		const struct hrt_hparams *hp = hrt_model_hparams(m);
		char pc[32];
		human_count(hrt_model_n_params(m), pc, sizeof pc);
		printf("  %-16s %s\n", "parameters", pc);
		printf("  %-16s %u\n", "context length", hp->n_ctx_train);
		printf("  %-16s %u\n", "embedding", hp->n_embd);
		printf("  %-16s %u layers, %u heads (%u kv), head size %u, ffn %u\n", "shape",
		       hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_ff);
		printf("  %-16s base %g, %u dims%s\n", "rope", hp->rope_base, hp->n_rot,
		       hp->rope_freq_scale != 1.0f ? ", linear scaling" : "");
		if (strcmp(hp->arch, "granite") == 0)
			printf("  %-16s embedding x%g, residual x%g, attention %g, logits /%g\n",
			       "granite scales", hp->embd_scale, hp->residual_scale,
			       hp->attn_scale, hp->logit_scale);
		printf("  %-16s %s\n", "output", hp->tied_output ? "tied to the embedding" : "separate");
	}
	/* type mix */
	uint64_t cnt[HRT_TYPE_COUNT] = { 0 }, bytes[HRT_TYPE_COUNT] = { 0 };
	for (uint64_t i = 0; i < hrt_gguf_n_tensors(g); i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		cnt[t->type]++;
		bytes[t->type] += t->nbytes;
	}
	if (hrt_gguf_n_tensors(g)) {
		printf("  %-16s", "tensor types");
		const char *sep = " ";
		for (int t = 0; t < HRT_TYPE_COUNT; t++)
			if (cnt[t]) {
				printf("%s%s x%llu (%.1f MiB)", sep, hrt_type_name((uint32_t)t),
				       (unsigned long long)cnt[t], (double)bytes[t] / 1048576.0);
				sep = ", ";
			}
		printf("\n");
	}

	printf("Tokenizer\n");
	if (hrt_vocab_load(&v, g, &merr)) {
		printf("  %-16s %s\n", "status", merr.msg);
	} else {
		printf("  %-16s %s (%s), %d tokens\n", "type",
		       hrt_vocab_kind(v) == HRT_TOK_SPM ? "SentencePiece" : "byte-level BPE",
		       hrt_vocab_pre(v), hrt_vocab_n(v));
		int32_t ids[3] = { hrt_vocab_bos(v), hrt_vocab_eos(v), hrt_vocab_eot(v) };
		const char *names[3] = { "bos", "eos", "eot" };
		for (int k = 0; k < 3; k++) {
			if (ids[k] < 0)
				continue;
			size_t n;
			const char *t = hrt_vocab_text(v, ids[k], &n);
			printf("  %-16s %d %.*s\n", names[k], ids[k], (int)HRT_MIN(n, 64), t ? t : "");
		}
		printf("  %-16s %s\n", "adds bos", hrt_vocab_add_bos(v) ? "yes" : "no");
		if (hrt_vocab_fim(v, HRT_FIM_PRE) >= 0)
			printf("  %-16s yes\n", "fill-in-middle");
	}
	struct hrt_str tmpl = { 0 };
	hrt_gguf_get_str(g, "tokenizer.chat_template", &tmpl, NULL);
	printf("  %-16s %s%s\n", "chat template",
	       hrt_chat_family_name(hrt_chat_detect(tmpl.ptr, (size_t)tmpl.len)),
	       tmpl.len ? "" : " (the file has none)");

	printf("License\n");
	str_key(g, "license", "general.license");
	str_key(g, "license name", "general.license.name");
	str_key(g, "license link", "general.license.link");

	printf("Metadata (general.*)\n");
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++) {
		struct hrt_str k = hrt_gguf_kv_key(g, i);
		if (k.len < 8 || memcmp(k.ptr, "general.", 8))
			continue;
		printf("  %-32.*s ", (int)HRT_MIN(k.len, 64), k.ptr);
		print_value(g, i);
		printf("\n");
	}
	hrt_vocab_free(v);
	hrt_model_close(m);
	hrt_gguf_close(g);
	free(path);
	return 0;
}
