/*
 * prov/id — the model ID (per-tensor SHA-256 leaves, RFC 6962 Merkle root
 * over the sorted leaves; construction documented in prov.h), the
 * streamed SHA-256 of a whole file, the quantization-robust fingerprint,
 * and the tensor view (prov_model) the lineage code reads.
 *
 * Speed: hashing is shared over all threads: tensors are handed out
 * largest first, the whole-file digest (one sequential stream) runs beside
 * them as the first job; the SHA-256 itself is OpenSSL's (SHA-NI) when it
 * can be loaded (sha.c). See bench/prov_bench.sh for the numbers against
 * reading the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "gguf/gguf.h"
#include "kern/pool.h"
#include "kern/types.h"
#include "prov/prov_int.h"

/* ------------------------------------------------------ tensor view */

int prov_model_from_gguf(const struct hrt_gguf *g, struct prov_model *m,
			 struct hrt_err *err)
{
	memset(m, 0, sizeof *m);
	uint64_t n = hrt_gguf_n_tensors(g);
	if (n == 0)
		return HRT_ERR(err, HRT_EFORMAT, "the file has no tensors");
	m->t = hrt_calloc((size_t)n, sizeof *m->t);
	if (!m->t)
		return HRT_ERR(err, HRT_ENOMEM, "out of memory for %llu tensors",
			       (unsigned long long)n);
	m->n = (size_t)n;
	for (uint64_t i = 0; i < n; i++) {
		const struct hrt_gguf_tensor *gt = hrt_gguf_tensor(g, i);
		struct prov_tensor *t = &m->t[i];
		size_t nl = gt->name.len < sizeof t->name - 1 ? (size_t)gt->name.len
							       : sizeof t->name - 1;
		memcpy(t->name, gt->name.ptr, nl);
		t->name[nl] = 0;
		for (size_t k = 0; k < nl; k++)
			if ((unsigned char)t->name[k] < 0x20)
				t->name[k] = '?';
		t->type = gt->type;
		uint32_t nd = gt->n_dims;
		while (nd > 1 && gt->ne[nd - 1] == 1)
			nd--;
		t->n_dims = nd;
		for (int d = 0; d < 4; d++)
			t->ne[d] = d < (int)gt->n_dims ? gt->ne[d] : 1;
		t->cols = t->ne[0];
		t->rows = t->ne[1] * t->ne[2] * t->ne[3]; /* validated by the reader */
		t->data = gt->data;
		t->nbytes = gt->nbytes;
		const struct hrt_type_traits *tt = hrt_type_get(gt->type);
		t->readable = tt && tt->to_float &&
			      hrt_type_row_bytes(gt->type, t->cols, &t->row_bytes) &&
			      t->row_bytes * t->rows == t->nbytes;
	}
	return HRT_OK;
}

void prov_model_free(struct prov_model *m)
{
	if (!m)
		return;
	free(m->t);
	m->t = NULL;
	m->n = 0;
}

uint64_t prov_blck(const struct prov_tensor *t)
{
	const struct hrt_type_traits *tt = hrt_type_get(t->type);
	return tt ? tt->blck : 1;
}

void prov_row_get(const struct prov_tensor *t, uint64_t r, uint64_t c0,
		  uint64_t nc, float *out, float *scratch)
{
	const struct hrt_type_traits *tt = hrt_type_get(t->type);
	const uint8_t *row = t->data + r * t->row_bytes;
	if (t->type == HRT_F32) {
		memcpy(out, row + c0 * 4, nc * 4);
		return;
	}
	uint64_t b0 = c0 / tt->blck;
	uint64_t b1 = (c0 + nc + tt->blck - 1) / tt->blck;
	if (c0 % tt->blck == 0 && nc % tt->blck == 0) {
		/* whole blocks: straight into out */
		tt->to_float(row + b0 * tt->size, out, (int64_t)nc);
		return;
	}
	tt->to_float(row + b0 * tt->size, scratch, (int64_t)((b1 - b0) * tt->blck));
	memcpy(out, scratch + (c0 - b0 * tt->blck), nc * sizeof(float));
}

/* ------------------------------------------------------------ leaves */

