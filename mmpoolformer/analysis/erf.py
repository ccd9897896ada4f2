"""Effective receptive field (ERF) of a backbone's last stage, to compare token mixers (``tools/analysis/erf.py``
and the web demo's "Look inside").

For every image (resized to a fixed (H, W), normalised as the model expects), the gradient of the last stage's output
at its centre position with respect to the input is taken; its absolute value, summed over the input channels and
averaged over the images, is the ERF (Luo et al., 2016). The centre output is reduced to one number as RepLKNet's ERF
tool does, ``relu(out[:, :, h // 2, w // 2]).sum()``: a plain sum over channels would be a constant after a
per-position channel norm (the baselines' LayerNorm output norms: the normalised channels sum to zero), whose
gradient is zero everywhere. :func:`mass_areas` gives the share of the input area that holds 20 %, 50 % and 90 % of
its mass; :func:`erf_figure` draws one heat map per model.
"""
import glob
import os.path as osp
import textwrap
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from ..apis import read_image
from ..errors import ConfigError
from ..models import MetaFormer
from ..models.names import create_backbone, is_backbone_name, parse_backbone_name
from ..registry import MODELS

IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
MASS_SHARES = (0.2, 0.5, 0.9)
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
MIXERS = ('Pooling', 'DepthwiseConv', 'Identity', 'Attention')  # the token-mixer comparison of the README


