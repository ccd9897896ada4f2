"""Speed of mmpoolformer's backbones against their peers, and of whole models, eager against fast.

    python tools/analysis/benchmark.py backbone --arch s12 --shape 800 1216 [--batch 1] [--official-src FILE]
    python tools/analysis/benchmark.py backbone --arch caformer_s18 --shape 800 1216 [--depths 1 1 1 1]
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
(by more than ``--tolerance`` times their largest magnitude) is refused. Calls are interleaved (one call of each
model per round), so drift of the machine hits all alike.

``--arch FAMILY_SIZE`` (``caformer_s18``, ``convformer_m36``, ``poolformerv2_s12``, ``identityformer_s12``,
``randformer_s12``, ...) times a model of "MetaFormer Baselines for Vision" instead: random weights in the official
sail-sg/metaformer layout (written from the official definition) go into ours through this project's converter and
into timm's model of the same name (``timm.create_model(name, features_only=True)``, through timm's own filter);
ours is built with ``norm_outputs=False``, so both return the plain stage outputs. timm has no IdentityFormer or
RandFormer and mmpretrain 1.2 none of the baselines: those peers are listed as skipped. RandFormer runs only at a
square ``--shape`` (its mixing matrices are built for that token grid). ``--depths`` keeps only the first blocks of
each stage in every model (a quick check of a large model). The backbone mode also prints one ``memory:`` line: the
peak memory of each of ours against the best peer's.

train: one training step (forward, a loss over every pyramid level, backward) of the same models (timm's for the
baselines); ours in fp32 eager, fp32 eager with activation checkpointing (``with_cp``), fp32 channels_last, and
under bf16 autocast (mixed precision); ``--compile-train`` adds the channels_last variants passed through
``torch.compile``. Losses and gradients are checked first (with_cp: every parameter's gradient against the plain
step's). It ends with a ``with_cp:`` line: peak memory and time of the step with and without checkpointing.

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


# ----------------------------------------------------------------------------------------------- what --arch names

# the "MetaFormer Baselines" families: class in mmpoolformer, and the official definitions (sail-sg/metaformer
# metaformer_baselines.py) per stage: token mixer, and whether the classifier is an MLP head
BASELINE_CLASSES = dict(caformer='CAFormer', convformer='ConvFormer', poolformerv2='PoolFormerV2',
                        identityformer='IdentityFormer', randformer='RandFormer')
OFFICIAL_MIXERS = dict(caformer=('sepconv', 'sepconv', 'attention', 'attention'), convformer=('sepconv',) * 4,
                       poolformerv2=('none',) * 4, identityformer=('none',) * 4,
                       randformer=('none', 'none', 'random', 'random'))
MLP_HEAD_FAMILIES = ('caformer', 'convformer')
TIMM_FAMILIES = ('poolformer', 'caformer', 'convformer', 'poolformerv2')  # timm 1.0 has no Identity/RandFormer


class Target:
    """The backbone ``--arch`` (and ``--depths``) name.

    ``family``: 'poolformer' (``--arch s12``) or a baselines family (``--arch caformer_s18``); ``size``: 's12',
    's18', ...; ``arch``: the full arch dict (depths possibly overridden); ``name``: as printed; ``timm_name``: timm's
    model of that name, or None where timm has none; ``image_size``: RandFormer's square input size (px), else None.
    """

    def __init__(self, arch_name: str, depths: Optional[List[int]] = None, shape=None):
        from mmpoolformer.arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS, resolve_arch
        name = arch_name.lower()
        family, _, size = name.rpartition('_')
        if not family:
            family, table, label = 'poolformer', ARCH_SETTINGS, 'PoolFormer'
        elif family in BASELINE_CLASSES:
            table, label = BASELINE_ARCH_SETTINGS[family], BASELINE_CLASSES[family]
        else:
            raise UserError(f"--arch {arch_name}: unknown family '{family}'; use a PoolFormer size "
                            f"({', '.join(ARCH_SETTINGS)}) or FAMILY_SIZE with FAMILY one of "
                            f"{', '.join(BASELINE_CLASSES)} (e.g. caformer_s18)")
        self.family, self.size = family, size
        self.arch = resolve_arch(size, table, label)
        self.name = size if family == 'poolformer' else name
        if depths:
            published = self.arch['depths']
            if len(depths) != len(published) or not all(1 <= d <= p for d, p in zip(depths, published)):
                raise UserError(f'--depths {" ".join(map(str, depths))}: give {len(published)} block counts, each '
                                f'from 1 to those of {self.name} ({" ".join(map(str, published))})')
            self.arch['depths'] = list(depths)
            self.name += f' (depths {" ".join(map(str, depths))})'
        self.timm_name = (f'poolformer_{size}' if family == 'poolformer' else name) \
            if family in TIMM_FAMILIES else None
        self.image_size = None
        if family == 'randformer':
            if shape is None or shape[0] != shape[1] or shape[0] % 32:
                raise UserError(f'RandFormer mixes a fixed token grid: pass a square --shape with a side divisible by '
                                f'32 (e.g. --shape 224 224), not {shape}')
            self.image_size = shape[0]

    @property
    def baseline(self) -> bool:
        return self.family != 'poolformer'


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


def baseline_official_weights(target: Target, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights of a MetaFormer baseline under the official key names and shapes (sail-sg/metaformer:
    ``downsample_layers.N.{pre_norm,conv,post_norm}``, ``stages.i.j.*`` with linear layers as 2-d weights,
    ``norm.*``, ``head.*``), written from the official definition, not from either model timed here. Perturbed so
    that a misplaced tensor cannot go unnoticed: matrices and kernels at unit gain (N(0, 1/fan_in)), norm weights,
    residual scales and StarReLU scales uniform in [0.6, 1.4], biases N(0, 0.2^2); RandFormer's frozen matrices are
    row-wise softmaxes of uniform numbers at ``target.image_size``."""
    arch, family = target.arch, target.family
    dims, depths = arch['embed_dims'], arch['depths']
    shapes = {'downsample_layers.0.conv.weight': (dims[0], 3, 7, 7), 'downsample_layers.0.conv.bias': (dims[0],),
              'downsample_layers.0.post_norm.weight': (dims[0],)}
    for i in range(1, len(dims)):
        shapes.update({f'downsample_layers.{i}.pre_norm.weight': (dims[i - 1],),
                       f'downsample_layers.{i}.conv.weight': (dims[i], dims[i - 1], 3, 3),
                       f'downsample_layers.{i}.conv.bias': (dims[i],)})
    for i, (depth, dim) in enumerate(zip(depths, dims)):
        hidden = int(arch['mlp_ratios'][i] * dim)
        inner = max(dim // 32, 1) * 32  # attention: heads of 32 channels
        tokens = (target.image_size // 2 ** (i + 2)) ** 2 if target.image_size else 0
        mixer = {'sepconv': {'pwconv1.weight': (2 * dim, dim), 'act1.scale': (1,), 'act1.bias': (1,),
                             'dwconv.weight': (2 * dim, 1, 7, 7), 'pwconv2.weight': (dim, 2 * dim)},
                 'attention': {'qkv.weight': (3 * inner, dim), 'proj.weight': (dim, inner)},
                 'random': {'random_matrix': (tokens, tokens)}, 'none': {}}[OFFICIAL_MIXERS[family][i]]
        for j in range(depth):
            block = {'norm1.weight': (dim,), 'norm2.weight': (dim,), 'mlp.fc1.weight': (hidden, dim),
                     'mlp.act.scale': (1,), 'mlp.act.bias': (1,), 'mlp.fc2.weight': (dim, hidden),
                     **{f'token_mixer.{k}': v for k, v in mixer.items()}}
            if arch['res_scale_init_values'][i] is not None:
                block.update({'res_scale1.scale': (dim,), 'res_scale2.scale': (dim,)})
            shapes.update({f'stages.{i}.{j}.{k}': v for k, v in block.items()})
    last = dims[-1]
    shapes.update({'norm.weight': (last,), 'norm.bias': (last,)})
    if family in MLP_HEAD_FAMILIES:
        shapes.update({'head.fc1.weight': (4 * last, last), 'head.fc1.bias': (4 * last,),
                       'head.norm.weight': (4 * last,), 'head.norm.bias': (4 * last,),
                       'head.fc2.weight': (1000, 4 * last), 'head.fc2.bias': (1000,)})
    else:
        shapes.update({'head.weight': (1000, last), 'head.bias': (1000,)})
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith('random_matrix'):
            state[key] = torch.rand(shape, generator=generator).softmax(-1)
        elif len(shape) >= 2:
            fan_in = 1
            for size in shape[1:]:
                fan_in *= size
            state[key] = torch.randn(shape, generator=generator) / fan_in ** 0.5
        elif key.endswith(('weight', 'scale')):
            state[key] = 0.6 + 0.8 * torch.rand(shape, generator=generator)
        else:
            state[key] = 0.2 * torch.randn(shape, generator=generator)
    return state


def official_weights(target: Target) -> Dict[str, torch.Tensor]:
    """The random official-layout weights every model of ``target`` is loaded with."""
    return baseline_official_weights(target) if target.baseline else official_layout_weights(target.arch)


def build_ours(target: Target, state: Dict[str, torch.Tensor], **kwargs):
    """Our backbone of ``target``, loaded through this project's converter (strict). A baseline returns its stage
    outputs without output norms (``norm_outputs=False``): what timm's features_only model returns."""
    from mmpoolformer import PoolFormer
    from mmpoolformer.checkpoint import convert_weights
    from mmpoolformer.registry import MODELS
    if target.baseline:
        cls = MODELS.get(BASELINE_CLASSES[target.family])
        extra = dict(input_size=target.image_size) if target.image_size else {}
        model = cls(arch=target.arch, norm_outputs=False, **extra, **kwargs)
    else:
        model = PoolFormer(arch=target.arch, **kwargs)
    model.load_state_dict(convert_weights(state).backbone, strict=True)
    return model


def build_mmpretrain(arch: dict, state: Dict[str, torch.Tensor]):
    from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer
    model = MMPretrainPoolFormer(arch=_mmpretrain_arch(arch), out_indices=(0, 2, 4, 6), frozen_stages=-1)
    model.load_state_dict(state, strict=True)
    return model


def build_timm(target: Target, state: Dict[str, torch.Tensor]):
    """timm's model of ``target.timm_name`` with ``features_only`` (its stage outputs carry no output norm), loaded
    with the official-layout ``state`` through timm's own filter into its full classifier (strict: exactly timm's
    layout), then into the features model. With ``--depths`` both keep the first blocks of each stage."""
    import timm
    from timm.models.metaformer import checkpoint_filter_fn

    def truncate(stages):
        for stage, depth in zip(stages, target.arch['depths']):
            stage.blocks = stage.blocks[:depth]

    full = timm.create_model(target.timm_name, pretrained=False)
    truncate(full.stages)
    official = dict(state)
    if not target.baseline:  # mmpretrain's layout has no classifier: give timm's one a neutral norm and head
        official = {k: v for k, v in state.items() if not k.startswith('norm')}
        dim = target.arch['embed_dims'][-1]
        official.update({'norm.weight': torch.ones(dim), 'norm.bias': torch.zeros(dim),
                         'head.weight': torch.zeros(1000, dim), 'head.bias': torch.zeros(1000)})
    full.load_state_dict(checkpoint_filter_fn(official, full), strict=True)
    features = timm.create_model(target.timm_name, pretrained=False, features_only=True)
    truncate([getattr(features, f'stages_{i}') for i in range(len(target.arch['depths']))])
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


def output_scale(outputs) -> float:
    """The largest magnitude among ``outputs``, at least 1: fp32 rounding grows with it, so ``--tolerance`` is
    scaled by it (deep random baselines reach magnitudes in the hundreds; normed pyramids stay near 1)."""
    return max([1.] + [o.float().abs().max().item() for o in outputs])


def relative_error(ours, reference) -> float:
    """Largest per-level ``||a - b|| / ||b||`` (for reduced-precision variants)."""
    return max(((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12)).item()
               for a, b in zip(ours, reference))


def stage_outputs_without_norm(model, x):
    """Our backbone's stage outputs before the output norms (what timm's features_only returns)."""
    outs = []
    x = model.stem_norm(model.stem(x))
    for stage in model.stages:
        x = stage(x)
        outs.append(x)
    return outs


# ----------------------------------------------------------------------------------------------- modes

def peer_builders(args, target: Target, state) -> (Dict[str, Callable], List[dict]):
    """``{peer: () -> (model, expects_output_norms)}`` of the peers that can run, and the skipped ones with why."""
    skipped, builders = [], {}
    if target.baseline:
        why = f'has no {BASELINE_CLASSES[target.family]}'
        skipped.append(dict(name='mmpretrain', reason=f'not available: mmpretrain 1.2 {why}'))
        if target.timm_name:
            builders['timm'] = lambda: (build_timm(target, state), False)
        else:
            skipped.append(dict(name='timm', reason=f'not available: timm {why}'))
        skipped.append(dict(name='official', reason='not available: --official-src takes the PoolFormer definition; '
                                                    'the baselines are checked against timm'))
        return builders, skipped
    builders['mmpretrain'] = lambda: (build_mmpretrain(target.arch, state), True)
    builders['timm'] = lambda: (build_timm(target, state), False)
    if args.official_src:  # loaded after timm's model is built: it re-registers poolformer_* in timm's registry
        builders['official'] = lambda: (build_official(load_official_module(args.official_src), target.arch, state),
                                        True)
    else:
        skipped.append(dict(name='official', reason='not available: pass --official-src PATH/TO/poolformer.py (the '
                                                    'official definition is not on PyPI)'))
    return builders, skipped


def build_peer_variants(args, target: Target, state, x) -> (List[Variant], List[dict]):
    """The peers that can run here, checked equal to ours; returns (variants, skipped, our eager model, its
    outputs). Each variant keeps its ``model`` and whether it returns normed outputs (``normed``)."""
    ours = build_ours(target, state).eval().to(x.device)
    with torch.no_grad():
        reference = ours(x)
        reference_plain = stage_outputs_without_norm(ours, x)
    builders, skipped = peer_builders(args, target, state)
    variants = []
    for name in PEERS:
        if name not in builders:
            continue
        model, normed = builders[name]()
        model = model.to(x.device)
        model.eval()  # (mmpretrain's train() returns None: no chaining)
        expected = list(reference if normed else reference_plain)
        with torch.no_grad():
            diff = max_diff(list(model(x)), expected)
        limit = args.tolerance * output_scale(expected)
        print(f'check {name}: max |diff| against ours {diff:.2e} (allowed {limit:.1e})')
        if not diff <= limit:
            raise UserError(f'{name} outputs differ from ours by {diff:.3g} (> {limit:.3g}); refusing to time '
                            f'models that compute different things')
        variant = Variant(f'{name} eager fp32', _no_grad(model, x), 'peer')
        variant.model, variant.normed = model, normed
        variants.append(variant)
    return variants, skipped, ours, reference


def peer_bf16_error(peers: List[Variant], x, reference, reference_plain) -> Optional[tuple]:
    """``(peer name, relative error)`` of the most accurate peer run eagerly under bf16 autocast against our eager
    fp32 outputs, or None without peers: how far bf16 itself moves these random weights' outputs, so that our bf16
    variants are held to what bf16 allows (deep random baselines drift by a few percent in any implementation)."""
    errors = []
    for peer in peers:
        with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16):
            out = list(peer.model(x))
        errors.append((peer.name.split()[0], relative_error(out, reference if peer.normed else reference_plain)))
    return min(errors, key=lambda e: e[1], default=None)


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
    from mmpoolformer.engine.fast_inference import accelerate
    target = Target(args.arch, args.depths, args.shape)
    if args.plot and target.baseline:
        raise UserError('--plot draws PoolFormer against the pooling/attention hybrid; pass a PoolFormer --arch '
                        '(s12, ...) with it')
    state = official_weights(target)
    torch.manual_seed(1)
    x = torch.randn(args.batch, 3, *args.shape, device=device)
    peers, skipped, ours_eager, reference = build_peer_variants(args, target, state, x)

    ours = [Variant('ours eager fp32', _no_grad(ours_eager, x), 'ours')]
    candidates = [('ours deploy fp32', dict(compile=False)), ('ours fast fp32', dict(compile=True))]
    with_bf16 = bf16_available(device) or args.force_bf16
    bf16_limit = args.bf16_tolerance
    if with_bf16:
        candidates.append(('ours fast bf16', dict(compile=True, dtype='bf16')))
        peer_error = peer_bf16_error(peers, x, reference, stage_outputs_without_norm(ours_eager, x))
        if peer_error is not None:
            name, err = peer_error
            print(f'check {name} under bf16 autocast: relative error against eager fp32 {err:.2e}')
            bf16_limit = max(bf16_limit, err)
    for name, options in candidates:
        model = build_ours(target, state).eval().to(device)
        report = accelerate(model, **options, check_support=not args.force_bf16)
        start = time.perf_counter()
        with torch.no_grad():
            out = model(x)
        first = time.perf_counter() - start
        if 'dtype' in options:
            err = relative_error(out, reference)
            print(f'check {name}: relative error against eager fp32 {err:.2e} (bf16 keeps ~3 significant digits)')
            if not err <= bf16_limit:
                raise UserError(f'{name} outputs differ from eager fp32 by a relative {err:.3g} (> {bf16_limit:.3g}, '
                                f'the larger of --bf16-tolerance and the best peer\'s own bf16 error); refusing '
                                f'to time it')
        else:
            diff, limit = max_diff(out, reference), args.tolerance * output_scale(reference)
            print(f'check {name}: max |diff| against eager fp32 {diff:.2e} (allowed {limit:.1e})')
            if not diff <= limit:
                raise UserError(f'{name} outputs differ from eager fp32 by {diff:.3g} (> {limit:.3g}); refusing '
                                f'to time it')
        variant = Variant(name, _no_grad(model, x), 'ours')
        if report['compiled']:
            variant.note = f'compiled in {first:.1f} s'
        ours.append(variant)

    time_interleaved(peers + ours, args.warmup, args.repeats, device)
    rows = [v.stats(args.batch) for v in peers + ours]
    outputs = ' (stage outputs without output norms, as timm\'s)' if target.baseline else ''
    print_table(f'backbone {target.name}{outputs}, batch {args.batch}, input {args.shape[0]}x{args.shape[1]}, '
                f'{device}, torch threads {torch.get_num_threads()}', rows)
    for s in skipped:
        print(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer'), key=lambda r: r['median_ms'], default=None)
    summary = summary_line(best_peer, by_name.get('ours fast fp32'), by_name.get('ours fast bf16'))
    print(summary)
    memory = memory_line(best_peer, [by_name[n] for n in ('ours eager fp32', 'ours fast fp32', 'ours fast bf16')
                                     if n in by_name])
    print(memory)
    result = dict(mode='backbone', arch=target.name, family=target.family, depths=target.arch['depths'],
                  shape=args.shape, batch=args.batch, device=str(device), threads=torch.get_num_threads(),
                  torch=torch.__version__, norm_outputs=not target.baseline, rows=rows, skipped=skipped,
                  summary=summary, memory=memory)
    if best_peer is not None:
        result['against_best_peer'] = {r['name']: dict(speedup=best_peer['median_ms'] / r['median_ms'],
                                                       peak_memory_ratio=r['peak_mb'] / best_peer['peak_mb'])
                                       for r in rows if r['group'] == 'ours'}
    if args.floor:
        result['floor'] = report_floor(target, state, x, best_peer, with_bf16, args.repeats)
    if args.plot:
        result['scaling'] = plot_scaling(args, device)
    return result


def report_floor(target: Target, state, x, best_peer: Optional[dict], with_bf16: bool, repeats: int) -> dict:
    """Print and return the compute floor (:func:`mmpoolformer.analysis.compute_floor.compute_floor`) of our deploy
    model (channels_last) in fp32 and, if timed, under bf16 autocast: what its matrix products, convolutions and
    attention cost alone, and the largest speedup over the best peer that these kernels leave possible."""
    from mmpoolformer.analysis.compute_floor import compute_floor, matmul_peak_gmacs
    from mmpoolformer.engine.fast_inference import accelerate
    model = build_ours(target, state).eval().to(x.device)
    accelerate(model, compile=False)
    x = x.contiguous(memory_format=torch.channels_last)
    floors = {}
    for precision, dtype in [('fp32', None)] + ([('bf16', torch.bfloat16)] if with_bf16 else []):
        floor = compute_floor(model, x, dtype=dtype, repeats=repeats)
        peak = matmul_peak_gmacs(dtype or torch.float32, device=x.device.type)
        print(f"compute floor {precision} (heavy kernels replayed alone, the faster equivalent counted): "
              f"{floor['total_ms']:.1f} ms; a 2048^3 matrix product runs at {peak:.0f} G MAC/s")
        for op in floor['ops']:
            print(f"  {op['kind']:<16} calls {op['calls']:>4}  G MACs {op['gmacs']:>7.2f}  {op['ms']:>8.1f} ms  "
                  f"{op['gmacs_per_s']:>6.0f} G MAC/s")
        if best_peer is not None:
            floor['largest_speedup'] = best_peer['median_ms'] / floor['total_ms']
            print(f"  largest speedup possible over {best_peer['name']}: {floor['largest_speedup']:.2f}x")
        floor['matmul_peak_gmacs_per_s'] = peak
        floors[precision] = floor
    return floors


def summary_line(best_peer: Optional[dict], fast32: Optional[dict], fast16: Optional[dict]) -> str:
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
    target = Target(args.arch, args.depths, args.shape)
    state = official_weights(target)
    torch.manual_seed(1)
    x = torch.randn(args.batch, 3, *args.shape, device=device)
    builders, skipped = peer_builders(args, target, state)
    if 'timm' in builders and not target.baseline:
        del builders['timm']
        skipped.append(dict(name='timm', reason='features_only has no stage-output norms, so its training loss '
                                                'differs; it is timed in backbone mode'))

    def loss_and_grads(model, dtype=None, channels_last=False):
        """The loss of one training step and every parameter's gradient (by name)."""
        model.train()
        model.zero_grad()
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = sum(o.float().square().mean() for o in model(inputs))
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    def stem_grad(grads):
        return next(g for n, g in grads.items() if n.endswith(('stem.weight', 'stem.conv.weight',
                                                                'patch_embed.proj.weight')))

    ours_ref = build_ours(target, state).to(device)
    ref_loss, ref_grads = loss_and_grads(ours_ref)
    ref_grad = stem_grad(ref_grads)
    variants = []
    for name, builder in builders.items():
        model = builder()[0].to(device)
        loss, grads = loss_and_grads(model)
        grad = stem_grad(grads)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        print(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        if rel > 1e-4 or grad_rel > 1e-3:
            raise UserError(f'{name} training step differs from ours (loss {rel:.3g}, gradient {grad_rel:.3g}); '
                            f'refusing to time it')
        variants.append(Variant(f'{name} eager fp32', _train_step(model, x, torch.optim.SGD(model.parameters(),
                                                                                           lr=0.)), 'peer'))
    # name, autocast dtype, channels_last, compiled, with_cp
    ours_options = [('ours eager fp32', None, False, False, False),
                    ('ours eager fp32 with_cp', None, False, False, True),
                    ('ours channels_last fp32', None, True, False, False)]
    with_bf16 = bf16_available(device) or args.force_bf16
    if with_bf16:
        ours_options.append(('ours channels_last bf16', torch.bfloat16, True, False, False))
    if args.compile_train:
        ours_options.append(('ours compiled channels_last fp32', None, True, True, False))
        if with_bf16:
            ours_options.append(('ours compiled channels_last bf16', torch.bfloat16, True, True, False))
    with_cp_check = {}
    for name, dtype, channels_last, compiled, with_cp in ours_options:
        model = build_ours(target, state, with_cp=with_cp).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        if compiled:
            start = time.perf_counter()
            model = torch.compile(model)
            loss_and_grads(model, dtype, channels_last)  # compiles forward and backward
            print(f'{name}: compiled forward and backward in {time.perf_counter() - start:.1f} s')
        loss, grads = loss_and_grads(model, dtype, channels_last)
        grad = stem_grad(grads)
        rel = abs(loss - ref_loss) / abs(ref_loss)
        grad_rel = ((grad - ref_grad).norm() / ref_grad.norm()).item()
        print(f'check {name}: loss relative diff {rel:.2e}, stem gradient relative diff {grad_rel:.2e}')
        limit = (args.bf16_tolerance, 5 * args.bf16_tolerance) if dtype is not None else (1e-4, 1e-3)
        if rel > limit[0] or grad_rel > limit[1]:
            raise UserError(f'{name} training step differs from eager fp32 (loss {rel:.3g}, gradient '
                            f'{grad_rel:.3g}); refusing to time it')
        if with_cp:  # recomputing the forward must give every gradient of the plain step
            with_cp_check = gradient_difference(grads, ref_grads)
            print(f"check {name}: {with_cp_check['parameters']} parameter gradients, largest |diff| "
                  f"{with_cp_check['max_abs_diff']:.2e} (relative to the gradient's largest magnitude "
                  f"{with_cp_check['max_relative_diff']:.2e})")
            if with_cp_check['max_relative_diff'] > 1e-5:
                raise UserError(f"{name} gradients differ from the plain step's (relative "
                                f"{with_cp_check['max_relative_diff']:.3g}, {with_cp_check['worst']}); refusing "
                                f"to time it")
        # lr 0: every call does the full step's work while the weights (and so the work) stay the same
        variants.append(Variant(name, _train_step(model, x, torch.optim.SGD(model.parameters(), lr=0.), dtype,
                                                  channels_last), 'ours'))
    time_interleaved(variants, args.warmup, args.repeats, device)
    rows = [v.stats(args.batch) for v in variants]
    print_table(f'training step (forward + backward + SGD step) {target.name}, batch {args.batch}, input '
                f'{args.shape[0]}x{args.shape[1]}, {device}, torch threads {torch.get_num_threads()}', rows)
    for s in skipped:
        print(f"{s['name']:<30} skipped: {s['reason']}")
    by_name = {r['name']: r for r in rows}
    best_peer = min((r for r in rows if r['group'] == 'peer'), key=lambda r: r['median_ms'], default=None)
    base_row = best_peer or by_name['ours eager fp32']
    base = base_row['median_ms']
    line = (f"summary: {'best peer' if best_peer else 'ours eager'} fp32 {base:.1f} ms "
            f"({base_row['name'].split()[0]}); channels_last fp32 "
            f"{by_name['ours channels_last fp32']['median_ms']:.1f} ms "
            f"({base / by_name['ours channels_last fp32']['median_ms']:.2f}x); ")
    bf16 = by_name.get('ours channels_last bf16')
    line += (f"channels_last bf16 {bf16['median_ms']:.1f} ms ({base / bf16['median_ms']:.2f}x)" if bf16
             else 'channels_last bf16 n/a')
    print(line)
    plain, cp = by_name['ours eager fp32'], by_name['ours eager fp32 with_cp']
    cp_line = (f"with_cp: peak memory {cp['peak_mb']:.0f} MiB against {plain['peak_mb']:.0f} MiB without "
               f"({cp['peak_mb'] / plain['peak_mb']:.2f}x), step {cp['median_ms']:.1f} ms against "
               f"{plain['median_ms']:.1f} ms ({cp['median_ms'] / plain['median_ms']:.2f}x); gradients equal "
               f"(largest relative diff {with_cp_check['max_relative_diff']:.1e})")
    print(cp_line)
    return dict(mode='train', arch=target.name, family=target.family, depths=target.arch['depths'],
                shape=args.shape, batch=args.batch, device=str(device), threads=torch.get_num_threads(),
                torch=torch.__version__, norm_outputs=not target.baseline, rows=rows, skipped=skipped, summary=line,
                with_cp=dict(with_cp_check, peak_mb=cp['peak_mb'], peak_mb_without=plain['peak_mb'],
                             median_ms=cp['median_ms'], median_ms_without=plain['median_ms'], line=cp_line))


def gradient_difference(grads: Dict[str, torch.Tensor], reference: Dict[str, torch.Tensor]) -> dict:
    """Compare two ``{name: gradient}`` dicts of the same model: ``parameters`` (count), ``max_abs_diff``,
    ``max_relative_diff`` (per parameter, the largest |diff| over the reference's largest magnitude) and ``worst``
    (that parameter's name). A parameter missing from either side counts as a relative difference of inf."""
    if set(grads) != set(reference):
        missing = sorted(set(grads) ^ set(reference))
        return dict(parameters=len(reference), max_abs_diff=float('inf'), max_relative_diff=float('inf'),
                    worst=f'gradients present on one side only: {missing[:3]}')
    worst, max_abs, max_rel = '', 0., 0.
    for name, ref in reference.items():
        diff = (grads[name] - ref).abs().max().item()
        rel = diff / max(ref.abs().max().item(), 1e-12)
        max_abs = max(max_abs, diff)
        if rel > max_rel or not worst:
            worst, max_rel = name, max(rel, max_rel)
    return dict(parameters=len(reference), max_abs_diff=max_abs, max_relative_diff=max_rel, worst=worst)


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
    parser.add_argument('--arch', default='s12',
                        help='backbone/train modes: a PoolFormer size (s12, s24, s36, m36, m48) or a baselines model '
                             'FAMILY_SIZE: caformer/convformer _s18, _s36, _m36, _b36; poolformerv2/identityformer/'
                             'randformer _s12, _s24, _s36, _m36, _m48 (e.g. caformer_s18)')
    parser.add_argument('--depths', type=int, nargs='+',
                        help='backbone/train modes: blocks per stage instead of the arch\'s (at most its own; every '
                             'model keeps the first blocks of each stage): a quick check of a large model')
    parser.add_argument('--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='input height and width (default 800 1216; train mode 512 512)')
    parser.add_argument('--batch', type=int, default=None, help='images per call (default 1; train mode 2)')
    parser.add_argument('--repeats', type=int, default=10, help='timed calls of each model (interleaved)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed calls first (compilation happens here)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s choice)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--official-src', help='the official repository\'s models/poolformer.py, timed as a peer')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest |diff| allowed for fp32 models, times the outputs\' largest magnitude (if > 1)')
    parser.add_argument('--bf16-tolerance', type=float, default=2e-2,
                        help='largest relative error allowed for bf16 variants (backbone mode: or the best peer\'s '
                             'own error under bf16 autocast, if larger; train mode: of the loss, 5x that of the stem '
                             'gradient)')
    parser.add_argument('--force-bf16', action='store_true',
                        help='time bf16 even where the CPU has no bf16 instructions (emulated, slow)')
    parser.add_argument('--compile-train', action='store_true',
                        help='train mode: also time the channels_last variants passed through torch.compile '
                             '(forward and backward; compiling takes minutes on a CPU)')
    parser.add_argument('--floor', action='store_true',
                        help='backbone mode: also measure the compute floor (the matrix products, convolutions and '
                             'attention of one call, each replayed alone) and the largest speedup it leaves')
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
