"""One image as a model sees it at test time: the config's test pipeline and the model's data preprocessor."""
import copy

import numpy as np
from mmengine.dataset import Compose
from mmengine.registry import MODELS, DefaultScope


def _scope(cfg) -> str:
    return cfg.get('default_scope', 'mmdet')


def prepare_inputs(preprocessor, cfg, img: np.ndarray):
    """One BGR image as the model sees it at test time: the config's test pipeline (its image loading and
    annotation loading left out) and ``preprocessor``, the model's data preprocessor (detection, segmentation or
    classification; ``model.data_preprocessor``, or :func:`build_data_preprocessor` without a model).

    Returns ``(inputs, data_sample, shown)``: a (1, 3, H, W) float tensor, padded as the preprocessor pads; the
    sample, whose ``img_shape`` is the resized (or cropped) image's (h, w) before padding; and that image itself,
    (h, w, 3) uint8 BGR, to draw on."""
    steps = [step for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
             if not any(word in step['type'] for word in ('LoadImage', 'LoadAnnotations'))]
    loaded = dict(img=img, img_id=0, img_path=None, img_shape=img.shape[:2], ori_shape=img.shape[:2])
    with DefaultScope.overwrite_default_scope(_scope(cfg)):
        data = Compose(steps)(loaded)
        batch = preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    shown = data['inputs'].permute(1, 2, 0).numpy().astype(np.uint8)
    return batch['inputs'], batch['data_samples'][0], np.ascontiguousarray(shown)


def build_data_preprocessor(cfg):
    """The data preprocessor of ``cfg``'s model (normalisation, channel order, padding), built alone."""
    with DefaultScope.overwrite_default_scope(_scope(cfg)):
        return MODELS.build(cfg.model.data_preprocessor).eval()
