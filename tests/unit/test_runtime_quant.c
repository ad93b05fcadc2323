/* QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear and the
 * run-time-parameter integer products, against values worked out by hand
 * from the ONNX definitions. */
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

/* The vectorized row against the definition, value by value: random
 * values, halves exactly between two steps, NaN and infinities, with
 * scales that make the quotient inexact. */
static void test_quantize_matches_the_definition_everywhere(void **state)
{
	(void)state;
	enum { N = 4099 };
	static float x[N];
	static uint8_t qu[N];
	static int8_t qi[N];
	uint32_t r = 12345;
	for (int i = 0; i < N; i++) {
		r = r * 1664525u + 1013904223u;
		float u = (float)(r >> 8) / 16777216.0f;
		x[i] = i % 7 == 0 ? (float)((int)(u * 600) - 300) * 0.5f * 0.37f : (u - 0.5f) * 250.0f;
	}
	x[1] = NAN, x[2] = INFINITY, x[3] = -INFINITY, x[4] = -0.0f;
	const float scales[3] = {0.37f, 1.0f, 0.0283611454f};
	for (int k = 0; k < 3; k++) {
		float s = scales[k];
		uint8_t zu = 131;
		int8_t zi = -7;
		rn_quant_params p = {.dtype = RN_U8, .outer = 1, .axis_len = 1, .inner = N};
		assert_int_equal(rn_quantize(&p, x, &s, &zu, qu), RN_OK);
		p.dtype = RN_I8;
		assert_int_equal(rn_quantize(&p, x, &s, &zi, qi), RN_OK);
		for (int i = 0; i < N; i++) {
			float v = x[i] / s;
			float cu = fminf(fmaxf(v, (float)(0 - zu)), (float)(255 - zu));
			float ci = fminf(fmaxf(v, (float)(-128 - zi)), (float)(127 - zi));
			int want_u = (int)nearbyintf(cu) + zu, want_i = (int)nearbyintf(ci) + zi;
			if (qu[i] != want_u || qi[i] != want_i)
				fail_msg("x[%d] = %.9g / %.9g: uint8 %d (want %d), int8 %d (want %d)", i, (double)x[i],
					 (double)s, qu[i], want_u, qi[i], want_i);
		}
	}
}

/* Round half to even, saturation at both ends of uint8 and int8. */
static void test_quantize_rounds_half_to_even_and_saturates(void **state)
{
	(void)state;
	const float x[] = {0.0f, 1.0f, 3.0f, 5.0f, -1.0f, -3.0f, 1000.0f, -1000.0f, 2.9f};
	const float scale = 2.0f;
	/* x / 2 = 0, 0.5, 1.5, 2.5, -0.5, -1.5, 500, -500, 1.45 */
	const uint8_t zp_u = 10;
	const uint8_t want_u[] = {10, 10, 12, 12, 10, 8, 255, 0, 11};
	uint8_t qu[9];
	rn_quant_params p = {.dtype = RN_U8, .outer = 1, .axis_len = 1, .inner = 9};
	assert_int_equal(rn_quantize(&p, x, &scale, &zp_u, qu), RN_OK);
	assert_memory_equal(qu, want_u, 9);
	const int8_t zp_i = -3;
	const int8_t want_i[] = {-3, -3, -1, -1, -3, -5, 127, -128, -2};
	int8_t qi[9];
	p.dtype = RN_I8;
	assert_int_equal(rn_quantize(&p, x, &scale, &zp_i, qi), RN_OK);
	assert_memory_equal(qi, want_i, 9);
	/* no zero point: 0 */
	p.dtype = RN_U8;
	assert_int_equal(rn_quantize(&p, x, &scale, NULL, qu), RN_OK);
	assert_int_equal(qu[3], 2);
	assert_int_equal(qu[4], 0);
	p.dtype = RN_I16;
	assert_int_equal(rn_quantize(&p, x, &scale, NULL, qu), RN_E_UNSUPPORTED);
}

