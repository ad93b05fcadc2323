/*
 * A strict reader for safetensors files (the format of Hugging Face's
 * `safetensors` package, which PyTorch users save state_dicts in):
 *
 *   8 bytes   N, little-endian uint64
 *   N bytes   JSON header: {"NAME": {"dtype": "F32", "shape": [2, 3],
 *             "data_offsets": [BEGIN, END]}, ..., "__metadata__": {"k": "v"}}
 *   ...       the data buffer; BEGIN and END are byte offsets into it
 *
 * Everything is checked before anything is used: the header length against
 * the file size, the JSON (own parser, no dependency; duplicate keys, bad
 * UTF-8 and trailing garbage are errors), each entry's dtype, shape and
 * offsets (inside the buffer, END - BEGIN == numel * dtype size, no two
 * tensors overlapping). A hostile file gets a one-line message in the Diag,
 * never a crash. Messages do not repeat the file name.
 */
#ifndef RESNETC_SAFETENSORS_H
#define RESNETC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#define ST_MAX_RANK 8

typedef struct {
	char *name;
	char dtype[12];          /* as in the file: "F32", "BF16", "I64", ... */
	int elem;                /* bytes per element */
	int rank;
	int64_t dims[ST_MAX_RANK];
	uint64_t begin, end;     /* byte range in the data buffer */
	int used;                /* for the caller: set when consumed */
} StTensor;

typedef struct {
	unsigned char *buf;      /* the whole file, owned */
	size_t len;
	size_t data;             /* offset of the data buffer in buf */
	StTensor *t;             /* in the header's order */
	int n;
	StTensor **by_name;      /* sorted by name, for st_find */
} StFile;

/* Parses a file already in memory; takes ownership of buf (freed by
 * st_free, also on failure). */
int st_parse(StFile *f, unsigned char *buf, size_t len, Diag *d);
/* Reads and parses the file at path. */
int st_load(StFile *f, const char *path, Diag *d);
void st_free(StFile *f);

StTensor *st_find(const StFile *f, const char *name);
/* "64x3x7x7", "scalar" */
const char *st_shape_str(int rank, const int64_t *dims, char *buf, size_t len);
/* Converts a floating-point tensor (F32, F16, BF16, F64) to float32 in out
 * (numel floats). Fails for other dtypes. */
int st_read_f32(const StFile *f, const StTensor *t, float *out, Diag *d);

#endif
