/*
 * rn_gemm_f32 and rn_matmul_f32 against triple loops in double: every
 * transpose combination, alpha/beta, C broadcast as a scalar, a row or a
 * column, the fused activation, sizes around the 8x16 register tile
 * (including M=1 and N<4), and broadcast batch dims for MatMul. Guard
 * words around the output catch writes outside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

/* the pool the products run on (NULL: one thread) */
static rn_threadpool *pool;

static uint64_t rng = 4242;
static float frand(void)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

enum { GUARD = 32 };
static const float SENTINEL = -777.0f;

static float *alloc_rand(int64_t n)
{
	float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
	for (int64_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* C's shape: 0 none, 1 full [m][n], 2 scalar, 3 row [n], 4 column [m][1] */
static int check_gemm(int64_t m, int64_t n, int64_t k, int ta, int tb, float alpha,
		      float beta, int c_kind, int act)
{
	float *a = alloc_rand(m * k), *b = alloc_rand(k * n), *c = alloc_rand(m * n);
	float *ybuf = malloc(sizeof(float) * (size_t)(m * n + 2 * GUARD)), *y = ybuf + GUARD;
	for (int64_t i = 0; i < m * n + 2 * GUARD; i++)
		ybuf[i] = SENTINEL;
	rn_gemm_params p = { .m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb,
			     .alpha = alpha, .beta = beta, .act = act };
	switch (c_kind) {
	case 1: p.c_sm = n; p.c_sn = 1; break;
	case 2: p.c_sm = 0; p.c_sn = 0; break;
	case 3: p.c_sm = 0; p.c_sn = 1; break;
	case 4: p.c_sm = 1; p.c_sn = 0; break;
	}
	rn_gemm_f32(&p, a, b, c_kind ? c : NULL, y, pool);
	int bad = 0;
	if (tb && !ta) {
		/* the fully connected layer's own entry, what generated code
		 * calls: the very same values */
		float *y2 = malloc(sizeof(float) * (size_t)(m * n > 0 ? m * n : 1));
		rn_gemm_nt_f32(&p, a, b, c_kind ? c : NULL, y2, pool);
		if (m * n > 0 && memcmp(y, y2, sizeof(float) * (size_t)(m * n))) {
			print_error("rn_gemm_nt_f32 differs from rn_gemm_f32\n");
			bad++;
		}
		free(y2);
	}
	for (int64_t i = 0; i < m && bad < 3; i++)
		for (int64_t j = 0; j < n && bad < 3; j++) {
			double s = 0;
			for (int64_t q = 0; q < k; q++)
				s += (double)(ta ? a[q * m + i] : a[i * k + q]) *
				     (tb ? b[j * k + q] : b[q * n + j]);
			s *= alpha;
			if (c_kind)
				s += (double)beta * c[i * p.c_sm + j * p.c_sn];
			if (act == RN_ACT_RELU)
				s = s > 0 ? s : 0;
			/* k products of values in [-1, 1) summed in float in another
			 * order: error well under 1e-6 per term */
			double tol = 1e-6 * (double)(k + 4);
			if (!(fabs(y[i * n + j] - s) <= tol)) {
				print_error("y[%lld][%lld] = %g, want %g\n", (long long)i,
					    (long long)j, y[i * n + j], s);
				bad++;
			}
		}
	for (int i = 0; i < GUARD; i++)
		if (ybuf[i] != SENTINEL || y[m * n + i] != SENTINEL) {
			print_error("write outside y\n");
			bad++;
			break;
		}
	if (bad)
		print_error("gemm m=%lld n=%lld k=%lld ta=%d tb=%d c=%d\n", (long long)m,
			    (long long)n, (long long)k, ta, tb, c_kind);
	free(a); free(b); free(c); free(ybuf);
	return bad;
}

static void test_gemm_transposes_and_tile_edges(void **state)
{
	(void)state;
	int64_t sizes[][3] = { { 1, 1, 1 }, { 1, 1000, 64 }, { 8, 16, 5 }, { 9, 17, 33 },
			       { 7, 3, 2 }, { 16, 31, 100 }, { 3, 45, 7 }, { 20, 20, 1 },
			       { 2, 5, 0 } };
	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				if (check_gemm(sizes[s][0], sizes[s][1], sizes[s][2], ta, tb, 1.0f,
					       1.0f, 1, RN_ACT_NONE))
					fail();
}

static void test_gemm_alpha_beta_and_broadcast_c(void **state)
{
	(void)state;
	for (int ck = 0; ck <= 4; ck++)
		for (int tb = 0; tb < 2; tb++)
			if (check_gemm(5, 19, 11, 0, tb, 0.5f, -2.0f, ck, RN_ACT_NONE))
				fail();
	if (check_gemm(10, 12, 9, 1, 0, 2.0f, 0.0f, 1, RN_ACT_NONE))
		fail();
}

static void test_gemm_fused_relu(void **state)
{
	(void)state;
	if (check_gemm(9, 21, 13, 0, 0, 1.0f, 1.0f, 3, RN_ACT_RELU))
		fail();
	if (check_gemm(1, 10, 2048, 0, 1, 1.0f, 1.0f, 3, RN_ACT_RELU)) /* a classifier */
		fail();
}

static void test_gemm_random_shapes(void **state)
{
	(void)state;
	for (int t = 0; t < 40; t++) {
		int64_t m = 1 + (int64_t)((frand() + 1) * 15), n = 1 + (int64_t)((frand() + 1) * 25);
		int64_t k = (int64_t)((frand() + 1) * 40);
		if (check_gemm(m, n, k, t & 1, (t >> 1) & 1, 1.5f, 0.5f, t % 5, RN_ACT_NONE))
			fail();
	}
}

static void test_gemm_hand_values(void **state)
{
	(void)state;
	float a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, c[2] = { 10, 20 }, y[4];
	rn_gemm_params p = { .m = 2, .n = 2, .k = 2, .alpha = 1, .beta = 1, .c_sm = 0, .c_sn = 1 };
	rn_gemm_f32(&p, a, b, c, y, NULL);
	/* [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]], plus [10, 20] */
	assert_true(y[0] == 29 && y[1] == 42 && y[2] == 53 && y[3] == 70);
}

/* Fully connected layers (transB) split their columns over two threads:
 * every column once, none outside Y, for column counts around the split. */
static void test_gemm_fully_connected_on_two_threads(void **state)
{
	(void)state;
	pool = rn_threadpool_global(2);
	assert_non_null(pool);
	const int64_t shapes[][3] = { { 1, 1000, 512 }, { 1, 1001, 300 }, { 3, 1003, 130 },
				      { 2, 7, 20000 } };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(check_gemm(shapes[i][0], shapes[i][1], shapes[i][2], 0, 1, 1.0f,
					    1.0f, i & 1 ? 3 : 0, i == 2 ? RN_ACT_RELU : 0),
				 0);
	}
	pool = NULL;
}

static void test_matmul_broadcast_batches(void **state)
{
	(void)state;
	/* A [2][3][M][K] against B [3][K][N] broadcast over the first dim */
	int64_t M = 5, K = 7, N = 18;
	rn_matmul_params p = { .batch_rank = 2, .batch = { 2, 3 }, .m = M, .n = N, .k = K };
	p.sa[0] = 3 * M * K; p.sa[1] = M * K;
	p.sb[0] = 0; p.sb[1] = K * N;
	float *a = alloc_rand(6 * M * K), *b = alloc_rand(3 * K * N);
	float *y = malloc(sizeof(float) * (size_t)(6 * M * N));
	rn_matmul_f32(&p, a, b, y);
	for (int64_t b0 = 0; b0 < 2; b0++)
		for (int64_t b1 = 0; b1 < 3; b1++)
			for (int64_t i = 0; i < M; i++)
				for (int64_t j = 0; j < N; j++) {
					double s = 0;
					for (int64_t q = 0; q < K; q++)
						s += (double)a[b0 * p.sa[0] + b1 * p.sa[1] + i * K + q] *
						     b[b1 * p.sb[1] + q * N + j];
					float got = y[((b0 * 3 + b1) * M + i) * N + j];
					assert_true(fabs(got - s) <= 1e-5); /* K = 7 terms */
				}
	free(a); free(b); free(y);
}

static void test_matmul_without_batch(void **state)
{
	(void)state;
	rn_matmul_params p = { .batch_rank = 0, .m = 1, .n = 3, .k = 2 };
	float a[2] = { 1, -1 }, b[6] = { 1, 2, 3, 4, 5, 6 }, y[3];
	rn_matmul_f32(&p, a, b, y);
	assert_true(y[0] == -3 && y[1] == -3 && y[2] == -3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemm_transposes_and_tile_edges),
		cmocka_unit_test(test_gemm_alpha_beta_and_broadcast_c),
		cmocka_unit_test(test_gemm_fused_relu),
		cmocka_unit_test(test_gemm_random_shapes),
		cmocka_unit_test(test_gemm_hand_values),
		cmocka_unit_test(test_gemm_fully_connected_on_two_threads),
		cmocka_unit_test(test_matmul_broadcast_batches),
		cmocka_unit_test(test_matmul_without_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
