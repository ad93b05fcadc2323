/*
 * The IR: one graph of tensors and nodes, shared by the front ends, passes,
 * lowering and the C emitter.
 *
 * Tensors and nodes live in growable arrays owned by the Graph and are named
 * by index (int), so passes can add and remove without dangling pointers.
 * Shapes are static: every dim is known (>= 0) once shape inference ran.
 * A tensor is one of: a graph input, a constant (data owned by the tensor),
 * or an intermediate produced by exactly one node. Graph outputs are
 * intermediates (or constants) listed in g->outputs.
 *
 * Errors: functions return 0 on success, -1 on failure after filling the
 * Diag given to them with a one-line message (see diag_set). Nothing here
 * prints or exits.
 */
#ifndef RESNETC_IR_H
#define RESNETC_IR_H

#include <stddef.h>
#include <stdint.h>

#include "resnetc/runtime.h"

#define IR_MAX_RANK RN_MAX_RANK

typedef struct {
	char msg[512];
} Diag;

/* Formats into d->msg; returns -1 so callers can `return diag_set(...)`. */
int diag_set(Diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

typedef enum { T_ACT = 0, T_INPUT, T_CONST } TensorKind;

typedef struct {
	char *name;
	TensorKind kind;
	int dtype;               /* rn_dtype */
	int rank;                /* -1: shape not known yet */
	int64_t dims[IR_MAX_RANK];
	void *data;              /* T_CONST: rn_dtype_size(dtype) * numel bytes, owned */
	int producer;            /* node index, -1 if none */
	int is_output;           /* listed in g->outputs */
	/* memory plan (plan_memory.c) */
	int alias;               /* tensor whose storage this one uses, or -1 */
	int64_t offset;          /* arena offset in bytes, -1 if not in the arena */
	int first_use, last_use; /* step indices of the live range */
	/* a uint8/int8 activation: its quantization (qscale 0 if unknown),
	 * and with --quantize the float tensor it stands for (twin, or -1):
	 * what info measures its error against */
	float qscale;
	int qzp;
	int twin;
} Tensor;

typedef enum { A_INT, A_FLOAT, A_STRING, A_INTS, A_FLOATS, A_TENSOR, A_OTHER } AttrType;

typedef struct {
	char *name;
	AttrType type;
	int64_t i;
	float f;
	char *s;
	int64_t *ints;
	float *floats;
	int n;            /* element count of ints / floats */
	int tensor;       /* A_TENSOR: a T_CONST tensor index in the graph */
} Attr;

struct OpDef;

typedef struct {
	char *name;
	char *op_type;           /* ONNX op name, e.g. "Conv" */
	const struct OpDef *def; /* NULL until resolved */
	int *in, n_in;           /* tensor indices, -1 for an omitted optional input */
	int *out, n_out;
	Attr *attrs;
	int n_attrs;
	int dead;                /* removed by a pass */
	/* fusion results (passes): applied in the producing kernel's epilogue */
	int act;                 /* RN_ACT_* */
	float act_alpha, act_beta;
	int residual;            /* tensor added before act, or -1 */
	/* lowering: the kernel calls that compute the outputs (see lower.h) */
	struct Step *steps;
	int n_steps;
} Node;

/* --io int8: a graph input or output passed as its quantized values
 * (real = (q - zero_point) * scale); quantized 0 for a float one. */
typedef struct {
	int quantized;
	float scale;
	int zero_point;
} IoQuant;

typedef struct {
	char *name;
	char *path;              /* model file, for messages */
	int opset;
	Tensor *tensors;
	int n_tensors, cap_tensors;
	Node *nodes;
	int n_nodes, cap_nodes;
	int *inputs, n_inputs;
	int *outputs, n_outputs;
	int64_t arena_bytes;     /* memory plan result */
	/* --quantize int8: the quantize pass's options (a QuantizeOptions,
	 * passes.h), or NULL for a float compile */
	const struct QuantizeOptions *quantize;
	/* --io int8: the io-int8 pass's request, and what it did (one entry
	 * per input and output; NULL before it ran) */
	int io_int8;
	IoQuant *in_q, *out_q;
	/* graph_find_tensor's index: open addressing on the name's hash, each
	 * slot the last tensor added under a name, or -1 (ir.c keeps it). */
	int *name_slots, n_slots;
} Graph;

Graph *graph_new(void);
void graph_free(Graph *g);

/* Adds a tensor named `name` (copied); returns its index. */
int graph_add_tensor(Graph *g, const char *name, TensorKind kind, int dtype);
/* The tensor named `name` (the last one added, if several are), or -1.
 * Constant time: names are hashed as tensors are added, so a tensor's name
 * must not be changed in place. */
int graph_find_tensor(const Graph *g, const char *name);
/* Adds a node (name, op_type copied; in/out arrays copied). */
int graph_add_node(Graph *g, const char *name, const char *op_type,
		   const int *in, int n_in, const int *out, int n_out);
Attr *node_add_attr(Node *n, const char *name, AttrType type);

int64_t tensor_numel(const Tensor *t);
size_t tensor_bytes(const Tensor *t);
/* "1x3x224x224", "scalar" */
const char *shape_str(const Tensor *t, char *buf, size_t len);

const Attr *node_attr(const Node *n, const char *name);
int64_t attr_int(const Node *n, const char *name, int64_t dflt);
float attr_float(const Node *n, const char *name, float dflt);
const char *attr_string(const Node *n, const char *name, const char *dflt);
/* When attr_int, attr_float or attr_string found the attribute with another
 * type (and returned the default), the message saying so, once; else NULL.
 * Lowering checks it after each node. */
const char *attr_type_error(void);

/* Input i of node n as a tensor, or NULL if absent/omitted. */
Tensor *node_input(Graph *g, const Node *n, int i);

/* Sorts g->nodes topologically (stable: in repeated sweeps over the nodes in
 * their order, each sweep taking every node whose inputs are ready by
 * then). Fails on cycles or on a node that reads a tensor nobody produces. */
int graph_toposort(Graph *g, Diag *d);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
