"""Deterministic synthetic data for the quickstart: a COCO-format instance set and an ADE20K-layout semantic set.

Each image is a smooth background (a linear gradient or soft blotches between two colours, plus slight pixel noise)
with objects of four shape classes (circle, square, triangle, cross) in random colours, sizes and rotations: a
number from 1 to 12 is drawn and as many of them placed as fit, 3.2 on average (at most 6 fit in 128 x 128 px).
Objects are solid, contrast clearly with the background under them and do not touch each other, so every object is
fully visible and its box and mask are exact. The class is given by the shape only: colours are drawn independently
of it.

Version 3 made the set clearer than version 2 (fine stripes and checkerboards, 15 % shading on the objects and
occlusions): with version 2 the quickstart results depended on the training seed and the machine's floating-point
order (RetinaNet bbox mAP 0.28-0.45 for one recipe). Version 4 packs the images: 3.2 objects each on average where
version 3 drew 1-3 and held 1.8, so each training image teaches the classes of ~1.8x as many objects for the same
computation (with 1.8 per image the RetinaNet quickstart learnt the classes so late that on some machines and seeds it
ended at half its mAP: docs/quickstart.md).

Layout under ``root`` (default ``data/demo``)::

    coco/train2017/*.jpg  coco/val2017/*.jpg  coco/annotations/instances_{train,val}2017.json
    ade/images/{training,validation}/*.jpg    ade/annotations/{training,validation}/*.png

Semantic labels follow ADE20K: 0 is "unlabelled" (unused here), 1 background, 2..5 the shapes; configs use
``reduce_zero_label=True``.

The classification quickstart's set (:func:`make_demo_shapes`, ``kind='shapes'``) holds single shapes cut from such
scenes, one folder per class: ``shapes/{train,val}/{circle,cross,square,triangle}/*.png``.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .errors import ConfigError

CLASSES = ('circle', 'square', 'triangle', 'cross')
SEG_CLASSES = ('background',) + CLASSES
SPLITS = {'train': 'train2017', 'val': 'val2017'}
SEG_SPLITS = {'train': 'training', 'val': 'validation'}
VERSION = 4  # bump whenever the generated images or annotations change
MANIFEST = 'manifest.json'
MAX_OBJECTS = 12  # objects tried per image: 1..MAX_OBJECTS, as many of them placed as fit
RADIUS_RANGE = (0.14, 0.26)  # object radius as a fraction of the image side
GAP = 3  # pixels kept free between two objects
DEFAULTS = dict(seed=0, num_train=1000, num_val=100, size=128)  # what the quickstart configs use


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth background: a linear gradient or soft blotches between two colours ~45 grey levels apart per
    channel, with pixel noise of 4 grey levels. Nothing in it has edges or corners like the objects'."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c1 = rng.uniform(30, 225, 3)
    c2 = np.clip(c1 + rng.normal(0, 45, 3), 0, 255)
    if rng.integers(2) == 0:  # linear gradient across the image
        angle = rng.uniform(0, math.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy) / size / 2 + 0.5
    else:  # soft blotches
        t = cv2.resize(rng.uniform(0, 1, (4, 4)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        t = np.clip(t, 0, 1)
    img = c1[None, None] * (1 - t[..., None]) + c2[None, None] * t[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255)


def _shape_mask(rng: np.random.Generator, cls: int, size: int, radius: float, cx: float, cy: float) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    angle = rng.uniform(0, 2 * math.pi)
    if CLASSES[cls] == 'circle':
        cv2.circle(mask, (int(round(cx)), int(round(cy))), int(round(radius)), 1, -1, lineType=cv2.LINE_8)
        return mask
    if CLASSES[cls] == 'square':
        corners = [(radius * 0.8, radius * 0.8), (-radius * 0.8, radius * 0.8), (-radius * 0.8, -radius * 0.8),
                   (radius * 0.8, -radius * 0.8)]
    elif CLASSES[cls] == 'triangle':
        corners = [(radius * math.cos(a), radius * math.sin(a)) for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)]
    else:  # cross: a plus sign with arms of width radius * 0.6
        w, r = radius * 0.3, radius
        corners = [(w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w), (-w, -r), (w, -r), (w, -w), (r, -w),
                   (r, w), (w, w)]
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = np.array(corners) @ rot.T + np.array([cx, cy])
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask


def _colour_far_from(rng: np.random.Generator, reference: np.ndarray) -> np.ndarray:
    for _ in range(20):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - reference).sum() > 200:
            return colour
    return 255 - reference


def make_scene(rng: np.random.Generator, size: int, max_objects: int = MAX_OBJECTS,
               radius_range: Tuple[float, float] = RADIUS_RANGE) -> Tuple[np.ndarray, List[Dict]]:
    """One image (HxWx3 uint8, BGR) and its objects: dicts with ``category`` index and ``mask`` (HxW bool).

    Objects are placed one after another, each of a radius drawn from ``radius_range`` (a fraction of ``size``); one
    that would come within ``GAP`` pixels of an earlier one is tried elsewhere (up to 20 times) and otherwise left
    out, so an image holds 1 to ``max_objects`` separate objects (the first one always fits; with the default radii
    at most ~6 fit).
    """
    img = _background(rng, size)
    taken = np.zeros((size, size), np.uint8)
    kernel = np.ones((2 * GAP + 1, 2 * GAP + 1), np.uint8)
    objects = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cls = int(rng.integers(len(CLASSES)))
        radius = rng.uniform(*radius_range) * size
        for _attempt in range(20):
            cx, cy = rng.uniform(radius * 0.9, size - radius * 0.9, 2)
            mask = _shape_mask(rng, cls, size, radius, cx, cy).astype(bool)
            if mask.sum() >= 30 and not taken[mask].any():
                break
        else:
            continue
        colour = _colour_far_from(rng, img[mask].mean(0))
        shade = 1 + 0.04 * rng.standard_normal(mask.sum())[:, None]  # a little texture on the object
        img[mask] = np.clip(colour[None] * shade, 0, 255)
        taken |= cv2.dilate(mask.astype(np.uint8), kernel)
        objects.append(dict(category=cls, mask=mask))
    return img.astype(np.uint8), objects


def polygons(mask: np.ndarray) -> List[List[float]]:
    """The outline(s) of a binary mask as COCO polygons: flat [x1, y1, x2, y2, ...] lists of at least 3 points."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def write_jpeg(path: str, img: np.ndarray) -> None:
    """Write a BGR image as a JPEG of quality 95."""
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f'could not write {path}')


