/* The kernel table's two faces: run a Step on the host (constant folding)
 * and print it as C (the emitter). Keep the two switches in step. */
#include "lower.h"

#include <inttypes.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

static const char *const kernel_names[K_COUNT] = {
	[K_VIEW] = "view",
	[K_COPY] = "memcpy",
	[K_COPY2D] = "rn_copy2d",
	[K_CONV2D] = "rn_conv2d_f32",
	[K_POOL] = "rn_pool",
	[K_GLOBAL_AVG] = "rn_global_avg_f32",
	[K_GLOBAL_MAX] = "rn_global_max_f32",
	[K_REDUCE_MEAN] = "rn_reduce_mean_f32",
	[K_SCALE_SHIFT] = "rn_scale_shift_f32",
	[K_BATCHNORM] = "rn_batchnorm_f32",
	[K_BINARY] = "rn_binary",
	[K_UNARY] = "rn_unary_f32",
	[K_GEMM] = "rn_gemm_f32",
	[K_MATMUL] = "rn_matmul_f32",
	[K_SOFTMAX] = "rn_softmax_f32",
	[K_TRANSPOSE] = "rn_transpose",
	[K_PAD] = "rn_pad",
	[K_SLICE] = "rn_slice",
	[K_GATHER] = "rn_gather",
	[K_CAST] = "rn_cast",
	[K_CONV2D_PACKED] = "rn_conv2d_packed_f32",
};

static const char *const algo_names[] = {"RN_CONV_DIRECT", "RN_CONV_GEMM", "RN_CONV_WINOGRAD",
					 "RN_CONV_DEPTHWISE", "RN_CONV_BLAS", "RN_CONV_WINOGRAD_F2"};

const char *kernel_label(const Step *s)
{
	static const char *const short_algo[] = {"direct",    "gemm",     "winograd F(4x4,3x3)",
						 "depthwise", "openblas", "winograd F(2x2,3x3)"};
	if (s->kernel == K_CONV2D_PACKED && s->algo >= 0 &&
	    s->algo < (int)(sizeof short_algo / sizeof short_algo[0]))
		return short_algo[s->algo];
	if (s->kernel == K_CONV2D)
		return "direct";
	return kernel_name(s->kernel);
}

const char *kernel_name(int kernel)
{
	return kernel >= 0 && kernel < K_COUNT ? kernel_names[kernel] : "?";
}

static int runtime_error(Diag *d, int rc)
{
	if (rc == RN_E_INDEX)
		return diag_set(d, "index out of range");
	if (rc == RN_E_DIVZERO)
		return diag_set(d, "integer division by zero");
	return diag_set(d, "kernel failed (code %d)", rc);
}

