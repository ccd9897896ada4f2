"""The browser demo behind ``tools/web_demo.py``: models to choose from, "Predict" and "Look inside" on one image.

:mod:`.models` finds and loads the models (quickstart checkpoints under ``work_dirs/``, ``--model CONFIG
CHECKPOINT``, ``--onnx FILE``) and runs them; :mod:`.images` reads what the page sends (only uploads and the listed
examples, size-limited, large photos resized); :mod:`.app` is the Gradio page. Everything the page shows comes from
the library functions the command-line tools use (:mod:`mmpoolformer.apis`, :mod:`mmpoolformer.visualization`,
:mod:`mmpoolformer.analysis`).
"""
