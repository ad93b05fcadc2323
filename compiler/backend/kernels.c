/*
 * The kernel table: one row per KernelKind (lower.h) with the names reports
 * use and the kernel's two faces, both from the same Step:
 *
 *   exec   runs the step on host buffers (constant folding, lower.c)
 *   emit   prints it as C for the generated model (emit_c.c)
 *
 * Adding a kernel is one enum entry, one row and its two functions. A
 * parameter struct is printed by one printer (print_conv_params, ...) for
 * every kernel that passes it, so a field cannot be printed by one kernel
 * and forgotten by another; tests/unit/test_kernel_emit.c sets every field
 * and looks for it in the text.
 */
#include "lower.h"

#include <inttypes.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* A step's operands on the host: in[i] is NULL for an absent operand. */
typedef struct {
	const void *in[STEP_MAX_IN];
	void *out[STEP_MAX_OUT];
} KernelIO;

/* What an emit function prints with: the step's operands as C
 * expressions ("NULL" when absent), and `id`, which names the step's
 * static parameters (p<id>, d<id>, ...). */
typedef struct {
	const Graph *g;
	int id;
	char in[STEP_MAX_IN][160], out[STEP_MAX_OUT][160];
	TensorRef ref; /* for addresses at an offset, and the scratch area */
	void *ctx;
} EmitArgs;

typedef struct {
	const char *name;  /* the runtime kernel, for reports (kernel_name) */
	const char *label; /* in words for reports (kernel_label); NULL: name */
	/* 0, or a runtime error code (RN_E_*) */
	int (*exec)(const Graph *g, const Step *s, const KernelIO *io);
	void (*emit)(FILE *f, const Step *s, const EmitArgs *e);
} KernelDef;

/* ---- printing helpers ---- */

/* A float as a C literal that reads back to the same float. */
static const char *flt(float v, char *buf, size_t len)
{
	if (isnan(v))
		return "NAN";
	if (isinf(v))
		return v > 0 ? "INFINITY" : "-INFINITY";
	snprintf(buf, len, "%.9g", v);
	if (!strpbrk(buf, ".e"))
		strncat(buf, ".0", len - strlen(buf) - 1);
	strncat(buf, "f", len - strlen(buf) - 1);
	return buf;
}

/* " .field = {1, 2, 3}," */
static void ints64(FILE *f, const char *field, const int64_t *v, int n)
{
	fprintf(f, " .%s = {", field);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? ", " : "", v[i]);
	fprintf(f, "},");
}

static void ints(FILE *f, const char *field, const int *v, int n)
{
	fprintf(f, " .%s = {", field);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? ", " : "", v[i]);
	fprintf(f, "},");
}

/* "\tstatic const int64_t d7[] = {1, 2, 3};\n" */
static void array64(FILE *f, const char *name, int id, const int64_t *v, int n)
{
	fprintf(f, "\tstatic const int64_t %s%d[] = {", name, id);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? ", " : "", v[i]);
	fprintf(f, "};\n");
}

/* Every RN_ACT_*: its C constant and the ONNX op it stands for. */
static const struct {
	const char *c_name, *op;
} acts[] = {
	[RN_ACT_NONE] = {"RN_ACT_NONE", ""},
	[RN_ACT_RELU] = {"RN_ACT_RELU", "Relu"},
	[RN_ACT_LEAKY_RELU] = {"RN_ACT_LEAKY_RELU", "LeakyRelu"},
	[RN_ACT_CLIP] = {"RN_ACT_CLIP", "Clip"},
	[RN_ACT_SIGMOID] = {"RN_ACT_SIGMOID", "Sigmoid"},
	[RN_ACT_HARD_SIGMOID] = {"RN_ACT_HARD_SIGMOID", "HardSigmoid"},
	[RN_ACT_HARD_SWISH] = {"RN_ACT_HARD_SWISH", "HardSwish"},
	[RN_ACT_IDENTITY] = {"RN_ACT_IDENTITY", ""},
};

static int act_known(int act)
{
	return act >= 0 && act < (int)(sizeof acts / sizeof acts[0]) && acts[act].c_name;
}

const char *act_c_name(int act)
{
	return act_known(act) ? acts[act].c_name : "RN_ACT_NONE";
}

const char *act_op_name(int act)
{
	return act_known(act) ? acts[act].op : "";
}

static const char *const binop_names[] = {
	"RN_ADD", "RN_SUB", "RN_MUL", "RN_DIV", "RN_MAX", "RN_MIN", "RN_PRELU",
};
static const char *const pad_modes[] = {"RN_PAD_CONSTANT", "RN_PAD_REFLECT", "RN_PAD_EDGE", "RN_PAD_WRAP"};

/* The packed convolution's algorithms (RN_CONV_*): the C constant and the
 * label reports use. */
