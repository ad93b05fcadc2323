/*
 * Internal declarations shared by the runtime's kernels; not part of the API.
 *
 * rn_act_f32 is the one scalar definition of every RN_ACT_*; rn_unary_f32
 * and the fused epilogues of convolution and Gemm both use it, so a fused
 * activation is bit-identical to a separate one.
 */
#ifndef RESNETC_RUNTIME_INTERNAL_H
#define RESNETC_RUNTIME_INTERNAL_H

#include "resnetc/runtime.h"

#include <math.h>

/* The runtime needs nothing from libc but libm, so that it builds with
 * -ffreestanding. Kernels copy and fill bytes through these: libc's
 * functions (which compilers inline) in a hosted build, plain loops in a
 * freestanding one (__STDC_HOSTED__ == 0), where GCC leaves such loops
 * alone. */
#if __STDC_HOSTED__
#include <string.h>
#define rn_memcpy memcpy
#define rn_memmove memmove
#define rn_memset memset
#else
static inline void *rn_memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
	return dst;
}

static inline void *rn_memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if ((uintptr_t)d < (uintptr_t)s)
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	else
		for (size_t i = n; i > 0; i--)
			d[i - 1] = s[i - 1];
	return dst;
}

static inline void *rn_memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = (unsigned char)c;
	return dst;
}
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RN_INLINE inline __attribute__((always_inline))
#else
#define RN_INLINE inline
#endif

/* Fully unrolls a loop with a small constant trip count, so that a tile
 * accumulator indexed by it can live in registers: GCC does not unroll
 * at -O2 on its own when that grows the code. Clang unrolls and
 * vectorizes these tiles well by itself, and worse when forced. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define RN_UNROLL _Pragma("GCC unroll 16")
#else
#define RN_UNROLL
#endif

/* Comparisons are written so that a NaN input propagates to the output. */
static inline float rn_act_f32(int act, float alpha, float beta, float v)
{
	switch (act) {
	case RN_ACT_RELU:
		return v < 0.0f ? 0.0f : v;
	case RN_ACT_LEAKY_RELU:
		return v < 0.0f ? alpha * v : v;
	case RN_ACT_CLIP:
		v = v < alpha ? alpha : v;
		return v > beta ? beta : v;
	case RN_ACT_SIGMOID:
		return 1.0f / (1.0f + expf(-v));
	case RN_ACT_HARD_SIGMOID: {
		float t = alpha * v + beta;
		t = t < 0.0f ? 0.0f : t;
		return t > 1.0f ? 1.0f : t;
	}
	case RN_ACT_HARD_SWISH: {
		float t = v / 6.0f + 0.5f;
		t = t < 0.0f ? 0.0f : t;
		return v * (t > 1.0f ? 1.0f : t);
	}
	default:
		return v;
	}
}

/* The register tile all matrix-like kernels are built on. */
enum { RN_TILE_MR = 8, RN_TILE_NR = 16 };

/*
 * acc[i][j] += sum over q < kn of A(i, q) * B(q, j), for i < mr, j < nr,
 * with A(i, q) = a[i * a_sm + q * a_sk], B(q, j) = b[q * ldb + j * sw] and
 * acc of pitch RN_TILE_NR. mr, nr and sw (when nonzero) are compile-time
 * constants at every call, so after inlining the tile's loops have fixed
 * trip counts: the accumulator stays in vector registers and the j loop
 * vectorizes. sw == 0 means "use sw_rt". A's element is addressed by
 * arithmetic, not through a table of row pointers, so compilers broadcast
 * it instead of gathering across rows. An ISA-specific kernel slots in
 * here.
 */
static RN_INLINE void rn_tile_f32(int mr, int nr, int sw, int sw_rt, int64_t kn,
				  const float *a, int64_t a_sm, int64_t a_sk,
				  const float *restrict b, int64_t ldb, float *restrict acc)
{
	const int64_t s = sw ? sw : sw_rt;
	float t[RN_TILE_MR][RN_TILE_NR];
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			t[i][j] = acc[i * RN_TILE_NR + j];
	for (int64_t q = 0; q < kn; q++) {
		const float *restrict br = b + q * ldb;
		RN_UNROLL
		for (int i = 0; i < mr; i++) {
			float av = a[i * a_sm + q * a_sk];
			RN_UNROLL
			for (int j = 0; j < nr; j++)
				t[i][j] += av * br[j * s];
		}
	}
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			acc[i * RN_TILE_NR + j] = t[i][j];
}

/* rn_tile_f32 compiled for one (mr, nr, sw), sw 0 meaning "any stride".
 * Each is a separate function so that the compiler optimizes it alone;
 * inlined into a large caller, GCC stops keeping the tile in registers. */
typedef void (*rn_tile_fn)(int64_t kn, const float *a, int64_t a_sm, int64_t a_sk,
			   const float *b, int64_t ldb, int sw, float *acc);

/* mr is RN_TILE_MR or 1; nr is 16, 8, 4 or 1; sw any stride >= 1. */
rn_tile_fn rn_tile_kernel(int mr, int nr, int sw);

/* What the tile kernels do to a finished accumulator:
 *   y[i][j] = act(alpha * acc[i][j] + bias[i] + beta * c[i * c_sm + j * c_sn])
 * bias and c may be NULL. c may be y itself (read before write). */
typedef struct {
	float alpha;
	const float *bias;
	const float *c;
	int64_t c_sm, c_sn;
	float beta;
	int act;
	float act_alpha, act_beta;
} rn_epilogue;

/* Y[m][n] (row pitch ldy) = epilogue(A * B), where A's element (i, k) is at
 * a[i * a_sm + k * a_sk] and B is [k][n] with row pitch ldb. The engine of
 * Gemm, MatMul and 1x1 convolutions. */
void rn_gemm_nn_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_sm,
		    int64_t a_sk, const float *b, int64_t ldb, float *y, int64_t ldy,
		    const rn_epilogue *e);

/* Applies the epilogue to an m x n accumulator tile stored with pitch ld. */
void rn_epilogue_tile(const rn_epilogue *e, int mr, int nr, const float *acc, int ld,
		      int64_t row0, int64_t col0, float *y, int64_t ldy);

#endif
