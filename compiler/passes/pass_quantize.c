/* quantize (--quantize int8): post-training quantization of a float
 * model. It runs after fold-bn and writes what a QDQ model says, in the
 * conventions onnxruntime's static quantizer uses, into the graph:
 *
 *   activations  uint8, per tensor, asymmetric: the range calibrated on
 *                the samples (--calibrate), widened to hold 0, scale =
 *                (max - min) / 255, zero point round(-min / scale); a
 *                QuantizeLinear -> DequantizeLinear pair on every input
 *                and output of Conv, Gemm, Add and GlobalAveragePool (a
 *                Relu or Clip that alone reads the output moves the pair
 *                behind it), MaxPool and the views sharing their input's
 *   weights      int8, symmetric, per output channel: scale max|w| / 127
 *   biases       int32 at scale input scale * weight scale
 *
 * Graph outputs stay float. The weights' and biases' DequantizeLinear
 * are folded at once (the Conv reads the dequantized values), as lowering
 * folds them in a QDQ model, so the qdq pass then finds the same graph
 * whichever way it came: quantized by resnetc, or read quantized. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "lower.h"
#include "ops.h"
#include "passes.h"
#include "readers.h"

typedef struct {
	float *min, *max; /* calibrated range per tensor */
	float *scale;     /* chosen quantization, per tensor (0: none) */
	int *zp;
	int *share;       /* tensor whose constants it shares, or -1 */
	int *qconst;      /* the scale tensor made for it, -1 until made */
	int *zconst;
	int *after;       /* per new node: the original node it follows */
	int n_after, first_new;
} QState;

static const char *calib_method_names[] = {"minmax", "percentile", "entropy"};

const char *calib_method_name(int m)
{
	return m >= 0 && m < CALIB_COUNT ? calib_method_names[m] : "?";
}

int calib_method_find(const char *name)
{
	for (int i = 0; i < CALIB_COUNT; i++)
		if (!strcmp(name, calib_method_names[i]))
			return i;
	return -1;
}

static int is_act_f32(const Graph *g, int t)
{
	return t >= 0 && g->tensors[t].kind != T_CONST && g->tensors[t].dtype == RN_F32;
}

/* ---- calibration: the float graph run on the host over the samples ---- */

typedef struct {
	float *data;
	int64_t count; /* samples */
	int64_t per;   /* floats per run (the input's size) */
} Samples;

static int load_samples(Graph *g, const QuantizeOptions *o, Samples *s, Diag *d)
{
	if (o->n_calib != g->n_inputs)
		return diag_set(d, "the model has %d input%s and %d --calibrate file%s were given (one per input, in order)",
				g->n_inputs, g->n_inputs == 1 ? "" : "s", o->n_calib, o->n_calib == 1 ? "" : "s");
	for (int i = 0; i < g->n_inputs; i++) {
		const Tensor *in = &g->tensors[g->inputs[i]];
		int rank;
		int64_t dims[IR_MAX_RANK];
		Diag e;
		s[i].data = npy_read_f32(o->calib[i], &rank, dims, &e);
		if (!s[i].data)
			return diag_set(d, "%s: %s", o->calib[i], e.msg);
		char want[128], got[128] = "";
		shape_str(in, want, sizeof want);
		for (int k = 0; k < rank; k++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? "x" : "", (long long)dims[k]);
		int ok = in->dtype == RN_F32 && rank == in->rank && rank >= 1 && dims[0] >= in->dims[0] &&
			 in->dims[0] > 0 && dims[0] % in->dims[0] == 0;
		for (int k = 1; ok && k < rank; k++)
			ok = dims[k] == in->dims[k];
		if (!ok)
			return diag_set(d, "%s: samples of shape %s do not fit input '%s' of shape %s (expected Kx%s: "
					"K samples stacked on the first axis)", o->calib[i], rank ? got : "scalar",
					in->name, want, strchr(want, 'x') ? strchr(want, 'x') + 1 : want);
		s[i].per = tensor_numel(in);
		s[i].count = dims[0] / in->dims[0];
		/* a NaN would be skipped by the ranges, an infinity make one */
		for (int64_t k = 0; k < s[i].count * s[i].per; k++)
			if (!isfinite(s[i].data[k]))
				return diag_set(d, "%s: value %lld (of sample %lld) is %g: calibration samples must be finite, "
						"not finite values give no range to quantize with", o->calib[i], (long long)k,
						(long long)(k / s[i].per), (double)s[i].data[k]);
		if (i && s[i].count != s[0].count)
			return diag_set(d, "%s holds %lld samples, %s %lld: give each input as many", o->calib[i],
					(long long)s[i].count, o->calib[0], (long long)s[0].count);
	}
	return 0;
}

