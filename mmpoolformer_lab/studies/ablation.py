"""The paper's ablations (Table 5) on the demo tasks, each for a short fixed budget: the study behind
``tools/ablate.py``.

Tasks: ``cls`` is the classification quickstart (configs/quickstart/poolformer_s12_cls_demo.py: single demo shapes,
48 px, 4 classes, top-1 %), ``fpn`` the Semantic FPN quickstart (configs/quickstart/fpn_poolformer_s12_demo.py:
demo scenes predicted at 96 px, 5 classes, mIoU %). An ablation is a file ``configs/ablations/<task>_s12_<name>.py``;
a run takes the ``model.backbone`` keys in which that file differs from its parent config (token mixer, pool size,
norm, activation, position embedding), without its ImageNet ``init_cfg`` (demo runs start from scratch), and puts them
on the quickstart's model; ``baseline`` is the quickstart's model itself (pooling 3). A frozen random mixer
(``mixer_random``) gets the token grids of the demo input. Every run is ``tools/train.py`` then ``tools/test.py`` of
its written config, as a subprocess (``python -m mmpoolformer.cli.train`` / ``.test``), ``jobs`` side by side; results
go to ``<work_root>/ablation_results.json`` as each run ends, and a rerun with the same schedule skips the runs found
there. :func:`run_study` then writes ``ablation_table.md`` (per ablation: the paper's ImageNet top-1, params and MACs
of the demo model, per task the metric's mean and spread over the seeds and the mean train time) and
``ablation_chart.png``.
"""
import json
import logging
import os
import os.path as osp
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.logging import MMLogger

from mmpoolformer.analysis.macs import config_report
from mmpoolformer.demo_data import demo_data_complete, make_demo_data
from mmpoolformer.errors import ConfigError
from mmpoolformer.evaluation.printed_metrics import printed_metrics
from mmpoolformer.fileio import write_atomically, write_text_atomically
from mmpoolformer.models.metaformer import token_grids

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# task -> the quickstart config it starts from, the parent of its ablation configs, the metric tools/test.py prints
STUDY_TASKS = {  # the demo tasks of the study (not mmpoolformer.tasks.TASKS, the scopes)
    'cls': dict(demo='configs/quickstart/poolformer_s12_cls_demo.py',
                parent='configs/classification/poolformer_s12_in1k.py', metric='accuracy/top1',
                title='classification (demo shapes)', label='top-1 (%)', input_size=(48, 48)),
    'fpn': dict(demo='configs/quickstart/fpn_poolformer_s12_demo.py', parent='configs/fpn_poolformer_s12_ade20k_40k.py',
                metric='mIoU', title='Semantic FPN (demo scenes)', label='mIoU (%)', input_size=(96, 96)),
}
ABLATION_DIR = 'configs/ablations'
PAPER_RESULTS = 'configs/metafiles/ablations.yml'
# the paper's ImageNet top-1 of the variants configs/metafiles/ablations.yml gives no number for (Table 5 gives pool
# sizes 5, 7 and 9 relative to pool 3, as their configs say)
PAPER_RELATIVE = {'baseline': '77.2', 'pool5': '~77.2', 'pool7': '~77.2', 'pool9': '~76.7'}
DEFAULT_ABLATIONS = ['baseline', 'mixer_identity', 'mixer_dwconv', 'norm_none', 'hybrid_ppaa']
SMOKE_ABLATIONS = ['baseline', 'mixer_identity']

# The study's schedule per task (iteration-based, the same for every ablation): iterations, batch size, peak
# learning rate (AdamW, linear warm-up over `warmup` iterations, then cosine (cls) or poly (fpn) decay to 0), and
# the backbone's channels (None: the quickstart's). The default study (5 ablations x 2 tasks x 2 seeds) is sized for
# 30 minutes on 2 cores (--jobs 2 --threads 1; the README has the measured time). Tried with seed 0: cls keeps the
# quickstart's model (half-width S12, 48 px) and lr; its baseline leaves chance after ~600 steps and reaches 70 %
# top-1 at 1200 (lr 4e-3: 38 %; lr 1e-3: still at the chance loss after 700). fpn uses the half-width backbone too (a
# full-width step costs 0.45 s on one thread) and twice the quickstart's lr: 38.8 mIoU at 700 iterations (30.1 at
# 500 with lr 4e-3), against 25.4 without norms.
SCHEDULES = {
    'cls': dict(iters=1200, batch_size=32, lr=2e-3, warmup=60, embed_dims=None),
    'fpn': dict(iters=700, batch_size=8, lr=8e-3, warmup=50, embed_dims=[32, 64, 160, 256]),
}
SMOKE_ITERS = 3
SMOKE_DATA = dict(seed=0, num_train=16, num_val=4)
RESULTS = 'ablation_results.json'
TABLE = 'ablation_table.md'
CHART = 'ablation_chart.png'
CHART_INCHES_PER_TASK = (10.0, 3.6)  # chart size: 10 x 3.6 inches per task, at CHART_DPI
CHART_DPI = 100


