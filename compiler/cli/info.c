#include "info.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "passes.h"
#include "rt_code_sizes.h"
#include "runtime_files.h"

int64_t node_macs(const Graph *g, const Node *n)
{
	int64_t macs = 0;
	for (int k = 0; k < n->n_steps; k++) {
		const Step *s = &n->steps[k];
		const rn_conv2d_params *p = step_conv(s);
		if (p) {
			macs += (int64_t)p->n * p->m * p->oh * p->ow * (p->c / p->group) * p->kh * p->kw;
		} else if (s->kernel == K_GEMM) {
			macs += s->p.gemm.m * s->p.gemm.n * s->p.gemm.k;
		} else if (s->kernel == K_MATMUL || s->kernel == K_QLINEAR_MATMUL || s->kernel == K_QGEMM) {
			const rn_matmul_params *mm = s->kernel == K_MATMUL ? &s->p.matmul : &s->p.qmatmul.mm;
			int64_t b = 1;
			for (int i = 0; i < mm->batch_rank; i++)
				b *= mm->batch[i];
			macs += b * mm->m * mm->n * mm->k;
		}
	}
	(void)g;
	return macs;
}

/* Parameters: float weights, and a quantized model's int8 weights and
 * int32 biases (integer shape operands are not parameters). */
static int is_param_type(int dtype)
{
	return dtype == RN_F32 || dtype == RN_F64 || dtype == RN_F16 || dtype == RN_BF16 || dtype == RN_I8 ||
	       dtype == RN_U8 || dtype == RN_I32;
}

int64_t node_params(const Graph *g, const Node *n)
{
	int64_t p = 0;
	for (int i = 0; i < n->n_in; i++) {
		const Tensor *t = n->in[i] >= 0 ? &g->tensors[n->in[i]] : NULL;
		if (t && t->kind == T_CONST && is_param_type(t->dtype))
			p += tensor_numel(t);
	}
	return p;
}

int64_t node_weight_bytes(const Graph *g, const Node *n)
{
	int64_t b = 0;
	int seen[10], n_seen = 0;
	for (int k = 0; k < n->n_steps; k++)
		for (int j = 0; j < STEP_MAX_IN; j++) {
			int t = n->steps[k].in[j];
			if (t < 0 || g->tensors[tensor_root(g, t)].kind != T_CONST)
				continue;
			t = tensor_root(g, t);
			int dup = 0;
			for (int i = 0; i < n_seen; i++)
				dup |= seen[i] == t;
			if (dup)
				continue;
			if (n_seen < 10)
				seen[n_seen++] = t;
			b += (int64_t)tensor_bytes(&g->tensors[t]);
		}
	return b;
}

int node_has_code(const Graph *g, const Node *n)
{
	if (n->dead)
		return 0;
	for (int k = 0; k < n->n_steps; k++)
		if (!step_is_noop(g, &n->steps[k]))
			return 1;
	return 0;
}

const char *node_fused_op(const Node *n, char *buf, size_t len)
{
	const char *act = n->act >= 0 ? act_op_name(n->act) : "";
	snprintf(buf, len, "%s%s%s%s", n->op_type, n->residual >= 0 ? "+Add" : "", *act ? "+" : "", act);
	return buf;
}

const char *node_kernel(const Graph *g, const Node *n)
{
	if (!n->n_steps)
		return "-";
	if (!node_has_code(g, n))
		return "view (no code)";
	return kernel_label(&n->steps[0]);
}

const char *fmt_count(double v, char *buf, size_t len)
{
	static const char unit[] = " KMGTP";
	int u = 0;
	while (v >= 999.5 && u < 5) {
		v /= 1000;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 9.995 ? "%.2f%c" : v < 99.95 ? "%.1f%c" : "%.0f%c", v, unit[u]);
	return buf;
}

