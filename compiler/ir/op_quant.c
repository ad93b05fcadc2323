/* The quantization operators: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, QLinearConv, ConvInteger, QLinearMatMul and
 * MatMulInteger. Scales and zero points are operands: constant ones are
 * checked here (a scale must be positive and finite); the kernels read
 * them at run time either way. Quantized graphs whose parameters are
 * constants are rewritten to the packed int8 kernels by the passes. */
#include "ops.h"

#include <math.h>
#include <string.h>

static int is_q8(int dtype)
{
	return dtype == RN_U8 || dtype == RN_I8;
}

/* "int16 is not supported (int8 and uint8 are)" for a quantized operand. */
static int need_q8(Graph *g, Node *n, int i, Diag *d)
{
	if (need_input(g, n, i, 0, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *t = node_input(g, n, i);
	if (!is_q8(t->dtype))
		return node_error(d, n, "input '%s' has type %s: quantized tensors of %s are not supported (int8 and uint8 are)",
				  t->name, rn_dtype_name(t->dtype), rn_dtype_name(t->dtype));
	return 0;
}

/* The block-wise quantization of opset 21 and the float8/int4 options
 * are refused by name. */
static int refuse_blocks(const Node *n, Diag *d)
{
	if (attr_int(n, "block_size", 0) != 0)
		return node_error(d, n, "blocked quantization (block_size %lld) is not supported",
				  (long long)attr_int(n, "block_size", 0));
	return 0;
}

/* Checks operand i (a scale when dtype is RN_F32, else a zero point of
 * dtype): absent only if optional, a scalar or a 1-D tensor of 1 or `len`
 * values (len 0: one value only). *count gets its number of values. A
 * constant scale must be positive and finite. */
static int quant_operand(Graph *g, Node *n, int i, int dtype, int optional, int64_t len, const char *what,
			 int *count, Diag *d)
{
	Tensor *t = node_input(g, n, i);
	*count = 1;
	if (!t) {
		if (optional)
			return 0;
		return node_error(d, n, "the %s (input %d) is required", what, i);
	}
	if (t->dtype != dtype)
		return node_error(d, n, "%s '%s' has type %s, expected %s", what, t->name, rn_dtype_name(t->dtype),
				  rn_dtype_name(dtype));
	int64_t cnt = tensor_numel(t);
	if (t->rank > 1 || (cnt != 1 && (len == 0 || cnt != len))) {
		char s[64];
		if (len > 1)
			return node_error(d, n, "%s '%s' has shape %s; expected one value or %lld (one per channel)", what,
					  t->name, shape_str(t, s, sizeof s), (long long)len);
		return node_error(d, n, "%s '%s' has shape %s; expected one value", what, t->name,
				  shape_str(t, s, sizeof s));
	}
	*count = (int)cnt;
	if (dtype == RN_F32 && t->kind == T_CONST) {
		const float *v = t->data;
		for (int64_t k = 0; k < cnt; k++)
			if (!(v[k] > 0.0f) || !isfinite(v[k]))
				return node_error(d, n, "%s '%s' holds %g: a scale must be positive and finite", what,
						  t->name, (double)v[k]);
	}
	return 0;
}

/* x viewed as [outer][axis_len][inner] around `axis`. */
static void split_axis(const Tensor *x, int axis, int per_axis, rn_quant_params *p)
{
	p->outer = 1;
	p->inner = 1;
	p->axis_len = 1;
	int64_t n = tensor_numel(x);
	if (!per_axis) {
		p->inner = n;
		return;
	}
	for (int i = 0; i < axis; i++)
		p->outer *= x->dims[i];
	p->axis_len = x->dims[axis];
	for (int i = axis + 1; i < x->rank; i++)
		p->inner *= x->dims[i];
	p->per_axis = 1;
}

/* QuantizeLinear and DequantizeLinear share their operand rules. */
static int quant_linear(Graph *g, Node *n, int quantize, Diag *d)
{
	if (refuse_blocks(n, d))
		return -1;
	Tensor *x = node_input(g, n, 0), *s = node_input(g, n, 1), *z = node_input(g, n, 2);
	if (need_input(g, n, 0, 0, 0, IR_MAX_RANK, d) || need_input(g, n, 1, 0, 0, 1, d))
		return -1;
	int qtype = z ? z->dtype : RN_U8;
	if (quantize) {
		if (x->dtype != RN_F32)
			return node_error(d, n, "input '%s' has type %s: only float32 is quantized", x->name,
					  rn_dtype_name(x->dtype));
		int64_t to = attr_int(n, "output_dtype", 0);
		if (!z && to)
			qtype = (int)to;
		if (!is_q8(qtype))
			return node_error(d, n, "quantizing to %s is not supported (int8 and uint8 are)",
					  rn_dtype_name(qtype));
	} else {
		qtype = x->dtype;
		if (!is_q8(qtype) && qtype != RN_I32)
			return node_error(d, n, "input '%s' has type %s: dequantizing %s is not supported (int8, uint8 and int32 are)",
					  x->name, rn_dtype_name(qtype), rn_dtype_name(qtype));
	}
	int per_axis = s->rank == 1 && !(s->dims[0] == 1 && x->rank == 0);
	int axis = 0;
	int64_t len = 1;
	if (per_axis && x->rank > 0) {
		if (norm_axis(n, attr_int(n, "axis", 1), x->rank, &axis, d))
			return -1;
		len = x->dims[axis];
	}
	int count;
	if (quant_operand(g, n, 1, RN_F32, 0, len, "scale", &count, d))
		return -1;
	if (z && z->dtype != qtype)
		return node_error(d, n, "zero point '%s' has type %s, the quantized tensor %s", z->name,
				  rn_dtype_name(z->dtype), rn_dtype_name(qtype));
	int zcount;
	if (quant_operand(g, n, 2, qtype, 1, len, "zero point", &zcount, d))
		return -1;
	if (z && (z->rank != s->rank || zcount != count))
		return node_error(d, n, "zero point '%s' and scale '%s' must have the same shape", z->name, s->name);
	if (qtype == RN_I32 && z && z->kind == T_CONST)
		for (int64_t k = 0; k < zcount; k++)
			if (((const int32_t *)z->data)[k] != 0)
				return node_error(d, n, "an int32 tensor's zero point must be 0");
	per_axis = per_axis && x->rank > 0 && count > 1;
	set_output(g, n, 0, quantize ? qtype : RN_F32, x->rank, x->dims);
	Step *st = node_add_step(n, quantize ? K_QUANTIZE : K_DEQUANTIZE);
	st->p.quant.dtype = qtype;
	split_axis(x, axis, per_axis, &st->p.quant);
	for (int i = 0; i < 3; i++)
		st->in[i] = i < n->n_in ? n->in[i] : -1;
	st->n_in = 3;
	st->out[0] = n->out[0];
	st->n_out = 1;
	return 0;
}

int lower_quantize_linear(Graph *g, Node *n, Diag *d)
{
	return quant_linear(g, n, 1, d);
}

int lower_dequantize_linear(Graph *g, Node *n, Diag *d)
{
	return quant_linear(g, n, 0, d);
}

int lower_dynamic_quantize_linear(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	set_output(g, n, 0, RN_U8, x->rank, x->dims);
	set_output(g, n, 1, RN_F32, 0, NULL);
	set_output(g, n, 2, RN_U8, 0, NULL);
	Step *s = node_add_step(n, K_DYNAMIC_QUANTIZE);
	s->p.cast.n = tensor_numel(x);
	s->in[0] = n->in[0];
	s->n_in = 1;
	for (int i = 0; i < 3; i++)
		s->out[i] = i < n->n_out ? n->out[i] : -1;
	s->n_out = 3;
	return 0;
}

/* The operand positions of a quantized product: QLinear* has
 * (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, bias]), *Integer
 * (x, w, x_zp, w_zp). */
typedef struct {
	int x, xs, xz, w, ws, wz, ys, yz, bias;
} QOperands;

static const QOperands qlinear_ops = {0, 1, 2, 3, 4, 5, 6, 7, 8};
static const QOperands integer_ops = {0, -1, 2, 1, -1, 3, -1, -1, -1};

static Tensor *opt_input(Graph *g, Node *n, int i)
{
	return i >= 0 ? node_input(g, n, i) : NULL;
}

/* Checks the operands of a quantized product whose x-side parameters
 * have 1 or xlen values and w-side 1 or wlen; fills q. */
static int qproduct_operands(Graph *g, Node *n, const QOperands *o, int64_t xlen, int64_t wlen,
			     rn_qlinear_params *q, Diag *d)
{
	Tensor *x = node_input(g, n, o->x), *w = node_input(g, n, o->w);
	int linear = o->ys >= 0;
	memset(q, 0, sizeof *q);
	q->x_dtype = x->dtype;
	q->w_dtype = w->dtype;
	Tensor *xz = opt_input(g, n, o->xz), *wz = opt_input(g, n, o->wz);
	if (xz && xz->dtype != x->dtype)
		return node_error(d, n, "zero point '%s' has type %s, its tensor '%s' %s", xz->name,
				  rn_dtype_name(xz->dtype), x->name, rn_dtype_name(x->dtype));
	if (wz && wz->dtype != w->dtype)
		return node_error(d, n, "zero point '%s' has type %s, its tensor '%s' %s", wz->name,
				  rn_dtype_name(wz->dtype), w->name, rn_dtype_name(w->dtype));
	if (quant_operand(g, n, o->xz, x->dtype, !linear, xlen, "zero point", &q->x_zp_n, d) ||
	    quant_operand(g, n, o->wz, w->dtype, !linear, wlen, "zero point", &q->w_zp_n, d))
		return -1;
	q->x_scale_n = q->w_scale_n = 1;
	q->y_dtype = RN_I32;
	if (!linear)
		return 0;
	Tensor *yz = node_input(g, n, o->yz);
	int one;
	if (quant_operand(g, n, o->xs, RN_F32, 0, xlen, "scale", &q->x_scale_n, d) ||
	    quant_operand(g, n, o->ws, RN_F32, 0, wlen, "scale", &q->w_scale_n, d) ||
	    quant_operand(g, n, o->ys, RN_F32, 0, 0, "scale", &one, d))
		return -1;
	if (!yz)
		return node_error(d, n, "the output zero point (input %d) is required", o->yz);
	if (!is_q8(yz->dtype))
		return node_error(d, n, "zero point '%s' has type %s (int8 and uint8 are supported)", yz->name,
				  rn_dtype_name(yz->dtype));
	if (quant_operand(g, n, o->yz, yz->dtype, 0, 0, "zero point", &one, d))
		return -1;
	q->y_dtype = yz->dtype;
	return 0;
}

static int lower_qconv(Graph *g, Node *n, const QOperands *o, Diag *d)
{
	if (need_q8(g, n, o->x, d) || need_q8(g, n, o->w, d))
		return -1;
	Tensor *x = node_input(g, n, o->x), *w = node_input(g, n, o->w);
	rn_conv2d_params cp;
	int64_t od[4];
	if (conv_geometry(n, x, w, &cp, od, d))
		return -1;
	rn_qlinear_params q;
	if (qproduct_operands(g, n, o, 0, cp.m, &q, d))
		return -1;
	Tensor *b = opt_input(g, n, o->bias);
	if (b && (b->dtype != RN_I32 || b->rank != 1 || b->dims[0] != cp.m))
		return node_error(d, n, "bias '%s' must be int32 of shape %d", b->name, cp.m);
	set_output(g, n, 0, q.y_dtype, x->rank, od);
	Step *s = node_add_step(n, K_QLINEAR_CONV);
	s->p.qconv.conv = cp;
	s->p.qconv.q = q;
	int ops[9] = {o->x, o->xz, o->w, o->wz, o->bias, o->xs, o->ws, o->ys, o->yz};
	for (int i = 0; i < 9; i++)
		s->in[i] = ops[i] >= 0 && ops[i] < n->n_in ? n->in[ops[i]] : -1;
	s->n_in = 9;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int lower_qlinear_conv(Graph *g, Node *n, Diag *d)
{
	return lower_qconv(g, n, &qlinear_ops, d);
}

int lower_conv_integer(Graph *g, Node *n, Diag *d)
{
	return lower_qconv(g, n, &integer_ops, d);
}

static int lower_qmatmul(Graph *g, Node *n, const QOperands *o, Diag *d)
{
	if (need_q8(g, n, o->x, d) || need_q8(g, n, o->w, d))
		return -1;
	Tensor *a = node_input(g, n, o->x), *b = node_input(g, n, o->w);
	if (a->rank < 1 || b->rank < 1)
		return node_error(d, n, "inputs must have rank 1 or more");
	Step *s = node_add_step(n, K_QLINEAR_MATMUL);
	int64_t od[IR_MAX_RANK];
	int r;
	if (matmul_geometry(n, a, b, &s->p.qmatmul.mm, od, &r, d))
		return -1;
	/* per-row parameters of A and per-column of B only for 2-D operands
	 * (a batched per-row parameter would need the batch's rows) */
	int64_t xlen = a->rank == 2 ? s->p.qmatmul.mm.m : 0, wlen = b->rank >= 2 ? s->p.qmatmul.mm.n : 0;
	if (qproduct_operands(g, n, o, xlen, wlen, &s->p.qmatmul.q, d))
		return -1;
	set_output(g, n, 0, s->p.qmatmul.q.y_dtype, r, od);
	int ops[8] = {o->x, o->xz, o->w, o->wz, o->xs, o->ws, o->ys, o->yz};
	for (int i = 0; i < 8; i++)
		s->in[i] = ops[i] >= 0 && ops[i] < n->n_in ? n->in[ops[i]] : -1;
	s->n_in = 8;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int lower_qlinear_matmul(Graph *g, Node *n, Diag *d)
{
	return lower_qmatmul(g, n, &qlinear_ops, d);
}

int lower_matmul_integer(Graph *g, Node *n, Diag *d)
{
	return lower_qmatmul(g, n, &integer_ops, d);
}

/* ---- onnxruntime's com.microsoft operators (its QOperator format) ---- */

/* QLinearAdd(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) */
int lower_qlinear_add(Graph *g, Node *n, Diag *d)
{
	if (need_q8(g, n, 0, d) || need_q8(g, n, 3, d))
		return -1;
	Tensor *a = node_input(g, n, 0), *b = node_input(g, n, 3);
	if (a->dtype != b->dtype)
		return node_error(d, n, "'%s' is %s and '%s' %s: both must have one type", a->name,
				  rn_dtype_name(a->dtype), b->name, rn_dtype_name(b->dtype));
	int one;
	if (quant_operand(g, n, 1, RN_F32, 0, 0, "scale", &one, d) ||
	    quant_operand(g, n, 2, a->dtype, 1, 0, "zero point", &one, d) ||
	    quant_operand(g, n, 4, RN_F32, 0, 0, "scale", &one, d) ||
	    quant_operand(g, n, 5, a->dtype, 1, 0, "zero point", &one, d) ||
	    quant_operand(g, n, 6, RN_F32, 0, 0, "scale", &one, d) ||
	    quant_operand(g, n, 7, a->dtype, 1, 0, "zero point", &one, d))
		return -1;
	Step *s = node_add_step(n, K_QLINEAR_ADD);
	if (broadcast(n, a, b, &s->p.binary, d))
		return -1;
	s->p.binary.op = RN_ADD;
	s->p.binary.dtype = a->dtype;
	set_output(g, n, 0, a->dtype, s->p.binary.rank, s->p.binary.dims);
	for (int i = 0; i < 8; i++)
		s->in[i] = i < n->n_in ? n->in[i] : -1;
	s->n_in = 8;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

/* QLinearGlobalAveragePool(x, x_scale, x_zp, y_scale, y_zp), channels first */
int lower_qlinear_global_avg(Graph *g, Node *n, Diag *d)
{
	if (need_q8(g, n, 0, d) || need_input(g, n, 0, 0, 3, IR_MAX_RANK, d))
		return -1;
	if (attr_int(n, "channels_last", 0))
		return node_error(d, n, "channels_last=1 is not supported (resnetc's activations are channels first)");
	Tensor *x = node_input(g, n, 0);
	int one;
	if (quant_operand(g, n, 1, RN_F32, 0, 0, "scale", &one, d) ||
	    quant_operand(g, n, 2, x->dtype, 1, 0, "zero point", &one, d) ||
	    quant_operand(g, n, 3, RN_F32, 0, 0, "scale", &one, d) ||
	    quant_operand(g, n, 4, x->dtype, 1, 0, "zero point", &one, d))
		return -1;
	int64_t od[IR_MAX_RANK], inner = 1;
	for (int i = 0; i < x->rank; i++) {
		od[i] = i < 2 ? x->dims[i] : 1;
		inner *= i < 2 ? 1 : x->dims[i];
	}
	set_output(g, n, 0, x->dtype, x->rank, od);
	Step *s = node_add_step(n, K_QLINEAR_GAP);
	s->p.quant = (rn_quant_params){.dtype = x->dtype, .outer = x->dims[0] * x->dims[1], .axis_len = 1,
				       .inner = inner};
	for (int i = 0; i < 5; i++)
		s->in[i] = i < n->n_in ? n->in[i] : -1;
	s->n_in = 5;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

/* QGemm(A, a_scale, a_zp, B, b_scale, b_zp [, C int32 [, y_scale, y_zp]]):
 * float out without y_scale. A constant B given transposed (transB=1,
 * [N][K]) is stored as [K][N]. */
int lower_qgemm(Graph *g, Node *n, Diag *d)
{
	if (need_q8(g, n, 0, d) || need_q8(g, n, 3, d) || need_input(g, n, 0, 0, 2, 2, d) ||
	    need_input(g, n, 3, 0, 2, 2, d))
		return -1;
	if (attr_int(n, "transA", 0))
		return node_error(d, n, "transA=1 is not supported");
	Tensor *a = node_input(g, n, 0), *b = node_input(g, n, 3);
	int tb = (int)attr_int(n, "transB", 0);
	int64_t nn = tb ? b->dims[0] : b->dims[1], k = tb ? b->dims[1] : b->dims[0];
	if (k != a->dims[1])
		return node_error(d, n, "inner dimensions differ: '%s' gives %lld, '%s' gives %lld", a->name,
				  (long long)a->dims[1], b->name, (long long)k);
	if (tb && b->kind != T_CONST)
		return node_error(d, n, "transB=1 with a non-constant B is not supported");
	int bt = n->in[3];
	if (tb) {
		int64_t dims[2] = {k, nn};
		unsigned char *t = xmalloc((size_t)(k * nn));
		const unsigned char *src = b->data;
		for (int64_t i = 0; i < nn; i++)
			for (int64_t j = 0; j < k; j++)
				t[j * nn + i] = src[i * k + j];
		bt = add_const(g, n, "b_kn", b->dtype, 2, dims, t);
		a = node_input(g, n, 0);
		b = &g->tensors[bt];
	}
	Tensor *c = n->n_in > 6 ? node_input(g, n, 6) : NULL;
	if (c && (c->dtype != RN_I32 || tensor_numel(c) != nn || c->rank > 2 || (c->rank == 2 && c->dims[0] != 1)))
		return node_error(d, n, "C '%s' must be int32 with %lld values (one per output column)", c->name,
				  (long long)nn);
	int has_y = n->n_in > 7 && n->in[7] >= 0;
	static const QOperands qgemm_ops = {0, 1, 2, 3, 4, 5, 7, 8, -1};
	rn_qlinear_params q;
	memset(&q, 0, sizeof q);
	Step *s = node_add_step(n, K_QGEMM);
	s->p.qmatmul.mm = (rn_matmul_params){.m = a->dims[0], .n = nn, .k = k};
	s->p.qmatmul.alpha = attr_float(n, "alpha", 1.0f);
	if (has_y) {
		if (qproduct_operands(g, n, &qgemm_ops, 0, nn, &q, d))
			return -1;
	} else {
		static const QOperands float_out = {0, -1, 2, 3, -1, 5, -1, -1, -1};
		int cnt;
		if (qproduct_operands(g, n, &float_out, 0, nn, &q, d) ||
		    quant_operand(g, n, 1, RN_F32, 0, 0, "scale", &q.x_scale_n, d) ||
		    quant_operand(g, n, 4, RN_F32, 0, nn, "scale", &cnt, d))
			return -1;
		q.w_scale_n = cnt;
		q.y_dtype = RN_F32;
	}
	s = &n->steps[0];
	s->p.qmatmul.q = q;
	int64_t od[2] = {a->dims[0], nn};
	set_output(g, n, 0, q.y_dtype, 2, od);
	int ops[9] = {n->in[0], n->in[2], bt, n->in[5], n->in[1], n->in[4], has_y ? n->in[7] : -1,
		      has_y && n->n_in > 8 ? n->in[8] : -1, c ? n->in[6] : -1};
	for (int i = 0; i < 9; i++)
		s->in[i] = ops[i];
	s->n_in = 9;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}
