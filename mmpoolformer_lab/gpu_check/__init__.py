"""The GPU check (``bash tools/gpu_check.sh [N_GPUS] [--smoke] [--skip STEP ...]``): whether this machine's install
trains, and what training costs on it, against MMDetection's own ResNet-50 and timm; see :mod:`.check`."""
from .check import STEPS, run_gpu_check

__all__ = ['STEPS', 'run_gpu_check']