/* Per axis: x is [2][3][2], axis 1, one scale and zero point per channel. */
static void test_per_axis_round_trip(void **state)
{
	(void)state;
	const float scale[3] = {0.5f, 1.0f, 4.0f};
	const int8_t zp[3] = {1, -2, 0};
	const int8_t q[12] = {1, 3, -2, 0, 2, -1, 5, -5, 7, 9, -128, 127};
	float y[12];
	rn_quant_params p = {.dtype = RN_I8, .outer = 2, .axis_len = 3, .inner = 2, .per_axis = 1};
	assert_int_equal(rn_dequantize(&p, q, scale, zp, y), RN_OK);
	const float want[12] = {0.0f, 1.0f, 0.0f, 2.0f, 8.0f, -4.0f, 2.0f, -3.0f, 9.0f, 11.0f, -512.0f, 508.0f};
	for (int i = 0; i < 12; i++)
		assert_true(y[i] == want[i]);
	int8_t back[12];
	assert_int_equal(rn_quantize(&p, y, scale, zp, back), RN_OK);
	assert_memory_equal(back, q, 12);
	/* int32 (a bias): zero point 0 */
	const int32_t b[2] = {-7, 100000};
	const float bs = 0.25f;
	rn_quant_params pb = {.dtype = RN_I32, .outer = 1, .axis_len = 1, .inner = 2};
	assert_int_equal(rn_dequantize(&pb, b, &bs, NULL, y), RN_OK);
	assert_true(y[0] == -1.75f && y[1] == 25000.0f);
}

static void test_dynamic_quantize(void **state)
{
	(void)state;
	/* range [-1, 1.55]: scale 2.55 / 255 = 0.01, zp = round(100) = 100 */
	const float x[4] = {-1.0f, 0.0f, 1.55f, 0.5f};
	uint8_t q[4], zp;
	float scale;
	rn_dynamic_quantize_u8(4, x, q, &scale, &zp);
	assert_true(fabsf(scale - 0.01f) < 1e-7f);
	assert_int_equal(zp, 100);
	assert_int_equal(q[0], 0);
	assert_int_equal(q[1], 100);
	assert_int_equal(q[2], 255);
	assert_int_equal(q[3], 150);
	/* all positive: the range still holds 0 */
	const float pos[2] = {2.55f, 1.0f};
	rn_dynamic_quantize_u8(2, pos, q, &scale, &zp);
	assert_int_equal(zp, 0);
	assert_int_equal(q[0], 255);
	/* all zero: scale 0, everything 0 */
	const float zero[3] = {0};
	rn_dynamic_quantize_u8(3, zero, q, &scale, &zp);
	assert_true(scale == 0.0f);
	assert_int_equal(zp, 0);
	assert_int_equal(q[0] | q[1] | q[2], 0);
}

/* A 1x1-channel 3x3 image, 2x2 kernel, pad 1: the corners of the 4x4
 * output see one tap. ConvInteger (int32 out) and QLinearConv. */
static void test_qlinear_conv(void **state)
{
	(void)state;
	const uint8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10};
	const uint8_t w[4] = {1, 1, 1, 1};
	const uint8_t x_zp = 1, w_zp = 0;
	rn_conv2d_params p = {.n = 1, .c = 1, .h = 3, .w = 3, .m = 1, .oh = 4, .ow = 4, .kh = 2, .kw = 2,
			      .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pt = 1, .pl = 1, .group = 1};
	rn_qlinear_params q = {.x_dtype = RN_U8, .w_dtype = RN_U8, .y_dtype = RN_I32, .x_zp_n = 1,
			       .x_scale_n = 1, .w_zp_n = 1, .w_scale_n = 1};
	int32_t y[16];
	rn_qlinear_conv2d(&p, &q, x, &x_zp, w, &w_zp, NULL, NULL, NULL, NULL, NULL, y);
	/* x - 1 = {1..9}; output (0,0) sees x'(0,0) = 1, (1,1) sees 1+2+4+5 */
	assert_int_equal(y[0], 1);
	assert_int_equal(y[5], 12);
	assert_int_equal(y[15], 9);
	assert_int_equal(y[3], 3);
	/* requantized: mult = 0.5 * 1 / 2 = 0.25; (1,1): 12 * .25 = 3, + zp 7
	 * (bias 2 makes it 14 * .25 = 3.5 -> 4, half to even) */
	const float xs = 0.5f, ws = 1.0f, ys = 2.0f;
	const uint8_t yz = 7;
	const int32_t bias = 2;
	uint8_t y8[16];
	q.y_dtype = RN_U8;
	rn_qlinear_conv2d(&p, &q, x, &x_zp, w, &w_zp, &bias, &xs, &ws, &ys, &yz, y8);
	assert_int_equal(y8[5], 11);
	assert_int_equal(y8[0], 8); /* (1 + 2) * .25 = .75 -> 1 */
}

