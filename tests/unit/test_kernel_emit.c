/* The emitter's face of the kernel table (kernels.c): every kernel kind
 * prints one call of its runtime function with its operands, and every
 * field of its parameters, each set here to a value found nowhere else,
 * shows up in the text (in order, for positional arguments). A field the
 * printer forgets would be compiled as zero into every model; a field
 * added to a struct stops this file's build (the mirrors below) until it
 * is printed and checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

/* ---- the parameter structs, field by field ---- */

struct conv_mirror {
	int n, c, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, group, act;
	float alpha, beta;
};
struct pool_mirror {
	int kind, dtype;
	int64_t nc;
	int nsp;
	int64_t in[3], out[3];
	int k[3], s[3], d[3], pad_begin[3], pad_end[3];
	int count_include_pad, storage_order;
	double q_mult;
	int x_zp, y_zp;
};
struct binary_mirror {
	int op, dtype, rank;
	int64_t dims[RN_MAX_RANK], sa[RN_MAX_RANK], sb[RN_MAX_RANK];
};
struct gemm_mirror {
	int64_t m, n, k;
	int trans_a, trans_b;
	float alpha, beta;
	int64_t c_sm, c_sn;
	int act;
	float act_alpha, act_beta;
};
struct matmul_mirror {
	int batch_rank;
	int64_t batch[RN_MAX_RANK], sa[RN_MAX_RANK], sb[RN_MAX_RANK];
	int64_t m, n, k;
};
struct copy_mirror { int64_t rows, dst_pitch, src_pitch, row_bytes, dst_off; };
struct global_mirror { int64_t outer, inner; };
struct reduce_mirror { int rank; int64_t dims[RN_MAX_RANK]; unsigned mask; };
struct affine_mirror { int64_t n, c, spatial; float eps; };
struct unary_mirror { int act; float alpha, beta; int64_t n; };
struct softmax_mirror { int64_t outer, len, inner; int log; };
struct transpose_mirror { int elem, rank; int64_t dims[RN_MAX_RANK]; int perm[RN_MAX_RANK]; };
struct pad_mirror {
	int elem, rank, mode;
	int64_t dims[RN_MAX_RANK], begin[RN_MAX_RANK], end[RN_MAX_RANK];
	unsigned char value[8];
};
struct slice_mirror {
	int elem, rank;
	int64_t dims[RN_MAX_RANK], start[RN_MAX_RANK], step[RN_MAX_RANK], out[RN_MAX_RANK];
};
struct gather_mirror { int elem, idx_dtype; int64_t outer, axis_len, inner, nidx; };
struct cast_mirror { int from, to; int64_t n; };
struct quant_mirror { int dtype; int64_t outer, axis_len, inner; int per_axis; };
struct qconv_mirror {
	struct conv_mirror conv;
	int x_dtype, y_dtype, r_dtype, x_zp, y_zp, r_zp, lo, hi, has_residual;
	float r_mult;
};
struct qlinear_mirror { int x_dtype, w_dtype, y_dtype, x_zp_n, x_scale_n, w_zp_n, w_scale_n; };

