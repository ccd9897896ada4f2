from .acceleration import accelerate
from .autocast_optim_wrapper import AutocastOptimWrapper
from .checkpoint_hook import SafeCheckpointHook
from .fast_inference_hook import FastInferenceHook
from .nonfinite_loss import NonFiniteLossError, NonFiniteLossHook
from .random_state import RandomStateHook
from .runner import SafeRunner, build_runner

__all__ = ['AutocastOptimWrapper', 'FastInferenceHook', 'accelerate', 'NonFiniteLossError', 'NonFiniteLossHook',
           'RandomStateHook', 'SafeCheckpointHook', 'SafeRunner', 'build_runner']