/* feed n bytes at p (inside the mapping at base) to st: by pread from fd
 * into buf when there is one (copying through the cache costs less than
 * hashing straight from freshly faulted pages of the mapping), else from
 * the mapping */
static void feed(struct prov_sha *st, const uint8_t *base, const uint8_t *p, uint64_t n,
		 int fd, uint8_t *buf, size_t cap)
{
	uint64_t off = (uint64_t)(p - base);
	while (n) {
		size_t c = n < cap ? (size_t)n : cap;
		ssize_t k = fd >= 0 && buf ? pread(fd, buf, c, (off_t)off) : -1;
		if (k == (ssize_t)c) {
			prov_sha_update(st, buf, c);
		} else {
			/* no descriptor, or a short read: the mapping has it */
			c = n < (16u << 20) ? (size_t)n : (16u << 20);
			prov_sha_update(st, base + off, c);
		}
		off += c;
		n -= c;
	}
}

static void tensor_leaf(const struct hrt_gguf_tensor *gt, uint8_t out[32], const uint8_t *base,
			int fd, uint8_t *buf, size_t cap)
{
	struct prov_sha st;
	uint8_t hdr[16 + 4 + 4 + 8 * 4 + 8];
	size_t k = 0;
	memcpy(hdr, "hearth-tensor-v1", 16);
	k = 16;
	uint32_t nd = gt->n_dims;
	while (nd > 1 && gt->ne[nd - 1] == 1)
		nd--;
	uint32_t u32[2] = { gt->type, nd };
	for (int i = 0; i < 2; i++)
		for (int b = 0; b < 4; b++)
			hdr[k++] = (uint8_t)(u32[i] >> (8 * b));
	for (uint32_t d = 0; d < nd; d++)
		for (int b = 0; b < 8; b++)
			hdr[k++] = (uint8_t)(gt->ne[d] >> (8 * b));
	for (int b = 0; b < 8; b++)
		hdr[k++] = (uint8_t)(gt->nbytes >> (8 * b));
	prov_sha_init(&st);
	prov_sha_update(&st, hdr, k);
	feed(&st, base, gt->data, gt->nbytes, fd, buf, cap);
	prov_sha_final(&st, out);
}

static int cmp_leaf(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* RFC 6962 MTH over n 32-byte leaf digests */
static void merkle(const uint8_t (*d)[32], size_t n, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	if (n == 0) {
		crypto_hash_sha256(out, (const uint8_t *)"", 0);
		return;
	}
	if (n == 1) {
		uint8_t z = 0;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, &z, 1);
		crypto_hash_sha256_update(&st, d[0], 32);
		crypto_hash_sha256_final(&st, out);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	uint8_t l[32], r[32], one = 1;
	merkle(d, k, l);
	merkle(d + k, n - k, r);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &one, 1);
	crypto_hash_sha256_update(&st, l, 32);
	crypto_hash_sha256_update(&st, r, 32);
	crypto_hash_sha256_final(&st, out);
}

/* ------------------------------------------------------- fingerprint */

#define FP_ROWS 8
#define FP_COLS 256
#define FP_SCRATCH (FP_ROWS * FP_COLS + FP_COLS + 256) /* floats, fp_tensor */

/* one tensor's share of the fingerprint: FP_ROWS sampled rows (first
 * FP_COLS columns), dequantized, normalized, projected on HRT_PROV_FP_BITS
 * pseudo-random +-1 directions; false when the tensor is skipped */
static bool fp_tensor(const struct prov_tensor *t, float proj[HRT_PROV_FP_BITS], float *buf)
{
	float *x = buf, *scratch = buf + FP_ROWS * FP_COLS;
	if (!t->readable || t->rows < 2)
		return false;
	uint64_t c = t->cols < FP_COLS ? t->cols : FP_COLS;
	uint64_t seed = prov_mix64(t->cols * 0x100000001b3ull ^ t->rows);
	size_t k = 0;
	double ss = 0;
	for (int r = 0; r < FP_ROWS; r++) {
		uint64_t row = prov_mix64(seed + (uint64_t)r) % t->rows;
		prov_row_get(t, row, 0, c, x + k, scratch);
		for (uint64_t q = 0; q < c; q++)
			ss += (double)x[k + q] * x[k + q];
		k += c;
	}
	if (!(ss > 0) || !isfinite(ss))
		return false;
	float inv = (float)(1.0 / sqrt(ss));
	memset(proj, 0, HRT_PROV_FP_BITS * sizeof *proj);
	for (size_t e = 0; e < k; e++) {
		float v = x[e] * inv;
		for (int w = 0; w < HRT_PROV_FP_BITS / 64; w++) {
			uint64_t bits = prov_mix64(seed ^ (e * 4 + (uint64_t)w + 1) *
							   0x9e3779b97f4a7c15ull);
			float *pw = proj + w * 64;
			/* branch-free +-v: the loop vectorizes */
			for (int bb = 0; bb < 64; bb++)
				pw[bb] += v * (float)(2 * (int)((bits >> bb) & 1) - 1);
		}
	}
	return true;
}

