"""ImageNet classification configs: each takes a training step."""
import glob
import os

import pytest
import torch
from mmengine.registry import DefaultScope

from tests.helpers import ROOT, build_model, config_in_repo

# PoolFormer and the first paper's MetaFormers (the baselines' classifiers: tests/test_configs/test_baseline_configs.py)
CONFIGS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs/classification/*.py'))
                 if os.path.basename(p).startswith(('poolformer_', 'metaformer_')))


FIXED_GRID = ('pppf', 'ppff')  # spatial FC over the 224 px token grid


def classifier_with_preprocessor(path: str):
    cfg = config_in_repo(path)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    return build_model(cfg)


def assert_training_step(path: str, size: int) -> None:
    """The config's classifier takes a training step on two random ``size`` x ``size`` images: a finite loss and a
    gradient for every trainable parameter."""
    from mmpretrain.structures import DataSample
    model = classifier_with_preprocessor(path).train()
    generator = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator)
                        for _ in range(2)],
                data_samples=[DataSample().set_gt_label(label) for label in (3, 997)])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        losses = model(**model.data_preprocessor(data, True), mode='loss')
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize('path', CONFIGS)
def test_every_classification_config_takes_a_training_step(path):
    assert_training_step(path, 224 if any(v in path for v in FIXED_GRID) else 64)
