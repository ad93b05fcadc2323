/*
 * conformance_runner: runs the ONNX project's backend node tests through
 * resnetc and checks the generated C against the reference outputs.
 *
 *   conformance_runner [--resnetc PATH] [--rt LIB] [--jobs N] [--timeout S]
 *                      [--keep] [--filter SUBSTR] [-v] [--self-test] [TESTS_DIR...]
 *
 * Each TESTS_DIR is a test set, a folder of test directories (default:
 * Debian's libonnx-testdata sets and ../shared/onnx-node-tests, those that
 * exist). A test directory holds model.onnx and test_data_set_0/{input,
 * output}_N.pb (ONNX TensorProto). For each one the runner decides from the
 * model (and a training_mode flag's test value) whether the case is in
 * scope (operator set, element types, variants such as training mode or 3-D
 * convolution); an in-scope
 * case must then compile with resnetc, build with cc against the prebuilt
 * runtime archive, run, and match every output:
 *   dtype and shape exactly; floats |actual - expected| <= atol + rtol*|expected|
 *   (numpy.testing.assert_allclose with rtol=1e-3, atol=1e-7, which is how
 *   ONNX's own backend test loader judges these cases); integers and bools
 *   exactly.
 *
 * Each case runs in its own forked worker, in its own process group and temp
 * directory, so a crash or a hang (timeout) of anything it starts is one
 * failed case, never the runner's. The last line printed is
 *   conformance: N passed, M failed, K skipped
 * and the exit status is 0 iff nothing failed (2 for bad usage or setup).
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "onnx.pb-c.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_RANK 16
#define MSG_LEN 1024

/* ---- Options ---- */

typedef struct {
	const char *resnetc;    /* the compiler under test */
	const char *rt;         /* runtime archive, driver included */
	const char *cc;         /* C compiler for the generated code */
	const char **roots;     /* test sets: folders of test directories */
	int n_roots;
	const char *filter;
	const char *tmp_root;
	int jobs;
	int timeout_s;
	int keep;
	int verbose;
	int self_test;  /* check the runner's own .pb/.npy/compare code */
} options;

/* ---- Small helpers ---- */

/* Formats into err (MSG_LEN bytes) and returns -1, so `return fail(...)`. */
static int fail(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, MSG_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		perror("conformance: strdup");
		exit(2);
	}
	return p;
}

static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	if (!s) {
		perror("conformance: malloc");
		exit(2);
	}
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The last two components of a path: enough to name a file in a message
 * ("test_data_set_0/input_0.pb", "rnconf.test_x.AbC123/out_0.npy"). */
static const char *short_path(const char *path)
{
	const char *last = strrchr(path, '/');
	if (!last)
		return path;
	const char *p = last;
	while (p > path && p[-1] != '/')
		p--;
	return p;
}

