/* Drives lowering and constant folding; helpers shared by the op files. */
#include "ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int node_error(Diag *d, const Node *n, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return diag_set(d, "node '%s' (%s): %s", n->name, n->op_type, buf);
}

int is_float_type(int dtype)
{
	return dtype == RN_F32 || dtype == RN_F64 || dtype == RN_F16 || dtype == RN_BF16;
}

void set_output(Graph *g, Node *n, int i, int dtype, int rank, const int64_t *dims)
{
	if (i >= n->n_out || n->out[i] < 0)
		return;
	Tensor *t = &g->tensors[n->out[i]];
	t->dtype = dtype;
	t->rank = rank;
	for (int k = 0; k < rank; k++)
		t->dims[k] = dims[k];
}

int need_input(Graph *g, Node *n, int i, int dtype, int lo, int hi, Diag *d)
{
	Tensor *t = node_input(g, n, i);
	if (!t)
		return node_error(d, n, "input %d is required", i);
	if (dtype && t->dtype != dtype)
		return node_error(d, n, "input '%s' has type %s, expected %s", t->name,
				  rn_dtype_name(t->dtype), rn_dtype_name(dtype));
	if (t->rank < lo || t->rank > hi) {
		char s[128];
		return node_error(d, n, "input '%s' has shape %s (rank %d); expected rank %d%s%d",
				  t->name, shape_str(t, s, sizeof s), t->rank, lo,
				  lo == hi ? "" : " to ", lo == hi ? lo : hi);
	}
	return 0;
}

int get_ints(const Node *n, const char *name, int64_t *v, int max, int *count, Diag *d)
{
	const Attr *a = node_attr(n, name);
	*count = 0;
	if (!a)
		return 0;
	if (a->type != A_INTS)
		return node_error(d, n, "attribute '%s' must be a list of ints", name);
	if (a->n > max)
		return node_error(d, n, "attribute '%s' has %d values, at most %d allowed", name, a->n, max);
	for (int i = 0; i < a->n; i++)
		v[i] = a->ints[i];
	*count = a->n;
	return 0;
}

int const_ints(Graph *g, Node *n, int i, int64_t *v, int max, int *count, Diag *d)
{
	Tensor *t = node_input(g, n, i);
	if (!t)
		return node_error(d, n, "input %d is required", i);
	if (t->kind != T_CONST)
		return node_error(d, n, "input '%s' must be known at compile time (it is computed from run-time data)", t->name);
	if (t->dtype != RN_I64 && t->dtype != RN_I32)
		return node_error(d, n, "input '%s' must be int64 or int32, not %s", t->name, rn_dtype_name(t->dtype));
	if (t->rank > 1)
		return node_error(d, n, "input '%s' must be a 1-D tensor", t->name);
	int64_t k = tensor_numel(t);
	if (k > max)
		return node_error(d, n, "input '%s' has %lld values, at most %d allowed", t->name, (long long)k, max);
	for (int64_t j = 0; j < k; j++)
		v[j] = t->dtype == RN_I64 ? ((const int64_t *)t->data)[j] : ((const int32_t *)t->data)[j];
	*count = (int)k;
	return 0;
}

int ints_operand(Graph *g, Node *n, int i, const char *name, int64_t *v, int max, int *count, Diag *d)
{
	return node_input(g, n, i) ? const_ints(g, n, i, v, max, count, d) : get_ints(n, name, v, max, count, d);
}

int axes_mask(Graph *g, Node *n, int rank, int grow, unsigned *mask, int *cnt, Diag *d)
{
	int64_t axes[IR_MAX_RANK];
	if (ints_operand(g, n, 1, "axes", axes, IR_MAX_RANK, cnt, d))
		return -1;
	if (grow)
		rank += *cnt;
	if (rank > IR_MAX_RANK)
		return node_error(d, n, "result rank %d exceeds %d", rank, IR_MAX_RANK);
	*mask = 0;
	for (int i = 0; i < *cnt; i++) {
		int a = 0;
		if (norm_axis(n, axes[i], rank, &a, d))
			return -1;
		if (*mask >> a & 1)
			return node_error(d, n, "axis %lld is repeated", (long long)axes[i]);
		*mask |= 1u << a;
	}
	return 0;
}

