"""Params and MACs of a PoolFormer backbone, a backbone with its ImageNet classifier, or a config's whole model.

    python tools/analysis/get_flops.py s12 [--shape 224 224] [--cls-head]
    python tools/analysis/get_flops.py configs/retinanet_poolformer_s12_fpn_coco.py [--shape 800 1280]
    python tools/analysis/get_flops.py --table

MACs are counted by :mod:`mmpoolformer.analysis.macs` (MMEngine's ``FlopAnalyzer``, which follows fvcore, the
counter the official numbers were made with): one multiply-add counts once, so what it calls "flops" are MACs. Like
fvcore it counts convolutions, matrix products, linear and normalisation layers; other element-wise work (average
pooling, GELU, additions, scaling) is not counted, and the operators left out are listed under the table. Params are
all parameters of the model.

An arch (``s12``, ``s24``, ``s36``, ``m36``, ``m48``) counts the backbone at 224x224 by default; ``--cls-head``
adds the ImageNet classifier as MMPretrain builds it (global average pooling of the normed last stage, a linear layer
to 1000 classes), which is what the paper's table counts. A config counts its whole model (backbone, neck, heads up
to their raw outputs, no post-processing) at ``--shape`` (default: 800x1280 for detection, 512x512 for
segmentation, 224x224 for classification). ``--table`` prints the paper's table for all five archs beside the
paper's numbers, then the MetaFormer baselines' (every published CAFormer, ConvFormer, PoolFormerV2, IdentityFormer
and RandFormer classifier, from its config) beside the official README's; ``--table poolformer`` or ``--table
baselines`` prints one of them.

Attention (``scaled_dot_product_attention``) counts its two matrix products, as fvcore counts them in an explicit
attention: ``q @ k^T`` and ``weights @ v``. RandFormer's frozen random matrices are buffers, not parameters: the table
shows them as the official README does, "trainable + frozen".
"""
import argparse
import os.path as osp

from mmpoolformer.analysis.macs import BASELINES, PAPER, arch_report, baseline_row, config_report
from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError
from mmpoolformer.models.arch_settings import ARCH_SETTINGS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')  # this checkout's


def print_rows(title: str, rows, skipped) -> None:
    print(title)
    print(f"{'part':<28} {'Params (M)':>11} {'MACs (G)':>10}")
    for name, (params, macs) in rows.items():
        print(f'{name:<28} {params / 1e6:>11.2f} {macs / 1e9:>10.3f}')
    if skipped:
        listed = ', '.join(f'{op} ({n}x)' for op, n in sorted(skipped.items()))
        print(f'not counted (no MAC counter, element-wise or data movement): {listed}')
    print('MACs: one multiply-add counts once (MMEngine/fvcore "flops", the paper\'s MACs)')


def print_table(which: str = 'all') -> None:
    if which in ('all', 'poolformer'):
        print('PoolFormer with the ImageNet classifier, 224x224 (the paper\'s Table 2)\n')
        print('| arch | Params (M) | MACs (G) | paper Params (M) | paper MACs (G) |')
        print('| --- | --- | --- | --- | --- |')
        for arch, (paper_params, paper_macs) in PAPER.items():
            rows, _ = arch_report(arch, (224, 224), cls_head=True)
            params, macs = rows['total']
            print(f'| {arch} | {params / 1e6:.1f} | {macs / 1e9:.1f} | {paper_params} | {paper_macs} |')
    if which in ('all', 'baselines'):
        print('\nMetaFormer baselines with their ImageNet classifiers, 224x224 (sail-sg/metaformer README)\n')
        print('| model | Params (M) | MACs (G) | official Params (M) | official MACs (G) |')
        print('| --- | --- | --- | --- | --- |')
        for name, (official_params, official_macs) in BASELINES.items():
            config = osp.join(CONFIGS, 'classification', f'{name}_in1k.py')
            print('| ' + ' | '.join(baseline_row(name, config)) + f' | {official_params} | {official_macs} |')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('target', nargs='?', help=f'a config file or an arch ({", ".join(ARCH_SETTINGS)})')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--cls-head', action='store_true', help='arch: add the ImageNet classifier (GAP + linear)')
    parser.add_argument('--table', nargs='?', const='all', choices=('all', 'poolformer', 'baselines'),
                        help='the published Params/MACs tables: PoolFormer\'s five archs and/or the MetaFormer '
                             'baselines\' classifiers')
    args = parser.parse_args(argv)
    if args.table:
        print_table(args.table)
        return
    if not args.target:
        raise ConfigError('give a config file or an arch (s12, s24, s36, m36, m48), or --table')
    if args.target.lower() in ARCH_SETTINGS:
        shape = tuple(args.shape or (224, 224))
        rows, skipped = arch_report(args.target.lower(), shape, args.cls_head)
        what = 'with the ImageNet classifier' if args.cls_head else 'backbone'
        print_rows(f'PoolFormer-{args.target.upper()} {what}, input 1x3x{shape[0]}x{shape[1]}', rows, skipped)
        return
    if not osp.isfile(args.target):
        raise ConfigError(f"'{args.target}' is neither a config file nor an arch; pass a file from configs/ or one "
                          f"of {', '.join(ARCH_SETTINGS)}")
    if args.cls_head:
        raise ConfigError('--cls-head goes with an arch; a config counts the heads it has')
    rows, skipped, shape = config_report(args.target, args.shape)
    print_rows(f'{osp.basename(args.target)}, input 1x3x{shape[0]}x{shape[1]}', rows, skipped)


if __name__ == '__main__':
    run_cli(main)
