/*
 * Gemm with transB and without transA: a fully connected layer, Y = alpha
 * A B^T + beta C with B [N][K] row-major, the weights streamed once. Apart
 * from gemm.c's engine (its tile kernels take most of the runtime's build
 * time), so a model whose only product is its classifier builds without it.
 */
#include "../core/internal.h"

/* Dot products of one contiguous A row with four contiguous B rows, in
 * fixed-width partial sums so the loop vectorizes without reassociation. */
enum { DOT_W = 16 };
#if defined(__GNUC__) || defined(__clang__)
#define FC_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define FC_PREFETCH(p) ((void)(p))
#endif
/* next: the four rows after these (NULL: none), fetched meanwhile, a line
 * of each per 16 floats: the weights come from memory, and the hardware's
 * prefetch starts each new row late (ResNet-50's fc on Zen 5: 0.36 -> 0.28 ms). */
static void dot4(int64_t k, const float *restrict a, const float *const *brow, float *out,
		 const float *const *next)
{
	float s[4][DOT_W];
	for (int r = 0; r < 4; r++)
		for (int l = 0; l < DOT_W; l++)
			s[r][l] = 0.0f;
	int64_t kk = 0;
	for (; kk + DOT_W <= k; kk += DOT_W) {
		if (next)
			for (int r = 0; r < 4; r++)
				FC_PREFETCH(next[r] + kk);
		for (int r = 0; r < 4; r++)
			for (int l = 0; l < DOT_W; l++)
				s[r][l] += a[kk + l] * brow[r][kk + l];
	}
	for (int r = 0; r < 4; r++) {
		float v = 0.0f;
		for (int l = 0; l < DOT_W; l++)
			v += s[r][l];
		for (int64_t q = kk; q < k; q++)
			v += a[q] * brow[r][q];
		out[r] = v;
	}
}

/* Y = A * B^T with A [m][k] and B [n][k] both row-major (Gemm transB=1,
 * e.g. the final fully connected layer), columns [j0, j1). */
static void gemm_nt(int64_t m, int64_t n, int64_t k, const float *a, const float *b,
		    float *y, const rn_epilogue *e, int64_t j0, int64_t j1)
{
	for (int64_t i = 0; i < m; i++) {
		for (int64_t j = j0; j < j1; j += 4) {
			int64_t nv = j1 - j < 4 ? j1 - j : 4;
			const float *brow[4], *next[4];
			float out[4];
			for (int r = 0; r < 4; r++) {
				brow[r] = b + (j + (r < nv ? r : nv - 1)) * k;
				next[r] = b + (j + 4 + r < j1 ? j + 4 + r : j1 - 1) * k;
			}
			dot4(k, a + i * k, brow, out, j + 4 < j1 ? next : NULL);
			rn_epilogue_tile(e, 1, (int)nv, out, 4, i, j, y + i * n + j, n);
		}
	}
}

/* A fully connected layer streams B (the weights, often megabytes) once:
 * threads split its rows in runs of 4, so each streams its share. */
typedef struct {
	int64_t m, n, k, parts;
	const float *a, *b;
	float *y;
	const rn_epilogue *e;
} nt_job;

static void nt_task(void *ctx, int64_t t, int thread)
{
	const nt_job *J = ctx;
	int64_t quads = (J->n + 3) / 4;
	int64_t j0 = quads * t / J->parts * 4, j1 = quads * (t + 1) / J->parts * 4;
	(void)thread;
	gemm_nt(J->m, J->n, J->k, J->a, J->b, J->y, J->e, j0, j1 < J->n ? j1 : J->n);
}

void rn_gemm_nt_f32(const rn_gemm_params *p, const float *a, const float *b, const float *c, float *y,
		    rn_threadpool *tp)
{
	int64_t m = p->m, n = p->n, k = p->k;
	rn_epilogue e = {
		.alpha = p->alpha, .bias = NULL, .c = c, .c_sm = p->c_sm, .c_sn = p->c_sn,
		.beta = p->beta, .act = p->act, .act_alpha = p->act_alpha,
		.act_beta = p->act_beta,
	};
	int64_t quads = (n + 3) / 4, threads = rn_threadpool_threads(tp);
	nt_job J = { .m = m, .n = n, .k = k, .a = a, .b = b, .y = y, .e = &e,
		     .parts = quads < threads ? quads : threads };
	if (J.parts <= 1 || n * k < 65536)
		gemm_nt(m, n, k, a, b, y, &e, 0, n);
	else
		rn_parallel_for(tp, J.parts, nt_task, &J);
}
