/*
 * Elementwise activations (Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid,
 * HardSwish, Identity). The switch is hoisted out of the loop so each
 * case is a plain loop the compiler can vectorize; the per-element
 * definition is rn_act_f32 in internal.h, shared with fused epilogues.
 */
#include "internal.h"

#include <string.h>

#define ACT_LOOP(ACT) \
	for (size_t i = 0; i < n; i++) \
		y[i] = rn_act_f32((ACT), alpha, beta, x[i])

void rn_unary_f32(int act, float alpha, float beta, size_t n, const float *x, float *y)
{
	switch (act) {
	case RN_ACT_RELU: ACT_LOOP(RN_ACT_RELU); break;
	case RN_ACT_LEAKY_RELU: ACT_LOOP(RN_ACT_LEAKY_RELU); break;
	case RN_ACT_CLIP: ACT_LOOP(RN_ACT_CLIP); break;
	case RN_ACT_SIGMOID: ACT_LOOP(RN_ACT_SIGMOID); break;
	case RN_ACT_HARD_SIGMOID: ACT_LOOP(RN_ACT_HARD_SIGMOID); break;
	case RN_ACT_HARD_SWISH: ACT_LOOP(RN_ACT_HARD_SWISH); break;
	default:
		if (x != y)
			memmove(y, x, n * sizeof *x);
		break;
	}
}
