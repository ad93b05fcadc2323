/* ONNX front end: protobuf-c bindings generated from onnx.proto, to IR. */
#include "frontend.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"

#define MAX_MODEL_BYTES ((size_t)1 << 32)

int shape_pin_parse(const char *arg, ShapePin *pin, Diag *d)
{
	memset(pin, 0, sizeof *pin);
	const char *eq = strrchr(arg, '=');
	const char *dims = arg;
	if (eq) {
		size_t k = (size_t)(eq - arg);
		if (k == 0 || k >= sizeof pin->name)
			return diag_set(d, "--input-shape '%s': bad input name", arg);
		memcpy(pin->name, arg, k);
		dims = eq + 1;
	}
	const char *p = dims;
	while (*p) {
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (end == p || v <= 0 || errno || pin->rank == IR_MAX_RANK || (*end && *end != 'x'))
			return diag_set(d, "--input-shape '%s': expected NAME=DxDx..., e.g. input=1x3x224x224", arg);
		pin->dims[pin->rank++] = v;
		p = *end ? end + 1 : end;
	}
	if (!pin->rank)
		return diag_set(d, "--input-shape '%s': no dimensions", arg);
	return 0;
}

/* Element count of dims, or -1 if negative or absurdly large. A zero dim
 * does not excuse the others: the product of the non-zero dims is bounded
 * too, so no partial product of a shape can overflow later. */
static int64_t checked_numel(const int64_t *dims, size_t rank)
{
	int64_t n = 1, nonzero = 1;
	for (size_t i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return -1;
		if (dims[i] && nonzero > (((int64_t)1 << 40) / dims[i]))
			return -1;
		nonzero *= dims[i] ? dims[i] : 1;
		n *= dims[i];
	}
	return n;
}

/* A decimal count from an external_data entry, or -1. */
static long long parse_count(const char *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	return end == v || *end || errno || x < 0 ? -1 : x;
}

/* Reads the tensor's bytes from its external data file into a fresh
 * *out; the file's size is checked before anything is allocated. */
static int read_external(const Onnx__TensorProto *tp, const char *dir, void **out, size_t bytes, Diag *d)
{
	const char *loc = NULL;
	long long off = 0, len = -1;
	for (size_t i = 0; i < tp->n_external_data; i++) {
		const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
		if (!k || !v)
			continue;
		if (!strcmp(k, "location"))
			loc = v;
		else if (!strcmp(k, "offset") && (off = parse_count(v)) < 0)
			return diag_set(d, "initializer '%s': external data offset '%.40s' is not a byte count", tp->name, v);
		else if (!strcmp(k, "length") && (len = parse_count(v)) < 0)
			return diag_set(d, "initializer '%s': external data length '%.40s' is not a byte count", tp->name, v);
	}
	if (!loc)
		return diag_set(d, "initializer '%s': external data without a location", tp->name);
	if (len >= 0 && (size_t)len != bytes)
		return diag_set(d, "initializer '%s': external data length %lld does not match its %zu bytes",
				tp->name, len, bytes);
	char *path = confined_path(dir, loc, d);
	if (!path)
		return diag_set(d, "initializer '%s': external data %s", tp->name, d->msg);
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return diag_set(d, "initializer '%s': external data '%s' is not a regular file", tp->name, loc);
	}
	if ((uint64_t)off > (uint64_t)st.st_size || bytes > (uint64_t)st.st_size - (uint64_t)off) {
		free(path);
		return diag_set(d, "initializer '%s': external data '%s' is too short (needs %zu bytes at offset %lld, has %lld)",
				tp->name, loc, bytes, off, (long long)st.st_size);
	}
	FILE *f = fopen(path, "rb");
	free(path);
	if (!f)
		return diag_set(d, "initializer '%s': cannot open external data '%s': %s", tp->name, loc, strerror(errno));
	*out = xmalloc(bytes);
	int ok = fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(*out, 1, bytes, f) == bytes;
	fclose(f);
	if (!ok)
		return diag_set(d, "initializer '%s': external data '%s' is too short (needs %zu bytes at offset %lld)",
				tp->name, loc, bytes, off);
	return 0;
}

