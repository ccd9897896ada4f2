"""Convert a PoolFormer weight file to mmpoolformer's key layout: python tools/convert_checkpoint.py SRC DST

The tool is :mod:`mmpoolformer.cli.convert` (also ``mmpoolformer convert`` where the package is installed)."""
from mmpoolformer.cli import run_cli
from mmpoolformer.cli.convert import main

if __name__ == '__main__':
    run_cli(main)
