/* The YAML front end: the graphs it builds (checked against what
 * torch.onnx.export writes for the torchvision models), its weights
 * handling, and the located one-line error for each kind of mistake. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

#define TEST_DIR_TAG "yaml"
#include "test_dir.h"

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static Graph *import_text(const char *yaml, const ImportOptions *opt, Diag *d)
{
	return yaml_import(write_file("model.yaml", yaml, strlen(yaml)), opt, d);
}

static Graph *import_ok(const char *yaml)
{
	Diag d = {{0}};
	Graph *g = import_text(yaml, NULL, &d);
	if (!g)
		fail_msg("import failed: %s", d.msg);
	return g;
}

/* The error an import of yaml gives ("" if it succeeds). */
static const char *import_err(const char *yaml)
{
	static Diag d;
	d.msg[0] = 0;
	Graph *g = import_text(yaml, NULL, &d);
	graph_free(g);
	return g ? "" : d.msg;
}

static const Node *find_node(const Graph *g, const char *name)
{
	for (int i = 0; i < g->n_nodes; i++)
		if (!strcmp(g->nodes[i].name, name))
			return &g->nodes[i];
	return NULL;
}

static const Tensor *find_tensor(const Graph *g, const char *name)
{
	int t = graph_find_tensor(g, name);
	return t < 0 ? NULL : &g->tensors[t];
}

static void assert_ints(const Node *n, const char *attr, int count, int64_t v)
{
	const Attr *a = node_attr(n, attr);
	assert_non_null(a);
	assert_int_equal(a->type, A_INTS);
	assert_int_equal(a->n, count);
	for (int i = 0; i < count; i++)
		assert_int_equal(a->ints[i], v);
}

static void assert_dims(const Tensor *t, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
	const int64_t want[4] = {d0, d1, d2, d3};
	assert_non_null(t);
	assert_int_equal(t->rank, rank);
	for (int i = 0; i < rank; i++)
		assert_int_equal(t->dims[i], want[i]);
}

static const char *node_input_name(const Graph *g, const Node *n, int i)
{
	return g->tensors[n->in[i]].name;
}

static const char resnet18[] =
	"resnetc: 1\n"
	"name: resnet18\n"
	"input: [1, 3, 224, 224]\n"
	"block: basic\n"
	"stages: [2, 2, 2, 2]\n"
	"classes: 1000\n"
	"init: {seed: 1}\n";

