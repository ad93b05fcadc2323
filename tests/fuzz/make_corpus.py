#!/usr/bin/python3
"""Write the fuzzers' seed corpora into tests/fuzz/corpus/{onnx,yaml,safetensors,npy}.

    tests/fuzz/make_corpus.py [--node-tests ../shared/onnx-node-tests]

onnx: every model of the ONNX backend node tests as it is, and again with its
      constant operands (Reshape's shape, Pad's pads, ...) turned into
      initializers so that constant folding runs; plus small hand-built graphs:
      a residual block, a shape subgraph, external data (ext.bin, which the
      harness puts next to the model), a dynamic batch size, typed-field
      initializers.
yaml: tiny ResNets (basic and bottleneck, stems, widths, groups, init and
      weights: w.safetensors), the examples/, and a few broken descriptions.
safetensors: the tiny network's weights (also the YAML harness' w.safetensors)
      in F32, F16, BF16 and F64, with metadata, and small odd files.
npy:  .npy files of each version, dtype and rank the harness tries.

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
