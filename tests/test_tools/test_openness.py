"""What this toolbox trains opens in every OpenMMLab entry point: torch's safe loader, MMEngine's load_checkpoint,
MMDetection's / MMSegmentation's / MMPretrain's Python APIs and their own tools/test.py and tools/train.py --resume
(from the installed packages' ``.mim/tools``), which run the same runtime because the configs declare it."""
import ast
import hashlib
import os
import re
import shutil

import mmcv
import pytest
import torch
from mmengine.config import Config

from mmpoolformer.demo_data import make_demo_data
from mmpoolformer.engine.config_loading import set_data_root
from tests.helpers import ROOT, printed_metrics, run_tool, run_tool_here, upstream_tool, write_config
from tests.test_tools.test_train_test import write_imagenet_layout


def baked_config(config, data_root, out, options=()) -> str:
    """``config`` with its data root (and ``KEY=VALUE`` options) written in, as a user hands a config to the
    upstream tools, which have no --data-root."""
    cfg = Config.fromfile(str(config))
    set_data_root(cfg, str(data_root))
    cfg.merge_from_dict({key: ast.literal_eval(value) for key, value in (o.split('=', 1) for o in options)})
    cfg.dump(str(out))
    return str(out)


def logged_metrics(output: str, names) -> dict:
    """The metrics an MMEngine test loop logs (``name: 0.1234`` on its last ``(test)`` line)."""
    line = [line for line in output.splitlines() if '(test)' in line and names[0] + ':' in line][-1]
    return {name: float(re.search(rf'(?<![\w/]){re.escape(name)}: (-?[\d.]+)', line).group(1)) for name in names}


def assert_same_training_state(expected: dict, got: dict) -> None:
    """Weights, optimizer, schedulers, random generators and logged loss history equal to the last bit."""
    assert expected['state_dict'].keys() == got['state_dict'].keys()
    assert all(torch.equal(expected['state_dict'][k], got['state_dict'][k]) for k in expected['state_dict'])
    assert expected['param_schedulers'] == got['param_schedulers']
    a, b = expected['optimizer']['state'], got['optimizer']['state']
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k][n], b[k][n]) for k in a for n in a[k])
    assert expected['meta']['epoch'] == got['meta']['epoch'] and expected['meta']['iter'] == got['meta']['iter']
    for generator in ('python', 'numpy', 'torch'):
        assert repr(expected['random_state'][generator]) == repr(got['random_state'][generator]), generator
    hub_a, hub_b = expected['message_hub'], got['message_hub']
    assert hub_a['runtime_info']['keep_ckpt_ids'] == hub_b['runtime_info']['keep_ckpt_ids']
    loss_a, loss_b = repr(hub_a['log_scalars']['train/loss']), repr(hub_b['log_scalars']['train/loss'])
    assert loss_a == loss_b and 'train/loss' in hub_a['log_scalars']


def resume_in_fresh_dir(whole, first: str, work) -> None:
    """A work dir holding only ``whole``'s first checkpoint and a ``last_checkpoint`` naming it."""
    os.makedirs(work)
    shutil.copy(whole / first, work / first)
    (work / 'last_checkpoint').write_text(str(work / first))


# ---------------------------------------------------------------------------------------------------- detection


@pytest.fixture(scope='module')
def detector_run(data, tmp_path_factory):
    """A tiny RetinaNet trained 2 epochs by this toolbox's tools/train.py: (config with the data root, work dir)."""
    tmp = tmp_path_factory.mktemp('open_det')
    config = baked_config(write_config(tmp, epochs=2), data, tmp / 'retinanet.py')
    work = tmp / 'whole'
    run_tool_here('tools/train.py', config, '--work-dir', work)
    return config, work


def val_image(data) -> str:
    return sorted(str(p) for p in (data / 'val2017').iterdir())[0]


