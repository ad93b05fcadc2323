/*
 * rn_pool (MaxPool, AveragePool, Indices), rn_global_avg_f32,
 * rn_global_max_f32 and rn_reduce_mean_f32 against naive references that
 * visit every tap of every window and test its bounds, over 1-D to 3-D,
 * strides, dilations, asymmetric pads and ceil_mode windows that overhang
 * (or start in) the end padding; plus ONNX's own MaxPool-with-indices
 * examples as hand values.
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

static uint64_t rng = 99;
static float frand(void)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
static int irand(int n) { return (int)((frand() + 1.0f) * 0.5f * (float)n) % n; }

/* Reference for one output element; returns its value, *idx the argmax. */
static double ref_pool(const rn_pool_params *p, const float *x, const uint8_t *xu,
		       int64_t c, const int64_t *o, int64_t *idx)
{
	int64_t in[3] = { 1, 1, 1 };
	for (int i = 0; i < p->nsp; i++)
		in[i] = p->in[i];
	int k[3] = { 1, 1, 1 }, s[3] = { 1, 1, 1 }, d[3] = { 1, 1, 1 }, pb[3] = { 0 },
	    pe[3] = { 0 };
	for (int i = 0; i < p->nsp; i++) {
		k[i] = p->k[i]; s[i] = p->s[i]; d[i] = p->d[i];
		pb[i] = p->pad_begin[i]; pe[i] = p->pad_end[i];
	}
	double sum = 0, best = 0;
	int64_t valid = 0, padded = 1, found = 0;
	for (int i = 0; i < 3; i++) {
		int64_t n = 0;
		for (int t = 0; t < k[i]; t++) {
			int64_t v = o[i] * s[i] - pb[i] + (int64_t)t * d[i];
			n += v >= -pb[i] && v < in[i] + pe[i];
		}
		padded *= n;
	}
	*idx = -1;
	for (int t0 = 0; t0 < k[0]; t0++)
	for (int t1 = 0; t1 < k[1]; t1++)
	for (int t2 = 0; t2 < k[2]; t2++) {
		int64_t i0 = o[0] * s[0] - pb[0] + (int64_t)t0 * d[0];
		int64_t i1 = o[1] * s[1] - pb[1] + (int64_t)t1 * d[1];
		int64_t i2 = o[2] * s[2] - pb[2] + (int64_t)t2 * d[2];
		if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
			continue;
		int64_t flat = c * in[0] * in[1] * in[2] + (i0 * in[1] + i1) * in[2] + i2;
		double v = xu ? xu[flat] : x[flat];
		sum += v;
		valid++;
		if (!found || v > best) {
			best = v;
			found = 1;
			int64_t sp = p->storage_order ? i0 + i1 * in[0] + i2 * in[0] * in[1]
						      : (i0 * in[1] + i1) * in[2] + i2;
			*idx = c * in[0] * in[1] * in[2] + sp;
		}
	}
	if (p->kind == RN_POOL_MAX)
		return best;
	int64_t count = p->count_include_pad ? padded : valid;
	return count ? sum / (double)count : 0.0;
}

static int64_t out_size(int64_t in, int k, int s, int d, int pb, int pe, int ceil_mode)
{
	int64_t span = in + pb + pe - ((int64_t)(k - 1) * d + 1);
	int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
	if (ceil_mode && (o - 1) * s >= in + pb) /* ONNX drops a window starting in the end pad */
		o--;
	return o;
}

/* Float MaxPool without indices (the row-wise path for 1-D and 2-D, when
 * not dilated) must give what the indices path gave, bit for bit, alone
 * and split over two threads. */
static void check_max_paths_agree(const rn_pool_params *p, const float *x, const float *want,
				  int64_t out_n)
{
	float *y = malloc(sizeof(float) * (size_t)out_n);
	rn_threadpool *tps[2] = { NULL, rn_threadpool_global(2) };
	for (int i = 0; i < 2; i++) {
		for (int64_t e = 0; e < out_n; e++)
			y[e] = 12345.0f;
		rn_pool(p, x, y, NULL, tps[i]);
		if (memcmp(y, want, sizeof(float) * (size_t)out_n) != 0)
			fail_msg("MaxPool nsp %d without indices (threads %d) differs", p->nsp, i + 1);
	}
	free(y);
}

