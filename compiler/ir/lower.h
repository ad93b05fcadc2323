/*
 * Lowering: every node becomes a short list of Steps, each one call of a
 * runtime kernel with parameters fixed at compile time. The same Step is
 * executed by the compiler to fold constants (kernel_exec) and printed as C
 * by the emitter (kernel_emit), so both always agree.
 *
 * Operands of a step are tensor indices: in[] are read, out[] written.
 * Byte offsets (dst_off) let several steps write parts of one output (Concat).
 */
#ifndef RESNETC_LOWER_H
#define RESNETC_LOWER_H

#include <stdio.h>

#include "ir.h"

/* Each kind is one row of kernels.c's table: names for reports, and the
 * exec and emit functions of the two faces below. */
typedef enum {
	K_VIEW = 0,     /* out[0] is in[0] with another shape: no code (copy if needed) */
	K_COPY,         /* memcpy(out + dst_off, in, bytes) */
	K_COPY2D,       /* rn_copy2d into out at dst_off */
	K_CONV2D,
	K_POOL,
	K_GLOBAL_AVG,
	K_GLOBAL_MAX,
	K_REDUCE_MEAN,
	K_SCALE_SHIFT,  /* in: x, scale, shift */
	K_BATCHNORM,    /* in: x, scale, bias, mean, var */
	K_BINARY,
	K_UNARY,
	K_GEMM,         /* in: a, b, c (optional) */
	K_MATMUL,
	K_SOFTMAX,
	K_TRANSPOSE,
	K_PAD,
	K_SLICE,
	K_GATHER,       /* in: x, indices */
	K_CAST,
	K_CONV2D_PACKED, /* in: x, packed weights+bias, -, residual; algo, scratch */
	K_QUANTIZE,     /* in: x, scale, zero point */
	K_DEQUANTIZE,   /* in: x, scale, zero point */
	K_DYNAMIC_QUANTIZE, /* in: x; out: y, scale, zero point */
	K_QLINEAR_CONV, /* in: x, x_zp, w, w_zp, bias, x_scale, w_scale, y_scale, y_zp */
	K_QLINEAR_MATMUL, /* in: a, a_zp, b, b_zp, a_scale, b_scale, y_scale, y_zp */
	K_QLINEAR_ADD,  /* in: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp */
	K_QLINEAR_GAP,  /* in: x, x_scale, x_zp, y_scale, y_zp; p.quant: dtype, outer, inner */
	K_QGEMM,        /* in: a, a_zp, b, b_zp, a_scale, b_scale, y_scale, y_zp, bias */
	K_QCONV,        /* in: x, w (int8), bias (int32), mult, residual */
	K_QCONV_PACKED, /* in: x, packed, -, -, residual; scratch */
	K_COUNT
} KernelKind;

typedef struct {
	int64_t rows, dst_pitch, src_pitch, row_bytes, dst_off;
} CopyParams;

typedef struct {
	int64_t outer, inner;
} GlobalParams;

typedef struct {
	int rank;
	int64_t dims[RN_MAX_RANK];
	unsigned mask;
} ReduceParams;

typedef struct {
	int64_t n, c, spatial;
	float eps;
} AffineParams;

typedef struct {
	int act;
	float alpha, beta;
	int64_t n;
} UnaryParams;

typedef struct {
	int64_t outer, len, inner;
	int log;
} SoftmaxParams;

typedef struct {
	int elem, rank;
	int64_t dims[RN_MAX_RANK];
	int perm[RN_MAX_RANK];
} TransposeParams;

typedef struct {
	int elem, rank, mode;
	int64_t dims[RN_MAX_RANK], begin[RN_MAX_RANK], end[RN_MAX_RANK];
	unsigned char value[8];
} PadParams;

typedef struct {
	int elem, rank;
	int64_t dims[RN_MAX_RANK], start[RN_MAX_RANK], step[RN_MAX_RANK], out[RN_MAX_RANK];
} SliceParams;

typedef struct {
	int elem, idx_dtype;
	int64_t outer, axis_len, inner, nidx;
} GatherParams;

typedef struct {
	int from, to;
	int64_t n;
} CastParams;

/* The most operands a step reads (QLinearConv: x, w, bias and three
 * scales and zero points). */
#define STEP_MAX_IN 9
/* ... and writes (DynamicQuantizeLinear: y, scale, zero point). */
#define STEP_MAX_OUT 3

typedef struct {
	rn_conv2d_params conv;
	rn_qlinear_params q;
} QConvParams;

typedef struct {
	rn_matmul_params mm;
	rn_qlinear_params q;
	float alpha;        /* K_QGEMM */
} QMatmulParams;

typedef struct Step {
	int kernel;         /* KernelKind */
	int in[STEP_MAX_IN], n_in; /* -1: absent optional operand */
	int out[STEP_MAX_OUT], n_out;
	union {
		int64_t bytes;  /* K_COPY */
		CopyParams copy;
		rn_conv2d_params conv;
		rn_pool_params pool;
		GlobalParams global;
		ReduceParams reduce;
		AffineParams affine;
		rn_binary_params binary;
		UnaryParams unary;
		rn_gemm_params gemm;
		rn_matmul_params matmul;
		SoftmaxParams softmax;
		TransposeParams transpose;
		PadParams pad;
		SliceParams slice;
		GatherParams gather;
		CastParams cast;
		rn_quant_params quant;
		QConvParams qconv;
		QMatmulParams qmatmul;
		rn_qconv2d_params qconvi;
	} p;
	int64_t dst_off;    /* K_COPY: byte offset into out[0] */
	int algo;           /* K_CONV2D_PACKED: RN_CONV_* */
	int64_t scratch;    /* bytes of kernel scratch the step needs */
} Step;

/* Appends a zeroed step of `kernel` to n and returns it. */
Step *node_add_step(Node *n, int kernel);

/* ---- the kernel table (kernels.c) ---- */

/* The convolution a step computes (float or int8, any algorithm), or NULL
 * for a step of another kind. */
const rn_conv2d_params *step_conv(const Step *s);

/* Name of the runtime kernel a step calls, for reports ("rn_conv2d_f32"). */
const char *kernel_name(int kernel);
/* An RN_ACT_* as C ("RN_ACT_RELU") and as the ONNX op ("Relu"; "" for
 * none and identity): the one table, in kernels.c. */
const char *act_c_name(int act);
const char *act_op_name(int act);
/* What computes a step, in words for reports ("winograd F(4x4,3x3)"). */
const char *kernel_label(const Step *s);
/* A Gemm step that is a fully connected layer (transB, not transA): it
 * calls rn_gemm_nt_f32, whose file the output carries without gemm.c. */
int step_is_fc(const Step *s);

/* Runs a step on host buffers (ptr[t] is tensor t's data). Returns 0, or a
 * runtime error code (negative) with a message in d. */
int kernel_exec(const Graph *g, const Step *s, void *const *ptr, Diag *d);

/* Prints the step as C: one call, parameters as a static const struct.
 * `ref` writes the C expression (of type void * or const void *) for the
 * address of tensor t plus byte_off into buf, and returns buf; t == -1
 * asks for the kernel scratch area. */
typedef const char *(*TensorRef)(void *ctx, int tensor, int64_t byte_off, char *buf, size_t len);
void kernel_emit(FILE *f, const Graph *g, const Step *s, int id, TensorRef ref, void *ctx);

#endif
