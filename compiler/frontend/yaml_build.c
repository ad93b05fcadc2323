/* The torchvision ResNet graph a YAML description stands for, and its parameters (yaml_internal.h) */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

int y_weights_err(Builder *b, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return y_err(b->d, b->s->weights_loc, "weights '%.60s': %s", b->wname, buf);
}

/* A constant named `name` of the given shape: from the weights file, or
 * generated. `fan` is fan_out for convolutions, fan_in for fc. */
static int param(Builder *b, const char *name, int rank, const int64_t *dims, InitKind kind, int64_t fan)
{
	int t = graph_add_tensor(b->g, name, T_CONST, RN_F32);
	Tensor *x = &b->g->tensors[t];
	x->rank = rank;
	memcpy(x->dims, dims, rank * sizeof *dims);
	int64_t n = 1; /* saturating at MAX_PARAMS + 1 */
	for (int i = 0; i < rank; i++)
		n = n > MAX_PARAMS || dims[i] > MAX_PARAMS ? MAX_PARAMS + 1 : n * dims[i];
	b->n_params = b->n_params > MAX_PARAMS - n ? MAX_PARAMS + 1 : b->n_params + n;
	if (b->count_only)
		return t;
	x->data = xmalloc(n * sizeof(float));
	if (!b->st) {
		y_init_values(b->s, name, kind, fan, x->data, n);
		return t;
	}
	char want[96], have[96];
	shape_str(x, want, sizeof want);
	StTensor *w = st_find(b->st, name);
	if (!w)
		return y_weights_err(b, "tensor '%s' is missing (the model needs shape %s)", name, want);
	st_shape_str(w->rank, w->dims, have, sizeof have);
	int same = w->rank == rank;
	for (int i = 0; same && i < rank; i++)
		same = w->dims[i] == dims[i];
	if (!same)
		return y_weights_err(b, "tensor '%s' has shape %s, the model needs %s", name, have, want);
	w->used = 1;
	if (st_read_f32(b->st, w, x->data, b->d))
		return y_weights_err(b, "%s", b->d->msg);
	return t;
}

/* An ints attribute with `count` copies of v (square kernels, equal pads). */
static void ints_attr(Node *n, const char *name, int64_t v, int count)
{
	Attr *at = node_add_attr(n, name, A_INTS);
	at->n = count;
	at->ints = xmalloc(count * sizeof *at->ints);
	for (int i = 0; i < count; i++)
		at->ints[i] = v;
}

static int add_node(Builder *b, const char *name, const char *op, const int *in, int n_in, const char *out_name)
{
	int out = graph_add_tensor(b->g, out_name ? out_name : name, T_ACT, 0);
	int k = graph_add_node(b->g, name, op, in, n_in, &out, 1);
	b->g->tensors[out].producer = k;
	return k;
}

static int out_of(Builder *b, int node)
{
	return b->g->nodes[node].out[0];
}

static int conv(Builder *b, const char *mod, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
		int64_t pad, int64_t groups)
{
	char wn[160];
	snprintf(wn, sizeof wn, "%s.weight", mod);
	int64_t dims[4] = {cout, cin / groups, k, k};
	int w = param(b, wn, 4, dims, INIT_CONV, cout * k * k);
	if (w < 0)
		return -1;
	int in[2] = {x, w};
	int id = add_node(b, mod, "Conv", in, 2, NULL);
	Node *n = &b->g->nodes[id];
	ints_attr(n, "dilations", 1, 2);
	node_add_attr(n, "group", A_INT)->i = groups;
	ints_attr(n, "kernel_shape", k, 2);
	ints_attr(n, "pads", pad, 4);
	ints_attr(n, "strides", stride, 2);
	return n->out[0];
}

static int batchnorm(Builder *b, const char *mod, int x, int64_t c)
{
	static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
	static const InitKind init[4] = {INIT_ONE, INIT_ZERO, INIT_ZERO, INIT_ONE};
	int in[5] = {x};
	for (int i = 0; i < 4; i++) {
		char name[160];
		snprintf(name, sizeof name, "%s.%s", mod, suffix[i]);
		if ((in[i + 1] = param(b, name, 1, &c, init[i], 0)) < 0)
			return -1;
	}
	int k = add_node(b, mod, "BatchNormalization", in, 5, NULL);
	Node *n = &b->g->nodes[k];
	node_add_attr(n, "epsilon", A_FLOAT)->f = 1e-5f;
	node_add_attr(n, "momentum", A_FLOAT)->f = 0.9f;
	return n->out[0];
}

static int relu(Builder *b, const char *name, int x)
{
	return x < 0 ? -1 : out_of(b, add_node(b, name, "Relu", &x, 1, NULL));
}

/* conv -> bn [-> relu], the unit everything is made of. */
static int conv_bn(Builder *b, const char *prefix, const char *cname, const char *bname, int x, int64_t cin,
		   int64_t cout, int64_t k, int64_t stride, int64_t pad, int64_t groups)
{
	char mc[96], mb[96];
	snprintf(mc, sizeof mc, "%s%s", prefix, cname);
	snprintf(mb, sizeof mb, "%s%s", prefix, bname);
	x = conv(b, mc, x, cin, cout, k, stride, pad, groups);
	return x < 0 ? -1 : batchnorm(b, mb, x, cout);
}

