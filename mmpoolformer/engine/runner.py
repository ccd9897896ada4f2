"""MMEngine Runner with safe, crash-safe checkpoints and clear errors. Configs declare it (``runner_type``, in
``configs/_base_/mmpoolformer_runtime.py``), so every entry point that honours ``runner_type`` (this toolbox's tools,
MMDetection's / MMSegmentation's / MMPretrain's ``tools/train.py`` and ``tools/test.py``, ``mim train/test``) runs
the same runtime."""
import contextlib
import copy
import logging
import os
import os.path as osp
import shlex

import torch
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import DATASETS
from mmengine.runner import BaseLoop, Runner, find_latest_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from ..checkpoint import read_model_checkpoint
from ..checkpoint.safe_format import encode_in_place, payload_size
from ..datasets.loading import DATASET_FIX, UnreadableImageError, use_checked_loading
from ..errors import DeviceError, UserError
from ..evaluation import replace_metrics
from ..fileio import write_atomically, write_text_atomically
from ..registry import RUNNERS
from ..visualization import readable_visualizer_cfg
from .checkpoint_hook import SafeCheckpointHook
from .config_loading import TOOLBOX_DEFAULTS
from .dataset_checks import annotation_json_errors, check_batch_sizes, check_data_paths, check_dataset, check_label_maps
from .device_checks import check_mmcv_cuda_ops, out_of_memory_message
from .fp32_ops import keep_in_fp32
from .random_state import current_random_state
from .resumable_loops import REPLACED_LOOPS, ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop
from .resume_check import check_resume, resume_source
from .stop_signals import REASONS, StopRequested, StopSignals, launch_command, resume_command
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
    - A stop signal (SIGTERM from ``scancel``, ``scontrol requeue``, preemption or torchrun; Ctrl-C; the Slurm
      time-limit SIGUSR1) ends training after the iteration in progress, with that exact position saved (model,
      optimizer, schedulers, loss scaler, every rank's random generators, the place in the epoch's data order) unless
      the newest checkpoint holds it already; ``--resume`` continues there, inside the epoch (:mod:`.stop_signals`,
      :mod:`.resumable_loops`). Training ends with :class:`~mmpoolformer.engine.stop_signals.StopRequested`, whose
      message is the one line ``tools/train.py`` prints.
    """

    def __init__(self, *args, **kwargs):
        if kwargs.get('cfg') is not None:  # every entry point's config (Runner.from_cfg), before anything is written
            check_batch_sizes(kwargs['cfg'])
        self._resume_request = (kwargs.get('resume', False), kwargs.get('load_from'))
        self._claim = None
        self._building_train_loop = False
        self._testing = False  # test(): every tensor of the model must come from the checkpoint
        self._checkpoint_to_save = None
        # (iteration, validation due, file) of the newest checkpoint holding the training state
        self._saved_position = None
        self._loaded_meta = {}
        self.stop_signals = StopSignals()
        self.random_states_of_ranks = None  # every rank's generators, while a checkpoint is being saved
        super().__init__(*args, **kwargs)
        if self._toolbox_option('skip_unreadable_images'):
            self.register_hook(UnreadableImageReportHook())

    def _toolbox_option(self, key: str):
        """The toolbox's own config key ``key``, with its default for a config read without it."""
        return self.cfg.get(key, TOOLBOX_DEFAULTS[key])

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
            check_resume(self.cfg, source, trust=self._toolbox_option('trust_checkpoint'))

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
            return super().build_train_loop(resumable_loop(loop))
        finally:
            self._building_train_loop = False

    def build_dataloader(self, dataloader, seed=None, diff_rank_seed=False):
        if isinstance(dataloader, dict) and isinstance(dataloader.get('dataset'), dict):
            dataloader = copy.copy(dataloader)
            skip = self._building_train_loop and bool(self._toolbox_option('skip_unreadable_images'))
            dataset_cfg = use_checked_loading(dataloader['dataset'], skip_unreadable=skip)
            with annotation_json_errors(dataset_cfg):
                dataset = DATASETS.build(dataset_cfg)
            check_dataset(dataset, 'train' if not getattr(dataset, 'test_mode', False) else 'test')
            stage = 'train' if self._building_train_loop else 'test' if self._testing else 'val'
            check_label_maps(dataset, stage, self._num_classes())
            dataloader['dataset'] = dataset
        return Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def _num_classes(self):
        """The classes a segmentor's decode head predicts (None where the config does not say)."""
        head = (self.cfg.get('model') or {}).get('decode_head')
        return head.get('num_classes') if isinstance(head, dict) else None

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
        check_data_paths(self.cfg, 'train')
        if self.cfg.get('val_cfg'):
            check_data_paths(self.cfg, 'val')
        with self._holding_work_dir(), self.stop_signals.installed():
            try:
                return super().train()
            except StopRequested as stop:
                raise self._stopped(stop) from None
            except UnreadableImageError as exc:
                raise UnreadableImageError(self._stop_for_unreadable_image(exc)) from exc
            except torch.OutOfMemoryError as exc:
                where = f' (iteration {self.iter + 1}, epoch {self.epoch + 1})'
                raise DeviceError(out_of_memory_message('training', self.cfg.train_dataloader.get('batch_size'),
                                                        self._work_dir, where)) from exc

    def val(self):
        check_data_paths(self.cfg, 'val')
        with self._holding_work_dir(), self.stop_signals.installed():
            try:
                return super().val()
            except StopRequested as stop:
                raise self._stopped_evaluating(stop, 'validating') from None

    def test(self):
        check_data_paths(self.cfg, 'test')
        self._testing = True
        try:
            with self._holding_work_dir(), self.stop_signals.installed():
                try:
                    return super().test()
                except StopRequested as stop:
                    raise self._stopped_evaluating(stop, 'testing') from None
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
        if not isinstance(self._train_loop, BaseLoop) or (self.iter == 0 and self._saved_position is None):
            return f'{image}; training stopped before its first iteration, so there was nothing to save: ' \
                   f'{DATASET_FIX}; {skip}'
        fix = f'{DATASET_FIX}, then run the same command with --resume to continue; {skip}'
        where = f'after iteration {self.iter} (epoch {self.epoch + 1})'
        if not is_main_process():
            return f'{image}; training stopped {where} on rank {get_rank()}: {fix}'
        saved, _ = self._save_position(alone=True)
        return f'{image}; training stopped {where} and its state is saved in {saved}: {fix}'

    def register_hook(self, hook, priority=None) -> None:
        if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook', CheckpointHook):
            hook = dict(hook, type=SafeCheckpointHook)  # old checkpoints are removed after the new one is written
        super().register_hook(hook, priority)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        if fn_name == 'after_load_checkpoint':  # read_model_checkpoint has rebuilt the encoded objects
            self._loaded_meta = kwargs['checkpoint'].get('meta') or {}
        if fn_name in ('after_train_epoch', 'after_val_epoch') and self.distributed:
            # where every rank is (the epoch's checkpoints are saved in these hooks): gather their generators
            self.random_states_of_ranks = all_gather_object(current_random_state())
        try:
            super().call_hook(fn_name, **kwargs)
        finally:
            if fn_name in ('after_train_epoch', 'after_val_epoch'):
                self.random_states_of_ranks = None
        if fn_name == 'before_save_checkpoint':  # after every hook has added its part: only safe types remain
            self._checkpoint_to_save = encode_in_place(kwargs['checkpoint'])
        if fn_name == 'after_val_iter' and self.stop_signals.deferring:  # validation inside training
            self.stop_point()

    def stop_point(self) -> None:
        """A point of the training loop where it can stop and save its position: raises
        :class:`~mmpoolformer.engine.stop_signals.StopRequested` when a stop signal reached any rank. Every rank
        calls it at the same points (the ranks agree in a collective)."""
        signum = self.stop_signals.agreed()
        if signum is not None:
            raise StopRequested(signum, at_stop_point=True)

    def _position(self) -> dict:
        """The training loop's position, as a checkpoint's ``meta`` records it: ``epoch`` and ``iter`` as MMEngine's,
        ``batch_in_epoch`` (the epoch's batches trained) and ``batches_per_epoch`` for the epoch-based loop, and
        ``validate_first`` (the validation due there has not run)."""
        loop = self.train_loop
        position = dict(epoch=loop.epoch, iter=loop.iter, validate_first=bool(getattr(loop, 'validate_first', False)))
        if isinstance(loop, ResumableEpochBasedTrainLoop):
            position.update(batch_in_epoch=loop.batches_done, batches_per_epoch=len(loop.dataloader))
        return position

    def _position_text(self) -> str:
        if not isinstance(self._train_loop, BaseLoop):
            return 'before training started'
        if not isinstance(self._train_loop, (ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop)):
            return f'at iteration {self.iter}'  # a loop of the config's own, without stop points
        position = self._position()
        if self.iter == 0 and not position['validate_first']:
            return 'before the first iteration'
        due = ', before its validation had run' if position['validate_first'] else ''
        if 'batch_in_epoch' not in position:
            return f'at iteration {self.iter} of {self.max_iters}{due}'
        done, total = position['batch_in_epoch'], position['batches_per_epoch']
        if done:
            return f'at epoch {self.epoch + 1}, iteration {self.iter} (batch {done} of {total} of the epoch)'
        return f'after epoch {self.epoch}, iteration {self.iter}{due}'

    def _save_position(self, alone: bool = False):
        """Save the training loop's position as ``iter_N.pth`` (pointed to by ``last_checkpoint``) unless the newest
        checkpoint holds it already. Returns ``(file, written)``. Every rank calls it, unless ``alone`` (then only
        rank 0's random generators are saved)."""
        position = self._position()
        if self._saved_position is not None and self._saved_position[:2] == (self.iter, position['validate_first']):
            return self._saved_position[2], False
        if self.distributed and not alone:
            self.random_states_of_ranks = all_gather_object(current_random_state())
        name = f'iter_{self.iter}.pth'
        try:
            self.save_checkpoint(self.work_dir, name, meta=position, by_epoch=False, stop=True)
        finally:
            self.random_states_of_ranks = None
        saved = osp.join(self.work_dir, name)
        if is_main_process():
            write_text_atomically(osp.join(self.work_dir, 'last_checkpoint'), saved, what='checkpoint pointer')
        return saved, True

    def _stopped(self, stop: StopRequested) -> StopRequested:
        """Save the position where a stop signal ended training (at a stop point, unless forced) and return the
        exception the tool ends with: its message is the one line rank 0 prints (empty on other ranks)."""
        where, reason = self._position_text(), REASONS[stop.signum]
        command = resume_command()
        if not stop.at_stop_point or stop.forced:
            if stop.forced:  # inside an iteration: its hooks may not all have run
                how, where = 'at once by a second Ctrl-C', f'after iteration {self.iter} (epoch {self.epoch + 1})'
            else:
                how = f'by {reason}'
            last = self._saved_position[2] if self._saved_position else find_latest_checkpoint(self.work_dir)
            kept = f'the last checkpoint is {last}' if last else 'there is no checkpoint yet'
            message = f'stopped {how} {where}; nothing saved ({kept}); resume with {command}'
            return StopRequested(stop.signum, stop.forced, _on_rank_0(message))
        if self.iter == 0 and self._saved_position is None and not self._position()['validate_first']:
            message = f'stopped by {reason} {where}; nothing to save; run {shlex.join(launch_command())} to start'
            return StopRequested(stop.signum, message=_on_rank_0(message))
        with self.stop_signals.deferred():  # while saving, a repeated SIGTERM changes nothing; Ctrl-C forces
            try:
                saved, written = self._save_position()
            except StopRequested as again:
                message = f'stopped at once by a second Ctrl-C while saving {where}; nothing saved; resume with ' \
                          f'{command}'
                return StopRequested(again.signum, True, _on_rank_0(message))
        what = f'saved {saved}' if written else f'nothing new to save ({saved} holds this position)'
        message = f'stopped by {reason} {where}; {what}; resume with {command}'
        return StopRequested(stop.signum, message=_on_rank_0(message))

    @staticmethod
    def _stopped_evaluating(stop: StopRequested, doing: str) -> StopRequested:
        message = f'stopped by {REASONS[stop.signum]} while {doing}; nothing to save; run it again with ' \
                  f'{shlex.join(launch_command())}'
        return StopRequested(stop.signum, message=_on_rank_0(message))

    def save_checkpoint(self, out_dir: str, filename: str, *args, stop: bool = False, **kwargs) -> None:
        """MMEngine's, written as a file that ``torch.load(weights_only=True)`` opens (see
        :mod:`mmpoolformer.checkpoint.safe_format`), under a temporary name renamed when complete; a failed write
        removes the partial file and ends in one line (:class:`~mmpoolformer.errors.FileWriteError`). Every rank
        calls it (as MMEngine's hooks do); rank 0 writes. A checkpoint written inside an epoch records the epoch's
        batches trained (``batch_in_epoch``); once a later checkpoint is complete, the one written for a stop
        (``stop``) is removed."""
        meta = dict(kwargs.pop('meta', None) or {})
        loop = self._train_loop
        if isinstance(loop, ResumableEpochBasedTrainLoop) and not kwargs.get('by_epoch', True):
            meta.setdefault('batch_in_epoch', loop.batches_done)
            meta.setdefault('batches_per_epoch', len(loop.dataloader))
        path = osp.join(out_dir, filename)
        resumable = kwargs.get('save_optimizer', True) and kwargs.get('save_param_scheduler', True)
        superseded = self.message_hub.get_info('stop_checkpoint') if resumable else None
        if superseded is not None:
            self.message_hub.runtime_info.pop('stop_checkpoint')
        if stop:
            self.message_hub.update_info('stop_checkpoint', path)
        if is_main_process():
            self._checkpoint_to_save = None
            fix = (f'free space in {osp.abspath(out_dir)} (or pass another --work-dir), then run the same command '
                   f'with --resume to continue from the last complete checkpoint')
            try:
                write_atomically(path, lambda partial: super(SafeRunner, self).save_checkpoint(
                    out_dir, osp.basename(partial), *args, meta=meta, **kwargs), what='checkpoint', fix=fix,
                                 size=lambda: payload_size(self._checkpoint_to_save or {}))
            except BaseException:
                if superseded is not None:
                    self.message_hub.update_info('stop_checkpoint', superseded)
                raise
            finally:
                self._checkpoint_to_save = None
            if superseded is not None and superseded != path and osp.isfile(superseded) \
                    and osp.dirname(osp.abspath(superseded)) == osp.abspath(self.work_dir):
                os.remove(superseded)
        if isinstance(loop, BaseLoop) and resumable:  # note which position the file holds
            by_epoch = kwargs.get('by_epoch', True)
            iteration = meta.get('iter', self.iter if by_epoch else self.iter + 1)
            self._saved_position = (iteration, bool(meta.get('validate_first', False)), path)

    def resume(self, filename: str, *args, **kwargs) -> None:
        """MMEngine's, continuing where the checkpoint was written: inside an epoch (its ``batch_in_epoch``) and
        with a validation that was due (its ``validate_first``)."""
        super().resume(filename, *args, **kwargs)
        meta, loop = self._loaded_meta, self.train_loop
        loop.validate_first = bool(meta.get('validate_first', False))
        done = int(meta.get('batch_in_epoch', 0))
        if done and isinstance(loop, ResumableEpochBasedTrainLoop):
            total, saved_total = len(loop.dataloader), int(meta.get('batches_per_epoch', len(loop.dataloader)))
            if saved_total != total:  # another data set, batch size or number of processes
                self.logger.warning(f'{filename} was written after batch {done} of {saved_total} of epoch '
                                    f'{loop.epoch + 1}; an epoch here has {total} batches, so the rest of that '
                                    f'epoch starts at the same share of it, in another data order than the stopped '
                                    f'run\'s')
                done = done * total // saved_total
            loop.resume_batches = done
        self._saved_position = (self.iter, loop.validate_first, filename)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = ()) -> dict:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = read_model_checkpoint(model, filename, trust=self._toolbox_option('trust_checkpoint'),
                                           whole_model=self._testing, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def _on_rank_0(message: str) -> str:
    """A tool's last line is printed once, by rank 0."""
    return message if is_main_process() else ''


def resumable_loop(loop):
    """A train loop config with MMEngine's epoch- or iteration-based loop replaced by its resumable version
    (:mod:`.resumable_loops`); any other loop as it is."""
    if not isinstance(loop, dict):
        return loop
    loop = dict(loop)
    if 'type' in loop:
        loop['type'] = REPLACED_LOOPS.get(loop['type'], loop['type'])
    elif 'by_epoch' in loop:
        loop['type'] = ResumableEpochBasedTrainLoop if loop.pop('by_epoch') else ResumableIterBasedTrainLoop
    return loop


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

