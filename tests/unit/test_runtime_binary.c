/*
 * rn_binary: every op on every element type over random broadcast shapes
 * of rank 0 to 4, against a reference that computes each output element
 * separately from its multi-index (no axis collapsing, no blocks) in a
 * wide type and narrows the result: integers wrap, float16/bfloat16 are
 * computed in float and rounded back. Also: the error returns, in-place
 * use, and hand-computed values for the integer corner cases.
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

static uint64_t rng = 2024;
static uint64_t rand64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static int irand(int n) { return (int)(rand64() % (uint64_t)n); }

static const int DTYPES[] = { RN_F32, RN_F64, RN_F16, RN_BF16, RN_U8, RN_I8, RN_U16, RN_I16,
			      RN_U32, RN_I32, RN_U64, RN_I64, RN_BOOL };
enum { NDTYPES = sizeof DTYPES / sizeof *DTYPES };

static int is_float(int t) { return t == RN_F32 || t == RN_F64 || t == RN_F16 || t == RN_BF16; }
static int is_signed(int t) { return t == RN_I8 || t == RN_I16 || t == RN_I32 || t == RN_I64; }

/* Element i of an array of type t, as double (float types). */
static double get_f(int t, const void *p, int64_t i)
{
	switch (t) {
	case RN_F32: return ((const float *)p)[i];
	case RN_F64: return ((const double *)p)[i];
	case RN_F16: return rn_f16_to_f32(((const uint16_t *)p)[i]);
	default: return rn_bf16_to_f32(((const uint16_t *)p)[i]);
	}
}

/* Element i of an integer array, sign- or zero-extended to 64 bits. */
static uint64_t get_i(int t, const void *p, int64_t i)
{
	switch (t) {
	case RN_U8: case RN_BOOL: return ((const uint8_t *)p)[i];
	case RN_I8: return (uint64_t)(int64_t)((const int8_t *)p)[i];
	case RN_U16: return ((const uint16_t *)p)[i];
	case RN_I16: return (uint64_t)(int64_t)((const int16_t *)p)[i];
	case RN_U32: return ((const uint32_t *)p)[i];
	case RN_I32: return (uint64_t)(int64_t)((const int32_t *)p)[i];
	default: return ((const uint64_t *)p)[i];
	}
}

/* The expected bytes of one result element. */
static void expect(int op, int t, const void *a, int64_t ia, const void *b, int64_t ib, void *out)
{
	size_t es = rn_dtype_size(t);
	if (is_float(t)) {
		double u = get_f(t, a, ia), v = get_f(t, b, ib), r;
		switch (op) {
		case RN_ADD: r = u + v; break;
		case RN_SUB: r = u - v; break;
		case RN_MUL: r = u * v; break;
		case RN_DIV: r = u / v; break;
		case RN_MAX: r = isnan(u) || isnan(v) ? NAN : fmax(u, v); break;
		case RN_MIN: r = isnan(u) || isnan(v) ? NAN : fmin(u, v); break;
		default: r = u < 0 ? u * v : u; break;
		}
		if (t == RN_F64) {
			memcpy(out, &r, 8);
		} else {
			/* float inputs: the double result rounded to float is the
			 * float result (double has more than 2 * 24 + 2 bits) */
			float f = (float)r;
			if (t == RN_F32) {
				memcpy(out, &f, 4);
			} else {
				uint16_t h = t == RN_F16 ? rn_f32_to_f16(f) : rn_f32_to_bf16(f);
				memcpy(out, &h, 2);
			}
		}
		return;
	}
	uint64_t u = get_i(t, a, ia), v = get_i(t, b, ib), r;
	switch (op) {
	case RN_ADD: r = u + v; break;
	case RN_SUB: r = u - v; break;
	case RN_MUL: r = u * v; break;
	case RN_DIV:
		if (is_signed(t))
			r = (int64_t)v == -1 ? 0 - u : (uint64_t)((int64_t)u / (int64_t)v);
		else
			r = u / v;
		break;
	case RN_MAX: r = is_signed(t) ? ((int64_t)u > (int64_t)v ? u : v) : (u > v ? u : v); break;
	default: r = is_signed(t) ? ((int64_t)u < (int64_t)v ? u : v) : (u < v ? u : v); break;
	}
	if (t == RN_BOOL)
		r = op == RN_MAX ? (u | v) : (u & v);
	switch (es) {
	case 1: { uint8_t v = (uint8_t)r; memcpy(out, &v, 1); break; }
	case 2: { uint16_t v = (uint16_t)r; memcpy(out, &v, 2); break; }
	case 4: { uint32_t v = (uint32_t)r; memcpy(out, &v, 4); break; }
	default: memcpy(out, &r, 8); break;
	}
}

