"""Train a detector, segmentor or image classifier from a config:
python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--compile] ...

The tool is :mod:`mmpoolformer.cli.train`; the runtime (runner, hooks, checks) is the config's
(``configs/_base_/mmpoolformer_runtime.py``), so MMDetection's / MMSegmentation's / MMPretrain's own
``tools/train.py`` train the same way."""
from mmpoolformer.cli import run_cli
from mmpoolformer.cli.train import main

if __name__ == '__main__':
    run_cli(main)