static void test_resnet18_is_the_torchvision_export_graph(void **state)
{
	(void)state;
	Graph *g = import_ok(resnet18);
	/* stem 4 + 8 blocks x 7 + 3 downsample x 2 + head 3 */
	assert_int_equal(g->n_nodes, 4 + 8 * 7 + 3 * 2 + 3);
	assert_string_equal(g->name, "resnet18");
	assert_int_equal(g->n_inputs, 1);
	assert_string_equal(g->tensors[g->inputs[0]].name, "input");
	assert_dims(&g->tensors[g->inputs[0]], 4, 1, 3, 224, 224);
	assert_int_equal(g->n_outputs, 1);
	assert_string_equal(g->tensors[g->outputs[0]].name, "logits");
	assert_true(g->tensors[g->outputs[0]].is_output);

	static const char *const order[][2] = {
		{"conv1", "Conv"}, {"bn1", "BatchNormalization"}, {"relu", "Relu"}, {"maxpool", "MaxPool"},
		{"layer1.0.conv1", "Conv"}, {"layer1.0.bn1", "BatchNormalization"}, {"layer1.0.relu", "Relu"},
		{"layer1.0.conv2", "Conv"}, {"layer1.0.bn2", "BatchNormalization"}, {"layer1.0.add", "Add"},
		{"layer1.0.relu_1", "Relu"},
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		assert_string_equal(g->nodes[i].name, order[i][0]);
		assert_string_equal(g->nodes[i].op_type, order[i][1]);
	}
	const Node *n = find_node(g, "conv1");
	assert_int_equal(n->n_in, 2); /* bias=False */
	assert_string_equal(node_input_name(g, n, 0), "input");
	assert_string_equal(node_input_name(g, n, 1), "conv1.weight");
	assert_dims(find_tensor(g, "conv1.weight"), 4, 64, 3, 7, 7);
	assert_ints(n, "kernel_shape", 2, 7);
	assert_ints(n, "strides", 2, 2);
	assert_ints(n, "pads", 4, 3);
	assert_ints(n, "dilations", 2, 1);
	assert_int_equal(attr_int(n, "group", 0), 1);
	n = find_node(g, "bn1");
	assert_int_equal(n->n_in, 5);
	assert_string_equal(node_input_name(g, n, 1), "bn1.weight");
	assert_string_equal(node_input_name(g, n, 2), "bn1.bias");
	assert_string_equal(node_input_name(g, n, 3), "bn1.running_mean");
	assert_string_equal(node_input_name(g, n, 4), "bn1.running_var");
	assert_float_equal(attr_float(n, "epsilon", 0), 1e-5f, 0);
	n = find_node(g, "maxpool");
	assert_ints(n, "kernel_shape", 2, 3);
	assert_ints(n, "strides", 2, 2);
	assert_ints(n, "pads", 4, 1);
	assert_int_equal(attr_int(n, "ceil_mode", 1), 0);

	/* The first block of a stage downsamples when stride or width change. */
	assert_null(find_node(g, "layer1.0.downsample.0"));
	n = find_node(g, "layer2.0.conv1");
	assert_ints(n, "strides", 2, 2);
	n = find_node(g, "layer2.0.downsample.0");
	assert_non_null(n);
	assert_string_equal(node_input_name(g, n, 0), "layer1.1.relu_1");
	assert_ints(n, "strides", 2, 2);
	assert_ints(n, "pads", 4, 0);
	assert_dims(find_tensor(g, "layer2.0.downsample.0.weight"), 4, 128, 64, 1, 1);
	assert_non_null(find_node(g, "layer2.0.downsample.1"));
	assert_null(find_node(g, "layer2.1.downsample.0"));
	n = find_node(g, "layer2.0.add");
	assert_string_equal(node_input_name(g, n, 0), "layer2.0.bn2");
	assert_string_equal(node_input_name(g, n, 1), "layer2.0.downsample.1");
	n = find_node(g, "layer1.1.add");
	assert_string_equal(node_input_name(g, n, 1), "layer1.0.relu_1");

	n = &g->nodes[g->n_nodes - 3];
	assert_string_equal(n->name, "avgpool");
	assert_string_equal(n->op_type, "GlobalAveragePool");
	assert_string_equal(node_input_name(g, n, 0), "layer4.1.relu_1");
	n = &g->nodes[g->n_nodes - 2];
	assert_string_equal(n->op_type, "Flatten");
	assert_int_equal(attr_int(n, "axis", 0), 1);
	n = &g->nodes[g->n_nodes - 1];
	assert_string_equal(n->name, "fc");
	assert_string_equal(n->op_type, "Gemm");
	assert_int_equal(attr_int(n, "transB", 0), 1);
	assert_dims(find_tensor(g, "fc.weight"), 2, 1000, 512, 0, 0);
	assert_dims(find_tensor(g, "fc.bias"), 1, 1000, 0, 0, 0);
	graph_free(g);
}

static void test_bottleneck_strides_the_3x3_and_groups_it(void **state)
{
	(void)state;
	/* resnext50_32x4d: width = int(planes * 4 / 64) * 32 */
	Graph *g = import_ok("resnetc: 1\ninput: [1, 3, 64, 64]\nblock: bottleneck\nstages: [3, 4, 6, 3]\n"
			     "groups: 32\nwidth_per_group: 4\nclasses: 1000\ninit: {seed: 1}\n");
	assert_int_equal(g->n_nodes, 4 + 16 * 10 + 4 * 2 + 3);
	const Node *n = find_node(g, "layer2.0.conv1");
	assert_ints(n, "strides", 2, 1);
	assert_dims(find_tensor(g, "layer2.0.conv1.weight"), 4, 256, 256, 1, 1);
	n = find_node(g, "layer2.0.conv2");
	assert_ints(n, "strides", 2, 2);
	assert_int_equal(attr_int(n, "group", 0), 32);
	assert_dims(find_tensor(g, "layer2.0.conv2.weight"), 4, 256, 8, 3, 3);
	assert_dims(find_tensor(g, "layer2.0.conv3.weight"), 4, 512, 256, 1, 1);
	assert_dims(find_tensor(g, "layer2.0.downsample.0.weight"), 4, 512, 256, 1, 1);
	/* layer1.0 widens 64 -> 256 at stride 1: a downsample branch all the same */
	assert_non_null(find_node(g, "layer1.0.downsample.0"));
	assert_ints(find_node(g, "layer1.0.downsample.0"), "strides", 2, 1);
	assert_non_null(find_node(g, "layer1.0.relu_2"));
	assert_dims(find_tensor(g, "fc.weight"), 2, 1000, 2048, 0, 0);
	graph_free(g);

	/* wide_resnet50_2's widths (one block per stage: the shapes are the same) */
	g = import_ok("resnetc: 1\ninput: [1, 3, 64, 64]\nblock: bottleneck\nstages: [1, 1, 1, 1]\n"
		      "width_per_group: 128\nclasses: 1000\ninit: {seed: 1}\n");
	assert_dims(find_tensor(g, "layer1.0.conv1.weight"), 4, 128, 64, 1, 1);
	assert_dims(find_tensor(g, "layer4.0.conv2.weight"), 4, 1024, 1024, 3, 3);
	assert_dims(find_tensor(g, "layer4.0.conv3.weight"), 4, 2048, 1024, 1, 1);
	graph_free(g);
}

