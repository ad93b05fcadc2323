/*
 * rn_cast: hand-computed conversions for every kind of pair (float to
 * int: truncation, saturation, NaN; int to int: wraparound; to and from
 * bool; 64-bit integers to float), float16 / bfloat16 rounding from double
 * without double rounding, round trips of every float16 pattern, and the
 * unsupported-type return.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "resnetc/runtime.h"

static void test_cast_float_to_int_truncates_and_saturates(void **state)
{
	(void)state;
	const float x[8] = { 2.9f, -2.9f, 300.0f, -300.0f, NAN, INFINITY, -INFINITY, -0.5f };
	int8_t i8[8];
	assert_int_equal(rn_cast(RN_F32, RN_I8, 8, x, i8), 0);
	const int8_t want8[8] = { 2, -2, 127, -128, 0, 127, -128, 0 };
	assert_memory_equal(i8, want8, sizeof want8);
	uint8_t u8[8];
	assert_int_equal(rn_cast(RN_F32, RN_U8, 8, x, u8), 0);
	const uint8_t wantu8[8] = { 2, 0, 255, 0, 0, 255, 0, 0 };
	assert_memory_equal(u8, wantu8, sizeof wantu8);
	int64_t i64[8];
	assert_int_equal(rn_cast(RN_F32, RN_I64, 8, x, i64), 0);
	assert_true(i64[0] == 2 && i64[1] == -2 && i64[2] == 300 && i64[4] == 0);
	assert_true(i64[5] == INT64_MAX && i64[6] == INT64_MIN);
	const double big[4] = { 9.3e18, -9.3e18, 1.9e19, 4294967295.7 };
	uint64_t u64[4];
	int32_t i32[4];
	assert_int_equal(rn_cast(RN_F64, RN_U64, 4, big, u64), 0);
	assert_true(u64[0] == 9300000000000000000u && u64[1] == 0 && u64[2] == UINT64_MAX);
	assert_int_equal(rn_cast(RN_F64, RN_I32, 4, big, i32), 0);
	assert_true(i32[0] == INT32_MAX && i32[1] == INT32_MIN && i32[3] == INT32_MAX);
}

static void test_cast_to_and_from_bool(void **state)
{
	(void)state;
	const float x[5] = { 0.0f, -0.0f, 0.1f, NAN, -3.0f };
	uint8_t b[5];
	assert_int_equal(rn_cast(RN_F32, RN_BOOL, 5, x, b), 0);
	const uint8_t want[5] = { 0, 0, 1, 1, 1 };
	assert_memory_equal(b, want, 5);
	const int64_t n[3] = { 0, -5, 1LL << 40 };
	assert_int_equal(rn_cast(RN_I64, RN_BOOL, 3, n, b), 0);
	assert_true(b[0] == 0 && b[1] == 1 && b[2] == 1);
	const uint8_t t[2] = { 1, 0 };
	float f[2];
	int32_t i[2];
	assert_int_equal(rn_cast(RN_BOOL, RN_F32, 2, t, f), 0);
	assert_true(f[0] == 1.0f && f[1] == 0.0f);
	assert_int_equal(rn_cast(RN_BOOL, RN_I32, 2, t, i), 0);
	assert_true(i[0] == 1 && i[1] == 0);
}

static void test_cast_int_to_int_wraps(void **state)
{
	(void)state;
	const int32_t x[4] = { 300, -1, -129, 65536 };
	uint8_t u8[4];
	int8_t i8[4];
	uint16_t u16[4];
	int64_t i64[4];
	uint64_t u64[4];
	assert_int_equal(rn_cast(RN_I32, RN_U8, 4, x, u8), 0);
	assert_true(u8[0] == 44 && u8[1] == 255 && u8[2] == 127 && u8[3] == 0);
	assert_int_equal(rn_cast(RN_I32, RN_I8, 4, x, i8), 0);
	assert_true(i8[0] == 44 && i8[1] == -1 && i8[2] == 127 && i8[3] == 0);
	assert_int_equal(rn_cast(RN_I32, RN_U16, 4, x, u16), 0);
	assert_true(u16[1] == 65535 && u16[3] == 0);
	assert_int_equal(rn_cast(RN_I32, RN_I64, 4, x, i64), 0);
	assert_true(i64[1] == -1 && i64[2] == -129);
	assert_int_equal(rn_cast(RN_I32, RN_U64, 4, x, u64), 0);
	assert_true(u64[1] == UINT64_MAX);
	const uint32_t u[1] = { 4000000000u };
	assert_int_equal(rn_cast(RN_U32, RN_I64, 1, u, i64), 0);
	assert_true(i64[0] == 4000000000LL); /* zero-extended, not sign-extended */
}