/* Percentile calibration: the range that holds all but 1e-4 of the
 * values on each side, from a histogram over the min-max range. */
#define HIST_BINS 2048

/* ORT's smooth_distribution: eps to each empty bin, taken evenly from the
 * others; 0 if all are empty. Then normalized to sum 1. */
static int smooth(double *p, int n)
{
	const double eps = 1e-4;
	int zeros = 0;
	for (int k = 0; k < n; k++)
		zeros += p[k] == 0;
	if (zeros == n)
		return 0;
	double eps1 = eps * zeros / (n - zeros), sum = 0;
	for (int k = 0; k < n; k++) {
		p[k] += p[k] == 0 ? eps : -eps1;
		sum += p[k];
	}
	for (int k = 0; k < n; k++)
		p[k] /= sum;
	return 1;
}

/* Entropy calibration (the KL-divergence method of TensorRT, MXNet and
 * onnxruntime) on a histogram h of HIST_BINS bins over [-M, M]: the
 * threshold T (returned as T / M) whose clipped distribution loses the least
 * information at 255 levels. For each half-width i (bins either side of
 * 0): p = the 2i middle bins, the values beyond added to the end bins; q =
 * those bins as they are merged into 255 groups, each spread over the bins
 * where p is not empty; the least KL(p || q), both smoothed, wins. */
static double entropy_threshold(const uint32_t *h)
{
	enum { LEVELS = 255, HALF = HIST_BINS / 2 };
	static double p[HIST_BINS], qv[HIST_BINS];
	double best_kl = INFINITY, best = 1.0;
	for (int i = LEVELS / 2 + 1; i <= HALF; i++) {
		int s = HALF - i, n = 2 * i;
		for (int k = 0; k < n; k++)
			p[k] = h[s + k];
		for (int k = 0; k < s; k++)
			p[0] += h[k];
		for (int k = s + n; k < HIST_BINS; k++)
			p[n - 1] += h[k];
		int per = n / LEVELS;
		for (int g = 0; g < LEVELS; g++) {
			int a = g * per, b = g == LEVELS - 1 ? n : a + per;
			double sum = 0;
			int nz = 0;
			for (int k = a; k < b; k++) {
				sum += h[s + k];
				nz += p[k] != 0;
			}
			for (int k = a; k < b; k++)
				qv[k] = p[k] != 0 && nz ? sum / nz : 0;
		}
		if (!smooth(p, n) || !smooth(qv, n))
			continue;
		double kl = 0;
		for (int k = 0; k < n; k++)
			kl += p[k] * log(p[k] / qv[k]);
		if (kl < best_kl) {
			best_kl = kl;
			best = (double)i / HALF;
		}
	}
	return best;
}

/* Runs g's live steps on the host, ptr[t] each tensor's buffer: those of
 * the inputs and constants given, one allocated for each other tensor a
 * step reads or writes that has none yet (the caller frees them). Each
 * node's outputs are ready when visit(ctx, node) is called; a failing step
 * is reported with `what` before its message. */
static int host_run(const Graph *g, void **ptr, void (*visit)(void *, const Node *), void *ctx, const char *what,
		    Diag *d)
{
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		for (int j = 0; j < n->n_steps; j++) {
			const Step *s = &n->steps[j];
			for (int k = 0; k < s->n_in + s->n_out; k++) {
				int t = k < s->n_in ? s->in[k] : s->out[k - s->n_in];
				if (t >= 0 && !ptr[t] && g->tensors[t].kind != T_INPUT)
					ptr[t] = xcalloc(1, tensor_bytes(&g->tensors[t]) + 1);
			}
			if (kernel_exec(g, s, ptr, d))
				return node_error(d, n, "%s%s", what, d->msg);
		}
		if (visit)
			visit(ctx, n);
	}
	return 0;
}

