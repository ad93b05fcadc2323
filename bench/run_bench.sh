#!/usr/bin/env bash
# Benchmark: resnetc against onnxruntime and against resnetc's own OpenBLAS
# backend, on torchvision ResNets (random weights, 1x3x224x224), at 1 and 2
# threads. `make bench` runs this.
#
#   bench/run_bench.sh [MODEL ...]              default: resnet18 resnet50
#
# For each model: export it with Debian's PyTorch (cached under
# $BENCH_DIR/models/), then compile and build it with resnetc four ways
# (--threads 1, --threads 2, --gemm openblas --threads 1 and 2; rebuilt only
# when resnetc, the model or the flags change). Then, per thread count T,
# BENCH_ROUNDS rounds each run, in an order that rotates from round to round:
#   resnetc   DIR/NAME --bench BENCH_RUNS IN.npy
#   ort       node bench/ort_bench.js --threads T --runs BENCH_RUNS MODEL IN.npy
#             (intra-op threads T, inter-op 1, sequential, all optimizations)
#   openblas  OPENBLAS_NUM_THREADS=1 DIR_blas/NAME --bench BENCH_RUNS IN.npy
#             (resnetc's T threads split each convolution's column chunks and
#             call a single-threaded cblas_sgemm each, as runtime/conv/conv_blas.c
#             prescribes; BENCH_OPENBLAS_THREADS=match sets OPENBLAS_NUM_THREADS=T
#             instead, T x T threads in all)
# Each prints the median of its timed runs (after warm-up); a cell of the
# table is the median of those round medians. Interleaving the three means a
# burst of background load falls on all of them alike.
#
# GFLOP per image is `resnetc info`'s total (2 x the multiply-adds of direct
# convolution and Gemm, whatever algorithm runs). Peak: bench/fma_peak.c, the
# per-core FMA rate times T.
#
# Prints one table and writes it, with the machine's description, to
# BENCH_RESULTS (default bench/RESULTS.md; "-" writes nothing).
#
# With BENCH_INT8=1 (the default), each model is also quantized to int8
# twice, with 8 random calibration images: by tests/e2e/make_qdq.py
# (onnxruntime's QDQ conventions, written independently of resnetc) and by
# `resnetc quantize`; for each QDQ model two more programs join the rounds:
# resnetc compiling it (--threads T) and onnxruntime running it. A second
# table compares them, with the int8 GOP/s against bench/int8_peak.c's
# per-core int8 multiply-add peak and resnetc's own float latency.
#
# Environment: RESNETC (default build/resnetc), BENCH_DIR (build/bench),
# BENCH_THREADS ("1 2"), BENCH_ROUNDS (5), BENCH_RUNS (10 timed runs per
# round), BENCH_OPENBLAS (auto: on when cblas.h and -lopenblas are there;
# 0 or 1 to force), BENCH_OPENBLAS_THREADS (1, or match), BENCH_NICE (empty;
# N runs the measured programs under `nice -n N`, for a shared machine:
# negative N needs root), BENCH_RESULTS, MAKE_JOBS (2). OPENBLAS_CORETYPE and
# the rest of the environment are left as they are, and reported; only if
# OPENBLAS_CORETYPE is unset and OpenBLAS does not know the CPU (it then
# runs its generic Prescott kernels) is it set to SkylakeX or Haswell, by
# the CPU's flags.
set -euo pipefail

LIB_NAME=run_bench.sh
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"
HERE="$ROOT/bench"
BENCH_DIR=${BENCH_DIR:-$ROOT/build/bench}
THREADS=${BENCH_THREADS:-1 2}
ROUNDS=${BENCH_ROUNDS:-5}
RUNS=${BENCH_RUNS:-10}
OPENBLAS=${BENCH_OPENBLAS:-auto}
BLAS_THREADS=${BENCH_OPENBLAS_THREADS:-1}
NICE=${BENCH_NICE:-}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
INT8=${BENCH_INT8:-1}
CC=${CC:-cc}

