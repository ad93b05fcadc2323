/* inplace: a Conv with a fused residual may store its result over the
 * residual when nothing reads the residual afterwards; the kernel reads each
 * residual element before writing it. Saves one activation buffer per
 * residual block. */
#include <stdlib.h>

#include "passes.h"

/* Tensor roots as they change while the pass makes outputs share storage:
 * parent[] a union-find forest over the views' and this pass's aliases, so
 * find() is tensor_root() without walking long chains of views again.
 * last[root] is the last live node reading storage `root` (an input or the
 * residual), out[root] whether a graph output uses it. */
typedef struct {
	int *parent, *last;
	char *out;
} Roots;

static int find(Roots *s, int t)
{
	int r = t;
	while (s->parent[r] != r)
		r = s->parent[r];
	while (s->parent[t] != r) {
		int next = s->parent[t];
		s->parent[t] = r;
		t = next;
	}
	return r;
}

static void note_read(Roots *s, int t, int node)
{
	if (t >= 0) {
		int r = find(s, t);
		if (node > s->last[r])
			s->last[r] = node;
	}
}

int pass_inplace(Graph *g, Diag *d)
{
	(void)d;
	int nt = g->n_tensors > 0 ? g->n_tensors : 1;
	Roots s = {xmalloc(nt * sizeof *s.parent), xmalloc(nt * sizeof *s.last), xcalloc(nt, 1)};
	for (int t = 0; t < g->n_tensors; t++) {
		s.parent[t] = g->tensors[t].alias >= 0 ? g->tensors[t].alias : t;
		s.last[t] = -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int j = 0; j < n->n_in; j++)
			note_read(&s, n->in[j], i);
		note_read(&s, n->residual, i);
	}
	for (int k = 0; k < g->n_outputs; k++)
		s.out[find(&s, g->outputs[k])] = 1;

	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead || n->residual < 0)
			continue;
		int r = find(&s, n->residual);
		Tensor *y = &g->tensors[n->out[0]];
		const Tensor *rt = &g->tensors[r];
		if (rt->kind != T_ACT || rt->is_output || y->is_output || y->alias >= 0 ||
		    tensor_bytes(rt) != tensor_bytes(y) || find(&s, n->in[0]) == r)
			continue;
		/* read by a later node, or a graph output's storage */
		if (s.last[r] > i || s.out[r])
			continue;
		/* y (a root: no alias) and whatever views it now use r */
		int yt = n->out[0];
		y->alias = r;
		s.parent[yt] = r;
		if (s.last[yt] > s.last[r])
			s.last[r] = s.last[yt];
		s.out[r] |= s.out[yt];
	}
	free(s.parent);
	free(s.last);
	free(s.out);
	return 0;
}