def available_ablations(task: str) -> List[str]:
    """``baseline`` and the names ``<name>`` of ``configs/ablations/<task>_s12_<name>.py``, sorted."""
    prefix = f'{task}_s12_'
    names = sorted(f[len(prefix):-3] for f in os.listdir(osp.join(ROOT, ABLATION_DIR))
                   if f.startswith(prefix) and f.endswith('.py'))
    return ['baseline'] + names


def paper_top1() -> Dict[str, str]:
    """Ablation name -> the paper's ImageNet top-1 (%) of PoolFormer-S12 with that change, as text."""
    import yaml
    with open(osp.join(ROOT, PAPER_RESULTS)) as f:
        models = yaml.safe_load(f)['Models']
    found = dict(PAPER_RELATIVE)
    for model in models:
        if model['Name'].startswith('cls_s12_'):
            for result in model.get('Results') or []:
                if 'Top 1 Accuracy' in result.get('Metrics', {}):
                    found[model['Name'][len('cls_s12_'):]] = f"{result['Metrics']['Top 1 Accuracy']:.1f}"
    return found


def backbone_change(task: str, ablation: str) -> dict:
    """The ``model.backbone`` keys in which ``configs/ablations/<task>_s12_<ablation>.py`` differs from its parent
    config, without ``init_cfg`` (ImageNet weights: the demo runs start from scratch); ``{}`` for the baseline."""
    if ablation == 'baseline':
        return {}
    changed = Config.fromfile(osp.join(ROOT, ABLATION_DIR, f'{task}_s12_{ablation}.py')).model.backbone.to_dict()
    parent = Config.fromfile(osp.join(ROOT, STUDY_TASKS[task]['parent'])).model.backbone.to_dict()
    return {key: value for key, value in changed.items()
            if key != 'init_cfg' and (key not in parent or parent[key] != value)}


def fit_to_grid(change: dict, input_size: Tuple[int, int]) -> dict:
    """Give the fixed-grid mixers (``RandomMixing``) of a backbone change the token grids of ``input_size``."""
    mixers = change.get('token_mixers')
    if not isinstance(mixers, list):
        return change
    grids = token_grids(input_size)
    fitted = [dict(mixer, spatial_shape=grids[i]) if 'spatial_shape' in mixer else mixer
              for i, mixer in enumerate(mixers)]
    return dict(change, token_mixers=fitted)


def tiny_demo_data(cfg: Config, task: str, data_root: str) -> Tuple[dict, str]:
    """The ``demo_data`` arguments of a tiny set (:data:`SMOKE_DATA`) of the kind ``cfg`` reads, written under
    ``<data_root>/<task>``, and the root its datasets then read (fpn: ``<data_root>/fpn/ade``, as
    ``data/demo/ade`` is to ``data/demo``)."""
    demo = dict(cfg.demo_data, root=osp.join(data_root, task), **SMOKE_DATA)
    return demo, osp.normpath(osp.join(demo['root'], osp.relpath(cfg.data_root, cfg.demo_data['root'])))


