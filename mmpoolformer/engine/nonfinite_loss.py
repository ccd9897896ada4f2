"""Stop (or skip) a training iteration whose loss is NaN or infinite, before it reaches the weights."""
import math

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..errors import UserError
from ..registry import HOOKS


class NonFiniteLossError(UserError, FloatingPointError):
    """The loss of a training iteration is NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every training loss before the backward pass and optimizer step.

    By default a NaN/inf loss stops training with :class:`NonFiniteLossError` naming the iteration and the loss
    terms; the weights never see the bad update and no checkpoint of them is written. With ``skip=True`` the
    iteration is skipped instead (the batch contributes zero gradient) and a warning is logged; after
    ``max_skips`` skipped iterations training stops anyway.

    Every config declares it, first in ``custom_hooks`` (``configs/_base_/mmpoolformer_runtime.py``).
    """

    priority = 'VERY_HIGH'

    def __init__(self, skip: bool = False, max_skips: int = 10):
        self.skip = skip
        self.max_skips = max_skips
        self.skipped = 0

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        parse_losses = model.parse_losses

        def checked_parse_losses(losses):
            total, log_vars = parse_losses(losses)
            if torch.isfinite(total).all():
                return total, log_vars
            bad = ', '.join(f'{k}={v}' for k, v in log_vars.items() if k != 'loss' and not math.isfinite(float(v)))
            bad = bad or f'loss={float(total)}'
            where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
            if self.skip and self.skipped < self.max_skips:
                self.skipped += 1
                runner.logger.warning(f'skipping {where}: non-finite loss ({bad}); {self.skipped} skipped so far')
                zero = sum((p.sum() * 0 for p in model.parameters() if p.requires_grad), total.new_zeros(()))
                return zero, {k: (v if math.isfinite(float(v)) else 0.0) for k, v in log_vars.items()}
            raise NonFiniteLossError(
                f'non-finite loss at {where}: {bad}; training stopped before this update, so the weights and '
                f'checkpoints are unaffected; lower the learning rate, add gradient clipping, or pass '
                f'--cfg-options custom_hooks.0.skip=True (this hook in the config) to skip such iterations')

        model.parse_losses = checked_parse_losses
