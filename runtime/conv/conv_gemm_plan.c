/*
 * RN_CONV_GEMM's plan (conv_gemm.h): the packed weight layout, how a
 * convolution is cut up for a thread count, and the scratch it needs.
 */
#define RN_NO_INTRINSICS /* sizes and layouts only: no <immintrin.h> to compile */
#include "conv_gemm.h"

int rn_conv_gemm_supports(const rn_conv2d_params *p)
{
	return p->group == 1;
}

size_t rn_conv_gemm_packed_floats(const rn_conv2d_params *p)
{
	int64_t m16 = rn_round_up(p->m, RN_PANEL);
	return (size_t)(m16 * gemm_k(p) + m16);
}

void rn_conv_gemm_pack(const rn_conv2d_params *p, const float *w, const float *bias, float *packed)
{
	int64_t k = gemm_k(p), m16 = rn_round_up(p->m, RN_PANEL);
	for (int64_t m = 0; m < m16; m++) {
		float *dst = packed + (m / RN_PANEL) * k * RN_PANEL + m % RN_PANEL;
		for (int64_t q = 0; q < k; q++)
			dst[q * RN_PANEL] = m < p->m ? w[m * k + q] : 0.0f;
		packed[m16 * k + m] = m < p->m && bias ? bias[m] : 0.0f;
	}
}

/* Columns per chunk: about CHUNK_BYTES of B each, rounded to the nearest
 * count (a 7x7 output is one chunk, not 48 columns and then 1), in whole
 * units. */
static int64_t chunk_of(int64_t ncols, int64_t k, int unit)
{
	int64_t raw = (int64_t)(CHUNK_BYTES / sizeof(float)) / k;
	raw = raw < unit ? unit : raw;
	int64_t nchunks = (ncols + raw / 2) / raw;
	nchunks = nchunks < 1 ? 1 : nchunks;
	return rn_round_up((ncols + nchunks - 1) / nchunks, unit);
}

gemm_plan rn_conv_gemm_plan(const rn_conv2d_params *p, int threads)
{
	gemm_plan g;
	g.k = gemm_k(p);
	g.n = (int64_t)p->oh * p->ow;
	/* A 1x1 stride-1 convolution can read B in place, each row a plane of
	 * the input, or copy each chunk into contiguous rows first (one
	 * memcpy per row). With a long reduction over planes of a few hundred
	 * columns the copy pays for itself (ResNet-50's 1x1 layers with 512+
	 * input channels on 14x14 and 28x28: 110-134 -> 127-152 GFLOP/s).
	 * In the whole model it does not on larger planes (56x56 256>128 and
	 * 256>64: 3-10% slower copied, though faster alone, with the input
	 * in L2) nor with fewer channels (28x28 128>512: 2% slower), nor on
	 * 7x7. */
	g.direct = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 &&
		   p->pl == 0 && p->oh == p->h && p->ow == p->w && !(g.k >= 512 && g.n >= 128);
	g.phase = 0;
	g.ncols = g.n;
	if (p->sh == p->sw && p->sh >= 2 && p->dh == 1 && p->dw == 1 && (p->kh > 1 || p->kw > 1)) {
		int s = p->sh;
		/* (in COL_UNITs, not slivers: the generated code's ISA may not be
		 * the compiler's, and both must size the scratch alike) */
		int64_t wp = p->ow + (p->kw - 1) / s, cols = rn_round_up(p->oh * wp, COL_UNIT);
		/* when the dropped columns and the last sliver's padding are at
		 * most a tenth of the work (ResNet's stem 3%, 56x56 -> 28x28 4%;
		 * not 14x14 outputs: 22%) and a sliver's rows mostly stay in L1
		 * (its loads straddle cache lines: ResNet-50's 3x3/2 128>128,
		 * k = 1152, ran no faster in the whole model) */
		if ((cols - g.n) * 10 <= g.n && g.k <= 640) {
			g.phase = 1;
			g.s = s;
			g.wp = (int)wp;
			g.hp = p->oh + (p->kh - 1) / s;
			/* a row of slack: the dropped columns read past the last row */
			g.plane = rn_round_up((int64_t)(g.hp + 1) * wp + COL_UNIT, 16);
			g.ncols = cols;
			g.direct = 0;
		}
	}
	/* Slivers of 49 where they tile the output and 48 do not, on 14x14 or
	 * 7x7 B read in place or one sliver wide: 3-11% faster than slivers of
	 * 48 and a tail (ResNet-50's layers, one thread). Their loads straddle
	 * cache lines: packed chunks of several slivers ran 4-17% slower, and
	 * 56x56 and 28x28 inputs, read from L3 in the whole model, 5-15%
	 * slower (though faster alone, from L2). (The scratch they need is no
	 * more than with slivers of 48, which the compiler, built for another
	 * ISA maybe, sizes.) */
	g.nr = GEMM_X1 && !g.phase && g.n % NR != 0 && g.n % (NR + 1) == 0 && g.n <= 196 &&
		       (g.direct || g.n == NR + 1)
		       ? NR + 1
		       : NR;
	g.chunk = chunk_of(g.ncols, g.k, g.nr == NR ? COL_UNIT : g.nr);
	g.panels = (int)(rn_round_up(p->m, RN_PANEL) / RN_PANEL);
	/* One part per thread. Finer parts would let the others take over the
	 * share of a thread that is late (descheduled on a busy machine), but
	 * column parts each stream all the weights, and with one part per
	 * thread consecutive layers split alike tend to find their data in the
	 * cache of the core that wrote it: ResNet-50 on 2 threads 32.0-32.4 ms
	 * against 32.8-33.1 with four column parts per thread, and about 1%
	 * faster again with one panel part per thread instead of up to four. */
	g.parts = threads;
	g.split_cols = 1;
	if (threads > 1) {
		/* load imbalance of either split: the busiest part over the average */
		int64_t units = (g.ncols + g.nr - 1) / g.nr;
		double ic = (double)((units + threads - 1) / threads) * threads / (double)units;
		double ip = (double)((g.panels + threads - 1) / threads) * threads / g.panels;
		/* Splitting the panels also splits the weight traffic (small outputs,
		 * big weights) but makes every thread pack all of B (im2col): it
		 * must balance clearly better to be worth that. */
		double slack = g.direct ? 1.0 : 1.1;
		g.split_cols = !(ic > slack * ip || (p->m > g.n && ip <= ic));
	}
	return g;
}

/* The compiler sizes the scratch with its own build of this file, maybe
 * for another ISA than the generated code's, so the size must not depend
 * on what does: the sliver width (NR, 8x49 or not) and, through the
 * load balance in slivers, the split. It is sized for a slice per thread
 * whatever the split, and for the longer of the chunks any build cuts
 * (in COL_UNITs or in slivers of COL_UNIT + 1). Direct and phase modes
 * are decided without the ISA. tests/unit/test_runtime_conv_sizes.c
 * checks the portable and the native build agree. */
size_t rn_conv_gemm_scratch_size(const rn_conv2d_params *p, int threads)
{
	gemm_plan g = rn_conv_gemm_plan(p, threads);
	if (g.phase)
		return planes_bytes(p, &g) + rn_scratch_align((size_t)g.k * sizeof(int64_t));
	if (g.direct)
		return 0;
	int64_t c48 = chunk_of(g.ncols, g.k, COL_UNIT), c49 = chunk_of(g.ncols, g.k, COL_UNIT + 1);
	g.chunk = c48 > c49 ? c48 : c49;
	return (size_t)threads * (slice_bytes(&g) + strip_bytes(p, &g));
}
