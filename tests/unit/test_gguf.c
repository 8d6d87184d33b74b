/*
 * GGUF reader/writer: round trips of every metadata type and tensor layout,
 * and the hostile files of ANCHORS.md §6, each built here byte by byte.
 * Every hostile file must give HRT_EFORMAT/HRT_ENOTSUP with a message that
 * names a byte offset or field — never a crash, hang or huge allocation
 * (ASan would report the latter as an allocation-size error).
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "kern/types.h"
#include "t.h"

/* ---- a byte builder for hand-made files ---- */
struct bb {
	uint8_t b[1 << 16];
	size_t n;
};
static void bb_raw(struct bb *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static void bb_u32(struct bb *b, uint32_t v) { bb_raw(b, &v, 4); }
static void bb_u64(struct bb *b, uint64_t v) { bb_raw(b, &v, 8); }
static void bb_str(struct bb *b, const char *s)
{
	bb_u64(b, strlen(s));
	bb_raw(b, s, strlen(s));
}
static void bb_hdr(struct bb *b, uint64_t n_t, uint64_t n_kv)
{
	b->n = 0;
	bb_raw(b, "GGUF", 4);
	bb_u32(b, 3);
	bb_u64(b, n_t);
	bb_u64(b, n_kv);
}
static void bb_pad(struct bb *b, size_t a)
{
	while (b->n % a)
		b->b[b->n++] = 0;
}

/* open from memory; expect failure with a message containing want */
static void expect_bad(const struct bb *b, const char *want, int line)
{
	struct hrt_gguf *g = NULL;
	struct hrt_err err = { 0 };
	int rc = hrt_gguf_open_mem(&g, b->b, b->n, &err);
	if (rc == HRT_OK) {
		t_failf(__FILE__, line, "accepted a hostile file (expected '%s')", want);
		hrt_gguf_close(g);
		return;
	}
	if (g)
		t_failf(__FILE__, line, "handle not NULL on failure");
	if (rc != HRT_EFORMAT && rc != HRT_ENOTSUP)
		t_failf(__FILE__, line, "code %d for '%s'", rc, err.msg);
	if (!strstr(err.msg, want))
		t_failf(__FILE__, line, "message '%s' does not mention '%s'", err.msg, want);
}
#define BAD(b, want) expect_bad((b), (want), __LINE__)

/* a valid minimal file: one f32 tensor of 8 elements */
static void valid_file(struct bb *b)
{
	bb_hdr(b, 1, 1);
	bb_str(b, "general.architecture");
	bb_u32(b, HRT_GGUF_STRING);
	bb_str(b, "llama");
	bb_str(b, "t");
	bb_u32(b, 1);
	bb_u64(b, 8);
	bb_u32(b, HRT_F32);
	bb_u64(b, 0);
	bb_pad(b, 32);
	float f[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	bb_raw(b, f, sizeof f);
}

static void test_valid_minimal(void)
{
	struct bb b;
	valid_file(&b);
	struct hrt_gguf *g;
	struct hrt_err err = { 0 };
	CHECKF(hrt_gguf_open_mem(&g, b.b, b.n, &err) == HRT_OK, "%s", err.msg);
	if (t_cur_failed)
		return;
	CHECK(hrt_gguf_n_tensors(g) == 1);
	const struct hrt_gguf_tensor *t = hrt_gguf_find_tensor(g, "t");
	CHECK(t && t->ne[0] == 8 && ((const float *)t->data)[7] == 8.0f);
	struct hrt_str s;
	CHECK(hrt_gguf_get_str(g, "general.architecture", &s, &err) == HRT_OK &&
	      hrt_str_eq(s, "llama"));
	CHECK(hrt_gguf_get_str(g, "nope", &s, &err) == HRT_ENOTFOUND);
	uint32_t u;
	CHECK(hrt_gguf_get_u32(g, "general.architecture", &u, &err) == HRT_EFORMAT);
	hrt_gguf_close(g);
}

static void test_roundtrip_all_types(void)
{
	struct hrt_gguf_writer *w;
	struct hrt_err err = { 0 };
	CHECK(hrt_gguf_writer_new(&w, &err) == HRT_OK);
	uint8_t u8 = 200;
	int8_t i8 = -100;
	uint16_t u16 = 60000;
	int16_t i16 = -30000;
	int32_t i32 = -2000000000;
	uint64_t u64 = 0xfedcba9876543210ull;
	int64_t i64 = -0x123456789abcdefll;
	double f64 = 3.25;
	hrt_gguf_w_scalar(w, "a.u8", HRT_GGUF_U8, &u8);
	hrt_gguf_w_scalar(w, "a.i8", HRT_GGUF_I8, &i8);
	hrt_gguf_w_scalar(w, "a.u16", HRT_GGUF_U16, &u16);
	hrt_gguf_w_scalar(w, "a.i16", HRT_GGUF_I16, &i16);
	hrt_gguf_w_u32(w, "a.u32", 4000000000u);
	hrt_gguf_w_i32(w, "a.i32", i32);
	hrt_gguf_w_f32(w, "a.f32", 1.5f);
	hrt_gguf_w_bool(w, "a.bool", true);
	hrt_gguf_w_str(w, "a.str", "héllo");
	hrt_gguf_w_scalar(w, "a.u64", HRT_GGUF_U64, &u64);
	hrt_gguf_w_scalar(w, "a.i64", HRT_GGUF_I64, &i64);
	hrt_gguf_w_scalar(w, "a.f64", HRT_GGUF_F64, &f64);
	float fa[3] = { 1, -2, 3.5f };
	hrt_gguf_w_arr(w, "a.arr_f32", HRT_GGUF_F32, fa, 3);
	int32_t ia[4] = { -1, 0, 1, 2147483647 };
	hrt_gguf_w_arr(w, "a.arr_i32", HRT_GGUF_I32, ia, 4);
	const char *sa[] = { "", "x", "longer string" };
	hrt_gguf_w_arr_str(w, "a.arr_str", sa, NULL, 3);
	hrt_gguf_w_arr(w, "a.arr_empty", HRT_GGUF_U8, NULL, 0);
	hrt_gguf_w_str(w, "a.str", "replaced");
	CHECK(hrt_gguf_w_set_alignment(w, 64) == HRT_OK);
	/* tensors of several types with odd sizes */
	float d32[3 * 5];
	for (int i = 0; i < 15; i++)
		d32[i] = (float)i * 0.5f;
	uint64_t ne32[2] = { 5, 3 };
	CHECK(hrt_gguf_w_tensor(w, "f32", HRT_F32, 2, ne32, d32, sizeof d32, &err) == HRT_OK);
	uint8_t q[34 * 2];
	for (size_t i = 0; i < sizeof q; i++)
		q[i] = (uint8_t)(i * 7);
	uint64_t neq[1] = { 64 };
	CHECK(hrt_gguf_w_tensor(w, "q8", HRT_Q8_0, 1, neq, q, sizeof q, &err) == HRT_OK);
	CHECK(hrt_gguf_w_tensor(w, "q8", HRT_Q8_0, 1, neq, q, sizeof q, &err) != HRT_OK);
	CHECK(hrt_gguf_w_tensor(w, "bad", HRT_Q8_0, 1, neq, q, 10, &err) != HRT_OK);
	uint8_t *buf;
	size_t len;
	CHECK(hrt_gguf_w_to_mem(w, &buf, &len, &err) == HRT_OK);
	hrt_gguf_writer_free(w);

	struct hrt_gguf *g;
	CHECKF(hrt_gguf_open_mem(&g, buf, len, &err) == HRT_OK, "%s", err.msg);
	if (t_cur_failed) {
		free(buf);
		return;
	}
	uint64_t v;
	int64_t s;
	float f;
	bool bo;
	struct hrt_str st;
	CHECK(hrt_gguf_get_u64(g, "a.u8", &v, &err) == 0 && v == 200);
	CHECK(hrt_gguf_get_i64(g, "a.i8", &s, &err) == 0 && s == -100);
	CHECK(hrt_gguf_get_u64(g, "a.i8", &v, &err) == HRT_EFORMAT); /* negative */
	CHECK(hrt_gguf_get_u64(g, "a.u16", &v, &err) == 0 && v == 60000);
	CHECK(hrt_gguf_get_i64(g, "a.i16", &s, &err) == 0 && s == -30000);
	uint32_t u;
	CHECK(hrt_gguf_get_u32(g, "a.u32", &u, &err) == 0 && u == 4000000000u);
	CHECK(hrt_gguf_get_i64(g, "a.i32", &s, &err) == 0 && s == i32);
	CHECK(hrt_gguf_get_f32(g, "a.f32", &f, &err) == 0 && f == 1.5f);
	CHECK(hrt_gguf_get_bool(g, "a.bool", &bo, &err) == 0 && bo);
	CHECK(hrt_gguf_get_str(g, "a.str", &st, &err) == 0 && hrt_str_eq(st, "replaced"));
	CHECK(hrt_gguf_get_u64(g, "a.u64", &v, &err) == 0 && v == u64);
	CHECK(hrt_gguf_get_u32(g, "a.u64", &u, &err) == HRT_EFORMAT); /* too big */
	CHECK(hrt_gguf_get_i64(g, "a.i64", &s, &err) == 0 && s == i64);
	CHECK(hrt_gguf_get_f32(g, "a.f64", &f, &err) == 0 && f == 3.25f);
	struct hrt_gguf_arr a;
	CHECK(hrt_gguf_get_arr(g, "a.arr_f32", &a, &err) == 0 && a.n == 3 &&
	      hrt_gguf_arr_f64(&a, 2) == 3.5);
	CHECK(hrt_gguf_get_arr(g, "a.arr_i32", &a, &err) == 0 && a.n == 4 &&
	      hrt_gguf_arr_i64(&a, 0) == -1 && hrt_gguf_arr_i64(&a, 3) == 2147483647);
	CHECK(hrt_gguf_get_arr(g, "a.arr_str", &a, &err) == 0 && a.n == 3 &&
	      hrt_gguf_arr_str(&a, 0).len == 0 && hrt_str_eq(hrt_gguf_arr_str(&a, 2), "longer string"));
	CHECK(hrt_gguf_get_arr(g, "a.arr_empty", &a, &err) == 0 && a.n == 0);
	CHECK(hrt_gguf_alignment(g) == 64);
	CHECK(hrt_gguf_data_offset(g) % 64 == 0);
	const struct hrt_gguf_tensor *t = hrt_gguf_find_tensor(g, "f32");
	CHECK(t && t->n_dims == 2 && t->ne[0] == 5 && t->ne[1] == 3 &&
	      !memcmp(t->data, d32, sizeof d32));
	t = hrt_gguf_find_tensor(g, "q8");
	CHECK(t && t->type == HRT_Q8_0 && t->nbytes == sizeof q && t->offset % 64 == 0 &&
	      !memcmp(t->data, q, sizeof q));

	/* copying every kv into a new writer reproduces the metadata */
	struct hrt_gguf_writer *w2;
	hrt_gguf_writer_new(&w2, &err);
	for (uint64_t i = 0; i < hrt_gguf_n_kv(g); i++)
		CHECK(hrt_gguf_w_copy_kv(w2, g, i) == HRT_OK);
	uint8_t *buf2;
	size_t len2;
	CHECK(hrt_gguf_w_to_mem(w2, &buf2, &len2, &err) == HRT_OK);
	struct hrt_gguf *g2;
	CHECK(hrt_gguf_open_mem(&g2, buf2, len2, &err) == HRT_OK);
	CHECK(hrt_gguf_get_arr(g2, "a.arr_str", &a, &err) == 0 && a.n == 3);
	CHECK(hrt_gguf_get_i64(g2, "a.i64", &s, &err) == 0 && s == i64);
	hrt_gguf_close(g2);
	hrt_gguf_writer_free(w2);
	free(buf2);
	hrt_gguf_close(g);
	free(buf);
}

static void test_write_file(void)
{
	char path[] = "/tmp/hearth-test-gguf-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct hrt_gguf_writer *w;
	struct hrt_err err = { 0 };
	hrt_gguf_writer_new(&w, &err);
	hrt_gguf_w_str(w, "general.name", "file test");
	float d[32] = { 0 };
	uint64_t ne[1] = { 32 };
	hrt_gguf_w_tensor(w, "x", HRT_F32, 1, ne, d, sizeof d, &err);
	CHECKF(hrt_gguf_w_write(w, path, &err) == HRT_OK, "%s", err.msg);
	hrt_gguf_writer_free(w);
	struct hrt_gguf *g;
	CHECKF(hrt_gguf_open(&g, path, &err) == HRT_OK, "%s", err.msg);
	if (!t_cur_failed)
		hrt_gguf_close(g);
	unlink(path);
	CHECK(hrt_gguf_open(&g, "/nonexistent/x.gguf", &err) == HRT_ENOTFOUND);
	CHECK(hrt_gguf_open(&g, "/tmp", &err) == HRT_EINVAL);
}

/* streamed tensors: bytes produced while writing, either the caller's
 * own or written into the writer's buffer; an error aborts cleanly */
struct fill_ctx {
	float own[16];
	int calls;
	int fail_at;
};

static int fill(void *ctx, uint64_t idx, void *buf, const void **data,
		struct hrt_err *err)
{
	struct fill_ctx *f = ctx;
	f->calls++;
	if ((int)idx == f->fail_at)
		return HRT_ERR(err, HRT_EIO, "tensor %llu failed", (unsigned long long)idx);
	if (idx == 0) {
		*data = f->own;
		return HRT_OK;
	}
	float *b = buf;
	for (int i = 0; i < 32; i++)
		b[i] = (float)(100 + i);
	*data = buf;
	return HRT_OK;
}

static void test_streamed_tensors(void)
{
	struct fill_ctx f = { .fail_at = -1 };
	for (int i = 0; i < 16; i++)
		f.own[i] = (float)i;
	struct hrt_err err = { 0 };
	struct hrt_gguf_writer *w;
	hrt_gguf_writer_new(&w, &err);
	uint64_t a[1] = { 16 }, b[2] = { 8, 4 };
	CHECK(hrt_gguf_w_tensor_cb(w, "own", HRT_F32, 1, a, 64, fill, &f, &err) == HRT_OK);
	CHECK(hrt_gguf_w_tensor_cb(w, "made", HRT_F32, 2, b, 128, fill, &f, &err) == HRT_OK);
	CHECK(hrt_gguf_w_tensor_cb(w, "bad", HRT_F32, 1, a, 63, fill, &f, &err) != HRT_OK);
	uint8_t *buf;
	size_t len;
	CHECK(hrt_gguf_w_to_mem(w, &buf, &len, &err) == HRT_OK && f.calls == 2);
	struct hrt_gguf *g;
	CHECKF(hrt_gguf_open_mem(&g, buf, len, &err) == HRT_OK, "%s", err.msg);
	if (!t_cur_failed) {
		const struct hrt_gguf_tensor *t = hrt_gguf_find_tensor(g, "own");
		CHECK(t && ((const float *)t->data)[15] == 15.0f);
		t = hrt_gguf_find_tensor(g, "made");
		CHECK(t && ((const float *)t->data)[31] == 131.0f);
		hrt_gguf_close(g);
	}
	free(buf);
	/* a failing fill aborts the file write and leaves nothing behind */
	char path[] = "/tmp/hearth-test-stream-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	f.fail_at = 1;
	CHECK(hrt_gguf_w_write(w, path, &err) == HRT_EIO && strstr(err.msg, "tensor 1 failed"));
	CHECK(access(path, F_OK) != 0);
	f.fail_at = -1;
	CHECKF(hrt_gguf_w_write(w, path, &err) == HRT_OK, "%s", err.msg);
	CHECK(hrt_gguf_open(&g, path, &err) == HRT_OK);
	if (!t_cur_failed)
		hrt_gguf_close(g);
	unlink(path);
	CHECK(hrt_gguf_w_write(w, "/nonexistent-dir/x.gguf", &err) == HRT_ENOTFOUND);
	hrt_gguf_writer_free(w);
}

static void test_tiny_files(void)
{
	struct bb b = { .n = 0 };
	BAD(&b, "too short");
	bb_raw(&b, "GGUF", 4); /* the 4-byte file that crashed a server */
	BAD(&b, "header version");
	b.n = 0;
	bb_raw(&b, "GGML", 4);
	bb_u32(&b, 3);
	BAD(&b, "magic");
	bb_hdr(&b, 0, 0);
	b.n -= 3; /* truncated counts */
	BAD(&b, "metadata key count");
}

static void test_versions(void)
{
	struct bb b;
	bb_hdr(&b, 0, 0);
	uint32_t v = 1;
	memcpy(b.b + 4, &v, 4);
	BAD(&b, "version 1");
	v = 99;
	memcpy(b.b + 4, &v, 4);
	BAD(&b, "version 99");
	v = 0x03000000; /* big-endian 3 */
	memcpy(b.b + 4, &v, 4);
	BAD(&b, "big-endian");
}

static void test_huge_counts(void)
{
	struct bb b;
	bb_hdr(&b, 0, UINT64_MAX);
	BAD(&b, "metadata key count");
	bb_hdr(&b, UINT64_MAX / 2, 0);
	BAD(&b, "tensor count");
	bb_hdr(&b, 1ull << 40, 0);
	BAD(&b, "tensor count");
}

static void bb_zeros(struct bb *b, size_t n)
{
	memset(b->b + b->n, 0, n);
	b->n += n;
}

static void test_string_lengths(void)
{
	struct bb b;
	bb_hdr(&b, 0, 1);
	bb_u64(&b, UINT64_MAX); /* key length */
	bb_zeros(&b, 64);
	BAD(&b, "metadata key name");
	bb_hdr(&b, 0, 1);
	bb_u64(&b, 5000); /* over the name limit */
	bb_zeros(&b, 64);
	BAD(&b, "limit");
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, HRT_GGUF_STRING);
	bb_u64(&b, UINT64_MAX - 3); /* value length that would wrap */
	BAD(&b, "metadata string value");
	bb_hdr(&b, 0, 1);
	bb_str(&b, "");
	bb_u32(&b, HRT_GGUF_U8);
	b.b[b.n++] = 0;
	bb_zeros(&b, 16);
	BAD(&b, "empty name");
}

static void test_value_types(void)
{
	struct bb b;
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, 13);
	bb_u64(&b, 0);
	BAD(&b, "not a GGUF type");
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, 0xffffffffu);
	bb_u64(&b, 0);
	BAD(&b, "not a GGUF type");
	/* array of an invalid element type, and a nested array */
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u32(&b, 77);
	bb_u64(&b, 1);
	BAD(&b, "array element type");
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u64(&b, 1);
	BAD(&b, "nested");
	/* array whose byte size overflows: 2^62 u32 */
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u32(&b, HRT_GGUF_U32);
	bb_u64(&b, 1ull << 62);
	BAD(&b, "runs past the end");
	/* a huge string array count must not allocate */
	bb_hdr(&b, 0, 1);
	bb_str(&b, "tokenizer.ggml.tokens");
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u32(&b, HRT_GGUF_STRING);
	bb_u64(&b, 1ull << 60);
	BAD(&b, "cannot fit");
	/* a string element that runs past the end */
	bb_hdr(&b, 0, 1);
	bb_str(&b, "k");
	bb_u32(&b, HRT_GGUF_ARRAY);
	bb_u32(&b, HRT_GGUF_STRING);
	bb_u64(&b, 2);
	bb_str(&b, "ok");
	bb_u64(&b, 1000);
	BAD(&b, "element 1");
	/* duplicate key */
	bb_hdr(&b, 0, 2);
	for (int i = 0; i < 2; i++) {
		bb_str(&b, "dup");
		bb_u32(&b, HRT_GGUF_U8);
		b.b[b.n++] = 1;
	}
	BAD(&b, "appears twice");
}

