/*
 * cli/cmd_show — `hearth show MODEL`: architecture, parameters, type mix,
 * context, tokenizer, chat template family, license and every general.*
 * key. Works on tokenizer-only files too (then without the model part).
 * For a model in the store, first the store's view: name, ID (manifest
 * digest), weights digest, PARAMETER settings, system prompt, template
 * family, license, adapters and the provenance records it carries (count
 * and signer key ids, read without verifying: `hearth verify NAME` does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/types.h"
#include "prov/prov.h"
#include "store/store.h"

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

/* first line of a text, at most 120 bytes, " ..." when cut */
static void first_line(const char *label, const char *t)
{
	size_t n = 0;
	while (t[n] && t[n] != '\n' && n < 120)
		n++;
	printf("  %-16s %.*s%s\n", label, (int)n, t, t[n] ? " ..." : "");
}

static void print_params(const struct hrt_store_params *p)
{
	if (!p->set)
		return;
	printf("  %-16s", "parameters");
	const char *sep = " ";
	for (int i = 0; i < HRT_P_COUNT; i++) {
		if (!(p->set & (1u << i)))
			continue;
		const char *k = hrt_store_param_name((enum hrt_store_param)i);
		switch (i) {
		case HRT_P_TEMPERATURE: printf("%s%s %g", sep, k, p->temperature); break;
		case HRT_P_TOP_K: printf("%s%s %d", sep, k, p->top_k); break;
		case HRT_P_TOP_P: printf("%s%s %g", sep, k, p->top_p); break;
		case HRT_P_MIN_P: printf("%s%s %g", sep, k, p->min_p); break;
		case HRT_P_REPEAT_PENALTY: printf("%s%s %g", sep, k, p->repeat_penalty); break;
		case HRT_P_REPEAT_LAST_N: printf("%s%s %d", sep, k, p->repeat_last_n); break;
		case HRT_P_PRESENCE_PENALTY: printf("%s%s %g", sep, k, p->presence_penalty); break;
		case HRT_P_FREQUENCY_PENALTY: printf("%s%s %g", sep, k, p->frequency_penalty); break;
		case HRT_P_SEED: printf("%s%s %lld", sep, k, (long long)p->seed); break;
		case HRT_P_NUM_CTX: printf("%s%s %d", sep, k, p->num_ctx); break;
		case HRT_P_NUM_PREDICT: printf("%s%s %d", sep, k, p->num_predict); break;
		case HRT_P_STOP:
			for (size_t s = 0; s < p->n_stop; s++) {
				printf("%s%s \"", sep, k);
				for (const char *c = p->stop[s]; *c; c++)
					printf((unsigned char)*c < 0x20 ? "\\x%02x" : "%c", (unsigned char)*c);
				printf("\"");
				sep = ", ";
			}
			break;
		}
		sep = ", ";
	}
	printf("\n");
}

