"""Export a model to ONNX: python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out model.onnx [--dynamic]

What is exported (see mmpoolformer/deployment/graphs.py for the exact inputs and outputs):
- ``--backbone-only``: the backbone's feature pyramid (any config with a PoolFormer/MetaFormer backbone);
- a segmentor (Semantic FPN, UperNet): logits at the input size, or with ``--seg-output labels`` the label map;
- RetinaNet: candidate boxes, scores and labels; the score threshold and NMS are a NumPy step of
  tools/deployment/onnx_infer.py (mmpoolformer/deployment/postprocess.py).
The file carries the config, so tools/deployment/onnx_infer.py needs only the .onnx and an image.
"""
import argparse

from mmpoolformer.cli import run_cli


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size of the graph, after resizing and padding; without --dynamic the only '
                             'size it takes (default: the test resize scale, a square of its shorter side with '
                             'keep_ratio, rounded up to the padding divisor)')
    parser.add_argument('--dynamic', action='store_true', help='accept any input height and width at run time')
    parser.add_argument('--deploy', action='store_true',
                        help='export the folded backbone (switch_to_deploy): fewer operators, same outputs')
    parser.add_argument('--backbone-only', action='store_true', help='export only the backbone\'s feature pyramid')
    parser.add_argument('--seg-output', choices=['logits', 'labels'], default='logits',
                        help='segmentor output: logits (post-processed exactly as mmseg does) or the argmax')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser.parse_args()


def default_shape(cfg):
    """(h, w) for a static export without --shape: the test resize's (w, h) scale, or with ``keep_ratio`` a square of
    its shorter side (what a square image becomes), each side rounded up to the preprocessor's padding divisor."""
    step = next((step for step in cfg.test_dataloader.dataset.pipeline if 'scale' in step), None)
    if step is None:
        from mmpoolformer.errors import ConfigError
        raise ConfigError('the test pipeline has no Resize scale to export at; pass --shape H W')
    scale = step['scale']
    w, h = (scale, scale) if isinstance(scale, int) else scale
    if step.get('keep_ratio'):
        w = h = min(w, h)
    preprocessor = cfg.model.get('data_preprocessor', {})
    divisor = preprocessor.get('pad_size_divisor') or (preprocessor.get('test_cfg') or {}).get('size_divisor') or 1
    return -(-h // divisor) * divisor, -(-w // divisor) * divisor


def main():
    args = parse_args()
    from mmpoolformer.apis import init_model
    from mmpoolformer.deployment import export_onnx
    model, cfg = init_model(args.config, args.checkpoint, trust=args.trust_checkpoint, fast={})
    if args.deploy and hasattr(model.backbone, 'switch_to_deploy'):
        model.backbone.switch_to_deploy()
    shape = tuple(args.shape) if args.shape else default_shape(cfg)
    report = export_onnx(model, cfg, args.out, shape, dynamic=args.dynamic, backbone_only=args.backbone_only,
                         seg_labels=args.seg_output == 'labels')
    size = 'any height and width' if args.dynamic else f'{shape[0]}x{shape[1]} inputs'
    print(f"wrote {args.out} ({report['size_mb']:.1f} MB, {report['kind']}, {size}, outputs "
          f"{', '.join(report['outputs'])}) in {report['seconds']:.1f} s")
    print(f"checked in ONNX Runtime against PyTorch at {', '.join(f'{h}x{w}' for h, w in report['checked_shapes'])}: "
          f"largest relative difference {report['max_difference']:.2g}")


if __name__ == '__main__':
    run_cli(main)
