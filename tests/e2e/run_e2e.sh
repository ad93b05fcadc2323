#!/usr/bin/env bash
# End-to-end test: torchvision model -> ONNX -> resnetc -> C -> run, checked
# against onnxruntime on the same input.
#
#   tests/e2e/run_e2e.sh [MODEL[:keep|:fold|:qdq|:qop|:rq] ...]   default: resnet18 resnet50
#
# MODEL is a torchvision.models name; ":fold" exports with BatchNorm folded into
# Conv by the exporter, ":keep" (the default) keeps BatchNormalization nodes so
# resnetc's own folding is tested. ":qdq" quantizes the :keep export to int8
# with make_qdq.py (onnxruntime's QDQ conventions, calibrated on E2E_CALIB
# random images, default 4) and checks resnetc's int8 result against
# onnxruntime running the same QDQ model, within E2E_QDQ_TOL (0.03) of
# max|ref| and with the same top-1. ":qop" converts that QDQ model to
# onnxruntime's QOperator form with qdq_to_qop.py (QLinearConv and the
# com.microsoft QLinearAdd, QLinearGlobalAveragePool, QGemm, ...) and checks
# resnetc on it the same way, against onnxruntime running the QOperator
# model. ":rq" has resnetc quantize the :keep export itself (`resnetc
# quantize`, calibrated on E2E_CALIB random N(0, 1) samples from seed
# E2E_SEED + 1, which leaves the test input out) and checks the same way:
# resnetc compiling the QDQ model resnetc wrote, against onnxruntime
# running it. For each model: export (cached under
# build/e2e/models/, keyed by the export arguments), resnetc compile, make,
# run the generated driver, run onnxruntime, compare (see compare.py for the
# tolerance). Each step prints its time; logs go to build/e2e/<model>/.
# A passed model's folder (generated code, build products, logs) is removed
# (KEEP_PASSED=1 keeps it); a failed one is kept, and its FAIL line names it.
# The exported models stay cached.
#
# Environment: RESNETC (default build/resnetc), RESNETC_FLAGS (extra compile
# flags), E2E_DIR (default build/e2e), E2E_OPSET (13), E2E_BATCH (1),
# E2E_SIZE (224), E2E_SEED (0), E2E_BENCH (N: also time driver and onnxruntime
# with N runs each), MAKE_JOBS (2).
#
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

LIB_NAME=run_e2e.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
HERE="$ROOT/tests/e2e"
RESNETC_FLAGS=${RESNETC_FLAGS:-}
E2E_DIR=${E2E_DIR:-$ROOT/build/e2e}
OPSET=${E2E_OPSET:-13}
BATCH=${E2E_BATCH:-1}
SIZE=${E2E_SIZE:-224}
SEED=${E2E_SEED:-0}
BENCH=${E2E_BENCH:-}

if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50); fi

need_resnetc
need_python python3-torch, python3-torchvision
need_ort
for spec in "${MODELS[@]}"; do
    case $spec in
        *:*:*|:*) die "$spec: expected MODEL, MODEL:keep, MODEL:fold, MODEL:qdq, MODEL:qop or MODEL:rq" ;;
        *:keep|*:fold|*:qdq|*:qop|*:rq) ;;
        *:*) die "$spec: mode must be :keep, :fold, :qdq, :qop or :rq" ;;
    esac
done
mkdir -p "$E2E_DIR/models"

