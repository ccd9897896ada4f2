"""mmpoolformer_lab: the applications of the library that live in this repository, not in a user's environment.

They import :mod:`mmpoolformer` and are never imported by it (``tests/test_imports.py``):

- :mod:`.benchmark`: the harness behind ``tools/analysis/benchmark.py`` (speed and memory against the peers);
- :mod:`.gpu_check`: the GPU install check and measurement behind ``bash tools/gpu_check.sh``;
- :mod:`.studies`: the paper's ablations on the demo tasks (``tools/ablate.py``) and the quickstart seed study
  (``tools/analysis/quickstart_study.py``);
- :mod:`.web_demo`: the browser demo behind ``tools/web_demo.py``.

They run the repository's configs and tools, so they find ``configs/`` and ``tools/`` in the source checkout.
"""
