#!/usr/bin/env bash
# The bundled demo: compile demo.onnx with resnetc, classify the 10,000
# Fashion-MNIST test images with the generated C, and check the accuracy
# matches PyTorch's (ACCURACY.txt) to within 0.1 percentage points.
#
#   examples/demo/run_demo.sh RESNETC OUTDIR
#
# Environment: DEMO_MODEL (default demo.onnx here; demo.yaml runs the same
# model through the YAML front end), FASHION_MNIST_DIR (default /usr/share/datasets/fashion-mnist,
# from Debian's dataset-fashion-mnist), CC (default cc), CFLAGS (default -O2),
# RESNETC_FLAGS (extra flags for resnetc compile), DEMO_QUANTIZE (N: quantize the
# model to int8 with `--quantize int8`, calibrated on the first N training
# images; the accuracy must then be within DEMO_INT8_TOLERANCE, default 0.5
# points, of PyTorch's float accuracy).
#
# Exit status 0 when the accuracies agree, 1 when they do not or a step fails,
# 2 on bad usage.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2}
RESNETC_FLAGS=${RESNETC_FLAGS:-}
MODEL=${DEMO_MODEL:-$HERE/demo.onnx}
TOLERANCE=0.1 # points; batch-1 C vs batched PyTorch may flip a near-tie or two
QUANTIZE=${DEMO_QUANTIZE:-}

usage() { echo "usage: $0 RESNETC OUTDIR" >&2; exit 2; }
die() { echo "run_demo.sh: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || usage
RESNETC=$1
OUT=$2
[ -x "$RESNETC" ] || die "$RESNETC: not found or not executable"
for f in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$DATA/$f" ] || die "$DATA/$f: not found (install Debian's dataset-fashion-mnist or set FASHION_MNIST_DIR)"
done
expected=$(sed -n 's/^pytorch_test_accuracy=//p' "$HERE/ACCURACY.txt")
[ -n "$expected" ] || die "$HERE/ACCURACY.txt: no pytorch_test_accuracy= line"

mkdir -p "$OUT"
gen="$OUT/demo"

if [ -n "$QUANTIZE" ]; then
    TOLERANCE=${DEMO_INT8_TOLERANCE:-0.5}
    [ -f "$DATA/train-images-idx3-ubyte.gz" ] || die "$DATA/train-images-idx3-ubyte.gz: not found"
    echo "== calibration: the first $QUANTIZE training images -> $OUT/calib.npy"
    "$CC" -O2 "$HERE/make_calib.c" -o "$OUT/make_calib" || die "building make_calib failed"
    gzip -dc "$DATA/train-images-idx3-ubyte.gz" >"$OUT/train-images-idx3-ubyte"
    "$OUT/make_calib" "$QUANTIZE" "$OUT/train-images-idx3-ubyte" "$OUT/calib.npy" || die "make_calib failed"
    rm -f "$OUT/train-images-idx3-ubyte"
    RESNETC_FLAGS="$RESNETC_FLAGS --quantize int8 --calibrate $OUT/calib.npy"
fi

t0=$EPOCHREALTIME
elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

echo "== resnetc compile $(basename "$MODEL") -> $gen"
rm -rf "$gen"
# shellcheck disable=SC2086  # RESNETC_FLAGS is a list of flags
"$RESNETC" compile "$MODEL" -o "$gen" --name demo $RESNETC_FLAGS || die "resnetc compile failed"
echo "   $(elapsed)"

t0=$EPOCHREALTIME
echo "== make -C $gen all lib"
make -s -C "$gen" all lib || die "make -C $gen failed"
[ -f "$gen/libdemo.a" ] || die "make lib did not produce $gen/libdemo.a"
echo "   $(elapsed)"

t0=$EPOCHREALTIME
echo "== $CC $CFLAGS classify.c libdemo.a"
# shellcheck disable=SC2086  # CFLAGS is a list of flags
"$CC" $CFLAGS -I "$gen" "$HERE/classify.c" "$gen/libdemo.a" -lm -o "$OUT/classify" ||
    die "building classify failed"
gzip -dc "$DATA/t10k-images-idx3-ubyte.gz" >"$OUT/t10k-images-idx3-ubyte"
gzip -dc "$DATA/t10k-labels-idx1-ubyte.gz" >"$OUT/t10k-labels-idx1-ubyte"
echo "   $(elapsed)"

t0=$EPOCHREALTIME
echo "== classify 10,000 test images"
result=$("$OUT/classify" "$OUT/t10k-images-idx3-ubyte" "$OUT/t10k-labels-idx1-ubyte") ||
    die "classify failed"
echo "$result"
echo "   $(elapsed)"

got=$(echo "$result" | sed -n 's/^accuracy=\([0-9.]*\)%.*/\1/p')
[ -n "$got" ] || die "could not read the accuracy from classify's output"
if awk -v a="$got" -v b="$expected" -v t="$TOLERANCE" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t + 1e-9) }'; then
    echo "PASS demo: resnetc accuracy $got% vs PyTorch $expected% (tolerance $TOLERANCE points)"
else
    echo "FAIL demo: resnetc accuracy $got% vs PyTorch $expected% (tolerance $TOLERANCE points)"
    exit 1
fi
