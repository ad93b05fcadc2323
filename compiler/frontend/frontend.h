/*
 * Front ends: a model file in, a Graph out (tensors typed and shaped for the
 * graph inputs and constants; node outputs are shaped later by lowering).
 * On failure they return NULL with a one-line message in d that does not
 * repeat the file name (the caller prefixes it).
 */
#ifndef RESNETC_FRONTEND_H
#define RESNETC_FRONTEND_H

#include "ir.h"

typedef struct {
	char name[256];
	int rank;
	int64_t dims[IR_MAX_RANK];
} ShapePin;

/* --bind NAME=V,V,...: a graph input made a constant (a shape, axes or
 * pads operand that a model takes as an input). */
typedef struct {
	char name[256];
	double values[64];
	int count;
} Binding;

typedef struct {
	const ShapePin *pins; /* --input-shape NAME=1x3x224x224 */
	int n_pins;
	const Binding *binds;
	int n_binds;
	/* Notes: a default the front end chose where the model left it open
	 * (a symbolic batch size taken as 1), one line each, starting with the
	 * model's path. With note set they go to note(note_ctx, line);
	 * otherwise to stderr as "resnetc: note: LINE", unless quiet (-q). */
	int quiet;
	void (*note)(void *ctx, const char *line);
	void *note_ctx;
} ImportOptions;

int binding_parse(const char *arg, Binding *b, Diag *d);

Graph *onnx_import(const char *path, const ImportOptions *opt, Diag *d);
/* YAML ResNet description + safetensors weights (yaml_import.c). Messages
 * about a place in the YAML file start with "LINE:COL: ". */
Graph *yaml_import(const char *path, const ImportOptions *opt, Diag *d);

/* Parses "NAME=1x3x224x224" (or "1x3x224x224" for the only input). */
int shape_pin_parse(const char *arg, ShapePin *pin, Diag *d);

/* A float32, C-order .npy file (npy.c): its data (malloc'd), rank and
 * dims; NULL with d set (the message does not name the file). */
float *npy_read_f32(const char *path, int *rank, int64_t *dims, Diag *d);

/* Reads a whole file (at most max bytes). Returns NULL with d set. */
unsigned char *read_file(const char *path, size_t max, size_t *len, Diag *d);

/* The folder part of a file path ("." for a bare name), malloc'd. */
char *path_dir(const char *path);

/* Resolves `rel` against folder `dir` and checks it stays inside: no
 * absolute path, no "..", no symlink that leads out. Returns a malloc'd
 * path or NULL with d set. */
char *confined_path(const char *dir, const char *rel, Diag *d);

#endif
