import os
import sys

# CI machines have 2 cores and the suite runs on both (pytest -n 2): one torch thread per worker, inherited by the
# tools the tests start. Two threads per worker oversubscribe the cores, and OpenMP's spinning threads then make a
# training step up to 20x slower (measured 2026-12-04 with two runs side by side: 4.3 s against 0.22 s per step).
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
os.environ.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 2) // _WORKERS)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


import shutil  # noqa: E402

import pytest  # noqa: E402

from mmpoolformer.demo_data import make_demo_data  # noqa: E402
from tests.reference_weights import mmpretrain_reference, official_imagenet_state, timm_state  # noqa: E402


@pytest.fixture(scope='module', autouse=True)
def module_folders_removed(request, tmp_path_factory):
    """Removes the folders a test module's fixtures made under the base temporary folder once the module is done,
    if none of its tests failed: pytest removes a passed test's ``tmp_path`` (``tmp_path_retention_policy``), but
    module fixtures (trained detectors, demo sets) would stay to the end of the run and fill a small CI disk."""
    base = tmp_path_factory.getbasetemp()
    before, failed_before = set(os.listdir(base)), request.session.testsfailed
    yield
    if request.session.testsfailed == failed_before:
        for name in set(os.listdir(base)) - before:
            shutil.rmtree(base / name, ignore_errors=True)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """A tiny demo COCO set (4 + 4 images of 96 px) for runs of the command-line tools."""
    root = tmp_path_factory.mktemp('faults')
    make_demo_data(str(root), seed=5, num_train=4, num_val=4, size=96)
    return root / 'coco'


@pytest.fixture()
def broken_data(data, tmp_path):
    """A copy of ``data`` that a test may damage."""
    root = tmp_path / 'coco'
    shutil.copytree(data, root)
    return root


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    """A tiny demo COCO set (6 + 4 images of 128 px) for the COCO configs shrunk by ``helpers.tiny_config``."""
    root = tmp_path_factory.mktemp('tiny')
    make_demo_data(str(root), seed=1, num_train=6, num_val=4, size=128)
    return root / 'coco'


@pytest.fixture(scope='module')
def data16(tmp_path_factory):
    """16 + 4 demo images of 96 px: 4 iterations an epoch for 2 processes at batch 2 (the distributed runs)."""
    root = tmp_path_factory.mktemp('data16')
    make_demo_data(str(root), seed=5, num_train=16, num_val=4, size=96)
    return root / 'coco'


@pytest.fixture(scope='module')
def reference():
    """MMPretrain's PoolFormer-S12 classifier with random weights, its official-layout state dict, and timm's
    poolformer_s12 loaded with that state dict."""
    ref = mmpretrain_reference()
    official = official_imagenet_state(ref)
    return ref, official, timm_state(official)


@pytest.fixture(scope='session', autouse=True)
def metafiles_parsed_once():
    """MMEngine resolves every ``mmdet::``/``mmseg::``/``mmpretrain::`` config name by parsing all of the package's
    metafiles again (~255 YAML files, 0.3 s for mmdet); they are installed files, so the tests parse each once per
    session (hundreds of configs are loaded in-process)."""
    import mmengine.config.utils as config_utils
    original = config_utils.load
    parsed = {}

    def load_once(path, *args, **kwargs):
        if args or kwargs or not str(path).endswith('.yml'):
            return original(path, *args, **kwargs)
        if path not in parsed:
            parsed[path] = original(path)
        return parsed[path]

    config_utils.load = load_once
    yield
    config_utils.load = original
