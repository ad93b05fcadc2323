/*
 * RN_CONV_GEMM: a group-1 convolution as the matrix product
 *   Y[m][oy * ow + ox] = W[m][K] * B[K][oy * ow + ox],  K = c * kh * kw,
 * B being the im2col matrix of the input. Weights come packed in panels of
 * 16 output channels ([K][16] each, bias after them). B is consumed in
 * slivers of RN_GEMM_NR columns, in one of three ways:
 *   in place: a 1x1, stride-1, unpadded convolution reads B's rows straight
 *     from the input planes (or copies chunks of them, see make_plan);
 *   phase mode: a strided one reads them from its input's phase planes,
 *     each im2col row a plane at an offset (see gemm_plan);
 *   packed: any other packs the im2col matrix of a chunk of columns into
 *     scratch (never the whole im2col matrix).
 * The panel kernel computes a (channels x positions) tile and stores it
 * into the NCHW output through the fused epilogue; columns that do not
 * fill a sliver go through the broadcast kernel instead, except on 14x14
 * and 7x7 outputs, which an 8 x 49 AVX-512 kernel tiles exactly.
 *
 * Threads: the columns are split into equal ranges, or the panels when
 * that balances better (small outputs such as 7x7 with many channels); then
 * the threads first pack each im2col chunk together, then split its panels.
 */
#include "conv_packed.h"
#include "microkernels.h"


#if RN_VL == 16
#define GEMM_TILE 8x48
#elif RN_VL == 8
#define GEMM_TILE 4x24
#elif RN_VL == 4
#define GEMM_TILE 8x12
#else
#define GEMM_TILE 4x4
#endif

enum {
	NR = RN_GEMM_NR,
	COL_UNIT = 48,                 /* scratch is sized in these, NR divides it */
	CHUNK_BYTES = 192 * 1024,      /* B chunk a thread packs, ~ a fifth of L2 */
};

#if defined(__GNUC__) || defined(__clang__)
#define RN_NOINLINE __attribute__((noinline))
#else
#define RN_NOINLINE
#endif

static RN_NOINLINE void RN_UKERNEL(gemm, GEMM_TILE)(int64_t k, const float *a, const float *b,
						      int64_t ldb, const float *pf,
						      const rn_tile_out *o)
{
	rn_gemm_panel_tile(RN_GEMM_R, RN_GEMM_NV, k, a, b, ldb, pf, o);
}

#if defined(RN_AVX512)
/* The panel kernel with one more column, 8 x 49: the 49th column's 8
 * channels accumulate in a 256-bit vector from the same panel rows, so
 * an output of 49 x K positions (every ResNet plane: 7x7, 14x14, ...,
 * 112x112) is all slivers, with no broadcast-kernel tail re-reading the
 * panel's weights column by column (that tail cost 4-10% of 14x14 and
 * 7x7 layers; the extra column costs one FMA in 25). */
#define GEMM_X1 1
static RN_NOINLINE void rn_f32_gemm_8x49__avx512(int64_t k, const float *a, const float *b,
						 int64_t ldb, const float *pf, const rn_tile_out *o)
{
	rn_vf acc[RN_MAXR][RN_MAXV];
	__m256 ext = _mm256_setzero_ps();
	RN_UNROLL_ALL
	for (int i = 0; i < 8; i++)
		RN_UNROLL_ALL
		for (int v = 0; v < 3; v++)
			acc[i][v] = _mm512_setzero_ps();
	for (int64_t q = 0; q < k; q++) {
		RN_PREFETCH(pf);
		pf += RN_PANEL;
		__m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
		__m512 b2 = _mm512_loadu_ps(b + 32);
		RN_UNROLL_ALL
		for (int i = 0; i < 8; i++) {
			__m512 av = _mm512_set1_ps(a[i]);
			acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
			acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
			acc[i][2] = _mm512_fmadd_ps(av, b2, acc[i][2]);
		}
		ext = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_set1_ps(b[48]), ext);
		a += RN_PANEL;
		b += ldb;
	}
	rn_panel_store(8, 3, acc, o); /* o->cols is 48 */
	float e[8];
	_mm256_storeu_ps(e, ext);
	for (int i = 0; i < o->rows; i++) {
		const float *res = o->res ? o->res + i * o->ldr : NULL;
		float x = e[i] + o->bias[i] + (res ? res[48] : 0.0f);
		o->y[i * o->ldy + 48] = rn_act_f32(o->act, o->alpha, o->beta, x);
	}
}
#else
#define GEMM_X1 0
#endif

