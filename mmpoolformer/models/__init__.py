# The arch tables first: the checkpoint layer, which the backbones import to load weights, reads them (and only them)
# from here, so they must be complete before any backbone module starts importing it.
from .arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS  # noqa: I001
from .activations import SquaredReLU, StarReLU
from .baselines import CAFormer, ConvFormer, IdentityFormer, PoolFormerV2, RandFormer
from .global_pool_norm import GlobalPoolNorm
from .metaformer import MetaFormer, PoolFormer
from .names import create_backbone, parse_backbone_name
from .norms import GroupNorm1, LayerNorm2d
from .position_embedding import PositionEmbedding
from .token_mixers import Attention, DepthwiseConv, IdentityMixer, Pooling, RandomMixing, SepConv, SpatialFC

# seg_preprocessor (MMSegmentation) and mlp_cls_head (MMPretrain) are imported when a config asks for their classes
# (mmpoolformer.registry.MODELS), not here

__all__ = ['ARCH_SETTINGS', 'BASELINE_ARCH_SETTINGS', 'GlobalPoolNorm', 'MetaFormer', 'PoolFormer', 'CAFormer',
           'ConvFormer', 'IdentityFormer', 'PoolFormerV2', 'RandFormer', 'GroupNorm1', 'LayerNorm2d',
           'PositionEmbedding', 'SquaredReLU', 'StarReLU', 'Attention', 'DepthwiseConv', 'IdentityMixer', 'Pooling',
           'RandomMixing', 'SepConv', 'SpatialFC', 'create_backbone', 'parse_backbone_name']
