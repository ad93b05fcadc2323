/*
 * RN_CONV_DEPTHWISE: group == c == m, any kernel size, stride, dilation and
 * padding. Each output channel is one input channel filtered by its own
 * kh x kw taps: a row of outputs accumulates tap by tap in a stack buffer
 * (the inner loop runs over adjacent outputs, so compilers vectorize it at
 * stride 1), then goes through the fused epilogue. Threads split channels.
 */
#include "conv_packed.h"

enum { ROW = 256 }; /* outputs per accumulator row */

int rn_conv_depthwise_supports(const rn_conv2d_params *p)
{
	return p->group == p->c && p->m == p->c;
}

size_t rn_conv_depthwise_packed_floats(const rn_conv2d_params *p)
{
	return (size_t)p->c * (size_t)(p->kh * p->kw + 1);
}

void rn_conv_depthwise_pack(const rn_conv2d_params *p, const float *w, const float *bias,
			    float *packed)
{
	size_t taps = (size_t)p->c * (size_t)(p->kh * p->kw);
	for (size_t i = 0; i < taps; i++)
		packed[i] = w[i];
	for (int i = 0; i < p->c; i++)
		packed[taps + (size_t)i] = bias ? bias[i] : 0.0f;
}

typedef struct {
	const rn_conv2d_params *p;
	const float *x, *w, *bias, *res;
	float *y;
} dw_job;

static void dw_channel(void *ctx, int64_t t, int thread)
{
	const dw_job *J = ctx;
	const rn_conv2d_params *p = J->p;
	int64_t hw = (int64_t)p->h * p->w, ohw = (int64_t)p->oh * p->ow;
	int64_t img = t / p->c, ch = t % p->c;
	const float *x = J->x + (img * p->c + ch) * hw;
	const float *w = J->w + ch * p->kh * p->kw;
	float *y = J->y + (img * p->c + ch) * ohw;
	const float *res = J->res ? J->res + (img * p->c + ch) * ohw : NULL;
	float b = J->bias[ch];
	float acc[ROW];
	(void)thread;
	for (int oy = 0; oy < p->oh; oy++) {
		for (int ox0 = 0; ox0 < p->ow; ox0 += ROW) {
			int nx = p->ow - ox0 < ROW ? p->ow - ox0 : ROW;
			for (int j = 0; j < nx; j++)
				acc[j] = b;
			for (int ky = 0; ky < p->kh; ky++) {
				int iy = oy * p->sh - p->pt + ky * p->dh;
				if (iy < 0 || iy >= p->h)
					continue;
				const float *xr = x + (int64_t)iy * p->w;
				for (int kx = 0; kx < p->kw; kx++) {
					float wv = w[ky * p->kw + kx];
					/* outputs j whose column ix = (ox0 + j) * sw - pl + kx * dw is inside */
					int ix0 = ox0 * p->sw - p->pl + kx * p->dw;
					int lo = ix0 >= 0 ? 0 : (-ix0 + p->sw - 1) / p->sw;
					int hi = p->w - 1 - ix0 < 0 ? 0 : (p->w - 1 - ix0) / p->sw + 1;
					hi = hi < nx ? hi : nx;
					const float *xs = xr + ix0;
					if (p->sw == 1)
						for (int j = lo; j < hi; j++)
							acc[j] += wv * xs[j];
					else
						for (int j = lo; j < hi; j++)
							acc[j] += wv * xs[(int64_t)j * p->sw];
				}
			}
			int64_t o = (int64_t)oy * p->ow + ox0;
			for (int j = 0; j < nx; j++) {
				float v = acc[j] + (res ? res[o + j] : 0.0f);
				y[o + j] = rn_act_f32(p->act, p->alpha, p->beta, v);
			}
		}
	}
}

void rn_conv_depthwise_run(const rn_conv2d_params *p, const float *x, const float *packed,
			   const float *residual, float *y, rn_threadpool *tp)
{
	dw_job J = {
		.p = p, .x = x, .w = packed, .res = residual, .y = y,
		.bias = packed + (int64_t)p->c * p->kh * p->kw,
	};
	rn_parallel_for(tp, (int64_t)p->n * p->c, dw_channel, &J);
}
