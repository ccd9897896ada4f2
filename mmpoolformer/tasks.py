"""What differs between detection, segmentation and classification, in one place.

A config's ``default_scope`` (``mmdet``, ``mmseg``, ``mmpretrain``; mmdet when unset) picks its :class:`Task`
(:func:`task_of`). Everything that acts differently per task asks it: how a model is built and runs on one image,
what an empty test sample is, how a prediction is drawn, what ``tools/test.py --show-dir`` and ``--out`` change in the
config, the class a CAM follows, the headline metric and the input size MACs are counted at. No other module
compares scope names. The OpenMMLab package of a task is imported only when that task is used.
"""
from typing import List, Optional, Tuple

import numpy as np
import torch

from .errors import ConfigError
from .model_inputs import prepare_inputs


class ClassPixelsTarget:
    """Grad-CAM target of a segmentor: one class's logits summed over the pixels predicted as that class."""

    def __init__(self, category: int, mask: torch.Tensor):
        self.category, self.mask = category, mask

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:  # logits: (num_classes, h, w) of one image
        return (logits[self.category] * self.mask).sum()


class Task:
    """The per-task behaviour (see the module doc). Attributes: ``scope`` (the registry scope), ``name``,
    ``main_metric`` (the key ``tools/test.py`` prints it under), ``flops_shape`` ((H, W) px, the default input of
    MAC counting), ``class_scores`` (whether the network gives class scores a Grad-CAM can follow)."""
    scope = ''
    name = ''
    main_metric = ''
    flops_shape: Tuple[int, int] = (224, 224)
    class_scores = False
    _dump_metric = 'DumpResults'  # the metric that writes the raw predictions (--out)

    def build_model(self, cfg, device: str):
        """The model of ``cfg`` on ``device``, its own initialisation, no checkpoint."""
        raise NotImplementedError

    def predict(self, model, cfg, img: np.ndarray):
        """One BGR uint8 image through ``model``: the task's data sample with the prediction."""
        raise NotImplementedError

    def empty_sample(self, metainfo: dict, index: int):
        """A test-time data sample holding only ``metainfo`` (for a synthetic batch; ``index`` numbers images)."""
        raise NotImplementedError

    def prediction_sample(self, result, metainfo: dict):
        """A prediction computed outside PyTorch (ONNX Runtime: detections as a dict of arrays, or an (h, w) label
        map) as the data sample evaluators and visualizers take."""
        raise ConfigError(f'{self.name} has no ONNX export to predict with; export a detector or segmentor')

    def label(self, model) -> str:
        """What the loaded ``model`` does, in words."""
        return self.name

    def draw(self, visualizer, image_rgb: np.ndarray, result, classes, score_thr: float) -> np.ndarray:
        """``result`` drawn over ``image_rgb`` by the config's ``visualizer``; the (H, W, 3) RGB uint8 drawing."""
        visualizer.add_datasample('demo', image_rgb, data_sample=result, draw_gt=False, show=False, out_file=None,
                                  **self._draw_options(score_thr))  # no backends: the drawing stays in it
        return visualizer.get_image()

    def _draw_options(self, score_thr: float) -> dict:
        return {}

    def show_predictions(self, cfg, show_dir: str) -> None:
        """Make testing draw every test image's prediction into ``show_dir`` (``cfg.default_hooks.visualization``
        exists)."""
        raise NotImplementedError

    def dump_predictions(self, cfg, out: str) -> None:
        """Make testing also write the raw predictions to ``out``."""
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = evaluators + [dict(type=self._dump_metric, out_file_path=out)]

    def cam_target(self, logits: torch.Tensor, classes: List[str], category: Optional[str]):
        """``(Grad-CAM targets, class name)`` for one image's network output ``logits`` (only where
        ``class_scores``): the class ``category`` (a name or an index), else the predicted one."""
        raise NotImplementedError


def resolve_category(category: str, classes: List[str]) -> int:
    """The index of ``category`` (a class name or an index) in ``classes``."""
    if category.isdigit() and int(category) < len(classes):
        return int(category)
    if category in classes:
        return list(classes).index(category)
    raise ConfigError(f"--category {category} is not a class of this model; use a name or an index of "
                      f"{list(classes)}")


