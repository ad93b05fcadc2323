/*
 * The pthread pool (runtime/threads/threadpool.c): every task of every job runs
 * exactly once and before rn_parallel_for returns, whatever the task count
 * (few tasks are claimed by bits, many by a counter), thread count and the
 * order threads arrive in; thread arguments stay below the pool's size;
 * and each thread runs its own share of a job when it is on time.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <time.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

enum { MAX_TASKS = 100 };

typedef struct {
	atomic_int runs[MAX_TASKS];
	atomic_int bad_thread;
	int threads;
	int slow_task;  /* this task sleeps slow_ms (-1: none) */
	int slow_ms;
	int ran_on[MAX_TASKS];
} job;

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void count_task(void *ctx, int64_t t, int thread)
{
	job *j = ctx;
	if (thread < 0 || thread >= j->threads)
		atomic_fetch_add(&j->bad_thread, 1);
	if (t == j->slow_task)
		nap_ms(j->slow_ms);
	j->ran_on[t] = thread;
	atomic_fetch_add(&j->runs[t], 1);
}

/* count_task taking 3 ms. */
static void share_task(void *ctx, int64_t t, int thread)
{
	nap_ms(3);
	count_task(ctx, t, thread);
}

static void run_job(rn_threadpool *tp, int threads, int n, int slow_task, int slow_ms)
{
	job j = { .threads = threads, .slow_task = slow_task, .slow_ms = slow_ms };
	for (int i = 0; i < MAX_TASKS; i++)
		atomic_init(&j.runs[i], 0);
	atomic_init(&j.bad_thread, 0);
	rn_parallel_for(tp, n, count_task, &j);
	for (int i = 0; i < MAX_TASKS; i++)
		if (atomic_load(&j.runs[i]) != (i < n))
			fail_msg("threads %d, %d tasks: task %d ran %d times", threads, n, i,
				 atomic_load(&j.runs[i]));
	assert_int_equal(atomic_load(&j.bad_thread), 0);
}

static void test_every_task_runs_once(void **state)
{
	(void)state;
	for (int threads = 2; threads <= 4; threads++) {
		rn_threadpool *tp = rn_threadpool_create(threads);
		assert_non_null(tp);
		for (int rep = 0; rep < 400; rep++) /* 1..MAX_TASKS tasks, jobs back to back */
			run_job(tp, threads, 1 + rep % MAX_TASKS, -1, 0);
		/* a slow task makes the others take what is left of its share */
		for (int n = 1; n <= 40; n += 13)
			for (int slow = 0; slow < n; slow += 7)
				run_job(tp, threads, n, slow, 2);
		rn_threadpool_destroy(tp);
	}
}

/* Workers asleep (after their spin) are woken for the next job. */
static void test_jobs_after_workers_sleep(void **state)
{
	(void)state;
	rn_threadpool *tp = rn_threadpool_create(3);
	assert_non_null(tp);
	for (int rep = 0; rep < 5; rep++) {
		nap_ms(5);
		run_job(tp, 3, 1 + rep * 17, -1, 0);
	}
	rn_threadpool_destroy(tp);
}

/* Each thread runs its own share of a job, [t n / T, (t + 1) n / T): with
 * four 3 ms tasks on two threads, tasks 0 and 1 on the caller (thread 0),
 * 2 and 3 on the worker. (A pool handing out the next index to whoever
 * comes first interleaves them: 0 and 2 on one thread, 1 and 3 on the
 * other.) Only a thread descheduled for milliseconds changes that, hence
 * the tolerance. */
static void test_threads_run_their_own_share(void **state)
{
	(void)state;
	rn_threadpool *tp = rn_threadpool_create(2);
	assert_non_null(tp);
	int kept = 0;
	for (int rep = 0; rep < 20; rep++) {
		job j = { .threads = 2, .slow_task = -1 };
		for (int i = 0; i < MAX_TASKS; i++)
			atomic_init(&j.runs[i], 0);
		atomic_init(&j.bad_thread, 0);
		rn_parallel_for(tp, 4, share_task, &j);
		for (int i = 0; i < 4; i++)
			assert_int_equal(atomic_load(&j.runs[i]), 1);
		kept += j.ran_on[0] == 0 && j.ran_on[1] == 0 && j.ran_on[2] == 1 && j.ran_on[3] == 1;
	}
	assert_true(kept >= 16);
	rn_threadpool_destroy(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_task_runs_once),
		cmocka_unit_test(test_jobs_after_workers_sleep),
		cmocka_unit_test(test_threads_run_their_own_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
