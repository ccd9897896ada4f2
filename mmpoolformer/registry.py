"""Registries of the ``mmpoolformer`` scope.

Each is a child of MMEngine's root registry, so ``type='mmpoolformer.PoolFormer'`` resolves from the MODELS registry
of mmdet, mmseg or mmpretrain once ``custom_imports=dict(imports=['mmpoolformer'])`` has run. The models that extend
MMSegmentation or MMPretrain classes are imported when a config first asks for them, so ``import mmpoolformer``
does not import those packages.
"""
import importlib

from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry


class _ModelRegistry(Registry):
    """The MODELS registry: ``get`` imports the module of a class listed in :attr:`ON_DEMAND` before looking it up."""
    ON_DEMAND = {'MixedSizeSegDataPreProcessor': 'mmpoolformer.models.seg_preprocessor',
                 'MlpClsHead': 'mmpoolformer.models.mlp_cls_head'}

    def get(self, key):
        name = key.split('.')[-1] if isinstance(key, str) else None
        if name in self.ON_DEMAND and name not in self._module_dict:
            importlib.import_module(self.ON_DEMAND[name])
        return super().get(key)


MODELS = _ModelRegistry('model', parent=MMENGINE_MODELS, scope='mmpoolformer', locations=['mmpoolformer.models'])
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='mmpoolformer', locations=['mmpoolformer.engine'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mmpoolformer',
                      locations=['mmpoolformer.datasets'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmpoolformer',
                          locations=['mmpoolformer.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmpoolformer', locations=['mmpoolformer.engine'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope='mmpoolformer',
                       locations=['mmpoolformer.visualization.det', 'mmpoolformer.visualization.seg',
                                  'mmpoolformer.visualization.cls'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, scope='mmpoolformer',
                       locations=['mmpoolformer.visualization.written_drawings'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='mmpoolformer',
                   locations=['mmpoolformer.evaluation.dump', 'mmpoolformer.evaluation.detection',
                              'mmpoolformer.evaluation.segmentation'])