/* Makes tensor t a constant holding tp's data. */
static int load_tensor(Graph *g, int t, const Onnx__TensorProto *tp, const char *dir, Diag *d)
{
	Tensor *tt = &g->tensors[t];
	const char *name = tp->name && *tp->name ? tp->name : "(unnamed)";
	int dt = tp->data_type;
	size_t elem = dt >= 1 && dt <= 16 ? rn_dtype_size(dt) : 0;
	if (!elem)
		return diag_set(d, "tensor '%s': data type %d is not supported", name, dt);
	if (tp->n_dims > IR_MAX_RANK)
		return diag_set(d, "tensor '%s': rank %zu exceeds %d", name, tp->n_dims, IR_MAX_RANK);
	int64_t numel = checked_numel(tp->dims, tp->n_dims);
	if (numel < 0)
		return diag_set(d, "tensor '%s': dimensions are negative or too large", name);
	if (tp->segment)
		return diag_set(d, "tensor '%s': segmented tensors are not supported", name);
	tt->dtype = dt;
	tt->rank = (int)tp->n_dims;
	for (size_t i = 0; i < tp->n_dims; i++)
		tt->dims[i] = tp->dims[i];
	size_t bytes = (size_t)numel * elem;
	tt->kind = T_CONST;
	if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
		return read_external(tp, dir, &tt->data, bytes, d);
	}
	if (tp->has_raw_data) {
		if (tp->raw_data.len != bytes)
			return diag_set(d, "tensor '%s': %zu bytes of data for shape of %lld %s elements (%zu bytes)", name,
					tp->raw_data.len, (long long)numel, rn_dtype_name(dt), bytes);
		tt->data = xmalloc(bytes);
		if (bytes) /* an empty raw_data has no pointer */
			memcpy(tt->data, tp->raw_data.data, bytes);
		return 0;
	}
	size_t have;
	switch (dt) {
	case RN_F32: have = tp->n_float_data; break;
	case RN_I64: have = tp->n_int64_data; break;
	case RN_F64: have = tp->n_double_data; break;
	case RN_U32:
	case RN_U64: have = tp->n_uint64_data; break;
	default: have = tp->n_int32_data; break;
	}
	if (have != (size_t)numel)
		return diag_set(d, "tensor '%s': %zu values for a shape of %lld elements", name, have, (long long)numel);
	tt->data = xmalloc(bytes);
	for (int64_t i = 0; i < numel; i++) {
		unsigned char *p = (unsigned char *)tt->data + i * elem;
		switch (dt) {
		case RN_F32: memcpy(p, &tp->float_data[i], 4); break;
		case RN_I64: memcpy(p, &tp->int64_data[i], 8); break;
		case RN_F64: memcpy(p, &tp->double_data[i], 8); break;
		case RN_U64: memcpy(p, &tp->uint64_data[i], 8); break;
		case RN_U32: { uint32_t v = (uint32_t)tp->uint64_data[i]; memcpy(p, &v, 4); break; }
		case RN_I32: memcpy(p, &tp->int32_data[i], 4); break;
		case RN_I16:
		case RN_U16:
		case RN_F16:
		case RN_BF16: { uint16_t v = (uint16_t)tp->int32_data[i]; memcpy(p, &v, 2); break; }
		default: *p = (unsigned char)tp->int32_data[i]; break;
		}
	}
	return 0;
}

static const ShapePin *find_pin(const ImportOptions *opt, const char *name, size_t n_real_inputs)
{
	for (int i = 0; opt && i < opt->n_pins; i++)
		if (!strcmp(opt->pins[i].name, name) || (!opt->pins[i].name[0] && n_real_inputs == 1))
			return &opt->pins[i];
	return NULL;
}

/* A dimension's symbolic name, or NULL when it has none (no dim_value and
 * no dim_param). */
static const char *dim_name(const Onnx__TensorShapeProto__Dimension *dim)
{
	if (dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
	    *dim->dim_param)
		return dim->dim_param;
	return NULL;
}

