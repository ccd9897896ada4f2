"""Draw a model's predictions on one image: mmpoolformer demo IMAGE CONFIG CHECKPOINT --out OUT.png (or tools/demo.py)

Works for detection (boxes, masks), segmentation (class map) and classification configs. Grayscale and RGBA images
are converted. Prints what was found, one ``found: CLASS | SCORE | WHERE`` line each (see
:func:`mmpoolformer.apis.found_rows`: boxes in image pixels, pixel shares, or the top classes).
"""
import argparse

from ..apis import draw, found_rows, init_model, predict, read_image
from .common import add_fast_inference_args, fast_inference_options, run_cli


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output image file')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: lowest score drawn (lowers the model\'s own test threshold too)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--trust-checkpoint', action='store_true')
    add_fast_inference_args(parser)
    args = parser.parse_args(argv)
    img = read_image(args.image)
    model, cfg = init_model(args.config, args.checkpoint, args.device, trust=args.trust_checkpoint,
                            score_thr=args.score_thr,
                            fast=fast_inference_options(args.compile, args.bf16, args.fp16, args.deploy))
    result = predict(model, cfg, img)
    draw(model.dataset_meta, cfg, img, result, args.out, args.score_thr)
    for row in found_rows(model.dataset_meta, result, args.score_thr):
        print('found: ' + ' | '.join(row))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
