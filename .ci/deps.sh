#!/usr/bin/env bash
# Installs the Debian packages a make target needs, when they are missing.
#   deps.sh build|demo|test|bench
# As root it runs apt-get; otherwise it prints the apt-get line and fails.
set -euo pipefail

build=(gcc make libc6-dev protobuf-c-compiler libprotobuf-c-dev libonnx-dev libyaml-dev)
demo=("${build[@]}" dataset-fashion-mnist)
test=("${demo[@]}" libcmocka-dev libonnx-testdata python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-yaml graphviz clang libclang-rt-14-dev valgrind cmake
  gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-riscv64-linux-gnu
  libc6-dev-arm64-cross libc6-dev-armhf-cross libc6-dev-riscv64-cross qemu-user)

bench=("${build[@]}" python3 python3-numpy python3-torch python3-torchvision python3-onnx libopenblas-dev)

case "${1:-}" in
  build) want=("${build[@]}") ;;
  bench) want=("${bench[@]}") ;;
  demo) want=("${demo[@]}") ;;
  test) want=("${test[@]}") ;;
  *) echo "usage: $0 build|demo|test|bench" >&2; exit 2 ;;
esac
# The tests run onnxruntime under Node.js; take Debian's only if none is there.
if { [ "${1}" = test ] || [ "${1}" = bench ]; } && ! command -v node >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "resnetc: missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "resnetc: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
