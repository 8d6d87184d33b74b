/*
 * gguf — reader and writer of GGUF v2/v3 model files.
 *
 * Reader: maps the file read-only and validates every header field before
 * use (counts, string lengths, value types, dims, tensor types, offsets and
 * sizes, alignment), with overflow-checked arithmetic. After hrt_gguf_open
 * succeeds, every accessor below is safe: strings and tensor data are
 * zero-copy views into the mapping, valid until hrt_gguf_close.
 * A hostile file gets an HRT_EFORMAT error naming the field and byte offset.
 *
 * Writer: collects metadata and tensors and writes a file crash-safely
 * (temporary file, fsync, rename).
 *
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 * Not here: what the keys mean (model/, tok/).
 */
#ifndef HRT_GGUF_H
#define HRT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum hrt_gguf_vtype {
	HRT_GGUF_U8 = 0,
	HRT_GGUF_I8 = 1,
	HRT_GGUF_U16 = 2,
	HRT_GGUF_I16 = 3,
	HRT_GGUF_U32 = 4,
	HRT_GGUF_I32 = 5,
	HRT_GGUF_F32 = 6,
	HRT_GGUF_BOOL = 7,
	HRT_GGUF_STRING = 8,
	HRT_GGUF_ARRAY = 9,
	HRT_GGUF_U64 = 10,
	HRT_GGUF_I64 = 11,
	HRT_GGUF_F64 = 12,
	HRT_GGUF_VTYPE_COUNT
};

#define HRT_GGUF_MAX_DIMS 4
#define HRT_GGUF_DEFAULT_ALIGNMENT 32

/* a string inside the file: not NUL-terminated, may contain any bytes */
struct hrt_str {
	const char *ptr;
	uint64_t len;
};

/* a read-only array value inside the file */
struct hrt_gguf_arr {
	uint32_t type;          /* element type (never ARRAY) */
	uint64_t n;             /* element count */
	const uint8_t *data;    /* first element (unaligned; use accessors) */
	const uint64_t *str_off;/* strings: byte offset of element i from data */
};

/* a tensor as the file describes it; data points into the mapping */
struct hrt_gguf_tensor {
	struct hrt_str name;
	uint32_t n_dims;
	uint64_t ne[HRT_GGUF_MAX_DIMS]; /* ne[0] is the contiguous dimension; unused = 1 */
	uint32_t type;                  /* enum hrt_type */
	uint64_t offset;                /* from the start of the data section */
	uint64_t nbytes;
	const void *data;
};

struct hrt_gguf;

/* Open and validate path. On success *out owns the mapping; free with
 * hrt_gguf_close. On failure *out is NULL and err says what and where. */
int hrt_gguf_open(struct hrt_gguf **out, const char *path, struct hrt_err *err);

/* Same, over a caller's buffer (not copied; must outlive the handle). */
int hrt_gguf_open_mem(struct hrt_gguf **out, const void *buf, size_t len,
		      struct hrt_err *err);

void hrt_gguf_close(struct hrt_gguf *g);

uint32_t hrt_gguf_version(const struct hrt_gguf *g);
uint64_t hrt_gguf_file_size(const struct hrt_gguf *g);
uint64_t hrt_gguf_alignment(const struct hrt_gguf *g);
uint64_t hrt_gguf_data_offset(const struct hrt_gguf *g); /* file offset of tensor data */
const void *hrt_gguf_base(const struct hrt_gguf *g);     /* start of the mapping */
/* the open file behind a mapped file (owned by g, closed with it; only for
 * advice such as posix_fadvise), or -1 for one opened from memory */
int hrt_gguf_fd(const struct hrt_gguf *g);

/* --- metadata --- */
uint64_t hrt_gguf_n_kv(const struct hrt_gguf *g);
/* index of key, or -1 */
int64_t hrt_gguf_find(const struct hrt_gguf *g, const char *key);
struct hrt_str hrt_gguf_kv_key(const struct hrt_gguf *g, uint64_t i);
uint32_t hrt_gguf_kv_type(const struct hrt_gguf *g, uint64_t i);

/* Typed getters by key. Return HRT_OK, HRT_ENOTFOUND (no such key, *out
 * untouched) or HRT_EFORMAT (wrong type or out of range; err names the key).
 * Integer getters accept any integer type whose value fits; float getters
 * accept F32 and F64; bool accepts BOOL only. */
int hrt_gguf_get_u32(const struct hrt_gguf *g, const char *key, uint32_t *out,
		     struct hrt_err *err);
int hrt_gguf_get_i64(const struct hrt_gguf *g, const char *key, int64_t *out,
		     struct hrt_err *err);
int hrt_gguf_get_u64(const struct hrt_gguf *g, const char *key, uint64_t *out,
		     struct hrt_err *err);
int hrt_gguf_get_f32(const struct hrt_gguf *g, const char *key, float *out,
		     struct hrt_err *err);
int hrt_gguf_get_bool(const struct hrt_gguf *g, const char *key, bool *out,
		      struct hrt_err *err);
int hrt_gguf_get_str(const struct hrt_gguf *g, const char *key,
		     struct hrt_str *out, struct hrt_err *err);
int hrt_gguf_get_arr(const struct hrt_gguf *g, const char *key,
		     struct hrt_gguf_arr *out, struct hrt_err *err);