static void test_cifar_stem_and_per_stage_keys(void **state)
{
	(void)state;
	/* The demo model: 3x3 stride-1 stem, no max pool, widths and strides given. */
	Graph *g = import_ok("resnetc: 1\ninput: [1, 1, 28, 28]\nblock: basic\nstages: [2, 2, 2]\n"
			     "widths: [16, 32, 64]\nstrides: [1, 2, 2]\nstem: {kernel: 3, stride: 1, pool: none}\n"
			     "classes: 10\ninit: {seed: 1}\n");
	assert_null(find_node(g, "maxpool"));
	const Node *n = find_node(g, "conv1");
	assert_ints(n, "kernel_shape", 2, 3);
	assert_ints(n, "strides", 2, 1);
	assert_ints(n, "pads", 4, 1);
	assert_dims(find_tensor(g, "conv1.weight"), 4, 16, 1, 3, 3);
	assert_string_equal(node_input_name(g, find_node(g, "layer1.0.conv1"), 0), "relu");
	assert_null(find_node(g, "layer1.0.downsample.0"));
	assert_null(find_node(g, "layer4.0.conv1"));
	assert_dims(find_tensor(g, "fc.weight"), 2, 10, 64, 0, 0);
	graph_free(g);

	/* A stride of 1 in stage 2 and a narrower stem: downsample only for width. */
	g = import_ok("resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: [1, 1]\nwidth: 16\n"
		      "strides: [2, 1]\nstem: {kernel: 5, stride: 1, padding: 0, channels: 8}\nclasses: 10\n"
		      "init: {seed: 1}\n");
	assert_ints(find_node(g, "conv1"), "pads", 4, 0);
	assert_dims(find_tensor(g, "conv1.weight"), 4, 8, 3, 5, 5);
	assert_ints(find_node(g, "layer1.0.downsample.0"), "strides", 2, 2);
	assert_dims(find_tensor(g, "layer1.0.downsample.0.weight"), 4, 16, 8, 1, 1);
	assert_ints(find_node(g, "layer2.0.downsample.0"), "strides", 2, 1);
	assert_dims(find_tensor(g, "layer2.0.conv1.weight"), 4, 32, 16, 3, 3);
	graph_free(g);
}

static double stddev(const float *v, int64_t n, double *mean)
{
	double s = 0, s2 = 0;
	for (int64_t i = 0; i < n; i++)
		s += v[i], s2 += (double)v[i] * v[i];
	*mean = s / n;
	return sqrt(s2 / n - *mean * *mean);
}

