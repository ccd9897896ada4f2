"""Whether a checkpoint can be resumed by a config, checked before the run writes anything.

MMEngine resumes by loading the checkpoint into the built model and optimizer; a tensor of another shape surfaces
as a PyTorch error deep inside loading or at the first optimizer step, after the run has written its log and config
into the work dir. :func:`check_resume` builds the config's model and optimizer on their own first and compares them
with the checkpoint: every model tensor both ways (names and shapes), and the optimizer's kind, parameter groups and
per-parameter state shapes. A mismatch is one line naming the first difference, how many differ, and what to do.
"""
import copy
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import find_latest_checkpoint

from ..checkpoint import load_checkpoint_file, to_model_layout
from ..errors import CheckpointError


def _fix(filename: str) -> str:
    return (f'train this config in a new --work-dir, or fine-tune from that checkpoint with --cfg-options '
            f'load_from={filename} and without --resume')


def resume_source(work_dir: str, load_from: Optional[str]) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: ``load_from`` if given, else the one ``last_checkpoint`` names in
    ``work_dir`` (None: there is none, and MMEngine starts from scratch)."""
    return load_from or find_latest_checkpoint(work_dir)


def check_model_state(own: Dict[str, torch.Tensor], saved: Dict[str, torch.Tensor], filename: str) -> None:
    """Refuse unless ``saved`` has exactly the tensors of ``own`` (names and shapes)."""
    differing = [k for k in own if k in saved and tuple(own[k].shape) != tuple(saved[k].shape)]
    lacking = [k for k in own if k not in saved]
    extra = [k for k in saved if k not in own]
    count = len(differing) + len(lacking) + len(extra)
    if not count:
        return
    if differing:
        key = differing[0]
        first = (f'{key} has shape {tuple(saved[key].shape)} in the checkpoint but {tuple(own[key].shape)} in this '
                 f'config\'s model')
    elif lacking:
        first = f'this config\'s model has {lacking[0]} {tuple(own[lacking[0]].shape)}, which the checkpoint lacks'
    else:
        first = f'the checkpoint has {extra[0]} {tuple(saved[extra[0]].shape)}, which this config\'s model lacks'
    raise CheckpointError(f'cannot resume from {filename}: {first} ({count} of {len(own)} model tensors differ); '
                          f'{_fix(filename)}')


def check_optimizer_state(optim_wrapper, saved: dict, filename: str) -> None:
    """Refuse unless ``saved`` (an optimizer wrapper's ``state_dict()``) fits ``optim_wrapper``: the same kind of
    optimizer (the same settings per parameter group), the same parameter groups of the same sizes, and per-parameter
    state (momentum, moments) of the parameters' shapes."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        for name, wrapper in optim_wrapper.items():
            check_optimizer_state(wrapper, saved.get(name, {}), filename)
        return
    optimizer = optim_wrapper.optimizer

    def refuse(detail: str) -> CheckpointError:
        return CheckpointError(f'cannot resume from {filename}: its optimizer state does not fit this config\'s '
                               f'{type(optimizer).__name__}: {detail}; {_fix(filename)}')

    groups, saved_groups = optimizer.param_groups, saved.get('param_groups', [])

    def kind(group_list) -> list:  # the optimizer's settings; parameter schedulers add initial_* ones
        first = group_list[0] if group_list else {}
        return sorted(k for k in first if k != 'params' and not k.startswith('initial_'))

    settings, saved_settings = kind(groups), kind(saved_groups)
    if settings != saved_settings:
        raise refuse(f'it was written by another optimizer (settings {", ".join(saved_settings) or "none"} in the '
                     f'checkpoint, {", ".join(settings)} here)')
    if len(groups) != len(saved_groups):
        raise refuse(f'parameter groups: {len(saved_groups)} in the checkpoint, {len(groups)} here (a changed '
                     f'paramwise_cfg)')
    sizes = [(len(g['params']), len(s['params'])) for g, s in zip(groups, saved_groups)]
    for index, (size, saved_size) in enumerate(sizes):
        if size != saved_size:
            raise refuse(f'parameter group {index} holds {saved_size} parameters in the checkpoint, {size} here')
    params = [p for group in groups for p in group['params']]
    ids = [i for group in saved_groups for i in group['params']]
    state = saved.get('state', {})
    wrong = []
    for param, index in zip(params, ids):
        for key, value in state.get(index, {}).items():
            if torch.is_tensor(value) and value.dim() > 0 and tuple(value.shape) != tuple(param.shape):
                wrong.append((index, key, tuple(value.shape), tuple(param.shape)))
    if wrong:
        index, key, shape, expected = wrong[0]
        raise refuse(f'the {key} of parameter {index} has shape {shape} in the checkpoint, the parameter {expected} '
                     f'({len(wrong)} such states)')


def check_resume(cfg, filename: str, trust: bool = False) -> None:
    """Build ``cfg``'s model and optimizer on their own and refuse, in one line, a checkpoint ``filename`` that does
    not fit them (:func:`check_model_state`, :func:`check_optimizer_state`)."""
    checkpoint = load_checkpoint_file(filename, trust=trust)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    own = model.state_dict()
    checkpoint = to_model_layout(checkpoint, own.keys())
    check_model_state(own, checkpoint['state_dict'], filename)
    if 'optimizer' in checkpoint and cfg.get('optim_wrapper'):
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
        check_optimizer_state(wrapper, checkpoint['optimizer'], filename)
