#!/usr/bin/env bash
# How resnetc's compile time grows with the node count: generates chains of
# 5,000 and 50,000 Add/Mul nodes (bench/scale_chain.py) and times
# `resnetc compile` on each with the wall clock. Every phase is meant to be
# near-linear, so 10x the nodes should cost about 10x the time.
#
#   bench/scale_chain.sh
#
# Prints both times and their ratio, and exits non-zero when the
# 50,000-node chain takes 5 s or more (or a compile fails). A benchmark,
# not a timed test: a busy machine makes it slower.
#
# Environment: RESNETC (default build/resnetc), PYTHON (default
# /usr/bin/python3, which needs the onnx and numpy modules).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
resnetc=${RESNETC:-build/resnetc}
python=${PYTHON:-/usr/bin/python3}
limit=5

[ -x "$resnetc" ] || { echo "scale_chain.sh: $resnetc is not an executable (build it, or set RESNETC)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

declare -A secs
for n in 5000 50000; do
	"$python" "$here/scale_chain.py" "$n" "$tmp/chain$n.onnx"
	t0=$(now)
	if ! "$resnetc" compile "$tmp/chain$n.onnx" -o "$tmp/out$n" -q; then
		echo "scale_chain.sh: resnetc compile failed on the $n-node chain" >&2
		exit 1
	fi
	t1=$(now)
	secs[$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	printf '%6d nodes  %8s s\n' "$n" "${secs[$n]}"
done
awk -v a="${secs[5000]}" -v b="${secs[50000]}" -v lim="$limit" 'BEGIN {
	printf "ratio 50000/5000: %.1f (linear: 10)\n", (a > 0 ? b / a : 0)
	if (b >= lim) {
		printf "FAIL: the 50000-node chain took %.3f s, the limit is %d s\n", b, lim
		exit 1
	}
	printf "ok: the 50000-node chain compiles in under %d s\n", lim
}'
