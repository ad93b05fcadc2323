/*
 * Element type sizes and names, and the float16 / bfloat16 conversions.
 * Conversions are checked against references that share no code with the
 * runtime: float16 values are computed from the definition (sign,
 * exponent, mantissa) in double, and rounding picks the nearest of the
 * two neighbouring representable values by comparing distances in double.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "resnetc/runtime.h"

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* The value of a float16 bit pattern, from the IEEE definition. */
static double f16_value(uint16_t h)
{
	int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
	double v;
	if (e == 31)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp(m, -24);
	else
		v = ldexp(1024 + m, e - 25);
	return sign ? -v : v;
}

/* Nearest float16 to x, ties to even, by search over the ordered finite
 * positive patterns 0..0x7bff. */
static uint16_t f16_nearest(double x)
{
	uint16_t sign = signbit(x) ? 0x8000 : 0;
	double a = fabs(x);
	if (a >= 65520.0) /* 65504 + half an ulp (16): rounds to infinity */
		return sign | 0x7c00;
	int lo = 0, hi = 0x7bff; /* largest h with value(h) <= a */
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (f16_value((uint16_t)mid) <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (lo == 0x7bff)
		return sign | 0x7bff;
	double d0 = a - f16_value((uint16_t)lo), d1 = f16_value((uint16_t)(lo + 1)) - a;
	int up = d1 < d0 || (d1 == d0 && (lo & 1));
	return (uint16_t)(sign | (lo + up));
}

static uint64_t rng = 88172645463325252u;
static uint32_t rand32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_dtype_sizes_and_names(void **state)
{
	(void)state;
	assert_int_equal(rn_dtype_size(RN_F32), 4);
	assert_int_equal(rn_dtype_size(RN_F64), 8);
	assert_int_equal(rn_dtype_size(RN_F16), 2);
	assert_int_equal(rn_dtype_size(RN_BF16), 2);
	assert_int_equal(rn_dtype_size(RN_BOOL), 1);
	assert_int_equal(rn_dtype_size(RN_U8), 1);
	assert_int_equal(rn_dtype_size(RN_I8), 1);
	assert_int_equal(rn_dtype_size(RN_U16), 2);
	assert_int_equal(rn_dtype_size(RN_I16), 2);
	assert_int_equal(rn_dtype_size(RN_I32), 4);
	assert_int_equal(rn_dtype_size(RN_U32), 4);
	assert_int_equal(rn_dtype_size(RN_I64), 8);
	assert_int_equal(rn_dtype_size(RN_U64), 8);
	assert_int_equal(rn_dtype_size(0), 0);
	assert_int_equal(rn_dtype_size(17), 0); /* float8: not supported */
	assert_string_equal(rn_dtype_name(RN_F32), "float32");
	assert_string_equal(rn_dtype_name(RN_I64), "int64");
	assert_string_equal(rn_dtype_name(RN_BOOL), "bool");
	assert_string_equal(rn_dtype_name(RN_BF16), "bfloat16");
	assert_string_equal(rn_dtype_name(RN_U8), "uint8");
	assert_string_equal(rn_dtype_name(99), "unknown");
}

static void test_f16_to_f32_every_pattern(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = rn_f16_to_f32((uint16_t)h);
		double want = f16_value((uint16_t)h);
		if (isnan(want)) {
			assert_true(isnan(f));
			continue;
		}
		if ((double)f != want || !signbit(f) != !signbit(want))
			fail_msg("f16 %04x -> %g, want %g", h, f, want);
	}
}