static const struct {
	const char *c_name, *label;
} conv_algos[] = {
	[RN_CONV_DIRECT] = {"RN_CONV_DIRECT", "direct"},
	[RN_CONV_GEMM] = {"RN_CONV_GEMM", "gemm"},
	[RN_CONV_WINOGRAD] = {"RN_CONV_WINOGRAD", "winograd F(4x4,3x3)"},
	[RN_CONV_DEPTHWISE] = {"RN_CONV_DEPTHWISE", "depthwise"},
	[RN_CONV_BLAS] = {"RN_CONV_BLAS", "openblas"},
	[RN_CONV_WINOGRAD_F2] = {"RN_CONV_WINOGRAD_F2", "winograd F(2x2,3x3)"},
};
static const int n_conv_algos = sizeof conv_algos / sizeof conv_algos[0];

/* ---- the parameter structs, one printer each ---- */

/* The fields of rn_conv2d_params, also nested in rn_qconv2d_params. */
static void print_conv_fields(FILE *f, const rn_conv2d_params *p)
{
	char f1[40], f2[40];
	fprintf(f, "\t\t.n = %d, .c = %d, .h = %d, .w = %d, .m = %d, .oh = %d, .ow = %d,\n",
		p->n, p->c, p->h, p->w, p->m, p->oh, p->ow);
	fprintf(f, "\t\t.kh = %d, .kw = %d, .sh = %d, .sw = %d, .dh = %d, .dw = %d,\n",
		p->kh, p->kw, p->sh, p->sw, p->dh, p->dw);
	fprintf(f, "\t\t.pt = %d, .pl = %d, .group = %d, .act = %s, .alpha = %s, .beta = %s,\n",
		p->pt, p->pl, p->group, act_c_name(p->act), flt(p->alpha, f1, sizeof f1),
		flt(p->beta, f2, sizeof f2));
}

static void print_conv_params(FILE *f, int id, const rn_conv2d_params *p)
{
	fprintf(f, "\tstatic const rn_conv2d_params p%d = {\n", id);
	print_conv_fields(f, p);
	fprintf(f, "\t};\n");
}

static void print_qconv_params(FILE *f, int id, const rn_qconv2d_params *p)
{
	char f1[40];
	fprintf(f, "\tstatic const rn_qconv2d_params p%d = {\n\t\t.conv = {\n", id);
	print_conv_fields(f, &p->conv);
	fprintf(f, "\t\t},\n\t\t.x_dtype = %d, .y_dtype = %d, .r_dtype = %d, .x_zp = %d, .y_zp = %d, .r_zp = %d,\n"
		"\t\t.lo = %d, .hi = %d, .has_residual = %d, .r_mult = %s,\n\t};\n", p->x_dtype, p->y_dtype,
		p->r_dtype, p->x_zp, p->y_zp, p->r_zp, p->lo, p->hi, p->has_residual, flt(p->r_mult, f1, sizeof f1));
}

static void print_pool_params(FILE *f, int id, const rn_pool_params *p)
{
	fprintf(f, "\tstatic const rn_pool_params p%d = {\n\t\t.kind = %s, .dtype = %d, .nc = %" PRId64
		", .nsp = %d,\n\t\t", id, p->kind == RN_POOL_MAX ? "RN_POOL_MAX" : "RN_POOL_AVG",
		p->dtype, p->nc, p->nsp);
	ints64(f, "in", p->in, p->nsp);
	ints64(f, "out", p->out, p->nsp);
	ints(f, "k", p->k, p->nsp);
	ints(f, "s", p->s, p->nsp);
	ints(f, "d", p->d, p->nsp);
	fprintf(f, "\n\t\t");
	ints(f, "pad_begin", p->pad_begin, p->nsp);
	ints(f, "pad_end", p->pad_end, p->nsp);
	fprintf(f, " .count_include_pad = %d, .storage_order = %d,", p->count_include_pad, p->storage_order);
	if (p->kind == RN_POOL_AVG && p->dtype != RN_F32)
		fprintf(f, "\n\t\t.q_mult = %.17g, .x_zp = %d, .y_zp = %d,", p->q_mult, p->x_zp, p->y_zp);
	fprintf(f, "\n\t};\n");
}

static void print_binary_params(FILE *f, int id, const rn_binary_params *p)
{
	fprintf(f, "\tstatic const rn_binary_params p%d = {\n\t\t.op = %s, .dtype = %d, .rank = %d,",
		id, binop_names[p->op], p->dtype, p->rank);
	ints64(f, "dims", p->dims, p->rank);
	fprintf(f, "\n\t\t");
	ints64(f, "sa", p->sa, p->rank);
	ints64(f, "sb", p->sb, p->rank);
	fprintf(f, "\n\t};\n");
}

static void print_gemm_params(FILE *f, int id, const rn_gemm_params *p)
{
	char f1[40], f2[40];
	fprintf(f, "\tstatic const rn_gemm_params p%d = {\n\t\t.m = %" PRId64 ", .n = %" PRId64
		", .k = %" PRId64 ", .trans_a = %d, .trans_b = %d,\n", id, p->m, p->n, p->k,
		p->trans_a, p->trans_b);
	fprintf(f, "\t\t.alpha = %s, .beta = %s, .c_sm = %" PRId64 ", .c_sn = %" PRId64 ",\n",
		flt(p->alpha, f1, sizeof f1), flt(p->beta, f2, sizeof f2), p->c_sm, p->c_sn);
	fprintf(f, "\t\t.act = %s, .act_alpha = %s,", act_c_name(p->act), flt(p->act_alpha, f1, sizeof f1));
	fprintf(f, " .act_beta = %s,\n\t};\n", flt(p->act_beta, f2, sizeof f2));
}

