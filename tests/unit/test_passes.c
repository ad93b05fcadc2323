/* The graph passes on hand-built graphs: what each one rewrites, what it
 * must leave alone, and that the rewritten graph computes the same numbers
 * (checked by running the steps on the host with kernel_exec). */
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
#include "passes.h"
#include "plan.h"

#include "test_graph.h"

static void output(Graph *g, int t)
{
	g->outputs = xrealloc(g->outputs, (g->n_outputs + 1) * sizeof *g->outputs);
	g->outputs[g->n_outputs++] = t;
	g->tensors[t].is_output = 1;
}

static Node *add(Graph *g, const char *name, const char *op, const int *in, int n_in, int out)
{
	int k = graph_add_node(g, name, op, in, n_in, &out, 1);
	return &g->nodes[k];
}

static void conv_attrs(Node *n)
{
	Attr *a = node_add_attr(n, "pads", A_INTS);
	a->n = 4;
	a->ints = xcalloc(4, sizeof *a->ints);
	for (int i = 0; i < 4; i++)
		a->ints[i] = 1;
}

static int live(const Graph *g, const char *op)
{
	int k = 0;
	for (int i = 0; i < g->n_nodes; i++)
		k += !g->nodes[i].dead && !strcmp(g->nodes[i].op_type, op);
	return k;
}

/* Runs the whole graph on the host (every step through kernel_exec) and
 * returns a copy of output 0. */
static float *run(Graph *g, const float *x)
{
	void **ptr = xcalloc(g->n_tensors, sizeof *ptr);
	void **own = xcalloc(g->n_tensors, sizeof *own);
	for (int i = 0; i < g->n_tensors; i++) {
		int r = tensor_root(g, i);
		Tensor *t = &g->tensors[r];
		if (t->kind == T_CONST)
			ptr[i] = t->data;
		else if (r == g->inputs[0])
			ptr[i] = (void *)x;
		else {
			if (!own[r] && t->rank >= 0)
				own[r] = xcalloc(1, tensor_bytes(t) + 1);
			ptr[i] = own[r];
		}
	}
	Diag d;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_steps; k++)
			if (!step_is_noop(g, &g->nodes[i].steps[k]))
				assert_int_equal(kernel_exec(g, &g->nodes[i].steps[k], ptr, &d), 0);
	int o = tensor_root(g, g->outputs[0]);
	size_t bytes = tensor_bytes(&g->tensors[o]);
	float *res = memcpy(xmalloc(bytes), ptr[o], bytes);
	for (int i = 0; i < g->n_tensors; i++)
		free(own[i]);
	free(own);
	free(ptr);
	return res;
}

/* x -> Conv -> BN -> Relu -> Conv -> BN -> Add(x) -> Relu: a basic block */
static Graph *basic_block(void)
{
	rng = 88172645463325252ull; /* the same weights every time */
	Graph *g = graph_new();
	g->opset = 13;
	int64_t xs[4] = {1, 4, 6, 5}, ws[4] = {4, 4, 3, 3}, cs[1] = {4};
	int x = tensor(g, "x", T_INPUT, 4, xs);
	int prev = x;
	for (int k = 0; k < 2; k++) {
		char nm[32];
		snprintf(nm, sizeof nm, "conv%d", k);
		int w = tensor(g, nm, T_CONST, 4, ws);
		int c = tensor(g, "c", T_ACT, 0, NULL);
		conv_attrs(add(g, nm, "Conv", (int[]){prev, w}, 2, c));
		int bn[4];
		for (int j = 0; j < 4; j++)
			bn[j] = tensor(g, "bn", T_CONST, 1, cs);
		float *var = g->tensors[bn[3]].data;
		for (int j = 0; j < 4; j++)
			var[j] = fabsf(var[j]) + 0.5f;
		int b = tensor(g, "b", T_ACT, 0, NULL);
		add(g, "bn", "BatchNormalization", (int[]){c, bn[0], bn[1], bn[2], bn[3]}, 5, b);
		if (k == 1) {
			int s = tensor(g, "sum", T_ACT, 0, NULL);
			add(g, "add", "Add", (int[]){b, x}, 2, s);
			b = s;
		}
		int r = tensor(g, "r", T_ACT, 0, NULL);
		add(g, "relu", "Relu", (int[]){b}, 1, r);
		prev = r;
	}
	output(g, prev);
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	return g;
}

static const float *block_input(void)
{
	static float x[120];
	rng = 1234567;
	for (int i = 0; i < 120; i++)
		x[i] = frand();
	return x;
}

static void assert_close(const float *a, const float *b, int n, float tol)
{
	for (int i = 0; i < n; i++)
		assert_true(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])));
}

