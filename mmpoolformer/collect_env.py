"""Print the versions of the stack mmpoolformer runs on: ``mmpoolformer env`` or ``tools/collect_env.py``."""
import importlib
import importlib.metadata
import platform
import sys

from .compat import NOTES


def _version(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except Exception as exc:  # report, never fail: this is a diagnostic
        return f'not importable ({type(exc).__name__}: {exc})'


def collect_env() -> dict:
    import torch
    info = {'python': sys.version.split()[0], 'platform': platform.platform(), 'torch': torch.__version__,
            'torch CUDA build': torch.version.cuda or 'none', 'torchvision': _version('torchvision'),
            'mmcv': _version('mmcv')}
    try:
        from mmcv.ops import get_compiling_cuda_version
        info['mmcv compiled ops'] = 'load'
        info['mmcv CUDA ops'] = (f'compiled for CUDA {get_compiling_cuda_version()}'
                                 if get_compiling_cuda_version() != 'not available' else 'not compiled (CPU ops only)')
    except Exception as exc:
        info['mmcv compiled ops'] = f'do not load ({type(exc).__name__}: {exc})'
    for name, module in (('mmengine', 'mmengine'), ('mmdet', 'mmdet'), ('mmseg', 'mmseg'),
                         ('mmpretrain', 'mmpretrain'), ('mmpoolformer', 'mmpoolformer')):
        info[name] = _version(module)
    try:
        info['transformers'] = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        info['transformers'] = 'not installed'
    if torch.cuda.is_available():
        info['device'] = f'cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})'
    else:
        info['device'] = f'cpu ({torch.get_num_threads()} threads)'
    info['workarounds'] = '; '.join(NOTES) or 'none needed'
    return info


def main() -> None:
    for key, value in collect_env().items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
