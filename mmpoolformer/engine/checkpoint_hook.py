"""MMEngine's CheckpointHook, with old checkpoints removed only after the new one is complete."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ..fileio import write_text_atomically
from ..registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that never loses a complete checkpoint.

    MMEngine's hook deletes the oldest kept checkpoint (``max_keep_ckpts``) *before* it writes the new one, so a
    write that fails (disk full, file-size limit, quota) leaves no checkpoint at all. This one writes the new
    checkpoint first (under a temporary name, renamed when complete, see :class:`~mmpoolformer.engine.SafeRunner`),
    then points ``last_checkpoint`` at it (also written atomically), and only then removes the checkpoints that
    fall out of the kept list. A failed write leaves every earlier checkpoint, ``last_checkpoint`` and the kept list
    as they were, so ``--resume`` continues from the last complete checkpoint. With ``save_best``, the previous best
    checkpoint is likewise removed only after the new best one is complete.

    Same arguments as :class:`~mmengine.hooks.CheckpointHook`; :class:`~mmpoolformer.engine.SafeRunner` builds a
    config's ``default_hooks.checkpoint`` of type ``CheckpointHook`` as this class.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        keeps = self.max_keep_ckpts > 0  # MMEngine keeps the list (keep_ckpt_ids) only then
        previous = (list(self.keep_ckpt_ids) if keeps else None, getattr(self, 'last_ckpt', None),
                    runner.message_hub.get_info('keep_ckpt_ids'), runner.message_hub.get_info('last_ckpt'))
        stale = []
        if keeps and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))  # as the new file records
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                                   backend_args=self.backend_args, **self.args)
        except BaseException:
            keep, self.last_ckpt, hub_keep, hub_last = previous
            if keeps:
                self.keep_ckpt_ids.clear()
                self.keep_ckpt_ids.extend(keep)
            for key, value in (('keep_ckpt_ids', hub_keep), ('last_ckpt', hub_last)):
                if value is None:
                    runner.message_hub.runtime_info.pop(key, None)
                else:
                    runner.message_hub.update_info(key, value)
            raise
        if not is_main_process():
            return
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        write_text_atomically(pointer, self.last_ckpt, what='checkpoint pointer')
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed are folders
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's, with the previous best checkpoint removed only after the new best is complete."""
        backend, removals = self.file_backend, []
        self.file_backend = _RemovalsDeferred(backend, removals)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        current = {getattr(self, 'best_ckpt_path', None), *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for method, path in removals:
            if path not in current:
                getattr(backend, method)(path)


class _RemovalsDeferred:
    """A file backend whose ``remove`` / ``rmtree`` only note the path in ``removals``; everything else is
    ``backend``'s."""

    def __init__(self, backend, removals: list):
        self._backend, self._removals = backend, removals

    def remove(self, path) -> None:
        self._removals.append(('remove', path))

    def rmtree(self, path) -> None:
        self._removals.append(('rmtree', path))

    def __getattr__(self, name):
        return getattr(self._backend, name)