/* the sign bits of the tensors' projections summed in tensor order (the
 * same order whichever thread computed them) */
static void fp_finish(const float (*proj)[HRT_PROV_FP_BITS], const bool *has, size_t n,
		      char out[5 + 64 + 1])
{
	double acc[HRT_PROV_FP_BITS] = { 0 };
	for (size_t i = 0; i < n; i++)
		if (has[i])
			for (int bb = 0; bb < HRT_PROV_FP_BITS; bb++)
				acc[bb] += proj[i][bb];
	uint8_t bits[HRT_PROV_FP_BITS / 8] = { 0 };
	for (int bb = 0; bb < HRT_PROV_FP_BITS; bb++)
		if (acc[bb] > 0)
			bits[bb / 8] |= (uint8_t)(1u << (bb % 8));
	memcpy(out, HRT_PROV_FP_PREFIX, 5);
	hrt_prov_hex(bits, sizeof bits, out + 5);
}

int hrt_prov_fingerprint(const struct hrt_gguf *g, char out[5 + 64 + 1],
			 struct hrt_err *err)
{
	struct prov_model m;
	int rc = prov_model_from_gguf(g, &m, err);
	if (rc)
		return rc;
	float (*proj)[HRT_PROV_FP_BITS] = hrt_calloc(m.n, sizeof *proj);
	bool *has = hrt_calloc(m.n, sizeof *has);
	float *buf = malloc(FP_SCRATCH * sizeof(float));
	if (!proj || !has || !buf) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	for (size_t i = 0; i < m.n; i++)
		has[i] = fp_tensor(&m.t[i], proj[i], buf);
	fp_finish((const float (*)[HRT_PROV_FP_BITS])proj, has, m.n, out);
out_free:
	free(proj);
	free(has);
	free(buf);
	prov_model_free(&m);
	return rc;
}

/* ------------------------------------------------------- parallel job */

struct id_job {
	const struct hrt_gguf *g;
	size_t n;               /* tensors */
	size_t *order;          /* tensor indices, largest first */
	uint8_t (*leaf)[32];    /* by tensor index */
	bool file_sha;
	const uint8_t *base;
	uint64_t size;
	uint8_t file_digest[32];
	atomic_size_t next;     /* 0 = file job if file_sha, then tensors */
	int fd;                 /* the file, or -1: read the mapping */
	/* the fingerprint, when asked: each tensor's projection right after
	 * its leaf, while its pages are in the cache (NULL: not asked) */
	const struct prov_model *m;
	float (*proj)[HRT_PROV_FP_BITS];
	bool *has;
	atomic_bool fp_failed;  /* a task could not allocate: redo serially */
};

#define READ_CHUNK (1u << 20)

static void id_task(void *ctx, int ith, int nth)
{
	struct id_job *j = ctx;
	(void)ith;
	(void)nth;
	size_t total = j->n + (j->file_sha ? 1 : 0);
	uint8_t *buf = j->fd >= 0 ? malloc(READ_CHUNK) : NULL;
	float *fbuf = j->m ? malloc(FP_SCRATCH * sizeof(float)) : NULL;
	if (j->m && !fbuf)
		atomic_store(&j->fp_failed, true);
	for (;;) {
		size_t w = atomic_fetch_add(&j->next, 1);
		if (w >= total)
			break;
		if (j->file_sha) {
			if (w == 0) {
				struct prov_sha st;
				prov_sha_init(&st);
				feed(&st, j->base, j->base, j->size, j->fd, buf, READ_CHUNK);
				prov_sha_final(&st, j->file_digest);
				continue;
			}
			w--;
		}
		size_t ti = j->order[w];
		tensor_leaf(hrt_gguf_tensor(j->g, ti), j->leaf[ti], j->base, j->fd, buf, READ_CHUNK);
		if (fbuf)
			j->has[ti] = fp_tensor(&j->m->t[ti], j->proj[ti], fbuf);
	}
	free(buf);
	free(fbuf);
}

