/*
 * prov — genealogy of models: what a model is (an ID from its weights),
 * where it came from (lineage inferred from the weights, signed provenance
 * records), and whether it may be loaded (a policy checked at load time).
 *
 * Not here: the model store (records are plain byte blobs it can carry),
 * inference, HTTP. Every parser here (DSSE envelopes, in-toto statements,
 * OpenSSF Model Signing bundles, policy files, key files, SPDX license
 * expressions) is strict, size-capped and fuzzed (tests/fuzz/fuzz_prov*.c).
 *
 * Formats:
 *   DSSE v1          https://github.com/secure-systems-lab/dsse (PAE, envelope)
 *   in-toto v1       https://github.com/in-toto/attestation/tree/main/spec/v1
 *   OMS v1.0         predicate https://model_signing/signature/v1.0
 *                    (github.com/sigstore/model-transparency), "files" method
 *   SPDX 3.0.1       JSON-LD, AI + Dataset profiles
 *   CycloneDX 1.6    ML-BOM (machine-learning-model components, modelCard)
 *
 * ---------------------------------------------------------------------
 * MODEL ID (version 1), exact construction so others can re-implement it:
 *
 *   For every tensor of the GGUF file, in any order:
 *     shape  = ne[0..n_dims-1] with trailing dimensions of size 1 dropped
 *              (at least one dimension kept); ne[0] is the contiguous one
 *     leaf   = SHA-256( "hearth-tensor-v1" (16 bytes, no NUL)
 *                       || u32le(ggml type id) || u32le(len(shape))
 *                       || u64le(shape[0]) || ... || u64le(shape[len-1])
 *                       || u64le(number of data bytes)
 *                       || the tensor's data bytes exactly as stored )
 *   Sort the leaves as 32-byte strings (memcmp order), duplicates kept.
 *   root   = MTH(sorted leaves), the RFC 6962 Merkle tree hash:
 *              MTH({})        = SHA-256("")
 *              MTH({d})       = SHA-256(0x00 || d)
 *              MTH(D[0:n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
 *                               with k the largest power of two < n
 *   model ID = "hmid1:" || lowercase hex(root)
 *
 * Names, file offsets, tensor order, alignment padding and metadata are not
 * part of it: renaming, reordering or rewriting metadata keeps the ID;
 * changing any weight byte, type or shape changes it. The ID binds the
 * multiset of tensors, not which name each has: a signed record therefore
 * also carries the SHA-256 of the whole file (which binds everything).
 *
 * FINGERPRINT (hfp1): a 256-bit SimHash of the dequantized weights that
 * survives quantization (a few bits flip) but not retraining from another
 * seed (half the bits flip). Per 2-D tensor, 8 rows at positions fixed by
 * the shape, first min(ne[0], 256) columns, normalized to unit length,
 * projected on 256 pseudo-random +-1 vectors (splitmix64 of shape, row,
 * column, bit); projections summed over tensors; bit = sign. Robust to
 * renaming and reordering, not to permuted hidden units (lineage is).
 * ---------------------------------------------------------------------
 */
#ifndef HRT_PROV_H
#define HRT_PROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct hrt_gguf;

#define HRT_PROV_ID_PREFIX "hmid1:"
#define HRT_PROV_ID_STRLEN 70   /* "hmid1:" + 64 hex, without the NUL */
#define HRT_PROV_FP_PREFIX "hfp1:"
#define HRT_PROV_FP_BITS 256

/* in-toto predicate type of hearth provenance records */
#define HRT_PROV_PREDICATE "https://hearth.dev/provenance/v1"
#define HRT_INTOTO_STATEMENT "https://in-toto.io/Statement/v1"
#define HRT_INTOTO_PAYLOAD "application/vnd.in-toto+json"
#define HRT_OMS_PREDICATE "https://model_signing/signature/v1.0"
/* media types a store uses when it carries the records as blobs */
#define HRT_PROV_MEDIA_DSSE "application/vnd.dsse.envelope.v1+json"
#define HRT_PROV_MEDIA_OMS "application/vnd.dev.sigstore.bundle.v0.3+json"

/* caps on untrusted inputs */
#define HRT_PROV_MAX_RECORD (1u << 20)    /* bytes of one envelope or bundle */
#define HRT_PROV_MAX_RECORDS 256          /* records read for one model */
#define HRT_PROV_MAX_POLICY (1u << 20)    /* bytes of a policy file */
#define HRT_PROV_MAX_PARENTS 16
#define HRT_PROV_MAX_DATASETS 64

