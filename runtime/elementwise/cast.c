/*
 * Cast between float32, float64, float16, bfloat16, every integer type
 * and bool.
 *
 * Elements go through a block of either doubles (float sources: exact)
 * or 64-bit integer bit patterns (integer sources, sign- or zero-
 * extended). From there: float to integer truncates toward zero,
 * saturates at the type's range and maps NaN to 0; float to bool is
 * x != 0; integer to integer wraps modulo 2^bits, as numpy's astype does;
 * narrowing to float16 / bfloat16 rounds to nearest even once, not twice
 * (see to_f32_sticky).
 */
#include "../core/internal.h"

enum { BLK = 64 };

static int is_float(int t)
{
	return t == RN_F32 || t == RN_F64 || t == RN_F16 || t == RN_BF16;
}

static int is_signed_int(int t)
{
	return t == RN_I8 || t == RN_I16 || t == RN_I32 || t == RN_I64;
}

/* Reads n elements of type t into f (float types) or u (the others). */
static void load(int t, const char *x, int n, double *f, uint64_t *u)
{
	for (int i = 0; i < n; i++) {
		switch (t) {
		case RN_F32: { float v; rn_memcpy(&v, x + 4 * i, 4); f[i] = v; break; }
		case RN_F64: rn_memcpy(&f[i], x + 8 * i, 8); break;
		case RN_F16: { uint16_t h; rn_memcpy(&h, x + 2 * i, 2); f[i] = rn_f16_to_f32(h); break; }
		case RN_BF16: { uint16_t h; rn_memcpy(&h, x + 2 * i, 2); f[i] = rn_bf16_to_f32(h); break; }
		case RN_U8: case RN_BOOL: u[i] = (uint8_t)x[i]; break;
		case RN_I8: u[i] = (uint64_t)(int64_t)(int8_t)x[i]; break;
		case RN_U16: { uint16_t v; rn_memcpy(&v, x + 2 * i, 2); u[i] = v; break; }
		case RN_I16: { int16_t v; rn_memcpy(&v, x + 2 * i, 2); u[i] = (uint64_t)(int64_t)v; break; }
		case RN_U32: { uint32_t v; rn_memcpy(&v, x + 4 * i, 4); u[i] = v; break; }
		case RN_I32: { int32_t v; rn_memcpy(&v, x + 4 * i, 4); u[i] = (uint64_t)(int64_t)v; break; }
		default: rn_memcpy(&u[i], x + 8 * i, 8); break; /* RN_I64, RN_U64 */
		}
	}
}

/* d rounded to float toward zero, with the lowest mantissa bit set if that
 * was inexact ("round to odd"). Rounding this to float16 or bfloat16 (at
 * least two bits narrower) gives the correctly rounded result of d. */
static float to_f32_sticky(double d)
{
	float f = (float)d;
	if ((double)f == d || f != f || f - f != 0.0f)
		return f; /* exact, NaN, or infinite */
	uint32_t b;
	rn_memcpy(&b, &f, 4);
	if (fabs((double)f) > fabs(d))
		b--; /* rounded away from zero: step back toward zero */
	b |= 1;
	rn_memcpy(&f, &b, 4);
	return f;
}

/* Truncates d toward zero into [lo, hi]; NaN gives 0. lo and hi are the
 * type's limits as doubles, hi rounded up to a power of two (exclusive). */
static int64_t sat_signed(double d, double lo, double hi_excl, int64_t min, int64_t max)
{
	if (d != d)
		return 0;
	if (d <= lo)
		return min;
	if (d >= hi_excl)
		return max;
	return (int64_t)d;
}

static uint64_t sat_unsigned(double d, double hi_excl, uint64_t max)
{
	if (d != d || d <= 0.0)
		return 0;
	if (d >= hi_excl)
		return max;
	return (uint64_t)d;
}

/* Integer-valued source element as a double. */
static double int_to_double(uint64_t u, int signed_src)
{
	return signed_src ? (double)(int64_t)u : (double)u;
}

