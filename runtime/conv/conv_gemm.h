/*
 * RN_CONV_GEMM: a group-1 convolution as the matrix product
 *   Y[m][oy * ow + ox] = W[m][K] * B[K][oy * ow + ox],  K = c * kh * kw,
 * B being the im2col matrix of the input. Weights come packed in panels of
 * 16 output channels ([K][16] each, bias after them). B is consumed in
 * slivers of RN_GEMM_NR columns, in one of three ways:
 *   in place: a 1x1, stride-1, unpadded convolution reads B's rows straight
 *     from the input planes (or copies chunks of them, see make_plan);
 *   phase mode: a strided one reads them from its input's phase planes,
 *     each im2col row a plane at an offset (see gemm_plan);
 *   packed: any other packs the im2col matrix of a chunk of columns into
 *     scratch (never the whole im2col matrix).
 * The panel kernel computes a (channels x positions) tile and stores it
 * into the NCHW output through the fused epilogue; columns that do not
 * fill a sliver go through the broadcast kernel instead, except on 14x14
 * and 7x7 outputs, which an 8 x 49 AVX-512 kernel tiles exactly.
 *
 * Threads: the columns are split into equal ranges, or the panels when
 * that balances better (small outputs such as 7x7 with many channels); then
 * the threads first pack each im2col chunk together, then split its panels.
 *
 * conv_gemm_plan.c: weight packing, the plan and the scratch size;
 * conv_gemm_im2col.c: the input packing; conv_gemm.c: the kernels and the
 * run. Not part of the API.
 */
#ifndef RESNETC_CONV_GEMM_H
#define RESNETC_CONV_GEMM_H

#include "conv_packed.h"
#include "microkernels.h"

enum {
	NR = RN_GEMM_NR,
	COL_UNIT = 48,                 /* scratch is sized in these, NR divides it */
	CHUNK_BYTES = 192 * 1024,      /* B chunk a thread packs, ~ a fifth of L2 */
};

/* The 8 x 49 AVX-512 panel kernel (conv_gemm.c) exists. */
#if defined(RN_AVX512)
#define GEMM_X1 1
#else
#define GEMM_X1 0
#endif

/* How a convolution is cut up; scratch_size and run must agree, so both
 * derive it from the parameters and the thread count only. */
typedef struct {
	int direct;        /* B is the input itself */
	int64_t k, n;      /* reduction length, output positions */
	int nr;            /* columns per sliver: NR, or NR + 1 (the 8 x 49 kernel) */
	int64_t chunk;     /* columns per chunk, a multiple of COL_UNIT or of nr */
	/* Phase mode (stride s >= 2, not 1x1): the input is split once into its
	 * s x s phase planes, plane (py, px)[r][c] = padded input [r s + py]
	 * [c s + px], rows wp wide. Output (oy, ox) then reads tap (ky, kx) at
	 * [oy + ky / s][ox + kx / s] of plane (ky % s, kx % s): with the
	 * output's rows wp wide too (columns ow.. wp are computed and
	 * dropped), each im2col row is a plane read in place from an offset,
	 * so nothing is packed per chunk (the stem's im2col took 0.3-0.5 of
	 * its 2 ms). */
	int phase, s, wp, hp;
	int64_t plane;     /* floats per phase plane */
	int64_t ncols;     /* columns the kernels run: n, or oh * wp rounded up to COL_UNIT */
	int panels;
	int parts;         /* tasks: at least one per thread */
	int split_cols;    /* parts split the columns, else the panels */
} gemm_plan;

static inline int64_t gemm_k(const rn_conv2d_params *p)
{
	return (int64_t)p->c * p->kh * p->kw;
}

gemm_plan rn_conv_gemm_plan(const rn_conv2d_params *p, int threads);

/* One packed chunk per thread; threads that split the panels share one. */
static inline size_t slice_bytes(const gemm_plan *g)
{
	return g->direct ? 0 : rn_scratch_align((size_t)(g->k * g->chunk) * sizeof(float));
}

static inline int shared_chunk(const gemm_plan *g, int threads)
{
	return !g->direct && !g->split_cols && threads > 1;
}

/* The input rows one chunk's im2col rows read, for one channel, with the
 * padding made explicit (see pack_b): at most strip_rows x strip_width. */
