/* Ops that move or describe data: Identity, Dropout, Flatten, Reshape,
 * Squeeze, Unsqueeze, Transpose, Concat, Pad, Constant, ConstantOfShape,
 * Shape, Gather, Slice. */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

static Step *simple_step(Node *n, int kernel)
{
	Step *s = node_add_step(n, kernel);
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return s;
}

static int view(Graph *g, Node *n, int rank, const int64_t *dims)
{
	Tensor *x = node_input(g, n, 0);
	set_output(g, n, 0, x->dtype, rank, dims);
	simple_step(n, K_VIEW);
	return 0;
}

int lower_identity(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	if (!strcmp(n->op_type, "Dropout")) {
		Tensor *tm = node_input(g, n, 2);
		if (attr_int(n, "is_test", 1) == 0 && g->opset < 7)
			return node_error(d, n, "training mode is not supported");
		if (tm) {
			double v;
			if (const_scalar(g, n, 2, &v, d))
				return -1;
			if (v != 0)
				return node_error(d, n, "training mode is not supported");
		}
		if (n->n_out > 1 && n->out[1] >= 0) {
			/* The mask of an inference-mode Dropout keeps everything. */
			if (tensor_numel(x) > MAX_CONST_BYTES)
				return node_error(d, n, "the mask output would be %lld bytes, more than %lld",
						  (long long)tensor_numel(x), (long long)MAX_CONST_BYTES);
			Tensor *mk = &g->tensors[n->out[1]];
			mk->dtype = RN_BOOL;
			mk->rank = x->rank;
			memcpy(mk->dims, x->dims, sizeof x->dims);
			mk->data = xmalloc(tensor_numel(x));
			memset(mk->data, 1, tensor_numel(x));
			mk->kind = T_CONST;
		}
	}
	return view(g, n, x->rank, x->dims);
}

int lower_flatten(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	/* axis is in [-r, r]: negative ones count from the end of the rank */
	int64_t a = attr_int(n, "axis", 1);
	if (a < -x->rank || a > x->rank)
		return node_error(d, n, "axis %lld is out of range for rank %d", (long long)a, x->rank);
	int axis = (int)(a < 0 ? a + x->rank : a);
	int64_t od[2] = {1, 1};
	for (int i = 0; i < x->rank; i++)
		od[i >= axis] *= x->dims[i];
	return view(g, n, 2, od);
}

int lower_reshape(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	int64_t shape[IR_MAX_RANK];
	int cnt;
	if (ints_operand(g, n, 1, "shape", shape, IR_MAX_RANK, &cnt, d))
		return -1;
	int allowzero = (int)attr_int(n, "allowzero", 0);
	int infer = -1;
	int64_t known = 1;
	for (int i = 0; i < cnt; i++) {
		if (shape[i] == 0 && !allowzero) {
			if (i >= x->rank)
				return node_error(d, n, "shape[%d] = 0 copies a dimension the input does not have", i);
			shape[i] = x->dims[i];
		}
		if (shape[i] == -1) {
			if (infer >= 0)
				return node_error(d, n, "shape has more than one -1");
			infer = i;
			continue;
		}
		if (shape[i] < 0)
			return node_error(d, n, "shape[%d] = %lld is invalid", i, (long long)shape[i]);
		if (shape[i] > ((int64_t)1 << 40) || known > ((int64_t)1 << 40) / (shape[i] ? shape[i] : 1))
			return node_error(d, n, "shape[%d] = %lld makes the shape too large", i, (long long)shape[i]);
		known *= shape[i];
	}
	int64_t numel = tensor_numel(x);
	if (infer >= 0) {
		if (known == 0 || numel % known)
			return node_error(d, n, "cannot infer the -1 in the shape: %lld elements do not split by %lld",
					  (long long)numel, (long long)known);
		shape[infer] = numel / known;
		known *= shape[infer];
	}
	if (known != numel) {
		char s[96];
		return node_error(d, n, "cannot reshape %s (%lld elements) to %lld elements",
				  shape_str(x, s, sizeof s), (long long)numel, (long long)known);
	}
	return view(g, n, cnt, shape);
}

