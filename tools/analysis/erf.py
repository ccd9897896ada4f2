"""Effective receptive field (ERF) of a backbone's last stage, to compare token mixers.

    python tools/analysis/erf.py s12 --images DIR --out erf.png [--mixers Pooling DepthwiseConv SepConv Attention
                                 Identity caformer_s18 convformer_s18 ...] [--act StarReLU]
    python tools/analysis/erf.py caformer_s18 [CHECKPOINT] --images DIR --out erf.png
    python tools/analysis/erf.py CONFIG [CHECKPOINT] --images DIR --out erf.png

For every image (resized to ``--shape``, normalised as the model expects), the gradient of the last stage's output at
its centre position (summed over channels) with respect to the input is taken; its absolute value, summed over the
input channels and averaged over the images, is the ERF (Luo et al., 2016). Printed per model: the share of the input
area that holds 20 %, 50 % and 90 % of the ERF's mass (the smallest set of pixels, largest values first): the wider
the mixer's reach, the larger these areas. Drawn: one heat map per model (``log10(1 + ERF / max * 1000) / 3``, so the
faint tail stays visible), titled with those areas.

A PoolFormer arch builds, from the same seed, one model per ``--mixers`` entry: a registered token mixer (Pooling,
DepthwiseConv, SepConv, Attention, Identity, ...) gives a MetaFormer of that size with the mixer in every stage and
``--act`` in its MLP (default GELU; e.g. StarReLU, the baselines' activation); untrained, its layer scales start at 1
instead of the paper's 1e-5 (which would silence every mixer); a checkpoint for an arch is loaded into each of these
like ``init_cfg``. An entry that names a model of "MetaFormer Baselines for Vision" (``caformer_s18``,
``convformer_s18``, ``poolformerv2_s12``, ``identityformer_s12``, ``randformer_s12``, ...; any published size) gives
that backbone as published (its mixers, StarReLU, residual scales; random weights). Such a name can also be the
target itself, with its checkpoint (an official, timm or mmpoolformer file). RandFormer needs a square ``--shape``
divisible by 32 (its mixing matrices exist for one token grid). A config uses its model's backbone (its own
initialisation without a checkpoint). No images are written.
"""
import argparse
import glob
import os.path as osp
import sys
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # run from a clone

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmpoolformer.arch_settings import ARCH_SETTINGS, BASELINE_ARCH_SETTINGS, resolve_arch  # noqa: E402
from mmpoolformer.cli import run_cli  # noqa: E402
from mmpoolformer.errors import ConfigError  # noqa: E402
from mmpoolformer.fileio import write_atomically  # noqa: E402

IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
MASS_SHARES = (0.2, 0.5, 0.9)
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


