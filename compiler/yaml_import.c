/*
 * YAML front end: a ResNet described in a few lines (tests/yaml/FORMAT.md,
 * schemas/resnet.schema.json) plus weights from a safetensors file with
 * torchvision state_dict() names, to the graph torch.onnx.export (opset 13,
 * BatchNorm kept) writes for the same torchvision model:
 *
 *   input -> conv1 -> bn1 -> relu [-> maxpool]
 *         -> layerS.B: Conv -> BatchNormalization -> Relu ... -> Add -> Relu
 *            (downsample: 1x1 Conv -> BatchNormalization on the identity)
 *         -> avgpool (GlobalAveragePool) -> flatten -> fc (Gemm transB=1) -> logits
 *
 * Node names are torchvision module paths ("layer1.0.conv1"), weights keep
 * their state_dict keys ("layer1.0.conv1.weight"). Messages about a place
 * in the YAML file start with "LINE:COL: " (1-based).
 */
#include "frontend.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "safetensors.h"

#define MAX_YAML_BYTES ((size_t)1 << 20)
#define MAX_STAGES 16
#define FORMAT_VERSION 1

typedef struct {
	int line, col; /* 1-based */
} Loc;

/* The description, validated; every value has a default or was given. */
typedef struct {
	char *name;
	int64_t input[4];
	Loc input_loc, stages_loc;
	int bottleneck;
	int n_stages;
	int64_t blocks[MAX_STAGES], planes[MAX_STAGES], strides[MAX_STAGES];
	int64_t groups, width_per_group;
	int64_t stem_kernel, stem_stride, stem_padding, stem_channels;
	int stem_pool;
	int64_t classes;
	char *weights; /* NULL: random init */
	Loc weights_loc;
	uint64_t seed;
} Spec;

/* ---------------------------------------------------------------- YAML access */

