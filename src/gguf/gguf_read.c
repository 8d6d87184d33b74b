/*
 * gguf/gguf_read — validating GGUF v2/v3 reader over a read-only mapping.
 *
 * The parse walks the header once with a bounds-checked cursor. Nothing is
 * allocated from a count before the count is shown to fit in the bytes that
 * remain (every key/value needs >= 13 bytes, every tensor info >= 28), so a
 * hostile count cannot cause a huge allocation. Every size is computed with
 * overflow checks. Errors name the field and its byte offset.
 * Not here: the meaning of keys (model/, tok/), writing (gguf_write.c).
 */
#include "gguf/gguf.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hugemap.h"
#include "core/util.h"
#include "kern/types.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define MAX_NAME_LEN 4096      /* keys and tensor names */

struct kv {
	struct hrt_str key;
	uint32_t type;
	uint64_t off;        /* file offset of the value */
	const uint8_t *val;  /* value bytes (scalar or array payload) */
	struct {
		uint64_t u;
		int64_t i;
		double f;
	} num;               /* scalar value, widened three ways */
	struct hrt_str str;  /* STRING value */
	struct hrt_gguf_arr arr; /* ARRAY value */
};

struct hrt_gguf {
	const uint8_t *base;
	uint64_t size;
	bool mapped;
	int fd;              /* the mapped file, kept open (hrt_gguf_fd); -1 */
	uint32_t version;
	uint64_t alignment;
	uint64_t data_off;
	uint64_t n_kv, n_tensors;
	struct kv *kvs;
	struct hrt_gguf_tensor *tensors;
	uint64_t *kv_hash, *t_hash; /* open addressing: index+1, 0 = empty */
	uint64_t kv_hcap, t_hcap;
};

/* ---------- bounds-checked cursor ---------- */

struct cur {
	const uint8_t *b;
	uint64_t size, pos;
	struct hrt_err *err;
};

static int need(struct cur *c, uint64_t n, const char *what)
{
	if (n > c->size - c->pos)
		return HRT_ERR(c->err, HRT_EFORMAT,
			       "%s at byte %llu: needs %llu bytes, file has %llu left",
			       what, (unsigned long long)c->pos,
			       (unsigned long long)n,
			       (unsigned long long)(c->size - c->pos));
	return HRT_OK;
}

static int rd_u32(struct cur *c, uint32_t *v, const char *what)
{
	int rc = need(c, 4, what);
	if (rc)
		return rc;
	memcpy(v, c->b + c->pos, 4);
	c->pos += 4;
	return HRT_OK;
}

static int rd_u64(struct cur *c, uint64_t *v, const char *what)
{
	int rc = need(c, 8, what);
	if (rc)
		return rc;
	memcpy(v, c->b + c->pos, 8);
	c->pos += 8;
	return HRT_OK;
}

static int rd_str(struct cur *c, struct hrt_str *s, uint64_t max,
		  const char *what)
{
	uint64_t at = c->pos, n;
	int rc = rd_u64(c, &n, what);
	if (rc)
		return rc;
	if (n > max)
		return HRT_ERR(c->err, HRT_EFORMAT,
			       "%s at byte %llu: length %llu exceeds the limit %llu",
			       what, (unsigned long long)at,
			       (unsigned long long)n, (unsigned long long)max);
	if ((rc = need(c, n, what)))
		return rc;
	s->ptr = (const char *)c->b + c->pos;
	s->len = n;
	c->pos += n;
	return HRT_OK;
}

/* ---------- helpers ---------- */

bool hrt_str_eq(struct hrt_str s, const char *c)
{
	size_t n = strlen(c);
	return s.len == n && memcmp(s.ptr, c, n) == 0;
}

