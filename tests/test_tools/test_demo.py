"""tools/demo.py: bad images and the bf16 / compile refusals, one line each."""
import sys

import pytest
import torch

from mmpoolformer.cli import DEBUG_HINT
from mmpoolformer.engine import acceleration as fi
from tests.helpers import ROOT, TINY_RETINANET, error_line, load_tool, run_tool, run_tool_here, tiny_model, write_config


def bad_demo_image(tmp_path, kind):
    if kind == 'empty':
        (tmp_path / 'empty.jpg').write_bytes(b'')
        return tmp_path / 'empty.jpg'
    return tmp_path if kind == 'directory' else tmp_path / 'no' / 'such.jpg'


@pytest.mark.parametrize('kind,expected', [
    ('missing', 'error: image {image} does not exist; check the path'),
    ('directory', 'error: image {image} is a directory, not an image file; pass an image file (jpg, png, bmp, ...)'),
    ('empty', 'error: image {image} is empty (0 bytes); pass an image file (jpg, png, bmp, ...)'),
])
def test_demo_with_a_bad_image(tmp_path, kind, expected):
    image = bad_demo_image(tmp_path, kind)
    msg = error_line(run_tool_here('tools/demo.py', image, write_config(tmp_path), tmp_path / 'model.pth', '--out',
                                  tmp_path / 'out.png', check=False))
    assert msg == expected.format(image=image)


@pytest.fixture
def demo_inputs(tmp_path):
    """(config, checkpoint, image) of a tiny random RetinaNet, for tools/demo.py."""
    import mmcv
    import numpy as np
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_RETINANET.format(root=ROOT))
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=tiny_model(tmp_path, TINY_RETINANET).state_dict()), ckpt)
    image = str(tmp_path / 'img.png')
    mmcv.imwrite(np.zeros((40, 50, 3), np.uint8), image)
    return config, ckpt, image


def test_tools_refuse_bf16_without_cpu_support_in_one_line(monkeypatch, capsys, tmp_path, demo_inputs):
    """tools/demo.py --bf16 on a CPU without bf16: one line, exit code 2 (run in-process to stand in such a CPU)."""
    demo = load_tool('tools/demo.py')
    monkeypatch.setattr(fi, 'cpu_has_bf16', lambda: False)
    config, ckpt, image = demo_inputs
    monkeypatch.setattr(sys, 'argv', ['demo.py', image, str(config), str(ckpt), '--out', str(tmp_path / 'o.png'),
                                      '--bf16'])
    with pytest.raises(SystemExit) as exit_info:
        demo.run_cli(demo.main)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'error: bf16 needs a CPU with bf16 instructions (avx512_bf16 or AMX) and this one has none '
                   '(torch.ops.mkldnn._is_mkldnn_bf16_supported() is False); drop --bf16 / dtype, the fp32 fast '
                   f'path (--compile) works here{DEBUG_HINT}']


def test_compile_without_a_cpp_compiler_is_one_line(tmp_path, demo_inputs):
    config, ckpt, image = demo_inputs
    proc = run_tool('tools/demo.py', image, config, ckpt, '--out', tmp_path / 'o.png', '--compile',
                    env=dict(CXX='/no/such/g++'), check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert error_line(proc) == (
        "error: torch.compile on CPU needs a C++ compiler and '/no/such/g++' does not run; install one (e.g. "
        "apt-get install g++) or set CXX, or drop --compile")