static Loc loc_of(const yaml_node_t *n)
{
	return (Loc){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static int loc_err(Diag *d, Loc at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int loc_err(Diag *d, Loc at, const char *fmt, ...)
{
	char buf[440];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return diag_set(d, "%d:%d: %s", at.line, at.col, buf);
}

#define node_err(d, n, ...) loc_err(d, loc_of(n), __VA_ARGS__)

static const char *scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	return s && is_plain(n) && (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
				    !strcmp(s, "NULL"));
}

static const char *kind_name(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "empty";
	return is_plain(n) ? "a plain value" : "a quoted string";
}

/* A plain decimal integer ([-+]?[0-9]+, YAML's core schema) into *v.
 * Returns 0, or -1 if n is no integer, -2 if it does not fit int64. */
static int as_int(const yaml_node_t *n, int64_t *v)
{
	const char *s = scalar(n);
	if (!s || !is_plain(n))
		return -1;
	const char *p = s + (*s == '-' || *s == '+');
	if (!*p)
		return -1;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	long long x = strtoll(s, NULL, 10);
	if (errno)
		return -2;
	*v = x;
	return 0;
}

/* "a positive integer" / "positive integers", with the upper bound when it
 * is one a user could reach. */
static const char *range_words(int64_t lo, int64_t hi, int plural, char *buf, size_t len)
{
	const char *a = plural ? "" : "a ", *s = plural ? "s" : "";
	size_t k;
	if (lo == 1 || lo == 0)
		k = snprintf(buf, len, "%s%s integer%s", a, lo ? "positive" : "non-negative", s);
	else
		k = snprintf(buf, len, "%sinteger%s from %lld", plural ? "" : "an ", s, (long long)lo);
	if (hi < INT32_MAX && k < len)
		snprintf(buf + k, len - k, " up to %lld", (long long)hi);
	return buf;
}

/* What a value is, for "..., not X" in messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
	const char *s = scalar(n);
	if (!s || is_null(n))
		return kind_name(n);
	snprintf(buf, len, is_plain(n) ? "%.40s" : "the string \"%.40s\"", s);
	return buf;
}

static int get_int(Diag *d, const yaml_node_t *n, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	char words[80], got[64];
	int64_t v = 0;
	if (as_int(n, &v) == 0 && v >= lo && v <= hi) {
		*out = v;
		return 0;
	}
	return node_err(d, n, "'%s' must be %s, not %s", key, range_words(lo, hi, 0, words, sizeof words),
			describe(n, got, sizeof got));
}

static int seq_len(const yaml_node_t *n)
{
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* A list of `want` (or, if want == 0, 1..max) integers in [lo, hi]. */
static int get_int_list(Diag *d, yaml_document_t *doc, const yaml_node_t *n, const char *key, int want, int max,
			int64_t lo, int64_t hi, int64_t *out, int *count)
{
	char words[80], got[64];
	range_words(lo, hi, 1, words, sizeof words);
	if (n->type != YAML_SEQUENCE_NODE)
		return node_err(d, n, "'%s' must be a list of %s like [%s], not %s", key, words,
				!strcmp(key, "input") ? "1, 3, 224, 224" : "3, 4, 6, 3", describe(n, got, sizeof got));
	int k = seq_len(n);
	if (want && k != want)
		return node_err(d, n, "'%s' must have %d entries, it has %d", key, want, k);
	if (!want && (k < 1 || k > max))
		return node_err(d, n, "'%s' must have 1 to %d entries, it has %d", key, max, k);
	for (int i = 0; i < k; i++) {
		const yaml_node_t *it = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
		int64_t v = 0;
		if (as_int(it, &v) != 0 || v < lo || v > hi)
			return node_err(d, it, "'%s' must be a list of %s; entry %d is %s", key, words, i + 1,
					describe(it, got, sizeof got));
		out[i] = v;
	}
	*count = k;
	return 0;
}

static int get_string(Diag *d, const yaml_node_t *n, const char *key, const char **out)
{
	const char *s = scalar(n);
	if (!s || is_null(n))
		return node_err(d, n, "'%s' must be a string, not %s", key, kind_name(n));
	if (strlen(s) != n->data.scalar.length)
		return node_err(d, n, "'%s' contains a NUL character", key);
	*out = s;
	return 0;
}

/* Optimal string alignment distance: edits, with a swap of neighbours as
 * one edit ("stirde" is 1 from "stride"). */
static int edit_distance(const char *a, const char *b)
{
	int n = (int)strlen(a), m = (int)strlen(b);
	if (n > 64 || m > 64)
		return 99;
	int dp[65][65];
	for (int i = 0; i <= n; i++)
		for (int j = 0; j <= m; j++) {
			if (!i || !j) {
				dp[i][j] = i + j;
				continue;
			}
			int v = dp[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (dp[i - 1][j] + 1 < v)
				v = dp[i - 1][j] + 1;
			if (dp[i][j - 1] + 1 < v)
				v = dp[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && dp[i - 2][j - 2] + 1 < v)
				v = dp[i - 2][j - 2] + 1;
			dp[i][j] = v;
		}
	return dp[n][m];
}

/* The closest of words[] to s if it is a plausible typo, else NULL. */
static const char *near_miss(const char *s, const char *const *words, int n)
{
	const char *best = NULL;
	int bd = 99, len = (int)strlen(s);
	for (int i = 0; i < n; i++) {
		int dist = edit_distance(s, words[i]);
		if (dist < bd)
			bd = dist, best = words[i];
	}
	int limit = len / 3 > 1 ? len / 3 : 1;
	return bd <= limit ? best : NULL;
}

/* Names people bring from torchvision or elsewhere. */
static const char *const aliases[][2] = {
	{"num_classes", "classes"}, {"layers", "stages"},           {"base_width", "width_per_group"},
	{"cardinality", "groups"},  {"weights_file", "weights"},    {"input_shape", "input"},
	{"block_type", "block"},    {"version", "resnetc"},
};

static const char *const top_keys[] = {"resnetc", "name",    "input", "block",           "stages",
				       "width",   "widths",  "strides", "groups",        "width_per_group",
				       "stem",    "classes", "weights", "init"};
enum { K_RESNETC, K_NAME, K_INPUT, K_BLOCK, K_STAGES, K_WIDTH, K_WIDTHS, K_STRIDES, K_GROUPS, K_WPG,
       K_STEM, K_CLASSES, K_WEIGHTS, K_INIT, N_TOP };
static const char *const stem_keys[] = {"kernel", "stride", "padding", "channels", "pool"};
enum { S_KERNEL, S_STRIDE, S_PADDING, S_CHANNELS, S_POOL, N_STEM };
static const char *const init_keys[] = {"seed"};

static void list_words(const char *const *words, int n, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < n && k < len; i++)
		k += snprintf(buf + k, len - k, "%s%s", i ? (i == n - 1 ? " or " : ", ") : "", words[i]);
}

/* Collects the values of a mapping's known keys into vals[] (NULL when
 * absent). Unknown and repeated keys are errors. */
static int read_mapping(Diag *d, yaml_document_t *doc, const yaml_node_t *map, const char *where,
			const char *const *keys, int n_keys, yaml_node_t **vals)
{
	yaml_node_t *key_nodes[N_TOP] = {0}; /* N_TOP: the largest key set */
	for (int i = 0; i < n_keys; i++)
		vals[i] = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
		const char *k = scalar(kn);
		if (!k || is_null(kn))
			return node_err(d, kn, "keys must be plain names%s%s", where ? " in " : "", where ? where : "");
		int idx = -1;
		for (int i = 0; i < n_keys; i++)
			if (!strcmp(k, keys[i]))
				idx = i;
		if (idx < 0) {
			const char *hint = near_miss(k, keys, n_keys);
			for (size_t i = 0; !hint && !where && i < sizeof aliases / sizeof aliases[0]; i++)
				if (!strcmp(k, aliases[i][0]))
					hint = aliases[i][1];
			if (hint)
				return node_err(d, kn, "'%.60s': did you mean '%s'?", k, hint);
			if (!where) {
				for (int i = 0; i < N_STEM; i++)
					if (!strcmp(k, stem_keys[i]))
						return node_err(d, kn, "'%s' belongs under 'stem' (stem: {%s: ...})", k, k);
				if (!strcmp(k, "seed"))
					return node_err(d, kn, "'seed' belongs under 'init' (init: {seed: %s})",
							scalar(vn) ? scalar(vn) : "1");
			}
			char known[256];
			list_words(keys, n_keys, known, sizeof known);
			return node_err(d, kn, "unknown key '%.60s'%s%s (expected %s)", k, where ? " in " : "",
					where ? where : "", known);
		}
		if (vals[idx]) {
			Loc first = loc_of(key_nodes[idx]);
			return node_err(d, kn, "'%s' is given twice (first at %d:%d)", k, first.line, first.col);
		}
		vals[idx] = vn;
		key_nodes[idx] = kn;
	}
	return 0;
}

/* ---------------------------------------------------------------- the description */

static int read_stem(Diag *d, yaml_document_t *doc, const yaml_node_t *n, Spec *s, int64_t *channels)
{
	yaml_node_t *v[N_STEM];
	if (n->type != YAML_MAPPING_NODE) {
		char got[64];
		return node_err(d, n, "'stem' must be a mapping like {kernel: 7, stride: 2, pool: max}, not %s",
				describe(n, got, sizeof got));
	}
	if (read_mapping(d, doc, n, "stem", stem_keys, N_STEM, v))
		return -1;
	if (v[S_KERNEL] && get_int(d, v[S_KERNEL], "kernel", 1, 31, &s->stem_kernel))
		return -1;
	if (v[S_STRIDE] && get_int(d, v[S_STRIDE], "stride", 1, 16, &s->stem_stride))
		return -1;
	s->stem_padding = s->stem_kernel / 2;
	if (v[S_PADDING] && get_int(d, v[S_PADDING], "padding", 0, s->stem_kernel - 1, &s->stem_padding))
		return -1;
	if (v[S_CHANNELS] && get_int(d, v[S_CHANNELS], "channels", 1, 1 << 16, channels))
		return -1;
	if (v[S_POOL]) {
		const char *p;
		if (get_string(d, v[S_POOL], "pool", &p))
			return -1;
		if (strcmp(p, "max") && strcmp(p, "none"))
			return node_err(d, v[S_POOL], "'pool' must be max (3x3, stride 2, padding 1) or none, not '%.40s'", p);
		s->stem_pool = !strcmp(p, "max");
	}
	return 0;
}

/* The spatial size after a window of kernel k, stride st, padding p. */
static int64_t out_size(int64_t in, int64_t k, int64_t st, int64_t p)
{
	return in + 2 * p < k ? 0 : (in + 2 * p - k) / st + 1;
}

static int read_spec(Diag *d, yaml_document_t *doc, const yaml_node_t *root, const ImportOptions *opt, Spec *s)
{
	yaml_node_t *v[N_TOP];
	Loc top = loc_of(root);
	if (root->type != YAML_MAPPING_NODE)
		return node_err(d, root, "expected a mapping of keys (resnetc: 1, input: ..., block: ..., ...), found %s",
				kind_name(root));
	if (read_mapping(d, doc, root, NULL, top_keys, N_TOP, v))
		return -1;

	int64_t version;
	if (!v[K_RESNETC])
		return loc_err(d, top, "missing 'resnetc: %d' (the format version) at the top", FORMAT_VERSION);
	if (get_int(d, v[K_RESNETC], "resnetc", 0, INT32_MAX, &version))
		return -1;
	if (version != FORMAT_VERSION)
		return node_err(d, v[K_RESNETC], "format version %lld is not supported (this resnetc reads version %d)",
				(long long)version, FORMAT_VERSION);
	static const int required[] = {K_INPUT, K_BLOCK, K_STAGES, K_CLASSES};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!v[required[i]])
			return loc_err(d, top, "missing required key '%s'", top_keys[required[i]]);

	const char *str;
	if (v[K_NAME]) {
		if (get_string(d, v[K_NAME], "name", &str))
			return -1;
		s->name = xstrdup(str);
	}
	int k;
	if (get_int_list(d, doc, v[K_INPUT], "input", 4, 4, 1, 1 << 20, s->input, &k))
		return -1;
	s->input_loc = loc_of(v[K_INPUT]);
	if (get_string(d, v[K_BLOCK], "block", &str))
		return -1;
	if (strcmp(str, "basic") && strcmp(str, "bottleneck")) {
		static const char *const blocks[] = {"basic", "bottleneck"};
		const char *hint = near_miss(str, blocks, 2);
		if (hint)
			return node_err(d, v[K_BLOCK], "'block': unknown block '%.40s': did you mean '%s'?", str, hint);
		return node_err(d, v[K_BLOCK], "'block' must be basic or bottleneck, not '%.40s'", str);
	}
	s->bottleneck = !strcmp(str, "bottleneck");
	if (get_int_list(d, doc, v[K_STAGES], "stages", 0, MAX_STAGES, 1, 1000, s->blocks, &s->n_stages))
		return -1;
	s->stages_loc = loc_of(v[K_STAGES]);

	if (v[K_WIDTH] && v[K_WIDTHS])
		return node_err(d, v[K_WIDTHS], "give either 'width' (the first stage's, doubled per stage) or 'widths', not both");
	int64_t width = 64;
	if (v[K_WIDTH] && get_int(d, v[K_WIDTH], "width", 1, 1 << 16, &width))
		return -1;
	for (int i = 0; i < s->n_stages; i++) {
		if (width << i > (1 << 20))
			return node_err(d, v[K_WIDTH] ? v[K_WIDTH] : v[K_STAGES], "stage %d would be %lld channels wide; too many",
					i + 1, (long long)(width << i));
		s->planes[i] = width << i;
		s->strides[i] = i ? 2 : 1;
	}
	static const struct { int key; const char *what; int64_t hi; } per_stage[] = {
		{K_WIDTHS, "width", 1 << 16}, {K_STRIDES, "stride", 16}};
	for (int i = 0; i < 2; i++) {
		const yaml_node_t *n = v[per_stage[i].key];
		const char *key = top_keys[per_stage[i].key];
		if (!n)
			continue;
		if (n->type == YAML_SEQUENCE_NODE && seq_len(n) != s->n_stages)
			return node_err(d, n, "'%s' has %d entries, 'stages' has %d: give one %s per stage", key,
					seq_len(n), s->n_stages, per_stage[i].what);
		if (get_int_list(d, doc, n, key, s->n_stages, MAX_STAGES, 1, per_stage[i].hi,
				 i ? s->strides : s->planes, &k))
			return -1;
	}

	s->groups = 1;
	s->width_per_group = 64;
	if (v[K_GROUPS] && get_int(d, v[K_GROUPS], "groups", 1, 1 << 16, &s->groups))
		return -1;
	if (v[K_WPG] && get_int(d, v[K_WPG], "width_per_group", 1, 1 << 16, &s->width_per_group))
		return -1;
	if (!s->bottleneck && s->groups != 1)
		return node_err(d, v[K_GROUPS], "'groups' must be 1 with block: basic (grouped convolutions need bottleneck blocks, as in torchvision)");
	if (!s->bottleneck && s->width_per_group != 64)
		return node_err(d, v[K_WPG], "'width_per_group' must be 64 with block: basic (it sets the width of bottleneck blocks, as in torchvision)");
	for (int i = 0; s->bottleneck && i < s->n_stages; i++)
		if (s->planes[i] * s->width_per_group / 64 == 0)
			return node_err(d, v[K_WPG] ? v[K_WPG] : v[K_WIDTH] ? v[K_WIDTH] : v[K_WIDTHS],
					"stage %d gets a bottleneck width of 0 (int(%lld * %lld / 64) * groups)", i + 1,
					(long long)s->planes[i], (long long)s->width_per_group);

	s->stem_kernel = 7;
	s->stem_stride = 2;
	s->stem_padding = 3;
	s->stem_pool = 1;
	int64_t stem_ch = s->planes[0];
	if (v[K_STEM] && !is_null(v[K_STEM]) && read_stem(d, doc, v[K_STEM], s, &stem_ch))
		return -1;
	s->stem_channels = stem_ch;
	if (get_int(d, v[K_CLASSES], "classes", 1, 1 << 24, &s->classes))
		return -1;

	if (v[K_WEIGHTS] && v[K_INIT]) {
		const yaml_node_t *later = v[K_WEIGHTS]->start_mark.index > v[K_INIT]->start_mark.index ? v[K_WEIGHTS] : v[K_INIT];
		return node_err(d, later, "give either 'weights' (a safetensors file) or 'init' (random weights), not both");
	}
	if (!v[K_WEIGHTS] && !v[K_INIT])
		return loc_err(d, top, "missing 'weights: FILE.safetensors' (or 'init: {seed: 1}' for random weights)");
	if (v[K_WEIGHTS]) {
		if (get_string(d, v[K_WEIGHTS], "weights", &str))
			return -1;
		s->weights = xstrdup(str);
		s->weights_loc = loc_of(v[K_WEIGHTS]);
	} else {
		yaml_node_t *iv[1];
		if (v[K_INIT]->type != YAML_MAPPING_NODE) {
			char got[64];
			return node_err(d, v[K_INIT], "'init' must be a mapping like {seed: 1}, not %s",
					describe(v[K_INIT], got, sizeof got));
		}
		if (read_mapping(d, doc, v[K_INIT], "init", init_keys, 1, iv))
			return -1;
		if (!iv[0])
			return node_err(d, v[K_INIT], "'init' needs a seed, e.g. init: {seed: 1}");
		int64_t seed;
		if (get_int(d, iv[0], "seed", 0, INT64_MAX, &seed))
			return -1;
		s->seed = (uint64_t)seed;
	}

	/* --input-shape replaces 'input' (same rank and channels). */
	for (int i = 0; opt && i < opt->n_pins; i++) {
		const ShapePin *pin = &opt->pins[i];
		if (pin->name[0] && strcmp(pin->name, "input"))
			return diag_set(d, "--input-shape names '%s'; the model's only input is 'input'", pin->name);
		if (pin->rank != 4 || pin->dims[1] != s->input[1])
			return diag_set(d, "--input-shape must be Nx%lldxHxW, with the channel count of 'input'",
					(long long)s->input[1]);
		memcpy(s->input, pin->dims, sizeof s->input);
	}
	if (s->input[0] * s->input[1] * s->input[2] * s->input[3] > ((int64_t)1 << 32))
		return loc_err(d, s->input_loc, "'input' is too large");
	int64_t h = out_size(s->input[2], s->stem_kernel, s->stem_stride, s->stem_padding);
	int64_t w = out_size(s->input[3], s->stem_kernel, s->stem_stride, s->stem_padding);
	if (s->stem_pool)
		h = out_size(h, 3, 2, 1), w = out_size(w, 3, 2, 1);
	for (int i = 0; i < s->n_stages && h > 0 && w > 0; i++)
		h = out_size(h, 1, s->strides[i], 0), w = out_size(w, 1, s->strides[i], 0);
	if (h < 1 || w < 1)
		return loc_err(d, s->input_loc, "input of %lldx%lld pixels is too small for this network (the stem and strides shrink it to nothing)",
			       (long long)s->input[2], (long long)s->input[3]);
	return 0;
}