int lower_squeeze(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	unsigned mask;
	int cnt;
	if (axes_mask(g, n, x->rank, 0, &mask, &cnt, d))
		return -1;
	int64_t od[IR_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (cnt ? (mask >> i & 1) : x->dims[i] == 1) {
			if (x->dims[i] != 1)
				return node_error(d, n, "cannot squeeze axis %d of size %lld", i, (long long)x->dims[i]);
			continue;
		}
		od[r++] = x->dims[i];
	}
	return view(g, n, r, od);
}

int lower_unsqueeze(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	unsigned mask;
	int cnt;
	if (axes_mask(g, n, x->rank, 1, &mask, &cnt, d))
		return -1;
	int r = x->rank + cnt;
	int64_t od[IR_MAX_RANK];
	for (int i = 0, j = 0; i < r; i++)
		od[i] = mask >> i & 1 ? 1 : x->dims[j++];
	return view(g, n, r, od);
}

int lower_transpose(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	int64_t perm[IR_MAX_RANK];
	int cnt;
	if (get_ints(n, "perm", perm, IR_MAX_RANK, &cnt, d))
		return -1;
	if (!cnt)
		for (cnt = 0; cnt < x->rank; cnt++)
			perm[cnt] = x->rank - 1 - cnt;
	if (cnt != x->rank)
		return node_error(d, n, "perm has %d values for rank %d", cnt, x->rank);
	unsigned seen = 0;
	int64_t od[IR_MAX_RANK];
	Step *s = simple_step(n, K_TRANSPOSE);
	for (int i = 0; i < cnt; i++) {
		if (perm[i] < 0 || perm[i] >= cnt || (seen >> perm[i] & 1))
			return node_error(d, n, "perm is not a permutation of 0..%d", cnt - 1);
		seen |= 1u << perm[i];
		od[i] = x->dims[perm[i]];
		s->p.transpose.perm[i] = (int)perm[i];
	}
	s->p.transpose.elem = (int)rn_dtype_size(x->dtype);
	s->p.transpose.rank = x->rank;
	memcpy(s->p.transpose.dims, x->dims, sizeof x->dims);
	set_output(g, n, 0, x->dtype, x->rank, od);
	return 0;
}

int lower_concat(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	if (!x)
		return node_error(d, n, "input 0 is required");
	if (!node_attr(n, "axis"))
		return node_error(d, n, "attribute 'axis' is required");
	int axis;
	if (norm_axis(n, attr_int(n, "axis", 0), x->rank, &axis, d))
		return -1;
	int64_t od[IR_MAX_RANK];
	memcpy(od, x->dims, sizeof od);
	od[axis] = 0;
	size_t elem = rn_dtype_size(x->dtype);
	for (int i = 0; i < n->n_in; i++) {
		Tensor *t = node_input(g, n, i);
		if (!t || t->dtype != x->dtype || t->rank != x->rank)
			return node_error(d, n, "input %d must be %s of rank %d", i, rn_dtype_name(x->dtype), x->rank);
		for (int k = 0; k < x->rank; k++)
			if (k != axis && t->dims[k] != x->dims[k])
				return node_error(d, n, "input '%s' differs from '%s' in dimension %d", t->name, x->name, k);
		od[axis] += t->dims[axis];
	}
	int64_t outer = 1, inner = elem;
	for (int k = 0; k < x->rank; k++) {
		if (k < axis)
			outer *= x->dims[k];
		else if (k > axis)
			inner *= x->dims[k];
	}
	int64_t off = 0;
	for (int i = 0; i < n->n_in; i++) {
		Tensor *t = node_input(g, n, i);
		int64_t row = t->dims[axis] * inner;
		if (row && outer) {
			Step *s = node_add_step(n, K_COPY2D);
			s->p.copy = (CopyParams){outer, od[axis] * inner, row, row, off};
			s->in[0] = n->in[i];
			s->n_in = 1;
			s->out[0] = n->out[0];
			s->n_out = 1;
		}
		off += row;
	}
	set_output(g, n, 0, x->dtype, x->rank, od);
	return 0;
}

