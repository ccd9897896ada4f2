"""tools/train.py and tools/test.py end to end on tiny data: detection, segmentation and classification, resumed and
distributed runs aside (test_engine)."""
import glob
import os
import re

import mmcv
import mmengine
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from mmpoolformer import PoolFormer
from mmpoolformer.checkpoint import load_backbone_weights
from mmpoolformer.demo_data import make_demo_data
from tests.helpers import (
    ROOT,
    coco_map_of_dump,
    config_in_repo,
    miou_of_label_maps,
    printed_metrics,
    run_tool_here,
    tiny_config,
    top1_of_dump,
)


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
def test_detection_train_then_test_end_to_end(kind, tiny_coco, tmp_path):
    config, scale_opts = tiny_config(tmp_path, kind)
    work = tmp_path / 'work'
    run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', tiny_coco, '--cfg-options', *scale_opts)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file() and (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    test_args = ['--work-dir', work, '--data-root', tiny_coco, '--cfg-options', *scale_opts]
    results = tmp_path / 'results.pkl'
    metrics = printed_metrics(run_tool_here('tools/test.py', config, ckpt, *test_args[:2], '--out', results,
                                       *test_args[2:]).stdout)
    dumped = mmengine.load(str(results))
    assert len(dumped) == 4 and all(r['pred_instances']['bboxes'].shape[1] == 4 for r in dumped)
    # the printed mAP is pycocotools' own score of the dumped predictions (rounded to 3 decimals as mmdet prints)
    ann_file = str(tiny_coco / 'annotations' / 'instances_val2017.json')
    assert metrics['coco/bbox_mAP'] == round(coco_map_of_dump(dumped, ann_file), 3)
    if kind == 'mask_rcnn':
        assert metrics['coco/segm_mAP'] == round(coco_map_of_dump(dumped, ann_file, 'segm'), 3)
    # The same weights in the official mmdet 2.19 layout evaluate directly, to the same numbers.
    trained = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    official = tmp_path / 'official_layout.pth'
    torch.save(dict(meta=dict(mmdet_version='2.19.0'), state_dict=to_official_layout(trained)), official)
    assert printed_metrics(run_tool_here('tools/test.py', config, official, *test_args).stdout) == metrics


def test_segmentation_train_then_test_end_to_end(tmp_path):
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
    run_tool_here('tools/train.py', config, '--work-dir', work, *opts)
    ckpt = work / 'iter_4.pth'
    assert ckpt.is_file()
    maps = tmp_path / 'maps'
    metrics = printed_metrics(run_tool_here('tools/test.py', config, ckpt, '--work-dir', work, '--out', maps,
                                       *opts).stdout)
    assert len(list(maps.glob('*.png'))) == 3  # one predicted label map per validation image
    assert {'mIoU', 'mAcc', 'aAcc'} <= set(metrics)
    # the printed mIoU is the one recomputed from the written label maps and the annotation maps (over the config's
    # 150 ADE20K classes: a barely trained model predicts classes the demo set does not have)
    ann_dir = tmp_path / 'data' / 'ade' / 'annotations' / 'validation'
    ours = round(miou_of_label_maps(maps, ann_dir, num_classes=150), 2)
    assert metrics['mIoU'] == pytest.approx(ours, abs=1e-5)  # mmseg rounds in float32


def write_imagenet_layout(root: str, labels: dict) -> None:
    """A tiny ImageNet-layout set: val/ images and meta/val.txt (``name label`` lines), same for train/."""
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        os.makedirs(os.path.join(root, split), exist_ok=True)
        os.makedirs(os.path.join(root, 'meta'), exist_ok=True)
        lines = []
        for name, label in labels.items():
            mmcv.imwrite(rng.integers(0, 256, (240, 260, 3), dtype=np.uint8), os.path.join(root, split, name))
            lines.append(f'{name} {label}')
        with open(os.path.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')


def reference_predictions(ref, cfg, root: str, names) -> list:
    """The reference classifier's top-1 on each val image through the config's own test pipeline."""
    import mmpretrain.datasets  # noqa: F401
    from mmengine.dataset import Compose
    from mmpretrain.models import ClsDataPreprocessor
    preprocess = ClsDataPreprocessor(**{k: v for k, v in cfg.data_preprocessor.items() if k != 'type'})
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
        inputs = [pipeline(dict(img_path=os.path.join(root, 'val', n)))['inputs'] for n in names]
    with torch.no_grad():
        return ref(preprocess(dict(inputs=inputs), False)['inputs'], mode='tensor').argmax(1).tolist()


def test_tools_train_and_test_a_classification_config(reference, tmp_path):
    """tools/test.py with an official ImageNet file prints the accuracy the reference classifier scores on the same
    images (labels made so that exactly half its predictions are right); tools/train.py trains the config."""
    ref, official, _ = reference
    names = [f'img_{i}.png' for i in range(4)]
    root = str(tmp_path / 'imagenet')
    write_imagenet_layout(root, {n: 0 for n in names})
    config = 'configs/classification/poolformer_s12_in1k.py'
    predictions = reference_predictions(ref, config_in_repo(config), root, names)
    labels = [p if i % 2 == 0 else (p + 1) % 1000 for i, p in enumerate(predictions)]
    write_imagenet_layout(root, dict(zip(names, labels)))
    checkpoint = str(tmp_path / 'poolformer_s12.pth.tar')
    torch.save(official, checkpoint)
    loaders = [f'{split}_dataloader.num_workers=0' for split in ('train', 'val', 'test')]
    out, show_dir = tmp_path / 'results.pkl', tmp_path / 'vis'
    proc = run_tool_here('tools/test.py', config, checkpoint, '--data-root', root, '--work-dir', tmp_path / 'test',
                    '--out', out, '--show-dir', show_dir, '--cfg-options', 'test_dataloader.batch_size=2', *loaders)
    metrics = printed_metrics(proc.stdout)
    assert metrics['accuracy/top1'] == 50.0, proc.stdout[-2000:]
    results = mmengine.load(str(out))
    assert [int(r['pred_label'][0]) for r in results] == predictions
    assert len(os.listdir(show_dir)) == len(names)
    # the two documented ways to train on fewer GPUs (alternatives; both set here to see that the keys take)
    run_tool_here('tools/train.py', config, '--data-root', root, '--work-dir', tmp_path / 'train', '--cfg-options',
             'train_cfg.max_epochs=2', 'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
             'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2', 'optim_wrapper.accumulative_counts=2',
             'auto_scale_lr.enable=True', *loaders)
    log = open(glob.glob(str(tmp_path / 'train' / '*' / '*.log'))[0]).read()
    assert 'LR is set based on batch size of 1024 and the current batch size is 2' in log
    trained = str(tmp_path / 'train' / 'epoch_2.pth')
    detection_backbone = PoolFormer(arch='s12', out_indices=(1, 2, 3))  # the documented ablation protocol
    report = load_backbone_weights(detection_backbone, trained)  # a training checkpoint opens safely
    assert report['layout'] == 'mmpoolformer' and report['fresh'] == ['out_norms.1.bias', 'out_norms.1.weight',
                                                                      'out_norms.2.bias', 'out_norms.2.weight']
    out = tmp_path / 'trained.pkl'
    proc = run_tool_here('tools/test.py', config, trained, '--data-root', root, '--work-dir', tmp_path / 'test2',
                         '--out', out, '--cfg-options', *loaders)
    assert printed_metrics(proc.stdout)['accuracy/top1'] == top1_of_dump(mmengine.load(str(out)))