/* ---------------------------------------------------------------- weights */

/* splitmix64: a tiny generator with identical output everywhere. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
	return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* 2 atanh(s) = ln((1+s)/(1-s)) by its series, to double precision. The
 * volatile products keep compilers from fusing a multiply and an add into
 * an FMA, which rounds differently: the same seed must give the same bits
 * on every platform, so no libm call (whose last bit varies) is used. */
static double atanh2_series(double s)
{
	double sum = s, t = s;
	volatile double s2 = s * s;
	for (int k = 3; k <= 41; k += 2) {
		volatile double p = t * s2;
		t = p;
		if (t == 0 || (t < 0 ? -t : t) < 1e-18 * (sum < 0 ? -sum : sum))
			break;
		sum += t / k;
	}
	return 2 * sum;
}

/* ln x for normal x > 0: x = 2^e m, m in [1, 2); c = 1 / (1 + j/256) for
 * the top 8 bits j of m's fraction, so m c is within 1/256 of 1 and three
 * terms of the atanh series give ln(m c) to double precision; then
 * ln x = e ln 2 + ln(m c) - ln c. */
static double portable_log(double x)
{
	static double inv_c[256], ln_c[256];
	static int ready;
	if (!ready) {
		for (int j = 0; j < 256; j++) {
			inv_c[j] = 1 / (1 + j / 256.0);
			ln_c[j] = atanh2_series((inv_c[j] - 1) / (inv_c[j] + 1));
		}
		ready = 1;
	}
	uint64_t bits;
	memcpy(&bits, &x, 8);
	int e = (int)(bits >> 52 & 0x7ff) - 1023, j = (int)(bits >> 44 & 0xff);
	bits = (bits & 0x000fffffffffffffu) | 0x3ff0000000000000u;
	double m;
	memcpy(&m, &bits, 8);
	volatile double r = m * inv_c[j];
	double s = (r - 1) / (r + 1);
	volatile double s2 = s * s, t3 = s * s2, t5 = t3 * s2, t7 = t5 * s2;
	volatile double a3 = t3 * (1 / 3.0), a5 = t5 * (1 / 5.0), a7 = t7 * (1 / 7.0);
	volatile double hi = e * 0.69314718055994530942;
	return hi + (2 * (s + (a3 + (a5 + a7))) - ln_c[j]);
}

