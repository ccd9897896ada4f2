"""The parts of a detector that must run in fp32 under mixed precision.

mmcv's compiled NMS and RoIAlign have no bf16 kernels (and none for fp16 on the CPU), and a dense head's
proposal and box post-processing (``predict_by_feat``: decoding, NMS) compares scores and sizes that lose meaning
in reduced precision. Under ``--amp --amp-dtype bf16`` a two-stage detector's RPN otherwise stops at its first
proposal NMS (``RuntimeError: expected scalar type Float but found BFloat16``). :func:`keep_in_fp32` makes those parts
take fp32 inputs with autocast off, as MMDetection 2.x's ``force_fp32`` did; in fp32 training nothing changes.
"""
import functools
from typing import Any

import torch
import torch.nn as nn


def _to_fp32(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.float() if value.is_floating_point() and value.dtype != torch.float32 else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_fp32(v) for v in value)
    if type(value) is dict:  # (not a ConfigDict: a head's test_cfg is read by attribute)
        return {k: _to_fp32(v) for k, v in value.items()}
    return value


def _fp32_call(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with torch.autocast('cuda', enabled=False), torch.autocast('cpu', enabled=False):
            return method(*_to_fp32(args), **_to_fp32(kwargs))
    run.keeps_fp32 = True
    return run


def _inputs_to_fp32(module: nn.Module, args: tuple) -> tuple:
    return _to_fp32(args)


def keep_in_fp32(model: nn.Module) -> int:
    """Make ``model``'s RoI feature extractors (whose RoIAlign layers pool into a tensor of their input's dtype)
    take fp32 inputs and its dense heads post-process in fp32 with autocast off (once per module); returns how many
    modules were changed."""
    changed = 0
    for module in model.modules():
        if hasattr(module, 'roi_layers') and not getattr(module, '_fp32_inputs', False):
            module.register_forward_pre_hook(_inputs_to_fp32)
            module._fp32_inputs = True
            changed += 1
        predict = getattr(module, 'predict_by_feat', None)
        if callable(predict) and not getattr(predict, 'keeps_fp32', False) and hasattr(module, 'prior_generator'):
            module.predict_by_feat = _fp32_call(predict)
            changed += 1
    return changed
