"""What the page may read and how an uploaded image becomes the BGR array the models take.

The page reads only two kinds of files: uploads (Gradio writes them into its own cache folder) and the example
images listed at start-up. Every other path a request names is refused in one line, whatever the request says, so a
crafted request cannot make the server read its checkpoints, configs or any other file.
"""
import os
import os.path as osp
from typing import Iterable, List, Tuple

import mmcv
import numpy as np

from mmpoolformer.apis import read_image
from mmpoolformer.datasets.loading import UnreadableImageError
from mmpoolformer.errors import DataError

MAX_SIDE = 2048  # px: a larger image's long side is resized to this before it reaches a model
MAX_UPLOAD_MB = 25


def allowed_file(path: str, examples: Iterable[str], upload_dirs: Iterable[str]) -> str:
    """``path`` resolved (links and ``..`` followed) if it is one of ``examples`` or inside one of ``upload_dirs``;
    anything else is a :class:`~mmpoolformer.errors.DataError` naming only the file's base name."""
    real = osp.realpath(path)
    if real in {osp.realpath(e) for e in examples}:
        return real
    for folder in upload_dirs:
        folder = osp.realpath(folder)
        if real.startswith(folder + os.sep):
            return real
    raise DataError(f'{osp.basename(path)} is neither an upload nor a listed example; the page reads no other '
                    f'file on the server, upload the image instead')


def read_upload(path: str, shown_name: str, max_mb: float = MAX_UPLOAD_MB,
                max_side: int = MAX_SIDE) -> Tuple[np.ndarray, List[str]]:
    """The image file ``path`` (already checked by :func:`allowed_file`) as a 3-channel BGR uint8 (h, w, 3) array,
    with notes for the page. Messages name the file as ``shown_name`` (the name the user uploaded).

    A file over ``max_mb`` MiB, an empty, truncated or undecodable file is a one-line
    :class:`~mmpoolformer.errors.DataError`; an image with a side over ``max_side`` px is resized (keeping its
    aspect ratio) so that its long side is ``max_side``, and a note says so."""
    size_mb = osp.getsize(path) / 2 ** 20
    if size_mb > max_mb:
        raise DataError(f'image {shown_name} is {size_mb:.1f} MiB, over the {max_mb:g} MiB upload limit; upload a '
                        f'smaller file')
    try:
        img = read_image(path)
    except UnreadableImageError as exc:
        img, unreadable = None, str(exc).replace(path, shown_name)
    truncated = _truncation(path) if osp.getsize(path) else ''
    if truncated:
        raise DataError(f'image {shown_name} is truncated ({truncated}); upload the complete file')
    if img is None:
        raise DataError(unreadable)
    notes = []
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        factor = max_side / max(h, w)
        img = mmcv.imresize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation='area')
        notes.append(f'{shown_name} is {w}x{h} px: resized to {img.shape[1]}x{img.shape[0]} px '
                     f'(long side {max_side} px) before the model')
    return img, notes


def _truncation(path: str) -> str:
    """Why Pillow finds the image file ``path`` truncated, or ``''`` (OpenCV only says that it cannot decode it)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image.load()
    except UnidentifiedImageError:  # a format OpenCV reads and Pillow does not: OpenCV's decoding stands
        return ''
    except (OSError, SyntaxError) as exc:
        return ' '.join(str(exc).split())[:120]
    return ''
