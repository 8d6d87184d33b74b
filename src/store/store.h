/*
 * store — hearth's content-addressed model store, and the ways models move
 * in and out of it: OCI registries, OCI image layouts (a folder or a tar on
 * a disk), plain HTTPS URLs of GGUF files, and an existing Ollama store.
 *
 * On disk, under $HEARTH_HOME/store:
 *   blobs/sha256/<64 hex>            every file, named by the SHA-256 of its bytes
 *   blobs/sha256/<64 hex>.partial    a download in progress (resumable; locked)
 *   blobs/sha256/.tmp-*              an import in progress (never a real name)
 *   manifests/<host>/<ns>/<model>/<tag>   one OCI image manifest, verbatim
 *   lock                              writers share it, rm/fsck take it alone
 *
 * A model is an OCI image manifest in the CNCF ModelPack form (artifactType
 * application/vnd.cncf.model.manifest.v1+json, see
 * https://github.com/modelpack/model-spec docs/spec.md and docs/config.md):
 *   config   application/vnd.cncf.model.config.v1+json   descriptor/config/modelfs
 *   layer    application/vnd.cncf.model.weight.v1.raw     the GGUF file
 *   layer    application/vnd.cncf.model.weight.config.v1.raw  "hearth.json":
 *            template text and family, system prompt, PARAMETER values,
 *            parameter count and type mix (role annotation io.hearth.role =
 *            "settings")
 *   layer    application/vnd.cncf.model.doc.v1.raw        LICENSE text (optional)
 *   layer    application/vnd.cncf.model.weight.v1.raw     ADAPTER files, role
 *            "adapter" (optional; stored, not applied yet)
 *   layer    application/vnd.dsse.envelope.v1+json        provenance records,
 *   layer    application/vnd.dev.sigstore.bundle.v0.3+json  role "provenance"
 *            (optional; signed statements about the weights blob, see
 *            "Provenance records" below; not listed in the config's diffIds)
 * Every layer names its file in org.cncf.model.filepath. The ModelPack config
 * schema is closed (additionalProperties: false), so hearth's own fields live
 * in the hearth.json layer, not in the config blob; other ModelPack tools
 * read our config, and we read theirs (a manifest with no hearth.json layer
 * gets default settings). The manifest's digest is the model's ID.
 *
 * Rules that hold everywhere:
 * - A digest is "sha256:" + 64 lower-case hex digits and nothing else; it is
 *   parsed (hrt_digest_parse) before any path is built from it.
 * - A blob appears under its name only after its bytes were hashed and
 *   matched: temp file in the same folder, digest verified, fsync, rename,
 *   fsync of the folder. A manifest is written last, the same way.
 * - Concurrent writers are safe: two pulls of one model wait for each other
 *   per blob (flock on the .partial file), and rm/gc/fsck exclude writers
 *   (flock on store/lock). Readers take no lock: a blob is never rewritten.
 * - Bad input (a hostile registry, archive or manifest) gets an error that
 *   says what was wrong and leaves the store as it was; a download cut by
 *   the network keeps its .partial file so the next pull resumes it.
 * - Bearer tokens go only to the registry host that asked for them;
 *   credentials go to a token realm only on that same host.
 *
 * Not here: running models (infer/), HTTP serving (http/), provenance (prov/).
 */
#ifndef HRT_STORE_H
#define HRT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

/* --- media types (ModelPack v1, OCI) --- */
#define HRT_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HRT_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HRT_MT_MODEL_ARTIFACT "application/vnd.cncf.model.manifest.v1+json"
#define HRT_MT_MODEL_CONFIG "application/vnd.cncf.model.config.v1+json"
#define HRT_MT_MODEL_WEIGHT "application/vnd.cncf.model.weight.v1.raw"
#define HRT_MT_MODEL_WEIGHT_CONFIG "application/vnd.cncf.model.weight.config.v1.raw"
#define HRT_MT_MODEL_DOC "application/vnd.cncf.model.doc.v1.raw"
#define HRT_ANN_FILEPATH "org.cncf.model.filepath"
#define HRT_ANN_ROLE "io.hearth.role"
#define HRT_ANN_REF_NAME "org.opencontainers.image.ref.name"
/* provenance records carried as layers (the same strings as prov/'s
 * HRT_PROV_MEDIA_DSSE and HRT_PROV_MEDIA_OMS; the store does not read them) */
