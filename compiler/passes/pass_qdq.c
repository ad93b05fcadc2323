/* qdq: the QuantizeLinear / DequantizeLinear pairs of a quantized (QDQ)
 * model around Conv, Add and MaxPool become integer operators:
 *
 *   Q(act(Conv(DQ(x), DQ(w), DQ(b))))   ->  one int8 convolution (x to y
 *                                           quantized; act: Relu or Clip,
 *                                           as a clamp)
 *   Q(act(Add(DQ(conv), DQ(r))))        ->  that convolution with r as its
 *                                           quantized residual
 *   Q(MaxPool(DQ(x))), same parameters  ->  MaxPool on the uint8 values
 *   Q(GlobalAveragePool(DQ(x)))         ->  the integer mean
 *                                           (QLinearGlobalAveragePool;
 *                                           AveragePool: QLinearAveragePool)
 *   Q(Flatten(DQ(x))), same parameters  ->  Flatten of x (also Reshape,
 *                                           Squeeze, Unsqueeze, Identity)
 *
 * The convolution computes the integer sum exactly and requantizes it
 * once: y = saturate(round(acc * sx*sw[m]/sy + (r - zr) * sr/sy) + zy)
 * (runtime.h, rn_qconv2d_params). Against the float round trip the model
 * describes, the result differs by the rounding of the intermediate
 * quantized tensor the fusion leaves out (at most about one step of it).
 * Every scale and zero point must be a constant; weights int8 or uint8
 * whose values minus their zero point fit int8, per tensor or per output
 * channel (axis 0). Whatever does not match stays as the model says: a
 * float operator between its DequantizeLinear and QuantizeLinear. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "ops.h"
#include "passes.h"
#include "readers.h"

/* The quantization of a DequantizeLinear or QuantizeLinear node with
 * constant parameters. */
typedef struct {
	int dtype;          /* the quantized side's type */
	int count;          /* 1, or per channel */
	const float *scale;
	int zp[1];          /* per tensor: the zero point */
	const void *zp_data; /* per channel */
	int q;              /* the quantized tensor */
} QInfo;

static int zp_at(int dtype, const void *v, int i)
{
	if (!v)
		return 0;
	if (dtype == RN_U8)
		return ((const uint8_t *)v)[i];
	if (dtype == RN_I8)
		return ((const int8_t *)v)[i];
	return ((const int32_t *)v)[i];
}

/* n is a Q or DQ node (live or folded) of op `op` whose scale and zero
 * point are constants; fills qi. */
static int qinfo(Graph *g, const Node *n, const char *op, QInfo *qi)
{
	if (!n || strcmp(n->op_type, op) || n->n_in < 2)
		return 0;
	const Tensor *s = node_input(g, n, 1), *z = node_input(g, n, 2);
	if (!s || s->kind != T_CONST || s->dtype != RN_F32 || (z && z->kind != T_CONST))
		return 0;
	if (attr_int(n, "block_size", 0))
		return 0;
	memset(qi, 0, sizeof *qi);
	qi->count = (int)tensor_numel(s);
	qi->scale = s->data;
	qi->zp_data = z ? z->data : NULL;
	qi->q = strcmp(op, "QuantizeLinear") ? n->in[0] : n->out[0];
	qi->dtype = g->tensors[qi->q].dtype;
	qi->zp[0] = zp_at(qi->dtype, qi->zp_data, 0);
	return 1;
}

/* A per-tensor uint8/int8 quantization. */
static int per_tensor_q8(const QInfo *q)
{
	return q->count == 1 && (q->dtype == RN_U8 || q->dtype == RN_I8);
}

/* The node that made t, live or folded away at lowering, or NULL. */
static Node *maker(Graph *g, int t)
{
	int p = t >= 0 ? g->tensors[t].producer : -1;
	return p >= 0 ? &g->nodes[p] : NULL;
}

/* The one live node reading t, or NULL. */
static Node *only_reader(Graph *g, const Readers *r, int t)
{
	if (readers_of(r, t) != 1 || g->tensors[t].is_output)
		return NULL;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] == t)
				return n;
		if (n->residual == t)
			return n;
	}
	return NULL;
}

static void kill(Readers *r, Node *n)
{
	if (n->dead)
		return;
	readers_node(r, n, -1);
	n->dead = 1;
}

/* Kills a DequantizeLinear nobody reads any more. */
static void drop_unread(Graph *g, Readers *r, Node *dq)
{
	if (dq && !dq->dead && readers_of(r, dq->out[0]) == 0 && !g->tensors[dq->out[0]].is_output)
		kill(r, dq);
}

