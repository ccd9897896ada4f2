"""The key layouts of weight files, recognised and renamed to mmpoolformer's (see ``models/metaformer.py``).

Layouts understood (detected from the key names, after unwrapping ``state_dict``/``model`` and a ``module.`` or
``backbone.`` prefix):

- ``official``: the sail-sg files: ImageNet ``poolformer_*.pth.tar`` (``patch_embed.proj``, ``network.N.M``,
  classifier ``norm``/``head``), and dense-prediction backbones and mmdet 2.x / mmseg 0.x detector files
  (``backbone.`` prefix, stage-output norms ``norm0/2/4/6``). mmpretrain's PoolFormer uses the same names
  (``backbone.network...``, ``backbone.norm6``, ``head.fc``).
- ``timm``: timm's ``poolformer_*`` (``stem.conv``, ``stages.i.downsample.conv``, ``layer_scale1.scale``,
  classifier ``head.norm``/``head.fc``).
- ``huggingface``: transformers' ``PoolFormerModel`` (``encoder.patch_embeddings.i.projection``,
  ``encoder.block.i.j.{before_norm,after_norm,output.conv1,output.conv2,layer_scale_1,layer_scale_2}``) and
  ``PoolFormerForImageClassification`` (the same under ``poolformer.``, classifier ``norm``/``classifier``), as
  ``save_pretrained`` writes them (``model.safetensors`` or ``pytorch_model.bin``; the ``sail/poolformer_*`` hub
  files). The model computes as the official one (norm before the head's pooling).
- ``mmpoolformer``: this toolbox's own names.

The MetaFormer baselines' files (CAFormer, ConvFormer, PoolFormerV2, IdentityFormer, RandFormer) come in two layouts:

- ``official`` (sail-sg/metaformer ``<name>.pth``): ``downsample_layers.0.{conv,post_norm}`` (stem),
  ``downsample_layers.i.{pre_norm,conv}``, ``stages.i.j.*`` (blocks; ``res_scaleK.scale``, RandFormer's
  ``token_mixer.random_matrix``), classifier ``norm.*`` and ``head.*`` (a linear layer, or ``head.{fc1,norm,fc2}``).
- ``timm`` (``timm/<name>.sail_in1k``): timm's PoolFormer names plus ``stem.norm``, ``stages.i.downsample.norm``,
  ``res_scaleK.scale``, and an MLP head ``head.fc.{fc1,norm,fc2}``.

Both keep linear layers as linear weights (timm as 1x1 convolutions outside attention stages); the backbone here
keeps 1x1 convolutions in all stages, so 2-d weights of the MLP and the separable convolution get two unit axes.
Their classifier pools before its final norm, so that norm goes to the neck (``neck.norm``,
:class:`~mmpoolformer.models.GlobalPoolNorm`); an MLP head is returned under ``mlp.{fc1,norm,fc2}.*``.

Each layout has one renamer, ``key -> (part, new name)`` with part ``'backbone'`` or ``'classifier'`` (new name
``None`` for a key the layout does not know), and :func:`stored_arch` is the one reverse arch lookup.

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

from ..errors import CheckpointError
from ..models.arch_settings import FAMILY_ARCH_SETTINGS  # noqa: I001  (first: see models/__init__.py)

WRAPPER_KEYS = ('state_dict', 'model', 'module')
# where a model file keeps its backbone, searched in this order
BACKBONE_PREFIXES = ('', 'backbone.', 'poolformer.')  # poolformer.: a Hugging Face classifier
Renamer = Callable[[str], Tuple[str, Optional[str]]]


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
    layout: 'official', 'timm', 'huggingface' or 'mmpoolformer'.
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
    if 'encoder.patch_embeddings.0.projection.weight' in keys:
        return 'huggingface'
    if 'stem.weight' in keys:
        return 'mmpoolformer'
    return None


def is_baseline(keys, layout: str) -> bool:
    """Whether the keys (prefix removed) of a file in ``layout`` are a MetaFormer baseline's."""
    keys = set(keys)
    if layout == 'official':
        return 'downsample_layers.0.conv.weight' in keys
    if layout == 'timm':
        return 'stem.norm.weight' in keys
    return 'stem_norm.weight' in keys  # (mmpoolformer; huggingface has no baselines)


def backbone_prefix(state: Dict[str, torch.Tensor]) -> Tuple[Optional[str], Optional[str]]:
    """(prefix, layout) of the first of :data:`BACKBONE_PREFIXES` under which ``state`` holds a known layout, else
    (None, None)."""
    for candidate in BACKBONE_PREFIXES:
        layout = detect_layout(k[len(candidate):] for k in state if k.startswith(candidate))
        if layout:
            return candidate, layout
    return None, None


def _find_prefix(state: Dict[str, torch.Tensor], prefix: Optional[str], source: str) -> str:
    if prefix is not None:
        if not any(k.startswith(prefix) for k in state):
            raise CheckpointError(f'checkpoint {source} has no key starting with prefix "{prefix}"; fix the prefix '
                                  f'or leave it unset to detect it')
        return prefix
    found, _ = backbone_prefix(state)
    if found is not None:
        return found
    sample = ', '.join(sorted(state)[:4])
    raise CheckpointError(f'checkpoint {source} is not in a PoolFormer layout this toolbox knows (first keys: '
                          f'{sample}); expected official, timm, Hugging Face, mmpretrain or mmpoolformer weights of '
                          f'PoolFormer or a MetaFormer baseline')


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


