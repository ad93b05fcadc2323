/* The ONNX front end on models built here with the protobuf-c bindings:
 * what it accepts, and the one-line errors for what it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"
#include "onnx.pb-c.h"

#define TEST_DIR_TAG "onnx"
#include "test_dir.h"

/* A model builder on the stack: one graph with up to 8 of everything. */
typedef struct {
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto ops, *opsp;
	Onnx__NodeProto nodes[8], *nodep[8];
	Onnx__TensorProto inits[8], *initp[8];
	Onnx__ValueInfoProto vin[8], *vinp[8], vout[8], *voutp[8];
	Onnx__TypeProto types[16];
	Onnx__TypeProto__Tensor ttypes[16];
	Onnx__TensorShapeProto shapes[16];
	Onnx__TensorShapeProto__Dimension dims[16][8], *dimp[16][8];
	int n_types;
} Model;

static void model_init(Model *b, int opset)
{
	memset(b, 0, sizeof *b);
	onnx__model_proto__init(&b->m);
	onnx__graph_proto__init(&b->g);
	onnx__operator_set_id_proto__init(&b->ops);
	b->ops.domain = "";
	b->ops.has_version = 1;
	b->ops.version = opset;
	b->opsp = &b->ops;
	b->m.n_opset_import = 1;
	b->m.opset_import = &b->opsp;
	b->m.has_ir_version = 1;
	b->m.ir_version = 7;
	b->m.graph = &b->g;
	b->g.name = "g";
	b->g.node = b->nodep;
	b->g.initializer = b->initp;
	b->g.input = b->vinp;
	b->g.output = b->voutp;
}

/* dims: a value per axis; -1 stands for a symbolic dimension "N", -2 for
 * one with neither a value nor a name. */
static Onnx__TypeProto *tensor_type(Model *b, int rank, const int64_t *dims)
{
	int k = b->n_types++;
	Onnx__TypeProto *t = &b->types[k];
	onnx__type_proto__init(t);
	onnx__type_proto__tensor__init(&b->ttypes[k]);
	onnx__tensor_shape_proto__init(&b->shapes[k]);
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = &b->ttypes[k];
	b->ttypes[k].has_elem_type = 1;
	b->ttypes[k].elem_type = 1;
	b->ttypes[k].shape = &b->shapes[k];
	b->shapes[k].n_dim = rank;
	b->shapes[k].dim = b->dimp[k];
	for (int i = 0; i < rank; i++) {
		Onnx__TensorShapeProto__Dimension *d = &b->dims[k][i];
		onnx__tensor_shape_proto__dimension__init(d);
		if (dims[i] >= 0) {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d->dim_value = dims[i];
		} else if (dims[i] == -1) {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d->dim_param = "N";
		}
		b->dimp[k][i] = d;
	}
	return t;
}

static void add_input(Model *b, const char *name, int rank, const int64_t *dims)
{
	Onnx__ValueInfoProto *v = &b->vin[b->g.n_input];
	onnx__value_info_proto__init(v);
	v->name = (char *)name;
	v->type = tensor_type(b, rank, dims);
	b->vinp[b->g.n_input++] = v;
}

static void add_output(Model *b, const char *name)
{
	Onnx__ValueInfoProto *v = &b->vout[b->g.n_output];
	onnx__value_info_proto__init(v);
	v->name = (char *)name;
	b->voutp[b->g.n_output++] = v;
}

static Onnx__TensorProto *add_init(Model *b, const char *name, int rank, int64_t *dims, const float *data, size_t bytes)
{
	Onnx__TensorProto *t = &b->inits[b->g.n_initializer];
	onnx__tensor_proto__init(t);
	t->name = (char *)name;
	t->has_data_type = 1;
	t->data_type = 1;
	t->n_dims = rank;
	t->dims = dims;
	if (data) {
		t->has_raw_data = 1;
		t->raw_data.data = (uint8_t *)data;
		t->raw_data.len = bytes;
	}
	b->initp[b->g.n_initializer++] = t;
	return t;
}

static void add_node(Model *b, const char *name, const char *op, char **in, int n_in, char **out, int n_out)
{
	Onnx__NodeProto *n = &b->nodes[b->g.n_node];
	onnx__node_proto__init(n);
	n->name = (char *)name;
	n->op_type = (char *)op;
	n->input = in;
	n->n_input = n_in;
	n->output = out;
	n->n_output = n_out;
	b->nodep[b->g.n_node++] = n;
}

static const char *save(Model *b, const char *file)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	size_t len = onnx__model_proto__get_packed_size(&b->m);
	uint8_t *buf = malloc(len);
	onnx__model_proto__pack(&b->m, buf);
	FILE *f = fopen(path, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	return path;
}

