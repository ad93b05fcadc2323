/*
 * Micro-benchmark of the int8 convolution (rn_qconv2d_packed) on the layer
 * shapes of torchvision's ResNet-50 and ResNet-18 (batch 1, 224x224):
 * GOP/s (2 * m * c * kh * kw * oh * ow per run) of the packed kernel, with
 * the float RN_CONV_GEMM beside it for scale; then the sum over each
 * model's layers. uint8 input and output, ReLU, and a residual on the
 * layers that have one in the model (the 1x1 expansions, marked +r).
 *
 * Build (from the repository root):
 *   cc -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude \
 *      bench/qconv_kernels.c $(find runtime -name '*.c' ! -path '*driver*') -lm -lpthread \
 *      -o build/qconv_kernels
 *   build/qconv_kernels [--model r50|r18] [--threads N] [--reps N] [--rounds N] [--layer I] [--cpu] [--nofloat] [--safe]
 *      [--weights uniform|gauss|laplace] [--nores]
 * --cpu times with the thread's CPU clock (1 thread only), which hides
 * other processes sharing the machine; --rounds N sweeps the layers N
 * times and keeps each one's best (a busy machine's bursts spread out).
 * The weights are uniform int8, whose pairs are not all safe (runtime.h):
 * the exact 16-bit path; --safe draws them in [-64, 64], every pair safe:
 * the vpmaddubsw path. --both times the two paths layer by layer,
 * interleaved, in the columns int8 and safe (ratio: safe's speedup).
 * --weights gauss|laplace draws each channel's weights from that
 * distribution scaled to a largest |w| of 127, as per-channel symmetric
 * quantizers do (a few pairs unsafe: the mixed path where there are few
 * enough of them). --nores runs the +r layers without their residual:
 * what the residual's epilogue costs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

typedef struct {
	const char *name;
	int c, h, m, k, s, count, res; /* square input h x h, kernel k x k, pad k / 2 */
} layer;

static const layer r50[] = {
	{ "conv1 7x7/2", 3, 224, 64, 7, 2, 1, 0 },
	{ "l1 1x1 64>64", 64, 56, 64, 1, 1, 1, 0 },
	{ "l1 3x3 64", 64, 56, 64, 3, 1, 3, 0 },
	{ "l1 1x1 64>256 +r", 64, 56, 256, 1, 1, 4, 1 },
	{ "l1 1x1 256>64", 256, 56, 64, 1, 1, 2, 0 },
	{ "l2 1x1 256>128", 256, 56, 128, 1, 1, 1, 0 },
	{ "l2 3x3/2 128", 128, 56, 128, 3, 2, 1, 0 },
	{ "l2 1x1/2 256>512", 256, 56, 512, 1, 2, 1, 0 },
	{ "l2 3x3 128", 128, 28, 128, 3, 1, 3, 0 },
	{ "l2 1x1 128>512 +r", 128, 28, 512, 1, 1, 4, 1 },
	{ "l2 1x1 512>128", 512, 28, 128, 1, 1, 3, 0 },
	{ "l3 1x1 512>256", 512, 28, 256, 1, 1, 1, 0 },
	{ "l3 3x3/2 256", 256, 28, 256, 3, 2, 1, 0 },
	{ "l3 1x1/2 512>1024", 512, 28, 1024, 1, 2, 1, 0 },
	{ "l3 3x3 256", 256, 14, 256, 3, 1, 5, 0 },
	{ "l3 1x1 256>1024 +r", 256, 14, 1024, 1, 1, 6, 1 },
	{ "l3 1x1 1024>256", 1024, 14, 256, 1, 1, 5, 0 },
	{ "l4 1x1 1024>512", 1024, 14, 512, 1, 1, 1, 0 },
	{ "l4 3x3/2 512", 512, 14, 512, 3, 2, 1, 0 },
	{ "l4 1x1/2 1024>2048", 1024, 14, 2048, 1, 2, 1, 0 },
	{ "l4 3x3 512", 512, 7, 512, 3, 1, 2, 0 },
	{ "l4 1x1 512>2048 +r", 512, 7, 2048, 1, 1, 3, 1 },
	{ "l4 1x1 2048>512", 2048, 7, 512, 1, 1, 2, 0 },
};

static const layer r18[] = {
	{ "conv1 7x7/2", 3, 224, 64, 7, 2, 1, 0 },
	{ "l1 3x3 64 (+r)", 64, 56, 64, 3, 1, 4, 1 },
	{ "l2 3x3/2 64>128", 64, 56, 128, 3, 2, 1, 0 },
	{ "l2 1x1/2 64>128", 64, 56, 128, 1, 2, 1, 0 },
	{ "l2 3x3 128 (+r)", 128, 28, 128, 3, 1, 3, 1 },
	{ "l3 3x3/2 128>256", 128, 28, 256, 3, 2, 1, 0 },
	{ "l3 1x1/2 128>256", 128, 28, 256, 1, 2, 1, 0 },
	{ "l3 3x3 256 (+r)", 256, 14, 256, 3, 1, 3, 1 },
	{ "l4 3x3/2 256>512", 256, 14, 512, 3, 2, 1, 0 },
	{ "l4 1x1/2 256>512", 256, 14, 512, 1, 2, 1, 0 },
	{ "l4 3x3 512 (+r)", 512, 7, 512, 3, 1, 3, 1 },
};

