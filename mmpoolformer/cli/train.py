"""``tools/train.py``: train a detector, segmentor or image classifier from a config.

Argument handling only: the runtime (runner, hooks, checks) is the config's
(``configs/_base_/mmpoolformer_runtime.py``), so MMDetection's / MMSegmentation's / MMPretrain's own ``tools/train.py``
train the same way. Also run as ``python -m mmpoolformer.cli.train`` by the benchmark's loop mode and the studies.
"""
import argparse

import torch

from ..engine import build_runner
from ..engine.acceleration import resolve_dtype
from ..engine.compile_env import check_cpp_compiler, use_persistent_compile_cache
from .common import add_common_args, load_config, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model of an mmpoolformer config (mmdet, mmseg or mmpretrain)')
    parser.add_argument('config', help='config file, e.g. configs/retinanet_poolformer_s12_fpn_coco.py')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or without a value from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast on CPU (needs bf16 instructions), fp16 with dynamic loss '
                             'scaling on CUDA (see --amp-dtype)')
    parser.add_argument('--amp-dtype', choices=['fp16', 'bf16'], default=None,
                        help='autocast dtype for --amp (default: bf16 on CPU, fp16 on CUDA)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the training step (MMEngine runner compile); see README "Speed" for '
                             'when it pays')
    parser.add_argument('--skip-unreadable-images', action='store_true',
                        help='skip missing/empty/undecodable training images with a warning naming each (same as '
                             '--cfg-options skip_unreadable_images=True)')
    add_common_args(parser)
    return parser.parse_args(argv)


def set_mixed_precision(cfg, dtype=None) -> None:
    """CUDA: MMEngine's AmpOptimWrapper (fp16 with dynamic loss scaling, or bf16). CPU: bf16 autocast through
    mmpoolformer's AutocastOptimWrapper (MMEngine's is CUDA-only; bf16 needs no loss scaling)."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dtype = dtype or ('fp16' if device == 'cuda' else 'bf16')
    resolve_dtype(dtype, device)  # one clear line where the device cannot do it
    if device == 'cuda':
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        cfg.optim_wrapper.type = 'mmpoolformer.AutocastOptimWrapper'
        cfg.optim_wrapper.device_type = 'cpu'
    cfg.optim_wrapper.dtype = 'float16' if dtype == 'fp16' else 'bfloat16'


def prepare_compile() -> None:
    """On CPU, inductor needs a C++ compiler (one clear line if there is none) and gets the persistent kernel cache."""
    if not torch.cuda.is_available():
        check_cpp_compiler()
        use_persistent_compile_cache()


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    if args.skip_unreadable_images:
        cfg.skip_unreadable_images = True
    if args.amp:
        set_mixed_precision(cfg, args.amp_dtype)
    if args.compile:
        prepare_compile()
        cfg.compile = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    build_runner(cfg).train()


if __name__ == '__main__':
    run_cli(main)
