"""Deploy-mode folding (``MetaFormer.switch_to_deploy``): moving per-channel affine terms (norm affines, layer
scales) into the neighbouring 1x1 convolutions and linear layers, so that inference computes the same function with
fewer passes over memory.

A norm splits into a parameter-free part and its per-channel ``(gamma, beta)`` (:func:`split_norm`); a token mixer's
``fold_affine`` absorbs what it exactly can (see ``token_mixers.py``); what remains is joined back
(:func:`join_norm`). ``None`` stands for an absent term throughout.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from .norms import LayerNorm2d

OptionalTensor = Optional[torch.Tensor]
Affine = Tuple[OptionalTensor, OptionalTensor]  # (gamma, beta) of a per-channel affine, None where absent
FoldResult = Tuple[Affine, OptionalTensor]  # what a mixer's fold_affine leaves: ((gamma', beta'), scale')


def product_or_none(a: OptionalTensor, b: OptionalTensor) -> OptionalTensor:
    """Per-channel product where ``None`` stands for 1."""
    if a is None:
        return b
    return a if b is None else a * b


@torch.no_grad()
def fold_pointwise_input(conv: nn.Conv2d, gamma: OptionalTensor, beta: OptionalTensor) -> None:
    """Make the 1x1 convolution ``conv`` compute ``conv(gamma[c] * x + beta[c])`` from ``x``, in place."""
    if beta is not None:
        shift = conv.weight[:, :, 0, 0] @ beta
        if conv.bias is None:
            conv.bias = nn.Parameter(shift)
        else:
            conv.bias.add_(shift)
    if gamma is not None:
        conv.weight.mul_(gamma[None, :, None, None])


@torch.no_grad()
def scale_pointwise_output(conv: nn.Conv2d, scale: torch.Tensor) -> None:
    """Multiply every output channel ``c`` of ``conv`` by ``scale[c]``, in place."""
    conv.weight.mul_(scale[:, None, None, None])
    if conv.bias is not None:
        conv.bias.mul_(scale)


@torch.no_grad()
def fold_linear_input(linear: nn.Linear, gamma: OptionalTensor, beta: OptionalTensor) -> nn.Linear:
    """A linear layer computing ``linear(gamma * t + beta)`` for tokens ``t``."""
    folded = nn.Linear(linear.in_features, linear.out_features, bias=True, device=linear.weight.device,
                       dtype=linear.weight.dtype)
    weight = linear.weight if gamma is None else linear.weight * gamma[None, :]
    bias = linear.weight.new_zeros(linear.out_features) if linear.bias is None else linear.bias.clone()
    if beta is not None:
        bias += linear.weight @ beta
    folded.weight.copy_(weight)
    folded.bias.copy_(bias)
    return folded


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


def _copy(tensor: OptionalTensor) -> OptionalTensor:
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
