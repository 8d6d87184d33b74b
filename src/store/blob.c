/*
 * store/blob — content-addressed blobs: the only code that gives a file a
 * name under blobs/sha256/. Two ways in, both ending in a rename of a
 * verified, fsync'ed file followed by an fsync of the folder:
 *   - the writer (imports, the server's POST /api/blobs): a mkstemp temp
 *     file ".tmp-XXXXXX", hashed while written, named at commit;
 *   - the stage (downloads, layout and Ollama imports): "<hex>.partial",
 *     flock'ed so a second writer of the same blob waits and then finds it
 *     published, kept after an interruption so the next run resumes.
 * Not here: which blobs a model needs (manifest.c), where they come from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "store/store_int.h"

#define COPY_BUF ((size_t)1 << 20)

int st_blob_path(const struct hrt_store *s, const struct hrt_digest *d,
		 char *out, size_t cap, struct hrt_err *err)
{
	return st_pathf(out, cap, err, "%s/%s", s->blobs, d->hex);
}

int hrt_store_blob_path(const struct hrt_store *s, const struct hrt_digest *d,
			char *out, size_t cap, struct hrt_err *err)
{
	return st_blob_path(s, d, out, cap, err);
}

bool hrt_store_blob_exists(struct hrt_store *s, const struct hrt_digest *d)
{
	return st_blob_check(s, d, UINT64_MAX, NULL) == 1;
}

int st_blob_check(const struct hrt_store *s, const struct hrt_digest *d,
		  uint64_t size, struct hrt_err *err)
{
	char p[ST_PATH];
	struct stat st;
	if (st_blob_path(s, d, p, sizeof p, err))
		return -HRT_ERANGE;
	if (lstat(p, &st) != 0)
		return 0;
	if (!S_ISREG(st.st_mode) || (size != UINT64_MAX && (uint64_t)st.st_size != size)) {
		HRT_ERR(err, HRT_EFORMAT,
			"blob sha256:%s in the store has %llu bytes, not the %llu its manifest says: "
			"the store is damaged (run hearth fsck)",
			d->hex, (unsigned long long)st.st_size, (unsigned long long)size);
		return -HRT_EFORMAT;
	}
	return 1;
}

static void hex_of_state(crypto_hash_sha256_state *sha, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(sha, h);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

/* ---- the writer ---- */

struct hrt_blob_writer {
	const struct hrt_store *s;
	int fd;
	char tmp[ST_PATH];
	bool have_want;
	struct hrt_digest want;
	uint64_t size;        /* expected, UINT64_MAX unknown */
	uint64_t n;
	crypto_hash_sha256_state sha;
	struct hrt_digest got;
	bool finished;
	struct hrt_alignw aw; /* fd in whole 2 MiB writes (core/alignw.h) */
};

int hrt_store_blob_begin(struct hrt_store *s, const struct hrt_digest *want,
			 uint64_t size, struct hrt_blob_writer **out,
			 struct hrt_err *err)
{
	*out = NULL;
	if (size != UINT64_MAX && size > HRT_STORE_BLOB_MAX)
		return HRT_ERR(err, HRT_ERANGE, "a blob of %llu bytes is over the limit",
			       (unsigned long long)size);
	struct hrt_blob_writer *w = calloc(1, sizeof *w);
	if (!w)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	w->s = s;
	w->size = size;
	if (want) {
		w->have_want = true;
		w->want = *want;
	}
	if (st_pathf(w->tmp, sizeof w->tmp, err, "%s/.tmp-XXXXXX", s->blobs)) {
		free(w);
		return HRT_ERANGE;
	}
	w->fd = mkstemp(w->tmp);
	if (w->fd < 0) {
		int e = errno;
		free(w);
		return HRT_ERR(err, HRT_EIO, "cannot create a file in %s: %s", s->blobs, strerror(e));
	}
	crypto_hash_sha256_init(&w->sha);
	hrt_alignw_init(&w->aw, w->fd, 0);
	*out = w;
	return HRT_OK;
}

