/*
 * rn_qconv2d_packed: the int8 convolution of runtime.h as the GEMM
 *   Y[m][q] = sum over k of W[m][k] * X[k][q],  k = (c, ky, kx), q = oy * ow + ox,
 * X being the im2col matrix of the input, computed exactly in int32.
 *
 * The input goes to the kernel in the uint8 domain: int8 x is flipped to
 * x + 128 (its zero point with it), and padding taps read the zero point
 * itself, so that every tap of the GEMM contributes w * (x - x_zp) + w *
 * x_zp: the packed bias is bias[m] - x_zp * sum over k of w[m][k], so the
 * accumulator comes out as the contract's.
 *
 * Three layouts of the weights. Products of a uint8 and an int8 as int16
 * summed in pairs into int32 never overflow (vpmaddwd: exact for any
 * weights): the k-pair layout, for any weights. vpmaddubsw sums
 * the pair in int16 with saturation, exact when the pair is safe
 * (runtime.h: opposite signs, or |w0 + w1| <= 128); when every pair
 * (w[k], w[k + 1]), k even, of every channel is, the weights are packed
 * in k-quads for it: twice the products per instruction (plus a vpmaddwd
 * by ones to sum the two pairs of a quad into int32). When only a few
 * pairs are unsafe, the layout is the k-quads' with a mask of the quads
 * that hold an unsafe pair, per 8 channels (a vector's): the others run
 * as the safe layout's, those few in exact 16-bit products (each pixel's
 * quad split into its even and odd bytes zero-extended, the weights' into
 * theirs sign-extended, two vpmaddwd); the k-quad panel serves both.
 *
 * Packed layout (bytes; M16 = m rounded up to 16, KP = ceil(K / 2) k-pairs,
 * KQ = ceil(K / 4) k-quads, K = c * kh * kw; independent of the ISA the
 * kernels are built for, its size of the parameters only):
 *   header   RN_ALIGN bytes: uint32 layout: 1 k-quads (every pair safe),
 *            2 k-quads with a mask (some unsafe), 0 k-pairs; zeros
 *   weights  k-pairs: [M16 / 16][KP][16][2] int8: per block of 16 output
 *            channels, per k-pair, each channel's (w[k0], w[k1]);
 *            k-quads: [M16 / 16][KQ][16][4] likewise; zero past m and K,
 *            and to the end of M16 * KQ * 4 bytes (the larger)
 *   bias'    int32 [M16] at the next multiple of RN_ALIGN
 *   mult     float [M16]
 *   mask     uint64 [M16 / 16][2][KW], KW = ceil(KQ / 64): bit q % 64 of
 *            word [b][h][q / 64] set when quad q has an unsafe pair in
 *            channels 16 b + 8 h .. 16 b + 8 h + 7 (layout 2; zeros
 *            otherwise)
 *
 * The output pixels of an image are cut into blocks of whole register
 * tiles (6 pixels); a task packs one block's panel into its thread's slice
 * of scratch, then runs 16-channel blocks over it:
 *   panel    [tiles][KP][6][2] uint16: per tile, per k-pair, each pixel's
 *            (x[k0], x[k1]) zero-extended, so that a tile reads one
 *            contiguous stream, a pixel's pair being one 32-bit broadcast;
 *            k-quads: [tiles][KQ][6][4] uint8, a pixel's quad one broadcast
 *            (the same 24 bytes a chunk, half the chunks)
 * A 1x1, stride-1, unpadded convolution interleaves the panel straight from
 * the input planes. Any other first copies the block's im2col rows
 * (contiguous or stride-2 runs, one per output row), and interleaves
 * those; the runs read the input itself when no tap falls outside it (a
 * strided 1x1), else a strip of the input rows the block needs, padded
 * with the zero point. With a strip, stride 1 or 2 across and rows of at
 * least 6 pixels (ResNet's padded 3x3s and stem), the AVX2 build skips the
 * im2col rows: a tile's row of a tap is one read of the strip (two,
 * blended, when the tile spans two output rows), interleaved straight
 * into the chunk.
 *
 * The register tile is 6 pixels x 16 channels (AVX2: 12 int32
 * accumulators, starting at the bias; per k-pair, two 16-byte weight loads
 * sign-extended to int16, six broadcasts, twelve vpmaddwd; per k-quad, two
 * 32-byte weight loads, six broadcasts, twelve vpmaddubsw, twelve vpmaddwd
 * by ones; the mixed layout's quads run in four passes, by which halves
 * of the block are masked, each over the set bits of its mask words). An
 * image's last tile, when partial, computes only its pixels. Its epilogue
 * works with channels across the lanes (mult: vector loads) on 4-channel x
 * 4-pixel byte blocks per lane: the residual's rows come in as qwords and
 * each pixel's bytes go to the channels' dwords in one vpshufb, the
 * results go out through the blocks into the NCHW rows (tile_store). A
 * block's whole tiles run in one call.
 * The portable C kernel reads the same panel and weights and computes the
 * same bytes (on AArch64 and ARMv7 its sums by NEON: widening
 * multiply-accumulates, or sdot where the build has dotprod). A build
 * with AVX512-VNNI cuts the work its own way (16-pixel tiles, pixels
 * across the lanes; its section below), from the same packed weights and
 * within the same scratch; with VBMI2 too, a 3x3 stride-1 convolution
 * over channels in fours builds no panel at all (the direct cut,
 * qconv_task_vdir).
 */
#include "qconv.h"

#if defined(__AVX2__) && defined(__FMA__) && !defined(RN_GENERIC)
#include <immintrin.h>
#define QK_AVX2 1
#else
#define QK_AVX2 0
#endif

#if !QK_AVX2 && defined(__aarch64__) && defined(__ARM_NEON) && !defined(RN_GENERIC)
#include <arm_neon.h>
#define QK_NEON 1
#else
#define QK_NEON 0
#endif

#if !QK_AVX2 && !QK_NEON && defined(__arm__) && defined(__ARM_NEON) && !defined(RN_GENERIC)
#include <arm_neon.h>
#define QK_NEON32 1
#else
#define QK_NEON32 0
#endif

#if QK_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
	defined(__AVX512VNNI__)
#define QK_VNNI 1
#else
#define QK_VNNI 0
#endif

/* The direct 3x3 cut also compresses bytes (AVX512-VBMI2) */
#if QK_VNNI && defined(__AVX512VBMI__) && defined(__AVX512VBMI2__)
#define QK_VDIR 1
#else
#define QK_VDIR 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define QK_NOINLINE __attribute__((noinline))
#define QK_ALIGNED(n) __attribute__((aligned(n)))
#else
#define QK_NOINLINE
#define QK_ALIGNED(n)
#endif

enum {
	TP = 6,                     /* pixels per register tile */
	TC = 16,                    /* output channels per register tile */
	TV = 16,                    /* pixels per register tile of the VNNI kernels */
	CHUNK = 24,                 /* panel bytes of a tile per k-pair */
	PANEL_TARGET = 192 * 1024,  /* panel bytes a block aims at (L2) */
	MAX_TILES = 64,             /* tiles per block at most */
	DMAX_TILES = 256,           /* the same of the direct cut (its strip is what limits it) */
	DSLACK = 48,                /* positions past a direct strip's rows that its tiles may read */
	SLACK = 64,                 /* bytes past a buffer that vector copies may touch */
	HEADER = RN_ALIGN,          /* packed bytes before the weights */
};

static size_t align_up(size_t n)
{
	return (n + RN_ALIGN - 1) / RN_ALIGN * RN_ALIGN;
}

/* How a convolution is cut up: a function of the parameters only, so that
 * the scratch size the compiler computes holds for every build. */
typedef struct {
	int direct;          /* 1x1, stride 1, unpadded: the im2col rows are input rows */
	int inside;          /* not direct, but every tap inside the input: no strip */
	int fromstrip;       /* strip, stride 1 or 2 across, ow >= TP: AVX2 chunks read it (no im2col rows) */
	int64_t k, kp, m16;  /* reduction length, k-pairs, m rounded up to TC */
	int64_t kq;          /* k-quads */
	int64_t hw, ohw;
	int64_t tiles;       /* tiles per image */
	int64_t tb;          /* tiles per block at most */
	int64_t ts;          /* panel bytes per tile: KP chunks, then 8 that chunk stores overrun */
	int64_t tsq;         /* the same of the k-quad panel: KQ chunks, then 8 */
	size_t panel;        /* panel bytes */
	/* not direct: the block's im2col rows, k of trow bytes, and the strip,
	 * per channel srows rows of wp padded input columns */
	int64_t trow;
	size_t cols;
	int64_t wp, srows;
	size_t strip;
	/* the AVX512-VNNI kernels' cut (16-pixel tiles; qconv_packed.c's
	 * scratch holds either): tiles per image, per block at most, panel
	 * bytes, and the im2col rows and strip of such a block */
	int64_t vtiles, vtb;
	size_t vpanel;
	int64_t vtrow, vsrows;
	size_t vcols, vstrip;
	/* the VNNI direct cut of a 3x3, stride-1 convolution over channels
	 * in fours (see qconv_task_vdir): the output computed dwp = ow + 2
	 * positions wide, in 16-position tiles (dtiles per image, dtb per
	 * block at most); a block's strip holds, per 4 input channels, dplane
	 * positions of 4 bytes: dsrows padded input rows of dwp, then
	 * DSLACK */
	int dir;
	int64_t dwp, dtiles, dtb, dsrows, dplane;
	size_t dstrip;
	size_t slice;        /* scratch bytes per thread: the larger cut's panel, cols, strip */
} qgeom;

/* A block of px pixels at most: its im2col rows (k rows of trow bytes;
 * none for a direct convolution) and its strip (per channel, srows rows
 * of g->wp padded input columns; none when every tap is inside). */
static void block_rows(const rn_conv2d_params *c, const qgeom *g, int64_t px, int64_t *trow, size_t *cols,
		       int64_t *srows, size_t *strip)
{
	*trow = 0;
	*cols = 0;
	*srows = 0;
	*strip = 0;
	if (!g->direct) {
		*trow = px; /* runs overrun into the next row, written after */
		*cols = (size_t)(g->k * px) + SLACK;
	}
	if (!g->direct && !g->inside) {
		/* output rows a block of px pixels can touch */
		int64_t rows = (px + c->ow - 2) / c->ow + 1;
		rows = rows > c->oh ? c->oh : rows;
		*srows = (rows - 1) * c->sh + (int64_t)(c->kh - 1) * c->dh + 1;
		*strip = (size_t)(c->c * *srows * g->wp) + SLACK;
	}
}

static qgeom geom_of(const rn_qconv2d_params *p)
{
	const rn_conv2d_params *c = &p->conv;
	qgeom g = { 0 };
	g.k = (int64_t)c->c * c->kh * c->kw;
	g.kp = (g.k + 1) / 2;
	g.kq = (g.k + 3) / 4;
	g.m16 = (c->m + TC - 1) / TC * TC;
	g.hw = (int64_t)c->h * c->w;
	g.ohw = (int64_t)c->oh * c->ow;
	g.tiles = (g.ohw + TP - 1) / TP;
	g.tb = PANEL_TARGET / (g.kp * CHUNK);
	g.tb = g.tb < 1 ? 1 : g.tb > MAX_TILES ? MAX_TILES : g.tb;
	g.tb = g.tb > g.tiles ? g.tiles : g.tb;
	g.ts = g.kp * CHUNK + 8;
	g.tsq = g.kq * CHUNK + 8; /* <= ts: the k-quad panel fits the k-pair one's room */
	g.panel = (size_t)(g.tb * g.ts);
	g.direct = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pt == 0 &&
		   c->pl == 0 && c->oh == c->h && c->ow == c->w;
	g.inside = !g.direct && c->pt == 0 && c->pl == 0 &&
		   (int64_t)(c->oh - 1) * c->sh + (int64_t)(c->kh - 1) * c->dh < c->h &&
		   (int64_t)(c->ow - 1) * c->sw + (int64_t)(c->kw - 1) * c->dw < c->w;
	g.fromstrip = !g.direct && !g.inside && (c->sw == 1 || c->sw == 2) && c->ow >= TP;
	if (!g.direct && !g.inside)
		g.wp = (int64_t)(c->ow - 1) * c->sw + (int64_t)(c->kw - 1) * c->dw + 1;
	block_rows(c, &g, g.tb * TP, &g.trow, &g.cols, &g.srows, &g.strip);
	g.vtiles = (g.ohw + TV - 1) / TV;
	g.vtb = PANEL_TARGET / (g.kq * 4 * TV);
	g.vtb = g.vtb < 1 ? 1 : g.vtb > MAX_TILES ? MAX_TILES : g.vtb;
	g.vtb = g.vtb > g.vtiles ? g.vtiles : g.vtb;
	g.vpanel = (size_t)(g.vtb * g.kq * 4 * TV);
	block_rows(c, &g, g.vtb * TV, &g.vtrow, &g.vcols, &g.vsrows, &g.vstrip);
	const size_t slice = align_up(g.panel) + align_up(g.cols) + align_up(g.strip);
	/* the VNNI cut also keeps a block's weights as k-quads (the k-pair
	 * layout's, reordered) */
	const size_t vslice = align_up(g.vpanel) + align_up(g.vcols) + align_up(g.vstrip) +
			      align_up((size_t)(g.kq * 4 * TC));
	g.slice = slice > vslice ? slice : vslice;
	g.dir = c->kh == 3 && c->kw == 3 && c->sh == 1 && c->sw == 1 && c->dh == 1 && c->dw == 1 &&
		c->c % 4 == 0 && !g.direct;
	if (g.dir) {
		g.dwp = (int64_t)c->ow + 2;
		g.dtiles = (c->oh * g.dwp + TV - 1) / TV;
		/* a block's weights are reordered per 16 channels: with few
		 * tiles (7 x 7 outputs: 4) the panel cut runs faster */
		g.dir = g.dtiles >= 8;
	}
	if (g.dir) {
		const int64_t rows = PANEL_TARGET / ((int64_t)c->c * g.dwp) - 3;
		g.dtb = rows < 1 ? 1 : rows * g.dwp / TV;
		g.dtb = g.dtb < 1 ? 1 : g.dtb > DMAX_TILES ? DMAX_TILES : g.dtb;
		g.dtb = g.dtb > g.dtiles ? g.dtiles : g.dtb;
		int64_t orows = (g.dtb * TV + g.dwp - 2) / g.dwp + 1;
		orows = orows > c->oh ? c->oh : orows;
		g.dsrows = orows + 2;
		g.dplane = g.dsrows * g.dwp + DSLACK;
		g.dstrip = (size_t)(c->c / 4 * g.dplane * 4);
		/* the strip, and a block's weights as k-quads and reordered */
		const size_t dslice = align_up(g.dstrip) + 2 * align_up((size_t)(g.kq * 4 * TC));
		g.slice = g.slice > dslice ? g.slice : dslice;
	}
	return g;
}

/* The weights' room: the larger of the two layouts (4 * KQ >= 2 * KP). */
static size_t weight_bytes(const qgeom *g)
{
	return align_up((size_t)(g->m16 * g->kq * 4));
}

/* The mask's words per 8 channels. */
static int64_t mask_words(const qgeom *g)
{
	return (g->kq + 63) / 64;
}

enum {
	L_PAIRS = 0, /* k-pairs, exact 16-bit products */
	L_QUADS = 1, /* k-quads, every pair safe */
	L_MIXED = 2, /* k-quads and the mask of those with an unsafe pair */
};

/* The mixed layout when its masked quads (those masked in one half of a
 * block, plus twice those in both) are at most this share of all: a
 * quad masked in one half costs about 1.25 safe ones, in both 1.5, and a
 * k-pair layout about 1.2 safe ones throughout. */
enum { MIXED_MAX_PERMIL = 800 };

/* A pair of weights vpmaddubsw may sum in int16: with both factors
 * uint8 in [0, 255], a0 * w0 + a1 * w1 stays within int16 for all a when
 * the signs differ (or one is 0), or when |w0 + w1| <= 128. */
static int pair_safe(int w0, int w1)
{
	if ((w0 <= 0 && w1 >= 0) || (w0 >= 0 && w1 <= 0))
		return 1;
	return w0 + w1 <= 128 && w0 + w1 >= -128;
}

int rn_qconv2d_pair_safe_all(const rn_qconv2d_params *p, const int8_t *w)
{
	if (!rn_qconv2d_supports(p))
		return 0;
	const int64_t k = (int64_t)(p->conv.c / p->conv.group) * p->conv.kh * p->conv.kw;
	for (int64_t ch = 0; ch < p->conv.m; ch++)
		for (int64_t i = 0; i + 1 < k; i += 2)
			if (!pair_safe(w[ch * k + i], w[ch * k + i + 1]))
				return 0;
	return 1;
}

