/*
 * Reports about a lowered, planned graph: `resnetc info` (a table, or JSON
 * for scripts) and the per-layer facts `resnetc graph` draws.
 * Nothing here exits; printing goes to the FILE given.
 */
#ifndef RESNETC_INFO_H
#define RESNETC_INFO_H

#include <stdio.h>

#include "ir.h"
#include "passes.h"
#include "plan.h"

/* Multiply-accumulates of node n (convolutions and matrix products). */
int64_t node_macs(const Graph *g, const Node *n);
/* Elements of n's floating-point constant inputs (weights and biases). */
int64_t node_params(const Graph *g, const Node *n);
/* Bytes of constants n's steps read: weights as stored in the output,
 * packed for the layer's kernel. */
int64_t node_weight_bytes(const Graph *g, const Node *n);
/* The node runs code (it is live and not only a view). */
int node_has_code(const Graph *g, const Node *n);
/* "Conv+Add+Relu": the op and what fusion folded into it. */
const char *node_fused_op(const Node *n, char *buf, size_t len);
/* The kernel the node's first step calls ("winograd F(4x4,3x3)",
 * "rn_gemm_f32"), "view (no code)" or "-". */
const char *node_kernel(const Graph *g, const Node *n);

/* 174410 -> "174K", 20181760 -> "20.2M" */
const char *fmt_count(double v, char *buf, size_t len);
/* 1234 -> "1.2 KiB", 2462720 -> "2.35 MiB" */
const char *fmt_bytes(int64_t b, char *buf, size_t len);
/* 174410 -> "174,410" */
const char *fmt_thousands(int64_t v, char *buf, size_t len);

int64_t graph_params(const Graph *g);
int64_t graph_macs(const Graph *g);
int64_t graph_weight_bytes(const Graph *g);
int graph_live_nodes(const Graph *g);

typedef struct {
	const char *model;        /* the path given */
	const char *format;       /* "onnx" | "yaml" */
	int64_t params_imported;  /* before the passes */
	const PassResult *passes; /* n_passes entries, or NULL */
	const double *sqnr;       /* per tensor: its SQNR in dB against the float
				   * model (quantize_sqnr), or NULL */
	int sqnr_samples;         /* the most samples it was measured on */
	int threads;              /* --threads: which runtime files the output carries */
} InfoContext;

/* The driver binary's size, predicted: the weights as stored, plus the code
 * of the runtime files the model calls (their sizes as this resnetc's own
 * build compiled them), of the driver and of the model's own steps.
 * *code gets the code part. */
int64_t predicted_binary_bytes(const Graph *g, int threads, int64_t *code);

void print_info(FILE *f, const Graph *g, const PlanStats *st, const InfoContext *c);
/* The same facts as JSON (fields documented in README.md). */
void print_info_json(FILE *f, const Graph *g, const PlanStats *st, const InfoContext *c);

#endif
