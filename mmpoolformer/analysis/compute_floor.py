"""The compute floor of a forward pass: what its matrix products, convolutions and attention cost on this machine when
each runs alone, with nothing else around it.

Every implementation of a model calls the same heavy kernels (oneDNN's matrix products and convolutions, PyTorch's
fused attention on CPU; cuBLAS/cuDNN/FlashAttention on CUDA); what an implementation can win is the rest: norms,
activations, residual arithmetic, layout changes and memory traffic. :func:`compute_floor` records the heavy calls of
one forward pass (their operator, shapes, strides and dtypes, under whatever autocast is active), then replays each
distinct call alone on fresh random inputs of the same layout and sums the times. A peer's time divided by this floor
is the largest speedup any implementation of the model can reach with these kernels on this machine, even if all
other work took no time at all.

    floor = compute_floor(model, x)                           # fp32
    floor = compute_floor(model, x, dtype=torch.bfloat16)     # under bf16 autocast
    floor['total_ms'], floor['ops']                           # per operator: calls, G MACs, ms, G MAC/s
"""
import statistics
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Optional

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .macs import attention_macs, conv_macs, matmul_macs

aten = torch.ops.aten

# operator -> the name the floor reports it under
MATRIX_PRODUCTS = {aten.mm.default: 'matrix product', aten.addmm.default: 'matrix product',
                   aten.bmm.default: 'matrix product', aten.baddbmm.default: 'matrix product'}
CONVOLUTIONS = {aten.convolution.default: 'convolution'}
ATTENTION = {getattr(aten, name).default: 'attention' for name in (
    '_scaled_dot_product_flash_attention_for_cpu', '_scaled_dot_product_flash_attention',
    '_scaled_dot_product_efficient_attention', '_scaled_dot_product_cudnn_attention') if hasattr(aten, name)}
HEAVY_OPS = {**MATRIX_PRODUCTS, **CONVOLUTIONS, **ATTENTION}


def _spec(value):
    """A hashable description of one argument: tensors by shape, stride, dtype and device; other values as is."""
    if torch.is_tensor(value):
        return ('tensor', tuple(value.shape), tuple(value.stride()), value.dtype, str(value.device))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_spec(v) for v in value))
    return ('value', value)


def _materialise(spec):
    """Fresh inputs for a recorded argument description (random values of the same layout)."""
    kind = spec[0]
    if kind == 'tensor':
        _, shape, stride, dtype, device = spec
        tensor = torch.empty_strided(shape, stride, dtype=dtype, device=device)
        return tensor.normal_() if dtype.is_floating_point else tensor.zero_()
    if kind in ('list', 'tuple'):
        items = [_materialise(s) for s in spec[1]]
        return items if kind == 'list' else tuple(items)
    return spec[1]


def call_macs(op, args: tuple) -> float:
    """Multiply-accumulates of one heavy call (:mod:`.macs`' formulas; attention: ``q k^T`` and ``p v``)."""
    if op in MATRIX_PRODUCTS:
        a, b = (args[1], args[2]) if op in (aten.addmm.default, aten.baddbmm.default) else (args[0], args[1])
        return float(matmul_macs(a.shape, b.shape))
    if op in CONVOLUTIONS:  # (a forward convolution: the backbones have no transposed ones)
        return float(conv_macs(args[0].shape, args[1].shape, args[3], args[4], args[5]))
    return float(attention_macs(args[0].shape, args[1].shape, args[2].shape))


class _Recorder(TorchDispatchMode):
    """Counts the heavy calls of everything run under it, by argument description."""

    def __init__(self):
        super().__init__()
        self.calls: Dict[tuple, dict] = OrderedDict()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in HEAVY_OPS:
            key = (func, _spec(args), _spec(tuple(sorted(kwargs.items()))))
            kind = 'matrix product' if _is_pointwise(func, args) else HEAVY_OPS[func]
            entry = self.calls.setdefault(key, dict(op=func, kind=kind, count=0,
                                                    macs=call_macs(func, args), kwargs=kwargs))
            entry['count'] += 1
        return func(*args, **kwargs)


