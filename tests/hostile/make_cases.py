#!/usr/bin/python3
"""Write the hostile inputs of tests/hostile/cases/ (see run_hostile.sh).

    tests/hostile/make_cases.py

Each file is one broken input that resnetc (.onnx, .yaml, .safetensors), a
compiled driver (.npy) or resnetc's calibration reader (calib_*.npy, given to
--quantize int8 --calibrate) must refuse with exit status 1 and one line on
stderr, writing nothing. Files named *.data.* are not cases but what cases refer to
(external data, weights); `link_out` is a symlink that leads out of the folder.
names/comment_injection.onnx is a valid model whose names try to write C code
into the compiled output.
Deterministic: the same bytes every run. Needs Debian's python3-numpy and
python3-onnx.
"""
import json
import os
import shutil
import struct

import numpy as np
from onnx import AttributeProto, TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- onnx

def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, ir=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def conv_model(w_shape=(4, 3, 3, 3), x_shape=(1, 3, 8, 8), **attrs):
    w = numpy_helper.from_array(np.ones(w_shape, np.float32), "w")
    n = helper.make_node("Conv", ["x", "w"], ["y"], "conv", **attrs)
    return model([n], [vi("x", list(x_shape))], [vi("y", None)], [w])


def relu_model(x_shape=(1, 3, 8, 8)):
    return model([helper.make_node("Relu", ["x"], ["y"], "relu")], [vi("x", list(x_shape))], [vi("y", None)])


def external(name, shape, location, offset=None, length=None):
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def ext_model(t):
    n = helper.make_node("Add", ["x", t.name], ["y"], "add")
    return model([n], [vi("x", list(t.dims))], [vi("y", None)], [t])


