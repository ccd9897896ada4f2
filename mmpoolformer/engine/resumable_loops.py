"""Training loops that stop after any iteration and resume exactly there.

MMEngine's loops stop only where their process ends, and resume at the start of the epoch a checkpoint was written
in: the batches of that epoch already trained are trained again. These loops (which
:class:`~mmpoolformer.engine.SafeRunner` builds in place of MMEngine's ``EpochBasedTrainLoop`` and
``IterBasedTrainLoop``) add *stop points*, where a stop signal noted during the iterations ends training and the
runner saves that position (:meth:`SafeRunner.stop_point`): before each epoch (iteration, for the iteration-based
loop), after each training iteration, and, while an epoch's validation is due or runs, before it and after each of
its iterations (the runner's ``after_val_iter``). A position saved while validation is due records
``validate_first``, and the resumed run validates before it trains on.

A checkpoint written inside an epoch records ``batch_in_epoch``, the number of the epoch's batches trained; the
resumed epoch leaves out those first batches of the same data order by index, so no image of them is loaded and no
batch is trained twice, and the random generators are set back to their saved state after the data iterator is
made (making it draws from torch's generator), so the rest of the epoch sees the augmentation an uninterrupted run
would. The iteration-based loop keeps MMEngine's resume (its data iterator replays the batches already trained).
"""
import itertools
import logging

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import DataLoader

from .random_state import restore_resumed_random_state


class _FirstBatchesLeftOut:
    """A batch sampler's batches without its first ``count`` (indices only: nothing is loaded for them)."""

    def __init__(self, batch_sampler, count: int):
        self.batch_sampler, self.count = batch_sampler, count

    def __iter__(self):
        return itertools.islice(iter(self.batch_sampler), self.count, None)

    def __len__(self) -> int:
        return len(self.batch_sampler)


def batches_after(dataloader: DataLoader, count: int):
    """An iterator over this epoch's batches of ``dataloader`` that starts after its first ``count`` batches.

    The batch sampler is swapped for one that leaves them out just while the iterator is made (a DataLoader does not
    let its sampler be set after it is built), and so is the one the iterator of persistent workers re-reads at each
    epoch; both get the original back for the epochs after this one."""
    original = dataloader.batch_sampler
    if not count:
        return iter(dataloader)
    if original is None:  # no batch sampler (batch_size=None): load and drop them
        iterator = iter(dataloader)
        for _ in range(count):
            next(iterator)
        return iterator
    left_out = _FirstBatchesLeftOut(original, count)
    object.__setattr__(dataloader, 'batch_sampler', left_out)
    persistent = getattr(dataloader, '_iterator', None)  # the iterator of persistent workers, made at an earlier epoch
    if persistent is not None:
        persistent._index_sampler = left_out
    try:
        iterator = iter(dataloader)
    finally:
        object.__setattr__(dataloader, 'batch_sampler', original)
    if getattr(iterator, '_index_sampler', None) is left_out:
        iterator._index_sampler = original  # what a persistent iterator re-reads at its next epoch
    return iterator


class _Validation:
    """The validation step of both loops: due from here until it has run (a position saved meanwhile records it)."""

    validate_first = False

    def _validate(self) -> None:
        self.validate_first = True
        self.runner.stop_point()
        self.runner.val_loop.run()
        self.validate_first = False


class ResumableEpochBasedTrainLoop(_Validation, EpochBasedTrainLoop):
    """MMEngine's :class:`~mmengine.runner.EpochBasedTrainLoop` with stop points and mid-epoch resume.

    Attributes:
        batches_done: the current epoch's batches trained, as a checkpoint written now records them (during an
            iteration's hooks it counts that iteration as done, as MMEngine's iteration checkpoints do).
        resume_batches: batches of the first epoch to leave out (set by the runner's resume).
        validate_first: validate before training on (set by the runner's resume).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches_done = 0
        self.resume_batches = 0

    def run(self):
        with self.runner.stop_signals.deferred():
            self.runner.call_hook('before_train')
            if self.validate_first:
                self._validate()
            while self._epoch < self._max_epochs and not self.stop_training:
                self.runner.stop_point()
                self.run_epoch()
                self._decide_current_val_interval()
                if (self.runner.val_loop is not None and self._epoch >= self.val_begin
                        and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)):
                    self._validate()
            self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        skip, self.resume_batches = self.resume_batches, 0
        self.batches_done = skip
        batches = batches_after(self.dataloader, skip)
        if skip:
            print_log(f'resuming epoch {self._epoch + 1} after its batch {skip} of {len(self.dataloader)}: the '
                      f'first {skip} batches of its data order are left out', logger='current')
            restore_resumed_random_state(self.runner)
        for index, data_batch in enumerate(batches, start=skip):
            self.batches_done = index + 1
            self.run_iter(index, data_batch)
            self.runner.stop_point()
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
        self.batches_done = 0


class ResumableIterBasedTrainLoop(_Validation, IterBasedTrainLoop):
    """MMEngine's :class:`~mmengine.runner.IterBasedTrainLoop` with stop points (before each iteration, and between
    an iteration and the validation after it)."""

    def run(self):
        with self.runner.stop_signals.deferred():
            self.runner.call_hook('before_train')
            self.runner.call_hook('before_train_epoch')  # the whole run is one epoch, as in MMEngine's loop
            if self._iter > 0:
                print_log(f'replaying the data loader over the {self._iter} iterations already trained',
                          logger='current', level=logging.WARNING)
                for _ in range(self._iter):
                    next(self.dataloader_iterator)
            if self.validate_first:
                self._validate()
            while self._iter < self._max_iters and not self.stop_training:
                self.runner.stop_point()
                self.runner.model.train()
                self.run_iter(next(self.dataloader_iterator))
                self._decide_current_val_interval()
                if (self.runner.val_loop is not None and self._iter >= self.val_begin
                        and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                    self._validate()
            self.runner.call_hook('after_train_epoch')
            self.runner.call_hook('after_train')
        return self.runner.model


# the loops of MMEngine that SafeRunner replaces, by the names a config's train_cfg may give them
REPLACED_LOOPS = {name: loop for loop, names in (
    (ResumableEpochBasedTrainLoop, ('EpochBasedTrainLoop', 'mmengine.EpochBasedTrainLoop', EpochBasedTrainLoop)),
    (ResumableIterBasedTrainLoop, ('IterBasedTrainLoop', 'mmengine.IterBasedTrainLoop', IterBasedTrainLoop)))
    for name in names}
