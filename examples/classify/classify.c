/*
 * classify: a compiled model on image files. Reads PGM or PPM images,
 * prepares each one the way torchvision's usual evaluation transforms do
 *
 *   Resize(R)                 shorter side to R pixels, bilinear with
 *                             antialiasing, as PIL does it (8-bit fixed point)
 *   CenterCrop(H, W)          the model's input size
 *   ToTensor()                pixel / 255
 *   Normalize(mean, std)      (x - mean) / std per channel, in float32
 *
 * runs the model and prints the best classes of each image with their
 * softmax scores. Build it against a folder written by `resnetc compile`:
 *
 *   make -f examples/classify/Makefile MODEL=out/demo     # out/demo/classify
 *
 * (or by hand: cc -O2 -std=c11 -I out/demo -DMODEL=demo -DMODEL_UPPER=DEMO
 *  classify.c out/demo/libdemo.a -lm). Run it with --help.
 *
 * The model must have one float32 input N x C x H x W (C = 1 or 3) and one
 * output whose last dimension are the classes. A grey image given to a
 * 3-channel model is replicated, PIL's convert("RGB"); a colour image given
 * to a 1-channel model is made grey as PIL's convert("L") does.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODEL
#error "build with -DMODEL=<name> -DMODEL_UPPER=<NAME> (examples/classify/Makefile does)"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#include STR(MODEL.h)

#define MODEL_RUN CAT(MODEL, _run)
#define IN_RANK CAT(MODEL_UPPER, _INPUT0_RANK)
#define IN_SHAPE CAT(MODEL_UPPER, _INPUT0_SHAPE)
#define IN_SIZE CAT(MODEL_UPPER, _INPUT0_SIZE)
#define OUT_RANK CAT(MODEL_UPPER, _OUTPUT0_RANK)
#define OUT_SHAPE CAT(MODEL_UPPER, _OUTPUT0_SHAPE)
#define OUT_SIZE CAT(MODEL_UPPER, _OUTPUT0_SIZE)

_Static_assert(CAT(MODEL_UPPER, _NUM_INPUTS) == 1 && CAT(MODEL_UPPER, _NUM_OUTPUTS) == 1,
	       "classify needs a model with one input and one output");
_Static_assert(IN_RANK == 4, "classify needs an N x C x H x W input");

static const int64_t in_shape[4] = IN_SHAPE;
static const int64_t out_shape[OUT_RANK > 0 ? OUT_RANK : 1] = OUT_SHAPE;
static float input[IN_SIZE];
static float output[OUT_SIZE];

static const char *prog = "classify";

static void die(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(const char *file, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: error: ", prog);
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- PGM / PPM (P2, P3, P5, P6) ---- */

typedef struct {
	int w, h, c;       /* c: 1 grey, 3 RGB */
	unsigned char *px; /* h rows of w pixels of c bytes */
} Image;

/* Skips white space and # comments; returns the next byte or EOF. */
static int skip_space(FILE *f)
{
	int ch;
	for (;;) {
		ch = getc(f);
		if (ch == '#')
			while (ch != '\n' && ch != '\r' && ch != EOF)
				ch = getc(f);
		else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\v' && ch != '\f')
			return ch;
	}
}

static long read_number(FILE *f, const char *path, const char *what)
{
	int ch = skip_space(f);
	if (ch < '0' || ch > '9')
		die(path, "bad or missing %s in the header", what);
	long v = 0;
	while (ch >= '0' && ch <= '9') {
		v = v * 10 + (ch - '0');
		if (v > 1 << 24)
			die(path, "%s too large", what);
		ch = getc(f);
	}
	if (ch != EOF)
		ungetc(ch, f);
	return v;
}

