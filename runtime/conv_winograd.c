/*
 * RN_CONV_WINOGRAD: 3x3, stride 1 convolution by Winograd F(4x4, 3x3)
 * (Lavin & Gray 2016, points 0, +-1, +-2, inf). Each 4x4 output tile is
 * A^T [ sum over c of (G g G^T) .* (B^T d B) ] A, with d the 6x6 input
 * patch: 36 products per input channel and output channel instead of 144.
 *
 * The weights' transform U = G g G^T is done at pack time, in double, and
 * stored as [36][M16 / 16][c][16] panels. At run time the output is cut
 * into blocks of whole tile rows; for each block:
 *   1. the block's input rows are transposed into channel groups of 16,
 *      [c / 16][row][x][16], zero where the padding is;
 *   2. input transform: V[xi][tile][c] = (B^T d B)[xi], 16 channels at a
 *      time in vector registers;
 *   3. 36 independent GEMMs O[xi][tile][m] = V[xi][tile][:] * U[xi][:][m]
 *      (the broadcast kernel: tiles broadcast, channels in vectors, so any
 *      number of tiles runs at full width);
 *   4. output transform A^T O A, + bias + residual, activation, stored to
 *      NCHW, clipped at the bottom and right edges.
 * Threads take whole blocks when they share out evenly and the weights
 * are light; otherwise (deep layers: 28x28 and smaller) the steps run one
 * after the other over the whole image, each split across threads
 * (channel groups, (xi, channel panels), channel panels), so that the
 * cores share the weight traffic.
 */
#include "conv_packed.h"
#include "microkernels.h"


enum {
	TS = 6,                      /* transformed tile side */
	NXI = TS * TS,
	VO_BYTES = 640 * 1024,       /* V and O of one block, per thread */
	VO_MAX_BYTES = 1536 * 1024,
	MIN_TILES = 24,
	PHASED_MAX_BYTES = 3 << 20,  /* V and O of a whole image, shared */
	LANES = RN_PANEL,            /* channels per transform group */
	NVG = LANES / RN_VL,         /* vectors per group */
	BC_MAXR = 6,
	BC_MAXV = 4,
};

#if defined(__GNUC__) || defined(__clang__)
#define RN_NOINLINE __attribute__((noinline))
#else
#define RN_NOINLINE
#endif

int rn_conv_winograd_supports(const rn_conv2d_params *p)
{
	return p->group == 1 && p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 &&
	       p->dh == 1 && p->dw == 1;
}

size_t rn_conv_winograd_packed_floats(const rn_conv2d_params *p)
{
	int64_t m16 = rn_round_up(p->m, RN_PANEL);
	return (size_t)(NXI * m16 * p->c + m16);
}

void rn_conv_winograd_pack(const rn_conv2d_params *p, const float *w, const float *bias,
			   float *packed)
{
	static const double G[TS][3] = {
		{ 1.0 / 4, 0, 0 },
		{ -1.0 / 6, -1.0 / 6, -1.0 / 6 },
		{ -1.0 / 6, 1.0 / 6, -1.0 / 6 },
		{ 1.0 / 24, 1.0 / 12, 1.0 / 6 },
		{ 1.0 / 24, -1.0 / 12, 1.0 / 6 },
		{ 0, 0, 1 },
	};
	int64_t m16 = rn_round_up(p->m, RN_PANEL), c = p->c, np = m16 / RN_PANEL;
	for (int64_t m = 0; m < m16; m++) {
		for (int64_t ci = 0; ci < c; ci++) {
			double g[3][3] = { { 0 } }, t[TS][3], u;
			if (m < p->m)
				for (int i = 0; i < 3; i++)
					for (int j = 0; j < 3; j++)
						g[i][j] = w[((m * c + ci) * 3 + i) * 3 + j];
			for (int i = 0; i < TS; i++)
				for (int j = 0; j < 3; j++)
					t[i][j] = G[i][0] * g[0][j] + G[i][1] * g[1][j] + G[i][2] * g[2][j];
			for (int i = 0; i < TS; i++) {
				for (int j = 0; j < TS; j++) {
					u = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
					int64_t xi = i * TS + j;
					packed[((xi * np + m / RN_PANEL) * c + ci) * RN_PANEL + m % RN_PANEL] =
						(float)u;
				}
			}
		}
		packed[NXI * m16 * c + m] = m < p->m && bias ? bias[m] : 0.0f;
	}
}

/* How the output is cut up; scratch_size and run both derive it from the
 * parameters and the thread count only. */