int rn_qconv2d_supports(const rn_qconv2d_params *p)
{
	const rn_conv2d_params *c = &p->conv;
	int lo, hi;
	if (!(c->n >= 1 && c->c >= 1 && c->m >= 1 && c->h >= 1 && c->w >= 1 && c->oh >= 1 &&
	      c->ow >= 1 && c->kh >= 1 && c->kw >= 1 && c->sh >= 1 && c->sw >= 1 && c->dh >= 1 &&
	      c->dw >= 1 && c->pt >= 0 && c->pl >= 0 && c->group >= 1 && c->c % c->group == 0 &&
	      c->m % c->group == 0))
		return 0;
	if (!rn_q_range(p->x_dtype, &lo, &hi) || p->x_zp < lo || p->x_zp > hi)
		return 0;
	if (!rn_q_range(p->y_dtype, &lo, &hi) || p->y_zp < lo || p->y_zp > hi || p->lo < lo ||
	    p->lo > hi || p->hi < lo || p->hi > hi)
		return 0;
	if (p->has_residual && (!rn_q_range(p->r_dtype, &lo, &hi) || p->r_zp < lo || p->r_zp > hi))
		return 0;
	return 1;
}

/* A grouped convolution runs as its groups, one after the other, each a
 * convolution of c / group input and m / group output channels with its
 * own packed weights (the groups' packed parts one after the other, each a
 * multiple of RN_ALIGN bytes) and the same scratch. */
static rn_qconv2d_params group_params(const rn_qconv2d_params *p)
{
	rn_qconv2d_params q = *p;
	q.conv.c = p->conv.c / p->conv.group;
	q.conv.m = p->conv.m / p->conv.group;
	q.conv.group = 1;
	return q;
}

size_t rn_qconv2d_packed_size(const rn_qconv2d_params *p)
{
	if (!rn_qconv2d_supports(p))
		return 0;
	if (p->conv.group > 1) {
		const rn_qconv2d_params q = group_params(p);
		return (size_t)p->conv.group * rn_qconv2d_packed_size(&q);
	}
	qgeom g = geom_of(p);
	return HEADER + weight_bytes(&g) + (size_t)g.m16 * (sizeof(int32_t) + sizeof(float)) +
	       align_up((size_t)(g.m16 / TC * 2 * mask_words(&g)) * sizeof(uint64_t));
}

/* 1 when quad q of channels [ch0, ch0 + 8) holds an unsafe pair. */
static int quad_unsafe(const qgeom *g, int m, const int8_t *w, int64_t ch0, int64_t q)
{
	for (int64_t ch = ch0; ch < ch0 + 8 && ch < m; ch++)
		for (int64_t k = 4 * q; k < 4 * q + 4 && k + 1 < g->k; k += 2)
			if (!pair_safe(w[ch * g->k + k], w[ch * g->k + k + 1]))
				return 1;
	return 0;
}

void rn_qconv2d_pack(const rn_qconv2d_params *p, const int8_t *w, const int32_t *bias,
		     const float *mult, void *packed)
{
	if (!rn_qconv2d_supports(p))
		return;
	if (p->conv.group > 1) {
		const rn_qconv2d_params q = group_params(p);
		const size_t part = rn_qconv2d_packed_size(&q);
		const int64_t mg = q.conv.m, k = (int64_t)q.conv.c * q.conv.kh * q.conv.kw;
		for (int64_t gi = 0; gi < p->conv.group; gi++)
			rn_qconv2d_pack(&q, w + gi * mg * k, bias ? bias + gi * mg : NULL, mult + gi * mg,
					(unsigned char *)packed + (size_t)gi * part);
		return;
	}
	const qgeom g = geom_of(p);
	const int m = p->conv.m;
	/* the mask, and from it the layout */
	const int64_t nwords = g.m16 / TC * 2 * mask_words(&g);
	unsigned char *mk = (unsigned char *)packed + HEADER + weight_bytes(&g) +
			    g.m16 * (sizeof(int32_t) + sizeof(float));
	rn_memset(mk, 0, align_up((size_t)nwords * sizeof(uint64_t)));
	int64_t masked = 0; /* masked halves */
	for (int64_t mh = 0; mh < g.m16 / 8; mh++) /* halves of blocks */
		for (int64_t q = 0; q < g.kq; q++)
			if (quad_unsafe(&g, m, w, mh * 8, q)) {
				unsigned char *byte = mk + (mh * mask_words(&g) + q / 64) * sizeof(uint64_t);
				uint64_t word;
				rn_memcpy(&word, byte, sizeof word);
				word |= (uint64_t)1 << (q % 64);
				rn_memcpy(byte, &word, sizeof word);
				masked++;
			}
	const uint32_t layout = masked == 0 ? L_QUADS
				: masked * 1000 <= MIXED_MAX_PERMIL * (g.m16 / TC * g.kq) ? L_MIXED : L_PAIRS;
	if (layout != L_MIXED)
		rn_memset(mk, 0, align_up((size_t)nwords * sizeof(uint64_t)));
	const int quads = layout != L_PAIRS;
	/* the header: the layout, then zeros */
	rn_memset(packed, 0, HEADER);
	rn_memcpy(packed, &layout, sizeof layout);
	int8_t *wp = (int8_t *)packed + HEADER;
	const int64_t kn = quads ? g.kq : g.kp, per = quads ? 4 : 2; /* k-groups, k per group */
	for (int64_t mb = 0; mb < g.m16 / TC; mb++)
		for (int64_t q = 0; q < kn; q++)
			for (int j = 0; j < TC; j++)
				for (int h = 0; h < per; h++) {
					int64_t ch = mb * TC + j, k = per * q + h;
					wp[((mb * kn + q) * TC + j) * per + h] =
						ch < m && k < g.k ? w[ch * g.k + k] : 0;
				}
	const size_t wbytes = (size_t)(g.m16 * kn * per);
	rn_memset(wp + wbytes, 0, weight_bytes(&g) - wbytes); /* every byte is defined */
	/* the zero point in the uint8 domain the kernels see */
	const int64_t zp = p->x_zp + (p->x_dtype == RN_I8 ? 128 : 0);
	unsigned char *b = (unsigned char *)packed + HEADER + weight_bytes(&g);
	unsigned char *f = b + g.m16 * sizeof(int32_t);
	for (int64_t ch = 0; ch < g.m16; ch++) {
		int32_t bv = 0;
		float mv = 0.0f;
		if (ch < m) {
			int64_t sum = 0;
			for (int64_t k = 0; k < g.k; k++)
				sum += w[ch * g.k + k];
			bv = rn_q_wrap32((bias ? bias[ch] : 0) - zp * sum);
			mv = mult[ch];
		}
		rn_memcpy(b + ch * sizeof(int32_t), &bv, sizeof bv);
		rn_memcpy(f + ch * sizeof(float), &mv, sizeof mv);
	}
}

size_t rn_qconv2d_scratch_size(const rn_qconv2d_params *p, int threads)
{
	if (!rn_qconv2d_supports(p))
		return 0;
	if (p->conv.group > 1) {
		const rn_qconv2d_params q = group_params(p);
		return rn_qconv2d_scratch_size(&q, threads);
	}
	if (threads < 1)
		threads = 1;
	return (size_t)threads * geom_of(p).slice;
}

/* ---- Packing a block's panel ---- */

/* dst[i] = src[i * sw] for i < n. Up to 31 bytes past n may be written and
 * up to 31 past the last byte read may be read (the caller's later writes
 * or slack cover them), except at lim (if not NULL), where the readable
 * bytes end. */
static RN_INLINE void copy_run(uint8_t *dst, const uint8_t *src, int64_t n, int sw, const uint8_t *lim)
{
	int64_t i = 0;
#if QK_AVX2
	if (lim && (lim - src) < n * sw + 32) {
		for (; i < n; i++)
			dst[i] = src[i * sw];
		return;
	}
	if (sw == 1) {
		for (; i < n; i += 32)
			_mm256_storeu_si256((__m256i *)(dst + i), _mm256_loadu_si256((const __m256i *)(src + i)));
		return;
	}
	if (sw == 2) {
		const __m256i even = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1,
						      0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
		for (; i < n; i += 16) {
			__m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(src + 2 * i)), even);
			v = _mm256_permute4x64_epi64(v, 0x08);
			_mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(v));
		}
		return;
	}
#else
	(void)lim;
#endif
	if (sw == 1) {
		rn_memcpy(dst, src, (size_t)n);
		return;
	}
	for (; i < n; i++)
		dst[i] = src[i * sw];
}

/* One tile's chunk for one k-pair: the pairs (a[i], b[i]) for i < 6 as
 * uint16, bytes flipped by flip (0x80: int8 input). Reads 8 bytes of a and
 * b, writes 32 bytes (8 past the chunk, which the next chunk or the
 * tile's padding takes). */
static RN_INLINE void chunk(uint8_t *dst, const uint8_t *a, const uint8_t *b, uint8_t flip)
{
#if QK_AVX2
	__m128i va = _mm_loadl_epi64((const __m128i *)a), vb = _mm_loadl_epi64((const __m128i *)b);
	if (flip) {
		va = _mm_xor_si128(va, _mm_set1_epi8((char)flip));
		vb = _mm_xor_si128(vb, _mm_set1_epi8((char)flip));
	}
	_mm256_storeu_si256((__m256i *)dst, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(va, vb)));
#else
	uint16_t *d = (uint16_t *)(void *)dst;
	for (int i = 0; i < TP; i++) {
		d[2 * i] = (uint16_t)(a[i] ^ flip);
		d[2 * i + 1] = (uint16_t)(b[i] ^ flip);
	}
#endif
}

/* One tile's chunk for one k-quad: the quads (a[i], b[i], c[i], d[i]) for
 * i < 6 as bytes, flipped by flip. Reads 8 bytes of each, writes 32 bytes
 * (8 past the chunk, as chunk does). */
static RN_INLINE void chunk4(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint8_t *c,
			     const uint8_t *d, uint8_t flip)
{
#if QK_AVX2
	__m128i ab = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)a), _mm_loadl_epi64((const __m128i *)b));
	__m128i cd = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)c), _mm_loadl_epi64((const __m128i *)d));
	__m256i v = _mm256_set_m128i(_mm_unpackhi_epi16(ab, cd), _mm_unpacklo_epi16(ab, cd));
	if (flip)
		v = _mm256_xor_si256(v, _mm256_set1_epi8((char)flip));
	_mm256_storeu_si256((__m256i *)dst, v);
#else
	for (int i = 0; i < TP; i++) {
		dst[4 * i] = (uint8_t)(a[i] ^ flip);
		dst[4 * i + 1] = (uint8_t)(b[i] ^ flip);
		dst[4 * i + 2] = (uint8_t)(c[i] ^ flip);
		dst[4 * i + 3] = (uint8_t)(d[i] ^ flip);
	}
#endif
}

/* dst[i] = src[i] (or v, with src NULL) for i < n, nothing read or
 * written outside: short runs (input rows of 7 to 56 bytes) as a few
 * overlapping vector moves. */
static RN_INLINE void put_run(uint8_t *dst, const uint8_t *src, uint8_t v, int64_t n)
{
#if QK_AVX2
	if (n >= 16) {
		const __m256i f = _mm256_set1_epi8((char)v);
		if (n >= 32) {
			int64_t i = 0;
			for (; i + 32 < n; i += 32)
				_mm256_storeu_si256((__m256i *)(dst + i),
						    src ? _mm256_loadu_si256((const __m256i *)(src + i)) : f);
			_mm256_storeu_si256((__m256i *)(dst + n - 32),
					    src ? _mm256_loadu_si256((const __m256i *)(src + n - 32)) : f);
			return;
		}
		__m128i a = src ? _mm_loadu_si128((const __m128i *)src) : _mm256_castsi256_si128(f);
		__m128i b = src ? _mm_loadu_si128((const __m128i *)(src + n - 16)) : _mm256_castsi256_si128(f);
		_mm_storeu_si128((__m128i *)dst, a);
		_mm_storeu_si128((__m128i *)(dst + n - 16), b);
		return;
	}
	if (n >= 8) {
		uint64_t a = 0x0101010101010101u * v, b = a;
		if (src) {
			rn_memcpy(&a, src, 8);
			rn_memcpy(&b, src + n - 8, 8);
		}
		rn_memcpy(dst, &a, 8);
		rn_memcpy(dst + n - 8, &b, 8);
		return;
	}
	for (int64_t i = 0; i < n; i++)
		dst[i] = src ? src[i] : v;
#else
	if (src)
		rn_memcpy(dst, src, (size_t)n);
	else
		rn_memset(dst, v, (size_t)n);
#endif
}

/* One strip row: input row src (NULL: above or below the input) padded
 * with zp to wp columns. */
static void strip_row(const rn_conv2d_params *c, const qgeom *g, uint8_t *dst, const uint8_t *src,
		      uint8_t zp)
{
	if (!src) {
		put_run(dst, NULL, zp, g->wp);
		return;
	}
	int64_t left = c->pl < g->wp ? c->pl : g->wp;
	int64_t end = (int64_t)c->pl + c->w < g->wp ? (int64_t)c->pl + c->w : g->wp;
	put_run(dst, NULL, zp, left);
	if (end > left)
		put_run(dst + left, src + (left - c->pl), 0, end - left);
	if (end < left)
		end = left;
	put_run(dst + end, NULL, zp, g->wp - end);
}

/* The strip of pixels [q0, q0 + nb) of one image x: per channel, the input
 * rows their taps read, padded with the zero point. */
static void build_strip(const rn_qconv2d_params *p, const qgeom *g, const uint8_t *x, int64_t q0,
			int64_t nb, uint8_t *strip)
{
	const rn_conv2d_params *c = &p->conv;
	const int64_t oy0 = q0 / c->ow, oy1 = (q0 + nb - 1) / c->ow;
	const int64_t rows = (oy1 - oy0) * c->sh + (int64_t)(c->kh - 1) * c->dh + 1;
	for (int ch = 0; ch < c->c; ch++)
		for (int64_t r = 0; r < rows; r++) {
			int64_t iy = oy0 * c->sh - c->pt + r;
			strip_row(c, g, strip + (ch * g->srows + r) * g->wp,
				  iy >= 0 && iy < c->h ? x + ((int64_t)ch * c->h + iy) * c->w : NULL,
				  (uint8_t)p->x_zp);
		}
}

/* The im2col rows of pixels [q0, q0 + nb) of one image x: row k at cols +
 * k * trow, zero from nb to the end of the last tile. */
static void build_cols(const rn_qconv2d_params *p, const qgeom *g, const uint8_t *x, int64_t q0,
		       int64_t nb, uint8_t *cols, uint8_t *strip)
{
	const rn_conv2d_params *c = &p->conv;
	const int64_t oy0 = q0 / c->ow, oy1 = (q0 + nb - 1) / c->ow;
	const int64_t nb6 = (nb + TP - 1) / TP * TP;
	/* the rows the runs read: the strip's, or the input's own when every
	 * tap is inside it (then nothing may be read past the image) */
	const uint8_t *rows0 = strip, *lim = NULL;
	int64_t pitch = g->wp, chan = g->srows * g->wp;
	if (g->inside) {
		rows0 = x + oy0 * c->sh * c->w;
		lim = x + (int64_t)c->c * g->hw;
		pitch = c->w;
		chan = g->hw;
	} else {
		build_strip(p, g, x, q0, nb, strip);
	}
	const int sw = c->sw;
	const int64_t first = q0 % c->ow, end = (q0 + nb - 1) % c->ow + 1, nrun = oy1 - oy0 + 1;
	const int64_t rstep = c->sh * pitch;
	uint8_t *dst = cols;
	for (int ch = 0; ch < c->c; ch++)
		for (int ky = 0; ky < c->kh; ky++)
			for (int kx = 0; kx < c->kw; kx++, dst += g->trow) {
				/* one run per output row, each overrunning into the
				 * next, which is written after it */
				const uint8_t *src = rows0 + ch * chan + (int64_t)ky * c->dh * pitch +
						     (int64_t)kx * c->dw + first * sw;
				if (nrun == 1) {
					copy_run(dst, src, end - first, sw, lim);
				} else {
					uint8_t *d = dst;
					copy_run(d, src, c->ow - first, sw, lim);
					d += c->ow - first;
					src += rstep - first * sw;
					for (int64_t r = 1; r < nrun - 1; r++, d += c->ow, src += rstep)
						copy_run(d, src, c->ow, sw, lim);
					copy_run(d, src, end, sw, lim);
				}
				for (int64_t i = nb; i < nb6; i++)
					dst[i] = 0;
			}
}

/* The panel's chunks from the im2col rows (pitch bytes apart): k-pairs of
 * uint16, or k-quads of bytes (quads). */
