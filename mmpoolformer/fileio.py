"""Files written completely or not at all.

Every file the toolbox writes under a final name (checkpoints, ``last_checkpoint``, ``--out`` results and label
maps, ``--show-dir`` drawings, ONNX exports, converted and published weights, ablation results) is written to a
temporary ``.NAME.partial`` beside it and renamed to ``NAME`` when complete (:func:`os.replace` is atomic on one file
system). A process killed while writing leaves no file that looks complete; a write that fails with an
``OSError`` (disk full, file-size limit, quota, permission) removes the partial file, leaves whatever had the final
name untouched, and raises :class:`~mmpoolformer.errors.FileWriteError`: one line naming the file, the folder, the
size, the free space and the fix.
"""
import os
import os.path as osp
import shutil
from typing import Any, Callable, Optional

from .errors import ConfigError, FileWriteError

WRITE_FIX = 'free space there or write elsewhere, then run the same command again'


def _megabytes(size: float) -> str:
    return f'{size / 2 ** 20:.1f} MiB'


def partial_path(path: str) -> str:
    """The temporary name ``path`` is written under: ``.NAME.partial`` in the same folder."""
    return osp.join(osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.partial')


def write_atomically(path: str, write: Callable[[str], None], what: str = 'file',
                     size: Optional[Callable[[], int]] = None, fix: str = WRITE_FIX) -> None:
    """Call ``write(partial)`` for the temporary :func:`partial_path` of ``path``, then rename it to ``path``.

    If ``write`` raises, the partial file is removed and ``path`` is left as it was; an ``OSError`` becomes
    :class:`FileWriteError`, which names ``what``, the folder, the size (``size()`` bytes if given, else what was
    written), the free space and ``fix``."""
    folder = osp.dirname(osp.abspath(path))
    partial = partial_path(path)
    try:
        os.makedirs(folder, exist_ok=True)
        write(partial)
        os.replace(partial, path)
    except BaseException as exc:
        written = osp.getsize(partial) if osp.isfile(partial) else 0
        if osp.exists(partial):
            os.remove(partial)
        if not isinstance(exc, OSError):  # e.g. a check of the written file failed: nothing under the final name
            raise
        try:
            free = _megabytes(shutil.disk_usage(folder).free)
        except OSError:
            free = 'unknown'
        needed = f'about {_megabytes(size())}' if size else f'more than the {_megabytes(written)} written'
        reason = exc.strerror or type(exc).__name__
        raise FileWriteError(
            f'could not write the {what} {osp.basename(path)} in {folder} ({reason}; errno {exc.errno}): it needs '
            f'{needed}, {free} are free there; nothing was written under that name and earlier files are '
            f'untouched; {fix}') from exc


def write_bytes_atomically(path: str, data: bytes, what: str = 'file', fix: str = WRITE_FIX) -> None:
    """``data`` written to ``path`` completely or not at all (flushed to disk before the rename)."""
    def write(partial):
        with open(partial, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    write_atomically(path, write, what=what, size=lambda: len(data), fix=fix)


def write_text_atomically(path: str, text: str, what: str = 'file', fix: str = WRITE_FIX) -> None:
    write_bytes_atomically(path, text.encode('utf-8'), what=what, fix=fix)


def write_image_atomically(path: str, image_bgr, what: str = 'image') -> None:
    """An image array (BGR, as OpenCV) encoded in the format of ``path``'s extension (``.png`` if none), written
    completely or not at all."""
    import cv2
    ext = osp.splitext(path)[1] or '.png'
    try:
        ok, encoded = cv2.imencode(ext, image_bgr)
    except cv2.error:
        ok = False
    if not ok:
        raise ConfigError(f'cannot write {path}: OpenCV has no image format for the extension {ext!r}; use a file '
                          f'name ending in .png or .jpg')
    write_bytes_atomically(path, encoded.tobytes(), what=what)


def dump_atomically(obj: Any, path: str, what: str = 'results file') -> None:
    """:func:`mmengine.dump` of ``obj`` (format from ``path``'s extension: pkl, json, yaml), completely or not at
    all."""
    import mmengine
    file_format = osp.splitext(path)[1][1:].lower()
    file_format = {'pickle': 'pkl', 'yml': 'yaml'}.get(file_format, file_format)
    write_bytes_atomically(path, mmengine.dump(obj, file_format=file_format).encode('utf-8') if file_format != 'pkl'
                           else mmengine.dump(obj, file_format='pkl'), what=what)