def test_detection_checkpoints_open_in_torch_mmengine_and_mmdet_apis(detector_run, data):
    from mmdet.apis import DetInferencer, inference_detector, init_detector
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    config, work = detector_run
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        checkpoint = torch.load(work / name, map_location='cpu', weights_only=True)  # no trust flag, no allow-list
        assert {'state_dict', 'optimizer', 'param_schedulers', 'message_hub', 'meta', 'random_state'} <= set(
            checkpoint)
    ckpt = str(work / 'epoch_2.pth')
    model = init_detector(config, ckpt, device='cpu')
    assert model.dataset_meta['classes'] == ('circle', 'square', 'triangle', 'cross')
    state = checkpoint['state_dict']
    assert all(torch.equal(value, state[key]) for key, value in model.state_dict().items())
    direct = inference_detector(model, val_image(data)).pred_instances
    inferred = DetInferencer(model=config, weights=ckpt, device='cpu')(
        val_image(data), return_datasamples=True)['predictions'][0].pred_instances
    assert len(direct) > 0 and len(direct) == len(inferred)
    for field in ('bboxes', 'scores', 'labels'):
        torch.testing.assert_close(direct[field], inferred[field], rtol=0, atol=1e-5)
    with DefaultScope.overwrite_default_scope('mmdet'):
        built = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(built, ckpt, map_location='cpu')
    assert all(torch.equal(value, state[key]) for key, value in built.state_dict().items())


DET_METRICS = ['coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75', 'coco/bbox_mAP_s', 'coco/bbox_mAP_m',
               'coco/bbox_mAP_l']


def test_upstream_mmdet_test_gives_our_metrics_and_an_empty_prediction_scores_zero(detector_run, tmp_path):
    config, work = detector_run
    ckpt = work / 'epoch_2.pth'
    ours = printed_metrics(run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'ours').stdout)
    proc = run_tool(upstream_tool('mmdet', 'test'), config, ckpt, '--work-dir', tmp_path / 'theirs')
    assert logged_metrics(proc.stdout + proc.stderr, DET_METRICS) == {name: ours[name] for name in DET_METRICS}
    # no box above the score threshold: scored as COCO defines it (0.000; -1 where no ground truth falls in an area
    # range, as for the trained model), with a warning, exit 0 in both tools
    zero = {name: -1.0 if ours[name] == -1.0 else 0.0 for name in DET_METRICS}
    assert list(zero.values()).count(0.0) >= 3
    empty = ['--cfg-options', 'model.test_cfg.score_thr=1.0']
    warning = 'the model predicted nothing on the test set (no box above its test_cfg score_thr): scored as an ' \
              'empty prediction set (mAP 0.000)'
    proc = run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'ours_empty', *empty)
    assert warning in proc.stdout + proc.stderr
    assert {name: printed_metrics(proc.stdout)[name] for name in DET_METRICS} == zero
    proc = run_tool(upstream_tool('mmdet', 'test'), config, ckpt, '--work-dir', tmp_path / 'theirs_empty', *empty)
    assert warning in proc.stdout + proc.stderr
    assert logged_metrics(proc.stdout + proc.stderr, DET_METRICS) == zero


@pytest.mark.parametrize('tool', ['upstream', 'ours'])
def test_detection_resumed_by_either_train_tool_ends_as_the_uninterrupted_run(detector_run, tmp_path, tool):
    config, whole = detector_run
    work = tmp_path / 'resumed'
    resume_in_fresh_dir(whole, 'epoch_1.pth', work)
    train = upstream_tool('mmdet', 'train') if tool == 'upstream' else 'tools/train.py'
    proc = run_tool_here(train, config, '--work-dir', work, '--resume')
    assert 'resumed epoch: 1, iter: 2' in proc.stdout + proc.stderr
    assert 'random generators set back to their state in the resumed checkpoint' in proc.stdout + proc.stderr
    expected = torch.load(whole / 'epoch_2.pth', map_location='cpu', weights_only=True)
    got = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert_same_training_state(expected, got)
    assert got['message_hub']['runtime_info']['keep_ckpt_ids'] == [1, 2]


