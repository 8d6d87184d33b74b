/*
 * http/models — the models a server can answer with, and the ones it holds
 * in memory: name → file (+ configuration), loaded on first use into an
 * hrt_llm with its own scheduler, unloaded when idle past its keep_alive,
 * or to make room when more than max_loaded would be in memory.
 *
 * Names: `-m path/granite.gguf` serves "granite"; a request for
 * "granite:latest" finds it too. Models from the store (when one is
 * attached) are looked up by the store's names.
 *
 * Policy: with a load-time policy set (hrt_models_set_policy), every load
 * is checked first — a -m file is hashed and checked against the records
 * beside it, a store model against the records its manifest carries and
 * the weights digest the store verified — and a refused model is not
 * loaded: acquire fails with HRT_EINVAL ("refused by policy: ...") and the
 * report as JSON.
 *
 * Thread-safety: every function may be called from any thread. A handle
 * from hrt_models_acquire keeps the model loaded until released.
 * Not here: HTTP, tokenization of requests.
 */
#ifndef HRT_HTTP_MODELS_H
#define HRT_HTTP_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "infer/session.h"
#include "sched/sched.h"
#include "tok/chat.h"

#define HRT_MODEL_NAME_MAX 200
/* keep_alive values: default / forever */
#define HRT_KEEP_DEFAULT INT64_MIN
#define HRT_KEEP_FOREVER (-1)

struct hrt_models_opts {
	int n_slots;          /* parallel sequences per model; <= 0: 4 */
	int queue_max;        /* waiting requests per model; <= 0: 64 */
	uint32_t n_ctx;       /* context per sequence; 0: min(trained, 4096) */
	int n_threads;        /* <= 0: all CPUs */
	int64_t keep_alive_ns;/* default idle time before unloading; < 0: never */
	int max_loaded;       /* <= 0: 3 */
};

/* what a model's configuration adds to its weights (store, Modelfile) */
struct hrt_model_cfg {
	const char *family;   /* chat family name ("granite"), NULL: from the file */
	const char *system;   /* default system prompt, NULL: none */
	const char *params;   /* default options as JSON object text, NULL: none */
};

struct hrt_model_info {
	const char *name;
	const char *path;
	uint64_t size;             /* file bytes */
	time_t modified;
	char digest[80];           /* "sha256:<hex>", "" until computed */
	bool loaded;
	int64_t expires_ns;        /* CLOCK_REALTIME ns; 0: not loaded; INT64_MAX: never */
	int refs;                  /* requests using it now */
	struct hrt_sched_stats stats; /* when loaded */
	uint32_t n_ctx;            /* per sequence, when loaded */
	const char *family;        /* configured chat family name, or NULL */
	const char *system;        /* configured system prompt, or NULL */
	const char *params;        /* configured default options (JSON), or NULL */
	bool from_file;            /* served with -m (else: from the store) */
};

struct hrt_models;
struct hrt_loaded;
struct hrt_policy;
struct hrt_prov_records;
struct hrt_store_doc;

/* A store model's provenance layers as prov records, each with origin
 * "store:sha256:<hex>" (rs is initialized here; free it with
 * hrt_prov_records_free). Shared by the server and the CLI. */
int hrt_models_store_records(const struct hrt_store_doc *docs, size_t n,
			     struct hrt_prov_records *rs, struct hrt_err *err);

int hrt_models_new(struct hrt_models **out, const struct hrt_models_opts *o,
		   struct hrt_err *err);
/* unloads everything (waits for requests in flight to end) */
void hrt_models_free(struct hrt_models *m);

/* Serve the GGUF file at path under its base name without ".gguf" (or
 * under name when not NULL). The file is opened and checked only when the
 * model is first used; a missing file is HRT_ENOTFOUND now. cfg may be
 * NULL; its strings are copied. */
int hrt_models_add_file(struct hrt_models *m, const char *path,
			const char *name, const struct hrt_model_cfg *cfg,
			struct hrt_err *err);
/* Name for a file path: base name without ".gguf" into out. */
void hrt_models_name_of(const char *path, char *out, size_t cap);

