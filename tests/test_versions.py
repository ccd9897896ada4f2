"""mmpoolformer/versions.py: ``import mmpoolformer`` names each package of the stack outside its tested range, and an
mmcv without compiled ops, in one warning line with what to do; the tested stack gives none."""
import os
import subprocess
import sys

from mmpoolformer import versions
from tests.helpers import ROOT


def import_with(tmp_path, distributions: dict) -> subprocess.CompletedProcess:
    """``import mmpoolformer`` in a fresh interpreter that finds stand-in metadata of ``distributions`` (name ->
    version) before the installed ones."""
    for name, version in distributions.items():
        info = tmp_path / f'{name}-{version}.dist-info'
        info.mkdir()
        (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    return subprocess.run([sys.executable, '-c', 'import mmpoolformer'], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(tmp_path)))


def test_the_tested_stack_gives_no_warning(tmp_path):
    assert versions.stack_problems() == []
    assert 'StackWarning' not in import_with(tmp_path, {}).stderr


def test_an_untested_version_is_one_line_with_the_fix(tmp_path):
    proc = import_with(tmp_path, {'mmdet': '3.4.0', 'mmengine': '0.9.1'})
    lines = [line for line in proc.stderr.splitlines() if 'StackWarning' in line]
    assert proc.returncode == 0 and lines == [
        'mmpoolformer:0: StackWarning: mmengine 0.9.1 is installed; mmpoolformer is tested with mmengine >= 0.10.0, '
        '< 0.11: pip install "mmengine>=0.10.0,<0.11" if something fails (bash tools/setup.sh in the checkout '
        'installs the tested stack (docs/install.md))',
        'mmpoolformer:0: StackWarning: mmdet 3.4.0 is installed; mmpoolformer is tested with mmdet >= 3.0.0, '
        '< 3.4.0: pip install "mmdet>=3.0.0,<3.4.0" if something fails (bash tools/setup.sh in the checkout installs '
        'the tested stack (docs/install.md))']


def test_mmcv_without_compiled_ops_is_named(monkeypatch):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'mmcv._ext' else find_spec(name))
    assert versions.stack_problems() == [
        'mmcv 2.1.0 has no compiled ops (mmcv._ext), so detectors and segmentors that use mmcv.ops (NMS, RoIAlign, '
        '...) fail; install mmcv with its ops: bash tools/setup.sh in the checkout installs the tested stack '
        '(docs/install.md), or mim install "mmcv>=2.0.0,<2.2.0"']
