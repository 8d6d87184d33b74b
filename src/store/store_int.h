/*
 * store/store_int — what the store's own files (and its tests) share:
 * the handle, parsed manifests and settings, file-system helpers, blob
 * staging for downloads, and the HTTP/registry client. Not a public API:
 * everything here may change with the store.
 */
#ifndef HRT_STORE_INT_H
#define HRT_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sodium.h>

#include "core/alignw.h"
#include "store/store.h"

struct hrt_store {
	char *home;      /* $HEARTH_HOME */
	char *root;      /* home/store */
	char *blobs;     /* root/blobs/sha256 */
	char *manifests; /* root/manifests */
	char *lockpath;  /* root/lock */
};

#define ST_PATH 4096

/* ---- names.c ---- */

/* untrusted text for an error message: printable ASCII, '?' for the rest,
 * cut with "..." to fit cap */
void st_printable(const char *s, size_t len, char *out, size_t cap);
/* parameter i (enum hrt_store_param) from a number / a stop text */
int st_param_set_num(struct hrt_store_params *p, int i, double v,
		     struct hrt_err *err);
int st_param_add_stop(struct hrt_store_params *p, const char *v, size_t n,
		      struct hrt_err *err);

/* ---- fs.c: file-system helpers ---- */

/* snprintf into out; HRT_ERANGE when it does not fit */
int st_pathf(char *out, size_t cap, struct hrt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* mkdir -p with mode 0755 */
int st_mkdirs(const char *path, struct hrt_err *err);
/* fsync a folder / the folder that holds path */
int st_fsync_dir(const char *dir, struct hrt_err *err);
int st_fsync_parent(const char *path, struct hrt_err *err);
/* Read a whole regular file of at most max bytes (refusing anything
 * bigger, and symlinks when nofollow); *out is malloc'd with a NUL after
 * the *len bytes. HRT_ENOTFOUND when absent. */
int st_read_file(const char *path, size_t max, bool nofollow, char **out,
		 size_t *len, struct hrt_err *err);
int st_read_fd(int fd, const char *what, size_t max, char **out, size_t *len,
	       struct hrt_err *err);
/* Write buf to path crash-safely: temp file in the same folder, fsync,
 * rename over path, fsync of the folder. */
int st_write_atomic(const char *path, const void *buf, size_t len,
		    struct hrt_err *err);
/* write all / pread-all with EINTR handled; errors name what */
int st_write_all(int fd, const void *buf, size_t len, const char *what,
		 struct hrt_err *err);
/* Open path for reading: a regular file, no symlink in the last part.
 * *size gets its length. */
int st_open_regular(const char *path, int *fd, uint64_t *size,
		    struct hrt_err *err);
/* Store-wide lock on s->lockpath: shared for writers, exclusive for
 * rm/gc/fsck. Waits (telling o->progress) when another process holds it.
 * Returns the fd to give to st_unlock. */
int st_lock(const struct hrt_store *s, bool exclusive,
	    struct hrt_store_opts *o, int *fd, struct hrt_err *err);
void st_unlock(int fd);
/* Call o->progress if any; returns HRT_ECANCELED (with a message) when
 * the callback asked to stop. */
int st_progress(struct hrt_store_opts *o, const char *status,
		const struct hrt_digest *d, uint64_t total, uint64_t completed,
		struct hrt_err *err);
/* bytes free for unprivileged users on the file system of path; UINT64_MAX
 * if unknown */
uint64_t st_free_space(const char *path);
/* "1.2 GB" style */
void st_human_bytes(uint64_t n, char *out, size_t cap);
/* Copy an error record's message, prefixed: err->msg = prefix + old msg. */
void st_err_prefix(struct hrt_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- blob.c: blobs ---- */

/* s->blobs/<hex> */
int st_blob_path(const struct hrt_store *s, const struct hrt_digest *d,
		 char *out, size_t cap, struct hrt_err *err);
/* 1 when the blob exists with exactly size bytes (size UINT64_MAX: any
 * size), 0 when absent, an error when it exists with another size
 * (damage: run fsck). */
int st_blob_check(const struct hrt_store *s, const struct hrt_digest *d,
		  uint64_t size, struct hrt_err *err);

/* A blob on its way in with a known digest: a download that can resume,
 * or a copy. The .partial file is locked while this is open; a second
 * writer of the same digest waits, then finds the blob published. */
struct st_stage {
	struct hrt_digest digest;
	uint64_t size;        /* expected; UINT64_MAX: unknown (bounded by
			       * HRT_STORE_BLOB_MAX, set before verify) */
	int fd;               /* the .partial file, locked; -1 once closed */
	char path[ST_PATH];   /* .partial path */
	char pub[ST_PATH];    /* the file publish renames: path, or a hard
			       * link to an adopted file (linked) */
	bool linked;
	bool poisoned;        /* bad bytes came in: remove at close */
	uint64_t have;        /* bytes received, hashed into sha: in the
			       * file, or held in aw until verify or close */
	struct hrt_alignw aw; /* writes fd in whole 2 MiB pieces */
	crypto_hash_sha256_state sha; /* over the first `have` bytes */
	bool done;            /* the blob was already published: nothing to do */
	bool verified;        /* all bytes present and the digest matched */
};
/* Open the stage for d of size bytes: lock, resume what a previous run
 * left (re-hashing it), or report done. */
int st_stage_open(const struct hrt_store *s, const struct hrt_digest *d,
		  uint64_t size, struct st_stage *st, struct hrt_store_opts *o,
		  struct hrt_err *err);
/* Append bytes; more than the expected size is an error (the stage is then
 * poisoned and removed at close). */
int st_stage_write(struct st_stage *st, const void *buf, size_t len,
		   struct hrt_err *err);
/* Start over (the source ignored a resume request). */
int st_stage_reset(struct st_stage *st, struct hrt_err *err);
/* All bytes are in: check the digest (a mismatch deletes the file) and
 * fsync. */
int st_stage_verify(struct st_stage *st, struct hrt_err *err);
/* Give the verified file its name. */
int st_stage_publish(const struct hrt_store *s, struct st_stage *st,
		     struct hrt_err *err);
/* Release the lock; keep_partial false removes the .partial file. */
void st_stage_close(struct st_stage *st, bool keep_partial);

/* Stage the blob d from an open regular file (fd at any position; size
 * bytes), copying it — or, when link_ok and the file system allows,
 * hard-linking it — into a temp file, verified. *linked says which. The
 * result is published by st_stage_publish like a download. */
int st_stage_from_fd(const struct hrt_store *s, int fd, const char *what,
		     const struct hrt_digest *d, uint64_t size, bool link_ok,
		     bool *linked, struct st_stage *st, struct hrt_store_opts *o,
		     struct hrt_err *err);

/* The import writer (hrt_store_blob_begin) in two steps, so a file can be
 * checked between verification and publication: finish verifies and
 * fsyncs, st_writer_path names the temp file, publish renames it (or drops
 * it when the blob is already there: *was_new false) and frees w. */
int st_writer_finish(struct hrt_blob_writer *w, struct hrt_digest *got,
		     uint64_t *size, struct hrt_err *err);
const char *st_writer_path(const struct hrt_blob_writer *w);
int st_writer_publish(struct hrt_blob_writer *w, bool *was_new,
		      struct hrt_err *err);

/* Put a small buffer as a blob (verified by construction); *d gets its
 * digest. */
int st_blob_put_mem(const struct hrt_store *s, const void *buf, size_t len,
		    struct hrt_digest *d, struct hrt_err *err);
/* Read a small blob, checking size (when not UINT64_MAX) and digest. */
int st_blob_read(const struct hrt_store *s, const struct hrt_digest *d,
		 uint64_t size, size_t max, char **out, size_t *len,
		 struct hrt_err *err);

/* ---- manifest.c: JSON documents ---- */

struct st_desc {
	char media_type[128];
	struct hrt_digest digest;
	uint64_t size;
	char filepath[256];   /* org.cncf.model.filepath, "" if none */
	char role[32];        /* io.hearth.role, "" if none */
	char ref_name[256];   /* index.json entries: ref.name, "" if none */
	char artifact_type[128]; /* index.json entries, "" if none */
};

enum st_flavor {
	ST_OCI,    /* an OCI image manifest (ours, or another ModelPack tool's) */
	ST_OLLAMA  /* a Docker v2 manifest with application/vnd.ollama.* layers */
};

struct st_manifest {
	char media_type[128];
	char artifact_type[128];
	struct st_desc config;
	struct st_desc layers[HRT_STORE_MAX_LAYERS];
	size_t n_layers;
	int weights;   /* index of the GGUF layer, -1 if none */
	int settings;  /* hearth.json, -1 if none */
};

/* Parse and validate a manifest: schemaVersion 2, media types, every
 * digest strict, sizes integers within HRT_STORE_BLOB_MAX, no duplicate
 * keys, at most HRT_STORE_MAX_LAYERS layers; ST_OCI needs a weights layer
 * (ModelPack weight.v1.raw). Errors are HRT_EFORMAT naming the field. */
int st_manifest_parse(const char *buf, size_t len, enum st_flavor flavor,
		      struct st_manifest *m, struct hrt_err *err);
/* Serialize our manifest (deterministic bytes). *out malloc'd. */
int st_manifest_build(const struct st_manifest *m, char **out, size_t *len,
		      struct hrt_err *err);
/* sum of config and layer sizes */
uint64_t st_manifest_total(const struct st_manifest *m);

/* index.json of an OCI layout */
struct st_index {
	struct st_desc *m;
	size_t n;
};
int st_index_parse(const char *buf, size_t len, struct st_index *ix,
		   struct hrt_err *err);
int st_index_build(const struct st_index *ix, char **out, size_t *len,
		   struct hrt_err *err);
void st_index_free(struct st_index *ix);

/* The facts of a GGUF file that go into the config and settings. */
struct st_info {
	char architecture[64];
	char name[128];        /* general.name */
	char basename[64];     /* general.basename */
	char license[64];      /* general.license, when it looks like SPDX */
	char file_type[32];    /* "Q4_K_M" or "" */
	char precision[32];    /* single type name, or "mixed" */
	uint64_t n_params;
	uint64_t type_params[64]; /* parameters per tensor type id (< 64) */
	bool runnable;         /* the model loader accepted it */
};

/* hearth.json */
struct st_settings {
	char *template_text;
	char template_family[32];
	char *system;
	struct hrt_store_params params;
	uint64_t n_params;
	char file_type[32];
};
void st_settings_free(struct st_settings *st);
int st_settings_parse(const char *buf, size_t len, struct st_settings *st,
		      struct hrt_err *err);
int st_settings_build(const struct st_settings *st, const struct st_info *info,
		      char **out, size_t *len, struct hrt_err *err);

/* the ModelPack config blob */
struct st_config {
	char architecture[64];
	char param_size[32];
	char precision[32];
	char quantization[32];
	char format[32];
};
int st_config_parse(const char *buf, size_t len, struct st_config *c,
		    struct hrt_err *err);
int st_config_build(const struct st_info *info, const struct st_manifest *m,
		    char **out, size_t *len, struct hrt_err *err);
/* "2.5B" */
void st_param_size(uint64_t n, char *out, size_t cap);

/* params <-> JSON object (cJSON *), for settings and Ollama params */
struct cJSON;
int st_params_from_json(const struct cJSON *obj, bool skip_unknown,
			struct hrt_store_params *p, size_t *n_skipped,
			struct hrt_err *err);

/* ---- store.c: names and manifests on disk ---- */

int st_tag_path(const struct hrt_store *s, const struct hrt_name *n,
		char *out, size_t cap, struct hrt_err *err);
/* read name's manifest bytes; HRT_ENOTFOUND if the name is unknown */
int st_tag_read(const struct hrt_store *s, const struct hrt_name *n,
		char **out, size_t *len, struct hrt_err *err);
/* write a manifest under name, crash-safely (the caller has checked that
 * every blob it references is published) */
int st_tag_write(const struct hrt_store *s, const struct hrt_name *n,
		 const char *buf, size_t len, struct hrt_err *err);

/* ---- create.c: building models ---- */

/* Inspect a GGUF file (validated by the GGUF reader and the model loader). */
int st_inspect(const char *path, struct st_info *info,
	       struct hrt_store_opts *o, struct hrt_err *err);

/* Everything a new manifest is made of. */
struct st_recipe {
	struct hrt_digest weights;
	uint64_t weights_size;
	char weights_file[256];
	struct st_info info;
	struct st_settings settings;
	char *license;                /* joined text or NULL */
	struct hrt_digest adapters[HRT_STORE_MAX_LAYERS / 2];
	uint64_t adapter_sizes[HRT_STORE_MAX_LAYERS / 2];
	size_t n_adapters;
	struct st_desc docs[HRT_STORE_MAX_DOCS]; /* provenance layers (docs.c) */
	size_t n_docs;
};
void st_recipe_free(struct st_recipe *r);
/* TEMPLATE text: stored as given, its chat family recognised (never run) */
int st_recipe_template(struct st_recipe *r, const char *text,
		       struct hrt_store_opts *o, struct hrt_err *err);
/* Write settings, license and config blobs, the manifest, and the name
 * (under the shared store lock the caller holds). *id may be NULL. */
int st_recipe_commit(const struct hrt_store *s, const struct hrt_name *name,
		     struct st_recipe *r, struct hrt_digest *id,
		     struct hrt_err *err);

/* ---- http.c: the HTTP client (libcurl) ---- */

struct st_http;  /* one connection context for a host */

struct st_resp {
	long status;
	char location[2048];
	char www_auth[1024];
	char content_type[128];
	char docker_digest[80];
	char content_range[128];
	char range[128];
	char linked_etag[80];      /* X-Linked-Etag (Hugging Face) */
	uint64_t content_length;   /* UINT64_MAX if none */
	uint64_t linked_size;      /* X-Linked-Size, UINT64_MAX if none */
	char *body;                /* captured body (capped), NUL-terminated */
	size_t body_len;
};
void st_resp_free(struct st_resp *r);

/* where a response body goes */
struct st_sink {
	size_t max_mem;            /* capture up to this many bytes in body */
	struct st_stage *stage;    /* or stream into a stage */
	uint64_t expect_total;     /* stage: bytes the blob must have */
	bool range_asked;          /* stage: a resume was requested */
};

/* where a request body comes from */
struct st_source {
	const void *mem;           /* a buffer, or */
	int fd;                    /* a file (pread from off), -1 if none */
	uint64_t off, len;
};

struct st_req {
	const char *method;        /* GET HEAD POST PUT PATCH */
	const char *url;
	const char *const *headers;/* extra "Name: value" lines, NULL-terminated */
	const char *bearer;        /* token, or NULL */
	const char *basic;         /* "user:pass", or NULL */
	bool follow;               /* follow redirects (no credentials) */
	const struct st_source *body;
	struct st_sink *sink;
	const char *progress_status;
	const struct hrt_digest *progress_digest;
	uint64_t progress_base, progress_total;
};

int st_http_new(struct st_http **out, struct hrt_store_opts *o,
		struct hrt_err *err);
void st_http_free(struct st_http *h);
/* Perform one request. Transport failures are HRT_EIO (o->unreachable
 * set for resolve/connect failures); any HTTP status is returned in resp
 * for the caller to judge. */
int st_http_do(struct st_http *h, const struct st_req *rq, struct st_resp *resp,
	       struct hrt_err *err);
/* scheme://host[:port] of a URL and its host[:port] part */
int st_url_origin(const char *url, char *origin, size_t ocap, char *host,
		  size_t hcap, struct hrt_err *err);
/* Resolve a (possibly relative) Location against base into out. */
int st_url_resolve(const char *base, const char *loc, char *out, size_t cap,
		   struct hrt_err *err);

/* ---- registry.c: OCI distribution ---- */
struct st_reg;
int st_reg_open(struct st_reg **out, const struct hrt_store *s,
		const struct hrt_name *n, bool push, struct hrt_store_opts *o,
		struct hrt_err *err);
void st_reg_close(struct st_reg *r);
int st_reg_get_manifest(struct st_reg *r, const char *ref, char **out,
			size_t *len, struct hrt_err *err);
int st_reg_put_manifest(struct st_reg *r, const char *ref, const char *buf,
			size_t len, struct hrt_err *err);
/* 1 if the registry has the blob (with that size), 0 if not */
int st_reg_blob_exists(struct st_reg *r, const struct hrt_digest *d,
		       uint64_t size, struct hrt_err *err);
/* download into an open stage (resuming from st->have) */
int st_reg_blob_get(struct st_reg *r, struct st_stage *st, struct hrt_err *err);
/* upload size bytes of fd as blob d */
int st_reg_blob_put(struct st_reg *r, int fd, const struct hrt_digest *d,
		    uint64_t size, struct hrt_err *err);

/* WWW-Authenticate parsing (exposed for tests) */
struct st_challenge {
	char scheme[16];   /* "Bearer" / "Basic" */
	char realm[1024];
	char service[256];
	char scope[512];
};
int st_challenge_parse(const char *hdr, struct st_challenge *c,
		       struct hrt_err *err);

/* ---- pull.c ---- */
/* Check staged blobs of m before any is named: the config and hearth.json
 * parse, the weights are a GGUF model. */
int st_check_staged(const struct hrt_store *s, const struct st_manifest *m,
		    struct st_stage *stages, size_t n, struct hrt_store_opts *o,
		    struct hrt_err *err);

/* Ask o->admit (if any) whether the staged model m may be named dst:
 * called after every stage verified, before st_check_staged. */
int st_admit_staged(const struct hrt_store *s, const struct st_manifest *m,
		    struct st_stage *stages, size_t n, const struct hrt_name *dst,
		    struct hrt_store_opts *o, struct hrt_err *err);

/* ---- docs.c: provenance layers ---- */
/* a layer that carries a provenance record (by media type) */
bool st_is_doc(const struct st_desc *d);
/* Check docs, store each as a blob and merge its descriptor into
 * have[0..*n) (cap entries): a digest already there is skipped, a Sigstore
 * bundle replaces the one there. weights_file names the records' folder
 * in their filepath annotations. */
int st_docs_put(const struct hrt_store *s, const char *weights_file,
		const struct hrt_store_doc *docs, size_t n_docs, struct st_desc *have,
		size_t *n, size_t cap, struct hrt_err *err);
/* merge one descriptor the same way; HRT_ERANGE when there is no room */
int st_docs_merge(struct st_desc *have, size_t *n, size_t cap,
		  const struct st_desc *add, struct hrt_err *err);

/* ---- layout.c: OCI image layouts ---- */
/* pull from a layout folder or tar: path is "PATH[:ref]" */
int st_layout_pull(struct hrt_store *s, const char *path, const char *name,
		   struct hrt_store_opts *o, struct hrt_err *err);

/* ---- tar-safe names (layout.c; exposed for tests) ---- */
/* Normalise an archive member name ("./x" -> "x"); HRT_EFORMAT for an
 * absolute path, a ".." part, an empty part or a control character. */
int st_member_name(const char *in, char *out, size_t cap, struct hrt_err *err);

#endif
