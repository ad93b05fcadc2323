/*
 * The Winograd convolution's steps (conv_winograd.c), written once over the
 * output tile side: conv_winograd.c includes this file once per tile size,
 * after defining
 *   OT, TS, NXI   output tile side, transformed tile side (OT + 2), TS * TS
 *   W_(name)      the instance's name for a static function or type
 *   W_PUB(name)   its rn_conv_winograd*_ function names (conv_packed.h)
 *   W_BT, W_AT    the input and output transforms over TS vectors
 *   W_G           the weight transform matrix, TS x 3
 * No include guard: it is meant to be included more than once.
 */

int W_PUB(supports)(const rn_conv2d_params *p)
{
	return p->group == 1 && p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 &&
	       p->dh == 1 && p->dw == 1;
}

size_t W_PUB(packed_floats)(const rn_conv2d_params *p)
{
	int64_t m16 = rn_round_up(p->m, RN_PANEL);
	return (size_t)(NXI * m16 * p->c + m16);
}

void W_PUB(pack)(const rn_conv2d_params *p, const float *w, const float *bias,
			   float *packed)
{
	static const double G[TS][3] = W_G;
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
	int tiles_y, tiles_x, wp;    /* wp: transposed row width, OT * tiles_x + 2 */
	int rows;                    /* tile rows per block */
	int blocks;
	int phased;                  /* whole image as one block, steps split */
	int parts;                   /* thread slices of scratch */
} W_(wino_plan);

