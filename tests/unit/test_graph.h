/*
 * Building graphs by hand in unit tests: tensors (constants filled with
 * reproducible values in [-1, 1)), for tests that run passes and kernel
 * selection on small graphs. Included by those tests only.
 */
#ifndef RESNETC_TEST_GRAPH_H
#define RESNETC_TEST_GRAPH_H

#include <stdint.h>
#include <string.h>

#include "ir.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static int tensor(Graph *g, const char *name, TensorKind kind, int rank, const int64_t *dims)
{
	int t = graph_add_tensor(g, name, kind, kind == T_ACT ? 0 : RN_F32);
	Tensor *x = &g->tensors[t];
	if (kind != T_ACT) {
		x->rank = rank;
		memcpy(x->dims, dims, rank * sizeof *dims);
	}
	if (kind == T_CONST) {
		float *v = xmalloc(tensor_numel(x) * sizeof *v);
		for (int64_t i = 0; i < tensor_numel(x); i++)
			v[i] = frand();
		x->data = v;
	}
	if (kind == T_INPUT) {
		g->inputs = xrealloc(g->inputs, (g->n_inputs + 1) * sizeof *g->inputs);
		g->inputs[g->n_inputs++] = t;
	}
	return t;
}

#endif
