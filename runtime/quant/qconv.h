/*
 * What the int8 convolutions share (qconv_direct.c, qconv_packed.c); not
 * part of the API. The arithmetic of one output, exactly as runtime.h
 * defines rn_qconv2d_*: every kernel, scalar or SIMD, computes these
 * operations in this order, so all give the same bytes.
 */
#ifndef RESNETC_QCONV_H
#define RESNETC_QCONV_H

#include "../core/internal.h"

/* The int32 accumulator of the contract: v modulo 2^32, as a two's
 * complement value (an exact sum and bias never overflow in practice; if
 * they did, every kernel would wrap the same way, as vector adds do). */
static inline int32_t rn_q_wrap32(int64_t v)
{
	uint32_t u = (uint32_t)v;
	return u <= 0x7fffffffu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7fffffff - 1;
}

/* The range of RN_U8 / RN_I8 values; 0 for another type. */
static inline int rn_q_range(int dtype, int *lo, int *hi)
{
	if (dtype == RN_U8) {
		*lo = 0;
		*hi = 255;
		return 1;
	}
	if (dtype == RN_I8) {
		*lo = -128;
		*hi = 127;
		return 1;
	}
	return 0;
}

static inline int rn_q_load(int dtype, const void *base, int64_t i)
{
	return dtype == RN_I8 ? (int)((const int8_t *)base)[i] : (int)((const uint8_t *)base)[i];
}

/* The constants of the epilogue, taken from the parameters once. */
typedef struct {
	float lo, hi;       /* lo - y_zp, hi - y_zp */
	float r_mult;
	int y_zp, r_zp;
	int y_signed, r_signed;
	int has_res;
} rn_q_epilogue;

static inline rn_q_epilogue rn_q_epilogue_of(const rn_qconv2d_params *p, const void *residual)
{
	rn_q_epilogue e = {
		.lo = (float)(p->lo - p->y_zp), .hi = (float)(p->hi - p->y_zp), .r_mult = p->r_mult,
		.y_zp = p->y_zp, .r_zp = p->r_zp, .y_signed = p->y_dtype == RN_I8,
		.r_signed = p->r_dtype == RN_I8, .has_res = p->has_residual && residual != NULL,
	};
	return e;
}

/* One output from its accumulator (bias included) and residual value r
 * (ignored without a residual). The clamp is written as x86's max/min
 * (the second operand when either is NaN), so a NaN (from an infinite or
 * NaN mult) gives lo in every kernel. */
static inline int rn_q_requant(const rn_q_epilogue *e, int32_t acc, float mult, int r)
{
	float v = (float)acc * mult;
	if (e->has_res)
		v = fmaf((float)(r - e->r_zp), e->r_mult, v);
	v = v > e->lo ? v : e->lo;
	v = v < e->hi ? v : e->hi;
	return (int)nearbyintf(v) + e->y_zp;
}

#endif
