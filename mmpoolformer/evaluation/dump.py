"""MMEngine's ``DumpResults`` (MMPretrain's ``--out``) with its pickle written completely or not at all."""
from mmengine.evaluator import DumpResults
from mmengine.logging import print_log

from ..fileio import dump_atomically
from ..registry import METRICS


def dump_results(metric: DumpResults, results: list) -> dict:
    """What ``DumpResults.compute_metrics`` does (dump ``results`` to ``metric.out_file_path``, no metric),
    through a temporary file renamed when complete."""
    dump_atomically(results, metric.out_file_path)
    print_log(f'Results has been saved to {metric.out_file_path}.', logger='current')
    return {}


@METRICS.register_module()
class DumpResultsAtomically(DumpResults):
    """:class:`mmengine.evaluator.DumpResults`, same arguments; the file is complete or absent."""

    def compute_metrics(self, results: list) -> dict:
        return dump_results(self, results)
