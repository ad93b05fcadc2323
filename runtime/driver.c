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
 * This is the only runtime file that allocates memory or does I/O.
 */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ALIGN = RN_ALIGN, MAX_HEADER = 1 << 20 };

static const char *prog_name(const rn_model_desc *m)
{
	return m->name && m->name[0] ? m->name : "model";
}

static void report(const rn_model_desc *m, const char *file, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: error: ", prog_name(m));
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void format_shape(char *buf, size_t size, int rank, const int64_t *dims);

static void file_args(const rn_model_desc *m, FILE *f, int outputs)
{
	for (int i = 0; i < m->n_inputs; i++)
		fprintf(f, " %s.npy", m->inputs[i].name);
	for (int i = 0; outputs && i < m->n_outputs; i++)
		fprintf(f, outputs > 1 ? " [%s.npy]" : " %s.npy", m->outputs[i].name);
}

static int usage(const rn_model_desc *m, FILE *f)
{
	const char *p = prog_name(m);
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
		format_shape(shape, sizeof shape, m->inputs[i].rank, m->inputs[i].dims);
		fprintf(f, "  input  %s: %s %s\n", m->inputs[i].name, rn_dtype_name(m->inputs[i].dtype), shape);
	}
	for (int i = 0; i < m->n_outputs; i++) {
		format_shape(shape, sizeof shape, m->outputs[i].rank, m->outputs[i].dims);
		fprintf(f, "  output %s: %s %s\n", m->outputs[i].name, rn_dtype_name(m->outputs[i].dtype), shape);
	}
	fprintf(f, "\nExit status: 0 success, 1 bad input or failed run, 2 bad usage.\n");
	return 2;
}

/* ---- element types as numpy names them ---- */

static const char *npy_descr(int dtype)
{
	switch (dtype) {
	case RN_F32: return "<f4";
	case RN_F64: return "<f8";
	case RN_F16: return "<f2";
	case RN_BF16: return "<u2"; /* numpy has no bfloat16: its raw bits */
	case RN_I8: return "|i1";
	case RN_U8: return "|u1";
	case RN_I16: return "<i2";
	case RN_U16: return "<u2";
	case RN_I32: return "<i4";
	case RN_U32: return "<u4";
	case RN_I64: return "<i8";
	case RN_U64: return "<u8";
	case RN_BOOL: return "|b1";
	default: return NULL;
	}
}

/* One-byte types may be written with any byte-order mark. */
static int descr_matches(const char *descr, int dtype)
{
	const char *want = npy_descr(dtype);
	if (!want)
		return 0;
	if (strcmp(descr, want) == 0)
		return 1;
	return want[0] == '|' && (descr[0] == '<' || descr[0] == '>' || descr[0] == '=') &&
	       strcmp(descr + 1, want + 1) == 0;
}

static int host_is_big_endian(void)
{
	const uint16_t one = 1;
	unsigned char b;
	memcpy(&b, &one, 1);
	return b == 0;
}

