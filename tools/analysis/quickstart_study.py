"""Seed study of the quickstarts: run each one with several training seeds and thread counts, report the spread.

    python tools/analysis/quickstart_study.py [--models retinanet mask_rcnn fpn cls] [--seeds 0 1 2] [--threads 2]
                                              [--isa all avx2] [--jobs 1] [--out study.md]

Each run is exactly the README's quickstart command, ``bash tools/quickstart.sh MODEL [--amp]``, with
``--cfg-options randomness.seed=SEED`` and ``OMP_NUM_THREADS=THREADS`` (a different thread count changes the
floating-point summation order, as another CPU does), in its own work dir under ``--work-root``. ``--jobs 2 --threads
1`` runs two one-thread runs side by side on a 2-core machine; ``--isa avx2`` reruns each seed with the kernels of
PyTorch, oneDNN and MKL limited to AVX2 (as on a CPU without AVX-512: another floating-point order). A detection run
is also judged by its drawings: the share of the validation shapes with another class's box drawn over them. A run's
time is its wall time (train, test and drawing); the per-iteration time is the median of the ``time`` the training
log records.

Prints one line per run as it ends, then a Markdown table per quickstart (mean, min, max over the runs of each
metric, against the quickstart's target) and writes it to ``--out``. Exits 1 if a run failed, 0 otherwise (the
table says whether the worst run met each target).
"""
import argparse
import json
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor

from mmpoolformer.fileio import write_text_atomically
from mmpoolformer_lab.studies.quickstart import ISA_ENV, TARGETS, run_one, summarise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', choices=list(TARGETS), default=['retinanet', 'mask_rcnn', 'fpn'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--threads', type=int, nargs='+', default=[2], help='torch threads of each run')
    parser.add_argument('--isa', nargs='+', choices=['all'] + list(ISA_ENV), default=['all'],
                        help="instruction sets to run each seed with: 'all' (the machine's), 'avx2' (PyTorch's, "
                             "oneDNN's and MKL's kernels limited to AVX2: another floating-point order)")
    parser.add_argument('--jobs', type=int, default=1, help='runs side by side')
    parser.add_argument('--work-root', default='work_dirs/quickstart_study')
    parser.add_argument('--out', help='write the Markdown tables here')
    parser.add_argument('--amp', action='store_true', help='train with --amp (bf16 mixed precision on CPU)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed on to every run (after randomness.seed)')
    args = parser.parse_args(argv)
    runs = [(m, s, t, None if isa == 'all' else isa)
            for m in args.models for isa in args.isa for t in args.threads for s in args.seeds]
    print(f'{len(runs)} quickstart runs, {args.jobs} at a time; logs under {args.work_root}', flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        extra = (['--amp'] if args.amp else []) + args.cfg_options
        results = list(pool.map(lambda run: run_one(*run[:3], osp.abspath(args.work_root), extra, isa=run[3],
                                                     log=lambda line: print(line, flush=True),
                                                     side_by_side=args.jobs > 1), runs))
    table = summarise(results)
    print(table)
    if args.out:
        write_text_atomically(args.out, table + '\n', what='results table')
        write_text_atomically(osp.splitext(args.out)[0] + '.json', json.dumps(results, indent=1), what='results file')
    return 0 if all(r['ok'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
