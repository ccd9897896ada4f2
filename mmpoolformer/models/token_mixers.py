"""Token mixers: the part of a MetaFormer block that exchanges information between spatial positions.

Every mixer maps an NCHW tensor of ``dim`` channels to one of the same shape. They are registered in
``mmpoolformer.registry.MODELS`` and built from a config dict with ``dim`` filled in by the block, e.g.
``dict(type='Pooling', pool_size=3)``. Register your own the same way::

    from mmpoolformer.registry import MODELS

    @MODELS.register_module()
    class MyMixer(nn.Module):
        def __init__(self, dim, **kwargs): ...

Deploy-mode folding (``MetaFormer.switch_to_deploy``): the block computes ``scale * mixer(gamma * n + beta)`` with
``n`` the parameter-free part of norm1 and ``scale`` the layer scale. A mixer may define
``fold_affine(gamma, beta, scale) -> ((gamma', beta'), scale')``: it absorbs what it exactly can into its own
parameters and returns the per-channel terms still to be applied around it (``None`` where nothing remains). A mixer
without the method folds nothing.
"""
import inspect
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_

from ..errors import ConfigError
from ..registry import MODELS
from .activations import build_activation
from .folding import (
    FoldResult,
    OptionalTensor,
    fold_linear_input,
    fold_pointwise_input,
    product_or_none,
    scale_pointwise_output,
)
from .pointwise import pointwise_as_matmul


@MODELS.register_module()
class Pooling(nn.Module):
    """PoolFormer's mixer: ``AvgPool(x) - x`` with a stride-1, same-size average pool.

    Padded positions are left out of each average (``count_include_pad=False``); the subtraction of the input makes
    the block's residual add the pooled value itself.

    Args:
        dim: channels (unused; accepted so every mixer is built the same way).
        pool_size: odd window size in pixels.
    """

    def __init__(self, dim: int = None, pool_size: int = 3):
        super().__init__()
        if pool_size < 1 or pool_size % 2 == 0:
            raise ConfigError(f'pool_size={pool_size} is invalid: PoolFormer pooling keeps the feature size only for '
                              f'an odd pool_size (e.g. 3, 5 or 7)')
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x

    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """``pool(g*n + b) - (g*n + b) == g * (pool(n) - n)``: the mean over the valid window of a constant is that
        constant (padding is excluded), so beta cancels and gamma joins the layer scale."""
        return (None, None), product_or_none(scale, gamma)


@MODELS.register_module(name='Identity')
class IdentityMixer(nn.Module):
    """No token mixing at all (the paper's "Identity mapping" ablation): returns its input."""

    def __init__(self, dim: int = None):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """``s * (g*n + b) == (s*g)*n + s*b``: the layer scale moves into the norm's affine."""
        if gamma is None and beta is None:
            return (None, None), scale
        gamma = scale if gamma is None else product_or_none(scale, gamma)
        return (gamma, product_or_none(scale, beta) if beta is not None else None), None


