/*
 * `resnetc graph`: the optimized graph (after passes and kernel selection)
 * as Graphviz DOT. One box per node that remains, labelled with its name,
 * fused op, convolution geometry, kernel, output shape and MACs, filled by
 * kernel; views (no code) dashed; the fused residual edge dashed with "+".
 * Output is deterministic.
 */
#ifndef RESNETC_GRAPH_DOT_H
#define RESNETC_GRAPH_DOT_H

#include <stdio.h>

#include "ir.h"
#include "plan.h"

void write_graph_dot(FILE *f, const Graph *g, const PlanStats *st, const char *title);

#endif
