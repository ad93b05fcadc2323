/*
 * Microkernels of the packed convolutions (conv_gemm.c, conv_winograd.c),
 * written once over a small vector type: rn_vf holds RN_VL floats, chosen
 * when the runtime is compiled (AVX-512, AVX2 + FMA, AArch64 NEON, else one
 * plain float). Only register tile sizes differ per ISA; the packed weights
 * they read do not.
 *
 * Weights are packed in panels of RN_PANEL output channels: panel[k][16],
 * the 16 channels' weights for reduction index k side by side. Two kernel
 * shapes read them:
 *   panel kernel (rn_f32_gemm_8x48__avx512 etc.: channels x columns): R
 *     panel rows, broadcast one at a time, times NV vectors of B's rows; the
 *     tile is (channels x output positions) and is stored into NCHW rows
 *     with the fused epilogue.
 *   broadcast kernel (rn_f32_gemm_bcast_6x4v__avx512 etc.: rows x vectors):
 *     R rows of A broadcast, times NV vectors that lie across consecutive
 *     panels; the tile is (rows x channels), stored raw (Winograd's
 *     transformed-domain products; a GEMM's leftover columns).
 * Register tiles are fixed-size arrays indexed by loops with constant trip
 * counts, fully unrolled, so compilers keep them in registers.
 */
#ifndef RESNETC_MICROKERNELS_H
#define RESNETC_MICROKERNELS_H

#include "../core/internal.h"


enum { RN_PANEL = 16 };

#if defined(__GNUC__) || defined(__clang__)
#define RN_UNROLL_ALL _Pragma("GCC unroll 16")
#else
#define RN_UNROLL_ALL
#endif
#if defined(__clang__)
#undef RN_UNROLL_ALL
#define RN_UNROLL_ALL _Pragma("unroll")
#endif

/* The ISA and its vector length; a file that needs only these and the
 * tile sizes below defines RN_NO_INTRINSICS first (no <immintrin.h>: a
 * quarter of a second less to compile). */
#if defined(__AVX512F__) && !defined(RN_GENERIC)
#define RN_AVX512 1
#define RN_ISA avx512
#define RN_VL 16
#elif defined(__AVX2__) && defined(__FMA__) && !defined(RN_GENERIC)
#define RN_ISA avx2
#define RN_VL 8
#elif defined(__ARM_NEON) && !defined(RN_GENERIC)
#define RN_ISA neon
#define RN_VL 4
#else
#define RN_ISA scalar
#define RN_VL 1
#endif

#ifndef RN_NO_INTRINSICS
#if defined(__AVX512F__) && !defined(RN_GENERIC)
#include <immintrin.h>
typedef __m512 rn_vf;
static RN_INLINE __mmask16 rn_mask16(int n)
{
	return (__mmask16)((1u << n) - 1u);
}
static RN_INLINE rn_vf rn_vf_load(const float *p) { return _mm512_loadu_ps(p); }
static RN_INLINE rn_vf rn_vf_load_n(const float *p, int n)
{
	return _mm512_maskz_loadu_ps(rn_mask16(n), p);
}
static RN_INLINE void rn_vf_store(float *p, rn_vf v) { _mm512_storeu_ps(p, v); }
static RN_INLINE void rn_vf_store_n(float *p, rn_vf v, int n)
{
	_mm512_mask_storeu_ps(p, rn_mask16(n), v);
}
static RN_INLINE rn_vf rn_vf_set1(float x) { return _mm512_set1_ps(x); }
static RN_INLINE rn_vf rn_vf_zero(void) { return _mm512_setzero_ps(); }
static RN_INLINE rn_vf rn_vf_fma(rn_vf a, rn_vf b, rn_vf c) { return _mm512_fmadd_ps(a, b, c); }
static RN_INLINE rn_vf rn_vf_add(rn_vf a, rn_vf b) { return _mm512_add_ps(a, b); }
static RN_INLINE rn_vf rn_vf_sub(rn_vf a, rn_vf b) { return _mm512_sub_ps(a, b); }
/* max/min against a limit; a NaN v comes out unchanged (x86 returns the
 * second operand when either is NaN) */
