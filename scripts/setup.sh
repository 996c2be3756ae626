#!/usr/bin/env bash
# Installs the Debian packages hwnas needs to build, test and benchmark. Idempotent: it asks apt-get
# only for packages that are missing, so a second run costs a dpkg query and nothing else.
set -euo pipefail

# build: compiler, CMake, oneDNN (its GEMMs; built on libgomp, so it shares hwnas's thread pool), libyaml, jansson, zlib,
# SQLite (study stores), protobuf-c and the ONNX schema (libonnx-dev's onnx.proto: ONNX export), flatc and
# the flatbuffers headers (TFLite export), Open MPI (one study on the ranks of an MPI job; tests/test_mpi.sh
# runs mpirun, and pgrep from procps finds the rank it kills), clang with its libFuzzer runtime and OpenMP
# (make fuzz: scripts/fuzz.sh)
# data: Debian's Fashion-MNIST (the default dataset)
# tests: chromium (headless: the study report must load without console errors), xmllint (the SVG),
# python3-onnx (onnx.checker), python3-opencv (runs exported ONNX models), PyTorch with NumPy and PyYAML
# (check_onnx.py's reference evaluation of QDQ graphs, the example external trainer a study runs, and the
# reference generators in tests/ref/), Arm NN with its TFLite parser and CpuRef backend and the flatbuffers
# Python runtime (check_tflite.py), the Arm embedded toolchain, newlib and QEMU's Arm system emulator
# (the exported C built for and run on Cortex-M4/M7 MPS2 boards)
# bench only: Optuna (the search peer); SCALE-Sim's own imports, pandas and tqdm (../shared/peers/scale-sim-v2, run by
# tests/ref/gen_scalesim.py and bench/systolic_vs_scalesim)
pkgs=(build-essential cmake pkg-config libdnnl-dev libyaml-dev libjansson-dev zlib1g-dev libsqlite3-dev
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev dataset-fashion-mnist chromium libxml2-utils python3-onnx
      python3-opencv python3-torch python3-numpy python3-yaml flatbuffers-compiler libflatbuffers-dev
      python3-flatbuffers python3-pyarmnn libarmnn-cpuref-backend22 gcc-arm-none-eabi libnewlib-arm-none-eabi
      qemu-system-arm libopenmpi-dev openmpi-bin procps clang libclang-rt-14-dev libomp-dev)
if [ "${HWNAS_SETUP_PEERS:-0}" = 1 ]; then pkgs+=(python3-optuna python3-pandas python3-tqdm); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