static void print_matmul_params(FILE *f, int id, const rn_matmul_params *p)
{
	fprintf(f, "\tstatic const rn_matmul_params p%d = {\n\t\t.batch_rank = %d,", id, p->batch_rank);
	if (p->batch_rank) {
		ints64(f, "batch", p->batch, p->batch_rank);
		ints64(f, "sa", p->sa, p->batch_rank);
		ints64(f, "sb", p->sb, p->batch_rank);
	}
	fprintf(f, "\n\t\t.m = %" PRId64 ", .n = %" PRId64 ", .k = %" PRId64 ",\n\t};\n", p->m, p->n, p->k);
}

static void print_quant_params(FILE *f, int id, const rn_quant_params *p)
{
	fprintf(f, "\tstatic const rn_quant_params p%d = {.dtype = %d, .outer = %" PRId64 ", .axis_len = %" PRId64
		", .inner = %" PRId64 ", .per_axis = %d};\n", id, p->dtype, p->outer, p->axis_len, p->inner, p->per_axis);
}

static void print_qlinear_params(FILE *f, int id, const rn_qlinear_params *q)
{
	fprintf(f, "\tstatic const rn_qlinear_params q%d = {.x_dtype = %d, .w_dtype = %d, .y_dtype = %d,\n"
		"\t\t.x_zp_n = %d, .x_scale_n = %d, .w_zp_n = %d, .w_scale_n = %d};\n", id, q->x_dtype, q->w_dtype,
		q->y_dtype, q->x_zp_n, q->x_scale_n, q->w_zp_n, q->w_scale_n);
}

/* The compiler's own parameter structs go into calls as arguments (and
 * static arrays): "n, c, spatial" of AffineParams, and so on. */
static void print_affine_args(FILE *f, const AffineParams *p)
{
	fprintf(f, "%" PRId64 ", %" PRId64 ", %" PRId64, p->n, p->c, p->spatial);
}

/* ---- the kernels: exec (host) and emit (C) of each ---- */

static int exec_view(const Graph *g, const Step *s, const KernelIO *io)
{
	memcpy(io->out[0], io->in[0], tensor_bytes(&g->tensors[s->out[0]]));
	return 0;
}

static void emit_view(FILE *f, const Step *s, const EmitArgs *e)
{
	/* a copy: no libc, so freestanding builds link */
	fprintf(f, "\trn_copy2d(%s, 0, %s, 0, 1, %zu);\n", e->out[0], e->in[0], tensor_bytes(&e->g->tensors[s->out[0]]));
}

static int exec_copy(const Graph *g, const Step *s, const KernelIO *io)
{
	memcpy((char *)io->out[0] + s->dst_off, io->in[0], (size_t)s->p.bytes);
	return 0;
}

static void emit_copy(FILE *f, const Step *s, const EmitArgs *e)
{
	char o[160];
	e->ref(e->ctx, s->out[0], s->dst_off, o, sizeof o);
	fprintf(f, "\trn_copy2d(%s, 0, %s, 0, 1, %" PRId64 ");\n", o, e->in[0], s->p.bytes);
}

static int exec_copy2d(const Graph *g, const Step *s, const KernelIO *io)
{
	const CopyParams *c = &s->p.copy;
	rn_copy2d((char *)io->out[0] + c->dst_off, c->dst_pitch, io->in[0], c->src_pitch, c->rows, c->row_bytes);
	return 0;
}

static void emit_copy2d(FILE *f, const Step *s, const EmitArgs *e)
{
	const CopyParams *c = &s->p.copy;
	char o[160];
	e->ref(e->ctx, s->out[0], c->dst_off, o, sizeof o);
	fprintf(f, "\trn_copy2d(%s, %" PRId64 ", %s, %" PRId64 ", %" PRId64 ", %" PRId64 ");\n",
		o, c->dst_pitch, e->in[0], c->src_pitch, c->rows, c->row_bytes);
}

static int exec_conv2d(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_conv2d_f32(&s->p.conv, io->in[0], io->in[1], io->in[2], io->in[3], io->out[0]);
	return 0;
}

static void emit_conv2d(FILE *f, const Step *s, const EmitArgs *e)
{
	print_conv_params(f, e->id, &s->p.conv);
	fprintf(f, "\trn_conv2d_f32(&p%d, %s, %s, %s, %s, %s);\n", e->id, e->in[0], e->in[1], e->in[2], e->in[3],
		e->out[0]);
}

/* The step's kernel scratch on the host: *raw to free, the result
 * RN_ALIGN-aligned inside it. */
static void *host_scratch(const Step *s, void **raw)
{
	*raw = xmalloc((size_t)s->scratch + RN_ALIGN);
	return (void *)(((uintptr_t)*raw + RN_ALIGN - 1) & ~(uintptr_t)(RN_ALIGN - 1));
}

