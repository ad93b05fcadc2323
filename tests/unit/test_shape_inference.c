/* Shape inference and lowering on hand-built graphs: output shapes, the
 * kernels chosen, constant folding, and errors that name the node. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ops.h"

static int input(Graph *g, const char *name, int dtype, int rank, const int64_t *dims)
{
	int t = graph_add_tensor(g, name, T_INPUT, dtype);
	g->tensors[t].rank = rank;
	memcpy(g->tensors[t].dims, dims, rank * sizeof *dims);
	g->inputs = xrealloc(g->inputs, (g->n_inputs + 1) * sizeof *g->inputs);
	g->inputs[g->n_inputs++] = t;
	return t;
}

static int constant_f32(Graph *g, const char *name, int rank, const int64_t *dims)
{
	int t = graph_add_tensor(g, name, T_CONST, RN_F32);
	Tensor *x = &g->tensors[t];
	x->rank = rank;
	memcpy(x->dims, dims, rank * sizeof *dims);
	x->data = xcalloc(tensor_numel(x), sizeof(float));
	return t;
}

static int constant_i64(Graph *g, const char *name, int n, const int64_t *v)
{
	int t = graph_add_tensor(g, name, T_CONST, RN_I64);
	Tensor *x = &g->tensors[t];
	x->rank = 1;
	x->dims[0] = n;
	x->data = xmalloc(n * sizeof *v);
	memcpy(x->data, v, n * sizeof *v);
	return t;
}

static Node *node(Graph *g, const char *op, const int *in, int n_in, int *out)
{
	*out = graph_add_tensor(g, op, T_ACT, 0);
	int k = graph_add_node(g, op, op, in, n_in, out, 1);
	return &g->nodes[k];
}

static void ints_attr(Node *n, const char *name, int count, const int64_t *v)
{
	Attr *a = node_add_attr(n, name, A_INTS);
	a->n = count;
	a->ints = xmalloc(count * sizeof *v);
	memcpy(a->ints, v, count * sizeof *v);
}

static void assert_shape(const Graph *g, int t, int rank, const int64_t *dims)
{
	assert_int_equal(g->tensors[t].rank, rank);
	for (int i = 0; i < rank; i++)
		assert_int_equal(g->tensors[t].dims[i], dims[i]);
}

static void test_conv_stride2_pad3_gives_resnet_stem_shape(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){1, 3, 224, 224});
	int w = constant_f32(g, "w", 4, (int64_t[]){64, 3, 7, 7});
	int y;
	Node *n = node(g, "Conv", (int[]){x, w}, 2, &y);
	ints_attr(n, "strides", 2, (int64_t[]){2, 2});
	ints_attr(n, "pads", 4, (int64_t[]){3, 3, 3, 3});
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_shape(g, y, 4, (int64_t[]){1, 64, 112, 112});
	assert_int_equal(g->nodes[0].steps[0].kernel, K_CONV2D);
	graph_free(g);
}

static void test_conv_same_upper_and_groups(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){2, 8, 7, 9});
	int w = constant_f32(g, "w", 4, (int64_t[]){8, 1, 3, 3});
	int y;
	Node *n = node(g, "Conv", (int[]){x, w}, 2, &y);
	Attr *a = node_add_attr(n, "auto_pad", A_STRING);
	a->s = xstrdup("SAME_UPPER");
	node_add_attr(n, "group", A_INT)->i = 8;
	ints_attr(n, "strides", 2, (int64_t[]){2, 2});
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	/* SAME: ceil(in / stride) */
	assert_shape(g, y, 4, (int64_t[]){2, 8, 4, 5});
	assert_int_equal(g->nodes[0].steps[0].p.conv.group, 8);
	graph_free(g);
}

static void test_conv_channel_mismatch_names_node(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){1, 3, 8, 8});
	int w = constant_f32(g, "w", 4, (int64_t[]){4, 5, 3, 3});
	int y;
	node(g, "Conv", (int[]){x, w}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), -1);
	assert_non_null(strstr(d.msg, "node 'Conv' (Conv)"));
	assert_non_null(strstr(d.msg, "input channels"));
	graph_free(g);
}

