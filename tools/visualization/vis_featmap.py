"""Feature maps of a model's backbone stages (or neck levels) over an image.

    python tools/visualization/vis_featmap.py IMAGE CONFIG [CHECKPOINT] --out FILE [--stages 0 1 2 3] [--neck]
                                              [--reduction mean|max] [--topk K]

The image goes through the config's test pipeline and data preprocessor, as in testing, and the maps are drawn over
the image as the network sees it (resized, or cropped for a classifier). Each requested backbone stage (``--stages``,
indices into the backbone's outputs; default all) or neck level (``--neck``) is drawn over the image with MMEngine's
``Visualizer.draw_featmap``, labelled ``out INDEX /STRIDE``: one row per output, one panel of the image's size per
row (the channel mean or max) or ``--topk K`` panels (the K channels with the largest mean activation). Padding added
by the preprocessor is cropped away; images smaller than 256 px are drawn upscaled. Without a checkpoint the model
keeps its own initialisation.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # run from a clone

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmpoolformer.cli import run_cli  # noqa: E402
from mmpoolformer.errors import ConfigError  # noqa: E402
from mmpoolformer.fileio import write_image_atomically  # noqa: E402
from tools.visualization import image_model_parser, image_through_model  # noqa: E402

MIN_SIDE = 256  # px: the long side of each drawn panel at least


def label(panel: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of an RGB panel (white on a dark box)."""
    panel = np.ascontiguousarray(panel)
    scale = max(0.35, panel.shape[0] / 400)
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(panel, (0, 0), (w + 4, h + 6), (0, 0, 0), -1)
    cv2.putText(panel, text, (2, h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def features(model, inputs: torch.Tensor, neck: bool):
    with torch.no_grad():
        feats = model.backbone(inputs)
        if neck:
            if not hasattr(model, 'neck'):
                raise ConfigError(f'--neck: the model ({type(model).__name__}) has no neck; drop --neck')
            feats = model.neck(feats)
    return list(feats) if isinstance(feats, (list, tuple)) else [feats]


def main(argv=None) -> None:
    parser = image_model_parser(__doc__)
    parser.add_argument('--stages', type=int, nargs='+', help='indices into the backbone (or neck) outputs')
    parser.add_argument('--neck', action='store_true', help='draw the neck\'s levels instead of the backbone\'s')
    parser.add_argument('--reduction', choices=['mean', 'max'], default='mean', help='channels to one map')
    parser.add_argument('--topk', type=int, default=0, help='draw the K most active channels instead')
    parser.add_argument('--alpha', type=float, default=0.5, help='weight of the map over the image')
    args = parser.parse_args(argv)
    from mmengine.visualization import Visualizer

    from mmpoolformer.apis import valid_region
    from mmpoolformer.visualization import upscaled_rgb
    model, cfg, inputs, sample, network_view = image_through_model(args)
    feats = features(model, inputs, args.neck)
    stages = args.stages if args.stages is not None else list(range(len(feats)))
    bad = [s for s in stages if not -len(feats) <= s < len(feats)]
    if bad:
        raise ConfigError(f'--stages {bad}: the {"neck" if args.neck else "backbone"} returns {len(feats)} '
                          f'outputs (indices 0-{len(feats) - 1})')
    shown = upscaled_rgb(network_view, MIN_SIDE)  # small test images are drawn larger: readable labels
    rows = []
    for index in stages:
        fmap = valid_region(feats[index][0], sample, inputs)  # (C, h', w')
        stride = inputs.shape[-1] // feats[index].shape[-1]
        name = f'out {index} /{stride}'
        if args.topk:
            order = fmap.mean(dim=(1, 2)).argsort(descending=True)[:args.topk].tolist()
            maps = [(fmap[c:c + 1], f'{name}: ch {c}') for c in order]
        else:
            maps = [(fmap, f'{name}: {args.reduction} of {fmap.shape[0]} ch')]
        reduction = 'squeeze_mean' if args.reduction == 'mean' else 'select_max'
        panels = [label(Visualizer.draw_featmap(m, shown, channel_reduction=reduction, alpha=args.alpha), text)
                  for m, text in maps]
        rows.append(np.concatenate(panels, axis=1))
    width = max(r.shape[1] for r in rows)
    canvas = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    write_image_atomically(args.out, cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), what='drawing')
    print(f'wrote {args.out} ({len(rows)} row(s), {canvas.shape[1]}x{canvas.shape[0]} px)')


if __name__ == '__main__':
    run_cli(main)
