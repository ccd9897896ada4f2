"""Speed of mmpoolformer's PoolFormer against its peers, and of whole models, eager against fast.

    python tools/analysis/benchmark.py backbone --arch s12 --shape 800 1216 [--batch 1] [--official-src FILE]
    python tools/analysis/benchmark.py train --arch s12 --shape 512 512 --batch 2
    python tools/analysis/benchmark.py model CONFIG [--checkpoint CKPT] --shape 800 1216 [--batch 1]
    python tools/analysis/benchmark.py loop CONFIG [--iters 20] [--runs fp32 amp compile]
    python tools/analysis/benchmark.py onnx CONFIG [--checkpoint CKPT] --shape 800 1216 [--backbone-only]

backbone: inference of the feature pyramid. This project's backbone (eager; deploy = folded + channels_last; fast
fp32 = folded + channels_last + torch.compile; fast bf16 = the same under bf16 autocast) against mmpretrain 1.2's
``PoolFormer``, timm's ``poolformer_*`` (features_only) and the official model definition (the sail-sg repository's
``models/poolformer.py``, which is not on PyPI: pass its path with ``--official-src``). One set of random weights in
the official layout is loaded into every model (ours through this project's converter, timm's through its own
filter), and every model's outputs are checked against ours before anything is timed: a model whose outputs differ
is refused. Calls are interleaved (one call of each model per round), so drift of the machine hits all alike.

train: one training step (forward, a loss over every pyramid level, backward) of the same models; ours in fp32
eager, fp32 channels_last, and under bf16 autocast (mixed precision); ``--compile-train`` adds the channels_last
variants passed through ``torch.compile``. Losses and gradients are checked first.

model: a config's whole detector or segmentor through its test path (``model.test_step``: preprocessing, network,
post-processing) at the given shape, eager fp32 against ``mmpoolformer.engine.fast_inference.accelerate``, and the
network alone (``mode='tensor'``). Without ``--checkpoint`` the weights are the model's own initialisation.

loop: the config's own training loop (its data, model and optimizer) through ``tools/train.py`` for ``--iters``
iterations, in fp32 and with each of ``--runs`` (``amp``: ``--amp``, bf16 autocast on CPU; ``compile``:
``--compile``), all from the same seed; prints every run's loss at every iteration, the largest relative difference
to fp32 and the time per iteration (median over the second half, after start-up and compilation).

onnx: the graph tools/deployment/export_onnx.py writes (backbone, segmentor, or detector up to its candidate boxes),
exported at ``--shape``, in ONNX Runtime (CPU) against the same graph in PyTorch eager fp32, batch 1.

The backbone, train, model and onnx modes print median/min/max ms, images/s, peak memory (CUDA: allocated; CPU:
the memory torch's profiler sees allocated during one call; not ONNX Runtime's), compile time and torch threads;
``--out`` writes the same as JSON. The backbone mode ends with one line scripts can read::

    summary: best peer fp32 <ms> ms (<name>); fast fp32 <ms> ms (<x>x); fast bf16 <ms> ms (<x>x)

(``fast bf16 n/a`` on a CPU without bf16 instructions). ``--plot FILE`` (backbone mode) draws the eager cost against
the number of input pixels for PoolFormer and for the hybrid MetaFormer with attention in the last two stages.
"""
import argparse
import copy
import importlib.util
import json
import os.path as osp
import re
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # run from a clone

import torch  # noqa: E402

from mmpoolformer.cli import run_cli  # noqa: E402
from mmpoolformer.errors import ConfigError as UserError  # noqa: E402
from mmpoolformer.fileio import write_atomically, write_text_atomically  # noqa: E402

PEERS = ('mmpretrain', 'timm', 'official')


# ----------------------------------------------------------------------------------------------- measuring

def peak_memory_mb(fn: Callable[[], object], device: torch.device) -> float:
    """Peak memory that one call allocates beyond what exists before it, in MiB: CUDA's peak allocation, or on CPU
    the running sum of the allocations and frees torch's profiler records during the call."""
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
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2 ** 20


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


class Variant:
    """One timed model: ``run()`` does one call; ``setup_s`` is the time of the first call(s) (compile)."""

    def __init__(self, name: str, run: Callable[[], object], group: str):
        self.name, self.run, self.group = name, run, group
        self.times_ms: List[float] = []
        self.setup_s = 0.
        self.peak_mb = float('nan')
        self.note = ''

    def stats(self, batch: int) -> dict:
        median = statistics.median(self.times_ms)
        return dict(name=self.name, group=self.group, median_ms=median, min_ms=min(self.times_ms),
                    max_ms=max(self.times_ms), images_per_s=1000. * batch / median, peak_mb=self.peak_mb,
                    first_calls_s=self.setup_s, note=self.note)