/* Whole file into a malloc'ed buffer (one spare NUL byte after the end). */
static int read_file(const char *path, uint8_t **buf, size_t *len, char *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, "%s: %s", short_path(path), strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		if (n + 1 >= cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	int bad = !b || ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		return fail(err, "%s: read error", short_path(path));
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

/* The line of a text file that says what went wrong: the first one that
 * contains one of `wants` (cc's "error:" or the linker's "undefined
 * reference", not the "In function" preamble or collect2's summary),
 * else the first non-blank one. */
static void first_line(const char *path, const char *const *wants, char *out, size_t outlen)
{
	uint8_t *buf;
	size_t len;
	char err[MSG_LEN];
	out[0] = 0;
	if (read_file(path, &buf, &len, err) != 0)
		return;
	char *text = (char *)buf, *pick = NULL;
	for (char *line = text; wants && *line && !pick;) {
		size_t n = strcspn(line, "\n");
		char saved = line[n];
		line[n] = 0;
		for (const char *const *w = wants; *w && !pick; w++)
			if (strstr(line, *w) && strncmp(line, "collect2", 8) != 0)
				pick = line;
		line[n] = saved;
		line += n + (saved == '\n');
	}
	if (!pick) {
		pick = text;
		while (*pick == '\n' || *pick == '\r' || *pick == ' ' || *pick == '\t')
			pick++;
	}
	size_t n = strcspn(pick, "\r\n");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, pick, n);
	out[n] = 0;
	free(buf);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* best effort: a leftover file must not stop the walk */
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- Element types ---- */

typedef struct {
	int onnx;          /* TensorProto.DataType */
	const char *name;
	const char *descr; /* .npy dtype as numpy writes it */
	size_t size;
	char kind;         /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
} dtype_info;

static const dtype_info DTYPES[] = {
	{1, "float32", "<f4", 4, 'f'},  {2, "uint8", "|u1", 1, 'u'},
	{3, "int8", "|i1", 1, 'i'},     {4, "uint16", "<u2", 2, 'u'},
	{5, "int16", "<i2", 2, 'i'},    {6, "int32", "<i4", 4, 'i'},
	{7, "int64", "<i8", 8, 'i'},    {9, "bool", "|b1", 1, 'b'},
	{10, "float16", "<f2", 2, 'f'}, {11, "float64", "<f8", 8, 'f'},
	{12, "uint32", "<u4", 4, 'u'},  {13, "uint64", "<u8", 8, 'u'},
};

static const dtype_info *dtype_find(int onnx)
{
	for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
		if (DTYPES[i].onnx == onnx)
			return &DTYPES[i];
	return NULL;
}

static const char *dtype_name(int onnx)
{
	static const char *other[] = {
		[0] = "undefined", [8] = "string", [14] = "complex64",
		[15] = "complex128", [16] = "bfloat16", [17] = "float8e4m3fn",
		[18] = "float8e4m3fnuz", [19] = "float8e5m2", [20] = "float8e5m2fnuz",
		[21] = "uint4", [22] = "int4", [23] = "float4e2m1",
		[24] = "float8e8m0", [25] = "uint2", [26] = "int2",
	};
	const dtype_info *d = dtype_find(onnx);
	if (d)
		return d->name;
	if (onnx >= 0 && onnx < (int)(sizeof other / sizeof other[0]) && other[onnx])
		return other[onnx];
	return "unknown";
}

/* Why a case holding a tensor of this type is skipped, or NULL if the
 * runner can feed and check it. */
static const char *dtype_skip_reason(int onnx)
{
	if (dtype_find(onnx))
		return NULL;
	if (onnx == 16)
		return "bfloat16 has no .npy type";
	if (onnx >= 17 && onnx <= 26)
		return "8-bit float/4-bit/2-bit types not supported";
	if (onnx == 8)
		return "string tensors not supported";
	if (onnx == 14 || onnx == 15)
		return "complex types not supported";
	return "unknown element type";
}

/* IEEE half to float, exact (every half is a float). */
static float half_to_float(uint16_t h)
{
	int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
	float v;
	if (exp == 0)
		v = ldexpf((float)man, -24);
	else if (exp == 31)
		v = man ? NAN : INFINITY;
	else
		v = ldexpf((float)(man | 0x400), exp - 25);
	return sign ? -v : v;
}

/* ---- Tensors ---- */

typedef struct {
	int dtype;
	int rank;
	int64_t dims[MAX_RANK];
	size_t count;
	uint8_t *data; /* count * size bytes, little-endian */
} tensor;

static void tensor_free(tensor *t)
{
	free(t->data);
	t->data = NULL;
}

static void shape_str(const tensor *t, char *out, size_t n)
{
	size_t k = (size_t)snprintf(out, n, "[");
	for (int i = 0; i < t->rank && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, i ? ",%lld" : "%lld", (long long)t->dims[i]);
	if (k < n)
		snprintf(out + k, n - k, "]");
}

static int set_shape(tensor *t, size_t rank, const int64_t *dims, const char *what, char *err)
{
	if (rank > MAX_RANK)
		return fail(err, "%s: rank %zu exceeds %d", what, rank, MAX_RANK);
	t->rank = (int)rank;
	size_t count = 1;
	for (size_t i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return fail(err, "%s: negative dimension %lld", what, (long long)dims[i]);
		t->dims[i] = dims[i];
		if (dims[i] && count > (SIZE_MAX / 16) / (size_t)dims[i])
			return fail(err, "%s: too many elements", what);
		count *= (size_t)dims[i];
	}
	t->count = count;
	return 0;
}

/* Copies n typed-field values into t->data, narrowing each to t's type. */
#define COPY_TYPED(field, ctype)                                      \
	do {                                                          \
		if (p->n_##field != t->count)                         \
			return fail(err, "%s: %zu values in " #field  \
				    " for %zu elements", what,        \
				    p->n_##field, t->count);          \
		for (size_t i = 0; i < t->count; i++) {               \
			ctype v = (ctype)p->field[i];                 \
			memcpy(t->data + i * sizeof v, &v, sizeof v); \
		}                                                     \
	} while (0)

static int tensor_from_proto(const Onnx__TensorProto *p, tensor *t, const char *what, char *err)
{
	memset(t, 0, sizeof *t);
	if (!p->has_data_type)
		return fail(err, "%s: no data_type", what);
	t->dtype = p->data_type;
	const dtype_info *d = dtype_find(t->dtype);
	if (!d)
		return fail(err, "%s: element type %s (%d) not supported by the runner",
			    what, dtype_name(t->dtype), t->dtype);
	if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return fail(err, "%s: external data not supported", what);
	if (set_shape(t, p->n_dims, p->dims, what, err) != 0)
		return -1;
	t->data = calloc(t->count ? t->count : 1, d->size);
	if (!t->data)
		return fail(err, "%s: out of memory", what);

	if (p->has_raw_data && (p->raw_data.len > 0 || t->count == 0)) {
		if (p->raw_data.len != t->count * d->size) {
			int r = fail(err, "%s: raw_data has %zu bytes, %zu %s values need %zu",
				     what, p->raw_data.len, t->count, d->name, t->count * d->size);
			tensor_free(t);
			return r;
		}
		if (t->count)
			memcpy(t->data, p->raw_data.data, p->raw_data.len);
		return 0;
	}
	int r = 0;
	switch (t->dtype) {
	case 1: COPY_TYPED(float_data, float); break;
	case 11: COPY_TYPED(double_data, double); break;
	case 7: COPY_TYPED(int64_data, int64_t); break;
	case 12: COPY_TYPED(uint64_data, uint32_t); break;
	case 13: COPY_TYPED(uint64_data, uint64_t); break;
	case 6: COPY_TYPED(int32_data, int32_t); break;
	case 5: COPY_TYPED(int32_data, int16_t); break;
	case 4: COPY_TYPED(int32_data, uint16_t); break;
	case 10: COPY_TYPED(int32_data, uint16_t); break; /* half bits */
	case 3: COPY_TYPED(int32_data, int8_t); break;
	case 2: COPY_TYPED(int32_data, uint8_t); break;
	case 9:
		if (p->n_int32_data != t->count) {
			r = fail(err, "%s: %zu values in int32_data for %zu elements", what,
				 p->n_int32_data, t->count);
			break;
		}
		for (size_t i = 0; i < t->count; i++)
			t->data[i] = p->int32_data[i] != 0;
		break;
	default:
		r = fail(err, "%s: no data", what);
	}
	return r;
}

static int tensor_from_pb(const char *path, tensor *t, char *err)
{
	uint8_t *buf;
	size_t len;
	memset(t, 0, sizeof *t);
	if (read_file(path, &buf, &len, err) != 0)
		return -1;
	Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, len, buf);
	free(buf);
	if (!p)
		return fail(err, "%s: not a valid TensorProto", short_path(path));
	int r = tensor_from_proto(p, t, short_path(path), err);
	onnx__tensor_proto__free_unpacked(p, NULL);
	return r;
}

/* ---- .npy files (format version 1.0, C order, little-endian) ---- */

static int npy_write(const char *path, const tensor *t, char *err)
{
	const dtype_info *d = dtype_find(t->dtype);
	char dict[512];
	size_t k = (size_t)snprintf(dict, sizeof dict,
				    "{'descr': '%s', 'fortran_order': False, 'shape': (", d->descr);
	for (int i = 0; i < t->rank; i++)
		k += (size_t)snprintf(dict + k, sizeof dict - k, "%lld,%s",
				      (long long)t->dims[i], i + 1 < t->rank ? " " : "");
	if (t->rank > 1)
		k--; /* numpy writes (3,) but (3, 4) */
	k += (size_t)snprintf(dict + k, sizeof dict - k, "), }");
	size_t total = 10 + k + 1; /* magic+version+len, dict, '\n' */
	size_t pad = (64 - total % 64) % 64;
	uint16_t hlen = (uint16_t)(k + pad + 1);

	FILE *f = fopen(path, "wb");
	if (!f)
		return fail(err, "%s: %s", path, strerror(errno));
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	uint8_t lenb[2] = {(uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
	fwrite(lenb, 1, 2, f);
	fwrite(dict, 1, k, f);
	for (size_t i = 0; i < pad; i++)
		fputc(' ', f);
	fputc('\n', f);
	fwrite(t->data, d->size, t->count, f);
	if (fclose(f) != 0)
		return fail(err, "%s: write error", path);
	return 0;
}

/* Value of 'key' in the header dict, as a pointer just past "'key':" and
 * any spaces, or NULL. */
static const char *npy_field(const char *hdr, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof pat, "'%s'", key);
	const char *p = strstr(hdr, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p != ':')
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

static int npy_read(const char *path, tensor *t, char *err)
{
	uint8_t *buf;
	size_t len;
	memset(t, 0, sizeof *t);
	if (read_file(path, &buf, &len, err) != 0)
		return -1;
	const char *name = short_path(path);
	int r = -1;
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
		fail(err, "%s: not a .npy file", name);
		goto out;
	}
	size_t hstart, hlen;
	if (buf[6] == 1) {
		hstart = 10;
		hlen = buf[8] | (size_t)buf[9] << 8;
	} else if ((buf[6] == 2 || buf[6] == 3) && len >= 12) {
		hstart = 12;
		hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
	} else {
		fail(err, "%s: unknown .npy version %d", name, buf[6]);
		goto out;
	}
	if (hlen > len - hstart) {
		fail(err, "%s: truncated header", name);
		goto out;
	}
	char *hdr = malloc(hlen + 1);
	if (!hdr) {
		fail(err, "%s: out of memory", name);
		goto out;
	}
	memcpy(hdr, buf + hstart, hlen);
	hdr[hlen] = 0;

	const char *descr = npy_field(hdr, "descr");
	const char *fo = npy_field(hdr, "fortran_order");
	const char *shape = npy_field(hdr, "shape");
	char dstr[16] = "";
	if (descr && *descr == '\'') {
		size_t n = strcspn(descr + 1, "'");
		if (n < sizeof dstr)
			memcpy(dstr, descr + 1, n), dstr[n] = 0;
	}
	if (!descr || !fo || !shape || !dstr[0] || *shape != '(') {
		fail(err, "%s: malformed header: %s", name, hdr);
		goto out_hdr;
	}
	if (strncmp(fo, "False", 5) != 0) {
		fail(err, "%s: fortran_order output not supported", name);
		goto out_hdr;
	}
	/* '<', '|' and '=' all mean little-endian here; one-byte types may
	 * carry either of the first two. */
	t->dtype = -1;
	for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++) {
		const char *want = DTYPES[i].descr;
		if (strcmp(dstr + 1, want + 1) == 0 &&
		    (dstr[0] == '<' || dstr[0] == '|' || dstr[0] == '='))
			t->dtype = DTYPES[i].onnx;
	}
	if (t->dtype < 0) {
		fail(err, "%s: unsupported dtype '%s'", name, dstr);
		goto out_hdr;
	}
	int64_t dims[MAX_RANK + 1];
	size_t rank = 0;
	const char *s = shape + 1;
	for (;;) {
		while (*s == ' ' || *s == ',')
			s++;
		if (*s == ')')
			break;
		char *end;
		long long v = strtoll(s, &end, 10);
		if (end == s || rank > MAX_RANK) {
			fail(err, "%s: malformed shape in header: %s", name, hdr);
			goto out_hdr;
		}
		dims[rank++] = v;
		s = end;
		if (*s == 'L') /* Python 2 longs */
			s++;
	}
	if (set_shape(t, rank, dims, name, err) != 0)
		goto out_hdr;
	size_t esize = dtype_find(t->dtype)->size;
	size_t want = t->count * esize, have = len - hstart - hlen;
	if (have != want) {
		char sh[256];
		shape_str(t, sh, sizeof sh);
		fail(err, "%s: %zu data bytes, %s %s needs %zu", name, have,
		     dtype_name(t->dtype), sh, want);
		goto out_hdr;
	}
	t->data = malloc(want ? want : 1);
	if (!t->data) {
		fail(err, "%s: out of memory", name);
		goto out_hdr;
	}
	memcpy(t->data, buf + hstart + hlen, want);
	r = 0;
out_hdr:
	free(hdr);
out:
	free(buf);
	return r;
}

/* ---- Comparison ---- */

static double elem_as_double(const tensor *t, size_t i)
{
	const uint8_t *p = t->data + i * dtype_find(t->dtype)->size;
	switch (t->dtype) {
	case 1: { float v; memcpy(&v, p, 4); return v; }
	case 11: { double v; memcpy(&v, p, 8); return v; }
	case 10: { uint16_t v; memcpy(&v, p, 2); return half_to_float(v); }
	}
	return 0;
}

/* Integers widened for exact comparison and printing. */
static int64_t elem_as_i64(const tensor *t, size_t i)
{
	const uint8_t *p = t->data + i * dtype_find(t->dtype)->size;
	switch (t->dtype) {
	case 2: return *p;
	case 3: return (int8_t)*p;
	case 9: return *p != 0;
	case 4: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 5: { int16_t v; memcpy(&v, p, 2); return v; }
	case 6: { int32_t v; memcpy(&v, p, 4); return v; }
	case 12: { uint32_t v; memcpy(&v, p, 4); return v; }
	case 7: case 13: { int64_t v; memcpy(&v, p, 8); return v; }
	}
	return 0;
}

static void index_str(const tensor *t, size_t flat, char *out, size_t n)
{
	int64_t idx[MAX_RANK];
	for (int i = t->rank - 1; i >= 0; i--) {
		idx[i] = t->dims[i] ? (int64_t)(flat % (size_t)t->dims[i]) : 0;
		flat = t->dims[i] ? flat / (size_t)t->dims[i] : 0;
	}
	size_t k = (size_t)snprintf(out, n, "[");
	for (int i = 0; i < t->rank && k < n; i++)
		k += (size_t)snprintf(out + k, n - k, i ? ",%lld" : "%lld", (long long)idx[i]);
	if (k < n)
		snprintf(out + k, n - k, "]");
}

/* assert_allclose(actual, expected, rtol, atol) with equal_nan: NaN matches
 * NaN, an infinity matches only the same infinity. */
static int close_enough(double a, double e)
{
	if (isnan(a) || isnan(e))
		return isnan(a) && isnan(e);
	if (isinf(a) || isinf(e))
		return a == e;
	return fabs(a - e) <= ATOL + RTOL * fabs(e);
}

static int tensor_compare(const tensor *a, const tensor *e, const char *what, char *err)
{
	if (a->dtype != e->dtype)
		return fail(err, "%s: dtype %s, expected %s", what, dtype_name(a->dtype),
			    dtype_name(e->dtype));
	int same = a->rank == e->rank;
	for (int i = 0; same && i < a->rank; i++)
		same = a->dims[i] == e->dims[i];
	if (!same) {
		char sa[256], se[256];
		shape_str(a, sa, sizeof sa);
		shape_str(e, se, sizeof se);
		return fail(err, "%s: shape %s, expected %s", what, sa, se);
	}
	char kind = dtype_find(e->dtype)->kind;
	size_t bad = 0, first = 0;
	double worst = 0;
	for (size_t i = 0; i < e->count; i++) {
		int ok;
		if (kind == 'f') {
			double av = elem_as_double(a, i), ev = elem_as_double(e, i);
			ok = close_enough(av, ev);
			if (!ok && fabs(av - ev) > worst)
				worst = fabs(av - ev);
			if (!ok && isnan(worst + fabs(av - ev)))
				worst = NAN;
		} else {
			ok = elem_as_i64(a, i) == elem_as_i64(e, i);
		}
		if (!ok && bad++ == 0)
			first = i;
	}
	if (!bad)
		return 0;
	char at[256];
	index_str(e, first, at, sizeof at);
	if (kind == 'f')
		return fail(err, "%s: %zu of %zu values differ by more than %g + %g*|expected|;"
			    " first at %s: got %.9g, expected %.9g; max |diff| %.3g",
			    what, bad, e->count, ATOL, RTOL, at, elem_as_double(a, first),
			    elem_as_double(e, first), worst);
	if (e->dtype == 13)
		return fail(err, "%s: %zu of %zu values differ; first at %s: got %llu, expected %llu",
			    what, bad, e->count, at, (unsigned long long)elem_as_i64(a, first),
			    (unsigned long long)elem_as_i64(e, first));
	return fail(err, "%s: %zu of %zu values differ; first at %s: got %lld, expected %lld",
		    what, bad, e->count, at, (long long)elem_as_i64(a, first),
		    (long long)elem_as_i64(e, first));
}

/* ---- Test cases: what the model holds, decided before running ---- */

static const char *const RESNETC_OPS[] = {
	"Conv", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Clip",
	"Sigmoid", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div", "Sum",
	"Max", "Min", "MaxPool", "AveragePool", "GlobalAveragePool",
	"GlobalMaxPool", "Gemm", "MatMul", "Flatten", "Reshape", "Squeeze",
	"Unsqueeze", "Transpose", "Concat", "Softmax", "LogSoftmax", "Identity",
	"Dropout", "Pad", "Constant", "Shape", "Gather", "Cast", "ReduceMean",
	"Slice", "ConstantOfShape", "QuantizeLinear", "DequantizeLinear",
	"DynamicQuantizeLinear", "QLinearConv", "ConvInteger", "QLinearMatMul",
	"MatMulInteger",
};

static int in_op_set(const Onnx__NodeProto *n)
{
	if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
		return 0;
	for (size_t i = 0; i < sizeof RESNETC_OPS / sizeof RESNETC_OPS[0]; i++)
		if (strcmp(n->op_type, RESNETC_OPS[i]) == 0)
			return 1;
	return 0;
}

enum { CASE_RUN, CASE_SKIP, CASE_BAD };

typedef struct {
	char *name;      /* the test directory's name */
	char *label;     /* what lines print: the name, or SET/name with several sets */
	char *dir;
	char *ops;       /* "Conv"; several joined by '+' (PyTorch-style tests) */
	int state;       /* CASE_* */
	char *reason;    /* skip reason, or why the directory is malformed */
	int n_in, n_out; /* graph inputs (not initializers) and outputs */
	int *in_type, *out_type;
	char **in_name, **out_name;
	int *in_bind;    /* input is a shape operand: passed to resnetc --bind */
	/* results */
	int passed;
	char *message;
} test_case;

static const char *value_skip_reason(const Onnx__ValueInfoProto *v, int *type)
{
	if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
		return "non-tensor graph inputs/outputs (sequence, map, optional) not supported";
	const Onnx__TypeProto__Tensor *tt = v->type->tensor_type;
	*type = tt->has_elem_type ? tt->elem_type : 0;
	return dtype_skip_reason(*type);
}

/* The element types a node brings in: Cast's 'to', Constant's value. */
static const char *node_skip_reason(const Onnx__NodeProto *n)
{
	for (size_t i = 0; i < n->n_attribute; i++) {
		const Onnx__AttributeProto *a = n->attribute[i];
		const char *r = NULL;
		if (strcmp(n->op_type, "Cast") == 0 && strcmp(a->name, "to") == 0 && a->has_i)
			r = dtype_skip_reason((int)a->i);
		if (!r && a->t && a->t->has_data_type)
			r = dtype_skip_reason(a->t->data_type);
		if (r)
			return r;
	}
	return NULL;
}

static void op_list_add(char **ops, const char *op)
{
	if (!*ops) {
		*ops = xstrdup(op);
		return;
	}
	/* already listed? compare whole '+'-separated words */
	size_t n = strlen(op);
	for (const char *p = *ops; p; p = strchr(p, '+'), p = p ? p + 1 : NULL)
		if (strncmp(p, op, n) == 0 && (p[n] == '+' || p[n] == 0))
			return;
	char *s = fmt("%s+%s", *ops, op);
	free(*ops);
	*ops = s;
}

/* Operands that decide output shapes (Reshape's shape, Pad's pads, the
 * axes of Squeeze/Unsqueeze/ReduceMean, Slice's bounds) or what a node
 * computes (Dropout's training_mode): an ahead-of-time compiler needs them
 * at compile time, so these cases bind the graph input to its test value
 * with `resnetc --bind NAME=...`. */
static int is_shape_operand(const Onnx__GraphProto *g, const char *name)
{
	static const struct {
		const char *op;
		int first, last;
	} rules[] = {
		{"Reshape", 1, 1}, {"Pad", 1, 3}, {"Squeeze", 1, 1}, {"Unsqueeze", 1, 1},
		{"ReduceMean", 1, 1}, {"Slice", 1, 4}, {"ConstantOfShape", 0, 0},
		{"Dropout", 2, 2},
	};
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];
		for (size_t r = 0; n->op_type && r < sizeof rules / sizeof rules[0]; r++) {
			if (strcmp(n->op_type, rules[r].op))
				continue;
			for (int k = rules[r].first; k <= rules[r].last && k < (int)n->n_input; k++)
				if (n->input[k] && !strcmp(n->input[k], name))
					return 1;
		}
	}
	return 0;
}

/* ---- Scope beyond the operator set: variants resnetc does not compile ---- */

static const Onnx__TensorProto *find_initializer(const Onnx__GraphProto *g, const char *name)
{
	for (size_t i = 0; name && i < g->n_initializer; i++)
		if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name))
			return g->initializer[i];
	return NULL;
}

