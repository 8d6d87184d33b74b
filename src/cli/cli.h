/*
 * cli/cli — shared pieces of the `hearth` subcommands: errors on stderr,
 * reading prompts from -p/-f, model name resolution, sampling flags.
 */
#ifndef HRT_CLI_H
#define HRT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "infer/session.h"
#include "prov/prov.h"
#include "store/store.h"

/* one line on stderr: "hearth: <what>" ; returns 1 (the exit status) */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_err(const struct hrt_err *err);

/* read a whole file (or "-" for stdin) into a malloc'd NUL-terminated
 * buffer, capped at max bytes */
int cli_read_file(const char *path, size_t max, char **out, size_t *len,
		  struct hrt_err *err);

/* $HEARTH_HOME or ~/.local/share/hearth (no trailing slash) */
const char *cli_home(void);

/* Turn a MODEL argument into a file path: an existing file, or a known
 * model name already downloaded, or (fetch = true) downloaded now.
 * out gets a malloc'd path. */
int cli_resolve_model(const char *name, bool fetch, char **out,
		      struct hrt_err *err);

/* the built-in catalog for the first run (cli/fetch.c) */
struct cli_catalog_entry {
	const char *name;     /* "granite3.3:2b" */
	const char *file;     /* file name under models/ */
	const char *url;
	const char *sha256;   /* pinned digest, or NULL: the hub's announced one */
	const char *about;
};
const struct cli_catalog_entry *cli_catalog(void); /* NULL-name terminated */
const char *cli_default_model(void);
/* download a catalog model into the store; *path gets its weights file */
int cli_fetch(const struct cli_catalog_entry *e, char **path,
	      struct hrt_err *err);

/* store commands (cli/cmd_store.c): progress display for store options
 * (a bar on a terminal; JSON lines when json), flags shared by transfer
 * commands (--json --insecure --limit-rate --digest: 1 consumed, 0 not a
 * store flag, -1 bad value), the store under cli_home() */
struct hrt_store;
struct hrt_store_opts;
void cli_store_opts(struct hrt_store_opts *o, bool json);
int cli_store_flag(int argc, char **argv, int *i, struct hrt_store_opts *o,
		   bool *json);
int cli_store_open(struct hrt_store **s, struct hrt_err *err);
int cli_parse_rate(const char *s, uint64_t *out);

/* Enforce the load-time policy on a model file about to be run (no policy
 * configured: HRT_OK, nothing read). A refusal prints the report and
 * returns HRT_EINVAL ("refused by policy: ..."). */
int cli_policy_check(const char *path, struct hrt_err *err);

/* cli/policy.c: the default policy, loaded once (*out NULL: none); it
 * lives as long as the process */
int cli_policy_get(const struct hrt_policy **out, struct hrt_err *err);
/* the same check for a store model: its records (docs, may be NULL: none)
 * and the weights digest the store verified instead of re-hashing path;
 * label (may be NULL) names the model in the report */
int cli_policy_check_docs(const char *path, const char *label,
			  const struct hrt_store_docs *docs, const struct hrt_digest *weights,
			  struct hrt_err *err);
/* the store's admission hook for pulls (hrt_store_admit_fn): the default
 * policy over the pulled weights and records; refusals print the report */
int cli_policy_admit(void *ctx, const struct hrt_name *name, const char *weights_path,
		     const struct hrt_digest *weights, const struct hrt_store_doc *docs,
		     size_t n_docs, struct hrt_err *err);

/* What a genealogy command (verify, policy check, sign, show) works on: a
 * file, or a store model — its weights blob, the records its manifest
 * carries and the digest the store verified. */
struct cli_prov_target {
	char *path;                      /* the file or the weights blob */
	bool store;                      /* a store name (the rest is set) */
	char name[600];                  /* short store name */
	char file[256];                  /* the weights' file name in the manifest */
	struct hrt_digest weights;
	uint8_t sha256[32];              /* = weights, as bytes */
	struct hrt_prov_records records; /* from the manifest's layers */
};
int cli_prov_target_open(const char *model, struct cli_prov_target *t,
			 struct hrt_err *err);
void cli_prov_target_free(struct cli_prov_target *t);

struct hrt_store_params;

/* A model to run: its weights path and, for store names, the settings the
 * store keeps (NULL fields when none). Free with cli_model_free. */
struct cli_model {
	char *path;
	char *system;              /* SYSTEM */
	char *template_family;     /* a chat family name, or NULL */
	struct hrt_store_params *params; /* PARAMETER lines, or NULL */
};
/* resolve name (cli_resolve_model), read its store settings, and enforce
 * the policy */
int cli_model_open(const char *name, bool fetch, struct cli_model *m,
		   struct hrt_err *err);
void cli_model_free(struct cli_model *m);
/* Apply store parameters as defaults: only fields the store sets, before
 * the command line's flags are applied on top. */
void cli_model_apply_params(const struct cli_model *m,
			    struct hrt_gen_params *gp, uint32_t *n_ctx);

/* Parse a sampling/generation flag at argv[*i] (advancing *i past its
 * value). Returns 1 if consumed, 0 if not a sampling flag, -1 on a bad
 * value (message printed). */
int cli_sample_flag(int argc, char **argv, int *i, struct hrt_gen_params *gp,
		    uint32_t *n_ctx, int *n_threads);
const char *cli_sample_usage(void);

int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_mkmodel(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* genealogy (cmd_prov.c, cmd_prov_sign.c) */
int cmd_id(int argc, char **argv);
int cmd_lineage(int argc, char **argv);
int cmd_family(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#endif