#define HRT_MT_DSSE "application/vnd.dsse.envelope.v1+json"
#define HRT_MT_SIGSTORE_BUNDLE "application/vnd.dev.sigstore.bundle.v0.3+json"

/* --- limits on what we accept from outside --- */
#define HRT_STORE_MANIFEST_MAX ((size_t)4 << 20)  /* manifest, index.json */
#define HRT_STORE_SMALL_MAX ((uint64_t)16 << 20)  /* config, hearth.json, LICENSE */
#define HRT_STORE_BLOB_MAX ((uint64_t)1 << 42)    /* 4 TiB: any single blob */
#define HRT_STORE_MAX_LAYERS 64
#define HRT_STORE_MAX_STOPS 16
#define HRT_STORE_MAX_DOCS 32                     /* provenance layers per model */
#define HRT_STORE_DOC_MAX ((size_t)1 << 20)       /* bytes of one of them */

/* ------------------------------------------------------------------ */
/* Digests and names (pure functions, no I/O)                          */

/* A validated sha256 digest: hex holds 64 lower-case hex digits + NUL. */
struct hrt_digest {
	char hex[65];
};

/* Parse "sha256:<64 lower-case hex>" of exactly len bytes (s need not be
 * NUL-terminated). Anything else — another algorithm, upper case, a short
 * or long digest, "../", NUL bytes — is HRT_EFORMAT with the reason. */
int hrt_digest_parse(const char *s, size_t len, struct hrt_digest *out,
		     struct hrt_err *err);
/* "sha256:<hex>" into out (at least 72 bytes). */
void hrt_digest_str(const struct hrt_digest *d, char *out, size_t cap);
/* The digest of a buffer. */
void hrt_digest_of(const void *buf, size_t len, struct hrt_digest *out);

/* A model name: host/ns/model:tag. Parts that are omitted take defaults:
 * host HRT_NAME_DEFAULT_HOST (this machine), ns "library", tag "latest".
 *   model           model[.-_]parts: lower-case letters, digits, and . _ -
 *                   between them (the OCI path-component rule), 1..128 bytes
 *   ns/model        namespace, same rule
 *   host/ns/model   host: lower-case DNS name or IPv4, optional :port
 *   ...:tag         [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * Nothing else: no "..", no empty parts, no more than three parts. */
#define HRT_NAME_DEFAULT_HOST "hearth.local"
struct hrt_name {
	char host[256];
	char ns[129];
	char model[129];
	char tag[129];
};

int hrt_name_parse(const char *s, struct hrt_name *out, struct hrt_err *err);
/* Short form for people: "model:tag" for library models of this machine,
 * "ns/model:tag" for other namespaces, "host/ns/model:tag" otherwise. */
void hrt_name_str(const struct hrt_name *n, char *out, size_t cap);
/* Always "host/ns/model:tag". */
void hrt_name_full(const struct hrt_name *n, char *out, size_t cap);
bool hrt_name_eq(const struct hrt_name *a, const struct hrt_name *b);
/* true when the name carries a registry host (not the default one) */
bool hrt_name_is_remote(const struct hrt_name *n);

/* ------------------------------------------------------------------ */
/* Model settings: PARAMETER values, and a Modelfile                   */

enum hrt_store_param {
	HRT_P_TEMPERATURE,
	HRT_P_TOP_K,
	HRT_P_TOP_P,
	HRT_P_MIN_P,
	HRT_P_REPEAT_PENALTY,
	HRT_P_REPEAT_LAST_N,
	HRT_P_PRESENCE_PENALTY,
	HRT_P_FREQUENCY_PENALTY,
	HRT_P_SEED,
	HRT_P_STOP,
	HRT_P_NUM_CTX,
	HRT_P_NUM_PREDICT,
	HRT_P_COUNT
};

/* The known PARAMETER keys and their values. A field is meaningful only
 * when bit (1u << enum hrt_store_param) is set in `set`. */
struct hrt_store_params {
	uint32_t set;
	float temperature;      /* 0..100 */
	int32_t top_k;          /* 0..2^30 */
	float top_p, min_p;     /* 0..1 */
	float repeat_penalty;   /* 0..100 */
	int32_t repeat_last_n;  /* -1..2^30 */
	float presence_penalty, frequency_penalty; /* -100..100 */
	int64_t seed;           /* -1 (random) .. 2^53 */
	int32_t num_ctx;        /* 1..2^24 */
	int32_t num_predict;    /* -2..2^30 */
	char *stop[HRT_STORE_MAX_STOPS]; /* malloc'd, NUL-terminated, 1..255 bytes */
	size_t n_stop;
};

