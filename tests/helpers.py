"""Shared test helpers: running the command-line tools, parsing their printed metrics, one-step model checks."""
import os
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tools.test import printed_metrics  # noqa: F401  (the tests read the tool's printed metrics with its parser)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(*args, timeout=900, env=None, check=True):
    """Run ``python tools/...`` from the repo root; fail with its output if it exits non-zero and ``check``."""
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', **(env or {}))
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\nSTDOUT tail:\n{proc.stdout[-3000:]}\n'
                             f'STDERR tail:\n{proc.stderr[-5000:]}')
    return proc


def config_in_repo(path: str) -> Config:
    return Config.fromfile(os.path.join(ROOT, path))


def build_model(cfg: Config):
    """Build ``cfg.model`` offline (no pretrained download) the way the toolbox's runner would."""
    import importlib
    scope = cfg.default_scope
    importlib.import_module(f'{scope}.registry')
    from mmengine.registry import MODELS
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model


def detector_step(model, with_mask: bool, image_shapes=((3, 128, 160), (3, 96, 128)), num_classes=80):
    """One training step (loss + backward) and one predict step on random images; returns (losses, results)."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=len(image_shapes), image_shapes=list(image_shapes), num_items=[3] * len(
        image_shapes), num_classes=num_classes, with_mask=with_mask)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False), mode='predict')
    return losses, total, results
