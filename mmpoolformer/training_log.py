"""MMEngine's log of scalars (``WORK_DIR/<timestamp>/vis_data/scalars.json``, one JSON record per line: losses,
``time`` and ``data_time`` per logged iteration, metrics per evaluation), read back."""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

from .errors import ConfigError


def scalar_files(work_dir: str) -> List[str]:
    """The scalar logs of every run in ``work_dir``, oldest first; none is a one-line error."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise ConfigError(f'no */vis_data/scalars.json under {work_dir}; pass the --work-dir of a training run')
    return files


def read_records(work_dir: str, latest_run: bool = False) -> List[dict]:
    """Every record of every run in ``work_dir`` in order (``latest_run``: of the newest run only)."""
    files = scalar_files(work_dir)
    records = []
    for path in files[-1:] if latest_run else files:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def training_records(work_dir: str, latest_run: bool = True) -> List[dict]:
    """The per-iteration training records (those with a ``loss``: ``loss``, ``time``, ``data_time``, ``lr``, ...)."""
    return [r for r in read_records(work_dir, latest_run) if 'loss' in r]


def read_scalars(work_dir: str) -> Dict[str, List[Tuple[float, float]]]:
    """key -> list of (step, value) over all runs in ``work_dir``."""
    series: dict = {}
    for record in read_records(work_dir):
        step = record.get('step', len(series.get('loss', [])))
        for key, value in record.items():
            if key != 'step' and isinstance(value, (int, float)):
                series.setdefault(key, []).append((step, value))
    return series
