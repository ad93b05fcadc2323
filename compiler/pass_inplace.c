/* inplace: a Conv with a fused residual may store its result over the
 * residual when nothing reads the residual afterwards; the kernel reads each
 * residual element before writing it. Saves one activation buffer per
 * residual block. */
#include "passes.h"
#include "plan.h"

static int reads_root(const Graph *g, const Node *n, int root)
{
	for (int j = 0; j < n->n_in; j++)
		if (n->in[j] >= 0 && tensor_root(g, n->in[j]) == root)
			return 1;
	return n->residual >= 0 && tensor_root(g, n->residual) == root;
}

int pass_inplace(Graph *g, Diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead || n->residual < 0)
			continue;
		int r = tensor_root(g, n->residual);
		Tensor *y = &g->tensors[n->out[0]];
		const Tensor *rt = &g->tensors[r];
		if (rt->kind != T_ACT || rt->is_output || y->is_output || y->alias >= 0 ||
		    tensor_bytes(rt) != tensor_bytes(y) || tensor_root(g, n->in[0]) == r)
			continue;
		int later = 0;
		for (int k = i + 1; k < g->n_nodes && !later; k++)
			later = !g->nodes[k].dead && reads_root(g, &g->nodes[k], r);
		for (int k = 0; k < g->n_outputs && !later; k++)
			later = tensor_root(g, g->outputs[k]) == r;
		if (!later)
			y->alias = r;
	}
	return 0;
}
