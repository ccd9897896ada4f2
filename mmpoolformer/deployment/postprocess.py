"""NumPy post-processing of exported graphs' outputs: what mmdet and mmseg do after the network at test time.

Both functions reproduce the PyTorch test path step by step (same order, same float32 arithmetic), so an ONNX model
gives the same detections and label maps as ``tools/test.py`` up to the network's own float rounding.
"""
from typing import Dict, Sequence, Tuple

import numpy as np

from ..errors import ConfigError


def detections_from_candidates(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, test_cfg: dict,
                               img_shape: Tuple[int, int], scale_factor: Tuple[float, float]) -> Dict[str, np.ndarray]:
    """Final detections of one image from :class:`~mmpoolformer.deployment.graphs.DenseDetectorGraph`'s candidates,
    as mmdet's ``_predict_by_feat_single`` and ``_bbox_post_process`` (with ``rescale=True``) make them.

    Steps: keep scores above ``test_cfg['score_thr']``; clip boxes to ``img_shape`` (h, w: the resized image before
    padding); scale them back to the original image (divide by ``scale_factor`` (w, h)); drop boxes not wider and
    taller than ``min_bbox_size``; NMS at ``test_cfg['nms']['iou_threshold']``, class-wise unless
    ``test_cfg['nms']['class_agnostic']`` (as mmcv's ``batched_nms``); keep ``max_per_img``.

    Args:
        boxes: (K, 4) float32 x1, y1, x2, y2 in input pixels; scores: (K,) float32; labels: (K,) int64.
    Returns:
        ``bboxes`` (D, 4) float32 in original-image pixels, ``scores`` (D,), ``labels`` (D,), by descending score.
    """
    keep = scores > test_cfg.get('score_thr', 0)
    boxes, scores, labels = boxes[keep].astype(np.float32), scores[keep], labels[keep]
    h, w = img_shape[:2]
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    inverse = np.array([1 / scale_factor[0], 1 / scale_factor[1]] * 2, dtype=np.float32)
    boxes = boxes * inverse
    min_size = test_cfg.get('min_bbox_size', -1)
    if min_size >= 0:
        valid = (boxes[:, 2] - boxes[:, 0] > min_size) & (boxes[:, 3] - boxes[:, 1] > min_size)
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
    nms_cfg = test_cfg.get('nms')
    if nms_cfg is not None and len(boxes):
        if nms_cfg.get('type', 'nms') != 'nms':
            raise ConfigError(f"test_cfg.nms type {nms_cfg.get('type')} has no NumPy version here; use type='nms'")
        order = (nms(boxes, scores, nms_cfg['iou_threshold']) if nms_cfg.get('class_agnostic', False)
                 else classwise_nms(boxes, scores, labels, nms_cfg['iou_threshold']))
        order = order[:test_cfg.get('max_per_img', len(order))]
        boxes, scores, labels = boxes[order], scores[order], labels[order]
    return dict(bboxes=boxes, scores=scores, labels=labels)


def classwise_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS done separately per class, by descending score (mmcv's ``batched_nms``: each
    class's boxes are shifted by ``label * (max coordinate + 1)`` so that boxes of different classes never overlap)."""
    shifted = boxes + (labels.astype(np.float32) * (boxes.max() + np.float32(1)))[:, None]
    return nms(shifted, scores, iou_threshold)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: visit boxes by descending score and drop every later box whose IoU with a
    kept one exceeds ``iou_threshold``. Areas are (x2 - x1) * (y2 - y1), in float32 like mmcv's CPU kernel."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind='stable')
    alive = np.ones(len(order), dtype=bool)
    kept = []
    for rank, i in enumerate(order):
        if not alive[rank]:
            continue
        kept.append(i)
        rest = order[rank + 1:]
        inter = (np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
                 * np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])))
        iou = inter / (areas[i] + areas[rest] - inter)
        alive[rank + 1:] &= ~(iou > iou_threshold)
    return np.array(kept, dtype=np.int64)


def labels_from_logits(logits: np.ndarray, padding: Sequence[int], ori_shape: Tuple[int, int],
                       align_corners: bool = False) -> np.ndarray:
    """The label map of one image from :class:`~mmpoolformer.deployment.graphs.SegmentorGraph`'s (C, H, W) logits,
    as mmseg's ``postprocess_result`` makes it: crop the padding (``padding`` = left, right, top, bottom pixels),
    resize bilinearly to ``ori_shape`` (h, w), take the argmax. Returns (h, w) int64."""
    left, right, top, bottom = padding
    h, w = logits.shape[-2:]
    logits = logits[:, top:h - bottom, left:w - right]
    return resize_bilinear(logits, ori_shape[:2], align_corners).argmax(axis=0)


def labels_from_label_map(labels: np.ndarray, padding: Sequence[int], ori_shape: Tuple[int, int]) -> np.ndarray:
    """The same for a graph exported with ``labels`` output: crop the padding, resize by nearest neighbour (so a
    prediction at another size than the original can differ from mmseg's at class boundaries)."""
    left, right, top, bottom = padding
    h, w = labels.shape[-2:]
    labels = labels.reshape(h, w)[top:h - bottom, left:w - right]
    rows = np.minimum((np.arange(ori_shape[0]) * labels.shape[0] / ori_shape[0]).astype(np.int64), labels.shape[0] - 1)
    cols = np.minimum((np.arange(ori_shape[1]) * labels.shape[1] / ori_shape[1]).astype(np.int64), labels.shape[1] - 1)
    return labels[rows][:, cols]


def resize_bilinear(maps: np.ndarray, size: Tuple[int, int], align_corners: bool = False) -> np.ndarray:
    """Bilinear resize of (C, H, W) float maps to ``size`` (h, w) with ``torch.nn.functional.interpolate``'s
    sampling positions (``align_corners`` False: pixel centres, clamped at the border; True: corner pixels)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    (y0, y1, wy), (x0, x1, wx) = (_sampling(n_in, n_out, align_corners)
                                   for n_in, n_out in zip(maps.shape[-2:], size))
    rows = maps[:, y0] * (1 - wy)[None, :, None] + maps[:, y1] * wy[None, :, None]
    return rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx


def _sampling(n_in: int, n_out: int, align_corners: bool):
    """Source indices (lower, upper) and upper weights of each of ``n_out`` output positions along one axis."""
    out = np.arange(n_out, dtype=np.float32)
    if align_corners:
        pos = out * np.float32((n_in - 1) / (n_out - 1) if n_out > 1 else 0)
    else:
        pos = np.maximum((out + np.float32(0.5)) * np.float32(n_in / n_out) - np.float32(0.5), 0)
    lower = np.minimum(pos.astype(np.int64), n_in - 1)
    upper = np.minimum(lower + 1, n_in - 1)
    return lower, upper, (pos - lower).astype(np.float32)
