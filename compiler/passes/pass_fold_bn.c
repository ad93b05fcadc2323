/* fold-bn: Conv -> BatchNormalization becomes one Conv. With s = gamma /
 * sqrt(var + eps): W'[m] = W[m] * s[m], b'[m] = (b[m] - mean[m]) * s[m] +
 * beta[m], all in double so the folded model rounds once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "passes.h"
#include "readers.h"

static int all_const(Graph *g, const Node *n, int from, int to)
{
	for (int i = from; i < to; i++) {
		Tensor *t = node_input(g, n, i);
		if (!t || t->kind != T_CONST || t->dtype != RN_F32)
			return 0;
	}
	return 1;
}

int pass_fold_bn(Graph *g, Diag *d)
{
	Readers r;
	readers_init(&r, g);
	int rc = 0;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *bn = &g->nodes[i];
		if (bn->dead || strcmp(bn->op_type, "BatchNormalization") || !all_const(g, bn, 1, 5))
			continue;
		int x = bn->in[0];
		Node *conv = producer(g, x);
		if (!conv || strcmp(conv->op_type, "Conv") || conv->act != RN_ACT_NONE || conv->residual >= 0 ||
		    readers_of(&r, x) != 1 || !all_const(g, conv, 1, conv->n_in > 2 && conv->in[2] >= 0 ? 3 : 2))
			continue;
		Tensor *w = node_input(g, conv, 1), *b = node_input(g, conv, 2);
		int64_t m = w->dims[0], per = tensor_numel(w) / m;
		const float *gamma = node_input(g, bn, 1)->data, *beta = node_input(g, bn, 2)->data;
		const float *mean = node_input(g, bn, 3)->data, *var = node_input(g, bn, 4)->data;
		double eps = attr_float(bn, "epsilon", 1e-5f);
		float *nw = xmalloc(tensor_numel(w) * sizeof *nw), *nb = xmalloc(m * sizeof *nb);
		const float *ow = w->data, *ob = b ? b->data : NULL;
		for (int64_t k = 0; k < m; k++) {
			double s = (double)gamma[k] / sqrt((double)var[k] + eps);
			for (int64_t j = 0; j < per; j++)
				nw[k * per + j] = (float)((double)ow[k * per + j] * s);
			nb[k] = (float)(((ob ? (double)ob[k] : 0.0) - (double)mean[k]) * s + (double)beta[k]);
		}
		int64_t wd[IR_MAX_RANK];
		int wr = w->rank;
		memcpy(wd, w->dims, sizeof wd);
		int tw = add_const(g, conv, "weight_bn", RN_F32, wr, wd, nw);
		int tb = add_const(g, conv, "bias_bn", RN_F32, 1, &m, nb);
		readers_node(&r, conv, -1);
		readers_node(&r, bn, -1);
		if (conv->n_in < 3) {
			conv->in = xrealloc(conv->in, 3 * sizeof *conv->in);
			conv->n_in = 3;
		}
		conv->in[1] = tw;
		conv->in[2] = tb;
		conv->out[0] = bn->out[0];
		g->tensors[bn->out[0]].producer = (int)(conv - g->nodes);
		readers_node(&r, conv, 1);
		bn->dead = 1;
		rc = relower(g, conv, d);
	}
	readers_free(&r);
	return rc;
}
