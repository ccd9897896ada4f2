"""The backbones of "MetaFormer Baselines for Vision" (Yu et al., TPAMI 2023): presets of the one MetaFormer skeleton.

Every family shares the baselines' settings: a bias-free channel LayerNorm (eps 1e-6) after the stem and before each
stage-entry convolution, no layer scale, residual scales (init 1) in stages 3 and 4, a bias-free MLP with StarReLU.
They differ in the token mixer and the block norm:

==============  ===========================================  ==========================================
family          token mixer per stage                         block norm
==============  ===========================================  ==========================================
ConvFormer      SepConv in all four                           channel LayerNorm, no bias, eps 1e-6
CAFormer        SepConv, SepConv, Attention, Attention        channel LayerNorm, no bias, eps 1e-6
PoolFormerV2    Pooling (3x3) in all four                     GroupNorm1 (over C, H, W), no bias, eps 1e-6
IdentityFormer  Identity in all four                          GroupNorm1, no bias, eps 1e-6
RandFormer      Identity, Identity, RandomMixing x 2          GroupNorm1, no bias, eps 1e-6
==============  ===========================================  ==========================================

Each returned stage output goes through its own LayerNorm over channels (eps 1e-6, with bias; the type of the
official classifier's final norm), as PoolFormer's detection backbone norms its outputs. Sizes are in
``mmpoolformer.models.arch_settings.BASELINE_ARCH_SETTINGS``; the parameter names are MetaFormer's (``metaformer.py``).
"""
from typing import Tuple, Union

from ..errors import ConfigError
from ..registry import MODELS
from .arch_settings import BASELINE_ARCH_SETTINGS
from .metaformer import MetaFormer, stage_strides, token_grids

CHANNEL_LAYER_NORM = dict(type='LayerNorm2d', eps=1e-6, bias=False)
GROUP_NORM_1 = dict(type='GroupNorm1', eps=1e-6, bias=False)
SEP_CONV = dict(type='SepConv', expansion_ratio=2, kernel_size=7, act_cfg=dict(type='StarReLU'), bias=False)
ATTENTION = dict(type='Attention', head_dim=32, qkv_bias=False, proj_bias=False)
POOLING = dict(type='Pooling', pool_size=3)
IDENTITY = dict(type='Identity')

# what each family passes to MetaFormer, before the user's arguments
_SHARED = dict(act_cfg=dict(type='StarReLU'), mlp_bias=False, stem_norm_cfg=CHANNEL_LAYER_NORM,
               downsample_norm_cfg=CHANNEL_LAYER_NORM, out_norm_cfg=dict(type='LayerNorm2d', eps=1e-6))
# arguments that define a family: changing them makes another model (use mmpoolformer.MetaFormer for that)
_DEFINING = ('token_mixers', 'act_cfg', 'mlp_bias', 'stem_norm_cfg', 'downsample_norm_cfg')


class _MetaFormerBaseline(MetaFormer):
    """Common construction of the families below: the family's arch table, mixers and norms, then the user's
    arguments (any other :class:`MetaFormer` argument: out_indices, frozen_stages, norm_eval, drop_path_rate,
    with_cp, norm_cfg, out_norm_cfg, init_cfg, ...)."""
    family = ''
    block_norm = CHANNEL_LAYER_NORM

    def __init__(self, arch: Union[str, dict], mixers: Tuple[dict, dict, dict, dict], **kwargs):
        defining = sorted(set(_DEFINING) & set(kwargs))
        if defining:
            raise ConfigError(f'{type(self).__name__} fixes {", ".join(defining)}; use mmpoolformer.MetaFormer to '
                              f'build a MetaFormer with other ones')
        settings = dict(_SHARED, norm_cfg=self.block_norm, token_mixers=list(mixers))
        settings.update(kwargs)
        super().__init__(arch=arch, **settings)


