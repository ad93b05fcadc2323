/*
 * rn_driver_main, the generated program's main, driving a tiny fake model
 * (y = 2 * x, and the count of positive x as a rank-0 int64): exact .npy
 * output bytes, .npy v1/v2/v3 inputs, every input error with its one-line
 * message and no output file left behind, a failing run, usage errors and
 * --bench, and --profile's table (per-layer medians) on a fake model with
 * timed layers. The driver is compiled into this test directly, because unit
 * tests link the kernels without it.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/driver/npy.c"
#include "../../runtime/driver/modes.c"
#include "../../runtime/driver/driver.c"

/* ---- the fake model ---- */

static int fake_run(void *ws, const void *const *in, void *const *out)
{
	const float *x = in[0];
	float *y = out[0];
	int64_t *count = out[1];
	memset(ws, 0xab, 100); /* the workspace must really be that large */
	if (x[0] == 999.0f)
		return RN_E_INDEX;
	*count = 0;
	for (int i = 0; i < 6; i++) {
		y[i] = 2.0f * x[i];
		*count += x[i] > 0;
	}
	return 0;
}

static const rn_io_desc fake_inputs[1] = { { "x", RN_F32, 2, { 2, 3 } } };
static const rn_io_desc fake_outputs[2] = { { "y", RN_F32, 2, { 2, 3 } },
					    { "count", RN_I64, 0, { 0 } } };
static const rn_model_desc fake = {
	.name = "double_it", .n_inputs = 1, .n_outputs = 2, .inputs = fake_inputs,
	.outputs = fake_outputs, .workspace_bytes = 100, .run = fake_run,
};

/* ---- helpers ---- */

static char dir[64];

