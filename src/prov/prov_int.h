/*
 * prov/prov_int — what the prov files share with each other and with
 * their unit tests: strict JSON helpers over cJSON, the tensor view the
 * lineage code works on, small numeric kernels. Not a public API.
 */
#ifndef HRT_PROV_INT_H
#define HRT_PROV_INT_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>
#include <sodium.h>

#include "prov/prov.h"

/* sodium_init once; false if libsodium cannot start */
bool prov_sodium_ready(void);

/* bulk SHA-256 (sha.c): OpenSSL's libcrypto when it can be loaded (SHA-NI),
 * else libsodium; the same digest either way */
struct prov_sha {
	void *evp;                      /* EVP_MD_CTX, or NULL: st */
	crypto_hash_sha256_state st;
};
void prov_sha_init(struct prov_sha *s);
void prov_sha_update(struct prov_sha *s, const void *p, size_t n);
void prov_sha_final(struct prov_sha *s, uint8_t out[32]);
void prov_sha256(const void *p, size_t n, uint8_t out[32]);
/* "openssl" or "libsodium" */
const char *prov_sha_backend(void);

/* hex text (exactly 2n lowercase or uppercase digits) into n bytes */
bool prov_unhex(const char *s, uint8_t *out, size_t n);
bool prov_is_hex(const char *s, size_t n_chars);

/* base64 (standard or URL-safe, padding optional) into a malloc'd buffer */
int prov_b64_decode(const char *s, uint8_t **out, size_t *len);
/* standard base64 with padding, malloc'd NUL-terminated */
char *prov_b64_encode(const uint8_t *b, size_t n);

/* --- strict JSON: parse with a depth cap, refuse unknown keys --- */
#define PROV_JSON_MAX_DEPTH 16
/* parse len bytes (need not be NUL-terminated); NULL + err if bad,
 * too deep, or followed by anything but whitespace */
cJSON *prov_json_parse(const char *buf, size_t len, const char *what,
		       struct hrt_err *err);
/* every member of obj is one of keys (NULL-terminated); duplicates refused */
int prov_json_keys(const cJSON *obj, const char *const *keys, const char *what,
		   struct hrt_err *err);
/* string member (required or not): copied into out (cap bytes), refusing
 * longer values and embedded NULs; absent optional -> "" */
int prov_json_str(const cJSON *obj, const char *key, bool required, char *out,
		  size_t cap, const char *what, struct hrt_err *err);
/* boolean member; absent -> *out untouched */
int prov_json_bool(const cJSON *obj, const char *key, bool *out, const char *what,
		   struct hrt_err *err);

/* write a whole buffer crash-safely (path.tmp.<pid>, fsync, rename) */
int prov_write_file(const char *path, const void *buf, size_t len, int mode,
		    bool no_clobber, struct hrt_err *err);
/* read a small whole file (at most max bytes), malloc'd, NUL-terminated */
int prov_read_file(const char *path, size_t max, char **out, size_t *len,
		   struct hrt_err *err);

/* $HEARTH_HOME or $HOME/.local/share/hearth into out */
int prov_home(char *out, size_t cap);
/* The entries of the open directory d (named dir in messages) for which
 * want(name) holds, sorted by strcmp; more than max of them is HRT_ERANGE
 * ("dir: more than max what"). Closes d. *names: free with
 * prov_names_free (also after an error: then it is NULL). */
int prov_dir_names(DIR *d, const char *dir, bool (*want)(const char *name), size_t max,
		   const char *what, char ***names, size_t *n, struct hrt_err *err);
void prov_names_free(char **names, size_t n);

/* --- the weights as lineage sees them --- */

struct prov_tensor {
	char name[96];
	uint32_t type;
	uint32_t n_dims;          /* canonical (trailing 1s dropped) */
	uint64_t ne[4];
	uint64_t rows, cols;      /* cols = ne[0], rows = the rest */
	uint64_t row_bytes;
	const uint8_t *data;
	uint64_t nbytes;
	bool readable;            /* hearth has a to_float for its type */
};

struct prov_model {
	size_t n;
	struct prov_tensor *t;
};

int prov_model_from_gguf(const struct hrt_gguf *g, struct prov_model *m,
			 struct hrt_err *err);
void prov_model_free(struct prov_model *m);
/* dequantize columns [c0, c0 + nc) of row r into out (nc floats);
 * c0 and nc are rounded out to whole blocks internally */
void prov_row_get(const struct prov_tensor *t, uint64_t r, uint64_t c0,
		  uint64_t nc, float *out, float *scratch);
