/* The C emitter: NAME.h (the API), NAME.c (one call per layer), main.c
 * (the driver); the weights (emit_weights.c) and the build
 * (emit_makefile.c) have files of their own. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "frontend.h"
#include "info.h"
#include "lower.h"

static const char *ctype(int dtype)
{
	switch (dtype) {
	case RN_F32: return "float";
	case RN_F64: return "double";
	case RN_I8: return "int8_t";
	case RN_U8: return "uint8_t";
	case RN_I16: return "int16_t";
	case RN_U16: case RN_F16: case RN_BF16: return "uint16_t";
	case RN_I32: return "int32_t";
	case RN_U32: return "uint32_t";
	case RN_I64: return "int64_t";
	case RN_U64: return "uint64_t";
	case RN_BOOL: return "uint8_t";
	default: return "void";
	}
}

static const char *tensor_ref(void *ctx, int t, int64_t off, char *buf, size_t len)
{
	Emitter *e = ctx;
	const Graph *g = e->g;
	if (t < 0) {
		snprintf(buf, len, "ARENA(%" PRId64 ")", e->scratch_offset + off);
		return buf;
	}
	int r = tensor_root(g, t);
	const Tensor *x = &g->tensors[r];
	if (e->out_index[r] >= 0 || e->in_index[r] >= 0) {
		int out = e->out_index[r] >= 0;
		int k = out ? e->out_index[r] : e->in_index[r];
		if (off)
			snprintf(buf, len, "OFFSET(%s[%d], %" PRId64 ")", out ? "out" : "in", k, off);
		else
			snprintf(buf, len, "%s[%d]", out ? "out" : "in", k);
	} else if (x->kind == T_CONST) {
		snprintf(buf, len, "WEIGHT(%d, %" PRId64 ")", e->wchunk[r], e->woff[r] + off);
	} else {
		snprintf(buf, len, "ARENA(%" PRId64 ")", x->offset + off);
	}
	return buf;
}

FILE *emit_open(const char *dir, const char *file, Diag *d)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (!f)
		diag_set(d, "cannot write %s: %s", path, strerror(errno));
	return f;
}

int emit_close(FILE *f, const char *file, Diag *d)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return diag_set(d, "error writing %s", file);
	return 0;
}

/* A name from the model as text inside a C comment: a star followed by a
 * slash would end the comment and let the model file write code into the
 * output, so a space goes between them (and between slash and star);
 * control characters become '?'. Long names are cut. */
const char *emit_comment(const char *s, char *buf, size_t len)
{
	size_t k = 0;
	for (; *s && k + 6 < len; s++) {
		unsigned char c = (unsigned char)*s;
		buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		if ((c == '*' && s[1] == '/') || (c == '/' && s[1] == '*'))
			buf[k++] = ' ';
	}
	if (*s) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = 0;
	return buf;
}

/* Parameter name for input/output idx: "in0_<name>" with the name made a
 * C identifier, so names can neither collide nor be keywords. */
static void io_name(char *buf, size_t len, const char *name, const char *prefix, int idx)
{
	size_t k = (size_t)snprintf(buf, len, "%s%d_", prefix, idx);
	for (const char *p = name; *p && k + 1 < len && k < 60; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
		buf[k++] = ok ? c : '_';
	}
	buf[k] = 0;
}

void emit_upper(char *dst, const char *src, size_t len)
{
	size_t k = 0;
	for (; src[k] && k + 1 < len; k++)
		dst[k] = (src[k] >= 'a' && src[k] <= 'z') ? (char)(src[k] - 32) : src[k];
	dst[k] = 0;
}

static void shape_comment(FILE *f, const Tensor *t)
{
	char s[128];
	fprintf(f, "%s %s", rn_dtype_name(t->dtype), shape_str(t, s, sizeof s));
}

/* A model's one input (or output), float or passed quantized (--io
 * int8): called plain "input" ("output") in the API. */
static int plain_io(const Graph *g, int outputs)
{
	int n = outputs ? g->n_outputs : g->n_inputs;
	const IoQuant *q = outputs ? g->out_q : g->in_q;
	const Tensor *t = n == 1 ? &g->tensors[outputs ? g->outputs[0] : g->inputs[0]] : NULL;
	return t && (t->dtype == RN_F32 || (q && q[0].quantized));
}

