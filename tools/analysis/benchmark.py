"""Speed of mmpoolformer's backbones against their peers, and of whole models, eager against fast.

    python tools/analysis/benchmark.py backbone --arch s12 --shape 800 1216 [--batch 1] [--official-src FILE]
    python tools/analysis/benchmark.py backbone --arch caformer_s18 --shape 800 1216 [--depths 1 1 1 1]
    python tools/analysis/benchmark.py train --arch s12 --shape 512 512 --batch 2
    python tools/analysis/benchmark.py model CONFIG [--checkpoint CKPT] --shape 800 1216 [--batch 1]
    python tools/analysis/benchmark.py loop CONFIG [--iters 20] [--runs fp32 amp compile]
    python tools/analysis/benchmark.py onnx CONFIG [--checkpoint CKPT] --shape 800 1216 [--backbone-only]

backbone: inference of the feature pyramid. Ours (eager; deploy = folded + channels_last; fast fp32 = folded +
channels_last + torch.compile; fast bf16 = the same under bf16 autocast) against mmpretrain 1.2's ``PoolFormer``,
timm's ``features_only`` model and the official definition (``--official-src``, the sail-sg repository's
``models/poolformer.py``, not on PyPI), all loaded with one set of random official-layout weights and checked equal
to ours before anything is timed. ``--arch FAMILY_SIZE`` (``caformer_s18``, ``convformer_m36``, ``poolformerv2_s12``,
``identityformer_s12``, ``randformer_s12``, ...) times a model of "MetaFormer Baselines for Vision" against timm's
(its stage outputs without output norms); RandFormer runs only at a square ``--shape``. ``--depths`` keeps only the
first blocks of each stage in every model. ``--floor`` adds the compute floor (the heavy kernels replayed alone),
``--plot`` the eager cost against input size.

train: one training step (forward, a loss over every pyramid level, backward) of the same models; ours in fp32, with
``with_cp``, channels_last, bf16 autocast (and ``--compile-train``), losses and gradients checked first.

model: a config's detector or segmentor through its test path, eager fp32 against the fast path, and the network
alone. loop: the config's own training loop through tools/train.py in fp32 and each of ``--runs`` from the same seed.
onnx: the exported graph in ONNX Runtime against the same graph in PyTorch eager fp32.

Every mode prints median/min/max ms, images/s, peak memory and compile time, and ends with a ``summary:`` line
(backbone: ``summary: best peer fp32 <ms> ms (<name>); fast fp32 <ms> ms (<x>x); fast bf16 <ms> ms (<x>x)``);
``--out`` writes the results as JSON. The harness is :mod:`mmpoolformer_lab.benchmark`.
"""
import argparse
import json

import torch

