/*
 * The C back end: writes an output folder for a lowered, planned graph:
 *   NAME.h  NAME.c  NAME_w<k>.c (weights)  main.c  Makefile
 *   runtime/ and include/resnetc/ sources (copied from the installation)
 * Output is deterministic: the same graph gives the same bytes.
 */
#ifndef RESNETC_EMIT_H
#define RESNETC_EMIT_H

#include "ir.h"
#include "plan.h"
#include "target.h"

typedef struct {
	const char *name;        /* C identifier prefix, file names */
	const char *model_file;  /* for the header comment: base name only */
	const char *runtime_dir; /* where runtime/ sources are */
	const char *include_dir; /* where include/resnetc/ is */
	const CodegenOptions *cg;
	/* Optional: called as weight bytes are written (done of total). */
	void (*progress)(void *ctx, int64_t done, int64_t total);
	void *progress_ctx;
} EmitOptions;

int emit_c(Graph *g, const PlanStats *st, const char *dir, const EmitOptions *o, Diag *d);

#endif
