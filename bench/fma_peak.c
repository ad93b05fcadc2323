/*
 * fma_peak: the machine's measured fp32 fused multiply-add peak, the
 * denominator of "% of peak" in the benchmark.
 *
 * Each thread runs NACC independent chains acc = acc * a + b on the widest
 * vectors the compiler is allowed to use: AVX-512 (16 floats) when
 * __AVX512F__ is defined, else AVX2 + FMA (8 floats), else scalar fmaf
 * (which is only a peak for the scalar code path). NACC is large enough to
 * cover the FMA latency times the number of FMA units of current x86 cores
 * (e.g. 4 cycles x 2 units = 8 chains in flight for 256-bit FMAs), and small
 * enough to stay in registers. One FMA is 2 FLOP per lane.
 *
 * A trial runs a fixed number of iterations (about --ms milliseconds) on
 * each of N threads started together. Two rates come out of --trials trials:
 *   gflops        all threads' FLOPs over the wall time of the fastest
 *                 trial (other processes can only make a trial slower,
 *                 never faster, so the fastest is the closest to the peak;
 *                 short trials, many of them, give it a chance to land in a
 *                 stretch where the cores are not shared);
 *   cpu_per_core  one thread's FLOPs over that thread's own CPU time (the
 *                 slowest thread's, median over the trials): the core's rate
 *                 while it runs the loop, which time-sharing with other
 *                 processes on a busy machine does not lower. The median,
 *                 not the best, because CPU-time accounting can err both
 *                 ways.
 *
 * Build and run (from the repository root):
 *   cc -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -pthread \
 *      bench/fma_peak.c -o build/bench/fma_peak
 *   build/bench/fma_peak [--threads 1,2] [--trials N] [--ms MS]
 *
 * Output, for scripts:
 *   isa=avx512 vector_floats=16 chains=16
 *   threads=1 gflops=117.20 per_core=117.20 cpu_per_core=117.31
 *   threads=2 gflops=233.90 per_core=116.95 cpu_per_core=117.25
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ISA "avx512"
#define LANES 16
typedef __m512 vec;
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
static float vsum(vec v)
{
	return _mm512_reduce_add_ps(v);
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ISA "avx2+fma"
#define LANES 8
typedef __m256 vec;
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
static float vsum(vec v)
{
	float f[8];
	_mm256_storeu_ps(f, v);
	return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}
#else
#include <math.h>
#define ISA "scalar"
#define LANES 1
typedef float vec;
#define VSET(x) (x)
#define VFMA(a, b, c) fmaf(a, b, c)
#define VADD(a, b) ((a) + (b))
static float vsum(vec v)
{
	return v;
}
#endif

/* independent chains per thread: with a and b they must fit the vector
 * registers (32 with AVX-512, 16 with AVX2: 16 chains there spill to
 * memory and measure half the peak) */
#ifdef __AVX512F__
#define NACC 16
#else
#define NACC 12
#endif
#define UNROLL 8  /* FMAs per chain per loop iteration */

/* Stops the compiler from folding the loop: the operands come from memory
 * it cannot see through, and the result is stored to a volatile. */
static volatile float g_a = 0.9999999f, g_b = 1e-7f, g_init = 1.0f;
static volatile float g_sink;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* iters loop iterations of NACC * UNROLL FMAs; returns a value that depends
 * on every chain. */
static float fma_loop(long iters)
{
	const vec a = VSET(g_a), b = VSET(g_b);
	/* Each chain starts from its own volatile read: with equal starting
	 * values the compiler would see sixteen identical chains and keep one. */
#define V0 VSET(g_init)
	vec c0 = V0, c1 = V0, c2 = V0, c3 = V0, c4 = V0, c5 = V0, c6 = V0, c7 = V0;
	vec c8 = V0, c9 = V0, c10 = V0, c11 = V0, c12 = V0, c13 = V0, c14 = V0, c15 = V0;
#undef V0
	for (long i = 0; i < iters; i++) {
		for (int u = 0; u < UNROLL; u++) {
			c0 = VFMA(c0, a, b);
			c1 = VFMA(c1, a, b);
			c2 = VFMA(c2, a, b);
			c3 = VFMA(c3, a, b);
			c4 = VFMA(c4, a, b);
			c5 = VFMA(c5, a, b);
			c6 = VFMA(c6, a, b);
			c7 = VFMA(c7, a, b);
			c8 = VFMA(c8, a, b);
			c9 = VFMA(c9, a, b);
			c10 = VFMA(c10, a, b);
			c11 = VFMA(c11, a, b);
#if NACC == 16
			c12 = VFMA(c12, a, b);
			c13 = VFMA(c13, a, b);
			c14 = VFMA(c14, a, b);
			c15 = VFMA(c15, a, b);
#endif
		}
	}
	vec s = VADD(VADD(VADD(c0, c1), VADD(c2, c3)), VADD(VADD(c4, c5), VADD(c6, c7)));
#if NACC == 16
	vec t = VADD(VADD(VADD(c8, c9), VADD(c10, c11)), VADD(VADD(c12, c13), VADD(c14, c15)));
#else
	(void)c12, (void)c13, (void)c14, (void)c15;
	vec t = VADD(VADD(c8, c9), VADD(c10, c11));
#endif
	return vsum(VADD(s, t));
}

