/*
 * 2-D convolution, float32, NCHW, with groups, strides, dilations, pads
 * and the fused epilogue y = act(conv + bias + residual).
 *
 * A 1x1, stride-1, unpadded convolution is the matrix product
 * W[m][c] * X[c][h*w] and goes to the shared GEMM engine. Every other
 * convolution is direct (no im2col buffer): the output is cut into tiles of
 * MR output channels x NR adjacent columns of one output row, accumulated
 * in registers. Two loop orders compute a tile:
 *   by channel (window_tile): for each input channel, every kernel tap;
 *     the tap weights of a channel sit in one cache line. Columns that
 *     fall in the left/right padding are read in place and masked to
 *     zero, or, where that would read outside the group's input, copied
 *     into a zero-padded stack buffer first.
 *   by tap (rn_tile_f32, shared with GEMM): for each tap, every channel;
 *     used for 1x1 strided convolutions and strided ones with many
 *     channels. Taps partly in the padding go through a stack buffer.
 * Top and bottom padding only shortens the ky range. The last tile of a
 * row overlaps its neighbour instead of shrinking to scalar width and
 * stores only its new columns, because the residual may be y itself; the
 * last channel strip overlaps likewise. Stack use is about 10 KiB.
 */
#include "../core/internal.h"

enum {
	MR = RN_TILE_MR,
	NR = RN_TILE_NR,
	CB = 64,          /* channels per buffer in the per-tap fallback */
	PATCH_MAX = 2048, /* floats of zero-padded input window on the stack */
	MASK_TAPS = 49,   /* most kernel taps whose padding lanes are masked */
};

typedef struct {
	const float *x;          /* this image's first channel of this group */
	int64_t plane;           /* h * w */
	int h, w, cg;
	int kh, kw, sh, sw, dh, dw, pt, pl;
	const rn_epilogue *e;
	const float *wm;         /* weights of output channel m0 */
	int64_t wpitch;          /* floats between two output channels' weights */
	int64_t m0;              /* first output channel computed */
	int mskip;               /* leading channels computed but not stored */
	int oy, ow;
	int iy0, ky0, ky1;       /* taps ky in [ky0, ky1) read inside the input */
	float *y;                /* output row oy of channel m0 */
	int64_t ohw;
} conv_job;

/*
 * acc[i][j] += sum over c < cn, ky < kn, kx < kw of
 *   w[i * wpitch + c * khw + ky * kw + kx] * x[c * xc + ky * xr + kx * dw + j * sw]
 * Channels outermost: the kh * kw weights of one (row, channel) share a
 * cache line and are used back to back. mr, nr, sw (0: use sw_rt) and
 * masked are compile-time constants at each instantiation, as in
 * rn_tile_f32. masked: lane j of tap (ky, kx) is ANDed with
 * mask[(ky * kw + kx) * NR + j] (all ones or zero), so reads that land in
 * the neighbouring row or channel instead of the padding contribute +0,
 * even if they are NaN.
 */
static RN_INLINE float and_bits(float v, uint32_t m)
{
	uint32_t b;
	rn_memcpy(&b, &v, sizeof b);
	b &= m;
	rn_memcpy(&v, &b, sizeof v);
	return v;
}

static RN_INLINE void window_tile(int mr, int nr, int sw, int sw_rt, int masked, int cn,
				  int kn, int kw, int dw, const float *w, int64_t wpitch,
				  int khw, const float *restrict x, int64_t xc, int64_t xr,
				  const uint32_t *mask, float *restrict acc)
{
	const int64_t s = sw ? sw : sw_rt;
	float t[MR][NR];
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			t[i][j] = acc[i * NR + j];
	for (int c = 0; c < cn; c++) {
		for (int ky = 0; ky < kn; ky++) {
			const float *restrict xrow = x + c * xc + ky * xr;
			const float *wr = w + c * khw + ky * kw;
			for (int kx = 0; kx < kw; kx++) {
				const float *restrict xp = xrow + kx * dw;
				const uint32_t *mk = masked ? mask + (ky * kw + kx) * NR : NULL;
				RN_UNROLL
				for (int i = 0; i < mr; i++) {
					float av = wr[i * wpitch + kx];
					RN_UNROLL
					for (int j = 0; j < nr; j++)
						t[i][j] += av * (masked ? and_bits(xp[j * s], mk[j])
									: xp[j * s]);
				}
			}
		}
	}
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			acc[i * NR + j] = t[i][j];
}