/* A note for the user (see ImportOptions); names in it come from the
 * model, so control characters are replaced as diag_set does. */
static void import_note(const ImportOptions *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void import_note(const ImportOptions *opt, const char *fmt, ...)
{
	if (opt && opt->quiet && !opt->note)
		return;
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (opt && opt->note)
		opt->note(opt->note_ctx, line);
	else
		fprintf(stderr, "resnetc: note: %s\n", line);
}

/* The input's dims as an --input-shape value: axis 0 as `batch` when that
 * is not NULL, an axis the model leaves open as Dn (n its index). */
static const char *pin_hint(const Tensor *x, unsigned open_axes, const char *batch, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < x->rank && k < len; i++) {
		const char *sep = i ? "x" : "";
		if (i == 0 && batch)
			k += (size_t)snprintf(buf + k, len - k, "%s", batch);
		else if (open_axes >> i & 1)
			k += (size_t)snprintf(buf + k, len - k, "%sD%d", sep, i);
		else
			k += (size_t)snprintf(buf + k, len - k, "%s%lld", sep, (long long)x->dims[i]);
	}
	return buf;
}

/* Input shapes: --input-shape pins every axis. Otherwise each axis is the
 * model's dim_value; a symbolic batch axis (axis 0: a dim_param, or no
 * value at all) is taken as 1, with a note; any other symbolic axis is an
 * error whose hint spells the model's shape with Dn for each open axis. */
static int add_input(Graph *g, const Onnx__ValueInfoProto *vi, const ImportOptions *opt,
		     size_t n_real, Diag *d)
{
	const char *name = vi->name ? vi->name : "";
	if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
		return diag_set(d, "input '%s' is not a tensor", name);
	const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
	int dt = tt->has_elem_type ? tt->elem_type : 0;
	if (dt < 1 || dt > 16 || !rn_dtype_size(dt))
		return diag_set(d, "input '%s' has unsupported element type %d", name, dt);
	if (graph_find_tensor(g, name) >= 0)
		return diag_set(d, "input '%s' is declared twice", name);
	int t = graph_add_tensor(g, name, T_INPUT, dt);
	Tensor *x = &g->tensors[t];
	const ShapePin *pin = find_pin(opt, name, n_real);
	const Onnx__TensorShapeProto *sh = tt->shape;
	if (!sh && !pin)
		return diag_set(d, "input '%s' has no shape; give one with --input-shape %s=1x3x224x224", name, name);
	if (sh && sh->n_dim > IR_MAX_RANK)
		return diag_set(d, "input '%s' has rank %zu, more than %d", name, sh->n_dim, IR_MAX_RANK);
	if (pin && sh && (size_t)pin->rank != sh->n_dim)
		return diag_set(d, "--input-shape for '%s' has rank %d, the model's input has rank %zu", name,
				pin->rank, sh->n_dim);
	x->rank = pin ? pin->rank : (int)sh->n_dim;
	unsigned open_axes = 0;      /* symbolic axes past the batch axis */
	int batch_open = 0;          /* axis 0 is symbolic and taken as 1 */
	const char *batch_name = NULL;
	for (int i = 0; i < x->rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dim = sh ? sh->dim[i] : NULL;
		int fixed = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		if (pin) {
			if (fixed && dim->dim_value != pin->dims[i])
				return diag_set(d, "--input-shape for '%s' sets axis %d to %lld, the model fixes it at %lld",
						name, i, (long long)pin->dims[i], (long long)dim->dim_value);
			x->dims[i] = pin->dims[i];
		} else if (fixed) {
			if (dim->dim_value < 0)
				return diag_set(d, "input '%s' has a negative dimension", name);
			x->dims[i] = dim->dim_value;
		} else if (i == 0) {
			x->dims[i] = 1;
			batch_open = 1;
			batch_name = dim_name(dim);
		} else {
			x->dims[i] = 0;
			open_axes |= 1u << i;
		}
	}
	if (open_axes) {
		char axes[320] = "", hint[160];
		size_t k = 0;
		int n_open = 0;
		for (int i = 1; i < x->rank; i++) {
			if (!(open_axes >> i & 1))
				continue;
			const char *p = dim_name(sh->dim[i]);
			int last = !(open_axes >> (i + 1));
			if (k < sizeof axes)
				k += (size_t)snprintf(axes + k, sizeof axes - k, "%saxis %d%s%.40s%s",
						      n_open ? (last ? " and " : ", ") : "", i, p ? " ('" : "", p ? p : "",
						      p ? "')" : "");
			n_open++;
		}
		/* a symbolic batch axis shows as the 1 it would be taken as */
		return diag_set(d, "input '%s' has a symbolic size at %s; pin it with --input-shape %s=%s "
				"(Dn: the size of axis n)", name, axes, name,
				pin_hint(x, open_axes, batch_open ? "1" : NULL, hint, sizeof hint));
	}
	if (checked_numel(x->dims, x->rank) < 0)
		return diag_set(d, "input '%s' is too large", name);
	g->inputs = xrealloc(g->inputs, (g->n_inputs + 1) * sizeof *g->inputs);
	g->inputs[g->n_inputs++] = t;
	if (batch_open) {
		char hint[160];
		import_note(opt, "%s: input '%s' has a symbolic batch size%s%.40s%s: using 1 (pin it with --input-shape %s=%s)",
			    g->path ? g->path : "model", name, batch_name ? " '" : "", batch_name ? batch_name : "",
			    batch_name ? "'" : "", name, pin_hint(x, 0, "N", hint, sizeof hint));
	}
	return 0;
}

