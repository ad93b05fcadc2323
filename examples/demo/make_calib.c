/*
 * Calibration samples for `resnetc compile --quantize int8`: the first N
 * images of a Fashion-MNIST idx file, normalized as classify.c and
 * train.py do, written as one float32 .npy of shape N x 1 x 28 x 28.
 *
 *   make_calib N IMAGES-idx3-ubyte OUT.npy
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIXEL_MEAN 0.2860f
#define PIXEL_STD 0.3530f
enum { ROWS = 28, COLS = 28, PIXELS = ROWS * COLS };

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "make_calib: error: %s: %s\n", what, detail);
	return 1;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: make_calib N IMAGES-idx3-ubyte OUT.npy\n");
		return 2;
	}
	char *end;
	long n = strtol(argv[1], &end, 10);
	if (*end || n < 1 || n > 60000)
		return fail(argv[1], "N must be a count from 1 to 60000");
	FILE *f = fopen(argv[2], "rb");
	if (!f)
		return fail(argv[2], "cannot open");
	unsigned char head[16];
	if (fread(head, 1, 16, f) != 16 || be32(head) != 0x00000803u || be32(head + 8) != ROWS ||
	    be32(head + 12) != COLS) {
		fclose(f);
		return fail(argv[2], "not an idx3 file of 28x28 images");
	}
	if (be32(head + 4) < (uint32_t)n) {
		fclose(f);
		return fail(argv[2], "fewer images than asked for");
	}
	size_t count = (size_t)n * PIXELS;
	unsigned char *img = malloc(count);
	float *x = malloc(count * sizeof *x);
	if (!img || !x || fread(img, 1, count, f) != count) {
		fclose(f);
		return fail(argv[2], "truncated or out of memory");
	}
	fclose(f);
	for (size_t i = 0; i < count; i++)
		x[i] = ((float)img[i] / 255.0f - PIXEL_MEAN) / PIXEL_STD;
	char header[128];
	int len = snprintf(header, sizeof header,
			   "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, 1, %d, %d), }", n, ROWS, COLS);
	int total = 10 + len + 1;
	int pad = (64 - total % 64) % 64;
	FILE *o = fopen(argv[3], "wb");
	if (!o)
		return fail(argv[3], "cannot create");
	unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
				   (unsigned char)((len + pad + 1) & 0xff), (unsigned char)((len + pad + 1) >> 8)};
	int ok = fwrite(magic, 1, 10, o) == 10 && fwrite(header, 1, (size_t)len, o) == (size_t)len;
	for (int i = 0; ok && i < pad; i++)
		ok = fputc(' ', o) != EOF;
	ok = ok && fputc('\n', o) != EOF && fwrite(x, sizeof *x, count, o) == count;
	if (fclose(o) != 0 || !ok) {
		remove(argv[3]);
		return fail(argv[3], "write failed");
	}
	free(img);
	free(x);
	return 0;
}
