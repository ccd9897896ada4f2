"""MMEngine Runner with safe, crash-safe checkpoints and clear errors. Configs declare it (``runner_type``, in
``configs/_base_/mmpoolformer_runtime.py``), so every entry point that honours ``runner_type`` (this toolbox's tools,
MMDetection's / MMSegmentation's / MMPretrain's ``tools/train.py`` and ``tools/test.py``, ``mim train/test``) runs
the same runtime."""
import contextlib
import copy
import logging
import os.path as osp

import torch
from mmengine.dist import broadcast_object_list, get_rank, is_main_process, master_only
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS
from mmengine.runner import BaseLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..checkpoint import read_model_checkpoint
from ..checkpoint.safe_format import decode_in_place, encode_in_place, payload_size
from ..datasets.loading import DATASET_FIX, UnreadableImageError, use_checked_loading
from ..errors import DeviceError, UserError
from ..evaluation import replace_metrics
from ..fileio import write_atomically, write_text_atomically
from ..registry import RUNNERS
from ..visualization import readable_visualizer_cfg
from .checkpoint_hook import SafeCheckpointHook
from .dataset_checks import annotation_json_errors, check_batch_sizes, check_data_paths, check_dataset
from .device_checks import check_mmcv_cuda_ops, out_of_memory_message
from .fp32_ops import keep_in_fp32
from .resume_check import check_resume, resume_source
from .unreadable_images import UnreadableImageReportHook, error_line
from .work_dir_claim import WorkDirClaim