def load_images(folder: str, count: int, shape, norm: dict) -> List[torch.Tensor]:
    """Up to ``count`` images of ``folder`` (sorted by name), resized to ``shape`` and normalised: (1, 3, H, W)."""
    import cv2

    from mmpoolformer.apis import read_image
    if not osp.isdir(folder):
        raise ConfigError(f'--images {folder} is not a folder; pass a folder of images (jpg, png)')
    paths = sorted(p for p in glob.glob(osp.join(folder, '*')) if p.lower().endswith(IMAGE_SUFFIXES))[:count]
    if not paths:
        raise ConfigError(f'--images {folder} holds no images (jpg, png, bmp)')
    mean = torch.tensor(norm['mean']).view(1, 3, 1, 1)
    std = torch.tensor(norm['std']).view(1, 3, 1, 1)
    out = []
    for path in paths:
        img = cv2.resize(read_image(path), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        if norm.get('bgr_to_rgb'):
            img = img[..., ::-1]
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
        out.append((x - mean) / std)
    return out


def erf(backbone: torch.nn.Module, images: List[torch.Tensor]) -> np.ndarray:
    """Mean over images of |d out[centre].sum() / d input|, summed over input channels: (H, W)."""
    backbone.eval()
    total = None
    for x in images:
        x = x.clone().requires_grad_(True)
        out = backbone(x)[-1]  # (1, C, h, w): the last stage
        out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
        grad = x.grad.abs().sum(1)[0]
        total = grad if total is None else total + grad
        backbone.zero_grad(set_to_none=True)
    return (total / len(images)).numpy()


def mass_areas(field: np.ndarray) -> Dict[float, float]:
    """Share of the input area that holds each of MASS_SHARES of the field's mass (largest values first)."""
    values = np.sort(field.ravel())[::-1]
    cumulative = np.cumsum(values) / values.sum()
    return {share: (int(np.searchsorted(cumulative, share)) + 1) / values.size for share in MASS_SHARES}


BASELINE_CLASSES = dict(caformer='CAFormer', convformer='ConvFormer', poolformerv2='PoolFormerV2',
                        identityformer='IdentityFormer', randformer='RandFormer')


def is_baseline_name(name: str) -> bool:
    """Whether ``name`` is a published model of the baselines, e.g. 'caformer_s18' or 'randformer_m48'."""
    family, _, size = name.lower().rpartition('_')
    return family in BASELINE_ARCH_SETTINGS and size in BASELINE_ARCH_SETTINGS[family]


def baseline_backbone(name: str, shape, checkpoint=None) -> torch.nn.Module:
    """The backbone of the baselines model ``name`` (last stage only), seeded, random or loaded from ``checkpoint``;
    RandFormer's token grids are those of the square ``shape``."""
    from mmpoolformer.registry import MODELS
    family, _, size = name.lower().rpartition('_')
    extra = {}
    if family == 'randformer':
        if shape[0] != shape[1] or shape[0] % 32:
            raise ConfigError(f'{name}: RandFormer mixes a fixed token grid; pass a square --shape divisible by 32 '
                              f'(e.g. --shape 224 224), not {shape[0]} {shape[1]}')
        extra['input_size'] = shape[0]
    torch.manual_seed(0)
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    model = MODELS.get(BASELINE_CLASSES[family])(arch=size, out_indices=(-1,), init_cfg=init_cfg, **extra)
    model.init_weights()
    return model


def arch_backbones(arch: str, mixers: List[str], checkpoint, act: str = 'GELU',
                   shape=(224, 224)) -> Dict[str, torch.nn.Module]:
    """One backbone per ``mixers`` entry (see the module docstring), by label: ``'<arch> <mixer>'`` (with
    ``+<act>`` unless GELU) or the baselines model's name."""
    from mmpoolformer import MetaFormer
    from mmpoolformer.registry import MODELS
    if MODELS.get(act) is None:
        raise ConfigError(f"--act {act} is not a registered activation; e.g. GELU, ReLU, SiLU, StarReLU")
    models = {}
    for mixer in mixers:
        if is_baseline_name(mixer):
            models[mixer.lower()] = baseline_backbone(mixer, shape)
            continue
        if mixer not in MODELS.module_dict:
            raise ConfigError(f"--mixers {mixer} is neither a registered token mixer (e.g. Pooling, DepthwiseConv, "
                              f"SepConv, Attention, Identity) nor a baselines model (e.g. caformer_s18)")
        torch.manual_seed(0)
        init_cfg = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
        settings = resolve_arch(arch)
        if not checkpoint:  # the paper's 1e-5 init silences every mixer of an untrained network
            settings['layer_scale_init_value'] = 1.
        model = MetaFormer(arch=settings, token_mixers=dict(type=mixer), act_cfg=dict(type=act), out_indices=(-1,),
                           init_cfg=init_cfg)
        model.init_weights()
        models[f'{arch} {mixer}' + ('' if act == 'GELU' else f'+{act}')] = model
    return models


def draw(fields: Dict[str, np.ndarray], areas: Dict[str, Dict[float, float]], out: str, shape) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 3.6), dpi=100, squeeze=False)
    for ax, (name, field) in zip(axes[0], fields.items()):
        shown = np.log10(1 + field / field.max() * 1000) / 3
        ax.imshow(shown, cmap='viridis', vmin=0, vmax=1)
        ax.set_title(name + '\n' + ', '.join(f'{int(100 * s)}%: {100 * a:.1f}%' for s, a in areas[name].items()),
                     fontsize=9)
        ax.axis('off')
    fig.suptitle(f'effective receptive field of the last stage ({shape[0]}x{shape[1]} input; share of the area '
                 f'holding 20/50/90 % of the mass)', fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    write_atomically(out, lambda partial: fig.savefig(partial, format=osp.splitext(out)[1][1:] or 'png'),
                     what='drawing')
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('target', help=f'a config file, a PoolFormer arch ({", ".join(ARCH_SETTINGS)}) or a '
                                       f'baselines model (e.g. caformer_s18)')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--images', required=True, help='folder of images to average over')
    parser.add_argument('--num-images', type=int, default=20)
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--mixers', nargs='+', default=None,
                        help='PoolFormer arch: token mixers and baselines models to compare (default Pooling)')
    parser.add_argument('--act', default='GELU', help='PoolFormer arch: the MLP activation of the mixer models')
    parser.add_argument('--out', required=True, help='PNG of the heat maps')
    parser.add_argument('--trust-checkpoint', action='store_true')
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    if args.target.lower() in ARCH_SETTINGS:
        backbones = arch_backbones(args.target.lower(), args.mixers or ['Pooling'], args.checkpoint, args.act, shape)
        norm = IMAGENET
    elif is_baseline_name(args.target):
        if args.mixers or args.act != 'GELU':
            raise ConfigError(f'--mixers and --act build models of a PoolFormer arch (e.g. s12 --mixers SepConv '
                              f'{args.target}); {args.target} has its own mixers and activation')
        backbones = {args.target.lower(): baseline_backbone(args.target, shape, args.checkpoint)}
        norm = IMAGENET
    elif osp.isfile(args.target):
        from mmpoolformer.apis import init_model
        model, cfg = init_model(args.target, args.checkpoint, trust=args.trust_checkpoint, fast={})
        backbones = {osp.splitext(osp.basename(args.target))[0]: model.backbone}
        pre = model.data_preprocessor
        norm = dict(mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist(),
                    bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False)))
    else:
        raise ConfigError(f"'{args.target}' is neither a config file nor an arch; pass a file from configs/, one "
                          f"of {', '.join(ARCH_SETTINGS)} or a baselines model such as caformer_s18")
    images = load_images(args.images, args.num_images, shape, norm)
    fields, areas = {}, {}
    for name, backbone in backbones.items():
        fields[name] = erf(backbone, images)
        areas[name] = mass_areas(fields[name])
        print(f'{name}: ERF over {len(images)} images at {shape[0]}x{shape[1]}; area holding '
              + ', '.join(f'{int(100 * s)}% of the mass: {100 * a:.2f}% of the input' for s, a in areas[name].items()))
    draw(fields, areas, args.out, shape)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
