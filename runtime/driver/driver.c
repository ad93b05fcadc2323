/*
 * The generated program's main: reads the model's inputs from .npy files,
 * runs the model, writes its outputs as .npy files, or times it.
 *
 *   NAME IN0.npy [IN1.npy ...] OUT0.npy [...]   run once
 *   NAME --bench N IN0.npy [...]                warm up, time N runs,
 *                                               print median_ms=<ms>
 *   NAME --profile IN0.npy [...]                per-layer time table
 *   NAME --top K [--labels FILE] IN0.npy [...] [OUT0.npy ...]
 *                                               the K best classes per
 *                                               batch item, with scores
 *   NAME --help
 * Any mode takes --threads T (1 <= T <= the compiled --threads).
 *
 * Every problem is one line on stderr, "NAME: error: FILE: what", and exit
 * status 1 (2 for usage errors). Inputs are checked completely before the
 * model runs, and outputs are written to temporary names and renamed only
 * once all of them are complete, so a failure leaves no output file.
 * The driver (this folder) is the only part of the runtime that allocates
 * memory or does I/O (driver.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void file_args(const rn_model_desc *m, FILE *f, int outputs)
{
	for (int i = 0; i < m->n_inputs; i++)
		fprintf(f, " %s.npy", m->inputs[i].name);
	for (int i = 0; outputs && i < m->n_outputs; i++)
		fprintf(f, outputs > 1 ? " [%s.npy]" : " %s.npy", m->outputs[i].name);
}

static int usage(const rn_model_desc *m, FILE *f)
{
	const char *p = rn_drv_prog_name(m);
	const char *first = m->n_outputs ? m->outputs[0].name : "output";
	char shape[160];
	fprintf(f, "usage: %s", p);
	file_args(m, f, 1);
	fprintf(f, "\n       %s --top K [--labels FILE]", p);
	file_args(m, f, 2);
	fprintf(f, "\n       %s --bench N", p);
	file_args(m, f, 0);
	fprintf(f, "\n       %s --profile", p);
	file_args(m, f, 0);
	fprintf(f, "\n       %s --help\n", p);
	if (m->max_threads > 1)
		fprintf(f, "       (any of these with --threads T, 1 <= T <= %d)\n", m->max_threads);
	if (f != stdout) {
		fprintf(f, "Run %s --help for more.\n", p);
		return 2;
	}
	fprintf(f, "\nRuns the model on .npy inputs and writes its outputs as .npy files (written\n"
		   "completely or not at all).\n"
		   "  --top K         print the K best classes of each batch item with their\n"
		   "                  scores: the softmax of output '%s' (its values as they\n"
		   "                  are when every row already sums to 1); output files\n"
		   "                  are optional with --top\n"
		   "  --labels FILE   class names for --top: one per line, in class order\n"
		   "  --bench N       time N runs after a warm-up; prints median_ms=<ms>\n"
		   "  --profile       time each layer (median of 21 runs): ms, GFLOP/s, share\n"
		   "  --threads T     run on T threads, 1 <= T <= %d (the compiled --threads,\n"
		   "                  also the default)\n"
		   "  --help          this help\n\n", first, m->max_threads > 1 ? m->max_threads : 1);
	for (int i = 0; i < m->n_inputs; i++) {
		rn_drv_format_shape(shape, sizeof shape, m->inputs[i].rank, m->inputs[i].dims);
		fprintf(f, "  input  %s: %s %s\n", m->inputs[i].name, rn_dtype_name(m->inputs[i].dtype), shape);
	}
	for (int i = 0; i < m->n_outputs; i++) {
		rn_drv_format_shape(shape, sizeof shape, m->outputs[i].rank, m->outputs[i].dims);
		fprintf(f, "  output %s: %s %s\n", m->outputs[i].name, rn_dtype_name(m->outputs[i].dtype), shape);
	}
	fprintf(f, "\nExit status: 0 success, 1 bad input or failed run, 2 bad usage.\n");
	return 2;
}

/* v is a whole decimal count in 1..max: 1 and *n set, else 0. */
static int parse_count(const char *v, long max, long *n)
{
	char *end;
	errno = 0;
	long k = strtol(v, &end, 10);
	if (*v == 0 || *end || errno || k < 1 || k > max)
		return 0;
	*n = k;
	return 1;
}

