#!/usr/bin/env bash
# Cross-compilation test: models compiled for another ISA, built with
# Debian's cross compilers, run under qemu-user and checked against
# onnxruntime (run natively) on the same input.
#
#   tests/cross/run_cross.sh [ARCH ...]      default: aarch64 armv7 riscv64
#
# For each ARCH, first qconv: tests/cross/qconv_check.c, the int8
# convolution's packed kernels (AArch64's and ARMv7's NEON, riscv64's portable C)
# against their definition, byte for byte, built with ARCH's compiler and
# its --target flags (AArch64 also with +dotprod: sdot, on qemu's max CPU). Then builds of models, each compared with onnxruntime by
# tests/e2e/compare.py (top-1 equal, max|diff| <= 1e-3 * max|ref|):
#   demo       examples/demo/demo.onnx compiled with --target ARCH; plain
#              `make -C DIR`: the generated Makefile picks the cross compiler
#   demo-cc    the demo compiled for the default target (native); built with
#              `make -C DIR CC=<cross compiler>`, the override users type
#   resnet18   torchvision ResNet-18 (random weights, BatchNorm kept, as in
#              tests/e2e), compiled with --target ARCH, plain `make -C DIR`
#   demo-int8  the demo quantized to int8 by resnetc (--quantize int8,
#              calibrated on 32 test images), compiled with --target ARCH; its
#              output must equal, bit for
#              bit, what the same model compiled for this machine gives: the
#              int8 kernels are exact integer arithmetic on every ISA
# and the binary runs as `qemu-<arch> -L /usr/<triple> DIR/NAME IN.npy OUT.npy`.
# The demo's input is the first Fashion-MNIST test image (Debian's
# dataset-fashion-mnist); ResNet-18's a seeded N(0,1) tensor of
# 1x3xSIZExSIZE (112 by default). A passed case's folder build/cross/ARCH/CASE (generated
# code, build products, logs) is removed (KEEP_PASSED=1 keeps it); a failed
# one is kept, and its FAIL line names it.
#
# Environment: RESNETC (default build/resnetc), CROSS_DIR (default
# build/cross), CROSS_SIZE (ResNet-18's input height and width, default
# 112), E2E_DIR (default build/e2e: exported models are cached and shared
# with tests/e2e under E2E_DIR/models), MAKE_JOBS (2), CROSS_TIMEOUT
# (seconds per qemu run, default 600).
#
# Needs: gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf,
# gcc-riscv64-linux-gnu, qemu-user, and what tests/e2e needs.
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

LIB_NAME=run_cross.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
E2E=$ROOT/tests/e2e
WORK=${CROSS_DIR:-$ROOT/build/cross}
E2E_DIR=${E2E_DIR:-$ROOT/build/e2e}
SIZE=${CROSS_SIZE:-112}
TIMEOUT=${CROSS_TIMEOUT:-600}
FASHION_MNIST_DIR=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}

if [ $# -gt 0 ]; then ARCHS=("$@"); else ARCHS=(aarch64 armv7 riscv64); fi

# ARCH -> GNU triple (cross compiler prefix, sysroot /usr/<triple>),
# qemu-user binary, Debian package of the compiler
arch_info() {
    case $1 in
        aarch64) echo "aarch64-linux-gnu qemu-aarch64 gcc-aarch64-linux-gnu" ;;
        armv7) echo "arm-linux-gnueabihf qemu-arm gcc-arm-linux-gnueabihf" ;;
        riscv64) echo "riscv64-linux-gnu qemu-riscv64 gcc-riscv64-linux-gnu" ;;
        *) return 1 ;;
    esac
}

need_resnetc
need_python python3-torch, python3-torchvision
need_ort
for a in "${ARCHS[@]}"; do
    arch_info "$a" >/dev/null || die "$a: unknown architecture (aarch64, armv7, riscv64)"
done
case $SIZE in '' | *[!0-9]*) die "CROSS_SIZE must be a number, not '$SIZE'" ;; esac

mkdir -p "$WORK/ref" "$E2E_DIR/models"

