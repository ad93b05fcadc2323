/*
 * Code generation choices: the target (compiler flags of the generated
 * Makefile, which kernels the runtime compiles to), threads, and which
 * convolution algorithm each layer gets (select_kernels).
 */
#ifndef RESNETC_TARGET_H
#define RESNETC_TARGET_H

#include "ir.h"

typedef struct {
	const char *name;   /* --target NAME */
	const char *cflags; /* CFLAGS default in the generated Makefile */
	const char *cc;     /* the cross compiler to use, "" for the host's cc */
	const char *what;   /* for --help */
	int small;          /* 32-bit or bare metal: --optimize size by default */
} Target;

extern const Target targets[];
extern const int n_targets;
const Target *target_find(const char *name);

typedef struct {
	const Target *target;
	int threads; /* >= 1 */
	int blas;    /* --gemm openblas: GEMM-shaped work through cblas_sgemm */
	int direct;  /* --conv direct: only the reference convolution */
	int weights_c; /* --weights c: weights as C string literals, not .bin files */
	int size;      /* --optimize size: no algorithm that expands the weights
			* (Winograd); -1: the target's default (Target.small) */
} CodegenOptions;

/* Picks each convolution's algorithm and packs its weights at compile time
 * (runs after the passes; constant weights only). */
int select_kernels(Graph *g, const CodegenOptions *o, Diag *d);

#endif
