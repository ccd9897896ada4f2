"""Drawings (``tools/test.py --show-dir``) written completely or not at all, each under a temporary name renamed
when complete (:mod:`mmpoolformer.fileio`)."""
import contextlib
import os.path as osp

import cv2
import numpy as np
from mmengine.visualization import LocalVisBackend
from mmengine.visualization.vis_backend import force_init_env

from ..fileio import write_image_atomically
from ..registry import VISBACKENDS


@VISBACKENDS.register_module()
class LocalVisBackendWritingAtomically(LocalVisBackend):
    """:class:`mmengine.visualization.LocalVisBackend`, same arguments and file names (``vis_image/NAME_STEP.png``
    under its save dir); each image is complete or absent."""

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs) -> None:
        assert image.dtype == np.uint8, image.dtype
        write_image_atomically(osp.join(self._img_save_dir, f'{name}_{step}.png'),
                               cv2.cvtColor(image, cv2.COLOR_RGB2BGR), what='drawn image')


class WritesDrawingsAtomically:
    """Mixin for a visualizer whose drawing method takes ``out_file`` (MMDetection's / MMSegmentation's
    ``add_datasample``, MMPretrain's ``visualize_cls``): the drawing method of the subclass calls its parent inside
    :meth:`drawing_to` with ``out_file=None``, so the parent hands the drawn RGB image to :meth:`add_image`, which
    writes it to ``out_file`` atomically instead of passing it to the backends."""

    _out_file = None

    @contextlib.contextmanager
    def drawing_to(self, out_file):
        self._out_file = out_file
        try:
            yield
        finally:
            self._out_file = None

    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        if self._out_file is None:
            return super().add_image(name, image, step)
        write_image_atomically(self._out_file, np.ascontiguousarray(image[..., ::-1]), what='drawn image')


def with_local_backends_writing_atomically(backends):
    """A visualizer config's ``vis_backends`` list with ``LocalVisBackend`` built as
    :class:`LocalVisBackendWritingAtomically`."""
    if not isinstance(backends, (list, tuple)):
        return backends
    return [dict(b, type=LocalVisBackendWritingAtomically) if isinstance(b, dict) and b.get('type') in (
        'LocalVisBackend', 'mmengine.LocalVisBackend', LocalVisBackend) else b for b in backends]
