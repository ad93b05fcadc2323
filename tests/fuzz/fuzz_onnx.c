/*
 * ONNX bytes -> IR: the importer, shape inference and constant folding
 * (lower_graph), every pass, kernel selection with weight packing, the
 * memory plan, and the reports of `info` and `graph`. Any input must end in
 * success or in one error line; the sanitizers and libFuzzer's leak check
 * watch everything in between; a model that compiles is emitted as C too.
 *
 * The model is written to model.onnx in a scratch folder that also holds
 * ext.bin (4 KiB), a target for external-data references, and a symlink
 * `up` to the folder's parent, which confinement must refuse to follow.
 */
#include "fuzz_common.h"

#include <sys/stat.h>

#include "emit.h"
#include "frontend.h"
#include "fsutil.h"
#include "graph_dot.h"
#include "info.h"
#include "ops.h"
#include "passes.h"
#include "plan.h"
#include "target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsigned char ext[4096];
	for (size_t i = 0; i < sizeof ext; i++)
		ext[i] = (unsigned char)(i * 7);
	fz_write("ext.bin", ext, sizeof ext);
	char link[300];
	snprintf(link, sizeof link, "%s/up", fz_scratch());
	if (symlink("..", link) != 0)
		perror("fuzz: symlink");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("model.onnx", data, size);
	Diag d = {{0}};
	ShapePin pin = {"", 4, {1, 3, 8, 8}};
	/* Odd sizes pin the only input's shape, to reach dynamic-dim models. */
	ImportOptions opt = {&pin, (int)(size & 1), NULL, 0};
	Graph *g = onnx_import(path, &opt, &d);
	if (!g) {
		fz_check_message(d.msg);
		return 0;
	}
	/* The steps of `resnetc compile` and `info`, in main.c's order. */
	int enabled[16];
	for (int i = 0; i < 16; i++)
		enabled[i] = 1;
	PassResult results[16];
	CodegenOptions cg = {target_find("native"), 1 + (int)(size % 3 == 0), 0, 0};
	PlanStats st;
	if (lower_graph(g, &d) != 0 || run_passes_logged(g, enabled, results, NULL, &d) != 0 ||
	    select_kernels(g, &cg, &d) != 0 || plan_memory(g, &st, &d) != 0) {
		fz_check_message(d.msg);
		graph_free(g);
		return 0;
	}
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		InfoContext ic = {path, "onnx", graph_params(g), results};
		print_info(f, g, &st, &ic);
		print_info_json(f, g, &st, &ic);
		write_graph_dot(f, g, &st, "model.onnx");
		fclose(f);
	}
	/* The C a model compiles to, written to out/ and removed again. */
	char out[300];
	snprintf(out, sizeof out, "%s/out", fz_scratch());
	EmitOptions eo = {.name = "model", .model_file = "model.onnx", .runtime_dir = FUZZ_ROOT "/runtime",
			  .include_dir = FUZZ_ROOT "/include/resnetc", .cg = &cg};
	if (mkdir(out, 0777) != 0 || emit_c(g, &st, out, &eo, &d) != 0)
		fz_check_message(d.msg);
	remove_tree(out);
	graph_free(g);
	return 0;
}
