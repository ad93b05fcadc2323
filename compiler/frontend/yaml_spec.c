/* The YAML description read and validated, with hints for near misses (yaml_internal.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

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
		const char *k = y_scalar(kn);
		if (!k || y_is_null(kn))
			return y_node_err(d, kn, "keys must be plain names%s%s", where ? " in " : "", where ? where : "");
		int idx = -1;
		for (int i = 0; i < n_keys; i++)
			if (!strcmp(k, keys[i]))
				idx = i;
		if (idx < 0) {
			const char *hint = y_near_miss(k, keys, n_keys);
			for (size_t i = 0; !hint && !where && i < sizeof aliases / sizeof aliases[0]; i++)
				if (!strcmp(k, aliases[i][0]))
					hint = aliases[i][1];
			if (hint)
				return y_node_err(d, kn, "'%.60s': did you mean '%s'?", k, hint);
			if (!where) {
				for (int i = 0; i < N_STEM; i++)
					if (!strcmp(k, stem_keys[i]))
						return y_node_err(d, kn, "'%s' belongs under 'stem' (stem: {%s: ...})", k, k);
				if (!strcmp(k, "seed"))
					return y_node_err(d, kn, "'seed' belongs under 'init' (init: {seed: %s})",
							y_scalar(vn) ? y_scalar(vn) : "1");
			}
			char known[256];
			y_list_words(keys, n_keys, known, sizeof known);
			return y_node_err(d, kn, "unknown key '%.60s'%s%s (expected %s)", k, where ? " in " : "",
					where ? where : "", known);
		}
		if (vals[idx]) {
			Loc first = y_loc(key_nodes[idx]);
			return y_node_err(d, kn, "'%s' is given twice (first at %d:%d)", k, first.line, first.col);
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
		return y_node_err(d, n, "'stem' must be a mapping like {kernel: 7, stride: 2, pool: max}, not %s",
				y_describe(n, got, sizeof got));
	}
	if (read_mapping(d, doc, n, "stem", stem_keys, N_STEM, v))
		return -1;
	if (v[S_KERNEL] && y_get_int(d, v[S_KERNEL], "kernel", 1, 31, &s->stem_kernel))
		return -1;
	if (v[S_STRIDE] && y_get_int(d, v[S_STRIDE], "stride", 1, 16, &s->stem_stride))
		return -1;
	s->stem_padding = s->stem_kernel / 2;
	if (v[S_PADDING] && y_get_int(d, v[S_PADDING], "padding", 0, s->stem_kernel - 1, &s->stem_padding))
		return -1;
	if (v[S_CHANNELS] && y_get_int(d, v[S_CHANNELS], "channels", 1, 1 << 16, channels))
		return -1;
	if (v[S_POOL]) {
		const char *p;
		if (y_get_string(d, v[S_POOL], "pool", &p))
			return -1;
		if (strcmp(p, "max") && strcmp(p, "none"))
			return y_node_err(d, v[S_POOL], "'pool' must be max (3x3, stride 2, padding 1) or none, not '%.40s'", p);
		s->stem_pool = !strcmp(p, "max");
	}
	return 0;
}

/* The spatial size after a window of kernel k, stride st, padding p. */
static int64_t out_size(int64_t in, int64_t k, int64_t st, int64_t p)
{
	return in + 2 * p < k ? 0 : (in + 2 * p - k) / st + 1;
}

