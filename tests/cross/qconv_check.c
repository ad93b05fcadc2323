/*
 * qconv_check: the int8 convolution's packed kernels (rn_qconv2d_packed)
 * against their definition (rn_qconv2d_direct), byte for byte, for a cross
 * build that runs under qemu-user (tests/cross/run_cross.sh builds it with
 * each architecture's compiler and flags, the runtime's sources beside it).
 * The shapes meet the panel's paths (1x1 read in place, strided, padded
 * 3x3, the stem, tails of pixels and channels); the weights each packed
 * layout (uniform int8: some pairs unsafe, k-pairs or the mixed layout;
 * within [-64, 64]: every pair safe, k-quads); input, output and residual
 * types and zero points vary. Prints one line; exits 1 at the first
 * difference, naming it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h"

static uint64_t rng = 0x2545f4914f6cdd1du;
static int draw(int lo, int hi)
{
	rng = rng * 6364136223846793005u + 1442695040888963407u;
	return lo + (int)((rng >> 33) % (uint64_t)(hi - lo + 1));
}

typedef struct {
	int c, h, w, m, k, s, pad;
} shape;

static const shape shapes[] = {
	{ 16, 7, 7, 32, 1, 1, 0 },  { 13, 5, 9, 20, 1, 1, 0 },  { 32, 14, 14, 48, 1, 2, 0 },
	{ 16, 14, 14, 32, 3, 1, 1 }, { 17, 7, 7, 33, 3, 1, 1 },  { 24, 9, 9, 40, 3, 2, 1 },
	{ 3, 32, 30, 16, 7, 2, 3 },  { 8, 11, 5, 8, 3, 1, 2 },   { 64, 6, 6, 64, 3, 1, 1 },
};

static int check(const shape *sh, int wide, int v)
{
	rn_qconv2d_params p;
	memset(&p, 0, sizeof p);
	rn_conv2d_params *c = &p.conv;
	c->n = 1, c->c = sh->c, c->h = sh->h, c->w = sh->w, c->m = sh->m, c->kh = c->kw = sh->k;
	c->sh = c->sw = sh->s, c->dh = c->dw = 1, c->pt = c->pl = sh->pad, c->group = 1;
	c->oh = (sh->h + 2 * sh->pad - sh->k) / sh->s + 1;
	c->ow = (sh->w + 2 * sh->pad - sh->k) / sh->s + 1;
	p.x_dtype = v & 1 ? RN_I8 : RN_U8;
	p.y_dtype = v & 2 ? RN_I8 : RN_U8;
	p.r_dtype = v & 4 ? RN_I8 : RN_U8;
	p.x_zp = p.x_dtype == RN_I8 ? draw(-128, 127) : draw(0, 255);
	p.y_zp = p.y_dtype == RN_I8 ? draw(-20, 20) : draw(0, 40);
	p.r_zp = p.r_dtype == RN_I8 ? draw(-10, 10) : draw(0, 20);
	p.lo = v & 8 ? p.y_zp : (p.y_dtype == RN_I8 ? -128 : 0);
	p.hi = p.y_dtype == RN_I8 ? 127 : 255;
	p.has_residual = v % 3 == 0;
	p.r_mult = 0.37f;
	const size_t k = (size_t)c->c * c->kh * c->kw, nx = (size_t)c->c * c->h * c->w;
	const size_t ny = (size_t)c->m * c->oh * c->ow;
	int8_t *w = malloc(k * (size_t)c->m);
	int32_t *bias = malloc(sizeof(int32_t) * (size_t)c->m);
	float *mult = malloc(sizeof(float) * (size_t)c->m);
	uint8_t *x = malloc(nx), *r = malloc(ny), *ref = malloc(ny), *y = malloc(ny);
	size_t pb = rn_qconv2d_packed_size(&p), sb = rn_qconv2d_scratch_size(&p, 1);
	void *packed = aligned_alloc(RN_ALIGN, (pb + RN_ALIGN - 1) / RN_ALIGN * RN_ALIGN);
	void *scratch = aligned_alloc(RN_ALIGN, (sb + RN_ALIGN - 1) / RN_ALIGN * RN_ALIGN);
	if (!w || !bias || !mult || !x || !r || !ref || !y || !packed || !scratch || !pb || !sb) {
		fprintf(stderr, "qconv_check: out of memory or an unsupported case\n");
		exit(1);
	}
	for (size_t i = 0; i < k * (size_t)c->m; i++)
		w[i] = (int8_t)(wide ? draw(-128, 127) : draw(-64, 64));
	for (int i = 0; i < c->m; i++) {
		bias[i] = draw(-3000, 3000);
		mult[i] = 0.0004f * (float)draw(1, 60);
	}
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)draw(0, 255);
	for (size_t i = 0; i < ny; i++)
		r[i] = (uint8_t)draw(0, 255);
	rn_qconv2d_direct(&p, x, w, bias, mult, p.has_residual ? r : NULL, ref);
	rn_qconv2d_pack(&p, w, bias, mult, packed);
	uint32_t layout;
	memcpy(&layout, packed, sizeof layout);
	int rc = rn_qconv2d_packed(&p, x, packed, p.has_residual ? r : NULL, y, scratch, sb, NULL);
	for (size_t i = 0; rc == RN_OK && i < ny; i++)
		if (y[i] != ref[i]) {
			fprintf(stderr, "qconv_check: %dx%dx%d -> %d, %dx%d/%d pad %d, variant %d, layout %u: output %zu is %d, "
				"direct %d\n", sh->c, sh->h, sh->w, sh->m, sh->k, sh->k, sh->s, sh->pad, v, layout, i, y[i],
				ref[i]);
			rc = -1;
			break;
		}
	if (rc > 0)
		fprintf(stderr, "qconv_check: rn_qconv2d_packed returned %d\n", rc);
	free(w), free(bias), free(mult), free(x), free(r), free(ref), free(y), free(packed), free(scratch);
	return rc == RN_OK ? (int)layout : -1;
}

int main(void)
{
	int cases = 0, seen[3] = { 0 };
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		for (int wide = 0; wide < 2; wide++)
			for (int v = 0; v < 16; v += 5) {
				int layout = check(&shapes[i], wide, (int)i + v);
				if (layout < 0)
					return 1;
				seen[layout < 3 ? layout : 0]++;
				cases++;
			}
	printf("qconv_check: %d cases, packed == direct (layouts: %d k-pairs, %d k-quads, %d mixed)\n", cases, seen[0],
	       seen[1], seen[2]);
	return seen[0] && seen[1] ? 0 : 1;
}
