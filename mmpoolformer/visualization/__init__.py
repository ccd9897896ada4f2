"""Drawings a person can read: small images are upscaled before predictions and ground truth are drawn on them.

:class:`~mmpoolformer.engine.SafeRunner` builds the config's ``DetLocalVisualizer`` (mmdet) or ``SegLocalVisualizer``
(mmseg) as :class:`ReadableDetVisualizer` / :class:`ReadableSegVisualizer`, which take the same arguments plus
``min_size`` (default 512): an image whose long side is shorter is resized so that its long side is ``min_size``
before drawing, with the boxes, masks and segmentation maps scaled by the same factors, so labels and scores are
drawn at a legible size and still line up with the objects. Larger images are drawn as they are; ``min_size=0``
turns upscaling off (``--cfg-options +visualizer.min_size=0``). Every drawing it saves (and mmpretrain's
``UniversalVisualizer``'s, and every ``LocalVisBackend``'s) is written completely or not at all
(:mod:`.written_drawings`).
"""
import importlib
from typing import Optional, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F

from .written_drawings import with_local_backends_writing_atomically

DEFAULT_MIN_SIZE = 512

# visualizer type -> (module of this package, class replacing it)
_REPLACEMENTS = {
    'DetLocalVisualizer': ('det', 'ReadableDetVisualizer'),
    'SegLocalVisualizer': ('seg', 'ReadableSegVisualizer'),
    'UniversalVisualizer': ('cls', 'UniversalVisualizerWritingAtomically'),
}


def readable_visualizer_cfg(cfg):
    """``cfg`` (a visualizer config) with mmdet's/mmseg's local visualizer replaced by the upscaling one and
    mmpretrain's by one writing atomically, and ``LocalVisBackend`` backends by ones writing atomically (see
    :mod:`.written_drawings`); any other visualizer config is returned unchanged."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get('type'), str):
        return cfg
    name = cfg['type'].split('.')[-1]
    if name not in _REPLACEMENTS:
        return cfg
    module, cls = _REPLACEMENTS[name]
    cfg = dict(cfg, type=getattr(importlib.import_module(f'{__name__}.{module}'), cls))
    if 'vis_backends' in cfg:
        cfg['vis_backends'] = with_local_backends_writing_atomically(cfg['vis_backends'])
    return cfg


def _resize_maps(maps, size: Tuple[int, int]):
    """Resize (..., H, W) label maps or binary masks (tensor or array) to ``size`` (h, w), nearest neighbour."""
    as_numpy = isinstance(maps, np.ndarray)
    tensor = torch.from_numpy(maps) if as_numpy else maps
    if tensor.shape[-2:] == size or tensor.numel() == 0:
        resized = tensor.new_zeros(tensor.shape[:-2] + size) if tensor.numel() == 0 else tensor
    else:
        flat = tensor.reshape(-1, 1, *tensor.shape[-2:]).float()
        resized = F.interpolate(flat, size=size, mode='nearest').reshape(*tensor.shape[:-2], *size)
        resized = resized > 0.5 if tensor.dtype == torch.bool else resized.to(tensor.dtype)
    return resized.numpy() if as_numpy else resized


def _scale_instances(instances, sx: float, sy: float, size: Tuple[int, int]):
    if 'bboxes' in instances:
        boxes = instances.bboxes
        if hasattr(boxes, 'rescale_'):  # mmdet box types (HorizontalBoxes)
            boxes = boxes.clone()
            boxes.rescale_((sx, sy))
        else:
            boxes = boxes * torch.as_tensor([sx, sy, sx, sy], dtype=boxes.dtype, device=boxes.device)
        instances.bboxes = boxes
    if 'masks' in instances:
        masks = instances.masks
        if isinstance(masks, (torch.Tensor, np.ndarray)):
            instances.masks = _resize_maps(masks, size)
        elif hasattr(masks, 'resize'):  # mmdet BitmapMasks / PolygonMasks
            instances.masks = masks.resize(size)
    return instances


def upscale_for_drawing(image: np.ndarray, data_sample, min_size: Optional[int]):
    """``(image, data_sample)`` upscaled so that the image's long side is ``min_size`` (if it is shorter), with the
    instances (boxes, masks) and pixel maps of a copy of ``data_sample`` scaled to match."""
    height, width = image.shape[:2]
    if not min_size or max(height, width) >= min_size:
        return image, data_sample
    factor = min_size / max(height, width)
    new_w, new_h = max(1, round(width * factor)), max(1, round(height * factor))
    sx, sy = new_w / width, new_h / height
    image = mmcv.imresize(image, (new_w, new_h), interpolation='bilinear')
    if data_sample is None:
        return image, None
    from mmengine.structures import InstanceData, PixelData
    data_sample = data_sample.clone()  # shallow: its instances are copied before they change, maps rebuilt
    for key in list(data_sample.keys()):
        value = data_sample.get(key)
        if isinstance(value, InstanceData):
            setattr(data_sample, key, _scale_instances(value.clone(), sx, sy, (new_h, new_w)))
        elif isinstance(value, PixelData):
            resized = PixelData(metainfo=value.metainfo)
            for field, data in value.items():
                resized.set_field(_resize_maps(data, (new_h, new_w)), field)
            setattr(data_sample, key, resized)
    return image, data_sample


def upscaled_rgb(image_bgr: np.ndarray, min_side: int) -> np.ndarray:
    """``image_bgr`` (h, w, 3) as RGB, upscaled (bilinear) so that its long side is at least ``min_side`` px."""
    h, w = image_bgr.shape[:2]
    zoom = max(1., min_side / max(h, w))
    if zoom > 1:
        image_bgr = mmcv.imresize(image_bgr, (round(w * zoom), round(h * zoom)), interpolation='bilinear')
    return mmcv.bgr2rgb(image_bgr)
