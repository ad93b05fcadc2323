/*
 * rn_conv2d_f32 against a direct seven-loop convolution computed in
 * double, over random shapes and the edge cases the tiling has to get
 * right: padding on every side, strides, dilations, groups (incl.
 * depthwise), 1x1 (the GEMM path), widths around the tile sizes, output
 * channel counts that are not a multiple of the register block, the fused
 * bias/residual/activation epilogue, and residual == y.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float frand(void) /* uniform in [-1, 1) */
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

static double act_ref(int act, double a, double b, double v)
{
	switch (act) {
	case RN_ACT_RELU: return v < 0 ? 0 : v;
	case RN_ACT_LEAKY_RELU: return v < 0 ? a * v : v;
	case RN_ACT_CLIP: return v < a ? a : v > b ? b : v;
	case RN_ACT_SIGMOID: return 1 / (1 + exp(-v));
	default: return v;
	}
}

static void conv_ref(const rn_conv2d_params *p, const float *x, const float *w,
		     const float *bias, const float *res, double *y)
{
	int cg = p->c / p->group, mg = p->m / p->group;
	for (int n = 0; n < p->n; n++)
	for (int m = 0; m < p->m; m++)
	for (int oy = 0; oy < p->oh; oy++)
	for (int ox = 0; ox < p->ow; ox++) {
		int g = m / mg;
		double s = bias ? bias[m] : 0;
		for (int c = 0; c < cg; c++)
		for (int ky = 0; ky < p->kh; ky++)
		for (int kx = 0; kx < p->kw; kx++) {
			int iy = oy * p->sh - p->pt + ky * p->dh;
			int ix = ox * p->sw - p->pl + kx * p->dw;
			if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
				continue;
			s += (double)x[((n * p->c + g * cg + c) * p->h + iy) * p->w + ix] *
			     w[((m * cg + c) * p->kh + ky) * p->kw + kx];
		}
		size_t o = (((size_t)n * p->m + m) * p->oh + oy) * p->ow + ox;
		if (res)
			s += res[o];
		y[o] = act_ref(p->act, p->alpha, p->beta, s);
	}
}

/* Output size for pads pt/pb, pl/pr as ONNX defines it (floor mode). */
static rn_conv2d_params make(int n, int c, int h, int w, int m, int kh, int kw, int s,
			     int d, int pt, int pb, int pl, int pr, int group, int act)
{
	rn_conv2d_params p = {
		.n = n, .c = c, .h = h, .w = w, .m = m, .kh = kh, .kw = kw, .sh = s,
		.sw = s, .dh = d, .dw = d, .pt = pt, .pl = pl, .group = group, .act = act,
		.alpha = 0.1f, .beta = 6.0f,
	};
	if (act == RN_ACT_CLIP) {
		p.alpha = -0.5f;
		p.beta = 0.5f;
	}
	p.oh = (h + pt + pb - ((kh - 1) * d + 1)) / s + 1;
	p.ow = (w + pl + pr - ((kw - 1) * d + 1)) / s + 1;
	return p;
}

enum { GUARD = 64 };
static const float SENTINEL = 1234.5f;

/* Runs one case; returns 0 if every output matches. residual_mode: 0 none,
 * 1 separate buffer, 2 residual is y itself. */
static int run_case(const rn_conv2d_params *p, int with_bias, int residual_mode)
{
	size_t xn = (size_t)p->n * p->c * p->h * p->w;
	size_t wn = (size_t)p->m * (p->c / p->group) * p->kh * p->kw;
	size_t yn = (size_t)p->n * p->m * p->oh * p->ow;
	float *x = malloc(xn * sizeof *x), *w = malloc(wn * sizeof *w);
	float *bias = malloc((size_t)p->m * sizeof *bias);
	float *res = malloc(yn * sizeof *res);
	float *ybuf = malloc((yn + 2 * GUARD) * sizeof *ybuf);
	double *ref = malloc(yn * sizeof *ref);
	float *y = ybuf + GUARD;
	for (size_t i = 0; i < xn; i++) x[i] = frand();
	for (size_t i = 0; i < wn; i++) w[i] = frand();
	for (int i = 0; i < p->m; i++) bias[i] = frand();
	for (size_t i = 0; i < yn; i++) res[i] = frand();
	for (size_t i = 0; i < yn + 2 * GUARD; i++) ybuf[i] = SENTINEL;
	const float *rp = NULL;
	if (residual_mode == 1)
		rp = res;
	if (residual_mode == 2) {
		memcpy(y, res, yn * sizeof *y);
		rp = y;
	}
	conv_ref(p, x, w, with_bias ? bias : NULL, residual_mode ? res : NULL, ref);
	rn_conv2d_f32(p, x, w, with_bias ? bias : NULL, rp, y);
	/* Float accumulation over cg*kh*kw products of values in [-1, 1) in an
	 * order different from the reference: error grows like sqrt(terms)
	 * times float epsilon; 1e-5 * terms bounds it with a wide margin. */
	double tol = 1e-5 * (double)(p->c / p->group * p->kh * p->kw + 2);
	int bad = 0;
	for (size_t i = 0; i < yn && bad < 5; i++) {
		if (!(fabs(y[i] - ref[i]) <= tol)) {
			print_error("y[%zu] = %g, reference %g\n", i, y[i], ref[i]);
			bad++;
		}
	}
	for (size_t i = 0; i < GUARD; i++)
		if (ybuf[i] != SENTINEL || ybuf[GUARD + yn + i] != SENTINEL) {
			print_error("write outside y\n");
			bad++;
			break;
		}
	free(x); free(w); free(bias); free(res); free(ybuf); free(ref);
	return bad;
}