def onnx_cases():
    ok = conv_model().SerializeToString()
    put("onnx_empty.onnx", b"")
    put("onnx_not_protobuf.onnx", b"this is a text file, not a model\n")
    put("onnx_truncated.onnx", ok[: len(ok) // 2])
    put("onnx_random_bytes.onnx", bytes(np.random.default_rng(5).integers(0, 256, 2000, np.uint8)))
    from onnx import ModelProto
    put("onnx_no_graph.onnx", ModelProto(ir_version=8, opset_import=[helper.make_opsetid("", 13)]).SerializeToString())
    m = conv_model()
    del m.opset_import[:]
    put("onnx_no_opset.onnx", m.SerializeToString())
    m = conv_model()
    m.opset_import[0].domain = "com.example"
    put("onnx_only_custom_opset.onnx", m.SerializeToString())
    put("onnx_no_outputs.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1])], []).SerializeToString())
    put("onnx_output_not_produced.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1])],
                                               [vi("z", [1])]).SerializeToString())
    put("onnx_cycle.onnx", model([helper.make_node("Relu", ["b"], ["a"], "r1"), helper.make_node("Add", ["x", "a"], ["b"], "r2")],
                                 [vi("x", [1])], [vi("b", [1])]).SerializeToString())
    put("onnx_dangling_input.onnx", model([helper.make_node("Add", ["x", "nowhere"], ["y"], "add")], [vi("x", [1])],
                                          [vi("y", [1])]).SerializeToString())
    put("onnx_duplicate_output.onnx", model([helper.make_node("Relu", ["x"], ["y"], "r1"), helper.make_node("Relu", ["x"], ["y"], "r2")],
                                            [vi("x", [1])], [vi("y", [1])]).SerializeToString())
    w = numpy_helper.from_array(np.ones(1, np.float32), "w")
    put("onnx_duplicate_initializer.onnx", model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1])], [vi("y", [1])],
                                                 [w, w]).SerializeToString())
    put("onnx_duplicate_input.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1]), vi("x", [1])],
                                           [vi("y", [1])]).SerializeToString())
    put("onnx_duplicate_graph_output.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1])],
                                                  [vi("y", [1]), vi("y", [1])]).SerializeToString())
    w = numpy_helper.from_array(np.ones(1, np.float32), "")
    put("onnx_unnamed_initializer.onnx", model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1])], [vi("y", [1])],
                                               [w]).SerializeToString())
    put("onnx_unsupported_op.onnx", model([helper.make_node("Einsum", ["x"], ["y"], "ein", equation="i->i")], [vi("x", [1])],
                                          [vi("y", [1])]).SerializeToString())
    put("onnx_custom_domain.onnx", model([helper.make_node("Relu", ["x"], ["y"], "r", domain="com.example")], [vi("x", [1])],
                                         [vi("y", [1])]).SerializeToString())
    m = conv_model()
    m.graph.node[0].attribute.extend([helper.make_attribute("strides", 2.0)])
    put("onnx_attr_wrong_type_float_for_ints.onnx", m.SerializeToString())
    m = conv_model()
    m.graph.node[0].attribute.extend([helper.make_attribute("pads", "SAME")])
    put("onnx_attr_wrong_type_string_for_ints.onnx", m.SerializeToString())
    put("onnx_attr_wrong_type_string_for_float.onnx", model([helper.make_node("LeakyRelu", ["x"], ["y"], "lrelu", alpha="0.2")],
                                                            [vi("x", [1, 4])], [vi("y", None)]).SerializeToString())
    w = numpy_helper.from_array(np.ones((2, 4), np.float32), "w")
    put("onnx_attr_wrong_type_float_for_int.onnx", model([helper.make_node("Gemm", ["x", "w"], ["y"], "fc", transB=1.0)],
                                                         [vi("x", [1, 4])], [vi("y", None)], [w]).SerializeToString())
    m = model([helper.make_node("Cast", ["x"], ["y"], "cast", to=[1, 2])], [vi("x", [1])], [vi("y", None)])
    put("onnx_attr_wrong_type_ints_for_int.onnx", m.SerializeToString())
    put("onnx_conv_channel_mismatch.onnx", conv_model(w_shape=(4, 5, 3, 3)).SerializeToString())
    put("onnx_conv_group_not_dividing.onnx", conv_model(w_shape=(4, 1, 3, 3), group=2).SerializeToString())
    put("onnx_conv_zero_kernel.onnx", conv_model(w_shape=(4, 3, 0, 0)).SerializeToString())
    put("onnx_conv_negative_stride.onnx", conv_model(strides=[-1, -1]).SerializeToString())
    put("onnx_conv_kernel_larger_than_input.onnx", conv_model(w_shape=(4, 3, 9, 9)).SerializeToString())
    put("onnx_conv_weight_rank.onnx", conv_model(w_shape=(4, 3, 3)).SerializeToString())
    put("onnx_conv_one_input.onnx", model([helper.make_node("Conv", ["x"], ["y"], "conv")], [vi("x", [1, 3, 8, 8])],
                                          [vi("y", None)]).SerializeToString())
    inits = [numpy_helper.from_array(np.ones(n, np.float32), k) for k, n in (("s", 3), ("b", 3), ("m", 4), ("v", 3))]
    put("onnx_batchnorm_channel_mismatch.onnx", model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "bn")],
                                                      [vi("x", [1, 3, 4, 4])], [vi("y", None)], inits).SerializeToString())
    inits = [numpy_helper.from_array(np.ones(3, np.float32), k) for k in "sbmv"]
    put("onnx_batchnorm_training.onnx", model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "bn",
                                                                training_mode=1)],
                                              [vi("x", [1, 3, 4, 4])], [vi("y", None)], inits).SerializeToString())
    w = numpy_helper.from_array(np.ones((5, 2), np.float32), "w")
    put("onnx_gemm_inner_mismatch.onnx", model([helper.make_node("Gemm", ["x", "w"], ["y"], "fc")], [vi("x", [1, 4])],
                                               [vi("y", None)], [w]).SerializeToString())
    put("onnx_add_not_broadcastable.onnx", model([helper.make_node("Add", ["x", "z"], ["y"], "add")], [vi("x", [2, 3]), vi("z", [4, 3])],
                                                 [vi("y", None)]).SerializeToString())
    put("onnx_negative_input_dim.onnx", relu_model((1, -3, 8, 8)).SerializeToString())
    put("onnx_huge_input.onnx", relu_model((1000000, 1000000, 1000000, 1000000)).SerializeToString())
    put("onnx_input_rank_9.onnx", relu_model((1,) * 9).SerializeToString())
    # (a symbolic batch size alone is taken as 1; a symbolic height is refused)
    put("onnx_dynamic_height.onnx", relu_model(("N", 3, "H", 8)).SerializeToString())
    m = relu_model()
    m.graph.input[0].type.CopyFrom(helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [1])))
    put("onnx_input_not_a_tensor.onnx", m.SerializeToString())
    put("onnx_input_string_type.onnx", model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [1], TensorProto.STRING)],
                                             [vi("y", None)]).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 40, 1 << 40], raw_data=b"\0" * 8)
    put("onnx_initializer_numel_overflow.onnx", ext_model(t).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3], raw_data=b"\0" * 20)
    put("onnx_raw_data_too_short.onnx", ext_model(t).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3], float_data=[1, 2, 3])
    put("onnx_typed_data_count_mismatch.onnx", ext_model(t).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-2, 3], raw_data=b"")
    put("onnx_initializer_negative_dim.onnx", ext_model(t).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.STRING, dims=[1], string_data=[b"x"])
    put("onnx_initializer_string_type.onnx", model([helper.make_node("Identity", ["w"], ["y"])], [], [vi("y", None)],
                                                   [t]).SerializeToString())
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1] * 9, raw_data=b"\0" * 4)
    put("onnx_initializer_rank_9.onnx", model([helper.make_node("Identity", ["w"], ["y"])], [], [vi("y", None)],
                                              [t]).SerializeToString())
    m = relu_model()
    m.graph.sparse_initializer.add().values.CopyFrom(numpy_helper.from_array(np.ones(1, np.float32), "s"))
    put("onnx_sparse_initializer.onnx", m.SerializeToString())
    m = relu_model()
    m.graph.node[0].name = "evil\nresnetc: ok\x1b[2J"
    m.graph.node[0].op_type = "Relu\nX"
    put("onnx_newline_in_names.onnx", m.SerializeToString())

    # external data
    put("ext.data.bin", np.arange(6, dtype="<f4").tobytes())
    put("onnx_external_ok_but_short.onnx", ext_model(external("w", [2, 4], "ext.data.bin")).SerializeToString())
    put("onnx_external_absolute_path.onnx", ext_model(external("w", [2, 3], "/etc/hostname")).SerializeToString())
    put("onnx_external_dotdot.onnx", ext_model(external("w", [2, 3], "../hostile/cases/ext.data.bin")).SerializeToString())
    put("onnx_external_symlink_out.onnx", ext_model(external("w", [2, 3], "link_out/README.md")).SerializeToString())
    put("onnx_external_missing_file.onnx", ext_model(external("w", [2, 3], "no_such.data.bin")).SerializeToString())
    put("onnx_external_folder.onnx", ext_model(external("w", [2, 3], ".")).SerializeToString())
    put("onnx_external_no_location.onnx", ext_model(external("w", [2, 3], None)).SerializeToString())
    put("onnx_external_huge_declared.onnx", ext_model(external("w", [1 << 20, 1 << 20], "ext.data.bin")).SerializeToString())
    put("onnx_external_bad_offset.onnx", ext_model(external("w", [2, 3], "ext.data.bin", offset="-8")).SerializeToString())
    put("onnx_external_offset_past_end.onnx", ext_model(external("w", [2, 3], "ext.data.bin", offset=1 << 62)).SerializeToString())
    put("onnx_external_length_mismatch.onnx", ext_model(external("w", [2, 3], "ext.data.bin", length=4)).SerializeToString())

    # shapes computed while compiling
    def const_i64(name, v):
        return numpy_helper.from_array(np.array(v, np.int64), name)
    put("onnx_reshape_overflow.onnx", model([helper.make_node("Reshape", ["x", "s"], ["y"], "reshape")], [vi("x", [2, 3])],
                                            [vi("y", None)], [const_i64("s", [1 << 40, 1 << 40, 0, -1])]).SerializeToString())
    put("onnx_reshape_two_minus_ones.onnx", model([helper.make_node("Reshape", ["x", "s"], ["y"], "reshape")], [vi("x", [2, 3])],
                                                  [vi("y", None)], [const_i64("s", [-1, -1])]).SerializeToString())
    put("onnx_reshape_runtime_shape.onnx", model([helper.make_node("Reshape", ["x", "s"], ["y"], "reshape")],
                                                 [vi("x", [2, 3]), vi("s", [2], TensorProto.INT64)], [vi("y", None)]).SerializeToString())
    put("onnx_constantofshape_huge.onnx", model([helper.make_node("ConstantOfShape", ["s"], ["y"], "cos")], [], [vi("y", None)],
                                                [const_i64("s", [1 << 31, 4])]).SerializeToString())
    put("onnx_pad_huge.onnx", model([helper.make_node("Pad", ["x", "p"], ["y"], "pad")], [vi("x", [2, 3])], [vi("y", None)],
                                    [const_i64("p", [0, 1 << 62, 0, 1 << 62])]).SerializeToString())
    put("onnx_output_too_large.onnx", model([helper.make_node("Pad", ["x", "p"], ["y"], "pad")], [vi("x", [2, 3])], [vi("y", None)],
                                            [const_i64("p", [1 << 20, 1 << 20, 1 << 20, 1 << 20])]).SerializeToString())
    put("onnx_transpose_bad_perm.onnx", model([helper.make_node("Transpose", ["x"], ["y"], "t", perm=[0, 0])], [vi("x", [2, 3])],
                                              [vi("y", None)]).SerializeToString())
    put("onnx_concat_no_axis.onnx", model([helper.make_node("Concat", ["x", "x"], ["y"], "cat")], [vi("x", [2, 3])],
                                          [vi("y", None)]).SerializeToString())
    put("onnx_slice_zero_step.onnx", model([helper.make_node("Slice", ["x", "a", "b", "c", "d"], ["y"], "slice")], [vi("x", [4])],
                                           [vi("y", None)], [const_i64(k, [v]) for k, v in zip("abcd", (0, 4, 0, 0))]).SerializeToString())
    put("onnx_softmax_bad_axis.onnx", model([helper.make_node("Softmax", ["x"], ["y"], "sm", axis=5)], [vi("x", [2, 3])],
                                            [vi("y", None)]).SerializeToString())