if [ $# -gt 0 ]; then MODELS=("$@"); else MODELS=(resnet18 resnet50); fi
read -r -a THREADS <<<"$THREADS"

say() { echo "== $*"; }

posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"; }
posint BENCH_ROUNDS "$ROUNDS"
posint BENCH_RUNS "$RUNS"
[ ${#THREADS[@]} -gt 0 ] || die "BENCH_THREADS is empty"
for t in "${THREADS[@]}"; do posint BENCH_THREADS "$t"; done
case $BLAS_THREADS in 1|match) ;; *) die "BENCH_OPENBLAS_THREADS must be 1 or match, not '$BLAS_THREADS'" ;; esac
[ -z "$NICE" ] || [[ $NICE =~ ^-?[0-9]+$ ]] || die "BENCH_NICE must be an integer, not '$NICE'"
NICE_CMD=()
[ -z "$NICE" ] || NICE_CMD=(nice -n "$NICE")
for m in "${MODELS[@]}"; do [[ $m =~ ^[a-z0-9_]+$ ]] || die "'$m' is not a torchvision model name"; done

need_resnetc
need_python python3-torch, python3-torchvision
need_ort
E2E="$ROOT/tests/e2e"
mkdir -p "$BENCH_DIR/models"

# run LOG CMD...: CMD's output to LOG; on failure show the log's end and stop.
run() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "run_bench.sh: error: '$*' failed; last lines of $log:" >&2
        log_tail "$log" >&2
        exit 1
    fi
}

# cpu_run LOG CMD...: as run, and sets CPU to CMD's user + system CPU seconds.
cpu_run() {
    local log=$1 TIMEFORMAT='%3U %3S'
    shift
    if ! { time "$@" >"$log" 2>&1; } 2>"$log.cpu"; then
        echo "run_bench.sh: error: '$*' failed; last lines of $log:" >&2
        log_tail "$log" >&2
        exit 1
    fi
    CPU=$(awk 'END { printf "%.3f", $1 + $2 }' "$log.cpu")
}

# ---- OpenBLAS: is it there, which version and kernel ------------------------
blas_note="not measured"
if [ "$OPENBLAS" != 0 ]; then
    probe="$BENCH_DIR/openblas_probe"
    if printf '#include <cblas.h>\n#include <stdio.h>\nchar *openblas_get_config(void);\nchar *openblas_get_corename(void);\nint main(void) { printf("%%s; core %%s\\n", openblas_get_config(), openblas_get_corename()); return 0; }\n' |
        $CC -x c - -o "$probe" -lopenblas >/dev/null 2>&1; then
        OPENBLAS=1
        blas_note=$("$probe" 2>/dev/null || echo "version unknown")
        # An OpenBLAS older than the CPU falls back to a generic core
        # (Prescott: SSE3 kernels, a fifth of its speed here); unless the
        # user chose a core, pick the newest one the CPU's flags support.
        case $blas_note in
        *"core Prescott"* | *"core Core2"* | *"core Nehalem"* | *"core Katmai"*)
            if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
                flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
                pick=""
                case " $flags " in
                *" avx512f "*) pick=SkylakeX ;;
                *" avx2 "*) pick=Haswell ;;
                esac
                if [ -n "$pick" ]; then
                    export OPENBLAS_CORETYPE=$pick
                    echo "run_bench.sh: note: OpenBLAS does not know this CPU (${blas_note##*core }); using OPENBLAS_CORETYPE=$pick" >&2
                    blas_note=$("$probe" 2>/dev/null || echo "version unknown")
                fi
            fi
            ;;
        esac
    elif [ "$OPENBLAS" = 1 ]; then
        die "BENCH_OPENBLAS=1 but cblas.h / -lopenblas are missing (Debian: libopenblas-dev)"
    else
        echo "run_bench.sh: note: OpenBLAS not found (Debian: libopenblas-dev); its column stays empty" >&2
        OPENBLAS=0
    fi
fi

# ---- FMA peak ----------------------------------------------------------------
say "FMA peak (bench/fma_peak.c, -O2 -march=native)"
$CC -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -pthread "$HERE/fma_peak.c" \
    -o "$BENCH_DIR/fma_peak" -lm || die "cannot build bench/fma_peak.c"