static RN_INLINE void build_chunks(const qgeom *g, const uint8_t *rows, int64_t pitch, int64_t nb,
				   uint8_t *panel, const uint8_t flip, const int quads)
{
	const int64_t ntile = (nb + TP - 1) / TP;
	/* tiles whose 8-byte reads stay inside the block (the im2col rows have
	 * room past the block; the input may end there) */
	const int64_t safe = g->direct ? (nb >= 8 ? (nb - 8) / TP + 1 : 0) : ntile;
	if (quads) {
		for (int64_t q = 0; q < g->kq; q++) {
			/* k past K reads row 4q (its weights are 0) */
			const uint8_t *r[4];
			for (int h = 0; h < 4; h++)
				r[h] = rows + (4 * q + h < g->k ? 4 * q + h : 4 * q) * pitch;
			uint8_t *d = panel + q * CHUNK;
			int64_t t = 0;
			for (; t < safe; t++, d += g->tsq)
				chunk4(d, r[0] + t * TP, r[1] + t * TP, r[2] + t * TP, r[3] + t * TP, flip);
			for (; t < ntile; t++, d += g->tsq) {
				uint8_t tr[4][8] = { { 0 } };
				for (int h = 0; h < 4; h++)
					for (int64_t i = 0; i < 8 && t * TP + i < nb; i++)
						tr[h][i] = r[h][t * TP + i];
				chunk4(d, tr[0], tr[1], tr[2], tr[3], flip);
			}
		}
		return;
	}
	for (int64_t q = 0; q < g->kp; q++) {
		const int64_t k0 = 2 * q, k1 = k0 + 1 < g->k ? k0 + 1 : k0; /* the odd k's weights are 0 */
		const uint8_t *a = rows + k0 * pitch, *b = rows + k1 * pitch;
		uint8_t *d = panel + q * CHUNK;
		int64_t t = 0;
		for (; t < safe; t++, d += g->ts)
			chunk(d, a + t * TP, b + t * TP, flip);
		for (; t < ntile; t++, d += g->ts) {
			uint8_t ta[8] = { 0 }, tb[8] = { 0 };
			for (int64_t i = 0; i < 8 && t * TP + i < nb; i++) {
				ta[i] = a[t * TP + i];
				tb[i] = b[t * TP + i];
			}
			chunk(d, ta, tb, flip);
		}
	}
}

#if QK_AVX2
/* One chunk from its rows' 8 bytes (a k-quad's four, a k-pair's first two). */
static RN_INLINE void chunk_of(uint8_t *d, __m128i v0, __m128i v1, __m128i v2, __m128i v3, const uint8_t flip,
			       const int quads)
{
	if (quads) {
		__m128i ab = _mm_unpacklo_epi8(v0, v1), cd = _mm_unpacklo_epi8(v2, v3);
		__m256i o = _mm256_set_m128i(_mm_unpackhi_epi16(ab, cd), _mm_unpacklo_epi16(ab, cd));
		if (flip)
			o = _mm256_xor_si256(o, _mm256_set1_epi8((char)flip));
		_mm256_storeu_si256((__m256i *)d, o);
	} else {
		__m128i ab = _mm_unpacklo_epi8(v0, v1);
		if (flip)
			ab = _mm_xor_si128(ab, _mm_set1_epi8((char)flip));
		_mm256_storeu_si256((__m256i *)d, _mm256_cvtepu8_epi16(ab));
	}
}

/* 8 pixels of a strip row at stride sw (1 or 2): reads 8 or 16 bytes. */
static RN_INLINE __m128i load8(const uint8_t *p, const int sw)
{
	if (sw == 1)
		return _mm_loadl_epi64((const __m128i *)p);
	const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), even);
}

/* The chunks of the full tiles of pixels [q0, q0 + nb) straight from the
 * strip (g->fromstrip: stride sw = c->sw across, 1 or 2, at least TP
 * pixels a row): a tile's pixels lie in one output row, or in two, so its
 * im2col row for a tap is one read of the strip, or two blended. Tile by
 * tile, each tile's chunks written in order; koff (the im2col rows' room)
 * takes each tap's strip offset; two k-quad tiles in one row at stride 1
 * at once. The tail tile (nb not a multiple of TP) is left to the caller.
 * Reads up to 5 bytes past a strip row, within the strip's slack. */
static RN_INLINE void strip_chunks(const rn_conv2d_params *c, const qgeom *g, int64_t q0, int64_t nb,
				   const uint8_t *strip, uint8_t *panel, int32_t *koff, const uint8_t flip,
				   const int quads, const int sw)
{
	const int64_t full = nb / TP, oy0 = q0 / c->ow, chan = g->srows * g->wp;
	const int per = quads ? 4 : 2;
	const int64_t kn = quads ? g->kq : g->kp, ts = quads ? g->tsq : g->ts;
	/* tap k = (ch, ky, kx) in step with its strip offset; past K, tap
	 * 0's (its weights are 0) */
	int64_t ch = 0, ky = 0, kx = 0, off = 0;
	for (int64_t k = 0; k < kn * per; k++) {
		koff[k] = k < g->k ? (int32_t)off : 0;
		off += c->dw;
		if (++kx == c->kw) {
			kx = 0;
			off += (int64_t)c->dh * g->wp - (int64_t)c->kw * c->dw;
			if (++ky == c->kh) {
				ky = 0;
				off = ++ch * chan;
			}
		}
	}
	const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	for (int64_t t = 0; t < full; t++) {
		const int64_t at = q0 + t * TP - oy0 * c->ow, oy = at / c->ow, ox = at % c->ow;
		const uint8_t *a = strip + oy * c->sh * g->wp + ox * sw;
		uint8_t *d = panel + t * ts;
		const int32_t *ko = koff;
		if (quads && sw == 1 && t + 1 < full && ox + 2 * TP <= c->ow) {
			/* two tiles in one row: 16-byte reads, 12 pixels used */
			const __m128i fl = _mm_set1_epi8((char)flip);
			for (int64_t q = 0; q < kn; q++, d += CHUNK, ko += per) {
				const __m128i v0 = _mm_loadu_si128((const __m128i *)(a + ko[0]));
				const __m128i v1 = _mm_loadu_si128((const __m128i *)(a + ko[1]));
				const __m128i v2 = _mm_loadu_si128((const __m128i *)(a + ko[2]));
				const __m128i v3 = _mm_loadu_si128((const __m128i *)(a + ko[3]));
				const __m128i ab = _mm_unpacklo_epi8(v0, v1), cd = _mm_unpacklo_epi8(v2, v3);
				const __m128i abh = _mm_unpackhi_epi8(v0, v1), cdh = _mm_unpackhi_epi8(v2, v3);
				__m128i p0 = _mm_unpacklo_epi16(ab, cd), p1 = _mm_unpackhi_epi16(ab, cd);
				__m128i p2 = _mm_unpacklo_epi16(abh, cdh);
				if (flip) {
					p0 = _mm_xor_si128(p0, fl);
					p1 = _mm_xor_si128(p1, fl);
					p2 = _mm_xor_si128(p2, fl);
				}
				_mm_storeu_si128((__m128i *)d, p0);
				_mm_storel_epi64((__m128i *)(d + 16), p1);
				_mm_storeh_pi((__m64 *)(void *)(d + ts), _mm_castsi128_ps(p1));
				_mm_storeu_si128((__m128i *)(d + ts + 8), p2);
			}
			t++;
			continue;
		}
		if (ox + TP <= c->ow) {
			for (int64_t q = 0; q < kn; q++, d += CHUNK, ko += per)
				chunk_of(d, load8(a + ko[0], sw), load8(a + ko[1], sw),
					 quads ? load8(a + ko[2], sw) : idx, quads ? load8(a + ko[3], sw) : idx, flip,
					 quads);
			continue;
		}
		/* pixels split.. in the next row: read split pixels before it */
		const int split = (int)(c->ow - ox);
		const uint8_t *b = strip + (oy + 1) * c->sh * g->wp - split * sw;
		const __m128i mk = _mm_cmpgt_epi8(idx, _mm_set1_epi8((char)(split - 1)));
		for (int64_t q = 0; q < kn; q++, d += CHUNK, ko += per) {
			__m128i v0 = _mm_blendv_epi8(load8(a + ko[0], sw), load8(b + ko[0], sw), mk);
			__m128i v1 = _mm_blendv_epi8(load8(a + ko[1], sw), load8(b + ko[1], sw), mk);
			__m128i v2 = idx, v3 = idx;
			if (quads) {
				v2 = _mm_blendv_epi8(load8(a + ko[2], sw), load8(b + ko[2], sw), mk);
				v3 = _mm_blendv_epi8(load8(a + ko[3], sw), load8(b + ko[3], sw), mk);
			}
			chunk_of(d, v0, v1, v2, v3, flip, quads);
		}
	}
}

/* The tail tile's chunks from the strip (strip_chunks leaves it): zeros
 * past nb. */
static void strip_tail(const rn_conv2d_params *c, const qgeom *g, int64_t q0, int64_t nb,
		       const uint8_t *strip, uint8_t *panel, const uint8_t flip, const int quads)
{
	const int64_t t = nb / TP, np = nb % TP, oy0 = q0 / c->ow, chan = g->srows * g->wp;
	int64_t off[TP];
	for (int64_t i = 0; i < np; i++) {
		const int64_t at = q0 + t * TP + i - oy0 * c->ow;
		off[i] = at / c->ow * c->sh * g->wp + at % c->ow * c->sw;
	}
	const int per = quads ? 4 : 2;
	const int64_t kn = quads ? g->kq : g->kp, ts = quads ? g->tsq : g->ts;
	uint8_t *d = panel + t * ts;
	for (int64_t q = 0; q < kn; q++, d += CHUNK) {
		uint8_t v[4][8] = { { 0 } };
		for (int h = 0; h < per; h++) {
			int64_t k = per * q + h < g->k ? per * q + h : per * q;
			int64_t ch = k / (c->kh * c->kw), ky = k / c->kw % c->kh, kx = k % c->kw;
			const uint8_t *r = strip + ch * chan + ky * c->dh * g->wp + kx * c->dw;
			for (int64_t i = 0; i < np; i++)
				v[h][i] = r[off[i]];
		}
		if (quads)
			chunk4(d, v[0], v[1], v[2], v[3], flip);
		else
			chunk(d, v[0], v[1], flip);
	}
}
#endif

/* The panel of pixels [q0, q0 + nb) of one image x. */
static void build_panel(const rn_qconv2d_params *p, const qgeom *g, const uint8_t *x, int64_t q0,
			int64_t nb, uint8_t *panel, uint8_t *cols, uint8_t *strip, int quads)
{
#if QK_AVX2
	if (g->fromstrip) {
		build_strip(p, g, x, q0, nb, strip);
		const int i8 = p->x_dtype == RN_I8;
		int32_t *koff = (int32_t *)(void *)cols; /* 4 * (K + 3) <= K * trow + SLACK bytes */
		const rn_conv2d_params *c = &p->conv;
		if (c->sw == 1) {
			if (quads && i8)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0x80, 1, 1);
			else if (quads)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0, 1, 1);
			else if (i8)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0x80, 0, 1);
			else
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0, 0, 1);
		} else {
			if (quads && i8)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0x80, 1, 2);
			else if (quads)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0, 1, 2);
			else if (i8)
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0x80, 0, 2);
			else
				strip_chunks(c, g, q0, nb, strip, panel, koff, 0, 0, 2);
		}
		if (nb % TP)
			strip_tail(&p->conv, g, q0, nb, strip, panel, p->x_dtype == RN_I8 ? 0x80 : 0, quads);
		return;
	}
#endif
	const uint8_t *rows = g->direct ? x + q0 : cols;
	const int64_t pitch = g->direct ? g->hw : g->trow;
	if (!g->direct)
		build_cols(p, g, x, q0, nb, cols, strip);
	if (quads && p->x_dtype == RN_I8)
		build_chunks(g, rows, pitch, nb, panel, 0x80, 1);
	else if (quads)
		build_chunks(g, rows, pitch, nb, panel, 0, 1);
	else if (p->x_dtype == RN_I8)
		build_chunks(g, rows, pitch, nb, panel, 0x80, 0);
	else
		build_chunks(g, rows, pitch, nb, panel, 0, 0);
}

/* ---- The register tile ---- */

/* Where a tile's 6 x 16 outputs go. */
typedef struct {
	uint8_t *y;             /* output at (image, first channel, first pixel) */
	const uint8_t *r;       /* the residual at the same place, NULL without */
	int64_t plane;          /* bytes from one channel's row to the next */
	int nch, npx;           /* channels (<= 16) and pixels (<= 6) that exist */
	int exact;              /* nothing past npx may be read or written (else 8 may) */
	const unsigned char *bias, *mult; /* the block's 16 int32 and 16 float */
	const unsigned char *mask;        /* the block's mask words, [2][KW] (layout 2) */
} qtile;

#if QK_AVX2

/* The index of v's lowest set bit (v != 0). */
static RN_INLINE int qk_ctz64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
	return __builtin_ctzll(v);
#else
	int n = 0;
	while (!(v & 1)) {
		v >>= 1;
		n++;
	}
	return n;
#endif
}

static RN_INLINE __m256i bcast32(const uint8_t *p)
{
	int32_t v;
	rn_memcpy(&v, p, sizeof v);
	return _mm256_set1_epi32(v);
}

/* Four rows' 8 bytes as qwords (a, b | c, d): a load, three broadcasts
 * and dword blends (no shuffles). */
static RN_INLINE __m256i load4x8(const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d)
{
	int64_t vb, vc, vd;
	rn_memcpy(&vb, b, sizeof vb);
	rn_memcpy(&vc, c, sizeof vc);
	rn_memcpy(&vd, d, sizeof vd);
	__m256i v = _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)a));
	v = _mm256_blend_epi32(v, _mm256_set1_epi64x(vb), 0x0C);
	v = _mm256_blend_epi32(v, _mm256_set1_epi64x(vc), 0x30);
	return _mm256_blend_epi32(v, _mm256_set1_epi64x(vd), 0xC0);
}

/* The epilogue of a finished accumulator (bias included); acc[i][h]:
 * pixel i, channels 8 h .. 8 h + 7 (lane 0: 8 h .. 8 h + 3, lane 1:
 * 8 h + 4 .. 8 h + 7). Each half of the channels works per lane on a
 * 4-channel x 4-pixel byte block, channel-major (byte 4 c + q): the
 * residual's rows come in as qwords (c0, c1 | c4, c5) and (c2, c3 |
 * c6, c7), two vshufps make the blocks of pixels 0..3 and 4..7, and one
 * vpshufb per pixel spreads its 4 bytes to the channels' dwords, as
 * 2^23 + r (the exponent or'ed in: r zero-extended, int8 r flipped to
 * r + 128 with its zero point), so that one subtraction of 2^23 + r_zp
 * gives (float)(r - r_zp) exactly. The results go back the same way: the
 * packs give pixel-major blocks, one vpshufb transposes each, a dword
 * unpack makes each channel's qword of pixels 0..7. */
