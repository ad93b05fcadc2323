/* Conv and BatchNormalization. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int conv_geometry(Node *n, const Tensor *x, const Tensor *w, rn_conv2d_params *p, int64_t *od, Diag *d)
{
	if (x->rank < 3 || x->rank > 4)
		return node_error(d, n, x->rank == 5 ? "3-D convolution is not supported"
				  : "input '%s' must have rank 3 or 4", x->name);
	if (w->rank != x->rank)
		return node_error(d, n, "weight '%s' has rank %d, input has rank %d", w->name, w->rank, x->rank);
	int nsp = x->rank - 2;
	int64_t group = attr_int(n, "group", 1);
	int64_t c = x->dims[1], m = w->dims[0];
	if (group <= 0 || c % group || m % group)
		return node_error(d, n, "group %lld does not divide input channels %lld and output channels %lld",
				  (long long)group, (long long)c, (long long)m);
	if (w->dims[1] * group != c)
		return node_error(d, n, "weight '%s' expects %lld input channels per group, input has %lld channels in %lld groups",
				  w->name, (long long)w->dims[1], (long long)c, (long long)group);
	Window win;
	if (window_infer(n, nsp, x->dims + 2, w->dims + 2, 0, &win, d))
		return -1;
	od[0] = x->dims[0];
	od[1] = m;
	od[2] = win.out[0];
	od[3] = nsp == 2 ? win.out[1] : 0;
	for (int i = 0; i < 4; i++)
		if (od[i] > INT32_MAX || (i < 2 + nsp && x->dims[i % 2 ? 1 : 0] > INT32_MAX))
			return node_error(d, n, "dimensions too large");
	memset(p, 0, sizeof *p);
	int two = nsp == 2;
	p->n = (int)x->dims[0];
	p->c = (int)c;
	p->h = two ? (int)x->dims[2] : 1;
	p->w = (int)x->dims[two ? 3 : 2];
	p->m = (int)m;
	p->oh = two ? (int)win.out[0] : 1;
	p->ow = (int)win.out[two ? 1 : 0];
	p->kh = two ? win.k[0] : 1;
	p->kw = win.k[two ? 1 : 0];
	p->sh = two ? win.s[0] : 1;
	p->sw = win.s[two ? 1 : 0];
	p->dh = two ? win.d[0] : 1;
	p->dw = win.d[two ? 1 : 0];
	p->pt = two ? win.pb[0] : 0;
	p->pl = win.pb[two ? 1 : 0];
	p->group = (int)group;
	return 0;
}

int lower_conv(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 3, 5, d) || need_input(g, n, 1, RN_F32, 3, 5, d))
		return -1;
	Tensor *x = node_input(g, n, 0), *w = node_input(g, n, 1), *b = node_input(g, n, 2);
	rn_conv2d_params cp;
	int64_t od[4];
	if (conv_geometry(n, x, w, &cp, od, d))
		return -1;
	if (b && (b->dtype != RN_F32 || b->rank != 1 || b->dims[0] != cp.m))
		return node_error(d, n, "bias '%s' must be float32 of shape %d", b->name, cp.m);
	set_output(g, n, 0, RN_F32, x->rank, od);

	Step *s = node_add_step(n, K_CONV2D);
	rn_conv2d_params *p = &s->p.conv;
	*p = cp;
	p->act = n->act;
	p->alpha = n->act_alpha;
	p->beta = n->act_beta;
	s->in[0] = n->in[0];
	s->in[1] = n->in[1];
	s->in[2] = n->n_in > 2 ? n->in[2] : -1;
	s->in[3] = n->residual;
	s->n_in = 4;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int lower_batchnorm(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 2, IR_MAX_RANK, d))
		return -1;
	if (!attr_int(n, "spatial", 1))
		return node_error(d, n, "spatial=0 (per-location statistics) is not supported");
	if (attr_int(n, "training_mode", 0) || !attr_int(n, "is_test", 1))
		return node_error(d, n, "training mode is not supported (export the model in eval mode)");
	for (int i = 1; i < n->n_out; i++)
		if (n->out[i] >= 0)
			return node_error(d, n, "the running statistics outputs exist only in training mode");
	Tensor *x = node_input(g, n, 0);
	int64_t c = x->dims[1], spatial = 1;
	for (int i = 2; i < x->rank; i++)
		spatial *= x->dims[i];
	int all_const = 1;
	for (int i = 1; i < 5; i++) {
		if (need_input(g, n, i, RN_F32, 1, 1, d))
			return -1;
		Tensor *t = node_input(g, n, i);
		if (t->dims[0] != c)
			return node_error(d, n, "input '%s' has %lld values for %lld channels", t->name,
					  (long long)t->dims[0], (long long)c);
		all_const &= t->kind == T_CONST;
	}
	float eps = attr_float(n, "epsilon", 1e-5f);
	set_output(g, n, 0, RN_F32, x->rank, x->dims);
	if (!all_const) {
		Step *s = node_add_step(n, K_BATCHNORM);
		s->p.affine = (AffineParams){x->dims[0], c, spatial, eps};
		for (int i = 0; i < 5; i++)
			s->in[i] = n->in[i];
		s->n_in = 5;
		s->out[0] = n->out[0];
		s->n_out = 1;
		return 0;
	}
	/* Statistics are known: y = x * scale + shift, computed in double. */
	const float *gamma = node_input(g, n, 1)->data, *beta = node_input(g, n, 2)->data;
	const float *mean = node_input(g, n, 3)->data, *var = node_input(g, n, 4)->data;
	float *scale = xmalloc(c * sizeof *scale), *shift = xmalloc(c * sizeof *shift);
	for (int64_t i = 0; i < c; i++) {
		double sc = (double)gamma[i] / sqrt((double)var[i] + (double)eps);
		scale[i] = (float)sc;
		shift[i] = (float)((double)beta[i] - (double)mean[i] * sc);
	}
	Step *s = node_add_step(n, K_SCALE_SHIFT);
	s->p.affine = (AffineParams){x->dims[0], c, spatial, eps};
	s->in[0] = n->in[0];
	s->in[1] = add_const(g, n, "scale", RN_F32, 1, &c, scale);
	s->in[2] = add_const(g, n, "shift", RN_F32, 1, &c, shift);
	s->n_in = 3;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}
