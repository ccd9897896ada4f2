"""The synthetic demo data sets: deterministic, valid, and never taken as complete when stale."""
import glob
import hashlib
import os

import cv2
import mmcv
import numpy as np
import pytest

from mmpoolformer.demo_data import CLASSES, MANIFEST, demo_data_complete, make_demo_data


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(os.path.join(folder, name), 'rb') as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def test_demo_data_is_deterministic_and_valid(tmp_path):
    make_demo_data(str(tmp_path / 'a'), seed=3, num_train=12, num_val=5, size=128)
    make_demo_data(str(tmp_path / 'b'), seed=3, num_train=12, num_val=5, size=128)
    make_demo_data(str(tmp_path / 'c'), seed=4, num_train=12, num_val=5, size=128)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b') != tree_digest(tmp_path / 'c')
    from pycocotools.coco import COCO
    coco = COCO(str(tmp_path / 'a' / 'coco' / 'annotations' / 'instances_train2017.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(CLASSES)
    assert len(coco.getImgIds()) == 12 and len(coco.getAnnIds()) >= 12
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        assert mask.sum() > 0.8 * ann['area'] and xs.min() >= x - 1 and xs.max() <= x + w and ys.max() <= y + h
    label = cv2.imread(str(tmp_path / 'a' / 'ade' / 'annotations' / 'training' / 'train_00001.png'), 0)
    image = cv2.imread(str(tmp_path / 'a' / 'ade' / 'images' / 'training' / 'train_00001.jpg'))
    assert label.shape == image.shape[:2] == (128, 128) and set(np.unique(label)) <= {1, 2, 3, 4, 5}


def test_stale_or_unfinished_demo_data_is_not_taken_as_complete(tmp_path):
    root = str(tmp_path / 'demo')
    args = dict(seed=1, num_train=3, num_val=2, size=96)
    assert not demo_data_complete(root, **args)
    make_demo_data(root, **args)
    assert demo_data_complete(root, **args)
    assert not demo_data_complete(root, **dict(args, size=128))  # written with other arguments: rewrite
    assert not demo_data_complete(root, **dict(args, seed=2))
    manifest = tmp_path / 'demo' / MANIFEST
    manifest.write_text(manifest.read_text().replace('"version": ', '"version": -'))  # an older generator's data
    assert not demo_data_complete(root, **args)
    manifest.unlink()  # a run interrupted before the manifest (written last)
    assert not demo_data_complete(root, **args)


def test_demo_shapes_set_is_deterministic_and_in_folder_format(tmp_path):
    from mmpoolformer.demo_data import CLASSES, demo_data_complete, make_demo_data
    args = dict(kind='shapes', seed=3, num_train=20, num_val=6, size=32)
    for name in ('a', 'b'):
        assert not demo_data_complete(str(tmp_path / name), **args)
        make_demo_data(str(tmp_path / name), **args)
        assert demo_data_complete(str(tmp_path / name), **args)
    make_demo_data(str(tmp_path / 'c'), **dict(args, seed=4))
    assert not demo_data_complete(str(tmp_path / 'a'), **dict(args, size=48))
    files = {name: sorted(os.path.relpath(p, tmp_path / name) for p in glob.glob(str(tmp_path / name / '*/*/*.png')))
             for name in 'abc'}
    assert files['a'] == files['b'] and len(files['a']) == 26
    assert {p.split('/')[1] for p in files['a']} <= set(CLASSES)
    assert sum(p.startswith('val/') for p in files['a']) == 6
    read = [open(tmp_path / 'a' / p, 'rb').read() == open(tmp_path / 'b' / p, 'rb').read() for p in files['a']]
    assert all(read)
    assert mmcv.imread(str(tmp_path / 'a' / files['a'][0])).shape == (32, 32, 3)
    with pytest.raises(ValueError, match=r"^demo_data kind='boxes' is unknown; use 'scenes' \(detection and "
                                         r"segmentation\) or 'shapes' \(classification\)$"):
        make_demo_data(str(tmp_path / 'd'), kind='boxes')


def test_scenes_are_packed_with_separate_objects(tmp_path):
    """Version 4 draws 1-12 objects per scene and places as many as fit: 3.2 per image on average (version 3: 1.8),
    never more than fit in 128 x 128 px, none touching another."""
    from pycocotools.coco import COCO
    make_demo_data(str(tmp_path), seed=5, num_train=60, num_val=2, size=128)
    coco = COCO(str(tmp_path / 'coco' / 'annotations' / 'instances_train2017.json'))
    counts = [len(coco.getAnnIds(imgIds=[i])) for i in coco.getImgIds()]
    assert 2.8 <= np.mean(counts) <= 3.6 and min(counts) >= 1 and max(counts) <= 6
    for image_id in coco.getImgIds()[:20]:
        masks = [coco.annToMask(a) for a in coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))]
        grown = [cv2.dilate(m, np.ones((3, 3), np.uint8)) for m in masks]
        for i in range(len(masks)):
            for j in range(i + 1, len(masks)):
                assert not (grown[i] & masks[j]).any()


def test_classification_crops_are_those_of_version_3(tmp_path):
    """The classification set is still cut from scenes of 1-3 objects: its pixels equal those the version-3 generator
    wrote (digest computed with mmpoolformer/demo_data.py of commit d5d18df, VERSION = 3)."""
    root = tmp_path / 'shapes'
    make_demo_data(str(root), kind='shapes', seed=3, num_train=20, num_val=6, size=32)
    digest = hashlib.sha256()
    for path in sorted(glob.glob(str(root / '*/*/*.png'))):
        digest.update(os.path.relpath(path, root).encode() + cv2.imread(path).tobytes())
    assert digest.hexdigest() == '8de9b879b373152c85441f3fe5026154c56a1ad98edd251dbe853570aa63f16b'
