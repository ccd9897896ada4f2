from ..arch_settings import ARCH_SETTINGS
from .global_pool_norm import GlobalPoolNorm
from .metaformer import MetaFormer, PoolFormer
from .norms import LayerNorm2d
from .position_embedding import PositionEmbedding
from .token_mixers import Attention, DepthwiseConv, IdentityMixer, Pooling, RandomMixing, SpatialFC

try:  # only with mmsegmentation installed
    from .seg_preprocessor import MixedSizeSegDataPreProcessor  # noqa: F401
except ImportError:
    pass

__all__ = ['ARCH_SETTINGS', 'GlobalPoolNorm', 'MetaFormer', 'PoolFormer', 'LayerNorm2d', 'PositionEmbedding',
           'Attention', 'DepthwiseConv', 'IdentityMixer', 'Pooling', 'RandomMixing', 'SpatialFC']
