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

/* `resnetc graph`: the DOT text, or with svg the SVG Graphviz's dot program
 * renders from it, written to out (through a temporary file renamed when
 * complete; missing parent folders are created, and removed again if it
 * fails or a fatal signal comes) or, if out is NULL, to standard output. */
int write_graph_file(const Graph *g, const PlanStats *st, const char *title, const char *out, int svg, Diag *d);

#endif
