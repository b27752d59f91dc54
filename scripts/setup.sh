#!/usr/bin/env bash
# Installs the Debian packages the project needs (idempotent) and builds Release into build/.
#
#   scripts/setup.sh                 # packages + Release build in build/
#   SF_WITH_TORCH=1 scripts/setup.sh # also python3-torch (CI only: the PyTorch parity tests)
#   SF_WITH_FUZZ=1 SF_PACKAGES_ONLY=1 scripts/setup.sh  # clang + libFuzzer, no build (scripts/fuzz.sh)
#   SF_WITH_TSAN=1 SF_PACKAGES_ONLY=1 scripts/setup.sh  # clang + oneTBB's source tools (scripts/tsan.sh)
#   SF_BUILD_DIR=other scripts/setup.sh, SF_CMAKE_ARGS="-DSF_ARCH=x86-64-v3" scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git python3
  libxsimd-dev xtl-dev libtbb-dev libboost-test-dev libfmt-dev   # the required set
  libopenmpi-dev openmpi-bin                                     # distributed training
  libutf8proc-dev zlib1g-dev libarchive-dev                      # tokenizer Unicode, gzip, tar datasets
  libcli11-dev nlohmann-json3-dev                                # command line, JSON configs/headers
  libopenblas-dev                                                # GEMM benchmark baseline only
  libdnnl-dev ocl-icd-opencl-dev                                # bfloat16 GEMM benchmark baseline only (its CMake config needs OpenCL)
  gnuplot-nox                                                    # PNG training curves
  wordnet-base                                                   # WordNet data for synonym augmentation
)
if [[ "${SF_WITH_TORCH:-0}" == 1 ]]; then packages+=(python3-torch); fi
# libclang-rt-14-dev holds the sanitizer runtimes; clang only recommends it.
if [[ "${SF_WITH_FUZZ:-0}" == 1 ]]; then packages+=(clang libclang-rt-14-dev libfuzzer-14-dev); fi
if [[ "${SF_WITH_TSAN:-0}" == 1 ]]; then packages+=(clang libclang-rt-14-dev dpkg-dev xz-utils); fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${SF_PACKAGES_ONLY:-0}" == 1 ]]; then exit 0; fi
build_dir="${SF_BUILD_DIR:-build}"
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${SF_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built into $build_dir/bin"
