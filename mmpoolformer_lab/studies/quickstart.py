"""Seed study of the quickstarts (``tools/analysis/quickstart_study.py``): each quickstart run with several training
seeds and thread counts, and the spread of its metrics.

Each run is exactly the README's quickstart command, ``bash tools/quickstart.sh MODEL [--amp]``, with
``--cfg-options randomness.seed=SEED`` and ``OMP_NUM_THREADS=THREADS`` (a different thread count changes the
floating-point summation order, as another CPU does), in its own work dir. ``isa='avx2'`` runs it as on a CPU
without AVX-512: PyTorch's own kernels (``ATEN_CPU_CAPABILITY``), oneDNN's (``DNNL_MAX_CPU_ISA``) and MKL's
(``MKL_ENABLE_INSTRUCTIONS``) limited to AVX2, another floating-point order again. A run's time is its wall time (train,
test and drawing); the per-iteration time is the median of the ``time`` the training log records. A detection run is
also judged by its drawings (:mod:`mmpoolformer_lab.studies.drawn_boxes`): the share of the validation shapes with
another class's box drawn over them.
"""
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Callable, Optional

from mmpoolformer.errors import ConfigError
from mmpoolformer.evaluation.printed_metrics import printed_metrics
from mmpoolformer.training_log import training_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# metric -> the value the worst run must reach (the targets); 'seconds' is the time budget of one run
TARGETS = {
    'retinanet': {'coco/bbox_mAP': 0.55},
    'mask_rcnn': {'coco/bbox_mAP': 0.30, 'coco/segm_mAP': 0.25},
    'fpn': {'mIoU': 55.0},
    'cls': {'accuracy/top1': 90.0},
}
TIME_BUDGET_S = {'retinanet': 6 * 60, 'mask_rcnn': 15 * 60, 'fpn': 15 * 60, 'cls': 5 * 60}
DETECTORS = ('retinanet', 'mask_rcnn')  # judged by their drawings too
OTHER_CLASS_DRAWN_MAX = 0.05  # at most this share of the shapes may have another class's box drawn over them
# --isa NAME -> the environment that limits PyTorch's, oneDNN's and MKL's kernels to that instruction set
ISA_ENV = {'avx2': dict(ATEN_CPU_CAPABILITY='avx2', DNNL_MAX_CPU_ISA='AVX2', MKL_ENABLE_INSTRUCTIONS='AVX2')}


def iteration_seconds(work_dir: str) -> float:
    """Median training iteration time (s) over every run in ``work_dir`` (MMEngine's scalar log); nan without one."""
    try:
        times = [r['time'] for r in training_records(work_dir, latest_run=False) if 'time' in r]
    except ConfigError:  # the run wrote no log
        times = []
    return statistics.median(times) if times else float('nan')


