#!/usr/bin/env bash
# End-to-end test: torchvision model -> ONNX -> resnetc -> C -> run, checked
# against onnxruntime on the same input.
#
#   tests/e2e/run_e2e.sh [MODEL[:keep|:fold] ...]      default: resnet18 resnet50
#
# MODEL is a torchvision.models name; ":fold" exports with BatchNorm folded into
# Conv by the exporter, ":keep" (the default) keeps BatchNormalization nodes so
# resnetc's own folding is tested. For each model: export (cached under
# build/e2e/models/, keyed by the export arguments), resnetc compile, make,
# run the generated driver, run onnxruntime, compare (see compare.py for the
# tolerance). Each step prints its time; logs go to build/e2e/<model>/.
#
# Environment: RESNETC (default build/resnetc), RESNETC_FLAGS (extra compile
# flags), E2E_DIR (default build/e2e), E2E_OPSET (13), E2E_BATCH (1),
# E2E_SIZE (224), E2E_SEED (0), E2E_BENCH (N: also time driver and onnxruntime
# with N runs each), MAKE_JOBS (2).
#
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/e2e"
PYTHON=/usr/bin/python3
RESNETC=${RESNETC:-$ROOT/build/resnetc}
RESNETC_FLAGS=${RESNETC_FLAGS:-}
E2E_DIR=${E2E_DIR:-$ROOT/build/e2e}
OPSET=${E2E_OPSET:-13}
BATCH=${E2E_BATCH:-1}
SIZE=${E2E_SIZE:-224}
SEED=${E2E_SEED:-0}
BENCH=${E2E_BENCH:-}
MAKE_JOBS=${MAKE_JOBS:-2}

if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50); fi

die() { echo "run_e2e.sh: error: $*" >&2; exit 2; }

[ -x "$RESNETC" ] || die "$RESNETC not found or not executable (build it first: make)"
[ -x "$PYTHON" ] || die "$PYTHON not found (needs Debian's python3-torch, python3-torchvision)"
command -v node >/dev/null || die "node not found (needs Node.js for onnxruntime-node)"
if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
    echo "== installing onnxruntime-node into tests/e2e/node_modules (npm ci)"
    # The CPU provider is in the npm package; skip the CUDA download from NuGet.
    (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund) ||
        die "npm ci in tests/e2e failed"
fi
for spec in "${MODELS[@]}"; do
    case $spec in
        *:*:*|:*) die "$spec: expected MODEL, MODEL:keep or MODEL:fold" ;;
        *:keep|*:fold) ;;
        *:*) die "$spec: BatchNorm mode must be :keep or :fold" ;;
    esac
done
mkdir -p "$E2E_DIR/models"

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
        printf '  %-9s %6ss\n' "$name" "$secs"
    else
        printf '  %-9s %6ss  FAILED (exit %d), last lines of %s:\n' "$name" "$secs" "$status" "$log"
        tail -n 15 "$log" | sed 's/^/    | /'
    fi
    return "$status"
}

passed=0
failed=0
failed_names=()
t_all=$EPOCHREALTIME

for spec in "${MODELS[@]}"; do
    model=${spec%%:*}
    bn=keep
    [ "$spec" != "$model" ] && bn=${spec#*:}
    name=$model
    [ "$bn" = fold ] && name=${model}_fold
    key="${model}_opset${OPSET}_b${BATCH}_${SIZE}px_seed${SEED}_bn${bn}"
    onnx="$E2E_DIR/models/$key.onnx"
    input="$E2E_DIR/models/$key.input.npy"
    work="$E2E_DIR/$name"
    out="$work/out"
    rm -rf "$work"
    mkdir -p "$work"
    echo "== $name ($key)"

    ok=1
    if [ -f "$onnx" ] && [ -f "$input" ]; then
        echo "  export    cached ($onnx)"
    else
        # Export to temporary names and rename, so an interrupted export is never cached.
        step export "$work/export.log" "$PYTHON" "$HERE/export_torchvision.py" \
            --model "$model" --out "$onnx.tmp" --input-npy "$input.tmp.npy" \
            --opset "$OPSET" --batch "$BATCH" --size "$SIZE" --seed "$SEED" --bn "$bn" &&
            mv "$onnx.tmp" "$onnx" && mv "$input.tmp.npy" "$input" || ok=0
    fi
    # shellcheck disable=SC2086  # RESNETC_FLAGS is a list of flags
    [ $ok = 1 ] && { step compile "$work/compile.log" "$RESNETC" compile "$onnx" -o "$out" --name "$name" $RESNETC_FLAGS || ok=0; }
    [ $ok = 1 ] && { step make "$work/make.log" make -C "$out" -j"$MAKE_JOBS" || ok=0; }
    [ $ok = 1 ] && { step run "$work/run.log" "$out/$name" "$input" "$work/ours.npy" || ok=0; }
    [ $ok = 1 ] && { step ort "$work/ort.log" node "$HERE/ort_run.js" "$onnx" "$input" "$work/ref.npy" || ok=0; }
    if [ $ok = 1 ]; then
        if step compare "$work/compare.log" "$PYTHON" "$HERE/compare.py" "$work/ours.npy" "$work/ref.npy"; then
            sed 's/^/  /' "$work/compare.log"
        else
            ok=0
        fi
    fi
    if [ $ok = 1 ] && [ -n "$BENCH" ]; then
        if step bench "$work/bench.log" "$out/$name" --bench "$BENCH" "$input" &&
            step ort-bench "$work/ort-bench.log" node "$HERE/ort_run.js" --bench "$BENCH" "$onnx" "$input"; then
            echo "  resnetc $(grep -h '^median_ms=' "$work/bench.log"), onnxruntime (1 thread) $(cat "$work/ort-bench.log")"
        else
            ok=0
        fi
    fi

    if [ $ok = 1 ]; then
        echo "  PASS $name"
        passed=$((passed + 1))
    else
        echo "  FAIL $name"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
done

total=$(awk -v a="$t_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
echo "== total ${total}s"
[ "$failed" -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
