#!/usr/bin/env bash
# resnetc as a new user meets it.
#
#   tests/cli/run_cli_tests.sh [RESNETC]        (default: build/resnetc)
#
# 1. Runs every command of README.md's ```sh blocks from "## Install" up to
#    "## Describing a ResNet in YAML", as written and in order, in one shell
#    whose folder is a scratch copy of the repository's root (its entries
#    linked, out/ its own) and whose HOME is a scratch folder: the install
#    lands there. `sudo` lines are skipped (the same install is tested into
#    a temporary PREFIX and DESTDIR below), and so are Graphviz and man
#    commands when those programs are missing, each with the reason.
# 2. Checks what they made and what README shows: the info table, the
#    classify and --top examples, the --json fields, the DOT graph and the
#    committed SVG, the options of --help in README and the man page.
# 3. Checks the contracts around them: exit statuses and one-line errors,
#    `resnetc quantize` (the int8 ONNX it writes: onnx.checker, resnetc
#    compile and onnxruntime on it; its errors), progress on a terminal
#    only (-q, -v), install/uninstall with PREFIX and DESTDIR and a
#    relocated installation, the driver's --top/--labels, and classify's
#    preprocessing against torchvision's (bit-identical).
#
# Prints PASS/FAIL/SKIP lines; the last line is "N passed, M failed".
# Exit status 0 when nothing failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RESNETC=$(realpath "${1:-$ROOT/build/resnetc}")
HERE="$ROOT/tests/cli"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
T=$(mktemp -d "${TMPDIR:-/tmp}/resnetc-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
passed=0 failed=0 skipped=0

pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
skip() { echo "SKIP $*"; skipped=$((skipped + 1)); }
# check NAME COMMAND...: passes when COMMAND succeeds; shows its output if not
check() {
    local name=$1
    shift
    local log="$T/check.log"
    if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name: $(tail -3 "$log" | tr '\n' ' ')"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -x "$RESNETC" ]; then
    echo "run_cli_tests.sh: error: $RESNETC: not built (make)" >&2
    exit 2
fi

# ---- 1. README's commands, as written ----
S="$T/repo"
mkdir -p "$S" "$T/home"
for e in "$ROOT"/* "$ROOT"/.ci; do
    case $(basename "$e") in out) continue ;; esac
    ln -s "$e" "$S/"
done
export HOME="$T/home"
cd "$S" || exit 2
"$PY" "$HERE/cli_checks.py" commands "$ROOT/README.md" >"$T/commands" ||
    { fail "README.md: $(cat "$T/commands")"; echo "$passed passed, $failed failed"; exit 1; }
echo "== $(wc -l <"$T/commands") commands from README.md"
while IFS= read -r -u 3 cmd; do
    if [[ $cmd == sudo\ * ]]; then
        skip "readme: $cmd (needs root; make install is tested into a temporary PREFIX and DESTDIR)"
        continue
    fi
    if [[ $cmd == *--svg* || $cmd == *.svg* || $cmd == dot\ * || $cmd == xdot\ * ]] && ! have dot; then
        skip "readme: $cmd (Graphviz's dot is not installed)"
        continue
    fi
    if [[ $cmd == man\ * ]] && ! have man; then
        skip "readme: $cmd (man is not installed)"
        continue
    fi
    log="$T/readme.log"
    start=$SECONDS
    if eval "$cmd" </dev/null >"$log" 2>&1; then
        pass "readme: $cmd ($((SECONDS - start)) s)"
    else
        fail "readme: $cmd (exit $?): $(tail -3 "$log" | tr '\n' ' ')"
    fi
    # what the README shows next to some commands
    if [[ $cmd =~ ^build/resnetc\ info\ examples/demo/demo\.yaml(\ +#.*)?$ ]]; then
        cp "$log" "$T/info.txt"
    elif [[ $cmd == "out/demo/classify "*"--top 1 "* ]]; then
        cp "$log" "$T/classify.txt"
    elif [[ $cmd == "out/demo/demo --top 3 "* ]]; then
        cp "$log" "$T/top.txt"
    fi
done 3<"$T/commands"

# ---- 2. what README shows ----
echo "== README's examples and files"
if [ -f "$T/info.txt" ]; then
    check "README's info table is what resnetc info prints" "$PY" "$HERE/cli_checks.py" info-table "$ROOT/README.md" "$T/info.txt"
else
    fail "README runs no 'build/resnetc info examples/demo/demo.yaml'"
fi
if [ -f "$T/classify.txt" ]; then
    check "README's classify example is what classify prints" "$PY" "$HERE/cli_checks.py" classify-table "$ROOT/README.md" "$T/classify.txt"
    check "classify: each of the ten images gets its own class" \
        awk 'NR > 1 { split($1, p, "/"); sub(/-[0-9]+\.pgm$/, "", p[4]); n[p[4]] = $3 } END { for (k in n) c++; exit c != 10 }' "$T/classify.txt"
else
    fail "README runs no 'out/demo/classify ... --top 1 ...'"
fi
if [ -f "$T/top.txt" ]; then
    check "README's driver --top example is what the driver prints" "$PY" "$HERE/cli_checks.py" top-table "$ROOT/README.md" "$T/top.txt"
else
    fail "README runs no 'out/demo/demo --top 3 ...'"
fi
check "info --json has the documented fields and its totals add up (resnet50)" "$PY" "$HERE/cli_checks.py" json out/resnet50.json
"$RESNETC" info examples/demo/demo.yaml --json >"$T/demo.json" 2>"$T/err"
check "info --json of the demo" "$PY" "$HERE/cli_checks.py" json "$T/demo.json"
check "graph -o out/demo.dot: a box per node of info, with edges" "$PY" "$HERE/cli_checks.py" dot out/demo.dot "$T/demo.json"
if have dot; then
    check "graph DOT is valid Graphviz input" dot -Tsvg out/demo.dot -o "$T/fromdot.svg"
    "$RESNETC" graph examples/demo/demo.yaml --svg >"$T/fresh.svg" 2>"$T/err"
    check "examples/demo/graph.svg is the demo's current graph" "$PY" "$HERE/cli_checks.py" svg "$ROOT/examples/demo/graph.svg" "$T/fresh.svg"
    check "graph -o FILE.svg writes SVG" grep -q '<svg' out/demo.svg
else
    skip "rendering DOT to SVG (Graphviz's dot is not installed; Debian: apt-get install graphviz)"
    check "examples/demo/graph.svg names the demo's nodes" "$PY" "$HERE/cli_checks.py" svg "$ROOT/examples/demo/graph.svg" -
fi
"$RESNETC" --help >"$T/help.txt"
if have man; then
    MANWIDTH=200 man -l "$ROOT/compiler/cli/resnetc.1" >"$T/man.txt" 2>"$T/man.err"
    check "man page renders without warnings" test ! -s "$T/man.err"
else
    sed 's/\\-/-/g' "$ROOT/compiler/cli/resnetc.1" >"$T/man.txt"
fi
check "every option of --help is in README's table and the man page, and back" "$PY" "$HERE/cli_checks.py" options "$T/help.txt" "$ROOT/README.md" "$T/man.txt"
if have groff; then
    check "man page: groff -man -ww finds nothing to warn about" bash -c "groff -man -Tutf8 -ww -z '$ROOT/compiler/cli/resnetc.1' 2>&1 | (! grep .)"
fi

# ---- 3. contracts ----
echo "== exit statuses and errors"
expect() { # expect STATUS NAME COMMAND...: exit status, and at most one stderr line
    local want=$1 name=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$name: exit $got, expected $want: $(head -2 "$T/err" | tr '\n' ' ')"
    elif [ "$want" -eq 1 ] && [ "$(wc -l <"$T/err")" -ne 1 ]; then
        fail "$name: $(wc -l <"$T/err") stderr lines, expected one"
    elif [ "$want" -ne 0 ] && ! grep -q '^resnetc: error: ' "$T/err"; then
        fail "$name: stderr does not start with 'resnetc: error: '"
    else
        pass "$name"
    fi
}
expect 0 "--help exits 0" "$RESNETC" --help
expect 0 "help exits 0" "$RESNETC" help
check "--version prints 'resnetc X.Y.Z'" bash -c "'$RESNETC' --version | grep -Eq '^resnetc [0-9]+\.[0-9]+\.[0-9]+$'"
expect 2 "no command: exit 2" "$RESNETC"
expect 2 "unknown command: exit 2" "$RESNETC" frobnicate examples/demo/demo.yaml
expect 2 "compile without -o: exit 2" "$RESNETC" compile examples/demo/demo.yaml
expect 2 "an option of another command: exit 2" "$RESNETC" info examples/demo/demo.yaml --force
check "... and it says whose option it is" grep -q -- "--force is an option of compile, not of info" "$T/err"
expect 2 "--json with --passes: exit 2" "$RESNETC" info examples/demo/demo.yaml --json --passes
expect 1 "a missing model: exit 1, one line" "$RESNETC" info no/such/model.onnx
printf 'resnetc: 1\nstages: [2, 2\n' >"$T/bad.yaml"
expect 1 "a YAML syntax error: exit 1, one line" "$RESNETC" info "$T/bad.yaml"
check "... as FILE:LINE:COL" grep -Eq "^resnetc: error: $T/bad.yaml:[0-9]+:[0-9]+: " "$T/err"
expect 1 "graph --svg without dot in PATH: exit 1, one line" env PATH=/nonexistent "$RESNETC" graph examples/demo/demo.yaml --svg -o "$T/x.svg"
check "... naming Graphviz" grep -q "Graphviz" "$T/err"
check "... and leaving no file" test ! -e "$T/x.svg" -a -z "$(ls "$T" | grep 'x.svg.tmp')"
env PATH=/nonexistent "$RESNETC" graph examples/demo/demo.yaml --svg -o "$T/made/here/x.svg" >/dev/null 2>&1
check "... nor the folders it made for -o" test ! -e "$T/made"
check "info --passes prints a histogram per pass" bash -c "'$RESNETC' info examples/demo/demo.yaml --passes | grep -q '^fold-bn .*nodes:'"

echo "== quantize"
Q="$T/quantize"
mkdir -p "$Q"
check "calibration samples: the ten test images" "$PY" "$HERE/cli_checks.py" images-npy examples/classify/images "$Q/cal.npy" "$Q/in.npy"
check "quantize writes an int8 ONNX model" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/cal.npy" -o "$Q/m/demo_int8.onnx"
check "... in a folder it made, with no temporary file left" test "$(ls -A "$Q/m")" = demo_int8.onnx
check "... that onnx.checker accepts: QDQ pairs, int8 weights, int32 biases, the float model's inputs and outputs" \
    "$PY" "$HERE/cli_checks.py" qdq "$Q/m/demo_int8.onnx" examples/demo/demo.onnx
check "resnetc compiles the int8 model" "$RESNETC" compile -q "$Q/m/demo_int8.onnx" -o "$Q/c"
check "... which builds" make -s -C "$Q/c"
check "... and runs" "$Q/c/demo_int8" "$Q/in.npy" "$Q/ours.npy"
"$RESNETC" compile -q examples/demo/demo.onnx --quantize int8 --calibrate "$Q/cal.npy" -o "$Q/d" >/dev/null 2>&1 &&
    make -s -C "$Q/d" >/dev/null 2>&1 && "$Q/d/demo" "$Q/in.npy" "$Q/direct.npy" >/dev/null 2>&1
check "... giving the bytes compile --quantize int8 gives" cmp "$Q/ours.npy" "$Q/direct.npy"
# every ISA's int8 kernels give the same bytes: the x86 targets this machine runs
for tg in x86-64:avx2 x86-64-vnni:avx512_vnni; do
    t=${tg%%:*} flag=${tg#*:}
    if [ "$(uname -m)" = x86_64 ] && grep -qw "$flag" /proc/cpuinfo && { [ "$t" != x86-64-vnni ] || { grep -qw avx512vbmi /proc/cpuinfo && grep -qw avx512_vbmi2 /proc/cpuinfo; }; }; then
        check "--target $t: the int8 model gives the same bytes" \
            bash -c "'$RESNETC' compile -q '$Q/m/demo_int8.onnx' --target $t -o '$Q/t-$t' && make -s -C '$Q/t-$t' >/dev/null &&
                '$Q/t-$t/demo_int8' '$Q/in.npy' '$Q/t-$t.npy' >/dev/null && cmp '$Q/ours.npy' '$Q/t-$t.npy'"
    else
        skip "--target $t: this machine does not run its code"
    fi
done
check "--io int8: the run takes the quantized input, its scale and zero point in NAME.h" \
    bash -c "'$RESNETC' compile -q examples/demo/demo.onnx --quantize int8 --calibrate '$Q/cal.npy' --io int8 -o '$Q/io' &&
        grep -q '^int demo_run(const uint8_t \*input, float \*output);' '$Q/io/demo.h' &&
        grep -q '^#define DEMO_INPUT_ZERO_POINT [0-9]' '$Q/io/demo.h' && make -s -C '$Q/io'"
check "... and gives the float API's bytes on the input quantized as NAME.h says" \
    bash -c "'$PY' -c \"
import re, sys, numpy as np
h = open('$Q/io/demo.h').read()
s = np.float32(re.search(r'DEMO_INPUT_SCALE ([0-9.e+-]+)f', h).group(1))
z = int(re.search(r'DEMO_INPUT_ZERO_POINT (-?[0-9]+)', h).group(1))
x = np.load('$Q/in.npy')
np.save('$Q/in-q.npy', np.clip(np.rint(x / s) + z, 0, 255).astype(np.uint8))
\" && '$Q/io/demo' '$Q/in-q.npy' '$Q/io.npy' && cmp '$Q/io.npy' '$Q/direct.npy'"
"$RESNETC" info examples/demo/demo.onnx --quantize int8 --calibrate "$Q/cal.npy" --json >"$Q/sqnr.json" 2>"$T/err"
"$RESNETC" info examples/demo/demo.onnx --quantize int8 --calibrate "$Q/cal.npy" >"$Q/sqnr.txt" 2>"$T/err"
check "info --quantize: each int8 layer's scale, zero point and SQNR, and the lowest" \
    bash -c "grep -q ' out scale    zp  SQNR dB  kernel\$' '$Q/sqnr.txt' && grep -Eq '^SQNR  +each int8 layer.s output against the float model.s, on up to 8 calibration samples; lowest [0-9.]+ dB \(/' '$Q/sqnr.txt'"
check "... the logits' SQNR is what the float and int8 builds give on the first 8 samples (within 0.05 dB)" \
    bash -c "'$RESNETC' compile -q examples/demo/demo.onnx -o '$Q/f' && make -s -C '$Q/f' && '$PY' -c \"
import numpy as np
c = np.load('$Q/cal.npy')
for i in range(8): np.save('$Q/cal8-%d.npy' % i, c[i:i + 1])
\" && for i in 0 1 2 3 4 5 6 7; do '$Q/f/demo' '$Q/cal8-'\$i.npy '$Q/f8-'\$i.npy && '$Q/d/demo' '$Q/cal8-'\$i.npy '$Q/q8-'\$i.npy || exit 1; done && '$PY' -c \"
import json, sys, numpy as np
f = np.concatenate([np.load('$Q/f8-%d.npy' % i) for i in range(8)]).astype(np.float64)
q = np.concatenate([np.load('$Q/q8-%d.npy' % i) for i in range(8)]).astype(np.float64)
ours = 10 * np.log10((f * f).sum() / ((f - q) ** 2).sum())
nodes = [n for n in json.load(open('$Q/sqnr.json'))['nodes'] if n['name'] == '/fc/Gemm']
told = nodes[0]['sqnr_db']
int8 = [n['sqnr_db'] for n in json.load(open('$Q/sqnr.json'))['nodes'] if n['kernel'] == 'int8 gemm']
print('logits SQNR: info', told, 'builds', ours, 'int8 layers', min(int8), max(int8))
sys.exit(bool(abs(told - ours) > 0.05 or len(int8) != 15 or min(int8) < 20))
\""
"$RESNETC" compile -q examples/demo/demo.onnx --io int8 -o "$Q/iof" 2>"$T/err"
check "--io int8 on a float model: exit 1, one line that says why, nothing written" \
    bash -c "[ $? = 1 ] && [ \$(wc -l <'$T/err') = 1 ] && grep -q \"input 'input' cannot be passed quantized: a node other than QuantizeLinear reads it\" '$T/err' && [ ! -e '$Q/iof' ]"
if have node && [ -d "$ROOT/tests/e2e/node_modules/onnxruntime-node" ]; then
    # onnxruntime's int8 kernels, then (--no-optimize) the model's own
    # arithmetic, each QDQ pair a float round trip
    node "$ROOT/tests/e2e/ort_run.js" "$Q/m/demo_int8.onnx" "$Q/in.npy" "$Q/ref.npy" >"$T/out" 2>&1
    check "onnxruntime runs it: resnetc's output within 3% of max|ref| of onnxruntime's, same top-1" \
        "$PY" "$ROOT/tests/e2e/compare.py" "$Q/ours.npy" "$Q/ref.npy" --rtol-of-max 0.03
    node "$ROOT/tests/e2e/ort_run.js" --no-optimize "$Q/m/demo_int8.onnx" "$Q/in.npy" "$Q/ref-noopt.npy" >"$T/out" 2>&1
    check "... and within 3% of onnxruntime's without graph optimizations" \
        "$PY" "$ROOT/tests/e2e/compare.py" "$Q/ours.npy" "$Q/ref-noopt.npy" --rtol-of-max 0.03
    # com.microsoft QLinearAveragePool: one step (0.013) of onnxruntime's
    "$PY" "$HERE/cli_checks.py" qavgpool-model "$Q/qap.onnx" "$Q/qap-in.npy"
    node "$ROOT/tests/e2e/ort_run.js" "$Q/qap.onnx" "$Q/qap-in.npy" "$Q/qap-ref.npy" >"$T/out" 2>&1
    check "QLinearAveragePool (com.microsoft) compiles, runs, and is within one step of onnxruntime's" \
        bash -c "'$RESNETC' compile -q '$Q/qap.onnx' -o '$Q/qap' && make -s -C '$Q/qap' && '$Q/qap/qap' '$Q/qap-in.npy' '$Q/qap-ours.npy' &&
            '$PY' -c \"
import sys, numpy as np
a, b = np.load('$Q/qap-ours.npy'), np.load('$Q/qap-ref.npy')
d = np.abs(a - b).max()
print('max diff', d, 'of', np.abs(b).max())
sys.exit(bool(a.shape != b.shape or d > 0.0131 or np.abs(b).max() < 0.5))
\""
else
    skip "quantize: onnxruntime's result (needs node and onnxruntime-node in tests/e2e: npm ci there)"
fi
mkdir -p "$Q/e"
expect 2 "quantize without --calibrate: exit 2" "$RESNETC" quantize examples/demo/demo.onnx -o "$Q/e/a.onnx"
check "... saying what it needs" grep -q "quantize needs samples to calibrate on: --calibrate CAL.npy" "$T/err"
expect 2 "quantize without -o: exit 2" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/cal.npy"
expect 2 "quantize with an option of compile: exit 2" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/cal.npy" -o "$Q/e/a.onnx" --name x
expect 1 "quantize -o under a file: exit 1, one line" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/cal.npy" -o "$Q/cal.npy/a.onnx"
check "... naming it" grep -q "cal.npy/a.onnx: cannot be created: .*cal.npy is not a folder" "$T/err"
expect 1 "quantize -o a folder: exit 1, one line" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/cal.npy" -o "$Q/e"
"$PY" -c 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((4, 3, 28, 28), np.float32))' "$Q/rgb.npy"
expect 1 "quantize with samples of the wrong shape: exit 1, one line" "$RESNETC" quantize examples/demo/demo.onnx --calibrate "$Q/rgb.npy" -o "$Q/e/new/a.onnx"
check "... that says which" grep -q "samples of shape 4x3x28x28 do not fit input 'input' of shape 1x1x28x28" "$T/err"
check "... and failed quantizations wrote nothing, not even a folder" test -z "$(ls -A "$Q/e")"

echo "== weights"
W="$T/weights"
mkdir -p "$W"
"$RESNETC" info examples/demo/demo.onnx --json >"$W/info.json"
"$RESNETC" compile -q examples/demo/demo.onnx -o "$W/bin" 2>"$T/err"
check "compile writes the weights as .bin files, as many bytes as info's weight_bytes (plus alignment)" \
    "$PY" -c "import json, glob, os, sys
w = json.load(open('$W/info.json'))['totals']['weight_bytes']
b = sum(os.path.getsize(f) for f in glob.glob('$W/bin/demo_w*.bin'))
sys.exit(not (w <= b <= w + 64 * 64) and 'bin %d bytes, weight_bytes %d' % (b, w))"
check "... each beside a few lines of C that include it" bash -c "for f in '$W'/bin/demo_w*.c; do [ \$(stat -c %s \$f) -lt 4096 ] && grep -q incbin \$f || exit 1; done"
check "... and the folder is at most 1.1x the weights plus 300 KB of sources" \
    "$PY" -c "import json, os, sys
w = json.load(open('$W/info.json'))['totals']['weight_bytes']
d = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk('$W/bin') for f in fs)
sys.exit(d > 1.1 * w + 300000 and 'folder %d bytes for %d of weights' % (d, w))"
check "--weights c: string literals instead, no .bin file" bash -c "'$RESNETC' compile -q examples/demo/demo.onnx -o '$W/c' --weights c && ! ls '$W'/c/*.bin 2>/dev/null && grep -q '^_Alignas' '$W/c/demo_w0.c'"
"$PY" "$HERE/cli_checks.py" images-npy examples/classify/images "$W/cal.npy" "$W/in.npy" >/dev/null 2>&1 || true
check "... both build and give the same bytes" bash -c "make -s -C '$W/bin' -j2 && make -s -C '$W/c' -j2 && '$W/bin/demo' '$W/in.npy' '$W/a.npy' && '$W/c/demo' '$W/in.npy' '$W/b.npy' && cmp '$W/a.npy' '$W/b.npy'"
check "... after make the weights are in NAME_w*.bin and the driver only: no other file holds half of them, the folder at most 2x them plus 1.5 MB" \
    "$PY" -c "import json, os, sys
w = json.load(open('$W/info.json'))['totals']['weight_bytes']
fs = [os.path.join(r, f) for r, _, names in os.walk('$W/bin') for f in names]
big = [f for f in fs if os.path.getsize(f) > w / 2 and not f.endswith('.bin') and f != '$W/bin/demo']
d = sum(os.path.getsize(f) for f in fs)
sys.exit((big or d > 2 * w + 1500000) and 'folder %d bytes for %d of weights; large: %s' % (d, w, big))"
check "info's binary_bytes predicts the driver's size within 10%" \
    "$PY" -c "import json, os, sys
p = json.load(open('$W/info.json'))['totals']['binary_bytes']
a = os.path.getsize('$W/bin/demo')
sys.exit(abs(p - a) > 0.1 * a and 'predicted %d bytes, the driver has %d' % (p, a))"
check "make lib: libNAME.a, for a program of the user's" bash -c "make -s -C '$W/bin' lib && test -f '$W/bin/libdemo.a'"
"$RESNETC" compile -q examples/demo/demo.onnx -o "$W/x" --weights asm 2>"$T/err"
check "--weights asm: usage error, exit 2, naming the choices" bash -c "[ $? = 2 ] && grep -q \"\--weights 'asm': bin or c\" '$T/err'"

echo "== cmake"
if have cmake; then
    C="$T/cmake"
    mkdir -p "$C/app"
    "$RESNETC" compile -q examples/demo/demo.onnx -o "$C/demo" --name demo --threads 2
    check "compile writes a CMakeLists.txt; cmake -S DIR -B B && cmake --build B builds the driver" \
        bash -c "cmake -S '$C/demo' -B '$C/b' >'$C/cmake.log' 2>&1 && cmake --build '$C/b' -j2 >>'$C/cmake.log' 2>&1 && test -x '$C/b/demo'"
    "$PY" -c "import numpy as np; np.save('$C/in.npy', (np.arange(784) % 17 / np.float32(17)).astype(np.float32).reshape(1, 1, 28, 28))"
    check "... which gives make's bytes" bash -c "'$C/b/demo' '$C/in.npy' '$C/cm.npy' && make -s -C '$C/demo' -j2 && '$C/demo/demo' '$C/in.npy' '$C/mk.npy' && cmp '$C/cm.npy' '$C/mk.npy'"
    cat >"$C/app/CMakeLists.txt" <<'EOF2'
cmake_minimum_required(VERSION 3.13)
project(app C)
add_subdirectory(../demo demo)
add_executable(app app.c)
target_link_libraries(app PRIVATE demo)
EOF2
    cat >"$C/app/app.c" <<'EOF2'
#include <stdio.h>
#include "demo.h"
int main(void)
{
	static float in[DEMO_INPUT_SIZE], out[DEMO_OUTPUT_SIZE];
	for (int i = 0; i < DEMO_INPUT_SIZE; i++)
		in[i] = (float)(i % 17) / 17.0f;
	if (demo_run(in, out))
		return 1;
	for (int i = 0; i < DEMO_OUTPUT_SIZE; i++)
		printf("%.9g\n", out[i]);
	return 0;
}
EOF2
    check "add_subdirectory(DIR) in a user's project: target demo, its header, linked into the user's program" \
        bash -c "cmake -S '$C/app' -B '$C/appb' >>'$C/cmake.log' 2>&1 && cmake --build '$C/appb' -j2 >>'$C/cmake.log' 2>&1 && '$C/appb/app' >'$C/app.txt'"
    check "... whose outputs are the driver's" "$PY" -c "
import sys, numpy as np
a = np.loadtxt('$C/app.txt', dtype=np.float32)
b = np.load('$C/mk.npy').reshape(-1)
sys.exit(not np.array_equal(a, b) and 'app %s, driver %s' % (a, b))"
else
    skip "cmake: not installed"
fi

echo "== progress"
if have script; then
    script -qec "'$RESNETC' compile examples/demo/demo.yaml -o out/tty" /dev/null >"$T/tty.txt" 2>&1
    check "compile on a terminal: phases with times" grep -Eq 'resnetc: emit +[0-9.]+ s' "$T/tty.txt"
    check "... load, lower, passes, kernels, plan, emit, done" bash -c "for p in load lower passes kernels plan emit done; do grep -Eq \"resnetc: \$p +[0-9.]+ s\" '$T/tty.txt' || exit 1; done"
    script -qec "'$RESNETC' compile -q examples/demo/demo.yaml -o out/tty-q" /dev/null >"$T/tty-q.txt" 2>&1
    check "compile -q on a terminal: silent" test ! -s "$T/tty-q.txt"
    script -qec "'$RESNETC' info examples/demo/demo.yaml" /dev/null >"$T/tty-info.txt" 2>&1
    check "info on a terminal: the table, no phases" bash -c "! grep -q 'resnetc: load' '$T/tty-info.txt' && grep -q '^model ' '$T/tty-info.txt'"
else
    skip "progress on a terminal (the script program, from util-linux, is not installed)"
fi
"$RESNETC" compile examples/demo/demo.yaml -o out/quiet >"$T/out" 2>"$T/err"
check "compile, stderr not a terminal: silent" test ! -s "$T/err" -a ! -s "$T/out"
"$RESNETC" compile -v examples/demo/demo.yaml -o out/verbose >"$T/out" 2>"$T/err"
check "compile -v: phases even when redirected" grep -Eq 'resnetc: plan +[0-9.]+ s' "$T/err"
check "compile -v: what each pass did" grep -Eq 'resnetc: +fold-bn +[0-9]+ -> +[0-9]+ nodes' "$T/err"
check "compile -v: the kernel of each convolution" grep -Eq 'resnetc: +layer1\.0\.conv1 +3x3/1 16->16.* (winograd|gemm|direct)' "$T/err"
check "compile -v: nothing on stdout" test ! -s "$T/out"
check "compile creates missing parent folders" "$RESNETC" compile -q examples/demo/demo.yaml -o out/a/b/c/demo

echo "== install"
I="$HOME/.local"
check "make install PREFIX=\$HOME/.local: the program, runtime, headers, man page" \
    test -x "$I/bin/resnetc" -a -f "$I/share/resnetc/runtime/driver/driver.c" -a -f "$I/share/resnetc/include/resnetc/runtime.h" -a -f "$I/share/man/man1/resnetc.1"
check "resnetc on PATH is the installed one" test "$(command -v resnetc)" = "$I/bin/resnetc"
if have man; then
    check "man resnetc finds the installed page" test "$(MANPATH= man -w resnetc 2>/dev/null)" = "$I/share/man/man1/resnetc.1"
fi
mkdir -p "$T/elsewhere"
(cd "$T/elsewhere" && env -u RESNETC_HOME resnetc compile -q "$ROOT/examples/demo/demo.yaml" -o inst >/dev/null 2>"$T/err")
check "the installed resnetc compiles from any folder" test -f "$T/elsewhere/inst/demo.c"
# (a model's folder has the part of it the model calls: runtime_files.c)
check "... with the installed runtime's files" bash -c "cd '$T/elsewhere/inst/runtime' && find . -type f | grep -q . && for f in \$(find . -type f); do cmp \$f '$I/share/resnetc/runtime/'\$f || exit 1; done"
check "... only those the demo calls: no int8, depthwise, direct-convolution or thread-pool code" \
    bash -c "cd '$T/elsewhere/inst/runtime' && test ! -e quant -a ! -e conv/conv_depthwise.c -a ! -e conv/conv.c -a ! -e threads/threadpool.c -a -f conv/conv_pack.c -a -f '$I/share/resnetc/runtime/quant/quant.c'"
check "... which builds" make -s -C "$T/elsewhere/inst"
check "... and builds at -O0 too (no call left to the optimizer to remove)" make -s -C "$T/elsewhere/inst" clean all CFLAGS=-O0
check "... and at --threads 2 with the thread pool" bash -c "cd '$T/elsewhere' && env -u RESNETC_HOME resnetc compile -q '$ROOT/examples/demo/demo.yaml' -o inst2 --threads 2 && test -f inst2/runtime/threads/threadpool.c && make -s -C inst2 -j2 && ./inst2/demo --help >/dev/null"
check "runtime_files.c lists every call between runtime files (nm of each object, -O0)" "$PY" "$HERE/check_runtime_deps.py"
cp -a "$I" "$T/moved"
(cd "$T/elsewhere" && env -u RESNETC_HOME "$T/moved/bin/resnetc" compile -q "$ROOT/examples/demo/demo.yaml" -o moved >/dev/null 2>&1)
check "a moved installation still finds its runtime" test -f "$T/elsewhere/moved/runtime/driver/driver.c"
check "make install DESTDIR=... PREFIX=/usr" make -s -C "$ROOT" install DESTDIR="$T/stage" PREFIX=/usr
check "... puts everything under DESTDIR/usr" test -x "$T/stage/usr/bin/resnetc" -a -f "$T/stage/usr/share/man/man1/resnetc.1" -a -d "$T/stage/usr/share/resnetc/runtime"
(cd "$T/elsewhere" && env -u RESNETC_HOME "$T/stage/usr/bin/resnetc" compile -q "$ROOT/examples/demo/demo.yaml" -o staged >/dev/null 2>&1)
check "... and that resnetc works from there" test -f "$T/elsewhere/staged/runtime/driver/driver.c"
check "make uninstall DESTDIR=... PREFIX=/usr" make -s -C "$ROOT" uninstall DESTDIR="$T/stage" PREFIX=/usr
check "... leaves no file behind" test -z "$(find "$T/stage" -type f)"
check "make uninstall PREFIX=\$HOME/.local" make -s -C "$ROOT" uninstall PREFIX="$I"
check "... leaves no file behind" test -z "$(find "$I" -type f)"

echo "== driver"
D=out/demo/demo
check "--help exits 0 and shows the input's shape" bash -c "'$D' --help | grep -q 'input  input: float32 (1, 1, 28, 28)'"
"$D" --top 10 out/boot.npy >"$T/top10.txt" 2>"$T/err"
check "--top 10: every class, sorted softmax scores of the logits" "$PY" "$HERE/cli_checks.py" top "$T/top10.txt" out/logits.npy 10
"$D" --top 2 out/boot.npy "$T/l2.npy" >"$T/top2.txt" 2>"$T/err"
check "--top K IN OUT also writes the output" test -s "$T/l2.npy"
check "... the same logits as a plain run" cmp -s "$T/l2.npy" out/logits.npy
printf 'a\nb\n' >"$T/two.txt"
"$D" --top 3 --labels "$T/two.txt" out/boot.npy >"$T/out" 2>"$T/err"
check "--labels with the wrong count: exit 1, one line that says so" bash -c "[ \$(wc -l <'$T/err') = 1 ] && grep -q '2 label(s) for the model.s 10 classes' '$T/err'"
"$D" --labels examples/classify/fashion-mnist.txt out/boot.npy >"$T/out" 2>"$T/err"
check "--labels without --top: usage error" test $? -eq 2
"$D" --top 0 out/boot.npy >"$T/out" 2>"$T/err"
check "--top 0: usage error" test $? -eq 2

echo "== classify"
C=out/demo/classify
"$C" "$ROOT/README.md" >"$T/out" 2>"$T/err"
check "classify: not an image, exit 1 with one line" bash -c "[ $? = 1 ] && [ \$(wc -l <'$T/err') = 1 ] && grep -q 'not a PGM or PPM image' '$T/err'"
"$C" --top 2 --labels "$T/two.txt" examples/classify/images/bag-18.pgm >"$T/out" 2>"$T/err"
check "classify: --labels with the wrong count, exit 1" test $? -eq 1
"$C" --mean 0.2860 --std 0.3530 --save-input "$T/bag.npy" examples/classify/images/bag-18.pgm >/dev/null 2>&1
"$D" --top 1 "$T/bag.npy" >"$T/out" 2>&1
check "classify's --save-input tensor gives the driver the same class" bash -c "[ \"\$(awk 'NR==2 {print \$3}' '$T/out')\" = 8 ]"
cat >"$T/tiny.yaml" <<'EOF'
resnetc: 1
name: tiny
input: [2, 3, 24, 30]
block: basic
stages: [1]
width: 8
stem: {kernel: 3, stride: 1, pool: none}
classes: 7
init: {seed: 3}
EOF
if "$RESNETC" compile -q "$T/tiny.yaml" -o "$T/tiny" && make -s -f examples/classify/Makefile MODEL="$T/tiny" >/dev/null 2>&1; then
    pass "classify builds for a batch-2, 3-channel, 24x30 model"
    "$PY" "$HERE/check_preprocess.py" "$T/tiny/classify" 2,3,24,30 "$T" >"$T/pre.txt" 2>&1
    rc=$?
    if [ $rc -eq 77 ]; then
        skip "preprocessing vs torchvision ($(cat "$T/pre.txt"))"
    else
        [ $rc -eq 0 ] && pass "preprocessing, 3 channels: $(cat "$T/pre.txt")" || fail "preprocessing, 3 channels: $(cat "$T/pre.txt")"
        "$PY" "$HERE/check_preprocess.py" "$C" 1,1,28,28 "$T" >"$T/pre.txt" 2>&1 &&
            pass "preprocessing, 1 channel (colour made grey): $(cat "$T/pre.txt")" ||
            fail "preprocessing, 1 channel: $(cat "$T/pre.txt")"
    fi
    "$T/tiny/classify" --top 7 examples/classify/images/*.pgm >"$T/out" 2>"$T/err"
    check "classify: ten images in batches of 2, all classes each" test "$(grep -c pgm "$T/out")" = 70
else
    fail "classify for a batch-2, 3-channel model did not build"
fi

echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