/* Name of a key ("temperature"); NULL for an out-of-range value. */
const char *hrt_store_param_name(enum hrt_store_param p);
/* Set key to the text value, validating both (unknown key: HRT_EINVAL
 * listing the known ones; bad value: HRT_ERANGE naming key and range).
 * "stop" appends (at most HRT_STORE_MAX_STOPS). */
int hrt_store_param_set(struct hrt_store_params *p, const char *key,
			const char *value, struct hrt_err *err);
/* Deep copy (dst is overwritten; free with hrt_store_params_free). */
int hrt_store_params_copy(struct hrt_store_params *dst,
			  const struct hrt_store_params *src);
/* Free the stop strings and zero *p. NULL is a no-op. */
void hrt_store_params_free(struct hrt_store_params *p);

/* A parsed Modelfile (the peer's directives). Strings are malloc'd and
 * owned; free with hrt_modelfile_free. */
struct hrt_modelfile {
	char *from;            /* path, model name or sha256:<hex> (required) */
	char *template_text;   /* TEMPLATE, or NULL */
	char *system;          /* SYSTEM, or NULL */
	char **licenses;       /* LICENSE, each one text */
	size_t n_licenses;
	char **adapters;       /* ADAPTER paths (or sha256:<hex>) */
	size_t n_adapters;
	struct hrt_store_params params; /* PARAMETER lines */
};

/* Parse Modelfile text (len bytes, at most 4 MiB). Directives are FROM,
 * PARAMETER, TEMPLATE, SYSTEM, LICENSE, ADAPTER (case-insensitive), '#'
 * comments and blank lines. A value is the rest of the line, a "quoted"
 * string (\" and \\ escapes) or a """multi-line""" block. Errors name the
 * line: HRT_EFORMAT for syntax, HRT_ENOTSUP for MESSAGE and other peer
 * directives hearth does not implement, HRT_EINVAL/HRT_ERANGE for a bad
 * PARAMETER. On failure *out is zeroed. */
int hrt_modelfile_parse(const char *text, size_t len, struct hrt_modelfile *out,
			struct hrt_err *err);
void hrt_modelfile_free(struct hrt_modelfile *mf);

/* ------------------------------------------------------------------ */
/* The store                                                           */

struct hrt_store;

/* Open (creating the folders) the store under home ($HEARTH_HOME, e.g.
 * ~/.local/share/hearth): it lives in home/store. Free with
 * hrt_store_close. The handle may be shared by threads: every operation
 * opens its own locks and files. */
int hrt_store_open(struct hrt_store **out, const char *home,
		   struct hrt_err *err);
void hrt_store_close(struct hrt_store *s);
/* home/store (no trailing slash); valid until close */
const char *hrt_store_root(const struct hrt_store *s);

/* Progress of a long operation. status is a short phrase ("pulling",
 * "verifying", "exists", "uploading", "writing manifest", "success", or a
 * note such as "waiting for another pull of this blob"); digest is
 * "sha256:<hex>" or NULL; total/completed in bytes (0 when not known). */
struct hrt_store_progress {
	const char *status;
	const char *digest;
	uint64_t total;
	uint64_t completed;
};
/* Return non-zero to cancel the operation (it then fails with
 * HRT_ECANCELED; a download keeps its .partial file). */
typedef int (*hrt_store_progress_fn)(void *ctx,
				     const struct hrt_store_progress *p);

/* A provenance record a model carries as a layer: a DSSE envelope (a
 * hearth in-toto statement) or a Sigstore bundle (OpenSSF Model Signing).
 * The store keeps, moves and hands out the bytes; what they mean, and
 * whether they verify, is prov/'s business (the seam is
 * hrt_store_admit_fn). media_type is HRT_MT_DSSE or HRT_MT_SIGSTORE_BUNDLE. */
struct hrt_store_doc {
	const char *media_type;
	const void *bytes;
	size_t len;            /* 1 .. HRT_STORE_DOC_MAX */
};

