/*
 * ONNX bytes -> IR through the pipeline `resnetc` runs (pipeline.h): the
 * importer, shape inference and constant folding (lower_graph), every
 * pass, kernel selection with weight packing, the memory plan; then the
 * reports of `info` and `graph`. Any input must end in success or in one
 * error line; the sanitizers and libFuzzer's leak check watch everything
 * in between; a model that compiles is emitted as C too.
 *
 * The model is written to model.onnx in a scratch folder that also holds
 * ext.bin (4 KiB), a target for external-data references, and a symlink
 * `up` to the folder's parent, which confinement must refuse to follow.
 */
#include "fuzz_common.h"

#include <sys/stat.h>

#include "emit.h"
#include "fsutil.h"
#include "graph_dot.h"
#include "info.h"
#include "pipeline.h"

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
	CodegenOptions cg = {target_find("native"), 1 + (int)(size % 3 == 0), 0, 0};
	/* The phases of `resnetc compile` and `info`: the pipeline main.c runs. */
	PipelineOptions po = {.model = path, .import = &opt, .cg = &cg};
	Pipeline p;
	if (pipeline_run(&po, &p, &d) != 0) {
		fz_check_message(d.msg);
		pipeline_free(&p);
		return 0;
	}
	Graph *g = p.g;
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		InfoContext ic = {path, p.format, p.params_imported, p.passes.pass};
		print_info(f, g, &p.plan, &ic);
		print_info_json(f, g, &p.plan, &ic);
		write_graph_dot(f, g, &p.plan, "model.onnx");
		fclose(f);
	}
	/* The C a model compiles to, written to out/ and removed again. */
	char out[300];
	snprintf(out, sizeof out, "%s/out", fz_scratch());
	EmitOptions eo = {.name = "model", .model_file = "model.onnx", .runtime_dir = FUZZ_ROOT "/runtime",
			  .include_dir = FUZZ_ROOT "/include/resnetc", .cg = &cg};
	if (mkdir(out, 0777) != 0 || emit_c(g, &p.plan, out, &eo, &d) != 0)
		fz_check_message(d.msg);
	remove_tree(out);
	pipeline_free(&p);
	return 0;
}