tlist=$(printf '%s\n' 1 "${THREADS[@]}" | sort -n -u | paste -s -d,)
peak_out=$("$BENCH_DIR/fma_peak" --threads "$tlist")
echo "$peak_out" | sed 's/^/  /'
peak_isa=$(echo "$peak_out" | sed -n 's/^isa=\([^ ]*\).*/\1/p')
# One core's peak: the higher of the fastest trial by wall time and the median
# by CPU time, at one thread (the higher peak is the stricter yardstick).
peak_cpu=$(echo "$peak_out" | sed -n 's/^threads=1 .*cpu_per_core=\([0-9.]*\).*/\1/p' | head -n 1)
peak_wall=$(echo "$peak_out" | sed -n 's/^threads=1 gflops=\([0-9.]*\).*/\1/p' | head -n 1)
peak_core=$(awk -v a="$peak_cpu" -v b="$peak_wall" 'BEGIN { if (a != "" && b != "") print (a > b ? a : b) }')
[ -n "$peak_core" ] || die "cannot read fma_peak's output"

int8_gops=""
if [ "$INT8" = 1 ]; then
    say "int8 peak (bench/int8_peak.c, -O2 -march=native)"
    $CC -O2 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L "$HERE/int8_peak.c" -o "$BENCH_DIR/int8_peak" ||
        die "cannot build bench/int8_peak.c"
    int8_out=$("$BENCH_DIR/int8_peak")
    echo "  $int8_out"
    int8_gops=$(echo "$int8_out" | sed -n 's/.*gops=\([0-9.]*\).*/\1/p')
    int8_isa=$(echo "$int8_out" | sed -n 's/^isa=\(.*\) gops=.*/\1/p')
fi

# ---- export, compile, build ---------------------------------------------------
declare -A GFLOP ONNX INPUT ONNXQ ONNXRQ
variants() { # the variant names for thread count $1
    echo "t$1"
    [ "$OPENBLAS" = 1 ] && echo "blas_t$1"
    [ "$INT8" = 1 ] && echo "q_t$1" && echo "rq_t$1"
    return 0
}
flags_of() { # resnetc flags of a variant
    case $1 in
        t*) echo "--threads ${1#t}" ;;
        blas_t*) echo "--gemm openblas --threads ${1#blas_t}" ;;
        q_t*) echo "--threads ${1#q_t}" ;;
        rq_t*) echo "--threads ${1#rq_t}" ;;
    esac
}
# The output folder gets resnetc's runtime sources: they are part of the key.
resnetc_sum=$( (cat "$RESNETC"; find "$ROOT/runtime" "$ROOT/include" -type f | LC_ALL=C sort | xargs cat) |
    sha256sum | cut -c1-16)