typedef struct {
	int64_t c16, m16;
	int tiles_y, tiles_x, wp;    /* wp: transposed row width, 4 * tiles_x + 2 */
	int rows;                    /* tile rows per block */
	int blocks;
	int phased;                  /* whole image as one block, steps split */
	int parts;                   /* thread slices of scratch */
} wino_plan;

static wino_plan make_plan(const rn_conv2d_params *p, int threads)
{
	wino_plan w;
	w.c16 = rn_round_up(p->c, LANES);
	w.m16 = rn_round_up(p->m, RN_PANEL);
	w.tiles_y = (p->oh + 3) / 4;
	w.tiles_x = (p->ow + 3) / 4;
	w.wp = 4 * w.tiles_x + 2;
	/* Tile rows per block: V and O within VO_BYTES (they stay in L2 between
	 * the steps), but at least MIN_TILES tiles when V and O fit in
	 * VO_MAX_BYTES: every block streams all the transformed weights, which
	 * outweigh V and O in the deep layers. */
	int64_t per_tile = NXI * (int64_t)sizeof(float) * (w.c16 + w.m16);
	int64_t rows = (int64_t)VO_BYTES / per_tile / w.tiles_x;
	int64_t want = (MIN_TILES + w.tiles_x - 1) / w.tiles_x;
	int64_t cap = (int64_t)VO_MAX_BYTES / per_tile / w.tiles_x;
	want = want < cap ? want : cap;
	rows = rows > want ? rows : want;
	rows = rows < 1 ? 1 : rows > w.tiles_y ? w.tiles_y : rows;
	w.rows = (int)rows;
	w.blocks = (w.tiles_y + w.rows - 1) / w.rows;
	w.phased = 0;
	if (threads > 1) {
		/* Threads share the image in phases when its V and O are small
		 * enough and the weights are big (each thread then streams its half
		 * of them) or whole blocks cannot be shared out evenly; otherwise
		 * they take blocks, as many rows each as keeps them balanced. */
		int64_t vo_image = per_tile * w.tiles_y * w.tiles_x;
		int64_t u_bytes = NXI * (int64_t)sizeof(float) * p->c * w.m16;
		int best = 0;
		for (int r = w.rows; r >= 1 && !best; r--) {
			int nb = (w.tiles_y + r - 1) / r;
			int per_thread = (nb + threads - 1) / threads * r;
			if ((double)per_thread * threads <= 1.05 * w.tiles_y)
				best = r;
		}
		if (vo_image <= PHASED_MAX_BYTES && (u_bytes >= vo_image || !best)) {
			w.phased = 1;
			w.rows = w.tiles_y;
			w.blocks = 1;
		} else if (best) {
			w.rows = best;
			w.blocks = (w.tiles_y + best - 1) / best;
		}
	}
	w.parts = w.phased ? 1 : threads;
	return w;
}

/* Floats of one scratch slice: transposed rows, V, O of one block. */
static int64_t band_floats(const wino_plan *w)
{
	return w->c16 * (4 * w->rows + 2) * w->wp;
}
static int64_t v_floats(const wino_plan *w)
{
	return NXI * (int64_t)w->rows * w->tiles_x * w->c16;
}
static int64_t o_floats(const wino_plan *w)
{
	return NXI * (int64_t)w->rows * w->tiles_x * w->m16;
}
static size_t slice_bytes(const wino_plan *w)
{
	return rn_scratch_align((size_t)band_floats(w) * sizeof(float)) +
	       rn_scratch_align((size_t)v_floats(w) * sizeof(float)) +
	       rn_scratch_align((size_t)o_floats(w) * sizeof(float));
}

size_t rn_conv_winograd_scratch_size(const rn_conv2d_params *p, int threads)
{
	wino_plan w = make_plan(p, threads);
	return (size_t)w.parts * slice_bytes(&w);
}

typedef struct {
	const rn_conv2d_params *p;
	wino_plan w;
	const float *x, *u, *bias, *res;
	float *y;
	char *scratch;
	size_t slice;
} wino_job;

/* One block's scratch. */
typedef struct {
	int ty0, rows, ntiles;
	float *band, *v, *o;
} wino_block;

