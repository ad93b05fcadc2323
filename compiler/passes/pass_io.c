/* io-int8: with --io int8, the generated API takes and returns quantized
 * tensors where the model has them at its edges:
 *
 *   input x -> QuantizeLinear -> q     the input becomes q (the caller's
 *                                      uint8/int8 data); the node goes
 *   p -> DequantizeLinear -> output y  the output becomes p; the node goes
 *                                      unless something else reads y
 *
 * Each such input and output records its scale and zero point
 * (g->in_q / g->out_q: real = (q - zero_point) * scale), which NAME.h
 * prints. Only per-tensor uint8/int8 quantizations with constant
 * parameters qualify. Every input must: an input that the model reads in
 * float (not only through one QuantizeLinear) is an error that says why.
 * An output the model computes in float (a Gemm with no QuantizeLinear
 * after it, say) stays float. */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* n's per-tensor quantization: scale, zero point and quantized type. */
static int q_params(const Graph *g, const Node *n, int qside, IoQuant *q)
{
	if (n->n_in < 2 || n->in[1] < 0 || attr_int(n, "block_size", 0))
		return 0;
	const Tensor *s = &g->tensors[n->in[1]];
	const Tensor *z = n->n_in > 2 && n->in[2] >= 0 ? &g->tensors[n->in[2]] : NULL;
	const Tensor *t = &g->tensors[qside];
	if (s->kind != T_CONST || s->dtype != RN_F32 || tensor_numel(s) != 1)
		return 0;
	if (z && (z->kind != T_CONST || tensor_numel(z) != 1))
		return 0;
	if (t->dtype != RN_U8 && t->dtype != RN_I8)
		return 0;
	q->quantized = 1;
	q->scale = *(const float *)s->data;
	q->zero_point = !z ? 0 : t->dtype == RN_U8 ? *(const uint8_t *)z->data : *(const int8_t *)z->data;
	return 1;
}

/* The one live node reading t, or NULL (none, or more than one). */
static Node *only_reader(Graph *g, int t)
{
	Node *found = NULL;
	for (int i = 0; i < g->n_nodes; i++) {
		Node *n = &g->nodes[i];
		for (int j = 0; !n->dead && j < n->n_in; j++)
			if (n->in[j] == t || n->residual == t) {
				if (found && found != n)
					return NULL;
				found = n;
			}
	}
	return found;
}

int pass_io_int8(Graph *g, Diag *d)
{
	if (!g->io_int8)
		return 0;
	g->in_q = xcalloc(g->n_inputs > 0 ? g->n_inputs : 1, sizeof *g->in_q);
	g->out_q = xcalloc(g->n_outputs > 0 ? g->n_outputs : 1, sizeof *g->out_q);
	for (int i = 0; i < g->n_inputs; i++) {
		int x = g->inputs[i];
		Tensor *tx = &g->tensors[x];
		Node *n = tx->is_output ? NULL : only_reader(g, x);
		const char *why = NULL;
		if (tx->is_output)
			why = "it is an output too";
		else if (!n)
			why = "several nodes read it (or none)";
		else if (strcmp(n->op_type, "QuantizeLinear") || n->in[0] != x)
			why = "a node other than QuantizeLinear reads it";
		else if (!q_params(g, n, n->out[0], &g->in_q[i]))
			why = "its QuantizeLinear has no constant per-tensor uint8/int8 scale and zero point";
		if (why)
			return diag_set(d, "--io int8: input '%s' cannot be passed quantized: %s%s%s%s (a float "
					   "model needs --quantize int8)",
					tx->name, why, n ? " ('" : "", n ? n->name : "", n ? "')" : "");
		int q = n->out[0];
		Tensor *tq = &g->tensors[q];
		n->dead = 1;
		tq->kind = T_INPUT;
		tq->producer = -1;
		tx->kind = T_ACT; /* read by nothing now: no storage */
		g->inputs[i] = q;
	}
	for (int i = 0; i < g->n_outputs; i++) {
		int y = g->outputs[i];
		Tensor *ty = &g->tensors[y];
		Node *n = ty->producer >= 0 ? &g->nodes[ty->producer] : NULL;
		if (!n || n->dead || strcmp(n->op_type, "DequantizeLinear") || n->in[0] < 0 ||
		    g->tensors[n->in[0]].kind != T_ACT || g->tensors[n->in[0]].is_output)
			continue;
		int p = n->in[0];
		if (!q_params(g, n, p, &g->out_q[i]))
			continue;
		ty->is_output = 0;
		g->tensors[p].is_output = 1;
		g->outputs[i] = p;
		if (consumers(g, y) == 0)
			n->dead = 1;
	}
	return 0;
}
