"""Where a forward pass spends the time outside its heavy kernels, by kind of pass.

:func:`time_by_pass` profiles calls of a model (eager or compiled) with torch's profiler and sums each operator's
own time into the kinds of :func:`pass_kinds`: the heavy kernels that :mod:`.compute_floor` replays (matrix
products, convolutions, attention), and the passes around them: pooling, norms, activations, layer scales and
residual arithmetic, copies and dtype casts, and framework overhead (what the profiler sees no kernel for: Python,
dispatch, the compiled graph's wrapper). A kernel that torch.compile fused from several of them is one pass, counted
under all their names joined (``norm + pooling + scale/residual``): its time cannot be split.

torch.compile's C++ kernels show up in the profiler only when compiled with
``torch._inductor.config.cpp.enable_kernel_profile = True`` (:func:`profiled_kernels`); without it their time is
the compiled graph's own and lands under framework overhead.
"""
import contextlib
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterator, List

import torch
from torch.profiler import ProfilerActivity, profile

HEAVY = 'heavy kernels'
OVERHEAD = 'framework overhead'
# operator names (aten, oneDNN, inductor's extern calls) of the heavy kernels
_HEAVY_OPERATORS = re.compile(r'(^aten::(mm|addmm|bmm|baddbmm|matmul|linear|convolution|_convolution|'
                              r'mkldnn_convolution|cudnn_convolution|_scaled_dot_product\w*)$)|'
                              r'(^mkldnn::|^onednn::|_convolution_pointwise|_linear_pointwise|mkl_linear)')
# name part -> kind of pass, in the order kinds are listed when a kernel fuses several
_PASS_TOKENS = OrderedDict([
    ('norm', ('group_norm', 'layer_norm', 'batch_norm', 'var_mean', 'rsqrt')),
    ('pooling', ('avg_pool', 'max_pool', 'adaptive_avg_pool')),
    ('activation', ('gelu', 'relu', 'silu', 'sigmoid', 'tanh', 'erf', 'softmax', 'exp')),
    ('scale/residual', ('add', 'mul', 'sub', 'div')),
    ('copy/cast', ('clone', 'copy', 'permute', 'contiguous', 'to_copy', 'cat', 'convert_element_type', 'pad')),
])


def pass_kinds(name: str) -> str:
    """The kind of pass of one profiler event ``name``: :data:`HEAVY`, one or more of the kinds above (``' + '``
    joined, for a fused kernel), or :data:`OVERHEAD`."""
    if _HEAVY_OPERATORS.search(name):
        return HEAVY
    words = name.split('::')[-1].lower()
    kinds = [kind for kind, tokens in _PASS_TOKENS.items()
             if any(re.search(rf'(^|_){token}(_|\d|$)', words) for token in tokens)]
    return ' + '.join(kinds) if kinds else OVERHEAD


@contextlib.contextmanager
def profiled_kernels() -> Iterator[None]:
    """Compile with torch.compile's C++ kernels visible to the profiler (inside this block)."""
    from torch._inductor import config
    with config.patch({'cpp.enable_kernel_profile': True}):
        yield


@torch.no_grad()
def time_by_pass(run: Callable[[], object], calls: int = 3) -> Dict[str, float]:
    """Milliseconds per call of ``run()`` by kind of pass (:func:`pass_kinds`), largest first, after one untimed
    call; each operator counts its own time (not its children's)."""
    run()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            run()
    totals: Dict[str, float] = {}
    for event in prof.key_averages():
        kind = pass_kinds(event.key)
        totals[kind] = totals.get(kind, 0.) + event.self_cpu_time_total / 1000. / calls
    return OrderedDict(sorted(totals.items(), key=lambda item: -item[1]))


def outside_lines(precision: str, fast_ms: float, floor_ms: float, passes: Dict[str, float]) -> List[str]:
    """The report of the time outside the heavy kernels: the fast path's median minus the floor, and the profile's
    passes other than the heavy kernels with their share of what the profile saw outside them."""
    outside = {kind: ms for kind, ms in passes.items() if kind != HEAVY}
    total = sum(outside.values())
    lines = [f'outside the heavy kernels {precision}: fast {fast_ms:.1f} ms - floor {floor_ms:.1f} ms = '
             f'{fast_ms - floor_ms:.1f} ms ({(fast_ms - floor_ms) / floor_ms:.2f}x the floor); by kind of pass '
             f'(profiler, per call; heavy kernels {passes.get(HEAVY, 0.):.1f} ms there):']
    lines += [f'  {kind:<44} {ms:>7.1f} ms  {100. * ms / total:>5.1f} %' for kind, ms in outside.items()]
    return lines
