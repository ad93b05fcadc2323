/*
 * 2-D convolution, float32, NCHW, with groups, strides, dilations, pads
 * and the fused epilogue y = act(conv + bias + residual).
 *
 * A 1x1, stride-1, unpadded convolution is the matrix product
 * W[m][c] * X[c][h*w] and goes to the shared GEMM engine. Every other
 * convolution is direct (no im2col buffer): the output is cut into tiles of
 * MR output channels x NR adjacent columns of one output row. For each
 * kernel tap the tile is a small matrix product over the input channels,
 * W[m][c][ky][kx] * X[c][iy][ix + j*sw], accumulated in registers by the
 * shared tile kernel. A tap whose columns partly fall in the padding copies
 * its valid inputs into a zero-filled stack buffer, so the inner loop
 * never tests bounds. The last tile of a row overlaps its neighbour instead
 * of shrinking to scalar width and stores only its new columns, because
 * the residual may be y itself.
 */
#include "internal.h"

enum { MR = RN_TILE_MR, NR = RN_TILE_NR, CB = 64 /* channels per edge buffer */ };

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