def _official_renamer(keys) -> Renamer:
    """The renamer of the official (and mmpretrain) PoolFormer layout, for the ``network`` list of ``keys``."""
    network = _official_network(keys)

    def rename(key: str) -> Tuple[str, Optional[str]]:
        if key.startswith('patch_embed.proj.'):
            return 'backbone', 'stem.' + key[len('patch_embed.proj.'):]
        match = re.match(r'network\.(\d+)\.(.*)$', key)
        if match:
            part, stage = network[int(match.group(1))]
            rest = match.group(2)
            if part == 'downsample':
                return 'backbone', f'stages.{stage}.downsample.' + rest[len('proj.'):]
            if part == 'pos_embed':
                return 'backbone', f'stages.{stage}.pos_embed.weight'
            rest = rest.replace('layer_scale_1', 'layer_scale1').replace('layer_scale_2', 'layer_scale2')
            return 'backbone', f'stages.{stage}.blocks.{rest}'
        match = re.match(r'norm(\d+)\.(.*)$', key)
        if match:
            index = int(match.group(1))
            stage = network[index][1] if index in network else index // 2
            return 'backbone', f'out_norms.{stage}.{match.group(2)}'
        if key.startswith('norm.'):
            return 'classifier', key
        if key.startswith('head.'):
            return 'classifier', 'fc.' + key[len('head.'):]
        return 'backbone', key

    return rename


def _block_rest(rest: str) -> str:
    """A block's own key in timm's and the official baselines' names -> ours."""
    rest = re.sub(r'^(layer|res)_scale([12])\.scale$', r'\1_scale\2', rest)
    return rest.replace('token_mixer.random_matrix', 'token_mixer.matrix')


def _rename_official_baseline(key: str) -> Tuple[str, Optional[str]]:
    """The renamer of the official MetaFormer baselines' layout."""
    match = re.match(r'downsample_layers\.(\d+)\.(pre_norm|conv|post_norm)\.(.*)$', key)
    if match:
        stage, part, rest = int(match.group(1)), match.group(2), match.group(3)
        if stage == 0:
            return 'backbone', ('stem.' if part == 'conv' else 'stem_norm.') + rest
        return 'backbone', f'stages.{stage}.' + ('downsample.' if part == 'conv' else 'downsample_norm.') + rest
    match = re.match(r'stages\.(\d+)\.(\d+)\.(.*)$', key)
    if match:
        return 'backbone', f'stages.{match.group(1)}.blocks.{match.group(2)}.{_block_rest(match.group(3))}'
    if key.startswith('norm.'):
        return 'classifier', key
    match = re.match(r'head\.(fc1|norm|fc2)\.(.*)$', key)
    if match:
        return 'classifier', f'mlp.{match.group(1)}.{match.group(2)}'
    if key.startswith('head.'):
        return 'classifier', 'fc.' + key[len('head.'):]
    return 'backbone', None


def _rename_timm(key: str) -> Tuple[str, Optional[str]]:
    """The renamer of timm's layout, PoolFormer's and the baselines' (which add the stem and downsampling norms,
    residual scales and an MLP head)."""
    match = re.match(r'stem\.(conv|norm)\.(.*)$', key)
    if match:
        return 'backbone', ('stem.' if match.group(1) == 'conv' else 'stem_norm.') + match.group(2)
    match = re.match(r'stages\.(\d+)\.downsample\.(norm|conv)\.(.*)$', key)
    if match:
        part = 'downsample.' if match.group(2) == 'conv' else 'downsample_norm.'
        return 'backbone', f'stages.{match.group(1)}.{part}{match.group(3)}'
    match = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.(.*)$', key)
    if match:
        return 'backbone', f'stages.{match.group(1)}.blocks.{match.group(2)}.{_block_rest(match.group(3))}'
    if key.startswith('head.norm.'):
        return 'classifier', key[len('head.'):]
    match = re.match(r'head\.fc\.(fc1|norm|fc2)\.(.*)$', key)
    if match:
        return 'classifier', f'mlp.{match.group(1)}.{match.group(2)}'
    if key.startswith('head.fc.'):
        return 'classifier', key[len('head.'):]
    return 'backbone', None


_HUGGING_FACE_BLOCK = {'before_norm': 'norm1', 'after_norm': 'norm2', 'output.conv1': 'mlp.fc1',
                       'output.conv2': 'mlp.fc2', 'layer_scale_1': 'layer_scale1', 'layer_scale_2': 'layer_scale2'}