static void random_fill(int t, void *p, int64_t n, int no_zero)
{
	size_t es = rn_dtype_size(t);
	for (int64_t i = 0; i < n; i++) {
		char *e = (char *)p + (size_t)i * es;
		if (is_float(t)) {
			float f = (float)((int)(rand64() % 2001) - 1000) / 250.0f;
			if (no_zero && f == 0.0f)
				f = 1.0f;
			if (t == RN_F32) memcpy(e, &f, 4);
			else if (t == RN_F64) { double d = f * 1.0000001; memcpy(e, &d, 8); }
			else { uint16_t h = t == RN_F16 ? rn_f32_to_f16(f) : rn_f32_to_bf16(f); memcpy(e, &h, 2); }
		} else if (t == RN_BOOL) {
			*e = (char)(rand64() & 1);
		} else {
			uint64_t v = rand64();
			if (rand64() % 8 == 0) /* small values and the edges of the range */
				v = (uint64_t)(int64_t)(irand(5) - 2);
			if (no_zero && (v & (es == 8 ? ~0ull : ((1ull << (es * 8)) - 1))) == 0)
				v = 3;
			memcpy(e, &v, es);
		}
	}
}

static int supported(int op, int t)
{
	if (t == RN_BOOL)
		return op == RN_MAX || op == RN_MIN;
	return is_float(t) || op != RN_PRELU;
}

static void check_random(int op, int t)
{
	rn_binary_params p = { .op = op, .dtype = t, .rank = irand(5) };
	int64_t ad[RN_MAX_RANK], bd[RN_MAX_RANK], na = 1, nb = 1, ny = 1;
	for (int i = 0; i < p.rank; i++) {
		p.dims[i] = 1 + irand(5);
		ad[i] = irand(3) == 0 ? 1 : p.dims[i];
		bd[i] = irand(3) == 0 ? 1 : p.dims[i];
		na *= ad[i];
		nb *= bd[i];
		ny *= p.dims[i];
	}
	int64_t s_a = 1, s_b = 1;
	for (int i = p.rank - 1; i >= 0; i--) {
		p.sa[i] = ad[i] == 1 ? 0 : s_a;
		p.sb[i] = bd[i] == 1 ? 0 : s_b;
		s_a *= ad[i];
		s_b *= bd[i];
	}
	size_t es = rn_dtype_size(t);
	char *a = malloc((size_t)na * es), *b = malloc((size_t)nb * es);
	char *y = malloc((size_t)ny * es + 16), *want = malloc(es);
	random_fill(t, a, na, 0);
	random_fill(t, b, nb, op == RN_DIV && !is_float(t));
	memset(y + (size_t)ny * es, 0x5a, 16);
	assert_int_equal(rn_binary(&p, a, b, y), RN_OK);
	for (int64_t e = 0; e < ny; e++) {
		int64_t rem = e, ia = 0, ib = 0;
		for (int i = p.rank - 1; i >= 0; i--) {
			int64_t c = rem % p.dims[i];
			rem /= p.dims[i];
			ia += c * p.sa[i];
			ib += c * p.sb[i];
		}
		expect(op, t, a, ia, b, ib, want);
		const char *got = y + (size_t)e * es;
		int same = memcmp(got, want, es) == 0;
		if (!same && is_float(t)) /* any NaN matches any NaN */
			same = isnan(get_f(t, got, 0)) && isnan(get_f(t, want, 0));
		if (!same)
			fail_msg("op %d dtype %s rank %d element %lld differs", op,
				 rn_dtype_name(t), p.rank, (long long)e);
	}
	for (int i = 0; i < 16; i++)
		assert_int_equal((unsigned char)y[(size_t)ny * es + i], 0x5a);
	free(a); free(b); free(y); free(want);
}

static void test_binary_every_op_and_dtype_random_broadcast(void **state)
{
	(void)state;
	for (int d = 0; d < NDTYPES; d++)
		for (int op = RN_ADD; op <= RN_PRELU; op++)
			if (supported(op, DTYPES[d]))
				for (int r = 0; r < 25; r++)
					check_random(op, DTYPES[d]);
}

static void test_binary_long_rows_and_bias_broadcast(void **state)
{
	(void)state;
	/* [2][64][7][7] + [1][64][1][1]: the per-channel form, rows past a block */
	enum { C = 64, S = 49 };
	static float x[2 * C * S], bias[C], y[2 * C * S];
	for (int i = 0; i < 2 * C * S; i++) x[i] = (float)i * 0.25f;
	for (int i = 0; i < C; i++) bias[i] = (float)i;
	rn_binary_params p = { .op = RN_ADD, .dtype = RN_F32, .rank = 4, .dims = { 2, C, 7, 7 },
			       .sa = { C * S, S, 7, 1 }, .sb = { 0, 1, 0, 0 } };
	assert_int_equal(rn_binary(&p, x, bias, y), RN_OK);
	for (int i = 0; i < 2 * C * S; i++)
		assert_true(y[i] == x[i] + bias[i / S % C]);
	/* in place: y is a (not broadcast), b broadcast */
	assert_int_equal(rn_binary(&p, x, bias, x), RN_OK);
	assert_memory_equal(x, y, sizeof y);
	/* in place on b: y is b, a is a scalar */
	float s = 2.0f;
	rn_binary_params q = { .op = RN_SUB, .dtype = RN_F32, .rank = 1, .dims = { 2 * C * S },
			       .sa = { 0 }, .sb = { 1 } };
	assert_int_equal(rn_binary(&q, &s, y, y), RN_OK);
	for (int i = 0; i < 2 * C * S; i++)
		assert_true(y[i] == 2.0f - x[i]);
}