typedef struct {
	uint64_t state;
	int have_spare;
	double spare;
} Rng;

/* Standard normal, Marsaglia's polar method (sqrt is exactly rounded);
 * each accepted pair gives two values. */
static double normal01(Rng *r)
{
	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	for (;;) {
		double u = 2 * uniform01(&r->state) - 1, v = 2 * uniform01(&r->state) - 1;
		volatile double uu = u * u, vv = v * v;
		double q = uu + vv;
		if (q > 0 && q < 1) {
			double f = sqrt(-2 * portable_log(q) / q);
			r->spare = v * f;
			r->have_spare = 1;
			return u * f;
		}
	}
}

typedef enum { INIT_CONV, INIT_ONE, INIT_ZERO, INIT_FC } InitKind;

typedef struct {
	Graph *g;
	Diag *d;
	const Spec *s;
	StFile *st;      /* NULL: random init */
	const char *wname;
	int count_only;  /* a dry run: shapes only, no data */
	int64_t n_params;
} Builder;

/* 8 GiB of float32 weights: far beyond any ResNet, and what a 64-bit host
 * can still hold twice (file + graph) while compiling. Fuzzing builds stop
 * at 4 MiB, so that every input is quick and the error path is fuzzed. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MAX_PARAMS ((int64_t)1 << 20)
#else
#define MAX_PARAMS ((int64_t)1 << 31)
#endif

static int weights_err(Builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int weights_err(Builder *b, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return loc_err(b->d, b->s->weights_loc, "weights '%.60s': %s", b->wname, buf);
}

/* Each tensor draws from its own stream, seeded by the seed and its name,
 * so one tensor's values do not depend on the rest of the network. */
