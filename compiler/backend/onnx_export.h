/*
 * The ONNX writer (resnetc quantize): a Graph, as the passes left it,
 * serialized as an ONNX model that onnxruntime and resnetc itself read.
 *
 *   nodes         the live nodes, in order: op_type, name, inputs and
 *                 outputs by tensor name, every attribute with its type
 *   folded DQ     a constant a DequantizeLinear made at compile time (the
 *                 quantize pass's weights and biases; a QDQ model's, folded
 *                 by lowering) is written as that DequantizeLinear, with its
 *                 attributes and constant operands, before its first reader
 *   initializers  every other constant a written node reads: raw_data,
 *                 little-endian, with its type and dims
 *   inputs,       ValueInfo with the element type and the static shape
 *   outputs
 *
 * The model is ir_version 8 with the default domain only, at the graph's
 * opset raised to 13 if lower (per-axis DequantizeLinear needs 13); only
 * onnxruntime's com.microsoft operators that a QOperator model brings
 * (QLinearAdd, QLinearGlobalAveragePool, QGemm) are written in their
 * domain, with its opset 1 imported. What
 * changed form by opset 13 is written in the new form: the attributes
 * that became inputs (Squeeze and Unsqueeze axes, Clip min and max, Pad
 * pads and value, Slice starts, ends and axes, Reshape shape) as constant
 * inputs; attributes opset 13 no longer has (consumed_inputs, is_test,
 * spatial, Dropout's ratio, the broadcast flag) left out; the opset 6
 * broadcast of a constant B along `axis` as B reshaped; a Softmax or
 * LogSoftmax before opset 13 (over the dims from axis on, flattened) with
 * its axis made explicit where that is the same, and an error where not.
 *
 * Names: graph inputs and outputs keep theirs where they can; every
 * tensor and node written gets a unique, non-empty name (control
 * characters become '_', a name taken gets _1, _2, ...; an unnamed
 * tensor is tensor_N, an unnamed node OP_N).
 *
 * Nothing is printed and no file is touched: the caller writes the bytes.
 */
#ifndef RESNETC_ONNX_EXPORT_H
#define RESNETC_ONNX_EXPORT_H

#include <stddef.h>

#include "ir.h"

typedef struct {
	const char *doc;       /* in: the model's doc_string, or NULL */
	/* out: what was written */
	int opset;
	int nodes, quantize_nodes, dequantize_nodes;
	int initializers;
	int64_t initializer_bytes;
} OnnxExportInfo;

/* Serializes g. Returns 0 with *bytes (malloc'd, the caller frees it)
 * and *len, or -1 with d set (naming the node or tensor at fault). */
int onnx_export(const Graph *g, OnnxExportInfo *info, void **bytes, size_t *len, Diag *d);

#endif
