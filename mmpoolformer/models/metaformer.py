"""MetaFormer and PoolFormer backbones ("MetaFormer Is Actually What You Need for Vision", Yu et al., CVPR 2022).

A MetaFormer is a stem convolution (optionally followed by a norm) and stages of blocks; every block is::

    x = res_scale1 * x + DropPath(layer_scale1 * TokenMixer(Norm(x)))
    x = res_scale2 * x + DropPath(layer_scale2 * ConvMlp(Norm(x)))

with per-channel layer scales (PoolFormer) or residual scales (the MetaFormer baselines, stages 3-4), each present
only where the arch sets an initial value.

Stage i (i >= 1) starts with a stride-2 convolution (in the baselines after a norm of its input), so stage i
outputs ``embed_dims[i]`` channels at stride 4 * 2**i. PoolFormer is the MetaFormer whose token mixer is ``Pooling``
in every stage; the baselines (``baselines.py``) are further presets of the same skeleton. For dense prediction each
requested stage output passes through its own norm (``out_norms``), as in the official detection/segmentation model;
only requested stages get one, so no parameter is left unused.

Parameter names (the layout ``tools/convert_checkpoint.py`` writes)::

    stem.{weight,bias}                               7x7 stride-4 convolution
    stem_norm.*                                      its norm (baselines)
    stages.{i}.downsample_norm.*                     norm of the downsampling input, i >= 1 (baselines)
    stages.{i}.downsample.{weight,bias}              3x3 stride-2 convolution, i >= 1
    stages.{i}.pos_embed.weight                      (1, C, H0, W0) position embedding, stages given pos_embed_sizes
    stages.{i}.blocks.{j}.{norm1,norm2}.*            block norms
    stages.{i}.blocks.{j}.token_mixer.*              mixer parameters (none for Pooling)
    stages.{i}.blocks.{j}.mlp.{fc1,fc2}.*            1x1 convolutions; mlp.act.* (StarReLU's scale, bias)
    stages.{i}.blocks.{j}.{layer_scale1,layer_scale2}  shape (C,)
    stages.{i}.blocks.{j}.{res_scale1,res_scale2}      shape (C,)
    out_norms.{i}.*                                  norm of each requested stage output
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as activation_checkpoint
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint.fit import load_backbone_weights
from ..errors import ConfigError
from ..registry import MODELS
from .activations import build_activation
from .arch_settings import ARCH_SETTINGS, resolve_arch
from .folding import fold_pointwise_input, join_norm, scale_pointwise_output, split_norm
from .norms import build_channel_norm
from .pointwise import pointwise_as_matmul
from .position_embedding import PositionEmbedding
from .token_mixers import build_token_mixer

# the schemes of MMCV's model zoo (ResNet and other CNN weights, never a MetaFormer's)
MODEL_ZOO_SCHEMES = ('open-mmlab', 'openmmlab', 'torchvision', 'mmcls', 'modelzoo')


class ConvMlp(nn.Module):
    """Channel MLP on NCHW maps: 1x1 conv (C -> hidden), activation, 1x1 conv (hidden -> C), with dropout; the
    convolutions have biases unless ``bias=False`` (the baselines).

    On a CPU under bf16/fp16 autocast with a channels_last input, the two 1x1 convolutions run as matrix products
    over the NHWC view of the same memory (no copy; the same parameters): oneDNN's reduced-precision matrix product
    is about 1.5x faster than its 1x1 convolution there, forward and backward. Everywhere else they stay
    convolutions, which keeps fp32 results bit-equal to the official model.
    """

    def __init__(self, dim: int, hidden_dim: int, act_cfg: dict, drop: float = 0., bias: bool = True):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden_dim, 1, bias=bias)
        self.act = build_activation(act_cfg)
        self.fc2 = nn.Conv2d(hidden_dim, dim, 1, bias=bias)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if pointwise_as_matmul(x):  # (N, C, H, W) channels_last -> (N, H, W, C) view, matrix products over C
            x = F.linear(x.permute(0, 2, 3, 1), self.fc1.weight.flatten(1), self.fc1.bias)
            x = F.linear(self.drop(self.act(x)), self.fc2.weight.flatten(1), self.fc2.bias)
            return self.drop(x).permute(0, 3, 1, 2)
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class MetaFormerBlock(nn.Module):
    """One MetaFormer block on an NCHW map of ``dim`` channels (see the module docstring).

    Args:
        token_mixer: config of a mixer registered in ``mmpoolformer.registry.MODELS``; ``dim`` is filled in.
        layer_scale_init_value: initial value of the per-channel scales of the mixer and MLP branches, or a pair
            ``(mixer, mlp)`` of values for each branch; ``None`` disables layer scale.
        res_scale_init_value: initial value of the per-channel scales of the residual (skip) paths; ``None``
            disables them.
        mlp_bias: whether the MLP's 1x1 convolutions have biases.
    """

    def __init__(self, dim: int, token_mixer: dict, mlp_ratio: float, norm_cfg: Optional[dict], act_cfg: dict,
                 drop: float = 0., drop_path: float = 0.,
                 layer_scale_init_value: Union[None, float, Sequence[float]] = 1e-5,
                 res_scale_init_value: Optional[float] = None, mlp_bias: bool = True):
        super().__init__()
        self.norm1 = build_channel_norm(norm_cfg, dim)
        self.token_mixer = build_token_mixer(token_mixer, dim)
        self.norm2 = build_channel_norm(norm_cfg, dim)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), act_cfg, drop, bias=mlp_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.layer_scale1, self.layer_scale2 = self._scales(dim, layer_scale_init_value)
        self.res_scale1, self.res_scale2 = self._scales(dim, res_scale_init_value)

    @staticmethod
    def _scales(dim: int, init_value: Union[None, float, Sequence[float]]
                ) -> Tuple[Optional[nn.Parameter], Optional[nn.Parameter]]:
        """The two branches' (or skip paths') per-channel scales, from one value for both or a pair."""
        if init_value is None:
            return None, None
        first, second = (init_value, init_value) if isinstance(init_value, (int, float)) else init_value
        return (nn.Parameter(torch.full((dim,), float(first))), nn.Parameter(torch.full((dim,), float(second))))

    @staticmethod
    def _scale(x: torch.Tensor, scale: Optional[torch.Tensor]) -> torch.Tensor:
        return x if scale is None else x * scale[:, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._scale(x, self.res_scale1) + self.drop_path(
            self._scale(self.token_mixer(self.norm1(x)), self.layer_scale1))
        return self._scale(x, self.res_scale2) + self.drop_path(
            self._scale(self.mlp(self.norm2(x)), self.layer_scale2))

    @torch.no_grad()
    def switch_to_deploy(self) -> List[str]:
        """Fold every per-channel affine term into a neighbour, for inference (the block must be in eval mode).

        - norm2's affine moves into ``mlp.fc1`` and ``layer_scale2`` into ``mlp.fc2`` (both 1x1 convolutions);
        - norm1's affine and ``layer_scale1`` go where the token mixer's ``fold_affine`` puts them (for
          ``Pooling``: norm1's weight times layer_scale1 becomes the one per-channel ``layer_scale1``, and norm1's
          bias cancels).

        The block then computes the same function with fewer element-wise passes. The residual scales (baselines)
        act on the skip paths and stay as they are. Returns the names of the terms that could not be folded (empty
        when everything folded).
        """
        unfolded = []
        dim = self.mlp.fc1.in_channels
        plain2, (gamma2, beta2) = split_norm(self.norm2)
        if plain2 is self.norm2 and not isinstance(self.norm2, nn.Identity):
            unfolded.append(f'norm2 ({type(self.norm2).__name__})')
        fold_pointwise_input(self.mlp.fc1, gamma2, beta2)  # fc1(g*n + b) = (W*g) n + (W b + bias)
        self.norm2 = plain2
        if self.layer_scale2 is not None:
            scale_pointwise_output(self.mlp.fc2, self.layer_scale2)
            self.layer_scale2 = None

        plain1, (gamma1, beta1) = split_norm(self.norm1)
        if plain1 is self.norm1 and not isinstance(self.norm1, nn.Identity):
            unfolded.append(f'norm1 ({type(self.norm1).__name__})')
        scale1 = self.layer_scale1
        if hasattr(self.token_mixer, 'fold_affine'):
            (gamma1, beta1), scale1 = self.token_mixer.fold_affine(gamma1, beta1, scale1)
        elif gamma1 is not None or beta1 is not None or scale1 is not None:
            unfolded.append(f'token mixer {type(self.token_mixer).__name__} (no fold_affine)')
        self.norm1 = join_norm(plain1, dim, (gamma1, beta1))
        self.layer_scale1 = None if scale1 is None else nn.Parameter(scale1.detach().clone())
        return unfolded


class MetaFormerStage(nn.Module):
    """A stride-2 downsampling convolution (absent in stage 0, which follows the stem) after an optional norm of its
    input, an optional position embedding added to its output, and a sequence of blocks.

    ``with_cp``: while training with gradients, each block runs under activation checkpointing (its activations are
    recomputed in the backward pass instead of kept): less memory, the same gradients, about one more forward.
    """

    def __init__(self, downsample: Optional[nn.Module], blocks: List[nn.Module],
                 pos_embed: Optional[PositionEmbedding] = None, downsample_norm: Optional[nn.Module] = None,
                 with_cp: bool = False):
        super().__init__()
        self.downsample_norm = downsample_norm if downsample_norm is not None else nn.Identity()
        self.downsample = downsample if downsample is not None else nn.Identity()
        self.pos_embed = pos_embed if pos_embed is not None else nn.Identity()
        self.blocks = nn.Sequential(*blocks)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pos_embed(self.downsample(self.downsample_norm(x)))
        if not (self.with_cp and self.training and torch.is_grad_enabled()):
            return self.blocks(x)
        for block in self.blocks:
            x = activation_checkpoint.checkpoint(block, x, use_reentrant=False)
        return x


# the stem and stage-entry convolutions' kernel, stride and padding (the paper's; MetaFormer's defaults)
STEM_CFG = dict(kernel_size=7, stride=4, padding=2)
DOWNSAMPLE_CFG = dict(kernel_size=3, stride=2, padding=1)


def stage_strides(num_stages: int = 4, stem_cfg: dict = STEM_CFG, downsample_cfg: dict = DOWNSAMPLE_CFG) -> List[int]:
    """The stride (input pixels per output position) of each stage's output: 4, 8, 16, 32 with the defaults."""
    strides = [stem_cfg['stride']]
    for _ in range(num_stages - 1):
        strides.append(strides[-1] * downsample_cfg['stride'])
    return strides


