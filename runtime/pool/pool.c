/*
 * Pooling: MaxPool and AveragePool over 1 to 3 spatial dims, with
 * MaxPool's Indices (GlobalAveragePool, GlobalMaxPool and ReduceMean:
 * reduce.c, a file a model without windowed pools builds alone).
 *
 * Windows are clipped to the input per dimension before the taps are
 * visited, so padding costs nothing and never wins a max. A 1-D or 2-D
 * pool is the 3-D pool with leading dims of size 1. Float MaxPool over 1-D
 * or 2-D planes without Indices (the ResNet stem's) has its own row-wise
 * path; every pool splits its planes over the thread pool. Means
 * accumulate in double.
 */
#include "../core/internal.h"

#if defined(__AVX512F__) && !defined(RN_GENERIC)
#include <immintrin.h>
#endif
/* uint8 max on 16 bytes at a time: SSE2 where the build has AVX2 (as the
 * other x86 kernels, so that a plain x86-64 build includes no intrinsics
 * header: they pull in stdlib.h, which freestanding builds lack), or NEON */
#if defined(__AVX2__) && !defined(RN_GENERIC)
#include <immintrin.h>
#define U8_SSE2 1
#elif defined(__ARM_NEON) && !defined(RN_GENERIC)
#include <arm_neon.h>
#define U8_NEON 1
#endif

typedef struct {
	int64_t in[3], out[3];
	int k[3], s[3], d[3], pb[3], pe[3];
} pool_dims;

/* Taps t in [lo, hi) of the window at o read inside [0, in). */
static void window(const pool_dims *g, int dim, int64_t o, int *lo, int *hi)
{
	int64_t start = o * g->s[dim] - g->pb[dim];
	int d = g->d[dim], k = g->k[dim];
	int64_t a, b;
	if (d == 1) { /* no divisions (the row-wise MaxPool calls this per row) */
		a = start >= 0 ? 0 : -start;
		b = g->in[dim] - start <= 0 ? 0 : g->in[dim] - start;
	} else {
		a = start >= 0 ? 0 : (-start + d - 1) / d;
		b = g->in[dim] - start <= 0 ? 0 : (g->in[dim] - start - 1) / d + 1;
	}
	*lo = (int)(a < k ? a : k);
	*hi = (int)(b < k ? b : k);
	if (*hi < *lo)
		*hi = *lo;
}

/* Taps of the window at o inside [-pad_begin, in + pad_end): the
 * count_include_pad divisor, which ceil_mode windows can exceed. */
static int64_t padded_taps(const pool_dims *g, int dim, int64_t o)
{
	int64_t start = o * g->s[dim] - g->pb[dim];
	int64_t n = 0;
	for (int t = 0; t < g->k[dim]; t++) {
		int64_t i = start + (int64_t)t * g->d[dim];
		n += i >= -g->pb[dim] && i < g->in[dim] + g->pe[dim];
	}
	return n;
}

/* Flat spatial index of (i0, i1, i2), row- or column-major. */
static int64_t spatial_index(const pool_dims *g, int col_major, int64_t i0, int64_t i1,
			     int64_t i2)
{
	if (col_major)
		return i0 + i1 * g->in[0] + i2 * g->in[0] * g->in[1];
	return (i0 * g->in[1] + i1) * g->in[2] + i2;
}

/* One output position: the clipped tap ranges and the window origin. */
typedef struct {
	int lo[3], hi[3];
	int64_t base[3];
} window_taps;

static float avg_window(const pool_dims *g, const window_taps *w, const float *x,
			int64_t count)
{
	double sum = 0.0;
	for (int t0 = w->lo[0]; t0 < w->hi[0]; t0++) {
		int64_t i0 = w->base[0] + (int64_t)t0 * g->d[0];
		for (int t1 = w->lo[1]; t1 < w->hi[1]; t1++) {
			int64_t i1 = w->base[1] + (int64_t)t1 * g->d[1];
			const float *row = x + (i0 * g->in[1] + i1) * g->in[2] + w->base[2];
			for (int t2 = w->lo[2]; t2 < w->hi[2]; t2++)
				sum += row[(int64_t)t2 * g->d[2]];
		}
	}
	return count > 0 ? (float)(sum / (double)count) : 0.0f;
}