#define SAME_FIELDS(type, mirror)                                                                    \
	_Static_assert(sizeof(type) == sizeof(struct mirror),                                       \
		       #type " changed: print the new field in kernels.c and set and check it here")
SAME_FIELDS(rn_conv2d_params, conv_mirror);
SAME_FIELDS(rn_pool_params, pool_mirror);
SAME_FIELDS(rn_binary_params, binary_mirror);
SAME_FIELDS(rn_gemm_params, gemm_mirror);
SAME_FIELDS(rn_matmul_params, matmul_mirror);
SAME_FIELDS(CopyParams, copy_mirror);
SAME_FIELDS(GlobalParams, global_mirror);
SAME_FIELDS(ReduceParams, reduce_mirror);
SAME_FIELDS(AffineParams, affine_mirror);
SAME_FIELDS(UnaryParams, unary_mirror);
SAME_FIELDS(SoftmaxParams, softmax_mirror);
SAME_FIELDS(TransposeParams, transpose_mirror);
SAME_FIELDS(PadParams, pad_mirror);
SAME_FIELDS(SliceParams, slice_mirror);
SAME_FIELDS(GatherParams, gather_mirror);
SAME_FIELDS(CastParams, cast_mirror);
SAME_FIELDS(rn_quant_params, quant_mirror);
SAME_FIELDS(rn_qlinear_params, qlinear_mirror);
SAME_FIELDS(rn_qconv2d_params, qconv_mirror);

/* ---- printing a step ---- */

enum { OUT0 = 9, OUT1 = 10, OUT2 = 11 }; /* tensors 0..8 are operands in[0..8] */

/* "T3@0": tensor 3 at byte offset 0; "SCRATCH" for the scratch area. */
static const char *ref(void *ctx, int t, int64_t off, char *buf, size_t len)
{
	(void)ctx;
	if (t < 0)
		snprintf(buf, len, "SCRATCH");
	else
		snprintf(buf, len, "T%d@%lld", t, (long long)off);
	return buf;
}

static Graph *graph;

static int setup(void **state)
{
	(void)state;
	graph = graph_new();
	for (int i = 0; i < 12; i++) {
		char name[8];
		snprintf(name, sizeof name, "t%d", i);
		int t = graph_add_tensor(graph, name, T_ACT, RN_F32);
		graph->tensors[t].rank = 2;
		graph->tensors[t].dims[0] = 7;
		graph->tensors[t].dims[1] = 1301; /* 36428 bytes */
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	graph_free(graph);
	return 0;
}

/* A step of `kernel` reading in[0..n_in) and writing out[0..n_out). */
static Step step(int kernel, int n_in, int n_out)
{
	Step s;
	memset(&s, 0, sizeof s);
	s.kernel = kernel;
	for (int i = 0; i < STEP_MAX_IN; i++)
		s.in[i] = i < n_in ? i : -1;
	s.out[0] = OUT0;
	s.out[1] = n_out > 1 ? OUT1 : -1;
	s.out[2] = n_out > 2 ? OUT2 : -1;
	s.n_in = n_in;
	s.n_out = n_out;
	return s;
}

static char *emit(const Step *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	kernel_emit(f, graph, s, 7, ref, NULL);
	fclose(f);
	return text;
}

static void expect(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("'%s' is not in:\n%s", want, text);
}

/* ".name = value" */
static void expect_field(const char *text, const char *name, const char *value)
{
	char want[256];
	snprintf(want, sizeof want, ".%s = %s", name, value);
	expect(text, want);
}

/* ---- one filled step per kernel, with what its C must say ---- */

typedef struct {
	Step s;
	const char *has[24]; /* strings the C must contain */
} Case;

static void fill_conv(rn_conv2d_params *p)
{
	*p = (rn_conv2d_params){.n = 101, .c = 103, .h = 107, .w = 109, .m = 113, .oh = 127, .ow = 131,
				.kh = 137, .kw = 139, .sh = 149, .sw = 151, .dh = 157, .dw = 163, .pt = 167,
				.pl = 173, .group = 179, .act = RN_ACT_HARD_SWISH, .alpha = 0.375f, .beta = -2.5f};
}

static void check_conv(const char *text)
{
	static const char *const f[][2] = {
		{"n", "101"},	{"c", "103"},	{"h", "107"},	 {"w", "109"},	   {"m", "113"},
		{"oh", "127"},	{"ow", "131"},	{"kh", "137"},	 {"kw", "139"},	   {"sh", "149"},
		{"sw", "151"},	{"dh", "157"},	{"dw", "163"},	 {"pt", "167"},	   {"pl", "173"},
		{"group", "179"}, {"act", "RN_ACT_HARD_SWISH"}, {"alpha", "0.375f"}, {"beta", "-2.5f"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		expect_field(text, f[i][0], f[i][1]);
	expect(text, "static const rn_");
}

static void fill_pool(rn_pool_params *p)
{
	*p = (rn_pool_params){.kind = RN_POOL_MAX, .dtype = 37, .nc = 1000003, .nsp = 3,
			      .in = {211, 223, 227}, .out = {229, 233, 239}, .k = {241, 251, 257},
			      .s = {263, 269, 271}, .d = {277, 281, 283}, .pad_begin = {293, 307, 311},
			      .pad_end = {313, 317, 331}, .count_include_pad = 41, .storage_order = 43};
}

static void check_pool(const char *text)
{
	static const char *const f[][2] = {
		{"kind", "RN_POOL_MAX"},	 {"dtype", "37"},
		{"nc", "1000003"},		 {"nsp", "3"},
		{"in", "{211, 223, 227}"},	 {"out", "{229, 233, 239}"},
		{"k", "{241, 251, 257}"},	 {"s", "{263, 269, 271}"},
		{"d", "{277, 281, 283}"},	 {"pad_begin", "{293, 307, 311}"},
		{"pad_end", "{313, 317, 331}"},	 {"count_include_pad", "41"},
		{"storage_order", "43"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		expect_field(text, f[i][0], f[i][1]);
	expect(text, "static const rn_pool_params p7 = {");
}

static void check_pool_avg(void)
{
	Step s = step(K_POOL, 1, 1);
	fill_pool(&s.p.pool);
	s.p.pool.kind = RN_POOL_AVG;
	s.p.pool.dtype = RN_F32;
	char *text = emit(&s);
	expect_field(text, "kind", "RN_POOL_AVG");
	/* a float average has no quantization to print */
	assert_null(strstr(text, "q_mult"));
	free(text);
	/* a quantized one (QLinearAveragePool): its multiplier exactly */
	s.p.pool.dtype = RN_U8;
	s.p.pool.q_mult = 0.1234567890123456789;
	s.p.pool.x_zp = 347;
	s.p.pool.y_zp = 349;
	text = emit(&s);
	expect_field(text, "q_mult", "0.12345678901234568");
	expect_field(text, "x_zp", "347");
	expect_field(text, "y_zp", "349");
	free(text);
}

static void fill_binary(rn_binary_params *p)
{
	*p = (rn_binary_params){.op = RN_DIV, .dtype = 47, .rank = 3, .dims = {401, 409, 419},
				.sa = {421, 431, 433}, .sb = {439, 443, 449}};
}

static void check_binary(const char *text)
{
	expect_field(text, "op", "RN_DIV");
	expect_field(text, "dtype", "47");
	expect_field(text, "rank", "3");
	expect_field(text, "dims", "{401, 409, 419}");
	expect_field(text, "sa", "{421, 431, 433}");
	expect_field(text, "sb", "{439, 443, 449}");
	expect(text, "static const rn_binary_params p7 = {");
}

static void fill_gemm(rn_gemm_params *p)
{
	*p = (rn_gemm_params){.m = 501, .n = 503, .k = 509, .trans_a = 53, .trans_b = 59, .alpha = 0.625f,
			      .beta = 1.75f, .c_sm = 521, .c_sn = 523, .act = RN_ACT_LEAKY_RELU,
			      .act_alpha = 0.125f, .act_beta = -0.5f};
}

static void check_gemm(const char *text)
{
	static const char *const f[][2] = {
		{"m", "501"},	       {"n", "503"},	      {"k", "509"},
		{"trans_a", "53"},     {"trans_b", "59"},     {"alpha", "0.625f"},
		{"beta", "1.75f"},     {"c_sm", "521"},	      {"c_sn", "523"},
		{"act", "RN_ACT_LEAKY_RELU"}, {"act_alpha", "0.125f"}, {"act_beta", "-0.5f"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		expect_field(text, f[i][0], f[i][1]);
	expect(text, "static const rn_gemm_params p7 = {");
}

static void fill_matmul(rn_matmul_params *p)
{
	*p = (rn_matmul_params){.batch_rank = 2, .batch = {601, 607}, .sa = {613, 617}, .sb = {619, 631},
				.m = 641, .n = 643, .k = 647};
}

static void check_matmul(const char *text)
{
	expect_field(text, "batch_rank", "2");
	expect_field(text, "batch", "{601, 607}");
	expect_field(text, "sa", "{613, 617}");
	expect_field(text, "sb", "{619, 631}");
	expect_field(text, "m", "641");
	expect_field(text, "n", "643");
	expect_field(text, "k", "647");
	expect(text, "static const rn_matmul_params p7 = {");
}

static void fill_qlinear(rn_qlinear_params *q)
{
	*q = (rn_qlinear_params){.x_dtype = 1103, .w_dtype = 1109, .y_dtype = 1117, .x_zp_n = 1123,
				 .x_scale_n = 1129, .w_zp_n = 1151, .w_scale_n = 1153};
}

static void check_qlinear(const char *text)
{
	static const char *const f[][2] = {
		{"x_dtype", "1103"}, {"w_dtype", "1109"}, {"y_dtype", "1117"}, {"x_zp_n", "1123"},
		{"x_scale_n", "1129"}, {"w_zp_n", "1151"}, {"w_scale_n", "1153"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		expect_field(text, f[i][0], f[i][1]);
	expect(text, "static const rn_qlinear_params q7 = {");
}

static void fill_qconv(rn_qconv2d_params *p)
{
	fill_conv(&p->conv);
	p->x_dtype = 1201;
	p->y_dtype = 1213;
	p->r_dtype = 1217;
	p->x_zp = 1223;
	p->y_zp = 1229;
	p->r_zp = 1231;
	p->lo = 1237;
	p->hi = 1249;
	p->has_residual = 1259;
	p->r_mult = 0.8125f;
}

static void check_qconv(const char *text)
{
	static const char *const f[][2] = {
		{"x_dtype", "1201"}, {"y_dtype", "1213"}, {"r_dtype", "1217"}, {"x_zp", "1223"},
		{"y_zp", "1229"}, {"r_zp", "1231"}, {"lo", "1237"}, {"hi", "1249"},
		{"has_residual", "1259"}, {"r_mult", "0.8125f"},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		expect_field(text, f[i][0], f[i][1]);
	expect(text, "static const rn_qconv2d_params p7 = {");
	check_conv(text);
}

/* Every kind: a step with each field set, and what its C must contain.
 * A kind without a case here fails test_every_kind_has_a_case. */
static int make_case(int kind, Case *c)
{
	memset(c, 0, sizeof *c);
	Step *s = &c->s;
	const char **h = c->has;
	switch (kind) {
	case K_VIEW:
		*s = step(kind, 1, 1);
		*h++ = "rn_copy2d(T9@0, 0, T0@0, 0, 1, 36428);"; /* the output's bytes */
		break;
	case K_COPY:
		*s = step(kind, 1, 1);
		s->p.bytes = 70001;
		s->dst_off = 7007;
		*h++ = "rn_copy2d(T9@7007, 0, T0@0, 0, 1, 70001);";
		break;
	case K_COPY2D:
		*s = step(kind, 1, 1);
		s->p.copy = (CopyParams){.rows = 80001, .dst_pitch = 80021, .src_pitch = 80039, .row_bytes = 80051,
					 .dst_off = 80071};
		*h++ = "rn_copy2d(T9@80071, 80021, T0@0, 80039, 80001, 80051);";
		break;
	case K_CONV2D:
		*s = step(kind, 4, 1);
		fill_conv(&s->p.conv);
		*h++ = "rn_conv2d_f32(&p7, T0@0, T1@0, T2@0, T3@0, T9@0);";
		break;
	case K_CONV2D_PACKED:
		*s = step(kind, 4, 1);
		s->in[2] = -1; /* the bias is packed with the weights */
		fill_conv(&s->p.conv);
		s->algo = RN_CONV_WINOGRAD_F2;
		s->scratch = 90017;
		*h++ = "rn_conv2d_packed_f32(RN_CONV_WINOGRAD_F2, &p7, T0@0, T1@0, T3@0, T9@0, SCRATCH, 90017, tp)";
		break;
	case K_POOL:
		*s = step(kind, 1, 2);
		fill_pool(&s->p.pool);
		*h++ = "rn_pool(&p7, T0@0, T9@0, T10@0, tp);";
		break;
	case K_GLOBAL_AVG:
	case K_GLOBAL_MAX:
		*s = step(kind, 1, 1);
		s->p.global = (GlobalParams){.outer = 90001, .inner = 90011};
		*h++ = kind == K_GLOBAL_AVG ? "rn_global_avg_f32(90001, 90011, T0@0, T9@0);"
					    : "rn_global_max_f32(90001, 90011, T0@0, T9@0);";
		break;
	case K_REDUCE_MEAN:
		*s = step(kind, 1, 1);
		s->p.reduce = (ReduceParams){.rank = 3, .dims = {91001, 91009, 91019}, .mask = 0x5};
		*h++ = "static const int64_t d7[] = {91001, 91009, 91019};";
		*h++ = "rn_reduce_mean_f32(3, d7, 0x5u, T0@0, T9@0);";
		break;
	case K_SCALE_SHIFT:
		*s = step(kind, 3, 1);
		/* eps is BatchNormalization's; scale and shift hold it already */
		s->p.affine = (AffineParams){.n = 92003, .c = 92009, .spatial = 92033};
		*h++ = "rn_scale_shift_f32(92003, 92009, 92033, T0@0, T1@0, T2@0, T9@0);";
		break;
	case K_BATCHNORM:
		*s = step(kind, 5, 1);
		s->p.affine = (AffineParams){.n = 92003, .c = 92009, .spatial = 92033, .eps = 0.001953125f};
		*h++ = "rn_batchnorm_f32(92003, 92009, 92033, 0.001953125f, T0@0, T1@0, T2@0, T3@0, T4@0, T9@0);";
		break;
	case K_BINARY:
		*s = step(kind, 2, 1);
		fill_binary(&s->p.binary);
		*h++ = "if ((rc = rn_binary(&p7, T0@0, T1@0, T9@0)) != 0)";
		*h++ = "return rc;";
		break;
	case K_UNARY:
		*s = step(kind, 1, 1);
		s->p.unary = (UnaryParams){.act = RN_ACT_HARD_SIGMOID, .alpha = 0.1875f, .beta = 0.3125f, .n = 93001};
		*h++ = "rn_unary_f32(RN_ACT_HARD_SIGMOID, 0.1875f, 0.3125f, 93001, T0@0, T9@0);";
		break;
	case K_GEMM:
		*s = step(kind, 3, 1);
		fill_gemm(&s->p.gemm);
		*h++ = "rn_gemm_f32(&p7, T0@0, T1@0, T2@0, T9@0, tp);";
		break;
	case K_MATMUL:
		*s = step(kind, 2, 1);
		fill_matmul(&s->p.matmul);
		*h++ = "rn_matmul_f32(&p7, T0@0, T1@0, T9@0);";
		break;
	case K_SOFTMAX:
		*s = step(kind, 1, 1);
		s->p.softmax = (SoftmaxParams){.outer = 94001, .len = 94007, .inner = 94009, .log = 61};
		*h++ = "rn_softmax_f32(94001, 94007, 94009, 61, T0@0, T9@0);";
		break;
	case K_TRANSPOSE:
		*s = step(kind, 1, 1);
		s->p.transpose = (TransposeParams){.elem = 67, .rank = 3, .dims = {95001, 95003, 95009}, .perm = {2, 0, 1}};
		*h++ = "static const int64_t d7[] = {95001, 95003, 95009};";
		*h++ = "static const int perm7[] = {2, 0, 1};";
		*h++ = "rn_transpose(67, 3, d7, perm7, T0@0, T9@0);";
		break;
	case K_PAD:
		*s = step(kind, 1, 1);
		s->p.pad = (PadParams){.elem = 71, .rank = 2, .mode = RN_PAD_WRAP, .dims = {96001, 96013},
				       .begin = {-96017, 96019}, .end = {96023, -96029},
				       .value = {11, 22, 33, 44, 55, 66, 77, 88}};
		*h++ = "static const int64_t d7[] = {96001, 96013};";
		*h++ = "static const int64_t b7[] = {-96017, 96019};";
		*h++ = "static const int64_t e7[] = {96023, -96029};";
		*h++ = "static const unsigned char v7[8] = {11, 22, 33, 44, 55, 66, 77, 88};";
		*h++ = "rn_pad(71, 2, d7, b7, e7, RN_PAD_WRAP, v7, T0@0, T9@0);";
		break;
	case K_SLICE:
		*s = step(kind, 1, 1);
		s->p.slice = (SliceParams){.elem = 73, .rank = 2, .dims = {97001, 97003}, .start = {97007, 97009},
					   .step = {-97011, 97013}, .out = {97019, 97021}};
		*h++ = "static const int64_t d7[] = {97001, 97003};";
		*h++ = "static const int64_t st7[] = {97007, 97009};";
		*h++ = "static const int64_t sp7[] = {-97011, 97013};";
		*h++ = "static const int64_t o7[] = {97019, 97021};";
		*h++ = "rn_slice(73, 2, d7, st7, sp7, o7, T0@0, T9@0);";
		break;
	case K_GATHER:
		*s = step(kind, 2, 1);
		s->p.gather = (GatherParams){.elem = 79, .idx_dtype = 83, .outer = 98001, .axis_len = 98003,
					     .inner = 98009, .nidx = 98011};
		*h++ = "if ((rc = rn_gather(79, 98001, 98003, 98009, T0@0, 83, T1@0, 98011, T9@0)) != 0)";
		*h++ = "return rc;";
		break;
	case K_CAST:
		*s = step(kind, 1, 1);
		s->p.cast = (CastParams){.from = 89, .to = 97, .n = 99001};
		*h++ = "rn_cast(89, 97, 99001, T0@0, T9@0);";
		break;
	case K_QUANTIZE:
	case K_DEQUANTIZE:
		*s = step(kind, 3, 1);
		s->p.quant = (rn_quant_params){.dtype = 1009, .outer = 1013, .axis_len = 1019, .inner = 1021,
					       .per_axis = 1031};
		*h++ = "static const rn_quant_params p7 = {.dtype = 1009, .outer = 1013, .axis_len = 1019, .inner = 1021, .per_axis = 1031};";
		*h++ = kind == K_QUANTIZE ? "if ((rc = rn_quantize(&p7, T0@0, T1@0, T2@0, T9@0)) != 0)"
					  : "if ((rc = rn_dequantize(&p7, T0@0, T1@0, T2@0, T9@0)) != 0)";
		break;
	case K_DYNAMIC_QUANTIZE:
		*s = step(kind, 1, 3);
		s->p.cast.n = 1033;
		*h++ = "rn_dynamic_quantize_u8(1033, T0@0, T9@0, &s, &z);";
		*h++ = "*(float *)T10@0 = s;";
		*h++ = "*(uint8_t *)T11@0 = z;";
		break;
	case K_QLINEAR_CONV:
		*s = step(kind, 9, 1);
		fill_conv(&s->p.qconv.conv);
		fill_qlinear(&s->p.qconv.q);
		*h++ = "rn_qlinear_conv2d(&p7, &q7, T0@0, T1@0, T2@0, T3@0, T4@0,";
		*h++ = "T5@0, T6@0, T7@0, T8@0, T9@0);";
		break;
	case K_QLINEAR_MATMUL:
		*s = step(kind, 8, 1);
		fill_matmul(&s->p.qmatmul.mm);
		fill_qlinear(&s->p.qmatmul.q);
		*h++ = "rn_qlinear_matmul(&p7, &q7, T0@0, T1@0, T2@0, T3@0,";
		*h++ = "T4@0, T5@0, T6@0, T7@0, T9@0);";
		break;
	case K_QLINEAR_ADD:
		*s = step(kind, 8, 1);
		fill_binary(&s->p.binary);
		*h++ = "rn_qlinear_add(&p7, T0@0, T1@0, T2@0, T3@0,";
		*h++ = "T4@0, T5@0, T6@0, T7@0, T9@0);";
		break;
	case K_QLINEAR_GAP:
		*s = step(kind, 5, 1);
		s->p.quant = (rn_quant_params){.dtype = 1039, .outer = 1049, .axis_len = 1, .inner = 1051};
		*h++ = "rn_qlinear_global_avg(1039, 1049, 1051, T0@0, T1@0, T2@0, T3@0, T4@0, T9@0);";
		break;
	case K_QGEMM:
		*s = step(kind, 9, 1);
		fill_matmul(&s->p.qmatmul.mm);
		fill_qlinear(&s->p.qmatmul.q);
		s->p.qmatmul.alpha = 0.6875f;
		*h++ = "rn_qgemm(&p7, &q7, 0.6875f, T0@0, T1@0, T2@0, T3@0, T8@0,";
		*h++ = "T4@0, T5@0, T6@0, T7@0, T9@0, tp);";
		break;
	case K_QCONV:
		*s = step(kind, 5, 1);
		fill_qconv(&s->p.qconvi);
		*h++ = "rn_qconv2d_direct(&p7, T0@0, T1@0, T2@0, T3@0, T4@0, T9@0);";
		break;
	case K_QCONV_PACKED:
		*s = step(kind, 5, 1);
		s->in[2] = s->in[3] = -1; /* bias and multipliers are packed */
		fill_qconv(&s->p.qconvi);
		s->scratch = 1301;
		*h++ = "if ((rc = rn_qconv2d_packed(&p7, T0@0, T1@0, T4@0, T9@0, SCRATCH, 1301, tp)) != 0)";
		break;
	default:
		return -1;
	}
	return 0;
}

/* ---- the tests ---- */

static void test_every_kind_has_a_name_a_case_and_c(void **state)
{
	(void)state;
	for (int k = 0; k < K_COUNT; k++) {
		Case c;
		if (make_case(k, &c) != 0)
			fail_msg("kernel %d (%s) has no case in test_kernel_emit.c", k, kernel_name(k));
		assert_string_not_equal(kernel_name(k), "?");
		char *text = emit(&c.s);
		if (strstr(text, "#error"))
			fail_msg("kernel %d (%s) prints no C: %s", k, kernel_name(k), text);
		free(text);
	}
	/* past the table */
	Step s = step(K_COUNT, 1, 1);
	char *text = emit(&s);
	expect(text, "#error unknown kernel");
	free(text);
	assert_string_equal(kernel_name(K_COUNT), "?");
	assert_string_equal(kernel_name(-1), "?");
}

static void test_each_kernel_calls_its_function_with_every_argument(void **state)
{
	(void)state;
	for (int k = 0; k < K_COUNT; k++) {
		Case c;
		assert_int_equal(make_case(k, &c), 0);
		char *text = emit(&c.s);
		for (int i = 0; c.has[i]; i++)
			expect(text, c.has[i]);
		/* each operand the step names is passed */
		for (int i = 0; i < STEP_MAX_IN; i++)
			if (c.s.in[i] >= 0) {
				char t[16];
				snprintf(t, sizeof t, "T%d@", c.s.in[i]);
				expect(text, t);
			}
		free(text);
	}
}

/* Both convolution kernels print rn_conv2d_params through one printer:
 * every field, in either. */
static void test_conv_params_every_field(void **state)
{
	(void)state;
	static const int kinds[] = {K_CONV2D, K_CONV2D_PACKED, K_QLINEAR_CONV, K_QCONV, K_QCONV_PACKED};
	for (int i = 0; i < 5; i++) {
		Case c;
		assert_int_equal(make_case(kinds[i], &c), 0);
		char *text = emit(&c.s);
		check_conv(text);
		free(text);
	}
}

static void test_pool_params_every_field(void **state)
{
	(void)state;
	Case c;
	assert_int_equal(make_case(K_POOL, &c), 0);
	char *text = emit(&c.s);
	check_pool(text);
	free(text);
	check_pool_avg();
}

static void test_binary_params_every_field(void **state)
{
	(void)state;
	Case c;
	assert_int_equal(make_case(K_BINARY, &c), 0);
	char *text = emit(&c.s);
	check_binary(text);
	free(text);
}

static void test_gemm_params_every_field(void **state)
{
	(void)state;
	Case c;
	assert_int_equal(make_case(K_GEMM, &c), 0);
	char *text = emit(&c.s);
	check_gemm(text);
	free(text);
}

static void test_matmul_params_every_field(void **state)
{
	(void)state;
	Case c;
	assert_int_equal(make_case(K_MATMUL, &c), 0);
	char *text = emit(&c.s);
	check_matmul(text);
	free(text);
	/* no batch: no batch arrays */
	c.s.p.matmul.batch_rank = 0;
	text = emit(&c.s);
	expect_field(text, "batch_rank", "0");
	assert_null(strstr(text, ".batch ="));
	expect_field(text, "k", "647");
	free(text);
}

static void test_qconv_params_every_field(void **state)
{
	(void)state;
	static const int kinds[] = {K_QCONV, K_QCONV_PACKED};
	for (int i = 0; i < 2; i++) {
		Case c;
		assert_int_equal(make_case(kinds[i], &c), 0);
		char *text = emit(&c.s);
		check_qconv(text);
		free(text);
	}
}

/* The quantized products print rn_qlinear_params through one printer. */
static void test_qlinear_params_every_field(void **state)
{
	(void)state;
	static const int kinds[] = {K_QLINEAR_CONV, K_QLINEAR_MATMUL, K_QGEMM};
	for (int i = 0; i < 3; i++) {
		Case c;
		assert_int_equal(make_case(kinds[i], &c), 0);
		char *text = emit(&c.s);
		check_qlinear(text);
		if (kinds[i] != K_QLINEAR_CONV)
			check_matmul(text);
		free(text);
	}
}

/* Floats read back as the same float; NaN and infinities by name. */
static void test_float_literals(void **state)
{
	(void)state;
	Step s = step(K_UNARY, 1, 1);
	s.p.unary = (UnaryParams){.act = RN_ACT_CLIP, .alpha = -1.0f / 0.0f, .beta = 6.0f, .n = 5};
	char *text = emit(&s);
	expect(text, "rn_unary_f32(RN_ACT_CLIP, -INFINITY, 6.0f, 5, T0@0, T9@0);");
	free(text);
	s.p.unary.alpha = 0.1f;
	s.p.unary.beta = 0.0f / 0.0f;
	text = emit(&s);
	expect(text, "rn_unary_f32(RN_ACT_CLIP, 0.100000001f, NAN, 5,");
	free(text);
}

/* Each step's parameters are named by the id the emitter gives. */
static void test_parameter_names_follow_the_step_id(void **state)
{
	(void)state;
	Case c;
	assert_int_equal(make_case(K_CONV2D, &c), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	kernel_emit(f, graph, &c.s, 1234, ref, NULL);
	fclose(f);
	expect(text, "static const rn_conv2d_params p1234 = {");
	expect(text, "rn_conv2d_f32(&p1234,");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_has_a_name_a_case_and_c),
		cmocka_unit_test(test_each_kernel_calls_its_function_with_every_argument),
		cmocka_unit_test(test_conv_params_every_field),
		cmocka_unit_test(test_pool_params_every_field),
		cmocka_unit_test(test_binary_params_every_field),
		cmocka_unit_test(test_gemm_params_every_field),
		cmocka_unit_test(test_matmul_params_every_field),
		cmocka_unit_test(test_qlinear_params_every_field),
		cmocka_unit_test(test_qconv_params_every_field),
		cmocka_unit_test(test_float_literals),
		cmocka_unit_test(test_parameter_names_follow_the_step_id),
	};
	return cmocka_run_group_tests_name("kernel_emit", tests, setup, teardown);
}