static RN_INLINE rn_vf rn_vf_max_lim(rn_vf lim, rn_vf v) { return _mm512_max_ps(lim, v); }
static RN_INLINE rn_vf rn_vf_min_lim(rn_vf lim, rn_vf v) { return _mm512_min_ps(lim, v); }

#elif defined(__AVX2__) && defined(__FMA__) && !defined(RN_GENERIC)
#include <immintrin.h>
typedef __m256 rn_vf;
static RN_INLINE __m256i rn_mask8(int n)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static RN_INLINE rn_vf rn_vf_load(const float *p) { return _mm256_loadu_ps(p); }
static RN_INLINE rn_vf rn_vf_load_n(const float *p, int n) { return _mm256_maskload_ps(p, rn_mask8(n)); }
static RN_INLINE void rn_vf_store(float *p, rn_vf v) { _mm256_storeu_ps(p, v); }
static RN_INLINE void rn_vf_store_n(float *p, rn_vf v, int n) { _mm256_maskstore_ps(p, rn_mask8(n), v); }
static RN_INLINE rn_vf rn_vf_set1(float x) { return _mm256_set1_ps(x); }
static RN_INLINE rn_vf rn_vf_zero(void) { return _mm256_setzero_ps(); }
static RN_INLINE rn_vf rn_vf_fma(rn_vf a, rn_vf b, rn_vf c) { return _mm256_fmadd_ps(a, b, c); }
static RN_INLINE rn_vf rn_vf_add(rn_vf a, rn_vf b) { return _mm256_add_ps(a, b); }
static RN_INLINE rn_vf rn_vf_sub(rn_vf a, rn_vf b) { return _mm256_sub_ps(a, b); }
static RN_INLINE rn_vf rn_vf_max_lim(rn_vf lim, rn_vf v) { return _mm256_max_ps(lim, v); }
static RN_INLINE rn_vf rn_vf_min_lim(rn_vf lim, rn_vf v) { return _mm256_min_ps(lim, v); }

#elif defined(__ARM_NEON) && !defined(RN_GENERIC)
#include <arm_neon.h>
typedef float32x4_t rn_vf;
static RN_INLINE rn_vf rn_vf_load(const float *p) { return vld1q_f32(p); }
static RN_INLINE rn_vf rn_vf_load_n(const float *p, int n)
{
	float t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
	rn_memcpy(t, p, (size_t)n * sizeof(float));
	return vld1q_f32(t);
}
static RN_INLINE void rn_vf_store(float *p, rn_vf v) { vst1q_f32(p, v); }
static RN_INLINE void rn_vf_store_n(float *p, rn_vf v, int n)
{
	float t[4];
	vst1q_f32(t, v);
	rn_memcpy(p, t, (size_t)n * sizeof(float));
}
static RN_INLINE rn_vf rn_vf_set1(float x) { return vdupq_n_f32(x); }
static RN_INLINE rn_vf rn_vf_zero(void) { return vdupq_n_f32(0.0f); }
#if defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
static RN_INLINE rn_vf rn_vf_fma(rn_vf a, rn_vf b, rn_vf c) { return vfmaq_f32(c, a, b); }
#else /* ARMv7 NEON before VFPv4: multiply, then add */
static RN_INLINE rn_vf rn_vf_fma(rn_vf a, rn_vf b, rn_vf c) { return vmlaq_f32(c, a, b); }
#endif
static RN_INLINE rn_vf rn_vf_add(rn_vf a, rn_vf b) { return vaddq_f32(a, b); }
static RN_INLINE rn_vf rn_vf_sub(rn_vf a, rn_vf b) { return vsubq_f32(a, b); }
static RN_INLINE rn_vf rn_vf_max_lim(rn_vf lim, rn_vf v) { return vmaxq_f32(lim, v); }
static RN_INLINE rn_vf rn_vf_min_lim(rn_vf lim, rn_vf v) { return vminq_f32(lim, v); }