static const char *save_bytes(const char *file, const void *data, size_t len)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	return path;
}

static float w16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static int64_t wdims[2] = {4, 4};
static char *in_x[] = {"x", "w"}, *out_y[] = {"y"};

/* x[2,4] @ w[4,4] -> y */
static void matmul_model(Model *b, int64_t batch)
{
	model_init(b, 13);
	add_input(b, "x", 2, (int64_t[]){batch, 4});
	add_init(b, "w", 2, wdims, w16, sizeof w16);
	add_node(b, "mm", "MatMul", in_x, 2, out_y, 1);
	add_output(b, "y");
}

static void test_valid_model_imports_with_weights(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	Diag d;
	Graph *g = onnx_import(save(&b, "ok.onnx"), NULL, &d);
	assert_non_null(g);
	assert_int_equal(g->opset, 13);
	assert_int_equal(g->n_inputs, 1);
	assert_int_equal(g->n_outputs, 1);
	int w = graph_find_tensor(g, "w");
	assert_int_equal(g->tensors[w].kind, T_CONST);
	assert_memory_equal(g->tensors[w].data, w16, sizeof w16);
	assert_int_equal(g->n_nodes, 1);
	assert_string_equal(g->nodes[0].op_type, "MatMul");
	graph_free(g);
}

static void test_initializer_listed_as_input_is_a_constant(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	add_input(&b, "w", 2, wdims);
	Diag d;
	Graph *g = onnx_import(save(&b, "oldstyle.onnx"), NULL, &d);
	assert_non_null(g);
	assert_int_equal(g->n_inputs, 1);
	graph_free(g);
}

