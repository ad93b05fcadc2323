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
# (compare_outputs.py: max|yaml - onnx| <= 1e-5 * max|onnx|). A passed
# model's folder build/yaml-e2e/MODEL (generated code, build products, logs)
# is removed (KEEP_PASSED=1 keeps it); a failed one is kept, and its FAIL
# line names it. The exported files stay cached.
#
# Environment: RESNETC (default build/resnetc), YAML_E2E_DIR (default
# build/yaml-e2e), YAML_E2E_SEED (0), MAKE_JOBS (2).
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

LIB_NAME=run_yaml_e2e.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
STEP_WIDTH=13
HERE="$ROOT/tests/yaml"
WORK=${YAML_E2E_DIR:-$ROOT/build/yaml-e2e}
SEED=${YAML_E2E_SEED:-0}

if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50 resnext50_32x4d demo); fi

need_resnetc
need_python python3-torch, python3-torchvision, python3-onnx
for m in "${MODELS[@]}"; do
    if [ "$m" = demo ]; then
        [ -f "$ROOT/examples/demo/demo.yaml" ] || die "examples/demo/demo.yaml not found"
    else
        [ -f "$ROOT/examples/$m.yaml" ] || die "$m: no examples/$m.yaml"
    fi
done
mkdir -p "$WORK/models"

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
    cached_export "$work/export.log" "$cache.onnx" "$cache.safetensors" "$cache.input.npy" "$cache.torch.npy" -- \
        "$PYTHON" "$HERE/export_safetensors.py" "${src[@]}" --seed "$SEED" \
        --out "$(tmpname "$cache.safetensors")" --onnx-out "$(tmpname "$cache.onnx")" \
        --input-npy "$(tmpname "$cache.input.npy")" --torch-out "$(tmpname "$cache.torch.npy")" || ok=0
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
    next_step compile-yaml "$work/compile-yaml.log" "$RESNETC" compile "$work/$m.yaml" -o "$work/yaml" --name "$m"
    next_step compile-onnx "$work/compile-onnx.log" "$RESNETC" compile "$cache.onnx" -o "$work/onnx" --name "$m"
    next_step make-yaml "$work/make-yaml.log" make -C "$work/yaml" -j"$MAKE_JOBS"
    next_step make-onnx "$work/make-onnx.log" make -C "$work/onnx" -j"$MAKE_JOBS"
    next_step run-yaml "$work/run-yaml.log" "$work/yaml/$m" "$cache.input.npy" "$work/yaml.npy"
    next_step run-onnx "$work/run-onnx.log" "$work/onnx/$m" "$cache.input.npy" "$work/onnx.npy"
    shown_step compare "$work/compare.log" "$PYTHON" "$HERE/compare_outputs.py" \
        "$work/yaml.npy" "$work/onnx.npy" "$cache.torch.npy"

    case_done $ok "$m" "$work"
done
finish
