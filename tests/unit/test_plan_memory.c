/* The memory plan: tensors alive at the same step never share bytes, dead
 * ones are reused, and views take no storage of their own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ops.h"
#include "passes.h"
#include "plan.h"

/* x -> Relu -> t0 -> Relu -> t1 ... -> t(n-1) (the graph output) */
static Graph *relu_chain(int n, int64_t numel)
{
	Graph *g = graph_new();
	g->opset = 13;
	int x = graph_add_tensor(g, "x", T_INPUT, RN_F32);
	g->tensors[x].rank = 1;
	g->tensors[x].dims[0] = numel;
	g->inputs = xmalloc(sizeof *g->inputs);
	g->inputs[g->n_inputs++] = x;
	int prev = x;
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		int t = graph_add_tensor(g, name, T_ACT, 0);
		graph_add_node(g, name, "Relu", &prev, 1, &t, 1);
		prev = t;
	}
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = prev;
	g->tensors[prev].is_output = 1;
	return g;
}

static void assert_no_live_overlap(const Graph *g)
{
	for (int i = 0; i < g->n_tensors; i++) {
		const Tensor *a = &g->tensors[i];
		if (a->offset < 0)
			continue;
		assert_true(a->offset % PLAN_ALIGN == 0);
		assert_true(a->offset + (int64_t)tensor_bytes(a) <= g->arena_bytes);
		for (int j = i + 1; j < g->n_tensors; j++) {
			const Tensor *b = &g->tensors[j];
			if (b->offset < 0)
				continue;
			int live_together = !(a->last_use < b->first_use || b->last_use < a->first_use);
			int bytes_overlap = a->offset < b->offset + (int64_t)tensor_bytes(b) &&
					    b->offset < a->offset + (int64_t)tensor_bytes(a);
			assert_false(live_together && bytes_overlap);
		}
	}
}

static void test_chain_reuses_two_buffers(void **state)
{
	(void)state;
	Graph *g = relu_chain(6, 1000);
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_no_live_overlap(g);
	/* 5 intermediates of 4000 bytes (4032 aligned); only 2 live at once */
	assert_int_equal(st.sum_bytes, 5 * 4032);
	assert_int_equal(st.peak_live, 2 * 4032);
	assert_int_equal(st.arena_bytes, 2 * 4032);
	/* the last one is the graph output: the caller's buffer */
	assert_int_equal(g->tensors[graph_find_tensor(g, "t5")].offset, -1);
	graph_free(g);
}

static void test_reshape_is_a_view(void **state)
{
	(void)state;
	Graph *g = relu_chain(3, 64);
	/* t0 -> Reshape(8x8) -> r, and t1 now reads r */
	int t0 = graph_find_tensor(g, "t0");
	int shape = graph_add_tensor(g, "shape", T_CONST, RN_I64);
	g->tensors[shape].rank = 1;
	g->tensors[shape].dims[0] = 2;
	int64_t *sv = xmalloc(16);
	sv[0] = 8, sv[1] = 8;
	g->tensors[shape].data = sv;
	int r = graph_add_tensor(g, "r", T_ACT, 0);
	graph_add_node(g, "reshape", "Reshape", (int[]){t0, shape}, 2, &r, 1);
	g->nodes[1].in[0] = r;
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	assert_int_equal(pass_views(g, &d), 0);
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_int_equal(g->tensors[r].alias, t0);
	assert_int_equal(g->tensors[r].offset, -1);
	assert_int_equal(tensor_root(g, r), t0);
	assert_no_live_overlap(g);
	graph_free(g);
}

static void test_branches_keep_both_alive(void **state)
{
	(void)state;
	/* x -> a, x -> b, a + b -> y: a and b are live together */
	Graph *g = graph_new();
	g->opset = 13;
	int x = graph_add_tensor(g, "x", T_INPUT, RN_F32);
	g->tensors[x].rank = 1;
	g->tensors[x].dims[0] = 100;
	g->inputs = xmalloc(sizeof *g->inputs);
	g->inputs[g->n_inputs++] = x;
	int a = graph_add_tensor(g, "a", T_ACT, 0), b = graph_add_tensor(g, "b", T_ACT, 0);
	int y = graph_add_tensor(g, "y", T_ACT, 0);
	graph_add_node(g, "na", "Relu", &x, 1, &a, 1);
	graph_add_node(g, "nb", "Sigmoid", &x, 1, &b, 1);
	graph_add_node(g, "ny", "Add", (int[]){a, b}, 2, &y, 1);
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = y;
	g->tensors[y].is_output = 1;
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_int_equal(st.arena_bytes, 2 * 448);
	assert_true(g->tensors[a].offset != g->tensors[b].offset);
	assert_no_live_overlap(g);
	graph_free(g);
}