static void test_init_is_seeded_he_normal_with_identity_batchnorm(void **state)
{
	(void)state;
	Graph *a = import_ok(resnet18), *b = import_ok(resnet18);
	for (int i = 0; i < a->n_tensors; i++)
		if (a->tensors[i].kind == T_CONST)
			assert_memory_equal(a->tensors[i].data, b->tensors[i].data, tensor_bytes(&a->tensors[i]));
	/* Bit-exact on every platform (no libm in the generator): these values
	 * were produced by x86-64 and must come out the same anywhere. */
	const float *w = find_tensor(a, "conv1.weight")->data;
	assert_true(w[0] == -0x1.fd1272p-6f && w[1] == -0x1.b28c24p-7f && w[9407] == 0x1.00a3b4p-7f);
	assert_true(((float *)find_tensor(a, "fc.weight")->data)[0] == 0x1.4da078p-5f);
	uint64_t h = 1469598103934665603u; /* FNV-1a over all constants' bytes */
	for (int i = 0; i < a->n_tensors; i++)
		for (size_t k = 0; a->tensors[i].kind == T_CONST && k < tensor_bytes(&a->tensors[i]); k++)
			h = (h ^ ((unsigned char *)a->tensors[i].data)[k]) * 1099511628211u;
	assert_int_equal(h, 0xdd6250fb7149c05bu);

	const Tensor *t = find_tensor(a, "layer4.0.conv2.weight");
	double mean, sd = stddev(t->data, tensor_numel(t), &mean);
	double want = sqrt(2.0 / (512 * 9)); /* fan_out */
	assert_true(fabs(sd / want - 1) < 0.01 && fabs(mean) < 0.01 * want);
	t = find_tensor(a, "fc.weight");
	const float *v = t->data;
	float bound = 1 / sqrtf(512); /* PyTorch's Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
	float lo = 1, hi = -1;
	for (int64_t i = 0; i < tensor_numel(t); i++)
		lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
	assert_true(lo >= -bound && hi <= bound && lo < -0.99f * bound && hi > 0.99f * bound);
	static const char *const bn[][2] = {{"weight", "1"}, {"bias", "0"}, {"running_mean", "0"}, {"running_var", "1"}};
	for (int k = 0; k < 4; k++) {
		char name[64];
		snprintf(name, sizeof name, "layer3.1.bn2.%s", bn[k][0]);
		t = find_tensor(a, name);
		for (int64_t i = 0; i < tensor_numel(t); i++)
			assert_true(((float *)t->data)[i] == (bn[k][1][0] == '1' ? 1.0f : 0.0f));
	}
	graph_free(b);

	/* Another seed, other values; a tensor does not depend on the rest of the net. */
	char other[sizeof resnet18 + 8];
	snprintf(other, sizeof other, "%s", resnet18);
	strstr(other, "seed: 1")[6] = '2';
	b = import_ok(other);
	assert_true(((float *)find_tensor(b, "conv1.weight")->data)[0] != w[0]);
	graph_free(b);
	b = import_ok("resnetc: 1\ninput: [1, 3, 64, 64]\nblock: basic\nstages: [2, 2]\nclasses: 7\ninit: {seed: 1}\n");
	assert_memory_equal(find_tensor(b, "layer1.1.conv2.weight")->data, find_tensor(a, "layer1.1.conv2.weight")->data,
			    64 * 64 * 9 * sizeof(float));
	graph_free(b);
	graph_free(a);
}

static void test_input_shape_option_replaces_the_input(void **state)
{
	(void)state;
	ShapePin pin;
	Diag d;
	assert_int_equal(shape_pin_parse("input=4x3x32x32", &pin, &d), 0);
	ImportOptions opt = {.pins = &pin, .n_pins = 1};
	Graph *g = import_text(resnet18, &opt, &d);
	assert_non_null(g);
	assert_dims(&g->tensors[g->inputs[0]], 4, 4, 3, 32, 32);
	graph_free(g);
	assert_int_equal(shape_pin_parse("1x1x32x32", &pin, &d), 0);
	assert_null(import_text(resnet18, &opt, &d));
	assert_string_equal(d.msg, "--input-shape must be Nx3xHxW, with the channel count of 'input'");
	assert_int_equal(shape_pin_parse("x=1x3x32x32", &pin, &d), 0);
	assert_null(import_text(resnet18, &opt, &d));
	assert_string_equal(d.msg, "--input-shape names 'x'; the model's only input is 'input'");
}

/* ---------------------------------------------------------------- weights */

static const char small[] =
	"resnetc: 1\n"
	"input: [1, 2, 8, 8]\n"
	"block: basic\n"
	"stages: [1, 1]\n"
	"widths: [4, 8]\n"
	"stem: {kernel: 3, stride: 1, pool: none}\n"
	"classes: 3\n"
	"weights: w.safetensors\n";

typedef struct {
	const char *dtype;    /* "F32", "F16", "BF16" */
	const char *drop;     /* leave this tensor out */
	const char *reshape;  /* store this one with its first dim + 1 */
	const char *extra;    /* add a tensor of this name */
	int bad_dtype;        /* store fc.bias as I32 */
} WeightsCase;

static void put_f16(unsigned char *p, float f)
{
	/* Exact for the values used here (multiples of 1/32, below 4). */
	uint32_t b;
	memcpy(&b, &f, 4);
	uint16_t h = 0;
	if (f != 0) {
		int e = (int)(b >> 23 & 0xff) - 127 + 15;
		h = (uint16_t)((b >> 16 & 0x8000) | e << 10 | (b >> 13 & 0x3ff));
	}
	p[0] = (unsigned char)h;
	p[1] = (unsigned char)(h >> 8);
}

