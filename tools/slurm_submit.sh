#!/usr/bin/env bash
# Training as a Slurm batch job that survives preemption, requeueing and its time limit:
#   bash tools/slurm_submit.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS (tools/slurm_common.sh), SBATCH_ARGS (e.g. "--time=24:00:00
# --account=X") and STOP_BEFORE_LIMIT (seconds, default 300) from the environment. Prints sbatch's
# "Submitted batch job N"; the job's output goes to WORK_DIR/slurm-N.out (appended to when it runs again).
# The job may be requeued (--requeue). A SIGTERM (scancel, scontrol requeue, preemption) or the SIGUSR1 Slurm sends
# STOP_BEFORE_LIMIT seconds before the time limit makes the training processes finish the iteration in progress,
# save exactly that position and exit; the job then requeues itself where it was the time limit, and every run of it
# resumes from the work dir's last checkpoint by itself (tools/slurm_job.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/slurm_common.sh"
launch_command slurm_submit.sh "$@"
PARTITION=$1
JOB_NAME=$2
CONFIG="$(realpath "$3")"
mkdir -p "$4"
WORK_DIR="$(realpath "$4")"
shift 4
slurm_resources "$PARTITION"
exec sbatch -p "$PARTITION" --job-name="$JOB_NAME" "${RESOURCES[@]}" --requeue \
  --signal="USR1@${STOP_BEFORE_LIMIT:-300}" --open-mode=append --output="$WORK_DIR/slurm-%j.out" ${SBATCH_ARGS:-} \
  "$ROOT/tools/slurm_job.sh" "$ROOT" "$CONFIG" "$WORK_DIR" "$@"
