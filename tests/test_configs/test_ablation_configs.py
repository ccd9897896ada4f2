"""The paper's ablations: each config builds the mixer, norm and activation its name says and takes a training step."""
import glob
import os
import re

import pytest
import torch
from mmengine.registry import DefaultScope

from tests.helpers import ROOT, build_model, config_in_repo, detector_step

ABLATION_CONFIGS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs/ablations/*.py')))


# what each ablation changes, seen in the first block of the built backbone: (token mixer, norm1, MLP activation)
EXPECTED_BLOCK = {
    'mixer_identity': ('IdentityMixer', 'GroupNorm', 'GELU'), 'mixer_random': ('RandomMixing', 'GroupNorm', 'GELU'),
    'mixer_dwconv': ('DepthwiseConv', 'GroupNorm', 'GELU'), 'pool5': ('Pooling', 'GroupNorm', 'GELU'),
    'pool7': ('Pooling', 'GroupNorm', 'GELU'), 'pool9': ('Pooling', 'GroupNorm', 'GELU'),
    'hybrid_ppaa': ('Pooling', 'LayerNorm2d', 'GELU'), 'norm_ln': ('Pooling', 'LayerNorm2d', 'GELU'),
    'norm_bn': ('Pooling', ('BatchNorm2d', 'SyncBatchNorm'), 'GELU'), 'norm_none': ('Pooling', 'Identity', 'GELU'),
    'act_relu': ('Pooling', 'GroupNorm', 'ReLU'), 'act_silu': ('Pooling', 'GroupNorm', 'SiLU'),
    'mixer_sepconv': ('SepConv', 'GroupNorm', 'GELU'), 'act_starrelu': ('Pooling', 'GroupNorm', 'StarReLU'),
}
# the MetaFormer baselines' pieces on PoolFormer-S12: no paper trains these, so their configs say so instead of citing
NO_PAPER_NUMBER = ('mixer_sepconv', 'act_starrelu')


def classifier_step(model, size: int):
    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator)
                        for _ in range(2)],
                data_samples=[DataSample().set_gt_label(label) for label in (3, 997)])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return sum(model(**model.data_preprocessor(data, True), mode='loss').values())


def segmentor_step(model):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for h, w in ((128, 128), (96, 112)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=generator))
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, h, w), generator=generator))
        samples.append(sample)
    losses = model(**model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True), mode='loss')
    return model.parse_losses(losses)[0]


@pytest.mark.parametrize('path', ABLATION_CONFIGS)
def test_every_ablation_config_takes_a_training_step(path):
    """Each ablation config is a few lines over its parent, names the paper's number, builds the backbone its name
    says and trains a step (RetinaNet and Semantic FPN on two image sizes: the hybrid's position embedding is
    resized)."""
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    task, name = re.match(r'configs/ablations/(cls|retinanet|fpn)_s12_(\w+)\.py$', path).groups()
    cited = (r'No paper number: neither paper trains PoolFormer-S12 with' if name in NO_PAPER_NUMBER
             else r'Paper Table 5: .*\d\d\.\d')
    assert len(text.splitlines()) <= 14 and re.search(cited, text.replace('\n# ', ' '))
    cfg = config_in_repo(path)
    if task == 'cls':
        cfg.model.data_preprocessor = cfg.data_preprocessor
    elif task == 'fpn':
        cfg.model.data_preprocessor.size = (128, 128)
    model = build_model(cfg).train()
    block = model.backbone.stages[0].blocks[0]
    mixer, norm, act = EXPECTED_BLOCK[name]
    assert type(block.token_mixer).__name__ == mixer
    assert type(block.norm1).__name__ in ((norm,) if isinstance(norm, str) else norm)
    assert type(block.mlp.act).__name__ == act
    if name.startswith('pool'):
        assert block.token_mixer.pool.kernel_size == int(name[4:])
    if name == 'mixer_sepconv':  # ConvFormer's mixer: 2x expansion, 7x7 depthwise, StarReLU, no biases
        sepconv = block.token_mixer
        assert sepconv.pwconv1.weight.shape == (128, 64, 1, 1) and sepconv.dwconv.kernel_size == (7, 7)
        assert type(sepconv.act1).__name__ == 'StarReLU' and sepconv.pwconv1.bias is None
    if task == 'cls':
        total = classifier_step(model, 224 if name == 'mixer_random' else 64)
    elif task == 'retinanet':
        total = detector_step(model, with_mask=False)[1]  # backward included
    else:
        total = segmentor_step(model)
    assert torch.isfinite(total)
    if task != 'retinanet':
        total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters())
