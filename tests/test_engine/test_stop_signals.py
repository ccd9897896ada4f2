"""Stop signals in a training run of tools/train.py (one process): SIGTERM and Ctrl-C save the exact position
mid-epoch and --resume ends with the weights of an uninterrupted run; a second Ctrl-C stops at once; a stop with
nothing new to save writes nothing; a stop during validation is resumed with that validation; tools/test.py stops in
one line. The signals come from tests/signal_hooks.py, sent by the process to itself at an exact iteration."""
import os
import re
import signal

import pytest
import torch

from mmpoolformer.demo_data import make_demo_data
from tests.helpers import (
    ROOT,
    SIGNAL_HOOK,
    SIGNAL_HOOK_PATH,
    checkpoints_in,
    run_tool,
    run_tool_here,
    same_weights,
    stoppable_config,
    trained_iterations,
)

RESUME_HINT = 'resume with python tools/train.py {config} --work-dir {work} --data-root {data} --resume'


@pytest.fixture(scope='module')
def data8(tmp_path_factory):
    """8 training images of 96 px: 4 iterations an epoch at batch 2."""
    root = tmp_path_factory.mktemp('data8')
    make_demo_data(str(root), seed=5, num_train=8, num_val=4, size=96)
    return root / 'coco'


def signalled(env: dict, *args):
    return run_tool('tools/train.py', *args, env=dict(PYTHONPATH=SIGNAL_HOOK_PATH, **env), check=False)


def last_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    return lines[-1]


def test_sigterm_and_ctrl_c_mid_epoch_then_resume_give_the_weights_of_an_uninterrupted_run(data8, tmp_path):
    config = stoppable_config(tmp_path, 3)
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    common = ['--data-root', data8]
    run_tool_here('tools/train.py', config, '--work-dir', whole, *common)
    hint = RESUME_HINT.format(config=config, work=split, data=data8)

    # Ctrl-C after iteration 3 (epoch 1, batch 3 of 4): that position is saved, exit code 130
    first = signalled(dict(SIGNAL_AT=f'3:{signal.SIGINT}'), config, '--work-dir', split, *common)
    assert first.returncode == 130
    assert last_line(first) == (f'stopped by Ctrl-C (SIGINT) at epoch 1, iteration 3 (batch 3 of 4 of the epoch); '
                                f'saved {split}/iter_3.pth; {hint}')
    saved = torch.load(split / 'iter_3.pth', weights_only=True)
    assert {k: saved['meta'][k] for k in ('epoch', 'iter', 'batch_in_epoch', 'batches_per_epoch')} == dict(
        epoch=0, iter=3, batch_in_epoch=3, batches_per_epoch=4)
    assert {'optimizer', 'param_schedulers', 'random_state', 'message_hub'} <= set(saved)
    assert (split / 'last_checkpoint').read_text() == f'{split}/iter_3.pth'
    assert not (split / '.mmpoolformer.lock').exists()  # the work dir is released

    # resumed, then SIGTERM after iteration 6 (epoch 2, batch 2): exit code 143; the earlier stop checkpoint is gone
    # once a later one is complete
    second = signalled(dict(SIGNAL_AT=f'6:{signal.SIGTERM}'), config, '--work-dir', split, *common, '--resume')
    assert second.returncode == 143
    assert last_line(second) == (f'stopped by SIGTERM at epoch 2, iteration 6 (batch 2 of 4 of the epoch); '
                                 f'saved {split}/iter_6.pth; {hint}')
    assert 'resuming epoch 1 after its batch 3 of 4' in second.stdout + second.stderr
    assert checkpoints_in(split) == ['epoch_1.pth', 'iter_6.pth']

    third = run_tool_here('tools/train.py', config, '--work-dir', split, *common, '--resume')
    assert checkpoints_in(split) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']
    assert same_weights(whole / 'epoch_3.pth', split / 'epoch_3.pth')
    a = torch.load(whole / 'epoch_3.pth', weights_only=True)
    b = torch.load(split / 'epoch_3.pth', weights_only=True)
    assert a['meta']['iter'] == b['meta']['iter'] == 12 and a['param_schedulers'] == b['param_schedulers']
    # every iteration trained exactly once over the three runs
    runs = [proc.stdout + proc.stderr for proc in (first, second, third)]
    done = [step for log in runs for step in trained_iterations(log)]
    assert done == [(epoch, batch) for epoch in (1, 2, 3) for batch in (1, 2, 3, 4)]


