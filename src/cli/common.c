/* cli/common — see cli.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/util.h"
#include "store/store.h"

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("hearth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_fail_err(const struct hrt_err *err)
{
	return cli_fail("%s", err->msg[0] ? err->msg : hrt_err_name(err->code));
}

int cli_read_file(const char *path, size_t max, char **out, size_t *len,
		  struct hrt_err *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO,
			       "%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int rc = HRT_OK;
	while (b) {
		if (n + 1 >= cap) {
			if (cap > max) {
				rc = HRT_ERR(err, HRT_ERANGE, "%s: larger than %zu bytes", path, max);
				break;
			}
			char *nb = realloc(b, cap * 2);
			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		size_t k = fread(b + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0) {
			if (ferror(f))
				rc = HRT_ERR(err, HRT_EIO, "%s: read error", path);
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!b)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	if (rc) {
		free(b);
		return rc;
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return HRT_OK;
}

const char *cli_home(void)
{
	static char buf[4096];
	const char *e = getenv("HEARTH_HOME");
	if (e && *e)
		return e;
	const char *h = getenv("HOME");
	snprintf(buf, sizeof buf, "%s/.local/share/hearth", h && *h ? h : ".");
	return buf;
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A model in the store (name, name:tag, ns/name:tag, host/ns/name:tag):
 * 1 and *out set when found (*sm too, when sm is not NULL: the caller
 * frees it; and *docs, the provenance records the model carries, when
 * docs is not NULL: free with hrt_store_docs_free), 0 when the name is not
 * there (or the store does not exist yet), a negated error code when it
 * is there but unusable. */
static int from_store(const char *name, char **out,
		      struct hrt_store_model **sm, struct hrt_store_docs *docs,
		      struct hrt_err *err)
{
	if (docs)
		memset(docs, 0, sizeof *docs);
	char root[4200];
	struct stat st;
	struct hrt_name n;
	snprintf(root, sizeof root, "%s/store/manifests", cli_home());
	if (stat(root, &st) != 0 || hrt_name_parse(name, &n, NULL) != HRT_OK)
		return 0;
	struct hrt_store *s;
	struct hrt_store_model *m;
	struct hrt_err e = { 0 };
	if (hrt_store_open(&s, cli_home(), err))
		return -HRT_EIO;
	char *mbuf;
	size_t mlen;
	int rc = hrt_store_manifest_read(s, name, &mbuf, &mlen, &e);
	if (rc == HRT_OK) {
		free(mbuf);
		rc = hrt_store_lookup(s, name, &m, &e);
		if (rc == HRT_OK && docs && (rc = hrt_store_docs_read(s, name, docs, NULL, &e)))
			hrt_store_model_free(m);
	} else if (rc == HRT_ENOTFOUND) {
		hrt_store_close(s);
		return 0;
	}
	hrt_store_close(s);
	if (rc) {
		if (err)
			*err = e;
		return -rc;
	}
	if (hrt_store_model_has_adapters(m))
		fprintf(stderr, "hearth: warning: %s\n", hrt_store_adapter_note());
	*out = hrt_strdup(m->weights_path);
	if (sm && *out)
		*sm = m;
	else
		hrt_store_model_free(m);
	if (!*out && docs)
		hrt_store_docs_free(docs);
	return *out ? 1 : -HRT_ENOMEM;
}

void cli_model_free(struct cli_model *m)
{
	free(m->path);
	free(m->system);
	free(m->template_family);
	if (m->params) {
		hrt_store_params_free(m->params);
		free(m->params);
	}
	memset(m, 0, sizeof(*m));
}