static Image read_pnm(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path, "cannot open: %s", strerror(errno));
	int p = getc(f), k = getc(f);
	if (p != 'P' || (k != '2' && k != '3' && k != '5' && k != '6'))
		die(path, "not a PGM or PPM image (P2, P3, P5 or P6)");
	Image im;
	im.c = k == '3' || k == '6' ? 3 : 1;
	im.w = (int)read_number(f, path, "width");
	im.h = (int)read_number(f, path, "height");
	long maxval = read_number(f, path, "maxval");
	if (im.w < 1 || im.h < 1 || (int64_t)im.w * im.h > 1 << 28)
		die(path, "image size %dx%d not supported", im.w, im.h);
	if (maxval < 1 || maxval > 65535)
		die(path, "maxval %ld: must be 1 to 65535", maxval);
	size_t n = (size_t)im.w * im.h * im.c;
	im.px = malloc(n);
	if (!im.px)
		die(path, "out of memory");
	int binary = k == '5' || k == '6';
	if (binary) {
		int ch = getc(f); /* exactly one white space character ends the header */
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			die(path, "header does not end in white space");
	}
	for (size_t i = 0; i < n; i++) {
		long v;
		if (!binary) {
			v = read_number(f, path, "sample");
		} else if (maxval < 256) {
			int ch = getc(f);
			if (ch == EOF)
				die(path, "truncated: %zu of %zu samples", i, n);
			v = ch;
		} else {
			int hi = getc(f), lo = getc(f);
			if (lo == EOF)
				die(path, "truncated: %zu of %zu samples", i, n);
			v = hi << 8 | lo;
		}
		if (v > maxval)
			die(path, "sample %ld above maxval %ld", v, maxval);
		/* other depths scaled to 0..255, rounding to nearest */
		im.px[i] = (unsigned char)(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
	}
	fclose(f);
	return im;
}

/* PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point. */
static void to_grey(Image *im)
{
	size_t n = (size_t)im->w * im->h;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = im->px + 3 * i;
		im->px[i] = (unsigned char)((p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16);
	}
	im->c = 1;
}

static void to_rgb(Image *im)
{
	size_t n = (size_t)im->w * im->h;
	unsigned char *q = malloc(3 * n);
	if (!q)
		die(NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		q[3 * i] = q[3 * i + 1] = q[3 * i + 2] = im->px[i];
	free(im->px);
	im->px = q;
	im->c = 3;
}

/* ---- resizing as PIL's Image.resize(size, BILINEAR) ---- */

enum { PRECISION_BITS = 32 - 8 - 2 };

/* For each output position: first input index, count and fixed-point
 * weights of a triangle filter stretched by the scale when shrinking
 * (that stretch is the antialiasing). */
static int coeffs(int in_size, int out_size, int **bounds, int32_t **kk)
{
	double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
	double support = 1.0 * filterscale;
	int ksize = (int)ceil(support) * 2 + 1;
	double *k = malloc(sizeof *k * (size_t)ksize);
	*bounds = malloc(sizeof **bounds * 2 * (size_t)out_size);
	*kk = calloc((size_t)out_size * ksize, sizeof **kk);
	if (!k || !*bounds || !*kk)
		die(NULL, "out of memory");
	for (int xx = 0; xx < out_size; xx++) {
		double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
		int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
		if (xmin < 0)
			xmin = 0;
		if (xmax > in_size)
			xmax = in_size;
		xmax -= xmin;
		for (int x = 0; x < xmax; x++) {
			double t = fabs((x + xmin - center + 0.5) * ss);
			k[x] = t < 1.0 ? 1.0 - t : 0.0;
			ww += k[x];
		}
		for (int x = 0; x < xmax; x++) {
			double v = ww != 0.0 ? k[x] / ww : k[x];
			(*kk)[xx * ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
							     : 0.5 + v * (1 << PRECISION_BITS));
		}
		(*bounds)[2 * xx] = xmin;
		(*bounds)[2 * xx + 1] = xmax;
	}
	free(k);
	return ksize;
}

static unsigned char clip8(int32_t v)
{
	if (v >= (1 << PRECISION_BITS << 8))
		return 255;
	if (v <= 0)
		return 0;
	return (unsigned char)(v >> PRECISION_BITS);
}

/* One pass along x (horizontal) or y; `stride` steps between taps. */
static Image resample(const Image *in, int w, int h, int horizontal)
{
	Image out = {w, h, in->c, malloc((size_t)w * h * in->c)};
	if (!out.px)
		die(NULL, "out of memory");
	int *bounds;
	int32_t *kk;
	int ksize = coeffs(horizontal ? in->w : in->h, horizontal ? w : h, &bounds, &kk);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int o = horizontal ? x : y;
			int lo = bounds[2 * o], n = bounds[2 * o + 1];
			const int32_t *k = kk + (size_t)o * ksize;
			for (int ch = 0; ch < in->c; ch++) {
				int32_t ss = 1 << (PRECISION_BITS - 1);
				for (int t = 0; t < n; t++) {
					int sx = horizontal ? lo + t : x, sy = horizontal ? y : lo + t;
					ss += in->px[((size_t)sy * in->w + sx) * in->c + ch] * k[t];
				}
				out.px[((size_t)y * w + x) * in->c + ch] = clip8(ss);
			}
		}
	free(bounds);
	free(kk);
	return out;
}