class DetectionTask(Task):
    scope, name, main_metric, flops_shape = 'mmdet', 'detection', 'coco/bbox_mAP', (800, 1280)
    _dump_metric = 'DumpDetResults'

    def build_model(self, cfg, device):
        from mmdet.apis import init_detector
        return init_detector(cfg, checkpoint=None, device=device)

    def predict(self, model, cfg, img):
        from mmdet.apis import inference_detector
        return inference_detector(model, img)

    def empty_sample(self, metainfo, index):
        from mmdet.structures import DetDataSample
        return DetDataSample(metainfo=dict(metainfo, img_id=index))

    def prediction_sample(self, result, metainfo):
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        sample = DetDataSample(metainfo=metainfo)
        sample.pred_instances = InstanceData(**{k: torch.from_numpy(v) for k, v in result.items()})
        return sample

    def label(self, model):
        with_mask = getattr(getattr(model, 'roi_head', None), 'with_mask', False)
        return 'instance segmentation' if with_mask else 'detection'

    def _draw_options(self, score_thr):
        return dict(pred_score_thr=score_thr)

    def show_predictions(self, cfg, show_dir):
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=show_dir)


class SegmentationTask(Task):
    scope, name, main_metric, flops_shape = 'mmseg', 'semantic segmentation', 'mIoU', (512, 512)
    class_scores = True

    def build_model(self, cfg, device):
        from mmseg.apis import init_model
        cfg.model.pretrained = None  # mmseg's bases name ImageNet weights of their own backbone here
        return init_model(cfg, checkpoint=None, device=device)

    def predict(self, model, cfg, img):
        from mmseg.apis import inference_model
        return inference_model(model, img)

    def empty_sample(self, metainfo, index):
        from mmseg.structures import SegDataSample
        return SegDataSample(metainfo=metainfo)

    def prediction_sample(self, result, metainfo):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=metainfo)
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(result[None]))
        return sample

    def show_predictions(self, cfg, show_dir):
        cfg.default_hooks.visualization.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir

    def dump_predictions(self, cfg, out):  # label maps, one PNG per image
        cfg.test_evaluator.update(output_dir=out, keep_results=True)

    def cam_target(self, logits, classes, category):
        """The class ``category``, else the predicted class covering most pixels (background excluded where the
        classes have one), over the pixels predicted as it."""
        predicted = logits.argmax(0)
        if category is not None:
            index = resolve_category(category, classes)
        else:
            areas = torch.bincount(predicted.flatten(), minlength=logits.shape[0])
            if classes[0] == 'background' and areas[1:].sum() > 0:
                areas[0] = 0
            index = int(areas.argmax())
        return [ClassPixelsTarget(index, (predicted == index).float())], classes[index]


class ClassificationTask(Task):
    scope, name, main_metric, flops_shape = 'mmpretrain', 'classification', 'accuracy/top1', (224, 224)
    class_scores = True

    def build_model(self, cfg, device):
        from mmpretrain.apis import get_model
        return get_model(cfg, pretrained=False, device=device).eval()

    def predict(self, model, cfg, img):
        inputs, sample, _ = prepare_inputs(model.data_preprocessor, cfg, img)
        with torch.no_grad():
            return model(inputs, [sample], mode='predict')[0]

    def empty_sample(self, metainfo, index):
        from mmpretrain.structures import DataSample
        return DataSample(metainfo=metainfo)

    def draw(self, visualizer, image_rgb, result, classes, score_thr):
        """The predicted class written over the image, drawn at least 256 px on its long side."""
        factor = max(1., 256 / max(image_rgb.shape[:2]))
        return visualizer.visualize_cls(image_rgb, result, classes=classes, draw_gt=False, rescale_factor=factor)

    def show_predictions(self, cfg, show_dir):
        # every image, its short side drawn at 512 px unless the config says otherwise (None: the input's size)
        hook = cfg.default_hooks.visualization
        hook.update(enable=True, out_dir=show_dir, interval=1)
        hook.setdefault('resize', 512)

    def cam_target(self, logits, classes, category):
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        index = resolve_category(category, classes) if category else int(logits.argmax())
        return [ClassifierOutputTarget(index)], classes[index]


TASKS = {task.scope: task for task in (DetectionTask(), SegmentationTask(), ClassificationTask())}


def task_of(cfg) -> Task:
    """The task of a config (its ``default_scope``; MMDetection's when unset)."""
    scope = cfg.get('default_scope') or 'mmdet'
    if scope not in TASKS:
        raise ConfigError(f"{cfg.filename}: default_scope='{scope}' is not a task of this toolbox; use one of "
                          f"{', '.join(TASKS)}")
    return TASKS[scope]