def drawing_census(work_dir: str, threads: int) -> Optional[dict]:
    """:func:`~mmpoolformer_lab.studies.drawn_boxes.drawn_box_census` of the detection run in ``work_dir`` (its
    dumped config and last checkpoint), in a child process with ``threads`` threads; None if it fails."""
    configs = glob.glob(osp.join(work_dir, '*.py'))
    if len(configs) != 1 or not osp.exists(osp.join(work_dir, 'last_checkpoint')):
        return None
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = osp.join(work_dir, osp.basename(f.read().strip()))
    proc = subprocess.run([sys.executable, '-m', 'mmpoolformer_lab.studies.drawn_boxes', configs[0], checkpoint],
                          cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    return json.loads(proc.stdout.splitlines()[-1]) if proc.returncode == 0 else None


def run_one(model: str, seed: int, threads: int, work_root: str, extra: list, isa: Optional[str] = None,
            log: Callable[[str], None] = print, side_by_side: bool = False) -> dict:
    """One quickstart run (``bash tools/quickstart.sh MODEL``) with ``seed`` and ``threads`` (and the instruction
    set ``isa``, a key of ``ISA_ENV``, None: the machine's) in its own work dir under ``work_root``; ``extra``:
    ``--amp`` and ``--cfg-options`` values. Returns its record.

    ``side_by_side``: other runs share the cores. Their OpenMP threads then wait passively (``OMP_WAIT_POLICY``):
    threads spinning while they wait take the cores from the other run (two RetinaNet quickstarts of 2 threads side
    by side on 2 cores, AMD EPYC, 2026-12-07: 1.7-1.8 s per iteration each with spinning, 0.72-0.75 without). It
    changes no result, only the times, which are then not those of a run alone."""
    work_dir = osp.join(work_root, f'{model}_seed{seed}_threads{threads}' + ('_amp' if '--amp' in extra else '')
                        + (f'_{isa}' if isa else ''))
    os.makedirs(work_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               QUICKSTART_WORK_DIR=work_dir, **(ISA_ENV[isa] if isa else {}),
               **(dict(OMP_WAIT_POLICY='PASSIVE') if side_by_side else {}))
    flags = [arg for arg in extra if arg == '--amp']
    options = [arg for arg in extra if arg != '--amp']
    command = ['bash', 'tools/quickstart.sh', model, *flags, '--cfg-options', f'randomness.seed={seed}', *options]
    start = time.time()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    with open(osp.join(work_dir, 'quickstart_output.txt'), 'w') as f:
        f.write(proc.stdout + '\n--- stderr ---\n' + proc.stderr)
    result = dict(model=model, seed=seed, threads=threads, isa=isa, amp=bool(flags), side_by_side=side_by_side,
                  seconds=seconds,
                  ok=proc.returncode == 0, iter_s=iteration_seconds(work_dir), metrics=printed_metrics(proc.stdout),
                  work_dir=work_dir)
    if model in DETECTORS and result['ok']:
        result['drawings'] = drawing_census(work_dir, threads)
    shown = ', '.join(f'{k} {result["metrics"].get(k, float("nan")):.3f}' for k in TARGETS[model])
    if result.get('drawings'):
        shown += f', other class drawn on {result["drawings"]["other_class_drawn"]:.1%} of the shapes'
    status = 'ok' if result['ok'] else f'FAILED (exit {proc.returncode}, see {work_dir}/quickstart_output.txt)'
    log(f'{model} seed {seed} threads {threads}{" " + isa if isa else ""}: {seconds / 60:.1f} min, '
        f'{result["iter_s"]:.3f} s/iter, {shown} [{status}]')
    return result


def summarise(results: list) -> str:
    """Per quickstart, a Markdown table of each metric's mean, min and max over the runs against its target, the wall
    time and time per iteration, then one row per run."""
    lines = []
    for model in TARGETS:
        runs = [r for r in results if r['model'] == model and r['ok']]
        if not runs:
            continue
        amp = ' trained with --amp' if any(r['amp'] for r in runs) else ''
        lines += [f'\n**{model}**{amp} ({len(runs)} runs: seeds {sorted({r["seed"] for r in runs})}, threads '
                  f'{sorted({r["threads"] for r in runs})})\n',
                  '| metric | mean | min | max | target (worst run) | met |', '| --- | --- | --- | --- | --- | --- |']
        for metric, target in TARGETS[model].items():
            values = [r['metrics'].get(metric, float('nan')) for r in runs]
            lines.append(f'| {metric} | {statistics.mean(values):.3f} | {min(values):.3f} | {max(values):.3f} | '
                         f'>= {target} | {"yes" if min(values) >= target else "no"} |')
        minutes = [r['seconds'] / 60 for r in runs]
        iters = [r['iter_s'] for r in runs]
        timed = 'no: runs side by side' if any(r.get('side_by_side') for r in runs) else (
            'yes' if max(minutes) * 60 <= TIME_BUDGET_S[model] else 'no')
        lines.append(f'| wall time (min) | {statistics.mean(minutes):.1f} | {min(minutes):.1f} | {max(minutes):.1f} '
                     f'| <= {TIME_BUDGET_S[model] // 60} | {timed} |')
        lines.append(f'| s/iteration | {statistics.mean(iters):.3f} | {min(iters):.3f} | {max(iters):.3f} | | |')
        drawn = model in DETECTORS
        if drawn:
            shares = [other_class_drawn(r) for r in runs]
            lines.append(f'| shapes with another class drawn | {statistics.mean(shares):.1%} | {min(shares):.1%} | '
                         f'{max(shares):.1%} | <= {OTHER_CLASS_DRAWN_MAX:.0%} | '
                         f'{"yes" if max(shares) <= OTHER_CLASS_DRAWN_MAX else "no"} |')
        columns = list(TARGETS[model]) + (['another class drawn'] if drawn else [])
        lines.append('\n| seed | threads | instructions | minutes | s/iter | ' + ' | '.join(columns) + ' |')
        lines.append('| --- | --- | --- | --- | --- | ' + ' | '.join('---' for _ in columns) + ' |')
        for r in sorted(runs, key=lambda r: (r['threads'], r.get('isa') or '', r['seed'])):
            cells = [f'{r["metrics"].get(m, float("nan")):.3f}' for m in TARGETS[model]]
            cells += [f'{other_class_drawn(r):.1%}'] if drawn else []
            lines.append(f'| {r["seed"]} | {r["threads"]} | {r.get("isa") or "all"} | {r["seconds"] / 60:.1f} | '
                         f'{r["iter_s"]:.3f} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def other_class_drawn(run: dict) -> float:
    """The share of the shapes (0-1) with another class's box drawn over them in a detection run; nan if its
    drawings could not be counted."""
    return (run.get('drawings') or {}).get('other_class_drawn', float('nan'))
