/*
 * onnxruntime's com.microsoft quantized operators that its QOperator
 * ResNets use besides QLinearConv: QLinearAdd and
 * QLinearGlobalAveragePool (the contract: runtime.h). General forms, every
 * scale and zero point read at run time.
 */
#include "../core/internal.h"
#include "quant_internal.h"

void rn_qlinear_add(const rn_binary_params *p, const void *a, const float *a_scale, const void *a_zp,
		    const void *b, const float *b_scale, const void *b_zp, const float *y_scale,
		    const void *y_zp, void *y)
{
	int lo = 0, hi = 0, t = p->dtype;
	if (rn_qrange(t, &lo, &hi))
		return;
	int za = rn_qload(t, a_zp, 0), zb = rn_qload(t, b_zp, 0), zy = rn_qload(t, y_zp, 0);
	float sa = a_scale[0], sb = b_scale[0], sy = y_scale[0];
	int64_t idx[RN_MAX_RANK] = {0}, total = 1, ia = 0, ib = 0;
	for (int d = 0; d < p->rank; d++)
		total *= p->dims[d];
	for (int64_t i = 0; i < total; i++) {
		float v = ((float)(rn_qload(t, a, ia) - za) * sa + (float)(rn_qload(t, b, ib) - zb) * sb) / sy;
		rn_qstore(t, y, i, rn_qsaturate(v, zy, lo, hi));
		for (int d = p->rank - 1; d >= 0; d--) {
			ia += p->sa[d];
			ib += p->sb[d];
			if (++idx[d] < p->dims[d])
				break;
			ia -= p->sa[d] * p->dims[d];
			ib -= p->sb[d] * p->dims[d];
			idx[d] = 0;
		}
	}
}

void rn_qlinear_global_avg(int dtype, int64_t outer, int64_t inner, const void *x, const float *x_scale,
			   const void *x_zp, const float *y_scale, const void *y_zp, void *y)
{
	int lo = 0, hi = 0;
	if (rn_qrange(dtype, &lo, &hi))
		return;
	int zx = rn_qload(dtype, x_zp, 0), zy = rn_qload(dtype, y_zp, 0);
	double f = (double)x_scale[0] / y_scale[0];
	for (int64_t o = 0; o < outer; o++) {
		int64_t sum = 0;
		for (int64_t i = 0; i < inner; i++)
			sum += rn_qload(dtype, x, o * inner + i) - zx;
		double mean = inner ? (double)sum / (double)inner : 0.0;
		rn_qstore(dtype, y, o, rn_qsaturate((float)(mean * f), zy, lo, hi));
	}
}
