"""A user's own segmentation labels (mmpoolformer/engine/dataset_checks.py ``check_label_maps``): ADE20K-style ids
without ``reduce_zero_label`` and colour label maps end tools/train.py and tools/test.py in one line naming the file,
before any training step; the demo labels with the config's settings pass."""
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, error_line, run_tool_here

LOAD = "dict(type='LoadAnnotations', reduce_zero_label={zero})"
CONFIG = """_base_ = ['{root}/configs/quickstart/fpn_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32],
                                     layer_scale_init_value=0.5)), neck=dict(in_channels=[8, 16, 24, 32]))
train_dataloader = dict(batch_size=2, dataset=dict(reduce_zero_label={zero}, pipeline=[
    dict(type='LoadImageFromFile'), {load}, dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackSegInputs')]))
_test = dict(batch_size=1, dataset=dict(reduce_zero_label={zero}, pipeline=[
    dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64), keep_ratio=True), {load},
    dict(type='PackSegInputs')]))
val_dataloader = _test
test_dataloader = _test
train_cfg = dict(max_iters=1, val_interval=10)
"""


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    root = tmp_path_factory.mktemp('labels')
    make_demo_data(str(root), seed=3, num_train=2, num_val=2, size=64)
    for split in ('training', 'validation'):  # the highest id (5, a cross) in each split's first map, for certain
        path = first_label(root / 'ade', split)
        ids = np.array(Image.open(path))
        ids[:4, :4] = 5
        Image.fromarray(ids).save(path)
    return root / 'ade'


def config(tmp_path, zero: bool):
    path = tmp_path / f'fpn_zero_{zero}.py'
    path.write_text(CONFIG.format(root=ROOT, zero=zero, load=LOAD.format(zero=zero)))
    return path


def first_label(ade, split='training'):
    return sorted((ade / 'annotations' / split).glob('*.png'))[0]


def checkpoint_of(tmp_path, cfg):
    from mmpoolformer.apis import init_model
    model, _ = init_model(str(cfg), fast={})
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_ade20k_style_ids_without_reduce_zero_label_are_named_before_training_and_testing(ade, tmp_path):
    cfg = config(tmp_path, zero=False)
    fix = ('if 0 means "other" (ADE20K-style labels), set reduce_zero_label=True in the dataset (ids 1..5 become '
           '0..4); else set num_classes to the number of classes (at least 6)')
    assert int(np.array(Image.open(first_label(ade))).max()) == 5  # the demo's ids: 0 unused, 1 background, 2-5
    proc = run_tool_here('tools/train.py', cfg, '--data-root', ade, '--work-dir', tmp_path / 'w', check=False)
    assert error_line(proc) == (f'error: train label map {first_label(ade)} holds class id 5, beyond num_classes=5 '
                                f'(ids 0..4, 255 ignored); {fix}')
    assert 'Iter(train)' not in proc.stdout + proc.stderr
    proc = run_tool_here('tools/test.py', cfg, checkpoint_of(tmp_path, cfg), '--data-root', ade, '--work-dir',
                         tmp_path / 't', check=False)
    assert error_line(proc) == (f'error: test label map {first_label(ade, "validation")} holds class id 5, beyond '
                                f'num_classes=5 (ids 0..4, 255 ignored); {fix}')


def test_colour_label_maps_are_named_and_the_demo_labels_pass(ade, tmp_path):
    coloured = tmp_path / 'ade'
    shutil.copytree(ade, coloured)
    for path in (coloured / 'annotations').rglob('*.png'):
        ids = np.array(Image.open(path))
        Image.fromarray(np.stack([ids * 40] * 3, axis=-1).astype(np.uint8)).save(path)
    cfg = config(tmp_path, zero=True)
    proc = run_tool_here('tools/train.py', cfg, '--data-root', coloured, '--work-dir', tmp_path / 'w', check=False)
    assert error_line(proc) == (f'error: train label map {first_label(coloured)} has 3 channels (64x64x3): a label '
                                f'map holds one class id per pixel, not colours; convert its colours to class ids '
                                f"with the dataset's palette")
    proc = run_tool_here('tools/train.py', cfg, '--data-root', ade, '--work-dir', tmp_path / 'ok')
    assert proc.returncode == 0 and 'Iter(train) [1/1]' in proc.stdout + proc.stderr
