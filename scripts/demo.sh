#!/usr/bin/env bash
# Partita demo (the README's main job): installs what is missing, builds, and
# on the embedded default model (a 2-layer GPT decoder generated into
# build/models/gpt2l):
#   1. imports it and prints its summary,
#   2. plans Megatron tensor parallelism on a 2-device mesh from annotations
#      on the weights only (propagation; 2 all-reduces per layer),
#   3. compiles and runs it on this CPU and checks the outputs against the
#      stored reference,
#   4. runs it tensor-parallel on 2 MPI ranks (one process per device,
#      started by partita through mpirun) and checks it again,
#   5. lets the auto-planner choose the shardings for data=2 x model=2,
#      prints the plan (shardings, collectives, predicted vs measured step
#      time) and runs it on 4 MPI ranks with --check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
partita_install_deps
partita_build

model="$PARTITA_BUILD/models/gpt2l"
partita="$PARTITA_BUILD/bin/partita"

echo "== partita import --summary $model"
"$partita" import --summary "$model"

echo
echo "== partita plan (Megatron on model=2, annotations: models/gpt2l-megatron.json)"
"$partita" plan "$model" --composites --shardings "$PARTITA_ROOT/models/gpt2l-megatron.json" \
  | sed -n '/^reshards/,$p'

echo
echo "== partita run --check $model"
"$partita" run "$model" --check --repeat 3

echo
echo "== partita run --mesh model=2 (2 MPI ranks, Megatron) --check $model"
"$partita" run "$model" --mesh model=2 \
  --shardings "$PARTITA_ROOT/models/gpt2l-megatron.json" --check --report "$PARTITA_BUILD/demo-report.json"

echo
echo "== partita run --mesh data=2,model=2 --strategy auto (the planner chooses; 4 MPI ranks) --check $model"
"$partita" run "$model" --mesh data=2,model=2 --strategy auto --cluster cpu-local --check --print-limit 0
