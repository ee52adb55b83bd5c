#!/usr/bin/env bash
# Partita demo: installs what is missing, builds, and shows the embedded
# default model (a 2-layer GPT decoder generated into build/models/gpt2l).
# Until the CLI can compile and run models this imports it and prints the
# graph summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
partita_install_deps
partita_build

echo "== partita import --summary $PARTITA_BUILD/models/gpt2l"
"$PARTITA_BUILD/bin/partita" import --summary "$PARTITA_BUILD/models/gpt2l"
