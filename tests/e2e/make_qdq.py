#!/usr/bin/python3
"""Quantize a float ONNX model to int8 QDQ form the way onnxruntime does.

    make_qdq.py MODEL.onnx --out MODEL.qdq.onnx [--calibrate CAL.npy | --calib-random K]

Writes what onnxruntime.quantization.quantize_static writes for
QuantFormat.QDQ, per_channel=True, activation_type=QUInt8,
weight_type=QInt8 and MinMax calibration (after onnxruntime's pre-processing
has folded BatchNormalization into Conv), independently of resnetc's own
quantizer, so the two can be checked against each other. Only the Python
onnx package and onnxruntime-node (for calibration, through ort_minmax.js)
are needed; Python onnxruntime is not.

Conventions (onnxruntime's):

- BatchNormalization that follows a Conv (the Conv's only consumer) is folded
  into it first; the calibrated and quantized model is the folded one.
- Activations: per-tensor, asymmetric. From the calibrated [min, max], widened
  to include 0: scale = (rmax - rmin) / (qmax - qmin), zero point
  round(qmin - rmin / scale) clipped to [qmin, qmax]; scale 1, zero point 0
  when rmax == rmin. uint8 [0, 255] by default, int8 [-128, 127] with
  --activation-type int8. Each quantized tensor gets one QuantizeLinear ->
  DequantizeLinear pair, shared by all its consumers.
- Weights: int8, symmetric, per output channel (Conv: axis 0, ConvTranspose:
  axis 1, Gemm: axis 0 with transB=1 else 1, MatMul: axis 1); scale =
  max|w| / 127 (range [-127, 127]), zero point 0. Stored as int8
  initializers with a DequantizeLinear (axis) in front of the op.
  --per-tensor: one scale per weight instead. --reduce-range: 7-bit
  weights, [-64, 64] and scale max|w| / 64 (onnxruntime's reduce_range;
  see below).
- Bias (Conv, Gemm): int32, scale = input scale * weight scale (* Gemm's
  beta), zero point 0, with a DequantizeLinear in front.
- Which tensors: inputs and outputs of Conv, ConvTranspose, Gemm, MatMul,
  Add, Mul, GlobalAveragePool (each with its own calibrated range). MaxPool,
  AveragePool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze: when their
  input is quantized, their output is too, with the same scale and zero
  point initializers as the input. (onnxruntime leaves Flatten in float
  between two pairs; its output range equals its input's, so the numbers are
  the same.)
- Relu and Clip are removed when their input has one consumer: the producer
  (Conv, Add) then writes the Relu's output, whose QuantizeLinear uses the
  Relu's output range (min 0, so the quantization clamps as the Relu did).
  --keep-relu leaves the Relu in the graph between the op and that
  QuantizeLinear (no pair between them; same numbers).
- The model input gets a pair; a graph output gets one too, its
  DequantizeLinear writing the output's name, so outputs stay float (but
  take only 256 values: close logits can tie). --float-outputs leaves graph
  outputs unquantized (the op writing one computes it in float).
- Other ops stay float between pairs.
- Opset: per-axis QuantizeLinear / DequantizeLinear need 13; an older model
  is converted to 13, a newer one keeps its opset.

Calibration: --calibrate CAL.npy (float32, K samples stacked on axis 0, fed
the model's batch size at a time), or --calib-random K: K samples ~ N(0, 1)
of the model's input shape from numpy's default_rng(--seed), --seed default
1 (export_torchvision.py's test input is seed 0's first sample);
--save-calib writes them. With neither, --calib-random 8. The tensors are exposed as extra graph outputs in a
temporary model and run with onnxruntime-node (ort_minmax.js); the min and
max over all samples are the range (onnxruntime's MinMax, no moving
average). --save-ranges writes the calibrated ranges as JSON; --ranges reads
such a file instead of calibrating.

onnxruntime's int8 Conv and Gemm on x86 CPUs without VNNI multiply uint8
activations by int8 weights with VPMADDUBSW, which adds pairs of products in
int16 with saturation (pairs of neighbours along the NHWC reduction order
kh, kw, input channel): where two weights near +-127 meet large activation
codes the sum clips, so onnxruntime's output is not exactly the QDQ model's
arithmetic (on ResNet-18's first Conv, about 1% of the outputs are off by up
to ~45 steps). 7-bit weights (--reduce-range) cannot saturate: 2 * 255 * 64
< 32767.

--check IN.npy runs the float and the quantized model on IN.npy with
ort_run.js and prints max|q - f| / max|f| and whether top-1 agrees.

Needs Debian's python3-onnx and python3-numpy; Node.js with onnxruntime-node
installed in tests/e2e (npm ci) for calibration and --check.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "make_qdq.py"
QDQ_MIN_OPSET = 13

# Inputs and outputs quantized, each with its own range.
OWN_RANGE_OPS = {"Add", "Mul", "GlobalAveragePool"}
# Output quantized with its input's scale and zero point, when the input is quantized.
SHARED_RANGE_OPS = {"MaxPool", "AveragePool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze"}
# Removed into their producer (or kept, --keep-relu) with the output range.
REMOVABLE_ACTIVATIONS = {"Relu", "Clip"}

ACT_RANGES = {"uint8": (0, 255, TensorProto.UINT8, np.uint8),
              "int8": (-128, 127, TensorProto.INT8, np.int8)}
WEIGHT_QMAX = 127  # symmetric int8 weights use [-127, 127]
WEIGHT_QMAX_REDUCED = 64  # with --reduce-range, [-64, 64] (7 bits)
INT32_MAX = 2**31 - 1


def die(msg, status=1):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(status)


def note(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)


# ---------------------------------------------------------------- preparation

def default_opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    die("the model imports no ai.onnx opset")


def prepare(model):
    """Opset >= 13 and BatchNormalization folded into Conv: the float model the
    calibration runs and the quantizer rewrites."""
    opset = default_opset(model)
    if opset < QDQ_MIN_OPSET:
        from onnx import version_converter
        note(f"converting opset {opset} to {QDQ_MIN_OPSET} (per-axis QuantizeLinear needs it)")
        model = version_converter.convert_version(model, QDQ_MIN_OPSET)
    fold_batchnorm(model)
    return model


def fold_batchnorm(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    uses = consumer_counts(g)
    graph_outputs = {o.name for o in g.output}
    remove = []
    for bn in g.node:
        if bn.op_type != "BatchNormalization":
            continue
        conv = producer.get(bn.input[0])
        attrs = {a.name: helper.get_attribute_value(a) for a in bn.attribute}
        if (conv is None or conv.op_type != "Conv" or uses[bn.input[0]] != 1
                or bn.input[0] in graph_outputs or len(bn.output) != 1 or attrs.get("training_mode", 0)
                or not all(i in inits for i in bn.input[1:5])
                or conv.input[1] not in inits or (len(conv.input) > 2 and conv.input[2] not in inits)):
            die(f"BatchNormalization '{bn.name or bn.output[0]}' does not follow a Conv it can be folded into")
        eps = attrs.get("epsilon", 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(inits[i]).astype(np.float64) for i in bn.input[1:5])
        w = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        b = (numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64)
             if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0]))
        s = gamma / np.sqrt(var + eps)
        w_name = replace_initializer(g, inits, uses, conv.input[1],
                                     (w * s.reshape(-1, *[1] * (w.ndim - 1))).astype(np.float32), "_bnfolded")
        b_old = conv.input[2] if len(conv.input) > 2 and conv.input[2] else bn.input[2]
        b_name = replace_initializer(g, inits, uses, b_old, ((b - mean) * s + beta).astype(np.float32), "_bnfolded")
        del conv.input[1:]
        conv.input.extend([w_name, b_name])
        conv.output[0] = bn.output[0]
        remove.append(bn)
    for n in remove:
        g.node.remove(n)
    drop_unused_initializers(g)
    if remove:
        note(f"folded {len(remove)} BatchNormalization into Conv")


def replace_initializer(g, inits, uses, name, value, suffix):
    """Sets initializer `name` to `value` in place when nothing else reads it,
    else adds a new one; returns the name to use."""
    if name in inits and uses.get(name, 0) > 1:
        name = unique_name(inits, name + suffix)
    t = numpy_helper.from_array(value, name)
    if name in inits:
        inits[name].CopyFrom(t)
    else:
        g.initializer.append(t)
        inits[name] = g.initializer[-1]
    return name


def unique_name(taken, base):
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def consumer_counts(g):
    uses = {}
    for n in g.node:
        for i in n.input:
            if i:
                uses[i] = uses.get(i, 0) + 1
    return uses


def drop_unused_initializers(g):
    used = set(consumer_counts(g)) | {o.name for o in g.output}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


# ---------------------------------------------------------------- calibration

def model_input(model):
    inits = {t.name for t in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    if len(ins) != 1:
        die(f"the model has {len(ins)} inputs; one is supported")
    return ins[0]


def input_shape(vi):
    dims = []
    for k, d in enumerate(vi.type.tensor_type.shape.dim):
        if d.HasField("dim_value"):
            dims.append(d.dim_value)
        elif k == 0:
            dims.append(1)  # a symbolic batch size: one sample per run
        else:
            die(f"input '{vi.name}' has a symbolic dimension {k} ({d.dim_param or '?'})")
    return dims


def random_calibration(model, k, seed):
    shape = input_shape(model_input(model))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k * shape[0], *shape[1:])).astype(np.float32)


def float_tensors(model):
    """Names of the float32 tensors the nodes write (by shape inference)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        types[vi.name] = vi.type.tensor_type.elem_type
    return [o for n in model.graph.node for o in n.output if o and types.get(o) == TensorProto.FLOAT]


