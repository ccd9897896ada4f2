"""Params and MACs of a PoolFormer backbone, a backbone with its ImageNet classifier, or a config's whole model.

    python tools/analysis/get_flops.py s12 [--shape 224 224] [--cls-head]
    python tools/analysis/get_flops.py configs/retinanet_poolformer_s12_fpn_coco.py [--shape 800 1280]
    python tools/analysis/get_flops.py --table

MACs are counted by MMEngine's ``mmengine.analysis.FlopAnalyzer`` (which follows fvcore, the counter the official
numbers were made with): one multiply-add counts once, so what it calls "flops" are MACs. Like fvcore it counts
convolutions, matrix products, linear and normalisation layers; other element-wise work (average pooling, GELU,
additions, scaling) is not counted, and the operators left out are listed under the table. Params are all parameters
of the model.

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
import sys
from collections import OrderedDict
from typing import Dict, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # run from a clone

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from mmpoolformer.arch_settings import ARCH_SETTINGS  # noqa: E402
from mmpoolformer.cli import run_cli  # noqa: E402
from mmpoolformer.errors import ConfigError  # noqa: E402

# The paper's Table 2 (ImageNet-1K, 224x224, with the classifier): Params (M) and MACs (G).
PAPER = {'s12': (11.9, 1.8), 's24': (21.4, 3.4), 's36': (30.9, 5.0), 'm36': (56.2, 8.8), 'm48': (73.5, 11.6)}
# The MetaFormer baselines' README (sail-sg/metaformer, ImageNet-1K, 224x224): Params (M; RandFormer "trainable +
# frozen") and MACs (G), as printed there.
BASELINES = {
    'caformer_s18': ('26', '4.1'), 'caformer_s36': ('39', '8.0'), 'caformer_m36': ('56', '13.2'),
    'caformer_b36': ('99', '23.2'), 'convformer_s18': ('27', '3.9'), 'convformer_s36': ('40', '7.6'),
    'convformer_m36': ('57', '12.8'), 'convformer_b36': ('100', '22.6'),
    'identityformer_s12': ('11.9', '1.8'), 'identityformer_s24': ('21.3', '3.4'), 'identityformer_s36': ('30.8', '5.0'),
    'identityformer_m36': ('56.1', '8.8'), 'identityformer_m48': ('73.3', '11.5'),
    'randformer_s12': ('11.9 + 0.2', '1.9'), 'randformer_s24': ('21.3 + 0.5', '3.5'),
    'randformer_s36': ('30.8 + 0.7', '5.2'), 'randformer_m36': ('56.1 + 0.7', '9.0'),
    'randformer_m48': ('73.3 + 0.9', '11.9'),
    'poolformerv2_s12': ('11.9', '1.8'), 'poolformerv2_s24': ('21.3', '3.4'), 'poolformerv2_s36': ('30.8', '5.0'),
    'poolformerv2_m36': ('56.1', '8.8'), 'poolformerv2_m48': ('73.3', '11.5'),
}
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 512), 'mmpretrain': (224, 224)}


def classifier(arch: str) -> nn.Module:
    """PoolFormer with MMPretrain's ImageNet classifier: GAP of the normed last stage, linear to 1000 classes."""
    import mmpretrain.models  # noqa: F401  (registers ImageClassifier & co.)
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    dim = ARCH_SETTINGS[arch]['embed_dims'][-1]
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='mmpoolformer.PoolFormer', arch=arch, out_indices=(3,)),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=1000, in_channels=dim))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def count(model: nn.Module, inputs: torch.Tensor, groups: Dict[str, Tuple[str, ...]], count_norms: bool = True):
    """Params and MACs per group (a group sums the modules whose names start with one of its prefixes) and in
    total; also the operators the counter skipped (name -> calls). ``count_norms=False`` leaves layer and group
    norms out (not counted, not listed)."""
    from mmengine.analysis import FlopAnalyzer, parameter_count
    model.eval()
    analyzer = FlopAnalyzer(model, (inputs,))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', attention_macs)
    if not count_norms:  # (a handle of None would not replace MMEngine's norm handles)
        analyzer.set_op_handle('aten::layer_norm', uncounted, 'aten::group_norm', uncounted)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    macs_by_module = analyzer.by_module()
    params_by_module = parameter_count(model)
    rows = OrderedDict()
    for name, prefixes in groups.items():
        rows[name] = (sum(params_by_module.get(p, 0) for p in prefixes),
                      sum(macs_by_module.get(p, 0) for p in prefixes))
    rows['total'] = (params_by_module[''], analyzer.total())
    return rows, dict(analyzer.unsupported_ops())


