#include "info.h"

#include <stdlib.h>
#include <string.h>

#include "lower.h"

int64_t node_macs(const Graph *g, const Node *n)
{
	int64_t macs = 0;
	for (int k = 0; k < n->n_steps; k++) {
		const Step *s = &n->steps[k];
		if (s->kernel == K_CONV2D || s->kernel == K_CONV2D_PACKED) {
			const rn_conv2d_params *p = &s->p.conv;
			macs += (int64_t)p->n * p->m * p->oh * p->ow * (p->c / p->group) * p->kh * p->kw;
		} else if (s->kernel == K_GEMM) {
			macs += s->p.gemm.m * s->p.gemm.n * s->p.gemm.k;
		} else if (s->kernel == K_MATMUL) {
			int64_t b = 1;
			for (int i = 0; i < s->p.matmul.batch_rank; i++)
				b *= s->p.matmul.batch[i];
			macs += b * s->p.matmul.m * s->p.matmul.n * s->p.matmul.k;
		}
	}
	(void)g;
	return macs;
}

int64_t node_params(const Graph *g, const Node *n)
{
	int64_t p = 0;
	for (int i = 0; i < n->n_in; i++)
		if (n->in[i] >= 0 && g->tensors[n->in[i]].kind == T_CONST)
			p += tensor_numel(&g->tensors[n->in[i]]);
	return p;
}

static const char *human(double v, char *buf, size_t len)
{
	const char *unit[] = {"", "K", "M", "G", "T"};
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.2f%s" : "%.0f%s", v, unit[u]);
	return buf;
}

static const char *mib(int64_t b, char *buf, size_t len)
{
	snprintf(buf, len, "%.2f MiB", b / 1048576.0);
	return buf;
}

void print_info(FILE *f, const Graph *g, const PlanStats *st)
{
	int wname = 4, wop = 2;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		int a = (int)strlen(n->name), b = (int)strlen(n->op_type);
		wname = a > wname ? (a > 40 ? 40 : a) : wname;
		wop = b > wop ? b : wop;
	}
	char s1[96], s2[32], s3[32];
	fprintf(f, "%-*s  %-*s  %-20s %10s %10s  %s\n", wname, "node", wop, "op", "output", "params", "MACs", "kernel");
	int64_t tp = 0, tm = 0, wbytes = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		int64_t p = node_params(g, n), m = node_macs(g, n);
		tp += p;
		tm += m;
		const char *kern = n->n_steps ? kernel_label(&n->steps[0]) : "-";
		if (n->n_steps && step_is_noop(g, &n->steps[0]))
			kern = "view (no code)";
		fprintf(f, "%-*.*s  %-*s  %-20s %10s %10s  %s\n", wname, wname, n->name, wop, n->op_type,
			shape_str(&g->tensors[n->out[0]], s1, sizeof s1), human((double)p, s2, sizeof s2),
			human((double)m, s3, sizeof s3), kern);
	}
	/* Constants the code reads (folded-away ones are not emitted). */
	char *used = xcalloc(g->n_tensors, 1);
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_steps; k++)
			for (int j = 0; j < 5; j++) {
				int t = g->nodes[i].steps[k].in[j];
				if (t >= 0 && g->tensors[tensor_root(g, t)].kind == T_CONST)
					used[tensor_root(g, t)] = 1;
			}
	for (int i = 0; i < g->n_tensors; i++)
		if (used[i])
			wbytes += (int64_t)tensor_bytes(&g->tensors[i]);
	free(used);
	fprintf(f, "\ntotal: %s parameters, %s MACs (%.3f GFLOP)\n", human((double)tp, s2, sizeof s2),
		human((double)tm, s3, sizeof s3), 2.0 * tm / 1e9);
	fprintf(f, "inputs:");
	for (int i = 0; i < g->n_inputs; i++)
		fprintf(f, " %s %s %s", g->tensors[g->inputs[i]].name, rn_dtype_name(g->tensors[g->inputs[i]].dtype),
			shape_str(&g->tensors[g->inputs[i]], s1, sizeof s1));
	fprintf(f, "\noutputs:");
	for (int i = 0; i < g->n_outputs; i++)
		fprintf(f, " %s %s %s", g->tensors[g->outputs[i]].name, rn_dtype_name(g->tensors[g->outputs[i]].dtype),
			shape_str(&g->tensors[g->outputs[i]], s1, sizeof s1));
	fprintf(f, "\nmemory: arena %s = activations %s (sum of intermediates %s, lower bound %s) + kernel scratch %s\n",
		mib(st->arena_bytes, s1, sizeof s1), mib(st->scratch_offset, (char[32]){0}, 32),
		mib(st->sum_bytes, s2, sizeof s2), mib(st->peak_live, s3, sizeof s3), mib(st->scratch_bytes, (char[32]){0}, 32));
	fprintf(f, "weights: %s\n", mib(wbytes, s1, sizeof s1));
}
