"""Channel normalisations for NCHW feature maps, as used by the paper's normalisation ablation, and their split
into a parameter-free part and a per-channel affine (used by deploy-mode folding)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch.nn.modules.batchnorm import _BatchNorm

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


class ChannelAffine(nn.Module):
    """``x * weight[c] + bias[c]`` on an NCHW map (either term may be ``None``); what an eval-mode BatchNorm folds to
    when its affine cannot move into a neighbour."""

    def __init__(self, num_features: int, weight: bool = True, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_features)) if weight else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is not None:
            x = x * self.weight[:, None, None]
        return x if self.bias is None else x + self.bias[:, None, None]


Affine = Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]


def _copy(tensor: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if tensor is None else tensor.detach().clone()


@torch.no_grad()
def split_norm(norm: nn.Module) -> Tuple[nn.Module, Affine]:
    """Split an inference-mode channel norm into ``(plain, (gamma, beta))`` with
    ``norm(x) == gamma[c] * plain(x) + beta[c]`` exactly, where ``plain`` has no parameters.

    GroupNorm and LayerNorm2d keep their statistics and lose their affine; an eval-mode BatchNorm is an affine map
    altogether (``plain`` is the identity). A norm this function does not know is returned whole with ``(None,
    None)``, i.e. nothing to fold.
    """
    if isinstance(norm, nn.GroupNorm):
        plain = nn.GroupNorm(norm.num_groups, norm.num_channels, eps=norm.eps, affine=False)
        return plain, (_copy(norm.weight), _copy(norm.bias))
    if isinstance(norm, LayerNorm2d):
        plain = LayerNorm2d(norm.normalized_shape[0], eps=norm.eps, elementwise_affine=False)
        return plain, (_copy(norm.weight), _copy(norm.bias))
    if isinstance(norm, _BatchNorm) and not norm.training and norm.track_running_stats:
        inv_std = torch.rsqrt(norm.running_var + norm.eps)
        gamma = inv_std if norm.weight is None else norm.weight * inv_std
        beta = -norm.running_mean * gamma if norm.bias is None else norm.bias - norm.running_mean * gamma
        return nn.Identity(), (gamma.detach().clone(), beta.detach().clone())
    if isinstance(norm, ChannelAffine):
        return nn.Identity(), (norm.weight, norm.bias)
    return norm, (None, None)


@torch.no_grad()
def join_norm(plain: nn.Module, num_channels: int, affine: Affine) -> nn.Module:
    """Inverse of :func:`split_norm`: ``plain`` followed by the per-channel affine ``(gamma, beta)``, as one module
    (GroupNorm/LayerNorm2d get their affine back; otherwise a :class:`ChannelAffine` follows)."""
    gamma, beta = affine
    if gamma is None and beta is None:
        return plain
    if isinstance(plain, (nn.GroupNorm, LayerNorm2d)):
        joined = (nn.GroupNorm(plain.num_groups, num_channels, eps=plain.eps) if isinstance(plain, nn.GroupNorm)
                  else LayerNorm2d(num_channels, eps=plain.eps))
        joined.weight.copy_(1 if gamma is None else gamma)
        joined.bias.copy_(0 if beta is None else beta)
        return joined.to((gamma if gamma is not None else beta).device)
    affine_module = ChannelAffine(num_channels, weight=gamma is not None, bias=beta is not None).to(
        (gamma if gamma is not None else beta).device)
    if gamma is not None:
        affine_module.weight.copy_(gamma)
    if beta is not None:
        affine_module.bias.copy_(beta)
    return affine_module if isinstance(plain, nn.Identity) else nn.Sequential(plain, affine_module)