/* Admission of a pulled model, called once every blob of it has been
 * downloaded and its digest verified, before anything gets a name (and
 * before the GGUF parser sees the weights): weights_path is the verified
 * weights file (in a temp place: read it, do not keep the path), weights
 * its digest, docs the provenance layers the manifest carries (none for a
 * plain URL). name is the name the model would get. Return HRT_OK to let
 * the pull publish it; anything else refuses it: the pull then fails with
 * that code and err, and no name appears (downloaded blobs are dropped or
 * left for gc). */
typedef int (*hrt_store_admit_fn)(void *ctx, const struct hrt_name *name,
				  const char *weights_path,
				  const struct hrt_digest *weights,
				  const struct hrt_store_doc *docs, size_t n_docs,
				  struct hrt_err *err);

struct hrt_store_opts {
	hrt_store_progress_fn progress; /* may be NULL */
	void *progress_ctx;
	bool insecure;        /* allow plain http:// registries and URLs */
	uint64_t limit_rate;  /* bytes/s for transfers; 0 = no limit */
	uint64_t chunk;       /* push: PATCH chunk size; blobs up to it go in one
			       * PUT. 0 = $HEARTH_UPLOAD_CHUNK or 64 MiB */
	const char *auth;     /* "user:pass" for the registry, or NULL:
			       * $HEARTH_REGISTRY_AUTH, then home/auth.json */
	const char *digest;   /* pull of a URL: the expected "sha256:<hex>" */
	bool no_paths;        /* create: FROM and ADAPTER may name only models
			       * and sha256 blobs, never files (set this for
			       * requests that come from the network) */
	bool unreachable;     /* out: the failure was a host that could not be
			       * resolved or reached (looks offline) */
	hrt_store_admit_fn admit; /* pull: may the model come in? NULL: yes */
	void *admit_ctx;
	/* import/create from a file: provenance records to carry with it
	 * (copied into blobs; media types as in struct hrt_store_doc) */
	const struct hrt_store_doc *docs;
	size_t n_docs;
};

/* Import a GGUF file as name (hashing while copying into a temp file of
 * the blob folder; a second import of the same bytes stores no new blob).
 * The file is copied, never hard-linked: a link would share its inode with
 * a file the user may later edit in place, silently changing the bytes
 * under a content address. (Ollama's blobs, which are themselves
 * content-addressed and never rewritten, are linked by
 * hrt_store_import_ollama.)
 * The file must be a valid GGUF model (checked with the model loader;
 * architectures hearth cannot run yet are accepted, with a note through
 * progress). Existing settings of name are replaced. */
int hrt_store_import(struct hrt_store *s, const char *path, const char *name,
		     struct hrt_store_opts *o, struct hrt_err *err);

/* Create name from a parsed Modelfile. FROM may be a GGUF path (relative
 * paths are taken from base_dir, which may be NULL for the current
 * folder), a model in the store (its weights, settings, license and
 * adapters are the starting point), or "sha256:<hex>" / "@sha256:<hex>" of
 * a blob already stored (e.g. sent with hrt_store_blob_begin). ADAPTER
 * paths and digests likewise. */
int hrt_store_create(struct hrt_store *s, const char *name,
		     const struct hrt_modelfile *mf, const char *base_dir,
		     struct hrt_store_opts *o, struct hrt_err *err);
/* Same from Modelfile text. */
int hrt_store_create_text(struct hrt_store *s, const char *name,
			  const char *text, size_t len, const char *base_dir,
			  struct hrt_store_opts *o, struct hrt_err *err);

/* dst becomes another name of src's manifest (no blob is copied). */
int hrt_store_copy(struct hrt_store *s, const char *src, const char *dst,
		   struct hrt_err *err);
/* Remove a name; blobs no other manifest references are deleted. */
int hrt_store_delete(struct hrt_store *s, const char *name,
		     struct hrt_err *err);
/* Delete every blob no manifest references (and stale temp files) whose
 * inode changed more than grace_s seconds ago. Nothing is deleted while a
 * manifest cannot be read (its blobs are unknown). Counts may be NULL. */
int hrt_store_gc(struct hrt_store *s, long grace_s, size_t *n_removed,
		 uint64_t *bytes_removed, struct hrt_err *err);

/* --- blobs by digest (the server's HEAD|POST /api/blobs/:digest) --- */
bool hrt_store_blob_exists(struct hrt_store *s, const struct hrt_digest *d);
/* Path of the blob file (may not exist); out gets at least 4096 bytes. */
int hrt_store_blob_path(const struct hrt_store *s, const struct hrt_digest *d,
			char *out, size_t cap, struct hrt_err *err);

