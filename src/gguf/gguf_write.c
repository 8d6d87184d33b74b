/*
 * gguf/gguf_write — builds GGUF v3 files: metadata key/values (all types,
 * arrays included) and tensors whose data the caller keeps alive until the
 * write. Files are written crash-safely: PATH.tmp.<pid>, fsync, rename.
 * Not here: reading (gguf_read.c), choosing what to write (model/, cli/).
 */
#include "gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alignw.h"
#include "core/util.h"
#include "kern/types.h"

struct wkv {
	char *key;
	uint32_t type;
	uint8_t *val; /* serialized value (after the type field) */
	size_t len;
};

struct wtensor {
	char *name;
	uint32_t type, n_dims;
	uint64_t ne[HRT_GGUF_MAX_DIMS];
	const void *data;          /* NULL: produced by fill */
	hrt_gguf_fill_fn fill;
	void *fill_ctx;
	uint64_t nbytes, offset;
};

struct hrt_gguf_writer {
	struct wkv *kv;
	size_t n_kv, cap_kv;
	struct wtensor *t;
	size_t n_t, cap_t;
	uint32_t alignment;
};

/* growable byte buffer for serialization */
struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->len + n)
			nc *= 2;
		uint8_t *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct buf *b, const char *s, uint64_t n)
{
	put_u64(b, n);
	put(b, s, n);
}

int hrt_gguf_writer_new(struct hrt_gguf_writer **out, struct hrt_err *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	(*out)->alignment = HRT_GGUF_DEFAULT_ALIGNMENT;
	return HRT_OK;
}

void hrt_gguf_writer_free(struct hrt_gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].val);
	}
	for (size_t i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->kv);
	free(w->t);
	free(w);
}

void hrt_gguf_w_del(struct hrt_gguf_writer *w, const char *key)
{
	for (size_t i = 0; i < w->n_kv; i++) {
		if (strcmp(w->kv[i].key, key))
			continue;
		free(w->kv[i].key);
		free(w->kv[i].val);
		memmove(&w->kv[i], &w->kv[i + 1],
			(w->n_kv - i - 1) * sizeof(*w->kv));
		w->n_kv--;
		return;
	}
}

/* take ownership of val (serialized value) under key */
static int set_kv(struct hrt_gguf_writer *w, const char *key, uint32_t type,
		  struct buf *b)
{
	if (b->oom) {
		free(b->p);
		return HRT_ENOMEM;
	}
	hrt_gguf_w_del(w, key);
	if (w->n_kv == w->cap_kv) {
		size_t nc = w->cap_kv ? w->cap_kv * 2 : 32;
		struct wkv *n = realloc(w->kv, nc * sizeof(*n));
		if (!n) {
			free(b->p);
			return HRT_ENOMEM;
		}
		w->kv = n;
		w->cap_kv = nc;
	}
	char *k = hrt_strdup(key);
	if (!k) {
		free(b->p);
		return HRT_ENOMEM;
	}
	w->kv[w->n_kv++] = (struct wkv){ k, type, b->p, b->len };
	return HRT_OK;
}

int hrt_gguf_w_scalar(struct hrt_gguf_writer *w, const char *key,
		      uint32_t type, const void *val)
{
	size_t sz = hrt_gguf_vtype_size(type);
	if (!sz)
		return HRT_EINVAL;
	struct buf b = { 0 };
	put(&b, val, sz);
	return set_kv(w, key, type, &b);
}

int hrt_gguf_w_u32(struct hrt_gguf_writer *w, const char *key, uint32_t v)
{
	return hrt_gguf_w_scalar(w, key, HRT_GGUF_U32, &v);
}
int hrt_gguf_w_i32(struct hrt_gguf_writer *w, const char *key, int32_t v)
{
	return hrt_gguf_w_scalar(w, key, HRT_GGUF_I32, &v);
}
int hrt_gguf_w_u64(struct hrt_gguf_writer *w, const char *key, uint64_t v)
{
	return hrt_gguf_w_scalar(w, key, HRT_GGUF_U64, &v);
}
int hrt_gguf_w_f32(struct hrt_gguf_writer *w, const char *key, float v)
{
	return hrt_gguf_w_scalar(w, key, HRT_GGUF_F32, &v);
}
int hrt_gguf_w_bool(struct hrt_gguf_writer *w, const char *key, bool v)
{
	uint8_t u = v;
	return hrt_gguf_w_scalar(w, key, HRT_GGUF_BOOL, &u);
}

