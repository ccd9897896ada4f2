"""Everything about weight files, in the order a file goes through it: resolving and reading it safely
(``reading``; ``mmengine_records`` lets the safe loader open MMEngine's own training checkpoints), loading for
resume and test, in full only when the user trusts the file (``trust``), recognising and renaming the
official, timm and MMPretrain layouts (``layouts``), and whether a file fits a model (``fit``); ``safe_format``
writes files every safe loader opens. Imports nothing from the rest of the package but the arch tables
(``models/arch_settings.py``), the errors and atomic writing (``fileio``)."""
from ..models.arch_settings import FAMILY_ARCH_SETTINGS  # noqa: F401, I001  (first: see models/__init__.py)
from ..errors import CheckpointError, UnsafeCheckpointError
from .fit import check_fit, check_model_fit, load_backbone_weights, model_label, read_model_checkpoint
from .layouts import ConvertedWeights, convert_weights, detect_layout, stored_arch, to_model_layout, unwrap_state_dict
from .reading import read_weights, resolve_path
from .safe_format import save_checkpoint_file, to_safe
from .trust import load_checkpoint_file

__all__ = ['CheckpointError', 'ConvertedWeights', 'check_fit', 'check_model_fit',
           'convert_weights', 'detect_layout', 'load_backbone_weights', 'load_checkpoint_file', 'model_label',
           'read_model_checkpoint', 'read_weights', 'resolve_path', 'save_checkpoint_file', 'stored_arch',
           'to_model_layout', 'to_safe', 'unwrap_state_dict', 'UnsafeCheckpointError']