def _rename_hugging_face(key: str) -> Tuple[str, Optional[str]]:
    """The renamer of transformers' PoolFormer layout (keys of ``PoolFormerModel``; a classifier's ``norm`` and
    ``classifier``, which lie outside its ``poolformer.`` prefix, are split off by :func:`convert_weights`)."""
    match = re.match(r'encoder\.patch_embeddings\.(\d+)\.projection\.(.*)$', key)
    if match:
        stage, rest = int(match.group(1)), match.group(2)
        return 'backbone', ('stem.' if stage == 0 else f'stages.{stage}.downsample.') + rest
    match = re.match(r'encoder\.block\.(\d+)\.(\d+)\.(before_norm|after_norm|output\.conv[12]|layer_scale_[12])(.*)$',
                     key)
    if match:
        stage, block, part, rest = match.groups()
        return 'backbone', f'stages.{stage}.blocks.{block}.{_HUGGING_FACE_BLOCK[part]}{rest}'
    return 'backbone', None


def _renamer(layout: str, baseline: bool, keys) -> Renamer:
    if layout == 'mmpoolformer':
        return lambda key: ('backbone', key)
    if layout == 'timm':
        return _rename_timm
    if layout == 'huggingface':
        return _rename_hugging_face
    return _rename_official_baseline if baseline else _official_renamer(keys)


# 1x1 convolutions here that the baselines' files may keep as linear weights
_POINTWISE = re.compile(r'\.(mlp\.fc[12]|token_mixer\.pwconv[12])\.weight$')


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
    if outside and all(k.startswith('head.') for k in outside):  # an image classifier (mmpretrain): drop its head
        result.dropped.extend(sorted(outside))
        result.classifier = {k.replace('head.fc.', 'fc.', 1): v for k, v in outside.items()
                             if k.startswith('head.fc.')}
        result.outside = {}
    elif layout == 'huggingface' and outside and all(re.match(r'(norm|classifier)\.', k) for k in outside):
        result.dropped.extend(sorted(outside))  # PoolFormerForImageClassification: final norm and linear layer
        result.classifier = {re.sub(r'^classifier\.', 'fc.', k): v for k, v in outside.items()}
        result.outside = {}
    rename = _renamer(layout, baseline, inner)
    for key, value in inner.items():
        part, new_key = rename(key)
        if part == 'classifier':
            result.dropped.append(prefix + key)
            result.classifier[new_key] = value
            continue
        if new_key is None:  # a key the layout does not know: kept, so the fit check refuses it by name
            new_key = key
        elif re.search(r'\.layer_scale[12]$', new_key):
            value = value.reshape(-1)  # timm stores (C, 1, 1)
        elif _POINTWISE.search(new_key) and value.dim() == 2:
            value = value[:, :, None, None]
        result.backbone[new_key] = value
    return result


def baseline_family(backbone: Dict[str, torch.Tensor]) -> str:
    """The family converted baseline weights belong to, from their token-mixer tensors: 'caformer', 'convformer',
    'randformer', or 'poolformerv2/identityformer' (their tensors are the same: neither mixer has parameters)."""
    def has(stage: int, name: str) -> bool:
        return any(re.match(rf'stages\.{stage}\.blocks\.\d+\.token_mixer\.{name}', k) for k in backbone)

    last = max(int(m.group(1)) for k in backbone for m in [re.match(r'stages\.(\d+)\.', k)] if m)
    if has(0, 'pwconv1'):
        return 'caformer' if has(last, 'qkv') else 'convformer'
    if any(has(stage, 'matrix') for stage in range(last + 1)):
        return 'randformer'
    return 'poolformerv2/identityformer'


def stored_arch(backbone: Dict[str, torch.Tensor]) -> str:
    """The architecture stored in converted backbone weights, by the one reverse lookup of the arch tables:
    PoolFormer's size (``'s12'``), a baseline's ``family_size`` (``'caformer_s18'``; ``'poolformerv2_s12/
    identityformer_s12'`` where the tensors cannot tell), else the family with its depths and widths."""
    depths, dims = [], []
    for stage in range(8):
        blocks = {int(m.group(1)) for k in backbone for m in [re.match(rf'stages\.{stage}\.blocks\.(\d+)\.', k)] if m}
        if not blocks:
            break
        depths.append(max(blocks) + 1)
        dims.append(backbone[f'stages.{stage}.blocks.0.norm1.weight'].shape[0]
                    if f'stages.{stage}.blocks.0.norm1.weight' in backbone else None)
    families = baseline_family(backbone).split('/') if 'stem_norm.weight' in backbone else ['poolformer']
    for size, arch in FAMILY_ARCH_SETTINGS[families[0]].items():
        if arch['depths'] == depths and arch['embed_dims'] == dims:
            return '/'.join(size if family == 'poolformer' else f'{family}_{size}' for family in families)
    family = '' if families == ['poolformer'] else '/'.join(families) + ' '
    return f'{family}depths {depths}, embed_dims {dims}'


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
    prefix, layout = backbone_prefix(state)
    if layout in ('official', 'timm', 'huggingface'):
        state = convert_weights(state, prefix=prefix).model_state_dict(final_norm)
    state = OrderedDict(state)  # as torch state dicts are (MMEngine's loader sets their _metadata)
    return dict(checkpoint, state_dict=state) if wrapped else dict(state_dict=state)
