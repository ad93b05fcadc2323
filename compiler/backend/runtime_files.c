/*
 * Which runtime sources a model's output folder carries: the files that
 * define what its steps call, and the files those call in turn. A float
 * model's folder has no int8 kernels, a model without depthwise layers no
 * depthwise code, a one-thread model no thread pool, and so on.
 *
 * rt_deps lists each runtime file's link dependencies (the rn_ functions
 * it calls that other files define). They are the same on every ISA the
 * runtime is built for; tests/cli/check_runtime_deps.sh compares this
 * table with the symbols of the built objects, so a new call between
 * files cannot be forgotten here.
 *
 * conv/conv_pack.c dispatches to every convolution algorithm; the folder
 * leaves out the algorithms no layer uses, and its Makefile defines
 * RN_OMIT_CONV_<ALGO> for each so that the dispatch does not call them.
 */
#include <string.h>

#include "emit_internal.h"
#include "lower.h"
#include "runtime_files.h"

#include "resnetc/runtime.h"

typedef struct {
	const char *file;
	const char *needs[4];
} RtDep;

/* BEGIN rt_deps (file, the files it calls; read by tests/cli/check_runtime_deps.sh) */
static const RtDep rt_deps[] = {
	{ "conv/conv.c", { "gemm/epilogue.c", "gemm/gemm.c" } },
	{ "conv/conv_blas.c", { "conv/conv.c" } },
	{ "conv/conv_depthwise.c", { "threads/parallel.c" } },
	{ "conv/conv_gemm.c",
	  { "conv/conv_gemm_im2col.c", "conv/conv_gemm_plan.c", "elementwise/unary.c", "threads/parallel.c" } },
	{ "conv/conv_pack.c", { "threads/parallel.c" } },
	{ "conv/conv_winograd.c", { "threads/parallel.c" } },
	{ "elementwise/binary.c", { "core/dtype.c" } },
	{ "elementwise/cast.c", { "core/dtype.c" } },
	{ "gemm/epilogue.c", { "elementwise/unary.c" } },
	{ "gemm/fc.c", { "gemm/epilogue.c", "threads/parallel.c" } },
	{ "gemm/gemm.c", { "gemm/epilogue.c", "gemm/fc.c" } },
	{ "pool/pool.c", { "threads/parallel.c" } },
	{ "quant/qconv_packed.c", { "threads/parallel.c" } },
	{ "quant/qlinear_ref.c", { "threads/parallel.c" } },
	{ "threads/threadpool.c", { "threads/parallel.c" } },
};
/* END rt_deps */

/* Each convolution algorithm (RN_CONV_*): its macro and the file its
 * dispatch calls (conv_pack.c). */
static const struct {
	int algo;
	const char *omit;
	const char *files[2];
} conv_algos[] = {
	{ RN_CONV_DIRECT, "RN_OMIT_CONV_DIRECT", { "conv/conv.c" } },
	{ RN_CONV_GEMM, "RN_OMIT_CONV_GEMM", { "conv/conv_gemm.c", "conv/conv_gemm_plan.c" } },
	{ RN_CONV_WINOGRAD, "RN_OMIT_CONV_WINOGRAD", { "conv/conv_winograd.c" } },
	{ RN_CONV_WINOGRAD_F2, "RN_OMIT_CONV_WINOGRAD_F2", { "conv/conv_winograd.c" } },
	{ RN_CONV_DEPTHWISE, "RN_OMIT_CONV_DEPTHWISE", { "conv/conv_depthwise.c" } },
	{ RN_CONV_BLAS, "RN_OMIT_CONV_BLAS", { "conv/conv_blas.c" } },
};
#define N_ALGOS ((int)(sizeof conv_algos / sizeof conv_algos[0]))

/* The file defining kernel k's function; NULL for none (views, memcpy). */
static const char *kernel_file(int k)
{
	switch (k) {
	case K_COPY2D: case K_TRANSPOSE: case K_PAD: case K_SLICE: case K_GATHER:
		return "tensor/data.c";
	case K_CONV2D:
		return "conv/conv.c";
	case K_CONV2D_PACKED:
		return "conv/conv_pack.c";
	case K_POOL:
		return "pool/pool.c";
	case K_GLOBAL_AVG: case K_GLOBAL_MAX: case K_REDUCE_MEAN:
		return "pool/reduce.c";
	case K_SCALE_SHIFT: case K_BATCHNORM:
		return "elementwise/affine.c";
	case K_BINARY:
		return "elementwise/binary.c";
	case K_UNARY:
		return "elementwise/unary.c";
	case K_GEMM: case K_MATMUL:
		return "gemm/gemm.c";
	case K_SOFTMAX:
		return "elementwise/softmax.c";
	case K_CAST:
		return "elementwise/cast.c";
	case K_QUANTIZE: case K_DEQUANTIZE: case K_DYNAMIC_QUANTIZE:
		return "quant/quant.c";
	case K_QLINEAR_CONV: case K_QLINEAR_MATMUL: case K_QGEMM:
		return "quant/qlinear_ref.c";
	case K_QLINEAR_ADD: case K_QLINEAR_GAP:
		return "quant/qlinear_ms.c";
	case K_QCONV:
		return "quant/qconv_direct.c";
	case K_QCONV_PACKED:
		return "quant/qconv_packed.c";
	default:
		return NULL;
	}
}

static int find(const char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return i;
	return -1;
}

/* Adds file and what it calls, once. */
static void add(RuntimeFiles *r, const char *file)
{
	if (!file || find(r->files, r->n_files, file) >= 0 || r->n_files >= RT_MAX_FILES)
		return;
	r->files[r->n_files++] = file;
	for (size_t i = 0; i < sizeof rt_deps / sizeof rt_deps[0]; i++)
		if (!strcmp(rt_deps[i].file, file))
			for (int j = 0; j < 4 && rt_deps[i].needs[j]; j++)
				add(r, rt_deps[i].needs[j]);
}

void runtime_files(const Graph *g, int threads, RuntimeFiles *r)
{
	int used[N_ALGOS] = { 0 };
	memset(r, 0, sizeof *r);
	/* the driver's type names and every model's profile hook */
	add(r, "core/dtype.c");
	add(r, "core/profile.c");
	if (threads > 1)
		add(r, "threads/threadpool.c");
	for (int i = 0; i < g->n_outputs; i++)
		if (g->tensors[g->outputs[i]].kind != T_ACT)
			add(r, "tensor/data.c"); /* an output copied from a constant or input */
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *n = &g->nodes[i];
		for (int s = 0; !n->dead && s < n->n_steps; s++) {
			const Step *st = &n->steps[s];
			/* a fully connected layer: fc.c alone */
			if (step_is_fc(st))
				add(r, "gemm/fc.c");
			else
				add(r, kernel_file(st->kernel));
			if (st->kernel != K_CONV2D_PACKED)
				continue;
			for (int a = 0; a < N_ALGOS; a++)
				if (conv_algos[a].algo == st->algo)
					used[a] = 1;
		}
	}
	for (int a = 0; a < N_ALGOS; a++) {
		if (used[a]) {
			for (int j = 0; j < 2 && conv_algos[a].files[j]; j++)
				add(r, conv_algos[a].files[j]);
		} else if (find(r->files, r->n_files, "conv/conv_pack.c") >= 0) {
			r->omit[r->n_omit++] = conv_algos[a].omit;
		}
	}
}

int runtime_files_has(const RuntimeFiles *r, const char *file)
{
	return find(r->files, r->n_files, file) >= 0;
}
