"""COCO detection configs: the official hyper-parameters, one training step of each, other detectors, the README's
own-detector example."""
import os
import re

import pytest
import torch
from mmengine.config import Config

from tests.helpers import ROOT, build_model, config_in_repo, detector_step
from tests.reference_weights import OFFICIAL_DIMS, OFFICIAL_RELEASE

DETECTION_CONFIGS = [(f'configs/{kind}_poolformer_{arch}_fpn_coco.py', kind, arch)
                     for kind in ('retinanet', 'mask_rcnn') for arch in ('s12', 's24', 's36')]


@pytest.mark.parametrize('path,kind,arch', DETECTION_CONFIGS)
def test_config_equals_official_hyper_parameters(path, kind, arch):
    cfg = config_in_repo(path)
    # numbers of the official mmdet 2.19 1x configs of PoolFormer (sail-sg/poolformer, detection/configs)
    lr = {'retinanet': 1e-4, 'mask_rcnn': 2e-4}[kind]
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert dict(cfg.optim_wrapper.optimizer) == dict(type='AdamW', lr=lr, weight_decay=1e-4)
    assert cfg.optim_wrapper.get('clip_grad') is None
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 12
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.by_epoch, warmup.begin, warmup.end) == \
        ('LinearLR', 0.001, False, 0, 500)
    assert (steps.type, list(steps.milestones), steps.gamma, steps.by_epoch) == ('MultiStepLR', [8, 11], 0.1, True)
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.test_dataloader.dataset.pipeline):
        resize = next(t for t in pipeline if t.type == 'Resize')
        assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio is True
    flip = next(t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomFlip')
    assert flip.prob == 0.5
    backbone, neck = cfg.model.backbone, cfg.model.neck
    assert backbone.type == 'mmpoolformer.PoolFormer' and backbone.arch == arch and backbone.frozen_stages == -1
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'{OFFICIAL_RELEASE}poolformer_{arch}.pth.tar')
    assert neck.type == 'FPN' and neck.out_channels == 256 and neck.num_outs == 5
    if kind == 'retinanet':  # official: FPN([64,128,320,512], start_level=1, 'on_input') over all four stages
        assert tuple(backbone.out_indices) == (1, 2, 3)
        assert (list(neck.in_channels), neck.start_level, neck.add_extra_convs) == ([128, 320, 512], 0, 'on_input')
    else:
        assert tuple(backbone.out_indices) == (0, 1, 2, 3)
        assert list(neck.in_channels) == OFFICIAL_DIMS[arch] and neck.get('start_level', 0) == 0


def test_retinanet_fpn_is_the_official_fpn_without_stage0():
    from mmdet.models.necks import FPN
    official = FPN([64, 128, 320, 512], 256, num_outs=5, start_level=1, add_extra_convs='on_input')
    ours = FPN([128, 320, 512], 256, num_outs=5, start_level=0, add_extra_convs='on_input')
    assert {k: v.shape for k, v in official.state_dict().items()} == {k: v.shape for k, v in ours.state_dict().items()}
    ours.load_state_dict(official.state_dict())
    feats = [torch.randn(1, c, 64 // 2 ** i, 48 // 2 ** i) for i, c in enumerate([64, 128, 320, 512])]
    for a, b in zip(official(feats), ours(feats[1:])):
        assert torch.equal(a, b)


@pytest.mark.parametrize('path,kind,arch', DETECTION_CONFIGS)
def test_config_builds_and_steps_on_cpu(path, kind, arch):
    model = build_model(config_in_repo(path))
    losses, total, results = detector_step(model, with_mask=(kind == 'mask_rcnn'))
    assert torch.isfinite(total) and total > 0
    assert model.backbone.stem.weight.grad is not None
    assert len(results) == 2 and results[0].pred_instances.bboxes.shape[1] == 4
    if kind == 'mask_rcnn':
        assert 'loss_mask' in losses and hasattr(results[0].pred_instances, 'masks')


OTHER_DETECTORS = ['fcos_poolformer_s12_fpn_coco.py', 'atss_poolformer_s12_fpn_coco.py',
                   'faster_rcnn_poolformer_s12_fpn_coco.py', 'cascade_mask_rcnn_poolformer_s12_fpn_coco.py',
                   'dino_poolformer_s12_coco.py']


@pytest.mark.parametrize('name', OTHER_DETECTORS)
def test_backbone_in_other_detectors(name):
    cfg = config_in_repo(f'configs/other_detectors/{name}')
    assert cfg.model.backbone.type == 'mmpoolformer.PoolFormer'
    model = build_model(cfg)
    # DINO selects 900 queries from the encoder tokens, so its images must give more than 900 positions
    shapes = ((3, 256, 320), (3, 240, 288)) if 'dino' in name else ((3, 128, 160), (3, 96, 128))
    losses, total, results = detector_step(model, with_mask='mask' in name, image_shapes=shapes)
    assert torch.isfinite(total) and total > 0
    assert all(p.grad is not None for n, p in model.backbone.named_parameters() if p.requires_grad)
    assert len(results) == 2 and results[0].pred_instances.bboxes.shape[1] == 4


def readme_example_config() -> str:
    readme = open(os.path.join(ROOT, 'README.md')).read()
    section = readme.split('## Use PoolFormer in your own detector', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_readme_example_config_works(tmp_path):
    path = tmp_path / 'my_detector.py'
    path.write_text(readme_example_config())
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.type == 'mmpoolformer.PoolFormer'
    losses, total, _ = detector_step(build_model(cfg), with_mask=False)
    assert torch.isfinite(total)