for model in "${MODELS[@]}"; do
    onnx="$BENCH_DIR/models/$model.onnx"
    input="$BENCH_DIR/models/$model.input.npy"
    say "$model: torchvision, random weights, 1x3x224x224"
    cached_export "$BENCH_DIR/models/$model.export.log" "$onnx" "$input" -- "$PYTHON" "$E2E/export_torchvision.py" \
        --model "$model" --out "$(tmpname "$onnx")" --input-npy "$(tmpname "$input")" --batch 1 --size 224 ||
        die "exporting $model failed"
    ONNX[$model]=$onnx
    INPUT[$model]=$input
    if [ "$INT8" = 1 ]; then
        ONNXQ[$model]="$BENCH_DIR/models/$model.qdq.onnx"
        cached_export "$BENCH_DIR/models/$model.qdq.log" "${ONNXQ[$model]}" -- "$PYTHON" "$E2E/make_qdq.py" \
            "$onnx" --out "$(tmpname "${ONNXQ[$model]}")" --calib-random 8 || die "quantizing $model failed"
        calib="$BENCH_DIR/models/$model.calib.npy"
        [ -f "$calib" ] || "$PYTHON" -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).standard_normal((8, 3, 224, 224), dtype=np.float32))" "$calib" ||
            die "cannot write $calib"
        ONNXRQ[$model]="$BENCH_DIR/models/$model.rq.onnx"
        run "$BENCH_DIR/models/$model.rq.log" "$RESNETC" quantize "$onnx" --calibrate "$calib" -o "${ONNXRQ[$model]}"
    fi
    mkdir -p "$BENCH_DIR/$model"
    "$RESNETC" info "$onnx" >"$BENCH_DIR/$model/info.txt" 2>&1 || die "resnetc info $onnx failed"
    # The totals line, "... (N GFLOP)" or "... N GFLOP)": the one GFLOP figure.
    GFLOP[$model]=$(sed -n 's/.*[^0-9.]\([0-9][0-9]*\.*[0-9]*\) GFLOP\b.*/\1/p' "$BENCH_DIR/$model/info.txt" | tail -n 1)
    [ -n "${GFLOP[$model]}" ] || die "no GFLOP total in 'resnetc info $onnx'"
    for t in "${THREADS[@]}"; do
        for v in $(variants "$t"); do
            out="$BENCH_DIR/$model/$v"
            flags=$(flags_of "$v")
            src=$onnx
            [ "${v#q_}" != "$v" ] && src=${ONNXQ[$model]}
            [ "${v#rq_}" != "$v" ] && src=${ONNXRQ[$model]}
            key="$resnetc_sum $(sha256sum "$src" | cut -c1-16) $flags"
            if [ -x "$out/$model" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
                echo "  $model $v: built ($flags)"
                continue
            fi
            t0=$EPOCHREALTIME
            rm -f "$out.key"
            # shellcheck disable=SC2086  # flags is a list
            run "$out.compile.log" "$RESNETC" compile "$src" -o "$out" --name "$model" --force $flags
            run "$out.make.log" make -C "$out" -j"$MAKE_JOBS"
            echo "$key" >"$out.key"
            echo "  $model $v: compiled and built in $(seconds_since "$t0" 0)s ($flags)"
        done
    done
done

# ---- measure -------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
ms_of() { sed -n 's/^median_ms=\([0-9.]*\)$/\1/p' "$1" | head -n 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# MS[model.threads.side]: the round medians. CPUMS[model.side]: at one
# thread and with BENCH_RUNS >= 5, CPU time per inference, one value per round: for the drivers,
# (CPU of `--bench RUNS` - CPU of `--bench 1`) / (RUNS - 1), which leaves out
# start-up and warm-up; onnxruntime's is measured inside ort_bench.js.
declare -A MS CPUMS BASE
ort_version=unknown
t_start=$EPOCHREALTIME
for model in "${MODELS[@]}"; do
    for t in "${THREADS[@]}"; do
        say "$model, $t thread(s): $ROUNDS rounds of $RUNS timed runs each"
        sides=(resnetc ort)
        [ "$OPENBLAS" = 1 ] && sides+=(openblas)
        [ "$INT8" = 1 ] && sides+=(int8 ort_int8 rq_int8 rq_ort_int8)
        for side in "${sides[@]}"; do MS[$model.$t.$side]=""; done
        if [ "$t" = 1 ] && [ "$RUNS" -ge 5 ]; then
            for side in "${sides[@]}"; do
                CPUMS[$model.$side]=""
                [ "$side" = ort ] || [ "${side#*int8}" != "$side" ] && continue
                base=""
                for _ in 1 2 3; do
                    cpu_run "$BENCH_DIR/$model/base.$side.log" "${NICE_CMD[@]}" env OPENBLAS_NUM_THREADS=1 \
                        "$BENCH_DIR/$model/$([ "$side" = openblas ] && echo blas_)t1/$model" --bench 1 "${INPUT[$model]}"
                    base+=" $CPU"
                done
                BASE[$model.$side]=$(echo "$base" | median)
            done
        fi
        for ((r = 0; r < ROUNDS; r++)); do
            line="  round $((r + 1)):"
            for ((k = 0; k < ${#sides[@]}; k++)); do
                side=${sides[$(((r + k) % ${#sides[@]}))]}
                log="$BENCH_DIR/$model/bench.$side.t$t.log"
                case $side in
                    resnetc) cpu_run "$log" "${NICE_CMD[@]}" "$BENCH_DIR/$model/t$t/$model" --bench "$RUNS" "${INPUT[$model]}" ;;
                    openblas)
                        obt=1
                        [ "$BLAS_THREADS" = match ] && obt=$t
                        cpu_run "$log" "${NICE_CMD[@]}" env OPENBLAS_NUM_THREADS="$obt" \
                            "$BENCH_DIR/$model/blas_t$t/$model" --bench "$RUNS" "${INPUT[$model]}"
                        ;;
                    ort)
                        run "$log" "${NICE_CMD[@]}" node "$HERE/ort_bench.js" --threads "$t" --runs "$RUNS" \
                            "${ONNX[$model]}" "${INPUT[$model]}"
                        ort_version=$(sed -n 's/^ort_version=//p' "$log")
                        ;;
                    int8) run "$log" "${NICE_CMD[@]}" "$BENCH_DIR/$model/q_t$t/$model" --bench "$RUNS" "${INPUT[$model]}" ;;
                    ort_int8)
                        run "$log" "${NICE_CMD[@]}" node "$HERE/ort_bench.js" --threads "$t" --runs "$RUNS" \
                            "${ONNXQ[$model]}" "${INPUT[$model]}"
                        ;;
                    rq_int8) run "$log" "${NICE_CMD[@]}" "$BENCH_DIR/$model/rq_t$t/$model" --bench "$RUNS" "${INPUT[$model]}" ;;
                    rq_ort_int8)
                        run "$log" "${NICE_CMD[@]}" node "$HERE/ort_bench.js" --threads "$t" --runs "$RUNS" \
                            "${ONNXRQ[$model]}" "${INPUT[$model]}"
                        ;;
                esac
                if [ "$t" = 1 ] && [ "$RUNS" -ge 5 ] && [ "${side#*int8}" = "$side" ]; then
                    if [ "$side" = ort ]; then
                        CPUMS[$model.$side]+=" $(sed -n 's/^cpu_ms_per_run=//p' "$log")"
                    else
                        CPUMS[$model.$side]+=" $(awk -v c="$CPU" -v b="${BASE[$model.$side]}" -v n="$RUNS" \
                            'BEGIN { printf "%.3f", 1e3 * (c - b) / (n - 1) }')"
                    fi
                fi
                ms=$(ms_of "$log")
                [ -n "$ms" ] || die "no median_ms= line in $log"
                MS[$model.$t.$side]+=" $ms"
                line+=" $side $ms"
            done
            echo "$line"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
t_total=$(seconds_since "$t_start" 0)

# ---- table ---------------------------------------------------------------------
table() {
    echo "| model | threads | resnetc ms | onnxruntime ms | resnetc / ort | resnetc GFLOP/s | % of FMA peak | resnetc + OpenBLAS ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for model in "${MODELS[@]}"; do
        for t in "${THREADS[@]}"; do
            ours=$(echo "${MS[$model.$t.resnetc]}" | median)
            ort=$(echo "${MS[$model.$t.ort]}" | median)
            blas=-
            [ "$OPENBLAS" = 1 ] && blas=$(echo "${MS[$model.$t.openblas]}" | median)
            awk -v m="$model" -v t="$t" -v o="$ours" -v r="$ort" -v b="$blas" \
                -v g="${GFLOP[$model]}" -v p="$peak_core" 'BEGIN {
                gf = g / (o / 1e3)
                printf "| %s | %d | %.1f | %.1f | %.2f | %.1f | %.0f%% | %s |\n",
                    m, t, o, r, o / r, gf, 100 * gf / (p * t), b == "-" ? "-" : sprintf("%.1f", b) }'
        done
    done
}
spreads() {
    echo "| model | threads | resnetc rounds (ms) | onnxruntime rounds (ms) | OpenBLAS rounds (ms) |"
    echo "|---|---:|---|---|---|"
    for model in "${MODELS[@]}"; do
        for t in "${THREADS[@]}"; do
            b=-
            [ "$OPENBLAS" = 1 ] && b=$(echo "${MS[$model.$t.openblas]}" | spread)
            echo "| $model | $t | $(echo "${MS[$model.$t.resnetc]}" | spread) | $(echo "${MS[$model.$t.ort]}" | spread) | $b |"
        done
    done
}
# At one thread: CPU time per inference, which time-sharing does not inflate.
cpu_table() {
    echo "| model | resnetc CPU ms | onnxruntime CPU ms | resnetc / ort | resnetc + OpenBLAS CPU ms |"
    echo "|---|---:|---:|---:|---:|"
    for model in "${MODELS[@]}"; do
        ours=$(echo "${CPUMS[$model.resnetc]}" | median)
        ort=$(echo "${CPUMS[$model.ort]}" | median)
        blas=-
        [ "$OPENBLAS" = 1 ] && blas=$(echo "${CPUMS[$model.openblas]}" | median)
        awk -v m="$model" -v o="$ours" -v r="$ort" -v b="$blas" 'BEGIN {
            printf "| %s | %.1f | %.1f | %.2f | %s |\n", m, o, r, o / r, b == "-" ? "-" : sprintf("%.1f", b) }'
    done
}
# int8: the same model quantized (make_qdq.py), both engines on that QDQ model.
int8_table() {
    echo "| model | quantized by | threads | resnetc int8 ms | onnxruntime int8 ms | resnetc / ort | resnetc int8 GOP/s | % of int8 peak | resnetc float ms | resnetc float / int8 |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for model in "${MODELS[@]}"; do
        for by in make_qdq.py "resnetc quantize"; do
        for t in "${THREADS[@]}"; do
            pre=""
            [ "$by" = make_qdq.py ] || pre=rq_
            q=$(echo "${MS[$model.$t.${pre}int8]}" | median)
            r=$(echo "${MS[$model.$t.${pre}ort_int8]}" | median)
            f=$(echo "${MS[$model.$t.resnetc]}" | median)
            awk -v m="$model" -v by="$by" -v t="$t" -v q="$q" -v r="$r" -v f="$f" -v g="${GFLOP[$model]}" -v p="$int8_gops" 'BEGIN {
                gops = g / (q / 1e3)
                printf "| %s | %s | %d | %.1f | %.1f | %.2f | %.1f | %.0f%% | %.1f | %.2f |\n",
                    m, by, t, q, r, q / r, gops, 100 * gops / (p * t), f, f / q }'
        done
        done
    done
}
has_cpu=0
[[ " ${THREADS[*]} " = *" 1 "* ]] && [ "$RUNS" -ge 5 ] && has_cpu=1

