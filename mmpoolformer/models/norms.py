"""Channel normalisations for NCHW feature maps, as used by the paper's normalisation ablation (their split into a
parameter-free part and a per-channel affine, for deploy-mode folding, is in ``folding.py``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ..errors import ConfigError
from ..registry import MODELS


@MODELS.register_module()
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis only of an NCHW tensor (the paper's "Layer Normalization" ablation).

    Unlike GroupNorm with one group, the statistics are computed per pixel over C, not over (C, H, W).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, **kwargs):
        super().__init__(num_features, eps=eps, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


@MODELS.register_module()
class GroupNorm1(nn.GroupNorm):
    """GroupNorm with one group: statistics over (C, H, W) of each sample, a per-channel affine; ``bias=False``
    drops the shift (the MetaFormer baselines' norm of PoolFormerV2, IdentityFormer and RandFormer, eps 1e-6).

    Config: ``dict(type='GroupNorm1', eps=1e-6, bias=False)``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, bias: bool = True):
        super().__init__(1, num_features, eps=eps)
        if not bias:
            self.register_parameter('bias', None)


def build_channel_norm(norm_cfg, num_channels: int) -> nn.Module:
    """Build a norm for ``num_channels``-channel NCHW maps; ``norm_cfg=None`` means no normalisation.

    The type is looked up in the ``mmpoolformer`` registry first (then MMEngine's root, where mmcv registers BN, GN,
    SyncBN, ...), independent of the default scope the model is built under (mmdet, mmseg, ...).
    """
    if norm_cfg is None:
        return nn.Identity()
    cfg = dict(norm_cfg)
    if isinstance(cfg.get('type'), str):
        cfg['type'] = MODELS.get(cfg['type'])
        if cfg['type'] is None:
            raise ConfigError(f"norm_cfg type '{norm_cfg['type']}' is not registered; use e.g. 'GN' (with num_groups), "
                              f"'BN', 'SyncBN' or 'LayerNorm2d'")
    return build_norm_layer(cfg, num_channels)[1]
