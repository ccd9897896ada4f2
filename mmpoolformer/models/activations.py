"""Activations of "MetaFormer Baselines for Vision" (Yu et al., TPAMI 2023), element-wise on tensors of any shape.

Both are registered in ``mmpoolformer.registry.MODELS`` for ``act_cfg=dict(type='StarReLU')``;
:func:`build_activation` resolves a config there first, then in MMEngine's root registry (GELU, ReLU, ...).
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from ..errors import ConfigError
from ..registry import MODELS


@MODELS.register_module()
class StarReLU(nn.Module):
    """``scale * relu(x) ** 2 + bias`` with two learnable scalars (shape ``(1,)`` each; init 1 and 0)."""

    def __init__(self, scale_value: float = 1.0, bias_value: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), float(scale_value)))
        self.bias = nn.Parameter(torch.full((1,), float(bias_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.relu(x) ** 2 + self.bias


@MODELS.register_module()
class SquaredReLU(nn.Module):
    """``relu(x) ** 2`` (the baselines' MLP classifier head)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) ** 2


def build_activation(cfg: dict) -> nn.Module:
    """Build the activation ``cfg``, looking its type up in the ``mmpoolformer`` registry first whatever the default
    scope (mmdet, mmseg, mmpretrain) is."""
    cfg = dict(cfg)
    if isinstance(cfg.get('type'), str):
        name = cfg['type']
        cfg['type'] = MODELS.get(name)
        if cfg['type'] is None:
            raise ConfigError(f"act_cfg type '{name}' is not registered; use e.g. 'GELU', 'ReLU', 'SiLU' or "
                              f"'StarReLU'")
    return build_activation_layer(cfg)
