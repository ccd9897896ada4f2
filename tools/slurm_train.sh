#!/usr/bin/env bash
# Training as one Slurm job step (srun), in MMDetection's argument order:
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS from the environment (tools/slurm_common.sh): GPUS processes,
# GPUS_PER_NODE of them per node, GPUs asked for only where the partition has them. A stop (scancel, Ctrl-C) saves
# the position and its last line says how to resume; for a batch job that Slurm may requeue, see slurm_submit.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/slurm_common.sh"
launch_command slurm_train.sh "$@"
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
slurm_resources "$PARTITION"
run_step "$WORK_DIR" srun -p "$PARTITION" --job-name="$JOB_NAME" "${RESOURCES[@]}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "$PY" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "$@"
