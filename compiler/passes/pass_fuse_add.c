/* fuse-add: Add(a, b) where a comes from a Conv read by nobody else becomes
 * that Conv with b as its residual: y = conv + bias + b, in one store. Of
 * two candidate Convs the later one is taken, so b exists when it runs. */
#include <string.h>

#include "ops.h"
#include "passes.h"
#include "readers.h"

static int same_shape(const Tensor *a, const Tensor *b)
{
	if (a->rank != b->rank || a->dtype != b->dtype)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

static int fusable_conv(Graph *g, const Readers *r, int t)
{
	Node *c = producer(g, t);
	return c && !strcmp(c->op_type, "Conv") && c->act == RN_ACT_NONE && c->residual < 0 &&
	       readers_of(r, t) == 1;
}

int pass_fuse_add(Graph *g, Diag *d)
{
	Readers r;
	readers_init(&r, g);
	int rc = 0;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *add = &g->nodes[i];
		if (add->dead || strcmp(add->op_type, "Add") || add->n_in != 2)
			continue;
		int a = add->in[0], b = add->in[1];
		if (a == b || !same_shape(&g->tensors[a], &g->tensors[b]) ||
		    !same_shape(&g->tensors[a], &g->tensors[add->out[0]]))
			continue;
		int fa = fusable_conv(g, &r, a), fb = fusable_conv(g, &r, b);
		if (!fa && !fb)
			continue;
		if (fa && fb && g->tensors[b].producer > g->tensors[a].producer) {
			int t = a;
			a = b;
			b = t;
		} else if (!fa) {
			int t = a;
			a = b;
			b = t;
		}
		Node *conv = producer(g, a);
		/* The residual must be computed before the conv runs. */
		if (g->tensors[b].producer > (int)(conv - g->nodes))
			continue;
		readers_node(&r, conv, -1);
		readers_node(&r, add, -1);
		conv->residual = b;
		conv->out[0] = add->out[0];
		g->tensors[add->out[0]].producer = (int)(conv - g->nodes);
		add->dead = 1;
		readers_node(&r, conv, 1);
		rc = relower(g, conv, d);
	}
	readers_free(&r);
	return rc;
}
