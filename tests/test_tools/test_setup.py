"""tools/setup.sh's mmcv wheel cache key."""
import torch

from tests.helpers import load_tool


def test_mmcv_wheel_cache_key_separates_torch_builds():
    key_tool = load_tool('tools/mmcv_wheel_key.py')
    current_key, wheel_key = key_tool.current_key, key_tool.wheel_key
    key = wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cu130')
    assert key == 'py3.11-torch2.14.1+cu130-mmcv2.1.0-cpuops'
    others = {wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cpu'),
              wheel_key('2.1.0', python=(3, 11), torch_version='2.13.0+cu130'),
              wheel_key('2.1.0', python=(3, 12), torch_version='2.14.1+cu130'),
              wheel_key('2.1.0', python=(3, 11), torch_version='2.14.1+cu130', cuda='13.0')}
    assert key not in others and len(others) == 4
    assert torch.__version__ in current_key('2.1.0')
