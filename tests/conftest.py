import os
import sys

# CI machines have 2 cores; keep torch from oversubscribing them when pytest-xdist is not used.
os.environ.setdefault('OMP_NUM_THREADS', '2')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


import shutil  # noqa: E402

import pytest  # noqa: E402

from mmpoolformer.demo_data import make_demo_data  # noqa: E402
from tests.reference_weights import mmpretrain_reference, official_imagenet_state, timm_state  # noqa: E402


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
def reference():
    """MMPretrain's PoolFormer-S12 classifier with random weights, its official-layout state dict, and timm's
    poolformer_s12 loaded with that state dict."""
    ref = mmpretrain_reference()
    official = official_imagenet_state(ref)
    return ref, official, timm_state(official)
