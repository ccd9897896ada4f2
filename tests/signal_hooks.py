"""A hook the tests' training runs load (``custom_imports=['tests.signal_hooks']``, the repo on ``PYTHONPATH``) to
send their own process a signal, or fail, at an exact point, as a cluster or a user would from outside:

- ``SIGNAL_AT='ITERATION:SIGNAL[:RANK[:TIMES]]'``: after that training iteration (counted from 1 over the run) rank
  RANK (default 0) sends itself SIGNAL, TIMES times (default 1; 2 is Ctrl-C pressed twice);
- ``SIGNAL_BEFORE_TRAIN='SIGNAL'``: as training starts (before its first iteration);
- ``SIGNAL_AFTER_EPOCH='EPOCH:SIGNAL'``: after that epoch's own hooks (its checkpoint is written);
- ``SIGNAL_IN_VAL='SIGNAL'`` / ``SIGNAL_IN_TEST='SIGNAL'``: after the first iteration of a validation / test;
- ``FAIL_AT='ITERATION:RANK'``: rank RANK raises ``RuntimeError: injected failure at iteration N`` in that iteration;
  ``FAIL_IN_TEST='RANK'``: rank RANK raises ``RuntimeError: injected failure in testing`` at its first test batch;
- ``PACE='SECONDS'``: each training iteration lasts at least that long (a sleep, no computing), so that a signal sent
  from outside when a log line appears lands inside the epoch.

Without these variables (a resumed run) the hook does nothing.
"""
import os
import time

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _spec(name):
    value = os.environ.get(name)
    return [int(part) for part in value.split(':')] if value else None


@HOOKS.register_module()
class SignalAt(Hook):
    priority = 'LOWEST'  # after every other hook of the same point (the checkpoint hook included)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if os.environ.get('PACE'):
            time.sleep(float(os.environ['PACE']))
        spec = _spec('SIGNAL_AT')
        if spec and runner.iter + 1 == spec[0] and get_rank() == (spec[2] if len(spec) > 2 else 0):
            for _ in range(spec[3] if len(spec) > 3 else 1):
                os.kill(os.getpid(), spec[1])

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        spec = _spec('FAIL_AT')
        if spec and runner.iter + 1 == spec[0] and get_rank() == spec[1]:
            raise RuntimeError(f'injected failure at iteration {spec[0]}')

    def before_train(self, runner):
        spec = _spec('SIGNAL_BEFORE_TRAIN')
        if spec:
            os.kill(os.getpid(), spec[0])

    def after_train_epoch(self, runner):
        spec = _spec('SIGNAL_AFTER_EPOCH')
        if spec and runner.epoch + 1 == spec[0]:
            os.kill(os.getpid(), spec[1])

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        spec = _spec('SIGNAL_IN_VAL')
        if spec and batch_idx == 0:
            os.kill(os.getpid(), spec[0])

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        spec = _spec('FAIL_IN_TEST')
        if spec and get_rank() == spec[0]:
            raise RuntimeError('injected failure in testing')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        spec = _spec('SIGNAL_IN_TEST')
        if spec and batch_idx == 0:
            os.kill(os.getpid(), spec[0])
