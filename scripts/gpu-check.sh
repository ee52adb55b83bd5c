#!/bin/bash
# The device check: run on a lent GPU machine (the `device` tool's `run`),
# in the repository root, with $OUT the folder whose files come back.
#
#   scripts/gpu-check.sh            # builds if needed, then every CUDA check
#
# Builds with all cores when build/ is missing (the working tree travels,
# the build does not), then: the device, the CUDA lit tests that need a GPU
# (one device; NCCL on ranks when there are two or more), every ONNX node test
# run on the GPU against its expected outputs, and the GPT's step time on the
# GPU next to the CPU's. Each part's output goes to $OUT/<part>.txt; a
# summary to stdout. A failing part does not stop the others.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-/tmp/partita-gpu-check}"
mkdir -p "$OUT"
cd "$ROOT"
export PARTITA_JOBS="${PARTITA_JOBS:-$(nproc)}"
source scripts/common.sh

part() { # part NAME COMMAND...: runs it, keeps its output, reports its exit code
  local name="$1"; shift
  local start=$SECONDS
  "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc ($((SECONDS - start)) s): $(tail -n 1 "$OUT/$name.txt")"
}

part device nvidia-smi
part build partita_build
B="$PARTITA_BUILD/bin"
part lit /usr/lib/llvm-22/bin/lit -v "$PARTITA_BUILD/test" --filter 'cuda|CUDA'
part node-tests /usr/bin/python3 scripts/onnx_node_tests.py --mode cuda-run -j 4 --timeout 120 \
  --partita "$B/partita" --markdown "$OUT/onnx-node-cuda-run-coverage.md"
part gpt-cuda "$B/partita" run "$PARTITA_BUILD/models/gpt2l" --target cuda --check --repeat 20 --print-limit 0
part gpt-cpu "$B/partita" run "$PARTITA_BUILD/models/gpt2l" --check --repeat 20 --print-limit 0
CHIP="sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')"
part kernels-ptxas bash -c "'$B/partita' compile '$PARTITA_BUILD/models/gpt2l' --target cuda \
  --cuda-chip $CHIP --cuda-format isa --cuda-kernels '$OUT/kernels' -o '$OUT/gpt-artifact' && \
  /usr/bin/python3 scripts/cuda_ptxas_report.py '$OUT/kernels' --arch $CHIP"