int hrt_store_blob_write(struct hrt_blob_writer *w, const void *buf, size_t len,
			 struct hrt_err *err)
{
	uint64_t n;
	if (hrt_add_ovf(w->n, len, &n) || (w->size != UINT64_MAX && n > w->size) ||
	    n > HRT_STORE_BLOB_MAX)
		return HRT_ERR(err, HRT_ERANGE, "more bytes than the %llu announced for this blob",
			       (unsigned long long)(w->size == UINT64_MAX ? HRT_STORE_BLOB_MAX : w->size));
	if (hrt_alignw_put(&w->aw, buf, len))
		return HRT_ERR(err, HRT_EIO, "writing %s: %s", w->tmp, strerror(errno));
	crypto_hash_sha256_update(&w->sha, buf, len);
	w->n = n;
	return HRT_OK;
}

void hrt_store_blob_abort(struct hrt_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	hrt_alignw_free(&w->aw);
	unlink(w->tmp);
	free(w);
}

int st_writer_finish(struct hrt_blob_writer *w, struct hrt_digest *got,
		     uint64_t *size, struct hrt_err *err)
{
	if (w->size != UINT64_MAX && w->n != w->size)
		return HRT_ERR(err, HRT_EFORMAT, "blob ended after %llu of %llu bytes",
			       (unsigned long long)w->n, (unsigned long long)w->size);
	hex_of_state(&w->sha, w->got.hex);
	if (w->have_want && strcmp(w->got.hex, w->want.hex) != 0)
		return HRT_ERR(err, HRT_EFORMAT,
			       "content hashes to sha256:%s, not the expected sha256:%s; discarded",
			       w->got.hex, w->want.hex);
	if (hrt_alignw_flush(&w->aw))
		return HRT_ERR(err, HRT_EIO, "writing %s: %s", w->tmp, strerror(errno));
	hrt_alignw_free(&w->aw);
	if (fsync(w->fd) != 0)
		return HRT_ERR(err, HRT_EIO, "fsync %s: %s", w->tmp, strerror(errno));
	w->finished = true;
	if (got)
		*got = w->got;
	if (size)
		*size = w->n;
	return HRT_OK;
}

const char *st_writer_path(const struct hrt_blob_writer *w)
{
	return w->tmp;
}

int st_writer_publish(struct hrt_blob_writer *w, bool *was_new,
		      struct hrt_err *err)
{
	char dst[ST_PATH];
	int rc = HRT_OK;
	if (was_new)
		*was_new = false;
	if (!w->finished) {
		rc = HRT_ERR(err, HRT_EINVAL, "blob not verified");
		goto out;
	}
	if ((rc = st_blob_path(w->s, &w->got, dst, sizeof dst, err)))
		goto out;
	int have = st_blob_check(w->s, &w->got, w->n, err);
	if (have < 0) {
		rc = -have;
		goto out;
	}
	if (have == 1)
		goto out; /* the same bytes are already stored: nothing new */
	if (fchmod(w->fd, 0444) != 0 || rename(w->tmp, dst) != 0) {
		rc = HRT_ERR(err, HRT_EIO, "cannot name blob %s: %s", dst, strerror(errno));
		goto out;
	}
	if (was_new)
		*was_new = true;
	rc = st_fsync_dir(w->s->blobs, err);
out:
	hrt_store_blob_abort(w); /* closes; the temp name is gone after a rename */
	return rc;
}

int hrt_store_blob_commit(struct hrt_blob_writer *w, struct hrt_digest *got,
			  struct hrt_err *err)
{
	int rc = st_writer_finish(w, got, NULL, err);
	if (rc) {
		hrt_store_blob_abort(w);
		return rc;
	}
	return st_writer_publish(w, NULL, err);
}

int st_blob_put_mem(const struct hrt_store *s, const void *buf, size_t len,
		    struct hrt_digest *d, struct hrt_err *err)
{
	hrt_digest_of(buf, len, d);
	int have = st_blob_check(s, d, len, err);
	if (have < 0)
		return -have;
	if (have == 1)
		return HRT_OK;
	struct hrt_blob_writer *w;
	int rc = hrt_store_blob_begin((struct hrt_store *)s, d, len, &w, err);
	if (rc)
		return rc;
	if ((rc = hrt_store_blob_write(w, buf, len, err))) {
		hrt_store_blob_abort(w);
		return rc;
	}
	return hrt_store_blob_commit(w, NULL, err);
}