static uint64_t hash_bytes(const char *p, uint64_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (uint64_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

size_t hrt_gguf_vtype_size(uint32_t type)
{
	switch (type) {
	case HRT_GGUF_U8: case HRT_GGUF_I8: case HRT_GGUF_BOOL: return 1;
	case HRT_GGUF_U16: case HRT_GGUF_I16: return 2;
	case HRT_GGUF_U32: case HRT_GGUF_I32: case HRT_GGUF_F32: return 4;
	case HRT_GGUF_U64: case HRT_GGUF_I64: case HRT_GGUF_F64: return 8;
	}
	return 0;
}

const char *hrt_gguf_vtype_name(uint32_t type)
{
	static const char *const names[] = {
		"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
		"string", "array", "u64", "i64", "f64"
	};
	return type < HRT_GGUF_VTYPE_COUNT ? names[type] : "invalid";
}

static bool is_int_type(uint32_t t)
{
	return t == HRT_GGUF_U8 || t == HRT_GGUF_I8 || t == HRT_GGUF_U16 ||
	       t == HRT_GGUF_I16 || t == HRT_GGUF_U32 || t == HRT_GGUF_I32 ||
	       t == HRT_GGUF_U64 || t == HRT_GGUF_I64;
}

static bool is_signed_type(uint32_t t)
{
	return t == HRT_GGUF_I8 || t == HRT_GGUF_I16 || t == HRT_GGUF_I32 ||
	       t == HRT_GGUF_I64;
}

/* decode one numeric element at p (unaligned) into the kv's widened fields */
static void read_num(uint32_t t, const uint8_t *p, uint64_t *u, int64_t *i,
		     double *f)
{
	*u = 0;
	*i = 0;
	*f = 0;
	switch (t) {
	case HRT_GGUF_U8: case HRT_GGUF_BOOL: *u = p[0]; *i = p[0]; break;
	case HRT_GGUF_I8: *i = (int8_t)p[0]; *u = (uint64_t)*i; break;
	case HRT_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); *u = v; *i = v; break; }
	case HRT_GGUF_I16: { int16_t v; memcpy(&v, p, 2); *i = v; *u = (uint64_t)*i; break; }
	case HRT_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *u = v; *i = v; break; }
	case HRT_GGUF_I32: { int32_t v; memcpy(&v, p, 4); *i = v; *u = (uint64_t)*i; break; }
	case HRT_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); *u = v; *i = (int64_t)v; break; }
	case HRT_GGUF_I64: { int64_t v; memcpy(&v, p, 8); *i = v; *u = (uint64_t)v; break; }
	case HRT_GGUF_F32: { float v; memcpy(&v, p, 4); *f = v; break; }
	case HRT_GGUF_F64: { double v; memcpy(&v, p, 8); *f = v; break; }
	}
	if (is_int_type(t))
		*f = is_signed_type(t) ? (double)*i : (double)*u;
}

/* ---------- parsing ---------- */

