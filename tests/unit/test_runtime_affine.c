/*
 * rn_scale_shift_f32 and rn_batchnorm_f32 against the formulas in double,
 * on odd sizes, in place, and on hand-computed values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "resnetc/runtime.h"

static uint64_t rng = 12345;
static float frand(void)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

static void test_scale_shift_matches_formula(void **state)
{
	(void)state;
	int64_t n = 2, c = 5, sp = 37;
	float *x = malloc(sizeof(float) * (size_t)(n * c * sp)), *y = malloc(sizeof(float) * (size_t)(n * c * sp));
	float sc[5], sh[5];
	for (int i = 0; i < n * c * sp; i++) x[i] = frand() * 10;
	for (int i = 0; i < c; i++) { sc[i] = frand(); sh[i] = frand(); }
	rn_scale_shift_f32(n, c, sp, x, sc, sh, y);
	for (int64_t b = 0; b < n; b++)
		for (int64_t ch = 0; ch < c; ch++)
			for (int64_t s = 0; s < sp; s++) {
				int64_t i = (b * c + ch) * sp + s;
				double want = (double)x[i] * sc[ch] + sh[ch];
				/* one float multiply and add: 2 roundings of values <= 11 */
				assert_true(fabs(y[i] - want) <= 2e-6);
			}
	rn_scale_shift_f32(n, c, sp, x, sc, sh, x); /* in place */
	for (int i = 0; i < n * c * sp; i++)
		assert_true(x[i] == y[i]);
	free(x);
	free(y);
}

static void test_batchnorm_matches_formula(void **state)
{
	(void)state;
	int64_t n = 3, c = 4, sp = 9;
	float x[108], y[108];
	float scale[4] = { 1.0f, 0.5f, -2.0f, 3.0f }, bias[4] = { 0.0f, 1.0f, -1.0f, 0.25f };
	float mean[4] = { 0.0f, 0.1f, -0.3f, 2.0f }, var[4] = { 1.0f, 0.25f, 4.0f, 0.01f };
	float eps = 1e-5f;
	for (int i = 0; i < 108; i++) x[i] = frand() * 3;
	rn_batchnorm_f32(n, c, sp, eps, x, scale, bias, mean, var, y);
	for (int64_t b = 0; b < n; b++)
		for (int64_t ch = 0; ch < c; ch++)
			for (int64_t s = 0; s < sp; s++) {
				int64_t i = (b * c + ch) * sp + s;
				double want = ((double)x[i] - mean[ch]) / sqrt((double)var[ch] + eps) *
					      scale[ch] + bias[ch];
				/* outputs up to ~150 (var 0.01, scale 3): 3 float roundings */
				assert_true(fabs(y[i] - want) <= 4e-7 * fmax(1.0, fabs(want)) * 4);
			}
}

static void test_batchnorm_hand_value(void **state)
{
	(void)state;
	float x[2] = { 3.0f, -1.0f }, y[2];
	float scale = 2.0f, bias = 1.0f, mean = 1.0f, var = 4.0f;
	rn_batchnorm_f32(1, 1, 2, 0.0f, x, &scale, &bias, &mean, &var, y);
	/* (3 - 1) / 2 * 2 + 1 = 3; (-1 - 1) / 2 * 2 + 1 = -1 */
	assert_true(y[0] == 3.0f && y[1] == -1.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_shift_matches_formula),
		cmocka_unit_test(test_batchnorm_matches_formula),
		cmocka_unit_test(test_batchnorm_hand_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
