"""``mmpoolformer::PATH`` as a config ``_base_``, as ``mmdet::PATH`` works: PATH is a file under this toolbox's
``configs/``, shipped in the package as ``mmpoolformer/.mim/configs`` (OpenMMLab's layout; a link to the checkout's
``configs/`` in an editable install).

MMEngine resolves ``SCOPE::PATH`` only for the OpenMMLab projects it lists, and it parses a config's ``_base_`` before
the config's ``custom_imports`` run, so the resolution must be in place before any config is read, in every process
(MMDetection's own ``tools/train.py`` too). The installed package therefore carries ``mmpoolformer-configs.pth``, which
Python runs at start-up: it calls :func:`install`, which only registers an import hook (no import of MMEngine or of
the toolbox: about 2 ms); when ``mmengine.config.config`` is first imported, the hook wraps
``Config._get_cfg_path`` so that ``mmpoolformer::`` paths resolve here and every other path as before.
``import mmpoolformer`` calls :func:`install` too (processes started without the ``.pth``, e.g. through PYTHONPATH).

This is a top-level module of its own, not part of the ``mmpoolformer`` package, so that start-up imports nothing
else. :func:`after_import` is the one import hook of the toolbox (``mmpoolformer.compat`` uses it too).
"""
import importlib.machinery
import importlib.util
import os.path as osp
import sys

SCOPE = 'mmpoolformer'
_CONFIG_MODULE = 'mmengine.config.config'


def packaged_configs_dir() -> str:
    """``mmpoolformer/.mim/configs`` of the importable ``mmpoolformer`` (found without importing it)."""
    spec = importlib.util.find_spec(SCOPE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'{SCOPE}::... config bases need the {SCOPE} package, which is not installed '
                                  f'here; install it (pip install mmpoolformer, or pip install -e . in its checkout)')
    return osp.join(osp.dirname(spec.origin), '.mim', 'configs')


def packaged_config(path: str) -> str:
    """The file of ``mmpoolformer::path``; ``FileNotFoundError`` naming the folder looked in where there is none."""
    folder = packaged_configs_dir()
    found = osp.join(folder, path)
    if not osp.isfile(found):
        hint = ('' if osp.isdir(folder) else '; the package has no configs there (an editable install makes them '
                                             'with pip install -e . in the checkout)')
        raise FileNotFoundError(f'config base {SCOPE}::{path} not found: no file {found}{hint}')
    return found


def _wrap_config_paths(config_module) -> None:
    """Make ``Config._get_cfg_path`` resolve ``mmpoolformer::`` paths (once; other paths go to MMEngine's own)."""
    config_cls = config_module.Config
    original = config_cls._get_cfg_path
    if getattr(original, '_mmpoolformer', False):
        return

    def get_cfg_path(cfg_path: str, filename: str):
        if isinstance(cfg_path, str) and cfg_path.startswith(SCOPE + '::'):
            # no scope: the base's types keep the scopes its own bases give them, as when it is named by its path
            return packaged_config(cfg_path[len(SCOPE) + 2:]), None
        return original(cfg_path, filename)

    get_cfg_path._mmpoolformer = True
    config_cls._get_cfg_path = staticmethod(get_cfg_path)


class _ExecThenApply:
    """A loader that runs the real one, then ``apply(module)``."""

    def __init__(self, loader, apply):
        self.loader, self.apply = loader, apply

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.apply(module)


class _AfterImport:
    """A finder that finds module ``name`` as Python would and loads it with :class:`_ExecThenApply`."""

    def __init__(self, name, apply):
        self.name, self.apply = name, apply

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ExecThenApply(spec.loader, self.apply)
        return spec


def after_import(name: str, apply) -> None:
    """Run ``apply(module)`` on module ``name`` (of an installed package, never changed on disk): now if it is imported
    already, else right after its code has run when it is first imported (once per ``apply``)."""
    if name in sys.modules:
        apply(sys.modules[name])
    elif not any(isinstance(f, _AfterImport) and f.apply is apply for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, apply))


def install() -> None:
    """Resolve ``mmpoolformer::`` config bases in this process: now if MMEngine's config module is imported already,
    else when it is (calling again changes nothing)."""
    after_import(_CONFIG_MODULE, _wrap_config_paths)