static int use_cpu_clock, safe_weights, no_res;
static const char *weight_dist = "uniform"; /* unless safe_weights */

static double now(void)
{
	struct timespec t;
	clock_gettime(use_cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t seed = 88172645463325252u;
static uint32_t next(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed >> 11);
}

static void *alloc64(size_t n)
{
	return aligned_alloc(64, (n + 64) / 64 * 64);
}

/* Best-of-reps seconds of the int8 kernel. */
static double time_q(const layer *l, const rn_conv2d_params *cp, rn_threadpool *tp, int threads, int reps)
{
	rn_qconv2d_params p = {
		.conv = *cp, .x_dtype = RN_U8, .y_dtype = RN_U8, .r_dtype = RN_U8, .x_zp = 3,
		.y_zp = 0, .r_zp = 5, .lo = 0, .hi = 255, .has_residual = l->res && !no_res, .r_mult = 0.75f,
	};
	size_t nx = (size_t)cp->c * cp->h * cp->w, ny = (size_t)cp->m * cp->oh * cp->ow;
	size_t nw = (size_t)cp->m * cp->c * cp->kh * cp->kw;
	uint8_t *x = alloc64(nx), *y = alloc64(ny);
	int8_t *w = alloc64(nw);
	int32_t *b = alloc64((size_t)cp->m * 4);
	float *mult = alloc64((size_t)cp->m * 4);
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)next();
	for (size_t i = 0; i < ny; i++)
		y[i] = (uint8_t)next();
	const int gauss = !strcmp(weight_dist, "gauss"), laplace = !strcmp(weight_dist, "laplace");
	if (!safe_weights && (gauss || laplace)) {
		size_t k = nw / (size_t)cp->m;
		double *v = malloc(k * sizeof *v);
		for (int ch = 0; ch < cp->m; ch++) {
			double big = 0;
			for (size_t i = 0; i < k; i++) {
				double u = ((double)next() + 0.5) / 4294967296.0, u2 = ((double)next() + 0.5) / 4294967296.0;
				v[i] = gauss ? sqrt(-2.0 * log(u)) * cos(6.283185307179586 * u2)
					     : (u2 < 0.5 ? log(u) : -log(u));
				big = fabs(v[i]) > big ? fabs(v[i]) : big;
			}
			for (size_t i = 0; i < k; i++)
				w[(size_t)ch * k + i] = (int8_t)lrint(v[i] / big * 127.0);
		}
		free(v);
	} else {
		for (size_t i = 0; i < nw; i++)
			w[i] = safe_weights ? (int8_t)((int)(next() % 129) - 64) : (int8_t)next();
	}
	for (int i = 0; i < cp->m; i++) {
		b[i] = (int)(next() % 20000) - 10000;
		mult[i] = 1e-4f;
	}
	if (rn_qconv2d_pair_safe_all(&p, w) != safe_weights)
		fprintf(stderr, "%s: the weights' pairs are unexpectedly %s\n", l->name,
			safe_weights ? "not all safe" : "all safe");
	void *packed = alloc64(rn_qconv2d_packed_size(&p));
	size_t sb = rn_qconv2d_scratch_size(&p, threads);
	void *scratch = alloc64(sb);
	rn_qconv2d_pack(&p, w, b, mult, packed);
	rn_qconv2d_packed(&p, x, packed, y, y, scratch, sb, tp);
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		rn_qconv2d_packed(&p, x, packed, y, y, scratch, sb, tp);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	free(x);
	free(y);
	free(w);
	free(b);
	free(mult);
	free(packed);
	free(scratch);
	return best;
}

/* The same layer in float by RN_CONV_GEMM. */
static double time_f(const rn_conv2d_params *p, rn_threadpool *tp, int threads, int reps)
{
	size_t nx = (size_t)p->c * p->h * p->w, ny = (size_t)p->m * p->oh * p->ow;
	size_t nw = (size_t)p->m * p->c * p->kh * p->kw;
	float *x = alloc64(nx * 4), *y = alloc64(ny * 4), *w = alloc64(nw * 4), *b = alloc64((size_t)p->m * 4);
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)(next() % 1000) / 1000.0f;
	for (size_t i = 0; i < nw; i++)
		w[i] = (float)(next() % 1000) / 1000.0f - 0.5f;
	for (size_t i = 0; i < ny; i++)
		y[i] = 0;
	for (int i = 0; i < p->m; i++)
		b[i] = 0;
	float *packed = alloc64(rn_conv2d_packed_size(RN_CONV_GEMM, p));
	size_t sb = rn_conv2d_scratch_size(RN_CONV_GEMM, p, threads);
	void *scratch = alloc64(sb);
	rn_conv2d_pack(RN_CONV_GEMM, p, w, b, packed);
	rn_conv2d_packed_f32(RN_CONV_GEMM, p, x, packed, NULL, y, scratch, sb, tp);
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		rn_conv2d_packed_f32(RN_CONV_GEMM, p, x, packed, NULL, y, scratch, sb, tp);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	free(x);
	free(y);
	free(w);
	free(b);
	free(packed);
	free(scratch);
	return best;
}

