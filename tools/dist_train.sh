#!/usr/bin/env bash
# Distributed training on one machine with torchrun: bash tools/dist_train.sh CONFIG N_PROCS [train.py args...]
# Without CUDA the processes train on CPU with the gloo backend. PORT, MASTER_ADDR, NNODES, NODE_RANK as torchrun's;
# a busy port or more processes than GPUs end in one line (tools/dist_launch.sh).
set -euo pipefail
CONFIG=$1
NPROCS=$2
shift 2
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" train.py "$NPROCS" "$CONFIG" "$@"
