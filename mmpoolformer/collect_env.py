"""Print the versions of the stack mmpoolformer runs on: ``python -m mmpoolformer`` or ``tools/collect_env.py``."""
import importlib
import platform
import sys


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
        from mmcv.ops import nms, roi_align  # noqa: F401
        info['mmcv compiled ops'] = 'load'
    except Exception as exc:
        info['mmcv compiled ops'] = f'do not load ({type(exc).__name__}: {exc})'
    for name, module in (('mmengine', 'mmengine'), ('mmdet', 'mmdet'), ('mmseg', 'mmseg'),
                         ('mmpretrain', 'mmpretrain'), ('mmpoolformer', 'mmpoolformer')):
        info[name] = _version(module)
    if torch.cuda.is_available():
        info['device'] = f'cuda: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})'
    else:
        info['device'] = f'cpu ({torch.get_num_threads()} threads)'
    return info


def main() -> None:
    for key, value in collect_env().items():
        print(f'{key}: {value}')


if __name__ == '__main__':
    main()
