/*
 * Packed convolutions: which algorithm supports which convolution, how big
 * its packed weights and scratch are, and the dispatch to its kernel.
 *
 * Layouts (floats; M16 = m rounded up to 16, K = c * kh * kw):
 *   DIRECT, BLAS  w as given (OIHW), then bias[m]
 *   GEMM          [M16 / 16][K][16] weight panels, then bias[M16]
 *   WINOGRAD      [36][M16 / 16][c][16] transformed panels, then bias[M16]
 *   WINOGRAD_F2   [16][M16 / 16][c][16] transformed panels, then bias[M16]
 *   DEPTHWISE     [c][kh * kw], then bias[c]
 * Rows past m are zero. None depends on the ISA the kernels are built for.
 *
 * Which to pick is the compiler's cost model (compiler/backend/select_kernels.c), with
 * the measurements behind it. Scratch from
 * rn_conv2d_scratch_size(algo, p, T) serves any pool of
 * at most T threads.
 *
 * A model's output folder carries only the algorithms its layers use and
 * defines RN_OMIT_CONV_<ALGO> for the others: their cases below are left
 * out (rn_conv2d_supports says 0, rn_conv2d_packed_f32 returns
 * RN_E_UNSUPPORTED), so nothing calls the files the folder lacks.
 */
#include "conv_packed.h"


static int valid_params(const rn_conv2d_params *p)
{
	return p->n >= 1 && p->c >= 1 && p->m >= 1 && p->h >= 1 && p->w >= 1 && p->oh >= 1 &&
	       p->ow >= 1 && p->kh >= 1 && p->kw >= 1 && p->sh >= 1 && p->sw >= 1 &&
	       p->dh >= 1 && p->dw >= 1 && p->group >= 1 && p->c % p->group == 0 &&
	       p->m % p->group == 0;
}

static size_t direct_floats(const rn_conv2d_params *p)
{
	return (size_t)p->m * (size_t)(p->c / p->group) * (size_t)p->kh * (size_t)p->kw +
	       (size_t)p->m;
}

int rn_conv2d_supports(int algo, const rn_conv2d_params *p)
{
	if (!valid_params(p))
		return 0;
	switch (algo) {
#ifndef RN_OMIT_CONV_DIRECT
	case RN_CONV_DIRECT:
		return 1;
#endif
#ifndef RN_OMIT_CONV_GEMM
	case RN_CONV_GEMM:
		return rn_conv_gemm_supports(p);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD
	case RN_CONV_WINOGRAD:
		return rn_conv_winograd_supports(p);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD_F2
	case RN_CONV_WINOGRAD_F2:
		return rn_conv_winograd2_supports(p);
#endif
#ifndef RN_OMIT_CONV_DEPTHWISE
	case RN_CONV_DEPTHWISE:
		return rn_conv_depthwise_supports(p);
#endif
#ifndef RN_OMIT_CONV_BLAS
	case RN_CONV_BLAS:
		return p->group == 1;
#endif
	default:
		return 0;
	}
}

size_t rn_conv2d_packed_size(int algo, const rn_conv2d_params *p)
{
	if (!rn_conv2d_supports(algo, p))
		return 0;
	switch (algo) {
#ifndef RN_OMIT_CONV_GEMM
	case RN_CONV_GEMM:
		return rn_conv_gemm_packed_floats(p) * sizeof(float);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD
	case RN_CONV_WINOGRAD:
		return rn_conv_winograd_packed_floats(p) * sizeof(float);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD_F2
	case RN_CONV_WINOGRAD_F2:
		return rn_conv_winograd2_packed_floats(p) * sizeof(float);
#endif
#ifndef RN_OMIT_CONV_DEPTHWISE
	case RN_CONV_DEPTHWISE:
		return rn_conv_depthwise_packed_floats(p) * sizeof(float);
#endif
	default:
		return direct_floats(p) * sizeof(float);
	}
}

