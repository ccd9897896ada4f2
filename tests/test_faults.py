"""Hostile inputs and faults: CPU distributed training, kill-and-resume (also mid-checkpoint), one-line errors for
bad data / checkpoints / options, odd image sizes, NaN losses."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import ROOT, build_model, config_in_repo, printed_metrics, run_tool

TINY = """_base_ = ['{root}/configs/quickstart/retinanet_poolformer_s12_demo.py']
demo_data = None
{imports}
image_size = (96, 96)
train_cfg = dict(max_epochs={epochs}, val_interval=100)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=5))
model = dict(test_cfg=dict(score_thr=0.0))  # a barely trained model scores below 0.05; COCO metrics need predictions
{extra}
"""


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('faults')
    make_demo_data(str(root), seed=5, num_train=4, num_val=4, size=96)
    return root / 'coco'


def write_config(tmp_path, epochs=1, imports='', extra='', name='tiny.py'):
    path = tmp_path / name
    path.write_text(TINY.format(root=ROOT, epochs=epochs, imports=imports, extra=extra))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def checkpoints(work):
    return sorted(p.name for p in work.glob('*.pth'))


# ---------------------------------------------------------------- distributed on CPU

def test_two_process_cpu_training_and_distributed_test(data, tmp_path):
    config, work = write_config(tmp_path), tmp_path / 'work'
    env = dict(os.environ, PORT=str(free_port()), PYTHONWARNINGS='ignore')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work, '--data-root', data],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'distributed training on CPU with gloo, rank 0 of 2' in proc.stdout + proc.stderr
    assert checkpoints(work) == ['epoch_1.pth']
    meta = torch.load(work / 'epoch_1.pth', weights_only=False)['meta']
    assert (meta['epoch'], meta['iter']) == (1, 1)  # 4 images, 2 ranks x batch 2: one iteration per epoch
    env['PORT'] = str(free_port())
    dist = subprocess.run(['bash', 'tools/dist_test.sh', config, work / 'epoch_1.pth', '2', '--work-dir', work,
                           '--data-root', data], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert dist.returncode == 0, dist.stderr[-4000:]
    single = run_tool('tools/test.py', config, work / 'epoch_1.pth', '--work-dir', work, '--data-root', data)
    dist_metrics, single_metrics = printed_metrics(dist.stdout), printed_metrics(single.stdout)
    assert 'coco/bbox_mAP' in single_metrics and dist_metrics == single_metrics


# ---------------------------------------------------------------- kill and resume

def test_sigkill_during_training_then_resume(data, tmp_path):
    config, work = write_config(tmp_path, epochs=4), tmp_path / 'work'
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work, '--data-root', data]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work / 'epoch_1.pth').exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = checkpoints(work)
    assert 'epoch_1.pth' in done and 'epoch_4.pth' not in done
    last = max(int(n[6:-4]) for n in done)
    out = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data, '--resume')
    assert f'resumed epoch: {last}, iter: {2 * last}' in out.stdout + out.stderr  # 4 images, batch 2
    assert torch.load(work / 'epoch_4.pth', weights_only=False)['meta']['epoch'] == 4


CRASH_ON_SAVE = '''
import os, signal
import mmengine.runner.runner as runner_module

_save = runner_module.save_checkpoint


def save_half_then_die(checkpoint, filename, *args, **kwargs):
    """Write the first half of the epoch-2 checkpoint, then die as if killed mid-write."""
    if 'epoch_2' in filename and os.environ.get('CRASH_ON_SAVE'):
        _save(checkpoint, filename + '.full', *args, **kwargs)
        data = open(filename + '.full', 'rb').read()
        os.remove(filename + '.full')
        with open(filename, 'wb') as f:
            f.write(data[:len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return _save(checkpoint, filename, *args, **kwargs)


runner_module.save_checkpoint = save_half_then_die
'''


def test_kill_while_writing_a_checkpoint_never_leaves_a_usable_looking_file(data, tmp_path):
    (tmp_path / 'crash_on_save.py').write_text(CRASH_ON_SAVE)
    config = write_config(tmp_path, epochs=3, imports="custom_imports = dict(imports=['mmpoolformer', "
                                                      "'crash_on_save'])")
    work = tmp_path / 'work'
    env = dict(PYTHONPATH=str(tmp_path), CRASH_ON_SAVE='1')
    proc = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data, env=env, check=False)
    assert proc.returncode == -signal.SIGKILL
    assert checkpoints(work) == ['epoch_1.pth'] and (work / '.epoch_2.pth.partial').exists()
    assert (work / 'last_checkpoint').read_text().endswith('epoch_1.pth')
    env['CRASH_ON_SAVE'] = ''
    out = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data, '--resume', env=env)
    assert 'resumed epoch: 1, iter: 2' in out.stdout + out.stderr
    assert checkpoints(work) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert torch.load(work / 'epoch_3.pth', weights_only=False)['meta']['iter'] == 6


# ---------------------------------------------------------------- one-line errors

def one_line_error(proc):
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith('error: ') and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    return lines[-1]


@pytest.fixture()
def broken_data(data, tmp_path):
    root = tmp_path / 'coco'
    shutil.copytree(data, root)
    return root


def test_missing_data_root_and_annotation_file(broken_data, tmp_path):
    config = write_config(tmp_path)
    msg = one_line_error(run_tool('tools/train.py', config, '--data-root', tmp_path / 'nowhere', check=False))
    assert msg == (f'error: train data root {tmp_path}/nowhere/ does not exist; download the dataset there or pass '
                   f'--data-root /path/to/data (see README, "Data")')
    (broken_data / 'annotations' / 'instances_train2017.json').unlink()
    msg = one_line_error(run_tool('tools/train.py', config, '--data-root', broken_data, check=False))
    assert msg == (f'error: train annotation file {broken_data}/annotations/instances_train2017.json does not exist; '
                   f'check --data-root or the dataset layout described in the README')


SKIP_HINT = 'or skip unreadable images with --cfg-options skip_unreadable_images=True'


@pytest.mark.parametrize('damage,state', [('delete', 'missing'), ('garble', 'not a readable image'),
                                          ('empty', 'empty (0 bytes)')])
def test_missing_or_unreadable_image_in_the_first_batch(broken_data, tmp_path, damage, state):
    image = broken_data / 'train2017' / 'train_00003.jpg'
    image.unlink() if damage == 'delete' else image.write_bytes(b'not a jpeg' if damage == 'garble' else b'')
    config = write_config(tmp_path, extra='train_dataloader = dict(batch_size=4, num_workers=0)')  # one batch
    work = tmp_path / 'w'
    msg = one_line_error(run_tool('tools/train.py', config, '--work-dir', work, '--data-root', broken_data,
                                  check=False))
    assert msg == (f'error: image {image} listed in the dataset is {state}; training stopped before its first '
                   f'iteration, so there was nothing to save: restore the file or remove it from the annotation '
                   f'file; {SKIP_HINT}')
    assert checkpoints(work) == []


IN_ORDER = ("train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, "
            "sampler=dict(type='DefaultSampler', shuffle=False))")


def train_image(root, index):
    """The file of the ``index``-th training sample (the annotation file's order, which IN_ORDER keeps)."""
    images = json.loads((root / 'annotations' / 'instances_train2017.json').read_text())['images']
    return root / 'train2017' / images[index]['file_name']


def test_empty_image_in_training_saves_the_state_then_resume_finishes(broken_data, tmp_path):
    config, work = write_config(tmp_path, extra=IN_ORDER), tmp_path / 'work'
    image = train_image(broken_data, 2)  # batch 2 of 2: iteration 1 is trained before the file is met
    original = image.read_bytes()
    image.write_bytes(b'')
    train = ['tools/train.py', config, '--work-dir', work, '--data-root', broken_data]
    msg = one_line_error(run_tool(*train, check=False))
    assert msg == (f'error: image {image} listed in the dataset is empty (0 bytes); training stopped after iteration 1 '
                   f'(epoch 1) and its state is saved in {work}/iter_1.pth: restore the file or remove it from the '
                   f'annotation file, then run the same command with --resume to continue; {SKIP_HINT}')
    assert checkpoints(work) == ['iter_1.pth']
    meta = torch.load(work / 'iter_1.pth', weights_only=False)['meta']
    assert (meta['epoch'], meta['iter']) == (0, 1)
    image.write_bytes(original)
    out = run_tool(*train, '--resume')
    assert 'resumed epoch: 0, iter: 1' in out.stdout + out.stderr
    meta = torch.load(work / 'epoch_1.pth', weights_only=False)['meta']
    assert (meta['epoch'], meta['iter']) == (1, 3)  # the interrupted epoch is run again from its first batch


def test_skip_unreadable_images_trains_through_and_counts_them(broken_data, tmp_path):
    empty, garbled = train_image(broken_data, 0), train_image(broken_data, 3)
    empty.write_bytes(b'')
    garbled.write_bytes(b'not a jpeg')
    # a DataLoader worker process loads the images: the count is shared with it
    config = write_config(tmp_path, extra='train_dataloader = dict(batch_size=2, num_workers=1, '
                                          'persistent_workers=False)')
    work = tmp_path / 'work'
    proc = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', broken_data,
                    '--cfg-options', 'skip_unreadable_images=True')
    log = proc.stdout + proc.stderr
    assert f'skipping image {empty} listed in the dataset: it is empty (0 bytes) (skip_unreadable_images=True)' in log
    assert f'skipping image {garbled} listed in the dataset: it is not a readable image' in log
    assert 'epoch 1: skipped 2 unreadable image files (skip_unreadable_images=True' in log
    assert checkpoints(work) == ['epoch_1.pth']


