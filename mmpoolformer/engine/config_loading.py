"""Reading a config file, the one way the tools and :func:`mmpoolformer.apis.init_model` do it
(:func:`read_config`): a missing file or a Python syntax error named in one line (by file and line), the toolbox's
own keys present with their defaults (:data:`TOOLBOX_DEFAULTS`), ``--cfg-options`` that must name existing keys; and
``--data-root`` (:func:`set_data_root`)."""
import ast
import difflib
import importlib
import inspect
import os.path as osp
from typing import Any, Dict, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from ..errors import ConfigError

# The toolbox's own config keys, present in every config read here (so that --cfg-options can set them) and read
# with these defaults by the runner for a config read elsewhere (MMDetection's own tools): ``configs/_base_/
# mmpoolformer_runtime.py`` documents them. ``trust_checkpoint``: load a checkpoint by full unpickling (--trust-
# checkpoint); ``skip_unreadable_images``: skip missing or undecodable training images with a warning naming each.
TOOLBOX_DEFAULTS = dict(skip_unreadable_images=False, trust_checkpoint=False)


def syntax_error_in(path: str, seen=None) -> Optional[Tuple[str, int, str]]:
    """``(file, line, message)`` of the first Python syntax error in the config ``path`` or its ``_base_`` files
    (those given as paths; packaged ``mmdet::`` bases are not followed), or None."""
    seen = set() if seen is None else seen
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path):
        return None
    seen.add(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        return path, exc.lineno or 0, exc.msg
    bases = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '_base_' for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            bases = [value] if isinstance(value, str) else list(value)
    for base in bases:
        if isinstance(base, str) and '::' not in base:
            found = syntax_error_in(osp.join(osp.dirname(path), base), seen)
            if found:
                return found
    return None


def _existing_keys(node: Any, prefix: str = ''):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f'{prefix}{key}'
            yield from _existing_keys(value, f'{prefix}{key}.')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield f'{prefix}{index}'
            yield from _existing_keys(value, f'{prefix}{index}.')


REGISTRY_NAMES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'LOOPS', 'HOOKS', 'OPTIM_WRAPPERS', 'OPTIMIZERS',
                  'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'DATA_SAMPLERS',
                  'TASK_UTILS', 'RUNNERS')


def _registered_class(type_name: Any, scope: Optional[str]):
    """The class a config ``type`` names, looked up in the registries of the config's scope (None if not found)."""
    if inspect.isclass(type_name):
        return type_name
    if not isinstance(type_name, str):
        return None
    import mmengine.registry as root
    modules = [root]
    if scope:
        try:
            modules.insert(0, importlib.import_module(f'{scope}.registry'))
        except ImportError:
            pass
    with DefaultScope.overwrite_default_scope(scope):
        for module in modules:
            for name in REGISTRY_NAMES:
                registry = getattr(module, name, None)
                cls = registry.get(type_name) if registry is not None else None
                if cls is not None:
                    return cls
    return None


def _constructor_accepts(cls, key: str) -> bool:
    """Whether ``cls(...)`` takes the keyword ``key``, following ``**kwargs`` up the class hierarchy."""
    for klass in inspect.getmro(cls):
        if klass in (object, torch.nn.Module) or '__init__' not in klass.__dict__:
            continue
        params = inspect.signature(klass.__dict__['__init__']).parameters
        if key in params and params[key].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                  inspect.Parameter.KEYWORD_ONLY):
            return True
        if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return False
    return True  # **kwargs all the way up: the constructor itself will judge


def _has_key(cfg: Config, dotted: str) -> bool:
    """Whether ``dotted`` names a key of the config, a keyword argument of a component dict (one with ``type``) that
    its class accepts, or a key inside a ``None`` value (which becomes a dict)."""
    node: Any = cfg._cfg_dict
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif node is None:
            return True
        elif isinstance(node, dict) and 'type' in node:
            cls = _registered_class(node['type'], cfg.get('default_scope'))
            return cls is None or _constructor_accepts(cls, part)
        else:
            return False
    return True


def merge_cli_options(cfg: Config, options: Optional[Dict[str, Any]], config_path: str) -> None:
    """Merge ``--cfg-options``. A key must exist in the config, be a keyword that the component it is set on accepts
    (e.g. ``model.backbone.pool_size``), or sit inside a ``None`` value; so a misspelt key is an error naming the
    closest existing keys. A key written ``+key=value`` is added without checks."""
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
                cfg.merge_from_dict({parent: ConfigDict(_delete_=True)})  # a dict in place of the None
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


def read_config(path: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """The config file ``path`` with the toolbox's keys (:data:`TOOLBOX_DEFAULTS`) and ``cfg_options`` (dotted key ->
    value, each naming a key the config has) merged in. A missing file, a Python syntax error (in it or a ``_base_``
    file) or a child key that cannot merge into its base end in one line (:class:`ConfigError`)."""
    if not osp.isfile(path):
        raise ConfigError(f'config {path} does not exist; pass a file from configs/')
    try:
        cfg = Config.fromfile(path)
    except TypeError as exc:  # mmengine cannot merge a child key into its _base_ (e.g. a dict over a string)
        if 'inherit from base' not in str(exc):
            raise
        raise ConfigError(f'{path}: {exc}') from exc
    except SyntaxError as exc:
        found = syntax_error_in(path)
        if found is None:
            raise
        where, line, message = found
        raise ConfigError(f'config {where} line {line}: {message} (Python syntax); fix that line') from exc
    for key, value in TOOLBOX_DEFAULTS.items():
        cfg.setdefault(key, value)
    merge_cli_options(cfg, cfg_options, path)
    return cfg
