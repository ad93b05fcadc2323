/*
 * What rn_parallel_for knows of a pool: its size and how to run a job. A
 * pool implementation (threadpool.c) starts with this struct, so that
 * parallel.c calls it through a pointer and single-threaded programs,
 * which only ever pass NULL, never link the pthread code.
 */
#ifndef RESNETC_PARALLEL_H
#define RESNETC_PARALLEL_H

#include "resnetc/runtime.h"

struct rn_threadpool {
	int threads;
	void (*run)(rn_threadpool *tp, int64_t n_tasks, rn_task_fn fn, void *ctx);
};

#endif