static double flop_per_iter(void)
{
	return 2.0 * LANES * NACC * UNROLL;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
	long iters;
	pthread_barrier_t *start;
	float result;
	double cpu; /* the thread's CPU time for the loop */
} job;

static void *worker(void *arg)
{
	job *j = arg;
	pthread_barrier_wait(j->start);
	double c0 = cpu_s();
	j->result = fma_loop(j->iters);
	j->cpu = cpu_s() - c0;
	return NULL;
}

/* One trial on nt threads: returns the wall time from the common start until
 * the last thread is done; *cpu gets the longest CPU time of one thread. */
static double trial(int nt, long iters, double *cpu)
{
	pthread_t tid[64];
	job jobs[64];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)nt + 1);
	for (int i = 0; i < nt; i++) {
		jobs[i] = (job){ iters, &start, 0, 0 };
		if (pthread_create(&tid[i], NULL, worker, &jobs[i]) != 0) {
			fprintf(stderr, "fma_peak: error: pthread_create failed\n");
			exit(1);
		}
	}
	double t0 = now_s();
	pthread_barrier_wait(&start);
	float sum = 0;
	double c = 0;
	for (int i = 0; i < nt; i++) {
		pthread_join(tid[i], NULL);
		sum += jobs[i].result;
		if (jobs[i].cpu > c)
			c = jobs[i].cpu;
	}
	double t = now_s() - t0;
	if (cpu)
		*cpu = c;
	pthread_barrier_destroy(&start);
	g_sink = sum;
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: fma_peak [--threads N[,N...]] [--trials N] [--ms MS]\n"
		"  Measures fp32 FMA throughput with independent chains on N threads\n"
		"  (default 1,2); each of --trials (default 100) trials lasts about MS\n"
		"  milliseconds (default 4); prints the fastest trial's GFLOP/s by wall\n"
		"  time (gflops, per_core) and the median trial's by the slowest thread's\n"
		"  CPU time (cpu_per_core).\n");
	exit(status);
}

int main(int argc, char **argv)
{
	int threads[16] = { 1, 2 }, n_threads = 2, trials = 100;
	double ms = 4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			usage(0);
		if (i + 1 >= argc)
			usage(2);
		const char *v = argv[++i];
		if (!strcmp(argv[i - 1], "--threads")) {
			n_threads = 0;
			for (char *p = (char *)v, *end; *p; p = end) {
				long t = strtol(p, &end, 10);
				if (end == p || t < 1 || t > 64 || n_threads == 16 || (*end && *end != ','))
					usage(2);
				threads[n_threads++] = (int)t;
				if (*end == ',')
					end++;
			}
			if (n_threads == 0)
				usage(2);
		} else if (!strcmp(argv[i - 1], "--trials")) {
			trials = atoi(v);
			if (trials < 1)
				usage(2);
		} else if (!strcmp(argv[i - 1], "--ms")) {
			ms = atof(v);
			if (!(ms > 0))
				usage(2);
		} else {
			usage(2);
		}
	}

	/* Calibrate: iterations for about ms milliseconds on one thread. */
	long iters = 1000;
	for (;;) {
		double t = trial(1, iters, NULL);
		if (t > 0.01 || iters > (1L << 40))
			break;
		iters *= 2;
	}
	{
		double best = 1e300;
		for (int r = 0; r < 5; r++) {
			double t = trial(1, iters, NULL);
			if (t < best)
				best = t;
		}
		iters = (long)((double)iters * (ms / 1e3) / (best > 1e-6 ? best : 1e-6));
		if (iters < 1)
			iters = 1;
	}

	double *cpus = malloc((size_t)trials * sizeof *cpus);
	if (!cpus) {
		fprintf(stderr, "fma_peak: error: out of memory\n");
		return 1;
	}
	printf("isa=%s vector_floats=%d chains=%d\n", ISA, LANES, NACC);
	for (int k = 0; k < n_threads; k++) {
		int nt = threads[k];
		double best = 1e300;
		for (int r = 0; r < trials; r++) {
			double t = trial(nt, iters, &cpus[r]);
			if (t < best)
				best = t;
		}
		qsort(cpus, (size_t)trials, sizeof *cpus, cmp_double);
		double flop = flop_per_iter() * (double)iters;
		double gflops = flop * nt / best / 1e9;
		printf("threads=%d gflops=%.2f per_core=%.2f cpu_per_core=%.2f\n", nt, gflops, gflops / nt,
		       flop / cpus[trials / 2] / 1e9);
	}
	free(cpus);
	return 0;
}