static wino_block block_at(const wino_job *J, int b, int thread)
{
	const wino_plan *w = &J->w;
	char *s = J->scratch + (size_t)thread * J->slice;
	wino_block B;
	B.ty0 = b * w->rows;
	B.rows = w->tiles_y - B.ty0 < w->rows ? w->tiles_y - B.ty0 : w->rows;
	B.ntiles = B.rows * w->tiles_x;
	B.band = (float *)s;
	s += rn_scratch_align((size_t)band_floats(w) * sizeof(float));
	B.v = (float *)s;
	s += rn_scratch_align((size_t)v_floats(w) * sizeof(float));
	B.o = (float *)s;
	return B;
}

/* Step 1 for channel group g: band[r][x][16] = input row 4 * ty0 - pt + r,
 * column x - pl, channels 16g.., zero outside the input. */
static void transpose_in(const wino_job *J, const wino_block *B, int g)
{
	const rn_conv2d_params *p = J->p;
	const wino_plan *w = &J->w;
	int nrow = 4 * B->rows + 2;
	float *band = B->band + (int64_t)g * (4 * w->rows + 2) * w->wp * LANES;
	int64_t hw = (int64_t)p->h * p->w;
	for (int r = 0; r < nrow; r++) {
		int iy = 4 * B->ty0 - p->pt + r;
		float *dst = band + (int64_t)r * w->wp * LANES;
		if (iy < 0 || iy >= p->h) {
			rn_memset(dst, 0, sizeof(float) * (size_t)w->wp * LANES);
			continue;
		}
		int x0 = p->pl, x1 = p->pl + p->w; /* band columns inside the input */
		x0 = x0 < w->wp ? x0 : w->wp;
		x1 = x1 < w->wp ? x1 : w->wp;
#if defined(RN_AVX512)
		/* 16 columns of 16 channels at a time; masked loads give the zeros */
		int nch = p->c - g * LANES < LANES ? p->c - g * LANES : LANES;
		const float *src0 = J->x + (int64_t)g * LANES * hw + (int64_t)iy * p->w - p->pl;
		(void)x0;
		(void)x1;
		for (int xx = 0; xx < w->wp; xx += 16) {
			/* lanes i with 0 <= xx + i - pl < w */
			int lo = p->pl - xx, hi = p->pl + p->w - xx;
			lo = lo < 0 ? 0 : lo > 16 ? 16 : lo;
			hi = hi < 0 ? 0 : hi > 16 ? 16 : hi;
			__mmask16 m = lo < hi ? (__mmask16)(rn_mask16(hi) & ~rn_mask16(lo)) : 0;
			__m512 v[16];
			for (int l = 0; l < 16; l++)
				v[l] = l < nch ? _mm512_maskz_loadu_ps(m, src0 + l * hw + xx)
					       : _mm512_setzero_ps();
			rn_transpose16x16__avx512(v);
			int n = w->wp - xx < 16 ? w->wp - xx : 16;
			for (int i = 0; i < n; i++)
				_mm512_storeu_ps(dst + (int64_t)(xx + i) * LANES, v[i]);
		}
#else
		rn_memset(dst, 0, sizeof(float) * (size_t)x0 * LANES);
		rn_memset(dst + (int64_t)x1 * LANES, 0, sizeof(float) * (size_t)(w->wp - x1) * LANES);
		for (int l = 0; l < LANES; l++) {
			int ch = g * LANES + l;
			if (ch >= p->c) {
				for (int x = x0; x < x1; x++)
					dst[x * LANES + l] = 0.0f;
				continue;
			}
			const float *src = J->x + ch * hw + (int64_t)iy * p->w - p->pl;
			for (int x = x0; x < x1; x++)
				dst[x * LANES + l] = src[x];
		}
#endif
	}
}

/* B^T d over six vectors (rows or columns of the tile). */
static RN_INLINE void bt6(const rn_vf d[TS], rn_vf r[TS])
{
	rn_vf four = rn_vf_set1(4.0f), m4 = rn_vf_set1(-4.0f), m5 = rn_vf_set1(-5.0f);
	rn_vf two = rn_vf_set1(2.0f), m2 = rn_vf_set1(-2.0f);
	rn_vf s12 = rn_vf_add(d[1], d[2]), d12 = rn_vf_sub(d[1], d[2]);
	rn_vf s34 = rn_vf_add(d[3], d[4]), d43 = rn_vf_sub(d[4], d[3]);
	rn_vf d31 = rn_vf_sub(d[3], d[1]), d42 = rn_vf_sub(d[4], d[2]);
	r[0] = rn_vf_fma(four, d[0], rn_vf_fma(m5, d[2], d[4]));
	r[1] = rn_vf_fma(m4, s12, s34);
	r[2] = rn_vf_fma(four, d12, d43);
	r[3] = rn_vf_fma(two, d31, d42);
	r[4] = rn_vf_fma(m2, d31, d42);
	r[5] = rn_vf_fma(four, d[1], rn_vf_fma(m5, d[3], d[5]));
}

