"""Fast inference for a whole model: deploy folding, channels_last, ``torch.compile`` and bf16/fp16 autocast.

One switch per entry point turns it on: the ``fast_inference`` config key (``tools/test.py``, read by
:class:`~mmpoolformer.engine.fast_inference_hook.FastInferenceHook`), ``--compile`` / ``--bf16`` / ``--fp16`` on
``tools/test.py`` and ``tools/demo.py``, and :func:`accelerate` (or ``mmpoolformer.apis.init_model(..., fast=...)``)
in Python::

    fast_inference = dict(compile=True, dtype='bf16')   # in a config; dtype None keeps fp32

What :func:`accelerate` does to each compute part of the model (``backbone``, ``neck`` and the dense heads:
``bbox_head``, ``rpn_head``, ``decode_head``, ``head``; post-processing such as NMS stays eager and fp32):

- ``deploy``: a MetaFormer backbone folds its per-channel affine terms (``switch_to_deploy``);
- ``channels_last``: 4-d weights and the backbone input use the NHWC memory layout;
- ``dtype``: the part runs under ``torch.autocast`` in bf16 (CPU with bf16 instructions, CUDA) or fp16 (CUDA) and
  returns fp32 tensors, so everything after it is unchanged;
- ``compile``: the part's forward goes through ``torch.compile`` (inductor). The first call for an input shape
  compiles; a second, different shape compiles once more with dynamic height/width, and that graph serves later
  sizes, so a test set of many image sizes padded to multiples of 32 (what mmdet's and mmseg's preprocessors do)
  costs two compilations per part, not one per image (``tests/test_engine/test_fast_inference.py`` runs 20 sizes). Sizes
  that are not multiples of 32, or small enough that a convolution's input has at most 20480 elements (torch
  then picks another convolution backend), can add a few more. Each compilation is logged with its time.
  Kernels are cached on disk (``TORCHINDUCTOR_CACHE_DIR``, by default ``~/.cache/mmpoolformer/inductor``), so a
  second run skips most of the compile work.
"""
import functools
import time
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ..errors import FastInferenceError
from .compile_env import check_cpp_compiler, use_persistent_compile_cache

PARTS = ('backbone', 'neck', 'bbox_head', 'rpn_head', 'decode_head', 'head')
DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16, 'fp16': torch.float16, 'float16': torch.float16}


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 instructions (avx512_bf16 or AMX), which make bf16 fast."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def bf16_available(device: torch.device) -> bool:
    """Whether bf16 runs natively on ``device``: a CUDA GPU with bf16 support, or a CPU with bf16 instructions."""
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def resolve_dtype(dtype: Optional[str], device_type: str, check_support: bool = True) -> Optional[torch.dtype]:
    """The autocast dtype for ``'bf16'``/``'fp16'`` (or None for fp32), refusing one the device cannot run fast
    (unless ``check_support`` is False: then bf16 runs emulated, e.g. to check its accuracy on any CPU)."""
    if dtype in (None, 'fp32', 'float32'):
        return None
    if dtype not in DTYPES:
        raise FastInferenceError(f"fast_inference dtype='{dtype}' is unknown; use 'bf16', 'fp16' or None (fp32)")
    resolved = DTYPES[dtype]
    if not check_support:
        return resolved
    if device_type == 'cpu':
        if resolved is torch.float16:
            raise FastInferenceError('fp16 autocast is for CUDA GPUs; on CPU use bf16 (--bf16) or fp32')
        if not cpu_has_bf16():
            raise FastInferenceError('bf16 needs a CPU with bf16 instructions (avx512_bf16 or AMX) and this one has '
                                     'none (torch.ops.mkldnn._is_mkldnn_bf16_supported() is False); drop --bf16 / '
                                     'dtype, the fp32 fast path (--compile) works here')
    elif device_type == 'cuda' and resolved is torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise FastInferenceError('this GPU has no bf16 support; use fp16 (--fp16) instead of bf16')
    return resolved


def _to_fp32(out: Any) -> Any:
    if torch.is_tensor(out):
        return out.float() if out.is_floating_point() and out.dtype != torch.float32 else out
    if isinstance(out, (list, tuple)):
        return type(out)(_to_fp32(o) for o in out)
    if isinstance(out, dict):
        return type(out)((k, _to_fp32(v)) for k, v in out.items())
    return out


def _channels_last_input(forward: Callable) -> Callable:
    @functools.wraps(forward)
    def run(x, *args, **kwargs):
        if torch.is_tensor(x) and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return forward(x, *args, **kwargs)
    return run