/* Rank of a value as the model declares it (initializer, graph input or
 * output, value_info), or -1 if it does not say. */
static int value_rank(const Onnx__GraphProto *g, const char *name)
{
	const Onnx__TensorProto *t = find_initializer(g, name);
	if (t)
		return (int)t->n_dims;
	Onnx__ValueInfoProto **lists[] = {g->input, g->output, g->value_info};
	size_t counts[] = {g->n_input, g->n_output, g->n_value_info};
	for (int l = 0; name && l < 3; l++)
		for (size_t i = 0; i < counts[l]; i++) {
			const Onnx__ValueInfoProto *v = lists[l][i];
			if (!v->name || strcmp(v->name, name) || !v->type ||
			    v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
			    !v->type->tensor_type->shape)
				continue;
			return (int)v->type->tensor_type->shape->n_dim;
		}
	return -1;
}

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
			return n->attribute[i];
	return NULL;
}

/* Whether a scalar operand is nonzero: from an initializer, a Constant
 * node or, for a graph input, the case's own input_N.pb (N counts the
 * graph inputs that are not initializers). 1 true, 0 false, -1 unknown. */
static int operand_truth(const Onnx__GraphProto *g, const char *dir, const char *name)
{
	const Onnx__TensorProto *p = find_initializer(g, name);
	for (size_t i = 0; !p && i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];
		if (n->op_type && !strcmp(n->op_type, "Constant") && n->n_output == 1 &&
		    !strcmp(n->output[0], name)) {
			const Onnx__AttributeProto *a = find_attr(n, "value");
			p = a ? a->t : NULL;
		}
	}
	char err[MSG_LEN];
	tensor t;
	int r = -1;
	if (p) {
		if (tensor_from_proto(p, &t, name, err) != 0)
			return -1;
	} else {
		int k = 0, found = 0;
		for (size_t i = 0; i < g->n_input && !found; i++) {
			const char *in = g->input[i]->name;
			if (!in || find_initializer(g, in))
				continue;
			if (!strcmp(in, name))
				found = 1;
			else
				k++;
		}
		if (!found)
			return -1;
		char *path = fmt("%s/test_data_set_0/input_%d.pb", dir, k);
		int bad = tensor_from_pb(path, &t, err);
		free(path);
		if (bad)
			return -1;
	}
	if (t.count == 1) {
		char kind = dtype_find(t.dtype)->kind;
		r = kind == 'f' ? elem_as_double(&t, 0) != 0 : elem_as_i64(&t, 0) != 0;
	}
	tensor_free(&t);
	return r;
}