/* A quantized average: the sum of x - x_zp over the window's taps. */
static int64_t qsum_window(const pool_dims *g, const window_taps *w, const void *x, int is_i8, int x_zp)
{
	int64_t sum = 0;
	for (int t0 = w->lo[0]; t0 < w->hi[0]; t0++) {
		int64_t i0 = w->base[0] + (int64_t)t0 * g->d[0];
		for (int t1 = w->lo[1]; t1 < w->hi[1]; t1++) {
			int64_t i1 = w->base[1] + (int64_t)t1 * g->d[1];
			int64_t row = (i0 * g->in[1] + i1) * g->in[2] + w->base[2];
			for (int t2 = w->lo[2]; t2 < w->hi[2]; t2++) {
				int64_t i = row + (int64_t)t2 * g->d[2];
				sum += (is_i8 ? ((const int8_t *)x)[i] : ((const uint8_t *)x)[i]) - x_zp;
			}
		}
	}
	return sum;
}

/* The first maximum in window order wins, as in ONNX's reference; *at gets
 * its spatial coordinates. Returns 0 if the window has no valid tap. */
static int max_window(const pool_dims *g, const window_taps *w, const float *xf,
		      const uint8_t *xu, float *best, uint8_t *bestu, int64_t at[3])
{
	int found = 0;
	for (int t0 = w->lo[0]; t0 < w->hi[0]; t0++) {
		int64_t i0 = w->base[0] + (int64_t)t0 * g->d[0];
		for (int t1 = w->lo[1]; t1 < w->hi[1]; t1++) {
			int64_t i1 = w->base[1] + (int64_t)t1 * g->d[1];
			int64_t row = (i0 * g->in[1] + i1) * g->in[2];
			for (int t2 = w->lo[2]; t2 < w->hi[2]; t2++) {
				int64_t i2 = w->base[2] + (int64_t)t2 * g->d[2];
				int better;
				if (xu) {
					better = !found || xu[row + i2] > *bestu;
					if (better)
						*bestu = xu[row + i2];
				} else {
					better = !found || xf[row + i2] > *best;
					if (better)
						*best = xf[row + i2];
				}
				if (better) {
					found = 1;
					at[0] = i0;
					at[1] = i1;
					at[2] = i2;
				}
			}
		}
	}
	return found;
}

/* The general pool over planes [c0, c1): any rank, dilation, dtype, with
 * indices. */