/* [lo, hi] of the quantized output for act (none, Relu, Clip). */
static int act_bounds(int act, float alpha, float beta, const QInfo *y, int *lo, int *hi)
{
	*lo = y->dtype == RN_U8 ? 0 : -128;
	*hi = y->dtype == RN_U8 ? 255 : 127;
	float lo_f = -INFINITY, hi_f = INFINITY;
	if (act == RN_ACT_RELU)
		lo_f = 0.0f;
	else if (act == RN_ACT_CLIP) {
		lo_f = alpha;
		hi_f = beta;
	} else if (act != RN_ACT_NONE)
		return 0;
	/* Q is monotone: Q(clip(v, a, b)) = clip(Q(v), Q(a), Q(b)) */
	if (isfinite(lo_f)) {
		float v = fminf(fmaxf(nearbyintf(lo_f / y->scale[0]) + (float)y->zp[0], (float)*lo), (float)*hi);
		*lo = (int)v;
	}
	if (isfinite(hi_f)) {
		float v = fminf(fmaxf(nearbyintf(hi_f / y->scale[0]) + (float)y->zp[0], (float)*lo), (float)*hi);
		*hi = (int)v;
	}
	return *lo <= *hi;
}

/* Makes conv one int8 convolution reading x.q and writing y.q: weights
 * w (minus their zero points, as int8), bias b (int32 at scale
 * b->scale, or at x_scale * w_scale when that is NULL; no bias if b is
 * NULL), the clamp of act. Returns 1 if rewritten, 0 if the weights do not
 * fit int8 or the bias int32. */
static int rewrite_qconv(Graph *g, Readers *r, Node *conv, const rn_conv2d_params *cp_in, int act, float alpha,
			 float beta, const QInfo *x, const QInfo *w, const QInfo *b, const QInfo *y)
{
	rn_conv2d_params cp = *cp_in;
	int m = cp.m, lo, hi;
	if (!act_bounds(act, alpha, beta, y, &lo, &hi))
		return 0;
	/* weights minus their zero point, as int8 */
	const Tensor *wt = &g->tensors[w->q];
	int64_t wn = tensor_numel(wt), per = wn / m;
	int8_t *w8 = xmalloc((size_t)wn);
	for (int64_t i = 0; i < wn; i++) {
		int c = w->count == 1 ? 0 : (int)(i / per);
		int v = zp_at(w->dtype, wt->data, i) - zp_at(w->dtype, w->zp_data, c);
		if (v < -128 || v > 127) {
			free(w8);
			return 0;
		}
		w8[i] = (int8_t)v;
	}
	/* bias: int32 at scale sx * sw[m]; another scale is brought there */
	int32_t *bias = xmalloc((size_t)m * sizeof *bias);
	float *mult = xmalloc((size_t)m * sizeof *mult);
	for (int i = 0; i < m; i++) {
		float sxw = x->scale[0] * w->scale[w->count == 1 ? 0 : i];
		mult[i] = sxw / y->scale[0];
		bias[i] = 0;
		if (!b)
			continue;
		const int32_t *bq = g->tensors[b->q].data;
		int k = b->count == 1 ? 0 : i;
		int64_t v = (int64_t)bq[i] - zp_at(RN_I32, b->zp_data, k);
		if (b->scale && fabsf(b->scale[k] - sxw) > 1e-6f * sxw)
			v = (int64_t)nearbyint((double)v * b->scale[k] / sxw);
		if (v < INT32_MIN || v > INT32_MAX) {
			free(w8), free(bias), free(mult);
			return 0;
		}
		bias[i] = (int32_t)v;
	}

	rn_qconv2d_params qp;
	memset(&qp, 0, sizeof qp);
	qp.conv = cp;
	qp.conv.act = RN_ACT_NONE;
	qp.conv.alpha = qp.conv.beta = 0.0f;
	qp.x_dtype = x->dtype;
	qp.y_dtype = y->dtype;
	qp.r_dtype = y->dtype;
	qp.x_zp = x->zp[0];
	qp.y_zp = y->zp[0];
	qp.lo = lo;
	qp.hi = hi;
	int64_t wdims[4];
	int wr = wt->rank;
	memcpy(wdims, wt->dims, sizeof wdims);
	int64_t mm = m;
	int t_w = add_const(g, conv, "w_int8", RN_I8, wr, wdims, w8);
	int t_b = add_const(g, conv, "bias_int32", RN_I32, 1, &mm, bias);
	int t_m = add_const(g, conv, "requant", RN_F32, 1, &mm, mult);

	readers_node(r, conv, -1);
	int yq = y->q, xq = x->q;
	conv->in[0] = xq;
	conv->in[1] = t_w;
	conv->in[2] = t_b;
	conv->n_in = 3; /* (the array holds at least 3: Conv's and QLinearConv's) */
	conv->out[0] = yq;
	conv->act = act;
	g->tensors[yq].producer = (int)(conv - g->nodes);
	free(conv->op_type);
	conv->op_type = xstrdup("QLinearConv");
	conv->def = op_find("QLinearConv");
	free(conv->steps);
	conv->steps = NULL;
	conv->n_steps = 0;
	Step *s = node_add_step(conv, K_QCONV);
	s->p.qconvi = qp;
	s->in[0] = xq;
	s->in[1] = t_w;
	s->in[2] = t_b;
	s->in[3] = t_m;
	s->in[4] = -1;
	s->n_in = 5;
	s->out[0] = yq;
	s->n_out = 1;
	readers_node(r, conv, 1);
	return 1;
}