static void check_pool(const rn_pool_params *p)
{
	int64_t in_n = p->nc, out_n = p->nc;
	for (int i = 0; i < p->nsp; i++) {
		in_n *= p->in[i];
		out_n *= p->out[i];
	}
	int u8 = p->dtype == RN_U8;
	float *x = malloc(sizeof(float) * (size_t)in_n), *y = malloc(sizeof(float) * (size_t)out_n);
	uint8_t *xu = malloc((size_t)in_n), *yu = malloc((size_t)out_n);
	int64_t *idx = malloc(sizeof(int64_t) * (size_t)out_n);
	for (int64_t i = 0; i < in_n; i++) {
		x[i] = frand();
		xu[i] = (uint8_t)irand(256);
	}
	if (in_n > 3)
		x[1] = x[2]; /* a tie: the first in window order must win */
	rn_pool(p, u8 ? (const void *)xu : x, u8 ? (void *)yu : y,
		p->kind == RN_POOL_MAX ? idx : NULL, NULL);
	if (p->kind == RN_POOL_MAX && !u8)
		check_max_paths_agree(p, x, y, out_n);
	if (p->kind == RN_POOL_MAX && u8) {
		/* without indices: the row-wise uint8 path, on 1, 2 and 3
		 * threads (they split the output rows), the same bytes */
		rn_threadpool *tp3 = rn_threadpool_create(3);
		rn_threadpool *tps[3] = { NULL, rn_threadpool_global(2), tp3 };
		uint8_t *yv = malloc((size_t)out_n);
		assert_non_null(yv);
		for (int i = 0; i < 3; i++) {
			memset(yv, 0xa5, (size_t)out_n);
			rn_pool(p, xu, yv, NULL, tps[i]);
			if (memcmp(yv, yu, (size_t)out_n) != 0)
				fail_msg("uint8 MaxPool nsp %d without indices (pool %d) differs", p->nsp, i);
		}
		free(yv);
		rn_threadpool_destroy(tp3);
	}
	int64_t o[3] = { 0, 0, 0 }, outd[3] = { 1, 1, 1 };
	for (int i = 0; i < p->nsp; i++)
		outd[i] = p->out[i];
	int64_t e = 0;
	for (int64_t c = 0; c < p->nc; c++)
	for (o[0] = 0; o[0] < outd[0]; o[0]++)
	for (o[1] = 0; o[1] < outd[1]; o[1]++)
	for (o[2] = 0; o[2] < outd[2]; o[2]++, e++) {
		int64_t want_idx;
		double want = ref_pool(p, x, u8 ? xu : NULL, c, o, &want_idx);
		double got = u8 ? yu[e] : y[e];
		/* a mean of up to 27 floats summed in double: float rounding */
		if (!(fabs(got - want) <= 1e-6))
			fail_msg("kind %d nsp %d out %lld: %g, want %g", p->kind, p->nsp,
				 (long long)e, got, want);
		if (p->kind == RN_POOL_MAX && idx[e] != want_idx)
			fail_msg("index %lld: %lld, want %lld", (long long)e, (long long)idx[e],
				 (long long)want_idx);
	}
	free(x); free(y); free(xu); free(yu); free(idx);
}

static rn_pool_params random_params(int kind, int nsp, int ceil_mode)
{
	rn_pool_params p = { .kind = kind, .dtype = RN_F32, .nc = 1 + irand(3), .nsp = nsp };
	for (int i = 0; i < nsp; i++) {
		p.k[i] = 1 + irand(3);
		p.s[i] = 1 + irand(3);
		p.d[i] = 1 + irand(2);
		int ext = (p.k[i] - 1) * p.d[i] + 1;
		p.pad_begin[i] = irand(p.k[i]);
		p.pad_end[i] = irand(p.k[i]);
		p.in[i] = ext + irand(8);
		p.out[i] = out_size(p.in[i], p.k[i], p.s[i], p.d[i], p.pad_begin[i],
				    p.pad_end[i], ceil_mode);
	}
	p.count_include_pad = irand(2);
	p.storage_order = kind == RN_POOL_MAX ? irand(2) : 0;
	return p;
}

static void test_pool_random_max_and_avg_1d_to_3d(void **state)
{
	(void)state;
	for (int t = 0; t < 300; t++) {
		rn_pool_params p = random_params(t & 1, 1 + (t / 2) % 3, (t / 6) & 1);
		check_pool(&p);
	}
}