static int exec_conv2d_packed(const Graph *g, const Step *s, const KernelIO *io)
{
	void *scratch;
	int rc = rn_conv2d_packed_f32(s->algo, &s->p.conv, io->in[0], io->in[1], io->in[3], io->out[0],
				      host_scratch(s, &scratch), (size_t)s->scratch, NULL);
	free(scratch);
	return rc;
}

static void emit_conv2d_packed(FILE *f, const Step *s, const EmitArgs *e)
{
	char sc[160];
	print_conv_params(f, e->id, &s->p.conv);
	e->ref(e->ctx, -1, 0, sc, sizeof sc);
	fprintf(f, "\tif ((rc = rn_conv2d_packed_f32(%s, &p%d, %s, %s, %s, %s, %s, %" PRId64 ", tp)) != 0)\n\t\treturn rc;\n",
		conv_algos[s->algo].c_name, e->id, e->in[0], e->in[1], e->in[3], e->out[0], sc, s->scratch);
}

static int exec_pool(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_pool(&s->p.pool, io->in[0], io->out[0], io->out[1], NULL);
	return 0;
}

static void emit_pool(FILE *f, const Step *s, const EmitArgs *e)
{
	print_pool_params(f, e->id, &s->p.pool);
	fprintf(f, "\trn_pool(&p%d, %s, %s, %s, tp);\n", e->id, e->in[0], e->out[0], e->out[1]);
}

static int exec_global_avg(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_global_avg_f32(s->p.global.outer, s->p.global.inner, io->in[0], io->out[0]);
	return 0;
}

static int exec_global_max(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_global_max_f32(s->p.global.outer, s->p.global.inner, io->in[0], io->out[0]);
	return 0;
}

/* rn_global_avg_f32 and rn_global_max_f32 */
static void emit_global(FILE *f, const Step *s, const EmitArgs *e)
{
	fprintf(f, "\t%s(%" PRId64 ", %" PRId64 ", %s, %s);\n", kernel_name(s->kernel), s->p.global.outer,
		s->p.global.inner, e->in[0], e->out[0]);
}

static int exec_reduce_mean(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_reduce_mean_f32(s->p.reduce.rank, s->p.reduce.dims, s->p.reduce.mask, io->in[0], io->out[0]);
	return 0;
}

static void emit_reduce_mean(FILE *f, const Step *s, const EmitArgs *e)
{
	const ReduceParams *p = &s->p.reduce;
	array64(f, "d", e->id, p->dims, p->rank);
	fprintf(f, "\trn_reduce_mean_f32(%d, d%d, 0x%xu, %s, %s);\n", p->rank, e->id, p->mask, e->in[0], e->out[0]);
}

static int exec_scale_shift(const Graph *g, const Step *s, const KernelIO *io)
{
	const AffineParams *p = &s->p.affine;
	rn_scale_shift_f32(p->n, p->c, p->spatial, io->in[0], io->in[1], io->in[2], io->out[0]);
	return 0;
}

/* (eps is BatchNormalization's: the scale and shift already hold it) */
static void emit_scale_shift(FILE *f, const Step *s, const EmitArgs *e)
{
	fprintf(f, "\trn_scale_shift_f32(");
	print_affine_args(f, &s->p.affine);
	fprintf(f, ", %s, %s, %s, %s);\n", e->in[0], e->in[1], e->in[2], e->out[0]);
}

static int exec_batchnorm(const Graph *g, const Step *s, const KernelIO *io)
{
	const AffineParams *p = &s->p.affine;
	rn_batchnorm_f32(p->n, p->c, p->spatial, p->eps, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4],
			 io->out[0]);
	return 0;
}

static void emit_batchnorm(FILE *f, const Step *s, const EmitArgs *e)
{
	char f1[40];
	fprintf(f, "\trn_batchnorm_f32(");
	print_affine_args(f, &s->p.affine);
	fprintf(f, ", %s, %s, %s, %s, %s, %s, %s);\n", flt(s->p.affine.eps, f1, sizeof f1), e->in[0], e->in[1],
		e->in[2], e->in[3], e->in[4], e->out[0]);
}

static int exec_binary(const Graph *g, const Step *s, const KernelIO *io)
{
	return rn_binary(&s->p.binary, io->in[0], io->in[1], io->out[0]);
}

static void emit_binary(FILE *f, const Step *s, const EmitArgs *e)
{
	print_binary_params(f, e->id, &s->p.binary);
	fprintf(f, "\tif ((rc = rn_binary(&p%d, %s, %s, %s)) != 0)\n\t\treturn rc;\n", e->id, e->in[0], e->in[1],
		e->out[0]);
}

static int exec_unary(const Graph *g, const Step *s, const KernelIO *io)
{
	const UnaryParams *p = &s->p.unary;
	rn_unary_f32(p->act, p->alpha, p->beta, p->n, io->in[0], io->out[0]);
	return 0;
}

static void emit_unary(FILE *f, const Step *s, const EmitArgs *e)
{
	const UnaryParams *p = &s->p.unary;
	char f1[40], f2[40];
	fprintf(f, "\trn_unary_f32(%s, %s, %s, %" PRId64 ", %s, %s);\n", act_c_name(p->act),
		flt(p->alpha, f1, sizeof f1), flt(p->beta, f2, sizeof f2), p->n, e->in[0], e->out[0]);
}