/* A path in the test's directory; the last 8 results stay valid. */
static char *path_of(const char *name)
{
	static char buf[8][128];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

static void write_file(const char *p, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static size_t read_file(const char *p, char *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* A .npy file of the given version, header dict and data. */
static void write_npy_file(const char *p, int version, const char *dict, const void *data,
			   size_t n)
{
	char buf[512];
	size_t pre = version == 1 ? 10 : 12;
	size_t hlen = strlen(dict) + 1;
	hlen += (64 - (pre + hlen) % 64) % 64;
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (char)version;
	buf[7] = 0;
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	buf[10] = buf[11] = 0;
	memset(buf + pre, ' ', hlen);
	memcpy(buf + pre, dict, strlen(dict));
	buf[pre + hlen - 1] = '\n';
	memcpy(buf + pre + hlen, data, n);
	write_file(p, buf, pre + hlen + n);
}

static const float X[6] = { 1.0f, -2.0f, 3.5f, 0.0f, 5.0f, -0.25f };
static const char X_DICT[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

static char out_text[4096], err_text[4096];
static char out_path[128], err_path[128];

/* Runs the driver with argv, capturing stdout and stderr. */
static int run(int argc, const char **argv)
{
	fflush(stdout);
	fflush(stderr);
	int o = dup(1), e = dup(2);
	int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = rn_driver_main(&fake, argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o); close(e); close(fo); close(fe);
	memset(out_text, 0, sizeof out_text);
	memset(err_text, 0, sizeof err_text);
	read_file(out_path, out_text, sizeof out_text - 1);
	read_file(err_path, err_text, sizeof err_text - 1);
	return rc;
}

/* Runs on one input file and expects failure with this stderr line. */
static void expect_input_error(const char *input, const char *what)
{
	remove(path_of("y.npy"));
	remove(path_of("c.npy"));
	const char *argv[] = { "double_it", input, path_of("y.npy"), path_of("c.npy") };
	assert_int_equal(run(4, argv), 1);
	char want[512];
	snprintf(want, sizeof want, "double_it: error: %s: %s\n", input, what);
	assert_string_equal(err_text, want);
	assert_false(exists(path_of("y.npy")));
	assert_false(exists(path_of("c.npy")));
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rn_driver_test_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
	snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	const char *names[] = { "x.npy", "y.npy", "c.npy", "bad.npy", "stdout.txt", "stderr.txt" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		remove(path_of(names[i]));
	return rmdir(dir);
}

/* ---- tests ---- */

static void test_driver_writes_exact_npy_outputs(void **state)
{
	(void)state;
	write_npy_file(path_of("x.npy"), 1, X_DICT, X, sizeof X);
	const char *argv[] = { "double_it", path_of("x.npy"), path_of("y.npy"), path_of("c.npy") };
	assert_int_equal(run(4, argv), 0);
	assert_string_equal(err_text, "");
	char buf[256];
	size_t n = read_file(path_of("y.npy"), buf, sizeof buf);
	/* a 60-character dict: header length 118, data at 128 */
	assert_int_equal(n, 128 + 24);
	const char *hy = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
	assert_memory_equal(buf, hy, strlen(hy) + 1); /* +1: the 0x00 of the length */
	for (size_t i = 10 + strlen(hy + 10); i < 127; i++)
		assert_int_equal(buf[i], ' ');
	assert_int_equal(buf[127], '\n');
	for (int i = 0; i < 6; i++) {
		float v;
		memcpy(&v, buf + 128 + 4 * i, 4);
		assert_true(v == 2.0f * X[i]);
	}
	n = read_file(path_of("c.npy"), buf, sizeof buf);
	assert_int_equal(n, 128 + 8);
	const char *hc = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }";
	assert_memory_equal(buf + 10, hc, strlen(hc));
	int64_t count;
	memcpy(&count, buf + 128, 8);
	assert_int_equal(count, 3);
}

static void test_driver_accepts_npy_v2_and_v3(void **state)
{
	(void)state;
	for (int v = 2; v <= 3; v++) {
		remove(path_of("y.npy"));
		write_npy_file(path_of("x.npy"), v, X_DICT, X, sizeof X);
		const char *argv[] = { "double_it", path_of("x.npy"), path_of("y.npy"),
				       path_of("c.npy") };
		assert_int_equal(run(4, argv), 0);
		assert_true(exists(path_of("y.npy")));
	}
}

static void test_driver_rejects_bad_inputs_with_one_line(void **state)
{
	(void)state;
	char bad[128];
	snprintf(bad, sizeof bad, "%s", path_of("bad.npy"));
	write_npy_file(bad, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }", X, sizeof X);
	expect_input_error(bad, "shape (1, 3, 32, 32) does not match the model's input 'x' (2, 3)");
	write_npy_file(bad, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", X, sizeof X);
	expect_input_error(bad, "shape (6,) does not match the model's input 'x' (2, 3)");
	write_npy_file(bad, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", X, sizeof X);
	expect_input_error(bad, "dtype '<f8' does not match the model's input 'x' (float32)");
	write_npy_file(bad, 1, X_DICT, X, 10);
	expect_input_error(bad, "truncated: expected 24 data bytes, found 10");
	write_npy_file(bad, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", X, sizeof X);
	expect_input_error(bad, "fortran_order arrays are not supported; save a C-ordered array");
	write_file(bad, "hello, world, this is not numpy", 31);
	expect_input_error(bad, "not a .npy file");
	write_npy_file(bad, 1, "{'descr': '<f4', 'shape': (2, 3), }", X, sizeof X);
	expect_input_error(bad, "header has no 'fortran_order'");
	remove(bad);
	expect_input_error(bad, "cannot open: No such file or directory");
}

static void test_driver_failed_run_leaves_no_output(void **state)
{
	(void)state;
	float x[6] = { 999.0f, 0, 0, 0, 0, 0 };
	write_npy_file(path_of("x.npy"), 1, X_DICT, x, sizeof x);
	remove(path_of("y.npy"));
	const char *argv[] = { "double_it", path_of("x.npy"), path_of("y.npy"), path_of("c.npy") };
	assert_int_equal(run(4, argv), 1);
	assert_string_equal(err_text,
			    "double_it: error: run failed with code -1 (Gather index out of range)\n");
	assert_false(exists(path_of("y.npy")));
	assert_false(exists(path_of("c.npy")));
}

static void test_driver_usage_errors_and_help(void **state)
{
	(void)state;
	const char *two[] = { "double_it", "a.npy", "b.npy" };
	assert_int_equal(run(3, two), 2);
	assert_non_null(strstr(err_text, "usage: double_it x.npy y.npy count.npy"));
	const char *help[] = { "double_it", "--help" };
	assert_int_equal(run(2, help), 0);
	assert_non_null(strstr(out_text, "usage: double_it"));
	const char *zero[] = { "double_it", "--bench", "0", "x.npy" };
	assert_int_equal(run(4, zero), 2);
	const char *junk[] = { "double_it", "--bench", "3x", "x.npy" };
	assert_int_equal(run(4, junk), 2);
	const char *missing[] = { "double_it", "--bench", "3" };
	assert_int_equal(run(3, missing), 2);
}

static void test_driver_bench_prints_median(void **state)
{
	(void)state;
	write_npy_file(path_of("x.npy"), 1, X_DICT, X, sizeof X);
	const char *argv[] = { "double_it", "--bench", "5", path_of("x.npy") };
	assert_int_equal(run(4, argv), 0);
	double ms = -1;
	assert_int_equal(sscanf(out_text, "median_ms=%lf\n", &ms), 1);
	assert_true(ms >= 0.0);
	const char *dot = strchr(out_text, '.');
	assert_non_null(dot);
	assert_true(dot[4] == '\n'); /* three decimals */
}

/* ---- --profile: a model of two timed layers ---- */

static int prof_runs;

static void busy_ms(double ms)
{
	double t0 = now_ms();
	while (now_ms() - t0 < ms)
		;
}

/* Layer 0 takes 1 ms, but 400 ms in the third run; layer 1 takes 3 ms.
 * (The outlier is large so that a busy machine, which stretches every run
 * by a few ms, cannot pass a mean off as the median.) */
static int timed_run(void *ws, const void *const *in, void *const *out)
{
	(void)ws, (void)in, (void)out;
	prof_runs++;
	if (rn_profile_hook)
		rn_profile_hook(0, 0);
	busy_ms(prof_runs == 3 ? 400.0 : 1.0);
	if (rn_profile_hook)
		rn_profile_hook(0, 1);
	if (rn_profile_hook)
		rn_profile_hook(1, 0);
	busy_ms(3.0);
	if (rn_profile_hook)
		rn_profile_hook(1, 1);
	return 0;
}

static const rn_layer_desc timed_layers[2] = {
	{ "spiky", "Conv+Relu", "kernel_a", 2e6 },
	{ "steady", "MaxPool", "kernel_b", 0.0 },
};

static void test_driver_profile_table_uses_medians(void **state)
{
	(void)state;
	rn_model_desc m = fake;
	m.run = timed_run;
	m.n_layers = 2;
	m.layers = timed_layers;
	write_npy_file(path_of("x.npy"), 1, X_DICT, X, sizeof X);
	const char *argv[] = { "double_it", "--profile", path_of("x.npy") };
	prof_runs = 0;
	fflush(stdout);
	int o = dup(1);
	int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	int rc = rn_driver_main(&m, 3, (char **)argv);
	fflush(stdout);
	dup2(o, 1);
	close(o);
	close(fo);
	assert_int_equal(rc, 0);
	assert_null(rn_profile_hook); /* unset again */
	memset(out_text, 0, sizeof out_text);
	read_file(out_path, out_text, sizeof out_text - 1);
	assert_int_equal(prof_runs, 1 + 21); /* warm-up, then the timed runs */

	char name[32], op[32], kernel[32], gf[32];
	double ms[2], share[2];
	const char *line = strchr(out_text, '\n');
	assert_non_null(line);
	assert_int_equal(strncmp(out_text, "layer", 5), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sscanf(line + 1, "%31s %31s %31s %lf %31s %lf%%", name, op, kernel,
					&ms[i], gf, &share[i]), 6);
		assert_string_equal(name, timed_layers[i].name);
		assert_string_equal(op, timed_layers[i].op);
		assert_string_equal(kernel, timed_layers[i].kernel);
		if (timed_layers[i].flops > 0) /* 2e6 flops in ms[i] ms */
			assert_true(fabs(atof(gf) - 2e6 / (ms[i] * 1e6)) < 0.06);
		else
			assert_string_equal(gf, "-");
		line = strchr(line + 1, '\n');
		assert_non_null(line);
	}
	/* the median ignores the one 400 ms run (a mean would be 20 ms or more) */
	assert_true(ms[0] >= 1.0 && ms[0] < 12.0);
	assert_true(ms[1] >= 3.0 && ms[1] < 14.0);
	assert_true(fabs(share[0] + share[1] - 100.0) < 0.2);
	assert_true(fabs(share[0] / share[1] - ms[0] / ms[1]) < 0.05);
	double total = 0;
	int runs = 0;
	assert_int_equal(sscanf(line + 1, "total: %lf ms per run (median of %d)", &total, &runs), 2);
	assert_int_equal(runs, 21);
	assert_true(total >= 4.0 && total < 26.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_writes_exact_npy_outputs),
		cmocka_unit_test(test_driver_accepts_npy_v2_and_v3),
		cmocka_unit_test(test_driver_rejects_bad_inputs_with_one_line),
		cmocka_unit_test(test_driver_failed_run_leaves_no_output),
		cmocka_unit_test(test_driver_usage_errors_and_help),
		cmocka_unit_test(test_driver_bench_prints_median),
		cmocka_unit_test(test_driver_profile_table_uses_medians),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
