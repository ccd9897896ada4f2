"""Build steps beyond pyproject.toml, as MMDetection's ``add_mim_extension`` does them: the configs as package data
(``mmpoolformer/.mim/configs``: copied into a wheel, a link to ``configs/`` in an editable install), and the start-up
file ``mmpoolformer-configs.pth`` that makes ``mmpoolformer::`` config bases resolvable in every process (see
``_mmpoolformer_configs.py``)."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

ROOT = os.path.dirname(os.path.abspath(__file__))
CONFIGS_IN_PACKAGE = os.path.join('mmpoolformer', '.mim', 'configs')
STARTUP_FILE = 'mmpoolformer-configs.pth'
# Python runs a .pth line that starts with "import" at start-up; it does nothing where the module is gone
STARTUP_LINE = ("import importlib.util; importlib.util.find_spec('_mmpoolformer_configs') and "
                "__import__('_mmpoolformer_configs').install()\n")


class BuildPy(build_py):
    """The package, plus ``configs/`` copied to ``mmpoolformer/.mim/configs`` and the start-up file beside it."""

    def run(self):
        super().run()
        if self.editable_mode:  # the editable install links the checkout's files instead (EditableWheel)
            return
        target = os.path.join(self.build_lib, CONFIGS_IN_PACKAGE)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, 'configs'), target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        with open(os.path.join(self.build_lib, STARTUP_FILE), 'w') as f:
            f.write(STARTUP_LINE)


class _WithStartupFile:
    """An editable-install strategy of setuptools that also writes the start-up file into the wheel."""

    def __init__(self, strategy):
        self.strategy = strategy

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        wheel.writestr(STARTUP_FILE, STARTUP_LINE)


class EditableWheel(editable_wheel):
    """``pip install -e .``: ``mmpoolformer/.mim/configs`` made a link to ``configs/``, and the start-up file."""

    def run(self):
        link = os.path.join(ROOT, CONFIGS_IN_PACKAGE)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(os.path.join('..', '..', 'configs'), link, target_is_directory=True)
        super().run()

    def _select_strategy(self, *args, **kwargs):
        return _WithStartupFile(super()._select_strategy(*args, **kwargs))


setup(cmdclass={'build_py': BuildPy, 'editable_wheel': EditableWheel})