int y_read_spec(Diag *d, yaml_document_t *doc, const yaml_node_t *root, const ImportOptions *opt, Spec *s)
{
	yaml_node_t *v[N_TOP];
	Loc top = y_loc(root);
	if (root->type != YAML_MAPPING_NODE)
		return y_node_err(d, root, "expected a mapping of keys (resnetc: 1, input: ..., block: ..., ...), found %s",
				y_kind_name(root));
	if (read_mapping(d, doc, root, NULL, top_keys, N_TOP, v))
		return -1;

	int64_t version;
	if (!v[K_RESNETC])
		return y_err(d, top, "missing 'resnetc: %d' (the format version) at the top", FORMAT_VERSION);
	if (y_get_int(d, v[K_RESNETC], "resnetc", 0, INT32_MAX, &version))
		return -1;
	if (version != FORMAT_VERSION)
		return y_node_err(d, v[K_RESNETC], "format version %lld is not supported (this resnetc reads version %d)",
				(long long)version, FORMAT_VERSION);
	static const int required[] = {K_INPUT, K_BLOCK, K_STAGES, K_CLASSES};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!v[required[i]])
			return y_err(d, top, "missing required key '%s'", top_keys[required[i]]);

	const char *str;
	if (v[K_NAME]) {
		if (y_get_string(d, v[K_NAME], "name", &str))
			return -1;
		s->name = xstrdup(str);
	}
	int k;
	if (y_get_int_list(d, doc, v[K_INPUT], "input", 4, 4, 1, 1 << 20, s->input, &k))
		return -1;
	s->input_loc = y_loc(v[K_INPUT]);
	if (y_get_string(d, v[K_BLOCK], "block", &str))
		return -1;
	if (strcmp(str, "basic") && strcmp(str, "bottleneck")) {
		static const char *const blocks[] = {"basic", "bottleneck"};
		const char *hint = y_near_miss(str, blocks, 2);
		if (hint)
			return y_node_err(d, v[K_BLOCK], "'block': unknown block '%.40s': did you mean '%s'?", str, hint);
		return y_node_err(d, v[K_BLOCK], "'block' must be basic or bottleneck, not '%.40s'", str);
	}
	s->bottleneck = !strcmp(str, "bottleneck");
	if (y_get_int_list(d, doc, v[K_STAGES], "stages", 0, MAX_STAGES, 1, 1000, s->blocks, &s->n_stages))
		return -1;
	s->stages_loc = y_loc(v[K_STAGES]);

	if (v[K_WIDTH] && v[K_WIDTHS])
		return y_node_err(d, v[K_WIDTHS], "give either 'width' (the first stage's, doubled per stage) or 'widths', not both");
	int64_t width = 64;
	if (v[K_WIDTH] && y_get_int(d, v[K_WIDTH], "width", 1, 1 << 16, &width))
		return -1;
	for (int i = 0; i < s->n_stages; i++) {
		if (width << i > (1 << 20))
			return y_node_err(d, v[K_WIDTH] ? v[K_WIDTH] : v[K_STAGES], "stage %d would be %lld channels wide; too many",
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
		if (n->type == YAML_SEQUENCE_NODE && y_seq_len(n) != s->n_stages)
			return y_node_err(d, n, "'%s' has %d entries, 'stages' has %d: give one %s per stage", key,
					y_seq_len(n), s->n_stages, per_stage[i].what);
		if (y_get_int_list(d, doc, n, key, s->n_stages, MAX_STAGES, 1, per_stage[i].hi,
				 i ? s->strides : s->planes, &k))
			return -1;
	}

	s->groups = 1;
	s->width_per_group = 64;
	if (v[K_GROUPS] && y_get_int(d, v[K_GROUPS], "groups", 1, 1 << 16, &s->groups))
		return -1;
	if (v[K_WPG] && y_get_int(d, v[K_WPG], "width_per_group", 1, 1 << 16, &s->width_per_group))
		return -1;
	if (!s->bottleneck && s->groups != 1)
		return y_node_err(d, v[K_GROUPS], "'groups' must be 1 with block: basic (grouped convolutions need bottleneck blocks, as in torchvision)");
	if (!s->bottleneck && s->width_per_group != 64)
		return y_node_err(d, v[K_WPG], "'width_per_group' must be 64 with block: basic (it sets the width of bottleneck blocks, as in torchvision)");
	for (int i = 0; s->bottleneck && i < s->n_stages; i++)
		if (s->planes[i] * s->width_per_group / 64 == 0)
			return y_node_err(d, v[K_WPG] ? v[K_WPG] : v[K_WIDTH] ? v[K_WIDTH] : v[K_WIDTHS],
					"stage %d gets a bottleneck width of 0 (int(%lld * %lld / 64) * groups)", i + 1,
					(long long)s->planes[i], (long long)s->width_per_group);

	s->stem_kernel = 7;
	s->stem_stride = 2;
	s->stem_padding = 3;
	s->stem_pool = 1;
	int64_t stem_ch = s->planes[0];
	if (v[K_STEM] && !y_is_null(v[K_STEM]) && read_stem(d, doc, v[K_STEM], s, &stem_ch))
		return -1;
	s->stem_channels = stem_ch;
	if (y_get_int(d, v[K_CLASSES], "classes", 1, 1 << 24, &s->classes))
		return -1;

	if (v[K_WEIGHTS] && v[K_INIT]) {
		const yaml_node_t *later = v[K_WEIGHTS]->start_mark.index > v[K_INIT]->start_mark.index ? v[K_WEIGHTS] : v[K_INIT];
		return y_node_err(d, later, "give either 'weights' (a safetensors file) or 'init' (random weights), not both");
	}
	if (!v[K_WEIGHTS] && !v[K_INIT])
		return y_err(d, top, "missing 'weights: FILE.safetensors' (or 'init: {seed: 1}' for random weights)");
	if (v[K_WEIGHTS]) {
		if (y_get_string(d, v[K_WEIGHTS], "weights", &str))
			return -1;
		s->weights = xstrdup(str);
		s->weights_loc = y_loc(v[K_WEIGHTS]);
	} else {
		yaml_node_t *iv[1];
		if (v[K_INIT]->type != YAML_MAPPING_NODE) {
			char got[64];
			return y_node_err(d, v[K_INIT], "'init' must be a mapping like {seed: 1}, not %s",
					y_describe(v[K_INIT], got, sizeof got));
		}
		if (read_mapping(d, doc, v[K_INIT], "init", init_keys, 1, iv))
			return -1;
		if (!iv[0])
			return y_node_err(d, v[K_INIT], "'init' needs a seed, e.g. init: {seed: 1}");
		int64_t seed;
		if (y_get_int(d, iv[0], "seed", 0, INT64_MAX, &seed))
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
		return y_err(d, s->input_loc, "'input' is too large");
	int64_t h = out_size(s->input[2], s->stem_kernel, s->stem_stride, s->stem_padding);
	int64_t w = out_size(s->input[3], s->stem_kernel, s->stem_stride, s->stem_padding);
	if (s->stem_pool)
		h = out_size(h, 3, 2, 1), w = out_size(w, 3, 2, 1);
	for (int i = 0; i < s->n_stages && h > 0 && w > 0; i++)
		h = out_size(h, 1, s->strides[i], 0), w = out_size(w, 1, s->strides[i], 0);
	if (h < 1 || w < 1)
		return y_err(d, s->input_loc, "input of %lldx%lld pixels is too small for this network (the stem and strides shrink it to nothing)",
			       (long long)s->input[2], (long long)s->input[3]);
	return 0;
}
