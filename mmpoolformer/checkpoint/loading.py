"""Load any accepted weight file into a MetaFormer backbone, refusing anything that does not fit it."""
from typing import Optional

from mmengine.logging import print_log

from .formats import convert_weights, guess_arch, unwrap_state_dict
from .io import CheckpointError, read_weights


def _short_list(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_backbone_weights(model, checkpoint: str, prefix: Optional[str] = None, trusted: bool = False) -> dict:
    """Load ``checkpoint`` (a path or URL in any accepted layout) into the MetaFormer ``model``.

    Every backbone tensor of the model must come from the file with the same shape, except the stage-output norms
    (``out_norms.*``), which ImageNet files lack and which are then left as initialised. A missing tensor, a shape
    mismatch or a tensor the model has no place for raises :class:`CheckpointError` naming the arch, the key and the
    shapes. The log lists what was loaded, initialised fresh and ignored.

    Returns a report dict with the keys ``loaded``, ``fresh``, ``ignored`` and ``layout``.
    """
    state = unwrap_state_dict(read_weights(checkpoint, trusted=trusted), checkpoint)
    converted = convert_weights(state, prefix=prefix, source=checkpoint)
    own = model.state_dict()
    arch = f"{type(model).__name__}(arch='{model.arch_name}')"
    file_arch = guess_arch(converted.backbone)

    def mismatch(detail: str) -> CheckpointError:
        return CheckpointError(f'checkpoint {checkpoint} ({converted.layout} layout, arch {file_arch}) does not fit '
                               f'{arch}: {detail}; use the file made for this arch or change arch')

    for key, value in converted.backbone.items():
        if key in own and own[key].shape != value.shape:
            raise mismatch(f'{key} has shape {tuple(value.shape)} in the file but {tuple(own[key].shape)} in the model')
        if key not in own and not key.startswith('out_norms.'):
            raise mismatch(f'the file has {key} {tuple(value.shape)}, which the model does not have')
    missing = [k for k in own if k not in converted.backbone]
    missing_body = [k for k in missing if not k.startswith('out_norms.')]
    if missing_body:
        key = missing_body[0]
        raise mismatch(f'the model needs {key} {tuple(own[key].shape)}, which the file lacks '
                       f'({len(missing_body)} such tensors)')

    to_load = {k: v for k, v in converted.backbone.items() if k in own}
    model.load_state_dict(to_load, strict=False)
    ignored = converted.dropped + [k for k in converted.backbone if k not in own] + list(converted.outside)
    report = dict(loaded=sorted(to_load), fresh=sorted(missing), ignored=sorted(ignored), layout=converted.layout)
    print_log(f'{arch}: loaded {len(to_load)} tensors from {checkpoint} ({converted.layout} layout)', logger='current')
    if missing:
        print_log(f'{arch}: initialised fresh (not in the file): {_short_list(missing)}', logger='current')
    if ignored:
        print_log(f'{arch}: ignored from the file: {_short_list(ignored)}', logger='current')
    return report
