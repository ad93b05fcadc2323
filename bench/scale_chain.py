#!/usr/bin/env python3
"""Writes a long chain of Add and Mul nodes as an ONNX model, for timing how
resnetc's compile time grows with the node count (bench/scale_chain.sh).

    scale_chain.py N OUT.onnx

One float input x [1,64], N nodes alternating Add and Mul, one output y.
Each Mul multiplies by its own one-element constant (0.5); each Add adds
either its own one-element constant (every other Add) or the tensor from
two steps back (Add(t[i], t[i-1])), so the graph has N/2 initializers and
some tensors live across two nodes. The values stay finite.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(n):
    nodes, inits = [], []
    prev, prev2 = "x", "x"
    for i in range(n):
        out = "y" if i == n - 1 else "t%d" % i
        if i % 2 == 1:
            op = "Mul"
            c = "c%d" % i
            inits.append(numpy_helper.from_array(np.array([0.5], np.float32), c))
            other = c
        elif i % 4 == 0:
            op = "Add"
            c = "c%d" % i
            inits.append(numpy_helper.from_array(np.array([0.001 * (i % 97)], np.float32), c))
            other = c
        else:
            op = "Add"
            other = prev2
        nodes.append(helper.make_node(op, [prev, other], [out], name="n%d" % i))
        prev2, prev = prev, out
    graph = helper.make_graph(
        nodes, "scale_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit("usage: scale_chain.py N OUT.onnx   (N >= 1 nodes)")
    onnx.save(build(int(sys.argv[1])), sys.argv[2])


if __name__ == "__main__":
    main()
