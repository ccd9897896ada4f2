"""Seed study of the quickstarts (``tools/analysis/quickstart_study.py``): each quickstart run with several training
seeds and thread counts, and the spread of its metrics.

Each run is exactly the README's quickstart command, ``bash tools/quickstart.sh MODEL [--amp]``, with
``--cfg-options randomness.seed=SEED`` and ``OMP_NUM_THREADS=THREADS`` (a different thread count changes the
floating-point summation order, as another CPU does), in its own work dir. A run's time is its wall time (train, test
and drawing); the per-iteration time is the median of the ``time`` the training log records.
"""
import os
import os.path as osp
import statistics
import subprocess
import time
from typing import Callable

from mmpoolformer.errors import ConfigError
from mmpoolformer.evaluation.printed_metrics import printed_metrics
from mmpoolformer.training_log import training_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# metric -> the value the worst run must reach (the targets); 'seconds' is the time budget of one run
TARGETS = {
    'retinanet': {'coco/bbox_mAP': 0.40},
    'mask_rcnn': {'coco/bbox_mAP': 0.30, 'coco/segm_mAP': 0.25},
    'fpn': {'mIoU': 55.0},
    'cls': {'accuracy/top1': 90.0},
}
TIME_BUDGET_S = {'retinanet': 15 * 60, 'mask_rcnn': 15 * 60, 'fpn': 15 * 60, 'cls': 5 * 60}


def iteration_seconds(work_dir: str) -> float:
    """Median training iteration time (s) over every run in ``work_dir`` (MMEngine's scalar log); nan without one."""
    try:
        times = [r['time'] for r in training_records(work_dir, latest_run=False) if 'time' in r]
    except ConfigError:  # the run wrote no log
        times = []
    return statistics.median(times) if times else float('nan')


def run_one(model: str, seed: int, threads: int, work_root: str, extra: list,
            log: Callable[[str], None] = print) -> dict:
    """One quickstart run (``bash tools/quickstart.sh MODEL``) with ``seed`` and ``threads`` in its own work dir
    under ``work_root``; ``extra``: ``--amp`` and ``--cfg-options`` values. Returns its record."""
    work_dir = osp.join(work_root, f'{model}_seed{seed}_threads{threads}' + ('_amp' if '--amp' in extra else ''))
    os.makedirs(work_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               QUICKSTART_WORK_DIR=work_dir)
    flags = [arg for arg in extra if arg == '--amp']
    options = [arg for arg in extra if arg != '--amp']
    command = ['bash', 'tools/quickstart.sh', model, *flags, '--cfg-options', f'randomness.seed={seed}', *options]
    start = time.time()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    with open(osp.join(work_dir, 'quickstart_output.txt'), 'w') as f:
        f.write(proc.stdout + '\n--- stderr ---\n' + proc.stderr)
    result = dict(model=model, seed=seed, threads=threads, amp=bool(flags), seconds=seconds, ok=proc.returncode == 0,
                  iter_s=iteration_seconds(work_dir), metrics=printed_metrics(proc.stdout), work_dir=work_dir)
    shown = ', '.join(f'{k} {result["metrics"].get(k, float("nan")):.3f}' for k in TARGETS[model])
    status = 'ok' if result['ok'] else f'FAILED (exit {proc.returncode}, see {work_dir}/quickstart_output.txt)'
    log(f'{model} seed {seed} threads {threads}: {seconds / 60:.1f} min, {result["iter_s"]:.3f} s/iter, {shown} '
        f'[{status}]')
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
        lines.append(f'| wall time (min) | {statistics.mean(minutes):.1f} | {min(minutes):.1f} | {max(minutes):.1f} '
                     f'| <= {TIME_BUDGET_S[model] // 60} | '
                     f'{"yes" if max(minutes) * 60 <= TIME_BUDGET_S[model] else "no"} |')
        lines.append(f'| s/iteration | {statistics.mean(iters):.3f} | {min(iters):.3f} | {max(iters):.3f} | | |')
        lines.append('\n| seed | threads | minutes | s/iter | ' + ' | '.join(TARGETS[model]) + ' |')
        lines.append('| --- | --- | --- | --- | ' + ' | '.join('---' for _ in TARGETS[model]) + ' |')
        for r in sorted(runs, key=lambda r: (r['threads'], r['seed'])):
            lines.append(f'| {r["seed"]} | {r["threads"]} | {r["seconds"] / 60:.1f} | {r["iter_s"]:.3f} | '
                         + ' | '.join(f'{r["metrics"].get(m, float("nan")):.3f}' for m in TARGETS[model]) + ' |')
    return '\n'.join(lines)
