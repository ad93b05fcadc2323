/* Activations, broadcasting arithmetic, Softmax/LogSoftmax and Cast. */
#include "ops.h"

#include <math.h>
#include <string.h>

static void unary_step(Node *n, int act, float alpha, float beta, int64_t count)
{
	Step *s = node_add_step(n, K_UNARY);
	s->p.unary = (UnaryParams){act, alpha, beta, count};
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
}

int lower_activation(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	set_output(g, n, 0, RN_F32, x->rank, x->dims);
	const char *op = n->op_type;
	int act = RN_ACT_RELU;
	float alpha = 0, beta = 0;
	if (!strcmp(op, "LeakyRelu")) {
		act = RN_ACT_LEAKY_RELU;
		alpha = attr_float(n, "alpha", 0.01f);
	} else if (!strcmp(op, "Sigmoid")) {
		act = RN_ACT_SIGMOID;
	} else if (!strcmp(op, "HardSigmoid")) {
		act = RN_ACT_HARD_SIGMOID;
		alpha = attr_float(n, "alpha", 0.2f);
		beta = attr_float(n, "beta", 0.5f);
	} else if (!strcmp(op, "HardSwish")) {
		act = RN_ACT_HARD_SWISH;
	}
	unary_step(n, act, alpha, beta, tensor_numel(x));
	return 0;
}

int broadcast(const Node *n, const Tensor *a, const Tensor *b, rn_binary_params *p, Diag *d)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	int64_t stra = 1, strb = 1;
	p->rank = r;
	for (int i = r - 1; i >= 0; i--) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1) {
			char sa[96], sb[96];
			return node_error(d, n, "shapes %s ('%s') and %s ('%s') cannot be broadcast",
					  shape_str(a, sa, sizeof sa), a->name, shape_str(b, sb, sizeof sb), b->name);
		}
		int64_t dout = da == 1 ? db : da;
		p->dims[i] = dout;
		p->sa[i] = da == 1 && dout != 1 ? 0 : stra;
		p->sb[i] = db == 1 && dout != 1 ? 0 : strb;
		stra *= da;
		strb *= db;
	}
	return 0;
}

/* One broadcasting step: node output = a op b, b read with tb's shape. */
static int binary_step_as(Graph *g, Node *n, int op, int a, int b, const Tensor *tb, Diag *d)
{
	Tensor *ta = &g->tensors[a];
	Step *s = node_add_step(n, K_BINARY);
	s->p.binary.op = op;
	s->p.binary.dtype = ta->dtype;
	if (broadcast(n, ta, tb, &s->p.binary, d))
		return -1;
	s->in[0] = a;
	s->in[1] = b;
	s->n_in = 2;
	s->out[0] = n->out[0];
	s->n_out = 1;
	set_output(g, n, 0, ta->dtype, s->p.binary.rank, s->p.binary.dims);
	return 0;
}

static int binary_step(Graph *g, Node *n, int op, int a, int b, Diag *d)
{
	return binary_step_as(g, n, op, a, b, &g->tensors[b], d);
}

