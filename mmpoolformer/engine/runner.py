"""MMEngine Runner with crash-safe checkpoints and safe loading; used by ``tools/train.py`` and ``tools/test.py``."""
import copy
import os
import os.path as osp

from mmengine.dist import get_rank, is_main_process, master_only
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS
from mmengine.runner import BaseLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model, find_latest_checkpoint

from ..checkpoint import check_model_fit, load_checkpoint_file, record_written, to_model_layout
from ..checkpoint.trust import latest_recorded_checkpoint
from ..datasets.loading import DATASET_FIX, UnreadableImageError, use_checked_loading
from ..registry import RUNNERS
from .dataset_checks import annotation_json_errors, check_dataset
from .unreadable_images import UnreadableImageReportHook, error_line


@RUNNERS.register_module()
class SafeRunner(Runner):
    """A :class:`mmengine.runner.Runner` whose checkpoints survive a kill and load without unsafe unpickling.

    - Saving writes ``.NAME.partial`` and renames it to ``NAME`` when complete, so a process killed while writing
      never leaves a file that looks complete; the SHA-256 of each finished file is recorded beside it.
    - Loading (``load_from``, ``--resume``) uses torch's safe loader, and full unpickling only for files whose
      recorded hash shows this toolbox wrote them, or when the config sets ``trust_checkpoint=True``.
    - Official mmdet 2.x / mmseg 0.x PoolFormer model files load directly: their backbone keys are renamed.
    - Each dataset is checked when built (see :func:`check_dataset`): wrong class names or an empty set are one
      clear error instead of a failure deep inside the sampler; an annotation file that is not valid JSON is named
      with the parse position.
    - Images load with :class:`~mmpoolformer.datasets.LoadImageChecked` in place of ``LoadImageFromFile``: a
      missing, empty or undecodable image is one line naming the file. When one ends training, the training state
      is saved first (``iter_N.pth``, unless the newest checkpoint already holds it), so ``--resume`` continues
      once the file is fixed; an interrupted epoch of an epoch-based loop is then run again from its first batch
      (MMEngine resumes epoch loops at epoch starts). With the config key ``skip_unreadable_images=True`` such
      training samples are skipped instead, each named in a warning, with a count at the end of every epoch.
    - mmdet's and mmseg's local visualizers are built as :mod:`mmpoolformer.visualization`'s readable ones: small
      images are drawn upscaled to 512 px on the long side (``tools/test.py --show-dir``).
    """

    def __init__(self, *args, **kwargs):
        self._building_train_loop = False
        self._saved_state = None  # (iteration, file) of the newest checkpoint holding the training state
        super().__init__(*args, **kwargs)
        if self.cfg.get('skip_unreadable_images', False):
            self.register_hook(UnreadableImageReportHook())

    def build_train_loop(self, loop):
        self._building_train_loop = True  # so build_dataloader knows it builds the training set
        try:
            return super().build_train_loop(loop)
        finally:
            self._building_train_loop = False

    def build_dataloader(self, dataloader, seed=None, diff_rank_seed=False):
        if isinstance(dataloader, dict) and isinstance(dataloader.get('dataset'), dict):
            dataloader = copy.copy(dataloader)
            skip = self._building_train_loop and bool(self.cfg.get('skip_unreadable_images', False))
            dataset_cfg = use_checked_loading(dataloader['dataset'], skip_unreadable=skip)
            with annotation_json_errors(dataset_cfg):
                dataset = DATASETS.build(dataset_cfg)
            check_dataset(dataset, 'train' if not getattr(dataset, 'test_mode', False) else 'test')
            dataloader['dataset'] = dataset
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def build_evaluator(self, evaluator):
        with annotation_json_errors(evaluator):  # e.g. CocoMetric reads its ann_file when built
            return super().build_evaluator(evaluator)

    def build_visualizer(self, visualizer=None):
        from ..visualization import readable_visualizer_cfg
        return super().build_visualizer(readable_visualizer_cfg(visualizer))

    def train(self):
        try:
            return super().train()
        except UnreadableImageError as exc:
            raise UnreadableImageError(self._stop_for_unreadable_image(exc)) from exc

    def _stop_for_unreadable_image(self, exc: UnreadableImageError) -> str:
        """Save the training state (unless the newest checkpoint already holds it) before ``exc`` ends training;
        returns the one-line message: the file, where the state is saved and how to continue."""
        image = error_line(exc)
        image = image[:-len(DATASET_FIX) - 2] if image.endswith(f'; {DATASET_FIX}') else image
        skip = 'or skip unreadable images with --cfg-options skip_unreadable_images=True'
        if not isinstance(self._train_loop, BaseLoop) or (self.iter == 0 and self._saved_state is None):
            return f'{image}; training stopped before its first iteration, so there was nothing to save: ' \
                   f'{DATASET_FIX}; {skip}'
        fix = f'{DATASET_FIX}, then run the same command with --resume to continue; {skip}'
        where = f'after iteration {self.iter} (epoch {self.epoch + 1})'
        if not is_main_process():
            return f'{image}; training stopped {where} on rank {get_rank()}: {fix}'
        if self._saved_state is not None and self._saved_state[0] == self.iter and osp.isfile(self._saved_state[1]):
            saved = self._saved_state[1]
        else:
            name = f'iter_{self.iter}.pth'
            self.save_checkpoint(self.work_dir, name, meta=dict(epoch=self.epoch, iter=self.iter))
            saved = osp.join(self.work_dir, name)
            with open(osp.join(self.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(saved)
        return f'{image}; training stopped {where} and its state is saved in {saved}: {fix}'

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        partial = f'.{filename}.partial'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        record_written(osp.join(out_dir, partial), filename)
        os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))
        resumable = kwargs.get('save_optimizer', True) and kwargs.get('save_param_scheduler', True)
        if isinstance(self._train_loop, BaseLoop) and resumable:  # note which iteration the file holds
            by_epoch = kwargs.get('by_epoch', True)
            self._saved_state = ((kwargs.get('meta') or {}).get('iter', self.iter if by_epoch else self.iter + 1),
                                 osp.join(out_dir, filename))

    def resume(self, filename: str, *args, **kwargs) -> None:
        super().resume(filename, *args, **kwargs)
        self._saved_state = (self.iter, filename)

    def load_or_resume(self) -> None:
        """As MMEngine's, but auto-resume takes the newest complete checkpoint this toolbox recorded writing (MMEngine's
        ``last_checkpoint`` pointer can lag behind it if the process was killed between the two writes)."""
        if self._resume and self._load_from is None and not self._has_loaded:
            self._load_from = latest_recorded_checkpoint(self.work_dir) or find_latest_checkpoint(self.work_dir)
            self.logger.info(f'Auto resuming from the latest complete checkpoint: {self._load_from}')
            if self._load_from is None:
                self._resume = False
        super().load_or_resume()

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = ()) -> dict:
        checkpoint = load_checkpoint_file(filename, trust=self.cfg.get('trust_checkpoint', False))
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = to_model_layout(checkpoint, model.state_dict().keys())
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        check_model_fit(model, checkpoint['state_dict'], filename, whole_model=self.cfg.get('strict_checkpoint', False))
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def build_runner(cfg):
    """The runner of ``cfg``: :class:`SafeRunner` unless the config names its own ``runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return SafeRunner.from_cfg(cfg)
