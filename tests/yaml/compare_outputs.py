#!/usr/bin/python3
"""Check that the YAML-compiled model computes what the ONNX-compiled one does.

    compare_outputs.py YAML_OUT.npy ONNX_OUT.npy [TORCH_OUT.npy] [--rtol-of-max 1e-5]

PASS needs equal shapes, finite values and max|yaml - onnx| <= rtol * max|onnx|.
Both files come from resnetc compiling the same network with the same weights
through its two front ends, so the graphs, kernels and summation orders should
be the same and the outputs equal to the bit; 1e-5 of the output's range only
leaves room for a harmless difference in how a front end orders independent
nodes. A wrong weight, stride, pad or group changes logits by far more.
PyTorch's own output, if given, is reported for information (float32 reference
arithmetic differs from resnetc's by more than 1e-5).

Prints one line; exit status 0 on PASS, 1 on FAIL, 2 on unreadable input.
"""

import argparse
import sys

import numpy as np


def load(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        print(f"compare_outputs.py: error: {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("yaml_out")
    ap.add_argument("onnx_out")
    ap.add_argument("torch_out", nargs="?")
    ap.add_argument("--rtol-of-max", type=float, default=1e-5)
    args = ap.parse_args()
    a, b = load(args.yaml_out), load(args.onnx_out)
    if a.shape != b.shape:
        print(f"FAIL: shapes differ: yaml {a.shape}, onnx {b.shape}")
        return 1
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        print("FAIL: non-finite values in the outputs")
        return 1
    scale = float(np.abs(b).max())
    diff = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
    ok = diff <= args.rtol_of_max * scale
    line = f"max|yaml-onnx| = {diff:.3g}, max|onnx| = {scale:.4g}, limit {args.rtol_of_max:g} x max"
    if args.torch_out:
        t = load(args.torch_out)
        if t.shape == a.shape:
            rel = float(np.abs(a - t).max()) / max(float(np.abs(t).max()), 1e-30)
            line += f"; vs PyTorch {rel:.2g} of max"
    print(("PASS: " if ok else "FAIL: ") + line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