/* A^T m over six vectors, four results. */
static RN_INLINE void at6(const rn_vf m[TS], rn_vf o[4])
{
	rn_vf s12 = rn_vf_add(m[1], m[2]), d12 = rn_vf_sub(m[1], m[2]);
	rn_vf s34 = rn_vf_add(m[3], m[4]), d34 = rn_vf_sub(m[3], m[4]);
	o[0] = rn_vf_add(rn_vf_add(m[0], s12), s34);
	o[1] = rn_vf_fma(rn_vf_set1(2.0f), d34, d12);
	o[2] = rn_vf_fma(rn_vf_set1(4.0f), s34, s12);
	o[3] = rn_vf_add(rn_vf_fma(rn_vf_set1(8.0f), d34, d12), m[5]);
}

/* Step 2 for channel group g: every tile of the block. */
static void input_transform(const wino_job *J, const wino_block *B, int g)
{
	const wino_plan *w = &J->w;
	const float *band = B->band + (int64_t)g * (4 * w->rows + 2) * w->wp * LANES;
	int64_t xi_pitch = (int64_t)B->ntiles * w->c16;
	for (int t = 0; t < B->ntiles; t++) {
		int ty = t / w->tiles_x, tx = t % w->tiles_x;
		const float *src = band + ((int64_t)(4 * ty) * w->wp + 4 * tx) * LANES;
		float *dst = B->v + (int64_t)t * w->c16 + g * LANES;
		for (int l = 0; l < NVG; l++) {
			rn_vf d[TS], col[TS][TS], r[TS];
			for (int j = 0; j < TS; j++) {
				for (int i = 0; i < TS; i++)
					d[i] = rn_vf_load(src + ((int64_t)i * w->wp + j) * LANES + l * RN_VL);
				bt6(d, r);
				for (int i = 0; i < TS; i++)
					col[i][j] = r[i];
			}
			for (int i = 0; i < TS; i++) {
				bt6(col[i], r);
				for (int j = 0; j < TS; j++)
					rn_vf_store(dst + (i * TS + j) * xi_pitch + l * RN_VL, r[j]);
			}
		}
	}
}

/* Step 3's kernels: rows x vectors, broadcast tiles, vectors of channels. */
typedef void (*bc_fn)(int64_t k, const float *a, int64_t lda, const float *b, int64_t ldp,
		      float *c, int64_t ldc);
/* (V rows are contiguous in q) */
/* rn_f32_gemm_bcast_<rows>x<vectors>v__<isa> */
#define BC_NAME(R, V) RN_UKERNEL(gemm_bcast, R##x##V##v)
#define BC(R, V) \
	static RN_NOINLINE void BC_NAME(R, V)(int64_t k, const float *a, int64_t lda, \
					     const float *b, int64_t ldp, float *c, int64_t ldc) \
	{ \
		rn_gemm_bcast_tile(R, V, k, a, lda, 1, b, ldp, c, ldc); \
	}
#define BC_ROW(R) BC(R, 1) BC(R, 2) BC(R, 3) BC(R, 4)
BC_ROW(1) BC_ROW(2) BC_ROW(3) BC_ROW(4) BC_ROW(5) BC_ROW(6)
#undef BC_ROW
#undef BC
#define BC_ROW(R) { BC_NAME(R, 1), BC_NAME(R, 2), BC_NAME(R, 3), BC_NAME(R, 4) }
static const bc_fn bc_table[BC_MAXR][BC_MAXV] = {
	BC_ROW(1), BC_ROW(2), BC_ROW(3), BC_ROW(4), BC_ROW(5), BC_ROW(6),
};
#undef BC_ROW
_Static_assert((int)RN_BC_R <= (int)BC_MAXR && (int)RN_BC_NV <= (int)BC_MAXV, "broadcast tile table too small");

