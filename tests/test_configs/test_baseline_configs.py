"""The MetaFormer baselines' configs: every dense config is its PoolFormer-S12 recipe with only the backbone changed
and takes a training step; every classification config is the official recipe of its script (facts below, from
sail-sg/metaformer scripts/*/train_*.sh and finetune_*_384.sh) and builds the published model."""
import glob
import os

import pytest
import torch
from mmengine.config import Config

from tests.helpers import ROOT, build_model, config_in_repo, detector_step
from tests.test_configs.test_classification_configs import assert_training_step

BACKBONES = [('caformer', 's18', 'CAFormer'), ('convformer', 's18', 'ConvFormer'),
             ('poolformerv2', 's12', 'PoolFormerV2')]
DENSE = [(f'configs/{task}_{family}_{size}_{suffix}.py', f'configs/{task}_poolformer_s12_{suffix}.py', task, cls)
         for family, size, cls in BACKBONES
         for task, suffix in (('retinanet', 'fpn_coco'), ('mask_rcnn', 'fpn_coco'), ('fpn', 'ade20k_40k'),
                              ('upernet', 'ade20k_160k'))]
HF = 'https://huggingface.co/sail/dl/resolve/main/'

# official script facts: optimizer, lr, warm-up epochs, drop path, head dropout (None: a linear head)
SCRIPTS = {
    'caformer_s18': ('Lamb', 8e-3, 20, 0.15, 0.0), 'caformer_s36': ('Lamb', 8e-3, 20, 0.3, 0.4),
    'caformer_m36': ('Lamb', 8e-3, 20, 0.4, 0.4), 'caformer_b36': ('Lamb', 8e-3, 20, 0.6, 0.5),
    'convformer_s18': ('AdamW', 4e-3, 20, 0.2, 0.0), 'convformer_s36': ('AdamW', 4e-3, 20, 0.3, 0.0),
    'convformer_m36': ('AdamW', 4e-3, 20, 0.4, 0.0), 'convformer_b36': ('AdamW', 4e-3, 20, 0.6, 0.0),
    **{f'{family}_{size}': ('AdamW', 4e-3, 5, dp, None)
       for family in ('poolformerv2', 'identityformer', 'randformer')
       for size, dp in (('s12', 0.1), ('s24', 0.1), ('s36', 0.2), ('m36', 0.3), ('m48', 0.4))},
    'randformer_m48': ('AdamW', 4e-3, 5, 0.3, None),  # the official script's 0.3 (not 0.4)
}
FINETUNE_384 = {'caformer_s18': (1e-4, 0.3, 0.4), 'caformer_s36': (1e-4, 0.5, 0.4), 'caformer_m36': (1e-4, 0.7, 0.4),
                'caformer_b36': (1e-4, 0.8, 0.5), 'convformer_s18': (5e-5, 0.3, 0.4),
                'convformer_s36': (5e-5, 0.5, 0.4), 'convformer_m36': (5e-5, 0.8, 0.5),
                'convformer_b36': (5e-5, 0.8, 0.5)}


def without_backbone(cfg: Config) -> dict:
    model = cfg.to_dict()
    model['model'].pop('backbone')
    return model


@pytest.mark.parametrize('path,base,task,cls', DENSE)
def test_dense_config_is_poolformer_recipe_with_another_backbone(path, base, task, cls):
    ours, theirs = config_in_repo(path), config_in_repo(base)
    backbone = ours.model.backbone
    assert backbone.type == f'mmpoolformer.{cls}'
    assert backbone.init_cfg.checkpoint == f"{HF}{cls.lower()}/{cls.lower()}_{backbone.arch}.pth"
    assert backbone.out_indices == theirs.model.backbone.out_indices
    assert backbone.get('drop_path_rate', 0.) == theirs.model.backbone.get('drop_path_rate', 0.)
    ours_rest, theirs_rest = without_backbone(ours), without_backbone(theirs)
    if task == 'upernet':  # residual scales exempt from weight decay, as the layer scales are
        assert ours_rest['optim_wrapper']['paramwise_cfg']['custom_keys'].pop('res_scale') == dict(decay_mult=0.)
    for key in ('filename', 'baseline_weights'):
        ours_rest.pop(key, None), theirs_rest.pop(key, None)
    assert ours_rest == theirs_rest


