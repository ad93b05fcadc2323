/*
 * Micro-benchmark of the packed convolutions on the layer shapes of
 * torchvision's ResNet-50 and ResNet-18 (batch 1, 224x224): effective
 * GFLOP/s (2 * m * c * kh * kw * oh * ow per run, whatever the algorithm
 * actually computes) of every algorithm that supports the layer, against
 * rn_conv2d_f32, on 1 and 2 threads; then the sum over each model's
 * layers with the best algorithm per layer.
 *
 * Build (from the repository root; -DRN_USE_OPENBLAS ... -lopenblas adds
 * the BLAS column):
 *   cc -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude \
 *      bench/conv_kernels.c $(find runtime -name '*.c' ! -name driver.c) -lm -lpthread \
 *      -o build/conv_kernels
 *   build/conv_kernels [--model r50|r18] [--threads N] [--reps N] [--layer I] [--algo A] [--cpu] [--cold]
 * --cpu times with the thread's CPU clock (1 thread only), which hides
 * other processes sharing the machine. --cold evicts the weights from the
 * caches before each run, as in a whole model whose weights exceed L3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resnetc/runtime.h"
#include "resnetc/threadpool.h"

typedef struct {
	const char *name;
	int c, h, m, k, s, count; /* square input h x h, kernel k x k, pad k / 2 */
} layer;

static const layer r50[] = {
	{ "conv1 7x7/2", 3, 224, 64, 7, 2, 1 },
	{ "l1 1x1 64>64", 64, 56, 64, 1, 1, 1 },
	{ "l1 3x3 64", 64, 56, 64, 3, 1, 3 },
	{ "l1 1x1 64>256", 64, 56, 256, 1, 1, 4 },
	{ "l1 1x1 256>64", 256, 56, 64, 1, 1, 2 },
	{ "l2 1x1 256>128", 256, 56, 128, 1, 1, 1 },
	{ "l2 3x3/2 128", 128, 56, 128, 3, 2, 1 },
	{ "l2 1x1/2 256>512", 256, 56, 512, 1, 2, 1 },
	{ "l2 3x3 128", 128, 28, 128, 3, 1, 3 },
	{ "l2 1x1 128>512", 128, 28, 512, 1, 1, 4 },
	{ "l2 1x1 512>128", 512, 28, 128, 1, 1, 3 },
	{ "l3 1x1 512>256", 512, 28, 256, 1, 1, 1 },
	{ "l3 3x3/2 256", 256, 28, 256, 3, 2, 1 },
	{ "l3 1x1/2 512>1024", 512, 28, 1024, 1, 2, 1 },
	{ "l3 3x3 256", 256, 14, 256, 3, 1, 5 },
	{ "l3 1x1 256>1024", 256, 14, 1024, 1, 1, 6 },
	{ "l3 1x1 1024>256", 1024, 14, 256, 1, 1, 5 },
	{ "l4 1x1 1024>512", 1024, 14, 512, 1, 1, 1 },
	{ "l4 3x3/2 512", 512, 14, 512, 3, 2, 1 },
	{ "l4 1x1/2 1024>2048", 1024, 14, 2048, 1, 2, 1 },
	{ "l4 3x3 512", 512, 7, 512, 3, 1, 2 },
	{ "l4 1x1 512>2048", 512, 7, 2048, 1, 1, 3 },
	{ "l4 1x1 2048>512", 2048, 7, 512, 1, 1, 2 },
};

static const layer r18[] = {
	{ "conv1 7x7/2", 3, 224, 64, 7, 2, 1 },
	{ "l1 3x3 64", 64, 56, 64, 3, 1, 4 },
	{ "l2 3x3/2 64>128", 64, 56, 128, 3, 2, 1 },
	{ "l2 1x1/2 64>128", 64, 56, 128, 1, 2, 1 },
	{ "l2 3x3 128", 128, 28, 128, 3, 1, 3 },
	{ "l3 3x3/2 128>256", 128, 28, 256, 3, 2, 1 },
	{ "l3 1x1/2 128>256", 128, 28, 256, 1, 2, 1 },
	{ "l3 3x3 256", 256, 14, 256, 3, 1, 3 },
	{ "l4 3x3/2 256>512", 256, 14, 512, 3, 2, 1 },
	{ "l4 1x1/2 256>512", 256, 14, 512, 1, 2, 1 },
	{ "l4 3x3 512", 512, 7, 512, 3, 1, 3 },
};

static int use_cpu_clock;
static float *flush_buf; /* --cold: evicted from the caches before each run */
enum { FLUSH_FLOATS = 48 << 20 >> 2 };

