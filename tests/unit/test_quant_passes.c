/* The int8 passes on hand-built graphs: what qdq (pass_qdq.c) rewrites
 * into int8 operators and what it must leave alone, that the rewritten
 * graph computes the numbers the QDQ graph describes (both run on the host
 * through kernel_exec), what quantize (pass_quantize.c) writes into a float
 * graph, and the quantization operators' refusals (op_quant.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "ops.h"
#include "passes.h"
#include "plan.h"

#include "test_graph.h"
#define TEST_DIR_TAG "quant-passes"
#include "test_dir.h"

/* ---- building graphs ---- */

static Graph *new_graph(int opset)
{
	Graph *g = graph_new();
	g->opset = opset;
	return g;
}

static int act_tensor(Graph *g, const char *name)
{
	return graph_add_tensor(g, name, T_ACT, 0);
}

static int input(Graph *g, const char *name, int dtype, int rank, const int64_t *dims)
{
	int t = tensor(g, name, T_INPUT, rank, dims);
	g->tensors[t].dtype = dtype;
	return t;
}

/* A constant of any type holding a copy of data. */
static int cten(Graph *g, const char *name, int dtype, int rank, const int64_t *dims, const void *data)
{
	int t = graph_add_tensor(g, name, T_CONST, dtype);
	Tensor *x = &g->tensors[t];
	x->rank = rank;
	if (rank)
		memcpy(x->dims, dims, (size_t)rank * sizeof *dims);
	size_t bytes = tensor_bytes(x);
	x->data = xmalloc(bytes + 1);
	memcpy(x->data, data, bytes);
	return t;
}

static int f32_scalar(Graph *g, const char *name, float v)
{
	return cten(g, name, RN_F32, 0, NULL, &v);
}

static int f32_vec(Graph *g, const char *name, int n, const float *v)
{
	int64_t d = n;
	return cten(g, name, RN_F32, 1, &d, v);
}

/* A zero point of type dtype (uint8, int8, int16 or int32) holding v. */
static int zp_scalar(Graph *g, const char *name, int dtype, int v)
{
	uint8_t u = (uint8_t)v;
	int8_t s = (int8_t)v;
	int16_t h = (int16_t)v;
	int32_t w = v;
	const void *p = dtype == RN_U8 ? (void *)&u : dtype == RN_I8 ? (void *)&s : dtype == RN_I16 ? (void *)&h : (void *)&w;
	return cten(g, name, dtype, 0, NULL, p);
}

static Node *node(Graph *g, const char *name, const char *op, const int *in, int n_in, int out)
{
	int k = graph_add_node(g, name, op, in, n_in, &out, 1);
	return &g->nodes[k];
}

static void int_attr(Node *n, const char *name, int64_t v)
{
	node_add_attr(n, name, A_INT)->i = v;
}

static void ints_attr(Node *n, const char *name, int count, int64_t v)
{
	Attr *a = node_add_attr(n, name, A_INTS);
	a->n = count;
	a->ints = xcalloc((size_t)count, sizeof *a->ints);
	for (int i = 0; i < count; i++)
		a->ints[i] = v;
}

static void output(Graph *g, int t)
{
	g->outputs = xrealloc(g->outputs, (g->n_outputs + 1) * sizeof *g->outputs);
	g->outputs[g->n_outputs++] = t;
	g->tensors[t].is_output = 1;
}

/* A QuantizeLinear or DequantizeLinear (op) of x with scale s and zero
 * point z (-1: none), named and writing `name`; returns its output. */
static int qnode(Graph *g, const char *name, const char *op, int x, int s, int z)
{
	int y = act_tensor(g, name);
	node(g, name, op, (int[]){x, s, z}, z >= 0 ? 3 : 2, y);
	return y;
}

static void lower(Graph *g)
{
	Diag d;
	assert_int_equal(graph_toposort(g, &d), 0);
	if (lower_graph(g, &d))
		fail_msg("lowering: %s", d.msg);
}

static int live(const Graph *g, const char *op)
{
	int k = 0;
	for (int i = 0; i < g->n_nodes; i++)
		k += !g->nodes[i].dead && !strcmp(g->nodes[i].op_type, op);
	return k;
}

static Node *live_node(Graph *g, const char *op)
{
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead && !strcmp(g->nodes[i].op_type, op))
			return &g->nodes[i];
	return NULL;
}

static Node *named(Graph *g, const char *name)
{
	for (int i = 0; i < g->n_nodes; i++)
		if (!strcmp(g->nodes[i].name, name))
			return &g->nodes[i];
	return NULL;
}

/* ---- running graphs on the host ---- */

/* Runs every live node's steps through kernel_exec, the graph inputs
 * bound in g->inputs order; copies the final bytes of each tensor of
 * want[] into got[] (malloc'd). */
static void run(Graph *g, const void *const *in, const int *want, int n_want, void **got)
{
	void **ptr = xcalloc((size_t)g->n_tensors, sizeof *ptr);
	void **own = xcalloc((size_t)g->n_tensors, sizeof *own);
	for (int i = 0; i < g->n_tensors; i++) {
		int r = tensor_root(g, i);
		Tensor *t = &g->tensors[r];
		int k = 0;
		while (k < g->n_inputs && g->inputs[k] != r)
			k++;
		if (t->kind == T_CONST)
			ptr[i] = t->data;
		else if (k < g->n_inputs)
			ptr[i] = (void *)in[k];
		else {
			if (!own[r] && t->rank >= 0)
				own[r] = xcalloc(1, tensor_bytes(t) + 1);
			ptr[i] = own[r];
		}
	}
	Diag d;
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_steps; k++)
			if (!step_is_noop(g, &g->nodes[i].steps[k]) && kernel_exec(g, &g->nodes[i].steps[k], ptr, &d))
				fail_msg("running node '%s': %s", g->nodes[i].name, d.msg);
	for (int i = 0; i < n_want; i++) {
		size_t bytes = tensor_bytes(&g->tensors[want[i]]);
		got[i] = memcpy(xmalloc(bytes + 1), ptr[tensor_root(g, want[i])], bytes);
	}
	for (int i = 0; i < g->n_tensors; i++)
		free(own[i]);
	free(own);
	free(ptr);
}

static void *run1(Graph *g, const void *const *in, int t)
{
	void *p;
	run(g, in, &t, 1, &p);
	return p;
}

static float *random_floats(int64_t n, float amp, uint64_t seed)
{
	rng = seed;
	float *v = xmalloc((size_t)n * sizeof *v);
	for (int64_t i = 0; i < n; i++)
		v[i] = amp * frand();
	return v;
}

/* Integers in [lo, hi] from frand. */
static int irand(int lo, int hi)
{
	int v = lo + (int)((frand() + 1.0f) * 0.5f * (float)(hi - lo + 1));
	return v > hi ? hi : v;
}

/* The largest difference between two quantized tensors of n values. */
static int max_step_diff(int dtype, const void *a, const void *b, int64_t n, int64_t *n_diff)
{
	int worst = 0;
	*n_diff = 0;
	for (int64_t i = 0; i < n; i++) {
		int x = dtype == RN_U8 ? ((const uint8_t *)a)[i] : ((const int8_t *)a)[i];
		int y = dtype == RN_U8 ? ((const uint8_t *)b)[i] : ((const int8_t *)b)[i];
		int e = abs(x - y);
		*n_diff += e != 0;
		worst = e > worst ? e : worst;
	}
	return worst;
}

/* ---- the qdq pass: Conv ---- */

enum { ACT_NONE, ACT_RELU, ACT_CLIP6, ACT_LEAKY };

/* What a QDQ convolution graph is made of. Scales that are powers of two
 * make the float round trip exact (every dequantized value, product and
 * partial sum is a float without rounding), so the int8 convolution must
 * give the very same bytes. */
typedef struct {
	int act;
	int y_dtype, y_zp;
	float x_scale, y_scale;
	int x_zp;
	const float *w_scale; /* M values */
	int w_dtype, w_zp;    /* per-tensor zero point for uint8 weights */
	int w_per_tensor;
	float bias_scale_factor; /* the bias' scale over x_scale * w_scale */
	int y_per_axis;       /* the output's Q per channel (axis 1) */
	int y_scale_input;    /* the output's Q scale a graph input */
} ConvCase;

enum { C = 4, M = 4, H = 6, W = 5, K = 3 };

typedef struct {
	Graph *g;
	int x, xq, y; /* tensors: the input, its quantization, the output */
	int8_t w[M * C * K * K];
	uint8_t wu[M * C * K * K];
	int32_t b[M];
} ConvGraph;

/* x -> Q -> DQ -> Conv(DQ(w), DQ(b)) [-> act] -> Q -> y (quantized output) */
static void conv_graph(ConvGraph *cg, const ConvCase *cc)
{
	memset(cg, 0, sizeof *cg);
	rng = 0x9e3779b97f4a7c15ull;
	Graph *g = cg->g = new_graph(13);
	int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, K, K}, md = M;
	cg->x = input(g, "x", RN_F32, 4, xd);
	int sx = f32_scalar(g, "x_scale", cc->x_scale), zx = zp_scalar(g, "x_zp", RN_U8, cc->x_zp);
	cg->xq = qnode(g, "x_q", "QuantizeLinear", cg->x, sx, zx);
	int xf = qnode(g, "x_dq", "DequantizeLinear", cg->xq, sx, zx);

	for (int i = 0; i < M * C * K * K; i++) {
		cg->w[i] = (int8_t)irand(-127, 127);
		cg->wu[i] = (uint8_t)irand(0, 255);
	}
	int wq, ws, wz;
	Node *dqw;
	if (cc->w_dtype == RN_U8) {
		wq = cten(g, "w", RN_U8, 4, wd, cg->wu);
		ws = f32_scalar(g, "w_scale", cc->w_scale[0]);
		wz = zp_scalar(g, "w_zp", RN_U8, cc->w_zp);
	} else if (cc->w_per_tensor) {
		wq = cten(g, "w", RN_I8, 4, wd, cg->w);
		ws = f32_scalar(g, "w_scale", cc->w_scale[0]);
		wz = zp_scalar(g, "w_zp", RN_I8, 0);
	} else {
		int8_t z[M] = {0};
		wq = cten(g, "w", RN_I8, 4, wd, cg->w);
		ws = f32_vec(g, "w_scale", M, cc->w_scale);
		wz = cten(g, "w_zp", RN_I8, 1, &md, z);
	}
	int wf = act_tensor(g, "w_dq");
	dqw = node(g, "w_dq", "DequantizeLinear", (int[]){wq, ws, wz}, 3, wf);
	int_attr(dqw, "axis", 0);

	float bs[M];
	for (int m = 0; m < M; m++) {
		cg->b[m] = irand(-3000, 3000);
		bs[m] = cc->x_scale * cc->w_scale[cc->w_per_tensor || cc->w_dtype == RN_U8 ? 0 : m] *
			(cc->bias_scale_factor ? cc->bias_scale_factor : 1.0f);
	}
	int bq = cten(g, "b", RN_I32, 1, &md, cg->b);
	int bsc = f32_vec(g, "b_scale", M, bs);
	int bf = act_tensor(g, "b_dq");
	int_attr(node(g, "b_dq", "DequantizeLinear", (int[]){bq, bsc}, 2, bf), "axis", 0);

	int c = act_tensor(g, "c");
	Node *conv = node(g, "conv", "Conv", (int[]){xf, wf, bf}, 3, c);
	ints_attr(conv, "pads", 4, 1);
	int a = c;
	if (cc->act != ACT_NONE) {
		a = act_tensor(g, "a");
		if (cc->act == ACT_RELU)
			node(g, "relu", "Relu", &c, 1, a);
		else if (cc->act == ACT_LEAKY)
			node(g, "lrelu", "LeakyRelu", &c, 1, a);
		else
			node(g, "clip", "Clip", (int[]){c, f32_scalar(g, "zero", 0.0f), f32_scalar(g, "six", 6.0f)}, 3, a);
	}
	int sy, zy;
	if (cc->y_per_axis) {
		float s[M];
		uint8_t z[M];
		for (int m = 0; m < M; m++)
			s[m] = cc->y_scale, z[m] = (uint8_t)cc->y_zp;
		sy = f32_vec(g, "y_scale", M, s);
		zy = cten(g, "y_zp", RN_U8, 1, &md, z);
	} else {
		sy = cc->y_scale_input ? input(g, "y_scale", RN_F32, 0, (int64_t[]){1}) : f32_scalar(g, "y_scale", cc->y_scale);
		zy = zp_scalar(g, "y_zp", cc->y_dtype, cc->y_zp);
	}
	cg->y = act_tensor(g, "y");
	Node *q = node(g, "y_q", "QuantizeLinear", (int[]){a, sy, zy}, 3, cg->y);
	if (cc->y_per_axis)
		int_attr(q, "axis", 1);
	output(g, cg->y);
	lower(g);
}

