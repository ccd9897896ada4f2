"""Compare an exported model with PyTorch on the config's test set:
python tools/deployment/verify_onnx.py CONFIG CHECKPOINT model.onnx [--scale W H] [--max-images N]

Both get the same preprocessed images. Prints, per kind of graph: the largest feature difference (backbone), the
share of equal label-map pixels and mIoU of both (segmentor), or the one-to-one matched detections and bbox mAP of
both (detector). ``--scale`` changes the test pipeline's resize scale (w, h), to check a --dynamic export at sizes
it was not traced at.
"""
import argparse
import json

from mmpoolformer.cli import run_cli
from mmpoolformer.fileio import write_text_atomically


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('model', help='.onnx file written by tools/deployment/export_onnx.py from this checkpoint')
    parser.add_argument('--scale', type=int, nargs=2, metavar=('W', 'H'), help='test pipeline resize scale')
    parser.add_argument('--max-images', type=int)
    parser.add_argument('--deploy', action='store_true', help='compare with the folded PyTorch backbone')
    parser.add_argument('--out', help='write the report as JSON')
    parser.add_argument('--trust-checkpoint', action='store_true')
    args = parser.parse_args()
    from mmpoolformer.apis import init_model
    from mmpoolformer.deployment import OnnxModel
    from mmpoolformer.deployment.verify import compare_with_pytorch, set_test_scale
    model, cfg = init_model(args.config, args.checkpoint, trust=args.trust_checkpoint, fast={})
    if args.deploy:
        model.backbone.switch_to_deploy()
    onnx_model = OnnxModel(args.model)
    if args.scale:
        set_test_scale(cfg, args.scale)
    report = compare_with_pytorch(model, cfg, onnx_model, args.max_images)
    print(f"{report['images']} images, input sizes {', '.join(f'{h}x{w}' for h, w in report['input_shapes'])}")
    if report['kind'] == 'backbone':
        print(f"feature max |diff|: {report['max_abs_diff']:.3g}")
    elif report['kind'] == 'segmentor':
        print(f"label pixels equal: {100 * report['pixel_agreement']:.3f} %")
    else:
        print(f"detections (score >= 0.05) matched one to one: {report['matched']}, only in PyTorch: "
              f"{report['only_ref']}, only in ONNX: {report['only_got']}")
    for name in ('pytorch', 'onnx'):
        for key, value in report.get(f'metrics_{name}', {}).items():
            print(f'{name}/{key}: {value}')
    if args.out:
        write_text_atomically(args.out, json.dumps(report, indent=1), what='report')


if __name__ == '__main__':
    run_cli(main)