def calibrate(model, cal_path, threads):
    """{tensor: (min, max)} over the samples in cal_path, from onnxruntime-node."""
    batch = input_shape(model_input(model))[0]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in float_tensors(model):
        if name not in have:
            probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory(prefix="make_qdq-") as tmp:
        probe_path = os.path.join(tmp, "calibrate.onnx")
        out_path = os.path.join(tmp, "ranges.json")
        onnx.save(probe, probe_path)
        cmd = ["node", os.path.join(HERE, "ort_minmax.js"), "--threads", str(threads),
               "--batch", str(batch), probe_path, cal_path, out_path]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            die("calibration failed:\n" + r.stderr.strip())
        with open(out_path) as f:
            result = json.load(f)
    note(f"calibrated on {result['samples']} samples ({result['runs']} runs, onnxruntime {result['ort_version']})")
    return result


def load_ranges(path):
    with open(path) as f:
        result = json.load(f)
    if "ranges" not in result:
        die(f"{path}: no 'ranges' (expected ort_minmax.js output)")
    return result


# ---------------------------------------------------------------- quantization

class TensorPlan:
    """What the quantizer decided about one tensor."""
    def __init__(self, shared_with=None):
        self.shared_with = shared_with  # quantized with this tensor's scale and zero point
        self.scale = self.zp = None     # initializer names
        self.scale_value = None         # float32 array