/* A chain of views names the storage itself, not the view before it, so
 * finding a tensor's storage does not walk the chain. */
static void test_view_chain_points_at_storage(void **state)
{
	(void)state;
	Graph *g = relu_chain(2, 64); /* x -> t0 -> t1 (output) */
	int t0 = graph_find_tensor(g, "t0"), prev = t0;
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof name, "v%d", i);
		int v = graph_add_tensor(g, name, T_ACT, 0);
		graph_add_node(g, name, "Identity", &prev, 1, &v, 1);
		prev = v;
	}
	g->nodes[1].in[0] = prev; /* t1 = Relu(v999) */
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	assert_int_equal(pass_views(g, &d), 0);
	for (int i = 0; i < 1000; i++) {
		char name[16];
		snprintf(name, sizeof name, "v%d", i);
		assert_int_equal(g->tensors[graph_find_tensor(g, name)].alias, t0);
	}
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_int_equal(st.n_steps, 2); /* the views need no code */
	assert_int_equal(g->tensors[t0].last_use, 1);
	graph_free(g);
}

/* A large chain still reuses two buffers (the overlap search and the
 * live-bytes count are exact, not only fast). */
static void test_long_chain_reuses_two_buffers(void **state)
{
	(void)state;
	Graph *g = relu_chain(20000, 16);
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	assert_int_equal(lower_graph(g, &d), 0);
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_int_equal(st.n_steps, 20000);
	assert_int_equal(st.peak_live, 2 * 64);
	assert_int_equal(st.arena_bytes, 2 * 64);
	for (int i = 0; i < 19999; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		const Tensor *t = &g->tensors[graph_find_tensor(g, name)];
		assert_int_equal(t->first_use, i);
		assert_int_equal(t->last_use, i + 1);
		assert_int_equal(t->offset, i % 2 ? 64 : 0);
	}
	graph_free(g);
}

/* Each tensor sits at the lowest offset clear of the larger (earlier
 * placed) tensors live with it. */
static void test_offsets_are_lowest_fit(void **state)
{
	(void)state;
	/* x -> Relu -> a; Concat(a, a) -> c; Relu(c) -> e; Concat(e, a) -> y:
	 * a (448 bytes aligned) lives through steps 0-3, c (832) 1-2, e (832)
	 * 2-3. Largest first: c at 0, e above c, a above both. */
	Graph *g = graph_new();
	g->opset = 13;
	int x = graph_add_tensor(g, "x", T_INPUT, RN_F32);
	g->tensors[x].rank = 1;
	g->tensors[x].dims[0] = 100;
	g->inputs = xmalloc(sizeof *g->inputs);
	g->inputs[g->n_inputs++] = x;
	int a = graph_add_tensor(g, "a", T_ACT, 0), c = graph_add_tensor(g, "c", T_ACT, 0);
	int e = graph_add_tensor(g, "e", T_ACT, 0), y = graph_add_tensor(g, "y", T_ACT, 0);
	graph_add_node(g, "na", "Relu", &x, 1, &a, 1);
	graph_add_node(g, "nc", "Concat", (int[]){a, a}, 2, &c, 1);
	graph_add_node(g, "ne", "Relu", &c, 1, &e, 1);
	graph_add_node(g, "ny", "Concat", (int[]){e, a}, 2, &y, 1);
	node_add_attr(&g->nodes[1], "axis", A_INT)->i = 0;
	node_add_attr(&g->nodes[3], "axis", A_INT)->i = 0;
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = y;
	g->tensors[y].is_output = 1;
	Diag d;
	assert_int_equal(lower_graph(g, &d), 0);
	PlanStats st;
	assert_int_equal(plan_memory(g, &st, &d), 0);
	assert_no_live_overlap(g);
	assert_int_equal(g->tensors[c].offset, 0);
	assert_int_equal(g->tensors[e].offset, 832);
	assert_int_equal(g->tensors[a].offset, 2 * 832);
	assert_int_equal(st.arena_bytes, 2 * 832 + 448);
	assert_int_equal(st.peak_live, 2 * 832 + 448);
	graph_free(g);
}