static const float pow2_w_scales[M] = {1.0f / 64, 1.0f / 128, 1.0f / 256, 1.0f / 128};

/* The output of the QDQ graph (pass_qdq off) and with pass_fuse_act and
 * pass_qdq run, on random inputs; returns the number of live QLinearConv
 * nodes after. */
static int conv_before_after(ConvGraph *cg, const ConvCase *cc, void **before, void **after)
{
	conv_graph(cg, cc);
	float *x = random_floats(C * H * W, 1.5f, 77);
	float ys = cc->y_scale;
	const void *in[2] = {x, &ys};
	*before = run1(cg->g, in, cg->y);
	Diag d;
	assert_int_equal(pass_fuse_act(cg->g, &d), 0);
	assert_int_equal(pass_qdq(cg->g, &d), 0);
	*after = run1(cg->g, in, cg->y);
	free(x);
	return live(cg->g, "QLinearConv");
}

static void check_fused_conv(const ConvCase *cc, int want_lo, int want_hi)
{
	ConvGraph cg;
	void *before, *after;
	assert_int_equal(conv_before_after(&cg, cc, &before, &after), 1);
	Graph *g = cg.g;
	/* one node left between the input's Q and y: the int8 convolution */
	assert_int_equal(live(g, "Conv"), 0);
	assert_int_equal(live(g, "DequantizeLinear"), 0);
	assert_int_equal(live(g, "QuantizeLinear"), 1);
	assert_int_equal(live(g, "Relu") + live(g, "Clip"), 0);
	Node *n = live_node(g, "QLinearConv");
	assert_int_equal(n->n_steps, 1);
	const Step *s = &n->steps[0];
	assert_int_equal(s->kernel, K_QCONV);
	const rn_qconv2d_params *p = &s->p.qconvi;
	assert_int_equal(s->in[0], cg.xq);
	assert_int_equal(s->out[0], cg.y);
	assert_int_equal(p->x_dtype, RN_U8);
	assert_int_equal(p->y_dtype, cc->y_dtype);
	assert_int_equal(p->x_zp, cc->x_zp);
	assert_int_equal(p->y_zp, cc->y_zp);
	assert_int_equal(p->lo, want_lo);
	assert_int_equal(p->hi, want_hi);
	assert_int_equal(p->has_residual, 0);
	assert_int_equal(s->in[4], -1);
	/* int8 weights: w minus its zero point */
	const Tensor *w8 = &g->tensors[s->in[1]];
	assert_int_equal(w8->dtype, RN_I8);
	assert_int_equal(w8->kind, T_CONST);
	assert_int_equal(tensor_numel(w8), M * C * K * K);
	for (int i = 0; i < M * C * K * K; i++)
		assert_int_equal(((const int8_t *)w8->data)[i], cc->w_dtype == RN_U8 ? cg.wu[i] - cc->w_zp : cg.w[i]);
	/* int32 bias at x_scale * w_scale (a bias at another scale brought there) */
	const Tensor *b32 = &g->tensors[s->in[2]];
	assert_int_equal(b32->dtype, RN_I32);
	float f = cc->bias_scale_factor ? cc->bias_scale_factor : 1.0f;
	for (int m = 0; m < M; m++)
		assert_int_equal(((const int32_t *)b32->data)[m], (int32_t)nearbyintf((float)cg.b[m] * f));
	/* requantization: x_scale * w_scale[m] / y_scale */
	const Tensor *mt = &g->tensors[s->in[3]];
	assert_int_equal(mt->dtype, RN_F32);
	assert_int_equal(tensor_numel(mt), M);
	for (int m = 0; m < M; m++) {
		float sw = cc->w_scale[cc->w_per_tensor || cc->w_dtype == RN_U8 ? 0 : m];
		float want = cc->x_scale * sw / cc->y_scale;
		assert_float_equal(((const float *)mt->data)[m], want, 1e-6f * want);
	}
	/* the same bytes as the float round trip (exact: see ConvCase), a
	 * quarter of them or more strictly inside the clamp (a Relu takes
	 * about half to its low end): not a comparison of clamped values */
	int64_t n_diff, inside = 0;
	assert_int_equal(max_step_diff(cc->y_dtype, before, after, M * H * W, &n_diff), 0);
	for (int i = 0; i < M * H * W; i++) {
		int v = cc->y_dtype == RN_U8 ? ((const uint8_t *)after)[i] : ((const int8_t *)after)[i];
		inside += v > want_lo && v < want_hi;
	}
	assert_true(inside * 4 > M * H * W);
	free(before);
	free(after);
	graph_free(g);
}

static void test_qdq_conv_relu_becomes_one_int8_convolution(void **state)
{
	(void)state;
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 3, .x_scale = 1.0f / 64, .y_scale = 1.0f / 16,
		       .x_zp = 128, .w_scale = pow2_w_scales};
	/* Relu: the clamp's low end is the output's zero point */
	check_fused_conv(&cc, 3, 255);
}

static void test_qdq_conv_clip6_clamps_at_the_quantized_bounds(void **state)
{
	(void)state;
	/* Clip(0, 6) at scale 1/32, zero point 10: [Q(0), Q(6)] = [10, 202] */
	ConvCase cc = {.act = ACT_CLIP6, .y_dtype = RN_U8, .y_zp = 10, .x_scale = 1.0f / 64, .y_scale = 1.0f / 32,
		       .x_zp = 120, .w_scale = pow2_w_scales};
	check_fused_conv(&cc, 10, 202);
}

static void test_qdq_conv_to_int8_without_activation(void **state)
{
	(void)state;
	/* int8 out: the whole type's range; weights with one scale */
	ConvCase cc = {.act = ACT_NONE, .y_dtype = RN_I8, .y_zp = -5, .x_scale = 1.0f / 64, .y_scale = 1.0f / 32,
		       .x_zp = 128, .w_scale = pow2_w_scales, .w_per_tensor = 1};
	check_fused_conv(&cc, -128, 127);
}

static void test_qdq_conv_bias_at_another_scale_is_rescaled(void **state)
{
	(void)state;
	/* bias quantized at twice x_scale * w_scale: its int32 values doubled */
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 0, .x_scale = 1.0f / 64, .y_scale = 1.0f / 16,
		       .x_zp = 128, .w_scale = pow2_w_scales, .bias_scale_factor = 2.0f};
	check_fused_conv(&cc, 0, 255);
}

static void test_qdq_conv_uint8_weights_with_a_zero_point(void **state)
{
	(void)state;
	/* uint8 weights at zero point 128: w - 128 fits int8 */
	static const float sw[1] = {1.0f / 128};
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 0, .x_scale = 1.0f / 64, .y_scale = 1.0f / 8,
		       .x_zp = 128, .w_scale = sw, .w_dtype = RN_U8, .w_zp = 128};
	check_fused_conv(&cc, 0, 255);
}

static void test_qdq_conv_any_scales_match_the_round_trip_within_float_rounding(void **state)
{
	(void)state;
	/* Scales as a calibration gives them: the float convolution of the
	 * round trip rounds its products and sums (about 1e-7 of the value),
	 * the int8 one is exact, so a value that falls within that of a
	 * rounding boundary may land one step away; every other is equal. */
	static const float sw[M] = {0.00311f, 0.00427f, 0.00198f, 0.00365f};
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 7, .x_scale = 0.0123f, .y_scale = 0.0471f,
		       .x_zp = 131, .w_scale = sw};
	ConvGraph cg;
	void *before, *after;
	assert_int_equal(conv_before_after(&cg, &cc, &before, &after), 1);
	int64_t n_diff;
	assert_true(max_step_diff(RN_U8, before, after, M * H * W, &n_diff) <= 1);
	assert_true(n_diff * 100 <= M * H * W); /* at most 1% */
	free(before);
	free(after);
	graph_free(cg.g);
}

/* A graph qdq must leave as it is: still a float Conv, the same bytes. */
static void check_conv_not_fused(const ConvCase *cc)
{
	ConvGraph cg;
	void *before, *after;
	assert_int_equal(conv_before_after(&cg, cc, &before, &after), 0);
	Node *n = live_node(cg.g, "Conv");
	assert_non_null(n);
	assert_int_equal(n->steps[0].kernel, K_CONV2D);
	assert_int_equal(live(cg.g, "QuantizeLinear"), 2);
	assert_int_equal(memcmp(before, after, (size_t)M * H * W), 0);
	free(before);
	free(after);
	graph_free(cg.g);
}

static void test_qdq_conv_per_axis_output_quantization_is_not_fused(void **state)
{
	(void)state;
	/* the int8 convolution has one output scale and zero point */
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 0, .x_scale = 1.0f / 64, .y_scale = 1.0f / 16,
		       .x_zp = 128, .w_scale = pow2_w_scales, .y_per_axis = 1};
	check_conv_not_fused(&cc);
}