static int exec_gemm(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_gemm_f32(&s->p.gemm, io->in[0], io->in[1], io->in[2], io->out[0], NULL);
	return 0;
}

static void emit_gemm(FILE *f, const Step *s, const EmitArgs *e)
{
	print_gemm_params(f, e->id, &s->p.gemm);
	fprintf(f, "\t%s(&p%d, %s, %s, %s, %s, tp);\n", kernel_label(s), e->id, e->in[0], e->in[1], e->in[2],
		e->out[0]);
}

static int exec_matmul(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_matmul_f32(&s->p.matmul, io->in[0], io->in[1], io->out[0]);
	return 0;
}

static void emit_matmul(FILE *f, const Step *s, const EmitArgs *e)
{
	print_matmul_params(f, e->id, &s->p.matmul);
	fprintf(f, "\trn_matmul_f32(&p%d, %s, %s, %s);\n", e->id, e->in[0], e->in[1], e->out[0]);
}

static int exec_softmax(const Graph *g, const Step *s, const KernelIO *io)
{
	const SoftmaxParams *p = &s->p.softmax;
	rn_softmax_f32(p->outer, p->len, p->inner, p->log, io->in[0], io->out[0]);
	return 0;
}

static void emit_softmax(FILE *f, const Step *s, const EmitArgs *e)
{
	const SoftmaxParams *p = &s->p.softmax;
	fprintf(f, "\trn_softmax_f32(%" PRId64 ", %" PRId64 ", %" PRId64 ", %d, %s, %s);\n", p->outer, p->len,
		p->inner, p->log, e->in[0], e->out[0]);
}

static int exec_transpose(const Graph *g, const Step *s, const KernelIO *io)
{
	const TransposeParams *p = &s->p.transpose;
	rn_transpose(p->elem, p->rank, p->dims, p->perm, io->in[0], io->out[0]);
	return 0;
}

static void emit_transpose(FILE *f, const Step *s, const EmitArgs *e)
{
	const TransposeParams *p = &s->p.transpose;
	array64(f, "d", e->id, p->dims, p->rank);
	fprintf(f, "\tstatic const int perm%d[] = {", e->id);
	for (int i = 0; i < p->rank; i++)
		fprintf(f, "%s%d", i ? ", " : "", p->perm[i]);
	fprintf(f, "};\n\trn_transpose(%d, %d, d%d, perm%d, %s, %s);\n", p->elem, p->rank, e->id, e->id, e->in[0],
		e->out[0]);
}

static int exec_pad(const Graph *g, const Step *s, const KernelIO *io)
{
	const PadParams *p = &s->p.pad;
	rn_pad(p->elem, p->rank, p->dims, p->begin, p->end, p->mode, p->value, io->in[0], io->out[0]);
	return 0;
}

static void emit_pad(FILE *f, const Step *s, const EmitArgs *e)
{
	const PadParams *p = &s->p.pad;
	array64(f, "d", e->id, p->dims, p->rank);
	array64(f, "b", e->id, p->begin, p->rank);
	array64(f, "e", e->id, p->end, p->rank);
	fprintf(f, "\tstatic const unsigned char v%d[8] = {", e->id);
	for (int i = 0; i < 8; i++)
		fprintf(f, "%s%u", i ? ", " : "", p->value[i]);
	fprintf(f, "};\n\trn_pad(%d, %d, d%d, b%d, e%d, %s, v%d, %s, %s);\n", p->elem, p->rank, e->id, e->id, e->id,
		pad_modes[p->mode], e->id, e->in[0], e->out[0]);
}

static int exec_slice(const Graph *g, const Step *s, const KernelIO *io)
{
	const SliceParams *p = &s->p.slice;
	rn_slice(p->elem, p->rank, p->dims, p->start, p->step, p->out, io->in[0], io->out[0]);
	return 0;
}

static void emit_slice(FILE *f, const Step *s, const EmitArgs *e)
{
	const SliceParams *p = &s->p.slice;
	array64(f, "d", e->id, p->dims, p->rank);
	array64(f, "st", e->id, p->start, p->rank);
	array64(f, "sp", e->id, p->step, p->rank);
	array64(f, "o", e->id, p->out, p->rank);
	fprintf(f, "\trn_slice(%d, %d, d%d, st%d, sp%d, o%d, %s, %s);\n", p->elem, p->rank, e->id, e->id, e->id, e->id,
		e->in[0], e->out[0]);
}

static int exec_gather(const Graph *g, const Step *s, const KernelIO *io)
{
	const GatherParams *p = &s->p.gather;
	return rn_gather(p->elem, p->outer, p->axis_len, p->inner, io->in[0], p->idx_dtype, io->in[1], p->nidx,
			 io->out[0]);
}

static void emit_gather(FILE *f, const Step *s, const EmitArgs *e)
{
	const GatherParams *p = &s->p.gather;
	fprintf(f, "\tif ((rc = rn_gather(%d, %" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %d, %s, %" PRId64
		", %s)) != 0)\n\t\treturn rc;\n", p->elem, p->outer, p->axis_len, p->inner, e->in[0], p->idx_dtype,
		e->in[1], p->nidx, e->out[0]);
}