/* ================================================================ ID */

struct hrt_prov_tensor_digest {
	char name[128];       /* for display only; not hashed (truncated) */
	uint8_t leaf[32];
};

struct hrt_prov_id {
	char id[HRT_PROV_ID_STRLEN + 1];   /* "hmid1:<hex>" */
	uint8_t root[32];
	char fingerprint[5 + 64 + 1];      /* "hfp1:<hex>", "" if not asked */
	bool have_file_sha;
	uint8_t file_sha256[32];
	char file_sha256_hex[65];
	uint64_t file_size;
	uint64_t n_tensors;
	uint64_t n_params;                 /* elements over all tensors */
	struct hrt_prov_tensor_digest *tensors; /* n_tensors, file order; NULL
						 * unless asked */
};

struct hrt_prov_id_opts {
	int n_threads;        /* <= 0: all online CPUs */
	bool file_sha256;     /* also the SHA-256 of the whole file */
	bool fingerprint;
	bool tensors;         /* keep per-tensor leaves */
};

/* Model ID (and optionally file SHA-256, fingerprint, leaves) of a GGUF
 * file. Hashing uses all threads: tensors are shared out, the whole-file
 * digest (if asked) runs beside them. Free with hrt_prov_id_free. */
int hrt_prov_id_file(const char *path, const struct hrt_prov_id_opts *o,
		     struct hrt_prov_id *out, struct hrt_err *err);
/* The same over an open file (file_sha256 needs the mapping: it hashes
 * hrt_gguf_base .. file size). */
int hrt_prov_id_gguf(const struct hrt_gguf *g, const struct hrt_prov_id_opts *o,
		     struct hrt_prov_id *out, struct hrt_err *err);
void hrt_prov_id_free(struct hrt_prov_id *id);

/* Only the fingerprint ("hfp1:<hex>"), cheap: reads 8 rows per tensor. */
int hrt_prov_fingerprint(const struct hrt_gguf *g, char out[5 + 64 + 1],
			 struct hrt_err *err);
/* Hamming distance of two fingerprints (0..256), -1 if either is malformed;
 * *log10_p (may be NULL) gets log10 of the chance that unrelated weights
 * come that close (binomial tail). */
int hrt_prov_fp_distance(const char *a, const char *b, double *log10_p);

/* SHA-256 of a whole file, streamed (never parsed). */
int hrt_prov_sha256_file(const char *path, uint8_t out[32], uint64_t *size,
			 struct hrt_err *err);

/* which SHA-256 does the bulk hashing: "openssl" (libcrypto loaded at run
 * time, SHA-NI) or "libsodium" (HEARTH_SHA256=sodium forces it) */
const char *hrt_prov_sha_backend(void);

/* lowercase hex of n bytes into out (2n+1 bytes) */
void hrt_prov_hex(const uint8_t *b, size_t n, char *out);
/* true when s is "hmid1:" + 64 lowercase hex */
bool hrt_prov_id_valid(const char *s);

/* ============================================================ lineage */

enum hrt_relation {
	HRT_REL_UNRELATED = 0,
	HRT_REL_IDENTICAL,
	HRT_REL_QUANTIZED,
	HRT_REL_FINETUNE,
	HRT_REL_ADAPTER,
	HRT_REL_MERGE,
};
const char *hrt_relation_name(enum hrt_relation r);
/* -1 if unknown */
int hrt_relation_from_name(const char *s);

/* how a tensor of B compares with its partner in A */
enum hrt_tensor_cmp {
	HRT_TC_SAME = 0,   /* equal values (after alignment) */
	HRT_TC_QNOISE,     /* differs by what re-quantization explains */
	HRT_TC_CHANGED,    /* a real change (see eff_rank) */
	HRT_TC_UNRELATED,  /* no partner related to it */
	HRT_TC_SKIPPED,    /* not comparable (type hearth cannot read, 0-variance) */
};

enum hrt_align { HRT_ALIGN_NONE = 0, HRT_ALIGN_ROWS, HRT_ALIGN_COLS };