def test_published_checkpoint_holds_weights_and_meta_named_by_its_hash(detector_run, data, tmp_path):
    from mmdet.apis import inference_detector, init_detector
    config, work = detector_run
    proc = run_tool_here('tools/publish_model.py', work / 'epoch_2.pth', tmp_path / 'retinanet_demo.pth')
    published = [p for p in tmp_path.iterdir()]
    assert len(published) == 1, published  # no staging file left behind
    match = re.fullmatch(r'retinanet_demo-([0-9a-f]{8})\.pth', published[0].name)
    assert match and hashlib.sha256(published[0].read_bytes()).hexdigest().startswith(match.group(1))
    tensors = len(torch.load(work / 'epoch_2.pth', weights_only=True)['state_dict'])
    assert proc.stdout.strip() == (f'wrote {published[0]}: {tensors} tensors and meta; dropped message_hub, '
                                   f'optimizer, param_schedulers, random_state')
    content = torch.load(published[0], map_location='cpu', weights_only=True)
    assert set(content) == {'state_dict', 'meta'} and content['meta']['epoch'] == 2
    a = inference_detector(init_detector(config, str(published[0]), device='cpu'), val_image(data))
    b = inference_detector(init_detector(config, str(work / 'epoch_2.pth'), device='cpu'), val_image(data))
    assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)


# ------------------------------------------------------------------------------------------------- segmentation


SEG_CONFIG = """_base_ = ['{root}/configs/fpn_poolformer_s12_ade20k_40k.py']
model = dict(backbone=dict(init_cfg=None), data_preprocessor=dict(size=(128, 128)))
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=3))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
randomness = dict(seed=0)  # the sampler is built before --resume restores a seed, so the seed must be fixed
"""
SEG_SCALES = ['train_dataloader.dataset.pipeline.2.scale=(256,128)',
              'train_dataloader.dataset.pipeline.3.crop_size=(128,128)',
              'val_dataloader.dataset.pipeline.1.scale=(256,128)',
              'test_dataloader.dataset.pipeline.1.scale=(256,128)',
              'test_pipeline.1.scale=(256,128)']  # what mmseg.apis.inference_model reads


@pytest.fixture(scope='module')
def segmentor_run(tmp_path_factory):
    """A tiny Semantic FPN trained 4 iterations (checkpoints at 2 and 4) by this toolbox's tools/train.py."""
    tmp = tmp_path_factory.mktemp('open_seg')
    make_demo_data(str(tmp / 'data'), seed=2, num_train=4, num_val=3, size=128)
    (tmp / 'fpn.py').write_text(SEG_CONFIG.format(root=ROOT))
    config = baked_config(tmp / 'fpn.py', tmp / 'data' / 'ade', tmp / 'fpn_baked.py', SEG_SCALES)
    work = tmp / 'whole'
    run_tool_here('tools/train.py', config, '--work-dir', work)
    return config, work, tmp / 'data' / 'ade'


def test_segmentation_checkpoint_opens_in_mmseg_apis_and_upstream_test(segmentor_run, tmp_path):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    config, work, data = segmentor_run
    ckpt = str(work / 'iter_4.pth')
    torch.load(ckpt, map_location='cpu', weights_only=True)
    image = sorted(str(p) for p in (data / 'images' / 'validation').iterdir())[0]
    direct = inference_model(init_model(config, ckpt, device='cpu'), image).pred_sem_seg.data
    inferred = MMSegInferencer(model=config, weights=ckpt, device='cpu')(
        image, return_datasamples=True).pred_sem_seg.data
    assert direct.shape[-2:] == mmcv.imread(image).shape[:2] and torch.equal(direct, inferred)
    names = ['aAcc', 'mIoU', 'mAcc']
    ours = printed_metrics(run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'ours').stdout)
    proc = run_tool(upstream_tool('mmseg', 'test'), config, ckpt, '--work-dir', tmp_path / 'theirs')
    theirs = logged_metrics(proc.stdout + proc.stderr, names)
    assert theirs == {name: pytest.approx(ours[name], abs=1e-6) for name in names}


def test_segmentation_resumed_by_upstream_train_ends_as_the_uninterrupted_run(segmentor_run, tmp_path):
    config, whole, _ = segmentor_run
    work = tmp_path / 'resumed'
    resume_in_fresh_dir(whole, 'iter_2.pth', work)
    proc = run_tool(upstream_tool('mmseg', 'train'), config, '--work-dir', work, '--resume')
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr
    expected = torch.load(whole / 'iter_4.pth', map_location='cpu', weights_only=True)
    got = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=True)
    assert_same_training_state(expected, got)
    assert got['message_hub']['runtime_info']['keep_ckpt_ids'] == [2, 4]