/* torchvision's BasicBlock / Bottleneck (stride on the 3x3), as exported:
 * the main branch, then the downsample branch, Add, Relu. */
static int block(Builder *b, int stage, int index, int x, int64_t inplanes, int64_t planes, int64_t stride,
		 int64_t *outplanes)
{
	const Spec *s = b->s;
	char p[32], name[64];
	snprintf(p, sizeof p, "layer%d.%d.", stage + 1, index);
	int y;
	int64_t out_c;
	if (!s->bottleneck) {
		out_c = planes;
		y = conv_bn(b, p, "conv1", "bn1", x, inplanes, planes, 3, stride, 1, 1);
		snprintf(name, sizeof name, "%srelu", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv2", "bn2", y, planes, planes, 3, 1, 1, 1);
	} else {
		int64_t width = planes * s->width_per_group / 64 * s->groups;
		out_c = planes * 4;
		y = conv_bn(b, p, "conv1", "bn1", x, inplanes, width, 1, 1, 0, 1);
		snprintf(name, sizeof name, "%srelu", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv2", "bn2", y, width, width, 3, stride, 1, s->groups);
		snprintf(name, sizeof name, "%srelu_1", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv3", "bn3", y, width, out_c, 1, 1, 0, 1);
	}
	if (y < 0)
		return -1;
	int identity = x;
	if (stride != 1 || inplanes != out_c)
		identity = conv_bn(b, p, "downsample.0", "downsample.1", x, inplanes, out_c, 1, stride, 0, 1);
	if (identity < 0)
		return -1;
	int in[2] = {y, identity};
	snprintf(name, sizeof name, "%sadd", p);
	int sum = out_of(b, add_node(b, name, "Add", in, 2, NULL));
	snprintf(name, sizeof name, "%srelu_%d", p, s->bottleneck ? 2 : 1);
	*outplanes = out_c;
	return relu(b, name, sum);
}

int y_build(Builder *b)
{
	const Spec *s = b->s;
	Graph *g = b->g;
	int x = graph_add_tensor(g, "input", T_INPUT, RN_F32);
	g->tensors[x].rank = 4;
	memcpy(g->tensors[x].dims, s->input, sizeof s->input);
	g->inputs = xmalloc(sizeof *g->inputs);
	g->inputs[g->n_inputs++] = x;

	x = conv_bn(b, "", "conv1", "bn1", x, s->input[1], s->stem_channels, s->stem_kernel, s->stem_stride,
		    s->stem_padding, 1);
	x = relu(b, "relu", x);
	if (x < 0)
		return -1;
	if (s->stem_pool) {
		int k = add_node(b, "maxpool", "MaxPool", &x, 1, NULL);
	Node *n = &g->nodes[k];
		node_add_attr(n, "ceil_mode", A_INT)->i = 0;
		ints_attr(n, "kernel_shape", 3, 2);
		ints_attr(n, "pads", 1, 4);
		ints_attr(n, "strides", 2, 2);
		x = n->out[0];
	}
	int64_t c = s->stem_channels;
	for (int i = 0; i < s->n_stages; i++)
		for (int j = 0; j < s->blocks[i]; j++)
			if ((x = block(b, i, j, x, c, s->planes[i], j ? 1 : s->strides[i], &c)) < 0)
				return -1;

	x = out_of(b, add_node(b, "avgpool", "GlobalAveragePool", &x, 1, NULL));
	int k = add_node(b, "flatten", "Flatten", &x, 1, NULL);
	Node *n = &g->nodes[k];
	node_add_attr(n, "axis", A_INT)->i = 1;
	x = n->out[0];
	int64_t wd[2] = {s->classes, c};
	int fw = param(b, "fc.weight", 2, wd, INIT_FC, c);
	int fb = fw < 0 ? -1 : param(b, "fc.bias", 1, &s->classes, INIT_FC, c);
	if (fb < 0)
		return -1;
	int in[3] = {x, fw, fb};
	k = add_node(b, "fc", "Gemm", in, 3, "logits");
	n = &g->nodes[k];
	node_add_attr(n, "alpha", A_FLOAT)->f = 1.0f;
	node_add_attr(n, "beta", A_FLOAT)->f = 1.0f;
	node_add_attr(n, "transB", A_INT)->i = 1;
	int out = n->out[0];
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = out;
	g->tensors[out].is_output = 1;

	const StTensor *extra = NULL;
	int n_extra = 0;
	for (int i = 0; b->st && i < b->st->n; i++) {
		const StTensor *t = &b->st->t[i];
		const char *dot = strrchr(t->name, '.');
		if (t->used || (dot && !strcmp(dot, ".num_batches_tracked")))
			continue;
		if (!n_extra++)
			extra = t;
	}
	if (extra) {
		char sh[96], more[48] = "";
		if (n_extra > 1)
			snprintf(more, sizeof more, " and %d more", n_extra - 1);
		return y_weights_err(b, "unexpected tensor '%.80s' (shape %s)%s: the model described has no such parameter%s",
				   extra->name, st_shape_str(extra->rank, extra->dims, sh, sizeof sh), more,
				   n_extra > 1 ? "s" : "");
	}
	return graph_toposort(g, b->d);
}