static int parse_value(struct hrt_gguf *g, struct cur *c, struct kv *kv,
		       uint64_t kidx)
{
	int rc;
	kv->off = c->pos;
	kv->val = c->b + c->pos;
	if (kv->type >= HRT_GGUF_VTYPE_COUNT)
		return HRT_ERR(c->err, HRT_EFORMAT,
			       "metadata key %llu ('%.*s'): value type %u at byte %llu is not a GGUF type",
			       (unsigned long long)kidx, (int)HRT_MIN(kv->key.len, 200),
			       kv->key.ptr, kv->type, (unsigned long long)c->pos - 4);
	if (kv->type == HRT_GGUF_STRING)
		return rd_str(c, &kv->str, c->size, "metadata string value");
	if (kv->type != HRT_GGUF_ARRAY) {
		size_t sz = hrt_gguf_vtype_size(kv->type);
		if ((rc = need(c, sz, "metadata value")))
			return rc;
		read_num(kv->type, c->b + c->pos, &kv->num.u, &kv->num.i,
			 &kv->num.f);
		c->pos += sz;
		return HRT_OK;
	}
	/* array: element type, count, payload */
	uint32_t et;
	uint64_t n, at = c->pos;
	if ((rc = rd_u32(c, &et, "array element type")))
		return rc;
	if ((rc = rd_u64(c, &n, "array length")))
		return rc;
	if (et >= HRT_GGUF_VTYPE_COUNT || et == HRT_GGUF_ARRAY)
		return HRT_ERR(c->err, HRT_EFORMAT,
			       "metadata key '%.*s': array element type %u at byte %llu is %s",
			       (int)HRT_MIN(kv->key.len, 200), kv->key.ptr, et,
			       (unsigned long long)at,
			       et == HRT_GGUF_ARRAY ? "a nested array (not supported)"
						    : "not a GGUF type");
	kv->arr.type = et;
	kv->arr.n = n;
	kv->arr.data = c->b + c->pos;
	kv->arr.str_off = NULL;
	if (et != HRT_GGUF_STRING) {
		uint64_t bytes;
		if (hrt_mul_ovf(n, hrt_gguf_vtype_size(et), &bytes) ||
		    bytes > c->size - c->pos)
			return HRT_ERR(c->err, HRT_EFORMAT,
				       "metadata key '%.*s': array of %llu %s at byte %llu runs past the end of the file",
				       (int)HRT_MIN(kv->key.len, 200), kv->key.ptr,
				       (unsigned long long)n, hrt_gguf_vtype_name(et),
				       (unsigned long long)at);
		c->pos += bytes;
		return HRT_OK;
	}
	/* strings: each needs >= 8 bytes, so n is bounded by what is left
	 * before the offsets table is allocated */
	if (n > (c->size - c->pos) / 8)
		return HRT_ERR(c->err, HRT_EFORMAT,
			       "metadata key '%.*s': array of %llu strings at byte %llu cannot fit in the file",
			       (int)HRT_MIN(kv->key.len, 200), kv->key.ptr,
			       (unsigned long long)n, (unsigned long long)at);
	uint64_t *off = hrt_calloc(n ? n : 1, sizeof(uint64_t));
	if (!off)
		return HRT_ERR(c->err, HRT_ENOMEM, "metadata key '%.*s': no memory for %llu strings",
			       (int)HRT_MIN(kv->key.len, 200), kv->key.ptr,
			       (unsigned long long)n);
	kv->arr.str_off = off;
	uint64_t start = c->pos;
	for (uint64_t i = 0; i < n; i++) {
		struct hrt_str s;
		off[i] = c->pos - start;
		if ((rc = rd_str(c, &s, c->size, "array string element"))) {
			/* add which key and element to the cursor's message */
			char tmp[sizeof(c->err->msg)];
			if (c->err) {
				memcpy(tmp, c->err->msg, sizeof tmp);
				HRT_ERR(c->err, HRT_EFORMAT,
					"metadata key '%.*s' element %llu: %s",
					(int)HRT_MIN(kv->key.len, 200),
					kv->key.ptr, (unsigned long long)i, tmp);
			}
			return HRT_EFORMAT;
		}
	}
	(void)g;
	return HRT_OK;
}

static uint64_t pow2_cap(uint64_t n)
{
	uint64_t cap = 16;
	while (cap < n * 2)
		cap <<= 1;
	return cap;
}

/* insert name -> idx; returns false if the name is already present */
static bool hash_insert(uint64_t *tab, uint64_t cap, struct hrt_str *names,
			size_t stride, struct hrt_str name, uint64_t idx)
{
	uint64_t h = hash_bytes(name.ptr, name.len) & (cap - 1);
	for (;;) {
		uint64_t e = tab[h];
		if (!e) {
			tab[h] = idx + 1;
			return true;
		}
		struct hrt_str *o =
			(struct hrt_str *)((char *)names + stride * (e - 1));
		if (o->len == name.len && !memcmp(o->ptr, name.ptr, name.len))
			return false;
		h = (h + 1) & (cap - 1);
	}
}

static int64_t hash_find(const uint64_t *tab, uint64_t cap,
			 const struct hrt_str *names, size_t stride,
			 const char *key)
{
	if (!tab)
		return -1;
	size_t n = strlen(key);
	uint64_t h = hash_bytes(key, n) & (cap - 1);
	for (;;) {
		uint64_t e = tab[h];
		if (!e)
			return -1;
		const struct hrt_str *o =
			(const struct hrt_str *)((const char *)names +
						 stride * (e - 1));
		if (o->len == n && !memcmp(o->ptr, key, n))
			return (int64_t)(e - 1);
		h = (h + 1) & (cap - 1);
	}
}

