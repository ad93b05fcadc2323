#include "describe.h"

#include <string.h>

#include "info.h"
#include "lower.h"

/* "15 convolutions: 5 gemm, 7 winograd F(4x4,3x3); packed weights 1.41 MiB",
 * and with -v one line per convolution: its geometry and kernel. */
static void describe_kernels(Progress *pr, const Graph *g)
{
	const char *name[16];
	int count[16], n = 0, convs = 0;
	int64_t packed = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		for (int k = 0; !nd->dead && k < nd->n_steps; k++) {
			const Step *s = &nd->steps[k];
			if (!step_conv(s))
				continue;
			convs++;
			if (s->kernel == K_CONV2D_PACKED || s->kernel == K_QCONV_PACKED)
				packed += (int64_t)tensor_bytes(&g->tensors[s->in[1]]);
			const char *l = kernel_label(s);
			int j = 0;
			while (j < n && strcmp(name[j], l))
				j++;
			if (j == n && n < 16) {
				name[n] = l;
				count[n++] = 0;
			}
			if (j < 16)
				count[j]++;
		}
	}
	char list[512] = "", b[32];
	for (int j = 0; j < n; j++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d %s", j ? ", " : "", count[j], name[j]);
	progress_end(pr, "%d convolution%s%s%s; packed weights %s", convs, convs == 1 ? "" : "s", n ? ": " : "",
		     list, fmt_bytes(packed, b, sizeof b));
	if (!pr->verbose)
		return;
	int w = 8;
	for (int i = 0; i < g->n_nodes; i++) {
		int k = (int)strlen(g->nodes[i].name);
		w = !g->nodes[i].dead && k > w ? (k > 60 ? 60 : k) : w;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		for (int k = 0; !nd->dead && k < nd->n_steps; k++) {
			const Step *s = &nd->steps[k];
			const rn_conv2d_params *p = step_conv(s);
			if (!p)
				continue;
			char geom[96];
			snprintf(geom, sizeof geom, "%dx%d/%d %d->%d%s, %dx%d out", p->kh, p->kw, p->sh, p->c, p->m,
				 p->group > 1 ? " grouped" : "", p->oh, p->ow);
			progress_detail(pr, "%-*s  %-26s %s", w, nd->name, geom, kernel_label(s));
		}
	}
}

/* With -v, per pass: nodes before and after, and what it removed or
 * made share memory. */
static void describe_passes(Progress *pr, const PassResult *r)
{
	for (int i = 0; i < n_passes; i++) {
		if (!r[i].enabled) {
			progress_detail(pr, "%-9s disabled", r[i].name);
			continue;
		}
		char what[400] = "";
		size_t len = 0;
		for (int k = 0; k < r[i].n_removed && len + 1 < sizeof what; k++)
			len += (size_t)snprintf(what + len, sizeof what - len, "%s%d %s", k ? ", " : "removed ",
						r[i].removed_count[k], r[i].removed_op[k]);
		int shared = r[i].shared_after - r[i].shared_before;
		if (shared)
			snprintf(what + len, sizeof what - len, "%s%d tensor%s now share%s memory", len ? "; " : "", shared,
				 shared == 1 ? "" : "s", shared == 1 ? "s" : "");
		progress_detail(pr, "%-9s %4d -> %4d nodes  %s", r[i].name, r[i].nodes_before, r[i].nodes_after,
				what[0] ? what : "no change");
	}
}

void describe_phase(void *ctx, const Pipeline *p, PipelinePhase phase, int done)
{
	Progress *pr = ctx;
	char s1[64], s2[64], s3[64], s4[64];
	if (!done) {
		progress_begin(pr, pipeline_phase_names[phase]);
		return;
	}
	const Graph *g = p->g;
	switch (phase) {
	case PHASE_LOAD:
		progress_end(pr, "%s: %s, %d nodes", p->model, !strcmp(p->format, "yaml") ? "YAML ResNet" : "ONNX",
			     graph_live_nodes(g));
		break;
	case PHASE_LOWER:
		progress_end(pr, "%d nodes shaped and lowered; %s parameters", graph_live_nodes(g),
			     fmt_thousands(p->params_imported, s1, sizeof s1));
		break;
	case PHASE_PASSES:
		progress_end(pr, "%d -> %d nodes", p->nodes_before_passes, graph_live_nodes(g));
		describe_passes(pr, p->passes.pass);
		break;
	case PHASE_KERNELS:
		describe_kernels(pr, g);
		break;
	case PHASE_PLAN:
		progress_end(pr, "arena %s: activations %s (lower bound %s) + kernel scratch %s",
			     fmt_bytes(p->plan.arena_bytes, s1, sizeof s1), fmt_bytes(p->plan.scratch_offset, s2, sizeof s2),
			     fmt_bytes(p->plan.peak_live, s3, sizeof s3), fmt_bytes(p->plan.scratch_bytes, s4, sizeof s4));
		break;
	default:
		break;
	}
}