static RN_INLINE void tile_store(__m256i acc[TP][2], const rn_q_epilogue *e, const qtile *o, const int res)
{
	/* pixel q's byte of each channel to its dword's low byte */
#define QK_PICK(q)                                                                                 \
	_mm256_setr_epi8(q, -1, -1, -1, 4 + q, -1, -1, -1, 8 + q, -1, -1, -1, 12 + q, -1, -1, -1, q, -1, \
			 -1, -1, 4 + q, -1, -1, -1, 8 + q, -1, -1, -1, 12 + q, -1, -1, -1)
	const __m256i tr4 = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8,
					     12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
	const __m256 hi = _mm256_set1_ps(e->hi);
	const __m256i lo8 = _mm256_set1_epi8((char)((int)e->lo + e->y_zp));
	const __m256i zp = _mm256_set1_epi16((short)e->y_zp);
	const int y_signed = e->y_signed;
	const int64_t ps = o->plane;
	const int nch = o->nch;
	uint8_t *y = o->y;
	__m256i G[2][2];
	const uint8_t *r = o->r;
	int64_t rs = o->plane;
	uint8_t tmp[TC][8] QK_ALIGNED(16);
	if (res && (o->exact || nch < TC)) {
		const int n = o->exact ? o->npx : 8;
		rn_memset(tmp, 0, sizeof tmp);
		for (int ch = 0; ch < nch; ch++)
			rn_memcpy(tmp[ch], r + ch * rs, (size_t)n);
		r = tmp[0];
		rs = 8;
	}
	const int rsg = res && e->r_signed;
	const __m256i mag = _mm256_set1_epi32(0x4B000000 | (rsg ? 0x80 : 0));
	const __m256 rz = _mm256_set1_ps(8388608.0f + (float)(e->r_zp + (rsg ? 128 : 0)));
	const __m256 rm = _mm256_set1_ps(e->r_mult);
	RN_UNROLL
	for (int h = 0; h < 2; h++) {
		const __m256 m = _mm256_loadu_ps((const float *)(const void *)(o->mult + 32 * h));
		__m256i B0 = _mm256_setzero_si256(), B1 = B0;
		if (res) {
			const uint8_t *rh = r + 8 * h * rs;
			const __m256 A = _mm256_castsi256_ps(load4x8(rh, rh + rs, rh + 4 * rs, rh + 5 * rs));
			const __m256 C = _mm256_castsi256_ps(load4x8(rh + 2 * rs, rh + 3 * rs, rh + 6 * rs, rh + 7 * rs));
			B0 = _mm256_castps_si256(_mm256_shuffle_ps(A, C, 0x88));
			B1 = _mm256_castps_si256(_mm256_shuffle_ps(A, C, 0xDD));
		}
		__m256i c[TP];
		RN_UNROLL
		for (int i = 0; i < TP; i++) {
			__m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[i][h]), m);
			if (res) {
				const __m256i b = _mm256_shuffle_epi8(i < 4 ? B0 : B1, QK_PICK(i % 4));
				const __m256 rv = _mm256_sub_ps(_mm256_castsi256_ps(_mm256_xor_si256(b, mag)), rz);
				f = _mm256_fmadd_ps(rv, rm, f);
			}
			c[i] = _mm256_cvtps_epi32(_mm256_min_ps(hi, f));
		}
		/* hi - y_zp bounds v in float, lo the bytes: rounding is
		 * monotonic and lo - y_zp an integer, so that max(round(v), lo -
		 * y_zp) is the contract's round(max(v, lo - y_zp)). A v below
		 * int32 (or NaN: vminps returns its second operand, NaN, and
		 * vcvtps2dq INT32_MIN) saturates down through int16 (plus y_zp,
		 * saturating) and y's type to lo at most; the values above lo are
		 * exact all the way. */
		const __m256i p01 = _mm256_adds_epi16(_mm256_packs_epi32(c[0], c[1]), zp);
		const __m256i p23 = _mm256_adds_epi16(_mm256_packs_epi32(c[2], c[3]), zp);
		const __m256i p45 = _mm256_adds_epi16(_mm256_packs_epi32(c[4], c[5]), zp);
		__m256i D0 = y_signed ? _mm256_max_epi8(_mm256_packs_epi16(p01, p23), lo8)
				      : _mm256_max_epu8(_mm256_packus_epi16(p01, p23), lo8);
		__m256i D1 = y_signed ? _mm256_max_epi8(_mm256_packs_epi16(p45, p45), lo8)
				      : _mm256_max_epu8(_mm256_packus_epi16(p45, p45), lo8);
		D0 = _mm256_shuffle_epi8(D0, tr4);
		D1 = _mm256_shuffle_epi8(D1, tr4);
		/* pixels 6 and 7 belong to this thread's next tile, which
		 * rewrites them; with a residual they carry its bytes,
		 * unchanged when y is the residual itself */
		if (res)
			D1 = _mm256_blend_epi16(D1, B1, 0xAA);
		G[h][0] = _mm256_unpacklo_epi32(D0, D1); /* qwords c0, c1 | c4, c5 */
		G[h][1] = _mm256_unpackhi_epi32(D0, D1); /* c2, c3 | c6, c7 */
	}
#undef QK_PICK
	if (!o->exact) {
		RN_UNROLL
		for (int k = 0; k < 4; k++) {
			const __m256i g = G[k / 2][k % 2];
			const __m128i a = _mm256_castsi256_si128(g), b = _mm256_extracti128_si256(g, 1);
			const int c0 = 8 * (k / 2) + 2 * (k % 2);
			if (nch == TC) {
				_mm_storel_epi64((__m128i *)(y + c0 * ps), a);
				_mm_storeh_pi((__m64 *)(void *)(y + (c0 + 1) * ps), _mm_castsi128_ps(a));
				_mm_storel_epi64((__m128i *)(y + (c0 + 4) * ps), b);
				_mm_storeh_pi((__m64 *)(void *)(y + (c0 + 5) * ps), _mm_castsi128_ps(b));
				continue;
			}
			if (c0 < nch)
				_mm_storel_epi64((__m128i *)(y + c0 * ps), a);
			if (c0 + 1 < nch)
				_mm_storeh_pi((__m64 *)(void *)(y + (c0 + 1) * ps), _mm_castsi128_ps(a));
			if (c0 + 4 < nch)
				_mm_storel_epi64((__m128i *)(y + (c0 + 4) * ps), b);
			if (c0 + 5 < nch)
				_mm_storeh_pi((__m64 *)(void *)(y + (c0 + 5) * ps), _mm_castsi128_ps(b));
		}
		return;
	}
	uint8_t buf[2][2][32] QK_ALIGNED(32);
	for (int k = 0; k < 4; k++)
		_mm256_store_si256((__m256i *)buf[k / 2][k % 2], G[k / 2][k % 2]);
	const int npx = o->npx;
	for (int ch = 0; ch < nch; ch++) {
		const int u = ch % 8;
		const uint8_t *s = &buf[ch / 8][(u % 4) / 2][(u / 4) * 16 + (u % 2) * 8];
		if (npx == TP) {
			rn_memcpy(y + ch * ps, s, TP);
			continue;
		}
		for (int i = 0; i < npx; i++)
			y[ch * ps + i] = s[i];
	}
}

#define QK_STEP(i)                                                                         \
	do {                                                                               \
		const __m256i b_ = bcast32(a + 4 * (i));                                   \
		c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(b_, w0));            \
		c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(b_, w1));            \
	} while (0)

/* 6 pixels x 16 channels over kp k-pairs: a is the tile's panel, w the
 * block's packed weights. */
static RN_INLINE void tile_avx2(int64_t kp, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				const qtile *o, const int res, const int np)
{
	__m256i c00 = _mm256_loadu_si256((const __m256i *)o->bias);
	__m256i c01 = _mm256_loadu_si256((const __m256i *)(o->bias + 32));
	__m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
	__m256i c40 = c00, c41 = c01, c50 = c00, c51 = c01;
	for (int64_t q = 0; q < kp; q++) {
		const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
		const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));
		QK_STEP(0);
		if (np > 1)
			QK_STEP(1);
		if (np > 2)
			QK_STEP(2);
		if (np > 3)
			QK_STEP(3);
		if (np > 4)
			QK_STEP(4);
		if (np > 5)
			QK_STEP(5);
		a += CHUNK;
		w += 2 * TC;
	}
	__m256i acc[TP][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
			       { c30, c31 }, { c40, c41 }, { c50, c51 } };
	tile_store(acc, e, o, res);
}
#undef QK_STEP

/* The k-quad tile: per k-quad, a pixel's 4 bytes broadcast, vpmaddubsw
 * with each channel's 4 weights (two int16 pair sums per channel, exact
 * for safe pairs), vpmaddwd with ones (their int32 sum), vpaddd. */
#define QK_STEP4(i)                                                                          \
	do {                                                                                 \
		const __m256i b_ = bcast32(a + 4 * (i));                                     \
		c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(_mm256_maddubs_epi16(b_, w0), ones)); \
		c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(_mm256_maddubs_epi16(b_, w1), ones)); \
	} while (0)

/* np (1 to TP) pixels: fewer than TP for an image's last tile, which
 * then costs about np / TP of a whole one. */
static RN_INLINE void tile4_avx2(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				 const qtile *o, const int res, const int np)
{
	__m256i c00 = _mm256_loadu_si256((const __m256i *)o->bias);
	__m256i c01 = _mm256_loadu_si256((const __m256i *)(o->bias + 32));
	__m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
	__m256i c40 = c00, c41 = c01, c50 = c00, c51 = c01;
	const __m256i ones = _mm256_set1_epi16(1);
	for (int64_t q = 0; q < kq; q++) {
		const __m256i w0 = _mm256_loadu_si256((const __m256i *)w);
		const __m256i w1 = _mm256_loadu_si256((const __m256i *)(w + 32));
		QK_STEP4(0);
		if (np > 1)
			QK_STEP4(1);
		if (np > 2)
			QK_STEP4(2);
		if (np > 3)
			QK_STEP4(3);
		if (np > 4)
			QK_STEP4(4);
		if (np > 5)
			QK_STEP4(5);
		a += CHUNK;
		w += 4 * TC;
	}
	__m256i acc[TP][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
			       { c30, c31 }, { c40, c41 }, { c50, c51 } };
	tile_store(acc, e, o, res);
}

/* The mask's bits past the end of a block's last quads are 0 (pack). */
static RN_INLINE uint64_t mask_word(const unsigned char *mask, int64_t i)
{
	uint64_t v;
	rn_memcpy(&v, mask + i * sizeof v, sizeof v);
	return v;
}

/* The k-quad tile of layout 2: the quads unmasked in both halves (the
 * block's channels 0..7 and 8..15, a vector each) as tile4_avx2's, then
 * those masked in one half or both: a masked half exact in 16 bits, a
 * pixel's quad bytes (x0, x1, x2, x3) as (x0, x2) and (x1, x3)
 * zero-extended int16, the channels' weights as (w0, w2) and (w1, w3)
 * sign-extended, two vpmaddwd. One pass per kind of quad, each over the
 * set bits of its mask words. */
#define QK_MSTEP(i, x0, x1)                                                                       \
	do {                                                                                      \
		const __m256i b_ = bcast32(aq + 4 * (i));                                         \
		__m256i e_ = b_, o_ = b_;                                                         \
		if ((x0) || (x1)) {                                                               \
			e_ = _mm256_and_si256(b_, lo8);                                           \
			o_ = _mm256_srli_epi16(b_, 8);                                            \
		}                                                                                 \
		if (x0)                                                                           \
			c##i##0 = _mm256_add_epi32(c##i##0, _mm256_add_epi32(_mm256_madd_epi16(e_, we0), \
									    _mm256_madd_epi16(o_, wo0))); \
		else                                                                              \
			c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(_mm256_maddubs_epi16(b_, w0), ones)); \
		if (x1)                                                                           \
			c##i##1 = _mm256_add_epi32(c##i##1, _mm256_add_epi32(_mm256_madd_epi16(e_, we1), \
									    _mm256_madd_epi16(o_, wo1))); \
		else                                                                              \
			c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(_mm256_maddubs_epi16(b_, w1), ones)); \
	} while (0)

/* One pass: the quads whose bits sel (an expression of the halves' mask
 * words h0, h1 and of all, the bits of quads that exist) sets; x0, x1:
 * whether half 0, 1 is exact in 16 bits. */
#define QK_MPASS(sel, x0, x1)                                                                     \
	for (int64_t i = 0; i < nw; i++) {                                                        \
		const int64_t n = kq - 64 * i < 64 ? kq - 64 * i : 64;                            \
		const uint64_t all = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;             \
		const uint64_t h0 = mask_word(o->mask, i), h1 = mask_word(o->mask, nw + i);       \
		uint64_t todo = (sel) & all;                                                      \
		(void)h0;                                                                         \
		(void)h1;                                                                         \
		while (todo) {                                                                    \
			const int64_t q = 64 * i + qk_ctz64(todo);                                \
			todo &= todo - 1;                                                         \
			const uint8_t *aq = a + q * CHUNK;                                        \
			const __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + q * 4 * TC)); \
			const __m256i w1 = _mm256_loadu_si256((const __m256i *)(w + q * 4 * TC + 32)); \
			__m256i we0 = w0, wo0 = w0, we1 = w1, wo1 = w1;                           \
			if (x0) {                                                                 \
				we0 = _mm256_srai_epi16(_mm256_slli_epi16(w0, 8), 8);             \
				wo0 = _mm256_srai_epi16(w0, 8);                                   \
			}                                                                         \
			if (x1) {                                                                 \
				we1 = _mm256_srai_epi16(_mm256_slli_epi16(w1, 8), 8);             \
				wo1 = _mm256_srai_epi16(w1, 8);                                   \
			}                                                                         \
			QK_MSTEP(0, x0, x1);                                                      \
			if (np > 1)                                                               \
				QK_MSTEP(1, x0, x1);                                              \
			if (np > 2)                                                               \
				QK_MSTEP(2, x0, x1);                                              \
			if (np > 3)                                                               \
				QK_MSTEP(3, x0, x1);                                              \
			if (np > 4)                                                               \
				QK_MSTEP(4, x0, x1);                                              \
			if (np > 5)                                                               \
				QK_MSTEP(5, x0, x1);                                              \
		}                                                                                 \
	}

static RN_INLINE void tile4m_avx2(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				  const qtile *o, const int res, const int np)
{
	__m256i c00 = _mm256_loadu_si256((const __m256i *)o->bias);
	__m256i c01 = _mm256_loadu_si256((const __m256i *)(o->bias + 32));
	__m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
	__m256i c40 = c00, c41 = c01, c50 = c00, c51 = c01;
	const __m256i ones = _mm256_set1_epi16(1), lo8 = _mm256_set1_epi16(0xff);
	const int64_t nw = (kq + 63) / 64;
	QK_MPASS(~(h0 | h1), 0, 0)
	QK_MPASS(h0 & ~h1, 1, 0)
	QK_MPASS(h1 & ~h0, 0, 1)
	QK_MPASS(h0 & h1, 1, 1)
	__m256i acc[TP][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 },
			       { c30, c31 }, { c40, c41 }, { c50, c51 } };
	tile_store(acc, e, o, res);
}
#undef QK_MPASS
#undef QK_MSTEP
#undef QK_STEP4

static QK_NOINLINE void tile_avx2_plain(int64_t kp, const uint8_t *a, const int8_t *w,
				       const rn_q_epilogue *e, const qtile *o)
{
	tile_avx2(kp, a, w, e, o, 0, TP);
}

static QK_NOINLINE void tile_avx2_res(int64_t kp, const uint8_t *a, const int8_t *w,
				     const rn_q_epilogue *e, const qtile *o)
{
	tile_avx2(kp, a, w, e, o, 1, TP);
}

static QK_NOINLINE void tile4_avx2_plain(int64_t kq, const uint8_t *a, const int8_t *w,
					const rn_q_epilogue *e, const qtile *o)
{
	tile4_avx2(kq, a, w, e, o, 0, TP);
}

static QK_NOINLINE void tile4_avx2_res(int64_t kq, const uint8_t *a, const int8_t *w,
				      const rn_q_epilogue *e, const qtile *o)
{
	tile4_avx2(kq, a, w, e, o, 1, TP);
}

/* A partial tile (o->npx < TP) of o->npx pixels, by fn (tile_avx2,
 * tile4_avx2 or tile4m_avx2); 4 pixels take 5's. */
#define QK_PART(name, fn)                                                                        \
	static QK_NOINLINE void name(int64_t kn, const uint8_t *a, const int8_t *w,               \
				     const rn_q_epilogue *e, const qtile *o)                     \
	{                                                                                         \
		const int res = e->has_res;                                                       \
		switch (o->npx) {                                                                 \
		case 1:                                                                           \
			if (res)                                                                  \
				fn(kn, a, w, e, o, 1, 1);                                         \
			else                                                                      \
				fn(kn, a, w, e, o, 0, 1);                                         \
			break;                                                                    \
		case 2:                                                                           \
			if (res)                                                                  \
				fn(kn, a, w, e, o, 1, 2);                                         \
			else                                                                      \
				fn(kn, a, w, e, o, 0, 2);                                         \
			break;                                                                    \
		case 3:                                                                           \
			if (res)                                                                  \
				fn(kn, a, w, e, o, 1, 3);                                         \
			else                                                                      \
				fn(kn, a, w, e, o, 0, 3);                                         \
			break;                                                                    \
		default:                                                                          \
			if (res)                                                                  \
				fn(kn, a, w, e, o, 1, 5);                                         \
			else                                                                      \
				fn(kn, a, w, e, o, 0, 5);                                         \
			break;                                                                    \
		}                                                                                 \
	}
QK_PART(tile_avx2_part, tile_avx2)
QK_PART(tile4_avx2_part, tile4_avx2)
QK_PART(tile4m_avx2_part, tile4m_avx2)
#undef QK_PART

static QK_NOINLINE void tile4m_avx2_plain(int64_t kq, const uint8_t *a, const int8_t *w,
					 const rn_q_epilogue *e, const qtile *o)
{
	tile4m_avx2(kq, a, w, e, o, 0, TP);
}

static QK_NOINLINE void tile4m_avx2_res(int64_t kq, const uint8_t *a, const int8_t *w,
				       const rn_q_epilogue *e, const qtile *o)
{
	tile4m_avx2(kq, a, w, e, o, 1, TP);
}

/* kn k-groups of the layout. */
static void tile(int layout, int64_t kn, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
		 const qtile *o)
{
	if (layout == L_MIXED) {
		if (o->npx < TP)
			tile4m_avx2_part(kn, a, w, e, o);
		else if (e->has_res)
			tile4m_avx2_res(kn, a, w, e, o);
		else
			tile4m_avx2_plain(kn, a, w, e, o);
	} else if (layout == L_QUADS) {
		if (o->npx < TP)
			tile4_avx2_part(kn, a, w, e, o);
		else if (e->has_res)
			tile4_avx2_res(kn, a, w, e, o);
		else
			tile4_avx2_plain(kn, a, w, e, o);
	} else if (o->npx < TP) {
		tile_avx2_part(kn, a, w, e, o);
	} else if (e->has_res) {
		tile_avx2_res(kn, a, w, e, o);
	} else {
		tile_avx2_plain(kn, a, w, e, o);
	}
}


/* n whole tiles in a row (every one TP pixels, 8 bytes per channel
 * writable), one call: o0 is the first's, a its panel, ts panel bytes
 * per tile. */