#define SKIP_TRAINING "training mode (BatchNormalization training_mode or statistics" \
	" outputs, Dropout training_mode true): resnetc compiles inference only"
#define SKIP_CONV3D "3-D convolution (Conv on a 5-D input): resnetc's Conv is 1-D and 2-D"

/* The element type of a value (graph input, output, value_info or
 * initializer), or -1. */
static int value_type(const Onnx__GraphProto *g, const char *name)
{
	const Onnx__TensorProto *t = find_initializer(g, name);
	if (t)
		return (int)t->data_type;
	Onnx__ValueInfoProto **lists[] = {g->input, g->output, g->value_info};
	size_t counts[] = {g->n_input, g->n_output, g->n_value_info};
	for (int l = 0; name && l < 3; l++)
		for (size_t i = 0; i < counts[l]; i++) {
			const Onnx__ValueInfoProto *v = lists[l][i];
			if (v->name && !strcmp(v->name, name) && v->type &&
			    v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
				return (int)v->type->tensor_type->elem_type;
		}
	return -1;
}

#define SKIP_QUANT16 "16-bit quantization (int16/uint16): resnetc quantizes to int8 and uint8"
#define SKIP_QBLOCK "blocked quantization (block_size): resnetc quantizes per tensor or per axis"
#define SKIP_QSCALE16 "float16/bfloat16 scales: resnetc's quantized operators take float32 scales"

/* Quantization variants resnetc refuses by design, with a clear error. */
static const char *quant_skip_reason(const Onnx__GraphProto *g, const Onnx__NodeProto *n)
{
	static const char *const qops[] = {"QuantizeLinear", "DequantizeLinear", "QLinearConv",
					   "QLinearMatMul", "ConvInteger", "MatMulInteger"};
	int is_q = 0;
	for (size_t i = 0; i < sizeof qops / sizeof qops[0]; i++)
		is_q |= !strcmp(n->op_type, qops[i]);
	if (!is_q)
		return NULL;
	const Onnx__AttributeProto *a = find_attr(n, "block_size");
	if (a && a->i)
		return SKIP_QBLOCK;
	a = find_attr(n, "output_dtype");
	if (a && (a->i == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 || a->i == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16))
		return SKIP_QUANT16;
	for (size_t i = 0; i < n->n_input + n->n_output; i++) {
		const char *v = i < n->n_input ? n->input[i] : n->output[i - n->n_input];
		int t = v && v[0] ? value_type(g, v) : -1;
		if (t == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 || t == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16)
			return SKIP_QUANT16;
		if (t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || t == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
			return SKIP_QSCALE16;
	}
	return NULL;
}

/* Why a node that is in the operator set is still out of scope, or NULL.
 * dir is the test directory, for a training_mode fed as a graph input. */
static const char *variant_skip_reason(const Onnx__GraphProto *g, const Onnx__NodeProto *n,
				       int opset, const char *dir)
{
	const Onnx__AttributeProto *a;
	if (!strcmp(n->op_type, "BatchNormalization")) {
		if ((a = find_attr(n, "training_mode")) && a->i)
			return SKIP_TRAINING;
		if ((a = find_attr(n, "is_test")) && !a->i)
			return SKIP_TRAINING;
		for (size_t i = 1; i < n->n_output; i++)
			if (n->output[i] && n->output[i][0])
				return SKIP_TRAINING;
	} else if (!strcmp(n->op_type, "Dropout")) {
		if (opset < 7 && (a = find_attr(n, "is_test")) && !a->i)
			return SKIP_TRAINING;
		if (n->n_input > 2 && n->input[2] && n->input[2][0] &&
		    operand_truth(g, dir, n->input[2]) != 0)
			return SKIP_TRAINING;
	} else if (!strcmp(n->op_type, "Conv")) {
		if (value_rank(g, n->input[0]) == 5 || (n->n_input > 1 && value_rank(g, n->input[1]) == 5))
			return SKIP_CONV3D;
	}
	return quant_skip_reason(g, n);
}

static int default_opset(const Onnx__ModelProto *m)
{
	for (size_t i = 0; i < m->n_opset_import; i++) {
		const char *dom = m->opset_import[i]->domain;
		if (!dom || !dom[0] || !strcmp(dom, "ai.onnx"))
			return (int)m->opset_import[i]->version;
	}
	return 0;
}

static void classify(test_case *c)
{
	char err[MSG_LEN];
	char *path = fmt("%s/model.onnx", c->dir);
	uint8_t *buf;
	size_t len;
	c->state = CASE_BAD;
	if (read_file(path, &buf, &len, err) != 0) {
		c->reason = xstrdup(err);
		free(path);
		return;
	}
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
	free(buf);
	if (!m || !m->graph) {
		c->reason = fmt("%s: %s", short_path(path), m ? "no graph" : "not a valid ModelProto");
		if (m)
			onnx__model_proto__free_unpacked(m, NULL);
		free(path);
		return;
	}
	free(path);
	const Onnx__GraphProto *g = m->graph;

	const char *skip = NULL;
	char *skip_owned = NULL;
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];
		if (!n->op_type)
			continue;
		if (strcmp(n->op_type, "Constant") != 0 || !in_op_set(n))
			op_list_add(&c->ops, n->op_type);
		if (!skip_owned && !in_op_set(n))
			skip_owned = fmt("operator %s%s%s not in resnetc's operator set",
					 n->domain && n->domain[0] ? n->domain : "",
					 n->domain && n->domain[0] ? "." : "", n->op_type);
	}
	if (!c->ops)
		c->ops = xstrdup(g->n_node ? "Constant" : "(no nodes)");

	c->in_type = calloc(g->n_input + 1, sizeof(int));
	c->in_name = calloc(g->n_input + 1, sizeof(char *));
	c->in_bind = calloc(g->n_input + 1, sizeof(int));
	c->out_type = calloc(g->n_output + 1, sizeof(int));
	c->out_name = calloc(g->n_output + 1, sizeof(char *));
	for (size_t i = 0; i < g->n_input; i++) {
		const Onnx__ValueInfoProto *v = g->input[i];
		int init = 0;
		for (size_t j = 0; j < g->n_initializer && !init; j++)
			init = g->initializer[j]->name && v->name &&
			       strcmp(g->initializer[j]->name, v->name) == 0;
		if (init)
			continue;
		int type = 0;
		const char *r = value_skip_reason(v, &type);
		skip = skip ? skip : r;
		c->in_type[c->n_in] = type;
		c->in_bind[c->n_in] = v->name && is_shape_operand(g, v->name);
		c->in_name[c->n_in++] = xstrdup(v->name ? v->name : "");
	}
	for (size_t i = 0; i < g->n_output; i++) {
		int type = 0;
		const char *r = value_skip_reason(g->output[i], &type);
		skip = skip ? skip : r;
		c->out_type[c->n_out] = type;
		c->out_name[c->n_out++] = xstrdup(g->output[i]->name ? g->output[i]->name : "");
	}
	for (size_t i = 0; i < g->n_initializer && !skip; i++)
		if (g->initializer[i]->has_data_type)
			skip = dtype_skip_reason(g->initializer[i]->data_type);
	for (size_t i = 0; i < g->n_node && !skip; i++)
		skip = node_skip_reason(g->node[i]);
	for (size_t i = 0; i < g->n_node && !skip && !skip_owned; i++)
		if (g->node[i]->op_type)
			skip = variant_skip_reason(g, g->node[i], default_opset(m), c->dir);

	if (skip_owned) {
		c->state = CASE_SKIP;
		c->reason = skip_owned;
	} else if (skip) {
		c->state = CASE_SKIP;
		c->reason = xstrdup(skip);
	} else if (c->n_out == 0) {
		c->reason = xstrdup("model.onnx: graph has no outputs");
	} else {
		c->state = CASE_RUN;
	}
	onnx__model_proto__free_unpacked(m, NULL);
}

