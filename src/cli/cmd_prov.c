/*
 * cli/cmd_prov — the genealogy commands that read weights:
 *   hearth id MODEL [--json] [--sha256] [--tensors] [-t N]
 *   hearth lineage A B [--json] [-t N]
 *   hearth family MODEL... [--json] [-t N]
 * Thin wrappers over prov/ (see prov/prov.h for what the numbers mean).
 * Signing, verification, SBOM and policy are in cmd_prov_sign.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "prov/prov.h"

static int threads_flag(int argc, char **argv, int *i, int *n)
{
	if (strcmp(argv[*i], "-t") && strcmp(argv[*i], "--threads"))
		return 0;
	if (*i + 1 >= argc) {
		cli_fail("%s needs a number", argv[*i]);
		return -1;
	}
	char *end;
	long v = strtol(argv[++*i], &end, 10);
	if (*end || v < 1 || v > 256) {
		cli_fail("bad thread count '%s'", argv[*i]);
		return -1;
	}
	*n = (int)v;
	return 1;
}

int cmd_id(int argc, char **argv)
{
	const char *model = NULL;
	bool json = false;
	struct hrt_prov_id_opts o = { .fingerprint = true };
	for (int i = 1; i < argc; i++) {
		int t = threads_flag(argc, argv, &i, &o.n_threads);
		if (t < 0)
			return 2;
		if (t)
			continue;
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--sha256"))
			o.file_sha256 = true;
		else if (!strcmp(argv[i], "--tensors"))
			o.tensors = true;
		else if (!strcmp(argv[i], "--no-fingerprint"))
			o.fingerprint = false;
		else if (argv[i][0] == '-' || model) {
			fprintf(stderr, "usage: hearth id MODEL [--json] [--sha256] [--tensors] [-t N]\n");
			return 2;
		} else
			model = argv[i];
	}
	if (!model) {
		fprintf(stderr, "usage: hearth id MODEL [--json] [--sha256] [--tensors] [-t N]\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	char *path = NULL;
	struct hrt_prov_id id;
	if (cli_resolve_model(model, false, &path, &err) ||
	    hrt_prov_id_file(path, &o, &id, &err)) {
		free(path);
		return cli_fail_err(&err);
	}
	if (json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", path);
		cJSON_AddStringToObject(j, "model_id", id.id);
		if (id.fingerprint[0])
			cJSON_AddStringToObject(j, "fingerprint", id.fingerprint);
		if (id.have_file_sha)
			cJSON_AddStringToObject(j, "sha256", id.file_sha256_hex);
		cJSON_AddNumberToObject(j, "size", (double)id.file_size);
		cJSON_AddNumberToObject(j, "n_tensors", (double)id.n_tensors);
		cJSON_AddNumberToObject(j, "n_params", (double)id.n_params);
		cJSON_AddStringToObject(j, "sha256_backend", hrt_prov_sha_backend());
		if (id.tensors) {
			cJSON *a = cJSON_AddArrayToObject(j, "tensors");
			for (uint64_t i = 0; i < id.n_tensors; i++) {
				char hex[65];
				hrt_prov_hex(id.tensors[i].leaf, 32, hex);
				cJSON *e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "name", id.tensors[i].name);
				cJSON_AddStringToObject(e, "digest", hex);
				cJSON_AddItemToArray(a, e);
			}
		}
		char *s = cJSON_Print(j);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
	} else {
		printf("model id     %s\n", id.id);
		if (id.fingerprint[0])
			printf("fingerprint  %s\n", id.fingerprint);
		if (id.have_file_sha)
			printf("sha256       %s\n", id.file_sha256_hex);
		printf("tensors      %llu (%llu parameters)\n", (unsigned long long)id.n_tensors,
		       (unsigned long long)id.n_params);
		for (uint64_t i = 0; id.tensors && i < id.n_tensors; i++) {
			char hex[65];
			hrt_prov_hex(id.tensors[i].leaf, 32, hex);
			printf("  %s  %s\n", hex, id.tensors[i].name);
		}
	}
	hrt_prov_id_free(&id);
	free(path);
	return 0;
}

int cmd_lineage(int argc, char **argv)
{
	const char *m[2] = { NULL, NULL };
	int nm = 0;
	bool json = false, verbose = false;
	struct hrt_lineage_opts o = { 0 };
	for (int i = 1; i < argc; i++) {
		int t = threads_flag(argc, argv, &i, &o.n_threads);
		if (t < 0)
			return 2;
		if (t)
			continue;
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--tensors"))
			verbose = true;
		else if (argv[i][0] == '-' || nm == 2) {
			nm = 3;
			break;
		} else
			m[nm++] = argv[i];
	}
	if (nm != 2) {
		fprintf(stderr, "usage: hearth lineage A B [--json] [--tensors] [-t N]\n"
				"  does B derive from A (or both from one parent)? weights only\n");
		return 2;
	}
	struct hrt_err err = { 0 };
	char *pa = NULL, *pb = NULL;
	struct hrt_lineage l;
	if (cli_resolve_model(m[0], false, &pa, &err) ||
	    cli_resolve_model(m[1], false, &pb, &err) ||
	    hrt_lineage_files(pa, pb, &o, &l, &err)) {
		free(pa);
		free(pb);
		return cli_fail_err(&err);
	}
	if (json) {
		char *s = hrt_lineage_json(&l, pa, pb);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		hrt_lineage_print(stdout, &l, pa, pb, verbose);
	}
	hrt_lineage_free(&l);
	free(pa);
	free(pb);
	return 0;
}

int cmd_family(int argc, char **argv)
{
	const char **paths = calloc((size_t)argc, sizeof *paths);
	size_t n = 0;
	bool json = false;
	struct hrt_lineage_opts o = { 0 };
	if (!paths)
		return cli_fail("out of memory");
	for (int i = 1; i < argc; i++) {
		int t = threads_flag(argc, argv, &i, &o.n_threads);
		if (t < 0) {
			free(paths);
			return 2;
		}
		if (t)
			continue;
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-') {
			n = 0;
			break;
		} else
			paths[n++] = argv[i];
	}
	if (n == 0) {
		fprintf(stderr, "usage: hearth family MODEL... [--json] [-t N]\n");
		free(paths);
		return 2;
	}
	struct hrt_err err = { 0 };
	struct hrt_family fam;
	if (hrt_family_build(paths, n, &o, &fam, &err)) {
		free(paths);
		return cli_fail_err(&err);
	}
	if (json) {
		char *s = hrt_family_json(&fam);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		hrt_family_print(stdout, &fam);
	}
	hrt_family_free(&fam);
	free(paths);
	return 0;
}
