"""SafeRunner: CPU distributed training, kill-and-resume (also mid-checkpoint), unreadable images, NaN losses,
resume equal to an uninterrupted run."""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers import (
    ROOT,
    error_line,
    free_port,
    printed_metrics,
    run_tool,
    run_tool_here,
    tiny_config,
    trained_iterations,
    write_config,
)


def checkpoints(work):
    return sorted(p.name for p in work.glob('*.pth'))


def test_two_process_cpu_training_and_distributed_test(data, tmp_path):
    config, work = write_config(tmp_path), tmp_path / 'work'
    env = dict(os.environ, PORT=str(free_port()), PYTHONWARNINGS='ignore')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work, '--data-root', data],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'distributed training on CPU with gloo, rank 0 of 2' in proc.stdout + proc.stderr
    assert checkpoints(work) == ['epoch_1.pth']
    # the ranks share rank 0's claim of the work dir (a claim per rank would have refused rank 1), released at the end
    assert 'is in use by another run' not in proc.stderr and not (work / '.mmpoolformer.lock').exists()
    meta = torch.load(work / 'epoch_1.pth', weights_only=True)['meta']
    assert (meta['epoch'], meta['iter']) == (1, 1)  # 4 images, 2 ranks x batch 2: one iteration per epoch
    env['PORT'] = str(free_port())
    dist = subprocess.run(['bash', 'tools/dist_test.sh', config, work / 'epoch_1.pth', '2', '--work-dir', work,
                           '--data-root', data], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert dist.returncode == 0, dist.stderr[-4000:]
    single = run_tool_here('tools/test.py', config, work / 'epoch_1.pth', '--work-dir', work, '--data-root', data)
    dist_metrics, single_metrics = printed_metrics(dist.stdout), printed_metrics(single.stdout)
    assert 'coco/bbox_mAP' in single_metrics and dist_metrics == single_metrics


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
    out = run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data, '--resume')
    assert f'resumed epoch: {last}, iter: {2 * last}' in out.stdout + out.stderr  # 4 images, batch 2
    # the killed run's claim of the work dir is taken over, with a note
    assert f'work dir {work}: took over the claim of a run that no longer runs (pid {proc.pid} ' in out.stdout
    assert torch.load(work / 'epoch_4.pth', weights_only=True)['meta']['epoch'] == 4


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
    assert torch.load(work / 'epoch_3.pth', weights_only=True)['meta']['iter'] == 6



def all_files(work):
    return sorted(str(p.relative_to(work)) for p in work.rglob('*') if p.is_file() and 'vis_data' not in p.parts
                  and not p.name.endswith(('.log', '.json', '.py')))


def test_full_disk_while_writing_a_checkpoint_loses_nothing_and_resume_continues(data, tmp_path):
    """A file-size limit (as a full disk or a quota) hits the write of epoch_2.pth in a resumed run that keeps one
    checkpoint: one line naming the work dir, the size and the free space; epoch_1.pth (which MMEngine's hook would
    have deleted first) and last_checkpoint untouched; no partial file; --resume then finishes the run."""
    config = write_config(tmp_path, epochs=2, extra='default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))')
    work = tmp_path / 'work'
    args = [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work), '--data-root', str(data)]
    run_tool(*args[1:], '--cfg-options', 'train_cfg.max_epochs=1')
    first, pointer = (work / 'epoch_1.pth').read_bytes(), (work / 'last_checkpoint').read_text()
    limit = len(first) // 2  # far above the logs, below a checkpoint

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(args + ['--resume'], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHONWARNINGS='ignore'), preexec_fn=limit_file_size)
    match = re.fullmatch(
        rf'error: could not write the checkpoint epoch_2\.pth in {re.escape(str(work))} \(File too large; errno 27\): '
        rf'it needs about ([\d.]+) MiB, ([\d.]+) MiB are free there; nothing was written under that name and '
        rf'earlier files are untouched; free space in {re.escape(str(work))} \(or pass another --work-dir\), then '
        rf'run the same command with --resume to continue from the last complete checkpoint', error_line(proc))
    assert match, error_line(proc)
    assert float(match.group(1)) == pytest.approx(len(first) / 2 ** 20, rel=0.02)
    # the free space of the work dir's disk, in MiB; other test workers write and delete files on the same disk
    # meanwhile (ONNX exports of 100+ MiB), so it is compared to within 2 % (or 200 MiB on a small disk)
    free = shutil.disk_usage(work).free / 2 ** 20
    assert float(match.group(2)) == pytest.approx(free, abs=max(200, 0.02 * free))
    assert all_files(work) == ['epoch_1.pth', 'last_checkpoint']  # no partial file, nothing removed
    assert (work / 'epoch_1.pth').read_bytes() == first and (work / 'last_checkpoint').read_text() == pointer
    out = run_tool(*args[1:], '--resume')  # the same command, space freed
    assert 'resumed epoch: 1, iter: 2' in out.stdout + out.stderr
    assert all_files(work) == ['epoch_2.pth', 'last_checkpoint']
    assert torch.load(work / 'epoch_2.pth', weights_only=True)['meta']['iter'] == 4


SKIP_HINT = 'or skip unreadable images with --cfg-options skip_unreadable_images=True'


@pytest.mark.parametrize('damage,state', [('delete', 'missing'), ('garble', 'not a readable image'),
                                          ('empty', 'empty (0 bytes)')])
