/*
 * Helpers the quantized kernels share: element access by type, and the one
 * definition of rounding a real value to a saturated integer.
 */
#ifndef RESNETC_QUANT_INTERNAL_H
#define RESNETC_QUANT_INTERNAL_H

#include "../core/internal.h"

/* The range of an 8-bit type; -1 for another type. */
static inline int rn_qrange(int dtype, int *lo, int *hi)
{
	if (dtype == RN_U8) {
		*lo = 0;
		*hi = 255;
		return 0;
	}
	if (dtype == RN_I8) {
		*lo = -128;
		*hi = 127;
		return 0;
	}
	return -1;
}

/* Element i of an RN_U8 / RN_I8 / RN_I32 array as int; 0 for NULL. */
static inline int rn_qload(int dtype, const void *v, int64_t i)
{
	if (!v)
		return 0;
	if (dtype == RN_U8)
		return ((const uint8_t *)v)[i];
	if (dtype == RN_I8)
		return ((const int8_t *)v)[i];
	return ((const int32_t *)v)[i];
}

static inline void rn_qstore(int dtype, void *v, int64_t i, int x)
{
	if (dtype == RN_U8)
		((uint8_t *)v)[i] = (uint8_t)x;
	else if (dtype == RN_I8)
		((int8_t *)v)[i] = (int8_t)x;
	else
		((int32_t *)v)[i] = x;
}

/* saturate(round_half_even(v) + zp) into [lo, hi]; NaN gives lo. The
 * clamp comes first (both bounds are integers, so the result is the
 * same), which keeps the conversion to int defined for any v. */
static inline int rn_qsaturate(float v, int zp, int lo, int hi)
{
	v = fminf(fmaxf(v, (float)(lo - zp)), (float)(hi - zp));
	return (int)nearbyintf(v) + zp;
}

#endif