int binding_parse(const char *arg, Binding *b, Diag *d)
{
	memset(b, 0, sizeof *b);
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof b->name)
		return diag_set(d, "--bind '%s': expected NAME=V,V,... e.g. shape=1,-1", arg);
	memcpy(b->name, arg, (size_t)(eq - arg));
	const char *p = eq + 1;
	int cap = (int)(sizeof b->values / sizeof b->values[0]);
	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || (*end && *end != ','))
			return diag_set(d, "--bind '%s': values must be numbers separated by commas", arg);
		if (b->count == cap)
			return diag_set(d, "--bind '%s': at most %d values", arg, cap);
		b->values[b->count++] = v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* Turns bound graph inputs into constants of their declared type and shape. */
static int apply_bindings(Graph *g, const ImportOptions *opt, Diag *d)
{
	for (int i = 0; opt && i < opt->n_binds; i++) {
		const Binding *b = &opt->binds[i];
		int t = graph_find_tensor(g, b->name), k = 0;
		while (k < g->n_inputs && g->inputs[k] != t)
			k++;
		if (t < 0 || k == g->n_inputs)
			return diag_set(d, "--bind names '%s', which is not an input of the model", b->name);
		Tensor *x = &g->tensors[t];
		if (tensor_numel(x) != b->count)
			return diag_set(d, "--bind gives %d values for input '%s', which holds %lld", b->count, b->name,
					(long long)tensor_numel(x));
		x->data = xcalloc((size_t)b->count + 1, rn_dtype_size(x->dtype));
		if (rn_cast(RN_F64, x->dtype, (size_t)b->count, b->values, x->data) != 0)
			return diag_set(d, "--bind: input '%s' has a type that cannot be bound", b->name);
		x->kind = T_CONST;
		memmove(&g->inputs[k], &g->inputs[k + 1], (g->n_inputs - k - 1) * sizeof *g->inputs);
		g->n_inputs--;
	}
	return 0;
}