def test_missing_or_unreadable_image_in_the_first_batch(broken_data, tmp_path, damage, state):
    image = broken_data / 'train2017' / 'train_00003.jpg'
    image.unlink() if damage == 'delete' else image.write_bytes(b'not a jpeg' if damage == 'garble' else b'')
    config = write_config(tmp_path, extra='train_dataloader = dict(batch_size=4, num_workers=0)')  # one batch
    work = tmp_path / 'w'
    msg = error_line(run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', broken_data,
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
    msg = error_line(run_tool_here(*train, check=False))
    assert msg == (f'error: image {image} listed in the dataset is empty (0 bytes); training stopped after iteration 1 '
                   f'(epoch 1) and its state is saved in {work}/iter_1.pth: restore the file or remove it from the '
                   f'annotation file, then run the same command with --resume to continue; {SKIP_HINT}')
    assert checkpoints(work) == ['iter_1.pth']
    meta = torch.load(work / 'iter_1.pth', weights_only=True)['meta']
    assert (meta['epoch'], meta['iter'], meta['batch_in_epoch']) == (0, 1, 1)
    image.write_bytes(original)
    out = run_tool_here(*train, '--resume')
    assert 'resumed epoch: 0, iter: 1' in out.stdout + out.stderr
    assert trained_iterations(out.stdout + out.stderr) == [(1, 2)]  # the epoch goes on after its trained batch
    meta = torch.load(work / 'epoch_1.pth', weights_only=True)['meta']
    assert (meta['epoch'], meta['iter']) == (1, 2)


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
    config = write_config(tmp_path, imports="custom_imports = dict(imports=['mmpoolformer', 'nan_loss'])")
    work = tmp_path / 'work'
    option = ['--cfg-options', 'custom_hooks.0.skip=True'] if skip else []  # as the error line says
    proc = run_tool('tools/train.py', config, '--work-dir', work, '--data-root', data, *option,
                    env=dict(PYTHONPATH=str(tmp_path)), check=False)
    if not skip:
        msg = error_line(proc)
        assert msg.startswith('error: non-finite loss at iteration 2 (epoch 1): loss_cls=nan')
        assert msg.endswith('or pass --cfg-options custom_hooks.0.skip=True (this hook in the config) to skip such '
                            'iterations')
        assert checkpoints(work) == []
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 'skipping iteration 2 (epoch 1): non-finite loss (loss_cls=nan' in proc.stdout + proc.stderr
        state = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_resumed_training_sees_the_same_augmentation_as_an_uninterrupted_run(data, tmp_path):
    """Two epochs in one go, and one epoch then --resume for the second: the same flips and shuffles (the random
    generators' states travel in the checkpoint), so the final weights are bit-identical."""
    config = write_config(tmp_path, epochs=2)
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    run_tool_here('tools/train.py', config, '--work-dir', whole, '--data-root', data)
    run_tool_here('tools/train.py', config, '--work-dir', split, '--data-root', data,
             '--cfg-options', 'train_cfg.max_epochs=1')
    assert checkpoints(split) == ['epoch_1.pth']
    assert set(torch.load(split / 'epoch_1.pth', weights_only=True)['random_state']) == {'python', 'numpy', 'torch',
                                                                                           'cuda'}
    out = run_tool_here('tools/train.py', config, '--work-dir', split, '--data-root', data, '--resume')
    assert 'random generators set back to their state in the resumed checkpoint' in out.stdout + out.stderr
    expected = torch.load(whole / 'epoch_2.pth', weights_only=True)['state_dict']
    got = torch.load(split / 'epoch_2.pth', weights_only=True)['state_dict']
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_resume_continues_like_an_uninterrupted_run(tiny_coco, tmp_path):
    config, scale_opts = tiny_config(tmp_path, 'retinanet', epochs=2)
    # no random flips: MMEngine does not checkpoint the augmentation RNG, so epoch 2 could see other flips
    common = ['--data-root', tiny_coco, '--cfg-options', *scale_opts, 'train_dataloader.dataset.pipeline.3.prob=0.0']
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    run_tool_here('tools/train.py', config, '--work-dir', straight, *common)
    # the same run stopped after epoch 1 ...
    run_tool_here('tools/train.py', config, '--work-dir', resumed, *common, 'train_cfg.max_epochs=1')
    assert not (resumed / 'epoch_2.pth').exists()
    # ... and restarted with --resume
    proc = run_tool_here('tools/train.py', config, '--work-dir', resumed, '--resume', *common)
    assert 'resumed epoch: 1, iter: 3' in proc.stdout + proc.stderr
    at_stop = torch.load(straight / 'epoch_1.pth', map_location='cpu', weights_only=True)
    resumed_from = torch.load(resumed / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert at_stop['param_schedulers'] == resumed_from['param_schedulers']
    for name, value in at_stop['state_dict'].items():
        torch.testing.assert_close(value, resumed_from['state_dict'][name], rtol=1e-4, atol=1e-5)
    a = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=True)
    b = torch.load(resumed / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter']) == (2, 6)
    assert a['param_schedulers'] == b['param_schedulers']
    lr = [g['lr'] for g in a['optimizer']['param_groups']]
    assert lr == [g['lr'] for g in b['optimizer']['param_groups']]
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert state_a[key]['step'] == state_b[key]['step']
        torch.testing.assert_close(state_a[key]['exp_avg'], state_b[key]['exp_avg'], rtol=1e-4, atol=1e-6)
    for name, value in a['state_dict'].items():
        torch.testing.assert_close(value, b['state_dict'][name], rtol=1e-4, atol=1e-5)
