"""Testing on the fast inference path: the hook that applies
:func:`~mmpoolformer.engine.acceleration.accelerate` to the runner's model before testing."""
from typing import Any, Dict, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..errors import FastInferenceError
from ..registry import HOOKS
from .acceleration import accelerate


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Applies :func:`accelerate` to the runner's model before testing (after the checkpoint is loaded).

    Its keyword arguments are those of :func:`accelerate`; without any, it takes the config's ``fast_inference``
    dict (``configs/_base_/mmpoolformer_runtime.py`` lists the hook, ``fast_inference=None`` is plain eager), which
    ``tools/test.py --compile/--bf16/--fp16/--deploy`` or ``--cfg-options fast_inference.compile=True`` set.
    """

    priority = 'VERY_LOW'

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.report: Optional[Dict[str, Any]] = None

    def before_test(self, runner) -> None:
        options = self.kwargs or runner.cfg.get('fast_inference')
        if not options:
            return
        if not isinstance(options, dict):
            raise FastInferenceError(f'fast_inference={options!r} must be a dict such as dict(compile=True, '
                                     f'dtype=None); on the command line: --cfg-options fast_inference.compile=True')
        if self.report is None:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            self.report = accelerate(model, **options)

    def after_test(self, runner) -> None:
        if self.report and self.report['compiled']:
            summary = ', '.join(f'{name} {c.compilations} graph(s) in {c.compile_seconds:.1f} s'
                                for name, c in self.report['compiled'].items())
            runner.logger.info(f'fast inference: compilation summary: {summary}')