int lower_pad(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	int r = x->rank;
	int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
	int cnt, n_axes = r;
	double value = 0;
	if (node_input(g, n, 1)) {
		if (const_ints(g, n, 1, pads, 2 * IR_MAX_RANK, &cnt, d))
			return -1;
		if (node_input(g, n, 2) && const_scalar(g, n, 2, &value, d))
			return -1;
	} else {
		if (get_ints(n, "pads", pads, 2 * IR_MAX_RANK, &cnt, d))
			return -1;
		if (!node_attr(n, "pads"))
			return node_error(d, n, "pads are required");
		value = attr_float(n, "value", 0.0f);
	}
	for (int i = 0; i < r; i++)
		axes[i] = i;
	if (node_input(g, n, 3) && const_ints(g, n, 3, axes, IR_MAX_RANK, &n_axes, d))
		return -1;
	if (cnt != 2 * n_axes)
		return node_error(d, n, "pads has %d values, expected %d", cnt, 2 * n_axes);
	for (int i = 0; i < cnt; i++)
		if (pads[i] > ((int64_t)1 << 40) || pads[i] < -((int64_t)1 << 40))
			return node_error(d, n, "pads value %lld is out of range", (long long)pads[i]);
	const char *mode = attr_string(n, "mode", "constant");
	static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
	int m = -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(mode, modes[i]))
			m = i;
	if (m < 0)
		return node_error(d, n, "mode '%s' is not one of constant, reflect, edge, wrap", mode);
	Step *s = simple_step(n, K_PAD);
	PadParams *p = &s->p.pad;
	p->elem = (int)rn_dtype_size(x->dtype);
	p->rank = r;
	p->mode = m;
	memcpy(p->dims, x->dims, sizeof x->dims);
	for (int i = 0; i < n_axes; i++) {
		int a;
		if (norm_axis(n, axes[i], r, &a, d))
			return -1;
		p->begin[a] = pads[i];
		p->end[a] = pads[i + n_axes];
	}
	int64_t od[IR_MAX_RANK];
	for (int i = 0; i < r; i++) {
		od[i] = x->dims[i] + p->begin[i] + p->end[i];
		if (od[i] < 0 || p->begin[i] < -x->dims[i] || p->end[i] < -x->dims[i])
			return node_error(d, n, "pads crop axis %d below zero", i);
		if ((m == RN_PAD_REFLECT && (p->begin[i] >= x->dims[i] || p->end[i] >= x->dims[i])) ||
		    (m != RN_PAD_CONSTANT && x->dims[i] == 0 && (p->begin[i] > 0 || p->end[i] > 0)))
			return node_error(d, n, "pads on axis %d are too large for mode '%s'", i, mode);
	}
	if (rn_cast(RN_F64, x->dtype, 1, &value, p->value) != 0)
		return node_error(d, n, "type %s is not supported", rn_dtype_name(x->dtype));
	set_output(g, n, 0, x->dtype, r, od);
	return 0;
}

static void make_const(Graph *g, Node *n, int dtype, int rank, const int64_t *dims, void *data)
{
	set_output(g, n, 0, dtype, rank, dims);
	Tensor *t = &g->tensors[n->out[0]];
	t->data = data;
	t->kind = T_CONST;
}

