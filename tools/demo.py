"""Draw a model's predictions on one image: python tools/demo.py IMAGE CONFIG CHECKPOINT --out OUT.png

The tool is :mod:`mmpoolformer.cli.demo` (also ``mmpoolformer demo`` where the package is installed)."""
from mmpoolformer.cli import run_cli
from mmpoolformer.cli.demo import main

if __name__ == '__main__':
    run_cli(main)
