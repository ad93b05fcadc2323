#include "graph_dot.h"

#include <inttypes.h>
#include <string.h>

#include "info.h"
#include "lower.h"

/* Text inside an HTML-like label. */
static void html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Text inside a "quoted" DOT string. */
static void quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* "1×64×56×56" */
static void dims(FILE *f, const Tensor *t)
{
	if (t->rank == 0)
		fputs("scalar", f);
	for (int k = 0; k < t->rank; k++)
		fprintf(f, "%s%" PRId64, k ? "×" : "", t->dims[k]);
}

static const char *fill_of(const Graph *g, const Node *n)
{
	if (!node_has_code(g, n))
		return "#ffffff";
	const Step *s = &n->steps[0];
	if (s->kernel == K_CONV2D)
		return "#fce5cd"; /* direct */
	if (s->kernel != K_CONV2D_PACKED)
		return "#eeeeee";
	switch (s->algo) {
	case RN_CONV_GEMM: return "#d9ead3";
	case RN_CONV_WINOGRAD: return "#cfe2f3";
	case RN_CONV_WINOGRAD_F2: return "#c9daf8";
	case RN_CONV_DEPTHWISE: return "#ead1dc";
	case RN_CONV_BLAS: return "#fff2cc";
	default: return "#fce5cd";
	}
}

static void node_box(FILE *f, const Graph *g, int i)
{
	const Node *n = &g->nodes[i];
	char buf[160];
	int code = node_has_code(g, n);
	fprintf(f, "  n%d [label=<<b>", i);
	html(f, n->name);
	fputs("</b><br/>", f);
	html(f, node_fused_op(n, buf, sizeof buf));
	const Step *s = n->n_steps ? &n->steps[0] : NULL;
	if (s && (s->kernel == K_CONV2D || s->kernel == K_CONV2D_PACKED)) {
		const rn_conv2d_params *p = &s->p.conv;
		fprintf(f, " %d×%d", p->kh, p->kw);
		if (p->sh != 1 || p->sw != 1)
			fprintf(f, "/%d", p->sh);
		fprintf(f, ", %d→%d", p->c, p->m);
		if (p->group != 1)
			fprintf(f, ", %d groups", p->group);
	}
	fputs("<br/><i>", f);
	html(f, node_kernel(g, n));
	fputs("</i><br/>", f);
	dims(f, &g->tensors[n->out[0]]);
	int64_t macs = node_macs(g, n);
	if (macs)
		fprintf(f, " · %s MACs", fmt_count((double)macs, buf, sizeof buf));
	fprintf(f, ">, fillcolor=\"%s\"%s, tooltip=", fill_of(g, n), code ? "" : ", style=\"rounded,dashed\"");
	char tip[400], p1[32], p2[32];
	snprintf(tip, sizeof tip, "%s (%s)\nparams %s, weights %s", n->name, n->op_type,
		 fmt_thousands(node_params(g, n), p1, sizeof p1), fmt_bytes(node_weight_bytes(g, n), p2, sizeof p2));
	quoted(f, tip);
	fputs("];\n", f);
}

static void io_node(FILE *f, const Graph *g, const char *id, int t)
{
	const Tensor *x = &g->tensors[t];
	fprintf(f, "  %s [shape=ellipse, style=filled, fillcolor=\"#ffffff\", label=<<b>", id);
	html(f, x->name);
	fprintf(f, "</b><br/>%s ", rn_dtype_name(x->dtype));
	dims(f, x);
	fputs(">];\n", f);
}

/* The DOT id of what produces tensor t: a live node, a graph input, or
 * nothing drawn (a constant). */
static int source_of(const Graph *g, int t, char *id, size_t len)
{
	for (int i = 0; i < g->n_inputs; i++)
		if (g->inputs[i] == t) {
			snprintf(id, len, "in%d", i);
			return 1;
		}
	int p = g->tensors[t].producer;
	if (g->tensors[t].kind != T_ACT || p < 0 || g->nodes[p].dead)
		return 0;
	snprintf(id, len, "n%d", p);
	return 1;
}

void write_graph_dot(FILE *f, const Graph *g, const PlanStats *st, const char *title)
{
	char a[64], b[64], c[64];
	fputs("digraph resnetc {\n", f);
	fputs("  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, nodesep=0.25, ranksep=0.3, label=", f);
	char head[512];
	snprintf(head, sizeof head, "%s: %d nodes, %s MACs, weights %s, arena %s", title, graph_live_nodes(g),
		 fmt_count((double)graph_macs(g), a, sizeof a), fmt_bytes(graph_weight_bytes(g), b, sizeof b),
		 fmt_bytes(st->arena_bytes, c, sizeof c));
	quoted(f, head);
	fputs("];\n", f);
	fputs("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, margin=\"0.12,0.04\"];\n", f);
	fputs("  edge [color=\"#555555\", arrowsize=0.6, fontname=\"Helvetica\", fontsize=9];\n", f);
	for (int i = 0; i < g->n_inputs; i++) {
		snprintf(a, sizeof a, "in%d", i);
		io_node(f, g, a, g->inputs[i]);
	}
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead)
			node_box(f, g, i);
	for (int i = 0; i < g->n_outputs; i++) {
		snprintf(a, sizeof a, "out%d", i);
		io_node(f, g, a, g->outputs[i]);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int j = 0; j < n->n_in; j++) {
			int t = n->in[j], dup = 0;
			for (int k = 0; k < j; k++)
				dup |= n->in[k] == t;
			if (t < 0 || dup || !source_of(g, t, a, sizeof a))
				continue;
			fprintf(f, "  %s -> n%d;\n", a, i);
		}
		if (n->residual >= 0 && source_of(g, n->residual, a, sizeof a))
			fprintf(f, "  %s -> n%d [style=dashed, label=\" +\"];\n", a, i);
	}
	for (int i = 0; i < g->n_outputs; i++) {
		if (source_of(g, g->outputs[i], a, sizeof a))
			fprintf(f, "  %s -> out%d;\n", a, i);
	}
	fputs("}\n", f);
}