/* ---- The worker: one case, in a forked child ---- */

/* Runs argv with stdin from /dev/null, stdout and stderr into files.
 * Returns the exit status, or -1 with err set if it did not exit normally. */
static int run_cmd(char *const argv[], const char *out_path, const char *err_path,
		   const char *what, char *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return fail(err, "%s: fork: %s", what, strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int er = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || er < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(er, 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fail(err, "%s: waitpid: %s", what, strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	char line[MSG_LEN / 2];
	first_line(err_path, NULL, line, sizeof line);
	return fail(err, "%s killed by signal %d (%s)%s%s", what, WTERMSIG(st),
		    strsignal(WTERMSIG(st)), line[0] ? ": " : "", line);
}

/* Top-level *.c files of the output folder, sorted. */
static int list_c_files(const char *dir, char ***files, size_t *n, char *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return fail(err, "%s: %s", dir, strerror(errno));
	size_t cap = 16;
	*n = 0;
	*files = malloc(cap * sizeof(char *));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".c"))
			continue;
		char *p = fmt("%s/%s", dir, e->d_name);
		if (!is_file(p)) {
			free(p);
			continue;
		}
		if (*n == cap)
			*files = realloc(*files, (cap *= 2) * sizeof(char *));
		(*files)[(*n)++] = p;
	}
	closedir(d);
	qsort(*files, *n, sizeof(char *), cmp_str);
	if (*n == 0)
		return fail(err, "resnetc wrote no .c files into %s", dir);
	return 0;
}

