"""mmpoolformer/fileio.py: files written completely or not at all, with a real file-size limit (as a full disk)."""
import contextlib
import pickle
import re
import resource
import shutil

import cv2
import mmengine
import numpy as np
import pytest

from mmpoolformer.errors import ConfigError, FileWriteError
from mmpoolformer.fileio import (
    dump_atomically,
    partial_path,
    write_atomically,
    write_bytes_atomically,
    write_image_atomically,
)


@contextlib.contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE for this process (Python ignores SIGXFSZ, so a write past it fails with EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_write_past_the_file_size_limit_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / 'results.pkl'
    target.write_bytes(b'the complete earlier results')
    big = np.arange(200_000, dtype=np.float64)  # 1.6 MB pickled
    with file_size_limit(100_000), pytest.raises(FileWriteError) as failure:
        dump_atomically(big, str(target))
    match = re.fullmatch(
        rf'could not write the results file results\.pkl in {re.escape(str(tmp_path))} \(File too large; errno 27\): '
        r'it needs about ([\d.]+) MiB, ([\d.]+) MiB are free there; nothing was written under that name and earlier '
        r'files are untouched; free space there or write elsewhere, then run the same command again',
        str(failure.value))
    assert match, str(failure.value)
    assert float(match.group(1)) == pytest.approx(len(mmengine.dump(big, file_format='pkl')) / 2 ** 20, abs=0.05)
    assert float(match.group(2)) == pytest.approx(shutil.disk_usage(tmp_path).free / 2 ** 20, abs=200)
    assert target.read_bytes() == b'the complete earlier results'
    assert leftovers(tmp_path) == ['results.pkl']
    dump_atomically(big, str(target))  # the limit lifted, the same call completes
    with open(target, 'rb') as f:
        assert np.array_equal(pickle.load(f), big)
    assert leftovers(tmp_path) == ['results.pkl']


def test_an_error_that_is_not_a_write_error_removes_the_partial_file_and_propagates(tmp_path):
    target = tmp_path / 'model.onnx'

    def write_then_fail_a_check(partial):
        with open(partial, 'wb') as f:
            f.write(b'half a graph')
        assert partial == partial_path(str(target))
        raise RuntimeError('the self-check found a difference')

    with pytest.raises(RuntimeError, match='^the self-check found a difference$'):
        write_atomically(str(target), write_then_fail_a_check, what='ONNX file')
    assert leftovers(tmp_path) == []


def test_a_failed_write_without_a_size_names_what_was_written(tmp_path):
    def write_some_then_fail(partial):
        with open(partial, 'wb') as f:
            f.write(b'x' * 3 * 2 ** 20)
        raise OSError(28, 'No space left on device')

    with pytest.raises(FileWriteError, match=r'^could not write the table t\.md in .* \(No space left on device; '
                                             r'errno 28\): it needs more than the 3\.0 MiB written, '):
        write_atomically(str(tmp_path / 't.md'), write_some_then_fail, what='table')
    assert leftovers(tmp_path) == []


def test_images_round_trip_and_an_unknown_extension_is_one_line(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image_atomically(str(tmp_path / 'sub' / 'drawn.png'), image)  # the folder is created
    assert np.array_equal(cv2.imread(str(tmp_path / 'sub' / 'drawn.png')), image)
    labels = np.arange(600, dtype=np.uint8).reshape(20, 30) % 151
    write_image_atomically(str(tmp_path / 'map.png'), labels)
    assert np.array_equal(cv2.imread(str(tmp_path / 'map.png'), cv2.IMREAD_UNCHANGED), labels)
    with pytest.raises(ConfigError) as failure:
        write_image_atomically(str(tmp_path / 'drawn.xyz'), image)
    assert str(failure.value) == (f"cannot write {tmp_path}/drawn.xyz: OpenCV has no image format for the extension "
                                  f"'.xyz'; use a file name ending in .png or .jpg")
    write_bytes_atomically(str(tmp_path / 'b.bin'), b'123')
    assert (tmp_path / 'b.bin').read_bytes() == b'123'
    assert leftovers(tmp_path) == ['b.bin', 'map.png', 'sub']
