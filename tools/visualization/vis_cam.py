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
initialisation.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # run from a clone

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmpoolformer.cli import run_cli  # noqa: E402
from mmpoolformer.errors import ConfigError  # noqa: E402
from mmpoolformer.fileio import write_image_atomically  # noqa: E402
from tools.visualization import image_model_parser, image_through_model  # noqa: E402

MIN_SIDE = 256  # px: the long side of the drawing at least


class ClassPixelsTarget:
    """Grad-CAM target of a segmentor: one class's logits summed over the pixels predicted as that class."""

    def __init__(self, category: int, mask: torch.Tensor):
        self.category, self.mask = category, mask

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:  # logits: (num_classes, h, w) of one image
        return (logits[self.category] * self.mask).sum()


def default_layer(model) -> str:
    norms = getattr(model.backbone, 'out_norms', None)
    if not norms:
        raise ConfigError(f'the backbone ({type(model.backbone).__name__}) has no out_norms; name a layer with '
                          f'--target-layers')
    return f'backbone.out_norms.{max(norms.keys(), key=int)}'


def resolve_category(category: str, classes) -> int:
    if category.isdigit() and int(category) < len(classes):
        return int(category)
    if category in classes:
        return list(classes).index(category)
    raise ConfigError(f"--category {category} is not a class of this model; use a name or an index of "
                      f"{list(classes)}")


def main(argv=None) -> None:
    parser = image_model_parser(__doc__)
    parser.add_argument('--method', choices=['eigencam', 'gradcam', 'gradcam++'], default='eigencam')
    parser.add_argument('--target-layers', nargs='+', help='module names (default: the last stage\'s output norm)')
    parser.add_argument('--category', help='segmentor Grad-CAM: class name or index')
    args = parser.parse_args(argv)
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from mmpoolformer.apis import TensorForward, find_layer, valid_region
    from mmpoolformer.visualization import upscaled_rgb
    model, cfg, inputs, sample, network_view = image_through_model(args)
    names = args.target_layers or [default_layer(model)]
    layers = [find_layer(model, name) for name in names]
    scope = cfg.get('default_scope', 'mmdet')
    if args.method != 'eigencam' and scope not in ('mmseg', 'mmpretrain'):
        raise ConfigError(f'--method {args.method} needs one class score per image; for a detector use '
                          f'--method eigencam')
    wrapped = TensorForward(model, [sample]).eval()
    title = f'{args.method} of {", ".join(names)}'
    if args.method == 'eigencam':
        targets = []  # EigenCAM uses the activations only
        cam_class = EigenCAM
    else:
        with torch.no_grad():
            logits = wrapped(inputs)[0]  # classifier: (num_classes,); segmentor: (num_classes, h, w)
        meta = getattr(model, 'dataset_meta', None) or {}
        classes = list(meta.get('classes') or [str(i) for i in range(logits.shape[0])])
        if scope == 'mmpretrain':
            from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
            category = resolve_category(args.category, classes) if args.category else int(logits.argmax())
            targets = [ClassifierOutputTarget(category)]
        else:
            predicted = logits.argmax(0)
            if args.category is not None:
                category = resolve_category(args.category, classes)
            else:
                areas = torch.bincount(predicted.flatten(), minlength=logits.shape[0])
                if classes[0] == 'background' and areas[1:].sum() > 0:
                    areas[0] = 0
                category = int(areas.argmax())
            targets = [ClassPixelsTarget(category, (predicted == category).float())]
        cam_class = GradCAM if args.method == 'gradcam' else GradCAMPlusPlus
        title += f', class {classes[category]}'
    with cam_class(model=wrapped, target_layers=layers) as cam:
        heat = cam(input_tensor=inputs, targets=targets)[0]  # (H, W) in [0, 1], at the padded input size
    heat = valid_region(torch.from_numpy(heat), sample, inputs).numpy()
    shown = upscaled_rgb(network_view, MIN_SIDE)
    size = (shown.shape[1], shown.shape[0])
    heat = cv2.resize(heat.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    drawing = show_cam_on_image(shown.astype(np.float32) / 255, np.clip(heat, 0, 1), use_rgb=True)
    write_image_atomically(args.out, cv2.cvtColor(drawing, cv2.COLOR_RGB2BGR), what='drawing')
    print(f'wrote {args.out} ({title}; {size[0]}x{size[1]} px)')


if __name__ == '__main__':
    run_cli(main)
