/*
 * Softmax and LogSoftmax over the middle axis of [outer][len][inner].
 * Numerically stable: the maximum along the axis is subtracted before
 * exp, and sums accumulate in double. Inner positions are processed in
 * blocks of a fixed-size stack array, so every pass over the axis reads
 * contiguous memory. y may be x: every pass reads an element before it
 * writes it, and LogSoftmax never needs x after its output is written.
 */
#include "../core/internal.h"

enum { BLOCK = 256 };

void rn_softmax_f32(int64_t outer, int64_t len, int64_t inner, int is_log, const float *x,
		    float *y)
{
	float mx[BLOCK];
	double sum[BLOCK];
	for (int64_t o = 0; o < outer; o++) {
		const float *xo = x + o * len * inner;
		float *yo = y + o * len * inner;
		for (int64_t i0 = 0; i0 < inner; i0 += BLOCK) {
			int nb = inner - i0 < BLOCK ? (int)(inner - i0) : BLOCK;
			for (int i = 0; i < nb; i++) {
				mx[i] = -INFINITY;
				sum[i] = 0.0;
			}
			for (int64_t l = 0; l < len; l++) {
				const float *xr = xo + l * inner + i0;
				for (int i = 0; i < nb; i++)
					mx[i] = xr[i] > mx[i] || xr[i] != xr[i] ? xr[i] : mx[i];
			}
			/* all -inf: exp(x - max) would be NaN; treat the max as 0 */
			for (int i = 0; i < nb; i++)
				if (mx[i] == -INFINITY)
					mx[i] = 0.0f;
			for (int64_t l = 0; l < len; l++) {
				const float *xr = xo + l * inner + i0;
				float *yr = yo + l * inner + i0;
				for (int i = 0; i < nb; i++) {
					float e = expf(xr[i] - mx[i]);
					sum[i] += e;
					if (!is_log)
						yr[i] = e;
				}
			}
			if (is_log)
				for (int i = 0; i < nb; i++)
					sum[i] = log(sum[i]);
			for (int64_t l = 0; l < len; l++) {
				const float *xr = xo + l * inner + i0;
				float *yr = yo + l * inner + i0;
				if (is_log)
					for (int i = 0; i < nb; i++)
						yr[i] = (float)((double)(xr[i] - mx[i]) - sum[i]);
				else
					for (int i = 0; i < nb; i++)
						yr[i] = (float)((double)yr[i] / sum[i]);
			}
		}
	}
}