int hrt_gguf_w_str(struct hrt_gguf_writer *w, const char *key, const char *v)
{
	struct buf b = { 0 };
	put_str(&b, v, strlen(v));
	return set_kv(w, key, HRT_GGUF_STRING, &b);
}

int hrt_gguf_w_arr(struct hrt_gguf_writer *w, const char *key,
		   uint32_t elem_type, const void *data, uint64_t n)
{
	size_t sz = hrt_gguf_vtype_size(elem_type);
	uint64_t bytes;
	if (!sz || hrt_mul_ovf(n, sz, &bytes) || bytes > SIZE_MAX / 2)
		return HRT_EINVAL;
	struct buf b = { 0 };
	put_u32(&b, elem_type);
	put_u64(&b, n);
	put(&b, data, (size_t)bytes);
	return set_kv(w, key, HRT_GGUF_ARRAY, &b);
}

int hrt_gguf_w_arr_str(struct hrt_gguf_writer *w, const char *key,
		       const char *const *strs, const uint64_t *lens,
		       uint64_t n)
{
	struct buf b = { 0 };
	put_u32(&b, HRT_GGUF_STRING);
	put_u64(&b, n);
	for (uint64_t i = 0; i < n; i++)
		put_str(&b, strs[i], lens ? lens[i] : strlen(strs[i]));
	return set_kv(w, key, HRT_GGUF_ARRAY, &b);
}

int hrt_gguf_w_copy_kv(struct hrt_gguf_writer *w, const struct hrt_gguf *g,
		       uint64_t i)
{
	struct hrt_str key = hrt_gguf_kv_key(g, i);
	uint32_t type = hrt_gguf_kv_type(g, i);
	char *k = hrt_strndup(key.ptr, key.len);
	if (!k)
		return HRT_ENOMEM;
	struct buf b = { 0 };
	struct hrt_str s;
	struct hrt_gguf_arr a;
	if (type == HRT_GGUF_STRING) {
		hrt_gguf_kv_str(g, i, &s);
		put_str(&b, s.ptr, s.len);
	} else if (type == HRT_GGUF_ARRAY) {
		hrt_gguf_kv_arr(g, i, &a);
		put_u32(&b, a.type);
		put_u64(&b, a.n);
		if (a.type == HRT_GGUF_STRING) {
			for (uint64_t j = 0; j < a.n; j++) {
				s = hrt_gguf_arr_str(&a, j);
				put_str(&b, s.ptr, s.len);
			}
		} else {
			put(&b, a.data, (size_t)(a.n * hrt_gguf_vtype_size(a.type)));
		}
	} else {
		put(&b, hrt_gguf_kv_raw(g, i), hrt_gguf_vtype_size(type));
	}
	int rc = set_kv(w, k, type, &b);
	free(k);
	return rc;
}

int hrt_gguf_w_set_alignment(struct hrt_gguf_writer *w, uint32_t alignment)
{
	if (!alignment || (alignment & (alignment - 1)))
		return HRT_EINVAL;
	w->alignment = alignment;
	return hrt_gguf_w_u32(w, "general.alignment", alignment);
}

