#!/usr/bin/python3
"""Convert an int8 QDQ ONNX model to onnxruntime's QOperator form.

    qdq_to_qop.py MODEL.qdq.onnx --out MODEL.qop.onnx [--check IN.npy]

The QDQ input is what make_qdq.py (or onnxruntime.quantization with
QuantFormat.QDQ) writes; the output is the form onnxruntime.quantization
writes with QuantFormat.QOperator: each quantized op becomes one operator on
the quantized tensors, with scales and zero points as inputs.

    DQ(x) -> Conv(DQ(w), DQ(b)) -> Q(y)  QLinearConv(x, x_scale, x_zp, w, w_scale,
                                          w_zp, y_scale, y_zp, b_int32)
    DQ(a), DQ(b) -> Add -> Q(y)          com.microsoft QLinearAdd(a, a_scale, a_zp,
                                          b, b_scale, b_zp, y_scale, y_zp)
    DQ(a), DQ(b) -> Mul -> Q(y)          com.microsoft QLinearMul (the same inputs)
    DQ(x) -> GlobalAveragePool -> Q(y)   com.microsoft QLinearGlobalAveragePool(x,
                                          x_scale, x_zp, y_scale, y_zp), channels_last=0
    DQ(x) -> AveragePool -> Q(y)         com.microsoft QLinearAveragePool (AveragePool's
                                          attributes, channels_last=0)
    DQ(a) -> Gemm(DQ(b), DQ(c)) -> Q(y)  com.microsoft QGemm(a, a_scale, a_zp, b,
                                          b_scale, b_zp, c_int32, y_scale, y_zp), with
                                          Gemm's transA, transB, alpha
    DQ(a) -> Gemm(DQ(b), DQ(c))          QGemm without y_scale, y_zp: float output
                                          (a Gemm whose output is not quantized)
    DQ(x) -> MaxPool -> Q(y)             the op on the quantized x, when Q has the
    (also Flatten, Reshape, Transpose,    same scale and zero point as the DQ
     Squeeze, Unsqueeze)                  (uint8 / int8 MaxPool: opset 12)

A Relu or Clip between the op and its QuantizeLinear (make_qdq.py
--keep-relu) is dropped when the quantization clamps as it does (Relu: the
zero point is the type's minimum), as onnxruntime's QOperator quantizer does.

Conditions: activation scales and zero points are initializers, per tensor;
weights (Conv input 1, Gemm input 1) are quantized initializers, per tensor
or per output channel (Conv: axis 0; Gemm: the columns of B, axis 0 with
transB=1, else 1). Biases become int32 with scale x_scale * w_scale (Gemm:
alpha * a_scale * b_scale, beta folded in), zero point 0: make_qdq.py's int32
biases already have it and are used as they are; any other bias (another
scale, or a float initializer) is requantized. The op's output must have no
other reader than the QuantizeLinear (or the dropped Relu) and not be a graph
output. An op that does not match is left in QDQ form, and so are all other
QuantizeLinear / DequantizeLinear nodes (the model input's QuantizeLinear,
the DequantizeLinear writing a graph output); DequantizeLinear nodes left
without readers are removed. The model imports com.microsoft version 1.

Each converted op sits where the float op was; the new node is named after
it with "_quant" appended, and writes the QuantizeLinear's output name.

--ops Conv,MaxPool,... converts only those ops (to test a runtime that has
some of the QOperator ops but not all).

--check IN.npy runs the QDQ and the QOperator model on IN.npy with
onnxruntime-node (ort_run.js) and prints max|qop - qdq| / max|qdq| and
whether top-1 agrees. With uint8 activations onnxruntime's outputs for the
two are identical on ResNets (its graph optimizations fuse the QDQ groups
into the same kernels). With int8 activations they are not: ResNet-18 1.6%
of max|qdq| (same top-1), ResNet-50 3.0% (near-tied logits, a different
top-1); there the QOperator model is the closer of the two to the QDQ model
run without graph optimizations (0.8%, 1.5%; onnxruntime's optimized QDQ
model 1.6%, 3.0%).

Needs Debian's python3-onnx and python3-numpy; for --check, Node.js with
onnxruntime-node installed in tests/e2e (npm ci).
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "qdq_to_qop.py"
MS_DOMAIN = "com.microsoft"
INT32_MIN, INT32_MAX = -2**31, 2**31 - 1

QTYPES = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}
# Ops that only move or select values: run on the quantized tensor when the
# QuantizeLinear after them repeats the DequantizeLinear's parameters.
DIRECT_OPS = {"MaxPool": 12, "Flatten": 1, "Reshape": 1, "Transpose": 1, "Squeeze": 1, "Unsqueeze": 1}
BINARY_OPS = {"Add": "QLinearAdd", "Mul": "QLinearMul"}
CONVERTIBLE = {"Conv", "Gemm", "GlobalAveragePool", "AveragePool"} | set(BINARY_OPS) | set(DIRECT_OPS)


def die(msg, status=1):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(status)


def note(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)


def attrs_of(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def default_opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    die("the model imports no ai.onnx opset")


class Skip(Exception):
    """Why a node stays in QDQ form."""


class QParams:
    """A DequantizeLinear's or QuantizeLinear's parameters: the quantized tensor
    (DequantizeLinear's input or QuantizeLinear's output), scale and zero point
    initializer names and values, axis (None: per tensor)."""
    def __init__(self, q, scale, zp, scale_value, zp_value, axis):
        self.q, self.scale, self.zp = q, scale, zp
        self.scale_value, self.zp_value, self.axis = scale_value, zp_value, axis

    @property
    def dtype(self):
        return self.zp_value.dtype

    def same_as(self, other):
        return (self.dtype == other.dtype and self.axis == other.axis
                and self.scale_value.shape == other.scale_value.shape
                and np.array_equal(self.scale_value, other.scale_value)
                and np.array_equal(self.zp_value, other.zp_value))


class Converter:
    def __init__(self, model, ops=None):
        self.model = model
        self.ops = CONVERTIBLE if ops is None else set(ops)
        self.g = model.graph
        self.opset = default_opset(model)
        self.inits = {t.name: t for t in self.g.initializer}
        self.values = {}  # initializer name -> numpy array (cache)
        self.producer = {o: n for n in self.g.node for o in n.output if o}
        self.consumers = {}
        for n in self.g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.graph_outputs = {o.name for o in self.g.output}
        self.names = set(self.inits) | set(self.producer) | {i.name for i in self.g.input}
        self.new_inits = []
        self.replaced = {}   # id(float op) -> new node
        self.dropped = set()  # id() of QuantizeLinear / Relu / Clip nodes the new nodes replace
        self.converted = {}  # "Conv -> QLinearConv" -> count
        self.skipped = {}    # "Conv: reason" -> count
        self.requantized_biases = 0
        self.removed_dq = 0
        self.scalar_copies = {}  # initializer -> its rank-0 copy
        self.node_names = {n.name for n in self.g.node}

    # -- looking at the graph
    def const(self, name):
        if name not in self.inits:
            return None
        if name not in self.values:
            self.values[name] = numpy_helper.to_array(self.inits[name])
        return self.values[name]

    def add_init(self, array, base):
        name = base
        k = 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        self.new_inits.append(numpy_helper.from_array(array, name))
        self.inits[name] = self.new_inits[-1]
        self.values[name] = array
        return name

    def params(self, node, q, what):
        """QParams of a QuantizeLinear or DequantizeLinear node."""
        if len(node.input) < 3 or not node.input[2]:
            raise Skip(f"{what} has no zero point")
        scale, zp = node.input[1], node.input[2]
        s, z = self.const(scale), self.const(zp)
        if s is None or z is None:
            raise Skip(f"{what}'s scale or zero point is not an initializer")
        axis = attrs_of(node).get("axis", 1) if s.ndim == 1 and s.size > 1 else None
        return QParams(q, scale, zp, s.astype(np.float32), z, axis)

    def dq_input(self, tensor, what):
        """The DequantizeLinear writing `tensor`."""
        node = self.producer.get(tensor)
        if node is None or node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx"):
            raise Skip(f"{what} is not a DequantizeLinear output")
        return self.params(node, node.input[0], what)

    def activation(self, tensor, what):
        """A per-tensor 8-bit DequantizeLinear input, scale and zero point as scalars."""
        p = self.dq_input(tensor, what)
        if p.scale_value.size != 1 or p.zp_value.size != 1:
            raise Skip(f"{what} is not quantized per tensor")
        if p.dtype not in (np.uint8, np.int8):
            raise Skip(f"{what} is {p.dtype}, not 8-bit")
        return self.scalars(p)

    def scalars(self, p):
        """p with rank-0 scale and zero point (the contrib ops check that they are scalars)."""
        if p.scale_value.ndim:
            p.scale_value = p.scale_value.reshape(())
            p.scale = self.scalar_copy(p.scale, p.scale_value)
        if p.zp_value.ndim:
            p.zp_value = p.zp_value.reshape(())
            p.zp = self.scalar_copy(p.zp, p.zp_value)
        return p

    def scalar_copy(self, name, value):
        if name not in self.scalar_copies:
            self.scalar_copies[name] = self.add_init(value, name + "_scalar")
        return self.scalar_copies[name]

    def weight(self, tensor, channel_axis, channels, what):
        """A DequantizeLinear of an 8-bit initializer, per tensor or per channel along channel_axis."""
        p = self.dq_input(tensor, what)
        if self.const(p.q) is None:
            raise Skip(f"{what} is not a quantized initializer")
        if p.dtype not in (np.uint8, np.int8) or self.const(p.q).dtype != p.dtype:
            raise Skip(f"{what} is not 8-bit")
        if p.scale_value.size == 1:
            return self.scalars(p)
        axis = p.axis if p.axis is None or p.axis >= 0 else p.axis + self.const(p.q).ndim
        if axis != channel_axis or p.scale_value.size != channels or p.zp_value.size != channels:
            raise Skip(f"{what} is quantized per axis {p.axis}, not per output channel")
        return p

    def sole_reader(self, tensor):
        if tensor in self.graph_outputs:
            return None
        readers = self.consumers.get(tensor, [])
        return readers[0] if len(readers) == 1 else None

    def quantized_output(self, tensor, what):
        """(QParams of the QuantizeLinear that alone reads `tensor`, possibly
        through a clamp it makes redundant; [nodes the new op replaces])."""
        reader = self.sole_reader(tensor)
        if reader is None:
            raise Skip(f"{what} has readers other than one QuantizeLinear")
        clamp = None
        if reader.op_type in ("Relu", "Clip") and reader.domain in ("", "ai.onnx"):
            clamp = reader
            reader = self.sole_reader(clamp.output[0])
            if reader is None:
                raise Skip(f"{what}'s {clamp.op_type} has readers other than one QuantizeLinear")
        if reader.op_type != "QuantizeLinear" or reader.domain not in ("", "ai.onnx"):
            raise Skip(f"{what} is read by {reader.op_type}, not QuantizeLinear")
        p = self.params(reader, reader.output[0], what + "'s QuantizeLinear")
        if p.scale_value.size != 1 or p.zp_value.size != 1 or p.dtype not in (np.uint8, np.int8):
            raise Skip(f"{what} is not quantized to 8 bits per tensor")
        p = self.scalars(p)
        if clamp is not None and not self.clamp_redundant(clamp, p):
            raise Skip(f"{what}'s {clamp.op_type} clamps where its QuantizeLinear does not")
        return p, [n for n in (clamp, reader) if n is not None]

    def clamp_redundant(self, clamp, p):
        """Whether Q(clamp(v)) == Q(v) for all v: the clamp's bounds quantize to
        the type's ends (Relu: the zero point is the minimum)."""
        if clamp.op_type == "Relu":
            lo, hi = 0.0, None
        else:
            a = attrs_of(clamp)
            if self.opset < 11:
                lo, hi = a.get("min"), a.get("max")
            else:
                bounds = []
                for k in (1, 2):
                    if len(clamp.input) > k and clamp.input[k]:
                        v = self.const(clamp.input[k])
                        if v is None:
                            return False
                        bounds.append(float(v))
                    else:
                        bounds.append(None)
                lo, hi = bounds
        qmin, qmax = QTYPES[p.dtype]
        s, z = np.float32(p.scale_value), int(p.zp_value)

        def q(v):
            return int(np.round(np.float32(v) / s)) + z
        return (lo is None or q(lo) <= qmin) and (hi is None or q(hi) >= qmax)

    def int32_bias(self, tensor, target_scale, beta, what):
        """Name of an int32 initializer b_q with b_q * target_scale == beta * bias."""
        node = self.producer.get(tensor)
        if node is not None and node.op_type == "DequantizeLinear":
            q = self.const(node.input[0])
            s = self.const(node.input[1]) if len(node.input) > 1 else None
            z = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros((), np.int32)
            if q is None or s is None or z is None:
                raise Skip(f"{what} is not a quantized initializer")
            axis = 0 if q.ndim == 1 else attrs_of(node).get("axis", 1) % max(q.ndim, 1)
            shape = [1] * q.ndim
            if s.size > 1:
                shape[axis] = -1
            s64 = s.astype(np.float64).reshape(shape if s.size > 1 else ())
            if (q.dtype == np.int32 and q.ndim == 1 and not np.any(z)
                    and np.allclose(np.broadcast_to(s64 * beta, q.shape),
                                    np.broadcast_to(target_scale, q.shape), rtol=1e-6, atol=0)):
                return node.input[0]
            value = (q.astype(np.float64) - z.astype(np.float64).reshape(shape if z.size > 1 else ())) * s64
            base = node.input[0]
        else:
            value = self.const(tensor)
            if value is None or value.dtype != np.float32:
                raise Skip(f"{what} is neither a DequantizeLinear output nor a float initializer")
            value = value.astype(np.float64)
            base = tensor + "_quantized"
        if value.ndim > 1:
            raise Skip(f"{what} has rank {value.ndim}")
        target = np.broadcast_to(np.asarray(target_scale, np.float64), value.shape if value.ndim else (1,))
        q = np.clip(np.round(beta * value / target), INT32_MIN, INT32_MAX).astype(np.int32)
        self.requantized_biases += 1
        return self.add_init(q.reshape(-1) if value.ndim else q.reshape(()), base + "_requantized")

    # -- the conversions, each returning (new node, [nodes it replaces besides the op])
    def convert_conv(self, node):
        a = attrs_of(node)
        w_init = self.producer.get(node.input[1])
        wq = self.const(w_init.input[0]) if w_init is not None and w_init.op_type == "DequantizeLinear" else None
        if wq is None:
            raise Skip("the weight is not a quantized initializer")
        x = self.activation(node.input[0], "the input")
        w = self.weight(node.input[1], 0, wq.shape[0], "the weight")
        if x.dtype == np.int8 and w.dtype == np.uint8:
            raise Skip("int8 input with uint8 weights")
        y, drop = self.quantized_output(node.output[0], "the output")
        inputs = [x.q, x.scale, x.zp, w.q, w.scale, w.zp, y.scale, y.zp]
        if len(node.input) > 2 and node.input[2]:
            target = x.scale_value.astype(np.float64) * w.scale_value.astype(np.float64).reshape(-1)
            inputs.append(self.int32_bias(node.input[2], target, 1.0, "the bias"))
        qnode = helper.make_node("QLinearConv", inputs, [y.q], name=self.node_name(node), **a)
        return qnode, drop

    def convert_gemm(self, node):
        a = attrs_of(node)
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        trans_a, trans_b = int(a.get("transA", 0)), int(a.get("transB", 0))
        b_init = self.producer.get(node.input[1])
        bq = self.const(b_init.input[0]) if b_init is not None and b_init.op_type == "DequantizeLinear" else None
        if bq is None or bq.ndim != 2:
            raise Skip("B is not a quantized 2-D initializer")
        col_axis = 0 if trans_b else 1
        x = self.activation(node.input[0], "A")
        b = self.weight(node.input[1], col_axis, bq.shape[col_axis], "B")
        c = ""
        if len(node.input) > 2 and node.input[2]:
            target = alpha * x.scale_value.astype(np.float64) * b.scale_value.astype(np.float64).reshape(-1)
            c = self.int32_bias(node.input[2], target, beta, "C")
        try:
            y, drop = self.quantized_output(node.output[0], "the output")
            outputs, extra = [y.q], [y.scale, y.zp]
        except Skip:
            y, drop = None, []  # float output
            outputs, extra = [node.output[0]], []
        inputs = [x.q, x.scale, x.zp, b.q, b.scale, b.zp, c] + extra
        while inputs and not inputs[-1]:
            inputs.pop()
        qnode = helper.make_node("QGemm", inputs, outputs, name=self.node_name(node), domain=MS_DOMAIN,
                                 alpha=alpha, transA=trans_a, transB=trans_b)
        return qnode, drop

    def convert_binary(self, node):
        pa = self.activation(node.input[0], "input A")
        pb = self.activation(node.input[1], "input B")
        y, drop = self.quantized_output(node.output[0], "the output")
        if not pa.dtype == pb.dtype == y.dtype:
            raise Skip("inputs and output of different 8-bit types")
        qnode = helper.make_node(BINARY_OPS[node.op_type],
                                 [pa.q, pa.scale, pa.zp, pb.q, pb.scale, pb.zp, y.scale, y.zp], [y.q],
                                 name=self.node_name(node), domain=MS_DOMAIN)
        return qnode, drop

    def convert_pool(self, node):
        x = self.activation(node.input[0], "the input")
        y, drop = self.quantized_output(node.output[0], "the output")
        if x.dtype != y.dtype:
            raise Skip("input and output of different 8-bit types")
        a = attrs_of(node)
        dil = a.pop("dilations", None)
        if dil is not None and any(d != 1 for d in dil):
            raise Skip("dilations")
        if len(node.output) > 1:
            raise Skip("more than one output")
        op = "QLinearGlobalAveragePool" if node.op_type == "GlobalAveragePool" else "QLinearAveragePool"
        qnode = helper.make_node(op, [x.q, x.scale, x.zp, y.scale, y.zp], [y.q],
                                 name=self.node_name(node), domain=MS_DOMAIN, channels_last=0, **a)
        return qnode, drop

    def convert_direct(self, node):
        if self.opset < DIRECT_OPS[node.op_type]:
            raise Skip(f"8-bit {node.op_type} needs opset {DIRECT_OPS[node.op_type]}")
        if any(o for o in node.output[1:]):
            raise Skip("more than one output")
        x = self.activation(node.input[0], "the input")
        y, drop = self.quantized_output(node.output[0], "the output")
        if not x.same_as(y):
            raise Skip("the QuantizeLinear after it has other parameters than the DequantizeLinear before")
        qnode = onnx.NodeProto()
        qnode.CopyFrom(node)
        qnode.name = self.node_name(node)
        qnode.input[0] = x.q
        del qnode.output[:]
        qnode.output.append(y.q)
        return qnode, drop

    def node_name(self, node):
        base = (node.name or node.output[0]) + "_quant"
        name, k = base, 1
        while name in self.node_names:
            name, k = f"{base}_{k}", k + 1
        self.node_names.add(name)
        return name

    # -- the rewrite
    def run(self):
        for node in self.g.node:
            op = node.op_type
            if node.domain not in ("", "ai.onnx") or op not in self.ops:
                continue
            try:
                if op == "Conv":
                    qnode, drop = self.convert_conv(node)
                elif op == "Gemm":
                    qnode, drop = self.convert_gemm(node)
                elif op in BINARY_OPS:
                    qnode, drop = self.convert_binary(node)
                elif op in ("GlobalAveragePool", "AveragePool"):
                    qnode, drop = self.convert_pool(node)
                else:
                    qnode, drop = self.convert_direct(node)
            except Skip as e:
                if op not in DIRECT_OPS or self.producer.get(node.input[0]) is not None and \
                        self.producer[node.input[0]].op_type == "DequantizeLinear":
                    key = f"{op}: {e}"
                    self.skipped[key] = self.skipped.get(key, 0) + 1
                continue
            self.replaced[id(node)] = qnode
            self.dropped.update(id(n) for n in drop)
            key = f"{op} -> {qnode.op_type}" + (" (float output)" if op == "Gemm" and len(qnode.input) < 8 else "")
            self.converted[key] = self.converted.get(key, 0) + 1

        nodes = []
        for n in self.g.node:
            if id(n) in self.dropped:
                continue
            nodes.append(self.replaced.get(id(n), n))
        nodes = self.drop_unread_dequantize(nodes)
        del self.g.node[:]
        self.g.node.extend(nodes)
        self.g.initializer.extend(self.new_inits)
        self.drop_unused()
        if not any(imp.domain == MS_DOMAIN for imp in self.model.opset_import):
            self.model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))

    def drop_unread_dequantize(self, nodes):
        while True:
            read = {i for n in nodes for i in n.input if i} | self.graph_outputs
            keep = [n for n in nodes
                    if not (n.op_type == "DequantizeLinear" and not any(o in read for o in n.output))]
            if len(keep) == len(nodes):
                return keep
            self.removed_dq += len(nodes) - len(keep)
            nodes = keep

    def drop_unused(self):
        g = self.g
        read = {i for n in g.node for i in n.input if i} | self.graph_outputs
        keep = [t for t in g.initializer if t.name in read]
        del g.initializer[:]
        g.initializer.extend(keep)
        graph_inputs = [i for i in g.input if i.name not in self.inits or i.name in read]
        del g.input[:]
        g.input.extend(graph_inputs)
        tensors = read | {o for n in g.node for o in n.output}
        vi = [v for v in g.value_info if v.name in tensors]
        del g.value_info[:]
        g.value_info.extend(vi)


