"""Class activation maps over an image, with the ``grad-cam`` package (pytorch-grad-cam, as the official release).

    python tools/visualization/vis_cam.py IMAGE CONFIG [CHECKPOINT] --out FILE [--method eigencam|gradcam|gradcam++]
                                          [--target-layers backbone.out_norms.3 ...] [--category NAME_OR_INDEX]

- classifier (an MMPretrain config): Grad-CAM / Grad-CAM++ of one class (``--category``; default: the predicted
  class), or EigenCAM;
- detector: EigenCAM (the first principal component of the target layers' activations; no class involved) of a
  backbone stage or neck level, e.g. ``--target-layers neck.fpn_convs.0``;
- segmentor: EigenCAM, or Grad-CAM / Grad-CAM++ of one class (``--category``, a name or an index; default: the
  predicted class covering most pixels, background excluded where the classes have one): the gradient of that
  class's logits summed over the pixels predicted as it.

The default target layer is the last backbone stage's output norm (``backbone.out_norms.<last>``); any name of
``model.named_modules()`` works, several are averaged. The image goes through the config's test pipeline and data
preprocessor; the map is cropped to the image (no padding) and drawn over the image as the network sees it (resized,
or cropped for a classifier), upscaled to 256 px where it is smaller. Without a checkpoint the model keeps its own
initialisation. The drawing is :func:`mmpoolformer.analysis.cam.cam_drawing`.
"""

import cv2

from mmpoolformer.analysis.cam import METHODS, cam_drawing
from mmpoolformer.apis import image_through_model
from mmpoolformer.cli import image_model_parser, run_cli
from mmpoolformer.fileio import write_image_atomically


def main(argv=None) -> None:
    parser = image_model_parser(__doc__)
    parser.add_argument('--method', choices=METHODS, default='eigencam')
    parser.add_argument('--target-layers', nargs='+', help='module names (default: the last stage\'s output norm)')
    parser.add_argument('--category', help='segmentor Grad-CAM: class name or index')
    args = parser.parse_args(argv)
    model, cfg, inputs, sample, network_view = image_through_model(args.image, args.config, args.checkpoint,
                                                                   args.trust_checkpoint)
    drawing, title = cam_drawing(model, cfg, inputs, sample, network_view, args.method, args.target_layers,
                                 args.category)
    write_image_atomically(args.out, cv2.cvtColor(drawing, cv2.COLOR_RGB2BGR), what='drawing')
    print(f'wrote {args.out} ({title}; {drawing.shape[1]}x{drawing.shape[0]} px)')


if __name__ == '__main__':
    run_cli(main)
