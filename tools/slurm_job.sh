#!/usr/bin/env bash
# The batch script tools/slurm_submit.sh submits (Slurm runs a copy of it): ROOT CONFIG WORK_DIR [train.py args...]
# Each run (the first, and each after a requeue) trains with --resume, so it continues from the work dir's last
# checkpoint (from scratch when there is none). The batch shell outlives a SIGTERM (scancel, scontrol requeue,
# preemption) until the training processes have saved (run_step, tools/slurm_common.sh); when they stopped for the
# time-limit signal (exit code 138, 128 + SIGUSR1) the job requeues itself, and Slurm's own requeue does the rest.
set -uo pipefail
ROOT=$1
CONFIG=$2
WORK_DIR=$3
shift 3
source "$ROOT/tools/slurm_common.sh"
echo "[job $SLURM_JOB_ID] run $(( ${SLURM_RESTART_COUNT:-0} + 1 )) on $(hostname -s), $(date '+%F %T')"
RC=0
STEP_STOPS=wait
run_step "$WORK_DIR" srun --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "$PY" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm --resume "$@" || RC=$?
if [ "$RC" = 138 ]; then
  echo "[job $SLURM_JOB_ID] the time limit is near: requeued, the next run resumes from $(cat "$WORK_DIR/last_checkpoint")"
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$RC"