def run_config(task: str, ablation: str, seed: int, schedule: dict, data_root: Optional[str] = None) -> Config:
    """The config of one run: the task's quickstart config, the ablation's backbone change, the study's schedule,
    ``seed``; no validation during training (tools/test.py scores the final checkpoint); data under ``data_root``
    (a ``demo_data`` root) instead of the quickstart's where given."""
    info = STUDY_TASKS[task]
    cfg = Config.fromfile(osp.join(ROOT, info['demo']))
    cfg.model.backbone.update(fit_to_grid(backbone_change(task, ablation), info['input_size']))
    if schedule['embed_dims']:  # the backbone's channels, and those of the neck that takes its outputs
        cfg.model.backbone.arch.embed_dims = list(schedule['embed_dims'])
        if isinstance(cfg.model.get('neck', {}).get('in_channels'), list):
            cfg.model.neck.in_channels = list(schedule['embed_dims'])
    if data_root is not None:
        cfg.demo_data, dataset_root = tiny_demo_data(cfg, task, data_root)
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].dataset.data_root = dataset_root
    iters, warmup = schedule['iters'], min(schedule['warmup'], schedule['iters'])
    cfg.train_dataloader.batch_size = schedule['batch_size']
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.optim_wrapper.optimizer.lr = schedule['lr']
    decay = (dict(type='CosineAnnealingLR', eta_min=0.) if task == 'cls' else dict(type='PolyLR', power=0.9,
                                                                                    eta_min=0.))
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=max(warmup, 1)),
                           dict(decay, by_epoch=False, begin=max(warmup, 1), end=max(iters, warmup + 1))]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, min(50, iters // 10)))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=iters, max_keep_ckpts=1,
                                        save_best=None)
    cfg.log_processor = dict(by_epoch=False)
    cfg.randomness = dict(seed=seed)
    return cfg


def write_run_config(task: str, ablation: str, seed: int, schedule: dict, work_root: str,
                     data_root: Optional[str]) -> str:
    """Write the config of one run to ``<work_root>/<task>_<ablation>_seed<seed>/``; returns its path."""
    name = f'{task}_{ablation}_seed{seed}'
    os.makedirs(osp.join(work_root, name), exist_ok=True)
    config = osp.join(work_root, name, f'{name}.py')
    run_config(task, ablation, seed, schedule, data_root).dump(config)
    return config


