"""The MLP classifier head of ConvFormer and CAFormer ("MetaFormer Baselines for Vision"), as an MMPretrain head."""
from typing import Sequence

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead

from ..registry import MODELS
from .activations import SquaredReLU


@MODELS.register_module()
class MlpClsHead(ClsHead):
    """``fc2(dropout(LayerNorm(SquaredReLU(fc1(x)))))`` on the pooled (and normed) feature vector.

    Args:
        num_classes: classes K.
        in_channels: channels C of the pooled vector.
        mlp_ratio: hidden width per input channel (4: C -> 4C -> K).
        norm_eps: eps of the hidden LayerNorm (the official 1e-5).
        dropout: dropout before ``fc2`` (the official ``head_dropout``).
        **kwargs: :class:`mmpretrain.models.heads.ClsHead` arguments (loss, topk, cal_acc, init_cfg).

    Forward: a tuple of ``(N, C)`` vectors (the neck's output; the last is used) -> ``(N, K)`` logits.
    Parameters: ``fc1``, ``norm``, ``fc2`` (the official ``head.fc1/norm/fc2``).
    """

    def __init__(self, num_classes: int, in_channels: int, mlp_ratio: float = 4, norm_eps: float = 1e-5,
                 dropout: float = 0., init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        hidden = int(mlp_ratio * in_channels)
        self.fc1 = nn.Linear(in_channels, hidden)
        self.act = SquaredReLU()
        self.norm = nn.LayerNorm(hidden, eps=norm_eps)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return feats[-1]

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fc2(self.drop(self.norm(self.act(self.fc1(self.pre_logits(feats))))))