#else
typedef float rn_vf;
static RN_INLINE rn_vf rn_vf_load(const float *p) { return *p; }
static RN_INLINE rn_vf rn_vf_load_n(const float *p, int n) { return n > 0 ? *p : 0.0f; }
static RN_INLINE void rn_vf_store(float *p, rn_vf v) { *p = v; }
static RN_INLINE void rn_vf_store_n(float *p, rn_vf v, int n)
{
	if (n > 0)
		*p = v;
}
static RN_INLINE rn_vf rn_vf_set1(float x) { return x; }
static RN_INLINE rn_vf rn_vf_zero(void) { return 0.0f; }
static RN_INLINE rn_vf rn_vf_fma(rn_vf a, rn_vf b, rn_vf c) { return a * b + c; }
static RN_INLINE rn_vf rn_vf_add(rn_vf a, rn_vf b) { return a + b; }
static RN_INLINE rn_vf rn_vf_sub(rn_vf a, rn_vf b) { return a - b; }
static RN_INLINE rn_vf rn_vf_max_lim(rn_vf lim, rn_vf v) { return v < lim ? lim : v; }
static RN_INLINE rn_vf rn_vf_min_lim(rn_vf lim, rn_vf v) { return v > lim ? lim : v; }
#endif

#if defined(RN_AVX512)
/* r[i][j] <-> r[j][i] for a 16x16 block of floats in 16 registers (the
 * loops unrolled, or GCC -O2 keeps r and t on the stack). */
static RN_INLINE void rn_transpose16x16__avx512(__m512 r[16])
{
	__m512 t[16];
	RN_UNROLL_ALL
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	RN_UNROLL_ALL
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
		r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	RN_UNROLL_ALL
	for (int h = 0; h < 16; h += 8) {
		RN_UNROLL_ALL
		for (int i = 0; i < 4; i++) {
			t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
			t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xdd);
		}
	}
	RN_UNROLL_ALL
	for (int i = 0; i < 8; i++) {
		r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
		r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
	}
}
#endif

#define RN_CAT_(a, b) a##b
#define RN_CAT(a, b) RN_CAT_(a, b)
/* rn_f32_<op>_<tile>__<isa>, e.g. rn_f32_gemm_8x48__avx512 */
#define RN_UKERNEL(op, tile) RN_CAT(RN_CAT(RN_CAT(rn_f32_, op), _), RN_CAT(tile, RN_CAT(__, RN_ISA)))

/* Activations the epilogue applies in vector registers; the others are
 * applied by rn_unary_f32 on the stored row (they are rare in ResNets). */
static RN_INLINE int rn_act_in_vector(int act)
{
	return act == RN_ACT_NONE || act == RN_ACT_IDENTITY || act == RN_ACT_RELU ||
	       act == RN_ACT_LEAKY_RELU || act == RN_ACT_CLIP;
}

/* rn_act_f32 for the activations rn_act_in_vector accepts (NaN stays NaN). */
static RN_INLINE rn_vf rn_vf_act(int act, float alpha, float beta, rn_vf v)
{
	switch (act) {
	case RN_ACT_RELU:
		return rn_vf_max_lim(rn_vf_zero(), v);
	case RN_ACT_LEAKY_RELU:
		return rn_vf_fma(rn_vf_set1(alpha), rn_vf_min_lim(rn_vf_zero(), v),
				 rn_vf_max_lim(rn_vf_zero(), v));
	case RN_ACT_CLIP:
		return rn_vf_min_lim(rn_vf_set1(beta), rn_vf_max_lim(rn_vf_set1(alpha), v));
	default:
		return v;
	}
}

/* Where a finished tile goes: rows are output channels, columns adjacent
 * output positions of one NCHW plane.
 *   y[i][j] = act(acc[i][j] + bias[i] + res[i][j]),  i < rows, j < cols.
 * res may be y itself (each element is read before it is written). */
typedef struct {
	const float *bias;
	const float *res; /* or NULL */
	int64_t ldr;
	float *y;
	int64_t ldy;
	int rows, cols;
	int act;
	float alpha, beta;
} rn_tile_out;

