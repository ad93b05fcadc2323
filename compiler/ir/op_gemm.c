/* Gemm and MatMul. */
#include "ops.h"

#include <string.h>

int lower_gemm(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 2, 2, d) || need_input(g, n, 1, RN_F32, 2, 2, d))
		return -1;
	Tensor *a = node_input(g, n, 0), *b = node_input(g, n, 1), *c = node_input(g, n, 2);
	int ta = (int)attr_int(n, "transA", 0), tb = (int)attr_int(n, "transB", 0);
	int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
	int64_t kb = tb ? b->dims[1] : b->dims[0], nn = tb ? b->dims[0] : b->dims[1];
	if (k != kb)
		return node_error(d, n, "inner dimensions differ: A gives %lld, B gives %lld", (long long)k, (long long)kb);
	Step *s = node_add_step(n, K_GEMM);
	rn_gemm_params *p = &s->p.gemm;
	*p = (rn_gemm_params){.m = m, .n = nn, .k = k, .trans_a = ta, .trans_b = tb,
			      .alpha = attr_float(n, "alpha", 1.0f), .beta = attr_float(n, "beta", 1.0f),
			      .act = n->act, .act_alpha = n->act_alpha, .act_beta = n->act_beta};
	if (c) {
		if (c->dtype != RN_F32 || c->rank > 2)
			return node_error(d, n, "C '%s' must be float32 of rank 0 to 2", c->name);
		int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
		if ((cm != 1 && cm != m) || (cn != 1 && cn != nn))
			return node_error(d, n, "C '%s' cannot be broadcast to %lldx%lld", c->name, (long long)m, (long long)nn);
		p->c_sm = cm == 1 ? 0 : cn;
		p->c_sn = cn == 1 ? 0 : 1;
	}
	int64_t od[2] = {m, nn};
	set_output(g, n, 0, RN_F32, 2, od);
	s->in[0] = n->in[0];
	s->in[1] = n->in[1];
	s->in[2] = c ? n->in[2] : -1;
	s->n_in = 3;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}

int matmul_geometry(Node *n, const Tensor *a, const Tensor *b, rn_matmul_params *p, int64_t *od,
		    int *rank, Diag *d)
{
	int ra = a->rank, rb = b->rank;
	int64_t m = ra == 1 ? 1 : a->dims[ra - 2], k = a->dims[ra - 1];
	int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2], nn = rb == 1 ? 1 : b->dims[rb - 1];
	if (k != kb)
		return node_error(d, n, "inner dimensions differ: '%s' gives %lld, '%s' gives %lld", a->name,
				  (long long)k, b->name, (long long)kb);
	int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
	int br = ba > bb ? ba : bb;
	memset(p, 0, sizeof *p);
	p->batch_rank = br;
	p->m = m;
	p->n = nn;
	p->k = k;
	int64_t stra = m * k, strb = k * nn;
	for (int i = br - 1; i >= 0; i--) {
		int ia = i - (br - ba), ib = i - (br - bb);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1)
			return node_error(d, n, "batch dimensions %lld and %lld cannot be broadcast", (long long)da, (long long)db);
		p->batch[i] = da == 1 ? db : da;
		p->sa[i] = da == 1 ? 0 : stra;
		p->sb[i] = db == 1 ? 0 : strb;
		stra *= da;
		strb *= db;
		od[i] = p->batch[i];
	}
	int r = br;
	if (ra > 1)
		od[r++] = m;
	if (rb > 1)
		od[r++] = nn;
	*rank = r;
	return 0;
}

int lower_matmul(Graph *g, Node *n, Diag *d)
{
	if (need_input(g, n, 0, RN_F32, 1, IR_MAX_RANK, d) || need_input(g, n, 1, RN_F32, 1, IR_MAX_RANK, d))
		return -1;
	Tensor *a = node_input(g, n, 0), *b = node_input(g, n, 1);
	Step *s = node_add_step(n, K_MATMUL);
	int64_t od[IR_MAX_RANK];
	int r;
	if (matmul_geometry(n, a, b, &s->p.matmul, od, &r, d))
		return -1;
	set_output(g, n, 0, RN_F32, r, od);
	s->in[0] = n->in[0];
	s->in[1] = n->in[1];
	s->n_in = 2;
	s->out[0] = n->out[0];
	s->n_out = 1;
	return 0;
}