def run_one(task: str, ablation: str, seed: int, schedule: dict, threads: int, config: str) -> dict:
    """Train and test one run with its written config (:func:`write_run_config`) in the config's folder; returns
    its result record. Starts subprocesses only (MMEngine's config loading is not thread-safe)."""
    work_dir = osp.dirname(config)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONWARNINGS='ignore')
    record = dict(task=task, ablation=ablation, seed=seed, schedule=schedule, threads=threads, work_dir=work_dir,
                  ok=False)
    start = time.time()
    train = subprocess.run([sys.executable, '-m', 'mmpoolformer.cli.train', config, '--work-dir', work_dir], cwd=ROOT,
                           env=env, capture_output=True, text=True)
    record['train_s'] = time.time() - start
    with open(osp.join(work_dir, 'train_output.txt'), 'w') as f:
        f.write(train.stdout + '\n--- stderr ---\n' + train.stderr)
    if train.returncode != 0:
        record['error'] = f'tools/train.py exited {train.returncode}, see {work_dir}/train_output.txt'
        return record
    checkpoint = osp.join(work_dir, f'iter_{schedule["iters"]}.pth')
    test = subprocess.run([sys.executable, '-m', 'mmpoolformer.cli.test', config, checkpoint, '--work-dir', work_dir],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    with open(osp.join(work_dir, 'test_output.txt'), 'w') as f:
        f.write(test.stdout + '\n--- stderr ---\n' + test.stderr)
    metrics = printed_metrics(test.stdout)
    if test.returncode != 0 or STUDY_TASKS[task]['metric'] not in metrics:
        record['error'] = f'tools/test.py exited {test.returncode}, see {work_dir}/test_output.txt'
        return record
    record.update(ok=True, metric=metrics[STUDY_TASKS[task]['metric']], metrics=metrics)
    return record


def count_model(task: str, ablation: str, schedule: dict, work_root: str) -> Tuple[float, float]:
    """Params (M) and MACs (G, one image at the task's demo input size) of a run's model."""
    import torch
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # not the initialisation report of every tensor
    config = osp.join(work_root, f'{task}_{ablation}_model.py')
    run_config(task, ablation, 0, schedule).dump(config)
    torch.manual_seed(0)
    rows, _, _ = config_report(config, STUDY_TASKS[task]['input_size'])
    params, macs = rows['total']
    return params / 1e6, macs / 1e9


def spread(values: List[float]) -> float:
    """Half the range (max - min) of the seeds' values: the +/- of the table."""
    return (max(values) - min(values)) / 2


def summarise(tasks: List[str], ablations: List[str], results: List[dict], counts: Dict[Tuple[str, str], tuple],
              paper: Dict[str, str]) -> str:
    """The Markdown table: one row per ablation; params/MACs per task (the demo models differ), metric and time."""
    head = ['ablation', 'paper ImageNet top-1 (%)']
    for task in tasks:
        head += [f'{task} params (M)', f'{task} MACs (G)', f'{task} {STUDY_TASKS[task]["label"]}', f'{task} train (s)']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for ablation in ablations:
        row = [ablation, paper.get(ablation, 'n/a')]
        for task in tasks:
            if (task, ablation) not in counts:
                row += ['n/a'] * 4
                continue
            params, macs = counts[task, ablation]
            runs = [r for r in results if r['task'] == task and r['ablation'] == ablation and r['ok']]
            if runs:
                values = [r['metric'] for r in runs]
                shown = f'{statistics.mean(values):.1f} ± {spread(values):.1f}'
                seconds = f'{statistics.mean(r["train_s"] for r in runs):.0f}'
            else:
                shown = seconds = 'failed'
            row += [f'{params:.2f}', f'{macs:.4f}', shown, seconds]
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def draw_chart(tasks: List[str], ablations: List[str], results: List[dict], path: str) -> None:
    """One bar chart per task (rows): mean metric per ablation, the seeds' min-max as error bars, the baseline's mean
    as a dashed line; ``CHART_INCHES_PER_TASK`` x ``CHART_DPI`` pixels per task."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    width, height = CHART_INCHES_PER_TASK
    fig, axes = plt.subplots(len(tasks), 1, figsize=(width, height * len(tasks)), dpi=CHART_DPI, squeeze=False)
    for ax, task in zip(axes[:, 0], tasks):
        names, means, low, high = [], [], [], []
        for ablation in ablations:
            values = [r['metric'] for r in results if r['task'] == task and r['ablation'] == ablation and r['ok']]
            if values:
                names.append(ablation)
                means.append(statistics.mean(values))
                low.append(means[-1] - min(values))
                high.append(max(values) - means[-1])
        colours = ['tab:gray' if n == 'baseline' else 'tab:blue' for n in names]
        bars = ax.bar(range(len(names)), means, yerr=[low, high], capsize=4, color=colours)
        ax.bar_label(bars, fmt='%.1f', label_type='center', color='white', fontsize=8)
        if 'baseline' in names:
            ax.axhline(means[names.index('baseline')], color='tab:gray', linestyle='--', linewidth=1)
        ax.set_xticks(range(len(names)), names, rotation=20, ha='right', fontsize=8)
        ax.set_ylabel(STUDY_TASKS[task]['label'])
        ax.set_title(f'{STUDY_TASKS[task]["title"]}: mean over seeds, bars = min-max', fontsize=10)
    fig.tight_layout()
    write_atomically(path, lambda partial: fig.savefig(partial, dpi=CHART_DPI, format='png'), what='chart')
    plt.close(fig)


def check_choices(tasks: List[str], ablations: List[str]) -> None:
    """One line naming a bad task or ablation and the valid choices."""
    for task in tasks:
        if task not in STUDY_TASKS:
            raise ConfigError(f"unknown task '{task}'; choose from {', '.join(STUDY_TASKS)}")
    known = {a for task in STUDY_TASKS for a in available_ablations(task)}
    for task in tasks:
        valid = available_ablations(task)
        for ablation in ablations:
            if ablation not in valid:
                what = (f"ablation '{ablation}' is not available for task {task}" if ablation in known else
                        f"unknown ablation '{ablation}' for task {task}")
                raise ConfigError(f"{what}; choose from {', '.join(valid)} or all")


def resolve_choices(tasks: Sequence[str], ablations: Optional[Sequence[str]], smoke: bool) -> Tuple[List[str],
                                                                                                   List[str]]:
    """The tasks and ablations a study runs: ``ablations`` None gives the default set (smoke: two), ``['all']``
    every ablation of the tasks; a bad name is a one-line error listing the valid ones."""
    tasks = list(dict.fromkeys(tasks))
    check_choices(tasks, [])
    requested = list(ablations or (SMOKE_ABLATIONS if smoke else DEFAULT_ABLATIONS))
    if requested == ['all']:
        return tasks, list(dict.fromkeys(a for task in tasks for a in available_ablations(task)))
    requested = list(dict.fromkeys(requested))
    check_choices(tasks, requested)
    return tasks, requested


def run_study(tasks: Sequence[str], ablations: Sequence[str], seeds: Sequence[int], threads: int, jobs: int,
              work_dir: str, smoke: bool = False, log: Callable[[str], None] = print) -> List[dict]:
    """Run every (task, ablation, seed) not already done in ``work_dir`` (``jobs`` at a time, ``threads`` torch
    threads each; ``smoke``: :data:`SMOKE_ITERS` iterations on a tiny data set written in the work dir), then write
    the table and the chart. Progress and the table go to ``log``; returns the records of the failed runs."""
    if threads < 1 or jobs < 1:
        raise ConfigError(f'--threads {threads} --jobs {jobs}: both must be at least 1')
    work_root = osp.abspath(work_dir)
    os.makedirs(work_root, exist_ok=True)
    schedules = {task: dict(SCHEDULES[task], iters=SMOKE_ITERS) if smoke else SCHEDULES[task] for task in tasks}
    data_root = osp.join(work_root, 'demo_data') if smoke else None
    for task in tasks:  # write the demo data sets the runs read, where missing
        cfg = Config.fromfile(osp.join(ROOT, STUDY_TASKS[task]['demo']))
        demo = dict(cfg.demo_data) if data_root is None else tiny_demo_data(cfg, task, data_root)[0]
        if not demo_data_complete(**demo):
            log(f'writing the demo data to {demo["root"]}')
            make_demo_data(**demo)

    runs = [(task, a, seed) for task in tasks for a in ablations if a in available_ablations(task) for seed in seeds]
    results_path = osp.join(work_root, RESULTS)
    previous = []
    if osp.exists(results_path):
        with open(results_path) as f:
            previous = json.load(f)
    done = {(r['task'], r['ablation'], r['seed']): r for r in previous
            if r['ok'] and r['schedule'] == schedules.get(r['task']) and r['threads'] == threads}
    todo = [run for run in runs if run not in done]
    log(f'{len(runs)} runs ({len(runs) - len(todo)} already in {results_path}), {jobs} at a time with '
        f'{threads} thread(s) each; logs under {work_root}')
    results = {(r['task'], r['ablation'], r['seed']): r for r in previous}
    lock = threading.Lock()
    configs = {run: write_run_config(*run, schedules[run[0]], work_root, data_root) for run in todo}

    def work(run):
        record = run_one(*run, schedules[run[0]], threads, configs[run])
        with lock:
            results[run] = record
            write_text_atomically(results_path, json.dumps(list(results.values()), indent=1), what='results file')
        metric = STUDY_TASKS[run[0]]['metric']
        status = f'{metric} {record["metric"]:.2f}' if record['ok'] else f'FAILED: {record["error"]}'
        log(f'{run[0]} {run[1]} seed {run[2]}: train {record["train_s"]:.0f} s, {status}')

    start = time.time()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(work, todo))
    wall = time.time() - start
    finished = [results[run] for run in runs]
    counts = {(task, a): count_model(task, a, schedules[task], work_root)
              for task in tasks for a in ablations if a in available_ablations(task)}
    table = summarise(tasks, ablations, finished, counts, paper_top1())
    budget = ', '.join(f'{t} {s["iters"]} iterations of {s["batch_size"]}' for t, s in schedules.items())
    note = (f'\n\nDemo runs: {budget}'
            f'; seeds {" ".join(map(str, seeds))}; {jobs} runs at a time, {threads} thread(s) each; '
            f'{wall / 60:.1f} min for the runs of this invocation. Spread: half the max - min range over the seeds.')
    write_text_atomically(osp.join(work_root, TABLE), table + note + '\n', what='results table')
    draw_chart(tasks, ablations, finished, osp.join(work_root, CHART))
    log(table + note)
    log(f'wrote {osp.join(work_root, TABLE)} and {osp.join(work_root, CHART)}')
    return [r for r in finished if not r['ok']]
