/*
 * cli/cmd_quantize — `hearth quantize IN.gguf OUT.gguf TYPE [-t N] [--pure]
 * [-q]`: convert a model to another type or mix (Q4_K_M, Q8_0, F16, ...)
 * with the peer's per-tensor rules (model/quantize.c). Prints one line per
 * tensor on stderr unless -q, and a size summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kern/types.h"
#include "model/tools.h"

struct qprog {
	bool quiet;
	uint64_t bytes;
};

static void progress(void *ctx, size_t i, size_t n, const char *name,
		     uint32_t from, uint32_t to, uint64_t bytes)
{
	struct qprog *p = ctx;
	p->bytes += bytes;
	if (!p->quiet)
		fprintf(stderr, "[%4zu/%4zu] %-36s %6s -> %-6s %10.2f MiB\n", i + 1, n,
			name, hrt_type_name(from), hrt_type_name(to),
			(double)bytes / (1024.0 * 1024.0));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth quantize IN.gguf OUT.gguf TYPE [-t THREADS] [--pure] [-q]\n"
		   "TYPE:");
	for (const char *const *n = hrt_quant_spec_names(); *n; n++)
		fprintf(f, " %s", *n);
	fprintf(f, "\n  --pure   no mix rules: every quantizable tensor gets TYPE\n");
}

int cmd_quantize(int argc, char **argv)
{
	const char *pos[3] = { 0 };
	int npos = 0;
	struct hrt_quant_opts o = { 0 };
	struct qprog prog = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			usage(stdout);
			return 0;
		} else if ((!strcmp(s, "-t") || !strcmp(s, "--threads")) && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 256)
				return cli_fail("bad thread count '%s'", argv[i]);
			o.n_threads = (int)v;
		} else if (!strcmp(s, "--pure")) {
			o.pure = true;
		} else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
			prog.quiet = true;
		} else if (s[0] == '-' && s[1]) {
			usage(stderr);
			return 2;
		} else if (npos < 3) {
			pos[npos++] = s;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (npos != 3) {
		usage(stderr);
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_quant_spec spec;
	if (hrt_quant_spec_parse(pos[2], &spec, &err))
		return cli_fail_err(&err);
	o.progress = progress;
	o.progress_ctx = &prog;
	if (hrt_quantize_file(pos[0], pos[1], pos[2], &o, &err))
		return cli_fail_err(&err);
	if (!prog.quiet)
		fprintf(stderr, "wrote %s (%s, %.2f MiB of tensors)\n", pos[1], spec.name,
			(double)prog.bytes / (1024.0 * 1024.0));
	return 0;
}
