/*
 * int8_peak: the machine's measured int8 multiply-add peak per core, the
 * denominator of "% of int8 peak" in the benchmark (bench/fma_peak.c is
 * the float one).
 *
 * The loop is the instruction resnetc's int8 kernels are built on, on the
 * widest vectors the compiler may use:
 *   AVX512-VNNI  vpdpbusd zmm: 64 uint8 x int8 products summed into 16
 *                int32 lanes per instruction
 *   AVX2         vpmaddwd ymm (+ vpaddd): 16 int16 x int16 products summed
 *                in pairs into 8 int32 lanes (the exact path: no 16-bit
 *                saturation, unlike vpmaddubsw)
 *   otherwise    scalar multiply-adds
 * with independent accumulators to cover latency. One multiply-add is
 * 2 OP. The best of --trials trials (about --ms milliseconds each) is
 * printed as
 *   isa=<...> gops=<GOP/s of one thread>
 *
 *   cc -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L bench/int8_peak.c -o int8_peak
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512VNNI__) || defined(__AVX2__)
#include <immintrin.h>
#endif

enum { NACC = 12 };

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Runs iters iterations; returns multiply-adds done and a checksum. */
static double run(int64_t iters, int32_t *sink)
{
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
	__m512i acc[NACC];
	__m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x01ff01ff);
	for (int i = 0; i < NACC; i++)
		acc[i] = _mm512_set1_epi32(i);
	for (int64_t k = 0; k < iters; k++)
		for (int i = 0; i < NACC; i++)
			acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
	__m512i s = acc[0];
	for (int i = 1; i < NACC; i++)
		s = _mm512_add_epi32(s, acc[i]);
	*sink = _mm512_reduce_add_epi32(s);
	return (double)iters * NACC * 64;
#elif defined(__AVX2__) && (defined(__GNUC__) || defined(__clang__))
	/* the loop body in assembly, so that the compiler can neither hoist
	 * nor merge the products: 8 independent vpmaddwd + vpaddd pairs */
	__m256i acc[8], a = _mm256_set1_epi32(0x00030004), b = _mm256_set1_epi32(0x0001ffff);
	for (int i = 0; i < 8; i++)
		acc[i] = _mm256_set1_epi32(i);
	for (int64_t k = 0; k < iters; k++) {
		__m256i t0, t1; /* (two temporaries: the core renames them) */
		__asm__ volatile("vpmaddwd %[b], %[a], %[t0]\n\t"
				 "vpmaddwd %[b], %[a], %[t1]\n\t"
				 "vpaddd %[t0], %[c0], %[c0]\n\t"
				 "vpaddd %[t1], %[c1], %[c1]\n\t"
				 "vpmaddwd %[b], %[a], %[t0]\n\t"
				 "vpmaddwd %[b], %[a], %[t1]\n\t"
				 "vpaddd %[t0], %[c2], %[c2]\n\t"
				 "vpaddd %[t1], %[c3], %[c3]\n\t"
				 "vpmaddwd %[b], %[a], %[t0]\n\t"
				 "vpmaddwd %[b], %[a], %[t1]\n\t"
				 "vpaddd %[t0], %[c4], %[c4]\n\t"
				 "vpaddd %[t1], %[c5], %[c5]\n\t"
				 "vpmaddwd %[b], %[a], %[t0]\n\t"
				 "vpmaddwd %[b], %[a], %[t1]\n\t"
				 "vpaddd %[t0], %[c6], %[c6]\n\t"
				 "vpaddd %[t1], %[c7], %[c7]"
				 : [c0] "+x"(acc[0]), [c1] "+x"(acc[1]), [c2] "+x"(acc[2]), [c3] "+x"(acc[3]),
				   [c4] "+x"(acc[4]), [c5] "+x"(acc[5]), [c6] "+x"(acc[6]), [c7] "+x"(acc[7]),
				   [t0] "=&x"(t0), [t1] "=&x"(t1)
				 : [a] "x"(a), [b] "x"(b));
	}
	__m256i s = acc[0];
	for (int i = 1; i < 8; i++)
		s = _mm256_add_epi32(s, acc[i]);
	int32_t v[8];
	memcpy(v, &s, sizeof v);
	*sink = v[0] + v[7];
	return (double)iters * 8 * 16;
#else
	volatile int32_t x = 3, y = 5;
	int32_t acc[NACC] = {0};
	for (int64_t k = 0; k < iters; k++)
		for (int i = 0; i < NACC; i++)
			acc[i] += x * y;
	*sink = acc[0] + acc[NACC - 1];
	return (double)iters * NACC;
#endif
}

static const char *isa(void)
{
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
	return "avx512-vnni (vpdpbusd)";
#elif defined(__AVX2__) && (defined(__GNUC__) || defined(__clang__))
	return "avx2 (vpmaddwd)";
#else
	return "scalar";
#endif
}

int main(int argc, char **argv)
{
	int trials = 20;
	double ms = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trials") && i + 1 < argc)
			trials = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
			ms = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: int8_peak [--trials N] [--ms MS]\n");
			return 2;
		}
	}
	if (trials < 1 || ms <= 0) {
		fprintf(stderr, "int8_peak: error: --trials and --ms must be positive\n");
		return 2;
	}
	int32_t sink = 0;
	/* size a trial: double until one takes a tenth of the target */
	int64_t iters = 1024;
	for (;;) {
		double t0 = now();
		run(iters, &sink);
		if (now() - t0 > ms * 1e-4 || iters > ((int64_t)1 << 40))
			break;
		iters *= 2;
	}
	iters *= 10;
	double best = 0;
	for (int t = 0; t < trials; t++) {
		double t0 = now();
		double macs = run(iters, &sink);
		double rate = 2 * macs / (now() - t0) / 1e9;
		best = rate > best ? rate : best;
	}
	printf("isa=%s gops=%.1f\n", isa(), best);
	return sink == 42 ? 1 : 0; /* keeps the loop; never 42 in practice */
}
