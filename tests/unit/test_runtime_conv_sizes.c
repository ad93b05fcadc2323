/*
 * The compiler packs weights and sizes kernel scratch with the runtime it
 * was built with (portable x86-64 C); the generated code runs the same
 * runtime built for its target (AVX-512, AVX2, NEON). Both must agree on
 * every packed layout size and scratch size, or the model reads past its
 * weights or its arena (a generated model once crashed on exactly this).
 *
 * This test links both: the portable runtime under its own names and the
 * runtime built with -march=native under RN_NAMESPACE=native_ (see
 * include/resnetc/namespace.h), and compares them over a table of shapes,
 * every algorithm and 1 to 8 threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "resnetc/runtime.h"

int native_rn_conv2d_supports(int algo, const rn_conv2d_params *p);
size_t native_rn_conv2d_packed_size(int algo, const rn_conv2d_params *p);
size_t native_rn_conv2d_scratch_size(int algo, const rn_conv2d_params *p, int threads);
int native_rn_qconv2d_supports(const rn_qconv2d_params *p);
size_t native_rn_qconv2d_packed_size(const rn_qconv2d_params *p);
size_t native_rn_qconv2d_scratch_size(const rn_qconv2d_params *p, int threads);

typedef struct {
	int c, h, w, m, k, s, pad, group;
} shape;

/* ResNet-18/50 layers at 224x224, then odd sizes that end in tails */
static const shape shapes[] = {
	{3, 224, 224, 64, 7, 2, 3, 1},    {64, 56, 56, 64, 3, 1, 1, 1},    {64, 56, 56, 64, 1, 1, 0, 1},
	{64, 56, 56, 256, 1, 1, 0, 1},    {256, 56, 56, 128, 1, 1, 0, 1},  {128, 56, 56, 128, 3, 2, 1, 1},
	{64, 56, 56, 128, 3, 2, 1, 1},    {256, 56, 56, 512, 1, 2, 0, 1},  {128, 28, 28, 128, 3, 1, 1, 1},
	{512, 28, 28, 256, 1, 1, 0, 1},   {256, 14, 14, 256, 3, 1, 1, 1},  {1024, 14, 14, 2048, 1, 2, 0, 1},
	{512, 7, 7, 512, 3, 1, 1, 1},     {512, 7, 7, 2048, 1, 1, 0, 1},   {2048, 7, 7, 512, 1, 1, 0, 1},
	{13, 5, 9, 20, 1, 1, 0, 1},       {17, 7, 7, 33, 3, 1, 1, 1},      {32, 29, 31, 24, 3, 1, 1, 1},
	{5, 64, 64, 20, 3, 2, 1, 1},      {24, 9, 9, 96, 3, 2, 1, 1},      {6, 12, 12, 10, 5, 1, 2, 1},
	{16, 9, 9, 16, 3, 1, 1, 16},      {24, 10, 11, 24, 3, 2, 1, 24},   {8, 9, 9, 16, 3, 1, 1, 4},
	{40, 1, 1, 24, 1, 1, 0, 1},       {4, 1, 1, 4, 3, 1, 1, 1},        {3, 97, 97, 64, 7, 2, 3, 1},
};

static rn_conv2d_params params_of(const shape *s)
{
	rn_conv2d_params p = {0};
	p.n = 1;
	p.c = s->c;
	p.h = s->h;
	p.w = s->w;
	p.m = s->m;
	p.kh = p.kw = s->k;
	p.sh = p.sw = s->s;
	p.dh = p.dw = 1;
	p.pt = p.pl = s->pad;
	p.group = s->group;
	p.oh = (s->h + 2 * s->pad - s->k) / s->s + 1;
	p.ow = (s->w + 2 * s->pad - s->k) / s->s + 1;
	p.act = RN_ACT_RELU;
	return p;
}

static const int algos[] = {RN_CONV_DIRECT, RN_CONV_GEMM, RN_CONV_WINOGRAD, RN_CONV_WINOGRAD_F2,
			    RN_CONV_DEPTHWISE};

static void test_packed_and_scratch_sizes_do_not_depend_on_the_isa(void **state)
{
	(void)state;
	int compared = 0, differ = 0;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		rn_conv2d_params p = params_of(&shapes[i]);
		for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
			int algo = algos[a];
			int ok = rn_conv2d_supports(algo, &p);
			assert_int_equal(ok, native_rn_conv2d_supports(algo, &p));
			if (!ok)
				continue;
			size_t pk = rn_conv2d_packed_size(algo, &p), npk = native_rn_conv2d_packed_size(algo, &p);
			if (pk != npk) {
				printf("shape %zu algo %d: packed %zu bytes portable, %zu native\n", i, algo, pk, npk);
				differ++;
			}
			for (int t = 1; t <= 8; t++) {
				size_t sc = rn_conv2d_scratch_size(algo, &p, t);
				size_t nsc = native_rn_conv2d_scratch_size(algo, &p, t);
				if (sc != nsc) {
					printf("shape %zu algo %d, %d threads: scratch %zu bytes portable, %zu native\n",
					       i, algo, t, sc, nsc);
					differ++;
				}
				compared++;
			}
		}
	}
	printf("conv sizes: %d of %d (shape, algorithm, threads) cases differ between the builds\n", differ,
	       compared);
	assert_int_equal(differ, 0);
	assert_true(compared > 100);
}

/* The int8 convolution likewise (uint8 and int8 inputs). */
static void test_int8_sizes_do_not_depend_on_the_isa(void **state)
{
	(void)state;
	int compared = 0, differ = 0;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		for (int in = 0; in < 2; in++) {
			rn_qconv2d_params q = {0};
			q.conv = params_of(&shapes[i]);
			q.conv.act = RN_ACT_NONE;
			q.x_dtype = q.y_dtype = q.r_dtype = in ? RN_I8 : RN_U8;
			q.lo = in ? -128 : 0;
			q.hi = in ? 127 : 255;
			int ok = rn_qconv2d_supports(&q);
			assert_int_equal(ok, native_rn_qconv2d_supports(&q));
			if (!ok)
				continue;
			if (rn_qconv2d_packed_size(&q) != native_rn_qconv2d_packed_size(&q)) {
				printf("shape %zu: int8 packed size differs\n", i);
				differ++;
			}
			for (int t = 1; t <= 8; t++, compared++)
				if (rn_qconv2d_scratch_size(&q, t) != native_rn_qconv2d_scratch_size(&q, t)) {
					printf("shape %zu, %d threads: int8 scratch %zu portable, %zu native\n", i, t,
					       rn_qconv2d_scratch_size(&q, t), native_rn_qconv2d_scratch_size(&q, t));
					differ++;
				}
		}
	}
	printf("int8 conv sizes: %d of %d (shape, type, threads) cases differ between the builds\n", differ,
	       compared);
	assert_int_equal(differ, 0);
	assert_true(compared > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packed_and_scratch_sizes_do_not_depend_on_the_isa),
		cmocka_unit_test(test_int8_sizes_do_not_depend_on_the_isa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
