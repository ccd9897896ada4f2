"""mmpoolformer_lab.studies.drawn_boxes: the census of what the drawings show per ground-truth shape, on a hand-made
COCO file and hand-made predictions whose counts are worked out here (a trained detector's census against
tools/test.py's own predictions: tests/test_tools/test_quickstart.py)."""
import json

import numpy as np
import pytest

from mmpoolformer.deployment.verify import box_iou
from mmpoolformer_lab.studies.drawn_boxes import shape_rows, summarise_rows


def test_box_iou_by_hand():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(box_iou(np.array([0, 0, 10, 10], float), boxes), [1, 50 / 150, 0])


@pytest.fixture
def coco_file(tmp_path):
    """Two images, three shapes; category ids 3 and 7 (not 1-based and not contiguous: index 0 and 1)."""
    path = tmp_path / 'val.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=1, file_name='a.jpg'), dict(id=2, file_name='b.jpg')],
        categories=[dict(id=7, name='square'), dict(id=3, name='circle')],
        annotations=[dict(id=1, image_id=1, category_id=3, bbox=[10, 10, 20, 20]),      # circle, index 0
                     dict(id=2, image_id=1, category_id=7, bbox=[60, 60, 30, 30]),      # square, index 1
                     dict(id=3, image_id=2, category_id=7, bbox=[0, 0, 40, 40])])))     # square, index 1
    return str(path)


def test_rows_count_drawn_boxes_of_own_and_other_classes(coco_file):
    predictions = {
        # circle: its own box at 0.8, a square's box over it at 0.35 (IoU 0.81), a square far away (IoU 0)
        # square of a.jpg: its own box only at 0.2 (under the threshold), another class at 0.1
        'a.jpg': (np.array([[10, 10, 30, 30], [11, 11, 29, 29], [60, 60, 90, 90], [62, 61, 90, 90],
                            [100, 0, 120, 20]], float),
                  np.array([0.8, 0.35, 0.2, 0.1, 0.9]), np.array([0, 1, 1, 0, 1])),
        # square of b.jpg: two boxes of its own class over it (0.6, 0.4); a circle box overlapping by IoU 0.25 only
        'b.jpg': (np.array([[0, 0, 40, 40], [2, 2, 40, 40], [0, 0, 20, 20]], float), np.array([0.6, 0.4, 0.7]),
                  np.array([1, 1, 0])),
    }
    rows = shape_rows(coco_file, predictions, score_thr=0.3, iou_thr=0.5)
    assert rows == [dict(right=1, other=1, right_score=0.8, other_score=0.35),
                    dict(right=0, other=0, right_score=0.2, other_score=0.1),
                    dict(right=2, other=0, right_score=0.6, other_score=0.)]
    assert summarise_rows(rows) == dict(shapes=3, one_right_box=1 / 3, other_class_drawn=1 / 3, missed=1 / 3,
                                        median_right_score=0.6, median_other_score=0.1)
    # a lower drawing threshold draws the square of a.jpg and the box of the other class under it
    rows = shape_rows(coco_file, predictions, score_thr=0.05)
    assert [(r['right'], r['other']) for r in rows] == [(1, 1), (1, 1), (2, 0)]


def test_an_image_without_predictions_misses_its_shapes(coco_file):
    empty = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))
    rows = shape_rows(coco_file, {'a.jpg': empty, 'b.jpg': empty})
    assert summarise_rows(rows)['missed'] == 1.0 and summarise_rows(rows)['other_class_drawn'] == 0.