static int binop_of(const char *op)
{
	static const char *const names[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu"};
	for (int i = 0; i < 7; i++)
		if (!strcmp(op, names[i]))
			return i;
	return RN_ADD; /* Sum */
}

int lower_binary(Graph *g, Node *n, Diag *d)
{
	int op = binop_of(n->op_type);
	int k = n->n_in;
	for (int i = 0; i < k; i++) {
		if (need_input(g, n, i, 0, 0, IR_MAX_RANK, d))
			return -1;
		Tensor *t = node_input(g, n, i), *t0 = node_input(g, n, 0);
		if (t->dtype != t0->dtype)
			return node_error(d, n, "inputs '%s' (%s) and '%s' (%s) differ in type", t0->name,
					  rn_dtype_name(t0->dtype), t->name, rn_dtype_name(t->dtype));
	}
	int dt = node_input(g, n, 0)->dtype;
	if (dt == RN_BOOL || !rn_dtype_size(dt) || (op == RN_PRELU && !is_float_type(dt)))
		return node_error(d, n, "type %s is not supported", rn_dtype_name(dt));
	if (g->opset < 7 && (attr_int(n, "broadcast", 0) || op == RN_PRELU) && k == 2) {
		/* Before opset 7, B's dims line up with A's starting at `axis`
		 * (default: the trailing ones): pad B with ones to the right.
		 * PRelu-1/6 always did so, its slope [C] along the channels. */
		Tensor *a = node_input(g, n, 0), *b = node_input(g, n, 1);
		int64_t axis = attr_int(n, "axis", op == RN_PRELU && b->rank == 1 && a->rank >= 2 ? 1 : a->rank - b->rank);
		if (axis < 0 || axis + b->rank > a->rank)
			return node_error(d, n, "axis %lld does not fit B's rank %d into A's rank %d", (long long)axis,
					  b->rank, a->rank);
		Tensor bb = *b;
		bb.rank = a->rank - (int)axis;
		for (int i = b->rank; i < bb.rank; i++)
			bb.dims[i] = 1;
		return binary_step_as(g, n, op, n->in[0], n->in[1], &bb, d);
	}
	if (k == 1) {
		Tensor *x = node_input(g, n, 0);
		set_output(g, n, 0, x->dtype, x->rank, x->dims);
		Step *s = node_add_step(n, K_VIEW);
		s->in[0] = n->in[0];
		s->n_in = 1;
		s->out[0] = n->out[0];
		s->n_out = 1;
		return 0;
	}
	if (binary_step(g, n, op, n->in[0], n->in[1], d))
		return -1;
	/* Variadic Sum/Max/Min: accumulate into the output, widening the
	 * output shape as later operands broadcast it. */
	for (int i = 2; i < k; i++) {
		Tensor *y = &g->tensors[n->out[0]], *t = node_input(g, n, i);
		rn_binary_params probe;
		if (broadcast(n, y, t, &probe, d))
			return -1;
		int64_t numel = 1;
		for (int j = 0; j < probe.rank; j++)
			numel *= probe.dims[j];
		if (numel != tensor_numel(y))
			return node_error(d, n, "input '%s' widens the result's shape after the first two inputs; reorder the inputs", t->name);
		if (binary_step(g, n, op, n->out[0], n->in[i], d))
			return -1;
	}
	return 0;
}

int lower_clip(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, 0, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	Tensor *tmin = node_input(g, n, 1), *tmax = node_input(g, n, 2);
	set_output(g, n, 0, x->dtype, x->rank, x->dims);
	if (x->dtype == RN_F32 && (!tmin || tmin->kind == T_CONST) && (!tmax || tmax->kind == T_CONST)) {
		double lo = -INFINITY, hi = INFINITY;
		if (tmin && const_scalar(g, n, 1, &lo, d))
			return -1;
		if (tmax && const_scalar(g, n, 2, &hi, d))
			return -1;
		lo = attr_float(n, "min", (float)lo);
		hi = attr_float(n, "max", (float)hi);
		unary_step(n, RN_ACT_CLIP, (float)lo, (float)hi, tensor_numel(x));
		return 0;
	}
	/* Bounds known only at run time, or an integer type: Max then Min. */
	if (!rn_dtype_size(x->dtype) || x->dtype == RN_BOOL)
		return node_error(d, n, "type %s is not supported", rn_dtype_name(x->dtype));
	for (int i = 1; i <= 2; i++) {
		Tensor *t = node_input(g, n, i);
		if (t && (t->dtype != x->dtype || tensor_numel(t) != 1))
			return node_error(d, n, "bound '%s' must be a single %s value", t->name, rn_dtype_name(x->dtype));
	}
	int src = n->in[0];
	if (tmin) {
		if (binary_step(g, n, RN_MAX, src, n->in[1], d))
			return -1;
		src = n->out[0];
	}
	if (tmax) {
		if (binary_step(g, n, RN_MIN, src, n->in[2], d))
			return -1;
		src = n->out[0];
	}
	set_output(g, n, 0, x->dtype, x->rank, x->dims);
	if (src == n->in[0]) {
		Step *s = node_add_step(n, K_VIEW);
		s->in[0] = n->in[0];
		s->n_in = 1;
		s->out[0] = n->out[0];
		s->n_out = 1;
	}
	return 0;
}

int lower_softmax(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	int legacy = g->opset < 13;
	int axis;
	if (norm_axis(n, attr_int(n, "axis", legacy ? 1 : -1), x->rank, &axis, d))
		return -1;
	int64_t outer = 1, len = 1, inner = 1;
	for (int i = 0; i < x->rank; i++) {
		if (i < axis)
			outer *= x->dims[i];
		else if (i == axis || legacy)
			len *= x->dims[i];
		else
			inner *= x->dims[i];
	}
	set_output(g, n, 0, RN_F32, x->rank, x->dims);
	Step *s = node_add_step(n, K_SOFTMAX);
	s->p.softmax = (SoftmaxParams){outer, len, inner, !strcmp(n->op_type, "LogSoftmax")};
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int lower_cast(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, 0, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	int64_t to = attr_int(n, "to", -1);
	if (!node_attr(n, "to"))
		return node_error(d, n, "attribute 'to' is required");
	if (!rn_dtype_size((int)to) || to > 16 || to < 1)
		return node_error(d, n, "cast to type %lld is not supported", (long long)to);
	if (!rn_dtype_size(x->dtype))
		return node_error(d, n, "cast from type %s is not supported", rn_dtype_name(x->dtype));
	set_output(g, n, 0, (int)to, x->rank, x->dims);
	Step *s = node_add_step(n, to == x->dtype ? K_VIEW : K_CAST);
	s->p.cast = (CastParams){x->dtype, (int)to, tensor_numel(x)};
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}