/* rn_f32_gemm_ofs_<tile>__<isa>: B's rows at b + offs[q] (phase mode) */
static RN_NOINLINE void RN_UKERNEL(gemm_ofs, GEMM_TILE)(int64_t k, const float *a, const float *b,
							  const int64_t *offs, const float *pf,
							  const rn_tile_out *o)
{
	rn_gemm_panel_tile_rows(RN_GEMM_R, RN_GEMM_NV, 1, k, a, b, 0, offs, pf, o);
}

/* Columns that do not fill a sliver: the broadcast kernel, columns as
 * rows (up to TAIL_R at a time) times one panel's 16 channels in vectors,
 * so a 7x7 output's 49th column costs one column, not a sliver. With few
 * columns the sum over k would be one chain of dependent FMAs, waiting on
 * each one's latency (a 7x7 layer's last column took 16% of the layer), so
 * the reduction is split TAIL_U ways (q mod U) into at least 8 chains. */
enum { TAIL_R = 4, TAIL_NV = RN_PANEL / RN_VL, TAIL_MAXU = 8 };
#define TAIL_U(R) (8 / ((R) * TAIL_NV) > 1 ? 8 / ((R) * TAIL_NV) : 1)
typedef void (*tail_fn)(int64_t k, const float *a, int64_t ldq, const float *b, float *c);

/* c[i][0..16) = sum over q < k of a[i + q * ldq] * b[q * 16 + 0..16), i < R. */
static RN_INLINE void tail_tile(const int R, const int U, int64_t k, const float *a, int64_t ldq,
				const float *b, float *c)
{
	rn_vf acc[TAIL_MAXU][TAIL_R][TAIL_NV];
	RN_UNROLL_ALL
	for (int u = 0; u < U; u++)
		RN_UNROLL_ALL
		for (int i = 0; i < R; i++)
			RN_UNROLL_ALL
			for (int v = 0; v < TAIL_NV; v++)
				acc[u][i][v] = rn_vf_zero();
	int64_t q = 0;
	for (; q + U <= k; q += U) {
		RN_UNROLL_ALL
		for (int u = 0; u < U; u++) {
			rn_vf bv[TAIL_NV];
			RN_UNROLL_ALL
			for (int v = 0; v < TAIL_NV; v++)
				bv[v] = rn_vf_load(b + (q + u) * RN_PANEL + v * RN_VL);
			RN_UNROLL_ALL
			for (int i = 0; i < R; i++) {
				rn_vf av = rn_vf_set1(a[i + (q + u) * ldq]);
				RN_UNROLL_ALL
				for (int v = 0; v < TAIL_NV; v++)
					acc[u][i][v] = rn_vf_fma(av, bv[v], acc[u][i][v]);
			}
		}
	}
	for (; q < k; q++) {
		RN_UNROLL_ALL
		for (int i = 0; i < R; i++) {
			rn_vf av = rn_vf_set1(a[i + q * ldq]);
			RN_UNROLL_ALL
			for (int v = 0; v < TAIL_NV; v++)
				acc[0][i][v] = rn_vf_fma(av, rn_vf_load(b + q * RN_PANEL + v * RN_VL),
							 acc[0][i][v]);
		}
	}
	RN_UNROLL_ALL
	for (int u = 1; u < U; u++)
		RN_UNROLL_ALL
		for (int i = 0; i < R; i++)
			RN_UNROLL_ALL
			for (int v = 0; v < TAIL_NV; v++)
				acc[0][i][v] = rn_vf_add(acc[0][i][v], acc[u][i][v]);
	RN_UNROLL_ALL
	for (int i = 0; i < R; i++)
		RN_UNROLL_ALL
		for (int v = 0; v < TAIL_NV; v++)
			rn_vf_store(c + i * RN_PANEL + v * RN_VL, acc[0][i][v]);
}

