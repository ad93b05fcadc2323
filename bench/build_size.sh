#!/usr/bin/env bash
# What a user gets on disk and waits for: torchvision ResNets (random
# weights, 1x3x224x224, float32) compiled by resnetc, then built with
# `make -C DIR` as typed (serial), and with `make -C DIR -j2`.
#
#   bench/build_size.sh [MODEL ...]        default: resnet18 resnet50 resnet152
#
# Per model and per --optimize choice (speed, size): the float32 parameter
# bytes (resnetc info), the weight bytes in the output, the folder before
# make and after it, the binary, the serial make's wall time and peak memory
# (/usr/bin/time), make -j2's wall time (after `make clean`), and the driver's
# latency at one thread (what each --optimize choice costs in speed). Prints a
# table and writes it, with the machine's description, to
# BUILD_RESULTS (default bench/BUILD_RESULTS.md; "-" writes nothing).
# Run it on an idle machine: the times are wall times.
#
# Environment: RESNETC (default build/resnetc), BENCH_DIR (build/bench: the
# exported models are shared with bench/run_bench.sh), BUILD_RESULTS.
set -euo pipefail

LIB_NAME=build_size.sh
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"
E2E=$ROOT/tests/e2e
BENCH_DIR=${BENCH_DIR:-$ROOT/build/bench}
RESULTS=${BUILD_RESULTS:-$ROOT/bench/BUILD_RESULTS.md}
if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50 resnet152); fi
need_resnetc
need_python python3-torch, python3-torchvision
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
mkdir -p "$BENCH_DIR/models" "$BENCH_DIR/build"

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
bytes_of() { du -sb "$@" | awk '{ s += $1 } END { print s + 0 }'; }

rows=()
for model in "${MODELS[@]}"; do
    echo "== $model"
    onnx=$BENCH_DIR/models/$model.onnx
    input=$BENCH_DIR/models/$model.input.npy
    cached_export "$BENCH_DIR/models/$model.export.log" "$onnx" "$input" -- "$PYTHON" "$E2E/export_torchvision.py" \
        --model "$model" --out "$(tmpname "$onnx")" --input-npy "$(tmpname "$input")" --batch 1 --size 224 ||
        die "exporting $model failed"
    params=$("$RESNETC" info "$onnx" --json | "$PYTHON" -c 'import json, sys; print(4 * json.load(sys.stdin)["totals"]["params"])')
    for opt in speed size; do
        out=$BENCH_DIR/build/$model-$opt
        rm -rf "$out"
        "$RESNETC" compile -q "$onnx" -o "$out" --name "$model" --optimize "$opt"
        weights=$(bytes_of "$out"/"$model"_w*.bin)
        before=$(bytes_of "$out")
        /usr/bin/time -f "%e %M" -o "$out.time" make -s -C "$out" >"$out.log" 2>&1 || die "make -C $out failed: see $out.log"
        read -r secs peak_kb <"$out.time"
        after=$(bytes_of "$out")
        binary=$(stat -c %s "$out/$model")
        make -s -C "$out" clean
        start=$(date +%s.%N)
        make -s -C "$out" -j2 >>"$out.log" 2>&1 || die "make -j2 -C $out failed: see $out.log"
        j2=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        # what the choice costs in speed: one thread, median of 10 runs, best of 3
        lat=$(for r in 1 2 3; do "$out/$model" --bench 10 "$input" | sed -n 's/^median_ms=//p'; done | sort -g | head -1)
        row="| $model | $opt | $(mb "$params") | $(mb "$weights") | $(mb "$before") ($(awk -v a="$before" -v b="$params" 'BEGIN { printf "%.2f", a / b }')x) | $(mb "$after") ($(awk -v a="$after" -v b="$params" 'BEGIN { printf "%.2f", a / b }')x) | $(mb "$binary") ($(awk -v a="$binary" -v b="$params" 'BEGIN { printf "%.3f", a / b }')x) | $secs | $((peak_kb / 1024)) | $j2 | $lat |"
        echo "$row"
        rows+=("$row")
        rm -rf "$out"
    done
done

table="| model | --optimize | parameters MB | weights MB | folder before make MB (x params) | after make MB | binary MB | make s (serial) | make peak MiB | make -j2 s | latency ms |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do table+=$'\n'"$r"; done
echo
echo "$table"
if [ "$RESULTS" != - ]; then
    {
        echo "# Build size and time"
        echo
        echo "Written by bench/build_size.sh; each run replaces this file."
        echo
        echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), resnetc $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, $(${CC:-cc} --version | head -1)."
        echo
        echo "$table"
        echo
        echo "- MB: 10^6 bytes. parameters: 4 x the float32 parameters after the passes (resnetc info)."
        echo "- weights: the NAME_w*.bin files; the folder before make holds them, the C and the runtime files"
        echo "  the model calls; after make, the driver NAME holds the weights once more (the weights' objects"
        echo "  are intermediate; \`make lib\` would add libNAME.a, a third copy)."
        echo "- latency: the driver, one thread, \`NAME --bench 10\` (median of 10 runs), the best of 3."
        echo "- make: \`make -C DIR\` as typed, wall time and peak resident memory (/usr/bin/time); make -j2 after"
        echo "  \`make clean\`."
    } >"$RESULTS"
    echo "wrote ${RESULTS#"$ROOT"/}"
fi
