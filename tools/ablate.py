"""Run the paper's ablations (Table 5) on the demo tasks, each for a short fixed budget, and tabulate and chart them.

    python tools/ablate.py [--tasks cls fpn] [--ablations baseline mixer_identity ... | all] [--seeds 0 1]
                           [--threads 1] [--jobs 2] [--work-dir work_dirs/ablate] [--smoke]

Tasks: ``cls`` is the classification quickstart (configs/quickstart/poolformer_s12_cls_demo.py: single demo shapes,
48 px, 4 classes, top-1 %), ``fpn`` the Semantic FPN quickstart (configs/quickstart/fpn_poolformer_s12_demo.py:
demo scenes predicted at 96 px, 5 classes, mIoU %). An ablation is a file ``configs/ablations/<task>_s12_<name>.py``;
the run takes the ``model.backbone`` keys in which that file differs from its parent config (token mixer, pool
size, norm, activation, position embedding), without its ImageNet ``init_cfg`` (demo runs start from scratch), and
puts them on the quickstart's model. ``baseline`` is the quickstart's model itself (pooling 3). A frozen random
mixer (``mixer_random``, classification only) gets the token grids of the demo input. The pieces of "MetaFormer
Baselines for Vision" run the same way: ``mixer_sepconv`` (ConvFormer's separable convolution in every stage),
``act_starrelu`` (StarReLU in the MLP) and ``hybrid_ppaa`` (attention in stages 3-4); no paper has PoolFormer-S12
numbers for the first two, so their paper column is n/a. Every run then follows the
study's short schedule (``mmpoolformer_lab.studies.ablation.SCHEDULES``, the same for every ablation of a task),
written into its config.

Each run (task x ablation x seed) has a folder ``<work-dir>/<task>_<ablation>_seed<seed>`` holding its config, the
output of ``tools/train.py`` and ``tools/test.py`` (run as subprocesses with ``OMP_NUM_THREADS=--threads``) and its
checkpoint; ``--jobs`` runs side by side. Results go to ``<work-dir>/ablation_results.json`` as each run ends; a
rerun with the same schedule skips the runs found there. Then:

* ``ablation_table.md``: one row per ablation: the paper's ImageNet top-1 of PoolFormer-S12 with that change, params
  (M) and MACs (G, one image at the demo input size, counted as tools/analysis/get_flops.py does) of the demo model,
  and per task the metric's mean and spread (half the max - min range) over the seeds and the mean train time
  (wall time of ``tools/train.py``, start-up included);
* ``ablation_chart.png``: per task, one bar per ablation (mean, with the seeds' min-max as an error bar) and the
  baseline's mean as a dashed line.

``--smoke`` checks the machinery in a minute: a tiny data set written in the work dir, a few iterations, one seed,
two ablations (unless given). Exits 1 if a run failed (its log is named), 2 on a bad argument.
"""
import argparse
import sys

from mmpoolformer.cli import run_cli
from mmpoolformer_lab.studies.ablation import (
    DEFAULT_ABLATIONS,
    SMOKE_ABLATIONS,
    SMOKE_ITERS,
    STUDY_TASKS,
    resolve_choices,
    run_study,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tasks', nargs='+', default=list(STUDY_TASKS), help=f'of {", ".join(STUDY_TASKS)}')
    parser.add_argument('--ablations', nargs='+', default=None,
                        help=f'names of configs/ablations/<task>_s12_<name>.py, "baseline", or "all" (default: '
                             f'{" ".join(DEFAULT_ABLATIONS)}; with --smoke: {" ".join(SMOKE_ABLATIONS)})')
    parser.add_argument('--seeds', type=int, nargs='+', default=None, help='training seeds (default: 0 1; smoke: 0)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads of each run')
    parser.add_argument('--jobs', type=int, default=2, help='runs side by side')
    parser.add_argument('--work-dir', default='work_dirs/ablate')
    parser.add_argument('--smoke', action='store_true',
                        help=f'{SMOKE_ITERS} iterations, seed 0, a tiny data set in the work dir: checks the machinery')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    tasks, ablations = resolve_choices(args.tasks, args.ablations, args.smoke)
    seeds = args.seeds if args.seeds is not None else ([0] if args.smoke else [0, 1])
    failed = run_study(tasks, ablations, seeds, args.threads, args.jobs, args.work_dir, args.smoke,
                       log=lambda line: print(line, flush=True))
    for r in failed:
        print(f'failed: {r["task"]} {r["ablation"]} seed {r["seed"]}: {r["error"]}', file=sys.stderr)
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