#define QK_RUN(name, fn, res)                                                                     \
	static QK_NOINLINE void name(int64_t kn, const uint8_t *a, int64_t ts, const int8_t *w,    \
				     const rn_q_epilogue *e, const qtile *o0, int64_t n)          \
	{                                                                                         \
		qtile o = *o0;                                                                    \
		for (int64_t t = 0; t < n; t++) {                                                 \
			fn(kn, a, w, e, &o, res, TP);                                             \
			a += ts;                                                                  \
			o.y += TP;                                                                \
			if (res)                                                                  \
				o.r += TP;                                                        \
		}                                                                                 \
	}
QK_RUN(run_avx2_plain, tile_avx2, 0)
QK_RUN(run_avx2_res, tile_avx2, 1)
QK_RUN(run4_avx2_plain, tile4_avx2, 0)
QK_RUN(run4_avx2_res, tile4_avx2, 1)
QK_RUN(run4m_avx2_plain, tile4m_avx2, 0)
QK_RUN(run4m_avx2_res, tile4m_avx2, 1)
#undef QK_RUN

static void tiles(int layout, int64_t kn, const uint8_t *a, int64_t ts, const int8_t *w,
		  const rn_q_epilogue *e, const qtile *o, int64_t n)
{
	if (n <= 0)
		return;
	if (layout == L_MIXED)
		(e->has_res ? run4m_avx2_res : run4m_avx2_plain)(kn, a, ts, w, e, o, n);
	else if (layout == L_QUADS)
		(e->has_res ? run4_avx2_res : run4_avx2_plain)(kn, a, ts, w, e, o, n);
	else
		(e->has_res ? run_avx2_res : run_avx2_plain)(kn, a, ts, w, e, o, n);
}

#else /* portable C; AArch64 NEON sums */

#if QK_NEON
/* AArch64 NEON: the same tile's sums (6 pixels x 16 channels, the same
 * panel and weights) by widening multiply-accumulates, exact for any
 * weights: bytes widened to int16 (the pixels' zero-extended, the
 * weights' sign-extended), vmlal by one pixel's value per lane into int32.
 * Half the block's channels a pass (12 accumulators, the 4 k's weights of
 * 8 channels, the 6 pixels' values: within the 32 registers). */
#define QN_MLA(p, wv, xv, lane)                                                        \
	do {                                                                           \
		c##p##0 = vmlal_laneq_s16(c##p##0, vget_low_s16(wv), xv, lane);       \
		c##p##1 = vmlal_high_laneq_s16(c##p##1, wv, xv, lane);                \
	} while (0)

static RN_INLINE void neon_half(int64_t kn, const uint8_t *a, const int8_t *w, int32_t acc[TP][TC],
				const int hc, const int quads)
{
	int32x4_t c00 = vld1q_s32(&acc[0][8 * hc]), c01 = vld1q_s32(&acc[0][8 * hc + 4]);
	int32x4_t c10 = vld1q_s32(&acc[1][8 * hc]), c11 = vld1q_s32(&acc[1][8 * hc + 4]);
	int32x4_t c20 = vld1q_s32(&acc[2][8 * hc]), c21 = vld1q_s32(&acc[2][8 * hc + 4]);
	int32x4_t c30 = vld1q_s32(&acc[3][8 * hc]), c31 = vld1q_s32(&acc[3][8 * hc + 4]);
	int32x4_t c40 = vld1q_s32(&acc[4][8 * hc]), c41 = vld1q_s32(&acc[4][8 * hc + 4]);
	int32x4_t c50 = vld1q_s32(&acc[5][8 * hc]), c51 = vld1q_s32(&acc[5][8 * hc + 4]);
	for (int64_t q = 0; q < kn; q++) {
		if (quads) {
			/* w[4 j + h]: h's 16 channels in val[h] */
			const int8x16x4_t wv = vld4q_s8(w);
			const int16x8_t w0 = hc ? vmovl_high_s8(wv.val[0]) : vmovl_s8(vget_low_s8(wv.val[0]));
			const int16x8_t w1 = hc ? vmovl_high_s8(wv.val[1]) : vmovl_s8(vget_low_s8(wv.val[1]));
			const int16x8_t w2 = hc ? vmovl_high_s8(wv.val[2]) : vmovl_s8(vget_low_s8(wv.val[2]));
			const int16x8_t w3 = hc ? vmovl_high_s8(wv.val[3]) : vmovl_s8(vget_low_s8(wv.val[3]));
			/* pixel p's quad at bytes 4 p .. 4 p + 3 */
			const uint8x16_t xa = vld1q_u8(a);
			const int16x8_t x01 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(xa)));
			const int16x8_t x23 = vreinterpretq_s16_u16(vmovl_high_u8(xa));
			const int16x8_t x45 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a + 16)));
#define QN_PX4(p, xv, b)                     \
	do {                                 \
		QN_MLA(p, w0, xv, (b) + 0);  \
		QN_MLA(p, w1, xv, (b) + 1);  \
		QN_MLA(p, w2, xv, (b) + 2);  \
		QN_MLA(p, w3, xv, (b) + 3);  \
	} while (0)
			QN_PX4(0, x01, 0);
			QN_PX4(1, x01, 4);
			QN_PX4(2, x23, 0);
			QN_PX4(3, x23, 4);
			QN_PX4(4, x45, 0);
			QN_PX4(5, x45, 4);
#undef QN_PX4
			w += 4 * TC;
		} else {
			/* w[2 j + h]; pixel p's pair (uint16) at lanes 2 p, 2 p + 1 */
			const int8x16x2_t wv = vld2q_s8(w);
			const int16x8_t w0 = hc ? vmovl_high_s8(wv.val[0]) : vmovl_s8(vget_low_s8(wv.val[0]));
			const int16x8_t w1 = hc ? vmovl_high_s8(wv.val[1]) : vmovl_s8(vget_low_s8(wv.val[1]));
			const uint16_t *x16 = (const uint16_t *)(const void *)a;
			const int16x8_t xa = vreinterpretq_s16_u16(vld1q_u16(x16));
			const uint16x4_t xb4 = vld1_u16(x16 + 8);
			const int16x8_t xb = vreinterpretq_s16_u16(vcombine_u16(xb4, xb4));
#define QN_PX2(p, xv, b)                     \
	do {                                 \
		QN_MLA(p, w0, xv, (b) + 0);  \
		QN_MLA(p, w1, xv, (b) + 1);  \
	} while (0)
			QN_PX2(0, xa, 0);
			QN_PX2(1, xa, 2);
			QN_PX2(2, xa, 4);
			QN_PX2(3, xa, 6);
			QN_PX2(4, xb, 0);
			QN_PX2(5, xb, 2);
#undef QN_PX2
			w += 2 * TC;
		}
		a += CHUNK;
	}
	vst1q_s32(&acc[0][8 * hc], c00), vst1q_s32(&acc[0][8 * hc + 4], c01);
	vst1q_s32(&acc[1][8 * hc], c10), vst1q_s32(&acc[1][8 * hc + 4], c11);
	vst1q_s32(&acc[2][8 * hc], c20), vst1q_s32(&acc[2][8 * hc + 4], c21);
	vst1q_s32(&acc[3][8 * hc], c30), vst1q_s32(&acc[3][8 * hc + 4], c31);
	vst1q_s32(&acc[4][8 * hc], c40), vst1q_s32(&acc[4][8 * hc + 4], c41);
	vst1q_s32(&acc[5][8 * hc], c50), vst1q_s32(&acc[5][8 * hc + 4], c51);
}
#undef QN_MLA

#if defined(__ARM_FEATURE_DOTPROD)
/* With the dot-product instructions (Armv8.2 dotprod: -march=native on such
 * a CPU, or -march=armv8.2-a+dotprod), the k-quad layouts by sdot: a
 * weight vector is 4 channels' quads as packed, a panel vector 4 pixels'
 * quads, sdot by lane adds one pixel's 4 products to each channel's int32.
 * sdot multiplies int8 by int8: the panel's bytes x (uint8) go in as
 * x - 128 (flipped), and 128 times each channel's weight sum, taken by sdot
 * with ones along the way, is added back: the same sums exactly (mod 2^32,
 * as the int32 accumulator is). Half the channels a pass, as neon_half. */
#define QN_DOT(p, g, xv, lane) c##p##g = vdotq_laneq_s32(c##p##g, w##g, xv, lane)
static RN_INLINE void neon_dot_half(int64_t kq, const uint8_t *a, const int8_t *w, int32_t acc[TP][TC],
				    const int hc)
{
	int32x4_t c00 = vld1q_s32(&acc[0][8 * hc]), c01 = vld1q_s32(&acc[0][8 * hc + 4]);
	int32x4_t c10 = vld1q_s32(&acc[1][8 * hc]), c11 = vld1q_s32(&acc[1][8 * hc + 4]);
	int32x4_t c20 = vld1q_s32(&acc[2][8 * hc]), c21 = vld1q_s32(&acc[2][8 * hc + 4]);
	int32x4_t c30 = vld1q_s32(&acc[3][8 * hc]), c31 = vld1q_s32(&acc[3][8 * hc + 4]);
	int32x4_t c40 = vld1q_s32(&acc[4][8 * hc]), c41 = vld1q_s32(&acc[4][8 * hc + 4]);
	int32x4_t c50 = vld1q_s32(&acc[5][8 * hc]), c51 = vld1q_s32(&acc[5][8 * hc + 4]);
	int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
	const int8x16_t ones = vdupq_n_s8(1);
	const uint8x16_t fl = vdupq_n_u8(0x80);
	w += 32 * hc;
	for (int64_t q = 0; q < kq; q++) {
		const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16);
		s0 = vdotq_s32(s0, w0, ones);
		s1 = vdotq_s32(s1, w1, ones);
		const int8x16_t x03 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a), fl));
		const int8x16_t x45 = vreinterpretq_s8_u8(veorq_u8(vcombine_u8(vld1_u8(a + 16), vdup_n_u8(0)), fl));
		QN_DOT(0, 0, x03, 0), QN_DOT(0, 1, x03, 0);
		QN_DOT(1, 0, x03, 1), QN_DOT(1, 1, x03, 1);
		QN_DOT(2, 0, x03, 2), QN_DOT(2, 1, x03, 2);
		QN_DOT(3, 0, x03, 3), QN_DOT(3, 1, x03, 3);
		QN_DOT(4, 0, x45, 0), QN_DOT(4, 1, x45, 0);
		QN_DOT(5, 0, x45, 1), QN_DOT(5, 1, x45, 1);
		a += CHUNK;
		w += 4 * TC;
	}
	s0 = vshlq_n_s32(s0, 7);
	s1 = vshlq_n_s32(s1, 7);
	vst1q_s32(&acc[0][8 * hc], vaddq_s32(c00, s0)), vst1q_s32(&acc[0][8 * hc + 4], vaddq_s32(c01, s1));
	vst1q_s32(&acc[1][8 * hc], vaddq_s32(c10, s0)), vst1q_s32(&acc[1][8 * hc + 4], vaddq_s32(c11, s1));
	vst1q_s32(&acc[2][8 * hc], vaddq_s32(c20, s0)), vst1q_s32(&acc[2][8 * hc + 4], vaddq_s32(c21, s1));
	vst1q_s32(&acc[3][8 * hc], vaddq_s32(c30, s0)), vst1q_s32(&acc[3][8 * hc + 4], vaddq_s32(c31, s1));
	vst1q_s32(&acc[4][8 * hc], vaddq_s32(c40, s0)), vst1q_s32(&acc[4][8 * hc + 4], vaddq_s32(c41, s1));
	vst1q_s32(&acc[5][8 * hc], vaddq_s32(c50, s0)), vst1q_s32(&acc[5][8 * hc + 4], vaddq_s32(c51, s1));
}
#undef QN_DOT
#endif

static void neon_sums(int64_t kn, const uint8_t *a, const int8_t *w, int32_t acc[TP][TC], const int quads)
{
	if (quads) {
#if defined(__ARM_FEATURE_DOTPROD)
		neon_dot_half(kn, a, w, acc, 0);
		neon_dot_half(kn, a, w, acc, 1);
#else
		neon_half(kn, a, w, acc, 0, 1);
		neon_half(kn, a, w, acc, 1, 1);
#endif
	} else {
		neon_half(kn, a, w, acc, 0, 0);
		neon_half(kn, a, w, acc, 1, 0);
	}
}
#endif

#if QK_NEON32
/* ARMv7 NEON (16 q registers): the same sums by vmlal_lane_s16, a quarter
 * of the block's channels a pass (6 accumulators, the 4 channels' weights
 * of each k, the pixels' values), exact for any weights. */
#define QN_W4(v) (qc & 2 ? vget_high_s8(v) : vget_low_s8(v))
#define QN_Q4(v8) (qc & 1 ? vget_high_s16(v8) : vget_low_s16(v8))
#define QN_ML(p, wv, xh, lane) c##p = vmlal_lane_s16(c##p, wv, xh, lane)
static RN_INLINE void neon32_quarter(int64_t kn, const uint8_t *a, const int8_t *w, int32_t acc[TP][TC],
				     const int qc, const int quads)
{
	int32x4_t c0 = vld1q_s32(&acc[0][4 * qc]), c1 = vld1q_s32(&acc[1][4 * qc]);
	int32x4_t c2 = vld1q_s32(&acc[2][4 * qc]), c3 = vld1q_s32(&acc[3][4 * qc]);
	int32x4_t c4 = vld1q_s32(&acc[4][4 * qc]), c5 = vld1q_s32(&acc[5][4 * qc]);
	for (int64_t q = 0; q < kn; q++) {
		if (quads) {
			const int8x16x4_t wv = vld4q_s8(w);
			const int16x4_t w0 = QN_Q4(vmovl_s8(QN_W4(wv.val[0]))), w1 = QN_Q4(vmovl_s8(QN_W4(wv.val[1])));
			const int16x4_t w2 = QN_Q4(vmovl_s8(QN_W4(wv.val[2]))), w3 = QN_Q4(vmovl_s8(QN_W4(wv.val[3])));
			const uint8x16_t xa = vld1q_u8(a);
			const int16x8_t x01 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(xa)));
			const int16x8_t x23 = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(xa)));
			const int16x8_t x45 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a + 16)));
#define QN_PX4(p, xh)                  \
	do {                           \
		QN_ML(p, w0, xh, 0);   \
		QN_ML(p, w1, xh, 1);   \
		QN_ML(p, w2, xh, 2);   \
		QN_ML(p, w3, xh, 3);   \
	} while (0)
			QN_PX4(0, vget_low_s16(x01));
			QN_PX4(1, vget_high_s16(x01));
			QN_PX4(2, vget_low_s16(x23));
			QN_PX4(3, vget_high_s16(x23));
			QN_PX4(4, vget_low_s16(x45));
			QN_PX4(5, vget_high_s16(x45));
#undef QN_PX4
			w += 4 * TC;
		} else {
			const int8x16x2_t wv = vld2q_s8(w);
			const int16x4_t w0 = QN_Q4(vmovl_s8(QN_W4(wv.val[0]))), w1 = QN_Q4(vmovl_s8(QN_W4(wv.val[1])));
			const uint16_t *x16 = (const uint16_t *)(const void *)a;
			const int16x8_t xa = vreinterpretq_s16_u16(vld1q_u16(x16));
			const int16x4_t xb = vreinterpret_s16_u16(vld1_u16(x16 + 8));
#define QN_PX2(p, xh, l)                   \
	do {                               \
		QN_ML(p, w0, xh, (l) + 0); \
		QN_ML(p, w1, xh, (l) + 1); \
	} while (0)
			QN_PX2(0, vget_low_s16(xa), 0);
			QN_PX2(1, vget_low_s16(xa), 2);
			QN_PX2(2, vget_high_s16(xa), 0);
			QN_PX2(3, vget_high_s16(xa), 2);
			QN_PX2(4, xb, 0);
			QN_PX2(5, xb, 2);
#undef QN_PX2
			w += 2 * TC;
		}
		a += CHUNK;
	}
	vst1q_s32(&acc[0][4 * qc], c0), vst1q_s32(&acc[1][4 * qc], c1), vst1q_s32(&acc[2][4 * qc], c2);
	vst1q_s32(&acc[3][4 * qc], c3), vst1q_s32(&acc[4][4 * qc], c4), vst1q_s32(&acc[5][4 * qc], c5);
}
#undef QN_ML
#undef QN_Q4
#undef QN_W4

static void neon_sums(int64_t kn, const uint8_t *a, const int8_t *w, int32_t acc[TP][TC], const int quads)
{
	if (quads) {
		neon32_quarter(kn, a, w, acc, 0, 1);
		neon32_quarter(kn, a, w, acc, 1, 1);
		neon32_quarter(kn, a, w, acc, 2, 1);
		neon32_quarter(kn, a, w, acc, 3, 1);
	} else {
		neon32_quarter(kn, a, w, acc, 0, 0);
		neon32_quarter(kn, a, w, acc, 1, 0);
		neon32_quarter(kn, a, w, acc, 2, 0);
		neon32_quarter(kn, a, w, acc, 3, 0);
	}
}
#endif