/* Conv -> Q with DQ operands: returns 1 if rewritten. */
static int fuse_conv(Graph *g, Readers *r, Node *conv)
{
	if (conv->n_steps != 1 || conv->steps[0].kernel != K_CONV2D || conv->residual >= 0 || conv->n_in < 2)
		return 0;
	QInfo x, w, y, b = {0};
	Node *dqx = producer(g, conv->in[0]);
	if (!qinfo(g, dqx, "DequantizeLinear", &x) || !per_tensor_q8(&x))
		return 0;
	int wt = conv->in[1];
	Node *dqw = maker(g, wt);
	if (g->tensors[wt].kind != T_CONST || !qinfo(g, dqw, "DequantizeLinear", &w) ||
	    (w.dtype != RN_U8 && w.dtype != RN_I8) || g->tensors[w.q].kind != T_CONST)
		return 0;
	const rn_conv2d_params *cp = &conv->steps[0].p.conv;
	int m = cp->m;
	if (w.count != 1 && (w.count != m || attr_int(dqw, "axis", 1) != 0))
		return 0;
	int bt = conv->n_in > 2 ? conv->in[2] : -1;
	Node *dqb = bt >= 0 ? maker(g, bt) : NULL;
	if (bt >= 0 && (g->tensors[bt].kind != T_CONST || !qinfo(g, dqb, "DequantizeLinear", &b) ||
			b.dtype != RN_I32 || g->tensors[b.q].kind != T_CONST || (b.count != 1 && b.count != m)))
		return 0;
	Node *qy = only_reader(g, r, conv->out[0]);
	if (!qinfo(g, qy, "QuantizeLinear", &y) || !per_tensor_q8(&y))
		return 0;
	if (conv->n_in < 3) {
		/* the rewrite gives every convolution a bias operand */
		conv->in = xrealloc(conv->in, 3 * sizeof *conv->in);
		conv->in[2] = -1;
	}
	if (!rewrite_qconv(g, r, conv, cp, conv->act, conv->act_alpha, conv->act_beta, &x, &w, bt >= 0 ? &b : NULL,
			   &y))
		return 0;
	kill(r, qy);
	drop_unread(g, r, dqx);
	return 1;
}

/* A QLinearConv (QOperator) whose scales, zero points, weights and bias
 * are constants: the same int8 convolution. */