struct hrt_lineage_tensor {
	char name_b[96];      /* tensor of B */
	char name_a[96];      /* its partner in A ("" if none) */
	uint32_t type_a, type_b;
	uint64_t rows, cols;
	enum hrt_tensor_cmp cmp;
	enum hrt_align align; /* how rows/columns were matched */
	double corr;          /* correlation of aligned values (sample) */
	double z;             /* its standard score under independence */
	double log10_p;       /* one-sided p of that tensor (with the
			       * multiple-test factor of the search) */
	double rel_delta;     /* ||B - A|| / ||A|| on the sample */
	double noise_ratio;   /* ||B - A||^2 / expected re-quantization noise */
	double energy_dir;    /* (|B|^2 - |A|^2) / |B - A|^2: +1 child B */
	int eff_rank;         /* of the delta (changed tensors), else 0 */
	double top2_share;    /* energy share of the top 2 singular values */
	bool suspicious;
};

struct hrt_lineage {
	bool related;
	double score;         /* median aligned correlation, 0..1 */
	double p_value;       /* under "independent weights"; may underflow to 0 */
	double log10_p;       /* never underflows */
	enum hrt_relation relation;
	int direction;        /* +1 B derives from A, -1 A from B, 0 unknown */
	bool same_id;         /* every tensor byte-identical, one to one */
	bool permuted;        /* some tensors needed row/column alignment */
	bool renamed;         /* some partners have different names */
	double distance;      /* mean over matrices of the unexplained relative
			       * delta^2 (changes fully, quantization noise
			       * x 1e-3, unpaired 1), for family trees */
	uint32_t main_type_a, main_type_b; /* most common matrix types */
	char type_a[16], type_b[16];       /* file types ("Q4_K_M") */
	double bpw_a, bpw_b;               /* bits per weight of the matrices */
	size_t n_tensors;
	struct hrt_lineage_tensor *t; /* every tensor of B, file order */
	size_t n_changed, n_suspicious;
	char summary[320];    /* one line for humans */
};

struct hrt_lineage_opts {
	int n_threads;        /* <= 0: all online CPUs */
	double alpha;         /* "related" when p < alpha; 0: 1e-6 */
	int sample_rows;      /* rows sampled per tensor; 0: 64 */
};

/* Compare B with A using only the weights. Both handles stay owned by the
 * caller. Free the result with hrt_lineage_free. */
int hrt_lineage_compare(const struct hrt_gguf *a, const struct hrt_gguf *b,
			const struct hrt_lineage_opts *o, struct hrt_lineage *out,
			struct hrt_err *err);
int hrt_lineage_files(const char *path_a, const char *path_b,
		      const struct hrt_lineage_opts *o, struct hrt_lineage *out,
		      struct hrt_err *err);
void hrt_lineage_free(struct hrt_lineage *l);
/* The JSON report (malloc'd; caller frees) and the human one. */
char *hrt_lineage_json(const struct hrt_lineage *l, const char *name_a,
		       const char *name_b);
/* verbose: one line per tensor */
void hrt_lineage_print(FILE *f, const struct hrt_lineage *l, const char *name_a,
		       const char *name_b, bool verbose);

/* family tree over n files: parent[i] = index or -1 (a root) */
struct hrt_family {
	size_t n;
	char **paths;
	int *parent;
	enum hrt_relation *relation;  /* to the parent */
	double *log10_p;              /* of the edge to the parent */
	bool *suspicious;             /* the edge shows a poison-like edit */
	char **note;                  /* e.g. "Q4_0", suspicious tensors */
	char **id;                    /* model IDs (computed) */
};
int hrt_family_build(const char *const *paths, size_t n,
		     const struct hrt_lineage_opts *o, struct hrt_family *out,
		     struct hrt_err *err);
void hrt_family_free(struct hrt_family *f);
void hrt_family_print(FILE *f, const struct hrt_family *fam);
char *hrt_family_json(const struct hrt_family *fam);

/* ===================================================== keys, records */

struct hrt_prov_key {
	uint8_t pk[32];
	uint8_t sk[64];
	bool has_secret;
	char keyid[65];       /* hex SHA-256 of the 32 public key bytes */
	char name[64];
	int64_t expires;      /* unix seconds; 0: never */
};

/* New Ed25519 key pair. */
int hrt_prov_keygen(struct hrt_prov_key *k, const char *name, int64_t expires,
		    struct hrt_err *err);
