"""Inference speed and memory of a backbone's feature pyramid: ours (eager; deploy = folded + channels_last; fast
fp32 = folded + channels_last + ``torch.compile``; fast bf16 = the same under bf16 autocast) against its peers
(:mod:`.peers`), every output checked before anything is timed; optionally the compute floor and a cost-against-size
curve."""
import contextlib
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from mmpoolformer.analysis.compute_floor import compute_floor, matmul_peak_gmacs
from mmpoolformer.analysis.pass_profile import outside_lines, profiled_kernels, time_by_pass
from mmpoolformer.engine.acceleration import accelerate, bf16_available
from mmpoolformer.errors import ConfigError
from mmpoolformer.fileio import write_atomically
from mmpoolformer.models import MetaFormer
from mmpoolformer.models.names import BackboneName, parse_backbone_name

from .compare import max_diff, output_scale, relative_error
from .measure import Variant, no_grad_call, table, time_interleaved
from .peers import build_ours, checked_peers, peer_bf16_error, stage_outputs_without_norm
from .synthetic_weights import official_weights


def benchmark_backbone(arch: str, shape: Sequence[int], batch: int, device: torch.device,
                       depths: Optional[Sequence[int]] = None, repeats: int = 10, warmup: int = 2,
                       tolerance: float = 1e-4, bf16_tolerance: float = 2e-2, force_bf16: bool = False,
                       official_src: Optional[str] = None, floor: bool = False, plot: Optional[str] = None,
                       plot_sizes: Sequence[int] = (224, 320, 448, 640, 800),
                       log: Callable[[str], None] = print) -> dict:
    """Time the backbone ``arch`` (a name, :mod:`mmpoolformer.models.names`) on random (``batch``, 3, *``shape``)
    inputs against its peers, each loaded with the same random official-layout weights.

    Every fp32 variant must match our eager outputs within ``tolerance`` times their scale; our bf16 variants within
    the larger of ``bf16_tolerance`` and the best peer's own relative error under bf16 autocast (else
    :class:`~mmpoolformer.errors.ConfigError`). Calls are interleaved over ``repeats`` rounds after ``warmup``
    calls. ``floor`` adds the compute floor (:func:`compute_floor_report`); ``plot`` (a PNG path, PoolFormer only)
    the eager cost against square input sides ``plot_sizes``. Progress, tables and the ``summary:`` and
    ``memory:`` lines go to ``log``; returns the results (rows, skipped peers, summary, ...)."""
    target = parse_backbone_name(arch, shape, depths)
    if plot and target.baseline:
        raise ConfigError('--plot draws PoolFormer against the pooling/attention hybrid; pass a PoolFormer --arch '
                          '(s12, ...) with it')
    state = official_weights(target)
    torch.manual_seed(1)
    x = torch.randn(batch, 3, *shape, device=device)
    peers, skipped, ours_eager, reference = checked_peers(target, state, x, tolerance, official_src, log)

    ours = [Variant('ours eager fp32', no_grad_call(ours_eager, x), 'ours')]
    candidates = [('ours deploy fp32', dict(compile=False)), ('ours fast fp32', dict(compile=True))]
    with_bf16 = bf16_available(device) or force_bf16
    bf16_limit = bf16_tolerance
    if with_bf16:
        candidates.append(('ours fast bf16', dict(compile=True, dtype='bf16')))
        peer_error = peer_bf16_error(peers, x, reference, stage_outputs_without_norm(ours_eager, x))
        if peer_error is not None:
            name, err = peer_error
            log(f'check {name} under bf16 autocast: relative error against eager fp32 {err:.2e}')
            bf16_limit = max(bf16_limit, err)
    fast_runs = {}
    for name, options in candidates:  # (--floor: compiled with the kernels visible to the profiler)
        with profiled_kernels() if floor else contextlib.nullcontext():
            fast_runs[name] = compiled_variant(name, options, target, state, x, reference, tolerance, bf16_limit,
                                               force_bf16, log)
        ours.append(fast_runs[name])

    time_interleaved(peers + ours, warmup, repeats, device)
    rows = [v.stats(batch) for v in peers + ours]
    outputs = ' (stage outputs without output norms, as timm\'s)' if target.baseline else ''
    log(table(f'backbone {target.name}{outputs}, batch {batch}, input {shape[0]}x{shape[1]}, {device}, torch '
              f'threads {torch.get_num_threads()}', rows))
    for s in skipped:
        log(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer'), key=lambda r: r['median_ms'], default=None)
    summary = summary_line(best_peer, by_name.get('ours fast fp32'), by_name.get('ours fast bf16'))
    log(summary)
    memory = memory_line(best_peer, [by_name[n] for n in ('ours eager fp32', 'ours fast fp32', 'ours fast bf16')
                                     if n in by_name])
    log(memory)
    result = dict(mode='backbone', arch=target.name, family=target.family, depths=target.arch['depths'],
                  shape=list(shape), batch=batch, device=str(device), threads=torch.get_num_threads(),
                  torch=torch.__version__, norm_outputs=not target.baseline, rows=rows, skipped=skipped,
                  summary=summary, memory=memory)
    if best_peer is not None:
        result['against_best_peer'] = {r['name']: dict(speedup=best_peer['median_ms'] / r['median_ms'],
                                                       peak_memory_ratio=r['peak_mb'] / best_peer['peak_mb'])
                                       for r in rows if r['group'] == 'ours'}
    if floor:
        fast = {precision: (fast_runs[name].run, by_name[name]['median_ms'])
                for precision, name in (('fp32', 'ours fast fp32'), ('bf16', 'ours fast bf16')) if name in by_name}
        result['floor'] = compute_floor_report(target, state, x, best_peer, with_bf16, repeats, log, fast)
    if plot:
        result['scaling'] = plot_scaling(arch, plot, plot_sizes, repeats, device, log)
    return result


def compiled_variant(name: str, options: dict, target: BackboneName, state, x: torch.Tensor, reference,
                     tolerance: float, bf16_limit: float, force_bf16: bool, log: Callable[[str], None]) -> Variant:
    """One of our variants (``options`` of :func:`~mmpoolformer.engine.acceleration.accelerate`), its outputs checked
    against eager fp32 before it may be timed (:class:`~mmpoolformer.errors.ConfigError` where they differ)."""
    model = build_ours(target, state).eval().to(x.device)
    report = accelerate(model, **options, check_support=not force_bf16)
    start = time.perf_counter()
    with torch.no_grad():
        out = model(x)
    first = time.perf_counter() - start
    if 'dtype' in options:
        err = relative_error(out, reference)
        log(f'check {name}: relative error against eager fp32 {err:.2e} (bf16 keeps ~3 significant digits)')
        if not err <= bf16_limit:
            raise ConfigError(f'{name} outputs differ from eager fp32 by a relative {err:.3g} (> '
                              f'{bf16_limit:.3g}, the larger of --bf16-tolerance and the best peer\'s own bf16 '
                              f'error); refusing to time it')
    else:
        diff, limit = max_diff(out, reference), tolerance * output_scale(reference)
        log(f'check {name}: max |diff| against eager fp32 {diff:.2e} (allowed {limit:.1e})')
        if not diff <= limit:
            raise ConfigError(f'{name} outputs differ from eager fp32 by {diff:.3g} (> {limit:.3g}); refusing '
                              f'to time it')
    variant = Variant(name, no_grad_call(model, x), 'ours')
    if report['compiled']:
        variant.note = f'compiled in {first:.1f} s'
    return variant


def compute_floor_report(target: BackboneName, state, x: torch.Tensor, best_peer: Optional[dict], with_bf16: bool,
                         repeats: int, log: Callable[[str], None] = print,
                         fast: Optional[Dict[str, Tuple[Callable[[], object], float]]] = None) -> dict:
    """The compute floor (:func:`mmpoolformer.analysis.compute_floor.compute_floor`) of our deploy model
    (channels_last) in fp32 and, with ``with_bf16``, under bf16 autocast: what its matrix products, convolutions and
    attention cost alone, and the largest speedup over the best peer that these kernels leave possible.

    ``fast`` (precision -> (one call of our fast path, its median ms)) adds, per precision, the time outside the heavy
    kernels (fast median minus floor) and where it goes by kind of pass
    (:func:`mmpoolformer.analysis.pass_profile.time_by_pass`; the fast path compiled with its kernels visible to the
    profiler), under ``floor[precision]['outside']``."""
    model = build_ours(target, state).eval().to(x.device)
    accelerate(model, compile=False)
    x = x.contiguous(memory_format=torch.channels_last)
    floors = {}
    for precision, dtype in [('fp32', None)] + ([('bf16', torch.bfloat16)] if with_bf16 else []):
        floor = compute_floor(model, x, dtype=dtype, repeats=repeats)
        peak = matmul_peak_gmacs(dtype or torch.float32, device=x.device.type)
        log(f"compute floor {precision} (heavy kernels replayed alone, the faster equivalent counted): "
            f"{floor['total_ms']:.1f} ms; a 2048^3 matrix product runs at {peak:.0f} G MAC/s")
        for op in floor['ops']:
            log(f"  {op['kind']:<16} calls {op['calls']:>4}  G MACs {op['gmacs']:>7.2f}  {op['ms']:>8.1f} ms  "
                f"{op['gmacs_per_s']:>6.0f} G MAC/s")
        if best_peer is not None:
            floor['largest_speedup'] = best_peer['median_ms'] / floor['total_ms']
            log(f"  largest speedup possible over {best_peer['name']}: {floor['largest_speedup']:.2f}x")
        floor['matmul_peak_gmacs_per_s'] = peak
        if fast and precision in fast:
            run, fast_ms = fast[precision]
            passes = time_by_pass(run, calls=max(2, repeats // 3))
            for line in outside_lines(precision, fast_ms, floor['total_ms'], passes):
                log(line)
            floor['outside'] = dict(ms=fast_ms - floor['total_ms'], ratio_to_floor=fast_ms / floor['total_ms'],
                                    passes_ms=dict(passes))
        floors[precision] = floor
    return floors


def summary_line(best_peer: Optional[dict], fast32: Optional[dict], fast16: Optional[dict]) -> str:
    """``summary: best peer fp32 <ms> ms (<name>); fast fp32 <ms> ms (<x>x); fast bf16 <ms> ms (<x>x)`` (``fast
    bf16 n/a`` where bf16 was not timed)."""
    if best_peer is None:
        return 'summary: no peer could run'
    base = best_peer['median_ms']
    line = f"summary: best peer fp32 {base:.1f} ms ({best_peer['name'].split()[0]}); "
    line += f"fast fp32 {fast32['median_ms']:.1f} ms ({base / fast32['median_ms']:.2f}x); "
    if fast16 is None:
        return line + 'fast bf16 n/a'
    return line + f"fast bf16 {fast16['median_ms']:.1f} ms ({base / fast16['median_ms']:.2f}x)"


def memory_line(best_peer: Optional[dict], ours: List[dict]) -> str:
    """``memory: <peer> <MiB> MiB; ours eager fp32 <MiB> MiB (<x>x); ...``: peak memory of one call, and its ratio to
    the best peer's."""
    if best_peer is None:
        return 'memory: ' + '; '.join(f"{r['name']} {r['peak_mb']:.0f} MiB" for r in ours)
    base = best_peer['peak_mb']
    return (f"memory: {best_peer['name']} {base:.0f} MiB; "
            + '; '.join(f"{r['name']} {r['peak_mb']:.0f} MiB ({r['peak_mb'] / base:.2f}x)" for r in ours))


def plot_scaling(arch: str, path: str, sides: Sequence[int], repeats: int, device: torch.device,
                 log: Callable[[str], None] = print) -> dict:
    """Eager fp32 cost (batch 1) against square input ``sides`` for PoolFormer ``arch`` and the hybrid [pool, pool,
    attention, attention] of the same size, drawn into the PNG ``path``; returns the curves."""
    models = {
        'PoolFormer (pooling in every stage)': MetaFormer(arch=arch),
        'hybrid MetaFormer (attention in stages 3-4)': MetaFormer(
            arch=arch, token_mixers=[dict(type='Pooling')] * 2 + [dict(type='Attention', head_dim=32)] * 2),
    }
    curves = {}
    for name, model in models.items():
        model = model.eval().to(device)
        points = []
        for side in sides:
            x = torch.randn(1, 3, side, side, device=device)
            v = Variant(name, no_grad_call(model, x), 'scaling')
            time_interleaved([v], 1, max(2, repeats // 2), device)
            points.append(dict(pixels=side * side, side=side, median_ms=statistics.median(v.times_ms)))
            log(f'scaling {name}: {side}x{side} {points[-1]["median_ms"]:.1f} ms')
        curves[name] = points
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for name, points in curves.items():
        ax.plot([p['pixels'] / 1e6 for p in points], [p['median_ms'] for p in points], marker='o', label=name)
    ax.set_xlabel('input pixels (millions, square images)')
    ax.set_ylabel('eager fp32 forward (ms, batch 1)')
    ax.set_title(f'{arch}: cost against input size ({torch.get_num_threads()} threads)')
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    write_atomically(path, lambda partial: fig.savefig(partial, format=osp.splitext(path)[1][1:] or 'png'),
                     what='plot')
    plt.close(fig)
    log(f'wrote {path}')
    return curves