static void check(rn_conv2d_params p, int with_bias, int residual_mode)
{
	if (run_case(&p, with_bias, residual_mode)) {
		print_error("case n=%d c=%d h=%d w=%d m=%d k=%dx%d s=%d d=%d pads=%d,%d "
			    "group=%d act=%d bias=%d res=%d\n", p.n, p.c, p.h, p.w, p.m,
			    p.kh, p.kw, p.sh, p.dh, p.pt, p.pl, p.group, p.act, with_bias,
			    residual_mode);
		fail();
	}
}

static void test_conv_3x3_pad1_matches_reference(void **state)
{
	(void)state;
	check(make(1, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 5, 56, 56, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_RELU), 1, 0);
	check(make(2, 3, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 0, 0);
}

static void test_conv_widths_around_tile_sizes(void **state)
{
	(void)state;
	int widths[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 20, 24, 31, 33, 40 };
	for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
		check(make(1, 3, 3, widths[i], 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 0);
		check(make(1, 3, 2, widths[i], 5, 1, 3, 1, 1, 0, 0, 0, 2, 1, RN_ACT_NONE), 1, 0);
	}
}

static void test_conv_asymmetric_and_large_pads(void **state)
{
	(void)state;
	check(make(1, 2, 6, 7, 8, 3, 3, 1, 1, 0, 2, 2, 0, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 2, 5, 5, 4, 3, 3, 2, 1, 1, 0, 0, 1, 1, RN_ACT_NONE), 1, 0);
	/* pads wider than the kernel: whole output rows and columns see only padding */
	check(make(1, 2, 3, 3, 8, 2, 2, 1, 1, 4, 4, 4, 4, 1, RN_ACT_NONE), 1, 0);
}

static void test_conv_strides_and_dilations(void **state)
{
	(void)state;
	check(make(1, 3, 30, 30, 16, 7, 7, 2, 1, 3, 3, 3, 3, 1, RN_ACT_RELU), 1, 0);
	check(make(1, 4, 17, 19, 8, 3, 3, 2, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 4, 17, 19, 8, 1, 1, 2, 1, 0, 0, 0, 0, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 3, 20, 21, 8, 3, 3, 1, 2, 2, 2, 2, 2, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 3, 20, 41, 12, 3, 3, 3, 3, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 0);
	/* strided with many channels: computed tap by tap */
	check(make(1, 20, 9, 23, 8, 3, 3, 2, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 2);
	check(make(1, 24, 8, 9, 9, 3, 3, 3, 1, 2, 1, 2, 1, 1, RN_ACT_NONE), 1, 0);
}

/* Small "same" convolutions are tiled over the flattened output plane. */
static void test_conv_small_same_planes(void **state)
{
	(void)state;
	check(make(1, 4, 7, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_RELU), 1, 2);
	check(make(2, 6, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 1);
	check(make(1, 4, 9, 9, 8, 3, 3, 1, 2, 2, 2, 2, 2, 1, RN_ACT_NONE), 0, 0);
	check(make(1, 6, 14, 14, 4, 5, 5, 1, 1, 2, 2, 2, 2, 2, RN_ACT_NONE), 1, 2);
	check(make(1, 3, 6, 5, 8, 3, 3, 1, 1, 2, 0, 1, 1, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE), 1, 2);
	check(make(1, 8, 1, 3, 8, 1, 3, 1, 1, 0, 0, 1, 1, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 3, 7, 7, 8, 7, 7, 1, 1, 3, 3, 3, 3, 1, RN_ACT_NONE), 1, 0);
}

static void test_conv_kernel_wider_than_the_stack_window(void **state)
{
	(void)state;
	/* a 40x40 kernel: its window does not fit the stack buffer */
	check(make(1, 2, 44, 45, 8, 40, 40, 1, 1, 2, 2, 2, 2, 1, RN_ACT_NONE), 1, 0);
	check(make(1, 1, 20, 60, 3, 3, 25, 1, 2, 1, 1, 30, 30, 1, RN_ACT_NONE), 1, 0);
}

static void test_conv_groups_and_depthwise(void **state)
{
	(void)state;
	check(make(1, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, RN_ACT_NONE), 1, 0);
	check(make(2, 6, 9, 20, 12, 3, 3, 1, 1, 1, 1, 1, 1, 3, RN_ACT_RELU), 1, 0);
	check(make(1, 16, 8, 8, 32, 3, 3, 2, 1, 1, 1, 1, 1, 2, RN_ACT_NONE), 1, 0);
	check(make(1, 4, 6, 6, 8, 1, 1, 1, 1, 0, 0, 0, 0, 2, RN_ACT_NONE), 1, 0);
}

static void test_conv_1x1_gemm_path(void **state)
{
	(void)state;
	check(make(1, 16, 14, 14, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, RN_ACT_RELU), 1, 0);
	check(make(2, 5, 3, 5, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, RN_ACT_NONE), 1, 1);
	check(make(1, 64, 7, 7, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, RN_ACT_NONE), 0, 2);
	check(make(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, RN_ACT_NONE), 1, 0);
}

static void test_conv_epilogue_residual_and_activations(void **state)
{
	(void)state;
	int acts[] = { RN_ACT_NONE, RN_ACT_RELU, RN_ACT_LEAKY_RELU, RN_ACT_CLIP, RN_ACT_SIGMOID };
	for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
		check(make(1, 4, 10, 18, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, acts[i]), 1, 1);
		check(make(1, 4, 10, 18, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, acts[i]), 1, 2);
		check(make(1, 8, 6, 6, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, acts[i]), 0, 2);
	}
}

static void test_conv_random_shapes(void **state)
{
	(void)state;
	for (int t = 0; t < 60; t++) {
		int group = 1 + (int)((frand() + 1) * 1.5f);
		int cg = 1 + (int)((frand() + 1) * 3), mg = 1 + (int)((frand() + 1) * 6);
		int k = 1 + (int)((frand() + 1) * 2.5f), s = 1 + (int)((frand() + 1) * 1.2f);
		int d = 1 + (int)((frand() + 1) * 0.8f);
		int h = 1 + (int)((frand() + 1) * 12), w = 1 + (int)((frand() + 1) * 25);
		int pad = (int)((frand() + 1) * 1.6f);
		int ext = (k - 1) * d + 1;
		if (h + 2 * pad < ext || w + 2 * pad < ext)
			continue;
		check(make(1 + (t & 1), cg * group, h, w, mg * group, k, k, s, d, pad, pad,
			   pad, pad, group, t % 3 ? RN_ACT_RELU : RN_ACT_NONE), t & 1, t % 3);
	}
}

/* Edge tiles may read the neighbouring row's element in place of the
 * padding and mask it off; a NaN there must not leak into the output.
 * With w = 9, k = 3, stride 2, left pad 1 and no right pad, column 8 is
 * never a valid tap, so a NaN in it must leave every output finite. */
static void test_conv_padding_reads_never_leak_nan(void **state)
{
	(void)state;
	rn_conv2d_params p = make(1, 3, 6, 9, 8, 3, 3, 2, 1, 1, 0, 1, 0, 1, RN_ACT_NONE);
	assert_int_equal(p.ow, 4);
	float x[3 * 6 * 9], w[8 * 3 * 9], y[8 * 3 * 4];
	for (int i = 0; i < 3 * 6 * 9; i++)
		x[i] = i % 9 == 8 ? NAN : frand();
	for (int i = 0; i < 8 * 3 * 9; i++)
		w[i] = frand();
	rn_conv2d_f32(&p, x, w, NULL, NULL, y);
	for (int i = 0; i < 8 * p.oh * p.ow; i++)
		if (!isfinite(y[i]))
			fail_msg("y[%d] = %g", i, y[i]);
}

/* Catches a test harness that could never fail: a wrong reference must. */
static void test_conv_detects_a_wrong_weight(void **state)
{
	(void)state;
	rn_conv2d_params p = make(1, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, RN_ACT_NONE);
	float x[9], w[9], y[9];
	double ref[9];
	for (int i = 0; i < 9; i++) {
		x[i] = (float)i;
		w[i] = 1.0f;
	}
	rn_conv2d_f32(&p, x, w, NULL, NULL, y);
	w[4] = 2.0f;
	conv_ref(&p, x, w, NULL, NULL, ref);
	int differs = 0;
	for (int i = 0; i < 9; i++)
		differs |= fabs(y[i] - ref[i]) > 1e-3;
	assert_true(differs);
	/* and the hand-computed centre value: the sum of 0..8 */
	assert_float_equal(y[4], 36.0f, 0.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_3x3_pad1_matches_reference),
		cmocka_unit_test(test_conv_widths_around_tile_sizes),
		cmocka_unit_test(test_conv_asymmetric_and_large_pads),
		cmocka_unit_test(test_conv_strides_and_dilations),
		cmocka_unit_test(test_conv_kernel_wider_than_the_stack_window),
		cmocka_unit_test(test_conv_small_same_planes),
		cmocka_unit_test(test_conv_groups_and_depthwise),
		cmocka_unit_test(test_conv_1x1_gemm_path),
		cmocka_unit_test(test_conv_epilogue_residual_and_activations),
		cmocka_unit_test(test_conv_random_shapes),
		cmocka_unit_test(test_conv_padding_reads_never_leak_nan),
		cmocka_unit_test(test_conv_detects_a_wrong_weight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
