"""COCO detection configs: official hyper-parameters, one train/predict step each, tools end to end, resume,
official mmdet 2.19 checkpoints, other detectors and the README example."""
import os
import re

import pytest
import torch
from mmengine.config import Config

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, build_model, config_in_repo, detector_step, printed_metrics, run_tool

OFFICIAL_RELEASE = 'https://github.com/sail-sg/poolformer/releases/download/v1.0/poolformer_{}.pth.tar'
ARCH_DIMS = {'s12': [64, 128, 320, 512], 's24': [64, 128, 320, 512], 's36': [64, 128, 320, 512]}
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
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=OFFICIAL_RELEASE.format(arch))
    assert neck.type == 'FPN' and neck.out_channels == 256 and neck.num_outs == 5
    if kind == 'retinanet':  # official: FPN([64,128,320,512], start_level=1, 'on_input') over all four stages
        assert tuple(backbone.out_indices) == (1, 2, 3)
        assert (list(neck.in_channels), neck.start_level, neck.add_extra_convs) == ([128, 320, 512], 0, 'on_input')
    else:
        assert tuple(backbone.out_indices) == (0, 1, 2, 3)
        assert list(neck.in_channels) == ARCH_DIMS[arch] and neck.get('start_level', 0) == 0


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


# ---------------------------------------------------------------- end to end with the command-line tools

TINY_OVERRIDES = """
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'))
model = dict(backbone=dict(init_cfg=None){head})
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(metainfo=metainfo, data_prefix=dict(img='train2017/'),
                                     ann_file='annotations/instances_train2017.json'))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(metainfo=metainfo, data_prefix=dict(img='val2017/'),
                                   ann_file='annotations/instances_val2017.json'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs}, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
randomness = dict(seed=0, deterministic=False)
"""
# score_thr=0: a model trained for a few iterations scores below the default 0.05, and COCO metrics need predictions
HEADS = {'retinanet': ', bbox_head=dict(num_classes=4), test_cfg=dict(score_thr=0.0)',
         'mask_rcnn': ', roi_head=dict(bbox_head=dict(num_classes=4), mask_head=dict(num_classes=4)), '
                      'test_cfg=dict(rcnn=dict(score_thr=0.0))'}


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    make_demo_data(str(root), seed=1, num_train=6, num_val=4, size=128)
    return root / 'coco'


def tiny_config(tmp_path, kind, epochs=1, scale=(128, 128)):
    """A user's config inheriting the real COCO config, shrunk for CPU: 128 px images, 4 classes, no download."""
    text = f"_base_ = ['{ROOT}/configs/{kind}_poolformer_s12_fpn_coco.py']\n"
    text += TINY_OVERRIDES.format(head=HEADS[kind], epochs=epochs)
    path = tmp_path / f'tiny_{kind}.py'
    path.write_text(text)
    # the pipeline scale goes through --cfg-options, as a user would shrink it
    pipeline_scale = [f'train_dataloader.dataset.pipeline.2.scale={scale}',
                      f'val_dataloader.dataset.pipeline.1.scale={scale}',
                      f'test_dataloader.dataset.pipeline.1.scale={scale}']
    return str(path), pipeline_scale


def to_official_layout(state):
    """Our backbone names -> the official mmdet 2.19 ones (written independently of the toolbox's converter)."""
    def rename(key):
        if not key.startswith('backbone.'):
            return key
        key = key[len('backbone.'):]
        key = re.sub(r'^stem\.', 'patch_embed.proj.', key)
        key = re.sub(r'^stages\.(\d+)\.downsample\.', lambda m: f'network.{2 * int(m.group(1)) - 1}.proj.', key)
        key = re.sub(r'^stages\.(\d+)\.blocks\.', lambda m: f'network.{2 * int(m.group(1))}.', key)
        key = re.sub(r'layer_scale([12])$', r'layer_scale_\1', key)
        key = re.sub(r'^out_norms\.(\d+)\.', lambda m: f'norm{2 * int(m.group(1))}.', key)
        return 'backbone.' + key
    return {rename(k): v for k, v in state.items()}


@pytest.mark.parametrize('kind', ['retinanet', 'mask_rcnn'])
def test_train_then_test_end_to_end(kind, tiny_coco, tmp_path):
    config, scale_opts = tiny_config(tmp_path, kind)
    work = tmp_path / 'work'
    run_tool('tools/train.py', config, '--work-dir', work, '--data-root', tiny_coco, '--cfg-options', *scale_opts)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file() and (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    test_args = ['--work-dir', work, '--data-root', tiny_coco, '--cfg-options', *scale_opts]
    results = tmp_path / 'results.pkl'
    metrics = printed_metrics(run_tool('tools/test.py', config, ckpt, *test_args[:2], '--out', results,
                                       *test_args[2:]).stdout)
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    import mmengine
    dumped = mmengine.load(str(results))
    assert len(dumped) == 4 and all(r['pred_instances']['bboxes'].shape[1] == 4 for r in dumped)
    if kind == 'mask_rcnn':
        assert 0.0 <= metrics['coco/segm_mAP'] <= 1.0
    # The same weights in the official mmdet 2.19 layout evaluate directly, to the same numbers.
    trained = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    official = tmp_path / 'official_layout.pth'
    torch.save(dict(meta=dict(mmdet_version='2.19.0'), state_dict=to_official_layout(trained)), official)
    assert printed_metrics(run_tool('tools/test.py', config, official, *test_args).stdout) == metrics


def test_resume_continues_like_an_uninterrupted_run(tiny_coco, tmp_path):
    config, scale_opts = tiny_config(tmp_path, 'retinanet', epochs=2)
    # no random flips: MMEngine does not checkpoint the augmentation RNG, so epoch 2 could see other flips
    common = ['--data-root', tiny_coco, '--cfg-options', *scale_opts, 'train_dataloader.dataset.pipeline.3.prob=0.0']
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    run_tool('tools/train.py', config, '--work-dir', straight, *common)
    # the same run stopped after epoch 1 ...
    run_tool('tools/train.py', config, '--work-dir', resumed, *common, 'train_cfg.max_epochs=1')
    assert not (resumed / 'epoch_2.pth').exists()
    # ... and restarted with --resume
    proc = run_tool('tools/train.py', config, '--work-dir', resumed, '--resume', *common)
    assert 'resumed epoch: 1, iter: 3' in proc.stdout + proc.stderr
    at_stop = torch.load(straight / 'epoch_1.pth', map_location='cpu', weights_only=False)
    resumed_from = torch.load(resumed / 'epoch_1.pth', map_location='cpu', weights_only=False)
    assert at_stop['param_schedulers'] == resumed_from['param_schedulers']
    for name, value in at_stop['state_dict'].items():
        torch.testing.assert_close(value, resumed_from['state_dict'][name], rtol=1e-4, atol=1e-5)
    a = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=False)
    b = torch.load(resumed / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter']) == (2, 6)
    assert a['param_schedulers'] == b['param_schedulers']
    lr = [g['lr'] for g in a['optimizer']['param_groups']]
    assert lr == [g['lr'] for g in b['optimizer']['param_groups']]
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert state_a[key]['step'] == state_b[key]['step']
        torch.testing.assert_close(state_a[key]['exp_avg'], state_b[key]['exp_avg'], rtol=1e-4, atol=1e-6)
    for name, value in a['state_dict'].items():
        torch.testing.assert_close(value, b['state_dict'][name], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- official mmdet 2.19 checkpoints

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
    from mmpoolformer.engine.runner import to_model_layout
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
