"""Everything about weight files: reading them safely (``io``), which full-pickle files to trust (``trust``),
recognising and converting the official, timm and MMPretrain layouts (``formats``), and whether a file fits a model
(``loading``). Imports nothing from the rest of the package but its arch table and errors."""
from ..errors import CheckpointError, UnsafeCheckpointError
from .formats import ConvertedWeights, convert_weights, detect_layout, to_model_layout, unwrap_state_dict
from .io import read_weights, resolve_path
from .loading import check_fit, check_model_fit, load_backbone_weights, model_label
from .trust import load_checkpoint_file, record_written

__all__ = ['CheckpointError', 'ConvertedWeights', 'check_fit', 'check_model_fit', 'convert_weights', 'detect_layout',
           'load_backbone_weights', 'load_checkpoint_file', 'model_label', 'read_weights', 'record_written',
           'resolve_path', 'to_model_layout', 'unwrap_state_dict', 'UnsafeCheckpointError']
