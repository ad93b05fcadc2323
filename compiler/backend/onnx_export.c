/* The ONNX writer: protobuf-c messages built from the Graph (see
 * onnx_export.h for what is written and how). Every message, array and
 * name lives in one list of allocations freed at the end; tensor data is
 * referenced where it lies, not copied (but on a big-endian host). */
#include "onnx_export.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "version.h"

#define IR_VERSION 8
#define MIN_OPSET 13

enum { UNDEFINED = 0, DEFINING, DEFINED };

/* A set of names: open addressing on a string hash. */
typedef struct {
	char **slot;
	size_t cap, n;
} NameSet;

typedef struct {
	const Graph *g;
	Diag *d;
	int src_opset, opset;
	void **mem;             /* everything allocated, freed at the end */
	size_t n_mem, cap_mem;
	NameSet tensor_names, node_names;
	char **tname;           /* per tensor of g: its name in the file, or NULL */
	char *state;            /* per tensor of g: UNDEFINED, DEFINING, DEFINED */
	Onnx__NodeProto **node;
	size_t n_node, cap_node;
	Onnx__TensorProto **init;
	size_t n_init, cap_init;
	int microsoft;          /* a com.microsoft operator was written */
	OnnxExportInfo *info;
} Writer;

static void *keep(Writer *w, void *p)
{
	if (w->n_mem == w->cap_mem) {
		w->cap_mem = w->cap_mem ? 2 * w->cap_mem : 256;
		w->mem = xrealloc(w->mem, w->cap_mem * sizeof *w->mem);
	}
	w->mem[w->n_mem++] = p;
	return p;
}

static void *walloc(Writer *w, size_t n)
{
	return keep(w, xcalloc(1, n));
}

/* Grows *arr (of pointers) to hold one more. */
static void push(void ***arr, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*arr = xrealloc(*arr, *cap * sizeof **arr);
	}
	(*arr)[(*n)++] = p;
}

/* ---- names ---- */

static uint64_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int name_taken(const NameSet *s, const char *name)
{
	if (!s->cap)
		return 0;
	for (size_t i = hash_name(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slot[i])
			return 0;
		if (!strcmp(s->slot[i], name))
			return 1;
	}
}

static void name_add(NameSet *s, char *name)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		char **slot = xcalloc(cap, sizeof *slot);
		for (size_t k = 0; k < s->cap; k++) {
			if (!s->slot[k])
				continue;
			size_t i = hash_name(s->slot[k]) & (cap - 1);
			while (slot[i])
				i = (i + 1) & (cap - 1);
			slot[i] = s->slot[k];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t i = hash_name(name) & (s->cap - 1);
	while (s->slot[i])
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = name;
	s->n++;
}

/* A name no one in `set` has yet, made from want (or fallback when want
 * is empty): control characters become '_', a taken name gets _1, _2... */
static char *unique_name(Writer *w, NameSet *set, const char *want, const char *fallback)
{
	const char *base = want && *want ? want : fallback;
	size_t n = strlen(base);
	char *s = walloc(w, n + 24);
	for (size_t i = 0; i < n; i++)
		s[i] = (unsigned char)base[i] < 0x20 || base[i] == 0x7f ? '_' : base[i];
	for (long k = 1; name_taken(set, s); k++)
		snprintf(s + n, 24, "_%ld", k);
	name_add(set, s);
	return s;
}

/* Tensor t's name in the file, given on first use. */
static char *tensor_name(Writer *w, int t)
{
	if (!w->tname[t]) {
		char fallback[32];
		snprintf(fallback, sizeof fallback, "tensor_%d", t);
		w->tname[t] = unique_name(w, &w->tensor_names, w->g->tensors[t].name, fallback);
	}
	return w->tname[t];
}

/* ---- tensors ---- */

static int host_big_endian(void)
{
	const uint16_t one = 1;
	unsigned char b;
	memcpy(&b, &one, 1);
	return b == 0;
}

/* A TensorProto of the given type and shape holding data (referenced,
 * not copied, on a little-endian host). name may be NULL (an attribute's
 * tensor). */
