/*
 * .npy bytes -> driver input: the generated program's reader (compiled in
 * directly, as tests/unit/test_runtime_driver.c does) against inputs of
 * several element types and ranks, then the whole driver on a fake model
 * y = 2x: a rejected input must leave no output file behind.
 */
#include "fuzz_common.h"

#include <sys/stat.h>

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
	return 0;
}
