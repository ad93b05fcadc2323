#!/usr/bin/env bash
# Hostile inputs: every file in a folder of broken models, weights and .npy
# inputs must be refused with exit status 1 and exactly one line on stderr,
# with no memory error or leak under valgrind and nothing written.
#
#   tests/hostile/run_hostile.sh [--resnetc PATH] [--no-valgrind] [-j N] [--table] [DIR]
#
# DIR (default tests/hostile/cases, written by make_cases.py) holds:
#   *.onnx, *.yaml, *.yml   resnetc compile FILE -o OUT
#   *.safetensors           the weights of a tiny YAML ResNet (copied next to
#                           it as w.safetensors): resnetc compile that -o OUT
#   *.npy                   the input of a compiled tiny model's driver:
#                           DRIVER FILE OUT.npy
#   calib_*.npy             calibration samples for the demo model (copied
#                           as model/demo.onnx): resnetc compile
#                           model/demo.onnx --quantize int8 --calibrate FILE -o OUT
# Files named *.data.* are what cases refer to, not cases. Then two large
# files made here rather than kept: a node with 3,000,000 inputs (6 MB) and
# a description over the 1 MiB limit; and the output folder rules: a foreign
# folder is not replaced, a failed compile leaves the previous output as it
# was and removes the parent folders it created, names from the model
# cannot write code into it (names/), and SIGTERM or SIGINT at any point
# leave no temporary folder, no DIR.old-* and no parent folder of their
# own, and DIR either as it was or the complete new output.
# Each check runs in a fresh empty folder that must hold nothing new after
# it (no OUT, no OUT.tmp-*), gets at most 120 s, and DIR must not change.
# -j runs N checks at once (default: the number of CPUs). --table prints a
# markdown row per case with the error it got. The last line is
# "N passed, M failed"; the exit status is 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
RESNETC=build/resnetc
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect)
TABLE=0
TIMEOUT=120
JOBS=$(nproc 2>/dev/null || echo 2)
DIR=tests/hostile/cases
while [ $# -gt 0 ]; do
	case "$1" in
	--resnetc) RESNETC=$2; shift 2 ;;
	--no-valgrind) VALGRIND=(); shift ;;
	--table) TABLE=1; shift ;;
	-j) JOBS=$2; shift 2 ;;
	-h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run_hostile.sh: unknown option $1" >&2; exit 2 ;;
	*) DIR=$1; shift ;;
	esac