static int calibrate(Graph *g, const QuantizeOptions *o, QState *q, Diag *d)
{
	Samples s[16];
	memset(s, 0, sizeof s);
	if (g->n_inputs > 16)
		return diag_set(d, "--quantize supports models with up to 16 inputs");
	int rc = load_samples(g, o, s, d);
	int nt = g->n_tensors;
	void **ptr = xcalloc((size_t)nt, sizeof *ptr);
	uint32_t **hist = o->method != CALIB_MINMAX ? xcalloc((size_t)nt, sizeof *hist) : NULL;
	int sym = o->method == CALIB_ENTROPY; /* its histogram: over [-M, M], M = max |x| */
	for (int t = 0; t < nt; t++) {
		q->min[t] = FLT_MAX;
		q->max[t] = -FLT_MAX;
		Tensor *tt = &g->tensors[t];
		if (tt->kind == T_CONST)
			ptr[t] = tt->data;
		else if (tt->rank >= 0 && tt->kind == T_ACT)
			ptr[t] = xcalloc(1, tensor_bytes(tt) + 1);
	}
	/* percentile: a first sweep for the ranges, a second for histograms */
	int sweeps = hist ? 2 : 1;
	int64_t total = rc ? 0 : s[0].count * sweeps, done = 0;
	for (int sw = 0; sw < sweeps && rc == 0; sw++)
		for (int64_t k = 0; k < s[0].count && rc == 0; k++) {
			for (int i = 0; i < g->n_inputs; i++)
				ptr[g->inputs[i]] = s[i].data + k * s[i].per;
			rc = host_run(g, ptr, NULL, NULL, "calibration: ", d);
			for (int t = 0; t < nt && rc == 0; t++) {
				if (!is_act_f32(g, t) || !ptr[t])
					continue;
				const float *v = ptr[t];
				int64_t n = tensor_numel(&g->tensors[t]);
				if (sw == 0) {
					float mn = q->min[t], mx = q->max[t];
					for (int64_t e = 0; e < n; e++) {
						mn = v[e] < mn ? v[e] : mn;
						mx = v[e] > mx ? v[e] : mx;
					}
					q->min[t] = mn;
					q->max[t] = mx;
				} else if (q->max[t] > q->min[t]) {
					if (!hist[t])
						hist[t] = xcalloc(HIST_BINS, sizeof **hist);
					double m = fmax(fabs((double)q->min[t]), fabs((double)q->max[t]));
					double from = sym ? -m : q->min[t];
					double w = (double)HIST_BINS / (sym ? 2 * m : (double)q->max[t] - q->min[t]);
					for (int64_t e = 0; e < n; e++) {
						/* clamped before the conversion: a value that
						 * overflowed (inf, or NaN after it) lands in an end
						 * bin, and its range is refused after */
						double x = ((double)v[e] - from) * w;
						int b = !(x >= 0.0) ? 0 : x >= HIST_BINS ? HIST_BINS - 1 : (int)x;
						hist[t][b]++;
					}
				}
			}
			if (o->progress)
				o->progress(o->ctx, ++done, total);
		}
	if (hist && sym) {
		for (int t = 0; t < nt; t++) {
			if (!hist[t])
				continue;
			double m = fmax(fabs((double)q->min[t]), fabs((double)q->max[t]));
			double th = entropy_threshold(hist[t]) * m;
			q->min[t] = (float)fmax((double)q->min[t], -th);
			q->max[t] = (float)fmin((double)q->max[t], th);
			free(hist[t]);
		}
		free(hist);
		hist = NULL;
	}
	if (hist) {
		for (int t = 0; t < nt; t++) {
			if (!hist[t])
				continue;
			uint64_t all = 0, lo = 0, hi = 0;
			for (int b = 0; b < HIST_BINS; b++)
				all += hist[t][b];
			uint64_t cut = all / 10000;
			int a = 0, z = HIST_BINS - 1;
			while (a < z && lo + hist[t][a] <= cut)
				lo += hist[t][a++];
			while (z > a && hi + hist[t][z] <= cut)
				hi += hist[t][z--];
			double w = ((double)q->max[t] - q->min[t]) / HIST_BINS;
			float nmin = (float)(q->min[t] + a * w), nmax = (float)(q->min[t] + (z + 1) * w);
			q->min[t] = nmin > q->min[t] ? nmin : q->min[t];
			q->max[t] = nmax < q->max[t] ? nmax : q->max[t];
			free(hist[t]);
		}
		free(hist);
	}
	for (int t = 0; t < nt; t++)
		if (g->tensors[t].kind == T_ACT)
			free(ptr[t]);
	free(ptr);
	for (int i = 0; i < 16; i++)
		free(s[i].data);
	return rc;
}

/* ---- the graph rewrite ---- */

static int new_node(Graph *g, QState *q, int after, const char *name, const char *op, const int *in, int n_in,
		    int out)
{
	int k = graph_add_node(g, name, op, in, n_in, &out, 1);
	g->tensors[out].producer = k;
	q->after = xrealloc(q->after, (size_t)(q->n_after + 1) * sizeof *q->after);
	q->after[q->n_after++] = after;
	return k;
}

