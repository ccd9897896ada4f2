"""Tiny random models, demo images and files for the web demo's tests (server functions and browser)."""
import mmcv
import numpy as np
import torch

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, randomise

TINY_ARCH = "dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32], layer_scale_init_value=0.5)"
TEMPLATES = {
    'retinanet': """_base_ = ['{root}/configs/quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch={arch}), neck=dict(in_channels=[16, 24, 32], out_channels=16),
             bbox_head=dict(in_channels=16, feat_channels=16, stacked_convs=1, norm_cfg=dict(num_groups=4)))
""",
    'fpn': """_base_ = ['{root}/configs/quickstart/fpn_poolformer_s12_demo.py']
demo_data = None
model = dict(backbone=dict(arch={arch}), neck=dict(in_channels=[8, 16, 24, 32], out_channels=16),
             decode_head=dict(in_channels=[16, 16, 16, 16], channels=16))
test_dataloader = dict(dataset=dict(data_root='{data}/ade'))
""",
    'cls': """_base_ = ['{root}/configs/quickstart/poolformer_s12_cls_demo.py']
demo_data = None
model = dict(backbone=dict(arch={arch}), head=dict(in_channels=32))
""",
}


def make_data(root) -> str:
    """The demo scenes (COCO and ADE20K layouts, 6 validation images of 96 px) under ``root``."""
    make_demo_data(str(root), seed=4, num_train=1, num_val=6, size=96)
    return str(root)


def tiny_model_files(folder, data: str, kind: str):
    """``(config, checkpoint)`` of a randomised tiny ``kind`` model (retinanet, fpn, cls) with the demo classes in
    the checkpoint's meta; a RetinaNet's classifier bias is 0 so that many boxes score above 0.3."""
    from mmpoolformer.apis import init_model
    config = folder / f'tiny_{kind}.py'
    config.write_text(TEMPLATES[kind].format(root=ROOT, data=data, arch=TINY_ARCH))
    model, _ = init_model(str(config), fast={})
    randomise(model)
    if kind == 'retinanet':
        with torch.no_grad():
            model.bbox_head.retina_cls.bias.zero_()
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    if kind == 'cls':
        meta = dict(classes=('circle', 'cross', 'square', 'triangle'))
    checkpoint = folder / f'tiny_{kind}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)), checkpoint)
    return str(config), str(checkpoint)


def write_image(path, shape=(40, 50), seed=0) -> str:
    """A smooth random BGR image of ``shape`` (h, w), written with mmcv (format from the suffix)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    mmcv.imwrite(mmcv.imresize(small, (shape[1], shape[0]), interpolation='bilinear'), str(path))
    return str(path)


def demo_rows(stdout: str):
    """The ``found: CLASS | SCORE | WHERE`` lines ``tools/demo.py`` prints, as tuples."""
    return [tuple(line[len('found: '):].split(' | ')) for line in stdout.splitlines() if line.startswith('found: ')]
