/*
 * The int8 convolution from packed weights (rn_qconv2d_pack +
 * rn_qconv2d_packed) against its definition rn_qconv2d_direct, byte for
 * byte: 1x1 (read in place, strided, padded), 3x3 at strides 1 and 2, the
 * 7x7 stem, dilations, non-square kernels and strides, odd channel counts
 * (tails of the 6-pixel x 16-channel tile and of the k-pairs), batch 2;
 * uint8 and int8 inputs and outputs, zero points 0, 128 and the extremes,
 * with and without bias, residual (uint8, int8, y itself), ReLU and
 * narrower clamps; serially and on pools of 2 and 3 threads. Sentinels
 * guard the output, the packed weights and the scratch; one byte less
 * scratch than asked for is refused. Both paths of the kernels: weights
 * with unsafe pairs (uniform int8: exact 16-bit products) and weights
 * whose pairs are all safe (runtime.h; vpmaddubsw on AVX2): uniform in
 * [-64, 64], and adversarial ones at the limits of the rule, safe and
 * unsafe, against inputs at the top of the uint8 domain, where a wrong
 * pair would saturate; rn_qconv2d_pair_safe_all's rule at its boundaries.
 * The mixed path (a few unsafe pairs: the k-quads without one as the safe
 * path, those with one in 16 bits): safe pairs at the rule's limits with
 * a rare unsafe one, on inputs at the top of the domain too.
 * rn_qconv2d_direct itself is checked
 * against a naive formulation (exact integer accumulator over an
 * explicitly padded input, the epilogue in double).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t urand(void)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(rng >> 32);
}

static int irand(int lo, int hi) /* uniform in [lo, hi] */
{
	return lo + (int)(urand() % (uint32_t)(hi - lo + 1));
}

typedef struct {
	int n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
} shape;

