/*
 * kern/prefetch — the software prefetch of the x86 decode kernels: of the
 * weight stream a kernel reads, the first line of every hrt_pf_every bytes
 * is prefetched hrt_pf_ahead bytes ahead. Which spacing pays depends on the
 * CPU's own prefetchers, so it is chosen at run time (kern.c, from the
 * cpuid vendor; env HEARTH_PF_AHEAD, HEARTH_PF_EVERY, HEARTH_PF_FAR
 * override):
 * - AMD Zen 5 (and any CPU not below): one line per 2 KiB, 4.5 KiB ahead.
 *   A prefetch of every line held the products to three quarters of a
 *   plain read of the same matrices; none at all was slower still; one per
 *   region leaves the stream to the hardware prefetcher and restarts it
 *   ahead of each page (measurements beside the uses in tile_avx512.c and
 *   kern_avx2.c).
 * - Intel: every line 4 KiB ahead into L1, and every line 8 KiB ahead
 *   into L2 (hrt_pf_far 4 KiB past the first). On a 2-core Xeon (family 6
 *   model 207), bench/ceiling on the 1B Q4_0 bench model, 2 threads,
 *   medians of 5, alternating: products 17.6-17.7 GB/s (0.66-0.67 of a
 *   plain read) with one line per 2 KiB 4.5 KiB ahead, 22.8-23.3 GB/s
 *   (0.81-0.83) with every line 4 KiB ahead; every line 2 KiB or 1 KiB
 *   ahead, one per 128 bytes 8 KiB ahead, one per 512 bytes 8 KiB ahead:
 *   18.6-21.7; the T1 or T2 hint the same, NTA worse. The second, farther
 *   prefetch into L2: 2-thread decode of the 1B bench models, medians of 5
 *   paired rounds, tok/s without -> 4, 12, 28 KiB past the first: Q4_0
 *   35.3 -> 40.3, 42.5 (12 KiB), then 33.1 -> 40.6, 37.9, 39.6; Q8_0 20.7
 *   -> 23.1, 22.8, then 20.7 -> 23.3, 22.7, 24.0; Q4_K_M 36.2 -> 40.2,
 *   39.5, then 37.5 -> 41.7, 40.6, 40.9 (the far ones alike within the
 *   noise; the T1 hint for it the same as T2).
 */
#ifndef HRT_KERN_PREFETCH_H
#define HRT_KERN_PREFETCH_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* set once before any kernel runs (kern.c); hrt_pf_every a power of two
 * >= 64 */
extern uint32_t hrt_pf_ahead, hrt_pf_every, hrt_pf_far;

/* the line at b into L1 and, when hrt_pf_far is set, the line hrt_pf_far
 * bytes past it into L2 */
static inline __attribute__((always_inline)) void hrt_pf_line(uintptr_t b)
{
	_mm_prefetch((const char *)b, _MM_HINT_T0);
	if (hrt_pf_far)
		_mm_prefetch((const char *)(b + hrt_pf_far), _MM_HINT_T2);
}

/* after reading [p, p + len): hrt_pf_line for the first line of each
 * hrt_pf_every-aligned region that begins in [p + hrt_pf_ahead, p +
 * hrt_pf_ahead + len) */
static inline __attribute__((always_inline)) void hrt_pf_sparse(const void *p, size_t len)
{
	const uintptr_t a = (uintptr_t)p + hrt_pf_ahead, m = hrt_pf_every - 1;
	for (uintptr_t b = (a + m) & ~m; b - a < len; b += m + 1)
		hrt_pf_line(b);
}

/*
 * The every-line mode (hrt_pf_every 64 with a far prefetch, the Intel
 * default) is the one the hottest decode kernels specialise on:
 * hrt_pf_sparse's walk (align, compare, loop, the globals read again)
 * cost about 10 scalar uops per call there, for the 2 prefetches it
 * issues per line. Such a kernel reads hrt_pf_get() once, and each of its
 * steps of whole lines prefetches them by hrt_pf_lines: no arithmetic but
 * the addressing. One thread decoding 1B-shaped matrices hot in the
 * caches (bench/kern_bench.sh -c -H -t 1, GB/s): AVX-512 Q4_0 22.3 ->
 * 27.2, Q8_0 22.3 -> 27.0, Q4_K 22.3-24.7 -> 24.4-26.0. 2-thread decode
 * of the 1B bench models, 2-core Xeon (family 6 model 207), tg32 tok/s in
 * 4 alternating rounds: Q4_0 45.1-45.9 -> 46.1-46.6, Q8_0 24.9-25.3 ->
 * 26.0-26.5, Q4_K_M 42.1-43.7 -> 43.9-44.7; AVX2 Q4_0 38.6-38.9 ->
 * 39.0-39.9.
 * Steps that are not whole lines keep the walk: a prefetch of every line
 * a step touches fetches some twice, and that cost more than the walk
 * (AVX2 Q8_0, steps of 68 bytes: 22.8-23.0 -> 21.4-22.5 tok/s).
 */
static inline bool hrt_pf_every_line(void)
{
	return hrt_pf_every == 64 && hrt_pf_far;
}

/* F(pl, ...) with pl the mode as a constant: each mode its own
 * instantiation of an always-inline F */
#define HRT_PF_MODES(F, ...)                          \
	do {                                          \
		if (hrt_pf_every_line())              \
			F(true, __VA_ARGS__);         \
		else                                  \
			F(false, __VA_ARGS__);        \
	} while (0)

struct hrt_pf {
	size_t l1, l2; /* how far ahead each line goes into L1, into L2 */
};

static inline struct hrt_pf hrt_pf_get(void)
{
	return (struct hrt_pf){ hrt_pf_ahead, (size_t)hrt_pf_ahead + hrt_pf_far };
}

/* in the every-line mode, the k lines (a constant) from p, each into L1
 * pf.l1 bytes ahead and into L2 pf.l2 bytes ahead: steps of 64 k bytes
 * one after another prefetch each line of their stream once */
static inline __attribute__((always_inline)) void hrt_pf_lines(struct hrt_pf pf, const void *p,
							       int k)
{
	_Pragma("GCC unroll 16")
	for (int i = 0; i < k; i++) {
		_mm_prefetch((const char *)p + pf.l1 + 64 * i, _MM_HINT_T0);
		_mm_prefetch((const char *)p + pf.l2 + 64 * i, _MM_HINT_T2);
	}
}

#endif
