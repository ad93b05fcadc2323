#!/usr/bin/python3
"""Train the bundled demo model: a small CIFAR-style ResNet on Fashion-MNIST.

Writes demo.onnx (the model resnetc compiles in `make demo`) and ACCURACY.txt
(its PyTorch top-1 accuracy on the 10,000 test images) next to this script.

Preprocessing, shared bit for bit with classify.c:
    x = ((float)pixel / 255.0f - 0.2860f) / 0.3530f      (float32, per pixel)
where 0.2860 and 0.3530 are the mean and standard deviation of the
Fashion-MNIST training pixels scaled to [0, 1].

Runs on CPU with Debian's python3-torch, python3-numpy and python3-onnx and
reads the dataset from Debian's dataset-fashion-mnist package.
"""

import argparse
import gzip
import os
import sys
import time

# Idle OpenMP threads sleep instead of spinning: on a 2-core machine shared with a
# compiler build, spinning threads make training several times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402 (after the environment is set)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MEAN = 0.2860
STD = 0.3530
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- data

def read_idx(path, magic, dims):
    """Read a gzipped idx file, checking its magic number and dimensions."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = len(dims)
    header = 4 + 4 * ndim
    if len(data) < header:
        sys.exit(f"train.py: error: {path}: truncated idx header")
    got_magic = int.from_bytes(data[0:4], "big")
    if got_magic != magic:
        sys.exit(f"train.py: error: {path}: magic 0x{got_magic:08x}, expected 0x{magic:08x}")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    for got, want in zip(shape[1:], dims[1:]):
        if got != want:
            sys.exit(f"train.py: error: {path}: shape {shape}, expected (N, {dims[1:]})")
    count = int(np.prod(shape))
    if len(data) != header + count:
        sys.exit(f"train.py: error: {path}: {len(data) - header} data bytes, header says {count}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(data_dir, split):
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 0x00000803, (0, 28, 28))
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 0x00000801, (0,))
    if len(images) != len(labels):
        sys.exit(f"train.py: error: {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def normalize(pixels_u8):
    """uint8 (..., 28, 28) -> float32, the same float32 operations classify.c does."""
    x = pixels_u8.astype(np.float32) / np.float32(255.0)
    return (x - np.float32(MEAN)) / np.float32(STD)


# ---------------------------------------------------------------- model

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class SmallResNet(nn.Module):
    """3x3 stem (stride 1, no max pool), three stages of basic blocks, GAP, fc."""

    def __init__(self, widths=(16, 32, 64), blocks=2, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages = []
        cin = widths[0]
        for i, w in enumerate(widths):
            layers = []
            for b in range(blocks):
                stride = 2 if (i > 0 and b == 0) else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


# ---------------------------------------------------------------- training

def augment(padded_u8, idx, gen):
    """Random 28x28 crop of the 2-pixel zero-padded images, random horizontal flip."""
    n = len(idx)
    oy = torch.randint(0, 5, (n,), generator=gen)
    ox = torch.randint(0, 5, (n,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar)[:, :, None]
    cols = (ox[:, None] + ar)[:, None, :]
    flip = torch.rand(n, generator=gen) < 0.5
    cols = torch.where(flip[:, None, None], cols.flip(-1), cols)
    return padded_u8[idx[:, None, None], rows, cols]


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return correct


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the four Fashion-MNIST idx .gz files")
    ap.add_argument("--out", default=HERE, help="where demo.onnx and ACCURACY.txt go")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1, help="peak learning rate (one-cycle)")
    ap.add_argument("--blocks", type=int, default=2, help="basic blocks per stage")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t_start = time.time()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)

    train_img, train_lbl = load_split(args.data, "train")
    test_img, test_lbl = load_split(args.data, "t10k")
    padded = np.zeros((len(train_img), 32, 32), dtype=np.uint8)
    padded[:, 2:30, 2:30] = train_img
    padded = torch.from_numpy(padded)
    train_y = torch.from_numpy(train_lbl.astype(np.int64))
    test_x = torch.from_numpy(normalize(test_img)[:, None])
    test_y = torch.from_numpy(test_lbl.astype(np.int64))
    mean = torch.tensor(MEAN, dtype=torch.float32)
    std = torch.tensor(STD, dtype=torch.float32)

    model = SmallResNet(blocks=args.blocks)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params} parameters, {args.blocks} blocks/stage", flush=True)
    model = model.to(memory_format=torch.channels_last)
    steps = (len(train_y) + args.batch - 1) // args.batch
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps, pct_start=0.25)

    for epoch in range(args.epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(train_y), generator=gen)
        total_loss = 0.0
        for s in range(steps):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb = augment(padded, idx, gen).float() / 255.0
            xb = ((xb - mean) / std)[:, None].contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss)
        correct = evaluate(model, test_x, test_y)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / steps:.4f} "
              f"test {100.0 * correct / len(test_y):.2f}% ({time.time() - t0:.0f} s)", flush=True)
    t_train = time.time() - t_start

    # Export the eval-mode model with BatchNormalization kept as its own node
    # (TrainingMode.PRESERVE on an eval() model): resnetc's BN folding is part of
    # what the demo exercises. TrainingMode.EVAL would fold BN into Conv here.
    model = model.to(memory_format=torch.contiguous_format).eval()
    onnx_path = os.path.join(args.out, "demo.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)

    # The reported accuracy: the exported (eval, contiguous) model on all test images,
    # preprocessed by normalize() exactly as classify.c does it. Batched for speed;
    # batching changes logits only by float rounding, far below the 0.1-point tolerance.
    correct = evaluate(model, test_x, test_y)
    acc = 100.0 * correct / len(test_y)
    with open(os.path.join(args.out, "ACCURACY.txt"), "w") as f:
        f.write(f"pytorch_test_accuracy={acc:.2f}\n")
        f.write(f"pytorch_test_correct={correct}/{len(test_y)}\n")
        f.write(f"torch={torch.__version__} epochs={args.epochs} batch={args.batch} "
                f"lr={args.lr} blocks={args.blocks} seed={args.seed} threads={args.threads}\n")
    print(f"pytorch_test_accuracy={acc:.2f} ({correct}/{len(test_y)}); "
          f"training {t_train:.0f} s, total {time.time() - t_start:.0f} s; "
          f"{onnx_path}: {os.path.getsize(onnx_path)} bytes", flush=True)


if __name__ == "__main__":
    main()
