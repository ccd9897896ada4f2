"""``tools/test.py``: evaluate a checkpoint and print the config's metrics as ``name: value`` lines at the end (COCO
bbox/segm mAP for detection, mIoU/mAcc/aAcc for segmentation, accuracy/top1 and accuracy/top5 for classification).

``--compile`` / ``--bf16`` / ``--fp16`` / ``--deploy`` (or the config's ``fast_inference`` dict) run the fast
inference path of :mod:`mmpoolformer.engine.acceleration`. Argument handling only: the runtime is the config's
(``configs/_base_/mmpoolformer_runtime.py``), so MMDetection's / MMSegmentation's / MMPretrain's own ``tools/test.py``
give the same metrics. Also run as ``python -m mmpoolformer.cli.test`` by the studies.
"""
import argparse
import os.path as osp

from mmengine.dist import is_main_process

from ..engine import build_runner
from ..errors import ConfigError
from ..evaluation.printed_metrics import metric_lines
from ..tasks import task_of
from .common import add_common_args, add_fast_inference_args, fast_inference_options, load_config, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint of an mmpoolformer config (mmdet, mmseg or '
                                                 'mmpretrain)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (this toolbox, official mmdet 2.x / mmseg 0.x layout; for '
                                           'classification also official, timm or mmpretrain ImageNet files)')
    parser.add_argument('--out', help='detection / classification: pickle of the raw results; segmentation: folder of '
                                      'predicted maps')
    parser.add_argument('--show-dir', help='folder to save images with the predictions drawn')
    add_common_args(parser)
    add_fast_inference_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    task = task_of(cfg)
    if args.show_dir:
        if cfg.default_hooks.get('visualization') is None:
            raise ConfigError(f'{cfg.filename} has no default_hooks.visualization, so --show-dir cannot draw '
                              f'predictions; add the visualization hook of its codebase (e.g. mmdet '
                              f'DetVisualizationHook) or drop --show-dir')
        task.show_predictions(cfg, osp.abspath(args.show_dir))
    if args.out:
        task.dump_predictions(cfg, args.out)
    fast = fast_inference_options(args.compile, args.bf16, args.fp16, args.deploy)
    if fast is not None:
        cfg.fast_inference = fast
    metrics = build_runner(cfg).test()
    if not is_main_process():
        return
    for line in metric_lines(metrics):
        print(line)


if __name__ == '__main__':
    run_cli(main)
