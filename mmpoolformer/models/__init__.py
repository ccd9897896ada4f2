from ..arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS
from .activations import SquaredReLU, StarReLU
from .baselines import CAFormer, ConvFormer, IdentityFormer, PoolFormerV2, RandFormer
from .global_pool_norm import GlobalPoolNorm
from .metaformer import MetaFormer, PoolFormer
from .norms import GroupNorm1, LayerNorm2d
from .position_embedding import PositionEmbedding
from .token_mixers import Attention, DepthwiseConv, IdentityMixer, Pooling, RandomMixing, SepConv, SpatialFC

try:  # only with mmsegmentation installed
    from .seg_preprocessor import MixedSizeSegDataPreProcessor  # noqa: F401
except ImportError:
    pass
try:  # only with mmpretrain installed
    from .mlp_cls_head import MlpClsHead  # noqa: F401
except ImportError:
    pass

__all__ = ['ARCH_SETTINGS', 'BASELINE_ARCH_SETTINGS', 'GlobalPoolNorm', 'MetaFormer', 'PoolFormer', 'CAFormer',
           'ConvFormer', 'IdentityFormer', 'PoolFormerV2', 'RandFormer', 'GroupNorm1', 'LayerNorm2d',
           'PositionEmbedding', 'SquaredReLU', 'StarReLU', 'Attention', 'DepthwiseConv', 'IdentityMixer', 'Pooling',
           'RandomMixing', 'SepConv', 'SpatialFC']
