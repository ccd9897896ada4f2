from .nonfinite_loss import NonFiniteLossError, NonFiniteLossHook
from .runner import SafeRunner

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook', 'SafeRunner']
