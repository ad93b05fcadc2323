/*
 * ConvInteger, QLinearConv, MatMulInteger and QLinearMatMul with every
 * scale and zero point read at run time (the contract: runtime.h). These
 * are the general, straightforward forms; quantized networks run the packed
 * kernels (qconv_packed.c) the compiler selects when the quantization
 * parameters are constants.
 */
#include "../core/internal.h"
#include "quant_internal.h"

/* Stores one accumulator as the output type asks (alpha: QGemm's). */
static void finish_alpha(const rn_qlinear_params *q, float alpha, int64_t acc, const float *x_scale, int64_t xi,
			 const float *w_scale, int64_t wi, const float *y_scale, const void *y_zp, void *y,
			 int64_t at)
{
	if (q->y_dtype == RN_I32) {
		((int32_t *)y)[at] = (int32_t)acc;
		return;
	}
	float sxw = x_scale[q->x_scale_n > 1 ? xi : 0] * w_scale[q->w_scale_n > 1 ? wi : 0];
	if (alpha != 1.0f)
		sxw *= alpha;
	if (q->y_dtype == RN_F32) {
		((float *)y)[at] = (float)(int32_t)acc * sxw;
		return;
	}
	int lo = 0, hi = 0;
	rn_qrange(q->y_dtype, &lo, &hi);
	float mult = sxw / y_scale[0];
	int zp = rn_qload(q->y_dtype, y_zp, 0);
	rn_qstore(q->y_dtype, y, at, rn_qsaturate((float)(int32_t)acc * mult, zp, lo, hi));
}

static void finish(const rn_qlinear_params *q, int64_t acc, const float *x_scale, int64_t xi,
		   const float *w_scale, int64_t wi, const float *y_scale, const void *y_zp, void *y,
		   int64_t at)
{
	finish_alpha(q, 1.0f, acc, x_scale, xi, w_scale, wi, y_scale, y_zp, y, at);
}

void rn_qlinear_conv2d(const rn_conv2d_params *p, const rn_qlinear_params *q, const void *x,
		       const void *x_zp, const void *w, const void *w_zp, const int32_t *bias,
		       const float *x_scale, const float *w_scale, const float *y_scale,
		       const void *y_zp, void *y)
{
	int cg = p->c / p->group, mg = p->m / p->group;
	int xz = rn_qload(q->x_dtype, x_zp, 0);
	for (int n = 0; n < p->n; n++)
		for (int m = 0; m < p->m; m++) {
			int g = m / mg;
			int wz = rn_qload(q->w_dtype, w_zp, q->w_zp_n > 1 ? m : 0);
			for (int oy = 0; oy < p->oh; oy++)
				for (int ox = 0; ox < p->ow; ox++) {
					int64_t acc = bias ? bias[m] : 0;
					for (int c = 0; c < cg; c++)
						for (int ky = 0; ky < p->kh; ky++) {
							int iy = oy * p->sh - p->pt + ky * p->dh;
							if (iy < 0 || iy >= p->h)
								continue;
							for (int kx = 0; kx < p->kw; kx++) {
								int ix = ox * p->sw - p->pl + kx * p->dw;
								if (ix < 0 || ix >= p->w)
									continue;
								int64_t xo = (((int64_t)n * p->c + g * cg + c) * p->h + iy) * p->w + ix;
								int64_t wo = (((int64_t)m * cg + c) * p->kh + ky) * p->kw + kx;
								acc += (int64_t)(rn_qload(q->x_dtype, x, xo) - xz) *
								       (rn_qload(q->w_dtype, w, wo) - wz);
							}
						}
					int64_t at = (((int64_t)n * p->m + m) * p->oh + oy) * p->ow + ox;
					finish(q, acc, x_scale, 0, w_scale, m, y_scale, y_zp, y, at);
				}
		}
}

#if defined(__AVX2__) && !defined(RN_GENERIC)
#include <immintrin.h>
/* acc[j] += sum over k of (a[k] - az) * b[k * n + j] for j < nj (<= RN_QROW
 * columns), int8 b, b's rows streamed in order (each row's nj bytes once:
 * a fully connected layer's weights come from memory): per pair of rows,
 * per 16 columns, both rows sign-extended to int16 and interleaved, so
 * that vpmaddwd with the pair (a[k] - az, a[k + 1] - az) sums the two
 * products in int32 (exact: |a - az| <= 255). The sums live in s, the
 * columns of each 16 in the order (0-3, 8-11), (4-7, 12-15), put back at
 * the end; the last nj % 16 columns are summed one by one. */
