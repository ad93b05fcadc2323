/*
 * Data movement: rn_transpose against per-element index arithmetic over
 * every permutation of a 4-D tensor; rn_copy2d (a Concat); rn_pad in all
 * four modes with hand-computed numpy.pad results (incl. pads wider than
 * the input and negative pads) and a random 3-D reference whose reflect is
 * computed by repeated bouncing; rn_slice with negative steps; rn_gather
 * with negative, int32 and out-of-range indices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"

static uint64_t rng = 31337;
static int irand(int n)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (int)((rng >> 33) % (uint64_t)n);
}

static void test_transpose_every_4d_permutation(void **state)
{
	(void)state;
	int64_t dims[4] = { 2, 3, 4, 5 };
	int32_t x[120], y[120];
	for (int i = 0; i < 120; i++)
		x[i] = i;
	int perm[4];
	int count = 0;
	for (perm[0] = 0; perm[0] < 4; perm[0]++)
	for (perm[1] = 0; perm[1] < 4; perm[1]++)
	for (perm[2] = 0; perm[2] < 4; perm[2]++)
	for (perm[3] = 0; perm[3] < 4; perm[3]++) {
		if ((1 << perm[0] | 1 << perm[1] | 1 << perm[2] | 1 << perm[3]) != 15)
			continue;
		count++;
		rn_transpose(4, 4, dims, perm, x, y);
		int64_t yd[4], xs[4] = { 60, 20, 5, 1 };
		for (int i = 0; i < 4; i++)
			yd[i] = dims[perm[i]];
		int e = 0;
		for (int64_t a = 0; a < yd[0]; a++)
		for (int64_t b = 0; b < yd[1]; b++)
		for (int64_t c = 0; c < yd[2]; c++)
		for (int64_t d = 0; d < yd[3]; d++, e++) {
			int64_t src = a * xs[perm[0]] + b * xs[perm[1]] + c * xs[perm[2]] + d * xs[perm[3]];
			if (y[e] != x[src])
				fail_msg("perm %d%d%d%d element %d", perm[0], perm[1], perm[2], perm[3], e);
		}
	}
	assert_int_equal(count, 24);
}

static void test_transpose_other_sizes_and_rank0(void **state)
{
	(void)state;
	int64_t dims[2] = { 3, 2 };
	int perm[2] = { 1, 0 };
	uint8_t x[6] = { 1, 2, 3, 4, 5, 6 }, y[6];
	rn_transpose(1, 2, dims, perm, x, y);
	const uint8_t want[6] = { 1, 3, 5, 2, 4, 6 };
	assert_memory_equal(y, want, 6);
	char big[3][12], out[3][12]; /* 12-byte elements */
	for (int i = 0; i < 3; i++)
		memset(big[i], 'a' + i, 12);
	int64_t d1[2] = { 3, 1 };
	rn_transpose(12, 2, d1, perm, big, out);
	assert_memory_equal(big, out, sizeof big);
	double s = 2.5, t = 0;
	rn_transpose(8, 0, NULL, NULL, &s, &t);
	assert_true(t == 2.5);
}

static void test_copy2d_is_concat(void **state)
{
	(void)state;
	/* concat [2][3] and [2][2] along axis 1 into [2][5] */
	int a[6] = { 1, 2, 3, 4, 5, 6 }, b[4] = { 7, 8, 9, 10 }, y[10];
	rn_copy2d(y, 5 * sizeof(int), a, 3 * sizeof(int), 2, 3 * sizeof(int));
	rn_copy2d(y + 3, 5 * sizeof(int), b, 2 * sizeof(int), 2, 2 * sizeof(int));
	const int want[10] = { 1, 2, 3, 7, 8, 4, 5, 6, 9, 10 };
	assert_memory_equal(y, want, sizeof want);
	int z[6];
	rn_copy2d(z, 12, a, 12, 2, 12); /* contiguous */
	assert_memory_equal(z, a, sizeof a);
}

