/*
 * YAML text -> IR through the pipeline `resnetc` runs (pipeline.h): the
 * YAML front end (description, weights, random init), then shape
 * inference, the passes, kernel selection and the memory plan, as for ONNX.
 *
 * The text is written to model.yaml in a scratch folder that holds
 * w.safetensors (the weights of the corpus' tiny networks, copied from
 * FUZZ_WEIGHTS at start-up), a truncated copy broken.safetensors, and a
 * symlink `up` to the folder's parent, which confinement must refuse.
 */
#include "fuzz_common.h"

#include "frontend.h"
#include "pipeline.h"

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
	CodegenOptions cg = {target_find("native"), 1, 0, 0};
	PipelineOptions po = {.model = path, .cg = &cg};
	Pipeline p;
	if (pipeline_run(&po, &p, &d) != 0)
		fz_check_message(d.msg);
	pipeline_free(&p);
	return 0;
}