int cli_model_open(const char *name, bool fetch, struct cli_model *m,
		   struct hrt_err *err)
{
	memset(m, 0, sizeof(*m));
	struct hrt_store_model *sm = NULL;
	struct hrt_store_docs docs = { 0 };
	const struct hrt_policy *pol = NULL;
	int rc = cli_policy_get(&pol, err);
	if (rc)
		return rc;
	/* with a policy, a store model is checked against its own records */
	int found = is_file(name) ? 0 : from_store(name, &m->path, &sm, pol ? &docs : NULL, err);
	if (found < 0)
		return -found;
	if (!found && (rc = cli_resolve_model(name, fetch, &m->path, err)))
		return rc;
	struct hrt_digest weights = { { 0 } };
	if (sm) {
		weights = sm->weights;
		if (sm->system && !(m->system = hrt_strdup(sm->system)))
			rc = HRT_ENOMEM;
		if (sm->template_family[0] &&
		    !(m->template_family = hrt_strdup(sm->template_family)))
			rc = HRT_ENOMEM;
		if (sm->params.set) {
			m->params = calloc(1, sizeof(*m->params));
			if (!m->params || hrt_store_params_copy(m->params, &sm->params))
				rc = HRT_ENOMEM;
		}
		hrt_store_model_free(sm);
		if (rc) {
			hrt_store_docs_free(&docs);
			cli_model_free(m);
			return HRT_ERR(err, rc, "no memory");
		}
	}
	if (found)
		rc = cli_policy_check_docs(m->path, name, &docs, &weights, err);
	else
		rc = cli_policy_check(m->path, err);
	hrt_store_docs_free(&docs);
	if (rc)
		cli_model_free(m);
	return rc;
}

void cli_model_apply_params(const struct cli_model *m,
			    struct hrt_gen_params *gp, uint32_t *n_ctx)
{
	const struct hrt_store_params *p = m->params;
	if (!p)
		return;
#define HAS(k) (p->set & (1u << (k)))
	struct hrt_sample_params *s = &gp->sample;
	if (HAS(HRT_P_TEMPERATURE)) s->temperature = p->temperature;
	if (HAS(HRT_P_TOP_K)) s->top_k = p->top_k;
	if (HAS(HRT_P_TOP_P)) s->top_p = p->top_p;
	if (HAS(HRT_P_MIN_P)) s->min_p = p->min_p;
	if (HAS(HRT_P_REPEAT_PENALTY)) s->repeat_penalty = p->repeat_penalty;
	if (HAS(HRT_P_REPEAT_LAST_N)) s->repeat_last_n = p->repeat_last_n;
	if (HAS(HRT_P_PRESENCE_PENALTY)) s->presence_penalty = p->presence_penalty;
	if (HAS(HRT_P_FREQUENCY_PENALTY)) s->frequency_penalty = p->frequency_penalty;
	if (HAS(HRT_P_SEED) && p->seed >= 0) s->seed = (uint64_t)p->seed;
	if (HAS(HRT_P_NUM_PREDICT)) gp->max_tokens = p->num_predict < 0 ? -1 : p->num_predict;
	if (HAS(HRT_P_NUM_CTX) && n_ctx && !*n_ctx) *n_ctx = (uint32_t)p->num_ctx;
	if (HAS(HRT_P_STOP) && p->n_stop) {
		/* the model's stop strings come first; flags add to them */
		const char **ns = malloc((p->n_stop + gp->n_stop) * sizeof(char *));
		if (ns) {
			for (size_t i = 0; i < p->n_stop; i++)
				ns[i] = p->stop[i];
			for (size_t i = 0; i < gp->n_stop; i++)
				ns[p->n_stop + i] = gp->stop[i];
			free((void *)gp->stop);
			gp->stop = ns;
			gp->n_stop += p->n_stop;
		}
	}
#undef HAS
}

int cli_resolve_model(const char *name, bool fetch, char **out,
		      struct hrt_err *err)
{
	*out = NULL;
	if (is_file(name)) {
		*out = hrt_strdup(name);
		return *out ? HRT_OK : HRT_ENOMEM;
	}
	int found = from_store(name, out, NULL, NULL, err);
	if (found < 0)
		return -found;
	if (found)
		return HRT_OK;
	for (const struct cli_catalog_entry *e = cli_catalog(); e->name; e++) {
		if (strcmp(e->name, name))
			continue;
		char path[4096];
		/* a file an earlier hearth downloaded before there was a store */
		snprintf(path, sizeof path, "%s/models/%s", cli_home(), e->file);
		if (is_file(path)) {
			*out = hrt_strdup(path);
			return *out ? HRT_OK : HRT_ENOMEM;
		}
		if (!fetch)
			return HRT_ERR(err, HRT_ENOTFOUND,
				       "model '%s' is not downloaded yet (hearth pull %s)",
				       name, name);
		return cli_fetch(e, out, err);
	}
	if (strchr(name, '/') || strstr(name, ".gguf"))
		return HRT_ERR(err, HRT_ENOTFOUND, "%s: no such file or model in the store", name);
	return HRT_ERR(err, HRT_ENOTFOUND,
		       "'%s' is neither a file, a model in the store (hearth list) nor a known model name (try a path to a .gguf file, or: %s)",
		       name, cli_default_model());
}