echo
table
echo
if [ "$INT8" = 1 ]; then
    echo "int8 (QDQ from make_qdq.py), int8 peak $int8_gops GOP/s per core ($int8_isa):"
    echo
    int8_table
    echo
fi
if [ "$has_cpu" = 1 ]; then
    echo "One thread, CPU time per inference (less inflated by other processes' load):"
    echo
    cpu_table
    echo
fi
echo "FMA peak: $peak_core GFLOP/s per core ($peak_isa); % of peak = GFLOP/s / (threads x per-core peak)."
echo "Load average: $load_before before, $load_after after ($(nproc) CPUs); measuring took ${t_total}s."

[ "$RESULTS" = - ] && exit 0

# ---- RESULTS.md ------------------------------------------------------------------
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cpus=$(nproc)
tpc=$(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core: *//p' | head -n 1)
hyper=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p' | head -n 1)
cache=$(lscpu 2>/dev/null | awk -F': *' '/^L[123]d? cache|^L2 cache|^L3 cache/ { printf "%s%s %s", sep, $1, $2; sep = ", " }')
cpuflags=""
for f in avx512f avx512_vnni avx512vbmi avx512_bf16 avx2 fma; do
    if grep -qw "$f" /proc/cpuinfo; then cpuflags+=" $f"; else cpuflags+=" (no $f)"; fi
done
cpuflags=${cpuflags# }
gcc_version=$($CC --version | head -n 1)
commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
coretype=${OPENBLAS_CORETYPE:-(unset)}
cmd="bench/run_bench.sh${*:+ $*}"
settings="BENCH_ROUNDS=$ROUNDS BENCH_RUNS=$RUNS BENCH_THREADS=\"${THREADS[*]}\" BENCH_OPENBLAS_THREADS=$BLAS_THREADS${NICE:+ BENCH_NICE=$NICE}"

tmp="$RESULTS.tmp"
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (bench/run_bench.sh); each run replaces this file."
    echo "See bench/README.md for what is measured and how."
    echo
    echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), resnetc $commit, \`$cmd\` ($settings)."
    echo
    table
    echo
    echo "- Latency: median of $ROUNDS rounds, each the median of $RUNS timed runs after a warm-up;"
    echo "  the three programs take turns, round by round. Batch 1, 3x224x224, float32."
    echo "- resnetc / ort: below 1 means resnetc is faster."
    echo "- GFLOP per image (\`resnetc info\`: 2 x the multiply-adds of direct convolution):"
    echo "  $(for model in "${MODELS[@]}"; do printf '%s %s, ' "$model" "${GFLOP[$model]}"; done | sed 's/, $/./')"
    echo "- % of FMA peak: resnetc's GFLOP/s over threads x the per-core peak below. Winograd"
    echo "  layers do fewer multiplications than counted, so this can exceed what direct"
    echo "  arithmetic could reach."
    if [ "$BLAS_THREADS" = match ]; then
        echo "- resnetc + OpenBLAS: \`resnetc compile --gemm openblas --threads T\`, run with"
        echo "  OPENBLAS_NUM_THREADS=T (T resnetc threads, each calling a T-thread OpenBLAS)."
    else
        echo "- resnetc + OpenBLAS: \`resnetc compile --gemm openblas --threads T\`, run with"
        echo "  OPENBLAS_NUM_THREADS=1: resnetc's T threads each call a single-threaded sgemm."
    fi
    [ -z "$NICE" ] || echo "- All three programs ran under \`nice -n $NICE\`."
    echo
    if [ "$has_cpu" = 1 ]; then
        echo "One thread, CPU time per inference: user + system time of the process, per"
        echo "timed run (for the drivers, \`--bench $RUNS\` minus \`--bench 1\`, over $((RUNS - 1)) runs),"
        echo "median over the rounds. Waiting for a core while other processes run on it"
        echo "lengthens the wall time above but not this; the caches they evict and a busy"
        echo "host still do, so on a busy machine this is the steadier comparison, not an"
        echo "exact one."
        echo
        cpu_table
        echo
    fi
    if [ "$INT8" = 1 ]; then
        echo "## int8"
        echo
        echo "The same models quantized to int8 twice, each on 8 random calibration images:"
        echo "by tests/e2e/make_qdq.py (onnxruntime's QDQ conventions: uint8 activations per"
        echo "tensor, int8 weights per channel), independently of resnetc, and by \`resnetc"
        echo "quantize\` (the same conventions; every same-signed weight pair within 16 bits"
        echo "of products). For each, resnetc and onnxruntime run the very same QDQ model, in"
        echo "the same rounds as the float runs."
        echo
        int8_table
        echo
        echo "- GOP per image: the float model's count (2 x multiply-adds)."
        echo "- % of int8 peak: over threads x bench/int8_peak.c's one-core rate, $int8_gops GOP/s"
        echo "  ($int8_isa, the instruction resnetc's exact int8 kernels are built on)."
        echo
    fi
    echo "Spread of the round medians (min-max):"
    echo
    spreads
    echo
    echo "## Machine"
    echo
    echo "- CPU: $cpu_model, $cpus CPUs ($tpc thread(s) per core)${hyper:+, virtual machine ($hyper)}"
    echo "- Caches: $cache"
    echo "- Flags: $cpuflags"
    echo "- FMA peak (bench/fma_peak.c, $peak_isa): $peak_core GFLOP/s per core, the higher of"
    echo "  $peak_cpu by CPU time and, by wall time, $(echo "$peak_out" | awk '/^threads=/ { split($1, t, "="); split($2, g, "="); printf "%s%s with %s thread(s)", sep, g[2], t[2]; sep = ", " }')"
    echo "- Compiler: $gcc_version"
    echo "- Node.js $(node --version), onnxruntime-node $ort_version"
    echo "- OpenBLAS: $blas_note; OPENBLAS_CORETYPE=$coretype"
    echo "- Kernel: $(uname -sr)"
    echo "- Load average (1, 5, 15 min): $load_before before measuring, $load_after after, on $cpus CPUs"
} >"$tmp"
if awk -v a="$load_before" -v b="$load_after" -v n="$cpus" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] > n / 2 || y[1] > n / 2) }'; then
    {
        echo
        echo "**The machine was busy with other work during this run** (load average above"
        echo "half the CPU count): absolute times are inflated and noisy. The programs were"
        echo "interleaved, so the ratio suffers less than the times do, and the one-thread"
        echo "CPU times less still. The FMA peak is the best of many short trials, which the"
        echo "load hardly lowers."
    } >>"$tmp"
fi
mv "$tmp" "$RESULTS"
echo "Wrote ${RESULTS#"$ROOT"/}."
