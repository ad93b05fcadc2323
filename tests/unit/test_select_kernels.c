/* Kernel selection (select_kernels.c) on hand-built one-convolution graphs:
 * which algorithm each shape gets, what --conv direct and --gemm openblas
 * change, what a packed step holds (weights, no bias operand, scratch), and
 * that it computes what the direct convolution computes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "ops.h"
#include "target.h"

#include "test_graph.h"

static void ints_attr(Node *n, const char *name, int count, int64_t v)
{
	Attr *a = node_add_attr(n, name, A_INTS);
	a->n = count;
	a->ints = xcalloc(count, sizeof *a->ints);
	for (int i = 0; i < count; i++)
		a->ints[i] = v;
}

typedef struct {
	int c, m, h, w, k, stride, group;
	int weights_are_input; /* the weights a graph input, not a constant */
} Shape;

/* x[1][c][h][w] -> Conv (k x k, pads k/2, stride, group, with a bias) ->
 * y, lowered: one K_CONV2D step. The same weights for the same shape. */
static Graph *conv_graph(Shape sh)
{
	rng = 88172645463325252ull;
	Graph *g = graph_new();
	g->opset = 13;
	int64_t xs[4] = {1, sh.c, sh.h, sh.w}, ws[4] = {sh.m, sh.c / sh.group, sh.k, sh.k}, bs[1] = {sh.m};
	int x = tensor(g, "x", T_INPUT, 4, xs);
	int w = tensor(g, "w", sh.weights_are_input ? T_INPUT : T_CONST, 4, ws);
	int b = tensor(g, "b", T_CONST, 1, bs);
	int y = tensor(g, "y", T_ACT, 0, NULL);
	int k = graph_add_node(g, "conv", "Conv", (int[]){x, w, b}, 3, &y, 1);
	Node *n = &g->nodes[k];
	ints_attr(n, "pads", 4, sh.k / 2);
	ints_attr(n, "strides", 2, sh.stride);
	Attr *a = node_add_attr(n, "group", A_INT);
	a->i = sh.group;
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = y;
	g->tensors[y].is_output = 1;
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	assert_int_equal(g->nodes[0].n_steps, 1);
	assert_int_equal(g->nodes[0].steps[0].kernel, K_CONV2D);
	return g;
}

static const Step *conv_step(const Graph *g)
{
	return &g->nodes[0].steps[0];
}

/* Selects with o; returns the step (K_CONV2D or K_CONV2D_PACKED). */
static const Step *select_conv(Graph *g, CodegenOptions o)
{
	Diag d;
	assert_int_equal(select_kernels(g, &o, &d), 0);
	return conv_step(g);
}

static CodegenOptions automatic(void)
{
	return (CodegenOptions){.target = target_find("native"), .threads = 1};
}

/* The step's output for one input, through kernel_exec. */
static float *run_step(const Graph *g, const Step *s, const float *x)
{
	void **ptr = xcalloc(g->n_tensors, sizeof *ptr);
	for (int i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].kind == T_CONST)
			ptr[i] = g->tensors[i].data;
	ptr[s->in[0]] = (void *)x;
	float *y = xcalloc(1, tensor_bytes(&g->tensors[s->out[0]]));
	ptr[s->out[0]] = y;
	Diag d;
	assert_int_equal(kernel_exec(g, s, ptr, &d), 0);
	free(ptr);
	return y;
}

/* Packed for algo, with everything a packed step must hold, and the same
 * numbers as the direct convolution of the same graph. */