# ---------------------------------------------------------------- check

def check(qdq_path, qop_path, x_path):
    n_out = len(onnx.load(qdq_path, load_external_data=False).graph.output)
    with tempfile.TemporaryDirectory(prefix="qdq_to_qop-") as tmp:
        outs = {}
        for label, path in (("qdq", qdq_path), ("qop", qop_path)):
            files = [os.path.join(tmp, f"{label}{k}.npy") for k in range(n_out)]
            r = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), path, x_path] + files,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                die(f"ort_run.js on the {label} model failed:\n" + r.stderr.strip())
            outs[label] = [np.load(f) for f in files]
    for k in range(n_out):
        ref, q = (outs[label][k].astype(np.float64) for label in ("qdq", "qop"))
        diff = np.abs(q - ref)
        rel = diff.max() / np.abs(ref).max()
        top_r = np.argmax(ref.reshape(-1, ref.shape[-1]), axis=-1)
        top_q = np.argmax(q.reshape(-1, q.shape[-1]), axis=-1)
        label = f"check output {k}" if n_out > 1 else "check"
        print(f"{label}: max|qop-qdq|/max|qdq| = {rel:.4f} (max|diff| {diff.max():.4g}, max|qdq| "
              f"{np.abs(ref).max():.4g}, {int(np.sum(diff > 0))}/{diff.size} values differ); top-1 equal "
              f"{int(np.sum(top_r == top_q))}/{len(top_r)} (qdq {top_r[:4].tolist()} qop {top_q[:4].tolist()})",
              flush=True)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="QDQ ONNX model")
    ap.add_argument("--out", required=True, help="QOperator ONNX model to write")
    ap.add_argument("--ops", metavar="OP,...",
                    help="convert only these float ops (e.g. Conv,MaxPool,Flatten); the others stay in "
                         f"QDQ form. Default: all of {','.join(sorted(CONVERTIBLE))}")
    ap.add_argument("--check", metavar="IN.npy", help="compare the QDQ and QOperator models on this input")
    args = ap.parse_args()
    ops = None
    if args.ops is not None:
        ops = [o for o in args.ops.split(",") if o]
        unknown = [o for o in ops if o not in CONVERTIBLE]
        if unknown:
            die(f"--ops: cannot convert {', '.join(unknown)} (only {', '.join(sorted(CONVERTIBLE))})", 2)

    try:
        model = onnx.load(args.model)
    except Exception as e:  # noqa: BLE001 - onnx raises several kinds
        die(f"{args.model}: {e}")
    c = Converter(model, ops)
    c.run()
    model.producer_name = "resnetc qdq_to_qop.py"
    onnx.checker.check_model(model)
    onnx.save(model, args.out)

    if not c.converted:
        note("warning: nothing converted (no DequantizeLinear -> op -> QuantizeLinear groups)")
    for k, v in c.converted.items():
        note(f"converted {v} {k}")
    for k, v in c.skipped.items():
        note(f"not converted: {v} {k}")
    if c.dropped or c.removed_dq:
        note(f"removed {len(c.dropped)} QuantizeLinear/Relu/Clip and {c.removed_dq} DequantizeLinear nodes")
    if c.requantized_biases:
        note(f"requantized {c.requantized_biases} biases to input scale * weight scale")
    counts = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    note(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))

    if args.check:
        check(args.model, args.out, args.check)


if __name__ == "__main__":
    main()
