/*
 * What the driver's files share (runtime/driver/): driver.c (main and the
 * command line), npy.c (.npy files in and out), modes.c (--bench,
 * --profile, --top). The driver is the only part of the runtime that
 * allocates memory or does I/O; it is not in libNAME.a.
 */
#ifndef RESNETC_DRIVER_H
#define RESNETC_DRIVER_H

#include <stdio.h>

#include "../core/internal.h"

/* The model's name, or "model". */
const char *rn_drv_prog_name(const rn_model_desc *m);
/* "NAME: error: [FILE: ]what" on stderr, one line. */
void rn_drv_report(const rn_model_desc *m, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "(1, 3, 224, 224)" */
void rn_drv_format_shape(char *buf, size_t size, int rank, const int64_t *dims);
int64_t rn_drv_elems(int rank, const int64_t *dims);
/* RN_ALIGN-aligned, at least one alignment unit; free() it. */
void *rn_drv_alloc(size_t bytes);

/* An input of the model's type and shape from an .npy file, or NULL after
 * reporting what is wrong with it. */
void *rn_npy_read(const rn_model_desc *m, const rn_io_desc *io, const char *path);
/* data as .npy at path (errors name `shown`); 0 or -1 after reporting. */
int rn_npy_write(const rn_model_desc *m, const char *path, const char *shown, const rn_io_desc *io, void *data);

const char *rn_drv_error_name(int rc);
/* Exit statuses: 0 or 1. */
int rn_drv_bench(const rn_model_desc *m, long reps, void *ws, const void *const *in, void *const *out);
int rn_drv_profile(const rn_model_desc *m, void *ws, const void *const *in, void *const *out);
char **rn_drv_read_labels(const rn_model_desc *m, const char *path, int64_t classes, char **text);
int rn_drv_print_top(const rn_model_desc *m, const void *out0, long k, char **labels);

#endif