/* Write DIR/NAME.pub (JSON), DIR/NAME.pub.pem (SubjectPublicKeyInfo, for
 * other tools) and DIR/NAME.key (JSON, mode 0600; refuses to overwrite). */
int hrt_prov_key_save(const struct hrt_prov_key *k, const char *dir,
		      struct hrt_err *err);
/* Read a key file (.pub or .key JSON, or a PEM Ed25519 public key). */
int hrt_prov_key_load(const char *path, struct hrt_prov_key *k,
		      struct hrt_err *err);
int hrt_prov_key_parse(const char *buf, size_t len, struct hrt_prov_key *k,
		       struct hrt_err *err);
/* PEM SubjectPublicKeyInfo text of the public key (caller frees) */
char *hrt_prov_key_pem(const struct hrt_prov_key *k);
void hrt_prov_key_wipe(struct hrt_prov_key *k);

/* a set of trusted public keys */
struct hrt_prov_trust {
	size_t n, cap;
	struct hrt_prov_key *keys;
};
int hrt_prov_trust_add(struct hrt_prov_trust *t, const struct hrt_prov_key *k,
		       struct hrt_err *err);
/* every *.pub / *.pem in dir */
int hrt_prov_trust_add_dir(struct hrt_prov_trust *t, const char *dir,
			   struct hrt_err *err);
const struct hrt_prov_key *hrt_prov_trust_find(const struct hrt_prov_trust *t,
					       const char *keyid);
void hrt_prov_trust_free(struct hrt_prov_trust *t);

/* --- DSSE --- */

/* PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
int hrt_dsse_pae(const char *type, const uint8_t *body, size_t n,
		 uint8_t **out, size_t *out_len, struct hrt_err *err);

#define HRT_DSSE_MAX_SIGS 8
struct hrt_dsse {
	char payload_type[128];
	uint8_t *payload;     /* decoded */
	size_t payload_len;
	size_t n_sigs;
	struct {
		char keyid[65];   /* "" if absent */
		uint8_t sig[64];
		bool sig_len_ok;  /* decoded to 64 bytes */
	} sigs[HRT_DSSE_MAX_SIGS];
};
/* Strict parse of an envelope (JSON object). */
int hrt_dsse_parse(const char *json, size_t len, struct hrt_dsse *out,
		   struct hrt_err *err);
void hrt_dsse_free(struct hrt_dsse *e);
/* Sign payload into a new envelope JSON (caller frees *out). */
int hrt_dsse_sign(const char *payload_type, const uint8_t *payload, size_t n,
		  const struct hrt_prov_key *k, char **out, struct hrt_err *err);
/* Index of the first signature made by k that verifies, or -1. */
int hrt_dsse_verify(const struct hrt_dsse *e, const struct hrt_prov_key *k);

/* --- hearth provenance statements (in-toto Statement v1) --- */

struct hrt_prov_parent {
	char id[HRT_PROV_ID_STRLEN + 1];
	char relation[16];    /* hrt_relation_name */
	char name[128];       /* informative ("" if none) */
};
struct hrt_prov_dataset {
	char uri[512];
	char sha256[65];      /* "" if not given */
	char license[256];    /* SPDX expression, "" if not given */
};
struct hrt_prov_claim {
	char model_id[HRT_PROV_ID_STRLEN + 1];
	char file_sha256[65];
	char file_name[256];
	uint64_t file_size;
	char name[256];       /* model name */
	char license[256];    /* SPDX expression, "" if none */
	char arch[64];
	char fingerprint[5 + 64 + 1];
	int64_t created;      /* unix seconds */
	int64_t expires;      /* 0: never */
	size_t n_parents;
	struct hrt_prov_parent parents[HRT_PROV_MAX_PARENTS];
	size_t n_datasets;
	struct hrt_prov_dataset datasets[HRT_PROV_MAX_DATASETS];
};
int hrt_prov_statement_build(const struct hrt_prov_claim *c, char **out,
			     struct hrt_err *err);
/* Strict parse of the statement bytes of a DSSE payload. */
int hrt_prov_statement_parse(const uint8_t *json, size_t len,
			     struct hrt_prov_claim *c, struct hrt_err *err);

/* --- OpenSSF Model Signing v1.0 (files method, one resource) --- */

/* The in-toto statement over the file (name = its base name). */
int hrt_oms_statement(const char *file_name, const uint8_t sha256[32],
		      char **out, struct hrt_err *err);