static void test_f32_to_f16_round_trips_every_pattern(void **state)
{
	(void)state;
	for (uint32_t h = 0; h < 65536; h++) {
		uint16_t back = rn_f32_to_f16(rn_f16_to_f32((uint16_t)h));
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) /* NaN stays a NaN */
			assert_true((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
		else if (back != h)
			fail_msg("f16 %04x round-trips to %04x", h, back);
	}
}

static void test_f32_to_f16_rounds_to_nearest_even(void **state)
{
	(void)state;
	/* hand-picked: ties between neighbours, subnormal edges, overflow */
	const float cases[] = {
		1.0f + 0x1p-11f,            /* tie: stays 1.0 (even) */
		1.0f + 3 * 0x1p-11f,        /* tie: rounds up to even */
		1.0f + 0x1p-11f + 0x1p-23f, /* just above the tie: up */
		0x1p-24f, 0x1p-25f, 0x1.000002p-25f, 3 * 0x1p-25f, 0x1p-26f,
		0x1.ff8p-15f,               /* rounds up into the normal range */
		65504.0f, 65519.996f, 65520.0f, 1e10f, -1e-10f, 0.0f, -0.0f,
		6.1e-5f, -3.14159f, 0.1f,
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint16_t got = rn_f32_to_f16(cases[i]), want = f16_nearest(cases[i]);
		if (got != want)
			fail_msg("%a -> %04x, want %04x", (double)cases[i], got, want);
	}
	/* random floats over the exponents float16 can reach, and beyond */
	for (int i = 0; i < 300000; i++) {
		uint32_t b = (rand32() & 0x80ffffffu) | ((uint32_t)(96 + rand32() % 50) << 23);
		float f = bits_f32(b);
		uint16_t got = rn_f32_to_f16(f), want = f16_nearest(f);
		if (got != want)
			fail_msg("%a -> %04x, want %04x", (double)f, got, want);
	}
	assert_int_equal(rn_f32_to_f16(INFINITY), 0x7c00);
	assert_int_equal(rn_f32_to_f16(-INFINITY), 0xfc00);
	uint16_t n = rn_f32_to_f16(NAN);
	assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff));
}

static void test_bf16_conversions(void **state)
{
	(void)state;
	assert_int_equal(rn_f32_to_bf16(1.0f), 0x3f80);
	assert_true(rn_bf16_to_f32(0x3f80) == 1.0f);
	assert_true(rn_bf16_to_f32(0xc040) == -3.0f);
	/* tie cases: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 */
	assert_int_equal(rn_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
	assert_int_equal(rn_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
	assert_int_equal(rn_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
	/* largest finite float rounds to infinity in bfloat16 */
	assert_int_equal(rn_f32_to_bf16(3.4028235e38f), 0x7f80);
	uint16_t n = rn_f32_to_bf16(NAN);
	assert_true(isnan(rn_bf16_to_f32(n)));
	for (int i = 0; i < 300000; i++) {
		uint32_t b = rand32() ^ (rand32() << 16);
		float f = bits_f32(b);
		if (isnan(f) || isinf(f))
			continue;
		uint32_t lo = b & 0xffff0000u, hi = lo + 0x10000u;
		/* rounding past the largest finite value: infinity stands for 2^128 */
		double vhi = (hi & 0x7fffffffu) == 0x7f800000u ? copysign(0x1p128, f)
								 : (double)bits_f32(hi);
		double d0 = fabs((double)f - (double)bits_f32(lo));
		double d1 = fabs(vhi - (double)f);
		uint32_t want = (d1 < d0 || (d1 == d0 && ((lo >> 16) & 1))) ? hi : lo;
		uint16_t got = rn_f32_to_bf16(f);
		if (got != (uint16_t)(want >> 16))
			fail_msg("%a -> %04x, want %04x", (double)f, got, (unsigned)(want >> 16));
		assert_true(f32_bits(rn_bf16_to_f32(got)) == ((uint32_t)got << 16));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtype_sizes_and_names),
		cmocka_unit_test(test_f16_to_f32_every_pattern),
		cmocka_unit_test(test_f32_to_f16_round_trips_every_pattern),
		cmocka_unit_test(test_f32_to_f16_rounds_to_nearest_even),
		cmocka_unit_test(test_bf16_conversions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