def normalise(img: np.ndarray, shape: Tuple[int, int], norm: dict) -> torch.Tensor:
    """A BGR uint8 (h, w, 3) image resized (bilinear) to ``shape`` (H, W) and normalised with ``norm`` (``mean``,
    ``std`` in 0-255 units, ``bgr_to_rgb``): a (1, 3, H, W) float tensor."""
    import cv2
    img = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    if norm.get('bgr_to_rgb'):
        img = img[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
    mean = torch.tensor(norm['mean']).view(1, 3, 1, 1)
    std = torch.tensor(norm['std']).view(1, 3, 1, 1)
    return (x - mean) / std


def load_images(folder: str, count: int, shape: Tuple[int, int], norm: dict) -> List[torch.Tensor]:
    """Up to ``count`` images of ``folder`` (sorted by name) through :func:`normalise`: (1, 3, H, W) each."""
    if not osp.isdir(folder):
        raise ConfigError(f'--images {folder} is not a folder; pass a folder of images (jpg, png)')
    paths = sorted(p for p in glob.glob(osp.join(folder, '*')) if p.lower().endswith(IMAGE_SUFFIXES))[:count]
    if not paths:
        raise ConfigError(f'--images {folder} holds no images (jpg, png, bmp)')
    return [normalise(read_image(path), shape, norm) for path in paths]


def preprocessor_norm(preprocessor) -> dict:
    """``mean``, ``std`` and ``bgr_to_rgb`` of a model's data preprocessor, for :func:`normalise`."""
    return dict(mean=preprocessor.mean.flatten().tolist(), std=preprocessor.std.flatten().tolist(),
                bgr_to_rgb=bool(getattr(preprocessor, '_channel_conversion', False)))


def erf(backbone: torch.nn.Module, images: List[torch.Tensor]) -> np.ndarray:
    """Mean over images of |d relu(out[centre]).sum() / d input|, summed over input channels: (H, W)."""
    backbone.eval()
    total = None
    for x in images:
        x = x.clone().requires_grad_(True)
        out = backbone(x)[-1]  # (1, C, h, w): the last stage
        torch.relu(out[0, :, out.shape[2] // 2, out.shape[3] // 2]).sum().backward()
        grad = x.grad.abs().sum(1)[0]
        total = grad if total is None else total + grad
        backbone.zero_grad(set_to_none=True)
    return (total / len(images)).numpy()


def mass_areas(field: np.ndarray) -> Dict[float, float]:
    """Share of the input area that holds each of MASS_SHARES of the field's mass (largest values first)."""
    values = np.sort(field.ravel())[::-1]
    cumulative = np.cumsum(values) / values.sum()
    return {share: (int(np.searchsorted(cumulative, share)) + 1) / values.size for share in MASS_SHARES}


def named_backbone(name: str, shape, checkpoint=None) -> torch.nn.Module:
    """The published backbone ``name`` (e.g. ``caformer_s18``; last stage only), seeded, random or loaded from
    ``checkpoint`` (like ``init_cfg``); RandFormer's token grids are those of the square ``shape`` (H, W)."""
    torch.manual_seed(0)
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    model = create_backbone(name, shape=shape, out_indices=(-1,), init_cfg=init_cfg)
    if init_cfg:  # (without one, MMEngine's init_weights changes nothing and logs a line per parameter)
        model.init_weights()
    return model


def arch_backbones(arch: str, mixers: Sequence[str], checkpoint=None, act: str = 'GELU',
                   shape=(224, 224)) -> Dict[str, torch.nn.Module]:
    """One backbone per ``mixers`` entry, each from seed 0, returning its last stage only, by label.

    A registered token mixer gives a MetaFormer of ``arch`` (a PoolFormer size) with it in every stage and ``act``
    in its MLP (label ``'ARCH MIXER'``, ``+ACT`` unless GELU); untrained (no ``checkpoint``), its layer scales start
    at 1 instead of the paper's 1e-5 (which would silence every mixer); a checkpoint is loaded like ``init_cfg``. A
    baselines model name (e.g. ``caformer_s18``) gives that backbone as published (:func:`named_backbone`)."""
    if MODELS.get(act) is None:
        raise ConfigError(f"--act {act} is not a registered activation; e.g. GELU, ReLU, SiLU, StarReLU")
    models = {}
    for mixer in mixers:
        if '_' in mixer and is_backbone_name(mixer):
            models[mixer.lower()] = named_backbone(mixer, shape)
            continue
        if mixer not in MODELS.module_dict:
            raise ConfigError(f"--mixers {mixer} is neither a registered token mixer (e.g. Pooling, DepthwiseConv, "
                              f"SepConv, Attention, Identity) nor a baselines model (e.g. caformer_s18)")
        torch.manual_seed(0)
        init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
        settings = parse_backbone_name(arch).arch
        if not checkpoint:  # the paper's 1e-5 init silences every mixer of an untrained network
            settings['layer_scale_init_value'] = 1.
        model = MetaFormer(arch=settings, token_mixers=dict(type=mixer), act_cfg=dict(type=act), out_indices=(-1,),
                           init_cfg=init_cfg)
        if init_cfg:
            model.init_weights()
        models[f'{arch} {mixer}' + ('' if act == 'GELU' else f'+{act}')] = model
    return models


def area_text(areas: Dict[float, float], digits: int = 1) -> str:
    """``'20%: 4.7%, 50%: 19.1%, 90%: 69.5%'``: each mass share and the share of the input area holding it."""
    return ', '.join(f'{int(100 * s)}%: {100 * a:.{digits}f}%' for s, a in areas.items())


def erf_figure(fields: Dict[str, np.ndarray], areas: Dict[str, Dict[float, float]], shape: Tuple[int, int]):
    """A matplotlib figure (Agg) with one heat map per model, ``log10(1 + ERF / max * 1000) / 3`` so the faint tail
    stays visible, titled with its :func:`mass_areas`; the caller saves and closes it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 3.6), dpi=100, squeeze=False)
    for ax, (name, field) in zip(axes[0], fields.items()):
        shown = np.log10(1 + field / field.max() * 1000) / 3
        ax.imshow(shown, cmap='viridis', vmin=0, vmax=1)
        ax.set_title(name + '\n' + area_text(areas[name]), fontsize=9)
        ax.axis('off')
    title = (f'effective receptive field of the last stage ({shape[0]}x{shape[1]} input; share of the area holding '
             f'20/50/90 % of the mass)')
    fig.suptitle(textwrap.fill(title, 50 * len(fields)), fontsize=8)  # one panel: lines that fit its 320 px
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def figure_rgb(fig) -> np.ndarray:
    """A matplotlib figure rendered to an (H, W, 3) RGB uint8 array, then closed."""
    import matplotlib.pyplot as plt
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb
