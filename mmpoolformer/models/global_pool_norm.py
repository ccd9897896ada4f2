"""Global average pooling followed by a norm of the pooled vector: timm's head order for PoolFormer classifiers."""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..registry import MODELS


@MODELS.register_module()
class GlobalPoolNorm(BaseModule):
    """Average each feature map over its positions, then normalise the pooled vector over its channels (a LayerNorm
    with a per-channel affine, the same as timm's one-group GroupNorm on a 1x1 map).

    timm's ``poolformer_*`` classifiers apply their final norm in this order; the official model norms the map and
    then pools (the backbone's ``out_norms`` followed by MMPretrain's ``GlobalAveragePooling``). Use this neck with
    ``norm_outputs=False`` in the backbone to reproduce timm's logits; the final norm of an official or timm
    ImageNet file then loads into ``neck.norm``.

    Args:
        in_channels: channels C of the (last) feature map.
        eps: added to the variance.

    Forward: a tuple of ``(N, C, H, W)`` maps -> a tuple of ``(N, C)`` vectors.
    """

    def __init__(self, in_channels: int, eps: float = 1e-5, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.norm = nn.LayerNorm(in_channels, eps=eps)

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        return tuple(self.norm(x.mean((2, 3))) for x in inputs)