static Onnx__TensorProto *tensor_proto(Writer *w, char *name, int dtype, int rank, const int64_t *dims,
				       const void *data)
{
	size_t elem = rn_dtype_size(dtype);
	if (!elem) {
		diag_set(w->d, "tensor '%s': type %s cannot be written", name ? name : "(attribute)",
			 rn_dtype_name(dtype));
		return NULL;
	}
	Onnx__TensorProto *tp = walloc(w, sizeof *tp);
	onnx__tensor_proto__init(tp);
	tp->name = name;
	tp->has_data_type = 1;
	tp->data_type = dtype;
	tp->n_dims = (size_t)rank;
	tp->dims = walloc(w, (size_t)(rank + 1) * sizeof *tp->dims);
	size_t numel = 1;
	for (int i = 0; i < rank; i++) {
		tp->dims[i] = dims[i];
		numel *= (size_t)dims[i];
	}
	size_t bytes = numel * elem;
	tp->has_raw_data = 1;
	tp->raw_data.len = bytes;
	tp->raw_data.data = (uint8_t *)data;
	if (bytes && elem > 1 && host_big_endian()) {
		uint8_t *le = keep(w, xmalloc(bytes));
		const uint8_t *src = data;
		for (size_t i = 0; i < bytes; i += elem)
			for (size_t k = 0; k < elem; k++)
				le[i + k] = src[i + elem - 1 - k];
		tp->raw_data.data = le;
	}
	if (!bytes)
		tp->raw_data.data = NULL;
	return tp;
}

static void add_initializer(Writer *w, Onnx__TensorProto *tp)
{
	push((void ***)&w->init, &w->n_init, &w->cap_init, tp);
	w->info->initializers++;
	w->info->initializer_bytes += (int64_t)tp->raw_data.len;
}

/* Constant t as an initializer, under its own name. */
static int define_const(Writer *w, int t)
{
	const Tensor *x = &w->g->tensors[t];
	Onnx__TensorProto *tp = tensor_proto(w, tensor_name(w, t), x->dtype, x->rank, x->dims, x->data);
	if (!tp)
		return -1;
	add_initializer(w, tp);
	w->state[t] = DEFINED;
	return 0;
}

/* An initializer the writer makes (an attribute turned input): a copy of
 * data under a fresh name made from base. Returns the name, or NULL. */
static char *extra_const(Writer *w, const char *base, int dtype, int rank, const int64_t *dims, const void *data)
{
	size_t bytes = rn_dtype_size(dtype);
	for (int i = 0; i < rank; i++)
		bytes *= (size_t)dims[i];
	void *copy = keep(w, xmalloc(bytes));
	memcpy(copy, data, bytes);
	char *name = unique_name(w, &w->tensor_names, base, "const");
	Onnx__TensorProto *tp = tensor_proto(w, name, dtype, rank, dims, copy);
	if (!tp)
		return NULL;
	add_initializer(w, tp);
	return name;
}

/* ---- nodes ---- */