static void test_initializer_bytes_must_match_dims(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	b.inits[0].raw_data.len = 60;
	Diag d;
	assert_null(onnx_import(save(&b, "short.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "tensor 'w'"));
	assert_non_null(strstr(d.msg, "60 bytes"));
}

/* Notes the importer gives, kept instead of printed. */
static char notes[4][768];
static int n_notes;

static void keep_note(void *ctx, const char *line)
{
	(void)ctx;
	if (n_notes < 4)
		snprintf(notes[n_notes], sizeof notes[0], "%s", line);
	n_notes++;
}

/* x -> Relu -> y, x of the given shape; dim_param names set by the caller */
static void relu_model(Model *b, const char *input, int rank, const int64_t *dims)
{
	static char *in[1], *out[] = {"y"};
	in[0] = (char *)input;
	model_init(b, 13);
	add_input(b, input, rank, dims);
	add_node(b, "relu", "Relu", in, 1, out, 1);
	add_output(b, "y");
}

static void test_symbolic_batch_is_taken_as_one(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, -1);
	Diag d;
	const char *path = save(&b, "batch.onnx");
	ImportOptions opt = {.note = keep_note};
	n_notes = 0;
	Graph *g = onnx_import(path, &opt, &d);
	assert_non_null(g);
	assert_int_equal(g->tensors[g->inputs[0]].dims[0], 1);
	assert_int_equal(g->tensors[g->inputs[0]].dims[1], 4);
	graph_free(g);
	assert_int_equal(n_notes, 1);
	char want[512];
	snprintf(want, sizeof want,
		 "%s: input 'x' has a symbolic batch size 'N': using 1 (pin it with --input-shape x=Nx4)", path);
	assert_string_equal(notes[0], want);

	/* tf2onnx's [unk__0, 32, 32, 3] */
	relu_model(&b, "input_1", 4, (int64_t[]){-1, 32, 32, 3});
	b.dims[0][0].dim_param = "unk__0";
	path = save(&b, "tf.onnx");
	n_notes = 0;
	g = onnx_import(path, &opt, &d);
	assert_non_null(g);
	graph_free(g);
	snprintf(want, sizeof want,
		 "%s: input 'input_1' has a symbolic batch size 'unk__0': using 1 (pin it with --input-shape input_1=Nx32x32x3)",
		 path);
	assert_int_equal(n_notes, 1);
	assert_string_equal(notes[0], want);

	/* no dim_value and no name */
	relu_model(&b, "x", 2, (int64_t[]){-2, 5});
	path = save(&b, "unnamed.onnx");
	n_notes = 0;
	g = onnx_import(path, &opt, &d);
	assert_non_null(g);
	assert_int_equal(g->tensors[g->inputs[0]].dims[0], 1);
	graph_free(g);
	snprintf(want, sizeof want, "%s: input 'x' has a symbolic batch size: using 1 (pin it with --input-shape x=Nx5)",
		 path);
	assert_string_equal(notes[0], want);
}

static void test_symbolic_axis_past_the_batch_is_an_error_showing_the_models_dims(void **state)
{
	(void)state;
	Model b;
	Diag d;
	ImportOptions opt = {.note = keep_note};
	relu_model(&b, "input_1", 4, (int64_t[]){-1, -1, 32, 3});
	b.dims[0][0].dim_param = "unk__0";
	b.dims[0][1].dim_param = "unk__1";
	n_notes = 0;
	assert_null(onnx_import(save(&b, "tf2.onnx"), &opt, &d));
	assert_string_equal(d.msg, "input 'input_1' has a symbolic size at axis 1 ('unk__1'); pin it with "
				   "--input-shape input_1=1xD1x32x3 (Dn: the size of axis n)");
	assert_int_equal(n_notes, 0); /* the error says it all */

	relu_model(&b, "x", 4, (int64_t[]){2, 3, -1, -2});
	b.dims[0][2].dim_param = "height";
	assert_null(onnx_import(save(&b, "hw.onnx"), &opt, &d));
	assert_string_equal(d.msg, "input 'x' has a symbolic size at axis 2 ('height') and axis 3; pin it with "
				   "--input-shape x=2x3xD2xD3 (Dn: the size of axis n)");

	relu_model(&b, "x", 4, (int64_t[]){-1, -1, -1, -1});
	assert_null(onnx_import(save(&b, "all.onnx"), &opt, &d));
	assert_string_equal(d.msg, "input 'x' has a symbolic size at axis 1 ('N'), axis 2 ('N') and axis 3 ('N'); pin it "
				   "with --input-shape x=1xD1xD2xD3 (Dn: the size of axis n)");
}

static void test_input_shape_pins_symbolic_dims(void **state)
{
	(void)state;
	Model b;
	Diag d;
	ShapePin pin;
	ImportOptions opt = {.pins = &pin, .n_pins = 1, .note = keep_note};
	relu_model(&b, "input_1", 4, (int64_t[]){-1, -1, 32, 3});
	const char *path = save(&b, "pinned.onnx");
	assert_int_equal(shape_pin_parse("input_1=2x5x32x3", &pin, &d), 0);
	n_notes = 0;
	Graph *g = onnx_import(path, &opt, &d);
	assert_non_null(g);
	const Tensor *x = &g->tensors[g->inputs[0]];
	assert_int_equal(x->dims[0], 2);
	assert_int_equal(x->dims[1], 5);
	graph_free(g);
	assert_int_equal(n_notes, 0);

	/* the only input needs no name; the batch size is the pin's, no note */
	matmul_model(&b, -1);
	path = save(&b, "dyn.onnx");
	assert_int_equal(shape_pin_parse("3x4", &pin, &d), 0);
	g = onnx_import(path, &opt, &d);
	assert_non_null(g);
	assert_int_equal(g->tensors[g->inputs[0]].dims[0], 3);
	graph_free(g);
	assert_int_equal(n_notes, 0);

}

/* What onnx_import writes on stderr, read back from a file. */
static const char *import_stderr(const char *path, const ImportOptions *opt)
{
	static char buf[1024];
	char file[256];
	snprintf(file, sizeof file, "%s/stderr.txt", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(file, "w+");
	dup2(fileno(f), 2);
	Diag d;
	Graph *g = onnx_import(path, opt, &d);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	graph_free(g);
	rewind(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_notes_go_to_stderr_unless_quiet(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, -1);
	const char *path = save(&b, "note.onnx");
	char want[512];
	snprintf(want, sizeof want,
		 "resnetc: note: %s: input 'x' has a symbolic batch size 'N': using 1 (pin it with --input-shape x=Nx4)\n",
		 path);
	assert_string_equal(import_stderr(path, NULL), want);
	ImportOptions opt = {0};
	assert_string_equal(import_stderr(path, &opt), want);
	opt.quiet = 1;
	assert_string_equal(import_stderr(path, &opt), "");
}

static void test_input_shape_must_agree_with_fixed_dims(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	Diag d;
	ShapePin pin;
	assert_int_equal(shape_pin_parse("x=2x5", &pin, &d), 0);
	ImportOptions opt = {.pins = &pin, .n_pins = 1};
	assert_null(onnx_import(save(&b, "fixed.onnx"), &opt, &d));
	assert_non_null(strstr(d.msg, "fixes it at 4"));
	assert_int_equal(shape_pin_parse("x=2xq", &pin, &d), -1);
}

static void test_unknown_input_tensor_is_named(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	static char *bad[] = {"x", "nowhere"};
	b.nodes[0].input = bad;
	Diag d;
	assert_null(onnx_import(save(&b, "dangling.onnx"), NULL, &d));
	assert_string_equal(d.msg, "node 'mm' (MatMul): input 'nowhere' is not produced by any node, initializer or graph input");
}

static void test_cycle_is_reported(void **state)
{
	(void)state;
	Model b;
	model_init(&b, 13);
	add_input(&b, "x", 1, (int64_t[]){4});
	static char *a_in[] = {"x", "b"}, *a_out[] = {"a"}, *b_in[] = {"a"}, *b_out[] = {"b"};
	add_node(&b, "n1", "Add", a_in, 2, a_out, 1);
	add_node(&b, "n2", "Relu", b_in, 1, b_out, 1);
	add_output(&b, "b");
	Diag d;
	assert_null(onnx_import(save(&b, "cycle.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "cycle"));
}

static void test_empty_and_garbage_files(void **state)
{
	(void)state;
	Diag d;
	assert_null(onnx_import(save_bytes("empty.onnx", "", 0), NULL, &d));
	assert_string_equal(d.msg, "empty file");
	unsigned char junk[257];
	for (int i = 0; i < 257; i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	assert_null(onnx_import(save_bytes("junk.onnx", junk, sizeof junk), NULL, &d));
	assert_non_null(strstr(d.msg, "not an ONNX model"));
	assert_null(onnx_import("/nonexistent/m.onnx", NULL, &d));
	assert_non_null(strstr(d.msg, "cannot open"));
}

static void test_truncated_model_is_refused(void **state)
{
	(void)state;
	Model b;
	matmul_model(&b, 2);
	const char *path = save(&b, "full.onnx");
	size_t len;
	Diag d;
	unsigned char *buf = read_file(path, 1 << 20, &len, &d);
	assert_non_null(buf);
	assert_null(onnx_import(save_bytes("trunc.onnx", buf, len - 7), NULL, &d));
	free(buf);
}

static void external_model(Model *b, const char *location, const char *length)
{
	static Onnx__StringStringEntryProto kv[2], *kvp[2];
	matmul_model(b, 2);
	Onnx__TensorProto *t = &b->inits[0];
	t->has_raw_data = 0;
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	onnx__string_string_entry_proto__init(&kv[0]);
	onnx__string_string_entry_proto__init(&kv[1]);
	kv[0].key = "location";
	kv[0].value = (char *)location;
	kv[1].key = "length";
	kv[1].value = (char *)length;
	kvp[0] = &kv[0];
	kvp[1] = &kv[1];
	t->external_data = kvp;
	t->n_external_data = 2;
}

static void test_external_data(void **state)
{
	(void)state;
	Model b;
	Diag d;
	save_bytes("w.bin", w16, sizeof w16);
	external_model(&b, "w.bin", "64");
	Graph *g = onnx_import(save(&b, "ext.onnx"), NULL, &d);
	assert_non_null(g);
	assert_memory_equal(g->tensors[graph_find_tensor(g, "w")].data, w16, sizeof w16);
	graph_free(g);

	save_bytes("short.bin", w16, 40);
	external_model(&b, "short.bin", "64");
	assert_null(onnx_import(save(&b, "ext_short.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "too short"));

	external_model(&b, "missing.bin", "64");
	assert_null(onnx_import(save(&b, "ext_missing.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "missing.bin"));

	external_model(&b, "../w.bin", "64");
	assert_null(onnx_import(save(&b, "ext_escape.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "leaves the model's folder"));

	external_model(&b, "/etc/passwd", "64");
	assert_null(onnx_import(save(&b, "ext_abs.onnx"), NULL, &d));
	assert_non_null(strstr(d.msg, "must be relative"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_model_imports_with_weights),
		cmocka_unit_test(test_initializer_listed_as_input_is_a_constant),
		cmocka_unit_test(test_initializer_bytes_must_match_dims),
		cmocka_unit_test(test_symbolic_batch_is_taken_as_one),
		cmocka_unit_test(test_symbolic_axis_past_the_batch_is_an_error_showing_the_models_dims),
		cmocka_unit_test(test_input_shape_pins_symbolic_dims),
		cmocka_unit_test(test_notes_go_to_stderr_unless_quiet),
		cmocka_unit_test(test_input_shape_must_agree_with_fixed_dims),
		cmocka_unit_test(test_unknown_input_tensor_is_named),
		cmocka_unit_test(test_cycle_is_reported),
		cmocka_unit_test(test_empty_and_garbage_files),
		cmocka_unit_test(test_truncated_model_is_refused),
		cmocka_unit_test(test_external_data),
	};
	return cmocka_run_group_tests_name("onnx_import", tests, setup, teardown);
}
