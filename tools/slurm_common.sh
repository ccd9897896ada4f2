# Shared by the Slurm scripts (sourced): the resources a job asks for, and the command its last line repeats.
#   GPUS           processes in all (default 8)        GPUS_PER_NODE  processes per node (default 8)
#   CPUS_PER_TASK  CPU cores per process (default 5)   SRUN_ARGS / SBATCH_ARGS  more options for srun / sbatch
# GPUs are asked for (--gres=gpu:N) only where the partition has them (sinfo's GRES column); on a partition without
# GPUs the processes run on CPU with gloo, CPUS_PER_TASK threads each, and the scripts say so in one line.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python

# slurm_resources PARTITION: fills RESOURCES with the options for srun / sbatch
slurm_resources() {
  local partition=$1 gres
  GPUS=${GPUS:-8}
  GPUS_PER_NODE=${GPUS_PER_NODE:-8}
  CPUS_PER_TASK=${CPUS_PER_TASK:-5}
  local per_node=$(( GPUS < GPUS_PER_NODE ? GPUS : GPUS_PER_NODE ))
  RESOURCES=(--ntasks="$GPUS" --ntasks-per-node="$per_node" --cpus-per-task="$CPUS_PER_TASK")
  gres="$(sinfo -h -p "$partition" -o %G 2>/dev/null | sort -u | tr '\n' ' ' | sed 's/ *$//')"
  if [[ "$gres" == *gpu* ]]; then
    RESOURCES+=(--gres=gpu:"$per_node")
  elif [ -n "$gres" ]; then  # (an unknown partition gives nothing: srun / sbatch then say so themselves)
    echo "partition $partition has no GPUs (sinfo GRES: $gres): its $GPUS processes ($per_node per node) run on CPU" \
         "with gloo, $CPUS_PER_TASK core(s) each" >&2
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$CPUS_PER_TASK}
  fi
}

# launch_command SCRIPT ARGS...: MMPF_LAUNCH_COMMAND, the command (with the resource variables that were set) that a
# stopped run's last line gives for going on
launch_command() {
  local script=$1 settings="" var
  shift
  for var in GPUS GPUS_PER_NODE CPUS_PER_TASK SRUN_ARGS SBATCH_ARGS STOP_BEFORE_LIMIT; do
    if [ -n "${!var:-}" ]; then settings+="$var=$(printf '%q' "${!var}") "; fi
  done
  local scripts; scripts=$([ "$PWD" = "$ROOT" ] && echo tools || printf %q "$ROOT/tools")
  export MMPF_LAUNCH_COMMAND="${settings}bash $scripts/$script$(printf ' %q' "$@")"
}

# step_reports DIR: a fresh folder in DIR (on the cluster's shared file system) where a job step's processes report
# how they end (MMPF_RUN_STATUS, see mmpoolformer.cli.run_status)
step_reports() {
  mkdir -p "$1"
  MMPF_RUN_STATUS="$(mktemp -d "$1/.run-status.XXXXXX")"
  export MMPF_RUN_STATUS
}

# step_end EXIT_CODE: after the step, the one line its reports make if it failed, and its exit code as the processes
# meant it (the stop's 128 + signal, even where srun ended the last ones itself); the folder removed either way
step_end() {
  if [ "$1" = 0 ]; then
    rm -rf "$MMPF_RUN_STATUS"
  else
    "$PY" -m mmpoolformer.cli.run_status "$MMPF_RUN_STATUS" "${GPUS:-${SLURM_NTASKS:-1}}" "$1"
  fi
}

# run_step DIR COMMAND...: run a job step (srun ...) with step_reports in DIR; return its exit code after step_end.
# The step runs in the background, so that a Ctrl-C (or a SIGTERM) reaches this script rather than srun, which would
# end the step at once: the script passes it on to the step's processes through Slurm (scancel --signal), and they
# save their position and stop; a second one ends the step at once. In a batch job (STEP_STOPS=wait) Slurm signals
# every process of the job itself: the script only waits for the step to end.
run_step() {
  local dir=$1 rc
  shift
  step_reports "$dir"
  "$@" &
  STEP_PID=$!
  STOPS=0
  trap 'stop_step INT' INT
  trap 'stop_step TERM' TERM
  # wait in short naps, not on the step itself: a trapped signal should interrupt any wait, but bash has been seen
  # (once, in CI) to hold a Ctrl-C's trap back until the step ended; a trap runs at the latest when a nap ends
  while kill -0 "$STEP_PID" 2>/dev/null; do
    sleep 1 &
    wait $! || true
  done
  wait "$STEP_PID" && rc=0 || rc=$?
  trap - INT TERM
  step_end "$rc" && rc=0 || rc=$?
  return "$rc"
}

# stop_step SIGNAL: the first time, SIGNAL to every process of the step's job (they report its id); then, or without
# an id yet, end the step at once (STEP_STOPS=wait: only a note)
stop_step() {
  local job
  if [ "${STEP_STOPS:-pass}" = wait ]; then
    echo "SIG$1 at $(date '+%F %T'): waiting for the training processes to save their position and end" >&2
    return
  fi
  STOPS=$((STOPS + 1))
  job="$(sed -n 's/.*"slurm_job": *"\([0-9]*\)".*/\1/p' "$MMPF_RUN_STATUS"/rank-*.json 2>/dev/null | head -n 1)"
  if [ "$STOPS" = 1 ] && [ -n "$job" ]; then
    echo "SIG$1: passed on to the processes of job $job, which save their position and stop (again: stop at once)" >&2
    scancel --signal="$1" "$job" || true
  else
    kill -TERM "$STEP_PID" 2>/dev/null || true
  fi
}
