/*
 * kern/pool — see pool.h.
 *
 * A job is n_tasks calls fn(ctx, i, n_tasks). Tasks are claimed from one
 * atomic word holding (job generation << 32 | next task), so the caller and
 * the workers share them: a worker that is not running (the machine is
 * busy with other processes) simply claims nothing, and the caller does its
 * tasks instead of waiting a whole time slice for it. The caller waits only
 * for tasks already claimed. A late worker cannot claim a task of a newer
 * job: its compare-and-swap carries the generation it saw.
 * Idle workers spin briefly (yielding now and then), then sleep on a
 * condition variable. While spinning they prefetch what hrt_pool_warm
 * said the next job reads, 4 KiB at a time, looking for a job between.
 */
#include "kern/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SPIN_ITERS 100000
#define YIELD_EVERY 256
/* a warm hint reads at most this much, in steps of WARM_STEP */
#define WARM_MAX ((size_t)1 << 20)
#define WARM_STEP 4096

struct warm {
	_Atomic(const char *) p;
	_Atomic size_t n;
	char pad[64 - sizeof(void *) - sizeof(size_t)];
};

struct worker_arg {
	struct hrt_pool *p;
	int i;
};

/* the pool and index of the worker running on this thread */
static _Thread_local const struct hrt_pool *self_pool;
static _Thread_local int self_index;

struct hrt_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic uint64_t word;   /* gen << 32 | next task index */
	atomic_int done;         /* tasks finished in the current job */
	atomic_int sleepers;
	atomic_bool stop;
	/* the current job; stable while any of its tasks is unfinished */
	hrt_pool_fn fn;
	void *ctx;
	atomic_int n_tasks;      /* read before a claim: may be a newer job's */
	struct worker_arg *args;
	/* the warm hint: per worker, and its generation */
	struct warm *warm;
	atomic_uint warm_gen;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* claim and run tasks of job gen until none is left */
static void run_tasks(struct hrt_pool *p, uint32_t gen)
{
	for (;;) {
		uint64_t w = atomic_load_explicit(&p->word, memory_order_acquire);
		if ((uint32_t)(w >> 32) != gen)
			return;
		uint32_t i = (uint32_t)w;
		/* n_tasks may already belong to a newer job; then the CAS below
		 * fails because the word changed */
		int nt = atomic_load_explicit(&p->n_tasks, memory_order_relaxed);
		if ((int)i >= nt)
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->word, &w, w + 1,
							   memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		p->fn(p->ctx, (int)i, atomic_load_explicit(&p->n_tasks, memory_order_relaxed));
		atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
	}
}

/* the next WARM_STEP bytes of worker i's hint of generation wg, from *done
 * on; false when it has none left */
static bool warm_step(struct hrt_pool *p, int i, unsigned wg, size_t *done)
{
	const struct warm *w = &p->warm[i];
	const char *a = atomic_load_explicit(&w->p, memory_order_relaxed);
	size_t n = atomic_load_explicit(&w->n, memory_order_relaxed);
	/* a hint replaced meanwhile: its new generation restarts the walk */
	if (atomic_load_explicit(&p->warm_gen, memory_order_acquire) != wg || !a)
		return false;
	n = n < WARM_MAX ? n : WARM_MAX;
	if (*done >= n)
		return false;
	size_t e = *done + WARM_STEP < n ? *done + WARM_STEP : n;
	/* into L1, a hint that never faults: on a 2-core Xeon (family 6
	 * model 207) the L2 hints issued faster than lines came in and some
	 * were dropped; one thread warming 256 KiB with each, then after 10
	 * us reading it: 20.4 GB/s after T1 or T2, 25.5 after T0, as after a
	 * load of each line, 13.4 cold */
	for (size_t o = *done; o < e; o += 64)
		__builtin_prefetch(a + o, 0, 3);
	*done = e;
	return true;
}

static void *worker(void *arg)
{
	const struct worker_arg *wa = arg;
	struct hrt_pool *p = wa->p;
	self_pool = p;
	self_index = wa->i;
	/* generation 0 is "no job yet": a worker that starts after the first
	 * job was issued must still take part in it (reading the current
	 * generation here made the first job of a new pool run on the caller
	 * alone) */
	uint32_t seen = 0;
	unsigned warm_seen = 0;
	size_t warm_done = 0;
	for (;;) {
		uint32_t g;
		unsigned spins = 0;
		while ((g = (uint32_t)(atomic_load_explicit(&p->word, memory_order_acquire) >> 32)) == seen &&
		       !atomic_load(&p->stop)) {
			unsigned wg = atomic_load_explicit(&p->warm_gen, memory_order_acquire);
			if (wg != warm_seen) {
				warm_seen = wg;
				warm_done = 0;
			}
			if (warm_step(p, wa->i, wg, &warm_done)) {
				spins = 0;
				continue;
			}
			if (++spins < SPIN_ITERS) {
				if (spins % YIELD_EVERY == 0)
					sched_yield();
				else
					cpu_relax();
				continue;
			}
			pthread_mutex_lock(&p->mu);
			atomic_fetch_add(&p->sleepers, 1);
			while ((uint32_t)(atomic_load(&p->word) >> 32) == seen &&
			       !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv, &p->mu);
			atomic_fetch_sub(&p->sleepers, 1);
			pthread_mutex_unlock(&p->mu);
			spins = 0;
		}
		if (atomic_load(&p->stop))
			return NULL;
		seen = g;
		run_tasks(p, g);
	}
}