/* .npy data is little-endian; on a big-endian host swap in place. */
static void to_from_little_endian(void *data, size_t n, size_t es)
{
	if (es < 2 || !host_is_big_endian())
		return;
	unsigned char *p = data;
	for (size_t i = 0; i < n; i++, p += es)
		for (size_t a = 0, b = es - 1; a < b; a++, b--) {
			unsigned char t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

static int64_t elems_of(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

/* "(1, 3, 224, 224)", "(5,)" or "()", as numpy prints a shape. */
static void format_shape(char *buf, size_t size, int rank, const int64_t *dims)
{
	size_t len = 0;
	len += (size_t)snprintf(buf + len, size - len, "(");
	for (int i = 0; i < rank && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
					(long long)dims[i]);
	if (len < size)
		snprintf(buf + len, size - len, rank == 1 ? ",)" : ")");
}

static void *alloc_aligned(size_t bytes)
{
	size_t rounded = (bytes + ALIGN - 1) / ALIGN * ALIGN;
	return aligned_alloc(ALIGN, rounded ? rounded : ALIGN);
}

/* ---- reading ---- */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

/* Finds key in the header dict and returns a pointer just past its ':'. */
static const char *dict_value(const char *hdr, const char *key)
{
	char pat[32];
	for (int q = 0; q < 2; q++) {
		snprintf(pat, sizeof pat, q ? "\"%s\"" : "'%s'", key);
		const char *p = strstr(hdr, pat);
		if (p) {
			p = skip_space(p + strlen(pat));
			return *p == ':' ? skip_space(p + 1) : NULL;
		}
	}
	return NULL;
}

typedef struct {
	char descr[16];
	int fortran;
	int rank;
	int64_t dims[RN_MAX_RANK];
} npy_header;

/* Parses the header dict; returns NULL or what is wrong with it. */
static const char *parse_header(const char *hdr, npy_header *h)
{
	const char *v = dict_value(hdr, "descr");
	if (!v || (*v != '\'' && *v != '"'))
		return "header has no 'descr' string";
	char quote = *v++;
	size_t n = 0;
	while (v[n] && v[n] != quote)
		n++;
	if (!v[n] || n >= sizeof h->descr)
		return "header's 'descr' is not a simple type";
	memcpy(h->descr, v, n);
	h->descr[n] = 0;

	v = dict_value(hdr, "fortran_order");
	if (!v)
		return "header has no 'fortran_order'";
	if (strncmp(v, "False", 5) == 0)
		h->fortran = 0;
	else if (strncmp(v, "True", 4) == 0)
		h->fortran = 1;
	else
		return "header's 'fortran_order' is neither True nor False";

	v = dict_value(hdr, "shape");
	if (!v || *v != '(')
		return "header has no 'shape' tuple";
	v = skip_space(v + 1);
	h->rank = 0;
	while (*v != ')') {
		if (h->rank == RN_MAX_RANK)
			return "shape has too many dimensions";
		char *end;
		errno = 0;
		long long d = strtoll(v, &end, 10);
		if (end == v || errno || d < 0)
			return "header's 'shape' is not a tuple of sizes";
		h->dims[h->rank++] = d;
		v = skip_space(end);
		if (*v == ',')
			v = skip_space(v + 1);
		else if (*v != ')')
			return "header's 'shape' is not a tuple of sizes";
	}
	return NULL;
}

static uint32_t read_le(const unsigned char *p, int bytes)
{
	uint32_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reads one input file into a fresh buffer; NULL after reporting why. */
static void *read_input(const rn_model_desc *m, const rn_io_desc *io, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		report(m, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	void *data = NULL;
	char *hdr = NULL;
	unsigned char pre[12];
	char shape[160], want_shape[160];
	npy_header h;
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
		report(m, path, "not a .npy file");
		goto out;
	}
	if (pre[6] < 1 || pre[6] > 3) {
		report(m, path, "unsupported .npy version %d.%d", pre[6], pre[7]);
		goto out;
	}
	uint32_t hlen;
	if (pre[6] == 1) {
		hlen = read_le(pre + 8, 2);
	} else {
		if (fread(pre + 10, 1, 2, f) != 2) {
			report(m, path, "truncated header");
			goto out;
		}
		hlen = read_le(pre + 8, 4);
	}
	if (hlen > MAX_HEADER) {
		report(m, path, "header of %lu bytes is implausibly large", (unsigned long)hlen);
		goto out;
	}
	hdr = malloc(hlen + 1);
	if (!hdr || fread(hdr, 1, hlen, f) != hlen) {
		report(m, path, hdr ? "truncated header" : "out of memory");
		goto out;
	}
	hdr[hlen] = 0;
	const char *why = parse_header(hdr, &h);
	if (why) {
		report(m, path, "%s", why);
		goto out;
	}
	if (h.fortran) {
		report(m, path, "fortran_order arrays are not supported; save a C-ordered array");
		goto out;
	}
	if (!descr_matches(h.descr, io->dtype)) {
		if (io->dtype == RN_BF16)
			report(m, path, "dtype '%s' does not match the model's input '%s' (bfloat16, "
			     "which must be given as its raw bits, dtype '<u2')", h.descr, io->name);
		else
			report(m, path, "dtype '%s' does not match the model's input '%s' (%s)",
			     h.descr, io->name, rn_dtype_name(io->dtype));
		goto out;
	}
	int same = h.rank == io->rank;
	for (int i = 0; same && i < h.rank; i++)
		same = h.dims[i] == io->dims[i];
	if (!same) {
		format_shape(shape, sizeof shape, h.rank, h.dims);
		format_shape(want_shape, sizeof want_shape, io->rank, io->dims);
		report(m, path, "shape %s does not match the model's input '%s' %s", shape,
		     io->name, want_shape);
		goto out;
	}
	size_t es = rn_dtype_size(io->dtype);
	size_t n = (size_t)elems_of(io->rank, io->dims);
	size_t bytes = n * es;
	data = alloc_aligned(bytes);
	if (!data) {
		report(m, path, "out of memory");
		goto out;
	}
	size_t got = fread(data, 1, bytes, f);
	if (got != bytes) {
		report(m, path, "truncated: expected %zu data bytes, found %zu", bytes, got);
		free(data);
		data = NULL;
		goto out;
	}
	if (fgetc(f) != EOF) {
		report(m, path, "trailing data after the %zu data bytes", bytes);
		free(data);
		data = NULL;
		goto out;
	}
	to_from_little_endian(data, n, es);
out:
	free(hdr);
	fclose(f);
	return data;
}

/* ---- writing ---- */

/* Writes a .npy v1.0 file; returns 0 or reports and returns -1. */
static int write_npy(const rn_model_desc *m, const char *path, const char *shown,
		     const rn_io_desc *io, void *data)
{
	char shape[160], dict[256];
	format_shape(shape, sizeof shape, io->rank, io->dims);
	int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
			  npy_descr(io->dtype), shape);
	/* pad with spaces so the data starts at a multiple of 64 bytes */
	size_t total = 10 + (size_t)dl + 1;
	size_t padded = (total + ALIGN - 1) / ALIGN * ALIGN;
	size_t hlen = padded - 10;
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
				  (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8) };
	size_t es = rn_dtype_size(io->dtype);
	size_t n = (size_t)elems_of(io->rank, io->dims);
	FILE *f = fopen(path, "wb");
	if (!f) {
		report(m, shown, "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)dl, f) == (size_t)dl;
	for (size_t i = 10 + (size_t)dl; ok && i < padded - 1; i++)
		ok = fputc(' ', f) != EOF;
	ok = ok && fputc('\n', f) != EOF;
	to_from_little_endian(data, n, es);
	ok = ok && fwrite(data, 1, n * es, f) == n * es;
	to_from_little_endian(data, n, es);
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		report(m, shown, "write failed: %s", strerror(errno));
		remove(path);
		return -1;
	}
	return 0;
}

static const char *run_error_name(int rc)
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

static int bench(const rn_model_desc *m, long reps, void *ws, const void *const *in,
		 void *const *out)
{
	double *t = malloc((size_t)reps * sizeof *t);
	if (!t) {
		report(m, NULL, "out of memory");
		return 1;
	}
	int rc = m->run(ws, in, out); /* warm-up: page in weights and buffers */
	for (long r = 0; rc == 0 && r < reps; r++) {
		double t0 = now_ms();
		rc = m->run(ws, in, out);
		t[r] = now_ms() - t0;
	}
	if (rc != 0) {
		report(m, NULL, "run failed with code %d (%s)", rc, run_error_name(rc));
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

static int profile(const rn_model_desc *m, void *ws, const void *const *in, void *const *out)
{
	int nl = m->n_layers;
	if (!m->layers || nl <= 0) {
		report(m, NULL, "this model was built without a layer table");
		return 1;
	}
	prof_ms = calloc((size_t)nl * PROF_RUNS, sizeof *prof_ms);
	double run_ms[PROF_RUNS];
	if (!prof_ms) {
		report(m, NULL, "out of memory");
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
		report(m, NULL, "run failed with code %d (%s)", rc, run_error_name(rc));
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
static char **read_labels(const rn_model_desc *m, const char *path, int64_t classes, char **text)
{
	enum { MAX_BYTES = 64 << 20 };
	FILE *f = fopen(path, "rb");
	if (!f) {
		report(m, path, "cannot open: %s", strerror(errno));
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
		report(m, path, oom ? "out of memory" : err ? "read error" : "larger than 64 MiB; not a labels file");
		free(buf);
		return NULL;
	}
	if (!buf && !(buf = malloc(1))) {
		report(m, path, "out of memory");
		return NULL;
	}
	buf[len] = 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	int64_t n = len ? 1 : 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	if (n != classes) {
		report(m, path, "%lld label(s) for the model's %lld classes (one name per line, in class order)",
		       (long long)n, (long long)classes);
		free(buf);
		return NULL;
	}
	char **v = malloc((size_t)(n ? n : 1) * sizeof *v);
	if (!v) {
		report(m, path, "out of memory");
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
static int print_top(const rn_model_desc *m, const void *out0, long k, char **labels)
{
	const rn_io_desc *io = &m->outputs[0];
	int64_t classes = io->rank ? io->dims[io->rank - 1] : 1;
	int64_t items = classes ? elems_of(io->rank, io->dims) / classes : 0;
	double *p = malloc((size_t)(classes ? classes : 1) * sizeof *p);
	int64_t *best = malloc((size_t)(classes ? classes : 1) * sizeof *best);
	if (!p || !best) {
		free(p);
		free(best);
		report(m, NULL, "out of memory");
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

int rn_driver_main(const rn_model_desc *m, int argc, char **argv)
{
	int ni = m->n_inputs, no = m->n_outputs;
	long reps = 0, top = 0, threads = 0;
	int prof = 0, nf = 0;
	const char *labels_path = NULL;
	char **in_paths, **out_paths = NULL, **labels = NULL, *labels_text = NULL;
	char **files = calloc((size_t)argc + 1, sizeof *files);
	if (!files) {
		report(m, NULL, "out of memory");
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
			char *end;
			long max = a[2] == 'b' ? 1000000 : 1000000000;
			if (i + 1 >= argc) {
				report(m, NULL, "%s needs a count", a);
				free(files);
				return usage(m, stderr);
			}
			const char *v = argv[++i];
			errno = 0;
			long n = strtol(v, &end, 10);
			if (*v == 0 || *end || errno || n < 1 || n > max) {
				report(m, NULL, "%s: '%s' is not a count from 1 to %ld", a[2] == 'b' ? "--bench N" : "--top K",
				       v, max);
				free(files);
				return usage(m, stderr);
			}
			*(a[2] == 'b' ? &reps : &top) = n;
		} else if (strcmp(a, "--threads") == 0) {
			char *end;
			long max = m->max_threads > 1 ? m->max_threads : 1;
			const char *v = i + 1 < argc ? argv[++i] : "";
			errno = 0;
			long n = strtol(v, &end, 10);
			if (*v == 0 || *end || errno || n < 1 || n > max) {
				report(m, NULL, "--threads T: '%s' is not a count from 1 to %ld (the compiled --threads)", v, max);
				free(files);
				return usage(m, stderr);
			}
			threads = n;
		} else if (strcmp(a, "--labels") == 0) {
			if (i + 1 >= argc) {
				report(m, NULL, "--labels needs a file");
				free(files);
				return usage(m, stderr);
			}
			labels_path = argv[++i];
		} else if (a[0] == '-' && a[1] == '-') {
			report(m, NULL, "unknown option '%s'", a);
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
		report(m, NULL, "%s", why);
		free(files);
		return usage(m, stderr);
	}
	in_paths = files;
	if (nf == ni + no && !reps && !prof)
		out_paths = files + ni;

	if (threads && m->set_threads && m->set_threads((int)threads) != 0) {
		report(m, NULL, "--threads %ld: the model refused it", threads);
		free(files);
		return 1;
	}
	int status = 1;
	void **in = calloc((size_t)ni + 1, sizeof *in);
	void **out = calloc((size_t)no + 1, sizeof *out);
	char **tmp = calloc((size_t)no + 1, sizeof *tmp);
	void *ws = alloc_aligned(m->workspace_bytes);
	if (!in || !out || !tmp || !ws) {
		report(m, NULL, "out of memory");
		goto done;
	}
	if (labels_path) {
		const rn_io_desc *o0 = &m->outputs[0];
		if (!(labels = read_labels(m, labels_path, o0->dims[o0->rank - 1], &labels_text)))
			goto done;
	}
	for (int i = 0; i < ni; i++)
		if (!(in[i] = read_input(m, &m->inputs[i], in_paths[i])))
			goto done;
	for (int i = 0; i < no; i++) {
		const rn_io_desc *io = &m->outputs[i];
		out[i] = alloc_aligned((size_t)elems_of(io->rank, io->dims) * rn_dtype_size(io->dtype));
		if (!out[i]) {
			report(m, NULL, "out of memory");
			goto done;
		}
	}
	if (reps) {
		status = bench(m, reps, ws, (const void *const *)in, out);
		goto done;
	}
	if (prof) {
		status = profile(m, ws, (const void *const *)in, out);
		goto done;
	}
	int rc = m->run(ws, (const void *const *)in, out);
	if (rc != 0) {
		report(m, NULL, "run failed with code %d (%s)", rc, run_error_name(rc));
		goto done;
	}
	if (top && print_top(m, out[0], top, labels) != 0)
		goto done;
	if (!out_paths) {
		status = fflush(stdout) == 0 ? 0 : 1;
		goto done;
	}
	/* all outputs to temporary files first, then rename them all */
	for (int i = 0; i < no; i++) {
		size_t len = strlen(out_paths[i]) + 16;
		if (!(tmp[i] = malloc(len))) {
			report(m, NULL, "out of memory");
			goto done;
		}
		snprintf(tmp[i], len, "%s.tmp%d", out_paths[i], i);
		if (write_npy(m, tmp[i], out_paths[i], &m->outputs[i], out[i]) != 0) {
			free(tmp[i]);
			tmp[i] = NULL;
			goto done;
		}
	}
	for (int i = 0; i < no; i++) {
		if (rename(tmp[i], out_paths[i]) != 0) {
			report(m, out_paths[i], "cannot rename '%s': %s", tmp[i], strerror(errno));
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
