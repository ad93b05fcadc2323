/*
 * The thread pool behind rn_parallel_for (runtime/threads/threadpool.c, pthreads).
 *
 * A pool of `threads` counts the calling thread: it starts threads - 1
 * workers once and reuses them for every job. rn_parallel_for on a pool
 * hands its tasks out one at a time to the caller and the workers and
 * returns when all are done; with up to 32 tasks, thread t (the caller
 * is 0) first takes those of its own share, [t n / T, (t + 1) n / T),
 * then helps with the others' (so a job split one part per thread gives
 * each thread the same part every time, when all are on time). Between jobs the workers spin for a short
 * while (so the next layer's job starts within microseconds), then sleep
 * on a condition variable. Jobs from different calling threads are run one
 * after the other, so two threads may run models on one pool at once; a
 * task must not start a job on the pool it runs on.
 *
 *   rn_threadpool *tp = rn_threadpool_global(2);
 *   rn_conv2d_packed_f32(RN_CONV_GEMM, &p, x, packed, NULL, y, scratch, scratch_bytes, tp);
 */
#ifndef RESNETC_THREADPOOL_H
#define RESNETC_THREADPOOL_H

#include "resnetc/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new pool, or NULL if threads < 1 or the workers cannot be started. */
rn_threadpool *rn_threadpool_create(int threads);
/* A pool that runs jobs on the first `threads` threads of tp (the caller
 * and threads - 1 of tp's workers), clamped to 1..tp's size; tp itself
 * when that is all of them, NULL for a NULL tp. It lives as long as tp,
 * and jobs through it and through tp still run one after the other. This
 * is how a model runs on fewer threads than it was compiled for
 * (NAME_set_threads): scratch is sized for the compiled count, which no
 * view exceeds. */
rn_threadpool *rn_threadpool_limit(rn_threadpool *tp, int threads);
/* Stops and joins the workers. tp may be NULL. */
void rn_threadpool_destroy(rn_threadpool *tp);

/* The pool of this copy of the runtime, created by the first call with
 * that call's `threads` (later calls get the same pool whatever they ask
 * for); it lives until the process exits. Each compiled model has its own
 * copy of the runtime (include/resnetc/namespace.h), so its own pool. NULL if it could not be created, which
 * rn_parallel_for treats as "run serially". */
rn_threadpool *rn_threadpool_global(int threads);

#ifdef __cplusplus
}
#endif
#endif
