"""mmpoolformer: PoolFormer / MetaFormer backbones (and the MetaFormer baselines CAFormer, ConvFormer, PoolFormerV2,
IdentityFormer, RandFormer) for the OpenMMLab 2.0 stack.

Importing the package registers its modules in the ``mmpoolformer`` registry scope, so configs can use
``custom_imports=dict(imports=['mmpoolformer'])`` and ``type='mmpoolformer.PoolFormer'``.
"""
from . import compat  # noqa: F401, I001  (first: what it works around must be in place before anything imports)
from . import datasets, engine  # noqa: F401  (registers transforms and the runner)

# importing the models registers them
from .models import CAFormer, ConvFormer, IdentityFormer, MetaFormer, PoolFormer, PoolFormerV2, RandFormer

__version__ = '0.1.0'
__all__ = ['MetaFormer', 'PoolFormer', 'CAFormer', 'ConvFormer', 'PoolFormerV2', 'IdentityFormer', 'RandFormer',
           '__version__']
