/*
 * core/util — overflow-checked size arithmetic, checked allocation, small
 * helpers used by every layer. Header-only where it is a one-liner.
 */
#ifndef HRT_CORE_UTIL_H
#define HRT_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when a*b or a+b would overflow; otherwise *out gets the result */
static inline bool hrt_mul_ovf(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}
static inline bool hrt_add_ovf(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_add_overflow(a, b, out);
}
static inline bool hrt_mulz_ovf(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

/* round x up to a multiple of a (a > 0); false on overflow */
static inline bool hrt_align_up(uint64_t x, uint64_t a, uint64_t *out)
{
	uint64_t r = x % a;
	if (r == 0) {
		*out = x;
		return true;
	}
	return !hrt_add_ovf(x, a - r, out);
}

/* calloc(n, size) with the product checked; NULL on overflow or failure */
void *hrt_calloc(size_t n, size_t size);
/* malloc with a 64-byte aligned result; free with hrt_free_aligned */
void *hrt_malloc_aligned(size_t size);
void hrt_free_aligned(void *p);
/* size bytes on a 2 MiB boundary, asking the kernel for 2 MiB pages (a
 * hint, as the model mapping asks: bandwidth buffers that must read like
 * the weights); NULL on failure; free with hrt_free_aligned */
void *hrt_malloc_huge(size_t size);

/* monotonic clock in nanoseconds */
uint64_t hrt_now_ns(void);

/* strdup that returns NULL on failure (no POSIX dependency) */
char *hrt_strdup(const char *s);
char *hrt_strndup(const char *s, size_t n);

#define HRT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HRT_MAX(a, b) ((a) > (b) ? (a) : (b))
#define HRT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