/* MatMulInteger with a per-row A zero point and per-column B zero point. */
static void test_qlinear_matmul(void **state)
{
	(void)state;
	const int8_t a[4] = {1, 2, 3, 4};  /* 2x2 */
	const int8_t b[4] = {5, 6, 7, 8};  /* 2x2 */
	const int8_t az[2] = {1, 0}, bz[2] = {0, 1};
	rn_matmul_params p = {.m = 2, .n = 2, .k = 2};
	rn_qlinear_params q = {.x_dtype = RN_I8, .w_dtype = RN_I8, .y_dtype = RN_I32, .x_zp_n = 2,
			       .x_scale_n = 1, .w_zp_n = 2, .w_scale_n = 1};
	int32_t y[4];
	rn_qlinear_matmul(&p, &q, a, az, b, bz, NULL, NULL, NULL, NULL, y);
	/* A' = {0,1;3,4}, B' = {5,5;7,7} */
	assert_int_equal(y[0], 7);
	assert_int_equal(y[1], 7);
	assert_int_equal(y[2], 43);
	assert_int_equal(y[3], 43);
}

/* MatMulInteger on shapes whose rows take the vector path (16 columns at
 * a time, pairs of k) and its scalar tails: odd k, a column tail, both
 * input types, extreme values, per-row and per-column zero points;
 * against the sums computed here in int64. */
static void test_qlinear_matmul_wide(void **state)
{
	(void)state;
	static const int shapes[][3] = { { 1, 40, 37 }, { 3, 16, 2 }, { 1, 1000, 2048 }, { 2, 17, 1 }, { 1, 300, 255 } };
	uint64_t r = 12345;
	for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
		for (int xt = 0; xt < 2; xt++) {
			const int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
			uint8_t *a = malloc((size_t)m * k), *az = malloc((size_t)m);
			int8_t *b = malloc((size_t)k * n), *bz = malloc((size_t)n);
			int32_t *y = malloc(sizeof(int32_t) * m * n);
			assert_true(a && az && b && bz && y);
			for (int i = 0; i < m * k; i++) {
				r = r * 6364136223846793005u + 1442695040888963407u;
				a[i] = (uint8_t)(i % 7 == 0 ? (xt ? 0x80 : 0xff) : r >> 56);
			}
			for (int i = 0; i < k * n; i++) {
				r = r * 6364136223846793005u + 1442695040888963407u;
				b[i] = (int8_t)(i % 5 == 0 ? -128 : (int)(r >> 56) - 128);
			}
			for (int i = 0; i < m; i++)
				az[i] = (uint8_t)(xt ? 0x7f : i * 37);
			for (int j = 0; j < n; j++)
				bz[j] = (int8_t)(j % 3 - 1);
			rn_matmul_params p = {.m = m, .n = n, .k = k};
			rn_qlinear_params q = {.x_dtype = xt ? RN_I8 : RN_U8, .w_dtype = RN_I8, .y_dtype = RN_I32,
					       .x_zp_n = m, .x_scale_n = 1, .w_zp_n = n, .w_scale_n = 1};
			rn_qlinear_matmul(&p, &q, a, az, b, bz, NULL, NULL, NULL, NULL, y);
			for (int i = 0; i < m; i++)
				for (int j = 0; j < n; j++) {
					int64_t acc = 0;
					for (int kk = 0; kk < k; kk++) {
						int av = xt ? (int)(int8_t)a[i * k + kk] - (int8_t)az[i] : a[i * k + kk] - az[i];
						acc += (int64_t)av * (b[kk * n + j] - bz[j]);
					}
					if (y[i * n + j] != acc)
						fail_msg("%dx%dx%d %s: y[%d][%d] = %d, expected %lld", m, n, k, xt ? "int8" : "uint8",
							 i, j, y[i * n + j], (long long)acc);
				}
			free(a);
			free(az);
			free(b);
			free(bz);
			free(y);
		}
}