def _autocast(forward: Callable, device_type: str, dtype: torch.dtype) -> Callable:
    @functools.wraps(forward)
    def run(*args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            out = forward(*args, **kwargs)
        return _to_fp32(out)
    return run


def _shapes(args) -> str:
    def shape(a):
        if torch.is_tensor(a):
            return tuple(a.shape)
        if isinstance(a, (list, tuple)):
            return [shape(x) for x in a]
        return type(a).__name__
    return str(shape(args[0]) if len(args) == 1 else [shape(a) for a in args])


def compile_count() -> int:
    """Graphs compiled by torch.compile in this process so far."""
    from torch._dynamo.utils import counters
    return int(counters['stats']['unique_graphs'])


def _mark_spatial_dynamic(args) -> None:
    """Mark height and width (dims 2 and 3) of every 4-d tensor in ``args`` dynamic for torch.compile."""
    for a in args:
        if torch.is_tensor(a) and a.dim() == 4:
            torch._dynamo.maybe_mark_dynamic(a, 2)
            torch._dynamo.maybe_mark_dynamic(a, 3)
        elif isinstance(a, (list, tuple)):
            _mark_spatial_dynamic(a)


class CompiledForward:
    """A module's forward passed through ``torch.compile``; logs each compilation with its time and input shape.

    With ``dynamic=None`` it keeps two compiled versions: one specialised to the first input shape (fastest, what a
    fixed-size benchmark or a single image size uses), and, from the first other shape on, one with dynamic height
    and width that serves every further size. ``compilations`` counts the graphs compiled for this part.
    """

    def __init__(self, name: str, forward: Callable, dynamic: Optional[bool] = None):
        self.name = name
        self.dynamic = dynamic
        self.static = torch.compile(forward, dynamic=False) if dynamic is not True else None
        self.any_size = torch.compile(forward) if dynamic is not False else None
        self.static_shape = None
        self.compilations = 0
        self.compile_seconds = 0.

    def _pick(self, args):
        if self.dynamic is False:
            return self.static
        if self.dynamic is True:
            _mark_spatial_dynamic(args)
            return self.any_size
        shape = _shapes(args)
        if self.static_shape is None:
            self.static_shape = shape
        if shape == self.static_shape:
            return self.static
        _mark_spatial_dynamic(args)
        return self.any_size

    def __call__(self, *args, **kwargs):
        compiled = self._pick(args)
        before, start = compile_count(), time.perf_counter()
        out = compiled(*args, **kwargs)
        new = compile_count() - before
        if new:
            seconds = time.perf_counter() - start
            self.compilations += new
            self.compile_seconds += seconds
            kind = 'for this input size' if compiled is self.static else 'with dynamic height/width'
            print_log(f'fast inference: compiled {self.name} {kind} (input {_shapes(args)}) in {seconds:.1f} s '
                      f'({self.compilations} graph(s) for this part so far)', logger='current')
        return out


def _parts(model: nn.Module) -> Dict[str, nn.Module]:
    found = {name: getattr(model, name) for name in PARTS if isinstance(getattr(model, name, None), nn.Module)}
    if not found:  # a bare backbone (or any plain module)
        found = {type(model).__name__: model}
    return found


def accelerate(model: nn.Module, compile: bool = True, dtype: Optional[str] = None, deploy: bool = True,
               channels_last: bool = True, dynamic: Optional[bool] = None,
               check_support: bool = True) -> Dict[str, Any]:
    """Make ``model`` (a detector, segmentor, classifier or a bare backbone) faster for inference, in place.

    Args:
        compile: pass each part's forward through ``torch.compile``.
        dtype: None (fp32), ``'bf16'`` or ``'fp16'`` autocast inside each part (outputs come back as fp32).
        deploy: fold the MetaFormer backbone's affine terms first (``switch_to_deploy``).
        channels_last: NHWC weights and backbone input.
        dynamic: None: one graph for the first input shape and one with dynamic height/width for all others (see
            :class:`CompiledForward`); True: dynamic height/width from the first call (one graph, slightly slower
            kernels); False: one graph per input shape.
        check_support: refuse bf16 on a CPU without bf16 instructions (False runs it emulated, slowly).

    Returns a report: ``parts`` (names), ``compiled`` (part -> :class:`CompiledForward`), ``dtype``, ``deploy``,
    ``cache_dir``. Raises :class:`FastInferenceError` when the device cannot run what was asked.
    """
    model.eval()
    param = next(model.parameters(), None)
    device_type = param.device.type if param is not None else 'cpu'
    autocast_dtype = resolve_dtype(dtype, device_type, check_support)
    cache_dir = None
    if compile:
        if device_type == 'cpu':
            check_cpp_compiler()
        cache_dir = use_persistent_compile_cache()
        # equal height and width must not tie the two dimensions together in the dynamic graph
        torch.fx.experimental._config.use_duck_shape = False
    parts = _parts(model)
    report: Dict[str, Any] = dict(parts=list(parts), compiled={}, dtype=dtype, deploy=False, cache_dir=cache_dir)
    if deploy:
        for name, part in parts.items():
            if hasattr(part, 'switch_to_deploy'):
                part.switch_to_deploy()
                report['deploy'] = True
    for name, part in parts.items():
        forward = part.forward
        if channels_last:
            part.to(memory_format=torch.channels_last)
            if name in ('backbone', type(model).__name__):
                forward = _channels_last_input(forward)
        if autocast_dtype is not None:
            forward = _autocast(forward, device_type, autocast_dtype)
        if compile:
            forward = CompiledForward(name, forward, dynamic=dynamic)
            report['compiled'][name] = forward
        part.forward = forward
    what = ', '.join(parts)
    print_log(f"fast inference on {device_type}: {what}; "
              f"{'compiled' if compile else 'eager'}, {dtype or 'fp32'}, "
              f"deploy folding {'on' if report['deploy'] else 'off'}, channels_last {'on' if channels_last else 'off'}"
              + (f'; compile cache {cache_dir}' if cache_dir else ''), logger='current')
    return report