static int add_attr(Graph *g, Node *n, const Onnx__AttributeProto *ap, const char *dir, Diag *d)
{
	const char *name = ap->name ? ap->name : "";
	Attr *a;
	switch (ap->type) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
		node_add_attr(n, name, A_INT)->i = ap->i;
		break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
		node_add_attr(n, name, A_FLOAT)->f = ap->f;
		break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
		a = node_add_attr(n, name, A_STRING);
		a->s = xmalloc(ap->s.len + 1);
		if (ap->s.len)
			memcpy(a->s, ap->s.data, ap->s.len);
		a->s[ap->s.len] = 0;
		break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
		a = node_add_attr(n, name, A_INTS);
		a->n = (int)ap->n_ints;
		a->ints = xmalloc((ap->n_ints + 1) * sizeof *a->ints);
		if (ap->n_ints) /* an empty list has no pointer */
			memcpy(a->ints, ap->ints, ap->n_ints * sizeof *a->ints);
		break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
		a = node_add_attr(n, name, A_FLOATS);
		a->n = (int)ap->n_floats;
		a->floats = xmalloc((ap->n_floats + 1) * sizeof *a->floats);
		if (ap->n_floats)
			memcpy(a->floats, ap->floats, ap->n_floats * sizeof *a->floats);
		break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
		if (!ap->t)
			return diag_set(d, "node '%s' (%s): attribute '%s' has no tensor", n->name, n->op_type, name);
		char tname[512];
		snprintf(tname, sizeof tname, "%s:%s", n->name, name);
		int t = graph_add_tensor(g, tname, T_CONST, RN_F32);
		if (load_tensor(g, t, ap->t, dir, d))
			return diag_set(d, "node '%s' (%s): %s", n->name, n->op_type, d->msg);
		node_add_attr(n, name, A_TENSOR)->tensor = t;
		break;
	}
	default:
		node_add_attr(n, name, A_OTHER);
	}
	return 0;
}