/* block size of a tensor's type */
uint64_t prov_blck(const struct prov_tensor *t);

/* --- numeric helpers (lineage) --- */
static inline uint64_t prov_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}
/* log10 of the upper normal tail P(Z > z), accurate for any z */
double prov_log10_normal_tail(double z);
/* eigenvalues (descending) of a symmetric k x k matrix a (destroyed) */
void prov_sym_eig(double *a, int k, double *ev);
/* top-k eigenvalues of the m x m Gram matrix g (row-major, symmetric PSD),
 * by subspace iteration; ev gets min(k, m) values, descending */
void prov_gram_top(const double *g, int m, int k, double *ev);

/* effective rank of a delta given as m rows of c floats: the number of
 * singular directions needed for 90% of the energy above the expected
 * noise (noise_var per element; 0 when exact). *top2 gets the energy share
 * of the two largest. Returns min(m, c) when full. */
int prov_eff_rank(const float *d, int m, int c, double noise_var, double *top2);

/* the tensor comparison the lineage report is built from (lineage.c) */
struct prov_pair_stats {
	double corr, z, log10_p, rel_delta, noise_ratio, energy_dir, top2;
	int eff_rank;
	bool exact_same;
	enum hrt_align align;
};

/* --- sampling and alignment (align.c) --- */

/* m items (rows of the held-out block) x w features, aligned A and B */
struct prov_match {
	enum hrt_align axis;
	int m, w;
	float *x;             /* A, aligned to B, signs applied */
	float *y;             /* B */
	double corr, z;       /* Pearson over the m*w pairs; standard score */
	/* the pairs the delta is analysed on: for a search, the matches
	 * refined on every loaded feature (the score above stays the honest
	 * held-out one); NULL: the same as x, y */
	int am, aw;
	float *ax, *ay;
	double acorr;         /* Pearson over the analysis pairs */
};
void prov_match_free(struct prov_match *mt);

/* m row indices spread over [0, n) (deterministic; distinct if m <= n) */
void prov_spread(uint64_t n, int m, uint64_t salt, uint64_t *out);
/* m rows in runs of PROV_BLOCK_ROWS consecutive rows, the runs spread over
 * [0, n): as good a sample of a weight matrix, in far fewer reads */
#define PROV_BLOCK_ROWS 8
void prov_blocks(uint64_t n, int m, uint64_t salt, uint64_t *out);

/* Ask the kernel to read, asynchronously, the rows prov_sample_identity
 * (salt_kind 0) or another sampler (its salt) will read: columns [0, cols) */
void prov_prefetch_rows(const struct prov_tensor *t, int m, uint64_t salt_kind, uint64_t cols);

/* The m x w block prov_sample_identity reads from t (malloc'd; NULL on
 * failure); *mo, *wo get the sizes after clamping to the tensor */
float *prov_identity_sample(const struct prov_tensor *t, int m, int w, int *mo, int *wo);
double prov_pearson(const float *a, const float *b, uint64_t n);

/* Identity alignment: rows `rows` (m of them), columns [0, w) of both. */
int prov_sample_identity(const struct prov_tensor *a, const struct prov_tensor *b,
			 int m, int w, struct prov_match *out);
/* Match sampled rows (axis ROWS) or columns (axis COLS) of b to a's by
 * correlation on one half of the other axis; score on the other half
 * (so the score is unbiased under independence). HRT_OK with out->z set
 * (low z: no alignment found); HRT_ENOMEM / HRT_ENOTSUP otherwise. */
int prov_align(const struct prov_tensor *a, const struct prov_tensor *b,
	       enum hrt_align axis, int m, struct prov_match *out);
/* Pearson r of x and y (n pairs) and its z against a null estimated from
 * mismatched items (item i of x with item i+s of y); m items of w */
void prov_corr_z(const float *x, const float *y, int m, int w, double *r,
		 double *z);

/* an envelope from an already parsed JSON object (OMS bundles) */
int prov_dsse_from_json(const cJSON *j, struct hrt_dsse *e, struct hrt_err *err);

/* a single license id (maybe with "+" or WITH), no AND/OR */
bool prov_spdx_is_single(const struct hrt_spdx *e);

/* --- reports --- */
void prov_report_set_path(struct hrt_prov_report *r, const char *path);

/* verify.c helpers shared with policy.c */
int prov_collect_records(const char *model_path, const struct hrt_prov_records *given,
			 struct hrt_prov_records *own, const struct hrt_prov_records **use,
			 struct hrt_err *err);

#endif