static int scalar_const(Graph *g, const char *name, int dtype, const void *v, size_t size)
{
	int t = graph_add_tensor(g, name, T_CONST, dtype);
	g->tensors[t].rank = 0;
	g->tensors[t].data = xmalloc(size);
	memcpy(g->tensors[t].data, v, size);
	return t;
}

/* The scale and zero point of t as constants (shared ones reuse theirs). */
static void qparams(Graph *g, QState *q, int t, int *st, int *zt)
{
	int src = q->share[t] >= 0 ? q->share[t] : t;
	if (q->qconst[src] < 0) {
		char name[600];
		uint8_t z = (uint8_t)q->zp[src];
		snprintf(name, sizeof name, "%s_scale", g->tensors[src].name);
		q->qconst[src] = scalar_const(g, name, RN_F32, &q->scale[src], sizeof(float));
		snprintf(name, sizeof name, "%s_zero_point", g->tensors[src].name);
		q->zconst[src] = scalar_const(g, name, RN_U8, &z, 1);
	}
	*st = q->qconst[src];
	*zt = q->zconst[src];
}

static int lower_new(Graph *g, int k, Diag *d)
{
	Node *n = &g->nodes[k];
	n->def = op_find(n->op_type);
	return n->def->lower(g, n, d);
}

/* A QuantizeLinear -> DequantizeLinear pair on t; every reader of t
 * reads the pair's output instead. */
static int insert_pair(Graph *g, QState *q, int t, Diag *d)
{
	char name[600];
	int st, zt;
	qparams(g, q, t, &st, &zt);
	int after = g->tensors[t].producer;
	snprintf(name, sizeof name, "%s_quantized", g->tensors[t].name);
	int tq = graph_add_tensor(g, name, T_ACT, RN_U8);
	g->tensors[tq].twin = t;
	snprintf(name, sizeof name, "%s_dequantized", g->tensors[t].name);
	int tdq = graph_add_tensor(g, name, T_ACT, RN_F32);
	int in[3] = {t, st, zt};
	snprintf(name, sizeof name, "%s_QuantizeLinear", g->tensors[t].name);
	int kq = new_node(g, q, after, name, "QuantizeLinear", in, 3, tq);
	if (lower_new(g, kq, d))
		return -1;
	int in2[3] = {tq, st, zt};
	snprintf(name, sizeof name, "%s_DequantizeLinear", g->tensors[t].name);
	int kd = new_node(g, q, after, name, "DequantizeLinear", in2, 3, tdq);
	if (lower_new(g, kd, d))
		return -1;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		if (n->dead || i == kq)
			continue;
		int hit = 0;
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] == t)
				n->in[j] = tdq, hit = 1;
		if (n->residual == t)
			n->residual = tdq, hit = 1;
		if (hit && relower(g, n, d))
			return -1;
	}
	return 0;
}

/* A constant run through a DequantizeLinear folded at once: returns the
 * float tensor the consumer reads; its producer is the (dead) node. */
static int folded_dq(Graph *g, QState *q, const char *name, int qt, int st, int zt, int axis, const float *vals,
		     int rank, const int64_t *dims)
{
	char buf[600];
	snprintf(buf, sizeof buf, "%s_dequantized", name);
	int t = graph_add_tensor(g, buf, T_CONST, RN_F32);
	Tensor *tt = &g->tensors[t];
	tt->rank = rank;
	memcpy(tt->dims, dims, (size_t)rank * sizeof *dims); /* (a bias passes one dim) */
	size_t bytes = tensor_bytes(tt);
	tt->data = xmalloc(bytes);
	memcpy(tt->data, vals, bytes);
	int in[3] = {qt, st, zt};
	snprintf(buf, sizeof buf, "%s_DequantizeLinear", name);
	int k = new_node(g, q, -1, buf, "DequantizeLinear", in, zt >= 0 ? 3 : 2, t);
	Node *n = &g->nodes[k];
	n->def = op_find("DequantizeLinear");
	if (axis >= 0)
		node_add_attr(n, "axis", A_INT)->i = axis;
	n->dead = 1;
	return t;
}

static int make_const(Graph *g, const char *name, const char *suffix, int dtype, int rank, const int64_t *dims,
		      void *data)
{
	char buf[600];
	snprintf(buf, sizeof buf, "%s_%s", name, suffix);
	int t = graph_add_tensor(g, buf, T_CONST, dtype);
	g->tensors[t].rank = rank;
	for (int i = 0; i < rank; i++)
		g->tensors[t].dims[i] = dims[i];
	g->tensors[t].data = data;
	return t;
}