/* Every layout's products exact in int32: layout 2 as layout 1. */
static void tile(int layout, int64_t kn, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
		 const qtile *o)
{
	const int quads = layout != L_PAIRS;
	uint32_t acc[TP][TC];
	for (int j = 0; j < TC; j++) {
		int32_t b;
		rn_memcpy(&b, o->bias + j * sizeof b, sizeof b);
		for (int i = 0; i < TP; i++)
			acc[i][j] = (uint32_t)b;
	}
#if QK_NEON || QK_NEON32
	{
		int32_t sacc[TP][TC];
		rn_memcpy(sacc, acc, sizeof sacc);
		neon_sums(kn, a, w, sacc, quads);
		rn_memcpy(acc, sacc, sizeof acc);
		kn = 0; /* the loops below: nothing more to sum */
	}
#endif
	if (quads) {
		for (int64_t q = 0; q < kn; q++) {
			const uint8_t *x = a + q * CHUNK;
			for (int i = 0; i < TP; i++)
				for (int j = 0; j < TC; j++)
					acc[i][j] += (uint32_t)(w[4 * j] * x[4 * i] + w[4 * j + 1] * x[4 * i + 1] +
								w[4 * j + 2] * x[4 * i + 2] + w[4 * j + 3] * x[4 * i + 3]);
			w += 4 * TC;
		}
	}
	for (int64_t q = 0; !quads && q < kn; q++) {
		const uint16_t *x = (const uint16_t *)(const void *)(a + q * CHUNK);
		for (int i = 0; i < TP; i++) {
			const int x0 = x[2 * i], x1 = x[2 * i + 1];
			for (int j = 0; j < TC; j++)
				acc[i][j] += (uint32_t)(w[2 * j] * x0 + w[2 * j + 1] * x1);
		}
		w += 2 * TC;
	}
	for (int j = 0; j < o->nch; j++) {
		float m;
		rn_memcpy(&m, o->mult + j * sizeof m, sizeof m);
		for (int i = 0; i < o->npx; i++) {
			const int64_t at = j * o->plane + i;
			int r = e->has_res ? (e->r_signed ? (int)(int8_t)o->r[at] : (int)o->r[at]) : 0;
			o->y[at] = (uint8_t)rn_q_requant(e, rn_q_wrap32((int64_t)acc[i][j]), m, r);
		}
	}
}


static void tiles(int layout, int64_t kn, const uint8_t *a, int64_t ts, const int8_t *w,
		  const rn_q_epilogue *e, const qtile *o0, int64_t n)
{
	qtile o = *o0;
	for (int64_t t = 0; t < n; t++) {
		tile(layout, kn, a + t * ts, w, e, &o);
		o.y += TP;
		if (o.r)
			o.r += TP;
	}
}

#endif

/* ---- The run ---- */

typedef struct {
	const rn_qconv2d_params *p;
	qgeom g;
	rn_q_epilogue e;
	const uint8_t *x, *r;
	uint8_t *y;
	const int8_t *w;
	const unsigned char *bias, *mult;
	uint8_t *scratch;
	int64_t nblk;     /* blocks per image */
	int64_t groups;   /* tasks per block: the 16-channel blocks split in groups */
	int64_t mblocks;
	int grp_major;    /* tasks numbered group by group (each thread's share one group) */
	int layout;       /* L_PAIRS, L_QUADS, L_MIXED */
	int quads;        /* a k-quad layout */
	const unsigned char *mask;
} qjob;

static void qconv_task(void *ctx, int64_t task, int thread)
{
	const qjob *J = ctx;
	const qgeom *g = &J->g;
	const rn_conv2d_params *c = &J->p->conv;
	const int64_t grp = task % J->groups, blk = (task / J->groups) % J->nblk;
	const int64_t img = task / J->groups / J->nblk;
	/* blocks split the tiles evenly: at most tb each */
	const int64_t q0 = blk * g->tiles / J->nblk * TP;
	const int64_t q1 = (blk + 1) * g->tiles / J->nblk * TP;
	const int64_t nb = (q1 < g->ohw ? q1 : g->ohw) - q0;
	uint8_t *panel = J->scratch + (size_t)thread * g->slice;
	uint8_t *cols = panel + align_up(g->panel), *strip = cols + align_up(g->cols);
	build_panel(J->p, g, J->x + img * c->c * g->hw, q0, nb, panel, cols, strip, J->quads);
	const int64_t kn = J->quads ? g->kq : g->kp, ts = J->quads ? g->tsq : g->ts;
	const int64_t mb0 = grp * J->mblocks / J->groups, mb1 = (grp + 1) * J->mblocks / J->groups;
	const int64_t ntile = (nb + TP - 1) / TP;
	const int64_t nfast = nb >= 8 ? (nb - 8) / TP + 1 : 0; /* t * TP + 8 <= nb */
	for (int64_t mb = mb0; mb < mb1; mb++) {
		const int64_t at = (img * c->m + mb * TC) * g->ohw + q0;
		qtile o = {
			.plane = g->ohw,
			.nch = c->m - mb * TC < TC ? (int)(c->m - mb * TC) : TC,
			.bias = J->bias + mb * TC * sizeof(int32_t),
			.mult = J->mult + mb * TC * sizeof(float),
			.mask = J->mask + mb * 2 * mask_words(g) * sizeof(uint64_t),
		};
		const int8_t *w = J->w + mb * kn * (J->quads ? 4 : 2) * TC;
		/* the tiles whose 8 bytes per channel lie within the block, in
		 * one call; then the last one or two, each as it is */
		o.y = J->y + at;
		o.r = J->r ? J->r + at : NULL;
		o.npx = TP;
		o.exact = 0;
		tiles(J->layout, kn, panel, ts, w, &J->e, &o, nfast);
		for (int64_t t = nfast; t < ntile; t++) {
			o.y = J->y + at + t * TP;
			o.r = J->r ? J->r + at + t * TP : NULL;
			o.npx = nb - t * TP < TP ? (int)(nb - t * TP) : TP;
			o.exact = t * TP + 8 > nb;
			tile(J->layout, kn, panel + t * ts, w, &J->e, &o);
		}
	}
}

#if QK_VNNI
/* ---- AVX512-VNNI: 16 pixels x 16 channels ----
 *
 * vpdpbusd sums four uint8 x int8 products into an int32 lane exactly,
 * whatever the weights, so every layout runs as k-quads here: the mixed
 * layout's mask goes unused, and a block's k-pair weights are reordered
 * into quads in scratch first. The register tile has the pixels across
 * the lanes: per k-quad, one 64-byte load of the panel (16 pixels' quads)
 * and, per channel, its 4 weights broadcast as vpdpbusd's memory operand
 * into that channel's accumulator. An accumulator being one channel's
 * 16 pixels, the epilogue stores a channel's 16 output bytes in one go,
 * reads the residual the same way, and needs no transposes. A block's
 * whole tiles go in pairs, 8 channels at a time (vnni_pair: two panel
 * loads per 8 broadcasts and 16 vpdpbusd).
 *
 * Panel: [tiles][KQ][16][4] bytes, pixel i's quad at 4 i, a tile's
 * chunks kq * 64 bytes apart from the next tile's. Blocks are cut in
 * 16-pixel tiles (vtiles, vtb). */

/* 16 pixels' quads (a[i], b[i], c[i], d[i]), flipped by fl, into 64
 * bytes at dst. Reads 16 bytes of each row. */
static RN_INLINE void quad16(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint8_t *c,
			     const uint8_t *d, const __m128i fl)
{
	const __m128i v0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)a), fl);
	const __m128i v1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)b), fl);
	const __m128i v2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)c), fl);
	const __m128i v3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)d), fl);
	const __m128i ab0 = _mm_unpacklo_epi8(v0, v1), ab1 = _mm_unpackhi_epi8(v0, v1);
	const __m128i cd0 = _mm_unpacklo_epi8(v2, v3), cd1 = _mm_unpackhi_epi8(v2, v3);
	_mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(ab0, cd0));
	_mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi16(ab0, cd0));
	_mm_storeu_si128((__m128i *)(dst + 32), _mm_unpacklo_epi16(ab1, cd1));
	_mm_storeu_si128((__m128i *)(dst + 48), _mm_unpackhi_epi16(ab1, cd1));
}

/* The panel of a block of nb pixels from its im2col rows (pitch bytes
 * apart; k past K reads row 4q, whose weights are 0). The im2col rows
 * have room to the end of the last tile; the input's planes (a direct
 * convolution) may end at nb, so a direct tail tile goes through a copy.
 * Past nb the panel holds whatever the rows do: those pixels' outputs are
 * never stored. */
static void vnni_panel(const qgeom *g, const uint8_t *rows, int64_t pitch, int64_t nb, uint8_t *panel,
		       const uint8_t flip)
{
	const int64_t ntile = (nb + TV - 1) / TV, ts = g->kq * 4 * TV;
	const int64_t safe = g->direct ? nb / TV : ntile;
	const __m128i fl = _mm_set1_epi8((char)flip);
	for (int64_t q = 0; q < g->kq; q++) {
		const uint8_t *r[4];
		for (int h = 0; h < 4; h++)
			r[h] = rows + (4 * q + h < g->k ? 4 * q + h : 4 * q) * pitch;
		uint8_t *d = panel + q * 4 * TV;
		int64_t t = 0;
		for (; t < safe; t++, d += ts)
			quad16(d, r[0] + t * TV, r[1] + t * TV, r[2] + t * TV, r[3] + t * TV, fl);
		for (; t < ntile; t++, d += ts) {
			uint8_t tr[4][TV] = { { 0 } };
			for (int h = 0; h < 4; h++)
				for (int64_t i = 0; t * TV + i < nb; i++)
					tr[h][i] = r[h][t * TV + i];
			quad16(d, tr[0], tr[1], tr[2], tr[3], fl);
		}
	}
}

/* A block's k-pair weights ([KP][16][2]) as k-quads ([KQ][16][4]): quad q
 * is pairs 2 q and 2 q + 1 (zeros past KP). */
static void vnni_quads(const qgeom *g, const int8_t *wp, int8_t *wq)
{
	for (int64_t q = 0; q < g->kq; q++) {
		const int8_t *p0 = wp + 2 * q * 2 * TC;
		const __m256i a = _mm256_loadu_si256((const __m256i *)p0);
		const __m256i b = 2 * q + 1 < g->kp ? _mm256_loadu_si256((const __m256i *)(p0 + 2 * TC))
						    : _mm256_setzero_si256();
		const __m128i a0 = _mm256_castsi256_si128(a), a1 = _mm256_extracti128_si256(a, 1);
		const __m128i b0 = _mm256_castsi256_si128(b), b1 = _mm256_extracti128_si256(b, 1);
		int8_t *d = wq + q * 4 * TC;
		_mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(a0, b0));
		_mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(a0, b0));
		_mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(a1, b1));
		_mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(a1, b1));
	}
}

#if defined(__AVX512VBMI__)
#define QK_VSTRIP 1
/* The panel straight from the strip (no im2col rows), for stride 1 or 2
 * across and rows of at least 5 output pixels: a tile's 16 pixels lie in
 * at most 4 output rows, each a segment of lanes whose strip bytes are
 * evenly spaced. Per k-quad, the four taps' pixels go into one vector
 * (stride 1: tap h at bytes 16 h + i; stride 2: two vectors, tap h at
 * 32 (h % 2) + 2 i of vector h / 2), and one byte permute interleaves them
 * into their quads. A tile within one row reads each tap with a plain
 * load; one across rows, each tap's segments with zero-masked loads, or'ed
 * (independent loads: merging ones chain). A masked load's address is
 * that of lane 0, which the mask may leave out: it can lie up to 48 bytes
 * before the strip (in the slice's im2col room), never read. */
typedef struct {
	int64_t off;    /* strip offset of lane 0 (of byte 0 of the tap's part) */
	uint64_t bits;  /* the segment's byte mask, for tap 0 */
} vseg;

/* The segments of a tile: pixels p0 .. p0 + np - 1 of the block that
 * starts at q0. */
static int vnni_segs(const rn_conv2d_params *c, const qgeom *g, int64_t q0, int64_t p0, int np, vseg *sg)
{
	const int64_t oy0 = q0 / c->ow;
	int n = 0;
	for (int i = 0; i < np;) {
		const int64_t at = p0 + i, oy = at / c->ow, ox = at % c->ow;
		const int len = (int)(np - i < c->ow - ox ? np - i : c->ow - ox);
		uint64_t bits = 0;
		for (int l = i; l < i + len; l++)
			bits |= (uint64_t)1 << (c->sw == 1 ? l : 2 * l);
		sg[n].off = (oy - oy0) * c->sh * g->wp + (ox - i) * c->sw;
		sg[n].bits = bits;
		n++;
		i += len;
	}
	return n;
}

static RN_INLINE const void *strip_at(const uint8_t *strip, int64_t off)
{
	return (const void *)((uintptr_t)strip + (uintptr_t)off); /* may precede the strip: masked */
}

static void vnni_strip_panel(const rn_conv2d_params *c, const qgeom *g, int64_t q0, int64_t nb,
			     const uint8_t *strip, uint8_t *panel, int32_t *koff, const uint8_t flip)
{
	const int64_t chan = g->vsrows * g->wp, ntile = (nb + TV - 1) / TV, ts = g->kq * 4 * TV;
	int64_t ch = 0, ky = 0, kx = 0, off = 0;
	for (int64_t k = 0; k < 4 * g->kq; k++) {
		koff[k] = k < g->k ? (int32_t)off : 0; /* past K: tap 0 (weights 0) */
		off += c->dw;
		if (++kx == c->kw) {
			kx = 0;
			off += (int64_t)c->dh * g->wp - (int64_t)c->kw * c->dw;
			if (++ky == c->kh) {
				ky = 0;
				off = ++ch * chan;
			}
		}
	}
	/* output byte 4 i + h: tap h's pixel i */
	uint8_t i1[64], i2[64];
	for (int i = 0; i < TV; i++)
		for (int h = 0; h < 4; h++) {
			i1[4 * i + h] = (uint8_t)(16 * h + i);
			i2[4 * i + h] = (uint8_t)(64 * (h / 2) + 32 * (h % 2) + 2 * i);
		}
	const __m512i idx1 = _mm512_loadu_si512((const void *)i1), idx2 = _mm512_loadu_si512((const void *)i2);
	const __m512i fl = _mm512_set1_epi8((char)flip);
	for (int64_t t = 0; t < ntile; t++) {
		vseg sg[4];
		const int np = (int)(nb - t * TV < TV ? nb - t * TV : TV);
		const int ns = vnni_segs(c, g, q0, q0 + t * TV, np, sg);
		const int whole = ns == 1 && np == TV; /* 16 evenly spaced bytes a tap */
		uint8_t *d = panel + t * ts;
		const int32_t *ko = koff;
		for (int64_t q = 0; q < g->kq; q++, d += 4 * TV, ko += 4) {
			__m512i v;
			if (whole && c->sw == 1) {
				/* one segment of 16: plain loads */
				const uint8_t *r = strip + sg[0].off;
				__m512i a = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(r + ko[0])));
				a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)(r + ko[1])), 1);
				a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)(r + ko[2])), 2);
				a = _mm512_inserti32x4(a, _mm_loadu_si128((const __m128i *)(r + ko[3])), 3);
				v = _mm512_permutexvar_epi8(idx1, a);
			} else if (whole) {
				const uint8_t *r = strip + sg[0].off;
				const __m512i a = _mm512_inserti64x4(
					_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(r + ko[0]))),
					_mm256_loadu_si256((const __m256i *)(r + ko[1])), 1);
				const __m512i b = _mm512_inserti64x4(
					_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(r + ko[2]))),
					_mm256_loadu_si256((const __m256i *)(r + ko[3])), 1);
				v = _mm512_permutex2var_epi8(a, idx2, b);
			} else if (c->sw == 1) {
				/* zero-masked loads, independent of each other, or'ed */
				__m512i a = _mm512_setzero_si512(), b = a;
				for (int s = 0; s < ns; s++) {
					a = _mm512_or_si512(a, _mm512_maskz_loadu_epi8(sg[s].bits, strip_at(strip, sg[s].off + ko[0])));
					b = _mm512_or_si512(b, _mm512_maskz_loadu_epi8(sg[s].bits << 16,
										       strip_at(strip, sg[s].off + ko[1] - 16)));
					a = _mm512_or_si512(a, _mm512_maskz_loadu_epi8(sg[s].bits << 32,
										       strip_at(strip, sg[s].off + ko[2] - 32)));
					b = _mm512_or_si512(b, _mm512_maskz_loadu_epi8(sg[s].bits << 48,
										       strip_at(strip, sg[s].off + ko[3] - 48)));
				}
				v = _mm512_permutexvar_epi8(idx1, _mm512_or_si512(a, b));
			} else {
				__m512i a = _mm512_setzero_si512(), b = a, a1 = a, b1 = a;
				for (int s = 0; s < ns; s++) {
					a = _mm512_or_si512(a, _mm512_maskz_loadu_epi8(sg[s].bits, strip_at(strip, sg[s].off + ko[0])));
					a1 = _mm512_or_si512(a1, _mm512_maskz_loadu_epi8(sg[s].bits << 32,
											 strip_at(strip, sg[s].off + ko[1] - 32)));
					b = _mm512_or_si512(b, _mm512_maskz_loadu_epi8(sg[s].bits, strip_at(strip, sg[s].off + ko[2])));
					b1 = _mm512_or_si512(b1, _mm512_maskz_loadu_epi8(sg[s].bits << 32,
											 strip_at(strip, sg[s].off + ko[3] - 32)));
				}
				v = _mm512_permutex2var_epi8(_mm512_or_si512(a, a1), idx2, _mm512_or_si512(b, b1));
			}
			_mm512_storeu_si512((void *)d, _mm512_xor_si512(v, fl));
		}
	}
}
#else
#define QK_VSTRIP 0
#endif