# ---------------------------------------------------------------- quantized onnx

def qdq_model(scale, zero_point, opset=13, axis=None, block_size=None, x_shape=(1, 4, 2, 2)):
    """x -> QuantizeLinear(s, z) -> DequantizeLinear(s, z) -> y; scale and
    zero point (either may be None: left out) as initializers."""
    inits, names = [], ["x"]
    for name, t in (("s", scale), ("z", zero_point)):
        if t is not None:
            t.name = name
            inits.append(t)
            names.append(name)
    attrs = {}
    if axis is not None:
        attrs["axis"] = axis
    if block_size is not None:
        attrs["block_size"] = block_size
    nodes = [helper.make_node("QuantizeLinear", names, ["q"], "quant", **attrs),
             helper.make_node("DequantizeLinear", ["q"] + names[1:], ["y"], "dequant", **attrs)]
    return model(nodes, [vi("x", list(x_shape))], [vi("y", None)], inits, opset=opset, ir=8 if opset < 19 else 10)


def qlinearconv_model(w_scale):
    """QLinearConv of a uint8 input with int8 weights 4x4x1x1."""
    c = lambda v, dt, name: numpy_helper.from_array(np.array(v, dt), name)
    inits = [c(0.02, np.float32, "xs"), c(128, np.uint8, "xz"), c(np.ones((4, 4, 1, 1)), np.int8, "w"),
             c(w_scale, np.float32, "ws"), c(np.zeros(4), np.int8, "wz"), c(0.1, np.float32, "ys"),
             c(0, np.uint8, "yz")]
    n = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], "qconv")
    return model([n], [vi("x", [1, 4, 2, 2], TensorProto.UINT8)], [vi("y", None)], inits)


