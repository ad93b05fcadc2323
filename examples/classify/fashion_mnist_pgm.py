#!/usr/bin/env python3
"""Writes Fashion-MNIST test images as binary PGM files (P5, 28x28, 8-bit).

    fashion_mnist_pgm.py [--data DIR] [--out DIR] [INDEX ...]

Without INDEX it writes the first test image of each class, which is how
images/ was made. Files are named CLASS-INDEX.pgm (ankle-boot-0.pgm is test
image 0, an ankle boot); the PGM comment records the index and label.
Needs only Python's standard library and the dataset's idx files
(Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist).
Fashion-MNIST: Copyright (c) 2017 Zalando SE, MIT License.
"""
import argparse
import gzip
import os
import struct
import sys

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path, magic):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    got, count = struct.unpack(">II", data[:8])
    if got != magic:
        sys.exit(f"fashion_mnist_pgm.py: error: {path}: not an idx file (magic {got:#x})")
    return count, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "images"))
    ap.add_argument("index", nargs="*", type=int, help="test-set images to write")
    args = ap.parse_args()

    n, images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"), 0x803)
    _, labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"), 0x801)
    rows, cols = struct.unpack(">II", images[8:16])
    pick = args.index
    if not pick:
        first = {}
        for i in range(n):
            first.setdefault(labels[8 + i], i)
        pick = [first[c] for c in sorted(first)]
    os.makedirs(args.out, exist_ok=True)
    for i in pick:
        if not 0 <= i < n:
            sys.exit(f"fashion_mnist_pgm.py: error: index {i} out of range 0..{n - 1}")
        label = labels[8 + i]
        pixels = images[16 + i * rows * cols:16 + (i + 1) * rows * cols]
        path = os.path.join(args.out, f"{CLASSES[label]}-{i}.pgm")
        with open(path, "wb") as f:
            f.write(f"P5\n# Fashion-MNIST test image {i}, label {label} ({CLASSES[label]})\n"
                    f"{cols} {rows}\n255\n".encode() + pixels)
        print(path)


if __name__ == "__main__":
    main()
