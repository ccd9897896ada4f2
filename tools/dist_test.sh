#!/usr/bin/env bash
# Distributed testing on one machine with torchrun: bash tools/dist_test.sh CONFIG CHECKPOINT N_PROCS [test.py args...]
# PORT, MASTER_ADDR, NNODES, NODE_RANK as torchrun's; a busy port or more processes than GPUs end in one line
# (tools/dist_launch.sh).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
shift 3
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" test.py "$NPROCS" "$CONFIG" "$CHECKPOINT" "$@"
