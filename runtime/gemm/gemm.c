/*
 * Gemm and MatMul (float32), and the matrix-product engine that 1x1
 * convolutions share with them.
 *
 * The engine computes MR x NR tiles of the output with rn_tile_f32
 * (internal.h), whose loops have compile-time trip counts, so the compiler
 * keeps the tile in vector registers and vectorizes it at -O2 without
 * intrinsics. Each (rows, columns, stride) variant is its own function in
 * the table below; an ISA-specific kernel would take its place there. The
 * last strip of rows overlaps the previous one rather than shrinking, and
 * stores only its new rows. Columns are processed in blocks whose K x NC
 * slice of B stays in L2 while every strip of A sweeps it. A fully
 * connected layer (Gemm with transB) is fc.c's; the stores with bias,
 * C and activation epilogue.c's.
 */
#include "../core/internal.h"

enum { MR = RN_TILE_MR, NR = RN_TILE_NR };

/* The table of tile kernels: name tile_<mr>x<nr>_s<sw>, s0 = any stride. */
#define TILE(MRV, NRV, SWV) \
	static void tile_##MRV##x##NRV##_s##SWV(int64_t kn, const float *a, int64_t a_sm, \
						int64_t a_sk, const float *b, int64_t ldb, \
						int sw, float *acc) \
	{ \
		rn_tile_f32(MRV, NRV, SWV, sw, kn, a, a_sm, a_sk, b, ldb, acc); \
	}
#define TILE_STRIDES(MRV, NRV) TILE(MRV, NRV, 1) TILE(MRV, NRV, 2) TILE(MRV, NRV, 0)
TILE_STRIDES(8, 16) TILE_STRIDES(8, 8) TILE_STRIDES(8, 4) TILE_STRIDES(8, 1)
TILE_STRIDES(1, 16) TILE_STRIDES(1, 8) TILE_STRIDES(1, 4) TILE_STRIDES(1, 1)
#undef TILE_STRIDES
#undef TILE

_Static_assert(RN_TILE_MR == 8 && RN_TILE_NR == 16, "tile table assumes 8x16");

rn_tile_fn rn_tile_kernel(int mr, int nr, int sw)
{
	static const rn_tile_fn table[2][4][3] = {
		{ { tile_8x16_s1, tile_8x16_s2, tile_8x16_s0 },
		  { tile_8x8_s1, tile_8x8_s2, tile_8x8_s0 },
		  { tile_8x4_s1, tile_8x4_s2, tile_8x4_s0 },
		  { tile_8x1_s1, tile_8x1_s2, tile_8x1_s0 } },
		{ { tile_1x16_s1, tile_1x16_s2, tile_1x16_s0 },
		  { tile_1x8_s1, tile_1x8_s2, tile_1x8_s0 },
		  { tile_1x4_s1, tile_1x4_s2, tile_1x4_s0 },
		  { tile_1x1_s1, tile_1x1_s2, tile_1x1_s0 } },
	};
	int r = mr == MR ? 0 : 1;
	int c = nr == 16 ? 0 : nr == 8 ? 1 : nr == 4 ? 2 : 3;
	int s = sw == 1 ? 0 : sw == 2 ? 1 : 2;
	return table[r][c][s];
}

/* acc[MR][NR] = A[0..mr)[0..k) * B[0..k)[0..nr) */
static void tile_nn(rn_tile_fn f, int mr, int nr, int64_t k, const float *a, int64_t a_sm,
		    int64_t a_sk, const float *b, int64_t ldb, float *acc)
{
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			acc[i * NR + j] = 0.0f;
	f(k, a, a_sm, a_sk, b, ldb, 1, acc);
}

/* One strip of mr rows from i0 against columns [j0, j1); rows before
 * i0 + skip were stored by the previous strip and are only recomputed. */