const char *fmt_bytes(int64_t b, char *buf, size_t len)
{
	if (b < 1024)
		snprintf(buf, len, "%" PRId64 " B", b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else if (b < (int64_t)1 << 30)
		snprintf(buf, len, "%.2f MiB", b / 1048576.0);
	else
		snprintf(buf, len, "%.2f GiB", b / 1073741824.0);
	return buf;
}

const char *fmt_thousands(int64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64, v < 0 ? -v : v);
	size_t k = 0;
	if (v < 0 && k + 1 < len)
		buf[k++] = '-';
	for (int i = 0; i < n && k + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = 0;
	return buf;
}

int graph_live_nodes(const Graph *g)
{
	int k = 0;
	for (int i = 0; i < g->n_nodes; i++)
		k += !g->nodes[i].dead;
	return k;
}

int64_t graph_params(const Graph *g)
{
	int64_t p = 0;
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead)
			p += node_params(g, &g->nodes[i]);
	return p;
}

int64_t graph_macs(const Graph *g)
{
	int64_t m = 0;
	for (int i = 0; i < g->n_nodes; i++)
		if (!g->nodes[i].dead)
			m += node_macs(g, &g->nodes[i]);
	return m;
}

/* Constants the code reads, each once (folded-away ones are not emitted). */
int64_t graph_weight_bytes(const Graph *g)
{
	char *used = xcalloc(g->n_tensors ? g->n_tensors : 1, 1);
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_steps; k++)
			for (int j = 0; j < STEP_MAX_IN; j++) {
				int t = g->nodes[i].steps[k].in[j];
				if (t >= 0 && g->tensors[tensor_root(g, t)].kind == T_CONST)
					used[tensor_root(g, t)] = 1;
			}
	int64_t b = 0;
	for (int i = 0; i < g->n_tensors; i++)
		if (used[i])
			b += (int64_t)tensor_bytes(&g->tensors[i]);
	free(used);
	return b;
}

/* ---- the table ---- */

/* At most w characters of s; a longer name keeps its end, which is where
 * ONNX exporters put what tells layers apart ("/layer3/layer3.1/conv2/Conv"). */
static const char *fit(const char *s, int w, char *buf, size_t len)
{
	int n = (int)strlen(s);
	if (n <= w)
		return s;
	snprintf(buf, len, "...%s", s + n - (w - 3));
	return buf;
}

typedef struct {
	const char *name[32];
	int count[32];
	int n;
} KernelCounts;

static void count_kernels(const Graph *g, KernelCounts *kc)
{
	kc->n = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead || !n->n_steps)
			continue;
		const char *k = node_kernel(g, n);
		int j = 0;
		while (j < kc->n && strcmp(kc->name[j], k))
			j++;
		if (j == kc->n) {
			if (kc->n == 32)
				continue;
			kc->name[kc->n] = k;
			kc->count[kc->n++] = 0;
		}
		kc->count[j]++;
	}
	/* most used first; ties keep first-seen order */
	for (int a = 1; a < kc->n; a++)
		for (int b = a; b > 0 && kc->count[b] > kc->count[b - 1]; b--) {
			const char *tn = kc->name[b];
			int tc = kc->count[b];
			kc->name[b] = kc->name[b - 1];
			kc->count[b] = kc->count[b - 1];
			kc->name[b - 1] = tn;
			kc->count[b - 1] = tc;
		}
}

static int io_width(const Graph *g)
{
	int w = 4;
	for (int i = 0; i < g->n_inputs + g->n_outputs; i++) {
		int t = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
		int k = (int)strlen(g->tensors[t].name);
		w = k > w ? k : w;
	}
	return w;
}

static void io_lines(FILE *f, const Graph *g, const char *label, const int *ts, int n)
{
	int w = io_width(g);
	for (int i = 0; i < n; i++) {
		const Tensor *t = &g->tensors[ts[i]];
		char s[96];
		fprintf(f, "%-12s%-*s  %-8s %s\n", i ? "" : label, w, t->name, rn_dtype_name(t->dtype),
			shape_str(t, s, sizeof s));
	}
}

/* The model's own code (NAME.c): about this much per step that runs code,
 * and a base (measured on ResNet-18 and -50 at -O2, x86-64: 136 and 142
 * bytes a step). */
enum { CODE_PER_STEP = 150, CODE_BASE = 2048 };

static int64_t rt_file_bytes(const char *file)
{
	for (size_t i = 0; i < sizeof rt_code_sizes / sizeof rt_code_sizes[0]; i++)
		if (!strcmp(rt_code_sizes[i].file, file))
			return rt_code_sizes[i].bytes;
	return 0;
}