/* What a resolver (the store) says about a name: malloc'd strings the
 * registry takes over (path required, others may be NULL) and the weights
 * digest ("sha256:<hex>", known to the store, so never re-hashed). */
struct hrt_models_resolved {
	char *path, *family, *system, *params;
	char digest[80];
	char name[HRT_MODEL_NAME_MAX + 1]; /* canonical name ("" : as asked) */
	/* the provenance records the store carries for it (malloc'd, taken
	 * over like the strings; NULL: none). Only read with a policy set. */
	struct hrt_prov_records *records;
};
/* Resolver for names not added with add_file: HRT_OK filling *out, or
 * HRT_ENOTFOUND. Asked again whenever such a model is not in memory, so a
 * model re-created or deleted in the store is seen at its next load. */
typedef int (*hrt_models_resolve_fn)(void *ctx, const char *name,
				     struct hrt_models_resolved *out,
				     struct hrt_err *err);
void hrt_models_set_resolver(struct hrt_models *m, hrt_models_resolve_fn fn,
			     void *ctx);
/* The load-time policy (NULL: none, every model loads). Borrowed: it must
 * outlive m. Set it before the registry is used. */
void hrt_models_set_policy(struct hrt_models *m, const struct hrt_policy *p);
const struct hrt_policy *hrt_models_policy(const struct hrt_models *m);

/* Find and load (if needed) a model. keep_alive_ns: how long it stays after
 * this request ends (HRT_KEEP_DEFAULT, < 0 forever, 0 unload at once).
 * *load_ns: time spent loading (0 when it was in memory). Errors:
 * HRT_ENOTFOUND (no such model; the message names it), HRT_ERANGE (every
 * loaded model is busy and max_loaded is reached), HRT_EINVAL with
 * *refusal set when the policy refused it (refusal may be NULL; else it
 * gets NULL or the report as JSON, malloc'd, the caller frees), a load
 * error. */
int hrt_models_acquire(struct hrt_models *m, const char *name,
		       int64_t keep_alive_ns, struct hrt_loaded **out,
		       uint64_t *load_ns, char **refusal, struct hrt_err *err);
/* Done with it; NULL is a no-op. */
void hrt_models_release(struct hrt_models *m, struct hrt_loaded *h);
/* Does name exist (without loading)? */
bool hrt_models_exists(struct hrt_models *m, const char *name);
/* Is name one of the -m files? (no resolver call) */
bool hrt_models_exists_file(struct hrt_models *m, const char *name);
/* Unload now if idle (keep_alive 0 on an empty request). */
void hrt_models_unload(struct hrt_models *m, const char *name);

struct hrt_sched *hrt_loaded_sched(const struct hrt_loaded *h);
struct hrt_llm *hrt_loaded_llm(const struct hrt_loaded *h);
const char *hrt_loaded_name(const struct hrt_loaded *h);
const char *hrt_loaded_digest(const struct hrt_loaded *h);
enum hrt_chat_family hrt_loaded_family(const struct hrt_loaded *h);
const char *hrt_loaded_system(const struct hrt_loaded *h);  /* NULL: none */
const char *hrt_loaded_params(const struct hrt_loaded *h);  /* NULL: none */

/* Call fn for every known model (loaded or not; store models only once
 * they were used), in name order; info is valid during the call only.
 * Computes digests not yet known. */
void hrt_models_each(struct hrt_models *m,
		     void (*fn)(void *ctx, const struct hrt_model_info *mi),
		     void *ctx);
size_t hrt_models_n_loaded(struct hrt_models *m);
/* context per sequence a model with this trained context gets */
uint32_t hrt_models_ctx_for(const struct hrt_models *m, uint32_t n_ctx_train);
/* Info for one model (digest computed if needed). HRT_ENOTFOUND. */
int hrt_models_info(struct hrt_models *m, const char *name,
		    struct hrt_model_info *out, char *path_buf, size_t path_cap,
		    struct hrt_err *err);

/* Unload models idle past their keep_alive; called once a second by the
 * registry's own reaper thread, exposed for tests. */
void hrt_models_reap(struct hrt_models *m);

#endif