static void test_pool_u8_max(void **state)
{
	(void)state;
	for (int t = 0; t < 40; t++) {
		rn_pool_params p = random_params(RN_POOL_MAX, 2, t & 1);
		p.dtype = RN_U8;
		check_pool(&p);
	}
}

static void test_pool_resnet_stem_maxpool(void **state)
{
	(void)state;
	rn_pool_params p = { .kind = RN_POOL_MAX, .dtype = RN_F32, .nc = 4, .nsp = 2,
			     .in = { 112, 112 }, .out = { 56, 56 }, .k = { 3, 3 },
			     .s = { 2, 2 }, .d = { 1, 1 }, .pad_begin = { 1, 1 },
			     .pad_end = { 1, 1 } };
	check_pool(&p);
	/* a quantized model's stem: the same on uint8 (the row-wise u8 path) */
	p.dtype = RN_U8;
	check_pool(&p);
	p.nsp = 1;
	p.in[0] = 37, p.out[0] = 18, p.k[0] = 3, p.s[0] = 2, p.pad_begin[0] = 1, p.pad_end[0] = 0;
	check_pool(&p);
}

/* Ties between +0 and -0 and NaN taps: the first in window order wins, in
 * the row-wise path as in the reference's visiting order. */
static void test_maxpool_signed_zero_and_nan_order(void **state)
{
	(void)state;
	rn_pool_params p = { .kind = RN_POOL_MAX, .dtype = RN_F32, .nc = 3, .nsp = 2,
			     .in = { 9, 40 }, .out = { 5, 20 }, .k = { 3, 3 }, .s = { 2, 2 },
			     .d = { 1, 1 }, .pad_begin = { 1, 1 }, .pad_end = { 1, 1 } };
	/* rows of 40: 19 windows inside the row, so vector code covers most */
	float x[3 * 360], y[3 * 100], yi[3 * 100];
	int64_t idx[3 * 100];
	const float vals[5] = { 0.0f, -0.0f, -1.0f, NAN, -2.0f };
	for (int t = 0; t < 50; t++) {
		for (int i = 0; i < 3 * 360; i++)
			x[i] = vals[irand(t < 25 ? 3 : 5)];
		rn_pool(&p, x, yi, idx, NULL);
		for (int e = 0; e < 3 * 100; e++) { /* the indices path is the reference's */
			float v = x[idx[e]];
			assert_memory_equal(&yi[e], &v, sizeof v);
		}
		rn_pool(&p, x, y, NULL, NULL);
		assert_memory_equal(y, yi, sizeof y);
	}
}

static void test_avgpool_ceil_window_in_end_padding(void **state)
{
	(void)state;
	/* in 4, k 2, s 3, ceil: windows start at 0 and 3; with pad_end 2 and
	 * the compiler keeping a window at 6 (all padding), the mean of no
	 * valid taps is 0 */
	rn_pool_params p = { .kind = RN_POOL_AVG, .dtype = RN_F32, .nc = 1, .nsp = 1,
			     .in = { 4 }, .out = { 3 }, .k = { 2 }, .s = { 3 }, .d = { 1 },
			     .pad_end = { 3 } };
	float x[4] = { 1, 2, 3, 4 }, y[3];
	rn_pool(&p, x, y, NULL, NULL);
	assert_true(y[0] == 1.5f && y[1] == 4.0f && y[2] == 0.0f);
	p.count_include_pad = 1; /* window at 3 has taps 3 and 4 (pad): (4 + 0) / 2 */
	rn_pool(&p, x, y, NULL, NULL);
	assert_true(y[0] == 1.5f && y[1] == 2.0f);
	/* window at 6: tap 6 is inside [-0, 4 + 3), tap 7 is beyond: 0 / 1 */
	assert_true(y[2] == 0.0f);
}