/* By index (no type coercion beyond the above rules). */
int hrt_gguf_kv_i64(const struct hrt_gguf *g, uint64_t i, int64_t *out);
int hrt_gguf_kv_u64(const struct hrt_gguf *g, uint64_t i, uint64_t *out);
int hrt_gguf_kv_f64(const struct hrt_gguf *g, uint64_t i, double *out);
int hrt_gguf_kv_str(const struct hrt_gguf *g, uint64_t i, struct hrt_str *out);
int hrt_gguf_kv_arr(const struct hrt_gguf *g, uint64_t i, struct hrt_gguf_arr *out);
/* Raw value bytes of kv i (for copying a kv to a writer). */
const uint8_t *hrt_gguf_kv_raw(const struct hrt_gguf *g, uint64_t i);

/* Array element access; i < a->n is the caller's duty. */
struct hrt_str hrt_gguf_arr_str(const struct hrt_gguf_arr *a, uint64_t i);
/* numeric element as double / int64 (any numeric element type) */
double hrt_gguf_arr_f64(const struct hrt_gguf_arr *a, uint64_t i);
int64_t hrt_gguf_arr_i64(const struct hrt_gguf_arr *a, uint64_t i);

/* Size in bytes of one element of a (non-string, non-array) type; 0 else. */
size_t hrt_gguf_vtype_size(uint32_t type);
const char *hrt_gguf_vtype_name(uint32_t type);

/* --- tensors --- */
uint64_t hrt_gguf_n_tensors(const struct hrt_gguf *g);
const struct hrt_gguf_tensor *hrt_gguf_tensor(const struct hrt_gguf *g,
					      uint64_t i);
/* NULL if no tensor has that name */
const struct hrt_gguf_tensor *hrt_gguf_find_tensor(const struct hrt_gguf *g,
						   const char *name);

/* true when s equals the NUL-terminated c */
bool hrt_str_eq(struct hrt_str s, const char *c);

/* --- writer --- */
struct hrt_gguf_writer;

int hrt_gguf_writer_new(struct hrt_gguf_writer **out, struct hrt_err *err);
void hrt_gguf_writer_free(struct hrt_gguf_writer *w);

/* Setters replace an existing key of the same name. Strings are copied. */
int hrt_gguf_w_u32(struct hrt_gguf_writer *w, const char *key, uint32_t v);
int hrt_gguf_w_i32(struct hrt_gguf_writer *w, const char *key, int32_t v);
int hrt_gguf_w_u64(struct hrt_gguf_writer *w, const char *key, uint64_t v);
int hrt_gguf_w_f32(struct hrt_gguf_writer *w, const char *key, float v);
int hrt_gguf_w_bool(struct hrt_gguf_writer *w, const char *key, bool v);
int hrt_gguf_w_str(struct hrt_gguf_writer *w, const char *key, const char *v);
/* generic scalar: type is any non-string, non-array vtype; val points to the
 * little-endian value of hrt_gguf_vtype_size(type) bytes */
int hrt_gguf_w_scalar(struct hrt_gguf_writer *w, const char *key,
		      uint32_t type, const void *val);
/* numeric array of n elements of elem_type (copied) */
int hrt_gguf_w_arr(struct hrt_gguf_writer *w, const char *key,
		   uint32_t elem_type, const void *data, uint64_t n);
/* string array (copied); lens may be NULL for NUL-terminated strings */
int hrt_gguf_w_arr_str(struct hrt_gguf_writer *w, const char *key,
		       const char *const *strs, const uint64_t *lens, uint64_t n);
/* copy key/value i of a reader (any type, arrays included) */
int hrt_gguf_w_copy_kv(struct hrt_gguf_writer *w, const struct hrt_gguf *g,
		       uint64_t i);
/* remove a key if present */
void hrt_gguf_w_del(struct hrt_gguf_writer *w, const char *key);
/* general.alignment (power of two); default 32 */
int hrt_gguf_w_set_alignment(struct hrt_gguf_writer *w, uint32_t alignment);

/* Add a tensor. data (nbytes, which must match type and dims) is NOT copied:
 * it must stay valid until hrt_gguf_w_write returns. */
int hrt_gguf_w_tensor(struct hrt_gguf_writer *w, const char *name,
		      uint32_t type, uint32_t n_dims, const uint64_t *ne,
		      const void *data, uint64_t nbytes, struct hrt_err *err);

/* A tensor whose bytes are produced while the file is written (a
 * quantizer streaming a model larger than memory). Just before writing
 * tensor number idx (its position among all added tensors), the writer
 * calls fill: it either points *data at the caller's own nbytes bytes
 * (valid until fill is called again or the write ends) or fills buf (the
 * writer's buffer, large enough for the largest such tensor) and sets
 * *data = buf. A non-zero status aborts the write with that error. */
typedef int (*hrt_gguf_fill_fn)(void *ctx, uint64_t idx, void *buf,
				const void **data, struct hrt_err *err);
int hrt_gguf_w_tensor_cb(struct hrt_gguf_writer *w, const char *name,
			 uint32_t type, uint32_t n_dims, const uint64_t *ne,
			 uint64_t nbytes, hrt_gguf_fill_fn fill, void *ctx,
			 struct hrt_err *err);

/* Write to path via path.tmp + fsync + rename + fsync of the folder; a
 * full disk is reported as such and leaves no temporary file. */
int hrt_gguf_w_write(struct hrt_gguf_writer *w, const char *path,
		     struct hrt_err *err);
/* Serialize into a malloc'd buffer (tests, fuzz seeds); caller frees. */
int hrt_gguf_w_to_mem(struct hrt_gguf_writer *w, uint8_t **buf, size_t *len,
		      struct hrt_err *err);

#endif