static int run_case(const test_case *c, const char *tmp, const options *o, char *err)
{
	char what[64], path[PATH_MAX];
	int n_in = c->n_in, n_out = c->n_out;
	tensor *expect = calloc((size_t)n_out, sizeof(tensor));
	char **argv = calloc((size_t)(n_in + n_out + 24), sizeof(char *));
	char **cargv = calloc((size_t)(2 * n_in + 16), sizeof(char *));
	int argc = 0, cargc = 0;

	/* 1. inputs to .npy, expected outputs loaded: all data checked first */
	for (int i = 0; i < n_in; i++) {
		tensor t;
		snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", c->dir, i);
		if (tensor_from_pb(path, &t, err) != 0)
			return -1;
		if (t.dtype != c->in_type[i])
			return fail(err, "input_%d.pb is %s, graph input '%s' is %s", i,
				    dtype_name(t.dtype), c->in_name[i], dtype_name(c->in_type[i]));
		if (c->in_bind[i]) {
			/* NAME=v,v,... for resnetc --bind */
			size_t cap = strlen(c->in_name[i]) + 2 + t.count * 24, k;
			char *arg = malloc(cap);
			k = (size_t)snprintf(arg, cap, "%s=", c->in_name[i]);
			int is_float = dtype_find(t.dtype)->kind == 'f';
			for (size_t e = 0; e < t.count; e++)
				k += is_float ? (size_t)snprintf(arg + k, cap - k, "%s%.17g", e ? "," : "",
								 elem_as_double(&t, e))
					      : (size_t)snprintf(arg + k, cap - k, "%s%lld", e ? "," : "",
								 (long long)elem_as_i64(&t, e));
			cargv[cargc++] = "--bind";
			cargv[cargc++] = arg;
			tensor_free(&t);
			continue;
		}
		argv[argc] = fmt("%s/in_%d.npy", tmp, i);
		if (npy_write(argv[argc], &t, err) != 0)
			return -1;
		argc++;
		tensor_free(&t);
	}
	snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", c->dir, n_in);
	if (is_file(path))
		return fail(err, "input_%d.pb present but the graph has %d inputs", n_in, n_in);
	for (int i = 0; i < n_out; i++) {
		snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", c->dir, i);
		if (tensor_from_pb(path, &expect[i], err) != 0)
			return -1;
	}

	/* 2. compile */
	char *gen = fmt("%s/gen", tmp), *model = fmt("%s/model.onnx", c->dir);
	char *log_out = fmt("%s/resnetc.out", tmp), *log_err = fmt("%s/resnetc.err", tmp);
	char *fixed[] = {(char *)o->resnetc, "compile", model, "-o", gen, "--name", "model"};
	memmove(cargv + 7, cargv, (size_t)cargc * sizeof(char *));
	memcpy(cargv, fixed, sizeof fixed);
	cargv[7 + cargc] = NULL;
	int st = run_cmd(cargv, log_out, log_err, "resnetc", err);
	if (st < 0)
		return -1;
	if (st != 0) {
		char line[MSG_LEN / 2];
		first_line(log_err, NULL, line, sizeof line);
		return fail(err, "resnetc exited %d: %s", st, line[0] ? line : "(no message)");
	}

	/* 3. build: generated top-level .c files + the prebuilt runtime */
	char **cfiles = NULL;
	size_t ncf = 0;
	if (list_c_files(gen, &cfiles, &ncf, err) != 0)
		return -1;
	/* -Wa,-I: the weights' .incbin finds NAME_w<k>.bin from any folder */
	char *inc = fmt("-I%s/include", gen), *incg = fmt("-I%s", gen), *incw = fmt("-Wa,-I%s", gen);
	char *exe = fmt("%s/model", gen);
	char **bargv = calloc(ncf + 24, sizeof(char *));
	int b = 0;
	/* $CC may carry flags ("cc -fsanitize=address"): split it on spaces */
	char *ccw = xstrdup(o->cc);
	for (char *tok = strtok(ccw, " "); tok && b < 8; tok = strtok(NULL, " "))
		bargv[b++] = tok;
	bargv[b++] = "-std=c11";
	bargv[b++] = "-O1";
	bargv[b++] = incg;
	bargv[b++] = inc;
	bargv[b++] = incw;
	for (size_t i = 0; i < ncf; i++)
		bargv[b++] = cfiles[i];
	bargv[b++] = (char *)o->rt;
	bargv[b++] = "-lm";
	bargv[b++] = "-o";
	bargv[b++] = exe;
	bargv[b] = NULL;
	char *cc_out = fmt("%s/cc.out", tmp), *cc_err = fmt("%s/cc.err", tmp);
	st = run_cmd(bargv, cc_out, cc_err, "cc", err);
	if (st < 0)
		return -1;
	if (st != 0) {
		char line[MSG_LEN / 2];
		static const char *const cc_wants[] = {
			"error:", "undefined reference", "multiple definition", NULL};
		first_line(cc_err, cc_wants, line, sizeof line);
		return fail(err, "cc exited %d on the generated code: %s", st, line);
	}

	/* 4. run the driver */
	memmove(argv + 1, argv, (size_t)argc * sizeof(char *));
	argv[0] = exe;
	argc++;
	for (int i = 0; i < n_out; i++)
		argv[argc++] = fmt("%s/out_%d.npy", tmp, i);
	argv[argc] = NULL;
	char *run_out = fmt("%s/driver.out", tmp), *run_err = fmt("%s/driver.err", tmp);
	st = run_cmd(argv, run_out, run_err, "driver", err);
	if (st < 0)
		return -1;
	if (st != 0) {
		char line[MSG_LEN / 2];
		first_line(run_err, NULL, line, sizeof line);
		return fail(err, "driver exited %d: %s", st, line[0] ? line : "(no message)");
	}

	/* 5. compare */
	for (int i = 0; i < n_out; i++) {
		tensor got;
		if (npy_read(argv[argc - n_out + i], &got, err) != 0)
			return -1;
		snprintf(what, sizeof what, "output %d '%.30s'", i, c->out_name[i]);
		if (tensor_compare(&got, &expect[i], what, err) != 0)
			return -1;
		tensor_free(&got);
	}
	return 0;
}

/* --self-test: no compiler involved. Every tensor of the case goes
 * .pb -> .npy -> back and must compare equal to itself; a value moved by
 * half the tolerance must still pass, and one moved past it must fail, so
 * the comparison is shown to be able to fail. */
static void set_elem(tensor *t, size_t i, double v)
{
	uint8_t *p = t->data + i * dtype_find(t->dtype)->size;
	switch (t->dtype) {
	case 1: { float f = (float)v; memcpy(p, &f, 4); break; }
	case 11: memcpy(p, &v, 8); break;
	case 9: *p = v != 0; break;
	default: { /* integers: add 1 in the low byte, wrapping */
		p[0] = (uint8_t)(p[0] + 1);
	}
	}
}

static int self_check_tensor(const tensor *t, const char *npy, const char *what, char *err)
{
	tensor back;
	if (npy_write(npy, t, err) != 0 || npy_read(npy, &back, err) != 0)
		return -1;
	if (tensor_compare(&back, t, what, err) != 0)
		return -1;
	if (t->count == 0) {
		tensor_free(&back);
		return 0;
	}
	size_t i = t->count / 2;
	char kind = dtype_find(t->dtype)->kind;
	double e = kind == 'f' ? elem_as_double(t, i) : 0;
	char ignored[MSG_LEN];
	int fin = kind == 'f' && isfinite(e);
	if (fin && t->dtype != 10) {
		set_elem(&back, i, e + 0.5 * (ATOL + RTOL * fabs(e)));
		if (tensor_compare(&back, t, what, ignored) != 0)
			return fail(err, "%s: a value off by half the tolerance was rejected: %s",
				    what, ignored);
		set_elem(&back, i, e + 2 * (ATOL + RTOL * fabs(e)));
		if (tensor_compare(&back, t, what, ignored) == 0)
			return fail(err, "%s: a value off by twice the tolerance was accepted", what);
	}
	if (t->dtype == 10) { /* float16: flip the sign bit, or make a NaN a 0 */
		uint16_t h;
		memcpy(&h, back.data + 2 * i, 2);
		h = isnan(e) ? 0 : e == 0 ? 0x3c00 : (uint16_t)(h ^ 0x8000);
		memcpy(back.data + 2 * i, &h, 2);
	} else if (kind == 'f') {
		set_elem(&back, i, isnan(e) ? 0 : isinf(e) ? -e : e + 1 + fabs(e));
	} else {
		set_elem(&back, i, elem_as_i64(t, i) ? 0 : 1);
	}
	if (tensor_compare(&back, t, what, ignored) == 0)
		return fail(err, "%s: a changed value was accepted", what);
	tensor_free(&back);
	return 0;
}

static int self_check_case(const test_case *c, const char *tmp, char *err)
{
	char path[PATH_MAX], npy[PATH_MAX], what[64];
	for (int io = 0; io < 2; io++) {
		int n = io ? c->n_out : c->n_in;
		for (int i = 0; i < n; i++) {
			const char *kind = io ? "output" : "input";
			tensor t;
			snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", c->dir, kind, i);
			if (tensor_from_pb(path, &t, err) != 0)
				return -1;
			int want = io ? c->out_type[i] : c->in_type[i];
			if (t.dtype != want)
				return fail(err, "%s_%d.pb is %s, graph says %s", kind, i,
					    dtype_name(t.dtype), dtype_name(want));
			snprintf(npy, sizeof npy, "%s/%s_%d.npy", tmp, kind, i);
			snprintf(what, sizeof what, "%s %d", kind, i);
			if (self_check_tensor(&t, npy, what, err) != 0)
				return -1;
			tensor_free(&t);
		}
	}
	return 0;
}

/* The worker process: result message into tmp/RESULT, exit 0 pass, 1 fail.
 * Memory is left to the exit: the process is short-lived. */