int st_blob_read(const struct hrt_store *s, const struct hrt_digest *d,
		 uint64_t size, size_t max, char **out, size_t *len,
		 struct hrt_err *err)
{
	char p[ST_PATH];
	int rc = st_blob_path(s, d, p, sizeof p, err);
	if (rc)
		return rc;
	if ((rc = st_read_file(p, max, true, out, len, err))) {
		if (rc == HRT_ENOTFOUND)
			HRT_ERR(err, HRT_ENOTFOUND,
				"blob sha256:%s is missing from the store (run hearth fsck)", d->hex);
		return rc;
	}
	struct hrt_digest got;
	hrt_digest_of(*out, *len, &got);
	if ((size != UINT64_MAX && *len != size) || strcmp(got.hex, d->hex) != 0) {
		free(*out);
		*out = NULL;
		return HRT_ERR(err, HRT_EFORMAT,
			       "blob sha256:%s is damaged: its bytes do not match its name (run hearth fsck)",
			       d->hex);
	}
	return HRT_OK;
}

/* ---- the stage ---- */

static int hash_prefix(struct st_stage *st, struct hrt_store_opts *o,
		       struct hrt_err *err)
{
	unsigned char *buf = malloc(COPY_BUF);
	if (!buf)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	uint64_t off = 0;
	int rc = HRT_OK;
	while (off < st->have) {
		size_t want = (size_t)HRT_MIN((uint64_t)COPY_BUF, st->have - off);
		ssize_t k = pread(st->fd, buf, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* shorter than it said: keep what we could hash */
			if (ftruncate(st->fd, (off_t)off) != 0) {
				rc = HRT_ERR(err, HRT_EIO, "%s: %s", st->path, strerror(errno));
				break;
			}
			st->have = off;
			break;
		}
		crypto_hash_sha256_update(&st->sha, buf, (size_t)k);
		off += (uint64_t)k;
	}
	free(buf);
	(void)o;
	return rc;
}

int st_stage_open(const struct hrt_store *s, const struct hrt_digest *d,
		  uint64_t size, struct st_stage *st, struct hrt_store_opts *o,
		  struct hrt_err *err)
{
	memset(st, 0, sizeof *st);
	st->fd = -1;
	st->digest = *d;
	st->size = size;
	crypto_hash_sha256_init(&st->sha);
	if (size != UINT64_MAX && size > HRT_STORE_BLOB_MAX)
		return HRT_ERR(err, HRT_ERANGE, "blob sha256:%s: %llu bytes is over the limit",
			       d->hex, (unsigned long long)size);
	int rc = st_pathf(st->path, sizeof st->path, err, "%s/%s.partial", s->blobs, d->hex);
	if (rc)
		return rc;
	memcpy(st->pub, st->path, sizeof st->pub);
	bool told = false;
	for (int tries = 0; tries < 1000; tries++) {
		int have = st_blob_check(s, d, size, err);
		if (have < 0)
			return -have;
		if (have == 1) {
			st->done = true;
			return HRT_OK;
		}
		int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return HRT_ERR(err, HRT_EIO, "%s: %s", st->path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno != EWOULDBLOCK) {
				close(fd);
				return HRT_ERR(err, HRT_EIO, "lock %s: %s", st->path, strerror(errno));
			}
			if (!told) {
				told = true;
				if ((rc = st_progress(o, "waiting for another download of this blob", d,
						      size, 0, err))) {
					close(fd);
					return rc;
				}
			}
			while (flock(fd, LOCK_EX) != 0) {
				if (errno != EINTR) {
					int e = errno;
					close(fd);
					return HRT_ERR(err, HRT_EIO, "lock %s: %s", st->path, strerror(e));
				}
			}
		}
		/* the lock is ours; is the file still the one under the name?
		 * (the previous holder may have renamed or removed it) */
		struct stat a, b;
		if (fstat(fd, &a) != 0 || lstat(st->path, &b) != 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev) {
			close(fd);
			continue;
		}
		if (st_blob_check(s, d, size, NULL) == 1) {
			/* published while we waited: this partial is a fresh empty one */
			unlink(st->path);
			close(fd);
			st->done = true;
			return HRT_OK;
		}
		st->fd = fd;
		st->have = (uint64_t)a.st_size;
		if (st->have > size) {
			if (ftruncate(fd, 0) != 0)
				return HRT_ERR(err, HRT_EIO, "%s: %s", st->path, strerror(errno));
			st->have = 0;
		}
		if (st->have && (rc = hash_prefix(st, o, err)))
			return rc;
		hrt_alignw_init(&st->aw, fd, st->have);
		return HRT_OK;
	}
	return HRT_ERR(err, HRT_EIO, "%s keeps changing under us", st->path);
}

