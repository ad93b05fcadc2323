/*
 * GlobalAveragePool, GlobalMaxPool and ReduceMean (float32): whole planes
 * or axes reduced, means accumulated in double. Apart from pool.c so that a
 * model whose only pooling is global (the demo) does not build the
 * windowed pools.
 */
#include "../core/internal.h"

void rn_global_avg_f32(int64_t outer, int64_t inner, const float *x, float *y)
{
	for (int64_t i = 0; i < outer; i++) {
		const float *r = x + i * inner;
		double s = 0.0;
		for (int64_t j = 0; j < inner; j++)
			s += r[j];
		y[i] = (float)(s / (double)inner);
	}
}

void rn_global_max_f32(int64_t outer, int64_t inner, const float *x, float *y)
{
	for (int64_t i = 0; i < outer; i++) {
		const float *r = x + i * inner;
		float m = inner > 0 ? r[0] : -INFINITY;
		for (int64_t j = 1; j < inner; j++) {
			if (r[j] != r[j]) { /* NaN propagates, as numpy's max does */
				m = r[j];
				break;
			}
			m = r[j] > m ? r[j] : m;
		}
		y[i] = m;
	}
}

void rn_reduce_mean_f32(int rank, const int64_t *dims, unsigned axes_mask,
			const float *x, float *y)
{
	/* Split the axes into kept (outer odometer) and reduced (inner one). */
	int64_t stride[RN_MAX_RANK], kd[RN_MAX_RANK], ks[RN_MAX_RANK], rd[RN_MAX_RANK],
		rs[RN_MAX_RANK];
	int nk = 0, nr = 0;
	int64_t s = 1, n_out = 1, n_red = 1;
	for (int i = rank - 1; i >= 0; i--) {
		stride[i] = s;
		s *= dims[i];
	}
	for (int i = 0; i < rank; i++) {
		if (axes_mask >> i & 1) {
			rd[nr] = dims[i];
			rs[nr++] = stride[i];
			n_red *= dims[i];
		} else {
			kd[nk] = dims[i];
			ks[nk++] = stride[i];
			n_out *= dims[i];
		}
	}
	if (nr == 1 && rs[0] == 1) { /* innermost axis only: contiguous rows */
		rn_global_avg_f32(n_out, n_red, x, y);
		return;
	}
	int64_t ki[RN_MAX_RANK] = {0};
	for (int64_t o = 0; o < n_out; o++) {
		int64_t base = 0;
		for (int i = 0; i < nk; i++)
			base += ki[i] * ks[i];
		int64_t ri[RN_MAX_RANK] = {0};
		double sum = 0.0;
		for (int64_t r = 0; r < n_red; r++) {
			int64_t off = base;
			for (int i = 0; i < nr; i++)
				off += ri[i] * rs[i];
			sum += x[off];
			for (int i = nr - 1; i >= 0; i--) {
				if (++ri[i] < rd[i])
					break;
				ri[i] = 0;
			}
		}
		y[o] = (float)(sum / (double)n_red);
		for (int i = nk - 1; i >= 0; i--) {
			if (++ki[i] < kd[i])
				break;
			ki[i] = 0;
		}
	}
}