/* the provenance records a store model carries: parsed, not verified */
static void print_records(const struct hrt_store_docs *d)
{
	size_t n_env = 0, n_oms = 0;
	for (size_t i = 0; i < d->n; i++)
		*(!strcmp(d->v[i].media_type, HRT_MT_SIGSTORE_BUNDLE) ? &n_oms : &n_env) += 1;
	if (!d->n) {
		printf("  %-16s none (hearth sign NAME --key K adds them)\n", "provenance");
		return;
	}
	printf("  %-16s %zu record%s: %zu signed statement%s, %zu OMS bundle%s (not verified here: hearth verify NAME)\n",
	       "provenance", d->n, d->n == 1 ? "" : "s", n_env, n_env == 1 ? "" : "s", n_oms,
	       n_oms == 1 ? "" : "s");
	for (size_t i = 0; i < d->n; i++) {
		struct hrt_dsse env;
		struct hrt_err e = { 0 };
		if (!strcmp(d->v[i].media_type, HRT_MT_SIGSTORE_BUNDLE)) {
			struct hrt_oms_manifest *m = calloc(1, sizeof *m);
			if (m && !hrt_oms_parse(d->v[i].bytes, d->v[i].len, &env, m, &e)) {
				printf("    OMS bundle      %s%.16s%s\n", m->key_hint[0] ? "key hint " : "",
				       m->key_hint[0] ? m->key_hint : "no key hint",
				       m->key_hint[0] ? "…" : "");
				hrt_dsse_free(&env);
			} else {
				printf("    OMS bundle      unreadable: %s\n", e.msg);
			}
			free(m);
			continue;
		}
		if (hrt_dsse_parse(d->v[i].bytes, d->v[i].len, &env, &e)) {
			printf("    statement       unreadable: %s\n", e.msg);
			continue;
		}
		printf("    statement       signed by");
		for (size_t k = 0; k < env.n_sigs; k++)
			printf("%s key %.16s%s", k ? "," : "", env.sigs[k].keyid[0] ? env.sigs[k].keyid : "(no key id)",
			       env.sigs[k].keyid[0] ? "…" : "");
		if (!env.n_sigs)
			printf(" nobody");
		struct hrt_prov_claim *c = calloc(1, sizeof *c);
		if (c && !hrt_prov_statement_parse(env.payload, env.payload_len, c, NULL))
			printf(" — claims %.22s…%s%s%s", c->model_id, c->n_parents ? ", with parents" : "",
			       c->license[0] ? ", license " : "", c->license);
		free(c);
		printf("\n");
		hrt_dsse_free(&env);
	}
}

/* The store's view of name: 1 shown, 0 not a store name, -1 an error
 * (printed). */
static int show_store(const char *name)
{
	char root[4200];
	struct stat st;
	struct hrt_name n;
	snprintf(root, sizeof root, "%s/store/manifests", cli_home());
	if ((stat(name, &st) == 0 && S_ISREG(st.st_mode)) || stat(root, &st) != 0 ||
	    hrt_name_parse(name, &n, NULL) != HRT_OK)
		return 0;
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	struct hrt_store_model *m = NULL;
	struct hrt_store_docs docs = { 0 };
	char *mbuf = NULL;
	size_t mlen;
	if (hrt_store_open(&s, cli_home(), &err))
		return 0;
	int rc = hrt_store_manifest_read(s, name, &mbuf, &mlen, &err);
	free(mbuf);
	if (rc == HRT_ENOTFOUND) {
		hrt_store_close(s);
		return 0;
	}
	if (!rc)
		rc = hrt_store_lookup(s, name, &m, &err);
	struct hrt_err derr = { 0 };
	int drc = rc ? rc : hrt_store_docs_read(s, name, &docs, NULL, &derr);
	hrt_store_close(s);
	if (rc) {
		cli_fail_err(&err);
		return -1;
	}
	char shown[600], id[80], w[80];
	hrt_name_str(&m->name, shown, sizeof shown);
	hrt_digest_str(&m->id, id, sizeof id);
	hrt_digest_str(&m->weights, w, sizeof w);
	printf("Store\n");
	printf("  %-16s %s\n", "name", shown);
	printf("  %-16s %s\n", "id", id);
	printf("  %-16s %s%s%s%s\n", "weights", w, m->weights_file[0] ? " (" : "", m->weights_file,
	       m->weights_file[0] ? ")" : "");
	if (m->architecture[0] || m->param_size[0] || m->quantization[0])
		printf("  %-16s %s %s %s\n", "config", m->architecture, m->param_size, m->quantization);
	print_params(&m->params);
	if (m->system && *m->system)
		first_line("system", m->system);
	if (m->template_family[0])
		printf("  %-16s %s%s\n", "template", m->template_family,
		       m->template_text ? " (TEMPLATE of the Modelfile)" : "");
	if (m->license && *m->license)
		first_line("license", m->license);
	if (m->n_adapters)
		printf("  %-16s %zu (%s)\n", "adapters", m->n_adapters, hrt_store_adapter_note());
	if (drc)
		printf("  %-16s unreadable: %s\n", "provenance", derr.msg);
	else
		print_records(&docs);
	hrt_store_docs_free(&docs);
	hrt_store_model_free(m);
	return 1;
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
	if (show_store(argv[1]) < 0)
		return 1;
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