def test_a_stop_before_the_first_iteration_saves_nothing(data8, tmp_path):
    config, work = stoppable_config(tmp_path, 3), tmp_path / 'work'
    proc = signalled(dict(SIGNAL_BEFORE_TRAIN=str(int(signal.SIGTERM))), config, '--work-dir', work, '--data-root',
                     data8)
    assert proc.returncode == 143
    assert last_line(proc) == (f'stopped by SIGTERM before the first iteration; nothing to save; run python '
                               f'tools/train.py {config} --work-dir {work} --data-root {data8} to start')
    assert checkpoints_in(work) == [] and not (work / '.mmpoolformer.lock').exists()


def test_a_second_ctrl_c_stops_at_once_and_saves_nothing(data8, tmp_path):
    config, work = stoppable_config(tmp_path, 3), tmp_path / 'work'
    proc = signalled(dict(SIGNAL_AT=f'6:{signal.SIGINT}:0:2'), config, '--work-dir', work, '--data-root', data8)
    assert proc.returncode == 130
    hint = RESUME_HINT.format(config=config, work=work, data=data8)
    assert last_line(proc) == (f'stopped at once by a second Ctrl-C after iteration 5 (epoch 2); nothing saved (the '
                               f'last checkpoint is {work}/epoch_1.pth); {hint}')
    assert checkpoints_in(work) == ['epoch_1.pth'] and not list(work.glob('.*.partial'))


def test_nothing_new_is_saved_without_progress_and_a_stopped_validation_runs_first_on_resume(data8, tmp_path):
    config = stoppable_config(tmp_path, 3, name='val_each_epoch.py').read_text()
    config_path = tmp_path / 'val_each_epoch.py'
    config_path.write_text(config.replace('val_interval=100', 'val_interval=2'))
    work, common = tmp_path / 'work', ['--data-root', data8]
    hint = RESUME_HINT.format(config=config_path, work=work, data=data8)

    # SIGTERM right after epoch 1's checkpoint: the position is the checkpoint's, nothing new is written
    first = signalled(dict(SIGNAL_AFTER_EPOCH=f'1:{signal.SIGTERM}'), config_path, '--work-dir', work, *common)
    assert first.returncode == 143
    assert last_line(first) == (f'stopped by SIGTERM after epoch 1, iteration 4; nothing new to save '
                                f'({work}/epoch_1.pth holds this position); {hint}')
    assert checkpoints_in(work) == ['epoch_1.pth']

    # resumed; SIGTERM during the validation after epoch 2: the position is saved with the validation still due
    second = signalled(dict(SIGNAL_IN_VAL=str(int(signal.SIGTERM))), config_path, '--work-dir', work, *common,
                       '--resume')
    assert second.returncode == 143
    assert last_line(second) == (f'stopped by SIGTERM after epoch 2, iteration 8, before its validation had run; '
                                 f'saved {work}/iter_8.pth; {hint}')
    assert torch.load(work / 'iter_8.pth', weights_only=True)['meta']['validate_first'] is True

    # resumed: the validation of epoch 2 runs first, then epoch 3 trains
    third = run_tool_here('tools/train.py', config_path, '--work-dir', work, *common, '--resume')
    log = third.stdout + third.stderr
    assert re.search(r'Epoch\(val\) \[2\]', log).start() < re.search(r'Epoch\(train\) +\[3\]\[1/4\]', log).start()
    assert trained_iterations(log) == [(3, batch) for batch in (1, 2, 3, 4)]
    assert checkpoints_in(work) == ['epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth']


