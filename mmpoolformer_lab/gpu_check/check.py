"""The GPU check behind ``bash tools/gpu_check.sh``: does this machine's install train, and what does training cost?

Steps, each recorded whatever its outcome (a failed step is reported with its last line, never dropped):

1. the environment (``mmpoolformer env``'s facts);
2. the RetinaNet quickstart trained through ``tools/dist_train.sh`` on the GPUs and tested through
   ``tools/dist_test.sh`` (its mAP);
3. on synthetic COCO-sized data (:mod:`.synthetic_coco`), the real training loop of PoolFormer-S12 RetinaNet and
   Mask R-CNN and of MMDetection's own R50 RetinaNet and Mask R-CNN (through ``mmdet::`` bases) at the configs' batch
   size, in fp32, AMP fp16 and AMP bf16 (:mod:`.training_loop`), with the time of the configs' whole schedule;
4. the backbone's training step against timm's ``features_only`` model
   (:func:`mmpoolformer_lab.benchmark.benchmark_train_step` with ``match_timm``): eager, channels_last, compiled, bf16;
5. the CUDA paths CPU tests cannot reach, each a line that passed, failed or was not run: fp16 AMP with dynamic loss
   scaling, bf16 AMP, ``--compile`` training, CUDA NMS and RoIAlign, SyncBN under ``dist_train.sh``;
6. the goals: RetinaNet-S12 at least as many images/s as R50 RetinaNet under AMP with no more memory, and the
   backbone's fast path at least 2x timm eager bf16;
7. where the time goes: the profiler's kernel tables of both RetinaNets' loss step under AMP and of the backbone's
   fast path against timm eager (:mod:`.kernel_profile`).

``smoke`` runs every step at a size a CPU does in a few minutes (tiny images, a few iterations, no compilation), so
the check itself is tested in CI. Steps 2-5 and 7 can be skipped (:data:`STEPS`), e.g. to fit a short GPU lease; a
skipped step's rows and lines say so.
"""
import json
import os
import os.path as osp
import subprocess
import threading
import time
from typing import Callable, List, Optional, Sequence

import torch
from mmengine.config import Config

from mmpoolformer.collect_env import collect_env
from mmpoolformer.demo_data import ensure_demo_data
from mmpoolformer.engine.acceleration import bf16_available
from mmpoolformer.evaluation.printed_metrics import printed_metrics
from mmpoolformer.fileio import write_text_atomically
from mmpoolformer.training_log import training_records

from ..benchmark import benchmark_train_step
from .cuda_ops import cuda_ops_match_cpu
from .kernel_profile import backbone_profiles, detector_profiles
from .report import markdown_report
from .synthetic_coco import write_coco_sized
from .training_loop import PRECISIONS, last_line, schedule_hours, timed_run

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = 'configs/quickstart/retinanet_poolformer_s12_demo.py'
SEGMENTATION_QUICKSTART = 'configs/quickstart/fpn_poolformer_s12_demo.py'
# label -> config (ours from configs/, MMDetection's through mmdet:: bases)
LOOP_CONFIGS = {
    'RetinaNet PoolFormer-S12': 'configs/retinanet_poolformer_s12_fpn_coco.py',
    'RetinaNet R50 (MMDetection)': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'Mask R-CNN PoolFormer-S12': 'configs/mask_rcnn_poolformer_s12_fpn_coco.py',
    'Mask R-CNN R50 (MMDetection)': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}
# the steps that can be skipped, in the order they run
STEPS = ('quickstart', 'loops', 'backbone', 'cuda_paths', 'profiles')