static void store_float(int t, const double *f, int n, char *y)
{
	for (int i = 0; i < n; i++) {
		double d = f[i];
		switch (t) {
		case RN_F32: { float v = (float)d; rn_memcpy(y + 4 * i, &v, 4); break; }
		case RN_F64: rn_memcpy(y + 8 * i, &d, 8); break;
		case RN_F16: { uint16_t h = rn_f32_to_f16(to_f32_sticky(d)); rn_memcpy(y + 2 * i, &h, 2); break; }
		case RN_BF16: { uint16_t h = rn_f32_to_bf16(to_f32_sticky(d)); rn_memcpy(y + 2 * i, &h, 2); break; }
		case RN_BOOL: y[i] = d != 0.0; break;
		case RN_U8: y[i] = (char)(uint8_t)sat_unsigned(d, 256.0, UINT8_MAX); break;
		case RN_I8: y[i] = (char)(int8_t)sat_signed(d, -128.0, 128.0, INT8_MIN, INT8_MAX); break;
		case RN_U16: { uint16_t v = (uint16_t)sat_unsigned(d, 65536.0, UINT16_MAX); rn_memcpy(y + 2 * i, &v, 2); break; }
		case RN_I16: { int16_t v = (int16_t)sat_signed(d, -32768.0, 32768.0, INT16_MIN, INT16_MAX); rn_memcpy(y + 2 * i, &v, 2); break; }
		case RN_U32: { uint32_t v = (uint32_t)sat_unsigned(d, 4294967296.0, UINT32_MAX); rn_memcpy(y + 4 * i, &v, 4); break; }
		case RN_I32: { int32_t v = (int32_t)sat_signed(d, -2147483648.0, 2147483648.0, INT32_MIN, INT32_MAX); rn_memcpy(y + 4 * i, &v, 4); break; }
		case RN_U64: { uint64_t v = sat_unsigned(d, 18446744073709551616.0, UINT64_MAX); rn_memcpy(y + 8 * i, &v, 8); break; }
		default: { int64_t v = sat_signed(d, -9223372036854775808.0, 9223372036854775808.0, INT64_MIN, INT64_MAX); rn_memcpy(y + 8 * i, &v, 8); break; }
		}
	}
}

static void store_int(int t, const uint64_t *u, int signed_src, int n, char *y)
{
	for (int i = 0; i < n; i++) {
		uint64_t v = u[i];
		switch (t) {
		case RN_F32: {
			/* directly from the integer: one rounding, not two */
			float f = signed_src ? (float)(int64_t)v : (float)v;
			rn_memcpy(y + 4 * i, &f, 4);
			break;
		}
		case RN_F64: { double d = int_to_double(v, signed_src); rn_memcpy(y + 8 * i, &d, 8); break; }
		case RN_F16: case RN_BF16: {
			double d = int_to_double(v, signed_src);
			float f = to_f32_sticky(d);
			uint16_t h = t == RN_F16 ? rn_f32_to_f16(f) : rn_f32_to_bf16(f);
			rn_memcpy(y + 2 * i, &h, 2);
			break;
		}
		case RN_BOOL: y[i] = v != 0; break;
		case RN_U8: case RN_I8: y[i] = (char)(uint8_t)v; break;
		case RN_U16: case RN_I16: { uint16_t w = (uint16_t)v; rn_memcpy(y + 2 * i, &w, 2); break; }
		case RN_U32: case RN_I32: { uint32_t w = (uint32_t)v; rn_memcpy(y + 4 * i, &w, 4); break; }
		default: rn_memcpy(y + 8 * i, &v, 8); break;
		}
	}
}

int rn_cast(int from, int to, size_t n, const void *x, void *y)
{
	size_t fs = rn_dtype_size(from), ts = rn_dtype_size(to);
	if (fs == 0 || ts == 0)
		return RN_E_UNSUPPORTED;
	if (from == to) {
		rn_memmove(y, x, n * fs);
		return 0;
	}
	double f[BLK];
	uint64_t u[BLK];
	int src_float = is_float(from), src_signed = is_signed_int(from);
	for (size_t i = 0; i < n; i += BLK) {
		int m = n - i < BLK ? (int)(n - i) : BLK;
		load(from, (const char *)x + i * fs, m, f, u);
		if (src_float)
			store_float(to, f, m, (char *)y + i * ts);
		else
			store_int(to, u, src_signed, m, (char *)y + i * ts);
	}
	return 0;
}