static int node_fail(Writer *w, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int node_fail(Writer *w, const Node *n, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return diag_set(w->d, "node '%s' (%s): %s", n->name, n->op_type, what);
}

static int is_op(const Node *n, const char *op)
{
	return !strcmp(n->op_type, op);
}

/* The operators of onnxruntime's com.microsoft domain the ONNX front end
 * reads (a QOperator model's); every other op is the default domain's. */
static int microsoft_op(const Node *n)
{
	return is_op(n, "QLinearAdd") || is_op(n, "QLinearGlobalAveragePool") || is_op(n, "QGemm");
}

/* Add, Sub, Mul, Div and PRelu: the ops that had opset 6's broadcast. */
static int legacy_broadcast_op(const Node *n)
{
	return is_op(n, "Add") || is_op(n, "Sub") || is_op(n, "Mul") || is_op(n, "Div") || is_op(n, "PRelu");
}

/* The node reads a tensor that a DequantizeLinear made at compile time:
 * the dead DequantizeLinear producing constant t, or NULL. */
static const Node *folded_dq(const Graph *g, int t)
{
	const Tensor *x = &g->tensors[t];
	if (x->kind != T_CONST || x->producer < 0 || x->producer >= g->n_nodes)
		return NULL;
	const Node *p = &g->nodes[x->producer];
	if (!p->dead || !is_op(p, "DequantizeLinear") || p->n_out < 1 || p->out[0] != t)
		return NULL;
	return p;
}

static int emit_node(Writer *w, const Node *n, int index, int folded);

/* The name a node's input t is read under, defining it first if it is a
 * constant not yet written; NULL after an error. */
static char *operand(Writer *w, const Node *n, int t)
{
	if (t < 0)
		return "";
	const Graph *g = w->g;
	if (w->state[t] == DEFINED)
		return w->tname[t];
	const Tensor *x = &g->tensors[t];
	if (x->kind == T_CONST) {
		const Node *dq = folded_dq(g, t);
		if (dq) {
			if (w->state[t] == DEFINING) {
				node_fail(w, n, "'%s' depends on itself", x->name);
				return NULL;
			}
			w->state[t] = DEFINING;
			if (emit_node(w, dq, (int)(dq - g->nodes), 1))
				return NULL;
			return w->tname[t];
		}
		return define_const(w, t) ? NULL : w->tname[t];
	}
	node_fail(w, n, "reads '%s' before any node computes it", x->name);
	return NULL;
}

/* Sets input i of np (room for it was made), "" for any skipped. */
static void set_input(Onnx__NodeProto *np, size_t i, char *name)
{
	while (np->n_input <= i)
		np->input[np->n_input++] = "";
	np->input[i] = name;
}

static int has_input(const Node *n, int i)
{
	return i < n->n_in && n->in[i] >= 0;
}

/* Attributes that became inputs by opset 13, by op: written as inputs
 * (move_attrs), so left out as attributes. */
static const struct {
	const char *op, *attr;
	int input;
} moved[] = {
	{"Squeeze", "axes", 1}, {"Unsqueeze", "axes", 1}, {"Reshape", "shape", 1},
	{"Slice", "starts", 1}, {"Slice", "ends", 2},     {"Slice", "axes", 3},
	{"Clip", "min", 1},     {"Clip", "max", 2},       {"Pad", "pads", 1},
	{"Pad", "value", 2},
};

/* Whether attribute a of n is left out of the file. */
static int attr_dropped(const Writer *w, const Node *n, const Attr *a)
{
	const char *name = a->name;
	if (!strcmp(name, "consumed_inputs"))
		return 1;
	if (is_op(n, "Dropout"))
		return !strcmp(name, "ratio") || !strcmp(name, "is_test");
	if (is_op(n, "BatchNormalization"))
		return !strcmp(name, "is_test") || !strcmp(name, "spatial");
	if (is_op(n, "Gemm"))
		return !strcmp(name, "broadcast");
	if (legacy_broadcast_op(n) && w->src_opset < 7)
		return !strcmp(name, "broadcast") || !strcmp(name, "axis");
	if ((is_op(n, "Softmax") || is_op(n, "LogSoftmax")) && w->src_opset < MIN_OPSET)
		return !strcmp(name, "axis"); /* written explicitly */
	for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++)
		if (is_op(n, moved[i].op) && !strcmp(name, moved[i].attr))
			return 1;
	return 0;
}

static Onnx__AttributeProto *new_attr(Writer *w, char *name)
{
	Onnx__AttributeProto *ap = walloc(w, sizeof *ap);
	onnx__attribute_proto__init(ap);
	ap->name = name;
	ap->has_type = 1;
	return ap;
}

static Onnx__AttributeProto *attr_proto(Writer *w, const Node *n, const Attr *a)
{
	Onnx__AttributeProto *ap = new_attr(w, a->name);
	switch (a->type) {
	case A_INT:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		ap->has_i = 1;
		ap->i = a->i;
		break;
	case A_FLOAT:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
		ap->has_f = 1;
		ap->f = a->f;
		break;
	case A_STRING:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
		ap->has_s = 1;
		ap->s.data = (uint8_t *)a->s;
		ap->s.len = a->s ? strlen(a->s) : 0;
		break;
	case A_INTS:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		ap->n_ints = (size_t)a->n;
		ap->ints = a->ints;
		break;
	case A_FLOATS:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
		ap->n_floats = (size_t)a->n;
		ap->floats = a->floats;
		break;
	case A_TENSOR: {
		const Tensor *x = &w->g->tensors[a->tensor];
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
		if (!(ap->t = tensor_proto(w, NULL, x->dtype, x->rank, x->dims, x->data))) {
			node_fail(w, n, "attribute '%s': %s", a->name, w->d->msg);
			return NULL;
		}
		break;
	}
	default:
		node_fail(w, n, "attribute '%s' is of a type the ONNX writer does not keep", a->name);
		return NULL;
	}
	return ap;
}

/* Opset 6's broadcast of B along `axis` (or PRelu's slope along the
 * channels), as opset 7 on reads it: B with ones appended to its dims.
 * Sets *name to B reshaped (a copy), or leaves it NULL when B reads the
 * same. */