/* Writes dir/w.safetensors holding the constants of g (as a state_dict,
 * plus num_batches_tracked entries), altered as c says. */
static void write_weights(const Graph *g, const WeightsCase *c)
{
	char header[16384] = "{\"__metadata__\": {\"format\": \"pt\"}";
	size_t hk = strlen(header);
	unsigned char *data = calloc(1, 1 << 20);
	size_t dk = 0;
	int elem = !strcmp(c->dtype, "F32") ? 4 : 2;
	for (int i = 0; i < g->n_tensors + 2; i++) {
		const Tensor *t = i < g->n_tensors ? &g->tensors[i] : NULL;
		char name[128], shape[64] = "";
		int64_t n = 1;
		const char *dt = c->dtype;
		if (t && (t->kind != T_CONST || (c->drop && !strcmp(t->name, c->drop))))
			continue;
		if (t) {
			snprintf(name, sizeof name, "%s", t->name);
			for (int k = 0; k < t->rank; k++) {
				int64_t dim = t->dims[k] + (k == 0 && c->reshape && !strcmp(t->name, c->reshape));
				snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", k ? ", " : "", (long long)dim);
				n *= dim;
			}
		} else if (i == g->n_tensors) {
			snprintf(name, sizeof name, "layer1.0.bn1.num_batches_tracked");
			dt = "I64";
		} else if (c->extra) {
			snprintf(name, sizeof name, "%s", c->extra);
			snprintf(shape, sizeof shape, "2");
			n = 2;
		} else {
			continue;
		}
		if (t && c->bad_dtype && !strcmp(t->name, "fc.bias"))
			dt = "I32";
		size_t bytes = !strcmp(dt, "I64") ? 8 : !strcmp(dt, "I32") ? 4 * (size_t)n : (size_t)n * elem;
		for (int64_t k = 0; k < n; k++) {
			float v = t && k < tensor_numel(t) ? ((const float *)t->data)[k] : 0.5f;
			unsigned char *p = data + dk + k * (bytes / n);
			if (!strcmp(dt, "F32") || !strcmp(dt, "I32") || !strcmp(dt, "I64"))
				memcpy(p, &v, bytes / n < 4 ? bytes / n : 4);
			else if (!strcmp(dt, "F16"))
				put_f16(p, v);
			else {
				uint32_t bits;
				memcpy(&bits, &v, 4);
				p[0] = (unsigned char)(bits >> 16);
				p[1] = (unsigned char)(bits >> 24);
			}
		}
		hk += snprintf(header + hk, sizeof header - hk,
			       ", \"%s\": {\"dtype\": \"%s\", \"shape\": [%s], \"data_offsets\": [%zu, %zu]}", name, dt,
			       !strcmp(dt, "I64") ? "" : shape, dk, dk + bytes);
		dk += bytes;
	}
	hk += snprintf(header + hk, sizeof header - hk, "}");
	unsigned char *file = malloc(8 + hk + dk);
	for (int i = 0; i < 8; i++)
		file[i] = (unsigned char)((uint64_t)hk >> (8 * i));
	memcpy(file + 8, header, hk);
	memcpy(file + 8 + hk, data, dk);
	write_file("w.safetensors", file, 8 + hk + dk);
	free(file);
	free(data);
}

/* The constants of the small model as initialised, rounded to multiples of
 * 1/32 so F16 and BF16 hold them exactly. */
static Graph *small_reference(void)
{
	char text[sizeof small + 32];
	snprintf(text, sizeof text, "%.*sinit: {seed: 7}\n", (int)(strstr(small, "weights:") - small), small);
	Graph *g = import_ok(text);
	for (int i = 0; i < g->n_tensors; i++) {
		Tensor *t = &g->tensors[i];
		for (int64_t k = 0; t->kind == T_CONST && k < tensor_numel(t); k++) {
			float *v = &((float *)t->data)[k];
			*v = roundf(*v * 32) / 32 + (k % 3) * 0.25f;
		}
	}
	return g;
}

static void test_weights_load_from_f32_f16_bf16(void **state)
{
	(void)state;
	static const char *const dtypes[] = {"F32", "F16", "BF16"};
	Graph *ref = small_reference();
	for (int k = 0; k < 3; k++) {
		WeightsCase c = {dtypes[k], NULL, NULL, NULL, 0};
		write_weights(ref, &c);
		Graph *g = import_ok(small);
		int consts = 0;
		for (int i = 0; i < g->n_tensors; i++) {
			const Tensor *t = &g->tensors[i];
			if (t->kind != T_CONST)
				continue;
			consts++;
			const Tensor *r = find_tensor(ref, t->name);
			assert_non_null(r);
			assert_int_equal(t->rank, r->rank);
			assert_memory_equal(t->data, r->data, tensor_bytes(t));
		}
		/* stem 5, 2 blocks x 10, downsample 5, fc 2 */
		assert_int_equal(consts, 5 + 2 * 10 + 5 + 2);
		graph_free(g);
	}
	graph_free(ref);
}