# ----------------------------------------------------------------------------------------------- classification


def test_classification_checkpoint_opens_in_mmpretrain_apis_and_upstream_test(tmp_path):
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain import ImageClassificationInferencer, get_model
    root = tmp_path / 'imagenet'
    names = [f'img_{i}.png' for i in range(4)]
    write_imagenet_layout(str(root), {n: i % 2 for i, n in enumerate(names)})
    options = [f'{split}_dataloader.num_workers=0' for split in ('train', 'val', 'test')] + [
        'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
        'train_cfg.max_epochs=2', 'param_scheduler.0.end=1', 'param_scheduler.1.begin=1']
    config = baked_config(f'{ROOT}/configs/classification/poolformer_s12_in1k.py', root, tmp_path / 'cls.py',
                          options)
    work = tmp_path / 'work'
    run_tool_here('tools/train.py', config, '--work-dir', work)
    ckpt = str(work / 'epoch_2.pth')
    torch.load(ckpt, map_location='cpu', weights_only=True)
    image = str(root / 'val' / names[0])
    model = get_model(config, pretrained=ckpt, device='cpu')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        packed = Compose(Config.fromfile(config).test_dataloader.dataset.pipeline)(dict(img_path=image))
    with torch.no_grad():
        direct = model.test_step(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]))[0]
    # the inferencer builds its pipeline in the current default scope: in this process the earlier tests' (mmseg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        inferred = ImageClassificationInferencer(model=config, pretrained=ckpt, device='cpu')(
            image, return_datasamples=True)[0]
    torch.testing.assert_close(direct.pred_score, inferred.pred_score, rtol=0, atol=1e-6)
    assert direct.pred_score.shape == (1000,)
    ours = printed_metrics(run_tool_here('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'ours').stdout)
    proc = run_tool(upstream_tool('mmpretrain', 'test'), config, ckpt, '--work-dir', tmp_path / 'theirs')
    names = ['accuracy/top1', 'accuracy/top5']
    assert logged_metrics(proc.stdout + proc.stderr, names) == {name: ours[name] for name in names}


# ------------------------------------------------------------------------------- the README's own-detector recipe


def readme_recipe() -> str:
    """The config of the README's "Use PoolFormer in your own detector" (MMEngine's runtime, not this toolbox's)."""
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        section = f.read().split('## Use PoolFormer in your own detector', 1)[1]
    return section.split('```python\n', 1)[1].split('```', 1)[0]


TINY_POOLFORMER = "type='mmpoolformer.PoolFormer', arch=dict(depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32])"
LOADERS = """train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False{dataset})
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False{dataset})
test_dataloader = val_dataloader
"""
# a user's config for each upstream scope, shrunk for CPU: the README's recipe for MMDetection, the same steps on an
# MMSegmentation and an MMPretrain base (MMEngine's runtime in all three: no base of this toolbox)
RECIPES = {
    'mmdet': dict(
        base='./recipe.py',
        config="""model = dict(backbone=dict(arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[8, 16, 24, 32]),
                           init_cfg=None),
             neck=dict(in_channels=[16, 24, 32], out_channels=32),
             bbox_head=dict(num_classes=4, in_channels=32, feat_channels=32, stacked_convs=1),
             test_cfg=dict(score_thr=0.0))
metainfo = dict(classes=('circle', 'square', 'triangle', 'cross'))
train_cfg = dict(max_epochs=1, val_interval=100)
""" + LOADERS.format(dataset=', dataset=dict(metainfo=metainfo)'),
        options=['train_dataloader.dataset.pipeline.2.scale=(96,96)', 'val_dataloader.dataset.pipeline.1.scale=(96,96)',
                 'test_dataloader.dataset.pipeline.1.scale=(96,96)'],
        checkpoint='epoch_1.pth', metrics=DET_METRICS),
    'mmseg': dict(
        base='mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py',
        config=f"""model = dict(data_preprocessor=dict(size=(64, 64)), pretrained=None,
             backbone=dict(_delete_=True, {TINY_POOLFORMER}, init_cfg=None),
             neck=dict(in_channels=[8, 16, 24, 32], out_channels=16),
             decode_head=dict(in_channels=[16, 16, 16, 16], channels=16))
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=2))
""" + LOADERS.format(dataset=''),
        options=['train_dataloader.dataset.pipeline.2.scale=(128,64)',
                 'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
                 'val_dataloader.dataset.pipeline.1.scale=(128,64)',
                 'test_dataloader.dataset.pipeline.1.scale=(128,64)'],
        checkpoint='iter_2.pth', metrics=['aAcc', 'mIoU', 'mAcc']),
    'mmpretrain': dict(
        base='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        config=f"""model = dict(backbone=dict(_delete_=True, {TINY_POOLFORMER}, out_indices=(3, ), init_cfg=None),
             head=dict(num_classes=2, in_channels=32, topk=(1, )))
val_evaluator = dict(topk=(1, ))
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=100)
data_root = 'data/imagenet'
""" + LOADERS.format(dataset=', dataset=dict(data_root=data_root)'),
        options=['train_dataloader.dataset.pipeline.1.scale=64', 'val_dataloader.dataset.pipeline.1.scale=72',
                 'val_dataloader.dataset.pipeline.2.crop_size=64', 'test_dataloader.dataset.pipeline.1.scale=72',
                 'test_dataloader.dataset.pipeline.2.crop_size=64'],
        checkpoint='epoch_1.pth', metrics=['accuracy/top1']),
}


def recipe_data(scope: str, data, tmp_path):
    """The data root of ``scope``'s recipe: the demo COCO set, a fresh demo ADE20K set, a tiny ImageNet layout."""
    if scope == 'mmdet':
        return data
    if scope == 'mmseg':
        make_demo_data(str(tmp_path / 'demo'), seed=2, num_train=2, num_val=2, size=64)
        return tmp_path / 'demo' / 'ade'
    write_imagenet_layout(str(tmp_path / 'imagenet'), {f'img_{i}.png': i % 2 for i in range(2)})
    return tmp_path / 'imagenet'


@pytest.mark.parametrize('scope', list(RECIPES))
def test_own_config_trained_by_the_upstream_train_opens_in_upstream_test_and_the_safe_loader(scope, data, tmp_path):
    """A config that imports mmpoolformer on an upstream base: MMEngine's own CheckpointHook writes the full-pickle
    format (HistoryBuffer, NumPy objects); importing mmpoolformer (the config's custom_imports) lets torch's safe
    loader, and so the upstream tools/test.py, open it."""
    recipe = RECIPES[scope]
    (tmp_path / 'recipe.py').write_text(readme_recipe())
    (tmp_path / 'own.py').write_text(
        f"_base_ = [{recipe['base']!r}]\ncustom_imports = dict(imports=['mmpoolformer'], allow_failed_imports=False)\n"
        f"default_hooks = dict(logger=dict(interval=1))\n{recipe['config']}")
    config = baked_config(tmp_path / 'own.py', recipe_data(scope, data, tmp_path), tmp_path / 'own_baked.py',
                          recipe['options'])
    work = tmp_path / 'work'
    run_tool_here(upstream_tool(scope, 'train'), config, '--work-dir', work)
    ckpt = work / recipe['checkpoint']
    probe = (f'import torch\ntry:\n    torch.load({str(ckpt)!r}, weights_only=True)\nexcept Exception as exc:\n'
             f'    print("refused", "Unsupported global" in str(exc))\nimport mmpoolformer\n'
             f'hub = torch.load({str(ckpt)!r}, weights_only=True)["message_hub"]\n'
             f'print(type(hub["log_scalars"]["train/loss"]).__name__)')
    assert run_tool('-c', probe).stdout.splitlines() == ['refused True', 'HistoryBuffer']
    proc = run_tool_here(upstream_tool(scope, 'test'), config, ckpt, '--work-dir', tmp_path / 'test')
    metrics = logged_metrics(proc.stdout + proc.stderr, recipe['metrics'])
    assert all(0.0 <= value <= 100.0 or value == -1.0 for value in metrics.values()), metrics