from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError
from mmpoolformer.fileio import write_text_atomically
from mmpoolformer_lab.benchmark import (
    LOOP_RUNS,
    benchmark_backbone,
    benchmark_loop,
    benchmark_model,
    benchmark_onnx,
    benchmark_train_step,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('mode', choices=['backbone', 'train', 'model', 'loop', 'onnx'])
    parser.add_argument('config', nargs='?', help='model/loop/onnx modes: the config of a detector or segmentor')
    parser.add_argument('--backbone-only', action='store_true', help='onnx mode: the backbone alone')
    parser.add_argument('--iters', type=int, default=20, help='loop mode: training iterations of each run')
    parser.add_argument('--seed', type=int, default=0, help='loop mode: the training seed of every run')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='loop mode: passed to every tools/train.py run')
    parser.add_argument('--runs', nargs='+', choices=list(LOOP_RUNS), default=['fp32', 'amp'],
                        help='loop mode: tools/train.py runs to compare (fp32 always runs, as the reference)')
    parser.add_argument('--checkpoint', help='model/onnx modes: weights to load (default: the model\'s own '
                                             'initialisation)')
    parser.add_argument('--arch', default='s12',
                        help='backbone/train modes: a PoolFormer size (s12, s24, s36, m36, m48) or a baselines model '
                             'FAMILY_SIZE: caformer/convformer _s18, _s36, _m36, _b36; poolformerv2/identityformer/'
                             'randformer _s12, _s24, _s36, _m36, _m48 (e.g. caformer_s18)')
    parser.add_argument('--depths', type=int, nargs='+',
                        help='backbone/train modes: blocks per stage instead of the arch\'s (at most its own; every '
                             'model keeps the first blocks of each stage): a quick check of a large model')
    parser.add_argument('--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='input height and width (default 800 1216; train mode 512 512)')
    parser.add_argument('--batch', type=int, default=None, help='images per call (default 1; train mode 2)')
    parser.add_argument('--repeats', type=int, default=10, help='timed calls of each model (interleaved)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed calls first (compilation happens here)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s choice)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--official-src', help='the official repository\'s models/poolformer.py, timed as a peer')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest |diff| allowed for fp32 models, times the outputs\' largest magnitude (if > 1)')
    parser.add_argument('--bf16-tolerance', type=float, default=2e-2,
                        help='largest relative error allowed for bf16 variants (backbone mode: or the best peer\'s '
                             'own error under bf16 autocast, if larger; train mode: of the loss, 5x that of the stem '
                             'gradient)')
    parser.add_argument('--force-bf16', action='store_true',
                        help='time bf16 even where the CPU has no bf16 instructions (emulated, slow)')
    parser.add_argument('--compile-train', action='store_true',
                        help='train mode: also time the channels_last variants passed through torch.compile '
                             '(forward and backward; compiling takes minutes on a CPU)')
    parser.add_argument('--match-timm', action='store_true',
                        help='train mode: ours without output norms, so that timm\'s features_only model is the peer '
                             '(also under bf16 autocast)')
    parser.add_argument('--floor', action='store_true',
                        help='backbone mode: also measure the compute floor (the matrix products, convolutions and '
                             'attention of one call, each replayed alone) and the largest speedup it leaves')
    parser.add_argument('--plot', help='backbone mode: PNG of cost against input pixels, pooling vs hybrid')
    parser.add_argument('--plot-sizes', type=int, nargs='+', default=[224, 320, 448, 640, 800],
                        help='square input sides for --plot')
    parser.add_argument('--smoke', action='store_true',
                        help='a quick run that checks the tool: tiny input, 1 warm-up, 2 repeats')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    default_shape = (512, 512) if args.mode == 'train' else (800, 1216)
    args.shape = tuple(args.shape or ((64, 96) if args.smoke else default_shape))
    args.batch = args.batch or (2 if args.mode == 'train' else 1)
    if args.smoke:
        args.repeats, args.warmup, args.plot_sizes = 2, 1, [64, 96]
    return args


def run(args) -> dict:
    """The mode ``args.mode`` with the arguments it takes."""
    device = torch.device(args.device)
    timing = dict(repeats=args.repeats, warmup=args.warmup)
    if args.mode == 'backbone':
        return benchmark_backbone(args.arch, args.shape, args.batch, device, args.depths, **timing,
                                  tolerance=args.tolerance, bf16_tolerance=args.bf16_tolerance,
                                  force_bf16=args.force_bf16, official_src=args.official_src, floor=args.floor,
                                  plot=args.plot, plot_sizes=args.plot_sizes)
    if args.mode == 'train':
        return benchmark_train_step(args.arch, args.shape, args.batch, device, args.depths, **timing,
                                    bf16_tolerance=args.bf16_tolerance, force_bf16=args.force_bf16,
                                    compile_train=args.compile_train, official_src=args.official_src,
                                    match_timm=args.match_timm)
    if not args.config:
        raise ConfigError(f'{args.mode} mode needs a config: benchmark.py {args.mode} CONFIG ...')
    if args.mode == 'model':
        return benchmark_model(args.config, args.shape, args.batch, device, args.checkpoint, **timing,
                               tolerance=args.tolerance, bf16_tolerance=args.bf16_tolerance,
                               force_bf16=args.force_bf16)
    if args.mode == 'loop':
        return benchmark_loop(args.config, args.iters, args.runs, args.seed, args.cfg_options,
                              log=lambda line: print(line, flush=True))
    if args.batch != 1:
        raise ConfigError('onnx mode times batch 1 (the exported detector takes one image); drop --batch')
    return benchmark_onnx(args.config, args.shape, args.checkpoint, args.backbone_only, **timing)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run(args)
    if args.out:
        write_text_atomically(args.out, json.dumps(result, indent=1), what='results file')
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