static int parse(struct hrt_gguf *g, struct hrt_err *err)
{
	struct cur c = { .b = g->base, .size = g->size, .pos = 0, .err = err };
	uint32_t magic;
	int rc;

	if (g->size < 4)
		return HRT_ERR(err, HRT_EFORMAT,
			       "not a GGUF file: %llu bytes is too short for the magic",
			       (unsigned long long)g->size);
	memcpy(&magic, g->base, 4);
	if (magic != GGUF_MAGIC)
		return HRT_ERR(err, HRT_EFORMAT,
			       "not a GGUF file: magic at byte 0 is %02x %02x %02x %02x, expected 'GGUF'",
			       g->base[0], g->base[1], g->base[2], g->base[3]);
	c.pos = 4;
	if ((rc = rd_u32(&c, &g->version, "header version")))
		return rc;
	if (g->version == 1)
		return HRT_ERR(err, HRT_ENOTSUP,
			       "GGUF version 1 (byte 4) is obsolete; convert the model again");
	if (g->version != 2 && g->version != 3) {
		if (g->version >= 0x01000000u)
			return HRT_ERR(err, HRT_ENOTSUP,
				       "GGUF version field at byte 4 looks big-endian (0x%08x); only little-endian files are supported",
				       g->version);
		return HRT_ERR(err, HRT_ENOTSUP,
			       "GGUF version %u at byte 4 is not supported (2 or 3)",
			       g->version);
	}
	if ((rc = rd_u64(&c, &g->n_tensors, "tensor count")))
		return rc;
	if ((rc = rd_u64(&c, &g->n_kv, "metadata key count")))
		return rc;
	/* a kv needs >= 8 (key len) + 4 (type) + 1 (value); a tensor info
	 * needs >= 8 (name len) + 4 (n_dims) + 8 (a dim) + 4 (type) + 8 (off) */
	if (g->n_kv > (g->size - c.pos) / 13)
		return HRT_ERR(err, HRT_EFORMAT,
			       "metadata key count %llu at byte 16 cannot fit in a %llu-byte file",
			       (unsigned long long)g->n_kv, (unsigned long long)g->size);
	if (g->n_tensors > (g->size - c.pos) / 32)
		return HRT_ERR(err, HRT_EFORMAT,
			       "tensor count %llu at byte 8 cannot fit in a %llu-byte file",
			       (unsigned long long)g->n_tensors, (unsigned long long)g->size);

	g->kvs = hrt_calloc(g->n_kv ? g->n_kv : 1, sizeof(struct kv));
	g->kv_hcap = pow2_cap(g->n_kv);
	g->kv_hash = hrt_calloc(g->kv_hcap, sizeof(uint64_t));
	if (!g->kvs || !g->kv_hash)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for %llu metadata keys",
			       (unsigned long long)g->n_kv);

	g->alignment = HRT_GGUF_DEFAULT_ALIGNMENT;
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct kv *kv = &g->kvs[i];
		uint64_t at = c.pos;
		if ((rc = rd_str(&c, &kv->key, MAX_NAME_LEN, "metadata key name")))
			return rc;
		if (kv->key.len == 0)
			return HRT_ERR(err, HRT_EFORMAT,
				       "metadata key %llu at byte %llu has an empty name",
				       (unsigned long long)i, (unsigned long long)at);
		if ((rc = rd_u32(&c, &kv->type, "metadata value type")))
			return rc;
		if ((rc = parse_value(g, &c, kv, i)))
			return rc;
		if (!hash_insert(g->kv_hash, g->kv_hcap, &g->kvs[0].key,
				 sizeof(struct kv), kv->key, i))
			return HRT_ERR(err, HRT_EFORMAT,
				       "metadata key '%.*s' at byte %llu appears twice",
				       (int)HRT_MIN(kv->key.len, 200), kv->key.ptr,
				       (unsigned long long)at);
		if (hrt_str_eq(kv->key, "general.alignment")) {
			if (kv->type != HRT_GGUF_U32)
				return HRT_ERR(err, HRT_EFORMAT,
					       "general.alignment at byte %llu has type %s, expected u32",
					       (unsigned long long)at,
					       hrt_gguf_vtype_name(kv->type));
			uint64_t a = kv->num.u;
			if (a == 0 || (a & (a - 1)) || a > (1u << 20))
				return HRT_ERR(err, HRT_EFORMAT,
					       "general.alignment = %llu at byte %llu is not a power of two <= 1 MiB",
					       (unsigned long long)a,
					       (unsigned long long)kv->off);
			g->alignment = a;
		}
	}

	g->tensors = hrt_calloc(g->n_tensors ? g->n_tensors : 1,
				sizeof(struct hrt_gguf_tensor));
	g->t_hcap = pow2_cap(g->n_tensors);
	g->t_hash = hrt_calloc(g->t_hcap, sizeof(uint64_t));
	if (!g->tensors || !g->t_hash)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for %llu tensors",
			       (unsigned long long)g->n_tensors);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct hrt_gguf_tensor *t = &g->tensors[i];
		uint64_t at = c.pos;
		if ((rc = rd_str(&c, &t->name, MAX_NAME_LEN, "tensor name")))
			return rc;
		int nl = (int)HRT_MIN(t->name.len, 200);
		if (t->name.len == 0)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor %llu at byte %llu has an empty name",
				       (unsigned long long)i, (unsigned long long)at);
		uint64_t dpos = c.pos;
		if ((rc = rd_u32(&c, &t->n_dims, "tensor dimension count")))
			return rc;
		if (t->n_dims == 0 || t->n_dims > HRT_GGUF_MAX_DIMS)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': n_dims = %u at byte %llu (must be 1..4)",
				       nl, t->name.ptr, t->n_dims,
				       (unsigned long long)dpos);
		uint64_t nel = 1;
		for (uint32_t d = 0; d < HRT_GGUF_MAX_DIMS; d++)
			t->ne[d] = 1;
		for (uint32_t d = 0; d < t->n_dims; d++) {
			uint64_t ap = c.pos;
			if ((rc = rd_u64(&c, &t->ne[d], "tensor dimension")))
				return rc;
			if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
				return HRT_ERR(err, HRT_EFORMAT,
					       "tensor '%.*s': dimension %u = %llu at byte %llu is invalid",
					       nl, t->name.ptr, d,
					       (unsigned long long)t->ne[d],
					       (unsigned long long)ap);
			if (hrt_mul_ovf(nel, t->ne[d], &nel) ||
			    nel > (uint64_t)INT64_MAX)
				return HRT_ERR(err, HRT_EFORMAT,
					       "tensor '%.*s': element count overflows at dimension %u (byte %llu)",
					       nl, t->name.ptr, d,
					       (unsigned long long)ap);
		}
		uint64_t tp = c.pos;
		if ((rc = rd_u32(&c, &t->type, "tensor type")))
			return rc;
		const struct hrt_type_traits *tt = hrt_type_get(t->type);
		if (!tt)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': type id %u at byte %llu is unknown",
				       nl, t->name.ptr, t->type,
				       (unsigned long long)tp);
		if (t->ne[0] % tt->blck)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': first dimension %llu is not a multiple of the %s block size %u",
				       nl, t->name.ptr, (unsigned long long)t->ne[0],
				       tt->name, tt->blck);
		uint64_t row, rows = nel / t->ne[0];
		if (!hrt_type_row_bytes(t->type, t->ne[0], &row) ||
		    hrt_mul_ovf(row, rows, &t->nbytes))
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': byte size overflows",
				       nl, t->name.ptr);
		uint64_t op = c.pos;
		if ((rc = rd_u64(&c, &t->offset, "tensor data offset")))
			return rc;
		if (t->offset % g->alignment)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': data offset %llu at byte %llu is not a multiple of the alignment %llu",
				       nl, t->name.ptr, (unsigned long long)t->offset,
				       (unsigned long long)op,
				       (unsigned long long)g->alignment);
		if (!hash_insert(g->t_hash, g->t_hcap, &g->tensors[0].name,
				 sizeof(struct hrt_gguf_tensor), t->name, i))
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s' at byte %llu appears twice",
				       nl, t->name.ptr, (unsigned long long)at);
	}

	if (!hrt_align_up(c.pos, g->alignment, &g->data_off))
		return HRT_ERR(err, HRT_EFORMAT, "data section offset overflows");
	if (g->n_tensors && g->data_off > g->size)
		return HRT_ERR(err, HRT_EFORMAT,
			       "data section at byte %llu starts past the end of the %llu-byte file",
			       (unsigned long long)g->data_off,
			       (unsigned long long)g->size);
	uint64_t avail = g->size >= g->data_off ? g->size - g->data_off : 0;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct hrt_gguf_tensor *t = &g->tensors[i];
		uint64_t end;
		if (hrt_add_ovf(t->offset, t->nbytes, &end) || end > avail)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': data [%llu, +%llu) runs past the end of the file (data section holds %llu bytes from byte %llu)",
				       (int)HRT_MIN(t->name.len, 200), t->name.ptr,
				       (unsigned long long)t->offset,
				       (unsigned long long)t->nbytes,
				       (unsigned long long)avail,
				       (unsigned long long)g->data_off);
		t->data = g->base + g->data_off + t->offset;
		/* element alignment: kernels read f32/f16 rows through typed
		 * pointers, so the start must suit the element size */
		const struct hrt_type_traits *tt = hrt_type_get(t->type);
		uint64_t need_al = t->type == HRT_Q8_K ? 4 : tt->quantized ? 2 : tt->size;
		if ((uintptr_t)t->data % need_al)
			return HRT_ERR(err, HRT_EFORMAT,
				       "tensor '%.*s': data at byte %llu is not %llu-byte aligned",
				       (int)HRT_MIN(t->name.len, 200), t->name.ptr,
				       (unsigned long long)(g->data_off + t->offset),
				       (unsigned long long)need_al);
	}
	return HRT_OK;
}