static void test_qdq_conv_with_a_scale_known_at_run_time_is_not_fused(void **state)
{
	(void)state;
	/* the int8 convolution's multipliers are computed while compiling */
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 0, .x_scale = 1.0f / 64, .y_scale = 1.0f / 16,
		       .x_zp = 128, .w_scale = pow2_w_scales, .y_scale_input = 1};
	check_conv_not_fused(&cc);
}

static void test_qdq_conv_weights_beyond_int8_are_not_fused(void **state)
{
	(void)state;
	/* uint8 weights at zero point 0: w - 0 reaches 255 */
	static const float sw[1] = {1.0f / 128};
	ConvCase cc = {.act = ACT_RELU, .y_dtype = RN_U8, .y_zp = 0, .x_scale = 1.0f / 64, .y_scale = 1.0f / 8,
		       .x_zp = 128, .w_scale = sw, .w_dtype = RN_U8, .w_zp = 0};
	check_conv_not_fused(&cc);
}

static void test_qdq_conv_leaky_relu_is_not_fused(void **state)
{
	(void)state;
	/* a LeakyRelu is no clamp of the quantized output */
	ConvCase cc = {.act = ACT_LEAKY, .y_dtype = RN_U8, .y_zp = 30, .x_scale = 1.0f / 64, .y_scale = 1.0f / 16,
		       .x_zp = 128, .w_scale = pow2_w_scales};
	check_conv_not_fused(&cc);
}

/* ---- the qdq pass: Add ---- */

typedef struct {
	float scale;
	int zp;
} QP;

/* A QDQ convolution of xf (per-channel int8 weights, int32 bias, no
 * activation) quantized to uint8 at q; returns the quantized output. */
static int qconv_to(Graph *g, const char *name, int xf, float x_scale, QP q, float w_amp)
{
	char nm[64];
	int64_t wd[4] = {M, C, K, K}, md = M;
	int8_t w[M * C * K * K], z[M] = {0};
	int32_t b[M];
	float ws[M], bs[M];
	for (int i = 0; i < M * C * K * K; i++)
		w[i] = (int8_t)irand(-127, 127);
	for (int m = 0; m < M; m++) {
		ws[m] = w_amp * (1.0f + 0.13f * (float)m) / 127.0f;
		bs[m] = x_scale * ws[m];
		b[m] = irand(-20, 20);
	}
	snprintf(nm, sizeof nm, "%s_w", name);
	int wq = cten(g, nm, RN_I8, 4, wd, w);
	snprintf(nm, sizeof nm, "%s_w_scale", name);
	int wsc = f32_vec(g, nm, M, ws);
	snprintf(nm, sizeof nm, "%s_w_zp", name);
	int wz = cten(g, nm, RN_I8, 1, &md, z);
	snprintf(nm, sizeof nm, "%s_w_dq", name);
	int wf = act_tensor(g, nm);
	int_attr(node(g, nm, "DequantizeLinear", (int[]){wq, wsc, wz}, 3, wf), "axis", 0);
	snprintf(nm, sizeof nm, "%s_b", name);
	int bq = cten(g, nm, RN_I32, 1, &md, b);
	snprintf(nm, sizeof nm, "%s_b_scale", name);
	int bsc = f32_vec(g, nm, M, bs);
	snprintf(nm, sizeof nm, "%s_b_dq", name);
	int bf = act_tensor(g, nm);
	int_attr(node(g, nm, "DequantizeLinear", (int[]){bq, bsc}, 2, bf), "axis", 0);
	int c = act_tensor(g, name);
	ints_attr(node(g, name, "Conv", (int[]){xf, wf, bf}, 3, c), "pads", 4, 1);
	snprintf(nm, sizeof nm, "%s_scale", name);
	int s = f32_scalar(g, nm, q.scale);
	snprintf(nm, sizeof nm, "%s_zp", name);
	int zz = zp_scalar(g, nm, RN_U8, q.zp);
	snprintf(nm, sizeof nm, "%s_q", name);
	return qnode(g, nm, "QuantizeLinear", c, s, zz);
}

typedef struct {
	Graph *g;
	int xq, aq, bq, y; /* the input's, each conv's and the result's quantized tensors */
} AddGraph;

/* Residual blocks in QDQ form, with A = Q(Conv(DQ(x))):
 *   two_convs 0:  Q(Relu(Add(DQ(A), DQ(x))))        (operands swapped: DQ(x) first)
 *   two_convs 1:  Q(Relu(Add(DQ(A), DQ(B)))), B = Q(Conv'(DQ(x))) made after A */
static void add_graph(AddGraph *ag, int two_convs, int swap, QP qa, QP qb, QP qy)
{
	memset(ag, 0, sizeof *ag);
	rng = 0x243f6a8885a308d3ull;
	Graph *g = ag->g = new_graph(13);
	int64_t xd[4] = {1, C, H, W};
	const float sx = 2.0f / 255;
	int x = input(g, "x", RN_F32, 4, xd);
	int s = f32_scalar(g, "x_scale", sx), z = zp_scalar(g, "x_zp", RN_U8, 128);
	ag->xq = qnode(g, "x_q", "QuantizeLinear", x, s, z);
	int xf = qnode(g, "x_dq", "DequantizeLinear", ag->xq, s, z);
	ag->aq = qconv_to(g, "conv_a", xf, sx, qa, 0.3f);
	int af = qnode(g, "a_dq", "DequantizeLinear", ag->aq, f32_scalar(g, "a_s", qa.scale),
		       zp_scalar(g, "a_z", RN_U8, qa.zp));
	int rf = xf;
	if (two_convs) {
		ag->bq = qconv_to(g, "conv_b", xf, sx, qb, 0.2f);
		rf = qnode(g, "b_dq", "DequantizeLinear", ag->bq, f32_scalar(g, "b_s", qb.scale),
			   zp_scalar(g, "b_z", RN_U8, qb.zp));
	}
	int sum = act_tensor(g, "sum"), r = act_tensor(g, "sum_relu");
	node(g, "add", "Add", swap ? (int[]){rf, af} : (int[]){af, rf}, 2, sum);
	node(g, "relu", "Relu", &sum, 1, r);
	ag->y = qnode(g, "y_q", "QuantizeLinear", r, f32_scalar(g, "y_s", qy.scale), zp_scalar(g, "y_z", RN_U8, qy.zp));
	output(g, ag->y);
	lower(g);
}

/* Runs the block before and after fuse-act + qdq; checks the fused
 * result against the round trip: the fusion leaves out the rounding of
 * the convolution's quantized output (scale s_mid) to its grid, at most
 * s_mid / 2 before the Add, s_mid / (2 y_scale) steps of the result; with
 * s_mid <= y_scale and that intermediate not saturated in the round trip,
 * at most one step. Returns the node of the convolution that took the
 * Add. */
static Node *check_add_fusion(AddGraph *ag, int mid, float s_mid, float y_scale)
{
	assert_true(s_mid <= y_scale);
	Graph *g = ag->g;
	float *x = random_floats(C * H * W, 1.0f, 4242);
	const void *in[1] = {x};
	int want[2] = {ag->y, mid};
	void *before[2], *after;
	run(g, in, want, 2, before);
	for (int i = 0; i < M * H * W; i++) {
		uint8_t v = ((const uint8_t *)before[1])[i];
		assert_true(v > 0 && v < 255); /* the premise: not saturated */
	}
	Diag d;
	assert_int_equal(pass_fuse_act(g, &d), 0);
	assert_int_equal(pass_qdq(g, &d), 0);
	after = run1(g, in, ag->y);
	int64_t n_diff;
	assert_true(max_step_diff(RN_U8, before[0], after, M * H * W, &n_diff) <= 1);
	assert_true(n_diff * 2 < M * H * W); /* most values are the same */
	assert_int_equal(live(g, "Add"), 0);
	assert_int_equal(live(g, "Relu"), 0);
	assert_int_equal(live(g, "DequantizeLinear"), 0);
	assert_int_equal(live(g, "QuantizeLinear"), 1);
	Node *taker = NULL;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (!n->dead && n->n_steps == 1 && n->steps[0].kernel == K_QCONV && n->steps[0].p.qconvi.has_residual) {
			assert_null(taker);
			taker = n;
		}
	}
	assert_non_null(taker);
	assert_int_equal(taker->steps[0].out[0], ag->y);
	free(x);
	free(before[0]);
	free(before[1]);
	free(after);
	return taker;
}

static void check_residual(Graph *g, Node *n, int r, QP qr, QP qy, float x_scale, const float *w_scale_first)
{
	const Step *s = &n->steps[0];
	const rn_qconv2d_params *p = &s->p.qconvi;
	assert_int_equal(s->in[4], r);
	assert_int_equal(n->residual, r);
	assert_int_equal(p->r_dtype, RN_U8);
	assert_int_equal(p->r_zp, qr.zp);
	assert_float_equal(p->r_mult, qr.scale / qy.scale, 1e-6f * qr.scale / qy.scale);
	assert_int_equal(p->y_zp, qy.zp);
	assert_int_equal(p->y_dtype, RN_U8);
	assert_int_equal(p->lo, qy.zp); /* the Relu after the Add */
	assert_int_equal(p->hi, 255);
	/* the multipliers now bring the sum to the Add's output scale */
	const float *mult = g->tensors[s->in[3]].data;
	float want = x_scale * *w_scale_first / qy.scale;
	assert_float_equal(mult[0], want, 2e-6f * want);
}

static void test_qdq_add_becomes_the_convolutions_residual(void **state)
{
	(void)state;
	QP qa = {0.05f, 128}, qy = {0.06f, 0};
	for (int swap = 0; swap < 2; swap++) {
		AddGraph ag;
		add_graph(&ag, 0, swap, qa, qa, qy);
		Node *n = check_add_fusion(&ag, ag.aq, qa.scale, qy.scale);
		assert_string_equal(n->name, "conv_a");
		/* the residual is the quantized input, at the input's parameters */
		QP qx = {2.0f / 255, 128};
		check_residual(ag.g, n, ag.xq, qx, qy, 2.0f / 255, &(float){0.3f / 127.0f});
		graph_free(ag.g);
	}
}

static void test_qdq_add_of_two_convolutions_goes_into_the_later(void **state)
{
	(void)state;
	QP qa = {0.04f, 120}, qb = {0.03f, 130}, qy = {0.06f, 0};
	for (int swap = 0; swap < 2; swap++) {
		AddGraph ag;
		add_graph(&ag, 1, swap, qa, qb, qy);
		Node *n = check_add_fusion(&ag, ag.bq, qb.scale, qy.scale);
		/* conv_b runs after conv_a: a's output exists when b adds it */
		assert_string_equal(n->name, "conv_b");
		check_residual(ag.g, n, ag.aq, qa, qy, 2.0f / 255, &(float){0.2f / 127.0f});
		Node *a = named(ag.g, "conv_a");
		assert_false(a->dead);
		assert_int_equal(a->steps[0].kernel, K_QCONV);
		assert_int_equal(a->steps[0].p.qconvi.has_residual, 0);
		graph_free(ag.g);
	}
}

