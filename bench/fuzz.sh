#!/usr/bin/env bash
# Runs the libFuzzer targets (ONNX and JSON importers, the --shardings reader
# with propagation and partitioning, the cluster reader) for a bounded time each.
#
#   bench/fuzz.sh [SECONDS]      (default 60 per target)
#
# Configures and builds build-fuzz (clang, -DPARTITA_ENABLE_FUZZERS=ON),
# prepares seed corpora (ONNX: a few small backend node-test models from
# libonnx-testdata; JSON: test/fuzz/corpus-json; shardings: test/fuzz/corpus-shardings
# and test/Integration/Inputs; clusters: cluster/*.json), runs each fuzzer with
# -max_total_time=SECONDS and prints executions and crashes per target.
# Exits non-zero if any target crashed (crash-*/leak-*/oom-*/timeout-* files
# are left in build-fuzz/fuzz-out/<target>/artifacts).
set -uo pipefail

SECONDS_PER_TARGET="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${PARTITA_FUZZ_BUILD:-$ROOT/build-fuzz}"
OUT="$BUILD/fuzz-out"
JOBS="${PARTITA_JOBS:-2}"
ONNX_NODE_DIR=/usr/share/libonnx-testdata/data/node

# --- build -------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DPARTITA_ENABLE_FUZZERS=ON \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit || exit 2
fi
FUZZERS=(onnx_import_fuzzer json_import_fuzzer shardings_fuzzer cluster_fuzzer)
ninja -C "$BUILD" -j"$JOBS" "${FUZZERS[@]}" || exit 2

# --- seed corpora --------------------------------------------------------------
rm -rf "$OUT"
for f in "${FUZZERS[@]}"; do mkdir -p "$OUT/$f/seeds"; done
ONNX_SEEDS=(
  test_add test_relu test_matmul_2d test_gemm_default_no_bias
  test_conv_with_strides_padding test_reshape_reordered_all_dims
  test_slice test_concat_2d_axis_0 test_transpose_default test_softmax_axis_1
  test_gather_0 test_cast_FLOAT_to_DOUBLE test_constant test_where_example
  test_reduce_mean_default_axes_keepdims_example test_split_equal_parts_1d
  test_layer_normalization_2d_axis0 test_expand_dim_changed test_unsqueeze_axis_0
  test_maxpool_2d_default
)
for t in "${ONNX_SEEDS[@]}"; do
  [ -f "$ONNX_NODE_DIR/$t/model.onnx" ] &&
    cp "$ONNX_NODE_DIR/$t/model.onnx" "$OUT/onnx_import_fuzzer/seeds/$t.onnx"
done
cp "$ROOT"/test/fuzz/corpus-json/*.json "$OUT/json_import_fuzzer/seeds/"
cp "$ROOT"/test/fuzz/corpus-shardings/*.json "$ROOT"/test/Integration/Inputs/*.json \
  "$OUT/shardings_fuzzer/seeds/"
cp "$ROOT"/cluster/*.json "$OUT/cluster_fuzzer/seeds/"

# --- run -----------------------------------------------------------------------
status=0
summary=()
for fuzzer in "${FUZZERS[@]}"; do
  dir="$OUT/$fuzzer"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  nseeds=$(ls "$dir/seeds" | wc -l)
  echo "=== $fuzzer: ${SECONDS_PER_TARGET}s, $nseeds seeds"
  # The first corpus directory receives new inputs; seeds stay untouched.
  # libFuzzer stops at the first crash (exit non-zero, artifact written).
  "$BUILD/bin/$fuzzer" "$dir/corpus" "$dir/seeds" \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 -timeout=25 \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    > "$dir/log.txt" 2>&1
  rc=$?
  # libFuzzer ends with "#N DONE cov: ..." (or the last "#N ..." status line
  # when it stopped on a crash) and "stat::number_of_executed_units: N".
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$dir/log.txt" | tail -1)
  if [ -z "$execs" ]; then
    execs=$(grep -oE '^#[0-9]+' "$dir/log.txt" | tail -1 | tr -d '#')
  fi
  cov=$(grep -oE '^#[0-9]+[[:space:]]+DONE.*' "$dir/log.txt" | tail -1)
  crashes=$(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
              -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  corpus=$(ls "$dir/corpus" | wc -l)
  echo "    exit $rc; ${cov:-no DONE line}"
  if [ "$crashes" -gt 0 ] || { [ "$rc" -ne 0 ] && [ -z "$cov" ]; }; then
    status=1
    tail -40 "$dir/log.txt"
    find "$dir/artifacts" -type f | sed 's/^/    artifact: /'
  fi
  summary+=("$(printf '%-20s executions=%-10s crashes=%-3s new-corpus=%s exit=%s' \
    "$fuzzer" "${execs:-?}" "$crashes" "$corpus" "$rc")")
done

echo
echo "=== fuzz summary (${SECONDS_PER_TARGET}s per target; logs in $OUT/<target>/log.txt)"
printf '%s\n' "${summary[@]}"
exit $status
