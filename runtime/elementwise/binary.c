/*
 * Broadcasting elementwise Add, Sub, Mul, Div, Max, Min and PRelu for every
 * numeric element type.
 *
 * Axes are first collapsed (size-1 axes dropped, neighbours merged when
 * both operands step through them contiguously), so a same-shape op is one
 * row and a per-channel bias add is a row per channel with a scalar
 * operand. Each row is processed in blocks of BLK elements: both operands
 * are copied into local arrays, combined, and the result copied out. The
 * locals cannot alias, so the combine loop vectorizes at -O2 without
 * runtime alias checks, and an output that is exactly one of the inputs
 * is still correct because a block is read before it is written.
 *
 * Semantics: floats follow IEEE (Max/Min propagate NaN like numpy);
 * integers wrap (signed ones computed in the unsigned type, so there is no
 * undefined overflow) and Div truncates toward zero, with INT_MIN / -1
 * wrapping to INT_MIN; float16 and bfloat16 compute in float and round
 * back to nearest even. Bool supports Max (or) and Min (and) only.
 */
#include "../core/internal.h"

enum { BLK = 16 };

/* ---- combine n elements of u and v into r ---- */

static RN_INLINE void combine_f32(int op, int n, const float *u, const float *v, float *r)
{
	switch (op) {
	case RN_ADD: for (int i = 0; i < n; i++) r[i] = u[i] + v[i]; break;
	case RN_SUB: for (int i = 0; i < n; i++) r[i] = u[i] - v[i]; break;
	case RN_MUL: for (int i = 0; i < n; i++) r[i] = u[i] * v[i]; break;
	case RN_DIV: for (int i = 0; i < n; i++) r[i] = u[i] / v[i]; break;
	case RN_MAX:
		for (int i = 0; i < n; i++)
			r[i] = u[i] > v[i] || u[i] != u[i] ? u[i] : v[i];
		break;
	case RN_MIN:
		for (int i = 0; i < n; i++)
			r[i] = u[i] < v[i] || u[i] != u[i] ? u[i] : v[i];
		break;
	default: /* RN_PRELU */
		for (int i = 0; i < n; i++)
			r[i] = u[i] < 0.0f ? u[i] * v[i] : u[i];
		break;
	}
}

static void combine_f64(int op, int n, const double *u, const double *v, double *r)
{
	switch (op) {
	case RN_ADD: for (int i = 0; i < n; i++) r[i] = u[i] + v[i]; break;
	case RN_SUB: for (int i = 0; i < n; i++) r[i] = u[i] - v[i]; break;
	case RN_MUL: for (int i = 0; i < n; i++) r[i] = u[i] * v[i]; break;
	case RN_DIV: for (int i = 0; i < n; i++) r[i] = u[i] / v[i]; break;
	case RN_MAX:
		for (int i = 0; i < n; i++)
			r[i] = u[i] > v[i] || u[i] != u[i] ? u[i] : v[i];
		break;
	case RN_MIN:
		for (int i = 0; i < n; i++)
			r[i] = u[i] < v[i] || u[i] != u[i] ? u[i] : v[i];
		break;
	default:
		for (int i = 0; i < n; i++)
			r[i] = u[i] < 0.0 ? u[i] * v[i] : u[i];
		break;
	}
}

/* Integers: T the type, UT an unsigned type at least as wide as int that
 * the arithmetic wraps in, SIGNED whether T is signed. */
#define COMBINE_INT(NAME, T, UT, SIGNED) \
	static int NAME(int op, int n, const T *u, const T *v, T *r) \
	{ \
		switch (op) { \
		case RN_ADD: for (int i = 0; i < n; i++) r[i] = (T)((UT)u[i] + (UT)v[i]); break; \
		case RN_SUB: for (int i = 0; i < n; i++) r[i] = (T)((UT)u[i] - (UT)v[i]); break; \
		case RN_MUL: for (int i = 0; i < n; i++) r[i] = (T)((UT)u[i] * (UT)v[i]); break; \
		case RN_MAX: for (int i = 0; i < n; i++) r[i] = u[i] > v[i] ? u[i] : v[i]; break; \
		case RN_MIN: for (int i = 0; i < n; i++) r[i] = u[i] < v[i] ? u[i] : v[i]; break; \
		case RN_DIV: \
			for (int i = 0; i < n; i++) { \
				if (v[i] == 0) \
					return RN_E_DIVZERO; \
				if (SIGNED && v[i] == (T)-1) \
					r[i] = (T)(0u - (UT)u[i]); \
				else \
					r[i] = (T)(u[i] / v[i]); \
			} \
			break; \
		default: \
			return RN_E_UNSUPPORTED; \
		} \
		return RN_OK; \
	}