def test_empty_image_in_testing(trained, broken_data, tmp_path):
    config, checkpoint = trained
    image = broken_data / 'val2017' / 'val_00001.jpg'
    image.write_bytes(b'')
    for workers in ('0', '1'):  # also raised in a DataLoader worker process
        msg = one_line_error(run_tool('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'w',
                                      '--data-root', broken_data, '--cfg-options',
                                      f'test_dataloader.num_workers={workers}', check=False))
        assert msg == (f'error: image {image} listed in the dataset is empty (0 bytes); restore the file or remove '
                       f'it from the annotation file')


def test_show_dir_draws_small_images_upscaled(trained, data, tmp_path):
    import cv2
    config, checkpoint = trained
    vis = tmp_path / 'vis'
    run_tool('tools/test.py', config, checkpoint, '--work-dir', tmp_path / 'w', '--data-root', data,
             '--show-dir', vis)
    drawn = sorted(vis.iterdir())
    assert [p.name for p in drawn] == [f'val_{i:05d}.jpg' for i in range(1, 5)]
    assert cv2.imread(str(drawn[0])).shape == (512, 1024, 3)  # 96 px upscaled to 512: ground truth | prediction


def test_upscaled_drawing_keeps_boxes_on_the_objects(tmp_path):
    import cv2
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmpoolformer.visualization.det import ReadableDetVisualizer
    sample = DetDataSample()
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[12., 24., 60., 72.]]), labels=torch.tensor([0]))
    visualizer = ReadableDetVisualizer(name='upscale_test', line_width=1, alpha=1.0)
    visualizer.dataset_meta = dict(classes=('circle',), palette=[(255, 0, 0)])
    out = tmp_path / 'drawn.png'
    visualizer.add_datasample('x', np.zeros((96, 96, 3), np.uint8), sample, draw_pred=False, out_file=str(out))
    drawn = cv2.imread(str(out))[..., ::-1]  # RGB
    assert drawn.shape == (512, 512, 3)
    ys, xs = np.nonzero((drawn[..., 0] > 150) & (drawn[..., 1] < 80) & (drawn[..., 2] < 80))  # the red box edges
    scale = 512 / 96
    assert abs(xs.min() - 12 * scale) <= 3 and abs(xs.max() - 60 * scale) <= 3
    assert abs(ys.min() - 24 * scale) <= 3 and abs(ys.max() - 72 * scale) <= 3
    assert sample.gt_instances.bboxes.tolist() == [[12., 24., 60., 72.]]  # the caller's sample is left as it was


