"""Models on single images, for ``tools/demo.py``, the analysis tools and the web demo: build a model from a config
and a checkpoint (:func:`init_model`), predict (:func:`predict`), list (:func:`found_rows`) and draw
(:func:`render`, :func:`draw`) what it found."""
from ..model_inputs import build_data_preprocessor, prepare_inputs
from .drawing import draw, render
from .inference import (
                        build_test_model,
                        found_rows,
                        image_through_model,
                        init_model,
                        make_test_batch,
                        predict,
                        read_image,
)

__all__ = ['build_data_preprocessor', 'build_test_model', 'draw', 'found_rows', 'image_through_model', 'init_model',
           'make_test_batch', 'predict', 'prepare_inputs', 'read_image', 'render']
