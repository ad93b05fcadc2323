/*
 * RN_CONV_BLAS: a group-1 convolution through cblas_sgemm, the baseline to
 * measure the own kernels against. Weights are packed as for RN_CONV_DIRECT
 * (OIHW is the row-major [m][K] matrix BLAS wants, then bias). Columns go
 * in chunks: the chunk's im2col matrix (or, for a 1x1 stride-1 unpadded
 * convolution, the input itself) times the weights into a scratch tile,
 * then the epilogue from the tile into the output. Threads split chunks;
 * run OpenBLAS single-threaded (OPENBLAS_NUM_THREADS=1) alongside.
 * Built without RN_USE_OPENBLAS, the run falls back to rn_conv2d_f32; the
 * scratch size is the same either way, because the compiler computes it
 * with its own build of the runtime.
 */
#include "conv_packed.h"

#ifdef RN_USE_OPENBLAS
#include <cblas.h>
#include <string.h>
#endif

enum { CHUNK = 256 };

static int64_t blas_k(const rn_conv2d_params *p)
{
	return (int64_t)p->c * p->kh * p->kw;
}

size_t rn_conv_blas_scratch_size(const rn_conv2d_params *p, int threads)
{
	size_t per = (size_t)(blas_k(p) + p->m) * CHUNK * sizeof(float);
	return (size_t)threads * rn_scratch_align(per);
}

#ifdef RN_USE_OPENBLAS
typedef struct {
	const rn_conv2d_params *p;
	const float *x, *w, *bias, *res;
	float *y;
	char *scratch;
	size_t slice;
	int direct;
	int64_t chunks;
} blas_job;

static void im2col(const rn_conv2d_params *p, const float *x, int64_t j0, int nc, float *b)
{
	int64_t hw = (int64_t)p->h * p->w, q = 0;
	for (int ci = 0; ci < p->c; ci++)
		for (int ky = 0; ky < p->kh; ky++)
			for (int kx = 0; kx < p->kw; kx++, q++)
				for (int j = 0; j < nc; j++) {
					int64_t o = j0 + j;
					int iy = (int)(o / p->ow) * p->sh - p->pt + ky * p->dh;
					int ix = (int)(o % p->ow) * p->sw - p->pl + kx * p->dw;
					b[q * nc + j] = iy < 0 || iy >= p->h || ix < 0 || ix >= p->w
								? 0.0f
								: x[ci * hw + (int64_t)iy * p->w + ix];
				}
}

static void blas_chunk(void *ctx, int64_t t, int thread)
{
	const blas_job *J = ctx;
	const rn_conv2d_params *p = J->p;
	int64_t n = (int64_t)p->oh * p->ow, k = blas_k(p);
	int64_t j0 = t * CHUNK;
	int nc = (int)(n - j0 < CHUNK ? n - j0 : CHUNK);
	float *b = (float *)(J->scratch + (size_t)thread * J->slice);
	float *c = b + k * CHUNK;
	const float *bm = b;
	int ldb = nc;
	if (J->direct) {
		bm = J->x + j0;
		ldb = (int)n;
	} else {
		im2col(p, J->x, j0, nc, b);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->m, nc, (int)k, 1.0f, J->w,
		    (int)k, bm, ldb, 0.0f, c, nc);
	for (int m = 0; m < p->m; m++) {
		float *y = J->y + (int64_t)m * n + j0;
		const float *r = J->res ? J->res + (int64_t)m * n + j0 : NULL;
		for (int j = 0; j < nc; j++) {
			float v = c[(int64_t)m * nc + j] + J->bias[m] + (r ? r[j] : 0.0f);
			y[j] = rn_act_f32(p->act, p->alpha, p->beta, v);
		}
	}
}
#endif

void rn_conv_blas_run(const rn_conv2d_params *p, const float *x, const float *packed,
		      const float *residual, float *y, void *scratch, rn_threadpool *tp)
{
	int64_t wsize = (int64_t)p->m * blas_k(p);
#ifdef RN_USE_OPENBLAS
	int64_t hw = (int64_t)p->h * p->w, ohw = (int64_t)p->oh * p->ow;
	blas_job J = {
		.p = p, .w = packed, .bias = packed + wsize, .scratch = scratch,
		.slice = rn_conv_blas_scratch_size(p, 1),
		.direct = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 &&
			  p->pl == 0 && p->oh == p->h && p->ow == p->w,
		.chunks = (ohw + CHUNK - 1) / CHUNK,
	};
	for (int i = 0; i < p->n; i++) {
		J.x = x + (int64_t)i * p->c * hw;
		J.y = y + (int64_t)i * p->m * ohw;
		J.res = residual ? residual + (int64_t)i * p->m * ohw : NULL;
		rn_parallel_for(tp, J.chunks, blas_chunk, &J);
	}
#else
	(void)scratch;
	(void)tp;
	rn_conv2d_f32(p, x, packed, packed + wsize, residual, y);
#endif
}