static void init_values(const Spec *s, const char *name, InitKind kind, int64_t fan, float *v, int64_t n)
{
	Rng r = {s->seed, 0, 0};
	for (const char *p = name; *p; p++)
		r.state = (r.state ^ (unsigned char)*p) * 0x100000001b3u; /* FNV-1a step */
	splitmix64(&r.state);
	double std = sqrt(2.0 / (double)fan), bound = 1 / sqrt((double)fan);
	for (int64_t i = 0; i < n; i++) {
		switch (kind) {
		case INIT_CONV: v[i] = (float)(normal01(&r) * std); break;
		case INIT_ONE: v[i] = 1.0f; break;
		case INIT_ZERO: v[i] = 0.0f; break;
		case INIT_FC: v[i] = (float)((2 * uniform01(&r.state) - 1) * bound); break;
		}
	}
}

/* A constant named `name` of the given shape: from the weights file, or
 * generated. `fan` is fan_out for convolutions, fan_in for fc. */
static int param(Builder *b, const char *name, int rank, const int64_t *dims, InitKind kind, int64_t fan)
{
	int t = graph_add_tensor(b->g, name, T_CONST, RN_F32);
	Tensor *x = &b->g->tensors[t];
	x->rank = rank;
	memcpy(x->dims, dims, rank * sizeof *dims);
	int64_t n = 1; /* saturating at MAX_PARAMS + 1 */
	for (int i = 0; i < rank; i++)
		n = n > MAX_PARAMS || dims[i] > MAX_PARAMS ? MAX_PARAMS + 1 : n * dims[i];
	b->n_params = b->n_params > MAX_PARAMS - n ? MAX_PARAMS + 1 : b->n_params + n;
	if (b->count_only)
		return t;
	x->data = xmalloc(n * sizeof(float));
	if (!b->st) {
		init_values(b->s, name, kind, fan, x->data, n);
		return t;
	}
	char want[96], have[96];
	shape_str(x, want, sizeof want);
	StTensor *w = st_find(b->st, name);
	if (!w)
		return weights_err(b, "tensor '%s' is missing (the model needs shape %s)", name, want);
	st_shape_str(w->rank, w->dims, have, sizeof have);
	int same = w->rank == rank;
	for (int i = 0; same && i < rank; i++)
		same = w->dims[i] == dims[i];
	if (!same)
		return weights_err(b, "tensor '%s' has shape %s, the model needs %s", name, have, want);
	w->used = 1;
	if (st_read_f32(b->st, w, x->data, b->d))
		return weights_err(b, "%s", b->d->msg);
	return t;
}

