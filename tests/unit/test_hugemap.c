/*
 * test_hugemap — core/hugemap: a file mapping starts on a 2 MiB boundary,
 * settle reads it in and leaves its bytes as they are, and a file the page
 * cache holds in small folios (read in 4 KiB pieces without readahead)
 * comes back on 2 MiB pages after a settle that may read it again — where
 * this kernel and file system make huge folios at all (a probe on a fresh
 * file says; otherwise the test says it skipped and why).
 */
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alignw.h"
#include "core/hugemap.h"

#define H HRT_HUGEMAP_PAGE

/* a file of n bytes of a pattern under /tmp (a disk file system where it
 * is one), written in 2 MiB pieces and synced so its pages can be dropped;
 * the path is unlinked, the fd stays */
static int make_file(size_t n, uint64_t seed)
{
	char path[] = "/tmp/hearth-test-hugemap-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	struct hrt_alignw w;
	hrt_alignw_init(&w, fd, 0);
	uint8_t buf[4096];
	int bad = 0;
	for (size_t o = 0; o < n && !bad; o += sizeof buf) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (uint8_t)(rng_u64(&seed) >> 56);
		size_t k = n - o < sizeof buf ? n - o : sizeof buf;
		bad = hrt_alignw_put(&w, buf, k) != 0;
	}
	bad |= hrt_alignw_flush(&w) != 0;
	hrt_alignw_free(&w);
	bad |= fsync(fd) != 0;
	if (bad) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t sum_of(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

static uint64_t sum_fd(int fd, size_t n)
{
	uint64_t s = 0;
	uint8_t buf[65536];
	for (size_t o = 0; o < n;) {
		ssize_t k = pread(fd, buf, sizeof buf, (off_t)o);
		if (k <= 0)
			return 0;
		for (ssize_t i = 0; i < k; i++)
			s = s * 31 + buf[i];
		o += (size_t)k;
	}
	return s;
}

/* the page cache of fd dropped, then the first third of every 2 MiB read
 * in 4 KiB pieces with readahead off: those come in as small folios, and
 * the rest of each 2 MiB cannot come in as one huge folio around them */
static void fragment(int fd, size_t n)
{
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	uint8_t buf[4096];
	for (size_t o = 0; o < n; o += H)
		for (size_t k = o; k < o + H / 3 && k < n; k += sizeof buf)
			if (pread(fd, buf, sizeof buf, (off_t)k) <= 0)
				return;
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
}

static void *map_huge(int fd, size_t n)
{
	void *m = hrt_hugemap_map(fd, n);
	if (m != MAP_FAILED)
		madvise(m, n, MADV_HUGEPAGE);
	return m;
}

/* mappings of 2 MiB and more start on a 2 MiB boundary; smaller ones
 * anywhere; both read the file's bytes, and unmap whole */
static void test_map_aligned(void)
{
	const size_t sizes[] = { 1, 4096, H - 1, H, H + 4097, 5 * H + 123 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		int fd = make_file(n, 7 + i);
		CHECK(fd >= 0);
		if (fd < 0)
			return;
		uint8_t *m = hrt_hugemap_map(fd, n);
		CHECK(m != MAP_FAILED);
		if (m != MAP_FAILED) {
			if (n >= H)
				CHECK(((uintptr_t)m & (H - 1)) == 0);
			CHECK(sum_of(m, n) == sum_fd(fd, n));
			CHECK(munmap(m, n) == 0);
		}
		close(fd);
	}
	/* a descriptor that cannot be mapped: an error, not a crash */
	errno = 0;
	CHECK(hrt_hugemap_map(-1, 3 * H) == MAP_FAILED && errno != 0);
}

/* settle reads everything in and changes no byte, with or without the
 * read-again, on files of any size; a NULL report is allowed */
static void test_settle_keeps_bytes(void)
{
	const size_t sizes[] = { 100, H + 1, 4 * H + 4096 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		int fd = make_file(n, 100 + i);
		CHECK(fd >= 0);
		if (fd < 0)
			return;
		const uint64_t want = sum_fd(fd, n);
		for (int rc = 0; rc < 2; rc++) {
			fragment(fd, n);
			uint8_t *m = map_huge(fd, n);
			CHECK(m != MAP_FAILED);
			if (m == MAP_FAILED)
				break;
			struct hrt_hugemap_report r;
			hrt_hugemap_settle(fd, m, n, rc ? HRT_HUGEMAP_MIN_SHARE : 0, &r);
			hrt_hugemap_settle(-1, m, n, HRT_HUGEMAP_MIN_SHARE, NULL);
			CHECK(r.can_2m == n / H * H);
			CHECK(r.mapped_2m <= (double)r.can_2m);
			CHECK(!r.recached || r.huge_ok);
			CHECK(!r.recached || rc);
			CHECK(sum_of(m, n) == want);
			munmap(m, n);
		}
		close(fd);
	}
}

/* fd mapped afresh and settled; *sum the bytes as the mapping reads
 * them; false where it could not be mapped */
static bool settle_once(int fd, size_t n, bool recache, struct hrt_hugemap_report *r,
			uint64_t *sum)
{
	uint8_t *m = map_huge(fd, n);
	if (m == MAP_FAILED)
		return false;
	hrt_hugemap_settle(fd, m, n, recache ? HRT_HUGEMAP_MIN_SHARE : 0, r);
	/* the report is the mapping's state */
	CHECK(hrt_hugemap_mapped_2m(m) == r->mapped_2m);
	*sum = sum_of(m, n);
	munmap(m, n);
	return true;
}

/* a file held in small folios comes back on 2 MiB pages */
static void test_recache(void)
{
	const size_t n = 24 * H + 8192;
	int fd = make_file(n, 42);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	const uint64_t want = sum_fd(fd, n);
	const double enough = HRT_HUGEMAP_MIN_SHARE * (double)(n / H * H);
	struct hrt_hugemap_report r;
	uint64_t got;
	/* can this kernel and file system give huge folios here at all? */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	CHECK(settle_once(fd, n, false, &r, &got) && got == want);
	if (!r.populated || r.mapped_2m < enough) {
		t_skip("a fresh read of a file in /tmp through a mapping asking for huge pages "
		       "got %.0f of %zu bytes on 2 MiB pages (populated %d): no huge folios here",
		       r.mapped_2m, r.can_2m, r.populated);
		goto out;
	}
	/* small folios, kept as they are without the read-again */
	fragment(fd, n);
	CHECK(settle_once(fd, n, false, &r, &got) && got == want);
	if (r.mapped_2m >= enough) {
		t_skip("4 KiB reads without readahead left %.0f of %zu bytes on 2 MiB pages: "
		       "could not make small folios to test with", r.mapped_2m, r.can_2m);
		goto out;
	}
	CHECK(!r.recached && !r.huge_ok);
	/* and with it: dropped, read again, on 2 MiB pages */
	CHECK(settle_once(fd, n, true, &r, &got) && got == want);
	CHECK(r.huge_ok && r.recached);
	CHECK(r.before_2m < enough && r.mapped_2m >= enough);
	/* the next open finds them cached so and reads nothing again */
	CHECK(settle_once(fd, n, true, &r, &got) && got == want);
	CHECK(!r.recached && r.mapped_2m >= enough);
out:
	close(fd);
}

/* HEARTH_RECACHE: 0 never, a share in (0, 1] as given, else the default */
static void test_recache_share(void)
{
	static const struct {
		const char *env;
		double want;
	} cases[] = {
		{ NULL, HRT_HUGEMAP_MIN_SHARE }, { "", HRT_HUGEMAP_MIN_SHARE }, { "0", 0 },
		{ "0.99", 0.99 }, { "1", 1 }, { "0.5", 0.5 }, { "1.5", HRT_HUGEMAP_MIN_SHARE },
		{ "-1", HRT_HUGEMAP_MIN_SHARE }, { "yes", HRT_HUGEMAP_MIN_SHARE },
		{ "0.9x", HRT_HUGEMAP_MIN_SHARE }, { "nan", HRT_HUGEMAP_MIN_SHARE },
		{ "1e999", HRT_HUGEMAP_MIN_SHARE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].env)
			setenv("HEARTH_RECACHE", cases[i].env, 1);
		else
			unsetenv("HEARTH_RECACHE");
		CHECKF(hrt_hugemap_recache_share() == cases[i].want, "HEARTH_RECACHE=%s: %g",
		       cases[i].env ? cases[i].env : "(unset)", hrt_hugemap_recache_share());
	}
	unsetenv("HEARTH_RECACHE");
}

int main(void)
{
	RUN(test_map_aligned);
	RUN(test_settle_keeps_bytes);
	RUN(test_recache);
	RUN(test_recache_share);
	return t_done();
}