def quant_cases():
    f32 = lambda v: numpy_helper.from_array(np.array(v, np.float32))
    u8 = lambda v: numpy_helper.from_array(np.array(v, np.uint8))
    put("onnx_quant_zero_scale.onnx", qdq_model(f32(0.0), u8(128)).SerializeToString())
    put("onnx_quant_negative_scale.onnx", qdq_model(f32(-0.5), u8(128)).SerializeToString())
    put("onnx_quant_nan_scale.onnx", qdq_model(f32(np.nan), u8(128)).SerializeToString())
    put("onnx_quant_inf_scale.onnx", qdq_model(f32(np.inf), u8(128)).SerializeToString())
    put("onnx_quant_int16.onnx", qdq_model(f32(0.5), numpy_helper.from_array(np.array(3, np.int16)), opset=21)
        .SerializeToString())
    put("onnx_quant_block_size.onnx", qdq_model(f32(np.full((1, 2, 2, 2), 0.5)), u8(np.zeros((1, 2, 2, 2))), opset=21,
                                                axis=1, block_size=2).SerializeToString())
    put("onnx_quant_axis_scale_length.onnx", qdq_model(f32([0.5, 0.5, 0.5]), u8([1, 2, 3]), axis=1).SerializeToString())
    put("onnx_quant_float16_scale.onnx", qdq_model(numpy_helper.from_array(np.array(0.5, np.float16)), u8(1), opset=19)
        .SerializeToString())
    # int4 and float8 zero points (types 22 and 17), by number: older onnx
    # packages have no names for them
    put("onnx_quant_int4.onnx", qdq_model(f32(0.5), TensorProto(data_type=22, dims=[], raw_data=b"\x01"), opset=21)
        .SerializeToString())
    put("onnx_quant_float8.onnx", qdq_model(f32(0.5), TensorProto(data_type=17, dims=[], raw_data=b"\x01"), opset=19)
        .SerializeToString())
    # an int8 tensor dequantized with a uint8 zero point
    n = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], "dequant")
    put("onnx_quant_zero_point_type.onnx", model([n], [vi("q", [1, 4], TensorProto.INT8)], [vi("y", None)],
                                                 [numpy_helper.from_array(np.array(0.5, np.float32), "s"),
                                                  numpy_helper.from_array(np.array(3, np.uint8), "z")]).SerializeToString())
    put("onnx_qlinearconv_negative_weight_scale.onnx", qlinearconv_model([0.1, -0.1, 0.1, 0.1]).SerializeToString())
    # com.microsoft QLinearAveragePool with a zero output scale, and with its
    # input's scale a graph input (not a constant)
    for name, ys, runtime_scale in (("zero_scale", 0.0, False), ("runtime_scale", 0.5, True)):
        n = helper.make_node("QLinearAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"], "qpool",
                             domain="com.microsoft", kernel_shape=[2, 2], strides=[2, 2])
        inits = [numpy_helper.from_array(np.array(0, np.uint8), "xz"),
                 numpy_helper.from_array(np.array(ys, np.float32), "ys"),
                 numpy_helper.from_array(np.array(128, np.uint8), "yz")]
        ins = [vi("x", [1, 2, 4, 4], TensorProto.UINT8)]
        if runtime_scale:
            ins.append(vi("xs", [], TensorProto.FLOAT))
        else:
            inits.append(numpy_helper.from_array(np.array(0.5, np.float32), "xs"))
        m = model([n], ins, [vi("y", None)], inits)
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
        put("onnx_qlinearavgpool_%s.onnx" % name, m.SerializeToString())


