"""Loading a checkpoint for resuming or testing: safely, and in full only for files known to be trusted.

Every file this toolbox writes now opens with torch's safe loader (see :mod:`.safe_format`). Earlier versions wrote
MMEngine's full-pickle training checkpoints (``HistoryBuffer``, NumPy arrays) and recorded each one's SHA-256 in
``TRUST_RECORD`` beside it; a file whose hash is recorded there (so: unchanged since this toolbox wrote it) is still
loaded in full. Anything else must load safely, or the user passes ``--trust-checkpoint``.
"""
import os.path as osp

import torch

from ..errors import CheckpointError, UnsafeCheckpointError
from .reading import MapLocation, read_local, resolve_path, sha256_of
from .safe_format import decode_in_place

TRUST_RECORD = '.mmpoolformer-written.sha256'


def written_by_us(path: str) -> bool:
    """True when the record beside ``path`` lists its current SHA-256 under its name."""
    record = osp.join(osp.dirname(osp.abspath(path)), TRUST_RECORD)
    if not osp.isfile(record):
        return False
    wanted = f'{sha256_of(path)}  {osp.basename(path)}'
    with open(record) as f:
        return any(line.rstrip('\n') == wanted for line in f)


def load_checkpoint_file(filename: str, trust: bool = False, map_location: MapLocation = 'cpu') -> dict:
    """Load a checkpoint for resuming or testing (its path or URL resolved once, its tensors onto ``map_location``):
    safely if possible, in full if an earlier version of this toolbox wrote it or ``trust``; the objects
    :mod:`.safe_format` encoded are rebuilt (here, once)."""
    path = resolve_path(filename)
    try:
        checkpoint = read_local(path, map_location=map_location)
    except UnsafeCheckpointError:
        if trust or written_by_us(path):
            return torch.load(path, map_location=map_location, weights_only=False)
        raise CheckpointError(f'checkpoint {path} holds objects that safe loading refuses and was not written by '
                              f'this toolbox (no matching hash in {TRUST_RECORD} beside it); only if you trust it, '
                              f'pass --trust-checkpoint') from None
    return decode_in_place(checkpoint) if isinstance(checkpoint, dict) else checkpoint
