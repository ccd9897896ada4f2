"""mmpoolformer: PoolFormer / MetaFormer backbones for the OpenMMLab 2.0 stack.

Importing the package registers its modules in the ``mmpoolformer`` registry scope, so configs can use
``custom_imports=dict(imports=['mmpoolformer'])`` and ``type='mmpoolformer.PoolFormer'``.
"""
from . import datasets, engine  # noqa: F401  (registers transforms and the runner)
from .models import MetaFormer, PoolFormer  # noqa: F401  (registers the models)

__version__ = '0.1.0'
__all__ = ['MetaFormer', 'PoolFormer', '__version__']