/* torchvision's Resize(r): the shorter side becomes r, the longer one
 * int(r * long / short); PIL resizes horizontally, then vertically. */
static void resize_shorter(Image *im, int r)
{
	int w = im->w, h = im->h;
	int nw, nh;
	if (w <= h) {
		nw = r;
		nh = (int)((double)r * h / w);
	} else {
		nh = r;
		nw = (int)((double)r * w / h);
	}
	if (nw == w && nh == h)
		return;
	if (nw != w) {
		Image t = resample(im, nw, h, 1);
		free(im->px);
		*im = t;
	}
	if (nh != h) {
		Image t = resample(im, nw, nh, 0);
		free(im->px);
		*im = t;
	}
}

/* torchvision's CenterCrop: zero padding where the image is smaller, the
 * offset rounded half to even (Python's round). */
static void center_crop_normalize(const Image *im, int ch, int cw, const float *mean, const float *std,
				  float *dst)
{
	int pl = cw > im->w ? (cw - im->w) / 2 : 0, pt = ch > im->h ? (ch - im->h) / 2 : 0;
	int w = im->w + (cw > im->w ? cw - im->w : 0), h = im->h + (ch > im->h ? ch - im->h : 0);
	int left = (int)nearbyint((w - cw) / 2.0), top = (int)nearbyint((h - ch) / 2.0);
	for (int c = 0; c < im->c; c++)
		for (int y = 0; y < ch; y++)
			for (int x = 0; x < cw; x++) {
				int sx = x + left - pl, sy = y + top - pt;
				unsigned char v = sx >= 0 && sy >= 0 && sx < im->w && sy < im->h
					? im->px[((size_t)sy * im->w + sx) * im->c + c] : 0;
				dst[((size_t)c * ch + y) * cw + x] = ((float)v / 255.0f - mean[c]) / std[c];
			}
}

/* ---- output ---- */

static int save_npy(const char *path, const float *x, const int64_t *shape, int rank)
{
	char dict[256], tmp[4096];
	int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
	size_t count = 1;
	for (int i = 0; i < rank; i++) {
		n += snprintf(dict + n, sizeof dict - n, "%lld, ", (long long)shape[i]);
		count *= (size_t)shape[i];
	}
	n += snprintf(dict + n, sizeof dict - n, "), }");
	size_t hlen = (10 + (size_t)n + 1 + 63) / 64 * 64 - 10;
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
				 (unsigned char)(hlen >> 8)};
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		die(path, "cannot create: %s", strerror(errno));
	int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
	for (size_t i = 10 + (size_t)n; ok && i + 1 < 10 + hlen; i++)
		ok = putc(' ', f) != EOF;
	ok = ok && putc('\n', f) != EOF;
	for (size_t i = 0; ok && i < count; i++) { /* little-endian whatever the host */
		uint32_t u;
		memcpy(&u, &x[i], 4);
		unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
				      (unsigned char)(u >> 24)};
		ok = fwrite(b, 1, 4, f) == 4;
	}
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		remove(tmp);
		die(path, "write failed: %s", strerror(errno));
	}
	return 0;
}

/* One class name per line, trailing empty lines ignored; exactly one
 * name per class. */
static char **read_labels(const char *path, int64_t classes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path, "cannot open: %s", strerror(errno));
	char **v = calloc((size_t)classes + 1, sizeof *v);
	char line[1024];
	int64_t n = 0, blank = 0;
	while (v && fgets(line, sizeof line, f)) {
		size_t k = strcspn(line, "\r\n");
		line[k] = 0;
		if (!k) {
			blank++;
			continue;
		}
		for (; blank && n <= classes; blank--)
			v[n++] = "";
		if (n > classes || !(v[n++] = strdup(line)))
			break;
	}
	fclose(f);
	if (!v)
		die(path, "out of memory");
	if (n != classes)
		die(path, "%s labels than the model's %lld classes (one name per line, in class order)",
		    n > classes ? "more" : "fewer", (long long)classes);
	return v;
}