static void test_cast_integers_to_floats(void **state)
{
	(void)state;
	const int64_t x[3] = { (1LL << 53) + 1, -(1LL << 24) - 1, INT64_MAX };
	float f[3];
	double d[3];
	assert_int_equal(rn_cast(RN_I64, RN_F32, 3, x, f), 0);
	assert_true(f[0] == 0x1p53f && f[1] == -0x1p24f && f[2] == 0x1p63f);
	assert_int_equal(rn_cast(RN_I64, RN_F64, 3, x, d), 0);
	assert_true(d[0] == 0x1p53 && d[1] == -16777217.0);
	/* 2^54 + 2^30 + 1 is just above the tie between two floats and rounds
	 * up; through double it would first become the tie, then go to even */
	const int64_t y[1] = { (1LL << 54) + (1LL << 30) + 1 };
	assert_int_equal(rn_cast(RN_I64, RN_F32, 1, y, f), 0);
	assert_true(f[0] == 0x1p54f + 0x1p31f);
	const uint64_t m[1] = { UINT64_MAX };
	assert_int_equal(rn_cast(RN_U64, RN_F32, 1, m, f), 0);
	assert_true(f[0] == 0x1p64f);
	uint16_t h[1];
	const int32_t big[1] = { 70000 };
	assert_int_equal(rn_cast(RN_I32, RN_F16, 1, big, h), 0);
	assert_int_equal(h[0], 0x7c00); /* beyond float16's range */
}

static void test_cast_double_to_half_rounds_once(void **state)
{
	(void)state;
	/* 1 + 2^-11 is the tie between float16 1.0 and 1 + 2^-10; a double a
	 * hair above it becomes exactly the tie when first rounded to float,
	 * and a second rounding would then go to even (1.0). */
	const double x[2] = { 1.0 + 0x1p-11 + 0x1p-40, 1.0 + 0x1p-11 - 0x1p-40 };
	uint16_t h[3], b[2];
	assert_int_equal(rn_cast(RN_F64, RN_F16, 2, x, h), 0);
	assert_int_equal(h[0], 0x3c01);
	assert_int_equal(h[1], 0x3c00);
	const double y[2] = { 1.0 + 0x1p-8 + 0x1p-40, 1.0 + 0x1p-8 - 0x1p-40 };
	assert_int_equal(rn_cast(RN_F64, RN_BF16, 2, y, b), 0);
	assert_int_equal(b[0], 0x3f81);
	assert_int_equal(b[1], 0x3f80);
	const double d[3] = { 65504.0, -1e300, NAN };
	assert_int_equal(rn_cast(RN_F64, RN_F16, 3, d, h), 0);
	assert_int_equal(h[0], 0x7bff);
	assert_int_equal(h[1], 0xfc00);
	assert_int_equal(rn_cast(RN_F64, RN_F16, 1, d + 2, h), 0);
	assert_true((h[0] & 0x7c00) == 0x7c00 && (h[0] & 0x3ff));
}

static void test_cast_every_half_pattern_round_trips(void **state)
{
	(void)state;
	static uint16_t h[65536], back[65536];
	static float f[65536];
	static double d[65536];
	for (uint32_t i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;
	assert_int_equal(rn_cast(RN_F16, RN_F32, 65536, h, f), 0);
	assert_int_equal(rn_cast(RN_F32, RN_F16, 65536, f, back), 0);
	for (uint32_t i = 0; i < 65536; i++)
		if (!((i & 0x7c00) == 0x7c00 && (i & 0x3ff)))
			assert_int_equal(back[i], i);
	assert_int_equal(rn_cast(RN_F16, RN_F64, 65536, h, d), 0);
	assert_int_equal(rn_cast(RN_F64, RN_F16, 65536, d, back), 0);
	for (uint32_t i = 0; i < 65536; i++)
		if (!((i & 0x7c00) == 0x7c00 && (i & 0x3ff)))
			assert_int_equal(back[i], i);
	assert_int_equal(rn_cast(RN_BF16, RN_F32, 65536, h, f), 0);
	for (uint32_t i = 0; i < 65536; i++) {
		uint32_t bits;
		memcpy(&bits, &f[i], 4);
		if ((i & 0x7f80) == 0x7f80 && (i & 0x7f)) /* NaNs may come back quieted */
			assert_true(isnan(f[i]));
		else
			assert_int_equal(bits, i << 16);
	}
}

static void test_cast_same_type_and_unsupported(void **state)
{
	(void)state;
	const int16_t x[3] = { 1, -2, 3 };
	int16_t y[3];
	assert_int_equal(rn_cast(RN_I16, RN_I16, 3, x, y), 0);
	assert_memory_equal(x, y, sizeof x);
	assert_int_equal(rn_cast(RN_F32, 17, 3, x, y), RN_E_UNSUPPORTED); /* float8 */
	assert_int_equal(rn_cast(0, RN_F32, 3, x, y), RN_E_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cast_float_to_int_truncates_and_saturates),
		cmocka_unit_test(test_cast_to_and_from_bool),
		cmocka_unit_test(test_cast_int_to_int_wraps),
		cmocka_unit_test(test_cast_integers_to_floats),
		cmocka_unit_test(test_cast_double_to_half_rounds_once),
		cmocka_unit_test(test_cast_every_half_pattern_round_trips),
		cmocka_unit_test(test_cast_same_type_and_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
