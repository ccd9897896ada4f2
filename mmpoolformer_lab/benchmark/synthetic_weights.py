"""Random weights in the official layouts, loaded into every model a benchmark compares (ours through this toolbox's
converter, the peers as they load official files), so that all compute the same thing from the same numbers.

PoolFormer: the official key names (``patch_embed``, ``network.N``, ``norm0/2/4/6``), made by MMPretrain's model,
whose layout is the official one. The MetaFormer baselines: sail-sg/metaformer's key names and shapes, written from
the official definition. Both are perturbed so that a misplaced tensor cannot go unnoticed.
"""
from typing import Dict

import torch

from mmpoolformer.models.names import BackboneName

# the official definitions (sail-sg/metaformer metaformer_baselines.py) per stage: token mixer; and which families'
# classifiers are MLP heads
OFFICIAL_MIXERS = dict(caformer=('sepconv', 'sepconv', 'attention', 'attention'), convformer=('sepconv',) * 4,
                       poolformerv2=('none',) * 4, identityformer=('none',) * 4,
                       randformer=('none', 'none', 'random', 'random'))
MLP_HEAD_FAMILIES = ('caformer', 'convformer')


def official_layout_weights(arch: dict, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights under the official key names (``patch_embed``, ``network.N``, ``norm0/2/4/6``), perturbed so
    that a misplaced tensor cannot go unnoticed (layer scales around 0.5, norm affines away from 1/0)."""
    from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer
    torch.manual_seed(seed)
    ref = MMPretrainPoolFormer(arch=mmpretrain_arch(arch), out_indices=(0, 2, 4, 6), frozen_stages=-1)
    perturb(ref)
    return {k: v.clone() for k, v in ref.state_dict().items()}


@torch.no_grad()
def perturb(model: torch.nn.Module) -> None:
    """Layer scales uniform in [0.3, 0.7] (not 1e-5), norm weights around 1 and biases around 0 with noise."""
    for name, param in model.named_parameters():
        if 'layer_scale' in name:
            param.uniform_(0.3, 0.7)
        elif 'norm' in name and name.endswith('weight'):
            param.copy_(1 + 0.3 * torch.randn_like(param))
        elif name.endswith('bias'):
            param.copy_(0.2 * torch.randn_like(param))


def mmpretrain_arch(arch: dict) -> dict:
    return dict(layers=arch['depths'], embed_dims=arch['embed_dims'], mlp_ratios=arch['mlp_ratios'],
                layer_scale_init_value=arch['layer_scale_init_value'])


def baseline_official_weights(target: BackboneName, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights of a MetaFormer baseline under the official key names and shapes (sail-sg/metaformer:
    ``downsample_layers.N.{pre_norm,conv,post_norm}``, ``stages.i.j.*`` with linear layers as 2-d weights,
    ``norm.*``, ``head.*``), written from the official definition, not from either model timed here. Perturbed so
    that a misplaced tensor cannot go unnoticed: matrices and kernels at unit gain (N(0, 1/fan_in)), norm weights,
    residual scales and StarReLU scales uniform in [0.6, 1.4], biases N(0, 0.2^2); RandFormer's frozen matrices are
    row-wise softmaxes of uniform numbers at ``target.input_size``."""
    arch, family = target.arch, target.family
    dims, depths = arch['embed_dims'], arch['depths']
    shapes = {'downsample_layers.0.conv.weight': (dims[0], 3, 7, 7), 'downsample_layers.0.conv.bias': (dims[0],),
              'downsample_layers.0.post_norm.weight': (dims[0],)}
    for i in range(1, len(dims)):
        shapes.update({f'downsample_layers.{i}.pre_norm.weight': (dims[i - 1],),
                       f'downsample_layers.{i}.conv.weight': (dims[i], dims[i - 1], 3, 3),
                       f'downsample_layers.{i}.conv.bias': (dims[i],)})
    for i, (depth, dim) in enumerate(zip(depths, dims)):
        hidden = int(arch['mlp_ratios'][i] * dim)
        inner = max(dim // 32, 1) * 32  # attention: heads of 32 channels
        tokens = (target.input_size // 2 ** (i + 2)) ** 2 if target.input_size else 0
        mixer = {'sepconv': {'pwconv1.weight': (2 * dim, dim), 'act1.scale': (1,), 'act1.bias': (1,),
                             'dwconv.weight': (2 * dim, 1, 7, 7), 'pwconv2.weight': (dim, 2 * dim)},
                 'attention': {'qkv.weight': (3 * inner, dim), 'proj.weight': (dim, inner)},
                 'random': {'random_matrix': (tokens, tokens)}, 'none': {}}[OFFICIAL_MIXERS[family][i]]
        for j in range(depth):
            block = {'norm1.weight': (dim,), 'norm2.weight': (dim,), 'mlp.fc1.weight': (hidden, dim),
                     'mlp.act.scale': (1,), 'mlp.act.bias': (1,), 'mlp.fc2.weight': (dim, hidden),
                     **{f'token_mixer.{k}': v for k, v in mixer.items()}}
            if arch['res_scale_init_values'][i] is not None:
                block.update({'res_scale1.scale': (dim,), 'res_scale2.scale': (dim,)})
            shapes.update({f'stages.{i}.{j}.{k}': v for k, v in block.items()})
    last = dims[-1]
    shapes.update({'norm.weight': (last,), 'norm.bias': (last,)})
    if family in MLP_HEAD_FAMILIES:
        shapes.update({'head.fc1.weight': (4 * last, last), 'head.fc1.bias': (4 * last,),
                       'head.norm.weight': (4 * last,), 'head.norm.bias': (4 * last,),
                       'head.fc2.weight': (1000, 4 * last), 'head.fc2.bias': (1000,)})
    else:
        shapes.update({'head.weight': (1000, last), 'head.bias': (1000,)})
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith('random_matrix'):
            state[key] = torch.rand(shape, generator=generator).softmax(-1)
        elif len(shape) >= 2:
            fan_in = 1
            for size in shape[1:]:
                fan_in *= size
            state[key] = torch.randn(shape, generator=generator) / fan_in ** 0.5
        elif key.endswith(('weight', 'scale')):
            state[key] = 0.6 + 0.8 * torch.rand(shape, generator=generator)
        else:
            state[key] = 0.2 * torch.randn(shape, generator=generator)
    return state


def official_weights(target: BackboneName) -> Dict[str, torch.Tensor]:
    """The random official-layout weights every model of ``target`` is loaded with."""
    return baseline_official_weights(target) if target.baseline else official_layout_weights(target.arch)