static int fuse_qlinear_conv(Graph *g, Readers *r, Node *n)
{
	if (n->n_steps != 1 || n->steps[0].kernel != K_QLINEAR_CONV || n->n_in < 8)
		return 0;
	for (int i = 1; i < n->n_in; i++)
		if (n->in[i] >= 0 && g->tensors[n->in[i]].kind != T_CONST)
			return 0;
	const QConvParams *qc = &n->steps[0].p.qconv;
	const Tensor *xs = &g->tensors[n->in[1]], *ws = &g->tensors[n->in[4]], *ys = &g->tensors[n->in[6]];
	QInfo x = {.dtype = qc->q.x_dtype, .count = 1, .scale = xs->data, .zp_data = g->tensors[n->in[2]].data,
		   .q = n->in[0]};
	QInfo w = {.dtype = qc->q.w_dtype, .count = qc->q.w_zp_n > qc->q.w_scale_n ? qc->q.w_zp_n : qc->q.w_scale_n,
		   .scale = ws->data, .zp_data = g->tensors[n->in[5]].data, .q = n->in[3]};
	QInfo y = {.dtype = qc->q.y_dtype, .count = 1, .scale = ys->data, .zp_data = g->tensors[n->in[7]].data,
		   .q = n->out[0]};
	if (qc->q.w_zp_n != qc->q.w_scale_n && qc->q.w_zp_n != 1)
		return 0;
	if (w.count > 1 && (qc->q.w_scale_n == 1 || qc->q.w_zp_n == 1))
		return 0; /* one of the two per channel, the other not: left to the general kernel */
	x.zp[0] = zp_at(x.dtype, x.zp_data, 0);
	y.zp[0] = zp_at(y.dtype, y.zp_data, 0);
	int has_b = n->n_in > 8 && n->in[8] >= 0;
	QInfo b = {.dtype = RN_I32, .count = qc->conv.m, .q = has_b ? n->in[8] : -1};
	rn_conv2d_params cp = qc->conv;
	return rewrite_qconv(g, r, n, &cp, RN_ACT_NONE, 0, 0, &x, &w, has_b ? &b : NULL, &y);
}

/* An int8 convolution made by fuse_conv, without a residual yet. */
static Node *qconv_of(Graph *g, int t)
{
	Node *c = producer(g, t);
	if (!c || c->n_steps != 1 || c->steps[0].kernel != K_QCONV || c->steps[0].p.qconvi.has_residual)
		return NULL;
	return c;
}

/* The Add of operands q[0], q[1] (quantized tensors), result y, into the
 * int8 convolution that makes one of them: of two such, the later (the
 * residual must exist when it runs). link[i] is the node between q[i]
 * and the Add (a DequantizeLinear; NULL when the Add reads q[i] itself),
 * dead then with the Add and whatever the caller kills. */
static int add_into_conv(Graph *g, Readers *r, const QInfo *q, Node *const *link, int relu, const QInfo *yq)
{
	QInfo y = *yq;
	int pick = -1;
	for (int i = 0; i < 2; i++) {
		Node *c = qconv_of(g, q[i].q);
		if (!c || readers_of(r, q[i].q) != 1 || (link[i] && readers_of(r, link[i]->out[0]) != 1) ||
		    g->tensors[q[i].q].is_output)
			continue;
		if (g->tensors[q[1 - i].q].producer > (int)(c - g->nodes))
			continue;
		if (pick < 0 || g->tensors[q[i].q].producer > g->tensors[q[pick].q].producer)
			pick = i;
	}
	if (pick < 0)
		return 0;
	Node *conv = producer(g, q[pick].q);
	const QInfo *res = &q[1 - pick], *mid = &q[pick];
	int lo, hi;
	if (!act_bounds(relu ? RN_ACT_RELU : RN_ACT_NONE, 0, 0, &y, &lo, &hi))
		return 0;
	Step *s = &conv->steps[0];
	rn_qconv2d_params *qp = &s->p.qconvi;
	/* the convolution's own clamp (an activation before the Add) stays
	 * in force only if it is none */
	if (qp->lo != (qp->y_dtype == RN_U8 ? 0 : -128) || qp->hi != (qp->y_dtype == RN_U8 ? 255 : 127))
		return 0;
	/* the scale was the intermediate's: now the Add's output's */
	float *mult = g->tensors[s->in[3]].data;
	for (int i = 0; i < qp->conv.m; i++)
		mult[i] = (float)((double)mult[i] * mid->scale[0] / y.scale[0]);
	readers_node(r, conv, -1);
	qp->has_residual = 1;
	qp->r_dtype = res->dtype;
	qp->r_zp = res->zp[0];
	qp->r_mult = res->scale[0] / y.scale[0];
	qp->y_dtype = y.dtype;
	qp->y_zp = y.zp[0];
	qp->lo = lo;
	qp->hi = hi;
	s->in[4] = res->q;
	conv->residual = res->q;
	conv->act = relu ? RN_ACT_RELU : RN_ACT_NONE;
	conv->out[0] = y.q;
	s->out[0] = y.q;
	g->tensors[y.q].producer = (int)(conv - g->nodes);
	readers_node(r, conv, 1);
	if (link[pick])
		kill(r, link[pick]);
	return 1 + pick;
}

/* Q(act(Add(DQ(a), DQ(b)))) with a from an int8 convolution: returns 1
 * if the Add became that convolution's residual. */