int const_scalar(Graph *g, Node *n, int i, double *v, Diag *d)
{
	Tensor *t = node_input(g, n, i);
	if (!t)
		return node_error(d, n, "input %d is required", i);
	if (t->kind != T_CONST)
		return node_error(d, n, "input '%s' must be a constant", t->name);
	if (tensor_numel(t) != 1)
		return node_error(d, n, "input '%s' must hold one value", t->name);
	double x;
	if (rn_cast(t->dtype, RN_F64, 1, t->data, &x) != 0)
		return node_error(d, n, "input '%s' has unsupported type %s", t->name, rn_dtype_name(t->dtype));
	*v = x;
	return 0;
}

int norm_axis(const Node *n, int64_t axis, int rank, int *out, Diag *d)
{
	if (axis < -rank || axis >= (rank ? rank : 1))
		return node_error(d, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

Step *node_add_step(Node *n, int kernel)
{
	n->steps = xrealloc(n->steps, (n->n_steps + 1) * sizeof *n->steps);
	Step *s = &n->steps[n->n_steps++];
	memset(s, 0, sizeof *s);
	s->kernel = kernel;
	for (int i = 0; i < STEP_MAX_IN; i++)
		s->in[i] = -1;
	for (int i = 0; i < STEP_MAX_OUT; i++)
		s->out[i] = -1;
	return s;
}

/* Element counts past this are refused before anything is allocated. */
#define MAX_TENSOR_BYTES ((int64_t)1 << 34)

static int check_outputs(Graph *g, Node *n, Diag *d)
{
	for (int i = 0; i < n->n_out; i++) {
		if (n->out[i] < 0)
			continue;
		Tensor *t = &g->tensors[n->out[i]];
		if (t->rank < 0)
			return node_error(d, n, "output '%s' is not supported (optional outputs of training mode?)", t->name);
		int64_t numel = 1, nonzero = 1;
		for (int k = 0; k < t->rank; k++) {
			if (t->dims[k] < 0)
				return node_error(d, n, "output '%s' would have a negative dimension", t->name);
			/* a zero dim does not excuse huge others (partial products) */
			if (t->dims[k] && nonzero > MAX_TENSOR_BYTES / t->dims[k])
				return node_error(d, n, "output '%s' is too large", t->name);
			nonzero *= t->dims[k] ? t->dims[k] : 1;
			numel *= t->dims[k];
		}
		if (numel * (int64_t)rn_dtype_size(t->dtype) > MAX_TENSOR_BYTES)
			return node_error(d, n, "output '%s' is too large", t->name);
	}
	return 0;
}

/* Host pointers by tensor index for kernel_exec, kept across the nodes
 * lower_graph folds: only a folded node's operands are set, and cleared
 * after, so folding costs what the node touches, not the graph's size. */
typedef struct {
	void **ptr;
	int cap;
} HostPtrs;

/* Sets (or with clear, resets) the pointers of every operand of n's steps:
 * a constant's data, NULL for anything else. */
static void host_ptrs(HostPtrs *h, const Graph *g, const Node *n, int clear)
{
	if (h->cap < g->n_tensors) {
		int cap = h->cap ? h->cap : 64;
		while (cap < g->n_tensors)
			cap *= 2;
		h->ptr = xrealloc(h->ptr, (size_t)cap * sizeof *h->ptr);
		memset(h->ptr + h->cap, 0, (size_t)(cap - h->cap) * sizeof *h->ptr);
		h->cap = cap;
	}
	for (int i = 0; i < n->n_steps; i++) {
		const Step *s = &n->steps[i];
		for (int j = 0; j < STEP_MAX_IN + STEP_MAX_OUT; j++) {
			int t = j < STEP_MAX_IN ? s->in[j] : s->out[j - STEP_MAX_IN];
			if (t >= 0)
				h->ptr[t] = !clear && g->tensors[t].kind == T_CONST ? g->tensors[t].data : NULL;
		}
	}
	for (int i = 0; clear && i < n->n_out; i++)
		if (n->out[i] >= 0)
			h->ptr[n->out[i]] = NULL;
}

/* Runs a node whose inputs are all constant, making its outputs constants. */
static int fold_node(Graph *g, Node *n, HostPtrs *h, Diag *d)
{
	for (int i = 0; i < n->n_out; i++)
		if (n->out[i] >= 0 && g->tensors[n->out[i]].kind != T_CONST &&
		    (int64_t)tensor_bytes(&g->tensors[n->out[i]]) > MAX_CONST_BYTES)
			return node_error(d, n, "output '%s' computed at compile time would be %lld bytes, more than %lld",
					  g->tensors[n->out[i]].name, (long long)tensor_bytes(&g->tensors[n->out[i]]),
					  (long long)MAX_CONST_BYTES);
	host_ptrs(h, g, n, 0);
	void **ptr = h->ptr;
	for (int i = 0; i < n->n_out; i++) {
		if (n->out[i] < 0)
			continue;
		Tensor *t = &g->tensors[n->out[i]];
		if (t->kind == T_CONST) /* set by lower() itself */
			continue;
		t->data = xcalloc(1, tensor_bytes(t));
		ptr[n->out[i]] = t->data;
	}
	int rc = 0;
	for (int i = 0; i < n->n_steps && rc == 0; i++)
		rc = kernel_exec(g, &n->steps[i], ptr, d);
	host_ptrs(h, g, n, 1);
	if (rc)
		return node_error(d, n, "%s", d->msg);
	for (int i = 0; i < n->n_out; i++)
		if (n->out[i] >= 0)
			g->tensors[n->out[i]].kind = T_CONST;
	free(n->steps);
	n->steps = NULL;
	n->n_steps = 0;
	n->dead = 1;
	return 0;
}

static int lower_nodes(Graph *g, HostPtrs *h, Diag *d)
{
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		const OpDef *def = op_find(n->op_type);
		if (!def)
			return node_error(d, n, "operator not supported");
		n->def = def;
		int n_in = n->n_in;
		while (n_in > 0 && n->in[n_in - 1] < 0)
			n_in--; /* trailing omitted optional inputs */
		if (n_in < def->min_in || n_in > def->max_in)
			return node_error(d, n, "has %d inputs, expected %d%s%d", n_in, def->min_in,
					  def->min_in == def->max_in ? "" : " to ",
					  def->min_in == def->max_in ? def->min_in : def->max_in);
		if (n->n_out < def->min_out || n->n_out > def->max_out)
			return node_error(d, n, "has %d outputs, expected %d to %d", n->n_out, def->min_out, def->max_out);
		/* "" names an omitted optional input; the first min_in are not
		 * optional, and the lower functions rely on that. */
		for (int j = 0; j < def->min_in; j++)
			if (n->in[j] < 0)
				return node_error(d, n, "input %d is required but left out", j);
		int all_const = 1;
		for (int j = 0; j < n->n_in; j++) {
			if (n->in[j] < 0)
				continue;
			Tensor *t = &g->tensors[n->in[j]];
			if (t->rank < 0)
				return node_error(d, n, "input '%s' has no known shape", t->name);
			if (t->kind != T_CONST)
				all_const = 0;
		}
		attr_type_error(); /* forget what an earlier caller left */
		int rc = def->lower(g, n, d);
		/* an attribute of the wrong type is the cause of what followed */
		const char *bad = attr_type_error();
		if (bad)
			return node_error(d, n, "%s", bad);
		if (rc != 0 || check_outputs(g, n, d) != 0)
			return -1;
		if (all_const && fold_node(g, n, h, d) != 0)
			return -1;
		/* Shape, Constant: outputs known without running anything. */
		int outs_const = 1;
		for (int j = 0; j < n->n_out; j++)
			if (n->out[j] >= 0 && g->tensors[n->out[j]].kind != T_CONST)
				outs_const = 0;
		if (outs_const)
			n->dead = 1;
		else if (n->out[0] < 0) /* MaxPool with only Indices used */
			return node_error(d, n, "its first output is left out (only a later one is used); not supported");
	}
	return 0;
}

int lower_graph(Graph *g, Diag *d)
{
	HostPtrs h = {NULL, 0};
	int rc = lower_nodes(g, &h, d);
	free(h.ptr);
	return rc;
}

int add_const(Graph *g, const Node *n, const char *suffix, int dtype, int rank,
	      const int64_t *dims, void *data)
{
	char name[512];
	snprintf(name, sizeof name, "%s:%s", n->name, suffix);
	int t = graph_add_tensor(g, name, T_CONST, dtype);
	Tensor *tt = &g->tensors[t];
	tt->rank = rank;
	for (int i = 0; i < rank; i++)
		tt->dims[i] = dims[i];
	tt->data = data;
	return t;
}

int window_infer(const Node *n, int nsp, const int64_t *in, const int64_t *kernel,
		 int allow_ceil, Window *w, Diag *d)
{
	int64_t v[6];
	int cnt;
	memset(w, 0, sizeof *w);
	w->nsp = nsp;
	for (int i = 0; i < nsp; i++) {
		w->in[i] = in[i];
		w->s[i] = w->d[i] = 1;
	}
	if (get_ints(n, "kernel_shape", v, 3, &cnt, d))
		return -1;
	if (cnt && cnt != nsp)
		return node_error(d, n, "kernel_shape has %d values for %d spatial dims", cnt, nsp);
	for (int i = 0; i < nsp; i++) {
		int64_t k = cnt ? v[i] : kernel ? kernel[i] : 0;
		if (kernel && cnt && kernel[i] != v[i])
			return node_error(d, n, "kernel_shape %lld does not match the weight's %lld",
					  (long long)v[i], (long long)kernel[i]);
		if (k <= 0 || k > 65536)
			return node_error(d, n, "kernel size must be positive (kernel_shape missing?)");
		w->k[i] = (int)k;
	}
	if (get_ints(n, "strides", v, 3, &cnt, d))
		return -1;
	if (cnt && cnt != nsp)
		return node_error(d, n, "strides has %d values for %d spatial dims", cnt, nsp);
	for (int i = 0; i < cnt; i++) {
		if (v[i] <= 0 || v[i] > 65536)
			return node_error(d, n, "strides must be positive");
		w->s[i] = (int)v[i];
	}
	if (get_ints(n, "dilations", v, 3, &cnt, d))
		return -1;
	if (cnt && cnt != nsp)
		return node_error(d, n, "dilations has %d values for %d spatial dims", cnt, nsp);
	for (int i = 0; i < cnt; i++) {
		if (v[i] <= 0 || v[i] > 65536)
			return node_error(d, n, "dilations must be positive");
		w->d[i] = (int)v[i];
	}
	if (get_ints(n, "pads", v, 6, &cnt, d))
		return -1;
	if (cnt && cnt != 2 * nsp)
		return node_error(d, n, "pads has %d values, expected %d", cnt, 2 * nsp);
	for (int i = 0; i < cnt; i++)
		if (v[i] < 0 || v[i] > 65536)
			return node_error(d, n, "pads must be non-negative");
	for (int i = 0; i < nsp && cnt; i++) {
		w->pb[i] = (int)v[i];
		w->pe[i] = (int)v[i + nsp];
	}
	int64_t ceil_mode = allow_ceil ? attr_int(n, "ceil_mode", 0) : 0;
	const char *ap = attr_string(n, "auto_pad", "NOTSET");
	int same = !strcmp(ap, "SAME_UPPER") ? 1 : !strcmp(ap, "SAME_LOWER") ? 2 : 0;
	if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
		return node_error(d, n, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
	for (int i = 0; i < nsp; i++) {
		int64_t ext = (int64_t)w->d[i] * (w->k[i] - 1) + 1;
		if (!strcmp(ap, "VALID"))
			w->pb[i] = w->pe[i] = 0;
		if (same) {
			int64_t out = (in[i] + w->s[i] - 1) / w->s[i];
			int64_t total = (out - 1) * w->s[i] + ext - in[i];
			if (total < 0)
				total = 0;
			w->pb[i] = (int)(same == 1 ? total / 2 : total - total / 2);
			w->pe[i] = (int)(total - w->pb[i]);
			w->out[i] = out;
			continue;
		}
		int64_t span = in[i] + w->pb[i] + w->pe[i] - ext;
		if (span < 0)
			return node_error(d, n, "the kernel (extent %lld) is larger than the padded input (%lld)",
					  (long long)ext, (long long)(in[i] + w->pb[i] + w->pe[i]));
		int64_t out = ceil_mode ? (span + w->s[i] - 1) / w->s[i] + 1 : span / w->s[i] + 1;
		/* A last window that would start in the end padding is dropped. */
		if (ceil_mode && (out - 1) * w->s[i] >= in[i] + w->pb[i])
			out--;
		w->out[i] = out;
	}
	return 0;
}
