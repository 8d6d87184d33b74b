/*
 * cli/cmd_store — the store commands: import, list, cp, rm, create, push,
 * export, fsck, and the progress display every long store operation uses
 * (a bar on a terminal, Ollama-style JSON lines with --json, a few plain
 * lines otherwise). `pull` lives in cli/fetch.c. All the work is in
 * store/ (see store/store.h); this file parses arguments and prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "core/util.h"
#include "prov/prov.h"
#include "store/store.h"

/* ---- progress ---- */

struct cli_prog {
	bool json, tty;
	char last_status[128];
	char last_digest[80];
	int last_pct;
	bool open_line;
};

static struct cli_prog prog;

static void human(uint64_t n, char *out, size_t cap)
{
	static const char *const u[] = { "B", "KB", "MB", "GB", "TB" };
	double b = (double)n;
	int i = 0;
	while (b >= 1000 && i < 4) {
		b /= 1000;
		i++;
	}
	snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static int on_progress(void *ctx, const struct hrt_store_progress *p)
{
	struct cli_prog *c = ctx;
	if (c->json) {
		cJSON *j = cJSON_CreateObject();
		if (!j)
			return 0;
		cJSON_AddStringToObject(j, "status", p->status);
		if (p->digest)
			cJSON_AddStringToObject(j, "digest", p->digest);
		if (p->total)
			cJSON_AddNumberToObject(j, "total", (double)p->total);
		if (p->total || p->completed)
			cJSON_AddNumberToObject(j, "completed", (double)p->completed);
		char *s = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		if (s) {
			printf("%s\n", s);
			fflush(stdout);
			free(s);
		}
		return 0;
	}
	bool same = !strcmp(c->last_status, p->status) &&
		    !strcmp(c->last_digest, p->digest ? p->digest : "");
	snprintf(c->last_status, sizeof c->last_status, "%s", p->status);
	snprintf(c->last_digest, sizeof c->last_digest, "%s", p->digest ? p->digest : "");
	char what[160];
	if (p->digest && strlen(p->digest) > 19)
		snprintf(what, sizeof what, "%s %.12s", p->status, p->digest + 7);
	else
		snprintf(what, sizeof what, "%s", p->status);
	if (!p->total) {
		if (c->open_line)
			fputc('\n', stderr);
		c->open_line = false;
		if (!same)
			fprintf(stderr, "%s\n", what);
		return 0;
	}
	int pct = (int)(100.0 * (double)p->completed / (double)p->total);
	if (pct > 100)
		pct = 100;
	if (c->tty) {
		char a[32], t[32], bar[32];
		human(p->completed, a, sizeof a);
		human(p->total, t, sizeof t);
		int w = 25, fill = pct * w / 100;
		for (int i = 0; i < w; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[w] = 0;
		if (!same && c->open_line)
			fputc('\n', stderr);
		fprintf(stderr, "\r%-32s [%s] %3d%%  %s / %s   ", what, bar, pct, a, t);
		c->open_line = true;
		if (pct == 100) {
			fputc('\n', stderr);
			c->open_line = false;
		}
		return 0;
	}
	if (!same || pct / 25 != c->last_pct / 25) {
		char t[32];
		human(p->total, t, sizeof t);
		fprintf(stderr, "%s %3d%% of %s\n", what, pct, t);
	}
	c->last_pct = pct;
	return 0;
}

void cli_store_opts(struct hrt_store_opts *o, bool json)
{
	memset(&prog, 0, sizeof prog);
	prog.json = json;
	prog.tty = isatty(STDERR_FILENO);
	prog.last_pct = -1;
	memset(o, 0, sizeof *o);
	o->progress = on_progress;
	o->progress_ctx = &prog;
	/* pulls: the load-time policy decides before a name is published */
	o->admit = cli_policy_admit;
}

int cli_store_open(struct hrt_store **s, struct hrt_err *err)
{
	return hrt_store_open(s, cli_home(), err);
}

/* "10M", "512K", "2G", "100000" (bytes per second) */
int cli_parse_rate(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	uint64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ull * 1024 * 1024, end++;
	if (*end || v == 0 || v > (1ull << 40) / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* the common flags of transfer commands; returns 1 if argv[*i] was one,
 * 0 if not, -1 on a bad value */
int cli_store_flag(int argc, char **argv, int *i, struct hrt_store_opts *o, bool *json)
{
	const char *a = argv[*i];
	if (!strcmp(a, "--json")) {
		*json = true;
		prog.json = true;
		return 1;
	}
	if (!strcmp(a, "--insecure")) {
		o->insecure = true;
		return 1;
	}
	if (!strcmp(a, "--limit-rate") || !strcmp(a, "--digest")) {
		if (*i + 1 >= argc) {
			cli_fail("%s needs a value", a);
			return -1;
		}
		const char *v = argv[++*i];
		if (!strcmp(a, "--digest")) {
			o->digest = v;
		} else if (cli_parse_rate(v, &o->limit_rate)) {
			cli_fail("--limit-rate: bad rate '%s' (bytes per second, K/M/G suffixes)", v);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int finish(struct hrt_store *s, int rc, const struct hrt_err *err)
{
	if (prog.open_line)
		fputc('\n', stderr);
	prog.open_line = false;
	hrt_store_close(s);
	return rc ? cli_fail_err(err) : 0;
}

/* ---- import ---- */

int cmd_import(int argc, char **argv)
{
	struct hrt_store_opts o;
	struct hrt_err err = { 0 };
	struct hrt_store *s = NULL;
	bool json = false, ollama = false;
	const char *pos[2] = { NULL, NULL };
	int np = 0;
	cli_store_opts(&o, false);
	for (int i = 1; i < argc; i++) {
		int r = cli_store_flag(argc, argv, &i, &o, &json);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if (!strcmp(argv[i], "--from-ollama"))
			ollama = true;
		else if (argv[i][0] == '-' || np == 2)
			goto usage;
		else
			pos[np++] = argv[i];
	}
	if (ollama ? np > 1 : np != 2)
		goto usage;
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	if (ollama) {
		size_t ok = 0, bad = 0;
		int rc = hrt_store_import_ollama(s, pos[0], &o, &ok, &bad, &err);
		if (!rc && !json)
			printf("imported %zu model%s from Ollama%s\n", ok, ok == 1 ? "" : "s",
			       bad ? " (some were skipped, see above)" : "");
		return finish(s, rc, &err);
	}
	/* the provenance records beside the file travel with it */
	struct hrt_prov_records rs = { 0 };
	struct hrt_store_doc *docs = NULL;
	char dir[4200];
	int rc = hrt_prov_records_dir(pos[0], dir, sizeof dir, &err);
	if (!rc)
		rc = hrt_prov_records_load(&rs, dir, &err);
	if (!rc && rs.n > HRT_STORE_MAX_DOCS)
		rc = HRT_ERR(&err, HRT_ERANGE, "%s holds %zu records; a model carries at most %d", dir,
			     rs.n, HRT_STORE_MAX_DOCS);
	if (!rc && rs.n && !(docs = calloc(rs.n, sizeof *docs)))
		rc = HRT_ERR(&err, HRT_ENOMEM, "no memory");
	for (size_t i = 0; !rc && i < rs.n; i++) {
		docs[i].media_type = rs.r[i].oms ? HRT_MT_SIGSTORE_BUNDLE : HRT_MT_DSSE;
		docs[i].bytes = rs.r[i].bytes;
		docs[i].len = rs.r[i].len;
	}
	o.docs = docs;
	o.n_docs = rs.n;
	if (!rc)
		rc = hrt_store_import(s, pos[0], pos[1], &o, &err);
	if (!rc && !json)
		printf("imported %s as %s%s\n", pos[0], pos[1],
		       rs.n ? " (with its provenance records)" : "");
	free(docs);
	hrt_prov_records_free(&rs);
	return finish(s, rc, &err);
usage:
	fprintf(stderr, "usage: hearth import FILE.gguf NAME[:TAG] [--json]\n"
			"       hearth import --from-ollama [DIR] [--json]   (DIR: ~/.ollama/models)\n");
	return 2;
}

/* ---- list ---- */

static void ago(time_t t, char *out, size_t cap)
{
	long d = (long)(time(NULL) - t);
	if (d < 1)
		snprintf(out, cap, "Less than a second ago");
	else if (d < 60)
		snprintf(out, cap, "%ld second%s ago", d, d == 1 ? "" : "s");
	else if (d < 120)
		snprintf(out, cap, "About a minute ago");
	else if (d < 3600)
		snprintf(out, cap, "%ld minutes ago", d / 60);
	else if (d < 7200)
		snprintf(out, cap, "About an hour ago");
	else if (d < 86400)
		snprintf(out, cap, "%ld hours ago", d / 3600);
	else if (d < 2 * 86400)
		snprintf(out, cap, "Yesterday");
	else if (d < 14 * 86400)
		snprintf(out, cap, "%ld days ago", d / 86400);
	else if (d < 60 * 86400)
		snprintf(out, cap, "%ld weeks ago", d / (7 * 86400));
	else if (d < 730 * 86400)
		snprintf(out, cap, "%ld months ago", d / (30 * 86400));
	else
		snprintf(out, cap, "%ld years ago", d / (365 * 86400));
}

int cmd_list(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "usage: hearth list [--json]\n");
			return 2;
		}
	}
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	struct hrt_store_entry *e;
	size_t n;
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	if (hrt_store_list(s, &e, &n, &err)) {
		hrt_store_close(s);
		return cli_fail_err(&err);
	}
	if (json) {
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; a && i < n; i++) {
			cJSON *m = cJSON_CreateObject();
			char name[600], id[80], when[40];
			hrt_name_str(&e[i].name, name, sizeof name);
			hrt_digest_str(&e[i].id, id, sizeof id);
			struct tm tm;
			gmtime_r(&e[i].modified, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			cJSON_AddStringToObject(m, "name", name);
			cJSON_AddStringToObject(m, "digest", id);
			cJSON_AddNumberToObject(m, "size", (double)e[i].size);
			cJSON_AddStringToObject(m, "modified_at", when);
			cJSON_AddStringToObject(m, "weights", e[i].weights);
			cJSON_AddItemToArray(a, m);
		}
		char *p = a ? cJSON_PrintUnformatted(a) : NULL;
		cJSON_Delete(a);
		if (p)
			printf("%s\n", p);
		free(p);
	} else {
		size_t w = 4;
		for (size_t i = 0; i < n; i++) {
			char name[600];
			hrt_name_str(&e[i].name, name, sizeof name);
			if (strlen(name) > w)
				w = strlen(name);
		}
		printf("%-*s    %-12s    %-9s    %s\n", (int)w, "NAME", "ID", "SIZE", "MODIFIED");
		for (size_t i = 0; i < n; i++) {
			char name[600], size[32], when[40];
			hrt_name_str(&e[i].name, name, sizeof name);
			human(e[i].size, size, sizeof size);
			ago(e[i].modified, when, sizeof when);
			printf("%-*s    %.12s    %-9s    %s\n", (int)w, name, e[i].id.hex, size, when);
		}
	}
	free(e);
	hrt_store_close(s);
	return 0;
}

/* ---- cp, rm ---- */

int cmd_cp(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		fprintf(stderr, "usage: hearth cp SOURCE DESTINATION\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	int rc = hrt_store_copy(s, argv[1], argv[2], &err);
	if (!rc)
		printf("copied '%s' to '%s'\n", argv[1], argv[2]);
	return finish(s, rc, &err);
}

int cmd_rm(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: hearth rm NAME...\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	int status = 0;
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	for (int i = 1; i < argc; i++) {
		if (hrt_store_delete(s, argv[i], &err)) {
			cli_fail_err(&err);
			status = 1;
		} else {
			printf("deleted '%s'\n", argv[i]);
		}
	}
	hrt_store_close(s);
	return status;
}

/* ---- create ---- */

int cmd_create(int argc, char **argv)
{
	struct hrt_store_opts o;
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	const char *name = NULL, *file = NULL;
	bool json = false;
	cli_store_opts(&o, false);
	for (int i = 1; i < argc; i++) {
		int r = cli_store_flag(argc, argv, &i, &o, &json);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if (!strcmp(argv[i], "-f") && i + 1 < argc)
			file = argv[++i];
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			name = NULL, i = argc;
	}
	if (!name) {
		fprintf(stderr, "usage: hearth create NAME[:TAG] -f Modelfile [--json]\n"
				"  Modelfile: FROM (a .gguf path, a model name, or sha256:<hex>), PARAMETER key value,\n"
				"  TEMPLATE, SYSTEM, LICENSE, ADAPTER; \"\"\"...\"\"\" for text on several lines\n");
		return 2;
	}
	if (!file)
		file = "Modelfile";
	char *text;
	size_t len;
	if (cli_read_file(file, 4u << 20, &text, &len, &err))
		return cli_fail_err(&err);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	if (cli_store_open(&s, &err)) {
		free(text);
		return cli_fail_err(&err);
	}
	int rc = hrt_store_create_text(s, name, text, len, dir, &o, &err);
	free(text);
	if (!rc && !json)
		printf("created %s\n", name);
	return finish(s, rc, &err);
}

/* ---- push, export ---- */

/* the store flags and up to two positional arguments (NAME, DESTINATION);
 * returns how many, 0 on an unknown flag or a third argument (usage), -2
 * after a flag error cli_store_flag reported */
static int store_args(int argc, char **argv, struct hrt_store_opts *o, bool *json,
		      const char *pos[2])
{
	int np = 0;
	for (int i = 1; i < argc; i++) {
		int r = cli_store_flag(argc, argv, &i, o, json);
		if (r < 0)
			return -2;
		if (r)
			continue;
		if (argv[i][0] == '-' || np == 2)
			return 0;
		pos[np++] = argv[i];
	}
	return np;
}

int cmd_push(int argc, char **argv)
{
	struct hrt_store_opts o;
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	const char *pos[2] = { NULL, NULL };
	bool json = false;
	cli_store_opts(&o, false);
	int np = store_args(argc, argv, &o, &json, pos);
	if (np == -2)
		return 2;
	if (np == 0) {
		fprintf(stderr, "usage: hearth push NAME [REGISTRY/NAMESPACE/MODEL:TAG] [--insecure] [--json] [--limit-rate R]\n"
				"  credentials: HEARTH_REGISTRY_AUTH=user:password or auth.json in %s\n", cli_home());
		return 2;
	}
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	int rc = hrt_store_push(s, pos[0], pos[1], &o, &err);
	if (!rc && !json)
		printf("pushed %s\n", pos[1] ? pos[1] : pos[0]);
	return finish(s, rc, &err);
}

int cmd_export(int argc, char **argv)
{
	struct hrt_store_opts o;
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	const char *pos[2] = { NULL, NULL };
	bool json = false;
	cli_store_opts(&o, false);
	int np = store_args(argc, argv, &o, &json, pos);
	if (np == -2)
		return 2;
	if (np != 2) {
		fprintf(stderr, "usage: hearth export NAME DIR|FILE.tar [--json]\n"
				"  writes an OCI image layout; on the other machine: hearth pull oci:DIR|oci:FILE.tar\n");
		return 2;
	}
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	int rc = hrt_store_export(s, pos[0], pos[1], &o, &err);
	if (!rc && !json)
		printf("exported %s to %s\n", pos[0], pos[1]);
	return finish(s, rc, &err);
}

/* ---- fsck ---- */

static void on_fsck(void *ctx, enum hrt_fsck_kind k, const char *msg)
{
	(void)ctx;
	printf("%s %s\n", k == HRT_FSCK_PROBLEM ? "PROBLEM" : "note", msg);
}

int cmd_fsck(int argc, char **argv)
{
	struct hrt_fsck_opts fo = { .report = on_fsck };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repair")) {
			fo.repair = true;
		} else if (!strcmp(argv[i], "--quick")) {
			fo.quick = true;
		} else {
			fprintf(stderr, "usage: hearth fsck [--quick] [--repair]\n"
					"  checks every blob against its digest and every manifest against its blobs\n");
			return 2;
		}
	}
	struct hrt_err err = { 0 };
	struct hrt_store *s;
	size_t n = 0;
	if (cli_store_open(&s, &err))
		return cli_fail_err(&err);
	int rc = hrt_store_fsck(s, &fo, &n, &err);
	hrt_store_close(s);
	if (rc)
		return cli_fail_err(&err);
	if (n) {
		printf("%zu problem%s found\n", n, n == 1 ? "" : "s");
		return 1;
	}
	printf("store is clean\n");
	return 0;
}
