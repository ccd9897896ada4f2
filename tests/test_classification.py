"""ImageNet classification through MMPretrain: every classification config trains a step; official, timm and
mmpretrain ImageNet files load into the whole classifier (backbone, final norm, linear head) and give the logits of
MMPretrain's own PoolFormer classifier (the official model's structure); tools/train.py and tools/test.py serve the
configs and print the accuracy."""
import glob
import os

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mmpoolformer import PoolFormer
from mmpoolformer.checkpoint import load_backbone_weights
from mmpoolformer.engine.runner import to_model_layout
from tests import reference_weights as rw
from tests.helpers import ROOT, build_model, config_in_repo, printed_metrics, run_tool

CONFIGS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs/classification/*.py')))
FIXED_GRID = ('pppf', 'ppff')  # spatial FC over the 224 px token grid


def classifier_with_preprocessor(path: str):
    cfg = config_in_repo(path)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    return build_model(cfg)


@pytest.mark.parametrize('path', CONFIGS)
def test_every_classification_config_takes_a_training_step(path):
    from mmpretrain.structures import DataSample
    model = classifier_with_preprocessor(path).train()
    size = 224 if any(v in path for v in FIXED_GRID) else 64
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


def mmpretrain_reference():
    """MMPretrain's own PoolFormer-S12 ImageNet classifier (its PoolFormer backbone: final GroupNorm on the last
    stage, then GAP and LinearClsHead) with perturbed random weights."""
    import mmpretrain.models  # noqa: F401
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ref = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='PoolFormer', arch='s12'),
                                neck=dict(type='GlobalAveragePooling'),
                                head=dict(type='LinearClsHead', num_classes=1000, in_channels=512)))
    ref.backbone.load_state_dict(rw.randomised_reference('s12').state_dict(), strict=False)
    torch.manual_seed(1)
    with torch.no_grad():
        ref.backbone.norm6.weight.uniform_(0.5, 1.5)
        ref.backbone.norm6.bias.normal_()
        ref.head.fc.weight.normal_(0, 0.05)
        ref.head.fc.bias.normal_()
    return ref.eval()


def official_imagenet_state(ref) -> dict:
    """The official poolformer_s12.pth.tar layout: network.*, classifier norm.* and head.*."""
    state = {}
    for key, value in ref.state_dict().items():
        key = key.replace('backbone.norm6.', 'norm.').replace('head.fc.', 'head.').replace('backbone.', '')
        state[key] = value.clone()
    return state


def timm_state(official: dict):
    """timm's poolformer_s12 loaded (strictly) with the official tensors through timm's own filter."""
    import timm
    from timm.models.metaformer import checkpoint_filter_fn
    model = timm.create_model('poolformer_s12', pretrained=False)
    model.load_state_dict(checkpoint_filter_fn(dict(official), model))
    return model.eval()


@pytest.fixture(scope='module')
def reference():
    ref = mmpretrain_reference()
    official = official_imagenet_state(ref)
    return ref, official, timm_state(official)


@pytest.fixture(scope='module')
def image():
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('layout', ['official', 'timm', 'mmpretrain'])
def test_imagenet_file_loads_into_whole_classifier(layout, reference, image):
    ref, official, timm_model = reference
    file_state = {'official': official, 'timm': timm_model.state_dict(),
                  'mmpretrain': {k: v.clone() for k, v in ref.state_dict().items()}}[layout]
    model = build_model(config_in_repo('configs/classification/poolformer_s12_in1k.py')).eval()
    state = to_model_layout(dict(state_dict=file_state))['state_dict']
    model.load_state_dict(state, strict=True)  # backbone, final norm (out_norms.3) and head.fc, nothing else
    with torch.no_grad():
        ours, theirs = model(image, mode='tensor'), ref(image, mode='tensor')
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_timm_poolformer_differs_only_in_its_head_order(reference, image):
    """timm's poolformer_s12 computes the same last-stage features, but its head pools first and then normalises
    the pooled vector (LayerNorm, eps 1e-6) where the official model normalises the map (GroupNorm) and then pools:
    with the same tensors (ours loaded from timm's file) timm's head order gives timm's logits, the official order
    different ones."""
    _, _, timm_model = reference
    model = build_model(config_in_repo('configs/classification/poolformer_s12_in1k.py')).eval()
    model.load_state_dict(to_model_layout(dict(state_dict=timm_model.state_dict()))['state_dict'], strict=True)
    norm, fc = model.backbone.out_norms['3'], model.head.fc
    with torch.no_grad():
        features = model.backbone.stem(image)
        for stage in model.backbone.stages:
            features = stage(features)
        assert (features - timm_model.forward_features(image)).abs().max().item() <= 1e-5
        timm_order = fc(F.layer_norm(features.mean((-2, -1)), (512,), norm.weight, norm.bias, 1e-6))
        timm_logits = timm_model(image)
        assert (timm_order - timm_logits).abs().max().item() <= 1e-5
        assert (model(image, mode='tensor') - timm_logits).abs().max().item() > 1e-3


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
    proc = run_tool('tools/test.py', config, checkpoint, '--data-root', root, '--work-dir', tmp_path / 'test',
                    '--out', out, '--show-dir', show_dir, '--cfg-options', 'test_dataloader.batch_size=2', *loaders)
    metrics = printed_metrics(proc.stdout)
    assert metrics['accuracy/top1'] == 50.0, proc.stdout[-2000:]
    import pickle
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert [int(r['pred_label'][0]) for r in results] == predictions
    assert len(os.listdir(show_dir)) == len(names)
    # the two documented ways to train on fewer GPUs (alternatives; both set here to see that the keys take)
    run_tool('tools/train.py', config, '--data-root', root, '--work-dir', tmp_path / 'train', '--cfg-options',
             'train_cfg.max_epochs=2', 'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
             'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2', 'optim_wrapper.accumulative_counts=2',
             'auto_scale_lr.enable=True', *loaders)
    log = open(glob.glob(str(tmp_path / 'train' / '*' / '*.log'))[0]).read()
    assert 'LR is set based on batch size of 1024 and the current batch size is 2' in log
    trained = str(tmp_path / 'train' / 'epoch_2.pth')
    detection_backbone = PoolFormer(arch='s12', out_indices=(1, 2, 3))  # the documented ablation protocol
    report = load_backbone_weights(detection_backbone, trained, trusted=True)
    assert report['layout'] == 'mmpoolformer' and report['fresh'] == ['out_norms.1.bias', 'out_norms.1.weight',
                                                                      'out_norms.2.bias', 'out_norms.2.weight']
    proc = run_tool('tools/test.py', config, trained, '--data-root', root, '--work-dir', tmp_path / 'test2',
                    '--cfg-options', *loaders)
    assert 0 <= printed_metrics(proc.stdout)['accuracy/top1'] <= 100


def test_demo_shapes_set_is_deterministic_and_in_folder_format(tmp_path):
    from mmpoolformer.demo_data import CLASSES, demo_data_complete, make_demo_data
    args = dict(kind='shapes', seed=3, num_train=20, num_val=6, size=32)
    for name in ('a', 'b'):
        assert not demo_data_complete(str(tmp_path / name), **args)
        make_demo_data(str(tmp_path / name), **args)
        assert demo_data_complete(str(tmp_path / name), **args)
    make_demo_data(str(tmp_path / 'c'), **dict(args, seed=4))
    assert not demo_data_complete(str(tmp_path / 'a'), **dict(args, size=48))
    files = {name: sorted(os.path.relpath(p, tmp_path / name) for p in glob.glob(str(tmp_path / name / '*/*/*.png')))
             for name in 'abc'}
    assert files['a'] == files['b'] and len(files['a']) == 26
    assert {p.split('/')[1] for p in files['a']} <= set(CLASSES)
    assert sum(p.startswith('val/') for p in files['a']) == 6
    read = [open(tmp_path / 'a' / p, 'rb').read() == open(tmp_path / 'b' / p, 'rb').read() for p in files['a']]
    assert all(read)
    assert mmcv.imread(str(tmp_path / 'a' / files['a'][0])).shape == (32, 32, 3)
    with pytest.raises(ValueError, match=r"^demo_data kind='boxes' is unknown; use 'scenes' \(detection and "
                                         r"segmentation\) or 'shapes' \(classification\)$"):
        make_demo_data(str(tmp_path / 'd'), kind='boxes')


def test_classification_quickstart_shortened(tmp_path):
    """The quickstart config writes its data on first use, trains, tests, prints accuracy and draws (shortened:
    a few iterations on a small set; the accuracy is not asserted)."""
    config = 'configs/quickstart/poolformer_s12_cls_demo.py'
    root, work = tmp_path / 'shapes', tmp_path / 'work'
    options = ['--data-root', root, '--work-dir', work, '--cfg-options', 'demo_data.num_train=64',
               'demo_data.num_val=10']
    proc = run_tool('tools/train.py', config, *options, 'train_cfg.max_epochs=1')
    assert 'writing the demo data set' in proc.stdout + proc.stderr
    assert len(glob.glob(str(root / 'val' / '*' / '*.png'))) == 10
    proc = run_tool('tools/test.py', config, work / 'epoch_1.pth', *options[:4], '--show-dir', tmp_path / 'vis',
                    *options[4:])
    assert 0 <= printed_metrics(proc.stdout)['accuracy/top1'] <= 100
    drawn = sorted(os.listdir(tmp_path / 'vis'))
    assert len(drawn) == 10
    assert min(mmcv.imread(str(tmp_path / 'vis' / drawn[0])).shape[:2]) == 512  # 48 px crops drawn readable
