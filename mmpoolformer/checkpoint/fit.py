"""Whether a weight file fits a model, and loading one into a MetaFormer backbone.

:func:`check_fit` is the one fit check of the toolbox: backbone loading (``init_cfg`` Pretrained), ``load_from``,
``--resume``, ``tools/test.py`` and :func:`mmpoolformer.apis.init_model` all refuse a file through it, with the same
one-line message: ``checkpoint FILE does not fit MODEL: DETAIL; FIX``.
"""
import json
import os.path as osp
from typing import Callable, Dict, List, Optional

import torch
from mmengine.logging import print_log

from ..errors import CheckpointError
from .layouts import convert_weights, stored_arch, to_model_layout, unwrap_state_dict
from .reading import MapLocation, read_local, resolve_path
from .trust import load_checkpoint_file


def model_label(module: torch.nn.Module) -> str:
    """How messages name a model: its backbone's class and arch, e.g. ``PoolFormer(arch='s12')``."""
    backbone = getattr(module, 'backbone', module)
    if hasattr(backbone, 'arch_name'):
        return f"{type(backbone).__name__}(arch='{backbone.arch_name}')"
    return type(module).__name__


def _short_list(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def _never(key: str) -> bool:
    return False


def check_fit(model_state: Dict[str, torch.Tensor], file_state: Dict[str, torch.Tensor], source: str, target: str,
              fix: str, may_lack: Callable[[str], bool] = _never,
              may_have_extra: Callable[[str], bool] = _never) -> List[str]:
    """Raise :class:`CheckpointError` unless ``file_state`` fits ``model_state`` (both name -> tensor, same names).

    The file does not fit when a tensor has another shape than the model's, when the model has a tensor the file
    lacks (unless ``may_lack(key)``), or when the file has one the model does not (unless ``may_have_extra(key)``).
    ``source`` names the file, ``target`` the model and ``fix`` what to do, in the message. Returns the model keys
    the file lacks (those ``may_lack`` allowed), sorted.
    """
    def refuse(detail: str) -> CheckpointError:
        return CheckpointError(f'checkpoint {source} does not fit {target}: {detail}; {fix}')

    for key, value in file_state.items():
        if key in model_state and tuple(model_state[key].shape) != tuple(value.shape):
            raise refuse(f'{key} has shape {tuple(value.shape)} in the file but {tuple(model_state[key].shape)} in '
                         f'the model')
    lacking = sorted(k for k in model_state if k not in file_state)
    refused = [k for k in lacking if not may_lack(k)]
    if refused:
        raise refuse(f'the model needs {refused[0]} {tuple(model_state[refused[0]].shape)}, which the file lacks '
                     f'({len(refused)} such tensors)')
    extra = sorted(k for k in file_state if k not in model_state and not may_have_extra(k))
    if extra:
        raise refuse(f'the file has {extra[0]} {tuple(file_state[extra[0]].shape)}, which the model does not have '
                     f'({len(extra)} such tensors)')
    return lacking


def check_model_fit(model: torch.nn.Module, state: Dict[str, torch.Tensor], source: str,
                    whole_model: bool) -> None:
    """:func:`check_fit` for a whole-model checkpoint (``load_from``, ``--resume``, testing), already in model layout
    (:func:`~mmpoolformer.checkpoint.to_model_layout`).

    With ``whole_model`` (testing) every tensor must match both ways. Otherwise only the backbone is checked and
    other parts may differ (they stay MMEngine's warnings), so fine-tuning from a model with another number of
    classes keeps working."""
    own = model.state_dict()
    if not whole_model:
        own = {k: v for k, v in own.items() if k.startswith('backbone.')}
    check_fit(own, state, source, f'the model with {model_label(model)}', 'use a checkpoint trained with this config',
              may_have_extra=_never if whole_model else lambda key: True)


def _is_out_norm(key: str) -> bool:
    return key.startswith('out_norms.')


def check_hugging_face_pool_size(model: torch.nn.Module, weights: str, label: str) -> None:
    """A Hugging Face file's ``config.json`` (beside ``weights``) states its ``pool_size``, which its tensors cannot
    show: :class:`CheckpointError` where the model's pooling token mixers (stride-1 average pools) use another."""
    config = osp.join(osp.dirname(weights), 'config.json')
    if not osp.isfile(config):
        return
    with open(config, encoding='utf-8') as f:
        wanted = json.load(f).get('pool_size', 3)
    pools = {m.kernel_size for m in model.modules() if isinstance(m, torch.nn.AvgPool2d) and m.stride == 1}
    if pools and pools != {wanted}:
        raise CheckpointError(f'checkpoint {weights} does not fit {label}: its {config} says pool_size {wanted}, the '
                              f'model pools over {"/".join(map(str, sorted(pools)))}; build the backbone with '
                              f'pool_size={wanted}')


def load_backbone_weights(model, checkpoint: str, prefix: Optional[str] = None, trusted: bool = False) -> dict:
    """Load ``checkpoint`` (a path or URL in any accepted layout) into the MetaFormer ``model``.

    Every backbone tensor of the model must come from the file with the same shape, except the stage-output norms
    (``out_norms.*``), which ImageNet files lack and which are then left as initialised (a file's norms of stages
    the model does not output are ignored). Anything else that does not fit is :class:`CheckpointError` naming the
    arch, the key and the shapes. The log lists what was loaded, initialised fresh and ignored.

    Returns a report dict with the keys ``loaded``, ``fresh``, ``ignored`` and ``layout``.
    """
    path = resolve_path(checkpoint)
    state = unwrap_state_dict(read_local(path, trusted=trusted), checkpoint)
    converted = convert_weights(state, prefix=prefix, source=checkpoint)
    own = model.state_dict()
    label = model_label(model)
    if converted.layout == 'huggingface':
        check_hugging_face_pool_size(model, path, label)
    fresh = check_fit(own, converted.backbone, f'{checkpoint} ({converted.layout} layout, arch '
                                               f'{stored_arch(converted.backbone)})',
                      label, 'use the file made for this arch or change arch', may_lack=_is_out_norm,
                      may_have_extra=_is_out_norm)
    to_load = {k: v for k, v in converted.backbone.items() if k in own}
    model.load_state_dict(to_load, strict=False)
    ignored = converted.dropped + [k for k in converted.backbone if k not in own] + list(converted.outside)
    report = dict(loaded=sorted(to_load), fresh=fresh, ignored=sorted(ignored), layout=converted.layout)
    print_log(f'{label}: loaded {len(to_load)} tensors from {checkpoint} ({converted.layout} layout)', logger='current')
    if fresh:
        print_log(f'{label}: initialised fresh (not in the file): {_short_list(fresh)}', logger='current')
    if ignored:
        print_log(f'{label}: ignored from the file: {_short_list(ignored)}', logger='current')
    return report


def read_model_checkpoint(model: torch.nn.Module, filename: str, trust: bool = False,
                          whole_model: bool = False, map_location: MapLocation = 'cpu') -> dict:
    """Read the whole-model checkpoint ``filename`` for ``model``: the one sequence every caller uses
    (``load_from``, ``--resume``, testing, :func:`mmpoolformer.apis.init_model`).

    The file is read safely onto ``map_location`` (full unpickling only for a trusted file,
    :func:`~.trust.load_checkpoint_file`), its encoded objects rebuilt, its weights renamed to the model's layout
    (:func:`~.layouts.to_model_layout`) and checked against the model (:func:`check_model_fit`; every tensor both
    ways with ``whole_model``). Returns the checkpoint dict, ``state_dict`` in model layout and the other entries
    (``meta``, optimizer, ...) kept."""
    checkpoint = to_model_layout(load_checkpoint_file(filename, trust=trust, map_location=map_location),
                                 model.state_dict().keys())
    check_model_fit(model, checkpoint['state_dict'], filename, whole_model=whole_model)
    return checkpoint
