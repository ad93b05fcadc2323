/*
 * The pthread pool (include/resnetc/threadpool.h).
 *
 * A job is published as one 64-bit word: job number, next task index and
 * task count. Threads claim a task with a compare-and-swap on that word,
 * so a worker that wakes up late, after its job has ended, finds another
 * job number and claims nothing; and a job's function and context cannot
 * change while one of its tasks is claimed but not done, because the
 * caller waits for all of them before it publishes the next job. The
 * caller runs tasks too, then waits (spinning) for the count of finished
 * tasks. Idle workers spin on the job number for SPIN_NS, then sleep;
 * spins turn into sched_yield after a thousand pauses.
 *
 * A job of at most MASK_TASKS tasks has, in the same word, its task count
 * and a bit per claimed task instead of the next index, and thread t
 * first claims the tasks of its own share, [t n / T, (t + 1) n / T) in
 * order, then what is left of the others', from their ends. So with one
 * part per thread each thread gets the same part, layer after layer,
 * whenever it is on time: a layer split like the one before finds its
 * input in the cache of the core that wrote it.
 *
 * A job runs on the first `active` threads of the pool (the caller is
 * thread 0): the pool's size, or fewer through a view from
 * rn_threadpool_limit. The count is set with the job, before its job
 * number, so a worker that sees the number sees the count; a worker whose
 * index is not below it sits the job out.
 * Built with RN_NO_THREADS (targets without pthreads), this file is empty.
 */
#ifndef RN_NO_THREADS
/* clock_gettime and CLOCK_MONOTONIC under -std=c11 */
#define _POSIX_C_SOURCE 200809L

#include "parallel.h"
#include "resnetc/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

/* The job word: gen << GEN_SHIFT | MASK_MODE | count << COUNT_SHIFT |
 * claimed bits (mask mode), or gen << GEN_SHIFT | next index << IDX_BITS |
 * count. */
enum { GEN_BITS = 20, IDX_BITS = 21, GEN_SHIFT = 44, COUNT_SHIFT = 36, MASK_TASKS = 32 };
#define IDX_MASK ((UINT64_C(1) << IDX_BITS) - 1)
#define GEN_MASK ((UINT64_C(1) << GEN_BITS) - 1)
#define MASK_MODE (UINT64_C(1) << 43)
#define SPIN_NS 200000

typedef struct pool pool;

/* rn_threadpool_limit's result: runs jobs on the pool's first base.threads
 * threads. */
typedef struct {
	rn_threadpool base;
	pool *pl;
} pool_view;

struct pool {
	rn_threadpool base;
	int n_workers;
	pthread_t *workers;
	pthread_mutex_t job_lock; /* one job at a time */
	pthread_mutex_t lock;     /* sleeping and waking */
	pthread_cond_t wake;
	unsigned jobno;           /* under job_lock */
	atomic_uint gen;          /* number of the latest job */
	atomic_int sleepers;
	atomic_int stop;
	rn_task_fn fn;
	void *ctx;
	_Atomic uint64_t next;    /* the job word (see GEN_SHIFT) */
	_Atomic int64_t done;
	atomic_int active;        /* threads that take part in the current job */
	pool_view *views;         /* views[t - 1]: the first t threads */
};

typedef struct {
	pool *pl;
	int index;
} worker_arg;

/* The i-th turn of a wait loop: a pause, then, once the wait is no longer
 * short, the processor to whoever else wants it (on a busy machine the
 * thread we wait for may be waiting for this very core). */
