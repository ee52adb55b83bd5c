#!/usr/bin/env bash
# Differential fuzzing of the distributed path for a bounded time:
#
#   bench/fuzz_partition.sh [SECONDS] [--seed N] [more fuzz_partition.py flags]
#
# Random meshes and shardings over the ONNX node tests, the embedded GPT and
# (when PyTorch is installed) the exported real architectures, each run on
# MPI ranks with --check (bench/fuzz_partition.py says how each case is
# judged). Findings go to bench/out/fuzz_partition/findings; the exit status
# is 1 when there is one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-300}"
shift || true
OUT="$ROOT/bench/out/fuzz_partition"
mkdir -p "$OUT"
[ -x "$ROOT/build/bin/partita" ] || { source "$ROOT/scripts/common.sh"; partita_build; }
models=()
if /usr/bin/python3 -c "import torchvision" 2>/dev/null; then
  /usr/bin/python3 "$ROOT/scripts/gen_real_models.py" "$OUT/models" --family torchvision >/dev/null
  models=(--models "$OUT/models")
fi
exec /usr/bin/python3 "$ROOT/bench/fuzz_partition.py" --seconds "$SECS" --out "$OUT" \
  "${models[@]}" "$@"