static void free_parsed(struct hrt_gguf *g)
{
	if (g->kvs)
		for (uint64_t i = 0; i < g->n_kv; i++)
			free((void *)g->kvs[i].arr.str_off);
	free(g->kvs);
	free(g->tensors);
	free(g->kv_hash);
	free(g->t_hash);
}

void hrt_gguf_close(struct hrt_gguf *g)
{
	if (!g)
		return;
	free_parsed(g);
	if (g->mapped && g->size)
		munmap((void *)g->base, g->size);
	if (g->fd >= 0)
		close(g->fd);
	free(g);
}

int hrt_gguf_open_mem(struct hrt_gguf **out, const void *buf, size_t len,
		      struct hrt_err *err)
{
	*out = NULL;
	struct hrt_gguf *g = calloc(1, sizeof(*g));
	if (!g)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	g->base = buf;
	g->size = len;
	g->fd = -1;
	int rc = parse(g, err);
	if (rc) {
		hrt_gguf_close(g);
		return rc;
	}
	*out = g;
	return HRT_OK;
}

int hrt_gguf_open(struct hrt_gguf **out, const char *path, struct hrt_err *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO,
			       "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return HRT_ERR(err, HRT_EINVAL, "%s: not a regular file", path);
	}
	struct hrt_gguf *g = calloc(1, sizeof(*g));
	if (!g) {
		close(fd);
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	}
	g->size = (uint64_t)st.st_size;
	if (g->size) {
		/* a file larger than the address space (a 32-bit build) would
		 * be mapped short while the parser trusts g->size */
		void *m = MAP_FAILED;
		errno = EFBIG;
		if ((uint64_t)(size_t)g->size == g->size)
			m = hrt_hugemap_map(fd, (size_t)g->size);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			free(g);
			return HRT_ERR(err, HRT_EIO, "%s: mmap: %s", path,
				       strerror(e));
		}