int kernel_exec(const Graph *g, const Step *s, void *const *ptr, Diag *d)
{
	const void *x = s->in[0] >= 0 ? ptr[s->in[0]] : NULL;
	const void *in1 = s->in[1] >= 0 ? ptr[s->in[1]] : NULL;
	const void *in2 = s->in[2] >= 0 ? ptr[s->in[2]] : NULL;
	void *y = (char *)ptr[s->out[0]];
	int rc = 0;

	switch (s->kernel) {
	case K_VIEW:
		memcpy(y, x, tensor_bytes(&g->tensors[s->out[0]]));
		break;
	case K_COPY:
		memcpy((char *)y + s->dst_off, x, (size_t)s->p.bytes);
		break;
	case K_COPY2D:
		rn_copy2d((char *)y + s->p.copy.dst_off, s->p.copy.dst_pitch, x, s->p.copy.src_pitch,
			  s->p.copy.rows, s->p.copy.row_bytes);
		break;
	case K_CONV2D:
		rn_conv2d_f32(&s->p.conv, x, in1, in2, s->in[3] >= 0 ? ptr[s->in[3]] : NULL, y);
		break;
	case K_POOL:
		rn_pool(&s->p.pool, x, y, s->out[1] >= 0 ? ptr[s->out[1]] : NULL, NULL);
		break;
	case K_GLOBAL_AVG:
		rn_global_avg_f32(s->p.global.outer, s->p.global.inner, x, y);
		break;
	case K_GLOBAL_MAX:
		rn_global_max_f32(s->p.global.outer, s->p.global.inner, x, y);
		break;
	case K_REDUCE_MEAN:
		rn_reduce_mean_f32(s->p.reduce.rank, s->p.reduce.dims, s->p.reduce.mask, x, y);
		break;
	case K_SCALE_SHIFT:
		rn_scale_shift_f32(s->p.affine.n, s->p.affine.c, s->p.affine.spatial, x, in1, in2, y);
		break;
	case K_BATCHNORM:
		rn_batchnorm_f32(s->p.affine.n, s->p.affine.c, s->p.affine.spatial, s->p.affine.eps, x,
				 in1, in2, ptr[s->in[3]], ptr[s->in[4]], y);
		break;
	case K_BINARY:
		rc = rn_binary(&s->p.binary, x, in1, y);
		break;
	case K_UNARY:
		rn_unary_f32(s->p.unary.act, s->p.unary.alpha, s->p.unary.beta, s->p.unary.n, x, y);
		break;
	case K_GEMM:
		rn_gemm_f32(&s->p.gemm, x, in1, in2, y, NULL);
		break;
	case K_MATMUL:
		rn_matmul_f32(&s->p.matmul, x, in1, y);
		break;
	case K_SOFTMAX:
		rn_softmax_f32(s->p.softmax.outer, s->p.softmax.len, s->p.softmax.inner, s->p.softmax.log, x, y);
		break;
	case K_TRANSPOSE:
		rn_transpose(s->p.transpose.elem, s->p.transpose.rank, s->p.transpose.dims,
			     s->p.transpose.perm, x, y);
		break;
	case K_PAD:
		rn_pad(s->p.pad.elem, s->p.pad.rank, s->p.pad.dims, s->p.pad.begin, s->p.pad.end,
		       s->p.pad.mode, s->p.pad.value, x, y);
		break;
	case K_SLICE:
		rn_slice(s->p.slice.elem, s->p.slice.rank, s->p.slice.dims, s->p.slice.start,
			 s->p.slice.step, s->p.slice.out, x, y);
		break;
	case K_GATHER:
		rc = rn_gather(s->p.gather.elem, s->p.gather.outer, s->p.gather.axis_len, s->p.gather.inner,
			       x, s->p.gather.idx_dtype, in1, s->p.gather.nidx, y);
		break;
	case K_CAST:
		rc = rn_cast(s->p.cast.from, s->p.cast.to, (size_t)s->p.cast.n, x, y);
		break;
	case K_CONV2D_PACKED: {
		void *scratch = xmalloc((size_t)s->scratch + 64);
		rn_conv2d_packed_f32(s->algo, &s->p.conv, x, in1, s->in[3] >= 0 ? ptr[s->in[3]] : NULL, y,
				     (void *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63), NULL);
		free(scratch);
		break;
	}
	default:
		return diag_set(d, "internal error: unknown kernel %d", s->kernel);
	}
	return rc ? runtime_error(d, rc) : 0;
}

/* ---- emission ---- */

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

static const char *const act_names[] = {
	"RN_ACT_NONE", "RN_ACT_RELU", "RN_ACT_LEAKY_RELU", "RN_ACT_CLIP", "RN_ACT_SIGMOID",
	"RN_ACT_HARD_SIGMOID", "RN_ACT_HARD_SWISH", "RN_ACT_IDENTITY",
};
static const char *const binop_names[] = {
	"RN_ADD", "RN_SUB", "RN_MUL", "RN_DIV", "RN_MAX", "RN_MIN", "RN_PRELU",
};

