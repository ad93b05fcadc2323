/*
 * Reader counts for passes: how many live nodes read each tensor (graph
 * outputs count as readers), what consumers() computes by scanning every
 * node, kept in an array instead so that asking for every node of a large
 * graph stays linear. A pass counts once when it starts and tells the
 * counts about each change it makes to a node's inputs, residual or
 * liveness: readers_node(r, n, -1) before, readers_node(r, n, +1) after
 * (nothing after, for a node that died).
 */
#ifndef RESNETC_READERS_H
#define RESNETC_READERS_H

#include "ir.h"

typedef struct {
	int *count; /* by tensor index; tensors added later are grown into */
	int n;
} Readers;

void readers_init(Readers *r, const Graph *g);
void readers_free(Readers *r);
/* consumers(g, t) as of the last change reported. */
int readers_of(const Readers *r, int t);
/* Adds delta for each input of n (one per input naming the tensor) and
 * for its residual. */
void readers_node(Readers *r, const Node *n, int delta);

#endif