typedef void (*window_fn)(int cn, int kn, int kw, int dw, const float *w, int64_t wpitch,
			  int khw, const float *x, int64_t xc, int64_t xr, const uint32_t *mask,
			  int sw, float *acc);

/* The table of window kernels: win_<mr>x<nr>_s<sw>[_masked], s0 = any. */
#define WIN(MRV, NRV, SWV, MV, SUFFIX) \
	static void win_##MRV##x##NRV##_s##SWV##SUFFIX( \
		int cn, int kn, int kw, int dw, const float *w, int64_t wpitch, int khw, \
		const float *x, int64_t xc, int64_t xr, const uint32_t *mask, int sw, \
		float *acc) \
	{ \
		window_tile(MRV, NRV, SWV, sw, MV, cn, kn, kw, dw, w, wpitch, khw, x, xc, xr, \
			    mask, acc); \
	}
#define WIN_VARIANTS(MRV, NRV) \
	WIN(MRV, NRV, 1, 0, ) WIN(MRV, NRV, 2, 0, ) WIN(MRV, NRV, 0, 0, ) \
	WIN(MRV, NRV, 1, 1, _masked) WIN(MRV, NRV, 2, 1, _masked) WIN(MRV, NRV, 0, 1, _masked)
WIN_VARIANTS(8, 16) WIN_VARIANTS(8, 8) WIN_VARIANTS(8, 4) WIN_VARIANTS(8, 1)
WIN_VARIANTS(1, 16) WIN_VARIANTS(1, 8) WIN_VARIANTS(1, 4) WIN_VARIANTS(1, 1)
#undef WIN_VARIANTS
#undef WIN

