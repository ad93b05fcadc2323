/*
 * rn_qconv2d_direct: the int8 convolution of runtime.h computed one output
 * at a time from OIHW weights, straight from its definition. Any group
 * (w is [m][c / group][kh][kw]); the packed kernels are tested against it.
 */
#include "qconv.h"

void rn_qconv2d_direct(const rn_qconv2d_params *p, const void *x, const int8_t *w,
		       const int32_t *bias, const float *mult, const void *residual, void *y)
{
	const rn_conv2d_params *cp = &p->conv;
	const rn_q_epilogue e = rn_q_epilogue_of(p, residual);
	const int cg = cp->c / cp->group, mg = cp->m / cp->group;
	const int64_t hw = (int64_t)cp->h * cp->w, ohw = (int64_t)cp->oh * cp->ow;
	const int64_t wk = (int64_t)cg * cp->kh * cp->kw;
	for (int n = 0; n < cp->n; n++) {
		for (int m = 0; m < cp->m; m++) {
			const int g = m / mg;
			const int8_t *wm = w + m * wk;
			const int64_t out0 = ((int64_t)n * cp->m + m) * ohw;
			for (int oy = 0; oy < cp->oh; oy++) {
				for (int ox = 0; ox < cp->ow; ox++) {
					int64_t acc = 0;
					for (int ci = 0; ci < cg; ci++) {
						const int64_t plane = ((int64_t)n * cp->c + (int64_t)g * cg + ci) * hw;
						for (int ky = 0; ky < cp->kh; ky++) {
							const int iy = oy * cp->sh + ky * cp->dh - cp->pt;
							if (iy < 0 || iy >= cp->h)
								continue;
							for (int kx = 0; kx < cp->kw; kx++) {
								const int ix = ox * cp->sw + kx * cp->dw - cp->pl;
								if (ix < 0 || ix >= cp->w)
									continue;
								int xv = rn_q_load(p->x_dtype, x, plane + (int64_t)iy * cp->w + ix);
								acc += (int64_t)(xv - p->x_zp) *
								       wm[((int64_t)ci * cp->kh + ky) * cp->kw + kx];
							}
						}
					}
					if (bias)
						acc += bias[m];
					const int64_t o = out0 + (int64_t)oy * cp->ow + ox;
					int r = e.has_res ? rn_q_load(p->r_dtype, residual, o) : 0;
					int v = rn_q_requant(&e, rn_q_wrap32(acc), mult[m], r);
					if (e.y_signed)
						((int8_t *)y)[o] = (int8_t)v;
					else
						((uint8_t *)y)[o] = (uint8_t)v;
				}
			}
		}
	}
}
