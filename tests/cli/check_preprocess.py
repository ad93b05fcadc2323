#!/usr/bin/env python3
"""examples/classify prepares images exactly as torchvision does.

    check_preprocess.py CLASSIFY N,C,H,W WORKDIR

For images of several sizes, grey and colour, shrunk and enlarged, it runs
CLASSIFY (built for a model with input N x C x H x W) with --save-input and
compares the tensor with torchvision's Compose([Resize(R),
CenterCrop((H, W)), ToTensor(), Normalize(mean, std)]) on the PIL image
converted to the model's channels. Both do the same integer resampling and
the same float32 operations, so the tensors must be bit-identical; the
tolerance is zero. Exit status 0 when all agree, 1 otherwise, 77 when PIL
or torchvision is missing (the caller reports a skip).
"""
import os
import subprocess
import sys

try:
    import numpy as np
    from PIL import Image
    import torchvision.transforms as T
except ImportError as e:
    print(f"needs numpy, PIL and torchvision ({e})")
    sys.exit(77)


def main():
    classify, shape, work = sys.argv[1], [int(v) for v in sys.argv[2].split(",")], sys.argv[3]
    n, c, h, w = shape
    rng = np.random.default_rng(7)
    mean, std = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) if c == 3 else ([0.25], [0.5])
    # (width, height, mode, resize): shrinking (antialiased), enlarging,
    # odd crops (offsets rounded half to even), a side smaller than the crop.
    cases = [(50, 37, "RGB", max(h, w)), (20, 31, "L", 30), (640, 480, "RGB", 2 * max(h, w)),
             (w + 3, h + 1, "RGB", min(h, w) + 1), (w, h, "L", min(h, w)), (101, 7, "RGB", max(h, w)),
             (13, 9, "L", 5)]
    checked = 0
    for width, height, mode, r in cases:
        shape_px = (height, width, 3) if mode == "RGB" else (height, width)
        # smooth gradients plus noise: both flat and busy regions
        yy, xx = np.mgrid[0:height, 0:width]
        base = (xx * 255 // max(width - 1, 1) + yy * 97 // max(height - 1, 1)) % 256
        if mode == "RGB":
            base = np.stack([base, 255 - base, (base * 3) % 256], axis=-1)
        px = np.clip(base + rng.integers(-40, 41, size=shape_px), 0, 255).astype(np.uint8)
        path = os.path.join(work, f"pre_{width}x{height}.{'ppm' if mode == 'RGB' else 'pgm'}")
        Image.fromarray(px, mode).save(path)
        npy = os.path.join(work, "pre.npy")
        args = [classify, "--resize", str(r), "--save-input", npy, "--mean", ",".join(map(str, mean)),
                "--std", ",".join(map(str, std)), path]
        run = subprocess.run(args, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"classify failed on {path}: {run.stderr.strip()}")
            return 1
        got = np.load(npy)[0]
        t = T.Compose([T.Resize(r), T.CenterCrop((h, w)), T.ToTensor(), T.Normalize(mean, std)])
        ref = t(Image.open(path).convert("RGB" if c == 3 else "L")).numpy()
        if got.shape != ref.shape or not np.array_equal(got, ref):
            d = np.abs(got - ref).max() if got.shape == ref.shape else "shape"
            print(f"{width}x{height} {mode} resize {r}: differs from torchvision (max |diff| {d})")
            return 1
        checked += 1
    print(f"{checked} images bit-identical to torchvision's transforms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