static int fuse_add(Graph *g, Readers *r, Node *add)
{
	if (add->n_steps != 1 || add->steps[0].kernel != K_BINARY || add->steps[0].p.binary.op != RN_ADD ||
	    add->n_in != 2)
		return 0;
	const Tensor *ta = &g->tensors[add->in[0]], *tb = &g->tensors[add->in[1]];
	if (ta->rank != tb->rank || memcmp(ta->dims, tb->dims, sizeof ta->dims[0] * (size_t)ta->rank))
		return 0;
	Node *dq[2] = {producer(g, add->in[0]), producer(g, add->in[1])};
	QInfo q[2];
	for (int i = 0; i < 2; i++)
		if (!qinfo(g, dq[i], "DequantizeLinear", &q[i]) || !per_tensor_q8(&q[i]))
			return 0;
	/* the output: Q, or Relu then Q */
	Node *next = only_reader(g, r, add->out[0]), *relu = NULL;
	if (next && next->n_steps == 1 && next->steps[0].kernel == K_UNARY &&
	    next->steps[0].p.unary.act == RN_ACT_RELU) {
		relu = next;
		next = only_reader(g, r, relu->out[0]);
	}
	QInfo y;
	if (!qinfo(g, next, "QuantizeLinear", &y) || !per_tensor_q8(&y))
		return 0;
	if (!add_into_conv(g, r, q, dq, relu != NULL, &y))
		return 0;
	kill(r, next);
	if (relu)
		kill(r, relu);
	kill(r, add);
	drop_unread(g, r, dq[0]);
	drop_unread(g, r, dq[1]);
	return 1;
}

/* onnxruntime's QLinearAdd (QOperator) whose scales and zero points are
 * constants, one operand from an int8 convolution: that convolution's
 * residual. */
static int fuse_qlinear_add(Graph *g, Readers *r, Node *add)
{
	if (add->n_steps != 1 || add->steps[0].kernel != K_QLINEAR_ADD || add->n_in < 7)
		return 0;
	for (int i = 1; i < add->n_in; i++)
		if (i != 3 && add->in[i] >= 0 && g->tensors[add->in[i]].kind != T_CONST)
			return 0;
	const Tensor *ta = &g->tensors[add->in[0]], *tb = &g->tensors[add->in[3]];
	if (ta->rank != tb->rank || memcmp(ta->dims, tb->dims, sizeof ta->dims[0] * (size_t)ta->rank))
		return 0;
	int dt = ta->dtype;
	QInfo q[2], y;
	for (int i = 0; i < 2; i++) {
		int z = 3 * i + 2;
		q[i] = (QInfo){.dtype = dt, .count = 1, .scale = g->tensors[add->in[3 * i + 1]].data,
			       .zp_data = z < add->n_in && add->in[z] >= 0 ? g->tensors[add->in[z]].data : NULL,
			       .q = add->in[3 * i]};
		q[i].zp[0] = zp_at(dt, q[i].zp_data, 0);
	}
	y = (QInfo){.dtype = dt, .count = 1, .scale = g->tensors[add->in[6]].data,
		    .zp_data = add->n_in > 7 && add->in[7] >= 0 ? g->tensors[add->in[7]].data : NULL, .q = add->out[0]};
	y.zp[0] = zp_at(dt, y.zp_data, 0);
	Node *const none[2] = {NULL, NULL};
	/* (the Add's own read of the convolution's output is its one reader) */
	if (!add_into_conv(g, r, q, none, 0, &y))
		return 0;
	kill(r, add);
	return 1;
}

/* n, between the DequantizeLinear dqx of xq and the QuantizeLinear qy
 * that makes yq, reads xq and writes yq itself; qy goes, and dqx if
 * nothing else reads it. */
static int read_quantized(Graph *g, Readers *r, Node *n, Node *dqx, Node *qy, int xq, int yq, Diag *d)
{
	readers_node(r, n, -1);
	kill(r, qy);
	n->in[0] = xq;
	n->out[0] = yq;
	g->tensors[yq].producer = (int)(n - g->nodes);
	readers_node(r, n, 1);
	drop_unread(g, r, dqx);
	return relower(g, n, d);
}

