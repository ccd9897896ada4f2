#!/usr/bin/env bash
# Check a GPU install and measure training on it: bash tools/gpu_check.sh [N_GPUS] [--smoke] [--out DIR]
# N_GPUS (default: every GPU) processes run the distributed steps; the report goes to work_dirs/gpu_check/gpu_check.md
# (and .json). Without CUDA only --smoke runs (tiny sizes: it checks the check). See tools/gpu_check.py.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python
ARGS=()
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  ARGS+=(--gpus "$1")
  shift
fi
exec "$PY" "$ROOT/tools/gpu_check.py" ${ARGS[@]+"${ARGS[@]}"} "$@"