static void test_weights_mismatches_name_the_key_and_shapes(void **state)
{
	(void)state;
	Graph *ref = small_reference();
	static const struct {
		WeightsCase c;
		const char *msg;
	} cases[] = {
		{{"F32", "layer2.0.downsample.1.running_var", NULL, NULL, 0},
		 "8:10: weights 'w.safetensors': tensor 'layer2.0.downsample.1.running_var' is missing (the model needs shape 8)"},
		{{"F32", NULL, "layer1.0.conv2.weight", NULL, 0},
		 "8:10: weights 'w.safetensors': tensor 'layer1.0.conv2.weight' has shape 5x4x3x3, the model needs 4x4x3x3"},
		{{"F32", NULL, NULL, "layer3.0.conv1.weight", 0},
		 "8:10: weights 'w.safetensors': unexpected tensor 'layer3.0.conv1.weight' (shape 2): the model described has no such parameter"},
		{{"F32", NULL, NULL, NULL, 1},
		 "8:10: weights 'w.safetensors': tensor 'fc.bias' has dtype I32; weights must be F32, F16, BF16 or F64"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_weights(ref, &cases[i].c);
		assert_string_equal(import_err(small), cases[i].msg);
	}
	graph_free(ref);
	write_file("w.safetensors", "\x10\0\0\0\0\0\0\0{\"a\": 1}", 16);
	assert_string_equal(import_err(small),
			    "8:10: weights 'w.safetensors': header length 16 runs past the end of the file (8 bytes follow it; truncated?)");
}

static void test_weights_path_must_stay_in_the_folder(void **state)
{
	(void)state;
	char text[512], cmd[512];
	static const struct {
		const char *path, *msg;
	} cases[] = {
		{"/etc/passwd", "8:10: weights: path '/etc/passwd' must be relative to the model's folder"},
		{"../w.safetensors", "8:10: weights: path '../w.safetensors' leaves the model's folder"},
		{"sub/../../w.safetensors", "8:10: weights: path 'sub/../../w.safetensors' leaves the model's folder"},
		{"out.safetensors", "8:10: weights: path 'out.safetensors' resolves outside the model's folder"},
		{"none.safetensors", "8:10: weights: 'none.safetensors': No such file or directory"},
	};
	snprintf(cmd, sizeof cmd, "ln -sf /etc/hostname '%s/out.safetensors'", dir);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, "%.*sweights: %s\n", (int)(strstr(small, "weights:") - small), small,
			 cases[i].path);
		assert_string_equal(import_err(text), cases[i].msg);
	}
}

/* ---------------------------------------------------------------- errors */

#define HEAD "resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: [1, 1]\nclasses: 10\n"