/* QGemm on a fully connected layer's shape (1 x 2048 by 2048 x 1000,
 * and a narrow one), serially and with 2 and 3 threads splitting the
 * columns: the int32 sums against those taken here. */
static void test_qgemm_threads(void **state)
{
	(void)state;
	static const int shapes[][2] = { { 1000, 2048 }, { 130, 67 } };
	uint64_t r = 777;
	for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
		const int n = shapes[si][0], k = shapes[si][1];
		uint8_t *a = malloc((size_t)k), az = 9;
		int8_t *b = malloc((size_t)k * n), bz = 0;
		int32_t *bias = malloc(sizeof(int32_t) * n), *y = malloc(sizeof(int32_t) * n);
		assert_true(a && b && bias && y);
		for (int i = 0; i < k; i++) {
			r = r * 6364136223846793005u + 1442695040888963407u;
			a[i] = (uint8_t)(i % 9 == 0 ? 0xff : r >> 56);
		}
		for (int i = 0; i < k * n; i++) {
			r = r * 6364136223846793005u + 1442695040888963407u;
			b[i] = (int8_t)(i % 7 == 0 ? -128 : (int)(r >> 56) - 128);
		}
		for (int j = 0; j < n; j++)
			bias[j] = j * 1001 - 500000;
		for (int threads = 1; threads <= 3; threads++) {
			rn_threadpool *tp = threads > 1 ? rn_threadpool_create(threads) : NULL;
			assert_true(threads == 1 || tp != NULL);
			rn_matmul_params p = {.m = 1, .n = n, .k = k};
			rn_qlinear_params q = {.x_dtype = RN_U8, .w_dtype = RN_I8, .y_dtype = RN_I32,
					       .x_zp_n = 1, .x_scale_n = 1, .w_zp_n = 1, .w_scale_n = 1};
			const float one = 1.0f;
			rn_qgemm(&p, &q, 1.0f, a, &az, b, &bz, bias, &one, &one, NULL, NULL, y, tp);
			for (int j = 0; j < n; j++) {
				int64_t acc = bias[j];
				for (int kk = 0; kk < k; kk++)
					acc += (int64_t)(a[kk] - az) * b[kk * n + j];
				if (y[j] != acc)
					fail_msg("qgemm 1x%dx%d, %d thread(s): y[%d] = %d, expected %lld", n, k, threads, j,
						 y[j], (long long)acc);
			}
			rn_threadpool_destroy(tp);
		}
		free(a);
		free(b);
		free(bias);
		free(y);
	}
}

/* QLinearGlobalAveragePool on planes long and short (the vector sums and
 * their tails), both types, extreme bytes: against the mean taken here. */
