#!/usr/bin/env bash
# Distributed training on one machine with torchrun: bash tools/dist_train.sh CONFIG N_PROCS [train.py args...]
# Without CUDA the processes train on CPU with the gloo backend.
set -euo pipefail
CONFIG=$1
NPROCS=$2
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python
exec "$PY" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROCS" \
  "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