static void test_maxpool_ceil_mode_drops_window_starting_in_padding(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	/* ONNX test_maxpool_2d_ceil_output_size_reduce_by_one: 2x2 input,
	 * kernel 1, stride 2, ceil_mode: output 1x1, not 2x2. */
	int x = input(g, "x", RN_F32, 4, (int64_t[]){1, 1, 2, 2});
	int y;
	Node *n = node(g, "MaxPool", (int[]){x}, 1, &y);
	ints_attr(n, "kernel_shape", 2, (int64_t[]){1, 1});
	ints_attr(n, "strides", 2, (int64_t[]){2, 2});
	node_add_attr(n, "ceil_mode", A_INT)->i = 1;
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_shape(g, y, 4, (int64_t[]){1, 1, 1, 1});
	graph_free(g);
}

static void test_broadcast_add_shapes_and_strides(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int a = input(g, "a", RN_F32, 3, (int64_t[]){2, 1, 4});
	int b = input(g, "b", RN_F32, 2, (int64_t[]){3, 1});
	int y;
	node(g, "Add", (int[]){a, b}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_shape(g, y, 3, (int64_t[]){2, 3, 4});
	const rn_binary_params *p = &g->nodes[0].steps[0].p.binary;
	assert_int_equal(p->sa[1], 0); /* a broadcast along axis 1 */
	assert_int_equal(p->sb[0], 0); /* b has no axis 0 */
	assert_int_equal(p->sb[2], 0); /* b broadcast along axis 2 */
	assert_int_equal(p->sa[0], 4);
	graph_free(g);
}

static void test_incompatible_broadcast_is_an_error(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int a = input(g, "a", RN_F32, 1, (int64_t[]){3});
	int b = input(g, "b", RN_F32, 1, (int64_t[]){4});
	int y;
	node(g, "Mul", (int[]){a, b}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), -1);
	assert_non_null(strstr(d.msg, "cannot be broadcast"));
	graph_free(g);
}

static void test_reshape_zero_and_minus_one(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){2, 3, 4, 5});
	int s = constant_i64(g, "s", 3, (int64_t[]){0, -1, 5});
	int y;
	node(g, "Reshape", (int[]){x, s}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_shape(g, y, 3, (int64_t[]){2, 12, 5});
	assert_int_equal(g->nodes[0].steps[0].kernel, K_VIEW);
	graph_free(g);
}

static void test_reshape_wrong_count_is_an_error(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 2, (int64_t[]){2, 3});
	int s = constant_i64(g, "s", 1, (int64_t[]){7});
	int y;
	node(g, "Reshape", (int[]){x, s}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), -1);
	assert_non_null(strstr(d.msg, "cannot reshape"));
	graph_free(g);
}

static void test_shape_gather_concat_subgraph_is_folded(void **state)
{
	(void)state;
	/* What older exporters write before Reshape in a ResNet's head:
	 * Shape(x) -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape(x, .) */
	Graph *g = graph_new();
	g->opset = 11;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){3, 512, 1, 1});
	int sh, ga, un, cat, y;
	node(g, "Shape", (int[]){x}, 1, &sh);
	int zero = graph_add_tensor(g, "zero", T_CONST, RN_I64);
	g->tensors[zero].rank = 0;
	g->tensors[zero].data = xcalloc(1, 8);
	node(g, "Gather", (int[]){sh, zero}, 2, &ga);
	Node *n = node(g, "Unsqueeze", (int[]){ga}, 1, &un);
	ints_attr(n, "axes", 1, (int64_t[]){0});
	int m1 = constant_i64(g, "m1", 1, (int64_t[]){-1});
	n = node(g, "Concat", (int[]){un, m1}, 2, &cat);
	node_add_attr(n, "axis", A_INT)->i = 0;
	node(g, "Reshape", (int[]){x, cat}, 2, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_int_equal(g->tensors[cat].kind, T_CONST);
	assert_int_equal(((int64_t *)g->tensors[cat].data)[0], 3);
	assert_int_equal(((int64_t *)g->tensors[cat].data)[1], -1);
	assert_shape(g, y, 2, (int64_t[]){3, 512});
	for (int i = 0; i < 4; i++)
		assert_true(g->nodes[i].dead);
	assert_false(g->nodes[4].dead);
	graph_free(g);
}

