"""Shared by tools/train.py and tools/test.py: read a config with the command-line overrides, build the runner."""
import argparse
import os
import os.path as osp
import re
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS

from ..checkpoint.io import CheckpointError
from .config import ConfigError, merge_cli_options, set_data_root
from .launch import prepare_launcher
from .runner import SafeRunner


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
    if not osp.isfile(args.config):
        raise ConfigError(f'config {args.config} does not exist; pass a file from configs/')
    try:
        cfg = Config.fromfile(args.config)
    except TypeError as exc:  # mmengine cannot merge a child key into its _base_ (e.g. a dict over a string)
        if 'inherit from base' not in str(exc):
            raise
        raise ConfigError(f'{args.config}: {exc}') from exc
    # toolbox keys every config has (so that --cfg-options can set them): see SafeRunner
    cfg.setdefault('skip_unreadable_images', False)
    merge_cli_options(cfg, args.cfg_options, args.config)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    cfg.trust_checkpoint = args.trust_checkpoint
    if cfg.get('demo_data'):  # quickstart configs: write the synthetic data set on first use
        from ..demo_data import demo_data_complete, make_demo_data
        if not demo_data_complete(**cfg.demo_data):
            print_log(f"writing the demo data set to {cfg.demo_data['root']}", logger='current')
            make_demo_data(**cfg.demo_data)
    prepare_launcher(cfg, args.launcher)
    return cfg


def build_runner(cfg: Config):
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return SafeRunner.from_cfg(cfg)


USER_ERRORS = (ConfigError, CheckpointError, FileNotFoundError, KeyError, IndexError, ValueError, FloatingPointError,
               AssertionError)


def explain(exc: BaseException) -> str:
    """One line for a user error, with the fix where the error type alone does not say it."""
    message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
    if 'Original Traceback' in message:  # raised in a DataLoader worker: keep the original error line
        message = [line for line in message.splitlines() if line.strip()][-1].strip()
        message = re.sub(rf'^(?:\w+\.)*{type(exc).__name__}: ', '', message)  # without the type name
    message = ' '.join(message.split())
    image = re.search(r"(?:failed to load image: |No such file or directory: ')([^']+)", message)
    if image and not image.group(1).endswith(('.json', '.py', '.pth')):
        state = 'missing' if 'No such file' in message else 'not a readable image'
        return (f'image {image.group(1)} listed in the dataset is {state}; restore the file or remove it from the '
                f'annotation file')
    return message


def close_process_group() -> None:
    """End a distributed run's process group in order (all ranks meet, then it is destroyed): left to interpreter
    exit, gloo's threads can be torn down while still running, and a rank aborts ("terminate called without an
    active exception") after its work is done."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def run_cli(main) -> None:
    """Run a tool's ``main``: a bad input ends in one line on stderr and exit code 2 instead of a traceback
    (``MMPF_DEBUG=1`` shows the traceback)."""
    try:
        main()
        close_process_group()
    except USER_ERRORS as exc:
        if os.environ.get('MMPF_DEBUG') or (isinstance(exc, AssertionError) and 'failed to load image' not in
                                            str(exc)):
            raise
        print(f'error: {explain(exc)}', file=sys.stderr)
        sys.exit(2)