static void expect_packed(Shape sh, CodegenOptions o, int algo)
{
	Graph *ref = conv_graph(sh), *g = conv_graph(sh);
	int tensors_before = g->n_tensors;
	const Step *s = select_conv(g, o);
	assert_int_equal(s->kernel, K_CONV2D_PACKED);
	assert_int_equal(s->algo, algo);
	/* the weights (and the bias folded in) replaced by one packed constant */
	assert_int_equal(g->n_tensors, tensors_before + 1);
	const Tensor *packed = &g->tensors[s->in[1]];
	assert_int_equal(packed->kind, T_CONST);
	assert_int_equal(packed->dtype, RN_F32);
	assert_true(tensor_bytes(packed) >= rn_conv2d_packed_size(algo, &s->p.conv));
	assert_int_equal(s->in[2], -1);
	/* scratch for every thread count the model may run with */
	for (int t = 1; t <= o.threads; t++)
		assert_true(s->scratch >= (int64_t)rn_conv2d_scratch_size(algo, &s->p.conv, t));
	if (algo == RN_CONV_WINOGRAD || algo == RN_CONV_WINOGRAD_F2 || (algo == RN_CONV_GEMM && sh.k > 1))
		assert_true(s->scratch > 0);
	/* the parameters are the direct convolution's */
	assert_memory_equal(&s->p.conv, &conv_step(ref)->p.conv, sizeof s->p.conv);

	if (algo != RN_CONV_BLAS) { /* (not linked into the compiler) */
		size_t n = (size_t)sh.c * sh.h * sh.w;
		float *x = xmalloc(n * sizeof *x);
		for (size_t i = 0; i < n; i++)
			x[i] = frand();
		float *want = run_step(ref, conv_step(ref), x), *got = run_step(g, s, x);
		int64_t ny = tensor_numel(&g->tensors[s->out[0]]);
		for (int64_t i = 0; i < ny; i++)
			assert_true(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])));
		free(x);
		free(want);
		free(got);
	}
	graph_free(ref);
	graph_free(g);
}

static void expect_direct(Shape sh, CodegenOptions o)
{
	Graph *g = conv_graph(sh);
	int tensors_before = g->n_tensors, w = conv_step(g)->in[1], b = conv_step(g)->in[2];
	const Step *s = select_conv(g, o);
	assert_int_equal(s->kernel, K_CONV2D);
	assert_int_equal(s->in[1], w);
	assert_int_equal(s->in[2], b);
	assert_int_equal(s->scratch, 0);
	assert_int_equal(g->n_tensors, tensors_before); /* nothing packed */
	graph_free(g);
}

