/*
 * kern/prefetch — the software prefetch of the x86 decode kernels: of the
 * weight stream a kernel reads one line per HRT_PF_EVERY bytes is
 * prefetched HRT_PF_AHEAD ahead. A prefetch of every line held the
 * products to three quarters of a plain read of the same matrices; none at
 * all was slower still; one per region leaves the stream to the hardware
 * prefetcher and restarts it ahead of each page (measurements beside its
 * uses in tile_avx512.c and kern_avx2.c).
 */
#ifndef HRT_KERN_PREFETCH_H
#define HRT_KERN_PREFETCH_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HRT_PF_AHEAD
#define HRT_PF_AHEAD 4608
#endif
#ifndef HRT_PF_EVERY
#define HRT_PF_EVERY 2048
#endif

/* after reading [p, p + len): prefetch the first line of each
 * HRT_PF_EVERY-aligned region that begins in [p + HRT_PF_AHEAD, p +
 * HRT_PF_AHEAD + len) (len <= HRT_PF_EVERY: at most one) */
static inline __attribute__((always_inline)) void hrt_pf_sparse(const void *p, size_t len)
{
	const uintptr_t a = (uintptr_t)p + HRT_PF_AHEAD;
	const uintptr_t b = (a + HRT_PF_EVERY - 1) & ~(uintptr_t)(HRT_PF_EVERY - 1);
	if (b - a < len)
		_mm_prefetch((const char *)b, _MM_HINT_T0);
}

#endif
