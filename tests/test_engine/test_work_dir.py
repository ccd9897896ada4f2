"""Runs that collide or change: one run per work dir (a claim taken before anything is written, released however the
run ends, taken over from a process that is gone, shared by the ranks of a distributed run), and --resume that checks
the checkpoint fits the config's model and optimizer before anything changes."""
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import torch

from mmpoolformer.engine.work_dir_claim import LOCK_NAME
from tests.helpers import ROOT, error_line, run_tool, run_tool_here, upstream_tool, write_config

# holds a run at the start of training (after its claim, its log and its config are written) until a file appears,
# and says that it waits with a file of its own
WAIT_HOOK = '''
import os, time
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class WaitForFile(Hook):
    def __init__(self, path):
        self.path = path

    def before_train(self, runner):
        open(self.path + '.waiting', 'w').close()
        while not os.path.exists(self.path):
            time.sleep(0.1)
'''


def tree_digest(folder) -> dict:
    """Every file under ``folder`` (relative path) with its SHA-256."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


def assert_same_training_state(path_a, path_b):
    """Weights, optimizer state and position equal. (The files themselves differ in their save time and run
    name, which every checkpoint records.)"""
    a, b = torch.load(path_a, weights_only=True), torch.load(path_b, weights_only=True)
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter'])
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert a['optimizer']['state'].keys() == b['optimizer']['state'].keys()
    for index, state in a['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b['optimizer']['state'][index][name]))


def test_a_second_run_into_a_claimed_work_dir_is_refused_and_changes_nothing(data, tmp_path):
    """The first run holds its claim (it waits at the start of training); the second ends in one line naming it and
    leaves every file as it was; the first then finishes with checkpoints equal to those of a run made alone."""
    (tmp_path / 'wait_hook.py').write_text(WAIT_HOOK)
    go, work = tmp_path / 'go', tmp_path / 'work'
    waiting = write_config(tmp_path, epochs=2, name='waiting.py',
                           imports="custom_imports = dict(imports=['mmpoolformer', 'wait_hook'])",
                           extra=f"custom_hooks = [dict(type='WaitForFile', path='{go}')]")
    plain = write_config(tmp_path, epochs=2)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONWARNINGS='ignore')
    first = subprocess.Popen([sys.executable, 'tools/train.py', str(waiting), '--work-dir', str(work),
                              '--data-root', str(data)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while not (tmp_path / 'go.waiting').exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert (tmp_path / 'go.waiting').exists(), first.communicate()[1][-3000:]
        claim = json.loads((work / LOCK_NAME).read_text())
        before = tree_digest(work)
        second = run_tool('tools/train.py', plain, '--work-dir', work, '--data-root', data, check=False)
        assert error_line(second) == (
            f"error: work dir {work} is in use by another run (pid {first.pid} on {socket.gethostname()}, started "
            f"{claim['started']}: tools/train.py {waiting} --work-dir {work} --data-root {data}); pass another "
            f"--work-dir, or wait for that run to end")
        assert tree_digest(work) == before
    finally:
        go.write_text('')
        _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-3000:]
    assert not (work / LOCK_NAME).exists()  # released at the end
    alone = tmp_path / 'alone'
    run_tool_here('tools/train.py', plain, '--work-dir', alone, '--data-root', data)
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        assert_same_training_state(work / name, alone / name)


def test_the_claim_of_a_process_that_is_gone_is_taken_over(data, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    gone = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    stale = dict(pid=int(gone.stdout), host=socket.gethostname(), process_start=None, started='2026-12-04 10:00:00',
                 command='tools/train.py old.py')
    (work / LOCK_NAME).write_text(json.dumps(stale))
    proc = run_tool_here('tools/train.py', write_config(tmp_path), '--work-dir', work, '--data-root', data)
    assert (f"work dir {work}: took over the claim of a run that no longer runs (pid {stale['pid']} on "
            f"{socket.gethostname()}, started 2026-12-04 10:00:00: tools/train.py old.py)") in proc.stdout
    assert (work / 'epoch_1.pth').is_file() and not (work / LOCK_NAME).exists()


def test_a_claim_made_on_another_machine_is_respected(data, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    other = dict(pid=1, host='node-7', started='2026-12-04 10:00:00', command='tools/train.py x.py')
    (work / LOCK_NAME).write_text(json.dumps(other))
    proc = run_tool_here('tools/train.py', write_config(tmp_path), '--work-dir', work, '--data-root', data,
                         check=False)
    assert error_line(proc) == (
        f'error: work dir {work} is claimed by a run on another machine (pid 1 on node-7, started 2026-12-04 '
        f'10:00:00: tools/train.py x.py); pass another --work-dir, or wait for that run to end (if it has ended, '
        f'delete {work / LOCK_NAME})')
    assert sorted(os.listdir(work)) == [LOCK_NAME]


def test_upstream_train_into_a_claimed_work_dir_is_refused(data, tmp_path):
    """MMDetection's own tools/train.py on our config builds our runner, which claims the work dir: a work dir held by
    a live run (this test's process) refuses it before anything is written."""
    from mmpoolformer.engine.work_dir_claim import _process_start
    work = tmp_path / 'work'
    work.mkdir()
    live = dict(pid=os.getpid(), host=socket.gethostname(), process_start=_process_start(os.getpid()),
                started='2026-12-04 10:00:00', command='tools/train.py live.py')
    (work / LOCK_NAME).write_text(json.dumps(live))
    proc = run_tool(upstream_tool('mmdet', 'train'), write_config(tmp_path), '--work-dir', work, '--cfg-options',
                    f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
                    f'val_evaluator.ann_file={data}/annotations/instances_val2017.json', check=False)
    assert proc.returncode != 0
    assert (f'work dir {work} is in use by another run (pid {os.getpid()} on {socket.gethostname()}, started '
            f'2026-12-04 10:00:00: tools/train.py live.py); pass another --work-dir, or wait for that run to '
            f'end') in proc.stderr
    assert sorted(os.listdir(work)) == [LOCK_NAME]


@pytest.fixture(scope='module')
def resumable(data, tmp_path_factory):
    """A work dir holding one epoch of the tiny RetinaNet (AdamW)."""
    tmp = tmp_path_factory.mktemp('resumable')
    config, work = write_config(tmp, epochs=2), tmp / 'work'
    run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data, '--cfg-options',
                  'train_cfg.max_epochs=1')
    return config, work