/* Scores of one row: the softmax of the values, or the values themselves
 * when they already are probabilities (a model that ends in Softmax). */
static void row_scores(const float *x, int64_t n, double *p)
{
	double sum = 0, mx = -INFINITY;
	int probs = 1;
	for (int64_t i = 0; i < n; i++) {
		probs &= x[i] >= 0.0f && x[i] <= 1.0f;
		sum += x[i];
		mx = x[i] > mx ? x[i] : mx;
	}
	if (probs && fabs(sum - 1.0) <= 1e-3) {
		for (int64_t i = 0; i < n; i++)
			p[i] = x[i];
		return;
	}
	sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += p[i] = isfinite(mx) ? exp((double)x[i] - mx) : (x[i] == mx);
	for (int64_t i = 0; i < n; i++)
		p[i] = sum > 0 ? p[i] / sum : 0;
}

static void parse_floats(const char *opt, const char *s, float *v, int c)
{
	int n = 0;
	char *end;
	for (const char *p = s; n < 3; p = end + 1) {
		errno = 0;
		double x = strtod(p, &end);
		if (end == p || errno || !isfinite(x))
			die(NULL, "%s '%s': numbers separated by commas", opt, s);
		v[n++] = (float)x;
		if (*end != ',')
			break;
	}
	if (*end)
		die(NULL, "%s '%s': one number, or one per channel", opt, s);
	if (n == 1)
		v[1] = v[2] = v[0];
	else if (n != c)
		die(NULL, "%s '%s': the model takes %d channel(s)", opt, s, c);
}

static const char usage_text[] =
	"usage: %s [options] IMAGE.pgm|IMAGE.ppm ...\n"
	"\n"
	"Classifies PGM/PPM images with the model %s (input %lldx%lldx%lldx%lld). Each\n"
	"image goes through torchvision's Resize(R), CenterCrop(%lld, %lld), ToTensor()\n"
	"and Normalize(mean, std), as PIL would do them, then through the model.\n"
	"\n"
	"  --resize R       shorter side to R pixels, bilinear with antialiasing\n"
	"                   (default %lld: the crop's larger side)\n"
	"  --mean M[,M,M]   per-channel mean of pixel/255 (default: %s)\n"
	"  --std S[,S,S]    per-channel standard deviation (default: %s)\n"
	"  --top K          classes printed per image (default 5)\n"
	"  --labels FILE    class names, one per line, in class order\n"
	"  --save-input F   also write the prepared input tensor of the last batch\n"
	"                   as a float32 .npy, e.g. for the model's own driver\n"
	"  --help           this help\n"
	"\n"
	"Prints a table: image, rank, class, score (softmax of the output), label.\nExit status: "
	"0 success, 1 a bad image or failed run, 2 bad usage.\n";

