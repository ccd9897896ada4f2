"""Params and multiply-accumulates (MACs): the toolbox's one counter (``tools/analysis/get_flops.py``, the ablation
study's table, the compute floor).

The formulas for the heavy operations (:func:`matmul_macs`, :func:`conv_macs`, :func:`attention_macs`) count one
multiply-add once; the compute floor (:mod:`.compute_floor`) applies them to each recorded call. A whole model is
counted by :func:`count_macs` with MMEngine's ``FlopAnalyzer`` (which follows fvcore, the counter the official numbers
were made with: convolutions, matrix products, linear and normalisation layers; other element-wise work such as
average pooling, GELU, additions and scaling is not counted, and the operators left out are listed), to which the
attention formula is added: ``scaled_dot_product_attention`` counts its two matrix products, as fvcore counts them in
an explicit attention. Params are all parameters; RandFormer's frozen random matrices are buffers, counted apart
(:func:`frozen_matrices`) as the official README shows them, "trainable + frozen".
"""
import logging
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from ..apis import build_test_model, make_test_batch
from ..models.names import create_backbone, parse_backbone_name
from ..tasks import task_of
from .layers import TensorForward

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


def _product(sizes: Sequence[int]) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


def matmul_macs(a_shape: Sequence[int], b_shape: Sequence[int]) -> int:
    """``a @ b`` with ``a`` (..., n, k) and ``b`` (..., k, m): ``batch * n * k * m``."""
    return _product(a_shape[:-2]) * a_shape[-2] * a_shape[-1] * b_shape[-1]


def conv_macs(x_shape: Sequence[int], weight_shape: Sequence[int], stride: Sequence[int],
              padding: Sequence[int], dilation: Sequence[int]) -> int:
    """A forward convolution of ``x`` (N, C_in, *spatial) with ``weight`` (C_out, C_in / groups, *kernel): every
    output position of every output channel takes ``C_in / groups * prod(kernel)`` multiply-adds."""
    out_positions = 1
    for size, k, s, p, d in zip(x_shape[2:], weight_shape[2:], stride, padding, dilation):
        out_positions *= (size + 2 * p - d * (k - 1) - 1) // s + 1
    return x_shape[0] * out_positions * _product(weight_shape)


def attention_macs(q_shape: Sequence[int], k_shape: Sequence[int], v_shape: Sequence[int]) -> int:
    """``softmax(q k^T) v`` with ``q`` (..., N, d), ``k`` (..., M, d), ``v`` (..., M, dv): ``N * M * d`` for
    ``q k^T`` and ``N * M * dv`` for the weighted sum, per leading index."""
    return _product(q_shape[:-2]) * q_shape[-2] * k_shape[-2] * (q_shape[-1] + v_shape[-1])


def _attention_handle(inputs, outputs) -> int:
    return attention_macs(*(get_shape(x) for x in inputs[:3]))


def _uncounted(inputs, outputs) -> int:
    return 0


def count_macs(model: nn.Module, inputs: torch.Tensor, groups: Dict[str, Tuple[str, ...]],
               count_norms: bool = True):
    """Params and MACs of ``model(inputs)`` per group (a group sums the modules whose names start with one of its
    prefixes) and in total (``'total'``): ``{name: (params, macs)}``; and the operators the counter skipped
    (name -> calls). ``count_norms=False`` leaves layer and group norms out (not counted, not listed)."""
    model.eval()
    analyzer = FlopAnalyzer(model, (inputs,))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', _attention_handle)
    if not count_norms:  # (a handle of None would not replace MMEngine's norm handles)
        analyzer.set_op_handle('aten::layer_norm', _uncounted, 'aten::group_norm', _uncounted)
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