/* ---- the qdq pass: MaxPool ---- */

/* x -> Q(s, z) -> DQ -> MaxPool 2x2/2 -> Q(s2, z2) -> y */
static Graph *pool_graph(int dtype, QP q, QP q2, int *y)
{
	rng = 99;
	Graph *g = new_graph(13);
	int64_t xd[4] = {1, C, H, W};
	int x = input(g, "x", RN_F32, 4, xd);
	int s = f32_scalar(g, "s", q.scale), z = zp_scalar(g, "z", dtype, q.zp);
	int xq = qnode(g, "x_q", "QuantizeLinear", x, s, z);
	int xf = qnode(g, "x_dq", "DequantizeLinear", xq, s, z);
	int p = act_tensor(g, "p");
	Node *n = node(g, "pool", "MaxPool", &xf, 1, p);
	ints_attr(n, "kernel_shape", 2, 2);
	ints_attr(n, "strides", 2, 2);
	int s2 = f32_scalar(g, "s2", q2.scale), z2 = zp_scalar(g, "z2", dtype, q2.zp);
	*y = qnode(g, "y_q", "QuantizeLinear", p, s2, z2);
	output(g, *y);
	lower(g);
	return g;
}

/* Runs before and after qdq; returns 1 if the pool then reads the
 * quantized input. The bytes must be the same either way. */
static int pool_fused(int dtype, QP q, QP q2)
{
	int y;
	Graph *g = pool_graph(dtype, q, q2, &y);
	float *x = random_floats(C * H * W, 3.0f, 5);
	const void *in[1] = {x};
	void *before = run1(g, in, y);
	Diag d;
	assert_int_equal(pass_qdq(g, &d), 0);
	void *after = run1(g, in, y);
	assert_int_equal(memcmp(before, after, (size_t)tensor_numel(&g->tensors[y])), 0);
	Node *pool = named(g, "pool");
	assert_false(pool->dead);
	int fused = g->tensors[pool->in[0]].dtype != RN_F32;
	if (fused) {
		assert_int_equal(g->tensors[pool->in[0]].dtype, RN_U8);
		assert_int_equal(pool->out[0], y);
		assert_int_equal(pool->steps[0].in[0], pool->in[0]);
		assert_int_equal(live(g, "DequantizeLinear"), 0);
		assert_int_equal(live(g, "QuantizeLinear"), 1);
	} else {
		assert_int_equal(live(g, "DequantizeLinear"), 1);
		assert_int_equal(live(g, "QuantizeLinear"), 2);
	}
	free(x);
	free(before);
	free(after);
	graph_free(g);
	return fused;
}

static void test_qdq_maxpool_runs_on_uint8(void **state)
{
	(void)state;
	/* the same parameters on both sides: max commutes with Q and DQ */
	assert_true(pool_fused(RN_U8, (QP){0.03f, 100}, (QP){0.03f, 100}));
	/* another scale or zero point after: Q(max) is not max(q) */
	assert_false(pool_fused(RN_U8, (QP){0.03f, 100}, (QP){0.05f, 100}));
	assert_false(pool_fused(RN_U8, (QP){0.03f, 100}, (QP){0.03f, 90}));
	/* int8 stays the float round trip */
	assert_false(pool_fused(RN_I8, (QP){0.03f, 0}, (QP){0.03f, 0}));
}

/* x -> Q -> DQ -> op -> Q -> y, op GlobalAveragePool, AveragePool (k x k)
 * or Flatten, run
 * before and after qdq; returns 1 if op then reads the quantized input,
 * with *worst the largest difference in steps between the two results. */
static int pool_like_fused(const char *op, int k, int dtype, QP q, QP q2, int *worst)
{
	rng = 7;
	Graph *g = new_graph(13);
	int x = input(g, "x", RN_F32, 4, (int64_t[]){1, C, H, W});
	int s = f32_scalar(g, "s", q.scale), z = zp_scalar(g, "z", dtype, q.zp);
	int xq = qnode(g, "x_q", "QuantizeLinear", x, s, z);
	int xf = qnode(g, "x_dq", "DequantizeLinear", xq, s, z);
	int p = act_tensor(g, "p");
	Node *pn = node(g, "op", op, &xf, 1, p);
	if (k) { /* a k x k pool, stride 2, padded at the end, pads counted */
		ints_attr(pn, "kernel_shape", 2, k);
		ints_attr(pn, "strides", 2, 2);
		Attr *pads = node_add_attr(pn, "pads", A_INTS);
		pads->n = 4;
		pads->ints = xcalloc(4, sizeof *pads->ints);
		pads->ints[2] = pads->ints[3] = 1;
		int_attr(pn, "count_include_pad", 1);
	}
	int s2 = f32_scalar(g, "s2", q2.scale), z2 = zp_scalar(g, "z2", dtype, q2.zp);
	int y = qnode(g, "y_q", "QuantizeLinear", p, s2, z2);
	output(g, y);
	lower(g);
	float *xv = random_floats(C * H * W, 3.0f, 11);
	const void *in[1] = {xv};
	void *before = run1(g, in, y);
	Diag d;
	assert_int_equal(pass_qdq(g, &d), 0);
	void *after = run1(g, in, y);
	int64_t n_diff;
	*worst = max_step_diff(dtype, before, after, tensor_numel(&g->tensors[y]), &n_diff);
	Node *n = named(g, "op");
	assert_false(n->dead);
	int fused = g->tensors[n->in[0]].dtype != RN_F32;
	if (fused) {
		assert_int_equal(g->tensors[n->in[0]].dtype, dtype);
		assert_int_equal(n->out[0], y);
		assert_int_equal(live(g, "DequantizeLinear"), 0);
		assert_int_equal(live(g, "QuantizeLinear"), 1);
	}
	free(xv);
	free(before);
	free(after);
	graph_free(g);
	return fused;
}

static int reduce_fused(const char *op, int dtype, QP q, QP q2, int *worst)
{
	return pool_like_fused(op, 0, dtype, q, q2, worst);
}

static void test_qdq_average_pool_becomes_qlinear_average_pool(void **state)
{
	(void)state;
	int worst;
	assert_true(pool_like_fused("AveragePool", 3, RN_U8, (QP){0.03f, 100}, (QP){0.011f, 7}, &worst));
	assert_true(worst <= 1);
	assert_true(pool_like_fused("AveragePool", 2, RN_I8, (QP){0.05f, -3}, (QP){0.02f, 4}, &worst));
	assert_true(worst <= 1);
	assert_true(pool_like_fused("AveragePool", 2, RN_U8, (QP){0.03f, 100}, (QP){0.03f, 100}, &worst));
	assert_true(worst <= 1);
}

static void test_qdq_global_average_pool_is_the_integer_mean(void **state)
{
	(void)state;
	int worst;
	/* any parameters, uint8 or int8: the mean is rounded once, in double
	 * (the round trip rounds in float: at most one step apart) */
	assert_true(reduce_fused("GlobalAveragePool", RN_U8, (QP){0.03f, 100}, (QP){0.011f, 7}, &worst));
	assert_true(worst <= 1);
	assert_true(reduce_fused("GlobalAveragePool", RN_I8, (QP){0.05f, -3}, (QP){0.02f, 4}, &worst));
	assert_true(worst <= 1);
	assert_true(reduce_fused("GlobalAveragePool", RN_U8, (QP){0.03f, 100}, (QP){0.03f, 100}, &worst));
	assert_int_equal(worst, 0);
}

static void test_qdq_flatten_between_equal_pairs_views_the_quantized_tensor(void **state)
{
	(void)state;
	int worst;
	assert_true(reduce_fused("Flatten", RN_U8, (QP){0.03f, 100}, (QP){0.03f, 100}, &worst));
	assert_int_equal(worst, 0);
	assert_true(reduce_fused("Flatten", RN_I8, (QP){0.03f, -5}, (QP){0.03f, -5}, &worst));
	assert_int_equal(worst, 0);
	/* requantized: the values change, so the pair stays */
	assert_false(reduce_fused("Flatten", RN_U8, (QP){0.03f, 100}, (QP){0.05f, 100}, &worst));
	assert_false(reduce_fused("Flatten", RN_U8, (QP){0.03f, 100}, (QP){0.03f, 90}, &worst));
}

/* ---- the qdq pass: QLinearConv and QLinearAdd (QOperator) ---- */

typedef struct {
	Graph *g;
	int xq, cq, y; /* the input's, the convolution's and the result's quantized tensors */
} QopGraph;

/* x -> Q -> QLinearConv (per-channel int8 weights, int32 bias) -> c,
 * then with add: QLinearAdd(c, xq) -> y; every parameter a constant but
 * with ys_input the convolution's output scale, a graph input. */
static void qop_graph(QopGraph *qg, int add, int ys_input, QP qc, QP qy)
{
	memset(qg, 0, sizeof *qg);
	rng = 0x5851f42d4c957f2dull;
	Graph *g = qg->g = new_graph(13);
	int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, K, K}, md = M;
	const float sx = 0.0123f;
	int x = input(g, "x", RN_F32, 4, xd);
	int xs = f32_scalar(g, "x_scale", sx), xz = zp_scalar(g, "x_zp", RN_U8, 131);
	qg->xq = qnode(g, "x_q", "QuantizeLinear", x, xs, xz);
	int8_t w[M * C * K * K], wz[M] = {0};
	int32_t b[M];
	float ws[M];
	for (int i = 0; i < M * C * K * K; i++)
		w[i] = (int8_t)irand(-127, 127);
	for (int m = 0; m < M; m++) {
		ws[m] = 0.002f * (1.0f + 0.21f * (float)m);
		b[m] = irand(-500, 500);
	}
	int cs = ys_input ? input(g, "c_scale", RN_F32, 0, (int64_t[]){1}) : f32_scalar(g, "c_scale", qc.scale);
	int cz = zp_scalar(g, "c_zp", RN_U8, qc.zp);
	int in[9] = {qg->xq, xs, xz, cten(g, "w", RN_I8, 4, wd, w), f32_vec(g, "w_scale", M, ws),
		     cten(g, "w_zp", RN_I8, 1, &md, wz), cs, cz, cten(g, "b", RN_I32, 1, &md, b)};
	qg->cq = act_tensor(g, "c");
	ints_attr(node(g, "conv", "QLinearConv", in, 9, qg->cq), "pads", 4, 1);
	qg->y = qg->cq;
	if (add) {
		qg->y = act_tensor(g, "y");
		int ain[8] = {qg->cq, cs, cz, qg->xq, xs, xz, f32_scalar(g, "y_scale", qy.scale),
			      zp_scalar(g, "y_zp", RN_U8, qy.zp)};
		node(g, "add", "QLinearAdd", ain, 8, qg->y);
	}
	output(g, qg->y);
	lower(g);
}

