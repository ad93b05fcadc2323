/*
 * The runtime sources a model's output folder needs (runtime_files.c).
 */
#ifndef RESNETC_RUNTIME_FILES_H
#define RESNETC_RUNTIME_FILES_H

#include "ir.h"

#define RT_MAX_FILES 64

typedef struct {
	const char *files[RT_MAX_FILES]; /* paths under runtime/, "conv/conv.c" */
	int n_files;
	const char *omit[8];             /* RN_OMIT_CONV_* macros for conv_pack.c */
	int n_omit;
} RuntimeFiles;

/* The .c files a graph's steps need at `threads` threads, with what
 * they call; the driver's files (runtime/driver/) are not listed. */
void runtime_files(const Graph *g, int threads, RuntimeFiles *r);
int runtime_files_has(const RuntimeFiles *r, const char *file);

#endif