static bool num_f(const char *s, float *out)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || d != d)
		return false;
	*out = (float)d;
	return true;
}

static bool num_l(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int cli_sample_flag(int argc, char **argv, int *i, struct hrt_gen_params *gp,
		    uint32_t *n_ctx, int *n_threads)
{
	const char *a = argv[*i];
	static const char *const names[] = {
		"--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
		"--repeat-last-n", "--presence-penalty", "--frequency-penalty",
		"--seed", "-n", "--ctx", "-t", "--threads", "--stop", NULL
	};
	int which = -1;
	for (int k = 0; names[k]; k++)
		if (!strcmp(a, names[k]))
			which = k;
	if (which < 0)
		return 0;
	if (*i + 1 >= argc) {
		cli_fail("%s needs a value", a);
		return -1;
	}
	const char *v = argv[++*i];
	float f = 0;
	long long l = 0;
	bool ok = true;
	struct hrt_sample_params *s = &gp->sample;
	switch (which) {
	case 0: ok = num_f(v, &f) && f >= 0 && f <= 100; s->temperature = f; break;
	case 1: ok = num_l(v, 0, 1 << 30, &l); s->top_k = (int32_t)l; break;
	case 2: ok = num_f(v, &f) && f >= 0 && f <= 1; s->top_p = f; break;
	case 3: ok = num_f(v, &f) && f >= 0 && f <= 1; s->min_p = f; break;
	case 4: ok = num_f(v, &f) && f >= 0 && f <= 100; s->repeat_penalty = f; break;
	case 5: ok = num_l(v, -1, 1 << 30, &l); s->repeat_last_n = (int32_t)l; break;
	case 6: ok = num_f(v, &f) && f >= -100 && f <= 100; s->presence_penalty = f; break;
	case 7: ok = num_f(v, &f) && f >= -100 && f <= 100; s->frequency_penalty = f; break;
	case 8: ok = num_l(v, 0, (long long)(~0ull >> 1), &l); s->seed = (uint64_t)l; break;
	case 9: ok = num_l(v, -1, 1 << 30, &l); gp->max_tokens = (int32_t)l; break;
	case 10: ok = num_l(v, 1, 1 << 24, &l); if (n_ctx) *n_ctx = (uint32_t)l; break;
	case 11: case 12: ok = num_l(v, 1, 1024, &l); if (n_threads) *n_threads = (int)l; break;
	case 13: {
		const char **ns = realloc((void *)gp->stop, (gp->n_stop + 1) * sizeof(char *));
		if (!ns) {
			cli_fail("no memory");
			return -1;
		}
		ns[gp->n_stop++] = v;
		gp->stop = ns;
		break;
	}
	}
	if (!ok) {
		cli_fail("%s: bad value '%s'", a, v);
		return -1;
	}
	return 1;
}

const char *cli_sample_usage(void)
{
	return "  -n N                  tokens to generate (-1: until the context is full)\n"
	       "  --temperature T       0 = greedy (default 0.8)\n"
	       "  --top-k K --top-p P --min-p P\n"
	       "  --repeat-penalty R --repeat-last-n N --presence-penalty P --frequency-penalty F\n"
	       "  --seed S              fixed seed for reproducible sampling\n"
	       "  --stop TEXT           stop when TEXT appears (repeatable)\n"
	       "  --ctx N               context size in tokens\n"
	       "  -t, --threads N       CPU threads\n";
}
