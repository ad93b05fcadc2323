/*
 * rn_softmax_f32 (Softmax and LogSoftmax over the middle axis) against a
 * double-precision reference, including large inputs that overflow a
 * naive exp, -inf entries, inner sizes past the kernel's block, and
 * in-place use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"

static uint64_t rng = 777;
static float frand(void)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

static void reference(int64_t outer, int64_t len, int64_t inner, int is_log,
		      const float *x, double *y)
{
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			double m = -INFINITY, s = 0;
			for (int64_t l = 0; l < len; l++)
				m = fmax(m, x[(o * len + l) * inner + i]);
			for (int64_t l = 0; l < len; l++)
				s += exp(x[(o * len + l) * inner + i] - m);
			for (int64_t l = 0; l < len; l++) {
				double v = x[(o * len + l) * inner + i] - m;
				y[(o * len + l) * inner + i] = is_log ? v - log(s) : exp(v) / s;
			}
		}
}

static void check(int64_t outer, int64_t len, int64_t inner, float scale, int in_place)
{
	size_t n = (size_t)(outer * len * inner);
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	double *r = malloc(n * sizeof *r);
	for (int is_log = 0; is_log < 2; is_log++) {
		for (size_t i = 0; i < n; i++)
			x[i] = frand() * scale;
		reference(outer, len, inner, is_log, x, r);
		if (in_place) {
			memcpy(y, x, n * sizeof *y);
			rn_softmax_f32(outer, len, inner, is_log, y, y);
		} else {
			rn_softmax_f32(outer, len, inner, is_log, x, y);
		}
		for (size_t i = 0; i < n; i++) {
			/* expf is within a few ulps; log-softmax values grow with the
			 * input range, so the bound is relative to max(1, |want|) */
			double tol = 2e-6 * fmax(1.0, fabs(r[i]));
			if (!(fabs(y[i] - r[i]) <= tol))
				fail_msg("[%lld][%lld][%lld] log=%d: %g, want %g", (long long)outer,
					 (long long)len, (long long)inner, is_log, y[i], r[i]);
		}
	}
	free(x);
	free(y);
	free(r);
}

static void test_softmax_last_and_middle_axis(void **state)
{
	(void)state;
	check(3, 10, 1, 4.0f, 0);
	check(2, 7, 5, 4.0f, 0);
	check(1, 1000, 1, 4.0f, 0);
	check(2, 3, 300, 4.0f, 0); /* inner spans two blocks */
	check(1, 1, 4, 4.0f, 0);   /* len 1: softmax 1, log-softmax 0 */
}

static void test_softmax_large_inputs_are_stable(void **state)
{
	(void)state;
	check(2, 16, 3, 1000.0f, 0);
	float x[3] = { 1000.0f, 1001.0f, 1002.0f }, y[3];
	rn_softmax_f32(1, 3, 1, 0, x, y);
	/* exp(-2), exp(-1), 1 over their sum */
	assert_float_equal(y[0], 0.09003057f, 1e-6);
	assert_float_equal(y[1], 0.24472847f, 1e-6);
	assert_float_equal(y[2], 0.66524096f, 1e-6);
}

static void test_softmax_in_place(void **state)
{
	(void)state;
	check(2, 9, 7, 3.0f, 1);
}

static void test_softmax_minus_infinity_entries(void **state)
{
	(void)state;
	float x[3] = { -INFINITY, 0.0f, -INFINITY }, y[3];
	rn_softmax_f32(1, 3, 1, 0, x, y);
	assert_true(y[0] == 0.0f && y[1] == 1.0f && y[2] == 0.0f);
	rn_softmax_f32(1, 3, 1, 1, x, y);
	assert_true(isinf(y[0]) && y[0] < 0 && y[1] == 0.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_softmax_last_and_middle_axis),
		cmocka_unit_test(test_softmax_large_inputs_are_stable),
		cmocka_unit_test(test_softmax_in_place),
		cmocka_unit_test(test_softmax_minus_infinity_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
