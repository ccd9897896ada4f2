"""Run an exported model in ONNX Runtime on one image: python tools/deployment/onnx_infer.py model.onnx IMAGE --out OUT

The image (any size; gray and RGBA are converted) goes through the test pipeline and data preprocessor of the
config stored in the ONNX file, then the graph (ONNX Runtime, CPU), then the NumPy post-processing; detections and
label maps are drawn like tools/demo.py draws them. A backbone-only model prints its feature shapes.
"""
import argparse

from mmpoolformer.cli import run_cli


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model', help='.onnx file written by tools/deployment/export_onnx.py')
    parser.add_argument('image')
    parser.add_argument('--out', help='image file to draw the prediction into (detector or segmentor)')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: lowest score drawn')
    parser.add_argument('--threads', type=int, help='ONNX Runtime threads (default: all cores)')
    args = parser.parse_args()
    from mmpoolformer.apis import draw, read_image
    from mmpoolformer.deployment import OnnxModel
    model = OnnxModel(args.model, threads=args.threads)
    img = read_image(args.image)
    result, metainfo = model.predict(img)
    if model.kind == 'backbone':
        print('features: ' + ', '.join('x'.join(map(str, f.shape)) for f in result))
        return
    if model.kind == 'detector':
        shown = result['scores'] >= args.score_thr
        print(f"{shown.sum()} detections with score >= {args.score_thr} ({len(shown)} in all)")
    else:
        print(f'label map {result.shape[0]}x{result.shape[1]}, classes present: {sorted(set(result.ravel().tolist()))}')
    if args.out:
        draw(model.dataset_meta, model.cfg, img, model.data_sample(result, metainfo), args.out, args.score_thr)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