# ---- models, inputs and onnxruntime's outputs, once for all architectures
echo "== references (onnxruntime, native)"
demo_onnx=$ROOT/examples/demo/demo.onnx
demo_in=$WORK/ref/demo.input.npy
key="resnet18_opset13_b1_${SIZE}px_seed0_bnkeep" # tests/e2e/run_e2e.sh's cache key
r18_onnx=$E2E_DIR/models/$key.onnx
r18_in=$E2E_DIR/models/$key.input.npy
ok=1
next_step demo-in "$WORK/ref/demo-input.log" "$PYTHON" - "$FASHION_MNIST_DIR" "$demo_in" <<'EOF'
import gzip, sys
import numpy as np
d, out = sys.argv[1], sys.argv[2]
with gzip.open(d + "/t10k-images-idx3-ubyte.gz") as f:
    pixels = np.frombuffer(f.read()[16:16 + 784], np.uint8)
# examples/demo/README.md's preprocessing, in float32
x = (pixels.astype(np.float32) / np.float32(255.0) - np.float32(0.2860)) / np.float32(0.3530)
np.save(out, x.reshape(1, 1, 28, 28))
EOF
cached_export "$WORK/ref/export.log" "$r18_onnx" "$r18_in" -- "$PYTHON" "$E2E/export_torchvision.py" \
    --model resnet18 --out "$(tmpname "$r18_onnx")" --input-npy "$(tmpname "$r18_in")" --size "$SIZE" \
    --seed 0 --bn keep || ok=0
next_step ort-demo "$WORK/ref/ort-demo.log" node "$E2E/ort_run.js" "$demo_onnx" "$demo_in" "$WORK/ref/demo.ref.npy"
next_step ort-r18 "$WORK/ref/ort-r18.log" node "$E2E/ort_run.js" "$r18_onnx" "$r18_in" "$WORK/ref/resnet18.ref.npy"
# the int8 demo: its calibration samples, and the native build's output
calib=$WORK/ref/demo.calib.npy
next_step calib "$WORK/ref/calib.log" "$PYTHON" - "$FASHION_MNIST_DIR" "$calib" <<'EOF'
import gzip, sys
import numpy as np
d, out = sys.argv[1], sys.argv[2]
with gzip.open(d + "/t10k-images-idx3-ubyte.gz") as f:
    pixels = np.frombuffer(f.read()[16:16 + 32 * 784], np.uint8)
x = (pixels.astype(np.float32) / np.float32(255.0) - np.float32(0.2860)) / np.float32(0.3530)
np.save(out, x.reshape(32, 1, 28, 28))
EOF
QUANT=(--quantize int8 --calibrate "$calib")
next_step native-int8 "$WORK/ref/native-int8.log" "$RESNETC" compile "$demo_onnx" -o "$WORK/ref/demo-int8" \
    --name demo --force "${QUANT[@]}"
next_step native-make "$WORK/ref/native-make.log" make -C "$WORK/ref/demo-int8" -j"$MAKE_JOBS"
next_step native-run "$WORK/ref/native-run.log" "$WORK/ref/demo-int8/demo" "$demo_in" "$WORK/ref/demo-int8.ref.npy"
refs_ok=$ok
CMP=()   # compare.py's tolerance option for the case, when not its default
EXTRA=() # more resnetc compile options for the case

# one_case ARCH CASE ONNX NAME INPUT REF [--target T] [-- MAKE ARGS...]
one_case() {
    local arch=$1 case=$2 onnx=$3 name=$4 input=$5 ref=$6
    shift 6
    local target=() make_args=()
    if [ "${1:-}" = --target ]; then target=(--target "$2"); shift 2; fi
    [ "${1:-}" = -- ] && { shift; make_args=("$@"); }
    local triple qemu pkg
    read -r triple qemu pkg <<<"$(arch_info "$arch")"
    local work=$WORK/$arch/$case out=$WORK/$arch/$case/out ok=1
    rm -rf "$work"
    mkdir -p "$work"
    echo "== $arch $case (${target[*]:-default target} ${make_args[*]:+make ${make_args[*]}})"
    if [ $refs_ok != 1 ]; then
        echo "  no reference output (see above)"; ok=0
    elif ! command -v "$triple-gcc" >/dev/null; then
        echo "  $triple-gcc not found (Debian package $pkg)"; ok=0
    elif ! command -v "$qemu" >/dev/null; then
        echo "  $qemu not found (Debian package qemu-user)"; ok=0
    fi
    next_step compile "$work/compile.log" "$RESNETC" compile "$onnx" -o "$out" --name "$name" \
        "${target[@]}" "${EXTRA[@]}"
    next_step make "$work/make.log" make -C "$out" -j"$MAKE_JOBS" "${make_args[@]}"
    if [ $ok = 1 ] && ! grep -q "^$triple-gcc " "$work/make.log"; then
        echo "  make did not compile with $triple-gcc:"; grep -m1 -- ' -c ' "$work/make.log" | sed 's/^/    | /'
        ok=0
    fi
    next_step run "$work/run.log" timeout "$TIMEOUT" "$qemu" -L "/usr/$triple" "$out/$name" \
        "$input" "$work/ours.npy"
    shown_step compare "$work/compare.log" "$PYTHON" "$E2E/compare.py" "$work/ours.npy" "$ref" "${CMP[@]}"
    case_done $ok "$arch/$case" "$work"
    rmdir "$WORK/$arch" 2>/dev/null || true # once its last case has gone
}

