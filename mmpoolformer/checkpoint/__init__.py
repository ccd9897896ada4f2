"""Everything about weight files: reading them safely (``io``), writing files every safe loader opens
(``safe_format``), which full-pickle files of earlier versions to trust (``trust``),
recognising and converting the official, timm and MMPretrain layouts (``formats``), and whether a file fits a model
(``loading``). Imports nothing from the rest of the package but its arch table and errors."""
from ..errors import CheckpointError, UnsafeCheckpointError
from .formats import ConvertedWeights, convert_weights, detect_layout, to_model_layout, unwrap_state_dict
from .io import read_weights, resolve_path
from .loading import check_fit, check_model_fit, load_backbone_weights, model_label, read_model_checkpoint
from .safe_format import save_checkpoint_file, to_safe
from .trust import load_checkpoint_file

__all__ = ['CheckpointError', 'ConvertedWeights', 'check_fit', 'check_model_fit',
           'convert_weights', 'detect_layout', 'load_backbone_weights', 'load_checkpoint_file', 'model_label',
           'read_model_checkpoint', 'read_weights', 'resolve_path', 'save_checkpoint_file', 'to_model_layout',
           'to_safe', 'unwrap_state_dict', 'UnsafeCheckpointError']