/* A Sigstore bundle v0.3 (JSON) with a DSSE envelope signed by k. */
int hrt_oms_bundle(const char *file_name, const uint8_t sha256[32],
		   const struct hrt_prov_key *k, char **out, struct hrt_err *err);
struct hrt_oms_manifest {
	char model_name[256];
	size_t n;
	struct { char name[256]; char sha256[65]; } res[16];
	char root_sha256[65];
	char key_hint[65];    /* verificationMaterial.publicKey.hint ("" if none):
			       * hex SHA-256 of the signer's PEM public key */
};
/* Strict parse of a bundle; checks the subject digest against the resources.
 * *env gets the envelope (caller frees with hrt_dsse_free). */
int hrt_oms_parse(const char *json, size_t len, struct hrt_dsse *env,
		  struct hrt_oms_manifest *m, struct hrt_err *err);

/* --- where records live --- */

/* Records of MODEL live in "MODEL.hearth-prov/": hearth envelopes as
 * "<sha256 of the bytes>.dsse.json" (content-addressed, so ancestors'
 * records copied in never collide, and a store can keep each one as a blob
 * whose digest is its name) and the OMS bundle as "model.sig". */
struct hrt_prov_record {
	uint8_t *bytes;
	size_t len;
	char sha256[65];
	char origin[512];     /* file it came from, or what the caller says */
	bool oms;             /* an OMS bundle rather than a hearth envelope */
};
struct hrt_prov_records {
	size_t n, cap;
	struct hrt_prov_record *r;
};
/* "<model_path>.hearth-prov" into out */
int hrt_prov_records_dir(const char *model_path, char *out, size_t cap,
			 struct hrt_err *err);
/* Read every record in dir (missing dir: nothing, HRT_OK). */
int hrt_prov_records_load(struct hrt_prov_records *rs, const char *dir,
			  struct hrt_err *err);
/* Add one record from memory (a store's blob); copied. */
int hrt_prov_records_add(struct hrt_prov_records *rs, const void *bytes,
			 size_t len, bool oms, const char *origin,
			 struct hrt_err *err);
/* Write a record into dir (created if needed), crash-safely; a hearth
 * envelope goes to "<sha256>.dsse.json", an OMS bundle to "model.sig".
 * sha_out (65 bytes, may be NULL) gets the digest. */
int hrt_prov_records_save(const char *dir, const void *bytes, size_t len,
			  bool oms, char *sha_out, struct hrt_err *err);
void hrt_prov_records_free(struct hrt_prov_records *rs);

/* ========================================================== reports */

enum hrt_prov_line {
	HRT_PL_CLAIM = 0,   /* what a record or the file says */
	HRT_PL_OK,          /* checked and true */
	HRT_PL_FAIL,        /* checked and false: the model is refused */
	HRT_PL_WARN,        /* could not be checked; not required */
	HRT_PL_INFO,
};

/* why a check failed (the first failure is rep->reason) */
enum hrt_prov_reason {
	HRT_PR_NONE = 0,
	HRT_PR_NO_RECORD,          /* no signed record for this file */
	HRT_PR_BAD_RECORD,         /* a record does not parse */
	HRT_PR_BAD_SIGNATURE,      /* signature does not verify (tampered record) */
	HRT_PR_WRONG_KEY,          /* signed, but not by the key asked for */
	HRT_PR_UNTRUSTED_KEY,      /* signed by a key not trusted */
	HRT_PR_KEY_EXPIRED,
	HRT_PR_RECORD_EXPIRED,
	HRT_PR_WEIGHTS_CHANGED,    /* model ID differs from the signed one */
	HRT_PR_METADATA_CHANGED,   /* same weights, different file bytes */
	HRT_PR_LICENSE,            /* license missing or not allowed */
	HRT_PR_ANCESTRY,           /* no signed chain to a trusted root */
	HRT_PR_PARENT_MISMATCH,    /* claimed parent not supported by the weights */
	HRT_PR_SUSPICIOUS,         /* poison-like edit against the parent */
	HRT_PR_BAD_FILE,           /* the model file cannot be read */
};
const char *hrt_prov_reason_name(enum hrt_prov_reason r);