/* Where a VNNI tile's 16 x 16 outputs go. */
typedef struct {
	uint8_t *y;             /* output at (image, first channel, first pixel) */
	const uint8_t *r;       /* the residual at the same place, NULL without */
	int64_t plane;          /* bytes from one channel's row to the next */
	int nch, npx;           /* channels and pixels (<= 16) that exist */
	const unsigned char *bias, *mult; /* the block's 16 int32 and 16 float */
} vtile;

/* Task task's 16-channel group, pixel block and image (tasks numbered
 * group by group when grp_major, else block by block). */
static void vtask_of(const qjob *J, int64_t task, int64_t *grp, int64_t *blk, int64_t *img)
{
	const int64_t units = J->p->conv.n * J->nblk;
	const int64_t unit = J->grp_major ? task % units : task / J->groups;
	*grp = J->grp_major ? task / units : task % J->groups;
	*blk = unit % J->nblk;
	*img = unit / J->nblk;
}

/* The epilogue's constants in registers, loaded once per call (the stores
 * to the uint8 outputs would make the compiler reread them from e). */
typedef struct {
	__m512 lo, hi, rm;
	__m512i yzp, rzp;
	int r_signed;
} vq;

static RN_INLINE vq vq_of(const rn_q_epilogue *e)
{
	return (vq){ .lo = _mm512_set1_ps(e->lo), .hi = _mm512_set1_ps(e->hi), .rm = _mm512_set1_ps(e->r_mult),
		     .yzp = _mm512_set1_epi32(e->y_zp), .rzp = _mm512_set1_epi32(e->r_zp), .r_signed = e->r_signed };
}

/* A channel's 16 outputs from its accumulator: times its multiplier m,
 * plus the residual's bytes rb (res), then the contract's max then min
 * (a NaN gives lo), rounded half to even (vcvtps2dq's default), plus y's
 * zero point: the values are within y's type, so their low bytes are it. */
static RN_INLINE __m128i vnni_out16(const vq *k, __m512i acc, float m, const int res, __m128i rb)
{
	__m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(m));
	if (res) {
		const __m512i ri = k->r_signed ? _mm512_cvtepi8_epi32(rb) : _mm512_cvtepu8_epi32(rb);
		f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(ri, k->rzp)), k->rm, f);
	}
	f = _mm512_min_ps(_mm512_max_ps(f, k->lo), k->hi);
	return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), k->yzp));
}

/* One tile: kq k-quads of panel a and weights w; full: all 16 pixels
 * exist (else o->npx, loads and stores masked). */
static RN_INLINE void vnni_tile(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				const vtile *o, const int res, const int full)
{
	__m512i c[TC];
	RN_UNROLL
	for (int j = 0; j < TC; j++) {
		int32_t b;
		rn_memcpy(&b, o->bias + 4 * j, sizeof b);
		c[j] = _mm512_set1_epi32(b);
	}
	/* two quads a pass: the loop of one runs about 6% (kq 144) to 40%
	 * (kq 16) slower on Zen 4 */
	int64_t q = 0;
	for (; q + 2 <= kq; q += 2) {
		const __m512i x = _mm512_loadu_si512((const void *)a);
		const __m512i x1 = _mm512_loadu_si512((const void *)(a + 4 * TV));
		RN_UNROLL
		for (int j = 0; j < TC; j++) {
			int32_t v;
			rn_memcpy(&v, w + 4 * j, sizeof v);
			c[j] = _mm512_dpbusd_epi32(c[j], x, _mm512_set1_epi32(v));
		}
		RN_UNROLL
		for (int j = 0; j < TC; j++) {
			int32_t v;
			rn_memcpy(&v, w + 4 * TC + 4 * j, sizeof v);
			c[j] = _mm512_dpbusd_epi32(c[j], x1, _mm512_set1_epi32(v));
		}
		a += 8 * TV;
		w += 8 * TC;
	}
	if (q < kq) {
		const __m512i x = _mm512_loadu_si512((const void *)a);
		RN_UNROLL
		for (int j = 0; j < TC; j++) {
			int32_t v;
			rn_memcpy(&v, w + 4 * j, sizeof v);
			c[j] = _mm512_dpbusd_epi32(c[j], x, _mm512_set1_epi32(v));
		}
	}
	const __mmask16 mk = full ? (__mmask16)0xffff : (__mmask16)((1u << o->npx) - 1);
	const vq ev = vq_of(e);
	const int nch = o->nch;
	RN_UNROLL
	for (int j = 0; j < TC; j++) {
		if (j >= nch)
			break;
		float m;
		rn_memcpy(&m, o->mult + 4 * j, sizeof m);
		__m128i rb = _mm_setzero_si128();
		if (res) {
			const uint8_t *rp = o->r + j * o->plane;
			rb = full ? _mm_loadu_si128((const __m128i *)rp) : _mm_maskz_loadu_epi8(mk, rp);
		}
		const __m128i out = vnni_out16(&ev, c[j], m, res, rb);
		uint8_t *yp = o->y + j * o->plane;
		if (full)
			_mm_storeu_si128((__m128i *)yp, out);
		else
			_mm_mask_storeu_epi8(yp, mk, out);
	}
}

/* One k-quad of a two-tile x 8-channel tile: the tiles' 16 pixels' quads
 * at a0 and a1, the 8 channels' weights at w (each broadcast once for
 * both); *pf (when not NULL): the next block's weights, one line on its
 * way to L2 a quad. */
static RN_INLINE void vpair_quad(__m512i c[2][TC / 2], const uint8_t *a0, const uint8_t *a1, const int8_t *w,
				 const int8_t **pf)
{
	const __m512i x0 = _mm512_loadu_si512((const void *)a0);
	const __m512i x1 = _mm512_loadu_si512((const void *)a1);
	RN_UNROLL
	for (int j = 0; j < TC / 2; j++) {
		int32_t v;
		rn_memcpy(&v, w + 4 * j, sizeof v);
		const __m512i b = _mm512_set1_epi32(v);
		c[0][j] = _mm512_dpbusd_epi32(c[0][j], x0, b);
		c[1][j] = _mm512_dpbusd_epi32(c[1][j], x1, b);
	}
	if (*pf) {
		_mm_prefetch((const char *)*pf, _MM_HINT_T1);
		*pf += 4 * TC;
	}
}

/* Two whole tiles (ts panel bytes apart) x 8 channels: per k-quad two
 * panel loads, and each channel's weights broadcast once for both; o: the
 * first tile's outputs at the first of the 8 channels, w the block's
 * weights there. Per load it does twice vnni_tile's products: ~7% faster
 * on Zen 5, whose vpdpbusd rate the loads of a 16 x 16 tile nearly
 * match. */
static RN_INLINE void vnni_pair(int64_t kq, const uint8_t *a, int64_t ts, const int8_t *w,
				const rn_q_epilogue *e, const vtile *o, const int res, const int8_t *pf)
{
	enum { H = TC / 2 };
	__m512i c[2][H];
	RN_UNROLL
	for (int j = 0; j < H; j++) {
		int32_t b;
		rn_memcpy(&b, o->bias + 4 * j, sizeof b);
		c[0][j] = c[1][j] = _mm512_set1_epi32(b);
	}
	for (int64_t q = 0; q < kq; q++) {
		vpair_quad(c, a, a + ts, w, &pf);
		a += 4 * TV;
		w += 4 * TC;
	}
	const vq ev = vq_of(e);
	const int nch = o->nch;
	RN_UNROLL
	for (int u = 0; u < 2; u++) {
		RN_UNROLL
		for (int j = 0; j < H; j++) {
			if (j >= nch)
				break;
			float m;
			rn_memcpy(&m, o->mult + 4 * j, sizeof m);
			const __m128i rb = res ? _mm_loadu_si128((const __m128i *)(o->r + u * TV + j * o->plane))
					       : _mm_setzero_si128();
			const __m128i out = vnni_out16(&ev, c[u][j], m, res, rb);
			_mm_storeu_si128((__m128i *)(o->y + u * TV + j * o->plane), out);
		}
	}
}

/* n whole tiles in a row, one call; ts panel bytes per tile: in pairs,
 * each pair's 16 channels in two halves, an odd last one alone. */
#define QK_VRUN(name, res)                                                                          \
	static QK_NOINLINE void name(int64_t kq, const uint8_t *a, int64_t ts, const int8_t *w,      \
				     const rn_q_epilogue *e, const vtile *o0, int64_t n,            \
				     const int8_t *pf)                                              \
	{                                                                                           \
		vtile o = *o0;                                                                      \
		int64_t t = 0;                                                                      \
		for (; t + 2 <= n; t += 2) {                                                        \
			for (int h = 0; h < 2 && h * TC / 2 < o0->nch; h++) {                        \
				vtile oh = o;                                                       \
				oh.nch = o.nch - h * TC / 2;                                        \
				oh.y += h * TC / 2 * o.plane;                                        \
				if (res)                                                            \
					oh.r += h * TC / 2 * o.plane;                                \
				oh.bias += h * TC / 2 * sizeof(int32_t);                            \
				oh.mult += h * TC / 2 * sizeof(float);                              \
				vnni_pair(kq, a, ts, w + h * 4 * TC / 2, e, &oh, res,               \
					  t == 0 && h == 0 ? pf : NULL);                            \
			}                                                                           \
			a += 2 * ts;                                                                \
			o.y += 2 * TV;                                                              \
			if (res)                                                                    \
				o.r += 2 * TV;                                                      \
		}                                                                                   \
		if (t < n)                                                                          \
			vnni_tile(kq, a, w, e, &o, res, 1);                                         \
	}
QK_VRUN(vnni_run_plain, 0)
QK_VRUN(vnni_run_res, 1)
#undef QK_VRUN

static QK_NOINLINE void vnni_part(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				  const vtile *o)
{
	if (e->has_res)
		vnni_tile(kq, a, w, e, o, 1, 0);
	else
		vnni_tile(kq, a, w, e, o, 0, 0);
}

/* A short tail of np (< REM_MAX) pixels the other way round: channels
 * across the lanes, the block's 16 weights of a quad one vector load (the
 * packed layout as it is), each pixel's quad broadcast from the panel,
 * one vpdpbusd per pixel, so that it costs np / 16 of a whole tile
 * rather than a whole one (an image of 7 x 7 or 14 x 14 outputs ends in
 * 1 or 4 pixels). The epilogue goes through a channel's 16 values as
 * vnni_tile's does, its bytes gathered and scattered one by one. */
enum { REM_MAX = 8 };

static RN_INLINE void vnni_rem_n(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				 const vtile *o, const int np)
{
	__m512i c[REM_MAX];
	const __m512i b = _mm512_loadu_si512((const void *)o->bias);
	RN_UNROLL
	for (int i = 0; i < np; i++)
		c[i] = b;
	for (int64_t q = 0; q < kq; q++) {
		const __m512i wv = _mm512_loadu_si512((const void *)w);
		RN_UNROLL
		for (int i = 0; i < np; i++) {
			int32_t v;
			rn_memcpy(&v, a + 4 * i, sizeof v);
			c[i] = _mm512_dpbusd_epi32(c[i], _mm512_set1_epi32(v), wv);
		}
		a += 4 * TV;
		w += 4 * TC;
	}
	const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
	const __m512i yzp = _mm512_set1_epi32(e->y_zp), rzp = _mm512_set1_epi32(e->r_zp);
	const __m512 rm = _mm512_set1_ps(e->r_mult);
	const __m512 m = _mm512_loadu_ps((const void *)o->mult);
	const int nch = o->nch;
	for (int i = 0; i < np; i++) {
		__m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(c[i]), m);
		if (e->has_res) {
			int32_t rv[TC] = { 0 };
			for (int j = 0; j < nch; j++)
				rv[j] = e->r_signed ? (int32_t)(int8_t)o->r[j * o->plane + i] : (int32_t)o->r[j * o->plane + i];
			const __m512i ri = _mm512_loadu_si512((const void *)rv);
			f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(ri, rzp)), rm, f);
		}
		f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
		uint8_t out[TC];
		_mm_storeu_si128((__m128i *)out, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), yzp)));
		for (int j = 0; j < nch; j++)
			o->y[j * o->plane + i] = out[j];
	}
}

static QK_NOINLINE void vnni_rem(int64_t kq, const uint8_t *a, const int8_t *w, const rn_q_epilogue *e,
				 const vtile *o)
{
	switch (o->npx) {
	case 1: vnni_rem_n(kq, a, w, e, o, 1); break;
	case 2: vnni_rem_n(kq, a, w, e, o, 2); break;
	case 3: vnni_rem_n(kq, a, w, e, o, 3); break;
	case 4: vnni_rem_n(kq, a, w, e, o, 4); break;
	case 5: vnni_rem_n(kq, a, w, e, o, 5); break;
	case 6: vnni_rem_n(kq, a, w, e, o, 6); break;
	default: vnni_rem_n(kq, a, w, e, o, 7); break;
	}
}

#if QK_VDIR
/* ---- AVX512-VNNI, direct: 3x3, stride 1, channels in fours ----
 *
 * The panel of a 3x3 convolution holds each input byte nine times. This
 * cut builds none: it interleaves the block's input rows once, four
 * channels at a time, into a strip of 4-byte positions ([c / 4][dsrows]
 * [dwp][4], padded with the zero point, dwp = ow + 2 wide), and computes
 * the output as if it were dwp wide too: output position P = oy * dwp +
 * ox then reads tap (ky, kx) of channels 4 cq .. 4 cq + 3 at strip
 * position P + ky * dwp + kx of plane cq, so the 16 positions of a tile
 * are one 64-byte load per tap, whatever rows they span. Positions with
 * ox >= ow (two per row) are computed and dropped: the epilogue
 * compresses a tile's valid lanes (vpcompressb) into the consecutive
 * output bytes they are in NCHW, and expands the residual's the same way.
 * The weights' k order is (c, ky, kx); a block's are reordered per
 * channel quad cq into (cq, tap) quads, each tap's 4 channels' weights
 * per output channel. */

/* A block's strip: output rows r0 .. on, srows input rows from r0 - pt,
 * flipped by fl, the zero point where the padding is and in the slack. */
static void vdir_strip(const rn_qconv2d_params *p, const qgeom *g, const uint8_t *x, int64_t r0,
		       int64_t srows, uint8_t *strip, const uint8_t flip)
{
	const rn_conv2d_params *c = &p->conv;
	const int64_t wp = g->dwp, hw = (int64_t)c->h * c->w;
	const int64_t cols = c->w < wp - c->pl ? c->w : wp - c->pl; /* input columns in a row */
	const __m512i pad = _mm512_set1_epi8((char)((uint8_t)p->x_zp ^ flip));
	const __m512i fl = _mm512_set1_epi8((char)flip);
	uint8_t ix[64];
	for (int i = 0; i < TV; i++)
		for (int h = 0; h < 4; h++)
			ix[4 * i + h] = (uint8_t)(16 * h + i);
	const __m512i idx = _mm512_loadu_si512((const void *)ix);
	for (int64_t cq = 0; cq < c->c / 4; cq++) {
		uint8_t *d = strip + cq * g->dplane * 4;
		const int64_t fill = srows * wp + DSLACK;
		for (int64_t b = 0; b < 4 * fill; b += 64) {
			const int64_t left = 4 * fill - b;
			_mm512_mask_storeu_epi8(d + b, left >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << left) - 1, pad);
		}
		const uint8_t *src = x + 4 * cq * hw;
		for (int64_t sr = 0; sr < srows; sr++) {
			const int64_t iy = r0 + sr - c->pt;
			if (iy < 0 || iy >= c->h)
				continue;
			const uint8_t *s = src + iy * c->w;
			uint8_t *row = d + (sr * wp + c->pl) * 4;
			for (int64_t x0 = 0; x0 < cols; x0 += TV) {
				const int n = (int)(cols - x0 < TV ? cols - x0 : TV);
				const __mmask16 m = (__mmask16)((1u << n) - 1);
				__m512i a = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(m, s + x0));
				a = _mm512_inserti32x4(a, _mm_maskz_loadu_epi8(m, s + hw + x0), 1);
				a = _mm512_inserti32x4(a, _mm_maskz_loadu_epi8(m, s + 2 * hw + x0), 2);
				a = _mm512_inserti32x4(a, _mm_maskz_loadu_epi8(m, s + 3 * hw + x0), 3);
				const __m512i v = _mm512_xor_si512(_mm512_permutexvar_epi8(idx, a), fl);
				_mm512_mask_storeu_epi8(row + 4 * x0, n == TV ? ~(__mmask64)0 : ((__mmask64)1 << (4 * n)) - 1, v);
			}
		}
	}
}