static void test_batchnorm_with_constant_stats_becomes_scale_shift(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 4, (int64_t[]){1, 2, 3, 3});
	int p[4];
	const char *names[4] = {"scale", "bias", "mean", "var"};
	for (int i = 0; i < 4; i++)
		p[i] = constant_f32(g, names[i], 1, (int64_t[]){2});
	float *sc = g->tensors[p[0]].data, *b = g->tensors[p[1]].data;
	float *m = g->tensors[p[2]].data, *v = g->tensors[p[3]].data;
	sc[0] = 2, sc[1] = 1, b[0] = 1, b[1] = -1, m[0] = 3, m[1] = 0, v[0] = 4, v[1] = 1;
	int y;
	Node *n = node(g, "BatchNormalization", (int[]){x, p[0], p[1], p[2], p[3]}, 5, &y);
	node_add_attr(n, "epsilon", A_FLOAT)->f = 0;
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	const Step *s = &g->nodes[0].steps[0];
	assert_int_equal(s->kernel, K_SCALE_SHIFT);
	const float *scale = g->tensors[s->in[1]].data, *shift = g->tensors[s->in[2]].data;
	/* scale = gamma / sqrt(var + eps), shift = beta - mean * scale */
	assert_float_equal(scale[0], 1.0f, 1e-7);
	assert_float_equal(shift[0], -2.0f, 1e-7);
	assert_float_equal(scale[1], 1.0f, 1e-7);
	assert_float_equal(shift[1], -1.0f, 1e-7);
	graph_free(g);
}

static void test_unknown_operator_is_named(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int x = input(g, "x", RN_F32, 1, (int64_t[]){4});
	int y;
	node(g, "Frobnicate", (int[]){x}, 1, &y);
	Diag d;
	assert_int_equal(lower_graph(g, &d), -1);
	assert_string_equal(d.msg, "node 'Frobnicate' (Frobnicate): operator not supported");
	graph_free(g);
}

static void test_gemm_bias_broadcast_strides(void **state)
{
	(void)state;
	Graph *g = graph_new();
	g->opset = 13;
	int a = input(g, "a", RN_F32, 2, (int64_t[]){2, 512});
	int w = constant_f32(g, "w", 2, (int64_t[]){10, 512});
	int c = constant_f32(g, "c", 1, (int64_t[]){10});
	int y;
	Node *n = node(g, "Gemm", (int[]){a, w, c}, 3, &y);
	node_add_attr(n, "transB", A_INT)->i = 1;
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	assert_shape(g, y, 2, (int64_t[]){2, 10});
	const rn_gemm_params *p = &g->nodes[0].steps[0].p.gemm;
	assert_int_equal(p->k, 512);
	assert_int_equal(p->c_sm, 0);
	assert_int_equal(p->c_sn, 1);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_stride2_pad3_gives_resnet_stem_shape),
		cmocka_unit_test(test_conv_same_upper_and_groups),
		cmocka_unit_test(test_conv_channel_mismatch_names_node),
		cmocka_unit_test(test_maxpool_ceil_mode_drops_window_starting_in_padding),
		cmocka_unit_test(test_broadcast_add_shapes_and_strides),
		cmocka_unit_test(test_incompatible_broadcast_is_an_error),
		cmocka_unit_test(test_reshape_zero_and_minus_one),
		cmocka_unit_test(test_reshape_wrong_count_is_an_error),
		cmocka_unit_test(test_shape_gather_concat_subgraph_is_folded),
		cmocka_unit_test(test_batchnorm_with_constant_stats_becomes_scale_shift),
		cmocka_unit_test(test_unknown_operator_is_named),
		cmocka_unit_test(test_gemm_bias_broadcast_strides),
	};
	return cmocka_run_group_tests_name("shape_inference", tests, NULL, NULL);
}