static int import_graph(Graph *g, const Onnx__ModelProto *m, const char *dir, const ImportOptions *opt, Diag *d)
{
	const Onnx__GraphProto *gp = m->graph;
	if (!gp)
		return diag_set(d, "the model has no graph");
	g->opset = 0;
	for (size_t i = 0; i < m->n_opset_import; i++) {
		const char *dom = m->opset_import[i]->domain;
		if (!dom || !*dom || !strcmp(dom, "ai.onnx"))
			g->opset = (int)m->opset_import[i]->version;
	}
	if (g->opset == 0)
		return diag_set(d, "the model imports no version of the default ONNX operator set");
	/* Opsets before 7 (broadcast attributes on arithmetic) read the same
	 * for the ops here as long as no node uses the old `broadcast` flag. */
	if (gp->n_sparse_initializer)
		return diag_set(d, "sparse initializers are not supported");

	for (size_t i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *tp = gp->initializer[i];
		if (!tp->name || !*tp->name)
			return diag_set(d, "initializer %zu has no name", i);
		if (graph_find_tensor(g, tp->name) >= 0)
			return diag_set(d, "initializer '%s' is declared twice", tp->name);
		int t = graph_add_tensor(g, tp->name, T_CONST, RN_F32);
		if (load_tensor(g, t, tp, dir, d))
			return -1;
	}
	size_t n_real = 0;
	for (size_t i = 0; i < gp->n_input; i++)
		if (gp->input[i]->name && graph_find_tensor(g, gp->input[i]->name) < 0)
			n_real++;
	for (size_t i = 0; i < gp->n_input; i++) {
		const Onnx__ValueInfoProto *vi = gp->input[i];
		int t = vi->name ? graph_find_tensor(g, vi->name) : -1;
		if (t >= 0 && g->tensors[t].kind == T_CONST)
			continue; /* an initializer listed as input (older exporters) */
		if (add_input(g, vi, opt, n_real, d))
			return -1;
	}
	if (apply_bindings(g, opt, d))
		return -1;
	for (int i = 0; opt && i < opt->n_pins; i++) {
		int t = opt->pins[i].name[0] ? graph_find_tensor(g, opt->pins[i].name) : (n_real == 1 ? g->inputs[0] : -1);
		if (t < 0 || g->tensors[t].kind != T_INPUT)
			return diag_set(d, "--input-shape names '%s', which is not an input of the model",
					opt->pins[i].name[0] ? opt->pins[i].name : "(no name)");
	}

	/* Node outputs first, so inputs can refer to nodes listed later. */
	for (size_t i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *np = gp->node[i];
		for (size_t j = 0; j < np->n_output; j++) {
			const char *o = np->output[j];
			if (!*o)
				continue;
			if (graph_find_tensor(g, o) >= 0)
				return diag_set(d, "node '%s' (%s): output '%s' is already defined elsewhere",
						np->name ? np->name : "", np->op_type ? np->op_type : "", o);
			graph_add_tensor(g, o, T_ACT, 0);
		}
	}
	for (size_t i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *np = gp->node[i];
		char auto_name[64];
		const char *op = np->op_type ? np->op_type : "";
		const char *name = np->name && *np->name ? np->name : NULL;
		if (!name) {
			snprintf(auto_name, sizeof auto_name, "%s_%zu", op, i);
			name = auto_name;
		}
		/* onnxruntime's quantized operators (its QOperator format) are
		 * the one other domain read */
		static const char *const ms_ops[] = {"QLinearAdd", "QLinearGlobalAveragePool", "QLinearAveragePool",
						     "QGemm"};
		int ms = np->domain && !strcmp(np->domain, "com.microsoft");
		for (size_t k = 0; ms && k < sizeof ms_ops / sizeof ms_ops[0]; k++)
			ms += !strcmp(op, ms_ops[k]);
		if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") && ms < 2)
			return diag_set(d, "node '%s' (%s): operator not supported (domain '%s'%s)", name, op, np->domain,
					ms ? ": of com.microsoft, QLinearAdd, QLinearGlobalAveragePool, QLinearAveragePool "
					     "and QGemm are" : "");
		if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2)
			return diag_set(d, "node '%s' (%s): too many inputs or outputs", name, op);
		/* On the heap: the counts come from the file (a stack array of
		 * millions of entries overflows the stack). */
		int *in = xmalloc((np->n_input + np->n_output + 1) * sizeof *in), *out = in + np->n_input;
		for (size_t j = 0; j < np->n_input; j++) {
			const char *s = np->input[j];
			in[j] = *s ? graph_find_tensor(g, s) : -1;
			if (*s && in[j] < 0) {
				free(in);
				return diag_set(d, "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
						name, op, s);
			}
		}
		for (size_t j = 0; j < np->n_output; j++)
			out[j] = *np->output[j] ? graph_find_tensor(g, np->output[j]) : -1;
		int k = graph_add_node(g, name, op, in, (int)np->n_input, out, (int)np->n_output);
		free(in);
		out = g->nodes[k].out;
		Node *n = &g->nodes[k];
		for (size_t j = 0; j < np->n_attribute; j++)
			if (add_attr(g, n, np->attribute[j], dir, d))
				return -1;
		for (size_t j = 0; j < np->n_output; j++)
			if (out[j] >= 0)
				g->tensors[out[j]].producer = k;
	}
	if (gp->n_output == 0)
		return diag_set(d, "the graph has no outputs");
	for (size_t i = 0; i < gp->n_output; i++) {
		const char *name = gp->output[i]->name ? gp->output[i]->name : "";
		int t = graph_find_tensor(g, name);
		if (t < 0)
			return diag_set(d, "output '%s' is not produced by any node", name);
		if (g->tensors[t].is_output)
			return diag_set(d, "output '%s' is listed twice", name);
		g->outputs = xrealloc(g->outputs, (g->n_outputs + 1) * sizeof *g->outputs);
		g->outputs[g->n_outputs++] = t;
		g->tensors[t].is_output = 1;
	}
	return graph_toposort(g, d);
}

Graph *onnx_import(const char *path, const ImportOptions *opt, Diag *d)
{
	size_t len;
	unsigned char *buf = read_file(path, MAX_MODEL_BYTES, &len, d);
	if (!buf)
		return NULL;
	if (len == 0) {
		free(buf);
		diag_set(d, "empty file");
		return NULL;
	}
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
	free(buf);
	if (!m) {
		diag_set(d, "not an ONNX model (the protobuf does not parse; truncated or not ONNX?)");
		return NULL;
	}
	char *dir = path_dir(path);
	Graph *g = graph_new();
	free(g->path);
	g->path = xstrdup(path);
	int rc = import_graph(g, m, dir, opt, d);
	onnx__model_proto__free_unpacked(m, NULL);
	free(dir);
	if (rc) {
		graph_free(g);
		return NULL;
	}
	return g;
}