static const struct {
	const char *yaml, *msg;
} bad[] = {
	/* syntax, with libyaml's place */
	{"resnetc: 1\ninput: [1, 3, 32, 32\nblock: basic\n",
	 "3:6: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at 2:8)"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\n block: basic\n",
	 "3:2: invalid YAML: did not find expected key (while parsing a block mapping at 1:1)"},
	{"resnetc: 1\nname: \"a\tb\xff\"\n", "2:11: invalid YAML: invalid leading UTF-8 octet"},
	{"", "empty file: expected a ResNet description (resnetc: 1, input, block, stages, classes, weights)"},
	{"# only a comment\n", "empty file: expected a ResNet description (resnetc: 1, input, block, stages, classes, weights)"},
	{HEAD "init: {seed: 1}\n---\nresnetc: 1\n", "8:1: a second YAML document; the file must hold one description"},
	{"- resnetc: 1\n", "1:1: expected a mapping of keys (resnetc: 1, input: ..., block: ..., ...), found a list"},
	/* unknown keys, with near misses */
	{HEAD "init: {seed: 1}\nstem: {kernel: 3, stirde: 1}\n", "7:19: 'stirde': did you mean 'stride'?"},
	{HEAD "init: {seed: 1}\nstride: [1, 2]\n", "7:1: 'stride': did you mean 'strides'?"},
	{HEAD "init: {seed: 1}\nwidht: 32\n", "7:1: 'widht': did you mean 'width'?"},
	{HEAD "init: {seed: 1}\nnum_classes: 10\n", "7:1: 'num_classes': did you mean 'classes'?"},
	{HEAD "init: {seed: 1}\nkernel: 3\n", "7:1: 'kernel' belongs under 'stem' (stem: {kernel: ...})"},
	{HEAD "seed: 3\n", "6:1: 'seed' belongs under 'init' (init: {seed: 3})"},
	{HEAD "init: {seed: 1}\nstem: {colour: red}\n",
	 "7:8: unknown key 'colour' in stem (expected kernel, stride, padding, channels or pool)"},
	{HEAD "init: {seed: 1}\nfoo: 1\n",
	 "7:1: unknown key 'foo' (expected resnetc, name, input, block, stages, width, widths, strides, groups, "
	 "width_per_group, stem, classes, weights or init)"},
	{HEAD "init: {seed: 1, sed: 2}\n", "6:17: 'sed': did you mean 'seed'?"},
	{HEAD "init: {seed: 1}\n[a]: 1\n", "7:1: keys must be plain names"},
	/* missing and repeated keys */
	{"input: [1, 3, 32, 32]\n", "1:1: missing 'resnetc: 1' (the format version) at the top"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nclasses: 10\ninit: {seed: 1}\n",
	 "1:1: missing required key 'stages'"},
	{HEAD, "1:1: missing 'weights: FILE.safetensors' (or 'init: {seed: 1}' for random weights)"},
	{HEAD "init: {seed: 1}\nclasses: 3\n", "7:1: 'classes' is given twice (first at 5:1)"},
	{HEAD "init: {seed: 1}\nweights: w.safetensors\n",
	 "7:10: give either 'weights' (a safetensors file) or 'init' (random weights), not both"},
	{HEAD "init: {}\n", "6:7: 'init' needs a seed, e.g. init: {seed: 1}"},
	/* types and values */
	{"resnetc: 2\n", "1:10: format version 2 is not supported (this resnetc reads version 1)"},
	{"resnetc: \"1\"\n", "1:10: 'resnetc' must be a non-negative integer, not the string \"1\""},
	{"resnetc: 1\ninput: [1, 3, 32]\nblock: basic\nstages: [1]\nclasses: 10\ninit: {seed: 1}\n",
	 "2:8: 'input' must have 4 entries, it has 3"},
	{"resnetc: 1\ninput: 224\nblock: basic\nstages: [1]\nclasses: 10\ninit: {seed: 1}\n",
	 "2:8: 'input' must be a list of positive integers up to 1048576 like [1, 3, 224, 224], not 224"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: 3\nclasses: 10\ninit: {seed: 1}\n",
	 "4:9: 'stages' must be a list of positive integers up to 1000 like [3, 4, 6, 3], not 3"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: [2, -1]\nclasses: 10\ninit: {seed: 1}\n",
	 "4:13: 'stages' must be a list of positive integers up to 1000; entry 2 is -1"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: [2, \"2\"]\nclasses: 10\ninit: {seed: 1}\n",
	 "4:13: 'stages' must be a list of positive integers up to 1000; entry 2 is the string \"2\""},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: basic\nstages: []\nclasses: 10\ninit: {seed: 1}\n",
	 "4:9: 'stages' must have 1 to 16 entries, it has 0"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: bottlenek\nstages: [1]\nclasses: 10\ninit: {seed: 1}\n",
	 "3:8: 'block': unknown block 'bottlenek': did you mean 'bottleneck'?"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: resnet\nstages: [1]\nclasses: 10\ninit: {seed: 1}\n",
	 "3:8: 'block' must be basic or bottleneck, not 'resnet'"},
	{HEAD "init: {seed: 1}\nwidth: 64.0\n", "7:8: 'width' must be a positive integer up to 65536, not 64.0"},
	{HEAD "init: {seed: 1}\nwidth: -8\n", "7:8: 'width' must be a positive integer up to 65536, not -8"},
	{HEAD "init: {seed: 1}\nwidth: 99999999999999999999\n",
	 "7:8: 'width' must be a positive integer up to 65536, not 99999999999999999999"},
	{HEAD "init: {seed: -1}\n", "6:14: 'seed' must be a non-negative integer, not -1"},
	{HEAD "init: 1\n", "6:7: 'init' must be a mapping like {seed: 1}, not 1"},
	{HEAD "init: {seed: 1}\nname: [a]\n", "7:7: 'name' must be a string, not a list"},
	{HEAD "weights:\n", "6:9: 'weights' must be a string, not empty"},
	{HEAD "init: {seed: 1}\nwidths: [8, 16, 32]\n", "7:9: 'widths' has 3 entries, 'stages' has 2: give one width per stage"},
	{HEAD "init: {seed: 1}\nstrides: [1, 0]\n", "7:14: 'strides' must be a list of positive integers up to 16; entry 2 is 0"},
	{HEAD "init: {seed: 1}\nwidth: 8\nwidths: [8, 16]\n",
	 "8:9: give either 'width' (the first stage's, doubled per stage) or 'widths', not both"},
	{HEAD "init: {seed: 1}\ngroups: 32\n",
	 "7:9: 'groups' must be 1 with block: basic (grouped convolutions need bottleneck blocks, as in torchvision)"},
	{HEAD "init: {seed: 1}\nwidth_per_group: 128\n",
	 "7:18: 'width_per_group' must be 64 with block: basic (it sets the width of bottleneck blocks, as in torchvision)"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: bottleneck\nstages: [1]\nwidth: 8\nwidth_per_group: 4\n"
	 "classes: 10\ninit: {seed: 1}\n",
	 "6:18: stage 1 gets a bottleneck width of 0 (int(8 * 4 / 64) * groups)"},
	{HEAD "init: {seed: 1}\nstem: 7\n", "7:7: 'stem' must be a mapping like {kernel: 7, stride: 2, pool: max}, not 7"},
	{HEAD "init: {seed: 1}\nstem: {kernel: 0}\n", "7:16: 'kernel' must be a positive integer up to 31, not 0"},
	{HEAD "init: {seed: 1}\nstem: {kernel: 3, padding: 3}\n",
	 "7:28: 'padding' must be a non-negative integer up to 2, not 3"},
	{HEAD "init: {seed: 1}\nstem: {pool: avg}\n",
	 "7:14: 'pool' must be max (3x3, stride 2, padding 1) or none, not 'avg'"},
	{"resnetc: 1\ninput: [1, 3, 32, 32]\nblock: bottleneck\nstages: [3, 4, 6, 3]\nwidth: 65536\ngroups: 65536\n"
	 "width_per_group: 65536\nclasses: 10\ninit: {seed: 1}\n",
	 "4:9: the network described has more than 2147483648 parameters; too large"},
	{"resnetc: 1\ninput: [1, 3, 4, 4]\nblock: basic\nstages: [1]\nstem: {kernel: 7, padding: 0}\nclasses: 10\n"
	 "init: {seed: 1}\n",
	 "2:8: input of 4x4 pixels is too small for this network (the stem and strides shrink it to nothing)"},
};

