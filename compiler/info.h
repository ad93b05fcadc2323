/* `resnetc info`: the per-node table and totals, from a lowered graph. */
#ifndef RESNETC_INFO_H
#define RESNETC_INFO_H

#include <stdio.h>

#include "ir.h"
#include "plan.h"

/* Multiply-accumulates of node n (convolutions and matrix products). */
int64_t node_macs(const Graph *g, const Node *n);
/* Elements of constant inputs of n (weights and biases). */
int64_t node_params(const Graph *g, const Node *n);
void print_info(FILE *f, const Graph *g, const PlanStats *st);

#endif