struct hrt_prov_report {
	bool allowed;                /* final decision (enforce/verify) */
	enum hrt_prov_reason reason; /* first failure, HRT_PR_NONE if allowed */
	char model_path[512];
	char model_id[HRT_PROV_ID_STRLEN + 1]; /* "" if not computed */
	char file_sha256[65];
	size_t n, cap;
	struct {
		enum hrt_prov_line kind;
		enum hrt_prov_reason reason;
		char text[400];
	} *lines;
};
void hrt_prov_report_init(struct hrt_prov_report *r);
void hrt_prov_report_free(struct hrt_prov_report *r);
/* add a line; a FAIL line also sets allowed = false and the first reason */
void hrt_prov_report_add(struct hrt_prov_report *r, enum hrt_prov_line kind,
			 enum hrt_prov_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Readable text: claimed / verified / failed sections. */
void hrt_prov_report_print(FILE *f, const struct hrt_prov_report *r);
char *hrt_prov_report_json(const struct hrt_prov_report *r);

/* ======================================================= sign, verify */

struct hrt_prov_sign_opts {
	const struct hrt_prov_key *key;      /* with secret */
	size_t n_parents;
	struct hrt_prov_parent parents[HRT_PROV_MAX_PARENTS];
	/* a parent given as a file: its ID is computed and its records are
	 * copied beside the child (NULL entries for parents given as IDs) */
	const char *parent_paths[HRT_PROV_MAX_PARENTS];
	size_t n_datasets;
	struct hrt_prov_dataset datasets[HRT_PROV_MAX_DATASETS];
	const char *license;    /* NULL: general.license of the file */
	const char *name;       /* NULL: general.name of the file */
	int64_t expires;        /* 0: never */
	bool no_oms;            /* do not write the OMS bundle */
	const char *records_dir;/* NULL: beside the model */
	const char *file_name;  /* the file's name in the statement and the OMS
				 * bundle; NULL: the base name of model_path
				 * (a store passes its layer's file name) */
	int n_threads;
};
/* Hash the model, build and sign the statement, write the envelope (and
 * the OMS bundle) into the records dir. out_claim (may be NULL) gets what
 * was signed. */
int hrt_prov_sign(const char *model_path, const struct hrt_prov_sign_opts *o,
		  struct hrt_prov_claim *out_claim, struct hrt_err *err);

struct hrt_prov_verify_opts {
	const struct hrt_prov_trust *trust;  /* NULL or empty: nothing trusted */
	bool explicit_key;      /* trust holds exactly the key asked for:
				 * other signers are "wrong key" */
	const struct hrt_prov_records *records; /* NULL: read beside the file */
	const uint8_t *known_sha256; /* the file's SHA-256 if the caller already
				      * verified it (a store blob); else NULL */
	int64_t now;            /* 0: time(NULL) */
	int n_threads;
};

/* A verified statement: signature good, key trusted and valid. */
struct hrt_prov_verified {
	bool ok;                  /* a trusted, valid record matches the file */
	struct hrt_prov_claim claim;  /* that record */
	char keyid[65];
	char key_name[64];
	/* every valid trusted statement found (for ancestry), subject IDs */
	size_t n_chain;
	struct hrt_prov_claim *chain;
};

/* Verification before parsing: SHA-256 of the file (or known_sha256),
 * then envelopes parsed and signatures checked; the GGUF parser sees the
 * file only afterwards, and only to name what changed when no record
 * matches (weights or metadata). rep gets every step. Returns HRT_OK when
 * verification ran (the result is out->ok / rep->allowed), an error when
 * it could not run (unreadable file, no memory). Free with
 * hrt_prov_verified_free. */
int hrt_prov_verify(const char *model_path, const struct hrt_prov_verify_opts *o,
		    struct hrt_prov_verified *out, struct hrt_prov_report *rep,
		    struct hrt_err *err);
void hrt_prov_verified_free(struct hrt_prov_verified *v);

/* Check an OMS bundle (model.sig) against the file: signature by a trusted
 * key and the file's digest in the manifest. Lines go to rep. */
int hrt_oms_verify_file(const char *model_path, const struct hrt_prov_records *rs,
			const struct hrt_prov_trust *trust,
			const uint8_t *known_sha256, struct hrt_prov_report *rep,
			struct hrt_err *err);

/* =========================================================== policy */

/* Licenses: SPDX expressions (ids, "+", AND, OR, WITH, parentheses). */
struct hrt_spdx;
int hrt_spdx_parse(const char *s, struct hrt_spdx **out, struct hrt_err *err);
void hrt_spdx_free(struct hrt_spdx *e);
/* true when the expression can be satisfied using only allowed licenses:
 * OR needs one side, AND both; "X WITH E" is allowed when "X WITH E" or X
 * is allowed (an exception only adds permissions); "X+" when "X+" or X is.
 * Ids compare case-insensitively. */
bool hrt_spdx_allowed(const struct hrt_spdx *e, const char *const *allowed,
		      size_t n_allowed);
/* canonical text (caller frees) */
char *hrt_spdx_text(const struct hrt_spdx *e);

struct hrt_policy;

/* Policy file (JSON object; unknown keys are an error):
 *   "version": 1,
 *   "trusted_keys": [ {"keyid": hex, "public": base64, "name": s,
 *                      "expires": "YYYY-MM-DD[THH:MM:SSZ]"} | "path.pub" ],
 *   "trusted_key_dirs": [ dir, ... ],
 *   "require_signature": bool,            (default false)
 *   "allowed_licenses": [ "MIT", "Apache-2.0", "GPL-2.0-only WITH ..." ],
 *   "require_license": bool,              (default: true if allowed_licenses)
 *   "check_dataset_licenses": bool,       (default true)
 *   "trusted_roots": [ "hmid1:..." ],
 *   "require_ancestry": bool,             (default: true if trusted_roots)
 *   "verify_parents": bool,               (default false)
 *   "model_dirs": [ dir, ... ],           (where parent files are looked for)
 *   "refuse_suspicious": bool             (default true)
 * Relative paths are relative to the policy file's folder. */
int hrt_policy_parse(const char *json, size_t len, const char *base_dir,
		     struct hrt_policy **out, struct hrt_err *err);
int hrt_policy_load(const char *path, struct hrt_policy **out,
		    struct hrt_err *err);
/* $HEARTH_POLICY (a path; must exist), else $HEARTH_HOME/policy.json
 * (default home ~/.local/share/hearth) if it exists. *out = NULL and
 * HRT_OK when there is no policy: behaviour is then unchanged. */
int hrt_policy_load_default(struct hrt_policy **out, struct hrt_err *err);
void hrt_policy_free(struct hrt_policy *p);
/* the path the default policy comes from ("" if none) */
const char *hrt_policy_path(const struct hrt_policy *p);

struct hrt_policy_ctx {
	const struct hrt_prov_records *records; /* NULL: beside the file */
	const uint8_t *known_sha256;  /* the store verified this digest */
	int64_t now;                  /* 0: time(NULL) */
	int n_threads;
};

/* Decide whether model_path may be loaded. With a policy requiring
 * signatures, the file's hash and signatures are checked before the GGUF
 * parser sees it. rep (initialized here; free with hrt_prov_report_free)
 * says what was claimed, verified and failed. Returns HRT_OK when allowed;
 * HRT_EINVAL with err "refused by policy: <first failure>" when refused
 * (rep->allowed false); another code when the check could not run. p ==
 * NULL allows everything without reading the file. */
int hrt_policy_enforce(const char *model_path, const struct hrt_policy *p,
		       struct hrt_prov_report *rep, struct hrt_err *err);
int hrt_policy_enforce_ex(const char *model_path, const struct hrt_policy *p,
			  const struct hrt_policy_ctx *ctx,
			  struct hrt_prov_report *rep, struct hrt_err *err);

/* ============================================================= SBOM */

enum hrt_sbom_format { HRT_SBOM_SPDX3 = 0, HRT_SBOM_CYCLONEDX };

/* SBOM of a model: its identity (file SHA-256, model ID), license, the
 * parents and datasets of its records (verified ones marked so) and of its
 * GGUF metadata (general.base_model.*, general.dataset.*; marked as
 * self-declared). trust may be NULL. *out is malloc'd JSON. */
int hrt_sbom_model(const char *model_path, enum hrt_sbom_format fmt,
		   const struct hrt_prov_trust *trust, int64_t now, char **out,
		   struct hrt_err *err);

/* ============================================================ misc */

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC) to unix seconds */
int hrt_prov_parse_time(const char *s, int64_t *out);
/* "YYYY-MM-DDTHH:MM:SSZ" into out (21 bytes) */
void hrt_prov_format_time(int64_t t, char out[21]);

#endif