/* A convolution's int8 weights such that each pair (k, k+1), k even, of a
 * channel's weights in [c][kh][kw] order is "safe" for the runtime's
 * fastest x86 kernel (runtime.h, rn_qconv2d_packed): the two of opposite
 * signs, or |w[k] + w[k+1]| <= 128. Otherwise the pair's sum of products
 * with 8-bit activations could leave 16 bits there, and the kernel would
 * take its slower path for the whole layer. The scale already leaves room
 * for the largest such pair; what rounding adds (a sum of 129) is taken
 * back from the weight that stays closest to its real value. */
static void make_pairs_safe(int8_t *wq, const float *wf, const float *scale, int64_t m, int64_t per)
{
	for (int64_t c = 0; c < m; c++)
		for (int64_t k = 0; k + 1 < per; k += 2) {
			int8_t *w = wq + c * per + k;
			int sum = w[0] + w[1];
			if ((w[0] > 0) != (w[1] > 0) || (w[0] < 0) != (w[1] < 0) || (sum >= -128 && sum <= 128))
				continue;
			int sign = sum > 0 ? 1 : -1;
			double r0 = wf[c * per + k] / scale[c], r1 = wf[c * per + k + 1] / scale[c];
			/* w0 + w1 = 128 * sign, closest to (r0, r1) */
			double a = nearbyint((r0 - r1 + 128.0 * sign) / 2.0);
			int w0 = (int)a, w1 = 128 * sign - w0;
			w0 = w0 > 127 ? 127 : w0 < -127 ? -127 : w0;
			w1 = 128 * sign - w0;
			w1 = w1 > 127 ? 127 : w1 < -127 ? -127 : w1;
			w[0] = (int8_t)w0;
			w[1] = (int8_t)w1;
		}
}

/* Weights [m][...] (or, with transposed, [k][m]) to int8 per channel;
 * bias to int32 at x_scale * w_scale. Rewrites the node's operands. */
static int quantize_weights(Graph *g, QState *q, int ni, int wi, int bi, int transposed, float x_scale, Diag *d)
{
	int wt = g->nodes[ni].in[wi];
	const Tensor *w = &g->tensors[wt];
	int wrank = w->rank;
	int64_t wdims[IR_MAX_RANK];
	memcpy(wdims, w->dims, sizeof wdims);
	int64_t total = tensor_numel(w), m = transposed ? w->dims[1] : w->dims[0], per = total / m;
	const float *wf = w->data;
	float *scale = xmalloc((size_t)m * sizeof *scale);
	int8_t *wq = xmalloc((size_t)total), *wz = xcalloc((size_t)m, 1);
	float *deq = xmalloc((size_t)total * sizeof *deq);
	for (int64_t c = 0; c < m; c++) {
		float mx = 0.0f;
		for (int64_t i = 0; i < per; i++) {
			float v = fabsf(wf[transposed ? i * m + c : c * per + i]);
			mx = v > mx ? v : mx;
		}
		/* (a scale below FLT_MIN, as onnxruntime's quantizer does: 1) */
		scale[c] = mx / 127.0f >= FLT_MIN ? mx / 127.0f : 1.0f;
		/* a convolution's pairs of one sign must sum to at most 128
		 * steps (make_pairs_safe): the scale grows where a pair of large
		 * weights needs it, at most to max|w| / 64 (7 bits) */
		for (int64_t i = 0; !transposed && i + 1 < per; i += 2) {
			float a = wf[c * per + i], b = wf[c * per + i + 1];
			if ((a > 0 && b > 0) || (a < 0 && b < 0))
				scale[c] = fmaxf(scale[c], fabsf(a + b) / 128.0f);
		}
	}
	for (int64_t i = 0; i < total; i++) {
		int64_t c = transposed ? i % m : i / per;
		float v = nearbyintf(wf[i] / scale[c]);
		v = fminf(fmaxf(v, -127.0f), 127.0f);
		wq[i] = (int8_t)v;
	}
	if (!transposed)
		make_pairs_safe(wq, wf, scale, m, per);
	for (int64_t i = 0; i < total; i++)
		deq[i] = (float)wq[i] * scale[transposed ? i % m : i / per];
	char base[520];
	snprintf(base, sizeof base, "%s", w->name);
	int64_t dm = m;
	int tq = make_const(g, base, "quantized", RN_I8, wrank, wdims, wq);
	int ts = make_const(g, base, "scale", RN_F32, 1, &dm, scale);
	int tz = make_const(g, base, "zero_point", RN_I8, 1, &dm, wz);
	int tw = folded_dq(g, q, base, tq, ts, tz, transposed ? 1 : 0, deq, wrank, wdims);
	free(deq);
	Node *n = &g->nodes[ni]; /* (adding nodes may have moved them) */
	n->in[wi] = tw;
	int bt = bi < n->n_in ? n->in[bi] : -1;
	if (bt >= 0 && g->tensors[bt].kind == T_CONST && g->tensors[bt].dtype == RN_F32 &&
	    g->tensors[bt].rank == 1 && g->tensors[bt].dims[0] == m) {
		const float *bf = g->tensors[bt].data;
		int32_t *bq = xmalloc((size_t)m * sizeof *bq);
		float *bs = xmalloc((size_t)m * sizeof *bs), *bd = xmalloc((size_t)m * sizeof *bd);
		for (int64_t c = 0; c < m; c++) {
			bs[c] = x_scale * scale[c];
			/* (a scale that underflowed, or a NaN bias: 0) */
			double v = bs[c] > 0.0f ? (double)bf[c] / bs[c] : 0.0;
			v = isnan(v) ? 0.0 : nearbyint(v);
			v = v < -2147483647.0 ? -2147483647.0 : v > 2147483647.0 ? 2147483647.0 : v;
			bq[c] = (int32_t)v;
			bd[c] = (float)bq[c] * bs[c];
		}
		snprintf(base, sizeof base, "%s", g->tensors[bt].name);
		int bqt = make_const(g, base, "quantized", RN_I32, 1, &dm, bq);
		int bst = make_const(g, base, "scale", RN_F32, 1, &dm, bs);
		int tb = folded_dq(g, q, base, bqt, bst, -1, 0, bd, 1, &dm);
		free(bd);
		n = &g->nodes[ni];
		n->in[bi] = tb;
	}
	return relower(g, n, d);
}