void kernel_emit(FILE *f, const Graph *g, const Step *s, int id, TensorRef ref, void *ctx)
{
	char a[5][160], o[2][160], f1[40], f2[40];
	for (int i = 0; i < 5; i++)
		if (s->in[i] >= 0)
			ref(ctx, s->in[i], 0, a[i], sizeof a[i]);
		else
			strcpy(a[i], "NULL");
	for (int i = 0; i < 2; i++)
		if (s->out[i] >= 0)
			ref(ctx, s->out[i], 0, o[i], sizeof o[i]);
		else
			strcpy(o[i], "NULL");

	switch (s->kernel) {
	case K_VIEW: /* a copy: no libc, so freestanding builds link */
		fprintf(f, "\trn_copy2d(%s, 0, %s, 0, 1, %zu);\n", o[0], a[0], tensor_bytes(&g->tensors[s->out[0]]));
		break;
	case K_COPY:
		ref(ctx, s->out[0], s->dst_off, o[0], sizeof o[0]);
		fprintf(f, "\trn_copy2d(%s, 0, %s, 0, 1, %" PRId64 ");\n", o[0], a[0], s->p.bytes);
		break;
	case K_COPY2D: {
		const CopyParams *c = &s->p.copy;
		ref(ctx, s->out[0], c->dst_off, o[0], sizeof o[0]);
		fprintf(f, "\trn_copy2d(%s, %" PRId64 ", %s, %" PRId64 ", %" PRId64 ", %" PRId64 ");\n",
			o[0], c->dst_pitch, a[0], c->src_pitch, c->rows, c->row_bytes);
		break;
	}
	case K_CONV2D:
	case K_CONV2D_PACKED: {
		const rn_conv2d_params *p = &s->p.conv;
		fprintf(f, "\tstatic const rn_conv2d_params p%d = {\n", id);
		fprintf(f, "\t\t.n = %d, .c = %d, .h = %d, .w = %d, .m = %d, .oh = %d, .ow = %d,\n",
			p->n, p->c, p->h, p->w, p->m, p->oh, p->ow);
		fprintf(f, "\t\t.kh = %d, .kw = %d, .sh = %d, .sw = %d, .dh = %d, .dw = %d,\n",
			p->kh, p->kw, p->sh, p->sw, p->dh, p->dw);
		fprintf(f, "\t\t.pt = %d, .pl = %d, .group = %d, .act = %s, .alpha = %s, .beta = %s,\n\t};\n",
			p->pt, p->pl, p->group, act_names[p->act], flt(p->alpha, f1, sizeof f1),
			flt(p->beta, f2, sizeof f2));
		if (s->kernel == K_CONV2D) {
			fprintf(f, "\trn_conv2d_f32(&p%d, %s, %s, %s, %s, %s);\n", id, a[0], a[1], a[2], a[3], o[0]);
		} else {
			char sc[160];
			ref(ctx, -1, 0, sc, sizeof sc);
			fprintf(f, "\trn_conv2d_packed_f32(%s, &p%d, %s, %s, %s, %s, %s, tp);\n", algo_names[s->algo], id,
				a[0], a[1], a[3], o[0], sc);
		}
		break;
	}
	case K_POOL: {
		const rn_pool_params *p = &s->p.pool;
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
		fprintf(f, " .count_include_pad = %d, .storage_order = %d,\n\t};\n", p->count_include_pad,
			p->storage_order);
		fprintf(f, "\trn_pool(&p%d, %s, %s, %s, tp);\n", id, a[0], o[0], o[1]);
		break;
	}
	case K_GLOBAL_AVG:
	case K_GLOBAL_MAX:
		fprintf(f, "\t%s(%" PRId64 ", %" PRId64 ", %s, %s);\n", kernel_name(s->kernel),
			s->p.global.outer, s->p.global.inner, a[0], o[0]);
		break;
	case K_REDUCE_MEAN:
		fprintf(f, "\tstatic const int64_t d%d[] = {", id);
		for (int i = 0; i < s->p.reduce.rank; i++)
			fprintf(f, "%s%" PRId64, i ? ", " : "", s->p.reduce.dims[i]);
		fprintf(f, "};\n\trn_reduce_mean_f32(%d, d%d, 0x%xu, %s, %s);\n", s->p.reduce.rank, id,
			s->p.reduce.mask, a[0], o[0]);
		break;
	case K_SCALE_SHIFT:
		fprintf(f, "\trn_scale_shift_f32(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %s, %s, %s);\n",
			s->p.affine.n, s->p.affine.c, s->p.affine.spatial, a[0], a[1], a[2], o[0]);
		break;
	case K_BATCHNORM:
		fprintf(f, "\trn_batchnorm_f32(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %s, %s, %s, %s, %s, %s);\n",
			s->p.affine.n, s->p.affine.c, s->p.affine.spatial, flt(s->p.affine.eps, f1, sizeof f1),
			a[0], a[1], a[2], a[3], a[4], o[0]);
		break;
	case K_BINARY: {
		const rn_binary_params *p = &s->p.binary;
		fprintf(f, "\tstatic const rn_binary_params p%d = {\n\t\t.op = %s, .dtype = %d, .rank = %d,",
			id, binop_names[p->op], p->dtype, p->rank);
		ints64(f, "dims", p->dims, p->rank);
		fprintf(f, "\n\t\t");
		ints64(f, "sa", p->sa, p->rank);
		ints64(f, "sb", p->sb, p->rank);
		fprintf(f, "\n\t};\n\tif ((rc = rn_binary(&p%d, %s, %s, %s)) != 0)\n\t\treturn rc;\n", id, a[0],
			a[1], o[0]);
		break;
	}
	case K_UNARY:
		fprintf(f, "\trn_unary_f32(%s, %s, %s, %" PRId64 ", %s, %s);\n", act_names[s->p.unary.act],
			flt(s->p.unary.alpha, f1, sizeof f1), flt(s->p.unary.beta, f2, sizeof f2), s->p.unary.n,
			a[0], o[0]);
		break;
	case K_GEMM: {
		const rn_gemm_params *p = &s->p.gemm;
		fprintf(f, "\tstatic const rn_gemm_params p%d = {\n\t\t.m = %" PRId64 ", .n = %" PRId64
			", .k = %" PRId64 ", .trans_a = %d, .trans_b = %d,\n", id, p->m, p->n, p->k,
			p->trans_a, p->trans_b);
		fprintf(f, "\t\t.alpha = %s, .beta = %s, .c_sm = %" PRId64 ", .c_sn = %" PRId64 ",\n",
			flt(p->alpha, f1, sizeof f1), flt(p->beta, f2, sizeof f2), p->c_sm, p->c_sn);
		fprintf(f, "\t\t.act = %s, .act_alpha = %s,", act_names[p->act], flt(p->act_alpha, f1, sizeof f1));
		fprintf(f, " .act_beta = %s,\n\t};\n", flt(p->act_beta, f2, sizeof f2));
		fprintf(f, "\trn_gemm_f32(&p%d, %s, %s, %s, %s, tp);\n", id, a[0], a[1], a[2], o[0]);
		break;
	}
	case K_MATMUL: {
		const rn_matmul_params *p = &s->p.matmul;
		fprintf(f, "\tstatic const rn_matmul_params p%d = {\n\t\t.batch_rank = %d,", id, p->batch_rank);
		if (p->batch_rank) {
			ints64(f, "batch", p->batch, p->batch_rank);
			ints64(f, "sa", p->sa, p->batch_rank);
			ints64(f, "sb", p->sb, p->batch_rank);
		}
		fprintf(f, "\n\t\t.m = %" PRId64 ", .n = %" PRId64 ", .k = %" PRId64 ",\n\t};\n", p->m, p->n, p->k);
		fprintf(f, "\trn_matmul_f32(&p%d, %s, %s, %s);\n", id, a[0], a[1], o[0]);
		break;
	}
	case K_SOFTMAX:
		fprintf(f, "\trn_softmax_f32(%" PRId64 ", %" PRId64 ", %" PRId64 ", %d, %s, %s);\n",
			s->p.softmax.outer, s->p.softmax.len, s->p.softmax.inner, s->p.softmax.log, a[0], o[0]);
		break;
	case K_TRANSPOSE: {
		const TransposeParams *p = &s->p.transpose;
		fprintf(f, "\tstatic const int64_t d%d[] = {", id);
		for (int i = 0; i < p->rank; i++)
			fprintf(f, "%s%" PRId64, i ? ", " : "", p->dims[i]);
		fprintf(f, "};\n\tstatic const int perm%d[] = {", id);
		for (int i = 0; i < p->rank; i++)
			fprintf(f, "%s%d", i ? ", " : "", p->perm[i]);
		fprintf(f, "};\n\trn_transpose(%d, %d, d%d, perm%d, %s, %s);\n", p->elem, p->rank, id, id, a[0], o[0]);
		break;
	}
	case K_PAD: {
		const PadParams *p = &s->p.pad;
		static const char *const modes[] = {"RN_PAD_CONSTANT", "RN_PAD_REFLECT", "RN_PAD_EDGE", "RN_PAD_WRAP"};
		const char *arr[3] = {"d", "b", "e"};
		const int64_t *vals[3] = {p->dims, p->begin, p->end};
		for (int k = 0; k < 3; k++) {
			fprintf(f, "\tstatic const int64_t %s%d[] = {", arr[k], id);
			for (int i = 0; i < p->rank; i++)
				fprintf(f, "%s%" PRId64, i ? ", " : "", vals[k][i]);
			fprintf(f, "};\n");
		}
		fprintf(f, "\tstatic const unsigned char v%d[8] = {", id);
		for (int i = 0; i < 8; i++)
			fprintf(f, "%s%u", i ? ", " : "", p->value[i]);
		fprintf(f, "};\n\trn_pad(%d, %d, d%d, b%d, e%d, %s, v%d, %s, %s);\n", p->elem, p->rank, id, id,
			id, modes[p->mode], id, a[0], o[0]);
		break;
	}
	case K_SLICE: {
		const SliceParams *p = &s->p.slice;
		const char *arr[4] = {"d", "st", "sp", "o"};
		const int64_t *vals[4] = {p->dims, p->start, p->step, p->out};
		for (int k = 0; k < 4; k++) {
			fprintf(f, "\tstatic const int64_t %s%d[] = {", arr[k], id);
			for (int i = 0; i < p->rank; i++)
				fprintf(f, "%s%" PRId64, i ? ", " : "", vals[k][i]);
			fprintf(f, "};\n");
		}
		fprintf(f, "\trn_slice(%d, %d, d%d, st%d, sp%d, o%d, %s, %s);\n", p->elem, p->rank, id, id, id,
			id, a[0], o[0]);
		break;
	}
	case K_GATHER: {
		const GatherParams *p = &s->p.gather;
		fprintf(f, "\tif ((rc = rn_gather(%d, %" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %d, %s, %" PRId64
			", %s)) != 0)\n\t\treturn rc;\n", p->elem, p->outer, p->axis_len, p->inner, a[0],
			p->idx_dtype, a[1], p->nidx, o[0]);
		break;
	}
	case K_CAST:
		fprintf(f, "\trn_cast(%d, %d, %" PRId64 ", %s, %s);\n", s->p.cast.from, s->p.cast.to,
			s->p.cast.n, a[0], o[0]);
		break;
	default:
		fprintf(f, "#error unknown kernel %d\n", s->kernel);
	}
}
