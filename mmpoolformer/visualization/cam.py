"""Class activation maps over an image with the ``grad-cam`` package (``tools/visualization/vis_cam.py`` and the web
demo's "Look inside"): EigenCAM for any model, Grad-CAM / Grad-CAM++ of one class for classifiers and segmentors."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from ..errors import ConfigError

MIN_SIDE = 256  # px: the long side of the drawing at least
METHODS = ('eigencam', 'gradcam', 'gradcam++')


class ClassPixelsTarget:
    """Grad-CAM target of a segmentor: one class's logits summed over the pixels predicted as that class."""

    def __init__(self, category: int, mask: torch.Tensor):
        self.category, self.mask = category, mask

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:  # logits: (num_classes, h, w) of one image
        return (logits[self.category] * self.mask).sum()


def default_layer(model) -> str:
    """The last backbone stage's output norm, ``backbone.out_norms.<last>``."""
    norms = getattr(model.backbone, 'out_norms', None)
    if not norms:
        raise ConfigError(f'the backbone ({type(model.backbone).__name__}) has no out_norms; name a layer with '
                          f'--target-layers')
    return f'backbone.out_norms.{max(norms.keys(), key=int)}'


def resolve_category(category: str, classes) -> int:
    """The index of ``category`` (a class name or an index) in ``classes``."""
    if category.isdigit() and int(category) < len(classes):
        return int(category)
    if category in classes:
        return list(classes).index(category)
    raise ConfigError(f"--category {category} is not a class of this model; use a name or an index of "
                      f"{list(classes)}")


def _targets(model, scope: str, wrapped, inputs: torch.Tensor, category: Optional[str]):
    """Grad-CAM targets and the class name they follow: ``category``, or the predicted class (classifier), or the
    predicted class covering most pixels, background excluded where the classes have one (segmentor)."""
    with torch.no_grad():
        logits = wrapped(inputs)[0]  # classifier: (num_classes,); segmentor: (num_classes, h, w)
    meta = getattr(model, 'dataset_meta', None) or {}
    classes = list(meta.get('classes') or [str(i) for i in range(logits.shape[0])])
    if scope == 'mmpretrain':
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        index = resolve_category(category, classes) if category else int(logits.argmax())
        return [ClassifierOutputTarget(index)], classes[index]
    predicted = logits.argmax(0)
    if category is not None:
        index = resolve_category(category, classes)
    else:
        areas = torch.bincount(predicted.flatten(), minlength=logits.shape[0])
        if classes[0] == 'background' and areas[1:].sum() > 0:
            areas[0] = 0
        index = int(areas.argmax())
    return [ClassPixelsTarget(index, (predicted == index).float())], classes[index]


def cam_drawing(model, cfg, inputs: torch.Tensor, sample, network_view: np.ndarray, method: str = 'eigencam',
                layer_names: Optional[Sequence[str]] = None,
                category: Optional[str] = None) -> Tuple[np.ndarray, str]:
    """The class activation map of ``method`` for ``inputs`` ((1, 3, H, W), from
    :func:`mmpoolformer.apis.prepare_inputs`) at the modules ``layer_names`` (default :func:`default_layer`; several
    are averaged), cropped to the image (no padding) and drawn over ``network_view`` ((h, w, 3) BGR), upscaled to
    ``MIN_SIDE`` px where smaller. Grad-CAM needs a classifier or a segmentor (one class score per image).

    Returns the (H, W, 3) RGB uint8 drawing and its title (method, layers, class)."""
    from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from ..apis import TensorForward, find_layer, valid_region
    from . import upscaled_rgb
    names = list(layer_names or [default_layer(model)])
    layers = [find_layer(model, name) for name in names]
    scope = cfg.get('default_scope', 'mmdet')
    if method != 'eigencam' and scope not in ('mmseg', 'mmpretrain'):
        raise ConfigError(f'--method {method} needs one class score per image; for a detector use '
                          f'--method eigencam')
    wrapped = TensorForward(model, [sample]).eval()
    title = f'{method} of {", ".join(names)}'
    if method == 'eigencam':
        targets, cam_class = [], EigenCAM  # EigenCAM uses the activations only
    else:
        targets, class_name = _targets(model, scope, wrapped, inputs, category)
        cam_class = GradCAM if method == 'gradcam' else GradCAMPlusPlus
        title += f', class {class_name}'
    with cam_class(model=wrapped, target_layers=layers) as cam:
        heat = cam(input_tensor=inputs, targets=targets)[0]  # (H, W) in [0, 1], at the padded input size
    heat = valid_region(torch.from_numpy(heat), sample, inputs).numpy()
    shown = upscaled_rgb(network_view, MIN_SIDE)
    size = (shown.shape[1], shown.shape[0])
    heat = cv2.resize(heat.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(shown.astype(np.float32) / 255, np.clip(heat, 0, 1), use_rgb=True), title