#define WIN_ROW(MRV, NRV, SUFFIX) \
	{ win_##MRV##x##NRV##_s1##SUFFIX, win_##MRV##x##NRV##_s2##SUFFIX, \
	  win_##MRV##x##NRV##_s0##SUFFIX }
#define WIN_NRS(MRV, SUFFIX) \
	{ WIN_ROW(MRV, 16, SUFFIX), WIN_ROW(MRV, 8, SUFFIX), WIN_ROW(MRV, 4, SUFFIX), \
	  WIN_ROW(MRV, 1, SUFFIX) }

static window_fn window_kernel(int mr, int nr, int sw, int masked)
{
	static const window_fn table[2][2][4][3] = {
		{ WIN_NRS(8, ), WIN_NRS(1, ) },
		{ WIN_NRS(8, _masked), WIN_NRS(1, _masked) },
	};
	int r = mr == MR ? 0 : 1;
	int c = nr == 16 ? 0 : nr == 8 ? 1 : nr == 4 ? 2 : 3;
	int s = sw == 1 ? 0 : sw == 2 ? 1 : 2;
	return table[masked != 0][r][c][s];
}
#undef WIN_NRS
#undef WIN_ROW

/*
 * The whole tile, channels outermost. A tile whose taps all read inside
 * the input rows reads x in place. One that touches the left or right
 * padding reads x in place too, with the padding lanes masked to zero,
 * when every read stays within this group's channels; otherwise (the
 * first or last row of the group) it copies each channel's window into a
 * zero-padded stack buffer (PATCH_MAX floats per block of channels).
 * Returns 0 if the window is too large for that buffer.
 */
static int tile_by_channel(int mr, int nr, const conv_job *k, int ox0, float *acc)
{
	int kn = k->ky1 - k->ky0;
	int khw = k->kh * k->kw;
	int ix0 = ox0 * k->sw - k->pl;
	int seg = (nr - 1) * k->sw + (k->kw - 1) * k->dw + 1;
	const float *w = k->wm + k->ky0 * k->kw;
	int64_t row0 = (int64_t)(k->iy0 + k->ky0 * k->dh) * k->w; /* offset of the first row */
	int64_t xr = (int64_t)k->dh * k->w;
	if (kn <= 0)
		return 1;
	if (ix0 >= 0 && ix0 + seg <= k->w) {
		window_kernel(mr, nr, k->sw, 0)(k->cg, kn, k->kw, k->dw, w, k->wpitch, khw,
						k->x + row0 + ix0, k->plane, xr, NULL, k->sw, acc);
		return 1;
	}
	int64_t first = row0 + ix0;
	int64_t last = (int64_t)(k->cg - 1) * k->plane + row0 + (kn - 1) * xr + ix0 + seg - 1;
	if (kn * k->kw <= MASK_TAPS && first >= 0 && last < (int64_t)k->cg * k->plane) {
		uint32_t mask[MASK_TAPS * NR];
		for (int kx = 0; kx < k->kw; kx++)
			for (int j = 0; j < nr; j++) {
				int ix = ix0 + kx * k->dw + j * k->sw;
				uint32_t m = ix >= 0 && ix < k->w ? 0xffffffffu : 0;
				for (int ky = 0; ky < kn; ky++)
					mask[(ky * k->kw + kx) * NR + j] = m;
			}
		window_kernel(mr, nr, k->sw, 1)(k->cg, kn, k->kw, k->dw, w, k->wpitch, khw,
						k->x + first, k->plane, xr, mask, k->sw, acc);
		return 1;
	}
	float patch[PATCH_MAX];
	int per_c = kn * seg;
	if (per_c > PATCH_MAX)
		return 0;
	int cb_max = PATCH_MAX / per_c;
	int lo = ix0 < 0 ? -ix0 : 0;                  /* first valid q */
	int hi = k->w - ix0 < seg ? k->w - ix0 : seg; /* end of valid q */
	window_fn f = window_kernel(mr, nr, k->sw, 0);
	for (int c0 = 0; c0 < k->cg; c0 += cb_max) {
		int cb = k->cg - c0 < cb_max ? k->cg - c0 : cb_max;
		for (int c = 0; c < cb; c++) {
			for (int ky = 0; ky < kn; ky++) {
				const float *xrow = k->x + (c0 + c) * k->plane + row0 + ky * xr;
				float *pr = patch + (c * kn + ky) * seg;
				for (int q = 0; q < seg; q++)
					pr[q] = q >= lo && q < hi ? xrow[ix0 + q] : 0.0f;
			}
		}
		f(cb, kn, k->kw, k->dw, w + c0 * khw, k->wpitch, khw, patch, per_c, seg, NULL,
		  k->sw, acc);
	}
	return 1;
}

/* One tap over all input channels when only columns [j0, j1) of the tile
 * read inside the input: copy them into a zero-filled buffer first. */
static void tap_edge(int mr, int nr, const conv_job *k, const float *a, const float *xrow,
		     int ix0, int j0, int j1, float *acc)
{
	float buf[CB * NR];
	rn_tile_fn f = rn_tile_kernel(mr, nr, 1);
	int64_t khw = (int64_t)k->kh * k->kw;
	for (int c0 = 0; c0 < k->cg; c0 += CB) {
		int cb = k->cg - c0 < CB ? k->cg - c0 : CB;
		for (int c = 0; c < cb; c++) {
			const float *xr = xrow + (c0 + c) * k->plane;
			float *br = buf + c * NR;
			for (int j = 0; j < nr; j++)
				br[j] = 0.0f;
			for (int j = j0; j < j1; j++)
				br[j] = xr[ix0 + j * k->sw];
		}
		f(cb, a + c0 * khw, k->wpitch, khw, buf, NR, 1, acc);
	}
}

/* Computes nr columns from ox0; stores columns [ox0 + skip, ox0 + nr). */
static void conv_tile(int mr, int nr, const conv_job *k, int ox0, int skip)
{
	float acc[MR * NR];
	rn_tile_fn f = rn_tile_kernel(mr, nr, k->sw);
	int khw = k->kh * k->kw;
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			acc[i * NR + j] = 0.0f;
	/* Channels outermost pays off for windows, unless strided reads with
	 * many channels, which compilers vectorize better tap by tap (clang
	 * turns the strided window loads into gathers); 1x1 has no window. */
	if (khw > 1 && (k->sw == 1 || k->cg < 16) && tile_by_channel(mr, nr, k, ox0, acc))
		goto store;
	for (int ky = k->ky0; ky < k->ky1; ky++) {
		const float *xrow = k->x + (int64_t)(k->iy0 + ky * k->dh) * k->w;
		for (int kx = 0; kx < k->kw; kx++) {
			const float *a = k->wm + ky * k->kw + kx;
			int ix0 = ox0 * k->sw - k->pl + kx * k->dw;
			if (ix0 >= 0 && ix0 + (nr - 1) * k->sw < k->w) {
				f(k->cg, a, k->wpitch, khw, xrow + ix0, k->plane, k->sw, acc);
				continue;
			}
			/* valid columns: 0 <= ix0 + j * sw < w */
			int j0 = ix0 >= 0 ? 0 : (-ix0 + k->sw - 1) / k->sw;
			int j1 = k->w - ix0 <= 0 ? 0 : (k->w - ix0 - 1) / k->sw + 1;
			j1 = j1 < nr ? j1 : nr;
			if (j0 < j1)
				tap_edge(mr, nr, k, a, xrow, ix0, j0, j1, acc);
		}
	}
store:;
	int ms = k->mskip;
	rn_epilogue_tile(k->e, mr - ms, nr - skip, acc + ms * NR + skip, NR, k->m0 + ms,
			 (int64_t)k->oy * k->ow + ox0 + skip, k->y + ms * k->ohw + ox0 + skip,
			 k->ohw);
}

static void conv_row(int mr, const conv_job *k)
{
	int ow = k->ow, ox = 0;
	while (ox < ow) {
		int left = ow - ox;
		int nr = left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : 1;
		if (nr == 1 && ow >= 4) {
			/* overlap the previous tile rather than go scalar */
			conv_tile(mr, 4, k, ow - 4, 4 - left);
			return;
		}
		conv_tile(mr, nr, k, ox, 0);
		ox += nr;
	}
}

/*
 * Plane tiles, for small stride-1 convolutions whose output is as wide as
 * the input (3x3 "same" layers on 14x14 or 7x7): a tile is nr consecutive
 * positions of the flattened output plane, possibly spanning rows. Output
 * p reads input p + (ky * dh - pt) * w + kx * dw - pl for tap (ky, kx), so
 * the reads of a tile are contiguous; lanes whose tap falls in any padding
 * (including across a row end) are masked. Full-width tiles instead of
 * rows of 7 or 14 keep the vectors full.
 */
static int plane_tiles_fit(const rn_conv2d_params *p)
{
	int seg = NR + (p->kw - 1) * p->dw;
	return p->sh == 1 && p->sw == 1 && p->ow == p->w && p->ow < NR &&
	       p->kh * p->kw <= MASK_TAPS && p->kh * seg <= PATCH_MAX;
}

/* Computes positions [p0, p0 + nr) and stores those from p0 + skip. */
static void plane_tile(int mr, int nr, const conv_job *k, int64_t p0, int skip)
{
	float acc[MR * NR];
	uint32_t mask[MASK_TAPS * NR];
	int kh = k->kh, kw = k->kw, khw = kh * kw;
	for (int j = 0; j < nr; j++) {
		int oy = (int)((p0 + j) / k->ow), ox = (int)((p0 + j) % k->ow);
		for (int ky = 0; ky < kh; ky++) {
			int iy = oy - k->pt + ky * k->dh;
			for (int kx = 0; kx < kw; kx++) {
				int ix = ox - k->pl + kx * k->dw;
				int ok = iy >= 0 && iy < k->h && ix >= 0 && ix < k->w;
				mask[(ky * kw + kx) * NR + j] = ok ? 0xffffffffu : 0;
			}
		}
	}
	for (int i = 0; i < mr; i++)
		for (int j = 0; j < nr; j++)
			acc[i * NR + j] = 0.0f;
	window_fn f = window_kernel(mr, nr, 1, 1);
	int64_t start = p0 - (int64_t)k->pt * k->w - k->pl; /* tap (0, 0) of lane 0 */
	int64_t xr = (int64_t)k->dh * k->w;
	int seg = nr + (kw - 1) * k->dw;
	int64_t last = (int64_t)(k->cg - 1) * k->plane + start + (kh - 1) * xr + seg - 1;
	if (start >= 0 && last < (int64_t)k->cg * k->plane) {
		f(k->cg, kh, kw, k->dw, k->wm, k->wpitch, khw, k->x + start, k->plane, xr, mask,
		  1, acc);
	} else {
		/* reads before the first or past the last channel: copy, zero-filled */
		float patch[PATCH_MAX];
		int per_c = kh * seg;
		int cb_max = PATCH_MAX / per_c;
		for (int c0 = 0; c0 < k->cg; c0 += cb_max) {
			int cb = k->cg - c0 < cb_max ? k->cg - c0 : cb_max;
			for (int c = 0; c < cb; c++)
				for (int ky = 0; ky < kh; ky++) {
					const float *xc = k->x + (c0 + c) * k->plane;
					float *pr = patch + (c * kh + ky) * seg;
					for (int q = 0; q < seg; q++) {
						int64_t off = start + ky * xr + q;
						pr[q] = off >= 0 && off < k->plane ? xc[off] : 0.0f;
					}
				}
			f(cb, kh, kw, k->dw, k->wm + c0 * khw, k->wpitch, khw, patch, per_c, seg,
			  mask, 1, acc);
		}
	}
	int ms = k->mskip;
	rn_epilogue_tile(k->e, mr - ms, nr - skip, acc + ms * NR + skip, NR, k->m0 + ms,
			 p0 + skip, k->y + ms * k->ohw + p0 + skip, k->ohw);
}

/* Output channels [m0 + mskip, m0 + mr) of one image and group, by plane
 * tiles; mr is MR or 1. */
static void conv_plane(conv_job k, const float *wg, int mr, int64_t m0, int mskip, float *yg)
{
	k.wpitch = (int64_t)k.cg * k.kh * k.kw;
	k.wm = wg + m0 * k.wpitch;
	k.m0 = m0;
	k.mskip = mskip;
	k.y = yg + m0 * k.ohw;
	int64_t n = k.ohw, p = 0;
	while (p < n) {
		int64_t left = n - p;
		int nr = left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : 1;
		if (nr == 1 && n >= 4) {
			plane_tile(mr, 4, &k, n - 4, (int)(4 - left));
			return;
		}
		plane_tile(mr, nr, &k, p, 0);
		p += nr;
	}
}

/* Output channels [m0 + mskip, m0 + mr) of rows [oy0, oy1) of one image
 * and group; mr is MR or 1. */
static void conv_rows(conv_job k, const float *wg, int mr, int64_t m0, int mskip,
		      int oy0, int oy1, float *yg)
{
	k.wpitch = (int64_t)k.cg * k.kh * k.kw;
	k.wm = wg + m0 * k.wpitch;
	k.m0 = m0;
	k.mskip = mskip;
	for (int oy = oy0; oy < oy1; oy++) {
		k.oy = oy;
		k.iy0 = oy * k.sh - k.pt;
		k.ky0 = 0;
		k.ky1 = k.kh;
		while (k.ky0 < k.ky1 && k.iy0 + k.ky0 * k.dh < 0)
			k.ky0++;
		while (k.ky1 > k.ky0 && k.iy0 + (k.ky1 - 1) * k.dh >= k.h)
			k.ky1--;
		k.y = yg + m0 * k.ohw + (int64_t)oy * k.ow;
		conv_row(mr, &k);
	}
}

void rn_conv2d_f32(const rn_conv2d_params *p, const float *x, const float *w,
		   const float *bias, const float *residual, float *y)
{
	int cg = p->c / p->group, mg = p->m / p->group;
	int64_t hw = (int64_t)p->h * p->w, ohw = (int64_t)p->oh * p->ow;
	int64_t wg_size = (int64_t)mg * cg * p->kh * p->kw;
	int gemm = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 &&
		   p->pl == 0 && p->oh == p->h && p->ow == p->w;
	/* Output rows per band: the band's input rows over all cg channels
	 * stay within ~256 KiB of cache while every channel strip sweeps them. */
	int64_t row_bytes = (int64_t)cg * p->w * (int64_t)sizeof(float);
	int64_t in_rows = (256 * 1024) / (row_bytes > 0 ? row_bytes : 1);
	int64_t band = (in_rows - (int64_t)(p->kh - 1) * p->dh) / (p->sh > 0 ? p->sh : 1);
	band = band < 1 ? 1 : band > p->oh ? p->oh : band;
	for (int n = 0; n < p->n; n++) {
		for (int g = 0; g < p->group; g++) {
			const float *xg = x + ((int64_t)n * p->c + (int64_t)g * cg) * hw;
			int64_t ybase = ((int64_t)n * p->m + (int64_t)g * mg) * ohw;
			float *yg = y + ybase;
			const float *wg = w + g * wg_size;
			rn_epilogue e = {
				.alpha = 1.0f, .bias = bias ? bias + (int64_t)g * mg : NULL,
				.c = residual ? residual + ybase : NULL, .c_sm = ohw, .c_sn = 1,
				.beta = 1.0f, .act = p->act, .act_alpha = p->alpha,
				.act_beta = p->beta,
			};
			if (gemm) {
				rn_gemm_nn_f32(mg, ohw, cg, wg, cg, 1, xg, hw, yg, ohw, &e);
				continue;
			}
			conv_job k = {
				.x = xg, .plane = hw, .h = p->h, .w = p->w, .cg = cg,
				.kh = p->kh, .kw = p->kw, .sh = p->sh, .sw = p->sw,
				.dh = p->dh, .dw = p->dw, .pt = p->pt, .pl = p->pl,
				.e = &e, .ow = p->ow, .ohw = ohw,
			};
			if (plane_tiles_fit(p)) {
				int m0 = 0;
				for (; m0 + MR <= mg; m0 += MR)
					conv_plane(k, wg, MR, m0, 0, yg);
				if (m0 < mg && mg >= MR) {
					conv_plane(k, wg, MR, mg - MR, MR - (mg - m0), yg);
					m0 = mg;
				}
				for (; m0 < mg; m0++)
					conv_plane(k, wg, 1, m0, 0, yg);
				continue;
			}
			for (int oy0 = 0; oy0 < p->oh; oy0 += (int)band) {
				int oy1 = p->oh - oy0 < band ? p->oh : oy0 + (int)band;
				int m0 = 0;
				for (; m0 + MR <= mg; m0 += MR)
					conv_rows(k, wg, MR, m0, 0, oy0, oy1, yg);
				if (m0 < mg && mg >= MR) {
					/* the last strip overlaps the previous one */
					conv_rows(k, wg, MR, mg - MR, MR - (mg - m0), oy0, oy1, yg);
					m0 = mg;
				}
				for (; m0 < mg; m0++)
					conv_rows(k, wg, 1, m0, 0, oy0, oy1, yg);
			}
		}
	}
}
