/*
 * rn_parallel_for: a plain loop without a pool, the pool's job otherwise.
 * No pthread symbol is referenced here (see parallel.h).
 */
#include "parallel.h"

void rn_parallel_for(rn_threadpool *tp, int64_t n_tasks, rn_task_fn fn, void *ctx)
{
	if (n_tasks <= 0)
		return;
	if (!tp || tp->threads <= 1 || n_tasks == 1) {
		for (int64_t t = 0; t < n_tasks; t++)
			fn(ctx, t, 0);
		return;
	}
	tp->run(tp, n_tasks, fn, ctx);
}

int rn_threadpool_threads(const rn_threadpool *tp)
{
	return tp && tp->threads > 1 ? tp->threads : 1;
}
