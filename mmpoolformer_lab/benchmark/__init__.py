"""The benchmark harness behind ``tools/analysis/benchmark.py``: every speed or memory number of this toolbox is
measured against its peers in the same run, after their outputs are checked equal.

- :func:`benchmark_backbone`: inference of a backbone's feature pyramid, ours (eager, deploy, fast fp32/bf16)
  against MMPretrain's, timm's and the official model (:mod:`.peers`, :mod:`.synthetic_weights`);
- :func:`benchmark_train_step`: one backbone training step, with_cp, channels_last, bf16, compiled;
- :func:`benchmark_model` / :func:`benchmark_onnx`: a config's whole model, eager against the fast path, and its
  ONNX export in ONNX Runtime;
- :func:`benchmark_loop`: a config's own training loop in fp32, AMP and compiled (:mod:`.loop`).

Timing (:mod:`.measure`) interleaves the variants' calls, so drift of the machine hits all alike.
"""
from .backbone import benchmark_backbone
from .loop import LOOP_RUNS, benchmark_loop
from .model import benchmark_model, benchmark_onnx
from .train_step import benchmark_train_step

__all__ = ['LOOP_RUNS', 'benchmark_backbone', 'benchmark_loop', 'benchmark_model', 'benchmark_onnx',
           'benchmark_train_step']
