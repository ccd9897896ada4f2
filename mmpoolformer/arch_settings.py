"""The paper's PoolFormer architectures by name, and the expansion of an arch name or dict to all its settings.

A leaf module: the backbone and the weight converters both read the table, so it imports nothing from the package
except its errors.
"""
import copy
from typing import Union

from .errors import ConfigError

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


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Return the full arch dict (depths, embed_dims, mlp_ratios, layer_scale_init_value) for a name or a dict."""
    if isinstance(arch, str):
        if arch.lower() not in ARCH_SETTINGS:
            raise ConfigError(f"arch='{arch}' is unknown; choose one of {sorted(ARCH_SETTINGS)} or pass a dict "
                              f"with depths and embed_dims")
        return copy.deepcopy(ARCH_SETTINGS[arch.lower()])
    missing = {'depths', 'embed_dims'} - set(arch)
    if missing:
        raise ConfigError(f'arch dict {arch} lacks {sorted(missing)}; it needs depths and embed_dims '
                              f'(mlp_ratios and layer_scale_init_value are optional)')
    num_stages = len(arch['depths'])
    full = dict(mlp_ratios=[4] * num_stages, layer_scale_init_value=1e-5)
    full.update(copy.deepcopy(arch))
    for key in ('embed_dims', 'mlp_ratios'):
        if len(full[key]) != num_stages:
            raise ConfigError(f'arch {key}={full[key]} has {len(full[key])} entries but depths has {num_stages}')
    return full