/* A block's k-quads ([KQ][16][4], k = 9 c + tap) reordered into
 * [c / 4][9][16][4]: quad (cq, tap) holds, per output channel, the
 * weights of input channels 4 cq .. 4 cq + 3 at that tap. Channel quad
 * cq's 36 k are quads 9 cq .. 9 cq + 8 of either order; byte i of a
 * destination dword (k = 9 i + tap) is byte k % 4 of quad k / 4's. */
static void vdir_weights(const qgeom *g, const int8_t *wq, int8_t *wd)
{
	__m512i sel[4];
	for (int sb = 0; sb < 4; sb++) {
		uint8_t b[64];
		for (int i = 0; i < 64; i++)
			b[i] = (uint8_t)((i & 12) + sb);
		sel[sb] = _mm512_loadu_si512((const void *)b);
	}
	const __mmask64 byte0 = 0x1111111111111111ull;
	for (int64_t cq = 0; cq < g->kq / 9; cq++) {
		const int8_t *s = wq + cq * 9 * 4 * TC;
		int8_t *d = wd + cq * 9 * 4 * TC;
		for (int t = 0; t < 9; t++) {
			__m512i v = _mm512_setzero_si512();
			for (int i = 0; i < 4; i++) {
				const int k = 9 * i + t;
				const __m512i q = _mm512_loadu_si512((const void *)(s + k / 4 * 4 * TC));
				v = _mm512_mask_shuffle_epi8(v, byte0 << i, q, sel[k % 4]);
			}
			_mm512_storeu_si512((void *)(d + t * 4 * TC), v);
		}
	}
}

/* Two tiles (32 positions) x 8 channels: two 64-byte loads per tap, each
 * of the 8 channels' weights broadcast once for both (a 16 x 16 tile's
 * one load per 16 products, unaligned here, ran ~12% slower on Zen 5).
 * s: the first tile's strip bytes (4 channels' planes plane4 bytes apart,
 * rows wp4); w: the (cq, tap) quads of the block at its first channel;
 * valid: each tile's lanes that are output pixels, whose bytes go to
 * o[u].y on. */
static RN_INLINE void vdir_tile(int64_t nq, const uint8_t *s, int64_t plane4, int64_t wp4, const int8_t *w,
				const rn_q_epilogue *e, const vtile o[2], const int res, const __mmask16 valid[2],
				const int8_t *pf)
{
	enum { H = TC / 2 };
	__m512i c[2][H];
	RN_UNROLL
	for (int j = 0; j < H; j++) {
		int32_t b;
		rn_memcpy(&b, o[0].bias + 4 * j, sizeof b);
		c[0][j] = c[1][j] = _mm512_set1_epi32(b);
	}
	for (int64_t cq = 0; cq < nq; cq++, s += plane4) {
		RN_UNROLL
		for (int t = 0; t < 9; t++) {
			const uint8_t *a = s + (t / 3) * wp4 + 4 * (t % 3);
			vpair_quad(c, a, a + 4 * TV, w, &pf);
			w += 4 * TC;
		}
	}
	const vq ev = vq_of(e);
	const int nch = o[0].nch;
	RN_UNROLL
	for (int u = 0; u < 2; u++) {
		if (!valid[u])
			continue;
		const int full = valid[u] == 0xffff;
		const __mmask16 first = (__mmask16)((1u << _mm_popcnt_u32(valid[u])) - 1);
		RN_UNROLL
		for (int j = 0; j < H; j++) {
			if (j >= nch)
				break;
			float m;
			rn_memcpy(&m, o[0].mult + 4 * j, sizeof m);
			__m128i rb = _mm_setzero_si128();
			if (res) {
				const uint8_t *rp = o[u].r + j * o[u].plane;
				rb = full ? _mm_loadu_si128((const __m128i *)rp)
					  : _mm_maskz_expand_epi8(valid[u], _mm_maskz_loadu_epi8(first, rp));
			}
			const __m128i out = vnni_out16(&ev, c[u][j], m, res, rb);
			uint8_t *yp = o[u].y + j * o[u].plane;
			if (full)
				_mm_storeu_si128((__m128i *)yp, out);
			else
				_mm_mask_storeu_epi8(yp, first, _mm_maskz_compress_epi8(valid[u], out));
		}
	}
}

static QK_NOINLINE void vdir_plain(int64_t nq, const uint8_t *s, int64_t plane4, int64_t wp4, const int8_t *w,
				   const rn_q_epilogue *e, const vtile o[2], const __mmask16 valid[2],
				   const int8_t *pf)
{
	vdir_tile(nq, s, plane4, wp4, w, e, o, 0, valid, pf);
}

static QK_NOINLINE void vdir_res(int64_t nq, const uint8_t *s, int64_t plane4, int64_t wp4, const int8_t *w,
				 const rn_q_epilogue *e, const vtile o[2], const __mmask16 valid[2],
				 const int8_t *pf)
{
	vdir_tile(nq, s, plane4, wp4, w, e, o, 1, valid, pf);
}

static void qconv_task_vdir(void *ctx, int64_t task, int thread)
{
	const qjob *J = ctx;
	const qgeom *g = &J->g;
	const rn_conv2d_params *c = &J->p->conv;
	int64_t grp, blk, img;
	vtask_of(J, task, &grp, &blk, &img);
	const int64_t wp = g->dwp, npos = c->oh * wp;
	const int64_t t0 = blk * g->dtiles / J->nblk, t1 = (blk + 1) * g->dtiles / J->nblk;
	const int64_t p1 = t1 * TV < npos ? t1 * TV : npos;
	const int64_t r0 = t0 * TV / wp, r1 = (p1 - 1) / wp;
	uint8_t *strip = J->scratch + (size_t)thread * g->slice;
	int8_t *wq = (int8_t *)(strip + align_up(g->dstrip));
	int8_t *wd = wq + align_up((size_t)(g->kq * 4 * TC));
	const uint8_t flip = J->p->x_dtype == RN_I8 ? 0x80 : 0;
	vdir_strip(J->p, g, J->x + img * c->c * g->hw, r0, r1 - r0 + 3, strip, flip);
	/* each tile's valid lanes and the output pixel of the first (none
	 * past the block: a pair's second tile there is computed, not stored) */
	__mmask16 valid[DMAX_TILES + 1];
	int64_t first[DMAX_TILES + 1];
	for (int64_t t = t0, row = t0 * TV / wp, col = t0 * TV % wp; t <= t1; t++) {
		/* lanes l of row (row, col + l): valid while col + l < ow */
		unsigned v = 0;
		int64_t f = 0;
		for (int l = 0; l < TV && t < t1;) {
			if (row >= c->oh)
				break;
			const int64_t left = (col < c->ow ? c->ow - col : 0), n = left < TV - l ? left : TV - l;
			if (n > 0) {
				if (!v)
					f = row * c->ow + col;
				v |= ((1u << n) - 1) << l;
			}
			const int64_t step = wp - col < TV - l ? wp - col : TV - l;
			l += (int)step;
			col += step;
			if (col == wp) {
				col = 0;
				row++;
			}
		}
		valid[t - t0] = (__mmask16)v;
		first[t - t0] = f;
	}
	const int64_t mb0 = grp * J->mblocks / J->groups, mb1 = (grp + 1) * J->mblocks / J->groups;
	for (int64_t mb = mb0; mb < mb1; mb++) {
		const int8_t *w = J->w + mb * (J->quads ? g->kq * 4 : g->kp * 2) * TC;
		if (!J->quads) {
			vnni_quads(g, w, wq);
			w = wq;
		}
		vdir_weights(g, w, wd);
		const int nch = c->m - mb * TC < TC ? (int)(c->m - mb * TC) : TC;
		for (int h = 0; h < 2 && h * TC / 2 < nch; h++) {
			const int64_t at = (img * c->m + mb * TC + h * TC / 2) * g->ohw;
			vtile o[2];
			for (int u = 0; u < 2; u++)
				o[u] = (vtile){
					.plane = g->ohw,
					.nch = nch - h * TC / 2,
					.npx = TV,
					.bias = J->bias + (mb * TC + h * TC / 2) * sizeof(int32_t),
					.mult = J->mult + (mb * TC + h * TC / 2) * sizeof(float),
				};
			for (int64_t t = t0; t < t1; t += 2) {
				const __mmask16 *vm = valid + (t - t0);
				for (int u = 0; u < 2; u++) {
					o[u].y = J->y + at + first[t - t0 + u];
					o[u].r = J->r ? J->r + at + first[t - t0 + u] : NULL;
				}
				const uint8_t *s = strip + (t * TV - r0 * wp) * 4;
				/* the next block's weights on their way to L2 meanwhile */
				const int8_t *pf = t == t0 && h == 0 && J->quads && mb + 1 < mb1
							   ? J->w + (mb + 1) * g->kq * 4 * TC : NULL;
				(J->e.has_res ? vdir_res : vdir_plain)(c->c / 4, s, g->dplane * 4, wp * 4,
									wd + 4 * h * TC / 2, &J->e, o, vm, pf);
			}
		}
	}
}
#endif

static void qconv_task_vnni(void *ctx, int64_t task, int thread)
{
	const qjob *J = ctx;
	const qgeom *g = &J->g;
	const rn_conv2d_params *c = &J->p->conv;
	int64_t grp, blk, img;
	vtask_of(J, task, &grp, &blk, &img);
	const int64_t q0 = blk * g->vtiles / J->nblk * TV;
	const int64_t q1 = (blk + 1) * g->vtiles / J->nblk * TV;
	const int64_t nb = (q1 < g->ohw ? q1 : g->ohw) - q0;
	uint8_t *panel = J->scratch + (size_t)thread * g->slice;
	uint8_t *cols = panel + align_up(g->vpanel), *strip = cols + align_up(g->vcols);
	int8_t *wq = (int8_t *)(strip + align_up(g->vstrip));
	const uint8_t *x = J->x + img * c->c * g->hw;
	const uint8_t flip = J->p->x_dtype == RN_I8 ? 0x80 : 0;
	qgeom v = *g; /* the im2col rows and strip of this cut */
	v.trow = g->vtrow;
	v.cols = g->vcols;
	v.srows = g->vsrows;
	v.strip = g->vstrip;
	if (g->direct) {
		vnni_panel(g, x + q0, g->hw, nb, panel, flip);
	} else if (QK_VSTRIP && !g->inside && (c->sw == 1 || c->sw == 2) && c->ow >= 5) {
#if QK_VSTRIP
		build_strip(J->p, &v, x, q0, nb, strip);
		vnni_strip_panel(c, g, q0, nb, strip, panel, (int32_t *)(void *)cols, flip);
#endif
	} else {
		build_cols(J->p, &v, x, q0, nb, cols, strip);
		vnni_panel(g, cols, g->vtrow, nb, panel, flip);
	}
	const int64_t ts = g->kq * 4 * TV, nfull = nb / TV;
	const int64_t mb0 = grp * J->mblocks / J->groups, mb1 = (grp + 1) * J->mblocks / J->groups;
	for (int64_t mb = mb0; mb < mb1; mb++) {
		const int64_t at = (img * c->m + mb * TC) * g->ohw + q0;
		const int8_t *w = J->w + mb * (J->quads ? g->kq * 4 : g->kp * 2) * TC;
		if (!J->quads) {
			vnni_quads(g, w, wq);
			w = wq;
		}
		vtile o = {
			.y = J->y + at,
			.r = J->r ? J->r + at : NULL,
			.plane = g->ohw,
			.nch = c->m - mb * TC < TC ? (int)(c->m - mb * TC) : TC,
			.npx = TV,
			.bias = J->bias + mb * TC * sizeof(int32_t),
			.mult = J->mult + mb * TC * sizeof(float),
		};
		if (nfull > 0)
			(J->e.has_res ? vnni_run_res : vnni_run_plain)(
				g->kq, panel, ts, w, &J->e, &o, nfull,
				J->quads && mb + 1 < mb1 ? J->w + (mb + 1) * g->kq * 4 * TC : NULL);
		if (nb % TV) {
			o.y += nfull * TV;
			if (o.r)
				o.r += nfull * TV;
			o.npx = (int)(nb % TV);
			if (o.npx < REM_MAX)
				vnni_rem(g->kq, panel + nfull * ts, w, &J->e, &o);
			else
				vnni_part(g->kq, panel + nfull * ts, w, &J->e, &o);
		}
	}
}
#endif

int rn_qconv2d_packed(const rn_qconv2d_params *p, const void *x, const void *packed,
		      const void *residual, void *y, void *scratch, size_t scratch_bytes,
		      rn_threadpool *tp)
{
	if (!rn_qconv2d_supports(p))
		return RN_E_UNSUPPORTED;
	const int threads = rn_threadpool_threads(tp);
	if (scratch_bytes < rn_qconv2d_scratch_size(p, threads))
		return RN_E_RANGE;
	if (p->conv.group > 1) {
		/* each image's groups in turn: the group's input and output
		 * channels (and residual) are whole planes of the image's */
		rn_qconv2d_params q = group_params(p);
		q.conv.n = 1;
		const size_t part = rn_qconv2d_packed_size(&q);
		const int64_t hw = (int64_t)p->conv.h * p->conv.w, ohw = (int64_t)p->conv.oh * p->conv.ow;
		const int64_t cg = q.conv.c, mg = q.conv.m, G = p->conv.group;
		const int res = p->has_residual && residual != NULL;
		for (int64_t i = 0; i < p->conv.n; i++)
			for (int64_t gi = 0; gi < G; gi++) {
				const int64_t xo = (i * p->conv.c + gi * cg) * hw, yo = (i * p->conv.m + gi * mg) * ohw;
				int rc = rn_qconv2d_packed(&q, (const uint8_t *)x + xo,
							   (const unsigned char *)packed + (size_t)gi * part,
							   res ? (const uint8_t *)residual + yo : NULL, (uint8_t *)y + yo,
							   scratch, scratch_bytes, tp);
				if (rc != RN_OK)
					return rc;
			}
		return RN_OK;
	}
	qjob J = { .p = p, .g = geom_of(p), .e = rn_q_epilogue_of(p, residual), .x = x, .y = y,
		   .w = (const int8_t *)packed + HEADER, .scratch = scratch };
	uint32_t layout;
	rn_memcpy(&layout, packed, sizeof layout);
	J.layout = layout == L_QUADS || layout == L_MIXED ? (int)layout : L_PAIRS;
	J.quads = J.layout != L_PAIRS;
	J.r = J.e.has_res ? residual : NULL;
	J.bias = (const unsigned char *)J.w + weight_bytes(&J.g);
	J.mult = J.bias + J.g.m16 * sizeof(int32_t);
	J.mask = J.mult + J.g.m16 * sizeof(float);
	J.mblocks = J.g.m16 / TC;
	/* Blocks are the tasks, as many as the threads or a multiple (the
	 * tiles evenly split, each block's panel within the slice); with
	 * fewer tiles than threads (tiny outputs), each block's channels are
	 * split too, every part packing the block's panel for itself. */
	const int dir = QK_VDIR && J.g.dir;
	const int64_t tiles = dir ? J.g.dtiles : QK_VNNI ? J.g.vtiles : J.g.tiles;
	const int64_t tb = dir ? J.g.dtb : QK_VNNI ? J.g.vtb : J.g.tb;
	const int64_t n = p->conv.n;
	J.nblk = (tiles + tb - 1) / tb;
	/* VNNI tiles are 16 pixels: an image of a few (7 x 7: 4, the last
	 * of one pixel) splits unevenly by pixels, so each thread takes its
	 * share of the channels instead, packing the blocks' panels itself;
	 * the tasks numbered group by group, so that the pool's first claims
	 * (each thread its share of the task numbers) give each thread one
	 * group */
	const int few = QK_VNNI && threads > 1 && n * tiles < 4 * threads && J.mblocks >= 4 * threads;
	while (!few && (n * J.nblk) % threads != 0 && J.nblk < tiles)
		J.nblk++;
	const int64_t units = n * J.nblk;
	J.groups = few ? threads : 1;
	J.grp_major = few;
	while (units * J.groups < threads && J.groups < J.mblocks)
		J.groups++;
#if QK_VNNI
	(void)qconv_task; /* the AVX2 cut: not this build's */
	rn_parallel_for(tp, units * J.groups, dir ? qconv_task_vdir : qconv_task_vnni, &J);
#else
	rn_parallel_for(tp, units * J.groups, qconv_task, &J);
#endif
	return RN_OK;
}
