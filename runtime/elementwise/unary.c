/*
 * Elementwise activations (Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid,
 * HardSwish, Identity); the per-element definition is rn_act_f32 in
 * internal.h, shared with the fused epilogues.
 *
 * Work goes in blocks of BLK elements copied through a local array: the
 * loop over a block has a constant trip count and cannot alias, so GCC
 * vectorizes it even at -O2 (which neither peels for unknown counts nor
 * adds runtime alias checks), and x == y stays correct. The switch on
 * the activation is outside the element loop.
 */
#include "../core/internal.h"

enum { BLK = 64 };

#define ACT_LOOP(ACT) \
	for (int i = 0; i < n; i++) \
		t[i] = rn_act_f32((ACT), alpha, beta, t[i])

static RN_INLINE void act_block(int act, float alpha, float beta, int n, float *t)
{
	switch (act) {
	case RN_ACT_RELU: ACT_LOOP(RN_ACT_RELU); break;
	case RN_ACT_LEAKY_RELU: ACT_LOOP(RN_ACT_LEAKY_RELU); break;
	case RN_ACT_CLIP: ACT_LOOP(RN_ACT_CLIP); break;
	case RN_ACT_SIGMOID: ACT_LOOP(RN_ACT_SIGMOID); break;
	case RN_ACT_HARD_SIGMOID: ACT_LOOP(RN_ACT_HARD_SIGMOID); break;
	case RN_ACT_HARD_SWISH: ACT_LOOP(RN_ACT_HARD_SWISH); break;
	default: break;
	}
}

#undef ACT_LOOP

void rn_unary_f32(int act, float alpha, float beta, size_t n, const float *x, float *y)
{
	if (act == RN_ACT_NONE || act == RN_ACT_IDENTITY) {
		if (x != y)
			rn_memmove(y, x, n * sizeof *x);
		return;
	}
	float t[BLK];
	for (size_t i = 0; i < n; i += BLK) {
		int m = n - i < BLK ? (int)(n - i) : BLK;
		rn_memcpy(t, x + i, (size_t)m * sizeof *t);
		if (m == BLK)
			act_block(act, alpha, beta, BLK, t);
		else
			act_block(act, alpha, beta, m, t);
		rn_memcpy(y + i, t, (size_t)m * sizeof *t);
	}
}