int lower_constant(Graph *g, Node *n, Diag *d)
{
	if (n->n_attrs != 1)
		return node_error(d, n, "needs exactly one value attribute");
	const Attr *a = &n->attrs[0];
	int64_t dim = a->n;
	if (!strcmp(a->name, "value") && a->type == A_TENSOR) {
		Tensor *src = &g->tensors[a->tensor];
		size_t bytes = tensor_bytes(src);
		make_const(g, n, src->dtype, src->rank, src->dims, memcpy(xmalloc(bytes), src->data, bytes));
	} else if (!strcmp(a->name, "value_float") && a->type == A_FLOAT) {
		float *v = xmalloc(sizeof *v);
		*v = a->f;
		make_const(g, n, RN_F32, 0, NULL, v);
	} else if (!strcmp(a->name, "value_int") && a->type == A_INT) {
		int64_t *v = xmalloc(sizeof *v);
		*v = a->i;
		make_const(g, n, RN_I64, 0, NULL, v);
	} else if (!strcmp(a->name, "value_floats") && a->type == A_FLOATS) {
		make_const(g, n, RN_F32, 1, &dim, memcpy(xmalloc(dim * 4), a->floats, dim * 4));
	} else if (!strcmp(a->name, "value_ints") && a->type == A_INTS) {
		make_const(g, n, RN_I64, 1, &dim, memcpy(xmalloc(dim * 8), a->ints, dim * 8));
	} else {
		return node_error(d, n, "attribute '%s' is not supported", a->name);
	}
	return 0;
}

int lower_constant_of_shape(Graph *g, Node *n, Diag *d)
{
	int64_t shape[IR_MAX_RANK], numel = 1;
	int cnt;
	if (const_ints(g, n, 0, shape, IR_MAX_RANK, &cnt, d))
		return -1;
	for (int i = 0; i < cnt; i++) {
		if (shape[i] < 0 || (shape[i] && numel > ((int64_t)1 << 32) / shape[i]))
			return node_error(d, n, "shape is negative or too large");
		numel *= shape[i];
	}
	int dtype = RN_F32;
	const void *value = NULL;
	const Attr *a = node_attr(n, "value");
	if (a) {
		if (a->type != A_TENSOR || tensor_numel(&g->tensors[a->tensor]) != 1)
			return node_error(d, n, "attribute 'value' must be a one-element tensor");
		dtype = g->tensors[a->tensor].dtype;
		value = g->tensors[a->tensor].data;
	}
	size_t elem = rn_dtype_size(dtype);
	if (numel * (int64_t)elem > MAX_CONST_BYTES)
		return node_error(d, n, "the output would be %lld bytes, more than %lld", (long long)(numel * (int64_t)elem),
				  (long long)MAX_CONST_BYTES);
	char *data = xcalloc(numel ? numel : 1, elem);
	for (int64_t i = 0; value && i < numel; i++)
		memcpy(data + i * elem, value, elem);
	make_const(g, n, dtype, cnt, shape, data);
	return 0;
}

int lower_shape(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	int64_t r = x->rank, start = attr_int(n, "start", 0), end = attr_int(n, "end", r);
	if (start < 0)
		start += r;
	if (end < 0)
		end += r;
	start = start < 0 ? 0 : start > r ? r : start;
	end = end < 0 ? 0 : end > r ? r : end;
	int64_t len = end > start ? end - start : 0;
	int64_t *v = xmalloc((len ? len : 1) * sizeof *v);
	for (int64_t i = 0; i < len; i++)
		v[i] = x->dims[start + i];
	make_const(g, n, RN_I64, 1, &len, v);
	return 0;
}

