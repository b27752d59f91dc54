#!/bin/sh
# Integration: the library as a package. Installs this build into a prefix, builds apps/examples/
# as a separate CMake project with find_package(swarmformer), and runs the examples:
#   autograd_hello (its gradient), custom_op (a user-defined op gradchecked from user code), and,
#   where ../shared/data is present, classify on a checkpoint the installed CLI trains in seconds.
# Then configures a parent project that takes the source tree with add_subdirectory: its build
# type stays its own, and the tests, benchmarks and CLI stay out of it.
#   examples_against_installed_package.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
build="$1"
source="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work"
# Every step says what failed and shows its log (the test failed twice under ctest -j2 without
# a word: set -e stopped at a step whose output went to a file).
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" 2>&1 ||
  { echo "FAIL: cmake --install (exit $?)"; cat "$work/install.log"; exit 1; }
for file in lib/cmake/swarmformer/swarmformerConfig.cmake lib/cmake/swarmformer/swarmformerConfigVersion.cmake \
    lib/libsf_core.a include/sf/core/tensor.hpp include/sf/swarmformer/classifier.hpp bin/swarmformer; do
  [ -e "$work/prefix/$file" ] || { echo "FAIL: the install has no $file"; exit 1; }
done
cmake -S "$source/apps/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/examples" -j2 > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$work/examples/autograd_hello" || { echo "FAIL: autograd_hello exited $?"; exit 1; }
"$work/examples/custom_op" || { echo "FAIL: custom_op exited $?"; exit 1; }

data="${SF_DATA:-$source/../shared/data/imdb}"
vocab="${SF_VOCAB:-$source/../shared/data/vocab/bert-base-uncased-vocab.txt}"
if [ ! -e "$data" ] || [ ! -e "$vocab" ]; then
  echo "examples: classify skipped (IMDB data or vocabulary not found)"
  exit 0
fi
"$work/prefix/bin/swarmformer" train --preset enhanced-small --data "$data" --vocab "$vocab" --out "$work/run" \
  --cache-dir "$work/cache" --no-progress --threads 1 --set max_train_examples=48 --set max_eval_examples=48 \
  --set epochs=1 --set batch_size=48 > "$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
"$work/examples/classify" "$work/run/best.safetensors" "$vocab" "A wonderful film." "Dull and long." > "$work/classify.txt" ||
  { echo "FAIL: classify exited $?"; cat "$work/classify.txt"; exit 1; }
cat "$work/classify.txt"
[ "$(grep -c -E '^[^ ]+ [01]\.[0-9]{3}  ' "$work/classify.txt")" = 2 ] || { echo "FAIL: expected two predictions"; exit 1; }
grep -q -- "-> cluster" "$work/classify.txt" || { echo "FAIL: no routing printed"; exit 1; }

mkdir -p "$work/parent"
cat > "$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(parent LANGUAGES CXX)
add_subdirectory("$source" swarmformer)
add_executable(hello "$source/apps/examples/autograd_hello.cpp")
target_link_libraries(hello PRIVATE sf::autograd)
foreach(target test_core swarmformer bench_gemm)
  if(TARGET \${target})
    message(FATAL_ERROR "the consumed project defined its own target \${target}")
  endif()
endforeach()
CMAKE
cmake -S "$work/parent" -B "$work/parent-build" > "$work/parent.log" 2>&1 || { cat "$work/parent.log"; exit 1; }
grep -q '^CMAKE_BUILD_TYPE:STRING=$' "$work/parent-build/CMakeCache.txt" ||
  { echo "FAIL: add_subdirectory set the parent's build type"; grep CMAKE_BUILD_TYPE "$work/parent-build/CMakeCache.txt"; exit 1; }
grep -q '^SF_ARCH:STRING=x86-64-v3$' "$work/parent-build/CMakeCache.txt" || { echo "FAIL: a consumed build is not portable"; exit 1; }
echo "examples: passed"
