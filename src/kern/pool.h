/*
 * kern/pool — a persistent thread pool for data-parallel kernels.
 *
 * hrt_pool_run(pool, fn, ctx) calls fn(ctx, i, n) for every task i < n (n =
 * the pool's thread count) and returns when all have finished. Tasks are
 * shared out dynamically: whichever thread is running claims the next one,
 * so ith is a task index, not a thread id (per-task scratch indexed by it is
 * safe: no two threads run the same index). Workers are created once;
 * between jobs they spin briefly, then sleep. Not a task queue: one job at a
 * time, issued by one owner thread.
 */
#ifndef HRT_KERN_POOL_H
#define HRT_KERN_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hrt_pool;

typedef void (*hrt_pool_fn)(void *ctx, int ith, int nth);

/* n_threads <= 0: the number of online CPUs. NULL on failure. */
struct hrt_pool *hrt_pool_new(int n_threads);
void hrt_pool_free(struct hrt_pool *p);
int hrt_pool_size(const struct hrt_pool *p);
/* p may be NULL: runs fn(ctx, 0, 1) on the caller */
void hrt_pool_run(struct hrt_pool *p, hrt_pool_fn fn, void *ctx);
/* the same with n_tasks tasks (finer grain balances uneven work) */
void hrt_pool_run_n(struct hrt_pool *p, hrt_pool_fn fn, void *ctx, int n_tasks);

/* which of p's threads is calling: 1 .. size - 1 for its workers, 0 for
 * any other thread (the caller of hrt_pool_run) */
int hrt_pool_self(const struct hrt_pool *p);

/*
 * A hint of what the next job will read, for the idle workers: worker i
 * (1 .. size - 1) prefetches bytes [0, n[i]) from p[i], a line at a time,
 * while it waits for the next job, and stops as soon as one comes; a
 * later call replaces the hint. Prefetches neither fault nor change
 * memory, so a stale hint costs only the bytes it reads. Entry 0 (the
 * caller's) and entries past the pool's size are ignored; workers past k
 * get none.
 */
void hrt_pool_warm(struct hrt_pool *pool, const void *const *p, const size_t *n, int k);

/* split [0, n) into nth nearly equal parts; part ith is [*b, *e) */
static inline void hrt_split(long n, int ith, int nth, long *b, long *e)
{
	long q = n / nth, r = n % nth;
	*b = ith * q + (ith < r ? ith : r);
	*e = *b + q + (ith < r ? 1 : 0);
}

/*
 * Segments with stealing, for work of n equal units where each thread
 * should walk one contiguous range (one memory stream) yet none should
 * wait for another at the end: [0, n) is split into ns segments, one per
 * task; a task claims units from the front of its own segment, then from
 * the back of whichever segment has the most left, until none has any.
 * Every unit is claimed exactly once whatever the interleaving (one atomic
 * word per segment). The caller owns the array; n < 2^32.
 */
struct hrt_pool_seg {
	_Atomic uint64_t fb; /* back << 32 | front: units [front, back) left */
	char pad[64 - sizeof(uint64_t)]; /* one cache line each */
};

void hrt_pool_segs_init(struct hrt_pool_seg *s, int ns, long n);
/* claim up to k units of s from its front (its owner) or back (a thief):
 * false when it has none left, else [*u0, *u1) */
bool hrt_pool_seg_claim(struct hrt_pool_seg *s, bool front, long k, long *u0, long *u1);
/* units s has left (a snapshot: others may claim meanwhile) */
long hrt_pool_seg_left(struct hrt_pool_seg *s);
/* the segment with the most units left, -1 when all are empty */
int hrt_pool_segs_fullest(struct hrt_pool_seg *s, int ns);

#endif
