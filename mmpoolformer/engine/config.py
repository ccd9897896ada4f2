"""Config loading for the tools: ``--cfg-options`` that must name existing keys, ``--data-root``, pre-flight checks."""
import difflib
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config, ConfigDict


class ConfigError(ValueError):
    """A config or command-line value cannot be used; one line naming the key/path and the fix."""


def _existing_keys(node: Any, prefix: str = ''):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f'{prefix}{key}'
            yield from _existing_keys(value, f'{prefix}{key}.')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield f'{prefix}{index}'
            yield from _existing_keys(value, f'{prefix}{index}.')


def _has_key(cfg: Config, dotted: str) -> bool:
    node: Any = cfg._cfg_dict
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif node is None:  # a dict replacing a None value (e.g. init_cfg)
            return True
        else:
            return False
    return True


def merge_cli_options(cfg: Config, options: Optional[Dict[str, Any]], config_path: str) -> None:
    """Merge ``--cfg-options``. A key must exist in the config (or sit inside a ``None`` value), so a misspelt key is
    an error naming the closest existing keys; a key written ``+key=value`` is added deliberately."""
    merged = {}
    for key, value in (options or {}).items():
        if key.startswith('+'):
            key = key[1:]
        elif not _has_key(cfg, key):
            close = difflib.get_close_matches(key, list(_existing_keys(cfg._cfg_dict)), n=2, cutoff=0.75)
            hint = f"did you mean {' or '.join(close)}? " if close else ''
            raise ConfigError(f'--cfg-options key "{key}" does not exist in {config_path}; {hint}fix the spelling, '
                              f'or write +{key}=... to add a new key')
        merged[key] = value
    for key in merged:  # keys inside a None value: replace the None by a dict first
        parts = key.split('.')
        for depth in range(1, len(parts)):
            parent = '.'.join(parts[:depth])
            if _get(cfg, parent) is None:
                cfg.merge_from_dict({parent: ConfigDict()})
    if merged:
        cfg.merge_from_dict(merged)


def _get(cfg: Config, dotted: str) -> Any:
    node: Any = cfg._cfg_dict
    for part in dotted.split('.'):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node.get(part)
        if node is None:
            return None
    return node


def _rebase(node: Any, old: str, new: str) -> Any:
    """Replace the leading path ``old`` by ``new`` in every string of a nested config (both without trailing /)."""
    if isinstance(node, str):
        if node.rstrip('/') == old:
            return new + ('/' if node.endswith('/') else '')
        return new + node[len(old):] if node.startswith(old + '/') else node
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _rebase(node[key], old, new)
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_rebase(v, old, new) for v in node)
    return node


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every path under the config's ``data_root`` (datasets, evaluator annotation files) at ``data_root``."""
    old = cfg.get('data_root')
    if not old:
        raise ConfigError(f'{cfg.filename} defines no data_root, so --data-root cannot be applied; set the '
                          f'dataset paths with --cfg-options instead')
    for key in list(cfg._cfg_dict):
        cfg[key] = _rebase(cfg[key], old.rstrip('/'), data_root.rstrip('/'))


def check_data_paths(cfg: Config, stage: str) -> None:
    """Fail early, in one line, if the data root or annotation file of the ``stage`` ('train'/'val'/'test') loader
    is missing."""
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
