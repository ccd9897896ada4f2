"""A COCO config's own training loop, timed: ``tools/train.py`` (the config's data pipeline, model, optimizer and
runner, as a user trains it) for a few dozen iterations on the synthetic COCO-sized data, in fp32 and under AMP.

Each run is its own process (``python -m mmpoolformer.cli.train``), so one that fails (out of memory, a missing CUDA
op) is reported with its last line and the others go on. The numbers come from MMEngine's own training log: the time
and data time of every iteration after the warm-up (median), the peak GPU memory MMEngine logs (CUDA only), and the
losses (all finite, or the run counts as failed).
"""
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from mmpoolformer.training_log import training_records

# run name -> tools/train.py flags
PRECISIONS = {'fp32': [], 'AMP fp16': ['--amp', '--amp-dtype', 'fp16'], 'AMP bf16': ['--amp', '--amp-dtype', 'bf16']}
COCO_TRAIN_IMAGES = 117266  # COCO 2017 train images with annotations: what MMDetection's CocoDataset trains on


def short_run_options(iters: int, batch: int, scale: Optional[Sequence[int]] = None,
                      checkpoint: bool = False) -> List[str]:
    """``--cfg-options`` that train an epoch-based COCO config for ``iters`` iterations of ``batch`` images, logging
    every iteration, without validation (MMEngine validates after the last epoch unless it is before ``val_begin``)
    and, unless ``checkpoint``, without saving one; ``scale`` (W, H) replaces the pipeline's resize (the smoke
    size)."""
    options = ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2', f'train_dataloader.batch_size={batch}',
               f'train_dataloader.dataset.indices={iters * batch}', 'default_hooks.logger.interval=1',
               'log_processor.window_size=1', 'model.backbone.init_cfg=None',
               f'default_hooks.checkpoint.save_last={checkpoint}', 'default_hooks.checkpoint.interval=2']
    if scale:
        options.append(f'train_dataloader.dataset.pipeline.2.scale=({scale[0]},{scale[1]})')
    return options


def summarise_log(work_dir: str, warmup: int, batch: int) -> dict:
    """``s_per_iter``, ``data_s_per_iter`` (medians after ``warmup`` iterations), ``peak_mib`` (the largest memory
    MMEngine logged; None on CPU), ``images_per_s`` (``batch`` over the time per iteration), ``losses`` and
    ``loss_finite``."""
    records = training_records(work_dir)
    timed = records[warmup:] or records
    losses = [r['loss'] for r in records]
    memory = [r['memory'] for r in records if 'memory' in r]
    s_per_iter = statistics.median(r['time'] for r in timed)
    return dict(iterations=len(records), s_per_iter=s_per_iter,
                data_s_per_iter=statistics.median(r['data_time'] for r in timed),
                peak_mib=max(memory) if memory else None, images_per_s=batch / s_per_iter, losses=losses,
                loss_finite=all(math.isfinite(v) for v in losses))


def schedule_hours(config: str, s_per_iter: float, batch: int, gpus: int) -> float:
    """Hours of the config's whole schedule (its ``max_epochs`` over COCO train2017) at ``s_per_iter`` with ``batch``
    images per GPU on ``gpus`` GPUs, assuming the per-iteration time holds under data-parallel training."""
    epochs = Config.fromfile(config).train_cfg.max_epochs
    return epochs * math.ceil(COCO_TRAIN_IMAGES / (batch * gpus)) * s_per_iter / 3600


def train_briefly(config: str, work_dir: str, data_root: str, flags: Sequence[str], options: Sequence[str],
                  env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``tools/train.py CONFIG`` with ``flags`` and ``--cfg-options options`` into ``work_dir``; its output goes to
    ``work_dir/output.txt``."""
    command = [sys.executable, '-m', 'mmpoolformer.cli.train', config, '--work-dir', work_dir, '--data-root',
               data_root, *flags, '--cfg-options', *options]
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'output.txt'), 'w') as f:
        f.write(' '.join(command) + '\n' + proc.stdout + '\n--- stderr ---\n' + proc.stderr)
    return proc


def last_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f'exit code {proc.returncode}'


def timed_run(label: str, config: str, precision: str, work_dir: str, data_root: str, iters: int, warmup: int,
              batch: int, scale: Optional[Sequence[int]] = None, extra_flags: Sequence[str] = ()) -> dict:
    """One timed run of ``config`` in ``precision`` (a key of :data:`PRECISIONS`); a failed run is a record with
    ``ok`` False and its last line, never dropped."""
    record = dict(config=label, precision=precision, batch=batch, ok=False)
    fp16 = precision == 'AMP fp16'  # its checkpoint holds the loss scale it ended with
    proc = train_briefly(config, work_dir, data_root, [*PRECISIONS[precision], *extra_flags],
                         short_run_options(iters, batch, scale, checkpoint=fp16))
    if proc.returncode != 0:
        record['error'] = last_line(proc)
        return record
    try:
        record.update(summarise_log(work_dir, warmup, batch))
    except Exception as exc:  # a log that cannot be read is this run's failure, reported as such
        record['error'] = f'{type(exc).__name__}: {exc}'
        return record
    record['ok'] = record['loss_finite']
    if not record['ok']:
        record['error'] = 'a loss was not finite'
    record['loss_scale'] = final_loss_scale(work_dir) if fp16 else None
    return record


def final_loss_scale(work_dir: str) -> Optional[float]:
    """The dynamic loss scale an fp16 run ended with (from its last checkpoint; None without AMP fp16)."""
    import torch
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        checkpoint = torch.load(f.read().strip(), map_location='cpu', weights_only=True)
    scaler = (checkpoint.get('optimizer') or {}).get('loss_scaler') or {}
    return float(scaler['scale']) if 'scale' in scaler else None
