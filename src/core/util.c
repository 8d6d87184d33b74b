/* core/util — see util.h. */
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

void *hrt_calloc(size_t n, size_t size)
{
	size_t total;
	if (hrt_mulz_ovf(n, size, &total))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *hrt_malloc_aligned(size_t size)
{
	void *p = NULL;
	if (size == 0)
		size = 64;
	if (posix_memalign(&p, 64, size) != 0)
		return NULL;
	return p;
}

void *hrt_malloc_huge(size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, (size_t)2 << 20, size ? size : 64) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

void hrt_free_aligned(void *p)
{
	free(p);
}

uint64_t hrt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *hrt_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *hrt_strdup(const char *s)
{
	return hrt_strndup(s, strlen(s));
}
