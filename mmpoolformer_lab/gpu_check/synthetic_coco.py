"""COCO-sized synthetic data for the GPU check: JPEGs of COCO's size (640x480 by default) with COCO's 80 category
names and ids, boxes and polygons in COCO's annotation format, so a COCO config's own training loop (its data
pipeline included) runs on it unchanged.

The scenes are those of the demo data (:func:`mmpoolformer.demo_data.make_scene`: shapes on smooth backgrounds), with
up to ``max_objects`` objects each, labelled with random COCO categories: the data exists to be fed at COCO's size and
density, not to be learnt.
"""
import json
import os
import os.path as osp
from typing import Sequence

import numpy as np

from mmpoolformer.demo_data import make_scene, polygons, write_jpeg

# COCO 2017's category ids, in the order of its 80 class names (mmdet's CocoDataset.METAINFO['classes'])
COCO_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33,
            34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,
            62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90)


def coco_class_names() -> Sequence[str]:
    """COCO's 80 class names, as MMDetection's ``CocoDataset`` lists them."""
    from mmdet.datasets import CocoDataset
    return CocoDataset.METAINFO['classes']


def write_coco_sized(root: str, num_train: int, num_val: int = 4, height: int = 480, width: int = 640,
                     max_objects: int = 8, seed: int = 0) -> str:
    """Write ``root/{train2017,val2017}/*.jpg`` and ``root/annotations/instances_{train,val}2017.json``; returns
    ``root``. Every object is at least 30 pixels, with its exact box, area and outline polygon(s)."""
    names = coco_class_names()
    categories = [dict(id=i, name=n, supercategory='synthetic') for i, n in zip(COCO_IDS, names)]
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for image_id in range(1, count + 1):
            img, objects = make_scene(rng, max(height, width), max_objects=max_objects, radius_range=(0.04, 0.12))
            img = img[:height, :width]
            name = f'{split}_{image_id:06d}.jpg'
            write_jpeg(osp.join(root, split, name), img)
            images.append(dict(id=image_id, file_name=name, height=height, width=width))
            for obj in objects:
                mask = obj['mask'][:height, :width]
                if mask.sum() < 30:
                    continue
                ys, xs = np.nonzero(mask)
                x0, y0 = int(xs.min()), int(ys.min())
                annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                        category_id=int(rng.choice(COCO_IDS)),
                                        bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
                                        area=int(mask.sum()), segmentation=polygons(mask), iscrowd=0))
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path + '.partial', 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
        os.replace(path + '.partial', path)
    return root
