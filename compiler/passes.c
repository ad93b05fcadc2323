#include "passes.h"

#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "ops.h"

const Pass passes[] = {
	{"fold-bn", "fold BatchNormalization into the preceding Conv", pass_fold_bn},
	{"fuse-add", "fuse the residual Add into the Conv that produces one operand", pass_fuse_add},
	{"fuse-act", "fuse Relu/Clip/LeakyRelu into the preceding Conv or Gemm", pass_fuse_act},
	{"views", "Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze: no copy", pass_views},
	{"inplace", "a fused residual Add writes over its dying operand", pass_inplace},
};
const int n_passes = sizeof passes / sizeof passes[0];

int relower(Graph *g, Node *n, Diag *d)
{
	free(n->steps);
	n->steps = NULL;
	n->n_steps = 0;
	return n->def->lower(g, n, d);
}

int consumers(const Graph *g, int t)
{
	int k = g->tensors[t].is_output;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int j = 0; j < n->n_in; j++)
			k += n->in[j] == t;
		k += n->residual == t;
	}
	return k;
}

Node *producer(Graph *g, int t)
{
	int p = g->tensors[t].producer;
	if (p < 0 || g->nodes[p].dead)
		return NULL;
	return &g->nodes[p];
}

/* Op histogram of live nodes, as "Conv 20, Relu 17, ..." in first-seen order. */
static void histogram(FILE *f, const Graph *g, const char *label)
{
	const char *ops[64];
	int counts[64], n = 0, total = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		if (nd->dead)
			continue;
		total++;
		int k = 0;
		while (k < n && strcmp(ops[k], nd->op_type))
			k++;
		if (k == n && n < 64) {
			ops[n] = nd->op_type;
			counts[n++] = 0;
		}
		if (k < 64)
			counts[k]++;
	}
	fprintf(f, "%-10s %4d nodes:", label, total);
	for (int k = 0; k < n; k++)
		fprintf(f, " %s %d%s", ops[k], counts[k], k + 1 < n ? "," : "");
	fprintf(f, "\n");
}

int run_passes(Graph *g, const int *enabled, FILE *report, Diag *d)
{
	if (report)
		histogram(report, g, "imported");
	for (int i = 0; i < n_passes; i++) {
		if (!enabled[i]) {
			if (report)
				fprintf(report, "%-10s (disabled)\n", passes[i].name);
			continue;
		}
		if (passes[i].run(g, d) != 0)
			return -1;
		if (report)
			histogram(report, g, passes[i].name);
	}
	return 0;
}