static void test_maxpool_indices_onnx_examples(void **state)
{
	(void)state;
	float x[25], y[25];
	int64_t idx[25];
	for (int i = 0; i < 25; i++)
		x[i] = (float)(i + 1);
	/* test_maxpool_with_argmax_2d_precomputed_pads: k 5, pads 2 */
	rn_pool_params p = { .kind = RN_POOL_MAX, .dtype = RN_F32, .nc = 1, .nsp = 2,
			     .in = { 5, 5 }, .out = { 5, 5 }, .k = { 5, 5 }, .s = { 1, 1 },
			     .d = { 1, 1 }, .pad_begin = { 2, 2 }, .pad_end = { 2, 2 } };
	rn_pool(&p, x, y, idx, NULL);
	const float want_y[5] = { 13, 14, 15, 15, 15 };
	const int64_t want_i[5] = { 12, 13, 14, 14, 14 };
	for (int r = 0; r < 5; r++)
		for (int c = 0; c < 5; c++) {
			int rr = r < 2 ? r : 2;
			assert_true(y[r * 5 + c] == want_y[c] + 5 * rr);
			assert_int_equal(idx[r * 5 + c], want_i[c] + 5 * rr);
		}
	/* test_maxpool_with_argmax_2d_precomputed_strides: k 2, s 2,
	 * storage_order 1 (column-major indices) */
	rn_pool_params q = { .kind = RN_POOL_MAX, .dtype = RN_F32, .nc = 1, .nsp = 2,
			     .in = { 5, 5 }, .out = { 2, 2 }, .k = { 2, 2 }, .s = { 2, 2 },
			     .d = { 1, 1 }, .storage_order = 1 };
	rn_pool(&q, x, y, idx, NULL);
	assert_true(y[0] == 7 && y[1] == 9 && y[2] == 17 && y[3] == 19);
	assert_true(idx[0] == 6 && idx[1] == 16 && idx[2] == 8 && idx[3] == 18);
}

static void test_global_avg_and_max(void **state)
{
	(void)state;
	float x[3 * 49], ya[3], ym[3];
	for (int i = 0; i < 3 * 49; i++)
		x[i] = frand();
	rn_global_avg_f32(3, 49, x, ya);
	rn_global_max_f32(3, 49, x, ym);
	for (int r = 0; r < 3; r++) {
		double s = 0, m = -INFINITY;
		for (int j = 0; j < 49; j++) {
			s += x[r * 49 + j];
			m = fmax(m, x[r * 49 + j]);
		}
		assert_true(fabs(ya[r] - s / 49) <= 1e-7); /* one rounding of a value <= 1 */
		assert_true(ym[r] == (float)m);
	}
	x[5] = NAN;
	rn_global_max_f32(1, 49, x, ym);
	assert_true(isnan(ym[0]));
}

static void test_reduce_mean_any_axes(void **state)
{
	(void)state;
	int64_t dims[4] = { 2, 3, 4, 5 };
	float x[120], y[120];
	for (int i = 0; i < 120; i++)
		x[i] = frand();
	for (unsigned mask = 0; mask < 16; mask++) {
		rn_reduce_mean_f32(4, dims, mask, x, y);
		int64_t od[4], n_red = 1;
		for (int a = 0; a < 4; a++) {
			od[a] = mask >> a & 1 ? 1 : dims[a];
			n_red *= mask >> a & 1 ? dims[a] : 1;
		}
		int64_t e = 0;
		for (int64_t i0 = 0; i0 < od[0]; i0++)
		for (int64_t i1 = 0; i1 < od[1]; i1++)
		for (int64_t i2 = 0; i2 < od[2]; i2++)
		for (int64_t i3 = 0; i3 < od[3]; i3++, e++) {
			double s = 0;
			for (int64_t j = 0; j < 120; j++) {
				int64_t c[4] = { j / 60, j / 20 % 3, j / 5 % 4, j % 5 };
				if ((mask & 1 || c[0] == i0) && (mask & 2 || c[1] == i1) &&
				    (mask & 4 || c[2] == i2) && (mask & 8 || c[3] == i3))
					s += x[j];
			}
			if (!(fabs(y[e] - s / (double)n_red) <= 1e-6))
				fail_msg("mask %u out %lld: %g, want %g", mask, (long long)e, y[e],
					 s / (double)n_red);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_random_max_and_avg_1d_to_3d),
		cmocka_unit_test(test_pool_u8_max),
		cmocka_unit_test(test_pool_resnet_stem_maxpool),
		cmocka_unit_test(test_maxpool_signed_zero_and_nan_order),
		cmocka_unit_test(test_avgpool_ceil_window_in_end_padding),
		cmocka_unit_test(test_maxpool_indices_onnx_examples),
		cmocka_unit_test(test_global_avg_and_max),
		cmocka_unit_test(test_reduce_mean_any_axes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