int rn_driver_main(const rn_model_desc *m, int argc, char **argv)
{
	int ni = m->n_inputs, no = m->n_outputs;
	long reps = 0, top = 0, threads = 0;
	int prof = 0, nf = 0;
	const char *labels_path = NULL;
	char **in_paths, **out_paths = NULL, **labels = NULL, *labels_text = NULL;
	char **files = calloc((size_t)argc + 1, sizeof *files);
	if (!files) {
		rn_drv_report(m, NULL, "out of memory");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			free(files);
			usage(m, stdout);
			return 0;
		} else if (strcmp(a, "--profile") == 0) {
			prof = 1;
		} else if (strcmp(a, "--bench") == 0 || strcmp(a, "--top") == 0) {
			long max = a[2] == 'b' ? 1000000 : 1000000000, n;
			if (i + 1 >= argc) {
				rn_drv_report(m, NULL, "%s needs a count", a);
				free(files);
				return usage(m, stderr);
			}
			const char *v = argv[++i];
			if (!parse_count(v, max, &n)) {
				rn_drv_report(m, NULL, "%s: '%s' is not a count from 1 to %ld", a[2] == 'b' ? "--bench N" : "--top K",
				       v, max);
				free(files);
				return usage(m, stderr);
			}
			*(a[2] == 'b' ? &reps : &top) = n;
		} else if (strcmp(a, "--threads") == 0) {
			long max = m->max_threads > 1 ? m->max_threads : 1;
			const char *v = i + 1 < argc ? argv[++i] : "";
			if (!parse_count(v, max, &threads)) {
				rn_drv_report(m, NULL, "--threads T: '%s' is not a count from 1 to %ld (the compiled --threads)", v, max);
				free(files);
				return usage(m, stderr);
			}
		} else if (strcmp(a, "--labels") == 0) {
			if (i + 1 >= argc) {
				rn_drv_report(m, NULL, "--labels needs a file");
				free(files);
				return usage(m, stderr);
			}
			labels_path = argv[++i];
		} else if (a[0] == '-' && a[1] == '-') {
			rn_drv_report(m, NULL, "unknown option '%s'", a);
			free(files);
			return usage(m, stderr);
		} else {
			files[nf++] = argv[i];
		}
	}
	const char *why = NULL;
	char msg[160];
	if ((reps != 0) + prof + (top != 0) > 1)
		why = "--bench, --profile and --top are separate modes; give one";
	else if (labels_path && !top)
		why = "--labels goes with --top K";
	else if (top && (no < 1 || m->outputs[0].dtype != RN_F32 || m->outputs[0].rank < 1))
		why = "--top needs a model whose first output is a float32 array of class scores";
	else if (prof && nf != ni)
		snprintf(msg, sizeof msg, "--profile takes %d input file(s)", ni), why = msg;
	else if (reps && nf != ni)
		snprintf(msg, sizeof msg, "--bench takes N and then %d input file(s)", ni), why = msg;
	else if (top && nf != ni && nf != ni + no)
		snprintf(msg, sizeof msg, "--top K takes %d input file(s), then optionally %d output file(s)", ni, no),
			why = msg;
	else if (!reps && !prof && !top && nf != ni + no)
		snprintf(msg, sizeof msg, "expected %d input and %d output file(s), got %d argument(s)", ni, no, nf),
			why = msg;
	if (why) {
		rn_drv_report(m, NULL, "%s", why);
		free(files);
		return usage(m, stderr);
	}
	in_paths = files;
	if (nf == ni + no && !reps && !prof)
		out_paths = files + ni;

	if (threads && m->set_threads && m->set_threads((int)threads) != 0) {
		rn_drv_report(m, NULL, "--threads %ld: the model refused it", threads);
		free(files);
		return 1;
	}
	int status = 1;
	void **in = calloc((size_t)ni + 1, sizeof *in);
	void **out = calloc((size_t)no + 1, sizeof *out);
	char **tmp = calloc((size_t)no + 1, sizeof *tmp);
	void *ws = rn_drv_alloc(m->workspace_bytes);
	if (!in || !out || !tmp || !ws) {
		rn_drv_report(m, NULL, "out of memory");
		goto done;
	}
	if (labels_path) {
		const rn_io_desc *o0 = &m->outputs[0];
		if (!(labels = rn_drv_read_labels(m, labels_path, o0->dims[o0->rank - 1], &labels_text)))
			goto done;
	}
	for (int i = 0; i < ni; i++)
		if (!(in[i] = rn_npy_read(m, &m->inputs[i], in_paths[i])))
			goto done;
	for (int i = 0; i < no; i++) {
		const rn_io_desc *io = &m->outputs[i];
		out[i] = rn_drv_alloc((size_t)rn_drv_elems(io->rank, io->dims) * rn_dtype_size(io->dtype));
		if (!out[i]) {
			rn_drv_report(m, NULL, "out of memory");
			goto done;
		}
	}
	if (reps) {
		status = rn_drv_bench(m, reps, ws, (const void *const *)in, out);
		goto done;
	}
	if (prof) {
		status = rn_drv_profile(m, ws, (const void *const *)in, out);
		goto done;
	}
	int rc = m->run(ws, (const void *const *)in, out);
	if (rc != 0) {
		rn_drv_report(m, NULL, "run failed with code %d (%s)", rc, rn_drv_error_name(rc));
		goto done;
	}
	if (top && rn_drv_print_top(m, out[0], top, labels) != 0)
		goto done;
	if (!out_paths) {
		status = fflush(stdout) == 0 ? 0 : 1;
		goto done;
	}
	/* all outputs to temporary files first, then rename them all */
	for (int i = 0; i < no; i++) {
		size_t len = strlen(out_paths[i]) + 16;
		if (!(tmp[i] = malloc(len))) {
			rn_drv_report(m, NULL, "out of memory");
			goto done;
		}
		snprintf(tmp[i], len, "%s.tmp%d", out_paths[i], i);
		if (rn_npy_write(m, tmp[i], out_paths[i], &m->outputs[i], out[i]) != 0) {
			free(tmp[i]);
			tmp[i] = NULL;
			goto done;
		}
	}
	for (int i = 0; i < no; i++) {
		if (rename(tmp[i], out_paths[i]) != 0) {
			rn_drv_report(m, out_paths[i], "cannot rename '%s': %s", tmp[i], strerror(errno));
			for (int j = 0; j < i; j++) /* all outputs or none */
				remove(out_paths[j]);
			goto done;
		}
		free(tmp[i]);
		tmp[i] = NULL;
	}
	status = 0;
done:
	for (int i = 0; tmp && i < no; i++) {
		if (tmp[i])
			remove(tmp[i]);
		free(tmp[i]);
	}
	for (int i = 0; in && i < ni; i++)
		free(in[i]);
	for (int i = 0; out && i < no; i++)
		free(out[i]);
	free(in);
	free(out);
	free(tmp);
	free(ws);
	free(files);
	free(labels);
	free(labels_text);
	return status;
}
