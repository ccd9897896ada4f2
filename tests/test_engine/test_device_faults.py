"""GPU faults end in one line that says what to do, and lose nothing: out of GPU memory while training or testing,
an mmcv built without its CUDA operators on a CUDA machine, a busy rendezvous port, more processes than GPUs. Each is
provoked on the CPU: a simulated out-of-memory error inside a training step, stand-ins for the CUDA machine and for
nvidia-smi."""
import os
import socket
import subprocess

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmpoolformer.engine.device_checks import check_local_gpu, check_mmcv_cuda_ops
from mmpoolformer.errors import DeviceError
from tests.helpers import ROOT, error_line, run_tool_here, write_config


@HOOKS.register_module(force=True)
class RunOutOfMemoryAt(Hook):
    """Raises PyTorch's CUDA out-of-memory error inside the training step of iteration ``at`` (1-based)."""

    def __init__(self, at: int):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 139.80 GiB total)')


def test_out_of_memory_while_training_names_the_levers_and_the_checkpoint(data, tmp_path):
    config = write_config(tmp_path, epochs=2, extra="custom_hooks = [dict(type='RunOutOfMemoryAt', at=3)]")
    work = tmp_path / 'work'
    proc = run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data, check=False)
    assert error_line(proc) == (
        f'error: CUDA out of memory while training (iteration 3, epoch 2) with train_dataloader.batch_size=2 per GPU: '
        f'use a smaller batch (--cfg-options train_dataloader.batch_size=1), mixed precision (--amp: about half the '
        f'activation memory) or activation checkpointing (--cfg-options model.backbone.with_cp=True: the blocks '
        f'recompute their activations); then continue from {work / "epoch_1.pth"} with --resume')
    assert torch.load(work / 'epoch_1.pth', weights_only=True)['meta']['iter'] == 2  # epoch 1 (2 steps) kept
    assert not (work / '.mmpoolformer.lock').exists()
    plain = write_config(tmp_path, epochs=2, name='plain.py')  # the same run, its memory now sufficing
    resumed = run_tool_here('tools/train.py', plain, '--work-dir', work, '--data-root', data, '--resume')
    assert 'resumed epoch: 1, iter: 2' in resumed.stdout and (work / 'epoch_2.pth').is_file()


def test_out_of_memory_before_any_checkpoint_says_so(data, tmp_path):
    config = write_config(tmp_path, extra="custom_hooks = [dict(type='RunOutOfMemoryAt', at=1)]")
    proc = run_tool_here('tools/train.py', config, '--work-dir', tmp_path / 'w', '--data-root', data, check=False)
    assert error_line(proc).endswith('; no checkpoint was written yet, so the run starts again')


@pytest.fixture
def cuda_machine(monkeypatch):
    """Stand-ins for a machine with one NVIDIA H200."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *args: 'NVIDIA H200')


def test_mmcv_without_cuda_ops_on_a_cuda_machine_is_refused_before_anything_is_written(cuda_machine, monkeypatch,
                                                                                      data, tmp_path):
    import mmcv.ops
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: 'not available')  # the op-less build
    message = ("mmcv 2.1.0 here was compiled without its CUDA operators (it was built where no CUDA toolchain was "
               "found), so NMS and RoIAlign cannot run on this machine's NVIDIA H200; rebuild it here: bash "
               "tools/setup.sh (with nvcc on PATH it compiles mmcv with its CUDA operators; see docs/install.md)")
    with pytest.raises(DeviceError) as raised:
        check_mmcv_cuda_ops()
    assert str(raised.value) == message
    proc = run_tool_here('tools/train.py', write_config(tmp_path), '--work-dir', tmp_path / 'w', '--data-root', data,
                         check=False)
    assert error_line(proc) == f'error: {message}'
    assert os.listdir(tmp_path / 'w') == []  # (the runner creates the folder first, as MMEngine's does)
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: '13.0')
    check_mmcv_cuda_ops()


def test_a_process_for_a_gpu_the_machine_lacks(cuda_machine):
    check_local_gpu(0)
    with pytest.raises(DeviceError, match=r'^this machine has 1 GPU\(s\) but process 1 of the launcher was started '
                                          r'for GPU 1; start at most 1 processes per machine \(bash '
                                          r'tools/dist_train.sh CONFIG 1\)$'):
        check_local_gpu(1)


def dist(*args, env=None):
    return subprocess.run(['bash', *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


def test_dist_train_on_a_busy_port_is_one_line(tmp_path):
    with socket.create_server(('127.0.0.1', 0)) as taken:
        port = taken.getsockname()[1]
        proc = dist('tools/dist_train.sh', tmp_path / 'c.py', 2, env=dict(PORT=str(port)))
    assert proc.returncode == 2 and proc.stdout == ''
    assert proc.stderr.splitlines() == [
        f'error: port {port} of 127.0.0.1 is in use (another distributed run on this machine?); pass a free one, e.g. '
        f'PORT={port + 1} bash tools/dist_train.sh ...']


def test_more_processes_than_gpus_is_one_line(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    smi = bin_dir / 'nvidia-smi'  # a machine with two GPUs
    smi.write_text('#!/bin/sh\necho "GPU 0: NVIDIA H200 (UUID: GPU-0)"\necho "GPU 1: NVIDIA H200 (UUID: GPU-1)"\n')
    smi.chmod(0o755)
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', PORT='29555')
    proc = dist('tools/dist_test.sh', tmp_path / 'c.py', tmp_path / 'x.pth', 4, env=env)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        'error: asked for 4 processes but this machine has 2 GPU(s) for them; pass at most 2 (bash '
        'tools/dist_test.sh ... 2)']
    proc = dist('tools/dist_train.sh', tmp_path / 'c.py', 2, env=dict(env, CUDA_VISIBLE_DEVICES='1'))
    assert proc.returncode == 2 and 'this machine has 1 GPU(s) for them' in proc.stderr