class Quantizer:
    def __init__(self, model, ranges, act_type, per_channel, keep_relu, reduce_range, float_outputs):
        self.model = model
        self.g = model.graph
        self.ranges = ranges
        self.qmin, self.qmax, self.act_proto, self.act_np = ACT_RANGES[act_type]
        self.per_channel = per_channel
        self.keep_relu = keep_relu
        self.wmax = WEIGHT_QMAX_REDUCED if reduce_range else WEIGHT_QMAX
        self.float_outputs = float_outputs
        self.nodes = list(self.g.node)  # one Python object per node: removed holds their ids
        self.inits = {t.name: t for t in self.g.initializer}
        self.names = set(self.inits) | {o for n in self.nodes for o in n.output} | \
            {i.name for i in self.g.input}
        self.acts = {}       # tensor -> TensorPlan, in the order decided
        self.weights = {}    # initializer -> channel axis or None
        self.biases = []     # (bias, input, weight, beta)
        self.removed = set()  # id() of the self.nodes entries dropped (removed activations)
        self.new_inits = []
        self.bias_clipped = 0

    # -- decisions, node by node in graph order
    def plan(self):
        graph_inputs = {i.name for i in self.g.input}
        graph_outputs = {o.name for o in self.g.output}
        for node in self.nodes:
            op = node.op_type
            if op in ("Conv", "ConvTranspose"):
                self.activation(node.input[0])
                self.activation(node.output[0])
                if node.input[1] in self.inits:
                    self.weight(node.input[1], 0 if op == "Conv" else 1)
                    if len(node.input) > 2 and node.input[2] in self.inits:
                        self.bias(node.input[2], node.input[0], node.input[1], 1.0)
                else:  # computed weights: quantized as an activation, the bias left float
                    self.activation(node.input[1])
            elif op == "Gemm":
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                self.activation(node.input[0])
                self.activation(node.output[0])
                if node.input[1] in self.inits:
                    self.weight(node.input[1], 0 if attrs.get("transB", 0) else 1)
                else:
                    self.activation(node.input[1])
                if len(node.input) > 2 and node.input[2]:
                    c = node.input[2]
                    n_out = self.weight_dims(node.input[1])[0 if attrs.get("transB", 0) else 1] \
                        if node.input[1] in self.inits else None
                    if c in self.inits and n_out is not None and list(self.inits[c].dims) == [n_out]:
                        self.bias(c, node.input[0], node.input[1], float(attrs.get("beta", 1.0)))
                    else:
                        self.activation(c)
            elif op == "MatMul":
                for name in list(node.input) + list(node.output):
                    if name in self.inits:
                        self.weight(name, 1 if len(self.inits[name].dims) >= 2 else None)
                    else:
                        self.activation(name)
            elif op in OWN_RANGE_OPS:
                for name in list(node.input) + list(node.output):
                    if name in self.inits:
                        self.weight(name, None)
                    elif name:
                        self.activation(name)
            elif op in SHARED_RANGE_OPS:
                src = node.input[0]
                if src in self.acts or src in self.weights:
                    if node.output[0] not in self.acts:
                        self.acts[node.output[0]] = TensorPlan(shared_with=src)
            elif op in REMOVABLE_ACTIVATIONS:
                src, dst = node.input[0], node.output[0]
                producer = self.producer_of(src)
                if (producer is not None and self.uses(src) == 1
                        and src not in graph_outputs and src not in graph_inputs):
                    self.acts.pop(src, None)
                    if not self.keep_relu:
                        producer.output[list(producer.output).index(src)] = dst
                        self.removed.add(id(node))
                else:
                    self.activation(src)
                self.activation(dst)
        if self.float_outputs:
            for o in graph_outputs:
                if o in self.acts and not any(p.shared_with == o for p in self.acts.values()):
                    del self.acts[o]

    def producer_of(self, name):
        for n in self.nodes:
            if id(n) not in self.removed and name in n.output:
                return n
        return None

    def uses(self, name):
        return sum(1 for n in self.nodes if id(n) not in self.removed for i in n.input if i == name)

    def weight_dims(self, name):
        return list(self.inits[name].dims)

    def activation(self, name):
        if not name or name in self.acts or name in self.weights:
            return
        if name in self.inits:
            self.weight(name, None)
        else:
            self.acts[name] = TensorPlan()

    def weight(self, name, axis):
        if name not in self.weights:
            self.weights[name] = axis if self.per_channel else None

    def bias(self, name, input_name, weight_name, beta):
        self.biases.append((name, input_name, weight_name, beta))

    # -- numbers
    def act_params(self, name):
        r = self.ranges.get(name)
        if r is None:
            die(f"no calibration range for tensor '{name}'")
        rmin = min(np.float32(r[0]), np.float32(0))
        rmax = max(np.float32(r[1]), np.float32(0))
        if rmax == rmin:
            return np.float32(1.0), 0
        scale = np.float32((rmax - rmin) / np.float32(self.qmax - self.qmin))
        zp = int(np.clip(np.round(self.qmin - rmin / scale), self.qmin, self.qmax))
        return scale, zp

    def add_init(self, array, name):
        name = unique_name(self.names, name)
        self.names.add(name)
        self.new_inits.append(numpy_helper.from_array(array, name))
        return name

    # -- rewriting
    def build(self):
        g = self.g
        # Activation scale and zero point initializers (shared ones resolved later).
        for name, p in self.acts.items():
            if p.shared_with is None:
                scale, zp = self.act_params(name)
                p.scale_value = np.array(scale, dtype=np.float32)
                p.scale = self.add_init(p.scale_value, name + "_scale")
                p.zp = self.add_init(np.array(zp, dtype=self.act_np), name + "_zero_point")
        for name, p in self.acts.items():
            src = p
            while src.shared_with is not None:
                if src.shared_with in self.weights:
                    die(f"'{name}' shares the range of weight '{src.shared_with}' (unsupported)")
                src = self.acts[src.shared_with]
            p.scale, p.zp, p.scale_value = src.scale, src.zp, src.scale_value

        weight_scale = {}
        front = []   # DequantizeLinear of weights and biases, first in the graph
        renames = {}  # float tensor -> its DequantizeLinear output
        for name, axis in self.weights.items():
            w = numpy_helper.to_array(self.inits[name]).astype(np.float32)
            scale = self.weight_scales(w, axis)
            weight_scale[name] = scale
            front.append(self.weight_dq(name, w, scale, axis, renames))

        for bias, inp, wname, beta in self.biases:
            b = numpy_helper.to_array(self.inits[bias]).astype(np.float32)
            if inp not in self.acts:
                die(f"bias '{bias}': input '{inp}' is not quantized")
            s = (self.acts[inp].scale_value * weight_scale[wname] * np.float32(beta)).astype(np.float32)
            s = s.reshape(()) if s.size == 1 else s.reshape(-1)
            q = np.round(b / s)
            if np.any(np.abs(q) > INT32_MAX):
                self.bias_clipped += int(np.sum(np.abs(q) > INT32_MAX))
            q = np.clip(q, -INT32_MAX - 1, INT32_MAX).astype(np.int32)
            qname = self.add_init(q, bias + "_quantized")
            sname = self.add_init(s, bias + "_quantized_scale")
            zname = self.add_init(np.zeros(s.shape, dtype=np.int32), bias + "_quantized_zero_point")
            out = unique_name(self.names, bias + "_DequantizeLinear_Output")
            self.names.add(out)
            attrs = {"axis": 0} if s.size > 1 else {}
            front.append(helper.make_node("DequantizeLinear", [qname, sname, zname], [out],
                                          name=bias + "_DequantizeLinear", **attrs))
            renames[bias] = out

        # Activation pairs, each right after its producer (graph inputs first).
        graph_outputs = {o.name for o in g.output}
        pairs_after = {}  # producer id (None: graph input) -> [pair nodes]
        producer = {}
        for n in self.nodes:
            if id(n) not in self.removed:
                for o in n.output:
                    producer[o] = n
        out_renames = {}  # graph output -> what its producer now writes
        for name, p in self.acts.items():
            if name in graph_outputs:
                q_in = name + "_QuantizeLinear_Input"
                dq_out = name
                out_renames[name] = q_in
            else:
                q_in = name
                dq_out = name + "_DequantizeLinear_Output"
                renames[name] = dq_out
            q_out = name + "_QuantizeLinear_Output"
            self.names.update((q_in, q_out, dq_out))
            nodes = [
                helper.make_node("QuantizeLinear", [q_in, p.scale, p.zp], [q_out], name=name + "_QuantizeLinear"),
                helper.make_node("DequantizeLinear", [q_out, p.scale, p.zp], [dq_out],
                                 name=name + "_DequantizeLinear"),
            ]
            if name in producer:
                key = id(producer[name])
            elif name in {i.name for i in g.input}:
                key = None
            else:
                die(f"tensor '{name}' has no producer")
            pairs_after.setdefault(key, []).extend(nodes)

        new_nodes = list(front) + pairs_after.get(None, [])
        for n in self.nodes:
            if id(n) in self.removed:
                continue
            for k, i in enumerate(n.input):
                if i in renames:
                    n.input[k] = renames[i]
            for k, o in enumerate(n.output):
                if o in out_renames:
                    n.output[k] = out_renames[o]
            new_nodes.append(n)
            new_nodes.extend(pairs_after.get(id(n), []))
        copies = []
        for n in new_nodes:
            c = onnx.NodeProto()
            c.CopyFrom(n)
            copies.append(c)
        del g.node[:]
        g.node.extend(copies)
        g.initializer.extend(self.new_inits)
        drop_unused_initializers(g)

    def weight_scales(self, w, axis):
        if axis is None:
            absmax = np.abs(w).max() if w.size else np.float32(0)
        else:
            absmax = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)
        scale = (np.asarray(absmax, dtype=np.float32) / np.float32(self.wmax)).astype(np.float32)
        return np.where(scale < np.finfo(np.float32).tiny, np.float32(1.0), scale).astype(np.float32)

    def weight_dq(self, name, w, scale, axis, renames):
        shape = [1] * w.ndim
        if axis is not None:
            shape[axis] = -1
        q = np.clip(np.round(w / scale.reshape(shape)), -self.wmax, self.wmax).astype(np.int8)
        qname = self.add_init(q, name + "_quantized")
        sname = self.add_init(scale.reshape(-1) if axis is not None else scale.reshape(()), name + "_scale")
        zname = self.add_init(np.zeros(scale.shape, dtype=np.int8) if axis is not None
                              else np.array(0, dtype=np.int8), name + "_zero_point")
        out = unique_name(self.names, name + "_DequantizeLinear_Output")
        self.names.add(out)
        renames[name] = out
        attrs = {"axis": axis} if axis is not None else {}
        return helper.make_node("DequantizeLinear", [qname, sname, zname], [out],
                                name=name + "_DequantizeLinear", **attrs)


