"""Reporting of unreadable image files met in training (see :mod:`mmpoolformer.datasets.loading`)."""
import re

from mmengine.hooks import Hook

from ..datasets.loading import checked_loaders
from ..registry import HOOKS


def error_line(exc: BaseException) -> str:
    """The one-line message of ``exc``, also when a DataLoader worker raised it (PyTorch then re-raises it with the
    worker's traceback in the message: its last line holds the original message after the type name)."""
    message = str(exc)
    if 'Original Traceback' in message:
        message = [line for line in message.splitlines() if line.strip()][-1]
        message = re.sub(rf'^(?:\w+\.)*{type(exc).__name__}: ', '', message.strip())
    return ' '.join(message.split())


@HOOKS.register_module()
class UnreadableImageReportHook(Hook):
    """With ``skip_unreadable_images=True`` (added by :class:`~mmpoolformer.engine.SafeRunner`): at the end of each
    training epoch, log how many distinct unreadable image files were skipped in it (each is named in a warning when
    first skipped)."""

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        for loader in checked_loaders(runner.train_dataloader.dataset):
            loader.pop_skipped()

    def after_train_epoch(self, runner) -> None:
        skipped = sum(loader.pop_skipped() for loader in checked_loaders(runner.train_dataloader.dataset))
        if skipped:
            files = 'file' if skipped == 1 else 'files'
            runner.logger.warning(f'epoch {runner.epoch + 1}: skipped {skipped} unreadable image {files} '
                                  f'(skip_unreadable_images=True; each is named in a warning above); these samples '
                                  f'were not trained on: restore or remove them')