@MODELS.register_module()
class ConvFormer(_MetaFormerBaseline):
    """ConvFormer: separable convolutions (7x7 depthwise) in every stage. ``arch``: 's18', 's36', 'm36', 'b36' or a
    dict. Other arguments: see :class:`MetaFormer`. Forward: as :class:`MetaFormer`, any input size."""
    arch_settings = BASELINE_ARCH_SETTINGS['convformer']

    def __init__(self, arch: Union[str, dict] = 's18', **kwargs):
        super().__init__(arch, (SEP_CONV, SEP_CONV, SEP_CONV, SEP_CONV), **kwargs)


@MODELS.register_module()
class CAFormer(_MetaFormerBaseline):
    """CAFormer: separable convolutions in stages 1-2, global self-attention (head dim 32, no biases, no position
    embedding, ``F.scaled_dot_product_attention``) in stages 3-4. ``arch``: 's18', 's36', 'm36', 'b36' or a dict.
    Forward: any input size (attention cost grows with the square of the token count)."""
    arch_settings = BASELINE_ARCH_SETTINGS['caformer']

    def __init__(self, arch: Union[str, dict] = 's18', **kwargs):
        super().__init__(arch, (SEP_CONV, SEP_CONV, ATTENTION, ATTENTION), **kwargs)


@MODELS.register_module()
class PoolFormerV2(_MetaFormerBaseline):
    """PoolFormerV2: PoolFormer's ``pool(x) - x`` (3x3, padding not counted) with the baselines' settings.
    ``arch``: 's12', 's24', 's36', 'm36', 'm48' or a dict."""
    arch_settings = BASELINE_ARCH_SETTINGS['poolformerv2']
    block_norm = GROUP_NORM_1

    def __init__(self, arch: Union[str, dict] = 's12', **kwargs):
        super().__init__(arch, (POOLING, POOLING, POOLING, POOLING), **kwargs)


@MODELS.register_module()
class IdentityFormer(_MetaFormerBaseline):
    """IdentityFormer: no token mixing at all. ``arch``: 's12', 's24', 's36', 'm36', 'm48' or a dict.

    Its weights have the same tensors as PoolFormerV2's (neither mixer has parameters): a file of one loads into
    the other without complaint, so load each family's own files."""
    arch_settings = BASELINE_ARCH_SETTINGS['identityformer']
    block_norm = GROUP_NORM_1

    def __init__(self, arch: Union[str, dict] = 's12', **kwargs):
        super().__init__(arch, (IDENTITY, IDENTITY, IDENTITY, IDENTITY), **kwargs)


@MODELS.register_module()
class RandFormer(_MetaFormerBaseline):
    """RandFormer: no token mixing in stages 1-2; in stages 3-4 a frozen random token-mixing matrix (row-wise softmax
    of uniform numbers), which exists for one token grid only.

    Args:
        arch: 's12', 's24', 's36', 'm36', 'm48' or a dict.
        input_size: the square image size (px) the matrices are built for: stage 3 sees ``input_size // 16``
            tokens a side, stage 4 ``input_size // 32`` (224, the published models: 14x14 = 196 and 7x7 = 49
            tokens). Another image size is refused with a one-line error naming the grid; RandFormer therefore
            serves classification at a fixed size, not dense prediction at free sizes.
    """
    arch_settings = BASELINE_ARCH_SETTINGS['randformer']
    block_norm = GROUP_NORM_1

    def __init__(self, arch: Union[str, dict] = 's12', input_size: int = 224, **kwargs):
        last_stride = stage_strides()[-1]
        if input_size % last_stride:
            raise ConfigError(f'RandFormer input_size={input_size} must be a multiple of {last_stride} (the stride of '
                              f'stage 4)')
        random = [dict(type='RandomMixing', spatial_shape=grid, distribution='uniform')
                  for grid in token_grids((input_size, input_size))[2:]]
        super().__init__(arch, (IDENTITY, IDENTITY, *random), **kwargs)
        self.input_size = input_size