/* A blob being written: bytes go to a temp file in the blob folder and
 * are hashed as they come. commit verifies the digest (and size, when
 * known) and only then gives the file its name; abort (or a failed
 * commit) removes the temp file. */
struct hrt_blob_writer;
/* want: the expected digest, or NULL (learned at commit). size: the
 * expected byte count, or UINT64_MAX when unknown; writing more is an
 * error. */
int hrt_store_blob_begin(struct hrt_store *s, const struct hrt_digest *want,
			 uint64_t size, struct hrt_blob_writer **out,
			 struct hrt_err *err);
int hrt_store_blob_write(struct hrt_blob_writer *w, const void *buf,
			 size_t len, struct hrt_err *err);
/* Verify and publish; *got (may be NULL) receives the digest. w is freed
 * whatever the result. */
int hrt_store_blob_commit(struct hrt_blob_writer *w, struct hrt_digest *got,
			  struct hrt_err *err);
void hrt_store_blob_abort(struct hrt_blob_writer *w);

/* --- listing and lookup --- */
struct hrt_store_entry {
	struct hrt_name name;
	struct hrt_digest id;   /* digest of the manifest */
	uint64_t size;          /* config + layers */
	time_t modified;        /* when this name was last written */
	char weights[72];       /* "sha256:<hex>" of the GGUF, "" if none */
};
/* Every name in the store, sorted by name. Free with free(*out).
 * Manifests that cannot be read are skipped (hrt_store_fsck reports them). */
int hrt_store_list(struct hrt_store *s, struct hrt_store_entry **out,
		   size_t *n, struct hrt_err *err);

/* What a runtime needs to know about a named model. */
struct hrt_store_model {
	struct hrt_name name;
	struct hrt_digest id;       /* manifest digest */
	char *weights_path;         /* the GGUF blob, to be mapped in place */
	struct hrt_digest weights;
	char weights_file[256];     /* its file name in the manifest ("" if none) */
	size_t n_docs;              /* provenance layers (hrt_store_docs_read) */
	uint64_t size;              /* all blobs */
	time_t modified;
	/* from the ModelPack config ("" when absent) */
	char architecture[64];
	char param_size[32];        /* "2.5B" */
	char quantization[32];      /* "Q4_K_M" */
	char precision[32];
	uint64_t n_params;          /* 0 when unknown */
	/* from hearth.json (NULL / defaults when absent) */
	char *template_text;        /* TEMPLATE as written; never executed */
	char template_family[32];   /* hrt_chat_family_name of it, "" if none */
	char *system;               /* SYSTEM prompt */
	char *license;              /* LICENSE text(s), joined by blank lines */
	struct hrt_store_params params;
	char **adapter_paths;       /* ADAPTER blobs (not applied yet) */
	size_t n_adapters;
};

/* Find name (HRT_ENOTFOUND if absent, HRT_EFORMAT if its manifest or
 * settings cannot be read); *out is malloc'd, free with
 * hrt_store_model_free. The weights blob must exist (HRT_ENOTFOUND
 * pointing at `hearth fsck` otherwise). */
int hrt_store_lookup(struct hrt_store *s, const char *name,
		     struct hrt_store_model **out, struct hrt_err *err);
void hrt_store_model_free(struct hrt_store_model *m);
/* true when the model carries ADAPTER files. hearth does not apply LoRA
 * adapters yet: a runtime must refuse or warn (hrt_store_adapter_note). */
bool hrt_store_model_has_adapters(const struct hrt_store_model *m);
/* One line to show the user about such a model. Static text. */
const char *hrt_store_adapter_note(void);

/* The manifest bytes of name (malloc'd, *len bytes + NUL). */
int hrt_store_manifest_read(struct hrt_store *s, const char *name,
			    char **out, size_t *len, struct hrt_err *err);

/* ------------------------------------------------------------------ */
/* Provenance records                                                  */
/*
 * Records travel as layers of the model's manifest (role "provenance",
 * filepath "<weights file>.hearth-prov/<sha256>.dsse.json" or ".../model.sig",
 * the layout prov/ reads beside a file), so push, pull and export carry
 * them like any layer. They are statements about the weights blob, so a
 * model created FROM another keeps them. A model has at most one
 * Sigstore bundle (a new one replaces the old, as model.sig does beside a
 * file) and any number of envelopes up to HRT_STORE_MAX_DOCS.
 */

