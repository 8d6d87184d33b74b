/*
 * cli/fetch — `hearth pull` and the first-run download. A small catalog
 * of open models names the default model (and a tiny test model) with its
 * URL and, where known, its pinned SHA-256; everything else `pull` takes
 * goes straight to the store: https URLs of GGUF files (Hugging Face
 * resolve/ URLs announce their digest), OCI registry names, and OCI
 * layouts (oci:DIR or oci:FILE.tar). Downloads resume, show a progress
 * bar on a terminal (JSON lines with --json), are verified before they
 * get a name, and offline the message says how to use a file already on
 * the machine. The work is in store/ (store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "store/store.h"

static const struct cli_catalog_entry catalog[] = {
	{ "granite3.3:2b", "granite-3.3-2b-instruct-Q4_K_M.gguf",
	  "https://huggingface.co/ibm-granite/granite-3.3-2b-instruct-GGUF/resolve/main/granite-3.3-2b-instruct-Q4_K_M.gguf",
	  NULL, "IBM Granite 3.3 2B Instruct, Q4_K_M, Apache-2.0, about 1.5 GB" },
	{ "stories260k", "stories260K.gguf",
	  "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
	  "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
	  "a 260K-parameter Llama that writes children's stories, MIT, 1.2 MB" },
	{ NULL, NULL, NULL, NULL, NULL },
};

const struct cli_catalog_entry *cli_catalog(void)
{
	return catalog;
}

const char *cli_default_model(void)
{
	const char *e = getenv("HEARTH_DEFAULT_MODEL");
	return e && *e ? e : catalog[0].name;
}

static const struct cli_catalog_entry *find(const char *name)
{
	for (const struct cli_catalog_entry *k = catalog; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

static bool offline_env(void)
{
	const char *off = getenv("HEARTH_OFFLINE");
	return off && *off && strcmp(off, "0");
}

static int offline_msg(struct hrt_err *err, const char *url, const char *why)
{
	char w[300];
	snprintf(w, sizeof w, "%s", why);
	return HRT_ERR(err, HRT_EIO,
		       "cannot download %s: %s. hearth looks offline. To use a model file you already have: "
		       "hearth run /path/to/model.gguf (any llama or granite GGUF, e.g. a Granite or Llama file "
		       "copied from another machine); HEARTH_DEFAULT_MODEL=/path/to/model.gguf makes it the default",
		       url, w);
}

/* pull a catalog entry into s under its name */
static int pull_entry(struct hrt_store *s, const struct cli_catalog_entry *e, const char *name,
		      struct hrt_store_opts *o, struct hrt_err *err)
{
	char digest[80];
	if (offline_env())
		return offline_msg(err, e->url, "HEARTH_OFFLINE is set");
	if (e->sha256) {
		snprintf(digest, sizeof digest, "sha256:%s", e->sha256);
		o->digest = digest;
	}
	fprintf(stderr, "hearth: pulling %s (%s)\n", e->name, e->about);
	int rc = hrt_store_pull(s, e->url, name, o, err);
	o->digest = NULL;
	if (rc && o->unreachable) {
		char why[sizeof err->msg];
		memcpy(why, err->msg, sizeof why);
		return offline_msg(err, e->url, why);
	}
	return rc;
}

int cli_fetch(const struct cli_catalog_entry *e, char **path, struct hrt_err *err)
{
	struct hrt_store *s;
	struct hrt_store_opts o;
	struct hrt_store_model *m;
	*path = NULL;
	if (offline_env())
		return offline_msg(err, e->url, "HEARTH_OFFLINE is set");
	int rc = hrt_store_open(&s, cli_home(), err);
	if (rc)
		return rc;
	cli_store_opts(&o, false);
	if ((rc = pull_entry(s, e, e->name, &o, err)) || (rc = hrt_store_lookup(s, e->name, &m, err))) {
		hrt_store_close(s);
		return rc;
	}
	fprintf(stderr, "hearth: %s verified (sha256 %.12s...) and stored as %s\n", e->name,
		m->weights.hex, e->name);
	*path = hrt_strdup(m->weights_path);
	hrt_store_model_free(m);
	hrt_store_close(s);
	return *path ? HRT_OK : HRT_ERR(err, HRT_ENOMEM, "no memory");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth pull SOURCE [NAME] [--insecure] [--json] [--limit-rate RATE] [--digest sha256:HEX]\n"
		   "SOURCE is one of\n"
		   "  a known name                     see below\n"
		   "  https://.../model.gguf           a GGUF file (Hugging Face resolve/ URLs carry their digest;\n"
		   "                                   other servers need --digest)\n"
		   "  registry.example/ns/model:tag    an OCI registry (--insecure for plain http)\n"
		   "  oci:DIR[:REF] or oci:FILE.tar    an OCI image layout made by hearth export\n"
		   "NAME stores the model under another name. Credentials for registries:\n"
		   "HEARTH_REGISTRY_AUTH=user:password, or auth.json in the hearth home folder.\n"
		   "known names:\n");
	for (const struct cli_catalog_entry *e = catalog; e->name; e++)
		fprintf(f, "  %-16s %s\n", e->name, e->about);
}

int cmd_pull(int argc, char **argv)
{
	struct hrt_store_opts o;
	struct hrt_err err = { 0 };
	const char *pos[2] = { NULL, NULL };
	int np = 0;
	bool json = false;
	cli_store_opts(&o, false);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		int r = cli_store_flag(argc, argv, &i, &o, &json);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if (argv[i][0] == '-' || np == 2) {
			usage(stderr);
			return 2;
		}
		pos[np++] = argv[i];
	}
	if (np == 0) {
		usage(stderr);
		return 2;
	}
	const char *src = pos[0], *name = pos[1];
	struct hrt_store *s;
	if (hrt_store_open(&s, cli_home(), &err))
		return cli_fail_err(&err);
	const struct cli_catalog_entry *e = find(src);
	int rc;
	if (e) {
		struct hrt_store_model *m;
		if (hrt_store_lookup(s, name ? name : e->name, &m, NULL) == HRT_OK) {
			hrt_store_model_free(m);
			hrt_store_close(s);
			printf("%s is already in the store\n", name ? name : e->name);
			return 0;
		}
		rc = pull_entry(s, e, name ? name : e->name, &o, &err);
	} else if (!strncmp(src, "https://", 8) || !strncmp(src, "http://", 7)) {
		struct hrt_name n;
		static char derived[600];
		if (!name && hrt_store_url_name(src, &n, NULL) == HRT_OK) {
			hrt_name_str(&n, derived, sizeof derived);
			name = derived;
		}
		rc = offline_env() ? offline_msg(&err, src, "HEARTH_OFFLINE is set")
				   : hrt_store_pull(s, src, name, &o, &err);
	} else {
		rc = hrt_store_pull(s, src, name, &o, &err);
	}
	hrt_store_close(s);
	if (rc)
		return cli_fail_err(&err);
	if (!json) {
		if (name)
			printf("pulled %s as %s\n", src, name);
		else
			printf("pulled %s\n", src);
	}
	return 0;
}