static void worker_main(const test_case *c, const char *tmp, const options *o)
{
	char err[MSG_LEN] = "";
	int r = o->self_test ? self_check_case(c, tmp, err) : run_case(c, tmp, o, err);
	char *res = fmt("%s/RESULT", tmp);
	FILE *f = fopen(res, "w");
	if (f) {
		fputs(err, f);
		fclose(f);
	}
	_exit(r == 0 ? 0 : 1);
}

/* ---- The scheduler ---- */

typedef struct {
	pid_t pid;
	test_case *c;
	char *tmp;
	struct timespec start;
} slot;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void report(const options *o, test_case *c)
{
	if (c->state == CASE_SKIP) {
		if (o->verbose)
			printf("SKIP %s: %s\n", c->label, c->reason);
	} else if (c->passed) {
		if (o->verbose)
			printf("PASS %s\n", c->label);
	} else {
		printf("FAIL %s: %s\n", c->label, c->message);
	}
	fflush(stdout);
}

static void finish_slot(const options *o, slot *s, int status, int timed_out)
{
	test_case *c = s->c;
	char msg[MSG_LEN] = "";
	c->passed = 0;
	if (timed_out) {
		snprintf(msg, sizeof msg, "timed out after %d s", o->timeout_s);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		c->passed = 1;
	} else if (WIFEXITED(status)) {
		char *res = fmt("%s/RESULT", s->tmp);
		first_line(res, NULL, msg, sizeof msg);
		if (!msg[0])
			snprintf(msg, sizeof msg, "worker exited %d without a result",
				 WEXITSTATUS(status));
		free(res);
	} else {
		snprintf(msg, sizeof msg, "runner worker killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	}
	if (o->keep)
		c->message = fmt("%s (kept in %s)", msg, s->tmp);
	else {
		c->message = xstrdup(msg);
		rm_tree(s->tmp);
	}
	if (o->keep && c->passed && o->verbose)
		printf("     %s kept in %s\n", c->label, s->tmp);
	report(o, c);
	free(s->tmp);
	s->pid = 0;
}

static int start_case(const options *o, slot *s, test_case *c)
{
	char *tmpl = fmt("%s/rnconf.%s.XXXXXX", o->tmp_root, c->name);
	if (!mkdtemp(tmpl)) {
		c->message = fmt("cannot create a temp dir under %s: %s", o->tmp_root, strerror(errno));
		free(tmpl);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		c->message = fmt("fork: %s", strerror(errno));
		rm_tree(tmpl);
		free(tmpl);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		worker_main(c, tmpl, o);
	}
	setpgid(pid, pid); /* both sides, so kill(-pid) works whoever runs first */
	s->pid = pid;
	s->c = c;
	s->tmp = tmpl;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	return 0;
}

static void run_all(const options *o, test_case *cases, size_t n)
{
	slot *slots = calloc((size_t)o->jobs, sizeof(slot));
	size_t next = 0;
	int active = 0;
	while ((next < n || active > 0) && !interrupted) {
		for (int j = 0; j < o->jobs && next < n; j++) {
			if (slots[j].pid)
				continue;
			test_case *c = &cases[next++];
			if (c->state != CASE_RUN) {
				if (c->state == CASE_BAD)
					c->message = xstrdup(c->reason);
				report(o, c);
				j--; /* this slot is still free */
				continue;
			}
			if (start_case(o, &slots[j], c) != 0)
				report(o, c);
			else
				active++;
		}
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			for (int j = 0; j < o->jobs; j++)
				if (slots[j].pid == pid) {
					finish_slot(o, &slots[j], status, 0);
					active--;
				}
			continue;
		}
		for (int j = 0; j < o->jobs; j++)
			if (slots[j].pid && seconds_since(&slots[j].start) > o->timeout_s) {
				kill(-slots[j].pid, SIGKILL);
				waitpid(slots[j].pid, &status, 0);
				finish_slot(o, &slots[j], status, 1);
				active--;
			}
		struct timespec nap = {0, 20 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
	if (interrupted) {
		for (int j = 0; j < o->jobs; j++)
			if (slots[j].pid) {
				int status;
				kill(-slots[j].pid, SIGKILL);
				waitpid(slots[j].pid, &status, 0);
				if (!o->keep)
					rm_tree(slots[j].tmp);
			}
	}
	free(slots);
}

/* ---- Summary ---- */

typedef struct {
	const char *key;
	int count;
} tally;

static int cmp_tally(const void *a, const void *b)
{
	const tally *x = a, *y = b;
	if (x->count != y->count)
		return y->count - x->count;
	return strcmp(x->key, y->key);
}

static size_t tally_add(tally *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0) {
			t[i].count++;
			return n;
		}
	t[n].key = key;
	t[n].count = 1;
	return n + 1;
}

/* One folder of test directories given on the command line. */
typedef struct {
	const char *dir;
	char *label;           /* its last path component: "node", "onnx-node-tests" */
	test_case *cases;
	size_t n;
	int passed, failed, skipped;
} test_set;

static void count_set(test_set *t)
{
	t->passed = t->failed = t->skipped = 0;
	for (size_t i = 0; i < t->n; i++) {
		const test_case *c = &t->cases[i];
		if (c->state == CASE_SKIP)
			t->skipped++;
		else if (c->passed)
			t->passed++;
		else
			t->failed++;
	}
}

static int summarize(test_set *sets, int n_sets)
{
	size_t n = 0;
	for (int k = 0; k < n_sets; k++)
		n += sets[k].n;
	tally *skips = calloc(n + 1, sizeof(tally)), *fails = calloc(n + 1, sizeof(tally));
	size_t ns = 0, nf = 0;
	int passed = 0, failed = 0, skipped = 0;
	for (int k = 0; k < n_sets; k++)
		for (size_t i = 0; i < sets[k].n; i++) {
			test_case *c = &sets[k].cases[i];
			if (c->state == CASE_SKIP) {
				skipped++;
				ns = tally_add(skips, ns, c->reason);
			} else if (c->passed) {
				passed++;
			} else {
				failed++;
				nf = tally_add(fails, nf, c->ops ? c->ops : "(unreadable model)");
			}
		}
	qsort(skips, ns, sizeof(tally), cmp_tally);
	qsort(fails, nf, sizeof(tally), cmp_tally);
	for (size_t i = 0; i < ns; i++)
		printf("skipped %d: %s\n", skips[i].count, skips[i].key);
	if (nf) {
		printf("failures by operator:");
		for (size_t i = 0; i < nf; i++)
			printf("%s %s %d", i ? "," : "", fails[i].key, fails[i].count);
		printf("\n");
	}
	if (n_sets > 1)
		for (int k = 0; k < n_sets; k++)
			printf("conformance %s: %d passed, %d failed, %d skipped (%s)\n", sets[k].label,
			       sets[k].passed, sets[k].failed, sets[k].skipped, sets[k].dir);
	printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	fflush(stdout);
	free(skips);
	free(fails);
	return failed ? 1 : 0;
}

/* ---- Command line ---- */

/* Debian's libonnx-testdata: the ONNX backend tests of ONNX 1.12. Its
 * `real` set (whole models such as ResNet-50) is left out. */
#define DEBIAN_DATA "/usr/share/libonnx-testdata/data"
#define DEBIAN_SETS_TEXT "node,pytorch-converted,pytorch-operator,simple"
static const char *const DEBIAN_SETS[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: conformance_runner [--resnetc PATH] [--rt LIB] [--jobs N] [--timeout S]\n"
		"                          [--keep] [--filter SUBSTR] [-v] [--self-test] [TESTS_DIR...]\n"
		"  --resnetc PATH  compiler under test (default: BUILD/resnetc)\n"
		"  --rt LIB        runtime archive with the driver (default: BUILD/libresnetc_rt.a)\n"
		"  --jobs N        cases run in parallel (default 2)\n"
		"  --timeout S     seconds per case, compile+build+run (default 120)\n"
		"  --keep          keep each case's temp dir under $TMPDIR\n"
		"  --filter SUBSTR only test directories whose name contains SUBSTR\n"
		"  -v              one line per case\n"
		"  --self-test     check the runner itself: .pb -> .npy round trip and the\n"
		"                  comparison (accepts within tolerance, rejects beyond), no resnetc\n"
		"  TESTS_DIR...    folders of test directories (test sets), run in order; default:\n"
		"                  " DEBIAN_DATA "/{" DEBIAN_SETS_TEXT "}\n"
		"                  and REPO/../shared/onnx-node-tests, those that exist\n"
		"BUILD is the folder above this program's tests/ folder; the C compiler is $CC or cc.\n");
}

static char *parent_dir(const char *path)
{
	char *s = xstrdup(path);
	char *slash = strrchr(s, '/');
	if (slash && slash != s)
		*slash = 0;
	else if (slash)
		slash[1] = 0;
	else
		strcpy(s, ".");
	return s;
}

static char *absolute(const char *path)
{
	char buf[PATH_MAX];
	return realpath(path, buf) ? xstrdup(buf) : xstrdup(path);
}

/* Defaults come from where this program sits: BUILD/tests/conformance_runner,
 * and the repository is the nearest folder above holding compiler/ and
 * include/resnetc/ (build/ has a compiler/ of objects, hence the second). */
static void default_paths(const char *argv0, char **build, char **repo)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0)
		exe[n] = 0;
	else if (!realpath(argv0, exe))
		snprintf(exe, sizeof exe, "%s", argv0);
	char *dir = parent_dir(exe);
	char *up = parent_dir(dir);
	const char *base = strrchr(dir, '/');
	*build = strcmp(base ? base + 1 : dir, "tests") == 0 ? xstrdup(up) : xstrdup("build");
	*repo = NULL;
	char *p = xstrdup(dir);
	for (int i = 0; i < 6 && !*repo; i++) {
		char *a = fmt("%s/compiler", p), *b = fmt("%s/include/resnetc", p);
		if (is_dir(a) && is_dir(b))
			*repo = xstrdup(p);
		free(a);
		free(b);
		char *q = parent_dir(p);
		free(p);
		p = q;
	}
	free(p);
	free(up);
	free(dir);
	if (!*repo)
		*repo = xstrdup(".");
}

