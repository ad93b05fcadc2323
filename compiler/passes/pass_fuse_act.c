/* fuse-act: Conv or Gemm followed by Relu, Clip (constant bounds: ReLU6) or
 * LeakyRelu applies the activation in its own store. */
#include <string.h>

#include "lower.h"
#include "ops.h"
#include "passes.h"
#include "readers.h"

int pass_fuse_act(Graph *g, Diag *d)
{
	Readers r;
	readers_init(&r, g);
	int rc = 0;
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *act = &g->nodes[i];
		if (act->dead || act->n_steps != 1 || act->steps[0].kernel != K_UNARY)
			continue;
		const UnaryParams *u = &act->steps[0].p.unary;
		if (u->act != RN_ACT_RELU && u->act != RN_ACT_CLIP && u->act != RN_ACT_LEAKY_RELU)
			continue;
		int x = act->in[0];
		Node *p = producer(g, x);
		if (!p || (strcmp(p->op_type, "Conv") && strcmp(p->op_type, "Gemm")) || p->act != RN_ACT_NONE ||
		    readers_of(&r, x) != 1)
			continue;
		p->act = u->act;
		p->act_alpha = u->alpha;
		p->act_beta = u->beta;
		p->out[0] = act->out[0];
		g->tensors[act->out[0]].producer = (int)(p - g->nodes);
		readers_node(&r, act, -1);
		act->dead = 1;
		rc = relower(g, p, d);
	}
	readers_free(&r);
	return rc;
}
