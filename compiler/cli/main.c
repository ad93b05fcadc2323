/* resnetc: compile, info, graph, quantize. The command line is parsed in
 * cli.c, the model goes through pipeline.c (its phases described by
 * describe.c), and each command does its own last step here. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "describe.h"
#include "emit.h"
#include "fsutil.h"
#include "graph_dot.h"
#include "info.h"
#include "onnx_export.h"
#include "pipeline.h"
#include "progress.h"

static Progress progress;

/* The importer's notes (a symbolic batch size taken as 1): one line on
 * stderr, after the progress line on screen is cleared. */
static void note(void *ctx, const char *line)
{
	progress_clear(ctx);
	fprintf(stderr, "resnetc: note: %s\n", line);
}

/* Every error is one line; a progress line on screen goes first. */
static int fail(const char *fmt, ...)
{
	va_list ap;
	progress_clear(&progress);
	fprintf(stderr, "resnetc: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Finds the folder holding runtime/ and include/resnetc/: the source tree
 * the executable was built in (build/resnetc, build/san/resnetc), or
 * share/resnetc of an installation (PREFIX/bin/resnetc). RESNETC_HOME
 * overrides both. */
static int find_home(char *home, size_t len)
{
	const char *env = getenv("RESNETC_HOME");
	char probe[PATH_MAX + 96], exe[PATH_MAX];
	if (env && *env) {
		snprintf(home, len, "%s", env);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	static const char *const rel[] = {"../share/resnetc", "..", "../.."};
	for (int i = 0; i < 3; i++) {
		snprintf(probe, sizeof probe, "%s/%s/include/resnetc/runtime.h", exe, rel[i]);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(probe, sizeof probe, "%s/%s/runtime/driver/driver.c", exe, rel[i]);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(home, len, "%s/%s", exe, rel[i]);
		return 0;
	}
	return -1;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* info --quantize: each quantized layer's output against the float
 * model's on the first SQNR_SAMPLES calibration samples (quantize_sqnr). */
enum { SQNR_SAMPLES = 8 };

static double *measure_sqnr(const Args *a, const Pipeline *p)
{
	if (!a->quantize || a->io_int8)
		return NULL;
	int en[PASS_MAX] = {0};
	for (int i = 0; i < n_passes; i++)
		en[i] = passes[i].run == pass_fold_bn;
	PipelineOptions po = {.model = a->model, .import = &a->opt, .enabled = en, .cg = &a->cg,
			      .stop_after_passes = 1};
	Pipeline f;
	Diag d = {{0}};
	double *sqnr = xcalloc((size_t)p->g->n_tensors, sizeof *sqnr);
	QuantizeOptions q = a->qopt;
	progress_begin(&progress, "sqnr");
	progress.counting = "running the float and int8 graphs";
	q.progress = progress_count;
	q.ctx = &progress;
	int rc = pipeline_run(&po, &f, &d);
	if (!rc)
		rc = quantize_sqnr(p->g, f.g, &q, SQNR_SAMPLES, sqnr, &d);
	progress.counting = NULL;
	pipeline_free(&f);
	if (rc) {
		/* the table is still worth printing: say why the column is empty */
		progress_end(&progress, "not measured");
		fprintf(stderr, "resnetc: warning: %s: SQNR not measured: %s\n", a->model, d.msg);
		free(sqnr);
		return NULL;
	}
	progress_end(&progress, "each int8 layer against the float model, %d sample%s", SQNR_SAMPLES,
		     SQNR_SAMPLES == 1 ? "" : "s at most");
	return sqnr;
}

static int info(const Args *a, const Pipeline *p)
{
	double *sqnr = measure_sqnr(a, p);
	InfoContext ic = {a->model, p->format, p->params_imported, p->passes.pass, sqnr, SQNR_SAMPLES, a->cg.threads};
	if (a->json)
		print_info_json(stdout, p->g, &p->plan, &ic);
	else
		print_info(stdout, p->g, &p->plan, &ic);
	free(sqnr);
	if (fflush(stdout) != 0)
		return fail("cannot write to standard output: %s", strerror(errno));
	return 0;
}

static int graph(const Args *a, const Pipeline *p)
{
	Diag d = {{0}};
	progress_begin(&progress, "graph");
	if (write_graph_file(p->g, &p->plan, base_name(a->model), a->out, a->svg, &d) != 0)
		return fail("%s", d.msg);
	progress_end(&progress, "%s%s", a->out ? a->out : "standard output", a->svg ? " (SVG)" : " (DOT)");
	return 0;
}

/* Writes the C into a temporary folder next to a->out, then moves it
 * there (fsutil.h). A failure removes the temporary folder and the parent
 * folders it created. */
static int compile(const Args *a, const Pipeline *p)
{
	Diag d = {{0}};
	char home[PATH_MAX + 80], rt[PATH_MAX + 96], inc[PATH_MAX + 112], s1[64];
	if (find_home(home, sizeof home) != 0)
		return fail("cannot find the runtime sources next to the resnetc executable (set RESNETC_HOME to the "
			    "folder holding runtime/ and include/resnetc/)");
	snprintf(rt, sizeof rt, "%s/runtime", home);
	snprintf(inc, sizeof inc, "%s/include/resnetc", home);
	progress_begin(&progress, "emit");
	EmitOptions eo = {.name = a->name, .model_file = base_name(a->model), .runtime_dir = rt, .include_dir = inc,
			  .cg = &a->cg, .progress = progress_bytes, .progress_ctx = &progress};
	char *tmp = make_temp_sibling(a->out, &d);
	int rc = tmp ? 0 : -1;
	if (!rc)
		rc = emit_c(p->g, &p->plan, tmp, &eo, &d);
	if (!rc) {
		char marker[PATH_MAX + 64];
		snprintf(marker, sizeof marker, "%s/" OUTPUT_MARKER, tmp);
		FILE *f = fopen(marker, "w");
		if (f) {
			fprintf(f, "written by resnetc " RESNETC_VERSION "\n");
			fclose(f);
		}
		rc = commit_dir(tmp, a->out, a->force, &d);
	}
	if (rc && tmp)
		remove_tree(tmp);
	free(tmp);
	if (rc) { /* these messages name the output path themselves */
		remove_made_parents();
		return fail("%s", d.msg);
	}
	keep_made_parents();
	progress_end(&progress, "%s: %s.c, %s.h, %s of weights, main.c, runtime/, Makefile", a->out, a->name, a->name,
		     fmt_bytes(graph_weight_bytes(p->g), s1, sizeof s1));
	if (progress.show)
		fprintf(stderr, "resnetc: done     %7.3f s  build it with: make -C %s\n", progress_elapsed(&progress),
			a->out);
	return 0;
}

/* The graph after fold-bn and quantize, written as a QDQ ONNX model
 * (onnx_export.h) through a temporary file next to a->out. */
static int quantize(const Args *a, const Pipeline *p)
{
	Diag d = {{0}};
	char doc[512], s1[64];
	snprintf(doc, sizeof doc, "%s quantized to int8 by resnetc " RESNETC_VERSION " (%s calibration on %s)",
		 base_name(a->model), calib_method_name(a->qopt.method), base_name(a->calib[0]));
	OnnxExportInfo info = {.doc = doc};
	void *bytes = NULL;
	size_t len = 0;
	progress_begin(&progress, "write");
	if (onnx_export(p->g, &info, &bytes, &len, &d) != 0)
		return fail("%s: %s", a->model, d.msg);
	int rc = write_file_atomic(a->out, bytes, len, &d);
	free(bytes);
	if (rc)
		return fail("%s", d.msg);
	progress_end(&progress, "%s: %d nodes (%d QuantizeLinear, %d DequantizeLinear), %d initializers, %s, opset %d",
		     a->out, info.nodes, info.quantize_nodes, info.dequantize_nodes, info.initializers,
		     fmt_bytes((int64_t)len, s1, sizeof s1), info.opset);
	if (progress.show)
		fprintf(stderr, "resnetc: done     %7.3f s\n", progress_elapsed(&progress));
	return 0;
}

int main(int argc, char **argv)
{
	static Args a;
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	progress_init(&progress, a.cmd == CMD_COMPILE || a.cmd == CMD_QUANTIZE || a.level != 0 ? a.level : -1,
		      isatty(2));
	Diag d = {{0}};
	if (a.cmd == CMD_COMPILE && check_output_dir(a.out, a.force, &d) != 0)
		return fail("%s", d.msg);
	if (a.cmd == CMD_QUANTIZE && check_output_file(a.out, &d) != 0)
		return fail("%s", d.msg);

	if (!a.opt.quiet) {
		a.opt.note = note;
		a.opt.note_ctx = &progress;
	}
	if (a.quantize) {
		a.qopt.progress = progress_count;
		a.qopt.ctx = &progress;
	}
	/* quantize: the passes compile --quantize int8 runs up to the
	 * quantize pass, those that keep the graph ONNX (not the fusions,
	 * qdq, views or inplace), and no kernels or plan */
	if (a.cmd == CMD_QUANTIZE)
		for (int i = 0; i < n_passes; i++)
			a.enabled[i] = passes[i].run == pass_fold_bn || passes[i].run == pass_quantize;
	PipelineOptions po = {.model = a.model, .import = &a.opt, .enabled = a.enabled, .cg = &a.cg,
			      .quantize = a.quantize ? &a.qopt : NULL, .io_int8 = a.io_int8,
			      .stop_after_passes = a.cmd == CMD_QUANTIZE,
			      .histogram = a.cmd == CMD_INFO && a.show_passes ? stdout : NULL,
			      .callback = describe_phase, .ctx = &progress};
	Pipeline p;
	if (pipeline_run(&po, &p, &d) != 0) {
		rc = fail("%s%s%s", a.model, pipeline_error_sep(&p, &d), d.msg);
		pipeline_free(&p);
		return rc;
	}
	rc = a.cmd == CMD_INFO ? info(&a, &p) : a.cmd == CMD_GRAPH ? graph(&a, &p)
		: a.cmd == CMD_QUANTIZE ? quantize(&a, &p) : compile(&a, &p);
	pipeline_free(&p);
	return rc;
}
