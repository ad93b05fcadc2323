/*
 * The compile pipeline every command shares: a model file in, a lowered,
 * optimized, kernel-selected and planned Graph out.
 *
 *   load      onnx_import or yaml_import, by the file's extension
 *   lower     shapes inferred, every node lowered to Steps, constants folded
 *   passes    run_passes (the enabled ones), with a record per pass
 *   kernels   select_kernels: each convolution's algorithm, weights packed
 *   plan      plan_memory: the arena and each tensor's place in it
 *
 * With stop_after_passes the run ends after the passes (resnetc quantize:
 * the graph is written back as ONNX, so no kernels and no plan). What
 * happens after (emitting C, printing a report, drawing the graph, writing
 * ONNX) is the caller's. Nothing here prints but the op histogram asked
 * for; the caller follows the phases through a callback (the CLI's
 * progress lines).
 */
#ifndef RESNETC_PIPELINE_H
#define RESNETC_PIPELINE_H

#include <stdio.h>

#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "plan.h"
#include "target.h"

typedef enum { PHASE_LOAD, PHASE_LOWER, PHASE_PASSES, PHASE_KERNELS, PHASE_PLAN, PHASE_COUNT } PipelinePhase;

/* "load", "lower", "passes", "kernels", "plan" */
extern const char *const pipeline_phase_names[PHASE_COUNT];

typedef struct {
	const char *model;      /* the path given */
	Graph *g;               /* set once loaded; owned (pipeline_free) */
	const char *format;     /* "onnx" | "yaml" */
	int64_t params_imported; /* parameters after lowering, before the passes */
	int nodes_before_passes;
	PassLog passes;         /* what each pass did */
	PlanStats plan;
	PipelinePhase phase;    /* the phase running, or the one that failed */
} Pipeline;

/* Called as each phase starts (done 0) and after it succeeded (done 1);
 * p holds everything the phases so far produced. */
typedef void (*PipelineCallback)(void *ctx, const Pipeline *p, PipelinePhase phase, int done);

typedef struct {
	const char *model;             /* .onnx, or .yaml / .yml (+ .safetensors) */
	const ImportOptions *import;   /* --input-shape, --bind; NULL: none */
	const int *enabled;            /* n_passes flags (passes[]); NULL: every pass */
	const CodegenOptions *cg;      /* for select_kernels (unused with
					* stop_after_passes) */
	const QuantizeOptions *quantize; /* --quantize int8, or NULL */
	int io_int8;                   /* --io int8: quantized inputs and outputs
					* as they are (the io-int8 pass) */
	int stop_after_passes;         /* 1: end after the passes: no kernel
					* selection, no plan (p->plan stays
					* zero); p->g is the graph the passes
					* left, its nodes lowered to host steps */
	FILE *histogram;               /* info --passes: op counts per pass, and
					* an empty line after them; NULL: none */
	PipelineCallback callback;     /* NULL: none */
	void *ctx;
} PipelineOptions;

/* The model is a YAML description (.yaml, .yml) rather than ONNX. */
int pipeline_is_yaml(const char *model);

/* Runs the phases in order (up to the passes with stop_after_passes).
 * Returns 0 with p->g the finished graph, or -1 with d set and p->phase
 * the phase that failed; either way the caller ends with pipeline_free(p).
 * d's message does not name the model: print it after o->model and
 * pipeline_error_sep(p, d). */
int pipeline_run(const PipelineOptions *o, Pipeline *p, Diag *d);

/* What joins the model's name and a failure message: ":" for a place in
 * the file ("7:10: ..." from the YAML front end), else ": ". */
const char *pipeline_error_sep(const Pipeline *p, const Diag *d);

void pipeline_free(Pipeline *p);

#endif