int main(int argc, char **argv)
{
	const char *model = "r50";
	int threads = 1, reps = 20, rounds = 1, only = -1, with_float = 1, both = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model") && i + 1 < argc)
			model = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
			only = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cpu"))
			use_cpu_clock = 1;
		else if (!strcmp(argv[i], "--nofloat"))
			with_float = 0;
		else if (!strcmp(argv[i], "--safe"))
			safe_weights = 1;
		else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
			weight_dist = argv[++i];
		else if (!strcmp(argv[i], "--both"))
			both = 1;
		else if (!strcmp(argv[i], "--nores"))
			no_res = 1;
		else {
			fprintf(stderr, "usage: %s [--model r50|r18] [--threads N] [--reps N] [--rounds N] [--layer I] [--cpu] [--nofloat] [--safe | --both] [--weights uniform|gauss|laplace] [--nores]\n",
				argv[0]);
			return 2;
		}
	}
	const int is18 = !strcmp(model, "r18");
	const layer *L = is18 ? r18 : r50;
	int nl = is18 ? (int)(sizeof r18 / sizeof r18[0]) : (int)(sizeof r50 / sizeof r50[0]);
	rn_threadpool *tp = threads > 1 ? rn_threadpool_create(threads) : NULL;
	if (both)
		with_float = 0;
	printf("%s, %d thread(s), GOP/s (best of %d)%s%s%s\n", model, threads, reps,
	       use_cpu_clock ? ", thread CPU time" : "",
	       both ? "; f32 column: safe weights (vpmaddubsw)" : safe_weights ? ", safe weights" : "",
	       safe_weights ? "" : !strcmp(weight_dist, "gauss") ? ", gaussian weights"
			    : !strcmp(weight_dist, "laplace") ? ", laplacian weights" : "");
	printf("%-22s %7s %8s %8s %8s  %s\n", "layer", "MOP", "int8", both ? "safe" : "f32 gemm", "ratio",
	       "int8 ms x count");
	double tq = 0, tf = 0, ops = 0;
	double bq[64], bf[64];
	for (int i = 0; i < nl; i++)
		bq[i] = bf[i] = 1e30;
	for (int round = 0; round < rounds; round++)
		for (int i = 0; i < nl; i++) {
			if (only >= 0 && i != only)
				continue;
			const layer *l = &L[i];
			int pad = l->k / 2, oh = (l->h + 2 * pad - l->k) / l->s + 1;
			rn_conv2d_params p = {
				.n = 1, .c = l->c, .h = l->h, .w = l->h, .m = l->m, .oh = oh, .ow = oh,
				.kh = l->k, .kw = l->k, .sh = l->s, .sw = l->s, .dh = 1, .dw = 1,
				.pt = pad, .pl = pad, .group = 1, .act = RN_ACT_RELU,
			};
			double q = time_q(l, &p, tp, threads, reps);
			double f = with_float ? time_f(&p, tp, threads, reps) : 0;
			if (both) {
				safe_weights = 1;
				f = time_q(l, &p, tp, threads, reps);
				safe_weights = 0;
			}
			bq[i] = q < bq[i] ? q : bq[i];
			bf[i] = f < bf[i] ? f : bf[i];
		}
	for (int i = 0; i < nl; i++) {
		if (only >= 0 && i != only)
			continue;
		const layer *l = &L[i];
		int oh = (l->h + 2 * (l->k / 2) - l->k) / l->s + 1;
		double op = 2.0 * l->m * l->c * l->k * l->k * oh * oh;
		double q = bq[i], f = bf[i];
		printf("%-22s %7.1f %8.1f %8.1f %8.2f  %.3f x %d\n", l->name, op / 1e6, op / q / 1e9,
		       f > 0 ? op / f / 1e9 : 0.0, f > 0 ? (both ? q / f : f / q) : 0.0, q * 1e3, l->count);
		tq += q * l->count;
		tf += f * l->count;
		ops += op * l->count;
	}
	printf("%-22s %7.1f %8.1f %8.1f %8.2f  %.2f ms\n", "total", ops / 1e6, ops / tq / 1e9,
	       tf > 0 ? ops / tf / 1e9 : 0.0, tf > 0 ? (both ? tq / tf : tf / tq) : 0.0, tq * 1e3);
	rn_threadpool_destroy(tp);
	return 0;
}
