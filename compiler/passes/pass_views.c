/* views: a node that only reinterprets its input (Identity, Dropout,
 * Flatten, Reshape, Squeeze, Unsqueeze, a no-op Cast) gets no code: its
 * output names the input's bytes. A graph output keeps its own buffer (the
 * caller's), and the node copies into it. */
#include "lower.h"
#include "passes.h"
#include "plan.h"

int pass_views(Graph *g, Diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead || n->n_steps != 1 || n->steps[0].kernel != K_VIEW)
			continue;
		Tensor *y = &g->tensors[n->steps[0].out[0]];
		/* the storage itself, not the view it reads: a chain of views
		 * stays one step from its storage for tensor_root() */
		if (!y->is_output)
			y->alias = tensor_root(g, n->steps[0].in[0]);
	}
	return 0;
}