static void test_binary_integer_corner_cases(void **state)
{
	(void)state;
	rn_binary_params p = { .op = RN_ADD, .dtype = RN_I8, .rank = 1, .dims = { 2 },
			       .sa = { 1 }, .sb = { 1 } };
	int8_t a8[2] = { 127, -128 }, b8[2] = { 1, -1 }, y8[2];
	assert_int_equal(rn_binary(&p, a8, b8, y8), RN_OK);
	assert_true(y8[0] == -128 && y8[1] == 127); /* wraps */
	p.dtype = RN_U8;
	uint8_t au[2] = { 200, 3 }, bu[2] = { 100, 5 }, yu[2];
	assert_int_equal(rn_binary(&p, au, bu, yu), RN_OK);
	assert_true(yu[0] == 44 && yu[1] == 8);
	p.op = RN_SUB;
	assert_int_equal(rn_binary(&p, au, bu, yu), RN_OK);
	assert_true(yu[0] == 100 && yu[1] == 254);
	p.op = RN_DIV;
	p.dtype = RN_I32;
	int32_t a32[2] = { -7, INT32_MIN }, b32[2] = { 2, -1 }, y32[2];
	assert_int_equal(rn_binary(&p, a32, b32, y32), RN_OK);
	assert_true(y32[0] == -3 && y32[1] == INT32_MIN); /* truncation; wrap */
	b32[0] = 0;
	assert_int_equal(rn_binary(&p, a32, b32, y32), RN_E_DIVZERO);
	p.dtype = RN_I64;
	int64_t a64[2] = { 7, -9 }, b64[2] = { -2, 4 }, y64[2];
	assert_int_equal(rn_binary(&p, a64, b64, y64), RN_OK);
	assert_true(y64[0] == -3 && y64[1] == -2);
	p.op = RN_MUL;
	p.dtype = RN_I16;
	int16_t a16[2] = { 300, -2 }, b16[2] = { 300, 16384 }, y16[2];
	assert_int_equal(rn_binary(&p, a16, b16, y16), RN_OK);
	assert_true(y16[0] == (int16_t)(90000 - 65536) && y16[1] == INT16_MIN);
}

static void test_binary_float_semantics(void **state)
{
	(void)state;
	rn_binary_params p = { .op = RN_MAX, .dtype = RN_F32, .rank = 1, .dims = { 3 },
			       .sa = { 1 }, .sb = { 1 } };
	float a[3] = { NAN, 1.0f, -2.0f }, b[3] = { 0.0f, NAN, 0.5f }, y[3];
	assert_int_equal(rn_binary(&p, a, b, y), RN_OK);
	assert_true(isnan(y[0]) && isnan(y[1]) && y[2] == 0.5f);
	p.op = RN_PRELU;
	assert_int_equal(rn_binary(&p, a, b, y), RN_OK);
	assert_true(y[2] == -1.0f);
	p.op = RN_DIV;
	float one = 1.0f, zero = 0.0f;
	p.dims[0] = 1;
	assert_int_equal(rn_binary(&p, &one, &zero, y), RN_OK);
	assert_true(isinf(y[0]));
}

static void test_binary_unsupported_combinations(void **state)
{
	(void)state;
	rn_binary_params p = { .op = RN_PRELU, .dtype = RN_I32, .rank = 1, .dims = { 1 },
			       .sa = { 1 }, .sb = { 1 } };
	int32_t a = 1, b = 2, y = 0;
	assert_int_equal(rn_binary(&p, &a, &b, &y), RN_E_UNSUPPORTED);
	p.op = RN_ADD;
	p.dtype = RN_BOOL;
	assert_int_equal(rn_binary(&p, &a, &b, &y), RN_E_UNSUPPORTED);
	p.dtype = 17; /* float8 */
	assert_int_equal(rn_binary(&p, &a, &b, &y), RN_E_UNSUPPORTED);
	p.dtype = RN_F32;
	p.op = 42;
	assert_int_equal(rn_binary(&p, &a, &b, &y), RN_E_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_every_op_and_dtype_random_broadcast),
		cmocka_unit_test(test_binary_long_rows_and_bias_broadcast),
		cmocka_unit_test(test_binary_integer_corner_cases),
		cmocka_unit_test(test_binary_float_semantics),
		cmocka_unit_test(test_binary_unsupported_combinations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
