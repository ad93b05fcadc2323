/*
 * .npy bytes -> the two readers of .npy files:
 *
 * - the generated program's (compiled in directly, as
 *   tests/unit/test_runtime_driver.c does) against inputs of several
 *   element types and ranks, then the whole driver on a fake model y = 2x:
 *   a rejected input must leave no output file behind;
 * - resnetc's calibration reader (npy_read_f32, for --quantize int8
 *   --calibrate): what it accepts must hold every element its shape
 *   declares; then `--quantize int8` of a tiny ResNet (input 1x3x8x8) with
 *   the input as its samples, the whole pipeline through calibration, the
 *   quantize and qdq passes, kernel selection and the memory plan. Every
 *   failure must be one line.
 */
#include "fuzz_common.h"

#include <sys/stat.h>

#include "frontend.h"
#include "pipeline.h"

#include "../../runtime/driver/npy.c"
#include "../../runtime/driver/modes.c"
#include "../../runtime/driver/driver.c"

static int twice(void *ws, const void *const *in, void *const *out)
{
	(void)ws;
	const float *x = in[0];
	float *y = out[0];
	for (int i = 0; i < 6; i++)
		y[i] = 2.0f * x[i];
	return 0;
}

static const rn_io_desc io_f32[1] = {{"x", RN_F32, 2, {2, 3}}};
static const rn_io_desc io_other[] = {
	{"scalar", RN_I64, 0, {0}},
	{"flags", RN_BOOL, 1, {4}},
	{"half", RN_BF16, 3, {1, 2, 1}},
	{"empty", RN_U8, 2, {0, 5}},
};
static const rn_model_desc model = {
	.name = "fuzz_npy", .n_inputs = 1, .n_outputs = 1, .inputs = io_f32,
	.outputs = io_f32, .workspace_bytes = 64, .run = twice,
};

/* The tiny ResNet quantized with the input as samples (K x 3 x 8 x 8). */
static const char tiny_yaml[] = "resnetc: 1\ninput: [1, 3, 8, 8]\nblock: basic\nstages: [1]\nwidth: 4\n"
				"stem: {kernel: 3, stride: 1, pool: max}\nclasses: 3\ninit: {seed: 5}\n";
static char tiny_path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(tiny_path, sizeof tiny_path, "%s", fz_write("tiny.yaml", tiny_yaml, sizeof tiny_yaml - 1));
	return 0;
}

/* npy_read_f32 on the input (size bytes): an accepted file's shape must
 * not declare more floats than its data, which were all read. */
static void calibration_reader(const char *path, size_t size)
{
	int rank = -1;
	int64_t dims[IR_MAX_RANK];
	Diag d = {{0}};
	float *v = npy_read_f32(path, &rank, dims, &d);
	if (!v) {
		fz_check_message(d.msg);
		return;
	}
	uint64_t n = 1;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 || (dims[i] && n > (uint64_t)size / (uint64_t)dims[i])) {
			fprintf(stderr, "fuzz: npy_read_f32 accepted dimension %d = %lld of %zu bytes\n", i,
				(long long)dims[i], size);
			abort();
		}
		n *= (uint64_t)dims[i];
	}
	if (n * 4 > size) {
		fprintf(stderr, "fuzz: npy_read_f32 accepted %llu floats from %zu bytes\n", (unsigned long long)n, size);
		abort();
	}
	volatile float sum = 0.0f;
	for (uint64_t i = 0; i < n; i++)
		sum += v[i]; /* (ASan: every element is there) */
	free(v);
}

/* resnetc compile tiny.yaml --quantize int8 --calibrate PATH, up to the
 * memory plan. */
static void quantize_with(const char *path)
{
	const char *calib[1] = {path};
	QuantizeOptions qo = {.calib = calib, .n_calib = 1, .method = CALIB_MINMAX};
	CodegenOptions cg = {target_find("native"), 1, 0, 0};
	PipelineOptions po = {.model = tiny_path, .cg = &cg, .quantize = &qo};
	Pipeline p;
	Diag d = {{0}};
	if (pipeline_run(&po, &p, &d) != 0)
		fz_check_message(d.msg);
	pipeline_free(&p);
	/* and again with the other calibration */
	qo.method = CALIB_PERCENTILE;
	if (pipeline_run(&po, &p, &d) != 0)
		fz_check_message(d.msg);
	pipeline_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[300], out[300];
	snprintf(in, sizeof in, "%s", fz_write("in.npy", data, size));
	snprintf(out, sizeof out, "%s/out.npy", fz_scratch());
	for (size_t i = 0; i < sizeof io_other / sizeof io_other[0]; i++)
		free(rn_npy_read(&model, &io_other[i], in));

	char *argv[] = {"fuzz_npy", in, out, NULL};
	int rc = rn_driver_main(&model, 3, argv);
	struct stat st;
	int written = stat(out, &st) == 0;
	if (rc != 0 && rc != 1) {
		fprintf(stderr, "fuzz: driver exit status %d\n", rc);
		abort();
	}
	if (written != (rc == 0)) {
		fprintf(stderr, "fuzz: status %d but output %s\n", rc, written ? "written" : "missing");
		abort();
	}
	if (written)
		unlink(out);

	calibration_reader(in, size);
	quantize_with(in);
	return 0;
}
