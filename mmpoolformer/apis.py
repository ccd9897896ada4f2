"""Inference on single images for detection, segmentation and classification configs (used by ``tools/demo.py``
and the web demo)."""
import os.path as osp
import warnings
from typing import List, Optional, Tuple

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from .checkpoint import read_model_checkpoint
from .datasets.loading import UnreadableImageError, image_problem
from .engine.fast_inference import accelerate
from .errors import ConfigError


def read_image(path: str) -> np.ndarray:
    """Read any image file as 3-channel BGR uint8 (grayscale is replicated, an alpha channel dropped).

    A path that does not exist, a folder, an empty file or one that does not decode is
    :class:`~mmpoolformer.datasets.UnreadableImageError` (a one-line message naming the path)."""
    if not osp.exists(path):
        raise UnreadableImageError(f'image {path} does not exist; check the path')
    try:
        img = mmcv.imread(path, flag='color')
        reason = ''
    except Exception as exc:  # cv2.error for an empty file, IsADirectoryError, ...
        img, reason = None, ' '.join(str(exc).split())[:200]
    if img is None:
        raise UnreadableImageError(f'image {path} is {image_problem(path, reason)}; pass an image file '
                                   f'(jpg, png, bmp, ...)')
    return img


def _lower_score_thr(test_cfg, score_thr: float) -> None:
    """Lower every ``score_thr`` in a detector's test_cfg (one- and two-stage) to ``score_thr``."""
    if isinstance(test_cfg, dict):
        for key, value in test_cfg.items():
            if key == 'score_thr' and isinstance(value, (int, float)):
                test_cfg[key] = min(value, score_thr)
            else:
                _lower_score_thr(value, score_thr)


def init_model(config: str, checkpoint: Optional[str] = None, device: str = 'cpu', trust: bool = False,
               score_thr: float = None, fast: Optional[dict] = None):
    """Build the model of ``config`` and load ``checkpoint`` (safely, see :mod:`mmpoolformer.checkpoint.trust`).

    ``checkpoint=None`` keeps random weights (for speed measurements). ``score_thr`` (detection) lowers the model's
    own test score threshold so that lower-scored boxes reach the drawing. ``fast`` makes inference faster with
    :func:`mmpoolformer.engine.fast_inference.accelerate`, e.g. ``fast=dict(compile=True, dtype='bf16')``, or the
    config's ``fast_inference`` dict when ``fast`` is None. Returns ``(model, cfg)``; ``model.dataset_meta`` holds
    the class names.
    """
    if not osp.isfile(config):
        raise ConfigError(f'config {config} does not exist; pass a file from configs/')
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmdet')
    if 'backbone' not in cfg.model:
        raise ConfigError(f"{config}: its model (type {cfg.model.get('type')}) has no backbone; pass a detector or "
                          f"segmentor config")
    cfg.model.backbone.init_cfg = None
    if score_thr is not None:
        _lower_score_thr(cfg.model.get('test_cfg'), score_thr)
    if scope == 'mmseg':
        cfg.model.pretrained = None
        from mmseg.apis import init_model as init_fn
    elif scope == 'mmpretrain':
        from mmpretrain.apis import get_model

        def init_fn(cfg, checkpoint, device):
            return get_model(cfg, pretrained=False, device=device).eval()
    else:
        from mmdet.apis import init_detector as init_fn
    with DefaultScope.overwrite_default_scope(scope), warnings.catch_warnings():
        # mmdet warns that without a checkpoint it uses COCO's classes; the config's and checkpoint's come below
        warnings.filterwarnings('ignore', message='checkpoint is None')
        model = init_fn(cfg, checkpoint=None, device=device)
    config_meta = ((cfg.get('test_dataloader') or {}).get('dataset') or {}).get('metainfo')
    if config_meta and 'classes' in config_meta:  # the config's classes (a checkpoint's own, below, win)
        model.dataset_meta = dict(config_meta)
    if checkpoint is not None:
        state = read_model_checkpoint(model, checkpoint, trust=trust, whole_model=True)
        model.load_state_dict(state['state_dict'], strict=True)
        meta = (state.get('meta') or {}).get('dataset_meta')
        if meta:
            model.dataset_meta = meta
    model.eval()
    fast = fast if fast is not None else cfg.get('fast_inference')
    if fast:
        accelerate(model, **fast)
    return model, cfg


