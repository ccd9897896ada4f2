"""One run per work dir: a run claims its work dir with a small lock file before it writes anything there.

The file, ``WORK_DIR/.mmpoolformer.lock``, holds the claiming process's pid, host, start time and command line. It is
created atomically (``O_CREAT | O_EXCL``), so of two runs started into one work dir at once exactly one gets it; the
other ends in one line naming the run that holds it. The claim is released when the run's ``train()`` / ``val()`` /
``test()`` ends, however it ends, and at interpreter exit. A claim whose process no longer exists (killed, or a
machine that rebooted) is taken over with a one-line note; so is one made by an earlier run of the same Slurm job
(``SLURM_JOB_ID``, with a smaller ``SLURM_RESTART_COUNT``: a requeued job runs again, maybe on another node, only
after Slurm has ended every process of its earlier run). Any other claim made on another host cannot be checked
and is respected (the message says which file to delete if that run is over). The process holding a claim may claim
again (train, then test, in one process).
"""
import atexit
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Dict, Optional

from ..errors import ConfigError

LOCK_NAME = '.mmpoolformer.lock'
_held: Dict[str, int] = {}  # lock path -> how many claims of this process hold it


def _process_start(pid: int) -> Optional[str]:
    """The kernel's start time of process ``pid`` (Linux ``/proc``; None elsewhere or if it does not exist), which
    tells a reused pid from the process that wrote a claim."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(owner: dict) -> bool:
    """Whether the process of a claim made on this host still runs."""
    pid = int(owner.get('pid', -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    started = owner.get('process_start')
    return started is None or _process_start(pid) in (None, started)


def _describe(owner: dict) -> str:
    return (f"pid {owner.get('pid')} on {owner.get('host')}, started {owner.get('started')}: "
            f"{owner.get('command', '?')}")


class WorkDirClaim:
    """The claim of one work dir by this process: :meth:`acquire`, :meth:`release`."""

    def __init__(self, work_dir: str):
        self.work_dir = osp.abspath(work_dir)
        self.path = osp.join(self.work_dir, LOCK_NAME)
        self.held = False

    def _mine(self) -> dict:
        return dict(pid=os.getpid(), host=socket.gethostname(), process_start=_process_start(os.getpid()),
                    started=time.strftime('%Y-%m-%d %H:%M:%S'), command=' '.join(sys.argv),
                    slurm_job=os.environ.get('SLURM_JOB_ID'), slurm_run=int(os.environ.get('SLURM_RESTART_COUNT', 0)))

    def _read(self) -> Optional[dict]:
        """The claim in the lock file; None if it has just gone; ``{}`` if it cannot be read as a claim."""
        try:
            with open(self.path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        try:
            owner = json.loads(text)
        except ValueError:
            return {}
        return owner if isinstance(owner, dict) else {}

    def acquire(self) -> Optional[str]:
        """Claim the work dir (creating it if needed). Returns a note when a claim of a process that no longer
        exists was taken over, else None; raises :class:`~mmpoolformer.errors.ConfigError` when another run holds
        it."""
        if self.path in _held:  # this process holds it already
            _held[self.path] += 1
            self.held = True
            return None
        os.makedirs(self.work_dir, exist_ok=True)
        note = None
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._read()
                if owner is None:  # released meanwhile: try again
                    continue
                if owner == {} and time.time() - osp.getmtime(self.path) < 5:  # being written right now
                    time.sleep(0.2)
                    continue
                earlier_run_of_this_job = bool(owner) and owner.get('slurm_job') not in (None, '') and \
                    owner.get('slurm_job') == os.environ.get('SLURM_JOB_ID') and \
                    int(owner.get('slurm_run', 0)) < int(os.environ.get('SLURM_RESTART_COUNT', 0))
                if owner and owner.get('host') != socket.gethostname() and not earlier_run_of_this_job:
                    raise ConfigError(f'work dir {self.work_dir} is claimed by a run on another machine '
                                      f'({_describe(owner)}); pass another --work-dir, or wait for that run to end '
                                      f'(if it has ended, delete {self.path})')
                if owner and not earlier_run_of_this_job and _alive(owner):
                    raise ConfigError(f'work dir {self.work_dir} is in use by another run ({_describe(owner)}); '
                                      f'pass another --work-dir, or wait for that run to end')
                self._take_over(owner)
                note = (f'work dir {self.work_dir}: took over the claim of a run that no longer runs '
                        f'({_describe(owner) if owner else "unreadable claim"})')
                continue
            with os.fdopen(fd, 'w') as f:
                json.dump(self._mine(), f)
            _held[self.path] = 1
            self.held = True
            atexit.register(self.release)
            return note
        raise RuntimeError(f'could not claim {self.path}: it kept changing')

    def _take_over(self, stale: dict) -> None:
        """Move the stale claim aside, unless another process replaced it meanwhile (then it is put back)."""
        aside = f'{self.path}.stale-{os.getpid()}'
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        with open(aside) as f:
            try:
                moved = json.loads(f.read())
            except ValueError:
                moved = {}
        if moved != stale and moved.get('pid') not in (None, stale.get('pid')):  # a fresh claim: give it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        os.remove(aside)

    def release(self) -> None:
        """Give the claim up (when this process's last claim of the work dir ends)."""
        if not self.held:
            return
        self.held = False
        _held[self.path] -= 1
        if _held[self.path] > 0:
            return
        del _held[self.path]
        owner = self._read()
        if owner and owner.get('pid') == os.getpid():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
