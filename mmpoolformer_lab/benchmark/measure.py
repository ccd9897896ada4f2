"""Timing and memory of model calls: interleaved rounds, so that drift of the machine hits every variant alike."""
import statistics
import time
from typing import Callable, List

import torch


def peak_memory_mb(fn: Callable[[], object], device: torch.device) -> float:
    """Peak memory that one call allocates beyond what exists before it, in MiB: CUDA's peak allocation, or on CPU
    the running sum, in time order, of every allocation and free torch's profiler records during the call (its raw
    memory events, so allocations inside one operator or one compiled graph count, not only each operator's net)."""
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2 ** 20
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU),
                    key=lambda e: e.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return peak / 2 ** 20


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize()


class Variant:
    """One timed thing: ``run()`` does one call; ``setup_s`` is the time of the first call(s) (compilation), ``group``
    says whose it is ('peer', 'ours', ...), ``note`` goes beside its row."""

    def __init__(self, name: str, run: Callable[[], object], group: str):
        self.name, self.run, self.group = name, run, group
        self.times_ms: List[float] = []
        self.setup_s = 0.
        self.peak_mb = float('nan')
        self.note = ''

    def stats(self, batch: int) -> dict:
        """``name``, ``group``, ``median_ms``, ``min_ms``, ``max_ms``, ``images_per_s``, ``peak_mb``,
        ``first_calls_s``, ``note``."""
        median = statistics.median(self.times_ms)
        return dict(name=self.name, group=self.group, median_ms=median, min_ms=min(self.times_ms),
                    max_ms=max(self.times_ms), images_per_s=1000. * batch / median, peak_mb=self.peak_mb,
                    first_calls_s=self.setup_s, note=self.note)


def time_interleaved(variants: List[Variant], warmup: int, repeats: int, device: torch.device) -> None:
    """``warmup`` untimed calls of each variant (its ``setup_s``) and one call measuring its peak memory, then
    ``repeats`` rounds of one timed call of each, in turn."""
    for v in variants:
        start = time.perf_counter()
        for _ in range(warmup):
            v.run()
        synchronize(device)
        v.setup_s = time.perf_counter() - start
        v.peak_mb = peak_memory_mb(v.run, device)
    for _ in range(repeats):
        for v in variants:
            synchronize(device)
            start = time.perf_counter()
            v.run()
            synchronize(device)
            v.times_ms.append((time.perf_counter() - start) * 1000.)


def no_grad_call(model, x) -> Callable[[], object]:
    """``model(x)`` without autograd, as a variant's ``run``."""
    def run():
        with torch.no_grad():
            return model(x)
    return run


def table(title: str, rows: List[dict]) -> str:
    """The rows of :meth:`Variant.stats` as a text table under ``title`` (a blank line first)."""
    lines = ['', title, f"{'model':<30} {'median ms':>10} {'min ms':>9} {'max ms':>9} {'img/s':>8} {'peak MiB':>9} "
                        f"{'first calls s':>13}"]
    for r in rows:
        lines.append(f"{r['name']:<30} {r['median_ms']:>10.1f} {r['min_ms']:>9.1f} {r['max_ms']:>9.1f} "
                     f"{r['images_per_s']:>8.2f} {r['peak_mb']:>9.0f} {r['first_calls_s']:>13.1f}"
                     + (f"  {r['note']}" if r['note'] else ''))
    return '\n'.join(lines)