# ---------------------------------------------------------------- yaml

TINY = """resnetc: 1
input: [1, 3, 8, 8]
block: basic
stages: [1]
width: 4
stem: {kernel: 3, stride: 1, pool: none}
classes: 3
"""


def yaml_cases():
    put("yaml_empty.yaml", "")
    put("yaml_only_comment.yaml", "# nothing here\n")
    put("yaml_not_a_mapping.yaml", "- resnetc\n- 1\n")
    put("yaml_syntax_error.yaml", "resnetc: 1\ninput: [1, 3, 8, 8\nblock: basic\n")
    put("yaml_bad_utf8.yaml", b"resnetc: 1\nname: \xff\xfe\n")
    put("yaml_two_documents.yaml", TINY + "init: {seed: 1}\n---\n" + TINY)
    put("yaml_missing_stages.yaml", TINY.replace("stages: [1]\n", "") + "init: {seed: 1}\n")
    put("yaml_missing_weights.yaml", TINY)
    put("yaml_unknown_key.yaml", TINY + "init: {seed: 1}\ndropout: 0.5\n")
    put("yaml_typo_key.yaml", TINY.replace("classes", "clases") + "init: {seed: 1}\n")
    put("yaml_duplicate_key.yaml", TINY + "init: {seed: 1}\nclasses: 4\n")
    put("yaml_wrong_type_string.yaml", TINY.replace("stages: [1]", 'stages: "1"') + "init: {seed: 1}\n")
    put("yaml_wrong_type_float.yaml", TINY.replace("width: 4", "width: 4.0") + "init: {seed: 1}\n")
    put("yaml_wrong_type_mapping.yaml", TINY.replace("classes: 3", "classes: {n: 3}") + "init: {seed: 1}\n")
    put("yaml_negative_stage.yaml", TINY.replace("stages: [1]", "stages: [1, -1]") + "init: {seed: 1}\n")
    put("yaml_zero_classes.yaml", TINY.replace("classes: 3", "classes: 0") + "init: {seed: 1}\n")
    put("yaml_zero_input_dim.yaml", TINY.replace("[1, 3, 8, 8]", "[1, 0, 8, 8]") + "init: {seed: 1}\n")
    put("yaml_int_overflow.yaml", TINY.replace("width: 4", "width: 99999999999999999999999") + "init: {seed: 1}\n")
    put("yaml_huge_input.yaml", TINY.replace("[1, 3, 8, 8]", "[1048576, 3, 1048576, 1048576]") + "init: {seed: 1}\n")
    put("yaml_huge_network.yaml", TINY.replace("stages: [1]", "stages: [1000, 1000, 1000, 1000, 1000]").replace("width: 4", "width: 65536")
        + "init: {seed: 1}\n")
    put("yaml_input_too_small.yaml", TINY.replace("[1, 3, 8, 8]", "[1, 3, 4, 4]").replace("pool: none", "pool: none, padding: 0")
        .replace("kernel: 3, stride: 1", "kernel: 7, stride: 2") + "init: {seed: 1}\n")
    put("yaml_strides_count_mismatch.yaml", TINY + "strides: [1, 2]\ninit: {seed: 1}\n")
    put("yaml_groups_with_basic.yaml", TINY + "groups: 2\ninit: {seed: 1}\n")
    put("yaml_padding_too_large.yaml", TINY.replace("pool: none", "pool: none, padding: 3") + "init: {seed: 1}\n")
    put("yaml_unknown_block.yaml", TINY.replace("block: basic", "block: inverted") + "init: {seed: 1}\n")
    put("yaml_version_2.yaml", TINY.replace("resnetc: 1", "resnetc: 2") + "init: {seed: 1}\n")
    put("yaml_weights_and_init.yaml", TINY + "weights: w.data.safetensors\ninit: {seed: 1}\n")
    put("yaml_nul_in_string.yaml", TINY + 'name: "a\\0b"\ninit: {seed: 1}\n')
    put("yaml_weights_absolute.yaml", TINY + "weights: /etc/hostname\n")
    put("yaml_weights_dotdot.yaml", TINY + "weights: ../cases/w.data.safetensors\n")
    put("yaml_weights_symlink_out.yaml", TINY + "weights: link_out/README.md\n")
    put("yaml_weights_missing.yaml", TINY + "weights: no_such.safetensors\n")
    put("yaml_weights_folder.yaml", TINY + "weights: .\n")
    put("yaml_weights_not_safetensors.yaml", TINY + "weights: ext.data.bin\n")
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 20):
        p = chr(ord("a") + i - 1)
        laughs.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join('*' + p for _ in range(10))}]")
    put("yaml_alias_bomb.yaml", "\n".join(laughs) + "\n")
    put("yaml_deep_nesting.yaml", "resnetc: " + "[" * 30000 + "]" * 30000 + "\n")
    put("yaml_tab_indent.yaml", "resnetc: 1\nstem:\n\tkernel: 3\n")