def _is_pointwise(op, args) -> bool:
    """Whether the call is a 1x1 convolution with stride 1, no padding and one group: a matrix product over the
    pixels (the floor reports it as one)."""
    if op not in CONVOLUTIONS:
        return False
    weight, stride, padding, dilation, transposed, groups = args[1], args[3], args[4], args[5], args[6], args[8]
    return (tuple(weight.shape[2:]) == (1, 1) and all(v == 1 for v in stride) and all(v == 0 for v in padding)
            and all(v == 1 for v in dilation) and not transposed and groups == 1)


def _equivalents(op, args: tuple, kwargs: dict) -> Dict[str, Callable[[], object]]:
    """Other ways to compute the same result as the call ``op(*args)``, by name."""
    if _is_pointwise(op, args):
        x, weight, bias = args[0], args[1], args[2]
        pixels = x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])  # (N*H*W, C_in), channels_last
        matrix = weight.flatten(1).t()  # (C_in, C_out)
        if bias is None:
            return dict(as_matrix_product=lambda: torch.mm(pixels, matrix))
        return dict(as_matrix_product=lambda: torch.addmm(bias, pixels, matrix))
    if op in ATTENTION and args[0].dtype in (torch.bfloat16, torch.float16):
        wide = tuple(a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args)
        return dict(in_fp32=lambda: op(*wide, **kwargs))
    return {}


def _time(run: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median seconds of ``run()`` after one untimed call."""
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    run()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def compute_floor(model: torch.nn.Module, x: torch.Tensor, dtype: Optional[torch.dtype] = None,
                  repeats: int = 5) -> dict:
    """Record one forward pass of ``model(x)`` (under ``dtype`` autocast if given) and replay its heavy calls alone.

    Where an equivalent computation exists it is timed too and the faster counts (an implementation may choose
    either): a 1x1 convolution (stride 1, no padding, one group) as a matrix product over the pixels, attention in
    reduced precision also in fp32.

    Returns ``dict(total_ms, ops=[dict(kind, calls, gmacs, ms, gmacs_per_s), ...], calls=[...])``: ``ops`` summed by
    kind (matrix product, 1x1 convolutions included; convolution; attention), ``calls`` one entry per distinct call
    (operator, shapes, dtype, count, G MACs and ms per call, the faster way). Times are medians of ``repeats`` calls
    each.
    """
    recorder = _Recorder()
    with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None), recorder:
        model(x)
    calls: List[dict] = []
    for (op, arg_spec, _), entry in recorder.calls.items():
        args = _materialise(arg_spec)
        ways = dict(as_recorded=lambda: op(*args, **entry['kwargs']), **_equivalents(op, args, entry['kwargs']))
        seconds = {name: _time(run, repeats, x.device) for name, run in ways.items()}
        fastest = min(seconds, key=seconds.get)
        shapes = [tuple(a.shape) for a in args if torch.is_tensor(a)]
        calls.append(dict(kind=entry['kind'], op=str(op), shapes=shapes, dtype=str(args[0].dtype),
                          count=entry['count'], ms_per_call=1000. * seconds[fastest], fastest=fastest,
                          gmacs_per_call=entry['macs'] / 1e9))
    ops = OrderedDict()
    for call in calls:
        kind = ops.setdefault(call['kind'], dict(kind=call['kind'], calls=0, gmacs=0., ms=0.))
        kind['calls'] += call['count']
        kind['gmacs'] += call['count'] * call['gmacs_per_call']
        kind['ms'] += call['count'] * call['ms_per_call']
    for kind in ops.values():
        kind['gmacs_per_s'] = kind['gmacs'] / (kind['ms'] / 1000.) if kind['ms'] else float('nan')
    return dict(total_ms=sum(k['ms'] for k in ops.values()), ops=list(ops.values()), calls=calls)


def matmul_peak_gmacs(dtype: torch.dtype = torch.float32, size: int = 2048, device: str = 'cpu',
                      repeats: int = 5) -> float:
    """G multiply-accumulates per second of one large square matrix product in ``dtype`` on ``device``: the
    machine's practical matrix-product peak."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    return size ** 3 / _time(lambda: a @ b, repeats, torch.device(device)) / 1e9
