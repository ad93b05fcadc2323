/*
 * Graph passes: each one a function Graph -> Graph in its own file, run on
 * a lowered graph (every tensor shaped), switchable from the command line.
 * A pass that changes a node calls relower() so its steps match again.
 *
 *   fold-bn        Conv -> BatchNormalization becomes one Conv (weights and
 *                  bias scaled in double precision)
 *   quantize       --quantize int8 only: calibrate on the samples, then
 *                  write QuantizeLinear/DequantizeLinear pairs and int8
 *                  weights into the graph (pass_quantize.c)
 *   fuse-add       Conv -> Add (the residual) becomes one Conv whose store
 *                  adds the other operand
 *   fuse-act       Conv/Gemm -> Relu | Clip | LeakyRelu becomes one step
 *   qdq            DequantizeLinear -> Conv/Add/MaxPool/GlobalAveragePool/
 *                  Gemm/views -> QuantizeLinear
 *                  becomes an int8 operator (pass_qdq.c)
 *   io-int8        --io int8 only: a graph input read through one
 *                  QuantizeLinear, or an output made by a DequantizeLinear,
 *                  is passed as its quantized tensor (pass_io.c)
 *   views          Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze
 *                  share their input's memory instead of copying it
 *   inplace        a fused residual Add writes over the operand it adds
 *                  when that operand dies there
 */
#ifndef RESNETC_PASSES_H
#define RESNETC_PASSES_H

#include <stdio.h>

#include "ir.h"

typedef struct {
	const char *name;
	const char *what;
	int (*run)(Graph *g, Diag *d);
} Pass;

extern const Pass passes[];
extern const int n_passes;

/* --quantize int8: how the quantize pass calibrates (g->quantize). */
enum { CALIB_MINMAX = 0, CALIB_PERCENTILE, CALIB_ENTROPY, CALIB_COUNT };
typedef struct QuantizeOptions {
	const char *const *calib; /* one .npy of samples per graph input */
	int n_calib;
	int method;               /* CALIB_* */
	/* called after each calibration run (done of total); may be NULL */
	void (*progress)(void *ctx, int64_t done, int64_t total);
	void *ctx;
} QuantizeOptions;
const char *calib_method_name(int method);
int calib_method_find(const char *name); /* -1 if unknown */

/* info --quantize: each quantized activation t of gq (the int8 graph,
 * finished) against the float tensor it stands for (tensors[t].twin), in
 * gf (the same model after fold-bn alone), over the first max_samples of
 * o's samples, both graphs run on the host: sqnr[t] = 10 log10(sum ref^2 /
 * sum (ref - dequantized)^2) dB, INFINITY if equal, NAN where t has none.
 * sqnr has gq->n_tensors entries. */
int quantize_sqnr(const Graph *gq, const Graph *gf, const QuantizeOptions *o, int max_samples, double *sqnr,
		  Diag *d);

int pass_fold_bn(Graph *g, Diag *d);
int pass_quantize(Graph *g, Diag *d);
int pass_fuse_add(Graph *g, Diag *d);
int pass_fuse_act(Graph *g, Diag *d);
int pass_qdq(Graph *g, Diag *d);
int pass_io_int8(Graph *g, Diag *d);
int pass_views(Graph *g, Diag *d);
int pass_inplace(Graph *g, Diag *d);

/* The most passes there are: the size of enabled[] and PassLog arrays. */
#define PASS_MAX 16

/* What one pass changed. */
typedef struct {
	const char *name;
	int enabled;
	int nodes_before, nodes_after;
	int shared_before, shared_after; /* tensors using another's memory */
	const char *removed_op[16];      /* ops whose nodes the pass removed */
	int removed_count[16], n_removed;
	double seconds;
} PassResult;

/* A record of a run: what each pass did (info --json and --passes,
 * compile -v), and optionally the op counts after each one. */
typedef struct {
	FILE *histogram;          /* in: if set, "imported", then each pass's line
				   * of node counts per op is printed there */
	PassResult pass[PASS_MAX]; /* out: one per entry of passes[] */
} PassLog;

/* Runs the passes whose enabled[i] is set, in order. log may be NULL
 * (nothing recorded). Returns 0, or -1 with d set by the failing pass. */
int run_passes(Graph *g, const int *enabled, PassLog *log, Diag *d);

/* ---- helpers for passes (passes.c) ---- */
/* Redoes lowering of one node after a pass changed it. */
int relower(Graph *g, Node *n, Diag *d);
/* Number of live nodes reading tensor t (graph outputs count as readers). */
int consumers(const Graph *g, int t);
/* The live node producing t, or NULL. */
Node *producer(Graph *g, int t);

#endif
