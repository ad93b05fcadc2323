#!/usr/bin/python3
"""Export a randomly initialised torchvision model to ONNX, with a random input.

    export_torchvision.py --model resnet18 --out resnet18.onnx --input-npy in.npy

The weights are seeded random values, not a trained checkpoint (there is no
network access to fetch one, and none is needed to check a compiler against a
reference runtime). BatchNorm layers get non-trivial statistics and affine
parameters (running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5),
weight ~ U(0.5, 1.5), bias ~ N(0, 0.1)) so folding BN into Conv is exercised
with values where a mistake shows.

--bn keep (default) exports an eval-mode model with BatchNormalization as its
own ONNX node (torch.onnx.TrainingMode.PRESERVE); --bn fold lets the exporter
fold BN into the preceding Conv (TrainingMode.EVAL, what torch 1.13 does by
default for eval exports).

Needs Debian's python3-torch, python3-torchvision (and python3-numpy).
"""

import argparse
import sys

import numpy as np
import torch
import torchvision


def build_model(name, seed):
    factory = getattr(torchvision.models, name, None)
    if factory is None or not callable(factory) or name.startswith("_") or name[0].isupper():
        sys.exit(f"export_torchvision.py: error: no torchvision model '{name}'")
    torch.manual_seed(seed)
    model = factory(weights=None)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="torchvision.models name, e.g. resnet18, resnet50")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights and the input")
    ap.add_argument("--bn", choices=("keep", "fold"), default="keep",
                    help="keep BatchNormalization nodes, or let the exporter fold them into Conv")
    ap.add_argument("--input-npy", help="write a random float32 N(0,1) input here")
    ap.add_argument("--torch-out", help="write PyTorch's float32 output for --input-npy's input here")
    args = ap.parse_args()

    torch.set_num_threads(1)
    model = build_model(args.model, args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    tx = torch.from_numpy(x)

    mode = torch.onnx.TrainingMode.PRESERVE if args.bn == "keep" else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, tx, args.out, opset_version=args.opset,
                      input_names=["input"], output_names=["output"],
                      training=mode, do_constant_folding=(args.bn == "fold"))
    if args.input_npy:
        np.save(args.input_npy, x)
    if args.torch_out:
        with torch.no_grad():
            np.save(args.torch_out, model(tx).numpy().astype(np.float32))


if __name__ == "__main__":
    main()
