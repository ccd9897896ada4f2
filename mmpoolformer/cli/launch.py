"""Process-group setup that also works on CPU-only machines (gloo), where MMEngine's own init needs CUDA."""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log

from ..engine.device_checks import check_local_gpu


def _slurm_to_env() -> None:
    """Fill torch's env:// variables from Slurm's when launched by srun (MMEngine's own Slurm set-up reads them too).
    The rendezvous port is the job's own, 20000 + job id mod 20000, unless ``MASTER_PORT`` is set: two jobs on one
    node (or a job requeued there) do not meet on a fixed port."""
    node_list = os.environ['SLURM_NODELIST']
    os.environ.setdefault('MASTER_ADDR', os.popen(f'scontrol show hostname {node_list} | head -n1').read().strip())
    os.environ.setdefault('MASTER_PORT', str(20000 + int(os.environ.get('SLURM_JOB_ID', 9500)) % 20000))
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])


def prepare_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher``; without CUDA, start a gloo process group and a CPU-friendly DDP wrapper."""
    cfg.launcher = launcher
    if launcher == 'slurm':
        _slurm_to_env()
    if launcher != 'none' and torch.cuda.is_available():
        check_local_gpu(int(os.environ.get('LOCAL_RANK', os.environ.get('SLURM_LOCALID', 0))))
    if launcher == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)
    print_log(f'no CUDA device: distributed training on CPU with gloo, rank {dist.get_rank()} of '
              f'{dist.get_world_size()}', logger='current')
