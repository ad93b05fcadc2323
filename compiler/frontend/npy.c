/* Reading a float32 .npy file: calibration samples for --quantize. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

/* The most elements a file may declare: the product of its non-zero dims
 * (as for initializers and inputs), so that 4 bytes each cannot overflow. */
#define NPY_MAX_ELEMENTS ((int64_t)1 << 40)

/* The value of `key` in the header's dict, e.g. "'<f4'" for 'descr'. */
static const char *header_value(const char *h, const char *key)
{
	const char *p = strstr(h, key);
	if (!p)
		return NULL;
	p = strchr(p + strlen(key), ':');
	if (!p)
		return NULL;
	p++;
	while (*p == ' ')
		p++;
	return p;
}

float *npy_read_f32(const char *path, int *rank, int64_t *dims, Diag *d)
{
	size_t len;
	unsigned char *buf = read_file(path, (size_t)1 << 34, &len, d);
	if (!buf)
		return NULL;
	float *out = NULL;
	if (len < 10 || memcmp(buf, "\x93NUMPY", 6)) {
		diag_set(d, "not a .npy file (no \\x93NUMPY magic)");
		goto done;
	}
	if (buf[6] < 1 || buf[6] > 3) {
		diag_set(d, "a .npy version this reader does not know (%d)", buf[6]);
		goto done;
	}
	size_t hlen = buf[6] == 1 ? (size_t)(buf[8] | buf[9] << 8)
				   : len >= 12 ? (size_t)(buf[8] | buf[9] << 8 | buf[10] << 16 | (size_t)buf[11] << 24) : 0;
	size_t start = (buf[6] == 1 ? 10 : 12) + hlen;
	if (hlen > 65536) {
		diag_set(d, "a .npy header of %zu bytes is implausibly large", hlen);
		goto done;
	}
	if (start > len) {
		diag_set(d, "truncated .npy header");
		goto done;
	}
	char *h = xmalloc(hlen + 1);
	memcpy(h, buf + (buf[6] == 1 ? 10 : 12), hlen);
	h[hlen] = 0;
	const char *descr = header_value(h, "'descr'"), *fo = header_value(h, "'fortran_order'");
	const char *shape = header_value(h, "'shape'");
	if (!descr || !fo || !shape || *shape != '(') {
		diag_set(d, "malformed .npy header");
	} else if (strncmp(descr, "'<f4'", 5) && strncmp(descr, "'=f4'", 5)) {
		/* the dtype as written (its quoted string, or what starts there),
		 * at most 16 characters, each control byte shown as '?' */
		char dt[17];
		size_t k = *descr == '\'' ? strcspn(descr + 1, "'") + 2 : strcspn(descr, ",}");
		k = k < 16 ? k : 16;
		for (size_t i = 0; i < k; i++)
			dt[i] = (unsigned char)descr[i] < 0x20 || descr[i] == 0x7f ? '?' : descr[i];
		dt[k] = 0;
		diag_set(d, "the samples must be float32 (.npy dtype '<f4'), this file has %s", dt);
	} else if (strncmp(fo, "False", 5)) {
		diag_set(d, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
	} else {
		int r = 0;
		int64_t n = 1, nonzero = 1;
		const char *p = shape + 1;
		int ok = 1;
		while (*p && *p != ')') {
			while (*p == ' ' || *p == ',')
				p++;
			if (*p == ')')
				break;
			char *end;
			long long v = strtoll(p, &end, 10);
			if (end == p || v < 0 || r == IR_MAX_RANK) {
				ok = 0;
				break;
			}
			if (v && nonzero > NPY_MAX_ELEMENTS / v) {
				ok = -1;
				break;
			}
			dims[r++] = v;
			nonzero *= v ? v : 1;
			n *= v;
			p = end;
		}
		if (ok < 0)
			diag_set(d, "the .npy shape is too large (more than 2^40 elements)");
		else if (!ok)
			diag_set(d, "malformed or too large .npy shape");
		else if ((size_t)n * 4 != len - start)
			diag_set(d, "the file holds %zu data bytes, its shape says %lld", len - start, (long long)n * 4);
		else {
			*rank = r;
			out = xmalloc((size_t)n * 4 + 1);
			memcpy(out, buf + start, (size_t)n * 4);
		}
	}
	free(h);
done:
	free(buf);
	return out;
}