/* Step 3 for one xi and panels [p0, p1): O[xi][t][m] = V[xi][t][:] U[xi][:][m]. */
static void xi_gemm(const wino_job *J, const wino_block *B, int xi, int p0, int p1)
{
	const rn_conv2d_params *p = J->p;
	const wino_plan *w = &J->w;
	int64_t c = p->c, np = w->m16 / RN_PANEL;
	const float *v = B->v + (int64_t)xi * B->ntiles * w->c16;
	float *o = B->o + (int64_t)xi * B->ntiles * w->m16;
	const float *u = J->u + (int64_t)xi * np * c * RN_PANEL;
	int step = RN_BC_NV * RN_VL; /* channels per kernel call */
	for (int64_t m = (int64_t)p0 * RN_PANEL; m < (int64_t)p1 * RN_PANEL; m += step) {
		int64_t left = (int64_t)p1 * RN_PANEL - m;
		int nv = left < step ? (int)(left / RN_VL) : RN_BC_NV;
		const float *b = u + (m / RN_PANEL) * c * RN_PANEL + m % RN_PANEL;
		/* row groups of even size: 14 tiles as 5 + 5 + 4, not 6 + 6 + 2 */
		int groups = (B->ntiles + RN_BC_R - 1) / RN_BC_R;
		for (int gi = 0, t = 0; gi < groups; gi++) {
			int t1 = (int)((int64_t)B->ntiles * (gi + 1) / groups), r = t1 - t;
			bc_table[r - 1][nv - 1](c, v + (int64_t)t * w->c16, w->c16, b, c * RN_PANEL,
						o + (int64_t)t * w->m16 + m, w->m16);
			t = t1;
		}
	}
}

/* Stores one tile's outputs out[pixel][channel] (bias added) to channels
 * 16 pn .. 16 pn + mcount, rows oy0 + a < oy0 + ny, columns ox0 + b < ox0 + nx,
 * through residual and activation. */
static void store_tile(const wino_job *J, float out[16][LANES], int pn, int mcount, int oy0,
		       int ox0, int ny, int nx)
{
	const rn_conv2d_params *p = J->p;
	int64_t ohw = (int64_t)p->oh * p->ow;
#if defined(RN_AVX512)
	if (ny == 4 && nx == 4 && rn_act_in_vector(p->act)) {
		__m512 v[16];
		for (int i = 0; i < 16; i++)
			v[i] = _mm512_loadu_ps(out[i]);
		rn_transpose16x16__avx512(v); /* v[channel][pixel] */
		for (int l = 0; l < mcount; l++) {
			int64_t base = (int64_t)(pn * RN_PANEL + l) * ohw + (int64_t)oy0 * p->ow + ox0;
			float *y = J->y + base;
			__m512 t = v[l];
			if (J->res) {
				const float *r = J->res + base;
				__m512 rv = _mm512_castps128_ps512(_mm_loadu_ps(r));
				rv = _mm512_insertf32x4(rv, _mm_loadu_ps(r + p->ow), 1);
				rv = _mm512_insertf32x4(rv, _mm_loadu_ps(r + 2 * p->ow), 2);
				rv = _mm512_insertf32x4(rv, _mm_loadu_ps(r + 3 * p->ow), 3);
				t = _mm512_add_ps(t, rv);
			}
			t = rn_vf_act(p->act, p->alpha, p->beta, t);
			_mm_storeu_ps(y, _mm512_castps512_ps128(t));
			_mm_storeu_ps(y + p->ow, _mm512_extractf32x4_ps(t, 1));
			_mm_storeu_ps(y + 2 * p->ow, _mm512_extractf32x4_ps(t, 2));
			_mm_storeu_ps(y + 3 * p->ow, _mm512_extractf32x4_ps(t, 3));
		}
		return;
	}
#endif
	for (int l = 0; l < mcount; l++) {
		int64_t base = (int64_t)(pn * RN_PANEL + l) * ohw + (int64_t)oy0 * p->ow + ox0;
		float *y = J->y + base;
		const float *res = J->res ? J->res + base : NULL;
		for (int a = 0; a < ny; a++) {
			for (int b = 0; b < nx; b++) {
				float v = out[a * 4 + b][l];
				if (res)
					v += res[(int64_t)a * p->ow + b];
				y[(int64_t)a * p->ow + b] = rn_act_f32(p->act, p->alpha, p->beta, v);
			}
		}
	}
}

