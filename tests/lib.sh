# shellcheck shell=bash
# What the end-to-end scripts share: tests/e2e/run_e2e.sh,
# tests/yaml/run_yaml_e2e.sh, tests/cross/run_cross.sh,
# tests/cross/check_freestanding.sh and bench/run_bench.sh. A script names
# itself and sources this file:
#
#   LIB_NAME=run_e2e.sh
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# Sets ROOT (the repository), PYTHON (Debian's /usr/bin/python3), RESNETC
# (default build/resnetc), MAKE_JOBS (default 2), STEP_WIDTH (9: the column
# of step names; set it after sourcing to change it), and defines:
#
#   die MSG                 "NAME: error: MSG" on stderr, exit status 2
#   need_resnetc            die unless $RESNETC is an executable
#   need_python PACKAGES    die unless $PYTHON is there (PACKAGES: what it needs)
#   need_ort                die unless Node.js is there; npm ci onnxruntime-node
#                           into tests/e2e/node_modules when it is missing
#   log_tail LOG            the last 15 lines of LOG, indented with "    | "
#   step NAME LOG CMD...    run CMD, output to LOG; print NAME and its time, and
#                           on failure the exit status and the end of LOG
#   next_step NAME LOG CMD...
#                           step, if the case's ok is still 1; a failure sets
#                           ok=0 (a case: ok=1, then next_step after next_step)
#   shown_step NAME LOG CMD...
#                           next_step, and on success LOG, indented (a compare
#                           step's figures)
#   tmpname FILE            the name FILE has while it is written (a.onnx ->
#                           a.tmp.onnx, a.input.npy -> a.input.tmp.npy)
#   cached_export LOG FILE... -- CMD...
#                           if every FILE exists, say "cached"; else run CMD as
#                           step "export" (CMD writes each FILE as its tmpname)
#                           and rename them into place: an interrupted export
#                           is never cached
#   case_done OK NAME [DIR] count a case (OK 1 passed, 0 failed) and print
#                           "  PASS NAME", or "  FAIL NAME (kept in DIR)". A
#                           passed case's DIR (generated code, build products,
#                           logs) is removed unless KEEP_PASSED=1; a failed
#                           one is left for inspection
#   finish                  "== total Ns", the failed cases, and last
#                           "N passed, M failed"; returns 1 if any failed
#
# Environment: RESNETC, MAKE_JOBS, KEEP_PASSED (1: keep passed cases' folders).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=/usr/bin/python3
RESNETC=${RESNETC:-$ROOT/build/resnetc}
MAKE_JOBS=${MAKE_JOBS:-2}
STEP_WIDTH=9
LIB_NAME=${LIB_NAME:-$(basename "$0")}

die() {
    echo "$LIB_NAME: error: $*" >&2
    exit 2
}

need_resnetc() {
    [ -x "$RESNETC" ] || die "$RESNETC not found or not executable (build it first: make)"
}

need_python() {
    [ -x "$PYTHON" ] || die "$PYTHON not found (needs Debian's $*)"
}

need_ort() {
    command -v node >/dev/null || die "node not found (needs Node.js for onnxruntime-node)"
    local e2e=$ROOT/tests/e2e
    if [ ! -d "$e2e/node_modules/onnxruntime-node" ]; then
        echo "== installing onnxruntime-node into tests/e2e/node_modules (npm ci)"
        # The CPU provider is in the npm package; skip the CUDA download from NuGet.
        (cd "$e2e" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund) ||
            die "npm ci in tests/e2e failed"
    fi
}

log_tail() {
    tail -n 15 "$1" | sed 's/^/    | /'
}

# Seconds since the EPOCHREALTIME value $1, with $2 decimals.
seconds_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, b - a }'
}

step() {
    local name=$1 log=$2
    shift 2
    local t0=$EPOCHREALTIME status=0 secs
    "$@" >"$log" 2>&1 || status=$?
    secs=$(seconds_since "$t0")
    if [ "$status" -eq 0 ]; then
        printf '  %-*s %6ss\n' "$STEP_WIDTH" "$name" "$secs"
    else
        printf '  %-*s %6ss  FAILED (exit %d), last lines of %s:\n' "$STEP_WIDTH" "$name" "$secs" "$status" "$log"
        log_tail "$log"
    fi
    return "$status"
}

next_step() {
    [ "$ok" = 1 ] || return 0
    step "$@" || ok=0
}

shown_step() {
    [ "$ok" = 1 ] || return 0
    if step "$@"; then
        sed 's/^/  /' "$2"
    else
        ok=0
    fi
}

tmpname() {
    echo "${1%.*}.tmp.${1##*.}"
}

cached_export() {
    local log=$1 files=() f all=1
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        files+=("$1")
        shift
    done
    [ $# -gt 1 ] || die "cached_export: expected FILE... -- CMD..."
    shift
    for f in "${files[@]}"; do [ -f "$f" ] || all=0; done
    if [ $all = 1 ]; then
        printf '  %-*s cached (%s)\n' "$STEP_WIDTH" export "${files[0]#"$ROOT"/}"
        return 0
    fi
    step export "$log" "$@" || return 1
    for f in "${files[@]}"; do
        mv "$(tmpname "$f")" "$f" || return 1
    done
}

passed=0
failed=0
failed_names=()
t_all=$EPOCHREALTIME

case_done() {
    local ok=$1 name=$2 dir=${3:-}
    if [ "$ok" = 1 ]; then
        echo "  PASS $name"
        passed=$((passed + 1))
        if [ -n "$dir" ] && [ "${KEEP_PASSED:-0}" != 1 ]; then
            rm -rf "$dir"
        fi
    else
        echo "  FAIL $name${dir:+ (kept in ${dir#"$ROOT"/})}"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
}

finish() {
    echo "== total $(seconds_since "$t_all" 0)s"
    if [ "$failed" -gt 0 ]; then
        echo "failed: ${failed_names[*]}"
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
