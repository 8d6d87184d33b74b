/* core/hugemap — see hugemap.h. */
#include "core/hugemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* the kernel's value (Linux 5.14), where the C library predates it: an
 * older kernel answers EINVAL */
#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif

double hrt_hugemap_mapped_2m(const void *base)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	unsigned long long want = (unsigned long long)(uintptr_t)base & ~4095ull;
	double got = -1;
	bool in = false;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi, kb;
		/* a mapping's first line: "lo-hi perms offset dev inode path";
		 * a field's ("Name: value") never reads as two hex numbers */
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2) {
			if (in)
				break;
			in = lo == want;
		} else if (in && sscanf(line, "FilePmdMapped: %llu kB", &kb) == 1) {
			got = (double)kb * 1024;
		}
	}
	fclose(f);
	return got;
}

#if defined(MADV_POPULATE_READ)
/* let [p, p + n) of the mapping go from the page cache: unmapped here
 * (MADV_DONTNEED on a read-only mapping of a file: the cached pages stay),
 * then dropped where no other process maps them. Dropped, not reclaimed:
 * pages that reclaim lets go (MADV_PAGEOUT) come back in the folio sizes
 * they had (Linux 6.18: a file read in 4 KiB pieces read back through a
 * mapping asking for huge pages had 0 of 602 MB on 2 MiB pages; the same
 * after posix_fadvise, 602) */
static bool drop(int fd, const void *base, void *p, size_t n)
{
	return !madvise(p, n, MADV_DONTNEED) &&
	       !posix_fadvise(fd, (off_t)((char *)p - (const char *)base), (off_t)n,
			      POSIX_FADV_DONTNEED);
}

/* whether [p, p + 2 MiB) of the mapping at base comes back as one 2 MiB
 * folio once dropped and read in again: the kernel and the file system
 * make huge folios for this file */
static bool probe_huge(int fd, const void *base, void *p)
{
	if (!drop(fd, base, p, HRT_HUGEMAP_PAGE))
		return false;
	double before = hrt_hugemap_mapped_2m(base);
	if (before < 0 || madvise(p, HRT_HUGEMAP_PAGE, MADV_POPULATE_READ))
		return false;
	return hrt_hugemap_mapped_2m(base) - before >= (double)HRT_HUGEMAP_PAGE;
}
#endif

double hrt_hugemap_recache_share(void)
{
	const char *e = getenv("HEARTH_RECACHE");
	if (!e || !*e)
		return HRT_HUGEMAP_MIN_SHARE;
	char *end;
	errno = 0;
	const double v = strtod(e, &end);
	if (errno || *end || !(v >= 0 && v <= 1))
		return HRT_HUGEMAP_MIN_SHARE;
	return v;
}

void *hrt_hugemap_map(int fd, size_t size)
{
	const size_t H = HRT_HUGEMAP_PAGE;
	if (size < H)
		return mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	/* reserve 2 MiB more than needed, map the file over the first 2 MiB
	 * boundary in it, and give back the rest */
	const size_t span = size + H;
	char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	char *a = (char *)(((uintptr_t)r + H - 1) & ~(uintptr_t)(H - 1));
	void *m = mmap(a, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		munmap(r, span);
		errno = e;
		return MAP_FAILED;
	}
	const long pg = sysconf(_SC_PAGESIZE);
	const size_t mapped = pg > 0 ? (size + (size_t)pg - 1) / (size_t)pg * (size_t)pg : size;
	if (a > r)
		munmap(r, (size_t)(a - r));
	if (r + span > a + mapped)
		munmap(a + mapped, (size_t)(r + span - (a + mapped)));
	return m;
}

void hrt_hugemap_settle(int fd, const void *base, size_t size, double recache_below,
			struct hrt_hugemap_report *r)
{
	struct hrt_hugemap_report rep = { -1, -1, 0, false, false, false };
	/* a 2 MiB folio at file offset k * 2 MiB is mapped whole only where
	 * base + k * 2 MiB is a 2 MiB boundary, so a mapping that does not
	 * start on one can have none */
	if (!((uintptr_t)base & (HRT_HUGEMAP_PAGE - 1)))
		rep.can_2m = size / HRT_HUGEMAP_PAGE * HRT_HUGEMAP_PAGE;
#if defined(MADV_POPULATE_READ)
	const long pg = sysconf(_SC_PAGESIZE), np = sysconf(_SC_PHYS_PAGES);
	const bool fits = pg <= 0 || np <= 0 || (double)size <= 0.5 * (double)pg * (double)np;
	char *b = (char *)base;
	/* EINVAL: a kernel before 5.14; EFAULT: the file shrank under us */
	if (!size || !fits || madvise(b, size, MADV_POPULATE_READ))
		goto out;
	rep.populated = true;
	rep.mapped_2m = rep.before_2m = hrt_hugemap_mapped_2m(base);
	if (!(recache_below > 0) || fd < 0 || rep.can_2m < HRT_HUGEMAP_PAGE ||
	    rep.mapped_2m < 0 || rep.mapped_2m >= recache_below * (double)rep.can_2m)
		goto out;
	/* the last whole 2 MiB of the file first: whether reading again helps */
	rep.huge_ok = probe_huge(fd, base, b + rep.can_2m - HRT_HUGEMAP_PAGE);
	if (rep.huge_ok && drop(fd, base, b, size) && !madvise(b, size, MADV_POPULATE_READ)) {
		rep.recached = true;
		rep.mapped_2m = hrt_hugemap_mapped_2m(base);
	}
out:
#else
	(void)fd, (void)base, (void)size, (void)recache_below;
#endif
	if (r)
		*r = rep;
}