/* Q(MaxPool(DQ(x))) with the same uint8 parameters on both sides. */
static int fuse_maxpool(Graph *g, Readers *r, Node *pool, Diag *d, int *rc)
{
	if (strcmp(pool->op_type, "MaxPool") || pool->n_out != 1 || pool->n_steps != 1)
		return 0;
	QInfo x, y;
	Node *dqx = producer(g, pool->in[0]);
	Node *qy = only_reader(g, r, pool->out[0]);
	if (!qinfo(g, dqx, "DequantizeLinear", &x) || !qinfo(g, qy, "QuantizeLinear", &y) ||
	    !per_tensor_q8(&x) || !per_tensor_q8(&y) || x.dtype != RN_U8 || y.dtype != RN_U8 ||
	    x.scale[0] != y.scale[0] || x.zp[0] != y.zp[0])
		return 0;
	*rc = read_quantized(g, r, pool, dqx, qy, x.q, y.q, d);
	return 1;
}

/* The scalar constant v of dtype as a new tensor. */
static int scalar(Graph *g, const Node *n, const char *suffix, int dtype, const void *v, size_t size)
{
	void *data = xmalloc(size);
	memcpy(data, v, size);
	return add_const(g, n, suffix, dtype, 0, NULL, data);
}

/* Q(view(DQ(x))) with the same parameters on both sides, the view a
 * Flatten, Reshape, Squeeze, Unsqueeze or Identity: the view of the
 * quantized tensor itself (the round trip changes no value). */
static int fuse_view(Graph *g, Readers *r, Node *v, Diag *d, int *rc)
{
	static const char *const views[] = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity"};
	int is_view = 0;
	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
		is_view |= !strcmp(v->op_type, views[i]);
	if (!is_view || v->n_out != 1 || v->n_in < 1)
		return 0;
	QInfo x, y;
	Node *dqx = producer(g, v->in[0]);
	Node *qy = only_reader(g, r, v->out[0]);
	if (!qinfo(g, dqx, "DequantizeLinear", &x) || !qinfo(g, qy, "QuantizeLinear", &y) ||
	    !per_tensor_q8(&x) || !per_tensor_q8(&y) || x.dtype != y.dtype || x.scale[0] != y.scale[0] ||
	    x.zp[0] != y.zp[0])
		return 0;
	*rc = read_quantized(g, r, v, dqx, qy, x.q, y.q, d);
	return 1;
}

/* Q(GlobalAveragePool(DQ(x))), both uint8 or both int8: the integer mean
 * (rn_qlinear_global_avg: the mean of x - x_zp times x_scale / y_scale in
 * double, rounded once), as onnxruntime's QLinearGlobalAveragePool. */
static int fuse_gap(Graph *g, Readers *r, Node *gap, Diag *d, int *rc)
{
	/* AveragePool too, as QLinearAveragePool (its attributes are the
	 * same, dilations aside) */
	int avg = !strcmp(gap->op_type, "AveragePool");
	const Attr *dil = avg ? node_attr(gap, "dilations") : NULL;
	for (int i = 0; dil && i < dil->n; i++)
		if (dil->ints[i] != 1)
			return 0;
	if ((!avg && strcmp(gap->op_type, "GlobalAveragePool")) || gap->n_out != 1 ||
	    g->tensors[gap->in[0]].rank != 4)
		return 0;
	QInfo x, y;
	Node *dqx = producer(g, gap->in[0]);
	Node *qy = only_reader(g, r, gap->out[0]);
	if (!qinfo(g, dqx, "DequantizeLinear", &x) || !qinfo(g, qy, "QuantizeLinear", &y) ||
	    !per_tensor_q8(&x) || !per_tensor_q8(&y) || x.dtype != y.dtype)
		return 0;
	int8_t zx = (int8_t)x.zp[0];
	int ops[5] = {x.q, dqx->in[1], dqx->n_in > 2 ? dqx->in[2] : -1, qy->in[1], qy->n_in > 2 ? qy->in[2] : -1};
	if (ops[2] < 0)
		ops[2] = scalar(g, gap, "x_zero_point", x.dtype, &zx, 1);
	readers_node(r, gap, -1);
	kill(r, qy);
	free(gap->in);
	gap->in = xmalloc(sizeof ops);
	memcpy(gap->in, ops, sizeof ops);
	gap->n_in = ops[4] >= 0 ? 5 : 4;
	gap->out[0] = y.q;
	g->tensors[y.q].producer = (int)(gap - g->nodes);
	free(gap->op_type);
	gap->op_type = xstrdup(avg ? "QLinearAveragePool" : "QLinearGlobalAveragePool");
	gap->def = op_find(gap->op_type);
	readers_node(r, gap, 1);
	drop_unread(g, r, dqx);
	*rc = relower(g, gap, d);
	return 1;
}

