"""Backbones by name: the one place a tool, the web demo or the analysis turns a model name into a backbone.

A name is a PoolFormer size (``'s12'``, ``'s24'``, ``'s36'``, ``'m36'``, ``'m48'``, also written ``'poolformer_s12'``)
or ``FAMILY_SIZE`` of "MetaFormer Baselines for Vision": ``caformer`` / ``convformer`` with ``s18``, ``s36``,
``m36``, ``b36``; ``poolformerv2`` / ``identityformer`` / ``randformer`` with PoolFormer's sizes::

    name = parse_backbone_name('caformer_s18', depths=[1, 1, 1, 1])   # arch, class, timm's name, ...
    backbone = create_backbone('randformer_s12', shape=(224, 224), out_indices=(3,))

RandFormer's frozen mixing matrices exist for one token grid: its name needs a square ``shape`` divisible by 32.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

from ..errors import ConfigError
from .arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS, resolve_arch
from .baselines import CAFormer, ConvFormer, IdentityFormer, PoolFormerV2, RandFormer
from .metaformer import PoolFormer, stage_strides

# family -> (backbone class, its arch table)
FAMILIES = {
    'poolformer': (PoolFormer, ARCH_SETTINGS),
    'caformer': (CAFormer, BASELINE_ARCH_SETTINGS['caformer']),
    'convformer': (ConvFormer, BASELINE_ARCH_SETTINGS['convformer']),
    'poolformerv2': (PoolFormerV2, BASELINE_ARCH_SETTINGS['poolformerv2']),
    'identityformer': (IdentityFormer, BASELINE_ARCH_SETTINGS['identityformer']),
    'randformer': (RandFormer, BASELINE_ARCH_SETTINGS['randformer']),
}
BASELINE_FAMILIES = tuple(f for f in FAMILIES if f != 'poolformer')
TIMM_FAMILIES = ('poolformer', 'caformer', 'convformer', 'poolformerv2')  # timm 1.0 has no Identity/RandFormer


@dataclass
class BackboneName:
    """A parsed backbone name.

    ``family`` ('poolformer', 'caformer', ...), ``size`` ('s12', ...), ``arch`` (the full arch dict, depths possibly
    cut down), ``name`` (as printed: the PoolFormer size alone, else ``family_size``, plus any cut-down depths),
    ``input_size`` (RandFormer's square input side in px, else None)."""
    family: str
    size: str
    arch: dict
    name: str
    input_size: Optional[int] = None

    @property
    def cls(self) -> type:
        return FAMILIES[self.family][0]

    @property
    def baseline(self) -> bool:
        """A model of "MetaFormer Baselines for Vision" (not the paper's PoolFormer)."""
        return self.family != 'poolformer'

    @property
    def timm_name(self) -> Optional[str]:
        """timm's model of this name, or None where timm has none."""
        if self.family not in TIMM_FAMILIES:
            return None
        return f'{self.family}_{self.size}'


def published_names() -> List[str]:
    """Every published model name, ``family_size`` (PoolFormer's too)."""
    return [f'{family}_{size}' for family, (_, table) in FAMILIES.items() for size in table]


def is_backbone_name(name: str) -> bool:
    """Whether ``name`` names a published backbone (``'s12'``, ``'poolformer_s12'``, ``'caformer_s18'``, ...)."""
    family, _, size = name.lower().rpartition('_')
    family = family or 'poolformer'
    return family in FAMILIES and size in FAMILIES[family][1]


def _check_grid(name: str, shape: Optional[Sequence[int]]) -> int:
    """RandFormer's input side for ``shape`` (H, W), refusing a shape its token grids cannot serve."""
    last_stride = stage_strides()[-1]
    if shape is None or shape[0] != shape[1] or shape[0] % last_stride:
        shown = 'none' if shape is None else ' '.join(map(str, shape))
        raise ConfigError(f'{name}: RandFormer mixes a fixed token grid; pass a square --shape divisible by '
                          f'{last_stride} (e.g. --shape 224 224), not {shown}')
    return int(shape[0])


def parse_backbone_name(name: str, shape: Optional[Sequence[int]] = None,
                        depths: Optional[Sequence[int]] = None, option: str = '--arch') -> BackboneName:
    """Parse ``name`` (see the module doc). ``depths`` keeps only the first blocks of each stage (at most the
    published ones); ``shape`` (H, W) is the input RandFormer is built for. ``option`` names the command-line
    option in errors."""
    lowered = name.lower()
    family, _, size = lowered.rpartition('_')
    family = family or 'poolformer'
    if family not in FAMILIES:
        raise ConfigError(f"{option} {name}: unknown family '{family}'; use a PoolFormer size "
                          f"({', '.join(ARCH_SETTINGS)}) or FAMILY_SIZE with FAMILY one of "
                          f"{', '.join(BASELINE_FAMILIES)} (e.g. caformer_s18)")
    cls, table = FAMILIES[family]
    arch = resolve_arch(size, table, cls.__name__)
    shown = size if family == 'poolformer' else f'{family}_{size}'
    if depths:
        published = arch['depths']
        if len(depths) != len(published) or not all(1 <= d <= p for d, p in zip(depths, published)):
            raise ConfigError(f'--depths {" ".join(map(str, depths))}: give {len(published)} block counts, each '
                              f'from 1 to those of {shown} ({" ".join(map(str, published))})')
        arch['depths'] = list(depths)
        shown += f' (depths {" ".join(map(str, depths))})'
    input_size = _check_grid(lowered, shape) if family == 'randformer' else None
    return BackboneName(family, size, arch, shown, input_size)


def create_backbone(name, shape: Optional[Sequence[int]] = None, depths: Optional[Sequence[int]] = None,
                    **options):
    """The backbone of ``name`` (a name or a :class:`BackboneName`) with ``options`` (any argument of its class:
    ``out_indices``, ``norm_outputs``, ``with_cp``, ``init_cfg``, ...). ``arch`` in ``options`` updates the named
    arch's settings (e.g. ``arch=dict(layer_scale_init_value=1.)``)."""
    parsed = name if isinstance(name, BackboneName) else parse_backbone_name(name, shape, depths)
    overrides = options.pop('arch', None) or {}
    cls, table = FAMILIES[parsed.family]
    published = resolve_arch(parsed.size, table, cls.__name__)
    arch = dict(parsed.arch, **overrides)
    if parsed.input_size:
        options['input_size'] = parsed.input_size
    # the size's name where nothing changed, so that messages name the model as published
    return cls(arch=parsed.size if arch == published else arch, **options)