def build_test_model(config: str, checkpoint: Optional[str] = None, device: str = 'cpu'):
    """The model of ``config`` in eval mode with ``checkpoint`` loaded, no fast path.

    Without a checkpoint the weights are the model's own initialisation (``init_weights``, the backbone from
    scratch), as at the start of training: e.g. RetinaNet's classifier starts at its 0.01 prior, so the test path
    does not see thousands of random boxes above the score threshold."""
    model, cfg = init_model(config, checkpoint, device, fast={})
    if checkpoint is None:
        model.init_weights()
    model.cfg = cfg
    return model


def make_test_batch(model, batch: int, shape: Tuple[int, int]) -> dict:
    """A ``test_step`` batch of ``batch`` random uint8 images of ``shape`` (H, W) for a detector or segmentor built
    by :func:`build_test_model`."""
    h, w = shape
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=generator) for _ in range(batch)]
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), scale_factor=(1., 1.), batch_input_shape=(h, w))
    if model.cfg.get('default_scope') == 'mmseg':
        from mmseg.structures import SegDataSample
        samples = [SegDataSample(metainfo=meta) for _ in range(batch)]
    elif model.cfg.get('default_scope') == 'mmpretrain':
        from mmpretrain.structures import DataSample
        samples = [DataSample(metainfo=meta) for _ in range(batch)]
    else:
        from mmdet.structures import DetDataSample
        samples = [DetDataSample(metainfo=dict(meta, img_id=i)) for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def predict(model, cfg, img: np.ndarray):
    """Run one BGR image through the model; returns mmdet's DetDataSample, mmseg's SegDataSample or mmpretrain's
    DataSample (classification: ``pred_score``, the (num_classes,) class probabilities, and ``pred_label``)."""
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        if scope == 'mmseg':
            from mmseg.apis import inference_model
            return inference_model(model, img)
        if scope == 'mmpretrain':
            inputs, sample, _ = prepare_inputs(model.data_preprocessor, cfg, img)
            with torch.no_grad():
                return model(inputs, [sample], mode='predict')[0]
        from mmdet.apis import inference_detector
        return inference_detector(model, img)


def found_rows(dataset_meta: dict, result, score_thr: float = 0.3, top: int = 5) -> List[Tuple[str, str, str]]:
    """What ``result`` (from :func:`predict`) found, as ``(class, score, where)`` text rows, the table of
    ``tools/demo.py`` and the web demo:

    - detection: one row per instance scoring ``>= score_thr``, best first: the score to 3 decimals and the box
      ``x1, y1, x2, y2`` in original-image pixels (1 decimal), plus the mask's share of the image's pixels (%, 2
      decimals) for instance segmentation;
    - segmentation: one row per class in the label map, largest first: score ``-``, its share of the pixels;
    - classification: the ``top`` most probable classes: the probability, where ``-``.
    """
    classes = list((dataset_meta or {}).get('classes') or [])

    def name(label: int) -> str:
        return classes[label] if 0 <= label < len(classes) else str(label)

    if 'pred_sem_seg' in result:
        labels = result.pred_sem_seg.data.reshape(-1).cpu()
        counts = torch.bincount(labels.long(), minlength=1)
        order = sorted((int(c) for c in counts.nonzero().flatten()), key=lambda c: (-int(counts[c]), c))
        return [(name(c), '-', f'{100 * int(counts[c]) / labels.numel():.2f}% of the pixels') for c in order]
    if 'pred_score' in result:
        scores = result.pred_score.cpu()
        order = scores.argsort(descending=True)[:top].tolist()
        return [(name(c), f'{float(scores[c]):.3f}', '-') for c in order]
    pred = result.pred_instances
    keep = (pred.scores >= score_thr).nonzero().flatten()
    keep = keep[pred.scores[keep].argsort(descending=True, stable=True)]
    rows = []
    for i in keep.tolist():
        where = ', '.join(f'{v:.1f}' for v in pred.bboxes[i].tolist())
        if 'masks' in pred:
            mask = torch.as_tensor(np.asarray(pred.masks[i]))
            where += f'; mask {100 * float(mask.float().mean()):.2f}% of the pixels'
        rows.append((name(int(pred.labels[i])), f'{float(pred.scores[i]):.3f}', where))
    return rows


def prepare_inputs(preprocessor, cfg, img: np.ndarray):
    """One BGR image as the model sees it at test time: the config's test pipeline (its image loading and
    annotation loading left out) and ``preprocessor``, the model's data preprocessor (detection, segmentation or
    classification; ``model.data_preprocessor``, or :func:`build_data_preprocessor` without a model).

    Returns ``(inputs, data_sample, shown)``: a (1, 3, H, W) float tensor, padded as the preprocessor pads; the
    sample, whose ``img_shape`` is the resized (or cropped) image's (h, w) before padding; and that image itself,
    (h, w, 3) uint8 BGR, to draw on."""
    import copy

    from mmengine.dataset import Compose
    scope = cfg.get('default_scope', 'mmdet')
    steps = [step for step in copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
             if not any(word in step['type'] for word in ('LoadImage', 'LoadAnnotations'))]
    loaded = dict(img=img, img_id=0, img_path=None, img_shape=img.shape[:2], ori_shape=img.shape[:2])
    with DefaultScope.overwrite_default_scope(scope):
        data = Compose(steps)(loaded)
        batch = preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    shown = data['inputs'].permute(1, 2, 0).numpy().astype(np.uint8)
    return batch['inputs'], batch['data_samples'][0], np.ascontiguousarray(shown)


def build_data_preprocessor(cfg):
    """The data preprocessor of ``cfg``'s model (normalisation, channel order, padding), built alone."""
    from mmengine.registry import MODELS
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model.data_preprocessor).eval()


