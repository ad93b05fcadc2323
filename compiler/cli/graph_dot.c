#include "graph_dot.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

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

/* ---- the output of `resnetc graph`: a file or standard output ---- */

/* graph --svg: DOT through Graphviz. */
static int find_in_path(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t k = end ? (size_t)(end - path) : strlen(path);
		snprintf(out, len, "%.*s/%s", (int)k, k ? path : ".", prog);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += k + (end != NULL);
	}
	return -1;
}

/* Runs `dot -Tsvg` with text on its input and its output on fd out_fd. */
static int render_svg(const char *text, size_t len, int out_fd, Diag *d)
{
	char dot[PATH_MAX];
	if (find_in_path("dot", dot, sizeof dot) != 0)
		return diag_set(d, "--svg needs Graphviz's dot program, which is not in PATH (Debian: apt-get install graphviz); "
				   "without --svg resnetc writes DOT text");
	int fds[2];
	if (pipe(fds) != 0)
		return diag_set(d, "cannot run dot: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return diag_set(d, "cannot run dot: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[0], 0);
		dup2(out_fd, 1);
		close(fds[0]);
		close(fds[1]);
		execl(dot, "dot", "-Tsvg", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fds[1], text + off, len - off);
		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	close(fds[1]);
	signal(SIGPIPE, old);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return diag_set(d, "dot -Tsvg failed (%s %d)", WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (off < len)
		return diag_set(d, "dot -Tsvg stopped reading its input");
	return 0;
}

int write_graph_file(const Graph *g, const PlanStats *st, const char *title, const char *out, int svg, Diag *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	write_graph_dot(m, g, st, title);
	fclose(m);
	int rc = 0;
	if (!out) {
		if (svg)
			rc = render_svg(text, len, 1, d);
		else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
			rc = diag_set(d, "cannot write to standard output: %s", strerror(errno));
		free(text);
		return rc;
	}
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", out);
	if (make_parents(out, d) != 0) {
		free(text);
		remove_made_parents();
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rc = diag_set(d, "cannot write %s: %s", out, strerror(errno));
		free(text);
		remove_made_parents();
		return rc;
	}
	track_temp(tmp);
	if (svg) {
		rc = render_svg(text, len, fd, d);
	} else {
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(fd, text + off, len - off);
			if (w <= 0 && errno != EINTR)
				break;
			if (w > 0)
				off += (size_t)w;
		}
		if (off < len)
			rc = diag_set(d, "cannot write %s: %s", out, strerror(errno));
	}
	free(text);
	if (close(fd) != 0 && !rc)
		rc = diag_set(d, "cannot write %s: %s", out, strerror(errno));
	if (!rc) {
		chmod(tmp, 0644);
		if (rename(tmp, out) != 0)
			rc = diag_set(d, "cannot write %s: %s", out, strerror(errno));
	}
	if (rc) {
		remove_tree(tmp);
		remove_made_parents();
	} else {
		track_temp(NULL);
		keep_made_parents();
	}
	return rc;
}
