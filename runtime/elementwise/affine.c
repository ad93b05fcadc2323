/*
 * Per-channel affine maps over [n][c][spatial]: the folded form of
 * BatchNormalization (scale and shift known at compile time) and the
 * inference formula with statistics that arrive at run time.
 */
#include "../core/internal.h"

void rn_scale_shift_f32(int64_t n, int64_t c, int64_t spatial, const float *x,
			const float *scale, const float *shift, float *y)
{
	for (int64_t b = 0; b < n; b++) {
		for (int64_t ch = 0; ch < c; ch++) {
			const float *xr = x + (b * c + ch) * spatial;
			float *yr = y + (b * c + ch) * spatial;
			float sc = scale[ch], sh = shift[ch];
			for (int64_t i = 0; i < spatial; i++)
				yr[i] = xr[i] * sc + sh;
		}
	}
}

void rn_batchnorm_f32(int64_t n, int64_t c, int64_t spatial, float eps,
		      const float *x, const float *scale, const float *bias,
		      const float *mean, const float *var, float *y)
{
	for (int64_t b = 0; b < n; b++) {
		for (int64_t ch = 0; ch < c; ch++) {
			const float *xr = x + (b * c + ch) * spatial;
			float *yr = y + (b * c + ch) * spatial;
			/* one rounding for the per-channel factor, computed in double */
			float k = (float)((double)scale[ch] / sqrt((double)var[ch] + (double)eps));
			float m = mean[ch], sh = bias[ch];
			for (int64_t i = 0; i < spatial; i++)
				yr[i] = (xr[i] - m) * k + sh;
		}
	}
}