static void param_list(FILE *f, const Emitter *e)
{
	const Graph *g = e->g;
	char nm[128];
	for (int i = 0; i < g->n_inputs; i++) {
		const Tensor *t = &g->tensors[g->inputs[i]];
		io_name(nm, sizeof nm, t->name, "in", i);
		fprintf(f, "%sconst %s *%s", i ? ", " : "", ctype(t->dtype), plain_io(g, 0) ? "input" : nm);
	}
	for (int i = 0; i < g->n_outputs; i++) {
		const Tensor *t = &g->tensors[g->outputs[i]];
		io_name(nm, sizeof nm, t->name, "out", i);
		fprintf(f, "%s%s *%s", g->n_inputs || i ? ", " : "", ctype(t->dtype), plain_io(g, 1) ? "output" : nm);
	}
}

static void arg_names(FILE *f, const Emitter *e, int inputs)
{
	const Graph *g = e->g;
	char nm[128];
	int n = inputs ? g->n_inputs : g->n_outputs;
	for (int i = 0; i < n; i++) {
		const Tensor *t = &g->tensors[inputs ? g->inputs[i] : g->outputs[i]];
		io_name(nm, sizeof nm, t->name, inputs ? "in" : "out", i);
		int single = plain_io(g, !inputs);
		fprintf(f, "%s%s", i ? ", " : "", single ? (inputs ? "input" : "output") : nm);
	}
}