/* ---------------------------------------------------------------- graph */

/* An ints attribute with `count` copies of v (square kernels, equal pads). */
static void ints_attr(Node *n, const char *name, int64_t v, int count)
{
	Attr *at = node_add_attr(n, name, A_INTS);
	at->n = count;
	at->ints = xmalloc(count * sizeof *at->ints);
	for (int i = 0; i < count; i++)
		at->ints[i] = v;
}

static int add_node(Builder *b, const char *name, const char *op, const int *in, int n_in, const char *out_name)
{
	int out = graph_add_tensor(b->g, out_name ? out_name : name, T_ACT, 0);
	int k = graph_add_node(b->g, name, op, in, n_in, &out, 1);
	b->g->tensors[out].producer = k;
	return k;
}

static int out_of(Builder *b, int node)
{
	return b->g->nodes[node].out[0];
}

static int conv(Builder *b, const char *mod, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
		int64_t pad, int64_t groups)
{
	char wn[160];
	snprintf(wn, sizeof wn, "%s.weight", mod);
	int64_t dims[4] = {cout, cin / groups, k, k};
	int w = param(b, wn, 4, dims, INIT_CONV, cout * k * k);
	if (w < 0)
		return -1;
	int in[2] = {x, w};
	int id = add_node(b, mod, "Conv", in, 2, NULL);
	Node *n = &b->g->nodes[id];
	ints_attr(n, "dilations", 1, 2);
	node_add_attr(n, "group", A_INT)->i = groups;
	ints_attr(n, "kernel_shape", k, 2);
	ints_attr(n, "pads", pad, 4);
	ints_attr(n, "strides", stride, 2);
	return n->out[0];
}

static int batchnorm(Builder *b, const char *mod, int x, int64_t c)
{
	static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
	static const InitKind init[4] = {INIT_ONE, INIT_ZERO, INIT_ZERO, INIT_ONE};
	int in[5] = {x};
	for (int i = 0; i < 4; i++) {
		char name[160];
		snprintf(name, sizeof name, "%s.%s", mod, suffix[i]);
		if ((in[i + 1] = param(b, name, 1, &c, init[i], 0)) < 0)
			return -1;
	}
	int k = add_node(b, mod, "BatchNormalization", in, 5, NULL);
	Node *n = &b->g->nodes[k];
	node_add_attr(n, "epsilon", A_FLOAT)->f = 1e-5f;
	node_add_attr(n, "momentum", A_FLOAT)->f = 0.9f;
	return n->out[0];
}