@RUNNERS.register_module()
class SafeRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` with checkpoints that open in every OpenMMLab loader and survive a
    kill or a full disk, and inputs checked before they are used.

    - Checkpoints hold only what ``torch.load(weights_only=True)`` accepts (:mod:`mmpoolformer.checkpoint.safe_format`)
      and are written under a temporary name renamed when complete; a failed write ends in one line and old
      checkpoints are removed only after the new one is complete (:class:`SafeCheckpointHook`).
    - Every load (``load_from``, ``--resume``, testing) goes through
      :func:`~mmpoolformer.checkpoint.read_model_checkpoint`: safe unpickling and the one fit check.
    - Data roots, annotation files, datasets and images are checked, each fault one line; an unreadable training
      image saves the training state first (or is skipped with ``skip_unreadable_images=True``).
    - Metrics and visualizers are replaced by ones that score empty predictions, write completely and draw small
      images legibly (:mod:`mmpoolformer.evaluation`, :mod:`mmpoolformer.visualization`).
    - A run claims its work dir before writing there (:mod:`.work_dir_claim`; the ranks of a distributed run share
      rank 0's claim), and ``--resume`` first checks that the checkpoint fits the config's model and optimizer
      (:mod:`.resume_check`); either refusal is one line and leaves the work dir as it was.
    """

    def __init__(self, *args, **kwargs):
        self._resume_request = (kwargs.get('resume', False), kwargs.get('load_from'))
        self._claim = None
        self._building_train_loop = False
        self._testing = False  # test(): every tensor of the model must come from the checkpoint
        self._checkpoint_to_save = None
        self._saved_state = None  # (iteration, file) of the newest checkpoint holding the training state
        super().__init__(*args, **kwargs)
        if self.cfg.get('skip_unreadable_images', False):
            self.register_hook(UnreadableImageReportHook())

    def setup_env(self, env_cfg) -> None:
        """MMEngine's (the process group of a distributed run), then the work dir's claim and, for ``--resume``, the
        fit of the checkpoint: both before the runner writes its log and config there. Rank 0 claims and checks;
        every rank ends with its refusal."""
        super().setup_env(env_cfg)
        check_mmcv_cuda_ops()
        self._claim = WorkDirClaim(self._work_dir)
        outcome = [None]
        if is_main_process():
            try:
                note = self._claim.acquire()
                try:
                    self._check_resume()
                except UserError:
                    self._claim.release()
                    raise
                outcome = [('note', note)]
            except UserError as exc:
                outcome = [('refused', type(exc), str(exc))]
        if self._distributed:
            broadcast_object_list(outcome)
        if outcome[0][0] == 'refused':
            raise outcome[0][1](outcome[0][2])
        if outcome[0][1]:
            print_log(outcome[0][1], logger='current', level=logging.WARNING)

    def _check_resume(self) -> None:
        resume, load_from = self._resume_request
        if not resume:
            return
        source = resume_source(self._work_dir, load_from)
        if source is not None:
            check_resume(self.cfg, source, trust=self.cfg.get('trust_checkpoint', False))

    @contextlib.contextmanager
    def _holding_work_dir(self):
        """Hold the work dir's claim (again, after an earlier call of train/val/test gave it up) while a run goes."""
        if is_main_process() and not self._claim.held:
            self._claim.acquire()
        try:
            yield
        finally:
            self._claim.release()

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
        evaluator = replace_metrics(evaluator)
        with annotation_json_errors(evaluator):  # e.g. CocoMetric reads its ann_file when built
            return super().build_evaluator(evaluator)

    def build_model(self, model):
        model = super().build_model(model)
        keep_in_fp32(model)  # NMS, RoIAlign and box post-processing under mixed precision
        return model

    def build_visualizer(self, visualizer=None):
        return super().build_visualizer(readable_visualizer_cfg(visualizer))

    def train(self):
        check_batch_sizes(self.cfg)
        check_data_paths(self.cfg, 'train')
        if self.cfg.get('val_cfg'):
            check_data_paths(self.cfg, 'val')
        with self._holding_work_dir():
            try:
                return super().train()
            except UnreadableImageError as exc:
                raise UnreadableImageError(self._stop_for_unreadable_image(exc)) from exc
            except torch.OutOfMemoryError as exc:
                where = f' (iteration {self.iter + 1}, epoch {self.epoch + 1})'
                raise DeviceError(out_of_memory_message('training', self.cfg.train_dataloader.get('batch_size'),
                                                        self._work_dir, where)) from exc

    def val(self):
        check_batch_sizes(self.cfg)
        check_data_paths(self.cfg, 'val')
        with self._holding_work_dir():
            return super().val()

    def test(self):
        check_batch_sizes(self.cfg)
        check_data_paths(self.cfg, 'test')
        self._testing = True
        try:
            with self._holding_work_dir():
                return super().test()
        except torch.OutOfMemoryError as exc:
            raise DeviceError(out_of_memory_message('testing', self.cfg.test_dataloader.get('batch_size'),
                                                    self._work_dir)) from exc
        finally:
            self._testing = False

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
            write_text_atomically(osp.join(self.work_dir, 'last_checkpoint'), saved, what='checkpoint pointer')
        return f'{image}; training stopped {where} and its state is saved in {saved}: {fix}'

    def register_hook(self, hook, priority=None) -> None:
        if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook', CheckpointHook):
            hook = dict(hook, type=SafeCheckpointHook)  # old checkpoints are removed after the new one is written
        super().register_hook(hook, priority)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        if fn_name == 'after_load_checkpoint':  # hooks see the objects the safe file format encodes
            decode_in_place(kwargs['checkpoint'])
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':  # after every hook has added its part: only safe types remain
            self._checkpoint_to_save = encode_in_place(kwargs['checkpoint'])

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """MMEngine's, written as a file that ``torch.load(weights_only=True)`` opens (see
        :mod:`mmpoolformer.checkpoint.safe_format`), under a temporary name renamed when complete; a failed write
        removes the partial file and ends in one line (:class:`~mmpoolformer.errors.FileWriteError`)."""
        self._checkpoint_to_save = None
        fix = (f'free space in {osp.abspath(out_dir)} (or pass another --work-dir), then run the same command with '
               f'--resume to continue from the last complete checkpoint')
        write_atomically(osp.join(out_dir, filename),
                         lambda partial: super(SafeRunner, self).save_checkpoint(out_dir, osp.basename(partial),
                                                                                 *args, **kwargs),
                         what='checkpoint', fix=fix, size=lambda: payload_size(self._checkpoint_to_save or {}))
        self._checkpoint_to_save = None
        resumable = kwargs.get('save_optimizer', True) and kwargs.get('save_param_scheduler', True)
        if isinstance(self._train_loop, BaseLoop) and resumable:  # note which iteration the file holds
            by_epoch = kwargs.get('by_epoch', True)
            self._saved_state = ((kwargs.get('meta') or {}).get('iter', self.iter if by_epoch else self.iter + 1),
                                 osp.join(out_dir, filename))

    def resume(self, filename: str, *args, **kwargs) -> None:
        super().resume(filename, *args, **kwargs)
        self._saved_state = (self.iter, filename)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = ()) -> dict:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = read_model_checkpoint(model, filename, trust=self.cfg.get('trust_checkpoint', False),
                                           whole_model=self._testing)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def build_runner(cfg):
    """The runner of ``cfg`` as MMDetection's, MMSegmentation's and MMPretrain's tools build it: the config's
    ``runner_type`` (``mmpoolformer.SafeRunner`` in every config of this toolbox), else MMEngine's ``Runner``, with
    a warning that the toolbox's runtime is then missing."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    print_log(f'{cfg.filename} declares no runner_type, so it runs on MMEngine\'s plain Runner (no safe or '
              f'crash-safe checkpoints, no data checks); add configs/_base_/mmpoolformer_runtime.py to its _base_',
              logger='current', level=logging.WARNING)
    return Runner.from_cfg(cfg)