@pytest.mark.parametrize('change,message', [
    (['model.bbox_head.num_classes=5'],
     "bbox_head.retina_cls.weight has shape (36, 128, 3, 3) in the checkpoint but (45, 128, 3, 3) in this config's "
     "model (2 of 166 model tensors differ)"),
    (['model.backbone.arch.embed_dims=[32,64,160,256]', 'model.neck.in_channels=[64,160,256]'],
     "backbone.stem.weight has shape (64, 3, 7, 7) in the checkpoint but (32, 3, 7, 7) in this config's model (138 "
     "of 166 model tensors differ)"),
    (['model.bbox_head.stacked_convs=3'],
     # the third of each tower's convolutions (conv weight, GroupNorm weight and bias) is new
     "this config's model has bbox_head.cls_convs.2.conv.weight (128, 128, 3, 3), which the checkpoint lacks (6 of "
     "172 model tensors differ)"),
    (['optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.01'],
     "its optimizer state does not fit this config's SGD: it was written by another optimizer (settings amsgrad, "
     "betas, capturable, decoupled_weight_decay, differentiable, eps, foreach, fused, lr, maximize, weight_decay in "
     "the checkpoint, dampening, differentiable, foreach, fused, lr, maximize, momentum, nesterov, weight_decay "
     "here)"),
    # a paramwise_cfg gives every parameter a group of its own
    (['+optim_wrapper.paramwise_cfg.norm_decay_mult=0.'],
     "its optimizer state does not fit this config's AdamW: parameter groups: 1 in the checkpoint, {params} here (a "
     "changed paramwise_cfg)"),
])
def test_resume_under_a_changed_config_is_refused_and_changes_nothing(resumable, data, change, message):
    config, work = resumable
    before = tree_digest(work)
    proc = run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data, '--resume',
                         '--cfg-options', *change, check=False)
    checkpoint = work / 'epoch_1.pth'
    params = len(torch.load(checkpoint, weights_only=True)['optimizer']['param_groups'][0]['params'])
    assert error_line(proc) == (
        f'error: cannot resume from {checkpoint}: {message.format(params=params)}; train this config in a new '
        f'--work-dir, or fine-tune from that checkpoint with --cfg-options load_from={checkpoint} and without --resume')
    assert tree_digest(work) == before


def test_resume_under_the_same_config_continues(resumable, data, tmp_path):
    config, work = resumable
    copy = tmp_path / 'copy'
    subprocess.run(['cp', '-r', str(work), str(copy)], check=True)
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_1.pth'))
    proc = run_tool_here('tools/train.py', config, '--work-dir', copy, '--data-root', data, '--resume')
    assert 'resumed epoch: 1, iter: 2' in proc.stdout and (copy / 'epoch_2.pth').is_file()


def test_upstream_resume_under_a_changed_config_is_refused_before_it_writes(resumable, data):
    """MMDetection's own tools/train.py builds the config's runner: the same check stops it (with MMEngine's
    traceback around our line, as that tool prints every error)."""
    config, work = resumable
    before = tree_digest(work)
    proc = run_tool(upstream_tool('mmdet', 'train'), config, '--work-dir', work, '--resume', '--cfg-options',
                    'model.bbox_head.num_classes=5', f'train_dataloader.dataset.data_root={data}',
                    f'val_dataloader.dataset.data_root={data}', f'val_evaluator.ann_file={data}/annotations/'
                    f'instances_val2017.json', check=False)
    assert proc.returncode != 0
    assert (f'cannot resume from {work / "epoch_1.pth"}: bbox_head.retina_cls.weight has shape (36, 128, 3, 3) in '
            f'the checkpoint but (45, 128, 3, 3)') in proc.stderr
    assert tree_digest(work) == before
