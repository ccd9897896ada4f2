"""The result a quickstart promises, and a run's place in it: the line ``tools/quickstart.sh`` prints after the metric.

The promise is the seed study's (``tools/analysis/quickstart_study.py``), kept once, in the quickstart's entry of
``configs/metafiles/quickstart.yml``: ``Metrics`` holds the mean over the study's runs, ``Range`` the worst and best
run, ``Study`` what was run where and when. The README's quickstart table states the same numbers (a test compares
them).

    python -m mmpoolformer_lab.studies.quickstart_range CONFIG TEST_OUTPUT
        prints one line per promised metric: the run's value (read from tools/test.py's output) against the range
"""
import os.path as osp
import sys
from typing import Dict, List

import yaml

from mmpoolformer.evaluation.printed_metrics import printed_metrics
from mmpoolformer_lab.studies.quickstart import ROOT

METAFILE = osp.join(ROOT, 'configs', 'metafiles', 'quickstart.yml')
BELOW_HELP = "docs/quickstart.md, 'A run below the range'"


def promised_results(config: str, metafile: str = METAFILE) -> dict:
    """The ``Results`` entry of ``config`` (a path ending like ``configs/quickstart/NAME.py``) in ``metafile``:
    ``{'Metrics': {metric: mean}, 'Range': {metric: [worst, best]}, 'Study': text}``."""
    name = osp.splitext(osp.basename(config))[0]
    with open(metafile) as f:
        models = {model['Name']: model for model in yaml.safe_load(f)['Models']}
    if name not in models or not models[name].get('Results'):
        raise KeyError(f'{metafile} states no result for {name}')
    return models[name]['Results'][0]


def range_lines(promise: dict, metrics: Dict[str, float]) -> List[str]:
    """One line per promised metric: the run's value, whether it lies within, above or below the promised range,
    the range, mean and study; below the range, where to read what that means."""
    lines = []
    for metric, mean in promise['Metrics'].items():
        worst, best = promise['Range'][metric]
        promised = f"{worst:g}-{best:g} (mean {mean:g}; {promise['Study']})"
        if metric not in metrics:
            lines.append(f'{metric}: not in the test output; the README promises {promised}')
            continue
        value = metrics[metric]
        if value < worst:
            where = f'BELOW the range the README promises, {promised}: see {BELOW_HELP}'
        elif value > best:
            where = f'above the range the README promises, {promised}'
        else:
            where = f'within the range the README promises, {promised}'
        lines.append(f'{metric} {value:g}: {where}')
    return lines


def main(argv=None) -> int:
    config, test_output = (argv if argv is not None else sys.argv[1:])[:2]
    with open(test_output) as f:
        metrics = printed_metrics(f.read())
    print('\n'.join(range_lines(promised_results(config), metrics)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