static void test_all_passes_keep_the_numbers_and_remove_bn_add_relu(void **state)
{
	(void)state;
	const float *x = block_input();
	Graph *ref = basic_block(), *g = basic_block();
	float *want = run(ref, x);
	int on[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	Diag d;
	assert_int_equal(run_passes(g, on, NULL, &d), 0);
	assert_int_equal(live(g, "BatchNormalization"), 0);
	assert_int_equal(live(g, "Add"), 0);
	assert_int_equal(live(g, "Relu"), 0);
	assert_int_equal(live(g, "Conv"), 2);
	float *got = run(g, x);
	/* folding rounds W*s once in float: a few ulps per product */
	assert_close(got, want, 120, 1e-5f);
	free(want);
	free(got);
	graph_free(ref);
	graph_free(g);
}

static void test_each_pass_alone_keeps_the_numbers(void **state)
{
	(void)state;
	const float *x = block_input();
	Graph *ref = basic_block();
	float *want = run(ref, x);
	for (int p = 0; p < n_passes; p++) {
		Graph *g = basic_block();
		int on[8] = {0};
		on[p] = 1;
		Diag d;
		assert_int_equal(run_passes(g, on, NULL, &d), 0);
		float *got = run(g, x);
		assert_close(got, want, 120, 1e-5f);
		free(got);
		graph_free(g);
	}
	free(want);
	graph_free(ref);
}

static void test_fold_bn_alone(void **state)
{
	(void)state;
	Graph *g = basic_block();
	Diag d;
	assert_int_equal(pass_fold_bn(g, &d), 0);
	assert_int_equal(live(g, "BatchNormalization"), 0);
	assert_int_equal(live(g, "Relu"), 2);
	/* the folded conv gained a bias */
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead && !strcmp(g->nodes[i].op_type, "Conv"))
			assert_true(g->nodes[i].n_in == 3 && g->nodes[i].in[2] >= 0);
	graph_free(g);
}

static void test_bn_after_a_shared_conv_output_is_not_folded(void **state)
{
	(void)state;
	Graph *g = basic_block();
	/* make conv0's output a graph output too: the BN must stay */
	int c0 = g->nodes[0].out[0];
	output(g, c0);
	Diag d;
	assert_int_equal(pass_fold_bn(g, &d), 0);
	assert_int_equal(live(g, "BatchNormalization"), 1);
	graph_free(g);
}

static void test_fuse_add_then_act_order(void **state)
{
	(void)state;
	Graph *g = basic_block();
	Diag d;
	assert_int_equal(pass_fold_bn(g, &d), 0);
	assert_int_equal(pass_fuse_add(g, &d), 0);
	assert_int_equal(live(g, "Add"), 0);
	assert_int_equal(pass_fuse_act(g, &d), 0);
	const Node *last = NULL;
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead)
			last = &g->nodes[i];
	assert_string_equal(last->op_type, "Conv");
	assert_int_equal(last->steps[0].p.conv.act, RN_ACT_RELU);
	assert_int_equal(last->residual, g->inputs[0]);
	assert_int_equal(last->steps[0].in[3], g->inputs[0]);
	graph_free(g);
}

static void test_inplace_never_writes_a_graph_input(void **state)
{
	(void)state;
	/* the block's residual is the graph input: it must not be overwritten */
	Graph *g = basic_block();
	int on[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	Diag d;
	assert_int_equal(run_passes(g, on, NULL, &d), 0);
	for (int i = 0; i < g->n_tensors; i++)
		assert_true(tensor_root(g, i) != g->inputs[0] || i == g->inputs[0]);
	graph_free(g);
}

/* x -> Relu -> r; r -> Sigmoid -> s (or s = r); Conv(s) + r -> y -> Sigmoid */
static Graph *residual_graph(int conv_reads_residual)
{
	rng = 42;
	Graph *g = graph_new();
	g->opset = 13;
	int64_t xs[4] = {1, 2, 4, 4}, ws[4] = {2, 2, 3, 3};
	int x = tensor(g, "x", T_INPUT, 4, xs);
	int r = tensor(g, "r", T_ACT, 0, NULL), s = r, c = tensor(g, "c", T_ACT, 0, NULL);
	int y = tensor(g, "y", T_ACT, 0, NULL), z = tensor(g, "z", T_ACT, 0, NULL);
	int w = tensor(g, "w", T_CONST, 4, ws);
	add(g, "relu", "Relu", &x, 1, r);
	if (!conv_reads_residual) {
		s = tensor(g, "s", T_ACT, 0, NULL);
		add(g, "sig0", "Sigmoid", &r, 1, s);
	}
	conv_attrs(add(g, "conv", "Conv", (int[]){s, w}, 2, c));
	add(g, "add", "Add", (int[]){c, r}, 2, y);
	add(g, "sig", "Sigmoid", &y, 1, z);
	output(g, z);
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	return g;
}

static void test_inplace_reuses_a_dying_residual(void **state)
{
	(void)state;
	static const float xin[32] = {1, -2, 3, -4, 5, -6, 7, -8, 9, 1, 2, 3, 4, 5, 6, 7,
				      -1, 2, -3, 4, -5, 6, -7, 8, -9, 1, 2, 3, 4, 5, 6, 7};
	for (int reads = 0; reads < 2; reads++) {
		Graph *g = residual_graph(reads);
		float *want = run(g, xin);
		int on[8] = {1, 1, 1, 1, 1, 1, 1, 1};
		Diag d;
		assert_int_equal(run_passes(g, on, NULL, &d), 0);
		int r = graph_find_tensor(g, "r"), y = graph_find_tensor(g, "y");
		/* when the conv reads r itself, writing over r would corrupt it */
		assert_int_equal(tensor_root(g, y) == r, !reads);
		float *got = run(g, xin);
		assert_close(got, want, 32, 1e-6f);
		free(want);
		free(got);
		graph_free(g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_passes_keep_the_numbers_and_remove_bn_add_relu),
		cmocka_unit_test(test_each_pass_alone_keeps_the_numbers),
		cmocka_unit_test(test_fold_bn_alone),
		cmocka_unit_test(test_bn_after_a_shared_conv_output_is_not_folded),
		cmocka_unit_test(test_fuse_add_then_act_order),
		cmocka_unit_test(test_inplace_never_writes_a_graph_input),
		cmocka_unit_test(test_inplace_reuses_a_dying_residual),
	};
	return cmocka_run_group_tests_name("passes", tests, NULL, NULL);
}