struct hrt_pool *hrt_pool_new(int n_threads)
{
	if (n_threads <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n_threads = c > 0 ? (int)c : 1;
	}
	if (n_threads > 256)
		n_threads = 256;
	struct hrt_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->n = n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->th = calloc((size_t)n_threads, sizeof(pthread_t));
	p->args = calloc((size_t)n_threads, sizeof(*p->args));
	p->warm = aligned_alloc(64, (size_t)n_threads * sizeof(*p->warm));
	if (!p->th || !p->args || !p->warm) {
		free(p->th);
		free(p->args);
		free(p->warm);
		free(p);
		return NULL;
	}
	for (int i = 0; i < n_threads; i++) {
		atomic_init(&p->warm[i].p, NULL);
		atomic_init(&p->warm[i].n, 0);
	}
	for (int i = 1; i < n_threads; i++) {
		p->args[i] = (struct worker_arg){ p, i };
		if (pthread_create(&p->th[i], NULL, worker, &p->args[i])) {
			p->n = i; /* run with the threads we got */
			break;
		}
	}
	return p;
}

void hrt_pool_free(struct hrt_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, true);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->th);
	free(p->args);
	free(p->warm);
	free(p);
}

int hrt_pool_self(const struct hrt_pool *p)
{
	return p && self_pool == p ? self_index : 0;
}

void hrt_pool_warm(struct hrt_pool *pool, const void *const *p, const size_t *n, int k)
{
	if (!pool || pool->n == 1)
		return;
	for (int i = 1; i < k && i < pool->n; i++) {
		atomic_store_explicit(&pool->warm[i].p, (const char *)p[i], memory_order_relaxed);
		atomic_store_explicit(&pool->warm[i].n, n[i], memory_order_relaxed);
	}
	for (int i = k > 1 ? k : 1; i < pool->n; i++)
		atomic_store_explicit(&pool->warm[i].p, NULL, memory_order_relaxed);
	atomic_fetch_add_explicit(&pool->warm_gen, 1, memory_order_release);
}

int hrt_pool_size(const struct hrt_pool *p)
{
	return p ? p->n : 1;
}

void hrt_pool_run_n(struct hrt_pool *p, hrt_pool_fn fn, void *ctx, int n_tasks)
{
	if (n_tasks <= 0)
		return;
	if (!p || p->n == 1 || n_tasks == 1) {
		for (int i = 0; i < n_tasks; i++)
			fn(ctx, i, n_tasks);
		return;
	}
	/* the previous job is complete (we waited for it), so no task of it
	 * can be claimed any more: safe to overwrite the job fields */
	p->fn = fn;
	p->ctx = ctx;
	atomic_store_explicit(&p->n_tasks, n_tasks, memory_order_relaxed);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	uint32_t gen = (uint32_t)(atomic_load(&p->word) >> 32) + 1;
	atomic_store_explicit(&p->word, (uint64_t)gen << 32, memory_order_release);
	if (atomic_load(&p->sleepers)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	run_tasks(p, gen);
	unsigned spins = 0;
	while (atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks) {
		if (++spins % YIELD_EVERY == 0)
			sched_yield();
		else
			cpu_relax();
	}
}

void hrt_pool_run(struct hrt_pool *p, hrt_pool_fn fn, void *ctx)
{
	hrt_pool_run_n(p, fn, ctx, hrt_pool_size(p));
}

void hrt_pool_segs_init(struct hrt_pool_seg *s, int ns, long n)
{
	for (int i = 0; i < ns; i++) {
		long b, e;
		hrt_split(n, i, ns, &b, &e);
		atomic_init(&s[i].fb, (uint64_t)e << 32 | (uint64_t)b);
	}
}

bool hrt_pool_seg_claim(struct hrt_pool_seg *s, bool front, long k, long *u0, long *u1)
{
	uint64_t w = atomic_load_explicit(&s->fb, memory_order_relaxed);
	for (;;) {
		uint32_t f = (uint32_t)w, b = (uint32_t)(w >> 32);
		if (f >= b)
			return false;
		uint32_t c = k < (long)(b - f) ? (uint32_t)k : b - f;
		uint64_t nw = front ? (uint64_t)b << 32 | (f + c) : (uint64_t)(b - c) << 32 | f;
		/* relaxed: the units' results are published by the pool's
		 * completion count, not by this word */
		if (atomic_compare_exchange_weak_explicit(&s->fb, &w, nw, memory_order_relaxed,
							  memory_order_relaxed)) {
			*u0 = front ? f : b - c;
			*u1 = front ? f + c : b;
			return true;
		}
	}
}

long hrt_pool_seg_left(struct hrt_pool_seg *s)
{
	uint64_t w = atomic_load_explicit(&s->fb, memory_order_relaxed);
	long left = (long)(w >> 32) - (long)(uint32_t)w;
	return left > 0 ? left : 0;
}

int hrt_pool_segs_fullest(struct hrt_pool_seg *s, int ns)
{
	int best = -1;
	long most = 0;
	for (int i = 0; i < ns; i++) {
		long left = hrt_pool_seg_left(&s[i]);
		if (left > most) {
			most = left;
			best = i;
		}
	}
	return best;
}
