#!/usr/bin/env bash
# Freestanding check: a model compiled with --target generic --threads 1 is
# C that needs nothing from libc but libm.
#
#   tests/cross/check_freestanding.sh [MODEL.onnx]     default: the demo model
#
# 1. headers   every system header the model code and runtime (all of
#              libNAME.a: NAME.c, NAME_w*.c, runtime/*/*.c minus the driver)
#              include directly is a C11 freestanding header or math.h;
# 2. symbols   `make libNAME.a CFLAGS="-O2 -ffreestanding -fno-builtin"`,
#              all of it linked into one relocatable object (ld -r): its
#              undefined symbols (nm -u) are libm functions only, and it
#              links with -nostdlib and -lm alone;
# 3. embed     examples/embed (its own main, model code built freestanding)
#              builds as its README says and classifies its image: exit
#              status 9, the first Fashion-MNIST test image's label.
#
# Environment: RESNETC (default build/resnetc), CC (default cc; a cross
# compiler such as aarch64-linux-gnu-gcc checks that target, its binutils
# found by the same prefix; then libgcc's helpers (__aeabi_ldivmod and
# such) are allowed, and so are memcpy, memmove, memset and memcmp, which
# GCC may emit for struct copies and zeroed arrays on some targets and
# which, by GCC's manual, every freestanding environment provides; the
# host check allows none of them), CROSS_DIR (default build/cross). Its
# work folder, CROSS_DIR/freestanding, is removed when every check passed
# (KEEP_PASSED=1 keeps it) and kept for inspection otherwise.
#
# Last line of output: "N passed, M failed". Exit status 1 if any failed.
set -euo pipefail

LIB_NAME=check_freestanding.sh
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CC=${CC:-cc}
WORK=${CROSS_DIR:-$ROOT/build/cross}/freestanding
MODEL=${1:-$ROOT/examples/demo/demo.onnx}
NAME=demo
[ $# -gt 0 ] && NAME=$(basename "${MODEL%.*}" | tr -c 'A-Za-z0-9_\n' _)
FREESTANDING_CFLAGS="-O2 -ffreestanding -fno-builtin"

need_resnetc
command -v "$CC" >/dev/null || die "$CC not found"

# binutils of the compiler's target: aarch64-linux-gnu-gcc -> aarch64-linux-gnu-nm
prefix=
case $(basename "$CC") in *-gcc) prefix=$(basename "$CC"); prefix=${prefix%gcc} ;; esac
NM=${prefix}nm
LD=${prefix}ld
command -v "$NM" >/dev/null || NM="nm"
command -v "$LD" >/dev/null || LD="ld"
cross=0
[ -n "$prefix" ] && cross=1

# C11 freestanding headers (C11 4p6), math.h (libm), and compilers' own
# intrinsics headers (no library behind them).
allowed_header='^(float|iso646|limits|stdalign|stdarg|stdbool|stddef|stdint|stdnoreturn|math|arm_neon|immintrin)\.h$'
# libm: <math.h>'s functions, float and long double variants included.
libm='^(a?(sin|cos|tan)h?|atan2|exp|exp2|expm1|log|log10|log1p|log2|logb|pow|sqrt|cbrt|hypot|fabs|floor|ceil|round|lround|llround|trunc|rint|lrint|llrint|nearbyint|fmod|remainder|remquo|copysign|nan|erfc?|lgamma|tgamma|fmax|fmin|fdim|fma|frexp|ldexp|modf|scalbl?n|ilogb|nextafter|nexttoward)[fl]?$'
# libgcc: arithmetic the target lacks in hardware (64-bit division on armv7).
# _GLOBAL_OFFSET_TABLE_ is defined by the linker (position-independent code).
linker='^_GLOBAL_OFFSET_TABLE_$'
# what GCC requires of a freestanding environment (cross checks only)
gcc_freestanding='^(memcpy|memmove|memset|memcmp)$'
libgcc='^__(aeabi_[a-z0-9]+|(u?(div|mod|divmod)|mul|ash[lr]|lshr|neg|pop|clz|ctz|ffs|parity|bswap|cmp|ucmp)[sdt]i[0-9]|(float|fix|fixuns|extend|trunc)[a-z0-9]+)$'

result() { # NAME STATUS; the work folder is removed at the end if all passed
    if [ "$2" -eq 0 ]; then case_done 1 "$1"; else case_done 0 "$1" "$WORK"; fi
}

rm -rf "$WORK"
mkdir -p "$WORK"
out=$WORK/$NAME
echo "== freestanding: $(basename "$MODEL") with CC=$CC"
"$RESNETC" compile "$MODEL" -o "$out" --name "$NAME" --target generic --threads 1 >"$WORK/compile.log" 2>&1 ||
    { tail -n 5 "$WORK/compile.log"; die "resnetc compile failed"; }

# The sources of libNAME.a, from the generated Makefile's object lists.
srcs=$(make -s -C "$out" --no-print-directory -f Makefile -f - print-objs <<'EOF'
print-objs:
	@echo $(MODEL_OBJS:.o=.c) $(RUNTIME_OBJS:.o=.c)
EOF
)
[ -n "$srcs" ] || die "no object list in $out/Makefile"

