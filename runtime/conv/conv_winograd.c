/*
 * RN_CONV_WINOGRAD and RN_CONV_WINOGRAD_F2: 3x3, stride 1 convolution by
 * Winograd F(4x4, 3x3) (Lavin & Gray 2016, points 0, +-1, +-2, inf) and
 * F(2x2, 3x3) (points 0, +-1, inf). Each OT x OT output tile (OT 4 or 2)
 * is A^T [ sum over c of (G g G^T) .* (B^T d B) ] A, with d the TS x TS
 * input patch (TS = OT + 2): 36 products per input and output channel
 * instead of 144, or 16 instead of 36. F(2x2) saves less arithmetic but
 * its weights are 16/9 of the 3x3 ones, not 4x: on 7x7 outputs, where
 * each weight serves few tiles and the layer streams its weights, it is
 * the one that wins.
 *
 * The weights' transform U = G g G^T is done at pack time, in double, and
 * stored as [TS * TS][M16 / 16][c][16] panels. At run time the output is
 * cut into blocks of whole tile rows; for each block:
 *   1. the block's input rows are transposed into channel groups of 16,
 *      [c / 16][row][x][16], zero where the padding is;
 *   2. input transform: V[xi][tile][c] = (B^T d B)[xi], 16 channels at a
 *      time in vector registers;
 *   3. TS * TS independent GEMMs O[xi][tile][m] = V[xi][tile][:] * U[xi][:][m]
 *      (the broadcast kernel: tiles broadcast, channels in vectors, so any
 *      number of tiles runs at full width);
 *   4. output transform A^T O A, + bias + residual, activation, stored to
 *      NCHW, clipped at the bottom and right edges.
 * Threads take whole blocks when they share out evenly and the weights
 * are light; otherwise (deep layers: 28x28 and smaller) the steps run one
 * after the other over the whole image, each split across threads
 * (channel groups, (xi, channel panels), channel panels), so that the
 * cores share the weight traffic. conv_winograd_tile.h has these steps,
 * written once over OT and instantiated below for both tile sizes.
 */
#include "conv_packed.h"
#include "microkernels.h"


enum {
	VO_BYTES = 640 * 1024,       /* V and O of one block, per thread */
	VO_MAX_BYTES = 1536 * 1024,
	MIN_TILES = 24,
	PHASED_MAX_BYTES = 3 << 20,  /* V and O of a whole image, shared */
	LANES = RN_PANEL,            /* channels per transform group */
	NVG = LANES / RN_VL,         /* vectors per group */
	BC_MAXR = 6,
	BC_MAXV = 4,
	PHASE_PANELS = 4,            /* panels per step of step 3, phased */
	PHASE_PARTS_PER_THREAD = 2,  /* step 3's tasks (runs of steps) per thread */
};

#if defined(__GNUC__) || defined(__clang__)
#define RN_NOINLINE __attribute__((noinline))
#else
#define RN_NOINLINE
#endif

/* B^T d over six vectors (rows or columns of the tile). */
static RN_INLINE void bt6(const rn_vf d[6], rn_vf r[6])
{
	rn_vf four = rn_vf_set1(4.0f), m4 = rn_vf_set1(-4.0f), m5 = rn_vf_set1(-5.0f);
	rn_vf two = rn_vf_set1(2.0f), m2 = rn_vf_set1(-2.0f);
	rn_vf s12 = rn_vf_add(d[1], d[2]), d12 = rn_vf_sub(d[1], d[2]);
	rn_vf s34 = rn_vf_add(d[3], d[4]), d43 = rn_vf_sub(d[4], d[3]);
	rn_vf d31 = rn_vf_sub(d[3], d[1]), d42 = rn_vf_sub(d[4], d[2]);
	r[0] = rn_vf_fma(four, d[0], rn_vf_fma(m5, d[2], d[4]));
	r[1] = rn_vf_fma(m4, s12, s34);
	r[2] = rn_vf_fma(four, d12, d43);
	r[3] = rn_vf_fma(two, d31, d42);
	r[4] = rn_vf_fma(m2, d31, d42);
	r[5] = rn_vf_fma(four, d[1], rn_vf_fma(m5, d[3], d[5]));
}

/* A^T m over six vectors, four results. */
static RN_INLINE void at6(const rn_vf m[6], rn_vf o[4])
{
	rn_vf s12 = rn_vf_add(m[1], m[2]), d12 = rn_vf_sub(m[1], m[2]);
	rn_vf s34 = rn_vf_add(m[3], m[4]), d34 = rn_vf_sub(m[3], m[4]);
	o[0] = rn_vf_add(rn_vf_add(m[0], s12), s34);
	o[1] = rn_vf_fma(rn_vf_set1(2.0f), d34, d12);
	o[2] = rn_vf_fma(rn_vf_set1(4.0f), s34, s12);
	o[3] = rn_vf_add(rn_vf_fma(rn_vf_set1(8.0f), d34, d12), m[5]);
}

