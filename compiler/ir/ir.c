#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int diag_set(Diag *d, const char *fmt, ...)
{
	/* Through a copy: callers may wrap the previous message (d->msg). */
	char buf[sizeof d->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* Names come from the model file: a newline or an escape sequence in
	 * one must not split the error line or reach the terminal. */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	memcpy(d->msg, buf, sizeof buf);
	return -1;
}

/* Out of memory is the one error not reported as a value: there is nothing
 * sensible left to do, and every caller would have to pass it up. */
static void oom(void)
{
	fputs("resnetc: error: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

Graph *graph_new(void)
{
	Graph *g = xcalloc(1, sizeof *g);
	g->name = xstrdup("model");
	return g;
}

static void attr_free(Attr *a)
{
	free(a->name);
	free(a->s);
	free(a->ints);
	free(a->floats);
}

void graph_free(Graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_tensors; i++) {
		free(g->tensors[i].name);
		free(g->tensors[i].data);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		free(n->name);
		free(n->op_type);
		free(n->in);
		free(n->out);
		for (int j = 0; j < n->n_attrs; j++)
			attr_free(&n->attrs[j]);
		free(n->attrs);
		free(n->steps);
	}
	free(g->tensors);
	free(g->nodes);
	free(g->inputs);
	free(g->outputs);
	free(g->in_q);
	free(g->out_q);
	free(g->name_slots);
	free(g->name);
	free(g->path);
	free(g);
}

/* FNV-1a: names are short, and exporters' names differ in their digits. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot holding `name`, or the empty slot where it would go. The table
 * is never full: it doubles past half. */
static int *name_slot(const Graph *g, const char *name)
{
	uint32_t mask = (uint32_t)g->n_slots - 1, i = name_hash(name) & mask;
	while (g->name_slots[i] >= 0 && strcmp(g->tensors[g->name_slots[i]].name, name) != 0)
		i = (i + 1) & mask;
	return &g->name_slots[i];
}

/* Sizes the table for n tensors and indexes tensors 0..n-1 in order, so a
 * later one replaces an earlier one of the same name. */
static void name_index_build(Graph *g, int n)
{
	int slots = 64;
	while (slots < 2 * n + 2)
		slots *= 2;
	free(g->name_slots);
	g->name_slots = xmalloc((size_t)slots * sizeof *g->name_slots);
	g->n_slots = slots;
	for (int i = 0; i < slots; i++)
		g->name_slots[i] = -1;
	for (int i = 0; i < n; i++)
		*name_slot(g, g->tensors[i].name) = i;
}

int graph_add_tensor(Graph *g, const char *name, TensorKind kind, int dtype)
{
	if (g->n_tensors == g->cap_tensors) {
		g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 64;
		g->tensors = xrealloc(g->tensors, g->cap_tensors * sizeof *g->tensors);
	}
	Tensor *t = &g->tensors[g->n_tensors];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->kind = kind;
	t->dtype = dtype;
	t->rank = -1;
	t->producer = -1;
	t->alias = -1;
	t->offset = -1;
	t->first_use = t->last_use = -1;
	t->twin = -1;
	if (2 * (g->n_tensors + 1) > g->n_slots)
		name_index_build(g, g->n_tensors + 1);
	else
		*name_slot(g, name) = g->n_tensors;
	return g->n_tensors++;
}

int graph_find_tensor(const Graph *g, const char *name)
{
	return g->n_slots ? *name_slot(g, name) : -1;
}

int graph_add_node(Graph *g, const char *name, const char *op_type,
		   const int *in, int n_in, const int *out, int n_out)
{
	if (g->n_nodes == g->cap_nodes) {
		g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
		g->nodes = xrealloc(g->nodes, g->cap_nodes * sizeof *g->nodes);
	}
	Node *n = &g->nodes[g->n_nodes];
	memset(n, 0, sizeof *n);
	n->name = xstrdup(name);
	n->op_type = xstrdup(op_type);
	n->in = xmalloc((n_in ? n_in : 1) * sizeof *n->in);
	if (n_in)
		memcpy(n->in, in, n_in * sizeof *in);
	n->n_in = n_in;
	n->out = xmalloc((n_out ? n_out : 1) * sizeof *n->out);
	if (n_out)
		memcpy(n->out, out, n_out * sizeof *out);
	n->n_out = n_out;
	n->residual = -1;
	return g->n_nodes++;
}

Attr *node_add_attr(Node *n, const char *name, AttrType type)
{
	n->attrs = xrealloc(n->attrs, (n->n_attrs + 1) * sizeof *n->attrs);
	Attr *a = &n->attrs[n->n_attrs++];
	memset(a, 0, sizeof *a);
	a->name = xstrdup(name);
	a->type = type;
	a->tensor = -1;
	return a;
}

int64_t tensor_numel(const Tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= t->dims[i];
	return n;
}

size_t tensor_bytes(const Tensor *t)
{
	return (size_t)tensor_numel(t) * rn_dtype_size(t->dtype);
}

const char *shape_str(const Tensor *t, char *buf, size_t len)
{
	if (t->rank < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (t->rank == 0) {
		snprintf(buf, len, "scalar");
		return buf;
	}
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < t->rank && k < len; i++)
		k += snprintf(buf + k, len - k, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
	return buf;
}

const Attr *node_attr(const Node *n, const char *name)
{
	for (int i = 0; i < n->n_attrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return &n->attrs[i];
	return NULL;
}

/* The first attribute read with a type other than the op defines (its
 * default was used instead), for attr_type_error(). */
static char attr_mismatch[256];

static void wrong_type(const Attr *a, const char *want)
{
	static const char *const words[] = {"an int", "a float", "a string", "a list of ints", "a list of floats",
					    "a tensor", "of an unsupported kind"};
	if (!attr_mismatch[0])
		snprintf(attr_mismatch, sizeof attr_mismatch, "attribute '%.100s' must be %s, not %s", a->name, want,
			 words[a->type]);
}

const char *attr_type_error(void)
{
	static char msg[sizeof attr_mismatch];
	if (!attr_mismatch[0])
		return NULL;
	memcpy(msg, attr_mismatch, sizeof msg);
	attr_mismatch[0] = 0;
	return msg;
}

int64_t attr_int(const Node *n, const char *name, int64_t dflt)
{
	const Attr *a = node_attr(n, name);
	if (a && a->type != A_INT)
		wrong_type(a, "an int");
	return a && a->type == A_INT ? a->i : dflt;
}

float attr_float(const Node *n, const char *name, float dflt)
{
	const Attr *a = node_attr(n, name);
	if (a && a->type == A_FLOAT)
		return a->f;
	if (a && a->type == A_INT)
		return (float)a->i;
	if (a)
		wrong_type(a, "a float");
	return dflt;
}

const char *attr_string(const Node *n, const char *name, const char *dflt)
{
	const Attr *a = node_attr(n, name);
	if (a && a->type != A_STRING)
		wrong_type(a, "a string");
	return a && a->type == A_STRING ? a->s : dflt;
}

Tensor *node_input(Graph *g, const Node *n, int i)
{
	if (i >= n->n_in || n->in[i] < 0)
		return NULL;
	return &g->tensors[n->in[i]];
}

/* A binary min-heap of node placements, key = sweep * n_nodes + index. */
typedef struct {
	int64_t *k;
	int n;
} Heap;

static void heap_push(Heap *h, int64_t key)
{
	int i = h->n++;
	while (i > 0 && h->k[(i - 1) / 2] > key) {
		h->k[i] = h->k[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->k[i] = key;
}

static int64_t heap_pop(Heap *h)
{
	int64_t top = h->k[0], last = h->k[--h->n];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->k[c + 1] < h->k[c])
			c++;
		if (h->k[c] >= last)
			break;
		h->k[i] = h->k[c];
		i = c;
	}
	if (h->n)
		h->k[i] = last;
	return top;
}

int graph_toposort(Graph *g, Diag *d)
{
	/* The order is that of repeated stable sweeps over the nodes (each
	 * sweep takes, in node order, every node whose inputs are available by
	 * then; already-sorted graphs, what exporters write, take one sweep),
	 * computed without sweeping: node i is placed in sweep
	 *   max over its inputs of (the producer's sweep, + 1 if the producer
	 *   comes after i), at least 1,
	 * and the nodes are taken in (sweep, index) order from a heap as their
	 * last input becomes available. */
	int nn = g->n_nodes, nt = g->n_tensors;
	int *avail = xcalloc(nt, sizeof *avail);
	int *wait = xcalloc(nn, sizeof *wait);    /* inputs not yet available */
	int64_t *sweep = xcalloc(nn, sizeof *sweep);
	int *state = xcalloc(nn, sizeof *state); /* 0 new, 1 placed */
	int *first = xcalloc((size_t)nt + 1, sizeof *first); /* readers of tensor t: */
	Node *sorted = xmalloc((nn ? nn : 1) * sizeof *sorted);
	int done = 0;

	for (int i = 0; i < nt; i++)
		avail[i] = g->tensors[i].kind != T_ACT;
	/* readers[first[t] .. first[t+1]) are the nodes reading t, once per
	 * input that names it */
	for (int i = 0; i < nn; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++) {
			int t = g->nodes[i].in[j];
			if (t >= 0 && !avail[t]) {
				first[t + 1]++;
				wait[i]++;
			}
		}
	for (int t = 0; t < nt; t++)
		first[t + 1] += first[t];
	int *readers = xmalloc(((size_t)first[nt] + 1) * sizeof *readers);
	int *fill = xmalloc(((size_t)nt + 1) * sizeof *fill);
	for (int t = 0; t < nt; t++)
		fill[t] = first[t];
	for (int i = 0; i < nn; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++) {
			int t = g->nodes[i].in[j];
			if (t >= 0 && !avail[t])
				readers[fill[t]++] = i;
		}
	free(fill);

	Heap h = {xmalloc((nn ? nn : 1) * sizeof *h.k), 0};
	for (int i = 0; i < nn; i++) {
		sweep[i] = 1;
		if (!wait[i])
			heap_push(&h, (int64_t)nn + i);
	}
	while (h.n) {
		int64_t key = heap_pop(&h);
		int64_t k = key / nn;
		int p = (int)(key % nn);
		Node *n = &g->nodes[p];
		state[p] = 1;
		sorted[done++] = *n;
		for (int j = 0; j < n->n_out; j++) {
			int t = n->out[j];
			if (t < 0 || avail[t]) /* -1: an omitted optional output */
				continue;
			avail[t] = 1;
			for (int r = first[t]; r < first[t + 1]; r++) {
				int i = readers[r];
				int64_t want = i > p ? k : k + 1;
				if (want > sweep[i])
					sweep[i] = want;
				if (--wait[i] == 0)
					heap_push(&h, sweep[i] * nn + i);
			}
		}
	}
	free(h.k);
	free(readers);
	free(first);
	free(sweep);
	free(wait);
	int rc = 0;
	if (done < nn) {
		/* Name the first blocked node and what it waits for. */
		for (int i = 0; i < nn; i++) {
			if (state[i])
				continue;
			Node *n = &g->nodes[i];
			int missing = -1;
			for (int j = 0; j < n->n_in; j++)
				if (n->in[j] >= 0 && !avail[n->in[j]]) {
					missing = n->in[j];
					break;
				}
			int produced = missing >= 0 && g->tensors[missing].producer >= 0;
			diag_set(d, "node '%s' (%s): input '%s' %s", n->name, n->op_type,
				 missing >= 0 ? g->tensors[missing].name : "?",
				 produced ? "depends on the node's own output (the graph has a cycle)"
					  : "is not produced by any node, initializer or graph input");
			break;
		}
		for (int i = 0; i < nn; i++)
			if (!state[i])
				sorted[done++] = g->nodes[i];
		rc = -1;
	}
	if (nn > 0) /* a graph without nodes has no array */
		memcpy(g->nodes, sorted, (size_t)nn * sizeof *sorted);
	for (int i = 0; i < nn; i++)
		for (int j = 0; j < g->nodes[i].n_out; j++)
			if (g->nodes[i].out[j] >= 0)
				g->tensors[g->nodes[i].out[j]].producer = i;
	free(sorted);
	free(avail);
	free(state);
	return rc;
}