int st_stage_write(struct st_stage *st, const void *buf, size_t len,
		   struct hrt_err *err)
{
	uint64_t n, limit = st->size == UINT64_MAX ? HRT_STORE_BLOB_MAX : st->size;
	if (hrt_add_ovf(st->have, len, &n) || n > limit) {
		st->poisoned = true;
		return HRT_ERR(err, HRT_EFORMAT,
			       "blob sha256:%.12s: more bytes than the %llu announced; refused",
			       st->digest.hex, (unsigned long long)limit);
	}
	/* in whole 2 MiB writes, for huge folios (core/alignw.h): what is
	 * held goes out at verify, or at close when the partial is kept */
	if (hrt_alignw_put(&st->aw, buf, len))
		return HRT_ERR(err, HRT_EIO, "writing %s: %s", st->path, strerror(errno));
	crypto_hash_sha256_update(&st->sha, buf, len);
	st->have = n;
	return HRT_OK;
}

int st_stage_reset(struct st_stage *st, struct hrt_err *err)
{
	if (ftruncate(st->fd, 0) != 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", st->path, strerror(errno));
	crypto_hash_sha256_init(&st->sha);
	st->have = 0;
	hrt_alignw_reset(&st->aw, 0);
	return HRT_OK;
}

int st_stage_verify(struct st_stage *st, struct hrt_err *err)
{
	if (st->done || st->verified)
		return HRT_OK;
	if (st->have != st->size)
		return HRT_ERR(err, HRT_EIO, "blob sha256:%.12s is incomplete: %llu of %llu bytes",
			       st->digest.hex, (unsigned long long)st->have,
			       (unsigned long long)st->size);
	char hex[65];
	crypto_hash_sha256_state copy = st->sha;
	hex_of_state(&copy, hex);
	if (strcmp(hex, st->digest.hex) != 0) {
		st->poisoned = true;
		return HRT_ERR(err, HRT_EFORMAT,
			       "blob sha256:%s: the bytes received hash to sha256:%s; discarded",
			       st->digest.hex, hex);
	}
	if (!st->linked && hrt_alignw_flush(&st->aw))
		return HRT_ERR(err, HRT_EIO, "writing %s: %s", st->path, strerror(errno));
	hrt_alignw_free(&st->aw); /* no more bytes come: a pull's many stages hold none */
	if (!st->linked && fsync(st->fd) != 0)
		return HRT_ERR(err, HRT_EIO, "fsync %s: %s", st->path, strerror(errno));
	st->verified = true;
	return HRT_OK;
}

int st_stage_publish(const struct hrt_store *s, struct st_stage *st,
		     struct hrt_err *err)
{
	char dst[ST_PATH];
	if (st->done)
		return HRT_OK;
	if (!st->verified)
		return HRT_ERR(err, HRT_EINVAL, "blob sha256:%.12s was not verified", st->digest.hex);
	int rc = st_blob_path(s, &st->digest, dst, sizeof dst, err);
	if (rc)
		return rc;
	if (!st->linked && fchmod(st->fd, 0444) != 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", st->path, strerror(errno));
	if (rename(st->pub, dst) != 0)
		return HRT_ERR(err, HRT_EIO, "cannot name blob %s: %s", dst, strerror(errno));
	st->done = true;
	if (st->linked)
		unlink(st->path); /* the empty lock file */
	return st_fsync_dir(s->blobs, err);
}

void st_stage_close(struct st_stage *st, bool keep_partial)
{
	if (st->fd < 0)
		return;
	if (!st->done) {
		if (st->linked)
			unlink(st->pub);
		if (!keep_partial || st->poisoned || st->linked)
			unlink(st->path);
		else
			(void)hrt_alignw_flush(&st->aw); /* resumable from there */
	}
	hrt_alignw_free(&st->aw);
	close(st->fd);
	st->fd = -1;
}

/* read size bytes of fd from offset 0: into the stage (st, copying) or
 * only through sha (st NULL, hashing for a link) */
static int pump(int fd, const char *what, const struct hrt_digest *d,
		uint64_t size, struct st_stage *st, crypto_hash_sha256_state *sha,
		struct hrt_store_opts *o, struct hrt_err *err)
{
	unsigned char *buf = malloc(COPY_BUF);
	if (!buf)
		return HRT_ERR(err, HRT_ENOMEM, "no memory");
	uint64_t off = 0, next = 0;
	int rc = HRT_OK;
	while (off < size) {
		size_t want = (size_t)HRT_MIN((uint64_t)COPY_BUF, size - off);
		ssize_t k = pread(fd, buf, want, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = HRT_ERR(err, HRT_EIO, "reading %s: %s", what, strerror(errno));
			goto out;
		}
		if (k == 0) {
			rc = HRT_ERR(err, HRT_EFORMAT, "%s ended after %llu of %llu bytes", what,
				     (unsigned long long)off, (unsigned long long)size);
			goto out;
		}
		if (st)
			rc = st_stage_write(st, buf, (size_t)k, err);
		else
			crypto_hash_sha256_update(sha, buf, (size_t)k);
		if (rc)
			goto out;
		off += (uint64_t)k;
		if (off >= next) {
			next = off + (size / 50 > COPY_BUF ? size / 50 : COPY_BUF);
			if ((rc = st_progress(o, st ? "copying" : "verifying", d, size, off, err)))
				goto out;
		}
	}
	/* nothing may follow the announced size */
	if (pread(fd, buf, 1, (off_t)size) > 0)
		rc = HRT_ERR(err, HRT_EFORMAT, "%s has more than the %llu bytes announced", what,
			     (unsigned long long)size);
out:
	free(buf);
	return rc;
}

/* copy (or link) an open file into a stage */
int st_stage_from_fd(const struct hrt_store *s, int fd, const char *what,
		     const struct hrt_digest *d, uint64_t size, bool link_ok,
		     bool *linked, struct st_stage *st, struct hrt_store_opts *o,
		     struct hrt_err *err)
{
	if (linked)
		*linked = false;
	int rc = st_stage_open(s, d, size, st, o, err);
	if (rc || st->done)
		return rc;
	if ((rc = st_stage_reset(st, err)))
		return rc;
	if (link_ok) {
		crypto_hash_sha256_state sha;
		crypto_hash_sha256_init(&sha);
		if ((rc = pump(fd, what, d, size, NULL, &sha, o, err)))
			return rc;
		char hex[65];
		crypto_hash_sha256_state copy = sha;
		hex_of_state(&copy, hex);
		if (strcmp(hex, d->hex) != 0)
			return HRT_ERR(err, HRT_EFORMAT, "%s hashes to sha256:%s, not sha256:%s", what,
				       hex, d->hex);
		char proc[64], tmp[ST_PATH];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if ((rc = st_pathf(tmp, sizeof tmp, err, "%s/.tmp-link-%.16s-%ld", s->blobs, d->hex,
				   (long)getpid())))
			return rc;
		unlink(tmp);
		struct stat a, b;
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0 &&
		    fstat(fd, &a) == 0 && lstat(tmp, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			memcpy(st->pub, tmp, sizeof st->pub);
			st->linked = true;
			st->have = size;
			st->sha = sha;
			if (linked)
				*linked = true;
			return st_stage_verify(st, err);
		}
		unlink(tmp); /* another file system, or no permission: copy */
	}
	if ((rc = pump(fd, what, d, size, st, NULL, o, err)))
		return rc;
	return st_stage_verify(st, err);
}