class TensorForward(torch.nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` (the network's raw outputs, no post-processing) as a module
    of one argument, for tracers and CAM tools that call ``module(inputs)``."""

    def __init__(self, model: torch.nn.Module, data_samples=None):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor):
        return self.model(inputs, self.data_samples, mode='tensor')


def find_layer(model, name: str) -> torch.nn.Module:
    """The submodule called ``name`` (e.g. ``backbone.out_norms.3``); an unknown name is a one-line error that
    lists the closest names."""
    import difflib

    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        close = difflib.get_close_matches(name, names, n=4, cutoff=0.6)
        raise ConfigError(f"layer '{name}' is not in the model ({type(model).__name__}); "
                          + (f'closest: {", ".join(close)}' if close else f'e.g. {", ".join(names[:4])}')
                          + ' (any name of model.named_modules())') from None


def valid_region(tensor: torch.Tensor, data_sample, inputs: torch.Tensor) -> torch.Tensor:
    """Crop a (..., h, w) map computed from padded ``inputs`` to the part that covers the image (not the padding)."""
    img_h, img_w = data_sample.metainfo['img_shape'][:2]
    pad_h, pad_w = inputs.shape[-2:]
    h = max(1, int(round(tensor.shape[-2] * img_h / pad_h)))
    w = max(1, int(round(tensor.shape[-1] * img_w / pad_w)))
    return tensor[..., :h, :w]


def render(dataset_meta: dict, cfg, img: np.ndarray, result, score_thr: float = 0.3) -> np.ndarray:
    """``result`` (from :func:`predict`) drawn over the BGR image ``img`` by the config's visualizer, with the class
    names and palette of ``dataset_meta`` (``model.dataset_meta``): detections scoring ``>= score_thr``, the label
    map, or the predicted class. Returns the (H, W, 3) RGB uint8 drawing (the image's size; a classifier's drawing
    is at least 256 px on its long side)."""
    from mmengine.registry import VISUALIZERS
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        visualizer = VISUALIZERS.build(dict(cfg.visualizer, name=f'demo_{id(result)}', vis_backends=None))
    visualizer.dataset_meta = dataset_meta
    if scope == 'mmpretrain':
        factor = max(1., 256 / max(img.shape[:2]))
        return visualizer.visualize_cls(mmcv.bgr2rgb(img), result, classes=(dataset_meta or {}).get('classes'),
                                        draw_gt=False, rescale_factor=factor)
    kwargs = dict(pred_score_thr=score_thr) if scope != 'mmseg' else {}
    visualizer.add_datasample('demo', mmcv.bgr2rgb(img), data_sample=result, draw_gt=False, show=False,
                              out_file=None, **kwargs)  # no backends: the drawing stays in the visualizer
    return visualizer.get_image()


def draw(dataset_meta: dict, cfg, img: np.ndarray, result, out_file: str, score_thr: float = 0.3) -> None:
    """:func:`render` ``result`` over ``img`` and write the drawing to ``out_file``."""
    from .fileio import write_image_atomically
    drawing = render(dataset_meta, cfg, img, result, score_thr)
    write_image_atomically(out_file, mmcv.rgb2bgr(drawing), what='drawing')
