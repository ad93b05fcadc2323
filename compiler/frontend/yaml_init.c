/* Reproducible random weights for a YAML description without a weights file (yaml_internal.h) */
#include <math.h>
#include <string.h>

#include "yaml_internal.h"

/* splitmix64: a tiny generator with identical output everywhere. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
	return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* 2 atanh(s) = ln((1+s)/(1-s)) by its series, to double precision. The
 * volatile products keep compilers from fusing a multiply and an add into
 * an FMA, which rounds differently: the same seed must give the same bits
 * on every platform, so no libm call (whose last bit varies) is used. */
static double atanh2_series(double s)
{
	double sum = s, t = s;
	volatile double s2 = s * s;
	for (int k = 3; k <= 41; k += 2) {
		volatile double p = t * s2;
		t = p;
		if (t == 0 || (t < 0 ? -t : t) < 1e-18 * (sum < 0 ? -sum : sum))
			break;
		sum += t / k;
	}
	return 2 * sum;
}

/* ln x for normal x > 0: x = 2^e m, m in [1, 2); c = 1 / (1 + j/256) for
 * the top 8 bits j of m's fraction, so m c is within 1/256 of 1 and three
 * terms of the atanh series give ln(m c) to double precision; then
 * ln x = e ln 2 + ln(m c) - ln c. */
static double portable_log(double x)
{
	static double inv_c[256], ln_c[256];
	static int ready;
	if (!ready) {
		for (int j = 0; j < 256; j++) {
			inv_c[j] = 1 / (1 + j / 256.0);
			ln_c[j] = atanh2_series((inv_c[j] - 1) / (inv_c[j] + 1));
		}
		ready = 1;
	}
	uint64_t bits;
	memcpy(&bits, &x, 8);
	int e = (int)(bits >> 52 & 0x7ff) - 1023, j = (int)(bits >> 44 & 0xff);
	bits = (bits & 0x000fffffffffffffu) | 0x3ff0000000000000u;
	double m;
	memcpy(&m, &bits, 8);
	volatile double r = m * inv_c[j];
	double s = (r - 1) / (r + 1);
	volatile double s2 = s * s, t3 = s * s2, t5 = t3 * s2, t7 = t5 * s2;
	volatile double a3 = t3 * (1 / 3.0), a5 = t5 * (1 / 5.0), a7 = t7 * (1 / 7.0);
	volatile double hi = e * 0.69314718055994530942;
	return hi + (2 * (s + (a3 + (a5 + a7))) - ln_c[j]);
}

typedef struct {
	uint64_t state;
	int have_spare;
	double spare;
} Rng;

/* Standard normal, Marsaglia's polar method (sqrt is exactly rounded);
 * each accepted pair gives two values. */
static double normal01(Rng *r)
{
	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	for (;;) {
		double u = 2 * uniform01(&r->state) - 1, v = 2 * uniform01(&r->state) - 1;
		volatile double uu = u * u, vv = v * v;
		double q = uu + vv;
		if (q > 0 && q < 1) {
			double f = sqrt(-2 * portable_log(q) / q);
			r->spare = v * f;
			r->have_spare = 1;
			return u * f;
		}
	}
}

/* Each tensor draws from its own stream, seeded by the seed and its name,
 * so one tensor's values do not depend on the rest of the network. */
void y_init_values(const Spec *s, const char *name, InitKind kind, int64_t fan, float *v, int64_t n)
{
	Rng r = {s->seed, 0, 0};
	for (const char *p = name; *p; p++)
		r.state = (r.state ^ (unsigned char)*p) * 0x100000001b3u; /* FNV-1a step */
	splitmix64(&r.state);
	double std = sqrt(2.0 / (double)fan), bound = 1 / sqrt((double)fan);
	for (int64_t i = 0; i < n; i++) {
		switch (kind) {
		case INIT_CONV: v[i] = (float)(normal01(&r) * std); break;
		case INIT_ONE: v[i] = 1.0f; break;
		case INIT_ZERO: v[i] = 0.0f; break;
		case INIT_FC: v[i] = (float)((2 * uniform01(&r.state) - 1) * bound); break;
		}
	}
}
