/* The driver's .npy files: numpy's format, read with every check, written
 * little-endian (driver.h). */
#define _POSIX_C_SOURCE 200809L

#include "driver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ALIGN = RN_ALIGN, MAX_HEADER = 1 << 20 };

const char *rn_drv_prog_name(const rn_model_desc *m)
{
	return m->name && m->name[0] ? m->name : "model";
}

void rn_drv_report(const rn_model_desc *m, const char *file, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: error: ", rn_drv_prog_name(m));
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

int64_t rn_drv_elems(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

/* "(1, 3, 224, 224)", "(5,)" or "()", as numpy prints a shape. */
void rn_drv_format_shape(char *buf, size_t size, int rank, const int64_t *dims)
{
	size_t len = 0;
	len += (size_t)snprintf(buf + len, size - len, "(");
	for (int i = 0; i < rank && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "",
					(long long)dims[i]);
	if (len < size)
		snprintf(buf + len, size - len, rank == 1 ? ",)" : ")");
}

void *rn_drv_alloc(size_t bytes)
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
void *rn_npy_read(const rn_model_desc *m, const rn_io_desc *io, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		rn_drv_report(m, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	void *data = NULL;
	char *hdr = NULL;
	unsigned char pre[12];
	char shape[160], want_shape[160];
	npy_header h;
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
		rn_drv_report(m, path, "not a .npy file");
		goto out;
	}
	if (pre[6] < 1 || pre[6] > 3) {
		rn_drv_report(m, path, "unsupported .npy version %d.%d", pre[6], pre[7]);
		goto out;
	}
	uint32_t hlen;
	if (pre[6] == 1) {
		hlen = read_le(pre + 8, 2);
	} else {
		if (fread(pre + 10, 1, 2, f) != 2) {
			rn_drv_report(m, path, "truncated header");
			goto out;
		}
		hlen = read_le(pre + 8, 4);
	}
	if (hlen > MAX_HEADER) {
		rn_drv_report(m, path, "header of %lu bytes is implausibly large", (unsigned long)hlen);
		goto out;
	}
	hdr = malloc(hlen + 1);
	if (!hdr || fread(hdr, 1, hlen, f) != hlen) {
		rn_drv_report(m, path, hdr ? "truncated header" : "out of memory");
		goto out;
	}
	hdr[hlen] = 0;
	const char *why = parse_header(hdr, &h);
	if (why) {
		rn_drv_report(m, path, "%s", why);
		goto out;
	}
	if (h.fortran) {
		rn_drv_report(m, path, "fortran_order arrays are not supported; save a C-ordered array");
		goto out;
	}
	if (!descr_matches(h.descr, io->dtype)) {
		if (io->dtype == RN_BF16)
			rn_drv_report(m, path, "dtype '%s' does not match the model's input '%s' (bfloat16, "
			     "which must be given as its raw bits, dtype '<u2')", h.descr, io->name);
		else
			rn_drv_report(m, path, "dtype '%s' does not match the model's input '%s' (%s)",
			     h.descr, io->name, rn_dtype_name(io->dtype));
		goto out;
	}
	int same = h.rank == io->rank;
	for (int i = 0; same && i < h.rank; i++)
		same = h.dims[i] == io->dims[i];
	if (!same) {
		rn_drv_format_shape(shape, sizeof shape, h.rank, h.dims);
		rn_drv_format_shape(want_shape, sizeof want_shape, io->rank, io->dims);
		rn_drv_report(m, path, "shape %s does not match the model's input '%s' %s", shape,
		     io->name, want_shape);
		goto out;
	}
	size_t es = rn_dtype_size(io->dtype);
	size_t n = (size_t)rn_drv_elems(io->rank, io->dims);
	size_t bytes = n * es;
	data = rn_drv_alloc(bytes);
	if (!data) {
		rn_drv_report(m, path, "out of memory");
		goto out;
	}
	size_t got = fread(data, 1, bytes, f);
	if (got != bytes) {
		rn_drv_report(m, path, "truncated: expected %zu data bytes, found %zu", bytes, got);
		free(data);
		data = NULL;
		goto out;
	}
	if (fgetc(f) != EOF) {
		rn_drv_report(m, path, "trailing data after the %zu data bytes", bytes);
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
int rn_npy_write(const rn_model_desc *m, const char *path, const char *shown,
		     const rn_io_desc *io, void *data)
{
	char shape[160], dict[256];
	rn_drv_format_shape(shape, sizeof shape, io->rank, io->dims);
	int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
			  npy_descr(io->dtype), shape);
	/* pad with spaces so the data starts at a multiple of 64 bytes */
	size_t total = 10 + (size_t)dl + 1;
	size_t padded = (total + ALIGN - 1) / ALIGN * ALIGN;
	size_t hlen = padded - 10;
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
				  (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8) };
	size_t es = rn_dtype_size(io->dtype);
	size_t n = (size_t)rn_drv_elems(io->rank, io->dims);
	FILE *f = fopen(path, "wb");
	if (!f) {
		rn_drv_report(m, shown, "cannot create '%s': %s", path, strerror(errno));
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
		rn_drv_report(m, shown, "write failed: %s", strerror(errno));
		remove(path);
		return -1;
	}
	return 0;
}
