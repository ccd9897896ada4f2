"""ADE20K Semantic FPN configs: official hyper-parameters, the official test-time AlignResize, one train/predict
step each, and train -> test end to end with the command-line tools."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, build_model, config_in_repo, printed_metrics, run_tool

OFFICIAL_RELEASE = 'https://github.com/sail-sg/poolformer/releases/download/v1.0/poolformer_{}.pth.tar'
DIMS = {'s12': [64, 128, 320, 512], 's24': [64, 128, 320, 512], 's36': [64, 128, 320, 512],
        'm36': [96, 192, 384, 768], 'm48': [96, 192, 384, 768]}
SEG_CONFIGS = [(f'configs/fpn_poolformer_{arch}_ade20k_40k.py', arch) for arch in DIMS]


def find(pipeline, type_name):
    return next(t for t in pipeline if t.type == type_name)


@pytest.mark.parametrize('path,arch', SEG_CONFIGS)
def test_config_equals_official_hyper_parameters(path, arch):
    cfg = config_in_repo(path)
    model = cfg.model
    assert model.type == 'EncoderDecoder' and model.get('pretrained') is None
    assert model.backbone.type == 'mmpoolformer.PoolFormer' and model.backbone.arch == arch
    assert model.backbone.frozen_stages == -1 and tuple(model.backbone.out_indices) == (0, 1, 2, 3)
    assert model.backbone.init_cfg == dict(type='Pretrained', checkpoint=OFFICIAL_RELEASE.format(arch))
    assert (model.neck.type, list(model.neck.in_channels), model.neck.out_channels, model.neck.num_outs) == \
        ('FPN', DIMS[arch], 256, 4)
    head = model.decode_head
    assert (head.type, head.channels, head.dropout_ratio, head.num_classes) == ('FPNHead', 128, 0.1, 150)
    assert dict(cfg.optim_wrapper.optimizer) == dict(type='AdamW', lr=2e-4, weight_decay=1e-4)
    (poly,) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.by_epoch, poly.begin, poly.end) == \
        ('PolyLR', 0.9, 0.0, False, 0, 40000)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 40000
    assert cfg.train_cfg.val_interval == 4000
    assert cfg.default_hooks.checkpoint.interval == 4000 and cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.train_dataloader.batch_size == 4
    train = cfg.train_dataloader.dataset.pipeline
    assert find(train, 'LoadAnnotations').reduce_zero_label is True
    resize = find(train, 'RandomResize')
    assert (tuple(resize.scale), tuple(resize.ratio_range), resize.keep_ratio) == ((2048, 512), (0.5, 2.0), True)
    crop = find(train, 'RandomCrop')
    assert (tuple(crop.crop_size), crop.cat_max_ratio) == ((512, 512), 0.75)
    assert find(train, 'RandomFlip').prob == 0.5 and find(train, 'PhotoMetricDistortion')
    pre = model.data_preprocessor
    assert (tuple(pre.size), pre.pad_val, pre.seg_pad_val) == ((512, 512), 0, 255)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        test = loader.dataset.pipeline
        align = find(test, 'mmpoolformer.AlignResize')
        assert (tuple(align.scale), align.keep_ratio, align.size_divisor) == ((2048, 512), True, 32)
        assert find(test, 'LoadAnnotations').reduce_zero_label is True
        assert not any(t.type in ('Resize', 'TestTimeAug') for t in test)


# Expected sizes written from the rule, by hand: s = min(2048 / long side, 512 / short side); each side becomes
# int(side * s + 0.5); then each side goes up to the next multiple of 32.
ALIGN_CASES = [  # (h, w) in -> (h, w) out
    ((512, 683), (512, 704)),    # s = 1; 683 -> 704
    ((683, 512), (704, 512)),
    ((2048, 512), (2048, 512)),  # s = 1; already multiples of 32
    ((517, 333), (800, 512)),    # s = 512/333; 517 * s = 794.9 -> 795 -> 800; 333 -> 512
    ((1000, 2000), (512, 1024)),  # s = 0.512
    ((31, 31), (512, 512)),
]


@pytest.mark.parametrize('in_hw,out_hw', ALIGN_CASES)
def test_align_resize_follows_the_official_rule(in_hw, out_hw):
    from mmpoolformer.datasets import AlignResize
    img = np.random.default_rng(0).integers(0, 255, (*in_hw, 3), dtype=np.uint8)
    result = AlignResize(scale=(2048, 512), keep_ratio=True, size_divisor=32)(
        dict(img=img, img_shape=in_hw, ori_shape=in_hw))
    assert result['img'].shape[:2] == out_hw and tuple(result['img_shape']) == out_hw
    np.testing.assert_allclose(result['scale_factor'], (out_hw[1] / in_hw[1], out_hw[0] / in_hw[0]))


def test_config_test_pipeline_applies_align_resize(tmp_path):
    import cv2
    import mmseg.datasets  # noqa: F401  (registers mmseg transforms)
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    cfg = config_in_repo('configs/fpn_poolformer_s12_ade20k_40k.py')
    image, label = tmp_path / 'a.jpg', tmp_path / 'a.png'
    cv2.imwrite(str(image), np.zeros((517, 333, 3), np.uint8))
    cv2.imwrite(str(label), np.ones((517, 333), np.uint8))
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline = Compose(cfg.test_pipeline)
        out = pipeline(dict(img_path=str(image), seg_map_path=str(label), reduce_zero_label=True, seg_fields=[]))
    assert tuple(out['inputs'].shape[1:]) == (800, 512)
    assert tuple(out['data_samples'].gt_sem_seg.data.shape[1:]) == (517, 333)  # labels stay at original size


@pytest.mark.parametrize('path,arch', SEG_CONFIGS + [('configs/upernet_poolformer_s12_ade20k_160k.py', 's12')])
def test_config_builds_and_steps_on_cpu(path, arch):
    from mmseg.structures import SegDataSample
    cfg = config_in_repo(path)
    cfg.model.data_preprocessor.size = (128, 128)
    model = build_model(cfg)
    torch.manual_seed(0)
    samples, inputs = [], []
    for h, w in ((128, 128), (96, 112)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, h, w)))
        samples.append(sample)
    packed = dict(inputs=inputs, data_samples=samples)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert model.backbone.stem.weight.grad is not None
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(dict(inputs=inputs[1:], data_samples=samples[1:]), False),
                        mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, 96, 112)


def test_train_then_test_end_to_end(tmp_path):
    make_demo_data(str(tmp_path / 'data'), seed=2, num_train=4, num_val=3, size=128)
    config = tmp_path / 'tiny_fpn.py'
    config.write_text(f"""_base_ = ['{ROOT}/configs/fpn_poolformer_s12_ade20k_40k.py']
model = dict(backbone=dict(init_cfg=None), data_preprocessor=dict(size=(128, 128)))
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
""")
    work = tmp_path / 'work'
    opts = ['--data-root', tmp_path / 'data' / 'ade', '--cfg-options',
            'train_dataloader.dataset.pipeline.2.scale=(256,128)',
            'train_dataloader.dataset.pipeline.3.crop_size=(128,128)',
            'val_dataloader.dataset.pipeline.1.scale=(256,128)', 'test_dataloader.dataset.pipeline.1.scale=(256,128)']
    run_tool('tools/train.py', config, '--work-dir', work, *opts)
    ckpt = work / 'iter_4.pth'
    assert ckpt.is_file()
    maps = tmp_path / 'maps'
    metrics = printed_metrics(run_tool('tools/test.py', config, ckpt, '--work-dir', work, '--out', maps,
                                       *opts).stdout)
    assert len(list(maps.glob('*.png'))) == 3  # one predicted label map per validation image
    assert {'mIoU', 'mAcc', 'aAcc'} <= set(metrics)
    assert 0 <= metrics['mIoU'] <= 100 and 0 < metrics['aAcc'] <= 100
