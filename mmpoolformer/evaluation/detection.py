"""MMDetection's metrics as the toolbox builds them: ``CocoMetric`` scoring a model that predicts nothing (mAP
0.000) instead of returning no metric, and ``DumpDetResults`` (``--out``) writing its pickle completely or not at
all."""
from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation import CocoMetric, DumpDetResults
from mmengine.logging import print_log

from ..registry import METRICS
from .dump import dump_results


def empty_results(ground_truth: COCO) -> COCO:
    """A COCO result set with no detections over the images and categories of ``ground_truth``: what
    ``ground_truth.loadRes([])`` would be if pycocotools accepted an empty list (it raises IndexError)."""
    results = COCO()
    results.dataset = dict(images=list(ground_truth.dataset['images']),
                           categories=list(ground_truth.dataset.get('categories', [])), annotations=[])
    results.createIndex()
    return results


@METRICS.register_module()
class CocoMetricScoringEmpty(CocoMetric):
    """:class:`mmdet.evaluation.CocoMetric` (same arguments, same metric names) that evaluates an empty prediction
    set as COCO defines it: every category with ground truth gets precision 0, so e.g. ``coco/bbox_mAP`` is 0.000,
    with a warning. MMDetection's metric logs "The testing results of the whole dataset is empty" and returns no
    metric at all (so ``tools/test.py`` printed none); an early checkpoint whose scores are all below the test
    ``score_thr`` is such a model. :class:`~mmpoolformer.engine.SafeRunner` builds a config's ``CocoMetric`` as this
    class."""

    def compute_metrics(self, results: list) -> dict:
        api = self._coco_api
        if api is None:  # converted from the ground truth of the results by the parent class: score as it does
            return super().compute_metrics(results)

        def load_results(predictions):
            if len(predictions) == 0:
                print_log('the model predicted nothing on the test set (no box above its test_cfg score_thr): '
                          'scored as an empty prediction set (mAP 0.000)', logger='current', level=30)
                return empty_results(api)
            return COCO.loadRes(api, predictions)

        api.loadRes = load_results
        try:
            return super().compute_metrics(results)
        finally:
            del api.loadRes


@METRICS.register_module()
class DumpDetResultsAtomically(DumpDetResults):
    """:class:`mmdet.evaluation.DumpDetResults` (masks as RLE), same arguments; the file is complete or absent."""

    def compute_metrics(self, results: list) -> dict:
        return dump_results(self, results)