static int emit_header(Emitter *e, const PlanStats *st, const char *dir, Diag *d)
{
	const Graph *g = e->g;
	char file[300], up[256], cm[200];
	snprintf(file, sizeof file, "%s.h", e->name);
	emit_upper(up, e->name, sizeof up);
	FILE *f = emit_open(dir, file, d);
	if (!f)
		return -1;
	fprintf(f, "/* %s: generated by resnetc " RESNETC_VERSION ". Do not edit.\n *\n", e->name);
	fprintf(f, " * %s_run() computes the model's outputs from its inputs. It allocates\n"
		   " * nothing and does no I/O; %s_run uses a static arena (not reentrant),\n"
		   " * %s_run_ws one the caller gives (%s_WORKSPACE_BYTES, %d-byte aligned).\n"
		   " * Buffers are dense row-major arrays. Returns 0, or a negative runtime\n"
		   " * error code (an out-of-range Gather index, say). Calls with different\n"
		   " * workspaces may run at once, from several threads.\n"
		   " * %s_set_threads(t) sets the threads later runs use, 1 <= t <=\n"
		   " * %s_MAX_THREADS (the compiled --threads, also the default); the\n"
		   " * model's thread pool is its own.\n *\n",
		e->name, e->name, e->name, up, RN_ALIGN, e->name, up);
	for (int io = 0; io < 2; io++)
		for (int i = 0; i < (io ? g->n_outputs : g->n_inputs); i++) {
			const Tensor *t = &g->tensors[io ? g->outputs[i] : g->inputs[i]];
			const IoQuant *q = io ? (g->out_q ? &g->out_q[i] : NULL) : (g->in_q ? &g->in_q[i] : NULL);
			fprintf(f, " * %s %d '%s': ", io ? "output" : "input ", i, emit_comment(t->name, cm, sizeof cm));
			shape_comment(f, t);
			if (q && q->quantized)
				fprintf(f, ", quantized: real = (q - %d) * %.9g", q->zero_point, (double)q->scale);
			fprintf(f, "\n");
		}
	fprintf(f, " */\n#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n", up, up);
	fprintf(f, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	fprintf(f, "#define %s_WORKSPACE_BYTES %" PRId64 "\n", up, st->arena_bytes);
	fprintf(f, "#define %s_WORKSPACE_ALIGN %d\n", up, RN_ALIGN);
	fprintf(f, "#define %s_MAX_THREADS %d\n", up, e->cg->threads);
	fprintf(f, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", up, g->n_inputs, up, g->n_outputs);
	for (int io = 0; io < 2; io++) {
		int n = io ? g->n_outputs : g->n_inputs;
		const char *kind = io ? "OUTPUT" : "INPUT";
		for (int i = 0; i < n; i++) {
			const Tensor *t = &g->tensors[io ? g->outputs[i] : g->inputs[i]];
			fprintf(f, "#define %s_%s%d_SIZE %" PRId64 "\n", up, kind, i, tensor_numel(t));
			fprintf(f, "#define %s_%s%d_RANK %d\n", up, kind, i, t->rank);
			fprintf(f, "#define %s_%s%d_SHAPE {", up, kind, i);
			for (int k = 0; k < t->rank; k++)
				fprintf(f, "%s%" PRId64, k ? ", " : "", t->dims[k]);
			fprintf(f, "%s}\n", t->rank ? "" : "0");
			if (i == 0)
				fprintf(f, "#define %s_%s_SIZE %" PRId64 "\n", up, kind, tensor_numel(t));
			/* --io int8: how the caller converts */
			const IoQuant *q = io ? (g->out_q ? &g->out_q[i] : NULL) : (g->in_q ? &g->in_q[i] : NULL);
			for (int k = 0; q && q->quantized && k < (i == 0 ? 2 : 1); k++) {
				char id[16] = "";
				if (k == 0)
					snprintf(id, sizeof id, "%d", i);
				fprintf(f, "#define %s_%s%s_SCALE %.9gf\n#define %s_%s%s_ZERO_POINT %d\n", up, kind, id,
					(double)q->scale, up, kind, id, q->zero_point);
			}
		}
	}
	fprintf(f, "\nint %s_run(", e->name);
	param_list(f, e);
	fprintf(f, ");\nint %s_run_ws(void *workspace%s", e->name, g->n_inputs + g->n_outputs ? ", " : "");
	param_list(f, e);
	fprintf(f, ");\n/* Inputs and outputs as arrays of pointers, in graph order. */\n");
	fprintf(f, "int %s_run_io(void *workspace, const void *const *in, void *const *out);\n", e->name);
	fprintf(f, "/* 0, or RN_E_RANGE (-4) if t is not in 1..%s_MAX_THREADS. */\n", up);
	fprintf(f, "int %s_set_threads(int t);\n", e->name);
	fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
	return emit_close(f, file, d);
}

static void c_string(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f || c == '?')
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
}

/* One step's C. Steps that declare static parameters get a block of
 * their own, so the names stay local. */
static void emit_step(FILE *f, const Graph *g, const Step *s, int id, Emitter *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	kernel_emit(m, g, s, id, tensor_ref, e);
	fclose(m);
	if (!strstr(text, "static const")) {
		fputs(text, f);
	} else {
		fputs("\t{\n", f);
		for (char *line = text; *line;) {
			char *nl = strchr(line, '\n');
			size_t k = nl ? (size_t)(nl - line + 1) : strlen(line);
			fputc('\t', f);
			fwrite(line, 1, k, f);
			line += k;
		}
		fputs("\t}\n", f);
	}
	free(text);
}

static int emit_source(Emitter *e, const PlanStats *st, const char *dir, Diag *d)
{
	const Graph *g = e->g;
	char file[300], up[256], a[200], b[200], cm[200];
	snprintf(file, sizeof file, "%s.c", e->name);
	emit_upper(up, e->name, sizeof up);
	FILE *f = emit_open(dir, file, d);
	if (!f)
		return -1;
	fprintf(f, "/* %s: generated by resnetc " RESNETC_VERSION " from %s. Do not edit. */\n", e->name, e->model_file);
	fprintf(f, "#include <math.h>\n%s\n#include \"resnetc/runtime.h\"\n%s#include \"%s.h\"\n\n",
		e->cg->threads > 1 ? "#include <stdatomic.h>\n" : "",
		e->cg->threads > 1 ? "#include \"resnetc/threadpool.h\"\n" : "", e->name);
	for (int c = 0; c < e->n_chunks; c++)
		fprintf(f, "extern const unsigned char %s_w%d[];\n", e->name, c);
	fprintf(f, "\n/* Addresses: activations in the arena, weights in %s_w<k>.c */\n", e->name);
	fprintf(f, "#define ARENA(off) ((void *)(ws + (off)))\n");
	fprintf(f, "#define WEIGHT(k, off) ((const void *)(%s_w##k + (off)))\n", e->name);
	fprintf(f, "#define OFFSET(p, off) ((void *)((unsigned char *)(p) + (off)))\n");
	fprintf(f, "\nstatic _Alignas(%s_WORKSPACE_ALIGN) unsigned char %s_arena[%s_WORKSPACE_BYTES > 0 ? %s_WORKSPACE_BYTES : 1];\n\n",
		up, e->name, up, up);
	/* The layer table the driver's --profile reports with. */
	int n_layers = 0;
	for (int i = 0; i < g->n_nodes; i++)
		n_layers += node_has_code(g, &g->nodes[i]);
	fprintf(f, "const int %s_num_layers = %d;\n", e->name, n_layers);
	fprintf(f, "const rn_layer_desc %s_layers[%d] = {\n", e->name, n_layers ? n_layers : 1);
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (!node_has_code(g, n))
			continue;
		char op[96];
		fprintf(f, "\t{\"");
		c_string(f, n->name);
		fprintf(f, "\", \"%s\", \"%s\", %.0f},\n", node_fused_op(n, op, sizeof op), kernel_label(&n->steps[0]),
			2.0 * (double)node_macs(g, n));
	}
	fprintf(f, "};\n\n#define PROFILE(layer, end) do { if (rn_profile_hook) rn_profile_hook(layer, end); } while (0)\n\n");
	/* The thread count is read once per run: a run started before a
	 * change finishes on the count it started with. */
	if (e->cg->threads > 1)
		fprintf(f, "static atomic_int threads_now = %s_MAX_THREADS;\n\n"
			   "int %s_set_threads(int t)\n{\n\tif (t < 1 || t > %s_MAX_THREADS)\n\t\treturn RN_E_RANGE;\n"
			   "\tatomic_store(&threads_now, t);\n\treturn 0;\n}\n\n", up, e->name, up);
	else
		fprintf(f, "int %s_set_threads(int t)\n{\n\treturn t == 1 ? 0 : RN_E_RANGE;\n}\n\n", e->name);
	fprintf(f, "int %s_run_io(void *workspace, const void *const *in, void *const *out)\n{\n", e->name);
	fprintf(f, "\tunsigned char *ws = workspace;\n\tint rc = 0;\n");
	if (e->cg->threads > 1)
		fprintf(f, "\tint threads = atomic_load(&threads_now);\n"
			   "\trn_threadpool *tp = threads > 1 ? rn_threadpool_limit(rn_threadpool_global(%s_MAX_THREADS), threads) : NULL;\n",
			up);
	else
		fprintf(f, "\trn_threadpool *tp = NULL; /* one thread */\n");
	fprintf(f, "\t(void)ws;\n\t(void)in;\n\t(void)tp;\n\n");
	/* Outputs that are constants or the graph's inputs are copied first. */
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];
		const Tensor *x = &g->tensors[t];
		if (x->kind == T_ACT)
			continue;
		e->out_index[t] = -1;
		tensor_ref(e, t, 0, b, sizeof b);
		e->out_index[t] = i;
		fprintf(f, "\t/* output '%s' is %s */\n\trn_copy2d(out[%d], 0, %s, 0, 1, %zu);\n",
			emit_comment(x->name, cm, sizeof cm),
			x->kind == T_CONST ? "a constant" : "an input", i, b, tensor_bytes(x));
	}
	int id = 0, layer = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (!node_has_code(g, n))
			continue;
		char sh[96], op[96];
		fprintf(f, "\t/* %s (%s) -> %s */\n\tPROFILE(%d, 0);\n", emit_comment(n->name, cm, sizeof cm),
			node_fused_op(n, op, sizeof op),
			shape_str(&g->tensors[n->out[0]], sh, sizeof sh), layer);
		for (int k = 0; k < n->n_steps; k++)
			if (!step_is_noop(g, &n->steps[k]))
				emit_step(f, g, &n->steps[k], id++, e);
		fprintf(f, "\tPROFILE(%d, 1);\n", layer++);
	}
	(void)a;
	fprintf(f, "\treturn rc;\n}\n\n");
	fprintf(f, "int %s_run_ws(void *workspace%s", e->name, g->n_inputs + g->n_outputs ? ", " : "");
	param_list(f, e);
	fprintf(f, ")\n{\n\tconst void *in[%d] = {", g->n_inputs ? g->n_inputs : 1);
	arg_names(f, e, 1);
	fprintf(f, "%s};\n\tvoid *out[%d] = {", g->n_inputs ? "" : "0", g->n_outputs);
	arg_names(f, e, 0);
	fprintf(f, "};\n\treturn %s_run_io(workspace, in, out);\n}\n\n", e->name);
	fprintf(f, "int %s_run(", e->name);
	param_list(f, e);
	fprintf(f, ")\n{\n\treturn %s_run_ws(%s_arena%s", e->name, e->name, g->n_inputs + g->n_outputs ? ", " : "");
	arg_names(f, e, 1);
	fprintf(f, "%s", g->n_inputs ? ", " : "");
	arg_names(f, e, 0);
	fprintf(f, ");\n}\n");
	(void)st;
	return emit_close(f, file, d);
}

