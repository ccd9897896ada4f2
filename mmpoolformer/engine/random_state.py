"""Save the random number generators' states in every checkpoint and restore them on ``--resume``."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from ..registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed run see the same data augmentation as an uninterrupted one.

    MMEngine re-seeds the sampler per epoch but does not save the generators that transforms draw from (flips, crops,
    jitter: Python's ``random``, NumPy's global generator, torch's CPU and CUDA generators), so after ``--resume`` they
    start again from the seed. This hook writes their states into each checkpoint (``random_state``) and, when a run
    resumes (not for ``load_from``), sets them back. Exact for data loading in the main process (``num_workers=0``,
    the quickstarts) and for workers that MMEngine re-seeds each epoch (non-persistent); persistent workers keep
    their own generators, which no checkpoint holds.

    ``tools/train.py`` adds this hook unless the config already lists one in ``custom_hooks``.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        name, keys, pos, has_gauss, cached = np.random.get_state()
        checkpoint['random_state'] = dict(
            python=random.getstate(), numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                                                 has_gauss=int(has_gauss), cached_gaussian=float(cached)),
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('random_state')
        if state is None or not runner._resume:
            return
        runner._resumed_random_state = state  # set back when training starts (MMEngine's resume may re-seed)

    def before_train_epoch(self, runner) -> None:
        """Epoch-based loops: set every generator back before the first resumed epoch draws its first batch."""
        state = getattr(runner, '_resumed_random_state', None)
        if state is not None and not hasattr(runner.train_loop, 'dataloader_iterator'):
            _restore(state, runner, torch_only=False)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Iteration-based loops: MMEngine replays the data pipeline over the iterations already done (so the
        transforms' generators come back by themselves); torch's generator (drop path) is set back here."""
        state = getattr(runner, '_resumed_random_state', None)
        if state is not None:
            _restore(state, runner, torch_only=True)


def _restore(state: dict, runner, torch_only: bool) -> None:
    if not torch_only:
        random.setstate(state['python'])
        numpy = state['numpy']
        np.random.set_state((numpy['name'], numpy['keys'].numpy().astype(np.uint32), numpy['pos'],
                             numpy['has_gauss'], numpy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])
    runner.logger.info('random generators set back to their state in the resumed checkpoint'
                       + (' (torch; the data pipeline was replayed)' if torch_only else ''))
    del runner._resumed_random_state
