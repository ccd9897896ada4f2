"""Effective receptive field (ERF) of a backbone's last stage, to compare token mixers.

    python tools/analysis/erf.py s12 --images DIR --out erf.png [--mixers Pooling DepthwiseConv SepConv Attention
                                 Identity caformer_s18 convformer_s18 ...] [--act StarReLU]
    python tools/analysis/erf.py caformer_s18 [CHECKPOINT] --images DIR --out erf.png
    python tools/analysis/erf.py CONFIG [CHECKPOINT] --images DIR --out erf.png

For every image (resized to ``--shape``, normalised as the model expects), the gradient of the last stage's output at
its centre position (its channels reduced as ``relu(...).sum()``, as RepLKNet's ERF tool does) with respect to the
input is taken; its absolute value, summed over the input channels and averaged over the images, is the ERF (Luo et
al., 2016; see :mod:`mmpoolformer.analysis.erf`). Printed per model: the share of the input
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
import os.path as osp

from mmpoolformer.analysis.erf import (
    IMAGENET,
    arch_backbones,
    erf,
    erf_figure,
    load_images,
    mass_areas,
    named_backbone,
    preprocessor_norm,
)
from mmpoolformer.apis import init_model
from mmpoolformer.cli import run_cli
from mmpoolformer.errors import ConfigError
from mmpoolformer.fileio import write_atomically
from mmpoolformer.models.arch_settings import ARCH_SETTINGS
from mmpoolformer.models.names import is_backbone_name, parse_backbone_name


def draw(fields, areas, out: str, shape) -> None:
    """Write :func:`~mmpoolformer.analysis.erf.erf_figure` to ``out`` (format from its suffix)."""
    import matplotlib.pyplot as plt
    fig = erf_figure(fields, areas, shape)
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
    named = parse_backbone_name(args.target, shape) if is_backbone_name(args.target) else None
    if named and named.family == 'poolformer':
        backbones = arch_backbones(named.size, args.mixers or ['Pooling'], args.checkpoint, args.act, shape)
        norm = IMAGENET
    elif named:
        if args.mixers or args.act != 'GELU':
            raise ConfigError(f'--mixers and --act build models of a PoolFormer arch (e.g. s12 --mixers SepConv '
                              f'{args.target}); {args.target} has its own mixers and activation')
        backbones = {args.target.lower(): named_backbone(args.target, shape, args.checkpoint)}
        norm = IMAGENET
    elif osp.isfile(args.target):
        model, cfg = init_model(args.target, args.checkpoint, trust=args.trust_checkpoint, fast={})
        backbones = {osp.splitext(osp.basename(args.target))[0]: model.backbone}
        norm = preprocessor_norm(model.data_preprocessor)
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