def time_interleaved(variants: List[Variant], warmup: int, repeats: int, device: torch.device) -> None:
    for v in variants:  # warm-up (and compilation) of each, timed as setup
        start = time.perf_counter()
        for _ in range(warmup):
            v.run()
        _sync(device)
        v.setup_s = time.perf_counter() - start
        v.peak_mb = peak_memory_mb(v.run, device)
    for _ in range(repeats):
        for v in variants:
            _sync(device)
            start = time.perf_counter()
            v.run()
            _sync(device)
            v.times_ms.append((time.perf_counter() - start) * 1000.)


def print_table(title: str, rows: List[dict]) -> None:
    print(f'\n{title}')
    print(f"{'model':<30} {'median ms':>10} {'min ms':>9} {'max ms':>9} {'img/s':>8} {'peak MiB':>9} "
          f"{'first calls s':>13}")
    for r in rows:
        print(f"{r['name']:<30} {r['median_ms']:>10.1f} {r['min_ms']:>9.1f} {r['max_ms']:>9.1f} "
              f"{r['images_per_s']:>8.2f} {r['peak_mb']:>9.0f} {r['first_calls_s']:>13.1f}"
              + (f"  {r['note']}" if r['note'] else ''))


# ----------------------------------------------------------------------------------------------- peers

