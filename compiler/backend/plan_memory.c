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

/* Placed items, to find those whose live range overlaps a new one's: a max
 * tree over the items in the order of their first use, each leaf the
 * item's last use once it is placed (-1 before). The items overlapping
 * [first, last] are the placed ones among those first used by `last` whose
 * last use is at `first` or later. */
typedef struct {
	int *item;       /* items[] indices in order of first use */
	int *pos;        /* an item's leaf */
	int *first_at;   /* first use of the item at each leaf */
	int *max;        /* the tree: max[1] the root, leaves from `size` */
	int size, n;
} Overlaps;

typedef struct {
	const Graph *g;
	const Item *items;
} ByFirst;

static ByFirst by_first_ctx; /* qsort has no context argument */

static int by_first_use(const void *a, const void *b)
{
	const Tensor *x = &by_first_ctx.g->tensors[by_first_ctx.items[*(const int *)a].t];
	const Tensor *y = &by_first_ctx.g->tensors[by_first_ctx.items[*(const int *)b].t];
	if (x->first_use != y->first_use)
		return x->first_use < y->first_use ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

static void overlaps_init(Overlaps *o, const Graph *g, const Item *items, int ni)
{
	o->n = ni;
	o->item = xmalloc((ni + 1) * sizeof *o->item);
	o->pos = xmalloc((ni + 1) * sizeof *o->pos);
	o->first_at = xmalloc((ni + 1) * sizeof *o->first_at);
	for (int i = 0; i < ni; i++)
		o->item[i] = i;
	by_first_ctx = (ByFirst){g, items};
	qsort(o->item, ni, sizeof *o->item, by_first_use);
	for (int k = 0; k < ni; k++) {
		o->pos[o->item[k]] = k;
		o->first_at[k] = g->tensors[items[o->item[k]].t].first_use;
	}
	for (o->size = 1; o->size < ni; o->size *= 2)
		;
	o->max = xmalloc(2 * (size_t)o->size * sizeof *o->max);
	for (int k = 0; k < 2 * o->size; k++)
		o->max[k] = -1;
}

static void overlaps_free(Overlaps *o)
{
	free(o->item);
	free(o->pos);
	free(o->first_at);
	free(o->max);
}

static void overlaps_place(Overlaps *o, int i, int last_use)
{
	int k = o->size + o->pos[i];
	o->max[k] = last_use;
	for (k /= 2; k >= 1; k /= 2)
		o->max[k] = o->max[2 * k] > o->max[2 * k + 1] ? o->max[2 * k] : o->max[2 * k + 1];
}

/* Appends to out[] the placed items among leaves [0, end) of subtree k
 * (leaves [lo, lo + width)) whose last use is >= from. */
static void overlaps_find(const Overlaps *o, int k, int lo, int width, int end, int from, int *out, int *nout)
{
	if (lo >= end || o->max[k] < from)
		return;
	if (width == 1) {
		out[(*nout)++] = o->item[lo];
		return;
	}
	overlaps_find(o, 2 * k, lo, width / 2, end, from, out, nout);
	overlaps_find(o, 2 * k + 1, lo + width / 2, width / 2, end, from, out, nout);
}

typedef struct {
	int64_t lo, hi;
} Span;

static int by_lo(const void *a, const void *b)
{
	const Span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The storage tensor t uses, memoized in root[] (-1: not known yet), so a
 * long chain of views costs its length once, not once per use. */
static int root_of(const Graph *g, int *root, int t)
{
	int r = t;
	while (root[r] < 0 && g->tensors[r].alias >= 0)
		r = g->tensors[r].alias;
	if (root[r] >= 0)
		r = root[r];
	while (t != r && root[t] < 0) {
		root[t] = r;
		t = g->tensors[t].alias;
	}
	root[r] = r;
	return r;
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
	int *root = xmalloc((g->n_tensors + 1) * sizeof *root);
	for (int i = 0; i < g->n_tensors; i++)
		root[i] = -1;
	int step = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_steps; k++) {
			Step *s = &n->steps[k];
			/* step_is_noop() */
			if (s->kernel == K_VIEW && root_of(g, root, s->out[0]) == root_of(g, root, s->in[0]))
				continue;
			for (int j = 0; j < STEP_MAX_IN; j++)
				if (s->in[j] >= 0)
					touch(&g->tensors[root_of(g, root, s->in[j])], step);
			for (int j = 0; j < STEP_MAX_OUT; j++)
				if (s->out[j] >= 0)
					touch(&g->tensors[root_of(g, root, s->out[j])], step);
			step++;
		}
	}
	free(root);
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
	Overlaps o;
	overlaps_init(&o, g, items, ni);
	int *found = xmalloc((ni + 1) * sizeof *found);
	Span *busy = xmalloc((ni + 1) * sizeof *busy);
	for (int i = 0; i < ni; i++) {
		Tensor *t = &g->tensors[items[i].t];
		/* leaves [0, end): the items first used by t's last use */
		int lo = 0, hi = ni;
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			if (o.first_at[mid] <= t->last_use)
				lo = mid + 1;
			else
				hi = mid;
		}
		int nc = 0;
		overlaps_find(&o, 1, 0, o.size, lo, t->first_use, found, &nc);
		for (int j = 0; j < nc; j++) {
			busy[j].lo = g->tensors[items[found[j]].t].offset;
			busy[j].hi = busy[j].lo + items[found[j]].size;
		}
		/* The lowest offset clear of all of them: walk them by start,
		 * moving past each one that overlaps. */
		qsort(busy, nc, sizeof *busy, by_lo);
		int64_t off = 0;
		for (int j = 0; j < nc && busy[j].lo < off + items[i].size; j++)
			if (busy[j].hi > off)
				off = busy[j].hi;
		t->offset = off;
		if (off + items[i].size > st->arena_bytes)
			st->arena_bytes = off + items[i].size;
		overlaps_place(&o, i, t->last_use);
	}
	free(found);
	free(busy);
	overlaps_free(&o);
	/* The most bytes live at one step: sizes added where ranges start and
	 * taken off after they end. */
	int64_t *delta = xcalloc((size_t)st->n_steps + 1, sizeof *delta);
	for (int i = 0; i < ni; i++) {
		const Tensor *t = &g->tensors[items[i].t];
		delta[t->first_use] += items[i].size;
		delta[t->last_use + 1] -= items[i].size;
	}
	int64_t live = 0;
	for (int s = 0; s < st->n_steps; s++) {
		live += delta[s];
		if (live > st->peak_live)
			st->peak_live = live;
	}
	free(delta);
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