static int legacy_b(Writer *w, const Node *n, char **name)
{
	*name = NULL;
	const Graph *g = w->g;
	if (w->src_opset >= 7 || !legacy_broadcast_op(n) || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0 ||
	    !(attr_int(n, "broadcast", 0) || is_op(n, "PRelu")))
		return 0;
	const Tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
	int64_t axis = attr_int(n, "axis", is_op(n, "PRelu") && b->rank == 1 && a->rank >= 2 ? 1 : a->rank - b->rank);
	int rank = a->rank - (int)axis;
	if (axis < 0 || rank < b->rank || rank > IR_MAX_RANK)
		return node_fail(w, n, "B '%s' does not fit A's rank at its axis", b->name);
	if (rank == b->rank)
		return 0;
	if (b->kind != T_CONST)
		return node_fail(w, n, "the opset 6 broadcast of a computed B ('%s') along an axis has no opset 13 form",
				 b->name);
	int64_t dims[IR_MAX_RANK];
	for (int i = 0; i < rank; i++)
		dims[i] = i < b->rank ? b->dims[i] : 1;
	char base[600];
	snprintf(base, sizeof base, "%s_broadcast", b->name);
	return (*name = extra_const(w, base, b->dtype, rank, dims, b->data)) ? 0 : -1;
}

/* The attributes of moved[] this node has, and no input in their place:
 * constant inputs now. */
static int move_attrs(Writer *w, const Node *n, Onnx__NodeProto *np)
{
	const Tensor *x = n->n_in > 0 && n->in[0] >= 0 ? &w->g->tensors[n->in[0]] : NULL;
	for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
		const Attr *a = is_op(n, moved[i].op) ? node_attr(n, moved[i].attr) : NULL;
		int k = moved[i].input;
		if (!a || has_input(n, k) || (k > 1 && has_input(n, 1) && !is_op(n, "Clip")))
			continue;
		char base[600];
		snprintf(base, sizeof base, "%s_%s", n->name, a->name);
		char *name = NULL;
		if (a->type == A_INTS) {
			int64_t cnt = a->n;
			name = extra_const(w, base, RN_I64, 1, &cnt, a->ints ? (const void *)a->ints : (const void *)"");
		} else if (a->type == A_FLOAT && x) {
			/* Clip's bounds, Pad's value: a scalar of the input's type */
			unsigned char v[16];
			float f = a->f;
			if (rn_dtype_size(x->dtype) > sizeof v || rn_cast(RN_F32, x->dtype, 1, &f, v) != 0)
				return node_fail(w, n, "attribute '%s' cannot be written as a %s input", a->name,
						 rn_dtype_name(x->dtype));
			name = extra_const(w, base, x->dtype, 0, NULL, v);
		} else {
			return node_fail(w, n, "attribute '%s' is not of the type opset 13's input takes", a->name);
		}
		if (!name)
			return -1;
		set_input(np, (size_t)k, name);
	}
	return 0;
}

/* Softmax, LogSoftmax before opset 13: over the input flattened to 2-D at
 * axis. The same as opset 13's over axis when the dims after it are all
 * 1; the axis is then written out (the default changed from 1 to -1). */
static int legacy_softmax(Writer *w, const Node *n, Onnx__NodeProto *np)
{
	if (w->src_opset >= MIN_OPSET || !(is_op(n, "Softmax") || is_op(n, "LogSoftmax")) || n->n_in < 1 ||
	    n->in[0] < 0)
		return 0;
	const Tensor *x = &w->g->tensors[n->in[0]];
	int64_t axis = attr_int(n, "axis", 1);
	if (axis < 0)
		axis += x->rank;
	int64_t inner = 1;
	for (int i = (int)axis + 1; i < x->rank; i++)
		inner *= x->dims[i];
	if (inner != 1)
		return node_fail(w, n, "before opset 13 it works on the dims from axis %lld on, flattened; opset 13's "
				 "%s works on one axis: export the model at opset 13", (long long)axis, n->op_type);
	Onnx__AttributeProto *ap = new_attr(w, "axis");
	ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	ap->has_i = 1;
	ap->i = axis;
	np->attribute[np->n_attribute++] = ap;
	return 0;
}

/* Writes node n (index: its place in g, for a name if it has none).
 * folded: a dead DequantizeLinear written for the constant it made. */