static void pool_general(const rn_pool_params *p, const pool_dims *gp, const void *x, void *y,
			 int64_t *indices, int64_t c0, int64_t c1)
{
	pool_dims g = *gp;
	int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
	int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
	int is_u8 = p->kind == RN_POOL_MAX && p->dtype == RN_U8;
	int q_avg = p->kind == RN_POOL_AVG && (p->dtype == RN_U8 || p->dtype == RN_I8);
	int lo = p->dtype == RN_I8 ? -128 : 0, hi = p->dtype == RN_I8 ? 127 : 255;
	for (int64_t c = c0; c < c1; c++) {
		const float *xf = is_u8 || q_avg ? NULL : (const float *)x + c * in_plane;
		const uint8_t *xu = is_u8 || q_avg ? (const uint8_t *)x + c * in_plane : NULL;
		int64_t yo = c * out_plane;
		int64_t o[3];
		window_taps w;
		for (o[0] = 0; o[0] < g.out[0]; o[0]++)
		for (o[1] = 0; o[1] < g.out[1]; o[1]++)
		for (o[2] = 0; o[2] < g.out[2]; o[2]++, yo++) {
			for (int i = 0; i < 3; i++) {
				window(&g, i, o[i], &w.lo[i], &w.hi[i]);
				w.base[i] = o[i] * g.s[i] - g.pb[i];
			}
			if (p->kind == RN_POOL_AVG) {
				int64_t count = 1;
				for (int i = 0; i < 3; i++)
					count *= p->count_include_pad ? padded_taps(&g, i, o[i])
								      : w.hi[i] - w.lo[i];
				if (q_avg) {
					double v = count > 0 ? (double)qsum_window(&g, &w, xu, p->dtype == RN_I8, p->x_zp) /
								       (double)count * p->q_mult : 0.0;
					v = v > lo - p->y_zp ? v : lo - p->y_zp;
					v = v < hi - p->y_zp ? v : hi - p->y_zp;
					int q = (int)nearbyint(v) + p->y_zp;
					if (p->dtype == RN_I8)
						((int8_t *)y)[yo] = (int8_t)q;
					else
						((uint8_t *)y)[yo] = (uint8_t)q;
					continue;
				}
				((float *)y)[yo] = avg_window(&g, &w, xf, count);
				continue;
			}
			/* no valid tap cannot happen for a well-formed MaxPool; the
			 * reference leaves 0 and index -1 there */
			float best = 0.0f;
			uint8_t bestu = 0;
			int64_t at[3] = {0, 0, 0};
			int found = max_window(&g, &w, xf, xu, &best, &bestu, at);
			if (is_u8)
				((uint8_t *)y)[yo] = bestu;
			else
				((float *)y)[yo] = best;
			if (indices)
				indices[yo] = found ? c * in_plane + spatial_index(&g, p->storage_order == 1,
										   at[0], at[1], at[2])
						    : -1;
		}
	}
}

/* Output o of a row whose window may reach past the row's ends: only the
 * taps inside it (none: 0, as in the general path). */
static void maxpool_edge(const pool_dims *g, const float *xr, float *yr, int first, int64_t o)
{
	int lo, hi;
	window(g, 2, o, &lo, &hi);
	if (lo >= hi) {
		if (first)
			yr[o] = 0.0f;
		return;
	}
	const float *t = xr + o * g->s[2] - g->pb[2];
	float m = first ? t[lo] : yr[o];
	for (int j = lo; j < hi; j++)
		m = t[j] > m ? t[j] : m;
	yr[o] = m;
}

#if defined(__AVX512F__) && !defined(RN_GENERIC)
/* The lowest n lanes (none if n <= 0, all if n >= 16). */
static inline __mmask16 low_mask(int n)
{
	return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}
#endif

/* One input row xr of a float MaxPool over 2-D planes with dilation 1,
 * scanned into the output row yr (first: the window's first row, which
 * starts the scan). Each window's taps are visited row by row in the
 * reference's order, continuing from the value so far, and only a greater
 * tap replaces it, so the value is the reference's, signed zeros and NaN
 * included. */
static void maxpool_row(const pool_dims *g, const float *xr, float *yr, int first, int64_t o0,
			int64_t o1)
{
	int64_t ow = g->out[2];
	int k = g->k[2], s = g->s[2], pl = g->pb[2];
	for (int64_t o = 0; o < o0; o++)
		maxpool_edge(g, xr, yr, first, o);
	const float *b = xr + o0 * s - pl;
	int64_t n = o1 - o0;
	float *d = yr + o0;
	for (int64_t i = 0; i < n; i++) {
		const float *t = b + i * s;
		float m = first ? t[0] : d[i];
		for (int j = 0; j < k; j++)
			m = t[j] > m ? t[j] : m;
		d[i] = m;
	}
	for (int64_t o = o1; o < ow; o++)
		maxpool_edge(g, xr, yr, first, o);
}

/* Output o of maxpool_3x3s2_row whose window reaches past the row's ends:
 * maxpool_edge over its rows, the window clipped once. */
