"""Check a GPU install and measure what training costs on it:
python tools/gpu_check.py [--gpus N] [--smoke] [--skip STEP ...] [--out DIR]   (or bash tools/gpu_check.sh [N] ...)

Steps: the environment; the RetinaNet quickstart trained through tools/dist_train.sh on N GPUs and tested; the real
training loop of PoolFormer-S12 and MMDetection's R50 RetinaNet and Mask R-CNN on synthetic COCO-sized data in fp32,
AMP fp16 and AMP bf16 (seconds per iteration, data time, peak memory, images/s, the schedule's time on 1 and 8 GPUs);
the backbone's training step against timm; the CUDA paths (fp16 loss scaling, bf16, --compile, CUDA NMS/RoIAlign,
SyncBN), each passed, failed or not run; the goals. Writes DIR/gpu_check.md and DIR/gpu_check.json; exits 1 if a
step failed. --smoke runs every step at a size a CPU does in minutes: it checks the check, it measures nothing.
The steps are :mod:`mmpoolformer_lab.gpu_check`.
"""
import argparse
import sys

import torch

from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError
from mmpoolformer_lab.gpu_check import STEPS, run_gpu_check


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--gpus', type=int, default=max(1, torch.cuda.device_count()),
                        help='processes of the distributed steps (default: every GPU; 1 without CUDA)')
    parser.add_argument('--smoke', action='store_true', help='tiny sizes: checks the check on a CPU')
    parser.add_argument('--skip', nargs='+', choices=STEPS, default=[], metavar='STEP',
                        help=f'steps not to run (their rows say so), e.g. to fit a short GPU lease: {", ".join(STEPS)}')
    parser.add_argument('--out', default='work_dirs/gpu_check', help='folder of the report and the runs')
    args = parser.parse_args(argv)
    if args.gpus < 1:
        raise ConfigError(f'--gpus {args.gpus}: give 1 or more')
    if not torch.cuda.is_available() and not args.smoke:
        raise ConfigError('no CUDA device here: the GPU check measures a GPU; on a CPU run it with --smoke (it then '
                          'checks the check and measures nothing)')
    report = run_gpu_check(args.out, args.gpus, args.smoke, args.skip, log=lambda line: print(line, flush=True))
    if not report['ok']:
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
