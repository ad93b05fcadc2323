/*
 * YAML text -> IR: the YAML front end (description, weights, random init),
 * then shape inference, the passes, kernel selection and the memory plan,
 * as for ONNX.
 *
 * The text is written to model.yaml in a scratch folder that holds
 * w.safetensors (the weights of the corpus' tiny networks, copied from
 * FUZZ_WEIGHTS at start-up), a truncated copy broken.safetensors, and a
 * symlink `up` to the folder's parent, which confinement must refuse.
 */
#include "fuzz_common.h"

#include "frontend.h"
#include "info.h"
#include "ops.h"
#include "passes.h"
#include "plan.h"
#include "target.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	size_t len;
	Diag d;
	unsigned char *w = read_file(FUZZ_WEIGHTS, (size_t)1 << 24, &len, &d);
	if (!w) {
		fprintf(stderr, "fuzz: %s: %s\n", FUZZ_WEIGHTS, d.msg);
		abort();
	}
	fz_write("w.safetensors", w, len);
	fz_write("broken.safetensors", w, len / 2);
	free(w);
	char link[300];
	snprintf(link, sizeof link, "%s/up", fz_scratch());
	if (symlink("..", link) != 0)
		perror("fuzz: symlink");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_write("model.yaml", data, size);
	Diag d = {{0}};
	Graph *g = yaml_import(path, NULL, &d);
	if (!g) {
		fz_check_message(d.msg);
		return 0;
	}
	int enabled[16];
	for (int i = 0; i < 16; i++)
		enabled[i] = 1;
	PassResult results[16];
	CodegenOptions cg = {target_find("native"), 1, 0, 0};
	PlanStats st;
	if (lower_graph(g, &d) != 0 || run_passes_logged(g, enabled, results, NULL, &d) != 0 ||
	    select_kernels(g, &cg, &d) != 0 || plan_memory(g, &st, &d) != 0)
		fz_check_message(d.msg);
	graph_free(g);
	return 0;
}