/* F(2x2, 3x3): B^T d over four vectors. */
static RN_INLINE void bt4(const rn_vf d[4], rn_vf r[4])
{
	r[0] = rn_vf_sub(d[0], d[2]);
	r[1] = rn_vf_add(d[1], d[2]);
	r[2] = rn_vf_sub(d[2], d[1]);
	r[3] = rn_vf_sub(d[1], d[3]);
}

/* F(2x2, 3x3): A^T m over four vectors, two results. */
static RN_INLINE void at4(const rn_vf m[4], rn_vf o[2])
{
	o[0] = rn_vf_add(rn_vf_add(m[0], m[1]), m[2]);
	o[1] = rn_vf_sub(rn_vf_sub(m[1], m[2]), m[3]);
}

/* Step 3's kernels: rows x vectors, broadcast tiles, vectors of channels. */
typedef void (*bc_fn)(int64_t k, const float *a, int64_t lda, const float *b, int64_t ldp,
		      float *c, int64_t ldc, const char *pf);
/* (V rows are contiguous in q) */
/* rn_f32_gemm_bcast_<rows>x<vectors>v__<isa> */
#define BC_NAME(R, V) RN_UKERNEL(gemm_bcast, R##x##V##v)
#define BC(R, V) \
	static RN_NOINLINE void BC_NAME(R, V)(int64_t k, const float *a, int64_t lda, \
					     const float *b, int64_t ldp, float *c, int64_t ldc, \
					     const char *pf) \
	{ \
		rn_gemm_bcast_tile(R, V, k, a, lda, 1, b, ldp, c, ldc, pf); \
	}
#define BC_ROW(R) BC(R, 1) BC(R, 2) BC(R, 3) BC(R, 4)
BC_ROW(1) BC_ROW(2) BC_ROW(3) BC_ROW(4) BC_ROW(5) BC_ROW(6)
#undef BC_ROW
#undef BC
#define BC_ROW(R) { BC_NAME(R, 1), BC_NAME(R, 2), BC_NAME(R, 3), BC_NAME(R, 4) }
static const bc_fn bc_table[BC_MAXR][BC_MAXV] = {
	BC_ROW(1), BC_ROW(2), BC_ROW(3), BC_ROW(4), BC_ROW(5), BC_ROW(6),
};
#undef BC_ROW
_Static_assert((int)RN_BC_R <= (int)BC_MAXR && (int)RN_BC_NV <= (int)BC_MAXV, "broadcast tile table too small");

/* F(4x4, 3x3): RN_CONV_WINOGRAD, rn_conv_winograd_*; left out of a model's
 * build that uses only the other (conv_pack.c leaves its calls out too). */
#ifndef RN_OMIT_CONV_WINOGRAD
#define OT 4
#define TS 6
#define NXI 36
#define W_(name) RN_CAT(name, _f4)
#define W_PUB(name) RN_CAT(rn_conv_winograd_, name)
#define W_BT bt6
#define W_AT at6
#define W_G \
	{ \
		{ 1.0 / 4, 0, 0 }, \
		{ -1.0 / 6, -1.0 / 6, -1.0 / 6 }, \
		{ -1.0 / 6, 1.0 / 6, -1.0 / 6 }, \
		{ 1.0 / 24, 1.0 / 12, 1.0 / 6 }, \
		{ 1.0 / 24, -1.0 / 12, 1.0 / 6 }, \
		{ 0, 0, 1 }, \
	}
#include "conv_winograd_tile.h"
#undef OT
#undef TS
#undef NXI
#undef W_
#undef W_PUB
#undef W_BT
#undef W_AT
#undef W_G
#endif

/* F(2x2, 3x3): RN_CONV_WINOGRAD_F2, rn_conv_winograd2_*; likewise. */
#ifndef RN_OMIT_CONV_WINOGRAD_F2
#define OT 2
#define TS 4
#define NXI 16
#define W_(name) RN_CAT(name, _f2)
#define W_PUB(name) RN_CAT(rn_conv_winograd2_, name)
#define W_BT bt4
#define W_AT at4
#define W_G \
	{ \
		{ 1, 0, 0 }, \
		{ 0.5, 0.5, 0.5 }, \
		{ 0.5, -0.5, 0.5 }, \
		{ 0, 0, 1 }, \
	}
#include "conv_winograd_tile.h"
#endif
