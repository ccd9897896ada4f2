"""An independent reference of the "MetaFormer Baselines for Vision" models, written from the paper and the facts
of sail-sg/metaformer (channels-last, linear layers, the official parameter names), and weight files in the official
and timm layouts made from it.

It shares no code with mmpoolformer: its own norms (mean/variance by hand), attention (softmax by hand), StarReLU,
separable convolution and random mixing. Weights are randomised away from their initial values (residual scales,
StarReLU scalars and norm weights around 1, linear layers at unit gain) so that no misplaced tensor can hide.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# Facts of the official release, written here once for the tests.
FAMILY_MIXERS = {'caformer': ('sepconv', 'sepconv', 'attention', 'attention'),
                 'convformer': ('sepconv',) * 4, 'poolformerv2': ('pooling',) * 4,
                 'identityformer': ('identity',) * 4, 'randformer': ('identity', 'identity', 'random', 'random')}
FAMILY_NORM = {'caformer': 'channel', 'convformer': 'channel', 'poolformerv2': 'all', 'identityformer': 'all',
               'randformer': 'all'}
MLP_HEAD = ('caformer', 'convformer')
SIZES = {'s18': ([3, 3, 9, 3], [64, 128, 320, 512]), 's36': ([3, 12, 18, 3], [64, 128, 320, 512]),
         'm36c': ([3, 12, 18, 3], [96, 192, 384, 576]), 'b36': ([3, 12, 18, 3], [128, 256, 512, 768]),
         's12': ([2, 2, 6, 2], [64, 128, 320, 512]), 's24': ([4, 4, 12, 4], [64, 128, 320, 512]),
         's36p': ([6, 6, 18, 6], [64, 128, 320, 512]), 'm36p': ([6, 6, 18, 6], [96, 192, 384, 768]),
         'm48': ([8, 8, 24, 8], [96, 192, 384, 768])}


def size_of(family: str, size: str):
    """(depths, dims) of a published model, e.g. ('caformer', 'm36')."""
    if size in ('s36', 'm36'):
        size += 'c' if family in MLP_HEAD else 'p'
        size = size.replace('s36c', 's36')
    return SIZES[size]


class RefNorm(nn.Module):
    """Normalise a (B, H, W, C) tensor over its channels (``over='channel'``) or over H, W and C (``'all'``), then
    scale per channel (and shift, with bias)."""

    def __init__(self, dim: int, over: str, eps: float, bias: bool):
        super().__init__()
        self.dims = (-1,) if over == 'channel' else (1, 2, 3)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x):
        centred = x - x.mean(self.dims, keepdim=True)
        x = centred / torch.sqrt((centred * centred).mean(self.dims, keepdim=True) + self.eps)
        x = x * self.weight
        return x if self.bias is None else x + self.bias


class RefStarReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.scale * F.relu(x) * F.relu(x) + self.bias


class RefScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.scale


class RefSepConv(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.pwconv1 = nn.Linear(dim, 2 * dim, bias=False)
        self.act1 = RefStarReLU()
        self.dwconv = nn.Conv2d(2 * dim, 2 * dim, 7, padding=3, groups=2 * dim, bias=False)
        self.pwconv2 = nn.Linear(2 * dim, dim, bias=False)

    def forward(self, x):
        x = self.act1(self.pwconv1(x))
        x = self.dwconv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.pwconv2(x)


class RefAttention(nn.Module):
    def __init__(self, dim: int, head_dim: int = 32):
        super().__init__()
        self.heads, self.head_dim = max(dim // head_dim, 1), head_dim
        self.qkv = nn.Linear(dim, 3 * self.heads * head_dim, bias=False)
        self.proj = nn.Linear(self.heads * head_dim, dim, bias=False)

    def forward(self, x):
        b, h, w, c = x.shape
        qkv = self.qkv(x.reshape(b, h * w, c)).reshape(b, h * w, 3, self.heads, self.head_dim)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        weights = (q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)).softmax(-1)
        out = (weights @ v).transpose(1, 2).reshape(b, h * w, -1)
        return self.proj(out).reshape(b, h, w, c)


class RefRandomMixing(nn.Module):
    def __init__(self, num_tokens: int):
        super().__init__()
        self.random_matrix = nn.Parameter(torch.rand(num_tokens, num_tokens).softmax(-1), requires_grad=False)

    def forward(self, x):
        b, h, w, c = x.shape
        return torch.einsum('mn,bnc->bmc', self.random_matrix, x.reshape(b, h * w, c)).reshape(b, h, w, c)


class RefPooling(nn.Module):
    def forward(self, x):
        nchw = x.permute(0, 3, 1, 2)
        return F.avg_pool2d(nchw, 3, 1, 1, count_include_pad=False).permute(0, 2, 3, 1) - x


class RefIdentity(nn.Module):
    def forward(self, x):
        return x


class RefMlp(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim, bias=False)
        self.act = RefStarReLU()
        self.fc2 = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class RefBlock(nn.Module):
    def __init__(self, dim: int, mixer: nn.Module, norm: str, res_scale: bool):
        super().__init__()
        self.norm1 = RefNorm(dim, norm, 1e-6, bias=False)
        self.token_mixer = mixer
        self.norm2 = RefNorm(dim, norm, 1e-6, bias=False)
        self.mlp = RefMlp(dim)
        self.res_scale1 = RefScale(dim) if res_scale else RefIdentity()
        self.res_scale2 = RefScale(dim) if res_scale else RefIdentity()

    def forward(self, x):
        x = self.res_scale1(x) + self.token_mixer(self.norm1(x))
        return self.res_scale2(x) + self.mlp(self.norm2(x))


class RefDownsampling(nn.Module):
    """NHWC in (NCHW for the stem), NHWC out: [pre_norm], conv, [post_norm]."""

    def __init__(self, cin: int, cout: int, stem: bool):
        super().__init__()
        if stem:
            self.conv = nn.Conv2d(cin, cout, 7, 4, 2)
            self.post_norm = RefNorm(cout, 'channel', 1e-6, bias=False)
        else:
            self.pre_norm = RefNorm(cin, 'channel', 1e-6, bias=False)
            self.conv = nn.Conv2d(cin, cout, 3, 2, 1)
        self.stem = stem

    def forward(self, x):
        if self.stem:
            return self.post_norm(self.conv(x).permute(0, 2, 3, 1))
        return self.conv(self.pre_norm(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class RefMlpHead(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.norm = nn.LayerNorm(4 * dim, eps=1e-5)
        self.fc2 = nn.Linear(4 * dim, num_classes)

    def forward(self, x):
        return self.fc2(self.norm(F.relu(self.fc1(x)) ** 2))


class RefMetaFormer(nn.Module):
    """The official model definition, parameter names included. ``image_size`` sets RandFormer's token grids."""

    def __init__(self, family: str, depths: Sequence[int], dims: Sequence[int], num_classes: int = 1000,
                 image_size: int = 224):
        super().__init__()
        self.family, self.dims = family, list(dims)
        self.downsample_layers = nn.ModuleList(
            [RefDownsampling(3 if i == 0 else dims[i - 1], dims[i], stem=i == 0) for i in range(4)])
        self.stages = nn.ModuleList()
        for i in range(4):
            size = image_size // 2 ** (i + 2)
            mixers = {'sepconv': lambda: RefSepConv(dims[i]), 'attention': lambda: RefAttention(dims[i]),
                      'pooling': RefPooling, 'identity': RefIdentity,
                      'random': lambda: RefRandomMixing(size * size)}
            kind = FAMILY_MIXERS[family][i]
            # one random matrix per block, each drawn at construction
            self.stages.append(nn.Sequential(*[RefBlock(dims[i], mixers[kind](), FAMILY_NORM[family], i >= 2)
                                               for _ in range(depths[i])]))
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = RefMlpHead(dims[-1], num_classes) if family in MLP_HEAD else nn.Linear(dims[-1], num_classes)

    def stage_outputs(self, x) -> List[torch.Tensor]:
        """(N, 3, H, W) -> the four stage outputs, NCHW."""
        outputs = []
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
            outputs.append(x.permute(0, 3, 1, 2))
        return outputs

    def forward(self, x):
        return self.head(self.norm(self.stage_outputs(x)[-1].mean((2, 3))))