static void maxpool_3x3s2_edge(const pool_dims *g, const float *const xr[3], int nr, float *yr,
			       int64_t o)
{
	int lo, hi;
	window(g, 2, o, &lo, &hi);
	if (lo >= hi) {
		yr[o] = 0.0f;
		return;
	}
	int64_t start = o * 2 - g->pb[2];
	float m = xr[0][start + lo];
	for (int r = 0; r < nr; r++)
		for (int j = lo; j < hi; j++)
			m = xr[r][start + j] > m ? xr[r][start + j] : m;
	yr[o] = m;
}

/* The ResNet stem's pool, 3x3 stride 2, for an output row whose window
 * has rows (nr of them, 1 to 3) xr[0..nr): the interior outputs take all
 * of their taps in one pass, in the reference's order (row by row, left
 * to right; only a greater tap replaces the value so far), the edges as in
 * maxpool_row. */
static void maxpool_3x3s2_row(const pool_dims *g, const float *const xr[3], int nr, float *yr,
			      int64_t o0, int64_t o1)
{
	int64_t ow = g->out[2], n = o1 - o0;
	int pl = g->pb[2];
	for (int64_t o = 0; o < o0; o++)
		maxpool_3x3s2_edge(g, xr, nr, yr, o);
	float *d = yr + o0;
	int64_t i = 0;
#if defined(__AVX512F__) && !defined(RN_GENERIC)
	/* 16 outputs read b[2i .. 2i + 32] of each row: even, odd and the next
	 * even taps gathered from two pairs of loads; the last 1-15 outputs
	 * with masked loads reading no further than b[2n] */
	const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
					     28, 30);
	const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
	for (; i < n; i += 16) {
		int rem = n - i < 16 ? (int)(n - i) : 16, need = 2 * rem + 1;
		__m512 m = _mm512_setzero_ps();
		for (int r = 0; r < nr; r++) {
			const float *t = xr[r] + o0 * 2 - pl + 2 * i;
			__m512 lo = _mm512_maskz_loadu_ps(low_mask(need), t);
			__m512 hi = _mm512_maskz_loadu_ps(low_mask(need - 16), t + 16);
			__m512 lo2 = _mm512_maskz_loadu_ps(low_mask(need - 2), t + 2);
			__m512 hi2 = _mm512_maskz_loadu_ps(low_mask(need - 18), t + 18);
			__m512 t0 = _mm512_permutex2var_ps(lo, ev, hi);
			/* m = tap > m ? tap : m: vmaxps returns its second operand
			 * unless the first is greater (NaN, equal zeros) */
			m = r == 0 ? t0 : _mm512_max_ps(t0, m);
			m = _mm512_max_ps(_mm512_permutex2var_ps(lo, od, hi), m);
			m = _mm512_max_ps(_mm512_permutex2var_ps(lo2, ev, hi2), m);
		}
		_mm512_mask_storeu_ps(d + i, low_mask(rem), m);
	}
#endif
	for (; i < n; i++) {
		float m = 0.0f;
		for (int r = 0; r < nr; r++) {
			const float *t = xr[r] + o0 * 2 - pl + 2 * i;
			m = r == 0 || t[0] > m ? t[0] : m;
			m = t[1] > m ? t[1] : m;
			m = t[2] > m ? t[2] : m;
		}
		d[i] = m;
	}
	for (int64_t o = o1; o < ow; o++)
		maxpool_3x3s2_edge(g, xr, nr, yr, o);
}

