"""A model of a config on single images: building it with its checkpoint, predicting, listing what it found."""
import os.path as osp
import warnings
from typing import List, Optional, Tuple

import mmcv
import numpy as np
import torch
from mmengine.registry import DefaultScope

from ..checkpoint import read_model_checkpoint
from ..datasets.loading import UnreadableImageError, image_problem
from ..engine.acceleration import accelerate
from ..engine.config_loading import read_config
from ..errors import ConfigError
from ..model_inputs import prepare_inputs
from ..tasks import task_of


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
    :func:`mmpoolformer.engine.acceleration.accelerate`, e.g. ``fast=dict(compile=True, dtype='bf16')``, or the
    config's ``fast_inference`` dict when ``fast`` is None. Returns ``(model, cfg)``; ``model.dataset_meta`` holds
    the class names.
    """
    cfg = read_config(config)
    task = task_of(cfg)
    if 'backbone' not in cfg.model:
        raise ConfigError(f"{config}: its model (type {cfg.model.get('type')}) has no backbone; pass a detector or "
                          f"segmentor config")
    cfg.model.backbone.init_cfg = None
    if score_thr is not None:
        _lower_score_thr(cfg.model.get('test_cfg'), score_thr)
    with DefaultScope.overwrite_default_scope(task.scope), warnings.catch_warnings():
        # mmdet warns that without a checkpoint it uses COCO's classes; the config's and checkpoint's come below
        warnings.filterwarnings('ignore', message='checkpoint is None')
        model = task.build_model(cfg, device)
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


def image_through_model(image: str, config: str, checkpoint: Optional[str] = None, trust: bool = False):
    """``(model, cfg, inputs, data_sample, network_view)``: the model of ``config`` (``checkpoint`` loaded, else its
    own initialisation) and the image file ``image`` through its test pipeline (see
    :func:`mmpoolformer.model_inputs.prepare_inputs`); bad paths end in one line."""
    img = read_image(image)
    model, cfg = init_model(config, checkpoint, trust=trust, fast={})
    inputs, sample, network_view = prepare_inputs(model.data_preprocessor, cfg, img)
    return model, cfg, inputs, sample, network_view


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
    task = task_of(model.cfg)
    return dict(inputs=inputs, data_samples=[task.empty_sample(meta, i) for i in range(batch)])


def predict(model, cfg, img: np.ndarray):
    """Run one BGR image through the model; returns mmdet's DetDataSample, mmseg's SegDataSample or mmpretrain's
    DataSample (classification: ``pred_score``, the (num_classes,) class probabilities, and ``pred_label``)."""
    task = task_of(cfg)
    with DefaultScope.overwrite_default_scope(task.scope):
        return task.predict(model, cfg, img)


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