def test_truncated_annotation_file(broken_data, tmp_path):
    ann = broken_data / 'annotations' / 'instances_train2017.json'
    ann.write_bytes(ann.read_bytes()[:5000])
    with pytest.raises(json.JSONDecodeError) as parse:
        json.loads(ann.read_text())
    position = f'{parse.value.msg}: line {parse.value.lineno} column {parse.value.colno}'
    msg = one_line_error(run_tool('tools/train.py', write_config(tmp_path), '--work-dir', tmp_path / 'w',
                                  '--data-root', broken_data, check=False))
    assert msg == (f'error: annotation file {ann} is not valid JSON ({position}); the file is truncated or damaged: '
                   f'download or write it again')


def test_work_dir_that_cannot_be_a_folder(data, tmp_path):
    config = write_config(tmp_path)
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    for work_dir, expected in [
            (a_file / 'sub', f'error: work dir {a_file}/sub cannot be created: {a_file} is a file, not a folder; '
                             f'pass another --work-dir'),
            (a_file, f'error: work dir {a_file} is a file, not a folder; pass another --work-dir')]:
        msg = one_line_error(run_tool('tools/train.py', config, '--work-dir', work_dir, '--data-root', data,
                                      check=False))
        assert msg == expected


def bad_demo_image(tmp_path, kind):
    if kind == 'empty':
        (tmp_path / 'empty.jpg').write_bytes(b'')
        return tmp_path / 'empty.jpg'
    return tmp_path if kind == 'directory' else tmp_path / 'no' / 'such.jpg'


