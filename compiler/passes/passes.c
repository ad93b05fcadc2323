#include "passes.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "info.h"
#include "lower.h"
#include "ops.h"

const Pass passes[] = {
	{"fold-bn", "fold BatchNormalization into the preceding Conv", pass_fold_bn},
	{"quantize", "--quantize int8: calibrate, then quantize activations and weights (QDQ)", pass_quantize},
	{"fuse-add", "fuse the residual Add into the Conv that produces one operand", pass_fuse_add},
	{"fuse-act", "fuse Relu/Clip/LeakyRelu into the preceding Conv or Gemm", pass_fuse_act},
	{"qdq", "run quantized (QDQ) Conv, Add, MaxPool, GlobalAveragePool, Gemm and views as int8 operators", pass_qdq},
	{"io-int8", "--io int8: quantized inputs and outputs passed as they are", pass_io_int8},
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

/* ---- the runner ---- */

_Static_assert(sizeof passes / sizeof passes[0] <= PASS_MAX, "PASS_MAX is too small for passes[]");

typedef struct {
	const char *op[64];
	int count[64];
	int n;
} OpCounts;

/* Live nodes per op, in first-seen order. */
static void count_ops(const Graph *g, OpCounts *c)
{
	c->n = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		if (nd->dead)
			continue;
		/* the op table's name: a pass may rename a node (qdq: Conv to
		 * QLinearConv) and free the string it had, which these counts
		 * outlive; the table's names never move */
		const char *op = nd->def ? nd->def->name : nd->op_type;
		int k = 0;
		while (k < c->n && strcmp(c->op[k], op))
			k++;
		if (k == c->n) {
			if (c->n == 64)
				continue;
			c->op[c->n] = op;
			c->count[c->n++] = 0;
		}
		c->count[k]++;
	}
}

static int count_of(const OpCounts *c, const char *op)
{
	for (int k = 0; k < c->n; k++)
		if (!strcmp(c->op[k], op))
			return c->count[k];
	return 0;
}

/* "imported    53 nodes: Conv 20, BatchNormalization 20, ..." */
static void histogram(FILE *f, const OpCounts *c, const char *label)
{
	int total = 0;
	for (int k = 0; k < c->n; k++)
		total += c->count[k];
	fprintf(f, "%-10s %4d nodes:", label, total);
	for (int k = 0; k < c->n; k++)
		fprintf(f, " %s %d%s", c->op[k], c->count[k], k + 1 < c->n ? "," : "");
	fprintf(f, "\n");
}

static int shared_tensors(const Graph *g)
{
	int k = 0;
	for (int i = 0; i < g->n_tensors; i++)
		k += g->tensors[i].alias >= 0;
	return k;
}

static double seconds_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int run_passes(Graph *g, const int *enabled, PassLog *log, Diag *d)
{
	FILE *hist = log ? log->histogram : NULL;
	OpCounts before, after;
	if (log)
		count_ops(g, &before);
	if (hist)
		histogram(hist, &before, "imported");
	for (int i = 0; i < n_passes; i++) {
		PassResult *r = log ? &log->pass[i] : NULL;
		if (r) {
			memset(r, 0, sizeof *r);
			r->name = passes[i].name;
			r->enabled = enabled[i];
			r->nodes_before = r->nodes_after = graph_live_nodes(g);
			r->shared_before = r->shared_after = shared_tensors(g);
		}
		if (!enabled[i]) {
			if (hist)
				fprintf(hist, "%-10s (disabled)\n", passes[i].name);
			continue;
		}
		double t0 = seconds_now();
		if (passes[i].run(g, d) != 0)
			return -1;
		if (!r)
			continue;
		r->seconds = seconds_now() - t0;
		r->nodes_after = graph_live_nodes(g);
		r->shared_after = shared_tensors(g);
		count_ops(g, &after);
		for (int k = 0; k < before.n && r->n_removed < 16; k++) {
			int gone = before.count[k] - count_of(&after, before.op[k]);
			if (gone > 0) {
				r->removed_op[r->n_removed] = before.op[k];
				r->removed_count[r->n_removed++] = gone;
			}
		}
		if (hist)
			histogram(hist, &after, passes[i].name);
		before = after;
	}
	return 0;
}
