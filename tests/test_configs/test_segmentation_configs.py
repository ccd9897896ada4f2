"""ADE20K Semantic FPN configs: the official hyper-parameters and one training step of each."""
import pytest
import torch
from mmengine.structures import PixelData

from tests.helpers import build_model, config_in_repo, find
from tests.reference_weights import OFFICIAL_DIMS, OFFICIAL_RELEASE

SEG_CONFIGS = [(f'configs/fpn_poolformer_{arch}_ade20k_40k.py', arch) for arch in OFFICIAL_DIMS]


@pytest.mark.parametrize('path,arch', SEG_CONFIGS)
def test_config_equals_official_hyper_parameters(path, arch):
    cfg = config_in_repo(path)
    model = cfg.model
    assert model.type == 'EncoderDecoder' and model.get('pretrained') is None
    assert model.backbone.type == 'mmpoolformer.PoolFormer' and model.backbone.arch == arch
    assert model.backbone.frozen_stages == -1 and tuple(model.backbone.out_indices) == (0, 1, 2, 3)
    assert model.backbone.init_cfg == dict(type='Pretrained', checkpoint=f'{OFFICIAL_RELEASE}poolformer_{arch}.pth.tar')
    assert (model.neck.type, list(model.neck.in_channels), model.neck.out_channels, model.neck.num_outs) == \
        ('FPN', OFFICIAL_DIMS[arch], 256, 4)
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