#ifdef MADV_HUGEPAGE
		/* a hint: the page cache reads the file in as 2 MiB folios and
		 * maps them whole, so the weights' stream takes fewer TLB
		 * misses and reads 2 MiB of contiguous memory at a time
		 * (core/alignw.h has the figures) */
		(void)madvise(m, g->size, MADV_HUGEPAGE);
#endif
		g->base = m;
		g->mapped = true;
		g->fd = fd; /* for the page cache's advice (core/hugemap) */
	} else {
		g->base = (const uint8_t *)"";
		g->fd = -1;
		close(fd);
	}
	int rc = parse(g, err);
	if (rc) {
		/* prefix the path so the one-line message says where */
		if (err) {
			char tmp[sizeof(err->msg)];
			memcpy(tmp, err->msg, sizeof tmp);
			snprintf(err->msg, sizeof err->msg, "%s: %s", path, tmp);
		}
		hrt_gguf_close(g);
		return rc;
	}
	*out = g;
	return HRT_OK;
}

/* ---------- accessors ---------- */

uint32_t hrt_gguf_version(const struct hrt_gguf *g) { return g->version; }
uint64_t hrt_gguf_file_size(const struct hrt_gguf *g) { return g->size; }
int hrt_gguf_fd(const struct hrt_gguf *g) { return g->fd; }
uint64_t hrt_gguf_alignment(const struct hrt_gguf *g) { return g->alignment; }
uint64_t hrt_gguf_data_offset(const struct hrt_gguf *g) { return g->data_off; }
const void *hrt_gguf_base(const struct hrt_gguf *g) { return g->base; }
uint64_t hrt_gguf_n_kv(const struct hrt_gguf *g) { return g->n_kv; }
uint64_t hrt_gguf_n_tensors(const struct hrt_gguf *g) { return g->n_tensors; }

