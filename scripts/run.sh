#!/usr/bin/env bash
# The main job. For now: set up, build and run the GEMM benchmark against OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/bin/bench_gemm "$@"
