"""Learned absolute position embedding added to a feature map (the official MetaFormer attention hybrids add one
before the first block of their first attention stage)."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError


class PositionEmbedding(nn.Module):
    """``x + pos`` for an NCHW map, with ``pos`` a learned ``(1, C, H0, W0)`` tensor (``weight``, initialised to
    zeros as in the official model).

    At the size it was made for (``H0 x W0``, e.g. 7x7 at stage 4 or 14x14 at stage 3 for a 224 px image) it is
    added as is; any other ``H x W`` (detection and segmentation inputs) gets the embedding resized bicubically to
    ``H x W`` first (``align_corners=False``), so the backbone takes every input size.

    Args:
        dim: channels C.
        spatial_shape: ``(H0, W0)``, or one int for a square grid.
    """

    def __init__(self, dim: int, spatial_shape: Union[int, Sequence[int]]):
        super().__init__()
        if isinstance(spatial_shape, int):
            spatial_shape = (spatial_shape, spatial_shape)
        if len(spatial_shape) != 2:
            raise ConfigError(f'pos_embed size {spatial_shape} must be an int or (H, W)')
        self.weight = nn.Parameter(torch.zeros(1, dim, *spatial_shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = self.weight
        if pos.shape[-2:] != x.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode='bicubic', align_corners=False)
        return x + pos
