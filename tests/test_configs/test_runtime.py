"""Every config declares the toolbox's runtime (configs/_base_/mmpoolformer_runtime.py), so the upstream tools of
MMDetection, MMSegmentation and MMPretrain, which build ``runner_type`` after ``custom_imports``, run it too."""
import glob
import os

import pytest
from mmengine.config import Config

from tests.helpers import ROOT, config_in_repo

CONFIGS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                                              recursive=True) if '/_base_/' not in p)
RUNTIME_HOOKS = ['mmpoolformer.NonFiniteLossHook', 'mmpoolformer.RandomStateHook', 'mmpoolformer.FastInferenceHook']


@pytest.mark.parametrize('path', CONFIGS)
def test_config_declares_the_runtime(path):
    cfg = config_in_repo(path)
    assert cfg.runner_type == 'mmpoolformer.SafeRunner'
    assert 'mmpoolformer' in cfg.custom_imports['imports'] and not cfg.custom_imports.get('allow_failed_imports')
    assert [hook['type'] for hook in cfg.custom_hooks][:3] == RUNTIME_HOOKS
    assert 'fast_inference' in cfg and cfg.skip_unreadable_images is False
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.type == 'CheckpointHook'  # built as mmpoolformer.SafeCheckpointHook by the runner


def test_the_runner_builds_the_checkpoint_hook_that_removes_old_files_last(tmp_path):
    from mmengine.registry import RUNNERS

    import mmpoolformer  # noqa: F401  (registers the runner)
    from mmpoolformer.engine import SafeCheckpointHook
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/quickstart/retinanet_poolformer_s12_demo.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.init_cfg = None
    runner = RUNNERS.build(cfg)
    hooks = [type(h).__name__ for h in runner.hooks]
    assert [h for h in runner.hooks if isinstance(h, SafeCheckpointHook)] and 'CheckpointHook' not in hooks
    assert {'NonFiniteLossHook', 'RandomStateHook', 'FastInferenceHook'} <= set(hooks)