@pytest.mark.parametrize('kind,expected', [
    ('missing', 'error: image {image} does not exist; check the path'),
    ('directory', 'error: image {image} is a directory, not an image file; pass an image file (jpg, png, bmp, ...)'),
    ('empty', 'error: image {image} is empty (0 bytes); pass an image file (jpg, png, bmp, ...)'),
])
def test_demo_with_a_bad_image(tmp_path, kind, expected):
    image = bad_demo_image(tmp_path, kind)
    msg = one_line_error(run_tool('tools/demo.py', image, write_config(tmp_path), tmp_path / 'model.pth', '--out',
                                  tmp_path / 'out.png', check=False))
    assert msg == expected.format(image=image)


def test_categories_not_matching_config_classes(data, tmp_path):
    config = write_config(tmp_path, extra="metainfo = dict(classes=('circle', 'hexagon'))\n"
                                          "train_dataloader = dict(dataset=dict(metainfo=metainfo))")
    msg = one_line_error(run_tool('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data,
                                  check=False))
    assert msg == (f"error: train annotation file {data}/annotations/instances_train2017.json has no categories named "
                   f"['hexagon'] (its categories: ['circle', 'square', 'triangle', 'cross']); set "
                   f"train_dataloader.dataset.metainfo.classes to categories of the file")


class RunsCode:
    def __reduce__(self):
        return (print, ('code ran',))


@pytest.fixture(scope='module')
def trained(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('trained')
    config, work = write_config(tmp), tmp / 'work'
    run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data)
    return config, work / 'epoch_1.pth'


