"""Image loading that names the file when it is missing, empty or cannot be decoded, and can skip such samples.

The toolbox's runner (:class:`~mmpoolformer.engine.SafeRunner`) uses :class:`LoadImageChecked` in place of every
``LoadImageFromFile`` of a dataset pipeline, so all configs get it without a change.
"""
import copy
import hashlib
import logging
import multiprocessing
import os.path as osp
import re
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from ..errors import DataError
from ..registry import TRANSFORMS


class UnreadableImageError(DataError):
    """An image file is missing, empty or not a decodable image; the message names the file in one line.

    It takes a single message argument, so PyTorch can re-raise it in the main process when a DataLoader worker hit it.
    """


def image_problem(path: str, reason: str = '') -> str:
    """What is wrong with the image file ``path`` that could not be read, in a few words."""
    if re.match(r'^[a-z0-9+]+://', str(path)):  # a remote backend: only its own error can tell
        return f'not readable ({reason})' if reason else 'not readable'
    if not osp.exists(path):
        return 'missing'
    if osp.isdir(path):
        return 'a directory, not an image file'
    if osp.getsize(path) == 0:
        return 'empty (0 bytes)'
    return 'not a readable image'


DATASET_FIX = 'restore the file or remove it from the annotation file'


def dataset_image_message(path: str, problem: str) -> str:
    return f'image {path} listed in the dataset is {problem}; {DATASET_FIX}'


class _SkipCounter:
    """Distinct files skipped in the current epoch, shared with DataLoader worker processes (shared memory made
    before the workers start, so it works with fork and spawn)."""

    capacity = 1 << 16

    def __init__(self):
        self.count = multiprocessing.Value('l', 0)  # its lock guards ``seen`` too
        self.seen = multiprocessing.RawArray('q', self.capacity)

    def add(self, path: str) -> bool:
        """Count ``path``; False if it was already counted in this epoch."""
        key = int.from_bytes(hashlib.blake2b(path.encode(), digest_size=8).digest(), 'little', signed=True)
        with self.count.get_lock():
            known = min(self.count.value, self.capacity)
            if any(self.seen[i] == key for i in range(known)):
                return False
            if known < self.capacity:
                self.seen[known] = key
            self.count.value += 1
            return True

    def reset(self) -> int:
        """Return the count of the epoch that ended and start a new one."""
        with self.count.get_lock():
            count, self.count.value = self.count.value, 0
        return count


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """``LoadImageFromFile`` whose failures name the file: a missing, empty (0-byte) or undecodable image raises
    :class:`UnreadableImageError` (one line) instead of a decoder assertion or a ``cv2.error`` traceback.

    With ``skip_unreadable=True`` (training sets only; set by the config key ``skip_unreadable_images=True``) such a
    sample is skipped instead: a warning names the file, the transform returns ``None``, and the dataset draws
    another sample in its place (MMEngine's ``BaseDataset`` refetch). :meth:`pop_skipped` gives the number of distinct
    files skipped since its last call (the runner logs it at the end of every training epoch).
    """

    def __init__(self, *args, skip_unreadable: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_unreadable = skip_unreadable
        self._skipped = _SkipCounter() if skip_unreadable else None

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            return super().transform(results)
        except Exception as exc:  # cv2.error for 0 bytes, OSError, the decoder's own assertion
            if self.ignore_empty:
                return None
            reason = ' '.join(str(exc).split())[:200] or type(exc).__name__
        problem = image_problem(path, reason)
        if not self.skip_unreadable:
            raise UnreadableImageError(dataset_image_message(path, problem))
        if self._skipped.add(str(path)):
            print_log(f'skipping image {path} listed in the dataset: it is {problem} (skip_unreadable_images=True); '
                      f'another sample is used in its place', logger='current', level=logging.WARNING)
        return None

    def pop_skipped(self) -> int:
        return self._skipped.reset() if self._skipped is not None else 0

    def __deepcopy__(self, memo):  # share the counter (shared memory cannot be pickled outside process start)
        copied = self.__class__.__new__(self.__class__)
        memo[id(self)] = copied
        copied.__dict__.update({key: value if key == '_skipped' else copy.deepcopy(value, memo)
                                for key, value in self.__dict__.items()})
        return copied

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', skip_unreadable={self.skip_unreadable})'


LOADERS_REPLACED = ('LoadImageFromFile', 'mmcv.LoadImageFromFile', 'mmdet.LoadImageFromFile',
                    'mmseg.LoadImageFromFile', 'mmpretrain.LoadImageFromFile')


def use_checked_loading(dataset_cfg: dict, skip_unreadable: bool = False) -> dict:
    """A copy of a dataset config whose pipelines (also those of wrapped datasets) load images with
    :class:`LoadImageChecked` instead of ``LoadImageFromFile`` (same arguments), skipping unreadable ones if
    ``skip_unreadable``."""

    def convert(node):
        if isinstance(node, dict):
            node = type(node)({k: convert(v) for k, v in node.items()})
            if node.get('type') in LOADERS_REPLACED:
                node['type'] = 'mmpoolformer.LoadImageChecked'
                node['skip_unreadable'] = skip_unreadable
            return node
        if isinstance(node, (list, tuple)):
            return type(node)(convert(v) for v in node)
        return node

    return convert(dataset_cfg)


def checked_loaders(dataset) -> list:
    """The :class:`LoadImageChecked` transforms of a built dataset's pipeline (wrapped datasets included)."""
    found, stack, seen = [], [dataset], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(d for d in [getattr(node, 'dataset', None)] + list(getattr(node, 'datasets', None) or [])
                     if d is not None)
        found.extend(t for t in getattr(getattr(node, 'pipeline', None), 'transforms', [])
                     if isinstance(t, LoadImageChecked))
    return found