class Sizes:
    """How big each step is: the full GPU check or the ``smoke`` size."""

    def __init__(self, smoke: bool):
        self.smoke = smoke
        self.loop_iters, self.loop_warmup = (2, 1) if smoke else (40, 10)
        self.image_hw = (96, 128) if smoke else (480, 640)
        self.scale = (128, 96) if smoke else None  # the configs' own resize (1333x800) at full size
        self.backbone = dict(shape=(64, 96), batch=2, depths=(1, 1, 1, 1), repeats=2, warmup=1) if smoke else \
            dict(shape=(800, 1216), batch=16, depths=None, repeats=10, warmup=3)
        self.profile_shape = (96, 128) if smoke else (800, 1216)  # the detectors' padded input (H, W), batch 2
        # the quickstart: shortened in the smoke run, as a user shortens it
        self.quickstart_options = ['+demo_data.num_train=16', '+demo_data.num_val=8', 'train_cfg.max_epochs=1',
                                   'train_cfg.val_begin=2', 'model.test_cfg.score_thr=0.0'] if smoke else []


def dist_train(config: str, gpus: int, args: List[str], env: dict) -> subprocess.CompletedProcess:
    """``bash tools/dist_train.sh CONFIG GPUS ARGS``, as a user starts it."""
    return subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, str(gpus), *args], cwd=ROOT,
                          capture_output=True, text=True, env=env)


