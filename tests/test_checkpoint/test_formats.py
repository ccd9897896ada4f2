"""Weight layouts (official ImageNet and mmdet 2.19 / mmseg 0.x files, timm, MMPretrain) load into the backbone with
the features of an independent reference; an official mmdet 2.19 detector file loads whole."""
import re

import pytest
import torch

from mmpoolformer import PoolFormer
from mmpoolformer.models.arch_settings import ARCH_SETTINGS
from tests import reference_weights as rw
from tests.helpers import (
    INPUT_HW,
    assert_close,
    build_model,
    config_in_repo,
    our_features,
    reference_features,
    stage_shape,
)
from tests.reference_weights import WRITERS


@pytest.fixture(scope='module', params=['s12', 'm36'])
def arch_and_ref(request):
    return request.param, rw.randomised_reference(request.param)


@pytest.fixture(scope='module')
def image():
    torch.manual_seed(1)
    return torch.randn(2, 3, *INPUT_HW)


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_every_format_matches_mmpretrain(arch_and_ref, image, fmt, tmp_path):
    arch, ref = arch_and_ref
    path = str(tmp_path / f'{fmt}.pth')
    WRITERS[fmt](ref, path)
    expected_ref = ref
    if fmt in ('official_imagenet', 'timm'):  # ImageNet files carry no stage-output norms: those start fresh
        expected_ref = rw.randomised_reference(arch)
        rw.reset_out_norms(expected_ref)
    model = PoolFormer(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    ours = our_features(model, image)
    assert_close(ours, reference_features(expected_ref, image))
    for i, feat in enumerate(ours):
        assert feat.shape == (2, ARCH_SETTINGS[arch]['embed_dims'][i], *stage_shape(*INPUT_HW, i))


def test_load_report_lists_fresh_and_ignored(tmp_path):
    ref = rw.randomised_reference('s12')
    path = str(tmp_path / 'imagenet.pth')
    rw.official_imagenet_file(ref, path)
    from mmpoolformer.checkpoint import load_backbone_weights
    report = load_backbone_weights(PoolFormer(arch='s12', out_indices=(1, 2, 3)), path)
    assert report['layout'] == 'official'
    assert report['fresh'] == ['out_norms.1.bias', 'out_norms.1.weight', 'out_norms.2.bias', 'out_norms.2.weight',
                               'out_norms.3.bias', 'out_norms.3.weight']
    assert report['ignored'] == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    assert len(report['loaded']) == len(PoolFormer(arch='s12', out_indices=()).state_dict())


def test_detector_file_into_retinanet_backbone_ignores_unused_norm(tmp_path, image):
    ref = rw.randomised_reference('s12')
    path = str(tmp_path / 'det.pth')
    rw.official_detector_file(ref, path)
    model = PoolFormer(arch='s12', out_indices=(1, 2, 3), init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    assert_close(our_features(model, image), reference_features(ref, image)[1:])


def official_backbone_keys(out_norm_indices):
    """Backbone key names of the official dense-prediction PoolFormer-S12 (mmdet 2.19 files)."""
    from tests.reference_weights import randomised_reference
    ref = randomised_reference('s12')
    return {f'backbone.{k}': v for k, v in ref.state_dict().items()
            if not re.match(r'norm\d', k) or int(k[4]) in out_norm_indices}


def official_head_keys(kind):
    """Non-backbone key names of mmdet 2.19's RetinaNet / Mask R-CNN (unchanged in mmdet 3)."""
    keys = [f'neck.{m}.{i}.conv.{p}' for m, n in (('lateral_convs', 3 if kind == 'retinanet' else 4),
                                                 ('fpn_convs', 5 if kind == 'retinanet' else 4))
            for i in range(n) for p in ('weight', 'bias')]
    if kind == 'retinanet':
        keys += [f'bbox_head.{b}_convs.{i}.conv.{p}' for b in ('cls', 'reg') for i in range(4)
                 for p in ('weight', 'bias')]
        keys += [f'bbox_head.retina_{b}.{p}' for b in ('cls', 'reg') for p in ('weight', 'bias')]
    else:
        keys += [f'rpn_head.rpn_{m}.{p}' for m in ('conv', 'cls', 'reg') for p in ('weight', 'bias')]
        keys += [f'roi_head.bbox_head.{m}.{p}' for m in ('fc_cls', 'fc_reg', 'shared_fcs.0', 'shared_fcs.1')
                 for p in ('weight', 'bias')]
        keys += [f'roi_head.mask_head.{m}.{p}' for m in ('convs.0.conv', 'convs.1.conv', 'convs.2.conv',
                                                        'convs.3.conv', 'upsample', 'conv_logits')
                 for p in ('weight', 'bias')]
    return keys


@pytest.mark.parametrize('kind', ['retinanet', 'mask_rcnn'])
def test_official_mmdet219_file_loads_with_no_missing_or_unexpected_keys(kind, tmp_path):
    from mmpoolformer.checkpoint import to_model_layout
    model = build_model(config_in_repo(f'configs/{kind}_poolformer_s12_fpn_coco.py'))
    own = model.state_dict()
    # official RetinaNet ran with FORK_LAST3=1: its stage-0 norm is an Identity, so the file has norm2/4/6 only
    state = official_backbone_keys((2, 4, 6) if kind == 'retinanet' else (0, 2, 4, 6))
    state.update({k: torch.randn(own[k].shape) for k in official_head_keys(kind)})
    path = tmp_path / 'official.pth'
    torch.save(dict(meta=dict(mmdet_version='2.19.0', CLASSES=('person',)), state_dict=state), path)
    from mmpoolformer.checkpoint import read_weights
    converted = to_model_layout(read_weights(str(path)))['state_dict']
    result = model.load_state_dict(converted, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert len(converted) == len(own)