int main(int argc, char **argv)
{
	const int64_t N = in_shape[0], C = in_shape[1], H = in_shape[2], W = in_shape[3];
	const int64_t classes = out_shape[OUT_RANK - 1], per_item = OUT_SIZE / N;
	_Static_assert(OUT_RANK >= 1, "classify needs class scores as its output");
	const char *def_mean = C == 3 ? "0.485,0.456,0.406 (ImageNet's)" : "0", *def_std =
		C == 3 ? "0.229,0.224,0.225 (ImageNet's)" : "1";
	float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
	if (C == 3) {
		memcpy(mean, (float[3]){0.485f, 0.456f, 0.406f}, sizeof mean);
		memcpy(std, (float[3]){0.229f, 0.224f, 0.225f}, sizeof std);
	}
	if (C != 1 && C != 3)
		die(NULL, "the model takes %lld channels; classify handles 1 (grey) or 3 (RGB)", (long long)C);
	if (per_item != classes)
		die(NULL, "the model's output has %lld values per batch item, not a row of classes",
		    (long long)per_item);
	long resize = H > W ? (long)H : (long)W, top = 5;
	const char *labels_path = NULL, *save = NULL;
	char **files = calloc((size_t)argc, sizeof *files);
	int nf = 0;
	if (!files)
		die(NULL, "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf(usage_text, prog, STR(MODEL), (long long)N, (long long)C, (long long)H, (long long)W,
			       (long long)H, (long long)W, (long long)resize, def_mean, def_std);
			return 0;
		}
		int takes = !strcmp(a, "--resize") || !strcmp(a, "--mean") || !strcmp(a, "--std") ||
			    !strcmp(a, "--top") || !strcmp(a, "--labels") || !strcmp(a, "--save-input");
		if (!takes && a[0] == '-' && a[1]) {
			fprintf(stderr, "%s: error: unknown option '%s' (see --help)\n", prog, a);
			return 2;
		}
		if (!takes) {
			files[nf++] = argv[i];
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s: error: %s needs a value (see --help)\n", prog, a);
			return 2;
		}
		const char *v = argv[++i];
		char *end;
		if (!strcmp(a, "--resize") || !strcmp(a, "--top")) {
			long x = strtol(v, &end, 10);
			if (*end || end == v || x < 1 || x > 100000) {
				fprintf(stderr, "%s: error: %s '%s': a count from 1 to 100000\n", prog, a, v);
				return 2;
			}
			*(a[2] == 'r' ? &resize : &top) = x;
		} else if (!strcmp(a, "--mean")) {
			parse_floats(a, v, mean, (int)C);
		} else if (!strcmp(a, "--std")) {
			parse_floats(a, v, std, (int)C);
			for (int c = 0; c < C; c++)
				if (std[c] == 0)
					die(NULL, "--std '%s': must not be 0", v);
		} else if (!strcmp(a, "--labels")) {
			labels_path = v;
		} else {
			save = v;
		}
	}
	if (!nf) {
		fprintf(stderr, "%s: error: no image given (see --help)\n", prog);
		return 2;
	}
	char **labels = labels_path ? read_labels(labels_path, classes) : NULL;
	if (top > classes)
		top = (long)classes;
	int wname = 5;
	for (int i = 0; i < nf; i++)
		wname = (int)strlen(files[i]) > wname ? (int)strlen(files[i]) : wname;
	printf("%-*s %4s %6s %8s%s\n", wname, "image", "rank", "class", "score", labels ? "  label" : "");
	double *p = malloc(sizeof *p * (size_t)classes);
	int64_t *best = malloc(sizeof *best * (size_t)classes);
	if (!p || !best)
		die(NULL, "out of memory");
	for (int first = 0; first < nf; first += (int)N) {
		memset(input, 0, sizeof input);
		int in_batch = nf - first < N ? nf - first : (int)N;
		for (int b = 0; b < in_batch; b++) {
			Image im = read_pnm(files[first + b]);
			if (im.c == 3 && C == 1)
				to_grey(&im);
			else if (im.c == 1 && C == 3)
				to_rgb(&im);
			resize_shorter(&im, (int)resize);
			center_crop_normalize(&im, (int)H, (int)W, mean, std, input + (size_t)b * C * H * W);
			free(im.px);
		}
		if (save)
			save_npy(save, input, in_shape, 4);
		int rc = MODEL_RUN(input, output);
		if (rc != 0)
			die(NULL, "%s_run failed with code %d", STR(MODEL), rc);
		for (int b = 0; b < in_batch; b++) {
			row_scores(output + (size_t)b * classes, classes, p);
			for (int64_t i = 0; i < classes; i++)
				best[i] = i;
			for (long r = 0; r < top; r++) { /* the best first; ties go to the lower class */
				int64_t k = r;
				for (int64_t i = r + 1; i < classes; i++)
					if (p[best[i]] > p[best[k]] || (p[best[i]] == p[best[k]] && best[i] < best[k]))
						k = i;
				int64_t t = best[r];
				best[r] = best[k];
				best[k] = t;
				printf("%-*s %4ld %6lld %8.4f%s%s\n", wname, files[first + b], r + 1, (long long)best[r],
				       p[best[r]], labels ? "  " : "", labels ? labels[best[r]] : "");
			}
		}
	}
	free(p);
	free(best);
	free(files);
	for (int64_t i = 0; labels && i < classes; i++)
		if (labels[i][0])
			free(labels[i]);
	free(labels);
	return fflush(stdout) == 0 ? 0 : 1;
}
