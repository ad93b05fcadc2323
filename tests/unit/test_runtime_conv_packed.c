/*
 * Packed convolutions (rn_conv2d_pack + rn_conv2d_packed_f32) against the
 * reference rn_conv2d_f32, for every algorithm on every shape it supports:
 * odd sizes, all paddings, strides, dilations, batch 2, channel counts
 * that are not multiples of the panel, every activation, residual absent,
 * separate, and aliasing y; serially and on a 2-thread pool. Each run
 * guards the output, the packed weights and the scratch with sentinels.
 * Also the thread pool itself: every task exactly once, thread indices in
 * range, the global pool, and two threads sharing one pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

static _Thread_local uint64_t rng = 0x2545f4914f6cdd1du;
static float frand(void) /* uniform in [-1, 1) */
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

typedef struct {
	int n, c, h, w, m, kh, kw, s, d, pt, pb, pl, pr, group;
} shape;

static const shape shapes[] = {
	/* 1x1: ResNet bottleneck layers at small sizes, odd sizes, batch 2 */
	{ 1, 16, 7, 7, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
	{ 1, 13, 5, 9, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
	{ 1, 64, 14, 14, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
	{ 2, 8, 3, 61, 17, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
	{ 1, 40, 1, 1, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
	{ 1, 32, 14, 14, 48, 1, 1, 2, 1, 0, 0, 0, 0, 1 },  /* downsample */
	{ 1, 8, 6, 6, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1 },     /* padded 1x1 */
	/* 3x3 stride 1 (Winograd's), incl. sizes not a multiple of 4 */
	{ 1, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 17, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 64, 10, 12, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 2, 8, 9, 9, 16, 3, 3, 1, 1, 0, 0, 0, 0, 1 },
	{ 1, 8, 11, 5, 8, 3, 3, 1, 1, 2, 0, 0, 2, 1 },
	{ 1, 4, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 32, 29, 31, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 128, 7, 7, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
	/* strided and larger kernels: the im2col path */
	{ 1, 16, 15, 15, 32, 3, 3, 2, 1, 1, 1, 1, 1, 1 },
	{ 1, 3, 32, 30, 16, 7, 7, 2, 1, 3, 3, 3, 3, 1 },   /* the stem */
	{ 1, 6, 12, 12, 10, 5, 5, 1, 2, 2, 2, 2, 2, 1 },   /* dilated */
	{ 1, 5, 9, 13, 7, 3, 2, 3, 1, 0, 2, 1, 0, 1 },
	{ 1, 24, 9, 9, 96, 3, 3, 2, 1, 1, 1, 1, 1, 1 },   /* threads share packing */
	/* stride 2 and 3 read from phase planes (32x32 and 48x48 outputs) */
	{ 1, 5, 64, 64, 20, 3, 3, 2, 1, 1, 1, 1, 1, 1 },
	{ 2, 3, 96, 96, 8, 7, 7, 2, 1, 3, 3, 3, 3, 1 },
	{ 1, 4, 50, 94, 12, 3, 4, 3, 1, 1, 0, 2, 1, 1 },
	/* groups */
	{ 1, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16 },   /* depthwise */
	{ 2, 24, 10, 11, 24, 3, 3, 2, 1, 1, 1, 1, 1, 24 },
	{ 1, 8, 13, 13, 8, 5, 5, 1, 2, 4, 4, 4, 4, 8 },
	{ 1, 8, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 4 },     /* grouped: DIRECT only */
};

static const int acts[] = {
	RN_ACT_NONE, RN_ACT_RELU, RN_ACT_LEAKY_RELU, RN_ACT_CLIP, RN_ACT_SIGMOID,
	RN_ACT_HARD_SIGMOID, RN_ACT_HARD_SWISH, RN_ACT_IDENTITY,
};

static rn_conv2d_params params_of(const shape *s, int act)
{
	rn_conv2d_params p = {
		.n = s->n, .c = s->c, .h = s->h, .w = s->w, .m = s->m, .kh = s->kh,
		.kw = s->kw, .sh = s->s, .sw = s->s, .dh = s->d, .dw = s->d, .pt = s->pt,
		.pl = s->pl, .group = s->group, .act = act, .alpha = 0.1f, .beta = 0.5f,
	};
	if (act == RN_ACT_CLIP) {
		p.alpha = -0.5f;
		p.beta = 0.5f;
	} else if (act == RN_ACT_HARD_SIGMOID) {
		p.alpha = 0.2f;
		p.beta = 0.5f;
	}
	p.oh = (s->h + s->pt + s->pb - ((s->kh - 1) * s->d + 1)) / s->s + 1;
	p.ow = (s->w + s->pl + s->pr - ((s->kw - 1) * s->d + 1)) / s->s + 1;
	return p;
}

enum { GUARD = 64 };
static const float SENTINEL = -12345.678f;

static float *guarded(size_t n)
{
	float *b = malloc((n + 2 * GUARD) * sizeof(float));
	assert_non_null(b);
	for (size_t i = 0; i < n + 2 * GUARD; i++)
		b[i] = SENTINEL;
	return b + GUARD;
}

static void check_guards(const float *b, size_t n, const char *what)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (b[-GUARD + (ptrdiff_t)i] != SENTINEL || b[n + i] != SENTINEL) {
			fail_msg("%s: a write past its %zu floats", what, n);
		}
	}
}

/* Tolerance relative to the largest output magnitude before activation. Summation order
 * differs from the reference's (panels, chunks): ~1e-6 is float rounding
 * over reductions of a few hundred terms. Winograd F(4x4) transforms with
 * factors up to 8 (input) and 8 (output) amplify rounding by ~10x-100x,
 * which is why its error is ~1e-5 and its bound 1e-4. */
static double tolerance(int algo)
{
	return algo == RN_CONV_WINOGRAD || algo == RN_CONV_WINOGRAD_F2 ? 1e-4 : 2e-5;
}

/* One convolution by algo, compared with rn_conv2d_f32; res_mode 0: no
 * residual, 1: a separate one, 2: y is the residual. Returns the error. */
static double run_case(int algo, const rn_conv2d_params *p, int res_mode, rn_threadpool *tp,
		       int threads)
{
	size_t nx = (size_t)p->n * p->c * p->h * p->w;
	size_t ny = (size_t)p->n * p->m * p->oh * p->ow;
	size_t nw = (size_t)p->m * (p->c / p->group) * p->kh * p->kw;
	float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
	float *bias = malloc((size_t)p->m * sizeof(float));
	float *res = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
	assert_true(x && w && bias && res && ref);
	for (size_t i = 0; i < nx; i++)
		x[i] = frand();
	for (size_t i = 0; i < nw; i++)
		w[i] = frand();
	for (int i = 0; i < p->m; i++)
		bias[i] = frand();
	for (size_t i = 0; i < ny; i++)
		res[i] = frand();
	rn_conv2d_f32(p, x, w, bias, res_mode ? res : NULL, ref);
	/* the error scale: the largest value before the activation, which a
	 * bounded activation (clip, sigmoid) would hide */
	rn_conv2d_params pre = *p;
	pre.act = RN_ACT_NONE;
	float *ypre = malloc(ny * sizeof(float));
	assert_non_null(ypre);
	rn_conv2d_f32(&pre, x, w, bias, res_mode ? res : NULL, ypre);
	double maxref = 0;
	for (size_t i = 0; i < ny; i++)
		maxref = fabs(ypre[i]) > maxref ? fabs(ypre[i]) : maxref;
	free(ypre);

	size_t pbytes = rn_conv2d_packed_size(algo, p);
	assert_true(pbytes > 0 && pbytes % sizeof(float) == 0);
	size_t npk = pbytes / sizeof(float);
	float *packed = guarded(npk);
	rn_conv2d_pack(algo, p, w, bias, packed);
	check_guards(packed, npk, "packed weights");

	size_t sbytes = rn_conv2d_scratch_size(algo, p, threads);
	size_t ns = (sbytes + 63) / sizeof(float);
	/* scratch 64-byte aligned, sentinels on both sides */
	float *sbase = aligned_alloc(64, ((ns + 2 * 16 + 15) / 16 * 16) * sizeof(float) + 64);
	assert_non_null(sbase);
	for (size_t i = 0; i < ns + 32; i++)
		sbase[i] = SENTINEL;
	float *scratch = sbase + 16;

	float *y = guarded(ny);
	if (res_mode == 2)
		memcpy(y, res, ny * sizeof(float));
	/* one byte short of the scratch it needs: refused, nothing written */
	if (sbytes > 0) {
		float y0 = y[0];
		assert_int_equal(rn_conv2d_packed_f32(algo, p, x, packed, NULL, y, scratch, sbytes - 1, tp),
				 RN_E_RANGE);
		assert_true(y[0] == y0 || (y[0] != y[0] && y0 != y0));
	}
	assert_int_equal(rn_conv2d_packed_f32(algo, p, x, packed, res_mode == 1 ? res : res_mode == 2 ? y : NULL, y,
					      scratch, sbytes, tp),
			 RN_OK);
	check_guards(y, ny, "output");
	for (size_t i = 0; i < 16; i++)
		if (sbase[i] != SENTINEL || scratch[ns + i] != SENTINEL)
			fail_msg("scratch: a write outside its %zu bytes", sbytes);

	double maxerr = 0;
	for (size_t i = 0; i < ny; i++) {
		double e = fabs((double)y[i] - ref[i]);
		if (!(e <= maxerr))
			maxerr = e; /* NaN sticks */
	}
	double rel = maxerr / (maxref > 0 ? maxref : 1);
	if (!(rel <= tolerance(algo)))
		fail_msg("algo %d, %dx%dx%dx%d -> %d, k %dx%d s%d d%d pad %d,%d group %d act %d "
			 "res %d threads %d: max error %g of max %g",
			 algo, p->n, p->c, p->h, p->w, p->m, p->kh, p->kw, p->sh, p->dh, p->pt, p->pl,
			 p->group, p->act, res_mode, threads, maxerr, maxref);
	free(x);
	free(w);
	free(bias);
	free(res);
	free(ref);
	free(packed - GUARD);
	free(sbase);
	free(y - GUARD);
	return rel;
}

/* Every supported shape with every activation and residual mode. */
static void check_algo(int algo, rn_threadpool *tp, int threads)
{
	int cases = 0, k = 0;
	double worst = 0;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		rn_conv2d_params p = params_of(&shapes[i], RN_ACT_NONE);
		if (!rn_conv2d_supports(algo, &p))
			continue;
		for (int r = 0; r < 3; r++, k++) {
			p = params_of(&shapes[i], acts[k % (int)(sizeof acts / sizeof acts[0])]);
			double e = run_case(algo, &p, r, tp, threads);
			worst = e > worst ? e : worst;
			cases++;
		}
	}
	assert_true(cases > 0);
	print_message("algo %d, %d thread(s): %d cases, worst relative error %.2g\n", algo, threads,
		      cases, worst);
}

static rn_threadpool *pool2;

static void test_direct_serial(void **s) { (void)s; check_algo(RN_CONV_DIRECT, NULL, 1); }
static void test_gemm_serial(void **s) { (void)s; check_algo(RN_CONV_GEMM, NULL, 1); }
static void test_gemm_2_threads(void **s) { (void)s; check_algo(RN_CONV_GEMM, pool2, 2); }
static void test_winograd_serial(void **s) { (void)s; check_algo(RN_CONV_WINOGRAD, NULL, 1); }
static void test_winograd_2_threads(void **s) { (void)s; check_algo(RN_CONV_WINOGRAD, pool2, 2); }
static void test_winograd_f2_serial(void **s) { (void)s; check_algo(RN_CONV_WINOGRAD_F2, NULL, 1); }
static void test_winograd_f2_2_threads(void **s) { (void)s; check_algo(RN_CONV_WINOGRAD_F2, pool2, 2); }
static void test_depthwise_serial(void **s) { (void)s; check_algo(RN_CONV_DEPTHWISE, NULL, 1); }
static void test_depthwise_2_threads(void **s) { (void)s; check_algo(RN_CONV_DEPTHWISE, pool2, 2); }
static void test_blas_serial(void **s) { (void)s; check_algo(RN_CONV_BLAS, NULL, 1); }
static void test_blas_2_threads(void **s) { (void)s; check_algo(RN_CONV_BLAS, pool2, 2); }

/* Layer shapes of ResNet-50 at 224x224 (a few), where the plans switch
 * between splitting columns, panels and phases. */
static void test_resnet_layers_2_threads(void **s)
{
	(void)s;
	static const shape layers[] = {
		{ 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 2048, 7, 7, 512, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
		{ 1, 512, 28, 28, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1 },  /* 1x1, B copied */
		{ 1, 1024, 14, 14, 256, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
		{ 1, 256, 56, 56, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1 },
		{ 1, 128, 56, 56, 128, 3, 3, 2, 1, 1, 1, 1, 1, 1 },
		{ 1, 256, 14, 14, 512, 3, 3, 2, 1, 1, 1, 1, 1, 1 },
		{ 1, 256, 19, 19, 128, 3, 3, 2, 1, 1, 1, 1, 1, 1 }, /* two shared chunks */
	};
	for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
		static const int algos[] = { RN_CONV_GEMM, RN_CONV_WINOGRAD, RN_CONV_WINOGRAD_F2 };
		for (int a = 0; a < 3; a++) {
			int algo = algos[a];
			rn_conv2d_params p = params_of(&layers[i], RN_ACT_RELU);
			if (rn_conv2d_supports(algo, &p)) {
				run_case(algo, &p, 2, pool2, 2);
				run_case(algo, &p, 0, NULL, 1);
			}
		}
	}
}

static void test_supports(void **s)
{
	(void)s;
	rn_conv2d_params p = params_of(&shapes[0], RN_ACT_NONE);
	assert_true(rn_conv2d_supports(RN_CONV_GEMM, &p));
	assert_false(rn_conv2d_supports(RN_CONV_WINOGRAD, &p)); /* 1x1 */
	assert_false(rn_conv2d_supports(RN_CONV_WINOGRAD_F2, &p));
	assert_false(rn_conv2d_supports(RN_CONV_DEPTHWISE, &p));
	assert_false(rn_conv2d_supports(99, &p));
	p = params_of(&shapes[16], RN_ACT_NONE); /* 3x3 stride 2 */
	assert_false(rn_conv2d_supports(RN_CONV_WINOGRAD, &p));
	assert_false(rn_conv2d_supports(RN_CONV_WINOGRAD_F2, &p));
	size_t gi = 0; /* the grouped, not depthwise, shape */
	while (!(shapes[gi].group > 1 && shapes[gi].group < shapes[gi].c))
		gi++;
	p = params_of(&shapes[gi], RN_ACT_NONE);
	assert_false(rn_conv2d_supports(RN_CONV_GEMM, &p));
	assert_true(rn_conv2d_supports(RN_CONV_DIRECT, &p));
	assert_int_equal(rn_conv2d_packed_size(RN_CONV_GEMM, &p), 0);
}

/* The packed bytes depend on the weights only: packing twice agrees. */
static void test_pack_deterministic(void **s)
{
	(void)s;
	rn_conv2d_params p = params_of(&shapes[9], RN_ACT_NONE);
	size_t nw = (size_t)p.m * p.c * 9, n = rn_conv2d_packed_size(RN_CONV_WINOGRAD, &p);
	float *w = malloc(nw * sizeof(float)), *a = malloc(n), *b = malloc(n);
	for (size_t i = 0; i < nw; i++)
		w[i] = frand();
	memset(a, 0x11, n);
	memset(b, 0x77, n);
	rn_conv2d_pack(RN_CONV_WINOGRAD, &p, w, NULL, a);
	rn_conv2d_pack(RN_CONV_WINOGRAD, &p, w, NULL, b);
	assert_memory_equal(a, b, n);
	free(w);
	free(a);
	free(b);
}

typedef struct {
	atomic_int hits[1000];
	atomic_int bad_thread;
} count_ctx;

static void count_task(void *ctx, int64_t t, int thread)
{
	count_ctx *c = ctx;
	atomic_fetch_add(&c->hits[t], 1);
	if (thread < 0 || thread >= 2)
		atomic_store(&c->bad_thread, 1);
}

static void check_counts(rn_threadpool *tp, int64_t n)
{
	static count_ctx c;
	for (int i = 0; i < 1000; i++)
		atomic_store(&c.hits[i], 0);
	atomic_store(&c.bad_thread, 0);
	rn_parallel_for(tp, n, count_task, &c);
	for (int64_t i = 0; i < n; i++)
		assert_int_equal(atomic_load(&c.hits[i]), 1);
	assert_int_equal(atomic_load(&c.bad_thread), 0);
}

static void test_parallel_for_each_task_once(void **s)
{
	(void)s;
	assert_int_equal(rn_threadpool_threads(NULL), 1);
	assert_int_equal(rn_threadpool_threads(pool2), 2);
	for (int64_t n = 0; n <= 1000; n += n < 10 ? 1 : 97) {
		check_counts(NULL, n);
		check_counts(pool2, n);
	}
	for (int rep = 0; rep < 2000; rep++) /* many short jobs back to back */
		check_counts(pool2, 3);
}

static void *hammer(void *arg)
{
	rn_conv2d_params p = params_of(&shapes[10], RN_ACT_RELU);
	for (int i = 0; i < 5; i++)
		run_case(RN_CONV_WINOGRAD, &p, i % 3, arg, 2);
	return NULL;
}

static void test_global_pool_two_callers(void **s)
{
	(void)s;
	rn_threadpool *g = rn_threadpool_global(2);
	assert_non_null(g);
	assert_ptr_equal(rn_threadpool_global(4), g);
	assert_int_equal(rn_threadpool_threads(g), 2);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, hammer, g), 0);
	hammer(g);
	pthread_join(t, NULL);
}

static int setup(void **s)
{
	(void)s;
	pool2 = rn_threadpool_create(2);
	return pool2 ? 0 : -1;
}

static int teardown(void **s)
{
	(void)s;
	rn_threadpool_destroy(pool2);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supports),
		cmocka_unit_test(test_pack_deterministic),
		cmocka_unit_test(test_parallel_for_each_task_once),
		cmocka_unit_test(test_direct_serial),
		cmocka_unit_test(test_gemm_serial),
		cmocka_unit_test(test_gemm_2_threads),
		cmocka_unit_test(test_winograd_serial),
		cmocka_unit_test(test_winograd_2_threads),
		cmocka_unit_test(test_winograd_f2_serial),
		cmocka_unit_test(test_winograd_f2_2_threads),
		cmocka_unit_test(test_depthwise_serial),
		cmocka_unit_test(test_depthwise_2_threads),
		cmocka_unit_test(test_blas_serial),
		cmocka_unit_test(test_blas_2_threads),
		cmocka_unit_test(test_resnet_layers_2_threads),
		cmocka_unit_test(test_global_pool_two_callers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