static void io_table(FILE *f, const Graph *g, const char *var, const int *ts, int n)
{
	fprintf(f, "static const rn_io_desc %s[%d] = {\n", var, n ? n : 1);
	for (int i = 0; i < n; i++) {
		const Tensor *t = &g->tensors[ts[i]];
		fprintf(f, "\t{\"");
		c_string(f, t->name);
		fprintf(f, "\", %d, %d, {", t->dtype, t->rank);
		for (int k = 0; k < t->rank; k++)
			fprintf(f, "%s%" PRId64, k ? ", " : "", t->dims[k]);
		fprintf(f, "}},\n");
	}
	fprintf(f, "};\n");
}

static int emit_main(Emitter *e, const char *dir, Diag *d)
{
	const Graph *g = e->g;
	char up[256];
	emit_upper(up, e->name, sizeof up);
	FILE *f = emit_open(dir, "main.c", d);
	if (!f)
		return -1;
	fprintf(f, "/* Driver for %s: reads inputs from .npy files, writes outputs as .npy.\n"
		   " * Run it with --help. Generated by resnetc " RESNETC_VERSION ". */\n", e->name);
	fprintf(f, "#include \"resnetc/runtime.h\"\n#include \"%s.h\"\n\n", e->name);
	io_table(f, g, "inputs", g->inputs, g->n_inputs);
	io_table(f, g, "outputs", g->outputs, g->n_outputs);
	fprintf(f, "\nextern const int %s_num_layers;\nextern const rn_layer_desc %s_layers[];\n", e->name, e->name);
	fprintf(f, "\nstatic rn_model_desc model = {\n\t.name = \"%s\", .n_inputs = %d, .n_outputs = %d,\n"
		   "\t.inputs = inputs, .outputs = outputs,\n\t.workspace_bytes = %s_WORKSPACE_BYTES, .run = %s_run_io,\n"
		   "\t.layers = %s_layers,\n\t.max_threads = %s_MAX_THREADS, .set_threads = %s_set_threads,\n};\n\n",
		e->name, g->n_inputs, g->n_outputs, up, e->name, e->name, up, e->name);
	fprintf(f, "int main(int argc, char **argv)\n{\n\tmodel.n_layers = %s_num_layers;\n\treturn rn_driver_main(&model, argc, argv);\n}\n", e->name);
	return emit_close(f, "main.c", d);
}

