"""What the command-line tools share: their common arguments, reading a config with the command-line options, and
how an error or a stop ends a tool (:func:`run_cli`).

A :class:`~mmpoolformer.errors.UserError` (a bad config value, file or flag) ends a tool with one line on stderr,
``error: MESSAGE (MMPF_DEBUG=1 shows the traceback)``, and exit code 2; any other exception is a bug and keeps its
traceback. ``MMPF_DEBUG=1`` shows the traceback of user errors too. A stop signal (SIGTERM, Ctrl-C, SIGUSR1) ends a
tool with one line saying where it stopped, what was saved and how to resume, and exit code 128 + the signal's
number (:mod:`mmpoolformer.engine.stop_signals`).
"""
import argparse
import os
import os.path as osp
import re
import signal
import sys
from typing import Optional

import torch.distributed as dist
from mmengine.config import Config, DictAction

from ..engine.config_loading import read_config, set_data_root
from ..engine.stop_signals import StopRequested, exit_code
from ..errors import ConfigError, FastInferenceError, UserError
from .launch import prepare_launcher
from .run_status import record, reporting

DEBUG_HINT = ' (MMPF_DEBUG=1 shows the traceback)'


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='folder for logs and checkpoints (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--data-root', help='dataset folder replacing the data_root of the config everywhere')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_dataloader.batch_size=4 (keys must exist)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of a checkpoint not written by this toolbox (trusted files only)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def check_work_dir(work_dir: str) -> None:
    """Fail in one line if ``work_dir`` cannot be used as (or created as) a folder for logs and checkpoints."""
    path = osp.normpath(osp.expanduser(work_dir))
    if osp.exists(path):
        if not osp.isdir(path):
            raise ConfigError(f'work dir {work_dir} is a file, not a folder; pass another --work-dir')
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f'work dir {work_dir} is not writable; pass another --work-dir')
        return
    parent = osp.dirname(path) or '.'
    while not osp.exists(parent):
        parent = osp.dirname(parent) or '.'
    if not osp.isdir(parent):
        raise ConfigError(f'work dir {work_dir} cannot be created: {parent} is a file, not a folder; pass another '
                          f'--work-dir')
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f'work dir {work_dir} cannot be created: {parent} is not writable; pass another --work-dir')


def load_config(args: argparse.Namespace) -> Config:
    """The config a tool was given, read as everywhere (:func:`~mmpoolformer.engine.config_loading.read_config`,
    with ``--cfg-options``), then the tool's own options: ``--data-root``, ``--work-dir`` (checked here, in one
    line), ``--trust-checkpoint``, ``--launcher``. Config checks that every entry point needs (batch sizes) run in
    the runner."""
    cfg = read_config(args.config, args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    cfg.trust_checkpoint = args.trust_checkpoint
    record(work_dir=osp.abspath(cfg.work_dir), tool=osp.splitext(osp.basename(sys.argv[0]))[0],
           slurm_job=os.environ.get('SLURM_JOB_ID'))
    prepare_launcher(cfg, args.launcher)
    return cfg


def explain(exc: UserError) -> str:
    """The one line a user error ends a tool with (its message; for an error a DataLoader worker raised, the
    original message without the worker's traceback)."""
    message = str(exc)
    if 'Original Traceback' in message:
        message = [line for line in message.splitlines() if line.strip()][-1].strip()
        message = re.sub(rf'^(?:\w+\.)*{type(exc).__name__}: ', '', message)  # without the type name
    return ' '.join(message.split())


def close_process_group() -> None:
    """End a distributed run's process group in order (all ranks meet, then it is destroyed): left to interpreter
    exit, gloo's threads can be torn down while still running, and a rank aborts ("terminate called without an
    active exception") after its work is done."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def fast_inference_options(compile: bool, bf16: bool, fp16: bool, deploy: bool = False) -> Optional[dict]:
    """The ``fast_inference`` dict a tool's ``--compile`` / ``--bf16`` / ``--fp16`` / ``--deploy`` flags ask for
    (None when none is given). Every such dict folds the backbone and uses channels_last (``accelerate``'s
    ``deploy=True``), so ``--deploy`` alone asks for just that: ``dict(compile=False, dtype=None)``."""
    if bf16 and fp16:
        raise FastInferenceError('--bf16 and --fp16 exclude each other; pick one')
    if not (compile or bf16 or fp16 or deploy):
        return None
    return dict(compile=compile, dtype='bf16' if bf16 else 'fp16' if fp16 else None)


def add_fast_inference_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('fast inference (see mmpoolformer.engine.acceleration)')
    group.add_argument('--compile', action='store_true',
                       help='torch.compile the backbone, neck and heads (after deploy folding, channels_last)')
    group.add_argument('--bf16', action='store_true', help='bf16 autocast (CPU with bf16 instructions, or CUDA)')
    group.add_argument('--fp16', action='store_true', help='fp16 autocast (CUDA)')
    group.add_argument('--deploy', action='store_true', help='fold the backbone and use channels_last, no compile')


def image_model_parser(doc: str) -> argparse.ArgumentParser:
    """The parser of a tool that takes ``IMAGE CONFIG [CHECKPOINT] --out FILE [--trust-checkpoint]`` (the
    visualization tools); the tool adds its own options. ``doc`` is the tool's docstring."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights (default: the model\'s own initialisation)')
    parser.add_argument('--out', required=True, help='output image file (png, jpg)')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser


def lost_peer(exc: BaseException) -> bool:
    """Whether ``exc`` is a distributed run's communication failing because another of its processes ended (gloo:
    the connection to it reset or closed; NCCL: the communicator aborted)."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return False
    if isinstance(exc, getattr(dist, 'DistError', ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        ('gloo' in text and ('Connection reset by peer' in text or 'Connection closed by peer' in text))
        or 'NCCL communicator was aborted' in text)


def exception_line(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    lines = str(exc).strip().splitlines()
    return f'{type(exc).__name__}: {lines[0].strip()}' if lines else type(exc).__name__


def run_cli(main) -> None:
    """Run a tool's ``main``: a :class:`~mmpoolformer.errors.UserError` ends in one line on stderr and exit code 2
    instead of a traceback (``MMPF_DEBUG=1`` shows the traceback); a stop signal ends in its one line (where it
    stopped, what was saved, how to resume) and exit code 128 + its number, after every rank has finished saving; in
    a distributed run, losing another process ends in one line and exit code 1; other exceptions propagate. Under a
    launcher that collects :mod:`.run_status` reports, the ranks report these lines instead of printing them, and the
    launcher prints one."""
    def end(how: str, line: str, code: int, barrier: bool = False) -> None:
        record(ended=how, line=line, code=code)
        if line and not reporting():
            print(line, file=sys.stderr)
        if barrier:  # (after the line: srun may end a job step's other processes once one has left)
            close_process_group()
        sys.exit(code)

    try:
        main()
        close_process_group()
        record(ended='done')
    except UserError as exc:
        if os.environ.get('MMPF_DEBUG'):
            record(ended='error', line=f'error: {explain(exc)}')
            raise
        end('error', f'error: {explain(exc)}{DEBUG_HINT}', 2)
    except StopRequested as stop:  # every rank has saved what it saves before any of them ends (the barrier)
        end('stopped', stop.message, stop.exit_code, barrier=not stop.forced)
    except KeyboardInterrupt:  # Ctrl-C outside a run (reading the config, building the model)
        end('stopped', 'stopped by Ctrl-C (SIGINT); nothing was running that could be saved', exit_code(signal.SIGINT))
    except Exception as exc:
        if not lost_peer(exc):
            record(ended='exception', line=exception_line(exc))
            raise
        end('peer_lost', f'rank {dist.get_rank()}: another process of this run ended ({exception_line(exc)})', 1)
