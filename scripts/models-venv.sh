#!/usr/bin/env bash
# Creates bench/out/models-venv: Debian's Python and PyTorch (system site
# packages) plus PyPI's transformers, which Debian does not package. The
# real-model tests (test/Integration/RealModels/transformers.test) run when
# it exists and report UNSUPPORTED when it does not.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/bench/out/models-venv"
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q "transformers>=4.40,<4.45"
"$venv/bin/python" -c "import transformers; print('models-venv: transformers', transformers.__version__)"
