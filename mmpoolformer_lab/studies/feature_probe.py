"""Has a detector's backbone learnt the classes? A linear probe on its features inside the ground-truth boxes.

For each object of a COCO-format set, the backbone's feature map of one stage is pooled inside the object's box
(RoIAlign to 3x3 cells, flattened); a logistic regression fitted on the objects of the first training images
classifies the validation objects. Its accuracy says how far the features themselves separate the classes,
whatever the detector's head makes of them (chance: the share of the most frequent class).

    python -m mmpoolformer_lab.studies.feature_probe CONFIG CHECKPOINT|none [--stage 0] [--train-images 400]
        prints the probe's accuracy as JSON (``none``: the model as initialised before training)
"""
import argparse
import json
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
from torchvision.ops import roi_align

from mmpoolformer.apis.inference import init_model, read_image
from mmpoolformer.model_inputs import prepare_inputs


def coco_objects(data_root: str, ann_file: str, image_dir: str, num_images: Optional[int] = None
                 ) -> List[Tuple[str, List[dict]]]:
    """``(image path, its annotations)`` for the first ``num_images`` images of a COCO json (all if None)."""
    with open(osp.join(data_root, ann_file)) as f:
        coco = json.load(f)
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    images = coco['images'][:num_images] if num_images else coco['images']
    return [(osp.join(data_root, image_dir, image['file_name']), by_image.get(image['id'], [])) for image in images]


def box_features(model, cfg, objects: List[Tuple[str, List[dict]]], stage: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(features (N, C*9), category ids (N,))``: the ``stage``-th backbone output (of those the config emits)
    pooled to 3x3 inside each object's box, in the test pipeline's image scale."""
    features, labels = [], []
    for path, anns in objects:
        if not anns:
            continue
        inputs, sample, _ = prepare_inputs(model.data_preprocessor, cfg, read_image(path))
        with torch.no_grad():
            stage_map = model.backbone(inputs)[stage]
        scale = np.array(sample.metainfo.get('scale_factor', (1., 1.)), float)
        boxes = torch.tensor([[0., *(np.array([x, y, x + w, y + h]) * np.tile(scale, 2))]
                              for x, y, w, h in (a['bbox'] for a in anns)], dtype=torch.float32)
        stride = inputs.shape[-1] / stage_map.shape[-1]
        features.append(roi_align(stage_map, boxes, (3, 3), 1 / stride, aligned=True).flatten(1).numpy())
        labels += [a['category_id'] for a in anns]
    return np.concatenate(features), np.array(labels)


def probe_accuracy(train: Tuple[np.ndarray, np.ndarray], val: Tuple[np.ndarray, np.ndarray]) -> float:
    """Accuracy (0-1) on ``val`` of a logistic regression fitted on ``train`` (features standardised by the
    training set's mean and standard deviation)."""
    from sklearn.linear_model import LogisticRegression
    mean, std = train[0].mean(0), train[0].std(0) + 1e-6
    classifier = LogisticRegression(max_iter=2000, C=0.1).fit((train[0] - mean) / std, train[1])
    return float(classifier.score((val[0] - mean) / std, val[1]))


def detector_probe(config: str, checkpoint: Optional[str], stage: int = 0, train_images: int = 400) -> dict:
    """The probe of :mod:`this module <mmpoolformer_lab.studies.feature_probe>` for a detection ``config`` and
    ``checkpoint`` (None: the model's own initialisation): fitted on the objects of the first ``train_images`` images
    of its training set, scored on its test set."""
    torch.manual_seed(0)  # the initialisation probed without a checkpoint
    model, cfg = init_model(config, checkpoint, fast={})
    if checkpoint is None:
        model.init_weights()
    sets = []
    for loader, count in (('train_dataloader', train_images), ('test_dataloader', None)):
        dataset = cfg[loader].dataset
        objects = coco_objects(dataset.data_root, dataset.ann_file, dataset.data_prefix['img'], count)
        sets.append(box_features(model, cfg, objects, stage))
    labels, counts = np.unique(sets[1][1], return_counts=True)
    return dict(stage=stage, train_objects=len(sets[0][1]), val_objects=len(sets[1][1]),
                accuracy=probe_accuracy(*sets), chance=float(counts.max() / counts.sum()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="a checkpoint, or 'none' for the model as initialised")
    parser.add_argument('--stage', type=int, default=0, help='which of the backbone outputs (0: the first emitted)')
    parser.add_argument('--train-images', type=int, default=400)
    args = parser.parse_args(argv)
    print(json.dumps(detector_probe(args.config, None if args.checkpoint == 'none' else args.checkpoint,
                                    args.stage, args.train_images)))


if __name__ == '__main__':
    main()