@torch.no_grad()
def randomised_reference(family: str, size: Optional[str] = None, depths=None, dims=None, seed: int = 0,
                         image_size: int = 224, num_classes: int = 1000) -> RefMetaFormer:
    """A reference model with non-trivial random weights (a published size, or depths/dims)."""
    if size is not None:
        depths, dims = size_of(family, size)
    torch.manual_seed(seed)
    ref = RefMetaFormer(family, depths, dims, num_classes=num_classes, image_size=image_size)
    for name, param in ref.named_parameters():
        if 'random_matrix' in name:
            continue
        if param.dim() >= 2:
            fan_in = param[0].numel()
            param.normal_(0, 1 / math.sqrt(fan_in))
        elif name.endswith(('.scale', 'weight')):
            param.uniform_(0.6, 1.4)
        else:
            param.normal_(0, 0.2)
    return ref.eval()


def official_state(ref: RefMetaFormer) -> Dict[str, torch.Tensor]:
    """The official file layout: ``downsample_layers.*``, ``stages.i.j.*``, ``norm.*``, ``head.*``."""
    return {k: v.clone() for k, v in ref.state_dict().items()}


def timm_state(ref: RefMetaFormer) -> Dict[str, torch.Tensor]:
    """timm's layout of the same tensors (``stem``, ``stages.i.downsample``, ``stages.i.blocks.j``, ``head.norm``,
    ``head.fc``; 1x1-convolution shapes for linear layers outside attention stages), by the rules of timm's
    metaformer.py; checked against timm's real models in the tests where timm has the family."""
    state = {}
    for key, value in official_state(ref).items():
        value = value.clone()
        if key.startswith('downsample_layers.0.'):
            key = key.replace('downsample_layers.0.conv', 'stem.conv').replace('downsample_layers.0.post_norm',
                                                                                'stem.norm')
        elif key.startswith('downsample_layers.'):
            i = key.split('.')[1]
            key = key.replace(f'downsample_layers.{i}.pre_norm', f'stages.{i}.downsample.norm').replace(
                f'downsample_layers.{i}.conv', f'stages.{i}.downsample.conv')
        elif key.startswith('stages.'):
            _, i, j, rest = key.split('.', 3)
            key = f'stages.{i}.blocks.{j}.{rest}'
            attention_stage = FAMILY_MIXERS[ref.family][int(i)] == 'attention'
            if value.dim() == 2 and not attention_stage and 'random_matrix' not in rest:
                value = value[:, :, None, None]
        elif key.startswith('norm.'):
            key = 'head.' + key
        elif key.startswith('head.'):
            key = key.replace('head.', 'head.fc.', 1)
        state[key] = value
    return state
