"""Plot training curves and metrics from a work dir: python tools/plot_log.py WORK_DIR --keys loss --out curve.png

Reads every ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (MMEngine's log of scalars), oldest run first, and draws
one panel per key against the step it was logged at (iteration for losses, epoch or iteration for metrics).
"""
import argparse
import os.path as osp

from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError
from mmpoolformer.fileio import write_atomically
from mmpoolformer.training_log import read_scalars


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot, e.g. loss coco/bbox_mAP')
    parser.add_argument('--out', required=True, help='output image file (png, pdf, svg, ...)')
    args = parser.parse_args()
    series = read_scalars(args.work_dir)
    missing = [k for k in args.keys if k not in series]
    if missing:
        raise ConfigError(f'{", ".join(missing)} not logged in {args.work_dir}; logged keys: '
                          f'{", ".join(sorted(series))}')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(args.keys), 1, figsize=(7, 3 * len(args.keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], args.keys):
        steps, values = zip(*series[key])
        ax.plot(steps, values, marker='o' if len(steps) < 30 else None)
        ax.set_title(key)
        ax.set_xlabel('step')
        ax.grid(alpha=0.3)
    fig.tight_layout()
    write_atomically(args.out, lambda partial: fig.savefig(partial, dpi=100, format=osp.splitext(args.out)[1][1:]
                                                           or 'png'), what='plot')
    print(f'wrote {args.out}: {", ".join(f"{k} ({len(series[k])} points)" for k in args.keys)}')


if __name__ == '__main__':
    run_cli(main)