/* DQ(x) -> Gemm(DQ(w), DQ(b)) [-> Q]: the int8 product (rn_qgemm), its
 * output float or, read only by a QuantizeLinear, quantized. Weights
 * int8 (zero point 0 after subtracting it), per tensor or per output
 * column; stored K x N. */
static int fuse_gemm(Graph *g, Readers *r, Node *gm)
{
	if (gm->n_steps != 1 || gm->steps[0].kernel != K_GEMM || gm->n_in < 2)
		return 0;
	const rn_gemm_params *gp = &gm->steps[0].p.gemm;
	if (gp->trans_a || gp->alpha != 1.0f || gp->act != RN_ACT_NONE || (gm->n_in > 2 && gp->beta != 1.0f))
		return 0;
	QInfo x, w, b = {0}, y;
	Node *dqx = producer(g, gm->in[0]);
	if (!qinfo(g, dqx, "DequantizeLinear", &x) || !per_tensor_q8(&x))
		return 0;
	int wt = gm->in[1];
	Node *dqw = maker(g, wt);
	if (g->tensors[wt].kind != T_CONST || !qinfo(g, dqw, "DequantizeLinear", &w) || w.dtype != RN_I8 ||
	    g->tensors[w.q].kind != T_CONST)
		return 0;
	int64_t k = gp->k, nn = gp->n, m = gp->m;
	/* per output column: B [N][K] (transB) along axis 0, [K][N] along 1 */
	if (w.count != 1 && (w.count != nn || attr_int(dqw, "axis", 1) != (gp->trans_b ? 0 : 1)))
		return 0;
	int bt = gm->n_in > 2 ? gm->in[2] : -1;
	Node *dqb = bt >= 0 ? maker(g, bt) : NULL;
	if (bt >= 0 && (g->tensors[bt].kind != T_CONST || tensor_numel(&g->tensors[bt]) != nn ||
			!qinfo(g, dqb, "DequantizeLinear", &b) || b.dtype != RN_I32 || (b.count != 1 && b.count != nn)))
		return 0;
	Node *qy = only_reader(g, r, gm->out[0]);
	int quant_out = qinfo(g, qy, "QuantizeLinear", &y) && per_tensor_q8(&y);
	/* weights minus their zero points, K x N; bias at x_scale * w_scale */
	const void *wq = g->tensors[w.q].data;
	int8_t *w8 = xmalloc((size_t)(k * nn));
	float *ws = xmalloc((size_t)nn * sizeof *ws);
	int32_t *bias = xcalloc((size_t)nn, sizeof *bias);
	int ok = 1;
	for (int64_t j = 0; j < nn; j++) {
		int c = w.count == 1 ? 0 : (int)j;
		ws[j] = w.scale[c];
		for (int64_t i = 0; i < k && ok; i++) {
			int v = zp_at(RN_I8, wq, gp->trans_b ? j * k + i : i * nn + j) - zp_at(RN_I8, w.zp_data, c);
			ok = v >= -128 && v <= 127;
			w8[i * nn + j] = (int8_t)v;
		}
		if (bt >= 0 && ok) {
			int kb = b.count == 1 ? 0 : (int)j;
			float sxw = x.scale[0] * ws[j];
			int64_t v = (int64_t)((const int32_t *)g->tensors[b.q].data)[j] - zp_at(RN_I32, b.zp_data, kb);
			if (fabsf(b.scale[kb] - sxw) > 1e-6f * sxw)
				v = (int64_t)nearbyint((double)v * b.scale[kb] / sxw);
			ok = v >= INT32_MIN && v <= INT32_MAX;
			bias[j] = (int32_t)v;
		}
	}
	if (!ok) {
		free(w8), free(ws), free(bias);
		return 0;
	}
	int64_t kn[2] = {k, nn}, n1 = nn;
	uint8_t xz8 = (uint8_t)x.zp[0];
	int t_w = add_const(g, gm, "w_int8_kn", RN_I8, 2, kn, w8);
	int t_ws = add_const(g, gm, "w_scale", RN_F32, 1, &n1, ws);
	int t_b = add_const(g, gm, "bias_int32", RN_I32, 1, &n1, bias);
	int t_xs = scalar(g, gm, "x_scale", RN_F32, &x.scale[0], sizeof(float));
	int t_xz = scalar(g, gm, "x_zero_point", x.dtype, &xz8, 1);
	int t_ys = -1, t_yz = -1;
	if (quant_out) {
		uint8_t yz8 = (uint8_t)y.zp[0];
		t_ys = scalar(g, gm, "y_scale", RN_F32, &y.scale[0], sizeof(float));
		t_yz = scalar(g, gm, "y_zero_point", y.dtype, &yz8, 1);
	}
	readers_node(r, gm, -1);
	int out = quant_out ? y.q : gm->out[0];
	if (quant_out)
		kill(r, qy);
	gm->in[0] = x.q;
	gm->in[1] = t_w;
	if (gm->n_in > 2)
		gm->in[2] = t_b;
	gm->out[0] = out;
	g->tensors[out].producer = (int)(gm - g->nodes);
	free(gm->op_type);
	gm->op_type = xstrdup("QGemm");
	gm->def = op_find("QGemm");
	free(gm->steps);
	gm->steps = NULL;
	gm->n_steps = 0;
	Step *s = node_add_step(gm, K_QGEMM);
	s->p.qmatmul.mm = (rn_matmul_params){.m = m, .n = nn, .k = k};
	s->p.qmatmul.q = (rn_qlinear_params){.x_dtype = x.dtype, .w_dtype = RN_I8,
					     .y_dtype = quant_out ? y.dtype : RN_F32, .x_zp_n = 1, .x_scale_n = 1,
					     .w_zp_n = 1, .w_scale_n = (int)nn};
	s->p.qmatmul.alpha = 1.0f;
	int ops[9] = {x.q, t_xz, t_w, -1, t_xs, t_ws, t_ys, t_yz, t_b};
	for (int i = 0; i < 9; i++)
		s->in[i] = ops[i];
	s->n_in = 9;
	s->out[0] = out;
	s->n_out = 1;
	readers_node(r, gm, 1);
	drop_unread(g, r, dqx);
	return 1;
}