int lower_gather(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0), *idx = node_input(g, n, 1);
	if (x->rank < 1)
		return node_error(d, n, "data must have rank >= 1");
	if (idx->dtype != RN_I64 && idx->dtype != RN_I32)
		return node_error(d, n, "indices must be int32 or int64, not %s", rn_dtype_name(idx->dtype));
	int axis;
	if (norm_axis(n, attr_int(n, "axis", 0), x->rank, &axis, d))
		return -1;
	int r = x->rank - 1 + idx->rank;
	if (r > IR_MAX_RANK)
		return node_error(d, n, "result rank %d exceeds %d", r, IR_MAX_RANK);
	int64_t od[IR_MAX_RANK], outer = 1, inner = 1;
	int k = 0;
	for (int i = 0; i < axis; i++)
		outer *= od[k++] = x->dims[i];
	for (int i = 0; i < idx->rank; i++)
		od[k++] = idx->dims[i];
	for (int i = axis + 1; i < x->rank; i++)
		inner *= od[k++] = x->dims[i];
	Step *s = node_add_step(n, K_GATHER);
	s->p.gather = (GatherParams){(int)rn_dtype_size(x->dtype), idx->dtype, outer, x->dims[axis], inner,
				     tensor_numel(idx)};
	s->in[0] = n->in[0];
	s->in[1] = n->in[1];
	s->n_in = 2;
	s->out[0] = n->out[0];
	s->n_out = 1;
	set_output(g, n, 0, x->dtype, r, od);
	return 0;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int lower_slice(Graph *g, Node *n, Diag *d)
{
	Tensor *x = node_input(g, n, 0);
	int r = x->rank;
	int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
	int ns, ne, na = 0, nst = 0;
	if (g->opset < 10 || !node_input(g, n, 1)) {
		if (get_ints(n, "starts", starts, IR_MAX_RANK, &ns, d) || get_ints(n, "ends", ends, IR_MAX_RANK, &ne, d) ||
		    get_ints(n, "axes", axes, IR_MAX_RANK, &na, d))
			return -1;
	} else {
		if (const_ints(g, n, 1, starts, IR_MAX_RANK, &ns, d) || const_ints(g, n, 2, ends, IR_MAX_RANK, &ne, d))
			return -1;
		if (node_input(g, n, 3) && const_ints(g, n, 3, axes, IR_MAX_RANK, &na, d))
			return -1;
		if (node_input(g, n, 4) && const_ints(g, n, 4, steps, IR_MAX_RANK, &nst, d))
			return -1;
	}
	if (ns != ne || (na && na != ns) || (nst && nst != ns))
		return node_error(d, n, "starts, ends, axes and steps differ in length");
	if (!na)
		for (na = 0; na < ns; na++)
			axes[na] = na;
	Step *s = simple_step(n, K_SLICE);
	SliceParams *p = &s->p.slice;
	p->elem = (int)rn_dtype_size(x->dtype);
	p->rank = r;
	for (int i = 0; i < r; i++) {
		p->dims[i] = p->out[i] = x->dims[i];
		p->start[i] = 0;
		p->step[i] = 1;
	}
	unsigned seen = 0;
	for (int i = 0; i < ns; i++) {
		int a;
		if (norm_axis(n, axes[i], r, &a, d))
			return -1;
		if (seen >> a & 1)
			return node_error(d, n, "axis %d is repeated", a);
		seen |= 1u << a;
		int64_t dim = x->dims[a], st = nst ? steps[i] : 1;
		if (st == 0)
			return node_error(d, n, "steps must not be 0");
		/* Any step longer than the axis takes one element: clamp it, so
		 * the arithmetic below cannot overflow. */
		if (st > dim + 1)
			st = dim + 1;
		if (st < -dim - 1)
			st = -dim - 1;
		int64_t b = starts[i], e = ends[i];
		b = b < 0 ? (b < -dim ? 0 : b + dim) : b;
		e = e < 0 ? (e < -dim ? -1 : e + dim) : e;
		int64_t count;
		if (st > 0) {
			b = clamp64(b, 0, dim);
			e = clamp64(e, 0, dim);
			count = e > b ? (e - b + st - 1) / st : 0;
		} else {
			if (starts[i] < -dim)
				b = -1;
			b = clamp64(b, -1, dim - 1);
			e = clamp64(e, -1, dim - 1);
			count = b > e ? (b - e + (-st) - 1) / (-st) : 0;
		}
		p->start[a] = count ? b : 0;
		p->step[a] = st;
		p->out[a] = count;
	}
	set_output(g, n, 0, x->dtype, r, p->out);
	return 0;
}