static void relax(int i)
{
	if (i < 1024)
		cpu_relax();
	else
		sched_yield();
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bits of tasks [lo, hi), hi <= MASK_TASKS. */
static uint64_t task_bits(int64_t lo, int64_t hi)
{
	return ((UINT64_C(1) << hi) - 1) & ~((UINT64_C(1) << lo) - 1);
}

static int lowest_bit(uint64_t b)
{
	int i = 0;
	while (!(b & 1)) {
		b >>= 1;
		i++;
	}
	return i;
}

static int highest_bit(uint64_t b)
{
	int i = -1;
	while (b) {
		b >>= 1;
		i++;
	}
	return i;
}

/* Mask mode: runs tasks of job g until none is left to claim, this
 * thread's share first, in order, then the others', from their ends. */
static void work_mask(pool *pl, unsigned g, int thread, int threads, uint64_t v)
{
	int64_t n = (int64_t)((v >> COUNT_SHIFT) & 63);
	uint64_t all = task_bits(0, n);
	uint64_t own = task_bits(n * thread / threads, n * (thread + 1) / threads);
	for (;;) {
		if ((unsigned)(v >> GEN_SHIFT) != g)
			return;
		uint64_t open = all & ~v;
		if (!open)
			return;
		int i = open & own ? lowest_bit(open & own) : highest_bit(open);
		if (!atomic_compare_exchange_weak(&pl->next, &v, v | UINT64_C(1) << i))
			continue; /* v now holds the current word */
		pl->fn(pl->ctx, i, thread);
		atomic_fetch_add_explicit(&pl->done, 1, memory_order_release);
		v = atomic_load(&pl->next);
	}
}

/* Runs tasks of job g, on `threads` threads, until none is left to claim. */
static void work(pool *pl, unsigned g, int thread, int threads)
{
	uint64_t v = atomic_load(&pl->next);
	if ((unsigned)(v >> GEN_SHIFT) == g && (v & MASK_MODE)) {
		work_mask(pl, g, thread, threads, v);
		return;
	}
	for (;;) {
		if ((unsigned)(v >> GEN_SHIFT) != g)
			return;
		uint64_t idx = (v >> IDX_BITS) & IDX_MASK, n = v & IDX_MASK;
		if (idx >= n)
			return;
		if (!atomic_compare_exchange_weak(&pl->next, &v, v + (UINT64_C(1) << IDX_BITS)))
			continue; /* v now holds the current word */
		pl->fn(pl->ctx, (int64_t)idx, thread);
		atomic_fetch_add_explicit(&pl->done, 1, memory_order_release);
		v = atomic_load(&pl->next);
	}
}

/* Waits for a job number other than seen (or stop): spins, then sleeps. */
static unsigned wait_job(pool *pl, unsigned seen)
{
	unsigned g;
	uint64_t t0 = now_ns();
	for (int i = 1;; i++) {
		g = atomic_load(&pl->gen);
		if (g != seen || atomic_load_explicit(&pl->stop, memory_order_relaxed))
			return g;
		relax(i);
		if (i % 64 == 0 && now_ns() - t0 > SPIN_NS)
			break;
	}
	pthread_mutex_lock(&pl->lock);
	atomic_fetch_add(&pl->sleepers, 1);
	while ((g = atomic_load(&pl->gen)) == seen && !atomic_load(&pl->stop))
		pthread_cond_wait(&pl->wake, &pl->lock);
	atomic_fetch_sub(&pl->sleepers, 1);
	pthread_mutex_unlock(&pl->lock);
	return g;
}

static void *worker_main(void *arg)
{
	worker_arg *wa = arg;
	pool *pl = wa->pl;
	int index = wa->index;
	unsigned seen = 0;
	free(wa);
	for (;;) {
		unsigned g = wait_job(pl, seen);
		if (atomic_load(&pl->stop))
			return NULL;
		seen = g;
		int active = atomic_load(&pl->active);
		if (index < active)
			work(pl, g, index, active);
	}
}

/* Runs a job on the pool's first `threads` threads. */
static void run_on(pool *pl, int threads, int64_t n_tasks, rn_task_fn fn, void *ctx)
{
	if ((uint64_t)n_tasks > IDX_MASK) {
		for (int64_t t = 0; t < n_tasks; t++)
			fn(ctx, t, 0);
		return;
	}
	pthread_mutex_lock(&pl->job_lock);
	pl->fn = fn;
	pl->ctx = ctx;
	atomic_store(&pl->done, 0);
	atomic_store(&pl->active, threads);
	unsigned g = (unsigned)((pl->jobno + 1) & GEN_MASK);
	pl->jobno = g;
	uint64_t word = (uint64_t)g << GEN_SHIFT;
	if (n_tasks <= MASK_TASKS)
		word |= MASK_MODE | (uint64_t)n_tasks << COUNT_SHIFT;
	else
		word |= (uint64_t)n_tasks;
	atomic_store(&pl->next, word);
	atomic_store(&pl->gen, g);
	if (atomic_load(&pl->sleepers) > 0) {
		pthread_mutex_lock(&pl->lock);
		pthread_cond_broadcast(&pl->wake);
		pthread_mutex_unlock(&pl->lock);
	}
	work(pl, g, 0, threads);
	for (int i = 1; atomic_load_explicit(&pl->done, memory_order_acquire) < n_tasks; i++)
		relax(i);
	pthread_mutex_unlock(&pl->job_lock);
}

static void pool_run(rn_threadpool *tp, int64_t n_tasks, rn_task_fn fn, void *ctx)
{
	run_on((pool *)tp, tp->threads, n_tasks, fn, ctx);
}

static void view_run(rn_threadpool *tp, int64_t n_tasks, rn_task_fn fn, void *ctx)
{
	run_on(((pool_view *)tp)->pl, tp->threads, n_tasks, fn, ctx);
}

rn_threadpool *rn_threadpool_limit(rn_threadpool *tp, int threads)
{
	if (!tp)
		return NULL;
	pool *pl = tp->run == view_run ? ((pool_view *)tp)->pl : (pool *)tp;
	if (threads < 1)
		threads = 1;
	if (threads >= pl->base.threads)
		return &pl->base;
	return &pl->views[threads - 1].base;
}

rn_threadpool *rn_threadpool_create(int threads)
{
	if (threads < 1)
		return NULL;
	pool *pl = calloc(1, sizeof *pl);
	if (!pl)
		return NULL;
	pl->base.threads = threads;
	pl->base.run = pool_run;
	pthread_mutex_init(&pl->job_lock, NULL);
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->wake, NULL);
	atomic_init(&pl->gen, 0);
	atomic_init(&pl->sleepers, 0);
	atomic_init(&pl->stop, 0);
	atomic_init(&pl->next, 0);
	atomic_init(&pl->done, 0);
	atomic_init(&pl->active, threads);
	pl->workers = calloc((size_t)threads, sizeof *pl->workers);
	pl->views = calloc((size_t)threads, sizeof *pl->views);
	if (!pl->workers || !pl->views) {
		rn_threadpool_destroy(&pl->base);
		return NULL;
	}
	for (int t = 1; t <= threads; t++)
		pl->views[t - 1] = (pool_view){{t, view_run}, pl};
	for (int i = 1; i < threads; i++) {
		worker_arg *wa = malloc(sizeof *wa);
		if (!wa || (wa->pl = pl, wa->index = i,
			    pthread_create(&pl->workers[pl->n_workers], NULL, worker_main, wa))) {
			free(wa);
			rn_threadpool_destroy(&pl->base);
			return NULL;
		}
		pl->n_workers++;
	}
	return &pl->base;
}

void rn_threadpool_destroy(rn_threadpool *tp)
{
	pool *pl = (pool *)tp;
	if (!pl)
		return;
	pthread_mutex_lock(&pl->lock);
	atomic_store(&pl->stop, 1);
	atomic_fetch_add(&pl->gen, 1);
	pthread_cond_broadcast(&pl->wake);
	pthread_mutex_unlock(&pl->lock);
	for (int i = 0; i < pl->n_workers; i++)
		pthread_join(pl->workers[i], NULL);
	pthread_cond_destroy(&pl->wake);
	pthread_mutex_destroy(&pl->lock);
	pthread_mutex_destroy(&pl->job_lock);
	free(pl->workers);
	free(pl->views);
	free(pl);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static int global_threads;
static rn_threadpool *global_pool;

static void global_init(void)
{
	global_pool = rn_threadpool_create(global_threads);
}

rn_threadpool *rn_threadpool_global(int threads)
{
	pthread_mutex_lock(&global_lock);
	if (!global_threads)
		global_threads = threads < 1 ? 1 : threads;
	pthread_mutex_unlock(&global_lock);
	pthread_once(&global_once, global_init);
	return global_pool;
}
#else
typedef int rn_threadpool_disabled;
#endif