void rn_conv2d_pack(int algo, const rn_conv2d_params *p, const float *w, const float *bias,
		    float *packed)
{
	switch (algo) {
#ifndef RN_OMIT_CONV_GEMM
	case RN_CONV_GEMM:
		rn_conv_gemm_pack(p, w, bias, packed);
		return;
#endif
#ifndef RN_OMIT_CONV_WINOGRAD
	case RN_CONV_WINOGRAD:
		rn_conv_winograd_pack(p, w, bias, packed);
		return;
#endif
#ifndef RN_OMIT_CONV_WINOGRAD_F2
	case RN_CONV_WINOGRAD_F2:
		rn_conv_winograd2_pack(p, w, bias, packed);
		return;
#endif
#ifndef RN_OMIT_CONV_DEPTHWISE
	case RN_CONV_DEPTHWISE:
		rn_conv_depthwise_pack(p, w, bias, packed);
		return;
#endif
	default: {
		size_t nw = direct_floats(p) - (size_t)p->m;
		rn_memcpy(packed, w, nw * sizeof(float));
		for (int i = 0; i < p->m; i++)
			packed[nw + (size_t)i] = bias ? bias[i] : 0.0f;
		return;
	}
	}
}

size_t rn_conv2d_scratch_size(int algo, const rn_conv2d_params *p, int threads)
{
	if (!rn_conv2d_supports(algo, p))
		return 0;
	if (threads < 1)
		threads = 1;
	switch (algo) {
#ifndef RN_OMIT_CONV_GEMM
	case RN_CONV_GEMM:
		return rn_conv_gemm_scratch_size(p, threads);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD
	case RN_CONV_WINOGRAD:
		return rn_conv_winograd_scratch_size(p, threads);
#endif
#ifndef RN_OMIT_CONV_WINOGRAD_F2
	case RN_CONV_WINOGRAD_F2:
		return rn_conv_winograd2_scratch_size(p, threads);
#endif
#ifndef RN_OMIT_CONV_BLAS
	case RN_CONV_BLAS:
		return rn_conv_blas_scratch_size(p, threads);
#endif
	default:
		return 0;
	}
}

/* The scratch check costs a plan's arithmetic per layer, nothing beside a
 * layer's work: the caller's sizing (the compiler's, perhaps built for
 * another ISA, and for a thread count) is checked on every call. */
int rn_conv2d_packed_f32(int algo, const rn_conv2d_params *p, const float *x, const float *packed,
			 const float *residual, float *y, void *scratch, size_t scratch_bytes, rn_threadpool *tp)
{
	if (scratch_bytes < rn_conv2d_scratch_size(algo, p, rn_threadpool_threads(tp)))
		return RN_E_RANGE;
	switch (algo) {
#ifndef RN_OMIT_CONV_GEMM
	case RN_CONV_GEMM:
		rn_conv_gemm_run(p, x, packed, residual, y, scratch, tp);
		break;
#endif
#ifndef RN_OMIT_CONV_WINOGRAD
	case RN_CONV_WINOGRAD:
		rn_conv_winograd_run(p, x, packed, residual, y, scratch, tp);
		break;
#endif
#ifndef RN_OMIT_CONV_WINOGRAD_F2
	case RN_CONV_WINOGRAD_F2:
		rn_conv_winograd2_run(p, x, packed, residual, y, scratch, tp);
		break;
#endif
#ifndef RN_OMIT_CONV_DEPTHWISE
	case RN_CONV_DEPTHWISE:
		rn_conv_depthwise_run(p, x, packed, residual, y, tp);
		break;
#endif
#ifndef RN_OMIT_CONV_BLAS
	case RN_CONV_BLAS:
		rn_conv_blas_run(p, x, packed, residual, y, scratch, tp);
		break;
#endif
#ifndef RN_OMIT_CONV_DIRECT
	case RN_CONV_DIRECT:
		rn_conv2d_f32(p, x, packed, packed + (direct_floats(p) - (size_t)p->m), residual, y);
		break;
#endif
	default:
		return RN_E_UNSUPPORTED;
	}
	return RN_OK;
}
