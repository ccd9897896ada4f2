"""Reading weight files: refusals of files that do not fit, are truncated or would run code, and offline URLs, each
one line."""
import os
import re

import pytest
import torch

from mmpoolformer import PoolFormer
from mmpoolformer.checkpoint import CheckpointError
from tests import reference_weights as rw
from tests.helpers import RunsCode


def test_other_arch_file_is_refused(tmp_path):
    for file_arch, model_arch, detail in [
            ('s24', 's12', 'the file has stages.0.blocks.2.layer_scale1 (64,), which the model does not have (120 such '
                           'tensors)'),
            ('m36', 's36', 'stem.weight has shape (96, 3, 7, 7) in the file but (64, 3, 7, 7) in the model')]:
        path = str(tmp_path / f'{file_arch}.pth')
        rw.official_imagenet_file(rw.randomised_reference(file_arch), path)
        message = (f"checkpoint {path} (official layout, arch {file_arch}) does not fit "
                   f"PoolFormer(arch='{model_arch}'): {detail}; use the file made for this arch or change arch")
        with pytest.raises(CheckpointError, match=f'^{re.escape(message)}$'):
            PoolFormer(arch=model_arch, init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / 'cut.pth'
    rw.official_imagenet_file(rw.randomised_reference('s12'), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=rf'checkpoint {path} is truncated or not a torch file'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    with pytest.raises(CheckpointError, match=r'does not exist'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'nope.pth'))).init_weights()


def test_file_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    ref = rw.randomised_reference('s12')
    state = {k: v for k, v in rw.backbone_state(ref).items()}
    torch.save({'state_dict': state, 'payload': RunsCode(str(marker))}, str(path))
    assert not marker.exists()
    with pytest.raises(CheckpointError, match=r'unpickling it could run code.*trusted=True'):
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    assert not marker.exists(), 'the refused file ran code'


def test_offline_url_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    url = 'http://127.0.0.1:9/poolformer_s12.pth.tar'  # discard port: connection refused at once
    with pytest.raises(CheckpointError) as err:
        PoolFormer(arch='s12', init_cfg=dict(type='Pretrained', checkpoint=url)).init_weights()
    msg = str(err.value)
    assert f'could not download {url}' in msg and 'init_cfg=None' in msg
    assert os.path.join(str(tmp_path), 'hub', 'checkpoints', 'poolformer_s12.pth.tar') in msg
    assert not any(p.name.startswith('.download') for p in (tmp_path / 'hub' / 'checkpoints').iterdir())
