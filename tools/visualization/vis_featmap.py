"""Feature maps of a model's backbone stages (or neck levels) over an image.

    python tools/visualization/vis_featmap.py IMAGE CONFIG [CHECKPOINT] --out FILE [--stages 0 1 2 3] [--neck]
                                              [--reduction mean|max] [--topk K]

The image goes through the config's test pipeline and data preprocessor, as in testing, and the maps are drawn over
the image as the network sees it (resized, or cropped for a classifier). Each requested backbone stage (``--stages``,
indices into the backbone's outputs; default all) or neck level (``--neck``) is drawn over the image with MMEngine's
``Visualizer.draw_featmap``, labelled ``out INDEX /STRIDE``: one row per output, one panel of the image's size per
row (the channel mean or max) or ``--topk K`` panels (the K channels with the largest mean activation). Padding added
by the preprocessor is cropped away; images smaller than 256 px are drawn upscaled. Without a checkpoint the model
keeps its own initialisation. The drawing is :func:`mmpoolformer.analysis.featmap.feature_map_drawing`.
"""

import cv2

from mmpoolformer.analysis.featmap import feature_map_drawing
from mmpoolformer.apis import image_through_model
from mmpoolformer.cli import image_model_parser, run_cli
from mmpoolformer.fileio import write_image_atomically


def main(argv=None) -> None:
    parser = image_model_parser(__doc__)
    parser.add_argument('--stages', type=int, nargs='+', help='indices into the backbone (or neck) outputs')
    parser.add_argument('--neck', action='store_true', help='draw the neck\'s levels instead of the backbone\'s')
    parser.add_argument('--reduction', choices=['mean', 'max'], default='mean', help='channels to one map')
    parser.add_argument('--topk', type=int, default=0, help='draw the K most active channels instead')
    parser.add_argument('--alpha', type=float, default=0.5, help='weight of the map over the image')
    args = parser.parse_args(argv)
    model, cfg, inputs, sample, network_view = image_through_model(args.image, args.config, args.checkpoint,
                                                                   args.trust_checkpoint)
    canvas, stages = feature_map_drawing(model, inputs, sample, network_view, args.stages, args.neck, args.reduction,
                                 args.topk, args.alpha)
    write_image_atomically(args.out, cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), what='drawing')
    print(f'wrote {args.out} ({len(stages)} row(s), {canvas.shape[1]}x{canvas.shape[0]} px)')


if __name__ == '__main__':
    run_cli(main)