static W_(wino_plan) W_(make_plan)(const rn_conv2d_params *p, int threads)
{
	W_(wino_plan) w;
	w.c16 = rn_round_up(p->c, LANES);
	w.m16 = rn_round_up(p->m, RN_PANEL);
	w.tiles_y = (p->oh + OT - 1) / OT;
	w.tiles_x = (p->ow + OT - 1) / OT;
	w.wp = OT * w.tiles_x + 2;
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
static int64_t W_(band_floats)(const W_(wino_plan) *w)
{
	return w->c16 * (OT * w->rows + 2) * w->wp;
}
static int64_t W_(v_floats)(const W_(wino_plan) *w)
{
	return NXI * (int64_t)w->rows * w->tiles_x * w->c16;
}
static int64_t W_(o_floats)(const W_(wino_plan) *w)
{
	return NXI * (int64_t)w->rows * w->tiles_x * w->m16;
}
static size_t W_(slice_bytes)(const W_(wino_plan) *w)
{
	return rn_scratch_align((size_t)W_(band_floats)(w) * sizeof(float)) +
	       rn_scratch_align((size_t)W_(v_floats)(w) * sizeof(float)) +
	       rn_scratch_align((size_t)W_(o_floats)(w) * sizeof(float));
}

size_t W_PUB(scratch_size)(const rn_conv2d_params *p, int threads)
{
	W_(wino_plan) w = W_(make_plan)(p, threads);
	return (size_t)w.parts * W_(slice_bytes)(&w);
}

typedef struct {
	const rn_conv2d_params *p;
	W_(wino_plan) w;
	const float *x, *u, *bias, *res;
	float *y;
	char *scratch;
	size_t slice;
	int64_t phase_parts;
} W_(wino_job);

/* One block's scratch. */
typedef struct {
	int ty0, rows, ntiles;
	float *band, *v, *o;
} W_(wino_block);

static W_(wino_block) W_(block_at)(const W_(wino_job) *J, int b, int thread)
{
	const W_(wino_plan) *w = &J->w;
	char *s = J->scratch + (size_t)thread * J->slice;
	W_(wino_block) B;
	B.ty0 = b * w->rows;
	B.rows = w->tiles_y - B.ty0 < w->rows ? w->tiles_y - B.ty0 : w->rows;
	B.ntiles = B.rows * w->tiles_x;
	B.band = (float *)s;
	s += rn_scratch_align((size_t)W_(band_floats)(w) * sizeof(float));
	B.v = (float *)s;
	s += rn_scratch_align((size_t)W_(v_floats)(w) * sizeof(float));
	B.o = (float *)s;
	return B;
}

/* Step 1 for channel group g: band[r][x][16] = input row OT * ty0 - pt + r,
 * column x - pl, channels 16g.., zero outside the input. */
static void W_(transpose_in)(const W_(wino_job) *J, const W_(wino_block) *B, int g)
{
	const rn_conv2d_params *p = J->p;
	const W_(wino_plan) *w = &J->w;
	int nrow = OT * B->rows + 2;
	float *band = B->band + (int64_t)g * (OT * w->rows + 2) * w->wp * LANES;
	int64_t hw = (int64_t)p->h * p->w;
	for (int r = 0; r < nrow; r++) {
		int iy = OT * B->ty0 - p->pt + r;
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
			RN_UNROLL_ALL
			for (int l = 0; l < 16; l++)
				v[l] = l < nch ? _mm512_maskz_loadu_ps(m, src0 + l * hw + xx)
					       : _mm512_setzero_ps();
			rn_transpose16x16__avx512(v);
			int n = w->wp - xx < 16 ? w->wp - xx : 16;
			RN_UNROLL_ALL
			for (int i = 0; i < 16; i++) {
				if (i >= n)
					break;
				_mm512_storeu_ps(dst + (int64_t)(xx + i) * LANES, v[i]);
			}
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

/* Step 2 for channel group g: every tile of the block. */
static void W_(input_transform)(const W_(wino_job) *J, const W_(wino_block) *B, int g)
{
	const W_(wino_plan) *w = &J->w;
	const float *band = B->band + (int64_t)g * (OT * w->rows + 2) * w->wp * LANES;
	int64_t xi_pitch = (int64_t)B->ntiles * w->c16;
	for (int t = 0; t < B->ntiles; t++) {
		int ty = t / w->tiles_x, tx = t % w->tiles_x;
		const float *src = band + ((int64_t)(OT * ty) * w->wp + OT * tx) * LANES;
		float *dst = B->v + (int64_t)t * w->c16 + g * LANES;
		/* loops with constant trip counts, fully unrolled so that the
		 * tile stays in vector registers (at -O2 GCC kept it on the stack:
		 * ResNet-18 ran 3-5% slower) */
		for (int l = 0; l < NVG; l++) {
			rn_vf d[TS], col[TS][TS], r[TS];
			RN_UNROLL_ALL
			for (int j = 0; j < TS; j++) {
				RN_UNROLL_ALL
				for (int i = 0; i < TS; i++)
					d[i] = rn_vf_load(src + ((int64_t)i * w->wp + j) * LANES + l * RN_VL);
				W_BT(d, r);
				RN_UNROLL_ALL
				for (int i = 0; i < TS; i++)
					col[i][j] = r[i];
			}
			RN_UNROLL_ALL
			for (int i = 0; i < TS; i++) {
				W_BT(col[i], r);
				RN_UNROLL_ALL
				for (int j = 0; j < TS; j++)
					rn_vf_store(dst + (i * TS + j) * xi_pitch + l * RN_VL, r[j]);
			}
		}
	}
}

/* Step 3 for one xi and panels [p0, p1): O[xi][t][m] = V[xi][t][:] U[xi][:][m]. */
static void W_(xi_gemm)(const W_(wino_job) *J, const W_(wino_block) *B, int xi, int p0, int p1)
{
	const rn_conv2d_params *p = J->p;
	const W_(wino_plan) *w = &J->w;
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
		/* The first row group reads this step's weights from memory, the
		 * others from cache; meanwhile the second and third fetch the
		 * next step's (they follow in memory: whole panels, then the next
		 * xi; phased, a task is a run of steps, so they are mostly this
		 * thread's own next) into L2, 2 * c lines each. Without it
		 * a 7x7 layer's weights streamed at 8 GB/s, in bursts between
		 * computing: ResNet-18 20.6 -> 18.8 ms on 1 thread. */
		const char *next = (const char *)(b + (int64_t)(step / RN_PANEL) * c * RN_PANEL);
		for (int gi = 0, t = 0; gi < groups; gi++) {
			int t1 = (int)((int64_t)B->ntiles * (gi + 1) / groups), r = t1 - t;
			const char *pf = gi == 1 || gi == 2 ? next + (gi - 1) * c * 128 : NULL;
			bc_table[r - 1][nv - 1](c, v + (int64_t)t * w->c16, w->c16, b, c * RN_PANEL,
						o + (int64_t)t * w->m16 + m, w->m16, pf);
			t = t1;
		}
	}
}

/* Stores one tile's outputs out[pixel][channel] (bias added) to channels
 * 16 pn .. 16 pn + mcount, rows oy0 + a < oy0 + ny, columns ox0 + b < ox0 + nx,
 * through residual and activation. */
static void W_(store_tile)(const W_(wino_job) *J, float out[OT * OT][LANES], int pn, int mcount, int oy0,
		       int ox0, int ny, int nx)
{
	const rn_conv2d_params *p = J->p;
	int64_t ohw = (int64_t)p->oh * p->ow;
#if defined(RN_AVX512)
	if (OT == 4 && ny == 4 && nx == 4 && rn_act_in_vector(p->act)) {
		__m512 v[16];
		RN_UNROLL_ALL
		for (int i = 0; i < 16; i++)
			v[i] = _mm512_loadu_ps(out[i]);
		rn_transpose16x16__avx512(v); /* v[channel][pixel] */
		RN_UNROLL_ALL /* v[l] with l a constant: v stays in registers */
		for (int l = 0; l < 16; l++) {
			if (l >= mcount)
				break;
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
				float v = out[a * OT + b][l];
				if (res)
					v += res[(int64_t)a * p->ow + b];
				y[(int64_t)a * p->ow + b] = rn_act_f32(p->act, p->alpha, p->beta, v);
			}
		}
	}
}

/* Step 4 for panel pn: every tile of the block. */
static void W_(output_transform)(const W_(wino_job) *J, const W_(wino_block) *B, int pn)
{
	const rn_conv2d_params *p = J->p;
	const W_(wino_plan) *w = &J->w;
	int64_t xi_pitch = (int64_t)B->ntiles * w->m16;
	int mcount = p->m - pn * RN_PANEL < RN_PANEL ? p->m - pn * RN_PANEL : RN_PANEL;
	const float *bias = J->bias + pn * RN_PANEL;
	for (int t = 0; t < B->ntiles; t++) {
		int oy0 = OT * (B->ty0 + t / w->tiles_x), ox0 = OT * (t % w->tiles_x);
		int ny = p->oh - oy0 < OT ? p->oh - oy0 : OT, nx = p->ow - ox0 < OT ? p->ow - ox0 : OT;
		const float *src = B->o + (int64_t)t * w->m16 + pn * RN_PANEL;
		float out[OT * OT][LANES]; /* [pixel][channel] */
		for (int l = 0; l < NVG; l++) { /* unrolled as in input_transform */
			rn_vf m[TS], row[OT][TS], r[OT];
			RN_UNROLL_ALL
			for (int j = 0; j < TS; j++) {
				RN_UNROLL_ALL
				for (int i = 0; i < TS; i++)
					m[i] = rn_vf_load(src + (i * TS + j) * xi_pitch + l * RN_VL);
				W_AT(m, r);
				RN_UNROLL_ALL
				for (int a = 0; a < OT; a++)
					row[a][j] = r[a];
			}
			rn_vf bv = rn_vf_load(bias + l * RN_VL);
			RN_UNROLL_ALL
			for (int a = 0; a < OT; a++) {
				W_AT(row[a], r);
				RN_UNROLL_ALL
				for (int b = 0; b < OT; b++)
					rn_vf_store(out[a * OT + b] + l * RN_VL, rn_vf_add(r[b], bv));
			}
		}
		W_(store_tile)(J, out, pn, mcount, oy0, ox0, ny, nx);
	}
}

static void W_(run_block)(const W_(wino_job) *J, const W_(wino_block) *B)
{
	int groups = (int)(J->w.c16 / LANES), np = (int)(J->w.m16 / RN_PANEL);
	for (int g = 0; g < groups; g++) {
		W_(transpose_in)(J, B, g);
		W_(input_transform)(J, B, g);
	}
	for (int xi = 0; xi < NXI; xi++)
		W_(xi_gemm)(J, B, xi, 0, np);
	for (int pn = 0; pn < np; pn++)
		W_(output_transform)(J, B, pn);
}

static void W_(block_task)(void *ctx, int64_t b, int thread)
{
	const W_(wino_job) *J = ctx;
	W_(wino_block) B = W_(block_at)(J, (int)b, thread);
	W_(run_block)(J, &B);
}

/* The phased steps, each a parallel loop over the whole image's block. */
static void W_(phase_in)(void *ctx, int64_t g, int thread)
{
	const W_(wino_job) *J = ctx;
	W_(wino_block) B = W_(block_at)(J, 0, 0);
	(void)thread;
	W_(transpose_in)(J, &B, (int)g);
	W_(input_transform)(J, &B, (int)g);
}

/* Part t of threads * PHASE_PARTS_PER_THREAD: a contiguous run of the
 * (xi, panel group) steps, so that a thread streams one stretch of the
 * weights and what xi_gemm fetches ahead is its own next step (one task
 * per step left each thread fetching the other's: ResNet-18 on 2 threads
 * 10.1-10.8 ms against 8.8-9.8, ResNet-50 31.5-32.4 against 29.3-30.5). */
static void W_(phase_gemm)(void *ctx, int64_t t, int thread)
{
	const W_(wino_job) *J = ctx;
	W_(wino_block) B = W_(block_at)(J, 0, 0);
	int np = (int)(J->w.m16 / RN_PANEL), ng = (np + PHASE_PANELS - 1) / PHASE_PANELS;
	int64_t steps = (int64_t)NXI * ng, parts = J->phase_parts;
	(void)thread;
	for (int64_t i = steps * t / parts; i < steps * (t + 1) / parts; i++) {
		int xi = (int)(i / ng), p0 = (int)(i % ng) * PHASE_PANELS;
		int p1 = p0 + PHASE_PANELS < np ? p0 + PHASE_PANELS : np;
		W_(xi_gemm)(J, &B, xi, p0, p1);
	}
}

static void W_(phase_out)(void *ctx, int64_t pn, int thread)
{
	const W_(wino_job) *J = ctx;
	W_(wino_block) B = W_(block_at)(J, 0, 0);
	(void)thread;
	W_(output_transform)(J, &B, (int)pn);
}

void W_PUB(run)(const rn_conv2d_params *p, const float *x, const float *packed,
			  const float *residual, float *y, void *scratch, rn_threadpool *tp)
{
	int threads = rn_threadpool_threads(tp);
	W_(wino_job) J = { .p = p, .w = W_(make_plan)(p, threads), .u = packed, .scratch = scratch };
	J.bias = packed + NXI * J.w.m16 * p->c;
	J.slice = W_(slice_bytes)(&J.w);
	int64_t hw = (int64_t)p->h * p->w, ohw = (int64_t)p->oh * p->ow;
	int groups = (int)(J.w.c16 / LANES), np = (int)(J.w.m16 / RN_PANEL);
	for (int i = 0; i < p->n; i++) {
		J.x = x + (int64_t)i * p->c * hw;
		J.y = y + (int64_t)i * p->m * ohw;
		J.res = residual ? residual + (int64_t)i * p->m * ohw : NULL;
		if (J.w.phased) {
			rn_parallel_for(tp, groups, W_(phase_in), &J);
			J.phase_parts = (int64_t)threads * PHASE_PARTS_PER_THREAD;
			rn_parallel_for(tp, J.phase_parts, W_(phase_gemm), &J);
			rn_parallel_for(tp, np, W_(phase_out), &J);
		} else {
			rn_parallel_for(tp, J.w.blocks, W_(block_task), &J);
		}
	}
}
