"""Mixed-precision training without loss scaling: bf16 autocast on CPU (MMEngine's AmpOptimWrapper is CUDA-only)."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An :class:`mmengine.optim.OptimWrapper` whose forward pass (``optim_context``) runs under
    ``torch.autocast(device_type, dtype)``.

    bf16 keeps fp32's exponent range, so gradients need no loss scaling; weights, gradients and optimizer state stay
    fp32. ``tools/train.py --amp`` uses it on CPU (on CUDA it uses MMEngine's ``AmpOptimWrapper``).

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'``.
        device_type: the autocast device, ``'cpu'`` (default) or ``'cuda'``.
        **kwargs: those of :class:`mmengine.optim.OptimWrapper` (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = 'cpu', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.cast_dtype):
            yield