/* rn_f32_gemm_bcast_<columns>x16__<isa> */
#define TAIL_NAME(R) RN_UKERNEL(gemm_bcast, R##x16)
#define TAIL(R) \
	static RN_NOINLINE void TAIL_NAME(R)(int64_t k, const float *a, int64_t ldq, const float *b, \
					     float *c) \
	{ \
		tail_tile(R, TAIL_U(R), k, a, ldq, b, c); \
	}
TAIL(1) TAIL(2) TAIL(3) TAIL(4)
#undef TAIL
static const tail_fn tail_table[TAIL_R] = { TAIL_NAME(1), TAIL_NAME(2), TAIL_NAME(3), TAIL_NAME(4) };

int rn_conv_gemm_supports(const rn_conv2d_params *p)
{
	return p->group == 1;
}

static int64_t gemm_k(const rn_conv2d_params *p)
{
	return (int64_t)p->c * p->kh * p->kw;
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

/* How a convolution is cut up; scratch_size and run must agree, so both
 * derive it from the parameters and the thread count only. */
typedef struct {
	int direct;        /* B is the input itself */
	int64_t k, n;      /* reduction length, output positions */
	int nr;            /* columns per sliver: NR, or NR + 1 (the 8 x 49 kernel) */
	int64_t chunk;     /* columns per chunk, a multiple of COL_UNIT or of nr */
	/* Phase mode (stride s >= 2, not 1x1): the input is split once into its
	 * s x s phase planes, plane (py, px)[r][c] = padded input [r s + py]
	 * [c s + px], rows wp wide. Output (oy, ox) then reads tap (ky, kx) at
	 * [oy + ky / s][ox + kx / s] of plane (ky % s, kx % s): with the
	 * output's rows wp wide too (columns ow.. wp are computed and
	 * dropped), each im2col row is a plane read in place from an offset,
	 * so nothing is packed per chunk (the stem's im2col took 0.3-0.5 of
	 * its 2 ms). */
	int phase, s, wp, hp;
	int64_t plane;     /* floats per phase plane */
	int64_t ncols;     /* columns the kernels run: n, or oh * wp rounded up to COL_UNIT */
	int panels;
	int parts;         /* tasks: at least one per thread */
	int split_cols;    /* parts split the columns, else the panels */
} gemm_plan;

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

static gemm_plan make_plan(const rn_conv2d_params *p, int threads)
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

/* One packed chunk per thread; threads that split the panels share one. */
static size_t slice_bytes(const gemm_plan *g)
{
	return g->direct ? 0 : rn_scratch_align((size_t)(g->k * g->chunk) * sizeof(float));
}

static int shared_chunk(const gemm_plan *g, int threads)
{
	return !g->direct && !g->split_cols && threads > 1;
}

/* The input rows one chunk's im2col rows read, for one channel, with the
 * padding made explicit (see pack_b): at most strip_rows x strip_width. */
static int strip_width(const rn_conv2d_params *p)
{
	return (p->ow - 1) * p->sw + (p->kw - 1) * p->dw + 1;
}

static size_t strip_bytes(const rn_conv2d_params *p, const gemm_plan *g)
{
	if (g->direct)
		return 0;
	int64_t out_rows = (g->chunk + p->ow - 2) / p->ow + 1;
	int64_t rows = (out_rows - 1) * p->sh + (int64_t)(p->kh - 1) * p->dh + 1;
	return rn_scratch_align((size_t)(rows * strip_width(p)) * sizeof(float));
}

/* Scratch: the packed chunks' slices, then one strip per thread. */
static size_t slices_bytes(const gemm_plan *g, int threads)
{
	return (size_t)(shared_chunk(g, threads) ? 1 : threads) * slice_bytes(g);
}

/* Phase mode's scratch: the planes, then the k row offsets. */
static size_t planes_bytes(const rn_conv2d_params *p, const gemm_plan *g)
{
	return rn_scratch_align((size_t)((int64_t)p->c * g->s * g->s * g->plane) * sizeof(float));
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
	gemm_plan g = make_plan(p, threads);
	if (g.phase)
		return planes_bytes(p, &g) + rn_scratch_align((size_t)g.k * sizeof(int64_t));
	if (g.direct)
		return 0;
	int64_t c48 = chunk_of(g.ncols, g.k, COL_UNIT), c49 = chunk_of(g.ncols, g.k, COL_UNIT + 1);
	g.chunk = c48 > c49 ? c48 : c49;
	return (size_t)threads * (slice_bytes(&g) + strip_bytes(p, &g));
}

typedef struct {
	const rn_conv2d_params *p;
	gemm_plan g;
	const float *x, *a, *bias, *res;
	float *y;
	char *scratch;
	size_t slice;
	float *strips;   /* one per thread */
	size_t strip;    /* floats in each */
	int64_t shared_c0, shared_c1; /* the chunk packed for all threads, if any */
	float *planes;   /* phase mode */
	int64_t *offs;
} gemm_job;

/* The packing's copies are short (an output row: 7 to 112 columns) and
 * many; inline, without a call each, they are several times cheaper. */

/* dst[t] = src[t] for t < n. */
static RN_INLINE void copy_run(float *dst, const float *src, int n)
{
#if defined(RN_AVX512)
	int t = 0;
	for (; t + 16 <= n; t += 16)
		_mm512_storeu_ps(dst + t, _mm512_loadu_ps(src + t));
	if (t < n)
		_mm512_mask_storeu_ps(dst + t, rn_mask16(n - t), _mm512_maskz_loadu_ps(rn_mask16(n - t), src + t));
#else
	rn_memcpy(dst, src, sizeof(float) * (size_t)n);
#endif
}

/* dst[t] = 0 for t < n. */
static RN_INLINE void zero_run(float *dst, int64_t n)
{
#if defined(RN_AVX512)
	int64_t t = 0;
	for (; t + 16 <= n; t += 16)
		_mm512_storeu_ps(dst + t, _mm512_setzero_ps());
	if (t < n)
		_mm512_mask_storeu_ps(dst + t, rn_mask16((int)(n - t)), _mm512_setzero_ps());
#else
	rn_memset(dst, 0, sizeof(float) * (size_t)n);
#endif
}

/* dst[t] = src[2 t] for t < n. */
static RN_INLINE void copy_stride2(float *dst, const float *src, int n)
{
	int t = 0;
#if defined(RN_AVX512)
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
					       28, 30);
	/* 16 outputs read src[0 .. 30]: masked loads never touch the rest */
	for (; t < n; t += 16) {
		int left = n - t < 16 ? n - t : 16, need = 2 * left - 1;
		__m512 a = _mm512_maskz_loadu_ps(rn_mask16(need < 16 ? need : 16), src + 2 * t);
		__m512 b = _mm512_maskz_loadu_ps(rn_mask16(need > 16 ? need - 16 : 0),
						 src + 2 * t + 16);
		_mm512_mask_storeu_ps(dst + t, rn_mask16(left), _mm512_permutex2var_ps(a, even, b));
	}
#endif
	for (; t < n; t++)
		dst[t] = src[2 * t];
}

