/*
 * onnxruntime's com.microsoft quantized operators that its QOperator
 * ResNets use besides QLinearConv: QLinearAdd and
 * QLinearGlobalAveragePool (the contract: runtime.h). General forms, every
 * scale and zero point read at run time.
 */
#include "../core/internal.h"
#include "quant_internal.h"

#if defined(__AVX2__) && !defined(RN_GENERIC)
#include <immintrin.h>
#endif

void rn_qlinear_add(const rn_binary_params *p, const void *a, const float *a_scale, const void *a_zp,
		    const void *b, const float *b_scale, const void *b_zp, const float *y_scale,
		    const void *y_zp, void *y)
{
	int lo = 0, hi = 0, t = p->dtype;
	if (rn_qrange(t, &lo, &hi))
		return;
	int za = rn_qload(t, a_zp, 0), zb = rn_qload(t, b_zp, 0), zy = rn_qload(t, y_zp, 0);
	float sa = a_scale[0], sb = b_scale[0], sy = y_scale[0];
	int64_t idx[RN_MAX_RANK] = {0}, total = 1, ia = 0, ib = 0;
	for (int d = 0; d < p->rank; d++)
		total *= p->dims[d];
	for (int64_t i = 0; i < total; i++) {
		float v = ((float)(rn_qload(t, a, ia) - za) * sa + (float)(rn_qload(t, b, ib) - zb) * sb) / sy;
		rn_qstore(t, y, i, rn_qsaturate(v, zy, lo, hi));
		for (int d = p->rank - 1; d >= 0; d--) {
			ia += p->sa[d];
			ib += p->sb[d];
			if (++idx[d] < p->dims[d])
				break;
			ia -= p->sa[d] * p->dims[d];
			ib -= p->sb[d] * p->dims[d];
			idx[d] = 0;
		}
	}
}

/* The sum of n uint8 or int8 values (an int8 byte flipped is its value
 * + 128): 16 at a time through psadbw where the build has AVX2 (SSE2 is
 * then there; a freestanding x86 build without it stays scalar). */
static int64_t plane_sum8(int dtype, const uint8_t *p, int64_t n)
{
	const uint8_t flip = dtype == RN_I8 ? 0x80 : 0;
	int64_t i = 0, sum = 0;
#if defined(__AVX2__) && !defined(RN_GENERIC)
	__m128i acc = _mm_setzero_si128();
	const __m128i fl = _mm_set1_epi8((char)flip), zero = _mm_setzero_si128();
	for (; i + 16 <= n; i += 16)
		acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + i)), fl), zero));
	sum = _mm_cvtsi128_si64(acc) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
#endif
	for (; i < n; i++)
		sum += (uint8_t)(p[i] ^ flip);
	return sum - (flip ? 128 * n : 0);
}

void rn_qlinear_global_avg(int dtype, int64_t outer, int64_t inner, const void *x, const float *x_scale,
			   const void *x_zp, const float *y_scale, const void *y_zp, void *y)
{
	int lo = 0, hi = 0;
	if (rn_qrange(dtype, &lo, &hi))
		return;
	int zx = rn_qload(dtype, x_zp, 0), zy = rn_qload(dtype, y_zp, 0);
	double f = (double)x_scale[0] / y_scale[0];
	for (int64_t o = 0; o < outer; o++) {
		const int64_t sum = plane_sum8(dtype, (const uint8_t *)x + o * inner, inner) - (int64_t)zx * inner;
		double mean = inner ? (double)sum / (double)inner : 0.0;
		rn_qstore(dtype, y, o, rn_qsaturate((float)(mean * f), zy, lo, hi));
	}
}
