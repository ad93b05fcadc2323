/*
 * QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (the contract:
 * runtime.h, "Quantized (int8) tensors").
 */
#include "../core/internal.h"
#include "quant_internal.h"

#if defined(__AVX2__) && !defined(RN_GENERIC)
#include <immintrin.h>
#endif

/* A row of uint8 or int8 values: rn_qsaturate's arithmetic without a call
 * or a branch per value (7x faster at -O2; a vectorizer, at -O3, can take
 * it whole). The clamp is x86's max/min (NaN gives lo - z, as
 * fmaxf does), and within it |v| <= 255, where adding and subtracting
 * 1.5 * 2^23 rounds half to even in the default rounding mode, as
 * nearbyintf does. */
static void quantize_row8(const float *x, float s, int z, int lo, int hi, void *q, int64_t n)
{
	const float flo = (float)(lo - z), fhi = (float)(hi - z), magic = 12582912.0f;
	uint8_t *u = q; /* an int8 value's byte is its uint8 cast's */
	int64_t i = 0;
#if defined(__AVX2__) && !defined(RN_GENERIC)
	/* 8 at a time: the same max/min, vcvtps2dq's rounding (half to even
	 * in the default mode), z added, the low bytes kept (in range) */
	const __m256 vs = _mm256_set1_ps(s), vlo = _mm256_set1_ps(flo), vhi = _mm256_set1_ps(fhi);
	const __m256i vz = _mm256_set1_epi32(z);
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), vs);
		v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
		const __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(v), vz);
		const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
		_mm_storel_epi64((__m128i *)(u + i), lo < 0 ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
	}
#endif
	for (; i < n; i++) {
		float v = x[i] / s;
		v = v > flo ? v : flo;
		v = v < fhi ? v : fhi;
		v = (v + magic) - magic;
		u[i] = (uint8_t)((int)v + z);
	}
}

int rn_quantize(const rn_quant_params *p, const float *x, const float *scale, const void *zp, void *q)
{
	int lo, hi;
	if (rn_qrange(p->dtype, &lo, &hi))
		return RN_E_UNSUPPORTED;
	for (int64_t o = 0; o < p->outer; o++)
		for (int64_t a = 0; a < p->axis_len; a++) {
			int64_t k = p->per_axis ? a : 0;
			float s = scale[k];
			int z = rn_qload(p->dtype, zp, k);
			int64_t base = (o * p->axis_len + a) * p->inner;
			if (p->dtype == RN_U8 || p->dtype == RN_I8) {
				quantize_row8(x + base, s, z, lo, hi, (char *)q + base, p->inner);
				continue;
			}
			for (int64_t i = 0; i < p->inner; i++)
				rn_qstore(p->dtype, q, base + i, rn_qsaturate(x[base + i] / s, z, lo, hi));
		}
	return RN_OK;
}

int rn_dequantize(const rn_quant_params *p, const void *q, const float *scale, const void *zp, float *y)
{
	int lo, hi;
	if (p->dtype != RN_I32 && rn_qrange(p->dtype, &lo, &hi))
		return RN_E_UNSUPPORTED;
	for (int64_t o = 0; o < p->outer; o++)
		for (int64_t a = 0; a < p->axis_len; a++) {
			int64_t k = p->per_axis ? a : 0;
			float s = scale[k];
			int64_t base = (o * p->axis_len + a) * p->inner;
			if (p->dtype == RN_I32) {
				const int32_t *v = q;
				int64_t z = zp ? ((const int32_t *)zp)[k] : 0;
				for (int64_t i = 0; i < p->inner; i++)
					y[base + i] = (float)((int64_t)v[base + i] - z) * s;
				continue;
			}
			int z = rn_qload(p->dtype, zp, k);
			for (int64_t i = 0; i < p->inner; i++)
				y[base + i] = (float)(rn_qload(p->dtype, q, base + i) - z) * s;
		}
	return RN_OK;
}

void rn_dynamic_quantize_u8(int64_t n, const float *x, uint8_t *q, float *scale, uint8_t *zp)
{
	float mn = 0.0f, mx = 0.0f;
	for (int64_t i = 0; i < n; i++) {
		mn = x[i] < mn ? x[i] : mn;
		mx = x[i] > mx ? x[i] : mx;
	}
	float s = (float)((double)(mx - mn) / 255.0);
	*scale = s;
	if (!(s > 0.0f) || !isfinite(s)) {
		*zp = 0;
		for (int64_t i = 0; i < n; i++)
			q[i] = 0;
		return;
	}
	int z = rn_qsaturate(-mn / s, 0, 0, 255);
	*zp = (uint8_t)z;
	for (int64_t i = 0; i < n; i++)
		q[i] = (uint8_t)rn_qsaturate(x[i] / s, z, 0, 255);
}
