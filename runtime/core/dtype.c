/*
 * Element types: sizes, names, and the float16 / bfloat16 conversions.
 * Conversions round to nearest even, keep NaN a NaN (quiet), and handle
 * float16 subnormals exactly; they use only integer bit manipulation so
 * they give the same bits on every target.
 */
#include "internal.h"

size_t rn_dtype_size(int dtype)
{
	switch (dtype) {
	case RN_U8: case RN_I8: case RN_BOOL:
		return 1;
	case RN_U16: case RN_I16: case RN_F16: case RN_BF16:
		return 2;
	case RN_F32: case RN_I32: case RN_U32:
		return 4;
	case RN_I64: case RN_U64: case RN_F64:
		return 8;
	default:
		return 0;
	}
}

const char *rn_dtype_name(int dtype)
{
	switch (dtype) {
	case RN_F32: return "float32";
	case RN_U8: return "uint8";
	case RN_I8: return "int8";
	case RN_U16: return "uint16";
	case RN_I16: return "int16";
	case RN_I32: return "int32";
	case RN_I64: return "int64";
	case RN_BOOL: return "bool";
	case RN_F16: return "float16";
	case RN_F64: return "float64";
	case RN_U32: return "uint32";
	case RN_U64: return "uint64";
	case RN_BF16: return "bfloat16";
	default: return "unknown";
	}
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	rn_memcpy(&u, &f, sizeof u);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	rn_memcpy(&f, &u, sizeof f);
	return f;
}

/* v >> shift, rounded to nearest, ties to even; 0 < shift < 32. */
static uint32_t shift_rne(uint32_t v, int shift)
{
	uint32_t r = v >> shift;
	uint32_t rem = v & ((1u << shift) - 1);
	uint32_t half = 1u << (shift - 1);
	if (rem > half || (rem == half && (r & 1)))
		r++;
	return r;
}

float rn_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0) {
		/* zero or subnormal: mant * 2^-24, exact in float */
		float v = (float)mant * 5.9604644775390625e-8f;
		return bits_f32(f32_bits(v) | sign);
	}
	if (exp == 31)
		return bits_f32(sign | 0x7f800000u | (mant << 13));
	return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t rn_f32_to_f16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	x &= 0x7fffffffu;
	if (x > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
		return (uint16_t)(sign | 0x7e00 | ((x >> 13) & 0x3ff));
	if (x >= 0x477ff000u) /* >= 65520 rounds to infinity */
		return (uint16_t)(sign | 0x7c00);
	if (x >= 0x38800000u) /* normal in float16: rebias the exponent */
		return (uint16_t)(sign | shift_rne(x - (112u << 23), 13));
	if (x <= 0x33000000u) /* <= 2^-25: rounds to (signed) zero */
		return sign;
	/* subnormal in float16: mantissa in units of 2^-24 */
	uint32_t e = x >> 23;
	uint32_t m = (x & 0x7fffffu) | 0x800000u;
	return (uint16_t)(sign | shift_rne(m, (int)(126 - e)));
}

float rn_bf16_to_f32(uint16_t h)
{
	return bits_f32((uint32_t)h << 16);
}

uint16_t rn_f32_to_bf16(float f)
{
	uint32_t x = f32_bits(f);
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x40);
	return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}
