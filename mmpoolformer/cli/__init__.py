"""The command-line tools' shared code (:mod:`.common`: arguments, config loading, how an error or a stop ends a tool;
:mod:`.launch`, :mod:`.torchrun`, :mod:`.run_status`: distributed runs and their one last line) and the train and
test tools themselves (``python -m mmpoolformer.cli.train`` / ``.test``).

A :class:`~mmpoolformer.errors.UserError` (a bad config value, file or flag) ends a tool with one line on stderr,
``error: MESSAGE (MMPF_DEBUG=1 shows the traceback)``, and exit code 2; any other exception is a bug and keeps its
traceback. A stop signal (SIGTERM, Ctrl-C, SIGUSR1) ends a tool with one line saying where it stopped, what was
saved and how to resume, and exit code 128 + the signal's number (:mod:`mmpoolformer.engine.stop_signals`).
"""
from .common import (
                     DEBUG_HINT,
                     add_common_args,
                     add_fast_inference_args,
                     fast_inference_options,
                     image_model_parser,
                     load_config,
                     run_cli,
)

__all__ = ['DEBUG_HINT', 'add_common_args', 'add_fast_inference_args', 'fast_inference_options', 'image_model_parser',
           'load_config', 'run_cli']