static int relu(Builder *b, const char *name, int x)
{
	return x < 0 ? -1 : out_of(b, add_node(b, name, "Relu", &x, 1, NULL));
}

/* conv -> bn [-> relu], the unit everything is made of. */
static int conv_bn(Builder *b, const char *prefix, const char *cname, const char *bname, int x, int64_t cin,
		   int64_t cout, int64_t k, int64_t stride, int64_t pad, int64_t groups)
{
	char mc[96], mb[96];
	snprintf(mc, sizeof mc, "%s%s", prefix, cname);
	snprintf(mb, sizeof mb, "%s%s", prefix, bname);
	x = conv(b, mc, x, cin, cout, k, stride, pad, groups);
	return x < 0 ? -1 : batchnorm(b, mb, x, cout);
}

/* torchvision's BasicBlock / Bottleneck (stride on the 3x3), as exported:
 * the main branch, then the downsample branch, Add, Relu. */
static int block(Builder *b, int stage, int index, int x, int64_t inplanes, int64_t planes, int64_t stride,
		 int64_t *outplanes)
{
	const Spec *s = b->s;
	char p[32], name[64];
	snprintf(p, sizeof p, "layer%d.%d.", stage + 1, index);
	int y;
	int64_t out_c;
	if (!s->bottleneck) {
		out_c = planes;
		y = conv_bn(b, p, "conv1", "bn1", x, inplanes, planes, 3, stride, 1, 1);
		snprintf(name, sizeof name, "%srelu", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv2", "bn2", y, planes, planes, 3, 1, 1, 1);
	} else {
		int64_t width = planes * s->width_per_group / 64 * s->groups;
		out_c = planes * 4;
		y = conv_bn(b, p, "conv1", "bn1", x, inplanes, width, 1, 1, 0, 1);
		snprintf(name, sizeof name, "%srelu", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv2", "bn2", y, width, width, 3, stride, 1, s->groups);
		snprintf(name, sizeof name, "%srelu_1", p);
		y = y < 0 ? -1 : relu(b, name, y);
		y = y < 0 ? -1 : conv_bn(b, p, "conv3", "bn3", y, width, out_c, 1, 1, 0, 1);
	}
	if (y < 0)
		return -1;
	int identity = x;
	if (stride != 1 || inplanes != out_c)
		identity = conv_bn(b, p, "downsample.0", "downsample.1", x, inplanes, out_c, 1, stride, 0, 1);
	if (identity < 0)
		return -1;
	int in[2] = {y, identity};
	snprintf(name, sizeof name, "%sadd", p);
	int sum = out_of(b, add_node(b, name, "Add", in, 2, NULL));
	snprintf(name, sizeof name, "%srelu_%d", p, s->bottleneck ? 2 : 1);
	*outplanes = out_c;
	return relu(b, name, sum);
}

static int build(Builder *b)
{
	const Spec *s = b->s;
	Graph *g = b->g;
	int x = graph_add_tensor(g, "input", T_INPUT, RN_F32);
	g->tensors[x].rank = 4;
	memcpy(g->tensors[x].dims, s->input, sizeof s->input);
	g->inputs = xmalloc(sizeof *g->inputs);
	g->inputs[g->n_inputs++] = x;

	x = conv_bn(b, "", "conv1", "bn1", x, s->input[1], s->stem_channels, s->stem_kernel, s->stem_stride,
		    s->stem_padding, 1);
	x = relu(b, "relu", x);
	if (x < 0)
		return -1;
	if (s->stem_pool) {
		int k = add_node(b, "maxpool", "MaxPool", &x, 1, NULL);
	Node *n = &g->nodes[k];
		node_add_attr(n, "ceil_mode", A_INT)->i = 0;
		ints_attr(n, "kernel_shape", 3, 2);
		ints_attr(n, "pads", 1, 4);
		ints_attr(n, "strides", 2, 2);
		x = n->out[0];
	}
	int64_t c = s->stem_channels;
	for (int i = 0; i < s->n_stages; i++)
		for (int j = 0; j < s->blocks[i]; j++)
			if ((x = block(b, i, j, x, c, s->planes[i], j ? 1 : s->strides[i], &c)) < 0)
				return -1;

	x = out_of(b, add_node(b, "avgpool", "GlobalAveragePool", &x, 1, NULL));
	int k = add_node(b, "flatten", "Flatten", &x, 1, NULL);
	Node *n = &g->nodes[k];
	node_add_attr(n, "axis", A_INT)->i = 1;
	x = n->out[0];
	int64_t wd[2] = {s->classes, c};
	int fw = param(b, "fc.weight", 2, wd, INIT_FC, c);
	int fb = fw < 0 ? -1 : param(b, "fc.bias", 1, &s->classes, INIT_FC, c);
	if (fb < 0)
		return -1;
	int in[3] = {x, fw, fb};
	k = add_node(b, "fc", "Gemm", in, 3, "logits");
	n = &g->nodes[k];
	node_add_attr(n, "alpha", A_FLOAT)->f = 1.0f;
	node_add_attr(n, "beta", A_FLOAT)->f = 1.0f;
	node_add_attr(n, "transB", A_INT)->i = 1;
	int out = n->out[0];
	g->outputs = xmalloc(sizeof *g->outputs);
	g->outputs[g->n_outputs++] = out;
	g->tensors[out].is_output = 1;

	const StTensor *extra = NULL;
	int n_extra = 0;
	for (int i = 0; b->st && i < b->st->n; i++) {
		const StTensor *t = &b->st->t[i];
		const char *dot = strrchr(t->name, '.');
		if (t->used || (dot && !strcmp(dot, ".num_batches_tracked")))
			continue;
		if (!n_extra++)
			extra = t;
	}
	if (extra) {
		char sh[96], more[48] = "";
		if (n_extra > 1)
			snprintf(more, sizeof more, " and %d more", n_extra - 1);
		return weights_err(b, "unexpected tensor '%.80s' (shape %s)%s: the model described has no such parameter%s",
				   extra->name, st_shape_str(extra->rank, extra->dims, sh, sizeof sh), more,
				   n_extra > 1 ? "s" : "");
	}
	return graph_toposort(g, b->d);
}

/* ---------------------------------------------------------------- entry */

static int syntax_error(const yaml_parser_t *p, const unsigned char *buf, size_t len, Diag *d)
{
	Loc at = {(int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1};
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad UTF-8) carry a byte offset, not a mark. */
		at = (Loc){1, 1};
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n')
				at.line++, at.col = 1;
			else if ((buf[i] & 0xc0) != 0x80)
				at.col++;
		}
	}
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->context && p->error != YAML_READER_ERROR)
		return loc_err(d, at, "invalid YAML: %s (%s at %d:%d)", problem, p->context,
			       (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	return loc_err(d, at, "invalid YAML: %s", problem);
}

/* libyaml's scanner does work proportional to the nesting depth for every
 * token, so "[[[[..." a megabyte deep takes minutes to load. A description
 * is three levels deep: refuse anything past MAX_DEPTH while streaming the
 * events, before the document is built. Syntax errors are left to the
 * loader, which reports them the same way. */
#define MAX_DEPTH 32

static int check_depth(const unsigned char *buf, size_t len, Diag *d)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return diag_set(d, "cannot initialise libyaml");
	yaml_parser_set_input_string(&p, buf, len);
	int depth = 0, rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev))
			break;
		yaml_event_type_t type = ev.type;
		Loc at = {(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1};
		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > MAX_DEPTH) {
				rc = loc_err(d, at, "lists and mappings are nested more than %d deep", MAX_DEPTH);
				break;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

static void spec_free(Spec *s)
{
	free(s->name);
	free(s->weights);
}

Graph *yaml_import(const char *path, const ImportOptions *opt, Diag *d)
{
	size_t len;
	unsigned char *buf = read_file(path, MAX_YAML_BYTES, &len, d);
	if (!buf)
		return NULL;
	if (check_depth(buf, len, d)) {
		free(buf);
		return NULL;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	Spec spec;
	memset(&spec, 0, sizeof spec);
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		diag_set(d, "cannot initialise libyaml");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	int rc = -1;
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&parser, buf, len, d);
		goto out_parser;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		diag_set(d, "empty file: expected a ResNet description (resnetc: %d, input, block, stages, classes, weights)",
			 FORMAT_VERSION);
		goto out_doc;
	}
	yaml_document_t extra;
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(&parser, buf, len, d);
		goto out_doc;
	}
	yaml_node_t *second = yaml_document_get_root_node(&extra);
	if (second)
		node_err(d, second, "a second YAML document; the file must hold one description");
	yaml_document_delete(&extra);
	if (second)
		goto out_doc;
	rc = read_spec(d, &doc, root, opt, &spec);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(buf);
	if (rc) {
		spec_free(&spec);
		return NULL;
	}

	Graph *g = graph_new();
	free(g->path);
	g->path = xstrdup(path);
	g->opset = 13;
	if (spec.name) {
		free(g->name);
		g->name = xstrdup(spec.name);
	}
	StFile st;
	memset(&st, 0, sizeof st);
	/* A dry run first, so an absurd description is refused before its
	 * weights are allocated. */
	Builder b = {graph_new(), d, &spec, NULL, spec.weights, 1, 0};
	rc = build(&b);
	graph_free(b.g);
	if (!rc && b.n_params > MAX_PARAMS)
		rc = loc_err(d, spec.stages_loc, "the network described has more than %lld parameters; too large",
			     (long long)MAX_PARAMS);
	b = (Builder){g, d, &spec, NULL, spec.weights, 0, 0};
	if (!rc && spec.weights) {
		char *dir = path_dir(path);
		char *wpath = confined_path(dir, spec.weights, d);
		free(dir);
		if (!wpath)
			rc = loc_err(d, spec.weights_loc, "weights: %s", d->msg);
		else if (st_load(&st, wpath, d))
			rc = weights_err(&b, "%s", d->msg);
		free(wpath);
		b.st = &st;
	}
	if (!rc)
		rc = build(&b);
	st_free(&st);
	spec_free(&spec);
	if (rc) {
		graph_free(g);
		return NULL;
	}
	return g;
}