static void pad1(int mode, const float *x, int64_t n, int64_t b, int64_t e, const float *want)
{
	float y[64], value = -1.0f;
	int64_t dims[1] = { n }, begin[1] = { b }, end[1] = { e };
	rn_pad(sizeof(float), 1, dims, begin, end, mode, &value, x, y);
	for (int64_t i = 0; i < n + b + e; i++)
		if (y[i] != want[i])
			fail_msg("mode %d pads %lld,%lld: y[%lld] = %g, want %g", mode, (long long)b,
				 (long long)e, (long long)i, y[i], want[i]);
}

static void test_pad_modes_hand_values(void **state)
{
	(void)state;
	const float x[5] = { 1, 2, 3, 4, 5 };
	/* numpy.pad([1, 2, 3], (2, 2), mode) */
	pad1(RN_PAD_CONSTANT, x, 3, 2, 2, (const float[]){ -1, -1, 1, 2, 3, -1, -1 });
	pad1(RN_PAD_REFLECT, x, 3, 2, 2, (const float[]){ 3, 2, 1, 2, 3, 2, 1 });
	pad1(RN_PAD_EDGE, x, 3, 2, 2, (const float[]){ 1, 1, 1, 2, 3, 3, 3 });
	pad1(RN_PAD_WRAP, x, 3, 2, 2, (const float[]){ 2, 3, 1, 2, 3, 1, 2 });
	/* pads wider than the input: numpy.pad([1, 2, 3], 5, mode) */
	pad1(RN_PAD_REFLECT, x, 3, 5, 5,
	     (const float[]){ 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2 });
	pad1(RN_PAD_WRAP, x, 3, 5, 5,
	     (const float[]){ 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2 });
	/* negative pads crop first: [1..5] -> [2, 3, 4, 5], then pad the end by 2 */
	pad1(RN_PAD_EDGE, x, 5, -1, 2, (const float[]){ 2, 3, 4, 5, 5, 5 });
	pad1(RN_PAD_REFLECT, x, 5, -1, 2, (const float[]){ 2, 3, 4, 5, 4, 3 });
	pad1(RN_PAD_WRAP, x, 5, 2, -2, (const float[]){ 2, 3, 1, 2, 3 });
	pad1(RN_PAD_CONSTANT, x, 5, -2, -1, (const float[]){ 3, 4 });
	/* a single element reflects onto itself */
	pad1(RN_PAD_REFLECT, x, 1, 2, 1, (const float[]){ 1, 1, 1, 1 });
}

/* Source index along an axis of length len for padded position t
 * (relative to the cropped start), by the definition of each mode. */
static int64_t ref_source(int mode, int64_t t, int64_t len)
{
	if (t >= 0 && t < len)
		return t;
	switch (mode) {
	case RN_PAD_EDGE: return t < 0 ? 0 : len - 1;
	case RN_PAD_WRAP: while (t < 0) t += len; while (t >= len) t -= len; return t;
	case RN_PAD_REFLECT:
		if (len == 1)
			return 0;
		while (t < 0 || t >= len) /* bounce off either end */
			t = t < 0 ? -t : 2 * (len - 1) - t;
		return t;
	default: return -1;
	}
}

static void test_pad_random_3d_all_modes(void **state)
{
	(void)state;
	for (int trial = 0; trial < 200; trial++) {
		int mode = trial % 4;
		int64_t dims[3], b[3], e[3], lo[3], len[3], yd[3];
		int64_t n = 1;
		for (int i = 0; i < 3; i++) {
			dims[i] = 1 + irand(5);
			b[i] = irand(7) - 2;
			e[i] = irand(7) - 2;
			if (b[i] < 0 && e[i] < 0 && dims[i] + b[i] + e[i] < 1)
				b[i] = e[i] = 0;
			if (dims[i] + b[i] < 1 || dims[i] + e[i] < 1 || dims[i] + b[i] + e[i] < 1)
				b[i] = e[i] = 1;
			lo[i] = b[i] < 0 ? -b[i] : 0;
			len[i] = dims[i] - lo[i] - (e[i] < 0 ? -e[i] : 0);
			yd[i] = dims[i] + b[i] + e[i];
			n *= dims[i];
		}
		int16_t x[125], y[2000], value = -7;
		for (int64_t i = 0; i < n; i++)
			x[i] = (int16_t)i;
		rn_pad(2, 3, dims, b, e, mode, &value, x, y);
		int64_t k = 0;
		for (int64_t i0 = 0; i0 < yd[0]; i0++)
		for (int64_t i1 = 0; i1 < yd[1]; i1++)
		for (int64_t i2 = 0; i2 < yd[2]; i2++, k++) {
			int64_t idx[3] = { i0, i1, i2 }, off = 0;
			int constant = 0;
			for (int a = 0; a < 3; a++) {
				int64_t s = ref_source(mode, idx[a] - (b[a] > 0 ? b[a] : 0), len[a]);
				if (s < 0)
					constant = 1;
				off = off * dims[a] + lo[a] + (s < 0 ? 0 : s);
			}
			int16_t want = constant ? value : x[off];
			if (y[k] != want)
				fail_msg("trial %d mode %d element %lld: %d, want %d", trial, mode,
					 (long long)k, y[k], want);
		}
	}
}

