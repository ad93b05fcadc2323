/*
 * The store of an output tile of the float matrix products: alpha, bias,
 * beta * C and the activation, as rn_epilogue describes (internal.h).
 * Apart from gemm.c so that a fully connected layer (fc.c) builds without
 * the GEMM engine.
 */
#include "../core/internal.h"

void rn_epilogue_tile(const rn_epilogue *e, int mr, int nr, const float *acc, int ld,
		      int64_t row0, int64_t col0, float *y, int64_t ldy)
{
	float alpha = e->alpha, beta = e->beta;
	for (int i = 0; i < mr; i++) {
		const float *ar = acc + (int64_t)i * ld;
		float *yr = y + i * ldy;
		float bv = e->bias ? e->bias[row0 + i] : 0.0f;
		if (e->c) {
			/* c may be y itself: each element is read before it is written */
			const float *cr = e->c + (row0 + i) * e->c_sm + col0 * e->c_sn;
			int64_t sn = e->c_sn;
			if (e->bias)
				for (int j = 0; j < nr; j++)
					yr[j] = (alpha * ar[j] + bv) + beta * cr[j * sn];
			else
				for (int j = 0; j < nr; j++)
					yr[j] = alpha * ar[j] + beta * cr[j * sn];
		} else if (e->bias) {
			for (int j = 0; j < nr; j++)
				yr[j] = alpha * ar[j] + bv;
		} else {
			for (int j = 0; j < nr; j++)
				yr[j] = alpha * ar[j];
		}
		if (e->act != RN_ACT_NONE && e->act != RN_ACT_IDENTITY)
			rn_unary_f32(e->act, e->act_alpha, e->act_beta, (size_t)nr, yr, yr);
	}
}