static void test_qdq_qlinear_conv_becomes_the_int8_convolution(void **state)
{
	(void)state;
	QopGraph qg;
	QP qc = {0.047f, 7};
	qop_graph(&qg, 0, 0, qc, qc);
	Graph *g = qg.g;
	float *x = random_floats(C * H * W, 1.5f, 808);
	const void *in[1] = {x};
	void *before = run1(g, in, qg.y);
	assert_int_equal(named(g, "conv")->steps[0].kernel, K_QLINEAR_CONV);
	Diag d;
	assert_int_equal(pass_qdq(g, &d), 0);
	Node *n = named(g, "conv");
	assert_int_equal(n->steps[0].kernel, K_QCONV);
	const rn_qconv2d_params *p = &n->steps[0].p.qconvi;
	assert_int_equal(p->x_zp, 131);
	assert_int_equal(p->y_zp, 7);
	assert_int_equal(p->lo, 0);
	assert_int_equal(p->hi, 255);
	const float *mult = g->tensors[n->steps[0].in[3]].data;
	for (int m = 0; m < M; m++) {
		float want = 0.0123f * (0.002f * (1.0f + 0.21f * (float)m)) / qc.scale;
		assert_float_equal(mult[m], want, 1e-6f * want);
	}
	/* the same requantization as the general kernel: the same bytes */
	void *after = run1(g, in, qg.y);
	assert_int_equal(memcmp(before, after, (size_t)M * H * W), 0);
	free(x);
	free(before);
	free(after);
	graph_free(g);
}

static void test_qdq_qlinear_conv_with_a_scale_known_at_run_time_stays(void **state)
{
	(void)state;
	QopGraph qg;
	QP qc = {0.047f, 7};
	qop_graph(&qg, 1, 1, qc, (QP){0.06f, 0});
	Diag d;
	assert_int_equal(pass_qdq(qg.g, &d), 0);
	assert_int_equal(named(qg.g, "conv")->steps[0].kernel, K_QLINEAR_CONV);
	assert_false(named(qg.g, "add")->dead);
	graph_free(qg.g);
}

/* ---- io-int8 (pass_io.c) ---- */

/* x -> Q -> DQ -> Relu -> Q -> DQ -> y, or with first_relu a Relu reading
 * x in float first. */
static Graph *io_graph(int first_relu)
{
	Graph *g = new_graph(13);
	int x = input(g, "x", RN_F32, 2, (int64_t[]){1, 8});
	int s_in = f32_scalar(g, "s_in", 0.5f), z_in = zp_scalar(g, "z_in", RN_U8, 3);
	int s_out = f32_scalar(g, "s_out", 0.25f), z_out = zp_scalar(g, "z_out", RN_I8, -2);
	int src = x;
	if (first_relu) {
		src = act_tensor(g, "x_relu");
		node(g, "relu0", "Relu", (int[]){x}, 1, src);
	}
	int q = qnode(g, "q_in", "QuantizeLinear", src, s_in, z_in);
	int f = qnode(g, "dq_in", "DequantizeLinear", q, s_in, z_in);
	int r = act_tensor(g, "r");
	node(g, "relu", "Relu", (int[]){f}, 1, r);
	int q2 = qnode(g, "q_out", "QuantizeLinear", r, s_out, z_out);
	int y = qnode(g, "y", "DequantizeLinear", q2, s_out, z_out);
	output(g, y);
	lower(g);
	g->io_int8 = 1;
	return g;
}

static void test_io_int8_passes_the_quantized_input_and_output(void **state)
{
	(void)state;
	Graph *g = io_graph(0);
	Diag d;
	assert_int_equal(pass_io_int8(g, &d), 0);
	const Tensor *in = &g->tensors[g->inputs[0]], *out = &g->tensors[g->outputs[0]];
	assert_string_equal(in->name, "q_in");
	assert_int_equal(in->kind, T_INPUT);
	assert_int_equal(in->dtype, RN_U8);
	assert_string_equal(out->name, "q_out");
	assert_int_equal(out->dtype, RN_I8);
	assert_true(out->is_output);
	assert_true(g->in_q[0].quantized && g->out_q[0].quantized);
	assert_true(g->in_q[0].scale == 0.5f && g->in_q[0].zero_point == 3);
	assert_true(g->out_q[0].scale == 0.25f && g->out_q[0].zero_point == -2);
	assert_true(named(g, "q_in")->dead);
	assert_true(named(g, "y")->dead);
	assert_false(named(g, "dq_in")->dead);
	/* what it computes: the quantized bytes in, the quantized bytes out */
	uint8_t xq[8] = {0, 1, 3, 4, 10, 100, 200, 255};
	int8_t *yq = run1(g, (const void *const[]){xq}, g->outputs[0]);
	for (int i = 0; i < 8; i++) {
		float real = fmaxf(0.0f, (float)(xq[i] - 3) * 0.5f);
		int want = (int)nearbyintf(real / 0.25f) - 2;
		want = want > 127 ? 127 : want;
		assert_int_equal(yq[i], want);
	}
	free(yq);
	graph_free(g);
}

static void test_io_int8_refuses_an_input_read_in_float(void **state)
{
	(void)state;
	Graph *g = io_graph(1);
	Diag d;
	assert_int_equal(pass_io_int8(g, &d), -1);
	assert_non_null(strstr(d.msg, "--io int8: input 'x' cannot be passed quantized: a node other than "
				      "QuantizeLinear reads it ('relu0')"));
	graph_free(g);
}

static void test_qdq_qlinear_add_becomes_the_residual(void **state)
{
	(void)state;
	/* as for the QDQ Add: the convolution's output is no longer rounded
	 * to its grid (0.047) before the Add; at the Add's scale (0.06) that
	 * is at most one step */
	QopGraph qg;
	QP qc = {0.047f, 128}, qy = {0.06f, 100};
	qop_graph(&qg, 1, 0, qc, qy);
	Graph *g = qg.g;
	float *x = random_floats(C * H * W, 1.5f, 909);
	const void *in[1] = {x};
	int want[2] = {qg.y, qg.cq};
	void *before[2];
	run(g, in, want, 2, before);
	for (int i = 0; i < M * H * W; i++) {
		uint8_t v = ((const uint8_t *)before[1])[i];
		assert_true(v > 0 && v < 255); /* not saturated */
	}
	Diag d;
	assert_int_equal(pass_qdq(g, &d), 0);
	assert_true(named(g, "add")->dead);
	Node *n = named(g, "conv");
	assert_int_equal(n->steps[0].kernel, K_QCONV);
	const rn_qconv2d_params *p = &n->steps[0].p.qconvi;
	assert_int_equal(p->has_residual, 1);
	assert_int_equal(n->steps[0].in[4], qg.xq);
	assert_int_equal(p->r_zp, 131);
	assert_float_equal(p->r_mult, 0.0123f / qy.scale, 1e-6f);
	assert_int_equal(p->y_zp, qy.zp);
	assert_int_equal(n->steps[0].out[0], qg.y);
	void *after = run1(g, in, qg.y);
	int64_t n_diff;
	assert_true(max_step_diff(RN_U8, before[0], after, M * H * W, &n_diff) <= 1);
	assert_true(n_diff * 2 < M * H * W);
	free(x);
	free(before[0]);
	free(before[1]);
	free(after);
	graph_free(g);
}

/* ---- the quantize pass ---- */

/* Writes a .npy header of dtype descr and shape dims, then `count`
 * floats of v, into dir/name; returns its path. */
static const char *write_npy(const char *name, const char *descr, int fortran, int rank, const int64_t *dims,
			     const float *v, int64_t count)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char shape[128] = "";
	for (int i = 0; i < rank; i++)
		snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%lld, ", (long long)dims[i]);
	char h[256];
	int len = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr,
			   fortran ? "True" : "False", shape);
	while ((10 + len + 1) % 64)
		h[len++] = ' ';
	h[len++] = '\n';
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
	assert_int_equal(fwrite(pre, 1, 10, f), 10);
	assert_int_equal(fwrite(h, 1, (size_t)len, f), (size_t)len);
	if (count)
		assert_int_equal(fwrite(v, sizeof *v, (size_t)count, f), (size_t)count);
	assert_int_equal(fclose(f), 0);
	return path;
}

enum { QC = 2, QM = 4, QH = 5, QW = 5, QN = 3, SAMPLES = 6 };

/* x -> Conv -> Relu -> Conv -> Add(., r1) -> Relu -> GlobalAveragePool ->
 * Flatten -> Gemm -> y, in float: the tensors by name. */
static Graph *float_net(void)
{
	rng = 0x1234abcdull;
	Graph *g = new_graph(13);
	int64_t xd[4] = {1, QC, QH, QW}, w1d[4] = {QM, QC, 3, 3}, w2d[4] = {QM, QM, 3, 3}, md = QM;
	int64_t gwd[2] = {QN, QM}, nd = QN;
	int x = tensor(g, "x", T_INPUT, 4, xd);
	int w1 = tensor(g, "w1", T_CONST, 4, w1d), b1 = tensor(g, "b1", T_CONST, 1, &md);
	int w2 = tensor(g, "w2", T_CONST, 4, w2d), b2 = tensor(g, "b2", T_CONST, 1, &md);
	int gw = tensor(g, "gw", T_CONST, 2, gwd), gb = tensor(g, "gb", T_CONST, 1, &nd);
	/* Weights whose neighbours alternate in sign: no two adjacent ones
	 * of one sign, whose sum an int8 kernel may want bounded (that could
	 * make a channel's scale larger than max|w| / 127). One output
	 * channel ten times larger: the per-channel scales differ. */
	for (const int *t = (const int[]){w1, w2, gw, -1}; *t >= 0; t++) {
		float *v = g->tensors[*t].data;
		for (int64_t i = 0; i < tensor_numel(&g->tensors[*t]); i++)
			v[i] = i % 2 ? -fabsf(v[i]) : fabsf(v[i]);
	}
	for (int i = 0; i < QC * 9; i++)
		((float *)g->tensors[w1].data)[2 * QC * 9 + i] *= 10.0f;
	int c1 = act_tensor(g, "c1"), r1 = act_tensor(g, "r1"), c2 = act_tensor(g, "c2"), s = act_tensor(g, "s");
	int sr = act_tensor(g, "sr"), gp = act_tensor(g, "gp"), fl = act_tensor(g, "fl"), y = act_tensor(g, "y");
	ints_attr(node(g, "conv1", "Conv", (int[]){x, w1, b1}, 3, c1), "pads", 4, 1);
	node(g, "relu1", "Relu", &c1, 1, r1);
	ints_attr(node(g, "conv2", "Conv", (int[]){r1, w2, b2}, 3, c2), "pads", 4, 1);
	node(g, "add", "Add", (int[]){c2, r1}, 2, s);
	node(g, "relu2", "Relu", &s, 1, sr);
	node(g, "gap", "GlobalAveragePool", &sr, 1, gp);
	node(g, "flatten", "Flatten", &gp, 1, fl);
	int_attr(node(g, "fc", "Gemm", (int[]){fl, gw, gb}, 3, y), "transB", 1);
	output(g, y);
	lower(g);
	return g;
}

