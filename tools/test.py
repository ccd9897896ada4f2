"""Evaluate a checkpoint: python tools/test.py CONFIG CHECKPOINT [--out FILE] [--show-dir DIR] [--compile] [--bf16]

``--compile`` / ``--bf16`` / ``--fp16`` / ``--deploy`` (or the config's ``fast_inference`` dict) run the fast
inference path of :mod:`mmpoolformer.engine.fast_inference`. Prints the config's metrics (COCO bbox/segm mAP for
detection, mIoU/mAcc/aAcc for segmentation, accuracy/top1 and accuracy/top5 for classification) as
``metric_name: value`` lines at the end. Argument handling only: the runtime is the config's
(``configs/_base_/mmpoolformer_runtime.py``), so MMDetection's / MMSegmentation's / MMPretrain's own ``tools/test.py``
give the same metrics.
"""
import argparse
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from mmpoolformer.cli import add_common_args, add_fast_inference_args, fast_inference_options, load_config, run_cli  # noqa: E402
from mmpoolformer.engine import build_runner  # noqa: E402
from mmpoolformer.errors import ConfigError  # noqa: E402


def printed_metrics(stdout: str) -> dict:
    """The metrics in the ``name: value`` lines this tool prints at the end (parsed back, as floats)."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r'^([\w/]+): (-?\d+(?:\.\d+)?(?:e-?\d+)?)$', line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def parse_args():
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
    return parser.parse_args()


def enable_visualisation(cfg, show_dir: str) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ConfigError(f'{cfg.filename} has no default_hooks.visualization, so --show-dir cannot draw predictions; '
                          f'add the visualization hook of its codebase (e.g. mmdet DetVisualizationHook) or drop '
                          f'--show-dir')
    show_dir = osp.abspath(show_dir)
    if cfg.default_scope == 'mmpretrain':  # every image, its short side drawn at 512 px unless the config says
        hook.update(enable=True, out_dir=show_dir, interval=1)  # otherwise (resize=None: the network input's size)
        hook.setdefault('resize', 512)
        return
    hook['draw'] = True
    if cfg.default_scope == 'mmseg':
        hook['interval'] = 1
        cfg.visualizer['save_dir'] = show_dir
    else:
        hook['test_out_dir'] = show_dir


def add_output(cfg, out: str) -> None:
    if cfg.default_scope == 'mmseg':
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True
    else:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        dump = 'DumpResults' if cfg.default_scope == 'mmpretrain' else 'DumpDetResults'
        cfg.test_evaluator = evaluators + [dict(type=dump, out_file_path=out)]


def main():
    args = parse_args()
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualisation(cfg, args.show_dir)
    if args.out:
        add_output(cfg, args.out)
    fast = fast_inference_options(args.compile, args.bf16, args.fp16, args.deploy)
    if fast is not None:
        cfg.fast_inference = fast
    metrics = build_runner(cfg).test()
    from mmengine.dist import is_main_process
    if not is_main_process():
        return
    for name, value in metrics.items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    run_cli(main)
