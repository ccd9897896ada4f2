"""What a newcomer sees in the quickstart's drawings: per ground-truth shape of a COCO-format validation set, the
boxes a detector draws over it (score at or above the drawing threshold, IoU with the shape's box at least
``iou_thr``), split into the shape's own class and the other classes.

A clean drawing has one box of the right class per shape and no other class's box on it; a classifier that cannot
tell the shapes apart shows as several boxes of different classes per shape (per-class NMS keeps one of each) with
scores near the threshold.
"""
import json
import os.path as osp
import statistics
from typing import Dict, List

import numpy as np

from mmpoolformer.apis.inference import init_model, predict, read_image
from mmpoolformer.deployment.verify import box_iou


def shape_rows(ann_file: str, predictions: Dict[str, tuple], score_thr: float = 0.3,
               iou_thr: float = 0.5) -> List[dict]:
    """One row per ground-truth object of ``ann_file`` (COCO json): ``right`` / ``other`` (number of drawn boxes of
    its own / another class over it), ``right_score`` / ``other_score`` (the best score of its own / another class
    over it at any score, 0 without such a box). ``predictions`` maps an image's ``file_name`` to
    ``(boxes (N, 4) x1y1x2y2, scores (N,), labels (N,) 0-based class indices in the file's category order)``."""
    with open(ann_file) as f:
        coco = json.load(f)
    label_of = {c['id']: i for i, c in enumerate(sorted(coco['categories'], key=lambda c: c['id']))}
    names = {image['id']: image['file_name'] for image in coco['images']}
    rows = []
    for ann in coco['annotations']:
        boxes, scores, labels = predictions[names[ann['image_id']]]
        x, y, w, h = ann['bbox']
        over = box_iou(np.array([x, y, x + w, y + h], float), boxes) >= iou_thr if len(boxes) else np.zeros(0, bool)
        own = over & (labels == label_of[ann['category_id']])
        other = over & ~own
        rows.append(dict(right=int((own & (scores >= score_thr)).sum()),
                         other=int((other & (scores >= score_thr)).sum()),
                         right_score=float(scores[own].max()) if own.any() else 0.,
                         other_score=float(scores[other].max()) if other.any() else 0.))
    return rows


def summarise_rows(rows: List[dict]) -> dict:
    """The census of :func:`shape_rows`: shares of the shapes (0-1) with exactly one right box, with another class's
    box drawn over them, with no right box; the median best right / other score."""
    n = len(rows)
    return dict(shapes=n,
                one_right_box=sum(r['right'] == 1 for r in rows) / n,
                other_class_drawn=sum(r['other'] > 0 for r in rows) / n,
                missed=sum(r['right'] == 0 for r in rows) / n,
                median_right_score=statistics.median(r['right_score'] for r in rows),
                median_other_score=statistics.median(r['other_score'] for r in rows))


def drawn_box_census(config: str, checkpoint: str, score_thr: float = 0.3, iou_thr: float = 0.5) -> dict:
    """:func:`summarise_rows` of ``checkpoint`` on the test set of the detection ``config`` (its ``test_dataloader``
    images and annotation file), predicting every image with the config's test pipeline."""
    model, cfg = init_model(config, checkpoint, fast={})
    dataset = cfg.test_dataloader.dataset
    ann_file = osp.join(dataset.data_root, dataset.ann_file)
    image_dir = osp.join(dataset.data_root, dataset.data_prefix['img'])
    with open(ann_file) as f:
        files = [image['file_name'] for image in json.load(f)['images']]
    predictions = {}
    for name in files:
        instances = predict(model, cfg, read_image(osp.join(image_dir, name))).pred_instances
        predictions[name] = (instances.bboxes.numpy(), instances.scores.numpy(), instances.labels.numpy())
    return summarise_rows(shape_rows(ann_file, predictions, score_thr, iou_thr))


if __name__ == '__main__':  # python -m mmpoolformer_lab.studies.drawn_boxes CONFIG CHECKPOINT: the census as JSON
    import sys
    print(json.dumps(drawn_box_census(*sys.argv[1:3])))
