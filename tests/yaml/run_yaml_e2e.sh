#!/usr/bin/env bash
# End-to-end test of the YAML front end: the same network and weights through
# both front ends must give the same outputs.
#
#   tests/yaml/run_yaml_e2e.sh [MODEL ...]     default: resnet18 resnet50 resnext50_32x4d demo
#
# MODEL is one of examples/*.yaml (a torchvision model name) or "demo"
# (examples/demo/demo.yaml, train.py's SmallResNet). For each: PyTorch builds
# the model with seeded random weights and non-trivial BatchNorm statistics
# and writes it as ONNX (torch.onnx.export, opset 13) and as safetensors
# (the same state_dict), plus a random input (export_safetensors.py; cached
# under build/yaml-e2e/models/). The example YAML, with its weights line
# pointing at the safetensors file, and the ONNX file are compiled by
# resnetc, built with make -C, run on the input, and the outputs compared
# (compare_outputs.py: max|yaml - onnx| <= 1e-5 * max|onnx|).
#
# Environment: RESNETC (default build/resnetc), YAML_E2E_DIR (default
# build/yaml-e2e), YAML_E2E_SEED (0), MAKE_JOBS (2).
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/yaml"
PYTHON=/usr/bin/python3
RESNETC=${RESNETC:-$ROOT/build/resnetc}
WORK=${YAML_E2E_DIR:-$ROOT/build/yaml-e2e}
SEED=${YAML_E2E_SEED:-0}
MAKE_JOBS=${MAKE_JOBS:-2}

if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50 resnext50_32x4d demo); fi

die() { echo "run_yaml_e2e.sh: error: $*" >&2; exit 2; }

[ -x "$RESNETC" ] || die "$RESNETC not found or not executable (build it first: make)"
[ -x "$PYTHON" ] || die "$PYTHON not found (needs Debian's python3-torch, python3-torchvision, python3-onnx)"
for m in "${MODELS[@]}"; do
    if [ "$m" = demo ]; then
        [ -f "$ROOT/examples/demo/demo.yaml" ] || die "examples/demo/demo.yaml not found"
    else
        [ -f "$ROOT/examples/$m.yaml" ] || die "$m: no examples/$m.yaml"
    fi
done
mkdir -p "$WORK/models"

# step NAME LOG CMD...: run CMD with output to LOG, print its time; on failure
# show the end of LOG and return non-zero.
step() {
    local name=$1 log=$2
    shift 2
    local t0=$EPOCHREALTIME status=0
    "$@" >"$log" 2>&1 || status=$?
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    if [ "$status" -eq 0 ]; then
        printf '  %-13s %6ss\n' "$name" "$secs"
    else
        printf '  %-13s %6ss  FAILED (exit %d), last lines of %s:\n' "$name" "$secs" "$status" "$log"
        tail -n 15 "$log" | sed 's/^/    | /'
    fi
    return "$status"
}

passed=0
failed=0
failed_names=()
t_all=$EPOCHREALTIME

for m in "${MODELS[@]}"; do
    if [ "$m" = demo ]; then
        src=(--demo)
        yaml="$ROOT/examples/demo/demo.yaml"
    else
        src=(--torchvision "$m")
        yaml="$ROOT/examples/$m.yaml"
    fi
    key="${m}_seed${SEED}"
    cache="$WORK/models/$key"
    work="$WORK/$m"
    rm -rf "$work"
    mkdir -p "$work"
    echo "== $m"

    ok=1
    if [ -f "$cache.onnx" ] && [ -f "$cache.safetensors" ] && [ -f "$cache.input.npy" ] && [ -f "$cache.torch.npy" ]; then
        echo "  export        cached ($cache.*)"
    else
        # Temporary names, renamed at the end: an interrupted export is never cached.
        step export "$work/export.log" "$PYTHON" "$HERE/export_safetensors.py" "${src[@]}" --seed "$SEED" \
            --out "$cache.tmp.safetensors" --onnx-out "$cache.tmp.onnx" \
            --input-npy "$cache.tmp.input.npy" --torch-out "$cache.tmp.torch.npy" &&
            for ext in safetensors onnx input.npy torch.npy; do mv "$cache.tmp.$ext" "$cache.$ext"; done || ok=0
    fi
    if [ $ok = 1 ]; then
        # The example as users have it, with trained weights instead of init.
        sed -e 's/^init:.*$/weights: weights.safetensors/' -e 's/^weights:.*$/weights: weights.safetensors/' \
            "$yaml" >"$work/$m.yaml"
        grep -q '^weights: weights.safetensors$' "$work/$m.yaml" || { echo "  no weights/init line in $yaml"; ok=0; }
        # A hard link (or copy), not a symlink: resnetc refuses weights that
        # resolve outside the YAML file's folder.
        ln -f "$cache.safetensors" "$work/weights.safetensors" 2>/dev/null ||
            cp "$cache.safetensors" "$work/weights.safetensors"
    fi
    [ $ok = 1 ] && { step compile-yaml "$work/compile-yaml.log" "$RESNETC" compile "$work/$m.yaml" -o "$work/yaml" --name "$m" || ok=0; }
    [ $ok = 1 ] && { step compile-onnx "$work/compile-onnx.log" "$RESNETC" compile "$cache.onnx" -o "$work/onnx" --name "$m" || ok=0; }
    [ $ok = 1 ] && { step make-yaml "$work/make-yaml.log" make -C "$work/yaml" -j"$MAKE_JOBS" || ok=0; }
    [ $ok = 1 ] && { step make-onnx "$work/make-onnx.log" make -C "$work/onnx" -j"$MAKE_JOBS" || ok=0; }
    [ $ok = 1 ] && { step run-yaml "$work/run-yaml.log" "$work/yaml/$m" "$cache.input.npy" "$work/yaml.npy" || ok=0; }
    [ $ok = 1 ] && { step run-onnx "$work/run-onnx.log" "$work/onnx/$m" "$cache.input.npy" "$work/onnx.npy" || ok=0; }
    if [ $ok = 1 ]; then
        if step compare "$work/compare.log" "$PYTHON" "$HERE/compare_outputs.py" \
            "$work/yaml.npy" "$work/onnx.npy" "$cache.torch.npy"; then
            sed 's/^/  /' "$work/compare.log"
        else
            ok=0
        fi
    fi

    if [ $ok = 1 ]; then
        echo "  PASS $m"
        passed=$((passed + 1))
    else
        echo "  FAIL $m"
        failed=$((failed + 1))
        failed_names+=("$m")
    fi
done

total=$(awk -v a="$t_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
echo "== total ${total}s"
[ "$failed" -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