static void flush_caches(void)
{
	if (!flush_buf)
		return;
	for (size_t i = 0; i < FLUSH_FLOATS; i += 16)
		flush_buf[i] += 1.0f;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(use_cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *randn(size_t n)
{
	float *v = malloc(n * sizeof(float));
	uint64_t s = 88172645463325252u;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		v[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
	}
	return v;
}

/* Best-of-reps seconds of one algorithm (-1: reference rn_conv2d_f32). */
static double time_algo(int algo, const rn_conv2d_params *p, const float *x, const float *w,
			const float *b, float *y, rn_threadpool *tp, int threads, int reps)
{
	if (algo < 0) {
		double best = 1e30;
		for (int r = 0; r < (reps + 3) / 4; r++) {
			double t0 = now();
			rn_conv2d_f32(p, x, w, b, y, y);
			double t = now() - t0;
			best = t < best ? t : best;
		}
		return best;
	}
	if (!rn_conv2d_supports(algo, p))
		return 0;
	float *packed = aligned_alloc(64, (rn_conv2d_packed_size(algo, p) + 63) / 64 * 64);
	size_t sb = rn_conv2d_scratch_size(algo, p, threads);
	void *scratch = aligned_alloc(64, (sb + 64) / 64 * 64);
	rn_conv2d_pack(algo, p, w, b, packed);
	rn_conv2d_packed_f32(algo, p, x, packed, y, y, scratch, sb, tp);
	double best = 1e30;
	for (int r = 0; r < reps; r++) {
		flush_caches();
		double t0 = now();
		rn_conv2d_packed_f32(algo, p, x, packed, y, y, scratch, sb, tp);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	free(packed);
	free(scratch);
	return best;
}

static const char *algo_names[] = { "direct", "gemm", "winograd", "depthwise", "blas", "wino-f2" };

int main(int argc, char **argv)
{
	const char *model = "r50";
	int threads = 1, reps = 20, only = -2, only_algo = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model") && i + 1 < argc)
			model = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
			only = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cpu"))
			use_cpu_clock = 1;
		else if (!strcmp(argv[i], "--algo") && i + 1 < argc)
			only_algo = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cold"))
			flush_buf = calloc(FLUSH_FLOATS, sizeof(float));
		else {
			fprintf(stderr, "usage: %s [--model r50|r18] [--threads N] [--reps N] [--layer I] [--algo A] [--cpu] [--cold]\n",
				argv[0]);
			return 2;
		}
	}
	const layer *L = strcmp(model, "r18") ? r50 : r18;
	int nl = strcmp(model, "r18") ? (int)(sizeof r50 / sizeof r50[0]) : (int)(sizeof r18 / sizeof r18[0]);
	rn_threadpool *tp = threads > 1 ? rn_threadpool_create(threads) : NULL;
	printf("%s, %d thread(s), effective GFLOP/s (best of %d)%s\n", model, threads, reps,
	       use_cpu_clock ? ", thread CPU time" : "");
	printf("%-20s %7s %8s %8s %8s %8s %8s  %s\n", "layer", "MFLOP", "ref", "gemm", "winograd", "wino-f2", "blas",
	       "best ms x count");
	double total_ms = 0, total_ref_ms = 0, total_gflop = 0;
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
		size_t nx = (size_t)l->c * l->h * l->h, ny = (size_t)l->m * oh * oh;
		size_t nw = (size_t)l->m * l->c * l->k * l->k;
		float *x = randn(nx), *w = randn(nw), *b = randn((size_t)l->m), *y = randn(ny);
		double flop = 2.0 * (double)nw * oh * oh;
		double t[6];
		t[0] = only_algo < 0 ? time_algo(-1, &p, x, w, b, y, tp, threads, reps) : 1e30;
		for (int a = RN_CONV_GEMM; a <= RN_CONV_WINOGRAD_F2; a++)
			t[a] = a == RN_CONV_DEPTHWISE || (only_algo >= 0 && a != only_algo)
				       ? 0
				       : time_algo(a, &p, x, w, b, y, tp, threads, reps);
#ifndef RN_USE_OPENBLAS
		t[RN_CONV_BLAS] = 0;
#endif
		int best = 0;
		for (int a = 1; a < 6; a++)
			if (t[a] > 0 && t[a] < t[best])
				best = a;
		printf("%-20s %7.1f", l->name, flop / 1e6);
		int cols[5] = { 0, RN_CONV_GEMM, RN_CONV_WINOGRAD, RN_CONV_WINOGRAD_F2, RN_CONV_BLAS };
		for (int a = 0; a < 5; a++) {
			if (t[cols[a]] > 0)
				printf(" %8.1f", flop / t[cols[a]] / 1e9);
			else
				printf(" %8s", "-");
		}
		printf("  %.3f x %d (%s)\n", t[best] * 1e3, l->count, algo_names[best]);
		total_ms += t[best] * 1e3 * l->count;
		total_ref_ms += t[0] * 1e3 * l->count;
		total_gflop += flop / 1e9 * l->count;
		free(x);
		free(w);
		free(b);
		free(y);
	}
	printf("all convolutions: %.2f GFLOP, %.1f ms with the best algorithm per layer (%.1f "
	       "effective GFLOP/s), %.1f ms with rn_conv2d_f32\n",
	       total_gflop, total_ms, total_gflop / total_ms * 1e3, total_ref_ms);
	rn_threadpool_destroy(tp);
	return 0;
}