def test_bad_checkpoints_for_testing(trained, data, tmp_path):
    config, good = trained
    test = ['tools/test.py', config]
    opts = ['--work-dir', tmp_path / 'w', '--data-root', data]
    missing = tmp_path / 'missing.pth'
    assert one_line_error(run_tool(*test, missing, *opts, check=False)) == \
        f'error: checkpoint {missing} does not exist; check the path (or pass an http(s) URL)'
    assert one_line_error(run_tool(*test, good.parent, *opts, check=False)) == (
        f'error: checkpoint {good.parent} is a directory, not a checkpoint file; pass a checkpoint file in it, e.g. '
        f'{good}')
    empty_dir = tmp_path / 'empty_dir'
    empty_dir.mkdir()
    assert one_line_error(run_tool(*test, empty_dir, *opts, check=False)) == (
        f'error: checkpoint {empty_dir} is a directory, not a checkpoint file; pass the path of a checkpoint file')
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:5000])
    assert one_line_error(run_tool(*test, truncated, *opts, check=False)).startswith(
        f'error: checkpoint {truncated} is truncated or not a torch file')
    copied = tmp_path / 'copied.pth'  # a full training checkpoint that this toolbox did not record writing here
    shutil.copy(good, copied)
    assert one_line_error(run_tool(*test, copied, *opts, check=False)) == (
        f'error: checkpoint {copied} holds objects that safe loading refuses and was not written by this toolbox (no '
        f'matching hash in .mmpoolformer-written.sha256 beside it); only if you trust it, pass --trust-checkpoint')
    assert 'coco/bbox_mAP' in printed_metrics(run_tool(*test, copied, *opts, '--trust-checkpoint').stdout)
    evil = tmp_path / 'evil.pth'
    state = torch.load(good, weights_only=False)['state_dict']
    torch.save({'state_dict': state, 'x': RunsCode()}, evil)
    proc = run_tool(*test, evil, *opts, check=False)
    assert 'was not written by this toolbox' in one_line_error(proc) and 'code ran' not in proc.stdout
    other_arch = tmp_path / 's24.pth'
    s24 = build_model(config_in_repo('configs/retinanet_poolformer_s24_fpn_coco.py')).state_dict()
    torch.save({'state_dict': s24}, other_arch)
    msg = one_line_error(run_tool(*test, other_arch, *opts, check=False))
    # the quickstart base is S12 with layer scales from 0.1, an arch dict: named 'custom'
    assert msg.startswith(f"error: checkpoint {other_arch} does not fit the model with PoolFormer(arch='custom'): ")
    assert 'stages.0.blocks.2' in msg or 'shape' in msg


@pytest.mark.parametrize('option,expected', [
    ('model.backbone.frozen_stage=1', 'error: --cfg-options key "model.backbone.frozen_stage" does not exist in '
                                      '{config}; did you mean model.backbone.frozen_stages? fix the spelling, or write '
                                      '+model.backbone.frozen_stage=... to add a new key'),
    ('model.backbone.out_indices=(1,2,5)', 'out_indices=(1, 2, 5) is out of range: the backbone has 4 stages, so use '
                                           'indices 0..3 (or -4..-1)'),
    ('model.backbone.pool_size=4', 'pool_size=4 is invalid: PoolFormer pooling keeps the feature size only for an '
                                   'odd pool_size (e.g. 3, 5 or 7)'),
])
def test_bad_options_and_backbone_arguments(data, tmp_path, option, expected):
    config = write_config(tmp_path)
    msg = one_line_error(run_tool('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data,
                                  '--cfg-options', option, check=False))
    assert expected.format(config=config) in msg


def test_config_that_cannot_merge_into_its_base(tmp_path):
    config = tmp_path / 'bad_merge.py'
    config.write_text(f"_base_ = ['{ROOT}/configs/retinanet_poolformer_s12_fpn_coco.py']\n"
                      "model = dict(backbone=dict(arch=dict(depths=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512])))\n")
    msg = one_line_error(run_tool('tools/train.py', config, '--work-dir', tmp_path / 'w', check=False))
    assert msg.startswith(f'error: {config}: arch=') and 'is a dict in the child config' in msg and '_delete_' in msg
    assert not (tmp_path / 'w').exists()


# ---------------------------------------------------------------- odd inputs

@pytest.mark.parametrize('config', ['configs/quickstart/retinanet_poolformer_s12_demo.py',
                                    'configs/quickstart/mask_rcnn_poolformer_s12_demo.py'])
def test_detector_predicts_a_batch_of_odd_sizes(config):
    from tests.helpers import detector_step
    model = build_model(config_in_repo(config))
    _, total, results = detector_step(model, with_mask='mask' in config, image_shapes=((3, 31, 31), (3, 333, 517)),
                                      num_classes=4)
    assert torch.isfinite(total)
    assert [tuple(r.ori_shape) for r in results] == [(31, 31), (333, 517)]
    for result, (h, w) in zip(results, [(31, 31), (333, 517)]):
        boxes = result.pred_instances.bboxes
        assert (boxes[:, 0::2] <= w + 1e-3).all() and (boxes[:, 1::2] <= h + 1e-3).all()