static float *calib_samples(void)
{
	return random_floats(SAMPLES * QC * QH * QW, 2.0f, 31337);
}

static const char *calib_file(void)
{
	float *v = calib_samples();
	int64_t dims[4] = {SAMPLES, QC, QH, QW};
	const char *p = write_npy("calib.npy", "<f4", 0, 4, dims, v, SAMPLES * QC * QH * QW);
	free(v);
	return p;
}

static int tensor_named(Graph *g, const char *name)
{
	int t = graph_find_tensor(g, name);
	assert_true(t >= 0);
	return t;
}

/* The quantization the README promises for t: its calibrated range over
 * the samples, widened to hold 0; scale (max - min) / 255, zero point
 * round(-min / scale). */
static void expected_qparams(Graph *ref, const char *name, float *scale, int *zp)
{
	int t = tensor_named(ref, name);
	float *x = calib_samples();
	double lo = 0.0, hi = 0.0;
	int64_t n = tensor_numel(&ref->tensors[t]);
	for (int k = 0; k < SAMPLES; k++) {
		const void *in[1] = {x + k * QC * QH * QW};
		float *v = run1(ref, in, t);
		for (int64_t i = 0; i < n; i++) {
			lo = v[i] < lo ? v[i] : lo;
			hi = v[i] > hi ? v[i] : hi;
		}
		free(v);
	}
	free(x);
	*scale = (float)((hi - lo) / 255.0);
	*zp = (int)nearbyint(-lo / *scale);
}

/* The tensor quantized by the pass for `name`: its live QuantizeLinear,
 * whose scale and zero point are checked; returns the Q node. */
static Node *check_pair(Graph *g, Graph *ref, const char *name, float *scale_out)
{
	char nm[128];
	snprintf(nm, sizeof nm, "%s_QuantizeLinear", name);
	Node *q = named(g, nm);
	if (!q)
		fail_msg("no QuantizeLinear on '%s'", name);
	assert_false(q->dead);
	assert_int_equal(q->in[0], tensor_named(g, name));
	float want_s;
	int want_z;
	expected_qparams(ref, name, &want_s, &want_z);
	const Tensor *s = &g->tensors[q->in[1]], *z = &g->tensors[q->in[2]];
	assert_int_equal(s->dtype, RN_F32);
	assert_int_equal(tensor_numel(s), 1);
	assert_int_equal(z->dtype, RN_U8);
	assert_float_equal(*(const float *)s->data, want_s, 1e-6f * want_s);
	assert_int_equal(*(const uint8_t *)z->data, want_z);
	/* its DequantizeLinear is what the readers read */
	snprintf(nm, sizeof nm, "%s_DequantizeLinear", name);
	Node *dq = named(g, nm);
	assert_non_null(dq);
	assert_false(dq->dead);
	assert_int_equal(dq->in[0], q->out[0]);
	*scale_out = *(const float *)s->data;
	return q;
}

/* Checks node `op_name`'s input i reads `name`'s dequantized pair. */
static void reads_pair(Graph *g, const char *op_name, int i, const char *name)
{
	char nm[128];
	snprintf(nm, sizeof nm, "%s_dequantized", name);
	assert_int_equal(named(g, op_name)->in[i], tensor_named(g, nm));
}

/* The weights of node `op_name` (input 1, [m][k...]) and its bias: int8
 * per channel, scale max|w| / 127, zero point 0; bias int32 at x_scale *
 * w_scale. The float values the node reads are those dequantized. */
static void check_weights(Graph *g, Graph *ref, const char *op_name, const char *w_name, const char *b_name,
			  float x_scale)
{
	Node *n = named(g, op_name);
	const Tensor *wf = &g->tensors[n->in[1]];
	assert_int_equal(wf->kind, T_CONST);
	Node *dq = &g->nodes[wf->producer];
	assert_string_equal(dq->op_type, "DequantizeLinear");
	assert_int_equal(attr_int(dq, "axis", 1), 0);
	const Tensor *q = &g->tensors[dq->in[0]], *s = &g->tensors[dq->in[1]], *z = &g->tensors[dq->in[2]];
	const Tensor *w = &ref->tensors[tensor_named(ref, w_name)];
	int64_t m = w->dims[0], per = tensor_numel(w) / m;
	assert_int_equal(q->dtype, RN_I8);
	assert_int_equal(s->dtype, RN_F32);
	assert_int_equal(tensor_numel(s), m);
	assert_int_equal(z->dtype, RN_I8);
	const float *wv = w->data, *sv = s->data, *deq = wf->data;
	const int8_t *qv = q->data;
	for (int64_t c = 0; c < m; c++) {
		float mx = 0.0f;
		for (int64_t i = 0; i < per; i++)
			mx = fmaxf(mx, fabsf(wv[c * per + i]));
		assert_float_equal(sv[c], mx / 127.0f, 1e-7f * mx);
		assert_int_equal(((const int8_t *)z->data)[c], 0);
		for (int64_t i = 0; i < per; i++) {
			assert_int_equal(qv[c * per + i], (int)nearbyintf(wv[c * per + i] / sv[c]));
			assert_true(abs(qv[c * per + i]) <= 127);
			assert_float_equal(deq[c * per + i], (float)qv[c * per + i] * sv[c], 0.0f);
		}
	}
	const Tensor *bf = &g->tensors[n->in[2]];
	Node *dqb = &g->nodes[bf->producer];
	assert_string_equal(dqb->op_type, "DequantizeLinear");
	const Tensor *bq = &g->tensors[dqb->in[0]], *bs = &g->tensors[dqb->in[1]];
	const float *bv = ref->tensors[tensor_named(ref, b_name)].data;
	assert_int_equal(bq->dtype, RN_I32);
	for (int64_t c = 0; c < m; c++) {
		float want = x_scale * sv[c];
		assert_float_equal(((const float *)bs->data)[c], want, 1e-6f * want);
		assert_int_equal(((const int32_t *)bq->data)[c], (int32_t)nearbyint((double)bv[c] / ((const float *)bs->data)[c]));
	}
}

static void test_quantize_writes_the_pairs_weights_and_biases(void **state)
{
	(void)state;
	Graph *ref = float_net(), *g = float_net();
	const char *cal[1] = {calib_file()};
	QuantizeOptions qo = {.calib = cal, .n_calib = 1, .method = CALIB_MINMAX};
	g->quantize = &qo;
	Diag d;
	if (pass_quantize(g, &d))
		fail_msg("quantize: %s", d.msg);
	/* a pair on every input and output of Conv, Add, GlobalAveragePool
	 * and Gemm: behind the Relu that alone reads a Conv's or the Add's
	 * output, none on a graph output; Flatten's output shares its input's */
	float sx, sr1, sc2, ssr, sgp, sfl;
	check_pair(g, ref, "x", &sx);
	check_pair(g, ref, "r1", &sr1);
	check_pair(g, ref, "c2", &sc2);
	check_pair(g, ref, "sr", &ssr);
	Node *qgp = check_pair(g, ref, "gp", &sgp);
	Node *qfl = check_pair(g, ref, "fl", &sfl);
	assert_int_equal(qfl->in[1], qgp->in[1]);
	assert_int_equal(qfl->in[2], qgp->in[2]);
	for (const char *const *t = (const char *const[]){"c1", "s", "y", NULL}; *t; t++) {
		char nm[64];
		snprintf(nm, sizeof nm, "%s_QuantizeLinear", *t);
		assert_null(named(g, nm));
	}
	assert_int_equal(live(g, "QuantizeLinear"), 6);
	assert_int_equal(live(g, "DequantizeLinear"), 6);
	reads_pair(g, "conv1", 0, "x");
	reads_pair(g, "conv2", 0, "r1");
	reads_pair(g, "add", 0, "c2");
	reads_pair(g, "add", 1, "r1");
	reads_pair(g, "gap", 0, "sr");
	reads_pair(g, "flatten", 0, "gp");
	reads_pair(g, "fc", 0, "fl");
	/* Relu reads the Conv itself: the pair goes behind it */
	assert_int_equal(named(g, "relu1")->in[0], tensor_named(g, "c1"));
	assert_int_equal(named(g, "relu2")->in[0], tensor_named(g, "s"));
	check_weights(g, ref, "conv1", "w1", "b1", sx);
	check_weights(g, ref, "conv2", "w2", "b2", sr1);
	check_weights(g, ref, "fc", "gw", "gb", sfl);
	/* the graph still runs, in an order where each node's inputs exist */
	assert_int_equal(graph_toposort(g, &d), 0);
	graph_free(ref);
	graph_free(g);
}

