/* The driver's modes besides a plain run: --bench, --profile, --top
 * (driver.h). */
#define _POSIX_C_SOURCE 200809L

#include "driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rn_drv_error_name(int rc)
{
	switch (rc) {
	case RN_E_INDEX: return "Gather index out of range";
	case RN_E_DIVZERO: return "integer division by zero";
	case RN_E_UNSUPPORTED: return "unsupported type or mode";
	case RN_E_RANGE: return "argument out of range";
	default: return "unknown error";
	}
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int rn_drv_bench(const rn_model_desc *m, long reps, void *ws, const void *const *in,
		 void *const *out)
{
	double *t = malloc((size_t)reps * sizeof *t);
	if (!t) {
		rn_drv_report(m, NULL, "out of memory");
		return 1;
	}
	int rc = m->run(ws, in, out); /* warm-up: page in weights and buffers */
	for (long r = 0; rc == 0 && r < reps; r++) {
		double t0 = now_ms();
		rc = m->run(ws, in, out);
		t[r] = now_ms() - t0;
	}
	if (rc != 0) {
		rn_drv_report(m, NULL, "run failed with code %d (%s)", rc, rn_drv_error_name(rc));
		free(t);
		return 1;
	}
	qsort(t, (size_t)reps, sizeof *t, cmp_double);
	double med = reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
	printf("median_ms=%.3f\n", med);
	free(t);
	return 0;
}

/* --profile: per-layer times through rn_profile_hook, PROF_RUNS runs, the
 * median of each layer's (one slow run on a busy machine skews a mean). */
enum { PROF_RUNS = 21 };
static double *prof_ms, prof_t0;
static int prof_run;

static void prof_hook(int layer, int end)
{
	if (!end)
		prof_t0 = now_ms();
	else
		prof_ms[(size_t)layer * PROF_RUNS + (size_t)prof_run] += now_ms() - prof_t0;
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int rn_drv_profile(const rn_model_desc *m, void *ws, const void *const *in, void *const *out)
{
	int nl = m->n_layers;
	if (!m->layers || nl <= 0) {
		rn_drv_report(m, NULL, "this model was built without a layer table");
		return 1;
	}
	prof_ms = calloc((size_t)nl * PROF_RUNS, sizeof *prof_ms);
	double run_ms[PROF_RUNS];
	if (!prof_ms) {
		rn_drv_report(m, NULL, "out of memory");
		return 1;
	}
	int rc = m->run(ws, in, out); /* warm-up */
	rn_profile_hook = prof_hook;
	for (prof_run = 0; rc == 0 && prof_run < PROF_RUNS; prof_run++) {
		double t0 = now_ms();
		rc = m->run(ws, in, out);
		run_ms[prof_run] = now_ms() - t0;
	}
	rn_profile_hook = NULL;
	if (rc != 0) {
		rn_drv_report(m, NULL, "run failed with code %d (%s)", rc, rn_drv_error_name(rc));
		free(prof_ms);
		return 1;
	}
	/* row i's median into prof_ms[i]: rows before i are done with */
	double total = median_of(run_ms, PROF_RUNS);
	for (int i = 0; i < nl; i++)
		prof_ms[i] = median_of(prof_ms + (size_t)i * PROF_RUNS, PROF_RUNS);
	int wn = 5, wo = 2, wk = 6;
	for (int i = 0; i < nl; i++) {
		int a = (int)strlen(m->layers[i].name), b = (int)strlen(m->layers[i].op);
		int c = (int)strlen(m->layers[i].kernel);
		wn = a > wn ? (a > 48 ? 48 : a) : wn;
		wo = b > wo ? b : wo;
		wk = c > wk ? c : wk;
	}
	printf("%-*s  %-*s  %-*s %9s %9s %7s\n", wn, "layer", wo, "op", wk, "kernel", "ms", "GFLOP/s", "share");
	double flops = 0, sum = 0;
	for (int i = 0; i < nl; i++)
		sum += prof_ms[i];
	for (int i = 0; i < nl; i++) {
		const rn_layer_desc *l = &m->layers[i];
		double ms = prof_ms[i];
		flops += l->flops;
		printf("%-*.*s  %-*s  %-*s %9.3f ", wn, wn, l->name, wo, l->op, wk, l->kernel, ms);
		if (l->flops > 0 && ms > 0)
			printf("%9.1f", l->flops / (ms * 1e6));
		else
			printf("%9s", "-");
		printf(" %6.1f%%\n", sum > 0 ? 100.0 * ms / sum : 0.0);
	}
	printf("total: %.3f ms per run (median of %d), %.3f GFLOP, %.1f GFLOP/s; layers %.3f ms\n", total, PROF_RUNS,
	       flops / 1e9, total > 0 ? flops / (total * 1e6) : 0.0, sum);
	free(prof_ms);
	return 0;
}

/* ---- --top K [--labels FILE] ---- */

/* Reads FILE as one class name per line (trailing empty lines ignored);
 * NULL after reporting unless it holds exactly `classes` names. */
char **rn_drv_read_labels(const rn_model_desc *m, const char *path, int64_t classes, char **text)
{
	enum { MAX_BYTES = 64 << 20 };
	FILE *f = fopen(path, "rb");
	if (!f) {
		rn_drv_report(m, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* grows with what the file holds, up to MAX_BYTES */
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = 0, oom = 0;
	for (;;) {
		if (len == cap) {
			size_t want = cap ? cap * 2 : 4096;
			want = want > MAX_BYTES + 1 ? MAX_BYTES + 1 : want;
			char *nb = want > cap ? realloc(buf, want + 1) : NULL;
			if (!nb) {
				oom = want > cap;
				break;
			}
			buf = nb;
			cap = want;
		}
		size_t k = fread(buf + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
	}
	err = ferror(f);
	fclose(f);
	if (oom || err || len > MAX_BYTES) {
		rn_drv_report(m, path, oom ? "out of memory" : err ? "read error" : "larger than 64 MiB; not a labels file");
		free(buf);
		return NULL;
	}
	if (!buf && !(buf = malloc(1))) {
		rn_drv_report(m, path, "out of memory");
		return NULL;
	}
	buf[len] = 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	int64_t n = len ? 1 : 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	if (n != classes) {
		rn_drv_report(m, path, "%lld label(s) for the model's %lld classes (one name per line, in class order)",
		       (long long)n, (long long)classes);
		free(buf);
		return NULL;
	}
	char **v = malloc((size_t)(n ? n : 1) * sizeof *v);
	if (!v) {
		rn_drv_report(m, path, "out of memory");
		free(buf);
		return NULL;
	}
	char *p = buf;
	for (int64_t i = 0; i < n; i++) {
		v[i] = p;
		char *nl = strchr(p, '\n');
		if (nl) {
			*nl = 0;
			p = nl + 1;
		}
		size_t k = strlen(v[i]);
		if (k && v[i][k - 1] == '\r')
			v[i][k - 1] = 0;
	}
	*text = buf;
	return v;
}

/* Scores of one row: the softmax of the values, or the values themselves
 * when they already are probabilities (a model that ends in Softmax). */
static void row_scores(const float *x, int64_t n, double *p)
{
	double sum = 0;
	int probs = 1;
	for (int64_t i = 0; i < n; i++) {
		probs &= x[i] >= 0.0f && x[i] <= 1.0f;
		sum += x[i];
	}
	if (probs && fabs(sum - 1.0) <= 1e-3) {
		for (int64_t i = 0; i < n; i++)
			p[i] = x[i];
		return;
	}
	double mx = -INFINITY;
	for (int64_t i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	sum = 0;
	for (int64_t i = 0; i < n; i++) {
		p[i] = isfinite(mx) ? exp((double)x[i] - mx) : (x[i] == mx);
		sum += p[i];
	}
	for (int64_t i = 0; i < n; i++)
		p[i] = sum > 0 ? p[i] / sum : 0;
}

/* Prints "item rank class score [label]" rows for the first output,
 * read as [items, classes] (classes: the last dimension). */
int rn_drv_print_top(const rn_model_desc *m, const void *out0, long k, char **labels)
{
	const rn_io_desc *io = &m->outputs[0];
	int64_t classes = io->rank ? io->dims[io->rank - 1] : 1;
	int64_t items = classes ? rn_drv_elems(io->rank, io->dims) / classes : 0;
	double *p = malloc((size_t)(classes ? classes : 1) * sizeof *p);
	int64_t *best = malloc((size_t)(classes ? classes : 1) * sizeof *best);
	if (!p || !best) {
		free(p);
		free(best);
		rn_drv_report(m, NULL, "out of memory");
		return 1;
	}
	if (k > classes)
		k = (long)classes;
	printf("%4s %4s %6s %8s%s\n", "item", "rank", "class", "score", labels ? "  label" : "");
	for (int64_t it = 0; it < items; it++) {
		row_scores((const float *)out0 + it * classes, classes, p);
		/* selection of the k best; ties go to the lower class */
		for (int64_t i = 0; i < classes; i++)
			best[i] = i;
		for (long r = 0; r < k; r++) {
			int64_t b = r;
			for (int64_t i = r + 1; i < classes; i++)
				if (p[best[i]] > p[best[b]] || (p[best[i]] == p[best[b]] && best[i] < best[b]))
					b = i;
			int64_t t = best[r];
			best[r] = best[b];
			best[b] = t;
			printf("%4lld %4ld %6lld %8.4f%s%s\n", (long long)it, r + 1, (long long)best[r], p[best[r]],
			       labels ? "  " : "", labels ? labels[best[r]] : "");
		}
	}
	free(p);
	free(best);
	return 0;
}
