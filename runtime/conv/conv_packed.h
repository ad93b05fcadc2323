/*
 * What the packed convolutions share (runtime/conv_*.c); not part of the API.
 * conv_pack.c dispatches on the algorithm to one of these families; each
 * defines its packed layout (independent of the ISA), its scratch needs
 * (independent of the ISA too: the compiler sizes scratch with its own
 * build of the runtime) and its kernel.
 */
#ifndef RESNETC_CONV_PACKED_H
#define RESNETC_CONV_PACKED_H

#include "../core/internal.h"

/* Rounds n up to a multiple of a. */
static inline int64_t rn_round_up(int64_t n, int64_t a)
{
	return (n + a - 1) / a * a;
}

/* Scratch is handed out in RN_ALIGN-aligned slices. */
static inline size_t rn_scratch_align(size_t bytes)
{
	return (bytes + RN_ALIGN - 1) / RN_ALIGN * RN_ALIGN;
}

int rn_conv_gemm_supports(const rn_conv2d_params *p);
size_t rn_conv_gemm_packed_floats(const rn_conv2d_params *p);
void rn_conv_gemm_pack(const rn_conv2d_params *p, const float *w, const float *bias, float *packed);
size_t rn_conv_gemm_scratch_size(const rn_conv2d_params *p, int threads);
void rn_conv_gemm_run(const rn_conv2d_params *p, const float *x, const float *packed,
		      const float *residual, float *y, void *scratch, rn_threadpool *tp);

int rn_conv_winograd_supports(const rn_conv2d_params *p);
size_t rn_conv_winograd_packed_floats(const rn_conv2d_params *p);
void rn_conv_winograd_pack(const rn_conv2d_params *p, const float *w, const float *bias,
			   float *packed);
size_t rn_conv_winograd_scratch_size(const rn_conv2d_params *p, int threads);
void rn_conv_winograd_run(const rn_conv2d_params *p, const float *x, const float *packed,
			  const float *residual, float *y, void *scratch, rn_threadpool *tp);
/* F(2x2, 3x3): the same over 2x2 output tiles (RN_CONV_WINOGRAD_F2). */
int rn_conv_winograd2_supports(const rn_conv2d_params *p);
size_t rn_conv_winograd2_packed_floats(const rn_conv2d_params *p);
void rn_conv_winograd2_pack(const rn_conv2d_params *p, const float *w, const float *bias,
			    float *packed);
size_t rn_conv_winograd2_scratch_size(const rn_conv2d_params *p, int threads);
void rn_conv_winograd2_run(const rn_conv2d_params *p, const float *x, const float *packed,
			   const float *residual, float *y, void *scratch, rn_threadpool *tp);

int rn_conv_depthwise_supports(const rn_conv2d_params *p);
size_t rn_conv_depthwise_packed_floats(const rn_conv2d_params *p);
void rn_conv_depthwise_pack(const rn_conv2d_params *p, const float *w, const float *bias,
			    float *packed);
void rn_conv_depthwise_run(const rn_conv2d_params *p, const float *x, const float *packed,
			   const float *residual, float *y, rn_threadpool *tp);

/* OpenBLAS: packed like RN_CONV_DIRECT (OIHW, then bias); without
 * RN_USE_OPENBLAS the run falls back to rn_conv2d_f32. */
size_t rn_conv_blas_scratch_size(const rn_conv2d_params *p, int threads);
void rn_conv_blas_run(const rn_conv2d_params *p, const float *x, const float *packed,
		      const float *residual, float *y, void *scratch, rn_threadpool *tp);

#endif