static int order_by_size(const struct hrt_gguf *g, size_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* insertion sort keyed by size: no global state, n is small (<10^4) */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i];
		uint64_t s = hrt_gguf_tensor(g, v)->nbytes;
		size_t k = i;
		while (k > 0 && hrt_gguf_tensor(g, order[k - 1])->nbytes < s) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = v;
	}
	return HRT_OK;
}

static int id_gguf_fd(const struct hrt_gguf *g, int fd, const struct hrt_prov_id_opts *o,
		      struct hrt_prov_id *out, struct hrt_err *err);

int hrt_prov_id_gguf(const struct hrt_gguf *g, const struct hrt_prov_id_opts *o,
		     struct hrt_prov_id *out, struct hrt_err *err)
{
	return id_gguf_fd(g, -1, o, out, err);
}

static int id_gguf_fd(const struct hrt_gguf *g, int fd, const struct hrt_prov_id_opts *o,
		      struct hrt_prov_id *out, struct hrt_err *err)
{
	struct hrt_prov_id_opts def = { 0 };
	if (!o)
		o = &def;
	memset(out, 0, sizeof *out);
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	size_t n = (size_t)hrt_gguf_n_tensors(g);
	int rc = HRT_OK;
	struct id_job j = { .g = g, .n = n, .file_sha = o->file_sha256,
			    .base = hrt_gguf_base(g), .size = hrt_gguf_file_size(g), .fd = fd };
	atomic_init(&j.next, 0);
	atomic_init(&j.fp_failed, false);
	struct prov_model m = { 0 };
	j.order = hrt_calloc(n ? n : 1, sizeof *j.order);
	j.leaf = hrt_calloc(n ? n : 1, sizeof *j.leaf);
	if (!j.order || !j.leaf) {
		rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
		goto out_free;
	}
	if (o->fingerprint) {
		if ((rc = prov_model_from_gguf(g, &m, err)))
			goto out_free;
		j.proj = hrt_calloc(n, sizeof *j.proj);
		j.has = hrt_calloc(n, sizeof *j.has);
		if (!j.proj || !j.has) {
			rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
			goto out_free;
		}
		j.m = &m;
	}
	order_by_size(g, j.order, n);
	uint64_t data_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
		data_bytes += t->nbytes;
		out->n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
	}
	int nt = o->n_threads;
	if (nt <= 0)
		nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nt < 1)
		nt = 1;
	if (nt > 64)
		nt = 64;
	if (data_bytes < (8u << 20) && !o->file_sha256)
		nt = 1;
	/* tell the kernel we stream through it: bigger readahead */
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t b = (uintptr_t)j.base & ~(pg - 1);
	madvise((void *)b, (size_t)(j.size + ((uintptr_t)j.base - b)), MADV_SEQUENTIAL);
	struct hrt_pool *pool = nt > 1 ? hrt_pool_new(nt) : NULL;
	hrt_pool_run_n(pool, id_task, &j, nt);
	hrt_pool_free(pool);
	madvise((void *)b, (size_t)(j.size + ((uintptr_t)j.base - b)), MADV_NORMAL);

	if (o->tensors) {
		out->tensors = hrt_calloc(n ? n : 1, sizeof *out->tensors);
		if (!out->tensors) {
			rc = HRT_ERR(err, HRT_ENOMEM, "out of memory");
			goto out_free;
		}
		for (size_t i = 0; i < n; i++) {
			const struct hrt_gguf_tensor *t = hrt_gguf_tensor(g, i);
			size_t nl = t->name.len < 127 ? (size_t)t->name.len : 127;
			memcpy(out->tensors[i].name, t->name.ptr, nl);
			out->tensors[i].name[nl] = 0;
			memcpy(out->tensors[i].leaf, j.leaf[i], 32);
		}
	}
	qsort(j.leaf, n, 32, cmp_leaf);
	merkle((const uint8_t (*)[32])j.leaf, n, out->root);
	memcpy(out->id, HRT_PROV_ID_PREFIX, 6);
	hrt_prov_hex(out->root, 32, out->id + 6);
	out->n_tensors = n;
	out->file_size = j.size;
	if (o->file_sha256) {
		out->have_file_sha = true;
		memcpy(out->file_sha256, j.file_digest, 32);
		hrt_prov_hex(j.file_digest, 32, out->file_sha256_hex);
	}
	if (o->fingerprint) {
		if (!atomic_load(&j.fp_failed))
			fp_finish((const float (*)[HRT_PROV_FP_BITS])j.proj, j.has, n,
				  out->fingerprint);
		else if ((rc = hrt_prov_fingerprint(g, out->fingerprint, err)))
			goto out_free;
	}
