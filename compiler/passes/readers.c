#include "readers.h"

#include <stdlib.h>
#include <string.h>

static void add(Readers *r, int t, int delta)
{
	if (t < 0)
		return;
	if (t >= r->n) {
		int n = r->n ? r->n : 64;
		while (n <= t)
			n *= 2;
		r->count = xrealloc(r->count, (size_t)n * sizeof *r->count);
		memset(r->count + r->n, 0, (size_t)(n - r->n) * sizeof *r->count);
		r->n = n;
	}
	r->count[t] += delta;
}

void readers_init(Readers *r, const Graph *g)
{
	r->n = g->n_tensors > 0 ? g->n_tensors : 1;
	r->count = xcalloc((size_t)r->n, sizeof *r->count);
	for (int t = 0; t < g->n_tensors; t++)
		r->count[t] = g->tensors[t].is_output;
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead)
			readers_node(r, &g->nodes[i], 1);
}

void readers_free(Readers *r)
{
	free(r->count);
	r->count = NULL;
	r->n = 0;
}

int readers_of(const Readers *r, int t)
{
	return t >= 0 && t < r->n ? r->count[t] : 0;
}

void readers_node(Readers *r, const Node *n, int delta)
{
	for (int j = 0; j < n->n_in; j++)
		add(r, n->in[j], delta);
	add(r, n->residual, delta);
}
