#!/usr/bin/env bash
# Testing as one Slurm job step (srun), in MMDetection's argument order:
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS from the environment (tools/slurm_common.sh). Prints the metrics as
# tools/test.py does (name: value lines, once).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/slurm_common.sh"
launch_command slurm_test.sh "$@"
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
slurm_resources "$PARTITION"
# the processes report how they end beside the checkpoint (a folder they all see), else in the temporary folder
REPORTS="$(dirname "$CHECKPOINT")"
[ -w "$REPORTS" ] || REPORTS="${TMPDIR:-/tmp}"
run_step "$REPORTS" srun -p "$PARTITION" --job-name="$JOB_NAME" "${RESOURCES[@]}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "$PY" -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "$@"
