#!/usr/bin/env bash
# Distributed testing on one machine with torchrun: bash tools/dist_test.sh CONFIG CHECKPOINT N_PROCS [test.py args...]
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
shift 3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROCS" \
  "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