def test_an_iteration_based_run_stopped_and_resumed_ends_like_an_uninterrupted_one(tmp_path):
    """Semantic FPN (IterBasedTrainLoop, InfiniteSampler): SIGTERM after iteration 3 of 6, then --resume, which
    replays the data loader over the iterations trained, as MMEngine's loop does."""
    make_demo_data(str(tmp_path / 'data'), seed=2, num_train=4, num_val=2, size=128)
    config = tmp_path / 'tiny_fpn.py'
    config.write_text(f"""_base_ = ['{ROOT}/configs/fpn_poolformer_s12_ade20k_40k.py']
{SIGNAL_HOOK['imports']}
{SIGNAL_HOOK['extra']}
model = dict(data_preprocessor=dict(size=(128, 128)),
             backbone=dict(init_cfg=None, arch=dict(_delete_=True, depths=[1, 1, 1, 1], embed_dims=[16, 24, 32, 40],
                                                    layer_scale_init_value=0.1)),
             neck=dict(in_channels=[16, 24, 32, 40], out_channels=32),
             decode_head=dict(in_channels=[32, 32, 32, 32], channels=32))
train_cfg = dict(max_iters=6, val_interval=100)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=100))
randomness = dict(seed=0)  # (the ADE20K config sets none: each run would draw its own seed)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
""")
    common = ['--data-root', tmp_path / 'data' / 'ade', '--cfg-options',
              'train_dataloader.dataset.pipeline.2.scale=(256,128)',
              'train_dataloader.dataset.pipeline.3.crop_size=(128,128)',
              'val_dataloader.dataset.pipeline.1.scale=(256,128)']
    whole, split = tmp_path / 'whole', tmp_path / 'split'
    run_tool_here('tools/train.py', config, '--work-dir', whole, *common)
    stopped = signalled(dict(SIGNAL_AT=f'3:{signal.SIGTERM}'), config, '--work-dir', split, *common)
    assert stopped.returncode == 143
    assert last_line(stopped).startswith(f'stopped by SIGTERM at iteration 3 of 6; saved {split}/iter_3.pth; ')
    run_tool_here('tools/train.py', config, '--work-dir', split, *common, '--resume')
    assert same_weights(whole / 'iter_6.pth', split / 'iter_6.pth')
    assert checkpoints_in(split) == ['iter_6.pth']


def test_a_stop_signal_while_testing_ends_in_one_line(data8, tmp_path):
    config, work = stoppable_config(tmp_path, 1), tmp_path / 'work'
    run_tool_here('tools/train.py', config, '--work-dir', work, '--data-root', data8)
    proc = run_tool('tools/test.py', config, work / 'epoch_1.pth', '--work-dir', work, '--data-root', data8,
                    env=dict(PYTHONPATH=SIGNAL_HOOK_PATH, SIGNAL_IN_TEST=str(int(signal.SIGTERM))), check=False)
    assert proc.returncode == 143
    assert last_line(proc) == (f'stopped by SIGTERM while testing; nothing to save; run it again with python '
                               f'tools/test.py {config} {work}/epoch_1.pth --work-dir {work} --data-root {data8}')
    assert not (work / '.mmpoolformer.lock').exists()


def test_the_resume_command_replaces_a_given_checkpoint(monkeypatch):
    from mmpoolformer.engine.stop_signals import resume_command
    monkeypatch.delenv('MMPF_LAUNCH_COMMAND', raising=False)
    monkeypatch.setattr('sys.argv', ['tools/train.py', 'c.py', '--resume', 'w/epoch_2.pth', '--work-dir', 'w'])
    assert resume_command() == 'python tools/train.py c.py --work-dir w --resume'
    monkeypatch.setenv('MMPF_LAUNCH_COMMAND', "GPUS=2 bash tools/slurm_train.sh cpu job 'my config.py' w --resume")
    assert resume_command() == "GPUS=2 bash tools/slurm_train.sh cpu job 'my config.py' w --resume"
    assert os.path.isfile(os.path.join(ROOT, 'tools', 'slurm_train.sh'))
