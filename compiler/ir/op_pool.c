/* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, ReduceMean. */
#include "ops.h"

#include <string.h>

static int lower_pool(Graph *g, Node *n, int kind, Diag *d)
{
	if (need_input(g, n, 0, 0, 3, 5, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	int quantized = !strcmp(n->op_type, "QLinearAveragePool");
	if (quantized ? x->dtype != RN_U8 && x->dtype != RN_I8
		      : x->dtype != RN_F32 && !(kind == RN_POOL_MAX && x->dtype == RN_U8))
		return node_error(d, n, "input type %s is not supported", rn_dtype_name(x->dtype));
	int nsp = x->rank - 2;
	Window w;
	if (window_infer(n, nsp, x->dims + 2, NULL, 1, &w, d))
		return -1;
	int64_t od[5] = {x->dims[0], x->dims[1]};
	for (int i = 0; i < nsp; i++)
		od[2 + i] = w.out[i];
	set_output(g, n, 0, x->dtype, x->rank, od);
	set_output(g, n, 1, RN_I64, x->rank, od);

	Step *s = node_add_step(n, K_POOL);
	rn_pool_params *p = &s->p.pool;
	p->kind = kind;
	p->dtype = x->dtype;
	p->nc = x->dims[0] * x->dims[1];
	p->nsp = nsp;
	for (int i = 0; i < nsp; i++) {
		p->in[i] = w.in[i];
		p->out[i] = w.out[i];
		p->k[i] = w.k[i];
		p->s[i] = w.s[i];
		p->d[i] = w.d[i];
		p->pad_begin[i] = w.pb[i];
		p->pad_end[i] = w.pe[i];
	}
	p->count_include_pad = (int)attr_int(n, "count_include_pad", 0);
	p->storage_order = (int)attr_int(n, "storage_order", 0);
	if (quantized) {
		/* x_scale, x_zero_point, y_scale[, y_zero_point]: constants */
		const Tensor *q[4];
		for (int i = 0; i < 4; i++) {
			q[i] = i + 1 < n->n_in && n->in[i + 1] >= 0 ? &g->tensors[n->in[i + 1]] : NULL;
			int is_scale = i % 2 == 0;
			if ((q[i] || i != 3) && (!q[i] || q[i]->kind != T_CONST || tensor_numel(q[i]) != 1 ||
						 q[i]->dtype != (is_scale ? RN_F32 : x->dtype)))
				return node_error(d, n, "its scales and zero points must be constant scalars (float "
						  "scales, %s zero points)", rn_dtype_name(x->dtype));
		}
		float xs = *(const float *)q[0]->data, ys = *(const float *)q[2]->data;
		if (!(xs > 0) || !(ys > 0) || xs > 3.4e38f || ys > 3.4e38f)
			return node_error(d, n, "a scale must be positive and finite");
		p->q_mult = (double)xs / (double)ys;
		p->x_zp = x->dtype == RN_I8 ? *(const int8_t *)q[1]->data : *(const uint8_t *)q[1]->data;
		p->y_zp = !q[3] ? 0 : x->dtype == RN_I8 ? *(const int8_t *)q[3]->data : *(const uint8_t *)q[3]->data;
		if (attr_int(n, "channels_last", 0))
			return node_error(d, n, "channels_last=1 is not supported (resnetc's activations are channels first)");
	}
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->out[1] = n->n_out > 1 ? n->out[1] : -1;
	s->n_out = 2;
	return 0;
}

int lower_maxpool(Graph *g, Node *n, Diag *d)
{
	return lower_pool(g, n, RN_POOL_MAX, d);
}

int lower_averagepool(Graph *g, Node *n, Diag *d)
{
	return lower_pool(g, n, RN_POOL_AVG, d);
}

/* com.microsoft QLinearAveragePool(x, x_scale, x_zp, y_scale[, y_zp]):
 * AveragePool's attributes, on uint8 or int8 with constant parameters. */
int lower_qlinear_avgpool(Graph *g, Node *n, Diag *d)
{
	return lower_pool(g, n, RN_POOL_AVG, d);
}

int lower_global_pool(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 3, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	int64_t od[IR_MAX_RANK], inner = 1;
	for (int i = 0; i < x->rank; i++) {
		od[i] = i < 2 ? x->dims[i] : 1;
		if (i >= 2)
			inner *= x->dims[i];
	}
	set_output(g, n, 0, RN_F32, x->rank, od);
	Step *s = node_add_step(n, strcmp(n->op_type, "GlobalMaxPool") ? K_GLOBAL_AVG : K_GLOBAL_MAX);
	s->p.global = (GlobalParams){x->dims[0] * x->dims[1], inner};
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int lower_reduce_mean(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 0, IR_MAX_RANK, d))
		return -1;
	Tensor *x = node_input(g, n, 0);
	unsigned mask;
	int cnt;
	if (axes_mask(g, n, x->rank, 0, &mask, &cnt, d))
		return -1;
	if (cnt == 0 && !attr_int(n, "noop_with_empty_axes", 0))
		mask = (1u << x->rank) - 1;
	int keep = (int)attr_int(n, "keepdims", 1);
	int64_t od[IR_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (!(mask >> i & 1))
			od[r++] = x->dims[i];
		else if (keep)
			od[r++] = 1;
	}
	set_output(g, n, 0, RN_F32, r, od);
	Step *s;
	if (mask == 0) {
		s = node_add_step(n, K_VIEW);
	} else {
		s = node_add_step(n, K_REDUCE_MEAN);
		s->p.reduce.rank = x->rank;
		memcpy(s->p.reduce.dims, x->dims, sizeof x->dims);
		s->p.reduce.mask = mask;
	}
	s->in[0] = n->in[0];
	s->n_in = 1;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}
