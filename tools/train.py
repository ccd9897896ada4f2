"""Train a detector or segmentor from a config: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ..."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from mmpoolformer.engine.build import add_common_args, build_runner, load_config, run_cli  # noqa: E402
from mmpoolformer.engine.config import ConfigError, check_data_paths  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model of an mmpoolformer config (mmdet or mmseg)')
    parser.add_argument('config', help='config file, e.g. configs/retinanet_poolformer_s12_fpn_coco.py')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or without a value from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training (needs a CUDA GPU)')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise ConfigError('--amp needs a CUDA GPU (mmengine AmpOptimWrapper); drop --amp to train in fp32 on CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    hooks = cfg.get('custom_hooks') or []
    if not any('NonFiniteLossHook' in str(h.get('type')) for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='mmpoolformer.NonFiniteLossHook')]
    check_data_paths(cfg, 'train')
    if cfg.get('val_cfg'):
        check_data_paths(cfg, 'val')
    build_runner(cfg).train()


if __name__ == '__main__':
    run_cli(main)