static void test_alignment_key(void)
{
	uint32_t bad[] = { 0, 3, 48, 1u << 31 };
	for (size_t i = 0; i < 4; i++) {
		struct bb b;
		bb_hdr(&b, 0, 1);
		bb_str(&b, "general.alignment");
		bb_u32(&b, HRT_GGUF_U32);
		bb_u32(&b, bad[i]);
		BAD(&b, "general.alignment");
	}
	struct bb b;
	bb_hdr(&b, 0, 1);
	bb_str(&b, "general.alignment");
	bb_u32(&b, HRT_GGUF_STRING);
	bb_str(&b, "32");
	BAD(&b, "expected u32");
}

/* one tensor info with the given fields; data section of data_len bytes */
static void tensor_file(struct bb *b, uint32_t n_dims, const uint64_t *ne,
			uint32_t type, uint64_t off, size_t data_len)
{
	bb_hdr(b, 1, 0);
	bb_str(b, "w");
	bb_u32(b, n_dims);
	for (uint32_t i = 0; i < n_dims && i < 8; i++)
		bb_u64(b, ne[i]);
	bb_u32(b, type);
	bb_u64(b, off);
	bb_pad(b, 32);
	memset(b->b + b->n, 0, data_len);
	b->n += data_len;
}

static void test_tensor_infos(void)
{
	struct bb b;
	uint64_t ne[8] = { 32, 2, 1, 1, 1 };
	tensor_file(&b, 5, ne, HRT_F32, 0, 256);
	BAD(&b, "n_dims = 5");
	tensor_file(&b, 0, ne, HRT_F32, 0, 256);
	BAD(&b, "n_dims = 0");
	uint64_t zero[2] = { 32, 0 };
	tensor_file(&b, 2, zero, HRT_F32, 0, 256);
	BAD(&b, "dimension 1 = 0");
	uint64_t huge[4] = { 1ull << 32, 1ull << 32, 1, 1 };
	tensor_file(&b, 2, huge, HRT_F32, 0, 256);
	BAD(&b, "overflows");
	uint64_t big[2] = { 1ull << 62, 1 };
	tensor_file(&b, 2, big, HRT_F32, 0, 256);
	BAD(&b, "byte size overflows");
	tensor_file(&b, 2, ne, 4 /* retired Q4_2 */, 0, 256);
	BAD(&b, "unknown");
	tensor_file(&b, 2, ne, 1000, 0, 256);
	BAD(&b, "unknown");
	uint64_t odd[2] = { 33, 1 };
	tensor_file(&b, 2, odd, HRT_Q4_0, 0, 256);
	BAD(&b, "block size");
	/* data past the end of the file (the heap-leak bug class) */
	tensor_file(&b, 2, ne, HRT_F32, 0, 100);
	BAD(&b, "past the end");
	tensor_file(&b, 2, ne, HRT_F32, 1u << 20, 256);
	BAD(&b, "past the end");
	tensor_file(&b, 2, ne, HRT_F32, UINT64_MAX - 31, 256);
	BAD(&b, "past the end");
	tensor_file(&b, 2, ne, HRT_F32, 16, 512);
	BAD(&b, "not a multiple of the alignment");
	/* duplicate tensor names */
	bb_hdr(&b, 2, 0);
	for (int i = 0; i < 2; i++) {
		bb_str(&b, "same");
		bb_u32(&b, 1);
		bb_u64(&b, 8);
		bb_u32(&b, HRT_F32);
		bb_u64(&b, 0);
	}
	bb_pad(&b, 32);
	memset(b.b + b.n, 0, 64);
	b.n += 64;
	BAD(&b, "appears twice");
	/* a name of the limit's length is fine, one byte more is not */
	bb_hdr(&b, 1, 0);
	bb_u64(&b, 4097);
	memset(b.b + b.n, 'a', 4097);
	b.n += 4097;
	BAD(&b, "tensor name");
}

