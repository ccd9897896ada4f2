"""Save the random number generators' states in every checkpoint and restore them on ``--resume``."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook

from ..registry import HOOKS


def current_random_state() -> dict:
    """This process's generators (Python's ``random``, NumPy's global one, torch's CPU and CUDA ones), in types that
    ``torch.load(weights_only=True)`` reads back."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return dict(
        python=random.getstate(), numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                                             has_gauss=int(has_gauss), cached_gaussian=float(cached)),
        torch=torch.get_rng_state(), cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])


def set_random_state(state: dict, torch_only: bool = False) -> None:
    """Set the generators back to ``state`` (:func:`current_random_state`); ``torch_only``: torch's alone."""
    if not torch_only:
        random.setstate(state['python'])
        numpy = state['numpy']
        np.random.set_state((numpy['name'], numpy['keys'].numpy().astype(np.uint32), numpy['pos'],
                             numpy['has_gauss'], numpy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])


def restore_resumed_random_state(runner, torch_only: bool = False) -> None:
    """Set the generators back to the state of the checkpoint the run resumed from (once; nothing if it resumed from
    none or from a file without it)."""
    state = getattr(runner, '_resumed_random_state', None)
    if state is None:
        return
    set_random_state(state, torch_only)
    runner.logger.info('random generators set back to their state in the resumed checkpoint'
                       + (' (torch; the data pipeline was replayed)' if torch_only else ''))
    del runner._resumed_random_state


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed run see the same data augmentation as an uninterrupted one.

    MMEngine re-seeds the sampler per epoch but does not save the generators that transforms draw from (flips, crops,
    jitter: Python's ``random``, NumPy's global generator, torch's CPU and CUDA generators), so after ``--resume`` they
    start again from the seed. This hook writes their states into each checkpoint (``random_state``: rank 0's;
    ``random_state_of_ranks``: every rank's, in a distributed run, gathered by
    :meth:`~mmpoolformer.engine.SafeRunner.save_checkpoint`) and, when a run resumes (not for ``load_from``), sets
    each rank's back (rank 0's state for every rank where the number of processes changed). Exact for data loading
    in the main process (``num_workers=0``, the quickstarts) and for workers that MMEngine re-seeds each epoch
    (non-persistent) at epoch boundaries; workers keep their own generators, which no checkpoint holds.

    The epoch-based loop of :mod:`.resumable_loops` sets them back itself when it resumes inside an epoch (after its
    data iterator is made). Every config declares this hook (``configs/_base_/mmpoolformer_runtime.py``).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        ranks: Optional[List[dict]] = getattr(runner, 'random_states_of_ranks', None)
        checkpoint['random_state'] = current_random_state()
        if ranks:
            checkpoint['random_state_of_ranks'] = ranks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner._resume:
            return
        ranks = checkpoint.get('random_state_of_ranks')
        state = ranks[get_rank()] if ranks and len(ranks) == get_world_size() else checkpoint.get('random_state')
        if state is not None:
            runner._resumed_random_state = state  # set back when training starts (MMEngine's resume may re-seed)

    def before_train_epoch(self, runner) -> None:
        """Epoch-based loops resumed at an epoch boundary: set every generator back before the epoch draws its first
        batch."""
        loop = runner.train_loop
        if not hasattr(loop, 'dataloader_iterator') and not getattr(loop, 'resume_batches', 0):
            restore_resumed_random_state(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Iteration-based loops: MMEngine replays the data pipeline over the iterations already done (so the
        transforms' generators come back by themselves); torch's generator (drop path) is set back here."""
        restore_resumed_random_state(runner, torch_only=True)
