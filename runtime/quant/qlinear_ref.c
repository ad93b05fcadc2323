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

/* QGemm's rows with vpdpbusd (qrow_i8_vnni) instead of qrow_i8_avx2 */
#if defined(__AVX2__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(RN_GENERIC)
#define QROW_VNNI 1
#else
#define QROW_VNNI 0
#endif

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

#if !QROW_VNNI
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
			const int ahead = k + 8 < kk; /* the rows 8 further on, on their way from memory */
			for (int64_t g = 0; g < groups; g++) {
				if (ahead && g % 4 == 0) {
					_mm_prefetch((const char *)(b0 + 8 * n + 16 * g), _MM_HINT_T0);
					_mm_prefetch((const char *)(b1 + 8 * n + 16 * g), _MM_HINT_T0);
				}
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
#endif /* the VNNI build has its own */
#endif

#if QROW_VNNI
enum { QROW_AHEAD = 2 }; /* quads of rows prefetched ahead */
/* The same sums with vpdpbusd: per 4 rows of b (each row's nj bytes
 * streamed once, as above), per 64 columns, the rows interleaved into
 * each column's 4 bytes by two rounds of unpacks (vector t of 128-bit
 * lane L holds columns 16 L + 4 t .. 16 L + 4 t + 3), times the 4
 * activations as unsigned bytes (int8 ones flipped to a + 128, their zero
 * point with them), and the same with 1s for the columns' weight sums:
 * sum (a - az) b = sum a b - az * sum b, exact in int32 (K < 33025).
 * The last 64 columns load masked. */
static RN_INLINE void qrow_vnni_quad(const int8_t *const r[4], int64_t blocks, __mmask64 lastm, __m512i av,
				     __m512i *s, __m512i *cs, int64_t ahead)
{
	const __m512i ones = _mm512_set1_epi8(1);
	for (int64_t g = 0; g < blocks; g++) {
		const __mmask64 m = g + 1 < blocks ? ~(__mmask64)0 : lastm;
		if (ahead) /* 4 * QROW_AHEAD rows further on: the rows of b stream from memory */
			for (int h = 0; h < 4; h++)
				_mm_prefetch((const char *)(r[h] + ahead + 64 * g), _MM_HINT_T0);
		const __m512i v0 = _mm512_maskz_loadu_epi8(m, r[0] + 64 * g), v1 = _mm512_maskz_loadu_epi8(m, r[1] + 64 * g);
		const __m512i v2 = _mm512_maskz_loadu_epi8(m, r[2] + 64 * g), v3 = _mm512_maskz_loadu_epi8(m, r[3] + 64 * g);
		const __m512i t0 = _mm512_unpacklo_epi8(v0, v1), t1 = _mm512_unpackhi_epi8(v0, v1);
		const __m512i t2 = _mm512_unpacklo_epi8(v2, v3), t3 = _mm512_unpackhi_epi8(v2, v3);
		const __m512i w0 = _mm512_unpacklo_epi16(t0, t2), w1 = _mm512_unpackhi_epi16(t0, t2);
		const __m512i w2 = _mm512_unpacklo_epi16(t1, t3), w3 = _mm512_unpackhi_epi16(t1, t3);
		s[4 * g] = _mm512_dpbusd_epi32(s[4 * g], av, w0);
		s[4 * g + 1] = _mm512_dpbusd_epi32(s[4 * g + 1], av, w1);
		s[4 * g + 2] = _mm512_dpbusd_epi32(s[4 * g + 2], av, w2);
		s[4 * g + 3] = _mm512_dpbusd_epi32(s[4 * g + 3], av, w3);
		cs[4 * g] = _mm512_dpbusd_epi32(cs[4 * g], ones, w0);
		cs[4 * g + 1] = _mm512_dpbusd_epi32(cs[4 * g + 1], ones, w1);
		cs[4 * g + 2] = _mm512_dpbusd_epi32(cs[4 * g + 2], ones, w2);
		cs[4 * g + 3] = _mm512_dpbusd_epi32(cs[4 * g + 3], ones, w3);
	}
}

static void qrow_i8_vnni(const rn_matmul_params *p, const rn_qlinear_params *q, const uint8_t *a, int az,
			 const int8_t *b, int64_t nj, int32_t *acc)
{
	__m512i s[RN_QROW / 16], cs[RN_QROW / 16];
	static const int8_t zeros[RN_QROW] = { 0 };
	const int64_t n = p->n, kk = p->k, blocks = (nj + 63) / 64;
	const __mmask64 lastm = nj % 64 ? ((__mmask64)1 << (nj % 64)) - 1 : ~(__mmask64)0;
	const uint8_t flip = q->x_dtype == RN_I8 ? 0x80 : 0;
	const int azu = az + (q->x_dtype == RN_I8 ? 128 : 0);
	for (int64_t g = 0; g < 4 * blocks; g++)
		s[g] = cs[g] = _mm512_setzero_si512();
	for (int64_t k = 0; k < kk; k += 4) {
		/* rows past K: zeros (weights and activations) */
		uint8_t q4[4] = { 0, 0, 0, 0 };
		const int8_t *r[4];
		for (int h = 0; h < 4; h++) {
			r[h] = k + h < kk ? b + (k + h) * n : zeros;
			if (k + h < kk)
				q4[h] = (uint8_t)(a[k + h] ^ flip);
		}
		uint32_t qa;
		rn_memcpy(&qa, q4, sizeof qa);
		qrow_vnni_quad(r, blocks, lastm, _mm512_set1_epi32((int)qa), s, cs, k + 4 * QROW_AHEAD < kk ? 4 * QROW_AHEAD * n : 0);
	}
	const __m512i zpv = _mm512_set1_epi32(azu);
	for (int64_t g = 0; g < blocks; g++)
		for (int t = 0; t < 4; t++) {
			int32_t v[16];
			_mm512_storeu_si512((void *)v, _mm512_sub_epi32(s[4 * g + t], _mm512_mullo_epi32(zpv, cs[4 * g + t])));
			for (int L = 0; L < 4; L++)
				for (int i = 0; i < 4; i++) {
					const int64_t col = 64 * g + 16 * L + 4 * t + i;
					if (col < nj)
						acc[col] += v[4 * L + i];
				}
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
			 void *y, int64_t jlo, int64_t jhi)
{
	int32_t acc[COLS], bz[COLS];
	for (int64_t j0 = jlo; j0 < jhi; j0 += COLS) {
		int64_t nj = jhi - j0 < COLS ? jhi - j0 : COLS;
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
#if QROW_VNNI
				qrow_i8_vnni(p, q, (const uint8_t *)a + i * p->k, az, (const int8_t *)b + j0, nj, acc);
#else
				qrow_i8_avx2(p, q, (const uint8_t *)a + i * p->k, az, (const int8_t *)b + j0, nj, acc);
#endif
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

typedef struct {
	const rn_matmul_params *p;
	const rn_qlinear_params *q;
	float alpha;
	const void *a, *a_zp, *b, *b_zp;
	const int32_t *bias;
	const float *a_scale, *b_scale, *y_scale;
	const void *y_zp;
	void *y;
	int64_t parts;
} qrows_job;

/* Part t of the columns, a multiple of 64 wide (the last the rest). */
static void qrows_task(void *ctx, int64_t t, int thread)
{
	const qrows_job *J = ctx;
	(void)thread;
	const int64_t units = (J->p->n + 63) / 64;
	const int64_t lo = t * units / J->parts * 64, hi = (t + 1) * units / J->parts * 64;
	qmatmul_rows(J->p, J->q, J->alpha, J->a, J->a_zp, J->b, J->b_zp, J->bias, J->a_scale, J->b_scale,
		     J->y_scale, J->y_zp, J->y, lo, hi < J->p->n ? hi : J->p->n);
}

static void qmatmul(const rn_matmul_params *p, const rn_qlinear_params *q, float alpha, const void *a,
		    const void *a_zp, const void *b, const void *b_zp, const int32_t *bias, const float *a_scale,
		    const float *b_scale, const float *y_scale, const void *y_zp, void *y, rn_threadpool *tp)
{
	/* int32 sums are exact when K * 255 * 255 fits (K < 33025) */
	if (p->batch_rank == 0 && p->k < 33025) {
		/* threads split the columns (each streams its part of every
		 * row of b), in units of 64 */
		const int threads = rn_threadpool_threads(tp);
		const int64_t units = (p->n + 63) / 64;
		qrows_job J = { p, q, alpha, a, a_zp, b, b_zp, bias, a_scale, b_scale, y_scale, y_zp, y,
				threads < units ? threads : units };
		if (J.parts > 1)
			rn_parallel_for(tp, J.parts, qrows_task, &J);
		else
			qmatmul_rows(p, q, alpha, a, a_zp, b, b_zp, bias, a_scale, b_scale, y_scale, y_zp, y, 0, p->n);
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
	qmatmul(p, q, 1.0f, a, a_zp, b, b_zp, NULL, a_scale, b_scale, y_scale, y_zp, y, NULL);
}

void rn_qgemm(const rn_matmul_params *p, const rn_qlinear_params *q, float alpha, const void *a,
	      const void *a_zp, const void *b, const void *b_zp, const int32_t *bias, const float *a_scale,
	      const float *b_scale, const float *y_scale, const void *y_zp, void *y, rn_threadpool *tp)
{
	qmatmul(p, q, alpha, a, a_zp, b, b_zp, bias, a_scale, b_scale, y_scale, y_zp, y, tp);
}
