#!/usr/bin/env bash
# Start a tool of this toolbox on N processes of this machine with torchrun, after checking what would otherwise end
# in a traceback: bash tools/dist_launch.sh TOOL.py N_PROCS [TOOL ARGS...]   (used by dist_train.sh and dist_test.sh)
# - the rendezvous port (PORT, default 29500) must be free on the master node: another run may hold it;
# - N must not exceed this machine's GPUs (nvidia-smi, limited by CUDA_VISIBLE_DEVICES) where it has any; without
#   CUDA the processes train on CPU with the gloo backend.
# Each refusal is one line and exit code 2. torchrun runs through mmpoolformer.cli.torchrun: a rank that dies ends the
# run in one line (which rank, how, the last checkpoint, the command that resumes), and a stop signal in the workers'
# own line. MMPF_LAUNCH_COMMAND (set by dist_train.sh / dist_test.sh) is the command that line repeats.
set -euo pipefail
TOOL=$1
NPROCS=$2
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python
PORT="${PORT:-29500}"
ADDR="${MASTER_ADDR:-127.0.0.1}"
NAME="$(basename "$TOOL" .py)"
if [ "${NODE_RANK:-0}" = 0 ] && ! "$PY" -c "import socket, sys; socket.create_server(('', int(sys.argv[1]))).close()" \
    "$PORT" 2>/dev/null; then
  echo "error: port $PORT of $ADDR is in use (another distributed run on this machine?); pass a free one, e.g." \
       "PORT=$((PORT + 1)) bash tools/dist_$NAME.sh ..." >&2
  exit 2
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    VISIBLE=$(echo "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | grep -c . || true)
    [ "$VISIBLE" -lt "$GPUS" ] && GPUS=$VISIBLE
  fi
  if [ "$GPUS" -gt 0 ] && [ "$NPROCS" -gt "$GPUS" ]; then
    echo "error: asked for $NPROCS processes but this machine has $GPUS GPU(s) for them; pass at most $GPUS" \
         "(bash tools/dist_$NAME.sh ... $GPUS)" >&2
    exit 2
  fi
fi
# the command a stopped or failed run's last line repeats: dist_train.sh CONFIG N ... / dist_test.sh CONFIG CKPT N ...
KEEP=$([ "$NAME" = train ] && echo 1 || echo 2)
SETTINGS=""
for VAR in PORT MASTER_ADDR NNODES NODE_RANK; do
  if [ -n "${!VAR:-}" ]; then SETTINGS+="$VAR=$(printf '%q' "${!VAR}") "; fi
done
SCRIPTS=$([ "$PWD" = "$ROOT" ] && echo tools || printf %q "$ROOT/tools")
MMPF_LAUNCH_COMMAND="${SETTINGS}bash $SCRIPTS/dist_$NAME.sh$(printf ' %q' "${@:1:KEEP}" "$NPROCS" "${@:KEEP+1}")"
export MMPF_LAUNCH_COMMAND
exec "$PY" -m mmpoolformer.cli.torchrun --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="$ADDR" \
  --master_port="$PORT" --nproc_per_node="$NPROCS" "$ROOT/tools/$TOOL" "$@" --launcher pytorch