/* The records of name, read and digest-checked. Free with
 * hrt_store_docs_free (bytes are malloc'd here; media_type points at the
 * HRT_MT_* constants). *weights (may be NULL) gets the weights digest. */
struct hrt_store_docs {
	size_t n;
	struct hrt_store_doc *v;
};
int hrt_store_docs_read(struct hrt_store *s, const char *name,
			struct hrt_store_docs *out, struct hrt_digest *weights,
			struct hrt_err *err);
void hrt_store_docs_free(struct hrt_store_docs *d);
/* Add records to name: their blobs are written, then a new manifest with
 * the layers appended (records already there are not added twice; a
 * Sigstore bundle replaces the old one). *id (may be NULL) gets the new
 * manifest digest. */
int hrt_store_docs_add(struct hrt_store *s, const char *name,
		       const struct hrt_store_doc *docs, size_t n,
		       struct hrt_digest *id, struct hrt_err *err);

/* ------------------------------------------------------------------ */
/* Moving models                                                       */

/* Pull src into the store as name (NULL: a name taken from src):
 *   host/ns/model:tag      an OCI registry (https; http with o->insecure)
 *   oci:PATH[:ref]         an OCI image layout, a folder or a .tar of it
 *   https://.../file.gguf  a GGUF file (Hugging Face resolve/ URLs give
 *                          their digest; otherwise o->digest is needed)
 * Every blob is verified before it gets its name; the manifest comes last.
 * A download interrupted by the network resumes on the next call. */
int hrt_store_pull(struct hrt_store *s, const char *src, const char *name,
		   struct hrt_store_opts *o, struct hrt_err *err);
/* The name a URL pull would choose (hf.co/owner/repo:file-stem, or
 * host/library/stem:latest); HRT_EINVAL if none can be made. */
int hrt_store_url_name(const char *url, struct hrt_name *out,
		       struct hrt_err *err);

/* Push name to dst (a registry name host/ns/model:tag; NULL: name itself
 * must carry a host). Blobs the registry has are not sent again. */
int hrt_store_push(struct hrt_store *s, const char *name, const char *dst,
		   struct hrt_store_opts *o, struct hrt_err *err);

/* Write name as an OCI image layout into path: a folder (created, or an
 * existing layout to which the model is added) or, when path ends in
 * ".tar", a tar file (written to a temp file, then renamed). index.json
 * names the model in org.opencontainers.image.ref.name. */
int hrt_store_export(struct hrt_store *s, const char *name, const char *path,
		     struct hrt_store_opts *o, struct hrt_err *err);

/* Adopt every model of an Ollama store (dir: its "models" folder, NULL for
 * ~/.ollama/models): blobs are hard-linked where the file system allows
 * and copied otherwise, each one verified; template/system/params/license
 * layers become hearth settings. Progress reports each model. *n_ok and
 * *n_failed (may be NULL) count models; a model that fails is skipped and
 * reported, and the call fails only if none could be imported. */
int hrt_store_import_ollama(struct hrt_store *s, const char *dir,
			    struct hrt_store_opts *o, size_t *n_ok,
			    size_t *n_failed, struct hrt_err *err);

/* ------------------------------------------------------------------ */
/* Checking                                                            */

enum hrt_fsck_kind {
	HRT_FSCK_PROBLEM, /* damage: a corrupt blob, a manifest that cannot be
			   * read or points at a missing blob */
	HRT_FSCK_NOTE     /* harmless: partial downloads, temp files,
			   * unreferenced blobs */
};
typedef void (*hrt_fsck_report_fn)(void *ctx, enum hrt_fsck_kind kind,
				   const char *msg);
struct hrt_fsck_opts {
	bool quick;   /* sizes only: do not re-hash blobs */
	bool repair;  /* delete corrupt blobs, temp files and unreferenced
		       * blobs (manifests are never deleted: rm them) */
	hrt_fsck_report_fn report;
	void *report_ctx;
};
/* Check the whole store; *n_problems gets the count of PROBLEM reports. */
int hrt_store_fsck(struct hrt_store *s, const struct hrt_fsck_opts *o,
		   size_t *n_problems, struct hrt_err *err);

#endif
