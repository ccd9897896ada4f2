"""Feature maps of a model's backbone stages (or neck levels) drawn over the image the network sees
(``tools/visualization/vis_featmap.py`` and the web demo's "Look inside")."""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.visualization import Visualizer

from ..errors import ConfigError
from ..visualization import upscaled_rgb
from .layers import valid_region

MIN_SIDE = 256  # px: the long side of each drawn panel at least


def label(panel: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of an (h, w, 3) RGB uint8 panel (white on a dark box)."""
    panel = np.ascontiguousarray(panel)
    scale = max(0.35, panel.shape[0] / 400)
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(panel, (0, 0), (w + 4, h + 6), (0, 0, 0), -1)
    cv2.putText(panel, text, (2, h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def features(model, inputs: torch.Tensor, neck: bool) -> List[torch.Tensor]:
    """The backbone's outputs (or the neck's levels) for ``inputs`` (N, 3, H, W): a list of (N, C_i, h_i, w_i)."""
    with torch.no_grad():
        feats = model.backbone(inputs)
        if neck:
            if not hasattr(model, 'neck'):
                raise ConfigError(f'--neck: the model ({type(model).__name__}) has no neck; drop --neck')
            feats = model.neck(feats)
    return list(feats) if isinstance(feats, (list, tuple)) else [feats]


def feature_map_drawing(model, inputs: torch.Tensor, sample, network_view: np.ndarray,
                        stages: Optional[Sequence[int]] = None, neck: bool = False, reduction: str = 'mean',
                        topk: int = 0, alpha: float = 0.5) -> Tuple[np.ndarray, List[int]]:
    """One row per requested output (``stages``: indices into the backbone's or, with ``neck``, the neck's outputs;
    None: all), labelled ``out INDEX /STRIDE``: the channel ``reduction`` (``'mean'`` or ``'max'``) as one panel, or
    the ``topk`` channels of largest mean activation as K panels, each drawn over ``network_view`` (the (h, w, 3)
    BGR image as the network sees it, from :func:`mmpoolformer.apis.prepare_inputs`) with MMEngine's
    ``Visualizer.draw_featmap``, the preprocessor's padding cropped away, panels at least ``MIN_SIDE`` px.

    Returns the (H, W, 3) RGB uint8 canvas and the stage indices drawn, one per row."""
    feats = features(model, inputs, neck)
    stages = list(stages) if stages is not None else list(range(len(feats)))
    bad = [s for s in stages if not -len(feats) <= s < len(feats)]
    if bad:
        raise ConfigError(f'--stages {bad}: the {"neck" if neck else "backbone"} returns {len(feats)} '
                          f'outputs (indices 0-{len(feats) - 1})')
    shown = upscaled_rgb(network_view, MIN_SIDE)  # small test images are drawn larger: readable labels
    rows = []
    for index in stages:
        fmap = valid_region(feats[index][0], sample, inputs)  # (C, h', w')
        stride = inputs.shape[-1] // feats[index].shape[-1]
        name = f'out {index} /{stride}'
        if topk:
            order = fmap.mean(dim=(1, 2)).argsort(descending=True)[:topk].tolist()
            maps = [(fmap[c:c + 1], f'{name}: ch {c}') for c in order]
        else:
            maps = [(fmap, f'{name}: {reduction} of {fmap.shape[0]} ch')]
        channel_reduction = 'squeeze_mean' if reduction == 'mean' else 'select_max'
        panels = [label(Visualizer.draw_featmap(m, shown, channel_reduction=channel_reduction, alpha=alpha), text)
                  for m, text in maps]
        rows.append(np.concatenate(panels, axis=1))
    width = max(r.shape[1] for r in rows)
    canvas = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    return canvas, stages
