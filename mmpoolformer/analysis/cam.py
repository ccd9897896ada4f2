"""Class activation maps over an image with the ``grad-cam`` package (``tools/visualization/vis_cam.py`` and the web
demo's "Look inside"): EigenCAM for any model, Grad-CAM / Grad-CAM++ of one class for classifiers and segmentors."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.image import show_cam_on_image

from ..errors import ConfigError
from ..tasks import task_of
from ..visualization import upscaled_rgb
from .layers import TensorForward, find_layer, valid_region

MIN_SIDE = 256  # px: the long side of the drawing at least
METHODS = ('eigencam', 'gradcam', 'gradcam++')


def default_layer(model) -> str:
    """The last backbone stage's output norm, ``backbone.out_norms.<last>``."""
    norms = getattr(model.backbone, 'out_norms', None)
    if not norms:
        raise ConfigError(f'the backbone ({type(model.backbone).__name__}) has no out_norms; name a layer with '
                          f'--target-layers')
    return f'backbone.out_norms.{max(norms.keys(), key=int)}'


def cam_drawing(model, cfg, inputs: torch.Tensor, sample, network_view: np.ndarray, method: str = 'eigencam',
                layer_names: Optional[Sequence[str]] = None,
                category: Optional[str] = None) -> Tuple[np.ndarray, str]:
    """The class activation map of ``method`` for ``inputs`` ((1, 3, H, W), from
    :func:`mmpoolformer.apis.prepare_inputs`) at the modules ``layer_names`` (default :func:`default_layer`; several
    are averaged), cropped to the image (no padding) and drawn over ``network_view`` ((h, w, 3) BGR), upscaled to
    ``MIN_SIDE`` px where smaller. Grad-CAM needs a classifier or a segmentor (one class score per image).

    Returns the (H, W, 3) RGB uint8 drawing and its title (method, layers, class)."""
    names = list(layer_names or [default_layer(model)])
    layers = [find_layer(model, name) for name in names]
    task = task_of(cfg)
    if method != 'eigencam' and not task.class_scores:
        raise ConfigError(f'--method {method} needs one class score per image; for a detector use '
                          f'--method eigencam')
    wrapped = TensorForward(model, [sample]).eval()
    title = f'{method} of {", ".join(names)}'
    if method == 'eigencam':
        targets, cam_class = [], EigenCAM  # EigenCAM uses the activations only
    else:
        with torch.no_grad():
            logits = wrapped(inputs)[0]  # classifier: (num_classes,); segmentor: (num_classes, h, w)
        classes = list((getattr(model, 'dataset_meta', None) or {}).get('classes')
                       or [str(i) for i in range(logits.shape[0])])
        targets, class_name = task.cam_target(logits, classes, category)
        cam_class = GradCAM if method == 'gradcam' else GradCAMPlusPlus
        title += f', class {class_name}'
    with cam_class(model=wrapped, target_layers=layers) as cam:
        heat = cam(input_tensor=inputs, targets=targets)[0]  # (H, W) in [0, 1], at the padded input size
    heat = valid_region(torch.from_numpy(heat), sample, inputs).numpy()
    shown = upscaled_rgb(network_view, MIN_SIDE)
    size = (shown.shape[1], shown.shape[0])
    heat = cv2.resize(heat.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(shown.astype(np.float32) / 255, np.clip(heat, 0, 1), use_rgb=True), title
