#!/usr/bin/python3
"""Write the fuzzers' seed corpora into tests/fuzz/corpus/{onnx,yaml,safetensors,npy}.

    tests/fuzz/make_corpus.py [--node-tests ../shared/onnx-node-tests]

onnx: every model of the ONNX backend node tests as it is, and again with its
      constant operands (Reshape's shape, Pad's pads, ...) turned into
      initializers so that constant folding runs; plus small hand-built graphs:
      a residual block, a shape subgraph, external data (ext.bin, which the
      harness puts next to the model), a dynamic batch size, typed-field
      initializers, and int8 ones: the residual block in QDQ form (what the
      qdq pass rewrites, and variants it must leave alone), in QOperator form
      (QLinearConv, com.microsoft QLinearAdd, QLinearGlobalAveragePool,
      QGemm; QLinearAveragePool), and the integer operators (ConvInteger, MatMulInteger,
      QLinearMatMul, DynamicQuantizeLinear).
yaml: tiny ResNets (basic and bottleneck, stems, widths, groups, init and
      weights: w.safetensors), the examples/, and a few broken descriptions.
safetensors: the tiny network's weights (also the YAML harness' w.safetensors)
      in F32, F16, BF16 and F64, with metadata, and small odd files.
npy:  .npy files of each version, dtype and rank the harness tries, and
      calibration samples for its quantized tiny ResNet (K x 3 x 8 x 8).

Deterministic: the same files every run. Needs Debian's python3-numpy and
python3-onnx.
"""
import argparse
import glob
import json
import os
import shutil
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def put(kind, name, data):
    os.makedirs(os.path.join(OUT, kind), exist_ok=True)
    with open(os.path.join(OUT, kind, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- safetensors

def safetensors(tensors, dtype="F32", metadata=None):
    """tensors: list of (name, np.ndarray) in file order."""
    conv = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, a in tensors:
        if a.dtype.kind == "f":
            if dtype == "BF16":
                b = (np.asarray(a, np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
            else:
                b = np.asarray(a, conv[dtype]).astype(np.dtype(conv[dtype]).newbyteorder("<")).tobytes()
            dt = dtype
        else:
            b = a.astype(a.dtype.newbyteorder("<")).tobytes()
            dt = {"i8": "I64", "i4": "I32", "u1": "U8", "b1": "BOOL"}[a.dtype.str[1:]]
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_state_dict(rng):
    """torchvision names for the tiny basic network in yaml/tiny_weights.yaml:
    input [1, 3, 8, 8], stem {kernel: 3, stride: 1, pool: none}, stages [1],
    width 4, classes 3."""
    sd = []

    def bn(p, c):
        sd.extend([(p + ".weight", rng.random(c, np.float32) + 0.5),
                   (p + ".bias", rng.standard_normal(c, np.float32) * 0.1),
                   (p + ".running_mean", rng.standard_normal(c, np.float32) * 0.1),
                   (p + ".running_var", rng.random(c, np.float32) + 0.5),
                   (p + ".num_batches_tracked", np.array(7, np.int64))])

    sd.append(("conv1.weight", rng.standard_normal((4, 3, 3, 3), np.float32) * 0.2))
    bn("bn1", 4)
    for k in (1, 2):
        sd.append((f"layer1.0.conv{k}.weight", rng.standard_normal((4, 4, 3, 3), np.float32) * 0.2))
        bn(f"layer1.0.bn{k}", 4)
    sd.append(("fc.weight", rng.standard_normal((3, 4), np.float32) * 0.5))
    sd.append(("fc.bias", rng.standard_normal(3, np.float32) * 0.1))
    return sorted(sd)


def make_safetensors():
    rng = np.random.default_rng(1)
    sd = tiny_state_dict(rng)
    put("safetensors", "tiny.safetensors", safetensors(sd))
    put("safetensors", "tiny_f16.safetensors", safetensors(sd, "F16"))
    put("safetensors", "tiny_bf16.safetensors", safetensors(sd, "BF16"))
    put("safetensors", "tiny_f64.safetensors", safetensors(sd, "F64", {"format": "pt", "note": "\u00e9\\\"x"}))
    put("safetensors", "empty_header.safetensors", safetensors([]))
    put("safetensors", "scalar_and_empty.safetensors",
        safetensors([("s", np.array(1.5, np.float32)), ("z", np.zeros((0, 3), np.float32)),
                     ("i", np.arange(3, dtype=np.int32)), ("u", np.arange(4, dtype=np.uint8))]))
    h = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    put("safetensors", "overlap.safetensors", struct.pack("<Q", len(h)) + h + bytes(8))
    h = b'{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}'
    put("safetensors", "huge_shape.safetensors", struct.pack("<Q", len(h)) + h + bytes(8))
    put("safetensors", "truncated.safetensors", struct.pack("<Q", 1000) + b'{"a":')


# ---------------------------------------------------------------- yaml

TINY = """resnetc: 1
name: tiny
input: [1, 3, 8, 8]
block: basic
stages: [1]
width: 4
stem: {kernel: 3, stride: 1, pool: none}
classes: 3
"""


def make_yaml():
    put("yaml", "tiny_weights.yaml", (TINY + "weights: w.safetensors\n").encode())
    put("yaml", "tiny_init.yaml", (TINY + "init: {seed: 7}\n").encode())
    put("yaml", "tiny_block_style.yaml", b"""# a comment
resnetc: 1
input:
  - 2
  - 3
  - 9
  - 7
block: basic
stages:
  - 1
  - 1
widths: &w [4, 8]
strides: [1, 2]
stem:
  kernel: 5
  stride: 2
  padding: 1
  channels: 6
  pool: max
classes: 5
init:
  seed: 0
""")
    put("yaml", "tiny_bottleneck.yaml", b"""resnetc: 1
input: [1, 3, 16, 16]
block: bottleneck
stages: [1, 1]
width: 4
groups: 2
width_per_group: 32
classes: 2
init: {seed: 3}
""")
    put("yaml", "tiny_anchor.yaml", b"""resnetc: 1
input: &in [1, 2, 8, 8]
block: basic
stages: [1]
width: 2
stem: &s {kernel: 1, stride: 1, pool: none}
classes: 1
init: {seed: 9223372036854775807}
""")
    put("yaml", "weights_escape.yaml", (TINY + "weights: up/w.safetensors\n").encode())
    put("yaml", "weights_dotdot.yaml", (TINY + "weights: ../w.safetensors\n").encode())
    put("yaml", "weights_broken.yaml", (TINY + "weights: broken.safetensors\n").encode())
    put("yaml", "typo.yaml", (TINY.replace("stages", "stagse") + "init: {seed: 1}\n").encode())
    put("yaml", "two_docs.yaml", (TINY + "init: {seed: 1}\n---\nresnetc: 1\n").encode())
    put("yaml", "bad_syntax.yaml", b"resnetc: 1\ninput: [1, 3, 8\nblock: basic\n")
    for p in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml"))) + [
            os.path.join(ROOT, "examples", "demo", "demo.yaml")]:
        put("yaml", "example_" + os.path.basename(p), open(p, "rb").read())


# ---------------------------------------------------------------- onnx

def model_bytes(graph, opset=13, ir=8):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m.SerializeToString()


def const_inputs_as_initializers(model_path):
    """The node test with every input after the first moved into the initializers."""
    m = onnx.load(model_path)
    g = m.graph
    if len(g.input) < 2:
        return None
    data = os.path.join(os.path.dirname(model_path), "test_data_set_0")
    inits = []
    for i, vi in enumerate(g.input):
        if i == 0:
            continue
        pb = os.path.join(data, f"input_{i}.pb")
        if not os.path.exists(pb):
            return None
        t = TensorProto()
        t.ParseFromString(open(pb, "rb").read())
        t.name = vi.name
        inits.append(t)
    g.initializer.extend(inits)
    keep = [g.input[0]]
    del g.input[:]
    g.input.extend(keep)
    return m.SerializeToString()


def residual_block(external=False, typed=False):
    rng = np.random.default_rng(2)
    f = lambda *s: (rng.standard_normal(s).astype(np.float32) * 0.3)
    inits = {
        "w1": f(4, 3, 3, 3), "w2": f(4, 4, 3, 3), "wd": f(4, 3, 1, 1),
        "g": f(4) + 1, "b": f(4), "m": f(4), "v": np.abs(f(4)) + 0.5,
        "fw": f(2, 4), "fb": f(2),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], "conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["b1"], "bn1", epsilon=1e-5),
        helper.make_node("Relu", ["b1"], ["r1"], "relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], "conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", "g", "b", "m", "v"], ["b2"], "bn2"),
        helper.make_node("Conv", ["x", "wd"], ["d"], "down", strides=[2, 2]),
        helper.make_node("Add", ["b2", "d"], ["s"], "add"),
        helper.make_node("Relu", ["s"], ["r2"], "relu2"),
        helper.make_node("MaxPool", ["r2"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("GlobalAveragePool", ["p"], ["gap"], "gap"),
        helper.make_node("Flatten", ["gap"], ["fl"], "flatten", axis=1),
        helper.make_node("Gemm", ["fl", "fw", "fb"], ["y"], "fc", transB=1),
    ]
    tensors = []
    off = 0
    for name, a in inits.items():
        if external:
            t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=a.shape)
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", "ext.bin"), ("offset", str(off)), ("length", str(a.nbytes))):
                e = t.external_data.add()
                e.key, e.value = k, v
            off += a.nbytes
        elif typed:
            t = helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.flatten().tolist())
        else:
            t = numpy_helper.from_array(a, name)
        tensors.append(t)
    g = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], tensors)
    return model_bytes(g)


def shape_subgraph(dynamic=False):
    batch = "N" if dynamic else 1
    nodes = [
        helper.make_node("Shape", ["x"], ["sh"], "shape"),
        helper.make_node("Constant", [], ["i0"], "c0", value=helper.make_tensor("", TensorProto.INT64, [], [0])),
        helper.make_node("Gather", ["sh", "i0"], ["n"], "gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"], "unsq"),
        helper.make_node("Constant", [], ["m1"], "c1", value_ints=[-1]),
        helper.make_node("Concat", ["n1", "m1"], ["newshape"], "concat", axis=0),
        helper.make_node("Cast", ["newshape"], ["ns32"], "cast", to=TensorProto.INT32),
        helper.make_node("Cast", ["ns32"], ["ns64"], "cast2", to=TensorProto.INT64),
        helper.make_node("Reshape", ["x", "ns64"], ["flat"], "reshape"),
        helper.make_node("Slice", ["flat", "st", "en", "ax1"], ["sl"], "slice"),
        helper.make_node("Pad", ["sl", "pads"], ["pd"], "pad", mode="reflect"),
        helper.make_node("ConstantOfShape", ["cs"], ["ones"], "cos",
                         value=helper.make_tensor("", TensorProto.FLOAT, [1], [1.0])),
        helper.make_node("Mul", ["pd", "ones"], ["y0"], "mul"),
        helper.make_node("Softmax", ["y0"], ["y"], "softmax", axis=-1),
        helper.make_node("Transpose", ["x"], ["t"], "transpose", perm=[0, 2, 3, 1]),
        helper.make_node("ReduceMean", ["t"], ["z"], "mean", axes=[1, 2], keepdims=0),
    ]
    inits = [numpy_helper.from_array(np.array([0], np.int64), "ax"),
             numpy_helper.from_array(np.array([1], np.int64), "st"),
             numpy_helper.from_array(np.array([-1], np.int64), "en"),
             numpy_helper.from_array(np.array([1], np.int64), "ax1"),
             numpy_helper.from_array(np.array([0, 2, 0, 2], np.int64), "pads"),
             numpy_helper.from_array(np.array([1], np.int64), "cs")]
    g = helper.make_graph(nodes, "shapes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits)
    return model_bytes(g, opset=13)


# ------------------------------------------------ int8 models

def q_init(name, a, dtype):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


class QDQ:
    """Builds a QDQ graph: activations quantized to uint8 with a Q -> DQ
    pair, weights int8 per output channel and biases int32 read through a
    DequantizeLinear, as onnxruntime's quantize_static writes them."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def pair(self, t, scale, zp=128, name=None, zdtype=np.uint8, axis=None):
        n = name or t
        self.inits += [q_init(n + "_s", scale, np.float32), q_init(n + "_z", zp, zdtype)]
        kw = {} if axis is None else {"axis": axis}
        self.nodes += [helper.make_node("QuantizeLinear", [t, n + "_s", n + "_z"], [n + "_q"], n + "_Q", **kw),
                       helper.make_node("DequantizeLinear", [n + "_q", n + "_s", n + "_z"], [n + "_dq"], n + "_DQ", **kw)]
        return n + "_dq"

    def weights(self, name, shape, x_scale, bias=True, axis=0):
        m = shape[axis]
        w = self.rng.integers(-127, 128, shape).astype(np.int8)
        ws = (self.rng.random(m) * 0.01 + 0.002).astype(np.float32)
        self.inits += [q_init(name, w, np.int8), q_init(name + "_s", ws, np.float32),
                       q_init(name + "_z", np.zeros(m), np.int8)]
        self.nodes.append(helper.make_node("DequantizeLinear", [name, name + "_s", name + "_z"], [name + "_dq"],
                                           name + "_DQ", axis=axis))
        if not bias:
            return [name + "_dq"]
        self.inits += [q_init(name + "_b", self.rng.integers(-300, 300, m), np.int32),
                       q_init(name + "_bs", ws * np.float32(x_scale), np.float32)]
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_b", name + "_bs"], [name + "_bdq"],
                                           name + "_bDQ", axis=0))
        return [name + "_dq", name + "_bdq"]

    def node(self, op, ins, out, **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], out, **attrs))
        return out

    def model(self, outputs, opset=13, domains=()):
        g = helper.make_graph(self.nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] +
                              [helper.make_opsetid(d, 1) for d in domains])
        m.ir_version = 8
        return m.SerializeToString()


def qdq_block(variant=""):
    """The residual block of residual_block() as a QDQ model: conv1 with
    Relu (or Clip 0..6), conv2 plus the downsampling conv in the Add (both
    int8 convolutions: the later takes the Add), MaxPool between pairs of
    one scale, then GlobalAveragePool and Gemm in float between pairs.
    Variants the qdq pass must leave (partly) alone: 'leaky' (LeakyRelu
    after conv1), 'per_axis' (conv2's output quantized per channel),
    'pool_scale' (MaxPool's pairs of different scales), 'int8' (int8
    activations)."""
    q = QDQ(3)
    zd, zp = (np.int8, 0) if variant == "int8" else (np.uint8, 128)
    xf = q.pair("x", 0.02, zp, zdtype=zd)
    act = "LeakyRelu" if variant == "leaky" else "Relu"
    c1 = q.node("Conv", [xf] + q.weights("w1", (4, 3, 3, 3), 0.02), "c1", pads=[1, 1, 1, 1])
    if variant == "clip":
        r1 = q.node("Clip", [c1, "zero", "six"], "r1")
        q.inits += [q_init("zero", 0.0, np.float32), q_init("six", 6.0, np.float32)]
    else:
        r1 = q.node(act, [c1], "r1")
    r1f = q.pair(r1, 0.05, 0 if variant != "leaky" else 128, zdtype=zd)
    c2 = q.node("Conv", [r1f] + q.weights("w2", (4, 4, 3, 3), 0.05), "c2", pads=[1, 1, 1, 1], strides=[2, 2])
    if variant == "per_axis":
        c2f = q.pair(c2, np.full(4, 0.07, np.float32), np.full(4, zp, zd), zdtype=zd, axis=1)
    else:
        c2f = q.pair(c2, 0.07, zp, zdtype=zd)
    d = q.node("Conv", [xf] + q.weights("wd", (4, 3, 1, 1), 0.02), "d", strides=[2, 2])
    df = q.pair(d, 0.04, zp, zdtype=zd)
    sm = q.node("Add", [c2f, df], "sum")
    r2 = q.node("Relu", [sm], "r2")
    r2f = q.pair(r2, 0.08, 0 if zd == np.uint8 else -128, zdtype=zd)
    p = q.node("MaxPool", [r2f], "p", kernel_shape=[2, 2], strides=[2, 2])
    pf = q.pair(p, 0.08 if variant != "pool_scale" else 0.1, 0 if zd == np.uint8 else -128, name="pool", zdtype=zd)
    g = q.node("GlobalAveragePool", [pf], "gap")
    gf = q.pair(g, 0.03, 0 if zd == np.uint8 else -128, zdtype=zd)
    fl = q.node("Flatten", [gf], "fl", axis=1)
    y = q.node("Gemm", [fl] + q.weights("fc", (2, 4), 0.03), "y", transB=1)
    return q.model([y])


def qoperator_block():
    """The QOperator form: QLinearConv (per-channel weights, bias), a
    com.microsoft QLinearAdd of its output and the input, Relu-less;
    QLinearGlobalAveragePool and QGemm (com.microsoft), then float."""
    q = QDQ(4)
    c = lambda n, v, dt: q.inits.append(q_init(n, v, dt))
    q.nodes.append(helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "xq"))
    c("xs", 0.02, np.float32), c("xz", 128, np.uint8)
    c("w", q.rng.integers(-127, 128, (3, 3, 3, 3)), np.int8), c("ws", [0.01, 0.02, 0.015], np.float32)
    c("wz", np.zeros(3), np.int8), c("cs", 0.05, np.float32), c("cz", 120, np.uint8)
    c("b", [10, -20, 30], np.int32)
    q.nodes.append(helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "cs", "cz", "b"], ["cq"],
                                    "conv", pads=[1, 1, 1, 1]))
    c("ss", 0.06, np.float32), c("sz", 110, np.uint8)
    q.nodes.append(helper.make_node("QLinearAdd", ["cq", "cs", "cz", "xq", "xs", "xz", "ss", "sz"], ["sq"], "add",
                                    domain="com.microsoft"))
    c("gs", 0.03, np.float32), c("gz", 128, np.uint8)
    q.nodes.append(helper.make_node("QLinearGlobalAveragePool", ["sq", "ss", "sz", "gs", "gz"], ["gq"], "gap",
                                    domain="com.microsoft", channels_last=0))
    q.nodes.append(helper.make_node("Flatten", ["gq"], ["fq"], "flatten", axis=1))
    c("fw", q.rng.integers(-127, 128, (2, 3)), np.int8), c("fws", 0.01, np.float32), c("fwz", 0, np.int8)
    c("fb", [5, -5], np.int32)
    q.nodes.append(helper.make_node("QGemm", ["fq", "gs", "gz", "fw", "fws", "fwz", "fb"], ["y"], "fc",
                                    domain="com.microsoft", transB=1))
    return q.model(["y"], domains=("com.microsoft",))


def qoperator_avgpool():
    """com.microsoft QLinearAveragePool (3x3, stride 2, padded, padding not
    counted) between a QuantizeLinear and a DequantizeLinear."""
    q = QDQ(6)
    c = lambda n, v, dt: q.inits.append(q_init(n, v, dt))
    q.nodes.append(helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "xq"))
    c("xs", 0.02, np.float32), c("xz", 128, np.uint8), c("ps", 0.03, np.float32), c("pz", 100, np.uint8)
    q.nodes.append(helper.make_node("QLinearAveragePool", ["xq", "xs", "xz", "ps", "pz"], ["pq"], "pool",
                                    domain="com.microsoft", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                    count_include_pad=0))
    q.nodes.append(helper.make_node("DequantizeLinear", ["pq", "ps", "pz"], ["y"], "dq"))
    return q.model(["y"], domains=("com.microsoft",))


def integer_ops():
    """ConvInteger, MatMulInteger, QLinearMatMul and DynamicQuantizeLinear,
    each output of the graph (the integer kernels, parameters read at run
    time where they are graph inputs)."""
    q = QDQ(5)
    c = lambda n, v, dt: q.inits.append(q_init(n, v, dt))
    q.nodes.append(helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "dql"))
    c("w", q.rng.integers(-127, 128, (2, 3, 3, 3)), np.int8), c("wz", 0, np.int8)
    q.nodes.append(helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["ci"], "convint"))
    q.nodes.append(helper.make_node("Cast", ["ci"], ["cf"], "cast", to=TensorProto.FLOAT))
    q.nodes.append(helper.make_node("Reshape", ["xq", "shape"], ["a"], "reshape"))
    c("shape", [24, 8], np.int64)
    c("b", q.rng.integers(0, 256, (8, 5)), np.uint8), c("bz", [1, 2, 3, 4, 5], np.uint8)
    q.nodes.append(helper.make_node("MatMulInteger", ["a", "b", "xz", "bz"], ["mi"], "matmulint"))
    q.nodes.append(helper.make_node("Cast", ["mi"], ["mf"], "cast2", to=TensorProto.FLOAT))
    c("bs", 0.01, np.float32), c("ys", 0.5, np.float32), c("yz", 3, np.uint8)
    q.nodes.append(helper.make_node("QLinearMatMul", ["a", "xs", "xz", "b", "bs", "bz", "ys", "yz"], ["qm"], "qmatmul"))
    q.nodes.append(helper.make_node("DequantizeLinear", ["qm", "ys", "yz"], ["qf"], "dq"))
    return q.model(["cf", "mf", "qf"])


def small_graphs():
    put("onnx", "block.onnx", residual_block())
    put("onnx", "block_external.onnx", residual_block(external=True))
    put("onnx", "block_typed.onnx", residual_block(typed=True))
    put("onnx", "shapes.onnx", shape_subgraph())
    put("onnx", "shapes_dynamic.onnx", shape_subgraph(dynamic=True))
    # a cycle and a duplicate output: structural errors
    g = helper.make_graph([helper.make_node("Relu", ["b"], ["a"], "r1"), helper.make_node("Relu", ["a"], ["b"], "r2")],
                          "cycle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
    put("onnx", "cycle.onnx", model_bytes(g))
    g = helper.make_graph([helper.make_node("Dropout", ["x"], ["y", "mask"], "drop"),
                           helper.make_node("Clip", ["y"], ["z"], "clip", min=0.0, max=6.0) ],
                          "old", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3]),
                           helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 3])])
    put("onnx", "opset7.onnx", model_bytes(g, opset=7, ir=3))
    for v in ("", "clip", "leaky", "per_axis", "pool_scale", "int8"):
        put("onnx", "qdq_block%s.onnx" % ("_" + v if v else ""), qdq_block(v))
    put("onnx", "qoperator_block.onnx", qoperator_block())
    put("onnx", "qoperator_avgpool.onnx", qoperator_avgpool())
    put("onnx", "integer_ops.onnx", integer_ops())


def make_onnx(node_tests):
    for p in sorted(glob.glob(os.path.join(node_tests, "*", "model.onnx"))):
        name = os.path.basename(os.path.dirname(p))
        put("onnx", name + ".onnx", open(p, "rb").read())
        folded = const_inputs_as_initializers(p)
        if folded:
            put("onnx", name + "_const.onnx", folded)
    small_graphs()


# ---------------------------------------------------------------- npy

def npy(a, version=1, descr=None, header_extra=""):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, %s}" % (
        descr or a.dtype.str, repr(tuple(a.shape)), header_extra)
    hlen_size = 2 if version == 1 else 4
    h = d.encode("latin1" if version < 3 else "utf8")
    total = 6 + 2 + hlen_size + len(h) + 1
    h += b" " * (-total % 64) + b"\n"
    return (b"\x93NUMPY" + bytes([version, 0]) + len(h).to_bytes(hlen_size, "little") + h + a.tobytes())


def make_npy():
    x = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    put("npy", "f32_v1.npy", npy(x))
    put("npy", "f32_v2.npy", npy(x, 2))
    put("npy", "f32_v3.npy", npy(x, 3))
    put("npy", "i64_scalar.npy", npy(np.array(-7, "<i8")))
    put("npy", "bool.npy", npy(np.array([1, 0, 1, 1], "|b1")))
    put("npy", "bf16.npy", npy(np.array([[[16256], [49152]]], "<u2")))
    put("npy", "u8_empty.npy", npy(np.zeros((0, 5), "|u1")))
    put("npy", "f64.npy", npy(x.astype("<f8")))
    put("npy", "big_endian.npy", npy(x.astype(">f4")))
    put("npy", "truncated.npy", npy(x)[:-5])
    put("npy", "trailing.npy", npy(x) + b"\0")
    put("npy", "wrong_shape.npy", npy(x.reshape(3, 2)))
    m = npy(x).replace(b"False", b"True ")
    put("npy", "fortran.npy", m)
    put("npy", "not_npy.npy", b"P3\n2 3\n255\n")
    # calibration samples: K x 3 x 8 x 8 for the harness' quantized tiny ResNet
    s = np.random.default_rng(6).standard_normal((2, 3, 8, 8)).astype("<f4")
    put("npy", "calib_2.npy", npy(s))
    put("npy", "calib_1_zeros.npy", npy(np.zeros((1, 3, 8, 8), "<f4")))
    put("npy", "calib_wrong_shape.npy", npy(s.reshape(2, 3, 4, 16)))
    n = s.copy()
    n[1, 2, 3, 4] = np.nan
    put("npy", "calib_nan.npy", npy(n))
    put("npy", "calib_huge_values.npy", npy(np.full((1, 3, 8, 8), 3e38, "<f4")))
    # a shape of 2^62 x 3 x 8 x 8 wraps around 64 bits to 0 bytes of data
    put("npy", "calib_shape_wraps.npy", npy(np.zeros(0, "<f4"))
        .replace(b"(0,)", b"(4611686018427387904, 3, 8, 8)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node-tests", default=os.path.join(ROOT, "..", "shared", "onnx-node-tests"))
    args = ap.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    make_safetensors()
    make_yaml()
    make_onnx(args.node_tests)
    make_npy()
    for k in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, k))
        size = sum(os.path.getsize(os.path.join(OUT, k, f)) for f in files)
        print(f"{k}: {len(files)} files, {size} bytes")


if __name__ == "__main__":
    main()