static int emit_node(Writer *w, const Node *n, int index, int folded)
{
	const Graph *g = w->g;
	if (n->act != RN_ACT_NONE || n->residual >= 0)
		return node_fail(w, n, "an activation or residual Add fused into it has no ONNX form here");
	Onnx__NodeProto *np = walloc(w, sizeof *np);
	onnx__node_proto__init(np);
	char fallback[96];
	snprintf(fallback, sizeof fallback, "%.60s_%d", n->op_type, index);
	np->name = unique_name(w, &w->node_names, n->name, fallback);
	np->op_type = n->op_type;
	if (microsoft_op(n)) {
		np->domain = "com.microsoft";
		w->microsoft = 1;
	}

	char *b = NULL;
	if (legacy_b(w, n, &b))
		return -1;
	int n_in = n->n_in;
	while (n_in > 0 && n->in[n_in - 1] < 0)
		n_in--;
	np->input = walloc(w, (size_t)(n_in + 5) * sizeof *np->input);
	for (int i = 0; i < n_in; i++) {
		char *name = i == 1 && b ? b : operand(w, n, n->in[i]);
		if (!name)
			return -1;
		np->input[np->n_input++] = name;
	}
	np->attribute = walloc(w, (size_t)(n->n_attrs + 1) * sizeof *np->attribute);
	for (int i = 0; i < n->n_attrs; i++) {
		if (attr_dropped(w, n, &n->attrs[i]))
			continue;
		Onnx__AttributeProto *ap = attr_proto(w, n, &n->attrs[i]);
		if (!ap)
			return -1;
		np->attribute[np->n_attribute++] = ap;
	}
	if (move_attrs(w, n, np) || legacy_softmax(w, n, np))
		return -1;

	/* Outputs: a live node's constant outputs (an inference Dropout's
	 * mask) are left out, their readers get initializers. */
	np->output = walloc(w, (size_t)(n->n_out + 1) * sizeof *np->output);
	for (int j = 0; j < n->n_out; j++) {
		int t = n->out[j];
		if (t < 0 || (!folded && g->tensors[t].kind == T_CONST)) {
			np->output[np->n_output++] = "";
			continue;
		}
		if (w->state[t] == DEFINED)
			return node_fail(w, n, "output '%s' is computed twice", g->tensors[t].name);
		np->output[np->n_output++] = tensor_name(w, t);
		w->state[t] = DEFINED;
	}
	while (np->n_output > 0 && !*np->output[np->n_output - 1])
		np->n_output--;
	if (!np->n_output)
		return node_fail(w, n, "no output is left to write");
	push((void ***)&w->node, &w->n_node, &w->cap_node, np);
	w->info->nodes++;
	w->info->quantize_nodes += is_op(n, "QuantizeLinear");
	w->info->dequantize_nodes += is_op(n, "DequantizeLinear");
	return 0;
}

/* A graph output that is a constant: its DequantizeLinear if it was
 * folded, else an Identity from an initializer holding it. */
static int const_output(Writer *w, int t)
{
	const Tensor *x = &w->g->tensors[t];
	if (folded_dq(w->g, t)) {
		Node fake = {.name = x->name, .op_type = "output"};
		return operand(w, &fake, t) ? 0 : -1;
	}
	char base[600];
	snprintf(base, sizeof base, "%s_value", tensor_name(w, t));
	char *v = extra_const(w, base, x->dtype, x->rank, x->dims, x->data);
	if (!v)
		return -1;
	Onnx__NodeProto *np = walloc(w, sizeof *np);
	onnx__node_proto__init(np);
	snprintf(base, sizeof base, "%s_Identity", tensor_name(w, t));
	np->name = unique_name(w, &w->node_names, base, "Identity");
	np->op_type = "Identity";
	np->n_input = np->n_output = 1;
	np->input = walloc(w, sizeof *np->input);
	np->output = walloc(w, sizeof *np->output);
	np->input[0] = v;
	np->output[0] = tensor_name(w, t);
	w->state[t] = DEFINED;
	push((void ***)&w->node, &w->n_node, &w->cap_node, np);
	w->info->nodes++;
	return 0;
}

static Onnx__ValueInfoProto *value_info(Writer *w, int t)
{
	const Tensor *x = &w->g->tensors[t];
	Onnx__ValueInfoProto *vi = walloc(w, sizeof *vi);
	onnx__value_info_proto__init(vi);
	vi->name = tensor_name(w, t);
	Onnx__TypeProto *tp = walloc(w, sizeof *tp);
	onnx__type_proto__init(tp);
	Onnx__TypeProto__Tensor *tt = walloc(w, sizeof *tt);
	onnx__type_proto__tensor__init(tt);
	Onnx__TensorShapeProto *sh = walloc(w, sizeof *sh);
	onnx__tensor_shape_proto__init(sh);
	sh->n_dim = (size_t)(x->rank > 0 ? x->rank : 0);
	sh->dim = walloc(w, (sh->n_dim + 1) * sizeof *sh->dim);
	for (size_t i = 0; i < sh->n_dim; i++) {
		Onnx__TensorShapeProto__Dimension *dim = walloc(w, sizeof *dim);
		onnx__tensor_shape_proto__dimension__init(dim);
		dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		dim->dim_value = x->dims[i];
		sh->dim[i] = dim;
	}
	tt->has_elem_type = 1;
	tt->elem_type = x->dtype;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->type = tp;
	return vi;
}