int64_t hrt_gguf_find(const struct hrt_gguf *g, const char *key)
{
	return hash_find(g->kv_hash, g->kv_hcap, &g->kvs[0].key,
			 sizeof(struct kv), key);
}

struct hrt_str hrt_gguf_kv_key(const struct hrt_gguf *g, uint64_t i)
{
	return g->kvs[i].key;
}

uint32_t hrt_gguf_kv_type(const struct hrt_gguf *g, uint64_t i)
{
	return g->kvs[i].type;
}

const uint8_t *hrt_gguf_kv_raw(const struct hrt_gguf *g, uint64_t i)
{
	return g->kvs[i].val;
}

const struct hrt_gguf_tensor *hrt_gguf_tensor(const struct hrt_gguf *g,
					      uint64_t i)
{
	return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct hrt_gguf_tensor *hrt_gguf_find_tensor(const struct hrt_gguf *g,
						   const char *name)
{
	int64_t i = hash_find(g->t_hash, g->t_hcap, &g->tensors[0].name,
			      sizeof(struct hrt_gguf_tensor), name);
	return i < 0 ? NULL : &g->tensors[i];
}

int hrt_gguf_kv_i64(const struct hrt_gguf *g, uint64_t i, int64_t *out)
{
	const struct kv *kv = &g->kvs[i];
	if (!is_int_type(kv->type) && kv->type != HRT_GGUF_BOOL)
		return HRT_EFORMAT;
	if (kv->type == HRT_GGUF_U64 && kv->num.u > (uint64_t)INT64_MAX)
		return HRT_ERANGE;
	*out = kv->num.i;
	return HRT_OK;
}

int hrt_gguf_kv_u64(const struct hrt_gguf *g, uint64_t i, uint64_t *out)
{
	const struct kv *kv = &g->kvs[i];
	if (!is_int_type(kv->type) && kv->type != HRT_GGUF_BOOL)
		return HRT_EFORMAT;
	if (is_signed_type(kv->type) && kv->num.i < 0)
		return HRT_ERANGE;
	*out = kv->num.u;
	return HRT_OK;
}

int hrt_gguf_kv_f64(const struct hrt_gguf *g, uint64_t i, double *out)
{
	const struct kv *kv = &g->kvs[i];
	if (kv->type != HRT_GGUF_F32 && kv->type != HRT_GGUF_F64)
		return HRT_EFORMAT;
	*out = kv->num.f;
	return HRT_OK;
}

int hrt_gguf_kv_str(const struct hrt_gguf *g, uint64_t i, struct hrt_str *out)
{
	if (g->kvs[i].type != HRT_GGUF_STRING)
		return HRT_EFORMAT;
	*out = g->kvs[i].str;
	return HRT_OK;
}

int hrt_gguf_kv_arr(const struct hrt_gguf *g, uint64_t i,
		    struct hrt_gguf_arr *out)
{
	if (g->kvs[i].type != HRT_GGUF_ARRAY)
		return HRT_EFORMAT;
	*out = g->kvs[i].arr;
	return HRT_OK;
}

static int lookup(const struct hrt_gguf *g, const char *key, int64_t *i)
{
	*i = hrt_gguf_find(g, key);
	return *i < 0 ? HRT_ENOTFOUND : HRT_OK;
}

static int wrong_type(const struct hrt_gguf *g, int64_t i, const char *key,
		      const char *want, struct hrt_err *err)
{
	return HRT_ERR(err, HRT_EFORMAT,
		       "metadata key '%s' at byte %llu has type %s, expected %s",
		       key, (unsigned long long)g->kvs[i].off,
		       hrt_gguf_vtype_name(g->kvs[i].type), want);
}

int hrt_gguf_get_u64(const struct hrt_gguf *g, const char *key, uint64_t *out,
		     struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	if (!is_int_type(g->kvs[i].type))
		return wrong_type(g, i, key, "an integer", err);
	uint64_t v;
	if (hrt_gguf_kv_u64(g, (uint64_t)i, &v))
		return HRT_ERR(err, HRT_EFORMAT,
			       "metadata key '%s' at byte %llu is negative",
			       key, (unsigned long long)g->kvs[i].off);
	*out = v;
	return HRT_OK;
}

int hrt_gguf_get_u32(const struct hrt_gguf *g, const char *key, uint32_t *out,
		     struct hrt_err *err)
{
	uint64_t v;
	int rc = hrt_gguf_get_u64(g, key, &v, err);
	if (rc)
		return rc;
	if (v > UINT32_MAX)
		return HRT_ERR(err, HRT_EFORMAT,
			       "metadata key '%s' = %llu does not fit in 32 bits",
			       key, (unsigned long long)v);
	*out = (uint32_t)v;
	return HRT_OK;
}

int hrt_gguf_get_i64(const struct hrt_gguf *g, const char *key, int64_t *out,
		     struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	if (!is_int_type(g->kvs[i].type))
		return wrong_type(g, i, key, "an integer", err);
	if (hrt_gguf_kv_i64(g, (uint64_t)i, out))
		return HRT_ERR(err, HRT_EFORMAT,
			       "metadata key '%s' does not fit in 64 signed bits", key);
	return HRT_OK;
}

int hrt_gguf_get_f32(const struct hrt_gguf *g, const char *key, float *out,
		     struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	uint32_t t = g->kvs[i].type;
	if (t != HRT_GGUF_F32 && t != HRT_GGUF_F64)
		return wrong_type(g, i, key, "a float", err);
	*out = (float)g->kvs[i].num.f;
	return HRT_OK;
}

int hrt_gguf_get_bool(const struct hrt_gguf *g, const char *key, bool *out,
		      struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	if (g->kvs[i].type != HRT_GGUF_BOOL)
		return wrong_type(g, i, key, "bool", err);
	*out = g->kvs[i].num.u != 0;
	return HRT_OK;
}

int hrt_gguf_get_str(const struct hrt_gguf *g, const char *key,
		     struct hrt_str *out, struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	if (g->kvs[i].type != HRT_GGUF_STRING)
		return wrong_type(g, i, key, "string", err);
	*out = g->kvs[i].str;
	return HRT_OK;
}

int hrt_gguf_get_arr(const struct hrt_gguf *g, const char *key,
		     struct hrt_gguf_arr *out, struct hrt_err *err)
{
	int64_t i;
	if (lookup(g, key, &i))
		return HRT_ENOTFOUND;
	if (g->kvs[i].type != HRT_GGUF_ARRAY)
		return wrong_type(g, i, key, "array", err);
	*out = g->kvs[i].arr;
	return HRT_OK;
}

struct hrt_str hrt_gguf_arr_str(const struct hrt_gguf_arr *a, uint64_t i)
{
	struct hrt_str s = { "", 0 };
	if (a->type != HRT_GGUF_STRING || !a->str_off)
		return s;
	const uint8_t *p = a->data + a->str_off[i];
	memcpy(&s.len, p, 8);
	s.ptr = (const char *)p + 8;
	return s;
}

double hrt_gguf_arr_f64(const struct hrt_gguf_arr *a, uint64_t i)
{
	size_t sz = hrt_gguf_vtype_size(a->type);
	if (!sz)
		return 0;
	uint64_t u;
	int64_t v;
	double f;
	read_num(a->type, a->data + i * sz, &u, &v, &f);
	return f;
}

int64_t hrt_gguf_arr_i64(const struct hrt_gguf_arr *a, uint64_t i)
{
	size_t sz = hrt_gguf_vtype_size(a->type);
	if (!sz)
		return 0;
	uint64_t u;
	int64_t v;
	double f;
	read_num(a->type, a->data + i * sz, &u, &v, &f);
	if (a->type == HRT_GGUF_F32 || a->type == HRT_GGUF_F64) {
		if (!(f > -9.2e18 && f < 9.2e18)) /* also catches nan */
			return 0;
		return (int64_t)f;
	}
	return v;
}
