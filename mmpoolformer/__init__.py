"""mmpoolformer: PoolFormer / MetaFormer backbones (and the MetaFormer baselines CAFormer, ConvFormer, PoolFormerV2,
IdentityFormer, RandFormer) for the OpenMMLab 2.0 stack.

Importing the package registers its modules in the ``mmpoolformer`` registry scope, so configs can use
``custom_imports=dict(imports=['mmpoolformer'])`` and ``type='mmpoolformer.PoolFormer'``; it also lets torch's safe
loader open the training checkpoints MMEngine writes (:mod:`mmpoolformer.checkpoint.mmengine_records`).
"""
from . import compat  # noqa: F401, I001  (first: what it works around must be in place before anything imports)
import _mmpoolformer_configs  # mmpoolformer:: config bases (also installed at start-up by the package's .pth)
from .versions import check_stack
from . import datasets, engine  # noqa: F401  (registers transforms and the runner)
from .checkpoint.mmengine_records import allow_mmengine_records

# importing the models registers them
from .models import CAFormer, ConvFormer, IdentityFormer, MetaFormer, PoolFormer, PoolFormerV2, RandFormer

__version__ = '0.1.0'
allow_mmengine_records()
_mmpoolformer_configs.install()
check_stack()
__all__ = ['MetaFormer', 'PoolFormer', 'CAFormer', 'ConvFormer', 'PoolFormerV2', 'IdentityFormer', 'RandFormer',
           '__version__']
