"""Checkpoints that torch's safe loader (``torch.load(..., weights_only=True)``) opens, and writing them safely.

An MMEngine training checkpoint holds objects that safe loading refuses: the message hub's ``HistoryBuffer`` logs,
NumPy arrays, NumPy scalars and dtypes. :func:`to_safe` replaces each of them by a plain dict marked with the key
``SAFE_TYPE_KEY`` (its data as bytes, a dtype string and a shape), so the file holds only tensors, numbers, strings,
bytes, lists, tuples, sets and dicts; :func:`from_safe` rebuilds the original objects. Weights and ``meta`` (the
``dataset_meta`` that MMDetection's ``init_detector`` reads) stay as they are, so every OpenMMLab loader opens the
file without an extra argument; only this toolbox's runner (``--resume``) needs the rebuilt objects.

:func:`save_checkpoint_file` writes such a file completely or not at all (:func:`mmpoolformer.fileio.write_atomically`).
"""
import collections
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from ..fileio import WRITE_FIX, write_atomically

SAFE_TYPE_KEY = '__mmpoolformer_type__'

# leaves torch's weights_only unpickler accepts as they are
_PLAIN = (torch.Tensor, torch.Size, torch.dtype, torch.device, str, bytes, bool, int, float, complex, type(None))


def _encode_array(array: np.ndarray) -> dict:
    array = np.ascontiguousarray(array)
    if array.dtype.hasobject:
        raise TypeError(f'a NumPy array of dtype {array.dtype} holds Python objects and cannot be stored safely')
    return {SAFE_TYPE_KEY: 'ndarray', 'dtype': array.dtype.str, 'shape': tuple(array.shape),
            'data': array.tobytes()}


def to_safe(obj: Any, where: str = 'checkpoint') -> Any:
    """``obj`` with every object that safe loading refuses replaced by a marked plain dict (see the module doc).

    Containers are rebuilt (``OrderedDict`` and ``Counter`` keep their type); an object of any other class is a
    ``TypeError`` naming where it is, since a checkpoint holding it could not be opened safely."""
    if isinstance(obj, np.generic):  # before the plain types: np.float64 is a float subclass
        return {SAFE_TYPE_KEY: 'numpy_scalar', 'value': _encode_array(np.asarray(obj))}
    if isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if isinstance(obj, np.dtype):
        return {SAFE_TYPE_KEY: 'numpy_dtype', 'dtype': obj.str}
    if isinstance(obj, HistoryBuffer):
        return {SAFE_TYPE_KEY: 'HistoryBuffer', 'max_length': obj.max_length,
                'log': _encode_array(obj._log_history), 'count': _encode_array(obj._count_history)}
    if isinstance(obj, dict):
        items = [(key, to_safe(value, f'{where}[{key!r}]')) for key, value in obj.items()]
        if isinstance(obj, (collections.OrderedDict, collections.Counter)):
            safe = _rebuilt(type(obj), items)
            if hasattr(obj, '_metadata'):  # torch state dicts keep module versions here
                safe._metadata = obj._metadata
            return safe
        return dict(items)
    if isinstance(obj, (list, tuple, set, frozenset)):
        values = [to_safe(value, f'{where}[{index}]') for index, value in enumerate(obj)]
        return type(obj)(values) if type(obj) in (list, tuple, set, frozenset) else list(values)
    if isinstance(obj, collections.deque):
        return [to_safe(value, f'{where}[{index}]') for index, value in enumerate(obj)]
    raise TypeError(f'{where} is a {type(obj).__module__}.{type(obj).__name__}, which torch.load(weights_only=True) '
                    f'refuses; convert it to tensors, numbers, strings or containers of them before saving')


def _rebuilt(cls, items: list) -> dict:
    """A ``cls`` mapping (dict, OrderedDict, Counter) holding ``items`` as they are (``Counter(pairs)`` would count
    the pairs)."""
    mapping = cls()
    for key, value in items:
        mapping[key] = value
    return mapping


def _decode_array(encoded: dict) -> np.ndarray:
    return np.frombuffer(encoded['data'], dtype=np.dtype(encoded['dtype'])).reshape(encoded['shape']).copy()


def from_safe(obj: Any) -> Any:
    """The inverse of :func:`to_safe`; objects not written by it (e.g. from a full-pickle file) pass unchanged."""
    if isinstance(obj, dict):
        kind = obj.get(SAFE_TYPE_KEY)
        if kind == 'ndarray':
            return _decode_array(obj)
        if kind == 'numpy_scalar':
            return _decode_array(obj['value'])[()]
        if kind == 'numpy_dtype':
            return np.dtype(obj['dtype'])
        if kind == 'HistoryBuffer':
            buffer = HistoryBuffer(max_length=obj['max_length'])
            buffer._log_history = _decode_array(obj['log'])
            buffer._count_history = _decode_array(obj['count'])
            return buffer
        decoded = _rebuilt(type(obj), [(key, from_safe(value)) for key, value in obj.items()])
        if hasattr(obj, '_metadata'):
            decoded._metadata = obj._metadata
        return decoded
    if isinstance(obj, (list, tuple, set, frozenset)) and type(obj) in (list, tuple, set, frozenset):
        return type(obj)(from_safe(value) for value in obj)
    return obj


def decode_in_place(checkpoint: dict) -> dict:
    """Rebuild the objects :func:`to_safe` replaced, in ``checkpoint`` itself (hooks hold references to it)."""
    for key in list(checkpoint):
        checkpoint[key] = from_safe(checkpoint[key])
    return checkpoint


def encode_in_place(checkpoint: dict) -> dict:
    """:func:`to_safe` applied to ``checkpoint`` itself, entry by entry."""
    for key in list(checkpoint):
        checkpoint[key] = to_safe(checkpoint[key], f'checkpoint[{key!r}]')
    return checkpoint


def payload_size(obj: Any) -> int:
    """Bytes of the tensor storages and byte strings in ``obj`` (each storage once): about its size on disk."""
    seen, total, stack = set(), 0, [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            storage = item.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(item, bytes):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return total


def save_checkpoint_file(checkpoint: dict, path: str, what: str = 'checkpoint', fix: str = WRITE_FIX) -> None:
    """Write ``checkpoint`` (made safe with :func:`to_safe`) to ``path`` atomically (see :func:`write_atomically`).

    The file opens with ``torch.load(path, weights_only=True)``."""
    safe = to_safe(checkpoint)
    write_atomically(path, lambda partial: torch.save(safe, partial), what=what, fix=fix,
                     size=lambda: payload_size(safe))