/* Float MaxPool over 2-D planes [c0, c1), dilation 1, no indices. */
static void maxpool2d(const pool_dims *g, const float *x, float *y, int64_t c0, int64_t c1)
{
	int64_t hw = g->in[1] * g->in[2], ohw = g->out[1] * g->out[2];
	int64_t w = g->in[2], ow = g->out[2];
	int k = g->k[2], s = g->s[2], pl = g->pb[2];
	/* outputs [o0, o1) of a row have their whole window inside it */
	int64_t o0 = pl <= 0 ? 0 : (pl + s - 1) / s;
	int64_t o1 = w - k + pl < 0 ? 0 : (w - k + pl) / s + 1;
	o1 = o1 < ow ? o1 : ow;
	o0 = o0 < o1 ? o0 : o1;
	for (int64_t c = c0; c < c1; c++) {
		const float *xc = x + c * hw;
		for (int64_t o = 0; o < g->out[1]; o++) {
			float *yr = y + c * ohw + o * g->out[2];
			int lo, hi;
			window(g, 1, o, &lo, &hi);
			if (lo >= hi)
				rn_memset(yr, 0, sizeof(float) * (size_t)g->out[2]);
			if (k == 3 && s == 2 && g->k[1] == 3 && lo < hi) {
				const float *xr[3];
				for (int t = lo; t < hi; t++)
					xr[t - lo] = xc + (o * g->s[1] - g->pb[1] + t) * g->in[2];
				maxpool_3x3s2_row(g, xr, hi - lo, yr, o0, o1);
				continue;
			}
			for (int t = lo; t < hi; t++)
				maxpool_row(g, xc + (o * g->s[1] - g->pb[1] + t) * g->in[2], yr, t == lo, o0,
					    o1);
		}
	}
}

/* The widest uint8 row maxpool2d_u8 takes (a row buffer on the stack). */
#define U8_ROW_MAX 1024

/* dst[i] = max(dst[i], src[i]) for i < n. */
static void max_u8_into(uint8_t *dst, const uint8_t *src, int64_t n)
{
	int64_t i = 0;
#if defined(U8_SSE2)
	for (; i + 16 <= n; i += 16)
		_mm_storeu_si128((__m128i *)(dst + i), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(dst + i)),
								    _mm_loadu_si128((const __m128i *)(src + i))));
#elif defined(U8_NEON)
	for (; i + 16 <= n; i += 16)
		vst1q_u8(dst + i, vmaxq_u8(vld1q_u8(dst + i), vld1q_u8(src + i)));
#endif
	for (; i < n; i++)
		dst[i] = src[i] > dst[i] ? src[i] : dst[i];
}

/* uint8 MaxPool over 1-D or 2-D planes without dilation (the stem of a
 * quantized ResNet): per output row, the max of its window's rows, then
 * the max along each window of that row. */
static void maxpool2d_u8(const pool_dims *g, const uint8_t *x, uint8_t *y, int64_t c0, int64_t c1)
{
	int64_t hw = g->in[1] * g->in[2], w = g->in[2], ow = g->out[2];
	uint8_t row[U8_ROW_MAX];
	for (int64_t c = c0; c < c1; c++) {
		const uint8_t *xc = x + c * hw;
		for (int64_t o = 0; o < g->out[1]; o++) {
			uint8_t *yr = y + (c * g->out[1] + o) * ow;
			int lo, hi;
			window(g, 1, o, &lo, &hi);
			if (lo >= hi) {
				rn_memset(yr, 0, (size_t)ow);
				continue;
			}
			const uint8_t *r0 = xc + (o * g->s[1] - g->pb[1] + lo) * w;
			rn_memcpy(row, r0, (size_t)w);
			for (int t = lo + 1; t < hi; t++)
				max_u8_into(row, xc + (o * g->s[1] - g->pb[1] + t) * w, w);
			/* the columns whose window lies inside the row take no
			 * bounds; those at the edges, window()'s */
			int64_t s2 = g->s[2], k2 = g->k[2], pb = g->pb[2];
			int64_t in0 = (pb + s2 - 1) / s2, in1 = w >= k2 ? (w - k2 + pb) / s2 + 1 : 0;
			in1 = in1 < ow ? in1 : ow;
			in0 = in0 < in1 ? in0 : in1;
			for (int64_t ox = 0; ox < ow; ox++) {
				if (ox == in0 && in1 > in0) {
#if defined(U8_SSE2)
					if (k2 == 3 && s2 == 2) {
						/* the stem's 3x3/2, 16 at a time: the even and
						 * odd bytes of r[2ox...], and the even ones one
						 * further */
						const uint8_t *r = row - pb;
						const __m128i lo8 = _mm_set1_epi16(0x00ff);
						for (; ox + 16 <= in1 && 2 * ox + 34 - pb <= U8_ROW_MAX; ox += 16) {
							const uint8_t *a = r + 2 * ox;
							__m128i a0 = _mm_loadu_si128((const __m128i *)a);
							__m128i a1 = _mm_loadu_si128((const __m128i *)(a + 16));
							__m128i b0 = _mm_loadu_si128((const __m128i *)(a + 2));
							__m128i b1 = _mm_loadu_si128((const __m128i *)(a + 18));
							__m128i e = _mm_packus_epi16(_mm_and_si128(a0, lo8), _mm_and_si128(a1, lo8));
							__m128i od = _mm_packus_epi16(_mm_srli_epi16(a0, 8), _mm_srli_epi16(a1, 8));
							__m128i e2 = _mm_packus_epi16(_mm_and_si128(b0, lo8), _mm_and_si128(b1, lo8));
							_mm_storeu_si128((__m128i *)(yr + ox), _mm_max_epu8(_mm_max_epu8(e, od), e2));
						}
					}
#endif
					for (; ox < in1; ox++) {
						const uint8_t *r = row + ox * s2 - pb;
						uint8_t m = r[0];
						for (int64_t t = 1; t < k2; t++)
							m = r[t] > m ? r[t] : m;
						yr[ox] = m;
					}
					if (ox >= ow)
						break;
				}
				int a, b;
				window(g, 2, ox, &a, &b);
				int64_t base = ox * g->s[2] - g->pb[2];
				uint8_t m = 0;
				for (int t = a; t < b; t++)
					m = row[base + t] > m ? row[base + t] : m;
				yr[ox] = m;
			}
		}
	}
}