/* graph_toposort takes nodes in repeated stable sweeps: each sweep, in
 * the nodes' order, every node whose inputs are ready by then. */
static void test_toposort_is_stable_sweeps(void **state)
{
	(void)state;
	Graph *g = graph_new();
	int x = graph_add_tensor(g, "x", T_INPUT, RN_F32);
	int a = graph_add_tensor(g, "a", T_ACT, 0), b = graph_add_tensor(g, "b", T_ACT, 0);
	int c = graph_add_tensor(g, "c", T_ACT, 0), e = graph_add_tensor(g, "e", T_ACT, 0);
	int f = graph_add_tensor(g, "f", T_ACT, 0);
	/* listed: C(b) E(c) A(x) B(a) F(a, e): sweep 1 takes A, B; sweep 2
	 * C, and E right after it (c is ready by then); F waits for E but
	 * comes after it in the list, so also sweep 2 */
	graph_add_node(g, "C", "Relu", &b, 1, &c, 1);
	graph_add_node(g, "E", "Relu", &c, 1, &e, 1);
	graph_add_node(g, "A", "Relu", &x, 1, &a, 1);
	graph_add_node(g, "B", "Relu", &a, 1, &b, 1);
	graph_add_node(g, "F", "Add", (int[]){a, e}, 2, &f, 1);
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	const char *want[] = {"A", "B", "C", "E", "F"};
	for (int i = 0; i < 5; i++) {
		assert_string_equal(g->nodes[i].name, want[i]);
		assert_int_equal(g->tensors[g->nodes[i].out[0]].producer, i);
	}
	graph_free(g);

	/* a reversed chain: one node per sweep */
	g = graph_new();
	int t[6];
	t[0] = graph_add_tensor(g, "t0", T_INPUT, RN_F32);
	for (int i = 1; i < 6; i++) {
		char name[8];
		snprintf(name, sizeof name, "t%d", i);
		t[i] = graph_add_tensor(g, name, T_ACT, 0);
	}
	for (int i = 5; i >= 1; i--) {
		char name[8];
		snprintf(name, sizeof name, "n%d", i);
		graph_add_node(g, name, "Relu", &t[i - 1], 1, &t[i], 1);
	}
	assert_int_equal(graph_toposort(g, &d), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g->nodes[i].in[0], t[i]);
	/* a cycle: the first blocked node in the list is named */
	int u = graph_add_tensor(g, "u", T_ACT, 0), v = graph_add_tensor(g, "v", T_ACT, 0);
	graph_add_node(g, "nu", "Add", (int[]){t[5], v}, 2, &u, 1);
	graph_add_node(g, "nv", "Relu", &u, 1, &v, 1);
	g->tensors[u].producer = 5;
	g->tensors[v].producer = 6;
	assert_int_equal(graph_toposort(g, &d), -1);
	assert_string_equal(d.msg, "node 'nu' (Add): input 'v' depends on the node's own output (the graph has a cycle)");
	assert_string_equal(g->nodes[5].name, "nu");
	assert_string_equal(g->nodes[6].name, "nv");
	graph_free(g);
}

/* graph_find_tensor: the last tensor of a name, through the index's growth. */
static void test_find_tensor(void **state)
{
	(void)state;
	Graph *g = graph_new();
	assert_int_equal(graph_find_tensor(g, "x"), -1);
	for (int i = 0; i < 5000; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		assert_int_equal(graph_add_tensor(g, name, T_ACT, 0), i);
	}
	int again = graph_add_tensor(g, "t17", T_ACT, 0);
	for (int i = 0; i < 5000; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		assert_int_equal(graph_find_tensor(g, name), i == 17 ? again : i);
	}
	assert_int_equal(graph_find_tensor(g, "t5000"), -1);
	assert_int_equal(graph_find_tensor(g, ""), -1);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_reuses_two_buffers),
		cmocka_unit_test(test_reshape_is_a_view),
		cmocka_unit_test(test_branches_keep_both_alive),
		cmocka_unit_test(test_view_chain_points_at_storage),
		cmocka_unit_test(test_long_chain_reuses_two_buffers),
		cmocka_unit_test(test_offsets_are_lowest_fit),
		cmocka_unit_test(test_toposort_is_stable_sweeps),
		cmocka_unit_test(test_find_tensor),
	};
	return cmocka_run_group_tests_name("plan_memory", tests, NULL, NULL);
}
