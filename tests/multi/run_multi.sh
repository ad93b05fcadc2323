#!/usr/bin/env bash
# Several compiled models in one program (multi.c says what is checked).
#
#   tests/multi/run_multi.sh
#
# Two programs, the first built under AddressSanitizer, the second under
# AddressSanitizer and under ThreadSanitizer:
#   two   a: native, --threads 4;  b: native, --threads 2
#         (two models whose thread counts differ once crashed: one process-
#         wide pool sized by the first caller, scratch sized for another)
#   three a: native, --threads 4;  b: x86-64 (AVX2), --threads 2;
#         c: generic C, --threads 1
# all compiled from the bundled demo model. The models' libraries go on the
# link line in every order (the linker must not pick one model's runtime
# for another): the first order's program runs every check of multi.c, each
# other order's runs each model alone and must give the same bytes. nm
# checks that libNAME.a defines only NAME_ symbols.
#
# Environment: RESNETC (default build/resnetc), MULTI_DIR (build/multi),
# CC (cc), KEEP_PASSED (tests/lib.sh). A passing program's folder is removed.
# Last line: "N passed, M failed"; exit status 1 if any failed.
set -euo pipefail

LIB_NAME=run_multi.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
DIR=${MULTI_DIR:-$ROOT/build/multi}
CC=${CC:-cc}
MODEL=$ROOT/examples/demo/demo.onnx
need_resnetc

# ko WHY: the program fails, its folder kept
ko() { echo "    $1"; case_done 0 "$label $san" "$work"; }

# x86-64 targets need an x86-64 machine; elsewhere the AVX2 model is native.
if [ "$(uname -m)" = x86_64 ]; then mid_target=x86-64; else mid_target=native; fi

# compile NAME TARGET THREADS SANITIZER: the model folder $work/NAME, built
# with the target's own flags plus the sanitizer's, at -O1 as the SANITIZE
# builds are (at -O2, UBSan makes the Winograd kernels alone take 15 s).
compile() {
    local name=$1 target=$2 threads=$3 san=$4 out=$work/$1
    "$RESNETC" compile "$MODEL" -o "$out" --name "$name" --target "$target" --threads "$threads" -q >"$work/$name.log" 2>&1 ||
        return 1
    local flags
    flags=$(sed -n 's/^CFLAGS ?= //p' "$out/Makefile")
    flags=${flags//-O2/-O1}
    make -C "$out" -j2 "lib$name.a" CFLAGS="$flags -g -fno-omit-frame-pointer -fsanitize=$san" >>"$work/$name.log" 2>&1
}

# nm_check NAME: every symbol libNAME.a defines begins with NAME_
# (AddressSanitizer's own per-global markers, __odr_asan.NAME_..., aside).
nm_check() {
    local name=$1 bad
    bad=$(nm -g --defined-only "$work/$name/lib$name.a" | awk 'NF == 3 { print $3 }' |
        grep -v -e "^${name}_" -e "^__odr_asan\.${name}_" | sort -u || true)
    if [ -n "$bad" ]; then
        echo "lib$name.a defines symbols outside ${name}_: $(echo "$bad" | head -5 | tr '\n' ' ')" >&2
        return 1
    fi
}

# program LABEL SANITIZER SPEC...: SPEC is NAME:TARGET:THREADS.
program() {
    local label=$1 san=$2
    shift 2
    work=$DIR/$label-$san
    rm -rf "$work"
    mkdir -p "$work"
    local names=() libs=() models="" includes=""
    for spec in "$@"; do
        IFS=: read -r name target threads <<<"$spec"
        [ "$target" = x86-64 ] && target=$mid_target
        if ! compile "$name" "$target" "$threads" "$san"; then
            ko "$name ($target, $threads threads) did not compile or build; see $name.log"
            return
        fi
        if ! nm_check "$name" 2>>"$work/nm.log"; then
            ko "$(cat "$work/nm.log")"
            return
        fi
        names+=("$name")
        libs+=("$work/$name/lib$name.a")
        includes+="#include \"$name.h\""$'\n'
        models+="X($name, ${name^^}, $threads) "
    done
    printf '%s#define MODELS %s\n' "$includes" "$models" >"$work/models.h"
    local inc=(-I"$work" -I"$work/${names[0]}/include")
    for n in "${names[@]}"; do inc+=(-I"$work/$n"); done
    local flags=(-std=c11 -O1 -g -fno-omit-frame-pointer "-fsanitize=$san")
    # every model first once, then every model last once: the link order
    # must not matter
    local n=${#libs[@]} order
    for ((r = 0; r < n; r++)); do
        order=("${libs[@]:r}" "${libs[@]:0:r}")
        if ! $CC "${flags[@]}" "${inc[@]}" "$ROOT/tests/multi/multi.c" "${order[@]}" -lm -lpthread \
            -o "$work/multi$r" >>"$work/link.log" 2>&1; then
            ko "link (order $r) failed; see link.log"
            return
        fi
    done
    for name in "${names[@]}"; do
        if ! "$work/multi0" alone "$name" "$work/$name.bin" >>"$work/run.log" 2>&1; then
            ko "$name alone failed; see run.log"
            return
        fi
    done
    # every call pattern, threads at once, in the first link order; in the
    # others, each model alone must give the first order's bytes
    if ! TSAN_OPTIONS=halt_on_error=1 "$work/multi0" all "$work" >>"$work/run.log" 2>&1; then
        log_tail "$work/run.log"
        ko "link order 0: a run differs or failed; see run.log"
        return
    fi
    for ((r = 1; r < n; r++)); do
        for name in "${names[@]}"; do
            if ! "$work/multi$r" alone "$name" "$work/$name.order$r.bin" >>"$work/run.log" 2>&1 ||
                ! cmp "$work/$name.bin" "$work/$name.order$r.bin" >>"$work/run.log" 2>&1; then
                log_tail "$work/run.log"
                ko "link order $r: $name alone failed or differs from link order 0; see run.log"
                return
            fi
        done
    done
    case_done 1 "$label $san: ${#names[@]} models, each link order" "$work"
}

program two address,undefined a:native:4 b:native:2
for san in address,undefined thread; do
    program three "$san" a:native:4 b:x86-64:2 c:generic:1
done
rmdir "$DIR" 2>/dev/null || true
finish