def official_layout_weights(arch: dict, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights under the official key names (``patch_embed``, ``network.N``, ``norm0/2/4/6``), perturbed so
    that a misplaced tensor cannot go unnoticed (layer scales around 0.5, norm affines away from 1/0)."""
    from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer
    torch.manual_seed(seed)
    ref = MMPretrainPoolFormer(arch=_mmpretrain_arch(arch), out_indices=(0, 2, 4, 6), frozen_stages=-1)
    perturb(ref)
    return {k: v.clone() for k, v in ref.state_dict().items()}


@torch.no_grad()
def perturb(model: torch.nn.Module) -> None:
    """Layer scales uniform in [0.3, 0.7] (not 1e-5), norm weights around 1 and biases around 0 with noise."""
    for name, param in model.named_parameters():
        if 'layer_scale' in name:
            param.uniform_(0.3, 0.7)
        elif 'norm' in name and name.endswith('weight'):
            param.copy_(1 + 0.3 * torch.randn_like(param))
        elif name.endswith('bias'):
            param.copy_(0.2 * torch.randn_like(param))


def _mmpretrain_arch(arch: dict) -> dict:
    return dict(layers=arch['depths'], embed_dims=arch['embed_dims'], mlp_ratios=arch['mlp_ratios'],
                layer_scale_init_value=arch['layer_scale_init_value'])


def build_ours(arch_name: str, state: Dict[str, torch.Tensor]):
    from mmpoolformer import PoolFormer
    from mmpoolformer.checkpoint import convert_weights
    model = PoolFormer(arch=arch_name)
    model.load_state_dict(convert_weights(state).backbone, strict=True)
    return model


def build_mmpretrain(arch: dict, state: Dict[str, torch.Tensor]):
    from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer
    model = MMPretrainPoolFormer(arch=_mmpretrain_arch(arch), out_indices=(0, 2, 4, 6), frozen_stages=-1)
    model.load_state_dict(state, strict=True)
    return model


def build_timm(arch_name: str, arch: dict, state: Dict[str, torch.Tensor]):
    """timm's ``poolformer_<arch>`` with ``features_only``; its stage outputs carry no output norm."""
    import timm
    from timm.models.metaformer import checkpoint_filter_fn
    full = timm.create_model(f'poolformer_{arch_name}', pretrained=False)
    official = {k: v for k, v in state.items() if not k.startswith('norm')}
    dim = arch['embed_dims'][-1]
    official.update({'norm.weight': torch.ones(dim), 'norm.bias': torch.zeros(dim),
                     'head.weight': torch.zeros(1000, dim), 'head.bias': torch.zeros(1000)})
    full.load_state_dict(checkpoint_filter_fn(official, full), strict=True)  # strict: exactly timm's layout
    features = timm.create_model(f'poolformer_{arch_name}', pretrained=False, features_only=True)
    wanted = features.state_dict().keys()
    # features_only flattens the stage list: stages.0.* -> stages_0.*
    source = {re.sub(r'^stages\.(\d+)\.', r'stages_\1.', k): v for k, v in full.state_dict().items()}
    missing = [k for k in wanted if k not in source]
    if missing:
        raise RuntimeError(f'timm features_only model has keys the full model lacks: {missing[:3]}')
    features.load_state_dict({k: source[k] for k in wanted}, strict=True)
    return features


def load_official_module(path: str):
    if not osp.isfile(path):
        raise UserError(f'--official-src {path} does not exist; pass the official repository\'s '
                        f'models/poolformer.py (github.com/sail-sg/poolformer)')
    import timm.layers.helpers
    # the official file imports timm 0.5's module path timm.models.layers.helpers, which timm 1.0 moved
    sys.modules.setdefault('timm.models.layers.helpers', timm.layers.helpers)
    spec = importlib.util.spec_from_file_location('official_poolformer', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, 'PoolFormer'):
        raise UserError(f'--official-src {path} defines no PoolFormer class; pass the official models/poolformer.py')
    return module


def build_official(module, arch: dict, state: Dict[str, torch.Tensor]):
    model = module.PoolFormer(arch['depths'], embed_dims=arch['embed_dims'], mlp_ratios=arch['mlp_ratios'],
                              downsamples=[True] * len(arch['depths']), fork_feat=True,
                              layer_scale_init_value=arch['layer_scale_init_value'])
    model.load_state_dict(state, strict=True)
    return model


def max_diff(ours, theirs) -> float:
    if len(ours) != len(theirs):
        return float('inf')
    diffs = []
    for a, b in zip(ours, theirs):
        if a.shape != b.shape:
            return float('inf')
        diffs.append((a.float() - b.float()).abs().max().item())
    return max(diffs)


def relative_error(ours, reference) -> float:
    """Largest per-level ``||a - b|| / ||b||`` (for reduced-precision variants)."""
    return max(((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12)).item()
               for a, b in zip(ours, reference))


def stage_outputs_without_norm(model, x):
    """Our backbone's stage outputs before the output norms (what timm's features_only returns)."""
    outs = []
    x = model.stem(x)
    for stage in model.stages:
        x = stage(x)
        outs.append(x)
    return outs


# ----------------------------------------------------------------------------------------------- modes

def build_peer_variants(args, arch, state, x) -> (List[Variant], List[dict]):
    """The peers that can run here, checked equal to ours; returns (variants, skipped)."""
    ours = build_ours(args.arch, state).eval().to(x.device)
    with torch.no_grad():
        reference = ours(x)
        reference_plain = stage_outputs_without_norm(ours, x)
    variants, skipped = [], []
    builders = dict(mmpretrain=lambda: (build_mmpretrain(arch, state), reference),
                    timm=lambda: (build_timm(args.arch, arch, state), reference_plain),
                    official=None)
    if args.official_src:  # loaded after timm's model is built: it re-registers poolformer_* in timm's registry
        builders['official'] = lambda: (build_official(load_official_module(args.official_src), arch, state),
                                        reference)
    for name in PEERS:
        builder = builders[name]
        if builder is None:
            skipped.append(dict(name=name, reason='not available: pass --official-src PATH/TO/poolformer.py (the '
                                                  'official definition is not on PyPI)'))
            continue
        model, expected = builder()
        model = model.to(x.device)
        model.eval()  # (mmpretrain's train() returns None: no chaining)
        with torch.no_grad():
            diff = max_diff(list(model(x)), list(expected))
        print(f'check {name}: max |diff| against ours {diff:.2e}')
        if not diff <= args.tolerance:
            raise UserError(f'{name} outputs differ from ours by {diff:.3g} (> {args.tolerance}); refusing to time '
                            f'models that compute different things')
        variants.append(Variant(f'{name} eager fp32', _no_grad(model, x), 'peer'))
    return variants, skipped, ours, reference


def _no_grad(model, x):
    def run():
        with torch.no_grad():
            return model(x)
    return run


def bf16_available(device: torch.device) -> bool:
    from mmpoolformer.engine.fast_inference import cpu_has_bf16
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def backbone_mode(args, device) -> dict:
    from mmpoolformer.arch_settings import resolve_arch
    from mmpoolformer.engine.fast_inference import accelerate
    arch = resolve_arch(args.arch)
    state = official_layout_weights(arch)
    torch.manual_seed(1)
    x = torch.randn(args.batch, 3, *args.shape, device=device)
    peers, skipped, ours_eager, reference = build_peer_variants(args, arch, state, x)

    ours = [Variant('ours eager fp32', _no_grad(ours_eager, x), 'ours')]
    candidates = [('ours deploy fp32', dict(compile=False)), ('ours fast fp32', dict(compile=True))]
    with_bf16 = bf16_available(device) or args.force_bf16
    if with_bf16:
        candidates.append(('ours fast bf16', dict(compile=True, dtype='bf16')))
    for name, options in candidates:
        model = build_ours(args.arch, state).eval().to(device)
        report = accelerate(model, **options, check_support=not args.force_bf16)
        start = time.perf_counter()
        with torch.no_grad():
            out = model(x)
        first = time.perf_counter() - start
        if 'dtype' in options:
            err = relative_error(out, reference)
            print(f'check {name}: relative error against eager fp32 {err:.2e} (bf16 keeps ~3 significant digits)')
            if not err <= args.bf16_tolerance:
                raise UserError(f'{name} outputs differ from eager fp32 by a relative {err:.3g} (> '
                                f'{args.bf16_tolerance}); refusing to time it')
        else:
            diff = max_diff(out, reference)
            print(f'check {name}: max |diff| against eager fp32 {diff:.2e}')
            if not diff <= args.tolerance:
                raise UserError(f'{name} outputs differ from eager fp32 by {diff:.3g} (> {args.tolerance}); refusing '
                                f'to time it')
        variant = Variant(name, _no_grad(model, x), 'ours')
        if report['compiled']:
            variant.note = f'compiled in {first:.1f} s'
        ours.append(variant)

    time_interleaved(peers + ours, args.warmup, args.repeats, device)
    rows = [v.stats(args.batch) for v in peers + ours]
    print_table(f'backbone {args.arch}, batch {args.batch}, input {args.shape[0]}x{args.shape[1]}, {device}, torch '
                f'threads {torch.get_num_threads()}', rows)
    for s in skipped:
        print(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer'), key=lambda r: r['median_ms'], default=None)
    summary = summary_line(best_peer, by_name.get('ours fast fp32'), by_name.get('ours fast bf16'))
    print(summary)
    result = dict(mode='backbone', arch=args.arch, shape=args.shape, batch=args.batch, device=str(device),
                  threads=torch.get_num_threads(), torch=torch.__version__, rows=rows, skipped=skipped,
                  summary=summary)
    if args.plot:
        result['scaling'] = plot_scaling(args, device)
    return result


def summary_line(best_peer: Optional[dict], fast32: Optional[dict], fast16: Optional[dict]) -> str:
    if best_peer is None:
        return 'summary: no peer could run'
    base = best_peer['median_ms']
    line = f"summary: best peer fp32 {base:.1f} ms ({best_peer['name'].split()[0]}); "
    line += f"fast fp32 {fast32['median_ms']:.1f} ms ({base / fast32['median_ms']:.2f}x); "
    if fast16 is None:
        return line + 'fast bf16 n/a'
    return line + f"fast bf16 {fast16['median_ms']:.1f} ms ({base / fast16['median_ms']:.2f}x)"


def plot_scaling(args, device) -> dict:
    """Eager fp32 cost against input pixels for PoolFormer and the hybrid [pool, pool, attention, attention]."""
    from mmpoolformer import MetaFormer
    sides = args.plot_sizes
    models = {
        'PoolFormer (pooling in every stage)': MetaFormer(arch=args.arch),
        'hybrid MetaFormer (attention in stages 3-4)': MetaFormer(
            arch=args.arch, token_mixers=[dict(type='Pooling')] * 2 + [dict(type='Attention', head_dim=32)] * 2),
    }
    curves = {}
    for name, model in models.items():
        model = model.eval().to(device)
        points = []
        for side in sides:
            x = torch.randn(1, 3, side, side, device=device)
            v = Variant(name, _no_grad(model, x), 'scaling')
            time_interleaved([v], 1, max(2, args.repeats // 2), device)
            points.append(dict(pixels=side * side, side=side, median_ms=statistics.median(v.times_ms)))
            print(f'scaling {name}: {side}x{side} {points[-1]["median_ms"]:.1f} ms')
        curves[name] = points
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for name, points in curves.items():
        ax.plot([p['pixels'] / 1e6 for p in points], [p['median_ms'] for p in points], marker='o', label=name)
    ax.set_xlabel('input pixels (millions, square images)')
    ax.set_ylabel('eager fp32 forward (ms, batch 1)')
    ax.set_title(f'{args.arch}: cost against input size ({torch.get_num_threads()} threads)')
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    write_atomically(args.plot, lambda partial: fig.savefig(partial, format=osp.splitext(args.plot)[1][1:] or 'png'),
                     what='plot')
    print(f'wrote {args.plot}')
    return curves


def _train_step(model, x, optimizer, dtype=None, channels_last=False):
    device_type = x.device.type

    def run():
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=dtype, enabled=dtype is not None):
            outs = model(inputs)
            loss = sum(o.float().square().mean() for o in outs)
        loss.backward()
        optimizer.step()
        return loss
    return run


def train_mode(args, device) -> dict:
    from mmpoolformer.arch_settings import resolve_arch
    arch = resolve_arch(args.arch)
    state = official_layout_weights(arch)
    torch.manual_seed(1)
    x = torch.randn(args.batch, 3, *args.shape, device=device)
    builders = dict(mmpretrain=lambda: build_mmpretrain(arch, state))
    skipped = []
    if args.official_src:
        module = load_official_module(args.official_src)
        builders['official'] = lambda: build_official(module, arch, state)
    else:
        skipped.append(dict(name='official', reason='not available: pass --official-src PATH/TO/poolformer.py'))
    skipped.append(dict(name='timm', reason='features_only has no stage-output norms, so its training loss '
                                            'differs; it is timed in backbone mode'))

    def loss_and_grad(model, dtype=None, channels_last=False):
        model.train()
        model.zero_grad()
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = sum(o.float().square().mean() for o in model(inputs))
        loss.backward()
        grad = next(p.grad for n, p in model.named_parameters()
                    if n.endswith(('stem.weight', 'patch_embed.proj.weight')))
        return loss.item(), grad.clone()

    ours_ref = build_ours(args.arch, state).to(device)
    ref_loss, ref_grad = loss_and_grad(ours_ref)
    variants = []
    for name, builder in builders.items():
        model = builder().to(device)
        loss, grad = loss_and_grad(model)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        print(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        if rel > 1e-4 or grad_rel > 1e-3:
            raise UserError(f'{name} training step differs from ours (loss {rel:.3g}, gradient {grad_rel:.3g}); '
                            f'refusing to time it')
        variants.append(Variant(f'{name} eager fp32', _train_step(model, x, torch.optim.SGD(model.parameters(),
                                                                                           lr=0.)), 'peer'))
    ours_options = [('ours eager fp32', None, False, False), ('ours channels_last fp32', None, True, False)]
    with_bf16 = bf16_available(device) or args.force_bf16
    if with_bf16:
        ours_options.append(('ours channels_last bf16', torch.bfloat16, True, False))
    if args.compile_train:
        ours_options.append(('ours compiled channels_last fp32', None, True, True))
        if with_bf16:
            ours_options.append(('ours compiled channels_last bf16', torch.bfloat16, True, True))
    for name, dtype, channels_last, compiled in ours_options:
        model = build_ours(args.arch, state).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        if compiled:
            start = time.perf_counter()
            model = torch.compile(model)
            loss_and_grad(model, dtype, channels_last)  # compiles forward and backward
            print(f'{name}: compiled forward and backward in {time.perf_counter() - start:.1f} s')
        loss, grad = loss_and_grad(model, dtype, channels_last)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        print(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        limit = (2e-2, 1e-1) if dtype is not None else (1e-4, 1e-3)
        if rel > limit[0] or grad_rel > limit[1]:
            raise UserError(f'{name} training step differs from eager fp32 (loss {rel:.3g}, gradient '
                            f'{grad_rel:.3g}); refusing to time it')
        # lr 0: every call does the full step's work while the weights (and so the work) stay the same
        variants.append(Variant(name, _train_step(model, x, torch.optim.SGD(model.parameters(), lr=0.), dtype,
                                                  channels_last), 'ours'))
    time_interleaved(variants, args.warmup, args.repeats, device)
    rows = [v.stats(args.batch) for v in variants]
    print_table(f'training step (forward + backward + SGD step) {args.arch}, batch {args.batch}, input '
                f'{args.shape[0]}x{args.shape[1]}, {device}, torch threads {torch.get_num_threads()}', rows)
    for s in skipped:
        print(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer'), key=lambda r: r['median_ms'])
    base = best_peer['median_ms']
    line = (f"summary: best peer fp32 {base:.1f} ms ({best_peer['name'].split()[0]}); channels_last fp32 "
            f"{by_name['ours channels_last fp32']['median_ms']:.1f} ms "
            f"({base / by_name['ours channels_last fp32']['median_ms']:.2f}x); ")
    bf16 = by_name.get('ours channels_last bf16')
    line += (f"channels_last bf16 {bf16['median_ms']:.1f} ms ({base / bf16['median_ms']:.2f}x)" if bf16
             else 'channels_last bf16 n/a')
    print(line)
    return dict(mode='train', arch=args.arch, shape=args.shape, batch=args.batch, device=str(device),
                threads=torch.get_num_threads(), torch=torch.__version__, rows=rows, skipped=skipped, summary=line)


def model_mode(args, device) -> dict:
    from mmpoolformer.apis import build_test_model, make_test_batch
    from mmpoolformer.engine.fast_inference import accelerate
    if not args.config:
        raise UserError('model mode needs a config: benchmark.py model CONFIG [--checkpoint CKPT]')
    eager = build_test_model(args.config, args.checkpoint, device=str(device))
    data = make_test_batch(eager, args.batch, args.shape)
    with torch.no_grad():
        reference = _tensor_outputs(eager, data)
    variants = [Variant('eager fp32', _test_step(eager, data), 'eager'),
                Variant('eager fp32 network only', _network(eager, data), 'network')]
    options = [('fast fp32', dict(compile=True))]
    if bf16_available(device) or args.force_bf16:
        options.append(('fast bf16', dict(compile=True, dtype='bf16')))
    for name, opts in options:
        model = copy.deepcopy(eager)  # the same (possibly random) weights
        accelerate(model, **opts, check_support=not args.force_bf16)
        start = time.perf_counter()
        with torch.no_grad():
            out = _tensor_outputs(model, data)
        first = time.perf_counter() - start
        if 'dtype' in opts:
            err = relative_error(out, reference)
            print(f'check {name}: relative error of the network outputs against eager fp32 {err:.2e}')
            ok = err <= args.bf16_tolerance
        else:
            err = max_diff(out, reference)
            print(f'check {name}: max |diff| of the network outputs against eager fp32 {err:.2e}')
            ok = err <= args.tolerance
        if not ok:
            raise UserError(f'{name} network outputs differ from eager fp32 ({err:.3g}); refusing to time it')
        variant = Variant(name, _test_step(model, data), 'fast')
        variant.note = f'compiled in {first:.1f} s'
        variants += [variant, Variant(f'{name} network only', _network(model, data), 'network')]
    time_interleaved(variants, args.warmup, args.repeats, device)
    rows = [v.stats(args.batch) for v in variants]
    network_rows = [r for r in rows if r['group'] == 'network']
    rows = [r for r in rows if r['group'] != 'network']
    print_table(f'{osp.basename(args.config)} test step, batch {args.batch}, input {args.shape[0]}x{args.shape[1]}, '
                f'{device}, torch threads {torch.get_num_threads()}', rows)
    base = rows[0]['median_ms']
    line = 'summary: eager fp32 {:.1f} ms; '.format(base) + '; '.join(
        f"{r['name']} {r['median_ms']:.1f} ms ({base / r['median_ms']:.2f}x)" for r in rows[1:])
    if len(rows) < 3:
        line += '; fast bf16 n/a'
    print_table('the same, network only (preprocessed input to raw head outputs, no post-processing)', network_rows)
    print(line)
    return dict(mode='model', config=args.config, shape=args.shape, batch=args.batch, device=str(device),
                threads=torch.get_num_threads(), torch=torch.__version__, rows=rows, network_rows=network_rows,
                summary=line)


def _flatten(out) -> List[torch.Tensor]:
    if torch.is_tensor(out):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    return []


def _tensor_outputs(model, data) -> List[torch.Tensor]:
    """The network's raw outputs (mode='tensor': head outputs before post-processing), flattened."""
    return _flatten(_network(model, data)())


def _network(model, data):
    """The network alone: preprocessed input to raw head outputs (no post-processing such as NMS)."""
    processed = model.data_preprocessor(copy.copy(data), False)

    def run():
        with torch.no_grad():
            return model(processed['inputs'], processed['data_samples'], mode='tensor')
    return run


def _test_step(model, data):
    def run():
        with torch.no_grad():
            return model.test_step(copy.copy(data))
    return run


def _logged_losses(work_dir: str) -> List[dict]:
    """Per-iteration records (``loss``, ``time``) of the last run in ``work_dir`` (MMEngine's scalars.json)."""
    import glob
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not runs:
        raise RuntimeError(f'no training log under {work_dir}')
    with open(runs[-1]) as f:
        return [r for r in map(json.loads, f) if 'loss' in r]


LOOP_RUNS = {'fp32': [], 'amp': ['--amp'], 'compile': ['--compile'], 'amp+compile': ['--amp', '--compile']}


def loop_mode(args, device) -> dict:
    """The config's own training loop (data, model, optimizer) for ``--iters`` iterations through
    ``tools/train.py``, once per ``--runs`` entry (fp32, ``--amp``, ``--compile``), all from the same seed:
    per-iteration losses compared with the fp32 run, time per iteration."""
    import subprocess
    import tempfile

    from mmengine.config import Config
    if not args.config:
        raise UserError('loop mode needs a config: benchmark.py loop CONFIG --iters 20 --runs fp32 amp')
    cfg = Config.fromfile(args.config)
    if 'max_iters' in cfg.train_cfg:
        schedule = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters + 1}']
    else:
        batch = cfg.train_dataloader.batch_size
        schedule = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=2',
                    f'train_dataloader.dataset.indices={args.iters * batch}']
    options = schedule + ['log_processor.window_size=1', 'default_hooks.logger.interval=1',
                          f'randomness.seed={args.seed}', *args.cfg_options]
    tool = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'train.py')
    names = ['fp32'] + [name for name in args.runs if name != 'fp32']
    logs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            work_dir = osp.join(tmp, name)
            command = [sys.executable, tool, args.config, '--work-dir', work_dir, *LOOP_RUNS[name],
                       '--cfg-options', *options]
            print(f'running {name}: {" ".join(command[1:])}', flush=True)
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode == 2:  # tools/train.py's one-line user error (e.g. --amp without bf16)
                raise UserError(f'the {name} run stopped: {proc.stderr.strip().splitlines()[-1]}')
            if proc.returncode != 0:
                raise RuntimeError(f'the {name} run failed (exit {proc.returncode}):\n{proc.stderr[-5000:]}')
            logs[name] = (_logged_losses(work_dir), time.perf_counter() - start)
    n = min(len(records) for records, _ in logs.values())
    fp32 = logs['fp32'][0][:n]
    print(f'\n{osp.basename(args.config)}: {n} training iterations, seed {args.seed}, torch threads '
          f'{torch.get_num_threads()}; losses')
    print(f"{'iter':>5} " + ' '.join(f'{name:>12}' for name in names))
    for i in range(n):
        print(f'{i + 1:>5} ' + ' '.join(f"{logs[name][0][i]['loss']:>12.4f}" for name in names))
    results, parts = {}, []
    for name in names:
        records, wall = logs[name]
        rel = max(abs(r['loss'] - f['loss']) / abs(f['loss']) for r, f in zip(records[:n], fp32))
        # the first iterations include one-off start-up work (and compilation): time the second half
        per_iter = statistics.median(r['time'] for r in records[n // 2:n])
        results[name] = dict(losses=[r['loss'] for r in records[:n]], max_relative_loss_diff=rel,
                             s_per_iter=per_iter, wall_s=wall)
        print(f'{name:<12} {per_iter:.3f} s/iter (median of iterations {n // 2 + 1}-{n}), whole run {wall:.0f} s, '
              f'loss max relative diff to fp32 {100 * rel:.2f}%')
        if name != 'fp32':
            base = results['fp32']['s_per_iter']
            parts.append(f'{name} {per_iter:.3f} s/iter ({base / per_iter:.2f}x, loss max relative diff '
                         f'{100 * rel:.2f}%)')
    line = f"summary: fp32 {results['fp32']['s_per_iter']:.3f} s/iter; " + '; '.join(parts)
    print(line)
    return dict(mode='loop', config=args.config, iters=n, seed=args.seed, threads=torch.get_num_threads(),
                runs=results, summary=line)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('mode', choices=['backbone', 'train', 'model', 'loop', 'onnx'])
    parser.add_argument('config', nargs='?', help='model/loop/onnx modes: the config of a detector or segmentor')
    parser.add_argument('--backbone-only', action='store_true', help='onnx mode: the backbone alone')
    parser.add_argument('--iters', type=int, default=20, help='loop mode: training iterations of each run')
    parser.add_argument('--seed', type=int, default=0, help='loop mode: the training seed of every run')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='loop mode: passed to every tools/train.py run')
    parser.add_argument('--runs', nargs='+', choices=list(LOOP_RUNS), default=['fp32', 'amp'],
                        help='loop mode: tools/train.py runs to compare (fp32 always runs, as the reference)')
    parser.add_argument('--checkpoint', help='model/onnx modes: weights to load (default: the model\'s own '
                                             'initialisation)')
    parser.add_argument('--arch', default='s12', help='backbone/train modes: s12, s24, s36, m36, m48')
    parser.add_argument('--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='input height and width (default 800 1216; train mode 512 512)')
    parser.add_argument('--batch', type=int, default=None, help='images per call (default 1; train mode 2)')
    parser.add_argument('--repeats', type=int, default=10, help='timed calls of each model (interleaved)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed calls first (compilation happens here)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s choice)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--official-src', help='the official repository\'s models/poolformer.py, timed as a peer')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='largest |diff| allowed for fp32 models')
    parser.add_argument('--bf16-tolerance', type=float, default=2e-2,
                        help='largest relative error allowed for bf16 variants')
    parser.add_argument('--force-bf16', action='store_true',
                        help='time bf16 even where the CPU has no bf16 instructions (emulated, slow)')
    parser.add_argument('--compile-train', action='store_true',
                        help='train mode: also time the channels_last variants passed through torch.compile '
                             '(forward and backward; compiling takes minutes on a CPU)')
    parser.add_argument('--plot', help='backbone mode: PNG of cost against input pixels, pooling vs hybrid')
    parser.add_argument('--plot-sizes', type=int, nargs='+', default=[224, 320, 448, 640, 800],
                        help='square input sides for --plot')
    parser.add_argument('--smoke', action='store_true',
                        help='a quick run that checks the tool: tiny input, 1 warm-up, 2 repeats')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    default_shape = (512, 512) if args.mode == 'train' else (800, 1216)
    args.shape = tuple(args.shape or ((64, 96) if args.smoke else default_shape))
    args.batch = args.batch or (2 if args.mode == 'train' else 1)
    if args.smoke:
        args.repeats, args.warmup, args.plot_sizes = 2, 1, [64, 96]
    return args


def onnx_mode(args, device) -> dict:
    """The exported graph (tools/deployment/export_onnx.py's, static at ``--shape``) in ONNX Runtime against the
    same graph in PyTorch eager fp32, after the export's own check that both give equal outputs."""
    import tempfile

    from mmpoolformer.apis import build_test_model
    from mmpoolformer.deployment import OnnxModel, export_onnx
    from mmpoolformer.deployment.onnx_model import build_graph, model_kind
    if not args.config:
        raise UserError('onnx mode needs a config: benchmark.py onnx CONFIG [--checkpoint CKPT] [--backbone-only]')
    if args.batch != 1:
        raise UserError('onnx mode times batch 1 (the exported detector takes one image); drop --batch')
    model = build_test_model(args.config, args.checkpoint)
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'model.onnx')
        report = export_onnx(model, model.cfg, path, args.shape, backbone_only=args.backbone_only)
        print(f"exported {report['kind']} in {report['seconds']:.1f} s; ONNX Runtime against PyTorch: largest "
              f"relative difference {report['max_difference']:.2g}")
        graph = build_graph(model, model_kind(model, args.backbone_only)).eval()
        runtime = OnnxModel(path, threads=torch.get_num_threads())
        inputs = torch.randn(1, 3, *args.shape, generator=torch.Generator().manual_seed(0))
        array = inputs.numpy()
        variants = [Variant('PyTorch eager fp32', _no_grad(graph, inputs), 'eager'),
                    Variant('ONNX Runtime fp32', lambda: runtime.run(array), 'onnx')]
        time_interleaved(variants, args.warmup, args.repeats, device)
        variants[1].peak_mb = float('nan')  # ONNX Runtime's memory is not torch's: not measured
    rows = [v.stats(1) for v in variants]
    what = 'backbone' if args.backbone_only else report['kind']
    print_table(f'{osp.basename(args.config)} {what} graph, input {args.shape[0]}x{args.shape[1]}, CPU, torch '
                f'threads {torch.get_num_threads()}, ONNX Runtime threads {torch.get_num_threads()}', rows)
    eager, onnx = rows[0]['median_ms'], rows[1]['median_ms']
    print(f'summary: PyTorch eager fp32 {eager:.1f} ms; ONNX Runtime {onnx:.1f} ms ({eager / onnx:.2f}x)')
    return dict(mode='onnx', config=args.config, shape=list(args.shape), rows=rows,
                max_relative_difference=report['max_difference'])


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    modes = dict(backbone=backbone_mode, train=train_mode, model=model_mode, loop=loop_mode, onnx=onnx_mode)
    result = modes[args.mode](args, device)
    if args.out:
        write_text_atomically(args.out, json.dumps(result, indent=1), what='results file')
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