# 1. headers: walk `cc -H`'s include tree; a system header whose includer is
# one of the model's own files was included by the model code.
status=0
for src in $srcs; do
    # shellcheck disable=SC2086  # FREESTANDING_CFLAGS is a list of flags
    (cd "$out" && "$CC" -std=c11 $FREESTANDING_CFLAGS -I. -Iinclude -E -H "$src" -o /dev/null) 2>&1 |
        awk -v src="$src" '
            /^\.+ / {
                d = length($1); path = $2; stack[d] = path
                parent = d == 1 ? src : stack[d - 1]
                if (parent !~ /^\// && path ~ /^\//) { n = split(path, p, "/"); print src ": " p[n] }
            }' >>"$WORK/headers.txt" || status=1
done
bad=$(sort -u "$WORK/headers.txt" | awk -F': ' -v ok="$allowed_header" '$2 !~ ok')
echo "  system headers included: $(cut -d' ' -f2 "$WORK/headers.txt" | sort -u | tr '\n' ' ')"
if [ -n "$bad" ]; then
    echo "  not freestanding:"
    echo "$bad" | awk '{ print "    " $0 }'
    status=1
fi
result "headers (C11 freestanding headers and math.h only)" $status

# 2. symbols
status=0
if make -C "$out" "lib$NAME.a" CC="$CC" AR="${prefix}ar" CFLAGS="$FREESTANDING_CFLAGS" \
        >"$WORK/make.log" 2>&1 &&
    "$LD" -r -o "$WORK/$NAME-freestanding.o" --whole-archive "$out/lib$NAME.a" 2>"$WORK/ld.log"; then
    "$NM" -u "$WORK/$NAME-freestanding.o" | awk '{ print $NF }' | sort -u >"$WORK/undefined.txt"
    echo "  undefined symbols of lib$NAME.a linked into one object: $(tr '\n' ' ' <"$WORK/undefined.txt")"
    other=$(grep -Ev "$libm|$linker" "$WORK/undefined.txt" || true)
    if [ "$cross" = 1 ] && [ -n "$other" ]; then
        echo "  allowed for $CC: $(echo "$other" | grep -E "$libgcc|$gcc_freestanding" | tr '\n' ' ')"
        other=$(echo "$other" | grep -Ev "$libgcc|$gcc_freestanding" || true)
    fi
    if [ -n "$other" ]; then
        echo "  not libm: $(echo "$other" | tr '\n' ' ')"
        for sym in $other; do # which objects need it
            echo "    $sym: $(cd "$out" && "$NM" -Au -- *.o runtime/*/*.o 2>/dev/null |
                awk -v s="$sym" '$NF == s { sub(/:.*/, "", $1); print $1 }' | tr '\n' ' ')"
        done
        status=1
    fi
    # and it links into a program with nothing but libm (host only: a cross
    # link would need libgcc and the functions allowed above)
    if [ "$cross" = 0 ]; then
        if "$CC" -nostdlib -Wl,--entry="${NAME}_run" -o "$WORK/$NAME-linked" \
                "$WORK/$NAME-freestanding.o" -lm >"$WORK/link.log" 2>&1; then
            echo "  linked with -nostdlib -lm: $(readelf -d "$WORK/$NAME-linked" | grep NEEDED |
                sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')"
        else
            log_tail "$WORK/link.log"
            status=1
        fi
    fi
else
    tail -n 15 "$WORK/make.log" "$WORK/ld.log" | sed 's/^/    | /'
    status=1
fi
result "symbols (libm only)" $status

# 3. the embedding example, built as examples/embed/README.md says (with
# this script's CC; a cross-built one runs under qemu-user when there is one).
status=0
emb=$WORK/embed
mkdir -p "$emb"
if "$RESNETC" compile "$ROOT/examples/demo/demo.onnx" -o "$emb/demo" --name demo \
        --target generic --threads 1 >"$emb/build.log" 2>&1 &&
    make -C "$emb/demo" libdemo.a CC="$CC" AR="${prefix}ar" CFLAGS="-O2 -ffreestanding" >>"$emb/build.log" 2>&1 &&
    "$CC" -std=c11 -O2 -I "$emb/demo" "$ROOT/examples/embed/embed.c" "$emb/demo/libdemo.a" -lm \
        -o "$emb/embed" >>"$emb/build.log" 2>&1; then
    run=("$emb/embed")
    if [ "$cross" = 1 ]; then
        triple=${prefix%-}
        qemu=qemu-${triple%%-*}
        case $triple in arm-*) qemu="qemu-arm" ;; esac
        run=("$qemu" -L "/usr/$triple" "$emb/embed")
    fi
    code=0
    "${run[@]}" >"$emb/run.log" 2>&1 || code=$?
    echo "  embed: $(cat "$emb/run.log"), exit status $code, $(stat -c %s "$emb/embed") bytes"
    [ "$code" -eq 9 ] || status=1
else
    log_tail "$emb/build.log"
    status=1
fi
result "examples/embed builds freestanding and classifies its image (exit status 9)" $status

if [ "$failed" -eq 0 ] && [ "${KEEP_PASSED:-0}" != 1 ]; then
    rm -rf "$WORK"
fi
finish
