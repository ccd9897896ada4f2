"""How each process of a distributed run ended, and the one line its launcher ends with.

The launchers (``tools/dist_train.sh`` / ``dist_test.sh`` through :mod:`mmpoolformer.cli.torchrun`, and the Slurm
scripts) set ``MMPF_RUN_STATUS`` to a fresh folder that every process can write (for Slurm, inside the work dir or
beside the checkpoint, on the cluster's shared file system). Each rank of a tool writes ``rank-R.json`` there: its
work dir once its config is read and, when it ends, how (``ended``: ``done``, ``stopped`` by a signal, a user
``error``, ``peer_lost`` when another process of the run disappeared under it, or an ``exception``) with the line
that says so. A process killed outright (SIGKILL, the out-of-memory killer) writes nothing.

Under such a launcher the ranks print none of these last lines themselves: the launcher prints one, after its own
output (torchrun's log, srun's task exit lines), with :func:`final_line`. Without ``MMPF_RUN_STATUS`` (one process,
or another launcher) nothing is written and each tool prints its own line.

``python -m mmpoolformer.cli.run_status FOLDER PROCESSES EXIT_CODE`` prints that line for a finished job step and
exits with ``EXIT_CODE`` (the Slurm scripts, after srun).
"""
import glob
import json
import os
import os.path as osp
import shlex
import signal
import sys
from typing import Dict, Optional

from ..engine.stop_signals import launch_command, resume_command
from ..fileio import write_text_atomically

ENV = 'MMPF_RUN_STATUS'
KILLED_BY = {signal.SIGKILL: ' (the out-of-memory killer, or kill -9)'}


def reporting() -> bool:
    """Whether a launcher collects the ranks' reports (and prints the last line itself)."""
    return bool(os.environ.get(ENV))


def this_rank() -> int:
    """This process's global rank as its launcher gave it (torchrun's ``RANK``, srun's ``SLURM_PROCID``)."""
    return int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', 0)))


def record(**fields) -> None:
    """Add ``fields`` to this rank's report (nothing outside a launcher that asked for reports)."""
    folder = os.environ.get(ENV)
    if not folder or not osp.isdir(folder):
        return
    path = osp.join(folder, f'rank-{this_rank()}.json')
    report = read_report(path)
    report.update(fields)
    write_text_atomically(path, json.dumps(report), what='run status')


def read_report(path: str) -> dict:
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def read_all(folder: str) -> Dict[int, dict]:
    """Every rank's report in ``folder``, by rank."""
    return {int(osp.basename(path)[5:-5]): read_report(path)
            for path in glob.glob(osp.join(folder, 'rank-*.json'))}


def _last_checkpoint(reports: Dict[int, dict]) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` of the run's work dir points to, if that file exists."""
    work_dirs = [r['work_dir'] for _, r in sorted(reports.items()) if r.get('work_dir')]
    if not work_dirs:
        return None
    try:
        with open(osp.join(work_dirs[0], 'last_checkpoint')) as f:
            path = f.read().strip()
    except OSError:
        return None
    return path if osp.isfile(path) else None


def _how(exitcode: Optional[int], report: dict) -> str:
    line = report.get('line')
    if exitcode is None:
        return f'ended with an exception ({line})' if line else \
            'ended without a word (killed: by a signal, the out-of-memory killer or a lost node; see the lines above)'
    if exitcode < 0:
        try:
            sig = signal.Signals(-exitcode)
        except ValueError:
            return f'was killed by signal {-exitcode}'
        return f'was killed by {sig.name}{KILLED_BY.get(sig, "")}'
    return f'ended with exit code {exitcode}' + (f' ({line})' if line else '')


def final_line(reports: Dict[int, dict], world_size: int, training: bool,
               exit_codes: Optional[Dict[int, int]] = None, timestamps: Optional[Dict[int, float]] = None) -> str:
    """The line a distributed run that did not succeed ends with.

    Args:
        reports: the ranks' reports (:func:`read_all`).
        world_size: the number of processes.
        training: the tool was ``train.py`` (the line names the last checkpoint and the command that resumes; else
            the command that runs it again).
        exit_codes: the failed ranks' exit codes (negative: killed by that signal), where the launcher knows them
            (torchrun); None: ranks without a report of how they ended count as failed (srun).
        timestamps: when each failed rank was seen to fail, to tell the first (torchrun).
    """
    ended = {rank: reports.get(rank, {}).get('ended') for rank in range(world_size)}
    stopped = [rank for rank, how in ended.items() if how == 'stopped' and reports[rank].get('line')]
    if stopped:  # rank 0's line: where it stopped, what it saved, how to resume
        return reports[stopped[0]]['line']
    failed = list(exit_codes) if exit_codes is not None else [r for r, how in ended.items() if how != 'done']
    if failed and all(ended.get(rank) == 'error' for rank in failed):  # the same user error everywhere, as a rule
        return reports[failed[0]]['line']
    causes = [rank for rank in failed if ended.get(rank) not in ('peer_lost', 'stopped', 'error')] or failed
    rank = min(causes, key=lambda r: ((timestamps or {}).get(r, 0), r))
    how = _how((exit_codes or {}).get(rank), reports.get(rank, {}))
    others = 'the other processes were stopped; ' if world_size > 1 else ''
    return f'rank {rank} of {world_size} {how}; {others}{next_step(reports, training)}'


def next_step(reports: Dict[int, dict], training: bool) -> str:
    """How to go on: the last checkpoint and the command that resumes (training), or the command that runs the tool
    again."""
    if not training:
        return f'run it again with {shlex.join(launch_command())}'
    last = _last_checkpoint(reports)
    return f'last checkpoint: {last or "none yet"}; resume with {resume_command()}'


def stop_code(reports: Dict[int, dict]) -> Optional[int]:
    """The exit code of a run whose processes stopped for a signal (128 + the signal, as they exited), however the
    launcher then ended them (srun and torchrun end the others once one has left); None if none did."""
    codes = [r['code'] for r in reports.values() if r.get('ended') == 'stopped' and r.get('code')]
    return max(codes) if codes else None


def main(argv=None) -> None:
    """After a job step: print the last line of a failed run from the reports in FOLDER, remove FOLDER, and exit
    with the step's EXIT_CODE, or with the stop's code where the processes stopped for a signal."""
    import shutil
    folder, world_size, code = (argv or sys.argv[1:])[:3]
    reports, code = read_all(folder), int(code)
    shutil.rmtree(folder, ignore_errors=True)
    if code != 0 and reports:  # (no report: srun failed before any process started, and said why)
        training = any(r.get('tool') == 'train' for r in reports.values())
        print(final_line(reports, int(world_size), training), file=sys.stderr)
        code = stop_code(reports) or code
    sys.exit(code)


if __name__ == '__main__':
    main()