/* Step 4 for panel pn: every tile of the block. */
static void output_transform(const wino_job *J, const wino_block *B, int pn)
{
	const rn_conv2d_params *p = J->p;
	const wino_plan *w = &J->w;
	int64_t xi_pitch = (int64_t)B->ntiles * w->m16;
	int mcount = p->m - pn * RN_PANEL < RN_PANEL ? p->m - pn * RN_PANEL : RN_PANEL;
	const float *bias = J->bias + pn * RN_PANEL;
	for (int t = 0; t < B->ntiles; t++) {
		int oy0 = 4 * (B->ty0 + t / w->tiles_x), ox0 = 4 * (t % w->tiles_x);
		int ny = p->oh - oy0 < 4 ? p->oh - oy0 : 4, nx = p->ow - ox0 < 4 ? p->ow - ox0 : 4;
		const float *src = B->o + (int64_t)t * w->m16 + pn * RN_PANEL;
		float out[16][LANES]; /* [pixel][channel] */
		for (int l = 0; l < NVG; l++) {
			rn_vf m[TS], row[4][TS], r[4];
			for (int j = 0; j < TS; j++) {
				for (int i = 0; i < TS; i++)
					m[i] = rn_vf_load(src + (i * TS + j) * xi_pitch + l * RN_VL);
				at6(m, r);
				for (int a = 0; a < 4; a++)
					row[a][j] = r[a];
			}
			rn_vf bv = rn_vf_load(bias + l * RN_VL);
			for (int a = 0; a < 4; a++) {
				at6(row[a], r);
				for (int b = 0; b < 4; b++)
					rn_vf_store(out[a * 4 + b] + l * RN_VL, rn_vf_add(r[b], bv));
			}
		}
		store_tile(J, out, pn, mcount, oy0, ox0, ny, nx);
	}
}

static void run_block(const wino_job *J, const wino_block *B)
{
	int groups = (int)(J->w.c16 / LANES), np = (int)(J->w.m16 / RN_PANEL);
	for (int g = 0; g < groups; g++) {
		transpose_in(J, B, g);
		input_transform(J, B, g);
	}
	for (int xi = 0; xi < NXI; xi++)
		xi_gemm(J, B, xi, 0, np);
	for (int pn = 0; pn < np; pn++)
		output_transform(J, B, pn);
}

static void block_task(void *ctx, int64_t b, int thread)
{
	const wino_job *J = ctx;
	wino_block B = block_at(J, (int)b, thread);
	run_block(J, &B);
}

/* The phased steps, each a parallel loop over the whole image's block. */
static void phase_in(void *ctx, int64_t g, int thread)
{
	const wino_job *J = ctx;
	wino_block B = block_at(J, 0, 0);
	(void)thread;
	transpose_in(J, &B, (int)g);
	input_transform(J, &B, (int)g);
}

enum { PHASE_PANELS = 4 }; /* panels per step-3 task */

static void phase_gemm(void *ctx, int64_t t, int thread)
{
	const wino_job *J = ctx;
	wino_block B = block_at(J, 0, 0);
	int np = (int)(J->w.m16 / RN_PANEL), ng = (np + PHASE_PANELS - 1) / PHASE_PANELS;
	int xi = (int)(t / ng), p0 = (int)(t % ng) * PHASE_PANELS;
	int p1 = p0 + PHASE_PANELS < np ? p0 + PHASE_PANELS : np;
	(void)thread;
	xi_gemm(J, &B, xi, p0, p1);
}

static void phase_out(void *ctx, int64_t pn, int thread)
{
	const wino_job *J = ctx;
	wino_block B = block_at(J, 0, 0);
	(void)thread;
	output_transform(J, &B, (int)pn);
}

void rn_conv_winograd_run(const rn_conv2d_params *p, const float *x, const float *packed,
			  const float *residual, float *y, void *scratch, rn_threadpool *tp)
{
	int threads = rn_threadpool_threads(tp);
	wino_job J = { .p = p, .w = make_plan(p, threads), .u = packed, .scratch = scratch };
	J.bias = packed + NXI * J.w.m16 * p->c;
	J.slice = slice_bytes(&J.w);
	int64_t hw = (int64_t)p->h * p->w, ohw = (int64_t)p->oh * p->ow;
	int groups = (int)(J.w.c16 / LANES), np = (int)(J.w.m16 / RN_PANEL);
	for (int i = 0; i < p->n; i++) {
		J.x = x + (int64_t)i * p->c * hw;
		J.y = y + (int64_t)i * p->m * ohw;
		J.res = residual ? residual + (int64_t)i * p->m * ohw : NULL;
		if (J.w.phased) {
			rn_parallel_for(tp, groups, phase_in, &J);
			rn_parallel_for(tp, (int64_t)NXI * ((np + PHASE_PANELS - 1) / PHASE_PANELS),
					phase_gemm, &J);
			rn_parallel_for(tp, np, phase_out, &J);
		} else {
			rn_parallel_for(tp, J.w.blocks, block_task, &J);
		}
	}
}