static int exec_cast(const Graph *g, const Step *s, const KernelIO *io)
{
	return rn_cast(s->p.cast.from, s->p.cast.to, (size_t)s->p.cast.n, io->in[0], io->out[0]);
}

static void emit_cast(FILE *f, const Step *s, const EmitArgs *e)
{
	fprintf(f, "\trn_cast(%d, %d, %" PRId64 ", %s, %s);\n", s->p.cast.from, s->p.cast.to, s->p.cast.n, e->in[0],
		e->out[0]);
}

static int exec_quantize(const Graph *g, const Step *s, const KernelIO *io)
{
	return rn_quantize(&s->p.quant, io->in[0], io->in[1], io->in[2], io->out[0]);
}

static int exec_dequantize(const Graph *g, const Step *s, const KernelIO *io)
{
	return rn_dequantize(&s->p.quant, io->in[0], io->in[1], io->in[2], io->out[0]);
}

/* rn_quantize and rn_dequantize */
static void emit_quant(FILE *f, const Step *s, const EmitArgs *e)
{
	print_quant_params(f, e->id, &s->p.quant);
	fprintf(f, "\tif ((rc = %s(&p%d, %s, %s, %s, %s)) != 0)\n\t\treturn rc;\n", kernel_name(s->kernel), e->id,
		e->in[0], e->in[1], e->in[2], e->out[0]);
}

static int exec_dynamic_quantize(const Graph *g, const Step *s, const KernelIO *io)
{
	float scale;
	uint8_t zp;
	rn_dynamic_quantize_u8(s->p.cast.n, io->in[0], io->out[0], &scale, &zp);
	if (io->out[1])
		*(float *)io->out[1] = scale;
	if (io->out[2])
		*(uint8_t *)io->out[2] = zp;
	return 0;
}

static void emit_dynamic_quantize(FILE *f, const Step *s, const EmitArgs *e)
{
	fprintf(f, "\t{\n\t\tfloat s;\n\t\tuint8_t z;\n\t\trn_dynamic_quantize_u8(%" PRId64 ", %s, %s, &s, &z);\n",
		s->p.cast.n, e->in[0], e->out[0]);
	if (s->out[1] >= 0)
		fprintf(f, "\t\t*(float *)%s = s;\n", e->out[1]);
	if (s->out[2] >= 0)
		fprintf(f, "\t\t*(uint8_t *)%s = z;\n", e->out[2]);
	fprintf(f, "\t}\n");
}

static int exec_qlinear_conv(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_qlinear_conv2d(&s->p.qconv.conv, &s->p.qconv.q, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4],
			  io->in[5], io->in[6], io->in[7], io->in[8], io->out[0]);
	return 0;
}

static void emit_qlinear_conv(FILE *f, const Step *s, const EmitArgs *e)
{
	print_conv_params(f, e->id, &s->p.qconv.conv);
	print_qlinear_params(f, e->id, &s->p.qconv.q);
	fprintf(f, "\trn_qlinear_conv2d(&p%d, &q%d, %s, %s, %s, %s, %s,\n\t\t\t  %s, %s, %s, %s, %s);\n", e->id, e->id,
		e->in[0], e->in[1], e->in[2], e->in[3], e->in[4], e->in[5], e->in[6], e->in[7], e->in[8], e->out[0]);
}

static int exec_qlinear_matmul(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_qlinear_matmul(&s->p.qmatmul.mm, &s->p.qmatmul.q, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4],
			  io->in[5], io->in[6], io->in[7], io->out[0]);
	return 0;
}

static void emit_qlinear_matmul(FILE *f, const Step *s, const EmitArgs *e)
{
	print_matmul_params(f, e->id, &s->p.qmatmul.mm);
	print_qlinear_params(f, e->id, &s->p.qmatmul.q);
	fprintf(f, "\trn_qlinear_matmul(&p%d, &q%d, %s, %s, %s, %s,\n\t\t\t  %s, %s, %s, %s, %s);\n", e->id, e->id,
		e->in[0], e->in[1], e->in[2], e->in[3], e->in[4], e->in[5], e->in[6], e->in[7], e->out[0]);
}

static int exec_qconv(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_qconv2d_direct(&s->p.qconvi, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4], io->out[0]);
	return 0;
}

static void emit_qconv(FILE *f, const Step *s, const EmitArgs *e)
{
	print_qconv_params(f, e->id, &s->p.qconvi);
	fprintf(f, "\trn_qconv2d_direct(&p%d, %s, %s, %s, %s, %s, %s);\n", e->id, e->in[0], e->in[1], e->in[2],
		e->in[3], e->in[4], e->out[0]);
}

static int exec_qconv_packed(const Graph *g, const Step *s, const KernelIO *io)
{
	void *scratch;
	int rc = rn_qconv2d_packed(&s->p.qconvi, io->in[0], io->in[1], io->in[4], io->out[0],
				   host_scratch(s, &scratch), (size_t)s->scratch, NULL);
	free(scratch);
	return rc;
}

