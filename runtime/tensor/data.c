/*
 * Data movement for any element size: Transpose, row copies (Concat),
 * Pad (constant, reflect, edge, wrap; negative pads crop), Slice and
 * Gather. Each walks the output row by row with an odometer over the
 * outer axes; rows are copied with memcpy where the source is contiguous.
 */
#include "../core/internal.h"

/* Element strides of a dense row-major shape. */
static void strides_of(int rank, const int64_t *dims, int64_t *s)
{
	int64_t acc = 1;
	for (int i = rank - 1; i >= 0; i--) {
		s[i] = acc;
		acc *= dims[i];
	}
}

static int64_t count_of(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

/* Advances idx over dims[0..rank-1) (all but the last axis); returns 0
 * after the last row. */
static int next_row(int rank, const int64_t *dims, int64_t *idx)
{
	for (int i = rank - 2; i >= 0; i--) {
		if (++idx[i] < dims[i])
			return 1;
		idx[i] = 0;
	}
	return 0;
}

/* y[i] = x[i * s] for i < n, elements of es bytes. */
static void copy_strided(size_t es, int64_t n, const char *x, int64_t s, char *y)
{
	if (s == 1) {
		rn_memcpy(y, x, (size_t)n * es);
		return;
	}
	int64_t step = s * (int64_t)es;
	switch (es) {
	case 1: for (int64_t i = 0; i < n; i++) y[i] = x[i * step]; break;
	case 2: for (int64_t i = 0; i < n; i++) rn_memcpy(y + 2 * i, x + i * step, 2); break;
	case 4: for (int64_t i = 0; i < n; i++) rn_memcpy(y + 4 * i, x + i * step, 4); break;
	case 8: for (int64_t i = 0; i < n; i++) rn_memcpy(y + 8 * i, x + i * step, 8); break;
	default: for (int64_t i = 0; i < n; i++) rn_memcpy(y + (size_t)i * es, x + i * step, es);
	}
}

void rn_transpose(size_t elem, int rank, const int64_t *dims, const int *perm,
		  const void *x, void *y)
{
	int64_t xs[RN_MAX_RANK], yd[RN_MAX_RANK], ys[RN_MAX_RANK];
	strides_of(rank, dims, xs);
	for (int i = 0; i < rank; i++) {
		yd[i] = dims[perm[i]];
		ys[i] = xs[perm[i]]; /* x stride of y's axis i */
	}
	int64_t total = count_of(rank, dims);
	if (total == 0)
		return;
	if (rank == 0) {
		rn_memcpy(y, x, elem);
		return;
	}
	int64_t n = yd[rank - 1], idx[RN_MAX_RANK] = {0};
	char *yr = y;
	do {
		int64_t off = 0;
		for (int i = 0; i < rank - 1; i++)
			off += idx[i] * ys[i];
		copy_strided(elem, n, (const char *)x + off * (int64_t)elem, ys[rank - 1], yr);
		yr += (size_t)n * elem;
	} while (next_row(rank, yd, idx));
}

void rn_copy2d(void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
	       size_t rows, size_t row_bytes)
{
	if (dst_pitch == row_bytes && src_pitch == row_bytes) {
		rn_memcpy(dst, src, rows * row_bytes);
		return;
	}
	for (size_t r = 0; r < rows; r++)
		rn_memcpy((char *)dst + r * dst_pitch, (const char *)src + r * src_pitch, row_bytes);
}

/* Source index along one axis for output index t relative to the cropped
 * input [0, len), or -1 for the constant. ONNX (numpy.pad) semantics:
 * reflect mirrors without repeating the edge, with period 2 * (len - 1). */
static int64_t pad_source(int mode, int64_t t, int64_t len)
{
	if (t >= 0 && t < len)
		return t;
	if (len == 0 || mode == RN_PAD_CONSTANT)
		return -1;
	switch (mode) {
	case RN_PAD_EDGE:
		return t < 0 ? 0 : len - 1;
	case RN_PAD_WRAP: {
		int64_t m = t % len;
		return m < 0 ? m + len : m;
	}
	default: { /* RN_PAD_REFLECT */
		if (len == 1)
			return 0;
		int64_t period = 2 * (len - 1);
		int64_t m = t % period;
		m = m < 0 ? m + period : m;
		return m < len ? m : period - m;
	}
	}
}

void rn_pad(size_t elem, int rank, const int64_t *dims, const int64_t *begin,
	    const int64_t *end, int mode, const void *value, const void *x, void *y)
{
	/* Negative pads crop first, then the rest pads the cropped input, as
	 * ONNX's reference does (slice, then numpy.pad). */
	int64_t lo[RN_MAX_RANK], len[RN_MAX_RANK], pb[RN_MAX_RANK], yd[RN_MAX_RANK],
		xs[RN_MAX_RANK];
	strides_of(rank, dims, xs);
	for (int i = 0; i < rank; i++) {
		lo[i] = begin[i] < 0 ? -begin[i] : 0;
		len[i] = dims[i] - lo[i] - (end[i] < 0 ? -end[i] : 0);
		len[i] = len[i] < 0 ? 0 : len[i];
		pb[i] = begin[i] > 0 ? begin[i] : 0;
		yd[i] = dims[i] + begin[i] + end[i];
	}
	if (count_of(rank, yd) <= 0)
		return;
	if (rank == 0) {
		rn_memcpy(y, x, elem);
		return;
	}
	int last = rank - 1;
	int64_t n = yd[last], idx[RN_MAX_RANK] = {0};
	char *yr = y;
	do {
		/* the source row, or none if an outer axis lands in constant padding */
		int64_t off = 0;
		int constant_row = 0;
		for (int i = 0; i < last; i++) {
			int64_t s = pad_source(mode, idx[i] - pb[i], len[i]);
			if (s < 0)
				constant_row = 1;
			else
				off += (lo[i] + s) * xs[i];
		}
		const char *xr = (const char *)x + off * (int64_t)elem;
		for (int64_t j = 0; j < n;) {
			int64_t t = j - pb[last];
			int64_t s = constant_row ? -1 : pad_source(mode, t, len[last]);
			if (s >= 0 && t >= 0 && t < len[last]) {
				/* the contiguous middle of the row */
				int64_t run = len[last] - t < n - j ? len[last] - t : n - j;
				rn_memcpy(yr + (size_t)j * elem, xr + (lo[last] + t) * (int64_t)elem,
				       (size_t)run * elem);
				j += run;
				continue;
			}
			if (s >= 0)
				rn_memcpy(yr + (size_t)j * elem, xr + (lo[last] + s) * (int64_t)elem, elem);
			else if (value)
				rn_memcpy(yr + (size_t)j * elem, value, elem);
			else
				rn_memset(yr + (size_t)j * elem, 0, elem);
			j++;
		}
		yr += (size_t)n * elem;
	} while (next_row(rank, yd, idx));
}

void rn_slice(size_t elem, int rank, const int64_t *dims, const int64_t *start,
	      const int64_t *step, const int64_t *out, const void *x, void *y)
{
	int64_t xs[RN_MAX_RANK];
	strides_of(rank, dims, xs);
	if (count_of(rank, out) <= 0)
		return;
	if (rank == 0) {
		rn_memcpy(y, x, elem);
		return;
	}
	int64_t n = out[rank - 1], idx[RN_MAX_RANK] = {0};
	char *yr = y;
	do {
		int64_t off = start[rank - 1];
		for (int i = 0; i < rank - 1; i++)
			off += (start[i] + idx[i] * step[i]) * xs[i];
		copy_strided(elem, n, (const char *)x + off * (int64_t)elem, step[rank - 1], yr);
		yr += (size_t)n * elem;
	} while (next_row(rank, out, idx));
}

static int64_t index_at(int idx_dtype, const void *idx, int64_t k)
{
	if (idx_dtype == RN_I32)
		return ((const int32_t *)idx)[k];
	return ((const int64_t *)idx)[k];
}

int rn_gather(size_t elem, int64_t outer, int64_t axis_len, int64_t inner,
	      const void *x, int idx_dtype, const void *idx, int64_t nidx, void *y)
{
	/* Check every index before writing anything. */
	for (int64_t k = 0; k < nidx; k++) {
		int64_t j = index_at(idx_dtype, idx, k);
		if (j < -axis_len || j >= axis_len)
			return RN_E_INDEX;
	}
	size_t row = (size_t)inner * elem;
	char *yp = y;
	for (int64_t o = 0; o < outer; o++) {
		const char *xo = (const char *)x + (size_t)(o * axis_len) * row;
		for (int64_t k = 0; k < nidx; k++) {
			int64_t j = index_at(idx_dtype, idx, k);
			j = j < 0 ? j + axis_len : j;
			rn_memcpy(yp, xo + (size_t)j * row, row);
			yp += row;
		}
	}
	return RN_OK;
}
