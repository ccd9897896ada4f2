"""Evaluators as :class:`~mmpoolformer.engine.SafeRunner` builds them: the metrics of MMDetection, MMSegmentation
and MMEngine whose behaviour differs from what a user expects are replaced by subclasses with the same arguments
and metric names: COCO scoring of an empty prediction set (:mod:`.detection`), and result files / label maps written
completely or not at all (:mod:`.dump`, :mod:`.detection`, :mod:`.segmentation`). Each codebase's module is
imported only when one of its metrics is in the config."""
import importlib

# metric type in a config -> (module of this package, class replacing it)
REPLACEMENTS = {
    'CocoMetric': ('detection', 'CocoMetricScoringEmpty'),
    'DumpDetResults': ('detection', 'DumpDetResultsAtomically'),
    'IoUMetric': ('segmentation', 'IoUMetricWritingMapsAtomically'),
    'DumpResults': ('dump', 'DumpResultsAtomically'),
}


def replace_metrics(evaluator):
    """``evaluator`` (a metric config, a list of them, or an evaluator config with ``metrics``; built objects are
    left alone) with the metric types of :data:`REPLACEMENTS` (also scoped, e.g. ``mmdet.CocoMetric``) replaced."""
    if isinstance(evaluator, (list, tuple)):
        return [replace_metrics(e) for e in evaluator]
    if isinstance(evaluator, dict) and isinstance(evaluator.get('metrics'), (list, tuple, dict)):
        return dict(evaluator, metrics=replace_metrics(evaluator['metrics']))
    if isinstance(evaluator, dict) and isinstance(evaluator.get('type'), str):
        name = evaluator['type'].split('.')[-1]
        if name in REPLACEMENTS:
            module, cls = REPLACEMENTS[name]
            return dict(evaluator, type=getattr(importlib.import_module(f'{__name__}.{module}'), cls))
    return evaluator