def dist_test(config: str, checkpoint: str, gpus: int, args: List[str], env: dict) -> subprocess.CompletedProcess:
    """``bash tools/dist_test.sh CONFIG CHECKPOINT GPUS ARGS``."""
    return subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), config, checkpoint, str(gpus), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def quickstart_step(out: str, gpus: int, sizes: Sizes, env: dict, log: Callable[[str], None]) -> dict:
    """Train the RetinaNet quickstart through dist_train.sh on ``gpus`` processes and test it through dist_test.sh."""
    work, data = osp.join(out, 'quickstart'), osp.join(out, 'demo_data')
    config = osp.join(ROOT, QUICKSTART)
    record = dict(config=QUICKSTART, gpus=gpus, ok=False)
    options = ['--data-root', osp.join(data, 'coco'), '--cfg-options', f'demo_data.root={data}',
               *sizes.quickstart_options]
    spec = dict(Config.fromfile(config).demo_data, root=data)
    spec.update({k.split('.')[-1].lstrip('+'): int(v) for k, v in (o.split('=') for o in sizes.quickstart_options
                                                                      if o.startswith('+demo_data.'))})
    start = time.time()
    log(f'quickstart: writing its data set, then bash tools/dist_train.sh {QUICKSTART} {gpus}')
    ensure_demo_data(spec)
    train = dist_train(config, gpus, ['--work-dir', work, *options], env)
    record['train_s'] = time.time() - start
    if train.returncode != 0:
        record['error'] = f'dist_train.sh: {last_line(train)}'
        return record
    records = training_records(work)
    record['s_per_iter'] = sorted(r['time'] for r in records)[len(records) // 2] if records else None
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    log(f'quickstart: bash tools/dist_test.sh {QUICKSTART} {osp.basename(checkpoint)} {gpus}')
    test = dist_test(config, checkpoint, gpus, ['--work-dir', work, *options], env)
    if test.returncode != 0:
        record['error'] = f'dist_test.sh: {last_line(test)}'
        return record
    record['metrics'] = printed_metrics(test.stdout)
    record['ok'] = 'coco/bbox_mAP' in record['metrics']
    if not record['ok']:
        record['error'] = 'dist_test.sh printed no coco/bbox_mAP'
    return record


def loop_config(label: str, path: str, out: str) -> str:
    """The config a loop run trains: ours as it is; MMDetection's own wrapped with this toolbox's runtime (the same
    runner, hooks and checks as ours, so only the model differs)."""
    if not path.startswith('mmdet::'):
        return osp.join(ROOT, path)
    wrapped = osp.join(out, 'configs', label.split(' (')[0].lower().replace(' ', '_').replace('-', '') + '.py')
    os.makedirs(osp.dirname(wrapped), exist_ok=True)
    write_text_atomically(wrapped, f"_base_ = ['{path}', '{ROOT}/configs/_base_/mmpoolformer_runtime.py']\n",
                          what='config')
    return wrapped


def loops_step(out: str, data_root: str, sizes: Sizes, device: torch.device, log: Callable[[str], None],
               skipped: Optional[str] = None) -> List[dict]:
    """Every config of :data:`LOOP_CONFIGS` in every precision (fp16 only on CUDA, bf16 where the device has it);
    ``skipped``: why none runs (each is then a row that says so)."""
    records = []
    for label, path in LOOP_CONFIGS.items():
        config = loop_config(label, path, out)
        batch = Config.fromfile(config).train_dataloader.batch_size
        for precision in PRECISIONS:
            if skipped:
                records.append(dict(config=label, precision=precision, batch=batch, ok=None, error=skipped))
                continue
            if precision == 'AMP fp16' and device.type != 'cuda':
                records.append(dict(config=label, precision=precision, batch=batch, ok=None,
                                    error='fp16 autocast needs CUDA'))
                continue
            if precision == 'AMP bf16' and not bf16_available(device):
                records.append(dict(config=label, precision=precision, batch=batch, ok=None,
                                    error='this device has no bf16'))
                continue
            log(f'training loop: {label}, {precision}, batch {batch}, {sizes.loop_iters} iterations')
            work = osp.join(out, 'loops', f'{label.split(" (")[0]} {precision}'.replace(' ', '_'))
            record = timed_run(label, config, precision, work, data_root, sizes.loop_iters, sizes.loop_warmup, batch,
                               sizes.scale)
            if record['ok']:
                record['schedule_hours'] = {gpus: schedule_hours(config, record['s_per_iter'], batch, gpus)
                                            for gpus in (1, 8)}
            records.append(record)
    return records


def backbone_step(sizes: Sizes, device: torch.device, log: Callable[[str], None]) -> dict:
    """PoolFormer-S12's training step against timm's features_only model: :func:`benchmark_train_step` with
    ``match_timm`` (compiled variants on CUDA only: compiling a training step takes minutes on a CPU)."""
    options = sizes.backbone
    try:
        result = benchmark_train_step('s12', options['shape'], options['batch'], device, options['depths'],
                                      repeats=options['repeats'], warmup=options['warmup'], match_timm=True,
                                      compile_train=device.type == 'cuda', log=log)
    except Exception as exc:  # a failed step is reported, the check goes on
        return dict(ok=False, error=f'{type(exc).__name__}: {exc}')
    return dict(result, ok=True)


def cuda_paths_step(out: str, loops: List[dict], gpus: int, data_root: str, sizes: Sizes, device: torch.device,
                    env: dict, log: Callable[[str], None], skipped: Optional[str] = None) -> List[dict]:
    """One line per CUDA path: passed, failed or not run (with why; ``skipped``: why the runs of their own are not
    made; the AMP lines come from the training loops)."""
    lines = []

    def line(name: str, status: str, detail: str) -> None:
        lines.append(dict(name=name, status=status, detail=detail))

    def from_loops(name: str, precision: str) -> None:
        runs = [r for r in loops if r['precision'] == precision]
        if all(r['ok'] is None for r in runs):
            line(name, 'not run', runs[0]['error'] if runs else 'no run')
            return
        failed = [r for r in runs if r['ok'] is False]
        scales = [r['loss_scale'] for r in runs if r.get('loss_scale')]
        detail = f'{len(runs) - len(failed)} of {len(runs)} configs trained with finite losses'
        if scales:
            detail += f'; loss scale at the end {min(scales):g} to {max(scales):g} (starts at 65536)'
        if failed:
            detail += '; ' + '; '.join(f"{r['config']}: {r['error']}" for r in failed)
        line(name, 'failed' if failed else 'passed', detail)

    from_loops('fp16 AMP with dynamic loss scaling (no overflow in the MLN GroupNorm)', 'AMP fp16')
    from_loops('bf16 AMP', 'AMP bf16')
    if skipped or device.type != 'cuda':
        for name in ('--compile training', 'CUDA NMS and RoIAlign (Mask R-CNN)', 'SyncBN under dist_train.sh'):
            line(name, 'not run', skipped or 'needs CUDA')
        return lines
    compiled = timed_run('RetinaNet PoolFormer-S12', loop_config('RetinaNet PoolFormer-S12',
                                                                  LOOP_CONFIGS['RetinaNet PoolFormer-S12'], out),
                         'fp32', osp.join(out, 'loops', 'compiled'), data_root, sizes.loop_iters, sizes.loop_iters // 2,
                         2, sizes.scale, extra_flags=['--compile'])
    eager = next((r for r in loops if r['config'] == 'RetinaNet PoolFormer-S12' and r['precision'] == 'fp32'), {})
    if compiled['ok']:
        line('--compile training', 'passed', f"RetinaNet PoolFormer-S12 fp32 compiled: {compiled['s_per_iter']:.3f} "
                                             f"s/iter against {eager.get('s_per_iter', float('nan')):.3f} eager "
                                             f"(median of the second half, after compiling)")
    else:
        line('--compile training', 'failed', compiled['error'])
    try:
        summary = cuda_ops_match_cpu()
        masks = [r for r in loops if r['config'].startswith('Mask R-CNN') and r['ok']]
        line('CUDA NMS and RoIAlign (Mask R-CNN)', 'passed' if masks else 'failed',
             summary + (f'; {len(masks)} Mask R-CNN runs trained on the GPU' if masks else
                        '; no Mask R-CNN run trained'))
    except Exception as exc:
        line('CUDA NMS and RoIAlign (Mask R-CNN)', 'failed', f'{type(exc).__name__}: {exc}')
    work = osp.join(out, 'syncbn')
    config = osp.join(ROOT, SEGMENTATION_QUICKSTART)
    data = osp.join(out, 'demo_data')
    log(f'SyncBN: bash tools/dist_train.sh {SEGMENTATION_QUICKSTART} {gpus}, 20 iterations')
    ensure_demo_data(dict(Config.fromfile(config).demo_data, root=data))
    train = dist_train(config, gpus, ['--work-dir', work, '--data-root', osp.join(data, 'ade'), '--cfg-options',
                                      f'demo_data.root={data}', 'train_cfg.max_iters=20', 'train_cfg.val_interval=21',
                                      'default_hooks.logger.interval=1'], env)
    if train.returncode == 0 and training_records(work):
        line('SyncBN under dist_train.sh', 'passed', f'Semantic FPN quickstart (decode head with SyncBN) trained 20 '
                                                    f'iterations on {gpus} process(es)')
    else:
        line('SyncBN under dist_train.sh', 'failed', last_line(train))
    return lines


def goals_step(loops: List[dict], backbone: dict) -> List[dict]:
    """The issue's goals, met or not (None: not measured here)."""
    def run(config: str, precision: str) -> Optional[dict]:
        return next((r for r in loops if r['config'] == config and r['precision'] == precision and r['ok']), None)

    goals = []
    for precision in ('AMP fp16', 'AMP bf16'):
        ours, theirs = run('RetinaNet PoolFormer-S12', precision), run('RetinaNet R50 (MMDetection)', precision)
        name = f'RetinaNet-S12 trains at least as many images/s as R50 RetinaNet under {precision}, no more memory'
        if not (ours and theirs):
            goals.append(dict(name=name, met=None, detail='a run did not run or failed'))
            continue
        faster = ours['images_per_s'] >= theirs['images_per_s']
        memory = None if ours['peak_mib'] is None else ours['peak_mib'] <= theirs['peak_mib']
        detail = f"{ours['images_per_s']:.1f} against {theirs['images_per_s']:.1f} images/s"
        detail += '' if memory is None else f"; {ours['peak_mib']:.0f} against {theirs['peak_mib']:.0f} MiB"
        goals.append(dict(name=name, met=faster and memory is not False, detail=detail))
    rows = {r['name']: r for r in backbone.get('rows', [])}
    fast, timm_bf16 = rows.get('ours compiled channels_last bf16'), rows.get('timm eager bf16')
    name = 'the backbone fast path (channels_last + compile + bf16) at least 2x timm eager bf16'
    if fast and timm_bf16:
        ratio = timm_bf16['median_ms'] / fast['median_ms']
        goals.append(dict(name=name, met=ratio >= 2, detail=f'{ratio:.2f}x ({fast["median_ms"]:.1f} against '
                                                            f'{timm_bf16["median_ms"]:.1f} ms per step)'))
    else:
        goals.append(dict(name=name, met=None, detail='compiled bf16 is timed on CUDA only'))
    return goals


def profiles_step(out: str, sizes: Sizes, device: torch.device, log: Callable[[str], None]) -> dict:
    """The kernel tables behind the goals: both RetinaNets' loss step under AMP, the backbone's fast path and timm."""
    retinanets = {label: loop_config(label, LOOP_CONFIGS[label], out)
                  for label in ('RetinaNet PoolFormer-S12', 'RetinaNet R50 (MMDetection)')}
    log('where the time goes: profiling the RetinaNets and the backbone')
    options = sizes.backbone
    return dict(detectors=detector_profiles(retinanets, device, 2, sizes.profile_shape),
                backbone=backbone_profiles('s12', options['shape'], options['batch'], options['depths'], device,
                                           compiled=device.type == 'cuda'))


def run_gpu_check(out: str, gpus: int, smoke: bool = False, skip: Sequence[str] = (),
                  log: Callable[[str], None] = print) -> dict:
    """Run every step but those in ``skip`` (names of :data:`STEPS`) into the folder ``out``; write
    ``out/gpu_check.md`` and ``out/gpu_check.json``; returns the report (``ok``: no step failed)."""
    unknown = sorted(set(skip) - set(STEPS))
    if unknown:
        raise ValueError(f'unknown steps {unknown}; the steps are {", ".join(STEPS)}')
    out = osp.abspath(out)
    os.makedirs(out, exist_ok=True)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    sizes = Sizes(smoke)
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    why = {step: f'skipped (--skip {step})' if step in skip else None for step in STEPS}
    report = dict(date=time.strftime('%Y-%m-%d %H:%M'), smoke=smoke, gpus=gpus, device=str(device),
                  skipped=[step for step in STEPS if step in skip])
    started = time.time()
    log('environment')
    report['environment'] = collect_env()
    coco = osp.join(out, 'synthetic_coco')
    num_train = sizes.loop_iters * 16  # enough for the largest batch
    writer = threading.Thread(target=write_coco_sized, args=(coco, num_train), daemon=True,
                              kwargs=dict(height=sizes.image_hw[0], width=sizes.image_hw[1]))
    if not (why['loops'] and why['cuda_paths']):
        writer.start()  # written while the quickstart trains
    if why['quickstart']:
        report['quickstart'] = dict(config=QUICKSTART, gpus=gpus, ok=None, error=why['quickstart'])
    else:
        log('quickstart')
        report['quickstart'] = quickstart_step(out, gpus, sizes, env, log)
    if writer.is_alive():
        writer.join()
    report['loops'] = loops_step(out, coco, sizes, device, log, skipped=why['loops'])
    if why['backbone']:
        report['backbone'] = dict(ok=None, error=why['backbone'])
    else:
        log('backbone training step against timm')
        report['backbone'] = backbone_step(sizes, device, log)
    log('CUDA paths')
    report['cuda_paths'] = cuda_paths_step(out, report['loops'], gpus, coco, sizes, device, env, log,
                                           skipped=why['cuda_paths'])
    report['goals'] = goals_step(report['loops'], report['backbone'])
    report['profiles'] = dict(detectors={}, backbone={}, skipped=why['profiles']) if why['profiles'] else \
        profiles_step(out, sizes, device, log)
    report['wall_s'] = time.time() - started
    report['ok'] = (report['quickstart']['ok'] is not False and report['backbone']['ok'] is not False
                    and all(r['ok'] is not False for r in report['loops'])
                    and all(line['status'] != 'failed' for line in report['cuda_paths'])
                    and all(t['ok'] for key in ('detectors', 'backbone') for t in report['profiles'][key].values()))
    write_text_atomically(osp.join(out, 'gpu_check.json'), json.dumps(report, indent=1, default=str),
                          what='GPU check results')
    write_text_atomically(osp.join(out, 'gpu_check.md'), markdown_report(report), what='GPU check report')
    log(f'wrote {out}/gpu_check.md and gpu_check.json in {report["wall_s"] / 60:.1f} min')
    return report