static void test_slice_steps(void **state)
{
	(void)state;
	int64_t dims[2] = { 4, 6 };
	int x[24], y[24];
	for (int i = 0; i < 24; i++)
		x[i] = i;
	/* x[3:0:-2, 1:6:2] -> rows 3, 1; cols 1, 3, 5 */
	int64_t start[2] = { 3, 1 }, step[2] = { -2, 2 }, out[2] = { 2, 3 };
	rn_slice(sizeof(int), 2, dims, start, step, out, x, y);
	const int want[6] = { 19, 21, 23, 7, 9, 11 };
	assert_memory_equal(y, want, sizeof want);
	/* x[:, ::-1] */
	int64_t start2[2] = { 0, 5 }, step2[2] = { 1, -1 }, out2[2] = { 4, 6 };
	rn_slice(sizeof(int), 2, dims, start2, step2, out2, x, y);
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 6; c++)
			assert_int_equal(y[r * 6 + c], x[r * 6 + 5 - c]);
	/* an empty slice writes nothing */
	int64_t out3[2] = { 0, 3 };
	y[0] = -5;
	rn_slice(sizeof(int), 2, dims, start, step, out3, x, y);
	assert_int_equal(y[0], -5);
}

static void test_gather_indices(void **state)
{
	(void)state;
	/* x [2][3][2], gather along axis 1 */
	float x[12], y[12];
	for (int i = 0; i < 12; i++)
		x[i] = (float)i;
	int64_t idx[3] = { 2, -3, -1 };
	assert_int_equal(rn_gather(sizeof(float), 2, 3, 2, x, RN_I64, idx, 3, y), RN_OK);
	const float want[12] = { 4, 5, 0, 1, 4, 5, 10, 11, 6, 7, 10, 11 };
	assert_memory_equal(y, want, sizeof want);
	int32_t idx32[2] = { 1, 0 };
	assert_int_equal(rn_gather(sizeof(float), 1, 2, 6, x, RN_I32, idx32, 2, y), RN_OK);
	for (int i = 0; i < 6; i++)
		assert_true(y[i] == x[6 + i] && y[6 + i] == x[i]);
	float keep[12];
	memcpy(keep, y, sizeof y);
	int64_t bad[2] = { 0, 3 };
	assert_int_equal(rn_gather(sizeof(float), 2, 3, 2, x, RN_I64, bad, 2, y), RN_E_INDEX);
	int64_t bad_neg[1] = { -4 };
	assert_int_equal(rn_gather(sizeof(float), 2, 3, 2, x, RN_I64, bad_neg, 1, y), RN_E_INDEX);
	assert_memory_equal(y, keep, sizeof y); /* nothing written on error */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transpose_every_4d_permutation),
		cmocka_unit_test(test_transpose_other_sizes_and_rank0),
		cmocka_unit_test(test_copy2d_is_concat),
		cmocka_unit_test(test_pad_modes_hand_values),
		cmocka_unit_test(test_pad_random_3d_all_modes),
		cmocka_unit_test(test_slice_steps),
		cmocka_unit_test(test_gather_indices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