int emit_c(Graph *g, const PlanStats *st, const char *dir, const EmitOptions *o, Diag *d)
{
	Emitter e = {.g = g, .name = o->name, .model_file = o->model_file, .cg = o->cg,
		     .scratch_offset = st->scratch_offset, .o = o};
	e.woff = xmalloc(g->n_tensors * sizeof *e.woff);
	e.wchunk = xmalloc(g->n_tensors * sizeof *e.wchunk);
	e.in_index = xmalloc(g->n_tensors * sizeof *e.in_index);
	e.out_index = xmalloc(g->n_tensors * sizeof *e.out_index);
	for (int i = 0; i < g->n_tensors; i++) {
		e.woff[i] = -1;
		e.wchunk[i] = -1;
		e.in_index[i] = e.out_index[i] = -1;
	}
	for (int i = 0; i < g->n_inputs; i++)
		e.in_index[g->inputs[i]] = i;
	runtime_files(g, e.cg->threads, &e.rt);
	for (int i = 0; i < g->n_outputs; i++)
		e.out_index[g->outputs[i]] = i;

	char **rt = NULL;
	int n_rt = 0;
	int rc = emit_weights(&e, dir, d);
	if (!rc)
		rc = emit_header(&e, st, dir, d);
	if (!rc)
		rc = emit_source(&e, st, dir, d);
	if (!rc)
		rc = emit_main(&e, dir, d);
	if (!rc)
		rc = emit_runtime(&e, dir, &rt, &n_rt, d);
	if (!rc)
		rc = emit_makefile(&e, dir, rt, n_rt, d);
	if (!rc)
		rc = emit_cmake(&e, dir, rt, n_rt, d);
	emit_free_names(rt, n_rt);
	free(e.woff);
	free(e.wchunk);
	free(e.in_index);
	free(e.out_index);
	return rc;
}