static inline int strip_width(const rn_conv2d_params *p)
{
	return (p->ow - 1) * p->sw + (p->kw - 1) * p->dw + 1;
}

static inline size_t strip_bytes(const rn_conv2d_params *p, const gemm_plan *g)
{
	if (g->direct)
		return 0;
	int64_t out_rows = (g->chunk + p->ow - 2) / p->ow + 1;
	int64_t rows = (out_rows - 1) * p->sh + (int64_t)(p->kh - 1) * p->dh + 1;
	return rn_scratch_align((size_t)(rows * strip_width(p)) * sizeof(float));
}

/* Scratch: the packed chunks' slices, then one strip per thread. */
static inline size_t slices_bytes(const gemm_plan *g, int threads)
{
	return (size_t)(shared_chunk(g, threads) ? 1 : threads) * slice_bytes(g);
}

/* Phase mode's scratch: the planes, then the k row offsets. */
static inline size_t planes_bytes(const rn_conv2d_params *p, const gemm_plan *g)
{
	return rn_scratch_align((size_t)((int64_t)p->c * g->s * g->s * g->plane) * sizeof(float));
}

#ifndef RN_NO_INTRINSICS
/* The packing's copies are short (an output row: 7 to 112 columns) and
 * many; inline, without a call each, they are several times cheaper. */

/* dst[t] = src[t] for t < n. */
static RN_INLINE void copy_run(float *dst, const float *src, int n)
{
#if defined(RN_AVX512)
	int t = 0;
	for (; t + 16 <= n; t += 16)
		_mm512_storeu_ps(dst + t, _mm512_loadu_ps(src + t));
	if (t < n)
		_mm512_mask_storeu_ps(dst + t, rn_mask16(n - t), _mm512_maskz_loadu_ps(rn_mask16(n - t), src + t));
#else
	rn_memcpy(dst, src, sizeof(float) * (size_t)n);
#endif
}

/* dst[t] = 0 for t < n. */
static RN_INLINE void zero_run(float *dst, int64_t n)
{
#if defined(RN_AVX512)
	int64_t t = 0;
	for (; t + 16 <= n; t += 16)
		_mm512_storeu_ps(dst + t, _mm512_setzero_ps());
	if (t < n)
		_mm512_mask_storeu_ps(dst + t, rn_mask16((int)(n - t)), _mm512_setzero_ps());
#else
	rn_memset(dst, 0, sizeof(float) * (size_t)n);
#endif
}

/* dst[t] = src[2 t] for t < n. */
static RN_INLINE void copy_stride2(float *dst, const float *src, int n)
{
	int t = 0;
#if defined(RN_AVX512)
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
					       28, 30);
	/* 16 outputs read src[0 .. 30]: masked loads never touch the rest */
	for (; t < n; t += 16) {
		int left = n - t < 16 ? n - t : 16, need = 2 * left - 1;
		__m512 a = _mm512_maskz_loadu_ps(rn_mask16(need < 16 ? need : 16), src + 2 * t);
		__m512 b = _mm512_maskz_loadu_ps(rn_mask16(need > 16 ? need - 16 : 0),
						 src + 2 * t + 16);
		_mm512_mask_storeu_ps(dst + t, rn_mask16(left), _mm512_permutex2var_ps(a, even, b));
	}
#endif
	for (; t < n; t++)
		dst[t] = src[2 * t];
}

/* dst[t] = src[t * stride] for t < n. */
static RN_INLINE void copy_strided(float *dst, const float *src, int n, int stride)
{
	if (stride == 1)
		copy_run(dst, src, n);
	else if (stride == 2)
		copy_stride2(dst, src, n);
	else
		for (int t = 0; t < n; t++)
			dst[t] = src[(int64_t)t * stride];
}

#endif /* RN_NO_INTRINSICS */

/* Packs rows [q0, q1) of the im2col columns [j0, j0 + ncols) into buf
 * (conv_gemm_im2col.c). */
void rn_conv_gemm_pack_b(const rn_conv2d_params *p, const float *x, int64_t j0, int64_t ncols, float *buf,
			 int64_t ldb, int64_t q0, int64_t q1, float *strip);
void rn_conv_gemm_phase_planes(const rn_conv2d_params *p, const gemm_plan *g, const float *x, float *planes,
			       int ci, int py);

#endif