static void strip_nn(int mr, int skip, int64_t i0, int64_t j0, int64_t j1, int64_t k,
		     const float *a, int64_t a_sm, int64_t a_sk, const float *b, int64_t ldb,
		     float *y, int64_t ldy, const rn_epilogue *e)
{
	float acc[MR * NR];
	const float *ai = a + i0 * a_sm;
	int64_t r0 = i0 + skip;
	int mv = mr - skip;
	int64_t j = j0;
	while (j < j1) {
		int nr = j1 - j >= 16 ? 16 : j1 - j >= 8 ? 8 : j1 - j >= 4 ? 4 : 1;
		tile_nn(rn_tile_kernel(mr, nr, 1), mr, nr, k, ai, a_sm, a_sk, b + j, ldb, acc);
		rn_epilogue_tile(e, mv, nr, acc + skip * NR, NR, r0, j, y + r0 * ldy + j, ldy);
		j += nr;
	}
}

void rn_gemm_nn_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_sm,
		    int64_t a_sk, const float *b, int64_t ldb, float *y, int64_t ldy,
		    const rn_epilogue *e)
{
	/* Keep the K x nc slice of B that a strip sweeps within ~512 KiB. */
	int64_t nc = (int64_t)(512 * 1024 / sizeof(float)) / (k > 0 ? k : 1);
	nc = nc < NR ? NR : nc / NR * NR;
	for (int64_t j0 = 0; j0 < n; j0 += nc) {
		int64_t j1 = n - j0 < nc ? n : j0 + nc;
		int64_t i = 0;
		for (; i + MR <= m; i += MR)
			strip_nn(MR, 0, i, j0, j1, k, a, a_sm, a_sk, b, ldb, y, ldy, e);
		if (i < m && m >= MR) {
			/* the last strip overlaps the previous one */
			strip_nn(MR, (int)(MR - (m - i)), m - MR, j0, j1, k, a, a_sm, a_sk, b,
				 ldb, y, ldy, e);
			i = m;
		}
		for (; i < m; i++)
			strip_nn(1, 0, i, j0, j1, k, a, a_sm, a_sk, b, ldb, y, ldy, e);
	}
}

void rn_gemm_f32(const rn_gemm_params *p, const float *a, const float *b,
		 const float *c, float *y, rn_threadpool *tp)
{
	int64_t m = p->m, n = p->n, k = p->k;
	rn_epilogue e = {
		.alpha = p->alpha, .bias = NULL, .c = c, .c_sm = p->c_sm, .c_sn = p->c_sn,
		.beta = p->beta, .act = p->act, .act_alpha = p->act_alpha,
		.act_beta = p->act_beta,
	};
	int64_t a_sm = p->trans_a ? 1 : k, a_sk = p->trans_a ? m : 1;
	if (!p->trans_b) {
		rn_gemm_nn_f32(m, n, k, a, a_sm, a_sk, b, n, y, n, &e);
	} else if (!p->trans_a) {
		rn_gemm_nt_f32(p, a, b, c, y, tp);
	} else {
		for (int64_t i = 0; i < m; i++) {
			for (int64_t j = 0; j < n; j++) {
				float v = 0.0f;
				for (int64_t q = 0; q < k; q++)
					v += a[q * m + i] * b[j * k + q];
				rn_epilogue_tile(&e, 1, 1, &v, 1, i, j, y + i * n + j, n);
			}
		}
	}
}

void rn_matmul_f32(const rn_matmul_params *p, const float *a, const float *b, float *y)
{
	rn_epilogue e = { .alpha = 1.0f, .act = RN_ACT_NONE };
	int64_t idx[RN_MAX_RANK] = {0};
	int64_t total = 1;
	for (int d = 0; d < p->batch_rank; d++)
		total *= p->batch[d];
	for (int64_t t = 0; t < total; t++) {
		int64_t oa = 0, ob = 0;
		for (int d = 0; d < p->batch_rank; d++) {
			oa += idx[d] * p->sa[d];
			ob += idx[d] * p->sb[d];
		}
		rn_gemm_nn_f32(p->m, p->n, p->k, a + oa, p->k, 1, b + ob, p->n,
			       y + t * p->m * p->n, p->n, &e);
		for (int d = p->batch_rank - 1; d >= 0; d--) {
			if (++idx[d] < p->batch[d])
				break;
			idx[d] = 0;
		}
	}
}