/* Puts the new nodes where they belong: each right after the node it
 * follows (-1: first), in the order made; tensors' producers follow. */
static void place_nodes(Graph *g, QState *q)
{
	int nn = g->n_nodes, first = q->first_new;
	Node *sorted = xmalloc((size_t)nn * sizeof *sorted);
	int *where = xmalloc((size_t)nn * sizeof *where);
	int k = 0;
	for (int i = -1; i < first; i++) {
		if (i >= 0) {
			where[i] = k;
			sorted[k++] = g->nodes[i];
		}
		for (int j = first; j < nn; j++)
			if (q->after[j - first] == i) {
				where[j] = k;
				sorted[k++] = g->nodes[j];
			}
	}
	memcpy(g->nodes, sorted, (size_t)nn * sizeof *sorted);
	for (int t = 0; t < g->n_tensors; t++)
		if (g->tensors[t].producer >= 0)
			g->tensors[t].producer = where[g->tensors[t].producer];
	free(sorted);
	free(where);
}

/* The tensor that carries n's result: its output, or the output of a
 * Relu or Clip that alone reads it. */
static int result_of(Graph *g, const Readers *r, const Node *n)
{
	int y = n->out[0];
	if (readers_of(r, y) != 1 || g->tensors[y].is_output)
		return y;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *a = &g->nodes[i];
		if (a->dead || a->n_in < 1 || a->in[0] != y)
			continue;
		if (!strcmp(a->op_type, "Relu") || !strcmp(a->op_type, "Clip"))
			return a->out[0];
		break;
	}
	return y;
}

static int is_op(const Node *n, const char *op)
{
	return !n->dead && !strcmp(n->op_type, op);
}