static const shape shapes[] = {
	/* 1x1 stride 1: panel rows read from the input */
	{ 1, 16, 7, 7, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 1, 13, 5, 9, 20, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },   /* odd K, m tail */
	{ 2, 8, 3, 61, 17, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 1, 40, 1, 1, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 1, 3, 2, 5, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },     /* fewer pixels than a vector */
	{ 1, 64, 14, 14, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 1, 2, 40, 40, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },   /* several blocks */
	/* 1x1 strided or padded */
	{ 1, 32, 14, 14, 48, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0 },
	{ 1, 9, 9, 7, 19, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0 },
	{ 1, 8, 6, 6, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
	/* 3x3 stride 1 */
	{ 1, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 17, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 64, 10, 12, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 2, 8, 9, 9, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0 },
	{ 1, 8, 11, 5, 8, 3, 3, 1, 1, 1, 1, 2, 0, 0, 2 },
	{ 1, 4, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
	{ 1, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3 },     /* windows wholly in padding */
	{ 1, 512, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },  /* large K: 2-tile blocks */
	/* strided */
	{ 1, 16, 15, 15, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
	{ 1, 24, 9, 9, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
	{ 1, 64, 28, 28, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
	{ 1, 3, 32, 30, 16, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3 },  /* the stem */
	{ 2, 3, 48, 48, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3 },
	{ 1, 4, 50, 94, 12, 3, 4, 3, 3, 1, 1, 1, 0, 2, 1 },
	{ 1, 5, 9, 13, 7, 3, 2, 3, 1, 1, 1, 1, 0, 2, 1 },    /* strides 3 x 1 */
	{ 1, 5, 13, 9, 11, 2, 3, 1, 2, 1, 1, 0, 1, 1, 0 },   /* strides 1 x 2 */
	/* dilated */
	{ 1, 6, 12, 12, 10, 5, 5, 1, 1, 2, 2, 2, 2, 2, 2 },
	{ 1, 4, 11, 13, 9, 3, 3, 1, 2, 2, 3, 1, 2, 3, 0 },
	{ 1, 7, 17, 10, 18, 3, 2, 2, 1, 3, 2, 2, 2, 1, 1 },
	{ 1, 5, 20, 23, 13, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2 },  /* strided and dilated, rows of 12 */
	{ 2, 9, 6, 6, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },    /* rows of 6: every tile in one row */
	{ 1, 6, 13, 13, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },  /* stride 2, rows of 7 */
	{ 1, 4, 4, 4, 5, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3 },     /* direct 3x3 cut: windows wholly in padding */
	{ 1, 8, 3, 30, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },   /* tiles across rows of 32 */
	{ 1, 8, 6, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0 },    /* left padding only */
	{ 2, 12, 5, 3, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },   /* rows of 5: tiles over 4 rows */
	{ 1, 8, 11, 20, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },  /* direct cut, stride 2: phase planes */
	{ 2, 4, 17, 40, 8, 3, 3, 2, 2, 1, 1, 0, 1, 2, 0 },   /* ... uneven padding */
	{ 1, 12, 20, 9, 24, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1 },  /* ... rows of 5 */
	{ 1, 32, 7, 7, 200, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },  /* few pixels, many channels: split by channels */
	{ 1, 16, 13, 13, 136, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0 }, /* the same, strided */
};

/* What varies besides the shape. */
typedef struct {
	int x_dtype, x_zp;
	int y_dtype, y_zp;
	int bias;
	int res;       /* 0 none, 1 separate, 2 y itself */
	int r_dtype, r_zp;
	int relu;      /* 0 full range, 1 ReLU (lo = y_zp), 2 a narrower clamp */
	int ties;      /* mult a power of two: many v exactly halfway */
} variant;

static const variant variants[] = {
	{ RN_U8, 0, RN_U8, 0, 1, 0, RN_U8, 0, 1, 0 },
	{ RN_U8, 128, RN_U8, 3, 1, 1, RN_U8, 120, 1, 0 },
	{ RN_I8, 0, RN_I8, 0, 0, 0, RN_I8, 0, 0, 0 },
	{ RN_I8, -128, RN_U8, 77, 1, 2, RN_U8, 77, 1, 0 },
	{ RN_U8, 255, RN_I8, -5, 1, 1, RN_I8, -3, 2, 0 },
	{ RN_I8, 127, RN_I8, 10, 0, 2, RN_I8, 10, 0, 0 },
	{ RN_U8, 17, RN_U8, 128, 1, 0, RN_U8, 0, 0, 1 },
	{ RN_I8, 5, RN_U8, 0, 1, 1, RN_I8, 100, 1, 1 },
};
enum { NV = sizeof variants / sizeof variants[0] };

/* How make_case draws the weights and the input. */
enum {
	W_UNIFORM,   /* uniform int8: some pairs unsafe */
	W_SAFE,      /* uniform in [-64, 64]: every pair safe */
	W_EDGE_SAFE, /* pairs at the rule's limits, all safe */
	W_UNSAFE,    /* as W_EDGE_SAFE, with a few pairs just past the limits */
	W_SPARSE,    /* as W_EDGE_SAFE, with rare unsafe pairs: the mixed layout */
};
static int wmode = W_UNIFORM;
static int extreme_mult; /* some channels' mult infinite, NaN, huge or tiny */
static int xtop; /* the input mostly at the top of the uint8 domain (255, or 127 if int8) */

static const int8_t edge_safe[][2] = {
	{ 64, 64 }, { -64, -64 }, { 127, 1 }, { 1, 127 }, { -127, -1 }, { -1, -127 }, { 127, -128 },
	{ -128, 127 }, { -128, 0 }, { 0, -128 }, { 127, 0 }, { 100, 28 }, { -28, -100 }, { 0, 0 },
};
static const int8_t edge_unsafe[][2] = {
	{ 127, 127 }, { -128, -128 }, { 64, 65 }, { -64, -65 }, { 127, 2 }, { -2, -127 },
};

/* Weights of m channels of k each by wmode. */
static void draw_weights(int8_t *w, int m, int k)
{
	for (int ch = 0; ch < m; ch++)
		for (int i = 0; i < k; i += 2) {
			int8_t *p = w + (size_t)ch * k + i;
			const int8_t *e = edge_safe[urand() % (sizeof edge_safe / sizeof edge_safe[0])];
			if ((wmode == W_UNSAFE && urand() % 16 == 0) || (wmode == W_SPARSE && urand() % 512 == 0))
				e = edge_unsafe[urand() % (sizeof edge_unsafe / sizeof edge_unsafe[0])];
			int a = wmode == W_UNIFORM ? (int8_t)urand() : wmode == W_SAFE ? irand(-64, 64) : e[0];
			int b = wmode == W_UNIFORM ? (int8_t)urand() : wmode == W_SAFE ? irand(-64, 64) : e[1];
			p[0] = (int8_t)a;
			if (i + 1 < k)
				p[1] = (int8_t)b;
		}
	if (wmode == W_UNSAFE || wmode == W_SPARSE) /* at least one unsafe pair */
		for (int i = 0; i + 1 < k && i < 2; i += 2) {
			w[(size_t)(m - 1) * k + i] = 127;
			w[(size_t)(m - 1) * k + i + 1] = 127;
		}
}

typedef struct {
	rn_qconv2d_params p;
	size_t nx, ny, nw;
	uint8_t *x, *res;
	int8_t *w;
	int32_t *bias;
	float *mult;
} qcase;

static void out_size(const shape *s, int *oh, int *ow)
{
	*oh = (s->h + s->pt + s->pb - ((s->kh - 1) * s->dh + 1)) / s->sh + 1;
	*ow = (s->w + s->pl + s->pr - ((s->kw - 1) * s->dw + 1)) / s->sw + 1;
}

static void type_range(int dtype, int *lo, int *hi)
{
	*lo = dtype == RN_I8 ? -128 : 0;
	*hi = dtype == RN_I8 ? 127 : 255;
}

static qcase make_case(const shape *s, const variant *v, int group)
{
	qcase q;
	memset(&q, 0, sizeof q);
	rn_conv2d_params c = {
		.n = s->n, .c = s->c, .h = s->h, .w = s->w, .m = s->m, .kh = s->kh, .kw = s->kw,
		.sh = s->sh, .sw = s->sw, .dh = s->dh, .dw = s->dw, .pt = s->pt, .pl = s->pl,
		.group = group, .act = RN_ACT_NONE,
	};
	out_size(s, &c.oh, &c.ow);
	q.p.conv = c;
	q.p.x_dtype = v->x_dtype;
	q.p.x_zp = v->x_zp;
	q.p.y_dtype = v->y_dtype;
	q.p.y_zp = v->y_zp;
	q.p.r_dtype = v->r_dtype;
	q.p.r_zp = v->r_zp;
	q.p.has_residual = v->res != 0;
	q.p.r_mult = (float)irand(16, 90) / 64.0f;
	int lo, hi;
	type_range(v->y_dtype, &lo, &hi);
	q.p.lo = v->relu == 1 ? v->y_zp : v->relu == 2 ? lo + 9 : lo;
	q.p.hi = v->relu == 2 ? hi - 13 : hi;
	q.nx = (size_t)c.n * c.c * c.h * c.w;
	q.ny = (size_t)c.n * c.m * c.oh * c.ow;
	int k = c.c / group * c.kh * c.kw;
	q.nw = (size_t)c.m * k;
	q.x = malloc(q.nx);
	q.res = malloc(q.ny);
	q.w = malloc(q.nw);
	q.bias = malloc((size_t)c.m * sizeof(int32_t));
	q.mult = malloc((size_t)c.m * sizeof(float));
	assert_true(q.x && q.res && q.w && q.bias && q.mult);
	const uint8_t top = v->x_dtype == RN_I8 ? 127 : 255;
	for (size_t i = 0; i < q.nx; i++)
		q.x[i] = xtop && urand() % 8 != 0 ? top : (uint8_t)urand();
	for (size_t i = 0; i < q.ny; i++)
		q.res[i] = (uint8_t)urand();
	draw_weights(q.w, c.m, k);
	/* |acc| is about 75 * 74 * sqrt(k): scale it to some tens, a few
	 * channels far past the clamps */
	for (int i = 0; i < c.m; i++) {
		q.bias[i] = irand(-40000, 40000);
		double scale = 60.0 / (5500.0 * sqrt((double)k)) * (0.5 + (urand() % 1000) / 1000.0);
		if (i % 7 == 3)
			scale *= 20;
		/* ties: a power of two near the same scale */
		q.mult[i] = v->ties ? ldexpf(1.0f, -irand(0, 2) - (int)lround(log2(5500.0 * sqrt((double)k) / 64.0)))
				    : (float)scale;
		if (extreme_mult) {
			static const float ext[] = { INFINITY, -INFINITY, NAN, 1e30f, -1e30f, 3e9f, -3e9f, 1e-30f };
			if (i % 3 == 1)
				q.mult[i] = ext[(i / 3) % 8];
			else if (i % 3 == 2) /* v past int16 */
				q.mult[i] *= 2000.0f;
		}
	}
	if (!v->bias) {
		free(q.bias);
		q.bias = NULL;
	}
	return q;
}

static void free_case(qcase *q)
{
	free(q->x);
	free(q->res);
	free(q->w);
	free(q->bias);
	free(q->mult);
}

enum { GUARD = 64, FILL = 0xa5 };

static uint8_t *guarded(size_t n)
{
	uint8_t *b = malloc(n + 2 * GUARD);
	assert_non_null(b);
	memset(b, FILL, n + 2 * GUARD);
	return b + GUARD;
}

static void check_guards(const uint8_t *b, size_t n, const char *what)
{
	for (size_t i = 0; i < GUARD; i++)
		if (b[-GUARD + (ptrdiff_t)i] != FILL || b[n + i] != FILL)
			fail_msg("%s: a write outside its %zu bytes", what, n);
}

static void describe(const qcase *q, const variant *v, int threads, char *buf, size_t len)
{
	const rn_conv2d_params *c = &q->p.conv;
	snprintf(buf, len,
		 "%dx%dx%dx%d -> %d, k %dx%d s %d,%d d %d,%d pad %d,%d out %dx%d; x %s zp %d, y %s zp %d "
		 "[%d,%d], bias %d, res %d (%s zp %d), ties %d, %d thread(s)",
		 c->n, c->c, c->h, c->w, c->m, c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
		 c->oh, c->ow, v->x_dtype == RN_I8 ? "i8" : "u8", v->x_zp, v->y_dtype == RN_I8 ? "i8" : "u8",
		 v->y_zp, q->p.lo, q->p.hi, v->bias, v->res, v->r_dtype == RN_I8 ? "i8" : "u8", v->r_zp,
		 v->ties, threads);
}

/* The packed layouts met (the header's word: 0 k-pairs, 1 k-quads, 2
 * k-quads with a mask), so that a test can tell each path ran. */
static int layouts[4];

/* Packed against direct, byte for byte (group: the convolution's). */
static void run_case_g(const shape *s, const variant *v, rn_threadpool *tp, int threads, int group)
{
	qcase q = make_case(s, v, group);
	char what[400];
	describe(&q, v, threads, what, sizeof what);
	assert_true(rn_qconv2d_supports(&q.p));
	if (wmode == W_SAFE || wmode == W_EDGE_SAFE)
		assert_int_equal(rn_qconv2d_pair_safe_all(&q.p, q.w), 1);
	if ((wmode == W_UNSAFE || wmode == W_SPARSE) && q.p.conv.c * q.p.conv.kh * q.p.conv.kw >= 2)
		assert_int_equal(rn_qconv2d_pair_safe_all(&q.p, q.w), 0);
	uint8_t *ref = malloc(q.ny);
	assert_non_null(ref);
	if (v->res == 2)
		memcpy(ref, q.res, q.ny);
	rn_qconv2d_direct(&q.p, q.x, q.w, q.bias, q.mult, v->res == 2 ? ref : v->res ? q.res : NULL, ref);

	size_t pbytes = rn_qconv2d_packed_size(&q.p);
	assert_true(pbytes > 0 && pbytes % RN_ALIGN == 0);
	uint8_t *pbase = aligned_alloc(RN_ALIGN, pbytes + 2 * RN_ALIGN);
	assert_non_null(pbase);
	memset(pbase, FILL, pbytes + 2 * RN_ALIGN);
	uint8_t *packed = pbase + RN_ALIGN;
	rn_qconv2d_pack(&q.p, q.w, q.bias, q.mult, packed);
	for (size_t i = 0; i < RN_ALIGN; i++)
		if (pbase[i] != FILL || packed[pbytes + i] != FILL)
			fail_msg("%s: packing wrote outside its %zu bytes", what, pbytes);
	uint32_t layout; /* the packed header's first word (qconv_packed.c) */
	memcpy(&layout, packed, sizeof layout);
	layouts[layout < 3 ? layout : 3]++;

	size_t sbytes = rn_qconv2d_scratch_size(&q.p, threads);
	assert_true(sbytes > 0 && sbytes % RN_ALIGN == 0);
	assert_true(rn_qconv2d_scratch_size(&q.p, 1) * (size_t)threads == sbytes);
	uint8_t *sbase = aligned_alloc(RN_ALIGN, sbytes + 2 * RN_ALIGN);
	assert_non_null(sbase);
	memset(sbase, FILL, sbytes + 2 * RN_ALIGN);
	uint8_t *scratch = sbase + RN_ALIGN;

	uint8_t *y = guarded(q.ny);
	if (v->res == 2)
		memcpy(y, q.res, q.ny);
	else
		memset(y, FILL, q.ny);
	uint8_t *before = malloc(q.ny);
	assert_non_null(before);
	memcpy(before, y, q.ny);
	/* one byte short: refused, nothing written */
	assert_int_equal(rn_qconv2d_packed(&q.p, q.x, packed, v->res == 2 ? y : q.res, y, scratch,
					   sbytes - 1, tp),
			 RN_E_RANGE);
	assert_memory_equal(y, before, q.ny);
	for (size_t i = 0; i < sbytes; i++)
		if (scratch[i] != FILL)
			fail_msg("%s: refused, yet scratch was written", what);

	assert_int_equal(rn_qconv2d_packed(&q.p, q.x, packed, v->res == 2 ? y : v->res ? q.res : NULL, y,
					   scratch, sbytes, tp),
			 RN_OK);
	check_guards(y, q.ny, "output");
	for (size_t i = 0; i < RN_ALIGN; i++)
		if (sbase[i] != FILL || scratch[sbytes + i] != FILL)
			fail_msg("%s: a write outside the %zu bytes of scratch", what, sbytes);
	for (size_t i = 0; i < q.ny; i++)
		if (y[i] != ref[i]) {
			const rn_conv2d_params *c = &q.p.conv;
			size_t ohw = (size_t)c->oh * c->ow;
			fail_msg("%s: output %zu (image %zu, channel %zu, pixel %zu) is %d, direct %d", what, i,
				 i / ohw / (size_t)c->m, i / ohw % (size_t)c->m, i % ohw, y[i], ref[i]);
		}
	free(before);
	free(y - GUARD);
	free(sbase);
	free(pbase);
	free(ref);
	free_case(&q);
}

static void run_case(const shape *s, const variant *v, rn_threadpool *tp, int threads)
{
	run_case_g(s, v, tp, threads, 1);
}

static rn_threadpool *pool2, *pool3;

/* Grouped convolutions (ResNeXt's 32 groups of 4, depthwise, two
 * groups), each group run as a group-1 convolution: against direct, at
 * 1, 2 and 3 threads, with two batch images. */
static void test_grouped(void **s)
{
	(void)s;
	static const struct {
		shape sh;
		int group;
	} cases[] = {
		{ { 1, 128, 14, 14, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 }, 32 },
		{ { 2, 64, 9, 9, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 }, 32 },
		{ { 1, 24, 10, 10, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 }, 24 },
		{ { 2, 16, 7, 7, 48, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 }, 2 },
		{ { 1, 6, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 }, 2 },
	};
	int n = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int v = 0; v < NV; v += 3) {
			run_case_g(&cases[i].sh, &variants[(i + (size_t)v) % NV], NULL, 1, cases[i].group);
			run_case_g(&cases[i].sh, &variants[(i + (size_t)v) % NV], pool2, 2, cases[i].group);
			run_case_g(&cases[i].sh, &variants[(i + (size_t)v) % NV], pool3, 3, cases[i].group);
			n += 3;
		}
	print_message("%d grouped cases: packed == direct\n", n);
}

static void check_all(rn_threadpool *tp, int threads)
{
	int cases = 0;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		for (int r = 0; r < 3; r++) {
			run_case(&shapes[i], &variants[(i * 3 + (size_t)r) % NV], tp, threads);
			cases++;
		}
	print_message("%d cases, %d thread(s): packed == direct\n", cases, threads);
}

static void test_packed_serial(void **s) { (void)s; check_all(NULL, 1); }
static void test_packed_2_threads(void **s) { (void)s; check_all(pool2, 2); }
static void test_packed_3_threads(void **s) { (void)s; check_all(pool3, 3); }

/* Every variant on a few shapes, so that each meets the 1x1 in-place,
 * the strip and the stem paths. */
static void test_all_variants(void **s)
{
	(void)s;
	static const int picks[] = { 1, 8, 12, 22, 28 };
	for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++)
		for (int v = 0; v < NV; v++) {
			run_case(&shapes[picks[i]], &variants[v], NULL, 1);
			run_case(&shapes[picks[i]], &variants[v], pool2, 2);
		}
}

/* Every variant with mults whose v is infinite, NaN (lo), past int32 or
 * int16, or tiny, on both weight paths. */
static void test_extreme_mult(void **s)
{
	(void)s;
	static const int picks[] = { 0, 1, 8, 12, 22, 28 };
	extreme_mult = 1;
	for (int mode = W_UNIFORM; mode <= W_SAFE; mode++) {
		wmode = mode;
		for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++)
			for (int v = 0; v < NV; v++)
				run_case(&shapes[picks[i]], &variants[v], NULL, 1);
	}
	wmode = W_UNIFORM;
	extreme_mult = 0;
}

/* ResNet layer shapes (smaller images where the direct reference would be
 * slow), with ReLU and a residual in y, at 1 and 2 threads, each path:
 * unsafe pairs, every pair safe, a few unsafe (the mixed layout). */
static void test_resnet_layers(void **s)
{
	(void)s;
	static const shape layers[] = {
		{ 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 64, 56, 56, 256, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
		{ 1, 256, 28, 28, 128, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
		{ 1, 128, 28, 28, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
		{ 1, 256, 28, 28, 512, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0 },
		{ 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 1, 2048, 7, 7, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
		{ 1, 3, 112, 112, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3 },
	};
	static const variant relu_res = { RN_U8, 0, RN_U8, 0, 1, 2, RN_U8, 0, 1, 0 };
	static const variant relu = { RN_U8, 0, RN_U8, 0, 1, 0, RN_U8, 0, 1, 0 };
	/* Under a sanitizer (10x slower, the direct reference most of it),
	 * every third layer: the plain build runs them all. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	const size_t step = 3;
#else
	const size_t step = 1;
#endif
	for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i += step) {
		run_case(&layers[i], i % 2 ? &relu_res : &relu, NULL, 1);
		run_case(&layers[i], i % 2 ? &relu : &relu_res, pool2, 2);
		wmode = W_SAFE;
		run_case(&layers[i], i % 2 ? &relu_res : &relu, NULL, 1);
		run_case(&layers[i], i % 2 ? &relu : &relu_res, pool2, 2);
		wmode = W_SPARSE;
		run_case(&layers[i], i % 2 ? &relu_res : &relu, NULL, 1);
		wmode = W_UNIFORM;
	}
}

/* The fast path: every pair safe, on every shape, 1 to 3 threads. */
static void test_safe_serial(void **s) { (void)s; wmode = W_SAFE; check_all(NULL, 1); wmode = W_UNIFORM; }
static void test_safe_2_threads(void **s) { (void)s; wmode = W_SAFE; check_all(pool2, 2); wmode = W_UNIFORM; }
static void test_safe_3_threads(void **s) { (void)s; wmode = W_SAFE; check_all(pool3, 3); wmode = W_UNIFORM; }

/* The mixed path: rare unsafe pairs among safe ones at the rule's limits,
 * on every shape, 1 to 3 threads; most cases take the mixed layout (a few
 * have too many masked quads). */
static void test_sparse_unsafe(void **s)
{
	(void)s;
	memset(layouts, 0, sizeof layouts);
	wmode = W_SPARSE;
	check_all(NULL, 1);
	check_all(pool3, 3);
	wmode = W_UNIFORM;
	print_message("layouts: %d k-pairs, %d mixed\n", layouts[0], layouts[2]);
	assert_int_equal(layouts[1] + layouts[3], 0);
	assert_true(layouts[2] > 3 * layouts[0]);
}

/* Pairs at the limits of the rule, safe and just unsafe, on inputs at the
 * top of the domain (and zero points there, so that padding is too):
 * every variant on a few shapes, and every shape. */
static void test_edge_pairs(void **s)
{
	(void)s;
	static const int picks[] = { 1, 8, 12, 17, 22, 28 };
	static const variant tops[] = {
		{ RN_U8, 255, RN_U8, 0, 1, 0, RN_U8, 0, 0, 0 },
		{ RN_I8, 127, RN_I8, 0, 1, 1, RN_I8, 0, 0, 0 },
	};
	xtop = 1;
	for (int mode = W_EDGE_SAFE; mode <= W_SPARSE; mode++) {
		wmode = mode;
		for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
			for (int v = 0; v < NV; v++)
				run_case(&shapes[picks[i]], &variants[v], v % 2 ? pool2 : NULL, v % 2 ? 2 : 1);
			for (int v = 0; v < 2; v++)
				run_case(&shapes[picks[i]], &tops[v], pool3, 3);
		}
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
			run_case(&shapes[i], &tops[i % 2], i % 3 ? pool2 : NULL, i % 3 ? 2 : 1);
	}
	xtop = 0;
	wmode = W_UNIFORM;
}

/* The rule of runtime.h at its boundaries: per output channel, the pairs
 * (k, k + 1) for even k, the last of an odd K alone. */
static void test_pair_rule(void **s)
{
	(void)s;
	static const struct {
		int m, c;
		int8_t w[8];
		int safe;
	} cases[] = {
		{ 1, 2, { 64, 64 }, 1 },     { 1, 2, { 64, 65 }, 0 },     { 1, 2, { -64, -64 }, 1 },
		{ 1, 2, { -64, -65 }, 0 },   { 1, 2, { 127, -128 }, 1 },  { 1, 2, { -128, 127 }, 1 },
		{ 1, 2, { 127, 1 }, 1 },     { 1, 2, { 127, 2 }, 0 },     { 1, 2, { -127, -1 }, 1 },
		{ 1, 2, { -127, -2 }, 0 },   { 1, 2, { -128, 0 }, 1 },    { 1, 2, { 0, 127 }, 1 },
		{ 1, 2, { 127, 127 }, 0 },   { 1, 2, { -128, -128 }, 0 }, { 1, 1, { 127 }, 1 },
		{ 1, 3, { 1, -1, 127 }, 1 }, /* 127 alone */
		{ 1, 4, { 0, 100, 100, 0 }, 1 }, /* (0, 100), (100, 0) */
		{ 1, 4, { 100, 100, 0, 0 }, 0 },
		{ 1, 4, { 0, 0, 100, 100 }, 0 },
		{ 2, 3, { 0, 0, 100, 100, 0, 0 }, 1 }, /* per channel: 100 and 100 never pair */
		{ 2, 3, { 0, 0, 100, 100, 100, 0 }, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rn_qconv2d_params p = {
			.conv = { .n = 1, .c = cases[i].c, .h = 1, .w = 1, .m = cases[i].m, .oh = 1, .ow = 1,
				  .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .group = 1 },
			.x_dtype = RN_U8, .y_dtype = RN_U8, .r_dtype = RN_U8, .lo = 0, .hi = 255,
		};
		if (rn_qconv2d_pair_safe_all(&p, cases[i].w) != cases[i].safe)
			fail_msg("case %zu: rn_qconv2d_pair_safe_all is not %d", i, cases[i].safe);
	}
	/* 3x3: k runs over [c][kh][kw], so k = 8 (channel 0's last tap) pairs
	 * with k = 9 (channel 1's first) */
	rn_qconv2d_params p = {
		.conv = { .n = 1, .c = 2, .h = 3, .w = 3, .m = 1, .oh = 1, .ow = 1, .kh = 3, .kw = 3, .sh = 1,
			  .sw = 1, .dh = 1, .dw = 1, .group = 1 },
		.x_dtype = RN_U8, .y_dtype = RN_U8, .r_dtype = RN_U8, .lo = 0, .hi = 255,
	};
	int8_t w[18] = { 0 };
	w[8] = w[9] = 100;
	assert_int_equal(rn_qconv2d_pair_safe_all(&p, w), 0);
	w[9] = 0;
	w[10] = 100; /* (9, 10) is no pair */
	assert_int_equal(rn_qconv2d_pair_safe_all(&p, w), 1);
	/* an unsupported convolution (channels not a multiple of the
	 * groups) has no fast path */
	p.conv.group = 3;
	assert_int_equal(rn_qconv2d_pair_safe_all(&p, w), 0);
}

static void test_supports(void **s)
{
	(void)s;
	qcase q = make_case(&shapes[11], &variants[0], 1);
	assert_true(rn_qconv2d_supports(&q.p));
	rn_qconv2d_params p = q.p;
	p.conv.group = 2; /* 16 and 32 channels: two groups of 8 and 16 */
	assert_true(rn_qconv2d_supports(&p));
	p.conv.group = 3; /* not a divisor of the channels */
	assert_false(rn_qconv2d_supports(&p));
	assert_int_equal(rn_qconv2d_packed_size(&p), 0);
	assert_int_equal(rn_qconv2d_scratch_size(&p, 2), 0);
	assert_int_equal(rn_qconv2d_packed(&p, q.x, NULL, NULL, NULL, NULL, 0, NULL), RN_E_UNSUPPORTED);
	p = q.p;
	p.x_dtype = RN_I32;
	assert_false(rn_qconv2d_supports(&p));
	p = q.p;
	p.x_zp = 256;
	assert_false(rn_qconv2d_supports(&p));
	p = q.p;
	p.y_dtype = RN_I8; /* lo 0, hi 255 do not fit int8 */
	assert_false(rn_qconv2d_supports(&p));
	p = q.p;
	p.has_residual = 1;
	p.r_dtype = RN_F32;
	assert_false(rn_qconv2d_supports(&p));
	free_case(&q);
}

/* The packed bytes depend on the weights and x's zero point only. */
static void test_pack_deterministic(void **s)
{
	(void)s;
	qcase q = make_case(&shapes[12], &variants[1], 1);
	size_t n = rn_qconv2d_packed_size(&q.p);
	uint8_t *a = malloc(n), *b = malloc(n);
	assert_true(a && b);
	memset(a, 0x11, n);
	memset(b, 0x77, n);
	rn_qconv2d_pack(&q.p, q.w, q.bias, q.mult, a);
	rn_qconv2d_pack(&q.p, q.w, q.bias, q.mult, b);
	assert_memory_equal(a, b, n);
	free(a);
	free(b);
	free_case(&q);
}

/* ---- rn_qconv2d_direct against a naive formulation ---- */

static int load(int dtype, const uint8_t *b, size_t i)
{
	return dtype == RN_I8 ? (int)(int8_t)b[i] : (int)b[i];
}

/* The input padded explicitly with its zero point, the accumulator as an
 * exact integer, the epilogue in double: (float)acc * mult is exact in
 * double, rounded once to float; r_mult has few bits, so the residual's
 * product and sum are exact in double too before their one rounding. */
static void naive(const qcase *q, const uint8_t *x, const uint8_t *res, uint8_t *y)
{
	const rn_qconv2d_params *p = &q->p;
	const rn_conv2d_params *c = &p->conv;
	int ph = (c->oh - 1) * c->sh + (c->kh - 1) * c->dh + 1;
	int pw = (c->ow - 1) * c->sw + (c->kw - 1) * c->dw + 1;
	int cg = c->c / c->group, mg = c->m / c->group;
	int *xp = malloc(sizeof(int) * (size_t)c->n * c->c * ph * pw);
	assert_non_null(xp);
	for (int n = 0; n < c->n; n++)
		for (int ch = 0; ch < c->c; ch++)
			for (int i = 0; i < ph; i++)
				for (int j = 0; j < pw; j++) {
					int iy = i - c->pt, ix = j - c->pl;
					size_t at = (((size_t)n * c->c + ch) * ph + i) * pw + j;
					xp[at] = iy >= 0 && iy < c->h && ix >= 0 && ix < c->w
							 ? load(p->x_dtype, x, (((size_t)n * c->c + ch) * c->h + iy) * c->w + ix)
							 : p->x_zp;
				}
	for (int n = 0; n < c->n; n++)
		for (int m = 0; m < c->m; m++)
			for (int oy = 0; oy < c->oh; oy++)
				for (int ox = 0; ox < c->ow; ox++) {
					long long acc = q->bias ? q->bias[m] : 0;
					for (int ci = 0; ci < cg; ci++) {
						int ch = m / mg * cg + ci;
						for (int ky = 0; ky < c->kh; ky++)
							for (int kx = 0; kx < c->kw; kx++) {
								int i = oy * c->sh + ky * c->dh, j = ox * c->sw + kx * c->dw;
								long long xv = xp[(((size_t)n * c->c + ch) * ph + i) * pw + j];
								acc += (xv - p->x_zp) *
								       q->w[(((size_t)m * cg + ci) * c->kh + ky) * c->kw + kx];
							}
					}
					assert_true(acc >= INT32_MIN && acc <= INT32_MAX);
					size_t o = (((size_t)n * c->m + m) * c->oh + oy) * c->ow + ox;
					double v = (float)((double)(float)acc * (double)q->mult[m]);
					if (p->has_residual)
						v = (float)((double)(load(p->r_dtype, res, o) - p->r_zp) * p->r_mult + v);
					double lo = p->lo - p->y_zp, hi = p->hi - p->y_zp;
					v = v < lo ? lo : v > hi ? hi : v;
					double r = floor(v), f = v - r;
					if (f > 0.5 || (f == 0.5 && fmod(r, 2.0) != 0.0))
						r += 1.0;
					y[o] = (uint8_t)((int)r + p->y_zp);
				}
	free(xp);
}

static void test_direct_definition(void **s)
{
	(void)s;
	static const int picks[] = { 1, 9, 10, 17, 22, 25, 28 };
	int ties = 0;
	for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++)
		for (int v = 0; v < NV; v++)
			for (int group = 1; group <= 2; group++) {
				shape sh = shapes[picks[i]];
				if (group == 2) { /* grouped: even c and m */
					sh.c += sh.c % 2;
					sh.m += sh.m % 2;
				}
				qcase q = make_case(&sh, &variants[v], group);
				uint8_t *a = malloc(q.ny), *b = malloc(q.ny);
				assert_true(a && b);
				rn_qconv2d_direct(&q.p, q.x, q.w, q.bias, q.mult, variants[v].res ? q.res : NULL, a);
				naive(&q, q.x, q.res, b);
				for (size_t j = 0; j < q.ny; j++)
					if (a[j] != b[j]) {
						char what[400];
						describe(&q, &variants[v], 1, what, sizeof what);
						fail_msg("%s group %d: output %zu is %d, the naive one %d", what, group, j,
							 a[j], b[j]);
					}
				if (variants[v].ties)
					ties++;
				free(a);
				free(b);
				free_case(&q);
			}
	assert_true(ties > 0);
}

/* Ties round to even, the clamp comes before rounding, y_zp after. */
static void test_direct_rounding(void **s)
{
	(void)s;
	static const shape one = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 };
	static const variant v = { RN_U8, 0, RN_U8, 10, 0, 0, RN_U8, 0, 0, 0 };
	qcase q = make_case(&one, &v, 1);
	q.p.lo = 0;
	q.p.hi = 255;
	q.w[0] = 1;
	q.mult[0] = 0.5f;
	static const struct { int x; int y; } cases[] = {
		{ 1, 10 },   /* 0.5 -> 0 */
		{ 3, 12 },   /* 1.5 -> 2 */
		{ 5, 12 },   /* 2.5 -> 2 */
		{ 7, 14 },   /* 3.5 -> 4 */
		{ 255, 138 } /* 127.5 -> 128 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t y = 0;
		q.x[0] = (uint8_t)cases[i].x;
		rn_qconv2d_direct(&q.p, q.x, q.w, NULL, q.mult, NULL, &y);
		assert_int_equal(y, cases[i].y);
	}
	/* the clamp is on v, between lo - y_zp and hi - y_zp */
	q.p.lo = 12;
	q.x[0] = 1; /* v = 0.5, clamped to 2 */
	uint8_t y = 0;
	rn_qconv2d_direct(&q.p, q.x, q.w, NULL, q.mult, NULL, &y);
	assert_int_equal(y, 12);
	q.p.lo = 0;
	q.p.hi = 11; /* v = 127.5 clamped to 1 */
	q.x[0] = 255;
	rn_qconv2d_direct(&q.p, q.x, q.w, NULL, q.mult, NULL, &y);
	assert_int_equal(y, 11);
	/* a NaN (mult infinite, acc 0) gives lo */
	q.p.lo = 3;
	q.p.hi = 200;
	q.mult[0] = INFINITY;
	q.x[0] = 0;
	rn_qconv2d_direct(&q.p, q.x, q.w, NULL, q.mult, NULL, &y);
	assert_int_equal(y, 3);
	free_case(&q);
}

static int setup(void **s)
{
	(void)s;
	pool2 = rn_threadpool_create(2);
	pool3 = rn_threadpool_create(3);
	return pool2 && pool3 ? 0 : -1;
}

static int teardown(void **s)
{
	(void)s;
	rn_threadpool_destroy(pool2);
	rn_threadpool_destroy(pool3);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supports),
		cmocka_unit_test(test_pack_deterministic),
		cmocka_unit_test(test_direct_rounding),
		cmocka_unit_test(test_direct_definition),
		cmocka_unit_test(test_packed_serial),
		cmocka_unit_test(test_packed_2_threads),
		cmocka_unit_test(test_packed_3_threads),
		cmocka_unit_test(test_pair_rule),
		cmocka_unit_test(test_safe_serial),
		cmocka_unit_test(test_safe_2_threads),
		cmocka_unit_test(test_safe_3_threads),
		cmocka_unit_test(test_edge_pairs),
		cmocka_unit_test(test_sparse_unsafe),
		cmocka_unit_test(test_all_variants),
		cmocka_unit_test(test_extreme_mult),
		cmocka_unit_test(test_resnet_layers),
		cmocka_unit_test(test_grouped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
