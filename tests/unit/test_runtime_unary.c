/*
 * rn_unary_f32: every activation against its formula evaluated in double,
 * NaN propagation, and in-place use (x == y).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "resnetc/runtime.h"

enum { N = 1003 }; /* not a multiple of any vector width */

static double ref(int act, double a, double b, double v)
{
	switch (act) {
	case RN_ACT_RELU: return v > 0 ? v : 0;
	case RN_ACT_LEAKY_RELU: return v < 0 ? a * v : v;
	case RN_ACT_CLIP: return fmin(fmax(v, a), b);
	case RN_ACT_SIGMOID: return 1 / (1 + exp(-v));
	case RN_ACT_HARD_SIGMOID: return fmax(0, fmin(1, a * v + b));
	case RN_ACT_HARD_SWISH: return v * fmax(0, fmin(1, v / 6 + 0.5));
	default: return v;
	}
}

static void fill(float *x)
{
	for (int i = 0; i < N; i++)
		x[i] = (float)(i - N / 2) * 0.0173f; /* about -8.7 .. 8.7, includes 0 */
}

static void check_act(int act, float a, float b)
{
	float x[N], y[N];
	fill(x);
	rn_unary_f32(act, a, b, N, x, y);
	for (int i = 0; i < N; i++) {
		double want = ref(act, a, b, x[i]);
		/* float evaluation of the same formula: a few ulps (expf in sigmoid) */
		double tol = 4e-7 * fmax(1.0, fabs(want));
		if (!(fabs(y[i] - want) <= tol))
			fail_msg("act %d x=%g: %g, want %g", act, x[i], y[i], want);
	}
	/* in place gives the same bits */
	float z[N];
	fill(z);
	rn_unary_f32(act, a, b, N, z, z);
	for (int i = 0; i < N; i++)
		assert_memory_equal(&z[i], &y[i], sizeof(float));
}

static void test_unary_each_activation_matches_formula(void **state)
{
	(void)state;
	check_act(RN_ACT_RELU, 0, 0);
	check_act(RN_ACT_LEAKY_RELU, 0.01f, 0);
	check_act(RN_ACT_LEAKY_RELU, 0.2f, 0);
	check_act(RN_ACT_CLIP, 0.0f, 6.0f);
	check_act(RN_ACT_CLIP, -1.5f, 2.25f);
	check_act(RN_ACT_SIGMOID, 0, 0);
	check_act(RN_ACT_HARD_SIGMOID, 0.2f, 0.5f);
	check_act(RN_ACT_HARD_SWISH, 0, 0);
	check_act(RN_ACT_IDENTITY, 0, 0);
	check_act(RN_ACT_NONE, 0, 0);
}

static void test_unary_hand_values(void **state)
{
	(void)state;
	float x[4] = { -2.0f, -0.5f, 0.0f, 3.0f }, y[4];
	rn_unary_f32(RN_ACT_RELU, 0, 0, 4, x, y);
	assert_true(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 3.0f);
	rn_unary_f32(RN_ACT_LEAKY_RELU, 0.1f, 0, 4, x, y);
	assert_float_equal(y[0], -0.2f, 1e-7);
	rn_unary_f32(RN_ACT_CLIP, -1.0f, 1.0f, 4, x, y);
	assert_true(y[0] == -1.0f && y[1] == -0.5f && y[3] == 1.0f);
	rn_unary_f32(RN_ACT_SIGMOID, 0, 0, 4, x, y);
	assert_true(y[2] == 0.5f);
	rn_unary_f32(RN_ACT_HARD_SWISH, 0, 0, 4, x, y);
	assert_true(y[3] == 3.0f); /* x >= 3: identity */
	assert_float_equal(y[0], -2.0f * (-2.0f / 6.0f + 0.5f), 1e-6); /* -1/3 */
}

static void test_unary_nan_propagates(void **state)
{
	(void)state;
	int acts[] = { RN_ACT_RELU, RN_ACT_LEAKY_RELU, RN_ACT_CLIP, RN_ACT_SIGMOID,
		       RN_ACT_IDENTITY };
	for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
		float x = NAN, y = 0;
		rn_unary_f32(acts[i], 0.0f, 6.0f, 1, &x, &y);
		if (!isnan(y))
			fail_msg("act %d dropped a NaN", acts[i]);
	}
}

static void test_unary_empty_does_nothing(void **state)
{
	(void)state;
	float y = 42.0f;
	rn_unary_f32(RN_ACT_RELU, 0, 0, 0, &y, &y);
	assert_true(y == 42.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unary_each_activation_matches_formula),
		cmocka_unit_test(test_unary_hand_values),
		cmocka_unit_test(test_unary_nan_propagates),
		cmocka_unit_test(test_unary_empty_does_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