static void test_quantize_then_qdq_stays_within_a_few_steps_of_float(void **state)
{
	(void)state;
	Graph *ref = float_net(), *g = float_net();
	const char *cal[1] = {calib_file()};
	QuantizeOptions qo = {.calib = cal, .n_calib = 1, .method = CALIB_MINMAX};
	g->quantize = &qo;
	int on[PASS_MAX];
	for (int i = 0; i < PASS_MAX; i++)
		on[i] = 1;
	Diag d;
	if (run_passes(g, on, NULL, &d))
		fail_msg("passes: %s", d.msg);
	/* both convolutions are int8 ones, the second with the Add */
	assert_int_equal(live(g, "Conv"), 0);
	assert_int_equal(live(g, "QLinearConv"), 2);
	assert_int_equal(live(g, "Add"), 0);
	assert_int_equal(named(g, "conv2")->steps[0].p.qconvi.has_residual, 1);
	/* Each quantized tensor rounds to its grid (half a step of it), and
	 * the roundings add up along the path, the average shrinking them;
	 * Flatten's tensor, which Gemm reads, must stay within one step of
	 * the coarsest grid on the way (the largest scale of x, r1, c2, sr,
	 * gp and fl: here sr's, 7 times fl's; the error is about 0.3 of it).
	 * The output then within that times each row's sum of |w|, plus the
	 * weights' rounding (half a step of their scale) times |fl|. */
	float smax = 0.0f;
	for (const char *const *t = (const char *const[]){"x", "r1", "c2", "sr", "gp", "fl", NULL}; *t; t++) {
		char nm[64];
		snprintf(nm, sizeof nm, "%s_QuantizeLinear", *t);
		smax = fmaxf(smax, *(const float *)g->tensors[named(g, nm)->in[1]].data);
	}
	const float *gw = ref->tensors[tensor_named(ref, "gw")].data;
	float *x = calib_samples();
	int flt = tensor_named(ref, "fl"), yt = tensor_named(ref, "y");
	for (int k = 0; k < SAMPLES; k++) {
		const void *in[1] = {x + k * QC * QH * QW};
		/* (fl as quantized: what reads it may be its DequantizeLinear or
		 * an int8 operator) */
		Node *qfl = named(g, "fl_QuantizeLinear");
		int want[2] = {yt, flt}, have[2] = {g->outputs[0], qfl->out[0]};
		void *fv[2], *qv[2];
		run(ref, in, want, 2, fv);
		run(g, in, have, 2, qv);
		const float *yf = fv[0], *flv = fv[1], *got = qv[0];
		float fl_scale = *(const float *)g->tensors[qfl->in[1]].data;
		int fl_zp = *(const uint8_t *)g->tensors[qfl->in[2]].data;
		for (int i = 0; i < QM; i++) {
			float flq = (float)(((const uint8_t *)qv[1])[i] - fl_zp) * fl_scale;
			if (!(fabsf(flq - flv[i]) <= smax))
				fail_msg("sample %d: fl[%d] %g, float %g: more than a step of %g", k, i, (double)flq,
					 (double)flv[i], (double)smax);
		}
		for (int j = 0; j < QN; j++) {
			float l1 = 0.0f, fmax = 0.0f, wmax = 0.0f;
			for (int i = 0; i < QM; i++) {
				l1 += fabsf(gw[j * QM + i]);
				fmax += fabsf(flv[i]);
				wmax = fmaxf(wmax, fabsf(gw[j * QM + i]));
			}
			float bound = smax * l1 + 0.5f * (wmax / 127.0f) * fmax;
			if (!(fabsf(got[j] - yf[j]) <= bound))
				fail_msg("sample %d output %d: %g, float %g, bound %g", k, j, (double)got[j], (double)yf[j],
					 (double)bound);
		}
		free(fv[0]);
		free(fv[1]);
		free(qv[0]);
		free(qv[1]);
	}
	free(x);
	graph_free(ref);
	graph_free(g);
}

/* Runs the quantize pass on the float net with `path` as calibration:
 * must fail with `msg` in the message. */
static void check_calibration_refused(const char *path, const char *msg)
{
	Graph *g = float_net();
	const char *cal[1] = {path};
	QuantizeOptions qo = {.calib = cal, .n_calib = 1, .method = CALIB_MINMAX};
	g->quantize = &qo;
	Diag d;
	d.msg[0] = 0;
	assert_int_equal(pass_quantize(g, &d), -1);
	if (!strstr(d.msg, msg))
		fail_msg("'%s' does not say '%s'", d.msg, msg);
	assert_null(strchr(d.msg, '\n'));
	graph_free(g);
}

/* The input's scale after quantize with `method`, on 51,200 values, bell
 * shaped in [-2, 2] but for three outliers at 40. */
static float input_scale_with(int method)
{
	enum { K = 1024 };
	int64_t per = QC * QH * QW, dims[4] = {K, QC, QH, QW};
	float *v = xmalloc((size_t)(K * per) * sizeof *v);
	uint32_t r = 99;
	for (int64_t i = 0; i < K * per; i++) {
		float u = 0;
		for (int k = 0; k < 4; k++) { /* a sum of uniforms: bell-shaped in [-2, 2] */
			r = r * 1664525u + 1013904223u;
			u += (float)(r >> 8) / 16777216.0f - 0.5f;
		}
		v[i] = i % 20011 == 5 ? 40.0f : u;
	}
	const char *cal[1] = {write_npy("calib-outliers.npy", "<f4", 0, 4, dims, v, K * per)};
	free(v);
	Graph *g = float_net();
	QuantizeOptions qo = {.calib = cal, .n_calib = 1, .method = method};
	g->quantize = &qo;
	Diag d;
	if (pass_quantize(g, &d))
		fail_msg("quantize: %s", d.msg);
	const Node *q = named(g, "x_QuantizeLinear");
	assert_non_null(q);
	float scale = *(const float *)g->tensors[q->in[1]].data;
	graph_free(g);
	return scale;
}

static void test_quantize_percentile_and_entropy_clip_rare_outliers(void **state)
{
	(void)state;
	float mm = input_scale_with(CALIB_MINMAX), pc = input_scale_with(CALIB_PERCENTILE),
	      en = input_scale_with(CALIB_ENTROPY);
	/* min-max holds the outliers: (40 + ~2) / 255 */
	assert_true(mm > 40.0f / 255 && mm < 43.0f / 255);
	/* the others clip them (three values are fewer than the percentile's
	 * 1e-4 cut, and cost entropy more than they are worth), keeping the
	 * bulk's range */
	assert_true(pc < 0.25f * mm && pc > 2.5f / 255);
	assert_true(en < 0.5f * mm && en > 2.5f / 255);
	assert_string_equal(calib_method_name(CALIB_ENTROPY), "entropy");
	assert_int_equal(calib_method_find("entropy"), CALIB_ENTROPY);
}