/* Ops whose output keeps its input's quantization (max and views). */
static int shares_input(const Node *n)
{
	static const char *const ops[] = {"MaxPool", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity"};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (is_op(n, ops[i]))
			return n->n_out == 1;
	return 0;
}

int pass_quantize(Graph *g, Diag *d)
{
	const QuantizeOptions *o = g->quantize;
	if (!o)
		return 0;
	int nt0 = g->n_tensors;
	QState q;
	memset(&q, 0, sizeof q);
	q.min = xmalloc((size_t)nt0 * sizeof *q.min);
	q.max = xmalloc((size_t)nt0 * sizeof *q.max);
	q.scale = xcalloc((size_t)nt0, sizeof *q.scale);
	q.zp = xcalloc((size_t)nt0, sizeof *q.zp);
	q.share = xmalloc((size_t)nt0 * sizeof *q.share);
	q.qconst = xmalloc((size_t)nt0 * sizeof *q.qconst);
	q.zconst = xmalloc((size_t)nt0 * sizeof *q.zconst);
	for (int t = 0; t < nt0; t++)
		q.share[t] = q.qconst[t] = q.zconst[t] = -1;
	int rc = calibrate(g, o, &q, d);

	/* which tensors get a pair */
	char *mark = xcalloc((size_t)nt0, 1);
	Readers r;
	readers_init(&r, g);
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *n = &g->nodes[i];
		int conv = is_op(n, "Conv") && n->n_steps == 1 && n->steps[0].kernel == K_CONV2D;
		if (!conv && !is_op(n, "Gemm") && !is_op(n, "Add") && !is_op(n, "GlobalAveragePool"))
			continue;
		for (int j = 0; j < n->n_in; j++)
			if (is_act_f32(g, n->in[j]))
				mark[n->in[j]] = 1;
		int y = result_of(g, &r, n);
		if (is_act_f32(g, y))
			mark[y] = 1;
	}
	for (int i = 0; i < g->n_nodes && rc == 0; i++) {
		Node *n = &g->nodes[i];
		if (shares_input(n) && n->in[0] < nt0 && mark[n->in[0]] && is_act_f32(g, n->out[0])) {
			int src = q.share[n->in[0]] >= 0 ? q.share[n->in[0]] : n->in[0];
			mark[n->out[0]] = 1;
			q.share[n->out[0]] = src;
		}
	}
	for (int t = 0; t < nt0; t++) {
		if (g->tensors[t].is_output)
			mark[t] = 0;
		if (!mark[t] || q.share[t] >= 0)
			continue;
		if (q.min[t] > q.max[t]) /* never written: not on the path run */
			q.min[t] = q.max[t] = 0.0f;
		double lo = q.min[t] < 0.0f ? q.min[t] : 0.0, hi = q.max[t] > 0.0f ? q.max[t] : 0.0;
		if (!isfinite(lo) || !isfinite(hi) || !isfinite((float)((hi - lo) / 255.0))) {
			rc = diag_set(d, "calibration: tensor '%s' ranges over [%g, %g] on the samples: not finite, "
				      "no scale quantizes it", g->tensors[t].name, lo, hi);
			break;
		}
		/* a range too small for a float scale (below FLT_MIN) is taken as
		 * empty, as onnxruntime's quantizer does */
		if (hi > lo && (float)((hi - lo) / 255.0) >= FLT_MIN) {
			q.scale[t] = (float)((hi - lo) / 255.0);
			double z = nearbyint(-lo / q.scale[t]);
			q.zp[t] = (int)(z < 0 ? 0 : z > 255 ? 255 : z);
		} else {
			q.scale[t] = 1.0f;
			q.zp[t] = 0;
		}
	}
	for (int t = 0; t < nt0; t++)
		if (mark[t] && q.share[t] >= 0) {
			q.scale[t] = q.scale[q.share[t]];
			q.zp[t] = q.zp[q.share[t]];
		}
	readers_free(&r);

	/* weights and biases, then the pairs (the input scale is known) */
	q.first_new = g->n_nodes;
	int n_orig = g->n_nodes;
	for (int i = 0; i < n_orig && rc == 0; i++) {
		Node *n = &g->nodes[i];
		if (n->dead)
			continue;
		int x = n->in[0];
		float xs = x < nt0 && mark[x] ? q.scale[x] : 0.0f;
		if (!xs)
			continue;
		if (is_op(n, "Conv") && g->tensors[n->in[1]].kind == T_CONST && n->n_steps == 1 &&
		    n->steps[0].kernel == K_CONV2D)
			rc = quantize_weights(g, &q, i, 1, 2, 0, xs, d);
		else if (is_op(n, "Gemm") && g->tensors[n->in[1]].kind == T_CONST && g->tensors[n->in[1]].rank == 2 &&
			 attr_float(n, "beta", 1.0f) == 1.0f)
			rc = quantize_weights(g, &q, i, 1, 2, !attr_int(n, "transB", 0), xs, d);
	}
	for (int t = 0; t < nt0 && rc == 0; t++)
		if (mark[t])
			rc = insert_pair(g, &q, t, d);
	if (rc == 0)
		place_nodes(g, &q);
	free(mark);
	free(q.min);
	free(q.max);
	free(q.scale);
	free(q.zp);
	free(q.share);
	free(q.qconst);
	free(q.zconst);
	free(q.after);
	return rc;
}

/* ---- info: each quantized activation's error against the float model ---- */

typedef struct {
	const Graph *gq, *gf;
	void **pq, **pf;
	int *twin_f;         /* per gq tensor: its twin's index in gf, or -1 */
	double *ref2, *err2; /* per gq tensor */
} SqnrRun;

