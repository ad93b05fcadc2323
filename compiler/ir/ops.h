/*
 * The operator table. An ONNX op is one entry: its name and one `lower`
 * function that checks the node's attributes and inputs, infers the output
 * types and shapes, and appends the Steps that compute it. Ops of one family
 * live in one file (op_conv.c, op_pool.c, op_elementwise.c, op_gemm.c,
 * op_shape.c); adding an op means one function there and one line in ops.c.
 *
 * When lower() runs, every input has a known dtype and shape, and constant
 * inputs carry their data (shape subgraphs are folded as lowering goes).
 * Errors name the node: "node 'conv1' (Conv): ...".
 */
#ifndef RESNETC_OPS_H
#define RESNETC_OPS_H

#include "ir.h"
#include "lower.h"

typedef int (*LowerFn)(Graph *g, Node *n, Diag *d);

/* The most bytes one tensor computed at compile time (a folded constant)
 * may have: it is allocated while compiling and baked into the output.
 * Fuzzing builds stop earlier, so that every input stays quick. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MAX_CONST_BYTES ((int64_t)1 << 26)
#else
#define MAX_CONST_BYTES ((int64_t)1 << 30)
#endif

typedef struct OpDef {
	const char *name;
	int min_in, max_in;   /* accepted input counts */
	int min_out, max_out; /* accepted output counts */
	LowerFn lower;
} OpDef;

const OpDef *op_find(const char *op_type);

/* Lowers every node in order; folds nodes whose inputs are all constant. */
int lower_graph(Graph *g, Diag *d);

/* ---- helpers for lower functions (lower.c) ---- */
int node_error(Diag *d, const Node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets output i's dtype and shape. */
void set_output(Graph *g, Node *n, int i, int dtype, int rank, const int64_t *dims);
/* Requires input i present, of dtype (or any if dtype 0), rank in [lo, hi]. */
int need_input(Graph *g, Node *n, int i, int dtype, int lo, int hi, Diag *d);
/* Reads an ints attribute into v[0..max) (n set to its length, 0 if
 * absent). Fails on a wrong type or a list longer than max. */
int get_ints(const Node *n, const char *name, int64_t *v, int max, int *count, Diag *d);
/* Reads a constant integer tensor input (int32 or int64) into v. Fails if it
 * is not constant (a shape that depends on run-time data). */
int const_ints(Graph *g, Node *n, int i, int64_t *v, int max, int *count, Diag *d);
/* Input i if the node has it (newer opsets), else attribute `name`. */
int ints_operand(Graph *g, Node *n, int i, const char *name, int64_t *v, int max, int *count, Diag *d);
/* The `axes` operand (input 1 or attribute) as a bit mask over rank dims
 * (rank + their count if grow: Unsqueeze). Fails on repeats. */
int axes_mask(Graph *g, Node *n, int rank, int grow, unsigned *mask, int *cnt, Diag *d);
/* Reads constant input i as one float (any float or int type). */
int const_scalar(Graph *g, Node *n, int i, double *v, Diag *d);
/* Normalizes axis into [0, rank) (negative counts from the end). */
int norm_axis(const Node *n, int64_t axis, int rank, int *out, Diag *d);
int is_float_type(int dtype);
/* Adds a constant tensor named "<node>:<suffix>" that takes ownership of data. */
int add_const(Graph *g, const Node *n, const char *suffix, int dtype, int rank,
	      const int64_t *dims, void *data);
/* Spatial window arithmetic shared by Conv and the pools: reads kernel
 * (from kernel_shape or `kernel`), strides, dilations, pads, auto_pad and
 * ceil_mode; computes output sizes and begin/end pads for nsp dims. */
typedef struct {
	int nsp;
	int64_t in[3], out[3];
	int k[3], s[3], d[3], pb[3], pe[3];
} Window;
int window_infer(const Node *n, int nsp, const int64_t *in, const int64_t *kernel,
		 int allow_ceil, Window *w, Diag *d);

/* Conv's output shape (od, rank 3 or 4) and kernel parameters from x, w
 * and the node's attributes (activation fields zero); shared by the
 * quantized convolutions. */
int conv_geometry(Node *n, const Tensor *x, const Tensor *w, rn_conv2d_params *p, int64_t *od, Diag *d);
/* Numpy broadcasting of a and b: p's rank, dims (the output's shape) and
 * element strides sa, sb (0 on broadcast axes). */
int broadcast(const Node *n, const Tensor *a, const Tensor *b, rn_binary_params *p, Diag *d);
/* MatMul's output shape (od, *rank) and batch broadcast of a x b. */
int matmul_geometry(Node *n, const Tensor *a, const Tensor *b, rn_matmul_params *p, int64_t *od,
		    int *rank, Diag *d);
int lower_conv(Graph *g, Node *n, Diag *d);
int lower_batchnorm(Graph *g, Node *n, Diag *d);
int lower_maxpool(Graph *g, Node *n, Diag *d);
int lower_averagepool(Graph *g, Node *n, Diag *d);
int lower_qlinear_avgpool(Graph *g, Node *n, Diag *d);
int lower_global_pool(Graph *g, Node *n, Diag *d);
int lower_reduce_mean(Graph *g, Node *n, Diag *d);
int lower_activation(Graph *g, Node *n, Diag *d);
int lower_clip(Graph *g, Node *n, Diag *d);
int lower_binary(Graph *g, Node *n, Diag *d);
int lower_softmax(Graph *g, Node *n, Diag *d);
int lower_cast(Graph *g, Node *n, Diag *d);
int lower_gemm(Graph *g, Node *n, Diag *d);
int lower_matmul(Graph *g, Node *n, Diag *d);
int lower_identity(Graph *g, Node *n, Diag *d);
int lower_flatten(Graph *g, Node *n, Diag *d);
int lower_reshape(Graph *g, Node *n, Diag *d);
int lower_squeeze(Graph *g, Node *n, Diag *d);
int lower_unsqueeze(Graph *g, Node *n, Diag *d);
int lower_transpose(Graph *g, Node *n, Diag *d);
int lower_concat(Graph *g, Node *n, Diag *d);
int lower_pad(Graph *g, Node *n, Diag *d);
int lower_constant(Graph *g, Node *n, Diag *d);
int lower_constant_of_shape(Graph *g, Node *n, Diag *d);
int lower_shape(Graph *g, Node *n, Diag *d);
int lower_gather(Graph *g, Node *n, Diag *d);
int lower_slice(Graph *g, Node *n, Diag *d);
int lower_quantize_linear(Graph *g, Node *n, Diag *d);
int lower_dequantize_linear(Graph *g, Node *n, Diag *d);
int lower_dynamic_quantize_linear(Graph *g, Node *n, Diag *d);
int lower_qlinear_conv(Graph *g, Node *n, Diag *d);
int lower_conv_integer(Graph *g, Node *n, Diag *d);
int lower_qlinear_matmul(Graph *g, Node *n, Diag *d);
int lower_matmul_integer(Graph *g, Node *n, Diag *d);
int lower_qlinear_add(Graph *g, Node *n, Diag *d);
int lower_qlinear_global_avg(Graph *g, Node *n, Diag *d);
int lower_qgemm(Graph *g, Node *n, Diag *d);

#endif