COMBINE_INT(combine_u8, uint8_t, unsigned, 0)
COMBINE_INT(combine_i8, int8_t, unsigned, 1)
COMBINE_INT(combine_u16, uint16_t, unsigned, 0)
COMBINE_INT(combine_i16, int16_t, unsigned, 1)
COMBINE_INT(combine_u32, uint32_t, uint32_t, 0)
COMBINE_INT(combine_i32, int32_t, uint32_t, 1)
COMBINE_INT(combine_u64, uint64_t, uint64_t, 0)
COMBINE_INT(combine_i64, int64_t, uint64_t, 1)
#undef COMBINE_INT

static int combine_bool(int op, int n, const uint8_t *u, const uint8_t *v, uint8_t *r)
{
	for (int i = 0; i < n; i++)
		r[i] = (uint8_t)(op == RN_MAX ? (u[i] | v[i]) : (u[i] & v[i]));
	return RN_OK;
}

/* ---- one row: n elements, operands stepping sa, sb elements ---- */

/* Copies n elements from x (stride s: 0 broadcasts, 1 is contiguous). */
static RN_INLINE void gather(size_t es, int n, const char *x, int64_t s, char *dst)
{
	if (s == 1) {
		rn_memcpy(dst, x, (size_t)n * es);
	} else if (s == 0) {
		for (int i = 0; i < n; i++)
			rn_memcpy(dst + (size_t)i * es, x, es);
	} else {
		for (int i = 0; i < n; i++)
			rn_memcpy(dst + (size_t)i * es, x + (int64_t)i * s * (int64_t)es, es);
	}
}

static void row_f32(int op, int64_t n, const float *a, int64_t sa, const float *b,
		    int64_t sb, float *y)
{
	float u[BLK], v[BLK], r[BLK];
	/* a broadcast operand fills its block once */
	for (int j = 0; j < BLK; j++) {
		u[j] = sa == 0 ? a[0] : 0.0f;
		v[j] = sb == 0 ? b[0] : 0.0f;
	}
	for (int64_t i = 0; i < n; i += BLK) {
		int m = n - i < BLK ? (int)(n - i) : BLK;
		if (sa != 0)
			gather(sizeof(float), m, (const char *)(a + i * sa), sa, (char *)u);
		if (sb != 0)
			gather(sizeof(float), m, (const char *)(b + i * sb), sb, (char *)v);
		if (m == BLK)
			combine_f32(op, BLK, u, v, r); /* constant count: vectorizes */
		else
			combine_f32(op, m, u, v, r);
		rn_memcpy(y + i, r, (size_t)m * sizeof(float));
	}
}

/* float16 / bfloat16: widen a block to float, combine, round back. */
static void row_half(int op, int bf, int64_t n, const uint16_t *a, int64_t sa,
		     const uint16_t *b, int64_t sb, uint16_t *y)
{
	float u[BLK], v[BLK], r[BLK];
	for (int64_t i = 0; i < n; i += BLK) {
		int m = n - i < BLK ? (int)(n - i) : BLK;
		for (int j = 0; j < m; j++) {
			uint16_t ha = a[(i + j) * sa], hb = b[(i + j) * sb];
			u[j] = bf ? rn_bf16_to_f32(ha) : rn_f16_to_f32(ha);
			v[j] = bf ? rn_bf16_to_f32(hb) : rn_f16_to_f32(hb);
		}
		combine_f32(op, m, u, v, r);
		for (int j = 0; j < m; j++)
			y[i + j] = bf ? rn_f32_to_bf16(r[j]) : rn_f32_to_f16(r[j]);
	}
}