static void sqnr_visit(void *ctx, const Node *n)
{
	SqnrRun *r = ctx;
	for (int k = 0; k < n->n_out; k++) {
		int t = n->out[k];
		if (t < 0 || r->twin_f[t] < 0 || !r->pq[t] || !r->pf[r->twin_f[t]])
			continue;
		const Tensor *tq = &r->gq->tensors[t];
		const float *ref = r->pf[r->twin_f[t]];
		int64_t m = tensor_numel(tq);
		double a = 0, e = 0;
		for (int64_t i = 0; i < m; i++) {
			int q = tq->dtype == RN_U8 ? ((const uint8_t *)r->pq[t])[i]
				: tq->dtype == RN_I8 ? ((const int8_t *)r->pq[t])[i] : 0;
			double v = tq->dtype == RN_F32 ? ((const float *)r->pq[t])[i] : (double)(q - tq->qzp) * tq->qscale;
			double x = ref[i];
			a += x * x;
			e += (x - v) * (x - v);
		}
		r->ref2[t] += a;
		r->err2[t] += e;
	}
}

int quantize_sqnr(const Graph *gq, const Graph *gf, const QuantizeOptions *o, int max_samples, double *sqnr,
		  Diag *d)
{
	Samples s[16];
	memset(s, 0, sizeof s);
	if (gf->n_inputs > 16 || gq->n_inputs != gf->n_inputs)
		return diag_set(d, "SQNR: the float and the int8 graph differ in their inputs");
	int rc = load_samples((Graph *)gf, o, s, d);
	SqnrRun r = {gq, gf, xcalloc((size_t)gq->n_tensors, sizeof(void *)), xcalloc((size_t)gf->n_tensors, sizeof(void *)),
		     xmalloc((size_t)gq->n_tensors * sizeof(int)), xcalloc((size_t)gq->n_tensors, sizeof(double)),
		     xcalloc((size_t)gq->n_tensors, sizeof(double))};
	for (int t = 0; t < gq->n_tensors; t++) {
		const Tensor *x = &gq->tensors[t];
		sqnr[t] = NAN;
		r.twin_f[t] = -1;
		/* a float activation (the output a QGemm computes, say) against
		 * the float model's tensor of its name */
		const char *name = x->kind == T_ACT && x->dtype == RN_F32 ? x->name
				   : x->twin >= 0 && x->qscale > 0 && (x->dtype == RN_U8 || x->dtype == RN_I8)
				   ? gq->tensors[x->twin].name : NULL;
		if (!name)
			continue;
		int f = graph_find_tensor(gf, name);
		if (f >= 0 && gf->tensors[f].dtype == RN_F32 && tensor_numel(&gf->tensors[f]) == tensor_numel(x))
			r.twin_f[t] = f;
	}
	for (int t = 0; t < gq->n_tensors; t++)
		if (gq->tensors[t].kind == T_CONST)
			r.pq[t] = gq->tensors[t].data;
	for (int t = 0; t < gf->n_tensors; t++)
		if (gf->tensors[t].kind == T_CONST)
			r.pf[t] = gf->tensors[t].data;
	int64_t runs = rc ? 0 : s[0].count < max_samples ? s[0].count : max_samples;
	for (int64_t k = 0; k < runs && rc == 0; k++) {
		for (int i = 0; i < gf->n_inputs; i++) {
			r.pf[gf->inputs[i]] = s[i].data + k * s[i].per;
			r.pq[gq->inputs[i]] = s[i].data + k * s[i].per;
		}
		rc = host_run(gf, r.pf, NULL, NULL, "SQNR, float model: ", d);
		if (!rc)
			rc = host_run(gq, r.pq, sqnr_visit, &r, "SQNR, int8 model: ", d);
		if (o->progress)
			o->progress(o->ctx, k + 1, runs);
	}
	for (int t = 0; t < gq->n_tensors && rc == 0; t++)
		if (r.twin_f[t] >= 0 && runs > 0)
			sqnr[t] = r.err2[t] > 0 ? 10.0 * log10(r.ref2[t] / r.err2[t]) : INFINITY;
	for (int t = 0; t < gq->n_tensors; t++)
		if (gq->tensors[t].kind == T_ACT)
			free(r.pq[t]);
	for (int t = 0; t < gf->n_tensors; t++)
		if (gf->tensors[t].kind == T_ACT)
			free(r.pf[t]);
	free(r.pq), free(r.pf), free(r.twin_f), free(r.ref2), free(r.err2);
	for (int i = 0; i < 16; i++)
		free(s[i].data);
	return rc;
}
