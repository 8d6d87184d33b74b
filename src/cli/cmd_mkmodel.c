/*
 * cli/cmd_mkmodel — `hearth mkmodel`: write a synthetic model (real shape,
 * real vocabulary, random weights from a seed) for tests and benchmarks.
 *   hearth mkmodel [--arch llama|granite] [--shape NAME] [--vocab FROM.gguf]
 *       [--type T] [--seed S] [-t N] [--n-embd N --n-layer N --n-head N
 *       --n-head-kv N --n-ff N --ctx N] -o OUT.gguf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/tools.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth mkmodel [--arch llama|granite] [--shape NAME] [--vocab FROM.gguf]\n"
		   "                      [--type TYPE] [--seed N] [-t THREADS] -o OUT.gguf\n"
		   "       shape overrides: --n-embd --n-layer --n-head --n-head-kv --n-ff --ctx\n"
		   "shapes:");
	for (const char *const *n = hrt_synth_shapes(); *n; n++)
		fprintf(f, " %s", *n);
	fprintf(f, "\nTYPE: a `hearth quantize` type or mix (default F16); the vocabulary\n"
		   "defaults to a built-in byte-level one (259 tokens)\n");
}

static int num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

int cmd_mkmodel(int argc, char **argv)
{
	struct hrt_synth_opts o = { .type = "F16" };
	struct hrt_synth_shape ov = { 0 };
	static const char *const dims[] = {
		"--n-embd", "--n-layer", "--n-head", "--n-head-kv", "--n-ff", "--ctx",
	};
	uint32_t *const fields[] = { &ov.n_embd, &ov.n_layer, &ov.n_head, &ov.n_head_kv,
			       &ov.n_ff, &ov.n_ctx };
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long x;
		size_t d;
		for (d = 0; d < sizeof dims / sizeof dims[0]; d++)
			if (!strcmp(s, dims[d]))
				break;
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			usage(stdout);
			return 0;
		} else if (d < sizeof dims / sizeof dims[0]) {
			if (num(v, 1u << 24, &x) || x == 0)
				return cli_fail("%s needs a positive number", s);
			*fields[d] = (uint32_t)x;
			i++;
		} else if (!v) {
			usage(stderr);
			return 2;
		} else if (!strcmp(s, "--arch")) {
			o.arch = argv[++i];
		} else if (!strcmp(s, "--shape")) {
			o.shape = argv[++i];
		} else if (!strcmp(s, "--vocab")) {
			o.vocab_path = argv[++i];
		} else if (!strcmp(s, "--type")) {
			o.type = argv[++i];
		} else if (!strcmp(s, "-o")) {
			o.out_path = argv[++i];
		} else if (!strcmp(s, "--seed")) {
			if (num(v, ~0ull, &x))
				return cli_fail("--seed needs a number");
			o.seed = x;
			i++;
		} else if (!strcmp(s, "-t") || !strcmp(s, "--threads")) {
			if (num(v, 256, &x) || x == 0)
				return cli_fail("bad thread count '%s'", v);
			o.q.n_threads = (int)x;
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!o.out_path) {
		usage(stderr);
		return 2;
	}
	o.override = &ov;
	struct hrt_err err = { 0 };
	if (hrt_synth_model(&o, &err))
		return cli_fail_err(&err);
	return 0;
}