/* Stores n <= RN_VL values of one output row through the epilogue. */
static RN_INLINE void rn_vf_store_out(float *y, const float *res, rn_vf v, rn_vf bias, int n,
				      int act, float alpha, float beta)
{
	v = rn_vf_add(v, bias);
	if (n >= RN_VL) {
		if (res)
			v = rn_vf_add(v, rn_vf_load(res));
		rn_vf_store(y, rn_vf_act(act, alpha, beta, v));
	} else if (n > 0) {
		if (res)
			v = rn_vf_add(v, rn_vf_load_n(res, n));
		rn_vf_store_n(y, rn_vf_act(act, alpha, beta, v), n);
	}
}

/* The panel kernel: acc[R][NV] = sum over q < k of a[q * 16 + i] *
 * b[q * ldb + v * RN_VL ...], then the epilogue into o. a points at the
 * panel's first row of this tile (rows i < R), b at the tile's columns.
 * pf: a panel ([k][16]) to prefetch meanwhile, one cache line per step
 * (the next panel, so that it is not fetched from memory on first use). */
#if defined(__GNUC__) || defined(__clang__)
#define RN_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define RN_PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#else
#define RN_PREFETCH(p) ((void)(p))
#define RN_PREFETCH_L2(p) ((void)(p))
#endif
#define RN_MAXR 16
#define RN_MAXV 16
/* The panel kernel's epilogue: acc[i][v] (i < o->rows) + bias, residual,
 * activation into o's rows. */
static RN_INLINE void rn_panel_store(const int R, const int NV, rn_vf acc[RN_MAXR][RN_MAXV],
				     const rn_tile_out *o)
{
	int vec = rn_act_in_vector(o->act);
	int act = vec ? o->act : RN_ACT_NONE;
	RN_UNROLL_ALL
	for (int i = 0; i < R; i++) {
		if (i >= o->rows)
			break;
		float *y = o->y + i * o->ldy;
		const float *res = o->res ? o->res + i * o->ldr : NULL;
		rn_vf bias = rn_vf_set1(o->bias[i]);
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			rn_vf_store_out(y + v * RN_VL, res ? res + v * RN_VL : NULL, acc[i][v], bias,
					o->cols - v * RN_VL, act, o->alpha, o->beta);
		if (!vec)
			rn_unary_f32(o->act, o->alpha, o->beta, (size_t)o->cols, y, y);
	}
}

/* The panel kernel's loop, B's row q at b + q * ldb, or (OFS) at b +
 * offs[q]: an implicit im2col matrix, rows of a convolution's input read
 * where they lie. */
static RN_INLINE void rn_gemm_panel_tile_rows(const int R, const int NV, const int OFS, int64_t k,
					      const float *a, const float *b, int64_t ldb,
					      const int64_t *offs, const float *pf,
					      const rn_tile_out *o)
{
	rn_vf acc[RN_MAXR][RN_MAXV];
	RN_UNROLL_ALL
	for (int i = 0; i < R; i++) {
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			acc[i][v] = rn_vf_zero();
	}
	for (int64_t q = 0; q < k; q++) {
		rn_vf bv[RN_MAXV];
		const float *bq = OFS ? b + offs[q] : b + q * ldb;
		RN_PREFETCH(pf);
		pf += RN_PANEL;
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			bv[v] = rn_vf_load(bq + v * RN_VL);
		RN_UNROLL_ALL
		for (int i = 0; i < R; i++) {
			rn_vf av = rn_vf_set1(a[i]);
			RN_UNROLL_ALL
			for (int v = 0; v < NV; v++)
				acc[i][v] = rn_vf_fma(av, bv[v], acc[i][v]);
		}
		a += RN_PANEL;
	}
	rn_panel_store(R, NV, acc, o);
}

static RN_INLINE void rn_gemm_panel_tile(const int R, const int NV, int64_t k, const float *a,
					 const float *b, int64_t ldb, const float *pf,
					 const rn_tile_out *o)
{
	rn_gemm_panel_tile_rows(R, NV, 0, k, a, b, ldb, NULL, pf, o);
}