static void test_3x3_with_many_tiles_gets_winograd_f4(void **state)
{
	(void)state;
	/* 28x28 outputs: 49 tiles of 4x4 */
	expect_packed((Shape){.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_WINOGRAD);
	/* 14x14: 16 tiles, still enough */
	expect_packed((Shape){.c = 32, .m = 32, .h = 14, .w = 14, .k = 3, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_WINOGRAD);
}

static void test_3x3_with_few_tiles_gets_winograd_f2(void **state)
{
	(void)state;
	/* 7x7 outputs: 4 tiles of 4x4, 16 of 2x2 */
	expect_packed((Shape){.c = 64, .m = 64, .h = 7, .w = 7, .k = 3, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_WINOGRAD_F2);
}

static void test_3x3_winograd_does_not_pay_for_gets_gemm(void **state)
{
	(void)state;
	/* one input channel (a stem): the transforms would cost more than they save */
	expect_packed((Shape){.c = 1, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_GEMM);
	/* stride 2: no Winograd */
	expect_packed((Shape){.c = 16, .m = 32, .h = 28, .w = 28, .k = 3, .stride = 2, .group = 1}, automatic(),
		      RN_CONV_GEMM);
	/* 4x4 outputs: 4 tiles of 2x2 */
	expect_packed((Shape){.c = 64, .m = 64, .h = 4, .w = 4, .k = 3, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_GEMM);
}

static void test_1x1_gets_gemm(void **state)
{
	(void)state;
	expect_packed((Shape){.c = 32, .m = 64, .h = 14, .w = 14, .k = 1, .stride = 1, .group = 1}, automatic(),
		      RN_CONV_GEMM);
	expect_packed((Shape){.c = 32, .m = 64, .h = 14, .w = 14, .k = 1, .stride = 2, .group = 1}, automatic(),
		      RN_CONV_GEMM);
}

static void test_depthwise_gets_depthwise(void **state)
{
	(void)state;
	expect_packed((Shape){.c = 16, .m = 16, .h = 14, .w = 14, .k = 3, .stride = 1, .group = 16}, automatic(),
		      RN_CONV_DEPTHWISE);
}

static void test_conv_direct_keeps_every_convolution_direct(void **state)
{
	(void)state;
	CodegenOptions direct = automatic();
	direct.direct = 1;
	expect_direct((Shape){.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1}, direct);
	expect_direct((Shape){.c = 64, .m = 64, .h = 7, .w = 7, .k = 3, .stride = 1, .group = 1}, direct);
	expect_direct((Shape){.c = 32, .m = 64, .h = 14, .w = 14, .k = 1, .stride = 1, .group = 1}, direct);
	direct.blas = 1; /* --conv direct wins over --gemm openblas */
	expect_direct((Shape){.c = 32, .m = 64, .h = 14, .w = 14, .k = 1, .stride = 1, .group = 1}, direct);
}

static void test_gemm_openblas_takes_group_1_convolutions(void **state)
{
	(void)state;
	CodegenOptions blas = automatic();
	blas.blas = 1;
	expect_packed((Shape){.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1}, blas, RN_CONV_BLAS);
	expect_packed((Shape){.c = 32, .m = 64, .h = 14, .w = 14, .k = 1, .stride = 1, .group = 1}, blas, RN_CONV_BLAS);
	/* grouped: not a single GEMM */
	expect_packed((Shape){.c = 16, .m = 16, .h = 14, .w = 14, .k = 3, .stride = 1, .group = 16}, blas,
		      RN_CONV_DEPTHWISE);
}

static void test_optimize_size_keeps_winograd_out(void **state)
{
	(void)state;
	const Shape many = {.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1};
	const Shape few = {.c = 64, .m = 64, .h = 7, .w = 7, .k = 3, .stride = 1, .group = 1};
	CodegenOptions o = automatic();
	o.size = 1;
	expect_packed(many, o, RN_CONV_GEMM);
	expect_packed(few, o, RN_CONV_GEMM);
	/* depthwise stores its weights as they are: kept */
	expect_packed((Shape){.c = 16, .m = 16, .h = 14, .w = 14, .k = 3, .stride = 1, .group = 16}, o,
		      RN_CONV_DEPTHWISE);
	/* the target's default: size on armv7 (32-bit), speed elsewhere */
	o.size = -1;
	o.target = target_find("armv7");
	expect_packed(many, o, RN_CONV_GEMM);
	o.target = target_find("aarch64");
	expect_packed(many, o, RN_CONV_WINOGRAD);
	o.size = 0;
	o.target = target_find("armv7");
	expect_packed(many, o, RN_CONV_WINOGRAD);
}

static void test_weights_known_only_at_run_time_stay_direct(void **state)
{
	(void)state;
	expect_direct((Shape){.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1, .weights_are_input = 1},
		      automatic());
}

static void test_scratch_covers_every_thread_count(void **state)
{
	(void)state;
	CodegenOptions four = automatic();
	four.threads = 4;
	expect_packed((Shape){.c = 16, .m = 16, .h = 28, .w = 28, .k = 3, .stride = 1, .group = 1}, four,
		      RN_CONV_WINOGRAD);
	expect_packed((Shape){.c = 16, .m = 32, .h = 28, .w = 28, .k = 3, .stride = 2, .group = 1}, four, RN_CONV_GEMM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_3x3_with_many_tiles_gets_winograd_f4),
		cmocka_unit_test(test_3x3_with_few_tiles_gets_winograd_f2),
		cmocka_unit_test(test_3x3_winograd_does_not_pay_for_gets_gemm),
		cmocka_unit_test(test_1x1_gets_gemm),
		cmocka_unit_test(test_depthwise_gets_depthwise),
		cmocka_unit_test(test_conv_direct_keeps_every_convolution_direct),
		cmocka_unit_test(test_gemm_openblas_takes_group_1_convolutions),
		cmocka_unit_test(test_optimize_size_keeps_winograd_out),
		cmocka_unit_test(test_weights_known_only_at_run_time_stay_direct),
		cmocka_unit_test(test_scratch_covers_every_thread_count),
	};
	return cmocka_run_group_tests_name("select_kernels", tests, NULL, NULL);
}
