"""Checks on a built dataset that turn silent or cryptic failures into one clear line."""
import contextlib
import json
import os.path as osp
import re
from typing import Optional

import mmcv
import numpy as np

from ..demo_data import demo_data_complete
from ..errors import ConfigError, DataError


def _ann_file(dataset) -> str:
    ann = getattr(dataset, 'ann_file', '') or ''
    root = getattr(dataset, 'data_root', '') or ''
    return ann if osp.isabs(ann) or not root else osp.join(root, ann)


def check_dataset(dataset, stage: str) -> None:
    """Raise :class:`ConfigError` if ``dataset`` cannot serve ``stage`` ('train', 'val', 'test').

    - COCO-style detection sets: every class of the config must be a category of the annotation file (otherwise
      mmdet silently drops the annotations).
    - Any set: it must hold at least one sample.
    """
    inner = getattr(dataset, 'dataset', dataset)  # dataset wrappers (RepeatDataset, ...)
    classes = list((getattr(inner, 'metainfo', None) or {}).get('classes') or [])
    cat_ids = getattr(inner, 'cat_ids', None)
    ann_file = _ann_file(inner)
    if cat_ids is not None and classes and len(cat_ids) < len(classes) and ann_file.endswith('.json'):
        with open(ann_file) as f:
            names = [c['name'] for c in json.load(f).get('categories', [])]
        missing = [c for c in classes if c not in names]
        raise ConfigError(f'{stage} annotation file {ann_file} has no categories named {missing} (its categories: '
                          f'{names}); set {stage}_dataloader.dataset.metainfo.classes to categories of the file')
    if len(dataset) == 0:
        raise ConfigError(f'{stage} dataset ({type(inner).__name__}, annotations {ann_file or "-"}) has no samples '
                          f'after filtering; check the data root, the annotation file and metainfo.classes')


# label maps of a segmentation set read before training or testing (its first ones: the common faults, ADE20K-style
# ids without reduce_zero_label and colour images instead of id maps, show in every file)
LABEL_MAPS_CHECKED = 8


def read_label_map(path: str) -> np.ndarray:
    """A label map as MMSegmentation's ``LoadAnnotations`` reads it (Pillow, unchanged: a palette PNG gives its
    indices)."""
    with open(path, 'rb') as f:
        return mmcv.imfrombytes(f.read(), flag='unchanged', backend='pillow')


def check_label_maps(dataset, stage: str, num_classes: Optional[int] = None, count: int = LABEL_MAPS_CHECKED) -> None:
    """Raise :class:`DataError` in one line if one of the first ``count`` label maps of the segmentation ``dataset``
    has more than one channel, or a class id the model cannot learn (``num_classes``, default: the dataset's
    classes), after the dataset's own ``reduce_zero_label`` and ``label_map``, the ignore index aside: PyTorch would
    stop mid-run with ``Target N is out of bounds`` (a device assert on CUDA), the metric would drop those pixels
    silently. Other datasets pass untouched."""
    inner = getattr(dataset, 'dataset', dataset)
    if not hasattr(inner, 'get_data_info') or not hasattr(inner, 'reduce_zero_label'):
        return
    ignore = getattr(inner, 'ignore_index', 255)
    num_classes = num_classes or len((inner.metainfo or {}).get('classes') or ())
    for index in range(min(count, len(inner))):
        info = inner.get_data_info(index)
        path = info.get('seg_map_path')
        if not path or not osp.isfile(path):
            continue
        try:
            labels = read_label_map(path)
        except Exception:  # an unreadable file is named by the data loader's own checks when it is loaded
            continue
        if labels is None:
            continue
        if labels.ndim == 3 and labels.shape[2] > 1:
            raise DataError(f'{stage} label map {path} has {labels.shape[2]} channels ({labels.shape[0]}x'
                            f'{labels.shape[1]}x{labels.shape[2]}): a label map holds one class id per pixel, not '
                            f'colours; convert its colours to class ids with the dataset\'s palette')
        ids = labels.astype(np.int64)
        if info.get('reduce_zero_label', inner.reduce_zero_label):
            ids = np.where(ids == 0, 255, ids - 1)
            ids[ids == 254] = 255
        before_map = ids.copy()
        for old, new in (info.get('label_map') or {}).items():
            ids[before_map == old] = new
        valid = ids[ids != ignore]
        largest = int(valid.max()) if valid.size else -1
        if num_classes and largest >= num_classes:
            raw = int(labels.max())
            if info.get('reduce_zero_label', inner.reduce_zero_label):
                fix = f'set num_classes to the number of classes (at least {largest + 1})'
            else:
                fix = ('if 0 means "other" (ADE20K-style labels), set reduce_zero_label=True in the dataset (ids '
                       f'1..{num_classes} become 0..{num_classes - 1}); else set num_classes to the number of '
                       f'classes (at least {largest + 1})')
            raise DataError(f'{stage} label map {path} holds class id {raw}, beyond num_classes={num_classes} '
                            f'(ids 0..{num_classes - 1}, {ignore} ignored); {fix}')


