"""Checks on a built dataset that turn silent or cryptic failures into one clear line."""
import json
import os.path as osp

from .config import ConfigError


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