out_free:
	free(j.order);
	free(j.leaf);
	free(j.proj);
	free(j.has);
	prov_model_free(&m);
	if (rc)
		hrt_prov_id_free(out);
	return rc;
}

int hrt_prov_id_file(const char *path, const struct hrt_prov_id_opts *o,
		     struct hrt_prov_id *out, struct hrt_err *err)
{
	struct hrt_gguf *g = NULL;
	memset(out, 0, sizeof *out);
	int rc = hrt_gguf_open(&g, path, err);
	if (rc)
		return rc;
	/* read through a descriptor; it must be the file that was mapped */
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) || (uint64_t)st.st_size != hrt_gguf_file_size(g))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = id_gguf_fd(g, fd, o, out, err);
	if (fd >= 0)
		close(fd);
	hrt_gguf_close(g);
	return rc;
}

void hrt_prov_id_free(struct hrt_prov_id *id)
{
	if (!id)
		return;
	free(id->tensors);
	id->tensors = NULL;
}

int hrt_prov_sha256_file(const char *path, uint8_t out[32], uint64_t *size,
			 struct hrt_err *err)
{
	if (!prov_sodium_ready())
		return HRT_ERR(err, HRT_ENOMEM, "libsodium failed to start");
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return HRT_ERR(err, errno == ENOENT ? HRT_ENOTFOUND : HRT_EIO, "%s: %s",
			       path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return HRT_ERR(err, HRT_EIO, "%s: not a regular file", path);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return HRT_ERR(err, HRT_ENOMEM, "out of memory");
	}
	struct prov_sha st2;
	prov_sha_init(&st2);
	uint64_t total = 0;
	int rc = HRT_OK;
	for (;;) {
		ssize_t k = read(fd, buf, cap);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (k == 0)
			break;
		prov_sha_update(&st2, buf, (size_t)k);
		total += (uint64_t)k;
	}
	free(buf);
	close(fd);
	prov_sha_final(&st2, out); /* also frees the context on errors */
	if (rc)
		return rc;
	if (size)
		*size = total;
	return HRT_OK;
}

int hrt_prov_fp_distance(const char *a, const char *b, double *log10_p)
{
	uint8_t x[32], y[32];
	if (!a || !b || strncmp(a, HRT_PROV_FP_PREFIX, 5) ||
	    strncmp(b, HRT_PROV_FP_PREFIX, 5) || !prov_unhex(a + 5, x, 32) ||
	    !prov_unhex(b + 5, y, 32))
		return -1;
	int d = 0;
	for (int i = 0; i < 32; i++)
		d += __builtin_popcount((unsigned)(x[i] ^ y[i]));
	if (log10_p) {
		/* P(Bin(256, 1/2) <= d), summed in log space */
		double lse = -INFINITY;
		for (int k = 0; k <= d; k++) {
			double lc = lgamma(257.0) - lgamma(k + 1.0) - lgamma(257.0 - k);
			double v = lc - 256 * log(2.0);
			lse = lse > v ? lse + log1p(exp(v - lse)) : v + log1p(exp(lse - v));
		}
		*log10_p = lse / log(10.0);
		if (*log10_p > 0)
			*log10_p = 0;
	}
	return d;
}