def attention_macs(inputs, outputs) -> int:
    """MACs of ``scaled_dot_product_attention(q, k, v)`` (shapes ``(..., N, d)``, ``(..., M, d)``, ``(..., M, dv)``):
    ``N * M * d`` for ``q @ k^T`` and ``N * M * dv`` for the weighted sum, per leading index."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(x) for x in inputs[:3])
    leading = 1
    for size in q[:-2]:
        leading *= size
    return leading * q[-2] * k[-2] * (q[-1] + v[-1])


def uncounted(inputs, outputs) -> int:
    """An operator counted as no MACs."""
    return 0


def frozen_matrices(model: nn.Module) -> int:
    """Elements of the frozen random token-mixing matrices (RandomMixing buffers)."""
    return sum(b.numel() for name, b in model.named_buffers() if name.endswith('token_mixer.matrix'))


def baseline_report(name: str) -> Tuple[float, int, int]:
    """(params, frozen matrix elements, MACs) of the published classifier ``name`` (e.g. 'caformer_s18'), counted on
    its config's model at 224x224 as the official numbers were: fvcore on the official model, whose norms
    (``LayerNormGeneral``, element-wise operations) it does not count, so norms are left out here too."""
    import logging

    from mmengine.logging import MMLogger

    from mmpoolformer.apis import build_test_model
    path = osp.join(ROOT, 'configs', 'classification', f'{name}_in1k.py')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # not the initialisation report of every parameter
    try:
        rows, _, _ = config_report(path, (224, 224), count_norms=False)
        frozen = frozen_matrices(build_test_model(path))
    finally:
        logger.setLevel(level)
    params, macs = rows['total']
    return params, frozen, macs


def backbone_groups(prefix: str, backbone: nn.Module) -> Dict[str, Tuple[str, ...]]:
    """Stem, then stage i with its output norm (if any)."""
    groups = OrderedDict(stem=(f'{prefix}stem',))
    norms = getattr(backbone, 'out_norms', {})
    for i in range(len(backbone.stages)):
        parts = [f'{prefix}stages.{i}'] + ([f'{prefix}out_norms.{i}'] if str(i) in norms else [])
        groups[f'stage {i + 1}'] = tuple(parts)
    return groups


def arch_report(arch: str, shape, cls_head: bool):
    from mmpoolformer import PoolFormer
    from mmpoolformer.apis import TensorForward
    if cls_head:
        model = classifier(arch)
        wrapped = TensorForward(model, None)
        groups = backbone_groups('model.backbone.', model.backbone)
        groups['classifier (GAP + linear)'] = ('model.neck', 'model.head')
    else:
        wrapped = PoolFormer(arch=arch)
        groups = backbone_groups('', wrapped)
    return count(wrapped, torch.randn(1, 3, *shape), groups)


def config_report(path: str, shape: Optional[Tuple[int, int]], count_norms: bool = True):
    from mmpoolformer.apis import TensorForward, build_test_model, make_test_batch
    model = build_test_model(path)
    scope = model.cfg.get('default_scope', 'mmdet')
    shape = tuple(shape or DEFAULT_SHAPES.get(scope, (224, 224)))
    data = model.data_preprocessor(make_test_batch(model, 1, shape), False)
    groups = OrderedDict()
    if hasattr(model.backbone, 'stages'):
        groups.update(backbone_groups('model.backbone.', model.backbone))
    else:
        groups['backbone'] = ('model.backbone',)
    for part in ('neck', 'rpn_head', 'roi_head', 'bbox_head', 'decode_head', 'auxiliary_head', 'head'):
        if isinstance(getattr(model, part, None), nn.Module):
            groups[part] = (f'model.{part}',)
    rows, skipped = count(TensorForward(model, data['data_samples']), data['inputs'], groups, count_norms)
    return rows, skipped, shape


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
            print('| ' + ' | '.join(baseline_row(name)) + f' | {official_params} | {official_macs} |')


def baseline_row(name: str) -> Tuple[str, str, str]:
    """(name, Params, MACs) printed at the official README's precision: whole millions for ConvFormer/CAFormer,
    tenths otherwise, "trainable + frozen" for RandFormer."""
    params, frozen, macs = baseline_report(name)
    digits = 0 if name.startswith(('caformer', 'convformer')) else 1
    shown = f'{params / 1e6:.{digits}f}' + (f' + {frozen / 1e6:.1f}' if frozen else '')
    return name, shown, f'{macs / 1e9:.1f}'


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
