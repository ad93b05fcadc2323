/*
 * YAML front end: a ResNet described in a few lines (docs/yaml.md,
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
 *
 * The front end's parts, which share this header:
 *   yaml_import.c  the entry: the file parsed, the graph built twice (a dry
 *                  run that counts parameters, then with the weights)
 *   yaml_access.c  typed access to libyaml's nodes, errors with a place
 *   yaml_spec.c    the description read and validated, with hints
 *   yaml_build.c   the torchvision ResNet graph and its parameters
 *   yaml_init.c    reproducible random weights (init: {seed: N})
 */
#ifndef RESNETC_YAML_INTERNAL_H
#define RESNETC_YAML_INTERNAL_H

#include <yaml.h>

#include "frontend.h"
#include "safetensors.h"

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

/* ---- yaml_access.c ---- */
Loc y_loc(const yaml_node_t *n);
/* "LINE:COL: what" into d; returns -1. */
int y_err(Diag *d, Loc at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define y_node_err(d, n, ...) y_err(d, y_loc(n), __VA_ARGS__)
const char *y_scalar(const yaml_node_t *n);  /* NULL unless a scalar */
int y_is_plain(const yaml_node_t *n);
int y_is_null(const yaml_node_t *n);
const char *y_kind_name(const yaml_node_t *n);
int y_as_int(const yaml_node_t *n, int64_t *v);
const char *y_range_words(int64_t lo, int64_t hi, int plural, char *buf, size_t len);
const char *y_describe(const yaml_node_t *n, char *buf, size_t len);
int y_get_int(Diag *d, const yaml_node_t *n, const char *key, int64_t lo, int64_t hi, int64_t *out);
int y_seq_len(const yaml_node_t *n);
int y_get_int_list(Diag *d, yaml_document_t *doc, const yaml_node_t *n, const char *key, int want, int max,
		   int64_t lo, int64_t hi, int64_t *out, int *count);
int y_get_string(Diag *d, const yaml_node_t *n, const char *key, const char **out);
/* The word of words[] s is a likely typo of, or NULL. */
const char *y_near_miss(const char *s, const char *const *words, int n);
void y_list_words(const char *const *words, int n, char *buf, size_t len);

/* ---- yaml_spec.c ---- */
int y_read_spec(Diag *d, yaml_document_t *doc, const yaml_node_t *root, const ImportOptions *opt, Spec *s);

/* ---- yaml_init.c ---- */
typedef enum { INIT_CONV, INIT_ONE, INIT_ZERO, INIT_FC } InitKind;
/* n values of tensor `name` for init: {seed}; fan as yaml_build's param. */
void y_init_values(const Spec *s, const char *name, InitKind kind, int64_t fan, float *v, int64_t n);

/* ---- yaml_build.c ---- */
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

int y_weights_err(Builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The graph into b->g (b->count_only: shapes and the parameter count only). */
int y_build(Builder *b);

#endif