enum { RN_QROW = 1024 };

static RN_INLINE int qrow_a(const rn_qlinear_params *q, const uint8_t *a, int64_t k, int64_t kk, int az)
{
	if (k >= kk)
		return 0;
	return (q->x_dtype == RN_I8 ? (int)(int8_t)a[k] : (int)a[k]) - az;
}

static void qrow_i8_avx2(const rn_matmul_params *p, const rn_qlinear_params *q, const uint8_t *a, int az,
			 const int8_t *b, int64_t nj, int32_t *acc)
{
	__m256i s[RN_QROW / 8];
	const int64_t n = p->n, kk = p->k, groups = nj / 16;
	for (int64_t g = 0; g < 2 * groups; g++)
		s[g] = _mm256_setzero_si256();
	for (int64_t k = 0; k < kk; k += 2) {
		const int a0 = qrow_a(q, a, k, kk, az), a1 = qrow_a(q, a, k + 1, kk, az);
		const __m256i av = _mm256_set1_epi32((int)(((uint32_t)(uint16_t)a1 << 16) | (uint16_t)a0));
		const int8_t *b0 = b + k * n, *b1 = k + 1 < kk ? b0 + n : NULL;
		if (b1) {
			for (int64_t g = 0; g < groups; g++) {
				const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * g)));
				const __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b1 + 16 * g)));
				s[2 * g] = _mm256_add_epi32(s[2 * g], _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), av));
				s[2 * g + 1] = _mm256_add_epi32(s[2 * g + 1], _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), av));
			}
			for (int64_t j = 16 * groups; j < nj; j++)
				acc[j] += a0 * b0[j] + a1 * b1[j];
		} else {
			for (int64_t g = 0; g < groups; g++) {
				const __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b0 + 16 * g)));
				const __m256i z = _mm256_setzero_si256();
				s[2 * g] = _mm256_add_epi32(s[2 * g], _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, z), av));
				s[2 * g + 1] = _mm256_add_epi32(s[2 * g + 1], _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, z), av));
			}
			for (int64_t j = 16 * groups; j < nj; j++)
				acc[j] += a0 * b0[j];
		}
	}
	for (int64_t g = 0; g < groups; g++) {
		int32_t *d = acc + 16 * g;
		const __m256i lo = _mm256_permute2x128_si256(s[2 * g], s[2 * g + 1], 0x20);
		const __m256i hi = _mm256_permute2x128_si256(s[2 * g], s[2 * g + 1], 0x31);
		_mm256_storeu_si256((__m256i *)d, _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)d), lo));
		_mm256_storeu_si256((__m256i *)(d + 8), _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(d + 8)), hi));
	}
}
#endif

/* One unbatched product, row by row with the rows of B streamed (a fully
 * connected layer: the columns vectorize). COLS accumulators at a time. */
