/*
 * store/fs — the file-system moves the store is built from: bounded reads,
 * crash-safe writes (temp file in the same folder, fsync, rename, fsync of
 * the folder), folder creation, the store-wide lock, progress calls.
 * Not here: what the files mean (blob.c, store.c, manifest.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/util.h"
#include "store/store_int.h"

int st_pathf(char *out, size_t cap, struct hrt_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return HRT_ERR(err, HRT_ERANGE, "path too long: %.200s...", out);
	return HRT_OK;
}

int st_mkdirs(const char *path, struct hrt_err *err)
{
	char tmp[ST_PATH];
	if (st_pathf(tmp, sizeof tmp, err, "%s", path))
		return HRT_ERANGE;
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = 0;
	for (char *p = tmp + 1;; p++) {
		bool last = *p == 0;
		if (*p != '/' && !last)
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) != 0) {
			struct stat st;
			if (errno != EEXIST)
				return HRT_ERR(err, HRT_EIO, "cannot create folder %s: %s", tmp,
					       strerror(errno));
			if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
				return HRT_ERR(err, HRT_EIO, "%s exists and is not a folder", tmp);
		}
		if (last)
			break;
		*p = '/';
	}
	return HRT_OK;
}

int st_fsync_dir(const char *dir, struct hrt_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "cannot open folder %s: %s", dir, strerror(errno));
	int rc = HRT_OK;
	if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
		rc = HRT_ERR(err, HRT_EIO, "fsync of folder %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int st_fsync_parent(const char *path, struct hrt_err *err)
{
	char dir[ST_PATH];
	if (st_pathf(dir, sizeof dir, err, "%s", path))
		return HRT_ERANGE;
	char *slash = strrchr(dir, '/');
	if (!slash)
		return st_fsync_dir(".", err);
	if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	return st_fsync_dir(dir, err);
}

int st_read_fd(int fd, const char *what, size_t max, char **out, size_t *len,
	       struct hrt_err *err)
{
	struct stat st;
	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", what, strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return HRT_ERR(err, HRT_ERANGE, "%s: %llu bytes, more than the %zu allowed", what,
			       (unsigned long long)st.st_size, max);
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	char *b = malloc(cap);
	if (!b)
		return HRT_ERR(err, HRT_ENOMEM, "no memory for %s", what);
	size_t n = 0;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				free(b);
				return HRT_ERR(err, HRT_ERANGE, "%s: more than the %zu bytes allowed",
					       what, max);
			}
			size_t nc = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *nb = realloc(b, nc);
			if (!nb) {
				free(b);
				return HRT_ERR(err, HRT_ENOMEM, "no memory for %s", what);
			}
			b = nb;
			cap = nc;
		}
		ssize_t k = read(fd, b + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(b);
			return HRT_ERR(err, HRT_EIO, "%s: %s", what, strerror(errno));
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(b);
			return HRT_ERR(err, HRT_ERANGE, "%s: more than the %zu bytes allowed", what, max);
		}
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return HRT_OK;
}

int st_read_file(const char *path, size_t max, bool nofollow, char **out,
		 size_t *len, struct hrt_err *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT)
			return HRT_ERR(err, HRT_ENOTFOUND, "%s: no such file", path);
		if (errno == ELOOP)
			return HRT_ERR(err, HRT_EFORMAT, "%s is a symbolic link; refused", path);
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return HRT_ERR(err, HRT_EFORMAT, "%s is not a regular file", path);
	}
	int rc = st_read_fd(fd, path, max, out, len, err);
	close(fd);
	return rc;
}

int st_write_all(int fd, const void *buf, size_t len, const char *what,
		 struct hrt_err *err)
{
	const char *p = buf;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return HRT_ERR(err, HRT_EIO, "writing %s: %s", what,
				       k < 0 ? strerror(errno) : "no progress");
		p += k;
		len -= (size_t)k;
	}
	return HRT_OK;
}

int st_write_atomic(const char *path, const void *buf, size_t len,
		    struct hrt_err *err)
{
	char tmp[ST_PATH], dir[ST_PATH];
	if (st_pathf(dir, sizeof dir, err, "%s", path))
		return HRT_ERANGE;
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	if (st_pathf(tmp, sizeof tmp, err, "%s/.tmp-XXXXXX", dir))
		return HRT_ERANGE;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return HRT_ERR(err, HRT_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
	int rc = st_write_all(fd, buf, len, path, err);
	if (!rc && fchmod(fd, 0644) != 0)
		rc = HRT_ERR(err, HRT_EIO, "%s: %s", tmp, strerror(errno));
	if (!rc && fsync(fd) != 0)
		rc = HRT_ERR(err, HRT_EIO, "fsync %s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = HRT_ERR(err, HRT_EIO, "close %s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path) != 0)
		rc = HRT_ERR(err, HRT_EIO, "rename to %s: %s", path, strerror(errno));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return st_fsync_dir(dir, err);
}

int st_open_regular(const char *path, int *fd, uint64_t *size,
		    struct hrt_err *err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0) {
		if (errno == ENOENT)
			return HRT_ERR(err, HRT_ENOTFOUND, "%s: no such file", path);
		if (errno == ELOOP)
			return HRT_ERR(err, HRT_EFORMAT, "%s is a symbolic link; refused", path);
		return HRT_ERR(err, HRT_EIO, "%s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return HRT_ERR(err, HRT_EFORMAT, "%s is not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return HRT_OK;
}

int st_lock(const struct hrt_store *s, bool exclusive, struct hrt_store_opts *o,
	    int *fd, struct hrt_err *err)
{
	*fd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return HRT_ERR(err, HRT_EIO, "%s: %s", s->lockpath, strerror(errno));
	int mode = exclusive ? LOCK_EX : LOCK_SH;
	if (flock(*fd, mode | LOCK_NB) == 0)
		return HRT_OK;
	if (errno == EWOULDBLOCK) {
		int rc = st_progress(o, exclusive ? "waiting for other hearth processes writing the store"
						  : "waiting for a hearth process cleaning the store",
				     NULL, 0, 0, err);
		if (rc) {
			close(*fd);
			*fd = -1;
			return rc;
		}
		while (flock(*fd, mode) != 0) {
			if (errno != EINTR)
				break;
		}
		if (flock(*fd, mode | LOCK_NB) == 0)
			return HRT_OK;
	}
	int e = errno;
	close(*fd);
	*fd = -1;
	return HRT_ERR(err, HRT_EIO, "cannot lock %s: %s", s->lockpath, strerror(e));
}

void st_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

int st_progress(struct hrt_store_opts *o, const char *status,
		const struct hrt_digest *d, uint64_t total, uint64_t completed,
		struct hrt_err *err)
{
	if (!o || !o->progress)
		return HRT_OK;
	char ds[80];
	if (d)
		hrt_digest_str(d, ds, sizeof ds);
	struct hrt_store_progress p = { status, d ? ds : NULL, total, completed };
	if (o->progress(o->progress_ctx, &p))
		return HRT_ERR(err, HRT_ECANCELED, "canceled");
	return HRT_OK;
}

uint64_t st_free_space(const char *path)
{
	struct statvfs v;
	if (statvfs(path, &v) != 0)
		return UINT64_MAX;
	uint64_t r;
	if (hrt_mul_ovf((uint64_t)v.f_bavail, (uint64_t)v.f_frsize, &r))
		return UINT64_MAX;
	return r;
}

void st_human_bytes(uint64_t n, char *out, size_t cap)
{
	static const char *const u[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double b = (double)n;
	int i = 0;
	while (b >= 1000 && i < 5) {
		b /= 1000;
		i++;
	}
	snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

void st_err_prefix(struct hrt_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	char old[sizeof err->msg], pre[256];
	memcpy(old, err->msg, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
}
