"""Stop signals: a run asked to stop (SIGTERM, Ctrl-C, the Slurm time-limit signal) ends at a point it can save.

What sends them: ``scancel``, ``scontrol requeue`` and a preempting partition send SIGTERM to every task of a Slurm job
(then SIGKILL after the cluster's grace time, ``KillWait``); ``sbatch --signal=USR1@SECONDS`` (as
``tools/slurm_submit.sh`` submits) sends SIGUSR1 that long before the time limit; torchrun passes the SIGTERM or
SIGINT it receives on to its workers (SIGKILL after ``TORCH_ELASTIC_SHUTDOWN_TIMEOUT`` seconds, default 30); Ctrl-C
sends SIGINT.

While :class:`StopSignals` is installed (a run's ``train()`` / ``val()`` / ``test()``), each of these signals is
either

- *deferred* (while the training loop runs, see :meth:`StopSignals.deferred`): it is noted, and the loop stops at
  its next stop point (after the iteration in progress, see :mod:`.resumable_loops`), where the runner can save
  exactly that position; or
- *immediate* (anywhere else: setting up, testing): :class:`StopRequested` is raised at once, as Ctrl-C raises
  ``KeyboardInterrupt``.

A SIGINT while a deferred signal waits (Ctrl-C pressed twice) raises :class:`StopRequested` at once, with
``forced`` set: the run ends without saving.

In a distributed run the ranks decide together (:func:`agreed_stop`): every rank stops at the same stop point when any
of them was signalled, so a signal that reaches one process stops all of them in step. The exit code of a stopped
tool is 128 + the signal's number, as a shell reports a process the signal ended (SIGINT 130, SIGUSR1 138, SIGTERM
143).
"""
import contextlib
import os
import shlex
import signal
import sys
import threading
from typing import List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
REASONS = {signal.SIGTERM: 'SIGTERM', signal.SIGINT: 'Ctrl-C (SIGINT)',
           signal.SIGUSR1: 'SIGUSR1 (the job\'s time limit is near)'}


def exit_code(signum: int) -> int:
    """The exit code of a tool stopped by ``signum``: 128 + its number, as a shell reports it."""
    return 128 + int(signum)


class StopRequested(BaseException):
    """A stop signal ended the run (a ``BaseException``, as ``KeyboardInterrupt``, so that no ``except Exception``
    swallows it).

    Args:
        signum: the signal.
        forced: a second Ctrl-C: the run ends without saving.
        at_stop_point: raised at a stop point of the training loop, where the run's position can be saved.
        message: the one line the tool ends with (set by the runner, which knows what was saved and how to go on;
            empty on ranks other than 0, which print nothing).
    """

    def __init__(self, signum: int, forced: bool = False, message: Optional[str] = None,
                 at_stop_point: bool = False):
        self.signum, self.forced, self.at_stop_point = int(signum), forced, at_stop_point
        self.message = message if message is not None else f'stopped by {REASONS[self.signum]}'
        super().__init__(self.message)

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)


class StopSignals:
    """The process's handlers of :data:`STOP_SIGNALS`, installed by :meth:`installed` (main thread only; elsewhere
    Python cannot install handlers and the signals keep their default action)."""

    def __init__(self):
        self.pending: Optional[int] = None  # the first deferred signal not yet acted on
        self._deferring = 0
        self._previous = None
        self._pid = None

    @contextlib.contextmanager
    def installed(self):
        """Handle the stop signals for the duration of the block (re-entrant: an inner use changes nothing)."""
        if self._previous is not None or threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        self.pending, self._pid = None, os.getpid()
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous = None

    @property
    def deferring(self) -> bool:
        return self._deferring > 0

    @contextlib.contextmanager
    def deferred(self):
        """Within the block a stop signal is only noted in :attr:`pending` (the training iterations)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1

    def _handle(self, signum, frame) -> None:
        if os.getpid() != self._pid:  # a forked DataLoader worker: the process that owns it decides
            return
        if not self._deferring:
            raise StopRequested(signum)
        if self.pending is None:
            self.pending = signum
        elif signum == signal.SIGINT:  # Ctrl-C while a stop waits for the end of the iteration: stop now
            self.pending = None
            raise StopRequested(signum, forced=True)
        # a repeated SIGTERM / SIGUSR1 (torchrun passes its own on) changes nothing: the stop already waits

    def agreed(self) -> Optional[int]:
        """The signal the ranks agree to stop for at this stop point (None: go on); every rank must call it at the
        same point of the run. A noted signal stays noted, so that a Ctrl-C while the run saves its position forces
        the stop."""
        return agreed_stop(self.pending)


def agreed_stop(local: Optional[int]) -> Optional[int]:
    """Whether any rank of the run was signalled: the largest signal number among the ranks (None if none was); in
    a run of one process, ``local`` itself. A collective: every rank calls it at the same point."""
    if get_world_size() == 1:
        return local
    flag = torch.tensor([local or 0], dtype=torch.int64)
    all_reduce(flag, op='max')  # mmengine.dist moves it to the backend's device and back
    return int(flag.item()) or None


def launch_command() -> List[str]:
    """The command that started this run: ``MMPF_LAUNCH_COMMAND`` where a launch script set it
    (``tools/dist_train.sh``, ``tools/slurm_train.sh``, ...), else this process's own command line."""
    if os.environ.get('MMPF_LAUNCH_COMMAND'):
        return shlex.split(os.environ['MMPF_LAUNCH_COMMAND'])
    return ['python', *sys.argv]


def resume_command() -> str:
    """:func:`launch_command` with ``--resume`` (in place of any ``--resume CKPT``): it continues from the checkpoint
    ``last_checkpoint`` names."""
    args, kept = launch_command(), []
    while args:
        arg = args.pop(0)
        if arg == '--resume':
            if args and not args[0].startswith('-') and args[0].endswith('.pth'):
                args.pop(0)
            continue
        if not arg.startswith('--resume='):
            kept.append(arg)
    return shlex.join([*kept, '--resume'])