/* Each activation a QuantizeLinear (or a QOperator op) makes with a
 * constant per-tensor scale and zero point notes them (info shows them). */
static void note_qparams(Graph *g)
{
	static const struct {
		const char *op;
		int scale, zp;
	} makers[] = {{"QuantizeLinear", 1, 2}, {"QLinearConv", 6, 7}, {"QLinearAdd", 6, 7},
		      {"QLinearGlobalAveragePool", 3, 4}, {"QLinearMatMul", 6, 7}};
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		for (size_t k = 0; !n->dead && k < sizeof makers / sizeof makers[0]; k++) {
			if (strcmp(n->op_type, makers[k].op) || n->n_in <= makers[k].scale || n->n_out < 1)
				continue;
			const Tensor *s = n->in[makers[k].scale] >= 0 ? &g->tensors[n->in[makers[k].scale]] : NULL;
			const Tensor *z = n->n_in > makers[k].zp && n->in[makers[k].zp] >= 0 ? &g->tensors[n->in[makers[k].zp]]
										      : NULL;
			Tensor *y = &g->tensors[n->out[0]];
			if (!s || s->kind != T_CONST || s->dtype != RN_F32 || tensor_numel(s) != 1 ||
			    (z && (z->kind != T_CONST || tensor_numel(z) != 1)) || (y->dtype != RN_U8 && y->dtype != RN_I8))
				continue;
			y->qscale = *(const float *)s->data;
			y->qzp = z ? zp_at(y->dtype, z->data, 0) : 0;
		}
	}
}

int pass_qdq(Graph *g, Diag *d)
{
	Readers r;
	readers_init(&r, g);
	int rc = 0;
	note_qparams(g);
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *n = &g->nodes[i];
		if (!n->dead && !strcmp(n->op_type, "Conv"))
			fuse_conv(g, &r, n);
		else if (!n->dead && !strcmp(n->op_type, "QLinearConv"))
			fuse_qlinear_conv(g, &r, n);
		else if (!n->dead && !strcmp(n->op_type, "Gemm"))
			fuse_gemm(g, &r, n);
	}
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		if (!strcmp(n->op_type, "Add"))
			fuse_add(g, &r, n);
		else if (!strcmp(n->op_type, "QLinearAdd"))
			fuse_qlinear_add(g, &r, n);
		else if (!fuse_maxpool(g, &r, n, d, &rc) && !fuse_gap(g, &r, n, d, &rc))
			fuse_view(g, &r, n, d, &rc);
	}
	readers_free(&r);
	return rc;
}
