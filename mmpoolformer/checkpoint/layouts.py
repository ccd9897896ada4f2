"""Recognise PoolFormer weight layouts and rename them to mmpoolformer's (see ``models/metaformer.py``).

Layouts understood (detected from the key names, after unwrapping ``state_dict``/``model`` and a ``module.`` or
``backbone.`` prefix):

- ``official``: the sail-sg files: ImageNet ``poolformer_*.pth.tar`` (``patch_embed.proj``, ``network.N.M``,
  classifier ``norm``/``head``), and dense-prediction backbones and mmdet 2.x / mmseg 0.x detector files
  (``backbone.`` prefix, stage-output norms ``norm0/2/4/6``). mmpretrain's PoolFormer uses the same names
  (``backbone.network...``, ``backbone.norm6``, ``head.fc``).
- ``timm``: timm's ``poolformer_*`` (``stem.conv``, ``stages.i.downsample.conv``, ``layer_scale1.scale``,
  classifier ``head.norm``/``head.fc``).
- ``mmpoolformer``: this toolbox's own names.

The MetaFormer baselines' files (CAFormer, ConvFormer, PoolFormerV2, IdentityFormer, RandFormer; official and timm)
are recognised too and renamed by ``baseline_formats.py``; their classifier pools before its final norm, so that norm
goes to the neck (``neck.norm``, :class:`~mmpoolformer.models.GlobalPoolNorm`).

The official ``network`` list holds, in order, each stage's blocks, preceded (from stage 2 on) by its downsampling
convolution (``network.N.proj``) and, in the attention hybrids ``metaformer_pppa/ppaa_s12_224``, by a position
embedding (``network.N.pos_embed``); the entries are told apart by their keys, not by their index. The stage-output
norms ``normN`` of detection files are named after the ``network`` index of their stage.

The image classifier of an ImageNet file (final norm and linear layer) is kept apart (``classifier``):
:meth:`ConvertedWeights.model_state_dict` returns the whole classifier under the names MMPretrain's
``ImageClassifier`` gives it with this backbone (``out_indices=(last stage,)``, ``GlobalAveragePooling``,
``LinearClsHead``): the final norm becomes the last stage-output norm ``backbone.out_norms.{last}``, the linear layer
``head.fc``.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch

from ..arch_settings import ARCH_SETTINGS
from ..errors import CheckpointError
from .baseline_formats import baseline_arch_name, convert_baseline, is_baseline

WRAPPER_KEYS = ('state_dict', 'model', 'module')


@dataclass
class ConvertedWeights:
    """Result of :func:`convert_weights`.

    backbone: tensors under mmpoolformer backbone names (no prefix).
    dropped: source keys of the image classifier (final norm, head; mmpretrain's ``head.fc``), which dense
        prediction does not use.
    classifier: those tensors under the names ``norm.{weight,bias}`` (official ``norm``, timm ``head.norm``; absent
        for mmpretrain files, whose final norm is the backbone's last stage-output norm) and ``fc.{weight,bias}``
        (official ``head``, timm and mmpretrain ``head.fc``); empty for a backbone or detector file.
    outside: tensors outside the backbone (neck, heads of a detector file), under their full original names.
    prefix: the backbone prefix found in the file ('' for a backbone/classifier file, 'backbone.' for a model).
    layout: 'official', 'timm' or 'mmpoolformer'.
    baseline: whether the file is a MetaFormer baseline's (its classifier also has ``mlp.*`` for an MLP head).
    """
    backbone: Dict[str, torch.Tensor]
    dropped: List[str] = field(default_factory=list)
    classifier: Dict[str, torch.Tensor] = field(default_factory=dict)
    outside: Dict[str, torch.Tensor] = field(default_factory=dict)
    prefix: str = ''
    layout: str = ''
    baseline: bool = False

    def full_state_dict(self) -> Dict[str, torch.Tensor]:
        """Backbone (renamed) plus everything outside it, classifier dropped. The backbone keeps its ``backbone.``
        prefix only when other parts (neck, heads) remain; a backbone alone gets plain names."""
        prefix = self.prefix if self.outside else ''
        state = {prefix + k: v for k, v in self.backbone.items()}
        state.update(self.outside)
        return state

    def num_stages(self) -> int:
        """Number of stages of the backbone (from its ``stages.i.`` keys)."""
        return 1 + max(int(m.group(1)) for k in self.backbone for m in [re.match(r'stages\.(\d+)\.', k)] if m)

    def model_state_dict(self, final_norm: str = 'backbone') -> Dict[str, torch.Tensor]:
        """The whole model this file holds: an image classifier under MMPretrain ``ImageClassifier`` names
        (``backbone.*``, the final norm, ``head.fc.*``) when the file has a classifier, else :meth:`full_state_dict`.

        ``final_norm='backbone'`` puts the classifier's final norm where the official order has it, the last
        stage-output norm ``backbone.out_norms.{last}``; ``'neck'`` puts it in timm's order, ``neck.norm`` of
        :class:`~mmpoolformer.models.GlobalPoolNorm` (always for a baseline, which pools first). An MLP head
        (``mlp.*``) becomes ``head.{fc1,norm,fc2}`` of :class:`~mmpoolformer.models.MlpClsHead`."""
        if not self.classifier:
            return self.full_state_dict()
        if final_norm == 'backbone' and not self.baseline:
            norm = f'backbone.out_norms.{self.num_stages() - 1}.'
        else:
            norm = 'neck.norm.'
        state = {'backbone.' + k: v for k, v in self.backbone.items()}
        for key, value in self.classifier.items():
            part, name = key.split('.', 1)
            state[{'norm': norm, 'fc': 'head.fc.', 'mlp': 'head.'}[part] + name] = value
        return state


def unwrap_state_dict(obj, source: str) -> Dict[str, torch.Tensor]:
    """The flat name -> tensor dict inside a loaded file (handles ``state_dict``/``model`` wrappers, ``module.``)."""
    while isinstance(obj, dict):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict) or not any(torch.is_tensor(v) for v in obj.values()):
        raise CheckpointError(f'checkpoint {source} holds no state dict of tensors (found {type(obj).__name__}); '
                              f'pass a PoolFormer weight file')
    return strip_module_prefix({k: v for k, v in obj.items() if torch.is_tensor(v)})


def strip_module_prefix(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``state`` without the ``module.`` prefix a distributed or data-parallel wrapper put on every key."""
    if state and all(k.startswith('module.') for k in state):
        return {k[len('module.'):]: v for k, v in state.items()}
    return state


def detect_layout(keys) -> Optional[str]:
    keys = set(keys)
    if 'patch_embed.proj.weight' in keys or 'downsample_layers.0.conv.weight' in keys:
        return 'official'
    if 'stem.conv.weight' in keys:
        return 'timm'
    if 'stem.weight' in keys:
        return 'mmpoolformer'
    return None


def _find_prefix(state: Dict[str, torch.Tensor], prefix: Optional[str], source: str) -> str:
    if prefix is not None:
        if not any(k.startswith(prefix) for k in state):
            raise CheckpointError(f'checkpoint {source} has no key starting with prefix "{prefix}"; fix the prefix '
                                  f'or leave it unset to detect it')
        return prefix
    for candidate in ('', 'backbone.'):
        if detect_layout(k[len(candidate):] for k in state if k.startswith(candidate)):
            return candidate
    sample = ', '.join(sorted(state)[:4])
    raise CheckpointError(f'checkpoint {source} is not in a PoolFormer layout this toolbox knows (first keys: '
                          f'{sample}); expected official, timm, mmpretrain or mmpoolformer weights of PoolFormer or '
                          f'a MetaFormer baseline')


def _official_network(keys) -> Dict[int, Tuple[str, int]]:
    """``network`` index -> (part, stage): part ``'blocks'``, ``'downsample'`` (only ``proj.*`` keys) or
    ``'pos_embed'`` (only ``pos_embed``); a downsampling convolution or position embedding belongs to the stage
    whose blocks follow it."""
    names: Dict[int, set] = {}
    for key in keys:
        match = re.match(r'network\.(\d+)\.(.*)$', key)
        if match:
            names.setdefault(int(match.group(1)), set()).add(match.group(2))
    parts, stage = {}, 0
    for index in sorted(names):
        if names[index] == {'pos_embed'}:
            part = 'pos_embed'
        elif all(name.startswith('proj.') for name in names[index]):
            part = 'downsample'
        else:
            part = 'blocks'
        parts[index] = (part, stage)
        stage += part == 'blocks'
    return parts


def _official_renamer(keys) -> Callable[[str], Optional[str]]:
    """Official/mmpretrain name -> ours (None for classifier keys), for the ``network`` layout of ``keys``."""
    network = _official_network(keys)

    def rename(key: str) -> Optional[str]:
        if key.startswith('patch_embed.proj.'):
            return 'stem.' + key[len('patch_embed.proj.'):]
        match = re.match(r'network\.(\d+)\.(.*)$', key)
        if match:
            part, stage = network[int(match.group(1))]
            rest = match.group(2)
            if part == 'downsample':
                return f'stages.{stage}.downsample.' + rest[len('proj.'):]
            if part == 'pos_embed':
                return f'stages.{stage}.pos_embed.weight'
            rest = rest.replace('layer_scale_1', 'layer_scale1').replace('layer_scale_2', 'layer_scale2')
            return f'stages.{stage}.blocks.{rest}'
        match = re.match(r'norm(\d+)\.(.*)$', key)
        if match:
            index = int(match.group(1))
            stage = network[index][1] if index in network else index // 2
            return f'out_norms.{stage}.{match.group(2)}'
        if key.startswith(('norm.', 'head.')):
            return None
        return key

    return rename


# where each layout keeps its image classifier: source key prefix -> ConvertedWeights.classifier prefix
CLASSIFIER_NAMES = {'official': (('norm.', 'norm.'), ('head.', 'fc.')),
                    'timm': (('head.norm.', 'norm.'), ('head.fc.', 'fc.'))}


def _classifier_name(layout: str, key: str) -> Optional[str]:
    for source, target in CLASSIFIER_NAMES.get(layout, ()):
        if key.startswith(source):
            return target + key[len(source):]
    return None


def _rename_timm(key: str) -> Optional[str]:
    if key.startswith('stem.conv.'):
        return 'stem.' + key[len('stem.conv.'):]
    if key.startswith('head.'):
        return None
    key = re.sub(r'^(stages\.\d+\.downsample)\.conv\.', r'\1.', key)
    return re.sub(r'\.layer_scale([12])\.scale$', r'.layer_scale\1', key)


def convert_weights(state: Dict[str, torch.Tensor], prefix: Optional[str] = None,
                    source: str = '<state dict>') -> ConvertedWeights:
    """Split ``state`` into backbone / classifier / outside parts and rename the backbone to mmpoolformer names."""
    prefix = _find_prefix(state, prefix, source)
    inner = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    layout = detect_layout(inner)
    if layout is None:
        raise CheckpointError(f'checkpoint {source}: the keys under prefix "{prefix}" are not a PoolFormer layout')
    outside = {k: v for k, v in state.items() if not k.startswith(prefix)}
    baseline = is_baseline(inner, layout)
    result = ConvertedWeights(backbone={}, prefix=prefix, layout=layout, outside=outside, baseline=baseline)
    if baseline and layout != 'mmpoolformer':
        backbone, result.classifier, classifier_keys, unknown = convert_baseline(inner, layout)
        result.backbone = dict(backbone, **{k: inner[k] for k in unknown})  # unknown keys: refused by the fit check
        result.dropped = [prefix + k for k in classifier_keys]
        return result
    rename = {'official': _official_renamer(inner), 'timm': _rename_timm, 'mmpoolformer': lambda k: k}[layout]
    if outside and all(k.startswith('head.') for k in outside):  # an image classifier (mmpretrain): drop its head
        result.dropped.extend(sorted(outside))
        result.classifier = {k.replace('head.fc.', 'fc.', 1): v for k, v in outside.items()
                             if k.startswith('head.fc.')}
        result.outside = {}
    for key, value in inner.items():
        new_key = rename(key)
        if new_key is None:
            result.dropped.append(prefix + key)
            classifier_key = _classifier_name(layout, key)
            if classifier_key is not None:
                result.classifier[classifier_key] = value
            continue
        if re.search(r'\.layer_scale[12]$', new_key):
            value = value.reshape(-1)  # timm stores (C, 1, 1)
        result.backbone[new_key] = value
    return result


def guess_arch(backbone: Dict[str, torch.Tensor]) -> str:
    """Describe the architecture stored in converted backbone weights, e.g. "s12" or "depths [2, 2, 6, 2]..."."""
    depths, dims = [], []
    for stage in range(8):
        blocks = {int(m.group(1)) for k in backbone for m in [re.match(rf'stages\.{stage}\.blocks\.(\d+)\.', k)] if m}
        if not blocks:
            break
        depths.append(max(blocks) + 1)
        dims.append(backbone[f'stages.{stage}.blocks.0.norm1.weight'].shape[0]
                    if f'stages.{stage}.blocks.0.norm1.weight' in backbone else None)
    if 'stem_norm.weight' in backbone:
        return baseline_arch_name(backbone, depths, dims)
    for name, arch in ARCH_SETTINGS.items():
        if arch['depths'] == depths and arch['embed_dims'] == dims:
            return name
    return f'depths {depths}, embed_dims {dims}'


def to_model_layout(checkpoint: dict, model_keys: Iterable[str] = ()) -> dict:
    """A loaded checkpoint (a state dict, or a dict holding one under ``state_dict``) with its weights under this
    toolbox's model names, other entries (``meta``, optimizer state) kept: official (mmdet 2.x / mmseg 0.x,
    MMPretrain) and timm layouts are renamed (the backbone of a detector or segmentor; an ImageNet classifier file as
    a whole MMPretrain ``ImageClassifier``, see :meth:`ConvertedWeights.model_state_dict`); a ``module.`` prefix is
    dropped. ``model_keys``, the state-dict keys of the model to load into, say where a classifier's final norm
    goes: into ``neck.norm`` if the model has one (timm's head order), else into the backbone."""
    wrapped = 'state_dict' in checkpoint
    state = strip_module_prefix(checkpoint['state_dict'] if wrapped else checkpoint)
    final_norm = 'neck' if 'neck.norm.weight' in set(model_keys) else 'backbone'
    for prefix in ('backbone.', ''):
        if detect_layout(k[len(prefix):] for k in state if k.startswith(prefix)) in ('official', 'timm'):
            state = convert_weights(state, prefix=prefix).model_state_dict(final_norm)
            break
    state = OrderedDict(state)  # as torch state dicts are (MMEngine's loader sets their _metadata)
    return dict(checkpoint, state_dict=state) if wrapped else dict(state_dict=state)
