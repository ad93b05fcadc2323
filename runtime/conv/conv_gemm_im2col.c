/*
 * RN_CONV_GEMM's input side (conv_gemm.h): the im2col chunks packed into
 * scratch, and phase mode's phase planes.
 */
#include "conv_gemm.h"

/* Packs rows [q0, q1) of the im2col columns [j0, j0 + ncols) row-major,
 * buf[q][j - j0], rows ldb floats apart (columns ncols..ldb zeroed). The
 * columns cover output rows oy0..oy1; per input channel, the input rows
 * they read are first copied into strip with the padding made explicit
 * (zeros), unless they lie inside the input (no padding), so that each of
 * the kh * kw im2col rows is then plain (strided) copies, one per output
 * row, with no bounds to test. */
void rn_conv_gemm_pack_b(const rn_conv2d_params *p, const float *x, int64_t j0, int64_t ncols, float *buf,
			 int64_t ldb, int64_t q0, int64_t q1, float *strip)
{
	int64_t hw = (int64_t)p->h * p->w;
	int kk = p->kh * p->kw;
	int oy0 = (int)(j0 / p->ow), oy1 = (int)((j0 + ncols - 1) / p->ow);
	int ox_first = (int)(j0 % p->ow), ox_last = (int)((j0 + ncols - 1) % p->ow);
	int rows = (oy1 - oy0) * p->sh + (p->kh - 1) * p->dh + 1;
	int wp = strip_width(p);
	int iy0 = oy0 * p->sh - p->pt;
	int inside = iy0 >= 0 && iy0 + rows <= p->h && p->pl == 0 && wp <= p->w;
	for (int ci = (int)(q0 / kk); ci < p->c && (int64_t)ci * kk < q1; ci++) {
		const float *src = x + ci * hw + (int64_t)iy0 * p->w;
		int64_t lds = p->w;
		if (!inside) {
			/* strip[r][c] = x[ci][iy0 + r][c - pl], 0 outside */
			int left = p->pl < wp ? p->pl : wp;
			int mid = p->w < wp - left ? p->w : wp - left;
			for (int r = 0; r < rows; r++) {
				float *d = strip + (int64_t)r * wp;
				int iy = iy0 + r;
				if (iy < 0 || iy >= p->h) {
					zero_run(d, wp);
					continue;
				}
				zero_run(d, left);
				copy_run(d + left, x + ci * hw + (int64_t)iy * p->w, mid);
				zero_run(d + left + mid, wp - left - mid);
			}
			src = strip;
			lds = wp;
		}
		/* stride 1 with rows as wide as the output's (a 1x1 convolution
		 * without padding): the chunk's columns are one run per row */
		int flat = p->sw == 1 && p->sh == 1 && lds == p->ow;
		for (int t = 0; t < kk; t++) {
			int64_t q = (int64_t)ci * kk + t;
			if (q < q0 || q >= q1)
				continue;
			int ky = t / p->kw, kx = t % p->kw;
			float *row = buf + q * ldb;
			const float *s0 = src + (int64_t)ky * p->dh * lds + kx * p->dw;
			if (flat) { /* output rows follow each other in the source */
				copy_run(row, s0 + ox_first, (int)ncols);
				zero_run(row + ncols, ldb - ncols);
				continue;
			}
			for (int oy = oy0; oy <= oy1; oy++) {
				int a = oy == oy0 ? ox_first : 0, b = oy == oy1 ? ox_last + 1 : p->ow;
				copy_strided(row, s0 + (int64_t)(oy - oy0) * p->sh * lds + (int64_t)a * p->sw,
					     b - a, p->sw);
				row += b - a;
			}
			zero_run(row, ldb - ncols);
		}
	}
}

/* Phase mode's planes (py, all px) of input channel ci (see gemm_plan). */
void rn_conv_gemm_phase_planes(const rn_conv2d_params *p, const gemm_plan *g, const float *x, float *planes,
			       int ci, int py)
{
	int s = g->s;
	const float *xc = x + (int64_t)ci * p->h * p->w;
	for (int px = 0; px < s; px++) {
		float *pl = planes + (((int64_t)ci * s + py) * s + px) * g->plane;
		/* columns c with 0 <= c s + px - pl < w */
		int c0 = p->pl - px > 0 ? (p->pl - px + s - 1) / s : 0;
		int c1 = p->w + p->pl - px > 0 ? (p->w + p->pl - px + s - 1) / s : 0;
		c0 = c0 < g->wp ? c0 : g->wp;
		c1 = c1 < g->wp ? c1 : g->wp;
		c1 = c1 > c0 ? c1 : c0;
		for (int r = 0; r <= g->hp; r++) {
			float *d = pl + (int64_t)r * g->wp;
			int iy = r * s + py - p->pt;
			if (iy < 0 || iy >= p->h || r == g->hp) {
				zero_run(d, g->wp);
				continue;
			}
			zero_run(d, c0);
			copy_strided(d + c0, xc + (int64_t)iy * p->w + (int64_t)c0 * s + px - p->pl,
				     c1 - c0, s);
			zero_run(d + c1, g->wp - c1);
		}
		zero_run(pl + (int64_t)(g->hp + 1) * g->wp, g->plane - (int64_t)(g->hp + 1) * g->wp);
	}
}
