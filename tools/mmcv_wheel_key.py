"""Print the cache folder name for a compiled mmcv wheel: python tools/mmcv_wheel_key.py MMCV_VERSION

The key holds everything a compiled mmcv depends on: the Python version, the exact torch version including its
local build tag (e.g. 2.14.1+cu130, so CPU and CUDA builds differ), the mmcv version, and whether CUDA ops are
compiled (a GPU and a CUDA toolchain present) with the CUDA version. tools/setup.sh reuses a wheel only from the
folder of the current key, so a wheel built against one torch is never installed beside another.
"""
import shutil
import sys


def wheel_key(mmcv_version: str, python=sys.version_info, torch_version: str = None, cuda: str = None) -> str:
    ops = f'cuda{cuda}' if cuda else 'cpuops'
    return f'py{python[0]}.{python[1]}-torch{torch_version}-mmcv{mmcv_version}-{ops}'


def current_key(mmcv_version: str) -> str:
    import torch
    with_cuda = torch.cuda.is_available() and torch.version.cuda and shutil.which('nvcc')
    return wheel_key(mmcv_version, torch_version=torch.__version__, cuda=torch.version.cuda if with_cuda else None)


if __name__ == '__main__':
    print(current_key(sys.argv[1]))