@pytest.mark.parametrize('path,base,task,cls', [d for d in DENSE if d[2] in ('retinanet', 'mask_rcnn')])
def test_detection_config_takes_a_training_step(path, base, task, cls):
    model = build_model(config_in_repo(path))
    losses, total, results = detector_step(model, with_mask=(task == 'mask_rcnn'))
    assert torch.isfinite(total) and total > 0
    assert model.backbone.stem.weight.grad is not None and model.backbone.stem_norm.weight.grad is not None
    assert len(results) == 2 and results[0].pred_instances.bboxes.shape[1] == 4


@pytest.mark.parametrize('path,base,task,cls', [d for d in DENSE if d[2] in ('fpn', 'upernet')])
def test_segmentation_config_takes_a_training_step(path, base, task, cls):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    cfg = config_in_repo(path)
    cfg.model.data_preprocessor.size = (96, 96)
    model = build_model(cfg).train()
    samples, inputs = [], []
    generator = torch.Generator().manual_seed(0)
    for h, w in ((96, 96), (64, 96)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=generator))
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, h, w), generator=generator))
        samples.append(sample)
    losses = model(**model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True), mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert model.backbone.stages[3].blocks[0].mlp.fc1.weight.grad is not None


CLASSIFIERS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(f'{ROOT}/configs/classification/*former*_in1k.py')
                     if not os.path.basename(p).startswith(('poolformer_', 'metaformer_')))


def test_every_published_model_has_a_classification_config():
    names = {os.path.basename(p)[:-len('_in1k.py')] for p in CLASSIFIERS}
    assert names == set(SCRIPTS) | {f'{n}_384' for n in FINETUNE_384}


@pytest.mark.parametrize('path', CLASSIFIERS)
def test_classification_config_is_the_official_recipe(path):
    cfg = config_in_repo(path)
    name = os.path.basename(path)[:-len('_in1k.py')]
    family, size = name.split('_')[:2]
    backbone = cfg.model.backbone
    assert backbone.arch == size and backbone.type.lower() == f'mmpoolformer.{family}'
    assert backbone.norm_outputs is False and tuple(backbone.out_indices) == (3,)
    # the official initialisation of convolutions and linear layers
    assert backbone.init_cfg == dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)
    assert cfg.model.neck == dict(type='mmpoolformer.GlobalPoolNorm', in_channels=cfg.model.head.in_channels,
                                  eps=1e-6)
    optimizer = cfg.optim_wrapper.optimizer
    if name.endswith('_384'):
        lr, drop_path, head_dropout = FINETUNE_384[name[:-len('_384')]]
        kind = 'Lamb' if family == 'caformer' else 'AdamW'
        assert cfg.train_dataloader.batch_size * 8 * cfg.optim_wrapper.accumulative_counts == 1024
        assert cfg.train_cfg.max_epochs == 30 and cfg.model.train_cfg is None
        assert [s.type for s in cfg.param_scheduler] == ['ConstantLR']
        assert any(h.type == 'EMAHook' and h.momentum == 1e-4 for h in cfg.custom_hooks)
        assert cfg.load_from == f'{HF}{family}/{family}_{size}.pth'
        assert cfg.test_pipeline[1].scale == 384 and cfg.test_pipeline[2].crop_size == 384
    else:
        kind, lr, warmup, drop_path, head_dropout = SCRIPTS[name]
        assert cfg.train_dataloader.batch_size * 8 * cfg.optim_wrapper.accumulative_counts == 4096
        warm, cosine = cfg.param_scheduler
        assert warm.end == warmup == cosine.begin and abs(warm.start_factor * lr - 1e-6) < 1e-12
        assert cosine.eta_min == 1e-5 and cfg.train_cfg.max_epochs == 300
        assert cfg.test_pipeline[1].scale == 224 and cfg.test_pipeline[2].crop_size == 224
    assert optimizer.type == kind and optimizer.lr == lr and optimizer.weight_decay == 0.05
    assert backbone.drop_path_rate == drop_path
    if head_dropout is None:
        assert cfg.model.head.type == 'LinearClsHead'
    else:
        assert cfg.model.head.type == 'mmpoolformer.MlpClsHead' and cfg.model.head.dropout == head_dropout


@pytest.mark.parametrize('name', ['caformer_s18_in1k', 'convformer_s18_384_in1k', 'poolformerv2_s12_in1k',
                                  'identityformer_s12_in1k', 'randformer_s12_in1k'])
def test_classification_config_takes_a_training_step(name):
    assert_training_step(f'configs/classification/{name}.py', 224 if name.startswith('randformer') else 64)