static void emit_qconv_packed(FILE *f, const Step *s, const EmitArgs *e)
{
	char sc[160];
	print_qconv_params(f, e->id, &s->p.qconvi);
	e->ref(e->ctx, -1, 0, sc, sizeof sc);
	fprintf(f, "\tif ((rc = rn_qconv2d_packed(&p%d, %s, %s, %s, %s, %s, %" PRId64 ", tp)) != 0)\n\t\treturn rc;\n",
		e->id, e->in[0], e->in[1], e->in[4], e->out[0], sc, s->scratch);
}

static int exec_qlinear_add(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_qlinear_add(&s->p.binary, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4], io->in[5], io->in[6],
		       io->in[7], io->out[0]);
	return 0;
}

static void emit_qlinear_add(FILE *f, const Step *s, const EmitArgs *e)
{
	print_binary_params(f, e->id, &s->p.binary);
	fprintf(f, "\trn_qlinear_add(&p%d, %s, %s, %s, %s,\n\t\t       %s, %s, %s, %s, %s);\n", e->id, e->in[0], e->in[1],
		e->in[2], e->in[3], e->in[4], e->in[5], e->in[6], e->in[7], e->out[0]);
}

static int exec_qlinear_gap(const Graph *g, const Step *s, const KernelIO *io)
{
	const rn_quant_params *p = &s->p.quant;
	rn_qlinear_global_avg(p->dtype, p->outer, p->inner, io->in[0], io->in[1], io->in[2], io->in[3], io->in[4],
			      io->out[0]);
	return 0;
}

static void emit_qlinear_gap(FILE *f, const Step *s, const EmitArgs *e)
{
	const rn_quant_params *p = &s->p.quant;
	fprintf(f, "\trn_qlinear_global_avg(%d, %" PRId64 ", %" PRId64 ", %s, %s, %s, %s, %s, %s);\n", p->dtype, p->outer,
		p->inner, e->in[0], e->in[1], e->in[2], e->in[3], e->in[4], e->out[0]);
}

static int exec_qgemm(const Graph *g, const Step *s, const KernelIO *io)
{
	rn_qgemm(&s->p.qmatmul.mm, &s->p.qmatmul.q, s->p.qmatmul.alpha, io->in[0], io->in[1], io->in[2], io->in[3],
		 io->in[8], io->in[4], io->in[5], io->in[6], io->in[7], io->out[0], NULL);
	return 0;
}

static void emit_qgemm(FILE *f, const Step *s, const EmitArgs *e)
{
	char f1[40];
	print_matmul_params(f, e->id, &s->p.qmatmul.mm);
	print_qlinear_params(f, e->id, &s->p.qmatmul.q);
	fprintf(f, "\trn_qgemm(&p%d, &q%d, %s, %s, %s, %s, %s, %s,\n\t\t %s, %s, %s, %s, %s, tp);\n", e->id, e->id,
		flt(s->p.qmatmul.alpha, f1, sizeof f1), e->in[0], e->in[1], e->in[2], e->in[3], e->in[8], e->in[4],
		e->in[5], e->in[6], e->in[7], e->out[0]);
}

/* ---- the table ---- */

static const KernelDef kernels[K_COUNT] = {
	[K_VIEW] = {"view", NULL, exec_view, emit_view},
	[K_COPY] = {"memcpy", NULL, exec_copy, emit_copy},
	[K_COPY2D] = {"rn_copy2d", NULL, exec_copy2d, emit_copy2d},
	[K_CONV2D] = {"rn_conv2d_f32", "direct", exec_conv2d, emit_conv2d},
	[K_POOL] = {"rn_pool", NULL, exec_pool, emit_pool},
	[K_GLOBAL_AVG] = {"rn_global_avg_f32", NULL, exec_global_avg, emit_global},
	[K_GLOBAL_MAX] = {"rn_global_max_f32", NULL, exec_global_max, emit_global},
	[K_REDUCE_MEAN] = {"rn_reduce_mean_f32", NULL, exec_reduce_mean, emit_reduce_mean},
	[K_SCALE_SHIFT] = {"rn_scale_shift_f32", NULL, exec_scale_shift, emit_scale_shift},
	[K_BATCHNORM] = {"rn_batchnorm_f32", NULL, exec_batchnorm, emit_batchnorm},
	[K_BINARY] = {"rn_binary", NULL, exec_binary, emit_binary},
	[K_UNARY] = {"rn_unary_f32", NULL, exec_unary, emit_unary},
	[K_GEMM] = {"rn_gemm_f32", NULL, exec_gemm, emit_gemm},
	[K_MATMUL] = {"rn_matmul_f32", NULL, exec_matmul, emit_matmul},
	[K_SOFTMAX] = {"rn_softmax_f32", NULL, exec_softmax, emit_softmax},
	[K_TRANSPOSE] = {"rn_transpose", NULL, exec_transpose, emit_transpose},
	[K_PAD] = {"rn_pad", NULL, exec_pad, emit_pad},
	[K_SLICE] = {"rn_slice", NULL, exec_slice, emit_slice},
	[K_GATHER] = {"rn_gather", NULL, exec_gather, emit_gather},
	[K_CAST] = {"rn_cast", NULL, exec_cast, emit_cast},
	/* labelled by its algorithm (conv_algos) */
	[K_CONV2D_PACKED] = {"rn_conv2d_packed_f32", NULL, exec_conv2d_packed, emit_conv2d_packed},
	[K_QUANTIZE] = {"rn_quantize", NULL, exec_quantize, emit_quant},
	[K_DEQUANTIZE] = {"rn_dequantize", NULL, exec_dequantize, emit_quant},
	[K_DYNAMIC_QUANTIZE] = {"rn_dynamic_quantize_u8", NULL, exec_dynamic_quantize, emit_dynamic_quantize},
	[K_QLINEAR_CONV] = {"rn_qlinear_conv2d", NULL, exec_qlinear_conv, emit_qlinear_conv},
	[K_QLINEAR_MATMUL] = {"rn_qlinear_matmul", NULL, exec_qlinear_matmul, emit_qlinear_matmul},
	[K_QLINEAR_ADD] = {"rn_qlinear_add", NULL, exec_qlinear_add, emit_qlinear_add},
	[K_QLINEAR_GAP] = {"rn_qlinear_global_avg", NULL, exec_qlinear_gap, emit_qlinear_gap},
	[K_QGEMM] = {"rn_qgemm", NULL, exec_qgemm, emit_qgemm},
	[K_QCONV] = {"rn_qconv2d_direct", "int8 direct", exec_qconv, emit_qconv},
	[K_QCONV_PACKED] = {"rn_qconv2d_packed", "int8 gemm", exec_qconv_packed, emit_qconv_packed},
};

