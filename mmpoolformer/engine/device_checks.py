"""What a GPU machine can refuse, each one line saying what to do: mmcv built without its CUDA operators, a process
started for a GPU the machine does not have, and running out of GPU memory."""
import os.path as osp
from typing import Optional

import torch

from ..errors import DeviceError

SETUP_FIX = ('rebuild it here: bash tools/setup.sh (with nvcc on PATH it compiles mmcv with its CUDA operators; see '
             'docs/install.md)')


def check_mmcv_cuda_ops() -> None:
    """On a machine with CUDA, refuse an mmcv compiled without its CUDA operators: NMS and RoIAlign would fail on the
    GPU in the middle of a run."""
    if not torch.cuda.is_available():
        return
    import mmcv
    from mmcv.ops import get_compiling_cuda_version
    if get_compiling_cuda_version() == 'not available':
        raise DeviceError(f'mmcv {mmcv.__version__} here was compiled without its CUDA operators (it was built where '
                          f'no CUDA toolchain was found), so NMS and RoIAlign cannot run on this machine\'s '
                          f'{torch.cuda.get_device_name(0)}; {SETUP_FIX}')


def check_local_gpu(local_rank: int) -> None:
    """Refuse a process whose local rank names a GPU the machine does not have (more processes than GPUs)."""
    count = torch.cuda.device_count()
    if torch.cuda.is_available() and local_rank >= count:
        raise DeviceError(f'this machine has {count} GPU(s) but process {local_rank} of the launcher was started for '
                          f'GPU {local_rank}; start at most {count} processes per machine (bash tools/dist_train.sh '
                          f'CONFIG {count})')


def out_of_memory_message(stage: str, batch_size: Optional[int], work_dir: str, where: str = '') -> str:
    """The line a CUDA out-of-memory error during ``stage`` ('training' or 'testing') ends in: the batch size, the
    levers, and where to continue from."""
    device = f' on {torch.cuda.get_device_name()}' if torch.cuda.is_available() else ''
    loader = 'train_dataloader' if stage == 'training' else 'test_dataloader'
    smaller = max(1, (batch_size or 2) // 2)
    message = (f'CUDA out of memory{device} while {stage}{where} with {loader}.batch_size={batch_size} per GPU: '
               f'use a smaller batch (--cfg-options {loader}.batch_size={smaller})')
    if stage == 'training':
        message += (', mixed precision (--amp: about half the activation memory) or activation checkpointing '
                    '(--cfg-options model.backbone.with_cp=True: the blocks recompute their activations)')
        pointer = osp.join(work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                message += f'; then continue from {f.read().strip()} with --resume'
        else:
            message += '; no checkpoint was written yet, so the run starts again'
    else:
        message += ' or reduced precision (--fp16 / --bf16)'
    return message