typedef struct {
	const rn_pool_params *p;
	pool_dims g;
	const void *x;
	void *y;
	int64_t *indices;
	int64_t parts;
	int fast;
} pool_job;

static void pool_task(void *ctx, int64_t t, int thread)
{
	const pool_job *J = ctx;
	int64_t nc = J->p->nc, c0 = nc * t / J->parts, c1 = nc * (t + 1) / J->parts;
	(void)thread;
	if (J->fast == 2)
		maxpool2d_u8(&J->g, J->x, J->y, c0, c1);
	else if (J->fast)
		maxpool2d(&J->g, J->x, J->y, c0, c1);
	else
		pool_general(J->p, &J->g, J->x, J->y, J->indices, c0, c1);
}

void rn_pool(const rn_pool_params *p, const void *x, void *y, int64_t *indices, rn_threadpool *tp)
{
	pool_job J = { .p = p, .x = x, .y = y, .indices = indices };
	for (int i = 0; i < 3; i++) {
		/* a 1-D or 2-D pool is the 3-D one with leading dims of size 1 */
		int src = i - (3 - p->nsp);
		int used = src >= 0;
		J.g.in[i] = used ? p->in[src] : 1;
		J.g.out[i] = used ? p->out[src] : 1;
		J.g.k[i] = used ? p->k[src] : 1;
		J.g.s[i] = used ? p->s[src] : 1;
		J.g.d[i] = used ? p->d[src] : 1;
		J.g.pb[i] = used ? p->pad_begin[src] : 0;
		J.g.pe[i] = used ? p->pad_end[src] : 0;
	}
	J.fast = p->kind == RN_POOL_MAX && p->dtype == RN_F32 && !indices && p->nsp <= 2 &&
		 J.g.d[1] == 1 && J.g.d[2] == 1;
	if (p->kind == RN_POOL_MAX && p->dtype == RN_U8 && !indices && p->nsp <= 2 && J.g.d[1] == 1 &&
	    J.g.d[2] == 1 && J.g.in[2] <= U8_ROW_MAX)
		J.fast = 2;
	int64_t threads = rn_threadpool_threads(tp);
	J.parts = p->nc < 4 * threads ? p->nc : 4 * threads;
	rn_parallel_for(tp, J.parts, pool_task, &J);
}