/* every prefix of a valid file fails cleanly; the whole file opens */
static void test_truncations(void)
{
	struct bb b;
	valid_file(&b);
	struct hrt_err err;
	for (size_t n = 0; n < b.n; n++) {
		struct hrt_gguf *g = NULL;
		int rc = hrt_gguf_open_mem(&g, b.b, n, &err);
		if (rc == HRT_OK) {
			hrt_gguf_close(g);
			CHECKF(0, "prefix of %zu bytes accepted", n);
		}
	}
	struct hrt_gguf *g = NULL;
	CHECK(hrt_gguf_open_mem(&g, b.b, b.n, &err) == HRT_OK);
	hrt_gguf_close(g);
}

/* every byte of the header changed to several values: no crash */
static void test_mutations(void)
{
	struct bb b;
	valid_file(&b);
	size_t hdr = b.n - 32;
	static const uint8_t vals[] = { 0x00, 0x01, 0x05, 0x7f, 0x80, 0xff };
	int accepted = 0;
	for (size_t i = 0; i < hdr; i++)
		for (size_t k = 0; k < sizeof vals; k++) {
			struct bb m = b;
			m.b[i] = vals[k];
			struct hrt_gguf *g = NULL;
			struct hrt_err err;
			if (hrt_gguf_open_mem(&g, m.b, m.n, &err) == HRT_OK) {
				accepted++;
				/* what is accepted must be safe to read */
				for (uint64_t t = 0; t < hrt_gguf_n_tensors(g); t++) {
					const struct hrt_gguf_tensor *ti = hrt_gguf_tensor(g, t);
					volatile uint8_t x = ((const uint8_t *)ti->data)[ti->nbytes - 1];
					(void)x;
				}
				hrt_gguf_close(g);
			}
		}
	CHECK(accepted > 0); /* e.g. changing name bytes keeps it valid */
}

int main(void)
{
	RUN(test_valid_minimal);
	RUN(test_roundtrip_all_types);
	RUN(test_write_file);
	RUN(test_streamed_tensors);
	RUN(test_tiny_files);
	RUN(test_versions);
	RUN(test_huge_counts);
	RUN(test_string_lengths);
	RUN(test_value_types);
	RUN(test_alignment_key);
	RUN(test_tensor_infos);
	RUN(test_truncations);
	RUN(test_mutations);
	return t_done();
}
