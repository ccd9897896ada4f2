"""Which full-pickle checkpoints may be loaded: the ones this toolbox wrote itself, or ones the user vouches for.

Training checkpoints of MMEngine hold logging state (``HistoryBuffer``, numpy arrays) that torch's safe
``weights_only`` loader refuses. Instead of switching safe loading off, every checkpoint written by
:class:`~mmpoolformer.engine.SafeRunner` gets its SHA-256 recorded in ``TRUST_RECORD`` beside it; a file whose hash is
recorded there (so: unchanged since this toolbox wrote it) is loaded in full. Anything else must load safely, or the
user passes ``--trust-checkpoint``.
"""
import os.path as osp
from typing import Optional

import torch

from ..errors import CheckpointError, UnsafeCheckpointError
from .io import read_weights, resolve_path, sha256_of

TRUST_RECORD = '.mmpoolformer-written.sha256'


def record_written(written: str, final_name: str) -> None:
    """Note the file ``written`` (by this toolbox), which is about to be renamed to ``final_name`` in the same folder,
    as trusted in the record file of that folder."""
    with open(osp.join(osp.dirname(osp.abspath(written)), TRUST_RECORD), 'a') as f:
        f.write(f'{sha256_of(written)}  {final_name}\n')


def latest_recorded_checkpoint(folder: str) -> Optional[str]:
    """The most recently recorded checkpoint in ``folder`` that exists (complete by construction), or None."""
    record = osp.join(folder, TRUST_RECORD)
    if not osp.isfile(record):
        return None
    with open(record) as f:
        names = [line.rstrip('\n').split('  ', 1)[1] for line in f if '  ' in line]
    for name in reversed(names):
        if osp.isfile(osp.join(folder, name)):
            return osp.join(folder, name)
    return None


def written_by_us(path: str) -> bool:
    """True when the record beside ``path`` lists its current SHA-256 under its name."""
    record = osp.join(osp.dirname(osp.abspath(path)), TRUST_RECORD)
    if not osp.isfile(record):
        return False
    wanted = f'{sha256_of(path)}  {osp.basename(path)}'
    with open(record) as f:
        return any(line.rstrip('\n') == wanted for line in f)


def load_checkpoint_file(filename: str, trust: bool = False) -> dict:
    """Load a checkpoint for resuming or testing: safely if possible, in full if written by us or ``trust``."""
    path = resolve_path(filename)
    try:
        return read_weights(path)
    except UnsafeCheckpointError:
        if trust or written_by_us(path):
            return torch.load(path, map_location='cpu', weights_only=False)
        raise CheckpointError(f'checkpoint {path} holds objects that safe loading refuses and was not written by '
                              f'this toolbox (no matching hash in {TRUST_RECORD} beside it); only if you trust it, '
                              f'pass --trust-checkpoint') from None
