"""The models a backbone benchmark compares: ours, MMPretrain 1.2's ``PoolFormer``, timm's ``features_only`` model of
the same name and the official definition (the sail-sg repository's ``models/poolformer.py``, not on PyPI), each
loaded with the same official-layout weights (:mod:`.synthetic_weights`) and checked to compute what ours computes.

timm has no IdentityFormer or RandFormer and MMPretrain 1.2 none of the baselines; the official file serves PoolFormer
only: those peers are listed as skipped, with why.
"""
import importlib.util
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mmpoolformer.checkpoint import convert_weights
from mmpoolformer.errors import ConfigError
from mmpoolformer.models.names import BackboneName, create_backbone

from .compare import max_diff, output_scale, relative_error
from .measure import Variant, no_grad_call
from .synthetic_weights import mmpretrain_arch

PEERS = ('mmpretrain', 'timm', 'official')


def build_ours(target: BackboneName, state: Dict[str, torch.Tensor], **options):
    """Our backbone of ``target`` with ``options``, loaded through this toolbox's converter (strict, but for the
    output norms of a model built without them). A baseline returns its stage outputs without output norms
    (``norm_outputs=False``): what timm's features_only model returns."""
    if target.baseline:
        options.setdefault('norm_outputs', False)
    model = create_backbone(target, **options)
    own = model.state_dict()
    weights = {k: v for k, v in convert_weights(state).backbone.items() if k in own or not k.startswith('out_norms.')}
    model.load_state_dict(weights, strict=True)
    return model


def build_mmpretrain(arch: dict, state: Dict[str, torch.Tensor]):
    """MMPretrain 1.2's ``PoolFormer`` returning the four stage outputs (normed), loaded with ``state``."""
    from mmpretrain.models.backbones import PoolFormer as MMPretrainPoolFormer
    model = MMPretrainPoolFormer(arch=mmpretrain_arch(arch), out_indices=(0, 2, 4, 6), frozen_stages=-1)
    model.load_state_dict(state, strict=True)
    return model


def build_timm(target: BackboneName, state: Dict[str, torch.Tensor]):
    """timm's model of ``target.timm_name`` with ``features_only`` (its stage outputs carry no output norm), loaded
    with the official-layout ``state`` through timm's own filter into its full classifier (strict: exactly timm's
    layout), then into the features model. With cut-down depths both keep the first blocks of each stage."""
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
    """The official ``models/poolformer.py`` at ``path``, imported."""
    if not osp.isfile(path):
        raise ConfigError(f'--official-src {path} does not exist; pass the official repository\'s '
                          f'models/poolformer.py (github.com/sail-sg/poolformer)')
    import timm.layers.helpers
    # the official file imports timm 0.5's module path timm.models.layers.helpers, which timm 1.0 moved
    sys.modules.setdefault('timm.models.layers.helpers', timm.layers.helpers)
    spec = importlib.util.spec_from_file_location('official_poolformer', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, 'PoolFormer'):
        raise ConfigError(f'--official-src {path} defines no PoolFormer class; pass the official models/poolformer.py')
    return module


def build_official(module, arch: dict, state: Dict[str, torch.Tensor]):
    """The official definition's PoolFormer (``fork_feat``: the four normed stage outputs), loaded with ``state``."""
    model = module.PoolFormer(arch['depths'], embed_dims=arch['embed_dims'], mlp_ratios=arch['mlp_ratios'],
                              downsamples=[True] * len(arch['depths']), fork_feat=True,
                              layer_scale_init_value=arch['layer_scale_init_value'])
    model.load_state_dict(state, strict=True)
    return model


def stage_outputs_without_norm(model, x: torch.Tensor) -> List[torch.Tensor]:
    """Our backbone's stage outputs before the output norms (what timm's features_only returns)."""
    outs = []
    x = model.stem_norm(model.stem(x))
    for stage in model.stages:
        x = stage(x)
        outs.append(x)
    return outs


def peer_builders(target: BackboneName, state,
                  official_src: Optional[str] = None) -> Tuple[Dict[str, Callable], List[dict]]:
    """``{peer: () -> (model, expects_output_norms)}`` of the peers that can run, and the skipped ones with why."""
    skipped, builders = [], {}
    if target.baseline:
        why = f'has no {target.cls.__name__}'
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
    if official_src:  # loaded after timm's model is built: it re-registers poolformer_* in timm's registry
        builders['official'] = lambda: (build_official(load_official_module(official_src), target.arch, state), True)
    else:
        skipped.append(dict(name='official', reason='not available: pass --official-src PATH/TO/poolformer.py (the '
                                                    'official definition is not on PyPI)'))
    return builders, skipped


def checked_peers(target: BackboneName, state, x: torch.Tensor, tolerance: float, official_src: Optional[str] = None,
                  log: Callable[[str], None] = print):
    """The peers that can run here, each checked equal to ours (max |diff| within ``tolerance`` times the outputs'
    scale, else :class:`~mmpoolformer.errors.ConfigError`). Returns ``(variants, skipped, our eager model, its
    outputs)``; each variant keeps its ``model`` and whether it returns normed outputs (``normed``)."""
    ours = build_ours(target, state).eval().to(x.device)
    with torch.no_grad():
        reference = ours(x)
        reference_plain = stage_outputs_without_norm(ours, x)
    builders, skipped = peer_builders(target, state, official_src)
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
        limit = tolerance * output_scale(expected)
        log(f'check {name}: max |diff| against ours {diff:.2e} (allowed {limit:.1e})')
        if not diff <= limit:
            raise ConfigError(f'{name} outputs differ from ours by {diff:.3g} (> {limit:.3g}); refusing to time '
                              f'models that compute different things')
        variant = Variant(f'{name} eager fp32', no_grad_call(model, x), 'peer')
        variant.model, variant.normed = model, normed
        variants.append(variant)
    return variants, skipped, ours, reference


def peer_bf16_error(peers: List[Variant], x: torch.Tensor, reference, reference_plain) -> Optional[tuple]:
    """``(peer name, relative error)`` of the most accurate peer run eagerly under bf16 autocast against our eager
    fp32 outputs, or None without peers: how far bf16 itself moves these random weights' outputs, so that our bf16
    variants are held to what bf16 allows (deep random baselines drift by a few percent in any implementation)."""
    errors = []
    for peer in peers:
        with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16):
            out = list(peer.model(x))
        errors.append((peer.name.split()[0], relative_error(out, reference if peer.normed else reference_plain)))
    return min(errors, key=lambda e: e[1], default=None)