static int add_tensor(struct hrt_gguf_writer *w, const char *name,
		      uint32_t type, uint32_t n_dims, const uint64_t *ne,
		      const void *data, uint64_t nbytes, hrt_gguf_fill_fn fill,
		      void *fill_ctx, struct hrt_err *err)
{
	if (n_dims == 0 || n_dims > HRT_GGUF_MAX_DIMS)
		return HRT_ERR(err, HRT_EINVAL, "tensor '%s': %u dims", name, n_dims);
	uint64_t nel = 1, row, want;
	for (uint32_t d = 0; d < n_dims; d++)
		if (ne[d] == 0 || hrt_mul_ovf(nel, ne[d], &nel))
			return HRT_ERR(err, HRT_EINVAL, "tensor '%s': bad dims", name);
	if (!hrt_type_row_bytes(type, ne[0], &row) ||
	    hrt_mul_ovf(row, nel / ne[0], &want) || want != nbytes)
		return HRT_ERR(err, HRT_EINVAL,
			       "tensor '%s': %llu bytes do not match type %s and its dims",
			       name, (unsigned long long)nbytes,
			       hrt_type_name(type) ? hrt_type_name(type) : "?");
	for (size_t i = 0; i < w->n_t; i++)
		if (!strcmp(w->t[i].name, name))
			return HRT_ERR(err, HRT_EINVAL, "tensor '%s' added twice", name);
	if (w->n_t == w->cap_t) {
		size_t nc = w->cap_t ? w->cap_t * 2 : 64;
		struct wtensor *n = realloc(w->t, nc * sizeof(*n));
		if (!n)
			return HRT_ERR(err, HRT_ENOMEM, "no memory");
		w->t = n;
		w->cap_t = nc;
	}
	struct wtensor *t = &w->t[w->n_t];
	memset(t, 0, sizeof(*t));
	t->name = hrt_strdup(name);
	if (!t->name)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	t->type = type;
	t->n_dims = n_dims;
	for (uint32_t d = 0; d < HRT_GGUF_MAX_DIMS; d++)
		t->ne[d] = d < n_dims ? ne[d] : 1;
	t->data = data;
	t->fill = fill;
	t->fill_ctx = fill_ctx;
	t->nbytes = nbytes;
	w->n_t++;
	return HRT_OK;
}

int hrt_gguf_w_tensor(struct hrt_gguf_writer *w, const char *name,
		      uint32_t type, uint32_t n_dims, const uint64_t *ne,
		      const void *data, uint64_t nbytes, struct hrt_err *err)
{
	return add_tensor(w, name, type, n_dims, ne, data, nbytes, NULL, NULL, err);
}

int hrt_gguf_w_tensor_cb(struct hrt_gguf_writer *w, const char *name,
			 uint32_t type, uint32_t n_dims, const uint64_t *ne,
			 uint64_t nbytes, hrt_gguf_fill_fn fill, void *ctx,
			 struct hrt_err *err)
{
	if (!fill)
		return HRT_ERR(err, HRT_EINVAL, "tensor '%s': no fill function", name);
	return add_tensor(w, name, type, n_dims, ne, NULL, nbytes, fill, ctx, err);
}

/* the bytes of tensor i: its data, or what its fill function produces */
static int tensor_bytes(struct hrt_gguf_writer *w, size_t i, void *buf,
			const void **data, struct hrt_err *err)
{
	struct wtensor *t = &w->t[i];
	if (!t->fill) {
		*data = t->data;
		return HRT_OK;
	}
	*data = NULL;
	int rc = t->fill(t->fill_ctx, i, buf, data, err);
	if (!rc && !*data)
		rc = HRT_ERR(err, HRT_EINVAL, "tensor '%s': fill produced no data", t->name);
	return rc;
}

/* a buffer for the largest streamed tensor (NULL and 0 if none) */
static int fill_buffer(struct hrt_gguf_writer *w, void **buf, struct hrt_err *err)
{
	uint64_t max = 0;
	*buf = NULL;
	for (size_t i = 0; i < w->n_t; i++)
		if (w->t[i].fill && w->t[i].nbytes > max)
			max = w->t[i].nbytes;
	if (!max)
		return HRT_OK;
	if (max > SIZE_MAX / 2 || !(*buf = hrt_malloc_aligned((size_t)max)))
		return HRT_ERR(err, HRT_ENOMEM, "no memory for a tensor of %llu bytes",
			       (unsigned long long)max);
	return HRT_OK;
}

/* header + metadata + tensor infos + padding; offsets assigned */
static int build_header(struct hrt_gguf_writer *w, struct buf *b,
			struct hrt_err *err)
{
	uint64_t off = 0;
	for (size_t i = 0; i < w->n_t; i++) {
		w->t[i].offset = off;
		if (hrt_add_ovf(off, w->t[i].nbytes, &off) ||
		    !hrt_align_up(off, w->alignment, &off))
			return HRT_ERR(err, HRT_ERANGE, "file too large");
	}
	put_u32(b, 0x46554747u);
	put_u32(b, 3);
	put_u64(b, w->n_t);
	put_u64(b, w->n_kv);
	for (size_t i = 0; i < w->n_kv; i++) {
		put_str(b, w->kv[i].key, strlen(w->kv[i].key));
		put_u32(b, w->kv[i].type);
		put(b, w->kv[i].val, w->kv[i].len);
	}
	for (size_t i = 0; i < w->n_t; i++) {
		struct wtensor *t = &w->t[i];
		put_str(b, t->name, strlen(t->name));
		put_u32(b, t->n_dims);
		for (uint32_t d = 0; d < t->n_dims; d++)
			put_u64(b, t->ne[d]);
		put_u32(b, t->type);
		put_u64(b, t->offset);
	}
	static const uint8_t zeros[64];
	while (b->len % w->alignment && !b->oom)
		put(b, zeros, HRT_MIN(sizeof zeros, w->alignment - b->len % w->alignment));
	if (b->oom)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for the GGUF header");
	return HRT_OK;
}

