"""Loading a checkpoint for resuming or testing: safely, and in full only when the user says they trust the file.

Every file this toolbox writes opens with torch's safe loader (see :mod:`.safe_format`), and so do the training
checkpoints MMEngine writes once ``mmpoolformer`` is imported (:mod:`.mmengine_records`). Anything else that safe
loading refuses needs ``--trust-checkpoint``.
"""
import torch

from ..errors import CheckpointError, UnsafeCheckpointError
from .reading import MapLocation, read_local, resolve_path
from .safe_format import decode_in_place


def load_checkpoint_file(filename: str, trust: bool = False, map_location: MapLocation = 'cpu') -> dict:
    """Load a checkpoint for resuming or testing (its path or URL resolved once, its tensors onto ``map_location``):
    safely, or in full if ``trust``; the objects :mod:`.safe_format` encoded are rebuilt (here, once)."""
    path = resolve_path(filename)
    try:
        checkpoint = read_local(path, map_location=map_location)
    except UnsafeCheckpointError as exc:
        if trust:
            return torch.load(path, map_location=map_location, weights_only=False)
        raise CheckpointError(f'checkpoint {path} needs {exc.needs}, which safe loading refuses (unpickling it could '
                              f'run code from the file); only if you trust the file, pass --trust-checkpoint') from None
    return decode_in_place(checkpoint) if isinstance(checkpoint, dict) else checkpoint
