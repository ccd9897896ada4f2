from .metaformer import ARCH_SETTINGS, MetaFormer, PoolFormer
from .norms import LayerNorm2d
from .token_mixers import Attention, DepthwiseConv, IdentityMixer, Pooling

__all__ = ['ARCH_SETTINGS', 'MetaFormer', 'PoolFormer', 'LayerNorm2d', 'Attention', 'DepthwiseConv', 'IdentityMixer',
           'Pooling']