static void test_qlinear_global_avg_planes(void **state)
{
	(void)state;
	static const int lens[] = { 1, 15, 16, 17, 49, 196, 3136 };
	uint64_t r = 99;
	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
		for (int t = 0; t < 2; t++) {
			const int n = lens[li], outer = 3;
			uint8_t *x = malloc((size_t)n * outer), y[3];
			assert_non_null(x);
			for (int i = 0; i < n * outer; i++) {
				r = r * 6364136223846793005u + 1442695040888963407u;
				x[i] = (uint8_t)(i % 11 == 0 ? 0xff : i % 13 == 0 ? 0 : i % 17 == 0 ? 0x80 : r >> 56);
			}
			const float xs = 0.05f, ys = 0.04f;
			const uint8_t zu = 7;
			const int8_t zi = -3;
			const void *zp = t ? (const void *)&zi : (const void *)&zu;
			rn_qlinear_global_avg(t ? RN_I8 : RN_U8, outer, n, x, &xs, zp, &ys, zp, y);
			for (int o = 0; o < outer; o++) {
				int64_t sum = 0;
				for (int i = 0; i < n; i++)
					sum += (t ? (int)(int8_t)x[o * n + i] : (int)x[o * n + i]) - (t ? zi : zu);
				double mean = (double)sum / n * ((double)xs / ys);
				float v = nearbyintf((float)mean) + (t ? zi : zu);
				v = v < (t ? -128 : 0) ? (t ? -128 : 0) : v > (t ? 127 : 255) ? (t ? 127 : 255) : v;
				int got = t ? (int)(int8_t)y[o] : (int)y[o];
				if (got != (int)v)
					fail_msg("%s plane of %d: %d, expected %d", t ? "int8" : "uint8", n, got, (int)v);
			}
			free(x);
		}
}

/* onnxruntime's QLinearAdd (broadcast b), QLinearGlobalAveragePool and
 * QGemm (bias, alpha, float output). */
static void test_com_microsoft_operators(void **state)
{
	(void)state;
	const uint8_t a[2] = {10, 20}, b[1] = {3}, za = 10, zb = 1, zy = 100;
	const float sa = 0.5f, sb = 1.0f, sy = 2.0f;
	rn_binary_params p = {.op = RN_ADD, .dtype = RN_U8, .rank = 1, .dims = {2}, .sa = {1}, .sb = {0}};
	uint8_t y[2];
	rn_qlinear_add(&p, a, &sa, &za, b, &sb, &zb, &sy, &zy, y);
	/* (0 + 2) / 2 = 1; (5 + 2) / 2 = 3.5 -> 4 (half to even) */
	assert_int_equal(y[0], 101);
	assert_int_equal(y[1], 104);

	const uint8_t x[8] = {1, 2, 3, 4, 0, 0, 0, 1}, zx = 0, zg = 0;
	const float sx = 1.0f, sg = 0.5f;
	uint8_t g[2];
	rn_qlinear_global_avg(RN_U8, 2, 4, x, &sx, &zx, &sg, &zg, g);
	assert_int_equal(g[0], 5); /* 2.5 / 0.5 */
	assert_int_equal(g[1], 0); /* 0.25 / 0.5 = 0.5 -> 0 */

	const int8_t ga[2] = {1, 2}, gb[4] = {1, 2, 3, 4};
	const int32_t bias[2] = {10, -1};
	const float as = 0.5f, bs[2] = {1.0f, 2.0f};
	rn_matmul_params mm = {.m = 1, .n = 2, .k = 2};
	rn_qlinear_params q = {.x_dtype = RN_I8, .w_dtype = RN_I8, .y_dtype = RN_F32, .x_zp_n = 1,
			       .x_scale_n = 1, .w_zp_n = 1, .w_scale_n = 2};
	float out[2];
	rn_qgemm(&mm, &q, 2.0f, ga, NULL, gb, NULL, bias, &as, bs, NULL, NULL, out, NULL);
	/* acc = {1 + 6 + 10, 2 + 8 - 1} = {17, 9}; x 0.5 x {1, 2} x 2 */
	assert_true(out[0] == 17.0f);
	assert_true(out[1] == 18.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantize_rounds_half_to_even_and_saturates),
		cmocka_unit_test(test_quantize_matches_the_definition_everywhere),
		cmocka_unit_test(test_per_axis_round_trip),
		cmocka_unit_test(test_dynamic_quantize),
		cmocka_unit_test(test_qlinear_conv),
		cmocka_unit_test(test_qlinear_matmul),
		cmocka_unit_test(test_qlinear_matmul_wide),
		cmocka_unit_test(test_qgemm_threads),
		cmocka_unit_test(test_qlinear_global_avg_planes),
		cmocka_unit_test(test_com_microsoft_operators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