# qconv_case ARCH: the int8 convolution's packed kernels (AArch64 and ARMv7:
# NEON; riscv64: portable C) against their definition, tests/cross/qconv_check.c,
# built with ARCH's compiler and its --target flags, run under qemu-user
RT_SRCS=()
for f in "$ROOT"/runtime/*/*.c; do
    case $f in */runtime/driver/*) ;; *) RT_SRCS+=("$f") ;; esac
done
# (qconv-dotprod: AArch64 built with the dot-product instructions, sdot,
# run on qemu's "max" CPU)
qconv_case() {
    local arch=$1 case=${2:-qconv} triple qemu pkg flags cpu=()
    read -r triple qemu pkg <<<"$(arch_info "$arch")"
    case $arch in
        armv7) flags=(-O2 -march=armv7-a -mfpu=neon -mfloat-abi=hard) ;;
        *) flags=(-O2) ;;
    esac
    if [ "$case" = qconv-dotprod ]; then
        flags+=(-march=armv8.2-a+dotprod)
        cpu=(-cpu max)
    fi
    local work=$WORK/$arch/$case ok=1
    rm -rf "$work"
    mkdir -p "$work"
    echo "== $arch $case (the int8 convolution's kernels against their definition)"
    if ! command -v "$triple-gcc" >/dev/null; then
        echo "  $triple-gcc not found (Debian package $pkg)"; ok=0
    elif ! command -v "$qemu" >/dev/null; then
        echo "  $qemu not found (Debian package qemu-user)"; ok=0
    fi
    next_step build "$work/build.log" "$triple-gcc" "${flags[@]}" -std=c11 -I"$ROOT/include" \
        -D_POSIX_C_SOURCE=200809L "$ROOT/tests/cross/qconv_check.c" "${RT_SRCS[@]}" -lm -lpthread \
        -o "$work/qconv_check"
    shown_step run "$work/run.log" timeout "$TIMEOUT" "$qemu" "${cpu[@]}" -L "/usr/$triple" "$work/qconv_check"
    case_done $ok "$arch/$case" "$work"
    rmdir "$WORK/$arch" 2>/dev/null || true
}

for arch in "${ARCHS[@]}"; do
    read -r triple _ _ <<<"$(arch_info "$arch")"
    qconv_case "$arch"
    [ "$arch" = aarch64 ] && qconv_case "$arch" qconv-dotprod
    one_case "$arch" demo "$demo_onnx" demo "$demo_in" "$WORK/ref/demo.ref.npy" --target "$arch"
    one_case "$arch" demo-cc "$demo_onnx" demo "$demo_in" "$WORK/ref/demo.ref.npy" -- CC="$triple-gcc"
    one_case "$arch" resnet18 "$r18_onnx" resnet18 "$r18_in" "$WORK/ref/resnet18.ref.npy" --target "$arch"
    CMP=(--rtol-of-max 0)
    EXTRA=("${QUANT[@]}")
    one_case "$arch" demo-int8 "$demo_onnx" demo "$demo_in" "$WORK/ref/demo-int8.ref.npy" --target "$arch"
    CMP=()
    EXTRA=()
done

finish