/* dst[t] = src[t * stride] for t < n. */
static RN_INLINE void copy_strided(float *dst, const float *src, int n, int stride)
{
	if (stride == 1)
		copy_run(dst, src, n);
	else if (stride == 2)
		copy_stride2(dst, src, n);
	else
		for (int t = 0; t < n; t++)
			dst[t] = src[(int64_t)t * stride];
}

/* Packs rows [q0, q1) of the im2col columns [j0, j0 + ncols) row-major,
 * buf[q][j - j0], rows ldb floats apart (columns ncols..ldb zeroed). The
 * columns cover output rows oy0..oy1; per input channel, the input rows
 * they read are first copied into strip with the padding made explicit
 * (zeros), unless they lie inside the input (no padding), so that each of
 * the kh * kw im2col rows is then plain (strided) copies, one per output
 * row, with no bounds to test. */
static void pack_b(const rn_conv2d_params *p, const float *x, int64_t j0, int64_t ncols, float *buf,
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

/* Columns [j, j + cols) of B (column stride 1, row stride ldb), cols < NR,
 * times panel pn, through the epilogue. */
static void gemm_tail(const gemm_job *J, int pn, const float *b, int64_t ldb, int64_t j, int cols)
{
	const rn_conv2d_params *p = J->p;
	int64_t n = J->g.n, m0 = (int64_t)pn * RN_PANEL;
	int rows = (int)(p->m - m0 < RN_PANEL ? p->m - m0 : RN_PANEL);
	const float *a = J->a + m0 * J->g.k;
	float acc[TAIL_R][RN_PANEL];
	for (int i0 = 0; i0 < cols; i0 += TAIL_R) {
		int r = cols - i0 < TAIL_R ? cols - i0 : TAIL_R;
		tail_table[r - 1](J->g.k, b + i0, ldb, a, acc[0]);
		for (int c = 0; c < rows; c++) {
			float *y = J->y + (m0 + c) * n + j + i0;
			const float *res = J->res ? J->res + (m0 + c) * n + j + i0 : NULL;
			for (int i = 0; i < r; i++) {
				float v = acc[i][c] + J->bias[m0 + c] + (res ? res[i] : 0.0f);
				y[i] = rn_act_f32(p->act, p->alpha, p->beta, v);
			}
		}
	}
}

/* Whether a packed chunk's last partial sliver of cols columns (if any)
 * runs the panel kernel over a whole, zero-padded sliver: when it is at
 * least half a sliver. A shorter one (a 7x7 output's 49th column) costs
 * less as a tail, and padding its rows would double B's footprint. */
static int whole_last(int64_t cols)
{
	return 2 * (cols % NR) >= NR;
}

/* Row stride of a packed chunk of ncols columns (slivers of 49 divide
 * every chunk: nothing to pad). */
static int64_t packed_ld(const gemm_plan *g, int64_t ncols)
{
	return g->nr == NR && whole_last(ncols) ? rn_round_up(ncols, NR) : ncols;
}

/* Panels [p0, p1) against columns [j0, j1) of one image. */
static void gemm_block(const gemm_job *J, float *buf, float *strip, int p0, int p1, int64_t j0,
		       int64_t j1, int prepacked)
{
	const rn_conv2d_params *p = J->p;
	const gemm_plan *g = &J->g;
	int64_t k = g->k, n = g->n;
	for (int64_t c0 = j0; c0 < j1; c0 += g->chunk) {
		int64_t c1 = j1 - c0 < g->chunk ? j1 : c0 + g->chunk;
		/* a packed chunk's last partial sliver may run the panel kernel
		 * (whole_last), storing only its columns; B read in place has no
		 * room for a whole sliver's reads: its partial sliver is a tail */
		int64_t ldb = g->direct ? n : packed_ld(g, c1 - c0);
		if (!g->direct && !prepacked)
			pack_b(p, J->x, c0, c1 - c0, buf, ldb, 0, k, strip);
		for (int pn = p0; pn < p1; pn++) {
			const float *a = J->a + (int64_t)pn * k * RN_PANEL;
			for (int64_t j = c0; j < c1; j += g->nr) {
				const float *b = g->direct ? J->x + j : buf + (j - c0);
				int cols = (int)(c1 - j < NR ? c1 - j : NR);
				if (cols < NR && (g->direct || !whole_last(cols))) {
					gemm_tail(J, pn, b, ldb, j, cols);
					continue;
				}
				for (int r = 0; r < RN_PANEL; r += RN_GEMM_R) {
					int64_t m0 = (int64_t)pn * RN_PANEL + r;
					if (m0 >= p->m)
						break;
					rn_tile_out o = {
						.bias = J->bias + m0,
						.res = J->res ? J->res + m0 * n + j : NULL,
						.ldr = n,
						.y = J->y + m0 * n + j,
						.ldy = n,
						.rows = (int)(p->m - m0 < RN_GEMM_R ? p->m - m0 : RN_GEMM_R),
						.cols = cols,
						.act = p->act,
						.alpha = p->alpha,
						.beta = p->beta,
					};
					/* while the last sliver runs, the next panel comes in */
					const float *pf = j + g->nr >= c1 - g->nr && pn + 1 < p1
								  ? a + k * RN_PANEL
								  : a;
#if GEMM_X1
					if (g->nr != NR) {
						rn_f32_gemm_8x49__avx512(k, a + r, b, ldb, pf, &o);
						continue;
					}
#endif
					RN_UKERNEL(gemm, GEMM_TILE)(k, a + r, b, ldb, pf, &o);
				}
			}
		}
	}
}

/* Part t's panels [*p0, *p1) and columns [*j0, *j1): all of one, a share
 * of the other (whole slivers, so that only the last part has a tail). */
static void part_of(const gemm_plan *g, int64_t t, int *p0, int *p1, int64_t *j0, int64_t *j1)
{
	*p0 = 0;
	*p1 = g->panels;
	*j0 = 0;
	*j1 = g->ncols;
	if (g->split_cols) {
		int64_t units = (g->ncols + g->nr - 1) / g->nr;
		*j0 = units * t / g->parts * g->nr;
		*j1 = units * (t + 1) / g->parts * g->nr;
		*j1 = *j1 < g->ncols ? *j1 : g->ncols;
	} else {
		*p0 = (int)((int64_t)g->panels * t / g->parts);
		*p1 = (int)((int64_t)g->panels * (t + 1) / g->parts);
	}
}

static void gemm_task(void *ctx, int64_t t, int thread)
{
	const gemm_job *J = ctx;
	const gemm_plan *g = &J->g;
	float *buf = (float *)(J->scratch + (size_t)thread * J->slice);
	float *strip = J->strips + (size_t)thread * J->strip;
	int p0, p1;
	int64_t j0, j1;
	part_of(g, t, &p0, &p1, &j0, &j1);
	if (p0 >= p1 || j0 >= j1)
		return;
	if (!g->split_cols && J->shared_c1 > J->shared_c0) /* chunk packed by pack_task */
		gemm_block(J, (float *)J->scratch, strip, p0, p1, J->shared_c0, J->shared_c1, 1);
	else
		gemm_block(J, buf, strip, p0, p1, j0, j1, 0);
}

/* Threads splitting the panels of an im2col convolution share one packed
 * chunk: first they pack its rows, then each runs its panels. */
enum { PACK_TASKS_PER_THREAD = 4 };

static void pack_task(void *ctx, int64_t t, int thread)
{
	const gemm_job *J = ctx;
	int64_t k = J->g.k, n = (int64_t)J->g.parts * PACK_TASKS_PER_THREAD;
	int64_t cols = J->shared_c1 - J->shared_c0;
	pack_b(J->p, J->x, J->shared_c0, cols, (float *)J->scratch, packed_ld(&J->g, cols), k * t / n,
	       k * (t + 1) / n, J->strips + (size_t)thread * J->strip);
}

/* Phase mode, step 1, task t: the phase planes (py, all px) of input
 * channel t / s. */
static void phase_build_task(void *ctx, int64_t t, int thread)
{
	const gemm_job *J = ctx;
	const rn_conv2d_params *p = J->p;
	const gemm_plan *g = &J->g;
	int s = g->s, ci = (int)(t / s), py = (int)(t % s);
	const float *xc = J->x + (int64_t)ci * p->h * p->w;
	(void)thread;
	for (int px = 0; px < s; px++) {
		float *pl = J->planes + (((int64_t)ci * s + py) * s + px) * g->plane;
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

/* Phase mode: a computed tile (rows x NR, columns j.. of the wp-wide
 * output rows) to y, the dropped columns left out. */
static void phase_store(const gemm_job *J, float tile[RN_GEMM_R][NR], int rows, int64_t m0,
			int64_t j)
{
	const rn_conv2d_params *p = J->p;
	int64_t n = J->g.n;
	for (int t = 0; t < NR;) {
		int64_t jj = j + t;
		int oy = (int)(jj / J->g.wp), ox = (int)(jj % J->g.wp);
		int run = J->g.wp - ox < NR - t ? J->g.wp - ox : NR - t;
		if (oy < p->oh && ox < p->ow) {
			int cnt = p->ow - ox < run ? p->ow - ox : run;
			int64_t at = (int64_t)oy * p->ow + ox;
			for (int i = 0; i < rows; i++) {
				float *yr = J->y + (m0 + i) * n + at;
				if (!J->res) {
					copy_run(yr, tile[i] + t, cnt);
					continue;
				}
				const float *rr = J->res + (m0 + i) * n + at;
				if (!rn_act_in_vector(p->act)) {
					for (int e = 0; e < cnt; e++)
						yr[e] = rn_act_f32(p->act, p->alpha, p->beta,
								   tile[i][t + e] + rr[e]);
					continue;
				}
				for (int e = 0; e < cnt; e += RN_VL) {
					int ne = cnt - e < RN_VL ? cnt - e : RN_VL;
					rn_vf_store_out(yr + e, rr + e, rn_vf_load_n(tile[i] + t + e, ne),
							rn_vf_zero(), ne, p->act, p->alpha, p->beta);
				}
			}
		}
		t += run;
	}
}

/* Phase mode: panels [p0, p1) against columns [j0, j1) of the wp-wide rows.
 * Each tile goes to y one kernel call late: read right after the
 * kernel's vector stores, at other alignments, its loads would wait for
 * store forwarding to fail (the stem ran 1.5x slower). */
static void phase_block(const gemm_job *J, int p0, int p1, int64_t j0, int64_t j1)
{
	const rn_conv2d_params *p = J->p;
	const gemm_plan *g = &J->g;
	int64_t k = g->k;
	_Alignas(64) float tile[2][RN_GEMM_R][NR];
	int cur = 0, pend = 0, pend_rows = 0;
	int64_t pend_m0 = 0, pend_j = 0;
	for (int64_t c0 = j0; c0 < j1; c0 += g->chunk) {
		int64_t c1 = j1 - c0 < g->chunk ? j1 : c0 + g->chunk;
		for (int pn = p0; pn < p1; pn++) {
			const float *a = J->a + (int64_t)pn * k * RN_PANEL;
			for (int64_t j = c0; j < c1; j += NR) {
				for (int r = 0; r < RN_PANEL; r += RN_GEMM_R) {
					int64_t m0 = (int64_t)pn * RN_PANEL + r;
					if (m0 >= p->m)
						break;
					int rows = (int)(p->m - m0 < RN_GEMM_R ? p->m - m0 : RN_GEMM_R);
					/* with a residual, bias here, the rest in phase_store */
					rn_tile_out o = {
						.bias = J->bias + m0,
						.y = tile[cur][0],
						.ldy = NR,
						.rows = rows,
						.cols = NR,
						.act = J->res ? RN_ACT_NONE : p->act,
						.alpha = p->alpha,
						.beta = p->beta,
					};
					const float *pf = j + NR >= c1 && pn + 1 < p1 ? a + k * RN_PANEL : a;
					RN_UKERNEL(gemm_ofs, GEMM_TILE)(k, a + r, J->planes + j, J->offs, pf,
									&o);
					if (pend)
						phase_store(J, tile[cur ^ 1], pend_rows, pend_m0, pend_j);
					pend = 1;
					pend_rows = rows;
					pend_m0 = m0;
					pend_j = j;
					cur ^= 1;
				}
			}
		}
	}
	if (pend)
		phase_store(J, tile[cur ^ 1], pend_rows, pend_m0, pend_j);
}

static void phase_task(void *ctx, int64_t t, int thread)
{
	const gemm_job *J = ctx;
	int p0, p1;
	int64_t j0, j1;
	(void)thread;
	part_of(&J->g, t, &p0, &p1, &j0, &j1);
	if (p0 < p1 && j0 < j1)
		phase_block(J, p0, p1, j0, j1);
}

static void phase_run(gemm_job *J, const float *x, const float *residual, float *y,
		      rn_threadpool *tp)
{
	const rn_conv2d_params *p = J->p;
	const gemm_plan *g = &J->g;
	int s = g->s;
	for (int ci = 0; ci < p->c; ci++)
		for (int ky = 0; ky < p->kh; ky++)
			for (int kx = 0; kx < p->kw; kx++)
				J->offs[((int64_t)ci * p->kh + ky) * p->kw + kx] =
					(((int64_t)ci * s + ky % s) * s + kx % s) * g->plane +
					(int64_t)(ky / s) * g->wp + kx / s;
	int64_t hw = (int64_t)p->h * p->w, ohw = g->n;
	for (int i = 0; i < p->n; i++) {
		J->x = x + (int64_t)i * p->c * hw;
		J->y = y + (int64_t)i * p->m * ohw;
		J->res = residual ? residual + (int64_t)i * p->m * ohw : NULL;
		rn_parallel_for(tp, (int64_t)p->c * s, phase_build_task, J);
		rn_parallel_for(tp, g->parts, phase_task, J);
	}
}

void rn_conv_gemm_run(const rn_conv2d_params *p, const float *x, const float *packed,
		      const float *residual, float *y, void *scratch, rn_threadpool *tp)
{
	int threads = rn_threadpool_threads(tp);
	gemm_job J = { .p = p, .g = make_plan(p, threads), .a = packed, .scratch = scratch };
	int64_t m16 = rn_round_up(p->m, RN_PANEL);
	J.bias = packed + m16 * J.g.k;
	if (J.g.phase) {
		J.planes = scratch;
		J.offs = (int64_t *)((char *)scratch + planes_bytes(p, &J.g));
		phase_run(&J, x, residual, y, tp);
		return;
	}
	J.slice = slice_bytes(&J.g);
	J.scratch = J.slice ? scratch : NULL;
	J.strip = strip_bytes(p, &J.g) / sizeof(float);
	J.strips = J.strip ? (float *)((char *)scratch + slices_bytes(&J.g, threads)) : NULL;
	int64_t hw = (int64_t)p->h * p->w, ohw = J.g.n;
	for (int i = 0; i < p->n; i++) {
		J.x = x + (int64_t)i * p->c * hw;
		J.y = y + (int64_t)i * p->m * ohw;
		J.res = residual ? residual + (int64_t)i * p->m * ohw : NULL;
		if (!shared_chunk(&J.g, threads)) {
			rn_parallel_for(tp, J.g.parts, gemm_task, &J);
			continue;
		}
		for (int64_t c0 = 0; c0 < ohw; c0 += J.g.chunk) {
			J.shared_c0 = c0;
			J.shared_c1 = ohw - c0 < J.g.chunk ? ohw : c0 + J.g.chunk;
			rn_parallel_for(tp, (int64_t)J.g.parts * PACK_TASKS_PER_THREAD, pack_task, &J);
			rn_parallel_for(tp, J.g.parts, gemm_task, &J);
		}
	}
}
