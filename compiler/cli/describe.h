/*
 * What compile, info and graph say on stderr about the pipeline's phases
 * (progress.h decides whether it shows): per phase one line with its time
 * and what it did, and with -v what each pass removed and which kernel
 * each convolution got.
 */
#ifndef RESNETC_DESCRIBE_H
#define RESNETC_DESCRIBE_H

#include "pipeline.h"
#include "progress.h"

/* A PipelineCallback; ctx is the Progress to print through. */
void describe_phase(void *ctx, const Pipeline *p, PipelinePhase phase, int done);

#endif
