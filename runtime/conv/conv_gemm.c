/*
 * RN_CONV_GEMM's kernels and its run (the overview: conv_gemm.h).
 */
#include "conv_gemm.h"

#if RN_VL == 16
#define GEMM_TILE 8x48
#elif RN_VL == 8
#define GEMM_TILE 4x24
#elif RN_VL == 4
#define GEMM_TILE 8x12
#else
#define GEMM_TILE 4x4
#endif

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

#if GEMM_X1
/* The panel kernel with one more column, 8 x 49: the 49th column's 8
 * channels accumulate in a 256-bit vector from the same panel rows, so
 * an output of 49 x K positions (every ResNet plane: 7x7, 14x14, ...,
 * 112x112) is all slivers, with no broadcast-kernel tail re-reading the
 * panel's weights column by column (that tail cost 4-10% of 14x14 and
 * 7x7 layers; the extra column costs one FMA in 25). */
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
			rn_conv_gemm_pack_b(p, J->x, c0, c1 - c0, buf, ldb, 0, k, strip);
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
	rn_conv_gemm_pack_b(J->p, J->x, J->shared_c0, cols, (float *)J->scratch, packed_ld(&J->g, cols), k * t / n,
	       k * (t + 1) / n, J->strips + (size_t)thread * J->strip);
}

/* Phase mode, step 1, task t: the phase planes (py, all px) of input
 * channel t / s. */
static void phase_build_task(void *ctx, int64_t t, int thread)
{
	const gemm_job *J = ctx;
	(void)thread;
	rn_conv_gemm_phase_planes(J->p, &J->g, J->x, J->planes, (int)(t / J->g.s), (int)(t % J->g.s));
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
	gemm_job J = { .p = p, .g = rn_conv_gemm_plan(p, threads), .a = packed, .scratch = scratch };
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
