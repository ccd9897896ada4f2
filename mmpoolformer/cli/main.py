"""The ``mmpoolformer`` command (and ``python -m mmpoolformer``): the tools of the repository's ``tools/`` for an
installed package, as subcommands::

    mmpoolformer train CONFIG [--work-dir DIR] ...     # tools/train.py
    mmpoolformer test CONFIG CHECKPOINT ...            # tools/test.py
    mmpoolformer demo IMAGE CONFIG CHECKPOINT --out F  # tools/demo.py
    mmpoolformer convert SRC DST                       # tools/convert_checkpoint.py
    mmpoolformer configs                               # the configs usable as mmpoolformer::PATH bases
    mmpoolformer env                                   # tools/collect_env.py

Each subcommand takes the tool's own arguments (``mmpoolformer train --help``) and ends as the tool does (one line
and exit code 2 for a user error; see :func:`.common.run_cli`).
"""
import importlib
import os
import sys

from .common import run_cli

# subcommand -> (module with main(), what it does)
SUBCOMMANDS = {
    'train': ('mmpoolformer.cli.train', 'train a detector, segmentor or classifier from a config'),
    'test': ('mmpoolformer.cli.test', 'evaluate a checkpoint (mAP / mIoU / accuracy), draw, dump predictions'),
    'demo': ('mmpoolformer.cli.demo', "draw a model's predictions on one image"),
    'convert': ('mmpoolformer.cli.convert', 'convert an official / timm / Hugging Face / mmpretrain weight file'),
    'configs': ('mmpoolformer.cli.main', 'list the configs usable as mmpoolformer::PATH bases'),
    'env': ('mmpoolformer.collect_env', 'print the versions of the stack, whether mmcv ops load, the device'),
}


def usage() -> str:
    rows = '\n'.join(f'  {name:<9}{what}' for name, (_, what) in SUBCOMMANDS.items())
    return (f'usage: mmpoolformer SUBCOMMAND [ARGS...]   (or python -m mmpoolformer)\n\n{rows}\n\n'
            f'mmpoolformer SUBCOMMAND --help shows its arguments.')


def list_configs() -> None:
    """Print every config shipped with the package, as the ``mmpoolformer::`` base that names it."""
    from _mmpoolformer_configs import SCOPE, packaged_configs_dir
    folder = packaged_configs_dir()
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(f for f in files if f.endswith('.py')):
            print(f'{SCOPE}::{os.path.relpath(os.path.join(root, name), folder)}')


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        sys.exit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f'error: mmpoolformer has no subcommand {name!r}; choose one of {", ".join(SUBCOMMANDS)}',
              file=sys.stderr)
        sys.exit(2)
    if name == 'configs':
        list_configs()
        return
    module = importlib.import_module(SUBCOMMANDS[name][0])
    sys.argv = [f'mmpoolformer {name}', *rest]  # the tool parses sys.argv; its usage line names the subcommand
    if name == 'env':
        module.main()
        return
    run_cli(module.main)
