"""MMEngine's plain record classes made loadable by torch's safe loader (``torch.load(weights_only=True)``).

A training checkpoint that MMEngine's own ``CheckpointHook`` writes (MMDetection's, MMSegmentation's and
MMPretrain's ``tools/train.py``) pickles the message hub's ``HistoryBuffer`` logs, NumPy arrays, NumPy scalars and
dtypes. torch >= 2.6 loads with ``weights_only=True`` by default and refuses them, so their ``tools/test.py`` cannot
open the checkpoint their ``tools/train.py`` just wrote. :func:`allow_mmengine_records` (called by
``import mmpoolformer``, which a config's ``custom_imports`` runs) adds exactly these to torch's safe globals:

- ``mmengine.logging.HistoryBuffer`` (built with ``__new__`` and its own ``__setstate__``: plain data);
- NumPy's array and scalar rebuilders (``numpy._core.multiarray._reconstruct`` / ``scalar``, also under the
  ``numpy.core`` names NumPy 1 wrote), ``numpy.ndarray``, ``numpy.dtype`` and the dtype classes of booleans and
  numbers (``numpy.dtypes.Float64DType``, ...; not ``ObjectDType``: object arrays stay refused);
- ``builtins.getattr``, bound to :func:`history_buffer_method`, which returns only ``HistoryBuffer``'s statistics
  methods (``HistoryBuffer.__getstate__`` stores ``getattr(HistoryBuffer, 'mean')`` and its siblings) and refuses
  every other attribute of every other object.

Nothing else becomes loadable: no general opt-out of safe loading, no other class of MMEngine or anyone else.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# the methods MMEngine registers in HistoryBuffer._statistics_methods by default
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_method(owner: Any, name: str) -> Callable:
    """``getattr(owner, name)`` for ``owner`` ``HistoryBuffer`` and ``name`` one of its default statistics methods
    (what a pickled ``HistoryBuffer`` asks for); anything else raises ``pickle.UnpicklingError``."""
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'safe loading with mmpoolformer rebuilds only HistoryBuffer.{"/".join(HISTORY_BUFFER_STATISTICS)} through '
        f'getattr, not {getattr(owner, "__qualname__", type(owner).__qualname__)}.{name}')


def _numpy_multiarray():
    """NumPy's ``multiarray`` module: ``numpy._core.multiarray`` in NumPy 2, ``numpy.core.multiarray`` in NumPy 1."""
    core = getattr(np, '_core', None) or np.core
    return core.multiarray


def _number_dtype_classes() -> List[type]:
    """The dtype classes (``numpy.dtypes``, NumPy >= 1.25) of booleans, integers, floats and complex numbers."""
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is None:
        return []
    codes = np.typecodes['AllInteger'] + np.typecodes['AllFloat'] + '?'
    return sorted({type(np.dtype(code)) for code in codes}, key=lambda cls: cls.__name__)


def mmengine_record_globals() -> List[SafeGlobal]:
    """What :func:`allow_mmengine_records` adds, in ``torch.serialization.add_safe_globals``'s form (an object, or an
    object with the name a pickle calls it by)."""
    multiarray = _numpy_multiarray()
    rebuilders: List[SafeGlobal] = []
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        rebuilders += [(multiarray._reconstruct, f'{module}._reconstruct'), (multiarray.scalar, f'{module}.scalar')]
    return [HistoryBuffer, (history_buffer_method, 'builtins.getattr'), np.ndarray, np.dtype,
            *_number_dtype_classes(), *rebuilders]


def allow_mmengine_records() -> bool:
    """Add :func:`mmengine_record_globals` to torch's safe globals (for the whole process; calling again changes
    nothing). False where this torch has no ``add_safe_globals`` (torch < 2.4, which does not load safely by
    default)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(mmengine_record_globals())
    return True