static int write_graph(Writer *w)
{
	const Graph *g = w->g;
	/* inputs and outputs first: they keep their names if they can */
	for (int i = 0; i < g->n_inputs; i++) {
		tensor_name(w, g->inputs[i]);
		w->state[g->inputs[i]] = DEFINED;
	}
	for (int i = 0; i < g->n_outputs; i++)
		tensor_name(w, g->outputs[i]);
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];
		if (g->tensors[t].kind == T_CONST && w->state[t] != DEFINED && const_output(w, t))
			return -1;
	}
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead && emit_node(w, &g->nodes[i], i, 0))
			return -1;
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];
		if (w->state[t] != DEFINED)
			return diag_set(w->d, "output '%s' is computed by no node", g->tensors[t].name);
	}
	return 0;
}

int onnx_export(const Graph *g, OnnxExportInfo *info, void **bytes, size_t *len, Diag *d)
{
	Writer w = {.g = g, .d = d, .info = info, .src_opset = g->opset};
	w.opset = g->opset < MIN_OPSET ? MIN_OPSET : g->opset;
	info->opset = w.opset;
	info->nodes = info->quantize_nodes = info->dequantize_nodes = info->initializers = 0;
	info->initializer_bytes = 0;
	w.tname = xcalloc((size_t)g->n_tensors + 1, sizeof *w.tname);
	w.state = xcalloc((size_t)g->n_tensors + 1, 1);
	int rc = write_graph(&w);

	if (rc == 0) {
		Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
		NameSet graph_name = {0};
		gp.name = unique_name(&w, &graph_name, g->name, "model");
		free(graph_name.slot);
		gp.n_node = w.n_node;
		gp.node = w.node;
		gp.n_initializer = w.n_init;
		gp.initializer = w.init;
		gp.n_input = (size_t)g->n_inputs;
		gp.input = walloc(&w, (size_t)(g->n_inputs + 1) * sizeof *gp.input);
		for (int i = 0; i < g->n_inputs; i++)
			gp.input[i] = value_info(&w, g->inputs[i]);
		gp.n_output = (size_t)g->n_outputs;
		gp.output = walloc(&w, (size_t)(g->n_outputs + 1) * sizeof *gp.output);
		for (int i = 0; i < g->n_outputs; i++)
			gp.output[i] = value_info(&w, g->outputs[i]);

		Onnx__OperatorSetIdProto os[2] = {ONNX__OPERATOR_SET_ID_PROTO__INIT, ONNX__OPERATOR_SET_ID_PROTO__INIT};
		Onnx__OperatorSetIdProto *osp[2] = {&os[0], &os[1]};
		os[0].domain = "";
		os[0].has_version = 1;
		os[0].version = w.opset;
		os[1].domain = "com.microsoft";
		os[1].has_version = 1;
		os[1].version = 1;
		Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
		m.has_ir_version = 1;
		m.ir_version = IR_VERSION;
		m.n_opset_import = w.microsoft ? 2 : 1;
		m.opset_import = osp;
		m.producer_name = "resnetc";
		m.producer_version = RESNETC_VERSION;
		m.doc_string = (char *)info->doc;
		m.graph = &gp;

		size_t size = onnx__model_proto__get_packed_size(&m);
		if (size > INT_MAX) {
			rc = diag_set(d, "the model would be %zu bytes, more than the 2 GiB a protobuf (an ONNX file "
					 "without external data) may hold", size);
		} else {
			*bytes = xmalloc(size);
			*len = onnx__model_proto__pack(&m, *bytes);
		}
	}
	for (size_t i = 0; i < w.n_mem; i++)
		free(w.mem[i]);
	free(w.mem);
	free(w.tensor_names.slot);
	free(w.node_names.slot);
	free(w.tname);
	free(w.state);
	free(w.node);
	free(w.init);
	return rc;
}
