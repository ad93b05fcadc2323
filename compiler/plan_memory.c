#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "lower.h"

int tensor_root(const Graph *g, int t)
{
	while (g->tensors[t].alias >= 0)
		t = g->tensors[t].alias;
	return t;
}

int step_is_noop(const Graph *g, const Step *s)
{
	return s->kernel == K_VIEW && tensor_root(g, s->out[0]) == tensor_root(g, s->in[0]);
}

static int64_t align_up(int64_t v)
{
	return (v + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

static void touch(Tensor *t, int step)
{
	if (t->first_use < 0 || step < t->first_use)
		t->first_use = step;
	if (step > t->last_use)
		t->last_use = step;
}

typedef struct {
	int t;
	int64_t size;
} Item;

static int by_size_desc(const void *a, const void *b)
{
	const Item *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->t - y->t;
}

int plan_memory(Graph *g, PlanStats *st, Diag *d)
{
	(void)d;
	memset(st, 0, sizeof *st);
	for (int i = 0; i < g->n_tensors; i++) {
		Tensor *t = &g->tensors[i];
		t->offset = -1;
		t->first_use = t->last_use = -1;
	}
	int step = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_steps; k++) {
			Step *s = &n->steps[k];
			if (step_is_noop(g, s))
				continue;
			for (int j = 0; j < 5; j++)
				if (s->in[j] >= 0)
					touch(&g->tensors[tensor_root(g, s->in[j])], step);
			for (int j = 0; j < 2; j++)
				if (s->out[j] >= 0)
					touch(&g->tensors[tensor_root(g, s->out[j])], step);
			step++;
		}
	}
	st->n_steps = step;

	Item *items = xmalloc((g->n_tensors + 1) * sizeof *items);
	int ni = 0;
	for (int i = 0; i < g->n_tensors; i++) {
		Tensor *t = &g->tensors[i];
		if (t->kind != T_ACT || t->is_output || t->alias >= 0 || t->first_use < 0)
			continue;
		items[ni].t = i;
		items[ni].size = align_up((int64_t)tensor_bytes(t));
		st->sum_bytes += items[ni].size;
		ni++;
	}
	/* Largest first, each at the lowest offset that fits between the
	 * tensors already placed whose live ranges overlap its own. */
	qsort(items, ni, sizeof *items, by_size_desc);
	int64_t *lo = xmalloc((ni + 1) * sizeof *lo), *hi = xmalloc((ni + 1) * sizeof *hi);
	for (int i = 0; i < ni; i++) {
		Tensor *t = &g->tensors[items[i].t];
		int nc = 0;
		for (int j = 0; j < i; j++) {
			Tensor *u = &g->tensors[items[j].t];
			if (u->first_use > t->last_use || t->first_use > u->last_use)
				continue;
			lo[nc] = u->offset;
			hi[nc] = u->offset + items[j].size;
			nc++;
		}
		int64_t off = 0;
		for (int again = 1; again;) {
			again = 0;
			for (int j = 0; j < nc; j++)
				if (off < hi[j] && lo[j] < off + items[i].size) {
					off = hi[j];
					again = 1;
				}
		}
		t->offset = off;
		if (off + items[i].size > st->arena_bytes)
			st->arena_bytes = off + items[i].size;
	}
	for (int s = 0; s < st->n_steps; s++) {
		int64_t live = 0;
		for (int i = 0; i < ni; i++) {
			Tensor *t = &g->tensors[items[i].t];
			if (t->first_use <= s && s <= t->last_use)
				live += items[i].size;
		}
		if (live > st->peak_live)
			st->peak_live = live;
	}
	free(lo);
	free(hi);
	free(items);
	/* One scratch area for all kernels: steps run one at a time. */
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_steps; k++)
			if (g->nodes[i].steps[k].scratch > st->scratch_bytes)
				st->scratch_bytes = align_up(g->nodes[i].steps[k].scratch);
	st->scratch_offset = st->arena_bytes;
	st->arena_bytes += st->scratch_bytes;
	g->arena_bytes = st->arena_bytes;
	return 0;
}