int hrt_gguf_w_to_mem(struct hrt_gguf_writer *w, uint8_t **out, size_t *len,
		      struct hrt_err *err)
{
	struct buf b = { 0 };
	void *fb = NULL;
	int rc = build_header(w, &b, err);
	if (!rc)
		rc = fill_buffer(w, &fb, err);
	static const uint8_t zeros[64];
	for (size_t i = 0; !rc && i < w->n_t; i++) {
		const void *data;
		if ((rc = tensor_bytes(w, i, fb, &data, err)))
			break;
		put(&b, data, (size_t)w->t[i].nbytes);
		while (b.len % w->alignment && !b.oom)
			put(&b, zeros, HRT_MIN(sizeof zeros, w->alignment - b.len % w->alignment));
	}
	hrt_free_aligned(fb);
	if (!rc && b.oom)
		rc = HRT_ERR(err, HRT_ENOMEM, "no memory for the GGUF image");
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return HRT_OK;
}

static const char *io_reason(int e)
{
	return e == ENOSPC || e == EDQUOT ? "disk full" : strerror(e);
}

int hrt_gguf_w_write(struct hrt_gguf_writer *w, const char *path,
		     struct hrt_err *err)
{
	struct buf b = { 0 };
	void *fb = NULL;
	int rc = build_header(w, &b, err);
	if (!rc)
		rc = fill_buffer(w, &fb, err);
	if (rc) {
		free(b.p);
		return rc;
	}
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
		free(b.p);
		hrt_free_aligned(fb);
		return HRT_ERR(err, HRT_EINVAL, "path too long: %s", path);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		free(b.p);
		hrt_free_aligned(fb);
		return HRT_ERR(err, e == ENOENT ? HRT_ENOTFOUND : HRT_EIO,
			       "cannot create %s: %s", path, strerror(e));
	}
	/* whole 2 MiB writes: the page cache then holds the file in huge
	 * folios, which a mapping reads faster (core/alignw.h) */
	static const uint8_t zeros[64];
	struct hrt_alignw aw;
	hrt_alignw_init(&aw, fd, 0);
	int e = 0;
	if (hrt_alignw_put(&aw, b.p, b.len))
		e = errno;
	free(b.p);
	for (size_t i = 0; !e && !rc && i < w->n_t; i++) {
		const void *data;
		if ((rc = tensor_bytes(w, i, fb, &data, err)))
			break;
		if (hrt_alignw_put(&aw, data, (size_t)w->t[i].nbytes)) {
			e = errno;
			break;
		}
		/* pad to the alignment: alignw ends where the file does */
		uint64_t pos;
		while ((pos = hrt_alignw_end(&aw)) % w->alignment) {
			size_t k = HRT_MIN(sizeof zeros, w->alignment - pos % w->alignment);
			if (hrt_alignw_put(&aw, zeros, k)) {
				e = errno;
				break;
			}
		}
	}
	hrt_free_aligned(fb);
	if (!e && !rc && hrt_alignw_flush(&aw))
		e = errno;
	hrt_alignw_free(&aw);
	if (!e && !rc && fsync(fd))
		e = errno;
	if (close(fd) && !e && !rc)
		e = errno;
	if (!e && !rc && rename(tmp, path))
		e = errno;
	if (e && !rc)
		rc = HRT_ERR(err, HRT_EIO, "writing %s: %s", path, io_reason(e));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	/* the rename itself survives a crash only once the folder is synced */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		snprintf(dir, sizeof dir, ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return HRT_OK;
}