int64_t predicted_binary_bytes(const Graph *g, int threads, int64_t *code)
{
	RuntimeFiles r;
	runtime_files(g, threads < 1 ? 1 : threads, &r);
	int64_t c = CODE_BASE;
	for (int i = 0; i < r.n_files; i++)
		c += rt_file_bytes(r.files[i]);
	for (size_t i = 0; i < sizeof rt_code_sizes / sizeof rt_code_sizes[0]; i++)
		if (!strncmp(rt_code_sizes[i].file, "driver/", 7))
			c += rt_code_sizes[i].bytes;
	for (int i = 0; i < g->n_nodes; i++)
		if (node_has_code(g, &g->nodes[i]))
			c += CODE_PER_STEP;
	if (code)
		*code = c;
	return graph_weight_bytes(g) + c;
}

void print_info(FILE *f, const Graph *g, const PlanStats *st, const InfoContext *c)
{
	enum { MAXNAME = 48 };
	int wname = 4, wop = 2, wshape = 6, wnum = 3;
	char s1[96], s2[96], s3[96], s4[96], s5[96];
	int n_rows = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		n_rows++;
		int a = (int)strlen(n->name), b = (int)strlen(node_fused_op(n, s1, sizeof s1));
		int sh = (int)strlen(shape_str(&g->tensors[n->out[0]], s2, sizeof s2));
		wname = a > wname ? (a > MAXNAME ? MAXNAME : a) : wname;
		wop = b > wop ? b : wop;
		wshape = sh > wshape ? sh : wshape;
	}
	int wid = snprintf(s1, sizeof s1, "%d", n_rows);
	/* int8 graphs: each output's scale and zero point, and with
	 * calibration samples its SQNR against the float model */
	int quant = 0, worst = -1;
	for (int i = 0; i < g->n_nodes; i++) {
		int t = g->nodes[i].out[0];
		if (g->nodes[i].dead)
			continue;
		quant |= g->tensors[t].qscale > 0;
		if (c && c->sqnr && !isnan(c->sqnr[t]) && (worst < 0 || c->sqnr[t] < c->sqnr[worst]))
			worst = t;
	}
	int sq = quant && c && c->sqnr;
	fprintf(f, "%*s  %-*s  %-*s  %-*s  %7s  %7s  %9s  ", wid, "#", wname, "node", wop, "op", wshape,
		"output", "params", "MACs", "weights");
	if (quant)
		fprintf(f, "%10s  %4s  ", "out scale", "zp");
	if (sq)
		fprintf(f, "%7s  ", "SQNR dB");
	fprintf(f, "kernel\n");
	int row = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		const Tensor *y = &g->tensors[n->out[0]];
		fprintf(f, "%*d  %-*s  %-*s  %-*s  %7s  %7s  %9s  ", wid, ++row, wname,
			fit(n->name, wname, s5, sizeof s5), wop, node_fused_op(n, s1, sizeof s1), wshape,
			shape_str(y, s2, sizeof s2), fmt_count((double)node_params(g, n), s3, sizeof s3),
			fmt_count((double)node_macs(g, n), s4, sizeof s4),
			fmt_bytes(node_weight_bytes(g, n), (char[32]){0}, 32));
		if (quant && y->qscale > 0)
			fprintf(f, "%10.4g  %4d  ", (double)y->qscale, y->qzp);
		else if (quant)
			fprintf(f, "%10s  %4s  ", "", "");
		if (sq && !isnan(c->sqnr[n->out[0]]))
			fprintf(f, "%7.1f  ", fmin(c->sqnr[n->out[0]], 999.9));
		else if (sq)
			fprintf(f, "%7s  ", "");
		fprintf(f, "%s\n", node_kernel(g, n));
	}
	(void)wnum;
	int64_t params = graph_params(g), macs = graph_macs(g), wbytes = graph_weight_bytes(g);
	snprintf(s5, sizeof s5, "total, %d nodes", n_rows);
	fprintf(f, "%*s  %-*s  %7s  %7s  %9s\n", wid, "", wname + wop + wshape + 4, s5,
		fmt_count((double)params, s3, sizeof s3), fmt_count((double)macs, s4, sizeof s4),
		fmt_bytes(wbytes, s1, sizeof s1));

	fprintf(f, "\n");
	if (c && c->model)
		fprintf(f, "%-12s%s (%s, opset %d)\n", "model", c->model,
			c->format && !strcmp(c->format, "yaml") ? "YAML ResNet description" : "ONNX", g->opset);
	io_lines(f, g, g->n_inputs > 1 ? "inputs" : "input", g->inputs, g->n_inputs);
	io_lines(f, g, g->n_outputs > 1 ? "outputs" : "output", g->outputs, g->n_outputs);
	fprintf(f, "%-12s%s", "parameters", fmt_thousands(params, s1, sizeof s1));
	if (c && c->params_imported != params)
		fprintf(f, " after the passes (%s in the imported graph, BatchNorm statistics included)",
			fmt_thousands(c->params_imported, s1, sizeof s1));
	fprintf(f, "\n%-12s%s per run (%s multiply-adds, %.3f GFLOP)\n", "MACs", fmt_count((double)macs, s1, sizeof s1),
		fmt_thousands(macs, s2, sizeof s2), 2.0 * (double)macs / 1e9);
	fprintf(f, "%-12s%s in the output, packed for each layer's kernel\n", "weights",
		fmt_bytes(wbytes, s1, sizeof s1));
	int64_t code = 0, binary = predicted_binary_bytes(g, c ? c->threads : 1, &code);
	fprintf(f, "%-12sabout %s: the weights + about %s of code (the runtime files it calls, as this\n"
		   "%-12sresnetc's build compiled them; the target's flags move it by some KiB)\n",
		"binary", fmt_bytes(binary, s1, sizeof s1), fmt_bytes(code, s2, sizeof s2), "");
	fprintf(f, "%-12s%s (%s bytes) = activations %s + kernel scratch %s\n", "arena",
		fmt_bytes(st->arena_bytes, s1, sizeof s1), fmt_thousands(st->arena_bytes, s2, sizeof s2),
		fmt_bytes(st->scratch_offset, s3, sizeof s3), fmt_bytes(st->scratch_bytes, s4, sizeof s4));
	fprintf(f, "%-12sactivations' lower bound %s (the most live at one step); %s if none shared memory\n", "",
		fmt_bytes(st->peak_live, s1, sizeof s1), fmt_bytes(st->sum_bytes, s2, sizeof s2));
	if (sq && worst >= 0) {
		const char *who = g->tensors[worst].producer >= 0 ? g->nodes[g->tensors[worst].producer].name : "";
		fprintf(f, "%-12seach int8 layer's output against the float model's, on up to %d calibration samples; "
			   "lowest %.1f dB (%s)\n", "SQNR", c->sqnr_samples, fmin(c->sqnr[worst], 999.9), who);
	}
	KernelCounts kc;
	count_kernels(g, &kc);
	fprintf(f, "%-12s", "kernels");
	for (int k = 0; k < kc.n; k++)
		fprintf(f, "%s%d %s", k ? ", " : "", kc.count[k], kc.name[k]);
	fprintf(f, "\n");
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_shape(FILE *f, const Tensor *t)
{
	fputc('[', f);
	for (int k = 0; k < t->rank; k++)
		fprintf(f, "%s%" PRId64, k ? ", " : "", t->dims[k]);
	fputc(']', f);
}