done
[ -x "$RESNETC" ] || { echo "run_hostile.sh: $RESNETC is not built (make)" >&2; exit 2; }
RESNETC=$(cd "$(dirname "$RESNETC")" && pwd)/$(basename "$RESNETC")
DIR=$(cd "$DIR" && pwd)
if [ ${#VALGRIND[@]} -gt 0 ] && ! command -v valgrind >/dev/null; then
	echo "run_hostile.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/resnetc-hostile-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/res"

TINY='resnetc: 1
input: [1, 3, 8, 8]
block: basic
stages: [1]
width: 4
stem: {kernel: 3, stride: 1, pool: none}
classes: 3
'

# The driver: a tiny model with one input of float32 [1, 3, 8, 8], built
# without target-specific flags so that valgrind can run it.
mkdir -p "$TMP/driver"
printf '%sinit: {seed: 1}\n' "$TINY" >"$TMP/driver/tiny.yaml"
if ! "$RESNETC" compile "$TMP/driver/tiny.yaml" -o "$TMP/driver/out" >"$TMP/log" 2>&1 ||
   ! make -s -C "$TMP/driver/out" CFLAGS="-O1 -g" >>"$TMP/log" 2>&1; then
	cat "$TMP/log"; echo "run_hostile.sh: cannot build the tiny driver" >&2; exit 2
fi
DRIVER=$TMP/driver/out/tiny

snapshot() { (cd "$1" && find . -printf '%p %y %s %T@\n' | sort); }

# check ID NAME EXPECT_RC CMD...: runs CMD in the folder $TMP/ID/w (empty
# but for what the caller put in model/ and keep/) under valgrind, and
# writes the verdict to $TMP/res/ID.
check() {
	local id=$1 name=$2 want=$3
	shift 3
	local c=$TMP/$id w=$TMP/$id/w
	local before=""
	[ -d "$w/model" ] && before=$(snapshot "$w/model")
	local vg=()
	[ ${#VALGRIND[@]} -gt 0 ] && vg=("${VALGRIND[@]}" --log-file="$c/vg.log")
	(cd "$w" && exec timeout "$TIMEOUT" "${vg[@]}" "$@") >"$c/out.txt" 2>"$c/err.txt" </dev/null
	local rc=$? why=""
	local lines leftover
	lines=$(wc -l <"$c/err.txt")
	leftover=$(cd "$w" && find . -mindepth 1 ! -path './model' ! -path './model/*' ! -path './keep' ! -path './keep/*' |
		head -n 3 | tr '\n' ' ')
	if [ $rc -eq 124 ]; then
		why="took more than $TIMEOUT s"
	elif [ $rc -eq 99 ] || [ -s "$c/vg.log" ]; then
		why="valgrind: $(grep -m1 -E 'Invalid|uninitialised|definitely|indirectly|Mismatched|overlap' "$c/vg.log" ||
			head -n1 "$c/vg.log")"
	elif [ $rc -ne "$want" ]; then
		why="exit status $rc, expected $want"
	elif [ "$want" -ne 0 ] && { [ "$lines" -ne 1 ] || [ -n "$(tail -c1 "$c/err.txt")" ]; }; then
		why="$lines lines on stderr, expected 1"
	elif [ "$want" -ne 0 ] && [ -n "$leftover" ]; then
		why="wrote $leftover"
	elif [ -n "$before" ] && [ "$before" != "$(snapshot "$w/model")" ]; then
		why="changed the model's folder"
	fi
	{
		if [ -z "$why" ]; then
			local msg
			msg=$(head -n1 "$c/err.txt" | sed -e "s|$w/||g" -e "s|$DIR/||g" -e "s|$TMP/||g" -e 's/|/\\|/g')
			[ "$want" -eq 0 ] && msg="(exit status 0)"
			if [ $TABLE -eq 1 ]; then
				printf 'PASS | `%s` | %s |\n' "$name" "$msg"
			else
				printf 'PASS ok    %s\n' "$name"
			fi
		else
			printf 'FAIL FAIL  %s: %s\n' "$name" "$why"
			head -n 5 "$c/err.txt" | sed 's/^/FAIL       stderr: /'
		fi
	} >"$TMP/res/$id"
}

n=0
# new_case: a fresh working folder for the next check; sets id and w.
new_case() {
	n=$((n + 1))
	id=$(printf '%04d' $n)
	w=$TMP/$id/w
	mkdir -p "$w"
}
throttle() {
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
}

dir_before=$(snapshot "$DIR")
for f in "$DIR"/*; do
	name=$(basename "$f")
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	case "$name" in *.data.*) continue ;; esac
	case "$name" in
	*.onnx|*.yaml|*.yml)
		new_case
		throttle; check "$id" "$name" 1 "$RESNETC" compile "$f" -o out & ;;
	*.safetensors)
		new_case
		mkdir "$w/model"
		printf '%sweights: w.safetensors\n' "$TINY" >"$w/model/tiny.yaml"
		cp "$f" "$w/model/w.safetensors"
		throttle; check "$id" "$name" 1 "$RESNETC" compile model/tiny.yaml -o out & ;;
	calib_*.npy)
		new_case
		mkdir "$w/model"
		cp examples/demo/demo.onnx "$w/model/demo.onnx"
		throttle; check "$id" "$name" 1 "$RESNETC" compile model/demo.onnx --quantize int8 --calibrate "$f" -o out & ;;
	*.npy)
		new_case
		throttle; check "$id" "$name" 1 "$DRIVER" "$f" out.npy & ;;
	esac
done

# A node with 3,000,000 omitted inputs (6 MB, made here rather than kept):
# the importer once sized a stack array by that count.
new_case
mkdir -p "$TMP/gen"
perl -e 'sub v { my $n = shift; my $s = ""; while ($n >= 0x80) { $s .= chr(($n & 0x7f) | 0x80); $n >>= 7 } $s . chr($n) }
	my $node = ("\x0a\x00" x 3000000) . "\x12\x01y\x22\x03Sum";
	my $graph = "\x0a" . v(length $node) . $node;
	print "\x08\x08\x42\x02\x10\x0d\x3a" . v(length $graph) . $graph;' >"$TMP/gen/onnx_node_with_3000000_inputs.onnx"
throttle; check "$id" "onnx_node_with_3000000_inputs.onnx" 1 "$RESNETC" compile "$TMP/gen/onnx_node_with_3000000_inputs.onnx" -o out &
# A description past the 1 MiB limit (a valid one, and then comments).
new_case
{ printf '%sinit: {seed: 1}\n' "$TINY"; head -c 1048576 /dev/zero | tr '\0' '#'; echo; } >"$TMP/gen/yaml_too_large.yaml"
throttle; check "$id" "yaml_too_large.yaml" 1 "$RESNETC" compile "$TMP/gen/yaml_too_large.yaml" -o out &

# ---- the output folder
GOOD=$TMP/driver/tiny.yaml
BAD=$DIR/yaml_unknown_key.yaml
new_case; mkdir -p "$w/model/out"; echo precious >"$w/model/out/keep"
throttle; check "$id" "output: a foreign non-empty folder is kept" 1 "$RESNETC" compile "$GOOD" -o model/out &
new_case; mkdir "$w/model"; echo precious >"$w/model/out"
throttle; check "$id" "output: -o names a file" 1 "$RESNETC" compile "$GOOD" -o model/out &
new_case; mkdir -p "$w/model/target"; ln -s target "$w/model/out"
throttle; check "$id" "output: -o names a symlink" 1 "$RESNETC" compile "$GOOD" -o model/out &
new_case; mkdir "$w/model"; "$RESNETC" compile "$GOOD" -o "$w/model/out" 2>/dev/null
throttle; check "$id" "output: a failed compile keeps the previous output" 1 "$RESNETC" compile "$BAD" -o model/out &
# A compile that fails after creating the parents of -o (the runtime is
# missing, so writing the output fails) removes the parents it created,
# and only those: keep/ was there before.
new_case
throttle; RESNETC_HOME=$w/no-runtime check "$id" "output: a failed compile removes the parents it created" 1 "$RESNETC" compile "$GOOD" -o a/b/out &
new_case; parents_id=$id; mkdir "$w/keep"
throttle; RESNETC_HOME=$w/no-runtime check "$id" "output: ... and only those" 1 "$RESNETC" compile "$GOOD" -o keep/b/out &
new_case; force_id=$id; mkdir -p "$w/keep"; echo precious >"$w/keep/file"
throttle; check "$id" "output: --force replaces a foreign folder" 0 "$RESNETC" compile "$GOOD" -o keep --force &
wait
w=$TMP/$force_id/w
if [ -e "$w/keep/file" ] || [ ! -f "$w/keep/Makefile" ]; then
	echo "FAIL FAIL  output: --force did not replace the folder" >"$TMP/res/$force_id"
fi
w=$TMP/$parents_id/w
if [ ! -d "$w/keep" ] || [ -n "$(ls -A "$w/keep")" ]; then
	echo "FAIL FAIL  output: a failed compile removed keep/ or left keep/$(ls -A "$w/keep" 2>/dev/null | head -n1)" >"$TMP/res/$parents_id"
fi

# Names from the model go into comments of the generated C: none of the
# functions they try to define may exist in the compiled model.
new_case
if "$RESNETC" compile tests/hostile/names/comment_injection.onnx -o "$w/out" 2>"$w/err" &&
   cc -std=c11 -c "$w/out/comment_injection.c" -I"$w/out" -I"$w/out/include" -o "$w/model.o" 2>>"$w/err" &&
   ! nm "$w/model.o" | grep -q pwned; then
	if [ $TABLE -eq 1 ]; then
		echo 'PASS | `names/comment_injection.onnx` | (compiles; the names stay inside their comments) |' >"$TMP/res/$id"
	else
		echo "PASS ok    output: names cannot end a comment in the generated C" >"$TMP/res/$id"
	fi
else
	echo "FAIL FAIL  output: names/comment_injection.onnx: $(head -n1 "$w/err"; nm "$w/model.o" 2>/dev/null | grep pwned | head -n1)" >"$TMP/res/$id"
fi

# SIGTERM while the output is being written: no DIR, no DIR.tmp-*.
new_case
"$RESNETC" compile examples/resnet50.yaml -o "$w/out" 2>/dev/null &
pid=$!
for _ in $(seq 1200); do
	compgen -G "$w/out.tmp-*" >/dev/null && break
	sleep 0.05
done
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
left=$(ls -A "$w")
if [ $rc -eq 143 ] && [ -z "$left" ]; then
	if [ $TABLE -eq 1 ]; then
		echo 'PASS | `output: SIGTERM while writing` | (killed; the temporary folder is removed) |' >"$TMP/res/$id"
	else
		echo "PASS ok    output: SIGTERM while writing leaves nothing" >"$TMP/res/$id"
	fi
else
	echo "FAIL FAIL  output: SIGTERM while writing: exit status $rc, left '$left'" >"$TMP/res/$id"
fi

# result ID NAME WHY NOTE: ID's verdict, passed if WHY is empty (NOTE is
# the --table row's).
result() {
	if [ -n "$3" ]; then
		echo "FAIL FAIL  $2: $3" >"$TMP/res/$1"
	elif [ $TABLE -eq 1 ]; then
		printf 'PASS | `%s` | (%s) |\n' "$2" "$4" >"$TMP/res/$1"
	else
		echo "PASS ok    $2" >"$TMP/res/$1"
	fi
}

# interrupt SIG GLOB CMD...: runs CMD with SIG's default action (a
# script's background jobs would ignore SIGINT), sends SIG once a path
# matching GLOB exists; sets rc (CMD's exit status) and caught (1 if SIG
# went while GLOB matched).
interrupt() {
	local sig=$1 glob=$2 pid
	shift 2
	env --default-signal="$sig" "$@" 2>/dev/null &
	pid=$!
	caught=0
	while kill -0 $pid 2>/dev/null; do
		if compgen -G "$glob" >/dev/null; then
			kill -"$sig" $pid 2>/dev/null && caught=1
			break
		fi
		sleep 0.01
	done
	wait $pid
	rc=$?
}

# SIGINT while writing into parents it created: they go too.
new_case
interrupt INT "$w/p/q/out.tmp-*" "$RESNETC" compile examples/resnet50.yaml -o "$w/p/q/out"
left=$(echo $(ls -A "$w"))
why=""
[ $caught -eq 1 ] && [ $rc -eq 130 ] || why="exit status $rc (signalled while writing: $caught)"
[ -z "$left" ] || why="${why:+$why, }left '$left'"
result "$id" "output: SIGINT while writing removes the parents it created" "$why" "killed; no folder left"

# SIGINT while writing over a previous output: that output stays as it was.
new_case
"$RESNETC" compile -q "$GOOD" -o "$w/out"
before=$(snapshot "$w/out")
interrupt INT "$w/out.tmp-*" "$RESNETC" compile examples/resnet50.yaml -o "$w/out"
left=$(echo $(ls -A "$w"))
why=""
[ $caught -eq 1 ] && [ $rc -eq 130 ] || why="exit status $rc (signalled while writing: $caught)"
[ "$left" = out ] || why="${why:+$why, }left '$left'"
[ "$before" = "$(snapshot "$w/out")" ] || why="${why:+$why, }the previous output changed"
result "$id" "output: SIGINT while writing keeps the previous output" "$why" "killed; DIR as it was, nothing else"

# SIGINT once the new output is in place, while the one it replaced (DIR.old-*,
# 30,000 files to take long enough) is being removed: the new output
# stays, DIR.old-* goes. Tried again if the compile ends before the signal
# could be sent in that window.
new_case
why="the compile always ended before DIR.old-* could be signalled"
for _ in 1 2 3; do
	rm -rf "$w/out"
	"$RESNETC" compile -q "$GOOD" -o "$w/out" && mkdir "$w/out/old" &&
		perl -e 'for (1 .. 30000) { open my $f, ">", "$ARGV[0]/f$_" or die "$ARGV[0]/f$_: $!" }' "$w/out/old"
	interrupt INT "$w/out.old-*" "$RESNETC" compile "$GOOD" -o "$w/out"
	[ $caught -eq 1 ] || continue
	left=$(echo $(ls -A "$w"))
	why=""
	[ $rc -eq 130 ] || why="exit status $rc"
	[ "$left" = out ] || why="${why:+$why, }left '$left'"
	[ -f "$w/out/.resnetc-output" ] && [ -f "$w/out/tiny.c" ] && [ -f "$w/out/Makefile" ] && [ ! -e "$w/out/old" ] ||
		why="${why:+$why, }DIR is not the new output"
	break
done
result "$id" "output: SIGINT while removing the replaced output" "$why" "killed; DIR is the new output, DIR.old-* removed"
[ "$dir_before" = "$(snapshot "$DIR")" ] || echo "FAIL FAIL  $DIR changed while the cases ran" >"$TMP/res/9999"

pass=$(cat "$TMP"/res/* | grep -c '^PASS')
fail=$(cat "$TMP"/res/* | grep -c '^FAIL FAIL')
cat "$TMP"/res/* | sed -e 's/^PASS //' -e 's/^FAIL //'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