static void test_quantize_refuses_broken_calibration_files(void **state)
{
	(void)state;
	enum { N = 2 * QC * QH * QW };
	float v[2 * QC * QH * (QW + 1)];
	memset(v, 0, sizeof v);
	int64_t good[4] = {2, QC, QH, QW}, wrong[4] = {2, QC, QH, QW + 1}, rank3[3] = {QC, QH, QW};
	int64_t none[4] = {0, QC, QH, QW}, wrap[4] = {(int64_t)1 << 62, QC, QH, QW};
	check_calibration_refused(write_npy("f64.npy", "<f8", 0, 4, good, v, N), "must be float32");
	check_calibration_refused(write_npy("i8.npy", "|i1", 0, 4, good, v, N / 4), "must be float32");
	check_calibration_refused(write_npy("shape.npy", "<f4", 0, 4, wrong, v, 2 * QC * QH * (QW + 1)), "do not fit input 'x'");
	check_calibration_refused(write_npy("rank.npy", "<f4", 0, 3, rank3, v, N / 2), "do not fit input 'x'");
	check_calibration_refused(write_npy("none.npy", "<f4", 0, 4, none, v, 0), "do not fit input 'x'");
	/* 2^62 x 50 elements wrap around int64 to 2^63, and 4 bytes each to
	 * 0: such a shape must not pass for an empty array */
	check_calibration_refused(write_npy("wrap.npy", "<f4", 0, 4, wrap, v, 0), "too large");
	check_calibration_refused(write_npy("cut.npy", "<f4", 0, 4, good, v, N - 1), "data bytes");
	check_calibration_refused(write_npy("long.npy", "<f4", 0, 4, good, v, N + 1), "data bytes");
	check_calibration_refused(write_npy("fortran.npy", "<f4", 1, 4, good, v, N), "Fortran");
	char path[600];
	snprintf(path, sizeof path, "%s/text.npy", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("1 2 3\n", f);
	fclose(f);
	check_calibration_refused(path, "not a .npy file");
	snprintf(path, sizeof path, "%s/missing.npy", dir);
	check_calibration_refused(path, "missing.npy");
	/* samples that are not finite give no range to quantize with */
	v[7] = NAN;
	check_calibration_refused(write_npy("nan.npy", "<f4", 0, 4, good, v, N), "not finite");
	v[7] = INFINITY;
	check_calibration_refused(write_npy("inf.npy", "<f4", 0, 4, good, v, N), "not finite");
}

/* ---- the quantization operators' refusals (op_quant.c) ---- */

/* One quantization node on graph input x (dtype xt, 1x4x2x2): lowering
 * must fail with `msg` in the message. */
typedef struct {
	const char *what, *op;
	int opset, xt;
	/* the operands after x: dtype (0: absent), rank (0 or 1), count, value */
	struct {
		int dtype, rank, count;
		double v;
	} arg[8];
	int n_args;
	int64_t block_size, axis;
	const char *msg;
} Refusal;

static int operand(Graph *g, int i, int dtype, int rank, int count, double v)
{
	char name[16];
	snprintf(name, sizeof name, "%c", "abcdefghij"[i]);
	int64_t d = count;
	size_t es = rn_dtype_size(dtype);
	unsigned char *data = xcalloc((size_t)count + 1, es ? es : 1);
	for (int k = 0; k < count; k++) {
		unsigned char *p = data + (size_t)k * es;
		switch (dtype) {
		case RN_F32: { float f = (float)v; memcpy(p, &f, 4); break; }
		case RN_F16: { uint16_t h = 0x3800; memcpy(p, &h, 2); break; } /* 0.5 */
		case RN_I32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
		case RN_I16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
		case RN_I8: *(int8_t *)p = (int8_t)v; break;
		default: *p = (uint8_t)v; break;
		}
	}
	int t = cten(g, name, dtype, rank, &d, data);
	free(data);
	return t;
}

static void check_refusal(const Refusal *r)
{
	Graph *g = new_graph(r->opset ? r->opset : 13);
	int64_t xd[4] = {1, 4, 2, 2};
	int ins[9];
	ins[0] = input(g, "x", r->xt ? r->xt : RN_F32, 4, xd);
	for (int i = 0; i < r->n_args; i++)
		ins[1 + i] = r->arg[i].dtype ? operand(g, i, r->arg[i].dtype, r->arg[i].rank, r->arg[i].count, r->arg[i].v)
					     : -1;
	int y = act_tensor(g, "y");
	Node *n = node(g, "n", r->op, ins, 1 + r->n_args, y);
	if (r->block_size)
		int_attr(n, "block_size", r->block_size);
	if (r->axis)
		int_attr(n, "axis", r->axis);
	output(g, y);
	Diag d;
	d.msg[0] = 0;
	assert_int_equal(graph_toposort(g, &d), 0);
	if (lower_graph(g, &d) != -1)
		fail_msg("%s: lowered without an error", r->what);
	if (!strstr(d.msg, r->msg))
		fail_msg("%s: '%s' does not say '%s'", r->what, d.msg, r->msg);
	assert_null(strchr(d.msg, '\n'));
	graph_free(g);
}

#define F32(v) {RN_F32, 0, 1, v}
#define U8(v) {RN_U8, 0, 1, v}
#define I8(v) {RN_I8, 0, 1, v}
#define NONE {0, 0, 0, 0}

static const Refusal refusals[] = {
	{"block_size", "QuantizeLinear", 21, 0, {F32(0.5), U8(0)}, 2, 2, 0,
	 "blocked quantization (block_size 2) is not supported"},
	{"block_size (dq)", "DequantizeLinear", 21, RN_U8, {F32(0.5), U8(0)}, 2, 4, 0,
	 "blocked quantization (block_size 4) is not supported"},
	{"int16 zero point", "QuantizeLinear", 21, 0, {F32(0.5), {RN_I16, 0, 1, 3}}, 2, 0, 0,
	 "quantizing to int16 is not supported (int8 and uint8 are)"},
	{"int16 input", "DequantizeLinear", 21, RN_I16, {F32(0.5), {RN_I16, 0, 1, 0}}, 2, 0, 0,
	 "dequantizing int16 is not supported"},
	{"zero scale", "QuantizeLinear", 13, 0, {F32(0.0), U8(128)}, 2, 0, 0,
	 "scale 'a' holds 0: a scale must be positive and finite"},
	{"negative scale", "QuantizeLinear", 13, 0, {F32(-0.25), U8(128)}, 2, 0, 0,
	 "scale 'a' holds -0.25: a scale must be positive and finite"},
	{"NaN scale", "DequantizeLinear", 13, RN_U8, {F32(NAN), U8(128)}, 2, 0, 0,
	 "scale 'a' holds nan: a scale must be positive and finite"},
	{"infinite scale", "DequantizeLinear", 13, RN_U8, {F32(INFINITY)}, 1, 0, 0,
	 "scale 'a' holds inf: a scale must be positive and finite"},
	{"one bad value of a per-axis scale", "QuantizeLinear", 13, 0, {{RN_F32, 1, 4, 0.0}}, 1, 0, 0,
	 "scale 'a' holds 0"},
	{"zero point of another type", "DequantizeLinear", 13, RN_I8, {F32(0.5), U8(3)}, 2, 0, 0,
	 "zero point 'b' has type uint8, the quantized tensor int8"},
	{"float zero point", "DequantizeLinear", 13, RN_U8, {F32(0.5), F32(3)}, 2, 0, 0,
	 "zero point 'b' has type float32, the quantized tensor uint8"},
	{"per-axis scale of the wrong length", "QuantizeLinear", 13, 0, {{RN_F32, 1, 3, 0.5}, {RN_U8, 1, 3, 0}}, 2, 0, 0,
	 "scale 'a' has shape 3; expected one value or 4 (one per channel)"},
	{"per-axis zero point of the wrong length", "DequantizeLinear", 13, RN_U8,
	 {{RN_F32, 1, 4, 0.5}, {RN_U8, 1, 2, 0}}, 2, 0, 0,
	 "zero point 'b' has shape 2; expected one value or 4 (one per channel)"},
	{"per-axis scale on another axis", "QuantizeLinear", 13, 0, {{RN_F32, 1, 4, 0.5}}, 1, 0, 3,
	 "scale 'a' has shape 4; expected one value or 2 (one per channel)"},
	{"scale and zero point of different shapes", "QuantizeLinear", 13, 0, {{RN_F32, 1, 4, 0.5}, U8(0)}, 2, 0, 0,
	 "must have the same shape"},
	{"float16 scale", "QuantizeLinear", 19, 0, {{RN_F16, 0, 1, 0.5}, U8(0)}, 2, 0, 0,
	 "scale 'a' has type float16, expected float32"},
	{"int32 with a zero point", "DequantizeLinear", 13, RN_I32, {F32(0.5), {RN_I32, 0, 1, 5}}, 2, 0, 0,
	 "an int32 tensor's zero point must be 0"},
	{"quantizing an integer", "QuantizeLinear", 13, RN_I32, {F32(0.5), U8(0)}, 2, 0, 0,
	 "only float32 is quantized"},
	{"scale missing", "DequantizeLinear", 13, RN_U8, {NONE, U8(0)}, 2, 0, 0, "input 1 is required"},
};

static void test_quantization_operators_refuse_what_they_cannot_run(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		check_refusal(&refusals[i]);
}

/* QLinearConv / QLinearMatMul with one operand changed from a valid set:
 * x uint8 1x4x2x2, w int8 4x4x1x1 (per-channel scale), y uint8. */
typedef struct {
	const char *what, *op;
	int x_dtype, xz_dtype, w_dtype, yz_dtype, ws_count, b_dtype, b_count;
	float xs, ys;
	const char *msg;
} QRefusal;

static void check_qproduct_refusal(const QRefusal *r)
{
	Graph *g = new_graph(13);
	int64_t xd[4] = {1, 4, 2, 2}, wd[4] = {4, 4, 1, 1}, md2[2] = {4, 4};
	int matmul = !strcmp(r->op, "QLinearMatMul");
	int x = input(g, "x", r->x_dtype, matmul ? 2 : 4, matmul ? md2 : xd);
	int8_t w[64] = {1, 2, 3}; /* 16 values of up to 4 bytes */
	float ws[4] = {0.1f, 0.2f, 0.3f, 0.4f};
	int32_t b[4] = {0};
	int wt = cten(g, "w", r->w_dtype, matmul ? 2 : 4, matmul ? md2 : wd, w);
	int64_t wsn = r->ws_count, bn = r->b_count;
	int in[9] = {x, f32_scalar(g, "xs", r->xs), zp_scalar(g, "xz", r->xz_dtype, 3), wt,
		     cten(g, "ws", RN_F32, 1, &wsn, ws), zp_scalar(g, "wz", r->w_dtype, 0), f32_scalar(g, "ys", r->ys),
		     zp_scalar(g, "yz", r->yz_dtype, 0), r->b_dtype ? cten(g, "b", r->b_dtype, 1, &bn, b) : -1};
	int y = act_tensor(g, "y");
	node(g, "n", r->op, in, r->b_dtype ? 9 : 8, y);
	output(g, y);
	Diag d;
	d.msg[0] = 0;
	assert_int_equal(graph_toposort(g, &d), 0);
	int rc = lower_graph(g, &d);
	if (!r->msg) {
		if (rc)
			fail_msg("%s: %s", r->what, d.msg);
	} else {
		if (rc != -1)
			fail_msg("%s: lowered without an error", r->what);
		if (!strstr(d.msg, r->msg))
			fail_msg("%s: '%s' does not say '%s'", r->what, d.msg, r->msg);
	}
	graph_free(g);
}

static const QRefusal qrefusals[] = {
	{"valid", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 4, RN_I32, 4, 0.1f, 0.2f, NULL},
	{"valid", "QLinearMatMul", RN_U8, RN_U8, RN_I8, RN_U8, 4, 0, 0, 0.1f, 0.2f, NULL},
	{"int16 input", "QLinearConv", RN_I16, RN_I16, RN_I8, RN_U8, 4, 0, 0, 0.1f, 0.2f,
	 "input 'x' has type int16: quantized tensors of int16 are not supported (int8 and uint8 are)"},
	{"int16 weights", "QLinearMatMul", RN_U8, RN_U8, RN_I16, RN_U8, 4, 0, 0, 0.1f, 0.2f,
	 "input 'w' has type int16: quantized tensors of int16 are not supported"},
	{"zero x scale", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 4, 0, 0, 0.0f, 0.2f,
	 "scale 'xs' holds 0: a scale must be positive and finite"},
	{"NaN y scale", "QLinearMatMul", RN_U8, RN_U8, RN_I8, RN_U8, 4, 0, 0, 0.1f, NAN,
	 "scale 'ys' holds nan: a scale must be positive and finite"},
	{"negative y scale", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 4, 0, 0, 0.1f, -1.0f,
	 "scale 'ys' holds -1: a scale must be positive and finite"},
	{"x zero point of another type", "QLinearConv", RN_U8, RN_I8, RN_I8, RN_U8, 4, 0, 0, 0.1f, 0.2f,
	 "zero point 'xz' has type int8, its tensor 'x' uint8"},
	{"int32 output zero point", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_I32, 4, 0, 0, 0.1f, 0.2f,
	 "zero point 'yz' has type int32 (int8 and uint8 are supported)"},
	{"per-channel weight scale of the wrong length", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 3, 0, 0, 0.1f,
	 0.2f, "scale 'ws' has shape 3; expected one value or 4 (one per channel)"},
	{"float bias", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 4, RN_F32, 4, 0.1f, 0.2f,
	 "bias 'b' must be int32 of shape 4"},
	{"bias of the wrong length", "QLinearConv", RN_U8, RN_U8, RN_I8, RN_U8, 4, RN_I32, 3, 0.1f, 0.2f,
	 "bias 'b' must be int32 of shape 4"},
};

static void test_qlinear_products_refuse_what_they_cannot_run(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof qrefusals / sizeof qrefusals[0]; i++)
		check_qproduct_refusal(&qrefusals[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qdq_conv_relu_becomes_one_int8_convolution),
		cmocka_unit_test(test_qdq_conv_clip6_clamps_at_the_quantized_bounds),
		cmocka_unit_test(test_qdq_conv_to_int8_without_activation),
		cmocka_unit_test(test_qdq_conv_bias_at_another_scale_is_rescaled),
		cmocka_unit_test(test_qdq_conv_uint8_weights_with_a_zero_point),
		cmocka_unit_test(test_qdq_conv_any_scales_match_the_round_trip_within_float_rounding),
		cmocka_unit_test(test_qdq_conv_per_axis_output_quantization_is_not_fused),
		cmocka_unit_test(test_qdq_conv_with_a_scale_known_at_run_time_is_not_fused),
		cmocka_unit_test(test_qdq_conv_weights_beyond_int8_are_not_fused),
		cmocka_unit_test(test_qdq_conv_leaky_relu_is_not_fused),
		cmocka_unit_test(test_qdq_add_becomes_the_convolutions_residual),
		cmocka_unit_test(test_qdq_add_of_two_convolutions_goes_into_the_later),
		cmocka_unit_test(test_qdq_maxpool_runs_on_uint8),
		cmocka_unit_test(test_qdq_global_average_pool_is_the_integer_mean),
		cmocka_unit_test(test_qdq_average_pool_becomes_qlinear_average_pool),
		cmocka_unit_test(test_qdq_flatten_between_equal_pairs_views_the_quantized_tensor),
		cmocka_unit_test(test_qdq_qlinear_conv_becomes_the_int8_convolution),
		cmocka_unit_test(test_qdq_qlinear_conv_with_a_scale_known_at_run_time_stays),
		cmocka_unit_test(test_qdq_qlinear_add_becomes_the_residual),
		cmocka_unit_test(test_io_int8_passes_the_quantized_input_and_output),
		cmocka_unit_test(test_io_int8_refuses_an_input_read_in_float),
		cmocka_unit_test(test_quantize_writes_the_pairs_weights_and_biases),
		cmocka_unit_test(test_quantize_then_qdq_stays_within_a_few_steps_of_float),
		cmocka_unit_test(test_quantize_percentile_and_entropy_clip_rare_outliers),
		cmocka_unit_test(test_quantize_refuses_broken_calibration_files),
		cmocka_unit_test(test_quantization_operators_refuse_what_they_cannot_run),
		cmocka_unit_test(test_qlinear_products_refuse_what_they_cannot_run),
	};
	return cmocka_run_group_tests_name("quant passes", tests, setup, teardown);
}