def _ann_files_in_cfg(node, root: str = '') -> list:
    """Every annotation file a dataset (or evaluator) config names, joined to its data root."""
    files = []
    if isinstance(node, dict):
        root = node.get('data_root') or root
        ann = node.get('ann_file')
        if isinstance(ann, str) and ann:
            files.append(ann if osp.isabs(ann) or not root else osp.join(root, ann))
        for key, value in node.items():
            if key not in ('ann_file', 'data_root'):
                files.extend(_ann_files_in_cfg(value, root))
    elif isinstance(node, (list, tuple)):
        for value in node:
            files.extend(_ann_files_in_cfg(value, root))
    return files


def _json_error(path: str):
    """The parse error of ``path`` if it is a local ``.json`` file that is not valid JSON, else None."""
    if not (path.endswith('.json') and osp.isfile(path)):
        return None
    try:
        with open(path, 'rb') as f:
            json.loads(f.read())
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        return exc
    return None


def _coco_problem(path: str):
    """What a COCO-style annotation file lacks that a data set needs (its ``images`` or ``annotations``), or None."""
    if not (path.endswith('.json') and osp.isfile(path)):
        return None
    try:
        with open(path, 'rb') as f:
            content = json.loads(f.read())
    except ValueError:
        return None
    if not isinstance(content, dict):
        return f'annotation file {path} holds a JSON {type(content).__name__}, not a COCO dict with images, ' \
               f'annotations and categories; pass a COCO-format annotation file'
    for key in ('images', 'annotations', 'categories'):
        if key not in content:
            return f"annotation file {path} has no '{key}' key; a COCO-format file needs images, annotations " \
                   f"and categories: write it again or pass the right file"
    for key in ('images', 'categories'):
        if not content[key]:
            return f"annotation file {path} has an empty '{key}' list, so the data set has no samples; pass an " \
                   f"annotation file that lists the {key} of the data set"
    return None


@contextlib.contextmanager
def annotation_json_errors(cfg):
    """Turn a JSON error raised while building a dataset/evaluator from ``cfg`` into :class:`ConfigError` naming the
    annotation file and the position (the JSON parser's own message names neither), and another ``ValueError``
    (e.g. NumPy's "need at least one array to concatenate" from MMDetection) that a COCO file lacking its images,
    annotations or categories causes into :class:`DataError` naming the file and what it lacks."""
    try:
        yield
    except ValueError as exc:
        files = _ann_files_in_cfg(cfg)
        if not isinstance(exc, json.JSONDecodeError) and not re.search(r'line \d+ column \d+', str(exc)):
            incomplete = next((problem for problem in map(_coco_problem, files) if problem), None)
            if incomplete is None:
                raise
            raise DataError(incomplete) from exc
        if isinstance(exc, json.JSONDecodeError) and len(files) == 1:
            broken = [(files[0], exc)]
        else:
            broken = [(path, error) for path, error in ((p, _json_error(p)) for p in files) if error is not None]
        if not broken:
            raise
        path, error = broken[0]
        where = (f'{error.msg}: line {error.lineno} column {error.colno}' if isinstance(error, json.JSONDecodeError)
                 else ' '.join(str(error).split()))
        raise ConfigError(f'annotation file {path} is not valid JSON ({where}); the file is truncated or damaged: '
                          f'download or write it again') from exc


def check_batch_sizes(cfg) -> None:
    """Fail in one line if a data loader of ``cfg`` asks for anything but a positive whole number of images per batch
    (PyTorch's DataLoader would stop with its own traceback)."""
    for stage in ('train', 'val', 'test'):
        loader = cfg.get(f'{stage}_dataloader')
        if not isinstance(loader, dict) or 'batch_size' not in loader:
            continue
        size = loader['batch_size']
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f'{stage}_dataloader.batch_size={size!r} in {cfg.filename}: a batch holds a positive '
                              f'whole number of images (per GPU); set it to 1 or more, e.g. --cfg-options '
                              f'{stage}_dataloader.batch_size=2')


def check_data_paths(cfg, stage: str) -> None:
    """Fail early, in one line, if the data root or annotation file of the ``stage`` ('train'/'val'/'test') loader
    is missing, or if a quickstart config's demo data set (its ``demo_data`` dict) is not written completely."""
    if cfg.get('demo_data'):
        if not demo_data_complete(**cfg.demo_data):
            raise ConfigError(f"the demo data set in {cfg.demo_data['root']} is missing, unfinished or written with "
                              f"other settings; write it with python tools/make_demo_data.py --config "
                              f"{cfg.filename} (with the same --data-root/--cfg-options), or run "
                              f"bash tools/quickstart.sh")
    loader = cfg.get(f'{stage}_dataloader')
    if not loader:
        return
    dataset = loader.get('dataset', {})
    while 'dataset' in dataset and 'data_root' not in dataset:
        dataset = dataset['dataset']
    root = dataset.get('data_root') or ''
    if root and not osp.isdir(root):
        raise ConfigError(f'{stage} data root {root} does not exist; download the dataset there or pass '
                          f'--data-root /path/to/data (see README, "Data")')
    ann = dataset.get('ann_file')
    if ann:
        path = ann if osp.isabs(ann) else osp.join(root, ann)
        if not osp.exists(path):
            raise ConfigError(f'{stage} annotation file {path} does not exist; check --data-root or the dataset '
                              f'layout described in the README')
