/*
 * The static memory plan and the step schedule the emitter follows.
 *
 * plan_memory() numbers the steps of live nodes in order, computes each
 * stored tensor's live range and gives it an offset in one arena, 64-byte
 * aligned, reusing space of tensors that are dead. Tensors with an alias
 * (set by the views and inplace passes) use their root's storage.
 * Graph inputs and outputs live in the caller's buffers; constants in the
 * weights.
 */
#ifndef RESNETC_PLAN_H
#define RESNETC_PLAN_H

#include "ir.h"

#define PLAN_ALIGN 64

typedef struct {
	int64_t arena_bytes;   /* NAME_WORKSPACE_BYTES */
	int64_t sum_bytes;     /* all intermediates, unshared */
	int64_t peak_live;     /* largest total live at one step: a lower bound */
	int64_t scratch_bytes; /* kernel scratch, after the activations */
	int64_t scratch_offset;
	int n_steps;
} PlanStats;

int plan_memory(Graph *g, PlanStats *st, Diag *d);

/* The tensor whose storage t uses (t itself unless it is a view). */
int tensor_root(const Graph *g, int t);
/* A view step whose output already is its input's memory: no code. */
struct Step;
int step_is_noop(const Graph *g, const struct Step *s);

#endif
