/*
 * What the emitter's files share (emit_c.c: NAME.h, NAME.c, main.c;
 * emit_weights.c: NAME_w<k>.c; emit_makefile.c: the Makefile and the
 * runtime copy). Not used outside the emitter.
 */
#ifndef RESNETC_EMIT_INTERNAL_H
#define RESNETC_EMIT_INTERNAL_H

#include <stdio.h>

#include "emit.h"
#include "runtime_files.h"
#include "version.h"

typedef struct {
	const Graph *g;
	const char *name;
	const char *model_file;
	const CodegenOptions *cg;
	int64_t scratch_offset;
	int64_t *woff;   /* per tensor: offset in its weight chunk, -1 if none */
	int *wchunk;     /* per tensor: chunk index */
	int n_chunks;
	int *in_index;   /* per tensor: graph input index or -1 */
	int *out_index;  /* per tensor: graph output index or -1 */
	const EmitOptions *o;
	RuntimeFiles rt; /* the runtime files the folder carries (runtime_files.c) */
} Emitter;

/* dir/file for writing, or NULL with d set. */
FILE *emit_open(const char *dir, const char *file, Diag *d);
/* Closes f; an error if any write to it failed. */
int emit_close(FILE *f, const char *file, Diag *d);
/* A name from the model as text inside a C comment (see emit_c.c). */
const char *emit_comment(const char *s, char *buf, size_t len);
/* dst = src in upper case, for macro names. */
void emit_upper(char *dst, const char *src, size_t len);

/* NAME_w<k>.c; sets e->woff, e->wchunk and e->n_chunks. */
int emit_weights(Emitter *e, const char *dir, Diag *d);
/* runtime/ and include/resnetc/: the sources the model builds with. */
int emit_runtime(Emitter *e, const char *dir, char ***rt, int *n_rt, Diag *d);
void emit_free_names(char **v, int n);
/* The Makefile; rt: the runtime sources copied (runtime/ relative). */
int emit_makefile(Emitter *e, const char *dir, char **rt, int n_rt, Diag *d);
/* The CMakeLists.txt: the same library (and driver) for CMake. */
int emit_cmake(Emitter *e, const char *dir, char **rt, int n_rt, Diag *d);

#endif
