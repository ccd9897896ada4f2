"""Check an exported model against PyTorch on a config's test set: same inputs, outputs compared, metrics of both.

Both models get the very same preprocessed batches (the config's test dataloader and data preprocessor). What is
compared depends on the graph:

- backbone: the largest absolute difference over all pyramid features;
- segmentor: the share of pixels whose label differs between the two label maps, and mIoU of each;
- detector: detections with score >= ``score_floor`` matched one to one (same class, IoU >= ``min_iou``, score
  difference <= ``max_score_diff``; greedy by PyTorch score), the unmatched ones counted, and bbox mAP of each.
"""
import copy
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from ..errors import ConfigError
from ..tasks import task_of
from .onnx_model import OnnxModel


def set_test_scale(cfg, scale) -> None:
    """Replace the ``scale`` of the test pipeline's resize step with ``scale`` (w, h), in place."""
    steps = [step for step in cfg.test_dataloader.dataset.pipeline if 'scale' in step]
    if not steps:
        raise ConfigError('the test pipeline has no step with a scale to change; drop --scale')
    steps[0]['scale'] = tuple(scale)


def match_detections(ref: Dict[str, np.ndarray], got: Dict[str, np.ndarray], score_floor: float = 0.05,
                     min_iou: float = 0.99, max_score_diff: float = 1e-3) -> Dict[str, int]:
    """Pair ``ref``'s detections with ``got``'s one to one (see the module docstring). Returns ``matched`` and the
    unmatched counts ``only_ref`` and ``only_got``."""
    keep_ref, keep_got = ref['scores'] >= score_floor, got['scores'] >= score_floor
    ref_boxes, ref_scores, ref_labels = ref['bboxes'][keep_ref], ref['scores'][keep_ref], ref['labels'][keep_ref]
    got_boxes, got_scores, got_labels = got['bboxes'][keep_got], got['scores'][keep_got], got['labels'][keep_got]
    free = np.ones(len(got_boxes), dtype=bool)
    matched = 0
    for i in np.argsort(-ref_scores, kind='stable'):
        ok = free & (got_labels == ref_labels[i]) & (np.abs(got_scores - ref_scores[i]) <= max_score_diff)
        if not ok.any():
            continue
        iou = box_iou(ref_boxes[i], got_boxes)
        iou[~ok] = -1
        j = int(iou.argmax())
        if iou[j] >= min_iou:
            free[j] = False
            matched += 1
    return dict(matched=matched, only_ref=len(ref_boxes) - matched, only_got=int(free.sum()))


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box with each of (K, 4) boxes (x1, y1, x2, y2); 1 for two identical empty boxes."""
    inter = (np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
             * np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None))
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), (boxes == box).all(axis=1).astype(float))


def compare_with_pytorch(model: torch.nn.Module, cfg, onnx_model: OnnxModel, max_images: Optional[int] = None,
                         evaluate: bool = True) -> Dict:
    """Run ``model`` (PyTorch, eval) and ``onnx_model`` on ``cfg``'s test set (its first ``max_images``) and compare.

    Returns ``images``, ``input_shapes`` (the distinct (h, w) fed to both), and per kind: ``max_abs_diff``
    (backbone); ``pixel_agreement`` (segmentor); ``matched``/``only_ref``/``only_got`` (detector); with
    ``evaluate`` also ``metrics_pytorch`` and ``metrics_onnx`` (the config's test evaluator on each).
    """
    scope = task_of(cfg).scope
    kind = onnx_model.kind
    report: Dict = dict(kind=kind, images=0, input_shapes=set())
    if kind == 'backbone':
        report['max_abs_diff'] = 0.
    elif kind == 'segmentor':
        report.update(pixels=0, differing_pixels=0)
    else:
        report.update(matched=0, only_ref=0, only_got=0)
    evaluators = {}
    with DefaultScope.overwrite_default_scope(scope):
        loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
        if evaluate and kind != 'backbone':
            for name in ('pytorch', 'onnx'):
                evaluators[name] = Runner.build_evaluator(None, copy.deepcopy(cfg.test_evaluator))
                evaluators[name].dataset_meta = loader.dataset.metainfo
        for batch in loader:
            with torch.no_grad():
                data = model.data_preprocessor(batch, False)
                inputs = data['inputs']
                if kind == 'backbone':
                    reference = [f.numpy() for f in model.backbone(inputs)]
                else:
                    predicted = model(inputs, data['data_samples'], mode='predict')
            onnx_samples = []
            for i in range(inputs.shape[0]):
                if max_images is not None and report['images'] >= max_images:
                    break
                report['images'] += 1
                report['input_shapes'].add(tuple(inputs.shape[-2:]))
                outputs = onnx_model.run(inputs[i:i + 1].numpy())
                if kind == 'backbone':
                    diff = max(float(np.abs(o[0] - r[i]).max()) for o, r in zip(outputs, reference))
                    report['max_abs_diff'] = max(report['max_abs_diff'], diff)
                    continue
                metainfo = predicted[i].metainfo
                result = onnx_model.postprocess(outputs, metainfo)
                onnx_sample = predicted[i].clone()  # the ground truth the evaluator reads, and its own prediction
                prediction = onnx_model.data_sample(result, metainfo)
                for key in ('pred_instances', 'pred_sem_seg'):
                    if key in prediction:
                        setattr(onnx_sample, key, getattr(prediction, key))
                onnx_samples.append(onnx_sample)
                if kind == 'segmentor':
                    ref = predicted[i].pred_sem_seg.data[0].numpy()
                    report['pixels'] += ref.size
                    report['differing_pixels'] += int((ref != result).sum())
                else:
                    ref = {k: v.numpy() for k, v in predicted[i].pred_instances.items()
                           if k in ('bboxes', 'scores', 'labels')}
                    for key, value in match_detections(ref, result).items():
                        report[key] += value
            if evaluators and onnx_samples:
                count = len(onnx_samples)
                evaluators['pytorch'].process(predicted[:count], batch)
                evaluators['onnx'].process(onnx_samples, batch)
            if max_images is not None and report['images'] >= max_images:
                break
        for name, evaluator in evaluators.items():
            report[f'metrics_{name}'] = evaluator.evaluate(report['images'])
    if kind == 'segmentor':
        report['pixel_agreement'] = 1 - report['differing_pixels'] / max(report['pixels'], 1)
    report['input_shapes'] = sorted(report['input_shapes'])
    return report

