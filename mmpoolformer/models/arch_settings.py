"""The architectures by name, and the expansion of an arch name or dict to all its settings.

``ARCH_SETTINGS`` holds the PoolFormer sizes of the MetaFormer paper; ``BASELINE_ARCH_SETTINGS`` the sizes of each
family of "MetaFormer Baselines for Vision" (Yu et al., TPAMI 2023; sail-sg/metaformer): CAFormer and ConvFormer
(S18, S36, M36, B36), PoolFormerV2, IdentityFormer and RandFormer (S12, S24, S36, M36, M48). The baselines have no
layer scale and a learnable residual scale (init 1) in stages 3 and 4.

A leaf module: the backbones and the weight-file layouts (``mmpoolformer.checkpoint``, the one module of ``models/`` it
imports) both read the tables, so it imports nothing from the package except its errors.
"""
import copy
from typing import Dict, Optional, Union

from ..errors import ConfigError

# The paper's architectures (Table 1 of the paper; layer-scale inits from the official code).
ARCH_SETTINGS = {
    's12': dict(depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                layer_scale_init_value=1e-5),
    's24': dict(depths=[4, 4, 12, 4], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                layer_scale_init_value=1e-5),
    's36': dict(depths=[6, 6, 18, 6], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                layer_scale_init_value=1e-6),
    'm36': dict(depths=[6, 6, 18, 6], embed_dims=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4],
                layer_scale_init_value=1e-6),
    'm48': dict(depths=[8, 8, 24, 8], embed_dims=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4],
                layer_scale_init_value=1e-6),
}


def _baseline(depths, embed_dims) -> dict:
    return dict(depths=depths, embed_dims=embed_dims, mlp_ratios=[4, 4, 4, 4], layer_scale_init_value=None,
                res_scale_init_values=[None, None, 1.0, 1.0])


_SMALL_DIMS = [64, 128, 320, 512]
# ConvFormer and CAFormer sizes (sail-sg/metaformer metaformer_baselines.py).
_CONV_SIZES = {
    's18': _baseline([3, 3, 9, 3], _SMALL_DIMS),
    's36': _baseline([3, 12, 18, 3], _SMALL_DIMS),
    'm36': _baseline([3, 12, 18, 3], [96, 192, 384, 576]),
    'b36': _baseline([3, 12, 18, 3], [128, 256, 512, 768]),
}
# PoolFormerV2, IdentityFormer and RandFormer sizes: PoolFormer's depths and widths.
_POOL_SIZES = {name: _baseline(arch['depths'], arch['embed_dims']) for name, arch in ARCH_SETTINGS.items()}

BASELINE_ARCH_SETTINGS: Dict[str, Dict[str, dict]] = {
    'caformer': _CONV_SIZES,
    'convformer': _CONV_SIZES,
    'poolformerv2': _POOL_SIZES,
    'identityformer': _POOL_SIZES,
    'randformer': _POOL_SIZES,
}
# every family's table: 'poolformer' (the paper's) and the baselines'
FAMILY_ARCH_SETTINGS: Dict[str, Dict[str, dict]] = dict(poolformer=ARCH_SETTINGS, **BASELINE_ARCH_SETTINGS)


def resolve_arch(arch: Union[str, dict], table: Optional[Dict[str, dict]] = None, model: str = 'PoolFormer') -> dict:
    """Return the full arch dict (depths, embed_dims, mlp_ratios, layer_scale_init_value, res_scale_init_values)
    for a name of ``table`` (default: PoolFormer's ``ARCH_SETTINGS``) or a dict; ``model``, the class the table
    belongs to, names it in errors. A dict gets PoolFormer's defaults for what it leaves out (mlp ratio 4, layer
    scale 1e-5, no residual scale), or those of the table's models when it is a baseline table."""
    table = ARCH_SETTINGS if table is None else table
    if isinstance(arch, str):
        if arch.lower() not in table:
            raise ConfigError(f"arch='{arch}' is unknown for {model}; choose one of {sorted(table)} or pass a dict "
                              f"with depths and embed_dims")
        full = copy.deepcopy(table[arch.lower()])
        full.setdefault('res_scale_init_values', [None] * len(full['depths']))
        return full
    missing = {'depths', 'embed_dims'} - set(arch)
    if missing:
        raise ConfigError(f'arch dict {arch} lacks {sorted(missing)}; it needs depths and embed_dims '
                          f'(mlp_ratios, layer_scale_init_value and res_scale_init_values are optional)')
    num_stages = len(arch['depths'])
    template = next(iter(table.values()))
    full = dict(mlp_ratios=[4] * num_stages, layer_scale_init_value=template['layer_scale_init_value'],
                res_scale_init_values=(list(template['res_scale_init_values'])
                                       if 'res_scale_init_values' in template and num_stages == 4
                                       else [None] * num_stages))
    full.update(copy.deepcopy(arch))
    for key in ('embed_dims', 'mlp_ratios', 'res_scale_init_values'):
        if len(full[key]) != num_stages:
            raise ConfigError(f'arch {key}={full[key]} has {len(full[key])} entries but depths has {num_stages}')
    scale = full['layer_scale_init_value']
    if not (scale is None or isinstance(scale, (int, float))
            or (isinstance(scale, (list, tuple)) and len(scale) == 2
                and all(isinstance(v, (int, float)) for v in scale))):
        raise ConfigError(f'arch layer_scale_init_value={scale!r} is invalid; give one number for both branches, a '
                          f'pair (mixer, mlp) such as (1e-5, 0.1), or None for no layer scale')
    return full
