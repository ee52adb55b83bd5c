#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite:
# lit (test/), GoogleTest through ctest, and pytest (python/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
partita_install_deps "${PARTITA_TEST_PACKAGES[@]}"
partita_build

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv "$PARTITA_BUILD/test"
echo "== ctest"
ctest --test-dir "$PARTITA_BUILD" --output-on-failure -j2
if [ -d "$PARTITA_ROOT/python/tests" ]; then
  echo "== pytest"
  PYTHONPATH="$PARTITA_BUILD/python:$PARTITA_ROOT/python" \
    /usr/bin/python3 -m pytest -q "$PARTITA_ROOT/python/tests"
fi
echo "partita: all tests passed"
