"""The metrics ``tools/test.py`` prints at the end, one ``name: value`` line each, and the same lines read back (by
the studies, the GPU check and the tests)."""
import re
from typing import Dict, List


def metric_lines(metrics: Dict[str, float]) -> List[str]:
    """``['coco/bbox_mAP: 0.412', ...]``: one line per metric, in the evaluator's order."""
    return [f'{name}: {value}' for name, value in metrics.items()]


def printed_metrics(stdout: str) -> Dict[str, float]:
    """The metrics in the ``name: value`` lines of ``stdout`` (as :func:`metric_lines` writes them), as floats."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r'^([\w/]+): (-?\d+(?:\.\d+)?(?:e-?\d+)?)$', line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found
