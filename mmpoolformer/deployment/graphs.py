"""The parts of a model that go into an ONNX graph: tensor in, tensors out, no data samples.

Every graph takes one input, ``input``: a (N, 3, H, W) float32 batch, already resized, normalised and padded the
way the config's test pipeline and data preprocessor do it (:mod:`mmpoolformer.deployment.runtime` does that step
outside the graph). What comes out:

- :class:`BackboneGraph`: the backbone's pyramid, ``feat0`` ... ``feat3`` of shape (N, C_i, H / 2**(i+2), W / 2**(i+2)).
- :class:`SegmentorGraph`: ``logits`` (N, num_classes, H, W) float32, resized to the input size as mmseg's decode head
  does at test time, or ``labels`` (N, 1, H, W) int64, their argmax.
- :class:`DenseDetectorGraph`: for one image (N = 1), the candidate detections of an anchor-based single-stage head
  with sigmoid scores (RetinaNet): ``boxes`` (K, 4) x1, y1, x2, y2 in input pixels (not yet clipped to the image),
  ``scores`` (K,) and ``labels`` (K,) int64, the ``nms_pre`` highest (anchor, class) scores of each pyramid level,
  exactly the candidates mmdet's ``_predict_by_feat_single`` keeps before its score threshold. The score threshold,
  the removal of empty boxes, class-wise NMS and the ``max_per_img`` cut are the documented post-processing step
  :func:`mmpoolformer.deployment.postprocess.detections_from_candidates` (NumPy), so the graph needs no custom NMS
  operator and runs in any ONNX runtime.
"""
from contextlib import contextmanager
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError


@contextmanager
def symbolic_sizes():
    """While exporting with dynamic height and width: mmseg's ``Upsample`` computes its output size with ``int()``,
    which makes the tracer bake the example's sizes into the graph (the graph then gives wrong results at any other
    size). Inside this context it computes the same size with ``torch.sym_int``, which stays symbolic."""
    from mmseg.models.utils.wrappers import Upsample

    def forward(self, x):
        if self.size:
            size = self.size
        else:
            factors = self.scale_factor if isinstance(self.scale_factor, tuple) else (self.scale_factor,) * 2
            size = [torch.sym_int(t * factor) for t, factor in zip(x.shape[-2:], factors)]
        return F.interpolate(x, size, None, self.mode, self.align_corners)

    original = Upsample.forward
    Upsample.forward = forward
    try:
        yield
    finally:
        Upsample.forward = original


class BackboneGraph(nn.Module):
    """A backbone's feature pyramid as a tuple of tensors."""

    def __init__(self, backbone: nn.Module, num_outputs: int):
        super().__init__()
        self.backbone = backbone
        self.output_names = [f'feat{i}' for i in range(num_outputs)]

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.backbone(inputs))


class SegmentorGraph(nn.Module):
    """An mmseg ``EncoderDecoder``: backbone, neck and decode head, logits resized to the input size (bilinear, the
    decode head's ``align_corners``), optionally reduced to the label map."""

    def __init__(self, segmentor: nn.Module, labels: bool = False):
        super().__init__()
        self.segmentor = segmentor
        self.labels = labels
        self.align_corners = segmentor.decode_head.align_corners
        self.output_names = ['labels' if labels else 'logits']

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.segmentor.decode_head(self.segmentor.extract_feat(inputs))
        logits = F.interpolate(logits, size=inputs.shape[2:], mode='bilinear', align_corners=self.align_corners)
        return logits.argmax(dim=1, keepdim=True) if self.labels else logits


class DenseDetectorGraph(nn.Module):
    """An mmdet single-stage detector with an anchor head, sigmoid classification and a delta box coder (RetinaNet),
    up to its candidate detections (see the module docstring)."""

    output_names = ['boxes', 'scores', 'labels']

    def __init__(self, detector: nn.Module):
        super().__init__()
        head = getattr(detector, 'bbox_head', None)
        problem = _unsupported_head(detector, head)
        if problem:
            raise ConfigError(f'ONNX export of {type(detector).__name__} is not supported ({problem}); supported: '
                              f'the backbone (--backbone-only), Semantic FPN and other mmseg EncoderDecoders, and '
                              f'RetinaNet-style single-stage anchor detectors')
        self.detector = detector
        self.head = head
        self.nms_pre = int(head.test_cfg.get('nms_pre', -1))

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls_scores, bbox_preds = self.head(self.detector.extract_feat(inputs))
        sizes = [score.shape[-2:] for score in cls_scores]
        priors = self.head.prior_generator.grid_priors(sizes, dtype=inputs.dtype, device=inputs.device)
        boxes, scores, labels = [], [], []
        for cls_score, bbox_pred, level_priors in zip(cls_scores, bbox_preds, priors):
            level_scores, level_labels, keep = self._top_candidates(cls_score[0])
            deltas = bbox_pred[0].permute(1, 2, 0).reshape(-1, self.head.bbox_coder.encode_size)[keep]
            boxes.append(self.head.bbox_coder.decode(level_priors[keep], deltas))
            scores.append(level_scores)
            labels.append(level_labels)
        return torch.cat(boxes), torch.cat(scores), torch.cat(labels)

    def _top_candidates(self, cls_score: torch.Tensor) -> List[torch.Tensor]:
        """The ``nms_pre`` highest sigmoid scores over (anchor, class) pairs of one level (all if ``nms_pre`` <= 0):
        their scores, class labels and anchor indices."""
        num_classes = self.head.cls_out_channels
        scores = cls_score.permute(1, 2, 0).reshape(-1).sigmoid()
        count = scores.shape[0]
        k = count if self.nms_pre <= 0 else torch.sym_min(self.nms_pre, count)
        scores, index = scores.topk(k)
        return [scores, index % num_classes, torch.div(index, num_classes, rounding_mode='floor')]


def _unsupported_head(detector: nn.Module, head) -> str:
    """Why ``detector`` cannot become a :class:`DenseDetectorGraph` ('' when it can)."""
    if head is None or hasattr(detector, 'roi_head') or hasattr(detector, 'rpn_head'):
        return 'a two-stage or query-based detector'
    generator = type(getattr(head, 'prior_generator', None)).__name__
    coder = type(getattr(head, 'bbox_coder', None)).__name__
    if (generator, coder) != ('AnchorGenerator', 'DeltaXYWHBBoxCoder'):
        return f'{type(head).__name__} uses {generator}/{coder}, not AnchorGenerator/DeltaXYWHBBoxCoder'
    if not getattr(head, 'use_sigmoid_cls', False) or hasattr(head, 'loss_centerness'):
        return f'{type(head).__name__} needs softmax scores or score factors'
    return ''