for spec in "${MODELS[@]}"; do
    model=${spec%%:*}
    bn=keep
    [ "$spec" != "$model" ] && bn=${spec#*:}
    qdq=0 qop=0 rq=0
    if [ "$bn" = qdq ]; then qdq=1; bn=keep; fi
    if [ "$bn" = qop ]; then qdq=1; qop=1; bn=keep; fi
    if [ "$bn" = rq ]; then rq=1; bn=keep; fi
    name=$model
    [ "$bn" = fold ] && name=${model}_fold
    [ $qdq = 1 ] && name=${model}_qdq
    [ $qop = 1 ] && name=${model}_qop
    [ $rq = 1 ] && name=${model}_rq
    key="${model}_opset${OPSET}_b${BATCH}_${SIZE}px_seed${SEED}_bn${bn}"
    onnx="$E2E_DIR/models/$key.onnx"
    input="$E2E_DIR/models/$key.input.npy"
    work="$E2E_DIR/$name"
    out="$work/out"
    rm -rf "$work"
    mkdir -p "$work"
    echo "== $name ($key)"

    ok=1
    cached_export "$work/export.log" "$onnx" "$input" -- "$PYTHON" "$HERE/export_torchvision.py" \
        --model "$model" --out "$(tmpname "$onnx")" --input-npy "$(tmpname "$input")" \
        --opset "$OPSET" --batch "$BATCH" --size "$SIZE" --seed "$SEED" --bn "$bn" || ok=0
    tol=()
    if [ $qdq = 1 ]; then
        qonnx="$E2E_DIR/models/${key}_qdq_calib${E2E_CALIB:-4}.onnx"
        [ $ok = 1 ] && cached_export "$work/qdq.log" "$qonnx" -- "$PYTHON" "$HERE/make_qdq.py" "$onnx" \
            --out "$(tmpname "$qonnx")" --calib-random "${E2E_CALIB:-4}" --seed "$SEED" || ok=0
        onnx=$qonnx
        tol=(--rtol-of-max "${E2E_QDQ_TOL:-0.03}")
    fi
    if [ $qop = 1 ]; then
        qop_onnx="${qonnx%.onnx}_qop.onnx"
        [ $ok = 1 ] && cached_export "$work/qop.log" "$qop_onnx" -- "$PYTHON" "$HERE/qdq_to_qop.py" "$qonnx" \
            --out "$(tmpname "$qop_onnx")" || ok=0
        onnx=$qop_onnx
    fi
    if [ $rq = 1 ]; then
        calib="$E2E_DIR/models/${key}_random${E2E_CALIB:-4}_seed$((SEED + 1)).npy"
        [ $ok = 1 ] && cached_export "$work/calib.log" "$calib" -- "$PYTHON" -c '
import sys
import numpy as np
x = np.load(sys.argv[1])
k, seed = int(sys.argv[2]), int(sys.argv[3])
cal = np.random.default_rng(seed).standard_normal((k * x.shape[0],) + x.shape[1:]).astype(np.float32)
np.save(sys.argv[4], cal)' "$input" "${E2E_CALIB:-4}" $((SEED + 1)) "$(tmpname "$calib")" || ok=0
        next_step quantize "$work/quantize.log" "$RESNETC" quantize "$onnx" --calibrate "$calib" -o "$work/$name.onnx"
        onnx=$work/$name.onnx
        tol=(--rtol-of-max "${E2E_QDQ_TOL:-0.03}")
    fi
    # shellcheck disable=SC2086  # RESNETC_FLAGS is a list of flags
    next_step compile "$work/compile.log" "$RESNETC" compile "$onnx" -o "$out" --name "$name" $RESNETC_FLAGS
    next_step make "$work/make.log" make -C "$out" -j"$MAKE_JOBS"
    next_step run "$work/run.log" "$out/$name" "$input" "$work/ours.npy"
    next_step ort "$work/ort.log" node "$HERE/ort_run.js" "$onnx" "$input" "$work/ref.npy"
    shown_step compare "$work/compare.log" "$PYTHON" "$HERE/compare.py" "$work/ours.npy" "$work/ref.npy" "${tol[@]}"
    if [ $ok = 1 ] && [ -n "$BENCH" ]; then
        if step bench "$work/bench.log" "$out/$name" --bench "$BENCH" "$input" &&
            step ort-bench "$work/ort-bench.log" node "$HERE/ort_run.js" --bench "$BENCH" "$onnx" "$input"; then
            echo "  resnetc $(grep -h '^median_ms=' "$work/bench.log"), onnxruntime (1 thread) $(cat "$work/ort-bench.log")"
        else
            ok=0
        fi
    fi

    case_done $ok "$name" "$work"
done
finish