# ---------------------------------------------------------------- safetensors

def st_bytes(header, data=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data


def tiny_weights(skip=(), change=None, dtype="F32"):
    names = {"conv1.weight": (4, 3, 3, 3), "layer1.0.conv1.weight": (4, 4, 3, 3), "layer1.0.conv2.weight": (4, 4, 3, 3),
             "fc.weight": (3, 4), "fc.bias": (3,)}
    for bn in ("bn1", "layer1.0.bn1", "layer1.0.bn2"):
        for k in ("weight", "bias", "running_mean", "running_var"):
            names[f"{bn}.{k}"] = (4,)
    header, data = {}, b""
    for name in sorted(names):
        if name in skip:
            continue
        shape = (change or {}).get(name, names[name])
        n = int(np.prod(shape))
        dt = dtype if name != "conv1.weight" else dtype
        b = np.ones(n, "<f4").tobytes() if dt == "F32" else np.ones(n, "<i8").tobytes()
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    return header, data


def safetensors_cases():
    h, d = tiny_weights()
    put("w.data.safetensors", st_bytes(h, d))
    put("st_empty.safetensors", b"")
    put("st_shorter_than_length.safetensors", b"\x10\0\0")
    put("st_header_past_end.safetensors", struct.pack("<Q", 1000) + b"{}")
    put("st_header_length_huge.safetensors", struct.pack("<Q", 1 << 63) + b"{}")
    put("st_header_not_json.safetensors", st_bytes(None, raw_header=b"<html></html>"))
    put("st_header_trailing_garbage.safetensors", st_bytes(None, raw_header=b'{"__metadata__":{}} x'))
    put("st_header_bad_utf8.safetensors", st_bytes(None, raw_header=b'{"\xff":{}}'))
    put("st_header_deep_nesting.safetensors", st_bytes(None, raw_header=b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"))
    put("st_header_duplicate_tensor.safetensors", st_bytes(None, raw_header=(
        b'{"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
        b'"fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}'), data=bytes(12)))
    put("st_offsets_outside.safetensors", st_bytes({"fc.bias": {"dtype": "F32", "shape": [3], "data_offsets": [0, 1 << 40]}}, bytes(12)))
    put("st_offsets_reversed.safetensors", st_bytes({"fc.bias": {"dtype": "F32", "shape": [3], "data_offsets": [12, 0]}}, bytes(12)))
    put("st_offsets_shape_mismatch.safetensors", st_bytes({"fc.bias": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, bytes(12)))
    put("st_overlapping.safetensors", st_bytes({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                                                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)))
    put("st_unknown_dtype.safetensors", st_bytes({"fc.bias": {"dtype": "F128", "shape": [3], "data_offsets": [0, 12]}}, bytes(12)))
    put("st_shape_overflow.safetensors", st_bytes({"fc.bias": {"dtype": "F32", "shape": [1 << 62, 1 << 62, 4],
                                                               "data_offsets": [0, 12]}}, bytes(12)))
    put("st_negative_dim.safetensors", st_bytes({"fc.bias": {"dtype": "F32", "shape": [-3], "data_offsets": [0, 12]}}, bytes(12)))
    put("st_metadata_not_string.safetensors", st_bytes({"__metadata__": {"epoch": 3}}))
    h, d = tiny_weights(skip=("fc.bias",))
    put("st_missing_tensor.safetensors", st_bytes(h, d))
    h, d = tiny_weights(change={"conv1.weight": (4, 3, 5, 5)})
    put("st_wrong_shape.safetensors", st_bytes(h, d))
    h, d = tiny_weights()
    h["layer9.0.conv1.weight"] = {"dtype": "F32", "shape": [0], "data_offsets": [len(d), len(d)]}
    put("st_unexpected_tensor.safetensors", st_bytes(h, d))
    h, d = tiny_weights(dtype="I64")
    put("st_integer_weights.safetensors", st_bytes(h, d))


# ---------------------------------------------------------------- npy

def npy(descr="<f4", shape=(1, 3, 8, 8), fortran="False", version=1, data=None, header=None, hlen=None):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    h = header.encode()
    size = 2 if version == 1 else 4
    h += b" " * (-(10 + size - 2 + len(h) + 1) % 64) + b"\n"
    n = hlen if hlen is not None else len(h)
    if data is None:
        data = bytes(4 * int(np.prod(shape))) if all(isinstance(x, int) and x >= 0 for x in shape) else b""
    return b"\x93NUMPY" + bytes([version, 0]) + n.to_bytes(size, "little") + h + data


def npy_cases():
    good = npy()
    put("npy_empty.npy", b"")
    put("npy_not_npy.npy", b"P6\n8 8\n255\n" + bytes(192))
    put("npy_bad_magic.npy", b"\x93NUMPX" + good[6:])
    put("npy_unknown_version.npy", good[:6] + b"\x09\x00" + good[8:])
    put("npy_truncated_preamble.npy", good[:9])
    put("npy_truncated_header.npy", good[:40])
    put("npy_header_length_huge.npy", npy(version=2, hlen=0xFFFFFFF0))
    put("npy_header_not_a_dict.npy", npy(header="hello"))
    put("npy_no_descr.npy", npy(header="{'fortran_order': False, 'shape': (1, 3, 8, 8), }"))
    put("npy_no_shape.npy", npy(header="{'descr': '<f4', 'fortran_order': False, }"))
    put("npy_wrong_dtype_f64.npy", npy(descr="<f8", data=bytes(8 * 192)))
    put("npy_wrong_dtype_int.npy", npy(descr="<i4"))
    put("npy_big_endian.npy", npy(descr=">f4"))
    put("npy_object_dtype.npy", npy(descr="|O"))
    put("npy_structured_dtype.npy", npy(header="{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 3, 8, 8), }"))
    put("npy_wrong_shape.npy", npy(shape=(1, 3, 8, 9), data=bytes(4 * 216)))
    put("npy_wrong_rank.npy", npy(shape=(3, 8, 8), data=bytes(4 * 192)))
    put("npy_scalar.npy", npy(shape=(), data=bytes(4)))
    put("npy_negative_dim.npy", npy(shape="(1, -3, 8, 8)"))
    put("npy_huge_dims.npy", npy(shape="(99999999999999999999, 3, 8, 8)"))
    put("npy_dims_overflow_product.npy", npy(shape="(4294967296, 4294967296, 4294967296, 0)"))
    put("npy_fortran_order.npy", npy(fortran="True"))
    put("npy_fortran_order_garbage.npy", npy(fortran="Maybe"))
    put("npy_truncated_data.npy", good[:-7])
    put("npy_no_data.npy", npy(data=b""))
    put("npy_trailing_data.npy", good + b"\0\0\0\0")
    put("npy_nul_in_header.npy", npy(header="{'descr': '<f4',\0 'fortran_order': False, 'shape': (1, 3, 8, 8), }"))


def calib_cases():
    """Calibration samples for examples/demo/demo.onnx (input 1x1x28x28):
    resnetc compile demo.onnx --quantize int8 --calibrate FILE."""
    shape = (2, 1, 28, 28)
    good = npy(shape=shape)
    put("calib_empty.npy", b"")
    put("calib_not_npy.npy", b"0.5 0.25 0.125\n")
    put("calib_float64.npy", npy(descr="<f8", shape=shape, data=bytes(8 * 2 * 784)))
    put("calib_int8.npy", npy(descr="|i1", shape=shape, data=bytes(2 * 784)))
    put("calib_wrong_shape.npy", npy(shape=(2, 1, 28, 27)))
    put("calib_wrong_rank.npy", npy(shape=(28, 28)))
    put("calib_no_samples.npy", npy(shape=(0, 1, 28, 28)))
    put("calib_truncated.npy", good[:-9])
    put("calib_truncated_header.npy", good[:40])
    put("calib_trailing_data.npy", good + b"\0\0\0\0")
    put("calib_fortran_order.npy", npy(fortran="True", shape=shape))
    put("calib_header_length_huge.npy", npy(version=2, hlen=0xFFFFFFF0, shape=shape))
    put("calib_unknown_version.npy", good[:6] + b"\x09\x00" + good[8:])
    # 2^62 x 1 x 28 x 28 elements wrap around int64 to 0 bytes: once read
    # as an empty array, then 2^62 samples calibrated on
    put("calib_shape_overflow.npy", npy(shape="(4611686018427387904, 1, 28, 28)", data=b""))
    samples = np.random.default_rng(3).standard_normal(shape).astype("<f4")
    bad = samples.copy()
    bad[1, 0, 5, 7] = np.nan
    put("calib_nan.npy", npy(shape=shape, data=bad.tobytes()))
    bad[1, 0, 5, 7] = np.inf
    put("calib_inf.npy", npy(shape=shape, data=bad.tobytes()))
    # finite samples whose activations overflow float32
    put("calib_overflowing_values.npy", npy(shape=shape, data=np.full(shape, 3e38, "<f4").tobytes()))


def injection_model():
    """A valid model whose names try to end the C comments they are printed
    in and define a function: run_hostile.sh checks that none appears."""
    evil = "*/ int pwned_%s(void) { return 1; } /*"
    w = numpy_helper.from_array(np.ones((1, 4), np.float32), "w " + evil % "weight")
    nodes = [helper.make_node("Add", ["x " + evil % "input", w.name], ["t " + evil % "tensor"], "add " + evil % "node"),
             helper.make_node("Relu", ["t " + evil % "tensor"], ["y " + evil % "output"], "relu\n" + evil % "newline")]
    m = model(nodes, [vi("x " + evil % "input", [1, 4])], [vi("y " + evil % "output", [1, 4])], [w])
    os.makedirs(os.path.join(HERE, "names"), exist_ok=True)
    with open(os.path.join(HERE, "names", "comment_injection.onnx"), "wb") as f:
        f.write(m.SerializeToString())


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    injection_model()
    onnx_cases()
    quant_cases()
    yaml_cases()
    safetensors_cases()
    npy_cases()
    calib_cases()
    os.symlink("../..", os.path.join(OUT, "link_out"))
    cases = [f for f in os.listdir(OUT) if ".data." not in f and f != "link_out"]
    print(f"{len(cases)} cases in {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