static void json_io(FILE *f, const Graph *g, const int *ts, int n)
{
	fputc('[', f);
	for (int i = 0; i < n; i++) {
		const Tensor *t = &g->tensors[ts[i]];
		fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
		json_str(f, t->name);
		fprintf(f, ", \"dtype\": \"%s\", \"shape\": ", rn_dtype_name(t->dtype));
		json_shape(f, t);
		fputc('}', f);
	}
	fprintf(f, "%s]", n ? "\n  " : "");
}

void print_info_json(FILE *f, const Graph *g, const PlanStats *st, const InfoContext *c)
{
	char buf[96];
	int64_t params = graph_params(g), macs = graph_macs(g);
	fprintf(f, "{\n  \"resnetc_info\": 1,\n  \"model\": ");
	json_str(f, c && c->model ? c->model : "");
	fprintf(f, ",\n  \"format\": ");
	json_str(f, c && c->format ? c->format : "");
	fprintf(f, ",\n  \"opset\": %d,\n  \"inputs\": ", g->opset);
	json_io(f, g, g->inputs, g->n_inputs);
	fprintf(f, ",\n  \"outputs\": ");
	json_io(f, g, g->outputs, g->n_outputs);
	fprintf(f, ",\n  \"nodes\": [");
	int row = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		fprintf(f, "%s\n    {\"name\": ", row++ ? "," : "");
		json_str(f, n->name);
		fprintf(f, ", \"op\": ");
		json_str(f, n->op_type);
		fprintf(f, ", \"fused\": ");
		json_str(f, node_fused_op(n, buf, sizeof buf));
		fprintf(f, ", \"shape\": ");
		json_shape(f, &g->tensors[n->out[0]]);
		fprintf(f, ", \"params\": %" PRId64 ", \"macs\": %" PRId64 ", \"weight_bytes\": %" PRId64
			", \"kernel\": ", node_params(g, n), node_macs(g, n), node_weight_bytes(g, n));
		json_str(f, node_kernel(g, n));
		fprintf(f, ", \"code\": %s", node_has_code(g, n) ? "true" : "false");
		const Tensor *y = &g->tensors[n->out[0]];
		if (y->qscale > 0)
			fprintf(f, ", \"out_scale\": %.9g, \"out_zero_point\": %d", (double)y->qscale, y->qzp);
		else
			fprintf(f, ", \"out_scale\": null, \"out_zero_point\": null");
		if (c && c->sqnr && !isnan(c->sqnr[n->out[0]]))
			fprintf(f, ", \"sqnr_db\": %.2f}", fmin(c->sqnr[n->out[0]], 999.9));
		else
			fprintf(f, ", \"sqnr_db\": null}");
	}
	fprintf(f, "%s],\n", row ? "\n  " : "");
	fprintf(f, "  \"totals\": {\"nodes\": %d, \"params\": %" PRId64 ", \"params_imported\": %" PRId64
		", \"macs\": %" PRId64 ", \"flops\": %" PRId64 ", \"weight_bytes\": %" PRId64
		", \"binary_bytes\": %" PRId64 "},\n",
		row, params, c ? c->params_imported : params, macs, 2 * macs, graph_weight_bytes(g),
		predicted_binary_bytes(g, c ? c->threads : 1, NULL));
	fprintf(f, "  \"memory\": {\"arena_bytes\": %" PRId64 ", \"activation_bytes\": %" PRId64
		", \"scratch_bytes\": %" PRId64 ", \"lower_bound_bytes\": %" PRId64
		", \"unshared_bytes\": %" PRId64 "},\n",
		st->arena_bytes, st->scratch_offset, st->scratch_bytes, st->peak_live, st->sum_bytes);
	KernelCounts kc;
	count_kernels(g, &kc);
	fprintf(f, "  \"kernels\": {");
	for (int k = 0; k < kc.n; k++) {
		fprintf(f, "%s", k ? ", " : "");
		json_str(f, kc.name[k]);
		fprintf(f, ": %d", kc.count[k]);
	}
	fprintf(f, "},\n  \"passes\": [");
	for (int i = 0; c && c->passes && i < n_passes; i++) {
		const PassResult *r = &c->passes[i];
		fprintf(f, "%s\n    {\"name\": \"%s\", \"enabled\": %s, \"nodes_before\": %d, \"nodes_after\": %d, "
			"\"shared_tensors_added\": %d, \"removed\": ", i ? "," : "", r->name, r->enabled ? "true" : "false",
			r->nodes_before, r->nodes_after, r->shared_after - r->shared_before);
		fputc('{', f);
		for (int k = 0; k < r->n_removed; k++) {
			fprintf(f, "%s", k ? ", " : "");
			json_str(f, r->removed_op[k]);
			fprintf(f, ": %d", r->removed_count[k]);
		}
		fprintf(f, "}}");
	}
	fprintf(f, "%s]\n}\n", c && c->passes ? "\n  " : "");
}
