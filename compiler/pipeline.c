#include "pipeline.h"

#include <string.h>

#include "info.h"
#include "ops.h"

const char *const pipeline_phase_names[PHASE_COUNT] = {"load", "lower", "passes", "kernels", "plan"};

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int pipeline_is_yaml(const char *model)
{
	return has_suffix(model, ".yaml") || has_suffix(model, ".yml");
}

static void phase(const PipelineOptions *o, Pipeline *p, PipelinePhase ph, int done)
{
	p->phase = ph;
	if (o->callback)
		o->callback(o->ctx, p, ph, done);
}

int pipeline_run(const PipelineOptions *o, Pipeline *p, Diag *d)
{
	memset(p, 0, sizeof *p);
	int yaml = pipeline_is_yaml(o->model);
	p->model = o->model;
	p->format = yaml ? "yaml" : "onnx";

	phase(o, p, PHASE_LOAD, 0);
	p->g = yaml ? yaml_import(o->model, o->import, d) : onnx_import(o->model, o->import, d);
	if (!p->g)
		return -1;
	p->g->quantize = o->quantize;
	p->g->io_int8 = o->io_int8;
	phase(o, p, PHASE_LOAD, 1);

	phase(o, p, PHASE_LOWER, 0);
	if (lower_graph(p->g, d) != 0)
		return -1;
	p->params_imported = graph_params(p->g);
	phase(o, p, PHASE_LOWER, 1);

	phase(o, p, PHASE_PASSES, 0);
	int all[PASS_MAX];
	for (int i = 0; i < PASS_MAX; i++)
		all[i] = 1;
	int en[PASS_MAX];
	memcpy(en, o->enabled ? o->enabled : all, sizeof en);
	/* asked for, quantization happens whatever -O0 or --disable say */
	for (int i = 0; i < n_passes; i++)
		en[i] |= (o->quantize && passes[i].run == pass_quantize) ||
			 (o->io_int8 && passes[i].run == pass_io_int8);
	p->nodes_before_passes = graph_live_nodes(p->g);
	p->passes.histogram = o->histogram;
	if (run_passes(p->g, en, &p->passes, d) != 0)
		return -1;
	p->passes.histogram = NULL;
	if (o->histogram)
		fputc('\n', o->histogram);
	phase(o, p, PHASE_PASSES, 1);
	if (o->stop_after_passes)
		return 0;

	phase(o, p, PHASE_KERNELS, 0);
	if (select_kernels(p->g, o->cg, d) != 0)
		return -1;
	phase(o, p, PHASE_KERNELS, 1);

	phase(o, p, PHASE_PLAN, 0);
	if (plan_memory(p->g, &p->plan, d) != 0)
		return -1;
	phase(o, p, PHASE_PLAN, 1);
	return 0;
}

const char *pipeline_error_sep(const Pipeline *p, const Diag *d)
{
	int located = (p->phase == PHASE_LOAD || p->phase == PHASE_LOWER) && d->msg[0] >= '0' && d->msg[0] <= '9';
	return located ? ":" : ": ";
}

void pipeline_free(Pipeline *p)
{
	graph_free(p->g);
	p->g = NULL;
}