/* Every other type, through byte buffers large enough for BLK int64s. */
static int row_other(int op, int dtype, int64_t n, const char *a, int64_t sa,
		     const char *b, int64_t sb, char *y)
{
	size_t es = rn_dtype_size(dtype);
	_Alignas(8) char u[BLK * 8], v[BLK * 8], r[BLK * 8];
	if (sa == 0)
		gather(es, BLK, a, 0, u);
	if (sb == 0)
		gather(es, BLK, b, 0, v);
	for (int64_t i = 0; i < n; i += BLK) {
		int m = n - i < BLK ? (int)(n - i) : BLK;
		int rc = RN_OK;
		if (sa != 0)
			gather(es, m, a + i * sa * (int64_t)es, sa, u);
		if (sb != 0)
			gather(es, m, b + i * sb * (int64_t)es, sb, v);
		switch (dtype) {
		case RN_F64:
			combine_f64(op, m, (double *)u, (double *)v, (double *)r);
			break;
		case RN_U8: rc = combine_u8(op, m, (uint8_t *)u, (uint8_t *)v, (uint8_t *)r); break;
		case RN_I8: rc = combine_i8(op, m, (int8_t *)u, (int8_t *)v, (int8_t *)r); break;
		case RN_U16: rc = combine_u16(op, m, (uint16_t *)u, (uint16_t *)v, (uint16_t *)r); break;
		case RN_I16: rc = combine_i16(op, m, (int16_t *)u, (int16_t *)v, (int16_t *)r); break;
		case RN_U32: rc = combine_u32(op, m, (uint32_t *)u, (uint32_t *)v, (uint32_t *)r); break;
		case RN_I32: rc = combine_i32(op, m, (int32_t *)u, (int32_t *)v, (int32_t *)r); break;
		case RN_U64: rc = combine_u64(op, m, (uint64_t *)u, (uint64_t *)v, (uint64_t *)r); break;
		case RN_I64: rc = combine_i64(op, m, (int64_t *)u, (int64_t *)v, (int64_t *)r); break;
		default: rc = combine_bool(op, m, (uint8_t *)u, (uint8_t *)v, (uint8_t *)r); break;
		}
		if (rc != RN_OK)
			return rc;
		rn_memcpy(y + i * (int64_t)es, r, (size_t)m * es);
	}
	return RN_OK;
}

static int supported(int op, int dtype)
{
	if (op < RN_ADD || op > RN_PRELU || rn_dtype_size(dtype) == 0)
		return 0;
	switch (dtype) {
	case RN_F32: case RN_F64: case RN_F16: case RN_BF16:
		return 1;
	case RN_BOOL:
		return op == RN_MAX || op == RN_MIN;
	default:
		return op != RN_PRELU;
	}
}

int rn_binary(const rn_binary_params *p, const void *a, const void *b, void *y)
{
	if (!supported(p->op, p->dtype))
		return RN_E_UNSUPPORTED;
	/* Collapse axes, innermost first: drop size-1 axes, merge an axis into
	 * the one inside it when both operands stay contiguous across them. */
	int64_t dims[RN_MAX_RANK], sa[RN_MAX_RANK], sb[RN_MAX_RANK];
	int r = 0; /* collapsed axes, stored innermost first */
	for (int i = p->rank - 1; i >= 0; i--) {
		if (p->dims[i] == 0)
			return RN_OK;
		if (p->dims[i] == 1)
			continue;
		if (r > 0 && p->sa[i] == sa[r - 1] * dims[r - 1] &&
		    p->sb[i] == sb[r - 1] * dims[r - 1]) {
			dims[r - 1] *= p->dims[i];
			continue;
		}
		dims[r] = p->dims[i];
		sa[r] = p->sa[i];
		sb[r] = p->sb[i];
		r++;
	}
	if (r == 0) { /* a single element */
		dims[0] = 1;
		sa[0] = sb[0] = 0;
		r = 1;
	}
	size_t es = rn_dtype_size(p->dtype);
	int64_t n = dims[0], rows = 1;
	for (int i = 1; i < r; i++)
		rows *= dims[i];
	int64_t idx[RN_MAX_RANK] = {0};
	int64_t oa = 0, ob = 0;
	for (int64_t row = 0; row < rows; row++) {
		const char *ar = (const char *)a + oa * (int64_t)es;
		const char *br = (const char *)b + ob * (int64_t)es;
		char *yr = (char *)y + row * n * (int64_t)es;
		int rc = RN_OK;
		if (p->dtype == RN_F32)
			row_f32(p->op, n, (const float *)ar, sa[0], (const float *)br, sb[0],
				(float *)yr);
		else if (p->dtype == RN_F16 || p->dtype == RN_BF16)
			row_half(p->op, p->dtype == RN_BF16, n, (const uint16_t *)ar, sa[0],
				 (const uint16_t *)br, sb[0], (uint16_t *)yr);
		else
			rc = row_other(p->op, p->dtype, n, ar, sa[0], br, sb[0], yr);
		if (rc != RN_OK)
			return rc;
		/* next row: odometer over the outer collapsed axes */
		for (int i = 1; i < r; i++) {
			oa += sa[i];
			ob += sb[i];
			if (++idx[i] < dims[i])
				break;
			oa -= sa[i] * dims[i];
			ob -= sb[i] * dims[i];
			idx[i] = 0;
		}
	}
	return RN_OK;
}