def make_demo_data(root: str = 'data/demo', seed: int = DEFAULTS['seed'], num_train: int = DEFAULTS['num_train'],
                   num_val: int = DEFAULTS['num_val'], size: int = DEFAULTS['size'], kind: str = 'scenes') -> str:
    """Write both demo datasets under ``root`` (deterministic for a given seed and sizes); returns ``root``.

    A manifest (``root/manifest.json``) records the generator version and arguments, written last: see
    :func:`demo_data_complete`. ``kind='shapes'`` writes the classification set of :func:`make_demo_shapes`
    instead (the quickstart configs' ``demo_data`` dict is passed here).
    """
    if _is_shapes(kind):
        return make_demo_shapes(root, seed, num_train, num_val, size)
    manifest_path = osp.join(root, MANIFEST)
    if osp.exists(manifest_path):
        os.remove(manifest_path)
    rng = np.random.default_rng(seed)
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    for split, count in (('train', num_train), ('val', num_val)):
        coco_dir = osp.join(root, 'coco', SPLITS[split])
        seg_img_dir = osp.join(root, 'ade', 'images', SEG_SPLITS[split])
        seg_ann_dir = osp.join(root, 'ade', 'annotations', SEG_SPLITS[split])
        for folder in (coco_dir, seg_img_dir, seg_ann_dir, osp.join(root, 'coco', 'annotations')):
            os.makedirs(folder, exist_ok=True)
        images, annotations = [], []
        for image_id in range(1, count + 1):
            img, objects = make_scene(rng, size)
            name = f'{split}_{image_id:05d}'
            write_jpeg(osp.join(coco_dir, name + '.jpg'), img)
            write_jpeg(osp.join(seg_img_dir, name + '.jpg'), img)
            label = np.ones((size, size), np.uint8)
            images.append(dict(id=image_id, file_name=name + '.jpg', height=size, width=size))
            for obj in objects:
                mask = obj['mask']
                label[mask] = obj['category'] + 2
                ys, xs = np.nonzero(mask)
                x0, y0 = int(xs.min()), int(ys.min())
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=obj['category'] + 1,
                    bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1], area=int(mask.sum()),
                    segmentation=polygons(mask), iscrowd=0))
            cv2.imwrite(osp.join(seg_ann_dir, name + '.png'), label)
        ann_path = osp.join(root, 'coco', 'annotations', f'instances_{SPLITS[split]}.json')
        with open(ann_path + '.partial', 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
        os.replace(ann_path + '.partial', ann_path)
    with open(manifest_path, 'w') as f:
        json.dump(_manifest(seed, num_train, num_val, size), f)
    return root


def _manifest(seed: int, num_train: int, num_val: int, size: int) -> dict:
    return dict(version=VERSION, seed=seed, num_train=num_train, num_val=num_val, size=size)


def demo_data_complete(root: str = 'data/demo', seed: int = DEFAULTS['seed'],
                       num_train: int = DEFAULTS['num_train'], num_val: int = DEFAULTS['num_val'],
                       size: int = DEFAULTS['size'], kind: str = 'scenes') -> bool:
    """True if ``root`` holds a finished data set written by this generator version with these arguments."""
    if _is_shapes(kind):
        return demo_shapes_complete(root, seed, num_train, num_val, size)
    try:
        with open(osp.join(root, MANIFEST)) as f:
            return json.load(f) == _manifest(seed, num_train, num_val, size)
    except (OSError, ValueError):
        return False


# The classification quickstart's set: single shapes cut from demo scenes (see :func:`make_demo_shapes`).
SHAPES_DEFAULTS = dict(seed=0, num_train=2000, num_val=200, size=48)
SHAPES_SCENE_SIZE = 128  # the scenes the shapes are cut from
SHAPES_MARGIN = 1.3  # crop side / the object's longer box side
SHAPES_MAX_OBJECTS = 3  # objects tried per scene: sparser than the detection scenes, fewer neighbours in the crops


def _crop_around(img: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """A square crop of ``img`` centred on the object ``mask`` (``SHAPES_MARGIN`` times its longer box side, moved
    inside the image where it would cross the border), resized to ``size`` x ``size``."""
    ys, xs = np.nonzero(mask)
    side = min(int(round(max(np.ptp(ys), np.ptp(xs)) * SHAPES_MARGIN)) + 4, img.shape[0])
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    y0 = int(np.clip(cy - side // 2, 0, img.shape[0] - side))
    x0 = int(np.clip(cx - side // 2, 0, img.shape[1] - side))
    return cv2.resize(img[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)


def make_demo_shapes(root: str = 'data/demo/shapes', seed: int = SHAPES_DEFAULTS['seed'],
                     num_train: int = SHAPES_DEFAULTS['num_train'], num_val: int = SHAPES_DEFAULTS['num_val'],
                     size: int = SHAPES_DEFAULTS['size']) -> str:
    """Write a classification set of single shapes (deterministic for a given seed and sizes); returns ``root``.

    Every object of a stream of demo scenes (``SHAPES_SCENE_SIZE`` px, 1 to ``SHAPES_MAX_OBJECTS`` objects, see
    :func:`make_scene`; the same images in versions 3 and 4) is cut out with a
    margin around it (parts of a neighbouring object may show at the border) and resized to ``size`` px; its class
    is its shape. Layout (MMPretrain's ``CustomDataset`` folder format, classes in :data:`CLASSES` order)::

        root/{train,val}/{circle,square,triangle,cross}/NNNNN.png

    The manifest (``root/manifest.json``) is written last: see :func:`demo_shapes_complete`.
    """
    manifest_path = osp.join(root, MANIFEST)
    if osp.exists(manifest_path):
        os.remove(manifest_path)
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        for name in CLASSES:
            os.makedirs(osp.join(root, split, name), exist_ok=True)
        written = 0
        while written < count:
            img, objects = make_scene(rng, SHAPES_SCENE_SIZE, max_objects=SHAPES_MAX_OBJECTS)
            for obj in objects[:count - written]:
                path = osp.join(root, split, CLASSES[obj['category']], f'{written:05d}.png')
                if not cv2.imwrite(path, _crop_around(img, obj['mask'], size)):
                    raise OSError(f'could not write {path}')
                written += 1
    with open(manifest_path, 'w') as f:
        json.dump(_shapes_manifest(seed, num_train, num_val, size), f)
    return root


def _shapes_manifest(seed: int, num_train: int, num_val: int, size: int) -> dict:
    return dict(version=VERSION, kind='shapes', seed=seed, num_train=num_train, num_val=num_val, size=size,
                scene_size=SHAPES_SCENE_SIZE, margin=SHAPES_MARGIN)


def demo_shapes_complete(root: str = 'data/demo/shapes', seed: int = SHAPES_DEFAULTS['seed'],
                         num_train: int = SHAPES_DEFAULTS['num_train'], num_val: int = SHAPES_DEFAULTS['num_val'],
                         size: int = SHAPES_DEFAULTS['size']) -> bool:
    """True if ``root`` holds a finished shapes set written by this generator version with these arguments."""
    try:
        with open(osp.join(root, MANIFEST)) as f:
            return json.load(f) == _shapes_manifest(seed, num_train, num_val, size)
    except (OSError, ValueError):
        return False


def _is_shapes(kind: str) -> bool:
    if kind not in ('scenes', 'shapes'):
        raise ConfigError(f"demo_data kind='{kind}' is unknown; use 'scenes' (detection and segmentation) or 'shapes' "
                          f"(classification)")
    return kind == 'shapes'


def ensure_demo_data(spec: dict) -> bool:
    """Write the data set a quickstart config's ``demo_data`` dict describes (the keyword arguments of
    :func:`make_demo_data`) unless it is already complete; returns whether it was written."""
    if demo_data_complete(**spec):
        return False
    make_demo_data(**spec)
    return True