#if defined(__AVX2__) && !defined(RN_GENERIC)
#define COLS RN_QROW /* whole rows of a fully connected layer's b */
#else
#define COLS 256
#endif
static void qmatmul_rows(const rn_matmul_params *p, const rn_qlinear_params *q, float alpha, const void *a,
			 const void *a_zp, const void *b, const void *b_zp, const int32_t *bias,
			 const float *a_scale, const float *b_scale, const float *y_scale, const void *y_zp,
			 void *y)
{
	int32_t acc[COLS], bz[COLS];
	for (int64_t j0 = 0; j0 < p->n; j0 += COLS) {
		int64_t nj = p->n - j0 < COLS ? p->n - j0 : COLS;
		for (int64_t j = 0; j < nj; j++)
			bz[j] = rn_qload(q->w_dtype, b_zp, q->w_zp_n > 1 ? j0 + j : 0);
		for (int64_t i = 0; i < p->m; i++) {
			int az = rn_qload(q->x_dtype, a_zp, q->x_zp_n > 1 ? i : 0);
			for (int64_t j = 0; j < nj; j++)
				acc[j] = bias ? bias[j0 + j] : 0;
			/* sum av * b, then less bz * sum av (one loop the compiler
			 * vectorizes: a whole chunk has a constant trip count) */
			int32_t asum = 0;
#if defined(__AVX2__) && !defined(RN_GENERIC)
			if (q->w_dtype == RN_I8) {
				qrow_i8_avx2(p, q, (const uint8_t *)a + i * p->k, az, (const int8_t *)b + j0, nj, acc);
				for (int64_t k = 0; k < p->k; k++)
					asum += rn_qload(q->x_dtype, a, i * p->k + k) - az;
			}
			for (int64_t k = 0; q->w_dtype != RN_I8 && k < p->k; k++) {
#else
			for (int64_t k = 0; k < p->k; k++) {
#endif
				int32_t av = rn_qload(q->x_dtype, a, i * p->k + k) - az;
				if (!av)
					continue;
				asum += av;
				if (q->w_dtype == RN_I8) {
					const int8_t *br = (const int8_t *)b + k * p->n + j0;
					if (nj == COLS)
						for (int j = 0; j < COLS; j++)
							acc[j] += av * br[j];
					else
						for (int64_t j = 0; j < nj; j++)
							acc[j] += av * br[j];
				} else {
					const uint8_t *br = (const uint8_t *)b + k * p->n + j0;
					if (nj == COLS)
						for (int j = 0; j < COLS; j++)
							acc[j] += av * br[j];
					else
						for (int64_t j = 0; j < nj; j++)
							acc[j] += av * br[j];
				}
			}
			for (int64_t j = 0; j < nj; j++)
				acc[j] -= bz[j] * asum;
			for (int64_t j = 0; j < nj; j++)
				finish_alpha(q, alpha, acc[j], a_scale, i, b_scale, j0 + j, y_scale, y_zp, y,
					     i * p->n + j0 + j);
		}
	}
}

static void qmatmul(const rn_matmul_params *p, const rn_qlinear_params *q, float alpha, const void *a,
		    const void *a_zp, const void *b, const void *b_zp, const int32_t *bias, const float *a_scale,
		    const float *b_scale, const float *y_scale, const void *y_zp, void *y)
{
	/* int32 sums are exact when K * 255 * 255 fits (K < 33025) */
	if (p->batch_rank == 0 && p->k < 33025) {
		qmatmul_rows(p, q, alpha, a, a_zp, b, b_zp, bias, a_scale, b_scale, y_scale, y_zp, y);
		return;
	}
	int64_t idx[RN_MAX_RANK] = {0};
	int64_t total = 1;
	for (int d = 0; d < p->batch_rank; d++)
		total *= p->batch[d];
	for (int64_t t = 0; t < total; t++) {
		int64_t oa = 0, ob = 0;
		for (int d = 0; d < p->batch_rank; d++) {
			oa += idx[d] * p->sa[d];
			ob += idx[d] * p->sb[d];
		}
		for (int64_t i = 0; i < p->m; i++) {
			int az = rn_qload(q->x_dtype, a_zp, q->x_zp_n > 1 ? i : 0);
			for (int64_t j = 0; j < p->n; j++) {
				int bz = rn_qload(q->w_dtype, b_zp, q->w_zp_n > 1 ? j : 0);
				int64_t acc = bias ? bias[j] : 0;
				for (int64_t k = 0; k < p->k; k++)
					acc += (int64_t)(rn_qload(q->x_dtype, a, oa + i * p->k + k) - az) *
					       (rn_qload(q->w_dtype, b, ob + k * p->n + j) - bz);
				finish_alpha(q, alpha, acc, a_scale, i, b_scale, j, y_scale, y_zp, y,
					     (t * p->m + i) * p->n + j);
			}
		}
		for (int d = p->batch_rank - 1; d >= 0; d--) {
			if (++idx[d] < p->batch[d])
				break;
			idx[d] = 0;
		}
	}
}

void rn_qlinear_matmul(const rn_matmul_params *p, const rn_qlinear_params *q, const void *a,
		       const void *a_zp, const void *b, const void *b_zp, const float *a_scale,
		       const float *b_scale, const float *y_scale, const void *y_zp, void *y)
{
	qmatmul(p, q, 1.0f, a, a_zp, b, b_zp, NULL, a_scale, b_scale, y_scale, y_zp, y);
}

void rn_qgemm(const rn_matmul_params *p, const rn_qlinear_params *q, float alpha, const void *a,
	      const void *a_zp, const void *b, const void *b_zp, const int32_t *bias, const float *a_scale,
	      const float *b_scale, const float *y_scale, const void *y_zp, void *y)
{
	qmatmul(p, q, alpha, a, a_zp, b, b_zp, bias, a_scale, b_scale, y_scale, y_zp, y);
}
