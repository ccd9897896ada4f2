"""A prediction drawn over its image by the config's own visualizer (``tools/demo.py``, the web demo)."""
import mmcv
import numpy as np
from mmengine.registry import VISUALIZERS, DefaultScope

from ..fileio import write_image_atomically
from ..tasks import task_of


def render(dataset_meta: dict, cfg, img: np.ndarray, result, score_thr: float = 0.3) -> np.ndarray:
    """``result`` (from :func:`~mmpoolformer.apis.predict`) drawn over the BGR image ``img`` by the config's
    visualizer, with the class names and palette of ``dataset_meta`` (``model.dataset_meta``): detections scoring
    ``>= score_thr``, the label map, or the predicted class. Returns the (H, W, 3) RGB uint8 drawing (the image's
    size; a classifier's drawing is at least 256 px on its long side)."""
    task = task_of(cfg)
    with DefaultScope.overwrite_default_scope(task.scope):
        visualizer = VISUALIZERS.build(dict(cfg.visualizer, name=f'demo_{id(result)}', vis_backends=None))
    visualizer.dataset_meta = dataset_meta
    return task.draw(visualizer, mmcv.bgr2rgb(img), result, (dataset_meta or {}).get('classes'), score_thr)


def draw(dataset_meta: dict, cfg, img: np.ndarray, result, out_file: str, score_thr: float = 0.3) -> None:
    """:func:`render` ``result`` over ``img`` and write the drawing to ``out_file``."""
    drawing = render(dataset_meta, cfg, img, result, score_thr)
    write_image_atomically(out_file, mmcv.rgb2bgr(drawing), what='drawing')