static int parse_int(const char *s, int lo, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

/* The test directories of one set, sorted and classified. With several
 * sets, lines name a case SET/name. */
static int load_set(const options *o, test_set *ts, int prefixed)
{
	DIR *d = opendir(ts->dir);
	if (!d) {
		fprintf(stderr, "conformance: %s: %s\n", ts->dir, strerror(errno));
		return -1;
	}
	size_t cap = 64, n = 0;
	char **names = malloc(cap * sizeof(char *));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (o->filter && !strstr(e->d_name, o->filter))
			continue;
		char *p = fmt("%s/%s", ts->dir, e->d_name);
		int dir = is_dir(p);
		free(p);
		if (!dir)
			continue;
		if (n == cap)
			names = realloc(names, (cap *= 2) * sizeof(char *));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	ts->cases = calloc(n + 1, sizeof(test_case));
	ts->n = n;
	for (size_t i = 0; i < n; i++) {
		test_case *c = &ts->cases[i];
		c->name = names[i];
		c->label = prefixed ? fmt("%s/%s", ts->label, names[i]) : xstrdup(names[i]);
		c->dir = fmt("%s/%s", ts->dir, names[i]);
		classify(c);
	}
	free(names);
	return 0;
}

int main(int argc, char **argv)
{
	options o = {0};
	o.jobs = 2;
	o.timeout_s = 120;
	char *build, *repo;
	default_paths(argv[0], &build, &repo);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o.verbose = 1;
		} else if (strcmp(a, "--self-test") == 0) {
			o.self_test = 1;
		} else if (strcmp(a, "--keep") == 0) {
			o.keep = 1;
		} else if (strcmp(a, "--resnetc") == 0 && more) {
			o.resnetc = argv[++i];
		} else if (strcmp(a, "--rt") == 0 && more) {
			o.rt = argv[++i];
		} else if (strcmp(a, "--filter") == 0 && more) {
			o.filter = argv[++i];
		} else if (strcmp(a, "--jobs") == 0 && more) {
			if (parse_int(argv[++i], 1, &o.jobs) != 0) {
				fprintf(stderr, "conformance: --jobs needs a number >= 1\n");
				return 2;
			}
		} else if (strcmp(a, "--timeout") == 0 && more) {
			if (parse_int(argv[++i], 1, &o.timeout_s) != 0) {
				fprintf(stderr, "conformance: --timeout needs a number of seconds >= 1\n");
				return 2;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "conformance: unexpected argument '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			o.roots = realloc(o.roots, (size_t)(o.n_roots + 1) * sizeof(char *));
			o.roots[o.n_roots++] = a;
		}
	}
	uint16_t probe = 1;
	if (*(uint8_t *)&probe != 1) {
		fprintf(stderr, "conformance: a big-endian host is not supported\n");
		return 2;
	}
	o.resnetc = absolute(o.resnetc ? o.resnetc : fmt("%s/resnetc", build));
	o.rt = absolute(o.rt ? o.rt : fmt("%s/libresnetc_rt.a", build));
	if (o.n_roots == 0) {
		size_t nd = sizeof DEBIAN_SETS / sizeof DEBIAN_SETS[0];
		o.roots = calloc(nd + 1, sizeof(char *));
		for (size_t i = 0; i < nd; i++) {
			char *p = fmt("%s/%s", DEBIAN_DATA, DEBIAN_SETS[i]);
			if (is_dir(p))
				o.roots[o.n_roots++] = p;
		}
		char *shared = fmt("%s/../shared/onnx-node-tests", repo);
		if (is_dir(shared))
			o.roots[o.n_roots++] = absolute(shared);
		if (o.n_roots == 0) {
			fprintf(stderr, "conformance: no test data: neither %s (Debian: apt-get install"
				" libonnx-testdata) nor %s; name a folder of tests\n", DEBIAN_DATA, shared);
			return 2;
		}
	}
	o.cc = getenv("CC") && getenv("CC")[0] ? getenv("CC") : "cc";
	const char *t = getenv("TMPDIR");
	o.tmp_root = t && t[0] ? t : "/tmp";
	if (!o.self_test && access(o.resnetc, X_OK) != 0) {
		fprintf(stderr, "conformance: %s: not an executable (build it, or pass --resnetc)\n",
			o.resnetc);
		return 2;
	}
	if (!o.self_test && !is_file(o.rt)) {
		fprintf(stderr, "conformance: %s: no runtime archive (build it, or pass --rt)\n", o.rt);
		return 2;
	}

	test_set *sets = calloc((size_t)o.n_roots, sizeof(test_set));
	size_t total = 0;
	for (int k = 0; k < o.n_roots; k++) {
		test_set *ts = &sets[k];
		ts->dir = o.roots[k];
		ts->label = xstrdup(o.roots[k]);
		while (strlen(ts->label) > 1 && ts->label[strlen(ts->label) - 1] == '/')
			ts->label[strlen(ts->label) - 1] = 0;
		const char *base = strrchr(ts->label, '/');
		if (base && base[1])
			memmove(ts->label, base + 1, strlen(base + 1) + 1);
		if (load_set(&o, ts, o.n_roots > 1) != 0)
			return 2;
		total += ts->n;
	}
	if (total == 0)
		fprintf(stderr, "conformance: no test directories%s%s\n",
			o.filter ? " matching " : "", o.filter ? o.filter : "");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int k = 0; k < o.n_roots && !interrupted; k++) {
		test_set *ts = &sets[k];
		size_t run = 0;
		for (size_t i = 0; i < ts->n; i++)
			run += ts->cases[i].state != CASE_SKIP;
		printf("conformance: set '%s' (%s): %zu test directories, %zu in scope\n", ts->label,
		       ts->dir, ts->n, run);
		fflush(stdout);
		run_all(&o, ts->cases, ts->n);
		count_set(ts);
	}
	if (interrupted) {
		fprintf(stderr, "conformance: interrupted\n");
		return 130;
	}
	return summarize(sets, o.n_roots);
}
