/*
 * test_alignw — core/alignw: what reaches the file, and when. The writer
 * must hold bytes until a 2 MiB boundary of the file (so each write
 * covers whole huge folios), lose none at flush, start at any offset, and
 * report errors.
 */
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alignw.h"

#define CH HRT_ALIGNW_CHUNK

static int tmpfile_fd(char *path)
{
	int fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static uint64_t fsize(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static uint8_t *pattern(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)(rng_u64(&seed) >> 56);
	return p;
}

static int same_as(int fd, uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n ? n : 1);
	size_t have = 0;
	while (got && have < n) {
		ssize_t k = pread(fd, got + have, n - have, (off_t)(off + have));
		if (k <= 0)
			break;
		have += (size_t)k;
	}
	int ok = got && have == n && memcmp(got, want, n) == 0;
	free(got);
	return ok;
}

/* nothing is written until a boundary; then exactly up to it */
static void test_holds_to_boundary(void)
{
	char path[] = "/tmp/hearth-test-alignw-XXXXXX";
	int fd = tmpfile_fd(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	size_t n = 3 * CH + 12345;
	uint8_t *d = pattern(n, 1);
	struct hrt_alignw w;
	hrt_alignw_init(&w, fd, 0);
	CHECK(hrt_alignw_put(&w, d, CH / 2) == 0);
	CHECKF(fsize(fd) == 0, "%llu bytes written before a boundary",
	       (unsigned long long)fsize(fd));
	CHECK(hrt_alignw_end(&w) == CH / 2);
	CHECK(hrt_alignw_put(&w, d + CH / 2, CH) == 0); /* crosses one boundary */
	CHECK(fsize(fd) == CH);
	CHECK(hrt_alignw_put(&w, d + 3 * CH / 2, n - 3 * CH / 2) == 0);
	CHECK(fsize(fd) == 3 * CH);
	CHECK(hrt_alignw_end(&w) == n);
	CHECK(hrt_alignw_flush(&w) == 0);
	CHECK(fsize(fd) == n);
	CHECK(same_as(fd, 0, d, n));
	CHECK(hrt_alignw_flush(&w) == 0); /* nothing held: a no-op */
	CHECK(fsize(fd) == n);
	hrt_alignw_free(&w);
	hrt_alignw_free(&w); /* twice is harmless */
	free(d);
	close(fd);
}

/* random piece sizes, from an offset off any boundary (a resumed
 * download): the file holds exactly the bytes, in order */
static void test_random_pieces(void)
{
	static const uint64_t starts[] = { 0, 1, CH - 1, CH, 5 * CH / 3 };
	for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
		char path[] = "/tmp/hearth-test-alignw-XXXXXX";
		int fd = tmpfile_fd(path);
		CHECK(fd >= 0);
		if (fd < 0)
			return;
		uint64_t at = starts[s];
		uint8_t *pre = pattern((size_t)at, 7);
		CHECK(pwrite(fd, pre, (size_t)at, 0) == (ssize_t)at);
		size_t n = 5 * CH + 777;
		uint8_t *d = pattern(n, 100 + s);
		struct hrt_alignw w;
		hrt_alignw_init(&w, fd, at);
		uint64_t r = s + 1;
		size_t done = 0;
		while (done < n) {
			uint64_t x = rng_u64(&r);
			/* tiny, medium, and over two chunks at once */
			size_t k = x % 3 == 0 ? (size_t)(x >> 40) % 64
				 : x % 3 == 1 ? (size_t)(x >> 40) % (CH / 3) : 2 * CH + 5;
			if (k > n - done)
				k = n - done;
			CHECK(hrt_alignw_put(&w, d + done, k) == 0);
			done += k;
			/* whatever is in the file ends on a boundary, or at the start */
			uint64_t f = fsize(fd);
			CHECKF(f == at || f % CH == 0, "start %llu: file size %llu",
			       (unsigned long long)at, (unsigned long long)f);
		}
		CHECK(hrt_alignw_flush(&w) == 0);
		CHECK(fsize(fd) == at + n);
		CHECK(same_as(fd, 0, pre, (size_t)at));
		CHECKF(same_as(fd, at, d, n), "start %llu", (unsigned long long)at);
		hrt_alignw_free(&w);
		free(d);
		free(pre);
		close(fd);
	}
}

/* reset drops what is held; the next bytes go to the new offset */
static void test_reset(void)
{
	char path[] = "/tmp/hearth-test-alignw-XXXXXX";
	int fd = tmpfile_fd(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	uint8_t *a = pattern(1000, 3), *b = pattern(1000, 4);
	struct hrt_alignw w;
	hrt_alignw_init(&w, fd, 0);
	CHECK(hrt_alignw_put(&w, a, 1000) == 0);
	hrt_alignw_reset(&w, 0);
	CHECK(hrt_alignw_end(&w) == 0);
	CHECK(hrt_alignw_put(&w, b, 1000) == 0);
	CHECK(hrt_alignw_flush(&w) == 0);
	CHECK(fsize(fd) == 1000);
	CHECK(same_as(fd, 0, b, 1000));
	hrt_alignw_free(&w);
	free(a);
	free(b);
	close(fd);
}

/* a write that fails says so with errno, at put or at flush */
static void test_errors(void)
{
	uint8_t *d = pattern(CH + 10, 5);
	struct hrt_alignw w;
	int fd = open("/dev/null", O_RDONLY); /* not writable */
	CHECK(fd >= 0);
	hrt_alignw_init(&w, fd, 0);
	errno = 0;
	CHECK(hrt_alignw_put(&w, d, 10) == 0); /* held, not written yet */
	CHECK(hrt_alignw_flush(&w) == -1 && errno == EBADF);
	hrt_alignw_reset(&w, 0);
	errno = 0;
	CHECK(hrt_alignw_put(&w, d, CH + 10) == -1 && errno == EBADF);
	hrt_alignw_free(&w);
	close(fd);
	free(d);
}

int main(void)
{
	RUN(test_holds_to_boundary);
	RUN(test_random_pieces);
	RUN(test_reset);
	RUN(test_errors);
	return t_done();
}
