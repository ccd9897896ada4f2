"""Mixed-precision training without loss scaling: bf16 autocast on CPU (MMEngine's AmpOptimWrapper is CUDA-only)."""
from contextlib import ExitStack, contextmanager
from typing import Sequence

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from ..errors import ConfigError
from ..registry import OPTIM_WRAPPERS

# Normalisation layers whose statistics CUDA autocast computes in fp32 but CPU autocast computes in the input's
# dtype (a bf16 convolution's output would be normalised in bf16).
FP32_NORMS = (nn.GroupNorm, nn.LayerNorm)


def _to_fp32(value):
    """``value`` with every floating tensor in it (also inside tuples/lists) cast to fp32."""
    if torch.is_tensor(value):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_to_fp32(v) for v in value)
    return value


def _fp32_input(module: nn.Module, args):
    return _to_fp32(args)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An :class:`mmengine.optim.OptimWrapper` whose forward pass (``optim_context``) runs under
    ``torch.autocast(device_type, dtype)``.

    bf16 keeps fp32's exponent range, so gradients need no loss scaling; weights, gradients and optimizer state stay
    fp32. ``tools/train.py --amp`` uses it on CPU (on CUDA it uses MMEngine's ``AmpOptimWrapper``).

    On CPU, autocast runs GroupNorm and LayerNorm in their input's dtype, so after a bf16 convolution (a RetinaNet
    head, the first block after each downsampling) the statistics would be bf16. With ``fp32_norms`` (default) their
    inputs are cast to fp32 inside the context, as CUDA autocast does for these layers (the quickstart RetinaNet,
    seed 0: bbox mAP 0.392 without, 0.470 with; fp32 reached 0.705, see README "Speed").

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'``.
        device_type: the autocast device, ``'cpu'`` (default) or ``'cuda'``.
        fp32_norms: run GroupNorm / LayerNorm (and subclasses) on fp32 input under autocast.
        fp32_modules: names of submodules (``'bbox_head'``, ``'neck'``, ``'backbone.stem'``) that run outside
            autocast, in fp32, e.g. ``--cfg-options +optim_wrapper.fp32_modules="['neck','bbox_head']"``: bf16 where
            it is fast, fp32 where precision matters more (see README "Speed" for what it did on the quickstart).
        **kwargs: those of :class:`mmengine.optim.OptimWrapper` (optimizer, clip_grad, accumulative_counts).
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = 'cpu', fp32_norms: bool = True,
                 fp32_modules: Sequence[str] = (), **kwargs):
        super().__init__(**kwargs)
        self.fp32_modules = tuple(fp32_modules)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        self.device_type = device_type
        self.fp32_norms = fp32_norms

    @contextmanager
    def optim_context(self, model):
        with ExitStack() as stack:
            stack.enter_context(super().optim_context(model))
            stack.enter_context(torch.autocast(self.device_type, dtype=self.cast_dtype))
            if self.fp32_norms:
                for module in model.modules():
                    if isinstance(module, FP32_NORMS):
                        stack.callback(module.register_forward_pre_hook(_fp32_input).remove)
            for name in self.fp32_modules:
                module = _submodule(model, name)
                stack.callback(module.register_forward_pre_hook(self._leave_autocast).remove)
                stack.callback(module.register_forward_hook(_resume_autocast).remove)
            yield

    def _leave_autocast(self, module: nn.Module, args):
        off = torch.autocast(self.device_type, enabled=False)
        off.__enter__()
        module._autocast_off = off
        return _to_fp32(args)


def _resume_autocast(module: nn.Module, args, output):
    module.__dict__.pop('_autocast_off').__exit__(None, None, None)


def _submodule(model: nn.Module, name: str) -> nn.Module:
    """``model``'s submodule ``name`` (``'bbox_head'``, ``'backbone.stages.0'``), looked through a DDP wrapper."""
    model = getattr(model, 'module', model)
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise ConfigError(f"optim_wrapper.fp32_modules: the model has no submodule '{name}'; use a name from "
                        f"model.named_modules() such as {[n for n, _ in model.named_children()]}") from None