# ---------------------------------------------------------------- check

def check(float_path, qdq_path, x_path):
    with tempfile.TemporaryDirectory(prefix="make_qdq-") as tmp:
        outs = []
        for label, path in (("float", float_path), ("qdq", qdq_path)):
            out = os.path.join(tmp, label + ".npy")
            r = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), path, x_path, out],
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                die(f"ort_run.js on the {label} model failed:\n" + r.stderr.strip())
            outs.append(np.load(out))
    f, q = (a.astype(np.float64) for a in outs)
    rel = np.abs(q - f).max() / np.abs(f).max()
    top_f = np.argmax(f.reshape(-1, f.shape[-1]), axis=-1)
    top_q = np.argmax(q.reshape(-1, q.shape[-1]), axis=-1)
    print(f"check: max|q-f|/max|f| = {rel:.4f} (max|q-f| {np.abs(q - f).max():.4g}, max|f| "
          f"{np.abs(f).max():.4g}); top-1 equal {int(np.sum(top_f == top_q))}/{len(top_f)} "
          f"(float {top_f[:4].tolist()} qdq {top_q[:4].tolist()})")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="float ONNX model")
    ap.add_argument("--out", required=True, help="QDQ ONNX model to write")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--calibrate", metavar="CAL.npy", help="calibration inputs, K samples stacked on axis 0")
    src.add_argument("--calib-random", metavar="K", type=int,
                     help="calibrate on K random N(0,1) inputs of the model's input shape (default 8)")
    src.add_argument("--ranges", metavar="RANGES.json", help="calibrated ranges from --save-ranges; no calibration")
    ap.add_argument("--seed", type=int, default=1, help="seed of --calib-random (default 1)")
    ap.add_argument("--save-calib", metavar="CAL.npy", help="write the --calib-random inputs here")
    ap.add_argument("--save-ranges", metavar="RANGES.json", help="write the calibrated ranges here")
    ap.add_argument("--activation-type", choices=("uint8", "int8"), default="uint8",
                    help="activations as asymmetric uint8 (default) or asymmetric int8")
    ap.add_argument("--per-tensor", action="store_true", help="one scale per weight instead of per channel")
    ap.add_argument("--reduce-range", action="store_true",
                    help="7-bit weights, [-64, 64] (onnxruntime's reduce_range=True)")
    ap.add_argument("--keep-relu", action="store_true",
                    help="keep Relu/Clip nodes (op -> Relu -> Q) instead of removing them")
    ap.add_argument("--float-outputs", action="store_true",
                    help="no QuantizeLinear/DequantizeLinear on graph outputs (onnxruntime's "
                         "OpTypesToExcludeOutputQuantization for the ops that write them)")
    ap.add_argument("--opset", type=int,
                    help=f"opset of the output (>= {QDQ_MIN_OPSET}; default: the model's, at least {QDQ_MIN_OPSET})")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads for calibration (default 1)")
    ap.add_argument("--check", metavar="IN.npy", help="compare the float and QDQ models on this input")
    args = ap.parse_args()

    if args.opset is not None and args.opset < QDQ_MIN_OPSET:
        die(f"--opset must be >= {QDQ_MIN_OPSET}", 2)
    if args.save_calib and args.calibrate:
        die("--save-calib goes with --calib-random", 2)
    try:
        model = onnx.load(args.model)
    except Exception as e:  # noqa: BLE001 - onnx raises several kinds
        die(f"{args.model}: {e}")
    model = prepare(model)
    if args.opset is not None and args.opset != default_opset(model):
        from onnx import version_converter
        model = version_converter.convert_version(model, args.opset)

    if args.ranges:
        result = load_ranges(args.ranges)
    else:
        with tempfile.TemporaryDirectory(prefix="make_qdq-") as tmp:
            cal = args.calibrate
            if cal is None:
                x = random_calibration(model, args.calib_random or 8, args.seed)
                cal = args.save_calib or os.path.join(tmp, "calibration.npy")
                np.save(cal, x)
            result = calibrate(model, cal, args.threads)
    if args.save_ranges:
        with open(args.save_ranges, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")

    q = Quantizer(model, result["ranges"], args.activation_type, not args.per_tensor, args.keep_relu,
                  args.reduce_range, args.float_outputs)
    q.plan()
    q.build()
    if q.bias_clipped:
        note(f"warning: {q.bias_clipped} bias values clipped to the int32 range")
    model.producer_name = "resnetc make_qdq.py"
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    counts = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    note(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))

    if args.check:
        check(args.model, args.out, args.check)


if __name__ == "__main__":
    main()
