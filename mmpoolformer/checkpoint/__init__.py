"""Reading, recognising and converting PoolFormer weight files."""
from .formats import ConvertedWeights, convert_weights, detect_layout, unwrap_state_dict
from .io import CheckpointError, UnsafeCheckpointError, read_weights, resolve_path
from .loading import load_backbone_weights

__all__ = ['CheckpointError', 'ConvertedWeights', 'convert_weights', 'detect_layout', 'load_backbone_weights',
           'read_weights', 'resolve_path', 'unwrap_state_dict', 'UnsafeCheckpointError']