/* The broadcast kernel: c[i][v * RN_VL ...] = sum over q < k of
 * a[i * lda + q * ldq] * B(q, v), B's vector v at b + (v * RN_VL / 16) * ldp +
 * (v * RN_VL % 16) + q * 16, i.e. across consecutive panels ldp floats apart.
 * pf (or NULL): 2 * k cache lines from there are fetched into L2 meanwhile,
 * two per step (the weights the caller needs next, while these come from
 * cache). */
static RN_INLINE void rn_gemm_bcast_tile(const int R, const int NV, int64_t k, const float *a,
					 int64_t lda, int64_t ldq, const float *b, int64_t ldp,
					 float *c, int64_t ldc, const char *pf)
{
	rn_vf acc[RN_MAXR][RN_MAXV];
	const float *bp[RN_MAXV];
	RN_UNROLL_ALL
	for (int v = 0; v < NV; v++)
		bp[v] = b + (v * RN_VL / RN_PANEL) * ldp + (v * RN_VL % RN_PANEL);
	RN_UNROLL_ALL
	for (int i = 0; i < R; i++) {
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			acc[i][v] = rn_vf_zero();
	}
	for (int64_t q = 0; q < k; q++) {
		rn_vf bv[RN_MAXV];
		if (pf) {
			RN_PREFETCH_L2(pf + q * 128);
			RN_PREFETCH_L2(pf + q * 128 + 64);
		}
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			bv[v] = rn_vf_load(bp[v] + q * RN_PANEL);
		RN_UNROLL_ALL
		for (int i = 0; i < R; i++) {
			rn_vf av = rn_vf_set1(a[i * lda]);
			RN_UNROLL_ALL
			for (int v = 0; v < NV; v++)
				acc[i][v] = rn_vf_fma(av, bv[v], acc[i][v]);
		}
		a += ldq;
	}
	RN_UNROLL_ALL
	for (int i = 0; i < R; i++) {
		RN_UNROLL_ALL
		for (int v = 0; v < NV; v++)
			rn_vf_store(c + i * ldc + v * RN_VL, acc[i][v]);
	}
}
#endif /* RN_NO_INTRINSICS */

/* Register tiles per ISA. Panel kernel: RN_GEMM_R rows (a divisor of 16)
 * x RN_GEMM_NV vectors; broadcast kernel: up to RN_BC_R rows x RN_BC_NV
 * vectors (RN_BC_NV * RN_VL a multiple of 16). */
#if RN_VL == 16
/* 8 x 3: 24 accumulators, 11 loads per 24 FMAs (16 x 1 needed 17 per 16 and
 * ran load-bound: 85-140 GFLOP/s against 97-145 on ResNet-50's layers) */
enum { RN_GEMM_R = 8, RN_GEMM_NV = 3, RN_BC_R = 6, RN_BC_NV = 4 };
#elif RN_VL == 8
enum { RN_GEMM_R = 4, RN_GEMM_NV = 3, RN_BC_R = 6, RN_BC_NV = 2 };
#elif RN_VL == 4
enum { RN_GEMM_R = 8, RN_GEMM_NV = 3, RN_BC_R = 6, RN_BC_NV = 4 };
#else
enum { RN_GEMM_R = 4, RN_GEMM_NV = 4, RN_BC_R = 4, RN_BC_NV = 4 };
#endif
/* Columns of a B sliver: a divisor of 48, so that scratch sized in units
 * of 48 columns fits every ISA's slivers. */
#define RN_GEMM_NR (RN_GEMM_NV * RN_VL)
_Static_assert(48 % RN_GEMM_NR == 0, "sliver width must divide 48");
_Static_assert(RN_PANEL % RN_GEMM_R == 0, "panel kernel rows must divide the panel");
_Static_assert((RN_BC_NV * RN_VL) % RN_PANEL == 0 || RN_PANEL % (RN_BC_NV * RN_VL) == 0,
	       "broadcast kernel columns must tile panels");

#endif
