"""Seed study of the quickstarts: run each one with several training seeds and thread counts, report the spread.

    python tools/analysis/quickstart_study.py [--models retinanet mask_rcnn fpn cls] [--seeds 0 1 2] [--threads 2]
                                              [--jobs 1] [--out study.md]

Each run is exactly the README's quickstart command, ``bash tools/quickstart.sh MODEL [--amp]``, with
``--cfg-options randomness.seed=SEED`` and ``OMP_NUM_THREADS=THREADS`` (a different thread count changes the
floating-point summation order, as another CPU does), in its own work dir under ``--work-root``. ``--jobs 2 --threads
1`` runs two one-thread runs side by side on a 2-core machine. A run's time is its wall time (train, test and
drawing); the per-iteration time is the median of the ``time`` the training log records.

Prints one line per run as it ends, then a Markdown table per quickstart (mean, min, max over the runs of each
metric, against the quickstart's target) and writes it to ``--out``. Exits 1 if a run failed, 0 otherwise (the
table says whether the worst run met each target).
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)  # run from a clone

from mmpoolformer.fileio import write_text_atomically  # noqa: E402
from tools.test import printed_metrics  # noqa: E402

# metric -> the value the worst run must reach (the targets); 'seconds' is the time budget of one run
TARGETS = {
    'retinanet': {'coco/bbox_mAP': 0.40},
    'mask_rcnn': {'coco/bbox_mAP': 0.30, 'coco/segm_mAP': 0.25},
    'fpn': {'mIoU': 55.0},
    'cls': {'accuracy/top1': 90.0},
}
TIME_BUDGET_S = {'retinanet': 15 * 60, 'mask_rcnn': 15 * 60, 'fpn': 15 * 60, 'cls': 5 * 60}


def iteration_seconds(work_dir: str) -> float:
    """Median training iteration time (s) from MMEngine's scalar log (``<work_dir>/<timestamp>/vis_data``)."""
    times = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record and 'time' in record:
                    times.append(record['time'])
    return statistics.median(times) if times else float('nan')


def run_one(model: str, seed: int, threads: int, work_root: str, extra: list) -> dict:
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
    print(f'{model} seed {seed} threads {threads}: {seconds / 60:.1f} min, {result["iter_s"]:.3f} s/iter, {shown} '
          f'[{status}]', flush=True)
    return result


def summarise(results: list) -> str:
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', choices=list(TARGETS), default=['retinanet', 'mask_rcnn', 'fpn'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--threads', type=int, nargs='+', default=[2], help='torch threads of each run')
    parser.add_argument('--jobs', type=int, default=1, help='runs side by side')
    parser.add_argument('--work-root', default='work_dirs/quickstart_study')
    parser.add_argument('--out', help='write the Markdown tables here')
    parser.add_argument('--amp', action='store_true', help='train with --amp (bf16 mixed precision on CPU)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed on to every run (after randomness.seed)')
    args = parser.parse_args(argv)
    runs = [(m, s, t) for m in args.models for t in args.threads for s in args.seeds]
    print(f'{len(runs)} quickstart runs, {args.jobs} at a time; logs under {args.work_root}', flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        extra = (['--amp'] if args.amp else []) + args.cfg_options
        results = list(pool.map(lambda run: run_one(*run, osp.abspath(args.work_root), extra), runs))
    table = summarise(results)
    print(table)
    if args.out:
        write_text_atomically(args.out, table + '\n', what='results table')
        write_text_atomically(osp.splitext(args.out)[0] + '.json', json.dumps(results, indent=1), what='results file')
    return 0 if all(r['ok'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