def backbone_groups(prefix: str, backbone: nn.Module) -> Dict[str, Tuple[str, ...]]:
    """Stem, then stage i with its output norm (if any)."""
    groups = OrderedDict(stem=(f'{prefix}stem',))
    norms = getattr(backbone, 'out_norms', {})
    for i in range(len(backbone.stages)):
        parts = [f'{prefix}stages.{i}'] + ([f'{prefix}out_norms.{i}'] if str(i) in norms else [])
        groups[f'stage {i + 1}'] = tuple(parts)
    return groups


def classifier(arch: str) -> nn.Module:
    """PoolFormer with MMPretrain's ImageNet classifier: GAP of the normed last stage, linear to 1000 classes."""
    import mmpretrain.models  # noqa: F401  (registers ImageClassifier & co.)
    from mmpretrain.registry import MODELS
    dim = parse_backbone_name(arch).arch['embed_dims'][-1]
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='mmpoolformer.PoolFormer', arch=arch, out_indices=(3,)),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=1000, in_channels=dim))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def arch_report(arch: str, shape: Tuple[int, int], cls_head: bool):
    """:func:`count_macs` of the PoolFormer ``arch`` (a name) at ``shape`` (H, W), per stage: the backbone, or with
    ``cls_head`` the ImageNet classifier (what the paper's table counts)."""
    if cls_head:
        model = classifier(arch)
        wrapped = TensorForward(model, None)
        groups = backbone_groups('model.backbone.', model.backbone)
        groups['classifier (GAP + linear)'] = ('model.neck', 'model.head')
    else:
        wrapped = create_backbone(arch)
        groups = backbone_groups('', wrapped)
    return count_macs(wrapped, torch.randn(1, 3, *shape), groups)


def config_report(path: str, shape: Optional[Tuple[int, int]], count_norms: bool = True):
    """:func:`count_macs` of a config's whole model (backbone per stage, neck, heads up to their raw outputs, no
    post-processing) at ``shape`` (H, W; None: the task's default, e.g. 800x1280 for detection). Returns
    ``(rows, skipped, shape)``."""
    model = build_test_model(path)
    shape = tuple(shape or task_of(model.cfg).flops_shape)
    data = model.data_preprocessor(make_test_batch(model, 1, shape), False)
    groups = OrderedDict()
    if hasattr(model.backbone, 'stages'):
        groups.update(backbone_groups('model.backbone.', model.backbone))
    else:
        groups['backbone'] = ('model.backbone',)
    for part in ('neck', 'rpn_head', 'roi_head', 'bbox_head', 'decode_head', 'auxiliary_head', 'head'):
        if isinstance(getattr(model, part, None), nn.Module):
            groups[part] = (f'model.{part}',)
    rows, skipped = count_macs(TensorForward(model, data['data_samples']), data['inputs'], groups, count_norms)
    return rows, skipped, shape


def frozen_matrices(model: nn.Module) -> int:
    """Elements of the frozen random token-mixing matrices (RandomMixing buffers)."""
    return sum(b.numel() for name, b in model.named_buffers() if name.endswith('token_mixer.matrix'))


def baseline_report(path: str) -> Tuple[float, int, int]:
    """(params, frozen matrix elements, MACs) of a published classifier, counted on the model of its config ``path``
    (``configs/classification/NAME_in1k.py``) at 224x224 as the official numbers were: fvcore on the official model,
    whose norms (``LayerNormGeneral``, element-wise operations) it does not count, so norms are left out here too."""
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


def baseline_row(name: str, config: str) -> Tuple[str, str, str]:
    """(name, Params, MACs) of :func:`baseline_report` of the classifier ``name`` (e.g. 'caformer_s18') built by its
    ``config``, at the official README's precision: whole millions for ConvFormer/CAFormer, tenths otherwise,
    "trainable + frozen" for RandFormer."""
    params, frozen, macs = baseline_report(config)
    digits = 0 if name.startswith(('caformer', 'convformer')) else 1
    shown = f'{params / 1e6:.{digits}f}' + (f' + {frozen / 1e6:.1f}' if frozen else '')
    return name, shown, f'{macs / 1e9:.1f}'
