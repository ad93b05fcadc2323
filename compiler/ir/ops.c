#include "ops.h"

#include <string.h>

#define MANY 1024

/* Sorted by family, then name; lookups are rare enough for a scan. */
static const OpDef op_table[] = {
	/* op_conv.c */
	{"Conv", 2, 3, 1, 1, lower_conv},
	{"BatchNormalization", 5, 5, 1, 5, lower_batchnorm},
	/* op_pool.c */
	{"MaxPool", 1, 1, 1, 2, lower_maxpool},
	{"AveragePool", 1, 1, 1, 1, lower_averagepool},
	{"GlobalAveragePool", 1, 1, 1, 1, lower_global_pool},
	{"GlobalMaxPool", 1, 1, 1, 1, lower_global_pool},
	{"ReduceMean", 1, 2, 1, 1, lower_reduce_mean},
	/* op_elementwise.c */
	{"Relu", 1, 1, 1, 1, lower_activation},
	{"LeakyRelu", 1, 1, 1, 1, lower_activation},
	{"Sigmoid", 1, 1, 1, 1, lower_activation},
	{"HardSigmoid", 1, 1, 1, 1, lower_activation},
	{"HardSwish", 1, 1, 1, 1, lower_activation},
	{"Clip", 1, 3, 1, 1, lower_clip},
	{"PRelu", 2, 2, 1, 1, lower_binary},
	{"Add", 2, 2, 1, 1, lower_binary},
	{"Sub", 2, 2, 1, 1, lower_binary},
	{"Mul", 2, 2, 1, 1, lower_binary},
	{"Div", 2, 2, 1, 1, lower_binary},
	{"Sum", 1, MANY, 1, 1, lower_binary},
	{"Max", 1, MANY, 1, 1, lower_binary},
	{"Min", 1, MANY, 1, 1, lower_binary},
	{"Softmax", 1, 1, 1, 1, lower_softmax},
	{"LogSoftmax", 1, 1, 1, 1, lower_softmax},
	{"Cast", 1, 1, 1, 1, lower_cast},
	/* op_gemm.c */
	{"Gemm", 2, 3, 1, 1, lower_gemm},
	{"MatMul", 2, 2, 1, 1, lower_matmul},
	/* op_shape.c */
	{"Identity", 1, 1, 1, 1, lower_identity},
	{"Dropout", 1, 3, 1, 2, lower_identity},
	{"Flatten", 1, 1, 1, 1, lower_flatten},
	{"Reshape", 1, 2, 1, 1, lower_reshape},
	{"Squeeze", 1, 2, 1, 1, lower_squeeze},
	{"Unsqueeze", 1, 2, 1, 1, lower_unsqueeze},
	{"Transpose", 1, 1, 1, 1, lower_transpose},
	{"Concat", 1, MANY, 1, 1, lower_concat},
	{"Pad", 1, 4, 1, 1, lower_pad},
	{"Constant", 0, 0, 1, 1, lower_constant},
	{"ConstantOfShape", 1, 1, 1, 1, lower_constant_of_shape},
	{"Shape", 1, 1, 1, 1, lower_shape},
	{"Gather", 2, 2, 1, 1, lower_gather},
	{"Slice", 1, 5, 1, 1, lower_slice},
	/* op_quant.c */
	{"QuantizeLinear", 2, 3, 1, 1, lower_quantize_linear},
	{"DequantizeLinear", 2, 3, 1, 1, lower_dequantize_linear},
	{"DynamicQuantizeLinear", 1, 1, 3, 3, lower_dynamic_quantize_linear},
	{"QLinearConv", 8, 9, 1, 1, lower_qlinear_conv},
	{"ConvInteger", 2, 4, 1, 1, lower_conv_integer},
	{"QLinearMatMul", 8, 8, 1, 1, lower_qlinear_matmul},
	{"MatMulInteger", 2, 4, 1, 1, lower_matmul_integer},
	/* op_quant.c: onnxruntime's com.microsoft operators */
	{"QLinearAdd", 7, 8, 1, 1, lower_qlinear_add},
	{"QLinearGlobalAveragePool", 4, 5, 1, 1, lower_qlinear_global_avg},
	{"QLinearAveragePool", 4, 5, 1, 1, lower_qlinear_avgpool},
	{"QGemm", 6, 9, 1, 1, lower_qgemm},
};

const OpDef *op_find(const char *op_type)
{
	for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
		if (strcmp(op_table[i].name, op_type) == 0)
			return &op_table[i];
	return NULL;
}