static void test_mistakes_get_located_messages(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *msg = import_err(bad[i].yaml);
		if (strcmp(msg, bad[i].msg))
			fail_msg("case %zu:\n%s\n  gave: %s\n  want: %s", i, bad[i].yaml, msg, bad[i].msg);
	}
}

/* The good parts of the YAML language work: comments, flow and block
 * style, anchors, quoted strings, null stem. */
static void test_yaml_styles_are_accepted(void **state)
{
	(void)state;
	Graph *g = import_ok("# a ResNet\nresnetc: 1   # version\nname: 'my net'\n"
			     "input:\n  - 1\n  - 3\n  - 32\n  - 32\nblock: \"basic\"\n"
			     "stages: &s [1, 1]\nstem:\nclasses: 10\ninit:\n  seed: 0\n...\n");
	assert_string_equal(g->name, "my net");
	assert_non_null(find_node(g, "maxpool"));
	assert_non_null(find_node(g, "layer2.0.relu_1"));
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resnet18_is_the_torchvision_export_graph),
		cmocka_unit_test(test_bottleneck_strides_the_3x3_and_groups_it),
		cmocka_unit_test(test_cifar_stem_and_per_stage_keys),
		cmocka_unit_test(test_init_is_seeded_he_normal_with_identity_batchnorm),
		cmocka_unit_test(test_input_shape_option_replaces_the_input),
		cmocka_unit_test(test_weights_load_from_f32_f16_bf16),
		cmocka_unit_test(test_weights_mismatches_name_the_key_and_shapes),
		cmocka_unit_test(test_weights_path_must_stay_in_the_folder),
		cmocka_unit_test(test_mistakes_get_located_messages),
		cmocka_unit_test(test_yaml_styles_are_accepted),
	};
	return cmocka_run_group_tests_name("yaml_import", tests, setup, teardown);
}
