"""Evaluate a checkpoint: python tools/test.py CONFIG CHECKPOINT [--out FILE] [--show-dir DIR] [--compile] [--bf16]

Prints the config's metrics as ``metric_name: value`` lines at the end. The tool is :mod:`mmpoolformer.cli.test`;
the runtime is the config's (``configs/_base_/mmpoolformer_runtime.py``), so MMDetection's / MMSegmentation's /
MMPretrain's own ``tools/test.py`` give the same metrics."""
from mmpoolformer.cli import run_cli
from mmpoolformer.cli.test import main

if __name__ == '__main__':
    run_cli(main)