def test_segmentor_predicts_a_batch_of_odd_sizes():
    from mmseg.structures import SegDataSample
    model = build_model(config_in_repo('configs/quickstart/fpn_poolformer_s12_demo.py')).eval()
    inputs, samples = [], []
    for h, w in ((31, 31), (333, 517)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8))
        samples.append(SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w))))
    with torch.no_grad():
        results = model.test_step(dict(inputs=inputs, data_samples=samples))
    assert [tuple(r.pred_sem_seg.data.shape[1:]) for r in results] == [(31, 31), (333, 517)]


# ---------------------------------------------------------------- NaN / inf loss

NAN_AT_SECOND_ITERATION = '''
import torch
from mmdet.models.dense_heads import RetinaHead

_loss = RetinaHead.loss_by_feat
calls = {'n': 0}


def nan_on_second_call(self, *args, **kwargs):
    losses = _loss(self, *args, **kwargs)
    calls['n'] += 1
    if calls['n'] == 2:
        losses['loss_cls'] = [l * float('nan') for l in losses['loss_cls']]
    return losses


RetinaHead.loss_by_feat = nan_on_second_call
'''


@pytest.mark.parametrize('skip', [False, True])
def test_nan_loss_stops_training_or_is_skipped(data, tmp_path, skip):
    (tmp_path / 'nan_loss.py').write_text(NAN_AT_SECOND_ITERATION)
    extra = "custom_hooks = [dict(type='mmpoolformer.NonFiniteLossHook', skip=True)]" if skip else ''
    config = write_config(tmp_path, imports="custom_imports = dict(imports=['mmpoolformer', 'nan_loss'])",
                          extra=extra)
    work = tmp_path / 'work'
    proc = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data,
                    env=dict(PYTHONPATH=str(tmp_path)), check=False)
    if not skip:
        msg = one_line_error(proc)
        assert msg.startswith('error: non-finite loss at iteration 2 (epoch 1): loss_cls=nan')
        assert checkpoints(work) == []
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 'skipping iteration 2 (epoch 1): non-finite loss (loss_cls=nan' in proc.stdout + proc.stderr
        state = torch.load(work / 'epoch_1.pth', weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_fast_inference_flag_through_the_test_tool(trained, data, tmp_path):
    """tools/test.py --deploy: the FastInferenceHook folds the backbone after loading the checkpoint (channels_last,
    no compilation: the compiled path is checked in tests/test_fast_inference.py) and the metrics stay the same."""
    config, ckpt = trained
    opts = ['--data-root', data]
    eager = run_tool('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'eager', *opts)
    fast = run_tool('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'fast', '--deploy', *opts)
    assert 'fast inference on cpu: backbone, neck, bbox_head; eager, fp32, deploy folding on, channels_last on' in \
        fast.stdout
    eager_metrics, fast_metrics = printed_metrics(eager.stdout), printed_metrics(fast.stdout)
    assert eager_metrics and set(eager_metrics) == set(fast_metrics)
    for name, value in eager_metrics.items():
        assert abs(fast_metrics[name] - value) <= 1e-3, name


def test_resumed_training_sees_the_same_augmentation_as_an_uninterrupted_run(data, tmp_path):
    """Two epochs in one go, and one epoch then --resume for the second: the same flips and shuffles (the random
    generators' states travel in the checkpoint), so the final weights are bit-identical."""
    config = write_config(tmp_path, epochs=2)
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    run_tool('tools/train.py', config, '--work-dir', whole, '--data-root', data)
    run_tool('tools/train.py', config, '--work-dir', split, '--data-root', data,
             '--cfg-options', 'train_cfg.max_epochs=1')
    assert checkpoints(split) == ['epoch_1.pth']
    assert set(torch.load(split / 'epoch_1.pth', weights_only=False)['random_state']) == {'python', 'numpy', 'torch',
                                                                                           'cuda'}
    out = run_tool('tools/train.py', config, '--work-dir', split, '--data-root', data, '--resume')
    assert 'random generators set back to their state in the resumed checkpoint' in out.stdout + out.stderr
    expected = torch.load(whole / 'epoch_2.pth', weights_only=False)['state_dict']
    got = torch.load(split / 'epoch_2.pth', weights_only=False)['state_dict']
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