/* The row of a kind, or NULL for a kind out of range or without a row. */
static const KernelDef *kernel_def(int kind)
{
	return kind >= 0 && kind < K_COUNT && kernels[kind].name ? &kernels[kind] : NULL;
}

const rn_conv2d_params *step_conv(const Step *s)
{
	switch (s->kernel) {
	case K_CONV2D:
	case K_CONV2D_PACKED:
		return &s->p.conv;
	case K_QCONV:
	case K_QCONV_PACKED:
		return &s->p.qconvi.conv;
	case K_QLINEAR_CONV:
		return &s->p.qconv.conv;
	default:
		return NULL;
	}
}

const char *kernel_name(int kernel)
{
	const KernelDef *k = kernel_def(kernel);
	return k ? k->name : "?";
}

int step_is_fc(const Step *s)
{
	return s->kernel == K_GEMM && s->p.gemm.trans_b && !s->p.gemm.trans_a;
}

const char *kernel_label(const Step *s)
{
	if (s->kernel == K_CONV2D_PACKED && s->algo >= 0 && s->algo < n_conv_algos && conv_algos[s->algo].label)
		return conv_algos[s->algo].label;
	if (step_is_fc(s))
		return "rn_gemm_nt_f32"; /* the function emit_gemm calls */
	const KernelDef *k = kernel_def(s->kernel);
	return k && k->label ? k->label : kernel_name(s->kernel);
}

static int runtime_error(Diag *d, int rc)
{
	if (rc == RN_E_INDEX)
		return diag_set(d, "index out of range");
	if (rc == RN_E_DIVZERO)
		return diag_set(d, "integer division by zero");
	if (rc == RN_E_UNSUPPORTED)
		return diag_set(d, "the runtime does not implement this type or mode");
	if (rc == RN_E_RANGE)
		return diag_set(d, "an argument out of range (kernel scratch too small?)");
	return diag_set(d, "kernel failed (code %d)", rc);
}

int kernel_exec(const Graph *g, const Step *s, void *const *ptr, Diag *d)
{
	const KernelDef *k = kernel_def(s->kernel);
	if (!k || !k->exec)
		return diag_set(d, "internal error: unknown kernel %d", s->kernel);
	KernelIO io;
	for (int i = 0; i < STEP_MAX_IN; i++)
		io.in[i] = s->in[i] >= 0 ? ptr[s->in[i]] : NULL;
	for (int i = 0; i < STEP_MAX_OUT; i++)
		io.out[i] = s->out[i] >= 0 ? ptr[s->out[i]] : NULL;
	int rc = k->exec(g, s, &io);
	return rc ? runtime_error(d, rc) : 0;
}

void kernel_emit(FILE *f, const Graph *g, const Step *s, int id, TensorRef ref, void *ctx)
{
	const KernelDef *k = kernel_def(s->kernel);
	if (!k || !k->emit) {
		fprintf(f, "#error unknown kernel %d\n", s->kernel);
		return;
	}
	EmitArgs e = {.g = g, .id = id, .ref = ref, .ctx = ctx};
	for (int i = 0; i < STEP_MAX_IN; i++)
		if (s->in[i] >= 0)
			ref(ctx, s->in[i], 0, e.in[i], sizeof e.in[i]);
		else
			strcpy(e.in[i], "NULL");
	for (int i = 0; i < STEP_MAX_OUT; i++)
		if (s->out[i] >= 0)
			ref(ctx, s->out[i], 0, e.out[i], sizeof e.out[i]);
		else
			strcpy(e.out[i], "NULL");
	k->emit(f, s, &e);
}