@MODELS.register_module()
class DepthwiseConv(nn.Module):
    """Depthwise convolution mixer (the paper's "Depthwise Convolution" ablation).

    Args:
        dim: channels.
        kernel_size: odd kernel size; the padding keeps the feature size.
    """

    def __init__(self, dim: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ConfigError(f'kernel_size={kernel_size} must be odd to keep the feature size')
        self.conv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    @torch.no_grad()
    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """The layer scale moves into the kernel and bias. The norm's affine stays: with zero padding, the
        convolution of the constant ``beta`` differs at the borders, so it cannot become a bias exactly."""
        if scale is not None:
            self.conv.weight.mul_(scale[:, None, None, None])
            if self.conv.bias is not None:
                self.conv.bias.mul_(scale)
        return (gamma, beta), None


@MODELS.register_module()
class Attention(nn.Module):
    """Global multi-head self-attention over all H*W positions (works at any input size).

    Args:
        dim: channels C; the number of heads is ``C // head_dim`` (at least 1).
        head_dim: channels per head (the MetaFormer hybrids use 32).
        qkv_bias / proj_bias: whether the query/key/value and output projections have a bias.
        attn_drop / proj_drop: dropout rates on the attention weights and on the output.
    """

    def __init__(self, dim: int, head_dim: int = 32, qkv_bias: bool = False, proj_bias: bool = False,
                 attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        self.num_heads = max(dim // head_dim, 1)
        self.head_dim = head_dim
        inner = self.num_heads * head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.proj = nn.Linear(inner, dim, bias=proj_bias)
        self.attn_drop = attn_drop
        self.proj_drop = nn.Dropout(proj_drop)
        for layer in (self.qkv, self.proj):
            trunc_normal_(layer.weight, std=.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # B, N, C
        q, k, v = self.qkv(tokens).reshape(b, h * w, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        out = self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, h * w, -1)))
        return out.transpose(1, 2).reshape(b, c, h, w)

    @torch.no_grad()
    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """The norm's affine moves into the qkv projection (it acts on each token's channels), the layer scale into
        the output projection; qkv gains a bias where beta is folded."""
        if gamma is not None or beta is not None:
            self.qkv = fold_linear_input(self.qkv, gamma, beta)
        if scale is not None:
            self.proj.weight.mul_(scale[:, None])
            if self.proj.bias is not None:
                self.proj.bias.mul_(scale)
        return (None, None), None


def _grid(spatial_shape) -> Tuple[int, int]:
    """``7`` or ``(7, 7)`` -> ``(7, 7)``."""
    if isinstance(spatial_shape, int):
        return spatial_shape, spatial_shape
    if len(spatial_shape) != 2:
        raise ConfigError(f'spatial_shape={spatial_shape} must be an int or (H, W)')
    return int(spatial_shape[0]), int(spatial_shape[1])


class _FixedGridMixer(nn.Module):
    """Base of the mixers that multiply the H*W tokens of each channel by one (H*W, H*W) matrix: they hold only for
    the token grid they were built for (``spatial_shape``), i.e. one input size."""

    def __init__(self, spatial_shape):
        super().__init__()
        self.spatial_shape = _grid(spatial_shape)
        self.num_tokens = self.spatial_shape[0] * self.spatial_shape[1]

    def _check(self, x: torch.Tensor) -> None:
        if tuple(x.shape[-2:]) != self.spatial_shape:
            h, w = self.spatial_shape
            raise ConfigError(f'{type(self).__name__} was built for a {h}x{w} token grid but got '
                              f'{x.shape[-2]}x{x.shape[-1]}; feed the input size its spatial_shape was set for '
                              f'(e.g. 224 px gives 56/28/14/7 at stages 1-4) or change spatial_shape')

    def _mix(self, x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, C, H, W)``: token ``i`` of every channel becomes ``sum_j matrix[i, j] * x_j``."""
        self._check(x)
        return F.linear(x.flatten(2), matrix).reshape(x.shape)


@MODELS.register_module()
class SpatialFC(_FixedGridMixer):
    """The paper's spatial fully-connected mixer (official ``metaformer_pppf/ppff_s12_224``): one learned
    (H*W, H*W) matrix without bias, shared by all channels, over a fixed token grid.

    Args:
        dim: channels (unused; the matrix is shared by all channels).
        spatial_shape: the token grid ``(H, W)`` (or ``H`` for a square one) the stage sees, e.g. 7 at stage 4 or 14
            at stage 3 for 224 px input. Another feature size is an error: classification only.

    Parameters: ``fc.weight`` of shape (H*W, H*W), the official name.
    """

    def __init__(self, dim: int = None, spatial_shape=(7, 7)):
        super().__init__(spatial_shape)
        self.fc = nn.Linear(self.num_tokens, self.num_tokens, bias=False)
        trunc_normal_(self.fc.weight, std=.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._mix(x, self.fc.weight)


@MODELS.register_module()
class RandomMixing(_FixedGridMixer):
    """A frozen random token-mixing matrix: a fixed random (H*W, H*W) matrix, never trained (the MetaFormer paper's
    ablation, and RandFormer's mixer in stages 3 and 4).

    The matrix is a row-wise softmax of random numbers (each output token is a random convex combination of all
    tokens, which keeps the scale of the input), drawn once at construction from torch's global generator and kept
    as a buffer (saved in checkpoints, so a trained model is tested with its own matrix). The mixer has no
    parameters.

    Args:
        dim: channels (unused; the matrix is shared by all channels).
        spatial_shape: the token grid ``(H, W)`` the stage sees (see :class:`SpatialFC`).
        distribution: ``'normal'`` (standard normal logits, the ablation of the first paper) or ``'uniform'``
            (logits uniform in [0, 1), RandFormer's official draw).
    """

    def __init__(self, dim: int = None, spatial_shape=(7, 7), distribution: str = 'normal'):
        super().__init__(spatial_shape)
        draws = {'normal': torch.randn, 'uniform': torch.rand}
        if distribution not in draws:
            raise ConfigError(f"RandomMixing distribution='{distribution}' is unknown; use 'normal' or 'uniform'")
        self.register_buffer('matrix', draws[distribution](self.num_tokens, self.num_tokens).softmax(dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._mix(x, self.matrix)

    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """``mix(g*n) == g * mix(n)`` (the matrix mixes tokens, gamma scales channels): gamma joins the layer scale.
        A shift beta stays where it is."""
        if beta is not None:
            return (gamma, beta), scale
        return (None, None), product_or_none(scale, gamma)


@MODELS.register_module()
class SepConv(nn.Module):
    """The inverted separable convolution of ConvFormer and CAFormer (MobileNetV2's block without its norms):
    pointwise ``dim -> expansion_ratio * dim``, an activation, a depthwise ``kernel_size`` convolution, pointwise
    back to ``dim``; no biases by default.

    Args:
        dim: channels C.
        expansion_ratio: hidden channels per input channel (the baselines use 2).
        kernel_size: odd depthwise kernel size; the padding keeps the feature size (the baselines use 7).
        act_cfg: activation after the first pointwise convolution (the baselines' StarReLU).
        bias: whether the three convolutions have biases.

    Parameters: ``pwconv1`` / ``pwconv2`` (1x1 convolutions, the official linear layers), ``act1`` (StarReLU's
    ``scale`` and ``bias``), ``dwconv``: the official names. Under CPU autocast with a channels_last input the
    pointwise convolutions run as matrix products (see :func:`pointwise_as_matmul`).
    """

    def __init__(self, dim: int, expansion_ratio: float = 2, kernel_size: int = 7,
                 act_cfg: dict = dict(type='StarReLU'), bias: bool = False):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ConfigError(f'SepConv kernel_size={kernel_size} must be odd to keep the feature size')
        hidden = int(expansion_ratio * dim)
        self.pwconv1 = nn.Conv2d(dim, hidden, 1, bias=bias)
        self.act1 = build_activation(act_cfg)
        self.dwconv = nn.Conv2d(hidden, hidden, kernel_size, padding=kernel_size // 2, groups=hidden, bias=bias)
        self.pwconv2 = nn.Conv2d(hidden, dim, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if pointwise_as_matmul(x):  # channels_last (N, C, H, W) -> (N, H, W, C) view, matrix products over C
            x = F.linear(x.permute(0, 2, 3, 1), self.pwconv1.weight.flatten(1), self.pwconv1.bias)
            x = self.dwconv(self.act1(x).permute(0, 3, 1, 2))  # channels_last in and out
            x = F.linear(x.permute(0, 2, 3, 1), self.pwconv2.weight.flatten(1), self.pwconv2.bias)
            return x.permute(0, 3, 1, 2)
        return self.pwconv2(self.dwconv(self.act1(self.pwconv1(x))))

    @torch.no_grad()
    def fold_affine(self, gamma: OptionalTensor, beta: OptionalTensor, scale: OptionalTensor) -> FoldResult:
        """The norm's affine moves into ``pwconv1`` (a 1x1 convolution acts on each pixel's channels; it gains a bias
        where beta is folded), the layer scale into ``pwconv2``."""
        fold_pointwise_input(self.pwconv1, gamma, beta)
        if scale is not None:
            scale_pointwise_output(self.pwconv2, scale)
        return (None, None), None


def build_token_mixer(cfg: dict, dim: int) -> nn.Module:
    """Build the mixer ``cfg`` for ``dim`` channels.

    The type is resolved in ``mmpoolformer.registry.MODELS`` (then MMEngine's root registry) whatever the default
    scope is, so the backbone builds the same inside mmdet, mmseg or mmpretrain runners.
    """
    cfg = dict(cfg)
    mixer_type = cfg.pop('type')
    cls = mixer_type if inspect.isclass(mixer_type) else MODELS.get(mixer_type)
    if cls is None:
        raise ConfigError(f"token mixer type '{mixer_type}' is not registered; register it with "
                          f"@mmpoolformer.registry.MODELS.register_module() and import its file (custom_imports)")
    return cls(dim=dim, **cfg)