def token_grids(input_size: Sequence[int], num_stages: int = 4, stem_cfg: dict = STEM_CFG,
                downsample_cfg: dict = DOWNSAMPLE_CFG) -> List[Tuple[int, int]]:
    """The (H, W) token grid of each stage's output for an input of ``input_size`` (H, W) px, as the stem and the
    stage-entry convolutions compute it (``floor((size + 2 padding - kernel) / stride) + 1`` each)."""
    def conv(size: int, cfg: dict) -> int:
        return (size + 2 * cfg['padding'] - cfg['kernel_size']) // cfg['stride'] + 1

    grid = tuple(conv(size, stem_cfg) for size in input_size)
    grids = [grid]
    for _ in range(num_stages - 1):
        grid = tuple(conv(size, downsample_cfg) for size in grid)
        grids.append(grid)
    return grids


@MODELS.register_module()
class MetaFormer(BaseModule):
    """General MetaFormer backbone emitting a feature pyramid.

    Args:
        arch: a name of the class's ``arch_settings`` (PoolFormer's 's12', 's24', 's36', 'm36', 'm48') or a dict
            with ``depths`` and ``embed_dims`` (optionally ``mlp_ratios``, ``layer_scale_init_value`` and
            ``res_scale_init_values``, one per stage; ``None`` disables the scale).
        token_mixers: one mixer config for all stages, or a list with one per stage, e.g. the paper's hybrid
            ``[dict(type='Pooling'), dict(type='Pooling'), dict(type='Attention'), dict(type='Attention')]``.
        norm_cfg: norm of the blocks and of the stage outputs (default GroupNorm with one group, the paper's
            "modified layer norm"); ``None`` removes normalisation.
        pos_embed_sizes: ``None``, or one entry per stage: ``None`` or the token grid ``(H0, W0)`` of a learned
            position embedding added before the stage's first block (the official attention hybrids: ``(7, 7)`` at
            stage 4 of ``metaformer_pppa_s12_224``, ``(14, 14)`` at stage 3 of ``ppaa``, i.e. the 224 px grid); it
            is resized bicubically to any other feature size (see :class:`PositionEmbedding`).
        act_cfg: activation inside the channel MLP.
        mlp_bias: whether the MLP's convolutions have biases (the baselines have none).
        stem_norm_cfg / downsample_norm_cfg: norm after the stem convolution and before each stage-entry
            convolution (``None``, PoolFormer: none; the baselines: a bias-free channel LayerNorm).
        out_norm_cfg: norm of the returned stage outputs; ``None`` uses ``norm_cfg``.
        in_channels: image channels.
        stem_cfg / downsample_cfg: kernel_size, stride, padding of the stem and stage-entry convolutions.
        drop_rate: dropout inside the MLP. drop_path_rate: stochastic depth, rising linearly to this value over all
            blocks.
        out_indices: stages whose (normed) output is returned, in this order; negative indices count from the end.
        norm_outputs: pass each returned stage output through its own norm (``out_norms``, as the official detection
            and classification models do). False returns the stage outputs as they are, e.g. for timm's classifier
            order, which pools first and norms the pooled vector (:class:`~mmpoolformer.models.GlobalPoolNorm`).
        frozen_stages: -1 freezes nothing; 0 the stem; k >= 1 also stages 0..k-1 (with their downsampling
            convolutions and output norms). Frozen parts stay in eval mode with no gradient after ``train()``.
        norm_eval: keep BatchNorm-type layers in eval mode while training.
        with_cp: activation checkpointing of every block while training (see :class:`MetaFormerStage`).
        init_cfg: MMEngine init config; ``dict(type='Pretrained', checkpoint=FILE_OR_URL)`` loads official, timm,
            mmpretrain or mmpoolformer weights (see ``mmpoolformer.checkpoint``); add ``trusted=True`` only for a
            trusted file that cannot be loaded safely.
        pretrained: shorthand for ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
        deploy: build the folded inference form that :meth:`switch_to_deploy` produces (to load a checkpoint
            written after folding, e.g. by ``tools/reparameterize_model.py``).

    Forward: ``(N, in_channels, H, W)`` -> tuple of ``(N, embed_dims[i], ~H / 2**(i+2), ~W / 2**(i+2))`` for i in
    ``out_indices``; any H and W work (except for mixers built for one token grid, e.g. ``RandomMixing``).

    ``feature_info``: one dict per stage, as timm's models state their pyramid: ``num_chs`` (channels),
    ``reduction`` (stride in input pixels) and ``module`` (its name); the one place channels and strides are stated.
    """
    arch_settings: Dict[str, dict] = ARCH_SETTINGS

    def __init__(self,
                 arch: Union[str, dict] = 's12',
                 token_mixers: Union[dict, Sequence[dict]] = dict(type='Pooling', pool_size=3),
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=1),
                 act_cfg: dict = dict(type='GELU'),
                 mlp_bias: bool = True,
                 stem_norm_cfg: Optional[dict] = None,
                 downsample_norm_cfg: Optional[dict] = None,
                 out_norm_cfg: Optional[dict] = None,
                 pos_embed_sizes: Optional[Sequence[Optional[Sequence[int]]]] = None,
                 in_channels: int = 3,
                 stem_cfg: dict = STEM_CFG,
                 downsample_cfg: dict = DOWNSAMPLE_CFG,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 norm_outputs: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 pretrained: Optional[str] = None,
                 deploy: bool = False):
        if pretrained is not None:
            if str(pretrained).split('://')[0] in MODEL_ZOO_SCHEMES:
                raise ConfigError(f'pretrained={pretrained!r} reached the backbone: that names weights of another '
                                  f'backbone (MMCV\'s model zoo), most likely the model.pretrained of the config\'s '
                                  f'base, which a segmentor hands to its backbone; set model.pretrained=None and give '
                                  f'the backbone\'s weights in backbone.init_cfg')
            if init_cfg is not None:
                raise ConfigError('pass either pretrained or init_cfg to the backbone, not both (a segmentor hands '
                                  'its model.pretrained to the backbone: set model.pretrained=None)')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        self.arch_name = arch if isinstance(arch, str) else 'custom'
        self.arch = resolve_arch(arch, self.arch_settings, type(self).__name__)
        depths, dims = self.arch['depths'], self.arch['embed_dims']
        num_stages = len(depths)
        self.num_stages = num_stages
        self.embed_dims = list(dims)

        if isinstance(token_mixers, dict):
            token_mixers = [token_mixers] * num_stages
        if len(token_mixers) != num_stages:
            raise ConfigError(f'token_mixers has {len(token_mixers)} entries but the arch has {num_stages} stages')
        pos_embed_sizes = [None] * num_stages if pos_embed_sizes is None else list(pos_embed_sizes)
        if len(pos_embed_sizes) != num_stages:
            raise ConfigError(f'pos_embed_sizes={pos_embed_sizes} has {len(pos_embed_sizes)} entries but the arch has '
                              f'{num_stages} stages; give one per stage (None for no position embedding)')

        self.out_indices = self._check_out_indices(out_indices, num_stages)
        if not -1 <= frozen_stages <= num_stages:
            raise ConfigError(f'frozen_stages={frozen_stages} is out of range: use -1 (nothing), 0 (stem) up to '
                              f'{num_stages} (all stages)')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stem_cfg, self.downsample_cfg = dict(stem_cfg), dict(downsample_cfg)
        self.feature_info = [dict(num_chs=dims[i], reduction=stride, module=f'stages.{i}')
                             for i, stride in enumerate(stage_strides(num_stages, stem_cfg, downsample_cfg))]
        self.stem = nn.Conv2d(in_channels, dims[0], **stem_cfg)
        self.stem_norm = build_channel_norm(stem_norm_cfg, dims[0])
        total_blocks = sum(depths)
        stages, block_index = [], 0
        for i in range(num_stages):
            downsample = nn.Conv2d(dims[i - 1], dims[i], **downsample_cfg) if i > 0 else None
            downsample_norm = build_channel_norm(downsample_norm_cfg, dims[i - 1]) if i > 0 else None
            blocks = []
            for _ in range(depths[i]):
                rate = drop_path_rate * block_index / max(total_blocks - 1, 1)
                blocks.append(MetaFormerBlock(dims[i], token_mixers[i], self.arch['mlp_ratios'][i], norm_cfg,
                                              act_cfg, drop=drop_rate, drop_path=rate,
                                              layer_scale_init_value=self.arch['layer_scale_init_value'],
                                              res_scale_init_value=self.arch['res_scale_init_values'][i],
                                              mlp_bias=mlp_bias))
                block_index += 1
            pos_embed = PositionEmbedding(dims[i], pos_embed_sizes[i]) if pos_embed_sizes[i] is not None else None
            stages.append(MetaFormerStage(downsample, blocks, pos_embed, downsample_norm, with_cp))
        self.stages = nn.ModuleList(stages)
        out_norm_cfg = norm_cfg if out_norm_cfg is None else out_norm_cfg
        self.out_norms = nn.ModuleDict({str(i): build_channel_norm(out_norm_cfg, dims[i])
                                        for i in (self.out_indices if norm_outputs else ())})
        self._freeze_stages()
        self.deploy = False
        if deploy:
            self.switch_to_deploy()

    def token_grids(self, input_size: Sequence[int]) -> List[Tuple[int, int]]:
        """The (H, W) token grid of each stage for an input of ``input_size`` (H, W) px (:func:`token_grids`)."""
        return token_grids(input_size, self.num_stages, self.stem_cfg, self.downsample_cfg)

    @staticmethod
    def _check_out_indices(out_indices: Union[int, Sequence[int]], num_stages: int) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        resolved = []
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ConfigError(f'out_indices={tuple(out_indices)} is out of range: the backbone has {num_stages} '
                                  f'stages, so use indices 0..{num_stages - 1} (or -{num_stages}..-1)')
            resolved.append(index % num_stages)
        if len(set(resolved)) != len(resolved):
            raise ConfigError(f'out_indices={tuple(out_indices)} names a stage twice')
        return tuple(resolved)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem_norm(self.stem(x))
        features: Dict[int, torch.Tensor] = {}
        last = max(self.out_indices, default=-1)
        for i, stage in enumerate(self.stages[:last + 1]):
            x = stage(x)
            if i in self.out_indices:
                features[i] = self.out_norms[str(i)](x) if str(i) in self.out_norms else x
        return tuple(features[i] for i in self.out_indices)

    @torch.no_grad()
    def switch_to_deploy(self) -> List[str]:
        """Fold every block's per-channel affine terms into neighbouring layers for inference (see
        :meth:`MetaFormerBlock.switch_to_deploy`); outputs stay equal to the unfolded model's (to float rounding).

        The model is put in eval mode (BatchNorm folds its running statistics); it is meant for inference.
        Returns the terms that could not be folded, as ``'stages.i.blocks.j: what'`` strings (also logged).
        """
        if self.deploy:
            return []
        self.eval()
        unfolded = []
        for i, stage in enumerate(self.stages):
            for j, block in enumerate(stage.blocks):
                unfolded += [f'stages.{i}.blocks.{j}: {what}' for what in block.switch_to_deploy()]
        self.deploy = True
        if unfolded:
            print_log(f'switch_to_deploy left {len(unfolded)} terms unfolded, e.g. {unfolded[0]}', logger='current')
        return unfolded

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules: List[nn.Module] = [self.stem, self.stem_norm]
        for i in range(self.frozen_stages):
            modules.append(self.stages[i])
            if str(i) in self.out_norms:
                modules.append(self.out_norms[str(i)])
        return modules

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MetaFormer':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            if self.deploy:
                raise ConfigError('a backbone built with deploy=True loads only folded checkpoints (written by '
                                  'tools/reparameterize_model.py), not init_cfg Pretrained weights; load those '
                                  'with deploy=False, then call switch_to_deploy()')
            cfg = self.init_cfg
            load_backbone_weights(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                                  trusted=cfg.get('trusted', False))
            self._is_init = True
        else:
            super().init_weights()


@MODELS.register_module()
class PoolFormer(MetaFormer):
    """PoolFormer: the MetaFormer whose token mixer is ``AvgPool(x) - x`` in every stage.

    Args:
        arch: 's12', 's24', 's36', 'm36', 'm48' or an arch dict (see :class:`MetaFormer`).
        pool_size: odd pooling window (the paper uses 3).
        **kwargs: any other :class:`MetaFormer` argument (norm_cfg, act_cfg, drop_path_rate, out_indices,
            frozen_stages, norm_eval, init_cfg, ...).
    """

    def __init__(self, arch: Union[str, dict] = 's12', pool_size: int = 3, **kwargs):
        if 'token_mixers' in kwargs:
            raise ConfigError('PoolFormer always mixes tokens by pooling; use mmpoolformer.MetaFormer for other '
                              'token_mixers')
        super().__init__(arch=arch, token_mixers=dict(type='Pooling', pool_size=pool_size), **kwargs)
