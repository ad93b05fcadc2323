#!/usr/bin/python3
"""Compare a model output against a reference output, both float32 .npy.

    compare.py OURS.npy REF.npy [--rtol-of-max 1e-3]

PASS needs: equal shapes; equal top-1 (argmax over the last axis, per row);
all values finite; and max|ours - ref| <= rtol_of_max * max|ref|.

Why relative to max|ref| rather than elementwise: a reordered float32
reduction (Winograd, blocked GEMM, folded BatchNorm) changes every logit by a
few ulps of the *largest* partial sums, so near-zero logits can differ by a
large relative amount while the network is computing the same thing. 1e-3 of
the output's range leaves room for that through ResNet-50's ~50 layers and
still catches any real mistake (a wrong weight, pad or stride moves logits by
far more).

Prints one line with the numbers and PASS or FAIL; exit status 0 on PASS,
1 on FAIL, 2 on unreadable input.
"""

import argparse
import sys

import numpy as np


def load(path):
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        print(f"compare.py: error: {path}: {e}", file=sys.stderr)
        sys.exit(2)
    if a.dtype != np.float32:
        print(f"compare.py: error: {path}: dtype {a.dtype}, expected float32", file=sys.stderr)
        sys.exit(2)
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ours")
    ap.add_argument("ref")
    ap.add_argument("--rtol-of-max", type=float, default=1e-3,
                    help="allowed max|diff| as a fraction of max|ref| (default 1e-3)")
    args = ap.parse_args()

    ours, ref = load(args.ours), load(args.ref)
    if ours.shape != ref.shape:
        print(f"FAIL shape {ours.shape} != reference {ref.shape}  [{args.ours} vs {args.ref}]")
        return 1

    problems = []
    if not np.all(np.isfinite(ours)):
        problems.append(f"{int(np.sum(~np.isfinite(ours)))} non-finite values")
    ref_max = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    max_diff = float(np.nanmax(diff)) if diff.size and not np.all(np.isnan(diff)) else float("nan")
    limit = args.rtol_of_max * ref_max
    if not max_diff <= limit:  # also catches NaN
        problems.append("max|diff| over limit")

    if ours.ndim >= 1 and ours.size:
        top_ours = np.argmax(ours.reshape(-1, ours.shape[-1]), axis=-1)
        top_ref = np.argmax(ref.reshape(-1, ref.shape[-1]), axis=-1)
        top1_equal = int(np.sum(top_ours == top_ref))
        rows = len(top_ref)
        if top1_equal != rows:
            problems.append("top-1 differs")
        top1 = f"top1 {top1_equal}/{rows} equal (ours {top_ours[:4].tolist()} ref {top_ref[:4].tolist()})"
    else:
        top1 = "top1 n/a"

    sym = "<=" if max_diff <= limit else ">"
    verdict = "PASS" if not problems else "FAIL (" + ", ".join(problems) + ")"
    print(f"{verdict} shape {ours.shape} max|diff| {max_diff:.3e} {sym} {args.rtol_of_max:g} * "
          f"max|ref| {ref_max:.3e} = {limit:.3e}; {top1}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
