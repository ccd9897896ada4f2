"""The key layouts of the MetaFormer baselines' weight files (CAFormer, ConvFormer, PoolFormerV2, IdentityFormer,
RandFormer), renamed to mmpoolformer's (see ``models/metaformer.py``).

- ``official`` (sail-sg/metaformer ``<name>.pth``): ``downsample_layers.0.{conv,post_norm}`` (stem),
  ``downsample_layers.i.{pre_norm,conv}``, ``stages.i.j.*`` (blocks; ``res_scaleK.scale``, RandFormer's
  ``token_mixer.random_matrix``), classifier ``norm.*`` and ``head.*`` (a linear layer, or ``head.{fc1,norm,fc2}``).
- ``timm`` (``timm/<name>.sail_in1k``): ``stem.{conv,norm}``, ``stages.i.downsample.{norm,conv}``,
  ``stages.i.blocks.j.*``, classifier ``head.norm.*`` and ``head.fc.*`` (or ``head.fc.{fc1,norm,fc2}``).

Both keep linear layers as linear weights (timm as 1x1 convolutions outside attention stages); the backbone here
keeps 1x1 convolutions in all stages, so 2-d weights of the MLP and the separable convolution get two unit axes.
The classifier is returned under ``norm.*`` (the final LayerNorm, applied after pooling), ``fc.*`` (a linear head)
or ``mlp.{fc1,norm,fc2}.*`` (the MLP head of ConvFormer and CAFormer).
"""
import re
from typing import Dict, Optional, Tuple

import torch

from ..arch_settings import BASELINE_ARCH_SETTINGS


def is_baseline(keys, layout: str) -> bool:
    """Whether the keys (prefix removed) of a file in ``layout`` are a MetaFormer baseline's."""
    keys = set(keys)
    if layout == 'official':
        return 'downsample_layers.0.conv.weight' in keys
    if layout == 'timm':
        return 'stem.norm.weight' in keys
    return 'stem_norm.weight' in keys


def _block_rest(rest: str) -> str:
    rest = re.sub(r'^res_scale([12])\.scale$', r'res_scale\1', rest)
    return rest.replace('token_mixer.random_matrix', 'token_mixer.matrix')


def _rename_official(key: str) -> Tuple[str, Optional[str]]:
    match = re.match(r'downsample_layers\.(\d+)\.(pre_norm|conv|post_norm)\.(.*)$', key)
    if match:
        stage, part, rest = int(match.group(1)), match.group(2), match.group(3)
        if stage == 0:
            return 'backbone', ('stem.' if part == 'conv' else 'stem_norm.') + rest
        return 'backbone', f'stages.{stage}.' + ('downsample.' if part == 'conv' else 'downsample_norm.') + rest
    match = re.match(r'stages\.(\d+)\.(\d+)\.(.*)$', key)
    if match:
        return 'backbone', f'stages.{match.group(1)}.blocks.{match.group(2)}.{_block_rest(match.group(3))}'
    if key.startswith('norm.'):
        return 'classifier', key
    match = re.match(r'head\.(fc1|norm|fc2)\.(.*)$', key)
    if match:
        return 'classifier', f'mlp.{match.group(1)}.{match.group(2)}'
    if key.startswith('head.'):
        return 'classifier', 'fc.' + key[len('head.'):]
    return 'backbone', None


def _rename_timm(key: str) -> Tuple[str, Optional[str]]:
    if key.startswith('stem.conv.'):
        return 'backbone', 'stem.' + key[len('stem.conv.'):]
    if key.startswith('stem.norm.'):
        return 'backbone', 'stem_norm.' + key[len('stem.norm.'):]
    match = re.match(r'stages\.(\d+)\.downsample\.(norm|conv)\.(.*)$', key)
    if match:
        part = 'downsample.' if match.group(2) == 'conv' else 'downsample_norm.'
        return 'backbone', f'stages.{match.group(1)}.{part}{match.group(3)}'
    match = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.(.*)$', key)
    if match:
        return 'backbone', f'stages.{match.group(1)}.blocks.{match.group(2)}.{_block_rest(match.group(3))}'
    if key.startswith('head.norm.'):
        return 'classifier', key[len('head.'):]
    match = re.match(r'head\.fc\.(fc1|norm|fc2)\.(.*)$', key)
    if match:
        return 'classifier', f'mlp.{match.group(1)}.{match.group(2)}'
    if key.startswith('head.fc.'):
        return 'classifier', key[len('head.'):]
    return 'backbone', None


RENAMERS = {'official': _rename_official, 'timm': _rename_timm}
_POINTWISE = re.compile(r'\.(mlp\.fc[12]|token_mixer\.pwconv[12])\.weight$')


def convert_baseline(inner: Dict[str, torch.Tensor], layout: str):
    """``(backbone, classifier, classifier_keys, unknown)``: the backbone under mmpoolformer names (linear weights as
    1x1 convolutions), the classifier under ``norm.* / fc.* / mlp.*``, the source keys of the classifier and those
    neither part knows."""
    backbone, classifier, classifier_keys, unknown = {}, {}, [], []
    for key, value in inner.items():
        part, name = RENAMERS[layout](key)
        if name is None:
            unknown.append(key)
        elif part == 'classifier':
            classifier[name] = value
            classifier_keys.append(key)
        else:
            if _POINTWISE.search(name) and value.dim() == 2:
                value = value[:, :, None, None]
            backbone[name] = value
    return backbone, classifier, classifier_keys, unknown


def baseline_family(backbone: Dict[str, torch.Tensor]) -> str:
    """The family converted baseline weights belong to, from their token-mixer tensors: 'caformer', 'convformer',
    'randformer', or 'poolformerv2/identityformer' (their tensors are the same: neither mixer has parameters)."""
    def has(stage: int, name: str) -> bool:
        return any(re.match(rf'stages\.{stage}\.blocks\.\d+\.token_mixer\.{name}', k) for k in backbone)

    last = max(int(m.group(1)) for k in backbone for m in [re.match(r'stages\.(\d+)\.', k)] if m)
    if has(0, 'pwconv1'):
        return 'caformer' if has(last, 'qkv') else 'convformer'
    if any(has(stage, 'matrix') for stage in range(last + 1)):
        return 'randformer'
    return 'poolformerv2/identityformer'


def baseline_arch_name(backbone: Dict[str, torch.Tensor], depths, dims) -> str:
    """E.g. ``'caformer_s18'``, or the family with the depths and widths when no published size matches."""
    family = baseline_family(backbone)
    table = BASELINE_ARCH_SETTINGS[family.split('/')[0]]
    for name, arch in table.items():
        if arch['depths'] == depths and arch['embed_dims'] == dims:
            return '/'.join(f'{f}_{name}' for f in family.split('/'))
    return f'{family} depths {depths}, embed_dims {dims}'
