#!/usr/bin/python3
"""Write a ResNet's weights as a .safetensors file with torchvision state_dict() names.

    export_safetensors.py --torchvision resnet50 --out w.safetensors [--seed 0]
    export_safetensors.py --demo --out w.safetensors [--seed 0]
    export_safetensors.py --onnx examples/demo/demo.onnx --out examples/demo/demo.safetensors
    export_safetensors.py --checkpoint model.pt --out w.safetensors

Sources:
  --torchvision NAME  a torchvision.models model, randomly initialised from --seed,
                      with non-trivial BatchNorm statistics (as tests/e2e does), so a
                      mistake in BN handling shows
  --demo              examples/demo/train.py's SmallResNet, random like --torchvision
  --onnx FILE         the initializers of an ONNX file exported by torch.onnx.export
                      with do_constant_folding=False (they keep their state_dict
                      names; the exporter's Identity aliases for identical tensors are
                      followed); this is how demo.safetensors is made from demo.onnx
  --checkpoint FILE   a torch.save()d state_dict (or whole model)

For the random sources, --onnx-out also writes the same model as ONNX (opset 13,
BatchNormalization kept, input "input", output "logits"), --input-npy a random
float32 N(0, 1) input of --input shape and --torch-out PyTorch's output for it.

The safetensors format is written by hand (Debian has no `safetensors` package):
8-byte little-endian header length, JSON header, little-endian data, tensors in
name order, contiguous, header padded with spaces to a multiple of 8 bytes.
--dtype F16 or BF16 stores floating-point tensors at that precision instead.
Needs Debian's python3-torch, python3-torchvision, python3-numpy (python3-onnx
for --onnx and --onnx-out).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def die(msg):
    sys.exit(f"export_safetensors.py: error: {msg}")


def randomize_bn(model, seed):
    """BN statistics and affine parameters away from the identity."""
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return model.eval()


def torchvision_model(name, seed):
    import torchvision
    factory = getattr(torchvision.models, name, None)
    if factory is None or not callable(factory) or name.startswith("_") or name[0].isupper():
        die(f"no torchvision model '{name}'")
    torch.manual_seed(seed)
    return randomize_bn(factory(weights=None), seed)


def demo_model(seed):
    sys.path.insert(0, os.path.join(ROOT, "examples", "demo"))
    try:
        from train import SmallResNet
    except ImportError as e:
        die(f"cannot import SmallResNet from examples/demo/train.py: {e}")
    torch.manual_seed(seed)
    return randomize_bn(SmallResNet(), seed)


def onnx_weights(path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    # The exporter stores a tensor equal to an earlier one as Identity(earlier).
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in inits:
            inits[n.output[0]] = inits[n.input[0]]
    return {k: v for k, v in inits.items() if not k.startswith("onnx::")}


def checkpoint_weights(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        die(f"{path}: not a state_dict")
    return {k: v.detach().cpu().numpy() for k, v in obj.items() if torch.is_tensor(v)}


DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
          np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8"}


def to_bytes(arr, dtype):
    """(safetensors dtype, little-endian bytes) of arr, floats stored as dtype."""
    if arr.dtype.kind == "f" and dtype != "keep":
        if dtype == "F32":
            return "F32", arr.astype("<f4").tobytes()
        if dtype == "F16":
            return "F16", arr.astype("<f2").tobytes()
        if dtype == "BF16":  # round to nearest even on the top 16 bits of float32
            u = arr.astype("<f4").view("<u4").astype(np.uint64)
            u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
            return "BF16", u.astype("<u2").tobytes()
    name = DTYPES.get(arr.dtype)
    if name is None:
        die(f"cannot store dtype {arr.dtype}")
    return name, arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        st_dtype, data = to_bytes(arr, dtype)
        header[name] = {"dtype": st_dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--torchvision", metavar="NAME", help="torchvision.models name, randomly initialised")
    src.add_argument("--demo", action="store_true", help="examples/demo/train.py's SmallResNet, randomly initialised")
    src.add_argument("--onnx", metavar="FILE", help="take the initializers of this ONNX file")
    src.add_argument("--checkpoint", metavar="FILE", help="a torch.save()d state_dict")
    ap.add_argument("--out", required=True, help="the .safetensors file to write")
    ap.add_argument("--seed", type=int, default=0, help="seeds random weights and the input")
    ap.add_argument("--dtype", choices=("F32", "F16", "BF16"), default="F32",
                    help="precision of floating-point tensors in the file")
    ap.add_argument("--onnx-out", help="(random sources) also export the model as ONNX here")
    ap.add_argument("--input", default=None,
                    help="input shape N,C,H,W for --onnx-out/--input-npy (default 1,3,224,224; demo 1,1,28,28)")
    ap.add_argument("--input-npy", help="(random sources) write a random float32 input here")
    ap.add_argument("--torch-out", help="(random sources) write PyTorch's output for that input here")
    args = ap.parse_args()

    torch.set_num_threads(1)
    model = None
    if args.torchvision:
        model = torchvision_model(args.torchvision, args.seed)
    elif args.demo:
        model = demo_model(args.seed)
    if model is not None:
        weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    elif args.onnx:
        weights = onnx_weights(args.onnx)
    else:
        weights = checkpoint_weights(args.checkpoint)
    if model is None and (args.onnx_out or args.input_npy or args.torch_out):
        die("--onnx-out, --input-npy and --torch-out need --torchvision or --demo")
    write_safetensors(args.out, weights, args.dtype)

    if model is None:
        return
    default = "1,1,28,28" if args.demo else "1,3,224,224"
    shape = tuple(int(x) for x in (args.input or default).split(","))
    x = np.random.default_rng(args.seed).standard_normal(shape).astype(np.float32)
    tx = torch.from_numpy(x)
    if args.onnx_out:
        torch.onnx.export(model, tx, args.onnx_out, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    if args.input_npy:
        np.save(args.input_npy, x)
    if args.torch_out:
        with torch.no_grad():
            np.save(args.torch_out, model(tx).numpy().astype(np.float32))


if __name__ == "__main__":
    main()
