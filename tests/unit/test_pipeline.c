/* The compile pipeline (pipeline.h) on a small YAML ResNet: the phases in
 * order through the callback, what each leaves in the Pipeline, passes
 * switched off, the histogram of info --passes, and where a failure is
 * reported. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "lower.h"
#include "pipeline.h"

#define TEST_DIR_TAG "pipeline"
#include "test_dir.h"

static const char *write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	return p;
}

static const char tiny[] = "resnetc: 1\n"
			   "input: [1, 3, 16, 16]\n"
			   "block: basic\n"
			   "stages: [1]\n"
			   "width: 16\n"
			   "stem: {kernel: 3, stride: 1, pool: none}\n"
			   "classes: 3\n"
			   "init: {seed: 1}\n";

/* What the callback saw: "load+ load- lower+ ..." (+ start, - done). */
typedef struct {
	char seen[256];
	int had_graph_at_load_end;
} Trace;

static void trace(void *ctx, const Pipeline *p, PipelinePhase phase, int done)
{
	Trace *t = ctx;
	snprintf(t->seen + strlen(t->seen), sizeof t->seen - strlen(t->seen), "%s%s%s", t->seen[0] ? " " : "",
		 pipeline_phase_names[phase], done ? "-" : "+");
	if (phase == PHASE_LOAD && done)
		t->had_graph_at_load_end = p->g != NULL;
}

static int count_kernel(const Graph *g, int kernel)
{
	int k = 0;
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; !g->nodes[i].dead && j < g->nodes[i].n_steps; j++)
			k += g->nodes[i].steps[j].kernel == kernel;
	return k;
}

static void test_phases_in_order_and_their_results(void **state)
{
	(void)state;
	CodegenOptions cg = {.target = target_find("native"), .threads = 1};
	Trace t = {{0}, 0};
	PipelineOptions o = {.model = write_file("tiny.yaml", tiny), .cg = &cg, .callback = trace, .ctx = &t};
	Pipeline p;
	Diag d = {{0}};
	assert_int_equal(pipeline_run(&o, &p, &d), 0);
	assert_string_equal(t.seen, "load+ load- lower+ lower- passes+ passes- kernels+ kernels- plan+ plan-");
	assert_true(t.had_graph_at_load_end);
	assert_non_null(p.g);
	assert_string_equal(p.format, "yaml");
	assert_string_equal(p.model, o.model);
	assert_true(p.params_imported > graph_params(p.g)); /* BatchNorm's statistics folded away */
	/* every pass ran and says so */
	for (int i = 0; i < n_passes; i++) {
		assert_string_equal(p.passes.pass[i].name, passes[i].name);
		assert_true(p.passes.pass[i].enabled);
	}
	assert_int_equal(p.passes.pass[0].nodes_before, p.nodes_before_passes);
	assert_int_equal(p.passes.pass[n_passes - 1].nodes_after, graph_live_nodes(p.g));
	assert_true(p.nodes_before_passes > graph_live_nodes(p.g));
	assert_string_equal(p.passes.pass[0].removed_op[0], "BatchNormalization");
	/* kernels selected: no direct convolution left at 16 channels */
	assert_int_equal(count_kernel(p.g, K_CONV2D), 0);
	assert_true(count_kernel(p.g, K_CONV2D_PACKED) >= 3);
	/* planned */
	assert_true(p.plan.arena_bytes > 0);
	assert_true(p.plan.scratch_bytes > 0);
	assert_int_equal(p.plan.arena_bytes, p.g->arena_bytes);
	pipeline_free(&p);
	assert_null(p.g);
}

static void test_passes_off_and_the_histogram(void **state)
{
	(void)state;
	CodegenOptions cg = {.target = target_find("native"), .threads = 1, .blas = 1, .direct = 1};
	int off[PASS_MAX] = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *hist = open_memstream(&text, &len);
	PipelineOptions o = {.model = write_file("tiny.yml", tiny), .enabled = off, .cg = &cg, .histogram = hist};
	Pipeline p;
	Diag d = {{0}};
	assert_int_equal(pipeline_run(&o, &p, &d), 0);
	fclose(hist);
	assert_int_equal(graph_live_nodes(p.g), p.nodes_before_passes);
	for (int i = 0; i < n_passes; i++) {
		assert_false(p.passes.pass[i].enabled);
		assert_int_equal(p.passes.pass[i].n_removed, 0);
	}
	assert_null(p.passes.histogram); /* not left pointing at the caller's FILE */
	/* --conv direct: every convolution stays direct */
	assert_true(count_kernel(p.g, K_CONV2D) >= 3);
	assert_int_equal(count_kernel(p.g, K_CONV2D_PACKED), 0);
	/* info --passes: the imported graph, a line per pass, an empty line */
	assert_non_null(strstr(text, "imported "));
	for (int i = 0; i < n_passes; i++) {
		char line[64];
		snprintf(line, sizeof line, "%-10s (disabled)\n", passes[i].name);
		assert_non_null(strstr(text, line));
	}
	assert_true(len >= 2 && !strcmp(text + len - 2, "\n\n"));
	free(text);
	pipeline_free(&p);
}

static void test_failures_name_their_phase(void **state)
{
	(void)state;
	CodegenOptions cg = {.target = target_find("native"), .threads = 1};
	Trace t = {{0}, 0};
	Pipeline p;
	Diag d = {{0}};
	/* a place in the file: "3:1: ..." joins the model's name with ':' */
	PipelineOptions o = {.model = write_file("bad.yaml", "resnetc: 1\nstages: [2, 2\n"), .cg = &cg,
			     .callback = trace, .ctx = &t};
	assert_int_equal(pipeline_run(&o, &p, &d), -1);
	assert_int_equal(p.phase, PHASE_LOAD);
	assert_null(p.g);
	assert_string_equal(t.seen, "load+");
	assert_true(d.msg[0] >= '0' && d.msg[0] <= '9');
	assert_string_equal(pipeline_error_sep(&p, &d), ":");
	pipeline_free(&p);

	/* elsewhere ": " */
	o.model = "/nonexistent/model.onnx";
	assert_int_equal(pipeline_run(&o, &p, &d), -1);
	assert_int_equal(p.phase, PHASE_LOAD);
	assert_string_equal(p.format, "onnx");
	assert_string_equal(pipeline_error_sep(&p, &d), ": ");
	assert_null(strstr(d.msg, "/nonexistent")); /* the caller names the model */
	pipeline_free(&p);

	/* only the front end's and lowering's messages are placed in the file */
	Pipeline at = {.phase = PHASE_LOWER};
	Diag placed = {"7:10: a place"};
	assert_string_equal(pipeline_error_sep(&at, &placed), ":");
	at.phase = PHASE_PASSES;
	assert_string_equal(pipeline_error_sep(&at, &placed), ": ");
}

static void test_format_by_extension(void **state)
{
	(void)state;
	assert_true(pipeline_is_yaml("a/b.yaml"));
	assert_true(pipeline_is_yaml("b.yml"));
	assert_false(pipeline_is_yaml("b.onnx"));
	assert_false(pipeline_is_yaml("yaml"));
	assert_false(pipeline_is_yaml("b.yaml.onnx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phases_in_order_and_their_results),
		cmocka_unit_test(test_passes_off_and_the_histogram),
		cmocka_unit_test(test_failures_name_their_phase),
		cmocka_unit_test(test_format_by_extension),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
