"""The versions of the stack this toolbox is tested with, checked by ``import mmpoolformer``.

Each package outside its tested range, and an mmcv without its compiled ops (``mmcv._ext``: ``pip install mmcv``
where no wheel fits builds it without them, and mmcv-lite has none), is named in one line with what to do, as a
:class:`StackWarning`; nothing is refused (a neighbouring version often works, and a classifier needs no mmcv ops).
MMDetection, MMSegmentation and MMPretrain are optional (a config needs only its own), so an absent one is not named.
"""
import importlib.metadata
import importlib.util
import warnings
from typing import List

from packaging.version import InvalidVersion, Version

# distribution -> (lowest tested, first untested); requirements.txt pins the versions CI runs
TESTED = {
    'torch': ('2.4', '3'),
    'mmengine': ('0.10.0', '0.11'),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmdet': ('3.0.0', '3.4.0'),
    'mmsegmentation': ('1.0.0', '1.3.0'),
    'mmpretrain': ('1.0.0', '1.3.0'),
}
SETUP_HINT = 'bash tools/setup.sh in the checkout installs the tested stack (docs/install.md)'


class StackWarning(UserWarning):
    """An installed package this toolbox is not tested with, or an mmcv without compiled ops."""


def installed_version(distribution: str):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def stack_problems() -> List[str]:
    """One line for each package of :data:`TESTED` installed in an untested version, and for a missing mmcv or one
    without compiled ops."""
    problems = []
    for distribution, (lowest, first_untested) in TESTED.items():
        version = installed_version(distribution)
        if version is None:
            continue
        try:
            inside = Version(lowest) <= Version(version) < Version(first_untested)
        except InvalidVersion:
            inside = False
        if not inside:
            problems.append(f'{distribution} {version} is installed; mmpoolformer is tested with {distribution} >= '
                            f'{lowest}, < {first_untested}: pip install "{distribution}>={lowest},<{first_untested}" '
                            f'if something fails ({SETUP_HINT})')
    mmcv = installed_version('mmcv')
    if mmcv is None:
        problems.append(f'mmcv is not installed (mmdet, mmseg and mmpretrain need it); {SETUP_HINT}, or mim install '
                        f'"mmcv>=2.0.0,<2.2.0"')
    elif importlib.util.find_spec('mmcv') is not None and importlib.util.find_spec('mmcv._ext') is None:
        problems.append(f'mmcv {mmcv} has no compiled ops (mmcv._ext), so detectors and segmentors that use mmcv.ops '
                        f'(NMS, RoIAlign, ...) fail; install mmcv with its ops: {SETUP_HINT}, or mim install '
                        f'"mmcv>=2.0.0,<2.2.0"')
    return problems


def check_stack() -> None:
    """Warn once per problem of :func:`stack_problems`, each in one line (no source line under it)."""
    for problem in stack_problems():
        warnings.warn_explicit(problem, StackWarning, filename='mmpoolformer', lineno=0)
