/*
 * Kernel selection: after the passes, each convolution with constant
 * weights gets the algorithm expected to be fastest for its shape (or the
 * one --conv direct / --gemm openblas asks for), and its weights and bias
 * are packed for that algorithm at compile time (rn_conv2d_pack, the same
 * runtime code the generated model links). The step becomes
 * K_CONV2D_PACKED with the packed tensor and the scratch it needs.
 */
#include "target.h"

#include "lower.h"
#include "ops.h"

static int pick_algo(const rn_conv2d_params *p, const CodegenOptions *o)
{
	if (o->direct)
		return RN_CONV_DIRECT;
	if (o->blas && rn_conv2d_supports(RN_CONV_BLAS, p))
		return RN_CONV_BLAS;
	if (rn_conv2d_supports(RN_CONV_DEPTHWISE, p))
		return RN_CONV_DEPTHWISE;
	/* Winograd F(4x4,3x3) does 4x fewer multiplications than direct 3x3,
	 * but its weights are 4x larger (36 points per 9) and each is used once
	 * per 4x4 tile, against once per output position for GEMM: with few
	 * tiles it streams weights instead of computing. F(2x2,3x3) saves 2.25x
	 * with weights 16/9 as large, used once per 2x2 tile. Measured on
	 * ResNet-50's layers in the whole model (AVX-512, one thread): 14x14
	 * outputs (16 tiles of 4x4) F(4x4) 165 effective GFLOP/s against GEMM's
	 * 115; 7x7 (4 tiles of 4x4, 16 of 2x2) F(4x4) 72, GEMM 99, F(2x2) 150.
	 * Both need enough channels for their transforms to pay off. */
	int size = o->size < 0 ? o->target->small : o->size;
	if (size && rn_conv2d_supports(RN_CONV_GEMM, p))
		return RN_CONV_GEMM; /* --optimize size: the weights as they are (16-row panels) */
	int64_t tiles4 = (int64_t)p->n * ((p->oh + 3) / 4) * ((p->ow + 3) / 4);
	int64_t tiles2 = (int64_t)p->n * ((p->oh + 1) / 2) * ((p->ow + 1) / 2);
	if (rn_conv2d_supports(RN_CONV_WINOGRAD, p) && p->c >= 16 && p->m >= 16) {
		if (tiles4 >= 16 && p->oh >= 4 && p->ow >= 4)
			return RN_CONV_WINOGRAD;
		if (tiles2 >= 16)
			return RN_CONV_WINOGRAD_F2;
	}
	if (rn_conv2d_supports(RN_CONV_GEMM, p))
		return RN_CONV_GEMM;
	return RN_CONV_DIRECT;
}

/* An int8 convolution (K_QCONV, from the qdq pass) with weights packed
 * for rn_qconv2d_packed, where that supports the shape; else it stays on
 * rn_qconv2d_direct. */
static void select_qconv(Graph *g, Node *n, int k, const CodegenOptions *o)
{
	Step *s = &n->steps[k];
	if (o->direct || !rn_qconv2d_supports(&s->p.qconvi))
		return;
	const Tensor *w = &g->tensors[s->in[1]], *b = &g->tensors[s->in[2]], *m = &g->tensors[s->in[3]];
	if (w->kind != T_CONST || b->kind != T_CONST || m->kind != T_CONST)
		return;
	int64_t bytes = (int64_t)rn_qconv2d_packed_size(&s->p.qconvi);
	void *packed = xcalloc((size_t)bytes, 1);
	rn_qconv2d_pack(&s->p.qconvi, w->data, b->data, m->data, packed);
	int t = add_const(g, n, "packed", RN_U8, 1, &bytes, packed);
	s = &n->steps[k];
	s->kernel = K_QCONV_PACKED;
	s->in[1] = t;
	s->in[2] = s->in[3] = -1;
	s->scratch = 0;
	for (int th = 1; th <= o->threads; th++) {
		int64_t need = (int64_t)rn_qconv2d_scratch_size(&s->p.qconvi, th);
		s->scratch = need > s->scratch ? need : s->scratch;
	}
}

int select_kernels(Graph *g, const CodegenOptions *o, Diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		for (int k = 0; !n->dead && k < n->n_steps; k++) {
			Step *s = &n->steps[k];
			if (s->kernel == K_QCONV)
				select_qconv(g, n, k, o);
			if (s->kernel != K_CONV2D)
				continue;
			const Tensor *w = &g->tensors[s->in[1]];
			const Tensor *b = s->in[2] >= 0 ? &g->tensors[s->in[2]] : NULL;
			if (w->kind != T_CONST || (b && b->kind != T_CONST))
				continue;
			int algo = pick_algo(&s->p.conv, o);
			if (algo == RN_CONV_DIRECT)
				continue;
			size_t bytes = rn_conv2d_packed_size(algo, &s->p.conv);
			int64_t count = (int64_t)((bytes + sizeof(float) - 1) / sizeof(float));
			float *packed = xcalloc((size_t)count, sizeof(float));
			rn_conv2d_pack(algo, &s->p.conv, w->data, b ? b->data : NULL, packed);
			int t = add_const(g, n, "packed", RN_F32, 1, &count, packed);
			s = &n->steps[k];
			s->kernel = K_CONV2D_PACKED;
			s->algo = algo;
			s->in[1] = t;
			s->in[2] = -1;
			/* NAME_set_threads runs the model on any count up to the
			 * compiled one, and a kernel's plan (so its scratch) changes
			 * with the count: size for the largest of them. */
			s->scratch = 0;
			for (int th = 1; th <= o->threads; th++) {
				int64_t need = (int64_t)rn_conv2d_scratch_size(algo, &s->p.conv, th);
				s->scratch = need > s->scratch ? need : s->scratch;
			}
		}
	}
	return 0;
}
